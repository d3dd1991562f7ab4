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

pub(crate) async fn demographics(store: &Store, range: &DateRange) -> Result<Table> {
    // Rows: the bands, then "Unknown" (no or a future birth date).
    let mut grid = vec![[0i64; 4]; AGE_BANDS.len() + 1];
    let (from, to) = range.instants()?;
    let groups: Vec<(String, Option<String>, i64)> =
        sqlx::query_as(&format!("SELECT sex, birth_date, COUNT(*) {REGISTERED} GROUP BY sex, birth_date"))
            .bind(&from)
            .bind(&to)
            .fetch_all(store.pool())
            .await?;
    for (sex, birth, n) in groups {
        let age = birth.and_then(|b| NaiveDate::parse_from_str(&b, "%Y-%m-%d").ok()).and_then(|b| age_on(b, range.to));
        let band = match age {
            Some(a) => AGE_BANDS.iter().rposition(|(_, low)| a >= *low).unwrap_or(0),
            None => AGE_BANDS.len(),
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

/// (people seen, of whom new) in the range: see `new_returning`.
pub(crate) async fn new_returning_counts(store: &Store, range: &DateRange) -> Result<(i64, i64)> {
    let (from, to) = range.instants()?;
    // Each person seen (merged records resolve to their survivor), new when the first
    // registration among the person's records is in the range. Read from the people-seen
    // summary (migration 0042): its months and edge days, one row per person and day or month.
    let (rows, binds) = super::summary::SEEN.rows(range);
    let sql = format!(
        "SELECT COUNT(*), SUM(first >= ? AND first < ?)
         FROM (SELECT person, MIN(first) AS first FROM {rows} WHERE n > 0 GROUP BY person)"
    );
    let mut q = sqlx::query_as(&sql).bind(&from).bind(&to);
    for b in binds {
        q = q.bind(b);
    }
    let (total, new): (i64, Option<i64>) = q.fetch_one(store.pool()).await?;
    Ok((total, new.unwrap_or(0)))
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
