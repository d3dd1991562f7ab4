//! Observation → vitals. The vital signs HMS records come by LOINC code (the codes HMS's
//! export writes, and the common alternatives: oral temperature, SpO2 by pulse oximetry),
//! their UCUM units checked and converted to HMS's (°F, g, lb, m, in accepted); blood pressure
//! as the 85354-9 (or 55284-4) panel's components or as 8480-6/8462-4 alone. Measurements of
//! one patient at one instant in one encounter become one vitals row, checked as the nurse's
//! form is (`check_vitals`: impossible and implausible values refused). Lab results are
//! `lab`'s; every other Observation (BMI, surveys...) is counted as not stored, by category.

use super::values::{derive, instant, problem, str_at};
use super::{Cx, Encounters, Failure, Outcome};
use crate::clinical::visits::check_vitals;
use crate::clinical::{exists, insert_row, VitalsInput};
use crate::error::Error;
use crate::fhir::systems::LOINC;
use crate::store::WriteTx;
use serde_json::{json, Value};

/// The vitals columns.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Field {
    Temperature,
    Pulse,
    Systolic,
    Diastolic,
    Resp,
    Spo2,
    Weight,
    Height,
    Pain,
}

type Convert = fn(f64) -> f64;
/// Accepted UCUM units with their conversion to the stored unit.
type Units = &'static [(&'static str, Convert)];

/// (LOINC code, column, its units).
const CODES: &[(&str, Field, Units)] = &[
    ("8310-5", Field::Temperature, TEMPERATURE),
    ("8331-1", Field::Temperature, TEMPERATURE),
    ("8867-4", Field::Pulse, PER_MIN),
    ("9279-1", Field::Resp, PER_MIN),
    ("2708-6", Field::Spo2, PERCENT),
    ("59408-5", Field::Spo2, PERCENT),
    ("29463-7", Field::Weight, WEIGHT),
    ("3141-9", Field::Weight, WEIGHT),
    ("8302-2", Field::Height, HEIGHT),
    ("8480-6", Field::Systolic, MM_HG),
    ("8462-4", Field::Diastolic, MM_HG),
    ("72514-3", Field::Pain, SCORE),
];
const TEMPERATURE: Units = &[("Cel", |c| c * 10.0), ("[degF]", |f| (f - 32.0) * 50.0 / 9.0)];
const PER_MIN: Units = &[("/min", |x| x), ("{beats}/min", |x| x), ("{breaths}/min", |x| x)];
const PERCENT: Units = &[("%", |x| x)];
const WEIGHT: Units = &[("kg", |x| x * 1000.0), ("g", |x| x), ("[lb_av]", |x| x * 453.592_37)];
const HEIGHT: Units = &[("cm", |x| x * 10.0), ("m", |x| x * 1000.0), ("mm", |x| x), ("[in_i]", |x| x * 25.4)];
const MM_HG: Units = &[("mm[Hg]", |x| x)];
const SCORE: Units = &[("{score}", |x| x), ("1", |x| x)];
/// Blood pressure panels, whose components are read.
const PANELS: [&str; 2] = ["85354-9", "55284-4"];

/// One vitals row being put together.
struct Row {
    visit: Option<String>,
    taken_at: String,
    input: VitalsInput,
    /// The Observations that set each field (to name the one a check refuses).
    from: Vec<(Field, usize)>,
    /// The first Observation's id: the row's id is derived from it.
    seed: String,
    observations: u32,
}

/// Writes the patient's vital-sign Observations `obs` as vitals rows.
pub async fn write_all(
    w: &mut WriteTx<'_>,
    cx: &Cx<'_>,
    obs: &[usize],
    patient: &str,
    encounters: &Encounters,
    out: &mut Outcome,
) -> Result<(), Failure> {
    let mut rows: Vec<Row> = Vec::new();
    for &i in obs {
        let r = cx.index.get(i);
        if matches!(str_at(r, "/status"), Some("cancelled" | "entered-in-error")) {
            out.not_stored.add("Observation (cancelled or entered in error)", 1);
            continue;
        }
        let values = measurements(r)?;
        if values.is_empty() {
            let category = r.pointer("/category/0/coding/0/code").and_then(Value::as_str).unwrap_or("uncategorised");
            out.not_stored.add(&format!("Observation ({category})"), 1);
            continue;
        }
        let visit = cx.visit_of(i, encounters)?;
        let Some(at) = ["/effectiveDateTime", "/effectivePeriod/start", "/effectiveInstant", "/issued"]
            .iter()
            .find_map(|p| str_at(r, p))
        else {
            return Err(problem(r, "effective[x]", "a vital sign needs the time it was taken"));
        };
        let taken_at = instant(r, "effectiveDateTime", at, cx.now)?;
        let row = match rows.iter_mut().position(|row| {
            row.visit == visit
                && row.taken_at == taken_at
                && values.iter().all(|(f, _)| get(&mut row.input, *f).is_none())
        }) {
            Some(k) => &mut rows[k],
            None => {
                let input =
                    VitalsInput { patient_id: patient.to_string(), visit_id: visit.clone(), ..Default::default() };
                rows.push(Row { visit, taken_at, input, from: Vec::new(), seed: cx.id_of(i), observations: 0 });
                let last = rows.len() - 1;
                &mut rows[last]
            }
        };
        for (f, v) in values {
            *get(&mut row.input, f) = Some(v);
            row.from.push((f, i));
        }
        row.observations += 1;
    }
    for row in rows {
        insert(w, cx, row, out).await?;
    }
    Ok(())
}

async fn insert(w: &mut WriteTx<'_>, cx: &Cx<'_>, row: Row, out: &mut Outcome) -> Result<(), Failure> {
    let id = derive(&format!("vitals:{}", row.seed));
    if exists(w, "vitals", &id).await? {
        out.unchanged += row.observations;
        return Ok(());
    }
    if let Err(Error::Validation { field, message, .. }) = check_vitals(&row.input) {
        let culprit =
            row.from.iter().find(|(f, _)| column(*f) == field).or(row.from.first()).map(|(_, i)| *i).unwrap_or(0);
        return Err(problem(cx.index.get(culprit), &format!("value[x] ({field})"), message));
    }
    let v = &row.input;
    insert_row(
        w,
        "vitals",
        &id,
        &[
            ("patient_id", json!(v.patient_id)),
            ("visit_id", json!(v.visit_id)),
            ("taken_at", json!(row.taken_at)),
            ("temperature_c_x10", json!(v.temperature_c_x10)),
            ("pulse", json!(v.pulse)),
            ("bp_systolic", json!(v.bp_systolic)),
            ("bp_diastolic", json!(v.bp_diastolic)),
            ("resp_rate", json!(v.resp_rate)),
            ("spo2", json!(v.spo2)),
            ("weight_g", json!(v.weight_g)),
            ("height_mm", json!(v.height_mm)),
            ("pain", json!(v.pain)),
            ("confirmed", json!(false)),
        ],
    )
    .await?;
    out.created.add("vitals", 1);
    Ok(())
}

fn get(v: &mut VitalsInput, f: Field) -> &mut Option<i32> {
    match f {
        Field::Temperature => &mut v.temperature_c_x10,
        Field::Pulse => &mut v.pulse,
        Field::Systolic => &mut v.bp_systolic,
        Field::Diastolic => &mut v.bp_diastolic,
        Field::Resp => &mut v.resp_rate,
        Field::Spo2 => &mut v.spo2,
        Field::Weight => &mut v.weight_g,
        Field::Height => &mut v.height_mm,
        Field::Pain => &mut v.pain,
    }
}

/// HMS's name of a column, as `check_vitals` names it.
fn column(f: Field) -> &'static str {
    match f {
        Field::Temperature => "temperature_c_x10",
        Field::Pulse => "pulse",
        Field::Systolic => "bp_systolic",
        Field::Diastolic => "bp_diastolic",
        Field::Resp => "resp_rate",
        Field::Spo2 => "spo2",
        Field::Weight => "weight_g",
        Field::Height => "height_mm",
        Field::Pain => "pain",
    }
}

/// The vital signs an Observation gives (none: not one HMS records).
fn measurements(r: &Value) -> Result<Vec<(Field, i32)>, Failure> {
    let code = loinc(r.get("code").unwrap_or(&Value::Null));
    if code.is_some_and(|c| PANELS.contains(&c)) {
        let mut out = Vec::new();
        for (k, c) in r.get("component").and_then(Value::as_array).into_iter().flatten().enumerate() {
            if let Some(m) = measurement(r, c, &format!("component[{k}].valueQuantity"))? {
                out.push(m);
            }
        }
        return Ok(out);
    }
    Ok(measurement(r, r, "valueQuantity")?.into_iter().collect())
}

/// The vital sign of `v` (the Observation or a component), its unit checked.
fn measurement(r: &Value, v: &Value, element: &str) -> Result<Option<(Field, i32)>, Failure> {
    let Some(code) = loinc(v.get("code").unwrap_or(&Value::Null)) else { return Ok(None) };
    let Some((_, field, units)) = CODES.iter().find(|(c, _, _)| *c == code) else { return Ok(None) };
    if let (Field::Pain, Some(n)) = (field, v.get("valueInteger").and_then(Value::as_i64)) {
        return Ok(Some((*field, i32::try_from(n).unwrap_or(i32::MAX))));
    }
    let Some(q) = v.get("valueQuantity") else {
        return Err(problem(r, element, format!("LOINC {code} needs a valueQuantity")));
    };
    let Some(value) = q.get("value").and_then(Value::as_f64) else {
        return Err(problem(r, &format!("{element}.value"), "no numeric value"));
    };
    let system = str_at(q, "/system");
    let unit = match system {
        Some(crate::fhir::systems::UCUM) | None => str_at(q, "/code").or(str_at(q, "/unit")),
        Some(other) => return Err(problem(r, &format!("{element}.system"), format!("{other}: units must be UCUM"))),
    };
    let accepted = units.iter().map(|(u, _)| *u).collect::<Vec<_>>().join(", ");
    let Some((_, convert)) = units.iter().find(|(u, _)| Some(*u) == unit) else {
        let unit = unit.unwrap_or("none");
        return Err(problem(
            r,
            &format!("{element}.code"),
            format!("UCUM unit {unit} for LOINC {code}: expected {accepted}"),
        ));
    };
    let stored = convert(value).round();
    if !(f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(&stored) {
        return Err(problem(r, &format!("{element}.value"), "out of range"));
    }
    Ok(Some((*field, stored as i32)))
}

fn loinc(concept: &Value) -> Option<&str> {
    super::values::code_in(concept, &[LOINC])
}
