//! Patients: registrations by day, week or month; age bands and sex; new against returning.
//! A merged record is a duplicate of its survivor: it is never counted as a registration,
//! and its visits count as the survivor's.

use super::table::{col, num, opt, percent_bp, text, Kind, Table};
use super::{DateRange, Granularity};
use crate::error::{Error, Result};
use crate::store::Store;
use chrono::{Datelike, Days, Months, NaiveDate};
use std::collections::BTreeMap;

/// The first day of the period `day` falls in.
fn period_start(day: NaiveDate, g: Granularity) -> Option<NaiveDate> {
    match g {
        Granularity::Day => Some(day),
        Granularity::Week => day.checked_sub_days(Days::new(u64::from(day.weekday().num_days_from_monday()))),
        Granularity::Month => day.with_day(1),
    }
}

fn next_period(start: NaiveDate, g: Granularity) -> Option<NaiveDate> {
    match g {
        Granularity::Day => start.succ_opt(),
        Granularity::Week => start.checked_add_days(Days::new(7)),
        Granularity::Month => start.checked_add_months(Months::new(1)),
    }
}

fn period_label(start: NaiveDate, g: Granularity) -> String {
    match g {
        Granularity::Month => start.format("%Y-%m").to_string(),
        _ => start.format("%Y-%m-%d").to_string(),
    }
}

const REGISTERED: &str =
    "FROM patients WHERE created_at >= ? AND created_at < ? AND status <> 'merged' AND deleted_at IS NULL";

pub(crate) async fn registrations(store: &Store, range: &DateRange, g: Granularity) -> Result<Table> {
    let mut counts: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    let internal = || Error::internal("date out of the calendar");
    let mut p = period_start(range.from, g).ok_or_else(internal)?;
    while p <= range.to {
        counts.insert(p, 0);
        p = next_period(p, g).ok_or_else(internal)?;
    }
    // Counted by the UTC minute in the database (time zones are whole minutes off UTC), each
    // minute then put on its local day.
    let (from, to) = range.instants()?;
    let minutes: Vec<(String, i64)> =
        sqlx::query_as(&format!("SELECT substr(created_at, 1, 16) AS minute, COUNT(*) {REGISTERED} GROUP BY minute"))
            .bind(&from)
            .bind(&to)
            .fetch_all(store.pool())
            .await?;
    let mut total = 0;
    for (minute, n) in minutes {
        let Some(day) = range.local_date(&format!("{minute}:00Z")) else { continue };
        let start = period_start(day, g).ok_or_else(internal)?;
        *counts.entry(start).or_default() += n;
        total += n;
    }
    Ok(Table {
        columns: vec![col("period", "Period", Kind::Text), col("registered", "Registered", Kind::Count)],
        rows: counts.into_iter().map(|(p, n)| vec![text(period_label(p, g)), num(n)]).collect(),
        totals: Some(vec![text("Total"), num(total)]),
        figures: Vec::new(),
    })
}

/// Age bands (whole years on the range's last day): the label and the lowest age.
pub const AGE_BANDS: [(&str, u32); 6] =
    [("0–4", 0), ("5–14", 5), ("15–24", 15), ("25–44", 25), ("45–64", 45), ("65+", 65)];
const SEXES: [&str; 4] = ["female", "male", "other", "unknown"];

/// Whole years from `birth` to `on` (None before birth).
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> Option<u32> {
    let mut years = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    u32::try_from(years).ok()
}

/// The band of each registration, worked out in SQL (so a year's records group into a few
/// dozen rows): a canonical `YYYY-MM-DD` birth date is compared with the range's last day
/// moved back by each band's lowest age (`age_on`'s rule as a string comparison: the age is at
/// least `k` exactly when the birth date is on or before that day `k` years earlier — for 29
/// February the comparison with a day that does not exist in that year still orders right).
/// Anything else (no date, or one SQLite does not read back as itself) comes out as `raw` and
/// is banded in Rust as before. Binds: the flag "band in Rust", the last day, the cut-offs
/// from the oldest band down, the flag again.
fn band_sql() -> String {
    let mut case = String::from(
        "CASE WHEN ? OR birth_date IS NULL OR date(birth_date) IS NOT birth_date THEN NULL WHEN birth_date > ? THEN -1",
    );
    for i in (1..AGE_BANDS.len()).rev() {
        case.push_str(&format!(" WHEN birth_date <= ? THEN {i}"));
    }
    case.push_str(" ELSE 0 END");
    format!(
        "SELECT sex, {case} AS band, CASE WHEN birth_date IS NOT NULL AND (? OR date(birth_date) IS NOT birth_date) THEN birth_date END AS raw,
                COUNT(*) {REGISTERED} GROUP BY sex, band, raw"
    )
}

/// The cut-offs of `band_sql`: the last day `k` years back for each band's lowest age `k`
/// above 0, oldest first; None when a year would not have four digits (then Rust bands all).
fn band_cutoffs(on: NaiveDate) -> Option<Vec<String>> {
    let mut out = Vec::with_capacity(AGE_BANDS.len());
    for (_, low) in AGE_BANDS.iter().skip(1).rev() {
        let year = on.year() - i32::try_from(*low).ok()?;
        if !(1000..=9999).contains(&year) || on.year() > 9999 {
            return None;
        }
        out.push(format!("{year:04}-{}", on.format("%m-%d")));
    }
    Some(out)
}

pub(crate) async fn demographics(store: &Store, range: &DateRange) -> Result<Table> {
    // Rows: the bands, then "Unknown" (no or a future birth date).
    let mut grid = vec![[0i64; 4]; AGE_BANDS.len() + 1];
    let (from, to) = range.instants()?;
    let cutoffs = band_cutoffs(range.to);
    let sql = band_sql();
    let mut q = sqlx::query_as(&sql).bind(cutoffs.is_none()).bind(range.to_ymd());
    let in_rust = cutoffs.is_none();
    for c in cutoffs.unwrap_or_else(|| vec![String::new(); AGE_BANDS.len() - 1]) {
        q = q.bind(c);
    }
    let groups: Vec<(String, Option<i64>, Option<String>, i64)> =
        q.bind(in_rust).bind(&from).bind(&to).fetch_all(store.pool()).await?;
    for (sex, band, raw, n) in groups {
        let band = match band {
            Some(b) => usize::try_from(b).unwrap_or(AGE_BANDS.len()),
            None => {
                let age =
                    raw.and_then(|b| NaiveDate::parse_from_str(&b, "%Y-%m-%d").ok()).and_then(|b| age_on(b, range.to));
                match age {
                    Some(a) => AGE_BANDS.iter().rposition(|(_, low)| a >= *low).unwrap_or(0),
                    None => AGE_BANDS.len(),
                }
            }
        };
        let s = SEXES.iter().position(|x| *x == sex).unwrap_or(3);
        grid[band][s] += n;
    }
    let labels = AGE_BANDS.iter().map(|(l, _)| *l).chain(["Unknown"]);
    let mut totals = [0i64; 4];
    let rows = labels
        .zip(&grid)
        .map(|(label, cells)| {
            for (t, c) in totals.iter_mut().zip(cells) {
                *t += c;
            }
            let mut row = vec![text(label)];
            row.extend(cells.iter().map(|c| num(*c)));
            row.push(num(cells.iter().sum()));
            row
        })
        .collect();
    let mut total_row = vec![text("Total")];
    total_row.extend(totals.iter().map(|c| num(*c)));
    total_row.push(num(totals.iter().sum()));
    Ok(Table {
        columns: vec![
            col("age_band", "Age band", Kind::Text),
            col("female", "Female", Kind::Count),
            col("male", "Male", Kind::Count),
            col("other", "Other", Kind::Count),
            col("unknown", "Unknown", Kind::Count),
            col("total", "Total", Kind::Count),
        ],
        rows,
        totals: Some(total_row),
        figures: Vec::new(),
    })
}

/// (people seen, of whom new) in the range: see `new_returning`. Each person seen (merged
/// records resolve to their survivor) is new when their first attended appointment ever (among
/// all their records) is in the range; read from the people-seen chain (migration 0052).
pub(crate) async fn new_returning_counts(store: &Store, range: &DateRange) -> Result<(i64, i64)> {
    let seen = super::seen::everyone(store, range).await?;
    Ok((seen.people, seen.new))
}

pub(crate) async fn new_returning(store: &Store, range: &DateRange) -> Result<Table> {
    let (total, new) = new_returning_counts(store, range).await?;
    let returning = total - new;
    Ok(Table {
        columns: vec![
            col("group", "Patients", Kind::Text),
            col("patients", "Count", Kind::Count),
            col("share", "Share", Kind::Percent),
        ],
        rows: vec![
            vec![text("New"), num(new), opt(percent_bp(new, total))],
            vec![text("Returning"), num(returning), opt(percent_bp(returning, total))],
        ],
        totals: Some(vec![text("Total"), num(total), opt(percent_bp(total, total))]),
        figures: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bands worked out in SQL equal `age_on` for births at every edge: on the birthday,
    /// the day before and after, 29 February against a 28 February, a future birth, none, and
    /// dates SQLite does not read back as themselves (banded in Rust).
    #[tokio::test]
    async fn sql_bands_equal_age_on_at_every_edge() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in_dir(dir.path()).await.unwrap();
        let mut births: Vec<Option<String>> = vec![None, Some("2023-02-30".into()), Some("2020-2-5".into())];
        for on in ["2027-02-28", "2028-02-29", "2026-03-01", "2026-12-31"] {
            let on = NaiveDate::parse_from_str(on, "%Y-%m-%d").unwrap();
            for (_, low) in AGE_BANDS {
                for shift in [-1i64, 0, 1] {
                    let Some(day) = on.with_year(on.year() - i32::try_from(low).unwrap()).or_else(|| on.pred_opt())
                    else {
                        continue;
                    };
                    births.push(Some((day + chrono::Duration::days(shift)).to_string()));
                }
            }
            births.push(Some("2020-02-29".into()));
            births.push(Some((on + chrono::Duration::days(1)).to_string()));
        }
        for (i, birth) in births.iter().enumerate() {
            sqlx::query(
                "INSERT INTO patients (id, mrn, given_name, sex, birth_date, created_at, updated_at, origin_device)
                 VALUES (?, ?, 'X', ?, ?, '2026-01-01T00:00:00.000Z', 't', 'd')",
            )
            .bind(format!("p{i}"))
            .bind(format!("M{i}"))
            .bind(SEXES[i % 4])
            .bind(birth)
            .execute(store.pool())
            .await
            .unwrap();
        }
        for on in ["2027-02-28", "2028-02-29", "2026-03-01", "2026-12-31", "2026-06-01"] {
            let to = NaiveDate::parse_from_str(on, "%Y-%m-%d").unwrap();
            let from = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
            let range = DateRange { from, to, tz: chrono_tz::UTC };
            let mut want = vec![vec![0i64; 5]; AGE_BANDS.len() + 1];
            for (i, birth) in births.iter().enumerate() {
                let age = birth
                    .as_deref()
                    .and_then(|b| NaiveDate::parse_from_str(b, "%Y-%m-%d").ok())
                    .and_then(|b| age_on(b, to));
                let band = age.map_or(AGE_BANDS.len(), |a| AGE_BANDS.iter().rposition(|(_, l)| a >= *l).unwrap());
                want[band][i % 4] += 1;
                want[band][4] += 1;
            }
            let table = demographics(&store, &range).await.unwrap();
            let got: Vec<Vec<i64>> = table
                .rows
                .iter()
                .map(|r| {
                    r[1..]
                        .iter()
                        .map(|c| if let super::super::table::Cell::Number(n) = c { *n } else { panic!("{c:?}") })
                        .collect()
                })
                .collect();
            assert_eq!(got, want, "on {on}");
        }
    }
}
