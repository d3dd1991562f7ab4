//! The types of lab consumption ([`super::lab_use`]): what a lab test uses per test, and what a
//! result used.

use serde::{Deserialize, Serialize};

/// One stock item a lab test uses, and how much of it per test.
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct LabConsumableInput {
    pub item_id: String,
    /// Base units of the item per test (ml, strips): more than zero.
    #[specta(type = f64)]
    pub quantity: i64,
}

/// A stock item a lab test uses, as the catalogue shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct LabConsumable {
    pub item_id: String,
    pub generic_name: String,
    pub strength: String,
    pub unit: String,
    #[specta(type = f64)]
    pub quantity: i64,
}

/// What one result used of one item: from which store, and the part no batch gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct LabUse {
    pub id: String,
    pub order_id: String,
    pub result_id: String,
    pub test_code: String,
    pub test_name: String,
    pub item_id: String,
    pub generic_name: String,
    pub unit: String,
    /// The lab store it came from (none: the clinic has no active lab store).
    pub store_id: Option<String>,
    pub store_name: Option<String>,
    #[specta(type = f64)]
    pub quantity: i64,
    /// Base units that no batch gave (no usable stock in the lab store and negative stock not
    /// allowed, or no lab store): to be settled by a receipt or a count.
    #[specta(type = f64)]
    pub short: i64,
    pub at: String,
}
