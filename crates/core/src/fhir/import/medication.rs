//! MedicationRequest → a prescription of its encounter's visit (the inverse of
//! `fhir::medication`). Orders (`intent` order or a kind of order) that are active,
//! completed or stopped are stored; drafts, plans, proposals, cancelled or on-hold requests
//! are counted as not stored, as is one with no outpatient encounter here (HMS prescribes
//! within a visit).
//!
//! - **The medicine**: the words of `medicationCodeableConcept` (or of the Medication that
//!   `medicationReference` names) — its text, else its coding's display. A medicine on the
//!   list whose name (with strength and form) reads the same is used, else one is added to
//!   the list, split into name, strength and form ("Amoxicillin 500 mg capsule") as the
//!   Prescribe dialog's "add a medicine" would, its ingredients read from its name for the
//!   allergy check. HMS has no drug codes: a coding (RxNorm, SNOMED CT...) is kept as text in
//!   the instructions ("RxNorm 834061").
//! - **The dose**: `doseAndRate.doseQuantity` → dose and unit (no unit: "dose"); `route` →
//!   route; `timing.code`, else `timing.repeat` ("2 times a day") → frequency;
//!   `dispenseRequest.expectedSupplyDuration` (days or weeks) → duration; the validity
//!   period's start (else `authoredOn`) → the first day. What does not fit those fields
//!   (no dose quantity, "as needed", additional instructions) is kept in the instructions,
//!   with the `patientInstruction`. The checks are the Prescribe dialog's.
//! - **The allergy check** runs as for a local prescription. A match does not refuse the
//!   patient: the prescription was written elsewhere, it is history, and refusing would lose
//!   the patient's whole record. It is stored with the warnings found and the override
//!   reason [`IMPORTED_OVERRIDE`], so the chart shows the flag as on an overridden one.
//! - **Stopped**: stopped when imported (FHIR R4 does not say when), its `statusReason` as
//!   the reason. **Completed** with no duration: ended on its validity period's end, else its
//!   first day, so it is not among the current medicines.

use super::group::ty;
use super::values::{concept_text, instant, number, problem, str_at};
use super::{Cx, Encounters, Failure, Outcome};
use crate::clinical::prescribing::{self, ingredient_ids};
use crate::clinical::{exists, insert_row, line, PrescriptionInput};
use crate::error::Error;
use crate::store::WriteTx;
use serde_json::{json, Value};

/// The override reason stored with an imported prescription that raised warnings.
pub const IMPORTED_OVERRIDE: &str = "imported from FHIR: prescribed elsewhere";

/// Intents that are orders (R4's `medicationrequest-intent`).
const ORDERS: [&str; 5] = ["order", "original-order", "reflex-order", "filler-order", "instance-order"];

pub async fn write(
    w: &mut WriteTx<'_>,
    cx: &Cx<'_>,
    i: usize,
    patient: &str,
    encounters: &Encounters,
    out: &mut Outcome,
) -> Result<(), Failure> {
    let r = cx.index.get(i);
    let status = str_at(r, "/status").unwrap_or("unknown");
    let intent = str_at(r, "/intent").unwrap_or("unknown");
    if !ORDERS.contains(&intent) {
        out.not_stored.add(&format!("MedicationRequest (intent {intent})"), 1);
        return Ok(());
    }
    if !matches!(status, "active" | "completed" | "stopped") {
        out.not_stored.add(&format!("MedicationRequest ({status})"), 1);
        return Ok(());
    }
    let Some(visit) = cx.visit_of(i, encounters)? else {
        out.not_stored.add("MedicationRequest (not in an outpatient visit)", 1);
        return Ok(());
    };
    let id = cx.id_of(i);
    if exists(w, "prescriptions", &id).await? {
        out.unchanged += 1;
        return Ok(());
    }
    let (text, codes) = medicine_words(cx, r)?;
    let (medicine, name) = medicine(w, cx, r, &text, out).await?;
    let dosage = r.pointer("/dosageInstruction/0").unwrap_or(&Value::Null);
    let (dose, dose_unit, dose_fits) = dose(dosage);
    let input = PrescriptionInput {
        medicine_id: medicine.clone(),
        dose,
        dose_unit,
        route: dosage.get("route").map(concept_text).unwrap_or_default(),
        frequency: frequency(dosage),
        duration_days: duration(r)?,
        instructions: instructions(r, dosage, dose_fits, &codes),
        override_reason: None,
    };
    let f = prescribing::rx_fields(&input).map_err(|e| field_problem(r, e))?;
    let starts_on = first_day(cx, r)?;
    let ends_on = match (status, prescribing::ends_on(&starts_on, input.duration_days)) {
        (_, Some(end)) => Some(end),
        ("completed", None) => Some(validity_end(r).unwrap_or_else(|| starts_on.clone())),
        _ => None,
    };
    let today = cx.today.format("%Y-%m-%d").to_string();
    let found = prescribing::warnings(w, patient, &medicine, &name, &today, None).await?;
    let reason = (!found.is_empty()).then_some(IMPORTED_OVERRIDE);
    let (stopped_at, stop_reason) = match status {
        "stopped" => {
            let why = r.get("statusReason").map(concept_text).filter(|t| !t.is_empty());
            let why = why.unwrap_or_else(|| "stopped in the system it was imported from".into());
            let why = line("stop_reason", &why, prescribing::STOP_REASON_MAX, true)
                .map_err(|e| problem(r, "statusReason", e.to_string()))?;
            (Some(w.now_rfc3339()), why)
        }
        _ => (None, String::new()),
    };
    insert_row(
        w,
        "prescriptions",
        &id,
        &[
            ("visit_id", json!(visit)),
            ("patient_id", json!(patient)),
            ("medicine_id", json!(medicine)),
            ("dose", json!(f.dose)),
            ("dose_unit", json!(f.dose_unit)),
            ("route", json!(f.route)),
            ("frequency", json!(f.frequency)),
            ("duration_days", json!(input.duration_days)),
            ("instructions", json!(f.instructions)),
            ("override_reason", json!(reason)),
            ("warnings", json!(serde_json::to_string(&found).map_err(Error::from)?)),
            ("starts_on", json!(starts_on)),
            ("ends_on", json!(ends_on)),
            ("stopped_at", json!(stopped_at)),
            ("stop_reason", json!(stop_reason)),
        ],
    )
    .await?;
    out.created.add("prescriptions", 1);
    Ok(())
}

/// A prescription field refused by the Prescribe dialog's checks, named as the FHIR element
/// it came from.
fn field_problem(r: &Value, e: Error) -> Failure {
    let element = match &e {
        Error::Validation { field, .. } => match field.as_str() {
            "dose" | "dose_unit" => "dosageInstruction.doseAndRate.doseQuantity",
            "route" => "dosageInstruction.route",
            "frequency" => "dosageInstruction.timing",
            "duration_days" => "dispenseRequest.expectedSupplyDuration",
            _ => "dosageInstruction.patientInstruction",
        },
        _ => "dosageInstruction",
    };
    problem(r, element, e.to_string())
}

/// The medicine's words and its codes as text ("RxNorm 834061").
fn medicine_words(cx: &Cx<'_>, r: &Value) -> Result<(String, Vec<String>), Failure> {
    let concept = match (r.get("medicationCodeableConcept"), str_at(r, "/medicationReference/reference")) {
        (Some(c), _) => c,
        (None, Some(reference)) => match cx.index.resolve(reference).map(|j| cx.index.get(j)) {
            Some(m) if ty(m) == "Medication" => m.get("code").unwrap_or(&Value::Null),
            _ => {
                let message = format!("the reference {reference} is not a Medication in the file(s)");
                return Err(problem(r, "medicationReference", message));
            }
        },
        (None, None) => return Err(problem(r, "medication[x]", "a prescription needs its medicine")),
    };
    let text = concept_text(concept);
    let codes = concept
        .get("coding")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| Some(format!("{} {}", system_name(str_at(c, "/system")?), str_at(c, "/code")?)))
        .filter(|code| !text.contains(code.as_str()))
        .collect();
    Ok((text, codes))
}

/// A code system as a person names it.
fn system_name(system: &str) -> &str {
    match system {
        "http://www.nlm.nih.gov/research/umls/rxnorm" => "RxNorm",
        "http://snomed.info/sct" => "SNOMED CT",
        "http://hl7.org/fhir/sid/ndc" => "NDC",
        "http://www.whocc.no/atc" => "ATC",
        other => other,
    }
}

/// The medicine on the list that reads as `text`, else a new one added to the list: its id
/// and name. A new medicine's id is derived from its words, so a preview counts it once
/// however many patients take it.
async fn medicine(
    w: &mut WriteTx<'_>,
    cx: &Cx<'_>,
    r: &Value,
    text: &str,
    out: &mut Outcome,
) -> Result<(String, String), Failure> {
    let text = line("medicine", text, 200, true).map_err(|e| problem(r, "medicationCodeableConcept", e.to_string()))?;
    // A medicine taken off the active list still matches: the records are of the past.
    let found: Option<(String, String)> = sqlx::query_as(
        "SELECT id, name FROM medicines WHERE deleted_at IS NULL AND lower(?1) IN (lower(name),
           lower(trim(name || ' ' || strength || ' ' || form)), lower(name || ' ' || strength), lower(name || ' ' || form))
         ORDER BY active DESC, created_at LIMIT 1",
    )
    .bind(&text)
    .fetch_optional(w.conn())
    .await?;
    if let Some(found) = found {
        return Ok(found);
    }
    let id = super::values::derive(&format!("medicine:{}", text.to_lowercase()));
    if exists(w, "medicines", &id).await? {
        let message = format!("{text} was removed from the medicine list here");
        return Err(problem(r, "medicationCodeableConcept", message));
    }
    let (name, strength, form) = split_medicine(&text);
    let ingredients = ingredient_ids(&[], &name)?;
    insert_row(
        w,
        "medicines",
        &id,
        &[
            ("name", json!(name)),
            ("strength", json!(strength)),
            ("form", json!(form)),
            ("active", json!(true)),
            ("ingredients", json!(serde_json::to_string(&ingredients).map_err(Error::from)?)),
        ],
    )
    .await?;
    out.added_once(cx, "medicines", &id);
    Ok((id, name))
}

/// Units a strength is written in ("500 mg", "250 MG", "125 mg/5 ml").
const STRENGTH_UNITS: [&str; 10] = ["mg", "g", "mcg", "µg", "ug", "ml", "%", "iu", "unit", "units"];

/// "Amoxicillin 500 mg capsule" → ("Amoxicillin", "500 mg", "capsule"): the name before the
/// first number, the number with its unit, the rest as the form (lower case, as the list
/// keeps forms). Words that do not read that way stay the name whole.
pub(crate) fn split_medicine(text: &str) -> (String, String, String) {
    let words: Vec<&str> = text.split_whitespace().collect();
    let whole = (text.to_string(), String::new(), String::new());
    let Some(k) = words.iter().position(|w| w.starts_with(|c: char| c.is_ascii_digit())) else { return whole };
    if k == 0 {
        return whole;
    }
    let is_unit = |w: &str| {
        let lower = w.to_lowercase();
        let head = lower.split('/').next().unwrap_or_default().to_string();
        STRENGTH_UNITS.contains(&head.as_str())
    };
    let number_only = words[k].chars().all(|c| c.is_ascii_digit() || c == '.' || c == ',');
    let end = match words.get(k + 1) {
        Some(next) if number_only && is_unit(next) => k + 2,
        _ if !number_only => k + 1,
        _ => return whole,
    };
    let (name, strength, form) = (words[..k].join(" "), words[k..end].join(" "), words[end..].join(" ").to_lowercase());
    if name.chars().count() > 120 || strength.chars().count() > 60 || form.chars().count() > 40 {
        return whole;
    }
    (name, strength, form)
}

/// The dose and its unit from `doseQuantity`, and whether it was there ("as directed" when
/// not: the dosage's words go to the instructions).
fn dose(dosage: &Value) -> (String, String, bool) {
    let q = dosage.pointer("/doseAndRate/0/doseQuantity");
    match q.and_then(|q| q.get("value")).and_then(Value::as_f64) {
        Some(v) => {
            let unit = q.and_then(|q| str_at(q, "/unit").or_else(|| str_at(q, "/code"))).unwrap_or("dose");
            (number(v), unit.to_string(), true)
        }
        None => ("as directed".into(), "(see instructions)".into(), false),
    }
}

/// `timing.code`'s words, else `timing.repeat` as "2 times a day" / "1 time every 8 h".
fn frequency(dosage: &Value) -> String {
    if let Some(code) = dosage.pointer("/timing/code") {
        let words = concept_text(code);
        if !words.is_empty() {
            return words;
        }
    }
    let Some(repeat) = dosage.pointer("/timing/repeat") else { return String::new() };
    let (Some(times), Some(period)) =
        (repeat.get("frequency").and_then(Value::as_u64), repeat.get("period").and_then(Value::as_f64))
    else {
        return String::new();
    };
    let unit = match str_at(repeat, "/periodUnit").unwrap_or("d") {
        "s" => "second",
        "min" => "minute",
        "h" => "hour",
        "d" => "day",
        "wk" => "week",
        "mo" => "month",
        _ => "year",
    };
    let times = if times == 1 { "1 time".to_string() } else { format!("{times} times") };
    if period == 1.0 {
        format!("{times} a {unit}")
    } else {
        format!("{times} every {} {unit}s", number(period))
    }
}

/// `expectedSupplyDuration` in days (a duration in weeks is 7 days each); a value HMS cannot
/// hold as days is a problem.
fn duration(r: &Value) -> Result<Option<i32>, Failure> {
    let Some(d) = r.pointer("/dispenseRequest/expectedSupplyDuration") else { return Ok(None) };
    let Some(value) = d.get("value").and_then(Value::as_f64) else { return Ok(None) };
    let per = match str_at(d, "/code").or_else(|| str_at(d, "/unit")) {
        Some("d" | "day" | "days") => 1.0,
        Some("wk" | "week" | "weeks") => 7.0,
        other => {
            let message = format!("a supply duration in {} cannot be held as days", other.unwrap_or("no unit"));
            return Err(problem(r, "dispenseRequest.expectedSupplyDuration", message));
        }
    };
    let days = value * per;
    if days.fract() != 0.0 || !(1.0..=3_650.0).contains(&days) {
        let message = format!("{} days: 1 to 3,650 whole days", number(days));
        return Err(problem(r, "dispenseRequest.expectedSupplyDuration", message));
    }
    Ok(Some(days as i32))
}

/// The patient's instruction, with what the dose fields could not hold.
fn instructions(r: &Value, dosage: &Value, dose_fits: bool, codes: &[String]) -> String {
    let mut parts: Vec<String> = Vec::new();
    parts.extend(str_at(dosage, "/patientInstruction").map(String::from));
    if !dose_fits {
        parts.extend(str_at(dosage, "/text").map(String::from));
    }
    if dosage.get("asNeededBoolean") == Some(&Value::Bool(true)) {
        parts.push("as needed".into());
    }
    if let Some(c) = dosage.get("asNeededCodeableConcept") {
        parts.push(format!("as needed for {}", concept_text(c)));
    }
    let extra = dosage.get("additionalInstruction").and_then(Value::as_array).into_iter().flatten();
    parts.extend(extra.map(concept_text).filter(|t| !t.is_empty()));
    parts.extend(
        r.get("note")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|n| str_at(n, "/text").map(String::from)),
    );
    parts.extend(codes.iter().cloned());
    parts.join("; ")
}

/// The first day: the validity period's start, else the day it was written (a day HMS has
/// no time for: as written, in the clinic's calendar as the source gave it).
fn first_day(cx: &Cx<'_>, r: &Value) -> Result<String, Failure> {
    let (element, raw) = match (str_at(r, "/dispenseRequest/validityPeriod/start"), str_at(r, "/authoredOn")) {
        (Some(start), _) => ("dispenseRequest.validityPeriod.start", start),
        (None, Some(at)) => ("authoredOn", at),
        (None, None) => return Ok(cx.today.format("%Y-%m-%d").to_string()),
    };
    // Checked as a date of the past (or today) like any other; its day is kept as written.
    instant(r, element, raw, cx.now + chrono::Duration::days(1))?;
    Ok(raw.chars().take(10).collect())
}

fn validity_end(r: &Value) -> Option<String> {
    str_at(r, "/dispenseRequest/validityPeriod/end").map(|e| e.chars().take(10).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_medicines_words_split_into_name_strength_and_form() {
        let s = |t: &str| split_medicine(t);
        assert_eq!(s("Amoxicillin 500 mg capsule"), ("Amoxicillin".into(), "500 mg".into(), "capsule".into()));
        assert_eq!(
            s("Penicillin V Potassium 250 MG Oral Tablet"),
            ("Penicillin V Potassium".into(), "250 MG".into(), "oral tablet".into())
        );
        assert_eq!(s("Paracetamol 125mg/5ml syrup"), ("Paracetamol".into(), "125mg/5ml".into(), "syrup".into()));
        assert_eq!(s("Insulin glargine"), ("Insulin glargine".into(), String::new(), String::new()));
        assert_eq!(s("Vitamin B12 injection").0, "Vitamin B12 injection", "a number that is no strength");
        assert_eq!(s("Drug 12 tablets").0, "Drug 12 tablets");
    }

    #[test]
    fn a_timing_reads_as_a_frequency() {
        let d = json!({ "timing": { "repeat": { "frequency": 2, "period": 1, "periodUnit": "d" } } });
        assert_eq!(frequency(&d), "2 times a day");
        let d = json!({ "timing": { "repeat": { "frequency": 1, "period": 8, "periodUnit": "h" } } });
        assert_eq!(frequency(&d), "1 time every 8 hours");
        let d = json!({ "timing": { "code": { "text": "1-0-1" }, "repeat": { "frequency": 2, "period": 1 } } });
        assert_eq!(frequency(&d), "1-0-1");
        assert_eq!(frequency(&json!({})), "");
    }
}
