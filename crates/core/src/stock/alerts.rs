//! Stock alerts for Home: the items below their reorder level and the batches expiring within
//! 30, 60 and 90 days or expired, across every store. The same rules as the rest of stock:
//! an item's stock on hand is what is usable (not expired, not held), as the item search counts
//! it; an expiry line is a batch with stock in a store, as a store's expiry list shows it
//! (held batches included: they still have to go before they expire). And the batch lines
//! below zero (`below_zero`), never hidden.

use crate::error::{Error, Result};
use crate::rbac::Permission;
use crate::reports::dashboard::TILE_LIST_MAX;
use crate::session::Authorized;
use crate::store::Store;
use serde::Serialize;

/// The expiry windows in days, as the expiry list offers them.
pub const EXPIRY_WINDOWS: [i64; 3] = [30, 60, 90];

/// An item below its reorder level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct LowItem {
    pub item_id: String,
    pub generic_name: String,
    pub strength: String,
    pub form: String,
    pub unit: String,
    /// Usable stock across stores (not expired, not held), in base units.
    #[specta(type = f64)]
    pub on_hand: i64,
    pub reorder_level: u32,
}

/// The figures of the stock tile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct StockAlerts {
    /// Active items whose usable stock is below their reorder level.
    pub below_reorder: u32,
    /// The first of them, fewest on hand first (at most [`TILE_LIST_MAX`], as every list tile).
    pub low: Vec<LowItem>,
    /// Batch lines (a batch with stock in a store) past their expiry day.
    pub expired: u32,
    /// Lines expiring from today through 30 days from now (not expired); the 60- and 90-day
    /// figures include them, as the expiry list's windows do.
    pub within_30: u32,
    pub within_60: u32,
    pub within_90: u32,
    /// Batch lines below zero in a store (`below_zero`: devices' movements met, or the clinic
    /// allows negative stock): the shelf holds less than the books; count and correct.
    pub below_zero: u32,
}

fn count(field: &str, n: i64) -> Result<u32> {
    u32::try_from(n).map_err(|_| Error::corrupt("stock_balances", "", field, "count out of range"))
}

/// The stock alerts of the clinic today (`stock_view`).
pub async fn alerts(store: &Store, auth: &Authorized) -> Result<StockAlerts> {
    auth.require(Permission::StockView)?;
    let today = crate::clinic::today(store).await?;
    let ymd = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    let [d30, d60, d90] = EXPIRY_WINDOWS.map(|days| ymd(today + chrono::Duration::days(days)));
    let (expired, within_30, within_60, within_90, below_zero): (i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT COALESCE(SUM(s.quantity > 0 AND b.expiry < ?1), 0),
                COALESCE(SUM(s.quantity > 0 AND b.expiry >= ?1 AND b.expiry <= ?2), 0),
                COALESCE(SUM(s.quantity > 0 AND b.expiry >= ?1 AND b.expiry <= ?3), 0),
                COALESCE(SUM(s.quantity > 0 AND b.expiry >= ?1 AND b.expiry <= ?4), 0),
                COALESCE(SUM(s.quantity < 0), 0)
         FROM stock_balances s JOIN stock_batches b ON b.id = s.batch_id
         WHERE s.quantity <> 0 AND b.deleted_at IS NULL",
    )
    .bind(ymd(today))
    .bind(d30)
    .bind(d60)
    .bind(d90)
    .fetch_one(store.pool())
    .await?;
    let (below_reorder, low) = low_items(store, &ymd(today)).await?;
    Ok(StockAlerts {
        below_reorder,
        low,
        expired: count("expired", expired)?,
        within_30: count("within_30", within_30)?,
        within_60: count("within_60", within_60)?,
        within_90: count("within_90", within_90)?,
        below_zero: count("below_zero", below_zero)?,
    })
}

/// The active items below their reorder level: how many, and the first [`TILE_LIST_MAX`].
async fn low_items(store: &Store, today: &str) -> Result<(u32, Vec<LowItem>)> {
    type Row = (String, String, String, String, String, i64, i64);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, generic_name, strength, form, unit, on_hand, reorder_level FROM (
           SELECT i.id, i.generic_name, i.strength, i.form, i.unit, i.reorder_level,
                  (SELECT COALESCE(SUM(s.quantity), 0) FROM stock_balances s JOIN stock_batches b ON b.id = s.batch_id
                   WHERE s.item_id = i.id AND b.expiry >= ?1 AND b.on_hold = 0 AND b.deleted_at IS NULL) AS on_hand
           FROM stock_items i WHERE i.deleted_at IS NULL AND i.active = 1)
         WHERE on_hand < reorder_level
         ORDER BY on_hand, generic_name COLLATE NOCASE, strength, id",
    )
    .bind(today)
    .fetch_all(store.pool())
    .await?;
    let total = u32::try_from(rows.len())
        .map_err(|_| Error::corrupt("stock_items", "", "reorder_level", "too many items below it"))?;
    let low = rows
        .into_iter()
        .take(TILE_LIST_MAX as usize)
        .map(|(item_id, generic_name, strength, form, unit, on_hand, reorder)| {
            let reorder_level = u32::try_from(reorder)
                .map_err(|_| Error::corrupt("stock_items", &item_id, "reorder_level", "out of range"))?;
            Ok(LowItem { item_id, generic_name, strength, form, unit, on_hand, reorder_level })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((total, low))
}
