//! Appointment: the booking of a patient with a doctor (status, start and end, reason,
//! cancellation reason, walk-in).

use super::context::Ctx;
use super::model::{Concept, Reference};
use super::source::{opt_ref, text_ref, Emit, Source};
use crate::error::Result;
use serde::Serialize;
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Appointment<'a> {
    resource_type: &'static str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    identifier: Option<[Token<'a>; 1]>,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cancelation_reason: Option<Concept<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    appointment_type: Option<Concept<'static>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    start: &'a str,
    end: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<&'a str>,
    participant: [Participant<'a>; 2],
}

#[derive(Serialize)]
struct Token<'a> {
    #[serde(rename = "type")]
    kind: Concept<'static>,
    value: &'a str,
}

#[derive(Serialize)]
struct Participant<'a> {
    actor: Reference<'a>,
    required: &'static str,
    status: &'static str,
}

fn map(row: &SqliteRow, cx: &Ctx<'_>, out: &mut Emit<'_>) -> Result<()> {
    let walk_in = row.try_get::<i64, _>("walk_in")? == 1;
    let id = text_ref(row, "id")?;
    let attending = |actor| Participant { actor, required: "required", status: "accepted" };
    let a = Appointment {
        resource_type: "Appointment",
        id,
        identifier: opt_ref(row, "token")?.map(|value| [Token { kind: Concept::text("Queue token"), value }]),
        status: status(text_ref(row, "status")?),
        cancelation_reason: opt_ref(row, "cancel_reason")?.map(Concept::text),
        appointment_type: walk_in.then(|| {
            Concept::code_only(
                "http://terminology.hl7.org/CodeSystem/v2-0276",
                "WALKIN",
                Some("A previously unscheduled walk-in visit"),
            )
        }),
        description: opt_ref(row, "reason")?,
        start: text_ref(row, "starts_at")?,
        end: text_ref(row, "ends_at")?,
        created: text_ref(row, "created_at")?.get(..10),
        participant: [
            attending(Reference::to(cx, "Patient", text_ref(row, "patient_id")?)),
            attending(Reference::to(cx, "Practitioner", text_ref(row, "doctor_id")?)),
        ],
    };
    out.put("Appointment", id, &a)
}
