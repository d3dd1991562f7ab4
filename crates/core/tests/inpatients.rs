//! Inpatients (issue 15): admission to discharge on the derived bed board, housekeeping and
//! out-of-service beds, bed-days charged at the census, the bad inputs that write nothing, and
//! the permission of every operation.

mod common;
#[path = "common/hospital.rs"]
mod hospital;
#[path = "common/ward.rs"]
mod ward;

use hms_core::inpatients::{
    board, census, reservations, setup, stays, BedInput, BedState, Board, BoardFilter, DischargeInput, ReserveInput,
    WardInput,
};
use hms_core::{Error, Store, ValidationReason};
use hospital::{hospital, Hospital, GENERAL_DAY, ICU_DAY};
use ward::field_of;

async fn board_of(h: &Hospital) -> Board {
    board::board(&h.w.env.store, &h.nurse, BoardFilter::default()).await.unwrap()
}

/// (state, admission) of a bed on the board.
fn bed(b: &Board, bed_id: &str) -> (BedState, Option<String>) {
    let card = b.wards.iter().flat_map(|w| &w.beds).find(|c| c.bed_id == bed_id).unwrap();
    (card.state, card.occupant.as_ref().map(|o| o.admission_id.clone()))
}

async fn audit_actions(s: &Store) -> Vec<String> {
    common::actions(s).await
}

/// (admissions, bed_events, bill_lines, change_log, audit_log) row counts.
async fn counts(s: &Store) -> [i64; 5] {
    [
        common::count(s, "admissions").await,
        common::count(s, "bed_events").await,
        common::count(s, "bill_lines").await,
        common::count(s, "change_log").await,
        common::count(s, "audit_log").await,
    ]
}

async fn bed_day_lines(s: &Store, patient: &str) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT l.description, l.unit_price_minor FROM bill_lines l JOIN bills b ON b.id = l.bill_id
         WHERE b.patient_id = ? AND l.source = 'bed_day' AND l.deleted_at IS NULL ORDER BY l.source_id",
    )
    .bind(patient)
    .fetch_all(s.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn a_stay_from_admission_through_moves_to_discharge_and_a_clean_bed() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let (doctor, desk, nurse) = (&h.doctor, &h.desk, &h.nurse);

    // The doctor admits Ravi to A1; reception admits Sita to the waiting list.
    let ravi = stays::admit(s, doctor, h.admit_input(0, Some(&h.a1))).await.unwrap();
    assert_eq!(ravi.bed_id.as_deref(), Some(h.a1.as_str()));
    let sita = stays::admit(s, desk, h.admit_input(1, None)).await.unwrap();
    assert_eq!(sita.bed_id, None);
    let b = board_of(&h).await;
    assert_eq!(bed(&b, &h.a1), (BedState::Occupied, Some(ravi.id.clone())));
    let general = b.wards.iter().find(|w| w.ward.id == h.general).unwrap();
    assert_eq!(
        (general.counts.beds, general.counts.occupied, general.counts.free, general.counts.waiting),
        (3, 1, 2, 1)
    );
    assert_eq!(general.waiting[0].occupant.admission_id, sita.id);
    assert!(!general.waiting[0].needs_bed);
    let card = general.beds.iter().find(|c| c.bed_id == h.a1).unwrap();
    let o = card.occupant.as_ref().unwrap();
    assert_eq!((o.name.as_str(), o.doctor_name.as_str(), o.age_years), ("Ravi Sharma", "Dr Anil Rao", Some(46)));
    assert_eq!((card.room_name.as_str(), card.tags.clone()), ("Room 1", vec!["oxygen".to_string(), "window".into()]));

    // Reception gives Sita A2, then swaps the two; then moves Ravi to the ICU.
    h.at(2);
    let sita = stays::transfer(s, desk, &sita.id, &h.a2).await.unwrap();
    assert_eq!(sita.bed_id.as_deref(), Some(h.a2.as_str()));
    h.at(3);
    stays::swap(s, desk, &ravi.id, &sita.id).await.unwrap();
    let b = board_of(&h).await;
    assert_eq!(bed(&b, &h.a1), (BedState::Occupied, Some(sita.id.clone())));
    assert_eq!(bed(&b, &h.a2), (BedState::Occupied, Some(ravi.id.clone())));
    h.at(4);
    let ravi = stays::transfer(s, doctor, &ravi.id, &h.icu1).await.unwrap();
    assert_eq!(ravi.bed_id.as_deref(), Some(h.icu1.as_str()));
    assert_eq!(bed(&board_of(&h).await, &h.a2).0, BedState::Cleaning, "a bed left goes to cleaning");

    // Filters: the ICU alone; beds tagged oxygen.
    let icu_only = board::board(s, nurse, BoardFilter { ward_id: Some(h.icu.clone()), tag: None }).await.unwrap();
    assert_eq!(icu_only.wards.len(), 1);
    let oxygen = board::board(s, nurse, BoardFilter { ward_id: None, tag: Some("Oxygen".into()) }).await.unwrap();
    let shown: Vec<&str> = oxygen.wards.iter().flat_map(|w| &w.beds).map(|c| c.label.as_str()).collect();
    assert_eq!(shown, vec!["A1", "ICU-1"]);
    assert_eq!(oxygen.tags, vec!["isolation", "oxygen", "window"]);

    // The doctor discharges Ravi home two days on: the ICU bed goes to cleaning, then the
    // nurse marks it clean.
    h.at(50);
    let input = DischargeInput {
        admission_id: ravi.id.clone(),
        discharge_type: "home".into(),
        discharged_at: None,
        note: "Stable".into(),
    };
    let out = stays::discharge(s, doctor, input).await.unwrap();
    assert!(out.discharged_at.is_some() && out.bed_id.is_none());
    assert_eq!(bed(&board_of(&h).await, &h.icu1).0, BedState::Cleaning);
    setup::mark_clean(s, nurse, &h.icu1).await.unwrap();
    assert_eq!(bed(&board_of(&h).await, &h.icu1).0, BedState::Free);
    // Ravi can be admitted again.
    stays::admit(s, doctor, h.admit_input(0, None)).await.unwrap();

    let actions = audit_actions(s).await;
    for a in [
        "ward.add",
        "room.add",
        "bed.add",
        "inpatient.admit",
        "inpatient.assign_bed",
        "inpatient.swap",
        "inpatient.transfer",
        "inpatient.discharge",
        "bed.cleaned",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} audited");
    }
    // The stay's two nights (1 and 2 Dec) are on Ravi's bill at the ICU's price: the census
    // found him in the ICU bed both times.
    let lines = bed_day_lines(s, &h.patients[0]).await;
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().all(|(d, p)| *p == ICU_DAY && d.contains("ICU ICU-1")), "{lines:?}");
}

#[tokio::test]
async fn bed_days_are_charged_once_per_census_at_the_bed_held_then() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let (doctor, desk) = (&h.doctor, &h.desk);
    // Admitted 1 Dec 10:00 to A1; to the ICU 2 Dec 12:00.
    let stay = stays::admit(s, doctor, h.admit_input(1, Some(&h.a1))).await.unwrap();
    h.at(26);
    stays::transfer(s, desk, &stay.id, &h.icu1).await.unwrap();
    // 4 Dec 09:00: the census of 2, 3 and 4 Dec midnight have passed (the days 1, 2, 3 Dec).
    h.at(71);
    let first = census::accrue(s, desk).await.unwrap();
    assert_eq!((first.lines, first.unpriced), (3, 0));
    assert_eq!(census::accrue(s, desk).await.unwrap().lines, 0, "charged once");
    let lines = bed_day_lines(s, &h.patients[1]).await;
    let prices: Vec<i64> = lines.iter().map(|(_, p)| *p).collect();
    assert_eq!(prices, vec![GENERAL_DAY, ICU_DAY, ICU_DAY], "{lines:?}");
    assert!(lines[0].0.starts_with("Bed-day 2026-12-01"), "{lines:?}");
    // A discharge may not be dated before a bed-day already charged (3 Dec's census).
    let early = DischargeInput {
        admission_id: stay.id.clone(),
        discharge_type: "referred".into(),
        discharged_at: Some("2026-12-03T20:00:00Z".into()),
        note: String::new(),
    };
    assert_eq!(
        field_of(stays::discharge(s, doctor, early).await),
        ("discharged_at".into(), ValidationReason::OutOfRange)
    );
    // Discharged 4 Dec 11:00: no census passed since; nothing more charged.
    h.at(73);
    let done = DischargeInput {
        admission_id: stay.id.clone(),
        discharge_type: "referred".into(),
        discharged_at: None,
        note: String::new(),
    };
    stays::discharge(s, doctor, done).await.unwrap();
    h.at(200);
    assert_eq!(census::accrue(s, desk).await.unwrap().lines, 0, "nothing after discharge");
    assert_eq!(bed_day_lines(s, &h.patients[1]).await.len(), 3);
    let board = board_of(&h).await;
    assert!(board.wards.iter().all(|w| w.waiting.is_empty()));
}

/// Another device's copy of a bed-day line, as a pull writes it when its stamp is newer: the
/// same row (the id comes from the admission and the day), priced from another bed.
async fn pulled_bed_day(s: &Store, source: &str, description: &str, price: i64) {
    let done = sqlx::query(
        "UPDATE bill_lines SET description = ?, unit_price_minor = ?, updated_at = '9999764583700000-000000-other'
         WHERE source = 'bed_day' AND source_id = ?",
    )
    .bind(description)
    .bind(price)
    .bind(source)
    .execute(s.pool())
    .await
    .unwrap();
    assert_eq!(done.rows_affected(), 1);
}

/// One night charged on two devices apart, one of which had not seen the evening's move to
/// the ICU: one row (its id is the admission's and the day's), and whichever copy the merge
/// kept, the next census on any device prices it from the bed the settled board says — the
/// ICU — with a synced, audited correction; a finalised bill is left as it is.
#[tokio::test]
async fn a_bed_day_charged_apart_from_another_bed_is_corrected_to_the_settled_one() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let (doctor, desk) = (&h.doctor, &h.desk);
    // Admitted 1 Dec 10:00 to A1; moved to the ICU at 22:00, before the census.
    let stay = stays::admit(s, doctor, h.admit_input(1, Some(&h.a1))).await.unwrap();
    h.at(12);
    stays::transfer(s, desk, &stay.id, &h.icu1).await.unwrap();
    h.at(23);
    let first = census::accrue(s, desk).await.unwrap();
    assert_eq!((first.lines, first.corrected), (1, 0));
    let source = format!("{}@2026-12-01", stay.id);
    // The other tablet, which had not seen the move, charged the night from A1; its copy
    // of the line arrives with a newer stamp and wins the merge.
    pulled_bed_day(s, &source, "Bed-day 2026-12-01: General A1", GENERAL_DAY).await;
    assert_eq!(bed_day_lines(s, &h.patients[1]).await[0].1, GENERAL_DAY);
    let changes_before: i64 = sqlx::query_scalar("SELECT count(*) FROM change_log WHERE entity = 'bill_lines'")
        .fetch_one(s.pool())
        .await
        .unwrap();
    h.at(24);
    let again = census::accrue(s, desk).await.unwrap();
    assert_eq!((again.lines, again.corrected), (0, 1), "charged once, corrected once");
    let lines = bed_day_lines(s, &h.patients[1]).await;
    assert_eq!(lines, vec![("Bed-day 2026-12-01: ICU ICU-1".to_string(), ICU_DAY)]);
    let changes_after: i64 = sqlx::query_scalar("SELECT count(*) FROM change_log WHERE entity = 'bill_lines'")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(changes_after, changes_before + 1, "the correction is synced");
    assert!(audit_actions(s).await.iter().any(|a| a == "bill.charge_corrected"));
    assert_eq!(census::accrue(s, desk).await.unwrap().corrected, 0, "settled: nothing more");

    // Once the bill is finalised its lines stay as issued, whatever arrives.
    let bill: String = sqlx::query_scalar("SELECT bill_id FROM bill_lines WHERE source_id = ?")
        .bind(&source)
        .fetch_one(s.pool())
        .await
        .unwrap();
    hms_core::billing::bills::finalize(s, &h.admin, &bill).await.unwrap();
    pulled_bed_day(s, &source, "Bed-day 2026-12-01: General A1", GENERAL_DAY).await;
    assert_eq!(census::accrue(s, desk).await.unwrap().corrected, 0);
    assert_eq!(bed_day_lines(s, &h.patients[1]).await[0].1, GENERAL_DAY);
}

/// The census charges every inpatient at once: one bed-day line on each patient's own bill,
/// each audited as a charge to that bill, and the audit chain still verifies end to end.
#[tokio::test]
async fn one_census_charges_each_inpatient_on_their_own_bill_with_an_audit_entry_each() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let (doctor, desk) = (&h.doctor, &h.desk);
    for (i, bed) in [(0, &h.a1), (1, &h.a2), (2, &h.icu1)] {
        stays::admit(s, doctor, h.admit_input(i, Some(bed))).await.unwrap();
    }
    // One on the waiting list: charged at the ward's rate.
    stays::admit(s, doctor, h.admit_input(3, None)).await.unwrap();
    let before = common::count(s, "audit_log").await;
    h.at(20);
    let first = census::accrue(s, desk).await.unwrap();
    assert_eq!((first.lines, first.unpriced), (4, 0));
    for (i, price) in [(0, GENERAL_DAY), (1, GENERAL_DAY), (2, ICU_DAY), (3, GENERAL_DAY)] {
        let lines = bed_day_lines(s, &h.patients[i]).await;
        assert_eq!(lines.iter().map(|(_, p)| *p).collect::<Vec<_>>(), vec![price], "patient {i}: {lines:?}");
    }
    let charges: Vec<(String, String)> = sqlx::query_as(
        "SELECT a.entity_id, b.patient_id FROM audit_log a JOIN bills b ON b.id = a.entity_id
         WHERE a.action = 'bill.charge' AND a.seq > ? ORDER BY a.seq",
    )
    .bind(before)
    .fetch_all(s.pool())
    .await
    .unwrap();
    let mut billed: Vec<&str> = charges.iter().map(|(_, p)| p.as_str()).collect();
    billed.sort_unstable();
    let mut expected: Vec<&str> = h.patients[0..=3].iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(billed, expected, "one charge entry per patient's bill");
    assert!(audit_actions(s).await.iter().any(|a| a == "inpatient.census"));
    let chain = hms_core::audit::verify_unaudited(s).await.unwrap();
    assert!(chain.intact, "{:?}", chain.problem);
    // A second census the same night charges nothing more and writes no charge entry.
    assert_eq!(census::accrue(s, desk).await.unwrap().lines, 0);
    let again: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'bill.charge'")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(again, 4);
}

/// After many stays the board is saved part-way (migration 0034) and later writes replay only
/// the events after it: the board they give equals a replay from the start, and an event that
/// arrives with an earlier time (another device's, synced late) drops the saved board.
#[tokio::test]
async fn the_saved_board_equals_a_replay_from_the_start_and_a_late_event_drops_it() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let (doctor, nurse) = (&h.doctor, &h.nurse);
    // 75 stays in A1, one every 2 hours: 225 events.
    for i in 0..75 {
        h.at(2 * i);
        let stay = stays::admit(s, doctor, h.admit_input(0, Some(&h.a1))).await.unwrap();
        h.at(2 * i + 1);
        let out = DischargeInput {
            admission_id: stay.id,
            discharge_type: "home".into(),
            discharged_at: None,
            note: String::new(),
        };
        stays::discharge(s, doctor, out).await.unwrap();
        setup::mark_clean(s, nurse, &h.a1).await.unwrap();
    }
    h.at(160);
    let now_in_a2 = stays::admit(s, doctor, h.admit_input(1, Some(&h.a2))).await.unwrap();
    let saved = |table: &'static str| async move {
        let sql = format!("SELECT upto_at FROM {table}");
        sqlx::query_scalar::<_, String>(&sql).fetch_optional(s.pool()).await.unwrap()
    };
    // Writes save the board after the last event they replayed (migration 0048), so that the
    // next one replays from there.
    assert!(saved("bed_board_recent").await.is_some(), "the writes save the board after their events");
    let with_saved = board_of(&h).await;
    assert_eq!(bed(&with_saved, &h.a2), (BedState::Occupied, Some(now_in_a2.id.clone())));
    assert_eq!(bed(&with_saved, &h.a1).0, BedState::Free);
    let version =
        || async { sqlx::query_scalar::<_, i64>("SELECT n FROM bed_board_version").fetch_one(s.pool()).await.unwrap() };
    let before = version().await;
    sqlx::query("DELETE FROM bed_board_snapshot").execute(s.pool()).await.unwrap();
    sqlx::query("DELETE FROM bed_board_recent").execute(s.pool()).await.unwrap();
    assert!(version().await > before, "the board kept in memory is replayed again");
    assert_eq!(board_of(&h).await, with_saved, "the same board replayed from the start");

    // The next write replays every event (none saved): it saves the board of six hours back
    // and the board after its events. Then a bed event older than both arrives as a pulled
    // row would be stored: both are dropped in the same statement.
    h.at(161);
    stays::transfer(s, &h.desk, &now_in_a2.id, &h.a3).await.unwrap();
    let settled = saved("bed_board_snapshot").await.expect("a long replay saves the board of six hours back");
    assert!(settled.as_str() < "2026-12-07T20:00:00.000Z", "saved six hours back at least: {settled}");
    assert!(saved("bed_board_recent").await.is_some());
    let from_saved = board_of(&h).await;
    sqlx::query("DELETE FROM bed_board_snapshot").execute(s.pool()).await.unwrap();
    sqlx::query("DELETE FROM bed_board_recent").execute(s.pool()).await.unwrap();
    assert_eq!(board_of(&h).await, from_saved, "the boards the transfer saved replay to the board from the start");
    h.at(162);
    setup::mark_clean(s, nurse, &h.a2).await.unwrap();
    assert!(saved("bed_board_snapshot").await.is_some() && saved("bed_board_recent").await.is_some());
    sqlx::query(
        "INSERT INTO bed_events (id, bed_id, kind, at, reason, created_at, updated_at, origin_device)
         VALUES (?, ?, 'out_of_service', '2026-12-01T10:30:00.000Z', 'late', '2026-12-01T10:30:00.000Z', '2026-12-01T10:30:00.000Z', 'other-device')",
    )
    .bind(hms_core::ids::new_id())
    .bind(&h.a2)
    .execute(s.pool())
    .await
    .unwrap();
    assert_eq!(saved("bed_board_snapshot").await, None, "an event behind the saved board drops it");
    assert_eq!(saved("bed_board_recent").await, None, "and the board after the last write's events");
}

#[tokio::test]
async fn bad_input_gets_a_typed_error_naming_the_field_and_writes_nothing() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let (doctor, desk, admin) = (&h.doctor, &h.desk, &h.admin);
    let ravi = stays::admit(s, doctor, h.admit_input(0, Some(&h.a1))).await.unwrap();
    let sita = stays::admit(s, doctor, h.admit_input(1, Some(&h.a2))).await.unwrap();
    setup::out_of_service(s, admin, &h.a3, "Broken rail").await.unwrap();
    h.at(5);
    let before = counts(s).await;

    let cases: Vec<(&str, Result<(), Error>, &str, ValidationReason)> = vec![
        (
            "already admitted",
            stays::admit(s, doctor, h.admit_input(0, None)).await.map(|_| ()),
            "patient_id",
            ValidationReason::Taken,
        ),
        (
            "bed occupied",
            stays::admit(s, doctor, h.admit_input(2, Some(&h.a1))).await.map(|_| ()),
            "bed_id",
            ValidationReason::Taken,
        ),
        (
            "bed out of service",
            stays::admit(s, doctor, h.admit_input(2, Some(&h.a3))).await.map(|_| ()),
            "bed_id",
            ValidationReason::Invalid,
        ),
        (
            "bed of another ward",
            stays::admit(s, doctor, {
                let mut i = h.admit_input(2, None);
                i.bed_id = Some(h.icu1.clone());
                i
            })
            .await
            .map(|_| ()),
            "bed_id",
            ValidationReason::Invalid,
        ),
        (
            "no reason",
            stays::admit(s, doctor, {
                let mut i = h.admit_input(2, None);
                i.reason = "  ".into();
                i
            })
            .await
            .map(|_| ()),
            "reason",
            ValidationReason::Required,
        ),
        (
            "not an ICD-10 code",
            stays::admit(s, doctor, {
                let mut i = h.admit_input(2, None);
                i.diagnosis_code = "ZZZ.99".into();
                i
            })
            .await
            .map(|_| ()),
            "diagnosis_code",
            ValidationReason::Invalid,
        ),
        (
            "expected stay out of range",
            stays::admit(s, doctor, {
                let mut i = h.admit_input(2, None);
                i.expected_days = Some(0);
                i
            })
            .await
            .map(|_| ()),
            "expected_days",
            ValidationReason::OutOfRange,
        ),
        (
            "not a doctor",
            stays::admit(s, doctor, {
                let mut i = h.admit_input(2, None);
                i.doctor_id = h.w.patient.clone();
                i
            })
            .await
            .map(|_| ()),
            "doctor_id",
            ValidationReason::Invalid,
        ),
        (
            "transfer to the same bed",
            stays::transfer(s, desk, &ravi.id, &h.a1).await.map(|_| ()),
            "to_bed_id",
            ValidationReason::Invalid,
        ),
        (
            "transfer to an occupied bed",
            stays::transfer(s, desk, &ravi.id, &h.a2).await.map(|_| ()),
            "to_bed_id",
            ValidationReason::Taken,
        ),
        (
            "transfer to a bed out of service",
            stays::transfer(s, desk, &ravi.id, &h.a3).await.map(|_| ()),
            "to_bed_id",
            ValidationReason::Invalid,
        ),
        ("swap with oneself", stays::swap(s, desk, &ravi.id, &ravi.id).await, "admission_b", ValidationReason::Invalid),
        (
            "discharge before admission",
            stays::discharge(
                s,
                doctor,
                DischargeInput {
                    admission_id: sita.id.clone(),
                    discharge_type: "home".into(),
                    discharged_at: Some("2026-12-01T09:00:00Z".into()),
                    note: String::new(),
                },
            )
            .await
            .map(|_| ()),
            "discharged_at",
            ValidationReason::OutOfRange,
        ),
        (
            "discharge in the future",
            stays::discharge(
                s,
                doctor,
                DischargeInput {
                    admission_id: sita.id.clone(),
                    discharge_type: "home".into(),
                    discharged_at: Some("2026-12-09T09:00:00Z".into()),
                    note: String::new(),
                },
            )
            .await
            .map(|_| ()),
            "discharged_at",
            ValidationReason::OutOfRange,
        ),
        (
            "unknown discharge type",
            stays::discharge(
                s,
                doctor,
                DischargeInput {
                    admission_id: sita.id.clone(),
                    discharge_type: "escaped".into(),
                    discharged_at: None,
                    note: String::new(),
                },
            )
            .await
            .map(|_| ()),
            "discharge_type",
            ValidationReason::Invalid,
        ),
        (
            "occupied bed out of service",
            setup::out_of_service(s, admin, &h.a1, "Leak").await,
            "bed_id",
            ValidationReason::Invalid,
        ),
        (
            "clean a bed not in cleaning",
            setup::mark_clean(s, &h.nurse, &h.a1).await,
            "bed_id",
            ValidationReason::Invalid,
        ),
        (
            "ward kind",
            setup::add_ward(s, admin, WardInput { name: "X".into(), kind: "hall".into(), bed_service_id: None })
                .await
                .map(|_| ()),
            "kind",
            ValidationReason::Invalid,
        ),
        (
            "bed label taken in the ward",
            setup::add_bed(s, admin, BedInput { ward_id: h.general.clone(), label: "a1".into(), ..Default::default() })
                .await
                .map(|_| ()),
            "label",
            ValidationReason::Taken,
        ),
    ];
    for (what, result, field, reason) in cases {
        match result {
            Err(Error::Validation { field: f, reason: r, .. }) => {
                assert_eq!((f.as_str(), r), (field, reason), "{what}")
            }
            other => panic!("{what}: expected a validation error on {field}, got {other:?}"),
        }
        assert_eq!(counts(s).await, before, "{what} wrote nothing");
    }
    // A discharged stay is no longer moved or discharged again.
    let out = DischargeInput {
        admission_id: sita.id.clone(),
        discharge_type: "home".into(),
        discharged_at: None,
        note: String::new(),
    };
    stays::discharge(s, doctor, out.clone()).await.unwrap();
    assert_eq!(field_of(stays::discharge(s, doctor, out).await).0, "admission_id");
    assert_eq!(field_of(stays::transfer(s, desk, &sita.id, &h.icu1).await).0, "admission_id");
}

#[tokio::test]
async fn every_inpatient_operation_needs_its_permission() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let (admin, doctor, nurse, desk, lab) = (&h.admin, &h.doctor, &h.nurse, &h.desk, &h.lab);
    let forbidden = |what: &str, r: Result<(), Error>, permission: &str| match r {
        Err(Error::Forbidden { permission: p }) => assert_eq!(p, permission, "{what}"),
        other => panic!("{what}: expected forbidden, got {other:?}"),
    };
    let ward_input = || WardInput { name: "Maternity".into(), kind: "maternity".into(), bed_service_id: None };
    for who in [doctor, nurse, desk] {
        forbidden("add a ward", setup::add_ward(s, who, ward_input()).await.map(|_| ()), "wards_manage");
        forbidden(
            "update a ward",
            setup::update_ward(s, who, &h.general, ward_input()).await.map(|_| ()),
            "wards_manage",
        );
        forbidden("add a room", setup::add_room(s, who, &h.general, "R2").await.map(|_| ()), "wards_manage");
        let b = BedInput { ward_id: h.general.clone(), label: "A9".into(), ..Default::default() };
        forbidden("add a bed", setup::add_bed(s, who, b.clone()).await.map(|_| ()), "wards_manage");
        forbidden("update a bed", setup::update_bed(s, who, &h.a3, b).await.map(|_| ()), "wards_manage");
        forbidden("out of service", setup::out_of_service(s, who, &h.a3, "x").await, "wards_manage");
        forbidden("back in service", setup::back_in_service(s, who, &h.a3).await, "wards_manage");
    }
    for who in [admin, nurse, lab] {
        forbidden("admit", stays::admit(s, who, h.admit_input(2, None)).await.map(|_| ()), "inpatients_admit");
    }
    let stay = stays::admit(s, desk, h.admit_input(0, Some(&h.a1))).await.unwrap();
    let other = stays::admit(s, doctor, h.admit_input(1, Some(&h.a2))).await.unwrap();
    for who in [admin, nurse, lab] {
        forbidden("transfer", stays::transfer(s, who, &stay.id, &h.a3).await.map(|_| ()), "inpatients_transfer");
        forbidden("swap", stays::swap(s, who, &stay.id, &other.id).await, "inpatients_transfer");
    }
    let out = || DischargeInput {
        admission_id: stay.id.clone(),
        discharge_type: "home".into(),
        discharged_at: None,
        note: String::new(),
    };
    for who in [admin, nurse, desk, lab] {
        forbidden("discharge", stays::discharge(s, who, out()).await.map(|_| ()), "inpatients_discharge");
    }
    for who in [admin, doctor, desk, lab] {
        forbidden("send to cleaning", setup::send_to_cleaning(s, who, &h.a3).await, "beds_housekeeping");
        forbidden("mark clean", setup::mark_clean(s, who, &h.a3).await, "beds_housekeeping");
    }
    forbidden("board", board::board(s, lab, BoardFilter::default()).await.map(|_| ()), "inpatients_view");
    forbidden("wards", setup::wards(s, lab).await.map(|_| ()), "inpatients_view");
    forbidden("admission", stays::admission(s, lab, &stay.id).await.map(|_| ()), "inpatients_view");
    forbidden("census", census::accrue(s, nurse).await.map(|_| ()), "billing_edit");
    // And each holder may.
    setup::add_ward(s, admin, ward_input()).await.unwrap();
    setup::send_to_cleaning(s, nurse, &h.a3).await.unwrap();
    setup::mark_clean(s, nurse, &h.a3).await.unwrap();
    stays::transfer(s, desk, &stay.id, &h.a3).await.unwrap();
    stays::swap(s, doctor, &stay.id, &other.id).await.unwrap();
    census::accrue(s, admin).await.unwrap();
    stays::discharge(s, doctor, out()).await.unwrap();
    for who in [admin, doctor, nurse, desk] {
        board::board(s, who, BoardFilter::default()).await.unwrap();
    }
}

#[tokio::test]
async fn the_clinic_may_keep_reception_from_admitting_and_moving_patients() {
    use hms_core::inpatients::rights;
    use hms_core::rbac::Permission;
    let h = hospital().await;
    let s = &h.w.env.store;
    let on = rights::settings(s, &h.desk).await.unwrap();
    assert!(on.reception_moves && on.withheld.is_empty(), "reception admits and moves by default");
    let stay = stays::admit(s, &h.desk, h.admit_input(0, Some(&h.a1))).await.unwrap();

    let denied = rights::set_reception_moves(s, &h.desk, false).await;
    assert!(matches!(denied, Err(Error::Forbidden { ref permission }) if permission == "wards_manage"));
    let off = rights::set_reception_moves(s, &h.admin, false).await.unwrap();
    assert!(!off.reception_moves);
    assert!(off.withheld.is_empty(), "the administrator holds no move right to withhold");
    let desk = rights::settings(s, &h.desk).await.unwrap();
    assert_eq!(desk.withheld, vec![Permission::InpatientsAdmit, Permission::InpatientsTransfer]);
    assert!(rights::settings(s, &h.doctor).await.unwrap().withheld.is_empty(), "doctors keep theirs");

    let before = common::count(s, "admissions").await;
    let refused = stays::admit(s, &h.desk, h.admit_input(1, Some(&h.a2))).await;
    assert!(matches!(refused, Err(Error::Forbidden { ref permission }) if permission == "inpatients_admit"));
    assert_eq!(common::count(s, "admissions").await, before, "nothing written");
    let moved = stays::transfer(s, &h.desk, &stay.id, &h.a2).await;
    assert!(matches!(moved, Err(Error::Forbidden { ref permission }) if permission == "inpatients_transfer"));
    stays::admit(s, &h.doctor, h.admit_input(1, Some(&h.a2))).await.unwrap();
    stays::transfer(s, &h.doctor, &stay.id, &h.a3).await.unwrap();

    rights::set_reception_moves(s, &h.admin, true).await.unwrap();
    stays::transfer(s, &h.desk, &stay.id, &h.icu1).await.unwrap();
}

fn reserve_input(h: &Hospital, bed: &str, patient: usize) -> ReserveInput {
    ReserveInput {
        bed_id: bed.into(),
        patient_id: h.patients[patient].clone(),
        note: "Planned surgery".into(),
        until: None,
    }
}

fn card<'a>(b: &'a Board, bed_id: &str) -> &'a hms_core::inpatients::BedCard {
    b.wards.iter().flat_map(|w| &w.beds).find(|c| c.bed_id == bed_id).unwrap()
}

fn refused_as<T: std::fmt::Debug>(r: Result<T, Error>, field: &str, reason: ValidationReason) {
    match r {
        Err(Error::Validation { field: f, reason: why, .. }) => assert_eq!((f.as_str(), why), (field, reason)),
        other => panic!("expected {field} {reason:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn a_reserved_bed_waits_for_its_patient_and_lapses_by_itself() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let (doctor, desk) = (&h.doctor, &h.desk);

    // Reception holds A1 for Ravi (expected tomorrow): until the end of the next day.
    reservations::reserve(s, desk, reserve_input(&h, &h.a1, 0)).await.unwrap();
    let b = board_of(&h).await;
    let a1 = card(&b, &h.a1);
    assert_eq!((a1.state, a1.occupant.is_none()), (BedState::Reserved, true));
    let held = a1.reservation.as_ref().unwrap();
    assert_eq!((held.name.as_str(), held.note.as_str()), ("Ravi Sharma", "Planned surgery"));
    assert_eq!(held.until, "2026-12-03T00:00:00.000Z", "the end of the next day, clinic time");
    let general = b.wards.iter().find(|w| w.ward.id == h.general).unwrap();
    assert_eq!((general.counts.reserved, general.counts.free), (1, 2));

    // Nobody else gets it, nor may it be held twice or taken out of service; nothing written.
    let before = counts(s).await;
    refused_as(stays::admit(s, doctor, h.admit_input(1, Some(&h.a1))).await, "bed_id", ValidationReason::Reserved);
    refused_as(reservations::reserve(s, desk, reserve_input(&h, &h.a1, 2)).await, "bed_id", ValidationReason::Reserved);
    refused_as(
        reservations::reserve(s, desk, reserve_input(&h, &h.a2, 0)).await,
        "patient_id",
        ValidationReason::Taken,
    );
    refused_as(setup::out_of_service(s, &h.admin, &h.a1, "Leak").await, "bed_id", ValidationReason::Reserved);
    let waiting = stays::admit(s, doctor, h.admit_input(1, None)).await.unwrap();
    let before_move = counts(s).await;
    refused_as(stays::transfer(s, desk, &waiting.id, &h.a1).await, "to_bed_id", ValidationReason::Reserved);
    assert_eq!(counts(s).await, before_move, "a refused move writes nothing");
    assert_eq!(before[1], before_move[1], "no bed event for the refused ones");

    // Ravi arrives: his admission takes the bed held for him.
    h.at(18);
    let ravi = stays::admit(s, doctor, h.admit_input(0, Some(&h.a1))).await.unwrap();
    assert_eq!(bed(&board_of(&h).await, &h.a1), (BedState::Occupied, Some(ravi.id.clone())));
    assert!(card(&board_of(&h).await, &h.a1).reservation.is_none());

    // A2 held for Sita (on the waiting list) lapses unused at its time: free for anyone.
    reservations::reserve(
        s,
        desk,
        ReserveInput { until: Some("2026-12-02T08:00:00+02:00".into()), ..reserve_input(&h, &h.a2, 1) },
    )
    .await
    .unwrap();
    assert_eq!(card(&board_of(&h).await, &h.a2).reservation.as_ref().unwrap().until, "2026-12-02T06:00:00.000Z");
    refused_as(stays::admit(s, doctor, h.admit_input(2, Some(&h.a2))).await, "bed_id", ValidationReason::Reserved);
    h.at(19);
    assert_eq!(bed(&board_of(&h).await, &h.a2).0, BedState::Reserved);
    s.set_now(Some(chrono::DateTime::parse_from_rfc3339("2026-12-02T06:00:00Z").unwrap().to_utc()));
    assert_eq!(bed(&board_of(&h).await, &h.a2).0, BedState::Free, "lapsed by itself");
    let arjun = stays::admit(s, doctor, h.admit_input(2, Some(&h.a2))).await.unwrap();
    assert_eq!(bed(&board_of(&h).await, &h.a2), (BedState::Occupied, Some(arjun.id)));

    // Held for Sita on the waiting list: giving her the bed takes it; one held for Meena is
    // let go when she is admitted into another bed.
    h.at(22);
    reservations::reserve(s, desk, reserve_input(&h, &h.a3, 1)).await.unwrap();
    reservations::reserve(s, desk, reserve_input(&h, &h.icu1, 3)).await.unwrap();
    stays::transfer(s, desk, &waiting.id, &h.a3).await.unwrap();
    assert_eq!(bed(&board_of(&h).await, &h.a3), (BedState::Occupied, Some(waiting.id.clone())));
    h.at(23);
    stays::discharge(
        s,
        doctor,
        DischargeInput { admission_id: ravi.id.clone(), discharge_type: "home".into(), ..Default::default() },
    )
    .await
    .unwrap();
    setup::mark_clean(s, &h.nurse, &h.a1).await.unwrap();
    let meena = stays::admit(s, doctor, h.admit_input(3, Some(&h.a1))).await.unwrap();
    assert_eq!(bed(&board_of(&h).await, &h.icu1).0, BedState::Free, "her other reservation is let go");
    assert_eq!(meena.bed_id.as_deref(), Some(h.a1.as_str()));

    // A reservation cancelled frees the bed; cancelling a bed not reserved is refused.
    h.at(24);
    reservations::reserve(s, desk, reserve_input(&h, &h.icu1, 0)).await.unwrap();
    reservations::cancel(s, doctor, &h.icu1).await.unwrap();
    assert_eq!(bed(&board_of(&h).await, &h.icu1).0, BedState::Free);
    refused_as(reservations::cancel(s, doctor, &h.icu1).await, "bed_id", ValidationReason::Invalid);
    let actions = audit_actions(s).await;
    assert_eq!(actions.iter().filter(|a| *a == "bed.reserve").count(), 5);
    assert_eq!(actions.iter().filter(|a| *a == "bed.cancel_reservation").count(), 1);
}

#[tokio::test]
async fn a_bad_reservation_gets_a_typed_error_naming_the_field_and_writes_nothing() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let desk = &h.desk;
    stays::admit(s, &h.doctor, h.admit_input(2, Some(&h.a2))).await.unwrap();
    setup::out_of_service(s, &h.admin, &h.a3, "Broken rail").await.unwrap();
    let before = counts(s).await;
    let with = |f: &dyn Fn(&mut ReserveInput)| {
        let mut i = reserve_input(&h, &h.a1, 0);
        f(&mut i);
        i
    };
    let cases: Vec<(&str, ReserveInput, &str, ValidationReason)> = vec![
        ("until past", with(&|i| i.until = Some("2026-12-01T09:00:00Z".into())), "until", ValidationReason::OutOfRange),
        ("until now", with(&|i| i.until = Some("2026-12-01T10:00:00Z".into())), "until", ValidationReason::OutOfRange),
        ("until far", with(&|i| i.until = Some("2026-12-20T10:00:00Z".into())), "until", ValidationReason::OutOfRange),
        ("until text", with(&|i| i.until = Some("tomorrow".into())), "until", ValidationReason::Invalid),
        ("note long", with(&|i| i.note = "x".repeat(501)), "note", ValidationReason::TooLong),
        ("no patient", with(&|i| i.patient_id = "nobody".into()), "patient_id", ValidationReason::Invalid),
        ("patient in a bed", with(&|i| i.patient_id = h.patients[2].clone()), "patient_id", ValidationReason::Invalid),
        ("no bed", with(&|i| i.bed_id = "nothing".into()), "bed_id", ValidationReason::Invalid),
        ("occupied", with(&|i| i.bed_id = h.a2.clone()), "bed_id", ValidationReason::Taken),
        ("out of service", with(&|i| i.bed_id = h.a3.clone()), "bed_id", ValidationReason::Invalid),
    ];
    for (what, input, field, reason) in cases {
        match reservations::reserve(s, desk, input).await {
            Err(Error::Validation { field: f, reason: r, .. }) => {
                assert_eq!((f.as_str(), r), (field, reason), "{what}")
            }
            other => panic!("{what}: expected a validation error on {field}, got {other:?}"),
        }
        assert_eq!(counts(s).await, before, "{what} wrote nothing");
    }
}

#[tokio::test]
async fn reserving_needs_the_admitting_right_as_the_clinic_allows_it() {
    use hms_core::inpatients::rights;
    let h = hospital().await;
    let s = &h.w.env.store;
    for who in [&h.admin, &h.nurse, &h.lab] {
        let r = reservations::reserve(s, who, reserve_input(&h, &h.a1, 0)).await;
        assert!(matches!(r, Err(Error::Forbidden { ref permission }) if permission == "inpatients_admit"), "{r:?}");
    }
    reservations::reserve(s, &h.desk, reserve_input(&h, &h.a1, 0)).await.unwrap();
    for who in [&h.admin, &h.nurse, &h.lab] {
        let r = reservations::cancel(s, who, &h.a1).await;
        assert!(matches!(r, Err(Error::Forbidden { ref permission }) if permission == "inpatients_admit"), "{r:?}");
    }
    // With reception's moves turned off, reception neither reserves nor cancels; a doctor does.
    rights::set_reception_moves(s, &h.admin, false).await.unwrap();
    assert!(matches!(reservations::cancel(s, &h.desk, &h.a1).await, Err(Error::Forbidden { .. })));
    assert!(matches!(
        reservations::reserve(s, &h.desk, reserve_input(&h, &h.a2, 1)).await,
        Err(Error::Forbidden { .. })
    ));
    reservations::cancel(s, &h.doctor, &h.a1).await.unwrap();
    reservations::reserve(s, &h.doctor, reserve_input(&h, &h.a2, 1)).await.unwrap();
}

#[tokio::test]
async fn the_administrator_edits_a_bed_and_renames_wards_and_rooms_audited_and_synced() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let admin = &h.admin;
    let room: String = sqlx::query_scalar("SELECT id FROM rooms").fetch_one(s.pool()).await.unwrap();
    let changes = common::count(s, "change_log").await;
    let edit = BedInput {
        ward_id: h.general.clone(),
        room_id: Some(room.clone()),
        label: "A3-window".into(),
        tags: vec!["Window".into(), "isolation".into()],
        bed_service_id: None,
    };
    let bed3 = setup::update_bed(s, admin, &h.a3, edit.clone()).await.unwrap();
    assert_eq!((bed3.label.as_str(), bed3.tags.clone()), ("A3-window", vec!["window".to_string(), "isolation".into()]));
    setup::rename_room(s, admin, &room, "  Bay North ").await.unwrap();
    let ward = setup::update_ward(
        s,
        admin,
        &h.general,
        WardInput { name: "General Medicine".into(), kind: "general".into(), bed_service_id: None },
    )
    .await
    .unwrap();
    assert_eq!(ward.name, "General Medicine");
    let b = board_of(&h).await;
    let c = card(&b, &h.a3);
    assert_eq!((c.label.as_str(), c.room_name.as_str()), ("A3-window", "Bay North"));
    assert!(b.wards.iter().any(|w| w.ward.name == "General Medicine"));
    assert_eq!(common::count(s, "change_log").await, changes + 3, "each edit is one synced change");
    let actions = audit_actions(s).await;
    for a in ["bed.update", "room.rename", "ward.update"] {
        assert!(actions.iter().any(|x| x == a), "{a} audited");
    }

    // Validated like the add: a label unique in its ward, a name not blank; nothing written.
    let before = counts(s).await;
    let taken = BedInput { label: "a1".into(), ..edit.clone() };
    refused_as(setup::update_bed(s, admin, &h.a3, taken).await, "label", ValidationReason::Taken);
    let blank = BedInput { label: " ".into(), ..edit.clone() };
    refused_as(setup::update_bed(s, admin, &h.a3, blank).await, "label", ValidationReason::Required);
    let many = BedInput { tags: (0..7).map(|i| format!("t{i}")).collect(), ..edit.clone() };
    refused_as(setup::update_bed(s, admin, &h.a3, many).await, "tags", ValidationReason::TooLong);
    refused_as(setup::rename_room(s, admin, &room, "").await, "name", ValidationReason::Required);
    refused_as(setup::rename_room(s, admin, &room, &"x".repeat(61)).await, "name", ValidationReason::TooLong);
    refused_as(setup::rename_room(s, admin, "nowhere", "R").await, "room_id", ValidationReason::Invalid);
    let icu_name = WardInput { name: "icu".into(), kind: "general".into(), bed_service_id: None };
    refused_as(setup::update_ward(s, admin, &h.general, icu_name).await, "name", ValidationReason::Taken);
    assert_eq!(counts(s).await, before);
    // A label free in another ward is fine there: A1 in the ICU.
    let icu_bed = BedInput { ward_id: h.icu.clone(), label: "A1".into(), ..Default::default() };
    setup::update_bed(s, admin, &h.icu1, icu_bed).await.unwrap();

    let listed = setup::beds(s, &h.nurse).await.unwrap();
    assert_eq!(listed.iter().find(|b| b.id == h.a3).map(|b| b.label.as_str()), Some("A3-window"));
    assert!(matches!(setup::beds(s, &h.lab).await, Err(Error::Forbidden { .. })));
    for who in [&h.doctor, &h.nurse, &h.desk] {
        let r = setup::rename_room(s, who, &room, "R").await;
        assert!(matches!(r, Err(Error::Forbidden { ref permission }) if permission == "wards_manage"), "{r:?}");
    }
}

/// The board a read replayed is kept in memory under the board's version (migration 0048):
/// every write to bed events or admissions, by the core or by plain SQL (as a
/// pulled row is stored), shows at the next read, and a refused write changes nothing.
#[tokio::test]
async fn the_board_kept_between_reads_follows_every_write_to_what_it_is_made_of() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let first = board_of(&h).await;
    assert_eq!(board_of(&h).await, first, "read twice, the same");
    assert_eq!(bed(&first, &h.a2).0, BedState::Free);
    let version =
        || async { sqlx::query_scalar::<_, i64>("SELECT n FROM bed_board_version").fetch_one(s.pool()).await.unwrap() };

    // A bed event stored by plain SQL, then deleted.
    let at = (s.now() - chrono::Duration::minutes(5)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let event = hms_core::ids::new_id();
    let before = version().await;
    sqlx::query(
        "INSERT INTO bed_events (id, bed_id, kind, at, reason, created_at, updated_at, origin_device)
         VALUES (?, ?, 'out_of_service', ?, 'leak', ?, ?, 'other-device')",
    )
    .bind(&event)
    .bind(&h.a2)
    .bind(&at)
    .bind(&at)
    .bind(&at)
    .execute(s.pool())
    .await
    .unwrap();
    assert!(version().await > before, "the insert moved the version");
    assert_eq!(bed(&board_of(&h).await, &h.a2).0, BedState::OutOfService);
    sqlx::query("DELETE FROM bed_events WHERE id = ?").bind(&event).execute(s.pool()).await.unwrap();
    assert_eq!(bed(&board_of(&h).await, &h.a2).0, BedState::Free);

    // An admission through the core, a second one into its bed refused, then the first
    // deleted by plain SQL: the bed no longer shows it.
    let stay = stays::admit(s, &h.doctor, h.admit_input(0, Some(&h.a1))).await.unwrap();
    assert_eq!(bed(&board_of(&h).await, &h.a1), (BedState::Occupied, Some(stay.id.clone())));
    assert!(stays::admit(s, &h.doctor, h.admit_input(1, Some(&h.a1))).await.is_err());
    assert_eq!(bed(&board_of(&h).await, &h.a1), (BedState::Occupied, Some(stay.id.clone())));
    sqlx::query("UPDATE admissions SET deleted_at = updated_at WHERE id = ?")
        .bind(&stay.id)
        .execute(s.pool())
        .await
        .unwrap();
    assert_ne!(bed(&board_of(&h).await, &h.a1).1, Some(stay.id.clone()), "a deleted admission holds no bed");
}

/// The board after a write's events is saved as a mark and a name only (migration 0048); the
/// board itself stays in the memory of the app that saved it. Another app on the same database
/// (the store opened a second time) starts from the other saved board, or the first event,
/// and reads the same board.
#[tokio::test]
async fn another_app_without_the_recent_board_in_memory_reads_the_same_board() {
    let h = hospital().await;
    let s = &h.w.env.store;
    for i in 0..6 {
        h.at(2 * i);
        let stay = stays::admit(s, &h.doctor, h.admit_input(0, Some(&h.a1))).await.unwrap();
        h.at(2 * i + 1);
        let out = DischargeInput {
            admission_id: stay.id,
            discharge_type: "home".into(),
            discharged_at: None,
            note: String::new(),
        };
        stays::discharge(s, &h.doctor, out).await.unwrap();
        setup::mark_clean(s, &h.nurse, &h.a1).await.unwrap();
    }
    h.at(20);
    let last = stays::admit(s, &h.doctor, h.admit_input(1, Some(&h.a2))).await.unwrap();
    let recent: Option<String> =
        sqlx::query_scalar("SELECT saved_id FROM bed_board_recent").fetch_optional(s.pool()).await.unwrap();
    assert!(recent.is_some(), "the writes saved where the board after their events stands");
    let here = board_of(&h).await;
    assert_eq!(bed(&here, &h.a2), (BedState::Occupied, Some(last.id.clone())));

    let other = Store::open(&h.w.env.dir.path().join(hms_core::store::DB_FILE)).await.unwrap();
    other.set_now(Some(s.now()));
    let there = board::board(&other, &h.nurse, BoardFilter::default()).await.unwrap();
    assert_eq!(there, here, "the same board without the one kept in the first app's memory");
}
