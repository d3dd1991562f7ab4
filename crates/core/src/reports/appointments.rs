//! Appointments by doctor: booked, attended, no-show, cancelled, and the wait from arrival
//! (check-in) to being called in.

use super::table::{col, num, opt, percent_bp, text, Kind, Table};
use super::{summary, DateRange, Scope};
use crate::error::Result;
use crate::store::Store;
use std::collections::BTreeMap;

#[derive(sqlx::FromRow)]
struct Row {
    doctor_id: String,
    doctor_name: String,
    department: Option<String>,
    status: String,
    n: i64,
}

#[derive(Default)]
struct Doctor {
    name: String,
    department: String,
    booked: i64,
    attended: i64,
    no_show: i64,
    cancelled: i64,
    /// (minutes, how many waits of that length), by minutes.
    waits: Vec<(i64, i64)>,
}

/// The summary's rows over the range joined to their doctor, narrowed by the scope; binds:
/// the summary's, then the doctor twice, then the department twice.
pub(crate) fn from_summary(rows: &str) -> String {
    format!(
        "FROM {rows} s
         JOIN staff st ON st.id = s.doctor_id
         LEFT JOIN departments d ON d.id = st.department_id
         WHERE (? IS NULL OR s.doctor_id = ?) AND (? IS NULL OR st.department_id = ?)"
    )
}

/// The nearest-rank percentile `p` (1..=100) of values given as (value, count) sorted by
/// value: the same as `table::nearest_rank` over the values written out.
pub fn nearest_rank_counted(sorted: &[(i64, i64)], p: u32) -> Option<i64> {
    let n: i64 = sorted.iter().map(|(_, c)| c).sum();
    if n <= 0 {
        return None;
    }
    let rank = ((n * i64::from(p) + 99) / 100).max(1);
    let mut seen = 0;
    for (v, c) in sorted {
        seen += c;
        if seen >= rank {
            return Some(*v);
        }
    }
    sorted.last().map(|(v, _)| *v)
}

pub(crate) async fn by_doctor(store: &Store, range: &DateRange, scope: &Scope) -> Result<Table> {
    // Counted by the triggers of migration 0028 (see `summary`): a row per day or month,
    // doctor and status, and per day or month, doctor and wait length.
    let (counts, count_binds) = summary::APPOINTMENTS.rows(range);
    let sql = format!(
        "SELECT s.doctor_id, st.full_name AS doctor_name, d.name AS department, s.status, SUM(s.n) AS n {}
         GROUP BY s.doctor_id, s.status HAVING SUM(s.n) <> 0",
        from_summary(&counts)
    );
    let mut q = sqlx::query_as::<_, Row>(&sql);
    for b in &count_binds {
        q = q.bind(b);
    }
    let rows: Vec<Row> = q
        .bind(&scope.doctor_id)
        .bind(&scope.doctor_id)
        .bind(&scope.department_id)
        .bind(&scope.department_id)
        .fetch_all(store.report_pool())
        .await?;
    let (waits, wait_binds) = summary::WAITS.rows(range);
    let sql = format!(
        "SELECT s.doctor_id, s.minutes, SUM(s.n) AS n {}
         GROUP BY s.doctor_id, s.minutes HAVING SUM(s.n) <> 0 ORDER BY s.minutes",
        from_summary(&waits)
    );
    let mut q = sqlx::query_as::<_, (String, i64, i64)>(&sql);
    for b in &wait_binds {
        q = q.bind(b);
    }
    let waits: Vec<(String, i64, i64)> = q
        .bind(&scope.doctor_id)
        .bind(&scope.doctor_id)
        .bind(&scope.department_id)
        .bind(&scope.department_id)
        .fetch_all(store.report_pool())
        .await?;
    let mut doctors: BTreeMap<String, Doctor> = BTreeMap::new();
    for r in rows {
        let d = doctors.entry(r.doctor_id).or_insert_with(|| Doctor {
            name: r.doctor_name,
            department: r.department.unwrap_or_default(),
            ..Default::default()
        });
        d.booked += r.n;
        match r.status.as_str() {
            "checked_in" | "with_doctor" | "done" => d.attended += r.n,
            "no_show" => d.no_show += r.n,
            "cancelled" => d.cancelled += r.n,
            _ => {}
        }
    }
    let mut all_waits: BTreeMap<i64, i64> = BTreeMap::new();
    for (doctor, m, n) in waits {
        if let Some(d) = doctors.get_mut(&doctor) {
            d.waits.push((m, n));
        }
        *all_waits.entry(m).or_default() += n;
    }
    let all_waits: Vec<(i64, i64)> = all_waits.into_iter().collect();
    let mut list: Vec<Doctor> = doctors.into_values().collect();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    let (mut booked, mut attended, mut no_show, mut cancelled) = (0, 0, 0, 0);
    let mut rows = Vec::with_capacity(list.len());
    for d in list {
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
            opt(nearest_rank_counted(&d.waits, 50)),
            opt(nearest_rank_counted(&d.waits, 90)),
        ]);
    }
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
            opt(nearest_rank_counted(&all_waits, 50)),
            opt(nearest_rank_counted(&all_waits, 90)),
        ]),
        figures: Vec::new(),
    })
}
