//! Billing: tariff prices over time, bills and invoices, payments, advances, refunds, credit
//! notes, insurance, numbering, the cash report, permissions, bad input, and the PDFs.

mod common;

use hms_core::billing::money::Discount;
use hms_core::billing::{
    self, bills, invoice_pdf, payments, report, tariff, BillStatus, Insurance, LineInput, PaymentInput, PaymentMode,
    PaymentStatus, ServiceInput,
};
use hms_core::patients::{self, PatientInput};
use hms_core::{Authorized, Error, SessionSlot, Store};

struct Desk {
    env: common::Env,
    admin: SessionSlot,
    patient: String,
    consult: String,
    xray: String,
}

async fn auth(store: &Store, slot: &SessionSlot) -> Authorized {
    slot.authorize(store).await.unwrap()
}

fn service(code: &str, name: &str, category: &str, rate: u32, price: i64) -> ServiceInput {
    ServiceInput {
        code: code.into(),
        name: name.into(),
        category: category.into(),
        tax_rate_bp: rate,
        tax_exempt: rate == 0,
        price_minor: price,
        effective_from: None,
    }
}

async fn desk() -> Desk {
    let (env, admin) = common::with_admin().await;
    let a = auth(&env.store, &admin).await;
    let p = PatientInput {
        given_name: "Ravi".into(),
        family_name: "Sharma".into(),
        sex: "male".into(),
        ..Default::default()
    };
    let patient = patients::register(&env.store, &a, p).await.unwrap().id;
    let consult = tariff::add_service(&env.store, &a, service("CONSULT", "Consultation", "consultation", 0, 50_000))
        .await
        .unwrap()
        .id;
    let xray = tariff::add_service(&env.store, &a, service("XR-CHEST", "Chest X-ray", "procedure", 1_800, 75_050))
        .await
        .unwrap()
        .id;
    Desk { env, admin, patient, consult, xray }
}

/// Today in the clinic's time zone, as billing dates things.
async fn local_today(s: &Store) -> String {
    let tz = hms_core::clinic::time_zone(s).await.unwrap();
    s.now().with_timezone(&tz).date_naive().format("%Y-%m-%d").to_string()
}

fn line(service: &str, q: u32) -> LineInput {
    LineInput {
        service_id: Some(service.into()),
        description: String::new(),
        quantity: q as i32,
        unit_price_minor: None,
        discount: Discount::None,
    }
}

fn cash(amount: i64) -> PaymentInput {
    PaymentInput { mode: PaymentMode::Cash, amount_minor: amount, reference: String::new(), note: String::new() }
}

fn field_of(e: Error) -> String {
    match e {
        Error::Validation { field, .. } => field,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_bill_from_tariff_lines_to_a_paid_invoice() {
    let d = desk().await;
    let (s, a) = (&d.env.store, auth(&d.env.store, &d.admin).await);
    let bill = bills::open_bill(s, &a, &d.patient).await.unwrap();
    assert_eq!((bill.status, bill.payment_status), (BillStatus::Draft, PaymentStatus::Open));
    bills::add_line(s, &a, &bill.id, line(&d.consult, 1)).await.unwrap();
    let mut disc = line(&d.xray, 2);
    disc.discount = Discount::Percent(500);
    let bill = bills::add_line(s, &a, &bill.id, disc).await.unwrap();
    // 500.00 exempt + 2 × 750.50 = 1,501.00 − 5% (75.05) = 1,425.95 + 18% GST (256.671 → 256.67).
    assert_eq!(
        (bill.totals.subtotal, bill.totals.discount, bill.totals.tax, bill.totals.total),
        (200_100, 7_505, 25_667, 218_262)
    );
    assert_eq!(bill.totals.taxes.len(), 2);
    assert_eq!(bills::open_bill(s, &a, &d.patient).await.unwrap().id, bill.id, "one open bill per patient");

    let inv = bills::finalize(s, &a, &bill.id).await.unwrap();
    let number = inv.number.clone().unwrap();
    assert!(number.starts_with("INV-") && number.ends_with("-000001"), "{number}");
    assert_eq!(inv.payment_status, PaymentStatus::Unpaid);

    // Editing a finalized invoice is refused; nothing written.
    let before = common::count(s, "bill_lines").await;
    assert_eq!(field_of(bills::add_line(s, &a, &bill.id, line(&d.consult, 1)).await.unwrap_err()), "bill_id");
    assert_eq!(field_of(bills::remove_line(s, &a, &bill.id, &inv.lines[0].id).await.unwrap_err()), "bill_id");
    assert_eq!(common::count(s, "bill_lines").await, before);

    let part = payments::pay(s, &a, &bill.id, cash(100_000)).await.unwrap();
    assert_eq!((part.payment_status, part.due_minor), (PaymentStatus::PartlyPaid, 118_262));
    let over = payments::pay(s, &a, &bill.id, cash(118_263)).await.unwrap_err();
    assert_eq!(field_of(over), "amount_minor", "a payment above what is due is refused");
    let upi =
        PaymentInput { mode: PaymentMode::Upi, amount_minor: 118_262, reference: "UPI-42".into(), note: String::new() };
    let paid = payments::pay(s, &a, &bill.id, upi).await.unwrap();
    assert_eq!((paid.payment_status, paid.due_minor, paid.paid_minor), (PaymentStatus::Paid, 0, 218_262));
    assert!(paid.payments.iter().all(|p| p.receipt_no.starts_with("RCP-")));

    // Refunds: never more than was paid; then the invoice reads refunded.
    let mut too_much = cash(218_263);
    too_much.note = "overcharge".into();
    assert_eq!(field_of(payments::refund(s, &a, &bill.id, too_much).await.unwrap_err()), "amount_minor");
    let mut back = cash(218_262);
    back.note = "procedure not done".into();
    let refunded = payments::refund(s, &a, &bill.id, back).await.unwrap();
    assert_eq!((refunded.payment_status, refunded.paid_minor), (PaymentStatus::Refunded, 0));
    let actions = common::actions(s).await;
    for want in ["bill.finalize", "bill.payment", "bill.refund", "service.create"] {
        assert!(actions.iter().any(|x| x == want), "{want} audited");
    }
}

#[tokio::test]
async fn a_price_change_never_alters_an_issued_invoice() {
    let d = desk().await;
    let (s, a) = (&d.env.store, auth(&d.env.store, &d.admin).await);
    let bill = bills::open_bill(s, &a, &d.patient).await.unwrap();
    bills::add_line(s, &a, &bill.id, line(&d.xray, 1)).await.unwrap();
    let issued = bills::finalize(s, &a, &bill.id).await.unwrap();
    let today = local_today(s).await;
    let changed = tariff::set_price(s, &a, &d.xray, 99_900, Some(today)).await.unwrap();
    assert_eq!(changed.price_minor, Some(99_900));
    assert_eq!(bills::load(s, &bill.id).await.unwrap().totals, issued.totals);
    let next = bills::open_bill(s, &a, &d.patient).await.unwrap();
    let next = bills::add_line(s, &a, &next.id, line(&d.xray, 1)).await.unwrap();
    assert_eq!(next.lines[0].unit_price_minor, 99_900, "new bills take the new price");
    let past = tariff::set_price(s, &a, &d.xray, 1, Some("2020-01-01".into())).await.unwrap_err();
    assert_eq!(field_of(past), "effective_from", "the past is what was billed");
}

#[tokio::test]
async fn invoice_numbers_are_gap_free_on_one_device_and_unique_across_devices() {
    let d = desk().await;
    let (s, a) = (&d.env.store, auth(&d.env.store, &d.admin).await);
    let mut numbers = Vec::new();
    for i in 0..5 {
        let bill = bills::open_bill(s, &a, &d.patient).await.unwrap();
        bills::add_line(s, &a, &bill.id, line(&d.consult, 1)).await.unwrap();
        if i == 2 {
            // A cancelled draft takes no number.
            bills::cancel(s, &a, &bill.id, "opened by mistake").await.unwrap();
            continue;
        }
        numbers.push(bills::finalize(s, &a, &bill.id).await.unwrap().number.unwrap());
    }
    let seqs: Vec<&str> = numbers.iter().map(|n| n.rsplit('-').next().unwrap()).collect();
    assert_eq!(seqs, vec!["000001", "000002", "000003", "000004"]);

    let other = desk().await;
    let (s2, a2) = (&other.env.store, auth(&other.env.store, &other.admin).await);
    let bill = bills::open_bill(s2, &a2, &other.patient).await.unwrap();
    bills::add_line(s2, &a2, &bill.id, line(&other.consult, 1)).await.unwrap();
    let theirs = bills::finalize(s2, &a2, &bill.id).await.unwrap().number.unwrap();
    assert!(theirs.ends_with("-000001"));
    assert_ne!(theirs, numbers[0], "another device's series has its own prefix");
}

#[tokio::test]
async fn advances_credit_notes_cancellation_and_insurance() {
    let d = desk().await;
    let (s, a) = (&d.env.store, auth(&d.env.store, &d.admin).await);
    let opened = payments::advance(s, &a, &d.patient, cash(300_000)).await.unwrap();
    assert_eq!((opened.status, opened.paid_minor), (BillStatus::Draft, 300_000));
    bills::add_line(s, &a, &opened.id, line(&d.consult, 1)).await.unwrap();
    let inv = bills::finalize(s, &a, &opened.id).await.unwrap();
    assert_eq!(
        (inv.payment_status, inv.due_minor),
        (PaymentStatus::Paid, -250_000),
        "the advance covers it; 2,500.00 to give back"
    );
    assert_eq!(
        field_of(bills::cancel(s, &a, &opened.id, "duplicate").await.unwrap_err()),
        "bill_id",
        "refund before cancelling"
    );

    let bill = bills::open_bill(s, &a, &d.patient).await.unwrap();
    bills::add_line(s, &a, &bill.id, line(&d.xray, 2)).await.unwrap();
    let ins = Insurance {
        payer: "Star Health".into(),
        policy_no: "P-1".into(),
        preauth_no: "PA-9".into(),
        claimed_minor: 150_000,
        approved_minor: 120_000,
        settled_minor: 0,
    };
    let with = payments::set_insurance(s, &a, &bill.id, ins).await.unwrap();
    let total = with.totals.total;
    assert_eq!(with.patient_share_minor, total - 120_000);
    let inv = bills::finalize(s, &a, &bill.id).await.unwrap();
    assert_eq!(
        field_of(payments::settle_insurance(s, &a, &bill.id, 120_001, "NEFT").await.unwrap_err()),
        "amount_minor"
    );
    let settled = payments::settle_insurance(s, &a, &bill.id, 120_000, "NEFT-77").await.unwrap();
    assert_eq!(settled.insurance.as_ref().unwrap().settled_minor, 120_000);
    assert_eq!(settled.due_minor, total - 120_000);
    let credited = payments::credit_note(s, &a, &bill.id, settled.due_minor, "scheme waiver").await.unwrap();
    assert_eq!((credited.due_minor, credited.payment_status), (0, PaymentStatus::Paid));
    assert!(credited.credit_notes[0].number.starts_with("CN-"));
    assert_eq!(field_of(payments::credit_note(s, &a, &bill.id, total, "again").await.unwrap_err()), "amount_minor");
    assert!(inv.number.is_some());

    // A cancelled invoice takes no payment.
    let third = bills::open_bill(s, &a, &d.patient).await.unwrap();
    bills::add_line(s, &a, &third.id, line(&d.consult, 1)).await.unwrap();
    bills::finalize(s, &a, &third.id).await.unwrap();
    let cancelled = bills::cancel(s, &a, &third.id, "wrong patient").await.unwrap();
    assert_eq!((cancelled.payment_status, cancelled.due_minor), (PaymentStatus::Cancelled, 0));
    assert_eq!(field_of(payments::pay(s, &a, &third.id, cash(100)).await.unwrap_err()), "bill_id");
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_nothing_is_written() {
    let d = desk().await;
    let (s, a) = (&d.env.store, auth(&d.env.store, &d.admin).await);
    let bill = bills::open_bill(s, &a, &d.patient).await.unwrap();
    let before =
        (common::count(s, "bill_lines").await, common::count(s, "services").await, common::count(s, "audit_log").await);
    let cases: Vec<(LineInput, &str)> = vec![
        (LineInput { quantity: 0, ..line(&d.consult, 1) }, "quantity"),
        (LineInput { quantity: -2, ..line(&d.consult, 1) }, "quantity"),
        (LineInput { unit_price_minor: Some(-1), ..line(&d.consult, 1) }, "unit_price_minor"),
        (LineInput { discount: Discount::Amount(50_001), ..line(&d.consult, 1) }, "discount"),
        (LineInput { discount: Discount::Percent(10_001), ..line(&d.consult, 1) }, "discount"),
        (
            LineInput {
                service_id: None,
                description: "  ".into(),
                unit_price_minor: Some(100),
                ..line(&d.consult, 1)
            },
            "description",
        ),
        (LineInput { service_id: Some("nope".into()), ..line(&d.consult, 1) }, "service_id"),
    ];
    for (input, want) in cases {
        assert_eq!(field_of(bills::add_line(s, &a, &bill.id, input).await.unwrap_err()), want);
    }
    assert_eq!(
        field_of(tariff::add_service(s, &a, service("T", "Tax", "other", 10_001, 1)).await.unwrap_err()),
        "tax_rate_bp"
    );
    assert_eq!(
        field_of(tariff::add_service(s, &a, service("N", "Neg", "other", 0, -5)).await.unwrap_err()),
        "price_minor"
    );
    assert_eq!(
        field_of(tariff::add_service(s, &a, service("consult", "Dup", "other", 0, 5)).await.unwrap_err()),
        "code"
    );
    assert_eq!(
        field_of(bills::finalize(s, &a, &bill.id).await.unwrap_err()),
        "lines",
        "an empty bill cannot be finalized"
    );
    assert_eq!(
        field_of(payments::pay(s, &a, &bill.id, cash(100)).await.unwrap_err()),
        "bill_id",
        "a draft takes advances, not payments"
    );
    assert_eq!(field_of(payments::pay(s, &a, &bill.id, cash(0)).await.unwrap_err()), "amount_minor");
    let after =
        (common::count(s, "bill_lines").await, common::count(s, "services").await, common::count(s, "audit_log").await);
    assert_eq!(before, after);
}

#[tokio::test]
async fn discounts_above_ten_percent_and_refunds_need_a_supervisor() {
    let d = desk().await;
    let s = &d.env.store;
    common::add_user(s, &d.admin, "front", &["receptionist"]).await;
    let desk = SessionSlot::default();
    hms_core::auth::sign_in(s, &desk, "front", common::STAFF_PW).await.unwrap();
    let r = auth(s, &desk).await;
    let bill = bills::open_bill(s, &r, &d.patient).await.unwrap();
    let ten = LineInput { discount: Discount::Percent(1_000), ..line(&d.consult, 1) };
    bills::add_line(s, &r, &bill.id, ten).await.unwrap();
    let eleven = LineInput { discount: Discount::Percent(1_100), ..line(&d.consult, 1) };
    assert_eq!(field_of(bills::add_line(s, &r, &bill.id, eleven).await.unwrap_err()), "discount");
    let big = LineInput { discount: Discount::Amount(5_001), ..line(&d.consult, 1) };
    assert_eq!(field_of(bills::add_line(s, &r, &bill.id, big).await.unwrap_err()), "discount");
    bills::finalize(s, &r, &bill.id).await.unwrap();
    payments::pay(s, &r, &bill.id, cash(1_000)).await.unwrap();
    let mut back = cash(1_000);
    back.note = "changed mind".into();
    assert!(matches!(payments::refund(s, &r, &bill.id, back).await, Err(Error::Forbidden { .. })));
    assert!(matches!(tariff::set_price(s, &r, &d.xray, 1, None).await, Err(Error::Forbidden { .. })));
    common::add_user(s, &d.admin, "nurse1", &["nurse"]).await;
    let nurse = SessionSlot::default();
    hms_core::auth::sign_in(s, &nurse, "nurse1", common::STAFF_PW).await.unwrap();
    assert!(matches!(bills::get(s, &auth(s, &nurse).await, &bill.id).await, Err(Error::Forbidden { .. })));
}

#[tokio::test]
async fn the_daily_cash_report_adds_up_by_mode_and_by_user() {
    let d = desk().await;
    let (s, a) = (&d.env.store, auth(&d.env.store, &d.admin).await);
    let bill = bills::open_bill(s, &a, &d.patient).await.unwrap();
    bills::add_line(s, &a, &bill.id, line(&d.consult, 3)).await.unwrap();
    bills::finalize(s, &a, &bill.id).await.unwrap();
    payments::pay(s, &a, &bill.id, cash(60_000)).await.unwrap();
    let card =
        PaymentInput { mode: PaymentMode::Card, amount_minor: 40_000, reference: "slip 1".into(), note: String::new() };
    payments::pay(s, &a, &bill.id, card).await.unwrap();
    let mut back = cash(10_000);
    back.note = "discount agreed".into();
    payments::refund(s, &a, &bill.id, back).await.unwrap();
    let today = local_today(s).await;
    let r = report::daily_cash(s, &a, &today, None).await.unwrap();
    assert_eq!(
        (r.collected_minor, r.refunded_minor, r.net_minor, r.cash_in_hand_minor),
        (100_000, 10_000, 90_000, 50_000)
    );
    assert_eq!(r.by_mode.len(), 2);
    assert_eq!(r.by_user.len(), 1);
    assert_eq!(r.by_user[0].net_minor, 90_000);
    assert_eq!(r.invoices_finalized, 1);
    let other_day = report::daily_cash(s, &a, "2020-01-01", None).await.unwrap();
    assert_eq!(other_day.net_minor, 0);
    assert_eq!(field_of(report::daily_cash(s, &a, "yesterday", None).await.unwrap_err()), "date");
}

#[tokio::test]
async fn the_invoice_pdf_holds_the_clinic_the_number_every_line_and_the_total() {
    let d = desk().await;
    let (s, a) = (&d.env.store, auth(&d.env.store, &d.admin).await);
    let mut settings = billing::billing_settings(s, &a).await.unwrap();
    settings.address = "12 MG Road\nBengaluru 560001".into();
    settings.tax_no = "29abcde1234f1z5".into();
    billing::update_billing_settings(s, &a, settings).await.unwrap();
    let bill = bills::open_bill(s, &a, &d.patient).await.unwrap();
    for i in 0..20 {
        let l = LineInput {
            service_id: None,
            description: format!("Item {i:02} dressing"),
            quantity: 1 + (i % 3),
            unit_price_minor: Some(1_000 + i64::from(i) * 37),
            discount: Discount::None,
        };
        bills::add_line(s, &a, &bill.id, l).await.unwrap();
    }
    bills::add_line(s, &a, &bill.id, line(&d.xray, 1)).await.unwrap();
    let inv = bills::finalize(s, &a, &bill.id).await.unwrap();
    payments::pay(s, &a, &bill.id, cash(10_000)).await.unwrap();
    let pdf = invoice_pdf::invoice_pdf(s, &a, &bill.id).await.unwrap();
    assert!(pdf.pdf.starts_with(b"%PDF-"));
    let receipt_id = bills::load(s, &bill.id).await.unwrap().payments[0].id.clone();
    let receipt = invoice_pdf::receipt_pdf(s, &a, &bill.id, &receipt_id).await.unwrap();
    assert!(receipt.pdf.starts_with(b"%PDF-"));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("invoice.pdf");
    std::fs::write(&path, &pdf.pdf).unwrap();
    if let Some(keep) = std::env::var_os("HMS_TEST_ARTIFACTS") {
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::write(std::path::Path::new(&keep).join("invoice.pdf"), &pdf.pdf).unwrap();
        std::fs::write(std::path::Path::new(&keep).join("receipt.pdf"), &receipt.pdf).unwrap();
        let _ = std::process::Command::new("pdftoppm")
            .args(["-png", "-r", "80"])
            .arg(&path)
            .arg(std::path::Path::new(&keep).join("invoice"))
            .status();
    }
    let out = std::process::Command::new("pdftotext").args(["-layout"]).arg(&path).arg("-").output();
    match out {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            let total = hms_core::billing::money::format(inv.totals.total, "INR");
            let number = inv.number.clone().unwrap();
            for want in [
                "HMS Clinic",
                "TAX INVOICE",
                number.as_str(),
                "Chest X-ray",
                total.as_str(),
                "29ABCDE1234F1Z5",
                "Ravi Sharma",
            ] {
                assert!(text.contains(want), "{want:?} not in the invoice: {text}");
            }
            for i in 0..20 {
                assert!(text.contains(&format!("Item {i:02} dressing")), "line {i} missing");
            }
        }
        _ => panic!("pdftotext (poppler-utils) is needed: make deps installs it"),
    }
}

#[tokio::test]
async fn checking_a_patient_in_puts_the_consultation_fee_on_the_open_bill_once() {
    use hms_core::schedule::{queue, staff};
    let d = desk().await;
    let (s, a) = (&d.env.store, auth(&d.env.store, &d.admin).await);
    let doctor = staff::add_staff(
        s,
        &a,
        staff::StaffInput {
            full_name: "Dr Meera Iyer".into(),
            role: "doctor".into(),
            fee_minor: 45_000,
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .id;
    let visit = queue::walk_in(s, &a, &d.patient, &doctor, "fever").await.unwrap();
    let bill = bills::open_bill(s, &a, &d.patient).await.unwrap();
    assert_eq!(bill.lines.len(), 1);
    let l = &bill.lines[0];
    assert_eq!(
        (l.description.as_str(), l.unit_price_minor, l.source.as_str()),
        ("Consultation: Dr Meera Iyer", 45_000, "appointment")
    );
    assert_eq!(l.service_id.as_deref(), Some(d.consult.as_str()), "charged under the tariff's CONSULT service");
    // The same visit is never charged twice (the unique index on the line's source too).
    let again = sqlx::query("INSERT INTO bill_lines (id, bill_id, position, description, category, quantity, unit_price_minor, discount_kind, tax_rate_bp, source, source_id, created_at, updated_at, origin_device) VALUES ('x', ?, 9, 'dup', 'consultation', 1, 1, 'none', 0, 'appointment', ?, '', '', '')")
        .bind(&bill.id)
        .bind(&visit.id)
        .execute(s.pool())
        .await;
    assert!(again.is_err());
}

/// A small PNG: a blue square with a transparent corner (RGBA).
fn logo_png() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, 40, 20);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().unwrap();
        let px: Vec<u8> =
            (0..40 * 20).flat_map(|i| if i % 40 < 4 { [0, 0, 0, 0] } else { [13, 84, 140, 255] }).collect();
        w.write_image_data(&px).unwrap();
    }
    out
}

#[tokio::test]
async fn the_clinic_logo_prints_on_invoices_and_receipts() {
    let d = desk().await;
    let (s, a) = (&d.env.store, auth(&d.env.store, &d.admin).await);
    assert_eq!(field_of(billing::set_logo(s, &a, Some(b"GIF89a not a png".to_vec())).await.unwrap_err()), "logo");
    assert_eq!(
        field_of(billing::set_logo(s, &a, Some(vec![0; billing::MAX_LOGO_BYTES + 1])).await.unwrap_err()),
        "logo"
    );
    assert!(!billing::billing_settings(s, &a).await.unwrap().has_logo, "a refused logo writes nothing");
    assert!(billing::set_logo(s, &a, Some(logo_png())).await.unwrap().has_logo);

    let bill = bills::open_bill(s, &a, &d.patient).await.unwrap();
    bills::add_line(s, &a, &bill.id, line(&d.consult, 1)).await.unwrap();
    bills::finalize(s, &a, &bill.id).await.unwrap();
    let paid = payments::pay(s, &a, &bill.id, cash(50_000)).await.unwrap();
    let invoice = invoice_pdf::invoice_pdf(s, &a, &bill.id).await.unwrap();
    let receipt = invoice_pdf::receipt_pdf(s, &a, &bill.id, &paid.payments[0].id).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, pdf) in [("invoice.pdf", &invoice.pdf), ("receipt.pdf", &receipt.pdf)] {
        let path = dir.path().join(name);
        std::fs::write(&path, pdf).unwrap();
        if let Some(keep) = std::env::var_os("HMS_TEST_ARTIFACTS") {
            std::fs::create_dir_all(&keep).unwrap();
            std::fs::write(std::path::Path::new(&keep).join(format!("logo-{name}")), pdf).unwrap();
        }
        let out = std::process::Command::new("pdfimages")
            .arg("-list")
            .arg(&path)
            .output()
            .expect("pdfimages (poppler-utils): make deps installs it");
        let listing = String::from_utf8_lossy(&out.stdout);
        let images: Vec<&str> = listing.lines().skip(2).collect();
        assert_eq!(images.len(), 1, "{name} should carry the logo: {listing}");
        assert!(images[0].contains(" 40 ") && images[0].contains(" 20 "), "the logo at its own size: {listing}");
    }
    assert!(!billing::set_logo(s, &a, None).await.unwrap().has_logo, "the logo can be removed");
}

#[tokio::test]
async fn a_line_preview_has_the_amounts_and_refusals_of_adding_it_and_writes_nothing() {
    let d = desk().await;
    let s = &d.env.store;
    let a = auth(s, &d.admin).await;
    let bill = bills::open_bill(s, &a, &d.patient).await.unwrap();
    // 2 × 750.50 with 10% off and 18% GST: 1501.00 − 150.10 = 1350.90, tax 243.16 (half up).
    let input = LineInput { discount: Discount::Percent(1_000), ..line(&d.xray, 2) };
    let preview = bills::preview_line(s, &a, input.clone()).await.unwrap();
    assert_eq!((preview.gross, preview.discount, preview.taxable), (150_100, 15_010, 135_090));
    assert_eq!((preview.tax, preview.total), (24_316, 159_406));
    let changes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM change_log").fetch_one(s.pool()).await.unwrap();
    let added = bills::add_line(s, &a, &bill.id, input).await.unwrap();
    assert_eq!(added.lines[0].amounts, preview, "the preview is what adding computes");
    assert!(
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM change_log").fetch_one(s.pool()).await.unwrap() > changes,
        "adding writes (the preview did not)"
    );

    // A receptionist gets the same refusal from the preview as from adding: above 10% off.
    common::add_user(s, &d.admin, "front", &["receptionist"]).await;
    let desk = SessionSlot::default();
    hms_core::auth::sign_in(s, &desk, "front", common::STAFF_PW).await.unwrap();
    let r = auth(s, &desk).await;
    let eleven = LineInput { discount: Discount::Percent(1_100), ..line(&d.consult, 1) };
    assert_eq!(field_of(bills::preview_line(s, &r, eleven).await.unwrap_err()), "discount");
    let zero = line(&d.consult, 0);
    assert_eq!(field_of(bills::preview_line(s, &r, zero).await.unwrap_err()), "quantity");
}

/// The names of the actions a bill offers, as the desk shows them.
fn offered(b: &hms_core::billing::Bill) -> Vec<&'static str> {
    let a = b.actions;
    [
        ("add_line", a.add_line),
        ("remove_line", a.remove_line),
        ("finalize", a.finalize),
        ("pay", a.pay),
        ("advance", a.advance),
        ("refund", a.refund),
        ("credit_note", a.credit_note),
        ("cancel", a.cancel),
        ("cancel_needs_refund", a.cancel_needs_refund),
        ("insurance", a.insurance),
        ("settle", a.settle),
        ("print_invoice", a.print_invoice),
        ("print_receipt", a.print_receipt),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect()
}

#[tokio::test]
async fn a_bill_comes_with_the_actions_it_allows_its_reader() {
    let d = desk().await;
    let s = &d.env.store;
    let a = auth(s, &d.admin).await;
    let bill = bills::open_bill(s, &a, &d.patient).await.unwrap();
    assert_eq!(offered(&bill), ["add_line", "remove_line", "advance", "cancel", "insurance", "print_invoice"]);
    let bill = bills::add_line(s, &a, &bill.id, line(&d.consult, 1)).await.unwrap();
    assert!(bill.actions.finalize, "a draft with a line may be finalized");
    let bill = bills::finalize(s, &a, &bill.id).await.unwrap();
    assert_eq!(offered(&bill), ["pay", "credit_note", "cancel", "insurance", "print_invoice"]);
    let bill = payments::pay(s, &a, &bill.id, cash(10_000)).await.unwrap();
    assert_eq!(
        offered(&bill),
        ["pay", "refund", "credit_note", "cancel_needs_refund", "insurance", "print_invoice", "print_receipt"]
    );

    // A receptionist takes money but neither refunds, credits nor cancels an invoice.
    common::add_user(s, &d.admin, "front", &["receptionist"]).await;
    let front = SessionSlot::default();
    hms_core::auth::sign_in(s, &front, "front", common::STAFF_PW).await.unwrap();
    let seen = bills::get(s, &auth(s, &front).await, &bill.id).await.unwrap();
    assert_eq!(offered(&seen), ["pay", "insurance", "print_invoice", "print_receipt"]);

    let bill = payments::pay(s, &a, &bill.id, cash(40_000)).await.unwrap();
    assert!(!bill.actions.pay, "nothing is due");
    let mut back = cash(50_000);
    back.note = "duplicate payment".into();
    let bill = payments::refund(s, &a, &bill.id, back).await.unwrap();
    let bill = bills::cancel(s, &a, &bill.id, "billed in error").await.unwrap();
    assert_eq!(offered(&bill), ["print_invoice", "print_receipt"]);
}

/// The text of a PDF (pdftotext -layout) and its metadata (pdfinfo).
fn pdf_text_and_info(pdf: &[u8]) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).unwrap();
    let run = |cmd: &str, args: &[&str]| {
        let out = std::process::Command::new(cmd)
            .args(args)
            .arg(&path)
            .args(if cmd == "pdftotext" { vec!["-"] } else { vec![] })
            .output()
            .unwrap_or_else(|_| panic!("{cmd} (poppler-utils) is needed: make deps installs it"));
        assert!(out.status.success(), "{cmd} failed");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    (run("pdftotext", &["-layout"]), run("pdfinfo", &["-isodates"]))
}

/// The line of `text` that holds `label`, spaces squeezed.
fn line_with(text: &str, label: &str) -> String {
    let l = text.lines().find(|l| l.contains(label)).unwrap_or_else(|| panic!("{label:?} not in: {text}"));
    l.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn a_receipt_printed_later_shows_the_balance_after_its_payment_and_taxable_value_counts_taxed_lines_only() {
    let d = desk().await;
    let (s, a) = (&d.env.store, auth(&d.env.store, &d.admin).await);
    let fmt = |m: i64| hms_core::billing::money::format(m, "INR");
    let bill = bills::open_bill(s, &a, &d.patient).await.unwrap();
    bills::add_line(s, &a, &bill.id, line(&d.consult, 1)).await.unwrap(); // exempt: 500.00
    bills::add_line(s, &a, &bill.id, line(&d.xray, 1)).await.unwrap(); // 18%: 750.50
    let inv = bills::finalize(s, &a, &bill.id).await.unwrap();
    let total = inv.totals.total;
    assert_eq!(total, 50_000 + 75_050 + 13_509);

    // An early part-payment, then the rest: the first receipt printed afterwards still says
    // what was owed after it, and the current balance beside it.
    let first = payments::pay(s, &a, &bill.id, cash(30_000)).await.unwrap().payments[0].id.clone();
    let settled = payments::pay(s, &a, &bill.id, cash(total - 30_000)).await.unwrap();
    assert_eq!(settled.due_minor, 0);
    let receipt = invoice_pdf::receipt_pdf(s, &a, &bill.id, &first).await.unwrap();
    let (text, info) = pdf_text_and_info(&receipt.pdf);
    let balance = line_with(&text, "after this payment");
    assert!(balance.contains(&fmt(total - 30_000)), "{balance}");
    assert!(balance.contains(&format!("balance due now: {}", fmt(0))), "{balance}");
    // The last receipt: the balance then is the balance now, said once.
    let last = settled.payments[1].id.clone();
    let (text, _) = pdf_text_and_info(&invoice_pdf::receipt_pdf(s, &a, &bill.id, &last).await.unwrap().pdf);
    let balance = line_with(&text, "after this payment");
    assert!(balance.contains(&fmt(0)) && !balance.contains("now"), "{balance}");

    // PDF metadata dates are today's, not 1970's.
    let year = chrono::Utc::now().format("%Y").to_string();
    let created = line_with(&info, "CreationDate");
    assert!(created.contains(&year), "{created}");

    // Taxable value: only the X-ray; the exempt consultation shows on its own row.
    let (text, info) = pdf_text_and_info(&invoice_pdf::invoice_pdf(s, &a, &bill.id).await.unwrap().pdf);
    let taxable = line_with(&text, "Taxable value");
    assert!(taxable.ends_with(&fmt(75_050)), "{taxable}");
    assert!(line_with(&info, "CreationDate").contains(&year));
}

/// Damages one stored value past the table's CHECK constraints, as a disk or a foreign tool
/// would.
async fn damage(s: &Store, sql: &str, id: &str) {
    let mut conn = s.pool().acquire().await.unwrap();
    sqlx::query("PRAGMA ignore_check_constraints = ON").execute(&mut *conn).await.unwrap();
    sqlx::query(sql).bind(id).execute(&mut *conn).await.unwrap();
    sqlx::query("PRAGMA ignore_check_constraints = OFF").execute(&mut *conn).await.unwrap();
}

#[tokio::test]
async fn a_stored_line_or_service_that_does_not_read_is_a_corrupt_record_never_zero() {
    let d = desk().await;
    let (s, a) = (&d.env.store, auth(&d.env.store, &d.admin).await);
    let bill = bills::open_bill(s, &a, &d.patient).await.unwrap();
    let bill = bills::add_line(s, &a, &bill.id, line(&d.xray, 2)).await.unwrap();
    let line_id = bill.lines[0].id.clone();
    let corrupt = |table: &str, id: &str, field: &str| Error::CorruptRecord {
        table: table.into(),
        id: id.into(),
        field: field.into(),
    };
    // Each damage alone, then put back; before, a bad number read as 0 and a bad discount
    // kind as "no discount", silently changing the bill's sums.
    for (set, field, restore) in [
        ("quantity = -2", "quantity", "quantity = 2"),
        ("tax_rate_bp = 5000000000", "tax_rate_bp", "tax_rate_bp = 1800"),
        ("discount_kind = 'bogus'", "discount_kind", "discount_kind = 'none'"),
        (
            "discount_kind = 'percent', discount_value = -1",
            "discount_value",
            "discount_kind = 'none', discount_value = 0",
        ),
    ] {
        damage(s, &format!("UPDATE bill_lines SET {set} WHERE id = ?"), &line_id).await;
        let err = bills::get(s, &a, &bill.id).await.unwrap_err();
        assert_eq!(err, corrupt("bill_lines", &line_id, field), "{set}");
        assert_eq!(err.code(), "corrupt_record");
        damage(s, &format!("UPDATE bill_lines SET {restore} WHERE id = ?"), &line_id).await;
    }
    assert_eq!(bills::get(s, &a, &bill.id).await.unwrap().lines[0].quantity, 2);

    // A service's tax rate: the tariff list, and adding a line from it.
    damage(s, "UPDATE services SET tax_rate_bp = -18 WHERE id = ?", &d.xray).await;
    let err = tariff::services(s, &a, true).await.unwrap_err();
    assert_eq!(err, corrupt("services", &d.xray, "tax_rate_bp"));
    let err = bills::add_line(s, &a, &bill.id, line(&d.xray, 1)).await.unwrap_err();
    assert_eq!(err, corrupt("services", &d.xray, "tax_rate_bp"));
    assert_eq!(common::count(s, "bill_lines").await, 1, "nothing written");
}
