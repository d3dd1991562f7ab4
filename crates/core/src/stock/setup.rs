//! Stores, suppliers and stock items (the administrator's and the pharmacist's), item search,
//! and holding a batch (a recall, a query) so that nothing of it is dispensed. Each write is
//! audited.

use super::model::*;
use super::{NAME_MAX, NOTE_MAX};
use crate::clinical::{insert_row, line};
use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{stored, Store, WriteTx};
use serde_json::json;
use sqlx::SqliteConnection;

/// The highest price per base unit, minor units.
pub const PRICE_MAX: i64 = 100_000_000;
/// The largest pack.
pub const PACK_MAX: u32 = 100_000;
/// The most results an item search gives.
pub const SEARCH_LIMIT: u32 = 50;

// ---- stores ----

pub async fn add_store(store: &Store, auth: &Authorized, input: StockStoreInput) -> Result<StockStore> {
    auth.require(Permission::StockManage)?;
    let name = line("name", &input.name, NAME_MAX, true)?;
    let kind = StoreKind::from_code(input.kind.trim())
        .ok_or_else(|| Error::validation("kind", ValidationReason::Invalid, "main, pharmacy, lab or ward"))?;
    let mut w = store.begin_write(auth.actor()).await?;
    let taken: bool = sqlx::query_scalar(
        "SELECT COUNT(*) > 0 FROM stock_stores WHERE name = ? COLLATE NOCASE AND deleted_at IS NULL",
    )
    .bind(&name)
    .fetch_one(w.conn())
    .await?;
    if taken {
        return Err(Error::validation("name", ValidationReason::Taken, "a store of this name exists"));
    }
    let id = crate::ids::new_id();
    insert_row(
        &mut w,
        "stock_stores",
        &id,
        &[("name", json!(name)), ("kind", json!(kind.code())), ("active", json!(true))],
    )
    .await?;
    w.audit("stock.store_add", "stock_store", Some(&id), json!({ "name": name, "kind": kind })).await?;
    w.commit().await?;
    Ok(StockStore { id, name, kind, active: true })
}

pub async fn stores(store: &Store, auth: &Authorized) -> Result<Vec<StockStore>> {
    auth.require(Permission::StockView)?;
    let rows: Vec<(String, String, String, bool)> =
        sqlx::query_as("SELECT id, name, kind, active FROM stock_stores WHERE deleted_at IS NULL ORDER BY name, id")
            .fetch_all(store.pool())
            .await?;
    rows.into_iter()
        .map(|(id, name, kind, active)| {
            let kind = stored::code("stock_stores", &id, "kind", &kind, StoreKind::from_code)?;
            Ok(StockStore { id, name, kind, active })
        })
        .collect()
}

// ---- suppliers ----

pub async fn add_supplier(store: &Store, auth: &Authorized, input: SupplierInput) -> Result<Supplier> {
    auth.require(Permission::StockManage)?;
    let name = line("name", &input.name, NAME_MAX, true)?;
    let phone = line("phone", &input.phone, 40, false)?;
    let address = line("address", &input.address, NOTE_MAX, false)?;
    let tax_no = line("tax_no", &input.tax_no, 40, false)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let id = crate::ids::new_id();
    insert_row(
        &mut w,
        "suppliers",
        &id,
        &[
            ("name", json!(name)),
            ("phone", json!(phone)),
            ("address", json!(address)),
            ("tax_no", json!(tax_no)),
            ("active", json!(true)),
        ],
    )
    .await?;
    w.audit("stock.supplier_add", "supplier", Some(&id), json!({ "name": name })).await?;
    w.commit().await?;
    Ok(Supplier { id, name, phone, address, tax_no, active: true })
}

pub async fn suppliers(store: &Store, auth: &Authorized) -> Result<Vec<Supplier>> {
    auth.require(Permission::StockView)?;
    let rows: Vec<(String, String, String, String, String, bool)> = sqlx::query_as(
        "SELECT id, name, phone, address, tax_no, active FROM suppliers WHERE deleted_at IS NULL ORDER BY name, id",
    )
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, phone, address, tax_no, active)| Supplier { id, name, phone, address, tax_no, active })
        .collect())
}

// ---- items ----

const ITEM_COLUMNS: &str = "id, kind, medicine_id, generic_name, strength, form, pack_size, unit, reorder_level, \
                            tax_rate_bp, hsn_code, sale_price_minor, active";

type ItemRow = (String, String, Option<String>, String, String, String, i64, String, i64, i64, String, i64, bool);

fn item_of(r: ItemRow) -> Result<StockItem> {
    let (id, kind, medicine_id, generic_name, strength, form, pack, unit, reorder, tax, hsn_code, price, active) = r;
    let kind = stored::code("stock_items", &id, "kind", &kind, ItemKind::from_code)?;
    let u32_of = |field: &str, v: i64| {
        u32::try_from(v).map_err(|_| Error::corrupt("stock_items", &id, field, "not a whole number in range"))
    };
    Ok(StockItem {
        kind,
        medicine_id,
        generic_name,
        strength,
        form,
        pack_size: u32_of("pack_size", pack)?,
        unit,
        reorder_level: u32_of("reorder_level", reorder)?,
        tax_rate_bp: u32_of("tax_rate_bp", tax)?,
        hsn_code,
        sale_price_minor: price,
        active,
        id,
    })
}

pub(crate) async fn load_item(conn: &mut SqliteConnection, id: &str) -> Result<Option<StockItem>> {
    let row: Option<ItemRow> =
        sqlx::query_as(&format!("SELECT {ITEM_COLUMNS} FROM stock_items WHERE id = ? AND deleted_at IS NULL"))
            .bind(id)
            .fetch_optional(conn)
            .await?;
    row.map(item_of).transpose()
}

/// The items of `ids` that exist (deleted ones are left out), by id, in one statement.
pub(crate) async fn load_items(
    conn: &mut SqliteConnection,
    ids: &[&str],
) -> Result<std::collections::HashMap<String, StockItem>> {
    let rows: Vec<ItemRow> = sqlx::query_as(&format!(
        "SELECT {ITEM_COLUMNS} FROM stock_items WHERE id IN (SELECT value FROM json_each(?)) AND deleted_at IS NULL"
    ))
    .bind(serde_json::to_string(ids)?)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(|r| item_of(r).map(|item| (item.id.clone(), item))).collect()
}

/// The stock item of a medicine (the first made, should two devices have made one each).
pub(crate) async fn item_of_medicine(conn: &mut SqliteConnection, medicine_id: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM stock_items WHERE medicine_id = ? AND deleted_at IS NULL AND active = 1 ORDER BY id LIMIT 1",
    )
    .bind(medicine_id)
    .fetch_optional(conn)
    .await?)
}

/// An item's values checked: a medicine item names a medicine of the list (and takes its
/// name, strength and form); others name themselves.
struct ItemValues {
    kind: ItemKind,
    medicine_id: Option<String>,
    generic_name: String,
    strength: String,
    form: String,
    unit: String,
    hsn_code: String,
}

async fn check_item(w: &mut WriteTx<'_>, input: &StockItemInput, item_id: Option<&str>) -> Result<ItemValues> {
    let kind = ItemKind::from_code(input.kind.trim())
        .ok_or_else(|| Error::validation("kind", ValidationReason::Invalid, "medicine, lab_consumable or other"))?;
    if input.pack_size == 0 || input.pack_size > PACK_MAX {
        return Err(Error::validation("pack_size", ValidationReason::OutOfRange, format!("1 to {PACK_MAX}")));
    }
    let unit = line("unit", &input.unit, 40, true)?;
    if input.tax_rate_bp > 10_000 {
        return Err(Error::validation("tax_rate_bp", ValidationReason::OutOfRange, "0 to 100%"));
    }
    if !(0..=PRICE_MAX).contains(&input.sale_price_minor) {
        return Err(Error::validation("sale_price_minor", ValidationReason::OutOfRange, "0 or more"));
    }
    if i64::from(input.reorder_level) > super::QUANTITY_MAX {
        return Err(Error::validation("reorder_level", ValidationReason::OutOfRange, "too large"));
    }
    let hsn_code = line("hsn_code", &input.hsn_code, 16, false)?;
    let medicine_id = input.medicine_id.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let (medicine_id, generic_name, strength, form) = match (kind, medicine_id) {
        (ItemKind::Medicine, None) => {
            return Err(Error::validation("medicine_id", ValidationReason::Required, "a medicine of the medicine list"))
        }
        (ItemKind::Medicine, Some(m)) => {
            let row: Option<(String, String, String)> =
                sqlx::query_as("SELECT name, strength, form FROM medicines WHERE id = ? AND deleted_at IS NULL")
                    .bind(m)
                    .fetch_optional(w.conn())
                    .await?;
            let Some((name, strength, form)) = row else {
                return Err(Error::validation("medicine_id", ValidationReason::Invalid, "no such medicine"));
            };
            let taken: bool = sqlx::query_scalar(
                "SELECT COUNT(*) > 0 FROM stock_items WHERE medicine_id = ? AND id <> ? AND deleted_at IS NULL",
            )
            .bind(m)
            .bind(item_id.unwrap_or(""))
            .fetch_one(w.conn())
            .await?;
            if taken {
                return Err(Error::validation(
                    "medicine_id",
                    ValidationReason::Taken,
                    "this medicine is stocked already",
                ));
            }
            (Some(m.to_string()), name, strength, form)
        }
        (_, Some(_)) => {
            return Err(Error::validation("medicine_id", ValidationReason::Invalid, "only a medicine item names one"))
        }
        (_, None) => (
            None,
            line("generic_name", &input.generic_name, NAME_MAX, true)?,
            line("strength", &input.strength, 40, false)?,
            line("form", &input.form, 40, false)?,
        ),
    };
    Ok(ItemValues { kind, medicine_id, generic_name, strength, form, unit, hsn_code })
}

fn item_columns(v: &ItemValues, input: &StockItemInput) -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("kind", json!(v.kind.code())),
        ("medicine_id", json!(v.medicine_id)),
        ("generic_name", json!(v.generic_name)),
        ("strength", json!(v.strength)),
        ("form", json!(v.form)),
        ("pack_size", json!(input.pack_size)),
        ("unit", json!(v.unit)),
        ("reorder_level", json!(input.reorder_level)),
        ("tax_rate_bp", json!(input.tax_rate_bp)),
        ("hsn_code", json!(v.hsn_code)),
        ("sale_price_minor", json!(input.sale_price_minor)),
    ]
}

pub async fn add_item(store: &Store, auth: &Authorized, input: StockItemInput) -> Result<StockItem> {
    auth.require(Permission::StockManage)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let v = check_item(&mut w, &input, None).await?;
    let id = crate::ids::new_id();
    let mut cols = item_columns(&v, &input);
    cols.push(("active", json!(true)));
    insert_row(&mut w, "stock_items", &id, &cols).await?;
    w.audit(
        "stock.item_add",
        "stock_item",
        Some(&id),
        json!({ "generic_name": v.generic_name, "kind": v.kind, "medicine_id": v.medicine_id }),
    )
    .await?;
    w.commit().await?;
    let mut conn = store.pool().acquire().await?;
    load_item(&mut conn, &id).await?.ok_or(Error::NotFound { entity: "stock item".into() })
}

/// Changes an item's particulars (its kind and medicine stay).
pub async fn update_item(store: &Store, auth: &Authorized, item_id: &str, input: StockItemInput) -> Result<StockItem> {
    auth.require(Permission::StockManage)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let before = load_item(w.conn(), item_id).await?.ok_or(Error::NotFound { entity: "stock item".into() })?;
    let v = check_item(&mut w, &input, Some(item_id)).await?;
    if v.kind != before.kind || v.medicine_id != before.medicine_id {
        return Err(Error::validation("kind", ValidationReason::Invalid, "an item keeps its kind and medicine"));
    }
    let cols = item_columns(&v, &input);
    let (stamp, by) = (w.stamp(), w.actor().user_id.clone());
    let sets: Vec<String> = cols.iter().map(|(c, _)| format!("{c} = ?")).collect();
    let sql = format!("UPDATE stock_items SET {}, updated_at = ?, updated_by = ? WHERE id = ?", sets.join(", "));
    let mut q = sqlx::query(&sql);
    for (_, value) in &cols {
        q = match value {
            serde_json::Value::Number(n) => q.bind(n.as_i64()),
            serde_json::Value::String(s) => q.bind(s.clone()),
            _ => q.bind(None::<String>),
        };
    }
    q.bind(&stamp).bind(&by).bind(item_id).execute(w.conn()).await?;
    let old = serde_json::to_value(&before).map_err(Error::internal)?;
    let mut new = serde_json::Map::new();
    for (c, value) in cols {
        new.insert(c.to_string(), value);
    }
    // The stored kind is its code, as the model serialises it.
    new.insert("updated_at".into(), json!(stamp));
    new.insert("updated_by".into(), json!(by));
    w.record_update("stock_items", item_id, &old, &serde_json::Value::Object(new)).await?;
    w.audit("stock.item_update", "stock_item", Some(item_id), json!({ "generic_name": v.generic_name })).await?;
    w.commit().await?;
    let mut conn = store.pool().acquire().await?;
    load_item(&mut conn, item_id).await?.ok_or(Error::NotFound { entity: "stock item".into() })
}

/// Items with a word of their name starting with the query's words (in that order: "glove sy"
/// finds "Glove Syringe"), or all when it is empty; with what is usable on hand across
/// stores. At most [`SEARCH_LIMIT`], by name. A query without letters or digits finds none.
pub async fn search_items(store: &Store, auth: &Authorized, query: &str) -> Result<Vec<ItemHit>> {
    auth.require(Permission::StockView)?;
    let today = crate::clinic::today_ymd(store).await?;
    let empty = query.trim().is_empty();
    let Some(words) = words_query(query).or(empty.then(String::new)) else { return Ok(Vec::new()) };
    // The hits from the index (`stock_item_fts`, migration 0049: the index first, then the
    // names it holds to sort them, the items themselves read for the hits shown only); an
    // empty query lists the items by name. The usable stock is summed for the hits shown only.
    let hits = if empty {
        "SELECT w.item_id, w.name AS sort_name, w.strength AS sort_strength FROM stock_item_words w WHERE ?1 = ''"
    } else {
        "SELECT w.item_id, w.name AS sort_name, w.strength AS sort_strength
         FROM stock_item_fts f CROSS JOIN stock_item_words w ON w.pk = f.rowid
         WHERE stock_item_fts MATCH ?1"
    };
    let rows: Vec<sqlx::sqlite::SqliteRow> = sqlx::query(&format!(
        "SELECT {ITEM_COLUMNS},
                (SELECT COALESCE(SUM(s.quantity), 0) FROM stock_balances s JOIN stock_batches b ON b.id = s.batch_id
                 WHERE s.item_id = i.id AND b.expiry >= ?3 AND b.on_hold = 0 AND b.deleted_at IS NULL) AS on_hand
         FROM ({hits} ORDER BY w.name COLLATE NOCASE, w.strength, w.item_id LIMIT ?2) h
         JOIN stock_items i ON i.id = h.item_id
         WHERE i.deleted_at IS NULL
         ORDER BY h.sort_name COLLATE NOCASE, h.sort_strength, h.item_id"
    ))
    .bind(&words)
    .bind(SEARCH_LIMIT)
    .bind(&today)
    .fetch_all(store.pool())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        use sqlx::{FromRow, Row};
        let (item, on_hand): (ItemRow, i64) = (ItemRow::from_row(&row)?, row.try_get("on_hand")?);
        let item = item_of(item)?;
        let below_reorder = on_hand < i64::from(item.reorder_level);
        out.push(ItemHit { item, on_hand, below_reorder });
    }
    Ok(out)
}

/// A search's words as an FTS5 phrase whose last word is a prefix ("Glove sy" → `"glove sy"*`);
/// only letters and digits reach it, so nothing in a query is FTS5 syntax. None without words.
fn words_query(query: &str) -> Option<String> {
    let words: Vec<String> =
        query.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
    (!words.is_empty()).then(|| format!("\"{}\"*", words.join(" ")))
}

/// Puts a batch on hold (a recall, a query: nothing of it is dispensed) or releases it.
pub async fn set_batch_hold(
    store: &Store,
    auth: &Authorized,
    batch_id: &str,
    on_hold: bool,
    reason: &str,
) -> Result<()> {
    auth.require(Permission::StockManage)?;
    let reason = line("reason", reason, NOTE_MAX, on_hold)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let before: Option<(bool, String)> =
        sqlx::query_as("SELECT on_hold, hold_reason FROM stock_batches WHERE id = ? AND deleted_at IS NULL")
            .bind(batch_id)
            .fetch_optional(w.conn())
            .await?;
    let Some((was, was_reason)) = before else {
        return Err(Error::validation("batch_id", ValidationReason::Invalid, "no such batch"));
    };
    let (stamp, by) = (w.stamp(), w.actor().user_id.clone());
    sqlx::query("UPDATE stock_batches SET on_hold = ?, hold_reason = ?, updated_at = ?, updated_by = ? WHERE id = ?")
        .bind(on_hold)
        .bind(&reason)
        .bind(&stamp)
        .bind(&by)
        .bind(batch_id)
        .execute(w.conn())
        .await?;
    let old = json!({ "on_hold": was, "hold_reason": was_reason });
    let new = json!({ "on_hold": on_hold, "hold_reason": reason, "updated_at": stamp, "updated_by": by });
    w.record_update("stock_batches", batch_id, &old, &new).await?;
    let action = if on_hold { "stock.batch_hold" } else { "stock.batch_release" };
    w.audit(action, "stock_batch", Some(batch_id), json!({ "reason": reason })).await?;
    w.commit().await
}
