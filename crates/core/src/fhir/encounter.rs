//! Encounter: outpatient visits (class AMB) and admissions (class IMP, the ward, the
//! provisional diagnosis as the reason, the discharge disposition).

use super::context::Ctx;
use super::source::{opt, prune, text, Source};
use super::systems::{ACT_CODE, DISCHARGE_DISPOSITION, ICD10_CM};
use crate::error::Result;
use serde_json::{json, Value};
use sqlx::sqlite::SqliteRow;

pub static VISITS: Source = Source {
    table: "visits",
    select: "SELECT t.id, t.patient_id, t.doctor_id, t.appointment_id, t.started_at, t.closed_at, t.complaints
        FROM visits t",
    by_patient: Some("t.patient_id = ?1"),
    map: visit,
};

pub static ADMISSIONS: Source = Source {
    table: "admissions",
    select: "SELECT t.id, t.patient_id, t.doctor_id, t.ward_id, t.reason, t.diagnosis_code, t.diagnosis_text,
        t.admitted_at, t.discharged_at, t.discharge_type FROM admissions t",
    by_patient: Some("t.patient_id = ?1"),
    map: admission,
};

fn class(code: &str, display: &str) -> Value {
    json!({ "system": ACT_CODE, "code": code, "display": display })
}

fn visit(row: &SqliteRow, cx: &Ctx<'_>) -> Result<Vec<Value>> {
    let closed = opt(row, "closed_at")?;
    Ok(vec![prune(json!({
        "resourceType": "Encounter",
        "id": text(row, "id")?,
        "status": if closed.is_some() { "finished" } else { "in-progress" },
        "class": class("AMB", "ambulatory"),
        "subject": cx.reference("Patient", &text(row, "patient_id")?),
        "participant": [{ "individual": cx.reference("Practitioner", &text(row, "doctor_id")?) }],
        "appointment": opt(row, "appointment_id")?.map(|a| json!([cx.reference("Appointment", &a)])),
        "period": { "start": text(row, "started_at")?, "end": closed },
        "reasonCode": opt(row, "complaints")?.map(|c| json!([{ "text": c }])),
        "serviceProvider": cx.organization(),
    }))])
}

/// HMS's discharge type as a discharge-disposition code.
fn disposition(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "home" => ("home", "Home"),
        "referred" => ("other-hcf", "Other healthcare facility"),
        "against_advice" => ("aadvice", "Left against advice"),
        _ => ("exp", "Expired"),
    }
}

fn admission(row: &SqliteRow, cx: &Ctx<'_>) -> Result<Vec<Value>> {
    let discharged = opt(row, "discharged_at")?;
    let mut reason = vec![json!({ "text": text(row, "reason")? })];
    if let Some(code) = opt(row, "diagnosis_code")? {
        reason.push(json!({ "coding": [{ "system": ICD10_CM, "code": code }], "text": opt(row, "diagnosis_text")? }));
    }
    let hospitalization = opt(row, "discharge_type")?.map(|k| {
        let (code, display) = disposition(&k);
        json!({ "dischargeDisposition": { "coding": [{ "system": DISCHARGE_DISPOSITION, "code": code, "display": display }] } })
    });
    Ok(vec![prune(json!({
        "resourceType": "Encounter",
        "id": text(row, "id")?,
        "status": if discharged.is_some() { "finished" } else { "in-progress" },
        "class": class("IMP", "inpatient encounter"),
        "subject": cx.reference("Patient", &text(row, "patient_id")?),
        "participant": [{ "individual": cx.reference("Practitioner", &text(row, "doctor_id")?) }],
        "period": { "start": text(row, "admitted_at")?, "end": discharged },
        "reasonCode": reason,
        "hospitalization": hospitalization,
        "location": [{ "location": cx.reference("Location", &text(row, "ward_id")?) }],
        "serviceProvider": cx.organization(),
    }))])
}
