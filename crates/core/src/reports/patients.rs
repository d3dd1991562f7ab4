//! Patients: registrations by day, week or month; age bands and sex; new against returning.
//! A merged record is a duplicate of its survivor: it is never counted as a registration,
//! and its visits count as the survivor's.

use super::table::{col, num, opt, percent_bp, text, Kind, Table};
use super::{registered, DateRange, Granularity};
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

pub(crate) async fn registrations(store: &Store, range: &DateRange, g: Granularity) -> Result<Table> {
    let mut counts: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    let internal = || Error::internal("date out of the calendar");
    let mut p = period_start(range.from, g).ok_or_else(internal)?;
    while p <= range.to {
        counts.insert(p, 0);
        p = next_period(p, g).ok_or_else(internal)?;
    }
    // Counted by the UTC quarter hour (a clinic's midnight is on one), read from the counts
    // kept by migration 0055; each quarter (or minute, off the quarters) then put on its local day.
    let (from, to) = range.instants()?;
    let mut total = 0;
    for (period, _, n) in registered::counts(store, registered::Kind::Registrations, &from, &to).await? {
        let Some(day) = range.local_date(&format!("{period}:00Z")) else { continue };
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

/// The band of an age (None: no age, a birth after the day).
fn band_of(age: Option<i64>) -> usize {
    match age.and_then(|a| u32::try_from(a).ok()) {
        Some(a) => AGE_BANDS.iter().rposition(|(_, low)| a >= *low).unwrap_or(0),
        None => AGE_BANDS.len(),
    }
}

/// The grid of registrations in the range: rows the bands then "Unknown", columns `SEXES`.
/// The counts hold each registration's birth year (migration 0055): the age on the range's
/// last day is the years between, less one when the birthday is after that day in the year —
/// which changes the band only in the years `on.year() - k` for a band's lowest age `k` (and
/// the year `on` itself, where a later birthday is a birth after the day). Those years' births
/// up to the day are counted from the records (`registered::born_between`). A birth date SQLite
/// does not read back as itself is banded by `age_on` as typed (none: "Unknown").
async fn demographic_grid(store: &Store, range: &DateRange) -> Result<Vec<[i64; 4]>> {
    let on = range.to;
    let (from, to) = range.instants()?;
    let edges: Vec<i32> =
        AGE_BANDS.iter().filter_map(|(_, low)| i32::try_from(*low).ok()).map(|k| on.year() - k).collect();
    let spans: Vec<(String, String)> = edges
        .iter()
        .filter(|y| (0..=9999).contains(*y))
        .map(|y| (format!("{y:04}-01-01"), format!("{y:04}-{}", on.format("%m-%d"))))
        .collect();
    // (year, sex) → registrations born that year on or before the day of `on`.
    let mut by_day: BTreeMap<(i32, String), i64> = BTreeMap::new();
    for (year, sex, n) in registered::born_between(store, &from, &to, &spans).await? {
        *by_day.entry((year.parse().unwrap_or(i32::MIN), sex)).or_default() += n;
    }
    // The counts come a row per period: summed first, as the years on the edges are split.
    let mut births: BTreeMap<(String, String), i64> = BTreeMap::new();
    for (sex, born, n) in registered::counts(store, registered::Kind::Births, &from, &to).await? {
        *births.entry((sex, born)).or_default() += n;
    }
    let mut grid = vec![[0i64; 4]; AGE_BANDS.len() + 1];
    for ((sex, born), n) in births {
        let s = SEXES.iter().position(|x| *x == sex).unwrap_or(3);
        if let Some(raw) = born.strip_prefix('~') {
            let age = NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok().and_then(|b| age_on(b, on));
            grid[band_of(age.map(i64::from))][s] += n;
            continue;
        }
        let Ok(year) = born.parse::<i32>() else {
            grid[AGE_BANDS.len()][s] += n;
            continue;
        };
        let years = i64::from(on.year()) - i64::from(year);
        if edges.contains(&year) {
            let on_or_before = by_day.get(&(year, sex.clone())).copied().unwrap_or(0);
            grid[band_of(Some(years))][s] += on_or_before;
            grid[band_of(Some(years - 1))][s] += n - on_or_before;
        } else {
            grid[band_of(Some(years))][s] += n;
        }
    }
    Ok(grid)
}

pub(crate) async fn demographics(store: &Store, range: &DateRange) -> Result<Table> {
    // Rows: the bands, then "Unknown" (no or a future birth date).
    let grid = demographic_grid(store, range).await?;
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

    /// The bands worked out from the counts equal `age_on` for births at every edge: on the birthday,
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
        // Registered at the first UTC midnight of 2026 (a whole day of every range), and in
        // the morning of 1 March 2026 (in Kolkata, a quarter hour of the range's last day).
        for (i, birth) in births.iter().enumerate() {
            let at = if i % 3 == 0 { "2026-03-01T04:20:00.000Z" } else { "2026-01-01T00:00:00.000Z" };
            sqlx::query(
                "INSERT INTO patients (id, mrn, given_name, sex, birth_date, created_at, updated_at, origin_device)
                 VALUES (?, ?, 'X', ?, ?, ?, 't', 'd')",
            )
            .bind(format!("p{i}"))
            .bind(format!("M{i}"))
            .bind(SEXES[i % 4])
            .bind(birth)
            .bind(at)
            .execute(store.report_pool())
            .await
            .unwrap();
        }
        let cases = ["2027-02-28", "2028-02-29", "2026-03-01", "2026-12-31", "2026-06-01"]
            .into_iter()
            .flat_map(|on| [(on, chrono_tz::UTC), (on, chrono_tz::Asia::Kolkata)]);
        for (on, tz) in cases {
            let to = NaiveDate::parse_from_str(on, "%Y-%m-%d").unwrap();
            let from = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
            let range = DateRange { from, to, tz };
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
            assert_eq!(got, want, "on {on} in {tz}");
        }
    }
}
