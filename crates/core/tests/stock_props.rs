//! Property tests of stock (issue 16): the allocator over any batches never picks an expired,
//! held or too-short-dated batch, always takes the earliest usable expiry first, and gives every
//! batch it passed over its reason; and for any sequence of receipts, transfers, adjustments,
//! dispensings and returns, every balance equals the sum of its movements, no batch goes below
//! zero (negative stock off) and a refused operation writes nothing.

mod common;
#[path = "common/pharmacy.rs"]
mod pharmacy;
#[path = "common/ward.rs"]
mod ward;

use chrono::{Duration, NaiveDate};
use hms_core::stock::fefo::{allocate, usable};
use hms_core::stock::{
    dispensing, moves, receiving, AdjustInput, Candidate, DispenseInput, DispenseLineInput, ReceiptInput,
    ReceiptLineInput, ReturnInput, TransferInput,
};
use pharmacy::pharmacy;
use proptest::prelude::*;
use std::collections::BTreeMap;

const STORES: [&str; 3] = ["main", "counter", "lab"];

fn candidate_strategy() -> impl Strategy<Value = Vec<Candidate>> {
    prop::collection::vec((0i64..120, any::<bool>(), prop::collection::vec((0usize..3, -5i64..40), 0..3)), 0..8)
        .prop_map(|batches| {
            let base = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
            batches
                .into_iter()
                .enumerate()
                .map(|(i, (offset, held, balances))| {
                    let mut by_store: BTreeMap<String, i64> = BTreeMap::new();
                    for (s, q) in balances {
                        *by_store.entry(STORES[s].to_string()).or_default() += q;
                    }
                    Candidate {
                        batch_id: format!("b{i}"),
                        batch_no: format!("B{}", i % 3),
                        expiry: base + Duration::days(offset),
                        on_hold: held && i % 3 == 0,
                        balances: by_store.into_iter().collect(),
                    }
                })
                .collect()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
    #[test]
    fn the_allocator_takes_the_earliest_usable_expiry_and_says_why_it_passed_each_batch(
        batches in candidate_strategy(),
        store in 0usize..3,
        quantity in 1i64..120,
        today_offset in 0i64..60,
        course in prop::option::of(0i64..90),
    ) {
        let base = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let today = base + Duration::days(today_offset);
        let course_end = course.map(|c| today + Duration::days(c));
        let store = STORES[store];
        let a = allocate(&batches, store, quantity, today, course_end);
        let by_id: BTreeMap<&str, &Candidate> = batches.iter().map(|c| (c.batch_id.as_str(), c)).collect();
        // Never an expired, held or too-short-dated batch; never more than a batch holds here.
        for p in &a.picks {
            let c = by_id[p.batch_id.as_str()];
            prop_assert!(c.expiry >= today && !c.on_hold, "picked {c:?}");
            prop_assert!(course_end.is_none_or(|end| c.expiry >= end), "picked {c:?} before the course ends");
            prop_assert_eq!(usable(c, store, today, course_end), None);
            let here = hms_core::stock::fefo::balance_in(c, store);
            prop_assert!(p.quantity > 0 && p.quantity <= here, "{p:?} of {here}");
        }
        // What is taken and what is missing make the quantity.
        let taken: i64 = a.picks.iter().map(|p| p.quantity).sum();
        prop_assert_eq!(taken + a.short, quantity);
        prop_assert!(a.short >= 0);
        // Earliest usable expiry first: in the batches' order, the usable ones are taken in
        // turn, each in full but the last; and every batch before the last one taken (every
        // batch, when short) that was not taken is passed over with its reason.
        let mut order: Vec<&Candidate> = batches.iter().collect();
        order.sort_by(|x, y| (x.expiry, &x.batch_no, &x.batch_id).cmp(&(y.expiry, &y.batch_no, &y.batch_id)));
        let considered = if a.short > 0 {
            order.len()
        } else {
            a.picks.last().map_or(0, |last| order.iter().position(|c| c.batch_id == last.batch_id).unwrap() + 1)
        };
        let mut picks = a.picks.iter();
        let mut passed = a.passed.iter();
        for (i, c) in order.iter().take(considered).enumerate() {
            match usable(c, store, today, course_end) {
                None => {
                    let p = picks.next().expect("a usable batch before the last pick is taken");
                    prop_assert_eq!(&p.batch_id, &c.batch_id);
                    if i + 1 < considered {
                        prop_assert_eq!(p.quantity, hms_core::stock::fefo::balance_in(c, store), "taken in full");
                    }
                }
                Some(reason) => {
                    let p = passed.next().expect("a batch passed over has its reason");
                    prop_assert_eq!(&p.batch_id, &c.batch_id);
                    prop_assert_eq!(p.reason, reason);
                }
            }
        }
        prop_assert!(picks.next().is_none() && passed.next().is_none(), "nothing beyond the last batch needed");
    }
}

#[derive(Debug, Clone)]
enum Op {
    Receive { store: usize, item: usize, batch: usize, units: u32, expiry_days: i64 },
    Transfer { item: usize, batch: usize, from: usize, to: usize, quantity: i64 },
    Adjust { item: usize, batch: usize, store: usize, quantity: i64 },
    Dispense { quantity: i64, complete: bool },
    Return { which: usize, quantity: i64 },
    NextDay,
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0usize..3, 0usize..2, 0usize..3, 1u32..40, 0i64..60)
            .prop_map(|(store, item, batch, units, expiry_days)| Op::Receive { store, item, batch, units, expiry_days }),
        3 => (0usize..2, 0usize..3, 0usize..3, 0usize..3, -2i64..30)
            .prop_map(|(item, batch, from, to, quantity)| Op::Transfer { item, batch, from, to, quantity }),
        2 => (0usize..2, 0usize..3, 0usize..3, -20i64..10)
            .prop_map(|(item, batch, store, quantity)| Op::Adjust { item, batch, store, quantity }),
        3 => (-1i64..30, any::<bool>()).prop_map(|(quantity, complete)| Op::Dispense { quantity, complete }),
        2 => (0usize..8, -1i64..10).prop_map(|(which, quantity)| Op::Return { which, quantity }),
        1 => Just(Op::NextDay),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, ..ProptestConfig::default() })]
    #[test]
    fn every_balance_is_the_sum_of_its_movements_whatever_happens(
        steps in prop::collection::vec(op_strategy(), 1..40),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let p = pharmacy().await;
            let s = &p.w.env.store;
            let ph = p.pharmacist.clone();
            let stores = [p.main.clone(), p.counter.clone(), p.lab_store.clone()];
            let items = [p.amox.clone(), p.para.clone()];
            let batch_no = |item: usize, batch: usize| format!("{}-{batch}", ["AMX", "PAR"][item]);
            // A batch's expiry is fixed by its first receipt (the same number again must match).
            let mut expiries: BTreeMap<(usize, usize), String> = BTreeMap::new();
            let mut rx = p.prescribe(&p.w.amoxicillin, None).await;
            let mut dispensed: Vec<String> = Vec::new();
            let mut day = 0;
            for op in steps {
                let before = (common::count(s, "change_log").await, common::count(s, "audit_log").await);
                let result: Result<(), hms_core::Error> = match &op {
                    Op::Receive { store, item, batch, units, expiry_days } => {
                        let today = (p.t0 + Duration::days(day)).date_naive();
                        let expiry = expiries
                            .entry((*item, *batch))
                            .or_insert_with(|| (today + Duration::days(*expiry_days)).format("%Y-%m-%d").to_string())
                            .clone();
                        let input = ReceiptInput {
                            store_id: stores[*store].clone(),
                            supplier_id: None,
                            invoice_no: String::new(),
                            note: String::new(),
                            lines: vec![ReceiptLineInput {
                                item_id: items[*item].clone(),
                                batch_no: batch_no(*item, *batch),
                                expiry,
                                units: *units,
                                ..Default::default()
                            }],
                        };
                        receiving::receive(s, &ph, input).await.map(|_| ())
                    }
                    Op::Transfer { item, batch, from, to, quantity } => {
                        let input = TransferInput {
                            item_id: items[*item].clone(),
                            batch_id: receiving::batch_id(&items[*item], &batch_no(*item, *batch)),
                            from_store_id: stores[*from].clone(),
                            to_store_id: stores[*to].clone(),
                            quantity: *quantity,
                            note: String::new(),
                        };
                        moves::transfer(s, &ph, input).await.map(|_| ())
                    }
                    Op::Adjust { item, batch, store, quantity } => {
                        let input = AdjustInput {
                            item_id: items[*item].clone(),
                            batch_id: receiving::batch_id(&items[*item], &batch_no(*item, *batch)),
                            store_id: stores[*store].clone(),
                            quantity: *quantity,
                            reason: if *quantity > 0 { "count_correction" } else { "damaged" }.into(),
                            note: String::new(),
                        };
                        moves::adjust(s, &ph, input).await.map(|_| ())
                    }
                    Op::Dispense { quantity, complete } => {
                        let line = DispenseLineInput {
                            prescription_id: rx.clone(),
                            quantity: *quantity,
                            complete: *complete,
                            ..Default::default()
                        };
                        let r = dispensing::dispense(s, &ph, DispenseInput { store_id: p.counter.clone(), lines: vec![line] }).await;
                        r.map(|d| {
                            dispensed.extend(d.lines.into_iter().flat_map(|l| l.movement_ids));
                            if *complete {
                                // The next prescription waits.
                                rx.clear();
                            }
                        })
                    }
                    Op::Return { which, quantity } => match dispensed.get(*which) {
                        Some(m) => {
                            let input = ReturnInput { movement_id: m.clone(), quantity: *quantity, note: String::new() };
                            dispensing::return_dispensed(s, &ph, input).await.map(|_| ())
                        }
                        None => continue,
                    },
                    Op::NextDay => {
                        day += 1;
                        p.at(day);
                        continue;
                    }
                };
                if rx.is_empty() {
                    rx = p.prescribe(&p.w.amoxicillin, None).await;
                }
                if let Err(e) = &result {
                    assert!(matches!(e, hms_core::Error::Validation { .. }), "{op:?}: {e:?}");
                    let after = (common::count(s, "change_log").await, common::count(s, "audit_log").await);
                    assert_eq!(after, before, "refused {op:?} wrote something");
                }
                // The cache the triggers keep is the ledger's sum, and nothing is below zero.
                let cached: Vec<(String, String, i64)> =
                    sqlx::query_as("SELECT batch_id, store_id, quantity FROM stock_balances WHERE quantity <> 0 ORDER BY 1, 2")
                        .fetch_all(s.pool()).await.unwrap();
                let summed: Vec<(String, String, i64)> = sqlx::query_as(
                    "SELECT batch_id, store_id, SUM(quantity) FROM stock_movements GROUP BY 1, 2 HAVING SUM(quantity) <> 0 ORDER BY 1, 2",
                )
                .fetch_all(s.pool()).await.unwrap();
                assert_eq!(cached, summed, "after {op:?}");
                assert!(summed.iter().all(|(_, _, q)| *q >= 0), "below zero after {op:?}: {summed:?}");
                // Every dispensing movement took a batch that was usable that day.
                let bad: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM stock_movements m JOIN stock_batches b ON b.id = m.batch_id
                     WHERE m.kind = 'dispensed' AND (b.expiry < substr(m.at, 1, 10) OR b.on_hold = 1)",
                )
                .fetch_one(s.pool()).await.unwrap();
                assert_eq!(bad, 0, "expired or held stock dispensed");
            }
        });
    }
}
