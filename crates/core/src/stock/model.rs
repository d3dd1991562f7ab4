//! The stock area's types: what the UI sends (inputs) and what it reads.

use crate::codes::Code;
use serde::{Deserialize, Serialize};

/// What a store is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    /// The main store that receives from suppliers.
    Main,
    /// The pharmacy counter that dispenses.
    Pharmacy,
    Lab,
    /// A ward's own stock.
    Ward,
}
impl Code for StoreKind {}

/// What an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A medicine of the medicine list (prescriptions name it).
    Medicine,
    /// A lab reagent or consumable.
    LabConsumable,
    Other,
}
impl Code for ItemKind {}

/// What a movement did (`stock_movements.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    Received,
    Dispensed,
    /// Back from a patient into the batch it was dispensed from.
    Returned,
    TransferOut,
    TransferIn,
    /// An adjustment, with its reason.
    Adjusted,
    /// Used by a lab test whose result was entered, out of the lab store.
    LabUse,
}
impl Code for MovementKind {}

/// Why stock was adjusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum AdjustReason {
    /// Broken, spoilt: taken out.
    Damaged,
    /// Past its expiry: taken out.
    Expired,
    /// A count found more or less than the ledger: either way.
    CountCorrection,
}
impl Code for AdjustReason {}

/// Why the allocator passed a batch over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum PassedReason {
    /// Its expiry is before today.
    Expired,
    /// On hold (a recall, a query): never dispensed.
    OnHold,
    /// It expires before the course of treatment ends.
    ExpiresBeforeCourseEnds,
    /// It has stock, but in other stores only.
    NotInThisStore,
    /// Nothing of it is left here.
    Empty,
}
impl Code for PassedReason {}

#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct StockStoreInput {
    pub name: String,
    /// main | pharmacy | lab | ward
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct StockStore {
    pub id: String,
    pub name: String,
    pub kind: StoreKind,
    pub active: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct SupplierInput {
    pub name: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub tax_no: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Supplier {
    pub id: String,
    pub name: String,
    pub phone: String,
    pub address: String,
    pub tax_no: String,
    pub active: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct StockItemInput {
    /// medicine | lab_consumable | other
    pub kind: String,
    /// The medicine of the medicine list this item is (a medicine item must name one).
    pub medicine_id: Option<String>,
    /// Empty for a medicine: its name is the medicine's.
    #[serde(default)]
    pub generic_name: String,
    #[serde(default)]
    pub strength: String,
    #[serde(default)]
    pub form: String,
    pub pack_size: u32,
    /// The base unit quantities count in: tablet, capsule, ml, vial, test.
    pub unit: String,
    #[serde(default)]
    pub reorder_level: u32,
    /// Basis points (1200 = 12%).
    #[serde(default)]
    pub tax_rate_bp: u32,
    #[serde(default)]
    pub hsn_code: String,
    /// Per base unit, minor units: the price a batch takes when received without its own.
    #[serde(default)]
    #[specta(type = f64)]
    pub sale_price_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct StockItem {
    pub id: String,
    pub kind: ItemKind,
    pub medicine_id: Option<String>,
    pub generic_name: String,
    pub strength: String,
    pub form: String,
    pub pack_size: u32,
    pub unit: String,
    pub reorder_level: u32,
    pub tax_rate_bp: u32,
    pub hsn_code: String,
    #[specta(type = f64)]
    pub sale_price_minor: i64,
    pub active: bool,
}

/// An item found by search, with what is on hand (usable: not expired, not held) across stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ItemHit {
    pub item: StockItem,
    #[specta(type = f64)]
    pub on_hand: i64,
    pub below_reorder: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct ReceiptLineInput {
    pub item_id: String,
    pub batch_no: String,
    /// YYYY-MM-DD: the last day the batch may be used; not before today.
    pub expiry: String,
    #[serde(default)]
    pub packs: u32,
    /// Loose base units beyond the packs.
    #[serde(default)]
    pub units: u32,
    /// The supplier's free quantity, in base units.
    #[serde(default)]
    pub free_units: u32,
    /// The cost of one pack, minor units.
    #[serde(default)]
    #[specta(type = f64)]
    pub pack_cost_minor: i64,
    /// Per base unit; the item's sale price when absent.
    #[specta(type = Option<f64>)]
    pub sale_price_minor: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct ReceiptInput {
    pub store_id: String,
    pub supplier_id: Option<String>,
    #[serde(default)]
    pub invoice_no: String,
    #[serde(default)]
    pub note: String,
    pub lines: Vec<ReceiptLineInput>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Receipt {
    pub id: String,
    pub store_id: String,
    pub supplier_id: Option<String>,
    pub invoice_no: String,
    pub received_at: String,
    /// The batch of each line, in the order given.
    pub batch_ids: Vec<String>,
    /// The base units each line brought in (packs × pack size + units + free).
    #[specta(type = Vec<f64>)]
    pub quantities: Vec<i64>,
}

/// A batch's balance in one store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct BatchBalance {
    pub item_id: String,
    pub batch_id: String,
    pub batch_no: String,
    pub expiry: String,
    pub store_id: String,
    #[specta(type = f64)]
    pub quantity: i64,
    pub on_hold: bool,
}

/// A batch as the allocator weighs it: its expiry, its hold, and its balance in each store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub batch_id: String,
    pub batch_no: String,
    pub expiry: chrono::NaiveDate,
    pub on_hold: bool,
    /// (store, balance) for every store the batch has a balance in.
    pub balances: Vec<(String, i64)>,
}

/// A batch the allocator takes, and how much of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Pick {
    pub batch_id: String,
    pub batch_no: String,
    pub expiry: String,
    #[specta(type = f64)]
    pub quantity: i64,
}

/// A batch the allocator passed over, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Passed {
    pub batch_id: String,
    pub batch_no: String,
    pub expiry: String,
    pub reason: PassedReason,
}

/// The allocator's answer: the batches to take, earliest usable expiry first; every batch it
/// passed over with its reason; and how much is missing when the usable stock falls short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Allocation {
    pub picks: Vec<Pick>,
    pub passed: Vec<Passed>,
    #[specta(type = f64)]
    pub short: i64,
}

/// One prescription line to dispense.
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct DispenseLineInput {
    pub prescription_id: String,
    /// Base units to give now.
    #[specta(type = f64)]
    pub quantity: i64,
    /// A substitute item (another brand or strength): needs `substitution_reason`. The item of
    /// the prescribed medicine when absent.
    pub item_id: Option<String>,
    #[serde(default)]
    pub substitution_reason: String,
    /// A batch chosen by hand instead of first-expiry-first-out (it must be usable).
    pub batch_id: Option<String>,
    /// Whether this completes the line (`false`: given in part, it stays waiting).
    pub complete: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct DispenseInput {
    pub store_id: String,
    pub lines: Vec<DispenseLineInput>,
}

/// One dispensed line: the batches it came from and the bill lines it charged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct DispensedLine {
    pub dispensing_id: String,
    pub prescription_id: String,
    pub item_id: String,
    #[specta(type = f64)]
    pub quantity: i64,
    /// The dispensing movement of each batch taken (returns name one of these).
    pub movement_ids: Vec<String>,
    pub picks: Vec<Pick>,
    pub bill_line_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Dispensed {
    pub bill_id: Option<String>,
    pub lines: Vec<DispensedLine>,
}

/// A prescription waiting at the pharmacy: not stopped, not dispensed in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct WaitingPrescription {
    pub prescription_id: String,
    pub patient_id: String,
    pub patient_name: String,
    pub mrn: String,
    pub medicine_id: String,
    pub medicine_name: String,
    pub strength: String,
    pub form: String,
    pub dose: String,
    pub dose_unit: String,
    pub frequency: String,
    pub duration_days: Option<i32>,
    pub starts_on: String,
    pub ends_on: Option<String>,
    pub prescribed_at: String,
    /// The stock item of the medicine, when there is one.
    pub item_id: Option<String>,
    /// Base units given so far (a line given in part).
    #[specta(type = f64)]
    pub dispensed: i64,
    /// The patient's recorded allergies, in words.
    pub allergies: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct ReturnInput {
    /// The dispensing movement the units came from.
    pub movement_id: String,
    #[specta(type = f64)]
    pub quantity: i64,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct TransferInput {
    pub item_id: String,
    pub batch_id: String,
    pub from_store_id: String,
    pub to_store_id: String,
    #[specta(type = f64)]
    pub quantity: i64,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct AdjustInput {
    pub item_id: String,
    pub batch_id: String,
    pub store_id: String,
    /// Signed, base units: damaged and expired take away (negative); a count correction
    /// either way.
    #[specta(type = f64)]
    pub quantity: i64,
    /// damaged | expired | count_correction
    pub reason: String,
    #[serde(default)]
    pub note: String,
}

/// A batch on a store's expiry list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ExpiryLine {
    pub item_id: String,
    pub generic_name: String,
    pub strength: String,
    pub form: String,
    pub batch_id: String,
    pub batch_no: String,
    pub expiry: String,
    #[specta(type = f64)]
    pub quantity: i64,
    /// Days from today to the expiry (negative: expired that many days ago).
    #[specta(type = f64)]
    pub days_left: i64,
    pub on_hold: bool,
}

/// A return taken back: its movement, and whether the patient's draft bill was reduced (a
/// finalized invoice is left to a credit note at the billing desk).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Returned {
    pub movement_id: String,
    pub bill_adjusted: bool,
}
