//! Lab consumption (issue 16): a lab test names what it uses per test; entering its result
//! takes that out of the lab store first expiry first out, in the result's write, once per
//! order; what no batch gives is short (listed) or below zero (negative stock allowed), never
//! a refused result; the low-stock alert sees it; who may set it and the bad input.

mod common;
#[path = "common/pharmacy.rs"]
mod pharmacy;
#[path = "common/ward.rs"]
mod ward;

use hms_core::clinical::{lab, visits, VisitInput};
use hms_core::stock::stocktake::{self, StockTakeOpenInput};
use hms_core::stock::{alerts, lab_use, ledger, setup, LabConsumableInput, StockItemInput};
use hms_core::{Error, Store, ValidationReason};
use pharmacy::{pharmacy, Pharmacy};
use ward::field_of;

fn uses(item: &str, quantity: i64) -> LabConsumableInput {
    LabConsumableInput { item_id: item.into(), quantity }
}

/// The doctor orders a haemoglobin; answers the order.
async fn order_hb(p: &Pharmacy) -> String {
    let s = &p.w.env.store;
    let visit = VisitInput { patient_id: p.w.patient.clone(), ..Default::default() };
    let visit = visits::start_visit(s, &p.doctor, visit).await.unwrap().id;
    lab::order_lab_tests(s, &p.doctor, &visit, vec![p.w.hb.clone()], String::new()).await.unwrap()[0].id.clone()
}

/// The lab_use movements of an order's result: (batch, quantity).
async fn taken(s: &Store, order: &str) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT m.batch_id, m.quantity FROM stock_movements m JOIN lab_uses u ON u.id = m.lab_use_id
         WHERE u.order_id = ? AND m.kind = 'lab_use' ORDER BY m.rowid",
    )
    .bind(order)
    .fetch_all(s.pool())
    .await
    .unwrap()
}

async fn balance(s: &Store, batch: &str, store: &str) -> i64 {
    sqlx::query_scalar("SELECT COALESCE(SUM(quantity), 0) FROM stock_movements WHERE batch_id = ? AND store_id = ?")
        .bind(batch)
        .bind(store)
        .fetch_one(s.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_result_takes_what_its_test_uses_from_the_lab_store_first_expiry_first_out_once() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    let set = lab_use::set_test_consumables(s, &p.lab, &p.w.hb, vec![uses(&p.reagent, 5)]).await.unwrap();
    assert_eq!(set.iter().map(|c| (c.item_id.as_str(), c.quantity)).collect::<Vec<_>>(), [(p.reagent.as_str(), 5)]);
    // In the lab: a later batch, an earlier one, and a held one earlier still; the main store
    // has the earliest of all (not the lab's).
    let late = p.receive(&p.lab_store, &p.reagent, "R-LATE", "2027-12-31", 20).await;
    let soon = p.receive(&p.lab_store, &p.reagent, "R-SOON", "2027-03-31", 8).await;
    let held = p.receive(&p.lab_store, &p.reagent, "R-HELD", "2027-01-31", 50).await;
    let main = p.receive(&p.main, &p.reagent, "R-MAIN", "2027-01-15", 50).await;
    setup::set_batch_hold(s, &p.pharmacist, &held, true, "recall").await.unwrap();

    let first = order_hb(&p).await;
    lab::enter_result(s, &p.lab, &first, "14.2").await.unwrap();
    assert_eq!(taken(s, &first).await, [(soon.clone(), -5)]);
    let second = order_hb(&p).await;
    lab::enter_result(s, &p.lab, &second, "13.1").await.unwrap();
    assert_eq!(taken(s, &second).await, [(soon.clone(), -3), (late.clone(), -2)]);
    assert_eq!(
        (balance(s, &soon, &p.lab_store).await, balance(s, &late, &p.lab_store).await),
        (0, 18),
        "taken from the lab store's usable batches, first expiry first"
    );
    assert_eq!((balance(s, &held, &p.lab_store).await, balance(s, &main, &p.main).await), (50, 50));

    // A result entered again for the same order is refused and takes nothing more.
    let movements = common::count(s, "stock_movements").await;
    assert!(lab::enter_result(s, &p.lab, &second, "13.5").await.is_err());
    assert_eq!(common::count(s, "stock_movements").await, movements, "not twice");
    let audited: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'stock.lab_use'")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(audited, 2);
    // Nothing was short.
    assert!(lab_use::shortfalls(s, &p.lab).await.unwrap().is_empty());

    // A test that uses nothing (the list emptied) takes nothing.
    lab_use::set_test_consumables(s, &p.admin, &p.w.hb, vec![]).await.unwrap();
    assert!(lab_use::test_consumables(s, &p.lab, &p.w.hb).await.unwrap().is_empty());
    let third = order_hb(&p).await;
    lab::enter_result(s, &p.lab, &third, "12.0").await.unwrap();
    assert!(taken(s, &third).await.is_empty());
    // Set again, the same row comes back (its id is the test's and the item's).
    lab_use::set_test_consumables(s, &p.lab, &p.w.hb, vec![uses(&p.reagent, 2)]).await.unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM lab_test_consumables").fetch_one(s.pool()).await.unwrap();
    assert_eq!(rows, 1);
}

#[tokio::test]
async fn a_result_is_never_blocked_by_stock_what_is_missing_is_short_or_below_zero() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    lab_use::set_test_consumables(s, &p.lab, &p.w.hb, vec![uses(&p.reagent, 5)]).await.unwrap();
    let batch = p.receive(&p.lab_store, &p.reagent, "R-1", "2027-06-30", 3).await;

    // Negative stock off (the default): 3 taken, 2 short, the balance stays at zero.
    let first = order_hb(&p).await;
    let result = lab::enter_result(s, &p.lab, &first, "14.0").await.unwrap();
    assert_eq!(taken(s, &first).await, [(batch.clone(), -3)]);
    assert_eq!(balance(s, &batch, &p.lab_store).await, 0);
    let short = lab_use::shortfalls(s, &p.pharmacist).await.unwrap();
    assert_eq!(short.len(), 1);
    assert_eq!((short[0].result_id.as_str(), short[0].quantity, short[0].short), (result.id.as_str(), 5, 2));
    assert_eq!((short[0].test_code.as_str(), short[0].store_id.as_deref()), ("HB", Some(p.lab_store.as_str())));
    // Nothing usable at all: everything short, the result saved (listed first: newest).
    p.at(1);
    let second = order_hb(&p).await;
    lab::enter_result(s, &p.lab, &second, "13.0").await.unwrap();
    assert!(taken(s, &second).await.is_empty());
    assert_eq!(lab_use::shortfalls(s, &p.lab).await.unwrap()[0].short, 5);

    // Negative stock allowed: the use goes below zero on the batch, listed with the others.
    ledger::set_allow_negative(s, &p.admin, true).await.unwrap();
    p.at(2);
    let third = order_hb(&p).await;
    lab::enter_result(s, &p.lab, &third, "12.5").await.unwrap();
    assert_eq!(taken(s, &third).await, [(batch.clone(), -5)]);
    let negative = ledger::negative_batches(s, &p.pharmacist).await.unwrap();
    assert_eq!(
        negative.iter().map(|b| (b.balance.batch_id.as_str(), b.balance.quantity)).collect::<Vec<_>>(),
        [(batch.as_str(), -5)]
    );
    assert_eq!(lab_use::shortfalls(s, &p.lab).await.unwrap().len(), 2, "not short this time");
    assert_eq!(lab_use::shortfalls(s, &p.lab).await.unwrap()[0].store_name.as_deref(), Some("Lab"));

    // The lab store counted (a take posted after the uses): the books agree with the shelf
    // again, and the shortfalls before it are settled. One after it is listed again.
    p.at(3);
    let open = StockTakeOpenInput { store_id: p.lab_store.clone(), ..Default::default() };
    let take = stocktake::open::open(s, &p.pharmacist, open).await.unwrap();
    stocktake::post::post(s, &p.pharmacist, &take.id).await.unwrap();
    assert!(lab_use::shortfalls(s, &p.lab).await.unwrap().is_empty(), "settled by the count");
    ledger::set_allow_negative(s, &p.admin, false).await.unwrap();
    p.at(4);
    let fourth = order_hb(&p).await;
    lab::enter_result(s, &p.lab, &fourth, "12.9").await.unwrap();
    let short = lab_use::shortfalls(s, &p.lab).await.unwrap();
    assert_eq!(short.iter().map(|u| (u.order_id.as_str(), u.short)).collect::<Vec<_>>(), [(fourth.as_str(), 5)]);
}

#[tokio::test]
async fn the_low_stock_alert_sees_what_the_lab_used() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    let reagent = StockItemInput {
        kind: "lab_consumable".into(),
        generic_name: "Drabkin's reagent".into(),
        pack_size: 1,
        unit: "ml".into(),
        reorder_level: 10,
        ..Default::default()
    };
    setup::update_item(s, &p.admin, &p.reagent, reagent).await.unwrap();
    lab_use::set_test_consumables(s, &p.lab, &p.w.hb, vec![uses(&p.reagent, 4)]).await.unwrap();
    p.receive(&p.lab_store, &p.reagent, "R-1", "2027-06-30", 12).await;
    let low = |a: &alerts::StockAlerts| a.low.iter().any(|i| i.item_id == p.reagent);
    assert!(!low(&alerts::alerts(s, &p.admin).await.unwrap()), "12 ml, reorder level 10");
    let order = order_hb(&p).await;
    lab::enter_result(s, &p.lab, &order, "14.0").await.unwrap();
    let now = alerts::alerts(s, &p.admin).await.unwrap();
    let item = now.low.iter().find(|i| i.item_id == p.reagent).expect("below its reorder level");
    assert_eq!((item.on_hand, item.reorder_level), (8, 10));
}

#[tokio::test]
async fn the_lab_technician_and_the_administrator_set_what_a_test_uses_and_bad_input_writes_nothing() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    let list = || vec![uses(&p.reagent, 1)];
    for who in [&p.pharmacist, &p.doctor, &p.nurse] {
        let r = lab_use::set_test_consumables(s, who, &p.w.hb, list()).await;
        assert!(matches!(r, Err(Error::Forbidden { .. })), "{r:?}");
    }
    assert!(matches!(lab_use::test_consumables(s, &p.pharmacist, &p.w.hb).await, Err(Error::Forbidden { .. })));
    assert!(matches!(lab_use::shortfalls(s, &p.doctor).await, Err(Error::Forbidden { .. })));
    lab_use::set_test_consumables(s, &p.admin, &p.w.hb, list()).await.unwrap();
    // The doctor, who edits the catalogue, sees it.
    assert_eq!(lab_use::test_consumables(s, &p.doctor, &p.w.hb).await.unwrap().len(), 1);

    let changes = common::count(s, "change_log").await;
    let bad = |lines: Vec<LabConsumableInput>| lab_use::set_test_consumables(s, &p.lab, &p.w.glucose, lines);
    assert_eq!(
        field_of(bad(vec![uses(&p.reagent, 0)]).await),
        ("lines.0.quantity".into(), ValidationReason::OutOfRange)
    );
    assert_eq!(
        field_of(bad(vec![uses(&p.reagent, -2)]).await),
        ("lines.0.quantity".into(), ValidationReason::OutOfRange)
    );
    assert_eq!(
        field_of(bad(vec![uses("no-such-item", 1)]).await),
        ("lines.0.item_id".into(), ValidationReason::Invalid)
    );
    assert_eq!(
        field_of(bad(vec![uses(&p.reagent, 1), uses(&p.reagent, 2)]).await),
        ("lines.1.item_id".into(), ValidationReason::Taken)
    );
    let many = (0..=lab_use::CONSUMABLES_MAX).map(|_| uses(&p.reagent, 1)).collect();
    assert_eq!(field_of(bad(many).await), ("lines".into(), ValidationReason::TooLong));
    let r = lab_use::set_test_consumables(s, &p.lab, "no-such-test", list()).await;
    assert!(matches!(r, Err(Error::NotFound { .. })), "{r:?}");
    assert_eq!(common::count(s, "change_log").await, changes, "a refused write wrote something");
}
