//! Practitioner and PractitionerRole from a staff profile: the person (name, registration
//! number, qualifications, phone, email) and their role at the clinic (role, department,
//! specialties). The role's id is derived from the profile's.

use super::context::Ctx;
use super::source::{derived_id, opt, prune, text, Emit, Source};
use super::systems::{HMS_ROLE, PRACTITIONER_ROLE};
use crate::error::Result;
use serde_json::{json, Value};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

pub static STAFF: Source = Source {
    table: "staff",
    select: "SELECT t.id, t.full_name, t.role, t.qualifications, t.licence_no, t.phone, t.email, t.active,
        d.name AS department,
        (SELECT json_group_array(sp.name) FROM json_each(t.specialty_ids) j JOIN specialties sp ON sp.id = j.value) AS specialties
        FROM staff t LEFT JOIN departments d ON d.id = t.department_id",
    // The doctors of the patient's appointments, visits and admissions.
    by_patient: Some(
        "t.id IN (SELECT doctor_id FROM appointments WHERE patient_id = ?1
                  UNION SELECT doctor_id FROM visits WHERE patient_id = ?1
                  UNION SELECT doctor_id FROM admissions WHERE patient_id = ?1)",
    ),
    map,
};

/// The practitioner-role code system's code for an HMS role, where it has one.
fn role_code(role: &str) -> Option<&'static str> {
    match role {
        "doctor" => Some("doctor"),
        "nurse" => Some("nurse"),
        "pharmacist" => Some("pharmacist"),
        _ => None,
    }
}

/// The PractitionerRole id of a staff profile (derived from the profile's).
pub fn role_id(staff_id: &str) -> Result<String> {
    derived_id(staff_id, 0)
}

fn map(row: &SqliteRow, cx: &Ctx<'_>, out: &mut Emit<'_>) -> Result<()> {
    let id = text(row, "id")?;
    let role = text(row, "role")?;
    let active = row.try_get::<i64, _>("active")? == 1;
    let telecom: Vec<Value> = [("phone", opt(row, "phone")?), ("email", opt(row, "email")?)]
        .into_iter()
        .filter_map(|(system, v)| v.map(|v| json!({ "system": system, "value": v })))
        .collect();
    let practitioner = prune(json!({
        "resourceType": "Practitioner",
        "id": id,
        "identifier": opt(row, "licence_no")?.map(|l| json!([{
            "type": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "PRN", "display": "Provider number" }] },
            "value": l,
        }])),
        "active": active,
        "name": [{ "text": text(row, "full_name")? }],
        "telecom": telecom,
        "qualification": opt(row, "qualifications")?.map(|q| json!([{ "code": { "text": q } }])),
    }));
    let mut coding = vec![json!({ "system": HMS_ROLE, "code": role })];
    if let Some(code) = role_code(&role) {
        coding.insert(0, json!({ "system": PRACTITIONER_ROLE, "code": code }));
    }
    let specialties: Vec<String> =
        opt(row, "specialties")?.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default();
    let practitioner_role = prune(json!({
        "resourceType": "PractitionerRole",
        "id": role_id(&id)?,
        "active": active,
        "practitioner": cx.reference("Practitioner", &id),
        "organization": cx.organization(),
        "code": [{ "coding": coding, "text": opt(row, "department")? }],
        "specialty": specialties.iter().map(|s| json!({ "text": s })).collect::<Vec<_>>(),
    }));
    out.value(practitioner)?;
    out.value(practitioner_role)
}
