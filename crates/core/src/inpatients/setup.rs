//! Wards, rooms and beds (the administrator's): a ward's kind and default daily bed charge (a
//! tariff service of category `bed_day`), rooms, beds with their tags and a charge of their
//! own; taking a bed out of service with a reason, and back. Each write is audited.

use super::{append_event, derived_in, model::*, NAME_MAX, REASON_MAX, TAGS_MAX, TAG_MAX};
use crate::clinical::{exists, insert_row, line};
use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{Store, WriteTx};
use serde_json::json;

/// A tariff service that may be a daily bed charge: active, category `bed_day`.
async fn check_bed_service(w: &mut WriteTx<'_>, field: &str, id: Option<&str>) -> Result<Option<String>> {
    let Some(id) = id.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
    let row: Option<(String, bool)> =
        sqlx::query_as("SELECT category, active FROM services WHERE id = ? AND deleted_at IS NULL")
            .bind(id)
            .fetch_optional(w.conn())
            .await?;
    match row {
        None => Err(Error::validation(field, ValidationReason::Invalid, "no such service")),
        Some((_, false)) => Err(Error::validation(field, ValidationReason::Invalid, "this service is retired")),
        Some((cat, _)) if cat != "bed_day" => {
            Err(Error::validation(field, ValidationReason::Invalid, "a bed charge is a service of category bed_day"))
        }
        Some(_) => Ok(Some(id.to_string())),
    }
}

fn ward_kind(raw: &str) -> Result<WardKind> {
    WardKind::from_code(raw.trim()).ok_or_else(|| {
        Error::validation("kind", ValidationReason::Invalid, "general, icu, maternity, paediatric, private or other")
    })
}

/// Tags: trimmed, lower case, no duplicates, at most [`TAGS_MAX`] of at most [`TAG_MAX`].
fn tags(raw: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for t in raw {
        let t = line("tags", t, TAG_MAX, false)?.to_lowercase();
        if !t.is_empty() && !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > TAGS_MAX {
        return Err(Error::validation("tags", ValidationReason::TooLong, format!("at most {TAGS_MAX} tags")));
    }
    Ok(out)
}

pub async fn wards(store: &Store, auth: &Authorized) -> Result<Vec<Ward>> {
    auth.require(Permission::InpatientsView)?;
    let mut conn = store.pool().acquire().await?;
    load_wards(&mut conn).await
}

pub(crate) async fn load_wards(conn: &mut sqlx::SqliteConnection) -> Result<Vec<Ward>> {
    let rows: Vec<(String, String, String, Option<String>, bool)> = sqlx::query_as(
        "SELECT id, name, kind, bed_service_id, active FROM wards WHERE deleted_at IS NULL ORDER BY name, id",
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(id, name, kind, bed_service_id, active)| {
            let kind = crate::store::stored::code("wards", &id, "kind", &kind, WardKind::from_code)?;
            Ok(Ward { id, name, kind, bed_service_id, active })
        })
        .collect()
}

async fn ward(store: &Store, id: &str) -> Result<Ward> {
    let mut conn = store.pool().acquire().await?;
    load_wards(&mut conn).await?.into_iter().find(|w| w.id == id).ok_or(Error::NotFound { entity: "ward".into() })
}

pub async fn add_ward(store: &Store, auth: &Authorized, input: WardInput) -> Result<Ward> {
    auth.require(Permission::WardsManage)?;
    let name = line("name", &input.name, NAME_MAX, true)?;
    let kind = ward_kind(&input.kind)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let service = check_bed_service(&mut w, "bed_service_id", input.bed_service_id.as_deref()).await?;
    let taken: bool =
        sqlx::query_scalar("SELECT COUNT(*) > 0 FROM wards WHERE name = ? COLLATE NOCASE AND deleted_at IS NULL")
            .bind(&name)
            .fetch_one(w.conn())
            .await?;
    if taken {
        return Err(Error::validation("name", ValidationReason::Taken, "a ward of this name exists"));
    }
    let id = crate::ids::new_id();
    insert_row(
        &mut w,
        "wards",
        &id,
        &[
            ("name", json!(name)),
            ("kind", json!(kind.code())),
            ("bed_service_id", json!(service)),
            ("active", json!(true)),
        ],
    )
    .await?;
    w.audit("ward.add", "ward", Some(&id), json!({ "name": name, "kind": kind, "bed_service_id": service })).await?;
    w.commit().await?;
    ward(store, &id).await
}

pub async fn update_ward(store: &Store, auth: &Authorized, ward_id: &str, input: WardInput) -> Result<Ward> {
    auth.require(Permission::WardsManage)?;
    let name = line("name", &input.name, NAME_MAX, true)?;
    let kind = ward_kind(&input.kind)?;
    let before = ward(store, ward_id).await?;
    let mut w = store.begin_write(auth.actor()).await?;
    let service = check_bed_service(&mut w, "bed_service_id", input.bed_service_id.as_deref()).await?;
    let taken: bool = sqlx::query_scalar(
        "SELECT COUNT(*) > 0 FROM wards WHERE name = ? COLLATE NOCASE AND id <> ? AND deleted_at IS NULL",
    )
    .bind(&name)
    .bind(ward_id)
    .fetch_one(w.conn())
    .await?;
    if taken {
        return Err(Error::validation("name", ValidationReason::Taken, "a ward of this name exists"));
    }
    let (stamp, by) = (w.stamp(), w.actor().user_id.clone());
    sqlx::query("UPDATE wards SET name = ?, kind = ?, bed_service_id = ?, updated_at = ?, updated_by = ? WHERE id = ?")
        .bind(&name)
        .bind(kind.code())
        .bind(&service)
        .bind(&stamp)
        .bind(&by)
        .bind(ward_id)
        .execute(w.conn())
        .await?;
    let old = json!({ "name": before.name, "kind": before.kind.code(), "bed_service_id": before.bed_service_id });
    let new =
        json!({ "name": name, "kind": kind.code(), "bed_service_id": service, "updated_at": stamp, "updated_by": by });
    w.record_update("wards", ward_id, &old, &new).await?;
    w.audit("ward.update", "ward", Some(ward_id), json!({ "name": name, "kind": kind, "bed_service_id": service }))
        .await?;
    w.commit().await?;
    ward(store, ward_id).await
}

pub async fn add_room(store: &Store, auth: &Authorized, ward_id: &str, name: &str) -> Result<Room> {
    auth.require(Permission::WardsManage)?;
    let name = line("name", name, NAME_MAX, true)?;
    let mut w = store.begin_write(auth.actor()).await?;
    if !exists(&mut w, "wards", ward_id).await? {
        return Err(Error::validation("ward_id", ValidationReason::Invalid, "no such ward"));
    }
    let id = crate::ids::new_id();
    insert_row(&mut w, "rooms", &id, &[("ward_id", json!(ward_id)), ("name", json!(name))]).await?;
    w.audit("room.add", "room", Some(&id), json!({ "ward_id": ward_id, "name": name })).await?;
    w.commit().await?;
    Ok(Room { id, ward_id: ward_id.to_string(), name })
}

/// Renames a room (it stays in its ward).
pub async fn rename_room(store: &Store, auth: &Authorized, room_id: &str, name: &str) -> Result<Room> {
    auth.require(Permission::WardsManage)?;
    let name = line("name", name, NAME_MAX, true)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let before: Option<(String, String)> =
        sqlx::query_as("SELECT ward_id, name FROM rooms WHERE id = ? AND deleted_at IS NULL")
            .bind(room_id)
            .fetch_optional(w.conn())
            .await?;
    let Some((ward_id, old_name)) = before else {
        return Err(Error::validation("room_id", ValidationReason::Invalid, "no such room"));
    };
    let (stamp, by) = (w.stamp(), w.actor().user_id.clone());
    sqlx::query("UPDATE rooms SET name = ?, updated_at = ?, updated_by = ? WHERE id = ?")
        .bind(&name)
        .bind(&stamp)
        .bind(&by)
        .bind(room_id)
        .execute(w.conn())
        .await?;
    let new = json!({ "name": name, "updated_at": stamp, "updated_by": by });
    w.record_update("rooms", room_id, &json!({ "name": old_name }), &new).await?;
    w.audit("room.rename", "room", Some(room_id), json!({ "from": old_name, "to": name })).await?;
    w.commit().await?;
    Ok(Room { id: room_id.to_string(), ward_id, name })
}

pub async fn rooms(store: &Store, auth: &Authorized) -> Result<Vec<Room>> {
    auth.require(Permission::InpatientsView)?;
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT id, ward_id, name FROM rooms WHERE deleted_at IS NULL ORDER BY name, id")
            .fetch_all(store.pool())
            .await?;
    Ok(rows.into_iter().map(|(id, ward_id, name)| Room { id, ward_id, name }).collect())
}

/// Every bed (not retired), by ward and label: the set-up screen's list to edit.
pub async fn beds(store: &Store, auth: &Authorized) -> Result<Vec<Bed>> {
    auth.require(Permission::InpatientsView)?;
    let mut conn = store.pool().acquire().await?;
    load_beds(&mut conn).await
}

type BedRow = (String, String, Option<String>, String, String, Option<String>);

pub(crate) async fn load_beds(conn: &mut sqlx::SqliteConnection) -> Result<Vec<Bed>> {
    let rows: Vec<BedRow> = sqlx::query_as(
        "SELECT id, ward_id, room_id, label, tags, bed_service_id FROM beds WHERE deleted_at IS NULL ORDER BY ward_id, label, id",
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(id, ward_id, room_id, label, tags, bed_service_id)| {
            let tags = crate::store::stored::json("beds", &id, "tags", &tags)?;
            Ok(Bed { id, ward_id, room_id, label, tags, bed_service_id })
        })
        .collect()
}

async fn bed(store: &Store, id: &str) -> Result<Bed> {
    let mut conn = store.pool().acquire().await?;
    load_beds(&mut conn).await?.into_iter().find(|b| b.id == id).ok_or(Error::NotFound { entity: "bed".into() })
}

async fn check_bed_place(w: &mut WriteTx<'_>, input: &BedInput, bed_id: Option<&str>) -> Result<(String, Vec<String>)> {
    let label = line("label", &input.label, NAME_MAX, true)?;
    let tags = tags(&input.tags)?;
    if !exists(w, "wards", &input.ward_id).await? {
        return Err(Error::validation("ward_id", ValidationReason::Invalid, "no such ward"));
    }
    if let Some(room) = input.room_id.as_deref().filter(|r| !r.is_empty()) {
        let ward: Option<String> = sqlx::query_scalar("SELECT ward_id FROM rooms WHERE id = ? AND deleted_at IS NULL")
            .bind(room)
            .fetch_optional(w.conn())
            .await?;
        if ward.as_deref() != Some(input.ward_id.as_str()) {
            return Err(Error::validation("room_id", ValidationReason::Invalid, "not a room of this ward"));
        }
    }
    let taken: bool = sqlx::query_scalar(
        "SELECT COUNT(*) > 0 FROM beds WHERE ward_id = ? AND label = ? COLLATE NOCASE AND id <> ? AND deleted_at IS NULL",
    )
    .bind(&input.ward_id)
    .bind(&label)
    .bind(bed_id.unwrap_or(""))
    .fetch_one(w.conn())
    .await?;
    if taken {
        return Err(Error::validation("label", ValidationReason::Taken, "this ward has a bed of this label"));
    }
    Ok((label, tags))
}

pub async fn add_bed(store: &Store, auth: &Authorized, input: BedInput) -> Result<Bed> {
    auth.require(Permission::WardsManage)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let (label, tags) = check_bed_place(&mut w, &input, None).await?;
    let service = check_bed_service(&mut w, "bed_service_id", input.bed_service_id.as_deref()).await?;
    let room = input.room_id.filter(|r| !r.is_empty());
    let id = crate::ids::new_id();
    let tags_json = serde_json::to_string(&tags).map_err(Error::internal)?;
    insert_row(
        &mut w,
        "beds",
        &id,
        &[
            ("ward_id", json!(input.ward_id)),
            ("room_id", json!(room)),
            ("label", json!(label)),
            ("tags", json!(tags_json)),
            ("bed_service_id", json!(service)),
        ],
    )
    .await?;
    w.audit("bed.add", "bed", Some(&id), json!({ "ward_id": input.ward_id, "label": label, "tags": tags })).await?;
    w.commit().await?;
    bed(store, &id).await
}

/// Changes a bed's label, room, tags and charge (not its ward: a bed moves by being retired
/// and added).
pub async fn update_bed(store: &Store, auth: &Authorized, bed_id: &str, input: BedInput) -> Result<Bed> {
    auth.require(Permission::WardsManage)?;
    let before = bed(store, bed_id).await?;
    if before.ward_id != input.ward_id {
        return Err(Error::validation("ward_id", ValidationReason::Invalid, "a bed stays in its ward"));
    }
    let mut w = store.begin_write(auth.actor()).await?;
    let (label, tags) = check_bed_place(&mut w, &input, Some(bed_id)).await?;
    let service = check_bed_service(&mut w, "bed_service_id", input.bed_service_id.as_deref()).await?;
    let room = input.room_id.filter(|r| !r.is_empty());
    let tags_json = serde_json::to_string(&tags).map_err(Error::internal)?;
    let before_tags = serde_json::to_string(&before.tags).map_err(Error::internal)?;
    let (stamp, by) = (w.stamp(), w.actor().user_id.clone());
    sqlx::query("UPDATE beds SET room_id = ?, label = ?, tags = ?, bed_service_id = ?, updated_at = ?, updated_by = ? WHERE id = ?")
        .bind(&room)
        .bind(&label)
        .bind(&tags_json)
        .bind(&service)
        .bind(&stamp)
        .bind(&by)
        .bind(bed_id)
        .execute(w.conn())
        .await?;
    let old = json!({ "room_id": before.room_id, "label": before.label, "tags": before_tags, "bed_service_id": before.bed_service_id });
    let new = json!({ "room_id": room, "label": label, "tags": tags_json, "bed_service_id": service, "updated_at": stamp, "updated_by": by });
    w.record_update("beds", bed_id, &old, &new).await?;
    w.audit("bed.update", "bed", Some(bed_id), json!({ "label": label, "tags": tags, "bed_service_id": service }))
        .await?;
    w.commit().await?;
    bed(store, bed_id).await
}

/// Takes a free bed (or one in cleaning) out of service, with a reason.
pub async fn out_of_service(store: &Store, auth: &Authorized, bed_id: &str, reason: &str) -> Result<()> {
    auth.require(Permission::WardsManage)?;
    let reason = line("reason", reason, REASON_MAX, true)?;
    let mut w = store.begin_write(auth.actor()).await?;
    super::bed_ward(w.conn(), "bed_id", bed_id).await?;
    let d = derived_in(&mut w).await?;
    match d.bed(bed_id).state {
        BedState::Occupied => {
            return Err(Error::validation(
                "bed_id",
                ValidationReason::Invalid,
                "a patient is in this bed: move them first",
            ))
        }
        BedState::OutOfService => {
            return Err(Error::validation("bed_id", ValidationReason::Invalid, "this bed is already out of service"))
        }
        BedState::Reserved => {
            return Err(Error::validation(
                "bed_id",
                ValidationReason::Reserved,
                "this bed is reserved: cancel it first",
            ))
        }
        BedState::Free | BedState::Cleaning => {}
    }
    let event = append_event(&mut w, bed_id, BedEventKind::OutOfService, None, None, &reason).await?;
    w.audit("bed.out_of_service", "bed", Some(bed_id), json!({ "event_id": event, "reason": reason })).await?;
    w.commit().await
}

/// Puts an out-of-service bed back into service (free).
pub async fn back_in_service(store: &Store, auth: &Authorized, bed_id: &str) -> Result<()> {
    auth.require(Permission::WardsManage)?;
    let mut w = store.begin_write(auth.actor()).await?;
    super::bed_ward(w.conn(), "bed_id", bed_id).await?;
    if derived_in(&mut w).await?.bed(bed_id).state != BedState::OutOfService {
        return Err(Error::validation("bed_id", ValidationReason::Invalid, "this bed is in service"));
    }
    let event = append_event(&mut w, bed_id, BedEventKind::BackInService, None, None, "").await?;
    w.audit("bed.back_in_service", "bed", Some(bed_id), json!({ "event_id": event })).await?;
    w.commit().await
}

/// Sends a free bed to housekeeping (nurse).
pub async fn send_to_cleaning(store: &Store, auth: &Authorized, bed_id: &str) -> Result<()> {
    auth.require(Permission::BedsHousekeeping)?;
    let mut w = store.begin_write(auth.actor()).await?;
    super::bed_ward(w.conn(), "bed_id", bed_id).await?;
    if derived_in(&mut w).await?.bed(bed_id).state != BedState::Free {
        return Err(Error::validation("bed_id", ValidationReason::Invalid, "only a free bed goes to cleaning"));
    }
    let event = append_event(&mut w, bed_id, BedEventKind::Cleaning, None, None, "").await?;
    w.audit("bed.cleaning", "bed", Some(bed_id), json!({ "event_id": event })).await?;
    w.commit().await
}

/// Marks a bed in cleaning clean: it is free again (nurse).
pub async fn mark_clean(store: &Store, auth: &Authorized, bed_id: &str) -> Result<()> {
    auth.require(Permission::BedsHousekeeping)?;
    let mut w = store.begin_write(auth.actor()).await?;
    super::bed_ward(w.conn(), "bed_id", bed_id).await?;
    if derived_in(&mut w).await?.bed(bed_id).state != BedState::Cleaning {
        return Err(Error::validation("bed_id", ValidationReason::Invalid, "this bed is not waiting for cleaning"));
    }
    let event = append_event(&mut w, bed_id, BedEventKind::Cleaned, None, None, "").await?;
    w.audit("bed.cleaned", "bed", Some(bed_id), json!({ "event_id": event })).await?;
    w.commit().await
}
