//! Condition → a visit's diagnosis. An ICD-10-CM code (or ICD-10: HMS's table is
//! ICD-10-CM, whose codes extend ICD-10's) that is in HMS's table is kept as the code; any
//! other code (SNOMED CT, a local system, an ICD-10 code HMS does not hold) is kept as text
//! with its system and code. Confirmed → final, else provisional; resolved, inactive or in
//! remission → resolved (at the abatement, else when imported). HMS holds diagnoses within a
//! visit: a Condition with no outpatient encounter here is counted as not stored.

use super::values::{code_in, concept_text, instant, problem, str_at};
use super::{Cx, Encounters, Failure, Outcome};
use crate::clinical::{exists, icd10, insert_row, line, Certainty};
use crate::codes::Code;
use crate::fhir::systems::ICD10_CM;
use crate::store::WriteTx;
use serde_json::{json, Value};

/// ICD-10 systems whose codes are looked up in HMS's table.
pub const ICD10_SYSTEMS: [&str; 2] = [ICD10_CM, "http://hl7.org/fhir/sid/icd-10"];

pub async fn write(
    w: &mut WriteTx<'_>,
    cx: &Cx<'_>,
    i: usize,
    patient: &str,
    encounters: &Encounters,
    out: &mut Outcome,
) -> Result<(), Failure> {
    let r = cx.index.get(i);
    if str_at(r, "/verificationStatus/coding/0/code").is_some_and(|c| matches!(c, "entered-in-error" | "refuted")) {
        out.not_stored.add("Condition (refuted or entered in error)", 1);
        return Ok(());
    }
    let Some(visit) = cx.visit_of(i, encounters)? else {
        out.not_stored.add("Condition (not in an outpatient visit)", 1);
        return Ok(());
    };
    let id = cx.id_of(i);
    if exists(w, "diagnoses", &id).await? {
        out.unchanged += 1;
        return Ok(());
    }
    let concept = r.get("code").unwrap_or(&Value::Null);
    let words = concept_text(concept);
    let (code, text) = match code_in(concept, &ICD10_SYSTEMS) {
        Some(raw) => match icd10::lookup_in(w, raw).await? {
            Some(found) => (Some(found.code), if words.is_empty() { found.description } else { words }),
            None => (None, format!("{words} (ICD-10 {raw})").trim().to_string()),
        },
        None => (None, other_code(concept, words)),
    };
    let text = line("text", &text, 500, code.is_none()).map_err(|e| problem(r, "code", e.to_string()))?;
    let certainty = match str_at(r, "/verificationStatus/coding/0/code") {
        Some("confirmed") => Certainty::Final,
        _ => Certainty::Provisional,
    };
    let resolved = match str_at(r, "/clinicalStatus/coding/0/code") {
        Some("resolved" | "inactive" | "remission") => Some(match str_at(r, "/abatementDateTime") {
            Some(at) => instant(r, "abatementDateTime", at, cx.now)?,
            None => w.now_rfc3339(),
        }),
        _ => None,
    };
    insert_row(
        w,
        "diagnoses",
        &id,
        &[
            ("visit_id", json!(visit)),
            ("patient_id", json!(patient)),
            ("icd10", json!(code)),
            ("text", json!(text)),
            ("certainty", json!(certainty.code())),
            ("resolved_at", json!(resolved)),
        ],
    )
    .await?;
    out.created.add("diagnoses", 1);
    Ok(())
}

/// The words of a concept coded in another system, with the code kept: "Viral sinusitis
/// (http://snomed.info/sct 444814009)".
fn other_code(concept: &Value, words: String) -> String {
    let coding = concept.pointer("/coding/0");
    match (coding.and_then(|c| str_at(c, "/system")), coding.and_then(|c| str_at(c, "/code"))) {
        (Some(system), Some(code)) if !words.contains(code) => format!("{words} ({system} {code})").trim().to_string(),
        _ => words,
    }
}
