//! Intake/output charting (issue 15): balances per shift and per clinic day across the shift
//! and midnight edges in the clinic's time zone (Asia/Kolkata, UTC+5:30), corrections that void
//! an entry, two devices' corrections of one entry, bad input that writes nothing, and the
//! permission of each operation. t0 is 2026-12-01 10:00 UTC (15:30 in Kolkata).

mod common;
#[path = "common/hospital.rs"]
mod hospital;
#[path = "common/ward.rs"]
mod ward;

use chrono::Duration;
use hms_core::inpatients::intake_output::{self, IoBalance, IoChart, IoDirection, IoInput};
use hms_core::inpatients::notes::Shift;
use hms_core::inpatients::{stays, DischargeInput};
use hms_core::{settings, Error, Store, ValidationReason};
use hospital::{hospital, Hospital};
use ward::field_of;

async fn counts(s: &Store) -> [i64; 3] {
    [common::count(s, "intake_output").await, common::count(s, "change_log").await, common::count(s, "audit_log").await]
}

fn entry(admission: &str, direction: &str, kind: &str, ml: i64, at: &str) -> IoInput {
    IoInput {
        admission_id: admission.into(),
        direction: direction.into(),
        kind: kind.into(),
        volume_ml: ml,
        at: Some(at.into()),
        ..Default::default()
    }
}

/// (intake, output, net) of a balance.
fn totals(b: &IoBalance) -> (i32, i32, i32) {
    (b.intake_ml, b.output_ml, b.net_ml)
}

fn shift(c: &IoChart, which: Shift) -> (i32, i32, i32) {
    totals(&c.shifts.iter().find(|s| s.shift == which).expect("the shift").balance)
}

async fn kolkata() -> (Hospital, String) {
    let h = hospital().await;
    let s = &h.w.env.store;
    settings::set_time_zone(s, &h.admin, "Asia/Kolkata").await.unwrap();
    let stay = stays::admit(s, &h.doctor, h.admit_input(0, Some(&h.a1))).await.unwrap();
    h.w.env.store.set_now(Some(h.t0 + Duration::hours(26))); // 2 Dec 12:00 UTC, 17:30 in Kolkata
    (h, stay.id)
}

#[tokio::test]
async fn balances_follow_the_shifts_and_the_clinic_day_across_their_edges() {
    let (h, stay) = kolkata().await;
    let s = &h.w.env.store;
    for (direction, kind, ml, at) in [
        ("intake", "oral", 200, "2026-12-01T11:00:00Z"),  // 16:30: 1 Dec evening
        ("intake", "iv", 1000, "2026-12-01T17:29:59Z"),   // 22:59:59: still the evening
        ("output", "urine", 400, "2026-12-01T17:30:00Z"), // 23:00: the night of 1 Dec
        ("output", "urine", 300, "2026-12-01T18:29:59Z"), // 23:59:59: the night, the 1st's day
        ("intake", "oral", 150, "2026-12-01T18:30:00Z"),  // 00:00 on the 2nd: the 1st's night, the 2nd's day
        ("output", "vomit", 100, "2026-12-02T01:29:00Z"), // 06:59 on the 2nd: the 1st's night
        ("intake", "feed", 250, "2026-12-02T01:30:00+00:00"), // 07:00 on the 2nd: the 2nd's morning
    ] {
        intake_output::record(s, &h.nurse, entry(&stay, direction, kind, ml, at)).await.unwrap();
    }
    let first = intake_output::chart(s, &h.doctor, &stay, Some("2026-12-01")).await.unwrap();
    assert_eq!(first.entries.len(), 7);
    assert_eq!(shift(&first, Shift::Morning), (0, 0, 0), "admitted at 15:30");
    assert_eq!(shift(&first, Shift::Evening), (1200, 0, 1200));
    assert_eq!(shift(&first, Shift::Night), (150, 800, -650), "23:00 on the 1st to 07:00 on the 2nd");
    assert_eq!(totals(&first.day_total), (1200, 700, 500), "midnight to midnight in Kolkata");
    assert_eq!(first.day_total.from, "2026-11-30T18:30:00.000Z");
    assert_eq!(first.day_total.to, "2026-12-01T18:30:00.000Z");
    let night = &first.shifts[2].balance;
    assert_eq!((night.from.as_str(), night.to.as_str()), ("2026-12-01T17:30:00.000Z", "2026-12-02T01:30:00.000Z"));
    let kinds: Vec<(IoDirection, &str, i32)> =
        night.by_kind.iter().map(|k| (k.direction, k.kind.as_str(), k.ml)).collect();
    assert_eq!(
        kinds,
        vec![
            (IoDirection::Intake, "oral", 150),
            (IoDirection::Output, "urine", 700),
            (IoDirection::Output, "vomit", 100)
        ]
    );

    let second = intake_output::chart(s, &h.nurse, &stay, Some("2026-12-02")).await.unwrap();
    assert_eq!(shift(&second, Shift::Morning), (250, 0, 250));
    assert_eq!(shift(&second, Shift::Night), (0, 0, 0));
    assert_eq!(totals(&second.day_total), (400, 100, 300));
    // Today by default: the clinic's 2 Dec.
    let today = intake_output::chart(s, &h.nurse, &stay, None).await.unwrap();
    assert_eq!(today.day, "2026-12-02");
    let odd = intake_output::chart(s, &h.nurse, &stay, Some("2 Dec")).await;
    assert_eq!(field_of(odd), ("day".into(), ValidationReason::Invalid));
}

#[tokio::test]
async fn a_correction_voids_an_entry_once_and_keeps_it_on_the_chart() {
    let (h, stay) = kolkata().await;
    let s = &h.w.env.store;
    let iv =
        intake_output::record(s, &h.nurse, entry(&stay, "intake", "iv", 1000, "2026-12-01T12:00:00Z")).await.unwrap();
    let vomit =
        intake_output::record(s, &h.nurse, entry(&stay, "output", "vomit", 100, "2026-12-01T13:00:00Z")).await.unwrap();
    assert!(iv.counts && iv.recorded_by.is_some() && !iv.recorded_by_name.is_empty());
    let fix = IoInput {
        admission_id: stay.clone(),
        direction: "intake".into(),
        kind: "iv".into(),
        volume_ml: 500,
        voids_id: Some(iv.id.clone()),
        void_reason: "The pump read 500 ml".into(),
        ..Default::default()
    };
    let corrected = intake_output::record(s, &h.nurse, fix.clone()).await.unwrap();
    assert_eq!(corrected.at, "2026-12-01T12:00:00.000Z", "a correction keeps the voided entry's time");
    assert!(corrected.counts);
    let before = counts(s).await;
    let again = intake_output::record(s, &h.nurse, fix.clone()).await;
    assert_eq!(field_of(again), ("voids_id".into(), ValidationReason::Taken));
    // 0 ml: the vomit was charted on the wrong patient.
    let no_reason = IoInput { voids_id: Some(vomit.id.clone()), void_reason: " ".into(), volume_ml: 0, ..fix.clone() };
    assert_eq!(
        field_of(intake_output::record(s, &h.nurse, no_reason).await),
        ("void_reason".into(), ValidationReason::Required)
    );
    assert_eq!(counts(s).await, before, "nothing written");
    intake_output::record(
        s,
        &h.nurse,
        IoInput {
            direction: "output".into(),
            kind: "vomit".into(),
            volume_ml: 0,
            voids_id: Some(vomit.id.clone()),
            void_reason: "Wrong patient".into(),
            ..fix.clone()
        },
    )
    .await
    .unwrap();
    let c = intake_output::chart(s, &h.nurse, &stay, Some("2026-12-01")).await.unwrap();
    assert_eq!(shift(&c, Shift::Evening), (500, 0, 500));
    assert_eq!(c.entries.len(), 4, "voided entries stay on the chart");
    let old = c.entries.iter().find(|e| e.id == iv.id).unwrap();
    assert_eq!((old.counts, old.voided_by.as_deref()), (false, Some(corrected.id.as_str())));
    // A correction can itself be corrected.
    let twice = IoInput { volume_ml: 600, voids_id: Some(corrected.id.clone()), ..fix.clone() };
    intake_output::record(s, &h.nurse, twice).await.unwrap();
    let c = intake_output::chart(s, &h.nurse, &stay, Some("2026-12-01")).await.unwrap();
    assert_eq!(shift(&c, Shift::Evening), (600, 0, 600));
    let stranger = IoInput { voids_id: Some("01900000-0000-7000-8000-00000000dead".into()), ..fix };
    assert_eq!(
        field_of(intake_output::record(s, &h.nurse, stranger).await),
        ("voids_id".into(), ValidationReason::Invalid)
    );
}

#[tokio::test]
async fn two_devices_corrections_of_one_entry_count_once() {
    let (h, stay) = kolkata().await;
    let s = &h.w.env.store;
    let urine =
        intake_output::record(s, &h.nurse, entry(&stay, "output", "urine", 800, "2026-12-01T12:00:00Z")).await.unwrap();
    let ours = intake_output::record(
        s,
        &h.nurse,
        IoInput {
            voids_id: Some(urine.id.clone()),
            void_reason: "Misread".into(),
            ..entry(&stay, "output", "urine", 350, "2026-12-01T12:00:00Z")
        },
    )
    .await
    .unwrap();
    // Another tablet corrected the same entry first (its id was minted earlier), offline; its
    // row arrives by sync as a pulled row is written.
    let theirs = "01900000-0000-7000-8000-000000000001";
    sqlx::query(
        "INSERT INTO intake_output (id, admission_id, direction, kind, volume_ml, at, note, recorded_by, voids_id, void_reason,
           created_at, updated_at, origin_device)
         VALUES (?, ?, 'output', 'urine', 300, '2026-12-01T12:00:00.000Z', '', NULL, ?, 'Misread', '2026-12-01T12:05:00.000Z',
                 '0001764590700000-000000-other', 'other')",
    )
    .bind(theirs)
    .bind(&stay)
    .bind(&urine.id)
    .execute(s.pool())
    .await
    .unwrap();
    let c = intake_output::chart(s, &h.doctor, &stay, Some("2026-12-01")).await.unwrap();
    assert_eq!(shift(&c, Shift::Evening), (0, 300, -300), "the first correction counts, once");
    let mine = c.entries.iter().find(|e| e.id == ours.id).unwrap();
    assert_eq!((mine.counts, mine.duplicate_of.as_deref()), (false, Some(theirs)));
    let first = c.entries.iter().find(|e| e.id == urine.id).unwrap();
    assert_eq!(first.voided_by.as_deref(), Some(theirs));
}

#[tokio::test]
async fn bad_input_is_refused_by_field_and_writes_nothing() {
    let (h, stay) = kolkata().await;
    let s = &h.w.env.store;
    let before = counts(s).await;
    let ok = entry(&stay, "intake", "oral", 200, "2026-12-01T12:00:00Z");
    let cases = [
        (IoInput { direction: "in".into(), ..ok.clone() }, "direction", ValidationReason::Invalid),
        (IoInput { kind: "urine".into(), ..ok.clone() }, "kind", ValidationReason::Invalid),
        (IoInput { volume_ml: 0, ..ok.clone() }, "volume_ml", ValidationReason::OutOfRange),
        (IoInput { volume_ml: 5001, ..ok.clone() }, "volume_ml", ValidationReason::OutOfRange),
        (IoInput { volume_ml: -5, ..ok.clone() }, "volume_ml", ValidationReason::OutOfRange),
        (IoInput { at: Some("yesterday".into()), ..ok.clone() }, "at", ValidationReason::Invalid),
        (IoInput { at: Some("2026-12-02T12:01:00Z".into()), ..ok.clone() }, "at", ValidationReason::OutOfRange),
        (IoInput { at: Some("2026-12-01T09:59:00Z".into()), ..ok.clone() }, "at", ValidationReason::OutOfRange),
        (IoInput { note: "x".repeat(501), ..ok.clone() }, "note", ValidationReason::TooLong),
        (IoInput { void_reason: "why".into(), ..ok.clone() }, "voids_id", ValidationReason::Required),
        (IoInput { admission_id: "nope".into(), ..ok.clone() }, "admission_id", ValidationReason::Invalid),
    ];
    for (input, field, reason) in cases {
        assert_eq!(field_of(intake_output::record(s, &h.nurse, input).await), (field.to_string(), reason), "{field}");
    }
    assert_eq!(counts(s).await, before, "nothing written");
    // Now (no time given) is fine; after the discharge the stay takes no more entries.
    let now = intake_output::record(s, &h.nurse, IoInput { at: None, ..ok.clone() }).await.unwrap();
    assert_eq!(now.at, "2026-12-02T12:00:00.000Z");
    stays::discharge(
        s,
        &h.doctor,
        DischargeInput {
            admission_id: stay.clone(),
            discharge_type: "home".into(),
            discharged_at: None,
            note: String::new(),
        },
    )
    .await
    .unwrap();
    let late = intake_output::record(s, &h.nurse, ok).await;
    assert_eq!(field_of(late), ("admission_id".into(), ValidationReason::Invalid));
}

#[tokio::test]
async fn nurses_chart_and_clinicians_read() {
    let (h, stay) = kolkata().await;
    let s = &h.w.env.store;
    let forbidden = |what: &str, r: Result<(), Error>, permission: &str| match r {
        Err(Error::Forbidden { permission: p }) => assert_eq!(p, permission, "{what}"),
        other => panic!("{what}: expected forbidden, got {other:?}"),
    };
    let ok = entry(&stay, "output", "drain", 50, "2026-12-01T12:00:00Z");
    let before = counts(s).await;
    for who in [&h.admin, &h.doctor, &h.desk, &h.lab] {
        forbidden("record", intake_output::record(s, who, ok.clone()).await.map(|_| ()), "mar_record");
    }
    for who in [&h.desk, &h.lab] {
        forbidden("chart", intake_output::chart(s, who, &stay, None).await.map(|_| ()), "clinical_view");
    }
    assert_eq!(counts(s).await, before, "nothing written");
    intake_output::record(s, &h.nurse, ok).await.unwrap();
    for who in [&h.admin, &h.doctor, &h.nurse] {
        assert_eq!(intake_output::chart(s, who, &stay, Some("2026-12-01")).await.unwrap().day_total.output_ml, 50);
    }
    let actions = common::actions(s).await;
    assert!(actions.iter().any(|a| a == "inpatient.io"), "audited");
}

#[test]
fn shifts_on_the_clinic_clock() {
    use chrono::{DateTime, NaiveDate, Utc};
    use hms_core::inpatients::shifts::{day_bounds, shift_bounds, shift_of};
    let utc = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    let tz: chrono_tz::Tz = "Asia/Kolkata".parse().unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
    let (from, to) = shift_bounds(tz, day, Shift::Night);
    assert_eq!((from, to), (utc("2026-12-05T17:30:00Z"), utc("2026-12-06T01:30:00Z")));
    assert_eq!(day_bounds(tz, day), (utc("2026-12-04T18:30:00Z"), utc("2026-12-05T18:30:00Z")));
    // 06:59:59 on the 6th is still the 5th's night; 07:00 is the 6th's morning.
    assert_eq!(shift_of(tz, utc("2026-12-06T01:29:59Z")), (day, Shift::Night));
    assert_eq!(shift_of(tz, utc("2026-12-06T01:30:00Z")), (day.succ_opt().unwrap(), Shift::Morning));
    assert_eq!(shift_of(tz, utc("2026-12-05T09:30:00Z")), (day, Shift::Evening));
    assert_eq!(shift_of(tz, utc("2026-12-05T19:00:00Z")), (day, Shift::Night), "00:30 on the 6th");
}

#[test]
fn a_dst_night_is_an_hour_shorter_and_the_shifts_still_tile() {
    use chrono::NaiveDate;
    use hms_core::inpatients::shifts::shift_bounds;
    let tz: chrono_tz::Tz = "Europe/London".parse().unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 3, 28).unwrap();
    let (from, to) = shift_bounds(tz, day, Shift::Night);
    assert_eq!(to - from, Duration::hours(7), "clocks go forward at 01:00 on 29 March");
    assert_eq!(shift_bounds(tz, day.succ_opt().unwrap(), Shift::Morning).0, to);
    assert_eq!(shift_bounds(tz, day, Shift::Evening).1, from);
}
