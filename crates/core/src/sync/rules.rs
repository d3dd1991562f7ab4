//! Hospital rules that a merge of two devices' changes could break, settled the same way on
//! every device without anyone writing anything, and recorded as conflicts for a person:
//!
//! - **One active booking per doctor's slot** (`appointments_one_per_slot`). Two devices
//!   booked one slot while apart: every device keeps both appointments; the one with the
//!   earlier id (UUIDv7: the earlier booking) keeps the slot and the other is held off it
//!   (the local flag `appointments.slot_conflict`, which the unique index ignores). When the
//!   one keeping the slot is cancelled or moved, the held one takes the slot back. Conflict
//!   kind `slot_double_booked`.
//! - **One MRN per patient** (`patients.mrn` UNIQUE). The patient with the earlier id keeps
//!   the number; the other gets a stand-in `<MRN>-DUP-<end of its id>` until someone gives it
//!   a new number. Conflict kind `mrn_duplicate`.

use super::conflicts::{self, NewConflict};
use super::SyncError;
use crate::store::tables::NewRow;
use crate::store::WriteTx;
use serde_json::{json, Value};
use sqlx::SqliteConnection;

/// The statuses that occupy a slot (as in the index `appointments_one_per_slot`).
const ACTIVE: &str = "status IN ('booked', 'checked_in', 'with_doctor', 'done') AND overbooked = 0 AND walk_in = 0 AND deleted_at IS NULL";

/// Re-decides every slot that has a held appointment: in each, the active appointment with
/// the earliest id holds the slot, every other active one is held off it. Flags are set
/// before they are cleared, so the unique index never sees two holders.
pub(crate) async fn settle_slots(conn: &mut SqliteConnection, now: &str) -> crate::Result<()> {
    let slots: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT DISTINCT doctor_id, date, start_min FROM appointments WHERE slot_conflict = 1")
            .fetch_all(&mut *conn)
            .await?;
    for (doctor, date, start) in slots {
        settle_slot(conn, now, &doctor, &date, start).await?;
    }
    Ok(())
}

async fn settle_slot(
    conn: &mut SqliteConnection,
    now: &str,
    doctor: &str,
    date: &str,
    start: i64,
) -> crate::Result<()> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(&format!(
        "SELECT id, ({ACTIVE}) AS active, slot_conflict FROM appointments
         WHERE doctor_id = ? AND date = ? AND start_min = ? ORDER BY id"
    ))
    .bind(doctor)
    .bind(date)
    .bind(start)
    .fetch_all(&mut *conn)
    .await?;
    let holder = rows.iter().find(|(_, active, _)| *active == 1).map(|(id, _, _)| id.clone());
    for (id, active, flagged) in &rows {
        let held = *active == 1 && Some(id) != holder.as_ref();
        if held && *flagged == 0 {
            sqlx::query("UPDATE appointments SET slot_conflict = 1 WHERE id = ?").bind(id).execute(&mut *conn).await?;
        }
        if let (true, Some(holder)) = (held, holder.as_deref()) {
            record_slot(conn, now, holder, id).await?;
        }
    }
    for (id, active, flagged) in &rows {
        let held = *active == 1 && Some(id) != holder.as_ref();
        if !held && *flagged == 1 {
            sqlx::query("UPDATE appointments SET slot_conflict = 0 WHERE id = ?").bind(id).execute(&mut *conn).await?;
            conflicts::auto_resolve(conn, now, "slot_double_booked", id).await?;
        }
    }
    Ok(())
}

/// Records that `held` is held off the slot `holder` keeps, once while it stays open.
async fn record_slot(conn: &mut SqliteConnection, now: &str, holder: &str, held: &str) -> crate::Result<()> {
    if conflicts::open_exists(conn, "slot_double_booked", held).await? {
        return Ok(());
    }
    let keep = appointment_json(conn, holder).await?;
    let other = appointment_json(conn, held).await?;
    let stamp = |v: &Value| v.get("updated_at").and_then(Value::as_str).unwrap_or("").to_string();
    let device = other.get("origin_device").and_then(Value::as_str).unwrap_or("").to_string();
    conflicts::record_on(
        conn,
        now,
        NewConflict {
            kind: "slot_double_booked",
            entity: "appointments",
            entity_id: held,
            field: None,
            other_id: Some(holder),
            local: &keep,
            remote: &other,
            local_hlc: &stamp(&keep),
            remote_hlc: &stamp(&other),
            remote_device: &device,
        },
    )
    .await
}

async fn appointment_json(conn: &mut SqliteConnection, id: &str) -> crate::Result<Value> {
    let text: Option<String> = sqlx::query_scalar(
        "SELECT json_object('id', id, 'patient_id', patient_id, 'doctor_id', doctor_id, 'date', date, 'start_min', start_min,
                'status', status, 'reason', reason, 'updated_at', updated_at, 'origin_device', origin_device)
         FROM appointments WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or(Value::Null))
}

/// The stand-in number of a patient whose MRN another (earlier) patient keeps.
pub(crate) fn stand_in_mrn(mrn: &str, patient_id: &str) -> String {
    let tail: String = patient_id.chars().rev().take(8).collect::<Vec<_>>().into_iter().rev().collect();
    format!("{mrn}-DUP-{tail}")
}

fn is_stand_in(mrn: &str) -> bool {
    mrn.contains("-DUP-")
}

/// Before a pulled patient's MRN is written: if another patient here has the same number,
/// the earlier id keeps it and the other gets its stand-in (the incoming value is changed in
/// `values`, or the local patient is renumbered). A patient whose number no longer clashes
/// has its open MRN conflict closed.
pub(crate) async fn claim_mrn(w: &mut WriteTx<'_>, id: &str, values: &mut [(String, Value)]) -> Result<(), SyncError> {
    let Some(slot) = values.iter_mut().find(|(k, _)| k == "mrn") else {
        return Ok(());
    };
    let Some(mrn) = slot.1.as_str().map(str::to_string) else {
        return Ok(());
    };
    let other: Option<String> = sqlx::query_scalar("SELECT id FROM patients WHERE mrn = ? AND id <> ?")
        .bind(&mrn)
        .bind(id)
        .fetch_optional(w.conn())
        .await
        .map_err(crate::Error::from)?;
    let now = w.now_rfc3339();
    let Some(other) = other else {
        if !is_stand_in(&mrn) {
            conflicts::auto_resolve(w.conn(), &now, "mrn_duplicate", id).await?;
        }
        return Ok(());
    };
    let (keeper, loser) =
        if other.as_str() < id { (other.clone(), id.to_string()) } else { (id.to_string(), other.clone()) };
    let stand_in = stand_in_mrn(&mrn, &loser);
    if loser == id {
        slot.1 = Value::String(stand_in.clone());
    } else {
        sqlx::query("UPDATE patients SET mrn = ? WHERE id = ?")
            .bind(&stand_in)
            .bind(&other)
            .execute(w.conn())
            .await
            .map_err(crate::Error::from)?;
        crate::patients::repo::reindex(w, &other).await?;
    }
    if conflicts::open_exists(w.conn(), "mrn_duplicate", &loser).await? {
        return Ok(());
    }
    let keep = json!({ "id": keeper, "mrn": mrn });
    let moved = json!({ "id": loser, "mrn": mrn, "stand_in": stand_in });
    conflicts::record(
        w,
        NewConflict {
            kind: "mrn_duplicate",
            entity: "patients",
            entity_id: &loser,
            field: Some("mrn"),
            other_id: Some(&keeper),
            local: &keep,
            remote: &moved,
            local_hlc: "",
            remote_hlc: "",
            remote_device: "",
        },
    )
    .await?;
    Ok(())
}

/// What [`claim_mrn`] does for new patients written together (`sync::apply_batch`) whose
/// numbers clash with no one (the insert succeeded, so none does): an open duplicate-number
/// conflict of each is settled.
pub(crate) async fn settle_new_mrns(w: &mut WriteTx<'_>, rows: &[NewRow<'_>]) -> crate::Result<()> {
    let ids: Vec<&str> = rows
        .iter()
        .filter(|(_, values)| {
            values.iter().find(|(k, _)| k == "mrn").and_then(|(_, v)| v.as_str()).is_some_and(|mrn| !is_stand_in(mrn))
        })
        .map(|(id, _)| *id)
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let now = w.now_rfc3339();
    sqlx::query(
        "UPDATE sync_conflicts SET resolved = 1, resolution = 'auto', resolved_at = ?
         WHERE resolved = 0 AND kind = 'mrn_duplicate' AND entity_id IN (SELECT value FROM json_each(?))",
    )
    .bind(now)
    .bind(serde_json::to_string(&ids)?)
    .execute(w.conn())
    .await?;
    Ok(())
}
