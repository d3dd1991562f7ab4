//! The `patients` table and its search indexes. Every write updates the row, the phone
//! table and both FTS indexes in the caller's transaction, then records the change.

use super::model::{Patient, PatientStatus, Sex};
use super::validate::phone_digits;
use crate::error::{Error, Result};
use crate::store::{ChangeOp, WriteTx};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite};

pub const COLUMNS: &str = "pk, id, mrn, given_name, family_name, other_names, sex, birth_date, birth_date_estimated, phones,
    address, national_id, insurance_id, emergency_name, emergency_phone, emergency_relation, blood_group, allergies, notes,
    status, merged_into, last_visit_at, created_at, updated_at";

pub fn from_row(row: &SqliteRow) -> Result<(i64, Patient)> {
    let json_list = |col: &str| -> Result<Vec<String>> {
        let raw: String = row.try_get(col)?;
        Ok(serde_json::from_str(&raw).unwrap_or_default())
    };
    let sex: String = row.try_get("sex")?;
    let status: String = row.try_get("status")?;
    Ok((
        row.try_get("pk")?,
        Patient {
            id: row.try_get("id")?,
            mrn: row.try_get("mrn")?,
            given_name: row.try_get("given_name")?,
            family_name: row.try_get("family_name")?,
            other_names: row.try_get("other_names")?,
            sex: Sex::from_code(&sex).unwrap_or(Sex::Unknown),
            birth_date: row.try_get("birth_date")?,
            birth_date_estimated: row.try_get::<i64, _>("birth_date_estimated")? == 1,
            phones: json_list("phones")?,
            address: row.try_get("address")?,
            national_id: row.try_get("national_id")?,
            insurance_id: row.try_get("insurance_id")?,
            emergency_name: row.try_get("emergency_name")?,
            emergency_phone: row.try_get("emergency_phone")?,
            emergency_relation: row.try_get("emergency_relation")?,
            blood_group: row.try_get("blood_group")?,
            allergies: json_list("allergies")?,
            notes: row.try_get("notes")?,
            status: PatientStatus::from_code(&status).unwrap_or(PatientStatus::Active),
            merged_into: row.try_get("merged_into")?,
            last_visit_at: row.try_get("last_visit_at")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
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
fn names(p: &Patient) -> String {
    format!("{} {} {}", p.given_name, p.other_names, p.family_name)
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
        .bind(names(p))
        .execute(w.conn())
        .await?;
    let mut all = p.phones.clone();
    if !p.emergency_phone.is_empty() {
        // The emergency contact's phone finds the patient too (people give a relative's number).
        all.push(p.emergency_phone.clone());
    }
    let digits: Vec<String> = all.iter().map(|x| phone_digits(x)).collect();
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

/// Inserts or updates the row, re-indexes it and records the change. Returns the local pk.
pub async fn save(w: &mut WriteTx<'_>, p: &Patient, op: ChangeOp) -> Result<i64> {
    let stamp = w.stamp();
    let device = w.device_id().to_string();
    let by = w.actor().user_id.clone();
    let phones = serde_json::to_string(&p.phones)?;
    let allergies = serde_json::to_string(&p.allergies)?;
    let sql = match op {
        ChangeOp::Insert => {
            "INSERT INTO patients (id, mrn, given_name, family_name, other_names, sex, birth_date, birth_date_estimated,
               phones, address, national_id, insurance_id, emergency_name, emergency_phone, emergency_relation,
               blood_group, allergies, notes, status, merged_into, last_visit_at, created_at, updated_at, updated_by, origin_device)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)
             RETURNING pk"
        }
        ChangeOp::Update => {
            "UPDATE patients SET mrn = ?2, given_name = ?3, family_name = ?4, other_names = ?5, sex = ?6, birth_date = ?7,
               birth_date_estimated = ?8, phones = ?9, address = ?10, national_id = ?11, insurance_id = ?12,
               emergency_name = ?13, emergency_phone = ?14, emergency_relation = ?15, blood_group = ?16, allergies = ?17,
               notes = ?18, status = ?19, merged_into = ?20, last_visit_at = ?21, created_at = ?22, updated_at = ?23,
               updated_by = ?24
             WHERE id = ?1 RETURNING pk"
        }
        ChangeOp::Delete => return Err(Error::internal("patients are deactivated or merged, not deleted")),
    };
    let query = sqlx::query_scalar(sql)
        .bind(&p.id)
        .bind(&p.mrn)
        .bind(&p.given_name)
        .bind(&p.family_name)
        .bind(&p.other_names)
        .bind(p.sex.code())
        .bind(&p.birth_date)
        .bind(i64::from(p.birth_date_estimated))
        .bind(&phones)
        .bind(&p.address)
        .bind(&p.national_id)
        .bind(&p.insurance_id)
        .bind(&p.emergency_name)
        .bind(&p.emergency_phone)
        .bind(&p.emergency_relation)
        .bind(&p.blood_group)
        .bind(&allergies)
        .bind(&p.notes)
        .bind(p.status.code())
        .bind(&p.merged_into)
        .bind(&p.last_visit_at)
        .bind(&p.created_at)
        .bind(&stamp)
        .bind(&by);
    // origin_device is set once, by the device that created the record.
    let query = if op == ChangeOp::Insert { query.bind(&device) } else { query };
    let pk: i64 = query.fetch_one(w.conn()).await?;
    if op == ChangeOp::Update {
        unindex(w, pk).await?;
    }
    index(w, pk, p).await?;
    let mut data = serde_json::to_value(p)?;
    data["updated_at"] = serde_json::json!(stamp);
    data["updated_by"] = serde_json::json!(by);
    w.record_change("patients", &p.id, op, &data).await?;
    Ok(pk)
}
