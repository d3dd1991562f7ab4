//! Billing's tables as storage and sync know them (`store::tables`): all synced, no rules of
//! their own around a write.

use crate::store::tables::{Table, NO_RULES};

inventory::submit! { Table { name: "services", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! {
    Table { name: "service_prices", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES }
}
inventory::submit! { Table { name: "bills", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "bill_lines", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "payments", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "credit_notes", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! {
    Table { name: "bill_insurance", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES }
}
