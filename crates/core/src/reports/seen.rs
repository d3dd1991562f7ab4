//! The people seen over a range, from the people-seen chain (migration 0052): every attended
//! appointment (checked in or later, not deleted) with its person (a merged duplicate's
//! survivor) and the dates of the person's previous attended appointment with the same doctor
//! and with anyone (`report_seen_chain`), counted by month, previous month and doctor
//! (`report_seen_month`).
//!
//! An attended appointment is its person's first in the range (with that doctor, or at all)
//! exactly when the previous one is before the range's first day or there is none — and their
//! first ever when there is none. So over a range the people seen are the appointments in it
//! whose previous one is before it, the new ones those with none: the whole months' counts with
//! a previous month before the first day's month, the edge days' appointments as they are kept,
//! and — when the range starts inside a month — the whole months' appointments whose previous
//! one fell in that month before the start (through the previous dates' indexes). Everyone's
//! days of a range starting on the 1st are read from their daily counts
//! (`report_seen_people_day`, migration 0054).

use super::range::Span;
use super::DateRange;
use crate::error::Result;
use crate::store::Store;
use chrono::{Datelike, Months, NaiveDate};

/// What a range counts, in all (`doctor` None) or for one doctor.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct Seen {
    /// The doctor ('' for everyone).
    pub key: String,
    /// Distinct people with an attended appointment in the range.
    pub people: i64,
    /// Of whom their first attended appointment ever (with the doctor, or at all) is in it.
    pub new: i64,
    /// Attended appointments in the range.
    pub appointments: i64,
}

/// The two chains: kind 0 everyone (its previous date `prev_any`), kind 1 per doctor
/// (`prev_doctor`, key the doctor).
const CHAINS: [(i64, &str, &str); 2] = [(0, "prev_any", "''"), (1, "prev_doctor", "doctor_id")];

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn month(d: NaiveDate) -> String {
    d.format("%Y-%m").to_string()
}

/// Everyone's figures over `range`.
pub(crate) async fn everyone(store: &Store, range: &DateRange) -> Result<Seen> {
    let rows = tallies(store, range, 0).await?;
    Ok(rows.into_iter().next().unwrap_or_default())
}

/// Each doctor's figures over `range` (doctors with none left out).
pub(crate) async fn by_doctor(store: &Store, range: &DateRange) -> Result<Vec<Seen>> {
    tallies(store, range, 1).await
}

async fn tallies(store: &Store, range: &DateRange, kind: i64) -> Result<Vec<Seen>> {
    let (sql, binds) = tallies_sql(range, kind);
    Ok(super::summary::bind_all(sqlx::query_as(&sql), &binds).fetch_all(store.report_pool()).await?)
}

/// The statement summing one chain's counts over a range, and its binds in order.
fn tallies_sql(range: &DateRange, kind: i64) -> (String, Vec<String>) {
    let (_, prev, key) = CHAINS.iter().copied().find(|c| c.0 == kind).unwrap_or(CHAINS[0]);
    let from = day(range.from);
    let mut parts = Vec::new();
    let mut binds = Vec::new();
    for span in range.spans() {
        match span {
            // Everyone over days of a range starting on the 1st: the days' counts (no previous
            // date can fall in the first month before the start). Home's "this month".
            Span::Days(a, b) if kind == 0 && range.from.day() == 1 => {
                parts.push(
                    "SELECT '' AS key, SUM(CASE WHEN prev_month < ? THEN n ELSE 0 END) AS people,
                            SUM(CASE WHEN prev_month = '' THEN n ELSE 0 END) AS new, SUM(n) AS appointments
                     FROM report_seen_people_day WHERE date >= ? AND date <= ?"
                        .into(),
                );
                binds.extend([month(range.from), day(a), day(b)]);
            }
            Span::Days(a, b) => {
                parts.push(format!(
                    "SELECT {key} AS key, SUM({prev} IS NULL OR {prev} < ?) AS people, SUM({prev} IS NULL) AS new,
                            COUNT(*) AS appointments
                     FROM report_seen_chain WHERE date >= ? AND date <= ? GROUP BY 1"
                ));
                binds.extend([from.clone(), day(a), day(b)]);
            }
            Span::Months(m1, m2) => {
                parts.push(format!(
                    "SELECT key, SUM(CASE WHEN prev_month < ? THEN n ELSE 0 END) AS people,
                            SUM(CASE WHEN prev_month = '' THEN n ELSE 0 END) AS new, SUM(n) AS appointments
                     FROM report_seen_month WHERE month >= ? AND month <= ? AND kind = {kind} GROUP BY key"
                ));
                binds.extend([month(range.from), month(m1), month(m2)]);
                // The range starts inside a month: the appointments in the whole months whose
                // previous one was in that month before the start are people seen too.
                if range.from.day() != 1 {
                    let (Some(first), Some(end)) = (range.from.with_day(1), m2.checked_add_months(Months::new(1)))
                    else {
                        continue;
                    };
                    parts.push(format!(
                        "SELECT {key} AS key, COUNT(*) AS people, 0 AS new, 0 AS appointments
                         FROM report_seen_chain INDEXED BY report_seen_chain_{prev}
                         WHERE {prev} >= ? AND {prev} < ? AND date >= ? AND date < ? GROUP BY 1"
                    ));
                    binds.extend([day(first), from.clone(), day(m1), day(end)]);
                }
            }
        }
    }
    let sql = format!(
        "SELECT key, SUM(people) AS people, SUM(new) AS new, SUM(appointments) AS appointments
         FROM ({}) GROUP BY key HAVING SUM(appointments) <> 0 ORDER BY key",
        parts.join(" UNION ALL ")
    );
    (sql, binds)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A range starting inside a month reads the previous dates in that month before its start;
    /// one starting on the 1st does not need to.
    #[test]
    fn a_range_inside_a_month_reads_the_previous_dates_before_its_start() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let range = DateRange { from: d("2025-12-06"), to: d("2026-12-05"), tz: chrono_tz::UTC };
        let (sql, binds) = tallies_sql(&range, 1);
        assert!(sql.contains("INDEXED BY report_seen_chain_prev_doctor"), "{sql}");
        assert_eq!(binds.iter().filter(|b| *b == "2025-12-06").count(), 4, "{binds:?}");
        let range = DateRange { from: d("2026-01-01"), to: d("2026-12-31"), tz: chrono_tz::UTC };
        let (sql, binds) = tallies_sql(&range, 0);
        assert!(!sql.contains("INDEXED BY"), "{sql}");
        assert_eq!(binds, ["2026-01", "2026-01", "2026-12"]);
    }
}
