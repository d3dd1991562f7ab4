//! Busiest hours: attended appointments (checked in or later) by the weekday of their date
//! and the hour their slot starts, both the clinic's local time as booked — a grid of
//! weekday × hour that the screen draws as a heat map. The hours shown run from the earliest
//! to the latest hour with an appointment (the whole day when there are none).

use super::table::{col, num, text, Column, Kind, Table};
use super::{DateRange, Scope};
use crate::error::Result;
use crate::store::Store;
use chrono::{Datelike, NaiveDate};

pub const WEEKDAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// Attended appointments by local date and start hour; binds: from, to, doctor twice,
/// department twice. (The covering index of migration 0038 holds every column read.)
const BY_DATE_HOUR: &str = "SELECT a.date, a.start_min / 60 AS hour, COUNT(*) AS n
     FROM appointments a INDEXED BY appointments_date_hour
     WHERE a.date >= ? AND a.date <= ? AND a.status IN ('checked_in', 'with_doctor', 'done') AND a.deleted_at IS NULL
       AND (? IS NULL OR a.doctor_id = ?)
       AND (? IS NULL OR a.doctor_id IN (SELECT id FROM staff WHERE department_id = ?))
     GROUP BY a.date, hour";

/// The column key of an hour: "h07".
pub fn hour_key(hour: usize) -> String {
    format!("h{hour:02}")
}

pub(crate) async fn busiest(store: &Store, range: &DateRange, scope: &Scope) -> Result<Table> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(BY_DATE_HOUR)
        .bind(range.from_ymd())
        .bind(range.to_ymd())
        .bind(&scope.doctor_id)
        .bind(&scope.doctor_id)
        .bind(&scope.department_id)
        .bind(&scope.department_id)
        .fetch_all(store.pool())
        .await?;
    let mut grid = [[0i64; 24]; 7];
    for (date, hour, n) in rows {
        // A date that does not read, or an hour off the clock, cannot be placed: left out.
        let Ok(day) = NaiveDate::parse_from_str(&date, "%Y-%m-%d") else { continue };
        let Some(cell) =
            usize::try_from(hour).ok().and_then(|h| grid[day.weekday().num_days_from_monday() as usize].get_mut(h))
        else {
            continue;
        };
        *cell += n;
    }
    let busy: Vec<usize> = (0..24).filter(|h| grid.iter().any(|d| d[*h] > 0)).collect();
    let (first, last) = match (busy.first(), busy.last()) {
        (Some(f), Some(l)) => (*f, *l),
        _ => (0, 23),
    };
    let mut columns: Vec<Column> = vec![col("weekday", "Weekday", Kind::Text)];
    columns.extend((first..=last).map(|h| col(&hour_key(h), &format!("{h:02}:00"), Kind::Count)));
    columns.push(col("total", "Total", Kind::Count));
    let mut totals = vec![0i64; last - first + 1];
    let mut out = Vec::with_capacity(7);
    for (name, day) in WEEKDAYS.iter().zip(&grid) {
        let mut row = vec![text(*name)];
        for (t, h) in totals.iter_mut().zip(first..=last) {
            *t += day[h];
            row.push(num(day[h]));
        }
        row.push(num(day[first..=last].iter().sum()));
        out.push(row);
    }
    let mut total_row = vec![text("Total")];
    total_row.extend(totals.iter().map(|n| num(*n)));
    total_row.push(num(totals.iter().sum()));
    Ok(Table { columns, rows: out, totals: Some(total_row), figures: Vec::new() })
}
