//! Goods received: into a store, from a supplier (or none), with the supplier's invoice number;
//! per line the batch number and expiry, packs and loose units, the supplier's free quantity,
//! the cost of a pack and the sale price. Each line adds one `received` movement of its batch.
//!
//! A receipt may name a purchase order (`purchase::receive_against`): the receipt and each of
//! its lines then name the order and the order's line they deliver.
//!
//! A batch is one item's batch number: its id comes from the two (`ids::reference_id`), so two
//! devices receiving it offline make one row; receiving it again must give the same expiry.

use super::model::*;
use super::setup::PRICE_MAX;
use super::{append_movement, date, positive, require_item, require_store, NewMovement, LINES_MAX, NAME_MAX, NOTE_MAX};
use crate::clinical::{insert_row, line, within};
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{Store, WriteTx};
use serde_json::json;

/// The id of an item's batch of this number (batch numbers compare without case or spaces).
pub fn batch_id(item_id: &str, batch_no: &str) -> String {
    let key: String = batch_no.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    crate::ids::reference_id("stock_batch", &format!("{item_id}\n{key}"))
}

pub async fn receive(store: &Store, auth: &Authorized, input: ReceiptInput) -> Result<Receipt> {
    auth.require(Permission::StockReceive)?;
    check_lines(&input)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let receipt = receive_in(&mut w, input, None).await?;
    w.commit().await?;
    Ok(receipt)
}

/// The receipt's line count, before anything is read.
pub(crate) fn check_lines(input: &ReceiptInput) -> Result<()> {
    if input.lines.is_empty() {
        return Err(Error::validation("lines", ValidationReason::Required, "at least one line"));
    }
    if input.lines.len() > LINES_MAX {
        return Err(Error::validation("lines", ValidationReason::TooLong, format!("at most {LINES_MAX} lines")));
    }
    Ok(())
}

/// A receipt against a purchase order: the order, and the order's line of each receipt line
/// (in the receipt's order).
pub(crate) struct OrderLink {
    pub order_id: String,
    pub lines: Vec<String>,
}

/// The receipt inside the caller's write (audited `stock.receive`), naming the purchase order
/// and its lines when `link` is given.
pub(crate) async fn receive_in(w: &mut WriteTx<'_>, input: ReceiptInput, link: Option<&OrderLink>) -> Result<Receipt> {
    let invoice_no = line("invoice_no", &input.invoice_no, NAME_MAX, false)?;
    let note = line("note", &input.note, NOTE_MAX, false)?;
    require_store(w.conn(), "store_id", &input.store_id).await?;
    let supplier = input.supplier_id.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    if let Some(s) = &supplier {
        if !crate::clinical::exists(w, "suppliers", s).await? {
            return Err(Error::validation("supplier_id", ValidationReason::Invalid, "no such supplier"));
        }
    }
    let today = super::today_in(w).await?;
    let receipt_id = crate::ids::new_id();
    let received_at = w.now_rfc3339();
    let mut cols = vec![
        ("store_id", json!(input.store_id)),
        ("supplier_id", json!(supplier)),
        ("invoice_no", json!(invoice_no)),
        ("note", json!(note)),
        ("received_at", json!(received_at)),
    ];
    if let Some(link) = link {
        cols.push(("purchase_order_id", json!(link.order_id)));
    }
    insert_row(w, "stock_receipts", &receipt_id, &cols).await?;
    let (mut batch_ids, mut quantities) = (Vec::new(), Vec::new());
    for (i, l) in input.lines.iter().enumerate() {
        let order_line = link.and_then(|k| k.lines.get(i)).map(String::as_str);
        let (batch, quantity) = within(
            &format!("lines.{i}"),
            receive_line(w, &receipt_id, &input.store_id, supplier.as_deref(), today, l, order_line).await,
        )?;
        batch_ids.push(batch);
        quantities.push(quantity);
    }
    w.audit(
        "stock.receive",
        "stock_receipt",
        Some(&receipt_id),
        json!({ "store_id": input.store_id, "supplier_id": supplier, "invoice_no": invoice_no,
                "batches": batch_ids, "quantities": quantities,
                "purchase_order_id": link.map(|k| k.order_id.as_str()) }),
    )
    .await?;
    Ok(Receipt {
        id: receipt_id,
        store_id: input.store_id,
        supplier_id: supplier,
        invoice_no,
        received_at,
        batch_ids,
        quantities,
    })
}

/// One line: its batch (made or found), the line row and its movement.
async fn receive_line(
    w: &mut WriteTx<'_>,
    receipt_id: &str,
    store_id: &str,
    supplier: Option<&str>,
    today: chrono::NaiveDate,
    l: &ReceiptLineInput,
    order_line: Option<&str>,
) -> Result<(String, i64)> {
    let item = require_item(w.conn(), "item_id", &l.item_id).await?;
    let batch_no = line("batch_no", &l.batch_no, NAME_MAX, true)?;
    let expiry = date("expiry", &l.expiry)?;
    if expiry < today {
        return Err(Error::validation("expiry", ValidationReason::OutOfRange, "this batch has expired"));
    }
    let expiry = expiry.format("%Y-%m-%d").to_string();
    let quantity = i64::from(l.packs) * i64::from(item.pack_size) + i64::from(l.units) + i64::from(l.free_units);
    positive("packs", quantity)?;
    if !(0..=PRICE_MAX).contains(&l.pack_cost_minor) {
        return Err(Error::validation("pack_cost_minor", ValidationReason::OutOfRange, "0 or more"));
    }
    let sale_price = l.sale_price_minor.unwrap_or(item.sale_price_minor);
    if !(0..=PRICE_MAX).contains(&sale_price) {
        return Err(Error::validation("sale_price_minor", ValidationReason::OutOfRange, "0 or more"));
    }
    let batch = batch_id(&item.id, &batch_no);
    let known: Option<String> =
        sqlx::query_scalar("SELECT expiry FROM stock_batches WHERE id = ? AND deleted_at IS NULL")
            .bind(&batch)
            .fetch_optional(w.conn())
            .await?;
    match known {
        Some(e) if e != expiry => {
            return Err(Error::validation(
                "expiry",
                ValidationReason::Invalid,
                format!("batch {batch_no} of this item expires on {e}"),
            ))
        }
        Some(_) => {}
        None => {
            let unit_cost = l.pack_cost_minor / i64::from(item.pack_size);
            insert_row(
                w,
                "stock_batches",
                &batch,
                &[
                    ("item_id", json!(item.id)),
                    ("batch_no", json!(batch_no)),
                    ("expiry", json!(expiry)),
                    ("supplier_id", json!(supplier)),
                    ("cost_minor", json!(unit_cost)),
                    ("sale_price_minor", json!(sale_price)),
                    ("on_hold", json!(false)),
                    ("hold_reason", json!("")),
                ],
            )
            .await?;
        }
    }
    let line_id = crate::ids::new_id();
    let mut cols = vec![
        ("receipt_id", json!(receipt_id)),
        ("item_id", json!(item.id)),
        ("batch_id", json!(batch)),
        ("packs", json!(l.packs)),
        ("units", json!(l.units)),
        ("free_units", json!(l.free_units)),
        ("quantity", json!(quantity)),
        ("pack_cost_minor", json!(l.pack_cost_minor)),
        ("sale_price_minor", json!(sale_price)),
    ];
    if let Some(order_line) = order_line {
        cols.push(("order_line_id", json!(order_line)));
    }
    insert_row(w, "stock_receipt_lines", &line_id, &cols).await?;
    append_movement(
        w,
        &NewMovement {
            item_id: &item.id,
            batch_id: &batch,
            store_id,
            kind: MovementKind::Received,
            quantity,
            reason: None,
            note: "",
            receipt_line_id: Some(&line_id),
            dispensing_id: None,
            returns_movement_id: None,
            transfer_id: None,
        },
    )
    .await?;
    Ok((batch, quantity))
}
