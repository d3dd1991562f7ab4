//! Applying pulled changes to the local tables: per-row last-writer-wins by the hybrid
//! logical clock stamp in `updated_at`.
//!
//! Generic over the synced tables: a change's JSON `data` is written as column values of its
//! `entity`. The table name must be on [`SYNCED`] and only columns that `PRAGMA table_info`
//! reports are written (every other key is ignored), so nothing a server sends becomes SQL.
//! Pulled rows are written directly, never through `record_change`: they do not go back into
//! the outbox.

use super::SyncError;
use crate::clock::HlcStamp;
use crate::store::WriteTx;
use hms_protocol::{Change, Op};
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::HashMap;

/// The synced tables and the column that holds a change's `entity_id`. A table is synced when
/// its writes call `WriteTx::record_change`; add it here when a module starts doing so.
pub const SYNCED: &[(&str, &str)] = &[
    ("settings", "key"),
    ("users", "id"),
    ("patients", "id"),
    ("patient_merges", "id"),
    ("departments", "id"),
    ("specialties", "id"),
    ("staff", "id"),
    ("doctor_sessions", "id"),
    ("schedule_exceptions", "id"),
    ("appointments", "id"),
    ("services", "id"),
    ("service_prices", "id"),
    ("bills", "id"),
    ("bill_lines", "id"),
    ("payments", "id"),
    ("credit_notes", "id"),
    ("bill_insurance", "id"),
];

/// Local-only columns a change never sets (`patients.pk` is the search indexes' rowid).
const LOCAL_COLUMNS: &[&str] = &["pk"];

/// What became of one pulled change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Inserted or replaced the local row's fields.
    Applied,
    /// Older than (or the same as) the local row: ignored.
    Older,
    /// Older than a local row that another device wrote without having seen this change: the
    /// local row stays, the change is kept in `sync_conflicts`.
    Conflict,
    /// Could not be written (a constraint refused it, or its table is not synced here): kept
    /// in `sync_conflicts`, not applied.
    Refused,
    /// A delete of a row this device never had: nothing to do.
    Missing,
}

/// Column names of the synced tables, read once per pull page.
#[derive(Default)]
pub(crate) struct Columns {
    by_table: HashMap<&'static str, Vec<String>>,
}

fn table_of(entity: &str) -> Option<(&'static str, &'static str)> {
    SYNCED.iter().find(|(t, _)| *t == entity).copied()
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

impl Columns {
    async fn get(&mut self, w: &mut WriteTx<'_>, table: &'static str) -> Result<&[String], SyncError> {
        if !self.by_table.contains_key(table) {
            // `table` comes from SYNCED, never from the server.
            let names: Vec<String> = sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .fetch_all(w.conn())
                .await
                .map_err(crate::Error::from)?;
            let names = names.into_iter().filter(|n| !LOCAL_COLUMNS.contains(&n.as_str())).collect();
            self.by_table.insert(table, names);
        }
        Ok(self.by_table.get(table).map(Vec::as_slice).unwrap_or(&[]))
    }
}

/// Orders two stamps; text that does not parse sorts by its text (stamps are fixed-width).
fn compare(a: &str, b: &str) -> Ordering {
    match (HlcStamp::parse(a), HlcStamp::parse(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

fn stamp_device(hlc: &str) -> Option<String> {
    HlcStamp::parse(hlc).map(|s| s.device)
}

/// Applies one change from another device.
pub(crate) async fn apply(w: &mut WriteTx<'_>, columns: &mut Columns, change: &Change) -> Result<Outcome, SyncError> {
    let Some((table, id_col)) = table_of(&change.entity) else {
        // A table this version does not sync (a newer app's): keep the change, do not stop.
        let local = serde_json::json!({ "refused": "not a synced table in this version of HMS" }).to_string();
        record_conflict(w, change, &local, "", "local").await?;
        return Ok(Outcome::Refused);
    };
    let cols = columns.get(w, table).await?.to_vec();
    let Value::Object(data) = &change.data else {
        return Err(SyncError::Protocol(format!("change {} has data that is not a JSON object", change.id)));
    };

    let local_hlc: Option<String> = sqlx::query_scalar(&format!(
        "SELECT updated_at FROM {} WHERE {} = ?",
        quote(table),
        quote(id_col)
    ))
    .bind(&change.entity_id)
    .fetch_optional(w.conn())
    .await
    .map_err(crate::Error::from)?;

    // The values to write: known columns only; the row's id and stamp come from the change.
    let mut values: Vec<(&str, Value)> = data
        .iter()
        .filter(|(k, _)| cols.iter().any(|c| c == *k) && k.as_str() != id_col && k.as_str() != "updated_at")
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    if cols.iter().any(|c| c == "updated_at") {
        values.push(("updated_at", Value::String(change.hlc.clone())));
    }

    let sp = "SAVEPOINT sync_apply";
    sqlx::query(sp).execute(w.conn()).await.map_err(crate::Error::from)?;
    let written = match &local_hlc {
        Some(local) => match compare(&change.hlc, local) {
            Ordering::Greater => update(w, table, id_col, &change.entity_id, &values).await.map(|()| Outcome::Applied),
            Ordering::Equal => Ok(Outcome::Older),
            Ordering::Less => {
                // The change's device stamped it before the local version; had it seen the
                // local version, its clock would have moved past it (it observes every pulled
                // stamp). So the two were made apart: keep the loser.
                if stamp_device(local).as_deref() != Some(change.device_id.as_str()) {
                    let local_json = row_json(w, table, id_col, &change.entity_id, &cols).await?;
                    record_conflict(w, change, &local_json, local, "local").await?;
                    Ok(Outcome::Conflict)
                } else {
                    Ok(Outcome::Older)
                }
            }
        },
        None if change.op == Op::Delete => Ok(Outcome::Missing),
        None => {
            if cols.iter().any(|c| c == "origin_device") && !data.contains_key("origin_device") {
                values.push(("origin_device", Value::String(change.device_id.clone())));
            }
            values.push((id_col, Value::String(change.entity_id.clone())));
            insert(w, table, &values).await.map(|()| Outcome::Applied)
        }
    };
    match written {
        Ok(outcome) => {
            sqlx::query("RELEASE sync_apply").execute(w.conn()).await.map_err(crate::Error::from)?;
            if outcome == Outcome::Applied && table == "patients" {
                crate::patients::repo::reindex(w, &change.entity_id).await?;
            }
            Ok(outcome)
        }
        Err(sqlx::Error::Database(db)) => {
            // A constraint refused the row (a unique number taken here, a missing reference):
            // undo just this change and keep it for a person rather than stop every pull.
            sqlx::query("ROLLBACK TO sync_apply").execute(w.conn()).await.map_err(crate::Error::from)?;
            sqlx::query("RELEASE sync_apply").execute(w.conn()).await.map_err(crate::Error::from)?;
            let local = serde_json::json!({ "refused": db.message() }).to_string();
            record_conflict(w, change, &local, local_hlc.as_deref().unwrap_or(""), "local").await?;
            Ok(Outcome::Refused)
        }
        Err(e) => Err(crate::Error::from(e).into()),
    }
}

fn bind_value<'q>(
    q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    v: &Value,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    match v {
        Value::Null => q.bind(None::<String>),
        Value::Bool(b) => q.bind(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => q.bind(i),
            None => q.bind(n.as_f64()),
        },
        Value::String(s) => q.bind(s.clone()),
        // JSON columns (phones, allergies, roles, ...) hold their JSON text.
        other => q.bind(other.to_string()),
    }
}

async fn update(w: &mut WriteTx<'_>, table: &str, id_col: &str, id: &str, values: &[(&str, Value)]) -> Result<(), sqlx::Error> {
    let sets: Vec<String> = values.iter().map(|(c, _)| format!("{} = ?", quote(c))).collect();
    let sql = format!("UPDATE {} SET {} WHERE {} = ?", quote(table), sets.join(", "), quote(id_col));
    let mut q = sqlx::query(&sql);
    for (_, v) in values {
        q = bind_value(q, v);
    }
    q.bind(id.to_string()).execute(w.conn()).await.map(drop)
}

async fn insert(w: &mut WriteTx<'_>, table: &str, values: &[(&str, Value)]) -> Result<(), sqlx::Error> {
    let names: Vec<String> = values.iter().map(|(c, _)| quote(c)).collect();
    let marks = vec!["?"; values.len()].join(", ");
    let sql = format!("INSERT INTO {} ({}) VALUES ({marks})", quote(table), names.join(", "));
    let mut q = sqlx::query(&sql);
    for (_, v) in values {
        q = bind_value(q, v);
    }
    q.execute(w.conn()).await.map(drop)
}

/// The local row as a JSON object of its synced columns.
async fn row_json(w: &mut WriteTx<'_>, table: &str, id_col: &str, id: &str, cols: &[String]) -> Result<String, SyncError> {
    let pairs: Vec<String> = cols.iter().map(|c| format!("'{}', {}", c.replace('\'', "''"), quote(c))).collect();
    let sql = format!("SELECT json_object({}) FROM {} WHERE {} = ?", pairs.join(", "), quote(table), quote(id_col));
    let json: Option<String> = sqlx::query_scalar(&sql)
        .bind(id)
        .fetch_optional(w.conn())
        .await
        .map_err(crate::Error::from)?;
    Ok(json.unwrap_or_else(|| "null".into()))
}

async fn record_conflict(w: &mut WriteTx<'_>, change: &Change, local: &str, local_hlc: &str, winner: &str) -> Result<(), SyncError> {
    let now = w.now_rfc3339();
    sqlx::query(
        "INSERT INTO sync_conflicts (id, entity, entity_id, local, remote, local_hlc, remote_hlc, winner, remote_device, detected_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(crate::ids::new_id())
    .bind(&change.entity)
    .bind(&change.entity_id)
    .bind(local)
    .bind(change.data.to_string())
    .bind(local_hlc)
    .bind(&change.hlc)
    .bind(winner)
    .bind(&change.device_id)
    .bind(now)
    .execute(w.conn())
    .await
    .map_err(crate::Error::from)?;
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
        let stale = change("settings", "clinic_name", Op::Update, json!({"value": "\"Stale\""}), "0001800000000000-000000-other-device");
        assert_eq!(apply_one(&store, &stale).await, Outcome::Older);
        // Older than the row, from a device that had not seen it: ignored, kept as a conflict.
        let older = change("settings", "clinic_name", Op::Update, json!({"value": "\"Old\""}), "0001800000000000-000000-third");
        assert_eq!(apply_one(&store, &older).await, Outcome::Conflict);
        // Newer: replaces the fields it carries.
        let newer = change("settings", "clinic_name", Op::Update, json!({"value": "\"New\""}), "0002000000000000-000000-third");
        assert_eq!(apply_one(&store, &newer).await, Outcome::Applied);
        let value: String = sqlx::query_scalar("SELECT value FROM settings WHERE key = 'clinic_name'").fetch_one(store.pool()).await.unwrap();
        assert_eq!(value, "\"New\"");
        // A delete of a row never seen here: nothing to do.
        let gone = change("bill_lines", "nope", Op::Delete, json!({"deleted_at": "2026-11-22"}), stamp);
        assert_eq!(apply_one(&store, &gone).await, Outcome::Missing);
        // None of it went into the outbox.
        assert_eq!(scalar(&store, "SELECT count(*) FROM change_log").await, 0);
    }
}
