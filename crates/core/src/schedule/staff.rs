//! Departments, specialties (managed lists) and staff profiles.

use crate::error::{Error, Result, ValidationReason};
use crate::rbac::{Permission, Role};
use crate::session::Authorized;
use crate::store::{stored, ChangeOp, Store, WriteTx};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Named {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, Deserialize, specta::Type)]
pub struct StaffInput {
    pub full_name: String,
    /// A role code (doctor, nurse, ...).
    pub role: String,
    pub user_id: Option<String>,
    pub department_id: Option<String>,
    pub qualifications: String,
    pub licence_no: String,
    pub specialty_ids: Vec<String>,
    pub phone: String,
    pub email: String,
    /// Consultation fee in minor units (paise, cents).
    /// A TS number: exact up to 2^53 (money in minor units never gets near).
    #[specta(type = f64)]
    pub fee_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct StaffMember {
    pub id: String,
    pub full_name: String,
    pub role: Role,
    pub user_id: Option<String>,
    pub department_id: Option<String>,
    pub qualifications: String,
    pub licence_no: String,
    pub specialty_ids: Vec<String>,
    pub phone: String,
    pub email: String,
    /// A TS number: exact up to 2^53 (money in minor units never gets near).
    #[specta(type = f64)]
    pub fee_minor: i64,
    pub active: bool,
}

fn name(field: &str, raw: &str) -> Result<String> {
    let s = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.is_empty() {
        return Err(Error::validation(field, ValidationReason::Required, "a name is required"));
    }
    if s.chars().count() > NAME_MAX {
        return Err(Error::validation(field, ValidationReason::TooLong, format!("at most {NAME_MAX} characters")));
    }
    Ok(s)
}

/// Adds a department or a specialty (`table` is one of the two managed lists).
async fn add_named(store: &Store, auth: &Authorized, table: &'static str, raw: &str) -> Result<Named> {
    auth.require(Permission::StaffManage)?;
    let n = name("name", raw)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let taken: bool = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) > 0 FROM {table} WHERE name = ? COLLATE NOCASE AND deleted_at IS NULL"
    ))
    .bind(&n)
    .fetch_one(w.conn())
    .await?;
    if taken {
        return Err(Error::validation("name", ValidationReason::Taken, format!("{n} already exists")));
    }
    let id = crate::ids::new_id();
    let (now, stamp, by, dev) = (w.now_rfc3339(), w.stamp(), w.actor().user_id.clone(), w.device_id().to_string());
    sqlx::query(&format!(
        "INSERT INTO {table} (id, name, created_at, updated_at, updated_by, origin_device) VALUES (?, ?, ?, ?, ?, ?)"
    ))
    .bind(&id)
    .bind(&n)
    .bind(&now)
    .bind(&stamp)
    .bind(&by)
    .bind(&dev)
    .execute(w.conn())
    .await?;
    w.record_change(
        table,
        &id,
        ChangeOp::Insert,
        &json!({ "id": id, "name": n, "created_at": now, "updated_at": stamp, "updated_by": by }),
    )
    .await?;
    w.audit(&format!("{table}.create"), table, Some(&id), json!({ "name": n })).await?;
    w.commit().await?;
    Ok(Named { id, name: n })
}

pub async fn add_department(store: &Store, auth: &Authorized, name: &str) -> Result<Named> {
    add_named(store, auth, "departments", name).await
}

pub async fn add_specialty(store: &Store, auth: &Authorized, name: &str) -> Result<Named> {
    add_named(store, auth, "specialties", name).await
}

async fn list_named(store: &Store, table: &'static str) -> Result<Vec<Named>> {
    let rows: Vec<(String, String)> =
        sqlx::query_as(&format!("SELECT id, name FROM {table} WHERE deleted_at IS NULL ORDER BY name COLLATE NOCASE"))
            .fetch_all(store.pool())
            .await?;
    Ok(rows.into_iter().map(|(id, name)| Named { id, name }).collect())
}

pub async fn departments(store: &Store, auth: &Authorized) -> Result<Vec<Named>> {
    auth.require(Permission::AppointmentsView)?;
    list_named(store, "departments").await
}

pub async fn specialties(store: &Store, auth: &Authorized) -> Result<Vec<Named>> {
    auth.require(Permission::AppointmentsView)?;
    list_named(store, "specialties").await
}

async fn exists(w: &mut WriteTx<'_>, table: &str, id: &str) -> Result<bool> {
    Ok(sqlx::query_scalar(&format!("SELECT COUNT(*) > 0 FROM {table} WHERE id = ? AND deleted_at IS NULL"))
        .bind(id)
        .fetch_one(w.conn())
        .await?)
}

/// The checked fields of a profile (id and active flag are the caller's).
/// The largest consultation fee, in minor units (1,000,000.00).
pub const MAX_FEE_MINOR: i64 = 100_000_000;
/// The most characters of a profile's qualifications, licence number, phone and email.
pub const QUALIFICATIONS_MAX: usize = 200;
/// The most characters of a staff member's or a department's name.
pub const NAME_MAX: usize = 80;
pub const LICENCE_NO_MAX: usize = 60;
pub const PHONE_MAX: usize = 20;
pub const EMAIL_MAX: usize = 120;

fn checked(input: &StaffInput, id: String, active: bool) -> Result<StaffMember> {
    let full_name = name("full_name", &input.full_name)?;
    let role = Role::from_code(input.role.trim())
        .ok_or_else(|| Error::validation("role", ValidationReason::Invalid, "unknown role"))?;
    if !(0..=MAX_FEE_MINOR).contains(&input.fee_minor) {
        return Err(Error::validation("fee_minor", ValidationReason::OutOfRange, "a fee from 0 to 1,000,000.00"));
    }
    for (field, value, max) in [
        ("qualifications", &input.qualifications, QUALIFICATIONS_MAX),
        ("licence_no", &input.licence_no, LICENCE_NO_MAX),
        ("phone", &input.phone, PHONE_MAX),
        ("email", &input.email, EMAIL_MAX),
    ] {
        if value.chars().count() > max {
            return Err(Error::validation(field, ValidationReason::TooLong, format!("at most {max} characters")));
        }
    }
    let mut specialty_ids = input.specialty_ids.clone();
    specialty_ids.sort();
    specialty_ids.dedup();
    let blank_to_none = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    Ok(StaffMember {
        id,
        full_name,
        role,
        user_id: blank_to_none(&input.user_id),
        department_id: blank_to_none(&input.department_id),
        qualifications: input.qualifications.trim().to_string(),
        licence_no: input.licence_no.trim().to_string(),
        specialty_ids,
        phone: input.phone.trim().to_string(),
        email: input.email.trim().to_string(),
        fee_minor: input.fee_minor,
        active,
    })
}

/// Checks what a profile refers to, inside the write: specialties, department, and a user
/// account not already linked to another profile.
async fn check_refs(w: &mut WriteTx<'_>, m: &StaffMember) -> Result<()> {
    for s in &m.specialty_ids {
        if !exists(w, "specialties", s).await? {
            return Err(Error::validation("specialty_ids", ValidationReason::Invalid, "unknown specialty"));
        }
    }
    if let Some(d) = &m.department_id {
        if !exists(w, "departments", d).await? {
            return Err(Error::validation("department_id", ValidationReason::Invalid, "unknown department"));
        }
    }
    if let Some(u) = &m.user_id {
        if !exists(w, "users", u).await? {
            return Err(Error::validation("user_id", ValidationReason::Invalid, "unknown user account"));
        }
        let linked: bool =
            sqlx::query_scalar("SELECT COUNT(*) > 0 FROM staff WHERE user_id = ? AND id <> ? AND deleted_at IS NULL")
                .bind(u)
                .bind(&m.id)
                .fetch_one(w.conn())
                .await?;
        if linked {
            return Err(Error::validation(
                "user_id",
                ValidationReason::Taken,
                "this account belongs to another staff profile",
            ));
        }
    }
    Ok(())
}

/// Adds a staff profile (administrator).
pub async fn add_staff(store: &Store, auth: &Authorized, input: StaffInput) -> Result<StaffMember> {
    auth.require(Permission::StaffManage)?;
    let m = checked(&input, crate::ids::new_id(), true)?;
    let mut w = store.begin_write(auth.actor()).await?;
    check_refs(&mut w, &m).await?;
    insert_staff(&mut w, &m).await?;
    w.audit("staff.create", "staff", Some(&m.id), json!({ "full_name": m.full_name, "role": m.role })).await?;
    w.commit().await?;
    Ok(m)
}

async fn insert_staff(w: &mut WriteTx<'_>, m: &StaffMember) -> Result<()> {
    let (now, stamp, by, dev) = (w.now_rfc3339(), w.stamp(), w.actor().user_id.clone(), w.device_id().to_string());
    sqlx::query(
        "INSERT INTO staff (id, user_id, full_name, role, department_id, qualifications, licence_no, specialty_ids, phone, email,
           fee_minor, active, created_at, updated_at, updated_by, origin_device) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
    )
    .bind(&m.id)
    .bind(&m.user_id)
    .bind(&m.full_name)
    .bind(m.role.code())
    .bind(&m.department_id)
    .bind(&m.qualifications)
    .bind(&m.licence_no)
    .bind(serde_json::to_string(&m.specialty_ids)?)
    .bind(&m.phone)
    .bind(&m.email)
    .bind(m.fee_minor)
    .bind(&now)
    .bind(&stamp)
    .bind(&by)
    .bind(&dev)
    .execute(w.conn())
    .await?;
    for s in &m.specialty_ids {
        sqlx::query("INSERT INTO staff_specialties (specialty_id, staff_id) VALUES (?, ?)")
            .bind(s)
            .bind(&m.id)
            .execute(w.conn())
            .await?;
    }
    let mut data = serde_json::to_value(m)?;
    // The row's NOT NULL creation time must travel with it, or another device refuses the row.
    data["created_at"] = json!(now);
    data["updated_at"] = json!(stamp);
    data["updated_by"] = json!(by);
    w.record_change("staff", &m.id, ChangeOp::Insert, &data).await
}

/// Rebuilds a staff member's rows of the local `staff_specialties` index from the row's
/// `specialty_ids`: after a pull, the index is not synced, only the row is.
pub(crate) async fn reindex_specialties(w: &mut WriteTx<'_>, staff_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM staff_specialties WHERE staff_id = ?").bind(staff_id).execute(w.conn()).await?;
    sqlx::query(
        "INSERT OR IGNORE INTO staff_specialties (specialty_id, staff_id)
         SELECT j.value, s.id FROM staff s, json_each(s.specialty_ids) j
         WHERE s.id = ? AND json_valid(s.specialty_ids)",
    )
    .bind(staff_id)
    .execute(w.conn())
    .await?;
    Ok(())
}

type StaffRow =
    (String, String, String, Option<String>, Option<String>, String, String, String, String, String, i64, i64);

fn from_row(r: StaffRow) -> Result<StaffMember> {
    let (
        id,
        full_name,
        role,
        user_id,
        department_id,
        qualifications,
        licence_no,
        specialties,
        phone,
        email,
        fee_minor,
        active,
    ) = r;
    let role = stored::code("staff", &id, "role", &role, Role::from_code)?;
    let specialty_ids = stored::json("staff", &id, "specialty_ids", &specialties)?;
    Ok(StaffMember {
        id,
        full_name,
        role,
        user_id,
        department_id,
        qualifications,
        licence_no,
        specialty_ids,
        phone,
        email,
        fee_minor,
        active: active == 1,
    })
}

const STAFF_COLUMNS: &str =
    "s.id, s.full_name, s.role, s.user_id, s.department_id, s.qualifications, s.licence_no, s.specialty_ids, s.phone, s.email, s.fee_minor, s.active";

/// Active doctors, optionally only those of one specialty, by name.
pub async fn doctors(store: &Store, auth: &Authorized, specialty_id: Option<&str>) -> Result<Vec<StaffMember>> {
    auth.require(Permission::AppointmentsView)?;
    let rows: Vec<StaffRow> = match specialty_id {
        Some(sp) => sqlx::query_as(&format!(
            "SELECT {STAFF_COLUMNS} FROM staff_specialties x JOIN staff s ON s.id = x.staff_id
             WHERE x.specialty_id = ? AND s.role = 'doctor' AND s.active = 1 AND s.deleted_at IS NULL ORDER BY s.full_name"
        ))
        .bind(sp)
        .fetch_all(store.pool())
        .await?,
        None => sqlx::query_as(&format!(
            "SELECT {STAFF_COLUMNS} FROM staff s WHERE s.role = 'doctor' AND s.active = 1 AND s.deleted_at IS NULL ORDER BY s.full_name"
        ))
        .fetch_all(store.pool())
        .await?,
    };
    rows.into_iter().map(from_row).collect()
}

async fn load(w: &mut WriteTx<'_>, id: &str) -> Result<StaffMember> {
    let row: Option<StaffRow> =
        sqlx::query_as(&format!("SELECT {STAFF_COLUMNS} FROM staff s WHERE s.id = ? AND s.deleted_at IS NULL"))
            .bind(id)
            .fetch_optional(w.conn())
            .await?;
    row.map(from_row).ok_or_else(|| Error::NotFound { entity: "staff member".into() })?
}

/// Appointments of a doctor from `today` on that are still to happen or under way.
async fn upcoming(w: &mut WriteTx<'_>, doctor_id: &str, today: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM appointments WHERE doctor_id = ? AND date >= ? AND status IN {} AND deleted_at IS NULL",
        super::booking::ACTIVE
    ))
    .bind(doctor_id)
    .bind(today)
    .fetch_one(w.conn())
    .await?)
}

/// Writes a profile's new state, its specialty index and change-log entry.
async fn save(w: &mut WriteTx<'_>, m: &StaffMember) -> Result<()> {
    let (stamp, by) = (w.stamp(), w.actor().user_id.clone());
    let before = serde_json::to_value(load(w, &m.id).await?)?;
    sqlx::query(
        "UPDATE staff SET user_id = ?, full_name = ?, role = ?, department_id = ?, qualifications = ?, licence_no = ?, specialty_ids = ?,
           phone = ?, email = ?, fee_minor = ?, active = ?, updated_at = ?, updated_by = ? WHERE id = ?",
    )
    .bind(&m.user_id)
    .bind(&m.full_name)
    .bind(m.role.code())
    .bind(&m.department_id)
    .bind(&m.qualifications)
    .bind(&m.licence_no)
    .bind(serde_json::to_string(&m.specialty_ids)?)
    .bind(&m.phone)
    .bind(&m.email)
    .bind(m.fee_minor)
    .bind(i64::from(m.active))
    .bind(&stamp)
    .bind(&by)
    .bind(&m.id)
    .execute(w.conn())
    .await?;
    sqlx::query("DELETE FROM staff_specialties WHERE staff_id = ?").bind(&m.id).execute(w.conn()).await?;
    for s in &m.specialty_ids {
        sqlx::query("INSERT INTO staff_specialties (specialty_id, staff_id) VALUES (?, ?)")
            .bind(s)
            .bind(&m.id)
            .execute(w.conn())
            .await?;
    }
    let mut data = serde_json::to_value(m)?;
    data["updated_at"] = json!(stamp);
    data["updated_by"] = json!(by);
    w.record_update("staff", &m.id, &before, &data).await
}

/// The names of the fields that differ between two states of a profile, for the audit.
fn changed_fields(before: &StaffMember, after: &StaffMember) -> Result<Vec<String>> {
    let (b, a) = (serde_json::to_value(before)?, serde_json::to_value(after)?);
    let (Some(b), Some(a)) = (b.as_object(), a.as_object()) else {
        return Ok(Vec::new());
    };
    Ok(a.iter().filter(|(k, v)| b.get(*k) != Some(*v)).map(|(k, _)| k.clone()).collect())
}

/// Edits a staff profile (administrator). A doctor with appointments still to come keeps
/// the doctor role until they are moved or cancelled.
pub async fn update_staff(store: &Store, auth: &Authorized, id: &str, input: StaffInput) -> Result<StaffMember> {
    auth.require(Permission::StaffManage)?;
    let today = crate::clinic::today_ymd(store).await?;
    let mut w = store.begin_write(auth.actor()).await?;
    let before = load(&mut w, id).await?;
    let m = checked(&input, before.id.clone(), before.active)?;
    check_refs(&mut w, &m).await?;
    if before.role == Role::Doctor && m.role != Role::Doctor {
        let n = upcoming(&mut w, id, &today).await?;
        if n > 0 {
            return Err(Error::validation(
                "role",
                ValidationReason::Invalid,
                format!("{n} appointments still to come: move or cancel them first"),
            ));
        }
    }
    let changed = changed_fields(&before, &m)?;
    save(&mut w, &m).await?;
    w.audit("staff.update", "staff", Some(id), json!({ "full_name": m.full_name, "changed": changed })).await?;
    w.commit().await?;
    Ok(m)
}

/// Deactivates (left, on long leave) or reactivates a staff profile (administrator). An
/// inactive doctor is not offered for booking; one with appointments still to come cannot
/// be deactivated until they are moved or cancelled. A linked user account is not touched
/// (signing in is managed under Users).
pub async fn set_staff_active(store: &Store, auth: &Authorized, id: &str, active: bool) -> Result<StaffMember> {
    auth.require(Permission::StaffManage)?;
    let today = crate::clinic::today_ymd(store).await?;
    let mut w = store.begin_write(auth.actor()).await?;
    let mut m = load(&mut w, id).await?;
    if !active && m.active {
        let n = upcoming(&mut w, id, &today).await?;
        if n > 0 {
            return Err(Error::validation(
                "active",
                ValidationReason::Invalid,
                format!("{n} appointments still to come: move or cancel them first"),
            ));
        }
    }
    m.active = active;
    save(&mut w, &m).await?;
    let action = if active { "staff.reactivate" } else { "staff.deactivate" };
    w.audit(action, "staff", Some(id), json!({ "full_name": m.full_name })).await?;
    w.commit().await?;
    Ok(m)
}

/// Which staff profiles to list; `None` is any.
#[derive(Debug, Clone, Default, Deserialize, specta::Type)]
pub struct StaffFilter {
    pub role: Option<Role>,
    pub department_id: Option<String>,
    /// Include deactivated profiles.
    pub include_inactive: bool,
}

/// Every staff profile (any role), active ones first, by name (administrator).
pub async fn list_staff(store: &Store, auth: &Authorized, filter: &StaffFilter) -> Result<Vec<StaffMember>> {
    auth.require(Permission::StaffManage)?;
    let rows: Vec<StaffRow> = sqlx::query_as(&format!(
        "SELECT {STAFF_COLUMNS} FROM staff s
         WHERE s.deleted_at IS NULL AND (?1 IS NULL OR s.role = ?1) AND (?2 IS NULL OR s.department_id = ?2) AND (?3 OR s.active = 1)
         ORDER BY s.active DESC, s.full_name COLLATE NOCASE"
    ))
    .bind(filter.role.map(Role::code))
    .bind(filter.department_id.as_deref())
    .bind(filter.include_inactive)
    .fetch_all(store.pool())
    .await?;
    rows.into_iter().map(from_row).collect()
}
