//! The inpatients' conflicts in the sync inbox (issue 15): a patient left *needs a bed* by a
//! bed given twice, a dose recorded twice, a PRN dose over its limit, a dose after its order's
//! stop and an order changed on two devices — each listed from the
//! rows (another device's rows arrive here as a pull writes them: the synced columns, another
//! device), under the same id whichever device lists it, and leaving the inbox once resolved:
//! the patient given a bed, a dose reviewed (a synced `mar_reviews` row with a note), one of two
//! replacements of an order stopped by a doctor.

mod common;
#[path = "common/hospital.rs"]
mod hospital;
#[path = "common/ward.rs"]
mod ward;

use hms_core::inpatients::mar::{self, DoseInput};
use hms_core::inpatients::orders::{self, OrderInput};
use hms_core::inpatients::stays;
use hms_core::sync::conflicts::{self, ConflictKind, ConflictResolution, SyncConflict};
use hms_core::{Error, Store, ValidationReason};
use hospital::{hospital, Hospital};

const OTHER: &str = "0190c2a0-0000-7000-8000-00000000d0d0";

async fn open(h: &Hospital) -> Vec<SyncConflict> {
    conflicts::list(&h.w.env.store, &h.admin, false).await.unwrap()
}

async fn all(h: &Hospital) -> Vec<SyncConflict> {
    conflicts::list(&h.w.env.store, &h.admin, true).await.unwrap()
}

/// Another device's admission of a patient into a bed at `at`, as a pull writes it.
async fn pulled_admission(s: &Store, h: &Hospital, id: &str, patient: usize, bed: &str, at: &str) {
    sqlx::query(
        "INSERT INTO admissions (id, patient_id, doctor_id, ward_id, reason, admitted_at, created_at, updated_at, origin_device)
         VALUES (?, ?, ?, ?, 'Fever', ?, ?, '0001764583700000-000000-other', ?)",
    )
    .bind(id)
    .bind(&h.patients[patient])
    .bind(&h.w.doctor_staff)
    .bind(&h.general)
    .bind(at)
    .bind(at)
    .bind(OTHER)
    .execute(s.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO bed_events (id, bed_id, kind, admission_id, at, created_at, updated_at, origin_device)
         VALUES (?, ?, 'admitted', ?, ?, ?, '0001764583700000-000001-other', ?)",
    )
    .bind(format!("{}e", &id[..35]))
    .bind(bed)
    .bind(id)
    .bind(at)
    .bind(at)
    .bind(OTHER)
    .execute(s.pool())
    .await
    .unwrap();
}

#[tokio::test]
async fn a_patient_left_without_a_bed_is_in_the_inbox_until_given_one() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let ours = stays::admit(s, &h.desk, h.admit_input(0, Some(&h.a1))).await.unwrap();
    assert!(open(&h).await.is_empty());
    // The other tablet gave A1 to patient 1 half an hour later, while apart.
    let theirs = "0190c2a0-0000-7000-8000-0000000000e1";
    pulled_admission(s, &h, theirs, 1, &h.a1, "2026-12-01T10:30:00.000Z").await;
    let list = open(&h).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let c = &list[0];
    assert_eq!((c.kind, c.entity.as_str(), c.entity_id.as_str()), (ConflictKind::BedNeeded, "admissions", theirs));
    assert_eq!(c.id, "0190c2a0-0000-7000-8000-0000000000ee", "the id is the admission's event: the same everywhere");
    assert_eq!(c.current.record_id.as_deref(), Some(ours.id.as_str()), "the earlier admission keeps the bed");
    assert!(c.label.contains("Sita Das"), "{}", c.label);
    assert!(c.current.value.contains("A1") && c.other.device_id == OTHER, "{c:?}");
    assert!(!c.resolved && c.detected_at == "2026-12-01T10:30:00.000Z");
    // Nothing in the inbox gives a bed (the administrator does not move patients).
    let refused = conflicts::resolve(s, &h.admin, &c.id, ConflictResolution::Dismiss).await.unwrap_err();
    assert!(
        matches!(refused, Error::Validation { ref field, reason: ValidationReason::Invalid, .. } if field == "resolution")
    );
    // Reception gives the waiting patient a bed: the conflict is resolved, on every device
    // that sees the same events.
    h.at(1);
    stays::transfer(s, &h.desk, theirs, &h.a2).await.unwrap();
    assert!(open(&h).await.is_empty());
    let done = all(&h).await;
    assert_eq!(done.len(), 1);
    assert_eq!((done[0].resolved, done[0].resolution.as_deref()), (true, Some("bed_given")));
    assert_eq!(done[0].resolved_at.as_deref(), Some("2026-12-01T11:00:00.000Z"));
    // Once the patient leaves, the conflict leaves the inbox.
    h.at(2);
    stays::discharge(
        s,
        &h.doctor,
        hms_core::inpatients::DischargeInput {
            admission_id: theirs.into(),
            discharge_type: "home".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(all(&h).await.is_empty());
}

fn dose(order: &str, scheduled: Option<&str>, reason: &str) -> DoseInput {
    DoseInput {
        order_id: order.into(),
        scheduled_at: scheduled.map(str::to_string),
        outcome: "given".into(),
        reason: reason.into(),
        given_at: None,
    }
}

/// Another device's MAR entry, as a pull writes it.
async fn pulled_dose(s: &Store, id: &str, order: &str, scheduled: Option<&str>, given_at: &str, reason: &str) {
    sqlx::query(
        "INSERT INTO mar_entries (id, order_id, scheduled_at, outcome, reason, given_at, recorded_by, created_at, updated_at, origin_device)
         VALUES (?, ?, ?, 'given', ?, ?, NULL, ?, '0001764583700000-000000-other', ?)",
    )
    .bind(id)
    .bind(order)
    .bind(scheduled)
    .bind(reason)
    .bind(given_at)
    .bind(given_at)
    .bind(OTHER)
    .execute(s.pool())
    .await
    .unwrap();
}

/// An order of one paracetamol tablet by mouth on `schedule` for the stay.
fn paracetamol(h: &Hospital, stay_id: &str, schedule: &str) -> OrderInput {
    OrderInput {
        admission_id: stay_id.to_string(),
        kind: "medicine".into(),
        medicine_id: Some(h.w.paracetamol.clone()),
        dose: "1".into(),
        dose_unit: "tablet".into(),
        route: "oral".into(),
        schedule: Some(schedule.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_dose_recorded_twice_and_a_prn_dose_over_its_limit_stay_until_reviewed() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let stay = stays::admit(s, &h.doctor, h.admit_input(0, Some(&h.a1))).await.unwrap();
    let medicine = |schedule: &str| paracetamol(&h, &stay.id, schedule);
    let q6 = orders::order(s, &h.doctor, OrderInput { every_hours: Some(6), ..medicine("every") }).await.unwrap();
    let prn = orders::order(s, &h.doctor, OrderInput { prn_max_per_day: Some(2), ..medicine("prn") }).await.unwrap();
    h.at(1);
    let ours = mar::record(s, &h.nurse, dose(&q6.id, Some("2026-12-01T10:00:00Z"), "")).await.unwrap();
    mar::record(s, &h.nurse, dose(&prn.id, None, "Fever")).await.unwrap();
    mar::record(s, &h.nurse, dose(&prn.id, None, "Pain")).await.unwrap();
    assert!(open(&h).await.is_empty(), "within the limit, each dose once");
    // The other tablet recorded the 10:00 dose too (later), and a third PRN dose in the 24 hours.
    let twice = "0190c2a0-0000-7000-8000-0000000000f1";
    let third = "0190c2a0-0000-7000-8000-0000000000f2";
    pulled_dose(s, twice, &q6.id, Some("2026-12-01T10:00:00.000Z"), "2026-12-01T11:05:00.000Z", "").await;
    pulled_dose(s, third, &prn.id, None, "2026-12-01T11:10:00.000Z", "Headache").await;
    let list = open(&h).await;
    let kinds: Vec<(ConflictKind, &str)> = list.iter().map(|c| (c.kind, c.id.as_str())).collect();
    assert_eq!(kinds, vec![(ConflictKind::PrnOverLimit, third), (ConflictKind::DoseTwice, twice)], "newest first");
    let t = &list[1];
    assert_eq!(t.current.record_id.as_deref(), Some(ours.id.as_str()), "the earlier record counts");
    assert!(t.label.contains("Paracetamol") && t.other.device_id == OTHER, "{t:?}");
    assert!(list[0].current.value.contains("\"prn_max_per_day\":2"), "{:?}", list[0].current);

    // Reviewing needs what was found; the review is a synced row, audited.
    let blank = ConflictResolution::Review { note: "  ".into() };
    let e = conflicts::resolve(s, &h.admin, twice, blank).await.unwrap_err();
    assert!(matches!(e, Error::Validation { ref field, reason: ValidationReason::Required, .. } if field == "note"));
    assert_eq!(common::count(s, "mar_reviews").await, 0);
    let wrong = conflicts::resolve(s, &h.admin, twice, ConflictResolution::KeepCurrent).await.unwrap_err();
    assert!(matches!(wrong, Error::Validation { ref field, .. } if field == "resolution"));
    let note = "Given once; the second tablet charted it again";
    let done = conflicts::resolve(s, &h.admin, twice, ConflictResolution::Review { note: note.into() }).await.unwrap();
    assert_eq!(
        (done.resolved, done.resolution.as_deref(), done.resolved_by.as_deref()),
        (true, Some("review"), Some("admin"))
    );
    assert!(done.other.value.contains(note));
    let synced: i64 = sqlx::query_scalar("SELECT count(*) FROM change_log WHERE entity = 'mar_reviews'")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(synced, 1);
    assert!(common::actions(s).await.iter().any(|a| a == "sync.conflict_resolved"));
    let again = conflicts::resolve(s, &h.admin, twice, ConflictResolution::Review { note: note.into() }).await;
    assert!(again.is_err(), "already reviewed");
    // Only the PRN dose is left; a nurse cannot open the inbox.
    let left: Vec<String> = open(&h).await.into_iter().map(|c| c.id).collect();
    assert_eq!(left, vec![third.to_string()]);
    assert!(matches!(conflicts::list(s, &h.nurse, false).await, Err(Error::Forbidden { .. })));
    // Both records of the dose stay on the MAR.
    assert_eq!(mar::mar(s, &h.doctor, &stay.id).await.unwrap().entries.len(), 5);
}

/// A dose given at or after its order's stop by a tablet that had not seen the stop: refused
/// here, listed when it arrives (with the stopped order against it) until reviewed.
#[tokio::test]
async fn a_dose_given_after_its_order_was_stopped_elsewhere_stays_until_reviewed() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let stay = stays::admit(s, &h.doctor, h.admit_input(0, Some(&h.a1))).await.unwrap();
    let medicine = |schedule: &str| paracetamol(&h, &stay.id, schedule);
    let q6 = orders::order(s, &h.doctor, OrderInput { every_hours: Some(6), ..medicine("every") }).await.unwrap();
    let prn = orders::order(s, &h.doctor, OrderInput { prn_max_per_day: Some(4), ..medicine("prn") }).await.unwrap();
    h.at(1);
    mar::record(s, &h.nurse, dose(&q6.id, Some("2026-12-01T10:00:00Z"), "")).await.unwrap();
    mar::record(s, &h.nurse, dose(&prn.id, None, "Fever")).await.unwrap();
    h.at(3);
    orders::stop(s, &h.doctor, &q6.id, "Switched to IV").await.unwrap();
    orders::stop(s, &h.doctor, &prn.id, "Pain settled").await.unwrap();
    assert!(open(&h).await.is_empty(), "doses before the stops");
    h.at(4);
    let refused = mar::record(s, &h.nurse, dose(&prn.id, None, "Pain")).await.unwrap_err();
    assert!(matches!(refused, Error::Validation { ref field, .. } if field == "order_id"), "{refused:?}");

    // The other tablet had not seen the stops: the 16:00 dose, and a PRN dose at 14:00.
    let late = "0190c2a0-0000-7000-8000-0000000000f3";
    let prn_late = "0190c2a0-0000-7000-8000-0000000000f4";
    pulled_dose(s, late, &q6.id, Some("2026-12-01T16:00:00.000Z"), "2026-12-01T16:05:00.000Z", "").await;
    pulled_dose(s, prn_late, &prn.id, None, "2026-12-01T14:00:00.000Z", "Pain").await;
    let list = open(&h).await;
    let kinds: Vec<(ConflictKind, &str)> = list.iter().map(|c| (c.kind, c.id.as_str())).collect();
    assert_eq!(
        kinds,
        vec![(ConflictKind::DoseAfterStop, late), (ConflictKind::DoseAfterStop, prn_late)],
        "newest first"
    );
    let c = &list[0];
    assert_eq!(c.current.record_id.as_deref(), Some(q6.id.as_str()), "set against the stopped order");
    assert!(c.current.value.contains("Switched to IV") && c.other.device_id == OTHER, "{c:?}");

    let note = "Given before the tablet synced; doctor told, IV dose moved to 18:00";
    let done = conflicts::resolve(s, &h.admin, late, ConflictResolution::Review { note: note.into() }).await.unwrap();
    assert_eq!((done.resolved, done.resolution.as_deref()), (true, Some("review")));
    let left: Vec<String> = open(&h).await.into_iter().map(|c| c.id).collect();
    assert_eq!(left, vec![prn_late.to_string()]);
}

/// Another device's reservation of a bed for a patient, as a pull writes it.
async fn pulled_reservation(s: &Store, id: &str, bed: &str, patient: &str, at: &str, until: &str) {
    sqlx::query(
        "INSERT INTO bed_events (id, bed_id, kind, patient_id, until, at, created_at, updated_at, origin_device)
         VALUES (?, ?, 'reserved', ?, ?, ?, ?, '0001764583700000-000002-other', ?)",
    )
    .bind(id)
    .bind(bed)
    .bind(patient)
    .bind(until)
    .bind(at)
    .bind(at)
    .bind(OTHER)
    .execute(s.pool())
    .await
    .unwrap();
}

#[tokio::test]
async fn the_earlier_of_a_reservation_and_an_admission_keeps_the_bed() {
    use hms_core::inpatients::{board, reservations, BedState, BoardFilter, ReserveInput};
    let h = hospital().await;
    let s = &h.w.env.store;
    // We hold A1 for patient 0 at 10:00; the other tablet, apart, admitted patient 1 into A1
    // at 10:30: that admission needs a bed, in the inbox like a bed given twice.
    let input =
        ReserveInput { bed_id: h.a1.clone(), patient_id: h.patients[0].clone(), note: String::new(), until: None };
    reservations::reserve(s, &h.desk, input).await.unwrap();
    let theirs = "0190c2a0-0000-7000-8000-0000000000e1";
    pulled_admission(s, &h, theirs, 1, &h.a1, "2026-12-01T10:30:00.000Z").await;
    let list = open(&h).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!((list[0].kind, list[0].entity_id.as_str()), (ConflictKind::BedNeeded, theirs));
    // Their reservation of A2 at 11:00, after our admission into it at 10:45, is not made: A2
    // stays ours, and nothing is in the inbox for it.
    h.w.env.store.set_now(Some(chrono::DateTime::parse_from_rfc3339("2026-12-01T10:45:00Z").unwrap().to_utc()));
    let ours = stays::admit(s, &h.doctor, h.admit_input(2, Some(&h.a2))).await.unwrap();
    pulled_reservation(
        s,
        "0190c2a0-0000-7000-8000-0000000000f1",
        &h.a2,
        &h.patients[3],
        "2026-12-01T11:00:00.000Z",
        "2026-12-02T11:00:00.000Z",
    )
    .await;
    // And their earlier reservation of A3 (09:00) holds it against our later admission.
    pulled_reservation(
        s,
        "0190c2a0-0000-7000-8000-0000000000f2",
        &h.a3,
        &h.patients[3],
        "2026-12-01T09:00:00.000Z",
        "2026-12-02T11:00:00.000Z",
    )
    .await;
    let b = board::board(s, &h.nurse, BoardFilter::default()).await.unwrap();
    let card = |id: &str| b.wards.iter().flat_map(|w| &w.beds).find(|c| c.bed_id == id).unwrap().clone();
    assert_eq!(card(&h.a1).state, BedState::Reserved);
    assert_eq!(card(&h.a1).reservation.unwrap().patient_id, h.patients[0]);
    assert_eq!(card(&h.a2).occupant.map(|o| o.admission_id), Some(ours.id));
    assert_eq!(card(&h.a3).reservation.map(|r| r.patient_id), Some(h.patients[3].clone()));
    assert_eq!(open(&h).await.len(), 1, "a reservation not made is no conflict");
    let r = stays::admit(s, &h.doctor, h.admit_input(0, Some(&h.a3))).await;
    assert!(
        matches!(r, Err(Error::Validation { ref field, reason: ValidationReason::Reserved, .. }) if field == "bed_id")
    );
}

/// Another device's change of an order, as a pull writes it: the old order's stop (the same
/// "changed" the local change wrote: one row, stopped once) and the replacement naming it.
async fn pulled_change(s: &Store, h: &Hospital, id: &str, old: &str, stay: &str, every: i64, at: &str) {
    sqlx::query(
        "UPDATE inpatient_orders SET stopped_at = ?, stop_reason = 'changed', updated_at = '0001764583700000-000003-other'
         WHERE id = ?",
    )
    .bind(at)
    .bind(old)
    .execute(s.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO inpatient_orders (id, admission_id, kind, medicine_id, dose, dose_unit, route, schedule, every_hours,
            start_at, ordered_by, replaces_id, created_at, updated_at, origin_device)
         VALUES (?, ?, 'medicine', ?, '2', 'tablet', 'oral', 'every', ?, ?, NULL, ?, ?, '0001764583700000-000004-other', ?)",
    )
    .bind(id)
    .bind(stay)
    .bind(&h.w.paracetamol)
    .bind(every)
    .bind(at)
    .bind(old)
    .bind(at)
    .bind(OTHER)
    .execute(s.pool())
    .await
    .unwrap();
}

/// One order changed on two tablets apart: stopped once, but two replacements open — listed
/// (the first replacement by id against the second) until a doctor stops the one not wanted on
/// the patient's orders; the inbox itself changes no order.
#[tokio::test]
async fn an_order_changed_on_two_devices_stays_until_a_doctor_keeps_one() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let stay = stays::admit(s, &h.doctor, h.admit_input(1, Some(&h.a1))).await.unwrap();
    let medicine = |every| OrderInput { every_hours: Some(every), ..paracetamol(&h, &stay.id, "every") };
    let q6 = orders::order(s, &h.doctor, medicine(6)).await.unwrap();
    h.at(1);
    let ours = orders::change(s, &h.doctor, &q6.id, medicine(8)).await.unwrap();
    assert!(open(&h).await.is_empty(), "one change");
    // The other tablet changed the same order to two tablets every 4 hours, before syncing.
    let theirs = "0190c2a0-0000-7000-8000-0000000000c1";
    pulled_change(s, &h, theirs, &q6.id, &stay.id, 4, "2026-12-01T11:10:00.000Z").await;
    let open_now: Vec<(String, Option<String>)> = orders::orders(s, &h.doctor, &stay.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.stopped_at.is_none())
        .map(|o| (o.id, o.changed_twice_with))
        .collect();
    assert_eq!(open_now.len(), 2, "both replacements run until someone chooses");
    // The doctor's orders screen marks each with the other.
    for (id, with) in &open_now {
        let other = if id == theirs { ours.id.as_str() } else { theirs };
        assert_eq!(with.as_deref(), Some(other), "{open_now:?}");
    }

    let list = open(&h).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let c = &list[0];
    assert_eq!(
        (c.kind, c.id.as_str(), c.entity.as_str()),
        (ConflictKind::OrderChangedTwice, q6.id.as_str(), "inpatient_orders")
    );
    assert_eq!(c.current.record_id.as_deref(), Some(theirs), "the first replacement by id");
    assert_eq!(c.other.record_id.as_deref(), Some(ours.id.as_str()));
    assert!(c.label.contains("Sita Das") && c.label.contains("Paracetamol"), "{}", c.label);
    assert!(c.current.value.contains("\"every_hours\":4") && c.other.value.contains("\"every_hours\":8"), "{c:?}");
    assert_eq!(c.current.device_id, OTHER);
    assert_eq!(c.detected_at, ours.start_at, "when the second replacement starts");
    // The inbox's administrator does not choose a patient's medicines.
    for r in [ConflictResolution::KeepCurrent, ConflictResolution::Review { note: "x".into() }] {
        let refused = conflicts::resolve(s, &h.admin, &c.id, r).await.unwrap_err();
        assert!(matches!(refused, Error::Validation { ref field, .. } if field == "resolution"), "{refused:?}");
    }

    // The doctor keeps theirs: stops ours, with why (audited), and the conflict closes.
    h.at(2);
    orders::stop(s, &h.doctor, &ours.id, "Changed twice; kept 2 tablets every 4 hours").await.unwrap();
    assert!(open(&h).await.is_empty());
    let done: Vec<SyncConflict> =
        all(&h).await.into_iter().filter(|c| c.kind == ConflictKind::OrderChangedTwice).collect();
    assert_eq!(done.len(), 1);
    assert_eq!(
        (done[0].resolution.as_deref(), done[0].resolved_by.as_deref(), done[0].resolved_at.as_deref()),
        (Some("order_stopped"), Some("dr.rao"), Some("2026-12-01T12:00:00.000Z"))
    );
    assert!(common::actions(s).await.iter().any(|a| a == "inpatient.order_stop"));
    let kept: Vec<(String, Option<String>)> = orders::orders(s, &h.doctor, &stay.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.stopped_at.is_none())
        .map(|o| (o.id, o.changed_twice_with))
        .collect();
    assert_eq!(kept, vec![(theirs.to_string(), None)], "one open: no longer marked");
}

/// Replaced twice and never chosen: the discharge stops both, which closes it.
#[tokio::test]
async fn a_discharge_closes_an_order_changed_twice() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let stay = stays::admit(s, &h.doctor, h.admit_input(0, Some(&h.a1))).await.unwrap();
    let q6 = orders::order(s, &h.doctor, OrderInput { every_hours: Some(6), ..paracetamol(&h, &stay.id, "every") })
        .await
        .unwrap();
    h.at(1);
    let input = OrderInput { every_hours: Some(8), ..paracetamol(&h, &stay.id, "every") };
    orders::change(s, &h.doctor, &q6.id, input).await.unwrap();
    pulled_change(s, &h, "0190c2a0-0000-7000-8000-0000000000c2", &q6.id, &stay.id, 4, "2026-12-01T11:05:00.000Z").await;
    assert_eq!(open(&h).await.len(), 1);
    h.at(3);
    let discharge = hms_core::inpatients::DischargeInput {
        admission_id: stay.id.clone(),
        discharge_type: "home".into(),
        ..Default::default()
    };
    stays::discharge(s, &h.doctor, discharge).await.unwrap();
    let c = all(&h).await.into_iter().find(|c| c.id == q6.id).unwrap();
    assert_eq!((c.resolved, c.resolution.as_deref(), c.resolved_by), (true, Some("discharged"), None));
}
