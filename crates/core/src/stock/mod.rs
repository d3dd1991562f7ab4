//! Pharmacy and lab stock (issue 16, first layers): stores, suppliers and stock items; goods
//! received in batches with their expiry; the ledger of movements; first-expiry-first-out
//! allocation; dispensing against prescriptions (in full or in part, substitution, charged to
//! the patient's bill), returns, transfers and adjustments.
//!
//! **Stock is a ledger.** Every movement (received, dispensed, returned, transfer out / in,
//! adjusted with a reason) is an append-only row of `stock_movements`, with its item, batch,
//! store and signed quantity in the item's base unit. A balance is never stored where anyone
//! could edit it: it is the sum of the movements of an item, batch and store. `stock_balances`
//! caches those sums, kept by triggers in the movement's own transaction (on a pulled
//! movement too); a test recounts it from the ledger.
//!
//! **One allocator** ([`fefo::allocate`]) picks the batches to dispense, earliest usable
//! expiry first, and says why it passed each other batch over. Expired or held stock is never
//! dispensed, on any path.
//!
//! Before dispensing, [`proposal::propose`] shows what the allocator would take; after it,
//! [`labels::labels_pdf`] prints a label per pack with the dose in words
//! ([`dose_words`]); [`returnable::patient_dispensed`] lists what a patient may bring back.
//! [`alerts::alerts`] counts what Home warns of: items below their reorder level and batches
//! expired or expiring within 30/60/90 days. [`stocktake`] counts a store while it keeps
//! working and posts the differences as count corrections. [`lab_use`] takes what a lab test
//! uses out of the lab store when its result is entered. [`purchase`] keeps the purchase
//! orders to suppliers, received against with [`receiving`].
//!
//! Permissions: the administrator and the pharmacist set up stores, suppliers and items and
//! hold batches (`stock_manage`); the pharmacist and the lab technician receive goods
//! (`stock_receive`) and move stock between stores or adjust it (`stock_move`); the pharmacist
//! dispenses and takes returns (`stock_dispense`); all three see stock (`stock_view`) and
//! count it (`stock_count`: stock takes, the administrator too). Every
//! write is one transaction with its change-log and audit entries.

pub mod alerts;
pub mod below_zero;
mod dispense_plan;
pub mod dispensing;
pub mod dose_words;
pub mod fefo;
pub mod lab_use;
mod lab_use_model;
pub mod labels;
pub mod ledger;
pub mod medicines;
pub mod model;
pub mod moves;
pub mod proposal;
pub mod purchase;
pub mod purchase_edit;
mod purchase_model;
pub mod purchase_pdf;
pub mod receiving;
pub mod returnable;
pub mod setup;
pub mod stocktake;
mod tables;

pub use lab_use_model::*;
pub use model::*;
pub use purchase_model::*;

use crate::error::{Error, Result, ValidationReason};
use crate::store::WriteTx;
use chrono::NaiveDate;
use serde_json::json;
use sqlx::SqliteConnection;
use std::collections::HashMap;

/// The longest name of a store, supplier or item, batch number, unit or invoice number.
pub const NAME_MAX: usize = 120;
/// The longest note, reason or address.
pub const NOTE_MAX: usize = 500;
/// The most base units one movement, line or pack holds.
pub const QUANTITY_MAX: i64 = 10_000_000;
/// The most lines one receipt or dispensing carries.
pub const LINES_MAX: usize = 200;
/// The setting that lets stock go below zero (off unless the clinic turns it on).
pub const ALLOW_NEGATIVE_KEY: &str = "stock_allow_negative";

/// Today on the clinic's clock, inside a write.
pub(crate) async fn today_in(w: &mut WriteTx<'_>) -> Result<NaiveDate> {
    let tz = crate::clinic::time_zone_in(w).await?;
    Ok(w.now().with_timezone(&tz).date_naive())
}

/// Whether the clinic allows negative stock (Settings; off by default).
pub(crate) async fn allow_negative(conn: &mut SqliteConnection) -> Result<bool> {
    let raw: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = ? AND deleted_at IS NULL")
        .bind(ALLOW_NEGATIVE_KEY)
        .fetch_optional(conn)
        .await?;
    Ok(raw.and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok()).and_then(|v| v.as_bool()).unwrap_or(false))
}

/// A quantity in base units: more than zero, at most [`QUANTITY_MAX`].
pub(crate) fn positive(field: &str, q: i64) -> Result<i64> {
    if q <= 0 {
        return Err(Error::validation(field, ValidationReason::OutOfRange, "more than zero"));
    }
    if q > QUANTITY_MAX {
        return Err(Error::validation(field, ValidationReason::OutOfRange, format!("at most {QUANTITY_MAX}")));
    }
    Ok(q)
}

/// A date YYYY-MM-DD.
pub(crate) fn date(field: &str, raw: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| Error::validation(field, ValidationReason::Invalid, "a date YYYY-MM-DD"))
}

/// A store that exists and is active.
pub(crate) async fn require_store(conn: &mut SqliteConnection, field: &str, id: &str) -> Result<()> {
    let active: Option<bool> =
        sqlx::query_scalar("SELECT active FROM stock_stores WHERE id = ? AND deleted_at IS NULL")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    match active {
        Some(true) => Ok(()),
        Some(false) => Err(Error::validation(field, ValidationReason::Invalid, "this store is closed")),
        None => Err(Error::validation(field, ValidationReason::Invalid, "no such store")),
    }
}

/// An item that exists and is active.
pub(crate) async fn require_item(conn: &mut SqliteConnection, field: &str, id: &str) -> Result<StockItem> {
    match setup::load_item(conn, id).await? {
        Some(item) if item.active => Ok(item),
        Some(_) => Err(Error::validation(field, ValidationReason::Invalid, "this item is no longer stocked")),
        None => Err(Error::validation(field, ValidationReason::Invalid, "no such item")),
    }
}

/// A batch's item, expiry and hold; a batch of another item than `item_id` is refused,
/// naming `field`.
pub(crate) async fn require_batch_of(
    conn: &mut SqliteConnection,
    field: &str,
    batch_id: &str,
    item_id: &str,
) -> Result<Candidate> {
    let row: Option<(String, String, String, bool)> = sqlx::query_as(
        "SELECT item_id, batch_no, expiry, on_hold FROM stock_batches WHERE id = ? AND deleted_at IS NULL",
    )
    .bind(batch_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((of, batch_no, expiry, on_hold)) = row else {
        return Err(Error::validation(field, ValidationReason::Invalid, "no such batch"));
    };
    if of != item_id {
        return Err(Error::validation(field, ValidationReason::Invalid, "a batch of another item"));
    }
    let expiry = NaiveDate::parse_from_str(&expiry, "%Y-%m-%d")
        .map_err(|_| Error::corrupt("stock_batches", batch_id, "expiry", "not a date YYYY-MM-DD"))?;
    let balances = sqlx::query_as("SELECT store_id, quantity FROM stock_balances WHERE batch_id = ?")
        .bind(batch_id)
        .fetch_all(conn)
        .await?;
    Ok(Candidate { batch_id: batch_id.to_string(), batch_no, expiry, on_hold, balances })
}

/// Every batch of an item that has a balance somewhere, as the allocator weighs them.
pub(crate) async fn candidates(conn: &mut SqliteConnection, item_id: &str) -> Result<Vec<Candidate>> {
    Ok(candidates_of(conn, &[item_id]).await?.batches.remove(item_id).unwrap_or_default())
}

/// The batches of several items, read in one statement.
#[derive(Default)]
pub(crate) struct Candidates {
    /// item → its batches with a balance somewhere, earliest expiry first.
    pub batches: HashMap<String, Vec<Candidate>>,
    /// batch → its sale price (minor units a base unit).
    pub prices: HashMap<String, i64>,
}

/// [`candidates`] of every item in `items`, with the batches' prices.
pub(crate) async fn candidates_of(conn: &mut SqliteConnection, items: &[&str]) -> Result<Candidates> {
    type Row = (String, String, String, String, bool, i64, String, i64);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT b.item_id, b.id, b.batch_no, b.expiry, b.on_hold, b.sale_price_minor, s.store_id, s.quantity
         FROM stock_balances s JOIN stock_batches b ON b.id = s.batch_id
         WHERE s.item_id IN (SELECT value FROM json_each(?)) AND b.deleted_at IS NULL
         ORDER BY b.item_id, b.expiry, b.batch_no, b.id",
    )
    .bind(serde_json::to_string(items)?)
    .fetch_all(conn)
    .await?;
    let mut out = Candidates::default();
    for (item, id, batch_no, expiry, on_hold, price, store, quantity) in rows {
        let list = out.batches.entry(item).or_default();
        if let Some(last) = list.last_mut().filter(|c| c.batch_id == id) {
            last.balances.push((store, quantity));
            continue;
        }
        let expiry = NaiveDate::parse_from_str(&expiry, "%Y-%m-%d")
            .map_err(|_| Error::corrupt("stock_batches", &id, "expiry", "not a date YYYY-MM-DD"))?;
        out.prices.insert(id.clone(), price);
        list.push(Candidate { batch_id: id, batch_no, expiry, on_hold, balances: vec![(store, quantity)] });
    }
    Ok(out)
}

/// A batch's balance in one store, inside the write.
pub(crate) async fn balance(conn: &mut SqliteConnection, batch_id: &str, store_id: &str) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT quantity FROM stock_balances WHERE batch_id = ? AND store_id = ?")
        .bind(batch_id)
        .bind(store_id)
        .fetch_optional(conn)
        .await?
        .unwrap_or(0))
}

/// That taking `quantity` out of a batch in a store leaves it at zero or more, unless the
/// clinic allows negative stock; `field` names the quantity in the error.
pub(crate) async fn require_stock(
    conn: &mut SqliteConnection,
    field: &str,
    batch_id: &str,
    store_id: &str,
    quantity: i64,
) -> Result<()> {
    let have = balance(&mut *conn, batch_id, store_id).await?;
    if have >= quantity || allow_negative(conn).await? {
        return Ok(());
    }
    Err(Error::validation(field, ValidationReason::OutOfRange, format!("only {have} in stock")))
}

/// One row of the ledger (a synced insert; the balance follows by trigger).
pub(crate) struct NewMovement<'a> {
    pub item_id: &'a str,
    pub batch_id: &'a str,
    pub store_id: &'a str,
    pub kind: MovementKind,
    pub quantity: i64,
    pub reason: Option<AdjustReason>,
    pub note: &'a str,
    pub receipt_line_id: Option<&'a str>,
    pub dispensing_id: Option<&'a str>,
    pub returns_movement_id: Option<&'a str>,
    pub transfer_id: Option<&'a str>,
}

pub(crate) async fn append_movement(w: &mut WriteTx<'_>, m: &NewMovement<'_>) -> Result<String> {
    let ids = append_movements(w, std::slice::from_ref(m)).await?;
    ids.into_iter().next().ok_or_else(|| Error::internal("a movement was not written"))
}

/// Appends movements in a handful of statements whatever their number; their ids, in order.
pub(crate) async fn append_movements(w: &mut WriteTx<'_>, movements: &[NewMovement<'_>]) -> Result<Vec<String>> {
    use crate::codes::Code;
    let at = w.now_rfc3339();
    let rows: Vec<(String, [(&str, serde_json::Value); 12])> = movements
        .iter()
        .map(|m| {
            let cols = [
                ("item_id", json!(m.item_id)),
                ("batch_id", json!(m.batch_id)),
                ("store_id", json!(m.store_id)),
                ("kind", json!(m.kind.code())),
                ("quantity", json!(m.quantity)),
                ("reason", json!(m.reason.map(|r| r.code()).unwrap_or(""))),
                ("note", json!(m.note)),
                ("receipt_line_id", json!(m.receipt_line_id)),
                ("dispensing_id", json!(m.dispensing_id)),
                ("returns_movement_id", json!(m.returns_movement_id)),
                ("transfer_id", json!(m.transfer_id)),
                ("at", json!(at)),
            ];
            (crate::ids::new_id(), cols)
        })
        .collect();
    let refs: Vec<(&str, &[(&str, serde_json::Value)])> =
        rows.iter().map(|(id, cols)| (id.as_str(), cols.as_slice())).collect();
    crate::clinical::insert_rows(w, "stock_movements", &refs).await?;
    Ok(rows.into_iter().map(|(id, _)| id).collect())
}
