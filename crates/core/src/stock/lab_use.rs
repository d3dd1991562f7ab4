//! Lab consumption: each lab test names the stock items it uses per test (a reagent, a strip),
//! and entering a result takes them out of the clinic's lab store, first expiry first out,
//! in the result's own write ([`consume`], called by `clinical::lab::enter_result`).
//!
//! **Once per order.** Only the first result of an order uses stock: a result cannot be
//! entered twice locally (the order is then resulted), and [`consume`] also skips an order
//! that already has uses. Two devices that each entered a result offline ran the test twice,
//! and both uses stand.
//!
//! **Never blocked by stock.** A result is always saved. Each item used is one `lab_uses` row
//! with a `lab_use` movement per batch taken (fefo::allocate, from the lab store). Whatever no
//! usable batch gives follows the clinic's negative-stock setting, as dispensing does: allowed,
//! it goes below zero on the last batch taken (or the earliest usable batch of the item) and is
//! listed with the batches below zero; not allowed (the default), no movement invents stock:
//! the part is recorded as the use's `short` and listed by [`shortfalls`] until a stock take of
//! that store is posted after it (the shelf counted: the books agree with it again). Without
//! an active lab store everything used is short, and stays listed until the uses are
//! looked at (there is no store to count).
//!
//! Who: the lab technician or the administrator says what a test uses
//! (`lab_consumables_manage`); entering a result (`lab_results`) writes the uses.

use super::lab_use_model::*;
use super::model::{MovementKind, Pick};
use super::{candidates, fefo, positive, require_item};
use crate::clinical::{exists, insert_row, within};
use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::tables::{Table, NO_RULES};
use crate::store::{Store, WriteTx};
use chrono::NaiveDate;
use serde_json::json;
use sqlx::SqliteConnection;

inventory::submit! { Table { name: "lab_test_consumables", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "lab_uses", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }

/// The most items one lab test may use.
pub const CONSUMABLES_MAX: usize = 20;
/// The most shortfalls [`shortfalls`] lists.
pub const SHORTFALLS_MAX: i64 = 200;

/// The row of a test's use of an item: one per test and item, so two devices setting it
/// offline make one row.
fn consumable_id(test_id: &str, item_id: &str) -> String {
    crate::ids::reference_id("lab_test_consumable", &format!("{test_id}\n{item_id}"))
}

async fn read_consumables(conn: &mut SqliteConnection, test_id: &str) -> Result<Vec<LabConsumable>> {
    let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
        "SELECT c.item_id, i.generic_name, i.strength, i.unit, c.quantity
         FROM lab_test_consumables c JOIN stock_items i ON i.id = c.item_id
         WHERE c.test_id = ? AND c.deleted_at IS NULL ORDER BY i.generic_name COLLATE NOCASE, c.item_id",
    )
    .bind(test_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(item_id, generic_name, strength, unit, quantity)| LabConsumable {
            item_id,
            generic_name,
            strength,
            unit,
            quantity,
        })
        .collect())
}

/// What a lab test uses per test (the lab technician, the administrator, and whoever edits
/// the catalogue).
pub async fn test_consumables(store: &Store, auth: &Authorized, test_id: &str) -> Result<Vec<LabConsumable>> {
    if auth.require(Permission::LabConsumablesManage).is_err() {
        auth.require(Permission::ClinicalCatalogManage)?;
    }
    let mut conn = store.pool().acquire().await?;
    read_consumables(&mut conn, test_id).await
}

/// Sets what a lab test uses per test: the list given replaces the one before (an item left
/// out is no longer used). Answers the list as stored.
pub async fn set_test_consumables(
    store: &Store,
    auth: &Authorized,
    test_id: &str,
    lines: Vec<LabConsumableInput>,
) -> Result<Vec<LabConsumable>> {
    auth.require(Permission::LabConsumablesManage)?;
    if lines.len() > CONSUMABLES_MAX {
        return Err(Error::validation("lines", ValidationReason::TooLong, format!("at most {CONSUMABLES_MAX} items")));
    }
    for (i, l) in lines.iter().enumerate() {
        within(&format!("lines.{i}"), positive("quantity", l.quantity))?;
    }
    let mut w = store.begin_write(auth.actor()).await?;
    if !exists(&mut w, "lab_tests", test_id).await? {
        return Err(Error::NotFound { entity: "lab test".into() });
    }
    let mut wanted: Vec<(String, i64)> = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        let item = within(&format!("lines.{i}"), require_item(w.conn(), "item_id", l.item_id.trim()).await)?;
        if wanted.iter().any(|(id, _)| *id == item.id) {
            return Err(Error::validation(&format!("lines.{i}.item_id"), ValidationReason::Taken, "listed twice"));
        }
        wanted.push((item.id, l.quantity));
    }
    type Existing = (String, String, i64, Option<String>);
    let existing: Vec<Existing> =
        sqlx::query_as("SELECT id, item_id, quantity, deleted_at FROM lab_test_consumables WHERE test_id = ?")
            .bind(test_id)
            .fetch_all(w.conn())
            .await?;
    for (item_id, quantity) in &wanted {
        let id = consumable_id(test_id, item_id);
        match existing.iter().find(|e| e.0 == id) {
            None => {
                let cols = [("test_id", json!(test_id)), ("item_id", json!(item_id)), ("quantity", json!(quantity))];
                insert_row(&mut w, "lab_test_consumables", &id, &cols).await?;
            }
            Some((_, _, q, None)) if q == quantity => {}
            Some((_, _, q, deleted)) => update(&mut w, &id, (*q, deleted.clone()), (*quantity, None)).await?,
        }
    }
    let gone = existing.iter().filter(|e| e.3.is_none() && !wanted.iter().any(|(item, _)| *item == e.1));
    for (id, _, q, _) in gone {
        let now = w.now_rfc3339();
        update(&mut w, id, (*q, None), (*q, Some(now))).await?;
    }
    let detail: Vec<_> = wanted.iter().map(|(item, q)| json!({ "item_id": item, "quantity": q })).collect();
    w.audit("lab_test.consumables", "lab_test", Some(test_id), json!({ "lines": detail })).await?;
    w.commit().await?;
    let mut conn = store.pool().acquire().await?;
    read_consumables(&mut conn, test_id).await
}

/// Sets a row's quantity and tombstone, as a synced update of what changed.
async fn update(
    w: &mut WriteTx<'_>,
    id: &str,
    before: (i64, Option<String>),
    after: (i64, Option<String>),
) -> Result<()> {
    let (stamp, by) = (w.stamp(), w.actor().user_id.clone());
    sqlx::query(
        "UPDATE lab_test_consumables SET quantity = ?, deleted_at = ?, updated_at = ?, updated_by = ? WHERE id = ?",
    )
    .bind(after.0)
    .bind(&after.1)
    .bind(&stamp)
    .bind(&by)
    .bind(id)
    .execute(w.conn())
    .await?;
    let old = json!({ "quantity": before.0, "deleted_at": before.1 });
    let new = json!({ "quantity": after.0, "deleted_at": after.1, "updated_at": stamp, "updated_by": by });
    w.record_update("lab_test_consumables", id, &old, &new).await
}

/// The clinic's lab store: the first active store of kind lab.
async fn lab_store(conn: &mut SqliteConnection) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM stock_stores WHERE kind = 'lab' AND active = 1 AND deleted_at IS NULL
         ORDER BY created_at, id LIMIT 1",
    )
    .fetch_optional(conn)
    .await?)
}

/// Takes what a result of `test_id` uses out of the lab store, inside the result's write (see
/// the module doc). Audited `stock.lab_use` when the test uses anything.
pub(crate) async fn consume(w: &mut WriteTx<'_>, order_id: &str, result_id: &str, test_id: &str) -> Result<()> {
    let wanted: Vec<(String, i64)> = sqlx::query_as(
        "SELECT item_id, quantity FROM lab_test_consumables WHERE test_id = ? AND deleted_at IS NULL ORDER BY item_id",
    )
    .bind(test_id)
    .fetch_all(w.conn())
    .await?;
    let used_before: bool = sqlx::query_scalar("SELECT COUNT(*) > 0 FROM lab_uses WHERE order_id = ?")
        .bind(order_id)
        .fetch_one(w.conn())
        .await?;
    if wanted.is_empty() || used_before {
        return Ok(());
    }
    let store_id = lab_store(w.conn()).await?;
    let today = super::today_in(w).await?;
    let allow_negative = super::allow_negative(w.conn()).await?;
    let at = w.now_rfc3339();
    let mut audited = Vec::with_capacity(wanted.len());
    for (item_id, quantity) in wanted {
        let (picks, short) = match &store_id {
            Some(s) => take(w.conn(), s, &item_id, quantity, today, allow_negative).await?,
            None => (Vec::new(), quantity),
        };
        let use_id = crate::ids::new_id();
        let cols = [
            ("order_id", json!(order_id)),
            ("result_id", json!(result_id)),
            ("test_id", json!(test_id)),
            ("item_id", json!(item_id)),
            ("store_id", json!(store_id)),
            ("quantity", json!(quantity)),
            ("short", json!(short)),
            ("at", json!(at)),
        ];
        insert_row(w, "lab_uses", &use_id, &cols).await?;
        if let Some(store_id) = &store_id {
            for p in &picks {
                movement(w, &use_id, &item_id, store_id, p, &at).await?;
            }
        }
        let batches: Vec<_> = picks.iter().map(|p| json!({ "batch_id": p.batch_id, "quantity": p.quantity })).collect();
        audited.push(json!({ "item_id": item_id, "quantity": quantity, "short": short, "batches": batches }));
    }
    w.audit(
        "stock.lab_use",
        "lab_result",
        Some(result_id),
        json!({ "order_id": order_id, "store_id": store_id, "uses": audited }),
    )
    .await
}

/// The batches to take `quantity` of an item from the lab store, and what is left short.
async fn take(
    conn: &mut SqliteConnection,
    store_id: &str,
    item_id: &str,
    quantity: i64,
    today: NaiveDate,
    allow_negative: bool,
) -> Result<(Vec<Pick>, i64)> {
    let batches = candidates(conn, item_id).await?;
    let a = fefo::allocate(&batches, store_id, quantity, today, None);
    let mut picks = a.picks;
    if a.short == 0 || !allow_negative {
        return Ok((picks, a.short));
    }
    // Negative stock allowed: the shortfall goes on the last batch taken, or on the earliest
    // batch that is neither expired nor held (as dispensing does); none: it stays short.
    if let Some(last) = picks.last_mut() {
        last.quantity += a.short;
        return Ok((picks, 0));
    }
    let fallback =
        batches.iter().filter(|c| c.expiry >= today && !c.on_hold).min_by_key(|c| (c.expiry, c.batch_id.clone()));
    Ok(match fallback {
        Some(c) => (
            vec![Pick {
                batch_id: c.batch_id.clone(),
                batch_no: c.batch_no.clone(),
                expiry: c.expiry.format("%Y-%m-%d").to_string(),
                quantity: a.short,
            }],
            0,
        ),
        None => (picks, a.short),
    })
}

/// One `lab_use` movement out of the lab store (a synced insert; the balance follows by trigger).
async fn movement(w: &mut WriteTx<'_>, use_id: &str, item_id: &str, store_id: &str, p: &Pick, at: &str) -> Result<()> {
    let id = crate::ids::new_id();
    let cols = [
        ("item_id", json!(item_id)),
        ("batch_id", json!(p.batch_id)),
        ("store_id", json!(store_id)),
        ("kind", json!(MovementKind::LabUse.code())),
        ("quantity", json!(-p.quantity)),
        ("reason", json!("")),
        ("note", json!("")),
        ("lab_use_id", json!(use_id)),
        ("at", json!(at)),
    ];
    insert_row(w, "stock_movements", &id, &cols).await
}

#[derive(sqlx::FromRow)]
struct UseRow {
    id: String,
    order_id: String,
    result_id: String,
    test_code: String,
    test_name: String,
    item_id: String,
    generic_name: String,
    unit: String,
    store_id: Option<String>,
    store_name: Option<String>,
    quantity: i64,
    short: i64,
    at: String,
}

/// The lab uses that no batch gave in full and that no stock take of their store posted after
/// them has settled, newest first (at most [`SHORTFALLS_MAX`]).
pub async fn shortfalls(store: &Store, auth: &Authorized) -> Result<Vec<LabUse>> {
    auth.require(Permission::StockView)?;
    let rows: Vec<UseRow> = sqlx::query_as(
        "SELECT u.id, u.order_id, u.result_id, t.code AS test_code, t.name AS test_name, u.item_id,
                i.generic_name, i.unit, u.store_id, st.name AS store_name, u.quantity, u.short, u.at
         FROM lab_uses u JOIN lab_tests t ON t.id = u.test_id JOIN stock_items i ON i.id = u.item_id
         LEFT JOIN stock_stores st ON st.id = u.store_id
         WHERE u.short > 0 AND u.deleted_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM stock_takes k INDEXED BY stock_takes_store
                           WHERE k.store_id = u.store_id AND k.status = 'posted' AND k.deleted_at IS NULL
                             AND k.closed_at > u.at)
         ORDER BY u.at DESC, u.id DESC LIMIT ?",
    )
    .bind(SHORTFALLS_MAX)
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| LabUse {
            id: r.id,
            order_id: r.order_id,
            result_id: r.result_id,
            test_code: r.test_code,
            test_name: r.test_name,
            item_id: r.item_id,
            generic_name: r.generic_name,
            unit: r.unit,
            store_id: r.store_id,
            store_name: r.store_name,
            quantity: r.quantity,
            short: r.short,
            at: r.at,
        })
        .collect())
}
