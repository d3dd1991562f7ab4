//! Property: no sequence of book / reschedule / cancel operations, random and with two
//! desks attempting the same slot at once, ever leaves two active bookings in one slot, a
//! booking outside the doctor's availability, or one patient in two places at once.

mod common;

use chrono::TimeZone;
use hms_core::patients::{self, PatientInput};
use hms_core::schedule::availability::{self, ExceptionInput, ExceptionKind, SessionInput};
use hms_core::schedule::booking::{self, BookInput};
use hms_core::schedule::{calendar, slots, staff};
use hms_core::{settings, Authorized, Store};
use proptest::prelude::*;

const DATES: [&str; 3] = ["2026-11-23", "2026-11-24", "2026-11-25"];
const STARTS: [&str; 7] = ["09:00", "09:20", "09:40", "10:00", "10:20", "10:30", "10:40"];

#[derive(Debug, Clone)]
enum Op {
    Book { patient: usize, doctor: usize, date: usize, start: usize },
    Race { patients: (usize, usize), doctor: usize, date: usize, start: usize },
    Reschedule { pick: usize, doctor: usize, date: usize, start: usize },
    Cancel { pick: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..4usize, 0..2usize, 0..3usize, 0..7usize).prop_map(|(patient, doctor, date, start)| Op::Book {
            patient,
            doctor,
            date,
            start
        }),
        (0..4usize, 0..4usize, 0..2usize, 0..3usize, 0..7usize).prop_map(|(a, b, doctor, date, start)| Op::Race {
            patients: (a, b),
            doctor,
            date,
            start
        }),
        (0..20usize, 0..2usize, 0..3usize, 0..7usize).prop_map(|(pick, doctor, date, start)| Op::Reschedule {
            pick,
            doctor,
            date,
            start
        }),
        (0..20usize).prop_map(|pick| Op::Cancel { pick }),
    ]
}

fn input(patient: &str, doctor: &str, date: usize, start: usize) -> BookInput {
    BookInput {
        patient_id: patient.into(),
        doctor_id: doctor.into(),
        date: DATES[date].into(),
        start: STARTS[start].into(),
        reason: String::new(),
        overbook: false,
    }
}

async fn active_ids(store: &Store) -> Vec<String> {
    sqlx::query_scalar("SELECT id FROM appointments WHERE status = 'booked' ORDER BY id")
        .fetch_all(store.pool())
        .await
        .unwrap()
}

async fn check_invariants(store: &Store, a: &Authorized, doctors: &[String]) {
    let doubles: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT 1 FROM appointments WHERE status IN ('booked','checked_in','with_doctor','done') AND overbooked = 0
         GROUP BY doctor_id, date, start_min HAVING COUNT(*) > 1)",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(doubles, 0, "two active bookings in one slot");
    let overlaps: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM appointments a JOIN appointments b ON a.patient_id = b.patient_id AND a.id < b.id
         WHERE a.status = 'booked' AND b.status = 'booked' AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(overlaps, 0, "a patient booked in two places at once");
    let booked: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT doctor_id, date, start_min FROM appointments WHERE status = 'booked'")
            .fetch_all(store.pool())
            .await
            .unwrap();
    let tz = hms_core::clinic::time_zone(store).await.unwrap();
    let mut conn = store.pool().acquire().await.unwrap();
    for (doctor, date, start) in booked {
        let day = chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").unwrap();
        let all = slots::day_slots(&mut conn, tz, &doctor, day).await.unwrap();
        assert!(all.iter().any(|s| i64::from(s.start_min) == start), "booking at {date} {start} outside availability");
    }
    drop(conn);
    // The calendar counts free slots from the appointments it lists: it must agree with
    // the free-slot search, which reads the slot index.
    for d in doctors {
        let week = calendar::doctor_week(store, a, d, DATES[0]).await.unwrap();
        for (day, date) in week.iter().zip(DATES) {
            let free = slots::free_slots(store, a, d, date).await.unwrap();
            assert_eq!(day.free_slots as usize, free.len(), "{date}");
        }
    }
}

async fn run(ops: Vec<Op>) {
    let (env, admin) = common::with_admin().await;
    env.store.set_now(Some(chrono::Utc.with_ymd_and_hms(2026, 11, 22, 2, 30, 0).unwrap()));
    let a: Authorized = admin.authorize(&env.store).await.unwrap();
    settings::set_time_zone(&env.store, &a, "Asia/Kolkata").await.unwrap();
    let mut doctors = Vec::new();
    // Two doctors with different slot lengths (20 and 30 minutes), so that slots of one
    // overlap slots of the other, and leave on one day.
    for (name, slot) in [("Dr A", 20), ("Dr B", 30)] {
        let d = staff::add_staff(
            &env.store,
            &a,
            staff::StaffInput { full_name: name.into(), role: "doctor".into(), ..Default::default() },
        )
        .await
        .unwrap()
        .id;
        let week = (1..=6)
            .map(|w| SessionInput { weekday: w, start: "09:00".into(), end: "11:00".into(), slot_minutes: slot })
            .collect();
        availability::set_weekly(&env.store, &a, &d, week).await.unwrap();
        doctors.push(d);
    }
    let leave = ExceptionInput {
        date: DATES[1].into(),
        kind: ExceptionKind::Leave,
        session_id: None,
        start: Some("10:00".into()),
        end: Some("11:00".into()),
        slot_minutes: None,
        reason: "meeting".into(),
    };
    availability::add_exception(&env.store, &a, &doctors[0], leave).await.unwrap();
    let mut pats = Vec::new();
    for i in 0..4 {
        let p = PatientInput { given_name: format!("P{i}"), sex: "unknown".into(), ..Default::default() };
        pats.push(patients::register(&env.store, &a, p).await.unwrap().id);
    }
    let store = &env.store;
    for op in ops {
        match op {
            Op::Book { patient, doctor, date, start } => {
                let _ = booking::book(store, &a, input(&pats[patient], &doctors[doctor], date, start)).await;
            }
            Op::Race { patients: (p1, p2), doctor, date, start } => {
                let (x, y) = tokio::join!(
                    booking::book(store, &a, input(&pats[p1], &doctors[doctor], date, start)),
                    booking::book(store, &a, input(&pats[p2], &doctors[doctor], date, start)),
                );
                assert!(!(x.is_ok() && y.is_ok()), "both desks booked one slot");
            }
            Op::Reschedule { pick, doctor, date, start } => {
                let ids = active_ids(store).await;
                if let Some(id) = ids.get(pick % ids.len().max(1)) {
                    let _ = booking::reschedule(store, &a, id, &doctors[doctor], DATES[date], STARTS[start]).await;
                }
            }
            Op::Cancel { pick } => {
                let ids = active_ids(store).await;
                if let Some(id) = ids.get(pick % ids.len().max(1)) {
                    let _ = booking::cancel(store, &a, id, "test").await;
                }
            }
        }
        check_invariants(store, &a, &doctors).await;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn no_operation_sequence_breaks_the_booking_rules(ops in proptest::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(run(ops));
    }
}
