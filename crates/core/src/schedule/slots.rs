//! The slots a doctor's schedule gives on a date, and which of them are free.

use super::{format_minutes, instant, json_rows, parse_date, rfc3339, Arg};
use crate::error::{Error, Result};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sqlx::SqliteConnection;
use std::collections::{HashMap, HashSet};

/// A checked session window: minutes after midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: u32,
    pub end: u32,
    pub slot: u32,
}

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

/// The schedule of some doctors over a range of dates, read in three queries (weekly
/// sessions, exceptions, taken slot starts); slots are then worked out in memory. Calendar
/// views and "next free with any cardiologist" read many doctor-days, so one query per
/// doctor-day would add up.
pub struct Plan {
    /// doctor → (ISO weekday, session id, window)
    sessions: HashMap<String, Vec<(u32, String, Window)>>,
    /// (doctor, date) → exceptions that day
    exceptions: HashMap<(String, String), Vec<ExceptionRow>>,
    /// (doctor, date) → the starts of the slots that regular, active bookings hold
    taken: HashMap<(String, String), HashSet<u32>>,
}

struct ExceptionRow {
    kind: String,
    session_id: Option<String>,
    start: Option<u32>,
    end: Option<u32>,
    slot: Option<u32>,
}

fn day_key(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// A stored minute count (or weekday) of row `id` of `table`; one that is not a `u32` is a
/// corrupt row, never 0.
fn minutes(table: &str, id: &str, field: &str, v: i64) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::corrupt(table, id, field, format_args!("{v} is out of range")))
}

/// A weekly session as [`SESSION_COLUMNS`] reads it (one JSON array per row).
#[derive(Deserialize)]
struct SessionRow {
    doctor_id: String,
    id: String,
    weekday: i64,
    start_min: i64,
    end_min: i64,
    slot_minutes: i64,
}

/// The columns of a [`SessionRow`], written once.
const SESSION_COLUMNS: &str = "doctor_id, id, weekday, start_min, end_min, slot_minutes";

/// A schedule exception as [`EXCEPTION_COLUMNS`] reads it (one JSON array per row).
#[derive(Deserialize)]
struct ExceptionJson {
    id: String,
    doctor_id: String,
    date: String,
    kind: String,
    session_id: Option<String>,
    start_min: Option<i64>,
    end_min: Option<i64>,
    slot_minutes: Option<i64>,
}

/// The columns of an [`ExceptionJson`], written once.
const EXCEPTION_COLUMNS: &str = "id, doctor_id, date, kind, session_id, start_min, end_min, slot_minutes";

/// A slot a booking holds, as [`HELD_COLUMNS`] reads it (only the slot index's columns).
#[derive(Deserialize)]
struct HeldRow {
    doctor_id: String,
    date: String,
    start_min: i64,
}

/// The columns of a [`HeldRow`], written once.
const HELD_COLUMNS: &str = "doctor_id, date, start_min";

impl Plan {
    /// Loads the schedules of `doctor_ids` from `from` to `to` (both included), with the
    /// slots that bookings hold.
    pub async fn load(
        conn: &mut SqliteConnection,
        doctor_ids: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Plan> {
        let mut plan = Plan::load_schedule(conn, doctor_ids, from, to).await?;
        let ids = serde_json::to_string(doctor_ids)?;
        let (from, to) = (day_key(from), day_key(to));
        // The WHERE clause is the one of the unique slot index, so SQLite reads only it.
        let taken: Vec<HeldRow> = json_rows(
            conn,
            &format!(
                "SELECT json_group_array(json_array({HELD_COLUMNS})) FROM appointments
                 WHERE doctor_id IN (SELECT value FROM json_each(?1)) AND date BETWEEN ?2 AND ?3
                   AND status IN ('booked', 'checked_in', 'with_doctor', 'done') AND overbooked = 0 AND walk_in = 0 AND deleted_at IS NULL"
            ),
            &[Arg::Text(&ids), Arg::Text(&from), Arg::Text(&to)],
        )
        .await?;
        for r in taken {
            // The slot index holds no id: the row is named by its doctor and date.
            let start = minutes("appointments", &format!("{} {}", r.doctor_id, r.date), "start_min", r.start_min)?;
            plan.hold(r.doctor_id, r.date, start);
        }
        Ok(plan)
    }

    /// Loads the sessions and exceptions only; the caller marks the held slots with
    /// [`Plan::hold`] (the calendar views read the appointments anyway).
    pub async fn load_schedule(
        conn: &mut SqliteConnection,
        doctor_ids: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Plan> {
        let ids = serde_json::to_string(doctor_ids)?;
        let (from, to) = (day_key(from), day_key(to));
        let rows: Vec<SessionRow> = json_rows(
            conn,
            &format!(
                "SELECT json_group_array(json_array({SESSION_COLUMNS})) FROM doctor_sessions
                 WHERE doctor_id IN (SELECT value FROM json_each(?1)) AND deleted_at IS NULL"
            ),
            &[Arg::Text(&ids)],
        )
        .await?;
        let mut sessions: HashMap<String, Vec<(u32, String, Window)>> = HashMap::new();
        for r in rows {
            let m = |field: &str, v: i64| minutes("doctor_sessions", &r.id, field, v);
            let win = Window {
                start: m("start_min", r.start_min)?,
                end: m("end_min", r.end_min)?,
                slot: m("slot_minutes", r.slot_minutes)?,
            };
            let weekday = m("weekday", r.weekday)?;
            sessions.entry(r.doctor_id).or_default().push((weekday, r.id, win));
        }
        let rows: Vec<ExceptionJson> = json_rows(
            conn,
            &format!(
                "SELECT json_group_array(json_array({EXCEPTION_COLUMNS})) FROM schedule_exceptions
                 WHERE doctor_id IN (SELECT value FROM json_each(?1)) AND date BETWEEN ?2 AND ?3 AND deleted_at IS NULL"
            ),
            &[Arg::Text(&ids), Arg::Text(&from), Arg::Text(&to)],
        )
        .await?;
        let mut exceptions: HashMap<(String, String), Vec<ExceptionRow>> = HashMap::new();
        for r in rows {
            let m =
                |field: &str, v: Option<i64>| v.map(|v| minutes("schedule_exceptions", &r.id, field, v)).transpose();
            let row = ExceptionRow {
                start: m("start_min", r.start_min)?,
                end: m("end_min", r.end_min)?,
                slot: m("slot_minutes", r.slot_minutes)?,
                kind: r.kind,
                session_id: r.session_id,
            };
            exceptions.entry((r.doctor_id, r.date)).or_default().push(row);
        }
        Ok(Plan { sessions, exceptions, taken: HashMap::new() })
    }

    /// Marks a slot start as held by a regular, active booking.
    pub fn hold(&mut self, doctor_id: String, date: String, start: u32) {
        self.taken.entry((doctor_id, date)).or_default().insert(start);
    }

    fn exceptions_on(&self, doctor_id: &str, date: NaiveDate) -> &[ExceptionRow] {
        self.exceptions.get(&(doctor_id.to_string(), day_key(date))).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The session windows of a doctor on a date: the weekday's sessions not cancelled that
    /// day, and the extra sessions of that day, in time order.
    pub fn windows(&self, doctor_id: &str, date: NaiveDate) -> Vec<Window> {
        let weekday = date.weekday().number_from_monday();
        let exceptions = self.exceptions_on(doctor_id, date);
        let cancelled =
            |id: &str| exceptions.iter().any(|x| x.kind == "cancelled" && x.session_id.as_deref() == Some(id));
        let mut out: Vec<Window> = self
            .sessions
            .get(doctor_id)
            .into_iter()
            .flatten()
            .filter(|(d, id, _)| *d == weekday && !cancelled(id))
            .map(|(_, _, w)| *w)
            .collect();
        for x in exceptions.iter().filter(|x| x.kind == "extra") {
            if let (Some(start), Some(end), Some(slot)) = (x.start, x.end, x.slot) {
                out.push(Window { start, end, slot });
            }
        }
        out.sort_by_key(|w| w.start);
        out
    }

    /// Leave on a date as time ranges; a whole-day leave is 0–1440.
    pub fn leave(&self, doctor_id: &str, date: NaiveDate) -> Vec<(u32, u32)> {
        self.exceptions_on(doctor_id, date)
            .iter()
            .filter(|x| x.kind == "leave")
            .map(|x| (x.start.unwrap_or(0), x.end.unwrap_or(1440)))
            .collect()
    }

    /// Every slot of a doctor on a date (free or not), in time order. Slots during leave,
    /// and slots whose local start a DST change skips, do not exist.
    pub fn slots(&self, tz: Tz, doctor_id: &str, date: NaiveDate) -> Vec<Slot> {
        let away = self.leave(doctor_id, date);
        let day = day_key(date);
        let taken = self.taken.get(&(doctor_id.to_string(), day.clone()));
        let mut out = Vec::new();
        for win in self.windows(doctor_id, date) {
            let mut s = win.start;
            while s + win.slot <= win.end {
                let e = s + win.slot;
                let on_leave = away.iter().any(|(ls, le)| s < *le && *ls < e);
                // A slot lasts its length in real time, even across a DST change.
                if let (false, Some(a)) = (on_leave, instant(tz, date, s)) {
                    let b = a + chrono::Duration::minutes(i64::from(win.slot));
                    out.push(Slot {
                        date: day.clone(),
                        start: format_minutes(s),
                        end: format_minutes(e),
                        start_min: s,
                        end_min: e,
                        starts_at: rfc3339(a),
                        ends_at: rfc3339(b),
                        free: !taken.is_some_and(|t| t.contains(&s)),
                    });
                }
                s = e;
            }
        }
        out
    }
}

/// The session windows of a doctor on a date (see [`Plan::windows`]).
pub async fn windows(conn: &mut SqliteConnection, doctor_id: &str, date: NaiveDate) -> Result<Vec<Window>> {
    Ok(Plan::load(conn, &[doctor_id.to_string()], date, date).await?.windows(doctor_id, date))
}

/// Every slot of a doctor on a date (see [`Plan::slots`]).
pub async fn day_slots(conn: &mut SqliteConnection, tz: Tz, doctor_id: &str, date: NaiveDate) -> Result<Vec<Slot>> {
    Ok(Plan::load(conn, &[doctor_id.to_string()], date, date).await?.slots(tz, doctor_id, date))
}

/// The free slots of a doctor on a date that have not started yet.
pub async fn free_slots(store: &Store, auth: &Authorized, doctor_id: &str, date: &str) -> Result<Vec<Slot>> {
    auth.require(Permission::AppointmentsView)?;
    let date = parse_date("date", date)?;
    let tz = crate::clinic::time_zone(store).await?;
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

/// Days of schedule read at once while looking for the next free slot: most searches end
/// today or tomorrow, so the first read is short.
const FIRST_CHUNK: u32 = 2;
const LOOKAHEAD_CHUNK: u32 = 7;

/// The earliest free slot with any doctor of a specialty, from `from` on, looking at most
/// `days` days ahead ("next free slot with any cardiologist").
pub async fn next_free_by_specialty(
    store: &Store,
    auth: &Authorized,
    specialty_id: &str,
    from: &str,
    days: u32,
) -> Result<Option<DoctorSlot>> {
    auth.require(Permission::AppointmentsView)?;
    let from = parse_date("from", from)?;
    let tz = crate::clinic::time_zone(store).await?;
    let now = rfc3339(store.now());
    let mut conn = store.pool().acquire().await?;
    let doctors: Vec<(String, String)> = sqlx::query_as(
        "SELECT s.id, s.full_name FROM staff_specialties x JOIN staff s ON s.id = x.staff_id
         WHERE x.specialty_id = ? AND s.role = 'doctor' AND s.active = 1 AND s.deleted_at IS NULL ORDER BY s.full_name",
    )
    .bind(specialty_id)
    .fetch_all(&mut *conn)
    .await?;
    if doctors.is_empty() {
        return Ok(None);
    }
    let ids: Vec<String> = doctors.iter().map(|(id, _)| id.clone()).collect();
    let days = days.clamp(1, 60);
    let mut offset = 0;
    while offset < days {
        let chunk = if offset == 0 { FIRST_CHUNK } else { LOOKAHEAD_CHUNK }.min(days - offset);
        let first = from + chrono::Duration::days(i64::from(offset));
        let last = first + chrono::Duration::days(i64::from(chunk - 1));
        let plan = Plan::load(&mut conn, &ids, first, last).await?;
        for d in 0..chunk {
            let date = first + chrono::Duration::days(i64::from(d));
            let mut best: Option<DoctorSlot> = None;
            for (id, name) in &doctors {
                let slot = plan.slots(tz, id, date).into_iter().find(|s| s.free && s.starts_at > now);
                if let Some(slot) = slot {
                    if best.as_ref().is_none_or(|b| slot.starts_at < b.slot.starts_at) {
                        best = Some(DoctorSlot { doctor_id: id.clone(), doctor_name: name.clone(), slot });
                    }
                }
            }
            if best.is_some() {
                return Ok(best);
            }
        }
        offset += chunk;
    }
    Ok(None)
}
