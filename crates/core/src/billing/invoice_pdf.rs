//! Invoice and payment receipt PDFs: clinic header, patient, line table, tax summary by
//! rate, totals, amount in words, payments. A4 portrait, in the embedded Unicode font (₹).

use super::model::{Bill, BillStatus, PaymentKind, PaymentMode};
use super::money::{format, in_words};
use super::BillingSettings;
use crate::error::{Error, Result, ValidationReason};
use crate::pdf::{self, Doc, Page, Picture, Weight, ACCENT, INK, MUTED};
use crate::printouts::{self, PrintKind, Printout, Subject};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::settings::Formats;
use crate::store::Store;
use printpdf::XObjectId;
use serde_json::json;

const W: f32 = 210.0;
const H: f32 = 297.0;
const LEFT: f32 = 15.0;
const RIGHT: f32 = W - 15.0;
const ROW: f32 = 6.0;
/// Table rows on one page; a longer invoice continues on the next.
const ROWS_PER_PAGE: usize = 28;

/// A rendered invoice or receipt: the PDF, the file name to save it under and its record.
pub struct Rendered {
    pub file_name: String,
    pub pdf: Vec<u8>,
    pub printout: Printout,
}

fn mm(pt: f32) -> f32 {
    pt * 25.4 / 72.0
}

/// Text right-aligned so that it ends at `x` mm.
#[allow(clippy::too_many_arguments)] // the same arguments as `pdf::Page::text`
fn right(
    page: &mut Page,
    doc: &Doc,
    x: f32,
    y: f32,
    size: f32,
    weight: Weight,
    colour: (f32, f32, f32),
    text: &str,
) -> Result<()> {
    let width = mm(pdf::text_width(text, size, weight)?);
    page.text(doc, x - width, y, size, weight, colour, text);
    Ok(())
}

/// An instant as the clinic's local date, in its locale's order (dd/mm/yyyy for en-IN): a bill
/// finalized at 01:00 in Kolkata is dated that day, not the day before (its UTC date).
fn date_of(fmt: &Formats, rfc3339: Option<&str>) -> String {
    rfc3339.map(|s| fmt.date(s)).unwrap_or_default()
}

fn percent(bp: u32) -> String {
    if bp.is_multiple_of(100) {
        format!("{}%", bp / 100)
    } else {
        format!("{}.{:02}%", bp / 100, bp % 100).trim_end_matches('0').to_string()
    }
}

/// A logo added to the document, placed by the header.
pub struct PlacedLogo<'a> {
    id: XObjectId,
    picture: &'a Picture,
}

fn add_logo<'a>(doc: &mut Doc, logo: Option<&'a Picture>) -> Option<PlacedLogo<'a>> {
    logo.map(|picture| PlacedLogo { id: doc.add_picture(picture), picture })
}

/// Logo height on the page, mm; its width follows its proportions (at most 50 mm).
const LOGO_H: f32 = 16.0;

/// The clinic's header (logo at the left when there is one); returns the y below it.
fn header(page: &mut Page, doc: &Doc, s: &BillingSettings, title: &str, logo: Option<&PlacedLogo>) -> Result<f32> {
    page.fill_rect(0.0, H - 6.0, W, 6.0, ACCENT);
    let mut x = LEFT;
    if let Some(l) = logo {
        let width = (LOGO_H * l.picture.width as f32 / l.picture.height as f32).min(50.0);
        let height = width * l.picture.height as f32 / l.picture.width as f32;
        page.picture(&l.id, l.picture, LEFT, H - 10.0 - height, height);
        x = LEFT + width + 4.0;
    }
    let name = pdf::fit(&s.clinic_name, 16.0, Weight::Bold, (RIGHT - x - 60.0) * 72.0 / 25.4)?;
    page.text(doc, x, H - 18.0, 16.0, Weight::Bold, INK, &name);
    let mut y = H - 24.0;
    for line in s.address.lines().take(3) {
        page.text(doc, x, y, 9.0, Weight::Regular, MUTED, line);
        y -= 4.5;
    }
    let ids: Vec<String> = [("Reg. no", &s.registration_no), ("GSTIN", &s.tax_no)]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    if !ids.is_empty() {
        page.text(doc, x, y, 9.0, Weight::Regular, MUTED, &ids.join("   "));
        y -= 4.5;
    }
    if logo.is_some() {
        y = y.min(H - 12.0 - LOGO_H);
    }
    right(page, doc, RIGHT, H - 18.0, 14.0, Weight::Bold, ACCENT, title)?;
    page.line(LEFT, y - 1.0, RIGHT, y - 1.0, MUTED);
    Ok(y - 8.0)
}

/// The table's columns: (label, right edge or left start, right-aligned).
const COLS: [(&str, f32, bool); 7] = [
    ("#", LEFT, false),
    ("Description", LEFT + 8.0, false),
    ("Qty", 118.0, true),
    ("Rate", 140.0, true),
    ("Discount", 160.0, true),
    ("Tax", 172.0, true),
    ("Amount", RIGHT, true),
];

fn table_head(page: &mut Page, doc: &Doc, y: f32) -> Result<f32> {
    page.fill_rect(LEFT, y - 2.0, RIGHT - LEFT, ROW, (0.93, 0.95, 0.97));
    for (label, x, r) in COLS {
        if r {
            right(page, doc, x, y, 9.0, Weight::Bold, INK, label)?;
        } else {
            page.text(doc, x, y, 9.0, Weight::Bold, INK, label);
        }
    }
    Ok(y - ROW - 1.0)
}

/// Renders a bill as an invoice PDF (a draft prints as a PRO-FORMA, clearly marked).
pub fn render_invoice(bill: &Bill, s: &BillingSettings, fmt: &Formats, logo: Option<&Picture>) -> Result<Vec<u8>> {
    let c = bill.currency.as_str();
    let title = match bill.status {
        BillStatus::Draft => "PRO-FORMA (not an invoice)",
        BillStatus::Cancelled => "INVOICE — CANCELLED",
        BillStatus::Final if s.tax_no.is_empty() => "INVOICE",
        BillStatus::Final => "TAX INVOICE",
    };
    let mut doc = Doc::new(&format!("Invoice {}", bill.number.as_deref().unwrap_or("draft")))?;
    let logo = add_logo(&mut doc, logo);
    let pages: Vec<_> = bill.lines.chunks(ROWS_PER_PAGE).collect();
    let page_count = pages.len().max(1);
    let mut y = 0.0;
    let mut page = doc.page(W, H);
    for (i, chunk) in pages.iter().enumerate() {
        if i > 0 {
            doc.push(std::mem::replace(&mut page, doc.page(W, H)));
        }
        y = header(&mut page, &doc, s, title, logo.as_ref())?;
        if i == 0 {
            y = bill_block(&mut page, &doc, bill, fmt, y)?;
        }
        y = table_head(&mut page, &doc, y)?;
        for line in chunk.iter() {
            let desc = pdf::fit(&line.description, 9.0, Weight::Regular, (110.0 - LEFT - 8.0) * 72.0 / 25.4)?;
            let disc = if line.amounts.discount > 0 { format(line.amounts.discount, c) } else { "—".into() };
            let cells = [
                line.position.to_string(),
                desc,
                line.quantity.to_string(),
                format(line.unit_price_minor, c),
                disc,
                percent(line.tax_rate_bp),
                format(line.amounts.total, c),
            ];
            for ((_, x, r), text) in COLS.iter().zip(cells.iter()) {
                if *r {
                    right(&mut page, &doc, *x, y, 9.0, Weight::Regular, INK, text)?;
                } else {
                    page.text(&doc, *x, y, 9.0, Weight::Regular, INK, text);
                }
            }
            y -= ROW;
        }
        if page_count > 1 {
            right(
                &mut page,
                &doc,
                RIGHT,
                8.0,
                8.0,
                Weight::Regular,
                MUTED,
                &format!("Page {} of {page_count}", i + 1),
            )?;
        }
    }
    page.line(LEFT, y + 2.0, RIGHT, y + 2.0, MUTED);
    y = totals_block(&mut page, &doc, bill, y - 3.0)?;
    page.text(&doc, LEFT, y, 9.0, Weight::Bold, INK, &in_words(bill.totals.total, c));
    y -= 8.0;
    payments_block(&mut page, &doc, bill, fmt, y)?;
    page.text(
        &doc,
        LEFT,
        12.0,
        8.0,
        Weight::Regular,
        MUTED,
        "Computer-generated invoice. Amounts are rounded half up per line to the paisa.",
    );
    doc.push(page);
    Ok(doc.finish())
}

fn bill_block(page: &mut Page, doc: &Doc, bill: &Bill, fmt: &Formats, y: f32) -> Result<f32> {
    page.text(doc, LEFT, y, 9.0, Weight::Regular, MUTED, "Billed to");
    page.text(doc, LEFT, y - 5.0, 11.0, Weight::Bold, INK, &bill.patient_name);
    page.text(doc, LEFT, y - 10.0, 9.0, Weight::Regular, INK, &format!("MRN {}", bill.mrn));
    let number = bill.number.clone().unwrap_or_else(|| "—".into());
    let rows = [
        ("Invoice no.", number),
        ("Date", date_of(fmt, bill.finalized_at.as_deref().or(Some(bill.created_at.as_str())))),
        ("Status", format!("{:?}", bill.payment_status).replace("PartlyPaid", "Partly paid")),
    ];
    for (i, (k, v)) in rows.iter().enumerate() {
        let yy = y - i as f32 * 5.0;
        page.text(doc, 130.0, yy, 9.0, Weight::Regular, MUTED, k);
        right(page, doc, RIGHT, yy, 9.0, Weight::Bold, INK, v)?;
    }
    Ok(y - 20.0)
}

fn totals_block(page: &mut Page, doc: &Doc, bill: &Bill, mut y: f32) -> Result<f32> {
    let c = bill.currency.as_str();
    let t = &bill.totals;
    let mut rows: Vec<(String, String, bool)> = vec![("Subtotal".into(), format(t.subtotal, c), false)];
    if t.discount > 0 {
        rows.push(("Discount".into(), format!("-{}", format(t.discount, c)), false));
    }
    // Only lines that carry tax are taxable value; exempt and 0% lines show on their own row.
    let taxed: i64 = t.taxes.iter().filter(|x| x.rate_bp > 0).map(|x| x.taxable).sum();
    rows.push(("Taxable value".into(), format(taxed, c), false));
    for tax in &t.taxes {
        let label = if tax.rate_bp == 0 {
            "Exempt / 0% (on ".to_string() + &format(tax.taxable, c) + ")"
        } else {
            format!("GST {} on {}", percent(tax.rate_bp), format(tax.taxable, c))
        };
        rows.push((label, format(tax.tax, c), false));
    }
    rows.push(("Total".into(), format(t.total, c), true));
    if bill.credited_minor > 0 {
        rows.push(("Credit notes".into(), format!("-{}", format(bill.credited_minor, c)), false));
    }
    if bill.paid_minor != 0 {
        rows.push(("Paid".into(), format(bill.paid_minor, c), false));
    }
    rows.push(("Balance due".into(), format(bill.due_minor, c), true));
    if let Some(ins) = &bill.insurance {
        rows.push((format!("Insurer approved ({})", ins.payer), format(ins.approved_minor, c), false));
        rows.push(("Patient's share".into(), format(bill.patient_share_minor, c), false));
    }
    for (label, value, bold) in rows {
        let weight = if bold { Weight::Bold } else { Weight::Regular };
        page.text(doc, 110.0, y, 9.0, weight, if bold { INK } else { MUTED }, &label);
        right(page, doc, RIGHT, y, 9.0, weight, INK, &value)?;
        y -= 5.0;
    }
    Ok(y - 4.0)
}

fn payments_block(page: &mut Page, doc: &Doc, bill: &Bill, fmt: &Formats, mut y: f32) -> Result<()> {
    if bill.payments.is_empty() || y < 30.0 {
        return Ok(());
    }
    page.text(doc, LEFT, y, 9.0, Weight::Bold, INK, "Payments");
    y -= 5.0;
    for p in bill.payments.iter().take(((y - 20.0) / 4.5).max(0.0) as usize) {
        let sign = if p.kind == PaymentKind::Refund { "-" } else { "" };
        let text = format!(
            "{}  {}  {}  {}{}",
            date_of(fmt, Some(&p.received_at)),
            p.receipt_no,
            mode_label(p.mode),
            sign,
            format(p.amount_minor, &bill.currency)
        );
        page.text(doc, LEFT, y, 8.5, Weight::Regular, MUTED, &text);
        y -= 4.5;
    }
    Ok(())
}

fn mode_label(m: PaymentMode) -> &'static str {
    match m {
        PaymentMode::Cash => "Cash",
        PaymentMode::Card => "Card",
        PaymentMode::Upi => "UPI",
        PaymentMode::BankTransfer => "Bank transfer",
        PaymentMode::Insurance => "Insurance",
    }
}

/// A payment (or refund) receipt: A5 landscape.
pub fn render_receipt(
    bill: &Bill,
    payment_id: &str,
    s: &BillingSettings,
    fmt: &Formats,
    logo: Option<&Picture>,
) -> Result<Vec<u8>> {
    let p =
        bill.payments.iter().find(|p| p.id == payment_id).ok_or_else(|| {
            Error::validation("payment_id", ValidationReason::Invalid, "no such payment on this bill")
        })?;
    let c = bill.currency.as_str();
    let (w, h) = (210.0, 148.0);
    let mut doc = Doc::new(&format!("Receipt {}", p.receipt_no))?;
    let logo = add_logo(&mut doc, logo);
    let mut page = doc.page(w, h);
    page.fill_rect(0.0, h - 6.0, w, 6.0, ACCENT);
    let mut x = LEFT;
    if let Some(l) = &logo {
        let height = 10.0;
        page.picture(&l.id, l.picture, LEFT, h - 21.0, height);
        x += (height * l.picture.width as f32 / l.picture.height as f32).min(40.0) + 3.0;
    }
    page.text(
        &doc,
        x,
        h - 18.0,
        14.0,
        Weight::Bold,
        INK,
        &pdf::fit(&s.clinic_name, 14.0, Weight::Bold, 110.0 * 72.0 / 25.4)?,
    );
    let title = match p.kind {
        PaymentKind::Refund => "REFUND RECEIPT",
        PaymentKind::Advance => "ADVANCE RECEIPT",
        PaymentKind::Payment => "PAYMENT RECEIPT",
    };
    right(&mut page, &doc, RIGHT, h - 18.0, 12.0, Weight::Bold, ACCENT, title)?;
    let rows = [
        ("Receipt no.", p.receipt_no.clone()),
        ("Date", date_of(fmt, Some(&p.received_at))),
        ("Received from", format!("{} (MRN {})", bill.patient_name, bill.mrn)),
        (
            "Against",
            bill.number.clone().map_or_else(|| "advance on the open bill".to_string(), |n| format!("invoice {n}")),
        ),
        (
            "Mode",
            if p.reference.is_empty() {
                mode_label(p.mode).to_string()
            } else {
                format!("{} — {}", mode_label(p.mode), p.reference)
            },
        ),
        ("Amount", format(p.amount_minor, c)),
    ];
    let mut y = h - 35.0;
    for (k, v) in rows {
        page.text(&doc, LEFT, y, 10.0, Weight::Regular, MUTED, k);
        page.text(&doc, 60.0, y, 10.0, if k == "Amount" { Weight::Bold } else { Weight::Regular }, INK, &v);
        y -= 7.0;
    }
    page.text(&doc, LEFT, y - 2.0, 10.0, Weight::Bold, INK, &in_words(p.amount_minor, c));
    let then = balance_after(bill, payment_id);
    let mut balance = format!("Balance due on this bill after this payment: {}", format(then.max(0), c));
    if then != bill.due_minor {
        balance += &format!("   (balance due now: {})", format(bill.due_minor.max(0), c));
    }
    page.text(&doc, LEFT, y - 10.0, 9.0, Weight::Regular, MUTED, &balance);
    page.text(&doc, LEFT, 12.0, 8.0, Weight::Regular, MUTED, "Computer-generated receipt.");
    doc.push(page);
    Ok(doc.finish())
}

/// What was still owed right after a payment: the total less the credit notes issued by then
/// and the payments up to and including this one (refunds count back). A receipt printed later
/// must not show the balance as it is today.
pub fn balance_after(bill: &Bill, payment_id: &str) -> i64 {
    let Some(at) = bill.payments.iter().position(|p| p.id == payment_id) else {
        return bill.due_minor;
    };
    let received_at = bill.payments[at].received_at.as_str();
    let paid: i64 = bill.payments[..=at]
        .iter()
        .map(|p| if p.kind == PaymentKind::Refund { -p.amount_minor } else { p.amount_minor })
        .sum();
    let credited: i64 =
        bill.credit_notes.iter().filter(|n| n.created_at.as_str() <= received_at).map(|n| n.amount_minor).sum();
    // The bill's total as its balance counts it (an issued invoice's stored total).
    let total = bill.due_minor + bill.credited_minor + bill.paid_minor;
    if bill.status == BillStatus::Cancelled {
        return 0;
    }
    total - credited - paid
}

/// The invoice PDF of a bill, for saving or printing (audited).
pub async fn invoice_pdf(store: &Store, auth: &Authorized, bill_id: &str) -> Result<Rendered> {
    invoice_pdf_as(store, auth, bill_id, None).await
}

/// [`invoice_pdf`], recorded as a reprint of printout `reprint_of` when given.
pub(crate) async fn invoice_pdf_as(
    store: &Store,
    auth: &Authorized,
    bill_id: &str,
    reprint_of: Option<&str>,
) -> Result<Rendered> {
    auth.require(Permission::BillingView)?;
    let bill = super::bills::load(store, bill_id).await?;
    let s = super::read_settings(store).await?;
    let logo = crate::clinic::logo(store).await?;
    let fmt = Formats::load(store).await?;
    let pdf = render_invoice(&bill, &s, &fmt, logo.as_ref())?;
    let mut w = store.begin_write(auth.actor()).await?;
    w.audit("bill.print", "bill", Some(bill_id), json!({ "number": bill.number })).await?;
    let name = bill.number.clone().unwrap_or_else(|| format!("proforma-{}", bill.mrn));
    let subject = Subject { patient_id: bill.patient_id.clone(), bill_id: Some(bill.id.clone()), ..Subject::default() };
    let reference = bill.number.clone().unwrap_or_else(|| "pro-forma".into());
    let printout = printouts::record(
        &mut w,
        PrintKind::Invoice,
        &reference,
        subject,
        &format!("invoice-{name}.pdf"),
        &pdf,
        reprint_of,
    )
    .await?;
    w.commit().await?;
    Ok(Rendered { file_name: printout.file_name.clone(), pdf, printout })
}

/// A payment's receipt PDF (audited).
pub async fn receipt_pdf(store: &Store, auth: &Authorized, bill_id: &str, payment_id: &str) -> Result<Rendered> {
    receipt_pdf_as(store, auth, bill_id, payment_id, None).await
}

/// [`receipt_pdf`], recorded as a reprint of printout `reprint_of` when given.
pub(crate) async fn receipt_pdf_as(
    store: &Store,
    auth: &Authorized,
    bill_id: &str,
    payment_id: &str,
    reprint_of: Option<&str>,
) -> Result<Rendered> {
    auth.require(Permission::BillingView)?;
    let bill = super::bills::load(store, bill_id).await?;
    let s = super::read_settings(store).await?;
    let logo = crate::clinic::logo(store).await?;
    let fmt = Formats::load(store).await?;
    let pdf = render_receipt(&bill, payment_id, &s, &fmt, logo.as_ref())?;
    let receipt = bill.payments.iter().find(|p| p.id == payment_id).map(|p| p.receipt_no.clone()).unwrap_or_default();
    let mut w = store.begin_write(auth.actor()).await?;
    w.audit("bill.receipt_print", "bill", Some(bill_id), json!({ "receipt_no": receipt })).await?;
    let subject = Subject {
        patient_id: bill.patient_id.clone(),
        bill_id: Some(bill.id.clone()),
        payment_id: Some(payment_id.to_string()),
        ..Subject::default()
    };
    let printout = printouts::record(
        &mut w,
        PrintKind::Receipt,
        &receipt,
        subject,
        &format!("receipt-{receipt}.pdf"),
        &pdf,
        reprint_of,
    )
    .await?;
    w.commit().await?;
    Ok(Rendered { file_name: printout.file_name.clone(), pdf, printout })
}
