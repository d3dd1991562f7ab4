//! Condition: a visit's diagnoses (ICD-10-CM, or free text), provisional or confirmed, active
//! until resolved.

use super::context::Ctx;
use super::source::{opt, prune, text, Source};
use super::systems::{CONDITION_CATEGORY, CONDITION_CLINICAL, CONDITION_VER_STATUS, ICD10_CM};
use crate::error::Result;
use serde_json::{json, Value};
use sqlx::sqlite::SqliteRow;

pub static DIAGNOSES: Source = Source {
    table: "diagnoses",
    select: "SELECT t.id, t.visit_id, t.patient_id, t.icd10, t.text, t.certainty, t.resolved_at, t.created_at,
        c.description AS icd10_title FROM diagnoses t LEFT JOIN icd10_codes c ON c.code = t.icd10",
    by_patient: Some("t.patient_id = ?1"),
    map,
};

fn map(row: &SqliteRow, cx: &Ctx<'_>) -> Result<Vec<Value>> {
    let resolved = opt(row, "resolved_at")?;
    let (clinical, clinical_display) = if resolved.is_some() { ("resolved", "Resolved") } else { ("active", "Active") };
    let (verification, verification_display) = match text(row, "certainty")?.as_str() {
        "final" => ("confirmed", "Confirmed"),
        _ => ("provisional", "Provisional"),
    };
    let coding = opt(row, "icd10")?
        .map(|code| json!([{ "system": ICD10_CM, "code": code, "display": opt(row, "icd10_title").ok().flatten() }]));
    Ok(vec![prune(json!({
        "resourceType": "Condition",
        "id": text(row, "id")?,
        "clinicalStatus": { "coding": [{ "system": CONDITION_CLINICAL, "code": clinical, "display": clinical_display }] },
        "verificationStatus": { "coding": [{ "system": CONDITION_VER_STATUS, "code": verification, "display": verification_display }] },
        "category": [{ "coding": [{ "system": CONDITION_CATEGORY, "code": "encounter-diagnosis", "display": "Encounter Diagnosis" }] }],
        "code": { "coding": coding, "text": text(row, "text")? },
        "subject": cx.reference("Patient", &text(row, "patient_id")?),
        "encounter": cx.reference("Encounter", &text(row, "visit_id")?),
        "abatementDateTime": resolved,
        "recordedDate": text(row, "created_at")?,
    }))])
}
