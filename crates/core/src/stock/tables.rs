//! The stock tables as storage and sync know them (`store::tables`): all synced but
//! `stock_balances`, the device's own cache of the ledger's sums (no sync columns; kept by
//! triggers, on pulled movements too). Movements are insert-only (the policy refuses any other
//! change of one), so a merge never has two values of a movement to choose between.

use crate::store::tables::{Table, NO_RULES};

inventory::submit! { Table { name: "stock_stores", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "suppliers", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "stock_items", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "stock_batches", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "stock_receipts", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "stock_receipt_lines", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "dispensings", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "stock_movements", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
