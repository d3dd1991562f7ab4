//! The clinical area: one patient with 500 visits and 5,000 observations (4,500 vitals and
//! 500 lab results) whose chart summary is opened, whole consultations saved (visit, vitals,
//! 3 diagnoses, 4 medicines, 2 lab orders) for fresh patients, and ICD-10 searches, through
//! hms-core with a doctor's (and the lab's) signed-in session.

use super::stats::time_n;
use super::Ctx;
use hms_core::clinical::{
    chart, icd10, lab, prescribing, visits, Certainty, ConsultationInput, DiagnosisInput, LabTestInput, MedicineInput,
    PrescriptionInput, VisitInput, VitalsInput,
};
use hms_core::patients::{self, PatientInput};
use hms_core::schedule::staff;
use hms_core::users::{self, NewUser};
use hms_core::{Authorized, SessionSlot};
use serde_json::json;

const VISITS: usize = 500;
const VITALS_PER_VISIT: usize = 9;
const CHART_SAMPLES: usize = 200;
const CONSULTATION_SAMPLES: usize = 300;
const ICD10_QUERIES: [&str; 12] = [
    "E11",
    "J45.9",
    "I10",
    "S72",
    "diabetes",
    "type 2 diab",
    "fever",
    "pneumonia",
    "acute myocardial infarction",
    "fracture",
    "asthma",
    "hypertens",
];

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The password the bench's administrator gives a new account (temporary).
const TEMPORARY_PASSWORD: &str = "Given#Bench2026";

/// A signed-in user of a role (created on first use; a doctor gets a staff profile).
pub(super) async fn person(ctx: &Ctx, admin: &Authorized, username: &str, role: &str) -> Result<Authorized, String> {
    let password = super::BENCH_PASSWORD;
    let existing: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE username = ?")
        .bind(username)
        .fetch_optional(ctx.store.pool())
        .await
        .map_err(err)?;
    let id = match existing {
        Some(id) => id,
        None => {
            // An administrator's password is temporary: its owner signs in with it and chooses
            // the bench's own before working.
            let input = NewUser {
                username: username.into(),
                full_name: format!("Bench {role}"),
                password: TEMPORARY_PASSWORD.into(),
                roles: vec![role.into()],
            };
            let id = users::create(&ctx.store, admin, input).await.map_err(err)?.id;
            let slot = SessionSlot::default();
            hms_core::auth::sign_in(&ctx.store, &slot, username, TEMPORARY_PASSWORD).await.map_err(err)?;
            users::change_own_password(&ctx.store, &slot, TEMPORARY_PASSWORD, password).await.map_err(err)?;
            id
        }
    };
    if role == "doctor" {
        let profile: Option<String> = sqlx::query_scalar("SELECT id FROM staff WHERE user_id = ?")
            .bind(&id)
            .fetch_optional(ctx.store.pool())
            .await
            .map_err(err)?;
        if profile.is_none() {
            let input = staff::StaffInput {
                full_name: "Dr Bench".into(),
                role: "doctor".into(),
                user_id: Some(id),
                ..Default::default()
            };
            staff::add_staff(&ctx.store, admin, input).await.map_err(err)?;
        }
    }
    let slot = SessionSlot::default();
    hms_core::auth::sign_in(&ctx.store, &slot, username, password).await.map_err(err)?;
    slot.authorize(&ctx.store).await.map_err(err)
}

/// The medicines and lab tests the consultations use (created on first use).
async fn catalogue(ctx: &Ctx, admin: &Authorized) -> Result<(Vec<String>, Vec<String>), String> {
    let mut meds = Vec::new();
    for (name, strength, form) in [
        ("Amoxicillin", "500 mg", "capsule"),
        ("Paracetamol", "650 mg", "tablet"),
        ("Metformin", "500 mg", "tablet"),
        ("Amlodipine", "5 mg", "tablet"),
    ] {
        let found: Option<String> =
            sqlx::query_scalar("SELECT id FROM medicines WHERE name = ? AND deleted_at IS NULL")
                .bind(name)
                .fetch_optional(ctx.store.pool())
                .await
                .map_err(err)?;
        let id = match found {
            Some(id) => id,
            None => {
                prescribing::add_medicine(
                    &ctx.store,
                    admin,
                    MedicineInput {
                        name: name.into(),
                        strength: strength.into(),
                        form: form.into(),
                        ..Default::default()
                    },
                )
                .await
                .map_err(err)?
                .id
            }
        };
        meds.push(id);
    }
    let mut tests = Vec::new();
    for (code, name, unit, low, high) in
        [("HB", "Haemoglobin", "g/dL", "13", "17"), ("FBS", "Fasting blood sugar", "mg/dL", "70", "100")]
    {
        let found: Option<String> =
            sqlx::query_scalar("SELECT id FROM lab_tests WHERE code = ? AND deleted_at IS NULL")
                .bind(code)
                .fetch_optional(ctx.store.pool())
                .await
                .map_err(err)?;
        let id = match found {
            Some(id) => id,
            None => {
                let input = LabTestInput {
                    code: code.into(),
                    name: name.into(),
                    unit: unit.into(),
                    ref_low: Some(low.into()),
                    ref_high: Some(high.into()),
                };
                lab::add_lab_test(&ctx.store, admin, input).await.map_err(err)?.id
            }
        };
        tests.push(id);
    }
    Ok((meds, tests))
}

fn consultation(patient: &str, meds: &[String], tests: &[String], i: usize) -> ConsultationInput {
    let dx = |code: Option<&str>, text: &str| DiagnosisInput {
        icd10: code.map(String::from),
        text: text.into(),
        certainty: Certainty::Provisional,
    };
    ConsultationInput {
        visit: VisitInput {
            patient_id: patient.into(),
            complaints: format!("Fever and cough, day {}", i % 7 + 1),
            examination: "Chest: crepitations".into(),
            ..Default::default()
        },
        vitals: Some(VitalsInput {
            temperature_c_x10: Some(370 + (i % 15) as i32),
            pulse: Some(70 + (i % 30) as i32),
            spo2: Some(96),
            ..Default::default()
        }),
        diagnoses: vec![dx(Some("J18.9"), ""), dx(Some("E11.9"), ""), dx(None, "Suspected dengue")],
        prescriptions: meds
            .iter()
            .map(|m| PrescriptionInput {
                medicine_id: m.clone(),
                dose: "1".into(),
                dose_unit: "tablet".into(),
                frequency: "1-0-1".into(),
                duration_days: Some(5),
                override_reason: Some("Continued".into()),
                ..Default::default()
            })
            .collect(),
        lab_test_ids: tests.to_vec(),
    }
}

async fn new_patient(ctx: &Ctx, admin: &Authorized, given: &str) -> Result<String, String> {
    let input = PatientInput {
        given_name: given.into(),
        family_name: "Bench".into(),
        sex: "female".into(),
        ..Default::default()
    };
    Ok(patients::register(&ctx.store, admin, input).await.map_err(err)?.id)
}

/// The long-history patient: 500 visits, 4,500 vitals and 500 lab results (made once: a
/// later area, e.g. fhir, finds the one the clinical area made).
pub(super) async fn long_history(
    ctx: &Ctx,
    admin: &Authorized,
    doctor: &Authorized,
    nurse: &Authorized,
    lab_tech: &Authorized,
    meds: &[String],
    tests: &[String],
) -> Result<String, String> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT id FROM patients WHERE given_name = 'Longhistory' AND deleted_at IS NULL")
            .fetch_optional(ctx.store.pool())
            .await
            .map_err(err)?;
    if let Some(id) = found {
        return Ok(id);
    }
    // The long-history patient: 500 visits, 4,500 vitals and 500 lab results.
    eprintln!("bench: a patient with {VISITS} visits and {} observations", VISITS * (VITALS_PER_VISIT + 1));
    let heavy = new_patient(ctx, admin, "Longhistory").await?;
    // The history is spread over the last ~4 years (a visit every 3 days), so that its
    // prescriptions ended long ago as they would have.
    let now = ctx.store.now();
    for i in 0..VISITS {
        ctx.store.set_now(Some(now - chrono::Duration::days(3 * (VISITS - i) as i64)));
        let mut c = consultation(&heavy, &meds[1..2], &tests[..1], i);
        c.prescriptions[0].override_reason = Some("Repeat".into());
        let saved = chart::save_consultation(&ctx.store, doctor, c).await.map_err(err)?;
        for k in 1..VITALS_PER_VISIT {
            let v = VitalsInput {
                patient_id: heavy.clone(),
                visit_id: Some(saved.visit.id.clone()),
                pulse: Some(60 + ((i + k) % 40) as i32),
                ..Default::default()
            };
            visits::record_vitals(&ctx.store, nurse, v).await.map_err(err)?;
        }
        lab::enter_result(&ctx.store, lab_tech, &saved.lab_orders[0].id, &format!("{}.{}", 11 + i % 6, i % 10))
            .await
            .map_err(err)?;
    }
    ctx.store.set_now(None);
    Ok(heavy)
}

/// What the clinical area works with: the administrator, the doctor, the catalogue's
/// medicines and lab tests, and the long-history patient (made once, found after).
struct Setup {
    admin: Authorized,
    doctor: Authorized,
    meds: Vec<String>,
    tests: Vec<String>,
    heavy: String,
}

async fn setup(ctx: &Ctx) -> Result<Setup, String> {
    let admin = ctx.session.authorize(&ctx.store).await.map_err(err)?;
    let doctor = person(ctx, &admin, "bench.doctor", "doctor").await?;
    let nurse = person(ctx, &admin, "bench.nurse", "nurse").await?;
    let lab_tech = person(ctx, &admin, "bench.lab", "lab_technician").await?;
    let (meds, tests) = catalogue(ctx, &admin).await?;
    icd10::ensure_loaded(&ctx.store).await.map_err(err)?;
    let heavy = long_history(ctx, &admin, &doctor, &nurse, &lab_tech, &meds, &tests).await?;
    Ok(Setup { admin, doctor, meds, tests, heavy })
}

/// The long-history patient and the doctor who saw them, made as the clinical area makes them.
pub(super) async fn long_history_patient(ctx: &Ctx) -> Result<(String, Authorized), String> {
    let Setup { heavy, doctor, .. } = setup(ctx).await?;
    Ok((heavy, doctor))
}

pub async fn run(ctx: &mut Ctx) -> Result<(), String> {
    let Setup { admin, doctor, meds, tests, heavy } = setup(ctx).await?;
    let lat = time_n(CHART_SAMPLES, |_| {
        let (store, auth, p) = (&ctx.store, doctor.clone(), heavy.clone());
        async move { chart::chart_summary(store, &auth, &p).await.map(drop) }
    })
    .await
    .map_err(err)?;
    ctx.latency.insert("chart_summary_500_visits".into(), json!(lat));

    // Whole consultations, each for a fresh patient (registration not timed).
    let mut people = Vec::with_capacity(CONSULTATION_SAMPLES);
    for i in 0..CONSULTATION_SAMPLES {
        people.push(new_patient(ctx, &admin, &format!("Consult{i}")).await?);
    }
    let lat = time_n(CONSULTATION_SAMPLES, |i| {
        let (store, auth, input) = (&ctx.store, doctor.clone(), consultation(&people[i], &meds, &tests, i));
        async move { chart::save_consultation(store, &auth, input).await.map(drop) }
    })
    .await
    .map_err(err)?;
    ctx.latency.insert("save_consultation".into(), json!(lat));

    let lat = time_n(ICD10_QUERIES.len() * 25, |i| {
        let (store, auth) = (&ctx.store, doctor.clone());
        async move { icd10::search(store, &auth, ICD10_QUERIES[i % ICD10_QUERIES.len()], 20).await.map(drop) }
    })
    .await
    .map_err(err)?;
    ctx.latency.insert("icd10_search".into(), json!(lat));
    Ok(())
}
