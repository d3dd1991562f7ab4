//! A report as a PDF, rendered natively like the invoices (`crate::pdf`, the embedded Unicode
//! font): A4 landscape; the title, the line saying what it counts, the period and currency
//! and the report's figures on the first page; then the table — its header row repeated on
//! every page, numbers right-aligned as the CSV writes them (percents with "%"), the totals
//! row in bold — and the title, period and "Page n of m" at the foot of each page.

use super::export::cell_text;
use super::table::{Cell, Kind, Table};
use super::Report;
use crate::error::Result;
use crate::pdf::{self, Doc, Page, Weight, ACCENT, INK, MUTED};

const W: f32 = 297.0;
const H: f32 = 210.0;
const LEFT: f32 = 12.0;
const RIGHT: f32 = W - 12.0;
const ROW: f32 = 5.6;
const SIZE: f32 = 8.5;
/// The lowest baseline of a table row; the footer sits below it.
const BOTTOM: f32 = 16.0;
/// Space inside a column on either side, mm.
const PAD: f32 = 2.0;

fn mm(pt: f32) -> f32 {
    pt * 25.4 / 72.0
}

fn width(text: &str, size: f32, weight: Weight) -> Result<f32> {
    Ok(mm(pdf::text_width(text, size, weight)?))
}

/// `text` cut into lines no wider than `max` mm, at spaces.
fn wrap(text: &str, size: f32, weight: Weight, max: f32) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
        if !line.is_empty() && width(&candidate, size, weight)? > max {
            lines.push(std::mem::replace(&mut line, word.to_string()));
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    Ok(lines)
}

/// A cell as printed: the CSV's text, with a percent sign after a percent.
pub fn shown(kind: Kind, cell: &Cell) -> String {
    match (kind, cell) {
        (Kind::Percent, Cell::Number(_)) => format!("{}%", cell_text(kind, cell)),
        _ => cell_text(kind, cell),
    }
}

/// Each column's width in mm: what its widest cell needs, shrunk in proportion when the
/// whole does not fit the page (cells are then cut with "…").
fn column_widths(table: &Table) -> Result<Vec<f32>> {
    let mut widths = Vec::with_capacity(table.columns.len());
    for (i, c) in table.columns.iter().enumerate() {
        let mut w = width(&c.title, SIZE, Weight::Bold)?;
        for row in table.rows.iter().chain(table.totals.iter()) {
            if let Some(cell) = row.get(i) {
                w = w.max(width(&shown(c.kind, cell), SIZE, Weight::Bold)?);
            }
        }
        // (half a millimetre more: `fit` must not cut a cell measured at exactly its width)
        widths.push(w.min(90.0) + 2.0 * PAD + 0.5);
    }
    let total: f32 = widths.iter().sum();
    let room = RIGHT - LEFT;
    if total > room {
        widths.iter_mut().for_each(|w| *w *= room / total);
    }
    Ok(widths)
}

/// One row at baseline `y`: text left, numbers right, each cut to its column.
fn row(
    page: &mut Page,
    doc: &Doc,
    table: &Table,
    widths: &[f32],
    cells: &[String],
    y: f32,
    weight: Weight,
) -> Result<()> {
    let mut x = LEFT;
    for ((c, w), text) in table.columns.iter().zip(widths).zip(cells) {
        // `fit` measures in points.
        let text = pdf::fit(text, SIZE, weight, (w - 2.0 * PAD) * 72.0 / 25.4)?;
        let at = if c.kind == Kind::Text { x + PAD } else { x + w - PAD - width(&text, SIZE, weight)? };
        page.text(doc, at, y, SIZE, weight, INK, &text);
        x += w;
    }
    Ok(())
}

/// The first page's heading; returns the baseline below it.
fn heading(page: &mut Page, doc: &Doc, report: &Report) -> Result<f32> {
    page.fill_rect(0.0, H - 5.0, W, 5.0, ACCENT);
    page.text(doc, LEFT, H - 16.0, 15.0, Weight::Bold, INK, &report.title);
    let mut y = H - 23.0;
    for line in wrap(&report.counts, 9.0, Weight::Regular, RIGHT - LEFT)? {
        page.text(doc, LEFT, y, 9.0, Weight::Regular, MUTED, &line);
        y -= 4.6;
    }
    let period = format!("{} to {} ({})", report.from, report.to, report.currency);
    page.text(doc, LEFT, y - 1.0, 9.5, Weight::Bold, INK, &period);
    y -= 6.5;
    let figures: Vec<String> = report
        .table
        .figures
        .iter()
        .map(|f| format!("{}: {}", f.title, shown(f.kind, &Cell::Number(f.value))))
        .collect();
    for line in wrap(&figures.join("   ·   "), 9.0, Weight::Regular, RIGHT - LEFT)? {
        page.text(doc, LEFT, y, 9.0, Weight::Regular, INK, &line);
        y -= 4.6;
    }
    Ok(y - 4.0)
}

/// The table's header row at baseline `y`, shaded, with a rule under it.
fn header_row(page: &mut Page, doc: &Doc, table: &Table, widths: &[f32], y: f32) -> Result<()> {
    page.fill_rect(LEFT, y - 1.8, RIGHT - LEFT, ROW, (0.93, 0.95, 0.97));
    let titles: Vec<String> = table.columns.iter().map(|c| c.title.clone()).collect();
    row(page, doc, table, widths, &titles, y, Weight::Bold)?;
    page.line(LEFT, y - 1.8, RIGHT, y - 1.8, MUTED);
    Ok(())
}

/// The report as a PDF document.
pub fn pdf(report: &Report) -> Result<Vec<u8>> {
    let table = &report.table;
    let widths = column_widths(table)?;
    let mut doc = Doc::new(&report.title)?;
    let mut pages = Vec::new();
    let mut page = doc.page(W, H);
    let mut y = heading(&mut page, &doc, report)?;
    header_row(&mut page, &doc, table, &widths, y)?;
    y -= ROW;
    let body = table.rows.iter().map(|r| (r, Weight::Regular)).chain(table.totals.iter().map(|r| (r, Weight::Bold)));
    for (cells, weight) in body {
        if y < BOTTOM {
            pages.push(std::mem::replace(&mut page, doc.page(W, H)));
            y = H - 14.0;
            header_row(&mut page, &doc, table, &widths, y)?;
            y -= ROW;
        }
        if weight == Weight::Bold {
            page.line(LEFT, y + ROW - 1.8, RIGHT, y + ROW - 1.8, MUTED);
        }
        let texts: Vec<String> = table.columns.iter().zip(cells).map(|(c, cell)| shown(c.kind, cell)).collect();
        row(&mut page, &doc, table, &widths, &texts, y, weight)?;
        y -= ROW;
    }
    pages.push(page);
    let n = pages.len();
    for (i, mut p) in pages.into_iter().enumerate() {
        let foot = format!("{} · {} to {} · Page {} of {n}", report.title, report.from, report.to, i + 1);
        p.text(&doc, LEFT, 8.0, 7.5, Weight::Regular, MUTED, &foot);
        doc.push(p);
    }
    Ok(doc.finish())
}
