//! Restricted charts and emergency ("break-glass") access (issue 14): every clinical read of
//! a restricted chart answers `chart_restricted` to a doctor or nurse off its care team, an
//! emergency access with a reason opens it for 60 minutes of the clinic's clock, and the
//! administrator reviews each one.

mod common;
#[path = "common/ward.rs"]
mod ward;

use chrono::{Duration, Utc};
use hms_core::clinical::attachments::{self, AttachmentInput};
use hms_core::clinical::restriction::{self, BREAK_GLASS_ACTION};
use hms_core::clinical::{
    chart, lab, lab_pdf, prescribing, prescription_pdf, visit_summary_pdf, visits, AllergyInput, Certainty,
    ConsultationInput, DiagnosisInput, PrescriptionInput, Severity, VisitInput, VisitNotes, VitalsInput,
};
use hms_core::error::ValidationReason;
use hms_core::printouts;
use hms_core::schedule::staff;
use hms_core::{Authorized, Error, Store};
use ward::{auth, field_of, sign_in, ward, Ward};

fn restricted<T: std::fmt::Debug>(what: &str, r: Result<T, Error>, patient: &str) {
    match r {
        Err(Error::ChartRestricted { patient_id }) => assert_eq!(patient_id, patient, "{what}"),
        other => panic!("{what}: expected chart_restricted, got {other:?}"),
    }
}

/// A second doctor with a staff profile, on no care team yet.
async fn other_doctor(w: &Ward) -> Authorized {
    let s = &w.env.store;
    let a = auth(s, &w.admin).await;
    let user = common::add_user(s, &w.admin, "dr.iyer", &["doctor"]).await;
    let profile = staff::StaffInput {
        full_name: "Dr Meera Iyer".into(),
        role: "doctor".into(),
        user_id: Some(user),
        ..Default::default()
    };
    staff::add_staff(s, &a, profile).await.unwrap();
    auth(s, &sign_in(s, "dr.iyer").await).await
}

/// Dr Rao's consultation: a visit with vitals, a prescription and a lab order; the
/// prescription printed, and a document attached.
async fn consultation(w: &Ward) -> (String, String, String, String) {
    let s = &w.env.store;
    let d = auth(s, &w.doctor).await;
    let input = ConsultationInput {
        visit: VisitInput { patient_id: w.patient.clone(), complaints: "Fever".into(), ..Default::default() },
        vitals: Some(VitalsInput { pulse: Some(88), ..Default::default() }),
        diagnoses: vec![],
        prescriptions: vec![PrescriptionInput {
            medicine_id: w.paracetamol.clone(),
            dose: "1".into(),
            dose_unit: "tablet".into(),
            route: "oral".into(),
            frequency: "1-0-1".into(),
            duration_days: Some(3),
            ..Default::default()
        }],
        lab_test_ids: vec![w.hb.clone()],
    };
    let c = chart::save_consultation(s, &d, input).await.unwrap();
    let printed = prescription_pdf::prescription_pdf(s, &d, &c.visit.id).await.unwrap();
    let doc = AttachmentInput {
        patient_id: w.patient.clone(),
        visit_id: None,
        file_name: "referral.pdf".into(),
        note: String::new(),
    };
    let att = attachments::add(s, &d, doc, b"%PDF-1.4\n% referral\n%%EOF\n").await.unwrap();
    (c.visit.id, c.lab_orders[0].id.clone(), printed.printout.id, att.id)
}

async fn actions(s: &Store, action: &str) -> Vec<(Option<String>, Option<String>, String)> {
    sqlx::query_as("SELECT user_id, entity_id, detail FROM audit_log WHERE action = ? ORDER BY seq")
        .bind(action)
        .fetch_all(s.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn every_read_of_a_restricted_chart_refuses_a_doctor_off_its_care_team() {
    let w = ward().await;
    let s = &w.env.store;
    let (visit, order, printout, attachment) = consultation(&w).await;
    let rao = auth(s, &w.doctor).await;
    let iyer = other_doctor(&w).await;
    let p = w.patient.as_str();
    // Not restricted: every clinician reads it.
    chart::chart_summary(s, &iyer, p).await.unwrap();

    let r = restriction::restrict(s, &rao, p, "  Staff member  as patient ").await.unwrap();
    assert_eq!(r.reason, "Staff member as patient");
    assert_eq!(r.restricted_by_name, "Staff dr.rao");
    let audited = actions(s, "chart.restrict").await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].1.as_deref(), Some(p));

    restricted("chart", chart::chart_summary(s, &iyer, p).await, p);
    restricted("timeline", chart::visits(s, &iyer, p, None, 20).await, p);
    restricted("visit", visits::visit(s, &iyer, &visit).await, p);
    restricted("vitals", visits::vitals_history(s, &iyer, p, 10).await, p);
    restricted("prescriptions", prescribing::visit_prescriptions(s, &iyer, &visit).await, p);
    restricted("attachments", attachments::list(s, &iyer, p, None).await, p);
    restricted("attachment", attachments::open(s, &iyer, &attachment).await.map(|a| a.attachment.id), p);
    restricted("prescription pdf", prescription_pdf::prescription_pdf(s, &iyer, &visit).await, p);
    restricted("visit summary", visit_summary_pdf::visit_summary_pdf(s, &iyer, &visit).await, p);
    restricted("lab report", lab_pdf::lab_report_pdf(s, &iyer, &order).await, p);
    restricted("printout", printouts::get(s, &iyer, &printout).await, p);
    let walk_in = VisitInput { patient_id: p.to_string(), ..Default::default() };
    restricted("a new visit", visits::start_visit(s, &iyer, walk_in).await, p);
    let nurse = auth(s, &w.nurse).await;
    restricted("nurse's chart", chart::chart_summary(s, &nurse, p).await, p);
    let admin = auth(s, &w.admin).await;
    restricted("administrator's chart", chart::chart_summary(s, &admin, p).await, p);

    // The allergies stay visible to whoever may read charts (prescribing safety).
    visits::allergies(s, &iyer, p).await.unwrap();
    // The care team: the doctor who restricted it (and saw the patient) reads everything.
    chart::chart_summary(s, &rao, p).await.unwrap();
    visits::visit(s, &rao, &visit).await.unwrap();
    attachments::open(s, &rao, &attachment).await.unwrap();
    // The lab processes its orders whatever the chart.
    let lab = auth(s, &w.lab).await;
    lab_pdf::lab_report_pdf(s, &lab, &order).await.unwrap();
    // The receptionist still may not read charts at all.
    let desk = auth(s, &w.reception).await;
    assert!(matches!(chart::chart_summary(s, &desk, p).await, Err(Error::Forbidden { .. })));

    let access = restriction::access(s, &iyer, p).await.unwrap();
    assert!(!access.open && access.can_break_glass && !access.can_restrict);
    assert_eq!(access.restriction.map(|r| r.id), Some(r.id));
    let access = restriction::access(s, &rao, p).await.unwrap();
    assert!(access.open && !access.can_break_glass && access.can_restrict);
}

#[tokio::test]
async fn an_appointment_with_the_patient_puts_a_doctor_on_the_care_team() {
    let w = ward().await;
    let s = &w.env.store;
    let iyer = other_doctor(&w).await;
    let admin = auth(s, &w.admin).await;
    restriction::restrict(s, &admin, &w.patient, "VIP").await.unwrap();
    restricted("before", chart::chart_summary(s, &iyer, &w.patient).await, &w.patient);
    let iyer_staff: String =
        sqlx::query_scalar("SELECT id FROM staff WHERE full_name = 'Dr Meera Iyer'").fetch_one(s.pool()).await.unwrap();
    // A booking as reception makes it (written directly: the booking rules are not the point).
    sqlx::query(
        "INSERT INTO appointments (id, patient_id, doctor_id, date, start_min, end_min, starts_at, ends_at, status,
             created_at, updated_at, origin_device)
         VALUES ('0190c2a0-0000-7000-8000-0000000000e1', ?, ?, '2026-12-05', 600, 615, '2026-12-05T10:00:00Z',
             '2026-12-05T10:15:00Z', 'booked', '2026-12-05T09:00:00Z', '0001732270000000-000000-d', 'd')",
    )
    .bind(&w.patient)
    .bind(&iyer_staff)
    .execute(s.pool())
    .await
    .unwrap();
    chart::chart_summary(s, &iyer, &w.patient).await.unwrap();
    // A nurse is never on it through an appointment.
    restricted("nurse", chart::chart_summary(s, &auth(s, &w.nurse).await, &w.patient).await, &w.patient);
}

/// Rows of the record in one statement's reach: nothing written means their count is unchanged.
async fn record_rows(s: &Store) -> i64 {
    sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM vitals) + (SELECT COUNT(*) FROM diagnoses) + (SELECT COUNT(*) FROM prescriptions) \
         + (SELECT COUNT(*) FROM lab_orders) + (SELECT COUNT(*) FROM attachments) \
         + (SELECT COUNT(*) FROM visits WHERE closed_at IS NOT NULL)",
    )
    .fetch_one(s.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn every_write_into_a_restricted_chart_refuses_whoever_is_off_its_care_team() {
    let w = ward().await;
    let s = &w.env.store;
    let (visit, _order, _printout, _attachment) = consultation(&w).await;
    let rao = auth(s, &w.doctor).await;
    let iyer = other_doctor(&w).await;
    let nurse = auth(s, &w.nurse).await;
    let p = w.patient.as_str();
    let diagnosis = visits::add_diagnosis(
        s,
        &rao,
        &visit,
        DiagnosisInput { icd10: None, text: "Viral fever".into(), certainty: Certainty::Provisional },
    )
    .await
    .unwrap();
    let rx: String = sqlx::query_scalar("SELECT id FROM prescriptions WHERE visit_id = ?")
        .bind(&visit)
        .fetch_one(s.pool())
        .await
        .unwrap();
    restriction::restrict(s, &rao, p, "Staff member as patient").await.unwrap();
    let before = record_rows(s).await;

    let notes = VisitNotes { complaints: "Fever, cough".into(), ..Default::default() };
    restricted("visit notes", visits::update_visit(s, &iyer, &visit, notes.clone()).await, p);
    restricted("close the visit", visits::close_visit(s, &iyer, &visit).await, p);
    let vitals = VitalsInput { patient_id: p.to_string(), pulse: Some(90), ..Default::default() };
    restricted("nurse's vitals", visits::record_vitals(s, &nurse, vitals.clone()).await, p);
    let dx = DiagnosisInput { icd10: None, text: "Dengue".into(), certainty: Certainty::Provisional };
    restricted("a diagnosis", visits::add_diagnosis(s, &iyer, &visit, dx).await, p);
    restricted("resolve a diagnosis", visits::resolve_diagnosis(s, &iyer, &diagnosis.id).await, p);
    let line = PrescriptionInput {
        medicine_id: w.paracetamol.clone(),
        dose: "1".into(),
        dose_unit: "tablet".into(),
        route: "oral".into(),
        frequency: "1-1-1".into(),
        duration_days: Some(2),
        ..Default::default()
    };
    restricted("a prescription", prescribing::prescribe(s, &iyer, &visit, line.clone()).await, p);
    restricted("change a prescription", prescribing::update_prescription(s, &iyer, &rx, line).await, p);
    restricted("stop a prescription", prescribing::stop_prescription(s, &iyer, &rx, "Not needed").await, p);
    restricted("a lab order", lab::order_lab_tests(s, &iyer, &visit, vec![w.hb.clone()], String::new()).await, p);
    let doc = AttachmentInput {
        patient_id: p.to_string(),
        visit_id: None,
        file_name: "x-ray.pdf".into(),
        note: String::new(),
    };
    restricted("a document", attachments::add(s, &nurse, doc, b"%PDF-1.4\n%%EOF\n").await, p);
    assert_eq!(record_rows(s).await, before, "nothing of a refused write is kept");

    // The care team writes as before; an allergy may be recorded by anyone who learns of it.
    visits::update_visit(s, &rao, &visit, notes).await.unwrap();
    visits::resolve_diagnosis(s, &rao, &diagnosis.id).await.unwrap();
    let allergy = AllergyInput {
        patient_id: p.to_string(),
        allergen: None,
        substance: "amoxicillin".into(),
        reaction: "Rash".into(),
        severity: Severity::Severe,
    };
    visits::add_allergy(s, &nurse, allergy).await.unwrap();
    // Under emergency access the nurse records vitals.
    restriction::break_glass(s, &nurse, p, "Collapsed in the waiting room").await.unwrap();
    visits::record_vitals(s, &nurse, vitals).await.unwrap();
}

#[tokio::test]
async fn emergency_access_needs_a_reason_lasts_an_hour_and_is_reviewed() {
    let w = ward().await;
    let s = &w.env.store;
    let p = w.patient.as_str();
    let admin = auth(s, &w.admin).await;
    let nurse = auth(s, &w.nurse).await;
    // Only doctors and the administrator restrict; nothing is restricted yet, so no emergency.
    assert!(matches!(restriction::restrict(s, &nurse, p, "x").await, Err(Error::Forbidden { .. })));
    assert_eq!(
        field_of(restriction::restrict(s, &admin, p, "   ").await),
        ("reason".into(), ValidationReason::Required)
    );
    assert_eq!(field_of(restriction::break_glass(s, &nurse, p, "Collapsed in the waiting room").await).0, "patient_id");
    restriction::restrict(s, &admin, p, "Psychiatric care").await.unwrap();
    assert_eq!(
        field_of(restriction::restrict(s, &admin, p, "again").await),
        ("patient_id".into(), ValidationReason::Invalid)
    );

    assert_eq!(
        field_of(restriction::break_glass(s, &nurse, p, "  ").await),
        ("reason".into(), ValidationReason::Required)
    );
    assert_eq!(
        field_of(restriction::break_glass(s, &nurse, p, "urgent").await),
        ("reason".into(), ValidationReason::TooShort)
    );
    // The administrator lifts a restriction rather than breaking the glass.
    assert!(matches!(
        restriction::break_glass(s, &admin, p, "Checking the record").await,
        Err(Error::Forbidden { .. })
    ));
    assert!(actions(s, BREAK_GLASS_ACTION).await.is_empty(), "a refused request records nothing");

    let start = Utc::now();
    s.set_now(Some(start));
    let grant = restriction::break_glass(s, &nurse, p, "Collapsed in the waiting room").await.unwrap();
    assert_eq!(grant.until, (start + Duration::minutes(60)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    chart::chart_summary(s, &nurse, p).await.unwrap();
    let access = restriction::access(s, &nurse, p).await.unwrap();
    assert!(access.open);
    assert_eq!(access.emergency_until.as_deref(), Some(grant.until.as_str()));
    let entries = actions(s, BREAK_GLASS_ACTION).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].1.as_deref(), Some(p));
    let detail: serde_json::Value = serde_json::from_str(&entries[0].2).unwrap();
    assert_eq!(detail["break_glass"], true);
    assert_eq!(detail["reason"], "Collapsed in the waiting room");
    // The chart read under it is audited as usual.
    assert_eq!(actions(s, "chart.open").await.last().and_then(|e| e.0.clone()), Some(nurse.user_id.clone()));

    s.set_now(Some(start + Duration::minutes(59)));
    chart::chart_summary(s, &nurse, p).await.unwrap();
    s.set_now(Some(start + Duration::minutes(61)));
    restricted("after the hour", chart::chart_summary(s, &nurse, p).await, p);

    // The administrator's list: who, which patient, when, why; reviewing takes it off.
    assert!(matches!(restriction::break_glass_pending(s, &nurse).await, Err(Error::Forbidden { .. })));
    let pending = restriction::break_glass_pending(s, &admin).await.unwrap();
    assert_eq!(pending.len(), 1);
    let e = &pending[0];
    assert_eq!((e.entry_id.as_str(), e.patient_id.as_str()), (grant.entry_id.as_str(), p));
    assert_eq!((e.user_name.as_str(), e.patient_name.as_str()), ("Staff n.joseph", "Ravi Sharma"));
    assert_eq!(e.reason, "Collapsed in the waiting room");
    assert!(!e.mrn.is_empty());
    assert!(matches!(
        restriction::break_glass_review(s, &admin, "0190c2a0-0000-7000-8000-000000000000", "").await,
        Err(Error::NotFound { .. })
    ));
    restriction::break_glass_review(s, &admin, &grant.entry_id, "Confirmed with casualty").await.unwrap();
    assert!(restriction::break_glass_pending(s, &admin).await.unwrap().is_empty());
    assert_eq!(
        field_of(restriction::break_glass_review(s, &admin, &grant.entry_id, "").await),
        ("entry_id".into(), ValidationReason::Invalid)
    );
    let reviews = actions(s, "chart.break_glass_review").await;
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0].1.as_deref(), Some(grant.entry_id.as_str()));
}

#[tokio::test]
async fn a_restriction_syncs_and_is_lifted_by_its_care_team_or_the_administrator() {
    let w = ward().await;
    let s = &w.env.store;
    let p = w.patient.as_str();
    let rao = auth(s, &w.doctor).await;
    let iyer = other_doctor(&w).await;
    let r = restriction::restrict(s, &rao, p, "Colleague as patient").await.unwrap();
    let logged: Vec<(String, String)> = sqlx::query_as(
        "SELECT op, data FROM change_log WHERE entity = 'chart_restrictions' AND entity_id = ? ORDER BY seq",
    )
    .bind(&r.id)
    .fetch_all(s.pool())
    .await
    .unwrap();
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].0, "insert");
    assert!(logged[0].1.contains("Colleague as patient"));

    // A doctor off the care team cannot lift it (that would be a way around it).
    restricted("lift", restriction::lift(s, &iyer, p, "").await, p);
    restriction::lift(s, &rao, p, "Discharged").await.unwrap();
    chart::chart_summary(s, &iyer, p).await.unwrap();
    let ops: Vec<String> =
        sqlx::query_scalar("SELECT op FROM change_log WHERE entity = 'chart_restrictions' ORDER BY seq")
            .fetch_all(s.pool())
            .await
            .unwrap();
    assert_eq!(ops, ["insert", "update"]);
    assert_eq!(actions(s, "chart.lift_restriction").await.len(), 1);
    assert_eq!(field_of(restriction::lift(s, &rao, p, "").await), ("patient_id".into(), ValidationReason::Invalid));
    // The administrator lifts any.
    restriction::restrict(s, &iyer, p, "Again").await.unwrap();
    // Rao restricted the first one only: off the team of this one (no visit here).
    restricted("rao", chart::chart_summary(s, &rao, p).await, p);
    restriction::lift(s, &auth(s, &w.admin).await, p, "").await.unwrap();
    chart::chart_summary(s, &rao, p).await.unwrap();
}
