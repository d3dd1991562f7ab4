//! Doctors' schedules and appointments: slots from sessions and exceptions, booking that
//! never double-books, rescheduling, cancelling, no-shows, time zones with DST, and the
//! rules holding under concurrent and random operations.

mod common;

use chrono::TimeZone;
use hms_core::patients::{self, PatientInput};
use hms_core::schedule::availability::{self, ExceptionInput, ExceptionKind, SessionInput};
use hms_core::schedule::booking::{self, AppointmentStatus, BookInput};
use hms_core::schedule::{calendar, queue, slots, staff};
use hms_core::{settings, Error, SessionSlot, Store, ValidationReason};
use std::sync::Arc;

struct Clinic {
    env: common::Env,
    admin: SessionSlot,
    doctor: String,
    specialty: String,
    patients: Vec<String>,
}

fn session(weekday: u8, start: &str, end: &str, slot: u32) -> SessionInput {
    SessionInput { weekday, start: start.into(), end: end.into(), slot_minutes: slot }
}

/// A clinic in Asia/Kolkata on Sunday 2026-11-22 08:00 local, with a cardiologist working
/// Mon–Sat 09:00–13:00 and 17:00–20:00 in 15-minute slots, and `n` patients.
async fn clinic(n: usize) -> Clinic {
    let (env, admin) = common::with_admin().await;
    env.store.set_now(Some(chrono::Utc.with_ymd_and_hms(2026, 11, 22, 2, 30, 0).unwrap()));
    let a = admin.authorize(&env.store).await.unwrap();
    settings::set_time_zone(&env.store, &a, "Asia/Kolkata").await.unwrap();
    let specialty = staff::add_specialty(&env.store, &a, "Cardiology").await.unwrap().id;
    let doctor = staff::add_staff(
        &env.store,
        &a,
        staff::StaffInput {
            full_name: "Dr Meera Iyer".into(),
            role: "doctor".into(),
            specialty_ids: vec![specialty.clone()],
            fee_minor: 50_000,
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .id;
    let mut week = Vec::new();
    for d in 1..=6 {
        week.push(session(d, "09:00", "13:00", 15));
        week.push(session(d, "17:00", "20:00", 15));
    }
    availability::set_weekly(&env.store, &a, &doctor, week).await.unwrap();
    let mut patients = Vec::new();
    for i in 0..n {
        let p = PatientInput { given_name: format!("Patient{i}"), sex: "unknown".into(), ..Default::default() };
        patients.push(patients::register(&env.store, &a, p).await.unwrap().id);
    }
    Clinic { env, admin, doctor, specialty, patients }
}

fn book_input(c: &Clinic, patient: usize, date: &str, start: &str) -> BookInput {
    BookInput {
        patient_id: c.patients[patient].clone(),
        doctor_id: c.doctor.clone(),
        date: date.into(),
        start: start.into(),
        reason: String::new(),
        overbook: false,
    }
}

async fn field_of(r: Result<impl std::fmt::Debug, Error>) -> (String, ValidationReason) {
    match r {
        Err(Error::Validation { field, reason, .. }) => (field, reason),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn slots_come_from_sessions_minus_leave_and_cancelled_plus_extra() {
    let c = clinic(0).await;
    let a = c.admin.authorize(&c.env.store).await.unwrap();
    let monday = slots::free_slots(&c.env.store, &a, &c.doctor, "2026-11-23").await.unwrap();
    assert_eq!(monday.len(), 16 + 12);
    assert_eq!(
        (monday[0].start.as_str(), monday[0].starts_at.as_str()),
        ("09:00", "2026-11-23T03:30:00Z"),
        "IST is UTC+5:30"
    );
    assert!(
        slots::free_slots(&c.env.store, &a, &c.doctor, "2026-11-22").await.unwrap().is_empty(),
        "no Sunday sessions"
    );

    let sessions = availability::weekly(&c.env.store, &a, &c.doctor).await.unwrap();
    let monday_evening = sessions.iter().find(|s| s.weekday == 1 && s.start == "17:00").unwrap().id.clone();
    let ex =
        |kind, session_id: Option<String>, start: Option<&str>, end: Option<&str>, slot: Option<u32>| ExceptionInput {
            date: "2026-11-23".into(),
            kind,
            session_id,
            start: start.map(Into::into),
            end: end.map(Into::into),
            slot_minutes: slot,
            reason: "r".into(),
        };
    availability::add_exception(
        &c.env.store,
        &a,
        &c.doctor,
        ex(ExceptionKind::Cancelled, Some(monday_evening), None, None, None),
    )
    .await
    .unwrap();
    availability::add_exception(
        &c.env.store,
        &a,
        &c.doctor,
        ex(ExceptionKind::Leave, None, Some("10:00"), Some("11:00"), None),
    )
    .await
    .unwrap();
    availability::add_exception(
        &c.env.store,
        &a,
        &c.doctor,
        ex(ExceptionKind::Extra, None, Some("14:00"), Some("15:00"), Some(20)),
    )
    .await
    .unwrap();
    let e = availability::add_exception(
        &c.env.store,
        &a,
        &c.doctor,
        ex(ExceptionKind::Extra, None, Some("12:30"), Some("14:30"), Some(20)),
    )
    .await;
    assert_eq!(field_of(e).await.0, "start", "an extra session may not overlap");
    let starts: Vec<String> = slots::free_slots(&c.env.store, &a, &c.doctor, "2026-11-23")
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.start)
        .collect();
    assert_eq!(
        starts,
        [
            "09:00", "09:15", "09:30", "09:45", "11:00", "11:15", "11:30", "11:45", "12:00", "12:15", "12:30", "12:45",
            "14:00", "14:20", "14:40"
        ]
    );

    availability::add_exception(
        &c.env.store,
        &a,
        &c.doctor,
        ExceptionInput { date: "2026-11-24".into(), ..ex(ExceptionKind::Leave, None, None, None, None) },
    )
    .await
    .unwrap();
    assert!(
        slots::free_slots(&c.env.store, &a, &c.doctor, "2026-11-24").await.unwrap().is_empty(),
        "a day of leave has no slots"
    );
}

#[tokio::test]
async fn booking_never_double_books_nor_books_outside_availability() {
    let c = clinic(3).await;
    let a = c.admin.authorize(&c.env.store).await.unwrap();
    let desk = SessionSlot::default();
    common::add_user(&c.env.store, &c.admin, "reception", &["receptionist"]).await;
    hms_core::auth::sign_in(&c.env.store, &desk, "reception", common::STAFF_PW).await.unwrap();
    let r = desk.authorize(&c.env.store).await.unwrap();

    let first = booking::book(&c.env.store, &r, book_input(&c, 0, "2026-11-23", "09:15")).await.unwrap();
    assert_eq!((first.status, first.starts_at.as_str()), (AppointmentStatus::Booked, "2026-11-23T03:45:00Z"));
    let free = slots::free_slots(&c.env.store, &r, &c.doctor, "2026-11-23").await.unwrap();
    assert!(!free.iter().any(|s| s.start == "09:15"), "the slot is gone from free slots");

    let before = common::counts(&c.env.store).await;
    assert_eq!(
        field_of(booking::book(&c.env.store, &r, book_input(&c, 1, "2026-11-23", "09:15")).await).await,
        ("start".into(), ValidationReason::Taken)
    );
    assert_eq!(
        field_of(booking::book(&c.env.store, &r, book_input(&c, 1, "2026-11-23", "09:10")).await).await.0,
        "start",
        "not a slot start"
    );
    assert_eq!(
        field_of(booking::book(&c.env.store, &r, book_input(&c, 1, "2026-11-23", "14:00")).await).await.0,
        "start",
        "between sessions"
    );
    assert_eq!(
        field_of(booking::book(&c.env.store, &r, book_input(&c, 1, "2026-11-22", "09:00")).await).await.0,
        "start",
        "Sunday"
    );
    assert_eq!(
        field_of(booking::book(&c.env.store, &r, book_input(&c, 1, "2026-11-21", "09:00")).await).await,
        ("date".into(), ValidationReason::OutOfRange),
        "past"
    );
    assert_eq!(
        field_of(booking::book(&c.env.store, &r, book_input(&c, 1, "2026-13-01", "09:00")).await).await.0,
        "date"
    );
    assert_eq!(
        field_of(booking::book(&c.env.store, &r, book_input(&c, 1, "2026-11-23", "9 am")).await).await.0,
        "start"
    );
    let mut other_doctor = book_input(&c, 1, "2026-11-23", "09:30");
    other_doctor.doctor_id = "nobody".into();
    assert_eq!(field_of(booking::book(&c.env.store, &r, other_doctor).await).await.0, "doctor_id");
    let mut unknown = book_input(&c, 1, "2026-11-23", "09:30");
    unknown.patient_id = "nobody".into();
    assert_eq!(field_of(booking::book(&c.env.store, &r, unknown).await).await.0, "patient_id");
    let mut over = book_input(&c, 1, "2026-11-23", "09:15");
    over.overbook = true;
    assert_eq!(
        booking::book(&c.env.store, &r, over.clone()).await.unwrap_err(),
        Error::Forbidden { permission: "appointments_overbook".into() }
    );
    assert_eq!(common::counts(&c.env.store).await, before, "refused bookings write nothing");

    // The same patient cannot be in two places at once, even with another doctor.
    let second_doctor = staff::add_staff(
        &c.env.store,
        &a,
        staff::StaffInput { full_name: "Dr Two".into(), role: "doctor".into(), ..Default::default() },
    )
    .await
    .unwrap()
    .id;
    availability::set_weekly(&c.env.store, &a, &second_doctor, vec![session(1, "09:00", "10:00", 30)]).await.unwrap();
    let mut clash = book_input(&c, 0, "2026-11-23", "09:00");
    clash.doctor_id = second_doctor.clone();
    assert_eq!(
        field_of(booking::book(&c.env.store, &r, clash).await).await,
        ("patient_id".into(), ValidationReason::Taken)
    );

    // An administrator may overbook, and the booking says so; and back-enter a past visit.
    let o = booking::book(&c.env.store, &a, over).await.unwrap();
    assert!(o.overbooked);
    let past = booking::book(&c.env.store, &a, book_input(&c, 2, "2026-11-21", "09:00")).await.unwrap();
    assert_eq!(past.status, AppointmentStatus::Booked);
    assert!(common::actions(&c.env.store).await.iter().filter(|x| *x == "appointment.book").count() >= 3);
}

#[tokio::test]
async fn reschedule_cancel_and_no_show() {
    let c = clinic(2).await;
    let a = c.admin.authorize(&c.env.store).await.unwrap();
    let b = booking::book(&c.env.store, &a, book_input(&c, 0, "2026-11-23", "09:00")).await.unwrap();
    let moved = booking::reschedule(&c.env.store, &a, &b.id, &c.doctor, "2026-11-23", "09:15").await.unwrap();
    assert_eq!(moved.rescheduled_from.as_deref(), Some(b.id.as_str()));
    let day = calendar::doctor_day(&c.env.store, &a, &c.doctor, "2026-11-23").await.unwrap();
    assert_eq!(
        day.iter().map(|x| (x.appointment.start.as_str(), x.appointment.status)).collect::<Vec<_>>(),
        [("09:00", AppointmentStatus::Cancelled), ("09:15", AppointmentStatus::Booked)]
    );
    // The freed slot can be booked by someone else; the patient can move back into the
    // neighbourhood of their own time without clashing with themselves.
    booking::book(&c.env.store, &a, book_input(&c, 1, "2026-11-23", "09:00")).await.unwrap();
    assert_eq!(
        field_of(booking::reschedule(&c.env.store, &a, &moved.id, &c.doctor, "2026-11-23", "09:00").await).await.1,
        ValidationReason::Taken
    );
    let still = calendar::doctor_day(&c.env.store, &a, &c.doctor, "2026-11-23").await.unwrap();
    assert!(
        still.iter().any(|x| x.appointment.id == moved.id && x.appointment.status == AppointmentStatus::Booked),
        "a failed reschedule changes nothing"
    );

    assert_eq!(field_of(booking::cancel(&c.env.store, &a, &moved.id, " ").await).await.0, "reason");
    let cancelled = booking::cancel(&c.env.store, &a, &moved.id, "patient travelling").await.unwrap();
    assert_eq!(
        (cancelled.status, cancelled.cancel_reason.as_str()),
        (AppointmentStatus::Cancelled, "patient travelling")
    );
    assert!(booking::cancel(&c.env.store, &a, &moved.id, "again").await.is_err());

    let later = booking::book(&c.env.store, &a, book_input(&c, 0, "2026-11-23", "10:00")).await.unwrap();
    assert!(booking::no_show(&c.env.store, &a, &later.id).await.is_err(), "not before its time");
    c.env.store.set_now(Some(chrono::Utc.with_ymd_and_hms(2026, 11, 23, 5, 0, 0).unwrap()));
    assert_eq!(booking::no_show(&c.env.store, &a, &later.id).await.unwrap().status, AppointmentStatus::NoShow);
    let history = calendar::patient_history(&c.env.store, &a, &c.patients[0]).await.unwrap();
    assert_eq!(history.len(), 3);
}

#[tokio::test]
async fn slots_skip_the_hour_a_dst_change_removes() {
    let c = clinic(1).await;
    let a = c.admin.authorize(&c.env.store).await.unwrap();
    settings::set_time_zone(&c.env.store, &a, "America/New_York").await.unwrap();
    c.env.store.set_now(Some(chrono::Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()));
    availability::set_weekly(&c.env.store, &a, &c.doctor, vec![session(7, "01:00", "04:00", 30)]).await.unwrap();
    // Clocks go from 02:00 to 03:00 on Sunday 8 March 2026.
    let s = slots::free_slots(&c.env.store, &a, &c.doctor, "2026-03-08").await.unwrap();
    let got: Vec<(&str, &str)> = s.iter().map(|x| (x.start.as_str(), x.starts_at.as_str())).collect();
    assert_eq!(
        got,
        [
            ("01:00", "2026-03-08T06:00:00Z"),
            ("01:30", "2026-03-08T06:30:00Z"),
            ("03:00", "2026-03-08T07:00:00Z"),
            ("03:30", "2026-03-08T07:30:00Z")
        ]
    );
    let normal = slots::free_slots(&c.env.store, &a, &c.doctor, "2026-03-15").await.unwrap();
    assert_eq!(normal.len(), 6);
    assert_eq!(normal[0].starts_at, "2026-03-15T05:00:00Z", "EDT is UTC-4");
    assert!(matches!(settings::set_time_zone(&c.env.store, &a, "Mars/Olympus").await, Err(Error::Validation { .. })));
}

#[tokio::test]
async fn bad_schedules_name_the_field_and_write_nothing() {
    let c = clinic(0).await;
    let a = c.admin.authorize(&c.env.store).await.unwrap();
    let before = common::counts(&c.env.store).await;
    for (bad, field) in [
        (vec![session(1, "10:00", "09:00", 15)], "sessions.0.end"),
        (vec![session(1, "09:00", "09:00", 15)], "sessions.0.end"),
        (vec![session(1, "09:00", "12:00", 0)], "sessions.0.slot_minutes"),
        (vec![session(1, "09:00", "09:10", 15)], "sessions.0.slot_minutes"),
        (vec![session(8, "09:00", "12:00", 15)], "sessions.0.weekday"),
        (vec![session(1, "9h", "12:00", 15)], "sessions.0.start"),
        (vec![session(1, "09:00", "12:00", 15), session(1, "11:00", "13:00", 15)], "sessions.1.start"),
    ] {
        let e = availability::set_weekly(&c.env.store, &a, &c.doctor, bad).await;
        assert_eq!(field_of(e).await.0, field);
    }
    assert_eq!(common::counts(&c.env.store).await, before);
    assert_eq!(
        availability::set_weekly(&c.env.store, &a, "nobody", vec![]).await.unwrap_err(),
        Error::NotFound { entity: "doctor".into() }
    );
}

#[tokio::test]
async fn next_free_slot_with_any_doctor_of_a_specialty() {
    let c = clinic(1).await;
    let a = c.admin.authorize(&c.env.store).await.unwrap();
    let next = slots::next_free_by_specialty(&c.env.store, &a, &c.specialty, "2026-11-22", 14).await.unwrap().unwrap();
    assert_eq!(
        (next.slot.date.as_str(), next.slot.start.as_str(), next.doctor_name.as_str()),
        ("2026-11-23", "09:00", "Dr Meera Iyer")
    );
    booking::book(&c.env.store, &a, book_input(&c, 0, "2026-11-23", "09:00")).await.unwrap();
    let next = slots::next_free_by_specialty(&c.env.store, &a, &c.specialty, "2026-11-22", 14).await.unwrap().unwrap();
    assert_eq!(next.slot.start, "09:15");
    assert!(slots::next_free_by_specialty(&c.env.store, &a, "no-such", "2026-11-22", 14).await.unwrap().is_none());
}

/// Two desks booking the same slot at the same moment: exactly one wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_attempts_on_one_slot_book_it_once() {
    let c = clinic(8).await;
    let store: Arc<Store> = Arc::new(c.env.store);
    let auth = c.admin.authorize(&store).await.unwrap();
    let mut tasks = Vec::new();
    for (i, p) in c.patients.iter().enumerate() {
        let (store, auth) = (store.clone(), auth.clone());
        let input = BookInput {
            patient_id: p.clone(),
            doctor_id: c.doctor.clone(),
            date: "2026-11-23".into(),
            start: if i % 2 == 0 { "11:00" } else { "11:15" }.into(),
            reason: String::new(),
            overbook: false,
        };
        tasks.push(tokio::spawn(async move { booking::book(&store, &auth, input).await }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert!(matches!(e, Error::Validation { reason: ValidationReason::Taken, .. }), "{e:?}"),
        }
    }
    assert_eq!(ok, 2, "one booking per slot");
}

#[tokio::test]
async fn check_in_walk_ins_and_the_queue_with_tokens() {
    let c = clinic(3).await;
    let a = c.admin.authorize(&c.env.store).await.unwrap();
    // Monday 2026-11-23, 09:20 in Kolkata.
    c.env.store.set_now(Some(chrono::Utc.with_ymd_and_hms(2026, 11, 23, 3, 50, 0).unwrap()));
    let booked = booking::book(&c.env.store, &a, book_input(&c, 0, "2026-11-23", "10:00")).await.unwrap();
    let tomorrow = booking::book(&c.env.store, &a, book_input(&c, 1, "2026-11-24", "10:00")).await.unwrap();
    assert_eq!(field_of(queue::check_in(&c.env.store, &a, &tomorrow.id).await).await.0, "appointment_id", "not today");

    queue::set_series(&c.env.store, &a, "a").await.unwrap();
    let t1 = queue::check_in(&c.env.store, &a, &booked.id).await.unwrap();
    // An overlong reason is refused with its limit, never cut, and takes no token.
    match queue::walk_in(&c.env.store, &a, &c.patients[2], &c.doctor, &"r".repeat(201)).await {
        Err(Error::Validation { field, reason, message }) => {
            assert_eq!((field.as_str(), reason), ("reason", ValidationReason::TooLong));
            assert!(message.contains("200"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let walk = queue::walk_in(&c.env.store, &a, &c.patients[2], &c.doctor, "fever").await.unwrap();
    assert_eq!((t1.as_str(), walk.token.as_deref()), ("A-1", Some("A-2")));
    assert!(walk.walk_in && walk.status == AppointmentStatus::CheckedIn);

    c.env.store.set_now(Some(chrono::Utc.with_ymd_and_hms(2026, 11, 23, 4, 5, 0).unwrap()));
    let q = queue::queue(&c.env.store, &a, &c.doctor, "2026-11-23").await.unwrap();
    assert_eq!(q.iter().map(|e| e.token.as_deref().unwrap_or("")).collect::<Vec<_>>(), ["A-1", "A-2"]);
    assert_eq!(q[0].waiting_minutes, Some(15));
    assert!(q.iter().all(|e| !e.outside_sessions), "the 09:20 walk-in came in the morning session");
    queue::call_in(&c.env.store, &a, &walk.id).await.unwrap();
    let q = queue::queue(&c.env.store, &a, &c.doctor, "2026-11-23").await.unwrap();
    assert_eq!(
        (q[0].token.as_deref(), q[0].status),
        (Some("A-2"), AppointmentStatus::WithDoctor),
        "with the doctor first"
    );
    assert!(queue::call_in(&c.env.store, &a, &walk.id).await.is_err(), "already called");
    queue::finish(&c.env.store, &a, &walk.id).await.unwrap();
    let q = queue::queue(&c.env.store, &a, &c.doctor, "2026-11-23").await.unwrap();
    assert_eq!(q.last().map(|e| e.status), Some(AppointmentStatus::Done));
    // 14:15, between the morning and evening sessions: a late walk-in is flagged for the desk.
    c.env.store.set_now(Some(chrono::Utc.with_ymd_and_hms(2026, 11, 23, 8, 45, 0).unwrap()));
    let late = queue::walk_in(&c.env.store, &a, &c.patients[1], &c.doctor, "").await.unwrap();
    let q = queue::queue(&c.env.store, &a, &c.doctor, "2026-11-23").await.unwrap();
    let flagged: Vec<&str> = q.iter().filter(|e| e.outside_sessions).map(|e| e.appointment_id.as_str()).collect();
    assert_eq!(flagged, [late.id.as_str()], "only the walk-in after the morning session");
    assert_eq!(field_of(queue::set_series(&c.env.store, &a, "TOO-LONG").await).await.0, "series");
}

#[tokio::test]
async fn tokens_from_two_devices_never_collide() {
    let one = clinic(2).await;
    let two = clinic(2).await;
    let mut all = std::collections::HashSet::new();
    for c in [&one, &two] {
        let a = c.admin.authorize(&c.env.store).await.unwrap();
        c.env.store.set_now(Some(chrono::Utc.with_ymd_and_hms(2026, 11, 23, 3, 50, 0).unwrap()));
        for p in &c.patients {
            let v = queue::walk_in(&c.env.store, &a, p, &c.doctor, "").await.unwrap();
            assert!(all.insert(v.token.unwrap()), "a token minted twice");
        }
    }
    assert_eq!(all.len(), 4);
}
