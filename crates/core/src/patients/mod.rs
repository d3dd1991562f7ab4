//! Patients: registration with an offline MRN, duplicate warnings, the one search box,
//! opening a record (audited), editing, and deactivating/reactivating.

pub mod bulk;
pub mod card;
pub mod csv_io;
pub mod demo;
pub mod merge;
pub mod model;
pub mod mrn;
mod mrn_rule;
pub mod repo;
pub mod search;
mod tables;
pub mod validate;

pub use card::{id_card, IdCard};
pub use merge::{merge, merged_into, MergeRecord};
pub use model::{Patient, PatientInput, PatientStatus, Sex};
pub use search::{MatchKind, PatientHit};

use crate::clinic;
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use serde_json::json;
use validate::Clean;

pub(crate) fn apply(p: &mut Patient, c: Clean) {
    p.given_name = c.given_name;
    p.family_name = c.family_name;
    p.other_names = c.other_names;
    p.sex = c.sex;
    p.birth_date = c.birth_date.map(|d| d.format("%Y-%m-%d").to_string());
    p.birth_date_estimated = c.birth_date_estimated;
    p.phones = c.phones;
    p.address = c.address;
    p.city = c.city;
    p.district = c.district;
    p.national_id = c.national_id;
    p.insurance_id = c.insurance_id;
    p.emergency_name = c.emergency_name;
    p.emergency_phone = c.emergency_phone;
    p.emergency_relation = c.emergency_relation;
    p.blood_group = c.blood_group;
    p.allergies = c.allergies;
    p.notes = c.notes;
    if !c.legacy_mrn.is_empty() {
        p.legacy_mrn = c.legacy_mrn;
    }
}

pub(crate) fn blank(id: String, mrn: String, created_at: String) -> Patient {
    Patient {
        id,
        mrn,
        given_name: String::new(),
        family_name: String::new(),
        other_names: String::new(),
        sex: Sex::Unknown,
        birth_date: None,
        birth_date_estimated: false,
        phones: Vec::new(),
        address: String::new(),
        city: String::new(),
        district: String::new(),
        national_id: String::new(),
        insurance_id: String::new(),
        emergency_name: String::new(),
        emergency_phone: String::new(),
        emergency_relation: String::new(),
        blood_group: String::new(),
        allergies: Vec::new(),
        notes: String::new(),
        status: PatientStatus::Active,
        merged_into: None,
        legacy_mrn: String::new(),
        last_visit_at: None,
        created_at,
        updated_at: String::new(),
    }
}

/// Registers a patient and mints the MRN, in one write. Refused with `likely_duplicate`
/// (listing the matches) when the record matches an existing patient; see `register_anyway`.
pub async fn register(store: &Store, auth: &Authorized, input: PatientInput) -> Result<Patient> {
    auth.require(Permission::PatientsEdit)?;
    let today = clinic::today(store).await?;
    let clean = validate::clean(&input, today)?;
    let matches = likely_duplicates(store, &clean, None, today).await?;
    if !matches.is_empty() {
        let matches =
            matches.into_iter().map(|h| crate::error::DuplicateMatch { id: h.id, mrn: h.mrn, name: h.name }).collect();
        return Err(Error::LikelyDuplicate { matches });
    }
    insert_one(store, auth, clean, json!({})).await
}

/// Registers a patient although it matches existing ones: the desk checked the matches and
/// says why this is a different person. The reason and the matched records are audited.
pub async fn register_anyway(store: &Store, auth: &Authorized, input: PatientInput, reason: &str) -> Result<Patient> {
    auth.require(Permission::PatientsEdit)?;
    let today = clinic::today(store).await?;
    let clean = validate::clean(&input, today)?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::validation("reason", ValidationReason::Required, "say why this is a different patient"));
    }
    if reason.chars().count() > validate::REASON_MAX {
        return Err(Error::validation(
            "reason",
            ValidationReason::TooLong,
            format!("at most {} characters", validate::REASON_MAX),
        ));
    }
    let matches = likely_duplicates(store, &clean, None, today).await?;
    let mrns: Vec<&str> = matches.iter().map(|h| h.mrn.as_str()).collect();
    insert_one(store, auth, clean, json!({ "duplicate_override": { "reason": reason, "matches": mrns } })).await
}

async fn insert_one(store: &Store, auth: &Authorized, clean: Clean, extra: serde_json::Value) -> Result<Patient> {
    let mut w = store.begin_write(auth.actor()).await?;
    let mrn = mrn::next(&mut w).await?;
    let mut p = blank(crate::ids::new_id(), mrn, w.now_rfc3339());
    apply(&mut p, clean);
    repo::insert_many(&mut w, std::slice::from_ref(&p)).await?;
    let mut detail = json!({ "mrn": p.mrn });
    if let (Some(d), Some(e)) = (detail.as_object_mut(), extra.as_object()) {
        d.extend(e.clone());
    }
    w.audit("patient.register", "patient", Some(&p.id), detail).await?;
    w.commit().await?;
    load(store, &p.id).await
}

pub(crate) async fn load(store: &Store, id: &str) -> Result<Patient> {
    repo::by_id(store.pool(), id).await?.map(|(_, p)| p).ok_or_else(|| Error::NotFound { entity: "patient".into() })
}

/// Likely duplicates of a record being typed: same phone, same national/insurance id, or a
/// similar name with the same date of birth. `exclude` skips the record being edited.
pub async fn duplicates(
    store: &Store,
    auth: &Authorized,
    input: &PatientInput,
    exclude: Option<&str>,
) -> Result<Vec<PatientHit>> {
    auth.require(Permission::PatientsView)?;
    let today = clinic::today(store).await?;
    let c = validate::clean(input, today)?;
    likely_duplicates(store, &c, exclude, today).await
}

/// The existing records a checked record likely duplicates (the rule of `duplicates`).
pub(crate) async fn likely_duplicates(
    store: &Store,
    c: &Clean,
    exclude: Option<&str>,
    today: chrono::NaiveDate,
) -> Result<Vec<PatientHit>> {
    let pool = store.pool();
    let mut pks: Vec<i64> = Vec::new();
    for phone in &c.phones {
        let digits = validate::phone_digits(phone);
        pks.extend(
            sqlx::query_scalar::<_, i64>("SELECT patient_pk FROM patient_phones WHERE digits = ? LIMIT 20")
                .bind(digits)
                .fetch_all(pool)
                .await?,
        );
    }
    for id in [&c.national_id, &c.insurance_id].into_iter().filter(|s| !s.is_empty()) {
        pks.extend(
            sqlx::query_scalar::<_, i64>(
                "SELECT pk FROM patients WHERE national_id = ?1 AND national_id <> '' AND deleted_at IS NULL
                 UNION SELECT pk FROM patients WHERE insurance_id = ?1 AND insurance_id <> '' AND deleted_at IS NULL LIMIT 20",
            )
                .bind(id)
                .fetch_all(pool)
                .await?,
        );
    }
    if let (Some(dob), false) = (c.birth_date, c.birth_date_estimated) {
        let wanted = search::name_tokens(&format!("{} {}", c.given_name, c.family_name));
        let same_day: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT pk, given_name, other_names, family_name FROM patients WHERE birth_date = ? AND status <> 'merged' AND deleted_at IS NULL LIMIT 500",
        )
        .bind(dob.format("%Y-%m-%d").to_string())
        .fetch_all(pool)
        .await?;
        for (pk, g, o, f) in same_day {
            let have = search::name_tokens(&format!("{g} {o} {f}"));
            if similar_names(&wanted, &have) {
                pks.push(pk);
            }
        }
    }
    let mut out: Vec<PatientHit> = Vec::new();
    for pk in pks {
        let sql = format!(
            "SELECT {} FROM patients WHERE pk = ? AND status <> 'merged' AND deleted_at IS NULL",
            repo::COLUMNS
        );
        if let Some(row) = sqlx::query(&sql).bind(pk).fetch_optional(pool).await? {
            let (_, p) = repo::from_row(&row)?;
            if Some(p.id.as_str()) != exclude && !out.iter().any(|h| h.id == p.id) {
                out.push(search::hit(p, MatchKind::Name, today));
            }
        }
    }
    Ok(out)
}

/// Names are similar when every given word is close (Jaro-Winkler ≥ 0.88) to some word of
/// the other name: "Ravi Sharma" ~ "Ravi Kumar Sharma", "Mohammed" ~ "Mohamed".
pub(crate) fn similar_names(wanted: &[String], have: &[String]) -> bool {
    !wanted.is_empty() && wanted.iter().all(|w| have.iter().any(|h| strsim::jaro_winkler(w, h) >= 0.88))
}

/// Opens a patient's record. Every opening is written to the audit log.
pub async fn open(store: &Store, auth: &Authorized, id: &str) -> Result<Patient> {
    auth.require(Permission::PatientsView)?;
    let p = load(store, id).await?;
    let mut w = store.begin_write(auth.actor()).await?;
    w.audit("patient.open", "patient", Some(&p.id), json!({ "mrn": p.mrn })).await?;
    w.commit().await?;
    Ok(p)
}

/// Edits a record; the audit entry keeps the fields before and after.
pub async fn update(store: &Store, auth: &Authorized, id: &str, input: PatientInput) -> Result<Patient> {
    auth.require(Permission::PatientsEdit)?;
    let clean = validate::clean(&input, clinic::today(store).await?)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let (_, mut p) = repo::by_id(w.conn(), id).await?.ok_or_else(|| Error::NotFound { entity: "patient".into() })?;
    if p.status == PatientStatus::Merged {
        return Err(Error::validation(
            "id",
            ValidationReason::Invalid,
            "this record was merged into another; edit that one",
        ));
    }
    let before = serde_json::to_value(&p)?;
    apply(&mut p, clean);
    repo::update(&mut w, &p).await?;
    let after = serde_json::to_value(&p)?;
    w.audit("patient.update", "patient", Some(id), json!({ "changes": diff(&before, &after) })).await?;
    w.commit().await?;
    load(store, id).await
}

/// The fields that changed, as {field: [before, after]}.
pub(crate) fn diff(before: &serde_json::Value, after: &serde_json::Value) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    if let (Some(b), Some(a)) = (before.as_object(), after.as_object()) {
        for (k, av) in a {
            if k != "updated_at" && b.get(k) != Some(av) {
                out.insert(k.clone(), json!([b.get(k), av]));
            }
        }
    }
    serde_json::Value::Object(out)
}

/// Deactivates (deceased, moved) or reactivates a record, with a reason.
pub async fn set_status(
    store: &Store,
    auth: &Authorized,
    id: &str,
    status: PatientStatus,
    reason: &str,
) -> Result<Patient> {
    auth.require(Permission::PatientsStatus)?;
    if status == PatientStatus::Merged {
        return Err(Error::validation("status", ValidationReason::Invalid, "use merge to merge records"));
    }
    let reason = reason.trim();
    if status != PatientStatus::Active && reason.is_empty() {
        return Err(Error::validation("reason", ValidationReason::Required, "say why the record is deactivated"));
    }
    if reason.chars().count() > validate::REASON_MAX {
        return Err(Error::validation(
            "reason",
            ValidationReason::TooLong,
            format!("at most {} characters", validate::REASON_MAX),
        ));
    }
    let mut w = store.begin_write(auth.actor()).await?;
    let (_, mut p) = repo::by_id(w.conn(), id).await?.ok_or_else(|| Error::NotFound { entity: "patient".into() })?;
    if p.status == PatientStatus::Merged {
        return Err(Error::validation("id", ValidationReason::Invalid, "this record was merged into another"));
    }
    let before = p.status;
    p.status = status;
    repo::update(&mut w, &p).await?;
    w.audit("patient.status", "patient", Some(id), json!({ "before": before, "after": status, "reason": reason }))
        .await?;
    w.commit().await?;
    load(store, id).await
}

pub async fn search(store: &Store, auth: &Authorized, query: &str, limit: u32) -> Result<Vec<PatientHit>> {
    auth.require(Permission::PatientsView)?;
    search::search(store.pool(), query, limit, clinic::today(store).await?).await
}
