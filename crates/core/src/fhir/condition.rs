//! Condition: a visit's diagnoses (ICD-10-CM, or free text), provisional or confirmed, active
//! until resolved.

use super::context::Ctx;
use super::model::{Coding, Concept, Reference};
use super::source::{opt_ref, text_ref, Emit, Source};
use super::systems::{CONDITION_CATEGORY, CONDITION_CLINICAL, CONDITION_VER_STATUS, ICD10_CM};
use crate::error::Result;
use serde::Serialize;
use sqlx::sqlite::SqliteRow;

pub static DIAGNOSES: Source = Source {
    table: "diagnoses",
    select: "SELECT t.id, t.visit_id, t.patient_id, t.icd10, t.text, t.certainty, t.resolved_at, t.created_at,
        c.description AS icd10_title FROM diagnoses t LEFT JOIN icd10_codes c ON c.code = t.icd10",
    by_patient: Some("t.patient_id = ?1"),
    map,
};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Condition<'a> {
    resource_type: &'static str,
    id: &'a str,
    clinical_status: Concept<'static>,
    verification_status: Concept<'static>,
    category: [Concept<'static>; 1],
    code: Concept<'a>,
    subject: Reference<'a>,
    encounter: Reference<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    abatement_date_time: Option<&'a str>,
    recorded_date: &'a str,
}

fn map(row: &SqliteRow, cx: &Ctx<'_>, out: &mut Emit<'_>) -> Result<()> {
    let resolved = opt_ref(row, "resolved_at")?;
    let (clinical, clinical_display) = if resolved.is_some() { ("resolved", "Resolved") } else { ("active", "Active") };
    let (verification, verification_display) = match text_ref(row, "certainty")? {
        "final" => ("confirmed", "Confirmed"),
        _ => ("provisional", "Provisional"),
    };
    let coding = match opt_ref(row, "icd10")? {
        Some(code) => vec![Coding { system: ICD10_CM, code, display: opt_ref(row, "icd10_title").ok().flatten() }],
        None => Vec::new(),
    };
    let id = text_ref(row, "id")?;
    let c = Condition {
        resource_type: "Condition",
        id,
        clinical_status: Concept::code_only(CONDITION_CLINICAL, clinical, Some(clinical_display)),
        verification_status: Concept::code_only(CONDITION_VER_STATUS, verification, Some(verification_display)),
        category: [Concept::code_only(CONDITION_CATEGORY, "encounter-diagnosis", Some("Encounter Diagnosis"))],
        code: Concept { coding, text: opt_ref(row, "text")? },
        subject: Reference::to(cx, "Patient", text_ref(row, "patient_id")?),
        encounter: Reference::to(cx, "Encounter", text_ref(row, "visit_id")?),
        abatement_date_time: resolved,
        recorded_date: text_ref(row, "created_at")?,
    };
    out.put("Condition", id, &c)
}
