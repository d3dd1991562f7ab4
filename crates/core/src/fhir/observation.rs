//! Observation: vital signs (one Observation per measurement, as the FHIR vital-signs profile
//! asks: LOINC code, UCUM unit, category `vital-signs`; blood pressure as the 85354-9 panel
//! with systolic and diastolic components) and lab results (the test's LOINC code and HMS's
//! own code, the value, the reference range in force and the interpretation).

use super::context::Ctx;
use super::source::{decimal, derived_id, int, opt, prune, text, Source};
use super::systems::{HMS_LAB_TEST, INTERPRETATION, LOINC, OBSERVATION_CATEGORY, UCUM, VITAL_SIGNS_PROFILE};
use crate::error::Result;
use serde_json::{json, Value};
use sqlx::sqlite::SqliteRow;

pub static VITALS: Source = Source {
    table: "vitals",
    select: "SELECT t.id, t.patient_id, t.visit_id, t.taken_at, t.temperature_c_x10, t.pulse, t.bp_systolic,
        t.bp_diastolic, t.resp_rate, t.spo2, t.weight_g, t.height_mm, t.pain FROM vitals t",
    by_patient: Some("t.patient_id = ?1"),
    map: vitals,
};

pub static LAB_RESULTS: Source = Source {
    table: "lab_results",
    select: "SELECT t.id, t.patient_id, t.value, t.value_milli, t.unit, t.ref_low_milli, t.ref_high_milli,
        t.abnormal, t.resulted_at, lt.code, lt.name, lt.loinc, o.visit_id, o.collected_at, o.id AS order_id
        FROM lab_results t JOIN lab_tests lt ON lt.id = t.test_id JOIN lab_orders o ON o.id = t.order_id",
    by_patient: Some("t.patient_id = ?1"),
    map: lab_result,
};

/// One vital sign: its column, LOINC code and name, UCUM unit, and the stored value's scale.
struct Vital {
    column: &'static str,
    loinc: &'static str,
    name: &'static str,
    ucum: &'static str,
    unit: &'static str,
    scale: u32,
}

const VITALS_MEASURED: &[Vital] = &[
    Vital { column: "temperature_c_x10", loinc: "8310-5", name: "Body temperature", ucum: "Cel", unit: "C", scale: 1 },
    Vital { column: "pulse", loinc: "8867-4", name: "Heart rate", ucum: "/min", unit: "beats/minute", scale: 0 },
    Vital {
        column: "resp_rate",
        loinc: "9279-1",
        name: "Respiratory rate",
        ucum: "/min",
        unit: "breaths/minute",
        scale: 0,
    },
    Vital {
        column: "spo2",
        loinc: "2708-6",
        name: "Oxygen saturation in Arterial blood",
        ucum: "%",
        unit: "%",
        scale: 0,
    },
    Vital { column: "weight_g", loinc: "29463-7", name: "Body weight", ucum: "kg", unit: "kg", scale: 3 },
    Vital { column: "height_mm", loinc: "8302-2", name: "Body height", ucum: "cm", unit: "cm", scale: 1 },
];

fn quantity(value: Value, unit: &str, ucum: &str) -> Value {
    json!({ "value": value, "unit": unit, "system": UCUM, "code": ucum })
}

fn concept(system: &str, code: &str, display: &str) -> Value {
    json!({ "coding": [{ "system": system, "code": code, "display": display }], "text": display })
}

fn category(code: &str, display: &str) -> Value {
    json!([{ "coding": [{ "system": OBSERVATION_CATEGORY, "code": code, "display": display }] }])
}

/// The parts every vital-sign Observation of a row shares.
fn vital_base(row: &SqliteRow, cx: &Ctx<'_>, id: String, code: Value) -> Result<Value> {
    Ok(json!({
        "resourceType": "Observation",
        "id": id,
        "meta": { "profile": [VITAL_SIGNS_PROFILE] },
        "status": "final",
        "category": category("vital-signs", "Vital Signs"),
        "code": code,
        "subject": cx.reference("Patient", &text(row, "patient_id")?),
        "encounter": opt(row, "visit_id")?.map(|v| cx.reference("Encounter", &v)),
        "effectiveDateTime": text(row, "taken_at")?,
    }))
}

fn vitals(row: &SqliteRow, cx: &Ctx<'_>) -> Result<Vec<Value>> {
    let id = text(row, "id")?;
    let mut out = Vec::new();
    for (tag, v) in VITALS_MEASURED.iter().enumerate() {
        let Some(value) = int(row, v.column)? else { continue };
        let mut o = vital_base(row, cx, derived_id(&id, tag as u8)?, concept(LOINC, v.loinc, v.name))?;
        o["valueQuantity"] = quantity(decimal(value, v.scale), v.unit, v.ucum);
        out.push(prune(o));
    }
    if let (Some(sys), Some(dia)) = (int(row, "bp_systolic")?, int(row, "bp_diastolic")?) {
        let tag = VITALS_MEASURED.len() as u8;
        let panel = concept(LOINC, "85354-9", "Blood pressure panel with all children optional");
        let mut o = vital_base(row, cx, derived_id(&id, tag)?, panel)?;
        o["component"] = json!([
            { "code": concept(LOINC, "8480-6", "Systolic blood pressure"), "valueQuantity": quantity(json!(sys), "mmHg", "mm[Hg]") },
            { "code": concept(LOINC, "8462-4", "Diastolic blood pressure"), "valueQuantity": quantity(json!(dia), "mmHg", "mm[Hg]") },
        ]);
        out.push(prune(o));
    }
    if let Some(pain) = int(row, "pain")? {
        // Not a vital sign of the profile: a survey answer on a 0-10 scale.
        let tag = VITALS_MEASURED.len() as u8 + 1;
        let code = concept(LOINC, "72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported");
        let mut o = vital_base(row, cx, derived_id(&id, tag)?, code)?;
        o["meta"] = Value::Null;
        o["category"] = category("survey", "Survey");
        o["valueInteger"] = json!(pain);
        out.push(prune(o));
    }
    Ok(out)
}

/// HMS's abnormal flag as a v3 ObservationInterpretation code.
fn interpretation(abnormal: &str) -> Option<Value> {
    let (code, display) = match abnormal {
        "normal" => ("N", "Normal"),
        "low" => ("L", "Low"),
        "high" => ("H", "High"),
        _ => return None,
    };
    Some(json!([concept(INTERPRETATION, code, display)]))
}

fn lab_result(row: &SqliteRow, cx: &Ctx<'_>) -> Result<Vec<Value>> {
    let name = text(row, "name")?;
    let mut coding = Vec::new();
    if let Some(loinc) = opt(row, "loinc")? {
        coding.push(json!({ "system": LOINC, "code": loinc, "display": name }));
    }
    coding.push(json!({ "system": HMS_LAB_TEST, "code": text(row, "code")?, "display": name }));
    let unit = opt(row, "unit")?;
    let amount = |milli: Option<i64>| milli.map(|m| json!({ "value": decimal(m, 3), "unit": unit }));
    let (value_quantity, value_string) = match int(row, "value_milli")? {
        Some(m) => (amount(Some(m)), None),
        None => (None, Some(text(row, "value")?)),
    };
    let range = json!([{ "low": amount(int(row, "ref_low_milli")?), "high": amount(int(row, "ref_high_milli")?) }]);
    Ok(vec![prune(json!({
        "resourceType": "Observation",
        "id": text(row, "id")?,
        "status": "final",
        "category": category("laboratory", "Laboratory"),
        "code": { "coding": coding, "text": name },
        "subject": cx.reference("Patient", &text(row, "patient_id")?),
        "encounter": opt(row, "visit_id")?.map(|v| cx.reference("Encounter", &v)),
        "effectiveDateTime": opt(row, "collected_at")?.unwrap_or(text(row, "resulted_at")?),
        "issued": text(row, "resulted_at")?,
        "valueQuantity": value_quantity,
        "valueString": value_string,
        "interpretation": interpretation(&text(row, "abnormal")?),
        "referenceRange": range,
    }))])
}
