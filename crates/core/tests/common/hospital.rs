//! A small hospital for the inpatient tests, on top of `ward.rs`'s clinic: a daily bed
//! charge in the tariff (general 1,500.00; ICU 6,000.00), a General ward with a room of
//! three beds (A1 with oxygen by the window, A2, A3) and an ICU of one bed with its own charge,
//! and three more patients. Times are pinned from 2026-12-01 10:00 UTC.
#![allow(dead_code)]

use super::ward::{auth, ward, Ward};
use chrono::{DateTime, Duration, TimeZone, Utc};
use hms_core::billing::{tariff, ServiceInput};
use hms_core::inpatients::{setup, AdmitInput, BedInput, WardInput};
use hms_core::patients::{self, PatientInput};
use hms_core::Authorized;

pub const GENERAL_DAY: i64 = 150_000;
pub const ICU_DAY: i64 = 600_000;

pub struct Hospital {
    pub w: Ward,
    pub general: String,
    pub icu: String,
    pub a1: String,
    pub a2: String,
    pub a3: String,
    pub icu1: String,
    /// `w.patient` and three more.
    pub patients: Vec<String>,
    pub t0: DateTime<Utc>,
    /// Sessions authorized at t0 (a session locks when the pinned clock jumps hours on; what
    /// they authorize stays the same).
    pub admin: Authorized,
    pub doctor: Authorized,
    pub nurse: Authorized,
    pub desk: Authorized,
    pub lab: Authorized,
}

impl Hospital {
    pub fn at(&self, hours: i64) {
        self.w.env.store.set_now(Some(self.t0 + Duration::hours(hours)));
    }

    pub fn admit_input(&self, patient: usize, bed: Option<&str>) -> AdmitInput {
        AdmitInput {
            patient_id: self.patients[patient].clone(),
            doctor_id: self.w.doctor_staff.clone(),
            reason: "Observation".into(),
            diagnosis_code: String::new(),
            expected_days: Some(3),
            ward_id: if bed == Some(self.icu1.as_str()) { self.icu.clone() } else { self.general.clone() },
            bed_id: bed.map(str::to_string),
            admitted_at: None,
        }
    }
}

pub async fn hospital() -> Hospital {
    let w = ward().await;
    let t0 = Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap();
    let s = &w.env.store;
    s.set_now(Some(t0));
    let a = auth(s, &w.admin).await;
    let service = |code: &str, price| ServiceInput {
        code: code.into(),
        name: format!("Bed {code}"),
        category: "bed_day".into(),
        tax_rate_bp: 0,
        tax_exempt: true,
        price_minor: price,
        effective_from: Some("2026-01-01".into()),
    };
    let gen_day = tariff::add_service(s, &a, service("BED-GEN", GENERAL_DAY)).await.unwrap().id;
    let icu_day = tariff::add_service(s, &a, service("BED-ICU", ICU_DAY)).await.unwrap().id;
    let general = setup::add_ward(
        s,
        &a,
        WardInput { name: "General".into(), kind: "general".into(), bed_service_id: Some(gen_day.clone()) },
    )
    .await
    .unwrap()
    .id;
    let icu =
        setup::add_ward(s, &a, WardInput { name: "ICU".into(), kind: "icu".into(), bed_service_id: Some(gen_day) })
            .await
            .unwrap()
            .id;
    let room = setup::add_room(s, &a, &general, "Room 1").await.unwrap().id;
    let bed = |ward: &str, label: &str, tags: &[&str], service: Option<&str>| BedInput {
        ward_id: ward.into(),
        room_id: if ward == general { Some(room.clone()) } else { None },
        label: label.into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        bed_service_id: service.map(str::to_string),
    };
    let a1 = setup::add_bed(s, &a, bed(&general, "A1", &["Oxygen", "window"], None)).await.unwrap().id;
    let a2 = setup::add_bed(s, &a, bed(&general, "A2", &[], None)).await.unwrap().id;
    let a3 = setup::add_bed(s, &a, bed(&general, "A3", &["isolation"], None)).await.unwrap().id;
    let icu1 = setup::add_bed(s, &a, bed(&icu, "ICU-1", &["oxygen"], Some(&icu_day))).await.unwrap().id;
    let mut patients = vec![w.patient.clone()];
    for (given, sex) in [("Sita", "female"), ("Arjun", "male"), ("Meena", "female")] {
        let p =
            PatientInput { given_name: given.into(), family_name: "Das".into(), sex: sex.into(), ..Default::default() };
        patients.push(patients::register(s, &a, p).await.unwrap().id);
    }
    let (doctor, nurse, desk, lab) =
        (auth(s, &w.doctor).await, auth(s, &w.nurse).await, auth(s, &w.reception).await, auth(s, &w.lab).await);
    Hospital { w, general, icu, a1, a2, a3, icu1, patients, t0, admin: a, doctor, nurse, desk, lab }
}
