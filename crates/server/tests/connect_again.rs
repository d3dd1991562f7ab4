//! "Connect again" (issue 12): a revoked device comes back with a code the server's
//! administrator made for it (`hms-server enrol-code TENANT --replaces DEVICE`), under its own
//! id and key, and what it wrote while it could not sync reaches the other devices, even past
//! its quarantine. Nobody else can use that code, and an ordinary code does not let a revoked
//! device back in. Devices are hms-core stores on their own SQLite files; the server runs on a
//! real PostgreSQL.

mod common;

use common::device::Device;
use common::{assert_error, TestServer};
use hms_core::patients::{self, PatientInput};
use hms_core::sync::{self, SyncError};
use hms_protocol::ErrorCode;
use hms_server::admin;
use reqwest::StatusCode;
use serde_json::json;

const TENANT: &str = "Mlimani Clinic";

fn patient(given: &str, born: &str) -> PatientInput {
    PatientInput {
        given_name: given.into(),
        family_name: "Mwakyusa".into(),
        sex: "female".into(),
        birth_date: Some(born.into()),
        ..Default::default()
    }
}

async fn register(d: &Device, given: &str, born: &str) -> String {
    patients::register(&d.store, &d.auth().await, patient(given, born)).await.unwrap().id
}

async fn has(d: &Device, id: &str) -> bool {
    patients::open(&d.store, &d.auth().await, id).await.is_ok()
}

async fn setup() -> (TestServer, Device, Device) {
    let server = TestServer::start().await;
    admin::create_tenant(server.store(), TENANT).await.unwrap();
    let a = Device::new("admin").await;
    let b = Device::new("ward.admin").await;
    a.enrol(server.store(), &server.base, TENANT, "Ward tablet").await;
    b.enrol(server.store(), &server.base, TENANT, "Reception PC").await;
    sync::sync_now(&a.store).await.unwrap();
    sync::sync_now(&b.store).await.unwrap();
    sync::sync_now(&a.store).await.unwrap();
    (server, a, b)
}

fn revoked(e: &SyncError) -> bool {
    matches!(e, SyncError::Server { code: Some(ErrorCode::Revoked), .. })
}

/// The tablet was taken for lost and quarantined, then found: it kept working offline. With a
/// replacing code it connects again, and everything it wrote meanwhile reaches the reception
/// PC, while what it pushed between the quarantine's start and the revocation stays withheld.
#[tokio::test]
async fn a_revoked_device_connects_again_and_its_unsent_work_arrives() {
    let (server, a, b) = setup().await;
    let before = register(&a, "Amina", "1990-04-12").await;
    sync::sync_now(&a.store).await.unwrap();
    let lost_at: chrono::DateTime<chrono::Utc> = common::db_now(server.store()).await;
    let pushed_while_lost = register(&a, "Mallory", "1971-01-01").await;
    sync::sync_now(&a.store).await.unwrap();
    admin::quarantine_device(server.store(), a.store.device_id(), lost_at).await.unwrap();

    // Revoked: the tablet cannot sync, says so, and keeps what is written on it.
    let offline: Vec<String> = vec![
        register(&a, "Neema", "2001-02-03").await,
        register(&a, "Rehema", "1979-11-30").await,
        register(&a, "Zawadi", "2015-06-07").await,
    ];
    let e = sync::sync_now(&a.store).await.unwrap_err();
    assert!(revoked(&e), "{e:?}");
    let status = sync::status(&a.store).await.unwrap();
    assert!(status.revoked);
    let unsent = status.pending;
    assert!(unsent >= 3, "{status:?}");

    let code = admin::create_replacing_code(server.store(), TENANT, chrono::Duration::hours(1), a.store.device_id())
        .await
        .unwrap();
    let again = sync::connect_again(&a.store, &a.auth().await, &code.code).await.unwrap();
    assert_eq!(again.device_id, a.store.device_id(), "under its own id");
    let connected = sync::status(&a.store).await.unwrap();
    assert!(!connected.revoked);
    assert_eq!((connected.cursor, connected.pending), (status.cursor, unsent), "nothing to pull or send again");
    let report = sync::sync_now(&a.store).await.unwrap();
    assert!(report.push.accepted >= unsent as u64, "{report:?}");
    let status = sync::status(&a.store).await.unwrap();
    assert_eq!((status.pending, status.revoked), (0, false), "{status:?}");
    let audited: i64 = a.scalar("SELECT count(*) FROM audit_log WHERE action = 'sync.connect_again'").await;
    assert_eq!(audited, 1);

    sync::sync_now(&b.store).await.unwrap();
    assert!(has(&b, &before).await);
    for id in &offline {
        assert!(has(&b, id).await, "written while revoked, sent after connecting again: {id}");
    }
    assert!(!has(&b, &pushed_while_lost).await, "pushed during the quarantine: still withheld");
    let withheld = admin::withheld_changes(server.store(), a.store.device_id()).await.unwrap();
    assert!(withheld.iter().any(|c| c.entity_id == pushed_while_lost), "{withheld:?}");
    assert!(!withheld.iter().any(|c| offline.contains(&c.entity_id)), "{withheld:?}");

    // The code was for once; the tablet goes on syncing with its new token.
    let used = sync::connect_again(&a.store, &a.auth().await, &code.code).await.unwrap_err();
    assert!(matches!(used, SyncError::Server { status: 401, .. }), "{used:?}");
    let later = register(&a, "Imani", "1999-09-09").await;
    sync::sync_now(&a.store).await.unwrap();
    sync::sync_now(&b.store).await.unwrap();
    assert!(has(&b, &later).await);
}

/// A replacing code lets in the device it names and no other: not another device under its
/// own id, not another key under the revoked device's id. The code stays usable for the
/// right device after such attempts. An ordinary code does not let a revoked device back in.
#[tokio::test]
async fn only_the_revoked_device_can_use_its_code_and_an_ordinary_code_cannot() {
    let (server, a, b) = setup().await;
    admin::revoke_device(server.store(), a.store.device_id()).await.unwrap();
    let offline = register(&a, "Neema", "2001-02-03").await;

    // A code for a device that is not revoked, or not in the tenant, is not made.
    let active = admin::create_replacing_code(server.store(), TENANT, chrono::Duration::hours(1), b.store.device_id());
    assert!(active.await.is_err(), "B is not revoked");
    let unknown = admin::create_replacing_code(server.store(), TENANT, chrono::Duration::hours(1), "no-such-device");
    assert!(unknown.await.is_err());

    let code = admin::create_replacing_code(server.store(), TENANT, chrono::Duration::hours(1), a.store.device_id())
        .await
        .unwrap();
    // Another device, under its own id: refused.
    let c = Device::new("lab.admin").await;
    let e = sync::enrol(&c.store, &c.auth().await, &server.base, &code.code, "Lab PC").await.unwrap_err();
    assert!(matches!(e, SyncError::Server { status: 403, .. }), "{e:?}");
    // Someone naming the revoked device, with a key of their own: refused.
    let forged = server
        .post_json(
            "/v1/enrol",
            None,
            &json!({"code": code.code, "device_name": "", "device_id": a.store.device_id(),
                    "device_key": common::test_key_hex()}),
        )
        .await;
    assert_error(&forged, StatusCode::FORBIDDEN, "forbidden");
    // Nothing pushed in A's name got through either.
    let stored_from_a = common::count(
        server.store(),
        &format!(
            "SELECT count(*) FROM changes WHERE device_id = '{}' AND entity_id = '{offline}'",
            a.store.device_id()
        ),
    )
    .await;
    assert_eq!(stored_from_a, 0);

    // An ordinary code: neither "Connect again" nor enrolling under the revoked id.
    let ordinary = admin::create_enrol_code(server.store(), TENANT, chrono::Duration::hours(1)).await.unwrap();
    let e = sync::connect_again(&a.store, &a.auth().await, &ordinary.code).await.unwrap_err();
    assert!(matches!(e, SyncError::Server { status: 403, .. }), "{e:?}");
    let e = sync::enrol(&a.store, &a.auth().await, &server.base, &ordinary.code, "Ward tablet").await.unwrap_err();
    assert!(matches!(e, SyncError::Server { status: 409, .. }), "{e:?}");
    assert!(revoked(&sync::sync_now(&a.store).await.unwrap_err()));

    // The replacing code is still good for A.
    sync::connect_again(&a.store, &a.auth().await, &code.code).await.unwrap();
    sync::sync_now(&a.store).await.unwrap();
    sync::sync_now(&b.store).await.unwrap();
    assert!(has(&b, &offline).await);
}
