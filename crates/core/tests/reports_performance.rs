//! Doctor performance: every figure against a count done here over appointments, visits and
//! invoices built by hand (a clinic in Asia/Kolkata, March 2026): a merged duplicate seen by
//! the same doctor as its survivor, a patient seen before the range, a consultation marked
//! done before it was called (not timed), deleted and cancelled rows, visits one millisecond
//! either side of the clinic's midnight, a cancelled invoice. Then who may see it.

mod common;

use chrono::DateTime;
use hms_core::reports::performance::average_minutes;
use hms_core::reports::table::percent_bp;
use hms_core::reports::{self, Cell, Filters, RangeInput, ReportId, ReportRequest};
use hms_core::{Authorized, Error, SessionSlot, Store};
use std::collections::{BTreeMap, BTreeSet};

const T: &str = "2026-01-01T00:00:00.000Z";

async fn exec(s: &Store, sql: &str, args: &[Option<&str>]) {
    let mut q = sqlx::query(sql);
    for a in args {
        q = q.bind(*a);
    }
    q.execute(s.pool()).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// (id, merged into)
const PATIENTS: [(&str, Option<&str>); 5] =
    [("p1", None), ("p2", None), ("p3", None), ("p4", None), ("p5", Some("p1"))];

struct Appt {
    id: &'static str,
    doctor: &'static str,
    patient: &'static str,
    date: &'static str,
    status: &'static str,
    called: Option<&'static str>,
    done: Option<&'static str>,
    deleted: bool,
}

const fn ap(
    id: &'static str,
    doctor: &'static str,
    patient: &'static str,
    date: &'static str,
    status: &'static str,
) -> Appt {
    Appt { id, doctor, patient, date, status, called: None, done: None, deleted: false }
}

const fn timed(a: Appt, called: &'static str, done: &'static str) -> Appt {
    Appt { called: Some(called), done: Some(done), ..a }
}

fn appointments() -> Vec<Appt> {
    vec![
        // p1 saw Dr Asha in February: a follow-up in March.
        ap("a0", "dr-a", "p1", "2026-02-10", "done"),
        timed(ap("a1", "dr-a", "p1", "2026-03-02", "done"), "2026-03-02T04:00:00.000Z", "2026-03-02T04:12:30.000Z"),
        // p1's duplicate: the same person, a second consultation.
        timed(ap("a2", "dr-a", "p5", "2026-03-03", "done"), "2026-03-03T05:00:00.000Z", "2026-03-03T05:07:00.000Z"),
        // Done before called: not timed.
        timed(ap("a3", "dr-a", "p2", "2026-03-04", "done"), "2026-03-04T04:00:00.000Z", "2026-03-04T03:59:00.000Z"),
        ap("a4", "dr-a", "p3", "2026-03-05", "no_show"),
        ap("a5", "dr-a", "p3", "2026-03-06", "cancelled"),
        Appt { called: Some("2026-03-07T04:00:00.000Z"), ..ap("a6", "dr-a", "p2", "2026-03-07", "with_doctor") },
        ap("a7", "dr-a", "p4", "2026-04-01", "done"),
        Appt { deleted: true, ..ap("a8", "dr-a", "p4", "2026-03-08", "done") },
        ap("b1", "dr-b", "p2", "2026-03-10", "checked_in"),
        timed(ap("b2", "dr-b", "p3", "2026-03-11", "done"), "2026-03-11T06:00:00.000Z", "2026-03-11T06:20:00.400Z"),
        // A February no-show is no earlier consultation: p3 is new to Dr Bala in March.
        ap("b3", "dr-b", "p3", "2026-02-01", "no_show"),
        ap("b4", "dr-b", "p4", "2026-03-12", "booked"),
    ]
}

/// (doctor, started_at, follow-up date, deleted)
const VISITS: [(&str, &str, Option<&str>, bool); 6] = [
    ("dr-a", "2026-03-02T04:00:00.000Z", Some("2026-03-16"), false),
    ("dr-a", "2026-03-03T05:00:00.000Z", None, false),
    // 23:59:59.999 on 31 March in Kolkata: in.
    ("dr-a", "2026-03-31T18:29:59.999Z", Some("2026-04-10"), false),
    // Midnight of 1 April: out.
    ("dr-a", "2026-03-31T18:30:00.000Z", Some("2026-04-10"), false),
    ("dr-a", "2026-03-04T04:00:00.000Z", Some("2026-03-20"), true),
    ("dr-b", "2026-03-11T06:00:00.000Z", None, false),
];

/// (bill, status, finalized_at, lines: (appointment, quantity, price))
type Bill = (&'static str, &'static str, &'static str, &'static [(Option<&'static str>, i64, i64)]);
const BILLS: [Bill; 3] = [
    ("bl1", "final", "2026-03-05T06:00:00.000Z", &[(Some("a1"), 1, 50_000), (Some("b2"), 2, 35_025), (None, 1, 2_000)]),
    ("bl2", "cancelled", "2026-03-06T06:00:00.000Z", &[(Some("a2"), 1, 50_000)]),
    // 1 April, 00:00 in Kolkata: out.
    ("bl3", "final", "2026-03-31T18:30:00.000Z", &[(Some("a3"), 1, 50_000)]),
];

struct Clinic {
    env: common::Env,
    slot: SessionSlot,
    admin: Authorized,
}

async fn clinic() -> Clinic {
    let (env, slot) = common::with_admin().await;
    let s = &env.store;
    let admin = slot.authorize(s).await.unwrap();
    let dr_a_user = common::add_user(s, &slot, "dr.a", &["doctor"]).await;
    let dr_b_user = common::add_user(s, &slot, "dr.b", &["doctor"]).await;
    exec(s, "INSERT INTO settings (key, value, created_at, updated_at, origin_device) VALUES ('time_zone', '\"Asia/Kolkata\"', ?, ?, 'd')", &[Some(T), Some(T)]).await;
    for (id, name) in [("cardio", "Cardiology"), ("ortho", "Orthopaedics")] {
        exec(
            s,
            "INSERT INTO departments (id, name, created_at, updated_at, origin_device) VALUES (?, ?, ?, ?, 'd')",
            &[Some(id), Some(name), Some(T), Some(T)],
        )
        .await;
    }
    for (id, name, dept, user) in
        [("dr-a", "Dr Asha", "cardio", dr_a_user.as_str()), ("dr-b", "Dr Bala", "ortho", dr_b_user.as_str())]
    {
        exec(
            s,
            "INSERT INTO staff (id, user_id, full_name, role, department_id, created_at, updated_at, origin_device) VALUES (?, ?, ?, 'doctor', ?, ?, ?, 'd')",
            &[Some(id), Some(user), Some(name), Some(dept), Some(T), Some(T)],
        )
        .await;
    }
    for (i, (id, merged)) in PATIENTS.iter().enumerate() {
        let mrn = format!("MRN{i}");
        let status = if merged.is_some() { "merged" } else { "active" };
        exec(
            s,
            "INSERT INTO patients (id, mrn, given_name, sex, status, merged_into, created_at, updated_at, origin_device) VALUES (?, ?, 'X', 'female', ?, ?, ?, ?, 'd')",
            &[Some(id), Some(&mrn), Some(status), *merged, Some(T), Some(T)],
        )
        .await;
        if let Some(survivor) = merged {
            exec(
                s,
                "INSERT INTO patient_merges (id, survivor_id, merged_id, merged_mrn, snapshot, merged_at, updated_at) VALUES (?, ?, ?, ?, '{}', ?, ?)",
                &[Some(&format!("m-{id}")), Some(survivor), Some(id), Some(&mrn), Some(T), Some(T)],
            )
            .await;
        }
    }
    for (i, a) in appointments().iter().enumerate() {
        let (start, end) = ((i * 15 + 540).to_string(), (i * 15 + 555).to_string());
        exec(
            s,
            "INSERT INTO appointments (id, patient_id, doctor_id, date, start_min, end_min, starts_at, ends_at, status, checked_in_at, called_at, done_at,
                                       created_at, updated_at, origin_device, deleted_at)
             VALUES (?, ?, ?, ?, CAST(? AS INTEGER), CAST(? AS INTEGER), ?, ?, ?, ?, ?, ?, ?, ?, 'd', ?)",
            &[
                Some(a.id),
                Some(a.patient),
                Some(a.doctor),
                Some(a.date),
                Some(&start),
                Some(&end),
                Some(T),
                Some(T),
                Some(a.status),
                a.called,
                a.called,
                a.done,
                Some(T),
                Some(T),
                a.deleted.then_some(T),
            ],
        )
        .await;
    }
    for (i, (doctor, at, follow_up, deleted)) in VISITS.iter().enumerate() {
        exec(
            s,
            "INSERT INTO visits (id, patient_id, doctor_id, started_at, follow_up_date, created_at, updated_at, origin_device, deleted_at) VALUES (?, 'p1', ?, ?, ?, ?, ?, 'd', ?)",
            &[Some(&format!("v{i}")), Some(doctor), Some(at), *follow_up, Some(T), Some(T), deleted.then_some(T)],
        )
        .await;
    }
    for (bill, status, at, lines) in BILLS {
        exec(
            s,
            "INSERT INTO bills (id, patient_id, status, number, currency, finalized_at, created_at, updated_at, origin_device) VALUES (?, 'p1', ?, ?, 'INR', ?, ?, ?, 'd')",
            &[Some(bill), Some(status), Some(bill), Some(at), Some(T), Some(T)],
        )
        .await;
        for (j, (appt, qty, price)) in lines.iter().enumerate() {
            let source = if appt.is_some() { "appointment" } else { "manual" };
            exec(
                s,
                "INSERT INTO bill_lines (id, bill_id, position, description, category, quantity, unit_price_minor, discount_kind, discount_value,
                                         tax_rate_bp, source, source_id, created_at, updated_at, origin_device)
                 VALUES (?, ?, 1, 'Consultation', 'other', CAST(? AS INTEGER), CAST(? AS INTEGER), 'none', 0, 0, ?, ?, ?, ?, 'd')",
                &[
                    Some(&format!("{bill}-{j}")),
                    Some(bill),
                    Some(&qty.to_string()),
                    Some(&price.to_string()),
                    Some(source),
                    *appt,
                    Some(T),
                    Some(T),
                ],
            )
            .await;
        }
    }
    Clinic { env, slot, admin }
}

fn in_march_ymd(d: &str) -> bool {
    ("2026-03-01"..="2026-03-31").contains(&d)
}

/// Kolkata is UTC+05:30 all year: a March day there runs from 18:30 UTC the day before.
fn in_march_instant(t: &str) -> bool {
    ("2026-02-28T18:30:00.000Z".."2026-03-31T18:30:00.000Z").contains(&t)
}

fn person(p: &str) -> &'static str {
    let (id, merged) = PATIENTS.iter().find(|x| x.0 == p).unwrap();
    merged.unwrap_or(id)
}

const ATTENDED: [&str; 3] = ["checked_in", "with_doctor", "done"];

/// The row the report should have for `doctor`: seen, new, follow-up, consultations,
/// average minutes, revenue, follow-up rate, no-show rate.
fn expected(doctor: &str) -> Vec<Option<i64>> {
    let appts = appointments();
    let live: Vec<&Appt> = appts.iter().filter(|a| a.doctor == doctor && !a.deleted).collect();
    let attended: Vec<&&Appt> = live.iter().filter(|a| ATTENDED.contains(&a.status)).collect();
    let march: Vec<&&&Appt> = attended.iter().filter(|a| in_march_ymd(a.date)).collect();
    let seen: BTreeSet<&str> = march.iter().map(|a| person(a.patient)).collect();
    let new = seen
        .iter()
        .filter(|p| attended.iter().filter(|a| person(a.patient) == **p).map(|a| a.date).min().unwrap() >= "2026-03-01")
        .count() as i64;
    let mut secs = Vec::new();
    for a in march.iter().filter(|a| a.status == "done") {
        if let (Some(c), Some(d)) = (a.called, a.done) {
            let ms = DateTime::parse_from_rfc3339(d).unwrap() - DateTime::parse_from_rfc3339(c).unwrap();
            if ms.num_milliseconds() >= 0 {
                secs.push((ms.num_milliseconds() + 500) / 1000);
            }
        }
    }
    let avg = (!secs.is_empty()).then(|| {
        let mean_secs = secs.iter().sum::<i64>() as f64 / secs.len() as f64;
        (mean_secs / 60.0).round() as i64
    });
    let revenue: i64 = BILLS
        .iter()
        .filter(|b| b.1 == "final" && in_march_instant(b.2))
        .flat_map(|b| b.3.iter())
        .filter(|(a, _, _)| a.is_some_and(|a| appts.iter().any(|x| x.id == a && x.doctor == doctor)))
        .map(|(_, q, p)| q * p)
        .sum();
    let visits: Vec<_> = VISITS.iter().filter(|v| v.0 == doctor && !v.3 && in_march_instant(v.1)).collect();
    let asked = visits.iter().filter(|v| v.2.is_some()).count() as i64;
    let booked = live.iter().filter(|a| in_march_ymd(a.date) && a.status != "cancelled").count() as i64;
    let no_show = live.iter().filter(|a| in_march_ymd(a.date) && a.status == "no_show").count() as i64;
    vec![
        Some(seen.len() as i64),
        Some(new),
        Some(seen.len() as i64 - new),
        Some(march.len() as i64),
        avg,
        Some(revenue),
        percent_bp(asked, visits.len() as i64),
        percent_bp(no_show, booked),
    ]
}

fn figures(row: &[Cell]) -> Vec<Option<i64>> {
    row[2..]
        .iter()
        .map(|c| match c {
            Cell::Number(n) => Some(*n),
            Cell::Empty => None,
            other => panic!("not a number: {other:?}"),
        })
        .collect()
}

fn name(row: &[Cell]) -> &str {
    match &row[0] {
        Cell::Text(s) => s,
        other => panic!("not text: {other:?}"),
    }
}

async fn run(s: &Store, auth: &Authorized, filters: Filters) -> Result<reports::Report, Error> {
    let range = RangeInput::custom("2026-03-01", "2026-03-31");
    reports::run(s, auth, &ReportRequest { report: ReportId::DoctorPerformance, range, filters }).await
}

#[tokio::test]
async fn each_doctors_figures_are_those_counted_from_the_records() {
    let c = clinic().await;
    let r = run(&c.env.store, &c.admin, Filters::default()).await.unwrap();
    let got: BTreeMap<String, Vec<Option<i64>>> =
        r.table.rows.iter().map(|row| (name(row).to_string(), figures(row))).collect();
    let a = expected("dr-a");
    let b = expected("dr-b");
    assert_eq!(got["Dr Asha"], a);
    assert_eq!(got["Dr Bala"], b);
    // Worked by hand: Dr Asha saw p1 (twice, one as the duplicate; seen in February) and p2
    // (new); timed 750 s and 420 s: 9.75 min → 10; invoiced 50,000; 2 of 3 visits asked for
    // a follow-up; 1 no-show of 5 live bookings not cancelled.
    assert_eq!(a, vec![Some(2), Some(1), Some(1), Some(4), Some(10), Some(50_000), Some(6_667), Some(2_000)]);
    // Dr Bala: p2 and p3 both new (a February no-show is no consultation); 1,200.4 s → 20 min.
    assert_eq!(b, vec![Some(2), Some(2), Some(0), Some(2), Some(20), Some(70_050), Some(0), Some(0)]);
    // The totals add the rows; the average and rates are of the sums.
    let totals = figures(r.table.totals.as_ref().unwrap());
    assert_eq!(totals[..4], [Some(4), Some(3), Some(1), Some(6)]);
    assert_eq!(totals[4], average_minutes(3, 750 + 420 + 1_200));
    assert_eq!(totals[5], Some(120_050));
    assert_eq!(totals[6], percent_bp(2, 4));
    assert_eq!(totals[7], percent_bp(1, 8));
}

#[tokio::test]
async fn the_department_filter_keeps_its_doctors() {
    let c = clinic().await;
    let f = Filters { department_id: Some("ortho".into()), ..Default::default() };
    let r = run(&c.env.store, &c.admin, f).await.unwrap();
    let names: Vec<&str> = r.table.rows.iter().map(|row| name(row)).collect();
    assert_eq!(names, ["Dr Bala"]);
    assert_eq!(figures(&r.table.rows[0]), expected("dr-b"));
}

#[tokio::test]
async fn a_doctor_sees_their_own_row_and_reception_none() {
    let c = clinic().await;
    let s = &c.env.store;
    let slot = SessionSlot::default();
    hms_core::auth::sign_in(s, &slot, "dr.b", common::STAFF_PW).await.unwrap();
    let dr_b = slot.authorize(s).await.unwrap();
    assert!(reports::available(&dr_b).contains(&ReportId::DoctorPerformance));
    let r = run(s, &dr_b, Filters::default()).await.unwrap();
    assert_eq!(r.doctor_scope.as_deref(), Some("dr-b"));
    let names: Vec<&str> = r.table.rows.iter().map(|row| name(row)).collect();
    assert_eq!(names, ["Dr Bala"]);
    let other = Filters { doctor_id: Some("dr-a".into()), ..Default::default() };
    assert!(matches!(run(s, &dr_b, other).await, Err(Error::Forbidden { .. })));
    common::add_user(s, &c.slot, "desk.roy", &["receptionist"]).await;
    let desk_slot = SessionSlot::default();
    hms_core::auth::sign_in(s, &desk_slot, "desk.roy", common::STAFF_PW).await.unwrap();
    let desk = desk_slot.authorize(s).await.unwrap();
    assert!(!reports::available(&desk).contains(&ReportId::DoctorPerformance));
    assert!(matches!(run(s, &desk, Filters::default()).await, Err(Error::Forbidden { .. })));
}
