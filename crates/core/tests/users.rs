//! Staff accounts: bad input is refused with the field named and nothing written.

mod common;

use hms_core::setup::{self, NewAdmin};
use hms_core::users::{self, NewUser, UserUpdate};
use hms_core::{auth, Error, SessionSlot, ValidationReason};

fn new_user(username: &str, name: &str, pw: &str, roles: &[&str]) -> NewUser {
    NewUser {
        username: username.into(),
        full_name: name.into(),
        password: pw.into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
    }
}

fn field_reason(e: Error) -> (String, ValidationReason) {
    match e {
        Error::Validation { field, reason, .. } => (field, reason),
        other => panic!("expected validation, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_writes_nothing() {
    let (env, admin) = common::with_admin().await;
    common::add_user(&env.store, &admin, "nurse1", &["nurse"]).await;
    let a = admin.authorize(&env.store).await.unwrap();
    let before = common::counts(&env.store).await;
    let long = "x".repeat(101);
    let cases = [
        (new_user("nurse2", "", common::STAFF_PW, &["nurse"]), "full_name", ValidationReason::Required),
        (new_user("nurse2", &long, common::STAFF_PW, &["nurse"]), "full_name", ValidationReason::TooLong),
        (new_user("", "N", common::STAFF_PW, &["nurse"]), "username", ValidationReason::Required),
        (new_user("NURSE1", "N", common::STAFF_PW, &["nurse"]), "username", ValidationReason::Taken),
        (new_user("nurse2", "N", "password", &["nurse"]), "password", ValidationReason::TooShort),
        (new_user("nurse2", "N", "passwordpassword", &["nurse"]), "password", ValidationReason::WeakPassword),
        (new_user("nurse2", "N", common::STAFF_PW, &["janitor"]), "roles", ValidationReason::Invalid),
        (new_user("nurse2", "N", common::STAFF_PW, &[]), "roles", ValidationReason::Required),
    ];
    for (input, field, reason) in cases {
        let got = field_reason(users::create(&env.store, &a, input).await.unwrap_err());
        assert_eq!(got, (field.to_string(), reason));
    }
    assert_eq!(common::counts(&env.store).await, before);
}

#[tokio::test]
async fn create_edit_deactivate_reactivate_and_reset() {
    let (env, admin) = common::with_admin().await;
    let a = admin.authorize(&env.store).await.unwrap();
    let u = users::create(&env.store, &a, new_user("Dr.Rao", " Vikram  Rao ", common::STAFF_PW, &["doctor", "nurse"]))
        .await
        .unwrap();
    assert_eq!((u.username.as_str(), u.full_name.as_str()), ("dr.rao", "Vikram Rao"));
    assert!(u.active);
    let edited = users::update(
        &env.store,
        &a,
        UserUpdate { user_id: u.id.clone(), full_name: "Dr. Vikram Rao".into(), roles: vec!["doctor".into()] },
    )
    .await
    .unwrap();
    assert_eq!(edited.full_name, "Dr. Vikram Rao");
    assert_eq!(edited.roles, vec![hms_core::rbac::Role::Doctor]);
    assert!(!users::set_active(&env.store, &a, &u.id, false).await.unwrap().active);
    assert!(users::set_active(&env.store, &a, &u.id, true).await.unwrap().active);

    let weak = users::reset_password(&env.store, &a, &u.id, "short").await.unwrap_err();
    assert_eq!(field_reason(weak).0, "new_password");
    users::reset_password(&env.store, &a, &u.id, "Fresh#Start2026").await.unwrap();
    let slot = SessionSlot::default();
    assert_eq!(
        auth::sign_in(&env.store, &slot, "dr.rao", common::STAFF_PW).await.unwrap_err(),
        Error::InvalidCredentials
    );
    auth::sign_in(&env.store, &slot, "dr.rao", "Fresh#Start2026").await.unwrap();

    let actions = common::actions(&env.store).await;
    for x in ["user.create", "user.update", "user.deactivate", "user.reactivate", "user.reset_password"] {
        assert!(actions.iter().any(|a| a == x), "missing {x}");
    }
    let details: Vec<String> =
        sqlx::query_scalar("SELECT detail FROM audit_log").fetch_all(env.store.pool()).await.unwrap();
    assert!(
        details.iter().all(|d| !d.contains("Fresh#Start2026") && !d.contains("argon2")),
        "no secrets in the audit log"
    );
}

#[tokio::test]
async fn the_last_administrator_cannot_be_removed() {
    let (env, admin) = common::with_admin().await;
    let a = admin.authorize(&env.store).await.unwrap();
    let me = a.user_id.clone();
    let demote = UserUpdate { user_id: me.clone(), full_name: "Asha".into(), roles: vec!["doctor".into()] };
    assert_eq!(users::update(&env.store, &a, demote.clone()).await.unwrap_err(), Error::LastAdmin);
    let other = common::add_user(&env.store, &admin, "admin2", &["admin"]).await;
    assert!(matches!(users::set_active(&env.store, &a, &me, false).await.unwrap_err(), Error::Validation { .. }));
    users::set_active(&env.store, &a, &other, false).await.unwrap();
    assert_eq!(users::update(&env.store, &a, demote.clone()).await.unwrap_err(), Error::LastAdmin);
    users::set_active(&env.store, &a, &other, true).await.unwrap();
    users::update(&env.store, &a, demote).await.unwrap();
}

/// A new clinic chooses at set-up whether to begin with the starter formulary and the starter
/// lab catalogue; they come in the same write as the administrator, and not at all when not
/// chosen.
#[tokio::test]
async fn a_new_clinic_chooses_the_starter_lists_at_set_up() {
    let admin = || NewAdmin { username: "admin".into(), full_name: "Asha".into(), password: common::ADMIN_PW.into() };
    let with = common::store().await;
    let slot = SessionSlot::default();
    setup::setup_clinic(
        &with.store,
        &slot,
        admin(),
        setup::Starters { formulary: true, lab_tests: true, ..Default::default() },
    )
    .await
    .unwrap();
    let entries = hms_core::clinical::formulary::entries().len();
    assert_eq!(common::count(&with.store, "medicines").await as usize, entries);
    let a = slot.authorize(&with.store).await.unwrap();
    let found = hms_core::clinical::prescribing::medicines(&with.store, &a, "").await.unwrap();
    assert_eq!(found.len(), entries, "the whole list is offered to the Prescribe dialog");
    let logged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM change_log WHERE entity = 'medicines'")
        .fetch_one(with.store.pool())
        .await
        .unwrap();
    assert_eq!(logged as usize, entries, "synced like medicines added by hand");
    let tests = hms_core::clinical::starter::starter_tests().unwrap().len();
    assert_eq!(common::count(&with.store, "lab_tests").await as usize, tests, "and the starter lab catalogue");
    // A refused set-up (a weak password) writes no medicines either.
    let refused = common::store().await;
    let weak = NewAdmin { password: "admin12345".into(), ..admin() };
    let all = setup::Starters { formulary: true, lab_tests: true, ..Default::default() };
    let err = setup::create_clinic(&refused.store, weak, all).await.unwrap_err();
    assert!(matches!(err, Error::Validation { .. }));
    assert_eq!(common::count(&refused.store, "medicines").await, 0);
    assert_eq!(common::count(&refused.store, "lab_tests").await, 0);

    let without = common::store().await;
    setup::setup_clinic(&without.store, &SessionSlot::default(), admin(), setup::Starters::default()).await.unwrap();
    assert_eq!(common::count(&without.store, "medicines").await, 0);
    assert_eq!(common::count(&without.store, "lab_tests").await, 0);
}

/// The clinic's time zone is chosen at set-up (the screen offers this computer's zone) and
/// stored in the same write as the administrator; a zone that is not one is refused and nothing
/// is written; none leaves UTC.
#[tokio::test]
async fn a_new_clinic_chooses_its_time_zone_at_set_up() {
    let admin = || NewAdmin { username: "admin".into(), full_name: "Asha".into(), password: common::ADMIN_PW.into() };
    let zone = |z: &str| setup::Starters { time_zone: Some(z.into()), ..Default::default() };
    assert!(hms_core::settings::time_zone_choices().iter().any(|z| z == "Africa/Dar_es_Salaam"));

    let chosen = common::store().await;
    let slot = SessionSlot::default();
    setup::setup_clinic(&chosen.store, &slot, admin(), zone(" Asia/Kolkata ")).await.unwrap();
    assert_eq!(hms_core::clinic::time_zone(&chosen.store).await.unwrap().name(), "Asia/Kolkata");
    let a = slot.authorize(&chosen.store).await.unwrap();
    let shown = hms_core::settings::time_zone(&chosen.store, &a).await.unwrap();
    assert_eq!(shown.name, "Asia/Kolkata", "Settings shows the zone chosen at set-up");
    let audited: String = sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'setup.first_admin'")
        .fetch_one(chosen.store.pool())
        .await
        .unwrap();
    assert!(audited.contains("Asia/Kolkata"), "the set-up's audit entry names the zone: {audited}");

    let refused = common::store().await;
    let err = setup::create_clinic(&refused.store, admin(), zone("Mars/Olympus_Mons")).await.unwrap_err();
    assert!(matches!(&err, Error::Validation { field, .. } if field == "time_zone"), "{err:?}");
    assert!(setup::needs_setup(&refused.store).await.unwrap(), "no administrator was created");

    let unset = common::store().await;
    setup::setup_clinic(&unset.store, &SessionSlot::default(), admin(), setup::Starters::default()).await.unwrap();
    assert_eq!(hms_core::clinic::time_zone(&unset.store).await.unwrap().name(), "UTC");
}

#[tokio::test]
async fn first_admin_setup_happens_once_and_demo_only_on_an_empty_store() {
    let env = common::store().await;
    assert!(setup::needs_setup(&env.store).await.unwrap());
    let slot = SessionSlot::default();
    let weak = setup::setup_first_admin(
        &env.store,
        &slot,
        NewAdmin { username: "admin".into(), full_name: "A".into(), password: "admin12345".into() },
    )
    .await
    .unwrap_err();
    assert!(matches!(weak, Error::Validation { .. }));
    assert_eq!(common::counts(&env.store).await, (0, 0, 0));
    let info = setup::setup_first_admin(
        &env.store,
        &slot,
        NewAdmin { username: "admin".into(), full_name: "Asha".into(), password: common::ADMIN_PW.into() },
    )
    .await
    .unwrap();
    assert_eq!(info.roles, vec![hms_core::rbac::Role::Admin]);
    let again = setup::create_first_admin(
        &env.store,
        NewAdmin { username: "admin2".into(), full_name: "B".into(), password: common::ADMIN_PW.into() },
    )
    .await;
    assert_eq!(again.unwrap_err(), Error::AlreadySetUp);
    assert_eq!(setup::load_demo(&env.store).await.unwrap_err(), Error::AlreadySetUp);

    let demo = common::store().await;
    let accounts = setup::load_demo(&demo.store).await.unwrap();
    assert_eq!(accounts.len(), 7);
    let slot = SessionSlot::default();
    for acc in &accounts {
        let info = auth::sign_in(&demo.store, &slot, &acc.username, &acc.password).await.unwrap();
        assert_eq!(info.roles, acc.roles);
    }
    // The demo has patients to find, including a likely duplicate pair and allergies.
    let a = slot.authorize(&demo.store).await.unwrap();
    let ravis = hms_core::patients::search(&demo.store, &a, "sharma ravi", 20).await.unwrap();
    assert_eq!(ravis.len(), 2);
    let zoe = hms_core::patients::search(&demo.store, &a, "zoe nunez", 20).await.unwrap();
    assert_eq!(zoe.len(), 1);
    // ... doctors with weekly sessions (Dr. Rao signs in as dr.rao), and a tariff to bill from.
    auth::sign_in(&demo.store, &slot, "admin", &accounts[0].password).await.unwrap();
    let a = slot.authorize(&demo.store).await.unwrap();
    let doctors = hms_core::schedule::staff::doctors(&demo.store, &a, None).await.unwrap();
    assert_eq!(doctors.len(), 2);
    assert!(doctors.iter().all(|d| d.fee_minor > 0));
    let sessions = hms_core::schedule::availability::weekly(&demo.store, &a, &doctors[0].id).await.unwrap();
    assert_eq!(sessions.len(), 12, "Mon–Sat, mornings and evenings");
    let tariff = hms_core::billing::tariff::services(&demo.store, &a, false).await.unwrap();
    assert!(tariff.iter().any(|s| s.code == "CONSULT"));
    // ... and the starter lab catalogue.
    let tests = hms_core::clinical::lab::lab_tests(&demo.store, &a).await.unwrap();
    assert!(tests.len() >= 60 && tests.iter().any(|t| t.code == "HB"), "{}", tests.len());
    // ... and the starter formulary, with ingredients.
    assert_eq!(common::count(&demo.store, "medicines").await as usize, hms_core::clinical::formulary::entries().len());
    let cotrim = hms_core::clinical::prescribing::medicines(&demo.store, &a, "sulfameth").await.unwrap();
    assert_eq!(cotrim[0].ingredients, ["Sulfamethoxazole", "Trimethoprim"]);
    // Found by what is in them, under the names doctors use.
    let names = |found: Vec<hms_core::clinical::model::Medicine>| found.into_iter().map(|m| m.name).collect::<Vec<_>>();
    let by_combination =
        names(hms_core::clinical::prescribing::medicines(&demo.store, &a, "cotrimoxazole").await.unwrap());
    assert!(by_combination.iter().any(|n| n.starts_with("Sulfamethoxazole")), "{by_combination:?}");
    let by_synonym = names(hms_core::clinical::prescribing::medicines(&demo.store, &a, "acetaminophen").await.unwrap());
    assert!(!by_synonym.is_empty() && by_synonym.iter().all(|n| n.contains("Paracetamol")), "{by_synonym:?}");
    let by_spelling = names(hms_core::clinical::prescribing::medicines(&demo.store, &a, "amoxycillin").await.unwrap());
    assert!(by_spelling.iter().any(|n| n.starts_with("Amoxicillin")), "{by_spelling:?}");
    assert!(hms_core::clinical::prescribing::medicines(&demo.store, &a, "xq").await.unwrap().is_empty());
}

#[tokio::test]
async fn the_demo_hospital_stays_home_and_its_sign_in_screen_names_its_accounts() {
    use hms_core::sync::{self, SyncError};
    let demo = common::store().await;
    setup::load_demo(&demo.store).await.unwrap();
    let slot = SessionSlot::default();
    let status = setup::status(&demo.store, &slot).await.unwrap();
    assert_eq!(status.demo_accounts, setup::demo_accounts());
    assert!(status.demo_accounts.iter().any(|a| a.username == "admin" && a.password == setup::DEMO_PASSWORD));

    // Enrolling is refused before any request is made (no server listens at this address).
    auth::sign_in(&demo.store, &slot, "admin", setup::DEMO_PASSWORD).await.unwrap();
    let admin = slot.authorize(&demo.store).await.unwrap();
    let refused = sync::enrol(&demo.store, &admin, "http://127.0.0.1:9", "ABCD-EFGH", "Front desk").await;
    assert_eq!(refused.unwrap_err(), SyncError::DemoData);
    assert!(matches!(
        Error::from(SyncError::DemoData),
        Error::Sync { failure: hms_core::error::SyncFailure::DemoData, .. }
    ));
    // ... and so is every exchange, even with an enrolment written behind the app's back.
    for (key, value) in [("sync_server_url", "http://127.0.0.1:9"), ("sync_token", "stolen")] {
        sqlx::query("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)")
            .bind(key)
            .bind(value)
            .execute(demo.store.pool())
            .await
            .unwrap();
    }
    assert_eq!(sync::sync_now(&demo.store).await.unwrap_err(), SyncError::DemoData);
    // (A token an older version kept in clear was sealed with the device key file on first use.)
    let kept: String = sqlx::query_scalar("SELECT value FROM meta WHERE key = 'sync_token'")
        .fetch_one(demo.store.pool())
        .await
        .unwrap();
    assert!(kept.starts_with("v1.") && !kept.contains("stolen"), "{kept}");

    // A real clinic shows no hint.
    let (env, slot) = common::with_admin().await;
    assert!(setup::status(&env.store, &slot).await.unwrap().demo_accounts.is_empty());
}

/// A user changes their own password: the old one must be theirs (a wrong one counts towards
/// the lockout), the new one passes the rules; the session goes on, the old password no longer
/// signs in, the change log carries only the password, key and salt, and the audit no secret.
#[tokio::test]
async fn a_user_changes_their_own_password() {
    let (env, admin) = common::with_admin().await;
    let nurse_id = common::add_user(&env.store, &admin, "nurse1", &["nurse"]).await;
    let slot = SessionSlot::default();
    auth::sign_in(&env.store, &slot, "nurse1", common::STAFF_PW).await.unwrap();

    let wrong = users::change_own_password(&env.store, &slot, "Not#mine2026x", "Brand#New2026pw").await.unwrap_err();
    assert_eq!(field_reason(wrong), ("old_password".to_string(), ValidationReason::Invalid));
    let a = admin.authorize(&env.store).await.unwrap();
    let listed = users::list(&env.store, &a).await.unwrap();
    assert_eq!(listed.iter().find(|u| u.id == nurse_id).unwrap().failed_attempts, 1, "counted like a sign-in");
    let weak = users::change_own_password(&env.store, &slot, common::STAFF_PW, "short").await.unwrap_err();
    assert_eq!(field_reason(weak).0, "new_password");
    let same = users::change_own_password(&env.store, &slot, common::STAFF_PW, common::STAFF_PW).await.unwrap_err();
    assert_eq!(field_reason(same).0, "new_password");

    let key_before: Option<String> = sqlx::query_scalar("SELECT user_key FROM users WHERE id = ?")
        .bind(&nurse_id)
        .fetch_one(env.store.pool())
        .await
        .unwrap();
    let info = users::change_own_password(&env.store, &slot, common::STAFF_PW, "Brand#New2026pw").await.unwrap();
    assert_eq!(info.user_id, nurse_id);
    // The session goes on, with the new key.
    slot.authorize(&env.store).await.unwrap();
    let key_after: Option<String> = sqlx::query_scalar("SELECT user_key FROM users WHERE id = ?")
        .bind(&nurse_id)
        .fetch_one(env.store.pool())
        .await
        .unwrap();
    assert_ne!(key_before, key_after);
    let listed = users::list(&env.store, &a).await.unwrap();
    assert_eq!(listed.iter().find(|u| u.id == nurse_id).unwrap().failed_attempts, 0);

    // What syncs: the password, the key and its salt, and that it is the owner's own (not
    // temporary: always sent with a new password), nothing else of the row.
    let data: String = sqlx::query_scalar(
        "SELECT data FROM change_log WHERE entity = 'users' AND entity_id = ? ORDER BY seq DESC LIMIT 1",
    )
    .bind(&nurse_id)
    .fetch_one(env.store.pool())
    .await
    .unwrap();
    let data: serde_json::Value = serde_json::from_str(&data).unwrap();
    let mut fields: Vec<&str> = data.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["id", "key_salt", "must_change_password", "password_hash", "updated_at", "updated_by", "user_key"]
    );
    assert_eq!(data["must_change_password"], false);

    auth::sign_out(&env.store, &slot).await.unwrap();
    assert_eq!(
        auth::sign_in(&env.store, &slot, "nurse1", common::STAFF_PW).await.unwrap_err(),
        Error::InvalidCredentials
    );
    auth::sign_in(&env.store, &slot, "nurse1", "Brand#New2026pw").await.unwrap();
    assert!(common::actions(&env.store).await.iter().any(|a| a == "user.change_password"));
    let details: Vec<String> =
        sqlx::query_scalar("SELECT detail FROM audit_log").fetch_all(env.store.pool()).await.unwrap();
    assert!(details.iter().all(|d| !d.contains("Brand#New2026pw") && !d.contains("argon2")), "no secrets");
}

/// A password an administrator sets is temporary: signed in with it, the user may do nothing
/// but change it (`password_change_required`); once changed, they work. A reset makes it
/// temporary again. The first administrator chose their own password at set-up.
#[tokio::test]
async fn a_password_an_administrator_sets_is_temporary() {
    let (env, admin) = common::with_admin().await;
    assert!(!admin.info(&env.store).await.unwrap().unwrap().must_change_password, "set-up's own password");
    let a = admin.authorize(&env.store).await.unwrap();
    let u =
        users::create(&env.store, &a, new_user("nurse9", "Nurse Nine", common::STAFF_PW, &["nurse"])).await.unwrap();
    assert!(u.must_change_password);

    let slot = SessionSlot::default();
    let info = auth::sign_in(&env.store, &slot, "nurse9", common::STAFF_PW).await.unwrap();
    assert!(info.must_change_password);
    assert_eq!(slot.authorize(&env.store).await.unwrap_err(), Error::PasswordChangeRequired);
    assert_eq!(Error::PasswordChangeRequired.code(), "password_change_required");
    // Keeping the session alive still works.
    auth::heartbeat(&env.store, &slot).await.unwrap();
    let info = users::change_own_password(&env.store, &slot, common::STAFF_PW, "Mine#Own2027x").await.unwrap();
    assert!(!info.must_change_password);
    slot.authorize(&env.store).await.unwrap();
    let listed = users::list(&env.store, &a).await.unwrap();
    assert!(!listed.iter().find(|x| x.id == u.id).unwrap().must_change_password);

    users::reset_password(&env.store, &a, &u.id, "Fresh#Start2027").await.unwrap();
    assert!(matches!(slot.authorize(&env.store).await, Err(Error::SessionExpired)), "a reset ends the session");
    let info = auth::sign_in(&env.store, &slot, "nurse9", "Fresh#Start2027").await.unwrap();
    assert!(info.must_change_password);
    assert_eq!(slot.authorize(&env.store).await.unwrap_err(), Error::PasswordChangeRequired);
}
