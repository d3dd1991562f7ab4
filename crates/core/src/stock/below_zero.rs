//! **`stock_below_zero`**, a derived inbox conflict: a batch whose balance in a store is below
//! zero in a clinic that does not allow negative stock. A device never lets that happen by
//! itself (a movement that would is refused), so it comes from devices' movements meeting: two
//! counters each dispensing the last 40 of 50 tablets while apart. Movements are inserts, so
//! both stand and the balance is their sum — which is right about what left the shelf, and says
//! the shelf holds less than the books thought. It is listed, never hidden: in the inbox (one
//! per batch and store, the same on every device that holds the same movements) and on the
//! pharmacist's Home (`alerts::StockAlerts::below_zero`).
//!
//! Open while the balance is below zero; it leaves the inbox when the balance is back at zero
//! or above — a delivery, a transfer in, or a count correction on the Pharmacy screen by whoever
//! moves stock (the inbox's administrator does not): nothing is resolved in the inbox itself,
//! and the ledger keeps every movement that made and cleared it. In a clinic that allows
//! negative stock, a balance below zero is the clinic's own choice: Home and the Pharmacy
//! screen still show it, the inbox does not.

use crate::error::Result;
use crate::sync::conflicts::{ConflictKind, ConflictSide, DeriveConflicts, DerivedConflicts, Listed, SyncConflict};
use serde_json::json;
use sqlx::SqliteConnection;

struct BelowZero;

impl DeriveConflicts for BelowZero {
    fn conflicts<'a>(&'a self, conn: &'a mut SqliteConnection) -> Listed<'a> {
        Box::pin(below_zero(conn))
    }
}

inventory::submit! { DerivedConflicts { source: &BelowZero } }

/// The conflict's id: the batch and the store (a batch can be short in two stores).
pub fn conflict_id(batch_id: &str, store_id: &str) -> String {
    format!("{batch_id}@{store_id}")
}

/// A batch short in a store: item in words, batch, expiry, store, balance, unit, and the last
/// movement that took from it (id, device, when).
type Short = (String, String, String, String, String, String, i64, String, String, String, String);

async fn below_zero(conn: &mut SqliteConnection) -> Result<Vec<SyncConflict>> {
    if super::allow_negative(&mut *conn).await? {
        return Ok(Vec::new());
    }
    // The stock_balances cache holds a row per batch and store that ever moved: the few below
    // zero are found through it, and only their movements are read.
    let rows: Vec<Short> = sqlx::query_as(
        "SELECT s.batch_id, s.store_id,
                TRIM(i.generic_name || ' ' || i.strength || ' ' || i.form), b.batch_no, b.expiry, st.name,
                s.quantity, i.unit, m.id, m.origin_device, m.at
         FROM stock_balances s
         JOIN stock_batches b ON b.id = s.batch_id
         JOIN stock_items i ON i.id = s.item_id
         JOIN stock_stores st ON st.id = s.store_id
         JOIN stock_movements m ON m.id = (
             SELECT id FROM stock_movements WHERE batch_id = s.batch_id AND store_id = s.store_id
               AND quantity < 0 AND deleted_at IS NULL ORDER BY at DESC, id DESC LIMIT 1)
         WHERE s.quantity < 0
         ORDER BY s.batch_id, s.store_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(conflict).collect())
}

fn conflict(row: Short) -> SyncConflict {
    let (batch_id, store_id, item, batch_no, expiry, store_name, quantity, unit, movement, device, at) = row;
    let label = format!("{item}, batch {batch_no} (expires {expiry}), {store_name}");
    let current = ConflictSide {
        label: format!("{quantity} {unit}"),
        record_id: Some(batch_id.clone()),
        value: json!({ "quantity": quantity, "unit": unit }).to_string(),
        stamp: String::new(),
        device_id: String::new(),
    };
    let other = ConflictSide {
        label: at.clone(),
        record_id: Some(movement),
        value: json!({ "at": at }).to_string(),
        stamp: String::new(),
        device_id: device,
    };
    SyncConflict {
        id: conflict_id(&batch_id, &store_id),
        kind: ConflictKind::StockBelowZero,
        entity: "stock_batches".into(),
        entity_id: batch_id,
        field: None,
        label,
        current,
        other,
        detected_at: at,
        resolved: false,
        resolution: None,
        resolved_at: None,
        resolved_by: None,
    }
}
