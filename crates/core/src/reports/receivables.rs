//! What patients owe, aged: the due of every finalised invoice as of the range's last day
//! (billing's due: total − credit notes − payments and advances + refunds, counting only what
//! was issued or moved by the end of that day), in bands by the invoice's age on that day.
//!
//! `report_dues` (migration 0031, kept by triggers) holds today's dues, not a past day's: the
//! dues are worked out here from the records up to the cutoff, so a range ending last month
//! reads last month's receivables. Only for the invoices that can owe something at the
//! cutoff, though, not every invoice ever: an invoice's due at the cutoff is its due today plus
//! what was paid or credited on it since (less refunds), so one with nothing due today and no
//! payment or credit note since the cutoff owed nothing then. The candidates are today's dues
//! and the invoices moved since the cutoff; a range ending today reads the dues alone.

use super::table::{col, num, text, Kind, Table};
use super::DateRange;
use crate::error::{Error, Result};
use crate::store::Store;
use std::collections::BTreeMap;

/// The upper bound (days, included) of each band but the last, which is everything older.
pub const AGE_BANDS: [i64; 3] = [30, 60, 90];

/// The band (0..=3) of an invoice `age` days old.
pub fn band_of(age: i64) -> usize {
    AGE_BANDS.iter().position(|upper| age <= *upper).unwrap_or(AGE_BANDS.len())
}

#[derive(sqlx::FromRow)]
struct Due {
    person: String,
    name: String,
    mrn: String,
    finalized_at: String,
    due: i64,
}

/// Invoices finalised before `cutoff` (not cancelled, not deleted) still owing something as
/// of `cutoff`, under the person they belong to (a merged duplicate's under its survivor).
const DUES: &str = "WITH candidates AS (
         SELECT bill_id FROM report_dues
         UNION SELECT bill_id FROM payments INDEXED BY payments_received WHERE received_at >= ?1
         UNION SELECT bill_id FROM credit_notes WHERE created_at >= ?1),
     d AS (
         SELECT COALESCE(p.merged_into, p.id) AS person, b.finalized_at,
                b.total_minor
                  - (SELECT COALESCE(SUM(c.amount_minor), 0) FROM credit_notes c
                     WHERE c.bill_id = b.id AND c.deleted_at IS NULL AND c.created_at < ?1)
                  - (SELECT COALESCE(SUM(CASE WHEN y.kind = 'refund' THEN -y.amount_minor ELSE y.amount_minor END), 0)
                     FROM payments y WHERE y.bill_id = b.id AND y.deleted_at IS NULL AND y.received_at < ?1) AS due
         FROM candidates k
         JOIN bills b ON b.id = k.bill_id
         JOIN patients p ON p.id = b.patient_id
         WHERE b.finalized_at < ?1 AND b.status = 'final' AND b.deleted_at IS NULL)
     SELECT d.person, TRIM(s.given_name || ' ' || s.family_name) AS name, s.mrn, d.finalized_at, d.due
     FROM d JOIN patients s ON s.id = d.person
     WHERE d.due > 0";

#[derive(Default)]
struct Owed {
    name: String,
    mrn: String,
    invoices: i64,
    bands: [i64; 4],
}

impl Owed {
    fn total(&self) -> i64 {
        self.bands.iter().sum()
    }
}

pub(crate) async fn ageing(store: &Store, range: &DateRange) -> Result<Table> {
    let (_, cutoff) = range.instants()?;
    let dues: Vec<Due> = sqlx::query_as(DUES).bind(&cutoff).fetch_all(store.pool()).await?;
    let mut people: BTreeMap<String, Owed> = BTreeMap::new();
    for d in dues {
        let day = range
            .local_date(&d.finalized_at)
            .ok_or_else(|| Error::internal(format!("bills.finalized_at does not read: {}", d.finalized_at)))?;
        let age = (range.to - day).num_days().max(0);
        let o = people.entry(d.person).or_insert_with(|| Owed { name: d.name, mrn: d.mrn, ..Default::default() });
        o.invoices += 1;
        o.bands[band_of(age)] += d.due;
    }
    let mut owed: Vec<Owed> = people.into_values().collect();
    owed.sort_by(|a, b| b.total().cmp(&a.total()).then_with(|| a.name.cmp(&b.name)).then_with(|| a.mrn.cmp(&b.mrn)));
    let mut all = Owed::default();
    let mut rows = Vec::with_capacity(owed.len());
    for o in owed {
        all.invoices += o.invoices;
        for (sum, b) in all.bands.iter_mut().zip(o.bands) {
            *sum += b;
        }
        let mut row = vec![text(&o.name), text(&o.mrn), num(o.invoices)];
        row.extend(o.bands.map(num));
        row.push(num(o.total()));
        rows.push(row);
    }
    let mut totals = vec![text("Total"), text(""), num(all.invoices)];
    totals.extend(all.bands.map(num));
    totals.push(num(all.total()));
    Ok(Table {
        columns: vec![
            col("patient", "Patient", Kind::Text),
            col("mrn", "MRN", Kind::Text),
            col("invoices", "Invoices", Kind::Count),
            col("days_0_30", "0–30 days", Kind::Money),
            col("days_31_60", "31–60 days", Kind::Money),
            col("days_61_90", "61–90 days", Kind::Money),
            col("days_over_90", "Over 90 days", Kind::Money),
            col("owed", "Total owed", Kind::Money),
        ],
        rows,
        totals: Some(totals),
        figures: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::band_of;

    #[test]
    fn bands_end_at_30_60_and_90_days_included() {
        let bands: Vec<usize> = [0, 30, 31, 60, 61, 90, 91, 400].into_iter().map(band_of).collect();
        assert_eq!(bands, [0, 0, 1, 1, 2, 2, 3, 3]);
    }
}
