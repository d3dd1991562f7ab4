//! Observation (category `laboratory`) → a lab result, with the resulted lab order it
//! answers (the inverse of `fhir::observation`'s lab results). HMS keeps every result under
//! an order, so an imported result gets one of its own: ordered and collected when the
//! specimen was taken (`effective[x]`), resulted when the result was issued, by nobody here
//! (`ordered_by` empty: it was ordered elsewhere), with no charge and no use of the lab's
//! stock (the test was done elsewhere), in its encounter's visit when that is an outpatient
//! visit here, else without a visit (an inpatient stay's results still come in).
//!
//! - **The test**: the catalogue's test with the `urn:hms:lab-test` code (HMS's own export),
//!   else with the LOINC code, else with the same name. A test not in the catalogue is
//!   added to it, **inactive** (it holds the record; an administrator switches it on to order
//!   it here): its code HMS's code or the LOINC code when free, else `FHIR-` and 8 hex digits;
//!   its name the concept's words; its unit the value's.
//! - **The value** as the result holds it: a quantity's number (its unit with the result), a
//!   string, a concept's words, an integer or yes / no; other kinds of value (a range, a
//!   ratio, a sampled series) and no value at all are counted as not stored.
//! - **The reference range** the Observation gives (its first `referenceRange`'s low and
//!   high), not the catalogue's: the catalogue's range may be in another unit. The flag is the
//!   Observation's `interpretation` (N, L / LL / LU, H / HH / HU), else worked out from that
//!   range as a local result is.
//! - Stored when `final`, `amended` or `corrected`; preliminary and registered results are
//!   counted as not stored (a result that is not out yet).

use super::values::{code_in, concept_text, derive, instant, number, problem, str_at};
use super::{Cx, Encounters, Failure, Outcome};
use crate::clinical::{exists, insert_row, line, Abnormal};
use crate::codes::Code;
use crate::fhir::systems::{HMS_LAB_TEST, INTERPRETATION, LOINC, OBSERVATION_CATEGORY};
use crate::store::WriteTx;
use serde_json::{json, Value};

/// The note on an imported result's order.
pub const IMPORTED_NOTE: &str = "imported from FHIR: done elsewhere";

/// Whether an Observation is a lab result (its category `laboratory`).
pub fn is_lab(r: &Value) -> bool {
    r.get("category").and_then(Value::as_array).into_iter().flatten().any(|c| {
        c.get("coding").and_then(Value::as_array).into_iter().flatten().any(|x| {
            str_at(x, "/code") == Some("laboratory") && str_at(x, "/system").is_none_or(|s| s == OBSERVATION_CATEGORY)
        })
    })
}

/// A result's value as HMS keeps it: the text, its thousandths when a number, its unit.
struct Reading {
    value: String,
    milli: Option<i64>,
    unit: String,
}

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
    if !matches!(status, "final" | "amended" | "corrected") {
        out.not_stored.add(&format!("Observation (laboratory, {status})"), 1);
        return Ok(());
    }
    let Some(reading) = reading(r)? else {
        out.not_stored.add("Observation (laboratory, no value HMS holds)", 1);
        return Ok(());
    };
    let id = cx.id_of(i);
    if exists(w, "lab_results", &id).await? {
        out.unchanged += 1;
        return Ok(());
    }
    let visit = cx.visit_of(i, encounters)?;
    let effective = ["/effectiveDateTime", "/effectivePeriod/start", "/effectiveInstant"]
        .iter()
        .find_map(|p| str_at(r, p).map(|at| (&p[1..], at)));
    let issued = str_at(r, "/issued").map(|at| ("issued", at));
    let Some((element, at)) = effective.or(issued) else {
        return Err(problem(r, "effective[x]", "a lab result needs the time its specimen was taken or it was issued"));
    };
    let taken = instant(r, element.split('/').next().unwrap_or(element), at, cx.now)?;
    let resulted = match issued {
        Some((element, at)) => instant(r, element, at, cx.now)?,
        None => taken.clone(),
    };
    let test = test(w, cx, r, &reading, out).await?;
    let (low, high) = range(r)?;
    let abnormal = interpretation(r).unwrap_or_else(|| Abnormal::of(reading.milli, low, high));
    let order = derive(&format!("lab_order:{id}"));
    insert_row(
        w,
        "lab_orders",
        &order,
        &[
            ("visit_id", json!(visit)),
            ("patient_id", json!(patient)),
            ("test_id", json!(test)),
            ("status", json!("resulted")),
            ("ordered_at", json!(taken)),
            ("ordered_by", Value::Null),
            ("note", json!(IMPORTED_NOTE)),
            ("collected_at", json!(taken)),
        ],
    )
    .await?;
    insert_row(
        w,
        "lab_results",
        &id,
        &[
            ("order_id", json!(order)),
            ("patient_id", json!(patient)),
            ("test_id", json!(test)),
            ("value", json!(reading.value)),
            ("value_milli", json!(reading.milli)),
            ("unit", json!(reading.unit)),
            ("ref_low_milli", json!(low)),
            ("ref_high_milli", json!(high)),
            ("abnormal", json!(abnormal.code())),
            ("resulted_at", json!(resulted)),
        ],
    )
    .await?;
    out.created.add("lab_results", 1);
    Ok(())
}

/// The Observation's value as a result holds it (none: a kind of value HMS does not hold).
fn reading(r: &Value) -> Result<Option<Reading>, Failure> {
    let (element, value, milli, unit) = if let Some(q) = r.get("valueQuantity") {
        let Some(v) = q.get("value").and_then(Value::as_f64) else {
            return Err(problem(r, "valueQuantity.value", "no numeric value"));
        };
        let unit = str_at(q, "/unit").or_else(|| str_at(q, "/code")).unwrap_or_default();
        ("valueQuantity", number(v), thousandths(v), unit.to_string())
    } else if let Some(s) = str_at(r, "/valueString") {
        ("valueString", s.to_string(), None, String::new())
    } else if let Some(c) = r.get("valueCodeableConcept") {
        ("valueCodeableConcept", concept_text(c), None, String::new())
    } else if let Some(n) = r.get("valueInteger").and_then(Value::as_i64) {
        ("valueInteger", n.to_string(), n.checked_mul(1000), String::new())
    } else if let Some(b) = r.get("valueBoolean").and_then(Value::as_bool) {
        ("valueBoolean", if b { "yes" } else { "no" }.to_string(), None, String::new())
    } else {
        return Ok(None);
    };
    // The lab's own form's limits: a value of 60 characters, a unit of 30.
    let value = line("value", &value, 60, true).map_err(|e| problem(r, element, e.to_string()))?;
    let unit = line("unit", &unit, 30, false).map_err(|e| problem(r, &format!("{element}.unit"), e.to_string()))?;
    Ok(Some(Reading { value, milli, unit }))
}

/// A number in thousandths, as results keep numbers (none when it does not fit).
fn thousandths(v: f64) -> Option<i64> {
    let m = (v * 1000.0).round();
    (m.is_finite() && m.abs() < 9.0e15).then_some(m as i64)
}

/// The first reference range's ends, in thousandths; a low end above the high one is refused,
/// as the catalogue's form refuses it.
fn range(r: &Value) -> Result<(Option<i64>, Option<i64>), Failure> {
    let end = |which: &str| r.pointer(&format!("/referenceRange/0/{which}/value")).and_then(Value::as_f64);
    let (low, high) = (end("low").and_then(thousandths), end("high").and_then(thousandths));
    if let (Some(l), Some(h)) = (low, high) {
        if l > h {
            return Err(problem(r, "referenceRange.high", "the upper limit is below the lower one"));
        }
    }
    Ok((low, high))
}

/// The flag the Observation gives, if any.
fn interpretation(r: &Value) -> Option<Abnormal> {
    let concepts = r.get("interpretation").and_then(Value::as_array)?;
    concepts.iter().find_map(|c| match code_in(c, &[INTERPRETATION])? {
        "N" => Some(Abnormal::Normal),
        "L" | "LL" | "LU" | "<" => Some(Abnormal::Low),
        "H" | "HH" | "HU" | ">" => Some(Abnormal::High),
        _ => None,
    })
}

/// The catalogue's test for the Observation's code, else one added (inactive): its id.
async fn test(
    w: &mut WriteTx<'_>,
    cx: &Cx<'_>,
    r: &Value,
    reading: &Reading,
    out: &mut Outcome,
) -> Result<String, Failure> {
    let concept = r.get("code").unwrap_or(&Value::Null);
    let hms_code = code_in(concept, &[HMS_LAB_TEST]).map(str::to_uppercase);
    let loinc = code_in(concept, &[LOINC]).unwrap_or_default();
    let name = concept_text(concept);
    // Active tests first: a retired duplicate should not take an imported result.
    let found: Option<String> = sqlx::query_scalar(
        "SELECT id FROM lab_tests WHERE deleted_at IS NULL
           AND (code = ?1 COLLATE NOCASE OR (?2 <> '' AND loinc = ?2) OR lower(name) = lower(?3))
         ORDER BY code = ?1 COLLATE NOCASE DESC, (?2 <> '' AND loinc = ?2) DESC, active DESC, created_at LIMIT 1",
    )
    .bind(hms_code.as_deref().unwrap_or_default())
    .bind(loinc)
    .bind(&name)
    .fetch_optional(w.conn())
    .await?;
    if let Some(id) = found {
        return Ok(id);
    }
    let key = hms_code.clone().or_else(|| (!loinc.is_empty()).then(|| format!("loinc:{loinc}")));
    let id = derive(&format!("lab_test:{}", key.unwrap_or_else(|| name.to_lowercase())));
    if sqlx::query_scalar::<_, bool>("SELECT COUNT(*) > 0 FROM lab_tests WHERE id = ?")
        .bind(&id)
        .fetch_one(w.conn())
        .await?
    {
        return Err(problem(r, "code", format!("{name} was removed from the lab catalogue here")));
    }
    let name = line("name", &name, 120, true).map_err(|e| problem(r, "code", e.to_string()))?;
    let code = free_code(w, &id, [hms_code.as_deref(), Some(loinc)]).await?;
    insert_row(
        w,
        "lab_tests",
        &id,
        &[
            ("code", json!(code)),
            ("name", json!(name)),
            ("unit", json!(reading.unit)),
            ("loinc", json!(loinc)),
            ("active", json!(false)),
        ],
    )
    .await?;
    out.added_once(cx, "lab_tests", &id);
    Ok(id)
}

/// The first of the candidate codes that fits (at most 20 characters) and no test here has,
/// else `FHIR-` and the id's first 8 hex digits.
async fn free_code(w: &mut WriteTx<'_>, id: &str, candidates: [Option<&str>; 2]) -> Result<String, Failure> {
    for code in candidates.into_iter().flatten().map(str::to_uppercase) {
        if code.is_empty() || code.chars().count() > 20 || code.chars().any(char::is_whitespace) {
            continue;
        }
        let taken: bool = sqlx::query_scalar(
            "SELECT COUNT(*) > 0 FROM lab_tests WHERE code = ? COLLATE NOCASE AND deleted_at IS NULL",
        )
        .bind(&code)
        .fetch_one(w.conn())
        .await?;
        if !taken {
            return Ok(code);
        }
    }
    Ok(format!("FHIR-{}", id.chars().take(8).collect::<String>().to_uppercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lab_observation_is_known_by_its_category() {
        let lab = json!({ "category": [{ "coding": [{ "system": OBSERVATION_CATEGORY, "code": "laboratory" }] }] });
        assert!(is_lab(&lab));
        let vital = json!({ "category": [{ "coding": [{ "system": OBSERVATION_CATEGORY, "code": "vital-signs" }] }] });
        assert!(!is_lab(&vital));
        let other = json!({ "category": [{ "coding": [{ "system": "urn:local", "code": "laboratory" }] }] });
        assert!(!is_lab(&other), "another system's 'laboratory' is not R4's category");
    }

    #[test]
    fn values_read_as_a_result_holds_them() {
        let q = json!({ "valueQuantity": { "value": 11.2, "unit": "g/dL" } });
        let got = reading(&q).ok().flatten().map(|x| (x.value, x.milli, x.unit));
        assert_eq!(got, Some(("11.2".into(), Some(11_200), "g/dL".into())));
        let c = json!({ "valueCodeableConcept": { "coding": [{ "display": "Positive" }] } });
        assert_eq!(reading(&c).ok().flatten().map(|x| x.value), Some("Positive".into()));
        let b = json!({ "valueBoolean": false });
        assert_eq!(reading(&b).ok().flatten().map(|x| x.value), Some("no".into()));
        assert!(matches!(reading(&json!({ "valueRatio": {} })), Ok(None)));
        assert!(matches!(reading(&json!({ "valueString": "x".repeat(61) })), Err(Failure::Problem(_))));
    }

    #[test]
    fn the_flag_is_the_observations_own_first() {
        let h = |code: &str| json!({ "interpretation": [{ "coding": [{ "system": INTERPRETATION, "code": code }] }] });
        assert_eq!(interpretation(&h("HH")), Some(Abnormal::High));
        assert_eq!(interpretation(&h("L")), Some(Abnormal::Low));
        assert_eq!(interpretation(&h("N")), Some(Abnormal::Normal));
        assert_eq!(interpretation(&h("A")), None, "abnormal, no side: worked out from the range");
        let r = json!({ "referenceRange": [{ "low": { "value": 13 }, "high": { "value": 17.5 } }] });
        assert!(matches!(range(&r), Ok((Some(13_000), Some(17_500)))));
        let upside_down = json!({ "referenceRange": [{ "low": { "value": 17.5 }, "high": { "value": 13 } }] });
        assert!(matches!(range(&upside_down), Err(Failure::Problem(_))));
    }
}
