//! The device side of sync (hms-core's `sync` module) against this server on a real
//! PostgreSQL: two devices, each a core store on its own temporary SQLite file, enrolled in
//! one tenant, pushing and pulling through the HTTP API.

mod common;

use common::TestServer;
use hms_core::patients::{self, PatientInput};
use hms_core::setup::{self, NewAdmin};
use hms_core::sync::{self, SyncError};
use hms_core::users::{self, NewUser};
use hms_core::{auth, Authorized, Error, SessionSlot, Store};
use hms_server::admin;

const PW: &str = "Clinic#2026adm";
const TENANT: &str = "Mlimani Clinic";

struct Device {
    _dir: tempfile::TempDir,
    store: Store,
    slot: SessionSlot,
}

impl Device {
    /// A new store with its own first administrator (`username` differs per device: the
    /// accounts sync too, and usernames are unique in the tenant).
    async fn new(username: &str) -> Device {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in_dir(dir.path()).await.unwrap();
        let slot = SessionSlot::default();
        setup::setup_first_admin(
            &store,
            &slot,
            NewAdmin { username: username.into(), full_name: format!("Admin {username}"), password: PW.into() },
        )
        .await
        .unwrap();
        Device { _dir: dir, store, slot }
    }

    async fn auth(&self) -> Authorized {
        self.slot.authorize(&self.store).await.unwrap()
    }

    async fn enrol(&self, server: &TestServer, name: &str) -> sync::Enrolment {
        let code = admin::create_enrol_code(server.pool(), TENANT, chrono::Duration::hours(1)).await.unwrap();
        sync::enrol(&self.store, &self.auth().await, &server.base, &code.code, name).await.unwrap()
    }

    async fn sync(&self) -> sync::SyncReport {
        sync::sync_now(&self.store).await.unwrap()
    }

    async fn given_name(&self, id: &str) -> String {
        patients::open(&self.store, &self.auth().await, id).await.unwrap().given_name
    }

    async fn rename(&self, id: &str, given_name: &str) {
        let auth = self.auth().await;
        let p = patients::open(&self.store, &auth, id).await.unwrap();
        let input = PatientInput {
            given_name: given_name.into(),
            family_name: p.family_name.clone(),
            sex: "female".into(),
            birth_date: p.birth_date.clone(),
            phones: p.phones.clone(),
            ..Default::default()
        };
        patients::update(&self.store, &auth, id, input).await.unwrap();
    }

    async fn scalar(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(self.store.pool()).await.unwrap()
    }
}

fn amina() -> PatientInput {
    PatientInput {
        given_name: "Amina".into(),
        family_name: "Mwakyusa".into(),
        sex: "female".into(),
        birth_date: Some("1990-04-12".into()),
        phones: vec!["+255 754 123 456".into()],
        ..Default::default()
    }
}

async fn two_devices() -> (TestServer, Device, Device) {
    let server = TestServer::start().await;
    admin::create_tenant(server.pool(), TENANT).await.unwrap();
    let a = Device::new("admin").await;
    let b = Device::new("ward.admin").await;
    let ea = a.enrol(&server, "Reception PC").await;
    let eb = b.enrol(&server, "Ward tablet").await;
    assert_eq!(ea.device_id, a.store.device_id(), "enrolled under the device's own id");
    assert_eq!(eb.device_id, b.store.device_id());
    assert_eq!((ea.tenant_name.as_str(), eb.tenant_id.as_str()), (TENANT, ea.tenant_id.as_str()));
    (server, a, b)
}

#[tokio::test]
async fn enrolment_is_for_administrators_and_keeps_the_token_in_core() {
    let server = TestServer::start().await;
    admin::create_tenant(server.pool(), TENANT).await.unwrap();
    let a = Device::new("admin").await;

    let before = sync::status(&a.store).await.unwrap();
    assert!(!before.enrolled);
    assert!(before.pending > 0, "the first administrator's account is queued");
    assert_eq!(sync::sync_now(&a.store).await.unwrap_err(), SyncError::NotEnrolled);

    // A receptionist may not enrol the device.
    let admin_auth = a.auth().await;
    users::create(&a.store, &admin_auth, NewUser {
        username: "desk.one".into(), full_name: "Desk One".into(), password: PW.into(), roles: vec!["receptionist".into()],
    })
    .await
    .unwrap();
    let desk = SessionSlot::default();
    auth::sign_in(&a.store, &desk, "desk.one", PW).await.unwrap();
    let desk_auth = desk.authorize(&a.store).await.unwrap();
    let code = admin::create_enrol_code(server.pool(), TENANT, chrono::Duration::hours(1)).await.unwrap();
    let refused = sync::enrol(&a.store, &desk_auth, &server.base, &code.code, "Reception PC").await.unwrap_err();
    assert_eq!(refused, SyncError::App(Error::Forbidden { permission: "sync_manage".into() }));

    // A wrong code: the server's refusal, nothing stored.
    let wrong = sync::enrol(&a.store, &admin_auth, &server.base, "AAAA-BBBB-CCCC-DDDD", "Reception PC").await.unwrap_err();
    assert!(matches!(wrong, SyncError::Server { status: 401, .. }), "{wrong:?}");
    assert!(!sync::status(&a.store).await.unwrap().enrolled);
    // Not a server address.
    assert!(matches!(
        sync::enrol(&a.store, &admin_auth, "ftp://x", &code.code, "PC").await.unwrap_err(),
        SyncError::InvalidUrl(_)
    ));

    // The administrator enrols with the unspent code.
    a.enrol(&server, "Reception PC").await;
    let status = sync::status(&a.store).await.unwrap();
    assert!(status.enrolled);
    assert_eq!(status.tenant_name.as_deref(), Some(TENANT));
    let json = serde_json::to_string(&status).unwrap();
    let token: String = sqlx::query_scalar("SELECT value FROM meta WHERE key = 'sync_token'")
        .fetch_one(a.store.pool())
        .await
        .unwrap();
    assert!(token.starts_with(a.store.device_id()));
    assert!(!json.contains(&token[token.len() - 16..]), "the status never carries the token");

    let queued = sync::status(&a.store).await.unwrap().pending;
    assert_eq!(queued, before.pending + 1, "and the desk account");
    let report = a.sync().await;
    assert_eq!(report.push.sent as i64, queued, "everything queued before enrolment goes out");
    let after = sync::status(&a.store).await.unwrap();
    assert_eq!(after.pending, 0);
    assert!(after.last_success.is_some() && after.last_error.is_none());
    assert_eq!(server.stored_changes().await, a.scalar("SELECT count(*) FROM change_log").await);
}

#[tokio::test]
async fn two_devices_converge_through_the_server() {
    let (server, a, b) = two_devices().await;

    // Registered on A, found on B after A pushes and B pulls.
    let p = patients::register(&a.store, &a.auth().await, amina()).await.unwrap();
    let ra = a.sync().await;
    assert!(ra.push.sent >= 2 && ra.push.accepted == ra.push.sent, "{ra:?}");
    let rb = b.sync().await;
    assert!(rb.pull.applied >= 2, "A's account and patient: {rb:?}");
    assert_eq!(b.given_name(&p.id).await, "Amina");
    let found = patients::search(&b.store, &b.auth().await, "amina mwak", 10).await.unwrap();
    assert_eq!(found.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), vec![p.id.as_str()], "pulled rows are searchable");
    let by_phone = patients::search(&b.store, &b.auth().await, "754123456", 10).await.unwrap();
    assert_eq!(by_phone.len(), 1);
    let pending_b = sync::status(&b.store).await.unwrap().pending;
    assert_eq!(pending_b, 0, "pulled rows are not written back into B's outbox");
    let mrn_b: String = sqlx::query_scalar("SELECT mrn FROM patients WHERE id = ?").bind(&p.id).fetch_one(b.store.pool()).await.unwrap();
    assert_eq!(mrn_b, p.mrn);
    let origin: String = sqlx::query_scalar("SELECT origin_device FROM patients WHERE id = ?").bind(&p.id).fetch_one(b.store.pool()).await.unwrap();
    assert_eq!(origin, a.store.device_id());

    // Edited on B, seen on A.
    b.rename(&p.id, "Aminata").await;
    let rb = b.sync().await;
    assert_eq!(rb.push.sent, 1);
    let ra = a.sync().await;
    assert_eq!(ra.pull.applied, 2, "B's administrator account and the edit: {ra:?}");
    assert_eq!(a.given_name(&p.id).await, "Aminata");
    assert_eq!(a.scalar("SELECT count(*) FROM sync_conflicts").await, 0, "a sequential edit is no conflict");
    assert_eq!(b.scalar("SELECT count(*) FROM sync_conflicts").await, 0);

    // The same record edited on both while apart: A first, then B (a newer stamp).
    a.rename(&p.id, "Amina A").await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    b.rename(&p.id, "Amina B").await;
    a.sync().await; // pushes A's edit; nothing new to pull yet
    let rb = b.sync().await; // pushes B's edit; pulls A's older one, which loses
    assert_eq!((rb.pull.applied, rb.pull.conflicts), (0, 1), "{rb:?}");
    let ra = a.sync().await; // pulls B's newer edit, which wins
    assert_eq!(ra.pull.applied, 1, "{ra:?}");
    assert_eq!(a.given_name(&p.id).await, "Amina B");
    assert_eq!(b.given_name(&p.id).await, "Amina B");
    let hlc_a: String = sqlx::query_scalar("SELECT updated_at FROM patients WHERE id = ?").bind(&p.id).fetch_one(a.store.pool()).await.unwrap();
    let hlc_b: String = sqlx::query_scalar("SELECT updated_at FROM patients WHERE id = ?").bind(&p.id).fetch_one(b.store.pool()).await.unwrap();
    assert_eq!(hlc_a, hlc_b, "both hold the newer stamp");
    assert!(hlc_b.ends_with(b.store.device_id()));

    // The losing version is kept, with the winner it lost to.
    let (entity, entity_id, local, remote, resolved): (String, String, String, String, i64) = sqlx::query_as(
        "SELECT entity, entity_id, local, remote, resolved FROM sync_conflicts",
    )
    .fetch_one(b.store.pool())
    .await
    .unwrap();
    assert_eq!((entity.as_str(), entity_id.as_str(), resolved), ("patients", p.id.as_str(), 0));
    let local: serde_json::Value = serde_json::from_str(&local).unwrap();
    let remote: serde_json::Value = serde_json::from_str(&remote).unwrap();
    assert_eq!((local["given_name"].as_str(), remote["given_name"].as_str()), (Some("Amina B"), Some("Amina A")));
    assert_eq!(sync::status(&b.store).await.unwrap().open_conflicts, 1);

    // Syncing again sends nothing twice and applies nothing again.
    let stored = server.stored_changes().await;
    for d in [&a, &b] {
        let again = d.sync().await;
        assert_eq!((again.push.sent, again.pull.applied, again.pull.conflicts), (0, 0, 0), "{again:?}");
    }
    assert_eq!(server.stored_changes().await, stored);
    assert_eq!(
        stored,
        a.scalar("SELECT count(*) FROM change_log").await + b.scalar("SELECT count(*) FROM change_log").await,
        "every outbox entry of both devices is on the server exactly once"
    );

    // A lost acknowledgement: A resends its whole log; the server stores none of it again.
    sqlx::query("UPDATE change_log SET pushed_at = NULL").execute(a.store.pool()).await.unwrap();
    let resent = sync::push(&a.store).await.unwrap();
    assert_eq!((resent.accepted, resent.duplicates), (0, resent.sent));
    assert!(resent.sent > 0);
    assert_eq!(server.stored_changes().await, stored);

    // A pull from the start again (a lost cursor) changes nothing: every change is old news.
    sqlx::query("UPDATE meta SET value = '0' WHERE key = 'sync_pull_cursor'").execute(b.store.pool()).await.unwrap();
    let replay = sync::pull(&b.store).await.unwrap();
    assert_eq!((replay.applied, replay.conflicts), (0, 0), "{replay:?}");
    assert_eq!(b.given_name(&p.id).await, "Amina B");

    // Enrolment and every merged page are audited, and the chains stay intact.
    for d in [&a, &b] {
        let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log WHERE action LIKE 'sync.%' ORDER BY seq")
            .fetch_all(d.store.pool())
            .await
            .unwrap();
        assert_eq!(actions.first().map(String::as_str), Some("sync.enrol"));
        assert!(actions.iter().filter(|a| *a == "sync.pull").count() >= 3, "{actions:?}");
        let check = hms_core::audit::verify_unaudited(&d.store).await.unwrap();
        assert!(check.intact, "{check:?}");
    }
}

#[tokio::test]
async fn an_unreachable_server_is_reported_and_nothing_is_marked_sent() {
    let (server, a, _b) = two_devices().await;
    patients::register(&a.store, &a.auth().await, amina()).await.unwrap();
    let pending = sync::status(&a.store).await.unwrap().pending;
    // Point A at a port nobody listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    sqlx::query("UPDATE meta SET value = ? WHERE key = 'sync_server_url'").bind(&url).execute(a.store.pool()).await.unwrap();
    let err = sync::sync_now(&a.store).await.unwrap_err();
    assert!(matches!(err, SyncError::Network(_)), "{err:?}");
    let status = sync::status(&a.store).await.unwrap();
    assert_eq!(status.pending, pending);
    assert!(status.last_error.is_some_and(|e| e.contains("cannot reach")));
    // Back online: everything goes, once.
    sqlx::query("UPDATE meta SET value = ? WHERE key = 'sync_server_url'").bind(&server.base).execute(a.store.pool()).await.unwrap();
    let report = a.sync().await;
    assert_eq!(report.push.sent as i64, pending);
    assert!(sync::status(&a.store).await.unwrap().last_error.is_none());
}
