//! Where resources come from: a table read in pages (the whole clinic) or by patient, and the
//! function that maps one row to its resources. Rows are read by column name
//! (`sqlx::sqlite::SqliteRow`) so that every mapping can sit in one list of [`Source`]s.

use super::context::Ctx;
use crate::error::{Error, Result};
use futures_util::TryStreamExt;
use serde::Serialize;
use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

/// Maps one row to its resources (a vitals row gives one Observation per measurement), each
/// handed to `out` as it is made.
pub type MapFn = for<'a, 'b, 'c, 'd, 'e> fn(&'a SqliteRow, &'b Ctx<'c>, &'d mut Emit<'e>) -> Result<()>;

/// Where a mapped resource goes: a bundle's entries or the NDJSON file of its type. `Send`, as
/// the app's commands run the export on any of the runtime's threads.
pub trait Out: Send {
    /// Takes one resource of type `resource_type` with id `id`, as compact JSON.
    fn put(&mut self, resource_type: &str, id: &str, json: &[u8]) -> Result<()>;
}

/// What mappings hand their resources to: each is serialized to compact JSON as soon as it is
/// made and passed on, so no tree of the whole export is ever built (building, printing and
/// dropping one `serde_json::Value` per resource was most of a patient's export).
pub struct Emit<'o> {
    out: &'o mut dyn Out,
    scratch: Vec<u8>,
    /// Resources emitted.
    pub count: u64,
}

impl<'o> Emit<'o> {
    pub fn new(out: &'o mut dyn Out) -> Emit<'o> {
        Emit { out, scratch: Vec::with_capacity(4096), count: 0 }
    }

    /// A resource built as a typed struct ([`super::model`]).
    pub fn put<T: Serialize>(&mut self, resource_type: &str, id: &str, resource: &T) -> Result<()> {
        self.scratch.clear();
        serde_json::to_writer(&mut self.scratch, resource).map_err(Error::internal)?;
        self.out.put(resource_type, id, &self.scratch)?;
        self.count += 1;
        Ok(())
    }

    /// A resource built as JSON (the rarer resources: a clinic's staff, places, the patient).
    pub fn value(&mut self, resource: Value) -> Result<()> {
        let resource_type = resource["resourceType"].as_str().unwrap_or("Unknown");
        let id = resource["id"].as_str().unwrap_or_default();
        self.put(resource_type, id, &resource)
    }
}

/// One table's rows and their mapping.
pub struct Source {
    /// The table, for counting and for errors.
    pub table: &'static str,
    /// `SELECT ... FROM <table> t ...` (joins allowed); the table's alias is `t`.
    pub select: &'static str,
    /// The condition picking one patient's rows, with the patient's id as `?1`; `None`: the
    /// table is not part of a patient's record.
    pub by_patient: Option<&'static str>,
    pub map: MapFn,
}

impl Source {
    /// One page of the whole clinic's rows, in id order, after `after`.
    pub async fn page(&self, conn: &mut SqliteConnection, after: &str, limit: u32) -> Result<Vec<SqliteRow>> {
        let sql = format!("{} WHERE t.deleted_at IS NULL AND t.id > ?1 ORDER BY t.id LIMIT ?2", self.select);
        Ok(sqlx::query(&sql).bind(after).bind(limit).fetch_all(conn).await?)
    }

    /// Maps a patient's rows, in id order, into `out` as they are read: mapping one row
    /// overlaps SQLite reading the next on sqlx's thread (collecting them all first left the
    /// two threads taking turns).
    pub async fn map_patient(
        &self,
        conn: &mut SqliteConnection,
        cx: &Ctx<'_>,
        patient_id: &str,
        out: &mut Emit<'_>,
    ) -> Result<()> {
        let Some(filter) = self.by_patient else { return Ok(()) };
        let sql = format!("{} WHERE t.deleted_at IS NULL AND ({filter}) ORDER BY t.id", self.select);
        let mut rows = sqlx::query(&sql).bind(patient_id).fetch(conn);
        while let Some(row) = rows.try_next().await? {
            (self.map)(&row, cx, out)?;
        }
        Ok(())
    }

    /// How many rows the whole clinic has (for progress).
    pub async fn count(&self, conn: &mut SqliteConnection) -> Result<u64> {
        let sql = format!("SELECT COUNT(*) FROM {} WHERE deleted_at IS NULL", self.table);
        let n: i64 = sqlx::query_scalar(&sql).fetch_one(conn).await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// Every source, in the order a reader wants them: the clinic and its people and places
/// first, then patients, then their records.
pub fn all() -> Vec<&'static Source> {
    vec![
        &super::practitioner::STAFF,
        &super::location::WARDS,
        &super::location::ROOMS,
        &super::location::BEDS,
        &super::patient::PATIENTS,
        &super::appointment::APPOINTMENTS,
        &super::encounter::VISITS,
        &super::encounter::ADMISSIONS,
        &super::observation::VITALS,
        &super::observation::LAB_RESULTS,
        &super::condition::DIAGNOSES,
        &super::allergy::ALLERGIES,
        &super::medication::PRESCRIPTIONS,
        &super::medication::DISPENSINGS,
        &super::document::ATTACHMENTS,
        &super::invoice::BILLS,
    ]
}

/// A text column.
pub fn text(row: &SqliteRow, col: &str) -> Result<String> {
    Ok(row.try_get::<String, _>(col)?)
}

/// A nullable text column; an empty text reads as `None`.
pub fn opt(row: &SqliteRow, col: &str) -> Result<Option<String>> {
    Ok(row.try_get::<Option<String>, _>(col)?.filter(|s| !s.trim().is_empty()))
}

/// A text column, borrowed from the row.
pub fn text_ref<'r>(row: &'r SqliteRow, col: &str) -> Result<&'r str> {
    Ok(row.try_get::<&str, _>(col)?)
}

/// A nullable text column, borrowed from the row; an empty text reads as `None`.
pub fn opt_ref<'r>(row: &'r SqliteRow, col: &str) -> Result<Option<&'r str>> {
    Ok(row.try_get::<Option<&str>, _>(col)?.filter(|s| !s.trim().is_empty()))
}

/// A nullable integer column.
pub fn int(row: &SqliteRow, col: &str) -> Result<Option<i64>> {
    Ok(row.try_get::<Option<i64>, _>(col)?)
}

/// An id derived from a row's UUID for the `tag`-th extra resource it gives: the same bytes
/// with the last one changed and the version set to 8 (RFC 9562's custom UUIDs), so it is a
/// UUID (a bundle's `urn:uuid:` needs one), distinct from the row's and stable.
pub fn derived_id(id: &str, tag: u8) -> Result<String> {
    let uuid = uuid::Uuid::parse_str(id).map_err(|e| Error::corrupt("fhir", id, "id", e))?;
    let mut b = *uuid.as_bytes();
    b[15] ^= tag.wrapping_add(1);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    Ok(uuid::Uuid::from_bytes(b).to_string())
}

/// Removes null, empty-text, empty-array and empty-object values, innermost first, so that
/// optional elements that HMS leaves blank are absent (FHIR forbids empty values).
pub fn prune(mut v: Value) -> Value {
    prune_in_place(&mut v);
    v
}

/// [`prune`] without rebuilding the maps and lists it keeps (rebuilding every resource's
/// tree was a tenth of exporting a patient's record).
fn prune_in_place(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.values_mut().for_each(prune_in_place);
            map.retain(|_, x| !is_empty(x));
        }
        Value::Array(items) => {
            items.iter_mut().for_each(prune_in_place);
            items.retain(|x| !is_empty(x));
        }
        _ => {}
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}
