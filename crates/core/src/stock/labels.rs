//! Dispensing labels: one PDF for what was dispensed to a patient at one go, a label per pack
//! of each dispensed line, sized for the common 4 × 2 inch (101.6 × 50.8 mm) thermal label
//! printers (one label a page).
//!
//! A label prints the clinic, the patient (name and MRN), the medicine given (the substitute
//! when one was given), the dose in words ([`super::dose_words`]), the quantity, the batch and
//! its expiry, the day dispensed and "1 of 3" when the line needs several labels.
//!
//! **Several labels a line**: one for each pack (or part pack) handed over, each with the
//! batch it came from — 25 capsules in packs of 10 from one batch are 3 labels. A line that
//! would need more than [`LABELS_PER_LINE_MAX`] gets one label per batch instead.
//!
//! **What "at one go" is**: the lines of one [`super::dispensing::dispense`] for one patient
//! (the same patient and instant). The printout's `reference` is the dispensing named, so
//! printing again finds the same lines.

use super::dose_words::{dose_in_words, instructions_apart, Dosage};
use crate::clinical::print::{self, Letterhead, Printed};
use crate::error::{Error, Result};
use crate::pdf::{self, Doc, Weight, INK, MUTED};
use crate::printouts::{self, PrintKind, Subject};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use serde_json::json;

/// The label's size in mm (4 × 2 inches).
pub const LABEL_W: f32 = 101.6;
pub const LABEL_H: f32 = 50.8;
const MARGIN: f32 = 3.5;
/// The most labels one line prints one per pack; beyond, one per batch.
pub const LABELS_PER_LINE_MAX: usize = 20;

/// One dispensed line as its labels print it.
#[derive(Debug, Clone, Default)]
pub struct LabelLine {
    pub medicine: String,
    pub dose_words: String,
    /// Instructions too long for the sentence ("" when none or inside it).
    pub instructions: String,
    pub quantity: i64,
    pub unit: String,
    pub pack_size: u32,
    /// (batch number, expiry YYYY-MM-DD, quantity) of each batch taken.
    pub batches: Vec<(String, String, i64)>,
}

/// Everything one PDF of labels prints.
#[derive(Debug, Clone, Default)]
pub struct LabelSheet {
    pub patient_id: String,
    pub patient_name: String,
    pub mrn: String,
    pub visit_id: Option<String>,
    /// RFC 3339.
    pub dispensed_at: String,
    pub lines: Vec<LabelLine>,
}

/// One label to draw: its line, its batch and its place among the line's labels.
struct One<'a> {
    line: &'a LabelLine,
    batch: &'a (String, String, i64),
    n: usize,
    of: usize,
}

/// The labels of a line: one per pack of each batch (see the module doc).
fn labels_of(line: &LabelLine) -> Vec<usize> {
    let pack = u64::from(line.pack_size.max(1));
    let per_pack: Vec<usize> = line
        .batches
        .iter()
        .enumerate()
        .flat_map(|(i, (_, _, q))| {
            // A part pack is a label too; a line of more packs than labels is cut short below.
            let packs = u64::try_from(*q).unwrap_or(0).max(1).div_ceil(pack).min(LABELS_PER_LINE_MAX as u64 + 1);
            (0..packs).map(move |_| i)
        })
        .collect();
    if per_pack.len() <= LABELS_PER_LINE_MAX {
        return per_pack;
    }
    (0..line.batches.len()).collect()
}

/// Draws the labels. Pure: the same sheet gives the same PDF.
pub fn render(head: &Letterhead, s: &LabelSheet) -> Result<Vec<u8>> {
    let mut doc = Doc::new(&format!("Labels {}", s.mrn))?;
    for line in &s.lines {
        let labels = labels_of(line);
        let of = labels.len();
        for (n, batch) in labels.iter().enumerate() {
            let one = One { line, batch: &line.batches[*batch], n: n + 1, of };
            draw(&mut doc, head, s, &one)?;
        }
    }
    Ok(doc.finish())
}

fn draw(doc: &mut Doc, head: &Letterhead, s: &LabelSheet, one: &One<'_>) -> Result<()> {
    let mut page = doc.page(LABEL_W, LABEL_H);
    let width = LABEL_W - 2.0 * MARGIN;
    let mut y = LABEL_H - MARGIN - 2.8;
    let count = if one.of > 1 { format!("{} of {}", one.n, one.of) } else { String::new() };
    let count_w = print::mm(pdf::text_width(&count, 8.0, Weight::Bold)?);
    let clinic = pdf::fit(&head.clinic.name, 7.5, Weight::Bold, points(width - count_w - 2.0))?;
    page.text(doc, MARGIN, y, 7.5, Weight::Bold, MUTED, &clinic);
    if !count.is_empty() {
        page.text(doc, LABEL_W - MARGIN - count_w, y, 8.0, Weight::Bold, INK, &count);
    }
    y -= 1.5;
    page.line(MARGIN, y, LABEL_W - MARGIN, y, MUTED);
    y -= 4.0;
    let patient = pdf::fit(&format!("{}  ·  {}", s.patient_name, s.mrn), 9.0, Weight::Bold, points(width))?;
    page.text(doc, MARGIN, y, 9.0, Weight::Bold, INK, &patient);
    y -= 5.0;
    let medicine = pdf::fit(&one.line.medicine, 11.0, Weight::Bold, points(width))?;
    page.text(doc, MARGIN, y, 11.0, Weight::Bold, INK, &medicine);
    y -= 4.8;
    for row in wrap(&one.line.dose_words, 9.5, Weight::Regular, width, 2)? {
        page.text(doc, MARGIN, y, 9.5, Weight::Regular, INK, &row);
        y -= 4.0;
    }
    if !one.line.instructions.is_empty() {
        for row in wrap(&one.line.instructions, 7.5, Weight::Regular, width, 2)? {
            page.text(doc, MARGIN, y, 7.5, Weight::Regular, INK, &row);
            y -= 3.3;
        }
    }
    let (batch_no, expiry, _) = one.batch;
    let foot = format!(
        "Qty {} {}  ·  Batch {batch_no}  ·  Exp {}  ·  {}",
        one.line.quantity,
        one.line.unit,
        head.day(expiry),
        head.date(&s.dispensed_at)
    );
    let foot = pdf::fit(&foot, 7.0, Weight::Regular, points(width))?;
    page.text(doc, MARGIN, MARGIN + 0.5, 7.0, Weight::Regular, INK, &foot);
    doc.push(page);
    Ok(())
}

fn points(mm: f32) -> f32 {
    mm * 72.0 / 25.4
}

/// `text` in lines that fit `width` mm, at most `max_lines` (the last shortened to fit).
fn wrap(text: &str, size: f32, weight: Weight, width: f32, max_lines: usize) -> Result<Vec<String>> {
    let max = points(width);
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let candidate = if current.is_empty() { word.to_string() } else { format!("{current} {word}") };
        if current.is_empty() || pdf::text_width(&candidate, size, weight)? <= max {
            current = candidate;
        } else {
            lines.push(std::mem::replace(&mut current, word.to_string()));
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    if lines.len() > max_lines {
        let rest = lines.split_off(max_lines - 1).join(" ");
        lines.push(pdf::fit(&rest, size, weight, max)?);
    }
    Ok(lines)
}

/// Loads the lines dispensed to a patient at the go of `dispensing_id`.
pub async fn sheet(store: &Store, dispensing_id: &str) -> Result<LabelSheet> {
    let mut conn = store.pool().acquire().await?;
    let head: Option<(String, String, String, String, String)> = sqlx::query_as(
        "SELECT d.patient_id, d.dispensed_at, p.given_name || ' ' || p.family_name, p.mrn, r.visit_id
         FROM dispensings d JOIN patients p ON p.id = d.patient_id JOIN prescriptions r ON r.id = d.prescription_id
         WHERE d.id = ? AND d.deleted_at IS NULL",
    )
    .bind(dispensing_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((patient_id, dispensed_at, patient_name, mrn, visit_id)) = head else {
        return Err(Error::validation("dispensing_id", crate::ValidationReason::Invalid, "no such dispensing"));
    };
    type Row = (String, String, String, String, Option<i32>, String, String, i64);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT d.id, r.dose, r.dose_unit, r.frequency, r.duration_days, r.instructions, d.item_id, d.quantity
         FROM dispensings d JOIN prescriptions r ON r.id = d.prescription_id
         WHERE d.patient_id = ? AND d.dispensed_at = ? AND d.deleted_at IS NULL ORDER BY d.id",
    )
    .bind(&patient_id)
    .bind(&dispensed_at)
    .fetch_all(&mut *conn)
    .await?;
    let mut lines = Vec::with_capacity(rows.len());
    for (id, dose, dose_unit, frequency, duration_days, instructions, item_id, quantity) in rows {
        let item = super::setup::load_item(&mut conn, &item_id)
            .await?
            .ok_or_else(|| Error::corrupt("dispensings", &id, "item_id", "no such item"))?;
        let batches: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT b.batch_no, b.expiry, -m.quantity FROM stock_movements m JOIN stock_batches b ON b.id = m.batch_id
             WHERE m.dispensing_id = ? AND m.kind = 'dispensed' AND m.deleted_at IS NULL ORDER BY b.expiry, m.id",
        )
        .bind(&id)
        .fetch_all(&mut *conn)
        .await?;
        let dosage = Dosage {
            dose: &dose,
            dose_unit: &dose_unit,
            frequency: &frequency,
            duration_days,
            instructions: &instructions,
        };
        lines.push(LabelLine {
            medicine: super::dispensing::item_name(&item),
            dose_words: dose_in_words(&dosage),
            instructions: if instructions_apart(&instructions) {
                instructions.trim().to_string()
            } else {
                String::new()
            },
            quantity,
            unit: item.unit.clone(),
            pack_size: item.pack_size,
            batches,
        });
    }
    Ok(LabelSheet {
        patient_id,
        patient_name: patient_name.trim().to_string(),
        mrn,
        visit_id: Some(visit_id),
        dispensed_at,
        lines,
    })
}

/// The labels of what was dispensed at the go of `dispensing_id` (audited as
/// `stock.labels_print`, recorded as a printout).
pub async fn labels_pdf(store: &Store, auth: &Authorized, dispensing_id: &str) -> Result<Printed> {
    labels_pdf_as(store, auth, dispensing_id, None).await
}

/// [`labels_pdf`], recorded as a reprint of printout `reprint_of` when given.
pub(crate) async fn labels_pdf_as(
    store: &Store,
    auth: &Authorized,
    dispensing_id: &str,
    reprint_of: Option<&str>,
) -> Result<Printed> {
    auth.require(Permission::StockDispense)?;
    let s = sheet(store, dispensing_id).await?;
    let head = print::letterhead(store).await?;
    let pdf = render(&head, &s)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let labels: usize = s.lines.iter().map(|l| labels_of(l).len()).sum();
    w.audit(
        "stock.labels_print",
        "dispensing",
        Some(dispensing_id),
        json!({ "patient_id": s.patient_id, "lines": s.lines.len(), "labels": labels }),
    )
    .await?;
    let name = format!("labels-{}-{}.pdf", s.mrn, head.file_date(&s.dispensed_at));
    let subject = Subject { patient_id: s.patient_id.clone(), visit_id: s.visit_id.clone(), ..Subject::default() };
    let printout =
        printouts::record(&mut w, PrintKind::DispensingLabels, dispensing_id, subject, &name, &pdf, reprint_of).await?;
    w.commit().await?;
    Ok(Printed { file_name: printout.file_name.clone(), pdf, printout })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(pack: u32, batches: &[i64]) -> LabelLine {
        LabelLine {
            pack_size: pack,
            batches: batches.iter().map(|q| ("B".to_string(), "2027-01-01".to_string(), *q)).collect(),
            ..LabelLine::default()
        }
    }

    #[test]
    fn a_label_per_pack_of_each_batch_or_one_per_batch_when_too_many() {
        assert_eq!(labels_of(&line(10, &[25])).len(), 3);
        assert_eq!(labels_of(&line(10, &[10])).len(), 1);
        assert_eq!(labels_of(&line(10, &[12, 8])), [0, 0, 1]);
        assert_eq!(labels_of(&line(1, &[500, 3])), [0, 1]);
    }
}
