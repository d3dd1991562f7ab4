//! The stock take's types: what the UI sends and what it reads.

use crate::codes::Code;
use serde::{Deserialize, Serialize};

/// Where a stock take stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum StockTakeStatus {
    /// Being counted: counts may be entered, lines added.
    Open,
    /// Its corrections are in the ledger; nothing changes any more.
    Posted,
    /// Given up: nothing was written to the ledger.
    Cancelled,
}
impl Code for StockTakeStatus {}

#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct StockTakeOpenInput {
    pub store_id: String,
    /// Only items of this kind (medicine | lab_consumable | other); all when empty.
    #[serde(default)]
    pub item_kind: String,
    /// Only items whose name has a word starting so; all when empty.
    #[serde(default)]
    pub search: String,
    /// A blind count: the sheet and the count inputs leave out what the ledger expects.
    #[serde(default)]
    pub blind: bool,
    #[serde(default)]
    pub note: String,
}

/// One line's count: packs and/or loose units (base units = packs × pack size + units).
/// Both absent: the line is blank again (not counted).
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct LineCountInput {
    pub line_id: String,
    #[specta(type = Option<f64>)]
    pub packs: Option<i64>,
    #[specta(type = Option<f64>)]
    pub units: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct StockTakeCountInput {
    pub take_id: String,
    pub counts: Vec<LineCountInput>,
}

/// A batch found on the shelf that is not on the sheet.
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct StockTakeAddLineInput {
    pub take_id: String,
    pub item_id: String,
    pub batch_id: String,
}

/// A stock take as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct StockTakeSummary {
    pub id: String,
    pub store_id: String,
    pub store_name: String,
    pub status: StockTakeStatus,
    pub blind: bool,
    pub item_kind: String,
    pub search: String,
    pub note: String,
    /// RFC 3339 UTC: the moment of the snapshot.
    pub opened_at: String,
    pub opened_by: String,
    pub closed_at: Option<String>,
    pub lines: u32,
    pub counted: u32,
}

/// One line of the sheet. Quantities are base units; values minor units at the batch's cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct StockTakeLine {
    pub id: String,
    pub position: u32,
    pub item_id: String,
    /// The item's name, strength and form.
    pub item_name: String,
    pub unit: String,
    pub pack_size: u32,
    pub batch_id: String,
    pub batch_no: String,
    pub expiry: String,
    /// The balance at the opening (None on a blind take's line not counted yet).
    #[specta(type = Option<f64>)]
    pub expected: Option<i64>,
    /// Found on the shelf, not on the sheet.
    pub added: bool,
    /// None: not counted yet.
    #[specta(type = Option<f64>)]
    pub counted: Option<i64>,
    pub counted_at: Option<String>,
    /// Movements of the batch in the store between the opening and the count.
    #[specta(type = Option<f64>)]
    pub moved: Option<i64>,
    /// counted − (expected + moved); None until counted.
    #[specta(type = Option<f64>)]
    pub variance: Option<i64>,
    #[specta(type = f64)]
    pub cost_minor: i64,
    /// variance × cost per unit.
    #[specta(type = Option<f64>)]
    pub variance_value_minor: Option<i64>,
    /// The count correction posted for this line.
    pub adjustment_id: Option<String>,
}

/// The variance of the whole take: counted lines only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, specta::Type)]
pub struct StockTakeTotals {
    pub lines: u32,
    pub counted: u32,
    /// Counted lines whose count differs from the ledger.
    pub with_variance: u32,
    #[specta(type = f64)]
    pub units_over: i64,
    /// Negative or zero.
    #[specta(type = f64)]
    pub units_short: i64,
    #[specta(type = f64)]
    pub value_over_minor: i64,
    /// Negative or zero.
    #[specta(type = f64)]
    pub value_short_minor: i64,
    #[specta(type = f64)]
    pub value_net_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct StockTake {
    pub take: StockTakeSummary,
    pub lines: Vec<StockTakeLine>,
    pub totals: StockTakeTotals,
}

/// What posting wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct StockTakePosted {
    pub take_id: String,
    /// The count-correction movements, one per counted line with a variance.
    pub movement_ids: Vec<String>,
    #[specta(type = f64)]
    pub units_net: i64,
    #[specta(type = f64)]
    pub value_net_minor: i64,
    /// Lines left alone because nobody counted them.
    pub uncounted: u32,
}
