//! Appointment: the booking of a patient with a doctor (status, start and end, reason,
//! cancellation reason, walk-in).

use super::context::Ctx;
use super::source::{opt, prune, text, Source};
use crate::error::Result;
use serde_json::{json, Value};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

pub static APPOINTMENTS: Source = Source {
    table: "appointments",
    select: "SELECT t.id, t.patient_id, t.doctor_id, t.starts_at, t.ends_at, t.status, t.walk_in, t.reason,
        t.cancel_reason, t.token, t.created_at FROM appointments t",
    by_patient: Some("t.patient_id = ?1"),
    map,
};

/// HMS's appointment status as FHIR's (appointmentstatus, a required binding).
fn status(s: &str) -> &'static str {
    match s {
        "booked" => "booked",
        "checked_in" => "arrived",
        "with_doctor" => "checked-in",
        "done" => "fulfilled",
        "cancelled" => "cancelled",
        _ => "noshow",
    }
}

fn map(row: &SqliteRow, cx: &Ctx<'_>) -> Result<Vec<Value>> {
    let walk_in = row.try_get::<i64, _>("walk_in")? == 1;
    let hms_status = text(row, "status")?;
    Ok(vec![prune(json!({
        "resourceType": "Appointment",
        "id": text(row, "id")?,
        "identifier": opt(row, "token")?.map(|t| json!([{ "type": { "text": "Queue token" }, "value": t }])),
        "status": status(&hms_status),
        "cancelationReason": opt(row, "cancel_reason")?.map(|r| json!({ "text": r })),
        "appointmentType": walk_in.then(|| json!({ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v2-0276", "code": "WALKIN", "display": "A previously unscheduled walk-in visit" }] })),
        "description": opt(row, "reason")?,
        "start": text(row, "starts_at")?,
        "end": text(row, "ends_at")?,
        "created": text(row, "created_at")?.get(..10).map(String::from),
        "participant": [
            { "actor": cx.reference("Patient", &text(row, "patient_id")?), "required": "required", "status": "accepted" },
            { "actor": cx.reference("Practitioner", &text(row, "doctor_id")?), "required": "required", "status": "accepted" },
        ],
    }))])
}
