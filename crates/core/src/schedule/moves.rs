//! When a doctor cannot see patients: cancelling one session on a date (with the list of the
//! patients to call), and moving a set of appointments into another doctor-day, all or
//! nothing.

use super::availability::{insert_exception, require_doctor, ExceptionKind, NewException};
use super::booking::{self, AppointmentStatus, BookInput, ACTIVE};
use super::calendar::{views, views_by_id, AppointmentView, MAX_VIEW_ROWS};
use super::{parse_date, rfc3339, slots, Arg};
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use chrono::Datelike;
use serde::Serialize;
use serde_json::json;

/// The most appointments one move takes (a full day of a busy doctor is well under it).
pub const MAX_MOVE: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct SessionCancellation {
    /// The 'cancelled' exception written.
    pub exception_id: String,
    /// The active appointments in that session, by time, with the patients' phones: they
    /// are left as they are until reception moves or cancels them.
    pub affected: Vec<AppointmentView>,
}

/// Cancels one weekly session of a doctor on a date, and lists the patients booked into it.
pub async fn cancel_session(
    store: &Store,
    auth: &Authorized,
    doctor_id: &str,
    date: &str,
    session_id: &str,
    reason: &str,
) -> Result<SessionCancellation> {
    auth.require(Permission::ScheduleManage)?;
    let day = parse_date("date", date)?;
    let reason = booking::reason_text("reason", reason)?;
    let date_s = day.format("%Y-%m-%d").to_string();
    let mut w = store.begin_write(auth.actor()).await?;
    require_doctor(&mut w, doctor_id).await?;
    let window: Option<(i64, i64)> = sqlx::query_as(
        "SELECT start_min, end_min FROM doctor_sessions WHERE id = ? AND doctor_id = ? AND weekday = ? AND deleted_at IS NULL",
    )
    .bind(session_id)
    .bind(doctor_id)
    .bind(i64::from(day.weekday().number_from_monday()))
    .fetch_optional(w.conn())
    .await?;
    let (start, end) = window.ok_or_else(|| {
        Error::validation("session_id", ValidationReason::Invalid, "not one of this doctor's sessions on that weekday")
    })?;
    let already: bool = sqlx::query_scalar(
        "SELECT COUNT(*) > 0 FROM schedule_exceptions WHERE doctor_id = ? AND date = ? AND kind = 'cancelled' AND session_id = ? AND deleted_at IS NULL",
    )
    .bind(doctor_id)
    .bind(&date_s)
    .bind(session_id)
    .fetch_one(w.conn())
    .await?;
    if already {
        return Err(Error::validation(
            "session_id",
            ValidationReason::Taken,
            "this session is already cancelled that day",
        ));
    }
    let row = NewException {
        doctor_id,
        date: &date_s,
        kind: ExceptionKind::Cancelled,
        session_id: Some(session_id),
        start: None,
        end: None,
        slot: None,
        reason: &reason,
    };
    let exception_id = insert_exception(&mut w, row).await?;
    let filter = format!("a.doctor_id = ? AND a.date = ? AND a.start_min >= ? AND a.start_min < ? AND a.status IN {ACTIVE} AND a.deleted_at IS NULL");
    let args = [Arg::Text(doctor_id), Arg::Text(&date_s), Arg::Int(start), Arg::Int(end)];
    let affected = views(w.conn(), &filter, "start_min, created_at", MAX_VIEW_ROWS, &args).await?;
    let ids: Vec<&str> = affected.iter().map(|v| v.appointment.id.as_str()).collect();
    w.audit(
        "schedule.cancel_session",
        "staff",
        Some(doctor_id),
        json!({ "date": date_s, "session_id": session_id, "reason": reason, "affected": ids }),
    )
    .await?;
    w.commit().await?;
    Ok(SessionCancellation { exception_id, affected })
}

/// Moves booked appointments into the first free slots of one doctor on one date, in their
/// original order, in one write: either all move or none does. Each old appointment is
/// cancelled as rescheduled and its new one points back to it. Returns the new ones.
pub async fn move_appointments(
    store: &Store,
    auth: &Authorized,
    appointment_ids: &[String],
    to_doctor_id: &str,
    to_date: &str,
) -> Result<Vec<AppointmentView>> {
    auth.require(Permission::AppointmentsBook)?;
    let day = parse_date("to_date", to_date)?;
    let mut ids: Vec<String> = appointment_ids.to_vec();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Err(Error::validation(
            "appointment_ids",
            ValidationReason::Required,
            "choose the appointments to move",
        ));
    }
    if ids.len() > MAX_MOVE {
        return Err(Error::validation(
            "appointment_ids",
            ValidationReason::TooLong,
            format!("at most {MAX_MOVE} at a time"),
        ));
    }
    let tz = crate::clinic::time_zone(store).await?;
    let now = rfc3339(store.now());
    let mut w = store.begin_write(auth.actor()).await?;
    let doctor: bool = sqlx::query_scalar(
        "SELECT COUNT(*) > 0 FROM staff WHERE id = ? AND role = 'doctor' AND active = 1 AND deleted_at IS NULL",
    )
    .bind(to_doctor_id)
    .fetch_one(w.conn())
    .await?;
    if !doctor {
        return Err(Error::validation("to_doctor_id", ValidationReason::Invalid, "unknown or inactive doctor"));
    }
    let mut olds = Vec::with_capacity(ids.len());
    for id in &ids {
        let a = booking::load(&mut w, id).await.map_err(|e| match e {
            Error::NotFound { .. } => {
                Error::validation("appointment_ids", ValidationReason::Invalid, "unknown appointment")
            }
            other => other,
        })?;
        if a.status != AppointmentStatus::Booked {
            return Err(Error::validation(
                "appointment_ids",
                ValidationReason::Invalid,
                "only booked appointments can be moved",
            ));
        }
        olds.push(a);
    }
    olds.sort_by(|a, b| a.starts_at.cmp(&b.starts_at).then_with(|| a.id.cmp(&b.id)));
    // Free the old slots first: moving within the same day must be able to reuse them.
    for a in &mut olds {
        booking::set_status(&mut w, a, AppointmentStatus::Cancelled, "rescheduled").await?;
    }
    let mut free: Vec<String> = slots::day_slots(w.conn(), tz, to_doctor_id, day)
        .await?
        .into_iter()
        .filter(|s| s.free && s.starts_at > now)
        .map(|s| s.start)
        .collect();
    if free.len() < olds.len() {
        let msg = format!("{} free slots that day for {} appointments", free.len(), olds.len());
        return Err(Error::validation("to_date", ValidationReason::Taken, msg));
    }
    let mut moved = Vec::with_capacity(olds.len());
    for old in &olds {
        let new = place_first_fitting(store, auth, &mut w, old, to_doctor_id, to_date, &mut free).await?;
        moved.push((old.id.clone(), new));
    }
    let new_ids: Vec<String> = moved.iter().map(|(_, n)| n.clone()).collect();
    let views = views_by_id(w.conn(), &new_ids).await?;
    let detail: Vec<_> = moved.iter().map(|(from, to)| json!({ "from": from, "to": to })).collect();
    w.audit(
        "appointment.move",
        "appointment",
        None,
        json!({ "doctor_id": to_doctor_id, "date": to_date, "moves": detail }),
    )
    .await?;
    w.commit().await?;
    Ok(views)
}

/// Books `old`'s patient into the earliest of `free` where they have no other appointment
/// at that time, and takes that slot out of `free`; returns the new appointment's id.
async fn place_first_fitting(
    store: &Store,
    auth: &Authorized,
    w: &mut crate::store::WriteTx<'_>,
    old: &booking::Appointment,
    to_doctor_id: &str,
    to_date: &str,
    free: &mut Vec<String>,
) -> Result<String> {
    for i in 0..free.len() {
        let input = BookInput {
            patient_id: old.patient_id.clone(),
            doctor_id: to_doctor_id.to_string(),
            date: to_date.to_string(),
            start: free[i].clone(),
            reason: old.reason.clone(),
            overbook: false,
        };
        match booking::place(store, auth, w, &input, Some(&old.id)).await {
            Ok(new) => {
                free.remove(i);
                return Ok(new.id);
            }
            // The patient is elsewhere at that time: try the next slot.
            Err(Error::Validation { ref field, reason: ValidationReason::Taken, .. }) if field == "patient_id" => {
                continue
            }
            Err(e) => return Err(e),
        }
    }
    Err(Error::validation(
        "to_date",
        ValidationReason::Taken,
        "no free slot left that day fits the patient's other appointments",
    ))
}
