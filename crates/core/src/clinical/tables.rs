//! The clinical record's tables as storage and sync know them (`store::tables`): all synced,
//! no rules of their own around a write. `icd10_codes` is reference data shipped with the app
//! and not registered; attachments sync as metadata, their files go through the blob store.

use crate::store::tables::{Table, NO_RULES};

inventory::submit! { Table { name: "visits", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "vitals", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "diagnoses", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "allergies", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "medicines", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! {
    Table { name: "prescriptions", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES }
}
inventory::submit! { Table { name: "lab_tests", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "lab_orders", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "lab_results", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "attachments", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
// A restricted chart (`restriction`): set and lifted like any synced row.
inventory::submit! {
    Table { name: "chart_restrictions", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES }
}
// An attachment's file is the blob of its `sha256`: sync sends the files of this device's
// attachments to the server (`sync::blobs`).
inventory::submit! { crate::store::blobs::BlobColumn { table: "attachments", column: "sha256" } }
