//! Busiest hours: attended appointments (checked in or later) by the weekday of their date
//! and the hour their slot starts, both the clinic's local time as booked — a grid of
//! weekday × hour that the screen draws as a heat map. The hours shown run from the earliest
//! to the latest hour with an appointment (the whole day when there are none). Read from the
//! busiest-hours summary (migration 0053), kept by triggers.

use super::table::{col, num, text, Column, Kind, Table};
use super::{summary, DateRange, Scope};
use crate::error::Result;
use crate::store::Store;

pub const WEEKDAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// Attended appointments by weekday (0 Monday) and start hour, from the busiest-hours summary
/// (migration 0053): the range's whole months and edge days; binds: the summary's, then doctor
/// twice, department twice.
fn by_weekday_hour(range: &DateRange) -> (String, Vec<String>) {
    let (rows, binds) = summary::HOURS.rows(range);
    let sql = format!(
        "SELECT a.weekday, a.hour, SUM(a.n) FROM {rows} a
         WHERE (? IS NULL OR a.doctor_id = ?) AND (? IS NULL OR a.doctor_id IN (SELECT id FROM staff WHERE department_id = ?))
         GROUP BY a.weekday, a.hour"
    );
    (sql, binds)
}

/// The column key of an hour: "h07".
pub fn hour_key(hour: usize) -> String {
    format!("h{hour:02}")
}

pub(crate) async fn busiest(store: &Store, range: &DateRange, scope: &Scope) -> Result<Table> {
    let (sql, binds) = by_weekday_hour(range);
    let rows: Vec<(i64, i64, i64)> = summary::bind_all(sqlx::query_as(&sql), &binds)
        .bind(&scope.doctor_id)
        .bind(&scope.doctor_id)
        .bind(&scope.department_id)
        .bind(&scope.department_id)
        .fetch_all(store.report_pool())
        .await?;
    let mut grid = [[0i64; 24]; 7];
    for (weekday, hour, n) in rows {
        // The summary holds only placeable appointments (a canonical date, an hour on the clock).
        let cell = usize::try_from(weekday)
            .ok()
            .zip(usize::try_from(hour).ok())
            .and_then(|(d, h)| grid.get_mut(d).and_then(|row| row.get_mut(h)));
        if let Some(cell) = cell {
            *cell += n;
        }
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
