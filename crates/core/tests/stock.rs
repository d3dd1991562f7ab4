//! Pharmacy and lab stock (issue 16): receiving into batches, the ledger and its derived
//! balances, transfers and adjustments, dispensing against prescriptions first-expiry-first-out
//! (in full or in part, substitution, charged to the bill), returns into the batch they came
//! from, the bad inputs that write nothing, and the permission of every operation.

mod common;
#[path = "common/pharmacy.rs"]
mod pharmacy;
#[path = "common/ward.rs"]
mod ward;

use hms_core::stock::{
    dispensing, ledger, moves, receiving, setup, AdjustInput, DispenseInput, DispenseLineInput, ReceiptInput,
    ReceiptLineInput, ReturnInput, StockItemInput, StockStoreInput, SupplierInput, TransferInput,
};
use hms_core::{Authorized, Error, Store, ValidationReason};
use pharmacy::{pharmacy, Pharmacy, AMOX_PRICE};
use std::collections::BTreeMap;
use ward::field_of;

/// (movements, batches, dispensings, bill_lines, change_log, audit_log) row counts.
async fn counts(s: &Store) -> [i64; 6] {
    [
        common::count(s, "stock_movements").await,
        common::count(s, "stock_batches").await,
        common::count(s, "dispensings").await,
        common::count(s, "bill_lines").await,
        common::count(s, "change_log").await,
        common::count(s, "audit_log").await,
    ]
}

/// The cached balances and the ledger recounted, each as (batch, store) → quantity.
async fn cached_and_recounted(s: &Store) -> (BTreeMap<(String, String), i64>, BTreeMap<(String, String), i64>) {
    let cached: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT batch_id, store_id, quantity FROM stock_balances WHERE quantity <> 0")
            .fetch_all(s.pool())
            .await
            .unwrap();
    let summed: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT batch_id, store_id, SUM(quantity) FROM stock_movements WHERE deleted_at IS NULL
         GROUP BY batch_id, store_id HAVING SUM(quantity) <> 0",
    )
    .fetch_all(s.pool())
    .await
    .unwrap();
    let map = |rows: Vec<(String, String, i64)>| rows.into_iter().map(|(b, st, q)| ((b, st), q)).collect();
    (map(cached), map(summed))
}

async fn balance(s: &Store, batch: &str, store: &str) -> i64 {
    sqlx::query_scalar("SELECT COALESCE(SUM(quantity), 0) FROM stock_movements WHERE batch_id = ? AND store_id = ?")
        .bind(batch)
        .bind(store)
        .fetch_one(s.pool())
        .await
        .unwrap()
}

fn line(prescription: &str, quantity: i64, complete: bool) -> DispenseLineInput {
    DispenseLineInput { prescription_id: prescription.into(), quantity, complete, ..Default::default() }
}

fn dispense_input(p: &Pharmacy, lines: Vec<DispenseLineInput>) -> DispenseInput {
    DispenseInput { store_id: p.counter.clone(), lines }
}

/// (description, quantity, unit price, category) of the patient's pharmacy bill lines.
async fn pharmacy_lines(s: &Store, patient: &str) -> Vec<(String, i64, i64, String)> {
    sqlx::query_as(
        "SELECT l.description, l.quantity, l.unit_price_minor, l.category FROM bill_lines l JOIN bills b ON b.id = l.bill_id
         WHERE b.patient_id = ? AND l.source = 'dispense' AND l.deleted_at IS NULL ORDER BY l.position",
    )
    .bind(patient)
    .fetch_all(s.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn goods_received_in_batches_move_between_stores_and_the_balance_is_the_ledgers_sum() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    // Two batches on one receipt: 3 packs of 10 + 5 loose + 2 free; 1 pack.
    let input = ReceiptInput {
        store_id: p.main.clone(),
        supplier_id: Some(p.supplier.clone()),
        invoice_no: "MD/2026/0412".into(),
        note: String::new(),
        lines: vec![
            ReceiptLineInput {
                item_id: p.amox.clone(),
                batch_no: "AMX-101".into(),
                expiry: "2027-06-30".into(),
                packs: 3,
                units: 5,
                free_units: 2,
                pack_cost_minor: 3_000,
                sale_price_minor: None,
            },
            ReceiptLineInput {
                item_id: p.amox.clone(),
                batch_no: "AMX-102".into(),
                expiry: "2027-03-31".into(),
                packs: 1,
                pack_cost_minor: 3_200,
                sale_price_minor: Some(550),
                ..Default::default()
            },
        ],
    };
    let r = receiving::receive(s, &p.pharmacist, input).await.unwrap();
    assert_eq!(r.quantities, [37, 10]);
    let (b101, b102) = (r.batch_ids[0].clone(), r.batch_ids[1].clone());
    // A batch's id is the item's batch number: received again, it is the same batch.
    assert_eq!(receiving::batch_id(&p.amox, " amx-101 "), b101);
    let again = p.receive(&p.main, &p.amox, "AMX-101", "2027-06-30", 3).await;
    assert_eq!(again, b101);
    let (price, cost): (i64, i64) =
        sqlx::query_as("SELECT sale_price_minor, cost_minor FROM stock_batches WHERE id = ?")
            .bind(&b102)
            .fetch_one(s.pool())
            .await
            .unwrap();
    assert_eq!((price, cost), (550, 320));

    // Transfer 15 of AMX-101 to the counter; a count finds one capsule short there.
    moves::transfer(
        s,
        &p.pharmacist,
        TransferInput {
            item_id: p.amox.clone(),
            batch_id: b101.clone(),
            from_store_id: p.main.clone(),
            to_store_id: p.counter.clone(),
            quantity: 15,
            note: String::new(),
        },
    )
    .await
    .unwrap();
    moves::adjust(
        s,
        &p.pharmacist,
        AdjustInput {
            item_id: p.amox.clone(),
            batch_id: b101.clone(),
            store_id: p.counter.clone(),
            quantity: -1,
            reason: "count_correction".into(),
            note: "count of 6 Dec".into(),
        },
    )
    .await
    .unwrap();
    let balances = ledger::item_balances(s, &p.pharmacist, &p.amox).await.unwrap();
    let got: Vec<(&str, &str, i64)> =
        balances.iter().map(|b| (b.batch_no.as_str(), b.store_id.as_str(), b.quantity)).collect();
    // Earliest expiry first.
    let mut want =
        vec![("AMX-102", p.main.as_str(), 10), ("AMX-101", p.counter.as_str(), 14), ("AMX-101", p.main.as_str(), 25)];
    want[1..].sort_by_key(|w| w.1);
    assert_eq!(got, want);
    let (cached, recounted) = cached_and_recounted(s).await;
    assert_eq!(cached, recounted);
    assert_eq!(recounted.len(), 3);
    let actions = common::actions(s).await;
    for a in ["stock.receive", "stock.transfer", "stock.adjust"] {
        assert!(actions.iter().any(|x| x == a), "{a} audited");
    }
    // The ledger is append-only, down to the database.
    let changed = sqlx::query("UPDATE stock_movements SET quantity = quantity + 1").execute(s.pool()).await;
    assert!(changed.is_err(), "a movement changed");
    // Search finds the item by name with what is usable on hand.
    let hits = setup::search_items(s, &p.pharmacist, "amox").await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!((hits[0].on_hand, hits[0].below_reorder), (49, true));
}

#[tokio::test]
async fn a_prescription_is_dispensed_first_expiry_first_out_in_part_then_in_full_and_charged() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    let late = p.receive(&p.counter, &p.amox, "L-9", "2027-12-31", 100).await;
    let early = p.receive(&p.counter, &p.amox, "E-1", "2027-02-28", 12).await;
    let short = p.receive(&p.counter, &p.amox, "S-1", "2026-12-08", 40).await;
    let held = p.receive(&p.counter, &p.amox, "H-1", "2027-01-31", 40).await;
    let in_main = p.receive(&p.main, &p.amox, "M-1", "2027-01-15", 40).await;
    setup::set_batch_hold(s, &p.pharmacist, &held, true, "supplier recall").await.unwrap();
    let rx = p.prescribe(&p.w.amoxicillin, Some(5)).await;

    let waiting = dispensing::waiting(s, &p.pharmacist).await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(
        (waiting[0].prescription_id.as_str(), waiting[0].item_id.as_deref()),
        (rx.as_str(), Some(p.amox.as_str()))
    );
    assert_eq!((waiting[0].patient_name.as_str(), waiting[0].dispensed), ("Ravi Sharma", 0));

    // In part: 20 capsules. S-1 ends before the course (11 Dec), H-1 is held, M-1 is in the
    // main store: E-1's 12, then 8 of L-9.
    let d = dispensing::dispense(s, &p.pharmacist, dispense_input(&p, vec![line(&rx, 20, false)])).await.unwrap();
    let picks: Vec<(&str, i64)> = d.lines[0].picks.iter().map(|x| (x.batch_no.as_str(), x.quantity)).collect();
    assert_eq!(picks, [("E-1", 12), ("L-9", 8)]);
    assert_eq!((balance(s, &early, &p.counter).await, balance(s, &late, &p.counter).await), (0, 92));
    assert_eq!(
        (
            balance(s, &short, &p.counter).await,
            balance(s, &held, &p.counter).await,
            balance(s, &in_main, &p.main).await
        ),
        (40, 40, 40)
    );
    let waiting = dispensing::waiting(s, &p.pharmacist).await.unwrap();
    assert_eq!(waiting[0].dispensed, 20, "given in part, it still waits");
    // The rest, in full.
    dispensing::dispense(s, &p.pharmacist, dispense_input(&p, vec![line(&rx, 10, true)])).await.unwrap();
    assert!(dispensing::waiting(s, &p.pharmacist).await.unwrap().is_empty());
    assert_eq!(balance(s, &late, &p.counter).await, 82);
    // Dispensed in full: not again.
    assert_eq!(
        field_of(dispensing::dispense(s, &p.pharmacist, dispense_input(&p, vec![line(&rx, 1, true)])).await),
        ("lines.0.prescription_id".into(), ValidationReason::Invalid)
    );

    // Each batch taken is a pharmacy line on the patient's open bill at its price.
    let lines = pharmacy_lines(s, &p.w.patient).await;
    let got: Vec<(i64, i64, &str)> = lines.iter().map(|l| (l.1, l.2, l.3.as_str())).collect();
    assert_eq!(got, [(12, AMOX_PRICE, "pharmacy"), (8, AMOX_PRICE, "pharmacy"), (10, AMOX_PRICE, "pharmacy")]);
    assert!(lines[0].0.starts_with("Amoxicillin 500 mg capsule (batch E-1, exp 2027-02-28)"), "{}", lines[0].0);
    let bill_of_lines: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT bill_id FROM bill_lines WHERE source = 'dispense'")
            .fetch_all(s.pool())
            .await
            .unwrap();
    assert_eq!(bill_of_lines, [d.bill_id.clone().unwrap()], "one open bill");
    let (cached, recounted) = cached_and_recounted(s).await;
    assert_eq!(cached, recounted);
}

#[tokio::test]
async fn expired_or_held_stock_is_never_dispensed_on_any_path() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    let old = p.receive(&p.counter, &p.amox, "OLD", "2026-12-10", 50).await;
    let held = p.receive(&p.counter, &p.amox, "HLD", "2027-05-31", 50).await;
    setup::set_batch_hold(s, &p.pharmacist, &held, true, "query from the supplier").await.unwrap();
    p.at(7); // 13 Dec: OLD has expired.
    let rx = p.prescribe(&p.w.amoxicillin, None).await;
    let before = counts(s).await;
    // First expiry first out finds nothing usable.
    let (field, reason) =
        field_of(dispensing::dispense(s, &p.pharmacist, dispense_input(&p, vec![line(&rx, 5, true)])).await);
    assert_eq!((field.as_str(), reason), ("lines.0.quantity", ValidationReason::OutOfRange));
    // Nor by hand.
    for (batch, why) in [(&old, "expired"), (&held, "on hold")] {
        let l = DispenseLineInput { batch_id: Some(batch.clone()), ..line(&rx, 5, true) };
        let r = dispensing::dispense(s, &p.pharmacist, dispense_input(&p, vec![l])).await;
        assert_eq!(field_of(r), ("lines.0.batch_id".into(), ValidationReason::Invalid), "{why}");
    }
    // Not even with negative stock allowed.
    ledger::set_allow_negative(s, &p.admin, true).await.unwrap();
    let before_neg = counts(s).await;
    let r = dispensing::dispense(s, &p.pharmacist, dispense_input(&p, vec![line(&rx, 5, true)])).await;
    assert_eq!(field_of(r), ("lines.0.quantity".into(), ValidationReason::OutOfRange));
    assert_eq!(counts(s).await, before_neg);
    assert_eq!(before[..4], counts(s).await[..4]);
    // Released, the held batch dispenses; the expired one is taken out as expired.
    setup::set_batch_hold(s, &p.pharmacist, &held, false, "").await.unwrap();
    let d = dispensing::dispense(s, &p.pharmacist, dispense_input(&p, vec![line(&rx, 5, true)])).await.unwrap();
    assert_eq!(d.lines[0].picks[0].batch_id, held);
    moves::adjust(
        s,
        &p.pharmacist,
        AdjustInput {
            item_id: p.amox.clone(),
            batch_id: old.clone(),
            store_id: p.counter.clone(),
            quantity: -50,
            reason: "expired".into(),
            note: String::new(),
        },
    )
    .await
    .unwrap();
    assert_eq!(balance(s, &old, &p.counter).await, 0);
    // The expiry list shows what is left near its date.
    let list = ledger::expiry_report(s, &p.pharmacist, &p.counter, 365).await.unwrap();
    assert_eq!(list.iter().map(|l| (l.batch_no.as_str(), l.quantity)).collect::<Vec<_>>(), [("HLD", 45)]);
}

#[tokio::test]
async fn substitution_needs_a_reason_and_a_return_goes_back_into_its_batch_and_off_the_bill() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    let para = p.receive(&p.counter, &p.para, "P-1", "2027-08-31", 60).await;
    let rx = p.prescribe(&p.w.amoxicillin, Some(5)).await;
    let sub = DispenseLineInput { item_id: Some(p.para.clone()), ..line(&rx, 15, true) };
    let before = counts(s).await;
    assert_eq!(
        field_of(dispensing::dispense(s, &p.pharmacist, dispense_input(&p, vec![sub.clone()])).await),
        ("lines.0.substitution_reason".into(), ValidationReason::Required)
    );
    assert_eq!(counts(s).await, before);
    let sub = DispenseLineInput { substitution_reason: "amoxicillin out of stock; doctor agreed".into(), ..sub };
    let d = dispensing::dispense(s, &p.pharmacist, dispense_input(&p, vec![sub])).await.unwrap();
    assert_eq!(d.lines[0].item_id, p.para);
    let reason: String = sqlx::query_scalar("SELECT substitution_reason FROM dispensings WHERE id = ?")
        .bind(&d.lines[0].dispensing_id)
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert!(reason.starts_with("amoxicillin out of stock"));
    assert_eq!(balance(s, &para, &p.counter).await, 45);

    // Five come back: into P-1 at the counter, and the draft bill's line drops to 10.
    let movement = d.lines[0].movement_ids[0].clone();
    let back = ReturnInput { movement_id: movement.clone(), quantity: 5, note: "patient changed".into() };
    let r = dispensing::return_dispensed(s, &p.pharmacist, back).await.unwrap();
    assert!(r.bill_adjusted);
    assert_eq!(balance(s, &para, &p.counter).await, 50);
    let lines = pharmacy_lines(s, &p.w.patient).await;
    assert_eq!(lines.iter().map(|l| l.1).collect::<Vec<_>>(), [10]);
    // No more than is left of the dispensing; nothing written.
    let before = counts(s).await;
    let too_many = ReturnInput { movement_id: movement.clone(), quantity: 11, note: String::new() };
    assert_eq!(
        field_of(dispensing::return_dispensed(s, &p.pharmacist, too_many).await),
        ("quantity".into(), ValidationReason::OutOfRange)
    );
    assert_eq!(counts(s).await, before);
    // The rest: the line leaves the bill.
    let rest = ReturnInput { movement_id: movement, quantity: 10, note: String::new() };
    dispensing::return_dispensed(s, &p.pharmacist, rest).await.unwrap();
    assert!(pharmacy_lines(s, &p.w.patient).await.is_empty());
    assert_eq!(balance(s, &para, &p.counter).await, 60);
    let (cached, recounted) = cached_and_recounted(s).await;
    assert_eq!(cached, recounted);
}

#[tokio::test]
async fn bad_input_gets_a_typed_error_naming_the_field_and_writes_nothing() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    let amox = p.receive(&p.main, &p.amox, "A-1", "2027-06-30", 20).await;
    let para = p.receive(&p.main, &p.para, "P-1", "2027-06-30", 20).await;
    let rx = p.prescribe(&p.w.amoxicillin, Some(3)).await;
    let before = counts(s).await;
    let receipt = |expiry: &str, packs: u32, units: u32| ReceiptInput {
        store_id: p.main.clone(),
        supplier_id: None,
        invoice_no: String::new(),
        note: String::new(),
        lines: vec![ReceiptLineInput {
            item_id: p.amox.clone(),
            batch_no: "NEW-1".into(),
            expiry: expiry.into(),
            packs,
            units,
            ..Default::default()
        }],
    };
    let transfer = |batch: &str, quantity: i64| TransferInput {
        item_id: p.amox.clone(),
        batch_id: batch.into(),
        from_store_id: p.main.clone(),
        to_store_id: p.counter.clone(),
        quantity,
        note: String::new(),
    };
    let adjust = |quantity: i64, reason: &str| AdjustInput {
        item_id: p.amox.clone(),
        batch_id: amox.clone(),
        store_id: p.main.clone(),
        quantity,
        reason: reason.into(),
        note: String::new(),
    };
    let ph = &p.pharmacist;
    let cases: Vec<(&str, (String, ValidationReason))> = vec![
        ("expiry in the past", field_of(receiving::receive(s, ph, receipt("2026-12-05", 1, 0)).await)),
        ("not a date", field_of(receiving::receive(s, ph, receipt("31/12/2027", 1, 0)).await)),
        ("nothing received", field_of(receiving::receive(s, ph, receipt("2027-12-31", 0, 0)).await)),
        ("an expiry other than the batch's", {
            let mut r = receipt("2027-12-31", 1, 0);
            r.lines[0].batch_no = "A-1".into();
            field_of(receiving::receive(s, ph, r).await)
        }),
        (
            "no lines",
            field_of(receiving::receive(s, ph, ReceiptInput { lines: vec![], ..receipt("2027-12-31", 1, 0) }).await),
        ),
        ("zero", field_of(moves::transfer(s, ph, transfer(&amox, 0)).await)),
        ("negative", field_of(moves::transfer(s, ph, transfer(&amox, -3)).await)),
        ("more than in stock", field_of(moves::transfer(s, ph, transfer(&amox, 21)).await)),
        ("a batch of another item", field_of(moves::transfer(s, ph, transfer(&para, 1)).await)),
        (
            "to the same store",
            field_of(moves::transfer(s, ph, TransferInput { to_store_id: p.main.clone(), ..transfer(&amox, 1) }).await),
        ),
        ("damaged coming in", field_of(moves::adjust(s, ph, adjust(5, "damaged")).await)),
        ("an unknown reason", field_of(moves::adjust(s, ph, adjust(-1, "lost")).await)),
        ("an adjustment below zero", field_of(moves::adjust(s, ph, adjust(-21, "damaged")).await)),
        ("dispensing zero", field_of(dispensing::dispense(s, ph, dispense_input(&p, vec![line(&rx, 0, true)])).await)),
        (
            "dispensing more than in stock",
            field_of(
                dispensing::dispense(
                    s,
                    ph,
                    DispenseInput { store_id: p.main.clone(), lines: vec![line(&rx, 21, true)] },
                )
                .await,
            ),
        ),
        (
            "dispensing a batch of another item",
            field_of(
                dispensing::dispense(
                    s,
                    ph,
                    DispenseInput {
                        store_id: p.main.clone(),
                        lines: vec![DispenseLineInput { batch_id: Some(para.clone()), ..line(&rx, 1, true) }],
                    },
                )
                .await,
            ),
        ),
        (
            "a return of no dispensing",
            field_of(
                dispensing::return_dispensed(
                    s,
                    ph,
                    ReturnInput { movement_id: amox.clone(), quantity: 1, note: String::new() },
                )
                .await,
            ),
        ),
        (
            "a medicine item without its medicine",
            field_of(
                setup::add_item(
                    s,
                    ph,
                    StockItemInput {
                        kind: "medicine".into(),
                        pack_size: 1,
                        unit: "tablet".into(),
                        ..Default::default()
                    },
                )
                .await,
            ),
        ),
        (
            "a pack of none",
            field_of(
                setup::add_item(
                    s,
                    ph,
                    StockItemInput {
                        kind: "other".into(),
                        generic_name: "Gauze".into(),
                        pack_size: 0,
                        unit: "roll".into(),
                        ..Default::default()
                    },
                )
                .await,
            ),
        ),
        (
            "a medicine stocked twice",
            field_of(
                setup::add_item(
                    s,
                    ph,
                    StockItemInput {
                        kind: "medicine".into(),
                        medicine_id: Some(p.w.amoxicillin.clone()),
                        pack_size: 1,
                        unit: "capsule".into(),
                        ..Default::default()
                    },
                )
                .await,
            ),
        ),
        (
            "a store of no kind",
            field_of(setup::add_store(s, ph, StockStoreInput { name: "Shelf".into(), kind: "cupboard".into() }).await),
        ),
        ("a supplier with no name", field_of(setup::add_supplier(s, ph, SupplierInput::default()).await)),
    ];
    let got: Vec<(&str, &str, ValidationReason)> = cases.iter().map(|(what, (f, r))| (*what, f.as_str(), *r)).collect();
    use ValidationReason::*;
    assert_eq!(
        got,
        [
            ("expiry in the past", "lines.0.expiry", OutOfRange),
            ("not a date", "lines.0.expiry", Invalid),
            ("nothing received", "lines.0.packs", OutOfRange),
            ("an expiry other than the batch's", "lines.0.expiry", Invalid),
            ("no lines", "lines", Required),
            ("zero", "quantity", OutOfRange),
            ("negative", "quantity", OutOfRange),
            ("more than in stock", "quantity", OutOfRange),
            ("a batch of another item", "batch_id", Invalid),
            ("to the same store", "to_store_id", Invalid),
            ("damaged coming in", "quantity", OutOfRange),
            ("an unknown reason", "reason", Invalid),
            ("an adjustment below zero", "quantity", OutOfRange),
            ("dispensing zero", "lines.0.quantity", OutOfRange),
            ("dispensing more than in stock", "lines.0.quantity", OutOfRange),
            ("dispensing a batch of another item", "lines.0.batch_id", Invalid),
            ("a return of no dispensing", "movement_id", Invalid),
            ("a medicine item without its medicine", "medicine_id", Required),
            ("a pack of none", "pack_size", OutOfRange),
            ("a medicine stocked twice", "medicine_id", Taken),
            ("a store of no kind", "kind", Invalid),
            ("a supplier with no name", "name", Required),
        ]
    );
    assert_eq!(counts(s).await, before, "a refused write wrote something");
}

#[tokio::test]
async fn negative_stock_is_a_clinic_setting_and_a_batch_below_zero_is_listed() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    let batch = p.receive(&p.counter, &p.amox, "N-1", "2027-06-30", 5).await;
    let rx = p.prescribe(&p.w.amoxicillin, None).await;
    assert!(!ledger::allows_negative(s, &p.pharmacist).await.unwrap(), "off by default");
    assert!(dispensing::dispense(s, &p.pharmacist, dispense_input(&p, vec![line(&rx, 8, true)])).await.is_err());
    // Only the administrator turns it on.
    assert!(matches!(ledger::set_allow_negative(s, &p.pharmacist, true).await, Err(Error::Forbidden { .. })));
    ledger::set_allow_negative(s, &p.admin, true).await.unwrap();
    let d = dispensing::dispense(s, &p.pharmacist, dispense_input(&p, vec![line(&rx, 8, true)])).await.unwrap();
    assert_eq!(d.lines[0].picks[0].quantity, 8);
    assert_eq!(balance(s, &batch, &p.counter).await, -3);
    let negative = ledger::negative_batches(s, &p.pharmacist).await.unwrap();
    assert_eq!(
        negative.iter().map(|b| (b.balance.batch_no.as_str(), b.balance.quantity)).collect::<Vec<_>>(),
        [("N-1", -3)]
    );
    assert!(negative[0].item_name.starts_with("Amoxicillin"), "{:?}", negative[0]);
}

/// Another device's movement arrives (as a pull writes it: a row of `stock_movements`).
async fn pulled_movement(s: &Store, p: &Pharmacy, batch: &str, store: &str, quantity: i64, at: &str) -> String {
    let id = hms_core::ids::new_id();
    sqlx::query(
        "INSERT INTO stock_movements (id, item_id, batch_id, store_id, kind, quantity, reason, at, created_at, updated_at, origin_device)
         VALUES (?, ?, ?, ?, 'adjusted', ?, 'damaged', ?, ?, ?, '0001764583700000-000009-counter2')",
    )
    .bind(&id)
    .bind(&p.amox)
    .bind(batch)
    .bind(store)
    .bind(quantity)
    .bind(at)
    .bind(at)
    .bind(at)
    .execute(s.pool())
    .await
    .unwrap();
    id
}

/// Two counters each take the last units of a batch while apart: both movements stand (the
/// shelf lost what they say), and the batch below zero is listed in the inbox and counted on
/// Home until a count correction brings it back; in a clinic that allows negative stock it is
/// counted on Home only.
#[tokio::test]
async fn a_batch_below_zero_after_devices_meet_is_in_the_inbox_until_the_count_is_corrected() {
    use hms_core::sync::conflicts::{self, ConflictKind};
    let p = pharmacy().await;
    let s = &p.w.env.store;
    let batch = p.receive(&p.counter, &p.amox, "N-2", "2027-06-30", 5).await;
    moves::adjust(
        s,
        &p.pharmacist,
        AdjustInput {
            item_id: p.amox.clone(),
            batch_id: batch.clone(),
            store_id: p.counter.clone(),
            quantity: -4,
            reason: "damaged".into(),
            note: String::new(),
        },
    )
    .await
    .unwrap();
    let inbox = |admin: &Authorized| {
        let admin = admin.clone();
        async move {
            conflicts::list(s, &admin, true)
                .await
                .unwrap()
                .into_iter()
                .filter(|c| c.kind == ConflictKind::StockBelowZero)
                .collect::<Vec<_>>()
        }
    };
    assert!(inbox(&p.admin).await.is_empty());
    // The other counter took 3 of the 5 before it synced.
    let theirs = pulled_movement(s, &p, &batch, &p.counter, -3, "2026-12-06T10:30:00.000Z").await;
    assert_eq!(balance(s, &batch, &p.counter).await, -2);
    let listed = inbox(&p.admin).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let c = &listed[0];
    assert_eq!(c.id, hms_core::stock::below_zero::conflict_id(&batch, &p.counter));
    assert_eq!((c.entity.as_str(), c.entity_id.as_str(), c.resolved), ("stock_batches", batch.as_str(), false));
    assert!(c.label.contains("N-2") && c.label.contains("2027-06-30"), "{}", c.label);
    assert!(c.current.value.contains("\"quantity\":-2"), "{:?}", c.current);
    assert_eq!(c.other.record_id.as_deref(), Some(theirs.as_str()), "the last movement out");
    assert_eq!(c.other.device_id, "0001764583700000-000009-counter2");
    // Nothing to do in the inbox itself.
    let refused = conflicts::resolve(s, &p.admin, &c.id, hms_core::sync::conflicts::ConflictResolution::Dismiss)
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::Validation { ref field, .. } if field == "resolution"), "{refused:?}");
    assert_eq!(hms_core::stock::alerts::alerts(s, &p.pharmacist).await.unwrap().below_zero, 1);

    // A clinic that allows negative stock: Home still counts it, the inbox does not list it.
    ledger::set_allow_negative(s, &p.admin, true).await.unwrap();
    assert!(inbox(&p.admin).await.is_empty());
    assert_eq!(hms_core::stock::alerts::alerts(s, &p.pharmacist).await.unwrap().below_zero, 1);
    ledger::set_allow_negative(s, &p.admin, false).await.unwrap();
    assert_eq!(inbox(&p.admin).await.len(), 1);

    // The pharmacist counts the shelf (none left) and corrects the count.
    moves::adjust(
        s,
        &p.pharmacist,
        AdjustInput {
            item_id: p.amox.clone(),
            batch_id: batch.clone(),
            store_id: p.counter.clone(),
            quantity: 2,
            reason: "count_correction".into(),
            note: "shelf counted: none".into(),
        },
    )
    .await
    .unwrap();
    assert!(inbox(&p.admin).await.is_empty());
    assert_eq!(hms_core::stock::alerts::alerts(s, &p.pharmacist).await.unwrap().below_zero, 0);
}

async fn forbidden<T: std::fmt::Debug>(r: Result<T, Error>) -> bool {
    matches!(r, Err(Error::Forbidden { .. }))
}

#[tokio::test]
async fn each_stock_operation_needs_its_permission() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    let batch = p.receive(&p.main, &p.reagent, "R-1", "2027-06-30", 100).await;
    let rx = p.prescribe(&p.w.amoxicillin, None).await;
    let receipt = ReceiptInput {
        store_id: p.lab_store.clone(),
        supplier_id: None,
        invoice_no: String::new(),
        note: String::new(),
        lines: vec![ReceiptLineInput {
            item_id: p.reagent.clone(),
            batch_no: "R-2".into(),
            expiry: "2027-09-30".into(),
            units: 10,
            ..Default::default()
        }],
    };
    let transfer = TransferInput {
        item_id: p.reagent.clone(),
        batch_id: batch.clone(),
        from_store_id: p.main.clone(),
        to_store_id: p.lab_store.clone(),
        quantity: 10,
        note: String::new(),
    };
    let store_input = StockStoreInput { name: "Ward 2 stock".into(), kind: "ward".into() };
    // (who, may view, may set up, may receive, may move, may dispense)
    let who: [(&str, &Authorized, [bool; 5]); 5] = [
        ("administrator", &p.admin, [true, true, false, false, false]),
        ("pharmacist", &p.pharmacist, [true, true, true, true, true]),
        ("lab technician", &p.lab, [true, false, true, true, false]),
        ("doctor", &p.doctor, [false, false, false, false, false]),
        ("nurse", &p.nurse, [false, false, false, false, false]),
    ];
    for (name, a, may) in who {
        let view = !forbidden(setup::search_items(s, a, "").await).await;
        let manage = !forbidden(
            setup::add_store(
                s,
                a,
                StockStoreInput { name: format!("{} {name}", store_input.name), ..store_input.clone() },
            )
            .await,
        )
        .await;
        let receive = !forbidden(receiving::receive(s, a, receipt.clone()).await).await;
        let moved = !forbidden(moves::transfer(s, a, transfer.clone()).await).await;
        let dispense = !forbidden(dispensing::waiting(s, a).await).await
            && !forbidden(
                dispensing::dispense(
                    s,
                    a,
                    DispenseInput { store_id: p.counter.clone(), lines: vec![line(&rx, 1, true)] },
                )
                .await,
            )
            .await;
        assert_eq!([view, manage, receive, moved, dispense], may, "{name}");
    }
}

/// Item search finds an item by the start of any word of its name, through the index the
/// triggers keep: items added, renamed or deleted by the core or written by SQL (as a pulled
/// row is) are found as they stand; a query is words, never FTS5 syntax.
#[tokio::test]
async fn item_search_finds_words_of_names_as_they_stand() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    let add = |name: &str| StockItemInput {
        kind: "other".into(),
        generic_name: name.into(),
        unit: "piece".into(),
        pack_size: 1,
        ..Default::default()
    };
    let glove = setup::add_item(s, &p.pharmacist, add("Glove Syringe")).await.unwrap().id;
    setup::add_item(s, &p.pharmacist, add("Syringe glove")).await.unwrap();
    setup::add_item(s, &p.pharmacist, add("Gauze/Crêpe bandage")).await.unwrap();
    let pharmacist = &p.pharmacist;
    let names = |q: &'static str| async move {
        let hits = setup::search_items(s, pharmacist, q).await.unwrap();
        hits.into_iter().map(|h| h.item.generic_name).collect::<Vec<_>>()
    };
    assert_eq!(names("glo").await, ["Glove Syringe", "Syringe glove"], "by name");
    assert_eq!(names("GLOVE sy").await, ["Glove Syringe"], "the words in their order");
    assert_eq!(names("crepe").await, ["Gauze/Crêpe bandage"], "a word after a slash, accents aside");
    assert_eq!(names("band").await, ["Gauze/Crêpe bandage"]);
    assert_eq!(names("amox").await, ["Amoxicillin"]);
    assert!(names("love").await.is_empty(), "the start of a word only");
    assert!(names("%").await.is_empty() && names("\" OR *").await.is_empty(), "no words: nothing");
    assert!(names("gl\" OR \"x").await.is_empty(), "quotes are not syntax");
    assert_eq!(names("").await.len(), 6, "empty: every item");

    let mut renamed = add("Mask N95");
    renamed.generic_name = "Mask N95".into();
    setup::update_item(s, &p.pharmacist, &glove, renamed).await.unwrap();
    assert_eq!(names("glo").await, ["Syringe glove"], "renamed");
    assert_eq!(names("n95").await, ["Mask N95"]);
    // A row written in SQL, as a pulled one is, then deleted.
    sqlx::query(
        "INSERT INTO stock_items (id, kind, generic_name, unit, created_at, updated_at, origin_device)
         VALUES ('pulled-item', 'other', 'Lancet', 'piece', '2026-12-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z', 'other-device')",
    )
    .execute(s.pool())
    .await
    .unwrap();
    assert_eq!(names("lan").await, ["Lancet"]);
    sqlx::query("UPDATE stock_items SET deleted_at = updated_at WHERE id = 'pulled-item'")
        .execute(s.pool())
        .await
        .unwrap();
    assert!(names("lan").await.is_empty(), "deleted");
    sqlx::query("DELETE FROM stock_items WHERE id = 'pulled-item'").execute(s.pool()).await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stock_item_words WHERE item_id = 'pulled-item'")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(left, 0);
    assert_eq!(names("mask").await, ["Mask N95"]);
}
