//! Observation: vital signs (one Observation per measurement, as the FHIR vital-signs profile
//! asks: LOINC code, UCUM unit, category `vital-signs`; blood pressure as the 85354-9 panel
//! with systolic and diastolic components) and lab results (the test's LOINC code and HMS's
//! own code, the value, the reference range in force and the interpretation).

use super::context::Ctx;
use super::model::{decimal, is_empty, Coding, Concept, Meta, Quantity, Reference};
use super::source::{derived_id, int, opt_ref, text_ref, Emit, Source};
use super::systems::{HMS_LAB_TEST, INTERPRETATION, LOINC, OBSERVATION_CATEGORY, VITAL_SIGNS_PROFILE};
use crate::error::Result;
use serde::Serialize;
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Observation<'a> {
    resource_type: &'static str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    meta: Option<Meta<'a>>,
    status: &'static str,
    category: [Concept<'a>; 1],
    code: Concept<'a>,
    subject: Reference<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    encounter: Option<Reference<'a>>,
    effective_date_time: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    issued: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_quantity: Option<Quantity<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_string: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_integer: Option<i64>,
    #[serde(skip_serializing_if = "is_empty")]
    interpretation: Vec<Concept<'a>>,
    #[serde(skip_serializing_if = "is_empty")]
    reference_range: Vec<Range<'a>>,
    #[serde(skip_serializing_if = "is_empty")]
    component: Vec<Component<'a>>,
}

#[derive(Serialize)]
struct Range<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    low: Option<Quantity<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    high: Option<Quantity<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Component<'a> {
    code: Concept<'a>,
    value_quantity: Quantity<'a>,
}

fn category(code: &'static str, display: &'static str) -> [Concept<'static>; 1] {
    [Concept::code_only(OBSERVATION_CATEGORY, code, Some(display))]
}

/// The parts every vital-sign Observation of a row shares.
fn vital_base<'a>(row: &'a SqliteRow, cx: &Ctx<'_>, id: &'a str, code: Concept<'a>) -> Result<Observation<'a>> {
    Ok(Observation {
        resource_type: "Observation",
        id,
        meta: Some(Meta { profile: [VITAL_SIGNS_PROFILE] }),
        status: "final",
        category: category("vital-signs", "Vital Signs"),
        code,
        subject: Reference::to(cx, "Patient", text_ref(row, "patient_id")?),
        encounter: opt_ref(row, "visit_id")?.map(|v| Reference::to(cx, "Encounter", v)),
        effective_date_time: text_ref(row, "taken_at")?,
        issued: None,
        value_quantity: None,
        value_string: None,
        value_integer: None,
        interpretation: Vec::new(),
        reference_range: Vec::new(),
        component: Vec::new(),
    })
}

fn vitals(row: &SqliteRow, cx: &Ctx<'_>, out: &mut Emit<'_>) -> Result<()> {
    let id = text_ref(row, "id")?;
    for (tag, v) in VITALS_MEASURED.iter().enumerate() {
        let Some(value) = int(row, v.column)? else { continue };
        let Some(value) = decimal(value, v.scale) else { continue };
        let oid = derived_id(id, tag as u8)?;
        let mut o = vital_base(row, cx, &oid, Concept::coded(LOINC, v.loinc, v.name))?;
        o.value_quantity = Some(Quantity::ucum(value, v.unit, v.ucum));
        out.put("Observation", &oid, &o)?;
    }
    if let (Some(sys), Some(dia)) = (int(row, "bp_systolic")?, int(row, "bp_diastolic")?) {
        let oid = derived_id(id, VITALS_MEASURED.len() as u8)?;
        let panel = Concept::coded(LOINC, "85354-9", "Blood pressure panel with all children optional");
        let mut o = vital_base(row, cx, &oid, panel)?;
        o.component = vec![
            Component {
                code: Concept::coded(LOINC, "8480-6", "Systolic blood pressure"),
                value_quantity: Quantity::ucum(sys.into(), "mmHg", "mm[Hg]"),
            },
            Component {
                code: Concept::coded(LOINC, "8462-4", "Diastolic blood pressure"),
                value_quantity: Quantity::ucum(dia.into(), "mmHg", "mm[Hg]"),
            },
        ];
        out.put("Observation", &oid, &o)?;
    }
    if let Some(pain) = int(row, "pain")? {
        // Not a vital sign of the profile: a survey answer on a 0-10 scale.
        let oid = derived_id(id, VITALS_MEASURED.len() as u8 + 1)?;
        let code = Concept::coded(LOINC, "72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported");
        let mut o = vital_base(row, cx, &oid, code)?;
        o.meta = None;
        o.category = category("survey", "Survey");
        o.value_integer = Some(pain);
        out.put("Observation", &oid, &o)?;
    }
    Ok(())
}

/// HMS's abnormal flag as a v3 ObservationInterpretation code.
fn interpretation(abnormal: &str) -> Vec<Concept<'static>> {
    let (code, display) = match abnormal {
        "normal" => ("N", "Normal"),
        "low" => ("L", "Low"),
        "high" => ("H", "High"),
        _ => return Vec::new(),
    };
    vec![Concept::coded(INTERPRETATION, code, display)]
}

fn lab_result(row: &SqliteRow, cx: &Ctx<'_>, out: &mut Emit<'_>) -> Result<()> {
    let name = text_ref(row, "name")?;
    let mut coding = Vec::with_capacity(2);
    if let Some(loinc) = opt_ref(row, "loinc")? {
        coding.push(Coding { system: LOINC, code: loinc, display: Some(name) });
    }
    coding.push(Coding { system: HMS_LAB_TEST, code: text_ref(row, "code")?, display: Some(name) });
    let unit = opt_ref(row, "unit")?;
    let amount = |milli: Option<i64>| milli.and_then(|m| decimal(m, 3)).map(|v| Quantity::plain(v, unit));
    let (value_quantity, value_string) = match int(row, "value_milli")? {
        Some(m) => (amount(Some(m)), None),
        None => (None, opt_ref(row, "value")?),
    };
    let range = Range { low: amount(int(row, "ref_low_milli")?), high: amount(int(row, "ref_high_milli")?) };
    let resulted = text_ref(row, "resulted_at")?;
    let id = text_ref(row, "id")?;
    let o = Observation {
        resource_type: "Observation",
        id,
        meta: None,
        status: "final",
        category: category("laboratory", "Laboratory"),
        code: Concept { coding, text: Some(name) },
        subject: Reference::to(cx, "Patient", text_ref(row, "patient_id")?),
        encounter: opt_ref(row, "visit_id")?.map(|v| Reference::to(cx, "Encounter", v)),
        effective_date_time: opt_ref(row, "collected_at")?.unwrap_or(resulted),
        issued: Some(resulted),
        value_quantity,
        value_string,
        value_integer: None,
        interpretation: interpretation(text_ref(row, "abnormal")?),
        reference_range: if range.low.is_some() || range.high.is_some() { vec![range] } else { Vec::new() },
        component: Vec::new(),
    };
    out.put("Observation", id, &o)
}
