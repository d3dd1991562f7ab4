//! Calendar views (a doctor's week, a department's day), cancelling a session with the list
//! of patients to call, moving appointments all or nothing, and staff management.

mod common;

use chrono::TimeZone;
use hms_core::patients::{self, Patient, PatientInput};
use hms_core::rbac::Role;
use hms_core::schedule::availability::{self, ExceptionInput, ExceptionKind, SessionInput};
use hms_core::schedule::booking::{self, Appointment, AppointmentStatus, BookInput};
use hms_core::schedule::staff::{self, StaffFilter, StaffInput};
use hms_core::schedule::{calendar, moves, slots};
use hms_core::{auth, settings, Authorized, Error, SessionSlot, ValidationReason};

struct Clinic {
    env: common::Env,
    admin: SessionSlot,
    department: String,
    specialty: String,
    /// Dr Meera Iyer: Mon–Sat 09:00–13:00 and 17:00–20:00, 15-minute slots.
    meera: String,
    patients: Vec<Patient>,
}

fn session(weekday: u8, start: &str, end: &str, slot: u32) -> SessionInput {
    SessionInput { weekday, start: start.into(), end: end.into(), slot_minutes: slot }
}

fn doctor_input(name: &str, department: Option<&str>, specialty: &str) -> StaffInput {
    StaffInput {
        full_name: name.into(),
        role: "doctor".into(),
        department_id: department.map(Into::into),
        specialty_ids: vec![specialty.into()],
        phone: "080 2345 6789".into(),
        fee_minor: 50_000,
        ..Default::default()
    }
}

/// A clinic in Asia/Kolkata on Sunday 2026-11-22 08:00 local, with `n` patients that have
/// phones.
async fn clinic(n: usize) -> Clinic {
    let (env, admin) = common::with_admin().await;
    env.store.set_now(Some(chrono::Utc.with_ymd_and_hms(2026, 11, 22, 2, 30, 0).unwrap()));
    let a = admin.authorize(&env.store).await.unwrap();
    settings::set_time_zone(&env.store, &a, "Asia/Kolkata").await.unwrap();
    let department = staff::add_department(&env.store, &a, "Medicine").await.unwrap().id;
    let specialty = staff::add_specialty(&env.store, &a, "Cardiology").await.unwrap().id;
    let meera = staff::add_staff(&env.store, &a, doctor_input("Dr Meera Iyer", Some(&department), &specialty))
        .await
        .unwrap()
        .id;
    let week = (1..=6).flat_map(|d| [session(d, "09:00", "13:00", 15), session(d, "17:00", "20:00", 15)]).collect();
    availability::set_weekly(&env.store, &a, &meera, week).await.unwrap();
    let mut pats = Vec::new();
    for i in 0..n {
        let input = PatientInput {
            given_name: format!("Patient{i}"),
            family_name: "Sharma".into(),
            sex: "female".into(),
            phones: vec![format!("98450{:05}", 10_000 + i)],
            ..Default::default()
        };
        pats.push(patients::register(&env.store, &a, input).await.unwrap());
    }
    Clinic { env, admin, department, specialty, meera, patients: pats }
}

impl Clinic {
    async fn admin(&self) -> Authorized {
        self.admin.authorize(&self.env.store).await.unwrap()
    }

    async fn signed_in(&self, username: &str, role: &str) -> Authorized {
        common::add_user(&self.env.store, &self.admin, username, &[role]).await;
        let slot = SessionSlot::default();
        auth::sign_in(&self.env.store, &slot, username, common::STAFF_PW).await.unwrap();
        slot.authorize(&self.env.store).await.unwrap()
    }

    async fn book(&self, patient: usize, doctor: &str, date: &str, start: &str) -> Appointment {
        let input = BookInput {
            patient_id: self.patients[patient].id.clone(),
            doctor_id: doctor.into(),
            date: date.into(),
            start: start.into(),
            reason: "review".into(),
            overbook: false,
        };
        booking::book(&self.env.store, &self.admin().await, input).await.unwrap()
    }

    async fn status_of(&self, id: &str) -> String {
        sqlx::query_scalar("SELECT status FROM appointments WHERE id = ?")
            .bind(id)
            .fetch_one(self.env.store.pool())
            .await
            .unwrap()
    }
}

fn validation<T: std::fmt::Debug>(r: Result<T, Error>) -> (String, ValidationReason) {
    match r {
        Err(Error::Validation { field, reason, .. }) => (field, reason),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn forbidden<T: std::fmt::Debug>(r: Result<T, Error>, permission: &str) {
    assert_eq!(r.unwrap_err(), Error::Forbidden { permission: permission.into() });
}

#[tokio::test]
async fn a_doctors_week_shows_each_day_with_patients_and_free_slots() {
    let c = clinic(3).await;
    let a = c.admin().await;
    let first = c.book(0, &c.meera, "2026-11-23", "09:00").await;
    let second = c.book(1, &c.meera, "2026-11-23", "09:15").await;
    booking::cancel(&c.env.store, &a, &second.id, "travelling").await.unwrap();
    c.book(2, &c.meera, "2026-11-25", "17:00").await;
    c.book(1, &c.meera, "2026-11-30", "09:00").await; // the Monday after: outside the week
    let leave = ExceptionInput {
        date: "2026-11-24".into(),
        kind: ExceptionKind::Leave,
        session_id: None,
        start: None,
        end: None,
        slot_minutes: None,
        reason: "conference".into(),
    };
    availability::add_exception(&c.env.store, &a, &c.meera, leave).await.unwrap();

    let desk = c.signed_in("reception", "receptionist").await;
    let pharmacy = c.signed_in("pharmacy", "pharmacist").await;
    let week = calendar::doctor_week(&c.env.store, &desk, &c.meera, "2026-11-22").await.unwrap();
    let dates: Vec<&str> = week.iter().map(|d| d.date.as_str()).collect();
    assert_eq!(
        dates,
        ["2026-11-22", "2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27", "2026-11-28"]
    );
    assert!(week.iter().all(|d| d.doctor_name == "Dr Meera Iyer" && d.doctor_id == c.meera));
    let summary: Vec<(u32, u32, bool, usize)> =
        week.iter().map(|d| (d.slots, d.free_slots, d.on_leave, d.appointments.len())).collect();
    assert_eq!(
        summary,
        [
            (0, 0, false, 0),
            (28, 27, false, 1),
            (0, 0, true, 0),
            (28, 27, false, 1),
            (28, 28, false, 0),
            (28, 28, false, 0),
            (28, 28, false, 0)
        ]
    );

    let shown = &week[1].appointments[0];
    assert_eq!(shown.appointment.id, first.id, "the cancelled booking is not on the calendar");
    assert_eq!((shown.patient_name.as_str(), shown.mrn.as_str()), ("Patient0 Sharma", c.patients[0].mrn.as_str()));
    assert_eq!(shown.phone, c.patients[0].phones[0]);
    assert_eq!(shown.doctor_name, "Dr Meera Iyer");
    assert_eq!(week[3].appointments[0].appointment.start, "17:00");
    assert!(week.iter().all(|d| d.displaced.is_empty()));

    // Once Monday 10:00 has come, its earlier slots are no longer bookable.
    c.env.store.set_now(Some(chrono::Utc.with_ymd_and_hms(2026, 11, 23, 4, 30, 0).unwrap()));
    let week = calendar::doctor_week(&c.env.store, &desk, &c.meera, "2026-11-23").await.unwrap();
    assert_eq!((week[0].date.as_str(), week[0].slots, week[0].free_slots), ("2026-11-23", 28, 23));

    assert_eq!(validation(calendar::doctor_week(&c.env.store, &desk, &c.meera, "23/11/2026").await).0, "week_start");
    assert_eq!(
        calendar::doctor_week(&c.env.store, &desk, "nobody", "2026-11-23").await.unwrap_err(),
        Error::NotFound { entity: "doctor".into() }
    );
    forbidden(calendar::doctor_week(&c.env.store, &pharmacy, &c.meera, "2026-11-23").await, "appointments_view");
}

#[tokio::test]
async fn a_departments_day_lists_its_doctors_with_their_appointments() {
    let c = clinic(3).await;
    let a = c.admin().await;
    let arjun = staff::add_staff(&c.env.store, &a, doctor_input("Dr Arjun Rao", Some(&c.department), &c.specialty))
        .await
        .unwrap()
        .id;
    availability::set_weekly(&c.env.store, &a, &arjun, vec![session(1, "10:00", "12:00", 30)]).await.unwrap();
    let surgery = staff::add_department(&c.env.store, &a, "Surgery").await.unwrap().id;
    let other =
        staff::add_staff(&c.env.store, &a, doctor_input("Dr Other", Some(&surgery), &c.specialty)).await.unwrap().id;
    availability::set_weekly(&c.env.store, &a, &other, vec![session(1, "10:00", "12:00", 30)]).await.unwrap();
    c.book(0, &c.meera, "2026-11-23", "09:30").await;
    c.book(1, &arjun, "2026-11-23", "10:30").await;
    c.book(2, &arjun, "2026-11-23", "10:00").await;
    c.book(0, &other, "2026-11-23", "11:00").await;

    let day = calendar::department_day(&c.env.store, &a, &c.department, "2026-11-23").await.unwrap();
    let names: Vec<&str> = day.iter().map(|d| d.doctor_name.as_str()).collect();
    assert_eq!(names, ["Dr Arjun Rao", "Dr Meera Iyer"], "the department's doctors, by name");
    assert_eq!((day[0].slots, day[0].free_slots), (4, 2));
    let arjuns: Vec<(&str, &str)> =
        day[0].appointments.iter().map(|v| (v.appointment.start.as_str(), v.patient_name.as_str())).collect();
    assert_eq!(arjuns, [("10:00", "Patient2 Sharma"), ("10:30", "Patient1 Sharma")]);
    assert_eq!((day[1].slots, day[1].free_slots, day[1].appointments.len()), (28, 27, 1));
    assert!(day.iter().all(|d| d.date == "2026-11-23"));

    let sunday = calendar::department_day(&c.env.store, &a, &c.department, "2026-11-22").await.unwrap();
    assert!(sunday.iter().all(|d| d.slots == 0 && d.appointments.is_empty()));
    assert_eq!(
        calendar::department_day(&c.env.store, &a, "nowhere", "2026-11-23").await.unwrap_err(),
        Error::NotFound { entity: "department".into() }
    );
    assert_eq!(validation(calendar::department_day(&c.env.store, &a, &c.department, "tomorrow").await).0, "date");
}

#[tokio::test]
async fn cancelling_a_session_lists_the_patients_to_call() {
    let c = clinic(3).await;
    let a = c.admin().await;
    let evening: Vec<Appointment> =
        vec![c.book(0, &c.meera, "2026-11-23", "17:00").await, c.book(1, &c.meera, "2026-11-23", "17:15").await];
    let morning = c.book(2, &c.meera, "2026-11-23", "09:00").await;
    let sessions = availability::weekly(&c.env.store, &a, &c.meera).await.unwrap();
    let monday_evening = sessions.iter().find(|s| s.weekday == 1 && s.start == "17:00").unwrap().id.clone();
    let tuesday_evening = sessions.iter().find(|s| s.weekday == 2 && s.start == "17:00").unwrap().id.clone();

    let desk = c.signed_in("reception", "receptionist").await;
    let before = common::counts(&c.env.store).await;
    forbidden(
        moves::cancel_session(&c.env.store, &desk, &c.meera, "2026-11-23", &monday_evening, "ill").await,
        "schedule_manage",
    );
    assert_eq!(
        validation(moves::cancel_session(&c.env.store, &a, &c.meera, "2026-11-23", &monday_evening, " ").await).0,
        "reason"
    );
    assert_eq!(
        validation(moves::cancel_session(&c.env.store, &a, &c.meera, "2026-11-23", &tuesday_evening, "ill").await).0,
        "session_id",
        "not a Monday session"
    );
    assert_eq!(
        validation(moves::cancel_session(&c.env.store, &a, &c.meera, "2026-02-30", &monday_evening, "ill").await).0,
        "date"
    );
    assert_eq!(common::counts(&c.env.store).await, before, "refused cancellations write nothing");

    let done = moves::cancel_session(&c.env.store, &a, &c.meera, "2026-11-23", &monday_evening, "doctor unwell")
        .await
        .unwrap();
    let called: Vec<(&str, &str, &str)> =
        done.affected.iter().map(|v| (v.appointment.id.as_str(), v.patient_name.as_str(), v.phone.as_str())).collect();
    assert_eq!(
        called,
        [
            (evening[0].id.as_str(), "Patient0 Sharma", c.patients[0].phones[0].as_str()),
            (evening[1].id.as_str(), "Patient1 Sharma", c.patients[1].phones[0].as_str()),
        ]
    );
    assert!(
        done.affected.iter().all(|v| v.appointment.status == AppointmentStatus::Booked),
        "left booked until moved or cancelled"
    );
    assert_eq!(
        validation(moves::cancel_session(&c.env.store, &a, &c.meera, "2026-11-23", &monday_evening, "again").await),
        ("session_id".into(), ValidationReason::Taken)
    );

    let free = slots::free_slots(&c.env.store, &a, &c.meera, "2026-11-23").await.unwrap();
    assert_eq!(free.len(), 15, "only the morning is left, less its one booking");
    let week = calendar::doctor_week(&c.env.store, &a, &c.meera, "2026-11-23").await.unwrap();
    assert_eq!(week[0].displaced, [evening[0].id.clone(), evening[1].id.clone()]);
    assert!(!week[0].displaced.contains(&morning.id));
    assert!(common::actions(&c.env.store).await.contains(&"schedule.cancel_session".to_string()));
}

#[tokio::test]
async fn moving_appointments_is_all_or_nothing() {
    let c = clinic(4).await;
    let a = c.admin().await;
    let olds = [c.book(0, &c.meera, "2026-11-23", "17:00").await, c.book(1, &c.meera, "2026-11-23", "17:30").await];
    let ids: Vec<String> = olds.iter().map(|x| x.id.clone()).collect();
    // Dr Two has room for one patient on Monday morning.
    let two = staff::add_staff(&c.env.store, &a, doctor_input("Dr Two", None, &c.specialty)).await.unwrap().id;
    availability::set_weekly(
        &c.env.store,
        &a,
        &two,
        vec![session(1, "09:00", "09:30", 30), session(3, "09:00", "10:00", 30)],
    )
    .await
    .unwrap();

    let pharmacy = c.signed_in("pharmacy", "pharmacist").await;
    let before = common::counts(&c.env.store).await;
    assert_eq!(
        validation(moves::move_appointments(&c.env.store, &a, &ids, &two, "2026-11-23").await),
        ("to_date".into(), ValidationReason::Taken)
    );
    assert_eq!(
        validation(moves::move_appointments(&c.env.store, &a, &[], &two, "2026-11-23").await),
        ("appointment_ids".into(), ValidationReason::Required)
    );
    assert_eq!(
        validation(moves::move_appointments(&c.env.store, &a, &ids, "nobody", "2026-11-23").await).0,
        "to_doctor_id"
    );
    assert_eq!(validation(moves::move_appointments(&c.env.store, &a, &ids, &two, "23-11-2026").await).0, "to_date");
    assert_eq!(
        validation(moves::move_appointments(&c.env.store, &a, &["nope".to_string()], &two, "2026-11-23").await).0,
        "appointment_ids"
    );
    forbidden(
        moves::move_appointments(&c.env.store, &pharmacy, &ids, &c.meera, "2026-11-24").await,
        "appointments_book",
    );
    assert_eq!(common::counts(&c.env.store).await, before, "nothing written");
    for old in &olds {
        assert_eq!(c.status_of(&old.id).await, "booked", "a refused move leaves the bookings as they were");
    }

    // Into Dr Meera's Tuesday: the first free slots, in the original order.
    c.book(3, &c.meera, "2026-11-24", "09:00").await;
    let moved = moves::move_appointments(&c.env.store, &a, &ids, &c.meera, "2026-11-24").await.unwrap();
    let got: Vec<(&str, &str, &str)> = moved
        .iter()
        .map(|v| {
            (
                v.appointment.start.as_str(),
                v.patient_name.as_str(),
                v.appointment.rescheduled_from.as_deref().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        got,
        [("09:15", "Patient0 Sharma", olds[0].id.as_str()), ("09:30", "Patient1 Sharma", olds[1].id.as_str())]
    );
    assert!(moved
        .iter()
        .all(|v| v.appointment.status == AppointmentStatus::Booked && v.appointment.date == "2026-11-24"));
    for old in &olds {
        assert_eq!(c.status_of(&old.id).await, "cancelled");
    }
    assert_eq!(
        validation(moves::move_appointments(&c.env.store, &a, &ids, &c.meera, "2026-11-25").await).0,
        "appointment_ids",
        "cancelled ones cannot move"
    );
    assert!(common::actions(&c.env.store).await.contains(&"appointment.move".to_string()));

    // A patient already booked at 09:00 on Wednesday lands in the next slot instead.
    c.book(0, &c.meera, "2026-11-25", "09:00").await;
    let moved = moves::move_appointments(&c.env.store, &a, &[moved[0].appointment.id.clone()], &two, "2026-11-25")
        .await
        .unwrap();
    assert_eq!((moved[0].appointment.start.as_str(), moved[0].doctor_name.as_str()), ("09:30", "Dr Two"));
}

#[tokio::test]
async fn staff_are_listed_edited_deactivated_and_reactivated_by_an_administrator() {
    let c = clinic(1).await;
    let a = c.admin().await;
    let nurse_user = common::add_user(&c.env.store, &c.admin, "nurse.lata", &["nurse"]).await;
    let nurse = staff::add_staff(
        &c.env.store,
        &a,
        StaffInput {
            full_name: "Lata Nair".into(),
            role: "nurse".into(),
            user_id: Some(nurse_user.clone()),
            ..Default::default()
        },
    )
    .await
    .unwrap();

    let all = staff::list_staff(&c.env.store, &a, &StaffFilter::default()).await.unwrap();
    assert_eq!(all.iter().map(|m| m.full_name.as_str()).collect::<Vec<_>>(), ["Dr Meera Iyer", "Lata Nair"]);
    let nurses = staff::list_staff(&c.env.store, &a, &StaffFilter { role: Some(Role::Nurse), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(nurses.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), [nurse.id.as_str()]);
    let medicine = staff::list_staff(
        &c.env.store,
        &a,
        &StaffFilter { department_id: Some(c.department.clone()), ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!(medicine.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), [c.meera.as_str()]);

    // Edit: department, phone, qualifications; the audit names what changed.
    let mut edit = StaffInput {
        full_name: " Lata  Nair ".into(),
        role: "nurse".into(),
        user_id: Some(nurse_user.clone()),
        department_id: Some(c.department.clone()),
        qualifications: "BSc Nursing".into(),
        phone: "98450 11111".into(),
        ..Default::default()
    };
    let updated = staff::update_staff(&c.env.store, &a, &nurse.id, edit.clone()).await.unwrap();
    assert_eq!(
        (updated.full_name.as_str(), updated.department_id.as_deref(), updated.phone.as_str()),
        ("Lata Nair", Some(c.department.as_str()), "98450 11111")
    );
    let detail: String = sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'staff.update'")
        .fetch_one(c.env.store.pool())
        .await
        .unwrap();
    assert!(
        detail.contains("department_id") && detail.contains("qualifications") && !detail.contains("fee_minor"),
        "{detail}"
    );

    // Bad edits name the field and write nothing; a receptionist is refused.
    let desk = c.signed_in("reception", "receptionist").await;
    let before = common::counts(&c.env.store).await;
    for (input, field) in [
        (StaffInput { full_name: " ".into(), ..edit.clone() }, "full_name"),
        (StaffInput { role: "janitor".into(), ..edit.clone() }, "role"),
        (StaffInput { department_id: Some("nowhere".into()), ..edit.clone() }, "department_id"),
        (StaffInput { specialty_ids: vec!["nothing".into()], ..edit.clone() }, "specialty_ids"),
        (StaffInput { fee_minor: -1, ..edit.clone() }, "fee_minor"),
    ] {
        assert_eq!(validation(staff::update_staff(&c.env.store, &a, &nurse.id, input).await).0, field);
    }
    let meera_taking_the_account =
        StaffInput { user_id: Some(nurse_user.clone()), ..doctor_input("Dr Meera Iyer", None, &c.specialty) };
    assert_eq!(
        validation(staff::update_staff(&c.env.store, &a, &c.meera, meera_taking_the_account).await),
        ("user_id".into(), ValidationReason::Taken)
    );
    edit.phone = "98450 22222".into();
    forbidden(staff::update_staff(&c.env.store, &desk, &nurse.id, edit.clone()).await, "staff_manage");
    forbidden(staff::set_staff_active(&c.env.store, &desk, &nurse.id, false).await, "staff_manage");
    forbidden(staff::list_staff(&c.env.store, &desk, &StaffFilter::default()).await, "staff_manage");
    assert_eq!(
        staff::update_staff(&c.env.store, &a, "nobody", edit.clone()).await.unwrap_err(),
        Error::NotFound { entity: "staff member".into() }
    );
    assert_eq!(common::counts(&c.env.store).await, before, "nothing written");
    assert_eq!(
        staff::list_staff(&c.env.store, &a, &StaffFilter { role: Some(Role::Nurse), ..Default::default() })
            .await
            .unwrap()[0]
            .phone,
        "98450 11111"
    );

    // A doctor with appointments to come keeps the role and stays active until they move.
    let booked = c.book(0, &c.meera, "2026-11-23", "09:00").await;
    assert_eq!(validation(staff::set_staff_active(&c.env.store, &a, &c.meera, false).await).0, "active");
    let as_nurse =
        StaffInput { role: "nurse".into(), ..doctor_input("Dr Meera Iyer", Some(&c.department), &c.specialty) };
    assert_eq!(validation(staff::update_staff(&c.env.store, &a, &c.meera, as_nurse).await).0, "role");
    booking::cancel(&c.env.store, &a, &booked.id, "doctor leaving").await.unwrap();

    let off = staff::set_staff_active(&c.env.store, &a, &c.meera, false).await.unwrap();
    assert!(!off.active);
    assert!(staff::doctors(&c.env.store, &desk, None).await.unwrap().is_empty(), "an inactive doctor is not offered");
    assert!(staff::list_staff(&c.env.store, &a, &StaffFilter::default())
        .await
        .unwrap()
        .iter()
        .all(|m| m.id != c.meera));
    let with_inactive =
        staff::list_staff(&c.env.store, &a, &StaffFilter { include_inactive: true, ..Default::default() })
            .await
            .unwrap();
    assert_eq!(
        with_inactive.last().map(|m| (m.id.as_str(), m.active)),
        Some((c.meera.as_str(), false)),
        "inactive last"
    );
    let input = BookInput {
        patient_id: c.patients[0].id.clone(),
        doctor_id: c.meera.clone(),
        date: "2026-11-23".into(),
        start: "09:15".into(),
        reason: String::new(),
        overbook: false,
    };
    assert_eq!(validation(booking::book(&c.env.store, &a, input).await).0, "doctor_id");

    let on = staff::set_staff_active(&c.env.store, &a, &c.meera, true).await.unwrap();
    assert!(on.active);
    assert_eq!(staff::doctors(&c.env.store, &desk, Some(&c.specialty)).await.unwrap().len(), 1);
    let actions = common::actions(&c.env.store).await;
    for action in ["staff.update", "staff.deactivate", "staff.reactivate"] {
        assert!(actions.contains(&action.to_string()), "{action} audited");
    }
}
