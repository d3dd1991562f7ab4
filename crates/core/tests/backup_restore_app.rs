//! Restoring from the app (issue 14): the administrator picks a backup of the device's folder,
//! the core records the restore as pending, and it runs when the app next opens, before the
//! store does; its outcome is kept for the sign-in screen and a failure leaves the database
//! as it was, audited.

mod common;

use hms_core::backup::{self, BackupProgress};
use hms_core::{Error, Store};

fn quiet(_: BackupProgress) {}

async fn usernames(store: &Store) -> Vec<String> {
    sqlx::query_scalar("SELECT username FROM users ORDER BY username").fetch_all(store.pool()).await.unwrap()
}

#[tokio::test]
async fn a_backup_chosen_in_the_app_is_restored_at_the_next_start() {
    let (env, slot) = common::with_admin().await;
    let dir = env.dir.path().to_path_buf();
    let a = slot.authorize(&env.store).await.unwrap();
    common::add_user(&env.store, &slot, "before", &["receptionist"]).await;
    let report = backup::back_up_now(&env.store, &a, &quiet).await.unwrap();
    let name = std::path::Path::new(&report.path).file_name().unwrap().to_string_lossy().to_string();
    common::add_user(&env.store, &slot, "after", &["receptionist"]).await;

    // Only an administrator, only a name the folder lists; nothing is recorded otherwise.
    common::add_user(&env.store, &slot, "clerk", &["receptionist"]).await;
    let desk = hms_core::SessionSlot::default();
    hms_core::auth::sign_in(&env.store, &desk, "clerk", common::STAFF_PW).await.unwrap();
    let d = desk.authorize(&env.store).await.unwrap();
    assert!(matches!(backup::request_restore(&env.store, &d, &name).await, Err(Error::Forbidden { .. })));
    for bad in ["../backups", "/etc", "", "hms-backup-nothing"] {
        assert!(matches!(backup::request_restore(&env.store, &a, bad).await, Err(Error::NotFound { .. })), "{bad}");
    }
    assert!(!backup::restore_pending(&dir));

    let manifest = backup::request_restore(&env.store, &a, &name).await.unwrap();
    assert_eq!(manifest.taken_at, report.manifest.taken_at);
    assert!(backup::restore_pending(&dir));
    assert!(common::actions(&env.store).await.contains(&"backup.restore_requested".to_string()));
    env.store.close().await;

    let outcome = backup::run_pending_restore(&dir).await.expect("a restore was pending");
    assert!(outcome.failed.is_none(), "{outcome:?}");
    assert_eq!((outcome.name.as_str(), outcome.requested_by.as_str()), (name.as_str(), a.user_id.as_str()));
    let restored = outcome.restored.as_ref().unwrap();
    let safety = std::path::PathBuf::from(restored.safety_copy.as_ref().unwrap());
    assert!(safety.join(hms_core::store::DB_FILE).is_file(), "the replaced database is kept");
    assert!(!backup::restore_pending(&dir), "done once");
    assert!(backup::run_pending_restore(&dir).await.is_none());

    let store = Store::open_in_dir(&dir).await.unwrap();
    let users = usernames(&store).await;
    assert!(users.contains(&"before".to_string()) && !users.contains(&"after".to_string()), "{users:?}");
    assert!(common::actions(&store).await.contains(&"backup.restore".to_string()));
    // Nothing to add for a restore that was done (the restore audited itself).
    backup::audit_outcome(&store, &outcome).await.unwrap();
    assert!(!common::actions(&store).await.contains(&"backup.restore_failed".to_string()));
    store.close().await;
}

#[tokio::test]
async fn a_restore_that_fails_at_the_start_leaves_the_database_as_it_was() {
    let (env, slot) = common::with_admin().await;
    let dir = env.dir.path().to_path_buf();
    let a = slot.authorize(&env.store).await.unwrap();
    let report = backup::back_up_now(&env.store, &a, &quiet).await.unwrap();
    let name = std::path::Path::new(&report.path).file_name().unwrap().to_string_lossy().to_string();
    common::add_user(&env.store, &slot, "after", &["receptionist"]).await;
    backup::request_restore(&env.store, &a, &name).await.unwrap();
    env.store.close().await;
    // The backup's database is damaged between the request and the start.
    let db = std::path::Path::new(&report.path).join(backup::DATABASE);
    let mut bytes = std::fs::read(&db).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&db, bytes).unwrap();

    let outcome = backup::run_pending_restore(&dir).await.unwrap();
    assert!(outcome.restored.is_none());
    assert_eq!(outcome.failed.as_ref().map(|e| e.code()), Some("backup_checksum_mismatch"));
    assert!(!backup::restore_pending(&dir), "not tried again at every start");
    let store = Store::open_in_dir(&dir).await.unwrap();
    assert!(usernames(&store).await.contains(&"after".to_string()), "the database is the one there was");
    backup::audit_outcome(&store, &outcome).await.unwrap();
    let (by,): (Option<String>,) =
        sqlx::query_as("SELECT user_id FROM audit_log WHERE action = 'backup.restore_failed'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(by.as_deref(), Some(a.user_id.as_str()));
    store.close().await;
}

#[tokio::test]
async fn a_backup_of_another_clinic_is_refused_before_the_restart() {
    let (one, one_slot) = common::with_admin().await;
    let (two, two_slot) = common::with_admin().await;
    let a1 = one_slot.authorize(&one.store).await.unwrap();
    let a2 = two_slot.authorize(&two.store).await.unwrap();
    // Clinic two's backup, placed in clinic one's backup folder.
    let report = backup::back_up_now(&two.store, &a2, &quiet).await.unwrap();
    let from = std::path::Path::new(&report.path);
    let name = from.file_name().unwrap().to_string_lossy().to_string();
    let folder = backup::folder(&one.store).await.unwrap();
    std::fs::create_dir_all(&folder).unwrap();
    copy_dir(from, &folder.join(&name));
    // Encrypted with clinic two's key, which this computer does not have (and were it opened
    // with clinic two's recovery key, it would be refused as another clinic's: backup.rs).
    let refused = backup::request_restore(&one.store, &a1, &name).await;
    assert!(matches!(refused, Err(Error::BackupOtherKey)), "{refused:?}");
    assert!(!backup::restore_pending(one.dir.path()));
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
