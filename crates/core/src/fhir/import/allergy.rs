//! AllergyIntolerance → an allergy: the substance (its text, else its coding's display; a
//! coding in HMS's allergen list, `urn:hms:allergen`, or a substance named exactly as one on
//! the list, is checked against prescriptions as the chart's are), the reactions'
//! manifestations, and the severity (the reaction's, else high criticality → severe, else
//! mild). An allergy already on the patient's list (same substance) is not added twice.

use super::values::{concept_text, problem, str_at};
use super::{Cx, Failure, Outcome};
use crate::clinical::{allergy_check, drugs, exists, insert_row, line};
use crate::store::WriteTx;
use serde_json::{json, Value};

const HMS_ALLERGEN: &str = "urn:hms:allergen";

pub async fn write(
    w: &mut WriteTx<'_>,
    cx: &Cx<'_>,
    i: usize,
    patient: &str,
    out: &mut Outcome,
) -> Result<(), Failure> {
    let r = cx.index.get(i);
    let status = str_at(r, "/verificationStatus/coding/0/code");
    if matches!(status, Some("entered-in-error" | "refuted")) {
        out.not_stored.add("AllergyIntolerance (refuted or entered in error)", 1);
        return Ok(());
    }
    let id = cx.id_of(i);
    if exists(w, "allergies", &id).await? {
        out.unchanged += 1;
        return Ok(());
    }
    let concept = r.get("code").unwrap_or(&Value::Null);
    let chosen = match super::values::code_in(concept, &[HMS_ALLERGEN]) {
        Some(code) => Some(
            drugs::reference()
                .by_code(code)
                .ok_or_else(|| problem(r, "code", format!("{code} is not on HMS's allergen list")))?,
        ),
        None => None,
    };
    let substance =
        line("substance", &concept_text(concept), 120, true).map_err(|e| problem(r, "code", e.to_string()))?;
    let allergen = chosen.or_else(|| allergy_check::allergen_of(None, &substance)).map(|a| a.code());
    let same: bool = sqlx::query_scalar(
        "SELECT COUNT(*) > 0 FROM allergies WHERE patient_id = ? AND lower(substance) = lower(?) AND deleted_at IS NULL",
    )
    .bind(patient)
    .bind(&substance)
    .fetch_one(w.conn())
    .await?;
    if same {
        out.unchanged += 1;
        return Ok(());
    }
    let manifestations: Vec<String> = r
        .pointer("/reaction/0/manifestation")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(concept_text)
        .filter(|t| !t.is_empty())
        .collect();
    let reaction = line("reaction", &manifestations.join(", "), 300, false)
        .map_err(|e| problem(r, "reaction.manifestation", e.to_string()))?;
    let severity = match (str_at(r, "/reaction/0/severity"), str_at(r, "/criticality")) {
        (Some(s @ ("mild" | "moderate" | "severe")), _) => s,
        (Some(other), _) => return Err(problem(r, "reaction.severity", format!("{other}: mild, moderate or severe"))),
        (None, Some("high")) => "severe",
        (None, _) => "mild",
    };
    insert_row(
        w,
        "allergies",
        &id,
        &[
            ("patient_id", json!(patient)),
            ("substance", json!(substance)),
            ("reaction", json!(reaction)),
            ("severity", json!(severity)),
            ("allergen", json!(allergen)),
        ],
    )
    .await?;
    out.created.add("allergies", 1);
    Ok(())
}
