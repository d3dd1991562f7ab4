//! Intake and output charting (a nurse's, `mar_record`): what went into an inpatient (oral,
//! IV, feed, other) and what came out (urine, drain, vomit, stool, other), in millilitres, with
//! when, who and a note; the balance per shift ([`super::shifts`]) and per clinic day.
//!
//! Entries are **append-only**. A wrong entry is corrected by a new entry that names it
//! (`voids_id`) with a reason: the correction carries the right values (or 0 ml when the entry
//! should not have been made) and the voided entry no longer counts, though it stays on the
//! chart. Two devices offline may each correct the same entry: once their rows meet, every
//! device settles it the same way — the correction recorded first (UUIDv7 ids sort by when they
//! were minted; the smaller id) counts, the other is shown as a duplicate (`duplicate_of`) and
//! does not count — so a balance never counts one measurement twice.

use super::notes::Shift;
use super::orders::admission_patient;
use super::shifts::{day_bounds, shift_bounds, SHIFTS};
use super::{canonical_time, open_admission};
use crate::clinical::{insert_row, text};
use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{stored, Store};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{HashMap, HashSet};

/// The most millilitres one entry may record (a measurement, not a day's total).
pub const IO_VOLUME_MAX_ML: i64 = 5000;
/// The longest note or correction reason.
pub const IO_NOTE_MAX: usize = 500;
/// Intake kinds, then output kinds, as stored.
pub const INTAKE_KINDS: [&str; 4] = ["oral", "iv", "feed", "other"];
pub const OUTPUT_KINDS: [&str; 5] = ["urine", "drain", "vomit", "stool", "other"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum IoDirection {
    Intake,
    Output,
}
impl Code for IoDirection {}

impl IoDirection {
    pub fn kinds(self) -> &'static [&'static str] {
        match self {
            IoDirection::Intake => &INTAKE_KINDS,
            IoDirection::Output => &OUTPUT_KINDS,
        }
    }
}

/// An entry to record, or a correction of one (`voids_id` and `void_reason`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct IoInput {
    pub admission_id: String,
    /// intake | output
    pub direction: String,
    /// intake: oral | iv | feed | other; output: urine | drain | vomit | stool | other
    pub kind: String,
    /// Millilitres, 1 to [`IO_VOLUME_MAX_ML`]; a correction may be 0 (the entry was a mistake).
    #[specta(type = f64)]
    pub volume_ml: i64,
    /// When it was taken in or measured (RFC 3339); now when empty (a correction: the
    /// voided entry's time).
    pub at: Option<String>,
    pub note: String,
    /// The entry this one corrects.
    pub voids_id: Option<String>,
    /// Why (required with `voids_id`).
    pub void_reason: String,
}

/// One line of the chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct IoEntry {
    pub id: String,
    pub admission_id: String,
    pub direction: IoDirection,
    pub kind: String,
    pub volume_ml: i32,
    pub at: String,
    pub note: String,
    pub recorded_by: Option<String>,
    pub recorded_by_name: String,
    pub voids_id: Option<String>,
    pub void_reason: String,
    /// The correction that voids this entry (it no longer counts).
    pub voided_by: Option<String>,
    /// A second correction of an entry another device corrected first: the one that counts.
    pub duplicate_of: Option<String>,
    /// Whether it counts in the balances.
    pub counts: bool,
}

/// Millilitres in and out over [from, to), with each kind's share.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, specta::Type)]
pub struct IoBalance {
    pub from: String,
    pub to: String,
    pub intake_ml: i32,
    pub output_ml: i32,
    /// Intake less output.
    pub net_ml: i32,
    /// (direction, kind, ml) of each kind with any volume, intake first.
    pub by_kind: Vec<IoKindTotal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct IoKindTotal {
    pub direction: IoDirection,
    pub kind: String,
    pub ml: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ShiftBalance {
    pub shift: Shift,
    pub balance: IoBalance,
}

/// An admission's intake/output chart for one clinic day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct IoChart {
    pub admission_id: String,
    /// The clinic day (YYYY-MM-DD) the balances are for.
    pub day: String,
    /// Every entry of the stay, oldest first (corrections and voided ones too).
    pub entries: Vec<IoEntry>,
    /// Morning, evening and night shifts that start on `day` (the night ends the next morning).
    pub shifts: Vec<ShiftBalance>,
    /// Midnight to midnight on the clinic's clock.
    pub day_total: IoBalance,
}

fn millis(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Records an entry or a correction (nurse). Bad input is a typed error naming the field and
/// writes nothing.
pub async fn record(store: &Store, auth: &Authorized, input: IoInput) -> Result<IoEntry> {
    auth.require(Permission::MarRecord)?;
    let direction = IoDirection::from_code(input.direction.trim())
        .ok_or_else(|| Error::validation("direction", ValidationReason::Invalid, "intake or output"))?;
    let kind = input.kind.trim().to_string();
    if !direction.kinds().contains(&kind.as_str()) {
        return Err(Error::validation("kind", ValidationReason::Invalid, direction.kinds().join(", ")));
    }
    let voids = input.voids_id.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let low = if voids.is_some() { 0 } else { 1 };
    if !(low..=IO_VOLUME_MAX_ML).contains(&input.volume_ml) {
        return Err(Error::validation(
            "volume_ml",
            ValidationReason::OutOfRange,
            format!("from {low} to {IO_VOLUME_MAX_ML} ml"),
        ));
    }
    let note = text("note", &input.note, IO_NOTE_MAX)?;
    let void_reason = text("void_reason", &input.void_reason, IO_NOTE_MAX)?;
    if voids.is_some() && void_reason.is_empty() {
        return Err(Error::validation("void_reason", ValidationReason::Required, "say why the entry is corrected"));
    }
    if voids.is_none() && !void_reason.is_empty() {
        return Err(Error::validation("voids_id", ValidationReason::Required, "which entry is corrected"));
    }
    if let Ok(patient) = admission_patient(store, &input.admission_id).await {
        crate::clinical::restriction::require_chart(store, auth, &patient).await?;
    }
    let mut w = store.begin_write(auth.actor()).await?;
    let (_, admitted_at) = open_admission(&mut w, "admission_id", &input.admission_id).await?;
    let now = w.now_rfc3339();
    let voided_at = match &voids {
        None => None,
        Some(target) => Some(check_voidable(&mut w, &input.admission_id, target).await?),
    };
    let at = match input.at.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(raw) => {
            canonical_time(raw).ok_or_else(|| Error::validation("at", ValidationReason::Invalid, "a date and time"))?
        }
        None => voided_at.unwrap_or_else(|| now.clone()),
    };
    if at > now {
        return Err(Error::validation("at", ValidationReason::OutOfRange, "in the future"));
    }
    if at < admitted_at {
        return Err(Error::validation("at", ValidationReason::OutOfRange, "before the admission"));
    }
    let id = crate::ids::new_id();
    let by = w.actor().user_id.clone();
    let mut cols = vec![
        ("admission_id", json!(input.admission_id)),
        ("direction", json!(direction.code())),
        ("kind", json!(kind)),
        ("volume_ml", json!(input.volume_ml)),
        ("at", json!(at)),
        ("note", json!(note)),
        ("recorded_by", json!(by)),
    ];
    if let Some(target) = &voids {
        cols.push(("voids_id", json!(target)));
        cols.push(("void_reason", json!(void_reason)));
    }
    insert_row(&mut w, "intake_output", &id, &cols).await?;
    w.audit(
        if voids.is_some() { "inpatient.io_correct" } else { "inpatient.io" },
        "intake_output",
        Some(&id),
        json!({ "admission_id": input.admission_id, "direction": direction.code(), "kind": kind,
                "volume_ml": input.volume_ml, "at": at, "voids_id": voids }),
    )
    .await?;
    w.commit().await?;
    let all = entries(store, &input.admission_id).await?;
    all.into_iter().find(|e| e.id == id).ok_or(Error::NotFound { entity: "intake_output".into() })
}

/// That `target` is an entry of this admission that still counts: its time.
async fn check_voidable(w: &mut crate::store::WriteTx<'_>, admission_id: &str, target: &str) -> Result<String> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT admission_id, at FROM intake_output WHERE id = ? AND deleted_at IS NULL")
            .bind(target)
            .fetch_optional(w.conn())
            .await?;
    let Some((of, at)) = row else {
        return Err(Error::validation("voids_id", ValidationReason::Invalid, "no such entry"));
    };
    if of != admission_id {
        return Err(Error::validation("voids_id", ValidationReason::Invalid, "an entry of another stay"));
    }
    let rows = rows_of(w.conn(), admission_id).await?;
    let settled = settle(rows)?;
    match settled.iter().find(|e| e.id == target) {
        Some(e) if e.counts => Ok(canonical_time(&at).unwrap_or(at)),
        Some(e) if e.voided_by.is_some() => {
            Err(Error::validation("voids_id", ValidationReason::Taken, "this entry was already corrected"))
        }
        _ => Err(Error::validation("voids_id", ValidationReason::Invalid, "this entry does not count")),
    }
}

type IoRow =
    (String, String, String, String, i64, String, String, Option<String>, Option<String>, Option<String>, String);

async fn rows_of(conn: &mut sqlx::SqliteConnection, admission_id: &str) -> Result<Vec<IoRow>> {
    Ok(sqlx::query_as(
        "SELECT io.id, io.admission_id, io.direction, io.kind, io.volume_ml, io.at, io.note, io.recorded_by, u.full_name,
                io.voids_id, io.void_reason
         FROM intake_output io LEFT JOIN users u ON u.id = io.recorded_by
         WHERE io.admission_id = ? AND io.deleted_at IS NULL",
    )
    .bind(admission_id)
    .fetch_all(conn)
    .await?)
}

/// Reads the rows into entries and settles which count: of the corrections of one entry the
/// smallest id counts (the others are duplicates); an entry voided by a counting correction
/// does not count. Oldest first by time, then id.
fn settle(rows: Vec<IoRow>) -> Result<Vec<IoEntry>> {
    let mut out = Vec::with_capacity(rows.len());
    for (id, admission_id, direction, kind, volume_ml, at, note, recorded_by, name, voids_id, void_reason) in rows {
        let direction = stored::code("intake_output", &id, "direction", &direction, IoDirection::from_code)?;
        let at = canonical_time(&at).ok_or_else(|| Error::corrupt("intake_output", &id, "at", "not a time"))?;
        let volume_ml = i32::try_from(volume_ml).map_err(|e| Error::corrupt("intake_output", &id, "volume_ml", e))?;
        out.push(IoEntry {
            id,
            admission_id,
            direction,
            kind,
            volume_ml,
            at,
            note,
            recorded_by,
            recorded_by_name: name.unwrap_or_default(),
            voids_id,
            void_reason,
            voided_by: None,
            duplicate_of: None,
            counts: true,
        });
    }
    // The first correction of each entry (ids are UUIDv7: the smaller was minted first).
    let mut first: HashMap<String, String> = HashMap::new();
    let mut corrections: Vec<(&str, &str)> =
        out.iter().filter_map(|e| e.voids_id.as_deref().map(|t| (t, e.id.as_str()))).collect();
    corrections.sort();
    for (target, by) in corrections {
        first.entry(target.to_string()).or_insert_with(|| by.to_string());
    }
    let winners: HashSet<String> = first.values().cloned().collect();
    for e in &mut out {
        if let Some(by) = first.get(&e.id) {
            e.voided_by = Some(by.clone());
            e.counts = false;
        }
        if let Some(target) = &e.voids_id {
            if !winners.contains(&e.id) {
                e.duplicate_of = first.get(target).cloned();
                e.counts = false;
            }
        }
    }
    out.sort_by(|a, b| (&a.at, &a.id).cmp(&(&b.at, &b.id)));
    Ok(out)
}

async fn entries(store: &Store, admission_id: &str) -> Result<Vec<IoEntry>> {
    let mut conn = store.pool().acquire().await?;
    settle(rows_of(&mut conn, admission_id).await?)
}

/// The balance of the entries that count, taken or measured in [from, to).
pub fn balance(entries: &[IoEntry], from: DateTime<Utc>, to: DateTime<Utc>) -> IoBalance {
    let (from_s, to_s) = (millis(from), millis(to));
    let mut b = IoBalance { from: from_s.clone(), to: to_s.clone(), ..Default::default() };
    for e in entries.iter().filter(|e| e.counts && e.at >= from_s && e.at < to_s) {
        match e.direction {
            IoDirection::Intake => b.intake_ml = b.intake_ml.saturating_add(e.volume_ml),
            IoDirection::Output => b.output_ml = b.output_ml.saturating_add(e.volume_ml),
        }
        match b.by_kind.iter_mut().find(|k| k.direction == e.direction && k.kind == e.kind) {
            Some(k) => k.ml = k.ml.saturating_add(e.volume_ml),
            None => b.by_kind.push(IoKindTotal { direction: e.direction, kind: e.kind.clone(), ml: e.volume_ml }),
        }
    }
    b.net_ml = b.intake_ml.saturating_sub(b.output_ml);
    b.by_kind.retain(|k| k.ml != 0);
    b.by_kind.sort_by_key(|k| {
        let order = k.direction.kinds().iter().position(|x| *x == k.kind).unwrap_or(usize::MAX);
        (k.direction == IoDirection::Output, order)
    });
    b
}

/// An admission's chart with the balances of a clinic day (YYYY-MM-DD; today when empty).
pub async fn chart(store: &Store, auth: &Authorized, admission_id: &str, day: Option<&str>) -> Result<IoChart> {
    auth.require(Permission::ClinicalView)?;
    let patient = admission_patient(store, admission_id).await?;
    crate::clinical::restriction::require_chart(store, auth, &patient).await?;
    let tz = crate::clinic::time_zone(store).await?;
    let day = match day.map(str::trim).filter(|d| !d.is_empty()) {
        Some(raw) => NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map_err(|_| Error::validation("day", ValidationReason::Invalid, "a date (YYYY-MM-DD)"))?,
        None => store.now().with_timezone(&tz).date_naive(),
    };
    let entries = entries(store, admission_id).await?;
    let shifts = SHIFTS
        .iter()
        .map(|&shift| {
            let (from, to) = shift_bounds(tz, day, shift);
            ShiftBalance { shift, balance: balance(&entries, from, to) }
        })
        .collect();
    let (from, to) = day_bounds(tz, day);
    let day_total = balance(&entries, from, to);
    Ok(IoChart {
        admission_id: admission_id.to_string(),
        day: day.format("%Y-%m-%d").to_string(),
        entries,
        shifts,
        day_total,
    })
}

/// The entries of many admissions (the handover), settled, by admission.
pub(crate) async fn entries_of(
    conn: &mut sqlx::SqliteConnection,
    admission_ids: &[String],
) -> Result<HashMap<String, Vec<IoEntry>>> {
    let mut out = HashMap::new();
    for id in admission_ids {
        out.insert(id.clone(), settle(rows_of(&mut *conn, id).await?)?);
    }
    Ok(out)
}
