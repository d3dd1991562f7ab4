//! Purchase orders (issue 16): drafted from the suggested purchase order (one per supplier) or
//! by hand, the optional approval (an administrator, never the author), sent, received in
//! part then in full against the order (never more than ordered), cancelled; the printout;
//! who may do what; bad input that writes nothing.

mod common;
#[path = "common/pharmacy.rs"]
mod pharmacy;
#[path = "common/ward.rs"]
mod ward;

use hms_core::reports::RangeInput;
use hms_core::stock::{
    purchase, purchase_edit, purchase_pdf, receiving, setup, PurchaseDraftEdit, PurchaseLineInput, PurchaseOrderInput,
    PurchaseStatus, ReceiptInput, ReceiptLineInput, StockItemInput, SupplierInput,
};
use hms_core::{Error, Store, ValidationReason};
use pharmacy::{pharmacy, Pharmacy};
use ward::{auth, field_of, sign_in};

fn today(p: &Pharmacy) -> RangeInput {
    let d = p.t0.format("%Y-%m-%d").to_string();
    RangeInput::custom(&d, &d)
}

/// Receives whole packs of a batch from a supplier at a pack cost (no order).
async fn receive(p: &Pharmacy, supplier: &str, item: &str, batch: &str, packs: u32, pack_cost: i64) {
    let input = ReceiptInput {
        store_id: p.main.clone(),
        supplier_id: Some(supplier.into()),
        invoice_no: format!("INV-{batch}"),
        note: String::new(),
        lines: vec![ReceiptLineInput {
            item_id: item.into(),
            batch_no: batch.into(),
            expiry: "2028-01-31".into(),
            packs,
            pack_cost_minor: pack_cost,
            ..Default::default()
        }],
    };
    receiving::receive(&p.w.env.store, &p.pharmacist, input).await.unwrap();
}

/// A delivery against an order: one line per (item, batch, packs).
fn delivery(invoice: &str, lines: &[(&str, &str, u32)]) -> ReceiptInput {
    ReceiptInput {
        store_id: String::new(),
        supplier_id: None,
        invoice_no: invoice.into(),
        note: String::new(),
        lines: lines
            .iter()
            .map(|(item, batch, packs)| ReceiptLineInput {
                item_id: item.to_string(),
                batch_no: batch.to_string(),
                expiry: "2028-06-30".into(),
                packs: *packs,
                pack_cost_minor: 400,
                ..Default::default()
            })
            .collect(),
    }
}

fn order_input(p: &Pharmacy, lines: Vec<PurchaseLineInput>) -> PurchaseOrderInput {
    PurchaseOrderInput { supplier_id: p.supplier.clone(), store_id: p.main.clone(), note: String::new(), lines }
}

fn order_line(item: &str, packs: u32) -> PurchaseLineInput {
    PurchaseLineInput { item_id: item.into(), packs, pack_cost_minor: 450 }
}

fn forbidden<T>(r: &Result<T, Error>) -> bool {
    matches!(r, Err(Error::Forbidden { .. }))
}

async fn changes(s: &Store) -> i64 {
    common::count(s, "change_log").await
}

#[tokio::test]
async fn a_draft_from_the_suggestions_is_sent_then_received_in_part_then_in_full() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    let apex = SupplierInput { name: "Apex Pharma".into(), ..Default::default() };
    let apex = setup::add_supplier(s, &p.pharmacist, apex).await.unwrap().id;
    // Amoxicillin from Medline (20 on hand, reorder level 50: 30 to order, 3 packs at 4.00);
    // paracetamol from Apex (10 on hand: 40, 4 packs at 1.50); strips never received.
    receive(&p, &p.supplier, &p.amox, "A-1", 2, 400).await;
    receive(&p, &apex, &p.para, "P-1", 1, 150).await;
    let strips = StockItemInput {
        kind: "lab_consumable".into(),
        generic_name: "Glucose strips".into(),
        pack_size: 50,
        unit: "strip".into(),
        reorder_level: 5,
        ..Default::default()
    };
    setup::add_item(s, &p.admin, strips).await.unwrap();

    let drafts = purchase::draft_from_suggestions(s, &p.pharmacist, &p.main, today(&p)).await.unwrap();
    assert_eq!(drafts.without_supplier, 1, "the strips were never received: no supplier");
    assert!(drafts.orders.iter().all(|o| o.status == PurchaseStatus::Draft));
    let mut got: Vec<(String, String, u32, i64)> = drafts
        .orders
        .iter()
        .flat_map(|o| {
            o.lines.iter().map(move |l| (o.supplier_id.clone(), l.item_id.clone(), l.packs, l.pack_cost_minor))
        })
        .collect();
    got.sort();
    let mut want = vec![(p.supplier.clone(), p.amox.clone(), 3, 400), (apex.clone(), p.para.clone(), 4, 150)];
    want.sort();
    assert_eq!(got, want, "one draft per supplier, the suggested packs at the last pack cost");
    assert_eq!(drafts.orders.len(), 2);
    let medline = drafts.orders.iter().find(|o| o.supplier_id == p.supplier).unwrap().clone();
    let apex_order = drafts.orders.iter().find(|o| o.supplier_id == apex).unwrap().clone();
    assert!(medline.number.starts_with("PO-"), "{}", medline.number);
    assert_ne!(medline.number, apex_order.number);
    assert_eq!(medline.total_minor, 1200);

    // A draft is not received against; sent (no approval asked), it is.
    let first = delivery("MED-77", &[(&p.amox, "A-2", 1)]);
    assert_eq!(
        field_of(purchase::receive_against(s, &p.pharmacist, &medline.id, first.clone()).await),
        ("purchase_order_id".into(), ValidationReason::Invalid)
    );
    let sent = purchase::send(s, &p.pharmacist, &medline.id).await.unwrap();
    assert_eq!(sent.status, PurchaseStatus::Sent);
    assert!(sent.sent_at.is_some());

    // One pack arrives: partly received, into the order's store from its supplier.
    let receipt = purchase::receive_against(s, &p.lab, &medline.id, first).await.unwrap();
    assert_eq!(
        (receipt.store_id.as_str(), receipt.supplier_id.as_deref()),
        (p.main.as_str(), Some(p.supplier.as_str()))
    );
    let linked: Option<String> = sqlx::query_scalar("SELECT purchase_order_id FROM stock_receipts WHERE id = ?")
        .bind(&receipt.id)
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(linked.as_deref(), Some(medline.id.as_str()));
    let now = purchase::order(s, &p.pharmacist, &medline.id).await.unwrap();
    assert_eq!(now.status, PurchaseStatus::PartlyReceived);
    assert_eq!((now.lines[0].ordered_units, now.lines[0].received_units), (30, 10));

    // Three more packs would be more than ordered: refused, nothing written.
    let before = changes(s).await;
    let over = delivery("MED-78", &[(&p.amox, "A-3", 1), (&p.amox, "A-4", 2)]);
    assert_eq!(
        field_of(purchase::receive_against(s, &p.pharmacist, &medline.id, over).await),
        ("lines.1.packs".into(), ValidationReason::OutOfRange)
    );
    assert_eq!(changes(s).await, before);
    // Two packs in two batches: received in full.
    let rest = delivery("MED-78", &[(&p.amox, "A-3", 1), (&p.amox, "A-4", 1)]);
    purchase::receive_against(s, &p.pharmacist, &medline.id, rest).await.unwrap();
    let done = purchase::order(s, &p.pharmacist, &medline.id).await.unwrap();
    assert_eq!((done.status, done.lines[0].received_units), (PurchaseStatus::Received, 30));
    let again = delivery("MED-79", &[(&p.amox, "A-5", 1)]);
    assert_eq!(
        field_of(purchase::receive_against(s, &p.pharmacist, &medline.id, again).await),
        ("purchase_order_id".into(), ValidationReason::Invalid)
    );
    assert_eq!(
        field_of(purchase::cancel(s, &p.pharmacist, &medline.id, "too late").await),
        ("order_id".into(), ValidationReason::Invalid)
    );

    // The other draft is cancelled with a reason, and then neither sent nor received.
    let cancelled = purchase::cancel(s, &p.pharmacist, &apex_order.id, "ordered by phone").await.unwrap();
    assert_eq!((cancelled.status, cancelled.cancel_reason.as_str()), (PurchaseStatus::Cancelled, "ordered by phone"));
    assert!(purchase::send(s, &p.pharmacist, &apex_order.id).await.is_err());

    // Both listed, newest first; every step audited.
    let listed = purchase::orders(s, &p.lab).await.unwrap();
    assert_eq!(listed.len(), 2);
    let audited: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'stock.po_%'")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(audited, 2 + 1 + 1, "two drafts, a send, a cancel");

    // The printout names the order, the supplier and the item.
    let pdf = purchase_pdf::order_pdf(s, &p.pharmacist, &medline.id).await.unwrap();
    assert!(pdf.pdf.starts_with(b"%PDF-"));
    assert!(pdf.file_name.contains(&medline.number));
}

/// The lines of an order as (item, packs, pack cost).
fn lines_of(o: &hms_core::stock::PurchaseOrder) -> Vec<(String, u32, i64)> {
    let mut v: Vec<_> = o.lines.iter().map(|l| (l.item_id.clone(), l.packs, l.pack_cost_minor)).collect();
    v.sort();
    v
}

#[tokio::test]
async fn a_draft_is_changed_before_it_goes_out_and_only_a_draft() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    let draft =
        purchase::draft(s, &p.pharmacist, order_input(&p, vec![order_line(&p.amox, 1), order_line(&p.para, 2)]))
            .await
            .unwrap();
    let line =
        |item: &str, packs: u32, cost: i64| PurchaseLineInput { item_id: item.into(), packs, pack_cost_minor: cost };

    // Ten packs of amoxicillin at the discounted cost, paracetamol off, the reagent on.
    let edit = PurchaseDraftEdit {
        note: "  ten packs: 5% off  ".into(),
        lines: vec![line(&p.amox, 10, 430), line(&p.reagent, 3, 900)],
    };
    let before = changes(s).await;
    let edited = purchase_edit::edit_draft(s, &p.pharmacist, &draft.id, edit).await.unwrap();
    let mut want = vec![(p.amox.clone(), 10, 430), (p.reagent.clone(), 3, 900)];
    want.sort();
    assert_eq!(lines_of(&edited), want);
    assert_eq!(
        (edited.note.as_str(), edited.status, edited.number.as_str()),
        ("ten packs: 5% off", PurchaseStatus::Draft, draft.number.as_str())
    );
    // The amoxicillin line kept its row (changed fields only), paracetamol's tombstoned, the
    // reagent's new, the order's note: four synced changes.
    assert_eq!(changes(s).await - before, 4);
    let kept = edited.lines.iter().find(|l| l.item_id == p.amox).unwrap();
    assert!(draft.lines.iter().any(|l| l.id == kept.id), "the same line, changed");
    let audited: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'stock.po_edit'")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(audited, 1);

    // Bad input writes nothing: no lines, an item twice, zero packs, an unknown item.
    let before = changes(s).await;
    let bad = |lines: Vec<PurchaseLineInput>| PurchaseDraftEdit { note: String::new(), lines };
    assert_eq!(
        field_of(purchase_edit::edit_draft(s, &p.pharmacist, &draft.id, bad(vec![])).await),
        ("lines".into(), ValidationReason::Required)
    );
    assert_eq!(
        field_of(
            purchase_edit::edit_draft(s, &p.pharmacist, &draft.id, bad(vec![line(&p.amox, 1, 0), line(&p.amox, 2, 0)]))
                .await
        ),
        ("lines.1.item_id".into(), ValidationReason::Taken)
    );
    assert_eq!(
        field_of(purchase_edit::edit_draft(s, &p.pharmacist, &draft.id, bad(vec![line(&p.amox, 0, 0)])).await),
        ("lines.0.packs".into(), ValidationReason::OutOfRange)
    );
    assert_eq!(
        field_of(purchase_edit::edit_draft(s, &p.pharmacist, &draft.id, bad(vec![line("no-such-item", 1, 0)])).await).0,
        "lines.0.item_id"
    );
    assert_eq!(changes(s).await, before);
    assert_eq!(lines_of(&purchase::order(s, &p.pharmacist, &draft.id).await.unwrap()), want, "as it was");

    // Who: the pharmacist's permission; and only a draft is changed.
    let same = || PurchaseDraftEdit { note: String::new(), lines: vec![line(&p.amox, 1, 0)] };
    for who in [&p.lab, &p.doctor, &p.nurse] {
        assert!(forbidden(&purchase_edit::edit_draft(s, who, &draft.id, same()).await));
    }
    purchase::send(s, &p.pharmacist, &draft.id).await.unwrap();
    assert_eq!(
        field_of(purchase_edit::edit_draft(s, &p.pharmacist, &draft.id, same()).await),
        ("order_id".into(), ValidationReason::Invalid),
        "a sent order is the supplier's"
    );
}

#[tokio::test]
async fn with_approval_on_an_administrator_other_than_the_author_approves_before_it_is_sent() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    // Someone who is both administrator and pharmacist (signed in on the real clock).
    s.set_now(None);
    common::add_user(s, &p.w.admin, "owner.both", &["admin", "pharmacist"]).await;
    let both = auth(s, &sign_in(s, "owner.both").await).await;
    p.at(0);

    assert!(!purchase::approval_required(s, &p.pharmacist).await.unwrap(), "off by default");
    assert!(matches!(purchase::set_approval_required(s, &p.pharmacist, true).await, Err(Error::Forbidden { .. })));
    purchase::set_approval_required(s, &p.admin, true).await.unwrap();

    let draft = purchase::draft(s, &p.pharmacist, order_input(&p, vec![order_line(&p.amox, 2)])).await.unwrap();
    assert_eq!(
        field_of(purchase::send(s, &p.pharmacist, &draft.id).await),
        ("order_id".into(), ValidationReason::Invalid),
        "a draft needs approval first"
    );
    assert!(matches!(purchase::approve(s, &p.pharmacist, &draft.id).await, Err(Error::Forbidden { .. })));
    let approved = purchase::approve(s, &p.admin, &draft.id).await.unwrap();
    assert_eq!(approved.status, PurchaseStatus::Approved);
    assert!(approved.approved_by.is_some());
    assert_eq!(
        field_of(purchase::approve(s, &p.admin, &draft.id).await),
        ("order_id".into(), ValidationReason::Invalid),
        "only a draft is approved"
    );
    assert_eq!(purchase::send(s, &p.pharmacist, &draft.id).await.unwrap().status, PurchaseStatus::Sent);

    // The author never approves their own order, whatever roles they hold.
    let own = purchase::draft(s, &both, order_input(&p, vec![order_line(&p.para, 1)])).await.unwrap();
    assert_eq!(field_of(purchase::approve(s, &both, &own.id).await), ("order_id".into(), ValidationReason::Invalid));
    assert_eq!(purchase::approve(s, &p.admin, &own.id).await.unwrap().status, PurchaseStatus::Approved);

    // Approval off again: a draft is sent as it is.
    purchase::set_approval_required(s, &p.admin, false).await.unwrap();
    let plain = purchase::draft(s, &p.pharmacist, order_input(&p, vec![order_line(&p.amox, 1)])).await.unwrap();
    assert_eq!(purchase::send(s, &p.pharmacist, &plain.id).await.unwrap().status, PurchaseStatus::Sent);
}

#[tokio::test]
async fn each_purchase_order_operation_needs_its_permission() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    let input = || order_input(&p, vec![order_line(&p.amox, 1)]);
    for who in [&p.admin, &p.lab, &p.doctor, &p.nurse] {
        let r = purchase::draft(s, who, input()).await;
        assert!(forbidden(&r), "{r:?}");
        let r = purchase::draft_from_suggestions(s, who, &p.main, today(&p)).await;
        assert!(forbidden(&r), "{r:?}");
    }
    let order = purchase::draft(s, &p.pharmacist, input()).await.unwrap();
    for who in [&p.pharmacist, &p.lab, &p.doctor] {
        assert!(forbidden(&purchase::approve(s, who, &order.id).await));
    }
    for who in [&p.admin, &p.lab] {
        assert!(forbidden(&purchase::send(s, who, &order.id).await));
        assert!(forbidden(&purchase::cancel(s, who, &order.id, "no").await));
        assert!(forbidden(&purchase_pdf::order_pdf(s, who, &order.id).await.map(|o| o.file_name)));
    }
    for who in [&p.doctor, &p.nurse] {
        assert!(forbidden(&purchase::orders(s, who).await));
        assert!(forbidden(&purchase::receive_against(s, who, &order.id, delivery("X", &[(&p.amox, "B", 1)])).await));
    }
    for who in [&p.admin, &p.pharmacist, &p.lab] {
        assert_eq!(purchase::orders(s, who).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn bad_input_gets_a_typed_error_naming_the_field_and_writes_nothing() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    let ph = &p.pharmacist;
    let before = changes(s).await;
    let bad = |f: &dyn Fn(&mut PurchaseOrderInput)| {
        let mut input = order_input(&p, vec![order_line(&p.amox, 2)]);
        f(&mut input);
        input
    };
    let cases: Vec<(PurchaseOrderInput, &str, ValidationReason)> = vec![
        (bad(&|i| i.lines.clear()), "lines", ValidationReason::Required),
        (bad(&|i| i.lines[0].packs = 0), "lines.0.packs", ValidationReason::OutOfRange),
        (bad(&|i| i.lines[0].pack_cost_minor = -1), "lines.0.pack_cost_minor", ValidationReason::OutOfRange),
        (bad(&|i| i.lines[0].item_id = "nothing".into()), "lines.0.item_id", ValidationReason::Invalid),
        (bad(&|i| i.lines.push(order_line(&p.amox, 1))), "lines.1.item_id", ValidationReason::Taken),
        (bad(&|i| i.supplier_id = "nobody".into()), "supplier_id", ValidationReason::Invalid),
        (bad(&|i| i.store_id = "nowhere".into()), "store_id", ValidationReason::Invalid),
        (bad(&|i| i.note = "x".repeat(501)), "note", ValidationReason::TooLong),
    ];
    for (input, field, reason) in cases {
        assert_eq!(field_of(purchase::draft(s, ph, input).await), (field.to_string(), reason), "{field}");
    }
    assert_eq!(changes(s).await, before, "a refused draft wrote something");

    let order = purchase::draft(s, ph, order_input(&p, vec![order_line(&p.amox, 2)])).await.unwrap();
    purchase::send(s, ph, &order.id).await.unwrap();
    let apex = SupplierInput { name: "Apex Pharma".into(), ..Default::default() };
    let apex = setup::add_supplier(s, ph, apex).await.unwrap().id;
    let before = changes(s).await;
    assert_eq!(field_of(purchase::cancel(s, ph, &order.id, "  ").await), ("reason".into(), ValidationReason::Required));
    let other_item = delivery("D-1", &[(&p.para, "P-9", 1)]);
    assert_eq!(
        field_of(purchase::receive_against(s, ph, &order.id, other_item).await),
        ("lines.0.item_id".into(), ValidationReason::Invalid)
    );
    let mut other_supplier = delivery("D-1", &[(&p.amox, "A-9", 1)]);
    other_supplier.supplier_id = Some(apex);
    assert_eq!(
        field_of(purchase::receive_against(s, ph, &order.id, other_supplier).await),
        ("supplier_id".into(), ValidationReason::Invalid)
    );
    let mut past = delivery("D-1", &[(&p.amox, "A-9", 1)]);
    past.lines[0].expiry = "2020-01-01".into();
    assert_eq!(
        field_of(purchase::receive_against(s, ph, &order.id, past).await),
        ("lines.0.expiry".into(), ValidationReason::OutOfRange)
    );
    assert!(matches!(purchase::send(s, ph, "no-such-order").await, Err(Error::NotFound { .. })));
    assert_eq!(changes(s).await, before, "a refused write wrote something");
}
