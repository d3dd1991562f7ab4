//! The device side of sync (hms-core's `sync` module) against this server on a real
//! PostgreSQL: two devices, each a core store on its own temporary SQLite file, enrolled in
//! one tenant, pushing and pulling through the HTTP API.

mod common;

use common::device::new_user;
use common::{Backend, TestServer};
use hms_core::patients::{self, PatientInput};
use hms_core::setup::{self, NewAdmin};
use hms_core::sync::{self, SyncError};
use hms_core::users::NewUser;
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
        let code = admin::create_enrol_code(server.store(), TENANT, chrono::Duration::hours(1)).await.unwrap();
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
    admin::create_tenant(server.store(), TENANT).await.unwrap();
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
    admin::create_tenant(server.store(), TENANT).await.unwrap();
    let a = Device::new("admin").await;

    let before = sync::status(&a.store).await.unwrap();
    assert!(!before.enrolled);
    assert!(before.pending > 0, "the first administrator's account is queued");
    assert_eq!(sync::sync_now(&a.store).await.unwrap_err(), SyncError::NotEnrolled);

    // A receptionist may not enrol the device.
    let admin_auth = a.auth().await;
    new_user(
        &a.store,
        &admin_auth,
        NewUser {
            username: "desk.one".into(),
            full_name: "Desk One".into(),
            password: PW.into(),
            roles: vec!["receptionist".into()],
        },
    )
    .await;
    let desk = SessionSlot::default();
    auth::sign_in(&a.store, &desk, "desk.one", PW).await.unwrap();
    let desk_auth = desk.authorize(&a.store).await.unwrap();
    let code = admin::create_enrol_code(server.store(), TENANT, chrono::Duration::hours(1)).await.unwrap();
    let refused = sync::enrol(&a.store, &desk_auth, &server.base, &code.code, "Reception PC").await.unwrap_err();
    assert_eq!(refused, SyncError::App(Error::Forbidden { permission: "sync_manage".into() }));

    // A wrong code: the server's refusal, nothing stored.
    let wrong =
        sync::enrol(&a.store, &admin_auth, &server.base, "AAAA-BBBB-CCCC-DDDD", "Reception PC").await.unwrap_err();
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
    let kept: String =
        sqlx::query_scalar("SELECT value FROM meta WHERE key = 'sync_token'").fetch_one(a.store.pool()).await.unwrap();
    // The token (`<device id>.<64 hex>`) is sealed with the key file beside the database.
    assert!(kept.starts_with("v1.") && !kept.contains(a.store.device_id()), "{kept}");
    assert!(!json.contains(&kept[kept.len() - 16..]), "the status never carries the token");

    let queued = sync::status(&a.store).await.unwrap().pending;
    // The desk account: made, then its temporary password changed by its owner.
    assert_eq!(queued, before.pending + 2, "and the desk account");
    let report = a.sync().await;
    let audit_sent = a.scalar("SELECT count(*) FROM change_log WHERE entity = 'audit_log'").await;
    assert_eq!(
        report.push.sent as i64,
        queued + audit_sent,
        "everything queued before enrolment goes out, and the audit"
    );
    assert_eq!(audit_sent, a.scalar("SELECT count(*) FROM audit_log").await, "every audit entry, once");
    let after = sync::status(&a.store).await.unwrap();
    assert_eq!(after.pending, 0);
    assert!(after.last_success.is_some() && after.last_error.is_none());
    assert_eq!(server.stored_changes().await, a.scalar("SELECT count(*) FROM change_log").await);

    // A copy of the database file with its encryption key but without the device's key file
    // holds no working token.
    let copy = tempfile::tempdir().unwrap();
    let copied = copy.path().join("hms.db");
    sqlx::query("VACUUM INTO ?").bind(copied.to_string_lossy().to_string()).execute(a.store.pool()).await.unwrap();
    let db_key = hms_core::store::db_key::key_path(a.store.path());
    std::fs::copy(&db_key, hms_core::store::db_key::key_path(&copied)).unwrap();
    let raw = std::fs::read(&copied).unwrap();
    let device_prefix = format!("{}.", a.store.device_id());
    assert!(!raw.windows(device_prefix.len()).any(|w| w == device_prefix.as_bytes()), "no token in clear in the file");
    let thief = Store::open_in_dir(copy.path()).await.unwrap();
    let refused = sync::sync_now(&thief).await.unwrap_err();
    assert!(matches!(refused, SyncError::Server { status: 401, .. }), "{refused:?}");
    assert_eq!(server.stored_changes().await, a.scalar("SELECT count(*) FROM change_log").await, "nothing got in");
    // The device itself, with its key file, keeps syncing.
    a.sync().await;
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
    assert_eq!(
        found.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(),
        vec![p.id.as_str()],
        "pulled rows are searchable"
    );
    let by_phone = patients::search(&b.store, &b.auth().await, "754123456", 10).await.unwrap();
    assert_eq!(by_phone.len(), 1);
    let pending_b = sync::status(&b.store).await.unwrap().pending;
    assert_eq!(pending_b, 0, "pulled rows are not written back into B's outbox");
    let mrn_b: String = sqlx::query_scalar("SELECT mrn FROM patients WHERE id = ?")
        .bind(&p.id)
        .fetch_one(b.store.pool())
        .await
        .unwrap();
    assert_eq!(mrn_b, p.mrn);
    let origin: String = sqlx::query_scalar("SELECT origin_device FROM patients WHERE id = ?")
        .bind(&p.id)
        .fetch_one(b.store.pool())
        .await
        .unwrap();
    assert_eq!(origin, a.store.device_id());

    // Edited on B, seen on A.
    b.rename(&p.id, "Aminata").await;
    let data_before = b.scalar("SELECT count(*) FROM change_log WHERE entity <> 'audit_log'").await;
    let rb = b.sync().await;
    assert!(rb.push.sent >= 1, "the edit and its audit entries");
    assert_eq!(b.scalar("SELECT count(*) FROM change_log WHERE entity <> 'audit_log'").await, data_before);
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
    let hlc_a: String = sqlx::query_scalar("SELECT updated_at FROM patients WHERE id = ?")
        .bind(&p.id)
        .fetch_one(a.store.pool())
        .await
        .unwrap();
    let hlc_b: String = sqlx::query_scalar("SELECT updated_at FROM patients WHERE id = ?")
        .bind(&p.id)
        .fetch_one(b.store.pool())
        .await
        .unwrap();
    assert_eq!(hlc_a, hlc_b, "both hold the newer stamp");
    assert!(hlc_b.ends_with(b.store.device_id()));

    // The losing version is kept, with the winner it lost to.
    let (entity, entity_id, local, remote, resolved): (String, String, String, String, i64) =
        sqlx::query_as("SELECT entity, entity_id, local, remote, resolved FROM sync_conflicts")
            .fetch_one(b.store.pool())
            .await
            .unwrap();
    assert_eq!((entity.as_str(), entity_id.as_str(), resolved), ("patients", p.id.as_str(), 0));
    let local: serde_json::Value = serde_json::from_str(&local).unwrap();
    let remote: serde_json::Value = serde_json::from_str(&remote).unwrap();
    assert_eq!((local["given_name"].as_str(), remote["given_name"].as_str()), (Some("Amina B"), Some("Amina A")));
    assert_eq!(sync::status(&b.store).await.unwrap().open_conflicts, 1);

    // Syncing again applies nothing again. It still carries the audit entries written since
    // (opening a record is audited) and then goes quiet: merging other devices' audit entries
    // writes none of its own, so they do not echo between devices.
    for _ in 0..2 {
        for d in [&a, &b] {
            let again = d.sync().await;
            assert_eq!((again.pull.applied, again.pull.conflicts), (0, 0), "{again:?}");
        }
    }
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
        let actions: Vec<String> =
            sqlx::query_scalar("SELECT action FROM audit_log WHERE action LIKE 'sync.%' ORDER BY seq")
                .fetch_all(d.store.pool())
                .await
                .unwrap();
        assert_eq!(actions.first().map(String::as_str), Some("sync.enrol"));
        // Only pages that changed records here are audited (not those of other devices'
        // audit entries alone, which would echo between devices for ever).
        assert!(actions.iter().filter(|a| *a == "sync.pull").count() >= 2, "{actions:?}");
        let check = hms_core::audit::verify_unaudited(&d.store).await.unwrap();
        assert!(check.intact, "{check:?}");
    }
}

#[tokio::test]
async fn an_unreachable_server_is_reported_and_nothing_is_marked_sent() {
    let (server, a, _b) = two_devices().await;
    patients::register(&a.store, &a.auth().await, amina()).await.unwrap();
    let pending = sync::status(&a.store).await.unwrap().pending;
    let sent_before = a.scalar("SELECT count(*) FROM change_log WHERE pushed_at IS NOT NULL").await;
    // Point A at a port nobody listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    sqlx::query("UPDATE meta SET value = ? WHERE key = 'sync_server_url'")
        .bind(&url)
        .execute(a.store.pool())
        .await
        .unwrap();
    let err = sync::sync_now(&a.store).await.unwrap_err();
    assert!(matches!(err, SyncError::Network(_)), "{err:?}");
    let status = sync::status(&a.store).await.unwrap();
    assert!(status.pending >= pending, "and the audit entries queued for it");
    assert_eq!(a.scalar("SELECT count(*) FROM change_log WHERE pushed_at IS NOT NULL").await, sent_before);
    assert_eq!(status.state, sync::SyncState::Offline);
    let since = status.offline_since.clone().unwrap();
    sync::sync_now(&a.store).await.unwrap_err();
    assert_eq!(sync::status(&a.store).await.unwrap().offline_since, Some(since), "offline since the first failure");
    assert!(status.last_error.is_some_and(|e| e.contains("cannot reach")));
    // Back online: everything goes, once.
    sqlx::query("UPDATE meta SET value = ? WHERE key = 'sync_server_url'")
        .bind(&server.base)
        .execute(a.store.pool())
        .await
        .unwrap();
    let report = a.sync().await;
    assert!(report.push.sent as i64 > pending, "the changes and the audit entries");
    let status = sync::status(&a.store).await.unwrap();
    assert!(status.last_error.is_none() && status.offline_since.is_none());
    assert_eq!((status.state, status.pending), (sync::SyncState::Synced, 0));
}

/// Waits (polling, up to 30 s) until `done` holds; panics with `what` otherwise.
async fn eventually<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if done().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("gave up waiting until {what}");
}

#[tokio::test]
async fn the_background_sync_runs_on_start_after_writes_and_backs_off_while_offline() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (server, a, b) = two_devices().await;
    let rounds = AtomicUsize::new(0);
    let failures = AtomicUsize::new(0);
    // Only writes (and the start) can trigger a sync: the timer is an hour.
    let config = sync::worker::WorkerConfig {
        interval: std::time::Duration::from_secs(3600),
        after_write: std::time::Duration::from_millis(10),
        first_backoff: std::time::Duration::from_millis(50),
        max_backoff: std::time::Duration::from_millis(200),
    };
    let worker = sync::worker::run(&a.store, config, |round| {
        if matches!(round, sync::worker::Round::Failed(_)) {
            failures.fetch_add(1, Ordering::SeqCst);
        }
        rounds.fetch_add(1, Ordering::SeqCst);
    });
    let body = async {
        eventually("the first sync on start", || async { rounds.load(Ordering::SeqCst) >= 1 }).await;
        assert_eq!(sync::status(&a.store).await.unwrap().pending, 0, "the start sync sent the outbox");

        // A write: the worker syncs soon after, without anyone pressing a button.
        let p = patients::register(&a.store, &a.auth().await, amina()).await.unwrap();
        eventually("the registration is on the server", || async {
            common::count(server.store(), "SELECT count(*) FROM changes WHERE entity = 'patients'").await == 1
        })
        .await;
        b.sync().await;
        assert_eq!(b.given_name(&p.id).await, "Amina");
        // "Sync now" while the worker runs: the two share one lock and both succeed.
        let (x, y) = tokio::join!(sync::sync_now(&a.store), sync::sync_now(&a.store));
        assert!(x.is_ok() && y.is_ok());

        // Offline: the write's sync fails, the status says since when, and the worker retries
        // with backoff until the server is back.
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", dead.local_addr().unwrap());
        drop(dead);
        sqlx::query("UPDATE meta SET value = ? WHERE key = 'sync_server_url'")
            .bind(&url)
            .execute(a.store.pool())
            .await
            .unwrap();
        // A round the worker began before the address changed may still be pushing to the
        // server: a sync waits for it (they share one lock), so the write below can only go
        // to the dead address (without this, that round sent it now and then: pending 0).
        let _ = sync::sync_now(&a.store).await;
        a.rename(&p.id, "Aminata").await;
        eventually("two failed tries", || async { failures.load(Ordering::SeqCst) >= 2 }).await;
        let status = sync::status(&a.store).await.unwrap();
        assert_eq!(status.state, sync::SyncState::Offline);
        assert!(status.offline_since.is_some() && status.pending > 0);
        sqlx::query("UPDATE meta SET value = ? WHERE key = 'sync_server_url'")
            .bind(&server.base)
            .execute(a.store.pool())
            .await
            .unwrap();
        eventually("back in sync", || async {
            let s = sync::status(&a.store).await.unwrap();
            s.state == sync::SyncState::Synced && !s.syncing
        })
        .await;
        b.sync().await;
        assert_eq!(b.given_name(&p.id).await, "Aminata");
    };
    tokio::select! {
        _ = worker => unreachable!("the worker runs until dropped"),
        _ = body => {}
    }
}

/// A doctor with morning sessions every day, made on `a` and synced to `b`.
async fn doctor_on_both(a: &Device, b: &Device) -> String {
    use hms_core::schedule::{availability, staff};
    let auth = a.auth().await;
    let doctor = staff::add_staff(
        &a.store,
        &auth,
        staff::StaffInput { full_name: "Dr. Rao".into(), role: "doctor".into(), ..Default::default() },
    )
    .await
    .unwrap();
    let sessions = (1..=7)
        .map(|weekday| availability::SessionInput {
            weekday,
            start: "08:00".into(),
            end: "12:00".into(),
            slot_minutes: 15,
        })
        .collect();
    availability::set_weekly(&a.store, &auth, &doctor.id, sessions).await.unwrap();
    a.sync().await;
    b.sync().await;
    assert_eq!(b.scalar("SELECT count(*) FROM sync_conflicts").await, 0, "the doctor and the sessions merged on B");
    doctor.id
}

#[tokio::test]
async fn a_slot_booked_on_two_devices_apart_is_a_conflict_on_both_resolved_once() {
    use hms_core::schedule::{booking, slots};
    use hms_core::sync::{conflicts, ConflictKind, ConflictResolution};
    let (_server, a, b) = two_devices().await;
    let doctor = doctor_on_both(&a, &b).await;
    let date = (a.store.now().date_naive() + chrono::Duration::days(7)).format("%Y-%m-%d").to_string();
    let free = slots::free_slots(&a.store, &a.auth().await, &doctor, &date).await.unwrap();
    let (first, next) = (free[0].start.clone(), free[1].start.clone());

    // Apart: each device books the same slot for its own patient.
    let pa = patients::register(&a.store, &a.auth().await, amina()).await.unwrap();
    let mut baraka = amina();
    baraka.given_name = "Baraka".into();
    let pb = patients::register(&b.store, &b.auth().await, baraka).await.unwrap();
    let input = |patient: &str| booking::BookInput {
        patient_id: patient.into(),
        doctor_id: doctor.clone(),
        date: date.clone(),
        start: first.clone(),
        reason: "review".into(),
        overbook: false,
    };
    let held_first = booking::book(&a.store, &a.auth().await, input(&pa.id)).await.unwrap();
    let held_second = booking::book(&b.store, &b.auth().await, input(&pb.id)).await.unwrap();
    assert!(held_first.id < held_second.id);
    a.sync().await;
    b.sync().await;
    a.sync().await;

    let rows = "SELECT id || ' ' || status || ' ' || start_min || ' ' || slot_conflict FROM appointments ORDER BY id";
    let dump = |d: &Device| {
        let pool = d.store.pool().clone();
        async move { sqlx::query_scalar::<_, String>(rows).fetch_all(&pool).await.unwrap() }
    };
    assert_eq!(dump(&a).await, dump(&b).await, "the same appointments on both devices");
    for d in [&a, &b] {
        let open = conflicts::list(&d.store, &d.auth().await, false).await.unwrap();
        assert_eq!(open.len(), 1, "recorded on every device");
        assert_eq!(open[0].kind, ConflictKind::SlotDoubleBooked);
        assert_eq!(
            (open[0].current.record_id.as_deref(), open[0].other.record_id.as_deref()),
            (Some(held_first.id.as_str()), Some(held_second.id.as_str()))
        );
        assert!(open[0].other.label.contains("Baraka") && open[0].current.label.contains("Dr. Rao"), "{:?}", open[0]);
        let held: i64 =
            d.scalar(&format!("SELECT slot_conflict FROM appointments WHERE id = '{}'", held_second.id)).await;
        assert_eq!(held, 1, "the later booking is held off the slot");
    }

    // Resolved once, on B: its booking moves to the next slot. A merges the move and its own
    // record of the conflict closes.
    let c = conflicts::list(&b.store, &b.auth().await, false).await.unwrap().remove(0);
    let moved = ConflictResolution::MoveAppointment {
        appointment_id: held_second.id.clone(),
        doctor_id: doctor.clone(),
        date: date.clone(),
        start: next.clone(),
    };
    let done = conflicts::resolve(&b.store, &b.auth().await, &c.id, moved).await.unwrap();
    assert_eq!(done.resolution.as_deref(), Some("move"));
    b.sync().await;
    a.sync().await;
    assert_eq!(dump(&a).await, dump(&b).await);
    assert_eq!(a.scalar("SELECT count(*) FROM appointments WHERE slot_conflict = 1").await, 0);
    assert!(
        conflicts::list(&a.store, &a.auth().await, false).await.unwrap().is_empty(),
        "closed on A by B's resolution"
    );
    let all = conflicts::list(&a.store, &a.auth().await, true).await.unwrap();
    assert_eq!(all[0].resolution.as_deref(), Some("auto"));
    // The resolution is in the clinic's audit on A too, and every chain verifies.
    assert_eq!(a.scalar("SELECT count(*) FROM audit_remote WHERE action = 'sync.conflict_resolved'").await, 1);
    for d in [&a, &b] {
        let check = hms_core::audit::verify_unaudited(&d.store).await.unwrap();
        assert!(check.intact, "{check:?}");
    }
}

#[tokio::test]
async fn a_new_device_enrols_and_reports_the_progress_of_its_first_sync() {
    let (server, a, _b) = two_devices().await;
    for i in 0..5 {
        let mut p = amina();
        p.given_name = format!("Amina {i}");
        p.phones = vec![format!("+255 754 123 45{i}")];
        patients::register(&a.store, &a.auth().await, p).await.unwrap();
    }
    a.sync().await;
    let c = Device::new("desk.admin").await;
    let code = admin::create_enrol_code(server.store(), TENANT, chrono::Duration::hours(1)).await.unwrap();
    let seen = std::sync::Mutex::new(Vec::new());
    let progress = |p: sync::SyncProgress| seen.lock().unwrap().push(p);
    let e = sync::enrol_and_sync(&c.store, &c.auth().await, &server.base, &code.code, "Desk", &progress).await.unwrap();
    assert_eq!(e.tenant_name, TENANT);
    let seen = seen.into_inner().unwrap();
    let pulls: Vec<_> = seen.iter().filter(|p| p.phase == sync::SyncPhase::Pull).collect();
    let last = pulls.last().expect("pull progress");
    assert_eq!(last.fraction, Some(1.0));
    assert!(last.changes >= 5 + 2, "the patients and both administrators, and the audit: {last:?}");
    assert!(pulls.windows(2).all(|w| w[0].changes <= w[1].changes));
    assert!(seen.iter().any(|p| p.phase == sync::SyncPhase::Push));
    assert_eq!(c.scalar("SELECT count(*) FROM patients").await, 5);
    let status = sync::status(&c.store).await.unwrap();
    assert_eq!((status.state, status.pending), (sync::SyncState::Synced, 0));
}

/// Both devices online with their background sync: a patient registered on A appears on B
/// by itself. The timers are an hour, so only B's held-open wait on the server can bring it.
#[tokio::test]
async fn an_online_device_pulls_another_devices_change_without_waiting_for_its_timer() {
    let (_server, a, b) = two_devices().await;
    let config = sync::worker::WorkerConfig {
        interval: std::time::Duration::from_secs(3600),
        after_write: std::time::Duration::from_millis(10),
        first_backoff: std::time::Duration::from_millis(50),
        max_backoff: std::time::Duration::from_millis(200),
    };
    let workers = async {
        tokio::join!(sync::worker::run(&a.store, config, |_| {}), sync::worker::run(&b.store, config, |_| {}));
    };
    let body = async {
        // Both have made their first sync (on start) and B is waiting on the server.
        eventually("both synced on start", || async {
            let (x, y) = (sync::status(&a.store).await.unwrap(), sync::status(&b.store).await.unwrap());
            x.last_success.is_some() && y.last_success.is_some()
        })
        .await;
        let p = patients::register(&a.store, &a.auth().await, amina()).await.unwrap();
        eventually("the patient is on B", || async { patients::open(&b.store, &b.auth().await, &p.id).await.is_ok() })
            .await;
        assert_eq!(b.given_name(&p.id).await, "Amina");
    };
    tokio::select! {
        _ = workers => unreachable!("the workers run until dropped"),
        _ = body => {}
    }
}

/// A clinician's session on `device`, for a new account `username` with `role`.
async fn clinician(device: &Device, username: &str, role: &str) -> Authorized {
    let admin_auth = device.auth().await;
    new_user(
        &device.store,
        &admin_auth,
        NewUser {
            username: username.into(),
            full_name: format!("Clinician {username}"),
            password: PW.into(),
            roles: vec![role.into()],
        },
    )
    .await;
    let slot = SessionSlot::default();
    auth::sign_in(&device.store, &slot, username, PW).await.unwrap();
    slot.authorize(&device.store).await.unwrap()
}

/// A file attached on A goes to the server after A's push, once; B fetches it the first time
/// it opens the record, verified and stored like its own.
#[tokio::test]
async fn an_attachment_file_travels_through_the_server_once() {
    use hms_core::clinical::attachments::{self, AttachmentInput};
    let (server, a, b) = two_devices().await;
    let doctor = clinician(&a, "dr.rao", "doctor").await;
    let patient = patients::register(&a.store, &a.auth().await, amina()).await.unwrap();
    let bytes = b"%PDF-1.4\n% referral letter from the district hospital\n%%EOF\n".to_vec();
    let input = AttachmentInput {
        patient_id: patient.id.clone(),
        visit_id: None,
        file_name: "referral.pdf".into(),
        note: String::new(),
    };
    let added = attachments::add(&a.store, &doctor, input, &bytes).await.unwrap();
    a.sync().await;
    let blobs = |store| async move { common::count(store, "SELECT count(*) FROM blobs").await };
    assert_eq!(blobs(server.store()).await, 1, "uploaded after the push");

    b.sync().await;
    let nurse = clinician(&b, "n.joseph", "nurse").await;
    let listed = attachments::list(&b.store, &nurse, &patient.id, None).await.unwrap();
    assert_eq!((listed.len(), listed[0].on_device), (1, false), "the record came, the file not yet");
    let opened = attachments::open(&b.store, &nurse, &added.id).await.unwrap();
    assert_eq!(opened.bytes, bytes);
    assert!(opened.attachment.on_device);
    assert_eq!(hms_core::store::blobs::read_intact(&b.store, &added.sha256).unwrap(), bytes, "kept on B");
    let on_disk = std::fs::read(attachments::stored_path(&b.store, &added.sha256).unwrap()).unwrap();
    assert!(hms_core::store::blob_cipher::is_sealed(&on_disk), "encrypted on arrival");
    assert!(attachments::list(&b.store, &nurse, &patient.id, None).await.unwrap()[0].on_device);

    // Each file goes once: with the server's copy gone, further syncs do not send it again.
    common::execute(server.store(), "DELETE FROM blobs").await.unwrap();
    a.sync().await;
    b.sync().await;
    assert_eq!(blobs(server.store()).await, 0, "nothing uploaded again");
    assert_eq!(a.scalar("SELECT count(*) FROM attachment_uploads").await, 1);
    assert_eq!(b.scalar("SELECT count(*) FROM attachment_uploads").await, 0, "B uploads only its own attachments");

    // A file neither here nor on the server: the usual answer.
    std::fs::remove_file(attachments::stored_path(&b.store, &added.sha256).unwrap()).unwrap();
    match attachments::open(&b.store, &nurse, &added.id).await {
        Err(e @ Error::AttachmentNotOnDevice { .. }) => assert_eq!(e.code(), "attachment_not_on_device"),
        other => panic!("expected attachment_not_on_device, got {:?}", other.map(|o| o.attachment)),
    }
}

/// A device reports what it still has to send when it pulls; the administrator sees it per
/// device (`hms-server devices`).
#[tokio::test]
async fn the_server_lists_each_devices_pending_changes() {
    let (server, a, b) = two_devices().await;
    let pending = |d: &Device| {
        let (pool, id) = (server.store().clone(), d.store.device_id().to_string());
        async move {
            let (_, devices) = admin::list_devices(&pool, TENANT).await.unwrap();
            devices.into_iter().find(|x| x.id == id).and_then(|x| x.pending_changes)
        }
    };
    // A registers a patient and only pulls: two changes (the patient, its audit is not a
    // change) wait, and the server hears how many.
    patients::register(&a.store, &a.auth().await, amina()).await.unwrap();
    sync::pull(&a.store).await.unwrap();
    let queued = sync::status(&a.store).await.unwrap().pending;
    assert!(queued > 0);
    assert_eq!(pending(&a).await, Some(queued));
    a.sync().await;
    assert_eq!(pending(&a).await, Some(0), "a full sync pushes first, then reports none left");
    b.sync().await;
    assert_eq!(pending(&b).await, Some(0));
}

/// The server restored from an older backup lacks A's latest changes: A notices on its next
/// sync (the server holds a lower device sequence than A had acknowledged) and sends them
/// again, so B still gets them.
#[tokio::test]
async fn after_the_server_loses_recent_changes_a_device_sends_them_again() {
    let (server, a, b) = two_devices().await;
    let p = patients::register(&a.store, &a.auth().await, amina()).await.unwrap();
    a.sync().await;
    // The restore: the server forgets everything A pushed (as if backed up before it).
    let (off, on) = match common::backend() {
        Backend::Postgres => (
            "ALTER TABLE changes DISABLE TRIGGER changes_no_update",
            "ALTER TABLE changes ENABLE TRIGGER changes_no_update",
        ),
        Backend::Sqlite => (
            "DROP TRIGGER changes_no_delete",
            "CREATE TRIGGER changes_no_delete BEFORE DELETE ON changes BEGIN SELECT RAISE(ABORT, 'changes is append-only'); END",
        ),
    };
    let device = a.store.device_id();
    let statements = [
        off.to_string(),
        format!("DELETE FROM changes WHERE device_id = '{device}'"),
        on.to_string(),
        format!("UPDATE devices SET last_device_seq = 0 WHERE id = '{device}'"),
    ];
    common::execute_all(server.store(), &statements).await;
    assert_eq!(sync::status(&a.store).await.unwrap().pending, 0, "A believes it is all sent");

    let report = a.sync().await;
    assert!(report.push.accepted > 0, "A sent its changes again: {report:?}");
    b.sync().await;
    assert_eq!(b.given_name(&p.id).await, "Amina");
    // Nothing lost, nothing twice: the patient is on the server once after further syncs.
    a.sync().await;
    let sql =
        format!("SELECT count(*) FROM changes WHERE entity = 'patients' AND device_id = '{}'", a.store.device_id());
    assert_eq!(common::count(server.store(), &sql).await, 1);
}

/// Someone with A's files cuts the end of its audit log together with `meta`'s head: the local
/// chain alone still checks out, but the server holds A's newest entries, so verification
/// against the server's copy reports the cut; and entries written after the cut, which reuse
/// the cut entries' places with other hashes, are reported as a rewritten log.
#[tokio::test]
async fn an_audit_log_cut_on_a_synced_device_is_found_against_the_servers_copy() {
    use hms_core::audit::{self, ServerCopy};
    let (_server, a, _b) = two_devices().await;
    patients::register(&a.store, &a.auth().await, amina()).await.unwrap();
    a.sync().await;
    let v = sync::verify_audit(&a.store, &a.auth().await).await.unwrap();
    let ServerCopy::Matches { seq: head } = v.server else { panic!("{v:?}") };
    assert!(v.intact && head > 3, "{v:?}");
    // verify_audit audited itself (a new local entry the server does not hold yet): still intact.
    assert!(sync::verify_audit(&a.store, &a.auth().await).await.unwrap().intact);

    // The cut: the last three entries the server holds, and every later one, with meta's head.
    let pool = a.store.pool();
    sqlx::query("DROP TRIGGER audit_log_no_delete").execute(pool).await.unwrap();
    sqlx::query("DELETE FROM audit_log WHERE seq > ?").bind(i64::from(head) - 3).execute(pool).await.unwrap();
    sqlx::query("DELETE FROM meta WHERE key = 'audit_head'").execute(pool).await.unwrap();
    assert!(audit::verify_unaudited(&a.store).await.unwrap().intact, "the local chain alone cannot tell");
    let v = sync::verify_audit(&a.store, &a.auth().await).await.unwrap();
    assert!(!v.intact, "{v:?}");
    assert_eq!(v.server, ServerCopy::Differs { seq: head });
    assert!(v.problem.as_deref().unwrap_or_default().contains("missing here"), "{v:?}");
    // The check itself was audited; a few more audited writes fill the cut places with new hashes.
    for _ in 0..3 {
        audit::verify(&a.store, &a.auth().await).await.unwrap();
    }
    let after = audit::verify_unaudited(&a.store).await.unwrap();
    assert!(after.intact && after.checked >= head, "{after:?}");
    let v = sync::audit_against_server(&a.store, after).await.unwrap();
    assert_eq!(v.server, ServerCopy::Differs { seq: head });
    assert!(v.problem.as_deref().unwrap_or_default().contains("rewritten"), "{v:?}");
}

/// A tablet is lost: the administrator revokes it with a quarantine from the time it went
/// missing. What it pushed before stays in the clinic's record; what it pushed after is
/// withheld from every pull (and listed), and the other devices keep syncing past it.
#[tokio::test]
async fn a_quarantined_device_s_changes_after_the_loss_never_reach_the_others() {
    let (server, a, b) = two_devices().await;
    let before = patients::register(&a.store, &a.auth().await, amina()).await.unwrap();
    a.sync().await;
    let lost_at = common::db_now(server.store()).await;
    let mut later = amina();
    later.given_name = "Mallory".into();
    later.phones = vec![];
    later.birth_date = Some("1971-01-01".into());
    let after = patients::register(&a.store, &a.auth().await, later).await.unwrap();
    a.sync().await;

    let r = admin::quarantine_device(server.store(), a.store.device_id(), lost_at).await.unwrap();
    assert!(!r.already);
    let withheld = admin::withheld_changes(server.store(), a.store.device_id()).await.unwrap();
    assert!(withheld.iter().any(|c| c.entity == "patients" && c.entity_id == after.id), "{withheld:?}");
    assert!(!withheld.iter().any(|c| c.entity_id == before.id), "before the loss: not withheld");

    b.sync().await;
    assert_eq!(b.given_name(&before.id).await, "Amina");
    let auth = b.auth().await;
    assert!(patients::open(&b.store, &auth, &after.id).await.is_err(), "withheld from B");
    // B's cursor moved past the withheld changes: nothing left to pull, and new work still flows.
    let c = patients::register(&b.store, &auth, amina_again()).await.unwrap();
    b.sync().await;
    assert_eq!(sync::pull(&b.store).await.unwrap().applied, 0);
    assert_eq!(b.given_name(&c.id).await, "Zainab");
}

fn amina_again() -> PatientInput {
    let mut p = amina();
    p.given_name = "Zainab".into();
    p.phones = vec![];
    p.birth_date = Some("1985-05-05".into());
    p
}

/// One write of 70 changes of about 248 KB each (the server takes 256 KiB a change): 17 MB in
/// all, more than one request may carry (16 MiB). Signed as one segment it could never be
/// pushed; it is signed in segments of at most 4 MiB of data, each of which fits a request
/// with room to spare, so the push takes all of it.
#[tokio::test]
async fn a_write_of_the_largest_changes_is_signed_in_segments_that_each_fit_a_push() {
    use hms_core::store::{Actor, ChangeOp};
    use hms_protocol::proof::SEGMENT_MAX_BYTES;
    let (server, a, _b) = two_devices().await;
    a.sync().await;
    let auth = a.auth().await;
    let text = "x".repeat(62_000);
    let rows: Vec<(String, serde_json::Value)> = (0..70)
        .map(|_| {
            let id = hms_core::ids::new_id();
            let data = serde_json::json!({
                "id": id, "given_name": "Large", "family_name": "Record", "sex": "female",
                "note_a": text, "note_b": text, "note_c": text, "note_d": text,
            });
            (id, data)
        })
        .collect();
    let rows: Vec<(&str, serde_json::Value)> = rows.iter().map(|(id, d)| (id.as_str(), d.clone())).collect();
    let mut w = a.store.begin_write(Actor::user(&auth.user_id)).await.unwrap();
    w.record_changes("patients", ChangeOp::Insert, &rows).await.unwrap();
    w.audit("test.large_write", "patients", None, serde_json::json!({})).await.unwrap();
    w.commit().await.unwrap();

    // The write's entries, in order: each segment (ending at a proof) within the cap.
    let entries: Vec<(i64, bool)> =
        sqlx::query_as("SELECT length(data), proof IS NOT NULL FROM change_log WHERE entity = 'patients' ORDER BY seq")
            .fetch_all(a.store.pool())
            .await
            .unwrap();
    let total: i64 = entries.iter().map(|(n, _)| n).sum();
    assert!(total as usize > hms_protocol::MAX_BODY_BYTES, "the write is larger than a request: {total} bytes");
    assert!(entries.iter().all(|(n, _)| *n > 240_000 && *n <= hms_protocol::MAX_CHANGE_BYTES as i64));
    let mut segments = Vec::new();
    let mut bytes = 0;
    for (n, proof) in &entries {
        bytes += n;
        if *proof {
            segments.push(bytes);
            bytes = 0;
        }
    }
    assert_eq!(bytes, 0, "the write ends with a proof");
    assert!(segments.len() >= 5, "{segments:?}");
    assert!(segments.iter().all(|b| *b as usize <= SEGMENT_MAX_BYTES), "{segments:?}");

    let pushed = sync::push(&a.store).await.unwrap();
    assert_eq!(pushed.set_aside, 0);
    assert!(pushed.batches >= 3, "{pushed:?}");
    let has_note = match common::backend() {
        Backend::Postgres => "data ? 'note_d'",
        Backend::Sqlite => "json_type(data, '$.note_d') IS NOT NULL",
    };
    let (stored,): (i64,) = common::fetch_one(
        server.store(),
        &format!("SELECT count(*) FROM changes WHERE device_id = $1 AND entity = 'patients' AND {has_note}"),
        &[a.store.device_id()],
    )
    .await;
    assert_eq!(stored, 70);
    assert_eq!(sync::status(&a.store).await.unwrap().pending, 0);
}
