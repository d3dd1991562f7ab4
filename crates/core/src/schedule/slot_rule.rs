//! One active booking per doctor's slot (`appointments_one_per_slot`), kept when two devices
//! booked one slot while apart. Every device keeps both appointments; the one with the
//! earlier id (UUIDv7: the earlier booking) keeps the slot and the other is held off it (the
//! local flag `appointments.slot_conflict`, which the unique index ignores). When the one
//! keeping the slot is cancelled or moved, the held one takes the slot back. Settled the same
//! way on every device without anyone writing anything, and recorded for a person as a
//! conflict of kind `slot_double_booked` (`sync::conflict_log`). It runs after every local or
//! pulled write of an appointment (the table's rules, `schedule/tables.rs`).

use super::booking::{self, AppointmentStatus, BookInput};
use crate::error::{Error, Result, ValidationReason};
use crate::session::Authorized;
use crate::store::{Store, WriteTx};
use crate::sync::conflict_log::{self, NewConflict};
use crate::sync::conflicts::{
    ConflictKind, ConflictResolution, ConflictResolver, ResolveConflict, Resolved, RuleConflict,
};
use serde_json::Value;
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
            conflict_log::auto_resolve(conn, now, "slot_double_booked", id).await?;
        }
    }
    Ok(())
}

/// Records that `held` is held off the slot `holder` keeps, once while it stays open.
async fn record_slot(conn: &mut SqliteConnection, now: &str, holder: &str, held: &str) -> crate::Result<()> {
    if conflict_log::open_exists(conn, "slot_double_booked", held).await? {
        return Ok(());
    }
    let keep = appointment_json(conn, holder).await?;
    let other = appointment_json(conn, held).await?;
    let stamp = |v: &Value| v.get("updated_at").and_then(Value::as_str).unwrap_or("").to_string();
    let device = other.get("origin_device").and_then(Value::as_str).unwrap_or("").to_string();
    conflict_log::record_on(
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

/// Resolves a `slot_double_booked` conflict from the inbox: cancel either of the two
/// bookings, or move either to a free slot (as rescheduling does: the old one is cancelled as
/// rescheduled, the new one points back to it).
struct SlotResolver;

impl ResolveConflict for SlotResolver {
    fn resolve<'a>(
        &'a self,
        store: &'a Store,
        auth: &'a Authorized,
        w: &'a mut WriteTx<'_>,
        conflict: &'a RuleConflict<'a>,
        resolution: &'a ConflictResolution,
    ) -> Resolved<'a> {
        Box::pin(async move {
            match resolution {
                ConflictResolution::CancelAppointment { appointment_id, reason } => {
                    one_of_the_two(conflict, appointment_id)?;
                    let reason = booking::reason_text("reason", reason)?;
                    let mut a = booking::load(w, appointment_id).await?;
                    booking::set_status(w, &mut a, AppointmentStatus::Cancelled, &reason).await?;
                }
                ConflictResolution::MoveAppointment { appointment_id, doctor_id, date, start } => {
                    one_of_the_two(conflict, appointment_id)?;
                    let mut old = booking::load(w, appointment_id).await?;
                    if old.status != AppointmentStatus::Booked {
                        return Err(Error::validation(
                            "appointment_id",
                            ValidationReason::Invalid,
                            "only a booked appointment can be moved",
                        ));
                    }
                    booking::set_status(w, &mut old, AppointmentStatus::Cancelled, "rescheduled").await?;
                    let input = BookInput {
                        patient_id: old.patient_id.clone(),
                        doctor_id: doctor_id.clone(),
                        date: date.clone(),
                        start: start.clone(),
                        reason: old.reason.clone(),
                        overbook: false,
                    };
                    booking::place(store, auth, w, &input, Some(appointment_id)).await?;
                }
                _ => return Ok(false),
            }
            Ok(true)
        })
    }
}

fn one_of_the_two(conflict: &RuleConflict<'_>, appointment_id: &str) -> Result<()> {
    if conflict.names(appointment_id) {
        Ok(())
    } else {
        Err(Error::validation(
            "appointment_id",
            ValidationReason::Invalid,
            "not one of the two appointments of this conflict",
        ))
    }
}

inventory::submit! { ConflictResolver { kind: ConflictKind::SlotDoubleBooked, resolver: &SlotResolver } }
