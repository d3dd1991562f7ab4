//! Merging two records of the same person: the survivor keeps everything from both, the
//! old MRN still finds the survivor, the merge is audited and listed, and it needs permission.

mod common;

use hms_core::patients::{self, PatientInput, PatientStatus};
use hms_core::{Error, SessionSlot, ValidationReason};

fn person(given: &str, family: &str) -> PatientInput {
    PatientInput { given_name: given.into(), family_name: family.into(), sex: "male".into(), ..Default::default() }
}

async fn signed_in(env: &common::Env, admin: &SessionSlot, name: &str, role: &str) -> SessionSlot {
    common::add_user(&env.store, admin, name, &[role]).await;
    let slot = SessionSlot::default();
    hms_core::auth::sign_in(&env.store, &slot, name, common::STAFF_PW).await.unwrap();
    slot
}

#[tokio::test]
async fn merge_keeps_both_records_data_and_the_old_mrn_finds_the_survivor() {
    let (env, admin) = common::with_admin().await;
    let desk = signed_in(&env, &admin, "reception", "receptionist").await;
    let a = desk.authorize(&env.store).await.unwrap();
    let survivor = patients::register(
        &env.store,
        &a,
        PatientInput {
            phones: vec!["9845012345".into()],
            allergies: vec!["Penicillin".into()],
            age_years: Some(45),
            notes: "Diabetic".into(),
            ..person("Ravi", "Sharma")
        },
    )
    .await
    .unwrap();
    // The same phone: the desk registered the twin anyway (core refuses a likely duplicate otherwise).
    let twin = patients::register_anyway(
        &env.store,
        &a,
        PatientInput {
            phones: vec!["9845012345".into(), "080 2345 6789".into()],
            allergies: vec!["penicillin".into(), "Sulfa".into()],
            birth_date: Some("1981-03-14".into()),
            national_id: "1234 5678 9012".into(),
            blood_group: "B+".into(),
            notes: "Hypertensive".into(),
            city: "Hoskote".into(),
            district: "Bengaluru Rural".into(),
            ..person("Ravi Kumar", "Sharma")
        },
        "said he was never here before",
    )
    .await
    .unwrap();

    let merged = patients::merge(&env.store, &a, &survivor.id, &twin.id, "registered twice").await.unwrap();
    assert_eq!(merged.mrn, survivor.mrn, "the survivor keeps its MRN");
    assert_eq!(merged.phones, vec!["9845012345", "08023456789"]);
    assert_eq!(merged.allergies, vec!["Penicillin", "Sulfa"], "allergies are unioned, case-insensitively");
    assert_eq!(merged.birth_date.as_deref(), Some("1981-03-14"), "an exact date replaces an estimate");
    assert!(!merged.birth_date_estimated);
    assert_eq!(merged.national_id, "1234 5678 9012", "ids only one record had are kept");
    assert_eq!(merged.blood_group, "B+");
    assert_eq!(
        (merged.city.as_str(), merged.district.as_str()),
        ("Hoskote", "Bengaluru Rural"),
        "the survivor had no place"
    );
    assert!(merged.notes.contains("Diabetic") && merged.notes.contains("Hypertensive"));

    let old = patients::open(&env.store, &a, &twin.id).await.unwrap();
    assert_eq!(old.status, PatientStatus::Merged);
    assert_eq!(old.merged_into.as_deref(), Some(survivor.id.as_str()));

    let by_old_mrn = patients::search(&env.store, &a, &twin.mrn, 10).await.unwrap();
    assert_eq!(by_old_mrn.len(), 1);
    assert_eq!(by_old_mrn[0].id, survivor.id, "the merged MRN leads to the survivor");
    let by_phone = patients::search(&env.store, &a, "23456789", 10).await.unwrap();
    assert_eq!(by_phone.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), vec![survivor.id.as_str()]);
    let by_name = patients::search(&env.store, &a, "ravi sharma", 10).await.unwrap();
    assert_eq!(by_name.len(), 1, "the merged record no longer shows up in search");

    let history = patients::merged_into(&env.store, &a, &survivor.id).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].merged_mrn, twin.mrn);
    assert_eq!(history[0].reason, "registered twice");
    assert_eq!(history[0].merged_by.as_deref(), Some("Staff reception"));
    assert_eq!(history[0].snapshot, twin, "the merged record is kept exactly as it was");

    let actions = common::actions(&env.store).await;
    assert!(actions.contains(&"patient.merge".to_string()));
    let changed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM change_log WHERE entity = 'patient_merges'")
        .fetch_one(env.store.pool())
        .await
        .unwrap();
    assert_eq!(changed, 1, "the merge is in the sync outbox");
}

#[tokio::test]
async fn merge_refuses_bad_pairs_and_roles_without_permission_writing_nothing() {
    let (env, admin) = common::with_admin().await;
    let nurse = signed_in(&env, &admin, "nurse1", "nurse").await;
    let a = admin.authorize(&env.store).await.unwrap();
    let x = patients::register(&env.store, &a, person("Anita", "Rao")).await.unwrap();
    let y = patients::register(&env.store, &a, person("Anita", "Rao")).await.unwrap();
    let z = patients::register(&env.store, &a, person("Anita", "Rao")).await.unwrap();
    let before = common::counts(&env.store).await;

    let n = nurse.authorize(&env.store).await.unwrap();
    let e = patients::merge(&env.store, &n, &x.id, &y.id, "").await.unwrap_err();
    assert_eq!(e, Error::Forbidden { permission: "patients_merge".into() });
    let e = patients::merge(&env.store, &a, &x.id, &x.id, "").await.unwrap_err();
    assert!(
        matches!(e, Error::Validation { ref field, reason: ValidationReason::Invalid, .. } if field == "merged_id")
    );
    let e = patients::merge(&env.store, &a, &x.id, "no-such-id", "").await.unwrap_err();
    assert_eq!(e, Error::NotFound { entity: "patient".into() });
    let e = patients::merge(&env.store, &a, &x.id, &y.id, &"x".repeat(501)).await.unwrap_err();
    assert!(matches!(e, Error::Validation { ref field, .. } if field == "reason"));
    assert_eq!(common::counts(&env.store).await, before, "refused merges write nothing");

    patients::merge(&env.store, &a, &x.id, &y.id, "").await.unwrap();
    let e = patients::merge(&env.store, &a, &z.id, &y.id, "").await.unwrap_err();
    assert!(matches!(e, Error::Validation { ref field, .. } if field == "merged_id"), "already merged");
    let e = patients::merge(&env.store, &a, &y.id, &z.id, "").await.unwrap_err();
    assert!(
        matches!(e, Error::Validation { ref field, .. } if field == "survivor_id"),
        "cannot merge into a merged record"
    );
    let e = patients::update(&env.store, &a, &y.id, person("Anita", "Rao")).await.unwrap_err();
    assert!(matches!(e, Error::Validation { .. }), "a merged record is read-only");
}

#[tokio::test]
async fn merge_moves_the_clinical_record_and_every_table_with_a_patient_is_moved() {
    use hms_core::clinical::{visits, VitalsInput};
    let (env, admin) = common::with_admin().await;
    let desk = signed_in(&env, &admin, "reception", "receptionist").await;
    let nurse = signed_in(&env, &admin, "nurse", "nurse").await;
    let (a, n) = (desk.authorize(&env.store).await.unwrap(), nurse.authorize(&env.store).await.unwrap());
    let survivor = patients::register(&env.store, &a, person("Asha", "Verma")).await.unwrap();
    let twin = patients::register(&env.store, &a, person("Asha", "Varma")).await.unwrap();
    let v = VitalsInput { patient_id: twin.id.clone(), pulse: Some(88), ..Default::default() };
    visits::record_vitals(&env.store, &n, v).await.unwrap();

    patients::merge(&env.store, &a, &survivor.id, &twin.id, "registered twice").await.unwrap();
    let history = visits::vitals_history(&env.store, &n, &survivor.id, 10).await.unwrap();
    assert_eq!(history.len(), 1, "the merged record's vitals are now the survivor's");
    assert!(visits::vitals_history(&env.store, &n, &twin.id, 10).await.unwrap().is_empty());
    let moved: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM change_log WHERE entity = 'vitals' AND op = 'update'")
        .fetch_one(env.store.pool())
        .await
        .unwrap();
    assert_eq!(moved, 1, "the move is a synced change");

    // Every table holding a patient's rows is on the merge's list, so none is left behind.
    let mut with_patient: Vec<String> = sqlx::query_scalar(
        "SELECT m.name FROM sqlite_master m WHERE m.type = 'table'
           AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) c WHERE c.name = 'patient_id') ORDER BY m.name",
    )
    .fetch_all(env.store.pool())
    .await
    .unwrap();
    with_patient.retain(|t| !t.starts_with("sqlite_"));
    let mut listed: Vec<String> = patients::merge::PATIENT_TABLES
        .iter()
        .chain(patients::merge::LOCAL_PATIENT_TABLES)
        .map(|t| t.to_string())
        .collect();
    listed.sort();
    assert_eq!(with_patient, listed);
}

#[tokio::test]
async fn merge_is_refused_when_both_records_have_an_open_bill_and_nothing_changes() {
    let (env, admin) = common::with_admin().await;
    let desk = signed_in(&env, &admin, "reception", "receptionist").await;
    let a = desk.authorize(&env.store).await.unwrap();
    let survivor = patients::register(&env.store, &a, person("Joseph", "Mrema")).await.unwrap();
    let twin = patients::register(&env.store, &a, person("Josef", "Mrema")).await.unwrap();
    hms_core::billing::bills::open_bill(&env.store, &a, &survivor.id).await.unwrap();
    hms_core::billing::bills::open_bill(&env.store, &a, &twin.id).await.unwrap();

    match patients::merge(&env.store, &a, &survivor.id, &twin.id, "registered twice").await {
        Err(Error::Validation { field, reason, .. }) => {
            assert_eq!((field.as_str(), reason), ("merged_id", ValidationReason::Invalid))
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    let still = patients::open(&env.store, &a, &twin.id).await.unwrap();
    assert_eq!(still.status, PatientStatus::Active, "nothing was merged");
}

#[tokio::test]
async fn merge_never_cuts_notes_it_would_join_beyond_the_limit() {
    let (env, admin) = common::with_admin().await;
    let a = admin.authorize(&env.store).await.unwrap();
    let long = |given: &str, c: &str| PatientInput { notes: c.repeat(2500), ..person(given, "Mrema") };
    let survivor = patients::register(&env.store, &a, long("Joseph", "s")).await.unwrap();
    let twin = patients::register(&env.store, &a, long("Josef", "t")).await.unwrap();
    match patients::merge(&env.store, &a, &survivor.id, &twin.id, "registered twice").await {
        Err(Error::Validation { field, reason, message }) => {
            assert_eq!((field.as_str(), reason), ("notes", ValidationReason::TooLong));
            assert!(message.contains("4000"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let kept = patients::open(&env.store, &a, &twin.id).await.unwrap();
    assert_eq!((kept.status, kept.notes.len()), (PatientStatus::Active, 2500), "nothing merged, nothing cut");
}
