//! Stock takes (issue 16): a count of a store while it keeps working. Movements during the
//! count are accounted for (the variance is the count less the ledger's balance when the count
//! was entered), posting writes one count correction per counted line with a variance, lines
//! not counted are left alone; one open take per store; a closed take takes no counts; bad
//! input names its field and writes nothing; who may do what; every change the take wrote
//! passes the sync policy as its author's.

mod common;
#[path = "common/pharmacy.rs"]
mod pharmacy;
#[path = "common/ward.rs"]
mod ward;

use chrono::Duration;
use hms_core::stock::stocktake::{
    count, open, post, read, sheet, LineCountInput, StockTake, StockTakeAddLineInput, StockTakeCountInput,
    StockTakeOpenInput, StockTakeStatus,
};
use hms_core::stock::{dispensing, receiving, DispenseInput, DispenseLineInput, ReceiptInput, ReceiptLineInput};
use hms_core::{Authorized, Error, Store, ValidationReason};
use pharmacy::{pharmacy, Pharmacy};
use ward::field_of;

/// Receives `packs` packs of 10 of a batch at 30.00 a pack (3.00 a unit); answers the batch.
async fn receive(p: &Pharmacy, store: &str, item: &str, batch: &str, expiry: &str, packs: u32) -> String {
    let input = ReceiptInput {
        store_id: store.into(),
        supplier_id: Some(p.supplier.clone()),
        invoice_no: "INV-7".into(),
        note: String::new(),
        lines: vec![ReceiptLineInput {
            item_id: item.into(),
            batch_no: batch.into(),
            expiry: expiry.into(),
            packs,
            pack_cost_minor: 3_000,
            ..Default::default()
        }],
    };
    receiving::receive(&p.w.env.store, &p.pharmacist, input).await.unwrap().batch_ids[0].clone()
}

fn open_input(store: &str) -> StockTakeOpenInput {
    StockTakeOpenInput { store_id: store.into(), ..Default::default() }
}

fn counting(take: &str, line: &str, packs: Option<i64>, units: Option<i64>) -> StockTakeCountInput {
    StockTakeCountInput { take_id: take.into(), counts: vec![LineCountInput { line_id: line.into(), packs, units }] }
}

async fn take_of(p: &Pharmacy, id: &str) -> StockTake {
    read::take(&p.w.env.store, &p.pharmacist, id).await.unwrap()
}

/// The line of a batch on a take.
fn line_of<'a>(t: &'a StockTake, batch: &str) -> &'a hms_core::stock::stocktake::StockTakeLine {
    t.lines.iter().find(|l| l.batch_id == batch).unwrap()
}

async fn balance(s: &Store, batch: &str, store: &str) -> i64 {
    sqlx::query_scalar("SELECT COALESCE(SUM(quantity), 0) FROM stock_movements WHERE batch_id = ? AND store_id = ?")
        .bind(batch)
        .bind(store)
        .fetch_one(s.pool())
        .await
        .unwrap()
}

/// (quantity, reason) of the count corrections of a batch in a store.
async fn corrections(s: &Store, batch: &str, store: &str) -> Vec<(i64, String)> {
    sqlx::query_as(
        "SELECT quantity, reason FROM stock_movements WHERE batch_id = ? AND store_id = ? AND kind = 'adjusted' ORDER BY at, id",
    )
    .bind(batch)
    .bind(store)
    .fetch_all(s.pool())
    .await
    .unwrap()
}

fn minutes(p: &Pharmacy, m: i64) {
    p.w.env.store.set_now(Some(p.t0 + Duration::minutes(m)));
}

async fn dispense(p: &Pharmacy, rx: &str, quantity: i64) {
    let input = DispenseInput {
        store_id: p.counter.clone(),
        lines: vec![DispenseLineInput { prescription_id: rx.into(), quantity, complete: false, ..Default::default() }],
    };
    dispensing::dispense(&p.w.env.store, &p.pharmacist, input).await.unwrap();
}

#[tokio::test]
async fn dispensing_during_the_count_is_accounted_for_and_the_post_corrects_only_the_shelf_difference() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    let early = receive(&p, &p.counter, &p.amox, "E-1", "2027-03-31", 4).await;
    let late = receive(&p, &p.counter, &p.amox, "L-9", "2027-12-31", 10).await;
    let para = receive(&p, &p.counter, &p.para, "P-1", "2027-06-30", 2).await;
    let rx = p.prescribe(&p.w.amoxicillin, Some(10)).await;

    // 10:00: the take opens with each batch line of the counter, by item then expiry.
    let t = open::open(s, &p.pharmacist, open_input(&p.counter)).await.unwrap();
    assert_eq!(
        (t.status, t.lines, t.counted, t.store_name.as_str()),
        (StockTakeStatus::Open, 3, 0, "Pharmacy counter")
    );
    let sheet0 = take_of(&p, &t.id).await;
    let got: Vec<(&str, Option<i64>, Option<i64>)> =
        sheet0.lines.iter().map(|l| (l.batch_no.as_str(), l.expected, l.counted)).collect();
    assert_eq!(got, [("E-1", Some(40), None), ("L-9", Some(100), None), ("P-1", Some(20), None)]);

    // 10:10: the counter keeps working: 10 capsules dispensed from E-1 (first expiry).
    minutes(&p, 10);
    dispense(&p, &rx, 10).await;
    assert_eq!(balance(s, &early, &p.counter).await, 30);

    // 10:20: the shelf has 29 of E-1 (one capsule missing), 100 of L-9 (10 packs); P-1 is not
    // counted yet.
    minutes(&p, 20);
    let e1 = line_of(&sheet0, &early).id.clone();
    let l9 = line_of(&sheet0, &late).id.clone();
    let counted = count::count(s, &p.pharmacist, counting(&t.id, &e1, Some(2), Some(9))).await.unwrap();
    assert_eq!((counted[0].counted, counted[0].moved, counted[0].variance), (Some(29), Some(-10), Some(-1)));
    count::count(s, &p.pharmacist, counting(&t.id, &l9, Some(10), None)).await.unwrap();

    // 10:30: 5 more dispensed after the count, before the post: not the count's business.
    minutes(&p, 30);
    dispense(&p, &rx, 5).await;
    let view = take_of(&p, &t.id).await;
    let e = line_of(&view, &early);
    assert_eq!((e.expected, e.moved, e.counted, e.variance), (Some(40), Some(-10), Some(29), Some(-1)));
    assert_eq!((e.cost_minor, e.variance_value_minor), (300, Some(-300)));
    let l = line_of(&view, &late);
    assert_eq!((l.moved, l.variance), (Some(0), Some(0)));
    assert_eq!(line_of(&view, &para).variance, None, "not counted");
    let tot = &view.totals;
    assert_eq!((tot.lines, tot.counted, tot.with_variance), (3, 2, 1));
    assert_eq!((tot.units_over, tot.units_short, tot.value_short_minor, tot.value_net_minor), (0, -1, -300, -300));

    // Posting corrects E-1 by the shelf difference (-1), not the 15 dispensed; L-9 and the
    // uncounted P-1 are left alone.
    minutes(&p, 40);
    let posted = post::post(s, &p.pharmacist, &t.id).await.unwrap();
    assert_eq!(
        (posted.movement_ids.len(), posted.units_net, posted.value_net_minor, posted.uncounted),
        (1, -1, -300, 1)
    );
    assert_eq!(corrections(s, &early, &p.counter).await, [(-1, "count_correction".to_string())]);
    assert!(corrections(s, &late, &p.counter).await.is_empty());
    assert!(corrections(s, &para, &p.counter).await.is_empty());
    assert_eq!(balance(s, &early, &p.counter).await, 40 - 10 - 5 - 1, "the shelf's 29 less the 5 given since");
    assert_eq!((balance(s, &late, &p.counter).await, balance(s, &para, &p.counter).await), (100, 20));

    // The posted take keeps what it posted; the ledger's later movements do not move it.
    minutes(&p, 50);
    dispense(&p, &rx, 3).await;
    let done = take_of(&p, &t.id).await;
    assert_eq!(done.take.status, StockTakeStatus::Posted);
    assert!(done.take.closed_at.is_some());
    let e = line_of(&done, &early);
    assert_eq!((e.variance, e.adjustment_id.as_deref()), (Some(-1), Some(posted.movement_ids[0].as_str())));
    let actions = common::actions(s).await;
    for a in ["stock.take_open", "stock.take_count", "stock.take_post"] {
        assert!(actions.iter().any(|x| x == a), "{a} audited");
    }
    // Open again, the store is free to count.
    open::open(s, &p.pharmacist, open_input(&p.counter)).await.unwrap();
}

#[tokio::test]
async fn a_blind_take_hides_what_is_expected_a_found_batch_gets_a_line_and_the_sheet_prints() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    let on_shelf = receive(&p, &p.counter, &p.amox, "A-1", "2027-03-31", 3).await;
    let elsewhere = receive(&p, &p.main, &p.amox, "A-2", "2027-09-30", 5).await;
    receive(&p, &p.counter, &p.para, "P-1", "2027-06-30", 2).await;
    receive(&p, &p.counter, &p.reagent, "R-1", "2027-06-30", 1).await;

    // Only medicines named "amox", blind.
    let input = StockTakeOpenInput {
        store_id: p.counter.clone(),
        item_kind: "medicine".into(),
        search: "amox".into(),
        blind: true,
        note: "Monthly count".into(),
    };
    let t = open::open(s, &p.lab, input).await.unwrap();
    assert_eq!((t.lines, t.blind, t.opened_by.as_str()), (1, true, "Staff lab.khan"));
    let view = take_of(&p, &t.id).await;
    assert_eq!((view.lines[0].batch_no.as_str(), view.lines[0].expected), ("A-1", None), "blind");

    // A-2 turns up on the counter's shelf: a line of its own, expected 0 here.
    let added = open::add_line(
        s,
        &p.lab,
        StockTakeAddLineInput { take_id: t.id.clone(), item_id: p.amox.clone(), batch_id: elsewhere.clone() },
    )
    .await
    .unwrap();
    assert_eq!((added.position, added.added, added.batch_no.as_str()), (2, true, "A-2"));
    let counted = count::count(s, &p.lab, counting(&t.id, &added.id, None, Some(4))).await.unwrap();
    assert_eq!((counted[0].expected, counted[0].variance), (Some(0), Some(4)), "counted: shown");

    // The printed sheet: store, item, batch, expiry; a blind one leaves the expected out.
    let pdf = sheet::count_sheet(s, &p.lab, &t.id).await.unwrap();
    let path = p.w.env.dir.path().join(&pdf.file_name);
    std::fs::write(&path, &pdf.pdf).unwrap();
    let text = common::pdf_text(&path);
    for want in ["Stock take", "Pharmacy counter", "Amoxicillin 500 mg capsule", "A-1", "A-2", "31/03/2027", "Counted"]
    {
        assert!(text.contains(want), "{want:?} in\n{text}");
    }
    assert!(!text.contains("Expected"), "blind:\n{text}");

    // Post: A-2 +4 into the counter; A-1 not counted, left alone.
    let posted = post::post(s, &p.admin, &t.id).await.unwrap();
    assert_eq!((posted.movement_ids.len(), posted.units_net, posted.uncounted), (1, 4, 1));
    assert_eq!(balance(s, &elsewhere, &p.counter).await, 4);
    assert_eq!(balance(s, &elsewhere, &p.main).await, 50);
    assert_eq!(balance(s, &on_shelf, &p.counter).await, 30);

    // A sighted take prints what is expected.
    let t2 = open::open(s, &p.pharmacist, open_input(&p.counter)).await.unwrap();
    let pdf = sheet::count_sheet(s, &p.pharmacist, &t2.id).await.unwrap();
    let path = p.w.env.dir.path().join("sighted.pdf");
    std::fs::write(&path, &pdf.pdf).unwrap();
    let text = common::pdf_text(&path);
    assert!(text.contains("Expected") && text.contains("Drabkin"), "{text}");
}

#[tokio::test]
async fn one_open_take_per_store_and_a_closed_take_takes_no_counts() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    let batch = receive(&p, &p.counter, &p.amox, "A-1", "2027-03-31", 3).await;
    let t = open::open(s, &p.pharmacist, open_input(&p.counter)).await.unwrap();
    assert_eq!(
        field_of(open::open(s, &p.pharmacist, open_input(&p.counter)).await),
        ("store_id".to_string(), ValidationReason::Taken)
    );
    // Another store may be counted at the same time.
    let main = open::open(s, &p.pharmacist, open_input(&p.main)).await.unwrap();
    assert_eq!(main.lines, 0);
    let line = take_of(&p, &t.id).await.lines[0].id.clone();
    count::count(s, &p.pharmacist, counting(&t.id, &line, None, Some(7))).await.unwrap();

    // Cancelled: closed, nothing in the ledger.
    let movements = common::count(s, "stock_movements").await;
    post::cancel(s, &p.pharmacist, &t.id).await.unwrap();
    assert_eq!(common::count(s, "stock_movements").await, movements);
    assert_eq!(balance(s, &batch, &p.counter).await, 30);
    assert_eq!(take_of(&p, &t.id).await.take.status, StockTakeStatus::Cancelled);
    assert!(common::actions(s).await.iter().any(|a| a == "stock.take_cancel"));
    let before = common::counts(s).await;
    let closed = ("take_id".to_string(), ValidationReason::Invalid);
    assert_eq!(field_of(count::count(s, &p.pharmacist, counting(&t.id, &line, None, Some(3))).await), closed);
    assert_eq!(field_of(post::post(s, &p.pharmacist, &t.id).await), closed);
    assert_eq!(field_of(post::cancel(s, &p.pharmacist, &t.id).await), closed);
    assert_eq!(common::counts(s).await, before, "nothing written");

    // The store is free again; a posted take is closed too.
    let t2 = open::open(s, &p.pharmacist, open_input(&p.counter)).await.unwrap();
    post::post(s, &p.pharmacist, &t2.id).await.unwrap();
    let line2 = take_of(&p, &t2.id).await.lines[0].id.clone();
    assert_eq!(field_of(count::count(s, &p.pharmacist, counting(&t2.id, &line2, None, Some(3))).await), closed);
    let list = read::takes(s, &p.pharmacist, &p.counter).await.unwrap();
    let statuses: Vec<StockTakeStatus> = list.iter().map(|t| t.status).collect();
    assert_eq!(statuses, [StockTakeStatus::Posted, StockTakeStatus::Cancelled], "latest first");
    let all = read::takes(s, &p.pharmacist, "").await.unwrap();
    assert_eq!(all[0].id, main.id, "open first");
}

#[tokio::test]
async fn bad_input_gets_a_typed_error_naming_the_field_and_writes_nothing() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    receive(&p, &p.counter, &p.amox, "A-1", "2027-03-31", 3).await;
    let para = receive(&p, &p.main, &p.para, "P-1", "2027-06-30", 2).await;
    let amox_main = receive(&p, &p.main, &p.amox, "A-2", "2027-06-30", 2).await;
    let t = open::open(s, &p.pharmacist, open_input(&p.counter)).await.unwrap();
    let other = open::open(s, &p.pharmacist, open_input(&p.main)).await.unwrap();
    let line = take_of(&p, &t.id).await.lines[0].id.clone();
    let other_line = take_of(&p, &other.id).await.lines[0].id.clone();
    let ph = &p.pharmacist;
    let before = (common::counts(s).await, common::count(s, "stock_take_lines").await);
    let add = |item: &str, batch: &str| StockTakeAddLineInput {
        take_id: t.id.clone(),
        item_id: item.into(),
        batch_id: batch.into(),
    };
    let on_sheet = take_of(&p, &t.id).await.lines[0].batch_id.clone();
    let cases: Vec<Case> = vec![
        (
            "negative packs",
            field_of(count::count(s, ph, counting(&t.id, &line, Some(-1), Some(3))).await),
            ("counts.0.packs", ValidationReason::OutOfRange),
        ),
        (
            "negative units",
            field_of(count::count(s, ph, counting(&t.id, &line, None, Some(-2))).await),
            ("counts.0.units", ValidationReason::OutOfRange),
        ),
        (
            "too many",
            field_of(count::count(s, ph, counting(&t.id, &line, Some(1_000_000_000_000), None)).await),
            ("counts.0.units", ValidationReason::OutOfRange),
        ),
        (
            "a line of another take",
            field_of(count::count(s, ph, counting(&t.id, &other_line, None, Some(1))).await),
            ("counts.0.line_id", ValidationReason::Invalid),
        ),
        (
            "no counts",
            field_of(count::count(s, ph, StockTakeCountInput { take_id: t.id.clone(), counts: vec![] }).await),
            ("counts", ValidationReason::Required),
        ),
        (
            "no such take",
            field_of(count::count(s, ph, counting(&p.counter, &line, None, Some(1))).await),
            ("take_id", ValidationReason::Invalid),
        ),
        (
            "a batch of another item",
            field_of(open::add_line(s, ph, add(&p.amox, &para)).await),
            ("batch_id", ValidationReason::Invalid),
        ),
        (
            "a batch on the sheet already",
            field_of(open::add_line(s, ph, add(&p.amox, &on_sheet)).await),
            ("batch_id", ValidationReason::Taken),
        ),
        (
            "an unknown kind",
            field_of(
                open::open(s, ph, StockTakeOpenInput { item_kind: "toys".into(), ..open_input(&p.lab_store) }).await,
            ),
            ("item_kind", ValidationReason::Invalid),
        ),
        (
            "no such store",
            field_of(open::open(s, ph, open_input(&p.supplier)).await),
            ("store_id", ValidationReason::Invalid),
        ),
    ];
    for (what, got, (field, reason)) in cases {
        assert_eq!(got, (field.to_string(), reason), "{what}");
    }
    assert_eq!((common::counts(s).await, common::count(s, "stock_take_lines").await), before, "nothing written");
    // The second count of a batch of the first count's item is fine: A-2 is amoxicillin.
    open::add_line(s, ph, add(&p.amox, &amox_main)).await.unwrap();
}

/// (what, the error's field and reason, the field and reason wanted).
type Case<'a> = (&'a str, (String, ValidationReason), (&'a str, ValidationReason));

async fn forbidden<T: std::fmt::Debug>(r: Result<T, Error>) -> bool {
    matches!(r, Err(Error::Forbidden { .. }))
}

#[tokio::test]
async fn stock_count_opens_counts_posts_and_cancels_stock_view_reads() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    receive(&p, &p.lab_store, &p.reagent, "R-1", "2027-06-30", 50).await;
    // (who, may count, may read)
    let who: [(&str, &Authorized, bool, bool); 5] = [
        ("administrator", &p.admin, true, true),
        ("pharmacist", &p.pharmacist, true, true),
        ("lab technician", &p.lab, true, true),
        ("doctor", &p.doctor, false, false),
        ("nurse", &p.nurse, false, false),
    ];
    for (name, a, may_count, may_read) in who {
        let opened = open::open(s, a, open_input(&p.lab_store)).await;
        assert_eq!(!matches!(opened, Err(Error::Forbidden { .. })), may_count, "{name} opens");
        assert_eq!(!forbidden(read::takes(s, a, "").await).await, may_read, "{name} reads");
        let Ok(t) = opened else {
            // Whoever may not count may not count, post or cancel someone else's take either.
            let t = open::open(s, &p.lab, open_input(&p.lab_store)).await.unwrap();
            let line = take_of(&p, &t.id).await.lines[0].id.clone();
            assert!(forbidden(count::count(s, a, counting(&t.id, &line, None, Some(1))).await).await, "{name}");
            assert!(forbidden(post::post(s, a, &t.id).await).await, "{name}");
            assert!(forbidden(post::cancel(s, a, &t.id).await).await, "{name}");
            assert!(forbidden(sheet::count_sheet(s, a, &t.id).await).await, "{name}");
            post::cancel(s, &p.lab, &t.id).await.unwrap();
            continue;
        };
        let line = take_of(&p, &t.id).await.lines[0].id.clone();
        count::count(s, a, counting(&t.id, &line, Some(48), None)).await.unwrap();
        post::post(s, a, &t.id).await.unwrap();
    }
    // Three posts: 50 → 48 (−2), then no variance twice.
    let reagent: Vec<(i64, String)> =
        sqlx::query_as("SELECT quantity, reason FROM stock_movements WHERE kind = 'adjusted' AND store_id = ?")
            .bind(&p.lab_store)
            .fetch_all(s.pool())
            .await
            .unwrap();
    assert_eq!(reagent, [(-2, "count_correction".to_string())]);
}

/// Every change a stock take wrote to the outbox passes the sync policy as its author's: the
/// same permission and value rules a server and every other device check.
#[tokio::test]
async fn every_change_a_stock_take_wrote_passes_the_sync_policy() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    let batch = receive(&p, &p.counter, &p.amox, "A-1", "2027-03-31", 3).await;
    let found = receive(&p, &p.main, &p.amox, "A-2", "2027-09-30", 1).await;
    let from: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM change_log").fetch_one(s.pool()).await.unwrap();
    // The administrator (who never moves stock) opens, adds a found batch, counts and posts.
    let t = open::open(s, &p.admin, open_input(&p.counter)).await.unwrap();
    let view = take_of(&p, &t.id).await;
    let line = line_of(&view, &batch).id.clone();
    let added = open::add_line(
        s,
        &p.admin,
        StockTakeAddLineInput { take_id: t.id.clone(), item_id: p.amox.clone(), batch_id: found },
    )
    .await
    .unwrap();
    count::count(s, &p.admin, counting(&t.id, &line, Some(2), Some(5))).await.unwrap();
    count::count(s, &p.admin, counting(&t.id, &added.id, None, Some(2))).await.unwrap();
    count::count(s, &p.admin, counting(&t.id, &added.id, None, None)).await.unwrap();
    count::count(s, &p.admin, counting(&t.id, &added.id, None, Some(3))).await.unwrap();
    post::post(s, &p.admin, &t.id).await.unwrap();
    let t2 = open::open(s, &p.lab, open_input(&p.counter)).await.unwrap();
    post::cancel(s, &p.lab, &t2.id).await.unwrap();

    let mut accounts = hms_policy::Accounts::default();
    let users: Vec<(String, String)> = sqlx::query_as("SELECT id, roles FROM users").fetch_all(s.pool()).await.unwrap();
    for (id, roles) in users {
        let roles = hms_policy::values::roles_of(&serde_json::Value::String(roles)).unwrap();
        accounts.load(&id, roles, true, false, "0001732260000000-000000-dev-1");
    }
    type Row = (i64, String, String, String, String, String, String, String, Option<String>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT seq, id, device_id, entity, entity_id, op, data, hlc, user_id FROM change_log WHERE seq > ? ORDER BY seq",
    )
    .bind(from)
    .fetch_all(s.pool())
    .await
    .unwrap();
    let mut entities = std::collections::BTreeSet::new();
    for (seq, id, device_id, entity, entity_id, op, data, hlc, user_id) in rows {
        let change: hms_protocol::Change = serde_json::from_value(serde_json::json!({
            "id": id, "device_id": device_id, "device_seq": seq, "entity": entity, "entity_id": entity_id,
            "op": op, "data": serde_json::from_str::<serde_json::Value>(&data).unwrap(), "hlc": hlc, "user_id": user_id,
        }))
        .unwrap();
        let checked = hms_policy::check(&change, user_id.as_deref(), &accounts);
        assert!(checked.is_ok(), "{entity} {op}: {checked:?}\n{data}");
        entities.insert(entity);
    }
    entities.remove("audit_log");
    assert_eq!(
        entities.into_iter().collect::<Vec<_>>(),
        ["stock_movements", "stock_take_lines", "stock_takes"],
        "the take's tables and its corrections"
    );
}
