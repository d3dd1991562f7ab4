//! Insurance claims by insurer: the claims recorded on finalised invoices in the range (by
//! the day the claim was first recorded), as they stand now: over whole UTC days from their
//! summary (migration 0047), at the range's edges from the claims.
//!
//! Billing keeps one claim per invoice (`bill_insurance`): claimed, approved (0 until the
//! insurer decides) and settled (what the insurer paid, as payments in mode insurance). A
//! claim with nothing approved is awaiting a decision; once something is approved, what was
//! claimed and not approved is what the insurer rejected.

use super::table::{col, num, text, Kind, Table};
use super::{pieces, summary, DateRange};
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

/// The claims over whole UTC days, from the summary (migration 0047); binds: the first day,
/// the day after the last.
const CLAIMS_DAYS: &str = "SELECT payer, n, awaiting, claimed, approved, rejected, settled
     FROM report_claims_day WHERE day >= ? AND day < ? AND n <> 0";

/// The claims at a range's edges, from the records; binds: the two instants.
const CLAIMS_RECORDS: &str = "SELECT TRIM(i.payer) AS payer, 1 AS n, i.approved_minor = 0 AS awaiting,
            i.claimed_minor AS claimed, i.approved_minor AS approved,
            CASE WHEN i.approved_minor > 0 THEN i.claimed_minor - i.approved_minor ELSE 0 END AS rejected,
            i.settled_minor AS settled
     FROM bill_insurance i INDEXED BY bill_insurance_created JOIN bills b ON b.id = i.bill_id
     WHERE i.created_at >= ? AND i.created_at < ? AND i.deleted_at IS NULL
       AND b.status = 'final' AND b.deleted_at IS NULL";

pub(crate) async fn by_insurer(store: &Store, range: &DateRange) -> Result<Table> {
    let (from, to) = range.instants()?;
    let (claims, binds) = pieces::union(&pieces::utc_pieces(&from, &to), CLAIMS_DAYS, CLAIMS_RECORDS, CLAIMS_RECORDS);
    // The payer is typed at the desk: the same name in another case or with spaces around it
    // is the same insurer (shown as its first spelling in alphabetical order).
    let sql = format!(
        "SELECT MIN(payer) AS insurer, SUM(n) AS claims, SUM(awaiting) AS awaiting, SUM(claimed) AS claimed,
                SUM(approved) AS approved, SUM(rejected) AS rejected, SUM(settled) AS settled
         FROM ({claims}) GROUP BY payer COLLATE NOCASE HAVING SUM(n) <> 0"
    );
    let mut insurers: Vec<Insurer> =
        summary::bind_all(sqlx::query_as(&sql), &binds).fetch_all(store.report_pool()).await?;
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
