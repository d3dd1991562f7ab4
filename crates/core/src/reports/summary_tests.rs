//! The summary tables against a full recount (`summary::verify`) after writes through every
//! path that changes what they count: bookings, check-in, calls, finishing, no-shows,
//! cancellations and a reschedule; bills with lines, finalised, paid, refunded, credited and
//! cancelled; insurance claims recorded, approved, settled; a patient merge; the same rows applied on another device through the sync
//! apply path and that device's own writes sent back; and rows written, changed and deleted
//! by plain SQL (as a bulk import or a repair would).

use super::summary::verify;
use crate::billing::money::Discount;
use crate::billing::{bills, payments, tariff, LineInput, PaymentInput, PaymentMode, ServiceInput};
use crate::schedule::availability::{self, SessionInput};
use crate::schedule::booking::{self, BookInput};
use crate::schedule::{queue, staff};
use crate::session::{Authorized, SessionSlot};
use crate::setup::{self, NewAdmin};
use crate::store::{Actor, Store};
use crate::sync::apply::{apply, Outcome};
use crate::sync::rows::Columns;
use chrono::TimeZone;
use hms_protocol::Change;
use serde_json::json;

const PW: &str = "Clinic#2026adm";

struct Dev {
    _dir: tempfile::TempDir,
    store: Store,
}

async fn device(admin: &str) -> (Dev, Authorized) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in_dir(dir.path()).await.unwrap();
    // Monday 2026-11-23, 09:20 in Kolkata.
    store.set_now(Some(chrono::Utc.with_ymd_and_hms(2026, 11, 23, 3, 50, 0).unwrap()));
    let slot = SessionSlot::default();
    let input = NewAdmin { username: admin.into(), full_name: "Admin".into(), password: PW.into() };
    setup::setup_first_admin(&store, &slot, input).await.unwrap();
    let auth = slot.authorize(&store).await.unwrap();
    (Dev { _dir: dir, store }, auth)
}

async fn agrees(store: &Store, when: &str) {
    let diff = verify(store).await.unwrap();
    assert!(diff.is_empty(), "{when}: the summaries differ from a recount: {diff:?}");
}

/// Every summary's non-zero rows, to compare two devices.
async fn summaries(store: &Store) -> Vec<String> {
    let mut out = Vec::new();
    for (table, kept, _) in super::summary::RECOUNTS {
        // The kept rows (`SELECT <columns> FROM <table> WHERE …`), each as one JSON array.
        let columns = kept.trim_start_matches("SELECT ").split(" FROM ").next().unwrap();
        let sql = format!("SELECT '{table} ' || json_array({columns}) FROM ({kept}) ORDER BY 1");
        out.extend(sqlx::query_scalar::<_, String>(&sql).fetch_all(store.pool()).await.unwrap());
    }
    out
}

async fn outbox(store: &Store, after: i64) -> Vec<Change> {
    let sql = format!("SELECT {} FROM change_log WHERE seq > ? ORDER BY seq", crate::store::seal::OUTBOX_COLUMNS);
    let rows: Vec<crate::store::seal::OutboxRow> =
        sqlx::query_as(&sql).bind(after).fetch_all(store.pool()).await.unwrap();
    rows.into_iter().map(|r| crate::store::seal::to_change(r).unwrap()).collect()
}

async fn last_seq(store: &Store) -> i64 {
    sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM change_log").fetch_one(store.pool()).await.unwrap()
}

/// Applies changes one transaction each, as a pull does page by page.
async fn apply_all(store: &Store, changes: &[Change]) {
    for c in changes {
        let mut w = store.begin_write(Actor::system()).await.unwrap();
        let outcome = apply(&mut w, &mut Columns::default(), c).await.unwrap();
        assert_ne!(outcome, Outcome::Refused, "{} {}", c.entity, c.entity_id);
        if let Some(s) = crate::clock::HlcStamp::parse(&c.hlc) {
            w.observe(&s);
        }
        w.audit("test.apply", "sync", None, json!({})).await.unwrap();
        w.commit().await.unwrap();
    }
}

async fn exec(store: &Store, sql: &str) {
    sqlx::query(sql).execute(store.pool()).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn book(patient: &str, doctor: &str, date: &str, start: &str) -> BookInput {
    BookInput {
        patient_id: patient.into(),
        doctor_id: doctor.into(),
        date: date.into(),
        start: start.into(),
        reason: String::new(),
        overbook: false,
    }
}

fn cash(mode: PaymentMode, amount_minor: i64) -> PaymentInput {
    PaymentInput { mode, amount_minor, reference: String::new(), note: "at the desk".into() }
}

#[tokio::test]
async fn the_summaries_equal_a_recount_whatever_wrote_the_records() {
    let (a, auth) = device("admin").await;
    let s = &a.store;
    crate::settings::set_time_zone(s, &auth, "Asia/Kolkata").await.unwrap();
    let mut doctors = Vec::new();
    for (name, fee) in [("Dr Meera Iyer", 50_000), ("Dr Arjun Nair", 70_000)] {
        let input =
            staff::StaffInput { full_name: name.into(), role: "doctor".into(), fee_minor: fee, ..Default::default() };
        let id = staff::add_staff(s, &auth, input).await.unwrap().id;
        let week = (1..=6)
            .map(|d| SessionInput { weekday: d, start: "09:00".into(), end: "13:00".into(), slot_minutes: 15 })
            .collect();
        availability::set_weekly(s, &auth, &id, week).await.unwrap();
        doctors.push(id);
    }
    let xray = tariff::add_service(
        s,
        &auth,
        ServiceInput {
            code: "XR".into(),
            name: "X-ray".into(),
            category: "procedure".into(),
            tax_rate_bp: 1800,
            tax_exempt: false,
            price_minor: 120_050,
            effective_from: None,
        },
    )
    .await
    .unwrap()
    .id;
    let mut people = Vec::new();
    for i in 0..6 {
        let p = crate::patients::PatientInput {
            given_name: format!("Patient{i}"),
            sex: "unknown".into(),
            ..Default::default()
        };
        people.push(crate::patients::register(s, &auth, p).await.unwrap().id);
    }
    let (d1, d2) = (&doctors[0], &doctors[1]);

    // Appointments: seen, waiting, no-show, cancelled, rescheduled, a walk-in.
    let seen = booking::book(s, &auth, book(&people[0], d1, "2026-11-23", "10:00")).await.unwrap();
    let waiting = booking::book(s, &auth, book(&people[1], d1, "2026-11-23", "10:15")).await.unwrap();
    let missed = booking::book(s, &auth, book(&people[2], d2, "2026-11-23", "09:30")).await.unwrap();
    let off = booking::book(s, &auth, book(&people[3], d2, "2026-11-24", "10:30")).await.unwrap();
    let moved = booking::book(s, &auth, book(&people[4], d1, "2026-11-24", "11:00")).await.unwrap();
    agrees(s, "after booking").await;
    queue::check_in(s, &auth, &seen.id).await.unwrap();
    queue::check_in(s, &auth, &waiting.id).await.unwrap();
    let walk = queue::walk_in(s, &auth, &people[5], d2, "fever").await.unwrap();
    s.set_now(Some(chrono::Utc.with_ymd_and_hms(2026, 11, 23, 4, 27, 30).unwrap()));
    queue::call_in(s, &auth, &seen.id).await.unwrap();
    queue::call_in(s, &auth, &walk.id).await.unwrap();
    queue::finish(s, &auth, &seen.id).await.unwrap();
    booking::no_show(s, &auth, &missed.id).await.unwrap();
    booking::cancel(s, &auth, &off.id, "patient asked").await.unwrap();
    let moved = booking::reschedule(s, &auth, &moved.id, d2, "2026-11-24", "11:15").await.unwrap();
    agrees(s, "after the day's queue").await;

    // Bills: the consultations charged at check-in, an X-ray with a discount, finalised;
    // paid, refunded, credited; one cancelled after finalising.
    let line = |quantity, discount| LineInput {
        service_id: Some(xray.clone()),
        description: String::new(),
        quantity,
        unit_price_minor: None,
        discount,
    };
    let b0 = bills::open_bill(s, &auth, &people[0]).await.unwrap().id;
    bills::add_line(s, &auth, &b0, line(2, Discount::Percent(1_000))).await.unwrap();
    bills::add_line(s, &auth, &b0, line(1, Discount::None)).await.unwrap();
    bills::finalize(s, &auth, &b0).await.unwrap();
    payments::pay(s, &auth, &b0, cash(PaymentMode::Cash, 100_000)).await.unwrap();
    payments::pay(s, &auth, &b0, cash(PaymentMode::Upi, 50_000)).await.unwrap();
    payments::refund(s, &auth, &b0, cash(PaymentMode::Cash, 20_000)).await.unwrap();
    payments::credit_note(s, &auth, &b0, 10_000, "goodwill").await.unwrap();
    let b1 = bills::open_bill(s, &auth, &people[1]).await.unwrap().id;
    bills::add_line(s, &auth, &b1, line(1, Discount::Amount(5_000))).await.unwrap();
    bills::finalize(s, &auth, &b1).await.unwrap();
    payments::credit_note(s, &auth, &b1, 1_000, "rounding").await.unwrap();
    agrees(s, "before the cancellation").await;
    bills::cancel(s, &auth, &b1, "wrong patient").await.unwrap();
    let b5 = bills::open_bill(s, &auth, &people[5]).await.unwrap().id;
    bills::finalize(s, &auth, &b5).await.unwrap();
    payments::pay(s, &auth, &b5, cash(PaymentMode::Card, 70_000)).await.unwrap();
    // Claims: on b0 (approved in part, then settled), on b5 (awaiting), on b1 (cancelled).
    let claim = |payer: &str, claimed_minor, approved_minor| crate::billing::Insurance {
        payer: payer.into(),
        policy_no: "P-1".into(),
        preauth_no: String::new(),
        claimed_minor,
        approved_minor,
        settled_minor: 0,
    };
    payments::set_insurance(s, &auth, &b0, claim("Star Health", 40_000, 0)).await.unwrap();
    payments::set_insurance(s, &auth, &b5, claim(" star health ", 30_000, 0)).await.unwrap();
    agrees(s, "after claims recorded").await;
    payments::set_insurance(s, &auth, &b0, claim("Star Health", 40_000, 35_000)).await.unwrap();
    payments::settle_insurance(s, &auth, &b0, 35_000, "NEFT-1").await.unwrap();
    agrees(s, "after a claim approved and settled").await;
    let lines: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM report_revenue_lines_day WHERE doctor_id <> '' AND n > 0")
            .fetch_one(s.pool())
            .await
            .unwrap();
    assert!(lines >= 2, "consultations counted under their doctors");
    agrees(s, "after billing").await;

    // A merge: the no-show's patient into the first.
    crate::patients::merge::merge(s, &auth, &people[0], &people[2], "same person").await.unwrap();
    agrees(s, "after the merge").await;
    // An edit that moves a registration to another sex, birth year and place.
    let edit = crate::patients::PatientInput {
        given_name: "Patient1".into(),
        sex: "female".into(),
        birth_date: Some("1961-03-01".into()),
        district: "Pune".into(),
        city: "Aundh".into(),
        ..Default::default()
    };
    crate::patients::update(s, &auth, &people[1], edit).await.unwrap();
    agrees(s, "after a patient's details edited").await;

    // Another device applies all of it through the sync apply path, and counts the same.
    let (b, b_auth) = device("ward-admin").await;
    let sent = last_seq(s).await;
    apply_all(&b.store, &outbox(s, 0).await).await;
    agrees(&b.store, "on the other device").await;
    assert_eq!(summaries(&b.store).await, summaries(s).await, "both devices count the same");

    // That device's own writes, sent back.
    let before_b = last_seq(&b.store).await;
    booking::cancel(&b.store, &b_auth, &moved.id, "clinic closed").await.unwrap();
    payments::refund(&b.store, &b_auth, &b5, cash(PaymentMode::Card, 5_000)).await.unwrap();
    agrees(&b.store, "after the other device's writes").await;
    apply_all(s, &outbox(&b.store, before_b).await).await;
    agrees(s, "after applying the other device's writes").await;
    assert_eq!(summaries(&b.store).await, summaries(s).await, "both devices still count the same");
    assert!(last_seq(s).await >= sent);

    // Plain SQL, as a bulk import or a repair: rows inserted, changed and deleted.
    let bs = &b.store;
    exec(bs, &format!(
        "INSERT INTO appointments (id, patient_id, doctor_id, date, start_min, end_min, starts_at, ends_at, status, checked_in_at, called_at, created_at, updated_at, origin_device)
         VALUES ('bulk-1', '{p}', '{d1}', '2026-10-31', 600, 615, '2026-10-31T04:30:00.000Z', '2026-10-31T04:45:00.000Z', 'done',
                 '2026-10-31T04:20:00.000Z', '2026-10-31T04:52:10.000Z', '{t}', '{t}', 'dev'),
                ('bulk-2', '{p}', '{d2}', '2026-11-01', 600, 615, '2026-11-01T04:30:00.000Z', '2026-11-01T04:45:00.000Z', 'booked',
                 NULL, NULL, '{t}', '{t}', 'dev')",
        p = people[3], t = "2026-10-30T00:00:00.000Z"
    ))
    .await;
    agrees(bs, "after a bulk insert").await;
    exec(bs, &format!("UPDATE appointments SET doctor_id = '{d2}', date = '2026-12-01' WHERE id = 'bulk-1'")).await;
    exec(bs, &format!("UPDATE appointments SET doctor_id = '{d2}' WHERE id = '{}'", seen.id)).await;
    agrees(bs, "after moving appointments to another doctor and month (with a charged consultation)").await;
    exec(bs, &format!("UPDATE appointments SET deleted_at = '2026-11-23T05:00:00.000Z' WHERE id = '{}'", walk.id))
        .await;
    exec(bs, "DELETE FROM appointments WHERE id = 'bulk-2'").await;
    exec(bs, &format!("UPDATE bill_lines SET deleted_at = '2026-11-23T05:00:00.000Z' WHERE bill_id = '{b5}'")).await;
    exec(bs, &format!("UPDATE bills SET finalized_at = '2026-12-31T20:00:00.000Z' WHERE id = '{b0}'")).await;
    exec(
        bs,
        &format!(
            "UPDATE payments SET deleted_at = '2026-11-23T05:00:00.000Z' WHERE bill_id = '{b0}' AND kind = 'refund'"
        ),
    )
    .await;
    exec(bs, &format!("UPDATE credit_notes SET amount_minor = 2_000 WHERE bill_id = '{b0}'").replace("2_000", "2000"))
        .await;
    agrees(bs, "after deletes and edits").await;
    exec(bs, &format!("DELETE FROM credit_notes WHERE bill_id = '{b1}'")).await;
    exec(bs, &format!("DELETE FROM payments WHERE bill_id = '{b5}'")).await;
    exec(bs, &format!("UPDATE bills SET status = 'final' WHERE id = '{b1}'")).await;
    agrees(bs, "after hard deletes and a bill back to final").await;
    // Money at odd times: minutes past 59, off the quarter hours, no time at all.
    exec(bs, &format!("UPDATE bills SET finalized_at = '2026-12-31T20:75:00Z' WHERE id = '{b1}'")).await;
    exec(bs, &format!("UPDATE payments SET received_at = 'not a time' WHERE bill_id = '{b0}'")).await;
    exec(bs, &format!("UPDATE credit_notes SET created_at = '2026-12-31T20:14:59.999Z' WHERE bill_id = '{b0}'")).await;
    agrees(bs, "after money moved to odd times").await;
    // Patients by hand: registered off the quarter hours, born on a day SQLite does not read,
    // with a registration time that is no time; then moved, edited, deleted.
    exec(
        bs,
        "INSERT INTO patients (id, mrn, given_name, sex, birth_date, district, city, created_at, updated_at, origin_device)
         VALUES ('bulk-p1', 'BULK-1', 'Bulk', 'female', '1990-02-30', 'Pune', 'Hadapsar', '2026-11-02T18:44:59.999Z', 't', 'dev'),
                ('bulk-p2', 'BULK-2', 'Bulk', 'male', '2020-05-05', '', '', '2026-11-02T18:45:00.000Z', 't', 'dev'),
                ('bulk-p3', 'BULK-3', 'Bulk', 'other', NULL, 'Pune', '', 'not a time', 't', 'dev')",
    )
    .await;
    agrees(bs, "after patients inserted by hand").await;
    exec(bs, "UPDATE patients SET created_at = '2026-11-03T00:00:00.000Z', sex = 'unknown', city = 'Kothrud' WHERE id = 'bulk-p1'")
        .await;
    exec(bs, "UPDATE patients SET birth_date = '2021-05-05', district = 'Nashik' WHERE id = 'bulk-p2'").await;
    exec(bs, "UPDATE patients SET created_at = '2026-11-04T10:00:00.000Z' WHERE id = 'bulk-p3'").await;
    agrees(bs, "after patients moved and edited by hand").await;
    exec(bs, "UPDATE patients SET deleted_at = '2026-11-23T05:00:00.000Z' WHERE id = 'bulk-p2'").await;
    exec(bs, "DELETE FROM patients WHERE id = 'bulk-p1'").await;
    agrees(bs, "after patients deleted by hand").await;
    let kinds: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT kind) FROM report_registered WHERE n > 0")
        .fetch_one(bs.pool())
        .await
        .unwrap();
    assert_eq!(kinds, 5, "the registrations' counts were compared");
    // Claims by hand: a payer renamed, an amount changed, a claim deleted, a bill cancelled.
    exec(
        bs,
        &format!("UPDATE bill_insurance SET payer = 'ICICI Lombard', approved_minor = 10000 WHERE bill_id = '{b5}'"),
    )
    .await;
    exec(bs, &format!("UPDATE bill_insurance SET created_at = '2026-10-01T10:00:00.000Z' WHERE bill_id = '{b0}'"))
        .await;
    agrees(bs, "after claims changed by hand").await;
    exec(bs, &format!("UPDATE bills SET status = 'cancelled' WHERE id = '{b0}'")).await;
    agrees(bs, "after a claimed bill cancelled by hand").await;
    exec(bs, &format!("DELETE FROM bill_insurance WHERE bill_id = '{b5}'")).await;
    exec(bs, &format!("UPDATE bills SET status = 'final' WHERE id = '{b0}'")).await;
    agrees(bs, "after a claim deleted and a bill back to final").await;
    let owing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM report_owing").fetch_one(bs.pool()).await.unwrap();
    let claims: i64 =
        sqlx::query_scalar("SELECT COALESCE(SUM(n), 0) FROM report_claims_day").fetch_one(bs.pool()).await.unwrap();
    assert!(owing >= 1 && claims == 1, "owing {owing}, claims {claims}: the recounts compared something");
}

async fn register_at(s: &Store, auth: &Authorized, name: &str, at: chrono::DateTime<chrono::Utc>) -> String {
    s.set_now(Some(at));
    let p = crate::patients::PatientInput { given_name: name.into(), sex: "unknown".into(), ..Default::default() };
    crate::patients::register(s, auth, p).await.unwrap().id
}

/// (people seen, of whom new) as the report counts them.
async fn counts(store: &Store, range: &super::DateRange) -> (i64, i64) {
    super::patients::new_returning_counts(store, range).await.unwrap()
}

/// The people-seen chain (new vs returning: new when the person's first attended appointment
/// ever is in the range) against a recount and against hand figures, through every write that
/// moves it: walk-ins (local writes), a merge whose merged record was seen before its survivor,
/// the same pulled on another device, and plain SQL moving an appointment's date, undoing a
/// merge and merging by `merged_into` alone, writing a merge row, cancelling and deleting
/// appointments.
#[tokio::test]
async fn people_seen_follow_merges_sync_and_plain_sql() {
    let (a, auth) = device("admin").await;
    let s = &a.store;
    crate::settings::set_time_zone(s, &auth, "Asia/Kolkata").await.unwrap();
    let input = staff::StaffInput {
        full_name: "Dr Meera Iyer".into(),
        role: "doctor".into(),
        fee_minor: 50_000,
        ..Default::default()
    };
    let doctor = staff::add_staff(s, &auth, input).await.unwrap().id;
    let week = (1..=6)
        .map(|d| SessionInput { weekday: d, start: "09:00".into(), end: "13:00".into(), slot_minutes: 15 })
        .collect();
    availability::set_weekly(s, &auth, &doctor, week).await.unwrap();
    // Registered and seen on 1 September and 5 October; Fresh registered today (08:30 in Kolkata).
    let dup = register_at(s, &auth, "Dup", chrono::Utc.with_ymd_and_hms(2026, 9, 1, 6, 0, 0).unwrap()).await;
    let early_dup = queue::walk_in(s, &auth, &dup, &doctor, "cough").await.unwrap().id;
    let old = register_at(s, &auth, "Old", chrono::Utc.with_ymd_and_hms(2026, 10, 5, 6, 0, 0).unwrap()).await;
    let early_old = queue::walk_in(s, &auth, &old, &doctor, "cough").await.unwrap().id;
    let fresh = register_at(s, &auth, "Fresh", chrono::Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap()).await;
    s.set_now(Some(chrono::Utc.with_ymd_and_hms(2026, 11, 23, 3, 50, 0).unwrap()));
    let d = |x: &str| chrono::NaiveDate::parse_from_str(x, "%Y-%m-%d").unwrap();
    let today = super::DateRange { from: d("2026-11-23"), to: d("2026-11-23"), tz: chrono_tz::Asia::Kolkata };
    let month = super::DateRange { from: d("2026-11-01"), to: d("2026-11-30"), tz: chrono_tz::Asia::Kolkata };
    // From the 1st to today (Home's "this month": the daily counts of migration 0054).
    let to_date = super::DateRange { from: d("2026-11-01"), to: d("2026-11-23"), tz: chrono_tz::Asia::Kolkata };

    let mut visits = Vec::new();
    for p in [&dup, &old, &fresh] {
        visits.push(queue::walk_in(s, &auth, p, &doctor, "fever").await.unwrap().id);
    }
    // Fresh called in at 09:20 and done at 09:32 (12 minutes): the consultations summary.
    s.set_now(Some(chrono::Utc.with_ymd_and_hms(2026, 11, 23, 3, 50, 0).unwrap()));
    queue::call_in(s, &auth, &visits[2]).await.unwrap();
    s.set_now(Some(chrono::Utc.with_ymd_and_hms(2026, 11, 23, 4, 2, 0).unwrap()));
    queue::finish(s, &auth, &visits[2]).await.unwrap();
    let consult: (i64, i64) =
        sqlx::query_as("SELECT SUM(n), SUM(seconds) FROM report_consult_month").fetch_one(s.pool()).await.unwrap();
    assert_eq!(consult, (1, 720));
    agrees(s, "after the walk-ins").await;
    // Seen: Dup (first in September: returning), Old (October: returning), Fresh (today: new).
    assert_eq!(counts(s, &today).await, (3, 1));
    assert_eq!(counts(s, &month).await, (3, 1));
    assert_eq!(counts(s, &to_date).await, (3, 1));

    // Dup merged into Fresh (their open bills finalised first: a merge refuses two open bills):
    // one person, first seen in September: returning.
    let drafts: Vec<String> = sqlx::query_scalar("SELECT id FROM bills WHERE patient_id = ? AND status = 'draft'")
        .bind(&dup)
        .fetch_all(s.pool())
        .await
        .unwrap();
    for bill in drafts {
        bills::finalize(s, &auth, &bill).await.unwrap();
    }
    crate::patients::merge::merge(s, &auth, &fresh, &dup, "same person").await.unwrap();
    agrees(s, "after the merge").await;
    assert_eq!(counts(s, &today).await, (2, 0));

    // Another device pulls all of it.
    let (b, _) = device("ward-admin").await;
    apply_all(&b.store, &outbox(s, 0).await).await;
    agrees(&b.store, "on the other device").await;
    assert_eq!(summaries(&b.store).await, summaries(s).await, "both devices count the same");
    let bs = &b.store;
    assert_eq!(counts(bs, &month).await, (2, 0));
    // A visit written by hand asking for a follow-up, then its follow-up cleared, moved to the
    // UTC day before and deleted: the follow-ups summary.
    let follow_ups = || async {
        let (n, asked): (i64, i64) =
            sqlx::query_as("SELECT COALESCE(SUM(n), 0), COALESCE(SUM(asked), 0) FROM report_follow_ups_day")
                .fetch_one(bs.pool())
                .await
                .unwrap();
        (n, asked)
    };
    exec(
        bs,
        &format!(
            "INSERT INTO visits (id, patient_id, doctor_id, started_at, follow_up_date, created_at, updated_at, origin_device)
             VALUES ('v-hand', '{fresh}', '{doctor}', '2026-11-23T03:55:00.000Z', '2026-11-30', 't', 't', 'd')"
        ),
    )
    .await;
    agrees(bs, "after a visit written by hand").await;
    assert_eq!(follow_ups().await, (1, 1));
    exec(bs, "UPDATE visits SET follow_up_date = NULL WHERE id = 'v-hand'").await;
    agrees(bs, "after a follow-up cleared").await;
    assert_eq!(follow_ups().await, (1, 0));
    exec(
        bs,
        "UPDATE visits SET started_at = '2026-11-22T20:00:00.000Z', follow_up_date = '2026-12-01' WHERE id = 'v-hand'",
    )
    .await;
    agrees(bs, "after a visit moved").await;
    exec(bs, "UPDATE visits SET deleted_at = '2026-11-23T05:00:00.000Z' WHERE id = 'v-hand'").await;
    agrees(bs, "after a visit deleted").await;
    assert_eq!(follow_ups().await, (0, 0));

    // Plain SQL: Old's October appointment moved to today: first seen today, new.
    exec(bs, &format!("UPDATE appointments SET date = '2026-11-23', token = 99 WHERE id = '{early_old}'")).await;
    agrees(bs, "after an appointment's date changed").await;
    assert_eq!(counts(bs, &today).await, (2, 1));
    // The merge moved Dup's appointments to Fresh: clearing Dup's merged_into by hand leaves
    // them there (Fresh, first seen in September, returning; Old new).
    exec(bs, &format!("UPDATE patients SET merged_into = NULL WHERE id = '{dup}'")).await;
    agrees(bs, "after merged_into cleared by hand").await;
    assert_eq!(counts(bs, &today).await, (2, 1));
    // Fresh pointed at Old by merged_into alone: one person, first seen in September.
    exec(bs, &format!("UPDATE patients SET merged_into = '{old}' WHERE id = '{fresh}'")).await;
    agrees(bs, "after merged_into set by hand").await;
    assert_eq!(counts(bs, &today).await, (1, 0));
    // The merge row removed changes no one (0042 counted registrations through it).
    exec(bs, &format!("DELETE FROM patient_merges WHERE merged_id = '{dup}'")).await;
    agrees(bs, "after a merge row removed").await;
    assert_eq!(counts(bs, &today).await, (1, 0));
    // September's appointment deleted outright: the person was first seen today, new.
    exec(bs, &format!("DELETE FROM appointments WHERE id = '{early_dup}'")).await;
    agrees(bs, "after a hard delete").await;
    assert_eq!(counts(bs, &today).await, (1, 1));
    // Today's appointments: one cancelled, one deleted; the person is still seen today.
    exec(bs, &format!("UPDATE appointments SET status = 'cancelled' WHERE id = '{}'", visits[0])).await;
    agrees(bs, "after a status change").await;
    exec(bs, &format!("UPDATE appointments SET deleted_at = '2026-11-23T05:00:00.000Z' WHERE id = '{}'", visits[1]))
        .await;
    agrees(bs, "after a soft delete").await;
    assert_eq!(counts(bs, &today).await, (1, 1));
    assert_eq!(counts(bs, &month).await, (1, 1));
    // One of today's moved to 2 November: first seen then, returning today.
    exec(bs, &format!("UPDATE appointments SET date = '2026-11-02', token = 98 WHERE id = '{}'", visits[2])).await;
    agrees(bs, "after a date change").await;
    assert_eq!(counts(bs, &today).await, (1, 0));
    assert_eq!(counts(bs, &month).await, (1, 1));
    assert_eq!(counts(bs, &to_date).await, (1, 1));
    // A range starting inside the month, after 2 November: returning in it.
    let late = super::DateRange { from: d("2026-11-10"), to: d("2026-12-31"), tz: chrono_tz::Asia::Kolkata };
    assert_eq!(counts(bs, &late).await, (1, 0));
    exec(bs, &format!("DELETE FROM appointments WHERE id = '{}'", visits[2])).await;
    agrees(bs, "after another hard delete").await;
    assert_eq!(counts(bs, &today).await, (1, 1));
    assert_eq!(counts(bs, &late).await, (1, 1));
}
