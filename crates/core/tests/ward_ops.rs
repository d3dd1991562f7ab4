//! Admitting from a visit or the queue (the admit dialog's draft, the visit kept on the
//! admission), the deposit taken with the admission (one transaction; on the bill and applied
//! when it is finalised), and the handover of a ward's shift. t0 is 2026-12-01 10:00 UTC.

mod common;
#[path = "common/hospital.rs"]
mod hospital;
#[path = "common/ward.rs"]
mod ward;

use chrono::Duration;
use hms_core::billing::bills;
use hms_core::billing::model::{PaymentInput, PaymentKind, PaymentMode};
use hms_core::clinical::{visits, AllergyInput, Certainty, DiagnosisInput, Severity, VisitInput, VitalsInput};
use hms_core::inpatients::handover;
use hms_core::inpatients::intake_output::{self, IoInput};
use hms_core::inpatients::mar::{self, DoseInput};
use hms_core::inpatients::notes::{self, NoteInput, Shift};
use hms_core::inpatients::orders::{self, OrderInput};
use hms_core::inpatients::{admit_from, stays, AdmitExtras, DischargeInput};
use hms_core::schedule::queue;
use hms_core::{Error, Store, ValidationReason};
use hospital::{hospital, Hospital, GENERAL_DAY};
use ward::field_of;

async fn counts(s: &Store) -> [i64; 5] {
    [
        common::count(s, "admissions").await,
        common::count(s, "bed_events").await,
        common::count(s, "payments").await,
        common::count(s, "change_log").await,
        common::count(s, "audit_log").await,
    ]
}

fn forbidden<T: std::fmt::Debug>(r: Result<T, Error>, permission: &str) {
    match r {
        Err(Error::Forbidden { permission: p }) => assert_eq!(p, permission),
        other => panic!("expected forbidden ({permission}), got {other:?}"),
    }
}

async fn visit_with_diagnosis(h: &Hospital, patient: usize) -> String {
    let s = &h.w.env.store;
    let visit = visits::start_visit(
        s,
        &h.doctor,
        VisitInput {
            patient_id: h.patients[patient].clone(),
            complaints: "\n  Sore throat,   fever for five days\nNo cough".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    visits::add_diagnosis(
        s,
        &h.doctor,
        &visit.id,
        DiagnosisInput { icd10: Some("J03.90".into()), text: String::new(), certainty: Certainty::Provisional },
    )
    .await
    .unwrap();
    visit.id
}

#[tokio::test]
async fn the_doctors_admit_from_a_visit_is_filled_in_and_keeps_the_visit() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let visit = visit_with_diagnosis(&h, 0).await;
    let draft = admit_from::from_visit(s, &h.doctor, &visit).await.unwrap();
    assert_eq!(draft.patient_id, h.patients[0]);
    assert_eq!(draft.doctor_id, h.w.doctor_staff);
    assert_eq!(draft.reason, "Sore throat, fever for five days", "the complaints' first line");
    assert_eq!(draft.diagnosis_code, "J03.90");
    assert!(!draft.diagnosis_text.is_empty());
    assert_eq!(draft.visit_id.as_deref(), Some(visit.as_str()));
    forbidden(admit_from::from_visit(s, &h.desk, &visit).await, "clinical_view");
    let unknown = admit_from::from_visit(s, &h.doctor, "01900000-0000-7000-8000-000000000000").await;
    assert_eq!(field_of(unknown), ("visit_id".into(), ValidationReason::Invalid));

    // Another patient's visit is not this admission's.
    let before = counts(s).await;
    let input = hms_core::inpatients::AdmitInput {
        reason: draft.reason.clone(),
        diagnosis_code: draft.diagnosis_code.clone(),
        ..h.admit_input(1, Some(&h.a1))
    };
    let theirs =
        stays::admit_with(s, &h.doctor, input, AdmitExtras { visit_id: Some(visit.clone()), deposit: None }).await;
    assert_eq!(field_of(theirs), ("visit_id".into(), ValidationReason::Invalid));
    assert_eq!(counts(s).await, before, "nothing written");

    let input = hms_core::inpatients::AdmitInput {
        doctor_id: draft.doctor_id.clone(),
        reason: draft.reason.clone(),
        diagnosis_code: draft.diagnosis_code.clone(),
        ..h.admit_input(0, Some(&h.a1))
    };
    let stay = stays::admit_with(s, &h.doctor, input, AdmitExtras { visit_id: draft.visit_id.clone(), deposit: None })
        .await
        .unwrap();
    assert_eq!((stay.diagnosis_code.as_str(), stay.bed_id.as_deref()), ("J03.90", Some(h.a1.as_str())));
    let kept: Option<String> = sqlx::query_scalar("SELECT visit_id FROM admissions WHERE id = ?")
        .bind(&stay.id)
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some(visit.as_str()));
}

#[tokio::test]
async fn the_queue_admits_a_patient_checked_in_or_with_the_doctor() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let appt = queue::walk_in(s, &h.desk, &h.patients[1], &h.w.doctor_staff, "Chest pain on exertion").await.unwrap();
    // Reception: the appointment's patient, doctor and reason; no visit yet.
    let draft = admit_from::from_appointment(s, &h.desk, &appt.id).await.unwrap();
    assert_eq!(
        (draft.patient_id.as_str(), draft.doctor_id.as_str(), draft.reason.as_str(), draft.visit_id.as_deref()),
        (h.patients[1].as_str(), h.w.doctor_staff.as_str(), "Chest pain on exertion", None)
    );
    forbidden(admit_from::from_appointment(s, &h.nurse, &appt.id).await, "inpatients_admit");
    // Once the doctor opened the visit, the doctor gets the visit's draft; reception still the
    // appointment's (it may not read the chart).
    let visit = visits::start_visit(
        s,
        &h.doctor,
        VisitInput { patient_id: h.patients[1].clone(), appointment_id: Some(appt.id.clone()), ..Default::default() },
    )
    .await
    .unwrap();
    let doctors = admit_from::from_appointment(s, &h.doctor, &appt.id).await.unwrap();
    assert_eq!(doctors.visit_id.as_deref(), Some(visit.id.as_str()));
    assert_eq!(doctors.reason, "Chest pain on exertion", "an empty visit keeps the appointment's reason");
    assert_eq!(admit_from::from_appointment(s, &h.desk, &appt.id).await.unwrap().visit_id, None);
    // Done (or not yet arrived) is not in the queue to admit from.
    sqlx::query("UPDATE appointments SET status = 'done' WHERE id = ?").bind(&appt.id).execute(s.pool()).await.unwrap();
    let done = admit_from::from_appointment(s, &h.desk, &appt.id).await;
    assert_eq!(field_of(done), ("appointment_id".into(), ValidationReason::Invalid));
}

fn cash(amount: i64) -> PaymentInput {
    PaymentInput { mode: PaymentMode::Cash, amount_minor: amount, reference: String::new(), note: String::new() }
}

#[tokio::test]
async fn a_deposit_at_admission_is_one_write_with_it_and_the_final_bill_applies_it() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let deposit = |amount| AdmitExtras { visit_id: None, deposit: Some(cash(amount)) };
    let before = counts(s).await;
    // The doctor admits but takes no money; a refused deposit leaves no admission.
    forbidden(stays::admit_with(s, &h.doctor, h.admit_input(0, Some(&h.a1)), deposit(200_000)).await, "billing_edit");
    let zero = stays::admit_with(s, &h.desk, h.admit_input(0, Some(&h.a1)), deposit(0)).await;
    assert_eq!(field_of(zero), ("amount_minor".into(), ValidationReason::OutOfRange));
    let insured =
        AdmitExtras { visit_id: None, deposit: Some(PaymentInput { mode: PaymentMode::Insurance, ..cash(200_000) }) };
    let insured = stays::admit_with(s, &h.desk, h.admit_input(0, Some(&h.a1)), insured).await;
    assert_eq!(field_of(insured), ("mode".into(), ValidationReason::Invalid));
    // A refused admission takes no deposit either.
    let nobody = hms_core::inpatients::AdmitInput { ward_id: "nope".into(), ..h.admit_input(0, Some(&h.a1)) };
    assert_eq!(
        field_of(stays::admit_with(s, &h.desk, nobody, deposit(200_000)).await),
        ("ward_id".into(), ValidationReason::Invalid)
    );
    assert_eq!(counts(s).await, before, "nothing written");

    let stay = stays::admit_with(s, &h.desk, h.admit_input(0, Some(&h.a1)), deposit(200_000)).await.unwrap();
    let after = counts(s).await;
    assert_eq!((after[0] - before[0], after[2] - before[2]), (1, 1), "one admission, one advance");
    let actions = common::actions(s).await;
    assert_eq!(actions[actions.len() - 2..], ["inpatient.admit".to_string(), "bill.advance".to_string()]);
    let bills = bills::patient_bills(s, &h.desk, &h.patients[0]).await.unwrap();
    assert_eq!(bills.len(), 1);
    let bill = bills::get(s, &h.desk, &bills[0].id).await.unwrap();
    let advances: Vec<(PaymentKind, i64)> = bill.payments.iter().map(|p| (p.kind, p.amount_minor)).collect();
    assert_eq!(advances, vec![(PaymentKind::Advance, 200_000)]);

    // Two nights later the doctor discharges; the bed-days go on the same bill, and the desk
    // finalises it with the deposit applied.
    h.w.env.store.set_now(Some(h.t0 + Duration::hours(50)));
    stays::discharge(
        s,
        &h.doctor,
        DischargeInput {
            admission_id: stay.id.clone(),
            discharge_type: "home".into(),
            discharged_at: None,
            note: String::new(),
        },
    )
    .await
    .unwrap();
    let bill = bills::finalize(s, &h.desk, &bill.id).await.unwrap();
    assert_eq!(bill.totals.total, 2 * GENERAL_DAY);
    assert_eq!((bill.paid_minor, bill.due_minor), (200_000, 2 * GENERAL_DAY - 200_000));
}

#[tokio::test]
async fn the_handover_sums_up_each_inpatient_of_the_shift() {
    let h = hospital().await;
    let s = &h.w.env.store;
    hms_core::settings::set_time_zone(s, &h.admin, "Asia/Kolkata").await.unwrap();
    let visit = visit_with_diagnosis(&h, 0).await;
    let draft = admit_from::from_visit(s, &h.doctor, &visit).await.unwrap();
    let input = hms_core::inpatients::AdmitInput {
        diagnosis_code: draft.diagnosis_code.clone(),
        ..h.admit_input(0, Some(&h.a1))
    };
    let stay = stays::admit(s, &h.doctor, input).await.unwrap();
    let waiting = stays::admit(s, &h.doctor, h.admit_input(1, None)).await.unwrap();
    visits::add_allergy(
        s,
        &h.doctor,
        AllergyInput {
            patient_id: h.patients[0].clone(),
            substance: "Penicillin".into(),
            allergen: None,
            reaction: "rash".into(),
            severity: Severity::Severe,
        },
    )
    .await
    .unwrap();
    // Every 6 hours from 10:00 UTC (15:30 in Kolkata): 16:00 and 22:00 UTC fall in the
    // evening (15:00-23:00 = 09:30-17:30 UTC) and the night (17:30-01:30 UTC) of 1 Dec.
    let q6 = orders::order(
        s,
        &h.doctor,
        OrderInput {
            admission_id: stay.id.clone(),
            kind: "medicine".into(),
            medicine_id: Some(h.w.paracetamol.clone()),
            dose: "1".into(),
            dose_unit: "tablet".into(),
            route: "oral".into(),
            schedule: Some("every".into()),
            every_hours: Some(6),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    h.w.env.store.set_now(Some(h.t0 + Duration::minutes(10)));
    let dose = |at: &str, outcome: &str, reason: &str| DoseInput {
        order_id: q6.id.clone(),
        scheduled_at: Some(at.into()),
        outcome: outcome.into(),
        reason: reason.into(),
        given_at: None,
    };
    mar::record(s, &h.nurse, dose("2026-12-01T10:00:00Z", "given", "")).await.unwrap();
    h.w.env.store.set_now(Some(h.t0 + Duration::hours(6) + Duration::minutes(5)));
    mar::record(s, &h.nurse, dose("2026-12-01T16:00:00Z", "held", "Nil by mouth")).await.unwrap();
    notes::add_note(
        s,
        &h.nurse,
        NoteInput {
            admission_id: stay.id.clone(),
            kind: "nursing".into(),
            shift: Some("evening".into()),
            body: "Comfortable.".into(),
        },
    )
    .await
    .unwrap();
    visits::record_vitals(
        s,
        &h.nurse,
        VitalsInput {
            patient_id: h.patients[0].clone(),
            temperature_c_x10: Some(389),
            pulse: Some(88),
            spo2: Some(91),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    for (direction, kind, ml) in [("intake", "oral", 300), ("output", "urine", 450)] {
        let e = IoInput {
            admission_id: stay.id.clone(),
            direction: direction.into(),
            kind: kind.into(),
            volume_ml: ml,
            ..Default::default()
        };
        intake_output::record(s, &h.nurse, e).await.unwrap();
    }

    // Read at 17:10 UTC (22:40 in Kolkata): the evening shift of 1 Dec is under way; the 16:00
    // dose was held, none is overdue yet (22:00 UTC is ahead).
    h.w.env.store.set_now(Some(h.t0 + Duration::hours(7) + Duration::minutes(10)));
    let ho = handover::handover(s, &h.nurse, &h.general, None, None).await.unwrap();
    assert_eq!((ho.day.as_str(), ho.shift, ho.ward_name.as_str()), ("2026-12-01", Shift::Evening, "General"));
    assert_eq!((ho.from.as_str(), ho.to.as_str()), ("2026-12-01T09:30:00.000Z", "2026-12-01T17:30:00.000Z"));
    assert_eq!(ho.patients.len(), 2, "the bed's patient and the waiting list's");
    let p = ho.patients.iter().find(|p| p.admission_id == stay.id).unwrap();
    assert_eq!((p.bed_label.as_str(), p.days_in, p.diagnosis_code.as_str()), ("A1", 0, "J03.90"));
    assert_eq!(p.allergies, vec!["Penicillin (severe)".to_string()]);
    assert_eq!(p.orders, vec!["Paracetamol 650 mg tablet 1 tablet oral".to_string()]);
    assert_eq!((p.doses_given, p.doses_held, p.doses_refused, p.doses_missed), (1, 1, 0, 0));
    assert_eq!(p.doses_not_given.len(), 1);
    assert_eq!((p.doses_not_given[0].outcome.as_str(), p.doses_not_given[0].reason.as_str()), ("held", "Nil by mouth"));
    assert!(p.overdue.is_empty());
    let v = p.last_vitals.as_ref().expect("vitals");
    let flags: Vec<(&str, bool)> = v.flags.iter().map(|f| (f.field.as_str(), f.high)).collect();
    assert_eq!(flags, vec![("temperature_c_x10", true), ("spo2", false)], "pulse 88 is within range");
    assert_eq!((p.io.intake_ml, p.io.output_ml, p.io.net_ml), (300, 450, -150));
    assert_eq!(p.notes.iter().map(|n| n.body.as_str()).collect::<Vec<_>>(), ["Comfortable."]);
    let w = ho.patients.iter().find(|p| p.admission_id == waiting.id).unwrap();
    assert_eq!((w.bed_id.as_deref(), w.io.intake_ml), (None, 0));

    // The night that follows: the 22:00 dose is overdue after 23:00 UTC; the evening's doses,
    // notes and balance are not the night's.
    h.w.env.store.set_now(Some(h.t0 + Duration::hours(13) + Duration::minutes(5)));
    let night = handover::handover(s, &h.doctor, &h.general, Some("2026-12-01"), Some("night")).await.unwrap();
    let p = night.patients.iter().find(|p| p.admission_id == stay.id).unwrap();
    assert_eq!((p.doses_given, p.doses_held, p.io.net_ml, p.notes.len()), (0, 0, 0, 0));
    assert_eq!(p.overdue.len(), 1);
    assert!(p.overdue[0].contains("2026-12-01T22:00:00.000Z"), "{:?}", p.overdue);

    let bad = handover::handover(s, &h.nurse, &h.general, Some("2026-12-01"), None).await;
    assert_eq!(field_of(bad), ("shift".into(), ValidationReason::Required));
    let bad = handover::handover(s, &h.nurse, &h.general, Some("2026-12-01"), Some("noon")).await;
    assert_eq!(field_of(bad), ("shift".into(), ValidationReason::Invalid));
    forbidden(handover::handover(s, &h.desk, &h.general, None, None).await, "clinical_view");
}
