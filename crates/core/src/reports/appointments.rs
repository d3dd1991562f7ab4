//! Appointments by doctor: booked, attended, no-show, cancelled, and the wait from arrival
//! (check-in) to being called in.

use super::table::{col, nearest_rank, num, opt, percent_bp, text, Kind, Table};
use super::{DateRange, Scope};
use crate::error::Result;
use crate::store::Store;
use std::collections::BTreeMap;

#[derive(sqlx::FromRow)]
struct Row {
    doctor_id: String,
    doctor_name: String,
    department: Option<String>,
    status: String,
    checked_in_at: Option<String>,
    called_at: Option<String>,
}

#[derive(Default)]
struct Doctor {
    name: String,
    department: String,
    booked: i64,
    attended: i64,
    no_show: i64,
    cancelled: i64,
    waits: Vec<i64>,
}

/// Whole minutes from one stored instant to another (None when either is unreadable or the
/// second is before the first).
fn minutes_between(a: &str, b: &str) -> Option<i64> {
    let a = chrono::DateTime::parse_from_rfc3339(a).ok()?;
    let b = chrono::DateTime::parse_from_rfc3339(b).ok()?;
    let m = (b - a).num_minutes();
    (m >= 0).then_some(m)
}

pub(crate) async fn by_doctor(store: &Store, range: &DateRange, scope: &Scope) -> Result<Table> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT a.doctor_id, st.full_name AS doctor_name, d.name AS department, a.status, a.checked_in_at, a.called_at
         FROM appointments a
         JOIN staff st ON st.id = a.doctor_id
         LEFT JOIN departments d ON d.id = st.department_id
         WHERE a.date >= ? AND a.date <= ? AND a.deleted_at IS NULL
           AND (? IS NULL OR a.doctor_id = ?) AND (? IS NULL OR st.department_id = ?)",
    )
    .bind(range.from_ymd())
    .bind(range.to_ymd())
    .bind(&scope.doctor_id)
    .bind(&scope.doctor_id)
    .bind(&scope.department_id)
    .bind(&scope.department_id)
    .fetch_all(store.pool())
    .await?;
    let mut doctors: BTreeMap<String, Doctor> = BTreeMap::new();
    let mut all_waits = Vec::new();
    for r in rows {
        let d = doctors.entry(r.doctor_id).or_insert_with(|| Doctor {
            name: r.doctor_name,
            department: r.department.unwrap_or_default(),
            ..Default::default()
        });
        d.booked += 1;
        match r.status.as_str() {
            "checked_in" | "with_doctor" | "done" => d.attended += 1,
            "no_show" => d.no_show += 1,
            "cancelled" => d.cancelled += 1,
            _ => {}
        }
        if let (Some(a), Some(b)) = (&r.checked_in_at, &r.called_at) {
            if let Some(m) = minutes_between(a, b) {
                d.waits.push(m);
                all_waits.push(m);
            }
        }
    }
    let mut list: Vec<Doctor> = doctors.into_values().collect();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    let (mut booked, mut attended, mut no_show, mut cancelled) = (0, 0, 0, 0);
    let mut rows = Vec::with_capacity(list.len());
    for mut d in list {
        d.waits.sort_unstable();
        booked += d.booked;
        attended += d.attended;
        no_show += d.no_show;
        cancelled += d.cancelled;
        rows.push(vec![
            text(d.name),
            text(d.department),
            num(d.booked),
            num(d.attended),
            num(d.no_show),
            num(d.cancelled),
            opt(percent_bp(d.no_show, d.booked - d.cancelled)),
            opt(nearest_rank(&d.waits, 50)),
            opt(nearest_rank(&d.waits, 90)),
        ]);
    }
    all_waits.sort_unstable();
    Ok(Table {
        columns: vec![
            col("doctor", "Doctor", Kind::Text),
            col("department", "Department", Kind::Text),
            col("booked", "Booked", Kind::Count),
            col("attended", "Attended", Kind::Count),
            col("no_show", "No-show", Kind::Count),
            col("cancelled", "Cancelled", Kind::Count),
            col("no_show_rate", "No-show rate", Kind::Percent),
            col("wait_median", "Wait, median", Kind::Minutes),
            col("wait_p90", "Wait, 90th percentile", Kind::Minutes),
        ],
        rows,
        totals: Some(vec![
            text("Total"),
            text(""),
            num(booked),
            num(attended),
            num(no_show),
            num(cancelled),
            opt(percent_bp(no_show, booked - cancelled)),
            opt(nearest_rank(&all_waits, 50)),
            opt(nearest_rank(&all_waits, 90)),
        ]),
        figures: Vec::new(),
    })
}
