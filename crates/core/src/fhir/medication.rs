//! MedicationRequest (a prescription: the medicine, dose, route, frequency, duration and
//! instructions, who prescribed it in which visit, stopped or still active) and
//! MedicationDispense (what the pharmacy handed over from stock against it).

use super::context::Ctx;
use super::model::{Concept, Period, Quantity, Reference};
use super::source::{int, opt, opt_ref, prune, text, text_ref, Emit, Source};
use crate::error::Result;
use serde::Serialize;
use serde_json::json;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

pub static PRESCRIPTIONS: Source = Source {
    table: "prescriptions",
    select: "SELECT t.id, t.visit_id, t.patient_id, t.dose, t.dose_unit, t.route, t.frequency, t.duration_days,
        t.instructions, t.starts_on, t.ends_on, t.stopped_at, t.stop_reason, t.created_at,
        m.name AS medicine, m.strength, m.form, v.doctor_id
        FROM prescriptions t JOIN medicines m ON m.id = t.medicine_id JOIN visits v ON v.id = t.visit_id",
    by_patient: Some("t.patient_id = ?1"),
    map: request,
};

pub static DISPENSINGS: Source = Source {
    table: "dispensings",
    select: "SELECT t.id, t.prescription_id, t.patient_id, t.quantity, t.complete, t.substitution_reason,
        t.dispensed_at, i.generic_name, i.strength, i.form, i.unit FROM dispensings t
        JOIN stock_items i ON i.id = t.item_id",
    by_patient: Some("t.patient_id = ?1"),
    map: dispense,
};

/// "Amoxicillin 500 mg capsule".
fn medicine_text(row: &SqliteRow, name_col: &str) -> Result<String> {
    let parts = [Some(text(row, name_col)?), opt(row, "strength")?, opt(row, "form")?];
    Ok(parts.into_iter().flatten().collect::<Vec<_>>().join(" "))
}

/// The request's status: stopped, completed once its last day has passed, else active.
fn request_status(row: &SqliteRow, cx: &Ctx<'_>) -> Result<&'static str> {
    if opt(row, "stopped_at")?.is_some() {
        return Ok("stopped");
    }
    Ok(match opt(row, "ends_on")? {
        Some(end) if end < cx.today => "completed",
        _ => "active",
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request<'a> {
    resource_type: &'static str,
    id: &'a str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_reason: Option<Concept<'a>>,
    intent: &'static str,
    medication_codeable_concept: Concept<'a>,
    subject: Reference<'a>,
    encounter: Reference<'a>,
    authored_on: &'a str,
    requester: Reference<'a>,
    dosage_instruction: [Dosage<'a>; 1],
    dispense_request: DispenseRequest<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Dosage<'a> {
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    patient_instruction: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timing: Option<Timing<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    route: Option<Concept<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dose_and_rate: Option<[DoseAndRate<'a>; 1]>,
}

#[derive(Serialize)]
struct Timing<'a> {
    code: Concept<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DoseAndRate<'a> {
    dose_quantity: Quantity<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DispenseRequest<'a> {
    validity_period: Period<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected_supply_duration: Option<Quantity<'a>>,
}

fn dosage(row: &SqliteRow) -> Result<Dosage<'_>> {
    let dose = text_ref(row, "dose")?;
    let unit = text_ref(row, "dose_unit")?;
    let days = int(row, "duration_days")?;
    let (route, frequency, instructions) =
        (opt_ref(row, "route")?, opt_ref(row, "frequency")?, opt_ref(row, "instructions")?);
    let mut text = format!("{dose} {unit}");
    for part in [route, frequency].into_iter().flatten() {
        text.push_str(", ");
        text.push_str(part);
    }
    if let Some(d) = days {
        text.push_str(&format!(", for {d} days"));
    }
    if let Some(i) = instructions {
        text.push_str(", ");
        text.push_str(i);
    }
    let dose_quantity = dose
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(|d| [DoseAndRate { dose_quantity: Quantity::plain(d, Some(unit).filter(|u| !u.is_empty())) }]);
    Ok(Dosage {
        text,
        patient_instruction: instructions,
        timing: frequency.map(|f| Timing { code: Concept::text(f) }),
        route: route.map(Concept::text),
        dose_and_rate: dose_quantity,
    })
}

fn request(row: &SqliteRow, cx: &Ctx<'_>, out: &mut Emit<'_>) -> Result<()> {
    let medicine = medicine_text(row, "medicine")?;
    let id = text_ref(row, "id")?;
    let r = Request {
        resource_type: "MedicationRequest",
        id,
        status: request_status(row, cx)?,
        status_reason: opt_ref(row, "stop_reason")?.map(Concept::text),
        intent: "order",
        medication_codeable_concept: Concept::text(&medicine),
        subject: Reference::to(cx, "Patient", text_ref(row, "patient_id")?),
        encounter: Reference::to(cx, "Encounter", text_ref(row, "visit_id")?),
        authored_on: text_ref(row, "created_at")?,
        requester: Reference::to(cx, "Practitioner", text_ref(row, "doctor_id")?),
        dosage_instruction: [dosage(row)?],
        dispense_request: DispenseRequest {
            validity_period: Period { start: text_ref(row, "starts_on")?, end: opt_ref(row, "ends_on")? },
            expected_supply_duration: int(row, "duration_days")?.map(|d| Quantity::ucum(d.into(), "days", "d")),
        },
    };
    out.put("MedicationRequest", id, &r)
}

fn dispense(row: &SqliteRow, cx: &Ctx<'_>, out: &mut Emit<'_>) -> Result<()> {
    let substitution = opt(row, "substitution_reason")?;
    let complete = row.try_get::<i64, _>("complete")? == 1;
    out.value(prune(json!({
        "resourceType": "MedicationDispense",
        "id": text(row, "id")?,
        "status": "completed",
        "medicationCodeableConcept": { "text": medicine_text(row, "generic_name")? },
        "subject": cx.reference("Patient", &text(row, "patient_id")?),
        "authorizingPrescription": [cx.reference("MedicationRequest", &text(row, "prescription_id")?)],
        "type": { "text": if complete { "Dispensed in full" } else { "Dispensed in part" } },
        "quantity": { "value": row.try_get::<i64, _>("quantity")?, "unit": text(row, "unit")? },
        "whenHandedOver": text(row, "dispensed_at")?,
        "substitution": substitution.map(|r| json!({ "wasSubstituted": true, "reason": [{ "text": r }] })),
    })))
}
