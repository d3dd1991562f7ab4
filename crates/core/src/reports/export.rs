//! Exports of a report. CSV: one header row (the columns' English titles), the rows, then the
//! totals row; money as decimal units with two places (every currency offered has two),
//! percents as "12.34", counts and minutes as integers, an empty cell for no figure. Every
//! export is audited (`report.export`: which report, range, filters, format, rows). XLSX:
//! see [`xlsx`]; PDF: see [`super::pdf`].

use super::table::{Cell, Kind, Table};
use super::{Report, ReportRequest};
use crate::codes::Code;
use crate::error::{Error, Result};
use crate::session::Authorized;
use crate::store::Store;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Csv,
    /// An Excel workbook: the title, what it counts and the period above the table; money as
    /// numbers in currency units (two decimals shown), percents as percents.
    Xlsx,
    /// A PDF (A4 landscape, see [`super::pdf`]): the title, what it counts, the period and the
    /// figures, then the table over as many pages as it needs.
    Pdf,
}

impl Code for Format {}

/// An export: the file's suggested name and its bytes.
#[derive(Debug, Clone)]
pub struct Exported {
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub report: Report,
}

/// `minor` hundredths as "-12.34".
fn hundredths(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let a = minor.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// A cell as the CSV writes it for a column of `kind`.
pub fn cell_text(kind: Kind, cell: &Cell) -> String {
    match (kind, cell) {
        (_, Cell::Text(s)) => s.clone(),
        (_, Cell::Empty) => String::new(),
        (Kind::Money | Kind::Percent, Cell::Number(n)) => hundredths(*n),
        (_, Cell::Number(n)) => n.to_string(),
    }
}

/// The table as CSV (UTF-8).
pub fn csv(table: &Table) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| Error::internal(format!("csv: {e}"));
    w.write_record(table.columns.iter().map(|c| c.title.as_str())).map_err(io)?;
    for row in table.rows.iter().chain(table.totals.iter()) {
        w.write_record(table.columns.iter().zip(row).map(|(c, cell)| cell_text(c.kind, cell))).map_err(io)?;
    }
    w.into_inner().map_err(|e| Error::internal(format!("csv: {e}")))
}

/// The row of the table's header in the workbook (0-based): title, counts line, period, a blank row.
pub const XLSX_HEADER_ROW: u32 = 4;

/// The report as an .xlsx workbook of one sheet.
pub fn xlsx(report: &Report) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{Format as Style, Workbook};
    let e = |e: rust_xlsxwriter::XlsxError| Error::internal(format!("xlsx: {e}"));
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let bold = Style::new().set_bold();
    let money = Style::new().set_num_format("#,##0.00");
    let percent = Style::new().set_num_format("0.00%");
    let total_money = Style::new().set_bold().set_num_format("#,##0.00");
    let total_percent = Style::new().set_bold().set_num_format("0.00%");
    sheet.write_string_with_format(0, 0, &report.title, &bold).map_err(e)?;
    sheet.write_string(1, 0, &report.counts).map_err(e)?;
    sheet.write_string(2, 0, format!("{} to {} ({})", report.from, report.to, report.currency)).map_err(e)?;
    let table = &report.table;
    for (c, column) in (0u16..).zip(&table.columns) {
        sheet.write_string_with_format(XLSX_HEADER_ROW, c, &column.title, &bold).map_err(e)?;
    }
    let body = table.rows.iter().map(|r| (r, false)).chain(table.totals.iter().map(|r| (r, true)));
    for ((row, is_total), r) in body.zip(XLSX_HEADER_ROW + 1..) {
        for ((column, cell), c) in table.columns.iter().zip(row).zip(0u16..) {
            match (cell, column.kind) {
                (Cell::Empty, _) => {}
                (Cell::Text(s), _) if is_total => {
                    sheet.write_string_with_format(r, c, s, &bold).map(drop).map_err(e)?
                }
                (Cell::Text(s), _) => sheet.write_string(r, c, s).map(drop).map_err(e)?,
                (Cell::Number(n), Kind::Money) => {
                    let style = if is_total { &total_money } else { &money };
                    sheet.write_number_with_format(r, c, *n as f64 / 100.0, style).map(drop).map_err(e)?
                }
                (Cell::Number(n), Kind::Percent) => {
                    let style = if is_total { &total_percent } else { &percent };
                    sheet.write_number_with_format(r, c, *n as f64 / 10_000.0, style).map(drop).map_err(e)?
                }
                (Cell::Number(n), _) if is_total => {
                    sheet.write_number_with_format(r, c, *n as f64, &bold).map(drop).map_err(e)?
                }
                (Cell::Number(n), _) => sheet.write_number(r, c, *n as f64).map(drop).map_err(e)?,
            }
        }
    }
    sheet.set_column_width(0, 32).map_err(e)?;
    book.save_to_buffer().map_err(e)
}

/// Runs the report, renders it in `format`, and audits the export.
pub async fn export(store: &Store, auth: &Authorized, req: &ReportRequest, format: Format) -> Result<Exported> {
    let report = super::run(store, auth, req).await?;
    let bytes = match format {
        Format::Csv => csv(&report.table)?,
        Format::Xlsx => xlsx(&report)?,
        Format::Pdf => super::pdf::pdf(&report)?,
    };
    let mut w = store.begin_write(auth.actor()).await?;
    w.audit(
        "report.export",
        "report",
        None,
        json!({
            "report": req.report.code(), "from": report.from, "to": report.to,
            "doctor_id": report.doctor_scope.clone().or(req.filters.doctor_id.clone()),
            "department_id": req.filters.department_id, "format": format.code(), "rows": report.table.rows.len(),
        }),
    )
    .await?;
    w.commit().await?;
    let file_name = format!("{}_{}_{}.{}", req.report.code(), report.from, report.to, format.code());
    Ok(Exported { file_name, bytes, report })
}
