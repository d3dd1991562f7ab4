//! Patient: the MRN (with the clinic's system), national and insurance ids, name, sex, date
//! of birth, phones, address (its text, `city` and `district`), the emergency contact, status (deceased; merged: `replaced-by`).

use super::context::Ctx;
use super::source::{opt, prune, text, Emit, Source};
use super::systems::V2_0203;
use crate::error::Result;
use serde_json::{json, Value};
use sqlx::sqlite::SqliteRow;

pub static PATIENTS: Source = Source {
    table: "patients",
    select: "SELECT t.id, t.mrn, t.legacy_mrn, t.given_name, t.family_name, t.other_names, t.sex, t.birth_date,
        t.phones, t.address, t.national_id, t.insurance_id, t.emergency_name, t.emergency_phone,
        t.emergency_relation, t.status, t.merged_into, t.city, t.district FROM patients t",
    by_patient: Some("t.id = ?1"),
    map,
};

fn identifier(code: &str, display: &str, system: Option<&str>, value: Option<String>) -> Option<Value> {
    let value = value?;
    Some(json!({
        "use": if code == "MR" { "usual" } else { "official" },
        "type": { "coding": [{ "system": V2_0203, "code": code, "display": display }] },
        "system": system,
        "value": value,
    }))
}

fn map(row: &SqliteRow, cx: &Ctx<'_>, out: &mut Emit<'_>) -> Result<()> {
    let id = text(row, "id")?;
    let status = text(row, "status")?;
    let identifiers: Vec<Value> = [
        identifier("MR", "Medical record number", Some(&cx.mrn_system), opt(row, "mrn")?),
        identifier("NI", "National unique individual identifier", None, opt(row, "national_id")?),
        identifier("MB", "Member Number", None, opt(row, "insurance_id")?),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut given = vec![text(row, "given_name")?];
    given.extend(
        opt(row, "other_names")?
            .map(|o| o.split_whitespace().map(String::from).collect::<Vec<_>>())
            .unwrap_or_default(),
    );
    let phones: Vec<String> = serde_json::from_str(&text(row, "phones")?).unwrap_or_default();
    let telecom: Vec<Value> = phones.iter().map(|p| json!({ "system": "phone", "value": p })).collect();
    let contact = opt(row, "emergency_name")?.map(|name| {
        json!({
            "relationship": [{ "text": opt(row, "emergency_relation").ok().flatten() }],
            "name": { "text": name },
            "telecom": [{ "system": "phone", "value": opt(row, "emergency_phone").ok().flatten() }],
        })
    });
    let link = opt(row, "merged_into")?
        .filter(|_| status == "merged")
        .map(|into| json!([{ "other": cx.reference("Patient", &into), "type": "replaced-by" }]));
    let (address, city, district) = (opt(row, "address")?, opt(row, "city")?, opt(row, "district")?);
    let address = (address.is_some() || city.is_some() || district.is_some())
        .then(|| json!([{ "text": address, "city": city, "district": district }]));
    let legacy = opt(row, "legacy_mrn")?.map(|v| json!({ "use": "old", "value": v }));
    let mut ids = identifiers;
    ids.extend(legacy);
    out.value(prune(json!({
        "resourceType": "Patient",
        "id": id,
        "identifier": ids,
        "active": status == "active",
        "name": [{
            "use": "official",
            "family": opt(row, "family_name")?,
            "given": given,
        }],
        "telecom": telecom,
        "gender": text(row, "sex")?,
        "birthDate": opt(row, "birth_date")?,
        "deceasedBoolean": if status == "deceased" { Some(true) } else { None },
        "address": address,
        "contact": contact.map(|c| json!([c])),
        "managingOrganization": cx.organization(),
        "link": link,
    })))
}
