//! The stock take tables as storage and sync know them: both synced (a line is updated when
//! counted and when posted; per-field last-writer-wins keeps the latest count).

use crate::store::tables::{Table, NO_RULES};

inventory::submit! { Table { name: "stock_takes", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "stock_take_lines", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
