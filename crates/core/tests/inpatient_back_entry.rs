//! Admission back-entry (issue 15): an admission entered after the fact. Its limits (at most
//! 72 hours ago, never in the future, never before the patient was registered or last
//! discharged, never into a bed used since) are typed errors naming `admitted_at` that write
//! nothing; the stay's bed and bed-days start at the time entered, and moves after it work as
//! for any stay. Times are pinned from 2026-12-01 10:00 UTC (`hospital`), when the patients
//! (but the first) were registered.

mod common;
#[path = "common/hospital.rs"]
mod hospital;
#[path = "common/ward.rs"]
mod ward;

use chrono::Duration;
use hms_core::inpatients::{board, setup, stays, AdmitInput, BedState, BoardFilter, DischargeInput};
use hms_core::{Store, ValidationReason};
use hospital::{hospital, Hospital, GENERAL_DAY, ICU_DAY};
use ward::field_of;

/// `hours` after the hospital's t0, as the store writes times.
fn at(h: &Hospital, hours: i64) -> String {
    (h.t0 + Duration::hours(hours)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn back_entered(h: &Hospital, patient: usize, bed: Option<&str>, hours: i64) -> AdmitInput {
    AdmitInput { admitted_at: Some(at(h, hours)), ..h.admit_input(patient, bed) }
}

/// (admissions, bed_events, change_log, audit_log) row counts.
async fn counts(s: &Store) -> [i64; 4] {
    [
        common::count(s, "admissions").await,
        common::count(s, "bed_events").await,
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

async fn bed_state(h: &Hospital, bed: &str) -> (BedState, Option<String>) {
    let b = board::board(&h.w.env.store, &h.nurse, BoardFilter::default()).await.unwrap();
    let card = b.wards.iter().flat_map(|w| &w.beds).find(|c| c.bed_id == bed).unwrap();
    (card.state, card.occupant.as_ref().map(|o| o.admission_id.clone()))
}

fn discharge_now(admission_id: &str) -> DischargeInput {
    DischargeInput {
        admission_id: admission_id.into(),
        discharge_type: "home".into(),
        discharged_at: None,
        note: String::new(),
    }
}

#[tokio::test]
async fn a_back_entry_outside_its_limits_is_refused_naming_admitted_at_and_writes_nothing() {
    let h = hospital().await;
    let s = &h.w.env.store;
    // Sita is admitted to A1 at t0 and discharged 20 hours on; A1 is cleaned at 22 hours.
    let sita = stays::admit(s, &h.doctor, h.admit_input(1, Some(&h.a1))).await.unwrap();
    h.at(20);
    stays::discharge(s, &h.doctor, discharge_now(&sita.id)).await.unwrap();
    h.at(22);
    setup::mark_clean(s, &h.nurse, &h.a1).await.unwrap();

    // 2 Dec 16:00 (30 hours on).
    h.at(30);
    let before = counts(s).await;
    let refused = |input: AdmitInput| async { field_of(stays::admit(s, &h.desk, input).await) };
    let with = |raw: &str| AdmitInput { admitted_at: Some(raw.into()), ..h.admit_input(2, None) };
    assert_eq!(refused(with("last night")).await, ("admitted_at".into(), ValidationReason::Invalid));
    assert_eq!(refused(with("2026-12-02T16:01:00Z")).await, ("admitted_at".into(), ValidationReason::OutOfRange));
    // Before Arjun was registered (t0).
    assert_eq!(refused(back_entered(&h, 2, None, -1)).await, ("admitted_at".into(), ValidationReason::OutOfRange));
    // Before Sita's last discharge: two stays of one patient never overlap.
    assert_eq!(refused(back_entered(&h, 1, None, 15)).await, ("admitted_at".into(), ValidationReason::OutOfRange));
    // Into A1 before it was last used (discharged from at 20 h, cleaned at 22 h), though it is
    // free now.
    assert_eq!(
        refused(back_entered(&h, 2, Some(&h.a1), 15)).await,
        ("admitted_at".into(), ValidationReason::OutOfRange)
    );
    assert_eq!(counts(s).await, before, "nothing written");

    // More than 72 hours ago (5 Dec 14:00 back to 2 Dec 13:00, 73 hours).
    h.at(100);
    assert_eq!(refused(back_entered(&h, 2, None, 27)).await, ("admitted_at".into(), ValidationReason::OutOfRange));
    assert_eq!(counts(s).await, before, "nothing written");

    // 72 hours ago exactly, into A1 (untouched since 22 h), and after Sita's discharge: taken.
    let arjun = stays::admit(s, &h.desk, back_entered(&h, 2, Some(&h.a1), 28)).await.unwrap();
    assert_eq!((arjun.admitted_at.as_str(), arjun.bed_id.as_deref()), (at(&h, 28).as_str(), Some(h.a1.as_str())));
    let sita = stays::admit(s, &h.desk, back_entered(&h, 1, None, 29)).await.unwrap();
    assert_eq!(sita.admitted_at, at(&h, 29));
    // The bed event is dated at the admission; the audit says it was back-entered, and when.
    let event_at: String = sqlx::query_scalar("SELECT at FROM bed_events WHERE admission_id = ?")
        .bind(&arjun.id)
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(event_at, at(&h, 28));
    let detail: String = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'inpatient.admit' AND entity_id = ? ORDER BY seq DESC LIMIT 1",
    )
    .bind(&arjun.id)
    .fetch_one(s.pool())
    .await
    .unwrap();
    let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(
        (detail["admitted_at"].as_str(), detail["back_entered"].as_bool()),
        (Some(at(&h, 28).as_str()), Some(true))
    );
    assert_eq!(bed_state(&h, &h.a1).await, (BedState::Occupied, Some(arjun.id.clone())));
}

#[tokio::test]
async fn a_back_entered_stay_is_charged_the_midnights_it_crossed_at_discharge() {
    let h = hospital().await;
    let s = &h.w.env.store;
    // 3 Dec 02:00: Sita is entered as admitted to A1 on 1 Dec at 22:00; Arjun to the General
    // ward's waiting list at 23:00, and given the ICU bed now.
    h.at(40);
    let sita = stays::admit(s, &h.desk, back_entered(&h, 1, Some(&h.a1), 12)).await.unwrap();
    let arjun = stays::admit(s, &h.desk, back_entered(&h, 2, None, 13)).await.unwrap();
    stays::transfer(s, &h.desk, &arjun.id, &h.icu1).await.unwrap();
    assert!(bed_day_lines(s, &h.patients[1]).await.is_empty(), "nothing charged before a census runs");

    // Discharged at 03:00 without a census run between: the discharge charges the two
    // midnights each stay crossed (2 and 3 Dec: the days 1 and 2 Dec).
    h.at(41);
    stays::discharge(s, &h.doctor, discharge_now(&sita.id)).await.unwrap();
    stays::discharge(s, &h.doctor, discharge_now(&arjun.id)).await.unwrap();
    let lines = bed_day_lines(s, &h.patients[1]).await;
    assert_eq!(
        lines,
        vec![
            ("Bed-day 2026-12-01: General A1".to_string(), GENERAL_DAY),
            ("Bed-day 2026-12-02: General A1".to_string(), GENERAL_DAY),
        ]
    );
    // Arjun lay in no bed at either census: his ward's charge, no place on the line.
    let lines = bed_day_lines(s, &h.patients[2]).await;
    assert_eq!(
        lines,
        vec![("Bed-day 2026-12-01".to_string(), GENERAL_DAY), ("Bed-day 2026-12-02".to_string(), GENERAL_DAY)]
    );
    assert_eq!(bed_state(&h, &h.a1).await.0, BedState::Cleaning);
    assert_eq!(bed_state(&h, &h.icu1).await.0, BedState::Cleaning);
}

#[tokio::test]
async fn a_back_entered_patient_is_moved_and_swapped_like_any_other() {
    let h = hospital().await;
    let s = &h.w.env.store;
    // 2 Dec 16:00: Sita entered as admitted to A1 on 1 Dec at 20:00; Arjun admitted now to A2.
    h.at(30);
    let sita = stays::admit(s, &h.desk, back_entered(&h, 1, Some(&h.a1), 10)).await.unwrap();
    let arjun = stays::admit(s, &h.desk, h.admit_input(2, Some(&h.a2))).await.unwrap();
    // A move to her own bed is still refused; to the ICU taken; A1 goes to cleaning.
    assert_eq!(
        field_of(stays::transfer(s, &h.desk, &sita.id, &h.a1).await),
        ("to_bed_id".into(), ValidationReason::Invalid)
    );
    h.at(31);
    let moved = stays::transfer(s, &h.desk, &sita.id, &h.icu1).await.unwrap();
    assert_eq!(moved.bed_id.as_deref(), Some(h.icu1.as_str()));
    assert_eq!(bed_state(&h, &h.a1).await.0, BedState::Cleaning);
    h.at(32);
    stays::swap(s, &h.desk, &sita.id, &arjun.id).await.unwrap();
    assert_eq!(bed_state(&h, &h.a2).await, (BedState::Occupied, Some(sita.id.clone())));
    assert_eq!(bed_state(&h, &h.icu1).await, (BedState::Occupied, Some(arjun.id.clone())));
    // A discharge dated before her move is refused; at 3 Dec 12:00 she goes home: the night of
    // 1 Dec in A1 (2 Dec's census) and of 2 Dec in A2 (3 Dec's), both at the General price.
    let early = DischargeInput { discharged_at: Some(at(&h, 30)), ..discharge_now(&sita.id) };
    assert_eq!(
        field_of(stays::discharge(s, &h.doctor, early).await),
        ("discharged_at".into(), ValidationReason::OutOfRange)
    );
    h.at(50);
    stays::discharge(s, &h.doctor, discharge_now(&sita.id)).await.unwrap();
    let prices: Vec<i64> = bed_day_lines(s, &h.patients[1]).await.into_iter().map(|(_, p)| p).collect();
    assert_eq!(prices, vec![GENERAL_DAY, GENERAL_DAY]);
    // Arjun, admitted now at 2 Dec 16:00, has lain in the ICU bed at 3 Dec's census.
    stays::discharge(s, &h.doctor, discharge_now(&arjun.id)).await.unwrap();
    let prices: Vec<i64> = bed_day_lines(s, &h.patients[2]).await.into_iter().map(|(_, p)| p).collect();
    assert_eq!(prices, vec![ICU_DAY]);
}
