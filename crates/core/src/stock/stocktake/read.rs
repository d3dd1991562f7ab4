//! Reading stock takes: the list of a store's takes and one take with its lines, each line's
//! variance (see the module doc of [`super`]) and the totals, in units and at cost.

use super::{StockTake, StockTakeLine, StockTakeStatus, StockTakeSummary, StockTakeTotals};
use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{stored, Store};

/// The most takes a list shows.
pub const LIST_LIMIT: u32 = 50;

const SUMMARY_SQL: &str = "SELECT t.id, t.store_id, s.name, t.status, t.blind, t.item_kind, t.search, t.note, t.opened_at,
        COALESCE(u.full_name, ''), t.closed_at,
        (SELECT COUNT(*) FROM stock_take_lines l WHERE l.take_id = t.id AND l.deleted_at IS NULL),
        (SELECT COUNT(*) FROM stock_take_lines l WHERE l.take_id = t.id AND l.deleted_at IS NULL AND l.counted IS NOT NULL)
     FROM stock_takes t JOIN stock_stores s ON s.id = t.store_id LEFT JOIN users u ON u.id = t.opened_by
     WHERE t.deleted_at IS NULL";

type SummaryRow =
    (String, String, String, String, bool, String, String, String, String, String, Option<String>, i64, i64);

fn summary_of(r: SummaryRow) -> Result<StockTakeSummary> {
    let (
        id,
        store_id,
        store_name,
        status,
        blind,
        item_kind,
        search,
        note,
        opened_at,
        opened_by,
        closed_at,
        lines,
        counted,
    ) = r;
    let status = stored::code("stock_takes", &id, "status", &status, StockTakeStatus::from_code)?;
    let n = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
    Ok(StockTakeSummary {
        id,
        store_id,
        store_name,
        status,
        blind,
        item_kind,
        search,
        note,
        opened_at,
        opened_by,
        closed_at,
        lines: n(lines),
        counted: n(counted),
    })
}

/// The takes of a store (every store when `store_id` is empty): open first, then the latest.
pub async fn takes(store: &Store, auth: &Authorized, store_id: &str) -> Result<Vec<StockTakeSummary>> {
    auth.require(Permission::StockView)?;
    let rows: Vec<SummaryRow> = sqlx::query_as(&format!(
        "{SUMMARY_SQL} AND (?1 = '' OR t.store_id = ?1) ORDER BY t.status <> 'open', t.opened_at DESC, t.id DESC LIMIT ?2"
    ))
    .bind(store_id)
    .bind(LIST_LIMIT)
    .fetch_all(store.pool())
    .await?;
    rows.into_iter().map(summary_of).collect()
}

pub(crate) async fn summary(store: &Store, take_id: &str) -> Result<StockTakeSummary> {
    let row: Option<SummaryRow> =
        sqlx::query_as(&format!("{SUMMARY_SQL} AND t.id = ?")).bind(take_id).fetch_optional(store.pool()).await?;
    match row {
        Some(r) => summary_of(r),
        None => Err(Error::validation("take_id", ValidationReason::Invalid, "no such stock take")),
    }
}

/// One take with every line, its variance and the totals.
pub async fn take(store: &Store, auth: &Authorized, take_id: &str) -> Result<StockTake> {
    auth.require(Permission::StockView)?;
    let take = summary(store, take_id).await?;
    let lines = lines_of(store, take_id, None).await?;
    let totals = totals(&lines);
    Ok(StockTake { take, lines, totals })
}

fn totals(lines: &[StockTakeLine]) -> StockTakeTotals {
    let mut t = StockTakeTotals { lines: u32::try_from(lines.len()).unwrap_or(u32::MAX), ..Default::default() };
    for l in lines.iter().filter(|l| l.counted.is_some()) {
        t.counted += 1;
        let (v, value) = (l.variance.unwrap_or(0), l.variance_value_minor.unwrap_or(0));
        if v != 0 {
            t.with_variance += 1;
        }
        if v > 0 {
            t.units_over += v;
            t.value_over_minor += value;
        } else {
            t.units_short += v;
            t.value_short_minor += value;
        }
        t.value_net_minor += value;
    }
    t
}

/// The lines of a take (only `ids` when given), in sheet order. An open take's line reads its
/// book quantity from the ledger as of its count; a posted one keeps the book it was posted at.
pub(crate) async fn lines_of(store: &Store, take_id: &str, ids: Option<&[String]>) -> Result<Vec<StockTakeLine>> {
    let head: Option<(String, String, bool)> =
        sqlx::query_as("SELECT store_id, status, blind FROM stock_takes WHERE id = ? AND deleted_at IS NULL")
            .bind(take_id)
            .fetch_optional(store.pool())
            .await?;
    let Some((store_id, status, blind)) = head else {
        return Err(Error::validation("take_id", ValidationReason::Invalid, "no such stock take"));
    };
    let status = stored::code("stock_takes", take_id, "status", &status, StockTakeStatus::from_code)?;
    let only = ids.map(serde_json::to_string).transpose()?;
    let rows: Vec<sqlx::sqlite::SqliteRow> = sqlx::query(
        "SELECT l.id, l.position, l.item_id, i.generic_name, i.strength, i.form, i.unit, i.pack_size,
                l.batch_id, b.batch_no, b.expiry, l.expected, l.added, l.counted, l.counted_at, l.book, l.adjustment_id,
                b.cost_minor,
                CASE WHEN l.counted_at IS NULL THEN NULL ELSE
                  (SELECT COALESCE(SUM(m.quantity), 0) FROM stock_movements m
                   WHERE m.batch_id = l.batch_id AND m.store_id = ?2 AND m.at <= l.counted_at AND m.deleted_at IS NULL)
                END AS book_now
         FROM stock_take_lines l JOIN stock_items i ON i.id = l.item_id JOIN stock_batches b ON b.id = l.batch_id
         WHERE l.take_id = ?1 AND l.deleted_at IS NULL AND (?3 IS NULL OR l.id IN (SELECT value FROM json_each(?3)))
         ORDER BY l.position, l.id",
    )
    .bind(take_id)
    .bind(&store_id)
    .bind(only)
    .fetch_all(store.pool())
    .await?;
    let hide_expected = blind && status == StockTakeStatus::Open;
    rows.iter().map(|row| line_of(row, status, hide_expected)).collect()
}

fn line_of(row: &sqlx::sqlite::SqliteRow, status: StockTakeStatus, hide_expected: bool) -> Result<StockTakeLine> {
    use sqlx::Row;
    let id: String = row.try_get(0)?;
    let name: Vec<String> = vec![row.try_get(3)?, row.try_get(4)?, row.try_get(5)?];
    let pack_size: i64 = row.try_get(7)?;
    let expected: i64 = row.try_get(11)?;
    let counted: Option<i64> = row.try_get(13)?;
    let posted_book: Option<i64> = row.try_get(15)?;
    let cost_minor: i64 = row.try_get(17)?;
    let book_now: Option<i64> = row.try_get(18)?;
    let book = if status == StockTakeStatus::Posted { posted_book } else { book_now };
    let (moved, variance) = match (counted, book) {
        (Some(c), Some(b)) => (Some(b - expected), Some(c - b)),
        _ => (None, None),
    };
    let position: i64 = row.try_get(1)?;
    Ok(StockTakeLine {
        position: u32::try_from(position)
            .map_err(|_| Error::corrupt("stock_take_lines", &id, "position", "out of range"))?,
        item_id: row.try_get(2)?,
        item_name: name.into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" "),
        unit: row.try_get(6)?,
        pack_size: u32::try_from(pack_size)
            .map_err(|_| Error::corrupt("stock_items", &id, "pack_size", "out of range"))?,
        batch_id: row.try_get(8)?,
        batch_no: row.try_get(9)?,
        expiry: row.try_get(10)?,
        expected: if hide_expected && counted.is_none() { None } else { Some(expected) },
        added: row.try_get(12)?,
        counted,
        counted_at: row.try_get(14)?,
        moved,
        variance,
        cost_minor,
        variance_value_minor: variance.map(|v| v.saturating_mul(cost_minor)),
        adjustment_id: row.try_get(16)?,
        id,
    })
}
