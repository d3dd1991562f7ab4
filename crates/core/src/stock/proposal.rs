//! What the pharmacist sees before dispensing a prescription line: the item to give (the
//! prescribed medicine's, or a substitute), how much the course still needs, and the batches
//! the one allocator ([`fefo::allocate`]) proposes with every batch it passed over and why.
//! Nothing is written; [`super::dispensing::dispense`] allocates again inside its write.

use super::dose_words::course_units;
use super::fefo;
use super::model::{Allocation, StockItem};
use super::{candidates, positive, require_item, require_store, setup};
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct ProposeInput {
    pub prescription_id: String,
    pub store_id: String,
    /// Base units to give; the rest of the course when absent (nothing proposed when the
    /// course cannot be counted).
    #[specta(type = Option<f64>)]
    pub quantity: Option<i64>,
    /// A substitute; the prescribed medicine's item when absent.
    pub item_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Proposal {
    pub item: StockItem,
    /// "Amoxicillin 500 mg capsule".
    pub item_name: String,
    /// The whole course in base units, when dose, frequency and days say it.
    #[specta(type = Option<f64>)]
    pub course_units: Option<i64>,
    /// Given so far.
    #[specta(type = f64)]
    pub dispensed: i64,
    /// What the allocation is for.
    #[specta(type = f64)]
    pub quantity: i64,
    pub allocation: Allocation,
}

/// The allocation first-expiry-first-out would make now (see the module doc).
pub async fn propose(store: &Store, auth: &Authorized, input: ProposeInput) -> Result<Proposal> {
    auth.require(Permission::StockDispense)?;
    let mut conn = store.pool().acquire().await?;
    require_store(&mut conn, "store_id", &input.store_id).await?;
    type Row = (String, String, String, Option<i32>, Option<String>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT medicine_id, dose, frequency, duration_days, ends_on FROM prescriptions
         WHERE id = ? AND deleted_at IS NULL AND stopped_at IS NULL",
    )
    .bind(&input.prescription_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((medicine_id, dose, frequency, days, ends_on)) = row else {
        return Err(Error::validation("prescription_id", ValidationReason::Invalid, "no such running prescription"));
    };
    let chosen = input.item_id.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let item_id = match chosen {
        Some(id) => id.to_string(),
        None => setup::item_of_medicine(&mut conn, &medicine_id).await?.ok_or_else(|| {
            Error::validation("item_id", ValidationReason::Required, "this medicine is not stocked: choose an item")
        })?,
    };
    let item = require_item(&mut conn, "item_id", &item_id).await?;
    let dispensed: i64 = sqlx::query_scalar(
        "SELECT COALESCE(SUM(quantity), 0) FROM dispensings WHERE prescription_id = ? AND deleted_at IS NULL",
    )
    .bind(&input.prescription_id)
    .fetch_one(&mut *conn)
    .await?;
    let course = course_units(&dose, &frequency, days);
    let quantity = match input.quantity {
        Some(q) => positive("quantity", q)?,
        None => course.map_or(0, |c| (c - dispensed).max(0)),
    };
    let today = crate::clinic::today(store).await?;
    let course_end = ends_on.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok());
    let allocation = if quantity > 0 {
        fefo::allocate(&candidates(&mut conn, &item.id).await?, &input.store_id, quantity, today, course_end)
    } else {
        Allocation { picks: Vec::new(), passed: Vec::new(), short: 0 }
    };
    Ok(Proposal {
        item_name: super::dispensing::item_name(&item),
        item,
        course_units: course,
        dispensed,
        quantity,
        allocation,
    })
}
