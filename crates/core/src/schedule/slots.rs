//! The slots a doctor's schedule gives on a date, and which of them are free.

use super::availability::Window;
use super::{format_minutes, instant, parse_date, rfc3339};
use crate::error::Result;
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;
use serde::Serialize;
use sqlx::SqliteConnection;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Slot {
    pub date: String,
    /// "HH:MM", clinic local time.
    pub start: String,
    pub end: String,
    pub start_min: u32,
    pub end_min: u32,
    /// UTC instants.
    pub starts_at: String,
    pub ends_at: String,
    /// No regular booking holds it.
    pub free: bool,
}

/// The session windows of a doctor on a date: the weekday's sessions not cancelled that
/// day, and the extra sessions of that day, in time order.
pub async fn windows(conn: &mut SqliteConnection, doctor_id: &str, date: NaiveDate) -> Result<Vec<Window>> {
    let day = date.format("%Y-%m-%d").to_string();
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT start_min, end_min, slot_minutes FROM doctor_sessions s
         WHERE s.doctor_id = ?1 AND s.weekday = ?3 AND s.deleted_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM schedule_exceptions x WHERE x.doctor_id = ?1 AND x.date = ?2 AND x.kind = 'cancelled'
                           AND x.session_id = s.id AND x.deleted_at IS NULL)
         UNION ALL
         SELECT start_min, end_min, slot_minutes FROM schedule_exceptions
         WHERE doctor_id = ?1 AND date = ?2 AND kind = 'extra' AND deleted_at IS NULL
         ORDER BY 1",
    )
    .bind(doctor_id)
    .bind(&day)
    .bind(i64::from(date.weekday().number_from_monday()))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|(s, e, slot)| Window { start: s as u32, end: e as u32, slot: slot as u32 }).collect())
}

/// Leave on a date as time ranges; a whole-day leave is 0–1440.
async fn leave(conn: &mut SqliteConnection, doctor_id: &str, date: NaiveDate) -> Result<Vec<(u32, u32)>> {
    let rows: Vec<(Option<i64>, Option<i64>)> = sqlx::query_as(
        "SELECT start_min, end_min FROM schedule_exceptions WHERE doctor_id = ? AND date = ? AND kind = 'leave' AND deleted_at IS NULL",
    )
    .bind(doctor_id)
    .bind(date.format("%Y-%m-%d").to_string())
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|(s, e)| (s.unwrap_or(0) as u32, e.unwrap_or(1440) as u32)).collect())
}

/// Every slot of a doctor on a date (free or not), in time order. Slots during leave, and
/// slots whose local start a DST change skips, do not exist.
pub async fn day_slots(conn: &mut SqliteConnection, tz: Tz, doctor_id: &str, date: NaiveDate) -> Result<Vec<Slot>> {
    let away = leave(conn, doctor_id, date).await?;
    let taken: Vec<i64> = sqlx::query_scalar(
        "SELECT start_min FROM appointments WHERE doctor_id = ? AND date = ?
           AND status IN ('booked', 'checked_in', 'with_doctor', 'done') AND overbooked = 0 AND walk_in = 0 AND deleted_at IS NULL",
    )
    .bind(doctor_id)
    .bind(date.format("%Y-%m-%d").to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for win in windows(conn, doctor_id, date).await? {
        let mut s = win.start;
        while s + win.slot <= win.end {
            let e = s + win.slot;
            let on_leave = away.iter().any(|(ls, le)| s < *le && *ls < e);
            // A slot lasts its length in real time, even across a DST change.
            if let (false, Some(a)) = (on_leave, instant(tz, date, s)) {
                let b = a + chrono::Duration::minutes(i64::from(win.slot));
                out.push(Slot {
                    date: date.format("%Y-%m-%d").to_string(),
                    start: format_minutes(s),
                    end: format_minutes(e),
                    start_min: s,
                    end_min: e,
                    starts_at: rfc3339(a),
                    ends_at: rfc3339(b),
                    free: !taken.contains(&i64::from(s)),
                });
            }
            s = e;
        }
    }
    Ok(out)
}

/// The free slots of a doctor on a date that have not started yet.
pub async fn free_slots(store: &Store, auth: &Authorized, doctor_id: &str, date: &str) -> Result<Vec<Slot>> {
    auth.require(Permission::AppointmentsView)?;
    let date = parse_date("date", date)?;
    let tz = crate::settings::time_zone(store).await?;
    let now = rfc3339(store.now());
    let mut conn = store.pool().acquire().await?;
    Ok(day_slots(&mut conn, tz, doctor_id, date).await?.into_iter().filter(|s| s.free && s.starts_at > now).collect())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct DoctorSlot {
    pub doctor_id: String,
    pub doctor_name: String,
    pub slot: Slot,
}

/// The earliest free slot with any doctor of a specialty, from `from` on, looking at most
/// `days` days ahead ("next free slot with any cardiologist").
pub async fn next_free_by_specialty(store: &Store, auth: &Authorized, specialty_id: &str, from: &str, days: u32) -> Result<Option<DoctorSlot>> {
    auth.require(Permission::AppointmentsView)?;
    let from = parse_date("from", from)?;
    let tz = crate::settings::time_zone(store).await?;
    let now = rfc3339(store.now());
    let doctors: Vec<(String, String)> = sqlx::query_as(
        "SELECT s.id, s.full_name FROM staff_specialties x JOIN staff s ON s.id = x.staff_id
         WHERE x.specialty_id = ? AND s.role = 'doctor' AND s.active = 1 AND s.deleted_at IS NULL",
    )
    .bind(specialty_id)
    .fetch_all(store.pool())
    .await?;
    let mut conn = store.pool().acquire().await?;
    for d in 0..days.clamp(1, 60) {
        let date = from + chrono::Duration::days(i64::from(d));
        let mut best: Option<DoctorSlot> = None;
        for (id, name) in &doctors {
            let first = day_slots(&mut conn, tz, id, date).await?.into_iter().find(|s| s.free && s.starts_at > now);
            if let Some(slot) = first {
                if best.as_ref().is_none_or(|b| slot.starts_at < b.slot.starts_at) {
                    best = Some(DoctorSlot { doctor_id: id.clone(), doctor_name: name.clone(), slot });
                }
            }
        }
        if best.is_some() {
            return Ok(best);
        }
    }
    Ok(None)
}
