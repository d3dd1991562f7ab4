//! The types of purchase orders ([`super::purchase`]).

use crate::codes::Code;
use serde::{Deserialize, Serialize};

/// Where an order stands. Stored: draft, approved, sent, cancelled (what people did);
/// partly received and received are read from the receipts against a sent order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum PurchaseStatus {
    Draft,
    /// An administrator approved the draft (needed before sending when the clinic asks).
    Approved,
    /// Sent to the supplier; nothing received against it yet.
    Sent,
    PartlyReceived,
    /// Every line received in full.
    Received,
    Cancelled,
}
impl Code for PurchaseStatus {}

#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct PurchaseLineInput {
    pub item_id: String,
    /// Whole packs ordered: more than zero.
    pub packs: u32,
    /// The expected cost of a pack, minor units.
    #[serde(default)]
    #[specta(type = f64)]
    pub pack_cost_minor: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct PurchaseOrderInput {
    pub supplier_id: String,
    /// The store the goods are to arrive in.
    pub store_id: String,
    #[serde(default)]
    pub note: String,
    pub lines: Vec<PurchaseLineInput>,
}

/// A draft's note and lines as they are to be ([`super::purchase_edit::edit_draft`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct PurchaseDraftEdit {
    #[serde(default)]
    pub note: String,
    pub lines: Vec<PurchaseLineInput>,
}

/// One line of an order, with what has arrived against it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct PurchaseLine {
    pub id: String,
    pub item_id: String,
    pub generic_name: String,
    pub strength: String,
    pub form: String,
    pub unit: String,
    pub pack_size: u32,
    pub packs: u32,
    #[specta(type = f64)]
    pub pack_cost_minor: i64,
    /// Packs × pack size, in base units.
    #[specta(type = f64)]
    pub ordered_units: i64,
    /// Base units received against this line (free units not counted).
    #[specta(type = f64)]
    pub received_units: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct PurchaseOrder {
    pub id: String,
    pub number: String,
    pub supplier_id: String,
    pub supplier_name: String,
    pub store_id: String,
    pub status: PurchaseStatus,
    pub note: String,
    pub created_by: String,
    pub created_at: String,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
    pub sent_at: Option<String>,
    pub cancelled_at: Option<String>,
    pub cancel_reason: String,
    pub lines: Vec<PurchaseLine>,
    /// Packs × expected pack cost over the lines, minor units.
    #[specta(type = f64)]
    pub total_minor: i64,
}

/// The drafts made from the suggested purchase order: one per supplier, and how many items
/// below their reorder level were left out for never having been received (no supplier).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct SuggestedDrafts {
    pub orders: Vec<PurchaseOrder>,
    pub without_supplier: u32,
}
