//! Clinic-wide settings: defaults, validation naming the field, and the audit of a change;
//! the locale and hour cycle dates and times are written in (and the printouts that use them).

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

/// Found by the convergence test: a setting's first write left its `created_at` out of the
/// change, so every other device dated the row by the change's stamp instead of the writer's
/// clock, and the devices' rows differed.
#[tokio::test]
async fn a_new_setting_sends_the_created_at_it_was_written_with() {
    let (env, admin) = common::with_admin().await;
    // The store's clock and the stamps' (the real clock) differ, as after a faster device's change.
    env.store.set_now(Some(chrono::DateTime::parse_from_rfc3339("2026-11-22T02:30:00Z").unwrap().into()));
    let a = admin.authorize(&env.store).await.unwrap();
    settings::update(&env.store, &a, Settings { idle_timeout_minutes: 40, clinic_name: "Mlimani".into() })
        .await
        .unwrap();
    for key in ["idle_timeout_minutes", "clinic_name"] {
        let row: String = sqlx::query_scalar("SELECT created_at FROM settings WHERE key = ?")
            .bind(key)
            .fetch_one(env.store.pool())
            .await
            .unwrap();
        let sent: String = sqlx::query_scalar(
            "SELECT data ->> '$.created_at' FROM change_log WHERE entity = 'settings' AND entity_id = ? AND op = 'insert'",
        )
        .bind(key)
        .fetch_one(env.store.pool())
        .await
        .unwrap();
        assert_eq!((row.as_str(), sent.as_str()), ("2026-11-22T02:30:00.000Z", "2026-11-22T02:30:00.000Z"), "{key}");
    }
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

#[tokio::test]
async fn the_clinic_locale_and_hour_cycle_default_to_en_in_24_hour_are_validated_audited_and_the_administrators() {
    use hms_core::settings::{ClinicFormats, HourCycle};
    let (env, admin) = common::with_admin().await;
    let s = &env.store;

    // Before sign-in: the defaults, with no zone of the clinic's.
    let nobody = hms_core::SessionSlot::default();
    let f = settings::formats(s, &nobody).await.unwrap();
    assert_eq!(f, ClinicFormats::defaults());
    assert_eq!((f.locale.as_str(), f.hour_cycle, f.time_zone.as_deref()), ("en-IN", HourCycle::H24, None));
    for tag in ["en-IN", "en-GB", "en-US", "hi-IN"] {
        assert!(f.locales.iter().any(|l| l == tag), "{tag} is offered");
    }

    // Signed in, not yet chosen: en-IN, 24-hour, in the clinic's zone.
    let a = admin.authorize(s).await.unwrap();
    settings::set_time_zone(s, &a, "Asia/Kolkata").await.unwrap();
    let f = settings::formats(s, &admin).await.unwrap();
    assert_eq!(
        (f.locale.as_str(), f.hour_cycle, f.time_zone.as_deref()),
        ("en-IN", HourCycle::H24, Some("Asia/Kolkata"))
    );

    // Validated: only a locale on the list, and nothing written otherwise.
    let before = common::counts(s).await;
    for bad in ["fr-FR", "C", "", "en_IN.UTF-8", "en-IN-x-anything"] {
        let e = settings::set_formats(s, &a, bad, HourCycle::H12).await.unwrap_err();
        assert!(matches!(e, Error::Validation { ref field, .. } if field == "locale"), "{bad:?}: {e:?}");
    }
    assert_eq!(common::counts(s).await, before, "nothing written");

    // Set (spelled loosely, stored as the list spells it) and audited with before and after.
    let f = settings::set_formats(s, &a, " en-us ", HourCycle::H12).await.unwrap();
    assert_eq!((f.locale.as_str(), f.hour_cycle), ("en-US", HourCycle::H12));
    assert_eq!(common::actions(s).await.last().map(String::as_str), Some("settings.update"));
    let detail: String =
        sqlx::query_scalar("SELECT detail FROM audit_log ORDER BY seq DESC LIMIT 1").fetch_one(s.pool()).await.unwrap();
    let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(detail["before"], serde_json::json!({ "locale": "en-IN", "hour_cycle": "h24" }));
    assert_eq!(detail["after"], serde_json::json!({ "locale": "en-US", "hour_cycle": "h12" }));

    // Any signed-in user reads them; only the administrator changes them.
    common::add_user(s, &admin, "desk.fmt", &["receptionist"]).await;
    let desk = hms_core::SessionSlot::default();
    hms_core::auth::sign_in(s, &desk, "desk.fmt", common::STAFF_PW).await.unwrap();
    let f = settings::formats(s, &desk).await.unwrap();
    assert_eq!(
        (f.locale.as_str(), f.hour_cycle, f.time_zone.as_deref()),
        ("en-US", HourCycle::H12, Some("Asia/Kolkata"))
    );
    let r = desk.authorize(s).await.unwrap();
    let before = common::counts(s).await;
    let e = settings::set_formats(s, &r, "en-GB", HourCycle::H24).await.unwrap_err();
    assert!(matches!(e, Error::Forbidden { .. }), "{e:?}");
    assert_eq!(common::counts(s).await, before, "nothing written");
}

#[tokio::test]
async fn an_invoice_is_dated_in_the_clinic_zone_and_locale_order_not_by_its_utc_date() {
    use hms_core::billing::{bills, invoice_pdf, LineInput};
    use hms_core::settings::HourCycle;
    let (env, admin) = common::with_admin().await;
    let s = &env.store;
    let a = admin.authorize(s).await.unwrap();
    settings::set_time_zone(s, &a, "Asia/Kolkata").await.unwrap();
    // 20:00 UTC on 4 March is 01:30 on 5 March in Kolkata.
    s.set_now(Some(chrono::DateTime::parse_from_rfc3339("2026-03-04T20:00:00Z").unwrap().to_utc()));
    let patient = hms_core::patients::register(
        s,
        &a,
        hms_core::patients::PatientInput {
            given_name: "Ravi".into(),
            family_name: "Sharma".into(),
            sex: "male".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let bill = bills::open_bill(s, &a, &patient.id).await.unwrap();
    let line = LineInput {
        service_id: None,
        description: "Dressing".into(),
        quantity: 1,
        unit_price_minor: Some(20_000),
        discount: hms_core::billing::money::Discount::None,
    };
    bills::add_line(s, &a, &bill.id, line).await.unwrap();
    bills::finalize(s, &a, &bill.id).await.unwrap();

    let text = |pdf: &[u8]| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("invoice.pdf");
        std::fs::write(&path, pdf).unwrap();
        let out = std::process::Command::new("pdftotext").args(["-layout"]).arg(&path).arg("-").output();
        match out {
            Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
            _ => panic!("pdftotext (poppler-utils) is needed: make deps installs it"),
        }
    };
    let en_in = text(&invoice_pdf::invoice_pdf(s, &a, &bill.id).await.unwrap().pdf);
    assert!(en_in.contains("05/03/2026"), "dd/mm/yyyy on the clinic's day:\n{en_in}");
    assert!(!en_in.contains("04/03/2026") && !en_in.contains("Mar 2026"), "not the UTC date:\n{en_in}");

    settings::set_formats(s, &a, "en-US", HourCycle::H12).await.unwrap();
    let en_us = text(&invoice_pdf::invoice_pdf(s, &a, &bill.id).await.unwrap().pdf);
    assert!(en_us.contains("03/05/2026"), "mm/dd/yyyy for en-US:\n{en_us}");
}
