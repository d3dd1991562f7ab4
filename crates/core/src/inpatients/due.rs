//! The ward's due list (a nurse's shift view): for a ward and a time, every inpatient of the
//! ward (in its beds, or on its waiting list) with the doses of their medicine schedules and the
//! vitals of their nursing instructions that are due now or overdue.
//!
//! - a scheduled dose is **due** from [`DUE_AHEAD_MINUTES`] before its time, and **overdue**
//!   once more than [`LATE_AFTER_MINUTES`] late; it leaves the list when the MAR records it
//!   (given, held, refused or missed); doses older than [`LOOKBACK_HOURS`] are not listed;
//! - vitals every N hours are due N hours after the patient's last vitals (the clinical
//!   record's, whoever took them), or at the instruction's start when none were taken since.

use super::orders::{InpatientOrder, OrderKind, OrderRow, ORDER_JSON};
use super::{canonical_time, derived_read, schedule};
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::stored::json_rows;
use crate::store::Store;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sqlx::SqliteConnection;
use std::collections::{HashMap, HashSet};

/// A dose is listed from this many minutes before its time.
pub const DUE_AHEAD_MINUTES: i64 = 30;
/// A dose or vitals more than this many minutes late is overdue.
pub const LATE_AFTER_MINUTES: i64 = 60;
/// Doses due longer ago than this are not listed (record them from the MAR).
pub const LOOKBACK_HOURS: i64 = 24;

/// What is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum DueKind {
    Dose,
    Vitals,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum DueStatus {
    /// Due now (up to [`LATE_AFTER_MINUTES`] late) or shortly.
    Due,
    /// More than [`LATE_AFTER_MINUTES`] late.
    Overdue,
}

/// One thing to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct DueItem {
    pub kind: DueKind,
    pub order_id: String,
    /// A dose: "Paracetamol 650 mg tablet 1 tablet oral"; vitals: the instruction.
    pub what: String,
    /// How many doses at once (a pattern's part: 2 in "1-0-2"); 1 for vitals.
    pub count: u32,
    /// UTC, RFC 3339: the dose's scheduled time (what the MAR records it against) or when
    /// vitals fall due.
    pub due_at: String,
    pub status: DueStatus,
    /// Minutes past `due_at` (negative: not yet).
    pub minutes_late: i32,
    /// Vitals: when they were last taken.
    pub last_vitals_at: Option<String>,
}

/// One inpatient of the ward and what is due for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct DuePatient {
    pub admission_id: String,
    pub patient_id: String,
    pub name: String,
    pub mrn: String,
    /// None: on the ward's waiting list.
    pub bed_id: Option<String>,
    pub bed_label: String,
    pub items: Vec<DueItem>,
}

/// What is due for one inpatient, in counts (a bed card's line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, specta::Type)]
pub struct DueSummary {
    /// Doses due or overdue.
    pub doses: u32,
    /// Vitals due or overdue.
    pub vitals: u32,
    /// Of those, how many are overdue.
    pub overdue: u32,
}

/// The ward's due list at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct WardDueList {
    pub ward_id: String,
    pub at: String,
    pub patients: Vec<DuePatient>,
    /// Items in all: overdue, and due.
    pub overdue: u32,
    pub due: u32,
}

fn utc(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t).ok().map(|t| t.with_timezone(&Utc))
}

fn text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn item(
    kind: DueKind,
    o: &InpatientOrder,
    what: String,
    count: u32,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> DueItem {
    let late = (now - due).num_minutes();
    DueItem {
        kind,
        order_id: o.id.clone(),
        what,
        count,
        due_at: text(due),
        status: if late > LATE_AFTER_MINUTES { DueStatus::Overdue } else { DueStatus::Due },
        minutes_late: i32::try_from(late).unwrap_or(if late < 0 { i32::MIN } else { i32::MAX }),
        last_vitals_at: None,
    }
}

/// The ward's due list at `at` (now when empty), for clinicians.
pub async fn ward_due_list(store: &Store, auth: &Authorized, ward_id: &str, at: Option<&str>) -> Result<WardDueList> {
    auth.require(Permission::ClinicalView)?;
    let now = match at.map(str::trim).filter(|s| !s.is_empty()) {
        None => store.now(),
        Some(raw) => canonical_time(raw)
            .and_then(|t| utc(&t))
            .ok_or_else(|| Error::validation("at", ValidationReason::Invalid, "a date and time"))?,
    };
    let tz = crate::clinic::time_zone(store).await?;
    let mut conn = store.pool().acquire().await?;
    let known: bool = sqlx::query_scalar("SELECT COUNT(*) > 0 FROM wards WHERE id = ? AND deleted_at IS NULL")
        .bind(ward_id)
        .fetch_one(&mut *conn)
        .await?;
    if !known {
        return Err(Error::validation("ward_id", ValidationReason::Invalid, "no such ward"));
    }
    let d = derived_read(store, &mut conn).await?;
    let beds: HashMap<String, String> = json_rows::<(String, String)>(
        &mut conn,
        "SELECT json_group_array(json_array(id, label)) FROM beds WHERE ward_id = ? AND deleted_at IS NULL",
        "beds",
        &[Some(ward_id)],
    )
    .await?
    .into_iter()
    .collect();
    // The ward's inpatients: those in its beds on the board, and those admitted to it and
    // waiting for a bed (one admitted here but lying in another ward's bed is that ward's).
    let in_beds: Vec<&str> =
        d.bed_of.iter().filter(|(_, bed)| beds.contains_key(*bed)).map(|(stay, _)| stay.as_str()).collect();
    type Row = (String, String, String, String, String);
    let rows: Vec<Row> = json_rows(
        &mut conn,
        "SELECT json_group_array(json_array(a.id, a.ward_id, p.id, TRIM(p.given_name || ' ' || p.family_name), p.mrn)
           ORDER BY a.admitted_at, a.id)
         FROM admissions a JOIN patients p ON p.id = a.patient_id
         WHERE a.discharged_at IS NULL AND a.deleted_at IS NULL
           AND (a.id IN (SELECT value FROM json_each(?)) OR a.ward_id = ?)",
        "admissions",
        &[Some(&serde_json::to_string(&in_beds).map_err(Error::internal)?), Some(ward_id)],
    )
    .await?;
    let mut patients: Vec<DuePatient> = Vec::new();
    for (id, admitted_to, patient_id, name, mrn) in rows {
        let bed = d.bed_of.get(&id);
        let here = match bed {
            Some(b) => beds.contains_key(b),
            None => admitted_to == ward_id,
        };
        if here {
            patients.push(DuePatient {
                bed_label: bed.and_then(|b| beds.get(b)).cloned().unwrap_or_default(),
                bed_id: bed.cloned(),
                admission_id: id,
                patient_id,
                name,
                mrn,
                items: Vec::new(),
            });
        }
    }
    let stays: Vec<(&str, &str)> = patients.iter().map(|p| (p.admission_id.as_str(), p.patient_id.as_str())).collect();
    let mut items = items_of(&mut conn, tz, now, &stays).await?;
    let (mut overdue, mut due) = (0u32, 0u32);
    for p in &mut patients {
        p.items = items.remove(&p.admission_id).unwrap_or_default();
        for i in &p.items {
            match i.status {
                DueStatus::Overdue => overdue += 1,
                DueStatus::Due => due += 1,
            }
        }
    }
    patients
        .sort_by(|a, b| (a.bed_id.is_none(), &a.bed_label, &a.name).cmp(&(b.bed_id.is_none(), &b.bed_label, &b.name)));
    Ok(WardDueList { ward_id: ward_id.to_string(), at: text(now), patients, overdue, due })
}

/// What is due at `now` for each of these stays (admission, patient), in time order: the
/// doses of their medicine orders not on the MAR, and the vitals of their nursing orders.
/// Every read is one JSON row (`json_rows`): a row handed over by sqlx's SQLite thread costs
/// more than reading it, and a ward's list reads a thousand small rows.
pub(crate) async fn items_of(
    conn: &mut SqliteConnection,
    tz: Tz,
    now: DateTime<Utc>,
    stays: &[(&str, &str)],
) -> Result<HashMap<String, Vec<DueItem>>> {
    let from = now - Duration::hours(LOOKBACK_HOURS);
    let to = now + Duration::minutes(DUE_AHEAD_MINUTES);
    let admissions: Vec<&str> = stays.iter().map(|(a, _)| *a).collect();
    let list = serde_json::to_string(&admissions).map_err(Error::internal)?;
    let rows: Vec<OrderRow> = json_rows(
        &mut *conn,
        &format!(
            "{ORDER_JSON} WHERE o.admission_id IN (SELECT value FROM json_each(?)) AND o.deleted_at IS NULL
             AND o.kind IN ('medicine', 'nursing') AND o.start_at <= ? AND (o.stopped_at IS NULL OR o.stopped_at > ?)"
        ),
        "inpatient_orders",
        &[Some(&list), Some(&text(to)), Some(&text(from))],
    )
    .await?;
    let orders: Vec<InpatientOrder> = rows.into_iter().map(OrderRow::into_order).collect::<Result<_>>()?;
    let order_ids: Vec<&str> = orders.iter().map(|o| o.id.as_str()).collect();
    // Doses scheduled before `from` are not listed, so their records are not read (times
    // are in the store's form, which the policy holds synced rows to).
    let recorded: HashSet<(String, String)> = json_rows::<(String, String)>(
        &mut *conn,
        "SELECT json_group_array(json_array(order_id, scheduled_at)) FROM mar_entries
         WHERE order_id IN (SELECT value FROM json_each(?)) AND scheduled_at >= ? AND deleted_at IS NULL",
        "mar_entries",
        &[Some(&serde_json::to_string(&order_ids).map_err(Error::internal)?), Some(&text(from))],
    )
    .await?
    .into_iter()
    .map(|(o, at)| (o, canonical_time(&at).unwrap_or(at)))
    .collect();
    let ids: Vec<&str> = stays.iter().map(|(_, p)| *p).collect();
    let last_vitals: HashMap<String, String> = json_rows::<(String, String)>(
        &mut *conn,
        "SELECT json_group_array(json_array(patient_id, taken_at)) FROM (
           SELECT patient_id, MAX(taken_at) AS taken_at FROM vitals
           WHERE patient_id IN (SELECT value FROM json_each(?)) AND deleted_at IS NULL GROUP BY patient_id)",
        "vitals",
        &[Some(&serde_json::to_string(&ids).map_err(Error::internal)?)],
    )
    .await?
    .into_iter()
    .collect();
    let mut by_admission: HashMap<&str, Vec<&InpatientOrder>> = HashMap::new();
    for o in &orders {
        by_admission.entry(o.admission_id.as_str()).or_default().push(o);
    }
    let mut out = HashMap::with_capacity(stays.len());
    for (admission, patient) in stays {
        let Some(list) = by_admission.get(admission) else { continue };
        let mut items = Vec::new();
        for o in list {
            let (Some(start), until) = (utc(&o.start_at), o.until().and_then(utc)) else { continue };
            match o.kind {
                OrderKind::Medicine => {
                    let Some(plan) = o.plan() else { continue };
                    for slot in schedule::slots(plan, tz, start, until, from, to) {
                        if !recorded.contains(&(o.id.clone(), text(slot.at))) {
                            items.push(item(DueKind::Dose, o, o.summary(), slot.count, slot.at, now));
                        }
                    }
                }
                OrderKind::Nursing => {
                    let Some(every) = o.every_hours else { continue };
                    if until.is_some_and(|u| u <= now) {
                        continue;
                    }
                    let last = last_vitals.get(*patient).and_then(|t| utc(t));
                    let due_at = match last {
                        Some(l) if l >= start => l + Duration::hours(i64::from(every)),
                        _ => start,
                    };
                    if due_at <= to {
                        let mut it = item(DueKind::Vitals, o, o.instructions.clone(), 1, due_at, now);
                        it.last_vitals_at = last.map(text);
                        items.push(it);
                    }
                }
                OrderKind::Lab | OrderKind::Diet => {}
            }
        }
        items.sort_by(|a, b| (&a.due_at, &a.order_id).cmp(&(&b.due_at, &b.order_id)));
        out.insert((*admission).to_string(), items);
    }
    Ok(out)
}

/// What a bed card shows of [`items_of`]: doses and vitals due, and how many of them are overdue.
pub(crate) fn summary(items: &[DueItem]) -> DueSummary {
    let mut s = DueSummary::default();
    for i in items {
        match i.kind {
            DueKind::Dose => s.doses += 1,
            DueKind::Vitals => s.vitals += 1,
        }
        if i.status == DueStatus::Overdue {
            s.overdue += 1;
        }
    }
    s
}
