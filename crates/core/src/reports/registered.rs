//! Registrations as `report_registered` counts them (migration 0055): the registered records
//! (not merged into another, not deleted) whose `created_at` reads as a UTC time, by quarter
//! hour, by UTC day or quarter and place, by UTC day or quarter, sex and birth. A range of
//! stored instants is read as its whole UTC days, the whole quarters around them, and — only
//! when an end is not on a quarter hour, which no clinic's midnight is off today — the
//! records of the minutes left.

use super::pieces::{bound, quarter_pieces, quarters, Piece};
use crate::error::Result;
use crate::store::Store;

/// What `report_registered_base` asks of `created_at` (a UTC time to the minute, at least).
pub(crate) const TIMED: &str = "created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]*'";
/// The records counted, as the migration's view takes them.
pub(crate) const REGISTERED: &str = "status <> 'merged' AND deleted_at IS NULL";

/// The counts to read: kind 0 (registrations), places (1 by day, 2 by quarter) or births
/// (3 by day, 4 by quarter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Registrations,
    Places,
    Births,
}

/// The counts of `kind` over `[from, to)`: (a, b, n) rows, a key possibly repeated (one row
/// per period or per group of records); `a`, `b` are the period and '' for registrations, the
/// district and city for places, the sex and birth (as the migration keeps it) for births.
pub(crate) async fn counts(store: &Store, kind: Kind, from: &str, to: &str) -> Result<Vec<(String, String, i64)>> {
    let (day_kind, quarter_kind, records) = match kind {
        Kind::Registrations => (None, 0, "substr(created_at, 1, 16), ''"),
        Kind::Places => (Some(1), 2, "district, city"),
        Kind::Births => (
            Some(3),
            4,
            "sex, CASE WHEN birth_date IS NULL THEN '' WHEN date(birth_date) IS birth_date THEN substr(birth_date, 1, 4)
                       ELSE '~' || birth_date END",
        ),
    };
    let mut out = Vec::new();
    let parts = if day_kind.is_some() { quarter_pieces(from, to) } else { quarters(from, to) };
    for part in parts {
        let (sql, a, b) = match &part {
            Piece::Days(a, b) => (
                format!(
                    "SELECT a, b, n FROM report_registered WHERE kind = {} AND period >= ? AND period < ? AND n <> 0",
                    day_kind.unwrap_or(quarter_kind)
                ),
                a.clone(),
                b.clone(),
            ),
            Piece::Quarters(a, b) => (
                format!(
                    "SELECT {}, n FROM report_registered WHERE kind = {quarter_kind} AND period >= ? AND period < ? AND n <> 0",
                    if kind == Kind::Registrations { "period, ''" } else { "a, b" }
                ),
                a.clone(),
                b.clone(),
            ),
            Piece::Records(a, b) => (
                format!(
                    "SELECT {records}, COUNT(*) FROM patients
                     WHERE {REGISTERED} AND created_at >= ? AND created_at < ? AND {TIMED} GROUP BY 1, 2"
                ),
                a.clone(),
                b.clone(),
            ),
        };
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as(&sql).bind(a).bind(b).fetch_all(store.report_pool()).await?;
        out.extend(rows);
    }
    Ok(out)
}

/// The registrations in `[from, to)` by sex and birth year, among those born from `first` to
/// `last` (canonical dates, 'YYYY-MM-DD', within one year): what an age band needs in a year
/// where it turns on the day of birth. Read through `patients_born`.
pub(crate) async fn born_between(
    store: &Store,
    from: &str,
    to: &str,
    spans: &[(String, String)],
) -> Result<Vec<(String, String, i64)>> {
    if spans.is_empty() {
        return Ok(Vec::new());
    }
    let one = format!(
        "SELECT substr(birth_date, 1, 4), sex, COUNT(*) FROM patients
         WHERE {REGISTERED} AND birth_date >= ? AND birth_date <= ? AND created_at >= ? AND created_at < ?
           AND {TIMED} AND date(birth_date) IS birth_date GROUP BY 1, 2"
    );
    let sql = vec![one; spans.len()].join(" UNION ALL ");
    let (a, b) = (bound(from), bound(to));
    let mut q = sqlx::query_as(&sql);
    for (first, last) in spans {
        q = q.bind(first).bind(last).bind(&a).bind(&b);
    }
    Ok(q.fetch_all(store.report_pool()).await?)
}
