//! Printouts: every PDF printed is recorded with its print (kind, subject, file, who, when,
//! SHA-256), listed by patient / bill / visit for those who may read the subject, opened only
//! from the exports folder when unchanged, and printed again as a new printout.

mod common;
#[path = "common/ward.rs"]
mod ward;

use hms_core::billing::money::Discount;
use hms_core::billing::{bills, invoice_pdf, payments, tariff, LineInput, PaymentInput, PaymentMode, ServiceInput};
use hms_core::clinical::{
    chart, lab_pdf, prescription_pdf, visit_summary_pdf, ConsultationInput, PrescriptionInput, VisitInput,
};
use hms_core::patients::{self, card};
use hms_core::printouts::{self, PrintKind, Printout, PrintoutsOf};
use hms_core::{Authorized, Error, Store};
use std::path::Path;
use ward::{auth, ward, Ward};

/// Saves a document in the exports folder as the app does.
fn save(dir: &Path, file_name: &str, pdf: &[u8]) {
    std::fs::write(dir.join(file_name), pdf).unwrap();
}

fn kinds(list: &[Printout]) -> Vec<PrintKind> {
    list.iter().map(|p| p.kind).collect()
}

async fn list(s: &Store, a: &Authorized, of: PrintoutsOf) -> Vec<Printout> {
    printouts::list(s, a, &of).await.unwrap()
}

/// A visit with a prescription and a lab order; returns (visit, order).
async fn visit(w: &Ward) -> (String, String) {
    let s = &w.env.store;
    let d = auth(s, &w.doctor).await;
    let input = ConsultationInput {
        visit: VisitInput { patient_id: w.patient.clone(), complaints: "Fever".into(), ..Default::default() },
        vitals: None,
        diagnoses: vec![],
        prescriptions: vec![PrescriptionInput {
            medicine_id: w.paracetamol.clone(),
            dose: "1".into(),
            dose_unit: "tablet".into(),
            route: "oral".into(),
            frequency: "1-1-1".into(),
            duration_days: Some(3),
            ..Default::default()
        }],
        lab_test_ids: vec![w.hb.clone()],
    };
    let c = chart::save_consultation(s, &d, input).await.unwrap();
    (c.visit.id, c.lab_orders[0].id.clone())
}

#[tokio::test]
async fn every_print_is_recorded_and_listed_by_patient_bill_and_visit_for_who_may_read_it() {
    let w = ward().await;
    let s = &w.env.store;
    let (admin, doctor, lab, desk) =
        (auth(s, &w.admin).await, auth(s, &w.doctor).await, auth(s, &w.lab).await, auth(s, &w.reception).await);
    let (visit, order) = visit(&w).await;

    // Reception: the ID card, an invoice and a receipt.
    let card = card::id_card(s, &desk, &w.patient).await.unwrap();
    let service = ServiceInput {
        code: "CONSULT".into(),
        name: "Consultation".into(),
        category: "consultation".into(),
        tax_rate_bp: 0,
        tax_exempt: true,
        price_minor: 50_000,
        effective_from: None,
    };
    let consult = tariff::add_service(s, &admin, service).await.unwrap().id;
    let bill = bills::open_bill(s, &desk, &w.patient).await.unwrap();
    let line = LineInput {
        service_id: Some(consult),
        description: String::new(),
        quantity: 1,
        unit_price_minor: None,
        discount: Discount::None,
    };
    bills::add_line(s, &desk, &bill.id, line).await.unwrap();
    bills::finalize(s, &desk, &bill.id).await.unwrap();
    let cash =
        PaymentInput { mode: PaymentMode::Cash, amount_minor: 20_000, reference: String::new(), note: String::new() };
    let paid = payments::pay(s, &desk, &bill.id, cash).await.unwrap();
    let payment = paid.payments[0].clone();
    let invoice = invoice_pdf::invoice_pdf(s, &desk, &bill.id).await.unwrap();
    let receipt = invoice_pdf::receipt_pdf(s, &desk, &bill.id, &payment.id).await.unwrap();
    // The doctor: prescription, visit summary and lab requisition; the lab: the same order.
    let rx = prescription_pdf::prescription_pdf(s, &doctor, &visit).await.unwrap();
    let _summary = visit_summary_pdf::visit_summary_pdf(s, &doctor, &visit).await.unwrap();
    let requisition = lab_pdf::lab_report_pdf(s, &lab, &order).await.unwrap();

    // What is recorded: kind, subject, file, who, when (UTC), SHA-256 and size of the PDF.
    let r = &receipt.printout;
    assert_eq!(r.kind, PrintKind::Receipt);
    assert_eq!(r.patient_id, w.patient);
    assert_eq!(r.bill_id.as_deref(), Some(bill.id.as_str()));
    assert_eq!(r.payment_id.as_deref(), Some(payment.id.as_str()));
    assert_eq!(r.reference, payment.receipt_no);
    assert_eq!(r.file_name, format!("receipt-{}.pdf", payment.receipt_no));
    assert_eq!(r.sha256, printouts::sha256_hex(&receipt.pdf));
    assert_eq!(r.size_bytes, receipt.pdf.len() as i64);
    assert_eq!(r.printed_by, desk.user_id);
    assert_eq!(r.printed_by_name, "Staff desk.roy");
    assert!(r.printed_at.ends_with('Z'), "UTC: {}", r.printed_at);
    assert_eq!(r.reprint_of, None);
    assert_eq!(invoice.printout.reference, bill_number(s, &bill.id).await);
    assert_eq!(card.printout.kind, PrintKind::IdCard);
    assert_eq!(card.file_name, card.printout.file_name);
    assert_eq!(rx.printout.visit_id.as_deref(), Some(visit.as_str()));
    let req = &requisition.printout;
    assert_eq!((req.kind, req.reference.as_str()), (PrintKind::LabReport, "requisition"));
    assert_eq!(req.visit_id.as_deref(), Some(visit.as_str()), "a lab report belongs to its order's visit");
    assert_eq!(req.lab_order_id.as_deref(), Some(order.as_str()));
    assert_eq!(req.printed_by_name, "Staff lab.khan");
    // Written with the print's audit entry: one printout per print.
    assert_eq!(common::count(s, "printouts").await, 6);

    // The patient's page, newest first, as the administrator sees it: everything.
    let all = list(s, &admin, PrintoutsOf::Patient(w.patient.clone())).await;
    assert_eq!(
        kinds(&all),
        [
            PrintKind::LabReport,
            PrintKind::VisitSummary,
            PrintKind::Prescription,
            PrintKind::Receipt,
            PrintKind::Invoice,
            PrintKind::IdCard
        ]
    );
    // Reception sees what it may read: the ID card and the billing papers, never the clinical ones.
    assert_eq!(
        kinds(&list(s, &desk, PrintoutsOf::Patient(w.patient.clone())).await),
        [PrintKind::Receipt, PrintKind::Invoice, PrintKind::IdCard]
    );
    // The doctor: the clinical papers and the ID card, not the bills.
    assert_eq!(
        kinds(&list(s, &doctor, PrintoutsOf::Patient(w.patient.clone())).await),
        [PrintKind::LabReport, PrintKind::VisitSummary, PrintKind::Prescription, PrintKind::IdCard]
    );
    // The lab: lab reports and the ID card.
    assert_eq!(
        kinds(&list(s, &lab, PrintoutsOf::Patient(w.patient.clone())).await),
        [PrintKind::LabReport, PrintKind::IdCard]
    );
    // The bill's list and the visit's list.
    assert_eq!(
        kinds(&list(s, &desk, PrintoutsOf::Bill(bill.id.clone())).await),
        [PrintKind::Receipt, PrintKind::Invoice]
    );
    assert!(list(s, &doctor, PrintoutsOf::Bill(bill.id.clone())).await.is_empty(), "a doctor sees no bill papers");
    assert_eq!(
        kinds(&list(s, &doctor, PrintoutsOf::Visit(visit.clone())).await),
        [PrintKind::LabReport, PrintKind::VisitSummary, PrintKind::Prescription]
    );
    assert!(list(s, &desk, PrintoutsOf::Visit(visit.clone())).await.is_empty());
    // One printout is read with the same rule.
    assert!(matches!(printouts::get(s, &desk, &rx.printout.id).await, Err(Error::Forbidden { .. })));
    assert_eq!(printouts::get(s, &doctor, &rx.printout.id).await.unwrap(), rx.printout);
    assert!(matches!(printouts::get(s, &doctor, "nope").await, Err(Error::NotFound { .. })));

    // A merge made on this device takes the merged record's printouts to the survivor.
    let other = patients::register(
        s,
        &admin,
        patients::PatientInput {
            given_name: "Ravi".into(),
            family_name: "Sharma K".into(),
            sex: "male".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    patients::merge(s, &admin, &other.id, &w.patient, "same person").await.unwrap();
    assert_eq!(list(s, &admin, PrintoutsOf::Patient(other.id.clone())).await.len(), 6);
    assert!(list(s, &admin, PrintoutsOf::Patient(w.patient.clone())).await.is_empty());
}

async fn bill_number(s: &Store, bill: &str) -> String {
    sqlx::query_scalar("SELECT number FROM bills WHERE id = ?").bind(bill).fetch_one(s.pool()).await.unwrap()
}

#[tokio::test]
async fn a_printout_opens_only_from_the_exports_folder_and_only_while_unchanged() {
    let w = ward().await;
    let s = &w.env.store;
    let (admin, desk) = (auth(s, &w.admin).await, auth(s, &w.reception).await);
    let dir = tempfile::tempdir().unwrap();
    let card = card::id_card(s, &desk, &w.patient).await.unwrap();
    let id = card.printout.id.clone();

    // Not saved (the write failed, or the file was moved away): missing.
    assert!(matches!(printouts::open(s, &desk, &id, dir.path()).await, Err(Error::PrintoutMissing { .. })));
    save(dir.path(), &card.file_name, &card.pdf);
    let (p, path) = printouts::open(s, &desk, &id, dir.path()).await.unwrap();
    assert_eq!((p.id.as_str(), path.as_path()), (id.as_str(), dir.path().join(&card.file_name).as_path()));
    assert!(common::actions(s).await.contains(&"printout.open".to_string()));

    // Changed on disk since it was printed: refused with its own code.
    let mut changed = card.pdf.clone();
    changed.extend_from_slice(b"\n% edited\n");
    save(dir.path(), &card.file_name, &changed);
    let e = printouts::open(s, &desk, &id, dir.path()).await.unwrap_err();
    assert_eq!(e.code(), "printout_changed");
    std::fs::remove_file(dir.path().join(&card.file_name)).unwrap();
    assert_eq!(printouts::open(s, &desk, &id, dir.path()).await.unwrap_err().code(), "printout_missing");

    // A record whose file name is not a plain name of the folder is never followed.
    let outside = dir.path().join("outside.pdf");
    std::fs::write(&outside, &card.pdf).unwrap();
    for bad in ["..", "../outside.pdf", "/etc/passwd", ".hidden.pdf", "sub/x.pdf", ""] {
        sqlx::query("UPDATE printouts SET file_name = ? WHERE id = ?")
            .bind(bad)
            .bind(&id)
            .execute(s.pool())
            .await
            .unwrap();
        let inner = dir.path().join("inner");
        std::fs::create_dir_all(&inner).unwrap();
        assert_eq!(printouts::open(s, &desk, &id, &inner).await.unwrap_err().code(), "printout_missing", "{bad:?}");
    }
    assert!(printouts::is_plain_file_name("invoice-INV-2026-0001.pdf"));
    assert!(!printouts::is_plain_file_name("a b.pdf"));

    // Opening follows the permission to read the subject.
    let rx = {
        let (visit, _) = visit(&w).await;
        prescription_pdf::prescription_pdf(s, &auth(s, &w.doctor).await, &visit).await.unwrap()
    };
    save(dir.path(), &rx.file_name, &rx.pdf);
    assert!(matches!(printouts::open(s, &desk, &rx.printout.id, dir.path()).await, Err(Error::Forbidden { .. })));
    assert!(printouts::open(s, &admin, &rx.printout.id, dir.path()).await.is_ok());
}

#[tokio::test]
async fn printing_again_makes_the_same_document_as_a_new_printout_of_the_original() {
    let w = ward().await;
    let s = &w.env.store;
    let (doctor, desk, nurse) = (auth(s, &w.doctor).await, auth(s, &w.reception).await, auth(s, &w.nurse).await);
    let (visit, order) = visit(&w).await;
    let rx = prescription_pdf::prescription_pdf(s, &doctor, &visit).await.unwrap();
    let audits = |a: Vec<String>| a.iter().filter(|x| *x == "prescription.print").count();
    assert_eq!(audits(common::actions(s).await), 1);

    // Printed again by the nurse: a new printout pointing at the original, audited as a print,
    // under its own file name so that the original's file is not overwritten.
    let again = printouts::reprint(s, &nurse, &rx.printout.id).await.unwrap();
    let p = &again.printout;
    assert_ne!(p.id, rx.printout.id);
    assert_eq!(p.kind, PrintKind::Prescription);
    assert_eq!(p.reprint_of.as_deref(), Some(rx.printout.id.as_str()));
    assert_eq!(p.visit_id, rx.printout.visit_id);
    assert_eq!(p.printed_by_name, "Staff n.joseph");
    let stem = rx.file_name.trim_end_matches(".pdf");
    assert_eq!(again.file_name, format!("{stem}-2.pdf"));
    assert_eq!(p.sha256, printouts::sha256_hex(&again.pdf));
    assert_eq!(audits(common::actions(s).await), 2);
    // The same document: the printer is deterministic for a record (only the PDF's creation
    // date may differ).
    assert_eq!(ward_text(&again.pdf), ward_text(&rx.pdf));
    // A reprint of the reprint points at the first printout.
    let third = printouts::reprint(s, &doctor, &p.id).await.unwrap();
    assert_eq!(third.printout.reprint_of.as_deref(), Some(rx.printout.id.as_str()));
    assert_eq!(third.file_name, format!("{stem}-3.pdf"));
    assert_eq!(list(s, &doctor, PrintoutsOf::Visit(visit.clone())).await.len(), 3);

    // Reprinting needs the printer's permission, like printing.
    assert!(matches!(printouts::reprint(s, &desk, &rx.printout.id).await, Err(Error::Forbidden { .. })));
    assert_eq!(audits(common::actions(s).await), 3);

    // Every kind prints again: lab report, visit summary, ID card.
    let lab = lab_pdf::lab_report_pdf(s, &doctor, &order).await.unwrap();
    assert_eq!(printouts::reprint(s, &doctor, &lab.printout.id).await.unwrap().printout.kind, PrintKind::LabReport);
    let sum = visit_summary_pdf::visit_summary_pdf(s, &doctor, &visit).await.unwrap();
    assert_eq!(printouts::reprint(s, &nurse, &sum.printout.id).await.unwrap().printout.kind, PrintKind::VisitSummary);
    let card = card::id_card(s, &desk, &w.patient).await.unwrap();
    let card2 = printouts::reprint(s, &desk, &card.printout.id).await.unwrap();
    assert_eq!(ward_text(&card2.pdf), ward_text(&card.pdf));
}

#[tokio::test]
async fn a_reprinted_receipt_still_shows_the_balance_after_its_own_payment() {
    let w = ward().await;
    let s = &w.env.store;
    let (admin, desk) = (auth(s, &w.admin).await, auth(s, &w.reception).await);
    let service = ServiceInput {
        code: "CONSULT".into(),
        name: "Consultation".into(),
        category: "consultation".into(),
        tax_rate_bp: 0,
        tax_exempt: true,
        price_minor: 50_000,
        effective_from: None,
    };
    let consult = tariff::add_service(s, &admin, service).await.unwrap().id;
    let bill = bills::open_bill(s, &desk, &w.patient).await.unwrap();
    let line = LineInput {
        service_id: Some(consult),
        description: String::new(),
        quantity: 1,
        unit_price_minor: None,
        discount: Discount::None,
    };
    bills::add_line(s, &desk, &bill.id, line).await.unwrap();
    bills::finalize(s, &desk, &bill.id).await.unwrap();
    let cash =
        |m| PaymentInput { mode: PaymentMode::Cash, amount_minor: m, reference: String::new(), note: String::new() };
    let first = payments::pay(s, &desk, &bill.id, cash(20_000)).await.unwrap().payments[0].clone();
    let receipt = invoice_pdf::receipt_pdf(s, &desk, &bill.id, &first.id).await.unwrap();
    let before = ward_text(&receipt.pdf);
    assert!(before.contains("300.00"), "balance after the first payment: {before}");
    payments::pay(s, &desk, &bill.id, cash(30_000)).await.unwrap();
    let again = printouts::reprint(s, &desk, &receipt.printout.id).await.unwrap();
    assert_eq!(again.printout.kind, PrintKind::Receipt);
    assert_eq!(again.printout.payment_id.as_deref(), Some(first.id.as_str()));
    let text = ward_text(&again.pdf);
    let balance = |t: &str| {
        t.lines().find(|l| l.contains("Balance due")).map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
    };
    assert_eq!(balance(&before).as_deref(), Some("Balance due on this bill after this payment: ₹300.00"));
    // The same balance after that payment, and today's balance beside it now that it differs.
    assert_eq!(
        balance(&text).as_deref(),
        Some("Balance due on this bill after this payment: ₹300.00 (balance due now: ₹0.00)"),
        "{text}"
    );
    let inv = invoice_pdf::invoice_pdf(s, &desk, &bill.id).await.unwrap();
    let inv2 = printouts::reprint(s, &admin, &inv.printout.id).await.unwrap();
    assert_eq!(inv2.printout.bill_id.as_deref(), Some(bill.id.as_str()));
    assert_eq!(ward_text(&inv2.pdf), ward_text(&inv.pdf));
}

/// A PDF's text (pdftotext -layout).
fn ward_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils): make deps installs it");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}
