//! Moving stock between stores and adjusting it. A transfer is two movements sharing a
//! `transfer_id` (out of one store, into the other, the same batch); an adjustment is one,
//! with its reason: damaged or expired stock goes out, a count correction goes either way.
//! Neither takes a batch below zero unless the clinic allows negative stock.

use super::model::*;
use super::{append_movement, positive, require_batch_of, require_item, require_stock, require_store, NewMovement};
use super::{NOTE_MAX, QUANTITY_MAX};
use crate::clinical::line;
use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use serde_json::json;

/// Moves units of a batch from one store to another; answers the transfer's id.
pub async fn transfer(store: &Store, auth: &Authorized, input: TransferInput) -> Result<String> {
    auth.require(Permission::StockMove)?;
    let quantity = positive("quantity", input.quantity)?;
    let note = line("note", &input.note, NOTE_MAX, false)?;
    if input.from_store_id == input.to_store_id {
        return Err(Error::validation(
            "to_store_id",
            ValidationReason::Invalid,
            "another store than the one it leaves",
        ));
    }
    let mut w = store.begin_write(auth.actor()).await?;
    require_item(w.conn(), "item_id", &input.item_id).await?;
    require_store(w.conn(), "from_store_id", &input.from_store_id).await?;
    require_store(w.conn(), "to_store_id", &input.to_store_id).await?;
    require_batch_of(w.conn(), "batch_id", &input.batch_id, &input.item_id).await?;
    require_stock(w.conn(), "quantity", &input.batch_id, &input.from_store_id, quantity).await?;
    let transfer_id = crate::ids::new_id();
    for (store_id, kind, q) in [
        (&input.from_store_id, MovementKind::TransferOut, -quantity),
        (&input.to_store_id, MovementKind::TransferIn, quantity),
    ] {
        append_movement(
            &mut w,
            &NewMovement {
                item_id: &input.item_id,
                batch_id: &input.batch_id,
                store_id,
                kind,
                quantity: q,
                reason: None,
                note: &note,
                receipt_line_id: None,
                dispensing_id: None,
                returns_movement_id: None,
                transfer_id: Some(&transfer_id),
            },
        )
        .await?;
    }
    w.audit(
        "stock.transfer",
        "stock_batch",
        Some(&input.batch_id),
        json!({ "transfer_id": transfer_id, "from": input.from_store_id, "to": input.to_store_id, "quantity": quantity }),
    )
    .await?;
    w.commit().await?;
    Ok(transfer_id)
}

/// Adjusts a batch in a store with a reason; answers the movement's id.
pub async fn adjust(store: &Store, auth: &Authorized, input: AdjustInput) -> Result<String> {
    auth.require(Permission::StockMove)?;
    let reason = AdjustReason::from_code(input.reason.trim()).ok_or_else(|| {
        Error::validation("reason", ValidationReason::Invalid, "damaged, expired or count_correction")
    })?;
    let quantity = input.quantity;
    if quantity == 0 || quantity.abs() > QUANTITY_MAX {
        return Err(Error::validation("quantity", ValidationReason::OutOfRange, "not zero"));
    }
    if quantity > 0 && reason != AdjustReason::CountCorrection {
        return Err(Error::validation(
            "quantity",
            ValidationReason::OutOfRange,
            "damaged or expired stock goes out: a negative quantity",
        ));
    }
    let note = line("note", &input.note, NOTE_MAX, false)?;
    let mut w = store.begin_write(auth.actor()).await?;
    require_item(w.conn(), "item_id", &input.item_id).await?;
    require_store(w.conn(), "store_id", &input.store_id).await?;
    require_batch_of(w.conn(), "batch_id", &input.batch_id, &input.item_id).await?;
    if quantity < 0 {
        require_stock(w.conn(), "quantity", &input.batch_id, &input.store_id, -quantity).await?;
    }
    let id = append_movement(
        &mut w,
        &NewMovement {
            item_id: &input.item_id,
            batch_id: &input.batch_id,
            store_id: &input.store_id,
            kind: MovementKind::Adjusted,
            quantity,
            reason: Some(reason),
            note: &note,
            receipt_line_id: None,
            dispensing_id: None,
            returns_movement_id: None,
            transfer_id: None,
        },
    )
    .await?;
    w.audit(
        "stock.adjust",
        "stock_batch",
        Some(&input.batch_id),
        json!({ "movement_id": id, "store_id": input.store_id, "quantity": quantity, "reason": reason, "note": note }),
    )
    .await?;
    w.commit().await?;
    Ok(id)
}
