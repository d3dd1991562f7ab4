//! Property tests for billing: the sums are exact for any lines, discounts and tax rates,
//! never negative, and do not depend on the order of lines; and for any sequence of
//! payments and refunds, nothing is paid beyond what is owed and nothing refunded beyond
//! what was paid.

mod common;

use hms_core::billing::money::{self, Discount, LineInput};
use hms_core::billing::{bills, payments, tariff, PaymentInput, PaymentMode, ServiceInput};
use hms_core::patients::{self, PatientInput};
use proptest::prelude::*;

fn line_strategy() -> impl Strategy<Value = LineInput> {
    (1u32..500, 0i64..10_000_000, 0u32..=10_000, 0u8..3, 0u32..=10_000, 0i64..=2_000_000_000).prop_map(
        |(quantity, unit_price, tax, kind, bp, amount)| {
            let gross = i64::from(quantity) * unit_price;
            let discount = match kind {
                0 => Discount::None,
                1 => Discount::Percent(bp),
                _ => Discount::Amount(amount % (gross + 1)),
            };
            LineInput { quantity, unit_price, discount, tax_rate_bp: tax }
        },
    )
}

proptest! {
    #[test]
    fn totals_are_the_exact_sum_of_the_parts_and_order_free(lines in prop::collection::vec(line_strategy(), 0..40), seed in any::<u64>()) {
        let t = money::totals(&lines);
        let parts: Vec<_> = lines.iter().map(|l| money::line_amounts(*l)).collect();
        prop_assert_eq!(t.total, parts.iter().map(|a| a.total).sum::<i64>());
        prop_assert_eq!(t.subtotal - t.discount + t.tax, t.total);
        prop_assert_eq!(t.taxes.iter().map(|x| x.tax).sum::<i64>(), t.tax);
        prop_assert_eq!(t.taxes.iter().map(|x| x.taxable).sum::<i64>(), t.taxable);
        for a in &parts {
            prop_assert!(a.discount >= 0 && a.discount <= a.gross && a.tax >= 0 && a.total >= 0);
        }
        // Any reordering gives the same sums.
        let mut shuffled = lines.clone();
        let mut rng = seed;
        for i in (1..shuffled.len()).rev() {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (rng >> 33) as usize % (i + 1));
        }
        prop_assert_eq!(money::totals(&shuffled), t);
    }
}

#[derive(Debug, Clone)]
enum Op {
    Pay(i64),
    Refund(i64),
    Credit(i64),
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1i64..400_000).prop_map(Op::Pay),
        (1i64..400_000).prop_map(Op::Refund),
        (1i64..200_000).prop_map(Op::Credit)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn payments_never_exceed_what_is_owed_and_refunds_never_exceed_payments(ops in prop::collection::vec(op_strategy(), 1..25)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let (env, admin) = common::with_admin().await;
            let s = &env.store;
            let a = admin.authorize(s).await.unwrap();
            let patient = patients::register(s, &a, PatientInput { given_name: "Prop".into(), sex: "unknown".into(), ..Default::default() }).await.unwrap().id;
            let svc = ServiceInput { code: "P".into(), name: "Procedure".into(), category: "procedure".into(), tax_rate_bp: 1_800, tax_exempt: false, price_minor: 250_000, effective_from: None };
            let svc = tariff::add_service(s, &a, svc).await.unwrap().id;
            let bill = bills::open_bill(s, &a, &patient).await.unwrap();
            let l = hms_core::billing::LineInput { service_id: Some(svc), description: String::new(), quantity: 1, unit_price_minor: None, discount: Discount::None };
            bills::add_line(s, &a, &bill.id, l).await.unwrap();
            let total = bills::finalize(s, &a, &bill.id).await.unwrap().totals.total;
            let cash = |amount_minor| PaymentInput { mode: PaymentMode::Cash, amount_minor, reference: String::new(), note: "prop".into() };
            for op in ops {
                let before = bills::load(s, &bill.id).await.unwrap();
                let result = match op {
                    Op::Pay(x) => payments::pay(s, &a, &bill.id, cash(x)).await.map(|_| x <= before.due_minor),
                    Op::Refund(x) => payments::refund(s, &a, &bill.id, cash(x)).await.map(|_| x <= before.paid_minor),
                    Op::Credit(x) => payments::credit_note(s, &a, &bill.id, x, "prop").await.map(|_| x <= total - before.credited_minor),
                };
                let after = bills::load(s, &bill.id).await.unwrap();
                match result {
                    Ok(allowed) => assert!(allowed, "{op:?} went through against {before:?}"),
                    Err(_) => assert_eq!((after.paid_minor, after.credited_minor), (before.paid_minor, before.credited_minor), "a refused {op:?} wrote something"),
                }
                assert!(after.paid_minor >= 0, "refunds exceeded payments");
                assert!(after.credited_minor <= total, "credited beyond the invoice");
                assert!(after.paid_minor <= total, "paid beyond the invoice");
            }
        });
    }
}
