//! Stock alerts on Home (issue 16): items below their reorder level and batches expired or
//! expiring within 30/60/90 days, checked against a count made here, by hand, over batches
//! built for it (received, moved between stores, held, emptied, then 40 days on).

mod common;
#[path = "common/pharmacy.rs"]
mod pharmacy;
#[path = "common/ward.rs"]
mod ward;

use chrono::Duration;
use hms_core::reports::dashboard;
use hms_core::stock::alerts::{self, StockAlerts};
use hms_core::stock::{moves, setup, AdjustInput, TransferInput};
use hms_core::Error;
use pharmacy::{pharmacy, Pharmacy};

/// A batch with stock in one store, as the test keeps it: item, expiry (days after day 0),
/// units, held.
struct Line {
    item: String,
    expiry_day: i64,
    units: i64,
    held: bool,
}

fn day(p: &Pharmacy, n: i64) -> String {
    (p.t0 + Duration::days(n)).format("%Y-%m-%d").to_string()
}

/// The alerts counted from the test's own lines on day `today` (reorder levels by item).
fn by_hand(lines: &[Line], today: i64, reorder: &[(&str, i64)]) -> (u32, [u32; 4], Vec<String>) {
    let stocked: Vec<&Line> = lines.iter().filter(|l| l.units > 0).collect();
    let expired = stocked.iter().filter(|l| l.expiry_day < today).count() as u32;
    let within =
        |days: i64| stocked.iter().filter(|l| l.expiry_day >= today && l.expiry_day <= today + days).count() as u32;
    let mut low = Vec::new();
    for (item, level) in reorder {
        let usable: i64 =
            lines.iter().filter(|l| l.item == *item && !l.held && l.expiry_day >= today).map(|l| l.units).sum();
        if usable < *level {
            low.push(item.to_string());
        }
    }
    (low.len() as u32, [expired, within(30), within(60), within(90)], low)
}

#[tokio::test]
async fn the_alerts_count_what_a_hand_count_of_the_batches_finds() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    // Nothing in stock: amoxicillin and paracetamol (reorder level 50) are both below it; the
    // reagent (reorder level 0) is not.
    let empty = alerts::alerts(s, &p.pharmacist).await.unwrap();
    assert_eq!((empty.below_reorder, empty.expired, empty.within_90), (2, 0, 0));

    // Day 0: the deliveries. (item, store, batch, expiry day, units)
    let deliveries = [
        (&p.amox, &p.main, "A1", 20, 30),
        (&p.amox, &p.counter, "A2", 55, 20),
        (&p.amox, &p.counter, "A3", 85, 10),
        (&p.amox, &p.main, "A4", 125, 15),
        (&p.amox, &p.main, "A5", 400, 5),
        (&p.para, &p.counter, "P1", 40, 60),
        (&p.para, &p.main, "P2", 70, 10),
        (&p.reagent, &p.lab_store, "R1", 130, 5),
    ];
    let mut lines = Vec::new();
    let mut ids = std::collections::HashMap::new();
    for (item, store, batch, expiry_day, units) in deliveries {
        let id = p.receive(store, item, batch, &day(&p, expiry_day), units).await;
        ids.insert(batch, id);
        lines.push(Line { item: item.clone(), expiry_day, units: i64::from(units), held: false });
    }
    // 5 of P1 to the main store (a second line of the batch), P2 all damaged (no line left),
    // A4 held (a recall: still on the expiry list, not usable).
    let transfer = TransferInput {
        item_id: p.para.clone(),
        batch_id: ids["P1"].clone(),
        from_store_id: p.counter.clone(),
        to_store_id: p.main.clone(),
        quantity: 5,
        note: String::new(),
    };
    moves::transfer(s, &p.pharmacist, transfer).await.unwrap();
    lines[5].units -= 5;
    lines.push(Line { item: p.para.clone(), expiry_day: 40, units: 5, held: false });
    let damaged = AdjustInput {
        item_id: p.para.clone(),
        batch_id: ids["P2"].clone(),
        store_id: p.main.clone(),
        quantity: -10,
        reason: "damaged".into(),
        note: String::new(),
    };
    moves::adjust(s, &p.pharmacist, damaged).await.unwrap();
    lines[6].units = 0;
    setup::set_batch_hold(s, &p.pharmacist, &ids["A4"], true, "supplier recall").await.unwrap();
    lines[3].held = true;

    let reorder = [(p.amox.as_str(), 50), (p.para.as_str(), 50), (p.reagent.as_str(), 0)];
    for today in [0, 40, 100] {
        p.at(today);
        let got = alerts::alerts(s, &p.pharmacist).await.unwrap();
        let (below, [expired, w30, w60, w90], low) = by_hand(&lines, today, &reorder);
        assert_eq!(
            (got.below_reorder, got.expired, got.within_30, got.within_60, got.within_90),
            (below, expired, w30, w60, w90),
            "day {today}"
        );
        let mut listed: Vec<String> = got.low.iter().map(|i| i.item_id.clone()).collect();
        listed.sort();
        let mut expected = low.clone();
        expected.sort();
        assert_eq!(listed, expected, "day {today}");
        assert!(got.low.windows(2).all(|w| w[0].on_hand <= w[1].on_hand), "fewest on hand first");
    }

    // Day 40 in words: A1 expired; P1's two lines (expiring today: still usable) and A2 within
    // 30 days; A3 within 60; A4 (held) and R1 (its 90th day) within 90. Amoxicillin has 35
    // usable (A2 20 + A3 10 + A5 5; A1 expired, A4 held) of 50: below; paracetamol 60: not.
    p.at(40);
    let got = alerts::alerts(s, &p.pharmacist).await.unwrap();
    assert_eq!((got.expired, got.within_30, got.within_60, got.within_90), (1, 3, 4, 6));
    assert_eq!(got.below_reorder, 1);
    let amox = &got.low[0];
    assert_eq!(
        (amox.generic_name.as_str(), amox.on_hand, amox.reorder_level, amox.unit.as_str()),
        ("Amoxicillin", 35, 50, "capsule")
    );
    // A store's expiry list agrees, line for line, with the tile over all stores.
    let mut listed = 0;
    for store in [&p.main, &p.counter, &p.lab_store] {
        listed += hms_core::stock::ledger::expiry_report(s, &p.pharmacist, store, 90).await.unwrap().len() as u32;
    }
    assert_eq!(listed, got.expired + got.within_90);
}

#[tokio::test]
async fn the_pharmacist_and_the_administrator_get_the_stock_tile_others_do_not() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    p.receive(&p.counter, &p.amox, "A1", &day(&p, 10), 12).await;
    let tile = |a: Option<StockAlerts>| a.map(|a| (a.below_reorder, a.within_30));
    let pharmacist = dashboard::home(s, &p.pharmacist).await.unwrap().stock;
    assert_eq!(tile(pharmacist.clone()), Some((2, 1)));
    assert_eq!(pharmacist, Some(alerts::alerts(s, &p.pharmacist).await.unwrap()));
    assert_eq!(tile(dashboard::home(s, &p.admin).await.unwrap().stock), Some((2, 1)));
    // The lab technician sees stock lists but is not the one warned; the doctor and the nurse
    // see no stock at all.
    for who in [&p.lab, &p.doctor, &p.nurse] {
        assert_eq!(dashboard::home(s, who).await.unwrap().stock, None);
    }
    for who in [&p.doctor, &p.nurse] {
        assert!(matches!(alerts::alerts(s, who).await, Err(Error::Forbidden { .. })));
    }
    assert!(alerts::alerts(s, &p.lab).await.is_ok());
}
