//! The inpatients' conflicts in the sync inbox, derived from the rows every device holds (so
//! every device lists the same ones, under the same ids, open or resolved — whichever device
//! noticed first):
//!
//! - **`bed_needed`**: two admissions given one bed while apart; the board keeps the earlier
//!   and the later *needs a bed* (`derive`). Its id is the admission's `admitted` event. Open
//!   while that patient is in hospital without a bed; resolved (`bed_given`) once they hold
//!   one — given on the bed board by reception or a doctor (`inpatients_transfer`, which the
//!   inbox's administrator does not hold). Gone from the inbox once the patient leaves.
//! - **`dose_twice`**: one dose of a schedule (an order and its `scheduled_at`) recorded by
//!   two devices; the earlier (`given_at`, id) counts (`mar::settle`). Its id is the second
//!   record's.
//! - **`prn_over_limit`**: a PRN dose given when its order's limit of doses in the 24 hours
//!   up to it was already reached, by devices that did not see each other's doses (a device
//!   refuses it locally; rows that arrive are valid where they were made and never refused).
//!   Its id is that dose's record.
//! - **`dose_after_stop`**: a dose given at or after its order's stop — the doctor's stop or
//!   change, or the patient's discharge, as `orders` reads it — by a device that had not seen
//!   the stop (a device refuses it locally, `mar::record`; a dose due before the stop may still
//!   be charted after it). Its id is that dose's record; a dose already listed as recorded
//!   twice or over its limit is listed once, as that.
//!
//! A dose conflict is **reviewed** when someone who holds the inbox (`sync_manage`) records
//! what they found (a `mar_reviews` row naming the MAR entry, with a note: "given once,
//! charted twice", "given twice: Dr Rao told, obs 4-hourly"). The MAR itself never changes
//! (both records stay); the review is synced, so it closes the conflict on every device.

use super::{canonical_time, derived, REASON_MAX};
use crate::clinical::{insert_row, text};
use crate::error::{Error, Result, ValidationReason};
use crate::session::Authorized;
use crate::store::{Store, WriteTx};
use crate::sync::conflicts::{
    ConflictKind, ConflictResolution, ConflictResolver, ConflictSide, DeriveConflicts, DerivedConflicts, Listed,
    ResolveConflict, Resolved, RuleConflict, SyncConflict,
};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use sqlx::SqliteConnection;
use std::collections::HashMap;

struct InpatientConflicts;

impl DeriveConflicts for InpatientConflicts {
    fn conflicts<'a>(&'a self, conn: &'a mut SqliteConnection) -> Listed<'a> {
        Box::pin(async move {
            let mut out = beds_needed(conn).await?;
            out.extend(doses(conn).await?);
            Ok(out)
        })
    }
}

inventory::submit! { DerivedConflicts { source: &InpatientConflicts } }

struct DoseReview;

impl ResolveConflict for DoseReview {
    fn resolve<'a>(
        &'a self,
        _store: &'a Store,
        _auth: &'a Authorized,
        w: &'a mut WriteTx<'_>,
        conflict: &'a RuleConflict<'a>,
        resolution: &'a ConflictResolution,
    ) -> Resolved<'a> {
        Box::pin(async move {
            let ConflictResolution::Review { note } = resolution else { return Ok(false) };
            review(w, conflict.entity_id, note).await?;
            Ok(true)
        })
    }
}

inventory::submit! { ConflictResolver { kind: ConflictKind::DoseTwice, resolver: &DoseReview } }
inventory::submit! { ConflictResolver { kind: ConflictKind::PrnOverLimit, resolver: &DoseReview } }
inventory::submit! { ConflictResolver { kind: ConflictKind::DoseAfterStop, resolver: &DoseReview } }

/// Records the review of a MAR entry (inside the inbox's write, which audits it).
async fn review(w: &mut WriteTx<'_>, entry_id: &str, note: &str) -> Result<()> {
    let note = text("note", note, REASON_MAX)?;
    if note.is_empty() {
        return Err(Error::validation("note", ValidationReason::Required, "what was found"));
    }
    let at = w.now_rfc3339();
    let by = w.actor().user_id.clone();
    let cols =
        [("entry_id", json!(entry_id)), ("note", json!(note)), ("reviewed_at", json!(at)), ("reviewed_by", json!(by))];
    insert_row(w, "mar_reviews", &crate::ids::new_id(), &cols).await
}

fn side(label: String, record_id: Option<String>, value: Value, device: String) -> ConflictSide {
    ConflictSide { label, record_id, value: value.to_string(), stamp: String::new(), device_id: device }
}

fn named(name: &str, mrn: &str) -> String {
    format!("{name} ({mrn})")
}

// ---------------------------------------------------------------------------- beds

type InHospital = (String, String, String, String, String, String);

async fn beds_needed(conn: &mut SqliteConnection) -> Result<Vec<SyncConflict>> {
    let d = derived(&mut *conn).await?;
    let lost: Vec<_> = d
        .conflicts
        .iter()
        .filter(|c| c.kind == super::BoardConflictKind::BedTaken && c.admission_id.is_some())
        .collect();
    if lost.is_empty() {
        return Ok(Vec::new());
    }
    // Patients in hospital: admission → (name, MRN, admitted at, ward, origin device).
    let rows: Vec<InHospital> = sqlx::query_as(
        "SELECT a.id, TRIM(p.given_name || ' ' || p.family_name), p.mrn, a.admitted_at, COALESCE(w.name, ''), a.origin_device
         FROM admissions a JOIN patients p ON p.id = a.patient_id LEFT JOIN wards w ON w.id = a.ward_id
         WHERE a.discharged_at IS NULL AND a.deleted_at IS NULL",
    )
    .fetch_all(&mut *conn)
    .await?;
    let stays: HashMap<&str, &InHospital> = rows.iter().map(|r| (r.0.as_str(), r)).collect();
    let beds: HashMap<String, String> = sqlx::query_as::<_, (String, String)>("SELECT id, label FROM beds")
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect();
    let ids: Vec<&str> = lost.iter().map(|c| c.event_id.as_str()).collect();
    let devices: HashMap<String, String> = sqlx::query_as::<_, (String, String)>(
        "SELECT id, origin_device FROM bed_events WHERE id IN (SELECT value FROM json_each(?))",
    )
    .bind(serde_json::to_string(&ids).map_err(Error::internal)?)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    let mut out = Vec::new();
    for c in lost {
        let Some(adm) = c.admission_id.as_deref() else { continue };
        let Some((_, name, mrn, admitted_at, ward, _)) = stays.get(adm).copied() else { continue };
        let bed = beds.get(&c.bed_id).cloned().unwrap_or_default();
        // Who held the bed when this admission was given it.
        let holder = d.history.keys().find(|a| a.as_str() != adm && d.bed_at(a, &c.at) == Some(c.bed_id.as_str()));
        let keeper = holder.and_then(|h| stays.get(h.as_str()).copied());
        let current = match keeper {
            Some((id, k_name, k_mrn, k_at, _, k_device)) => side(
                named(k_name, k_mrn),
                Some(id.clone()),
                json!({ "patient": named(k_name, k_mrn), "bed": bed, "admitted_at": k_at }),
                k_device.clone(),
            ),
            None => side(String::new(), holder.cloned(), json!({ "bed": bed }), String::new()),
        };
        let placed_at = d.bed_of.get(adm).and(d.history.get(adm)).and_then(|h| h.last()).map(|(at, _)| at.clone());
        let now_in = d.bed_of.get(adm).and_then(|b| beds.get(b)).cloned();
        let other = side(
            named(name, mrn),
            Some(adm.to_string()),
            json!({ "patient": named(name, mrn), "bed": bed, "admitted_at": admitted_at, "ward": ward, "now_in_bed": now_in }),
            devices.get(&c.event_id).cloned().unwrap_or_default(),
        );
        out.push(SyncConflict {
            id: c.event_id.clone(),
            kind: ConflictKind::BedNeeded,
            entity: "admissions".into(),
            entity_id: adm.to_string(),
            field: None,
            label: named(name, mrn),
            current,
            other,
            detected_at: c.at.clone(),
            resolved: placed_at.is_some(),
            resolution: placed_at.as_ref().map(|_| "bed_given".to_string()),
            resolved_at: placed_at,
            resolved_by: None,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------- doses

/// A MAR entry with what the inbox shows of it.
#[derive(sqlx::FromRow, Clone)]
struct Dose {
    id: String,
    order_id: String,
    scheduled_at: Option<String>,
    outcome: String,
    reason: String,
    given_at: String,
    recorded_by: String,
    origin_device: String,
    prn_max: Option<i64>,
    medicine: String,
    patient: String,
    /// The order's stop as `orders` reads it (its own, or the discharge when earlier).
    stop_at: Option<String>,
    stop_reason: Option<String>,
}

/// `stop_at`/`stop_reason` as in `orders::order_columns!`: a discharge stops what it finds open.
const DOSE_COLUMNS: &str = "e.id, e.order_id, e.scheduled_at, e.outcome, e.reason, e.given_at,
    COALESCE(u.full_name, '') AS recorded_by, e.origin_device, o.prn_max_per_day AS prn_max,
    TRIM(COALESCE(m.name, '') || ' ' || o.dose || ' ' || o.dose_unit) AS medicine,
    TRIM(p.given_name || ' ' || p.family_name) || ' (' || p.mrn || ')' AS patient,
    CASE WHEN a.discharged_at IS NOT NULL AND (o.stopped_at IS NULL OR o.stopped_at > a.discharged_at)
      THEN a.discharged_at ELSE o.stopped_at END AS stop_at,
    CASE WHEN a.discharged_at IS NOT NULL AND (o.stopped_at IS NULL OR o.stopped_at > a.discharged_at)
      THEN 'discharged' ELSE o.stop_reason END AS stop_reason
    FROM mar_entries e JOIN inpatient_orders o ON o.id = e.order_id LEFT JOIN medicines m ON m.id = o.medicine_id
    JOIN admissions a ON a.id = o.admission_id JOIN patients p ON p.id = a.patient_id
    LEFT JOIN users u ON u.id = e.recorded_by";

async fn doses(conn: &mut SqliteConnection) -> Result<Vec<SyncConflict>> {
    // Doses of a schedule with more than one record, and PRN doses of orders that have more
    // given than their daily limit at all (only those can be over it in some 24 hours).
    let twice: Vec<Dose> = sqlx::query_as(&format!(
        "SELECT {DOSE_COLUMNS} WHERE e.deleted_at IS NULL AND (e.order_id, e.scheduled_at) IN
            (SELECT order_id, scheduled_at FROM mar_entries WHERE scheduled_at IS NOT NULL AND deleted_at IS NULL
             GROUP BY order_id, scheduled_at HAVING COUNT(*) > 1)"
    ))
    .fetch_all(&mut *conn)
    .await?;
    let prn: Vec<Dose> = sqlx::query_as(&format!(
        "SELECT {DOSE_COLUMNS} WHERE e.deleted_at IS NULL AND e.scheduled_at IS NULL AND e.outcome = 'given'
         AND o.prn_max_per_day IS NOT NULL AND e.order_id IN
            (SELECT e2.order_id FROM mar_entries e2 JOIN inpatient_orders o2 ON o2.id = e2.order_id
             WHERE e2.scheduled_at IS NULL AND e2.outcome = 'given' AND e2.deleted_at IS NULL
             GROUP BY e2.order_id HAVING COUNT(*) > MAX(o2.prn_max_per_day))"
    ))
    .fetch_all(&mut *conn)
    .await?;
    // Given at or after the stop, by the time the local check uses (`mar::record`): the
    // scheduled time of a scheduled dose, the time given of a PRN dose.
    let after_stop: Vec<Dose> = sqlx::query_as(&format!(
        "SELECT * FROM (SELECT {DOSE_COLUMNS} WHERE e.deleted_at IS NULL AND e.outcome = 'given')
         WHERE stop_at IS NOT NULL AND COALESCE(scheduled_at, given_at) >= stop_at"
    ))
    .fetch_all(&mut *conn)
    .await?;
    let mut pairs: Vec<(ConflictKind, Dose, Option<Dose>)> = Vec::new();
    for (first, second) in twice_pairs(twice) {
        pairs.push((ConflictKind::DoseTwice, second, Some(first)));
    }
    for over in over_limit(prn) {
        pairs.push((ConflictKind::PrnOverLimit, over, None));
    }
    // One conflict per dose record: a dose already listed stays under its first kind.
    let listed: std::collections::HashSet<String> = pairs.iter().map(|(_, d, _)| d.id.clone()).collect();
    for dose in after_stop.into_iter().filter(|d| !listed.contains(&d.id)) {
        pairs.push((ConflictKind::DoseAfterStop, dose, None));
    }
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = pairs.iter().map(|(_, d, _)| d.id.as_str()).collect();
    // The first review of each entry closes it.
    let reviews: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT r.entry_id, r.reviewed_at, COALESCE(u.username, ''), r.note FROM mar_reviews r
         LEFT JOIN users u ON u.id = r.reviewed_by
         WHERE r.entry_id IN (SELECT value FROM json_each(?)) AND r.deleted_at IS NULL ORDER BY r.reviewed_at, r.id",
    )
    .bind(serde_json::to_string(&ids).map_err(Error::internal)?)
    .fetch_all(&mut *conn)
    .await?;
    let mut reviewed: HashMap<String, (String, String, String)> = HashMap::new();
    for (entry, at, by, note) in reviews {
        reviewed.entry(entry).or_insert((at, by, note));
    }
    Ok(pairs
        .into_iter()
        .map(|(kind, dose, first)| {
            let review = reviewed.get(&dose.id);
            dose_conflict(kind, dose, first, review)
        })
        .collect())
}

/// The records of a dose in the order that settles them (`mar::settle`: the earlier
/// (`given_at`, id) counts): each later record with the first.
fn twice_pairs(mut doses: Vec<Dose>) -> Vec<(Dose, Dose)> {
    doses.sort_by(|a, b| {
        (&a.order_id, &a.scheduled_at, &a.given_at, &a.id).cmp(&(&b.order_id, &b.scheduled_at, &b.given_at, &b.id))
    });
    let mut out = Vec::new();
    let mut first: Option<&Dose> = None;
    for d in &doses {
        match first {
            Some(f) if f.order_id == d.order_id && f.scheduled_at == d.scheduled_at => out.push((f.clone(), d.clone())),
            _ => first = Some(d),
        }
    }
    out
}

fn utc(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t).ok().map(|t| t.with_timezone(&Utc))
}

/// The PRN doses given when their order's limit was already reached in the 24 hours up to
/// them (counting every dose given before, in (`given_at`, id) order, as a device that had
/// seen them all would have: it would have refused this one).
fn over_limit(mut doses: Vec<Dose>) -> Vec<Dose> {
    doses.sort_by(|a, b| (&a.order_id, &a.given_at, &a.id).cmp(&(&b.order_id, &b.given_at, &b.id)));
    let mut out = Vec::new();
    for (i, d) in doses.iter().enumerate() {
        let (Some(max), Some(at)) = (d.prn_max, utc(&d.given_at)) else { continue };
        let since = at - Duration::hours(24);
        let before = doses[..i]
            .iter()
            .filter(|e| e.order_id == d.order_id && utc(&e.given_at).is_some_and(|t| t > since && t <= at))
            .count();
        if i64::try_from(before).unwrap_or(i64::MAX) >= max {
            out.push(d.clone());
        }
    }
    out
}

fn dose_value(d: &Dose) -> Value {
    json!({ "medicine": d.medicine, "scheduled_at": d.scheduled_at, "outcome": d.outcome, "reason": d.reason,
            "given_at": d.given_at, "recorded_by": d.recorded_by })
}

fn dose_conflict(
    kind: ConflictKind,
    dose: Dose,
    first: Option<Dose>,
    review: Option<&(String, String, String)>,
) -> SyncConflict {
    let current = match &first {
        Some(f) => {
            side(format!("{} {}", f.outcome, f.given_at), Some(f.id.clone()), dose_value(f), f.origin_device.clone())
        }
        // After a stop: the stopped order is what the dose is set against.
        None if kind == ConflictKind::DoseAfterStop => side(
            String::new(),
            Some(dose.order_id.clone()),
            json!({ "medicine": dose.medicine, "stopped_at": dose.stop_at, "stop_reason": dose.stop_reason }),
            String::new(),
        ),
        // Over the limit: the limit itself is what the dose is set against.
        None => side(
            String::new(),
            None,
            json!({ "medicine": dose.medicine, "prn_max_per_day": dose.prn_max }),
            String::new(),
        ),
    };
    let mut value = dose_value(&dose);
    if let Some((_, _, note)) = review {
        value["review"] = json!(note);
    }
    let other =
        side(format!("{} {}", dose.outcome, dose.given_at), Some(dose.id.clone()), value, dose.origin_device.clone());
    let detected_at = canonical_time(&dose.given_at).unwrap_or_else(|| dose.given_at.clone());
    SyncConflict {
        id: dose.id.clone(),
        kind,
        entity: "mar_entries".into(),
        entity_id: dose.id.clone(),
        field: None,
        label: format!("{}: {}", dose.patient, dose.medicine),
        current,
        other,
        detected_at,
        resolved: review.is_some(),
        resolution: review.map(|_| "review".to_string()),
        resolved_at: review.map(|(at, _, _)| at.clone()),
        resolved_by: review.map(|(_, by, _)| by.clone()),
    }
}
