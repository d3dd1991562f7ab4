//! Doctor performance: per doctor over the range, the people seen (new to the doctor or
//! coming back), consultations, the average consultation, what was invoiced for their
//! appointments, how often they asked for a follow-up, and their no-show rate.
//!
//! Definitions (from what the records hold):
//! - seen: distinct people (merged records are their survivor) with an attended appointment
//!   (checked in or later) on a day of the range; consultations: those appointments;
//! - new: seen, and the person's first attended appointment ever with this doctor (among all
//!   their records) is in the range; follow-up: seen − new;
//! - consultation time: from being called in (`called_at`) to being marked done (`done_at`),
//!   over done appointments with both (and done after called), averaged in seconds and shown
//!   to the nearest whole minute;
//! - revenue: revenue by doctor's total (lines of finalised invoices charged for the doctor's
//!   appointments);
//! - follow-up rate: the doctor's visits started in the range that set a follow-up date ÷ their
//!   visits started in the range;
//! - no-show rate: no-shows ÷ appointments booked and not cancelled (as appointments by doctor).

use super::table::{col, num, opt, percent_bp, text, Kind, Table};
use super::{appointments, pieces, summary, DateRange, Scope};
use crate::error::Result;
use crate::store::Store;
use std::collections::BTreeMap;

/// The narrowing of a query on `a.doctor_id` (or `v.doctor_id`) by the scope; binds: doctor
/// twice, department twice.
fn scoped(column: &str) -> String {
    format!("(? IS NULL OR {column} = ?) AND (? IS NULL OR {column} IN (SELECT id FROM staff WHERE department_id = ?))")
}

#[derive(Default)]
struct Doctor {
    name: String,
    department: String,
    seen: i64,
    new: i64,
    consultations: i64,
    /// (done consultations timed, their seconds).
    timed: (i64, i64),
    revenue: i64,
    /// (visits, visits with a follow-up date).
    visits: (i64, i64),
    /// (booked and not cancelled, no-shows).
    kept: (i64, i64),
}

/// Average seconds as whole minutes, half up; None for no consultations.
pub fn average_minutes(count: i64, seconds: i64) -> Option<i64> {
    (count > 0).then(|| (seconds * 2 + 60 * count) / (120 * count))
}

/// Per doctor in the scope: (people seen, attended appointments, new to the doctor), from the
/// people-seen chain (migration 0052).
async fn seen(store: &Store, range: &DateRange, scope: &Scope) -> Result<Vec<(String, i64, i64, i64)>> {
    let doctors = super::seen::by_doctor(store, range).await?;
    let sql = format!("SELECT id FROM staff a WHERE {}", scoped("a.id"));
    let inside: Vec<String> = sqlx::query_scalar(&sql)
        .bind(&scope.doctor_id)
        .bind(&scope.doctor_id)
        .bind(&scope.department_id)
        .bind(&scope.department_id)
        .fetch_all(store.report_pool())
        .await?;
    let inside: std::collections::HashSet<String> = inside.into_iter().collect();
    Ok(doctors
        .into_iter()
        .filter(|d| inside.contains(&d.key))
        .map(|d| (d.key, d.people, d.appointments, d.new))
        .collect())
}

/// Per doctor: (done consultations timed, their seconds), from the consultations summary
/// (migration 0052).
async fn timed(store: &Store, range: &DateRange, scope: &Scope) -> Result<Vec<(String, i64, i64)>> {
    let (rows, binds) = summary::CONSULTATIONS.rows(range);
    let sql = format!(
        "SELECT a.doctor_id, SUM(a.n), SUM(a.seconds) FROM {rows} a WHERE {} GROUP BY a.doctor_id HAVING SUM(a.n) <> 0",
        scoped("a.doctor_id")
    );
    Ok(summary::bind_all(sqlx::query_as(&sql), &binds)
        .bind(&scope.doctor_id)
        .bind(&scope.doctor_id)
        .bind(&scope.department_id)
        .bind(&scope.department_id)
        .fetch_all(store.report_pool())
        .await?)
}

/// The visits over whole UTC days, from their summary (migration 0052); binds: the first day,
/// the day after the last.
const VISITS_DAYS: &str = "SELECT doctor_id, n, asked FROM report_follow_ups_day WHERE day >= ? AND day < ? AND n <> 0";

/// The visits at a range's edges; binds: the two instants.
const VISITS_RECORDS: &str =
    "SELECT v.doctor_id, 1 AS n, (v.follow_up_date IS NOT NULL AND v.follow_up_date <> '') AS asked
     FROM visits v INDEXED BY visits_started WHERE v.started_at >= ? AND v.started_at < ? AND v.deleted_at IS NULL";

/// Per doctor: (visits started in the range, of which set a follow-up date).
async fn follow_ups(store: &Store, range: &DateRange, scope: &Scope) -> Result<Vec<(String, i64, i64)>> {
    let (from, to) = range.instants()?;
    let (visits, binds) = pieces::union(&pieces::utc_pieces(&from, &to), VISITS_DAYS, VISITS_RECORDS, VISITS_RECORDS);
    let sql = format!(
        "SELECT v.doctor_id, SUM(v.n), SUM(v.asked) FROM ({visits}) v WHERE {} GROUP BY v.doctor_id HAVING SUM(v.n) <> 0",
        scoped("v.doctor_id")
    );
    Ok(summary::bind_all(sqlx::query_as(&sql), &binds)
        .bind(&scope.doctor_id)
        .bind(&scope.doctor_id)
        .bind(&scope.department_id)
        .bind(&scope.department_id)
        .fetch_all(store.report_pool())
        .await?)
}

/// Per doctor: (booked and not cancelled, no-shows), from the appointments summary.
async fn kept(store: &Store, range: &DateRange, scope: &Scope) -> Result<Vec<(String, i64, i64)>> {
    let (rows, binds) = summary::APPOINTMENTS.rows(range);
    let sql = format!(
        "SELECT s.doctor_id, SUM(CASE WHEN s.status <> 'cancelled' THEN s.n ELSE 0 END),
                SUM(CASE WHEN s.status = 'no_show' THEN s.n ELSE 0 END) {}
         GROUP BY s.doctor_id",
        appointments::from_summary(&rows)
    );
    let mut q = sqlx::query_as::<_, (String, i64, i64)>(&sql);
    for b in &binds {
        q = q.bind(b);
    }
    Ok(q.bind(&scope.doctor_id)
        .bind(&scope.doctor_id)
        .bind(&scope.department_id)
        .bind(&scope.department_id)
        .fetch_all(store.report_pool())
        .await?)
}

pub(crate) async fn by_doctor(store: &Store, range: &DateRange, scope: &Scope) -> Result<Table> {
    let mut doctors: BTreeMap<String, Doctor> = BTreeMap::new();
    for (d, seen, consultations, new) in seen(store, range, scope).await? {
        let e = doctors.entry(d).or_default();
        (e.seen, e.consultations, e.new) = (seen, consultations, new);
    }
    for (d, n, secs) in timed(store, range, scope).await? {
        doctors.entry(d).or_default().timed = (n, secs);
    }
    for (d, n, asked) in follow_ups(store, range, scope).await? {
        doctors.entry(d).or_default().visits = (n, asked);
    }
    for (d, booked, no_show) in kept(store, range, scope).await? {
        doctors.entry(d).or_default().kept = (booked, no_show);
    }
    for (d, total) in super::revenue::totals_by_doctor(store, range, scope).await? {
        doctors.entry(d).or_default().revenue = total;
    }
    let names: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT st.id, st.full_name, d.name FROM staff st LEFT JOIN departments d ON d.id = st.department_id WHERE st.role = 'doctor'",
    )
    .fetch_all(store.report_pool())
    .await?;
    for (id, name, dept) in names {
        if let Some(d) = doctors.get_mut(&id) {
            d.name = name;
            d.department = dept.unwrap_or_default();
        }
    }
    let mut list: Vec<Doctor> = doctors.into_values().filter(|d| !d.name.is_empty()).collect();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    let mut all = Doctor { name: "Total".into(), ..Default::default() };
    let mut rows = Vec::with_capacity(list.len());
    for d in &list {
        all.seen += d.seen;
        all.new += d.new;
        all.consultations += d.consultations;
        all.timed = (all.timed.0 + d.timed.0, all.timed.1 + d.timed.1);
        all.revenue += d.revenue;
        all.visits = (all.visits.0 + d.visits.0, all.visits.1 + d.visits.1);
        all.kept = (all.kept.0 + d.kept.0, all.kept.1 + d.kept.1);
        rows.push(cells(d));
    }
    Ok(Table {
        columns: vec![
            col("doctor", "Doctor", Kind::Text),
            col("department", "Department", Kind::Text),
            col("seen", "Patients seen", Kind::Count),
            col("new", "New", Kind::Count),
            col("follow_up", "Follow-up", Kind::Count),
            col("consultations", "Consultations", Kind::Count),
            col("consult_avg", "Consultation, average", Kind::Minutes),
            col("revenue", "Revenue", Kind::Money),
            col("follow_up_rate", "Follow-ups asked", Kind::Percent),
            col("no_show_rate", "No-show rate", Kind::Percent),
        ],
        rows,
        totals: Some(cells(&all)),
        figures: Vec::new(),
    })
}

fn cells(d: &Doctor) -> Vec<super::Cell> {
    vec![
        text(&d.name),
        text(&d.department),
        num(d.seen),
        num(d.new),
        num(d.seen - d.new),
        num(d.consultations),
        opt(average_minutes(d.timed.0, d.timed.1)),
        num(d.revenue),
        opt(percent_bp(d.visits.1, d.visits.0)),
        opt(percent_bp(d.kept.1, d.kept.0)),
    ]
}
