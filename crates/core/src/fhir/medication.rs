//! MedicationRequest (a prescription: the medicine, dose, route, frequency, duration and
//! instructions, who prescribed it in which visit, stopped or still active) and
//! MedicationDispense (what the pharmacy handed over from stock against it).

use super::context::Ctx;
use super::source::{int, opt, prune, text, Source};
use super::systems::UCUM;
use crate::error::Result;
use serde_json::{json, Value};
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

fn dosage(row: &SqliteRow) -> Result<Value> {
    let dose = text(row, "dose")?;
    let unit = text(row, "dose_unit")?;
    let days = int(row, "duration_days")?;
    let words = [
        Some(format!("{dose} {unit}")),
        opt(row, "route")?,
        opt(row, "frequency")?,
        days.map(|d| format!("for {d} days")),
        opt(row, "instructions")?,
    ];
    let dose_quantity = dose.parse::<f64>().ok().map(|d| json!({ "value": d, "unit": unit }));
    Ok(json!({
        "text": words.into_iter().flatten().collect::<Vec<_>>().join(", "),
        "patientInstruction": opt(row, "instructions")?,
        "timing": opt(row, "frequency")?.map(|f| json!({ "code": { "text": f } })),
        "route": opt(row, "route")?.map(|r| json!({ "text": r })),
        "doseAndRate": dose_quantity.map(|q| json!([{ "doseQuantity": q }])),
    }))
}

fn request(row: &SqliteRow, cx: &Ctx<'_>) -> Result<Vec<Value>> {
    let days = int(row, "duration_days")?;
    Ok(vec![prune(json!({
        "resourceType": "MedicationRequest",
        "id": text(row, "id")?,
        "status": request_status(row, cx)?,
        "statusReason": opt(row, "stop_reason")?.map(|r| json!({ "text": r })),
        "intent": "order",
        "medicationCodeableConcept": { "text": medicine_text(row, "medicine")? },
        "subject": cx.reference("Patient", &text(row, "patient_id")?),
        "encounter": cx.reference("Encounter", &text(row, "visit_id")?),
        "authoredOn": text(row, "created_at")?,
        "requester": cx.reference("Practitioner", &text(row, "doctor_id")?),
        "dosageInstruction": [dosage(row)?],
        "dispenseRequest": {
            "validityPeriod": { "start": text(row, "starts_on")?, "end": opt(row, "ends_on")? },
            "expectedSupplyDuration": days.map(|d| json!({ "value": d, "unit": "days", "system": UCUM, "code": "d" })),
        },
    }))])
}

fn dispense(row: &SqliteRow, cx: &Ctx<'_>) -> Result<Vec<Value>> {
    let substitution = opt(row, "substitution_reason")?;
    let complete = row.try_get::<i64, _>("complete")? == 1;
    Ok(vec![prune(json!({
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
    }))])
}
