//! Patients: registration with MRNs, validation, duplicates, search, opening (audited), edits.

mod common;

use hms_core::patients::{self, MatchKind, PatientInput, PatientStatus};
use hms_core::store::Store;
use hms_core::{Error, SessionSlot, ValidationReason};

fn input(given: &str, family: &str, dob: &str, phone: &str) -> PatientInput {
    PatientInput {
        given_name: given.into(),
        family_name: family.into(),
        sex: "female".into(),
        birth_date: (!dob.is_empty()).then(|| dob.to_string()),
        phones: if phone.is_empty() { vec![] } else { vec![phone.into()] },
        ..Default::default()
    }
}

async fn desk() -> (common::Env, SessionSlot) {
    let (env, admin) = common::with_admin().await;
    common::add_user(&env.store, &admin, "reception", &["receptionist"]).await;
    let slot = SessionSlot::default();
    hms_core::auth::sign_in(&env.store, &slot, "reception", common::STAFF_PW).await.unwrap();
    (env, slot)
}

async fn register(store: &Store, slot: &SessionSlot, i: PatientInput) -> patients::Patient {
    let a = slot.authorize(store).await.unwrap();
    patients::register(store, &a, i).await.unwrap()
}

async fn find(store: &Store, slot: &SessionSlot, q: &str) -> Vec<patients::PatientHit> {
    let a = slot.authorize(store).await.unwrap();
    patients::search(store, &a, q, 20).await.unwrap()
}

#[tokio::test]
async fn registration_mints_sequential_mrns_with_the_device_prefix() {
    let (env, slot) = desk().await;
    let a = register(&env.store, &slot, input("Ravi", "Sharma", "1980-04-02", "98450 12345")).await;
    let b = register(&env.store, &slot, input("Anita", "Rao", "", "")).await;
    let (pa, na) = a.mrn.split_once('-').unwrap();
    let (pb, nb) = b.mrn.split_once('-').unwrap();
    assert_eq!(pa, pb);
    assert_eq!((na, nb), ("000001", "000002"));
    assert_eq!(a.phones, vec!["9845012345"]);
    let (changes, audits): (i64, Vec<String>) =
        (common::count(&env.store, "change_log").await, common::actions(&env.store).await);
    assert!(changes >= 4);
    assert_eq!(audits.iter().filter(|x| *x == "patient.register").count(), 2);
}

#[tokio::test]
async fn two_devices_minting_offline_never_collide() {
    let (one, s1) = desk().await;
    let (two, s2) = desk().await;
    let mut all = std::collections::HashSet::new();
    for i in 0..20 {
        assert!(all.insert(register(&one.store, &s1, input(&format!("A{i}"), "X", "", "")).await.mrn));
        assert!(all.insert(register(&two.store, &s2, input(&format!("B{i}"), "Y", "", "")).await.mrn));
    }
    assert_eq!(all.len(), 40);
}

#[tokio::test]
async fn bad_input_names_the_field_and_writes_nothing() {
    let (env, slot) = desk().await;
    let a = slot.authorize(&env.store).await.unwrap();
    let before = common::count(&env.store, "patients").await;
    let future = (chrono::Utc::now() + chrono::Duration::days(2)).format("%Y-%m-%d").to_string();
    let cases: Vec<(PatientInput, &str, ValidationReason)> = vec![
        (input("", "Sharma", "", ""), "given_name", ValidationReason::Required),
        (input(&"x".repeat(81), "Sharma", "", ""), "given_name", ValidationReason::TooLong),
        // Overlong input is refused with the field and its limit, never cut to fit.
        (input(&"x".repeat(500), "Sharma", "", ""), "given_name", ValidationReason::TooLong),
        (input("Ravi", &"y".repeat(81), "", ""), "family_name", ValidationReason::TooLong),
        (
            PatientInput { address: "a".repeat(501), ..input("Ravi", "Sharma", "", "") },
            "address",
            ValidationReason::TooLong,
        ),
        (
            PatientInput { notes: "n".repeat(4001), ..input("Ravi", "Sharma", "", "") },
            "notes",
            ValidationReason::TooLong,
        ),
        (
            PatientInput { national_id: "1".repeat(41), ..input("Ravi", "Sharma", "", "") },
            "national_id",
            ValidationReason::TooLong,
        ),
        (input("Ravi", "Sharma", &future, ""), "birth_date", ValidationReason::OutOfRange),
        (input("Ravi", "Sharma", "1850-01-01", ""), "birth_date", ValidationReason::OutOfRange),
        (input("Ravi", "Sharma", "02/04/1980", ""), "birth_date", ValidationReason::Invalid),
        (input("Ravi", "Sharma", "", "98x50"), "phones.0", ValidationReason::Invalid),
        (input("Ravi", "Sharma", "", "123"), "phones.0", ValidationReason::Invalid),
        (PatientInput { sex: "robot".into(), ..input("Ravi", "Sharma", "", "") }, "sex", ValidationReason::Invalid),
        (
            PatientInput { age_years: Some(131), ..input("Ravi", "Sharma", "", "") },
            "age_years",
            ValidationReason::OutOfRange,
        ),
        (
            PatientInput { blood_group: "C+".into(), ..input("Ravi", "Sharma", "", "") },
            "blood_group",
            ValidationReason::Invalid,
        ),
    ];
    for (i, field, reason) in cases {
        match patients::register(&env.store, &a, i).await {
            Err(Error::Validation { field: f, reason: r, message }) => {
                assert_eq!((f.as_str(), r), (field, reason));
                if r == ValidationReason::TooLong {
                    assert!(message.contains("at most"), "{field}: the limit is named: {message}");
                }
            }
            other => panic!("{field}: {other:?}"),
        }
    }
    assert_eq!(common::count(&env.store, "patients").await, before);
}

#[tokio::test]
async fn an_estimated_age_is_stored_as_an_estimated_birth_date() {
    let (env, slot) = desk().await;
    let p = register(&env.store, &slot, PatientInput { age_years: Some(40), ..input("Ravi", "Sharma", "", "") }).await;
    assert!(p.birth_date_estimated);
    let year: i32 = p.birth_date.unwrap()[..4].parse().unwrap();
    assert_eq!(year, chrono::Utc::now().date_naive().format("%Y").to_string().parse::<i32>().unwrap() - 40);
}

#[tokio::test]
async fn search_by_name_parts_in_any_order_case_and_accents() {
    let (env, slot) = desk().await;
    let ravi = register(
        &env.store,
        &slot,
        PatientInput { other_names: "Kumar".into(), ..input("Ravi", "Sharma", "1980-04-02", "9845012345") },
    )
    .await;
    register(&env.store, &slot, input("Ravindra", "Patil", "1975-01-01", "")).await;
    let zoe = register(&env.store, &slot, input("Zoë", "Núñez", "1990-05-05", "")).await;
    for q in ["sharma ravi", "RAVI", "rav sha", "kumar", "Ravi Kumar Sharma", "ku sh"] {
        let hits = find(&env.store, &slot, q).await;
        assert_eq!(hits.first().map(|h| h.id.as_str()), Some(ravi.id.as_str()), "query {q:?}: {hits:?}");
    }
    assert_eq!(find(&env.store, &slot, "rav").await.len(), 2, "prefix matches both Ravi and Ravindra");
    assert_eq!(find(&env.store, &slot, "ravi").await[0].id, ravi.id, "whole word before prefix");
    assert_eq!(find(&env.store, &slot, "zoe nunez").await[0].id, zoe.id);
    assert_eq!(find(&env.store, &slot, "ZOË").await[0].id, zoe.id);
    assert!(find(&env.store, &slot, "nobody here").await.is_empty());
    assert!(find(&env.store, &slot, "\"*) OR (").await.is_empty(), "FTS syntax is not injected");
}

#[tokio::test]
async fn search_by_mrn_phone_fragment_and_id_number_ranks_exact_first() {
    let (env, slot) = desk().await;
    let p = register(
        &env.store,
        &slot,
        PatientInput { national_id: "abcd1234".into(), ..input("Ravi", "Sharma", "", "+91 98450 12345") },
    )
    .await;
    let q = register(&env.store, &slot, input("Anita", "Rao", "", "98450-99999")).await;
    let by_mrn = find(&env.store, &slot, &p.mrn.to_lowercase()).await;
    assert_eq!((by_mrn[0].id.as_str(), by_mrn[0].matched), (p.id.as_str(), MatchKind::Mrn));
    let by_phone = find(&env.store, &slot, "919845012345").await;
    assert_eq!((by_phone[0].id.as_str(), by_phone[0].matched), (p.id.as_str(), MatchKind::Phone));
    let part = find(&env.store, &slot, "98450").await;
    assert_eq!(part.len(), 2);
    assert!(part.iter().all(|h| h.matched == MatchKind::PhonePart));
    let tail = find(&env.store, &slot, "99999").await;
    assert_eq!(tail.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), vec![q.id.as_str()]);
    let by_id = find(&env.store, &slot, "ABCD1234").await;
    assert_eq!((by_id[0].id.as_str(), by_id[0].matched), (p.id.as_str(), MatchKind::IdNumber));
}

#[tokio::test]
async fn duplicates_are_flagged_by_phone_id_or_similar_name_and_birth_date() {
    let (env, slot) = desk().await;
    let p = register(
        &env.store,
        &slot,
        PatientInput { national_id: "X123456".into(), ..input("Mohammed", "Khan", "1970-03-03", "9000000001") },
    )
    .await;
    let a = slot.authorize(&env.store).await.unwrap();
    let dup = |i: PatientInput| {
        let (store, a) = (&env.store, a.clone());
        async move { patients::duplicates(store, &a, &i, None).await.unwrap() }
    };
    assert_eq!(dup(input("Someone", "Else", "", "9000000001")).await[0].id, p.id, "same phone");
    assert_eq!(
        dup(PatientInput { national_id: "x123456".into(), ..input("Other", "Name", "", "") }).await[0].id,
        p.id,
        "same id"
    );
    assert_eq!(dup(input("Mohamed", "Khan", "1970-03-03", "")).await[0].id, p.id, "similar name, same DOB");
    assert!(dup(input("Mohamed", "Khan", "1971-03-03", "")).await.is_empty(), "different DOB");
    assert!(dup(input("Sunita", "Khan", "1970-03-03", "")).await.is_empty(), "different name");
    assert!(
        patients::duplicates(&env.store, &a, &input("Mohamed", "Khan", "1970-03-03", ""), Some(&p.id))
            .await
            .unwrap()
            .is_empty(),
        "itself excluded"
    );
}

#[tokio::test]
async fn a_likely_duplicate_is_refused_at_save_unless_registered_anyway_with_a_reason() {
    let (env, slot) = desk().await;
    let first = register(
        &env.store,
        &slot,
        PatientInput { national_id: "X123456".into(), ..input("Mohammed", "Khan", "1970-03-03", "9000000001") },
    )
    .await;
    let a = slot.authorize(&env.store).await.unwrap();
    let before = common::count(&env.store, "patients").await;
    // Each rule alone refuses the save and lists the match.
    for (case, i) in [
        ("same phone", input("Someone", "Else", "", "90000-00001")),
        ("same national id", PatientInput { national_id: "x123456".into(), ..input("Other", "Name", "", "") }),
        ("similar name, same birth date", input("Mohamed", "Khan", "1970-03-03", "")),
    ] {
        match patients::register(&env.store, &a, i).await {
            Err(Error::LikelyDuplicate { matches }) => {
                assert_eq!(
                    matches.iter().map(|h| h.mrn.as_str()).collect::<Vec<_>>(),
                    vec![first.mrn.as_str()],
                    "{case}"
                )
            }
            other => panic!("{case}: {other:?}"),
        }
    }
    assert_eq!(common::count(&env.store, "patients").await, before, "nothing written");
    let e = patients::register(&env.store, &a, input("Mohamed", "Khan", "1970-03-03", "")).await.unwrap_err();
    assert_eq!(e.code(), "likely_duplicate");

    // "Register anyway" needs a reason; with one it saves and audits the reason and matches.
    let twin = input("Mohamed", "Khan", "1970-03-03", "");
    for (reason, why) in [("  ", ValidationReason::Required), (&"r".repeat(501)[..], ValidationReason::TooLong)] {
        match patients::register_anyway(&env.store, &a, twin.clone(), reason).await {
            Err(Error::Validation { field, reason: r, .. }) => assert_eq!((field.as_str(), r), ("reason", why)),
            other => panic!("{other:?}"),
        }
    }
    let p = patients::register_anyway(&env.store, &a, twin, "twin brother, checked his card").await.unwrap();
    assert_ne!(p.id, first.id);
    let detail: String =
        sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'patient.register' AND entity_id = ?")
            .bind(&p.id)
            .fetch_one(env.store.pool())
            .await
            .unwrap();
    let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(detail["duplicate_override"]["reason"], "twin brother, checked his card");
    assert_eq!(detail["duplicate_override"]["matches"], serde_json::json!([first.mrn]));
    // Someone unrelated registers without a question.
    register(&env.store, &slot, input("Anita", "Rao", "1992-11-15", "99001 23456")).await;
}

#[tokio::test]
async fn opening_is_audited_and_edits_record_what_changed() {
    let (env, slot) = desk().await;
    let p = register(&env.store, &slot, input("Ravi", "Sharma", "1980-04-02", "9845012345")).await;
    let a = slot.authorize(&env.store).await.unwrap();
    let opened = patients::open(&env.store, &a, &p.id).await.unwrap();
    assert_eq!(opened.mrn, p.mrn);
    assert_eq!(common::actions(&env.store).await.last().unwrap(), "patient.open");
    let edited =
        patients::update(&env.store, &a, &p.id, input("Ravi", "Verma", "1980-04-02", "9845099999")).await.unwrap();
    assert_eq!(edited.family_name, "Verma");
    assert!(find(&env.store, &slot, "sharma").await.is_empty(), "the old name left the index");
    assert_eq!(find(&env.store, &slot, "verma").await[0].id, p.id);
    assert!(find(&env.store, &slot, "9845012345").await.is_empty(), "the old phone left the index");
    let detail: String = sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'patient.update'")
        .fetch_one(env.store.pool())
        .await
        .unwrap();
    assert!(detail.contains("Sharma") && detail.contains("Verma"), "{detail}");
    let missing = patients::open(&env.store, &a, "nope").await.unwrap_err();
    assert_eq!(missing, Error::NotFound { entity: "patient".into() });
}

#[tokio::test]
async fn deactivate_and_reactivate_need_a_reason_and_permission() {
    let (env, slot) = desk().await;
    let p = register(&env.store, &slot, input("Ravi", "Sharma", "", "")).await;
    let a = slot.authorize(&env.store).await.unwrap();
    let e = patients::set_status(&env.store, &a, &p.id, PatientStatus::Deceased, " ").await.unwrap_err();
    assert!(matches!(e, Error::Validation { ref field, .. } if field == "reason"));
    let d = patients::set_status(&env.store, &a, &p.id, PatientStatus::Deceased, "died 2026-11-01").await.unwrap();
    assert_eq!(d.status, PatientStatus::Deceased);
    assert_eq!(find(&env.store, &slot, "ravi").await[0].status, PatientStatus::Deceased, "still found, marked");
    let r = patients::set_status(&env.store, &a, &p.id, PatientStatus::Active, "").await.unwrap();
    assert_eq!(r.status, PatientStatus::Active);

    let nurse = SessionSlot::default();
    let adm = SessionSlot::default();
    hms_core::auth::sign_in(&env.store, &adm, "admin", common::ADMIN_PW).await.unwrap();
    common::add_user(&env.store, &adm, "nurse1", &["nurse"]).await;
    hms_core::auth::sign_in(&env.store, &nurse, "nurse1", common::STAFF_PW).await.unwrap();
    let n = nurse.authorize(&env.store).await.unwrap();
    let e = patients::set_status(&env.store, &n, &p.id, PatientStatus::Moved, "moved away").await.unwrap_err();
    assert_eq!(e, Error::Forbidden { permission: "patients_status".into() });
}
