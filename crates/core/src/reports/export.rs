//! Exports of a report. CSV: one header row (the columns' English titles), the rows, then the
//! totals row; money as decimal units with two places (every currency offered has two),
//! percents as "12.34", counts and minutes as integers, an empty cell for no figure. Every
//! export is audited (`report.export`: which report, range, filters, format, rows).

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

/// Runs the report, renders it in `format`, and audits the export.
pub async fn export(store: &Store, auth: &Authorized, req: &ReportRequest, format: Format) -> Result<Exported> {
    let report = super::run(store, auth, req).await?;
    let bytes = match format {
        Format::Csv => csv(&report.table)?,
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
