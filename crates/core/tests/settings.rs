//! Clinic-wide settings: defaults, validation naming the field, and the audit of a change.

mod common;

use hms_core::settings::{self, Settings};
use hms_core::Error;

#[tokio::test]
async fn settings_default_validate_and_are_audited() {
    let (env, admin) = common::with_admin().await;
    let a = admin.authorize(&env.store).await.unwrap();
    let s = settings::get(&env.store, &a).await.unwrap();
    assert_eq!(s, Settings { idle_timeout_minutes: 15, clinic_name: "HMS Clinic".into() });

    let before = common::counts(&env.store).await;
    for (bad, field) in [
        (Settings { idle_timeout_minutes: 0, clinic_name: "X".into() }, "idle_timeout_minutes"),
        (Settings { idle_timeout_minutes: 15, clinic_name: "   ".into() }, "clinic_name"),
        (Settings { idle_timeout_minutes: 15, clinic_name: "x".repeat(81) }, "clinic_name"),
    ] {
        let e = settings::update(&env.store, &a, bad).await.unwrap_err();
        assert!(matches!(e, Error::Validation { field: ref f, .. } if f == field), "{e:?}");
    }
    assert_eq!(common::counts(&env.store).await, before, "nothing written");

    let s = settings::update(
        &env.store,
        &a,
        Settings { idle_timeout_minutes: 30, clinic_name: "  Sunrise   Clinic ".into() },
    )
    .await
    .unwrap();
    assert_eq!(s.clinic_name, "Sunrise Clinic", "spaces are tidied");
    assert_eq!(hms_core::clinic::name(&env.store).await.unwrap(), "Sunrise Clinic");
    assert_eq!(common::actions(&env.store).await.last().map(String::as_str), Some("settings.update"));
}

#[tokio::test]
async fn the_clinic_time_zone_is_chosen_from_the_iana_zones_and_audited() {
    let (env, admin) = common::with_admin().await;
    let a = admin.authorize(&env.store).await.unwrap();
    let tz = settings::time_zone(&env.store, &a).await.unwrap();
    assert_eq!(tz.name, "UTC", "until set");
    for zone in ["Asia/Kolkata", "Africa/Dar_es_Salaam", "America/New_York", "UTC"] {
        assert!(tz.choices.iter().any(|c| c == zone), "{zone} is offered");
    }
    assert!(!tz.choices.iter().any(|c| c.starts_with("US/") || c.starts_with("Etc/")), "no legacy aliases");
    assert!(tz.choices.windows(2).all(|w| w[0] < w[1]), "sorted");

    let before = common::counts(&env.store).await;
    let e = settings::set_time_zone(&env.store, &a, "Mars/Olympus").await.unwrap_err();
    assert!(matches!(e, Error::Validation { ref field, .. } if field == "time_zone"), "{e:?}");
    assert_eq!(common::counts(&env.store).await, before, "nothing written");

    assert_eq!(settings::set_time_zone(&env.store, &a, " Asia/Kolkata ").await.unwrap(), "Asia/Kolkata");
    assert_eq!(settings::time_zone(&env.store, &a).await.unwrap().name, "Asia/Kolkata");
    assert_eq!(common::actions(&env.store).await.last().map(String::as_str), Some("settings.update"));

    // Settings are the administrator's.
    common::add_user(&env.store, &admin, "desk.tz", &["receptionist"]).await;
    let slot = hms_core::SessionSlot::default();
    hms_core::auth::sign_in(&env.store, &slot, "desk.tz", common::STAFF_PW).await.unwrap();
    let r = slot.authorize(&env.store).await.unwrap();
    assert!(matches!(settings::time_zone(&env.store, &r).await, Err(Error::Forbidden { .. })));
}
