//! What a patient was dispensed and may bring back: each batch taken (a `dispensed`
//! movement), with how much of it has come back already. Returns name one of these.

use crate::error::Result;
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use serde::Serialize;

/// The most dispensed batches the list shows (newest first).
pub const RETURNABLE_LIMIT: u32 = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct DispensedBatch {
    /// The dispensing movement (what a return names).
    pub movement_id: String,
    pub dispensing_id: String,
    pub item_name: String,
    pub unit: String,
    pub batch_no: String,
    pub expiry: String,
    pub store_id: String,
    #[specta(type = f64)]
    pub quantity: i64,
    #[specta(type = f64)]
    pub returned: i64,
    /// RFC 3339.
    pub dispensed_at: String,
}

/// A patient's dispensed batches, newest first.
pub async fn patient_dispensed(store: &Store, auth: &Authorized, patient_id: &str) -> Result<Vec<DispensedBatch>> {
    auth.require(Permission::StockDispense)?;
    type Row = (String, String, String, String, String, String, String, String, String, i64, i64, String);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT m.id, d.id, i.generic_name, i.strength, i.form, i.unit, b.batch_no, b.expiry, m.store_id, -m.quantity,
                (SELECT COALESCE(SUM(r.quantity), 0) FROM stock_movements r
                 WHERE r.returns_movement_id = m.id AND r.deleted_at IS NULL),
                d.dispensed_at
         FROM dispensings d JOIN stock_movements m ON m.dispensing_id = d.id AND m.kind = 'dispensed'
              JOIN stock_items i ON i.id = d.item_id JOIN stock_batches b ON b.id = m.batch_id
         WHERE d.patient_id = ? AND d.deleted_at IS NULL AND m.deleted_at IS NULL
         ORDER BY d.dispensed_at DESC, m.id DESC LIMIT ?",
    )
    .bind(patient_id)
    .bind(RETURNABLE_LIMIT)
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(
                movement_id,
                dispensing_id,
                name,
                strength,
                form,
                unit,
                batch_no,
                expiry,
                store_id,
                quantity,
                returned,
                at,
            )| {
                let item_name =
                    [name, strength, form].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ");
                DispensedBatch {
                    movement_id,
                    dispensing_id,
                    item_name,
                    unit,
                    batch_no,
                    expiry,
                    store_id,
                    quantity,
                    returned,
                    dispensed_at: at,
                }
            },
        )
        .collect())
}
