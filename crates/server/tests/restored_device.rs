//! A device restored from a backup keeps syncing (issue 14): its change log restarts below
//! what the server already holds from it, so the restore numbers its new changes above
//! anything it used before (`backup::restore`'s floor) and its next pull takes back, from the
//! server, what it had made after the backup. Two devices on a real PostgreSQL.

mod common;

use common::device::{dump_diff, Device, PW};
use common::TestServer;
use hms_core::patients::{self, PatientInput};
use hms_core::{auth, backup, sync, SessionSlot, Store};
use hms_server::admin;

const TENANT: &str = "Mlimani Clinic";

fn patient(given: &str) -> PatientInput {
    PatientInput { given_name: given.into(), family_name: "Restore".into(), sex: "female".into(), ..Default::default() }
}

async fn register(store: &Store, slot: &SessionSlot, given: &str) -> String {
    patients::register(store, &slot.authorize(store).await.unwrap(), patient(given)).await.unwrap().id
}

async fn names(store: &Store) -> Vec<String> {
    sqlx::query_scalar("SELECT given_name FROM patients ORDER BY given_name").fetch_all(store.pool()).await.unwrap()
}

async fn scalar(store: &Store, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(store.pool()).await.unwrap()
}

#[tokio::test]
async fn a_restored_device_keeps_syncing_and_takes_back_what_it_made_after_the_backup() {
    let server = TestServer::start().await;
    admin::create_tenant(server.store(), TENANT).await.unwrap();
    let a = Device::new("admin").await;
    let b = Device::new("ward.admin").await;
    a.enrol(server.store(), &server.base, TENANT, "Reception PC").await;
    b.enrol(server.store(), &server.base, TENANT, "Ward tablet").await;

    // A works and syncs, is backed up, works and syncs again.
    for name in ["Asha", "Bahati", "Chausiku"] {
        register(&a.store, &a.slot, name).await;
    }
    sync::sync_now(&a.store).await.unwrap();
    let backups = tempfile::tempdir().unwrap();
    let taken = backup::take(&a.store, backups.path(), &|_| {}).await.unwrap();
    for name in ["Dalila", "Eshe"] {
        register(&a.store, &a.slot, name).await;
    }
    sync::sync_now(&a.store).await.unwrap();
    sync::sync_now(&b.store).await.unwrap();
    assert_eq!(names(&b.store).await, ["Asha", "Bahati", "Chausiku", "Dalila", "Eshe"]);
    let held_before = common::count(server.store(), "SELECT count(*) FROM changes").await;

    // A's disk is restored from the backup: Dalila and Eshe are gone there.
    let Device { dir, store, username, .. } = a;
    store.close().await;
    let restored =
        backup::restore(dir.path(), std::path::Path::new(&taken.path), None, chrono::Utc::now()).await.unwrap();
    let store = Store::open_in_dir(dir.path()).await.unwrap();
    let slot = SessionSlot::default();
    auth::sign_in(&store, &slot, &username, PW).await.unwrap();
    assert_eq!(names(&store).await, ["Asha", "Bahati", "Chausiku"]);

    // New work after the restore, then a sync: no 409, and what was lost comes back.
    register(&store, &slot, "Faraji").await;
    let first: i64 = scalar(&store, "SELECT min(seq) FROM change_log WHERE pushed_at IS NULL").await;
    assert!(first >= restored.next_change_seq as i64, "new changes are numbered above the floor");
    let report = sync::sync_now(&store).await.unwrap();
    assert!(report.push.accepted > 0 && report.push.accepted == report.push.sent, "{report:?}");
    assert!(report.pull.applied >= 2, "Dalila and Eshe came back: {report:?}");
    assert_eq!(names(&store).await, ["Asha", "Bahati", "Chausiku", "Dalila", "Eshe", "Faraji"]);
    assert_eq!(sync::status(&store).await.unwrap().pending, 0);

    // The other device gets the new work; both hold the same records.
    sync::sync_now(&b.store).await.unwrap();
    sync::sync_now(&store).await.unwrap();
    assert_eq!(names(&b.store).await, names(&store).await);
    let a_again = Device { dir, store, slot, username };
    let diff = dump_diff(&a_again.dump().await, &b.dump().await);
    assert!(diff.is_empty(), "{diff:?}");

    // Nothing lost on the server: everything it held is still there, A's new changes too,
    // and every outbox entry A holds is stored under its change id.
    let held = common::count(server.store(), "SELECT count(*) FROM changes").await;
    assert!(held > held_before);
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT id FROM change_log").fetch_all(a_again.store.pool()).await.unwrap();
    let stored = common::count(
        server.store(),
        &format!(
            "SELECT count(*) FROM changes WHERE change_id IN ({})",
            ids.iter().map(|i| format!("'{i}'")).collect::<Vec<_>>().join(",")
        ),
    )
    .await;
    assert_eq!(stored, ids.len() as i64);
    // The audit chains: A's own goes on from the backup's last entry under a new number and is
    // whole, and the server's copy matches it; the other device holds A's entries of both
    // branches (those made after the backup, and those made after the restore) and its check
    // of A's chain passes the fork.
    for _ in 0..2 {
        sync::sync_now(&a_again.store).await.unwrap();
        sync::sync_now(&b.store).await.unwrap();
    }
    let local = hms_core::audit::verify_unaudited(&a_again.store).await.unwrap();
    assert!(local.intact, "{local:?}");
    let against = sync::audit_against_server(&a_again.store, local).await.unwrap();
    assert!(matches!(against.server, hms_core::audit::ServerCopy::Matches { .. }), "{against:?}");
    let on_b = hms_core::audit::verify_unaudited(&b.store).await.unwrap();
    assert!(on_b.intact, "{on_b:?}");
    let a_id = a_again.store.device_id().to_string();
    let mine: Vec<String> =
        sqlx::query_scalar("SELECT id FROM audit_log").fetch_all(a_again.store.pool()).await.unwrap();
    let on_b_ids: Vec<String> = sqlx::query_scalar("SELECT id FROM audit_remote WHERE device_id = ?")
        .bind(&a_id)
        .fetch_all(b.store.pool())
        .await
        .unwrap();
    let missing: Vec<&String> = mine.iter().filter(|id| !on_b_ids.contains(id)).collect();
    assert!(missing.is_empty(), "A's entries missing on B: {missing:?}");
    assert!(on_b_ids.len() > mine.len(), "the lost branch stays on B as well");
}
