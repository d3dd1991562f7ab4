//! Busiest hours: the weekday × hour grid against a count done here over appointments built
//! by hand (March 2026): attended, booked, cancelled, no-show and deleted ones, the range's
//! first and last days and the days either side, two doctors for the filters.

mod common;

use chrono::{Datelike, NaiveDate};
use hms_core::reports::{self, Cell, Filters, RangeInput, ReportId, ReportRequest};
use hms_core::{Authorized, Store};

const T: &str = "2026-01-01T00:00:00.000Z";

async fn exec(s: &Store, sql: &str, args: &[Option<&str>]) {
    let mut q = sqlx::query(sql);
    for a in args {
        q = q.bind(*a);
    }
    q.execute(s.pool()).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// (doctor, date, start minute, status, deleted)
const APPTS: [(&str, &str, i64, &str, bool); 12] = [
    ("dr-a", "2026-03-02", 9 * 60, "done", false),             // Monday 09
    ("dr-a", "2026-03-02", 9 * 60 + 30, "checked_in", false),  // Monday 09
    ("dr-b", "2026-03-09", 9 * 60 + 45, "with_doctor", false), // Monday 09
    ("dr-a", "2026-03-03", 17 * 60 + 15, "done", false),       // Tuesday 17
    ("dr-a", "2026-03-01", 11 * 60, "done", false),            // Sunday 11, the first day
    ("dr-b", "2026-03-31", 8 * 60, "done", false),             // Tuesday 08, the last day
    ("dr-a", "2026-02-28", 10 * 60, "done", false),            // before
    ("dr-a", "2026-04-01", 10 * 60, "done", false),            // after
    ("dr-a", "2026-03-04", 12 * 60, "booked", false),
    ("dr-a", "2026-03-05", 12 * 60, "cancelled", false),
    ("dr-a", "2026-03-06", 12 * 60, "no_show", false),
    ("dr-b", "2026-03-07", 12 * 60, "done", true),
];

struct Clinic {
    env: common::Env,
    admin: Authorized,
}

async fn clinic() -> Clinic {
    let (env, slot) = common::with_admin().await;
    let s = &env.store;
    let admin = slot.authorize(s).await.unwrap();
    exec(s, "INSERT INTO settings (key, value, created_at, updated_at, origin_device) VALUES ('time_zone', '\"Asia/Kolkata\"', ?, ?, 'd')", &[Some(T), Some(T)]).await;
    for (id, name) in [("cardio", "Cardiology"), ("ortho", "Orthopaedics")] {
        exec(
            s,
            "INSERT INTO departments (id, name, created_at, updated_at, origin_device) VALUES (?, ?, ?, ?, 'd')",
            &[Some(id), Some(name), Some(T), Some(T)],
        )
        .await;
    }
    for (id, name, dept) in [("dr-a", "Dr Asha", "cardio"), ("dr-b", "Dr Bala", "ortho")] {
        exec(
            s,
            "INSERT INTO staff (id, full_name, role, department_id, created_at, updated_at, origin_device) VALUES (?, ?, 'doctor', ?, ?, ?, 'd')",
            &[Some(id), Some(name), Some(dept), Some(T), Some(T)],
        )
        .await;
    }
    exec(
        s,
        "INSERT INTO patients (id, mrn, given_name, sex, created_at, updated_at, origin_device) VALUES ('p1', 'MRN1', 'X', 'female', ?, ?, 'd')",
        &[Some(T), Some(T)],
    )
    .await;
    for (i, (doctor, date, start, status, deleted)) in APPTS.iter().enumerate() {
        exec(
            s,
            "INSERT INTO appointments (id, patient_id, doctor_id, date, start_min, end_min, starts_at, ends_at, status, created_at, updated_at, origin_device, deleted_at)
             VALUES (?, 'p1', ?, ?, CAST(? AS INTEGER), CAST(? AS INTEGER), ?, ?, ?, ?, ?, 'd', ?)",
            &[
                Some(&format!("ap{i}")),
                Some(doctor),
                Some(date),
                Some(&start.to_string()),
                Some(&(start + 15).to_string()),
                Some(T),
                Some(T),
                Some(status),
                Some(T),
                Some(T),
                deleted.then_some(T),
            ],
        )
        .await;
    }
    Clinic { env, admin }
}

/// The grid counted here: [weekday from Monday][hour].
fn expected(doctor: Option<&str>) -> [[i64; 24]; 7] {
    let mut grid = [[0i64; 24]; 7];
    for (d, date, start, status, deleted) in APPTS {
        let day = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
        let in_march = day.month() == 3 && day.year() == 2026;
        let attended = ["checked_in", "with_doctor", "done"].contains(&status);
        if in_march && attended && !deleted && doctor.is_none_or(|x| x == d) {
            grid[day.weekday().num_days_from_monday() as usize][(start / 60) as usize] += 1;
        }
    }
    grid
}

fn n(c: &Cell) -> i64 {
    match c {
        Cell::Number(n) => *n,
        other => panic!("not a number: {other:?}"),
    }
}

async fn run(s: &Store, auth: &Authorized, filters: Filters) -> reports::Report {
    let range = RangeInput::custom("2026-03-01", "2026-03-31");
    reports::run(s, auth, &ReportRequest { report: ReportId::AppointmentsBusiestHours, range, filters }).await.unwrap()
}

fn check(r: &reports::Report, grid: [[i64; 24]; 7], first: usize, last: usize) {
    let keys: Vec<&str> = r.table.columns.iter().map(|c| c.key.as_str()).collect();
    let mut want = vec!["weekday".to_string()];
    want.extend((first..=last).map(|h| format!("h{h:02}")));
    want.push("total".into());
    assert_eq!(keys, want);
    assert_eq!(r.table.rows.len(), 7);
    for (row, day) in r.table.rows.iter().zip(grid) {
        let got: Vec<i64> = row[1..].iter().map(n).collect();
        let mut expect: Vec<i64> = day[first..=last].to_vec();
        expect.push(day.iter().sum());
        assert_eq!(got, expect, "{:?}", row[0]);
    }
    let totals: Vec<i64> = r.table.totals.as_ref().unwrap()[1..].iter().map(n).collect();
    let mut expect: Vec<i64> = (first..=last).map(|h| grid.iter().map(|d| d[h]).sum()).collect();
    expect.push(grid.iter().flatten().sum());
    assert_eq!(totals, expect);
}

#[tokio::test]
async fn attended_appointments_by_weekday_and_slot_hour_from_the_first_to_the_last_busy_hour() {
    let c = clinic().await;
    let r = run(&c.env.store, &c.admin, Filters::default()).await;
    let grid = expected(None);
    check(&r, grid, 8, 17);
    // Monday 09:00: two of Dr Asha's and one of Dr Bala's.
    assert_eq!(grid[0][9], 3);
    assert_eq!(grid.iter().flatten().sum::<i64>(), 6);
}

#[tokio::test]
async fn the_doctor_and_department_filters_narrow_the_grid() {
    let c = clinic().await;
    let s = &c.env.store;
    let by_doctor = run(s, &c.admin, Filters { doctor_id: Some("dr-b".into()), ..Default::default() }).await;
    check(&by_doctor, expected(Some("dr-b")), 8, 9);
    let by_dept = run(s, &c.admin, Filters { department_id: Some("cardio".into()), ..Default::default() }).await;
    check(&by_dept, expected(Some("dr-a")), 9, 17);
}

/// The grid over [from, to] counted here from the appointments as they are now (not only the
/// hand-built list: the writes below change them).
async fn recounted(s: &Store, from: &str, to: &str) -> [[i64; 24]; 7] {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT date, start_min FROM appointments
         WHERE deleted_at IS NULL AND status IN ('checked_in', 'with_doctor', 'done') AND date >= ? AND date <= ?",
    )
    .bind(from)
    .bind(to)
    .fetch_all(s.pool())
    .await
    .unwrap();
    let mut grid = [[0i64; 24]; 7];
    for (date, start) in rows {
        let day = NaiveDate::parse_from_str(&date, "%Y-%m-%d").unwrap();
        grid[day.weekday().num_days_from_monday() as usize][(start / 60) as usize] += 1;
    }
    grid
}

/// A range over the edge of two months (its days from the daily counts, March from the
/// monthly ones), through appointments called in, moved, cancelled and deleted in plain SQL:
/// the same grid as a count of the appointments, and the summary equal to its recount.
#[tokio::test]
async fn a_range_across_months_follows_every_write() {
    let c = clinic().await;
    let s = &c.env.store;
    let range = || RangeInput::custom("2026-02-20", "2026-04-03");
    let grid_of = |r: &reports::Report| -> [[i64; 24]; 7] {
        let first = r.table.columns.iter().position(|c| c.key.starts_with('h')).unwrap();
        let hour0: usize = r.table.columns[first].key[1..].parse().unwrap();
        let mut grid = [[0i64; 24]; 7];
        for (d, row) in r.table.rows.iter().enumerate() {
            for (i, cell) in row[1..row.len() - 1].iter().enumerate() {
                grid[d][hour0 + i] = n(cell);
            }
        }
        grid
    };
    let writes = [
        "UPDATE appointments SET status = 'with_doctor' WHERE id = 'ap1'",
        "UPDATE appointments SET status = 'done' WHERE id = 'ap2'",
        "UPDATE appointments SET date = '2026-04-02', start_min = 14 * 60, end_min = 14 * 60 + 15 WHERE id = 'ap0'",
        "UPDATE appointments SET status = 'checked_in' WHERE id = 'ap8'",
        "UPDATE appointments SET status = 'cancelled' WHERE id = 'ap3'",
        "UPDATE appointments SET deleted_at = '2026-03-10T00:00:00.000Z' WHERE id = 'ap4'",
        "UPDATE appointments SET deleted_at = NULL WHERE id = 'ap11'",
        "DELETE FROM appointments WHERE id = 'ap6'",
        "UPDATE appointments SET doctor_id = 'dr-b' WHERE id = 'ap7'",
    ];
    for (i, write) in std::iter::once("SELECT 1").chain(writes).enumerate() {
        exec(s, write, &[]).await;
        let r = reports::run(
            s,
            &c.admin,
            &ReportRequest { report: ReportId::AppointmentsBusiestHours, range: range(), filters: Filters::default() },
        )
        .await
        .unwrap();
        assert_eq!(grid_of(&r), recounted(s, "2026-02-20", "2026-04-03").await, "after write {i}: {write}");
        let diff = reports::summary::verify(s).await.unwrap();
        assert!(diff.is_empty(), "after write {i}: {diff:?}");
    }
    let total: i64 = recounted(s, "2026-02-20", "2026-04-03").await.iter().flatten().sum();
    assert_eq!(
        total, 7,
        "eight attended at first; one checked in, one undeleted, two cancelled or deleted, one removed"
    );
}
