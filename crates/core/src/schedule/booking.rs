//! Booking, rescheduling, cancelling and no-shows. Every rule is checked inside the write
//! transaction (BEGIN IMMEDIATE: one writer at a time), and a unique index on the slot is
//! the last guard, so two desks booking the same slot at once cannot both succeed.

use super::slots::{day_slots, Slot};
use super::{parse_date, parse_minutes};
use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{ChangeOp, Store, WriteTx};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct BookInput {
    pub patient_id: String,
    pub doctor_id: String,
    /// YYYY-MM-DD, clinic local.
    pub date: String,
    /// "HH:MM": the start of one of the doctor's slots.
    pub start: String,
    pub reason: String,
    /// Book even if the slot is taken (needs `appointments_overbook`); marked as overbooked.
    pub overbook: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    Booked,
    CheckedIn,
    WithDoctor,
    Done,
    Cancelled,
    NoShow,
}

impl Code for AppointmentStatus {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Appointment {
    pub id: String,
    pub patient_id: String,
    pub doctor_id: String,
    pub date: String,
    pub start: String,
    pub end: String,
    pub starts_at: String,
    pub ends_at: String,
    pub status: AppointmentStatus,
    pub overbooked: bool,
    pub walk_in: bool,
    pub token: Option<String>,
    pub reason: String,
    pub cancel_reason: String,
    pub rescheduled_from: Option<String>,
}

/// The statuses of an appointment that is still to happen or under way.
pub(crate) const ACTIVE: &str = "('booked', 'checked_in', 'with_doctor')";

/// Books a patient into a doctor's slot.
pub async fn book(store: &Store, auth: &Authorized, input: BookInput) -> Result<Appointment> {
    auth.require(Permission::AppointmentsBook)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let a = place(store, auth, &mut w, &input, None).await?;
    w.audit("appointment.book", "appointment", Some(&a.id), json!({ "patient_id": a.patient_id, "doctor_id": a.doctor_id, "starts_at": a.starts_at, "overbooked": a.overbooked }))
        .await?;
    w.commit().await?;
    Ok(a)
}

/// Checks every rule and inserts the appointment, inside the caller's write. `replacing`
/// is the appointment being rescheduled (its own time does not count as an overlap).
pub(crate) async fn place(
    store: &Store,
    auth: &Authorized,
    w: &mut WriteTx<'_>,
    input: &BookInput,
    replacing: Option<&str>,
) -> Result<Appointment> {
    if input.overbook {
        auth.require(Permission::AppointmentsOverbook)?;
    }
    let date = parse_date("date", &input.date)?;
    let start = parse_minutes("start", &input.start)?;
    if input.reason.chars().count() > REASON_MAX {
        return Err(Error::validation("reason", ValidationReason::TooLong, format!("at most {REASON_MAX} characters")));
    }
    let patient: Option<String> = sqlx::query_scalar("SELECT status FROM patients WHERE id = ? AND deleted_at IS NULL")
        .bind(&input.patient_id)
        .fetch_optional(w.conn())
        .await?;
    match patient.as_deref() {
        None => return Err(Error::validation("patient_id", ValidationReason::Invalid, "unknown patient")),
        Some("merged") => {
            return Err(Error::validation(
                "patient_id",
                ValidationReason::Invalid,
                "this record was merged into another; book that one",
            ))
        }
        Some(_) => {}
    }
    let doctor: bool = sqlx::query_scalar(
        "SELECT COUNT(*) > 0 FROM staff WHERE id = ? AND role = 'doctor' AND active = 1 AND deleted_at IS NULL",
    )
    .bind(&input.doctor_id)
    .fetch_one(w.conn())
    .await?;
    if !doctor {
        return Err(Error::validation("doctor_id", ValidationReason::Invalid, "unknown or inactive doctor"));
    }
    let tz = crate::clinic::time_zone(store).await?;
    let slots = day_slots(w.conn(), tz, &input.doctor_id, date).await?;
    let slot: Slot = slots.into_iter().find(|s| s.start_min == start).ok_or_else(|| {
        Error::validation(
            "start",
            ValidationReason::Invalid,
            "not one of the doctor's slots that day (outside sessions, or on leave)",
        )
    })?;
    if slot.starts_at < super::rfc3339(store.now()) {
        auth.require(Permission::AppointmentsBackdate)
            .map_err(|_| Error::validation("date", ValidationReason::OutOfRange, "this slot is in the past"))?;
    }
    if !slot.free && !input.overbook {
        return Err(Error::validation("start", ValidationReason::Taken, "this slot is already booked"));
    }
    let clash: Option<String> = sqlx::query_scalar(&format!(
        "SELECT starts_at FROM appointments WHERE patient_id = ? AND status IN {ACTIVE} AND deleted_at IS NULL
           AND starts_at < ? AND ends_at > ? AND id <> ? LIMIT 1"
    ))
    .bind(&input.patient_id)
    .bind(&slot.ends_at)
    .bind(&slot.starts_at)
    .bind(replacing.unwrap_or(""))
    .fetch_optional(w.conn())
    .await?;
    if clash.is_some() {
        return Err(Error::validation(
            "patient_id",
            ValidationReason::Taken,
            "the patient already has an appointment at that time",
        ));
    }
    let a = Appointment {
        id: crate::ids::new_id(),
        patient_id: input.patient_id.clone(),
        doctor_id: input.doctor_id.clone(),
        date: slot.date,
        start: slot.start,
        end: slot.end,
        starts_at: slot.starts_at,
        ends_at: slot.ends_at,
        status: AppointmentStatus::Booked,
        overbooked: input.overbook && !slot.free,
        walk_in: false,
        token: None,
        reason: input.reason.trim().to_string(),
        cancel_reason: String::new(),
        rescheduled_from: replacing.map(str::to_string),
    };
    insert_visit(w, &a, slot.start_min, slot.end_min).await?;
    Ok(a)
}

/// Inserts a visit (booked or walk-in) with its change-log entry.
pub(crate) async fn insert_visit(w: &mut WriteTx<'_>, a: &Appointment, start_min: u32, end_min: u32) -> Result<()> {
    let (now, stamp, by, dev) = (w.now_rfc3339(), w.stamp(), w.actor().user_id.clone(), w.device_id().to_string());
    let r = sqlx::query(
        "INSERT INTO appointments (id, patient_id, doctor_id, date, start_min, end_min, starts_at, ends_at, status, overbooked, walk_in,
           token, reason, rescheduled_from, created_at, updated_at, updated_by, origin_device)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&a.id)
    .bind(&a.patient_id)
    .bind(&a.doctor_id)
    .bind(&a.date)
    .bind(i64::from(start_min))
    .bind(i64::from(end_min))
    .bind(&a.starts_at)
    .bind(&a.ends_at)
    .bind(a.status.code())
    .bind(i64::from(a.overbooked))
    .bind(i64::from(a.walk_in))
    .bind(&a.token)
    .bind(&a.reason)
    .bind(&a.rescheduled_from)
    .bind(&now)
    .bind(&stamp)
    .bind(&by)
    .bind(&dev)
    .execute(w.conn())
    .await;
    match r {
        // The unique slot index: another writer got there first.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(Error::validation("start", ValidationReason::Taken, "this slot is already booked"))
        }
        other => {
            other?;
        }
    }
    let mut data = change_data(a)?;
    data["created_at"] = json!(now);
    data["updated_at"] = json!(stamp);
    data["updated_by"] = json!(by);
    w.record_change("appointments", &a.id, ChangeOp::Insert, &data).await
}

/// An appointment as a change-log row: the table's column names, so the slot travels as
/// `start_min`/`end_min` rather than the "HH:MM" text the app shows.
pub(crate) fn change_data(a: &Appointment) -> Result<serde_json::Value> {
    let mut data = serde_json::to_value(a)?;
    if let Some(map) = data.as_object_mut() {
        map.remove("start");
        map.remove("end");
        map.insert("start_min".into(), json!(super::parse_minutes("start", &a.start)?));
        map.insert("end_min".into(), json!(super::parse_minutes("end", &a.end)?));
    }
    Ok(data)
}

/// An appointment as [`COLUMNS`] reads it.
#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    patient_id: String,
    doctor_id: String,
    date: String,
    start_min: i64,
    end_min: i64,
    starts_at: String,
    ends_at: String,
    status: String,
    overbooked: i64,
    walk_in: i64,
    token: Option<String>,
    reason: String,
    cancel_reason: String,
    rescheduled_from: Option<String>,
}

/// The columns of a [`Row`], written once.
const COLUMNS: &str =
    "id, patient_id, doctor_id, date, start_min, end_min, starts_at, ends_at, status, overbooked, walk_in, token, reason, cancel_reason, rescheduled_from";

fn from_row(r: Row) -> Result<Appointment> {
    use crate::store::stored;
    let status = stored::code("appointments", &r.id, "status", &r.status, AppointmentStatus::from_code)?;
    let minutes = |field: &str, v: i64| {
        u32::try_from(v).map_err(|_| Error::corrupt("appointments", &r.id, field, format_args!("{v} is out of range")))
    };
    let flag = |field: &str, v: i64| match v {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(Error::corrupt("appointments", &r.id, field, format_args!("{other} is not 0 or 1"))),
    };
    Ok(Appointment {
        start: super::format_minutes(minutes("start_min", r.start_min)?),
        end: super::format_minutes(minutes("end_min", r.end_min)?),
        overbooked: flag("overbooked", r.overbooked)?,
        walk_in: flag("walk_in", r.walk_in)?,
        status,
        id: r.id,
        patient_id: r.patient_id,
        doctor_id: r.doctor_id,
        date: r.date,
        starts_at: r.starts_at,
        ends_at: r.ends_at,
        token: r.token,
        reason: r.reason,
        cancel_reason: r.cancel_reason,
        rescheduled_from: r.rescheduled_from,
    })
}

pub(crate) async fn load(w: &mut WriteTx<'_>, id: &str) -> Result<Appointment> {
    let row: Option<Row> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM appointments WHERE id = ? AND deleted_at IS NULL"))
            .bind(id)
            .fetch_optional(w.conn())
            .await?;
    row.map(from_row).ok_or_else(|| Error::NotFound { entity: "appointment".into() })?
}

pub(crate) async fn set_status(
    w: &mut WriteTx<'_>,
    a: &mut Appointment,
    status: AppointmentStatus,
    cancel_reason: &str,
) -> Result<()> {
    let (stamp, by) = (w.stamp(), w.actor().user_id.clone());
    let before = change_data(a)?;
    sqlx::query("UPDATE appointments SET status = ?, cancel_reason = ?, updated_at = ?, updated_by = ? WHERE id = ?")
        .bind(status.code())
        .bind(cancel_reason)
        .bind(&stamp)
        .bind(&by)
        .bind(&a.id)
        .execute(w.conn())
        .await?;
    a.status = status;
    a.cancel_reason = cancel_reason.to_string();
    let mut data = change_data(a)?;
    data["updated_at"] = json!(stamp);
    data["updated_by"] = json!(by);
    w.record_update("appointments", &a.id, &before, &data).await
}

/// The most characters a booking's, a cancellation's or a schedule exception's reason may have.
pub const REASON_MAX: usize = 200;

pub(crate) fn reason_text(field: &str, raw: &str) -> Result<String> {
    let r = raw.trim().to_string();
    if r.is_empty() {
        return Err(Error::validation(field, ValidationReason::Required, "say why"));
    }
    if r.chars().count() > REASON_MAX {
        return Err(Error::validation(field, ValidationReason::TooLong, format!("at most {REASON_MAX} characters")));
    }
    Ok(r)
}

/// Cancels a booked appointment, with a reason.
pub async fn cancel(store: &Store, auth: &Authorized, id: &str, reason: &str) -> Result<Appointment> {
    auth.require(Permission::AppointmentsBook)?;
    let reason = reason_text("reason", reason)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let mut a = load(&mut w, id).await?;
    if a.status != AppointmentStatus::Booked {
        return Err(Error::validation("id", ValidationReason::Invalid, "only a booked appointment can be cancelled"));
    }
    set_status(&mut w, &mut a, AppointmentStatus::Cancelled, &reason).await?;
    w.audit("appointment.cancel", "appointment", Some(id), json!({ "reason": reason })).await?;
    w.commit().await?;
    Ok(a)
}

/// Moves a booked appointment to another slot (any doctor): the old one is cancelled as
/// rescheduled and the new one points back to it, in one write.
pub async fn reschedule(
    store: &Store,
    auth: &Authorized,
    id: &str,
    doctor_id: &str,
    date: &str,
    start: &str,
) -> Result<Appointment> {
    auth.require(Permission::AppointmentsBook)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let mut old = load(&mut w, id).await?;
    if old.status != AppointmentStatus::Booked {
        return Err(Error::validation("id", ValidationReason::Invalid, "only a booked appointment can be rescheduled"));
    }
    // Free the old slot first, so that moving within the same slot's neighbourhood works.
    set_status(&mut w, &mut old, AppointmentStatus::Cancelled, "rescheduled").await?;
    let input = BookInput {
        patient_id: old.patient_id.clone(),
        doctor_id: doctor_id.to_string(),
        date: date.to_string(),
        start: start.to_string(),
        reason: old.reason.clone(),
        overbook: false,
    };
    let new = place(store, auth, &mut w, &input, Some(id)).await?;
    w.audit("appointment.reschedule", "appointment", Some(&new.id), json!({ "from": id, "starts_at": new.starts_at }))
        .await?;
    w.commit().await?;
    Ok(new)
}

/// Marks a booked appointment whose time has come as a no-show.
pub async fn no_show(store: &Store, auth: &Authorized, id: &str) -> Result<Appointment> {
    auth.require(Permission::AppointmentsBook)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let mut a = load(&mut w, id).await?;
    if a.status != AppointmentStatus::Booked {
        return Err(Error::validation("id", ValidationReason::Invalid, "only a booked appointment can be a no-show"));
    }
    if a.starts_at > super::rfc3339(store.now()) {
        return Err(Error::validation("id", ValidationReason::Invalid, "the appointment has not started yet"));
    }
    set_status(&mut w, &mut a, AppointmentStatus::NoShow, "").await?;
    w.audit("appointment.no_show", "appointment", Some(id), json!({})).await?;
    w.commit().await?;
    Ok(a)
}
