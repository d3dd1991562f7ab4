//! The ward round (issue 15): inpatient orders (medicines with a schedule, lab tests, diet,
//! nursing instructions; stop and change), the MAR's rules (one record a dose, reasons, PRN
//! limits, stopped orders), the ward's due list at chosen times, notes, a discharge that stops
//! the orders, two devices' records of one dose, bad input that writes nothing, and the
//! permission of every operation. The clinic's clock is UTC; t0 is 2026-12-01 10:00.

mod common;
#[path = "common/hospital.rs"]
mod hospital;
#[path = "common/ward.rs"]
mod ward;

use hms_core::clinical::{lab, visits, VitalsInput};
use hms_core::inpatients::due::{self, DueKind, DueStatus, DueSummary, WardDueList};
use hms_core::inpatients::mar::{self, DoseInput, MarOutcome};
use hms_core::inpatients::notes::{self, NoteInput, NoteKind, Shift};
use hms_core::inpatients::orders::{self, DoseSchedule, OrderInput, OrderKind};
use hms_core::inpatients::{board, stays, BoardFilter, DischargeInput};
use hms_core::{Error, Store, ValidationReason};
use hospital::{hospital, Hospital};
use ward::field_of;

/// Rows of the new tables, the lab's, the change log and the audit log.
async fn counts(s: &Store) -> [i64; 6] {
    [
        common::count(s, "inpatient_orders").await,
        common::count(s, "mar_entries").await,
        common::count(s, "inpatient_notes").await,
        common::count(s, "lab_orders").await,
        common::count(s, "change_log").await,
        common::count(s, "audit_log").await,
    ]
}

fn medicine(h: &Hospital, admission: &str, schedule: &str) -> OrderInput {
    OrderInput {
        admission_id: admission.into(),
        kind: "medicine".into(),
        medicine_id: Some(h.w.paracetamol.clone()),
        dose: "1".into(),
        dose_unit: "tablet".into(),
        route: "oral".into(),
        schedule: Some(schedule.into()),
        ..Default::default()
    }
}

fn dose(order: &str, scheduled: Option<&str>, outcome: &str, reason: &str) -> DoseInput {
    DoseInput {
        order_id: order.into(),
        scheduled_at: scheduled.map(str::to_string),
        outcome: outcome.into(),
        reason: reason.into(),
        given_at: None,
    }
}

/// (what, due_at, status) of a patient's items on the list.
fn items(list: &WardDueList, admission: &str) -> Vec<(DueKind, String, DueStatus)> {
    let p = list.patients.iter().find(|p| p.admission_id == admission).expect("the patient is on the list");
    p.items.iter().map(|i| (i.kind, i.due_at.clone(), i.status)).collect()
}

async fn due_at(h: &Hospital, at: &str) -> WardDueList {
    due::ward_due_list(&h.w.env.store, &h.nurse, &h.general, Some(at)).await.unwrap()
}

#[tokio::test]
async fn scheduled_doses_come_due_go_overdue_and_leave_the_list_once_recorded() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let stay = stays::admit(s, &h.doctor, h.admit_input(0, Some(&h.a1))).await.unwrap();
    // 1-0-1 from 10:00 on 1 Dec: doses at 20:00, then 08:00 and 20:00 each day.
    let bd =
        orders::order(s, &h.doctor, OrderInput { times_pattern: "1-0-1".into(), ..medicine(&h, &stay.id, "times") })
            .await
            .unwrap();
    assert_eq!(
        (bd.kind, bd.schedule, bd.times_pattern.as_str()),
        (OrderKind::Medicine, Some(DoseSchedule::Times), "1-0-1")
    );
    assert_eq!(bd.medicine_name, "Paracetamol 650 mg tablet");

    let list = due_at(&h, "2026-12-01T19:00:00Z").await;
    assert!(items(&list, &stay.id).is_empty(), "not yet: 20:00 is more than 30 minutes away");
    assert_eq!(list.patients[0].bed_label, "A1");
    let list = due_at(&h, "2026-12-01T19:45:00Z").await;
    assert_eq!(items(&list, &stay.id), vec![(DueKind::Dose, "2026-12-01T20:00:00.000Z".into(), DueStatus::Due)]);
    let list = due_at(&h, "2026-12-01T21:00:00Z").await;
    assert_eq!(items(&list, &stay.id)[0].2, DueStatus::Due, "an hour late is still due");
    let list = due_at(&h, "2026-12-01T21:01:00Z").await;
    assert_eq!(items(&list, &stay.id)[0].2, DueStatus::Overdue, "late after 60 minutes");
    assert_eq!((list.overdue, list.due), (1, 0));
    assert_eq!(list.patients[0].items[0].what, "Paracetamol 650 mg tablet 1 tablet oral");

    // The nurse gives it at 20:30; it leaves the list; a second record of it is refused.
    h.w.env.store.set_now(Some(h.t0 + chrono::Duration::minutes(630)));
    let e = mar::record(s, &h.nurse, dose(&bd.id, Some("2026-12-01T20:00:00Z"), "given", "")).await.unwrap();
    assert_eq!(
        (e.outcome, e.given_at.as_str(), e.duplicate_of.clone()),
        (MarOutcome::Given, "2026-12-01T20:30:00.000Z", None)
    );
    assert!(e.recorded_by.is_some() && !e.recorded_by_name.is_empty());
    assert!(items(&due_at(&h, "2026-12-01T20:31:00Z").await, &stay.id).is_empty());
    let before = counts(s).await;
    let again = mar::record(s, &h.nurse, dose(&bd.id, Some("2026-12-01T20:00:00.000Z"), "given", "")).await;
    assert_eq!(field_of(again), ("scheduled_at".into(), ValidationReason::Taken));
    let held = mar::record(s, &h.nurse, dose(&bd.id, Some("2026-12-01T20:00:00Z"), "held", "BP low")).await;
    assert_eq!(field_of(held), ("scheduled_at".into(), ValidationReason::Taken), "one record a dose, whatever it says");
    assert_eq!(counts(s).await, before, "nothing written");

    // Next morning's dose, at 08:00, is held with a reason; a missed dose without one is refused.
    h.w.env.store.set_now(Some(h.t0 + chrono::Duration::hours(22) + chrono::Duration::minutes(10)));
    let no_reason = mar::record(s, &h.nurse, dose(&bd.id, Some("2026-12-02T08:00:00Z"), "missed", "  ")).await;
    assert_eq!(field_of(no_reason), ("reason".into(), ValidationReason::Required));
    let not_a_dose = mar::record(s, &h.nurse, dose(&bd.id, Some("2026-12-02T14:00:00Z"), "given", "")).await;
    assert_eq!(field_of(not_a_dose), ("scheduled_at".into(), ValidationReason::Invalid), "1-0-1 has no noon dose");
    let unscheduled = mar::record(s, &h.nurse, dose(&bd.id, None, "given", "")).await;
    assert_eq!(field_of(unscheduled), ("scheduled_at".into(), ValidationReason::Required));
    let odd = mar::record(s, &h.nurse, dose(&bd.id, Some("2026-12-02T08:00:00Z"), "spilled", "x")).await;
    assert_eq!(field_of(odd), ("outcome".into(), ValidationReason::Invalid));
    let future = mar::record(
        s,
        &h.nurse,
        DoseInput {
            given_at: Some("2026-12-02T09:00:00Z".into()),
            ..dose(&bd.id, Some("2026-12-02T08:00:00Z"), "given", "")
        },
    )
    .await;
    assert_eq!(field_of(future), ("given_at".into(), ValidationReason::OutOfRange));
    assert_eq!(counts(s).await, before, "nothing written");
    mar::record(s, &h.nurse, dose(&bd.id, Some("2026-12-02T08:00:00Z"), "held", "Nil by mouth for the scan"))
        .await
        .unwrap();

    // The MAR reads both, in order, with who recorded them.
    let m = mar::mar(s, &h.doctor, &stay.id).await.unwrap();
    let got: Vec<(Option<&str>, MarOutcome, &str)> =
        m.entries.iter().map(|e| (e.scheduled_at.as_deref(), e.outcome, e.reason.as_str())).collect();
    assert_eq!(
        got,
        vec![
            (Some("2026-12-01T20:00:00.000Z"), MarOutcome::Given, ""),
            (Some("2026-12-02T08:00:00.000Z"), MarOutcome::Held, "Nil by mouth for the scan"),
        ]
    );
    assert!(m.entries.iter().all(|e| e.recorded_by.is_some() && e.duplicate_of.is_none()));
    let actions = common::actions(s).await;
    assert_eq!(actions.iter().filter(|a| *a == "mar.record").count(), 2);
    assert!(actions.contains(&"inpatient.order".to_string()));
}

#[tokio::test]
async fn every_n_hours_stat_and_prn_orders_and_their_limits() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let stay = stays::admit(s, &h.doctor, h.admit_input(0, None)).await.unwrap();
    let q6 = orders::order(s, &h.doctor, OrderInput { every_hours: Some(6), ..medicine(&h, &stay.id, "every") })
        .await
        .unwrap();
    let stat = orders::order(s, &h.doctor, medicine(&h, &stay.id, "stat")).await.unwrap();
    let prn = orders::order(s, &h.doctor, OrderInput { prn_max_per_day: Some(2), ..medicine(&h, &stay.id, "prn") })
        .await
        .unwrap();
    // At 10:20 both the STAT dose and the first 6-hourly one (10:00) are due; the patient waits
    // without a bed and is on the ward's list all the same. PRN never comes due.
    let list = due_at(&h, "2026-12-01T10:20:00Z").await;
    let p = list.patients.iter().find(|p| p.admission_id == stay.id).unwrap();
    assert_eq!((p.bed_id.clone(), p.items.len()), (None, 2));
    assert!(p.items.iter().all(|i| i.due_at == "2026-12-01T10:00:00.000Z" && i.status == DueStatus::Due));
    assert!(!p.items.iter().any(|i| i.order_id == prn.id));
    // 16:00 is the next 6-hourly; at 17:30 it is overdue (and 10:00's too).
    let list = due_at(&h, "2026-12-01T17:30:00Z").await;
    let q6_items: Vec<(String, DueStatus)> =
        list.patients[0].items.iter().filter(|i| i.order_id == q6.id).map(|i| (i.due_at.clone(), i.status)).collect();
    assert_eq!(
        q6_items,
        vec![
            ("2026-12-01T10:00:00.000Z".into(), DueStatus::Overdue),
            ("2026-12-01T16:00:00.000Z".into(), DueStatus::Overdue)
        ]
    );
    // Doses older than a day drop off (the MAR still shows they were never recorded).
    let list = due_at(&h, "2026-12-02T10:30:00Z").await;
    assert!(list.patients[0].items.iter().all(|i| i.due_at.as_str() >= "2026-12-01T10:30:00.000Z"));
    assert!(!list.patients[0].items.iter().any(|i| i.order_id == stat.id), "STAT was yesterday");

    // PRN: with a reason, not more than twice in 24 hours; never held or scheduled.
    h.at(1);
    let before = counts(s).await;
    assert_eq!(
        field_of(mar::record(s, &h.nurse, dose(&prn.id, None, "given", "")).await),
        ("reason".into(), ValidationReason::Required)
    );
    assert_eq!(
        field_of(mar::record(s, &h.nurse, dose(&prn.id, None, "refused", "Pain")).await),
        ("outcome".into(), ValidationReason::Invalid)
    );
    assert_eq!(
        field_of(mar::record(s, &h.nurse, dose(&prn.id, Some("2026-12-01T11:00:00Z"), "given", "Pain")).await),
        ("scheduled_at".into(), ValidationReason::Invalid)
    );
    assert_eq!(counts(s).await, before);
    mar::record(s, &h.nurse, dose(&prn.id, None, "given", "Fever 38.6")).await.unwrap();
    h.at(5);
    mar::record(s, &h.nurse, dose(&prn.id, None, "given", "Fever 38.9")).await.unwrap();
    h.at(9);
    let third = mar::record(s, &h.nurse, dose(&prn.id, None, "given", "Fever")).await;
    assert_eq!(field_of(third), ("given_at".into(), ValidationReason::OutOfRange));
    h.at(25);
    mar::record(s, &h.nurse, dose(&prn.id, None, "given", "Fever 38.2")).await.unwrap();
    assert!(
        mar::record(s, &h.nurse, dose(&prn.id, None, "given", "Fever")).await.is_err(),
        "11:00 + 24 h is not yet past"
    );
    h.at(29);
    mar::record(s, &h.nurse, dose(&prn.id, None, "given", "Fever 38.0")).await.unwrap();
}

#[tokio::test]
async fn stop_and_change_and_a_stopped_order_takes_no_dose() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let stay = stays::admit(s, &h.doctor, h.admit_input(0, Some(&h.a2))).await.unwrap();
    let q4 = orders::order(s, &h.doctor, OrderInput { every_hours: Some(4), ..medicine(&h, &stay.id, "every") })
        .await
        .unwrap();
    // The first dose (10:00) is given; at 15:00 the doctor changes it to every 8 hours.
    mar::record(s, &h.nurse, dose(&q4.id, Some("2026-12-01T10:00:00Z"), "given", "")).await.unwrap();
    h.at(5);
    let q8 = orders::change(
        s,
        &h.doctor,
        &q4.id,
        OrderInput { every_hours: Some(8), dose: "2".into(), ..medicine(&h, &stay.id, "every") },
    )
    .await
    .unwrap();
    assert_eq!((q8.replaces_id.as_deref(), q8.every_hours, q8.dose.as_str()), (Some(q4.id.as_str()), Some(8), "2"));
    assert_eq!(q8.start_at, "2026-12-01T15:00:00.000Z");
    let all = orders::orders(s, &h.nurse, &stay.id).await.unwrap();
    let old = all.iter().find(|o| o.id == q4.id).unwrap();
    assert_eq!((old.stopped_at.as_deref(), old.stop_reason.as_str()), (Some("2026-12-01T15:00:00.000Z"), "changed"));
    // The old order's 14:00 dose may still be charted; its 18:00 dose is after the stop.
    let before = counts(s).await;
    let late = mar::record(s, &h.nurse, dose(&q4.id, Some("2026-12-01T18:00:00Z"), "given", "")).await;
    assert_eq!(field_of(late), ("order_id".into(), ValidationReason::Invalid));
    assert_eq!(counts(s).await, before);
    mar::record(s, &h.nurse, dose(&q4.id, Some("2026-12-01T14:00:00Z"), "missed", "Patient asleep, charted late"))
        .await
        .unwrap();
    // Only the new order comes due now.
    let list = due_at(&h, "2026-12-01T15:10:00Z").await;
    assert_eq!(items(&list, &stay.id), vec![(DueKind::Dose, "2026-12-01T15:00:00.000Z".into(), DueStatus::Due)]);
    // Stopping it (with a reason) clears the list; stopping or changing it again is refused.
    assert_eq!(field_of(orders::stop(s, &h.doctor, &q8.id, " ").await), ("reason".into(), ValidationReason::Required));
    orders::stop(s, &h.doctor, &q8.id, "Afebrile").await.unwrap();
    assert!(items(&due_at(&h, "2026-12-01T15:10:00Z").await, &stay.id).is_empty());
    let before = counts(s).await;
    assert_eq!(
        field_of(orders::stop(s, &h.doctor, &q8.id, "again").await),
        ("order_id".into(), ValidationReason::Invalid)
    );
    let again = orders::change(s, &h.doctor, &q8.id, medicine(&h, &stay.id, "stat")).await;
    assert_eq!(field_of(again), ("order_id".into(), ValidationReason::Invalid));
    assert_eq!(counts(s).await, before);
    let actions = common::actions(s).await;
    for a in ["inpatient.order_change", "inpatient.order_stop"] {
        assert!(actions.iter().any(|x| x == a), "{a}");
    }
}

#[tokio::test]
async fn vitals_every_n_hours_follow_the_last_vitals_taken() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let stay = stays::admit(s, &h.doctor, h.admit_input(0, Some(&h.a1))).await.unwrap();
    let other = stays::admit(s, &h.doctor, h.admit_input(1, Some(&h.icu1))).await.unwrap();
    let vitals = OrderInput {
        admission_id: stay.id.clone(),
        kind: "nursing".into(),
        instructions: "Vitals every 4 hours".into(),
        every_hours: Some(4),
        ..Default::default()
    };
    let n = orders::order(s, &h.doctor, vitals.clone()).await.unwrap();
    orders::order(s, &h.doctor, OrderInput { admission_id: other.id.clone(), ..vitals.clone() }).await.unwrap();
    // None taken yet: due from the start.
    let list = due_at(&h, "2026-12-01T10:05:00Z").await;
    assert_eq!(items(&list, &stay.id), vec![(DueKind::Vitals, "2026-12-01T10:00:00.000Z".into(), DueStatus::Due)]);
    assert!(!list.patients.iter().any(|p| p.admission_id == other.id), "the ICU's patient is on the ICU's list");
    assert_eq!(list.patients[0].items[0].what, "Vitals every 4 hours");
    // Taken at 11:00: next due at 15:00, overdue after 16:00.
    h.at(1);
    let v = VitalsInput { patient_id: h.patients[0].clone(), pulse: Some(88), ..Default::default() };
    visits::record_vitals(s, &h.nurse, v).await.unwrap();
    assert!(items(&due_at(&h, "2026-12-01T14:00:00Z").await, &stay.id).is_empty());
    let list = due_at(&h, "2026-12-01T16:30:00Z").await;
    assert_eq!(items(&list, &stay.id), vec![(DueKind::Vitals, "2026-12-01T15:00:00.000Z".into(), DueStatus::Overdue)]);
    assert_eq!(list.patients[0].items[0].last_vitals_at.as_deref(), Some("2026-12-01T11:00:00.000Z"));
    assert_eq!(list.patients[0].items[0].order_id, n.id);
    // The ICU's own list.
    let icu = due::ward_due_list(s, &h.nurse, &h.icu, Some("2026-12-01T10:05:00Z")).await.unwrap();
    assert_eq!(icu.patients.len(), 1);
    assert_eq!(icu.patients[0].admission_id, other.id);
    let bad = due::ward_due_list(s, &h.nurse, "nope", None).await;
    assert_eq!(field_of(bad), ("ward_id".into(), ValidationReason::Invalid));
}

#[tokio::test]
async fn lab_and_diet_orders_and_bad_orders_that_write_nothing() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let stay = stays::admit(s, &h.doctor, h.admit_input(0, Some(&h.a1))).await.unwrap();
    let hb = orders::order(
        s,
        &h.doctor,
        OrderInput {
            admission_id: stay.id.clone(),
            kind: "lab".into(),
            lab_test_id: Some(h.w.hb.clone()),
            instructions: "Fasting".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!((hb.kind, hb.lab_test_name.as_str()), (OrderKind::Lab, "Haemoglobin"));
    // The lab sees it on its pending list, like an outpatient's.
    let pending = lab::pending_orders(s, &h.lab).await.unwrap();
    let on_list = pending.iter().find(|o| Some(&o.id) == hb.lab_order_id.as_ref()).expect("on the lab's list");
    assert_eq!((on_list.visit_id.clone(), on_list.patient_id.as_str()), (None, h.patients[0].as_str()));
    let diet = OrderInput {
        admission_id: stay.id.clone(),
        kind: "diet".into(),
        instructions: "Diabetic diet, 1800 kcal".into(),
        ..Default::default()
    };
    orders::order(s, &h.doctor, diet.clone()).await.unwrap();

    let before = counts(s).await;
    let bad = |f: &dyn Fn(&mut OrderInput)| {
        let mut i = medicine(&h, &stay.id, "times");
        i.times_pattern = "1-0-1".into();
        f(&mut i);
        i
    };
    let cases: Vec<(OrderInput, &str, ValidationReason)> = vec![
        (bad(&|i| i.kind = "surgery".into()), "kind", ValidationReason::Invalid),
        (bad(&|i| i.admission_id = "nope".into()), "admission_id", ValidationReason::Invalid),
        (bad(&|i| i.medicine_id = None), "medicine_id", ValidationReason::Required),
        (bad(&|i| i.medicine_id = Some("nope".into())), "medicine_id", ValidationReason::Invalid),
        (bad(&|i| i.dose = " ".into()), "dose", ValidationReason::Required),
        (bad(&|i| i.dose_unit = String::new()), "dose_unit", ValidationReason::Required),
        (bad(&|i| i.schedule = None), "schedule", ValidationReason::Required),
        (bad(&|i| i.schedule = Some("hourly".into())), "schedule", ValidationReason::Invalid),
        (bad(&|i| i.times_pattern = "1-0".into()), "times_pattern", ValidationReason::Invalid),
        (bad(&|i| i.times_pattern = "0-0-0".into()), "times_pattern", ValidationReason::Invalid),
        (bad(&|i| i.schedule = Some("every".into())), "every_hours", ValidationReason::Required),
        (
            bad(&|i| {
                i.schedule = Some("every".into());
                i.every_hours = Some(25);
            }),
            "every_hours",
            ValidationReason::OutOfRange,
        ),
        (bad(&|i| i.schedule = Some("prn".into())), "prn_max_per_day", ValidationReason::Required),
        (bad(&|i| i.start_at = Some("yesterday".into())), "start_at", ValidationReason::Invalid),
        (bad(&|i| i.start_at = Some("2026-12-01T09:00:00Z".into())), "start_at", ValidationReason::OutOfRange),
        (bad(&|i| i.end_at = Some("2026-12-01T10:00:00Z".into())), "end_at", ValidationReason::OutOfRange),
        (bad(&|i| i.instructions = "x".repeat(501)), "instructions", ValidationReason::TooLong),
        (OrderInput { instructions: " ".into(), ..diet.clone() }, "instructions", ValidationReason::Required),
        (
            OrderInput { kind: "lab".into(), lab_test_id: Some("nope".into()), ..diet.clone() },
            "lab_test_id",
            ValidationReason::Invalid,
        ),
        (
            OrderInput { kind: "nursing".into(), every_hours: Some(0), ..diet.clone() },
            "every_hours",
            ValidationReason::OutOfRange,
        ),
    ];
    for (input, field, reason) in cases {
        assert_eq!(field_of(orders::order(s, &h.doctor, input).await), (field.to_string(), reason), "{field}");
    }
    assert_eq!(counts(s).await, before, "nothing written");
    // A dose for an order that is not a medicine's, or no order at all.
    let diet_id = orders::orders(s, &h.doctor, &stay.id)
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.kind == OrderKind::Diet)
        .unwrap()
        .id;
    let before = counts(s).await;
    for id in [diet_id.as_str(), "nope"] {
        assert_eq!(
            field_of(mar::record(s, &h.nurse, dose(id, None, "given", "x")).await),
            ("order_id".into(), ValidationReason::Invalid)
        );
    }
    assert_eq!(counts(s).await, before);
}

#[tokio::test]
async fn a_discharge_stops_the_open_orders_and_the_list_forgets_the_patient() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let stay = stays::admit(s, &h.doctor, h.admit_input(0, Some(&h.a1))).await.unwrap();
    let q6 = orders::order(s, &h.doctor, OrderInput { every_hours: Some(6), ..medicine(&h, &stay.id, "every") })
        .await
        .unwrap();
    let stat = orders::order(s, &h.doctor, medicine(&h, &stay.id, "stat")).await.unwrap();
    orders::stop(s, &h.doctor, &stat.id, "Given in casualty").await.unwrap();
    h.at(7);
    let out = DischargeInput {
        admission_id: stay.id.clone(),
        discharge_type: "home".into(),
        discharged_at: Some("2026-12-01T16:30:00Z".into()),
        note: String::new(),
    };
    stays::discharge(s, &h.doctor, out).await.unwrap();
    let all = orders::orders(s, &h.doctor, &stay.id).await.unwrap();
    let q6 = all.iter().find(|o| o.id == q6.id).unwrap();
    assert_eq!((q6.stopped_at.as_deref(), q6.stop_reason.as_str()), (Some("2026-12-01T16:30:00.000Z"), "discharged"));
    let stat = all.iter().find(|o| o.id == stat.id).unwrap();
    assert_eq!(stat.stop_reason, "Given in casualty", "a stopped order keeps its stop");
    assert!(common::actions(s).await.contains(&"inpatient.orders_stopped".to_string()));
    assert!(due_at(&h, "2026-12-01T17:00:00Z").await.patients.is_empty());
    // The 16:00 dose (before the discharge) may still be charted; nothing after it.
    mar::record(s, &h.nurse, dose(&q6.id, Some("2026-12-01T16:00:00Z"), "given", "")).await.unwrap();
    // No new orders or notes for a discharged stay.
    let again = orders::order(s, &h.doctor, medicine(&h, &stay.id, "stat")).await;
    assert_eq!(field_of(again), ("admission_id".into(), ValidationReason::Invalid));
    let note = NoteInput { admission_id: stay.id.clone(), kind: "progress".into(), shift: None, body: "x".into() };
    assert_eq!(field_of(notes::add_note(s, &h.doctor, note).await), ("admission_id".into(), ValidationReason::Invalid));
}

/// Found by the convergence test: a device that had not seen a discharge changed an order of
/// that stay (a new order, open); once the rows met, the discharged patient had an open order
/// for good. It reads as stopped at the discharge, and takes no dose after it.
#[tokio::test]
async fn an_order_from_a_device_that_had_not_seen_the_discharge_reads_as_stopped_by_it() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let stay = stays::admit(s, &h.doctor, h.admit_input(0, Some(&h.a1))).await.unwrap();
    h.at(2);
    let out = DischargeInput {
        admission_id: stay.id.clone(),
        discharge_type: "home".into(),
        discharged_at: None,
        note: String::new(),
    };
    let out = stays::discharge(s, &h.doctor, out).await.unwrap().discharged_at.unwrap();
    // The other tablet's order, started before the discharge and arriving after it, as a pull
    // writes it (open: that tablet never saw the discharge).
    let theirs = "0190c2a0-0000-7000-8000-0000000000c1";
    sqlx::query(
        "INSERT INTO inpatient_orders (id, admission_id, kind, medicine_id, dose, dose_unit, schedule, every_hours,
           start_at, created_at, updated_at, origin_device)
         VALUES (?, ?, 'medicine', ?, '1', 'tablet', 'every', 6, '2026-12-01T11:00:00.000Z', '2026-12-01T11:00:00.000Z',
           '0001764583700000-000000-other', '0190c2a0-0000-7000-8000-00000000d0d0')",
    )
    .bind(theirs)
    .bind(&stay.id)
    .bind(&h.w.paracetamol)
    .execute(s.pool())
    .await
    .unwrap();
    let all = orders::orders(s, &h.doctor, &stay.id).await.unwrap();
    let o = all.iter().find(|o| o.id == theirs).unwrap();
    assert_eq!((o.stopped_at.as_deref(), o.stop_reason.as_str()), (Some(out.as_str()), "discharged"));
    // No dose after the discharge, and nothing left to stop or change.
    let after = dose(theirs, Some("2026-12-01T17:00:00Z"), "given", "");
    assert_eq!(field_of(mar::record(s, &h.nurse, after).await), ("order_id".into(), ValidationReason::Invalid));
    assert_eq!(
        field_of(orders::stop(s, &h.doctor, theirs, "done").await),
        ("order_id".into(), ValidationReason::Invalid)
    );
}

#[tokio::test]
async fn progress_and_nursing_notes() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let stay = stays::admit(s, &h.doctor, h.admit_input(0, Some(&h.a1))).await.unwrap();
    let note = |kind: &str, shift: Option<&str>, body: &str| NoteInput {
        admission_id: stay.id.clone(),
        kind: kind.into(),
        shift: shift.map(str::to_string),
        body: body.into(),
    };
    notes::add_note(s, &h.doctor, note("progress", None, "Day 1: afebrile, eating well.")).await.unwrap();
    h.at(1);
    let n = notes::add_note(s, &h.nurse, note("nursing", Some("morning"), "Slept well.\nAmbulating.")).await.unwrap();
    assert_eq!(
        (n.kind, n.shift, n.body.as_str()),
        (NoteKind::Nursing, Some(Shift::Morning), "Slept well.\nAmbulating.")
    );
    let before = counts(s).await;
    let cases = [
        (note("nursing", None, "x"), "shift", ValidationReason::Required),
        (note("nursing", Some("noon"), "x"), "shift", ValidationReason::Invalid),
        (note("nursing", Some("night"), "  "), "body", ValidationReason::Required),
        (note("nursing", Some("night"), &"x".repeat(4001)), "body", ValidationReason::TooLong),
        (note("gossip", None, "x"), "kind", ValidationReason::Invalid),
    ];
    for (input, field, reason) in cases {
        assert_eq!(field_of(notes::add_note(s, &h.nurse, input).await), (field.to_string(), reason), "{field}");
    }
    assert_eq!(counts(s).await, before);
    let all = notes::notes(s, &h.doctor, &stay.id).await.unwrap();
    let got: Vec<(NoteKind, &str)> = all.iter().map(|n| (n.kind, n.written_at.as_str())).collect();
    assert_eq!(
        got,
        vec![(NoteKind::Progress, "2026-12-01T10:00:00.000Z"), (NoteKind::Nursing, "2026-12-01T11:00:00.000Z")]
    );
    assert!(all.iter().all(|n| !n.written_by_name.is_empty()));
}

#[tokio::test]
async fn two_devices_records_of_one_dose_are_both_kept_and_settled_alike() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let stay = stays::admit(s, &h.doctor, h.admit_input(0, Some(&h.a1))).await.unwrap();
    let q6 = orders::order(s, &h.doctor, OrderInput { every_hours: Some(6), ..medicine(&h, &stay.id, "every") })
        .await
        .unwrap();
    h.at(1);
    let ours = mar::record(s, &h.nurse, dose(&q6.id, Some("2026-12-01T10:00:00Z"), "given", "")).await.unwrap();
    // The other tablet's record of the same dose, given five minutes earlier, arrives by sync
    // (written as a pulled row is: the synced columns, another device).
    sqlx::query(
        "INSERT INTO mar_entries (id, order_id, scheduled_at, outcome, reason, given_at, recorded_by, created_at, updated_at, origin_device)
         VALUES ('01900000-0000-7000-8000-000000000001', ?, '2026-12-01T10:00:00.000Z', 'given', '', '2026-12-01T10:55:00.000Z', NULL,
                 '2026-12-01T10:55:00.000Z', '0001764583700000-000000-other', 'other')",
    )
    .bind(&q6.id)
    .execute(s.pool())
    .await
    .unwrap();
    let m = mar::mar(s, &h.doctor, &stay.id).await.unwrap();
    let got: Vec<(&str, Option<&str>)> = m.entries.iter().map(|e| (e.id.as_str(), e.duplicate_of.as_deref())).collect();
    let theirs = "01900000-0000-7000-8000-000000000001";
    assert_eq!(got, vec![(theirs, None), (ours.id.as_str(), Some(theirs))], "the earlier counts; both are kept");
    assert!(items(&due_at(&h, "2026-12-01T11:00:00Z").await, &stay.id).is_empty());
}

#[tokio::test]
async fn every_ward_round_operation_needs_its_permission() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let (admin, doctor, nurse, desk, lab) = (&h.admin, &h.doctor, &h.nurse, &h.desk, &h.lab);
    let stay = stays::admit(s, doctor, h.admit_input(0, Some(&h.a1))).await.unwrap();
    let forbidden = |what: &str, r: Result<(), Error>, permission: &str| match r {
        Err(Error::Forbidden { permission: p }) => assert_eq!(p, permission, "{what}"),
        other => panic!("{what}: expected forbidden, got {other:?}"),
    };
    let q6 =
        orders::order(s, doctor, OrderInput { every_hours: Some(6), ..medicine(&h, &stay.id, "every") }).await.unwrap();
    let before = counts(s).await;
    let note = |kind: &str| NoteInput {
        admission_id: stay.id.clone(),
        kind: kind.into(),
        shift: Some("morning".into()),
        body: "x".into(),
    };
    for who in [admin, nurse, desk, lab] {
        forbidden("order", orders::order(s, who, medicine(&h, &stay.id, "stat")).await.map(|_| ()), "inpatient_orders");
        forbidden("stop", orders::stop(s, who, &q6.id, "x").await.map(|_| ()), "inpatient_orders");
        forbidden(
            "change",
            orders::change(s, who, &q6.id, medicine(&h, &stay.id, "stat")).await.map(|_| ()),
            "inpatient_orders",
        );
        forbidden("progress note", notes::add_note(s, who, note("progress")).await.map(|_| ()), "inpatient_orders");
    }
    for who in [admin, doctor, desk, lab] {
        let d = dose(&q6.id, Some("2026-12-01T10:00:00Z"), "given", "");
        forbidden("record a dose", mar::record(s, who, d).await.map(|_| ()), "mar_record");
        forbidden("nursing note", notes::add_note(s, who, note("nursing")).await.map(|_| ()), "mar_record");
    }
    for who in [desk, lab] {
        forbidden("orders", orders::orders(s, who, &stay.id).await.map(|_| ()), "clinical_view");
        forbidden("mar", mar::mar(s, who, &stay.id).await.map(|_| ()), "clinical_view");
        forbidden("notes", notes::notes(s, who, &stay.id).await.map(|_| ()), "clinical_view");
        forbidden("due list", due::ward_due_list(s, who, &h.general, None).await.map(|_| ()), "clinical_view");
    }
    assert_eq!(counts(s).await, before, "nothing written");
    // And each holder may.
    mar::record(s, nurse, dose(&q6.id, Some("2026-12-01T10:00:00Z"), "given", "")).await.unwrap();
    notes::add_note(s, nurse, note("nursing")).await.unwrap();
    notes::add_note(s, doctor, note("progress")).await.unwrap();
    for who in [admin, doctor, nurse] {
        orders::orders(s, who, &stay.id).await.unwrap();
        mar::mar(s, who, &stay.id).await.unwrap();
        due::ward_due_list(s, who, &h.general, None).await.unwrap();
    }
    orders::stop(s, doctor, &q6.id, "done").await.unwrap();
}

#[tokio::test]
async fn a_wards_list_holds_its_beds_patients_and_its_waiting_list() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let in_bed = stays::admit(s, &h.doctor, h.admit_input(0, Some(&h.a1))).await.unwrap();
    let waiting = stays::admit(s, &h.doctor, h.admit_input(1, None)).await.unwrap();
    let moved = stays::admit(s, &h.doctor, h.admit_input(2, Some(&h.a2))).await.unwrap();
    for stay in [&in_bed, &waiting, &moved] {
        let vitals = OrderInput {
            admission_id: stay.id.clone(),
            kind: "nursing".into(),
            instructions: "Vitals every 4 hours".into(),
            every_hours: Some(4),
            ..Default::default()
        };
        orders::order(s, &h.doctor, vitals).await.unwrap();
    }
    // Admitted to General, then moved into the ICU's bed: the ICU's nurses see to them now.
    stays::transfer(s, &h.desk, &moved.id, &h.icu1).await.unwrap();

    let general = due_at(&h, "2026-12-01T10:05:00Z").await;
    let on =
        |l: &WardDueList| l.patients.iter().map(|p| (p.admission_id.clone(), p.bed_id.clone())).collect::<Vec<_>>();
    assert_eq!(on(&general), vec![(in_bed.id.clone(), Some(h.a1.clone())), (waiting.id.clone(), None)]);
    assert_eq!(items(&general, &waiting.id).len(), 1, "a waiting patient's vitals are due too");
    let icu = due::ward_due_list(s, &h.nurse, &h.icu, Some("2026-12-01T10:05:00Z")).await.unwrap();
    assert_eq!(on(&icu), vec![(moved.id.clone(), Some(h.icu1.clone()))]);
    assert_eq!(items(&icu, &moved.id).len(), 1);

    // The bed board's cards say what is due, to those who may see the clinical record.
    let dose = orders::order(s, &h.doctor, OrderInput { every_hours: Some(6), ..medicine(&h, &in_bed.id, "every") });
    dose.await.unwrap();
    h.at(1);
    let due_on_board = |b: &hms_core::inpatients::Board, stay: &str| {
        let cards = b.wards.iter().flat_map(|w| w.beds.iter().filter_map(|c| c.occupant.clone()));
        let waiting = b.wards.iter().flat_map(|w| w.waiting.iter().map(|e| e.occupant.clone()));
        cards.chain(waiting).find(|o| o.admission_id == stay).expect("on the board").due
    };
    let seen = board::board(s, &h.nurse, BoardFilter::default()).await.unwrap();
    // At 11:00 the first dose and the vitals (both of 10:00) are due, an hour late: not overdue yet.
    assert_eq!(due_on_board(&seen, &in_bed.id), Some(DueSummary { doses: 1, vitals: 1, overdue: 0 }));
    assert_eq!(due_on_board(&seen, &waiting.id), Some(DueSummary { doses: 0, vitals: 1, overdue: 0 }));
    h.at(2);
    let later = board::board(s, &h.nurse, BoardFilter::default()).await.unwrap();
    assert_eq!(due_on_board(&later, &in_bed.id), Some(DueSummary { doses: 1, vitals: 1, overdue: 2 }));
    let desk = board::board(s, &h.desk, BoardFilter::default()).await.unwrap();
    assert_eq!(due_on_board(&desk, &in_bed.id), None, "reception does not see the clinical record");
}
