//! Editing and retiring catalogue entries (medicines and lab tests), for whoever holds
//! `clinical_catalog_manage`. A retired entry is not offered for new prescriptions or orders
//! (`prescribing::medicines` and `lab::order_in` skip it) but everything already written with
//! it keeps showing it; reinstating it offers it again. Each edit sends only the fields it
//! changed (`WriteTx::record_update`) and is audited with the values before and after.

use super::model::*;
use super::{format_milli, line};
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{Store, WriteTx};
use serde_json::{json, Value};

use super::lab::{lab_test_of, LabTestRow, LAB_TEST_COLUMNS};
use super::prescribing::{medicine_of, MedicineRow, MEDICINE_COLUMNS};

/// The whole medicine list, retired entries included (for the catalogue screen).
pub async fn medicine_catalogue(store: &Store, auth: &Authorized) -> Result<Vec<Medicine>> {
    auth.require(Permission::ClinicalView)?;
    let sql = format!(
        "SELECT {MEDICINE_COLUMNS} FROM medicines WHERE deleted_at IS NULL ORDER BY active DESC, name COLLATE NOCASE, strength"
    );
    let rows: Vec<MedicineRow> = sqlx::query_as(&sql).fetch_all(store.pool()).await?;
    rows.into_iter().map(medicine_of).collect()
}

/// A medicine and its stored ingredient ids (JSON).
async fn medicine_in(w: &mut WriteTx<'_>, id: &str) -> Result<(Medicine, String)> {
    let sql = format!("SELECT {MEDICINE_COLUMNS} FROM medicines WHERE id = ? AND deleted_at IS NULL");
    let row: Option<MedicineRow> = sqlx::query_as(&sql).bind(id).fetch_optional(w.conn()).await?;
    let row = row.ok_or_else(|| Error::NotFound { entity: "medicine".into() })?;
    let ids = row.ingredients.clone();
    Ok((medicine_of(row)?, ids))
}

async fn lab_test_in(w: &mut WriteTx<'_>, id: &str) -> Result<(LabTest, Option<i64>, Option<i64>)> {
    let sql = format!("SELECT {LAB_TEST_COLUMNS} FROM lab_tests WHERE id = ? AND deleted_at IS NULL");
    let row: Option<LabTestRow> = sqlx::query_as(&sql).bind(id).fetch_optional(w.conn()).await?;
    let row = row.ok_or_else(|| Error::NotFound { entity: "lab test".into() })?;
    let (low, high) = (row.ref_low_milli, row.ref_high_milli);
    Ok((lab_test_of(row), low, high))
}

/// The synced columns of a medicine as a change carries them.
fn medicine_fields(m: &Medicine, ingredients: &str) -> Value {
    json!({ "id": m.id, "name": m.name, "strength": m.strength, "form": m.form, "active": m.active, "ingredients": ingredients })
}

fn lab_test_fields(t: &LabTest, low: Option<i64>, high: Option<i64>) -> Value {
    json!({ "id": t.id, "code": t.code, "name": t.name, "unit": t.unit, "ref_low_milli": low, "ref_high_milli": high, "active": t.active })
}

/// Writes the changed fields of a catalogue row, its change-log entry and its audit entry.
async fn save(w: &mut WriteTx<'_>, table: &str, entity: &str, before: Value, mut after: Value) -> Result<()> {
    let id = after["id"].as_str().unwrap_or_default().to_string();
    let (stamp, by) = (w.stamp(), w.actor().user_id.clone());
    let changed: Vec<(String, Value)> = after
        .as_object()
        .map(|o| o.iter().filter(|(k, v)| k.as_str() != "id" && before.get(k.as_str()) != Some(*v)))
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    // Column names come from this module's own field lists, never from input.
    let sets: Vec<String> = changed.iter().map(|(k, _)| format!("{k} = ?")).collect();
    let sql = format!("UPDATE {table} SET {}, updated_at = ?, updated_by = ? WHERE id = ?", sets.join(", "));
    let mut q = sqlx::query(&sql);
    for (_, v) in &changed {
        q = match v {
            Value::Null => q.bind(None::<String>),
            Value::Bool(b) => q.bind(*b),
            Value::Number(n) => q.bind(n.as_i64()),
            other => q.bind(other.as_str().unwrap_or_default().to_string()),
        };
    }
    q.bind(&stamp).bind(&by).bind(&id).execute(w.conn()).await?;
    after["updated_at"] = json!(stamp);
    after["updated_by"] = json!(by);
    w.record_update(table, &id, &before, &after).await?;
    let was: serde_json::Map<String, Value> =
        changed.iter().map(|(k, _)| (k.clone(), before.get(k.as_str()).cloned().unwrap_or(Value::Null))).collect();
    let now: serde_json::Map<String, Value> = changed.into_iter().collect();
    w.audit(&format!("{entity}.update"), entity, Some(&id), json!({ "before": was, "after": now })).await
}

/// Changes a medicine's name, strength, form or ingredients (its prescriptions show the new
/// text). Ingredients given replace the stored ones; none given keeps them, unless the name
/// changed: then they are those the new name names (as when a medicine is added by name).
pub async fn update_medicine(store: &Store, auth: &Authorized, id: &str, input: MedicineInput) -> Result<Medicine> {
    auth.require(Permission::ClinicalCatalogManage)?;
    let name = line("name", &input.name, 120, true)?;
    let strength = line("strength", &input.strength, 60, false)?;
    let form = line("form", &input.form, 40, false)?.to_lowercase();
    let mut w = store.begin_write(auth.actor()).await?;
    let (before, stored) = medicine_in(&mut w, id).await?;
    let ids: Vec<String> = if input.ingredients.is_empty() && name == before.name {
        crate::store::stored::json("medicines", id, "ingredients", &stored)?
    } else {
        super::prescribing::ingredient_ids(&input.ingredients, &name)?
    };
    let ingredients = serde_json::to_string(&ids)?;
    let taken: bool = sqlx::query_scalar(
        "SELECT COUNT(*) > 0 FROM medicines WHERE name = ? COLLATE NOCASE AND strength = ? COLLATE NOCASE
         AND form = ? COLLATE NOCASE AND deleted_at IS NULL AND id <> ?",
    )
    .bind(&name)
    .bind(&strength)
    .bind(&form)
    .bind(id)
    .fetch_one(w.conn())
    .await?;
    if taken {
        return Err(Error::validation("name", ValidationReason::Taken, "this medicine is already on the list"));
    }
    let names = super::prescribing::ingredient_names(&ids, &name);
    let after = Medicine { name, strength, form, ingredients: names, ..before.clone() };
    save(&mut w, "medicines", "medicine", medicine_fields(&before, &stored), medicine_fields(&after, &ingredients))
        .await?;
    w.commit().await?;
    Ok(after)
}

/// Retires a medicine (`active` false: no longer offered) or offers it again.
pub async fn set_medicine_active(store: &Store, auth: &Authorized, id: &str, active: bool) -> Result<Medicine> {
    auth.require(Permission::ClinicalCatalogManage)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let (before, stored) = medicine_in(&mut w, id).await?;
    let after = Medicine { active, ..before.clone() };
    save(&mut w, "medicines", "medicine", medicine_fields(&before, &stored), medicine_fields(&after, &stored)).await?;
    w.commit().await?;
    Ok(after)
}

/// Changes a lab test's code, name, unit or reference range. Results already entered keep
/// the range they were flagged against.
pub async fn update_lab_test(store: &Store, auth: &Authorized, id: &str, input: LabTestInput) -> Result<LabTest> {
    auth.require(Permission::ClinicalCatalogManage)?;
    let v = super::lab::valid_test(&input)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let (before, low, high) = lab_test_in(&mut w, id).await?;
    let taken: bool = sqlx::query_scalar(
        "SELECT COUNT(*) > 0 FROM lab_tests WHERE code = ? COLLATE NOCASE AND deleted_at IS NULL AND id <> ?",
    )
    .bind(&v.code)
    .bind(id)
    .fetch_one(w.conn())
    .await?;
    if taken {
        return Err(Error::validation(
            "code",
            ValidationReason::Taken,
            format!("{} is already in the catalogue", v.code),
        ));
    }
    let after = LabTest {
        code: v.code,
        name: v.name,
        unit: v.unit,
        ref_low: v.low.map(format_milli),
        ref_high: v.high.map(format_milli),
        ..before.clone()
    };
    save(&mut w, "lab_tests", "lab_test", lab_test_fields(&before, low, high), lab_test_fields(&after, v.low, v.high))
        .await?;
    w.commit().await?;
    Ok(after)
}

/// Retires a lab test (no longer offered for orders) or offers it again.
pub async fn set_lab_test_active(store: &Store, auth: &Authorized, id: &str, active: bool) -> Result<LabTest> {
    auth.require(Permission::ClinicalCatalogManage)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let (before, low, high) = lab_test_in(&mut w, id).await?;
    let after = LabTest { active, ..before.clone() };
    save(&mut w, "lab_tests", "lab_test", lab_test_fields(&before, low, high), lab_test_fields(&after, low, high))
        .await?;
    w.commit().await?;
    Ok(after)
}
