//! Location: wards, rooms and beds (physical types `wa`, `ro`, `bd`), each part of the one
//! above it.

use super::context::Ctx;
use super::source::{opt, prune, text, Emit, Source};
use super::systems::LOCATION_PHYSICAL_TYPE;
use crate::error::Result;
use serde_json::json;
use sqlx::sqlite::SqliteRow;

pub static WARDS: Source = Source {
    table: "wards",
    select: "SELECT t.id, t.name, t.kind, t.active, NULL AS part_of, 'wa' AS physical FROM wards t",
    by_patient: Some("t.id IN (SELECT ward_id FROM admissions WHERE patient_id = ?1)"),
    map,
};

pub static ROOMS: Source = Source {
    table: "rooms",
    select: "SELECT t.id, t.name, NULL AS kind, 1 AS active, t.ward_id AS part_of, 'ro' AS physical FROM rooms t",
    by_patient: None,
    map,
};

pub static BEDS: Source = Source {
    table: "beds",
    select: "SELECT t.id, t.label AS name, NULL AS kind, 1 AS active, coalesce(t.room_id, t.ward_id) AS part_of,
        'bd' AS physical FROM beds t",
    by_patient: None,
    map,
};

fn display(physical: &str) -> &'static str {
    match physical {
        "wa" => "Ward",
        "ro" => "Room",
        _ => "Bed",
    }
}

fn map(row: &SqliteRow, cx: &Ctx<'_>, out: &mut Emit<'_>) -> Result<()> {
    use sqlx::Row;
    let physical = text(row, "physical")?;
    let active = row.try_get::<i64, _>("active")? == 1;
    out.value(prune(json!({
        "resourceType": "Location",
        "id": text(row, "id")?,
        "status": if active { "active" } else { "inactive" },
        "name": text(row, "name")?,
        "description": opt(row, "kind")?.map(|k| format!("{k} ward")),
        "mode": "instance",
        "physicalType": { "coding": [{ "system": LOCATION_PHYSICAL_TYPE, "code": physical, "display": display(&physical) }] },
        "managingOrganization": cx.organization(),
        "partOf": opt(row, "part_of")?.map(|p| cx.reference("Location", &p)),
    })))
}
