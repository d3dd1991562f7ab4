//! AllergyIntolerance: the substance (and the list entry it is checked as), the reaction and
//! its severity.

use super::context::Ctx;
use super::source::{opt, prune, text, Emit, Source};
use super::systems::ALLERGY_CLINICAL;
use crate::error::Result;
use serde_json::json;
use sqlx::sqlite::SqliteRow;

pub static ALLERGIES: Source = Source {
    table: "allergies",
    select: "SELECT t.id, t.patient_id, t.substance, t.reaction, t.severity, t.allergen, t.created_at FROM allergies t",
    by_patient: Some("t.patient_id = ?1"),
    map,
};

fn map(row: &SqliteRow, cx: &Ctx<'_>, out: &mut Emit<'_>) -> Result<()> {
    let severity = text(row, "severity")?;
    // A reaction needs a manifestation; without one the severity is kept as the criticality.
    let reaction = opt(row, "reaction")?.map(|r| json!([{ "manifestation": [{ "text": r }], "severity": severity }]));
    let criticality = if severity == "severe" { "high" } else { "low" };
    let coding = opt(row, "allergen")?.map(|a| json!([{ "system": "urn:hms:allergen", "code": a }]));
    out.value(prune(json!({
        "resourceType": "AllergyIntolerance",
        "id": text(row, "id")?,
        "clinicalStatus": { "coding": [{ "system": ALLERGY_CLINICAL, "code": "active", "display": "Active" }] },
        "criticality": criticality,
        "code": { "coding": coding, "text": text(row, "substance")? },
        "patient": cx.reference("Patient", &text(row, "patient_id")?),
        "recordedDate": text(row, "created_at")?,
        "reaction": reaction,
    })))
}
