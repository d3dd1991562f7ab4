//! The rows of the synced tables as a merge reads and writes them, shared by the merge of
//! one change ([`super::apply`]), the batched inserts ([`super::apply_batch`]) and the
//! conflicts inbox ([`super::conflicts`]): which tables sync and their columns, a row as JSON,
//! its per-field stamps (`sync_stamps`), and generic `INSERT`/`UPDATE` of column values.
//!
//! Table names come from the tables' registrations (`store::tables`) and column names from
//! `PRAGMA table_info`, never from a pulled change, so nothing a server sends becomes SQL.

use super::SyncError;
use crate::clock::HlcStamp;
use crate::store::{tables, WriteTx};
use serde_json::{Map, Value};
use sqlx::SqliteConnection;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::LazyLock;

/// The synced tables and the column that holds a change's `entity_id`, from the tables'
/// registrations (`store::tables`): a table is synced when its module registers it so (its
/// writes call `WriteTx::record_change`). Listed in the order of the policy's entities
/// (`hms_policy::entities::ENTITIES`, which a test holds to this list), any other after.
pub static SYNCED: LazyLock<Vec<(&'static str, &'static str)>> = LazyLock::new(|| {
    let rank = |name: &str| hms_policy::entities::ENTITIES.iter().position(|e| e.name == name).unwrap_or(usize::MAX);
    let mut synced: Vec<&'static tables::Table> = tables::all().into_iter().filter(|t| t.synced).collect();
    synced.sort_by_key(|t| (rank(t.name), t.name));
    synced.into_iter().map(|t| (t.name, t.id_column)).collect()
});

/// Column names of the synced tables, read once per pull page.
#[derive(Default)]
pub(crate) struct Columns {
    by_table: HashMap<&'static str, Vec<String>>,
}

pub(crate) fn table_of(entity: &str) -> Option<(&'static str, &'static str)> {
    tables::synced(entity).map(|t| (t.name, t.id_column))
}

/// The rules a table registered (none for a name that is not registered).
pub(crate) fn rules_of(table: &str) -> &'static dyn tables::TableRules {
    tables::find(table).map(|t| t.rules).unwrap_or(&tables::NO_RULES)
}

pub(crate) fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

impl Columns {
    pub(crate) async fn get(
        &mut self,
        conn: &mut SqliteConnection,
        table: &'static str,
    ) -> Result<&[String], SyncError> {
        if !self.by_table.contains_key(table) {
            // `table` comes from SYNCED, never from the server.
            let names: Vec<String> = sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .fetch_all(&mut *conn)
                .await
                .map_err(crate::Error::from)?;
            let local = tables::find(table).map(|t| t.local_columns).unwrap_or(&[]);
            let names = names.into_iter().filter(|n| !local.contains(&n.as_str())).collect();
            self.by_table.insert(table, names);
        }
        Ok(self.by_table.get(table).map(Vec::as_slice).unwrap_or(&[]))
    }
}

/// Orders two stamps; text that does not parse sorts by its text (stamps are fixed-width).
pub(crate) fn compare(a: &str, b: &str) -> Ordering {
    match (HlcStamp::parse(a), HlcStamp::parse(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

pub(crate) fn stamp_device(hlc: &str) -> Option<String> {
    HlcStamp::parse(hlc).map(|s| s.device)
}

/// The device of a stamp ("" when it does not parse).
pub(crate) fn stamp_device_of(hlc: &str) -> String {
    stamp_device(hlc).unwrap_or_default()
}

/// The per-field stamps of a row (`{}` when it has none).
pub(crate) async fn load_stamps(
    conn: &mut SqliteConnection,
    entity: &str,
    id: &str,
) -> Result<Map<String, Value>, SyncError> {
    let text: Option<String> = sqlx::query_scalar("SELECT stamps FROM sync_stamps WHERE entity = ? AND entity_id = ?")
        .bind(entity)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(crate::Error::from)?;
    Ok(match text.and_then(|t| serde_json::from_str(&t).ok()) {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    })
}

pub(crate) async fn save_stamps(
    conn: &mut SqliteConnection,
    entity: &str,
    id: &str,
    stamps: &Map<String, Value>,
) -> Result<(), SyncError> {
    sqlx::query(
        "INSERT INTO sync_stamps (entity, entity_id, stamps) VALUES (?, ?, ?)
         ON CONFLICT (entity, entity_id) DO UPDATE SET stamps = excluded.stamps",
    )
    .bind(entity)
    .bind(id)
    .bind(Value::Object(stamps.clone()).to_string())
    .execute(&mut *conn)
    .await
    .map_err(crate::Error::from)?;
    Ok(())
}

/// The stamp that last set `field`: its own, or the row's whole-row stamp, whichever is newer.
pub(crate) fn stamp_of(stamps: &Map<String, Value>, field: &str) -> String {
    let own = stamps.get(field).and_then(Value::as_str).unwrap_or("");
    let row = stamps.get("*").and_then(Value::as_str).unwrap_or("");
    if compare(own, row) == Ordering::Less {
        row.to_string()
    } else {
        own.to_string()
    }
}

/// A database error of a write: a constraint's refusal becomes [`SyncError::Constraint`].
pub(crate) fn constraint(e: sqlx::Error) -> SyncError {
    match e {
        sqlx::Error::Database(db) => SyncError::Constraint(db.message().to_string()),
        other => SyncError::App(other.into()),
    }
}

/// Binds a column value; text is borrowed, not copied (the values outlive the statement).
pub(crate) fn bind_value<'q>(
    q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    v: &'q Value,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    match v {
        Value::Null => q.bind(None::<String>),
        Value::Bool(b) => q.bind(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => q.bind(i),
            None => q.bind(n.as_f64()),
        },
        Value::String(s) => q.bind(s.as_str()),
        // JSON columns (phones, allergies, roles, ...) hold their JSON text.
        other => q.bind(other.to_string()),
    }
}

pub(crate) async fn update(
    w: &mut WriteTx<'_>,
    table: &str,
    id_col: &str,
    id: &str,
    values: &[(String, Value)],
) -> Result<(), sqlx::Error> {
    let sets: Vec<String> = values.iter().map(|(c, _)| format!("{} = ?", quote(c))).collect();
    let sql = format!("UPDATE {} SET {} WHERE {} = ?", quote(table), sets.join(", "), quote(id_col));
    let mut q = sqlx::query(&sql);
    for (_, v) in values {
        q = bind_value(q, v);
    }
    q.bind(id).execute(w.conn()).await.map(drop)
}

pub(crate) async fn insert(w: &mut WriteTx<'_>, table: &str, values: &[(String, Value)]) -> Result<(), sqlx::Error> {
    let names: Vec<String> = values.iter().map(|(c, _)| quote(c)).collect();
    let marks = vec!["?"; values.len()].join(", ");
    let sql = format!("INSERT INTO {} ({}) VALUES ({marks})", quote(table), names.join(", "));
    let mut q = sqlx::query(&sql);
    for (_, v) in values {
        q = bind_value(q, v);
    }
    q.execute(w.conn()).await.map(drop)
}

/// The local row as a JSON object of its synced columns (empty when there is none).
pub(crate) async fn row_json(
    w: &mut WriteTx<'_>,
    table: &str,
    id_col: &str,
    id: &str,
    cols: &[String],
) -> Result<Map<String, Value>, SyncError> {
    let pairs: Vec<String> = cols.iter().map(|c| format!("'{}', {}", c.replace('\'', "''"), quote(c))).collect();
    let sql = format!("SELECT json_object({}) FROM {} WHERE {} = ?", pairs.join(", "), quote(table), quote(id_col));
    let json: Option<String> =
        sqlx::query_scalar(&sql).bind(id).fetch_optional(w.conn()).await.map_err(crate::Error::from)?;
    Ok(match json.and_then(|j| serde_json::from_str(&j).ok()) {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    })
}
