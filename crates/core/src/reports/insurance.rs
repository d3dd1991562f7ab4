//! Insurance claims by insurer: the claims recorded on finalised invoices in the range (by
//! the day the claim was first recorded), as they stand now.
//!
//! Billing keeps one claim per invoice (`bill_insurance`): claimed, approved (0 until the
//! insurer decides) and settled (what the insurer paid, as payments in mode insurance). A
//! claim with nothing approved is awaiting a decision; once something is approved, what was
//! claimed and not approved is what the insurer rejected.

use super::table::{col, num, text, Kind, Table};
use super::DateRange;
use crate::error::Result;
use crate::store::Store;

#[derive(sqlx::FromRow)]
struct Insurer {
    insurer: String,
    claims: i64,
    awaiting: i64,
    claimed: i64,
    approved: i64,
    rejected: i64,
    settled: i64,
}

/// The payer is typed at the desk: the same name in another case or with spaces around it is
/// the same insurer (shown as its first spelling in alphabetical order).
const BY_INSURER: &str = "SELECT MIN(TRIM(i.payer)) AS insurer, COUNT(*) AS claims,
            SUM(i.approved_minor = 0) AS awaiting,
            SUM(i.claimed_minor) AS claimed, SUM(i.approved_minor) AS approved,
            SUM(CASE WHEN i.approved_minor > 0 THEN i.claimed_minor - i.approved_minor ELSE 0 END) AS rejected,
            SUM(i.settled_minor) AS settled
     FROM bill_insurance i JOIN bills b ON b.id = i.bill_id
     WHERE i.created_at >= ? AND i.created_at < ? AND i.deleted_at IS NULL
       AND b.status = 'final' AND b.deleted_at IS NULL
     GROUP BY TRIM(i.payer) COLLATE NOCASE";

pub(crate) async fn by_insurer(store: &Store, range: &DateRange) -> Result<Table> {
    let (from, to) = range.instants()?;
    let mut insurers: Vec<Insurer> = sqlx::query_as(BY_INSURER).bind(&from).bind(&to).fetch_all(store.pool()).await?;
    insurers.sort_by(|a, b| b.claimed.cmp(&a.claimed).then_with(|| a.insurer.cmp(&b.insurer)));
    let mut sums = [0i64; 7];
    let mut rows = Vec::with_capacity(insurers.len());
    for i in insurers {
        let figures = [i.claims, i.awaiting, i.claimed, i.approved, i.rejected, i.settled, i.approved - i.settled];
        for (sum, f) in sums.iter_mut().zip(figures) {
            *sum += f;
        }
        let mut row = vec![text(i.insurer)];
        row.extend(figures.map(num));
        rows.push(row);
    }
    let mut totals = vec![text("Total")];
    totals.extend(sums.map(num));
    Ok(Table {
        columns: vec![
            col("insurer", "Insurer", Kind::Text),
            col("claims", "Claims", Kind::Count),
            col("awaiting", "Awaiting decision", Kind::Count),
            col("claimed", "Claimed", Kind::Money),
            col("approved", "Approved", Kind::Money),
            col("rejected", "Rejected", Kind::Money),
            col("settled", "Settled", Kind::Money),
            col("outstanding", "Outstanding", Kind::Money),
        ],
        rows,
        totals: Some(totals),
        figures: Vec::new(),
    })
}
