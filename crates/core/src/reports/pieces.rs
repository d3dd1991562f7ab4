//! A range of stored instants `[from, to)` cut into what each part of it is read from: whole
//! UTC days from a summary kept by day (migration 0028 and later ones), whole UTC quarter hours
//! from a summary kept by quarter (0055, 0059), and the instants left at an edge from the
//! records themselves. Every clinic's midnight is on a UTC quarter hour (time zones are offset
//! from UTC by multiples of 15 minutes), so a range read with quarters reads the records only
//! for an end off the quarter hours, which no clinic's day has today.

use chrono::{DateTime, Duration, SecondsFormat, Timelike, Utc};

/// A part of a range and what it is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Whole UTC days `[a, b)` ('YYYY-MM-DD').
    Days(String, String),
    /// Whole UTC quarter hours `[a, b)` ('YYYY-MM-DDTHH:MM').
    Quarters(String, String),
    /// The records with `a <= instant < b`.
    Records(String, String),
}

const MIDNIGHT: &str = "T00:00:00.000Z";

/// `[from, to)` (stored instants, as `DateRange::instants` gives them) cut into the whole UTC
/// days inside it and the hours before and after them. A clinic's midnight is a UTC midnight
/// only in UTC's zone, so most ranges have two short edges; a range shorter than a UTC day
/// is read from the records alone.
pub(crate) fn utc_pieces(from: &str, to: &str) -> Vec<Piece> {
    let day = |s: &str| s.get(..10).and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let (Some(f), Some(t)) = (day(from), day(to)) else {
        return vec![Piece::Records(from.into(), to.into())];
    };
    let first = if from.get(10..) == Some(MIDNIGHT) { Some(f) } else { f.succ_opt() };
    match first {
        Some(first) if first < t => {
            let (a, b) = (format!("{first}{MIDNIGHT}"), format!("{t}{MIDNIGHT}"));
            let mut out = Vec::with_capacity(3);
            if from < a.as_str() {
                out.push(Piece::Records(from.into(), a));
            }
            out.push(Piece::Days(first.to_string(), t.to_string()));
            if b.as_str() < to {
                out.push(Piece::Records(b, to.into()));
            }
            out
        }
        _ => vec![Piece::Records(from.into(), to.into())],
    }
}

/// The quarter hour key of an instant on a quarter hour ('YYYY-MM-DDTHH:MM'): a record is in
/// `[a, b)` exactly when the first 16 characters of its instant are (the summaries' rule).
fn quarter_of(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M").to_string()
}

fn on_quarter(t: DateTime<Utc>) -> bool {
    t.minute().is_multiple_of(15) && t.second() == 0 && t.nanosecond() == 0
}

/// How an end is compared with a stored instant: by its quarter key when it is on a quarter
/// hour (as the summaries by quarter count), else as the stored instant. Applied twice it
/// changes nothing.
pub(crate) fn bound(instant: &str) -> String {
    match DateTime::parse_from_rfc3339(instant) {
        Ok(t) if on_quarter(t.with_timezone(&Utc)) => quarter_of(t.with_timezone(&Utc)),
        _ => instant.to_string(),
    }
}

/// `[a, b)` as whole quarters, with the records of what is left at either end (compared as
/// [`bound`] says).
pub(crate) fn quarters(a: &str, b: &str) -> Vec<Piece> {
    let parse = |s: &str| DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc));
    let records = |a: &str, b: &str| Piece::Records(bound(a), bound(b));
    let (Some(ta), Some(tb)) = (parse(a), parse(b)) else {
        return vec![records(a, b)];
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
        return vec![records(a, b)];
    }
    let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    let mut out = Vec::with_capacity(3);
    if ta < first {
        out.push(records(a, &stamp(first)));
    }
    out.push(Piece::Quarters(quarter_of(first), quarter_of(last)));
    if last < tb {
        out.push(records(&stamp(last), b));
    }
    out
}

/// `[from, to)` as its whole UTC days and, around them, whole quarters (and the records of an
/// end off the quarter hours): for the summaries kept by day and by quarter.
pub(crate) fn quarter_pieces(from: &str, to: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    for piece in utc_pieces(from, to) {
        match piece {
            Piece::Records(a, b) => out.extend(quarters(&a, &b)),
            p => out.push(p),
        }
    }
    out
}

/// Builds `SELECT … UNION ALL SELECT …` over the pieces: `days` reads a summary by day (binds:
/// the first day, the day after the last), `quarters` one by quarter (the first quarter, the
/// quarter after the last), `records` the records (binds: the two ends). A summary kept by day
/// alone passes its `records` as `quarters`: a quarter key compares with a stored instant as
/// [`bound`] does.
pub(crate) fn union(pieces: &[Piece], days: &str, quarters: &str, records: &str) -> (String, Vec<String>) {
    let mut parts = Vec::with_capacity(pieces.len());
    let mut binds = Vec::with_capacity(pieces.len() * 2);
    for p in pieces {
        let (sql, a, b) = match p {
            Piece::Days(a, b) => (days, a, b),
            Piece::Quarters(a, b) => (quarters, a, b),
            Piece::Records(a, b) => (records, a, b),
        };
        parts.push(sql.to_string());
        binds.push(a.clone());
        binds.push(b.clone());
    }
    (parts.join(" UNION ALL "), binds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(a: &str, b: &str) -> Piece {
        Piece::Quarters(a.into(), b.into())
    }
    fn r(a: &str, b: &str) -> Piece {
        Piece::Records(a.into(), b.into())
    }
    fn d(a: &str, b: &str) -> Piece {
        Piece::Days(a.into(), b.into())
    }

    #[test]
    fn a_kolkata_month_with_quarters_is_its_quarters_and_whole_utc_days() {
        let (from, to) = ("2026-02-28T18:30:00.000Z", "2026-03-31T18:30:00.000Z");
        assert_eq!(
            quarter_pieces(from, to),
            vec![
                q("2026-02-28T18:30", "2026-03-01T00:00"),
                d("2026-03-01", "2026-03-31"),
                q("2026-03-31T00:00", "2026-03-31T18:30")
            ]
        );
        assert_eq!(quarters(from, to), vec![q("2026-02-28T18:30", "2026-03-31T18:30")]);
        assert_eq!(bound(from), "2026-02-28T18:30");
        assert_eq!(bound(&bound(from)), bound(from));
    }

    #[test]
    fn ends_off_the_quarter_hours_are_read_from_the_records() {
        let (from, to) = ("2026-03-01T05:07:00.000Z", "2026-03-01T05:52:30.000Z");
        assert_eq!(
            quarter_pieces(from, to),
            vec![r(from, "2026-03-01T05:15"), q("2026-03-01T05:15", "2026-03-01T05:45"), r("2026-03-01T05:45", to)]
        );
        assert_eq!(bound(from), from);
        assert_eq!(quarter_pieces(from, "2026-03-01T05:14:00.000Z"), vec![r(from, "2026-03-01T05:14:00.000Z")]);
        assert_eq!(quarters("x", "y"), vec![r("x", "y")]);
    }

    #[test]
    fn a_summary_without_quarters_reads_them_from_the_records() {
        let pieces = quarter_pieces("2026-02-28T18:30:00.000Z", "2026-03-02T18:30:00.000Z");
        let (sql, binds) = union(&pieces, "D", "R", "R");
        assert_eq!(sql, "R UNION ALL D UNION ALL R");
        assert_eq!(
            binds,
            [
                "2026-02-28T18:30",
                "2026-03-01T00:00",
                "2026-03-01",
                "2026-03-02",
                "2026-03-02T00:00",
                "2026-03-02T18:30"
            ]
        );
    }

    #[test]
    fn a_kolkata_month_is_its_whole_utc_days_and_two_edges() {
        let p = utc_pieces("2026-02-28T18:30:00.000Z", "2026-03-31T18:30:00.000Z");
        assert_eq!(
            p,
            vec![
                Piece::Records("2026-02-28T18:30:00.000Z".into(), "2026-03-01T00:00:00.000Z".into()),
                Piece::Days("2026-03-01".into(), "2026-03-31".into()),
                Piece::Records("2026-03-31T00:00:00.000Z".into(), "2026-03-31T18:30:00.000Z".into()),
            ]
        );
    }

    #[test]
    fn utc_days_have_no_edges_and_a_short_range_is_read_from_the_records() {
        let p = utc_pieces("2026-03-01T00:00:00.000Z", "2026-03-03T00:00:00.000Z");
        assert_eq!(p, vec![Piece::Days("2026-03-01".into(), "2026-03-03".into())]);
        let p = utc_pieces("2026-02-28T18:30:00.000Z", "2026-03-01T18:30:00.000Z");
        assert_eq!(p, vec![Piece::Records("2026-02-28T18:30:00.000Z".into(), "2026-03-01T18:30:00.000Z".into())]);
        // West of UTC: the clinic's day starts after UTC's.
        let p = utc_pieces("2026-03-01T05:00:00.000Z", "2026-03-03T05:00:00.000Z");
        assert_eq!(
            p,
            vec![
                Piece::Records("2026-03-01T05:00:00.000Z".into(), "2026-03-02T00:00:00.000Z".into()),
                Piece::Days("2026-03-02".into(), "2026-03-03".into()),
                Piece::Records("2026-03-03T00:00:00.000Z".into(), "2026-03-03T05:00:00.000Z".into()),
            ]
        );
    }
}
