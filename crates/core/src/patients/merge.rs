//! Merging two records of the same person (a patient registered twice).
//!
//! The survivor keeps its MRN and gains what only the other record had: phones, allergies,
//! ids, contacts, an exact date of birth where it had an estimate, the notes. The merged
//! record stays in the table with status `merged` and `merged_into` pointing at the survivor
//! (its MRN still finds the survivor), and a `patient_merges` row keeps it exactly as it was,
//! so the survivor's page can show what was merged. Later areas (visits, appointments,
//! bills) repoint their rows to the survivor in the same transaction: see `repoint`.

use super::model::{Patient, PatientStatus};
use super::validate::MAX_PHONES;
use super::{load, repo};
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{ChangeOp, Store, WriteTx};
use serde::Serialize;
use serde_json::json;

/// One record merged into a survivor, as the survivor's page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct MergeRecord {
    pub merged_id: String,
    pub merged_mrn: String,
    pub reason: String,
    pub merged_at: String,
    pub merged_by: Option<String>,
    /// The merged record as it was just before the merge.
    pub snapshot: Patient,
}

use super::validate::MAX_NOTES;

/// Merges `merged_id` into `survivor_id`; returns the survivor as it is now.
pub async fn merge(
    store: &Store,
    auth: &Authorized,
    survivor_id: &str,
    merged_id: &str,
    reason: &str,
) -> Result<Patient> {
    auth.require(Permission::PatientsMerge)?;
    let reason = reason.trim();
    if reason.chars().count() > super::validate::REASON_MAX {
        return Err(Error::validation(
            "reason",
            ValidationReason::TooLong,
            format!("at most {} characters", super::validate::REASON_MAX),
        ));
    }
    if survivor_id == merged_id {
        return Err(Error::validation("merged_id", ValidationReason::Invalid, "a record cannot be merged into itself"));
    }
    let mut w = store.begin_write(auth.actor()).await?;
    let mut survivor = active_record(&mut w, survivor_id, "survivor_id").await?;
    let mut merged = active_record(&mut w, merged_id, "merged_id").await?;
    let snapshot = merged.clone();
    let before = serde_json::to_value(&survivor)?;

    absorb(&mut survivor, &merged)?;
    // The legacy number moves with the person; the unique index needs it off the old row first.
    merged.legacy_mrn = String::new();
    merged.status = PatientStatus::Merged;
    merged.merged_into = Some(survivor.id.clone());
    repo::update(&mut w, &merged).await?;
    repo::update(&mut w, &survivor).await?;
    repoint(&mut w, &survivor.id, &merged.id).await?;
    record_merge(&mut w, &survivor.id, &snapshot, reason).await?;

    let after = serde_json::to_value(&survivor)?;
    w.audit(
        "patient.merge",
        "patient",
        Some(&survivor.id),
        json!({ "merged_id": merged.id, "merged_mrn": merged.mrn, "reason": reason, "changes": super::diff(&before, &after) }),
    )
    .await?;
    w.commit().await?;
    load(store, survivor_id).await
}

async fn active_record(w: &mut WriteTx<'_>, id: &str, field: &str) -> Result<Patient> {
    let (_, p) = repo::by_id(w.conn(), id).await?.ok_or_else(|| Error::NotFound { entity: "patient".into() })?;
    if p.status == PatientStatus::Merged {
        return Err(Error::validation(
            field,
            ValidationReason::Invalid,
            format!("{} was already merged into another record", p.mrn),
        ));
    }
    Ok(p)
}

/// Copies into the survivor what only the merged record has. Where both have a value, the
/// survivor's stays; the merged value remains visible in the merge snapshot.
fn absorb(s: &mut Patient, m: &Patient) -> Result<()> {
    for phone in &m.phones {
        if s.phones.len() < MAX_PHONES && !s.phones.contains(phone) {
            s.phones.push(phone.clone());
        }
    }
    for a in &m.allergies {
        if !s.allergies.iter().any(|x| x.eq_ignore_ascii_case(a)) {
            s.allergies.push(a.clone());
        }
    }
    // An exact date beats an estimate.
    if m.birth_date.is_some() && (s.birth_date.is_none() || (s.birth_date_estimated && !m.birth_date_estimated)) {
        s.birth_date = m.birth_date.clone();
        s.birth_date_estimated = m.birth_date_estimated;
    }
    if s.sex == super::Sex::Unknown {
        s.sex = m.sex;
    }
    for (mine, theirs) in [
        (&mut s.other_names, &m.other_names),
        (&mut s.address, &m.address),
        (&mut s.national_id, &m.national_id),
        (&mut s.insurance_id, &m.insurance_id),
        (&mut s.emergency_name, &m.emergency_name),
        (&mut s.emergency_phone, &m.emergency_phone),
        (&mut s.emergency_relation, &m.emergency_relation),
        (&mut s.blood_group, &m.blood_group),
        (&mut s.legacy_mrn, &m.legacy_mrn),
    ] {
        if mine.is_empty() {
            mine.clone_from(theirs);
        }
    }
    // City and district go together: taken only when the survivor has neither.
    if s.city.is_empty() && s.district.is_empty() {
        s.city.clone_from(&m.city);
        s.district.clone_from(&m.district);
    }
    if !m.notes.is_empty() && !s.notes.contains(&m.notes) {
        let joined =
            if s.notes.is_empty() { m.notes.clone() } else { format!("{}\n\n[from {}] {}", s.notes, m.mrn, m.notes) };
        // Never cut a note: the desk shortens one record's notes and merges again.
        if joined.chars().count() > MAX_NOTES {
            return Err(Error::validation(
                "notes",
                ValidationReason::TooLong,
                format!(
                    "the joined notes would be longer than {MAX_NOTES} characters; shorten one record's notes first"
                ),
            ));
        }
        s.notes = joined;
    }
    if m.last_visit_at > s.last_visit_at {
        s.last_visit_at = m.last_visit_at.clone();
    }
    Ok(())
}

/// The tables that hold a patient's own rows (`patient_id`): a merge moves every one of them
/// to the survivor, so no visit, result, bill or document stays behind on the merged record.
/// The list is the policy's, which lets `patients_merge` move exactly these rows on push and
/// on apply; a table added later with a `patient_id` column is listed there (a test checks it).
pub use hms_policy::entities::PATIENT_TABLES;

/// The local tables (not synced) with a `patient_id`, moved by a merge made on this device.
pub const LOCAL_PATIENT_TABLES: &[&str] = &["printouts"];

/// Moves the merged record's rows to the survivor, each move a synced change.
async fn repoint(w: &mut WriteTx<'_>, survivor_id: &str, merged_id: &str) -> Result<()> {
    refuse_two_open_bills(w, survivor_id, merged_id).await?;
    let (stamp, by) = (w.stamp(), w.actor().user_id.clone());
    for table in PATIENT_TABLES {
        // `table` comes from the list above, never from input.
        let moved: Vec<String> = sqlx::query_scalar(&format!(
            "UPDATE {table} SET patient_id = ?, updated_at = ?, updated_by = ? WHERE patient_id = ? RETURNING id"
        ))
        .bind(survivor_id)
        .bind(&stamp)
        .bind(&by)
        .bind(merged_id)
        .fetch_all(w.conn())
        .await?;
        for id in moved {
            let data = json!({ "id": id, "patient_id": survivor_id, "updated_at": stamp, "updated_by": by });
            w.record_change(table, &id, ChangeOp::Update, &data).await?;
        }
    }
    // This device's printouts (a local table, never synced) follow the record too.
    crate::printouts::repoint(w, survivor_id, merged_id).await?;
    Ok(())
}

/// A patient has at most one open (draft) bill; two would have to be combined by hand first.
async fn refuse_two_open_bills(w: &mut WriteTx<'_>, survivor_id: &str, merged_id: &str) -> Result<()> {
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(DISTINCT patient_id) FROM bills WHERE patient_id IN (?, ?) AND status = 'draft' AND deleted_at IS NULL",
    )
    .bind(survivor_id)
    .bind(merged_id)
    .fetch_one(w.conn())
    .await?;
    if open > 1 {
        return Err(Error::validation(
            "merged_id",
            ValidationReason::Invalid,
            "both records have an open bill: finalize or cancel one of them before merging",
        ));
    }
    Ok(())
}

async fn record_merge(w: &mut WriteTx<'_>, survivor_id: &str, snapshot: &Patient, reason: &str) -> Result<()> {
    let id = crate::ids::new_id();
    let (at, stamp, by) = (w.now_rfc3339(), w.stamp(), w.actor().user_id.clone());
    let snapshot_json = serde_json::to_string(snapshot)?;
    sqlx::query(
        "INSERT INTO patient_merges (id, survivor_id, merged_id, merged_mrn, snapshot, reason, merged_at, merged_by, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&id)
    .bind(survivor_id)
    .bind(&snapshot.id)
    .bind(&snapshot.mrn)
    .bind(&snapshot_json)
    .bind(reason)
    .bind(&at)
    .bind(&by)
    .bind(&stamp)
    .execute(w.conn())
    .await?;
    let data = json!({ "id": id, "survivor_id": survivor_id, "merged_id": snapshot.id, "merged_mrn": snapshot.mrn,
        "snapshot": snapshot, "reason": reason, "merged_at": at, "merged_by": by, "updated_at": stamp });
    w.record_change("patient_merges", &id, ChangeOp::Insert, &data).await
}

/// The records merged into a patient, newest first, with the merging user's name.
pub async fn merged_into(store: &Store, auth: &Authorized, survivor_id: &str) -> Result<Vec<MergeRecord>> {
    auth.require(Permission::PatientsView)?;
    let sql = format!(
        "SELECT {MERGE_COLUMNS} FROM patient_merges m LEFT JOIN users u ON u.id = m.merged_by
         WHERE m.survivor_id = ? ORDER BY m.merged_at DESC, m.id DESC"
    );
    let rows: Vec<MergeRow> = sqlx::query_as(&sql).bind(survivor_id).fetch_all(store.pool()).await?;
    rows.into_iter()
        .map(|r| {
            let snapshot: Patient = crate::store::stored::json("patient_merges", &r.id, "snapshot", &r.snapshot)?;
            Ok(MergeRecord {
                merged_id: r.merged_id,
                merged_mrn: r.merged_mrn,
                reason: r.reason,
                merged_at: r.merged_at,
                merged_by: r.merged_by,
                snapshot,
            })
        })
        .collect()
}

/// A merge as [`MERGE_COLUMNS`] reads it.
#[derive(sqlx::FromRow)]
struct MergeRow {
    id: String,
    merged_id: String,
    merged_mrn: String,
    reason: String,
    merged_at: String,
    /// The merging user's name.
    merged_by: Option<String>,
    snapshot: String,
}

/// The columns of a [`MergeRow`], written once (merges `m`, users `u`).
const MERGE_COLUMNS: &str =
    "m.id, m.merged_id, m.merged_mrn, m.reason, m.merged_at, u.full_name AS merged_by, m.snapshot";
