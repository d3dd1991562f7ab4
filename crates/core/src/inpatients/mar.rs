//! The medication administration record: each dose of a medicine order given, held, refused
//! or missed (a reason unless given), by whom and when; PRN doses given with their reason.
//!
//! Entries are append-only. One dose of the schedule (an order and its `scheduled_at`) takes
//! one entry: a second is refused (`scheduled_at`, `taken`). Two devices offline may each record
//! the same dose; once their rows meet, every device settles it the same way — the entry with
//! the earlier (`given_at`, `id`) counts, the other is shown as recorded twice
//! (`duplicate_of`) — and neither record is lost.

use super::orders::{self, DoseSchedule, InpatientOrder, OrderKind};
use super::schedule;
use super::{canonical_time, REASON_MAX};
use crate::clinical::{insert_row, text};
use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{stored, Store};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;

/// What became of a dose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum MarOutcome {
    Given,
    /// Held back on purpose (a low pressure before an antihypertensive, nil by mouth).
    Held,
    /// The patient refused it.
    Refused,
    /// Not given, and nobody held it: the reason says why.
    Missed,
}
impl Code for MarOutcome {}

/// A dose to record.
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct DoseInput {
    pub order_id: String,
    /// The dose of the schedule (RFC 3339, as the due list gives it); none for a PRN dose.
    pub scheduled_at: Option<String>,
    /// given | held | refused | missed
    pub outcome: String,
    /// Required unless given; a PRN dose's reason (pain, fever) is required too.
    pub reason: String,
    /// When it was given (RFC 3339); now when empty.
    pub given_at: Option<String>,
}

/// One line of the MAR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct MarEntry {
    pub id: String,
    pub order_id: String,
    pub scheduled_at: Option<String>,
    pub outcome: MarOutcome,
    pub reason: String,
    pub given_at: String,
    pub recorded_by: Option<String>,
    /// The user's name as the account reads ("" when unknown).
    pub recorded_by_name: String,
    /// Recorded twice (two devices met): the entry that counts for this dose.
    pub duplicate_of: Option<String>,
}

fn time(field: &str, raw: &str) -> Result<String> {
    canonical_time(raw).ok_or_else(|| Error::validation(field, ValidationReason::Invalid, "a date and time"))
}

fn utc(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t).ok().map(|t| t.with_timezone(&Utc))
}

/// Records one dose (nurse).
pub async fn record(store: &Store, auth: &Authorized, input: DoseInput) -> Result<MarEntry> {
    auth.require(Permission::MarRecord)?;
    let outcome = MarOutcome::from_code(input.outcome.trim())
        .ok_or_else(|| Error::validation("outcome", ValidationReason::Invalid, "given, held, refused or missed"))?;
    let reason = text("reason", &input.reason, REASON_MAX)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let order = orders::load(w.conn(), &input.order_id)
        .await?
        .ok_or_else(|| Error::validation("order_id", ValidationReason::Invalid, "no such order"))?;
    let plan = match (order.kind, order.plan()) {
        (OrderKind::Medicine, Some(plan)) => plan,
        _ => return Err(Error::validation("order_id", ValidationReason::Invalid, "not a medicine order")),
    };
    let now = w.now_rfc3339();
    let given_at = match input.given_at.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => now.clone(),
        Some(raw) => time("given_at", raw)?,
    };
    if given_at > now {
        return Err(Error::validation("given_at", ValidationReason::OutOfRange, "in the future"));
    }
    let prn = order.schedule == Some(DoseSchedule::Prn);
    if reason.is_empty() && (outcome != MarOutcome::Given || prn) {
        let why = if prn { "why the PRN dose was given" } else { "why the dose was not given" };
        return Err(Error::validation("reason", ValidationReason::Required, why));
    }
    let scheduled_at = if prn {
        if outcome != MarOutcome::Given {
            return Err(Error::validation("outcome", ValidationReason::Invalid, "a PRN dose is recorded when given"));
        }
        if input.scheduled_at.as_deref().is_some_and(|s| !s.trim().is_empty()) {
            return Err(Error::validation(
                "scheduled_at",
                ValidationReason::Invalid,
                "a PRN dose has no scheduled time",
            ));
        }
        None
    } else {
        let raw = input.scheduled_at.as_deref().map(str::trim).filter(|s| !s.is_empty()).ok_or_else(|| {
            Error::validation("scheduled_at", ValidationReason::Required, "which dose of the schedule")
        })?;
        Some(time("scheduled_at", raw)?)
    };
    // A stopped order takes no dose from its stop on (a dose due before it may still be charted).
    let dose_time = scheduled_at.as_deref().unwrap_or(&given_at);
    if order.stopped_at.as_deref().is_some_and(|s| dose_time >= s) {
        return Err(Error::validation("order_id", ValidationReason::Invalid, "this order was stopped"));
    }
    if let Some(at) = &scheduled_at {
        let tz = crate::clinic::time_zone_in(&mut w).await?;
        let (Some(t), Some(start)) = (utc(at), utc(&order.start_at)) else {
            return Err(Error::validation("scheduled_at", ValidationReason::Invalid, "a date and time"));
        };
        let until = order.until().and_then(utc);
        if schedule::slots(plan, tz, start, until, t, t).is_empty() {
            return Err(Error::validation("scheduled_at", ValidationReason::Invalid, "not a dose time of this order"));
        }
        let already: Option<(String, String)> = sqlx::query_as(
            "SELECT outcome, given_at FROM mar_entries WHERE order_id = ? AND scheduled_at = ? AND deleted_at IS NULL
             ORDER BY given_at, id LIMIT 1",
        )
        .bind(&order.id)
        .bind(at)
        .fetch_optional(w.conn())
        .await?;
        if let Some((was, when)) = already {
            return Err(Error::validation(
                "scheduled_at",
                ValidationReason::Taken,
                format!("this dose was already recorded ({was} at {when})"),
            ));
        }
    } else if let Some(max) = order.prn_max_per_day {
        let since = utc(&given_at)
            .map(|t| t - Duration::hours(24))
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        let given: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM mar_entries WHERE order_id = ? AND scheduled_at IS NULL AND outcome = 'given'
             AND given_at > ? AND given_at <= ? AND deleted_at IS NULL",
        )
        .bind(&order.id)
        .bind(since)
        .bind(&given_at)
        .fetch_one(w.conn())
        .await?;
        if given >= i64::from(max) {
            return Err(Error::validation(
                "given_at",
                ValidationReason::OutOfRange,
                format!("at most {max} doses of this PRN order in 24 hours"),
            ));
        }
    }
    let admitted_at: String = sqlx::query_scalar("SELECT admitted_at FROM admissions WHERE id = ?")
        .bind(&order.admission_id)
        .fetch_one(w.conn())
        .await?;
    if given_at < canonical_time(&admitted_at).unwrap_or(admitted_at) {
        return Err(Error::validation("given_at", ValidationReason::OutOfRange, "before the admission"));
    }
    let id = crate::ids::new_id();
    let by = w.actor().user_id.clone();
    let mut cols = vec![
        ("order_id", json!(order.id)),
        ("outcome", json!(outcome.code())),
        ("reason", json!(reason)),
        ("given_at", json!(given_at)),
        ("recorded_by", json!(by)),
    ];
    if let Some(at) = &scheduled_at {
        cols.push(("scheduled_at", json!(at)));
    }
    insert_row(&mut w, "mar_entries", &id, &cols).await?;
    w.audit(
        "mar.record",
        "mar_entry",
        Some(&id),
        json!({ "order_id": order.id, "admission_id": order.admission_id, "scheduled_at": scheduled_at,
                "outcome": outcome.code(), "reason": reason, "given_at": given_at }),
    )
    .await?;
    w.commit().await?;
    let entries = entries_of(store, std::slice::from_ref(&order)).await?;
    entries.into_iter().find(|e| e.id == id).ok_or(Error::NotFound { entity: "mar_entry".into() })
}

type EntryRow = (String, String, Option<String>, String, String, String, Option<String>, Option<String>);

/// The entries of these orders, settled (see the module): by order, then dose time, then
/// (given_at, id).
pub(crate) async fn entries_of(store: &Store, orders: &[InpatientOrder]) -> Result<Vec<MarEntry>> {
    let ids: Vec<&str> = orders.iter().map(|o| o.id.as_str()).collect();
    let rows: Vec<EntryRow> = sqlx::query_as(
        "SELECT e.id, e.order_id, e.scheduled_at, e.outcome, e.reason, e.given_at, e.recorded_by, u.full_name
         FROM mar_entries e LEFT JOIN users u ON u.id = e.recorded_by
         WHERE e.order_id IN (SELECT value FROM json_each(?)) AND e.deleted_at IS NULL",
    )
    .bind(serde_json::to_string(&ids).map_err(Error::internal)?)
    .fetch_all(store.pool())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, order_id, scheduled_at, outcome, reason, given_at, recorded_by, name) in rows {
        let outcome = stored::code("mar_entries", &id, "outcome", &outcome, MarOutcome::from_code)?;
        let canon = |field: &str, t: &str| {
            canonical_time(t).ok_or_else(|| Error::corrupt("mar_entries", &id, field, "not an RFC 3339 time"))
        };
        let given_at = canon("given_at", &given_at)?;
        let scheduled_at = scheduled_at.map(|t| canon("scheduled_at", &t)).transpose()?;
        out.push(MarEntry {
            id,
            order_id,
            scheduled_at,
            outcome,
            reason,
            given_at,
            recorded_by,
            recorded_by_name: name.unwrap_or_default(),
            duplicate_of: None,
        });
    }
    settle(&mut out);
    Ok(out)
}

/// Orders the entries and marks every entry of a dose after its first as a duplicate of it.
pub fn settle(entries: &mut [MarEntry]) {
    entries.sort_by(|a, b| {
        (&a.order_id, a.scheduled_at.is_none(), &a.scheduled_at, &a.given_at, &a.id).cmp(&(
            &b.order_id,
            b.scheduled_at.is_none(),
            &b.scheduled_at,
            &b.given_at,
            &b.id,
        ))
    });
    let mut first: HashMap<(String, String), String> = HashMap::new();
    for e in entries.iter_mut() {
        let Some(at) = &e.scheduled_at else { continue };
        let key = (e.order_id.clone(), at.clone());
        match first.get(&key) {
            Some(id) => e.duplicate_of = Some(id.clone()),
            None => {
                first.insert(key, e.id.clone());
            }
        }
    }
}

/// An admission's MAR: its medicine orders and every entry (clinicians).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Mar {
    pub orders: Vec<InpatientOrder>,
    pub entries: Vec<MarEntry>,
}

pub async fn mar(store: &Store, auth: &Authorized, admission_id: &str) -> Result<Mar> {
    let orders: Vec<InpatientOrder> = orders::orders(store, auth, admission_id)
        .await?
        .into_iter()
        .filter(|o| o.kind == OrderKind::Medicine)
        .collect();
    let entries = entries_of(store, &orders).await?;
    Ok(Mar { orders, entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, at: Option<&str>, given: &str) -> MarEntry {
        MarEntry {
            id: id.into(),
            order_id: "o".into(),
            scheduled_at: at.map(str::to_string),
            outcome: MarOutcome::Given,
            reason: String::new(),
            given_at: given.into(),
            recorded_by: None,
            recorded_by_name: String::new(),
            duplicate_of: None,
        }
    }

    #[test]
    fn the_earlier_record_of_a_dose_counts_whatever_order_they_arrive_in() {
        let a = entry("b-1", Some("2026-12-05T08:00:00.000Z"), "2026-12-05T08:05:00.000Z");
        let b = entry("a-2", Some("2026-12-05T08:00:00.000Z"), "2026-12-05T08:07:00.000Z");
        let prn = entry("c-3", None, "2026-12-05T09:00:00.000Z");
        for mut list in [vec![a.clone(), b.clone(), prn.clone()], vec![prn.clone(), b.clone(), a.clone()]] {
            settle(&mut list);
            let got: Vec<(&str, Option<&str>)> =
                list.iter().map(|e| (e.id.as_str(), e.duplicate_of.as_deref())).collect();
            assert_eq!(got, vec![("b-1", None), ("a-2", Some("b-1")), ("c-3", None)]);
        }
        // The same time on both: the id decides.
        let mut same = vec![entry("z", Some("t"), "g"), entry("y", Some("t"), "g")];
        settle(&mut same);
        assert_eq!(same[1].duplicate_of.as_deref(), Some("y"));
    }
}
