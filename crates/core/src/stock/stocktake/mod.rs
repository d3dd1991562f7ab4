//! Stock takes (issue 16): counting a store's shelves while the store keeps working.
//!
//! **Opening** ([`open::open`]) snapshots each batch line of the store that has a balance
//! (all items, or one kind, or those whose name matches a search): item, batch, expiry and the
//! balance the ledger holds at that moment (`expected`). At most one take per store is open.
//!
//! **Counting** ([`count::count`]): a count per line, in packs and/or loose units, blank until
//! entered; each count records the moment it was entered (`counted_at`). A batch found on the
//! shelf but not on the sheet gets a line of its own ([`open::add_line`]), its `expected` the
//! batch's balance at the opening moment.
//!
//! **Movements during the count.** The store keeps dispensing, receiving and moving stock. A
//! line's *book* quantity is the ledger's balance of that batch in that store at the moment
//! its count was entered — the sum of its movements stamped (`at`) up to `counted_at`, which
//! is `expected` plus the movements since the opening up to the count. The **variance** is
//! the count less the book: dispensing 10 during the count lowers the book by 10, so a shelf
//! that holds what the ledger says shows no variance. Movements another device made offline
//! count by their own time once synced.
//!
//! **Posting** ([`post::post`]) writes, in one transaction, one `adjusted` movement with the
//! reason `count_correction` per counted line whose variance is not zero, records each line's
//! book and correction, and closes the take. Lines nobody counted are left alone (no
//! correction). **Cancelling** closes it with nothing written to the ledger.
//!
//! Permissions: `stock_count` (pharmacist, lab technician, administrator) opens, counts,
//! posts and cancels; `stock_view` reads. Audited `stock.take_open`, `stock.take_count`,
//! `stock.take_post`, `stock.take_cancel`.

pub mod count;
pub mod model;
pub mod open;
pub mod post;
pub mod read;
pub mod sheet;
mod tables;

pub use model::*;

use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use crate::store::stored;
use sqlx::SqliteConnection;

/// The most lines one stock take holds (and one count carries).
pub const TAKE_LINES_MAX: usize = 20_000;

/// An open take's store and the moment of its snapshot.
pub(crate) struct OpenTake {
    pub store_id: String,
    pub opened_at: String,
}

/// The take, which must be open; anything else is refused naming `take_id`.
pub(crate) async fn require_open(conn: &mut SqliteConnection, take_id: &str) -> Result<OpenTake> {
    let row: Option<(String, String, String)> =
        sqlx::query_as("SELECT store_id, status, opened_at FROM stock_takes WHERE id = ? AND deleted_at IS NULL")
            .bind(take_id)
            .fetch_optional(conn)
            .await?;
    let Some((store_id, status, opened_at)) = row else {
        return Err(Error::validation("take_id", ValidationReason::Invalid, "no such stock take"));
    };
    match stored::code("stock_takes", take_id, "status", &status, StockTakeStatus::from_code)? {
        StockTakeStatus::Open => Ok(OpenTake { store_id, opened_at }),
        StockTakeStatus::Posted => {
            Err(Error::validation("take_id", ValidationReason::Invalid, "this stock take is posted: it is closed"))
        }
        StockTakeStatus::Cancelled => {
            Err(Error::validation("take_id", ValidationReason::Invalid, "this stock take is cancelled: it is closed"))
        }
    }
}

/// The ledger's balance of a batch in a store up to and including the moment `at` (RFC 3339
/// UTC with milliseconds, as every movement's `at` is written, so the text orders as time).
pub(crate) async fn book_at(conn: &mut SqliteConnection, batch_id: &str, store_id: &str, at: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(SUM(quantity), 0) FROM stock_movements
         WHERE batch_id = ? AND store_id = ? AND at <= ? AND deleted_at IS NULL",
    )
    .bind(batch_id)
    .bind(store_id)
    .bind(at)
    .fetch_one(conn)
    .await?)
}
