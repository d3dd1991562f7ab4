//! Stock in the convergence test (issue 16): the ward desk (also the pharmacy's: see `DESK`)
//! receives deliveries, transfers between the main store and the counter and adjusts (damaged
//! out, count corrections either way) on any device, often taking the last units of a batch on
//! two devices apart. Movements are inserts, so after healing:
//!
//! - every device holds every movement made, and each device's cached balances
//!   (`stock_balances`, local) equal the sum of its movements — the same on every device;
//! - a batch that went below zero when the devices' movements met is listed, on every device,
//!   as a `stock_below_zero` conflict in the inbox (the clinic does not allow negative stock),
//!   and only those.

use super::{ids, Case, Device};
use hms_core::stock::{moves, receiving, setup, AdjustInput, ReceiptInput, ReceiptLineInput, TransferInput};
use hms_core::stock::{StockItemInput, StockStoreInput};
use hms_core::sync::conflicts::{self, ConflictKind};
use hms_core::Authorized;
use std::collections::{BTreeMap, BTreeSet};

/// The stores and the item the cases move.
pub(super) struct Stock {
    pub main: String,
    pub counter: String,
    pub item: String,
}

/// On device 0 (its administrator): the main store, the counter and one item.
pub(super) async fn setup(d: &Device) -> Stock {
    let a = d.auth().await;
    let store = |name: &str, kind: &str| StockStoreInput { name: name.into(), kind: kind.into() };
    let main = setup::add_store(&d.store, &a, store("Main store", "main")).await.unwrap().id;
    let counter = setup::add_store(&d.store, &a, store("Counter", "pharmacy")).await.unwrap().id;
    let item = StockItemInput {
        kind: "other".into(),
        generic_name: "Gauze roll".into(),
        pack_size: 10,
        unit: "piece".into(),
        ..Default::default()
    };
    let item = setup::add_item(&d.store, &a, item).await.unwrap().id;
    Stock { main, counter, item }
}

/// On device 0, before the first heal: a delivery into each store.
pub(super) async fn seed(case: &mut Case) {
    let Some(desk) = desk(case, 0).await else { return };
    for (store, batch, units) in [(case.stock.main.clone(), "G-1", 20), (case.stock.counter.clone(), "G-2", 10)] {
        receive(case, 0, &desk, &store, batch, units).await;
    }
}

async fn desk(case: &Case, k: usize) -> Option<Authorized> {
    case.desks[k].authorize(&case.devices[k].store).await.ok()
}

/// The movements device k holds.
async fn movements(case: &Case, k: usize) -> BTreeSet<String> {
    ids(&case.devices[k], "SELECT id FROM stock_movements").await.into_iter().collect()
}

/// Runs a stock write on device k and records the movements it made.
async fn made(case: &mut Case, k: usize, before: BTreeSet<String>, what: String, ok: bool) {
    let after = movements(case, k).await;
    let new: Vec<String> = after.difference(&before).cloned().collect();
    case.log.push(format!("{what} on {k}: {}", if ok { "done" } else { "refused" }));
    case.model.movements.extend(new);
}

async fn receive(case: &mut Case, k: usize, desk: &Authorized, store: &str, batch: &str, units: u32) {
    let before = movements(case, k).await;
    let input = ReceiptInput {
        store_id: store.into(),
        supplier_id: None,
        invoice_no: String::new(),
        note: String::new(),
        lines: vec![ReceiptLineInput {
            item_id: case.stock.item.clone(),
            batch_no: batch.into(),
            expiry: "2028-06-30".into(),
            units,
            ..Default::default()
        }],
    };
    let ok = receiving::receive(&case.devices[k].store, desk, input).await.is_ok();
    made(case, k, before, format!("receive {units} of {batch}"), ok).await;
}

/// The batches with stock in a store on device k: (batch, balance).
async fn on_hand(case: &Case, k: usize, store: &str) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT batch_id, quantity FROM stock_balances WHERE store_id = ? AND quantity > 0 ORDER BY batch_id",
    )
    .bind(store)
    .fetch_all(case.devices[k].store.pool())
    .await
    .unwrap()
}

/// One random stock step on device k.
pub(super) async fn step(case: &mut Case, k: usize) {
    let Some(desk) = desk(case, k).await else { return };
    let (main, counter) = (case.stock.main.clone(), case.stock.counter.clone());
    let (from, to) = if case.rng.bool() { (main, counter) } else { (counter, main) };
    match case.rng.u32(0..100) {
        0..=14 => {
            // More of a batch every device has, or a new one (G-3): two devices receiving it
            // apart make one batch row under one id, which must settle alike everywhere
            // (its `origin_device` once did not: seed 1796580987035).
            let batch = ["G-1", "G-2", "G-3"][case.rng.usize(..3)];
            let units = case.rng.u32(1..=15);
            receive(case, k, &desk, &from, batch, units).await;
        }
        15..=49 => {
            // Often the whole batch: two devices doing so apart take it below zero.
            let Some((batch, have)) = pick(case, k, &from).await else { return };
            let quantity = if case.rng.bool() { have } else { case.rng.i64(1..=have) };
            let before = movements(case, k).await;
            let input = TransferInput {
                item_id: case.stock.item.clone(),
                batch_id: batch,
                from_store_id: from,
                to_store_id: to,
                quantity,
                note: String::new(),
            };
            let ok = moves::transfer(&case.devices[k].store, &desk, input).await.is_ok();
            made(case, k, before, format!("transfer {quantity}"), ok).await;
        }
        50..=84 => {
            let Some((batch, have)) = pick(case, k, &from).await else { return };
            let quantity = -(if case.rng.bool() { have } else { case.rng.i64(1..=have) });
            adjust(case, k, &desk, &from, batch, quantity, "damaged").await;
        }
        _ => {
            // A count correction either way, on any batch the store has seen.
            let Some((batch, have)) = pick(case, k, &from).await else { return };
            let quantity = if case.rng.bool() { case.rng.i64(1..=5) } else { -case.rng.i64(1..=have) };
            adjust(case, k, &desk, &from, batch, quantity, "count_correction").await;
        }
    }
}

async fn pick(case: &mut Case, k: usize, store: &str) -> Option<(String, i64)> {
    let batches = on_hand(case, k, store).await;
    if batches.is_empty() {
        return None;
    }
    Some(batches[case.rng.usize(..batches.len())].clone())
}

async fn adjust(case: &mut Case, k: usize, desk: &Authorized, store: &str, batch: String, quantity: i64, reason: &str) {
    let before = movements(case, k).await;
    let input = AdjustInput {
        item_id: case.stock.item.clone(),
        batch_id: batch,
        store_id: store.into(),
        quantity,
        reason: reason.into(),
        note: String::new(),
    };
    let ok = moves::adjust(&case.devices[k].store, desk, input).await.is_ok();
    made(case, k, before, format!("adjust {quantity} ({reason})"), ok).await;
}

/// (batch, store) → balance: the device's cache, and its movements summed.
async fn balances(d: &Device) -> (BTreeMap<(String, String), i64>, BTreeMap<(String, String), i64>) {
    let q = |sql: &'static str| async move {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(sql).fetch_all(d.store.pool()).await.unwrap();
        rows.into_iter().map(|(b, s, n)| ((b, s), n)).collect::<BTreeMap<_, _>>()
    };
    (
        q("SELECT batch_id, store_id, quantity FROM stock_balances WHERE quantity <> 0").await,
        q("SELECT batch_id, store_id, SUM(quantity) FROM stock_movements WHERE deleted_at IS NULL
           GROUP BY batch_id, store_id HAVING SUM(quantity) <> 0")
        .await,
    )
}

/// The checks of stock after healing (see the header).
pub(super) async fn check(case: &Case, problems: &mut Vec<String>) {
    let (reference, _) = balances(&case.devices[0]).await;
    let below: BTreeSet<String> = reference
        .iter()
        .filter(|(_, n)| **n < 0)
        .map(|((b, s), _)| hms_core::stock::below_zero::conflict_id(b, s))
        .collect();
    for (k, d) in case.devices.iter().enumerate() {
        let held = movements(case, k).await;
        for id in case.model.movements.difference(&held) {
            problems.push(format!("device {k} lacks stock movement {id}"));
        }
        let (cached, summed) = balances(d).await;
        if cached != summed {
            problems.push(format!("device {k}: cached balances {cached:?} differ from its movements {summed:?}"));
        }
        if cached != reference {
            problems.push(format!("device {k}: balances {cached:?}, device 0: {reference:?}"));
        }
        let listed: BTreeSet<String> = conflicts::list(&d.store, &d.auth().await, false)
            .await
            .unwrap()
            .into_iter()
            .filter(|c| c.kind == ConflictKind::StockBelowZero)
            .map(|c| c.id)
            .collect();
        if listed != below {
            problems.push(format!("device {k} lists stock below zero {listed:?}, the balances say {below:?}"));
        }
    }
}
