//! The day's queue: check-in (booked or walk-in) mints a token, then each doctor calls
//! patients in and marks them done.
//!
//! Tokens are `<series>-<n>`, per doctor per day. The series is this device's (setting it
//! to a short letter per desk reads best, e.g. `A-7`; until then it is the device's MRN
//! prefix), so two desks checking patients in offline never mint the same token.

use super::booking::{Appointment, AppointmentStatus};
use super::{format_minutes, parse_date, rfc3339};
use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{meta, ChangeOp, Store, WriteTx};
use chrono::Timelike;
use serde::Serialize;
use serde_json::json;

pub const SERIES_KEY: &str = "token_series";
/// How long a walk-in is expected to take, for the patient-overlap view of the day.
const WALK_IN_MINUTES: u32 = 15;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct QueueEntry {
    pub appointment_id: String,
    pub patient_id: String,
    pub patient_name: String,
    pub mrn: String,
    pub token: Option<String>,
    pub status: AppointmentStatus,
    pub walk_in: bool,
    /// The booked time, "HH:MM" (for walk-ins: when they arrived).
    pub start: String,
    pub checked_in_at: Option<String>,
    /// A walk-in who arrived outside the doctor's sessions that day (after the session ended,
    /// before it began, or on a day without one): the desk sees them flagged.
    pub outside_sessions: bool,
    /// Minutes since check-in, for those still waiting.
    /// A TS number: exact up to 2^53 (money in minor units never gets near).
    #[specta(type = Option<f64>)]
    pub waiting_minutes: Option<i64>,
}

/// This device's token series.
pub async fn series(w: &mut WriteTx<'_>) -> Result<String> {
    let set = meta::get(w.conn(), SERIES_KEY).await?;
    if let Some(s) = set {
        return Ok(s);
    }
    // Until a desk letter is set: the device's MRN prefix, unique to the device.
    crate::clinic::device_prefix(w).await
}

/// Sets this desk's token series: 1 to 4 letters or digits (administrator).
pub async fn set_series(store: &Store, auth: &Authorized, series: &str) -> Result<String> {
    auth.require(Permission::SettingsManage)?;
    let s = series.trim().to_uppercase();
    if s.is_empty() || s.len() > 4 || !s.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Error::validation("series", ValidationReason::Invalid, "1 to 4 letters or digits"));
    }
    let mut w = store.begin_write(auth.actor()).await?;
    meta::set(w.conn(), SERIES_KEY, &s).await?;
    w.audit("queue.series", "device", None, json!({ "series": s })).await?;
    w.commit().await?;
    Ok(s)
}

async fn next_token(w: &mut WriteTx<'_>, doctor_id: &str, date: &str) -> Result<String> {
    let series = series(w).await?;
    let last: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(CAST(substr(token, length(?1) + 2) AS INTEGER)), 0) FROM appointments
         WHERE doctor_id = ?2 AND date = ?3 AND token LIKE ?1 || '-%'",
    )
    .bind(&series)
    .bind(doctor_id)
    .bind(date)
    .fetch_one(w.conn())
    .await?;
    Ok(format!("{series}-{}", last + 1))
}

async fn save_state(
    w: &mut WriteTx<'_>,
    id: &str,
    status: AppointmentStatus,
    column: &str,
    token: Option<&str>,
) -> Result<()> {
    let (now, stamp, by) = (w.now_rfc3339(), w.stamp(), w.actor().user_id.clone());
    let sql = format!("UPDATE appointments SET status = ?, {column} = ?, token = COALESCE(?, token), updated_at = ?, updated_by = ? WHERE id = ?");
    sqlx::query(&sql)
        .bind(status.code())
        .bind(&now)
        .bind(token)
        .bind(&stamp)
        .bind(&by)
        .bind(id)
        .execute(w.conn())
        .await?;
    let data =
        json!({ "id": id, "status": status, column: now, "token": token, "updated_at": stamp, "updated_by": by });
    w.record_change("appointments", id, ChangeOp::Update, &data).await
}

async fn status_of(w: &mut WriteTx<'_>, id: &str) -> Result<(AppointmentStatus, String, String)> {
    let row: Option<(String, String, String)> =
        sqlx::query_as("SELECT status, doctor_id, date FROM appointments WHERE id = ? AND deleted_at IS NULL")
            .bind(id)
            .fetch_optional(w.conn())
            .await?;
    let (s, d, date) = row.ok_or_else(|| Error::NotFound { entity: "appointment".into() })?;
    let status = serde_json::from_value(json!(s)).map_err(|e| Error::internal(format!("status {s}: {e}")))?;
    Ok((status, d, date))
}

/// Checks in a booked patient on the day of the appointment; returns the token.
pub async fn check_in(store: &Store, auth: &Authorized, appointment_id: &str) -> Result<String> {
    auth.require(Permission::AppointmentsBook)?;
    let today = crate::clinic::today_ymd(store).await?;
    let mut w = store.begin_write(auth.actor()).await?;
    let (status, doctor, date) = status_of(&mut w, appointment_id).await?;
    if status != AppointmentStatus::Booked {
        return Err(Error::validation(
            "appointment_id",
            ValidationReason::Invalid,
            "only a booked appointment can be checked in",
        ));
    }
    if date != today {
        return Err(Error::validation("appointment_id", ValidationReason::Invalid, "the appointment is not today"));
    }
    let token = next_token(&mut w, &doctor, &date).await?;
    save_state(&mut w, appointment_id, AppointmentStatus::CheckedIn, "checked_in_at", Some(&token)).await?;
    w.audit("appointment.check_in", "appointment", Some(appointment_id), json!({ "token": token })).await?;
    let patient: String = sqlx::query_scalar("SELECT patient_id FROM appointments WHERE id = ?")
        .bind(appointment_id)
        .fetch_one(w.conn())
        .await?;
    charge_consultation(&mut w, appointment_id, &patient, &doctor).await?;
    w.commit().await?;
    Ok(token)
}

/// A checked-in visit adds the doctor's consultation fee to the patient's open bill, in
/// the check-in's own transaction (billing::charge_consultation; once per appointment).
async fn charge_consultation(
    w: &mut WriteTx<'_>,
    appointment_id: &str,
    patient_id: &str,
    doctor_id: &str,
) -> Result<()> {
    let (name, fee): (String, i64) = sqlx::query_as("SELECT full_name, fee_minor FROM staff WHERE id = ?")
        .bind(doctor_id)
        .fetch_one(w.conn())
        .await?;
    crate::billing::charge_consultation(w, appointment_id, patient_id, &name, fee).await
}

/// Registers a walk-in with a doctor for today and checks them in; returns the visit.
pub async fn walk_in(
    store: &Store,
    auth: &Authorized,
    patient_id: &str,
    doctor_id: &str,
    reason: &str,
) -> Result<Appointment> {
    auth.require(Permission::AppointmentsBook)?;
    if reason.trim().chars().count() > 200 {
        return Err(Error::validation("reason", ValidationReason::TooLong, "at most 200 characters"));
    }
    let local = crate::clinic::now(store).await?;
    let now = local.with_timezone(&chrono::Utc);
    let start = local.hour() * 60 + local.minute();
    let mut w = store.begin_write(auth.actor()).await?;
    let patient: Option<String> = sqlx::query_scalar("SELECT status FROM patients WHERE id = ? AND deleted_at IS NULL")
        .bind(patient_id)
        .fetch_optional(w.conn())
        .await?;
    if !matches!(patient.as_deref(), Some(s) if s != "merged") {
        return Err(Error::validation("patient_id", ValidationReason::Invalid, "unknown patient"));
    }
    let doctor: bool = sqlx::query_scalar(
        "SELECT COUNT(*) > 0 FROM staff WHERE id = ? AND role = 'doctor' AND active = 1 AND deleted_at IS NULL",
    )
    .bind(doctor_id)
    .fetch_one(w.conn())
    .await?;
    if !doctor {
        return Err(Error::validation("doctor_id", ValidationReason::Invalid, "unknown or inactive doctor"));
    }
    let date = local.format("%Y-%m-%d").to_string();
    let token = next_token(&mut w, doctor_id, &date).await?;
    let a = Appointment {
        id: crate::ids::new_id(),
        patient_id: patient_id.into(),
        doctor_id: doctor_id.into(),
        date: date.clone(),
        start: format_minutes(start),
        end: format_minutes((start + WALK_IN_MINUTES).min(1440)),
        starts_at: rfc3339(now),
        ends_at: rfc3339(now + chrono::Duration::minutes(i64::from(WALK_IN_MINUTES))),
        status: AppointmentStatus::CheckedIn,
        overbooked: false,
        walk_in: true,
        token: Some(token),
        reason: reason.trim().to_string(),
        cancel_reason: String::new(),
        rescheduled_from: None,
    };
    super::booking::insert_visit(&mut w, &a, start, (start + WALK_IN_MINUTES).min(1440)).await?;
    // The arrival is a change like any other: another device (and the waits it reports)
    // must have it too.
    let (now, stamp, by) = (w.now_rfc3339(), w.stamp(), w.actor().user_id.clone());
    sqlx::query("UPDATE appointments SET checked_in_at = ?, updated_at = ? WHERE id = ?")
        .bind(&now)
        .bind(&stamp)
        .bind(&a.id)
        .execute(w.conn())
        .await?;
    let data = json!({ "id": a.id, "checked_in_at": now, "updated_at": stamp, "updated_by": by });
    w.record_change("appointments", &a.id, ChangeOp::Update, &data).await?;
    w.audit(
        "appointment.walk_in",
        "appointment",
        Some(&a.id),
        json!({ "patient_id": patient_id, "doctor_id": doctor_id, "token": a.token }),
    )
    .await?;
    charge_consultation(&mut w, &a.id, patient_id, doctor_id).await?;
    w.commit().await?;
    Ok(a)
}

/// The doctor calls the patient in.
pub async fn call_in(store: &Store, auth: &Authorized, appointment_id: &str) -> Result<()> {
    advance(
        store,
        auth,
        appointment_id,
        AppointmentStatus::CheckedIn,
        AppointmentStatus::WithDoctor,
        "called_at",
        "appointment.call_in",
    )
    .await
}

/// The consultation is over.
pub async fn finish(store: &Store, auth: &Authorized, appointment_id: &str) -> Result<()> {
    advance(
        store,
        auth,
        appointment_id,
        AppointmentStatus::WithDoctor,
        AppointmentStatus::Done,
        "done_at",
        "appointment.done",
    )
    .await
}

async fn advance(
    store: &Store,
    auth: &Authorized,
    id: &str,
    from: AppointmentStatus,
    to: AppointmentStatus,
    column: &str,
    action: &str,
) -> Result<()> {
    auth.require(Permission::AppointmentsView)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let (status, _, _) = status_of(&mut w, id).await?;
    if status != from {
        return Err(Error::validation(
            "appointment_id",
            ValidationReason::Invalid,
            format!("expected a {} appointment", from.code()),
        ));
    }
    save_state(&mut w, id, to, column, None).await?;
    w.audit(action, "appointment", Some(id), json!({})).await?;
    w.commit().await?;
    Ok(())
}

/// A doctor's queue for a date: with the doctor first, then those waiting in check-in
/// order, then those still expected (booked), then the finished.
pub async fn queue(store: &Store, auth: &Authorized, doctor_id: &str, date: &str) -> Result<Vec<QueueEntry>> {
    auth.require(Permission::AppointmentsView)?;
    let date = parse_date("date", date)?;
    let rows: Vec<QueueRow> = sqlx::query_as(
        "SELECT a.id, a.patient_id, p.given_name, p.family_name, p.mrn, a.status, a.token, a.start_min, a.walk_in, a.checked_in_at
         FROM appointments a JOIN patients p INDEXED BY patients_listed ON p.id = a.patient_id
         WHERE a.doctor_id = ? AND a.date = ? AND a.status IN ('booked', 'checked_in', 'with_doctor', 'done') AND a.deleted_at IS NULL
         ORDER BY CASE a.status WHEN 'with_doctor' THEN 0 WHEN 'checked_in' THEN 1 WHEN 'booked' THEN 2 ELSE 3 END,
                  COALESCE(a.checked_in_at, ''), length(a.token), a.token, a.start_min",
    )
    .bind(doctor_id)
    .bind(date.format("%Y-%m-%d").to_string())
    .fetch_all(store.pool())
    .await?;
    let windows = {
        let mut conn = store.pool().acquire().await?;
        super::slots::windows(&mut conn, doctor_id, date).await?
    };
    let in_session = |minute: i64| windows.iter().any(|w| i64::from(w.start) <= minute && minute < i64::from(w.end));
    let now = store.now();
    Ok(rows
        .into_iter()
        .map(
            |QueueRow {
                 id,
                 patient_id: pid,
                 given_name: given,
                 family_name: family,
                 mrn,
                 status,
                 token,
                 start_min: start,
                 walk_in: walk,
                 checked_in_at,
             }| {
                let status: AppointmentStatus =
                    serde_json::from_value(json!(status)).unwrap_or(AppointmentStatus::Booked);
                let waiting = (status == AppointmentStatus::CheckedIn)
                    .then(|| checked_in_at.as_deref().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()))
                    .flatten()
                    .map(|t| (now - t.with_timezone(&chrono::Utc)).num_minutes().max(0));
                QueueEntry {
                    appointment_id: id,
                    patient_id: pid,
                    patient_name: format!("{given} {family}").trim().to_string(),
                    mrn,
                    token,
                    status,
                    walk_in: walk == 1,
                    outside_sessions: walk == 1 && !in_session(start),
                    start: format_minutes(start as u32),
                    checked_in_at,
                    waiting_minutes: waiting,
                }
            },
        )
        .collect())
}

#[derive(sqlx::FromRow)]
struct QueueRow {
    id: String,
    patient_id: String,
    given_name: String,
    family_name: String,
    mrn: String,
    status: String,
    token: Option<String>,
    start_min: i64,
    walk_in: i64,
    checked_in_at: Option<String>,
}
