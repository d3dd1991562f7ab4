//! The `patients` table and its search indexes. Every write updates the row, the phone
//! table and both FTS indexes in the caller's transaction, then records the change.

use super::model::{Patient, PatientStatus, Sex};
use super::validate::phone_digits;
use crate::codes::Code;
use crate::error::Result;
use crate::store::raw::{self, Arg};
use crate::store::stored::Fields;
use crate::store::tables::NewRow;
use crate::store::{ChangeOp, WriteTx};
use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::Sqlite;
use std::sync::Arc;

pub const COLUMNS: &str = "pk, id, mrn, given_name, family_name, other_names, sex, birth_date, birth_date_estimated, phones,
    address, national_id, insurance_id, emergency_name, emergency_phone, emergency_relation, blood_group, allergies, notes,
    status, merged_into, legacy_mrn, last_visit_at, created_at, updated_at, city, district";

/// A patient row; a stored value that does not read is an error naming the patient.
pub fn from_row(row: &SqliteRow) -> Result<(i64, Patient)> {
    let f = Fields::of("patients", "id", row)?;
    Ok((
        f.get("pk")?,
        Patient {
            id: f.id().to_string(),
            mrn: f.get("mrn")?,
            given_name: f.get("given_name")?,
            family_name: f.get("family_name")?,
            other_names: f.get("other_names")?,
            sex: f.code("sex", Sex::from_code)?,
            birth_date: f.get("birth_date")?,
            birth_date_estimated: f.flag("birth_date_estimated")?,
            phones: f.json("phones")?,
            address: f.get("address")?,
            city: f.get("city")?,
            district: f.get("district")?,
            national_id: f.get("national_id")?,
            insurance_id: f.get("insurance_id")?,
            emergency_name: f.get("emergency_name")?,
            emergency_phone: f.get("emergency_phone")?,
            emergency_relation: f.get("emergency_relation")?,
            blood_group: f.get("blood_group")?,
            allergies: f.json("allergies")?,
            notes: f.get("notes")?,
            status: f.code("status", PatientStatus::from_code)?,
            merged_into: f.get("merged_into")?,
            legacy_mrn: f.get("legacy_mrn")?,
            last_visit_at: f.get("last_visit_at")?,
            created_at: f.get("created_at")?,
            updated_at: f.get("updated_at")?,
        },
    ))
}

pub async fn by_id<'e, E>(exec: E, id: &str) -> Result<Option<(i64, Patient)>>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    let sql = format!("SELECT {COLUMNS} FROM patients WHERE id = ? AND deleted_at IS NULL");
    sqlx::query(&sql).bind(id).fetch_optional(exec).await?.as_ref().map(from_row).transpose()
}

/// The text the name index holds for a patient: every name part.
fn index_names(p: &Patient) -> String {
    names_text(&p.given_name, &p.other_names, &p.family_name)
}

fn names_text(given: &str, other: &str, family: &str) -> String {
    format!("{given} {other} {family}")
}

/// The phone digit strings that find a patient: their phones and the emergency contact's
/// (people often give a relative's number).
fn index_digits(p: &Patient) -> Vec<String> {
    digits_of(&p.phones, &p.emergency_phone)
}

fn digits_of(phones: &[String], emergency_phone: &str) -> Vec<String> {
    let mut all: Vec<String> = phones.iter().map(|x| phone_digits(x)).collect();
    if !emergency_phone.is_empty() {
        all.push(phone_digits(emergency_phone));
    }
    all.dedup();
    all
}

async fn unindex(w: &mut WriteTx<'_>, pk: i64) -> Result<()> {
    for sql in [
        "DELETE FROM patient_name_fts WHERE rowid = ?",
        "DELETE FROM patient_phone_fts WHERE rowid = ?",
        "DELETE FROM patient_phones WHERE patient_pk = ?",
    ] {
        sqlx::query(sql).bind(pk).execute(w.conn()).await?;
    }
    Ok(())
}

async fn index(w: &mut WriteTx<'_>, pk: i64, p: &Patient) -> Result<()> {
    if p.status == PatientStatus::Merged {
        return Ok(()); // a merged-away record is reached through the one it was merged into
    }
    sqlx::query("INSERT INTO patient_name_fts (rowid, names) VALUES (?, ?)")
        .bind(pk)
        .bind(index_names(p))
        .execute(w.conn())
        .await?;
    let digits = index_digits(p);
    for d in &digits {
        sqlx::query("INSERT OR IGNORE INTO patient_phones (patient_pk, digits) VALUES (?, ?)")
            .bind(pk)
            .bind(d)
            .execute(w.conn())
            .await?;
    }
    if !digits.is_empty() {
        sqlx::query("INSERT INTO patient_phone_fts (rowid, digits) VALUES (?, ?)")
            .bind(pk)
            .bind(digits.join(" "))
            .execute(w.conn())
            .await?;
    }
    Ok(())
}

/// Rebuilds the search index entries of one record from its row (sync writes pulled rows
/// directly; this keeps them findable). Nothing to do when the record is not there.
pub(crate) async fn reindex(w: &mut WriteTx<'_>, id: &str) -> Result<()> {
    let Some((pk, p)) = by_id(w.conn(), id).await? else {
        return Ok(());
    };
    unindex(w, pk).await?;
    index(w, pk, &p).await
}

/// [`reindex`] for many records in a few multi-row statements (a pull page's new rows).
pub(crate) async fn reindex_many(w: &mut WriteTx<'_>, ids: &[&str]) -> Result<()> {
    for chunk in ids.chunks(CHUNK) {
        let sql = format!(
            "SELECT {COLUMNS} FROM patients WHERE id IN (SELECT value FROM json_each(?)) AND deleted_at IS NULL"
        );
        let rows = sqlx::query(&sql).bind(serde_json::to_string(chunk)?).fetch_all(w.conn()).await?;
        let rows = rows.iter().map(from_row).collect::<Result<Vec<(i64, Patient)>>>()?;
        if rows.is_empty() {
            continue;
        }
        let pks = serde_json::to_string(&rows.iter().map(|(pk, _)| *pk).collect::<Vec<_>>())?;
        for sql in [
            "DELETE FROM patient_name_fts WHERE rowid IN (SELECT value FROM json_each(?))",
            "DELETE FROM patient_phone_fts WHERE rowid IN (SELECT value FROM json_each(?))",
            "DELETE FROM patient_phones WHERE patient_pk IN (SELECT value FROM json_each(?))",
        ] {
            sqlx::query(sql).bind(&pks).execute(w.conn()).await?;
        }
        // A merged-away record is reached through the one it was merged into (as `index`).
        let live: Vec<(i64, &Patient)> =
            rows.iter().filter(|(_, p)| p.status != PatientStatus::Merged).map(|(pk, p)| (*pk, p)).collect();
        index_many(w, &live).await?;
    }
    Ok(())
}

/// The search index entries of a pull page's new rows (`sync::apply_batch`), made from the
/// values the rows were just written with instead of reading each whole row back: only their
/// local numbers (`pk`) are read. The table is STRICT, so a row that went in holds exactly
/// these texts. When a row's values do not hold the indexed fields as plain text (or a JSON
/// list of texts for `phones`), the page's rows are re-read as [`reindex_many`] does.
pub(crate) async fn index_new_rows(w: &mut WriteTx<'_>, rows: &[NewRow<'_>]) -> Result<()> {
    let Some(inputs) =
        rows.iter().map(|(id, values)| index_input(values).map(|i| (*id, i))).collect::<Option<Vec<_>>>()
    else {
        let ids: Vec<&str> = rows.iter().map(|(id, _)| *id).collect();
        return reindex_many(w, &ids).await;
    };
    for chunk in inputs.chunks(CHUNK) {
        let ids: Vec<&str> = chunk.iter().map(|(id, _)| *id).collect();
        let pks: Vec<(i64, String)> = sqlx::query_as(
            "SELECT pk, id FROM patients WHERE id IN (SELECT value FROM json_each(?)) AND deleted_at IS NULL",
        )
        .bind(serde_json::to_string(&ids)?)
        .fetch_all(w.conn())
        .await?;
        if pks.is_empty() {
            continue;
        }
        let pk_of: std::collections::HashMap<&str, i64> = pks.iter().map(|(pk, id)| (id.as_str(), *pk)).collect();
        // As in `reindex_many`: whatever an earlier record under the same number left goes.
        let all = serde_json::to_string(&pks.iter().map(|(pk, _)| *pk).collect::<Vec<_>>())?;
        for sql in [
            "DELETE FROM patient_name_fts WHERE rowid IN (SELECT value FROM json_each(?))",
            "DELETE FROM patient_phone_fts WHERE rowid IN (SELECT value FROM json_each(?))",
            "DELETE FROM patient_phones WHERE patient_pk IN (SELECT value FROM json_each(?))",
        ] {
            sqlx::query(sql).bind(&all).execute(w.conn()).await?;
        }
        let entries: Vec<(i64, String, Vec<String>)> = chunk
            .iter()
            .filter(|(_, input)| input.indexed)
            .filter_map(|(id, input)| {
                let pk = pk_of.get(id)?;
                Some((
                    *pk,
                    names_text(input.given, input.other, input.family),
                    digits_of(&input.phones, input.emergency),
                ))
            })
            .collect();
        index_entries(w, &entries).await?;
    }
    Ok(())
}

/// What the indexes take from a new row's values.
struct IndexInput<'a> {
    given: &'a str,
    other: &'a str,
    family: &'a str,
    phones: Vec<String>,
    emergency: &'a str,
    /// Not merged away (`index` skips those; deleted rows are not read).
    indexed: bool,
}

/// The indexed fields of a new row's values, with the table's defaults for those it leaves
/// out (`None`: not all plain text, so the row is read back instead).
fn index_input(values: &[(String, Value)]) -> Option<IndexInput<'_>> {
    let get = |name: &str| values.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let text = |name: &str, default: Option<&'static str>| match get(name) {
        None => default,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => None,
    };
    let phones = match get("phones") {
        None => Vec::new(),
        Some(Value::String(s)) => serde_json::from_str::<Vec<String>>(s).ok()?,
        Some(Value::Array(items)) => {
            items.iter().map(|v| v.as_str().map(str::to_string)).collect::<Option<Vec<String>>>()?
        }
        Some(_) => return None,
    };
    let status = PatientStatus::from_code(text("status", Some("active"))?)?;
    Some(IndexInput {
        given: text("given_name", None)?,
        other: text("other_names", Some(""))?,
        family: text("family_name", Some(""))?,
        phones,
        emergency: text("emergency_phone", Some(""))?,
        indexed: status != PatientStatus::Merged,
    })
}

/// The search index entries of new rows (none indexed yet), in multi-row statements.
async fn index_many(w: &mut WriteTx<'_>, rows: &[(i64, &Patient)]) -> Result<()> {
    let entries: Vec<(i64, String, Vec<String>)> =
        rows.iter().map(|(pk, p)| (*pk, index_names(p), index_digits(p))).collect();
    index_entries(w, &entries).await
}

/// Writes search index entries (pk, name text, phone digit strings) of records not indexed
/// yet, one prepared statement per index run row by row (`store::raw`).
async fn index_entries(w: &mut WriteTx<'_>, rows: &[(i64, String, Vec<String>)]) -> Result<()> {
    raw::run(w.conn(), |db| {
        let mut names = db.prepare("INSERT INTO patient_name_fts (rowid, names) VALUES (?, ?)", "patients")?;
        let mut exact =
            db.prepare("INSERT OR IGNORE INTO patient_phones (patient_pk, digits) VALUES (?, ?)", "patients")?;
        let mut parts = db.prepare("INSERT INTO patient_phone_fts (rowid, digits) VALUES (?, ?)", "patients")?;
        for (pk, text, digits) in rows {
            names.execute(&[Arg::Int(*pk), Arg::Text(text)])?;
            for d in digits {
                exact.execute(&[Arg::Int(*pk), Arg::Text(d)])?;
            }
            if !digits.is_empty() {
                parts.execute(&[Arg::Int(*pk), Arg::Text(&digits.join(" "))])?;
            }
        }
        Ok(())
    })
    .await
}

/// Updates the row, re-indexes it and records the change.
pub async fn update(w: &mut WriteTx<'_>, p: &Patient) -> Result<()> {
    let stamp = w.stamp();
    let by = w.actor().user_id.clone();
    // The record as it was, so that only the fields this write changes go to the outbox.
    let before = match by_id(w.conn(), &p.id).await? {
        Some((_, old)) => serde_json::to_value(old)?,
        None => serde_json::Value::Null,
    };
    let pk: i64 = sqlx::query_scalar(
        "UPDATE patients SET mrn = ?2, given_name = ?3, family_name = ?4, other_names = ?5, sex = ?6, birth_date = ?7,
           birth_date_estimated = ?8, phones = ?9, address = ?10, national_id = ?11, insurance_id = ?12,
           emergency_name = ?13, emergency_phone = ?14, emergency_relation = ?15, blood_group = ?16, allergies = ?17,
           notes = ?18, status = ?19, merged_into = ?20, last_visit_at = ?21, updated_at = ?22, updated_by = ?23,
           legacy_mrn = ?24, city = ?25, district = ?26
         WHERE id = ?1 RETURNING pk",
    )
    .bind(&p.id)
    .bind(&p.mrn)
    .bind(&p.given_name)
    .bind(&p.family_name)
    .bind(&p.other_names)
    .bind(p.sex.code())
    .bind(&p.birth_date)
    .bind(i64::from(p.birth_date_estimated))
    .bind(serde_json::to_string(&p.phones)?)
    .bind(&p.address)
    .bind(&p.national_id)
    .bind(&p.insurance_id)
    .bind(&p.emergency_name)
    .bind(&p.emergency_phone)
    .bind(&p.emergency_relation)
    .bind(&p.blood_group)
    .bind(serde_json::to_string(&p.allergies)?)
    .bind(&p.notes)
    .bind(p.status.code())
    .bind(&p.merged_into)
    .bind(&p.last_visit_at)
    .bind(&stamp)
    .bind(&by)
    .bind(&p.legacy_mrn)
    .bind(&p.city)
    .bind(&p.district)
    .fetch_one(w.conn())
    .await?;
    unindex(w, pk).await?;
    index(w, pk, p).await?;
    w.record_update("patients", &p.id, &before, &synced(p, &stamp, &by)?).await
}

/// The row as the change log carries it.
fn synced(p: &Patient, stamp: &str, by: &Option<String>) -> Result<serde_json::Value> {
    let mut data = serde_json::to_value(p)?;
    data["updated_at"] = serde_json::json!(stamp);
    data["updated_by"] = serde_json::json!(by);
    Ok(data)
}

/// Rows per multi-row statement: 29 columns × 400 stays well under SQLite's 32,766 variables.
const CHUNK: usize = 400;

/// Rows per insert of new records: a statement opens the table's and its indexes' cursors
/// (and evaluates its constant lists) once, so a few dozen rows share that cost.
const ROWS_PER_INSERT: usize = 32;

/// Values of one new row (`insert_sql`).
const INSERT_COLUMNS: usize = 29;

/// The insert of `rows` new records. OR FAIL, not the default ABORT: a statement of many rows
/// that may abort keeps a journal of every page it touches first (to undo only itself); a
/// refused row drops the whole write anyway (a `WriteTx` dropped without commit rolls back).
fn insert_sql(rows: usize) -> String {
    let row = format!("({})", vec!["?"; INSERT_COLUMNS].join(", "));
    format!(
        "INSERT OR FAIL INTO patients (pk, id, mrn, given_name, family_name, other_names, sex, birth_date,
           birth_date_estimated, phones, address, national_id, insurance_id, emergency_name, emergency_phone,
           emergency_relation, blood_group, allergies, notes, status, merged_into, last_visit_at, created_at,
           updated_at, updated_by, origin_device, legacy_mrn, city, district)
         VALUES {}",
        vec![row; rows].join(", ")
    )
}

/// Inserts new records with their search indexes and change-log entries. The rows go in
/// through statements prepared once and run on SQLite's handle (`store::raw`): through sqlx
/// each statement is a round trip to SQLite's thread and each value is copied twice.
///
/// More than one record is a bulk insert: its outbox is one batch (`WriteTx::record_batch`),
/// built and signed on another thread while the rows are written.
pub async fn insert_many(w: &mut WriteTx<'_>, patients: &[Patient]) -> Result<()> {
    insert_shared(w, Arc::new(patients.to_vec())).await
}

/// [`insert_many`] of records that the signing thread reads too, without a copy of them: a
/// bulk load's batch was copied whole on the thread that runs SQLite.
pub(crate) async fn insert_shared(w: &mut WriteTx<'_>, shared: Arc<Vec<Patient>>) -> Result<()> {
    let patients = shared.as_slice();
    let stamp = w.stamp();
    let device = w.device_id().to_string();
    let by = w.actor().user_id.clone();
    let signer = if patients.len() > 1 {
        let plan = w.plan_batch("patients", patients.len()).await?;
        let (records, stamp, by) = (shared.clone(), stamp.clone(), by.clone());
        Some(tokio::task::spawn_blocking(move || {
            let rows =
                records.iter().map(|p| Ok((p.id.clone(), synced(p, &stamp, &by)?))).collect::<Result<Vec<_>>>()?;
            plan.sign(rows)
        }))
    } else {
        None
    };
    let first_pk: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(pk), 0) + 1 FROM patients").fetch_one(w.conn()).await?;
    let rows: Vec<(i64, &Patient)> = patients.iter().enumerate().map(|(i, p)| (first_pk + i as i64, p)).collect();
    raw::run(w.conn(), |db| {
        let mut many = if rows.len() >= ROWS_PER_INSERT {
            Some(db.prepare(&insert_sql(ROWS_PER_INSERT), "patients")?)
        } else {
            None
        };
        let mut one = db.prepare(&insert_sql(1), "patients")?;
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let json = chunk
                .iter()
                .map(|(_, p)| Ok((serde_json::to_string(&p.phones)?, serde_json::to_string(&p.allergies)?)))
                .collect::<Result<Vec<_>>>()?;
            let mut args = Vec::with_capacity(chunk.len() * INSERT_COLUMNS);
            for ((pk, p), (phones, allergies)) in chunk.iter().zip(&json) {
                args.extend([
                    Arg::Int(*pk),
                    Arg::Text(&p.id),
                    Arg::Text(&p.mrn),
                    Arg::Text(&p.given_name),
                    Arg::Text(&p.family_name),
                    Arg::Text(&p.other_names),
                    Arg::Text(p.sex.code()),
                    p.birth_date.as_deref().into(),
                    Arg::Int(i64::from(p.birth_date_estimated)),
                    Arg::Text(phones),
                    Arg::Text(&p.address),
                    Arg::Text(&p.national_id),
                    Arg::Text(&p.insurance_id),
                    Arg::Text(&p.emergency_name),
                    Arg::Text(&p.emergency_phone),
                    Arg::Text(&p.emergency_relation),
                    Arg::Text(&p.blood_group),
                    Arg::Text(allergies),
                    Arg::Text(&p.notes),
                    Arg::Text(p.status.code()),
                    p.merged_into.as_deref().into(),
                    p.last_visit_at.as_deref().into(),
                    Arg::Text(&p.created_at),
                    Arg::Text(&stamp),
                    by.as_deref().into(),
                    Arg::Text(&device),
                    Arg::Text(&p.legacy_mrn),
                    Arg::Text(&p.city),
                    Arg::Text(&p.district),
                ]);
            }
            match &mut many {
                Some(statement) if chunk.len() == ROWS_PER_INSERT => statement.execute(&args)?,
                _ => {
                    for row in args.chunks(INSERT_COLUMNS) {
                        one.execute(row)?;
                    }
                }
            }
        }
        Ok(())
    })
    .await?;
    if signer.is_none() {
        let changes =
            patients.iter().map(|p| Ok((p.id.as_str(), synced(p, &stamp, &by)?))).collect::<Result<Vec<_>>>()?;
        w.record_changes("patients", ChangeOp::Insert, &changes).await?;
    }
    index_many(w, &rows).await?;
    if let Some(signer) = signer {
        let batch = signer.await.map_err(|e| crate::Error::internal(format!("signing a batch: {e}")))??;
        w.record_batch(batch).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(pairs: &[(&str, Value)]) -> Vec<(String, Value)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    #[test]
    fn a_new_rows_index_input_takes_its_texts_or_the_tables_defaults() {
        let full = values(&[
            ("given_name", json!("Amina")),
            ("other_names", json!("Zuhura")),
            ("family_name", json!("Mwakyusa")),
            ("phones", json!(["+255 754 000 001", "0754-000-002"])),
            ("emergency_phone", json!("+255 754 000 009")),
            ("status", json!("active")),
        ]);
        let i = index_input(&full).unwrap();
        assert_eq!(names_text(i.given, i.other, i.family), "Amina Zuhura Mwakyusa");
        assert_eq!(digits_of(&i.phones, i.emergency), ["255754000001", "0754000002", "255754000009"]);
        assert!(i.indexed);

        // Left out: the columns' defaults ('' and '[]', 'active'); phones as JSON text too.
        let short = values(&[("given_name", json!("Neema")), ("phones", json!("[\"0712 345 678\"]"))]);
        let i = index_input(&short).unwrap();
        assert_eq!((i.other, i.family, i.emergency, i.indexed), ("", "", "", true));
        assert_eq!(i.phones, ["0712 345 678"]);
        let merged = values(&[("given_name", json!("Neema")), ("status", json!("merged"))]);
        assert!(!index_input(&merged).unwrap().indexed);

        // Anything but plain text: read back instead.
        for odd in [
            values(&[("family_name", json!("Mwakyusa"))]),
            values(&[("given_name", json!(7))]),
            values(&[("given_name", json!("Neema")), ("phones", json!([1]))]),
            values(&[("given_name", json!("Neema")), ("phones", json!("not json"))]),
            values(&[("given_name", json!("Neema")), ("status", json!("unknown"))]),
            values(&[("given_name", json!("Neema")), ("other_names", Value::Null)]),
        ] {
            assert!(index_input(&odd).is_none(), "{odd:?}");
        }
    }
}
