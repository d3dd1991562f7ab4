//! The conflicts inbox: what a merge could not settle silently, kept for a person (never
//! dropped), listed with both sides in words a person recognises, and resolved by a normal
//! synced write (through `WriteTx::record_change`) with an audit entry `sync.conflict_resolved`.
//!
//! Kinds: `field` (a value lost to a concurrent newer one), `slot_double_booked` and
//! `mrn_duplicate` (the tables' own rules: `schedule::slot_rule`, `patients::mrn_rule`), `refused` (a change that could not be applied);
//! and kinds **derived from the data** on every read rather than recorded when a merge noticed
//! them (`bed_needed`, `dose_twice`, `prn_over_limit`, `dose_after_stop`: `inpatients::conflicts`;
//! `order_changed_twice`: `inpatients::changed_twice`; `stock_below_zero`: `stock::below_zero`),
//! so that every
//! device that holds the same rows lists the same ones, open or resolved, under the same ids
//! ([`DerivedConflicts`]).
//! Listing and resolving need `sync_manage` (administrators). The inbox resolves its own
//! kinds (`field`, `refused`); a kind a table's rule raises is resolved by the resolver that
//! rule's module registers ([`ConflictResolver`]), so that this module names no domain module.
//!
//! A resolution writes a new value with a new stamp, which every other device merges like any
//! change: their open records of the same conflict close themselves (a field conflict when a
//! newer value of its field arrives, a slot or MRN conflict when the rule no longer bites).

use super::conflict_log::{mark, supersede};
use super::rows::{self, quote, stamp_of, table_of, Columns};
use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{ChangeOp, Store, WriteTx};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::SqliteConnection;
use std::future::Future;
use std::pin::Pin;

/// What kind of conflict a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    /// A field's value lost to a newer value made on another device without seeing it.
    Field,
    /// Two active appointments in one doctor's slot: `current` keeps it, `other` is held.
    SlotDoubleBooked,
    /// One MRN on two patients: `current` keeps it, `other` has a stand-in number.
    MrnDuplicate,
    /// A change that could not be applied here at all.
    Refused,
    /// Two admissions given one bed: `current` keeps it, `other` needs a bed (derived from the
    /// bed board; resolved when that patient is given a bed).
    BedNeeded,
    /// One dose of the MAR recorded twice: `current` counts, `other` is the second record
    /// (derived; resolved by a review).
    DoseTwice,
    /// A PRN dose given beyond its order's limit in 24 hours, by devices that did not see each
    /// other's doses (derived; resolved by a review).
    PrnOverLimit,
    /// A dose given at or after its order's stop (or its patient's discharge), by a device that
    /// had not seen the stop: `current` is the stopped order, `other` the dose (derived;
    /// resolved by a review).
    DoseAfterStop,
    /// One order changed on two devices apart: two replacements of it open at once. `current`
    /// is the first replacement, `other` the second (derived; resolved when a doctor stops the
    /// one not wanted on the patient's orders).
    OrderChangedTwice,
    /// A batch below zero in a store (negative stock not allowed): devices' movements met.
    /// `current` is the balance, `other` the last movement taking from it (derived; gone when
    /// a delivery, transfer or count correction brings it back to zero or above).
    StockBelowZero,
}

impl crate::codes::Code for ConflictKind {}

/// One side of a conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ConflictSide {
    /// What a person recognises: the patient and MRN, or the appointment's patient, doctor,
    /// date and time and status; for a field conflict, the value.
    pub label: String,
    /// The appointment or patient this side is (rule conflicts).
    pub record_id: Option<String>,
    /// The data as JSON text (the field's value, or the row).
    pub value: String,
    /// The clock stamp of the value ("" when not known).
    pub stamp: String,
    /// The device that wrote it ("" when not known).
    pub device_id: String,
}

/// A conflict record as the inbox shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct SyncConflict {
    pub id: String,
    pub kind: ConflictKind,
    /// The synced table (`patients`, `appointments`, ...).
    pub entity: String,
    pub entity_id: String,
    /// The field of a field conflict (`mrn` for an MRN conflict).
    pub field: Option<String>,
    /// The record in words: "Amina Mwakyusa (K7Q2-000123)", "Dr. Rao, 2026-11-23 09:30".
    pub label: String,
    /// The value in force / the appointment keeping the slot / the patient keeping the MRN.
    pub current: ConflictSide,
    /// The losing value / the appointment held off the slot / the patient with a stand-in MRN
    /// / the refused change.
    pub other: ConflictSide,
    pub detected_at: String,
    pub resolved: bool,
    /// `keep_current`, `take_other`, `cancel`, `move`, `renumber`, `dismiss`, or `auto` (the
    /// conflict went away by itself: a newer value, the other booking cancelled, ...).
    pub resolution: Option<String>,
    pub resolved_at: Option<String>,
    /// Username of who resolved it.
    pub resolved_by: Option<String>,
}

/// How to resolve a conflict. Which ones apply depends on its kind:
/// field: `keep_current`, `take_other`; slot: `cancel_appointment` (either of the two),
/// `move_appointment` (either, to a free slot); MRN: `renumber` (a new MRN from this
/// device's series for the patient with the stand-in), `dismiss`; refused: `dismiss`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, specta::Type)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ConflictResolution {
    KeepCurrent,
    TakeOther,
    CancelAppointment {
        appointment_id: String,
        reason: String,
    },
    MoveAppointment {
        appointment_id: String,
        doctor_id: String,
        date: String,
        start: String,
    },
    Renumber,
    Dismiss,
    /// A dose recorded twice or over its PRN limit was looked into: what was found.
    Review {
        note: String,
    },
}

impl ConflictResolution {
    fn code(&self) -> &'static str {
        match self {
            ConflictResolution::KeepCurrent => "keep_current",
            ConflictResolution::TakeOther => "take_other",
            ConflictResolution::CancelAppointment { .. } => "cancel",
            ConflictResolution::MoveAppointment { .. } => "move",
            ConflictResolution::Renumber => "renumber",
            ConflictResolution::Dismiss => "dismiss",
            ConflictResolution::Review { .. } => "review",
        }
    }
}

// ---------------------------------------------------------------------------- the inbox

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    kind: String,
    entity: String,
    entity_id: String,
    field: Option<String>,
    other_id: Option<String>,
    local: String,
    remote: String,
    local_hlc: String,
    remote_hlc: String,
    remote_device: String,
    detected_at: String,
    resolved: i64,
    resolution: Option<String>,
    resolved_at: Option<String>,
    resolved_by: Option<String>,
}

const SELECT: &str = "SELECT c.id, c.kind, c.entity, c.entity_id, c.field, c.other_id, c.local, c.remote, c.local_hlc,
        c.remote_hlc, c.remote_device, c.detected_at, c.resolved, c.resolution, c.resolved_at, u.username AS resolved_by
    FROM sync_conflicts c LEFT JOIN users u ON u.id = c.resolved_by";

/// At most this many conflicts are listed (open first, newest first).
pub const MAX_LISTED: i64 = 500;

/// The conflicts, open ones first, newest first; resolved ones too if asked.
pub async fn list(store: &Store, auth: &Authorized, include_resolved: bool) -> Result<Vec<SyncConflict>> {
    auth.require(Permission::SyncManage)?;
    let sql = format!(
        "{SELECT} WHERE (? OR c.resolved = 0) ORDER BY c.resolved, c.detected_at DESC, c.id DESC LIMIT {MAX_LISTED}"
    );
    let rows: Vec<Row> = sqlx::query_as(&sql).bind(include_resolved).fetch_all(store.pool()).await?;
    let mut conn = store.pool().acquire().await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(view(&mut conn, row).await?);
    }
    out.extend(derived(&mut conn).await?.into_iter().filter(|c| include_resolved || !c.resolved));
    out.sort_by(|a, b| (a.resolved, &b.detected_at, &b.id).cmp(&(b.resolved, &a.detected_at, &a.id)));
    out.truncate(usize::try_from(MAX_LISTED).unwrap_or(usize::MAX));
    Ok(out)
}

/// Answers the conflicts a module derives from its rows (open and resolved), the same on every
/// device that holds the same rows.
pub type Listed<'a> = Pin<Box<dyn Future<Output = Result<Vec<SyncConflict>>> + Send + 'a>>;

/// A module's conflicts that are read from the data rather than recorded by a merge.
pub trait DeriveConflicts: Sync {
    fn conflicts<'a>(&'a self, conn: &'a mut SqliteConnection) -> Listed<'a>;
}

/// A source of derived conflicts, registered by its module
/// (`inventory::submit! { DerivedConflicts { source: &InpatientConflicts } }`).
pub struct DerivedConflicts {
    pub source: &'static dyn DeriveConflicts,
}

inventory::collect!(DerivedConflicts);

/// Every derived conflict, open and resolved.
async fn derived(conn: &mut SqliteConnection) -> Result<Vec<SyncConflict>> {
    let mut out = Vec::new();
    for d in inventory::iter::<DerivedConflicts> {
        out.extend(d.source.conflicts(&mut *conn).await?);
    }
    Ok(out)
}

async fn one(conn: &mut SqliteConnection, id: &str) -> Result<Row> {
    sqlx::query_as(&format!("{SELECT} WHERE c.id = ?"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| Error::NotFound { entity: "sync conflict".into() })
}

async fn view(conn: &mut SqliteConnection, row: Row) -> Result<SyncConflict> {
    let kind = crate::store::stored::code("sync_conflicts", &row.id, "kind", &row.kind, ConflictKind::from_code)?;
    let label = record_label(conn, &row.entity, &row.entity_id).await?;
    let side = |label: String, record_id: Option<String>, value: &str, stamp: &str, device: &str| ConflictSide {
        label,
        record_id,
        value: value.to_string(),
        stamp: stamp.to_string(),
        device_id: device.to_string(),
    };
    let local_device = rows::stamp_device_of(&row.local_hlc);
    let (current, other) = match kind {
        ConflictKind::Field => {
            let field = row.field.clone().unwrap_or_default();
            let pick = |json: &str| {
                serde_json::from_str::<Value>(json).ok().and_then(|v| v.get(&field).cloned()).unwrap_or(Value::Null)
            };
            let (now, lost) = (pick(&row.local), pick(&row.remote));
            (
                side(show(&now), None, &now.to_string(), &row.local_hlc, &local_device),
                side(show(&lost), None, &lost.to_string(), &row.remote_hlc, &row.remote_device),
            )
        }
        ConflictKind::SlotDoubleBooked | ConflictKind::MrnDuplicate => {
            // The record keeping the slot or number is of the same table.
            let keeper = row.other_id.clone().unwrap_or_default();
            (
                side(
                    record_label(conn, &row.entity, &keeper).await?,
                    Some(keeper),
                    &row.local,
                    &row.local_hlc,
                    &local_device,
                ),
                side(label.clone(), Some(row.entity_id.clone()), &row.remote, &row.remote_hlc, &row.remote_device),
            )
        }
        ConflictKind::BedNeeded
        | ConflictKind::DoseTwice
        | ConflictKind::PrnOverLimit
        | ConflictKind::DoseAfterStop
        | ConflictKind::OrderChangedTwice
        | ConflictKind::StockBelowZero => {
            // Derived kinds are never stored; a row claiming one is damaged.
            return Err(Error::corrupt("sync_conflicts", &row.id, "kind", "a derived kind is never recorded"));
        }
        ConflictKind::Refused => {
            let why =
                serde_json::from_str::<Value>(&row.local).ok().and_then(|v| v["refused"].as_str().map(str::to_string));
            (
                side(why.unwrap_or_default(), None, &row.local, &row.local_hlc, &local_device),
                side(label.clone(), Some(row.entity_id.clone()), &row.remote, &row.remote_hlc, &row.remote_device),
            )
        }
    };
    Ok(SyncConflict {
        id: row.id,
        kind,
        entity: row.entity,
        entity_id: row.entity_id,
        field: row.field,
        label,
        current,
        other,
        detected_at: row.detected_at,
        resolved: row.resolved == 1,
        resolution: row.resolution,
        resolved_at: row.resolved_at,
        resolved_by: row.resolved_by,
    })
}

/// A value as a person reads it.
fn show(v: &Value) -> String {
    match v {
        Value::Null => "(empty)".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The record in words, as its table's rules give it.
async fn record_label(conn: &mut SqliteConnection, entity: &str, id: &str) -> Result<String> {
    let label = rows::rules_of(entity).label(conn, id).await?;
    Ok(label.unwrap_or_else(|| format!("{entity} {id}")))
}

// ---------------------------------------------------------------------------- resolving

fn invalid(message: &str) -> Error {
    Error::validation("resolution", ValidationReason::Invalid, message)
}

fn not_applicable() -> Error {
    invalid("this resolution does not apply to this kind of conflict")
}

/// A conflict that a table's own rule raised, as its resolver sees it.
pub struct RuleConflict<'a> {
    /// The table of both records.
    pub entity: &'a str,
    /// The record that lost (held off the slot, given a stand-in number).
    pub entity_id: &'a str,
    /// The record that kept it.
    pub other_id: Option<&'a str>,
}

impl RuleConflict<'_> {
    /// Whether `id` is one of the conflict's two records.
    pub fn names(&self, id: &str) -> bool {
        id == self.entity_id || Some(id) == self.other_id
    }
}

/// What a resolver answers: `true` when it carried the resolution out inside the write,
/// `false` when that resolution does not apply to its kind of conflict.
pub type Resolved<'a> = Pin<Box<dyn Future<Output = Result<bool>> + Send + 'a>>;

/// Carries out a person's resolution of the conflicts one table rule raises, inside the
/// inbox's write (which then marks the record resolved and audits it).
pub trait ResolveConflict: Sync {
    fn resolve<'a>(
        &'a self,
        store: &'a Store,
        auth: &'a Authorized,
        w: &'a mut WriteTx<'_>,
        conflict: &'a RuleConflict<'a>,
        resolution: &'a ConflictResolution,
    ) -> Resolved<'a>;
}

/// The resolver of one kind of conflict, registered by the module whose rule raises that kind
/// (`inventory::submit! { ConflictResolver { kind: ConflictKind::MrnDuplicate, resolver: &MrnResolver } }`).
pub struct ConflictResolver {
    pub kind: ConflictKind,
    pub resolver: &'static dyn ResolveConflict,
}

inventory::collect!(ConflictResolver);

fn resolver_of(kind: ConflictKind) -> Option<&'static dyn ResolveConflict> {
    inventory::iter::<ConflictResolver>.into_iter().find(|r| r.kind == kind).map(|r| r.resolver)
}

/// Resolves a conflict: writes the chosen outcome as a normal synced change, marks the record
/// resolved and audits it, in one transaction. Answers the record as it now stands.
pub async fn resolve(
    store: &Store,
    auth: &Authorized,
    id: &str,
    resolution: ConflictResolution,
) -> Result<SyncConflict> {
    auth.require(Permission::SyncManage)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let row = match one(w.conn(), id).await {
        Err(Error::NotFound { .. }) => return resolve_derived(store, auth, w, id, resolution).await,
        other => other?,
    };
    if row.resolved == 1 {
        return Err(Error::validation("id", ValidationReason::Invalid, "this conflict is already resolved"));
    }
    let kind = crate::store::stored::code("sync_conflicts", &row.id, "kind", &row.kind, ConflictKind::from_code)?;
    match (kind, &resolution) {
        (ConflictKind::Field, ConflictResolution::KeepCurrent) => keep_field(&mut w, &row, false).await?,
        (ConflictKind::Field, ConflictResolution::TakeOther) => keep_field(&mut w, &row, true).await?,
        (ConflictKind::Refused, ConflictResolution::Dismiss) => {}
        (ConflictKind::Field | ConflictKind::Refused, _) => return Err(not_applicable()),
        // Derived kinds have no record here (they are resolved above).
        (
            ConflictKind::BedNeeded
            | ConflictKind::DoseTwice
            | ConflictKind::PrnOverLimit
            | ConflictKind::DoseAfterStop
            | ConflictKind::OrderChangedTwice
            | ConflictKind::StockBelowZero,
            _,
        ) => return Err(not_applicable()),
        // A kind a table's rule raised: that rule's module resolves it.
        (kind, resolution) => {
            let conflict =
                RuleConflict { entity: &row.entity, entity_id: &row.entity_id, other_id: row.other_id.as_deref() };
            let done = match resolver_of(kind) {
                Some(r) => r.resolve(store, auth, &mut w, &conflict, resolution).await?,
                None => false,
            };
            if !done {
                return Err(not_applicable());
            }
        }
    }
    let (now, by) = (w.now_rfc3339(), auth.user_id.clone());
    mark(w.conn(), id, resolution.code(), &now, Some(&by)).await?;
    w.audit(
        "sync.conflict_resolved",
        &row.entity,
        Some(&row.entity_id),
        json!({ "conflict": id, "kind": row.kind, "field": row.field, "other_id": row.other_id, "resolution": resolution }),
    )
    .await?;
    w.commit().await?;
    let mut conn = store.pool().acquire().await?;
    let row = one(&mut conn, id).await?;
    view(&mut conn, row).await
}

/// Resolves a derived conflict through its kind's resolver: the resolver's write is what closes
/// it (on every device, once synced), so nothing is marked here.
async fn resolve_derived(
    store: &Store,
    auth: &Authorized,
    mut w: WriteTx<'_>,
    id: &str,
    resolution: ConflictResolution,
) -> Result<SyncConflict> {
    let found = derived(w.conn()).await?.into_iter().find(|c| c.id == id);
    let Some(c) = found else {
        return Err(Error::NotFound { entity: "sync conflict".into() });
    };
    if c.resolved {
        return Err(Error::validation("id", ValidationReason::Invalid, "this conflict is already resolved"));
    }
    let conflict =
        RuleConflict { entity: &c.entity, entity_id: &c.entity_id, other_id: c.current.record_id.as_deref() };
    let done = match resolver_of(c.kind) {
        Some(r) => r.resolve(store, auth, &mut w, &conflict, &resolution).await?,
        None => false,
    };
    if !done {
        return Err(not_applicable());
    }
    w.audit(
        "sync.conflict_resolved",
        &c.entity,
        Some(&c.entity_id),
        json!({ "conflict": id, "kind": c.kind.code(), "other_id": c.current.record_id, "resolution": resolution }),
    )
    .await?;
    w.commit().await?;
    let mut conn = store.pool().acquire().await?;
    derived(&mut conn).await?.into_iter().find(|c| c.id == id).ok_or(Error::NotFound { entity: "sync conflict".into() })
}

/// Writes the field of a field conflict again: the value in force (`take_other` false) or the
/// one that lost, with this write's stamp, so that it wins everywhere.
async fn keep_field(w: &mut WriteTx<'_>, row: &Row, take_other: bool) -> Result<()> {
    let field = row.field.clone().ok_or_else(|| invalid("this conflict names no field"))?;
    let Some((table, id_col)) = table_of(&row.entity) else {
        return Err(invalid("this table is not synced in this version"));
    };
    let value = if take_other {
        serde_json::from_str::<Value>(&row.remote).ok().and_then(|v| v.get(&field).cloned()).unwrap_or(Value::Null)
    } else {
        let cols = Columns::default().get(w.conn(), table).await.map_err(to_app)?.to_vec();
        let current = rows::row_json(w, table, id_col, &row.entity_id, &cols).await.map_err(to_app)?;
        current.get(&field).cloned().ok_or_else(|| Error::NotFound { entity: row.entity.clone() })?
    };
    write_field(w, table, &row.entity_id, &field, &value).await
}

fn to_app(e: super::SyncError) -> Error {
    match e {
        super::SyncError::App(e) => e,
        other => Error::internal(other),
    }
}

/// Sets one field of a synced row as a normal local write: stamped, into the outbox.
pub(crate) async fn write_field(w: &mut WriteTx<'_>, entity: &str, id: &str, field: &str, value: &Value) -> Result<()> {
    let Some((table, id_col)) = table_of(entity) else {
        return Err(invalid("this table is not synced in this version"));
    };
    let cols = Columns::default().get(w.conn(), table).await.map_err(to_app)?.to_vec();
    if field == id_col || !cols.iter().any(|c| c == field) {
        return Err(invalid("this field cannot be set"));
    }
    let (stamp, by) = (w.stamp(), w.actor().user_id.clone());
    let mut sets = vec![(field.to_string(), value.clone())];
    let mut data = json!({ field: value });
    if cols.iter().any(|c| c == "updated_at") {
        sets.push(("updated_at".into(), Value::String(stamp.clone())));
        data["updated_at"] = json!(stamp);
    }
    if cols.iter().any(|c| c == "updated_by") {
        sets.push(("updated_by".into(), json!(by)));
        data["updated_by"] = json!(by);
    }
    let found: Option<i64> = sqlx::query_scalar(&format!("SELECT 1 FROM {} WHERE {} = ?", quote(table), quote(id_col)))
        .bind(id)
        .fetch_optional(w.conn())
        .await?;
    if found.is_none() {
        return Err(Error::NotFound { entity: entity.to_string() });
    }
    rows::update(w, table, id_col, id, &sets).await?;
    w.record_change(table, id, ChangeOp::Update, &data).await?;
    supersede(w, table, id, field, &stamp).await?;
    // What the table needs after a written row (the patients' search index).
    rows::rules_of(table).after_apply(w, id).await?;
    Ok(())
}

/// The stamp that last set a field of a row (for tests and the bench: "" when none).
pub async fn field_stamp(store: &Store, entity: &str, id: &str, field: &str) -> Result<String> {
    let mut conn = store.pool().acquire().await?;
    let stamps = rows::load_stamps(&mut conn, entity, id).await.map_err(to_app)?;
    Ok(stamp_of(&stamps, field))
}

#[cfg(test)]
mod resolvers {
    use super::*;

    /// The kinds a table's rule raises are resolved by that rule's module: each has exactly
    /// one resolver registered (a missing one would leave its conflicts unresolvable).
    #[test]
    fn every_rule_kind_has_one_registered_resolver_and_the_inbox_kinds_none() {
        let count = |kind| inventory::iter::<ConflictResolver>.into_iter().filter(|r| r.kind == kind).count();
        assert_eq!(count(ConflictKind::SlotDoubleBooked), 1);
        assert_eq!(count(ConflictKind::MrnDuplicate), 1);
        assert_eq!(count(ConflictKind::Field), 0);
        assert_eq!(count(ConflictKind::Refused), 0);
        // A patient who needs a bed is given one on the bed board (by whoever may move
        // patients; the inbox's administrator may not): no resolver. Doses are reviewed.
        assert_eq!(count(ConflictKind::BedNeeded), 0);
        assert_eq!(count(ConflictKind::DoseTwice), 1);
        assert_eq!(count(ConflictKind::PrnOverLimit), 1);
        // One order changed on two devices: the doctor stops the replacement not wanted on
        // the patient's orders (the inbox's administrator may not order): no resolver.
        assert_eq!(count(ConflictKind::OrderChangedTwice), 0);
        // A batch below zero: whoever moves stock receives, transfers or corrects the count.
        assert_eq!(count(ConflictKind::StockBelowZero), 0);
        // The inpatient conflicts (beds, doses), the orders changed twice, stock below zero.
        assert_eq!(inventory::iter::<DerivedConflicts>.into_iter().count(), 3);
    }
}
