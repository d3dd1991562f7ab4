//! Stock reports (issue 16's alerts as lists to export): the suggested purchase order from the
//! reorder levels, and the batches expiring in a range. They read the same balances as the
//! Home tile and the pharmacy's lists (`stock_balances`, kept by triggers from the ledger), so
//! a report and the tile never disagree about what is on hand.
//!
//! **Suggested purchase order.** An active item is on it when its usable stock now (not
//! expired, not on hold, every store) is below its reorder level — the Home tile's rule. The
//! suggestion brings the stock back to the reorder level plus what was used in the range
//! (dispensed less returned, plus what lab results used; every store), so that after the delivery the item lasts as long
//! as the range again before it falls to its reorder level:
//! `suggested = reorder level + used − on hand`, in whole packs (rounded up). The supplier and
//! pack cost are those of the item's latest receipt (none when it was never received); the
//! estimate is packs × that pack cost.

use super::table::{col, fig, num, text, Cell, Kind, Table};
use super::DateRange;
use crate::error::Result;
use crate::store::Store;

/// The supplier column of an item never received.
pub const NO_SUPPLIER: &str = "Not received yet";

/// One item below its reorder level, as the query reads it (also the purchase orders'
/// suggestions: `stock::purchase::draft_from_suggestions`).
#[derive(sqlx::FromRow)]
pub(crate) struct Low {
    pub item_id: String,
    pub supplier_id: Option<String>,
    generic_name: String,
    strength: String,
    form: String,
    unit: String,
    pub pack_size: i64,
    pub reorder_level: i64,
    pub on_hand: i64,
    pub used: i64,
    supplier: Option<String>,
    pub pack_cost: Option<i64>,
}

/// An item's name as the pharmacy lists it: generic name, strength, form.
fn item_name(generic: &str, strength: &str, form: &str) -> String {
    [generic, strength, form].iter().filter(|s| !s.trim().is_empty()).copied().collect::<Vec<_>>().join(" ")
}

/// Base units to order and the packs they make (rounded up): see the module's rule.
pub fn suggestion(reorder_level: i64, used: i64, on_hand: i64, pack_size: i64) -> (i64, i64) {
    let units = (reorder_level + used.max(0) - on_hand).max(0);
    let pack = pack_size.max(1);
    (units, (units + pack - 1) / pack)
}

pub(crate) async fn reorder(store: &Store, range: &DateRange) -> Result<Table> {
    let items = reorder_lines(store, range).await?;
    reorder_table(items)
}

/// The items below their reorder level, with what the suggestion needs (see the module doc).
pub(crate) async fn reorder_lines(store: &Store, range: &DateRange) -> Result<Vec<Low>> {
    let today = crate::clinic::today(store).await?.format("%Y-%m-%d").to_string();
    let (from, to) = range.instants()?;
    let items: Vec<Low> = sqlx::query_as(
        "WITH usable AS (
             SELECT s.item_id, SUM(s.quantity) AS q FROM stock_balances s JOIN stock_batches b ON b.id = s.batch_id
             WHERE b.expiry >= ?1 AND b.on_hold = 0 AND b.deleted_at IS NULL GROUP BY s.item_id),
         used AS (
             SELECT item_id, -SUM(quantity) AS q FROM stock_movements
             WHERE kind IN ('dispensed', 'returned', 'lab_use') AND deleted_at IS NULL AND at >= ?2 AND at < ?3
             GROUP BY item_id),
         low AS (
             SELECT i.id, i.generic_name, i.strength, i.form, i.unit, i.pack_size, i.reorder_level,
                    COALESCE(u.q, 0) AS on_hand, COALESCE(d.q, 0) AS used
             FROM stock_items i LEFT JOIN usable u ON u.item_id = i.id LEFT JOIN used d ON d.item_id = i.id
             WHERE i.deleted_at IS NULL AND i.active = 1 AND COALESCE(u.q, 0) < i.reorder_level),
         latest AS (
             SELECT low.id, (SELECT l.id FROM stock_receipt_lines l JOIN stock_receipts r ON r.id = l.receipt_id
                             WHERE l.item_id = low.id AND l.deleted_at IS NULL AND r.deleted_at IS NULL
                             ORDER BY r.received_at DESC, l.id DESC LIMIT 1) AS line_id
             FROM low)
         SELECT low.id AS item_id, sp.id AS supplier_id, low.generic_name, low.strength, low.form, low.unit,
                low.pack_size, low.reorder_level, low.on_hand, low.used, sp.name AS supplier,
                l.pack_cost_minor AS pack_cost
         FROM low JOIN latest ON latest.id = low.id
         LEFT JOIN stock_receipt_lines l ON l.id = latest.line_id
         LEFT JOIN stock_receipts r ON r.id = l.receipt_id
         LEFT JOIN suppliers sp ON sp.id = r.supplier_id",
    )
    .bind(&today)
    .bind(&from)
    .bind(&to)
    .fetch_all(store.report_pool())
    .await?;
    Ok(items)
}

fn reorder_table(items: Vec<Low>) -> Result<Table> {
    let mut rows: Vec<(String, String, Vec<Cell>, i64)> = Vec::with_capacity(items.len());
    for it in items {
        let name = item_name(&it.generic_name, &it.strength, &it.form);
        let (units, packs) = suggestion(it.reorder_level, it.used, it.on_hand, it.pack_size);
        let cost = it.pack_cost.map(|c| c * packs);
        let supplier = it.supplier.clone().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| NO_SUPPLIER.into());
        let cells = vec![
            text(&supplier),
            text(&name),
            text(&it.unit),
            num(it.on_hand),
            num(it.reorder_level),
            num(it.used.max(0)),
            num(units),
            num(it.pack_size),
            num(packs),
            cost.map_or(Cell::Empty, num),
        ];
        rows.push((supplier, name, cells, cost.unwrap_or(0)));
    }
    // By supplier (one order each), items never received last, then by name.
    rows.sort_by(|a, b| {
        ((a.0 == NO_SUPPLIER), a.0.to_lowercase(), a.1.to_lowercase()).cmp(&(
            (b.0 == NO_SUPPLIER),
            b.0.to_lowercase(),
            b.1.to_lowercase(),
        ))
    });
    let estimate: i64 = rows.iter().map(|r| r.3).sum();
    let count = rows.len() as i64;
    let mut totals = vec![text("Total")];
    totals.extend(vec![Cell::Empty; 8]);
    totals.push(num(estimate));
    Ok(Table {
        columns: vec![
            col("supplier", "Last supplier", Kind::Text),
            col("item", "Item", Kind::Text),
            col("unit", "Unit", Kind::Text),
            col("on_hand", "On hand", Kind::Count),
            col("reorder_level", "Reorder level", Kind::Count),
            col("used", "Used in range", Kind::Count),
            col("suggested", "Suggested units", Kind::Count),
            col("pack_size", "Pack size", Kind::Count),
            col("packs", "Packs to order", Kind::Count),
            col("estimate", "Estimated cost", Kind::Money),
        ],
        rows: rows.into_iter().map(|r| r.2).collect(),
        totals: Some(totals),
        figures: vec![
            fig("items_below_reorder", "Items below their reorder level", Kind::Count, count),
            fig("estimated_cost", "Estimated cost at the last pack costs", Kind::Money, estimate),
        ],
    })
}

/// One batch line with stock, as the query reads it.
#[derive(sqlx::FromRow)]
struct Expiring {
    expiry: String,
    generic_name: String,
    strength: String,
    form: String,
    batch_no: String,
    store: String,
    quantity: i64,
    unit: String,
    on_hold: bool,
    cost: i64,
}

pub(crate) async fn expiry(store: &Store, range: &DateRange) -> Result<Table> {
    let today = crate::clinic::today(store).await?.format("%Y-%m-%d").to_string();
    let lines: Vec<Expiring> = sqlx::query_as(
        "SELECT b.expiry, i.generic_name, i.strength, i.form, b.batch_no, st.name AS store, s.quantity, i.unit,
                b.on_hold, b.cost_minor AS cost
         FROM stock_balances s JOIN stock_batches b ON b.id = s.batch_id
         JOIN stock_items i ON i.id = s.item_id JOIN stock_stores st ON st.id = s.store_id
         WHERE s.quantity > 0 AND b.deleted_at IS NULL AND b.expiry >= ? AND b.expiry <= ?
         ORDER BY b.expiry, i.generic_name COLLATE NOCASE, i.strength, b.batch_no, st.name COLLATE NOCASE",
    )
    .bind(range.from_ymd())
    .bind(range.to_ymd())
    .fetch_all(store.report_pool())
    .await?;
    let value: i64 = lines.iter().map(|l| l.quantity * l.cost).sum();
    let expired = lines.iter().filter(|l| l.expiry < today).count() as i64;
    let count = lines.len() as i64;
    let rows = lines
        .into_iter()
        .map(|l| {
            let state = if l.expiry < today {
                "Expired"
            } else if l.on_hold {
                "On hold"
            } else {
                ""
            };
            vec![
                text(&l.expiry),
                text(item_name(&l.generic_name, &l.strength, &l.form)),
                text(&l.batch_no),
                text(&l.store),
                num(l.quantity),
                text(&l.unit),
                text(state),
                num(l.quantity * l.cost),
            ]
        })
        .collect();
    let mut totals = vec![text("Total")];
    totals.extend(vec![Cell::Empty; 6]);
    totals.push(num(value));
    Ok(Table {
        columns: vec![
            col("expiry", "Expiry", Kind::Text),
            col("item", "Item", Kind::Text),
            col("batch", "Batch", Kind::Text),
            col("store", "Store", Kind::Text),
            col("quantity", "Quantity", Kind::Count),
            col("unit", "Unit", Kind::Text),
            col("state", "State", Kind::Text),
            col("value", "Value at cost", Kind::Money),
        ],
        rows,
        totals: Some(totals),
        figures: vec![
            fig("batch_lines", "Batch lines", Kind::Count, count),
            fig("expired_lines", "Already expired", Kind::Count, expired),
            fig("value_at_cost", "Value at cost", Kind::Money, value),
        ],
    })
}
