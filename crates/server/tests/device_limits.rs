//! An honest device under the server's limits: a change the server refuses for good is set
//! aside with its segment, shown to the administrator as a refused conflict, audited, and the
//! device keeps syncing the rest both ways; the largest logo the core allows fits one change;
//! a device told its clock is wrong, either way.

mod common;

use common::device::{Device, PW};
use common::TestServer;
use hms_core::patients::{self, PatientInput};
use hms_core::sync::{self, ConflictKind};
use hms_core::users::{self, NewUser, UserUpdate};
use hms_core::{auth, billing, SessionSlot};
use hms_server::{admin, AppState, Limits};

const TENANT: &str = "Mlimani Clinic";

async fn two_devices() -> (TestServer, Device, Device) {
    let server = TestServer::start().await;
    admin::create_tenant(server.store(), TENANT).await.unwrap();
    let a = Device::new("admin").await;
    let b = Device::new("ward.admin").await;
    a.enrol(server.store(), &server.base, TENANT, "Reception PC").await;
    b.enrol(server.store(), &server.base, TENANT, "Ward tablet").await;
    (server, a, b)
}

async fn synced(device: &Device) -> sync::SyncReport {
    sync::sync_now(&device.store).await.unwrap()
}

fn patient(given: &str, phone: &str) -> PatientInput {
    PatientInput {
        given_name: given.into(),
        family_name: "Mwakyusa".into(),
        sex: "female".into(),
        birth_date: Some("1990-04-12".into()),
        phones: vec![phone.into()],
        ..Default::default()
    }
}

async fn patient_named(device: &Device, given: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM patients WHERE given_name = ?")
        .bind(given)
        .fetch_one(device.store.pool())
        .await
        .unwrap()
}

/// A receptionist demoted on A while B was offline registers a patient on B. B's next sync:
/// the server refuses that write (`forbidden_change`, `not_permitted`); B sets it aside,
/// sends its other work, pulls the demotion, and says so. B keeps the patient; A never gets
/// it; later work flows both ways.
#[tokio::test]
async fn a_demoted_users_offline_write_is_set_aside_and_the_device_keeps_syncing() {
    let (_server, a, b) = two_devices().await;
    let admin_a = a.auth().await;
    let clerk = a
        .new_user(NewUser {
            username: "clerk".into(),
            full_name: "Clerk".into(),
            password: PW.into(),
            roles: vec!["receptionist".into()],
        })
        .await;
    synced(&a).await;
    synced(&b).await;
    // The clerk signs in on B; B then goes offline.
    let slot = SessionSlot::default();
    auth::sign_in(&b.store, &slot, "clerk", PW).await.unwrap();
    let clerk_b = slot.authorize(&b.store).await.unwrap();
    // A demotes the clerk to accountant (no patient registration) and syncs.
    users::update(
        &a.store,
        &admin_a,
        UserUpdate { user_id: clerk.id.clone(), full_name: "Clerk".into(), roles: vec!["accountant".into()] },
    )
    .await
    .unwrap();
    synced(&a).await;

    // On B, offline: the clerk registers a patient, B's administrator another.
    let refused = patients::register(&b.store, &clerk_b, patient("Zawadi", "+255 754 000 001")).await.unwrap();
    patients::register(&b.store, &b.auth().await, patient("Neema", "+255 754 000 002")).await.unwrap();
    let report = sync::sync_now(&b.store).await.expect("B's sync goes through");
    assert!(report.push.set_aside >= 1, "{report:?}");
    assert!(report.pull.applied >= 1, "B pulled A's demotion: {report:?}");

    let status = sync::status(&b.store).await.unwrap();
    assert_eq!(status.pending, 0, "nothing waits behind the refused change");
    assert_eq!(status.set_aside, report.push.set_aside as i64);
    assert_eq!(status.last_error, None);
    // B keeps what the clerk wrote; the administrator sees the refusal with the server's code.
    assert_eq!(patient_named(&b, "Zawadi").await, 1);
    let conflicts = sync::conflicts::list(&b.store, &b.auth().await, false).await.unwrap();
    let c = conflicts
        .iter()
        .find(|c| c.kind == ConflictKind::Refused && c.entity_id == refused.id)
        .expect("a refused conflict for the clerk's patient");
    assert!(c.current.label.contains("forbidden_change") && c.current.label.contains("not_permitted"), "{c:?}");
    let audited: i64 = b.scalar("SELECT count(*) FROM audit_log WHERE action = 'sync.set_aside'").await;
    assert_eq!(audited, 1);
    let reason: String = sqlx::query_scalar("SELECT set_aside_reason FROM change_log WHERE entity_id = ?")
        .bind(&refused.id)
        .fetch_one(b.store.pool())
        .await
        .unwrap();
    assert!(reason.starts_with("not_permitted"), "{reason}");

    // A gets B's administrator's patient, never the clerk's.
    synced(&a).await;
    assert_eq!(patient_named(&a, "Neema").await, 1);
    assert_eq!(patient_named(&a, "Zawadi").await, 0);
    // Both ways afterwards: B sends new work and receives A's.
    patients::register(&b.store, &b.auth().await, patient("Rehema", "+255 754 000 003")).await.unwrap();
    patients::register(&a.store, &admin_a, patient("Upendo", "+255 754 000 004")).await.unwrap();
    let again = sync::sync_now(&b.store).await.unwrap();
    assert_eq!(again.push.set_aside, 0, "set aside once");
    synced(&a).await;
    synced(&b).await;
    assert_eq!(patient_named(&a, "Rehema").await, 1);
    assert_eq!(patient_named(&b, "Upendo").await, 1);
    assert_eq!(sync::status(&b.store).await.unwrap().set_aside, status.set_aside);
}

/// The clerk's password is reset on A while B is offline and she is signed in there: what she
/// writes on B meanwhile is signed with her old key, which the server no longer takes
/// (`bad_user_proof`). B sets it aside and keeps syncing; once B has the reset, her session
/// there ends at its next command, and her new password signs in on B, where she must change it
/// (it is temporary) before she works.
#[tokio::test]
async fn a_write_signed_with_a_key_replaced_meanwhile_is_set_aside_and_the_session_ends() {
    let (_server, a, b) = two_devices().await;
    let admin_a = a.auth().await;
    let clerk = NewUser {
        username: "clerk".into(),
        full_name: "Clerk".into(),
        password: PW.into(),
        roles: vec!["receptionist".into()],
    };
    let clerk = a.new_user(clerk).await;
    synced(&a).await;
    synced(&b).await;
    let slot = SessionSlot::default();
    auth::sign_in(&b.store, &slot, "clerk", PW).await.unwrap();
    let clerk_b = slot.authorize(&b.store).await.unwrap();
    users::reset_password(&a.store, &admin_a, &clerk.id, "Fresh#2027start").await.unwrap();
    synced(&a).await;

    let stale = patients::register(&b.store, &clerk_b, patient("Imani", "+255 754 000 011")).await.unwrap();
    let report = sync::sync_now(&b.store).await.expect("B's sync goes through");
    assert!(report.push.set_aside >= 1, "{report:?}");
    let reason: String = sqlx::query_scalar("SELECT set_aside_reason FROM change_log WHERE entity_id = ?")
        .bind(&stale.id)
        .fetch_one(b.store.pool())
        .await
        .unwrap();
    assert!(reason.starts_with("bad_user_proof"), "{reason}");
    assert_eq!(sync::status(&b.store).await.unwrap().pending, 0);
    // B has the reset now: the clerk's session there is over; the new password signs in, and
    // being an administrator's, it is temporary on B too: she chooses her own before working.
    assert!(matches!(slot.authorize(&b.store).await, Err(hms_core::Error::SessionExpired)));
    let info = auth::sign_in(&b.store, &slot, "clerk", "Fresh#2027start").await.unwrap();
    assert!(info.must_change_password);
    assert_eq!(slot.authorize(&b.store).await.unwrap_err(), hms_core::Error::PasswordChangeRequired);
    users::change_own_password(&b.store, &slot, "Fresh#2027start", "Desk#Own2027x").await.unwrap();
    let clerk_b = slot.authorize(&b.store).await.unwrap();
    patients::register(&b.store, &clerk_b, patient("Baraka", "+255 754 000 012")).await.unwrap();
    let again = sync::sync_now(&b.store).await.unwrap();
    assert_eq!(again.push.set_aside, 0, "{again:?}");
    synced(&a).await;
    assert_eq!(patient_named(&a, "Baraka").await, 1);
    assert_eq!(patient_named(&a, "Imani").await, 0);
}

/// A nurse changes her own password on A (signed with her current key): the server takes it
/// from her, not only from an administrator, and B takes it too; her session open on B ends
/// there once B has it, the new password signs in on B and the old one does not, and what she
/// writes on A after the change (signed with the new key) syncs.
#[tokio::test]
async fn an_owners_own_password_change_syncs_and_works_on_the_other_device() {
    let (_server, a, b) = two_devices().await;
    let nurse = NewUser {
        username: "nurse.amina".into(),
        full_name: "Amina".into(),
        password: PW.into(),
        roles: vec!["receptionist".into()],
    };
    a.new_user(nurse).await;
    synced(&a).await;
    synced(&b).await;
    let on_b = SessionSlot::default();
    auth::sign_in(&b.store, &on_b, "nurse.amina", PW).await.unwrap();

    let on_a = SessionSlot::default();
    auth::sign_in(&a.store, &on_a, "nurse.amina", PW).await.unwrap();
    users::change_own_password(&a.store, &on_a, PW, "Own#Choice2027").await.unwrap();
    let nurse_a = on_a.authorize(&a.store).await.unwrap();
    patients::register(&a.store, &nurse_a, patient("Zawadi", "+255 754 000 021")).await.unwrap();
    let pushed = sync::sync_now(&a.store).await.unwrap();
    assert_eq!(pushed.push.set_aside, 0, "{pushed:?}");
    assert_eq!(sync::status(&a.store).await.unwrap().pending, 0);

    let pulled = sync::sync_now(&b.store).await.unwrap();
    assert_eq!(pulled.pull.refused, 0, "{pulled:?}");
    assert_eq!(patient_named(&b, "Zawadi").await, 1);
    assert!(matches!(on_b.authorize(&b.store).await, Err(hms_core::Error::SessionExpired)));
    assert_eq!(
        auth::sign_in(&b.store, &on_b, "nurse.amina", PW).await.unwrap_err(),
        hms_core::Error::InvalidCredentials
    );
    auth::sign_in(&b.store, &on_b, "nurse.amina", "Own#Choice2027").await.unwrap();
    let nurse_b = on_b.authorize(&b.store).await.unwrap();
    patients::register(&b.store, &nurse_b, patient("Neema", "+255 754 000 022")).await.unwrap();
    assert_eq!(sync::sync_now(&b.store).await.unwrap().push.set_aside, 0);
    synced(&a).await;
    assert_eq!(patient_named(&a, "Neema").await, 1);
}

/// Past user keys (issue 12): the nurse writes on A, offline; she changes her password on B,
/// which syncs first. A's write, signed with her old key and stamped before the change, still
/// goes through: the server takes it and B applies it. Her session on A ends once A has the
/// change, and her new password works there.
#[tokio::test]
async fn work_signed_before_a_password_change_made_elsewhere_still_syncs() {
    let (_server, a, b) = two_devices().await;
    let nurse = NewUser {
        username: "nurse.amina".into(),
        full_name: "Amina".into(),
        password: PW.into(),
        roles: vec!["receptionist".into()],
    };
    a.new_user(nurse).await;
    synced(&a).await;
    synced(&b).await;
    let (on_a, on_b) = (SessionSlot::default(), SessionSlot::default());
    auth::sign_in(&a.store, &on_a, "nurse.amina", PW).await.unwrap();
    auth::sign_in(&b.store, &on_b, "nurse.amina", PW).await.unwrap();
    let nurse_a = on_a.authorize(&a.store).await.unwrap();
    patients::register(&a.store, &nurse_a, patient("Subira", "+255 754 000 031")).await.unwrap();

    users::change_own_password(&b.store, &on_b, PW, "Own#Choice2027").await.unwrap();
    assert_eq!(sync::sync_now(&b.store).await.unwrap().push.set_aside, 0);

    let report = sync::sync_now(&a.store).await.unwrap();
    assert_eq!(report.push.set_aside, 0, "the old key still proves what was made before: {report:?}");
    assert_eq!(report.pull.refused, 0, "{report:?}");
    let pulled = sync::sync_now(&b.store).await.unwrap();
    assert_eq!(pulled.pull.refused, 0, "{pulled:?}");
    assert_eq!(patient_named(&b, "Subira").await, 1);
    // A has the change now: her session there ends; the new password signs in.
    assert!(matches!(on_a.authorize(&a.store).await, Err(hms_core::Error::SessionExpired)));
    auth::sign_in(&a.store, &on_a, "nurse.amina", "Own#Choice2027").await.unwrap();
}

async fn clock_of(device: &Device) -> sync::ClockCheck {
    sync::status(&device.store).await.unwrap().clock.expect("compared")
}

/// A PNG of about `bytes` bytes (random pixels do not compress), at most `bytes`.
fn noisy_png(bytes: usize) -> Vec<u8> {
    let width = 200u32;
    let height = u32::try_from(bytes / (width as usize * 3 + 1)).unwrap() - 1;
    let mut rng = fastrand::Rng::with_seed(7);
    let pixels: Vec<u8> = (0..width * height * 3).map(|_| rng.u8(..)).collect();
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fastest);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&pixels).unwrap();
    }
    out
}

/// The largest logo the core accepts goes to the other device in one change.
#[tokio::test]
async fn the_largest_allowed_logo_syncs() {
    let (_server, a, b) = two_devices().await;
    let logo = noisy_png(billing::MAX_LOGO_BYTES);
    assert!(logo.len() <= billing::MAX_LOGO_BYTES, "{} bytes", logo.len());
    assert!(logo.len() > billing::MAX_LOGO_BYTES - 2_048, "close to the limit: {} bytes", logo.len());
    let too_big = [logo.clone(), vec![0; billing::MAX_LOGO_BYTES + 1 - logo.len()]].concat();
    assert!(billing::set_logo(&a.store, &a.auth().await, Some(too_big)).await.is_err());
    billing::set_logo(&a.store, &a.auth().await, Some(logo)).await.unwrap();
    let pushed = synced(&a).await;
    assert_eq!(pushed.push.set_aside, 0);
    synced(&b).await;
    assert!(billing::billing_settings(&b.store, &b.auth().await).await.unwrap().has_logo);
    let value = |d: &Device| {
        let pool = d.store.pool().clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT value FROM settings WHERE key = 'clinic_logo'")
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(value(&a).await, value(&b).await);
}

/// The server's clock limit is its own (here 10 minutes, as `--max-clock-ahead-secs 600`
/// sets it); the device compares its clock with the server's on every sync and the status
/// says when it is wrong, either way.
#[tokio::test]
async fn a_device_is_told_when_its_clock_is_wrong() {
    let limits = Limits { max_clock_ahead_ms: 10 * 60 * 1000, ..Limits::default() };
    let server = TestServer::start_with(AppState { limits, ..AppState::new(common::test_store().await) }).await;
    admin::create_tenant(server.store(), TENANT).await.unwrap();
    let a = Device::new("admin").await;
    a.enrol(server.store(), &server.base, TENANT, "Reception PC").await;
    let real = chrono::Utc::now();
    synced(&a).await;
    let check = clock_of(&a).await;
    assert_eq!((check.verdict, check.limit_ms), (sync::ClockVerdict::Right, 5 * 60 * 1000));
    assert!(check.ahead_ms.unwrap().abs() < 5_000, "{check:?}");

    // 20 minutes behind: syncing works, but the device would refuse others' newest changes.
    a.store.set_now(Some(real - chrono::Duration::minutes(20)));
    synced(&a).await;
    let check = clock_of(&a).await;
    assert_eq!(check.verdict, sync::ClockVerdict::Behind, "{check:?}");
    let behind = -check.ahead_ms.unwrap();
    assert!((19 * 60_000..21 * 60_000).contains(&behind), "{check:?}");

    // 8 minutes ahead: within this server's limit (the push goes through), but more than
    // other devices take from it (5 minutes): wrong.
    a.store.set_now(Some(real + chrono::Duration::minutes(8)));
    patients::register(&a.store, &a.auth().await, patient("Amina", "+255 754 000 010")).await.unwrap();
    assert!(synced(&a).await.push.sent >= 1, "the server takes stamps 8 minutes ahead");
    let check = clock_of(&a).await;
    assert_eq!((check.verdict, check.limit_ms), (sync::ClockVerdict::Ahead, 5 * 60 * 1000), "{check:?}");
    assert!(check.ahead_ms.unwrap() > 7 * 60_000, "{check:?}");

    // 20 minutes ahead: the server refuses the push (clock_ahead), and the status says why.
    a.store.set_now(Some(real + chrono::Duration::minutes(20)));
    patients::register(&a.store, &a.auth().await, patient("Neema", "+255 754 000 011")).await.unwrap();
    let err = sync::sync_now(&a.store).await.unwrap_err();
    assert!(matches!(err, sync::SyncError::Server { code: Some(hms_protocol::ErrorCode::ClockAhead), .. }), "{err:?}");
    let check = clock_of(&a).await;
    assert_eq!((check.verdict, check.ahead_ms, check.limit_ms), (sync::ClockVerdict::Ahead, None, 10 * 60 * 1000));
}
