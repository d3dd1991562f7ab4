//! Entering counts: per line, in packs and/or loose units, each with the moment it was
//! entered (the variance counts the movements up to that moment). Entering a line again
//! replaces its count (a recount); both parts blank make it not counted again.

use super::{read, require_open, LineCountInput, StockTakeCountInput, StockTakeLine, TAKE_LINES_MAX};
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::stock::QUANTITY_MAX;
use crate::store::{Store, WriteTx};
use serde_json::json;

/// Records counts of lines of an open take; answers those lines as they now read.
pub async fn count(store: &Store, auth: &Authorized, input: StockTakeCountInput) -> Result<Vec<StockTakeLine>> {
    auth.require(Permission::StockCount)?;
    if input.counts.is_empty() {
        return Err(Error::validation("counts", ValidationReason::Required, "at least one count"));
    }
    if input.counts.len() > TAKE_LINES_MAX {
        return Err(Error::validation("counts", ValidationReason::TooLong, format!("at most {TAKE_LINES_MAX}")));
    }
    for (i, c) in input.counts.iter().enumerate() {
        for (part, value) in [("packs", c.packs), ("units", c.units)] {
            if value.is_some_and(|v| v < 0) {
                return Err(Error::validation(
                    &format!("counts.{i}.{part}"),
                    ValidationReason::OutOfRange,
                    "zero or more",
                ));
            }
        }
    }
    let mut w = store.begin_write(auth.actor()).await?;
    require_open(w.conn(), &input.take_id).await?;
    let mut recorded = Vec::with_capacity(input.counts.len());
    for (i, c) in input.counts.iter().enumerate() {
        let counted = count_line(&mut w, &input.take_id, i, c).await?;
        recorded.push(json!({ "line_id": c.line_id, "counted": counted }));
    }
    w.audit("stock.take_count", "stock_take", Some(&input.take_id), json!({ "counts": recorded })).await?;
    w.commit().await?;
    let ids: Vec<String> = input.counts.iter().map(|c| c.line_id.clone()).collect();
    read::lines_of(store, &input.take_id, Some(ids.as_slice())).await
}

/// One line's count, checked against its take and item, written with its moment.
async fn count_line(w: &mut WriteTx<'_>, take_id: &str, i: usize, c: &LineCountInput) -> Result<Option<i64>> {
    type Row = (String, i64, Option<i64>, Option<String>, Option<String>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT l.take_id, it.pack_size, l.counted, l.counted_at, l.counted_by
         FROM stock_take_lines l JOIN stock_items it ON it.id = l.item_id WHERE l.id = ? AND l.deleted_at IS NULL",
    )
    .bind(&c.line_id)
    .fetch_optional(w.conn())
    .await?;
    let field = |part: &str| format!("counts.{i}.{part}");
    let Some((of, pack_size, was, was_at, was_by)) = row else {
        return Err(Error::validation(&field("line_id"), ValidationReason::Invalid, "no such line"));
    };
    if of != take_id {
        return Err(Error::validation(&field("line_id"), ValidationReason::Invalid, "a line of another stock take"));
    }
    let counted = match (c.packs, c.units) {
        (None, None) => None,
        (packs, units) => {
            let total = packs
                .unwrap_or(0)
                .checked_mul(pack_size)
                .and_then(|p| p.checked_add(units.unwrap_or(0)))
                .filter(|t| *t <= QUANTITY_MAX);
            let total = total.ok_or_else(|| {
                Error::validation(
                    &field("units"),
                    ValidationReason::OutOfRange,
                    format!("at most {QUANTITY_MAX} in all"),
                )
            })?;
            Some(total)
        }
    };
    let (at, stamp, by) = (w.now_rfc3339(), w.stamp(), w.actor().user_id.clone());
    sqlx::query(
        "UPDATE stock_take_lines SET counted = ?, counted_at = ?, counted_by = ?, updated_at = ?, updated_by = ? WHERE id = ?",
    )
    .bind(counted)
    .bind(&at)
    .bind(&by)
    .bind(&stamp)
    .bind(&by)
    .bind(&c.line_id)
    .execute(w.conn())
    .await?;
    let old = json!({ "counted": was, "counted_at": was_at, "counted_by": was_by });
    let new = json!({ "counted": counted, "counted_at": at, "counted_by": by, "updated_at": stamp, "updated_by": by });
    w.record_update("stock_take_lines", &c.line_id, &old, &new).await?;
    Ok(counted)
}
