//! A small ward for the clinical tests: an administrator, a doctor with a staff profile and
//! a registration number, a nurse, a lab technician and a receptionist (all signed in), one
//! patient, four medicines, two lab tests, and the ICD-10 table loaded. Used by
//! `clinical.rs` and `clinical_record.rs` (`#[path]`-included, so not every test crate
//! reads every field).
#![allow(dead_code)]

use super::common;
use hms_core::clinical::{icd10, lab, prescribing, LabTestInput, MedicineInput};
use hms_core::patients::{self, PatientInput};
use hms_core::schedule::staff;
use hms_core::{Authorized, Error, SessionSlot, Store, ValidationReason};

pub struct Ward {
    pub env: common::Env,
    pub admin: SessionSlot,
    pub doctor: SessionSlot,
    pub nurse: SessionSlot,
    pub lab: SessionSlot,
    pub reception: SessionSlot,
    pub doctor_staff: String,
    pub patient: String,
    pub amoxicillin: String,
    pub paracetamol: String,
    pub metformin: String,
    pub amlodipine: String,
    pub hb: String,
    pub glucose: String,
}

pub async fn sign_in(store: &Store, name: &str) -> SessionSlot {
    let slot = SessionSlot::default();
    hms_core::auth::sign_in(store, &slot, name, common::STAFF_PW).await.unwrap();
    slot
}

pub async fn auth(store: &Store, slot: &SessionSlot) -> Authorized {
    slot.authorize(store).await.unwrap()
}

pub async fn ward() -> Ward {
    let (env, admin) = common::with_admin().await;
    let s = &env.store;
    let a = auth(s, &admin).await;
    let doctor_user = common::add_user(s, &admin, "dr.rao", &["doctor"]).await;
    common::add_user(s, &admin, "n.joseph", &["nurse"]).await;
    common::add_user(s, &admin, "lab.khan", &["lab_technician"]).await;
    common::add_user(s, &admin, "desk.roy", &["receptionist"]).await;
    let doctor_staff = staff::add_staff(
        s,
        &a,
        staff::StaffInput {
            full_name: "Dr Anil Rao".into(),
            role: "doctor".into(),
            user_id: Some(doctor_user),
            licence_no: "KMC-12345".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .id;
    let p = PatientInput {
        given_name: "Ravi".into(),
        family_name: "Sharma".into(),
        sex: "male".into(),
        birth_date: Some("1980-05-04".into()),
        ..Default::default()
    };
    let patient = patients::register(s, &a, p).await.unwrap().id;
    let med = |name: &str, strength: &str, form: &str| MedicineInput {
        name: name.into(),
        strength: strength.into(),
        form: form.into(),
        ..Default::default()
    };
    let amoxicillin = prescribing::add_medicine(s, &a, med("Amoxicillin", "500 mg", "capsule")).await.unwrap().id;
    let paracetamol = prescribing::add_medicine(s, &a, med("Paracetamol", "650 mg", "tablet")).await.unwrap().id;
    let metformin = prescribing::add_medicine(s, &a, med("Metformin", "500 mg", "tablet")).await.unwrap().id;
    let amlodipine = prescribing::add_medicine(s, &a, med("Amlodipine", "5 mg", "tablet")).await.unwrap().id;
    let test = |code: &str, name: &str, unit: &str, low: &str, high: &str| LabTestInput {
        code: code.into(),
        name: name.into(),
        unit: unit.into(),
        ref_low: Some(low.into()),
        ref_high: Some(high.into()),
    };
    let hb = lab::add_lab_test(s, &a, test("HB", "Haemoglobin", "g/dL", "13", "17")).await.unwrap().id;
    let glucose = lab::add_lab_test(s, &a, test("FBS", "Fasting blood sugar", "mg/dL", "70", "100")).await.unwrap().id;
    icd10::ensure_loaded(s).await.unwrap();
    Ward {
        doctor: sign_in(s, "dr.rao").await,
        nurse: sign_in(s, "n.joseph").await,
        lab: sign_in(s, "lab.khan").await,
        reception: sign_in(s, "desk.roy").await,
        env,
        admin,
        doctor_staff,
        patient,
        amoxicillin,
        paracetamol,
        metformin,
        amlodipine,
        hb,
        glucose,
    }
}

/// The field and reason of a validation error (anything else fails the test).
pub fn field_of<T: std::fmt::Debug>(r: Result<T, Error>) -> (String, ValidationReason) {
    match r {
        Err(Error::Validation { field, reason, .. }) => (field, reason),
        other => panic!("expected a validation error, got {other:?}"),
    }
}
