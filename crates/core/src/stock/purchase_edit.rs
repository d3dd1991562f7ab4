//! Changing a purchase order's draft before it goes out: its note and its lines (packs and the
//! expected pack cost of each item; items added or taken off). The suggested purchase order
//! is a starting point, and the pharmacist knows the supplier's pack sizes, a discount that
//! comes with ten packs, or a medicine another supplier brings cheaper.
//!
//! Only a draft is changed: an approved order was approved as it stands (cancel it and draft
//! again), a sent one is the supplier's. The supplier and the store stay (another supplier is
//! another order). Each line is one row per item, kept when the item stays (a synced update of
//! what changed), tombstoned when it is taken off, inserted when it is new; so two devices
//! changing one draft apart merge field by field like any record (an item added on both makes
//! two lines of it, which the order shows as they are). Audited `stock.po_edit`.

use super::purchase::{check_line, check_line_count, load, stored};
use super::purchase_model::*;
use super::NOTE_MAX;
use crate::clinical::{insert_row, line, within};
use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{Store, WriteTx};
use serde_json::json;

/// A line as stored: (id, item, packs, pack cost).
type StoredLine = (String, String, i64, i64);

/// Replaces a draft's note and lines with `input`'s (see the module doc).
pub async fn edit_draft(
    store: &Store,
    auth: &Authorized,
    order_id: &str,
    input: PurchaseDraftEdit,
) -> Result<PurchaseOrder> {
    auth.require(Permission::PurchaseOrders)?;
    let note = line("note", &input.note, NOTE_MAX, false)?;
    check_line_count(&input.lines)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let (status, _) = stored(&mut w, order_id).await?;
    if status != PurchaseStatus::Draft {
        return Err(Error::validation(
            "order_id",
            ValidationReason::Invalid,
            format!("only a draft is changed; the order is {}", status.code()),
        ));
    }
    let mut wanted: Vec<(String, &PurchaseLineInput)> = Vec::with_capacity(input.lines.len());
    for (i, l) in input.lines.iter().enumerate() {
        let item = within(&format!("lines.{i}"), check_line(&mut w, l).await)?;
        if wanted.iter().any(|(known, _)| *known == item) {
            return Err(Error::validation(
                &format!("lines.{i}.item_id"),
                ValidationReason::Taken,
                "on the order twice",
            ));
        }
        wanted.push((item, l));
    }
    let existing: Vec<StoredLine> = sqlx::query_as(
        "SELECT id, item_id, packs, pack_cost_minor FROM purchase_order_lines
         WHERE order_id = ? AND deleted_at IS NULL ORDER BY id",
    )
    .bind(order_id)
    .fetch_all(w.conn())
    .await?;
    let changed = write_lines(&mut w, order_id, &existing, &wanted).await?;
    let old_note: String =
        sqlx::query_scalar("SELECT note FROM purchase_orders WHERE id = ?").bind(order_id).fetch_one(w.conn()).await?;
    if old_note != note || changed {
        // The order's own stamp moves with any change of its lines (lists sort by it).
        let (stamp, by) = (w.stamp(), w.actor().user_id.clone());
        sqlx::query("UPDATE purchase_orders SET note = ?, updated_at = ?, updated_by = ? WHERE id = ?")
            .bind(&note)
            .bind(&stamp)
            .bind(&by)
            .bind(order_id)
            .execute(w.conn())
            .await?;
        let before = json!({ "note": old_note });
        let after = json!({ "note": note, "updated_at": stamp, "updated_by": by });
        w.record_update("purchase_orders", order_id, &before, &after).await?;
    }
    let detail: Vec<_> = wanted
        .iter()
        .map(|(item, l)| json!({ "item_id": item, "packs": l.packs, "pack_cost_minor": l.pack_cost_minor }))
        .collect();
    w.audit("stock.po_edit", "purchase_order", Some(order_id), json!({ "note": note, "lines": detail })).await?;
    w.commit().await?;
    load(store, order_id).await
}

/// Brings the stored lines to the wanted ones; answers whether any line changed.
async fn write_lines(
    w: &mut WriteTx<'_>,
    order_id: &str,
    existing: &[StoredLine],
    wanted: &[(String, &PurchaseLineInput)],
) -> Result<bool> {
    let mut changed = false;
    for (item, l) in wanted {
        let (packs, cost) = (i64::from(l.packs), l.pack_cost_minor);
        match existing.iter().find(|e| e.1 == *item) {
            Some((_, _, p, c)) if *p == packs && *c == cost => {}
            Some((id, _, p, c)) => {
                let before = json!({ "packs": p, "pack_cost_minor": c });
                set_line(w, id, before, json!({ "packs": packs, "pack_cost_minor": cost }), None).await?;
                changed = true;
            }
            None => {
                let cols = [
                    ("order_id", json!(order_id)),
                    ("item_id", json!(item)),
                    ("packs", json!(packs)),
                    ("pack_cost_minor", json!(cost)),
                ];
                insert_row(w, "purchase_order_lines", &crate::ids::new_id(), &cols).await?;
                changed = true;
            }
        }
    }
    for (id, item, _, _) in existing {
        if !wanted.iter().any(|(i, _)| i == item) {
            let now = w.now_rfc3339();
            set_line(w, id, json!({ "deleted_at": null }), json!({ "deleted_at": now }), Some(now.clone())).await?;
            changed = true;
        }
    }
    Ok(changed)
}

/// Sets one line's packs and cost (`after` holds them) or its tombstone (`deleted`), as a synced
/// update of what changed.
async fn set_line(
    w: &mut WriteTx<'_>,
    id: &str,
    before: serde_json::Value,
    after: serde_json::Value,
    deleted: Option<String>,
) -> Result<()> {
    let (stamp, by) = (w.stamp(), w.actor().user_id.clone());
    match &deleted {
        Some(at) => {
            sqlx::query("UPDATE purchase_order_lines SET deleted_at = ?, updated_at = ?, updated_by = ? WHERE id = ?")
                .bind(at)
                .bind(&stamp)
                .bind(&by)
                .bind(id)
                .execute(w.conn())
                .await?;
        }
        None => {
            sqlx::query(
                "UPDATE purchase_order_lines SET packs = ?, pack_cost_minor = ?, updated_at = ?, updated_by = ?
                 WHERE id = ?",
            )
            .bind(after["packs"].as_i64())
            .bind(after["pack_cost_minor"].as_i64())
            .bind(&stamp)
            .bind(&by)
            .bind(id)
            .execute(w.conn())
            .await?;
        }
    }
    let mut after = after;
    after["updated_at"] = json!(stamp);
    after["updated_by"] = json!(by);
    w.record_update("purchase_order_lines", id, &before, &after).await
}
