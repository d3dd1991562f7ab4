//! Reading the ledger: balances (derived: the cache the triggers keep, equal to the sum of the
//! movements), a store's expiry list, the batches below zero (two devices' movements can meet
//! that way: they are listed, never hidden), and the clinic's negative-stock setting.

use super::model::*;
use super::ALLOW_NEGATIVE_KEY;
use crate::error::Result;
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use serde::Serialize;
use serde_json::json;

type BalanceRow = (String, String, String, String, String, i64, bool);

fn balances_of(rows: Vec<BalanceRow>) -> Vec<BatchBalance> {
    rows.into_iter()
        .map(|(item_id, batch_id, batch_no, expiry, store_id, quantity, on_hold)| BatchBalance {
            item_id,
            batch_id,
            batch_no,
            expiry,
            store_id,
            quantity,
            on_hold,
        })
        .collect()
}

/// An item's balance in each batch and store (rows at zero left out), earliest expiry first.
pub async fn item_balances(store: &Store, auth: &Authorized, item_id: &str) -> Result<Vec<BatchBalance>> {
    auth.require(Permission::StockView)?;
    let rows: Vec<BalanceRow> = sqlx::query_as(
        "SELECT s.item_id, s.batch_id, b.batch_no, b.expiry, s.store_id, s.quantity, b.on_hold
         FROM stock_balances s JOIN stock_batches b ON b.id = s.batch_id
         WHERE s.item_id = ? AND s.quantity <> 0 ORDER BY b.expiry, b.batch_no, s.store_id",
    )
    .bind(item_id)
    .fetch_all(store.pool())
    .await?;
    Ok(balances_of(rows))
}

/// A batch below zero in a store, as the Pharmacy screen lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ShortLine {
    pub balance: BatchBalance,
    /// "Amoxicillin 500 mg capsule".
    pub item_name: String,
    pub unit: String,
    pub store_name: String,
}

/// The batches whose balance in a store is below zero (negative stock allowed, or two
/// devices' movements that met after sync): what the pharmacist counts and corrects.
pub async fn negative_batches(store: &Store, auth: &Authorized) -> Result<Vec<ShortLine>> {
    auth.require(Permission::StockView)?;
    type Row = (String, String, String, String, String, i64, bool, String, String, String);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT s.item_id, s.batch_id, b.batch_no, b.expiry, s.store_id, s.quantity, b.on_hold,
                TRIM(i.generic_name || ' ' || i.strength || ' ' || i.form), i.unit, st.name
         FROM stock_balances s JOIN stock_batches b ON b.id = s.batch_id
         JOIN stock_items i ON i.id = s.item_id JOIN stock_stores st ON st.id = s.store_id
         WHERE s.quantity < 0 ORDER BY i.generic_name COLLATE NOCASE, s.item_id, b.expiry, s.store_id",
    )
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(item_id, batch_id, batch_no, expiry, store_id, quantity, on_hold, item_name, unit, store_name)| {
            let balance = BatchBalance { item_id, batch_id, batch_no, expiry, store_id, quantity, on_hold };
            ShortLine { balance, item_name, unit, store_name }
        })
        .collect())
}

/// A store's batches with stock that expire within `days` days (expired ones included),
/// earliest first.
pub async fn expiry_report(store: &Store, auth: &Authorized, store_id: &str, days: u32) -> Result<Vec<ExpiryLine>> {
    auth.require(Permission::StockView)?;
    let today = crate::clinic::today(store).await?;
    let until = today + chrono::Duration::days(i64::from(days.min(3650)));
    type Row = (String, String, String, String, String, String, String, i64, bool);
    let rows: Vec<Row> = sqlx::query_as(
        // From the batches by expiry, each looked up in the store's balances: a window (30 to
        // 90 days) reads the batches that expire in it, not every batch the store holds, and
        // they come in expiry order already.
        "SELECT i.id, i.generic_name, i.strength, i.form, b.id, b.batch_no, b.expiry, s.quantity, b.on_hold
         FROM stock_batches b INDEXED BY stock_batches_expiry
         JOIN stock_balances s ON s.batch_id = b.id AND s.store_id = ?1
         JOIN stock_items i ON i.id = s.item_id
         WHERE b.expiry <= ?2 AND s.quantity > 0 AND b.deleted_at IS NULL
         ORDER BY b.expiry, i.generic_name, b.batch_no",
    )
    .bind(store_id)
    .bind(until.format("%Y-%m-%d").to_string())
    .fetch_all(store.pool())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (item_id, generic_name, strength, form, batch_id, batch_no, expiry, quantity, on_hold) in rows {
        let day = super::date("expiry", &expiry)
            .map_err(|_| crate::Error::corrupt("stock_batches", &batch_id, "expiry", "not a date YYYY-MM-DD"))?;
        let days_left = (day - today).num_days();
        out.push(ExpiryLine {
            item_id,
            generic_name,
            strength,
            form,
            batch_id,
            batch_no,
            expiry,
            quantity,
            days_left,
            on_hold,
        });
    }
    Ok(out)
}

/// Whether the clinic lets stock go below zero.
pub async fn allows_negative(store: &Store, auth: &Authorized) -> Result<bool> {
    auth.require(Permission::StockView)?;
    let mut conn = store.pool().acquire().await?;
    super::allow_negative(&mut conn).await
}

/// Lets stock go below zero, or not (administrator; off by default).
pub async fn set_allow_negative(store: &Store, auth: &Authorized, allow: bool) -> Result<()> {
    auth.require(Permission::SettingsManage)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let before = super::allow_negative(w.conn()).await?;
    crate::settings::values::put(&mut w, ALLOW_NEGATIVE_KEY, &json!(allow)).await?;
    w.audit("settings.update", "settings", Some(ALLOW_NEGATIVE_KEY), json!({ "before": before, "after": allow }))
        .await?;
    w.commit().await
}
