//! What every report returns: a typed table (columns with kinds, rows, totals), a summary of
//! figures that are not columns, and the one line saying what it counts.

use serde::Serialize;

/// How a column's numbers read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Text,
    Count,
    /// Integer minor units (paise) of the report's currency.
    Money,
    /// Basis points: 1234 = 12.34%.
    Percent,
    /// Whole minutes.
    Minutes,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Column {
    /// Stable: the UI's label key (`reports.col.<key>`) and the export's header id.
    pub key: String,
    /// The English header (exports).
    pub title: String,
    pub kind: Kind,
}

/// One cell: text, an integer of the column's kind, or nothing (no figure: a median of no waits).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(untagged)]
pub enum Cell {
    Text(String),
    Number(#[specta(type = f64)] i64),
    Empty,
}

/// A figure about the whole report that is not a column (credit notes issued, net revenue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Figure {
    pub key: String,
    pub title: String,
    pub kind: Kind,
    #[specta(type = f64)]
    pub value: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    /// The totals row (None when a total means nothing, e.g. medians).
    pub totals: Option<Vec<Cell>>,
    pub figures: Vec<Figure>,
}

pub(crate) fn col(key: &str, title: &str, kind: Kind) -> Column {
    Column { key: key.into(), title: title.into(), kind }
}

pub(crate) fn fig(key: &str, title: &str, kind: Kind, value: i64) -> Figure {
    Figure { key: key.into(), title: title.into(), kind, value }
}

pub(crate) fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

pub(crate) fn num(n: i64) -> Cell {
    Cell::Number(n)
}

/// `part / whole` in basis points, rounded half up; None when `whole` is 0.
pub fn percent_bp(part: i64, whole: i64) -> Option<i64> {
    if whole <= 0 {
        return None;
    }
    Some((part * 20_000 + whole) / (2 * whole))
}

/// The nearest-rank percentile `p` (1..=100) of sorted values: the smallest value with at
/// least p% of the values at or below it. None for no values.
pub fn nearest_rank(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = (n * p as usize).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

pub(crate) fn opt(n: Option<i64>) -> Cell {
    n.map_or(Cell::Empty, Cell::Number)
}
