//! The clinical record: visits, vitals range checks, ICD-10 search and coded diagnoses,
//! allergy and duplicate-medicine warnings, lab orders and flagged results, the chart
//! summary, a whole consultation in one transaction, role visibility, and bad input.

mod common;
#[path = "common/ward.rs"]
mod ward;

use chrono::TimeZone;
use hms_core::clinical::{
    chart, icd10, lab, prescribing, visits, Abnormal, AllergyInput, Certainty, ConsultationInput, DiagnosisInput,
    LabTestInput, MedicineInput, OrderStatus, PrescriptionInput, Severity, VisitInput, VitalsInput,
};
use hms_core::error::{ClinicalWarningKind, ValidationReason};
use hms_core::patients::{self, PatientInput};
use hms_core::rbac::Permission;
use hms_core::schedule::availability::{self, SessionInput};
use hms_core::schedule::booking;
use hms_core::{Error, Store};
use ward::{auth, field_of, sign_in, ward, Ward};

fn rx(medicine: &str) -> PrescriptionInput {
    PrescriptionInput {
        medicine_id: medicine.into(),
        dose: "1".into(),
        dose_unit: "tablet".into(),
        route: "oral".into(),
        frequency: "1-0-1".into(),
        duration_days: Some(5),
        ..Default::default()
    }
}

fn dx(code: Option<&str>, text: &str, certainty: Certainty) -> DiagnosisInput {
    DiagnosisInput { icd10: code.map(String::from), text: text.into(), certainty }
}

async fn open_visit(w: &Ward) -> String {
    let d = auth(&w.env.store, &w.doctor).await;
    let v = VisitInput { patient_id: w.patient.clone(), complaints: "Fever for 3 days".into(), ..Default::default() };
    visits::start_visit(&w.env.store, &d, v).await.unwrap().id
}

/// Row counts of every clinical table, with the change log and the audit log.
async fn clinical_counts(s: &Store) -> Vec<i64> {
    let mut out = Vec::new();
    for t in [
        "visits",
        "vitals",
        "diagnoses",
        "allergies",
        "prescriptions",
        "lab_orders",
        "lab_results",
        "change_log",
        "audit_log",
    ] {
        out.push(common::count(s, t).await);
    }
    out
}

#[tokio::test]
async fn a_visit_is_started_by_the_signed_in_doctor_or_from_an_appointment() {
    let w = ward().await;
    let s = &w.env.store;
    let d = auth(s, &w.doctor).await;
    let v = visits::start_visit(
        s,
        &d,
        VisitInput { patient_id: w.patient.clone(), follow_up_date: Some("2026-12-01".into()), ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!(
        (v.doctor_id.as_str(), v.doctor_name.as_str()),
        (w.doctor_staff.as_str(), "Dr Anil Rao"),
        "the doctor's own profile"
    );
    let notes = hms_core::clinical::VisitNotes {
        complaints: "Cough".into(),
        examination: "Chest clear".into(),
        ..Default::default()
    };
    let v = visits::update_visit(s, &d, &v.id, notes).await.unwrap();
    assert_eq!((v.complaints.as_str(), v.examination.as_str(), v.follow_up_date), ("Cough", "Chest clear", None));
    let v = visits::close_visit(s, &d, &v.id).await.unwrap();
    assert!(v.closed_at.is_some());
    let notes = hms_core::clinical::VisitNotes::default();
    assert_eq!(field_of(visits::update_visit(s, &d, &v.id, notes).await).0, "visit_id", "a closed visit is final");

    // From an appointment: its doctor, linked once.
    s.set_now(Some(chrono::Utc.with_ymd_and_hms(2026, 11, 22, 2, 30, 0).unwrap()));
    let a = auth(s, &w.admin).await;
    hms_core::settings::set_time_zone(s, &a, "Asia/Kolkata").await.unwrap();
    let week = (1..=6)
        .map(|d| SessionInput { weekday: d, start: "09:00".into(), end: "13:00".into(), slot_minutes: 15 })
        .collect();
    availability::set_weekly(s, &a, &w.doctor_staff, week).await.unwrap();
    let book = booking::BookInput {
        patient_id: w.patient.clone(),
        doctor_id: w.doctor_staff.clone(),
        date: "2026-11-23".into(),
        start: "09:00".into(),
        reason: String::new(),
        overbook: false,
    };
    let appt = booking::book(s, &a, book).await.unwrap().id;
    let d = auth(s, &w.doctor).await;
    let input =
        || VisitInput { patient_id: w.patient.clone(), appointment_id: Some(appt.clone()), ..Default::default() };
    let v = visits::start_visit(s, &d, input()).await.unwrap();
    assert_eq!((v.appointment_id.as_deref(), v.doctor_id.as_str()), (Some(appt.as_str()), w.doctor_staff.as_str()));
    assert_eq!(field_of(visits::start_visit(s, &d, input()).await), ("appointment_id".into(), ValidationReason::Taken));
}

#[tokio::test]
async fn implausible_vitals_are_refused_naming_the_field_unless_confirmed() {
    let w = ward().await;
    let s = &w.env.store;
    let n = auth(s, &w.nurse).await;
    let base = || VitalsInput { patient_id: w.patient.clone(), ..Default::default() };
    let before = clinical_counts(s).await;
    assert_eq!(
        field_of(visits::record_vitals(s, &n, VitalsInput { pulse: Some(900), ..base() }).await),
        ("pulse".into(), ValidationReason::OutOfRange)
    );
    assert_eq!(
        field_of(visits::record_vitals(s, &n, VitalsInput { temperature_c_x10: Some(100), ..base() }).await),
        ("temperature_c_x10".into(), ValidationReason::OutOfRange),
        "10 °C"
    );
    assert_eq!(
        field_of(visits::record_vitals(s, &n, VitalsInput { pulse: Some(900), confirmed: true, ..base() }).await).0,
        "pulse",
        "impossible even if confirmed"
    );
    assert_eq!(
        field_of(visits::record_vitals(s, &n, VitalsInput { pain: Some(11), confirmed: true, ..base() }).await).0,
        "pain"
    );
    assert_eq!(field_of(visits::record_vitals(s, &n, base()).await), ("vitals".into(), ValidationReason::Required));
    assert_eq!(
        field_of(
            visits::record_vitals(s, &n, VitalsInput { bp_systolic: Some(80), bp_diastolic: Some(120), ..base() })
                .await
        )
        .0,
        "bp_diastolic"
    );
    assert_eq!(clinical_counts(s).await, before, "nothing written");

    // A pulse of 260 re-checked by the nurse is saved when confirmed.
    assert_eq!(field_of(visits::record_vitals(s, &n, VitalsInput { pulse: Some(260), ..base() }).await).0, "pulse");
    let v = visits::record_vitals(s, &n, VitalsInput { pulse: Some(260), confirmed: true, ..base() }).await.unwrap();
    assert!(v.confirmed);
    let v = visits::record_vitals(
        s,
        &n,
        VitalsInput {
            temperature_c_x10: Some(384),
            pulse: Some(96),
            bp_systolic: Some(128),
            bp_diastolic: Some(84),
            spo2: Some(97),
            weight_g: Some(70_000),
            height_mm: Some(1_750),
            pain: Some(3),
            ..base()
        },
    )
    .await
    .unwrap();
    assert_eq!(v.bmi_x10, Some(229));
    let d = auth(s, &w.doctor).await;
    let history = visits::vitals_history(s, &d, &w.patient, 10).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].id, v.id, "newest first");
    assert!(common::actions(s).await.iter().filter(|a| *a == "vitals.record").count() == 2);
}

#[tokio::test]
async fn icd10_is_searched_by_code_and_by_words_and_unknown_codes_are_refused() {
    let w = ward().await;
    let s = &w.env.store;
    let d = auth(s, &w.doctor).await;
    let by_code = icd10::search(s, &d, "e11.6", 10).await.unwrap();
    assert_eq!(by_code[0].code, "E11.6");
    assert!(by_code.iter().all(|c| c.code.starts_with("E11.6")), "{by_code:?}");
    let j45 = icd10::search(s, &d, "J45", 5).await.unwrap();
    assert_eq!((j45[0].code.as_str(), j45[0].description.as_str()), ("J45", "Asthma"));
    let words = icd10::search(s, &d, "type 2 diabetes", 20).await.unwrap();
    assert!(words.iter().any(|c| c.code.starts_with("E11")), "{words:?}");
    assert!(words.iter().all(|c| c.description.to_lowercase().contains("diabet")), "{words:?}");
    let prefix = icd10::search(s, &d, "pneumon", 20).await.unwrap();
    assert!(!prefix.is_empty() && prefix.iter().all(|c| c.description.to_lowercase().contains("pneumon")));
    assert!(icd10::search(s, &d, "   ", 10).await.unwrap().is_empty());
    assert!(icd10::search(s, &d, "zzqx", 10).await.unwrap().is_empty());

    let visit = open_visit(&w).await;
    let before = clinical_counts(s).await;
    assert_eq!(
        field_of(visits::add_diagnosis(s, &d, &visit, dx(Some("X99.999"), "", Certainty::Final)).await),
        ("icd10".into(), ValidationReason::Invalid)
    );
    assert_eq!(field_of(visits::add_diagnosis(s, &d, &visit, dx(None, "  ", Certainty::Final)).await).0, "text");
    assert_eq!(clinical_counts(s).await, before, "nothing written");
    let coded = visits::add_diagnosis(s, &d, &visit, dx(Some("j459"), "", Certainty::Provisional)).await.unwrap();
    assert_eq!((coded.icd10.as_deref(), coded.coded), (Some("J45.9"), true));
    assert!(coded.text.starts_with("Other and unspecified asthma"), "{}", coded.text);
    let free = visits::add_diagnosis(s, &d, &visit, dx(None, "Viral fever", Certainty::Provisional)).await.unwrap();
    assert_eq!((free.icd10, free.coded), (None, false), "uncoded free text");
}

#[tokio::test]
async fn allergy_and_duplicate_warnings_need_a_reason_which_is_stored() {
    let w = ward().await;
    let s = &w.env.store;
    let n = auth(s, &w.nurse).await;
    let d = auth(s, &w.doctor).await;
    visits::add_allergy(
        s,
        &n,
        AllergyInput {
            patient_id: w.patient.clone(),
            allergen: None,
            substance: "amoxicillin".into(),
            reaction: "Rash".into(),
            severity: Severity::Severe,
        },
    )
    .await
    .unwrap();
    let visit = open_visit(&w).await;

    let before = clinical_counts(s).await;
    match prescribing::prescribe(s, &d, &visit, rx(&w.amoxicillin)).await {
        Err(Error::ClinicalWarning { warnings }) => {
            assert_eq!(warnings.len(), 1);
            assert_eq!(
                (warnings[0].kind, warnings[0].subject.as_str(), warnings[0].detail.as_str()),
                (ClinicalWarningKind::Allergy, "amoxicillin", "severe: Rash")
            );
        }
        other => panic!("expected a clinical warning, got {other:?}"),
    }
    let blank = PrescriptionInput { override_reason: Some("  ".into()), ..rx(&w.amoxicillin) };
    assert!(
        matches!(prescribing::prescribe(s, &d, &visit, blank).await, Err(Error::ClinicalWarning { .. })),
        "a blank reason is no reason"
    );
    let short = PrescriptionInput { override_reason: Some(" ok ".into()), ..rx(&w.amoxicillin) };
    assert!(
        matches!(
            prescribing::prescribe(s, &d, &visit, short).await,
            Err(Error::Validation { ref field, reason: hms_core::ValidationReason::TooShort, .. }) if field == "override_reason"
        ),
        "a reason says something: at least {} characters",
        prescribing::OVERRIDE_REASON_MIN
    );
    assert_eq!(clinical_counts(s).await, before, "nothing written");
    let err = prescribing::prescribe(s, &d, &visit, rx(&w.amoxicillin)).await.unwrap_err();
    assert_eq!(err.code(), "clinical_warning");
    let json = serde_json::to_value(&err).unwrap();
    assert_eq!(json["code"], "clinical_warning");
    assert_eq!(json["detail"]["warnings"][0]["kind"], "allergy");

    let reason = "Tolerated amoxicillin last year; rash was viral";
    let ok = prescribing::prescribe(
        s,
        &d,
        &visit,
        PrescriptionInput { override_reason: Some(reason.into()), ..rx(&w.amoxicillin) },
    )
    .await
    .unwrap();
    assert_eq!(ok.override_reason.as_deref(), Some(reason));
    assert_eq!(ok.warnings.len(), 1);
    let stored: (Option<String>, String) =
        sqlx::query_as("SELECT override_reason, warnings FROM prescriptions WHERE id = ?")
            .bind(&ok.id)
            .fetch_one(s.pool())
            .await
            .unwrap();
    assert_eq!(stored.0.as_deref(), Some(reason));
    assert!(stored.1.contains("allergy"));

    // A medicine the patient already takes: a duplicate warning, then accepted with a reason.
    prescribing::prescribe(s, &d, &visit, rx(&w.paracetamol)).await.unwrap();
    match prescribing::prescribe(s, &d, &visit, rx(&w.paracetamol)).await {
        Err(Error::ClinicalWarning { warnings }) => {
            assert_eq!(warnings.len(), 1);
            assert_eq!(
                (warnings[0].kind, warnings[0].subject.as_str()),
                (ClinicalWarningKind::DuplicateMedicine, "Paracetamol")
            );
        }
        other => panic!("expected a duplicate warning, got {other:?}"),
    }
    let dup = prescribing::prescribe(
        s,
        &d,
        &visit,
        PrescriptionInput { override_reason: Some("Night dose added".into()), ..rx(&w.paracetamol) },
    )
    .await
    .unwrap();
    assert_eq!(dup.warnings[0].kind, ClinicalWarningKind::DuplicateMedicine);
    let actions = common::actions(s).await;
    assert_eq!(actions.iter().filter(|a| *a == "prescription.add").count(), 3);

    // An allergy flagged at registration warns too.
    let a = auth(s, &w.admin).await;
    let mut p = PatientInput {
        given_name: "Meena".into(),
        family_name: "Das".into(),
        sex: "female".into(),
        ..Default::default()
    };
    p.allergies = vec!["Metformin".into()];
    let meena = patients::register(s, &a, p).await.unwrap().id;
    let v2 = visits::start_visit(s, &d, VisitInput { patient_id: meena, ..Default::default() }).await.unwrap().id;
    match prescribing::prescribe(s, &d, &v2, rx(&w.metformin)).await {
        Err(Error::ClinicalWarning { warnings }) => {
            assert_eq!((warnings[0].kind, warnings[0].subject.as_str()), (ClinicalWarningKind::Allergy, "Metformin"))
        }
        other => panic!("expected an allergy warning, got {other:?}"),
    }

    // A dose without a unit is refused on dose_unit; nothing written.
    let before = clinical_counts(s).await;
    assert_eq!(
        field_of(
            prescribing::prescribe(s, &d, &visit, PrescriptionInput { dose_unit: " ".into(), ..rx(&w.metformin) })
                .await
        ),
        ("dose_unit".into(), ValidationReason::Required)
    );
    assert_eq!(
        field_of(
            prescribing::prescribe(s, &d, &visit, PrescriptionInput { dose: String::new(), ..rx(&w.metformin) }).await
        )
        .0,
        "dose"
    );
    assert_eq!(
        field_of(
            prescribing::prescribe(s, &d, &visit, PrescriptionInput { duration_days: Some(0), ..rx(&w.metformin) })
                .await
        )
        .0,
        "duration_days"
    );
    assert_eq!(field_of(prescribing::prescribe(s, &d, &visit, rx("no-such-medicine")).await).0, "medicine_id");
    assert_eq!(clinical_counts(s).await, before, "nothing written");
}

#[tokio::test]
async fn lab_results_are_flagged_against_the_reference_range() {
    let w = ward().await;
    let s = &w.env.store;
    let d = auth(s, &w.doctor).await;
    let l = auth(s, &w.lab).await;
    let visit = open_visit(&w).await;
    let orders =
        lab::order_lab_tests(s, &d, &visit, vec![w.hb.clone(), w.glucose.clone()], "fasting".into()).await.unwrap();
    assert_eq!(orders.len(), 2);
    let pending = lab::pending_orders(s, &l).await.unwrap();
    assert_eq!(pending.len(), 2);
    assert_eq!(pending[0].patient_name, "Ravi Sharma");
    assert!(matches!(lab::pending_orders(s, &d).await, Err(Error::Forbidden { .. })), "the lab's work list");
    assert!(
        matches!(lab::enter_result(s, &d, &orders[0].id, "9.8").await, Err(Error::Forbidden { .. })),
        "results are the lab's"
    );

    assert_eq!(field_of(lab::enter_result(s, &l, &orders[0].id, " ").await).0, "value");
    let hb = lab::enter_result(s, &l, &orders[0].id, "9.8").await.unwrap();
    assert_eq!(
        (hb.abnormal, hb.unit.as_str(), hb.ref_low.as_deref(), hb.ref_high.as_deref()),
        (Abnormal::Low, "g/dL", Some("13"), Some("17"))
    );
    let fbs = lab::enter_result(s, &l, &orders[1].id, "95").await.unwrap();
    assert_eq!(fbs.abnormal, Abnormal::Normal);
    assert_eq!(field_of(lab::enter_result(s, &l, &orders[1].id, "96").await).0, "order_id", "resulted once");
    assert!(lab::pending_orders(s, &l).await.unwrap().is_empty());

    let more = lab::order_lab_tests(s, &d, &visit, vec![w.glucose.clone()], String::new()).await.unwrap();
    assert_eq!(lab::enter_result(s, &l, &more[0].id, "182").await.unwrap().abnormal, Abnormal::High);
    let more = lab::order_lab_tests(s, &d, &visit, vec![w.hb.clone()], String::new()).await.unwrap();
    assert_eq!(lab::enter_result(s, &l, &more[0].id, "haemolysed").await.unwrap().abnormal, Abnormal::Unknown);

    let chart = chart::chart_summary(s, &d, &w.patient).await.unwrap();
    assert_eq!(chart.recent_results.len(), 4);
    assert_eq!(chart.recent_results.iter().filter(|r| r.abnormal == Abnormal::High).count(), 1);
    assert_eq!(field_of(lab::order_lab_tests(s, &d, &visit, vec![], String::new()).await).0, "test_ids");
}

#[tokio::test]
async fn a_full_consultation_is_saved_in_one_transaction_and_the_chart_shows_it() {
    let w = ward().await;
    let s = &w.env.store;
    let d = auth(s, &w.doctor).await;
    let n = auth(s, &w.nurse).await;
    visits::add_allergy(
        s,
        &n,
        AllergyInput {
            patient_id: w.patient.clone(),
            allergen: None,
            substance: "Sulfa".into(),
            reaction: String::new(),
            severity: Severity::Mild,
        },
    )
    .await
    .unwrap();
    let consultation = || ConsultationInput {
        visit: VisitInput {
            patient_id: w.patient.clone(),
            complaints: "Fever, cough".into(),
            history: "Type 2 diabetes for 5 years".into(),
            examination: "Crepitations right base".into(),
            follow_up_date: Some("2026-12-05".into()),
            ..Default::default()
        },
        vitals: Some(VitalsInput {
            temperature_c_x10: Some(386),
            pulse: Some(104),
            spo2: Some(94),
            ..Default::default()
        }),
        diagnoses: vec![
            dx(Some("J18.9"), "", Certainty::Provisional),
            dx(Some("E11.9"), "", Certainty::Final),
            dx(None, "Suspected dengue", Certainty::Provisional),
        ],
        prescriptions: vec![
            rx(&w.amoxicillin),
            rx(&w.paracetamol),
            PrescriptionInput { duration_days: None, ..rx(&w.metformin) },
            rx(&w.amlodipine),
        ],
        lab_test_ids: vec![w.hb.clone(), w.glucose.clone()],
    };

    // A bad item anywhere writes nothing, and names its place.
    let before = clinical_counts(s).await;
    let mut bad = consultation();
    bad.diagnoses[1].icd10 = Some("Q99.99X".into());
    assert_eq!(
        field_of(chart::save_consultation(s, &d, bad).await),
        ("diagnoses.1.icd10".into(), ValidationReason::Invalid)
    );
    let mut bad = consultation();
    bad.prescriptions[3].dose_unit = String::new();
    assert_eq!(field_of(chart::save_consultation(s, &d, bad).await).0, "prescriptions.3.dose_unit");
    let mut bad = consultation();
    bad.vitals.as_mut().unwrap().pulse = Some(900);
    assert_eq!(field_of(chart::save_consultation(s, &d, bad).await).0, "vitals.pulse");
    let mut bad = consultation();
    bad.prescriptions.push(rx(&w.paracetamol));
    assert!(
        matches!(chart::save_consultation(s, &d, bad).await, Err(Error::ClinicalWarning { .. })),
        "a duplicate within the consultation"
    );
    let mut bad = consultation();
    bad.lab_test_ids.push("no-such-test".into());
    assert_eq!(field_of(chart::save_consultation(s, &d, bad).await).0, "lab_test_ids");
    assert_eq!(clinical_counts(s).await, before, "nothing written");

    let saved = chart::save_consultation(s, &d, consultation()).await.unwrap();
    assert_eq!((saved.diagnoses.len(), saved.prescriptions.len(), saved.lab_orders.len()), (3, 4, 2));
    assert_eq!(saved.vitals.as_ref().unwrap().visit_id.as_deref(), Some(saved.visit.id.as_str()));
    assert_eq!(saved.diagnoses[0].text, "Pneumonia, unspecified organism");
    let after = clinical_counts(s).await;
    assert_eq!(
        &after[..7],
        &[before[0] + 1, before[1] + 1, before[2] + 3, before[3], before[4] + 4, before[5] + 2, before[6]]
    );
    let changes: Vec<String> = sqlx::query_scalar("SELECT entity FROM change_log ORDER BY rowid DESC LIMIT 11")
        .fetch_all(s.pool())
        .await
        .unwrap();
    for t in ["visits", "vitals", "diagnoses", "prescriptions", "lab_orders"] {
        assert!(changes.iter().any(|c| c == t), "{t} in the change log: {changes:?}");
    }

    let chart = chart::chart_summary(s, &d, &w.patient).await.unwrap();
    assert_eq!(chart.allergies.len(), 1);
    assert_eq!(chart.active_problems.len(), 3);
    assert_eq!(chart.current_medicines.len(), 4);
    assert_eq!(chart.last_vitals.as_ref().unwrap().pulse, Some(104));
    assert_eq!(chart.pending_orders.len(), 2);
    assert_eq!(chart.visits.len(), 1);
    assert_eq!(chart.visits[0].diagnoses.len(), 3);
    assert_eq!(
        common::actions(s).await.last().map(String::as_str),
        Some("chart.open"),
        "every chart opening is audited"
    );
    let n_chart = auth(s, &w.nurse).await;
    chart::chart_summary(s, &n_chart, &w.patient).await.unwrap();
    assert_eq!(common::actions(s).await.iter().filter(|a| *a == "chart.open").count(), 2);
    assert!(matches!(chart::chart_summary(s, &d, "no-such-patient").await, Err(Error::NotFound { .. })));

    // Resolving a problem takes it off the active list.
    visits::resolve_diagnosis(s, &d, &saved.diagnoses[2].id).await.unwrap();
    let chart = chart::chart_summary(s, &d, &w.patient).await.unwrap();
    assert_eq!(chart.active_problems.len(), 2);
    assert_eq!(visits::allergies(s, &d, &w.patient).await.unwrap()[0].substance, "Sulfa");
    assert_eq!(prescribing::visit_prescriptions(s, &d, &saved.visit.id).await.unwrap().len(), 4);
    assert_eq!(chart::visits(s, &d, &w.patient, None, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn receptionists_and_accountants_read_nothing_clinical() {
    let w = ward().await;
    let s = &w.env.store;
    let visit = open_visit(&w).await;
    let d = auth(s, &w.doctor).await;
    let diag = visits::add_diagnosis(s, &d, &visit, dx(Some("J45.9"), "", Certainty::Final)).await.unwrap();
    common::add_user(s, &w.admin, "acc.das", &["accountant"]).await;
    let accountant = sign_in(s, "acc.das").await;
    for slot in [&w.reception, &accountant] {
        let a = auth(s, slot).await;
        let before = common::counts(s).await;
        let forbidden = |r: Result<(), Error>, p: Permission| {
            assert_eq!(r.unwrap_err(), Error::Forbidden { permission: p.code().into() })
        };
        forbidden(chart::chart_summary(s, &a, &w.patient).await.map(drop), Permission::ClinicalView);
        forbidden(chart::visits(s, &a, &w.patient, None, 10).await.map(drop), Permission::ClinicalView);
        forbidden(visits::visit(s, &a, &visit).await.map(drop), Permission::ClinicalView);
        forbidden(visits::vitals_history(s, &a, &w.patient, 10).await.map(drop), Permission::ClinicalView);
        forbidden(visits::allergies(s, &a, &w.patient).await.map(drop), Permission::ClinicalView);
        forbidden(prescribing::visit_prescriptions(s, &a, &visit).await.map(drop), Permission::ClinicalView);
        forbidden(prescribing::medicines(s, &a, "").await.map(drop), Permission::ClinicalView);
        forbidden(icd10::search(s, &a, "asthma", 10).await.map(drop), Permission::ClinicalView);
        forbidden(lab::lab_tests(s, &a).await.map(drop), Permission::LabResults);
        forbidden(lab::pending_orders(s, &a).await.map(drop), Permission::LabResults);
        forbidden(
            visits::add_diagnosis(s, &a, &visit, dx(None, "x", Certainty::Final)).await.map(drop),
            Permission::ClinicalEdit,
        );
        forbidden(visits::resolve_diagnosis(s, &a, &diag.id).await, Permission::ClinicalEdit);
        forbidden(
            visits::record_vitals(
                s,
                &a,
                VitalsInput { patient_id: w.patient.clone(), pulse: Some(80), ..Default::default() },
            )
            .await
            .map(drop),
            Permission::VitalsEdit,
        );
        forbidden(
            chart::save_consultation(s, &a, ConsultationInput::default()).await.map(drop),
            Permission::ClinicalEdit,
        );
        assert_eq!(common::counts(s).await, before, "refused reads and writes write nothing");
    }
    // A nurse reads the chart and records vitals but does not diagnose or prescribe.
    let n = auth(s, &w.nurse).await;
    chart::chart_summary(s, &n, &w.patient).await.unwrap();
    assert_eq!(
        prescribing::prescribe(s, &n, &visit, rx(&w.paracetamol)).await.unwrap_err(),
        Error::Forbidden { permission: Permission::ClinicalEdit.code().into() }
    );
    // The lab technician sees the catalogue and the work list, not the chart.
    let l = auth(s, &w.lab).await;
    assert_eq!(lab::lab_tests(s, &l).await.unwrap().len(), 2);
    assert!(matches!(chart::chart_summary(s, &l, &w.patient).await, Err(Error::Forbidden { .. })));
}

#[tokio::test]
async fn catalogues_refuse_bad_input() {
    let w = ward().await;
    let s = &w.env.store;
    let a = auth(s, &w.admin).await;
    let before = clinical_counts(s).await;
    let med = |name: &str| MedicineInput {
        name: name.into(),
        strength: "500 mg".into(),
        form: "Capsule".into(),
        ..Default::default()
    };
    assert_eq!(
        field_of(prescribing::add_medicine(s, &a, med("amoxicillin")).await),
        ("name".into(), ValidationReason::Taken)
    );
    assert_eq!(field_of(prescribing::add_medicine(s, &a, med(" ")).await), ("name".into(), ValidationReason::Required));
    let t = |low: &str, high: &str| LabTestInput {
        code: "TSH".into(),
        name: "TSH".into(),
        unit: "mIU/L".into(),
        ref_low: Some(low.into()),
        ref_high: Some(high.into()),
    };
    assert_eq!(field_of(lab::add_lab_test(s, &a, t("4.5", "0.4")).await).0, "ref_high");
    assert_eq!(field_of(lab::add_lab_test(s, &a, t("abc", "4")).await).0, "ref_low");
    assert_eq!(
        field_of(
            lab::add_lab_test(s, &a, LabTestInput { code: "hb".into(), name: "Hb".into(), ..Default::default() }).await
        ),
        ("code".into(), ValidationReason::Taken)
    );
    assert_eq!(clinical_counts(s).await, before);
    let found = prescribing::medicines(s, &a, "met").await.unwrap();
    assert_eq!(found.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), vec!["Metformin"]);
    let n = auth(s, &w.nurse).await;
    assert!(matches!(prescribing::add_medicine(s, &n, med("Cefixime")).await, Err(Error::Forbidden { .. })));
}

/// The defect of issue 20: a "Sulfa drugs" allergy let Sulfamethoxazole + Trimethoprim through.
#[tokio::test]
async fn allergies_are_checked_by_ingredient_and_class_against_the_starter_formulary() {
    use hms_core::clinical::formulary;
    let w = ward().await;
    let s = &w.env.store;
    let (a, d, n) = (auth(s, &w.admin).await, auth(s, &w.doctor).await, auth(s, &w.nurse).await);

    // The formulary loads in one write (one audit entry), skips what the list has, and again
    // adds nothing; a nurse may not load it.
    let audits = common::count(s, "audit_log").await;
    let added = formulary::load(s, &a).await.unwrap();
    assert!(added >= 300 && added < formulary::entries().len(), "the ward's own medicines are kept: {added}");
    assert_eq!(common::count(s, "audit_log").await, audits + 1);
    assert_eq!(formulary::load(s, &a).await.unwrap(), 0);
    assert!(matches!(formulary::load(s, &n).await, Err(Error::Forbidden { .. })));
    let doctor = &d;
    // The first product named exactly so (the search also finds combinations containing it).
    let find = |q: &'static str| async move {
        let all = prescribing::medicines(s, doctor, q).await.unwrap();
        all.iter().find(|m| m.name.eq_ignore_ascii_case(q)).or(all.first()).cloned().unwrap()
    };
    let cotrim = find("sulfamethoxazole").await;
    assert_eq!(cotrim.ingredients, ["Sulfamethoxazole", "Trimethoprim"]);
    let ds = prescribing::medicines(s, &d, "sulfamethoxazole").await.unwrap();
    let ds = ds.iter().find(|m| m.strength == "800 mg + 160 mg").unwrap();
    assert_eq!(ds.usual_dose, "one tablet twice a day");

    // An allergy chosen from the list keeps the words typed and the class chosen.
    let allergy = AllergyInput {
        patient_id: w.patient.clone(),
        substance: "Sulfa drugs".into(),
        allergen: Some("class:sulfonamide_antibiotics".into()),
        reaction: "rash".into(),
        severity: Severity::Severe,
    };
    let recorded = visits::add_allergy(s, &n, allergy.clone()).await.unwrap();
    assert_eq!(recorded.allergen.as_deref(), Some("class:sulfonamide_antibiotics"));
    let bad = AllergyInput { allergen: Some("class:no-such-class".into()), ..allergy.clone() };
    assert_eq!(field_of(visits::add_allergy(s, &n, bad).await), ("allergen".into(), ValidationReason::Invalid));
    let free = AllergyInput { substance: "Bee stings".into(), allergen: None, ..allergy };
    assert_eq!(visits::add_allergy(s, &n, free).await.unwrap().allergen, None, "free text: not checked");

    let visit = open_visit(&w).await;
    match prescribing::prescribe(s, &d, &visit, rx(&cotrim.id)).await {
        Err(Error::ClinicalWarning { warnings }) => {
            assert_eq!(warnings.len(), 1, "trimethoprim is no sulfonamide: {warnings:?}");
            let x = &warnings[0];
            assert_eq!(
                (x.kind, x.subject.as_str(), x.detail.as_str(), x.reason.as_str()),
                (
                    ClinicalWarningKind::Allergy,
                    "Sulfa drugs",
                    "severe: rash",
                    "Sulfamethoxazole is a sulfonamide antibiotic"
                )
            );
        }
        other => panic!("expected an allergy warning, got {other:?}"),
    }
    // A non-antibiotic sulfonamide: the lesser warning; trimethoprim alone: none.
    let furosemide = find("furosemide").await;
    match prescribing::prescribe(s, &d, &visit, rx(&furosemide.id)).await {
        Err(Error::ClinicalWarning { warnings }) => {
            assert_eq!(warnings[0].kind, ClinicalWarningKind::AllergyCrossReaction, "{warnings:?}")
        }
        other => panic!("expected a cross-reaction warning, got {other:?}"),
    }
    prescribing::prescribe(s, &d, &visit, rx(&find("trimethoprim").await.id)).await.unwrap();

    // A medicine added by hand under a combination's name is checked by the ingredients its
    // name names.
    let by_hand = MedicineInput { name: "Co-trimoxazole DS".into(), form: "tablet".into(), ..Default::default() };
    let by_hand = prescribing::add_medicine(s, &a, by_hand).await.unwrap();
    assert_eq!(by_hand.ingredients, ["Sulfamethoxazole", "Trimethoprim"]);
    assert!(matches!(prescribing::prescribe(s, &d, &visit, rx(&by_hand.id)).await, Err(Error::ClinicalWarning { .. })));
    let unknown = MedicineInput { name: "X".into(), ingredients: vec!["no-such".into()], ..Default::default() };
    assert_eq!(
        field_of(prescribing::add_medicine(s, &a, unknown).await),
        ("ingredients".into(), ValidationReason::Invalid)
    );

    // A penicillin allergy flagged at registration as free text warns for piperacillin (a
    // penicillin) and, as the lesser warning, for ceftriaxone.
    let mut p = PatientInput {
        given_name: "Asha".into(),
        family_name: "Pillai".into(),
        sex: "female".into(),
        ..Default::default()
    };
    p.allergies = vec!["Penicillin".into()];
    let asha = patients::register(s, &a, p).await.unwrap().id;
    let v2 = visits::start_visit(s, &d, VisitInput { patient_id: asha, ..Default::default() }).await.unwrap().id;
    let kind_of = |r: Result<_, Error>| match r {
        Err(Error::ClinicalWarning { warnings }) => Some(warnings[0].kind),
        _ => None,
    };
    let pip = find("piperacillin").await;
    assert_eq!(kind_of(prescribing::prescribe(s, &d, &v2, rx(&pip.id)).await), Some(ClinicalWarningKind::Allergy));
    let cef = find("ceftriaxone").await;
    assert_eq!(
        kind_of(prescribing::prescribe(s, &d, &v2, rx(&cef.id)).await),
        Some(ClinicalWarningKind::AllergyCrossReaction)
    );
}

#[tokio::test]
async fn stored_values_that_do_not_read_stop_prescribing_and_results_naming_the_row() {
    let w = ward().await;
    let s = &w.env.store;
    let (d, l) = (auth(s, &w.doctor).await, auth(s, &w.lab).await);
    let visit = open_visit(&w).await;
    let corrupt = |table: &str, id: &str, field: &str| Error::CorruptRecord {
        table: table.into(),
        id: id.into(),
        field: field.into(),
    };
    // The allergies flagged on the patient's record: before, unreadable ones were skipped
    // silently, and the prescription went through unchecked.
    let before = clinical_counts(s).await;
    sqlx::query("UPDATE patients SET allergies = '[\"Penicillin' WHERE id = ?")
        .bind(&w.patient)
        .execute(s.pool())
        .await
        .unwrap();
    let err = prescribing::prescribe(s, &d, &visit, rx(&w.amoxicillin)).await.unwrap_err();
    assert_eq!(err, corrupt("patients", &w.patient, "allergies"));
    assert_eq!(clinical_counts(s).await, before, "nothing written");
    sqlx::query("UPDATE patients SET allergies = '[\"Penicillin\"]' WHERE id = ?")
        .bind(&w.patient)
        .execute(s.pool())
        .await
        .unwrap();
    let warned = prescribing::prescribe(s, &d, &visit, rx(&w.amoxicillin)).await.unwrap_err();
    assert!(matches!(warned, Error::ClinicalWarning { .. }), "{warned:?}");

    // A test's reference bands: a result is never flagged against "no bands" instead.
    let order = lab::order_lab_tests(s, &d, &visit, vec![w.hb.clone()], String::new()).await.unwrap();
    sqlx::query("UPDATE lab_tests SET ranges = '{' WHERE id = ?").bind(&w.hb).execute(s.pool()).await.unwrap();
    let err = lab::enter_result(s, &l, &order[0].id, "9.8").await.unwrap_err();
    assert_eq!(err, corrupt("lab_tests", &w.hb, "ranges"));
    assert_eq!(err.code(), "corrupt_record");
}

/// The lines of the patient's open bill that a lab order charged: (description, price, source).
async fn lab_charges(s: &Store, w: &Ward) -> Vec<(String, i64)> {
    use hms_core::billing::bills;
    let a = auth(s, &w.admin).await;
    let bill = bills::open_bill(s, &a, &w.patient).await.unwrap();
    bill.lines.into_iter().filter(|l| l.source == "lab_order").map(|l| (l.description, l.unit_price_minor)).collect()
}

#[tokio::test]
async fn a_lab_order_is_charged_at_the_tariff_price_and_a_cancel_before_collection_takes_it_off() {
    use hms_core::billing::{bills, tariff, ServiceInput};
    let w = ward().await;
    let s = &w.env.store;
    let (a, d, l) = (auth(s, &w.admin).await, auth(s, &w.doctor).await, auth(s, &w.lab).await);
    // The test's price is the tariff service with the test's code; FBS has none.
    let hb = ServiceInput {
        code: "HB".into(),
        name: "Haemoglobin".into(),
        category: "lab_test".into(),
        tax_rate_bp: 0,
        tax_exempt: true,
        price_minor: 15_000,
        effective_from: None,
    };
    tariff::add_service(s, &a, hb).await.unwrap();
    // The Order dialog shows each test's price as an order would be charged today.
    let prices = lab::lab_test_prices(s, &d).await.unwrap();
    let price_of = |id: &str| prices.iter().find(|p| p.test_id == id).map(|p| (p.price_minor, p.currency.clone()));
    assert_eq!(price_of(&w.hb), Some((Some(15_000), "INR".to_string())));
    assert_eq!(price_of(&w.glucose), Some((None, "INR".to_string())), "no tariff service: no charge");
    assert!(matches!(lab::lab_test_prices(s, &auth(s, &w.reception).await).await, Err(Error::Forbidden { .. })));
    let visit = open_visit(&w).await;
    let orders =
        lab::order_lab_tests(s, &d, &visit, vec![w.hb.clone(), w.glucose.clone()], String::new()).await.unwrap();
    assert_eq!(lab_charges(s, &w).await, vec![("Lab: Haemoglobin".to_string(), 15_000)], "HB charged, FBS not");
    assert!(common::actions(s).await.iter().any(|x| x == "bill.charge"));

    // The work list shows the MRN; collecting records who and when.
    let mrn = hms_core::patients::open(s, &a, &w.patient).await.unwrap().mrn;
    let list = lab::pending_orders(s, &l).await.unwrap();
    assert!(list.iter().all(|o| o.mrn == mrn && o.status == OrderStatus::Ordered && o.collected_at.is_none()));
    assert!(matches!(lab::collect_sample(s, &d, &orders[0].id).await, Err(Error::Forbidden { .. })), "the lab's");
    let collected = lab::collect_sample(s, &l, &orders[0].id).await.unwrap();
    assert_eq!(collected.status, OrderStatus::Collected);
    assert_eq!(collected.collected_by.as_deref(), Some("Staff lab.khan"));
    assert!(collected.collected_at.is_some());
    assert_eq!(field_of(lab::collect_sample(s, &l, &orders[0].id).await).0, "order_id", "collected once");
    let list = lab::pending_orders(s, &l).await.unwrap();
    assert_eq!(list.iter().find(|o| o.id == orders[0].id).map(|o| o.status), Some(OrderStatus::Collected));
    assert!(common::actions(s).await.iter().any(|x| x == "lab.collect"));

    // Collected: no cancelling; the result closes it.
    assert_eq!(field_of(lab::cancel_order(s, &d, &orders[0].id, "not needed").await).0, "order_id");
    lab::enter_result(s, &l, &orders[0].id, "14.1").await.unwrap();
    assert_eq!(lab_charges(s, &w).await.len(), 1, "a resulted test stays charged");

    // Not collected: a reason is needed; cancelling takes the charge off the open bill.
    let again = lab::order_lab_tests(s, &d, &visit, vec![w.hb.clone()], String::new()).await.unwrap();
    assert_eq!(lab_charges(s, &w).await.len(), 2);
    assert!(matches!(lab::cancel_order(s, &l, &again[0].id, "duplicate").await, Err(Error::Forbidden { .. })));
    assert_eq!(field_of(lab::cancel_order(s, &d, &again[0].id, " ").await).0, "reason");
    let cancelled = lab::cancel_order(s, &d, &again[0].id, "ordered twice").await.unwrap();
    assert!(matches!(cancelled.charge, hms_core::billing::Uncharged::Removed { .. }), "{:?}", cancelled.charge);
    let cancelled = cancelled.order;
    assert_eq!((cancelled.status, cancelled.cancel_reason.as_str()), (OrderStatus::Cancelled, "ordered twice"));
    assert_eq!(lab_charges(s, &w).await.len(), 1, "the cancelled order's charge is off the bill");
    assert!(!lab::pending_orders(s, &l).await.unwrap().iter().any(|o| o.id == again[0].id));
    assert_eq!(field_of(lab::collect_sample(s, &l, &again[0].id).await).0, "order_id", "cancelled");

    // On an issued invoice the charge stays (the billing desk credits it); the cancel is audited.
    let third = lab::order_lab_tests(s, &d, &visit, vec![w.hb.clone()], String::new()).await.unwrap();
    let bill = bills::open_bill(s, &a, &w.patient).await.unwrap();
    bills::finalize(s, &a, &bill.id).await.unwrap();
    let late = lab::cancel_order(s, &d, &third[0].id, "patient left").await.unwrap();
    let issued = bills::get(s, &a, &bill.id).await.unwrap();
    // The doctor is told: the charge is on invoice N and the billing desk must credit it.
    assert_eq!(
        late.charge,
        hms_core::billing::Uncharged::Invoiced { bill_id: bill.id.clone(), number: issued.number.clone() }
    );
    assert!(issued.number.is_some());
    assert_eq!(issued.lines.iter().filter(|l| l.source == "lab_order").count(), 2);
    let detail: String =
        sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'lab.cancel' ORDER BY seq DESC LIMIT 1")
            .fetch_one(s.pool())
            .await
            .unwrap();
    assert!(detail.contains("invoiced"), "{detail}");
}

#[tokio::test]
async fn a_prescription_is_edited_with_the_checks_run_again_or_stopped_with_a_reason() {
    let w = ward().await;
    let s = &w.env.store;
    let (n, d) = (auth(s, &w.nurse).await, auth(s, &w.doctor).await);
    let visit = open_visit(&w).await;
    let para = prescribing::prescribe(s, &d, &visit, rx(&w.paracetamol)).await.unwrap();
    let amox = prescribing::prescribe(s, &d, &visit, rx(&w.amoxicillin)).await.unwrap();

    // A new dose and frequency; the prescription is not its own duplicate.
    let change = PrescriptionInput { dose: "2".into(), frequency: "1-1-1".into(), duration_days: Some(3), ..rx("") };
    assert!(matches!(
        prescribing::update_prescription(s, &n, &para.id, change.clone()).await,
        Err(Error::Forbidden { .. })
    ));
    let edited = prescribing::update_prescription(s, &d, &para.id, change.clone()).await.unwrap();
    assert_eq!((edited.dose.as_str(), edited.frequency.as_str(), edited.duration_days), ("2", "1-1-1", Some(3)));
    assert!(edited.warnings.is_empty() && edited.override_reason.is_none());
    let other = PrescriptionInput { medicine_id: w.metformin.clone(), ..change.clone() };
    assert_eq!(field_of(prescribing::update_prescription(s, &d, &para.id, other).await).0, "medicine_id");
    let bad = PrescriptionInput { duration_days: Some(0), ..change.clone() };
    assert_eq!(field_of(prescribing::update_prescription(s, &d, &para.id, bad).await).0, "duration_days");
    let detail: String = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'prescription.update' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(s.pool())
    .await
    .unwrap();
    assert!(detail.contains(r#""before":{"#) && detail.contains(r#""frequency":"1-1-1""#), "{detail}");

    // An allergy recorded since: editing runs the check again and needs a reason.
    let allergy = AllergyInput {
        patient_id: w.patient.clone(),
        allergen: None,
        substance: "amoxicillin".into(),
        reaction: "Rash".into(),
        severity: Severity::Severe,
    };
    visits::add_allergy(s, &n, allergy).await.unwrap();
    match prescribing::update_prescription(s, &d, &amox.id, change.clone()).await {
        Err(Error::ClinicalWarning { warnings }) => assert_eq!(warnings[0].kind, ClinicalWarningKind::Allergy),
        other => panic!("expected the allergy warning again, got {other:?}"),
    }
    let reasoned = PrescriptionInput { override_reason: Some("Tolerated it for a week".into()), ..change.clone() };
    let kept = prescribing::update_prescription(s, &d, &amox.id, reasoned).await.unwrap();
    assert_eq!(kept.override_reason.as_deref(), Some("Tolerated it for a week"));
    assert_eq!(kept.warnings.len(), 1);

    // Stopped: out of the current medicines, shown stopped in the visit, changed no more.
    assert_eq!(field_of(prescribing::stop_prescription(s, &d, &amox.id, "").await).0, "reason");
    let stopped = prescribing::stop_prescription(s, &d, &amox.id, "Rash came back").await.unwrap();
    assert_eq!((stopped.stop_reason.as_str(), stopped.stopped_by.as_deref()), ("Rash came back", Some("Staff dr.rao")));
    assert!(stopped.stopped_at.is_some());
    let chart = chart::chart_summary(s, &d, &w.patient).await.unwrap();
    assert_eq!(chart.current_medicines.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), vec![para.id.as_str()]);
    let listed = prescribing::visit_prescriptions(s, &d, &visit).await.unwrap();
    assert!(listed.iter().any(|p| p.id == amox.id && p.stop_reason == "Rash came back"));
    let sheet = hms_core::clinical::prescription_pdf::sheet(s, &visit).await.unwrap();
    assert_eq!(sheet.items.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), vec![para.id.as_str()], "not printed");
    assert_eq!(field_of(prescribing::stop_prescription(s, &d, &amox.id, "again").await).0, "prescription_id");
    assert_eq!(field_of(prescribing::update_prescription(s, &d, &amox.id, change).await).0, "prescription_id");
    let actions = common::actions(s).await;
    assert!(actions.iter().any(|x| x == "prescription.stop"));
}
