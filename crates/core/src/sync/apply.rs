//! Applying pulled changes to the local tables: a per-field last-writer-wins register on the
//! hybrid logical clock.
//!
//! Every field of a synced row remembers the stamp of the change that last set it
//! (`sync_stamps`; local writes stamp theirs in `WriteTx::record_change`). A pulled change
//! sets a field only if its stamp is newer than the field's, so the same set of changes gives
//! the same rows in any order. A field whose pulled value loses to a newer value made apart
//! from it (another device's, not seen by the change's device) is kept in `sync_conflicts`
//! (kind `field`). An update of a row not here yet waits in `sync_orphans` for the row's
//! insert. Deletes are the `deleted_at` field like any other.
//!
//! Generic over the synced tables: a change's JSON `data` is written as column values of its
//! `entity`. The table name must be on [`super::rows::SYNCED`] and only columns that `PRAGMA table_info`
//! reports are written (every other key is ignored), so nothing a server sends becomes SQL.
//! Pulled rows are written directly, never through `record_change`: they do not go back into
//! the outbox. Audit entries (`audit_log`) are filed, insert-only, under `audit_remote`.
//! What a table needs around a pulled write (the hospital rules of one slot and one MRN,
//! search indexes) its module registers (`store::tables`); nothing here
//! names a domain table.

use super::rows::{
    compare, constraint, insert, load_stamps, quote, row_json, rules_of, save_stamps, stamp_device, stamp_of, table_of,
    update, Columns,
};
use super::{conflict_log, SyncError};
use crate::clock::HlcStamp;
use crate::store::WriteTx;
use hms_protocol::{Change, Op};
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// Fields that say who and where, not what: merged like the others, never a conflict.
const BOOKKEEPING: &[&str] = &["updated_by", "created_at", "origin_device"];

/// What became of one pulled change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Inserted the row, or set at least one of its fields.
    Applied,
    /// Every field it carries is already set by a change as new or newer: nothing to do.
    Older,
    /// At least one of its fields lost to a newer local value made apart from it: kept in
    /// `sync_conflicts`.
    Conflict,
    /// Could not be written (a constraint refused it, or its table is not synced here): kept
    /// in `sync_conflicts`, not applied.
    Refused,
    /// An update or delete of a row this device does not have yet: kept until it comes.
    Missing,
}

/// A value as text, for comparing a column's content with a change's value (JSON columns
/// hold their JSON text; booleans are 0/1).
fn canonical(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => i64::from(*b).to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

fn same_value(current: Option<&Value>, incoming: &Value) -> bool {
    let current = current.unwrap_or(&Value::Null);
    current.is_null() == incoming.is_null() && canonical(current) == canonical(incoming)
}

/// Applies one change from another device.
pub(crate) async fn apply(w: &mut WriteTx<'_>, columns: &mut Columns, change: &Change) -> Result<Outcome, SyncError> {
    if change.entity == "audit_log" {
        return audit_entry(w, change).await;
    }
    let Some((table, id_col)) = table_of(&change.entity) else {
        // A table this version does not sync (a newer app's): keep the change, do not stop.
        refused(w, change, "not a synced table in this version of HMS", "").await?;
        return Ok(Outcome::Refused);
    };
    let cols = columns.get(w.conn(), table).await?.to_vec();
    let Value::Object(data) = &change.data else {
        return Err(SyncError::Protocol(format!("change {} has data that is not a JSON object", change.id)));
    };
    let values = incoming_values(table, id_col, &cols, data);
    let exists: Option<i64> =
        sqlx::query_scalar(&format!("SELECT 1 FROM {} WHERE {} = ?", quote(table), quote(id_col)))
            .bind(&change.entity_id)
            .fetch_optional(w.conn())
            .await
            .map_err(crate::Error::from)?;

    sqlx::query("SAVEPOINT sync_apply").execute(w.conn()).await.map_err(crate::Error::from)?;
    let written = match exists {
        Some(_) if change.op == Op::Insert => {
            // The same row made on two devices apart (an id both derive, like a stock batch's
            // from its item and number): the insert's own `created_at` and `origin_device`
            // merge like its other fields, so every device keeps the newest insert's.
            let mut values = values;
            insert_bookkeeping(&cols, change, &mut values);
            merge(w, table, id_col, &cols, change, values).await
        }
        Some(_) => merge(w, table, id_col, &cols, change, values).await,
        None if change.op == Op::Insert => insert_new(w, table, id_col, &cols, change, values).await,
        None => park(w, change).await,
    };
    match written {
        Ok(outcome) => {
            sqlx::query("RELEASE sync_apply").execute(w.conn()).await.map_err(crate::Error::from)?;
            Ok(outcome)
        }
        Err(SyncError::Constraint(message)) => {
            // A constraint refused the row (a unique number taken here, a missing reference):
            // undo just this change and keep it for a person rather than stop every pull.
            sqlx::query("ROLLBACK TO sync_apply").execute(w.conn()).await.map_err(crate::Error::from)?;
            sqlx::query("RELEASE sync_apply").execute(w.conn()).await.map_err(crate::Error::from)?;
            let local_hlc = current_hlc(w, table, id_col, &change.entity_id).await?;
            refused(w, change, &message, &local_hlc).await?;
            Ok(Outcome::Refused)
        }
        Err(e) => Err(e),
    }
}

async fn current_hlc(w: &mut WriteTx<'_>, table: &str, id_col: &str, id: &str) -> Result<String, SyncError> {
    let sql = format!("SELECT CAST(updated_at AS TEXT) FROM {} WHERE {} = ?", quote(table), quote(id_col));
    let hlc: Option<Option<String>> = sqlx::query_scalar(&sql).bind(id).fetch_optional(w.conn()).await.ok().flatten();
    Ok(hlc.flatten().unwrap_or_default())
}

/// The values of a change to merge: known columns only; the row's id comes from the change
/// and its `updated_at` is the newest of its fields' stamps.
pub(crate) fn incoming_values(
    table: &str,
    id_col: &str,
    cols: &[String],
    data: &Map<String, Value>,
) -> Vec<(String, Value)> {
    let mut values: Vec<(String, Value)> = data
        .iter()
        .filter(|(k, _)| cols.iter().any(|c| c == *k) && k.as_str() != id_col && k.as_str() != "updated_at")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    rules_of(table).incoming(data, &mut values);
    values
}

/// Adds what a new row takes from its change rather than its data: `updated_at`,
/// `created_at` and `origin_device` when missing, the held-off slot, and the id.
pub(crate) fn complete_new_row(
    table: &str,
    id_col: &str,
    cols: &[String],
    change: &Change,
    values: &mut Vec<(String, Value)>,
) {
    if cols.iter().any(|x| x == "updated_at") {
        values.push(("updated_at".into(), Value::String(change.hlc.clone())));
    }
    insert_bookkeeping(cols, change, values);
    rules_of(table).mark_pulled(values);
    values.push((id_col.to_string(), Value::String(change.entity_id.clone())));
}

/// An insert's `created_at` and `origin_device` when its data leaves them out: they come from
/// the change itself, the same on every device.
fn insert_bookkeeping(cols: &[String], change: &Change, values: &mut Vec<(String, Value)>) {
    let has = |c: &str| cols.iter().any(|x| x == c);
    if has("created_at") && !values.iter().any(|(k, _)| k == "created_at") {
        // Some writers leave it out of their change; the time of the change's stamp is the
        // same on every device.
        if let Some(at) = HlcStamp::parse(&change.hlc).and_then(|s| chrono::DateTime::from_timestamp_millis(s.millis)) {
            values.push(("created_at".into(), Value::String(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))));
        }
    }
    if has("origin_device") && !values.iter().any(|(k, _)| k == "origin_device") {
        values.push(("origin_device".into(), Value::String(change.device_id.clone())));
    }
}

/// Inserts a row this device does not have, then merges the changes that were waiting for it.
async fn insert_new(
    w: &mut WriteTx<'_>,
    table: &'static str,
    id_col: &str,
    cols: &[String],
    change: &Change,
    mut values: Vec<(String, Value)>,
) -> Result<Outcome, SyncError> {
    rules_of(table).before_apply(w, &change.entity_id, &mut values).await?;
    complete_new_row(table, id_col, cols, change, &mut values);
    insert(w, table, &values).await.map_err(constraint)?;
    let mut stamps = Map::new();
    stamps.insert("*".into(), Value::String(change.hlc.clone()));
    save_stamps(w.conn(), table, &change.entity_id, &stamps).await?;
    let has = |c: &str| cols.iter().any(|x| x == c);
    let waiting: Vec<String> =
        sqlx::query_scalar("SELECT change FROM sync_orphans WHERE entity = ? AND entity_id = ? ORDER BY change_id")
            .bind(table)
            .bind(&change.entity_id)
            .fetch_all(w.conn())
            .await
            .map_err(crate::Error::from)?;
    if !waiting.is_empty() {
        sqlx::query("DELETE FROM sync_orphans WHERE entity = ? AND entity_id = ?")
            .bind(table)
            .bind(&change.entity_id)
            .execute(w.conn())
            .await
            .map_err(crate::Error::from)?;
    }
    for text in waiting {
        let Ok(orphan) = serde_json::from_str::<Change>(&text) else { continue };
        let Value::Object(data) = &orphan.data else { continue };
        let mut values: Vec<(String, Value)> = data
            .iter()
            .filter(|(k, _)| has(k) && k.as_str() != id_col && k.as_str() != "updated_at")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        rules_of(table).incoming(data, &mut values);
        merge(w, table, id_col, cols, &orphan, values).await?;
    }
    rules_of(table).after_apply(w, &change.entity_id).await?;
    Ok(Outcome::Applied)
}

/// Keeps an update of a row that is not here yet; its insert merges it.
async fn park(w: &mut WriteTx<'_>, change: &Change) -> Result<Outcome, SyncError> {
    let now = w.now_rfc3339();
    sqlx::query(
        "INSERT OR IGNORE INTO sync_orphans (change_id, entity, entity_id, change, parked_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&change.id)
    .bind(&change.entity)
    .bind(&change.entity_id)
    .bind(serde_json::to_string(change).map_err(crate::Error::from)?)
    .bind(now)
    .execute(w.conn())
    .await
    .map_err(crate::Error::from)?;
    Ok(Outcome::Missing)
}

/// Merges a change into an existing row, field by field.
async fn merge(
    w: &mut WriteTx<'_>,
    table: &'static str,
    id_col: &str,
    cols: &[String],
    change: &Change,
    values: Vec<(String, Value)>,
) -> Result<Outcome, SyncError> {
    let id = change.entity_id.as_str();
    let mut stamps = load_stamps(w.conn(), table, id).await?;
    let current = row_json(w, table, id_col, id, cols).await?;
    let mut taken: Vec<(String, Value)> = Vec::new();
    let mut lost: Vec<(String, Value, String)> = Vec::new();
    for (field, value) in values {
        let local = stamp_of(&stamps, &field);
        let now = current.get(&field);
        match compare(&change.hlc, &local) {
            Ordering::Greater => taken.push((field, value)),
            // One stamp is one write of one device: the same change again. Should two values
            // ever carry one stamp, the greater text wins, the same in any order.
            Ordering::Equal => {
                if !same_value(now, &value) && canonical(&value) > canonical(now.unwrap_or(&Value::Null)) {
                    taken.push((field, value));
                }
            }
            // Older than the local value. Had the change's device seen the local value, its
            // clock would have moved past it (every pulled stamp is observed), so a different
            // value from another device than the local value's was made apart: keep it.
            Ordering::Less => {
                let bookkeeping = BOOKKEEPING.contains(&field.as_str());
                if !bookkeeping
                    && !same_value(now, &value)
                    && stamp_device(&local).as_deref() != Some(change.device_id.as_str())
                {
                    lost.push((field, value, local));
                }
            }
        }
    }
    for (field, value, local_hlc) in &lost {
        let local = serde_json::json!({ field.as_str(): current.get(field).cloned().unwrap_or(Value::Null) });
        let remote = serde_json::json!({ field.as_str(): value });
        conflict_log::record_field(w, change, field, &local, &remote, local_hlc).await?;
    }
    if taken.is_empty() {
        return Ok(if lost.is_empty() { Outcome::Older } else { Outcome::Conflict });
    }
    rules_of(table).before_apply(w, id, &mut taken).await?;
    for (field, _) in &taken {
        stamps.insert(field.clone(), Value::String(change.hlc.clone()));
        conflict_log::supersede(w, table, id, field, &change.hlc).await?;
    }
    let mut sets = taken;
    let row_hlc = current.get("updated_at").and_then(Value::as_str).unwrap_or("");
    if cols.iter().any(|c| c == "updated_at") && compare(&change.hlc, row_hlc) == Ordering::Greater {
        sets.push(("updated_at".into(), Value::String(change.hlc.clone())));
    }
    rules_of(table).mark_pulled(&mut sets);
    update(w, table, id_col, id, &sets).await.map_err(constraint)?;
    save_stamps(w.conn(), table, id, &stamps).await?;
    rules_of(table).after_apply(w, id).await?;
    Ok(Outcome::Applied)
}

/// Another device's audit entry: stored as it was written, never updated, never merged.
async fn audit_entry(w: &mut WriteTx<'_>, change: &Change) -> Result<Outcome, SyncError> {
    match crate::audit::remote::store(w.conn(), &change.device_id, &change.data).await? {
        Ok(_) => Ok(Outcome::Applied),
        Err(why) => {
            refused(w, change, &why, "").await?;
            Ok(Outcome::Refused)
        }
    }
}

pub(crate) async fn refused(w: &mut WriteTx<'_>, change: &Change, why: &str, local_hlc: &str) -> Result<(), SyncError> {
    let local = serde_json::json!({ "refused": why });
    conflict_log::record(
        w,
        conflict_log::NewConflict {
            kind: "refused",
            entity: &change.entity,
            entity_id: &change.entity_id,
            field: None,
            other_id: None,
            local: &local,
            remote: &change.data,
            local_hlc,
            remote_hlc: &change.hlc,
            remote_device: &change.device_id,
        },
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Actor, Store};
    use serde_json::json;

    fn change(entity: &str, id: &str, op: Op, data: Value, hlc: &str) -> Change {
        Change {
            id: crate::ids::new_id(),
            device_id: HlcStamp::parse(hlc).map(|s| s.device).unwrap_or_default(),
            device_seq: 1,
            entity: entity.into(),
            entity_id: id.into(),
            op,
            data,
            hlc: hlc.into(),
            user_id: None,
            proof: None,
        }
    }

    async fn apply_one(store: &Store, c: &Change) -> Outcome {
        let mut w = store.begin_write(Actor::system()).await.unwrap();
        let outcome = apply(&mut w, &mut Columns::default(), c).await.unwrap();
        w.audit("test.apply", "sync", None, json!({})).await.unwrap();
        w.commit().await.unwrap();
        outcome
    }

    async fn scalar(store: &Store, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(store.pool()).await.unwrap()
    }

    #[tokio::test]
    async fn only_synced_tables_and_their_columns_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in_dir(dir.path()).await.unwrap();
        let stamp = "0001900000000000-000000-other-device";

        // Not a synced table (nor a table name at all): kept, never turned into SQL.
        for entity in ["meta", "change_log", "patients; DROP TABLE users", "audit_log"] {
            let c = change(entity, "x", Op::Insert, json!({"key": "device_id", "value": "stolen"}), stamp);
            assert_eq!(apply_one(&store, &c).await, Outcome::Refused, "{entity}");
        }
        assert_eq!(scalar(&store, "SELECT count(*) FROM sync_conflicts").await, 4);
        assert_eq!(scalar(&store, "SELECT count(*) FROM meta WHERE value = 'stolen'").await, 0);

        // A synced table: keys that are not its columns (or are local ones) are ignored.
        let c = change(
            "settings",
            "clinic_name",
            Op::Insert,
            json!({
                "key": "ignored: the id comes from entity_id", "value": "\"Mlimani\"", "created_at": "2026-11-22T10:00:00.000Z",
                "value\" = 'x'; --": 1, "pk": 99, "no_such_column": true,
            }),
            stamp,
        );
        assert_eq!(apply_one(&store, &c).await, Outcome::Applied);
        let (value, updated_at, origin): (String, String, String) =
            sqlx::query_as("SELECT value, updated_at, origin_device FROM settings WHERE key = 'clinic_name'")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!((value.as_str(), updated_at.as_str(), origin.as_str()), ("\"Mlimani\"", stamp, "other-device"));

        // Older than the row, but from the row's own writer: just old news.
        let stale = change(
            "settings",
            "clinic_name",
            Op::Update,
            json!({"value": "\"Stale\""}),
            "0001800000000000-000000-other-device",
        );
        assert_eq!(apply_one(&store, &stale).await, Outcome::Older);
        // Older than the row, from a device that had not seen it: ignored, kept as a conflict.
        let older =
            change("settings", "clinic_name", Op::Update, json!({"value": "\"Old\""}), "0001800000000000-000000-third");
        assert_eq!(apply_one(&store, &older).await, Outcome::Conflict);
        // Newer: replaces the fields it carries.
        let newer =
            change("settings", "clinic_name", Op::Update, json!({"value": "\"New\""}), "0002000000000000-000000-third");
        assert_eq!(apply_one(&store, &newer).await, Outcome::Applied);
        let value: String = sqlx::query_scalar("SELECT value FROM settings WHERE key = 'clinic_name'")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(value, "\"New\"");
        // A delete of a row never seen here: nothing to do.
        let gone = change("bill_lines", "nope", Op::Delete, json!({"deleted_at": "2026-11-22"}), stamp);
        assert_eq!(apply_one(&store, &gone).await, Outcome::Missing);
        // None of it went into the outbox.
        assert_eq!(scalar(&store, "SELECT count(*) FROM change_log WHERE entity <> 'audit_log'").await, 0);
    }
}
