//! What storage and sync need to know about a table, registered by the module that owns the
//! table — never listed here, so that `store/` names no domain table and adding a synced
//! table touches its own module alone.
//!
//! A module registers each of its tables with `inventory::submit!` (the `inventory` crate
//! collects them at link time, with no central list to edit):
//!
//! ```ignore
//! inventory::submit! { Table { name: "visits", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
//! ```
//!
//! - `synced`: its writes call `WriteTx::record_change`, and pulled changes of it are merged
//!   (`sync::rows::SYNCED` is the list of these). A table that carries the sync columns but
//!   stays on the device registers with `synced: false`.
//! - `local_columns`: columns a change never carries nor sets (`patients.pk`, the search
//!   indexes' rowid; `appointments.slot_conflict`, derived on each device).
//! - `rules`: what the table needs around a write, as a [`TableRules`] (every hook defaults to
//!   nothing): after a local write, before and after a pulled change is written, after a
//!   batch of new pulled rows, background maintenance (the patients' search indexes), and a
//!   row's label in the conflicts inbox.

use super::WriteTx;
use crate::error::Result;
use serde_json::{Map, Value};
use sqlx::{SqliteConnection, SqlitePool};
use std::future::Future;
use std::pin::Pin;

/// A registered table (see the module doc).
pub struct Table {
    pub name: &'static str,
    /// The column that holds a change's `entity_id`.
    pub id_column: &'static str,
    pub synced: bool,
    pub local_columns: &'static [&'static str],
    pub rules: &'static dyn TableRules,
}

inventory::collect!(Table);

/// What a hook answers: a boxed future, so that the rules of every table fit one trait object.
pub type Hook<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

fn done<'a>() -> Hook<'a> {
    Box::pin(async { Ok(()) })
}

/// What a label hook answers: the row in words, `None` when the table has no words for it.
pub type Label<'a> = Pin<Box<dyn Future<Output = Result<Option<String>>> + Send + 'a>>;

/// A column and its value, as a pulled change writes them.
pub type Values = Vec<(String, Value)>;

/// A new pulled row written in a batch: its id and the values written.
pub type NewRow<'a> = (&'a str, &'a [(String, Value)]);

/// The rules of a table around writes. Every method defaults to doing nothing.
pub trait TableRules: Sync {
    /// Inside a local write, after it recorded a change of row `id` (`WriteTx::record_change`).
    fn after_write<'a>(&'a self, _w: &'a mut WriteTx<'_>, _id: &'a str) -> Hook<'a> {
        done()
    }

    /// The columns a pulled change sets, from its data beyond same-named columns (e.g. a
    /// value the app's model carries in another form).
    fn incoming(&self, _data: &Map<String, Value>, _values: &mut Values) {}

    /// Columns set whenever a pulled change writes a row of this table (e.g. a flag that the
    /// after-apply rule settles).
    fn mark_pulled(&self, _values: &mut Values) {}

    /// Before a pulled change's values are written to row `id` (they may be changed).
    fn before_apply<'a>(&'a self, _w: &'a mut WriteTx<'_>, _id: &'a str, _values: &'a mut Values) -> Hook<'a> {
        done()
    }

    /// After a pulled change was written to row `id`.
    fn after_apply<'a>(&'a self, _w: &'a mut WriteTx<'_>, _id: &'a str) -> Hook<'a> {
        done()
    }

    /// Whether new pulled rows may be written many at a time (`sync::apply_batch`), with
    /// [`TableRules::after_batch`] instead of the per-row hooks.
    fn batchable(&self) -> bool {
        true
    }

    /// After new pulled rows (id, values written) were inserted together.
    fn after_batch<'a>(&'a self, _w: &'a mut WriteTx<'_>, _rows: &'a [NewRow<'a>]) -> Hook<'a> {
        done()
    }

    /// A bounded slice of background upkeep (run by the store's checkpointer).
    fn maintain<'a>(&'a self, _pool: &'a SqlitePool) -> Hook<'a> {
        done()
    }

    /// Row `id` in words a person recognises ("Amina Mwakyusa (K7Q2-000123)"), for the
    /// conflicts inbox; `None` (the default) shows it as "<table> <id>".
    fn label<'a>(&'a self, _conn: &'a mut SqliteConnection, _id: &'a str) -> Label<'a> {
        Box::pin(async { Ok(None) })
    }
}

/// For tables with no rules of their own.
pub struct NoRules;
impl TableRules for NoRules {}
pub static NO_RULES: NoRules = NoRules;

/// Every registered table, ordered by name (registration order is the linker's).
pub fn all() -> Vec<&'static Table> {
    let mut tables: Vec<&'static Table> = inventory::iter::<Table>.into_iter().collect();
    tables.sort_by_key(|t| t.name);
    tables
}

/// The registered table of that name.
pub fn find(name: &str) -> Option<&'static Table> {
    inventory::iter::<Table>.into_iter().find(|t| t.name == name)
}

/// The registered synced table of that name.
pub fn synced(name: &str) -> Option<&'static Table> {
    find(name).filter(|t| t.synced)
}

/// The tables of the open database that carry the sync columns (`origin_device`) but that no
/// module registered: a table added without its registration, or a build whose linker dropped
/// the registrations (`inventory` collects them at link time). The store refuses to open
/// then (`Store::open`), so that no such table stays silently out of sync in any binary.
pub async fn unregistered(pool: &SqlitePool) -> Result<Vec<String>> {
    let with_sync: Vec<String> = sqlx::query_scalar(
        "SELECT m.name FROM sqlite_master m WHERE m.type = 'table' \
         AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) c WHERE c.name = 'origin_device') ORDER BY m.name",
    )
    .fetch_all(pool)
    .await?;
    Ok(with_sync.into_iter().filter(|name| find(name).is_none()).collect())
}
