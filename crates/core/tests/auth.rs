//! Signing in, back-off and lockout, idle lock, expiry; every outcome audited.

mod common;

use chrono::{Duration, Utc};
use hms_core::auth;
use hms_core::settings::{self, Settings};
use hms_core::users;
use hms_core::{Error, SessionSlot};

#[tokio::test]
async fn sign_in_success_and_failure_are_audited() {
    let (env, admin) = common::with_admin().await;
    common::add_user(&env.store, &admin, "reception", &["receptionist"]).await;
    let slot = SessionSlot::default();
    let err = auth::sign_in(&env.store, &slot, "reception", "Wrong#pass123").await.unwrap_err();
    assert_eq!(err, Error::InvalidCredentials);
    assert!(slot.get().is_none());
    let err = auth::sign_in(&env.store, &slot, "nobody", "Wrong#pass123").await.unwrap_err();
    assert_eq!(err, Error::InvalidCredentials, "unknown users look the same as wrong passwords");
    let info = auth::sign_in(&env.store, &slot, "  Reception ", common::STAFF_PW).await.unwrap();
    assert_eq!(info.username, "reception");
    use hms_core::rbac::Area;
    assert!(
        info.areas.contains(&Area::Patients) && info.areas.contains(&Area::Appointments),
        "a receptionist has patients and appointments"
    );
    assert!(
        !info.areas.iter().any(|a| matches!(a, Area::Users | Area::Audit | Area::Settings | Area::Staff)),
        "no admin areas"
    );
    let actions = common::actions(&env.store).await;
    let tail: Vec<&str> = actions.iter().rev().take(3).rev().map(String::as_str).collect();
    assert_eq!(tail, ["auth.sign_in_failed", "auth.sign_in_failed", "auth.sign_in"]);
}

#[tokio::test]
async fn repeated_failures_back_off_then_lock_and_admin_unlocks() {
    let (env, admin) = common::with_admin().await;
    let id = common::add_user(&env.store, &admin, "nurse1", &["nurse"]).await;
    let t0 = Utc::now();
    env.store.set_now(Some(t0));
    let slot = SessionSlot::default();
    let bad = "Wrong#pass123";
    for _ in 0..3 {
        assert_eq!(auth::sign_in(&env.store, &slot, "nurse1", bad).await.unwrap_err(), Error::InvalidCredentials);
    }
    // Back-off: even the right password must wait.
    assert_eq!(
        auth::sign_in(&env.store, &slot, "nurse1", common::STAFF_PW).await.unwrap_err(),
        Error::RetryLater { seconds: 2 }
    );
    env.store.set_now(Some(t0 + Duration::seconds(2)));
    assert_eq!(auth::sign_in(&env.store, &slot, "nurse1", bad).await.unwrap_err(), Error::InvalidCredentials);
    env.store.set_now(Some(t0 + Duration::seconds(6)));
    let locked = auth::sign_in(&env.store, &slot, "nurse1", bad).await.unwrap_err();
    assert!(matches!(locked, Error::AccountLocked { .. }), "{locked:?}");
    env.store.set_now(Some(t0 + Duration::seconds(60)));
    assert!(matches!(
        auth::sign_in(&env.store, &slot, "nurse1", common::STAFF_PW).await.unwrap_err(),
        Error::AccountLocked { .. }
    ));
    let summary = users::list(&env.store, &admin.authorize(&env.store).await.unwrap())
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.id == id)
        .unwrap();
    assert!(summary.locked_until.is_some());
    assert_eq!(summary.failed_attempts, 5);

    let auth_admin = admin.authorize(&env.store).await.unwrap();
    let unlocked = users::unlock(&env.store, &auth_admin, &id).await.unwrap();
    assert!(unlocked.locked_until.is_none() && unlocked.failed_attempts == 0);
    auth::sign_in(&env.store, &slot, "nurse1", common::STAFF_PW).await.unwrap();

    let actions = common::actions(&env.store).await;
    for a in ["auth.sign_in_failed", "auth.sign_in_refused", "auth.account_locked", "user.unlock", "auth.sign_in"] {
        assert!(actions.iter().any(|x| x == a), "missing {a} in {actions:?}");
    }
}

#[tokio::test]
async fn the_lock_runs_out_after_fifteen_minutes() {
    let (env, admin) = common::with_admin().await;
    common::add_user(&env.store, &admin, "nurse1", &["nurse"]).await;
    let t0 = Utc::now();
    let slot = SessionSlot::default();
    // Five wrong passwords, spaced past the back-off: the fifth (at t0+40 s) locks.
    for i in 0..4 {
        env.store.set_now(Some(t0 + Duration::seconds(i * 10)));
        let err = auth::sign_in(&env.store, &slot, "nurse1", "Wrong#pass123").await.unwrap_err();
        assert_eq!(err, Error::InvalidCredentials, "failure {}", i + 1);
    }
    let locked_at = t0 + Duration::seconds(40);
    env.store.set_now(Some(locked_at));
    let err = auth::sign_in(&env.store, &slot, "nurse1", "Wrong#pass123").await.unwrap_err();
    assert!(matches!(err, Error::AccountLocked { .. }), "{err:?}");
    // 14 minutes on, even the right password is refused: the account is still locked.
    env.store.set_now(Some(locked_at + Duration::minutes(14)));
    let err = auth::sign_in(&env.store, &slot, "nurse1", common::STAFF_PW).await.unwrap_err();
    assert!(matches!(err, Error::AccountLocked { .. }), "{err:?}");
    assert!(slot.get().is_none());
    // At 15 minutes the lock has run out.
    env.store.set_now(Some(locked_at + Duration::minutes(15)));
    auth::sign_in(&env.store, &slot, "nurse1", common::STAFF_PW).await.unwrap();
    assert!(slot.get().is_some());
}

#[tokio::test]
async fn idle_sessions_lock_keep_their_state_and_unlock_with_the_password() {
    let (env, slot) = common::with_admin().await;
    let t0 = Utc::now();
    env.store.set_now(Some(t0));
    let auth = slot.authorize(&env.store).await.unwrap();
    settings::update(&env.store, &auth, Settings { idle_timeout_minutes: 5, clinic_name: "Sunrise Clinic".into() })
        .await
        .unwrap();
    env.store.set_now(Some(t0 + Duration::minutes(4)));
    slot.authorize(&env.store).await.unwrap();
    // 5 idle minutes after the last activity (at t0+4) the session locks.
    env.store.set_now(Some(t0 + Duration::minutes(9)));
    assert_eq!(slot.authorize(&env.store).await.unwrap_err(), Error::SessionLocked);
    assert!(slot.get().unwrap().locked, "the session is kept, locked");
    assert_eq!(auth::unlock(&env.store, &slot, "Wrong#pass123").await.unwrap_err(), Error::InvalidCredentials);
    let info = auth::unlock(&env.store, &slot, common::ADMIN_PW).await.unwrap();
    assert!(!info.locked);
    slot.authorize(&env.store).await.unwrap();
    let actions = common::actions(&env.store).await;
    assert!(actions.iter().any(|a| a == "auth.session_locked"));
    assert!(actions.iter().any(|a| a == "auth.session_unlocked"));
}

#[tokio::test]
async fn no_session_expired_session_and_deactivated_users_are_refused() {
    let (env, admin) = common::with_admin().await;
    let nobody = SessionSlot::default();
    assert_eq!(nobody.authorize(&env.store).await.unwrap_err(), Error::NotSignedIn);

    let t0 = Utc::now();
    env.store.set_now(Some(t0));
    let id = common::add_user(&env.store, &admin, "nurse1", &["nurse"]).await;
    let nurse = SessionSlot::default();
    auth::sign_in(&env.store, &nurse, "nurse1", common::STAFF_PW).await.unwrap();
    let a = admin.authorize(&env.store).await.unwrap();
    settings::update(&env.store, &a, Settings { idle_timeout_minutes: 240, clinic_name: "Sunrise Clinic".into() })
        .await
        .unwrap();
    // Stay active (hourly heartbeats) for 12 hours: the session still expires.
    for h in 1..12 {
        env.store.set_now(Some(t0 + Duration::hours(h)));
        auth::heartbeat(&env.store, &nurse).await.unwrap();
    }
    env.store.set_now(Some(t0 + Duration::hours(12)));
    assert_eq!(nurse.authorize(&env.store).await.unwrap_err(), Error::SessionExpired);
    assert!(nurse.get().is_none());

    env.store.set_now(None);
    let admin2 = SessionSlot::default();
    auth::sign_in(&env.store, &admin2, "admin", common::ADMIN_PW).await.unwrap();
    auth::sign_in(&env.store, &nurse, "nurse1", common::STAFF_PW).await.unwrap();
    let a = admin2.authorize(&env.store).await.unwrap();
    users::set_active(&env.store, &a, &id, false).await.unwrap();
    // The deactivation ends the nurse's live session at the next command...
    assert_eq!(nurse.authorize(&env.store).await.unwrap_err(), Error::AccountInactive);
    // ...and the account cannot sign in, even with the right password.
    let before = common::counts(&env.store).await;
    assert_eq!(
        auth::sign_in(&env.store, &nurse, "nurse1", common::STAFF_PW).await.unwrap_err(),
        Error::AccountInactive
    );
    let after = common::counts(&env.store).await;
    assert_eq!((after.0, after.1), (before.0, before.1), "only the refusal's audit entry is written");
    users::set_active(&env.store, &a, &id, true).await.unwrap();
    auth::sign_in(&env.store, &nurse, "nurse1", common::STAFF_PW).await.unwrap();
}

#[tokio::test]
async fn sign_out_clears_the_session() {
    let (env, slot) = common::with_admin().await;
    auth::sign_out(&env.store, &slot).await.unwrap();
    assert_eq!(slot.authorize(&env.store).await.unwrap_err(), Error::NotSignedIn);
    assert_eq!(common::actions(&env.store).await.last().unwrap(), "auth.sign_out");
}
