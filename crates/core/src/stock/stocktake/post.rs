//! Posting a stock take (one count correction per counted line with a variance, in one
//! transaction, the take closed) and cancelling one (closed, the ledger untouched).

use super::{book_at, require_open, StockTakePosted};
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::stock::{append_movement, AdjustReason, MovementKind, NewMovement, QUANTITY_MAX};
use crate::store::{Store, WriteTx};
use serde_json::json;

/// A counted line as posting weighs it.
struct Counted {
    id: String,
    position: i64,
    item_id: String,
    batch_id: String,
    counted: i64,
    counted_at: String,
    cost_minor: i64,
}

/// Posts the take: for each counted line, the book quantity (the ledger's balance when the
/// count was entered) and, when the count differs, an `adjusted` movement (count correction)
/// of the difference. Lines not counted are left alone.
pub async fn post(store: &Store, auth: &Authorized, take_id: &str) -> Result<StockTakePosted> {
    auth.require(Permission::StockCount)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let take = require_open(w.conn(), take_id).await?;
    type Row = (String, i64, String, String, i64, String, i64);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT l.id, l.position, l.item_id, l.batch_id, l.counted, l.counted_at, b.cost_minor
         FROM stock_take_lines l JOIN stock_batches b ON b.id = l.batch_id
         WHERE l.take_id = ? AND l.deleted_at IS NULL AND l.counted IS NOT NULL AND l.counted_at IS NOT NULL
         ORDER BY l.position, l.id",
    )
    .bind(take_id)
    .fetch_all(w.conn())
    .await?;
    let uncounted: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM stock_take_lines WHERE take_id = ? AND deleted_at IS NULL AND counted IS NULL",
    )
    .bind(take_id)
    .fetch_one(w.conn())
    .await?;
    let (mut movement_ids, mut corrections) = (Vec::new(), Vec::new());
    let (mut units_net, mut value_net_minor) = (0i64, 0i64);
    for (id, position, item_id, batch_id, counted, counted_at, cost_minor) in rows {
        let line = Counted { id, position, item_id, batch_id, counted, counted_at, cost_minor };
        let book = book_at(w.conn(), &line.batch_id, &take.store_id, &line.counted_at).await?;
        let variance = line.counted - book;
        let movement = if variance == 0 { None } else { Some(correct(&mut w, &take.store_id, &line, variance).await?) };
        record_posted(&mut w, &line.id, book, movement.as_deref()).await?;
        if let Some(m) = movement {
            units_net += variance;
            value_net_minor += variance.saturating_mul(line.cost_minor);
            corrections
                .push(json!({ "line_id": line.id, "batch_id": line.batch_id, "quantity": variance, "movement_id": m }));
            movement_ids.push(m);
        }
    }
    close(&mut w, take_id, "posted").await?;
    w.audit(
        "stock.take_post",
        "stock_take",
        Some(take_id),
        json!({ "store_id": take.store_id, "corrections": corrections, "units_net": units_net,
                "value_net_minor": value_net_minor, "uncounted": uncounted }),
    )
    .await?;
    w.commit().await?;
    let uncounted = u32::try_from(uncounted).unwrap_or(u32::MAX);
    Ok(StockTakePosted { take_id: take_id.to_string(), movement_ids, units_net, value_net_minor, uncounted })
}

/// The count correction of one line.
async fn correct(w: &mut WriteTx<'_>, store_id: &str, line: &Counted, variance: i64) -> Result<String> {
    if variance.abs() > QUANTITY_MAX {
        return Err(Error::validation(
            "take_id",
            ValidationReason::OutOfRange,
            format!("line {}: a correction of {variance} is more than {QUANTITY_MAX}", line.position),
        ));
    }
    append_movement(
        w,
        &NewMovement {
            item_id: &line.item_id,
            batch_id: &line.batch_id,
            store_id,
            kind: MovementKind::Adjusted,
            quantity: variance,
            reason: Some(AdjustReason::CountCorrection),
            note: "Stock take",
            receipt_line_id: None,
            dispensing_id: None,
            returns_movement_id: None,
            transfer_id: None,
        },
    )
    .await
}

/// A posted line keeps its book quantity and its correction (the variance no longer moves).
async fn record_posted(w: &mut WriteTx<'_>, line_id: &str, book: i64, movement: Option<&str>) -> Result<()> {
    let (stamp, by) = (w.stamp(), w.actor().user_id.clone());
    sqlx::query("UPDATE stock_take_lines SET book = ?, adjustment_id = ?, updated_at = ?, updated_by = ? WHERE id = ?")
        .bind(book)
        .bind(movement)
        .bind(&stamp)
        .bind(&by)
        .bind(line_id)
        .execute(w.conn())
        .await?;
    let new = json!({ "book": book, "adjustment_id": movement, "updated_at": stamp, "updated_by": by });
    w.record_update("stock_take_lines", line_id, &json!({}), &new).await
}

/// Closes the take as posted or cancelled, by whoever does it, now.
async fn close(w: &mut WriteTx<'_>, take_id: &str, status: &str) -> Result<()> {
    let (at, stamp, by) = (w.now_rfc3339(), w.stamp(), w.actor().user_id.clone());
    sqlx::query(
        "UPDATE stock_takes SET status = ?, closed_at = ?, closed_by = ?, updated_at = ?, updated_by = ? WHERE id = ?",
    )
    .bind(status)
    .bind(&at)
    .bind(&by)
    .bind(&stamp)
    .bind(&by)
    .bind(take_id)
    .execute(w.conn())
    .await?;
    let new = json!({ "status": status, "closed_at": at, "closed_by": by, "updated_at": stamp, "updated_by": by });
    w.record_update("stock_takes", take_id, &json!({ "status": "open" }), &new).await
}

/// Cancels an open take: closed, nothing written to the ledger (its counts stay readable).
pub async fn cancel(store: &Store, auth: &Authorized, take_id: &str) -> Result<()> {
    auth.require(Permission::StockCount)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let take = require_open(w.conn(), take_id).await?;
    let counted: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM stock_take_lines WHERE take_id = ? AND deleted_at IS NULL AND counted IS NOT NULL",
    )
    .bind(take_id)
    .fetch_one(w.conn())
    .await?;
    close(&mut w, take_id, "cancelled").await?;
    w.audit("stock.take_cancel", "stock_take", Some(take_id), json!({ "store_id": take.store_id, "counted": counted }))
        .await?;
    w.commit().await
}
