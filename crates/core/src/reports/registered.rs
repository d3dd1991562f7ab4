//! Registrations as `report_registered` counts them (migration 0055): the registered records
//! (not merged into another, not deleted) whose `created_at` reads as a UTC time, by quarter
//! hour, by UTC day or quarter and place, by UTC day or quarter, sex and birth. A range of
//! stored instants is read as its whole UTC days, the whole quarters around them, and — only
//! when an end is not on a quarter hour, which no clinic's midnight is off today — the
//! records of the minutes left.

use super::summary::{utc_pieces, Piece};
use crate::error::Result;
use crate::store::Store;
use chrono::{DateTime, Duration, SecondsFormat, Timelike, Utc};

/// What `report_registered_base` asks of `created_at` (a UTC time to the minute, at least).
pub(crate) const TIMED: &str = "created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]*'";
/// The records counted, as the migration's view takes them.
pub(crate) const REGISTERED: &str = "status <> 'merged' AND deleted_at IS NULL";

/// What one part of a range is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    /// Whole UTC days `[a, b)` ('YYYY-MM-DD').
    Days(String, String),
    /// Whole quarter hours `[a, b)` ('YYYY-MM-DDTHH:MM').
    Quarters(String, String),
    /// The records with `a <= created_at < b`.
    Records(String, String),
}

/// The counts to read: kind 0 (registrations), places (1 by day, 2 by quarter) or births
/// (3 by day, 4 by quarter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Registrations,
    Places,
    Births,
}

/// The quarter hour key of an instant on a quarter hour ('YYYY-MM-DDTHH:MM'): a record is in
/// `[a, b)` exactly when the first 16 characters of its `created_at` are (the summary's rule).
fn quarter_of(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M").to_string()
}

fn on_quarter(t: DateTime<Utc>) -> bool {
    t.minute().is_multiple_of(15) && t.second() == 0 && t.nanosecond() == 0
}

/// How a part's end is compared with `created_at`: by its quarter key when it is on a quarter
/// hour (as the counts do), else as the stored instant.
pub(crate) fn bound(instant: &str) -> String {
    match DateTime::parse_from_rfc3339(instant) {
        Ok(t) if on_quarter(t.with_timezone(&Utc)) => quarter_of(t.with_timezone(&Utc)),
        _ => instant.to_string(),
    }
}

/// `[a, b)` as whole quarters with the records of what is left at either end.
fn quarters(a: &str, b: &str) -> Vec<Part> {
    let parse = |s: &str| DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc));
    let (Some(ta), Some(tb)) = (parse(a), parse(b)) else {
        return vec![Part::Records(a.into(), b.into())];
    };
    let floor = |t: DateTime<Utc>| {
        let off = Duration::minutes(i64::from(t.minute() % 15))
            + Duration::seconds(i64::from(t.second()))
            + Duration::nanoseconds(i64::from(t.nanosecond()));
        t - off
    };
    let first = if on_quarter(ta) { ta } else { floor(ta) + Duration::minutes(15) };
    let last = floor(tb);
    if first >= last {
        return vec![Part::Records(a.into(), b.into())];
    }
    let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    let mut out = Vec::with_capacity(3);
    if ta < first {
        out.push(Part::Records(a.into(), stamp(first)));
    }
    out.push(Part::Quarters(quarter_of(first), quarter_of(last)));
    if last < tb {
        out.push(Part::Records(stamp(last), b.into()));
    }
    out
}

/// `[from, to)` (stored instants) cut into parts: whole UTC days when `days`, else quarters.
pub(crate) fn parts(from: &str, to: &str, days: bool) -> Vec<Part> {
    if !days {
        return quarters(from, to);
    }
    let mut out = Vec::new();
    for piece in utc_pieces(from, to) {
        match piece {
            Piece::Days(a, b) => out.push(Part::Days(a, b)),
            Piece::Records(a, b) => out.extend(quarters(&a, &b)),
        }
    }
    out
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
    for part in parts(from, to, day_kind.is_some()) {
        let (sql, a, b) = match &part {
            Part::Days(a, b) => (
                format!(
                    "SELECT a, b, n FROM report_registered WHERE kind = {} AND period >= ? AND period < ? AND n <> 0",
                    day_kind.unwrap_or(quarter_kind)
                ),
                a.clone(),
                b.clone(),
            ),
            Part::Quarters(a, b) => (
                format!(
                    "SELECT {}, n FROM report_registered WHERE kind = {quarter_kind} AND period >= ? AND period < ? AND n <> 0",
                    if kind == Kind::Registrations { "period, ''" } else { "a, b" }
                ),
                a.clone(),
                b.clone(),
            ),
            Part::Records(a, b) => (
                format!(
                    "SELECT {records}, COUNT(*) FROM patients
                     WHERE {REGISTERED} AND created_at >= ? AND created_at < ? AND {TIMED} GROUP BY 1, 2"
                ),
                bound(a),
                bound(b),
            ),
        };
        let rows: Vec<(String, String, i64)> = sqlx::query_as(&sql).bind(a).bind(b).fetch_all(store.pool()).await?;
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
    Ok(q.fetch_all(store.pool()).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(a: &str, b: &str) -> Part {
        Part::Quarters(a.into(), b.into())
    }
    fn r(a: &str, b: &str) -> Part {
        Part::Records(a.into(), b.into())
    }
    fn d(a: &str, b: &str) -> Part {
        Part::Days(a.into(), b.into())
    }

    #[test]
    fn a_kolkata_month_is_its_quarters_and_whole_utc_days() {
        let (from, to) = ("2026-02-28T18:30:00.000Z", "2026-03-31T18:30:00.000Z");
        assert_eq!(
            parts(from, to, true),
            vec![
                q("2026-02-28T18:30", "2026-03-01T00:00"),
                d("2026-03-01", "2026-03-31"),
                q("2026-03-31T00:00", "2026-03-31T18:30")
            ]
        );
        assert_eq!(parts(from, to, false), vec![q("2026-02-28T18:30", "2026-03-31T18:30")]);
        assert_eq!(bound(from), "2026-02-28T18:30");
    }

    #[test]
    fn ends_off_the_quarter_hours_are_read_from_the_records() {
        let (from, to) = ("2026-03-01T05:07:00.000Z", "2026-03-01T05:52:30.000Z");
        assert_eq!(
            parts(from, to, true),
            vec![
                r(from, "2026-03-01T05:15:00.000Z"),
                q("2026-03-01T05:15", "2026-03-01T05:45"),
                r("2026-03-01T05:45:00.000Z", to)
            ]
        );
        assert_eq!(bound(from), from);
        assert_eq!(parts(from, "2026-03-01T05:14:00.000Z", true), vec![r(from, "2026-03-01T05:14:00.000Z")]);
        assert_eq!(parts("x", "y", false), vec![r("x", "y")]);
    }
}
