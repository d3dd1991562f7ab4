//! Home's dashboards (issue 17): every figure against a calculation done here over rows built
//! by hand (a clinic in Asia/Kolkata, "now" 10:00 on Sunday 15 March 2026): a cancelled bill,
//! a draft with an advance, a refund, credit notes, a deleted payment, a no-show, a merged
//! patient, and rows one instant either side of the clinic's midnight. Then who sees which
//! dashboard, and the wards' occupancy from the inpatients' own board.

mod common;
#[path = "common/hospital.rs"]
mod hospital;
#[path = "common/ward.rs"]
mod ward;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use hms_core::billing::PaymentMode;
use hms_core::codes::Code;
use hms_core::reports::dashboard::{self, MoneyPeriod};
use hms_core::setup::{self, NewAdmin};
use hms_core::{Authorized, Error, SessionSlot, Store};

const T: &str = "2026-01-01T00:00:00.000Z";
const TODAY: &str = "2026-03-15";

async fn exec(s: &Store, sql: &str, args: &[Option<&str>]) {
    let mut q = sqlx::query(sql);
    for a in args {
        q = q.bind(*a);
    }
    q.execute(s.pool()).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn local_date(instant: &str) -> NaiveDate {
    let ist = FixedOffset::east_opt(5 * 3600 + 30 * 60).unwrap();
    DateTime::parse_from_rfc3339(instant).unwrap().with_timezone(&ist).date_naive()
}

fn ymd(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn now() -> DateTime<Utc> {
    // 10:00 in Kolkata.
    Utc.with_ymd_and_hms(2026, 3, 15, 4, 30, 0).unwrap()
}

/// (id, created_at, merged_into)
const PATIENTS: [(&str, &str, Option<&str>); 7] = [
    ("p1", "2026-01-10T05:00:00.000Z", None),
    // Midnight of today in Kolkata: new today.
    ("p2", "2026-03-14T18:30:00.000Z", None),
    // One instant before: yesterday.
    ("p3", "2026-03-14T18:29:59.999Z", None),
    ("p4", "2026-03-15T03:00:00.000Z", None),
    ("p5", "2026-02-01T05:00:00.000Z", None),
    // A duplicate of p1 registered today and merged into it: p1's person, not new.
    ("p6", "2026-03-15T02:00:00.000Z", Some("p1")),
    ("p7", "2026-01-05T05:00:00.000Z", None),
];

struct Appt {
    id: &'static str,
    doctor: &'static str,
    patient: &'static str,
    date: &'static str,
    status: &'static str,
    checked_in: Option<&'static str>,
    walk_in: bool,
    deleted: bool,
}

const fn ap(
    id: &'static str,
    doctor: &'static str,
    patient: &'static str,
    date: &'static str,
    status: &'static str,
) -> Appt {
    Appt { id, doctor, patient, date, status, checked_in: None, walk_in: false, deleted: false }
}

const fn arrived(
    id: &'static str,
    doctor: &'static str,
    patient: &'static str,
    status: &'static str,
    at: &'static str,
) -> Appt {
    Appt { id, doctor, patient, date: TODAY, status, checked_in: Some(at), walk_in: false, deleted: false }
}

const APPTS: [Appt; 12] = [
    arrived("ap1", "dr-a", "p1", "done", "2026-03-15T03:40:00.000Z"),
    arrived("ap2", "dr-a", "p2", "checked_in", "2026-03-15T04:00:00.000Z"),
    arrived("ap3", "dr-a", "p3", "checked_in", "2026-03-15T04:20:00.000Z"),
    arrived("ap4", "dr-a", "p4", "with_doctor", "2026-03-15T03:50:00.000Z"),
    ap("ap5", "dr-a", "p5", TODAY, "no_show"),
    ap("ap6", "dr-b", "p5", TODAY, "cancelled"),
    // A walk-in, waiting longest (35 minutes), on the merged record.
    Appt { walk_in: true, ..arrived("ap7", "dr-b", "p6", "checked_in", "2026-03-15T03:55:00.000Z") },
    ap("ap8", "dr-a", "p1", "2026-03-14", "done"),
    ap("ap9", "dr-a", "p2", "2026-02-28", "done"),
    Appt { deleted: true, ..arrived("ap10", "dr-b", "p3", "done", "2026-03-15T03:00:00.000Z") },
    ap("ap11", "dr-a", "p5", TODAY, "booked"),
    // A cancelled walk-in: not on the list.
    Appt { walk_in: true, ..ap("ap12", "dr-b", "p7", TODAY, "cancelled") },
];

/// (id, status, finalized_at)
const BILLS: [(&str, &str, Option<&str>); 6] = [
    ("b1", "final", Some("2026-03-15T00:00:00.000Z")),
    // 23:59 on the 14th in Kolkata: this month, not today.
    ("b2", "final", Some("2026-03-14T18:29:00.000Z")),
    ("b3", "cancelled", Some("2026-03-15T01:00:00.000Z")),
    ("b4", "draft", None),
    // Midnight of the 15th in Kolkata: today.
    ("b5", "final", Some("2026-03-14T18:30:00.000Z")),
    // Last month: not this month's, still owed.
    ("b6", "final", Some("2026-02-28T18:29:59.000Z")),
];

/// (bill, quantity, price, discount %, tax bp, deleted)
const LINES: [(&str, i64, i64, i64, i64, bool); 8] = [
    ("b1", 1, 50_000, 0, 0, false),
    ("b1", 2, 75_050, 10, 1_800, false),
    ("b2", 1, 70_000, 0, 0, false),
    ("b3", 1, 50_000, 0, 0, false),
    ("b4", 1, 50_000, 0, 0, false),
    ("b5", 3, 2_000, 0, 0, false),
    ("b5", 1, 75_050, 0, 1_800, true),
    ("b6", 1, 40_000, 0, 500, false),
];

/// (bill, kind, mode, amount, received_at, deleted)
const PAYMENTS: [(&str, &str, &str, i64, &str, bool); 8] = [
    ("b1", "payment", "cash", 100_000, "2026-03-15T05:00:00.000Z", false),
    ("b1", "refund", "cash", 20_000, "2026-03-15T06:00:00.000Z", false),
    ("b1", "payment", "upi", 30_000, "2026-03-14T18:30:00.000Z", false),
    ("b2", "payment", "upi", 70_000, "2026-03-10T06:00:00.000Z", false),
    ("b4", "advance", "card", 10_000, "2026-03-15T04:00:00.000Z", false),
    // One instant before today's midnight: yesterday.
    ("b5", "payment", "card", 1_000, "2026-03-14T18:29:59.999Z", false),
    ("b6", "payment", "cash", 999, "2026-03-15T04:00:00.000Z", true),
    ("b3", "refund", "cash", 5_000, "2026-03-15T04:10:00.000Z", false),
];

/// (bill, amount, created_at)
const CREDIT_NOTES: [(&str, i64, &str); 3] = [
    ("b1", 10_000, "2026-03-15T02:00:00.000Z"),
    ("b3", 7_000, "2026-03-15T02:00:00.000Z"),
    ("b2", 2_000, "2026-03-02T02:00:00.000Z"),
];

/// (bill, claimed, approved, settled)
const CLAIMS: [(&str, i64, i64, i64); 4] =
    [("b5", 3_000, 0, 0), ("b2", 20_000, 20_000, 20_000), ("b6", 10_000, 8_000, 3_000), ("b3", 9_000, 0, 0)];

/// (id, doctor, patient, follow_up_date, deleted)
const VISITS: [(&str, &str, &str, &str, bool); 8] = [
    ("v1", "dr-a", "p1", "2026-03-15", false),
    // The oldest still due: 7 days ago.
    ("v2", "dr-a", "p3", "2026-03-08", false),
    ("v3", "dr-a", "p4", "2026-03-07", false),
    ("v4", "dr-a", "p5", "2026-03-10", false),
    ("v5", "dr-a", "p2", "2026-03-16", false),
    ("v6", "dr-a", "p7", "2026-03-12", false),
    ("v7", "dr-b", "p1", "2026-03-15", false),
    ("v8", "dr-a", "p7", "2026-03-13", true),
];

/// (order, orderer, status, result resulted_at, abnormal, result deleted)
const RESULTS: [(&str, &str, &str, &str, &str, bool); 5] = [
    ("o1", "dr.a", "resulted", "2026-03-14T05:00:00.000Z", "high", false),
    // Midnight of 8 March in Kolkata: 7 days back, counted.
    ("o2", "dr.a", "resulted", "2026-03-07T18:30:00.000Z", "normal", false),
    ("o3", "dr.a", "resulted", "2026-03-07T18:29:59.999Z", "low", false),
    ("o4", "dr.b", "resulted", "2026-03-15T01:00:00.000Z", "high", false),
    ("o5", "dr.a", "resulted", "2026-03-15T01:00:00.000Z", "low", true),
];

fn line_total(l: &(&str, i64, i64, i64, i64, bool)) -> i64 {
    let gross = l.1 * l.2;
    let discount = (gross * l.3 * 100 + 5_000) / 10_000;
    let tax = ((gross - discount) * l.4 + 5_000) / 10_000;
    gross - discount + tax
}

fn bill_total(bill: &str) -> i64 {
    LINES.iter().filter(|l| l.0 == bill && !l.5).map(line_total).sum()
}

fn is_final(bill: &str) -> bool {
    BILLS.iter().any(|b| b.0 == bill && b.1 == "final")
}

struct Clinic {
    env: common::Env,
    admin: Authorized,
    users: std::collections::HashMap<&'static str, String>,
}

async fn clinic() -> Clinic {
    let env = common::store().await;
    let s = &env.store;
    s.set_now(Some(now()));
    let slot = SessionSlot::default();
    let input =
        NewAdmin { username: "admin".into(), full_name: "Asha Menon".into(), password: common::ADMIN_PW.into() };
    setup::setup_first_admin(s, &slot, input).await.unwrap();
    let admin = slot.authorize(s).await.unwrap();
    let mut users = std::collections::HashMap::new();
    for (name, role) in [
        ("dr.a", "doctor"),
        ("dr.b", "doctor"),
        ("acc.pal", "accountant"),
        ("desk.roy", "receptionist"),
        ("n.joseph", "nurse"),
    ] {
        users.insert(name, common::add_user(s, &slot, name, &[role]).await);
    }
    exec(s, "INSERT INTO settings (key, value, created_at, updated_at, origin_device) VALUES ('time_zone', '\"Asia/Kolkata\"', ?, ?, 'd')", &[Some(T), Some(T)]).await;
    for (id, name, user) in [("dr-a", "Dr Asha", "dr.a"), ("dr-b", "Dr Bala", "dr.b")] {
        exec(
            s,
            "INSERT INTO staff (id, user_id, full_name, role, created_at, updated_at, origin_device) VALUES (?, ?, ?, 'doctor', ?, ?, 'd')",
            &[Some(id), Some(&users[user]), Some(name), Some(T), Some(T)],
        )
        .await;
    }
    for (i, (id, created, merged)) in PATIENTS.iter().enumerate() {
        let status = if merged.is_some() { "merged" } else { "active" };
        exec(
            s,
            "INSERT INTO patients (id, mrn, given_name, family_name, sex, status, merged_into, created_at, updated_at, origin_device) VALUES (?, ?, 'Name', ?, 'female', ?, ?, ?, ?, 'd')",
            &[Some(id), Some(&format!("MRN{i}")), Some(id), Some(status), *merged, Some(created), Some(T)],
        )
        .await;
        if let Some(survivor) = merged {
            exec(
                s,
                "INSERT INTO patient_merges (id, survivor_id, merged_id, merged_mrn, snapshot, merged_at, updated_at) VALUES (?, ?, ?, ?, '{}', ?, ?)",
                &[Some(&format!("m-{id}")), Some(survivor), Some(id), Some(&format!("MRN{i}")), Some(T), Some(T)],
            )
            .await;
        }
    }
    for (i, a) in APPTS.iter().enumerate() {
        let (start, end) = ((i * 15 + 540).to_string(), (i * 15 + 555).to_string());
        exec(
            s,
            "INSERT INTO appointments (id, patient_id, doctor_id, date, start_min, end_min, starts_at, ends_at, status, walk_in, token, checked_in_at,
                                       created_at, updated_at, origin_device, deleted_at)
             VALUES (?, ?, ?, ?, CAST(? AS INTEGER), CAST(? AS INTEGER), ?, ?, ?, CAST(? AS INTEGER), ?, ?, ?, ?, 'd', ?)",
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
                Some(if a.walk_in { "1" } else { "0" }),
                a.checked_in.map(|_| a.id),
                a.checked_in,
                Some(T),
                Some(T),
                a.deleted.then_some(T),
            ],
        )
        .await;
    }
    for b in BILLS {
        let total = bill_total(b.0).to_string();
        exec(
            s,
            "INSERT INTO bills (id, patient_id, status, number, currency, finalized_at, total_minor, created_at, updated_at, origin_device) VALUES (?, 'p1', ?, ?, 'INR', ?, CAST(? AS INTEGER), ?, ?, 'd')",
            &[Some(b.0), Some(b.1), b.2.map(|_| b.0), b.2, Some(&total), Some(T), Some(T)],
        )
        .await;
    }
    for (i, l) in LINES.iter().enumerate() {
        let (kind, value) = if l.3 > 0 { ("percent", (l.3 * 100).to_string()) } else { ("none", "0".into()) };
        exec(
            s,
            "INSERT INTO bill_lines (id, bill_id, position, description, category, quantity, unit_price_minor, discount_kind, discount_value,
                                     tax_rate_bp, created_at, updated_at, origin_device, deleted_at)
             VALUES (?, ?, 1, 'Item', 'other', CAST(? AS INTEGER), CAST(? AS INTEGER), ?, CAST(? AS INTEGER), CAST(? AS INTEGER), ?, ?, 'd', ?)",
            &[
                Some(&format!("l{i}")),
                Some(l.0),
                Some(&l.1.to_string()),
                Some(&l.2.to_string()),
                Some(kind),
                Some(&value),
                Some(&l.4.to_string()),
                Some(T),
                Some(T),
                l.5.then_some(T),
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
    for (i, c) in CLAIMS.iter().enumerate() {
        exec(
            s,
            "INSERT INTO bill_insurance (id, bill_id, payer, claimed_minor, approved_minor, settled_minor, created_at, updated_at, origin_device)
             VALUES (?, ?, 'Star Health', CAST(? AS INTEGER), CAST(? AS INTEGER), CAST(? AS INTEGER), ?, ?, 'd')",
            &[Some(&format!("ins{i}")), Some(c.0), Some(&c.1.to_string()), Some(&c.2.to_string()), Some(&c.3.to_string()), Some(T), Some(T)],
        )
        .await;
    }
    for v in VISITS {
        exec(
            s,
            "INSERT INTO visits (id, patient_id, doctor_id, started_at, follow_up_date, created_at, updated_at, origin_device, deleted_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, 'd', ?)",
            &[Some(v.0), Some(v.2), Some(v.1), Some(T), Some(v.3), Some(T), Some(T), v.4.then_some(T)],
        )
        .await;
    }
    exec(s, "INSERT INTO lab_tests (id, code, name, created_at, updated_at, origin_device) VALUES ('t-hb', 'HB', 'Haemoglobin', ?, ?, 'd')", &[Some(T), Some(T)]).await;
    for r in RESULTS {
        exec(
            s,
            "INSERT INTO lab_orders (id, patient_id, test_id, status, ordered_at, ordered_by, created_at, updated_at, origin_device)
             VALUES (?, 'p2', 't-hb', ?, ?, ?, ?, ?, 'd')",
            &[Some(r.0), Some(r.2), Some(T), Some(&users[r.1]), Some(T), Some(T)],
        )
        .await;
        exec(
            s,
            "INSERT INTO lab_results (id, order_id, patient_id, test_id, value, abnormal, resulted_at, created_at, updated_at, origin_device, deleted_at)
             VALUES (?, ?, 'p2', 't-hb', '13.5', ?, ?, ?, ?, 'd', ?)",
            &[Some(&format!("r-{}", r.0)), Some(r.0), Some(r.4), Some(r.3), Some(T), Some(T), r.5.then_some(T)],
        )
        .await;
    }
    Clinic { env, admin, users }
}

async fn sign_in(s: &Store, name: &str) -> Authorized {
    let slot = SessionSlot::default();
    hms_core::auth::sign_in(s, &slot, name, common::STAFF_PW).await.unwrap();
    slot.authorize(s).await.unwrap()
}

/// The money of the clinic days `days` as counted here.
fn expected_money(days: impl Fn(NaiveDate) -> bool) -> MoneyPeriod {
    let counted: Vec<_> = LINES
        .iter()
        .filter(|l| {
            !l.5 && BILLS.iter().any(|b| b.0 == l.0 && b.1 == "final" && b.2.is_some_and(|f| days(local_date(f))))
        })
        .collect();
    let invoiced: i64 = counted.iter().map(|l| line_total(l)).sum();
    let mut bills: Vec<&str> = counted.iter().map(|l| l.0).collect();
    bills.dedup();
    let credit_notes: i64 = CREDIT_NOTES.iter().filter(|c| is_final(c.0) && days(local_date(c.2))).map(|c| c.1).sum();
    let moved = |mode: &str, refund: bool| -> i64 {
        PAYMENTS
            .iter()
            .filter(|p| !p.5 && p.2 == mode && (p.1 == "refund") == refund && days(local_date(p.4)))
            .map(|p| p.3)
            .sum()
    };
    let by_mode: Vec<dashboard::ModeMoney> = PaymentMode::ALL
        .into_iter()
        .map(|m| dashboard::ModeMoney { mode: m, received: moved(m.code(), false), refunded: moved(m.code(), true) })
        .collect();
    MoneyPeriod {
        from: String::new(),
        to: String::new(),
        invoices: bills.len() as i64,
        invoiced,
        credit_notes,
        net: invoiced - credit_notes,
        received: by_mode.iter().map(|m| m.received).sum(),
        refunded: by_mode.iter().map(|m| m.refunded).sum(),
        by_mode,
    }
}

fn attendance(days: impl Fn(NaiveDate) -> bool) -> dashboard::Attendance {
    let of = |statuses: &[&str]| {
        APPTS.iter().filter(|a| !a.deleted && days(ymd(a.date)) && statuses.contains(&a.status)).count() as i64
    };
    dashboard::Attendance {
        kept: of(&["checked_in", "with_doctor", "done"]),
        no_show: of(&["no_show"]),
        cancelled: of(&["cancelled"]),
        booked: of(&["booked"]),
    }
}

#[tokio::test]
async fn the_administrators_dashboard_counts_as_the_books_do() {
    let c = clinic().await;
    let s = &c.env.store;
    let d = dashboard::admin(s, &c.admin).await.unwrap();
    let today = ymd(TODAY);
    let month = |d: NaiveDate| d >= ymd("2026-03-01") && d <= today;

    let mut want = expected_money(|d| d == today);
    (want.from, want.to) = (TODAY.into(), TODAY.into());
    assert_eq!(d.today, want);
    // By hand: b1 and b5 today; the advance on the draft and the refund on the cancelled bill
    // are money moved all the same.
    assert_eq!(d.today.invoices, 2);
    assert_eq!(d.today.received, 100_000 + 30_000 + 10_000);
    assert_eq!(d.today.refunded, 20_000 + 5_000);
    let mut want = expected_money(month);
    (want.from, want.to) = ("2026-03-01".into(), TODAY.into());
    assert_eq!(d.month, want);
    assert_eq!(d.month.invoices, 3);

    // Receivables: every final invoice's total − credit notes − net payments, where positive.
    let dues: Vec<i64> = BILLS
        .iter()
        .filter(|b| b.1 == "final")
        .map(|b| {
            let credited: i64 = CREDIT_NOTES.iter().filter(|c| c.0 == b.0).map(|c| c.1).sum();
            let paid: i64 =
                PAYMENTS.iter().filter(|p| p.0 == b.0 && !p.5).map(|p| if p.1 == "refund" { -p.3 } else { p.3 }).sum();
            bill_total(b.0) - credited - paid
        })
        .filter(|d| *d > 0)
        .collect();
    assert_eq!(d.receivables.invoices, dues.len() as i64);
    assert_eq!(d.receivables.amount, dues.iter().sum::<i64>());
    assert!(d.receivables.invoices >= 3, "b1, b5 and b6 still owe: {:?}", d.receivables);

    // Open claims: awaiting a decision or approved and not all paid, on final invoices.
    let open: Vec<_> = CLAIMS.iter().filter(|c| is_final(c.0) && ((c.2 == 0 && c.1 > 0) || c.3 < c.2)).collect();
    assert_eq!(d.claims.open, 2);
    assert_eq!(d.claims.open, open.len() as i64);
    assert_eq!(d.claims.claimed, open.iter().map(|c| c.1).sum::<i64>());
    assert_eq!(d.claims.approved, open.iter().map(|c| c.2).sum::<i64>());
    assert_eq!(d.claims.settled, open.iter().map(|c| c.3).sum::<i64>());

    // People seen today (checked in or later), a merged record as its survivor; new when the
    // person's first attended appointment ever (any of their records) is today.
    let person = |p: &'static str| PATIENTS.iter().find(|x| x.0 == p).and_then(|x| x.2).unwrap_or(p);
    let attended = |a: &&Appt| !a.deleted && ["checked_in", "with_doctor", "done"].contains(&a.status);
    let mut seen: Vec<&str> =
        APPTS.iter().filter(attended).filter(|a| a.date == TODAY).map(|a| person(a.patient)).collect();
    seen.sort();
    seen.dedup();
    let first_seen =
        |p: &str| APPTS.iter().filter(attended).filter(|a| person(a.patient) == p).map(|a| ymd(a.date)).min().unwrap();
    let new = seen.iter().filter(|p| first_seen(p) == today).count() as i64;
    assert_eq!((d.patients_today.new, d.patients_today.returning), (new, seen.len() as i64 - new));
    assert_eq!(
        (new, seen.len()),
        (2, 4),
        "p3 and p4 new; p1 (seen yesterday, and today as its merged p6) and p2 (February) returning"
    );

    // This month the same way: people seen from the 1st to today, once each however many days.
    let mut seen_month: Vec<&str> =
        APPTS.iter().filter(attended).filter(|a| month(ymd(a.date))).map(|a| person(a.patient)).collect();
    seen_month.sort();
    seen_month.dedup();
    let new_month = seen_month.iter().filter(|p| month(first_seen(p))).count() as i64;
    assert_eq!((d.patients_month.new, d.patients_month.returning), (new_month, seen_month.len() as i64 - new_month));
    assert_eq!((new_month, seen_month.len()), (3, 4), "p2 was first seen in February");

    assert_eq!(d.appointments_today, attendance(|d| d == today));
    assert_eq!(d.appointments_month, attendance(month));
    assert_eq!(d.appointments_today.no_show, 1);

    // The dues table equals a recount, and still does after a payment and a cancellation.
    assert!(hms_core::reports::summary::verify(s).await.unwrap().is_empty());
    exec(s, "UPDATE bills SET status = 'cancelled' WHERE id = 'b6'", &[]).await;
    exec(s, "UPDATE payments SET deleted_at = ? WHERE id = 'py0'", &[Some(T)]).await;
    assert!(hms_core::reports::summary::verify(s).await.unwrap().is_empty());
    let after = dashboard::admin(s, &c.admin).await.unwrap();
    assert_eq!(after.receivables.amount, d.receivables.amount - (bill_total("b6")) + 100_000);

    // The accountant sees it; the desk and a doctor do not.
    let acc = sign_in(s, "acc.pal").await;
    assert!(dashboard::admin(s, &acc).await.is_ok());
    for who in ["desk.roy", "dr.a"] {
        let a = sign_in(s, who).await;
        assert!(matches!(dashboard::admin(s, &a).await, Err(Error::Forbidden { .. })), "{who}");
    }
}

#[tokio::test]
async fn the_desk_sees_todays_appointments_by_doctor_and_the_longest_wait() {
    let c = clinic().await;
    let s = &c.env.store;
    let desk = sign_in(s, "desk.roy").await;
    let d = dashboard::reception(s, &desk).await.unwrap();
    let today: Vec<&Appt> = APPTS.iter().filter(|a| a.date == TODAY && !a.deleted).collect();
    let mut doctors: Vec<&str> = today.iter().map(|a| a.doctor).collect();
    doctors.sort();
    doctors.dedup();
    assert_eq!(d.doctors.iter().map(|x| x.doctor_id.as_str()).collect::<Vec<_>>(), doctors);
    for row in &d.doctors {
        let mine: Vec<&&Appt> = today.iter().filter(|a| a.doctor == row.doctor_id).collect();
        let of = |st: &[&str]| mine.iter().filter(|a| st.contains(&a.status)).count() as i64;
        assert_eq!(row.booked, mine.iter().filter(|a| a.status != "cancelled").count() as i64);
        assert_eq!(row.arrived, of(&["checked_in", "with_doctor", "done"]));
        assert_eq!(row.waiting, of(&["checked_in"]));
        assert_eq!(row.with_doctor, of(&["with_doctor"]));
        assert_eq!(row.done, of(&["done"]));
        assert_eq!(row.no_show, of(&["no_show"]));
        assert_eq!(row.cancelled, of(&["cancelled"]));
        assert_eq!(row.walk_ins, mine.iter().filter(|a| a.walk_in && a.status != "cancelled").count() as i64);
    }
    assert_eq!(d.totals.booked, d.doctors.iter().map(|x| x.booked).sum::<i64>());
    assert_eq!((d.totals.waiting, d.totals.walk_ins), (3, 1));
    let w = d.longest_wait.unwrap();
    assert_eq!((w.minutes, w.doctor_name.as_str(), w.token.as_deref()), (35, "Dr Bala", Some("ap7")));
    assert_eq!(w.patient_name, "Name p6");

    // A lab technician has no desk dashboard.
    let lab = {
        let slot = SessionSlot::default();
        let admin_slot = SessionSlot::default();
        hms_core::auth::sign_in(s, &admin_slot, "admin", common::ADMIN_PW).await.unwrap();
        common::add_user(s, &admin_slot, "lab.khan", &["lab_technician"]).await;
        hms_core::auth::sign_in(s, &slot, "lab.khan", common::STAFF_PW).await.unwrap();
        slot.authorize(s).await.unwrap()
    };
    assert!(matches!(dashboard::reception(s, &lab).await, Err(Error::Forbidden { .. })));
    let home = dashboard::home(s, &lab).await.unwrap();
    assert!(home.admin.is_none() && home.reception.is_none() && home.doctor.is_none() && home.nurse.is_none());
}

#[tokio::test]
async fn a_doctor_sees_their_own_patients_queue_results_and_follow_ups() {
    let c = clinic().await;
    let s = &c.env.store;
    let dr = sign_in(s, "dr.a").await;
    let d = dashboard::doctor(s, &dr).await.unwrap();
    assert_eq!(d.doctor_id, "dr-a");
    let mine: Vec<&Appt> = APPTS.iter().filter(|a| a.doctor == "dr-a" && a.date == TODAY && !a.deleted).collect();
    let mut patients: Vec<&str> =
        mine.iter().filter(|a| !["cancelled", "no_show"].contains(&a.status)).map(|a| a.patient).collect();
    patients.sort();
    patients.dedup();
    assert_eq!(d.patients_today, patients.len() as i64);
    assert_eq!(d.patients_today, 5);
    assert_eq!(d.seen_today, mine.iter().filter(|a| a.status == "done").count() as i64);
    assert_eq!(d.to_come, 1);
    // The queue, longest waiting first, with the minutes since check-in.
    let q: Vec<(&str, i64)> = d.queue.iter().map(|p| (p.appointment_id.as_str(), p.waiting_minutes)).collect();
    assert_eq!(q, [("ap2", 30), ("ap3", 10)]);
    assert_eq!(d.queue_count, 2);
    assert_eq!(d.with_me.iter().map(|p| p.appointment_id.as_str()).collect::<Vec<_>>(), ["ap4"]);

    // Results of my orders back since midnight 7 days ago (clinic time), newest first.
    let since = ymd("2026-03-08");
    let want: Vec<&str> =
        RESULTS.iter().filter(|r| r.1 == "dr.a" && !r.5 && local_date(r.3) >= since).map(|r| r.0).collect();
    assert_eq!(d.results.iter().map(|r| r.order_id.as_str()).collect::<Vec<_>>(), want);
    assert_eq!(want, ["o1", "o2"]);
    assert_eq!((d.results_count, d.results_abnormal), (2, 1));
    assert_eq!(d.results[0].test_name, "Haemoglobin");

    // Read by orderer (migration 0060), kept whatever writes the orders and results: an order
    // given to another doctor, a result back later, a result arriving before its order (as by
    // sync), an order cancelled, a result deleted.
    let mine = |d: &dashboard::DoctorDashboard| d.results.iter().map(|r| r.order_id.clone()).collect::<Vec<_>>();
    exec(s, "UPDATE lab_orders SET ordered_by = ? WHERE id = 'o1'", &[Some(&c.users["dr.b"])]).await;
    exec(s, "UPDATE lab_results SET resulted_at = '2026-03-15T02:00:00.000Z' WHERE id = 'r-o3'", &[]).await;
    let mut tx = s.pool().begin().await.unwrap();
    for sql in [
        "PRAGMA defer_foreign_keys = ON".to_string(),
        format!(
            "INSERT INTO lab_results (id, order_id, patient_id, test_id, value, abnormal, resulted_at, created_at, updated_at, origin_device)
             VALUES ('r-o6', 'o6', 'p2', 't-hb', '9.1', 'low', '2026-03-14T06:00:00.000Z', '{T}', '{T}', 'd')"
        ),
        format!(
            "INSERT INTO lab_orders (id, patient_id, test_id, status, ordered_at, ordered_by, created_at, updated_at, origin_device)
             VALUES ('o6', 'p2', 't-hb', 'resulted', '{T}', '{}', '{T}', '{T}', 'd')",
            c.users["dr.a"]
        ),
    ] {
        sqlx::query(&sql).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    assert_eq!(mine(&dashboard::doctor(s, &dr).await.unwrap()), ["o3", "o6", "o2"]);
    exec(s, "UPDATE lab_orders SET status = 'cancelled' WHERE id = 'o6'", &[]).await;
    exec(s, "UPDATE lab_results SET deleted_at = ? WHERE id = 'r-o2'", &[Some(T)]).await;
    assert_eq!(mine(&dashboard::doctor(s, &dr).await.unwrap()), ["o3"]);
    exec(s, "DELETE FROM lab_results WHERE id = 'r-o3'", &[]).await;
    exec(s, "UPDATE lab_orders SET deleted_at = ? WHERE id = 'o4'", &[Some(T)]).await;
    assert!(mine(&dashboard::doctor(s, &dr).await.unwrap()).is_empty());
    let b = dashboard::doctor(s, &sign_in(s, "dr.b").await).await.unwrap();
    assert_eq!(mine(&b), ["o1"], "o4's order is gone; o1 is Dr Bala's now");
    assert_eq!(hms_core::reports::summary::verify(s).await.unwrap(), Vec::<String>::new());

    // Follow-ups of my visits dated today back to 7 days ago; booked when the patient has an
    // appointment (not cancelled or missed) on or after the date.
    let want: Vec<(&str, bool)> = VISITS
        .iter()
        .filter(|v| v.1 == "dr-a" && !v.4 && ymd(v.3) >= since && ymd(v.3) <= ymd(TODAY))
        .map(|v| {
            let booked = APPTS.iter().any(|a| {
                a.patient == v.2
                    && !a.deleted
                    && ymd(a.date) >= ymd(v.3)
                    && !["cancelled", "no_show"].contains(&a.status)
            });
            (v.0, booked)
        })
        .collect();
    let mut got: Vec<(&str, bool)> = d.follow_ups.iter().map(|f| (f.visit_id.as_str(), f.booked)).collect();
    let mut sorted = want.clone();
    sorted.sort_by_key(|(id, _)| VISITS.iter().find(|v| v.0 == *id).map(|v| v.3));
    got.sort_by_key(|(id, _)| VISITS.iter().find(|v| v.0 == *id).map(|v| v.3));
    assert_eq!(got, sorted);
    assert_eq!(d.follow_ups_count, 4);
    assert_eq!(d.follow_ups_unbooked, want.iter().filter(|(_, b)| !b).count() as i64);
    assert_eq!(d.follow_ups_unbooked, 1, "v6: p7 has no appointment");

    // Dr Bala's Home is Dr Bala's; a doctor without a staff profile has none.
    let b = dashboard::doctor(s, &sign_in(s, "dr.b").await).await.unwrap();
    assert_eq!((b.doctor_id.as_str(), b.queue_count, b.results_count), ("dr-b", 1, 1));
    exec(s, "UPDATE staff SET user_id = NULL WHERE id = 'dr-b'", &[]).await;
    let lost = sign_in(s, "dr.b").await;
    assert!(matches!(dashboard::doctor(s, &lost).await, Err(Error::NotFound { .. })));
    assert!(dashboard::home(s, &lost).await.unwrap().doctor.is_none());
    // The desk may not open a doctor's Home.
    let desk = sign_in(s, "desk.roy").await;
    assert!(matches!(dashboard::doctor(s, &desk).await, Err(Error::Forbidden { .. })));
    let _ = &c.users;
}

#[tokio::test]
async fn home_gives_each_role_its_dashboards() {
    let c = clinic().await;
    let s = &c.env.store;
    let home = dashboard::home(s, &c.admin).await.unwrap();
    assert_eq!((home.today.as_str(), home.month_from.as_str(), home.currency.as_str()), (TODAY, "2026-03-01", "INR"));
    assert!(home.admin.is_some() && home.reception.is_none() && home.doctor.is_none() && home.nurse.is_none());
    let desk = dashboard::home(s, &sign_in(s, "desk.roy").await).await.unwrap();
    assert!(desk.reception.is_some() && desk.admin.is_none() && desk.doctor.is_none() && desk.nurse.is_none());
    let dr = dashboard::home(s, &sign_in(s, "dr.a").await).await.unwrap();
    assert!(dr.doctor.is_some() && dr.admin.is_none() && dr.reception.is_none() && dr.nurse.is_none());
    let nurse = dashboard::home(s, &sign_in(s, "n.joseph").await).await.unwrap();
    assert!(nurse.nurse.is_some() && nurse.admin.is_none() && nurse.reception.is_none() && nurse.doctor.is_none());
    let acc = dashboard::home(s, &sign_in(s, "acc.pal").await).await.unwrap();
    assert!(acc.admin.is_some() && acc.reception.is_none());
}

#[tokio::test]
async fn the_wards_occupancy_is_the_bed_boards() {
    let h = hospital::hospital().await;
    let s = &h.w.env.store;
    use hms_core::inpatients::{setup as beds, stays};
    stays::admit(s, &h.doctor, h.admit_input(0, Some(&h.a1))).await.unwrap();
    stays::admit(s, &h.doctor, h.admit_input(1, None)).await.unwrap();
    stays::admit(s, &h.doctor, h.admit_input(2, Some(&h.icu1))).await.unwrap();
    beds::out_of_service(s, &h.admin, &h.a3, "Broken rail").await.unwrap();
    let d = dashboard::nurse(s, &h.nurse).await.unwrap();
    let general = d.wards.iter().find(|w| w.ward_id == h.general).unwrap();
    assert_eq!(
        (general.beds, general.occupied, general.free, general.out_of_service, general.waiting),
        (3, 1, 1, 1, 1)
    );
    // 1 of the 2 beds in service.
    assert_eq!(general.occupancy_bp, Some(5_000));
    let icu = d.wards.iter().find(|w| w.ward_id == h.icu).unwrap();
    assert_eq!((icu.beds, icu.occupied, icu.occupancy_bp), (1, 1, Some(10_000)));
    // The lab has no ward dashboard.
    assert!(matches!(dashboard::nurse(s, &h.lab).await, Err(Error::Forbidden { .. })));
}
