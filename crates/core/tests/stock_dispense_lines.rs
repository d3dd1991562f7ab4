//! A dispensing of several lines is checked and planned before anything is written, then
//! written kind by kind: later lines see what earlier ones take, a prescription one line
//! completes cannot be given again by a later one, and a refused line writes nothing.

mod common;
#[path = "common/pharmacy.rs"]
mod pharmacy;
#[path = "common/ward.rs"]
mod ward;

use hms_core::stock::{dispensing, DispenseInput, DispenseLineInput};
use hms_core::ValidationReason;
use pharmacy::{pharmacy, AMOX_PRICE};
use ward::field_of;

fn line(prescription: &str, quantity: i64, complete: bool) -> DispenseLineInput {
    DispenseLineInput { prescription_id: prescription.into(), quantity, complete, ..Default::default() }
}

async fn written(s: &hms_core::Store) -> [i64; 5] {
    [
        common::count(s, "dispensings").await,
        common::count(s, "stock_movements").await,
        common::count(s, "bill_lines").await,
        common::count(s, "change_log").await,
        common::count(s, "audit_log").await,
    ]
}

#[tokio::test]
async fn later_lines_of_one_dispensing_see_what_earlier_lines_take() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    let early = p.receive(&p.counter, &p.amox, "E-1", "2027-02-28", 12).await;
    p.receive(&p.counter, &p.amox, "L-9", "2027-12-31", 30).await;
    let (a, b, c) = (
        p.prescribe(&p.w.amoxicillin, Some(5)).await,
        p.prescribe(&p.w.amoxicillin, Some(5)).await,
        p.prescribe(&p.w.amoxicillin, Some(5)).await,
    );
    let input = |lines| DispenseInput { store_id: p.counter.clone(), lines };

    // The same prescription completed, then again: the second line is refused, nothing written.
    let before = written(s).await;
    let twice = dispensing::dispense(s, &p.pharmacist, input(vec![line(&a, 1, true), line(&a, 1, true)])).await;
    assert_eq!(field_of(twice), ("lines.1.prescription_id".into(), ValidationReason::Invalid));
    // By hand from a batch an earlier line emptied: refused, nothing written.
    let by_hand = DispenseLineInput { batch_id: Some(early.clone()), ..line(&b, 1, false) };
    let emptied = dispensing::dispense(s, &p.pharmacist, input(vec![line(&a, 12, false), by_hand])).await;
    assert_eq!(field_of(emptied), ("lines.1.quantity".into(), ValidationReason::OutOfRange));
    // More than is left after the earlier lines: refused.
    let short =
        dispensing::dispense(s, &p.pharmacist, input(vec![line(&a, 30, true), line(&b, 12, true), line(&c, 1, true)]))
            .await;
    assert_eq!(field_of(short), ("lines.2.quantity".into(), ValidationReason::OutOfRange));
    assert_eq!(written(s).await, before, "a refused dispensing writes nothing");

    // Three lines: E-1's 12 go to the first two, the rest from L-9.
    let d =
        dispensing::dispense(s, &p.pharmacist, input(vec![line(&a, 10, true), line(&b, 10, true), line(&c, 5, false)]))
            .await
            .unwrap();
    let picks: Vec<Vec<(&str, i64)>> =
        d.lines.iter().map(|l| l.picks.iter().map(|x| (x.batch_no.as_str(), x.quantity)).collect()).collect();
    assert_eq!(picks, [vec![("E-1", 10)], vec![("E-1", 2), ("L-9", 8)], vec![("L-9", 5)]]);
    assert_eq!(d.lines.iter().map(|l| l.movement_ids.len()).sum::<usize>(), 4);
    assert_eq!(d.lines.iter().map(|l| l.bill_line_ids.len()).collect::<Vec<_>>(), [1, 2, 1]);
    let after = written(s).await;
    assert_eq!(after[..3], [before[0] + 3, before[1] + 4, before[2] + 4]);

    // Each movement names its dispensing; each bill line its movement, in pick order, at the price.
    let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT m.dispensing_id, m.batch_id, -m.quantity, l.unit_price_minor FROM bill_lines l
         JOIN stock_movements m ON m.id = l.source_id WHERE l.source = 'dispense' AND l.bill_id = ? ORDER BY l.position",
    )
    .bind(d.bill_id.as_deref().unwrap())
    .fetch_all(s.pool())
    .await
    .unwrap();
    let want: Vec<(String, i64)> =
        d.lines.iter().flat_map(|l| l.picks.iter().map(move |x| (l.dispensing_id.clone(), x.quantity))).collect();
    assert_eq!(rows.iter().map(|r| (r.0.clone(), r.2)).collect::<Vec<_>>(), want);
    assert!(rows.iter().all(|r| r.3 == AMOX_PRICE));
    // The audit as a line-by-line dispensing wrote it: each line's charges, then the line.
    let actions: Vec<String> = common::actions(s).await;
    let tail: Vec<&str> = actions[actions.len() - 7..].iter().map(String::as_str).collect();
    assert_eq!(
        tail,
        [
            "bill.charge",
            "stock.dispense",
            "bill.charge",
            "bill.charge",
            "stock.dispense",
            "bill.charge",
            "stock.dispense"
        ]
    );
    // Every row written has its outbox entry.
    let outbox: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM change_log WHERE entity IN ('dispensings', 'stock_movements', 'bill_lines')
           AND entity_id IN (SELECT id FROM dispensings UNION ALL SELECT id FROM stock_movements WHERE kind = 'dispensed'
                             UNION ALL SELECT id FROM bill_lines WHERE source = 'dispense')",
    )
    .fetch_one(s.pool())
    .await
    .unwrap();
    assert_eq!(outbox, 3 + 4 + 4);
}
