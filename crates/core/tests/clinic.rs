//! The clinic's calendar: just after midnight in Asia/Kolkata (00:30 on the 24th is 19:00 UTC
//! on the 23rd) "today" is the 24th everywhere — a birth date, the queue, a bill's tariff
//! price, a prescription's start — never the UTC date.

mod common;
#[path = "common/ward.rs"]
mod ward;

use chrono::TimeZone;
use hms_core::billing::money::Discount;
use hms_core::billing::{bills, tariff, LineInput, ServiceInput};
use hms_core::clinical::{chart, prescribing, visits, PrescriptionInput, VisitInput};
use hms_core::patients::{self, PatientInput};
use hms_core::schedule::queue;
use hms_core::{clinic, settings};
use ward::{auth, ward, Ward};

const LOCAL_TODAY: &str = "2026-11-24";
const UTC_TODAY: &str = "2026-11-23";

/// A ward in Asia/Kolkata with the clock pinned at 00:30 local time on the 24th.
async fn half_past_midnight_in_kolkata() -> Ward {
    let w = ward().await;
    let a = auth(&w.env.store, &w.admin).await;
    settings::set_time_zone(&w.env.store, &a, "Asia/Kolkata").await.unwrap();
    w.env.store.set_now(Some(chrono::Utc.with_ymd_and_hms(2026, 11, 23, 19, 0, 0).unwrap()));
    w
}

#[tokio::test]
async fn today_is_the_clinics_date_not_the_utc_date() {
    let w = half_past_midnight_in_kolkata().await;
    let s = &w.env.store;
    assert_eq!(clinic::today_ymd(s).await.unwrap(), LOCAL_TODAY);
    assert_eq!(clinic::now(s).await.unwrap().format("%H:%M").to_string(), "00:30");
    assert_eq!(s.now().date_naive().format("%Y-%m-%d").to_string(), UTC_TODAY);
}

#[tokio::test]
async fn a_birth_date_of_today_is_accepted_just_after_midnight() {
    let w = half_past_midnight_in_kolkata().await;
    let (s, a) = (&w.env.store, auth(&w.env.store, &w.admin).await);
    let baby = PatientInput {
        given_name: "Baby".into(),
        family_name: "Iyer".into(),
        sex: "female".into(),
        birth_date: Some(LOCAL_TODAY.into()),
        ..Default::default()
    };
    let p = patients::register(s, &a, baby.clone()).await.unwrap();
    assert_eq!(p.birth_date.as_deref(), Some(LOCAL_TODAY));
    // Tomorrow is still in the future.
    let tomorrow = PatientInput { birth_date: Some("2026-11-25".into()), ..baby };
    assert!(patients::register(s, &a, tomorrow).await.is_err());
}

#[tokio::test]
async fn a_walk_in_just_after_midnight_is_in_todays_queue() {
    let w = half_past_midnight_in_kolkata().await;
    let (s, a) = (&w.env.store, auth(&w.env.store, &w.admin).await);
    let visit = queue::walk_in(s, &a, &w.patient, &w.doctor_staff, "fever").await.unwrap();
    assert_eq!((visit.date.as_str(), visit.start.as_str()), (LOCAL_TODAY, "00:30"));
    let q = queue::queue(s, &a, &w.doctor_staff, LOCAL_TODAY).await.unwrap();
    assert_eq!(q.iter().map(|e| e.appointment_id.as_str()).collect::<Vec<_>>(), [visit.id.as_str()]);
    assert!(queue::queue(s, &a, &w.doctor_staff, UTC_TODAY).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_bill_just_after_midnight_takes_todays_tariff_price() {
    let w = half_past_midnight_in_kolkata().await;
    let (s, a) = (&w.env.store, auth(&w.env.store, &w.admin).await);
    let input = ServiceInput {
        code: "DRESS".into(),
        name: "Dressing".into(),
        category: "procedure".into(),
        tax_rate_bp: 0,
        tax_exempt: true,
        price_minor: 10_000,
        effective_from: Some(UTC_TODAY.into()),
    };
    let service = tariff::add_service(s, &a, input).await.unwrap();
    // The new price starts today (the 24th, local): a bill made now charges it.
    let prices = tariff::set_price(s, &a, &service.id, 12_500, None).await.unwrap().prices;
    assert_eq!(prices.last().map(|p| p.effective_from.as_str()), Some(LOCAL_TODAY));
    let bill = bills::open_bill(s, &a, &w.patient).await.unwrap();
    let line = LineInput {
        service_id: Some(service.id.clone()),
        description: String::new(),
        quantity: 1,
        unit_price_minor: None,
        discount: Discount::None,
    };
    let bill = bills::add_line(s, &a, &bill.id, line).await.unwrap();
    assert_eq!(bill.lines.iter().map(|l| l.unit_price_minor).collect::<Vec<_>>(), [12_500]);
}

#[tokio::test]
async fn a_prescription_just_after_midnight_starts_today() {
    let w = half_past_midnight_in_kolkata().await;
    let (s, d) = (&w.env.store, auth(&w.env.store, &w.doctor).await);
    let v = VisitInput { patient_id: w.patient.clone(), complaints: "Cough".into(), ..Default::default() };
    let visit = visits::start_visit(s, &d, v).await.unwrap();
    let rx = PrescriptionInput {
        medicine_id: w.paracetamol.clone(),
        dose: "1".into(),
        dose_unit: "tablet".into(),
        route: "oral".into(),
        frequency: "1-0-1".into(),
        duration_days: Some(1),
        ..Default::default()
    };
    let p = prescribing::prescribe(s, &d, &visit.id, rx).await.unwrap();
    assert_eq!(p.starts_on, LOCAL_TODAY);
    let summary = chart::chart_summary(s, &d, &w.patient).await.unwrap();
    assert_eq!(summary.current_medicines.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), [p.id.as_str()]);
}
