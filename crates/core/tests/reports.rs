//! Reports: every figure against a calculation done here, over rows built by hand in the
//! database (a clinic in Asia/Kolkata, March 2026): merged patients, cancelled, draft and
//! refunded bills, credit notes, deleted rows, no-shows, and rows one millisecond either side
//! of the clinic's midnight. Then permissions, bad input and the CSV export.

mod common;

use chrono::{DateTime, FixedOffset, NaiveDate};
use hms_core::reports::export::{self, Format};
use hms_core::reports::table::{nearest_rank, percent_bp};
use hms_core::reports::{
    self, Cell, DateRange, Filters, Granularity, Kind, Preset, RangeInput, ReportId, ReportRequest,
};
use hms_core::{Authorized, Error, SessionSlot, Store, ValidationReason};

const T: &str = "2026-01-01T00:00:00.000Z";

async fn exec(s: &Store, sql: &str, args: &[Option<&str>]) {
    let mut q = sqlx::query(sql);
    for a in args {
        q = q.bind(*a);
    }
    q.execute(s.pool()).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn sign_in(s: &Store, name: &str) -> Authorized {
    let slot = SessionSlot::default();
    hms_core::auth::sign_in(s, &slot, name, common::STAFF_PW).await.unwrap();
    slot.authorize(s).await.unwrap()
}

struct Patient {
    id: &'static str,
    created_at: &'static str,
    sex: &'static str,
    birth: Option<&'static str>,
    merged_into: Option<&'static str>,
}

const PATIENTS: [Patient; 6] = [
    // 23:59:59 on 28 February in Kolkata: before the range.
    Patient {
        id: "p1",
        created_at: "2026-02-28T18:29:59.000Z",
        sex: "female",
        birth: Some("1990-03-31"),
        merged_into: None,
    },
    // Midnight of 1 March in Kolkata: the range's first instant.
    Patient {
        id: "p2",
        created_at: "2026-02-28T18:30:00.000Z",
        sex: "male",
        birth: Some("2022-04-01"),
        merged_into: None,
    },
    Patient { id: "p3", created_at: "2026-03-31T18:29:59.999Z", sex: "other", birth: None, merged_into: None },
    // Midnight of 1 April: after the range.
    Patient {
        id: "p4",
        created_at: "2026-03-31T18:30:00.000Z",
        sex: "female",
        birth: Some("2000-01-01"),
        merged_into: None,
    },
    Patient {
        id: "p5",
        created_at: "2026-03-10T05:00:00.000Z",
        sex: "female",
        birth: Some("1961-03-31"),
        merged_into: None,
    },
    // A duplicate of p1, merged into it.
    Patient {
        id: "p6",
        created_at: "2026-03-05T05:00:00.000Z",
        sex: "female",
        birth: Some("1990-03-31"),
        merged_into: Some("p1"),
    },
];

struct Appt {
    doctor: &'static str,
    patient: &'static str,
    date: &'static str,
    status: &'static str,
    checked_in: Option<&'static str>,
    called: Option<&'static str>,
    deleted: bool,
}

const fn ap(doctor: &'static str, patient: &'static str, date: &'static str, status: &'static str) -> Appt {
    Appt { doctor, patient, date, status, checked_in: None, called: None, deleted: false }
}

const fn seen(
    doctor: &'static str,
    patient: &'static str,
    date: &'static str,
    status: &'static str,
    wait: (&'static str, &'static str),
) -> Appt {
    Appt { doctor, patient, date, status, checked_in: Some(wait.0), called: Some(wait.1), deleted: false }
}

fn appointments() -> Vec<Appt> {
    vec![
        seen("dr-a", "p2", "2026-03-01", "done", ("2026-03-01T04:00:00.000Z", "2026-03-01T04:10:00.000Z")),
        seen("dr-a", "p6", "2026-03-02", "done", ("2026-03-02T04:00:00.000Z", "2026-03-02T04:30:00.000Z")),
        ap("dr-a", "p5", "2026-03-03", "no_show"),
        ap("dr-a", "p5", "2026-03-04", "cancelled"),
        seen("dr-a", "p1", "2026-03-05", "with_doctor", ("2026-03-05T04:00:00.000Z", "2026-03-05T04:05:00.000Z")),
        seen("dr-a", "p3", "2026-02-28", "done", ("2026-02-28T04:00:00.000Z", "2026-02-28T05:00:00.000Z")),
        seen("dr-a", "p4", "2026-04-01", "done", ("2026-04-01T04:00:00.000Z", "2026-04-01T04:01:00.000Z")),
        ap("dr-a", "p3", "2026-03-06", "booked"),
        Appt { checked_in: Some("2026-03-31T04:00:00.000Z"), ..ap("dr-b", "p3", "2026-03-31", "checked_in") },
        seen("dr-b", "p5", "2026-03-15", "done", ("2026-03-15T03:00:00.000Z", "2026-03-15T04:00:00.000Z")),
        Appt {
            deleted: true,
            ..seen("dr-b", "p2", "2026-03-16", "done", ("2026-03-16T03:00:00.000Z", "2026-03-16T03:20:00.000Z"))
        },
    ]
}

/// The clinic's offset (Kolkata has no daylight saving): the tests' own calendar arithmetic.
fn local_date(instant: &str) -> NaiveDate {
    let ist = FixedOffset::east_opt(5 * 3600 + 30 * 60).unwrap();
    DateTime::parse_from_rfc3339(instant).unwrap().with_timezone(&ist).date_naive()
}

fn ymd(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn march() -> RangeInput {
    RangeInput::custom("2026-03-01", "2026-03-31")
}

fn in_march(d: NaiveDate) -> bool {
    d >= ymd("2026-03-01") && d <= ymd("2026-03-31")
}

struct Clinic {
    env: common::Env,
    admin: Authorized,
}

async fn clinic() -> Clinic {
    let (env, admin_slot) = common::with_admin().await;
    let s = &env.store;
    let admin = admin_slot.authorize(s).await.unwrap();
    let dr_a_user = common::add_user(s, &admin_slot, "dr.a", &["doctor"]).await;
    let dr_b_user = common::add_user(s, &admin_slot, "dr.b", &["doctor"]).await;
    common::add_user(s, &admin_slot, "acc.pal", &["accountant"]).await;
    common::add_user(s, &admin_slot, "desk.roy", &["receptionist"]).await;
    common::add_user(s, &admin_slot, "n.joseph", &["nurse"]).await;
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
    for (i, p) in PATIENTS.iter().enumerate() {
        let mrn = format!("MRN{i}");
        let status = if p.merged_into.is_some() { "merged" } else { "active" };
        exec(
            s,
            "INSERT INTO patients (id, mrn, given_name, sex, birth_date, status, merged_into, created_at, updated_at, origin_device) VALUES (?, ?, 'X', ?, ?, ?, ?, ?, ?, 'd')",
            &[Some(p.id), Some(&mrn), Some(p.sex), p.birth, Some(status), p.merged_into, Some(p.created_at), Some(T)],
        )
        .await;
        if let Some(survivor) = p.merged_into {
            exec(
                s,
                "INSERT INTO patient_merges (id, survivor_id, merged_id, merged_mrn, snapshot, merged_at, updated_at) VALUES (?, ?, ?, ?, '{}', ?, ?)",
                &[Some(&format!("m-{}", p.id)), Some(survivor), Some(p.id), Some(&mrn), Some(T), Some(T)],
            )
            .await;
        }
    }
    for (i, a) in appointments().iter().enumerate() {
        let id = format!("ap{i}");
        let start = (i * 15 + 540).to_string();
        let end = (i * 15 + 555).to_string();
        exec(
            s,
            "INSERT INTO appointments (id, patient_id, doctor_id, date, start_min, end_min, starts_at, ends_at, status, checked_in_at, called_at,
                                       created_at, updated_at, origin_device, deleted_at)
             VALUES (?, ?, ?, ?, CAST(? AS INTEGER), CAST(? AS INTEGER), ?, ?, ?, ?, ?, ?, ?, 'd', ?)",
            &[
                Some(&id),
                Some(a.patient),
                Some(a.doctor),
                Some(a.date),
                Some(&start),
                Some(&end),
                Some(T),
                Some(T),
                Some(a.status),
                a.checked_in,
                a.called,
                Some(T),
                Some(T),
                a.deleted.then_some(T),
            ],
        )
        .await;
    }
    // The tariff: a consultation (tax-exempt) and an X-ray at 18%.
    for (id, code, name, cat, rate) in [
        ("s-consult", "CONSULT", "Consultation", "consultation", "0"),
        ("s-xray", "XR", "Chest X-ray", "procedure", "1800"),
    ] {
        exec(
            s,
            "INSERT INTO services (id, code, name, category, tax_rate_bp, created_at, updated_at, origin_device) VALUES (?, ?, ?, ?, CAST(? AS INTEGER), ?, ?, 'd')",
            &[Some(id), Some(code), Some(name), Some(cat), Some(rate), Some(T), Some(T)],
        )
        .await;
    }
    for b in BILLS {
        exec(
            s,
            "INSERT INTO bills (id, patient_id, status, number, currency, finalized_at, created_at, updated_at, origin_device) VALUES (?, 'p1', ?, ?, 'INR', ?, ?, ?, 'd')",
            &[Some(b.0), Some(b.1), b.2.map(|_| b.0), b.2, Some(T), Some(T)],
        )
        .await;
    }
    for (i, l) in LINES.iter().enumerate() {
        let (kind, value) = match l.discount {
            D::None => ("none", 0),
            D::Amount(a) => ("amount", a),
            D::Percent(bp) => ("percent", bp),
        };
        let source = if l.appointment.is_some() { "appointment" } else { "manual" };
        exec(
            s,
            "INSERT INTO bill_lines (id, bill_id, position, service_id, description, category, quantity, unit_price_minor, discount_kind, discount_value,
                                     tax_rate_bp, source, source_id, created_at, updated_at, origin_device, deleted_at)
             VALUES (?, ?, 1, ?, ?, 'other', CAST(? AS INTEGER), CAST(? AS INTEGER), ?, CAST(? AS INTEGER), CAST(? AS INTEGER), ?, ?, ?, ?, 'd', ?)",
            &[
                Some(&format!("l{i}")),
                Some(l.bill),
                l.service,
                Some(l.description),
                Some(&l.quantity.to_string()),
                Some(&l.price.to_string()),
                Some(kind),
                Some(&value.to_string()),
                Some(&l.tax_bp.to_string()),
                Some(source),
                l.appointment,
                Some(T),
                Some(T),
                l.deleted.then_some(T),
            ],
        )
        .await;
    }
    for (i, p) in PAYMENTS.iter().enumerate() {
        exec(
            s,
            "INSERT INTO payments (id, bill_id, kind, mode, amount_minor, received_at, receipt_no, created_at, updated_at, origin_device, deleted_at)
             VALUES (?, ?, ?, ?, CAST(? AS INTEGER), ?, ?, ?, ?, 'd', ?)",
            &[
                Some(&format!("py{i}")),
                Some(p.0),
                Some(p.1),
                Some(p.2),
                Some(&p.3.to_string()),
                Some(p.4),
                Some(&format!("R{i}")),
                Some(T),
                Some(T),
                p.5.then_some(T),
            ],
        )
        .await;
    }
    for (i, c) in CREDIT_NOTES.iter().enumerate() {
        exec(
            s,
            "INSERT INTO credit_notes (id, bill_id, number, amount_minor, reason, created_at, updated_at, origin_device) VALUES (?, ?, ?, CAST(? AS INTEGER), 'r', ?, ?, 'd')",
            &[Some(&format!("cn{i}")), Some(c.0), Some(&format!("CN{i}")), Some(&c.1.to_string()), Some(c.2), Some(T)],
        )
        .await;
    }
    Clinic { env, admin }
}

/// (id, status, finalized_at)
const BILLS: [(&str, &str, Option<&str>); 5] = [
    ("b1", "final", Some("2026-03-01T00:00:00.000Z")),
    // 23:59 on 28 February in Kolkata.
    ("b2", "final", Some("2026-02-28T18:29:00.000Z")),
    ("b3", "cancelled", Some("2026-03-10T05:00:00.000Z")),
    ("b4", "draft", None),
    // 23:30 on 31 March in Kolkata (18:00 UTC, still the 31st).
    ("b5", "final", Some("2026-03-31T18:00:00.000Z")),
];

#[derive(Clone, Copy)]
enum D {
    None,
    Amount(i64),
    Percent(i64),
}

struct Line {
    bill: &'static str,
    service: Option<&'static str>,
    description: &'static str,
    quantity: i64,
    price: i64,
    discount: D,
    tax_bp: i64,
    appointment: Option<&'static str>,
    deleted: bool,
}

#[allow(clippy::too_many_arguments)]
const fn line(
    bill: &'static str,
    service: Option<&'static str>,
    description: &'static str,
    quantity: i64,
    price: i64,
    discount: D,
    tax_bp: i64,
    appointment: Option<&'static str>,
) -> Line {
    Line { bill, service, description, quantity, price, discount, tax_bp, appointment, deleted: false }
}

const LINES: [Line; 8] = [
    line("b1", Some("s-consult"), "Consultation", 1, 50_000, D::None, 0, Some("ap0")),
    line("b1", Some("s-xray"), "Chest X-ray", 2, 75_050, D::Percent(1_000), 1_800, None),
    line("b2", Some("s-consult"), "Consultation", 1, 50_000, D::None, 0, Some("ap5")),
    line("b3", Some("s-consult"), "Consultation", 1, 50_000, D::None, 0, Some("ap1")),
    line("b4", Some("s-consult"), "Consultation", 1, 50_000, D::None, 0, None),
    line("b5", Some("s-consult"), "Consultation", 1, 50_000, D::Amount(5_000), 0, Some("ap9")),
    line("b5", None, "Dressing", 3, 2_000, D::None, 0, None),
    Line { deleted: true, ..line("b5", Some("s-xray"), "Chest X-ray", 1, 75_050, D::None, 1_800, None) },
];

/// (bill, kind, mode, amount, received_at, deleted)
const PAYMENTS: [(&str, &str, &str, i64, &str, bool); 6] = [
    ("b1", "payment", "cash", 100_000, "2026-03-01T06:00:00.000Z", false),
    ("b1", "payment", "upi", 50_000, "2026-03-02T06:00:00.000Z", false),
    ("b1", "refund", "cash", 20_000, "2026-03-20T06:00:00.000Z", false),
    ("b5", "advance", "card", 10_000, "2026-02-28T18:30:00.000Z", false),
    ("b5", "payment", "card", 5_000, "2026-03-31T18:30:00.000Z", false),
    ("b1", "payment", "cash", 999, "2026-03-03T06:00:00.000Z", true),
];

/// (bill, amount, created_at)
const CREDIT_NOTES: [(&str, i64, &str); 3] = [
    ("b1", 10_000, "2026-03-15T05:00:00.000Z"),
    ("b5", 3_000, "2026-04-01T00:00:00.000Z"),
    ("b3", 7_000, "2026-03-12T05:00:00.000Z"),
];

/// A line's amounts, worked out here: (gross, discount, tax, total), tax rounded half up.
fn amounts(l: &Line) -> (i64, i64, i64, i64) {
    let gross = l.quantity * l.price;
    let discount = match l.discount {
        D::None => 0,
        D::Amount(a) => a,
        D::Percent(bp) => (gross * bp + 5_000) / 10_000,
    };
    let tax = ((gross - discount) * l.tax_bp + 5_000) / 10_000;
    (gross, discount, tax, gross - discount + tax)
}

/// The lines that count: on a final bill finalised on a March day in Kolkata, not deleted.
fn counted_lines() -> Vec<&'static Line> {
    LINES
        .iter()
        .filter(|l| {
            let b = BILLS.iter().find(|b| b.0 == l.bill).unwrap();
            !l.deleted && b.1 == "final" && b.2.is_some_and(|f| in_march(local_date(f)))
        })
        .collect()
}

async fn run(s: &Store, auth: &Authorized, report: ReportId, filters: Filters) -> Result<reports::Report, Error> {
    reports::run(s, auth, &ReportRequest { report, range: march(), filters }).await
}

fn n(c: &Cell) -> i64 {
    match c {
        Cell::Number(n) => *n,
        other => panic!("not a number: {other:?}"),
    }
}

fn t(c: &Cell) -> &str {
    match c {
        Cell::Text(s) => s,
        other => panic!("not text: {other:?}"),
    }
}

fn figure(r: &reports::Report, key: &str) -> Option<i64> {
    r.table.figures.iter().find(|f| f.key == key).map(|f| f.value)
}

#[tokio::test]
async fn revenue_by_service_counts_final_invoices_by_their_local_date_net_of_credit_notes() {
    let c = clinic().await;
    let s = &c.env.store;
    let r = run(s, &c.admin, ReportId::RevenueByService, Filters::default()).await.unwrap();
    assert_eq!((r.from.as_str(), r.to.as_str(), r.currency.as_str()), ("2026-03-01", "2026-03-31", "INR"));
    assert!(r.counts.contains("net = invoiced − credit notes"), "{}", r.counts);
    // The expected rows, summed here by service (description for lines without one).
    let lines = counted_lines();
    let mut want: Vec<(String, [i64; 5])> = Vec::new();
    for l in &lines {
        let label = match l.service {
            Some("s-consult") => "Consultation",
            Some(_) => "Chest X-ray",
            None => l.description,
        };
        let (g, d, x, tot) = amounts(l);
        match want.iter_mut().find(|w| w.0 == label) {
            Some(w) => {
                for (a, b) in w.1.iter_mut().zip([l.quantity, g, d, x, tot]) {
                    *a += b;
                }
            }
            None => want.push((label.to_string(), [l.quantity, g, d, x, tot])),
        }
    }
    want.sort_by_key(|w| std::cmp::Reverse(w.1[4]));
    let got: Vec<(String, [i64; 5])> = r
        .table
        .rows
        .iter()
        .map(|row| (t(&row[0]).to_string(), [n(&row[2]), n(&row[3]), n(&row[4]), n(&row[5]), n(&row[6])]))
        .collect();
    assert_eq!(got, want);
    // Worked by hand as well: X-ray 2 × 750.50 less 10% = 1,350.90 + 18% (243.16) = 1,594.06.
    assert_eq!(got[0], ("Chest X-ray".to_string(), [2, 150_100, 15_010, 24_316, 159_406]));
    assert_eq!(got[1], ("Consultation".to_string(), [2, 100_000, 5_000, 0, 95_000]));
    assert_eq!(t(&r.table.rows[0][1]), "XR");
    let invoiced: i64 = lines.iter().map(|l| amounts(l).3).sum();
    assert_eq!(invoiced, 260_406);
    let totals = r.table.totals.as_ref().unwrap();
    assert_eq!(n(&totals[6]), invoiced);
    assert_eq!(n(&totals[2]), lines.iter().map(|l| l.quantity).sum::<i64>());
    // Credit notes on March days of bills that still stand; refunds by their own date.
    let credited: i64 = CREDIT_NOTES
        .iter()
        .filter(|c| in_march(local_date(c.2)) && BILLS.iter().any(|b| b.0 == c.0 && b.1 == "final"))
        .map(|c| c.1)
        .sum();
    let refunded: i64 =
        PAYMENTS.iter().filter(|p| p.1 == "refund" && !p.5 && in_march(local_date(p.4))).map(|p| p.3).sum();
    assert_eq!((credited, refunded), (10_000, 20_000));
    assert_eq!(figure(&r, "invoices"), Some(2));
    assert_eq!(figure(&r, "invoiced"), Some(invoiced));
    assert_eq!(figure(&r, "discounts"), Some(20_010));
    assert_eq!(figure(&r, "credit_notes"), Some(credited));
    assert_eq!(figure(&r, "refunds"), Some(refunded));
    assert_eq!(figure(&r, "net"), Some(invoiced - credited));
}

#[tokio::test]
async fn revenue_by_doctor_follows_the_appointment_a_line_was_charged_for() {
    let c = clinic().await;
    let s = &c.env.store;
    let r = run(s, &c.admin, ReportId::RevenueByDoctor, Filters::default()).await.unwrap();
    let appts = appointments();
    let doctor_of = |l: &Line| {
        l.appointment.map(|a| {
            let i: usize = a.trim_start_matches("ap").parse().unwrap();
            if appts[i].doctor == "dr-a" {
                "Dr Asha"
            } else {
                "Dr Bala"
            }
        })
    };
    let mut want: Vec<(String, i64)> = Vec::new();
    for l in counted_lines() {
        let d = doctor_of(l).unwrap_or("No doctor").to_string();
        match want.iter_mut().find(|w| w.0 == d) {
            Some(w) => w.1 += amounts(l).3,
            None => want.push((d, amounts(l).3)),
        }
    }
    want.sort_by_key(|w| std::cmp::Reverse(w.1));
    let got: Vec<(String, i64)> = r.table.rows.iter().map(|row| (t(&row[0]).to_string(), n(&row[6]))).collect();
    assert_eq!(got, want);
    assert_eq!(got, vec![("No doctor".into(), 165_406), ("Dr Asha".into(), 50_000), ("Dr Bala".into(), 45_000)]);
    assert_eq!(t(&r.table.rows[1][1]), "Cardiology");
    // A department narrows to its doctors' lines.
    let f = Filters { department_id: Some("ortho".into()), ..Default::default() };
    let r = run(s, &c.admin, ReportId::RevenueByDoctor, f).await.unwrap();
    assert_eq!(r.table.rows.len(), 1);
    assert_eq!((t(&r.table.rows[0][0]), n(&r.table.rows[0][6])), ("Dr Bala", 45_000));
}

#[tokio::test]
async fn collections_by_mode_count_money_by_the_local_day_it_moved() {
    let c = clinic().await;
    let s = &c.env.store;
    let r = run(s, &c.admin, ReportId::RevenueByMode, Filters::default()).await.unwrap();
    for row in &r.table.rows {
        let mode = t(&row[0]);
        let mine: Vec<_> = PAYMENTS.iter().filter(|p| p.2 == mode && !p.5 && in_march(local_date(p.4))).collect();
        let received: i64 = mine.iter().filter(|p| p.1 != "refund").map(|p| p.3).sum();
        let refunded: i64 = mine.iter().filter(|p| p.1 == "refund").map(|p| p.3).sum();
        let count = i64::try_from(mine.len()).unwrap();
        assert_eq!(
            [n(&row[1]), n(&row[2]), n(&row[3]), n(&row[4])],
            [count, received, refunded, received - refunded],
            "{mode}"
        );
    }
    let modes: Vec<&str> = r.table.rows.iter().map(|row| t(&row[0])).collect();
    assert_eq!(modes, ["cash", "card", "upi", "bank_transfer", "insurance"]);
    let totals = r.table.totals.unwrap();
    assert_eq!([n(&totals[1]), n(&totals[2]), n(&totals[3]), n(&totals[4])], [4, 160_000, 20_000, 140_000]);
}

#[tokio::test]
async fn appointments_by_doctor_count_statuses_and_waits() {
    let c = clinic().await;
    let s = &c.env.store;
    let r = run(s, &c.admin, ReportId::AppointmentsByDoctor, Filters::default()).await.unwrap();
    let appts = appointments();
    let mine = |d: Option<&str>| -> Vec<&Appt> {
        appts.iter().filter(|a| !a.deleted && in_march(ymd(a.date)) && d.is_none_or(|d| a.doctor == d)).collect()
    };
    let waits = |list: &[&Appt]| -> Vec<i64> {
        let mut w: Vec<i64> = list
            .iter()
            .filter_map(|a| Some((a.checked_in?, a.called?)))
            .map(|(x, y)| {
                (DateTime::parse_from_rfc3339(y).unwrap() - DateTime::parse_from_rfc3339(x).unwrap()).num_minutes()
            })
            .collect();
        w.sort();
        w
    };
    let expect = |list: Vec<&Appt>| -> Vec<Option<i64>> {
        let count = |f: &dyn Fn(&&Appt) -> bool| list.iter().filter(|a| f(a)).count() as i64;
        let booked = list.len() as i64;
        let attended = count(&|a| matches!(a.status, "checked_in" | "with_doctor" | "done"));
        let no_show = count(&|a| a.status == "no_show");
        let cancelled = count(&|a| a.status == "cancelled");
        let w = waits(&list);
        vec![
            Some(booked),
            Some(attended),
            Some(no_show),
            Some(cancelled),
            percent_bp(no_show, booked - cancelled),
            nearest_rank(&w, 50),
            nearest_rank(&w, 90),
        ]
    };
    let cells = |row: &[Cell]| -> Vec<Option<i64>> {
        row[2..].iter().map(|c| if let Cell::Number(x) = c { Some(*x) } else { None }).collect()
    };
    assert_eq!(r.table.rows.len(), 2);
    assert_eq!(t(&r.table.rows[0][0]), "Dr Asha");
    assert_eq!(cells(&r.table.rows[0]), expect(mine(Some("dr-a"))));
    assert_eq!(cells(&r.table.rows[1]), expect(mine(Some("dr-b"))));
    assert_eq!(cells(r.table.totals.as_ref().unwrap()), expect(mine(None)));
    // By hand: Dr Asha 6 booked, 3 attended, 1 no-show, 1 cancelled, 20.00%, waits 5/10/30.
    assert_eq!(cells(&r.table.rows[0]), [6, 3, 1, 1, 2_000, 10, 30].map(Some));
    assert_eq!(cells(r.table.totals.as_ref().unwrap()), [8, 5, 1, 1, 1_429, 10, 60].map(Some));
    // A department filter keeps its doctors.
    let f = Filters { department_id: Some("cardio".into()), ..Default::default() };
    let r = run(s, &c.admin, ReportId::AppointmentsByDoctor, f).await.unwrap();
    assert_eq!(r.table.rows.len(), 1);
    assert_eq!(t(&r.table.rows[0][0]), "Dr Asha");
}

#[tokio::test]
async fn patients_reports_leave_merged_duplicates_out_and_cut_days_at_the_clinics_midnight() {
    let c = clinic().await;
    let s = &c.env.store;
    let registered: Vec<&Patient> =
        PATIENTS.iter().filter(|p| p.merged_into.is_none() && in_march(local_date(p.created_at))).collect();
    assert_eq!(registered.iter().map(|p| p.id).collect::<Vec<_>>(), ["p2", "p3", "p5"]);
    // By day: every day of March, a row each.
    let r = run(s, &c.admin, ReportId::PatientsRegistrations, Filters::default()).await.unwrap();
    assert_eq!(r.table.rows.len(), 31);
    for row in &r.table.rows {
        let day = ymd(t(&row[0]));
        let want = registered.iter().filter(|p| local_date(p.created_at) == day).count() as i64;
        assert_eq!(n(&row[1]), want, "{day}");
    }
    assert_eq!(n(&r.table.totals.unwrap()[1]), 3);
    // By week (from Monday): 1 March 2026 is a Sunday, in the week of 23 February.
    let f = Filters { granularity: Some(Granularity::Week), ..Default::default() };
    let r = run(s, &c.admin, ReportId::PatientsRegistrations, f).await.unwrap();
    let weeks: Vec<(&str, i64)> = r.table.rows.iter().map(|row| (t(&row[0]), n(&row[1]))).collect();
    assert_eq!(
        weeks,
        [
            ("2026-02-23", 1),
            ("2026-03-02", 0),
            ("2026-03-09", 1),
            ("2026-03-16", 0),
            ("2026-03-23", 0),
            ("2026-03-30", 1)
        ]
    );
    let f = Filters { granularity: Some(Granularity::Month), ..Default::default() };
    let r = run(s, &c.admin, ReportId::PatientsRegistrations, f).await.unwrap();
    assert_eq!(r.table.rows.len(), 1);
    assert_eq!((t(&r.table.rows[0][0]), n(&r.table.rows[0][1])), ("2026-03", 3));

    // Age bands on 31 March: p2 turns 4 on 1 April (0–4), p5 is 65 that day (65+), p3 has no
    // birth date.
    let r = run(s, &c.admin, ReportId::PatientsDemographics, Filters::default()).await.unwrap();
    let grid: Vec<(&str, Vec<i64>)> =
        r.table.rows.iter().map(|row| (t(&row[0]), row[1..].iter().map(n).collect())).collect();
    assert_eq!(
        grid,
        [
            ("0–4", vec![0, 1, 0, 0, 1]),
            ("5–14", vec![0, 0, 0, 0, 0]),
            ("15–24", vec![0, 0, 0, 0, 0]),
            ("25–44", vec![0, 0, 0, 0, 0]),
            ("45–64", vec![0, 0, 0, 0, 0]),
            ("65+", vec![1, 0, 0, 0, 1]),
            ("Unknown", vec![0, 0, 1, 0, 1]),
        ]
    );
    assert_eq!(r.table.totals.unwrap()[1..].iter().map(n).collect::<Vec<_>>(), [1, 1, 1, 0, 3]);

    // Seen in March (attended): p2, p6 (merged into p1), p1, p3, p5 — four people; new when
    // the person's first attended appointment ever (any of their records) is in March: p3 was
    // first seen on 28 February (returning); p1 on 2 March through its duplicate p6.
    let appts = appointments();
    let person = |id: &str| PATIENTS.iter().find(|p| p.id == id).map(|p| p.merged_into.unwrap_or(p.id)).unwrap();
    let attended = |a: &&Appt| !a.deleted && matches!(a.status, "checked_in" | "with_doctor" | "done");
    let mut people: Vec<&str> =
        appts.iter().filter(attended).filter(|a| in_march(ymd(a.date))).map(|a| person(a.patient)).collect();
    people.sort();
    people.dedup();
    let first_seen = |id: &str| {
        appts.iter().filter(attended).filter(|a| person(a.patient) == id).map(|a| ymd(a.date)).min().unwrap()
    };
    let new = people.iter().filter(|p| in_march(first_seen(p))).count() as i64;
    let total = people.len() as i64;
    assert_eq!((new, total), (3, 4));
    let r = run(s, &c.admin, ReportId::PatientsNewReturning, Filters::default()).await.unwrap();
    let rows: Vec<(&str, i64)> = r.table.rows.iter().map(|row| (t(&row[0]), n(&row[1]))).collect();
    assert_eq!(rows, [("New", new), ("Returning", total - new)]);
    assert_eq!(n(&r.table.rows[0][2]), 7_500);
    assert_eq!(n(&r.table.totals.unwrap()[1]), total);
}

#[tokio::test]
async fn a_doctor_sees_their_own_figures_and_finance_is_the_administrators_and_accountants() {
    let c = clinic().await;
    let s = &c.env.store;
    let dr_a = sign_in(s, "dr.a").await;
    let r = run(s, &dr_a, ReportId::RevenueByService, Filters::default()).await.unwrap();
    assert_eq!(r.doctor_scope.as_deref(), Some("dr-a"));
    assert_eq!(r.table.rows.len(), 1);
    assert_eq!(n(&r.table.rows[0][6]), 50_000);
    assert_eq!(figure(&r, "invoiced"), Some(50_000));
    assert_eq!(figure(&r, "credit_notes"), None, "bill-wide figures are not a doctor's");
    let r = run(s, &dr_a, ReportId::AppointmentsByDoctor, Filters::default()).await.unwrap();
    assert_eq!(r.table.rows.len(), 1);
    assert_eq!(t(&r.table.rows[0][0]), "Dr Asha");
    let other = Filters { doctor_id: Some("dr-b".into()), ..Default::default() };
    let e = run(s, &dr_a, ReportId::RevenueByDoctor, other).await.unwrap_err();
    assert!(matches!(e, Error::Forbidden { ref permission } if permission == "reports_finance"), "{e:?}");
    let e = run(s, &dr_a, ReportId::RevenueByMode, Filters::default()).await.unwrap_err();
    assert!(matches!(e, Error::Forbidden { ref permission } if permission == "reports_finance"), "{e:?}");
    assert!(!reports::available(&dr_a).contains(&ReportId::RevenueByMode));

    let acc = sign_in(s, "acc.pal").await;
    let r = run(s, &acc, ReportId::RevenueByDoctor, Filters::default()).await.unwrap();
    assert_eq!(r.table.rows.len(), 3);
    assert_eq!(r.doctor_scope, None);
    // Every report but the stock ones (`stock_view`: pharmacy, lab, administrator).
    let not_stock: Vec<ReportId> = ReportId::ALL.into_iter().filter(|r| !r.stock()).collect();
    assert_eq!(reports::available(&acc), not_stock);

    let desk = sign_in(s, "desk.roy").await;
    let e = run(s, &desk, ReportId::RevenueByService, Filters::default()).await.unwrap_err();
    assert!(matches!(e, Error::Forbidden { ref permission } if permission == "reports_finance"), "{e:?}");
    let r = run(s, &desk, ReportId::AppointmentsByDoctor, Filters::default()).await.unwrap();
    assert_eq!(r.table.rows.len(), 2, "the desk sees every doctor's appointments");

    let nurse = sign_in(s, "n.joseph").await;
    let e = run(s, &nurse, ReportId::PatientsRegistrations, Filters::default()).await.unwrap_err();
    assert!(matches!(e, Error::Forbidden { ref permission } if permission == "reports_view"), "{e:?}");
    assert!(reports::available(&nurse).is_empty());
}

fn field_of(r: Result<reports::Report, Error>) -> (String, ValidationReason) {
    match r {
        Err(Error::Validation { field, reason, .. }) => (field, reason),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_ranges_and_unknown_filters_are_typed_errors_naming_the_field() {
    let c = clinic().await;
    let s = &c.env.store;
    let req =
        |range: RangeInput, filters: Filters| ReportRequest { report: ReportId::AppointmentsByDoctor, range, filters };
    let bad = [
        (RangeInput::custom("2026-03-31", "2026-03-01"), ("to", ValidationReason::OutOfRange)),
        (RangeInput::custom("2020-01-01", "2025-01-01"), ("to", ValidationReason::OutOfRange)),
        (RangeInput::custom("2026-02-30", "2026-03-01"), ("from", ValidationReason::Invalid)),
        (
            RangeInput { preset: Preset::Custom, from: Some("2026-03-01".into()), to: None },
            ("to", ValidationReason::Required),
        ),
    ];
    for (range, (field, reason)) in bad {
        let got = field_of(reports::run(s, &c.admin, &req(range.clone(), Filters::default())).await);
        assert_eq!(got, (field.to_string(), reason), "{range:?}");
    }
    // Five years less a day is allowed.
    reports::run(s, &c.admin, &req(RangeInput::custom("2020-01-01", "2024-12-31"), Filters::default())).await.unwrap();
    let f = Filters { doctor_id: Some("nobody".into()), ..Default::default() };
    assert_eq!(
        field_of(reports::run(s, &c.admin, &req(march(), f)).await),
        ("doctor_id".into(), ValidationReason::Invalid)
    );
    let f = Filters { department_id: Some("nowhere".into()), ..Default::default() };
    assert_eq!(
        field_of(reports::run(s, &c.admin, &req(march(), f)).await),
        ("department_id".into(), ValidationReason::Invalid)
    );
}

#[test]
fn presets_are_whole_days_of_the_clinics_calendar() {
    let tz = chrono_tz::Asia::Kolkata;
    let resolve = |p: Preset, today: &str| {
        let r = DateRange::resolve(&RangeInput::preset(p), ymd(today), tz).unwrap();
        (r.from_ymd(), r.to_ymd())
    };
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(resolve(Preset::Today, "2026-03-16"), pair("2026-03-16", "2026-03-16"));
    assert_eq!(resolve(Preset::ThisWeek, "2026-03-15"), pair("2026-03-09", "2026-03-15"), "Sunday: from Monday");
    assert_eq!(resolve(Preset::ThisWeek, "2026-03-16"), pair("2026-03-16", "2026-03-16"), "Monday");
    assert_eq!(resolve(Preset::ThisMonth, "2026-03-16"), pair("2026-03-01", "2026-03-16"));
    assert_eq!(resolve(Preset::LastMonth, "2026-03-16"), pair("2026-02-01", "2026-02-28"));
    assert_eq!(resolve(Preset::LastMonth, "2026-01-05"), pair("2025-12-01", "2025-12-31"));
    let r = DateRange::resolve(&RangeInput::preset(Preset::Today), ymd("2026-03-16"), tz).unwrap();
    assert_eq!(r.instants().unwrap(), ("2026-03-15T18:30:00.000Z".to_string(), "2026-03-16T18:30:00.000Z".to_string()));
}

#[tokio::test]
async fn today_is_the_clinics_today() {
    let c = clinic().await;
    let s = &c.env.store;
    // 20:00 UTC on the 15th is 01:30 on Monday the 16th in Kolkata.
    s.set_now(Some("2026-03-15T20:00:00Z".parse().unwrap()));
    let req = ReportRequest {
        report: ReportId::PatientsRegistrations,
        range: RangeInput::preset(Preset::ThisWeek),
        filters: Filters::default(),
    };
    let r = reports::run(s, &c.admin, &req).await.unwrap();
    assert_eq!((r.from.as_str(), r.to.as_str()), ("2026-03-16", "2026-03-16"));
}

/// Reads an exported cell back into the table's integer.
fn parse_back(kind: Kind, s: &str) -> Cell {
    match kind {
        Kind::Text => Cell::Text(s.to_string()),
        _ if s.is_empty() => Cell::Empty,
        Kind::Money | Kind::Percent => {
            let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
            let (units, cents) = s.split_once('.').unwrap();
            assert_eq!(cents.len(), 2, "{s}");
            let v = units.parse::<i64>().unwrap() * 100 + cents.parse::<i64>().unwrap();
            Cell::Number(if neg { -v } else { v })
        }
        Kind::Count | Kind::Minutes => Cell::Number(s.parse().unwrap()),
    }
}

#[tokio::test]
async fn the_csv_export_parses_back_to_the_same_table_and_is_audited() {
    let c = clinic().await;
    let s = &c.env.store;
    for report in [ReportId::RevenueByService, ReportId::AppointmentsByDoctor, ReportId::PatientsDemographics] {
        let req = ReportRequest { report, range: march(), filters: Filters::default() };
        let out = export::export(s, &c.admin, &req, Format::Csv).await.unwrap();
        let table = &out.report.table;
        let mut rd = csv::Reader::from_reader(out.bytes.as_slice());
        let headers: Vec<String> = rd.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(headers, table.columns.iter().map(|c| c.title.clone()).collect::<Vec<_>>());
        let records: Vec<Vec<Cell>> = rd
            .records()
            .map(|r| r.unwrap().iter().zip(&table.columns).map(|(v, c)| parse_back(c.kind, v)).collect())
            .collect();
        let mut want = table.rows.clone();
        want.extend(table.totals.clone());
        assert_eq!(records, want, "{report:?}");
        assert!(out.file_name.ends_with("_2026-03-01_2026-03-31.csv"), "{}", out.file_name);
    }
    let exports = common::actions(s).await.into_iter().filter(|a| a == "report.export").count();
    assert_eq!(exports, 3);
    // Refused exports are not written.
    let nurse = sign_in(s, "n.joseph").await;
    let req = ReportRequest { report: ReportId::PatientsDemographics, range: march(), filters: Filters::default() };
    assert!(export::export(s, &nurse, &req, Format::Csv).await.is_err());
}

#[tokio::test]
async fn the_daily_cash_report_keeps_its_figures_under_reports() {
    let c = clinic().await;
    let s = &c.env.store;
    // 1 March in Kolkata: the advance at its midnight and the cash payment at 11:30.
    let r = reports::cash::daily_cash(s, &c.admin, "2026-03-01", None).await.unwrap();
    assert_eq!((r.collected_minor, r.refunded_minor, r.cash_in_hand_minor), (110_000, 0, 100_000));
    assert_eq!(r.invoices_finalized, 1);
    let old = hms_core::billing::report::daily_cash(s, &c.admin, "2026-03-01", None).await.unwrap();
    assert_eq!(old, r);
}

#[tokio::test]
async fn the_filters_offer_what_the_user_may_pick() {
    let c = clinic().await;
    let s = &c.env.store;
    let names = |v: &[reports::Choice]| v.iter().map(|x| x.name.clone()).collect::<Vec<_>>();
    let all = reports::filter_choices(s, &c.admin).await.unwrap();
    assert_eq!(names(&all.doctors), ["Dr Asha", "Dr Bala"]);
    assert_eq!(names(&all.departments), ["Cardiology", "Orthopaedics"]);
    assert_eq!(all.reports, ReportId::ALL);
    let dr_b = sign_in(s, "dr.b").await;
    let own = reports::filter_choices(s, &dr_b).await.unwrap();
    assert_eq!(names(&own.doctors), ["Dr Bala"]);
    assert!(!own.reports.contains(&ReportId::RevenueByMode));
    let nurse = sign_in(s, "n.joseph").await;
    assert!(reports::filter_choices(s, &nurse).await.is_err());
}

#[test]
fn percentiles_of_counted_waits_are_those_of_the_waits_written_out() {
    use hms_core::reports::appointments::nearest_rank_counted;
    let sets: [&[(i64, i64)]; 5] =
        [&[], &[(7, 1)], &[(5, 1), (10, 1), (30, 1)], &[(0, 3), (4, 1), (9, 6)], &[(1, 50), (2, 49), (60, 1)]];
    for counted in sets {
        let written: Vec<i64> = counted.iter().flat_map(|(v, n)| std::iter::repeat_n(*v, *n as usize)).collect();
        for p in [1, 50, 90, 99, 100] {
            assert_eq!(nearest_rank_counted(counted, p), nearest_rank(&written, p), "{counted:?} p{p}");
        }
    }
}

#[tokio::test]
async fn the_xlsx_export_opens_with_calamine_and_holds_the_same_numbers() {
    use calamine::{Data, Reader, Xlsx};
    let c = clinic().await;
    let s = &c.env.store;
    for report in [ReportId::RevenueByService, ReportId::AppointmentsByDoctor] {
        let req = ReportRequest { report, range: march(), filters: Filters::default() };
        let out = export::export(s, &c.admin, &req, Format::Xlsx).await.unwrap();
        assert!(out.file_name.ends_with(".xlsx"));
        let mut book = Xlsx::new(std::io::Cursor::new(out.bytes)).unwrap();
        let sheet = book.worksheet_range_at(0).unwrap().unwrap();
        let text = |r: u32, col: u32| sheet.get_value((r, col)).map(|d| d.to_string()).unwrap_or_default();
        assert_eq!(text(0, 0), out.report.title);
        assert_eq!(text(1, 0), out.report.counts);
        assert_eq!(text(2, 0), "2026-03-01 to 2026-03-31 (INR)");
        let table = &out.report.table;
        let head = export::XLSX_HEADER_ROW;
        for (j, column) in table.columns.iter().enumerate() {
            assert_eq!(text(head, j as u32), column.title);
        }
        let mut want = table.rows.clone();
        want.extend(table.totals.clone());
        for (i, row) in want.iter().enumerate() {
            for (j, (column, cell)) in table.columns.iter().zip(row).enumerate() {
                let got = sheet.get_value((head + 1 + i as u32, j as u32)).cloned().unwrap_or(Data::Empty);
                let back = match (&got, column.kind) {
                    (Data::Empty, _) => Cell::Empty,
                    (Data::String(s), _) if s.is_empty() => Cell::Empty,
                    (Data::String(s), _) => Cell::Text(s.clone()),
                    (Data::Float(f), Kind::Money) => Cell::Number((f * 100.0).round() as i64),
                    (Data::Float(f), Kind::Percent) => Cell::Number((f * 10_000.0).round() as i64),
                    (Data::Float(f), _) => Cell::Number(f.round() as i64),
                    (other, _) => panic!("unexpected {other:?}"),
                };
                let want = match cell {
                    Cell::Text(t) if t.is_empty() => Cell::Empty,
                    other => other.clone(),
                };
                assert_eq!(back, want, "{report:?} row {i} {}", column.key);
            }
        }
    }
    let exports = common::actions(s).await.into_iter().filter(|a| a == "report.export").count();
    assert_eq!(exports, 2);
}

/// The text of a PDF (pdftotext -layout); the PDF and an image of its first page are kept in
/// $HMS_TEST_ARTIFACTS when set.
fn pdf_text(pdf: &[u8], name: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.pdf"));
    std::fs::write(&path, pdf).unwrap();
    if let Some(keep) = std::env::var_os("HMS_TEST_ARTIFACTS") {
        let keep = std::path::Path::new(&keep);
        std::fs::create_dir_all(keep).unwrap();
        std::fs::write(keep.join(format!("{name}.pdf")), pdf).unwrap();
        let _ = std::process::Command::new("pdftoppm")
            .args(["-png", "-r", "80", "-f", "1", "-l", "1"])
            .arg(&path)
            .arg(keep.join(name))
            .status();
    }
    let out = std::process::Command::new("pdftotext")
        .args(["-layout"])
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils): make deps installs it");
    assert!(out.status.success(), "pdftotext failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn the_pdf_export_holds_the_title_range_figures_and_totals_and_is_audited() {
    let c = clinic().await;
    let s = &c.env.store;
    let req = ReportRequest { report: ReportId::RevenueByService, range: march(), filters: Filters::default() };
    let out = export::export(s, &c.admin, &req, Format::Pdf).await.unwrap();
    assert!(out.bytes.starts_with(b"%PDF-"));
    assert!(out.file_name.ends_with("_2026-03-01_2026-03-31.pdf"), "{}", out.file_name);
    let text = pdf_text(&out.bytes, "report_revenue_by_service");
    let r = &out.report;
    assert!(text.contains(&r.title), "{text}");
    assert!(text.contains("2026-03-01 to 2026-03-31 (INR)"), "{text}");
    assert!(text.contains("Page 1 of 1"), "{text}");
    // Every row's service and total, the totals row's total, every figure.
    let totals = r.table.totals.as_ref().unwrap();
    let at = |key: &str| r.table.columns.iter().position(|c| c.key == key).unwrap();
    for row in r.table.rows.iter().chain([totals]) {
        assert!(text.contains(t(&row[at("service")])), "{:?} not in {text}", row[at("service")]);
        let total = export::cell_text(Kind::Money, &row[at("total")]);
        assert!(text.contains(&total), "{total} not in {text}");
    }
    for f in &r.table.figures {
        let shown = reports::pdf::shown(f.kind, &Cell::Number(f.value));
        assert!(text.contains(&format!("{}: {shown}", f.title)), "{} not in {text}", f.title);
    }

    // A long table goes on over pages, the header repeated on each.
    let req = ReportRequest {
        report: ReportId::PatientsRegistrations,
        range: RangeInput::custom("2025-01-01", "2026-03-31"),
        filters: Filters::default(),
    };
    let out = export::export(s, &c.admin, &req, Format::Pdf).await.unwrap();
    let text = pdf_text(&out.bytes, "report_patients_registrations");
    let pages = text.matches("Page ").count();
    assert!(pages > 1, "455 days on one page? {text}");
    assert!(text.contains(&format!("Page {pages} of {pages}")), "{text}");
    assert_eq!(text.matches("Registered").count(), pages, "the header row on every page");
    for day in ["2025-01-01", "2025-07-15", "2026-03-01", "2026-03-31"] {
        assert!(text.contains(day), "{day} missing");
    }
    let total = n(&out.report.table.totals.as_ref().unwrap()[1]);
    assert!(text.contains("Total") && text.contains(&total.to_string()));

    let exports = common::actions(s).await.into_iter().filter(|a| a == "report.export").count();
    assert_eq!(exports, 2);
    let format: String = sqlx::query_scalar(
        "SELECT json_extract(detail, '$.format') FROM audit_log WHERE action = 'report.export' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(s.pool())
    .await
    .unwrap();
    assert_eq!(format, "pdf");
}

// Receivables and insurance: their own clinic (Kolkata), with bills that carry their totals.
// The range is March 2026: the cutoff is midnight of 1 April in Kolkata (18:30 UTC on 31 March).

const CUTOFF: &str = "2026-03-31T18:30:00.000Z";

/// (id, patient, status, total, finalized_at)
const OWED_BILLS: [(&str, &str, &str, i64, &str); 8] = [
    // 00:15 on 1 March in Kolkata (still 28 February in UTC): 30 days old on 31 March.
    ("ba1", "pa", "final", 100_000, "2026-02-28T18:45:00.000Z"),
    // 23:45 on 28 February in Kolkata: 31 days old. Part-paid.
    ("ba2", "pa", "final", 50_000, "2026-02-28T18:15:00.000Z"),
    // On pa's merged duplicate, 1 December: 120 days. A credit note.
    ("ba3", "pc", "final", 40_000, "2025-12-01T06:00:00.000Z"),
    // 20 January: 70 days. Paid in full, then part refunded.
    ("bb1", "pb", "final", 80_000, "2026-01-20T06:00:00.000Z"),
    ("bb2", "pb", "cancelled", 90_000, "2026-03-05T06:00:00.000Z"),
    // Midnight of 1 April in Kolkata: after the cutoff.
    ("bb3", "pb", "final", 70_000, CUTOFF),
    // 20 March, paid only on 2 April: still owed on 31 March.
    ("bb4", "pb", "final", 60_000, "2026-03-20T06:00:00.000Z"),
    ("bd1", "pd", "final", 10_000, "2026-03-10T06:00:00.000Z"),
];

/// (bill, kind, amount, received_at, deleted)
const OWED_PAYMENTS: [(&str, &str, i64, &str, bool); 7] = [
    ("ba2", "payment", 20_000, "2026-03-02T06:00:00.000Z", false),
    ("ba1", "payment", 999, "2026-03-02T06:00:00.000Z", true),
    ("bb1", "advance", 30_000, "2026-01-19T06:00:00.000Z", false),
    ("bb1", "payment", 50_000, "2026-01-20T07:00:00.000Z", false),
    ("bb1", "refund", 25_000, "2026-02-01T06:00:00.000Z", false),
    ("bb4", "payment", 60_000, "2026-04-02T06:00:00.000Z", false),
    ("bd1", "payment", 10_000, "2026-03-10T07:00:00.000Z", false),
];

/// (bill, amount, created_at)
const OWED_CREDIT_NOTES: [(&str, i64, &str); 2] = [("ba3", 10_000, "2026-01-10T06:00:00.000Z"), ("ba1", 5_000, CUTOFF)];

/// (bill, payer, claimed, approved, settled, created_at, deleted)
const CLAIMS: [(&str, &str, i64, i64, i64, &str, bool); 7] = [
    ("ba1", "Star Health", 60_000, 50_000, 20_000, "2026-03-05T06:00:00.000Z", false),
    ("ba2", " star health ", 30_000, 0, 0, "2026-03-10T06:00:00.000Z", false),
    // The range's last millisecond.
    ("bb1", "ICICI Lombard", 80_000, 80_000, 80_000, "2026-03-31T18:29:59.999Z", false),
    ("bb2", "Star Health", 90_000, 90_000, 0, "2026-03-06T06:00:00.000Z", false),
    ("bb4", "ICICI Lombard", 60_000, 0, 0, CUTOFF, false),
    ("bd1", "Star Health", 10_000, 10_000, 0, "2026-03-11T06:00:00.000Z", true),
    // The instant before the range's first.
    ("ba3", "Star Health", 40_000, 40_000, 0, "2026-02-28T18:29:59.999Z", false),
];

async fn finance_clinic() -> Clinic {
    let (env, admin_slot) = common::with_admin().await;
    let s = &env.store;
    let admin = admin_slot.authorize(s).await.unwrap();
    let dr_user = common::add_user(s, &admin_slot, "dr.a", &["doctor"]).await;
    common::add_user(s, &admin_slot, "acc.pal", &["accountant"]).await;
    exec(s, "INSERT INTO settings (key, value, created_at, updated_at, origin_device) VALUES ('time_zone', '\"Asia/Kolkata\"', ?, ?, 'd')", &[Some(T), Some(T)]).await;
    exec(
        s,
        "INSERT INTO staff (id, user_id, full_name, role, created_at, updated_at, origin_device) VALUES ('dr-a', ?, 'Dr Asha', 'doctor', ?, ?, 'd')",
        &[Some(&dr_user), Some(T), Some(T)],
    )
    .await;
    for (id, mrn, given, family, merged_into) in [
        ("pa", "MRN-A", "Asha", "Rao", None),
        ("pb", "MRN-B", "Bala", "Nair", None),
        ("pc", "MRN-C", "Asha", "R", Some("pa")),
        ("pd", "MRN-D", "Devi", "", None),
    ] {
        let status = if merged_into.is_some() { "merged" } else { "active" };
        exec(
            s,
            "INSERT INTO patients (id, mrn, given_name, family_name, sex, status, merged_into, created_at, updated_at, origin_device) VALUES (?, ?, ?, ?, 'female', ?, ?, ?, ?, 'd')",
            &[Some(id), Some(mrn), Some(given), Some(family), Some(status), merged_into, Some(T), Some(T)],
        )
        .await;
    }
    for (id, patient, status, total, finalized) in OWED_BILLS {
        exec(
            s,
            "INSERT INTO bills (id, patient_id, status, number, currency, finalized_at, total_minor, created_at, updated_at, origin_device) VALUES (?, ?, ?, ?, 'INR', ?, CAST(? AS INTEGER), ?, ?, 'd')",
            &[Some(id), Some(patient), Some(status), Some(id), Some(finalized), Some(&total.to_string()), Some(T), Some(T)],
        )
        .await;
    }
    for (i, (bill, kind, amount, at, deleted)) in OWED_PAYMENTS.iter().enumerate() {
        exec(
            s,
            "INSERT INTO payments (id, bill_id, kind, mode, amount_minor, received_at, receipt_no, created_at, updated_at, origin_device, deleted_at)
             VALUES (?, ?, ?, 'cash', CAST(? AS INTEGER), ?, ?, ?, ?, 'd', ?)",
            &[Some(&format!("py{i}")), Some(bill), Some(kind), Some(&amount.to_string()), Some(at), Some(&format!("R{i}")), Some(T), Some(T), deleted.then_some(T)],
        )
        .await;
    }
    for (i, (bill, amount, at)) in OWED_CREDIT_NOTES.iter().enumerate() {
        exec(
            s,
            "INSERT INTO credit_notes (id, bill_id, number, amount_minor, reason, created_at, updated_at, origin_device) VALUES (?, ?, ?, CAST(? AS INTEGER), 'r', ?, ?, 'd')",
            &[Some(&format!("cn{i}")), Some(bill), Some(&format!("CN{i}")), Some(&amount.to_string()), Some(at), Some(T)],
        )
        .await;
    }
    for (i, (bill, payer, claimed, approved, settled, at, deleted)) in CLAIMS.iter().enumerate() {
        exec(
            s,
            "INSERT INTO bill_insurance (id, bill_id, payer, claimed_minor, approved_minor, settled_minor, created_at, updated_at, origin_device, deleted_at)
             VALUES (?, ?, ?, CAST(? AS INTEGER), CAST(? AS INTEGER), CAST(? AS INTEGER), ?, ?, 'd', ?)",
            &[
                Some(&format!("ins{i}")),
                Some(bill),
                Some(payer),
                Some(&claimed.to_string()),
                Some(&approved.to_string()),
                Some(&settled.to_string()),
                Some(at),
                Some(T),
                deleted.then_some(T),
            ],
        )
        .await;
    }
    Clinic { env, admin }
}

/// Every row of a report's table and then its totals, as numbers after the text columns.
fn numbers(row: &[Cell], skip: usize) -> Vec<i64> {
    row[skip..].iter().map(n).collect()
}

#[tokio::test]
async fn receivables_are_dues_as_of_the_ranges_last_day_aged_in_the_clinics_calendar() {
    let c = finance_clinic().await;
    let s = &c.env.store;
    let r = run(s, &c.admin, ReportId::ReceivablesAgeing, Filters::default()).await.unwrap();
    let keys: Vec<&str> = r.table.columns.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, ["patient", "mrn", "invoices", "days_0_30", "days_31_60", "days_61_90", "days_over_90", "owed"]);

    // Worked out here: each bill's due at the cutoff, its age in Kolkata days on 31 March,
    // under its person (the merged duplicate pc under pa).
    let last = ymd("2026-03-31");
    let mut want: std::collections::BTreeMap<&str, (i64, [i64; 4])> = Default::default();
    for (id, patient, status, total, finalized) in OWED_BILLS {
        if status != "final" || finalized >= CUTOFF {
            continue;
        }
        let credited: i64 = OWED_CREDIT_NOTES.iter().filter(|c| c.0 == id && c.2 < CUTOFF).map(|c| c.1).sum();
        let paid: i64 = OWED_PAYMENTS
            .iter()
            .filter(|p| p.0 == id && !p.4 && p.3 < CUTOFF)
            .map(|p| if p.1 == "refund" { -p.2 } else { p.2 })
            .sum();
        let due = total - credited - paid;
        if due <= 0 {
            continue;
        }
        let age = (last - local_date(finalized)).num_days();
        let band = if age <= 30 {
            0
        } else if age <= 60 {
            1
        } else if age <= 90 {
            2
        } else {
            3
        };
        let person = if patient == "pc" { "pa" } else { patient };
        let e = want.entry(person).or_default();
        e.0 += 1;
        e.1[band] += due;
    }
    assert_eq!(want["pa"], (3, [100_000, 30_000, 0, 30_000]), "the calculation here");
    assert_eq!(want["pb"], (2, [60_000, 0, 25_000, 0]));
    assert!(!want.contains_key("pd"));

    assert_eq!(r.table.rows.len(), 2, "{:?}", r.table.rows);
    for (row, (person, name, mrn)) in
        r.table.rows.iter().zip([("pa", "Asha Rao", "MRN-A"), ("pb", "Bala Nair", "MRN-B")])
    {
        assert_eq!((t(&row[0]), t(&row[1])), (name, mrn));
        let (invoices, bands) = want[person];
        let mut expect = vec![invoices];
        expect.extend(bands);
        expect.push(bands.iter().sum());
        assert_eq!(numbers(row, 2), expect, "{person}");
    }
    let totals = r.table.totals.as_ref().unwrap();
    assert_eq!(t(&totals[0]), "Total");
    assert_eq!(numbers(totals, 2), [5, 160_000, 30_000, 25_000, 30_000, 245_000]);

    // As of 31 January: ba1, ba2, bb4 are not yet invoiced; bb1 was paid in full by then
    // (the refund came on 1 February); ba3 is 61 days old.
    let jan = RangeInput::custom("2026-01-01", "2026-01-31");
    let req = ReportRequest { report: ReportId::ReceivablesAgeing, range: jan, filters: Filters::default() };
    let r = reports::run(s, &c.admin, &req).await.unwrap();
    assert_eq!(r.table.rows.len(), 1);
    assert_eq!(numbers(&r.table.rows[0], 2), [1, 0, 0, 30_000, 0, 30_000]);

    // The export takes the same path as every report.
    let req = ReportRequest { report: ReportId::ReceivablesAgeing, range: march(), filters: Filters::default() };
    let out = export::export(s, &c.admin, &req, Format::Csv).await.unwrap();
    let mut rd = csv::Reader::from_reader(out.bytes.as_slice());
    let records: Vec<Vec<Cell>> = rd
        .records()
        .map(|rec| rec.unwrap().iter().zip(&out.report.table.columns).map(|(v, c)| parse_back(c.kind, v)).collect())
        .collect();
    assert_eq!(records.len(), 3);
    assert_eq!(records[2], *out.report.table.totals.as_ref().unwrap());
}

/// More people owe than are listed: the list is the 500 owing most (among equals by name),
/// the totals and the number of people owing count everyone.
#[tokio::test]
async fn receivables_list_those_owing_most_and_total_everyone() {
    let c = finance_clinic().await;
    let s = &c.env.store;
    // 600 more people, each with one invoice of March owed in full, in groups of seven owing
    // the same (so the 500th person is one of several owing as much).
    let mut extra = Vec::new();
    for i in 0..600i64 {
        let (id, bill) = (format!("px{i:03}"), format!("bx{i:03}"));
        let total = 1_000 + (i / 7) * 10;
        exec(
            s,
            "INSERT INTO patients (id, mrn, given_name, family_name, sex, created_at, updated_at, origin_device) VALUES (?, ?, ?, '', 'male', ?, ?, 'd')",
            &[Some(&id), Some(&format!("MRN-X{i:03}")), Some(&format!("Extra{i:03}")), Some(T), Some(T)],
        )
        .await;
        exec(
            s,
            "INSERT INTO bills (id, patient_id, status, number, currency, finalized_at, total_minor, created_at, updated_at, origin_device) VALUES (?, ?, 'final', ?, 'INR', '2026-03-15T06:00:00.000Z', CAST(? AS INTEGER), ?, ?, 'd')",
            &[Some(&bill), Some(&id), Some(&bill), Some(&total.to_string()), Some(T), Some(T)],
        )
        .await;
        extra.push((format!("Extra{i:03}"), total));
    }
    let req = ReportRequest { report: ReportId::ReceivablesAgeing, range: march(), filters: Filters::default() };
    let r = reports::run(s, &c.admin, &req).await.unwrap();
    assert_eq!(r.table.rows.len(), reports::receivables::LISTED);
    // Asha Rao and Bala Nair owe most (the test above), then the extras by amount, then name.
    extra.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut want = vec![("Asha Rao".to_string(), 160_000), ("Bala Nair".to_string(), 85_000)];
    want.extend(extra.iter().take(reports::receivables::LISTED - 2).cloned());
    let got: Vec<(String, i64)> = r.table.rows.iter().map(|row| (t(&row[0]).to_string(), n(&row[7]))).collect();
    assert_eq!(got, want);
    let cut = want.last().unwrap().1;
    assert!(extra.iter().filter(|e| e.1 == cut).count() > 1 && extra[497].1 == extra[498].1, "the cut is among equals");
    let totals = r.table.totals.as_ref().unwrap();
    let extra_sum: i64 = extra.iter().map(|e| e.1).sum();
    assert_eq!(numbers(totals, 2), [605, 160_000 + extra_sum, 30_000, 25_000, 30_000, 245_000 + extra_sum]);
    assert_eq!(r.table.figures[0].value, 602, "people owing");
}

#[tokio::test]
async fn insurance_claims_by_insurer_count_claims_recorded_in_the_range() {
    let c = finance_clinic().await;
    let s = &c.env.store;
    let r = run(s, &c.admin, ReportId::InsuranceByInsurer, Filters::default()).await.unwrap();
    let keys: Vec<&str> = r.table.columns.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, ["insurer", "claims", "awaiting", "claimed", "approved", "rejected", "settled", "outstanding"]);

    // Worked out here: claims recorded in March in Kolkata on final bills, not deleted, by
    // the payer's trimmed, lower-cased name.
    let (from, to) = ("2026-02-28T18:30:00.000Z", CUTOFF);
    let mut want: std::collections::BTreeMap<String, [i64; 7]> = Default::default();
    for (bill, payer, claimed, approved, settled, at, deleted) in CLAIMS {
        let final_bill = OWED_BILLS.iter().any(|b| b.0 == bill && b.2 == "final");
        if deleted || !final_bill || at < from || at >= to {
            continue;
        }
        let e = want.entry(payer.trim().to_lowercase()).or_default();
        let rejected = if approved > 0 { claimed - approved } else { 0 };
        for (sum, v) in
            e.iter_mut().zip([1, i64::from(approved == 0), claimed, approved, rejected, settled, approved - settled])
        {
            *sum += v;
        }
    }
    assert_eq!(want["star health"], [2, 1, 90_000, 50_000, 10_000, 20_000, 30_000], "the calculation here");
    assert_eq!(want["icici lombard"], [1, 0, 80_000, 80_000, 0, 80_000, 0]);

    assert_eq!(r.table.rows.len(), 2, "{:?}", r.table.rows);
    assert_eq!(t(&r.table.rows[0][0]), "Star Health", "the most claimed first");
    assert_eq!(t(&r.table.rows[1][0]), "ICICI Lombard");
    for row in &r.table.rows {
        assert_eq!(numbers(row, 1), want[&t(&row[0]).to_lowercase()]);
    }
    let totals = r.table.totals.as_ref().unwrap();
    assert_eq!(numbers(totals, 1), [3, 1, 170_000, 130_000, 10_000, 100_000, 30_000]);
}

#[tokio::test]
async fn receivables_and_insurance_are_finance_reports_never_a_doctors_own() {
    let c = finance_clinic().await;
    let s = &c.env.store;
    let dr = sign_in(s, "dr.a").await;
    for report in [ReportId::ReceivablesAgeing, ReportId::InsuranceByInsurer] {
        let e = run(s, &dr, report, Filters::default()).await.unwrap_err();
        assert!(matches!(e, Error::Forbidden { ref permission } if permission == "reports_finance"), "{e:?}");
        assert!(!reports::available(&dr).contains(&report));
    }
    assert!(reports::available(&dr).contains(&ReportId::RevenueByDoctor));
    let acc = sign_in(s, "acc.pal").await;
    let r = run(s, &acc, ReportId::ReceivablesAgeing, Filters::default()).await.unwrap();
    assert_eq!(r.table.rows.len(), 2);
    assert!(reports::available(&acc).contains(&ReportId::InsuranceByInsurer));
}

/// The department of the doctor of the appointment a line was charged for, worked out here.
fn line_department(l: &Line) -> &'static str {
    let Some(ap) = l.appointment else { return "No department" };
    let i: usize = ap.trim_start_matches("ap").parse().unwrap();
    match appointments()[i].doctor {
        "dr-a" => "Cardiology",
        _ => "Orthopaedics",
    }
}

#[tokio::test]
async fn revenue_by_department_follows_the_doctor_of_the_appointment_charged() {
    let c = clinic().await;
    let r = run(&c.env.store, &c.admin, ReportId::RevenueByDepartment, Filters::default()).await.unwrap();
    let mut want: Vec<(String, [i64; 5])> = Vec::new();
    for l in counted_lines() {
        let (g, d, x, tot) = amounts(l);
        let dept = line_department(l);
        match want.iter_mut().find(|w| w.0 == dept) {
            Some(w) => {
                for (a, b) in w.1.iter_mut().zip([l.quantity, g, d, x, tot]) {
                    *a += b;
                }
            }
            None => want.push((dept.to_string(), [l.quantity, g, d, x, tot])),
        }
    }
    want.sort_by(|a, b| b.1[4].cmp(&a.1[4]).then_with(|| a.0.cmp(&b.0)));
    let got: Vec<(String, [i64; 5])> = r
        .table
        .rows
        .iter()
        .map(|row| (t(&row[0]).to_string(), [n(&row[1]), n(&row[2]), n(&row[3]), n(&row[4]), n(&row[5])]))
        .collect();
    assert_eq!(got, want);
    // The X-ray and the dressing were charged for no appointment; the consultations for Dr
    // Asha's (Cardiology) and Dr Bala's (Orthopaedics).
    assert_eq!(got.iter().map(|g| g.0.as_str()).collect::<Vec<_>>(), ["No department", "Cardiology", "Orthopaedics"]);
    let totals = r.table.totals.as_ref().unwrap();
    assert_eq!(n(&totals[5]), counted_lines().iter().map(|l| amounts(l).3).sum::<i64>());
    // Finance: a doctor without it is refused, not narrowed.
    let dr = sign_in(&c.env.store, "dr.a").await;
    assert!(!reports::available(&dr).contains(&ReportId::RevenueByDepartment));
    assert!(matches!(
        run(&c.env.store, &dr, ReportId::RevenueByDepartment, Filters::default()).await,
        Err(Error::Forbidden { .. })
    ));
}

#[tokio::test]
async fn discounts_credit_notes_and_refunds_each_by_their_own_date() {
    let c = clinic().await;
    let r = run(&c.env.store, &c.admin, ReportId::RevenueAdjustments, Filters::default()).await.unwrap();
    let mut want: Vec<(String, String, i64, i64)> = Vec::new();
    let mut discounts: Vec<(String, i64, i64)> = Vec::new();
    for l in counted_lines() {
        let d = amounts(l).1;
        if d == 0 {
            continue;
        }
        let label = match l.service {
            Some("s-consult") => "Consultation",
            Some(_) => "Chest X-ray",
            None => l.description,
        };
        match discounts.iter_mut().find(|x| x.0 == label) {
            Some(x) => (x.1, x.2) = (x.1 + 1, x.2 + d),
            None => discounts.push((label.to_string(), 1, d)),
        }
    }
    discounts.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    want.extend(discounts.into_iter().map(|(l, n, d)| ("discount".to_string(), l, n, d)));
    let notes: Vec<i64> = CREDIT_NOTES
        .iter()
        .filter(|c| in_march(local_date(c.2)) && BILLS.iter().any(|b| b.0 == c.0 && b.1 == "final"))
        .map(|c| c.1)
        .collect();
    want.push(("credit_note".into(), String::new(), notes.len() as i64, notes.iter().sum()));
    for mode in ["cash", "card", "upi"] {
        let refunds: Vec<i64> = PAYMENTS
            .iter()
            .filter(|p| p.1 == "refund" && p.2 == mode && !p.5 && in_march(local_date(p.4)))
            .map(|p| p.3)
            .collect();
        if !refunds.is_empty() {
            want.push(("refund".into(), mode.into(), refunds.len() as i64, refunds.iter().sum()));
        }
    }
    let got: Vec<(String, String, i64, i64)> =
        r.table.rows.iter().map(|row| (t(&row[0]).into(), t(&row[1]).into(), n(&row[2]), n(&row[3]))).collect();
    assert_eq!(got, want);
    // By hand: the X-ray's 10% of 1,501.00 and 50.00 off a consultation; one credit note of
    // 100.00 (the April one and the cancelled bill's left out); one cash refund of 200.00.
    assert_eq!(
        got,
        [
            ("discount".to_string(), "Chest X-ray".to_string(), 1, 15_010),
            ("discount".to_string(), "Consultation".to_string(), 1, 5_000),
            ("credit_note".to_string(), String::new(), 1, 10_000),
            ("refund".to_string(), "cash".to_string(), 1, 20_000),
        ]
    );
    let totals = r.table.totals.as_ref().unwrap();
    assert_eq!((n(&totals[2]), n(&totals[3])), (4, 50_010));
}

/// Reports and Home read on a connection of their own (`Store::report_pool`): while one runs
/// long, the desk's patient search still answers; two reports at once wait for each other and
/// both finish (a report that held its connection while asking for another would never).
#[tokio::test]
async fn reports_have_their_own_read_connection_beside_the_desks() {
    let c = clinic().await;
    let s = &c.env.store;
    let wait = std::time::Duration::from_secs(10);
    let desk = sign_in(s, "desk.roy").await;
    let report_conn = s.report_pool().acquire().await.unwrap();
    let hits = tokio::time::timeout(wait, hms_core::patients::search(s, &desk, "Patient", 10)).await;
    assert!(hits.expect("the search waited for the report's connection").is_ok());
    drop(report_conn);
    let (a, b) = tokio::time::timeout(wait, async {
        tokio::join!(
            run(s, &c.admin, ReportId::ReceivablesAgeing, Filters::default()),
            run(s, &c.admin, ReportId::RevenueByService, Filters::default())
        )
    })
    .await
    .expect("two reports at once never finished");
    assert_eq!(a.unwrap().report, ReportId::ReceivablesAgeing);
    assert_eq!(b.unwrap().report, ReportId::RevenueByService);
}
