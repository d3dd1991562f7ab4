//! The inpatient tables as storage and sync know them (`store::tables`): all synced. Beds'
//! events are insert-only, so a merge never has two values of one field to choose between;
//! the board settles what two devices' events disagree on (`derive`).

use crate::store::tables::{Table, NO_RULES};

inventory::submit! { Table { name: "wards", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "rooms", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "beds", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "admissions", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "bed_events", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "inpatient_orders", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "mar_entries", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "inpatient_notes", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "discharge_summaries", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "mar_reviews", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "intake_output", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
