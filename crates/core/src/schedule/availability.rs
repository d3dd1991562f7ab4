//! A doctor's weekly sessions and the exceptions to them on given dates.

use super::slots::Window;
use super::{format_minutes, parse_date, parse_minutes};
use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{ChangeOp, Store, WriteTx};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The shortest and longest slot a session may have, in minutes.
pub const MIN_SLOT_MINUTES: u32 = 5;
pub const MAX_SLOT_MINUTES: u32 = 240;

#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct SessionInput {
    /// ISO weekday: 1 = Monday … 7 = Sunday.
    pub weekday: u8,
    /// "HH:MM", clinic local time.
    pub start: String,
    pub end: String,
    pub slot_minutes: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct DoctorSession {
    pub id: String,
    pub weekday: u8,
    pub start: String,
    pub end: String,
    pub slot_minutes: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionKind {
    /// Away: the whole day (no times) or from `start` to `end`.
    Leave,
    /// An extra session on that date.
    Extra,
    /// One weekly session does not take place on that date.
    Cancelled,
}

impl Code for ExceptionKind {}

#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct ExceptionInput {
    pub date: String,
    pub kind: ExceptionKind,
    /// Cancelled: the weekly session.
    pub session_id: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub slot_minutes: Option<u32>,
    pub reason: String,
}

fn window(prefix: &str, start: &str, end: &str, slot: u32) -> Result<Window> {
    let s = parse_minutes(&format!("{prefix}start"), start)?;
    let e = parse_minutes(&format!("{prefix}end"), end)?;
    if e <= s {
        return Err(Error::validation(
            &format!("{prefix}end"),
            ValidationReason::Invalid,
            "the end is not after the start",
        ));
    }
    if !(MIN_SLOT_MINUTES..=MAX_SLOT_MINUTES).contains(&slot) {
        return Err(Error::validation(
            &format!("{prefix}slot_minutes"),
            ValidationReason::OutOfRange,
            format!("slots of {MIN_SLOT_MINUTES} to {MAX_SLOT_MINUTES} minutes"),
        ));
    }
    if e - s < slot {
        return Err(Error::validation(
            &format!("{prefix}slot_minutes"),
            ValidationReason::OutOfRange,
            "the session is shorter than one slot",
        ));
    }
    Ok(Window { start: s, end: e, slot })
}

fn overlaps(a: Window, b: Window) -> bool {
    a.start < b.end && b.start < a.end
}

pub(crate) async fn require_doctor(w: &mut WriteTx<'_>, doctor_id: &str) -> Result<()> {
    let ok: bool =
        sqlx::query_scalar("SELECT COUNT(*) > 0 FROM staff WHERE id = ? AND role = 'doctor' AND deleted_at IS NULL")
            .bind(doctor_id)
            .fetch_one(w.conn())
            .await?;
    if ok {
        Ok(())
    } else {
        Err(Error::NotFound { entity: "doctor".into() })
    }
}

/// Replaces a doctor's weekly sessions with `sessions` (checked: times, slot length, and no
/// two sessions of one weekday overlapping).
pub async fn set_weekly(
    store: &Store,
    auth: &Authorized,
    doctor_id: &str,
    sessions: Vec<SessionInput>,
) -> Result<Vec<DoctorSession>> {
    auth.require(Permission::ScheduleManage)?;
    let mut checked: Vec<(u8, Window)> = Vec::new();
    for (i, s) in sessions.iter().enumerate() {
        let prefix = format!("sessions.{i}.");
        if !(1..=7).contains(&s.weekday) {
            return Err(Error::validation(
                &format!("{prefix}weekday"),
                ValidationReason::OutOfRange,
                "1 (Monday) to 7 (Sunday)",
            ));
        }
        let win = window(&prefix, &s.start, &s.end, s.slot_minutes)?;
        if let Some((_, other)) = checked.iter().find(|(d, o)| *d == s.weekday && overlaps(*o, win)) {
            let msg = format!("overlaps the session {}–{}", format_minutes(other.start), format_minutes(other.end));
            return Err(Error::validation(&format!("{prefix}start"), ValidationReason::Invalid, msg));
        }
        checked.push((s.weekday, win));
    }
    let mut w = store.begin_write(auth.actor()).await?;
    require_doctor(&mut w, doctor_id).await?;
    let (now, stamp, by, dev) = (w.now_rfc3339(), w.stamp(), w.actor().user_id.clone(), w.device_id().to_string());
    let old: Vec<String> = sqlx::query_scalar("UPDATE doctor_sessions SET deleted_at = ?, updated_at = ?, updated_by = ? WHERE doctor_id = ? AND deleted_at IS NULL RETURNING id")
        .bind(&now)
        .bind(&stamp)
        .bind(&by)
        .bind(doctor_id)
        .fetch_all(w.conn())
        .await?;
    for id in &old {
        w.record_change(
            "doctor_sessions",
            id,
            ChangeOp::Delete,
            &json!({ "id": id, "deleted_at": now, "updated_at": stamp }),
        )
        .await?;
    }
    let mut out = Vec::new();
    for (weekday, win) in checked {
        let id = crate::ids::new_id();
        sqlx::query(
            "INSERT INTO doctor_sessions (id, doctor_id, weekday, start_min, end_min, slot_minutes, created_at, updated_at, updated_by, origin_device)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(doctor_id)
        .bind(i64::from(weekday))
        .bind(i64::from(win.start))
        .bind(i64::from(win.end))
        .bind(i64::from(win.slot))
        .bind(&now)
        .bind(&stamp)
        .bind(&by)
        .bind(&dev)
        .execute(w.conn())
        .await?;
        let data = json!({ "id": id, "doctor_id": doctor_id, "weekday": weekday, "start_min": win.start, "end_min": win.end,
            "slot_minutes": win.slot, "created_at": now, "updated_at": stamp, "updated_by": by });
        w.record_change("doctor_sessions", &id, ChangeOp::Insert, &data).await?;
        out.push(DoctorSession {
            id,
            weekday,
            start: format_minutes(win.start),
            end: format_minutes(win.end),
            slot_minutes: win.slot,
        });
    }
    w.audit("schedule.set_weekly", "staff", Some(doctor_id), json!({ "sessions": out.len() })).await?;
    w.commit().await?;
    Ok(out)
}

/// A doctor's weekly sessions, by weekday and time.
pub async fn weekly(store: &Store, auth: &Authorized, doctor_id: &str) -> Result<Vec<DoctorSession>> {
    auth.require(Permission::AppointmentsView)?;
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM doctor_sessions WHERE doctor_id = ? AND deleted_at IS NULL ORDER BY weekday, start_min"
    );
    let rows: Vec<SessionRow> = sqlx::query_as(&sql).bind(doctor_id).fetch_all(store.pool()).await?;
    rows.into_iter()
        .map(|r| {
            let int = |field: &str, v: i64| {
                u32::try_from(v)
                    .map_err(|_| Error::corrupt("doctor_sessions", &r.id, field, format_args!("{v} is out of range")))
            };
            let weekday = u8::try_from(r.weekday).ok().filter(|d| (1..=7).contains(d)).ok_or_else(|| {
                Error::corrupt("doctor_sessions", &r.id, "weekday", format_args!("{} is not a weekday", r.weekday))
            })?;
            Ok(DoctorSession {
                weekday,
                start: format_minutes(int("start_min", r.start_min)?),
                end: format_minutes(int("end_min", r.end_min)?),
                slot_minutes: int("slot_minutes", r.slot_minutes)?,
                id: r.id,
            })
        })
        .collect()
}

/// A weekly session as [`SESSION_COLUMNS`] reads it.
#[derive(sqlx::FromRow)]
struct SessionRow {
    id: String,
    weekday: i64,
    start_min: i64,
    end_min: i64,
    slot_minutes: i64,
}

/// The columns of a [`SessionRow`], written once.
const SESSION_COLUMNS: &str = "id, weekday, start_min, end_min, slot_minutes";

/// Adds an exception (leave, an extra session, a cancelled session) on a date.
pub async fn add_exception(store: &Store, auth: &Authorized, doctor_id: &str, input: ExceptionInput) -> Result<String> {
    auth.require(Permission::ScheduleManage)?;
    let date = parse_date("date", &input.date)?;
    if input.reason.chars().count() > super::booking::REASON_MAX {
        return Err(Error::validation(
            "reason",
            ValidationReason::TooLong,
            format!("at most {} characters", super::booking::REASON_MAX),
        ));
    }
    let (start, end, slot) = match input.kind {
        ExceptionKind::Extra => {
            let win = window(
                "",
                input.start.as_deref().unwrap_or(""),
                input.end.as_deref().unwrap_or(""),
                input.slot_minutes.unwrap_or(0),
            )?;
            (Some(win.start), Some(win.end), Some(win.slot))
        }
        ExceptionKind::Leave => match (input.start.as_deref(), input.end.as_deref()) {
            (None, None) | (Some(""), Some("")) => (None, None, None),
            (s, e) => {
                let win = window("", s.unwrap_or(""), e.unwrap_or(""), 5)?;
                (Some(win.start), Some(win.end), None)
            }
        },
        ExceptionKind::Cancelled => (None, None, None),
    };
    let mut w = store.begin_write(auth.actor()).await?;
    require_doctor(&mut w, doctor_id).await?;
    let weekday = chrono::Datelike::weekday(&date).number_from_monday() as i64;
    if input.kind == ExceptionKind::Cancelled {
        let sid = input.session_id.as_deref().unwrap_or("");
        let ok: bool = sqlx::query_scalar("SELECT COUNT(*) > 0 FROM doctor_sessions WHERE id = ? AND doctor_id = ? AND weekday = ? AND deleted_at IS NULL")
            .bind(sid)
            .bind(doctor_id)
            .bind(weekday)
            .fetch_one(w.conn())
            .await?;
        if !ok {
            return Err(Error::validation(
                "session_id",
                ValidationReason::Invalid,
                "not one of this doctor's sessions on that weekday",
            ));
        }
    }
    if input.kind == ExceptionKind::Extra {
        let win = Window { start: start.unwrap_or(0), end: end.unwrap_or(0), slot: slot.unwrap_or(5) };
        let windows = super::slots::windows(w.conn(), doctor_id, date).await?;
        if windows.iter().any(|o| overlaps(*o, win)) {
            return Err(Error::validation("start", ValidationReason::Invalid, "overlaps a session that day"));
        }
    }
    let date_s = date.format("%Y-%m-%d").to_string();
    let row = NewException {
        doctor_id,
        date: &date_s,
        kind: input.kind,
        session_id: input.session_id.as_deref(),
        start,
        end,
        slot,
        reason: input.reason.trim(),
    };
    let id = insert_exception(&mut w, row).await?;
    w.audit("schedule.exception", "staff", Some(doctor_id), json!({ "date": date_s, "kind": input.kind })).await?;
    w.commit().await?;
    Ok(id)
}

/// A checked exception, ready to be written.
pub(crate) struct NewException<'a> {
    pub doctor_id: &'a str,
    pub date: &'a str,
    pub kind: ExceptionKind,
    pub session_id: Option<&'a str>,
    pub start: Option<u32>,
    pub end: Option<u32>,
    pub slot: Option<u32>,
    pub reason: &'a str,
}

/// Inserts an exception with its change-log entry, inside the caller's write.
pub(crate) async fn insert_exception(w: &mut WriteTx<'_>, x: NewException<'_>) -> Result<String> {
    let id = crate::ids::new_id();
    let (now, stamp, by, dev) = (w.now_rfc3339(), w.stamp(), w.actor().user_id.clone(), w.device_id().to_string());
    sqlx::query(
        "INSERT INTO schedule_exceptions (id, doctor_id, date, kind, session_id, start_min, end_min, slot_minutes, reason, created_at, updated_at, updated_by, origin_device)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&id)
    .bind(x.doctor_id)
    .bind(x.date)
    .bind(x.kind.code())
    .bind(x.session_id)
    .bind(x.start.map(i64::from))
    .bind(x.end.map(i64::from))
    .bind(x.slot.map(i64::from))
    .bind(x.reason)
    .bind(&now)
    .bind(&stamp)
    .bind(&by)
    .bind(&dev)
    .execute(w.conn())
    .await?;
    let data = json!({ "id": id, "doctor_id": x.doctor_id, "date": x.date, "kind": x.kind, "session_id": x.session_id,
        "start_min": x.start, "end_min": x.end, "slot_minutes": x.slot, "reason": x.reason, "created_at": now,
        "updated_at": stamp, "updated_by": by });
    w.record_change("schedule_exceptions", &id, ChangeOp::Insert, &data).await?;
    Ok(id)
}
