//! Encounter: outpatient visits (class AMB) and admissions (class IMP, the ward, the
//! provisional diagnosis as the reason, the discharge disposition).

use super::context::Ctx;
use super::model::{Coding, Concept, Period, Reference};
use super::source::{opt, opt_ref, prune, text, text_ref, Emit, Source};
use super::systems::{ACT_CODE, DISCHARGE_DISPOSITION, ICD10_CM};
use crate::error::Result;
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::sqlite::SqliteRow;

pub static VISITS: Source = Source {
    table: "visits",
    select: "SELECT t.id, t.patient_id, t.doctor_id, t.appointment_id, t.started_at, t.closed_at, t.complaints
        FROM visits t",
    by_patient: Some("t.patient_id = ?1"),
    map: visit,
};

pub static ADMISSIONS: Source = Source {
    table: "admissions",
    select: "SELECT t.id, t.patient_id, t.doctor_id, t.ward_id, t.reason, t.diagnosis_code, t.diagnosis_text,
        t.admitted_at, t.discharged_at, t.discharge_type FROM admissions t",
    by_patient: Some("t.patient_id = ?1"),
    map: admission,
};

fn class(code: &str, display: &str) -> Value {
    json!({ "system": ACT_CODE, "code": code, "display": display })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Visit<'a> {
    resource_type: &'static str,
    id: &'a str,
    status: &'static str,
    class: Coding<'static>,
    subject: Reference<'a>,
    participant: [Participant<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    appointment: Option<[Reference<'a>; 1]>,
    period: Period<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason_code: Option<[Concept<'a>; 1]>,
    service_provider: Reference<'a>,
}

#[derive(Serialize)]
struct Participant<'a> {
    individual: Reference<'a>,
}

fn visit(row: &SqliteRow, cx: &Ctx<'_>, out: &mut Emit<'_>) -> Result<()> {
    let closed = opt_ref(row, "closed_at")?;
    let id = text_ref(row, "id")?;
    let v = Visit {
        resource_type: "Encounter",
        id,
        status: if closed.is_some() { "finished" } else { "in-progress" },
        class: Coding { system: ACT_CODE, code: "AMB", display: Some("ambulatory") },
        subject: Reference::to(cx, "Patient", text_ref(row, "patient_id")?),
        participant: [Participant { individual: Reference::to(cx, "Practitioner", text_ref(row, "doctor_id")?) }],
        appointment: opt_ref(row, "appointment_id")?.map(|a| [Reference::to(cx, "Appointment", a)]),
        period: Period { start: text_ref(row, "started_at")?, end: closed },
        reason_code: opt_ref(row, "complaints")?.map(|c| [Concept::text(c)]),
        service_provider: Reference::to(cx, "Organization", &cx.clinic_id),
    };
    out.put("Encounter", id, &v)
}

/// HMS's discharge type as a discharge-disposition code.
fn disposition(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "home" => ("home", "Home"),
        "referred" => ("other-hcf", "Other healthcare facility"),
        "against_advice" => ("aadvice", "Left against advice"),
        _ => ("exp", "Expired"),
    }
}

fn admission(row: &SqliteRow, cx: &Ctx<'_>, out: &mut Emit<'_>) -> Result<()> {
    let discharged = opt(row, "discharged_at")?;
    let mut reason = vec![json!({ "text": text(row, "reason")? })];
    if let Some(code) = opt(row, "diagnosis_code")? {
        reason.push(json!({ "coding": [{ "system": ICD10_CM, "code": code }], "text": opt(row, "diagnosis_text")? }));
    }
    let hospitalization = opt(row, "discharge_type")?.map(|k| {
        let (code, display) = disposition(&k);
        json!({ "dischargeDisposition": { "coding": [{ "system": DISCHARGE_DISPOSITION, "code": code, "display": display }] } })
    });
    out.value(prune(json!({
        "resourceType": "Encounter",
        "id": text(row, "id")?,
        "status": if discharged.is_some() { "finished" } else { "in-progress" },
        "class": class("IMP", "inpatient encounter"),
        "subject": cx.reference("Patient", &text(row, "patient_id")?),
        "participant": [{ "individual": cx.reference("Practitioner", &text(row, "doctor_id")?) }],
        "period": { "start": text(row, "admitted_at")?, "end": discharged },
        "reasonCode": reason,
        "hospitalization": hospitalization,
        "location": [{ "location": cx.reference("Location", &text(row, "ward_id")?) }],
        "serviceProvider": cx.organization(),
    })))
}
