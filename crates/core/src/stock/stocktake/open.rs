//! Opening a stock take (the snapshot of a store's batch lines) and adding a line for a batch
//! found on the shelf that is not on the sheet.

use super::TAKE_LINES_MAX;
use super::{book_at, read, require_open, StockTakeAddLineInput, StockTakeLine, StockTakeOpenInput, StockTakeSummary};
use crate::clinical::{insert_row, line};
use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::stock::{require_batch_of, require_item, require_store, ItemKind, NAME_MAX, NOTE_MAX};
use crate::store::{ChangeOp, Store, WriteTx};
use serde_json::json;

/// Opens a stock take of a store: one line per batch with a balance there (of the kind of
/// item and matching the search, when given), the balance at this moment its `expected`.
pub async fn open(store: &Store, auth: &Authorized, input: StockTakeOpenInput) -> Result<StockTakeSummary> {
    auth.require(Permission::StockCount)?;
    let item_kind = match input.item_kind.trim() {
        "" => "",
        kind => ItemKind::from_code(kind)
            .ok_or_else(|| {
                Error::validation("item_kind", ValidationReason::Invalid, "medicine, lab_consumable or other")
            })?
            .code(),
    };
    let search = line("search", &input.search, NAME_MAX, false)?;
    let note = line("note", &input.note, NOTE_MAX, false)?;
    let mut w = store.begin_write(auth.actor()).await?;
    require_store(w.conn(), "store_id", &input.store_id).await?;
    let busy: bool = sqlx::query_scalar(
        "SELECT COUNT(*) > 0 FROM stock_takes WHERE store_id = ? AND status = 'open' AND deleted_at IS NULL",
    )
    .bind(&input.store_id)
    .fetch_one(w.conn())
    .await?;
    if busy {
        return Err(Error::validation(
            "store_id",
            ValidationReason::Taken,
            "a stock take of this store is open: post or cancel it first",
        ));
    }
    let id = crate::ids::new_id();
    let opened_at = w.now_rfc3339();
    let by = w.actor().user_id.clone();
    insert_row(
        &mut w,
        "stock_takes",
        &id,
        &[
            ("store_id", json!(input.store_id)),
            ("status", json!("open")),
            ("blind", json!(input.blind)),
            ("item_kind", json!(item_kind)),
            ("search", json!(search)),
            ("note", json!(note)),
            ("opened_at", json!(opened_at)),
            ("opened_by", json!(by)),
        ],
    )
    .await?;
    let snapshot = snapshot(&mut w, &input.store_id, item_kind, &search).await?;
    if snapshot.len() > TAKE_LINES_MAX {
        return Err(Error::validation(
            "search",
            ValidationReason::OutOfRange,
            format!(
                "{} batch lines: at most {TAKE_LINES_MAX} in one stock take; count a kind or a search at a time",
                snapshot.len()
            ),
        ));
    }
    insert_lines(&mut w, &id, &snapshot).await?;
    w.audit(
        "stock.take_open",
        "stock_take",
        Some(&id),
        json!({ "store_id": input.store_id, "lines": snapshot.len(), "blind": input.blind, "item_kind": item_kind, "search": search }),
    )
    .await?;
    w.commit().await?;
    read::summary(store, &id).await
}

/// (item, batch, balance) of each batch line of the store, in the sheet's order: by item name,
/// then earliest expiry.
async fn snapshot(
    w: &mut WriteTx<'_>,
    store_id: &str,
    item_kind: &str,
    search: &str,
) -> Result<Vec<(String, String, i64)>> {
    let q = search.to_lowercase();
    let escaped = q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    Ok(sqlx::query_as(
        "SELECT s.item_id, s.batch_id, s.quantity
         FROM stock_balances s JOIN stock_batches b ON b.id = s.batch_id JOIN stock_items i ON i.id = s.item_id
         WHERE s.store_id = ?1 AND s.quantity <> 0 AND b.deleted_at IS NULL AND i.deleted_at IS NULL
           AND (?2 = '' OR i.kind = ?2)
           AND (?3 = '' OR i.generic_name LIKE ?4 ESCAPE '\\' OR i.generic_name LIKE ?5 ESCAPE '\\')
         ORDER BY i.generic_name COLLATE NOCASE, i.strength, i.id, b.expiry, b.batch_no",
    )
    .bind(store_id)
    .bind(item_kind)
    .bind(&q)
    .bind(format!("{escaped}%"))
    .bind(format!("% {escaped}%"))
    .fetch_all(w.conn())
    .await?)
}

/// The snapshot's lines in bulk (a 1,000-line sheet is one statement and one outbox batch).
async fn insert_lines(w: &mut WriteTx<'_>, take_id: &str, lines: &[(String, String, i64)]) -> Result<()> {
    let (now, stamp, by, dev) = (w.now_rfc3339(), w.stamp(), w.actor().user_id.clone(), w.device_id().to_string());
    let rows: Vec<(String, i64, &(String, String, i64))> =
        lines.iter().zip(1..).map(|(l, position)| (crate::ids::new_id(), position, l)).collect();
    // 11 variables a row: 2,000 rows stay under SQLite's limit.
    for chunk in rows.chunks(2_000) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO stock_take_lines (id, take_id, item_id, batch_id, position, expected, added,
               created_at, updated_at, updated_by, origin_device) ",
        );
        q.push_values(chunk, |mut b, (id, position, (item_id, batch_id, expected))| {
            b.push_bind(id.as_str())
                .push_bind(take_id)
                .push_bind(item_id.as_str())
                .push_bind(batch_id.as_str())
                .push_bind(*position)
                .push_bind(*expected)
                .push_bind(false)
                .push_bind(now.as_str())
                .push_bind(stamp.as_str())
                .push_bind(by.as_deref())
                .push_bind(dev.as_str());
        });
        q.build().execute(w.conn()).await?;
    }
    let changes: Vec<(&str, serde_json::Value)> = rows
        .iter()
        .map(|(id, position, (item_id, batch_id, expected))| {
            let row = json!({
                "id": id, "take_id": take_id, "item_id": item_id, "batch_id": batch_id, "position": position,
                "expected": expected, "added": false, "created_at": now, "updated_at": stamp, "updated_by": by
            });
            (id.as_str(), row)
        })
        .collect();
    if changes.is_empty() {
        return Ok(());
    }
    w.record_changes("stock_take_lines", ChangeOp::Insert, &changes).await
}

/// Adds a line for a batch found on the shelf that is not on the sheet; its `expected` is the
/// batch's balance in the store at the opening moment (often zero).
pub async fn add_line(store: &Store, auth: &Authorized, input: StockTakeAddLineInput) -> Result<StockTakeLine> {
    auth.require(Permission::StockCount)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let take = require_open(w.conn(), &input.take_id).await?;
    require_item(w.conn(), "item_id", &input.item_id).await?;
    require_batch_of(w.conn(), "batch_id", &input.batch_id, &input.item_id).await?;
    let on_sheet: Option<i64> = sqlx::query_scalar(
        "SELECT position FROM stock_take_lines WHERE take_id = ? AND batch_id = ? AND deleted_at IS NULL",
    )
    .bind(&input.take_id)
    .bind(&input.batch_id)
    .fetch_optional(w.conn())
    .await?;
    if let Some(position) = on_sheet {
        return Err(Error::validation(
            "batch_id",
            ValidationReason::Taken,
            format!("this batch is on the sheet already (line {position})"),
        ));
    }
    let expected = book_at(w.conn(), &input.batch_id, &take.store_id, &take.opened_at).await?;
    let position: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) + 1 FROM stock_take_lines WHERE take_id = ?")
            .bind(&input.take_id)
            .fetch_one(w.conn())
            .await?;
    let id = crate::ids::new_id();
    insert_row(
        &mut w,
        "stock_take_lines",
        &id,
        &[
            ("take_id", json!(input.take_id)),
            ("item_id", json!(input.item_id)),
            ("batch_id", json!(input.batch_id)),
            ("position", json!(position)),
            ("expected", json!(expected)),
            ("added", json!(true)),
        ],
    )
    .await?;
    w.audit(
        "stock.take_count",
        "stock_take",
        Some(&input.take_id),
        json!({ "added_line": id, "batch_id": input.batch_id, "expected": expected }),
    )
    .await?;
    w.commit().await?;
    let mut lines = read::lines_of(store, &input.take_id, Some(std::slice::from_ref(&id))).await?;
    lines.pop().ok_or_else(|| Error::internal("the added line did not read back"))
}
