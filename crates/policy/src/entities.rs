//! The synced entities, written once: for each, how its ids look, which permissions may
//! write it (the same as the local write paths in hms-core need: any one of them), and the
//! rules its values must pass. hms-core's `sync::rows::SYNCED` agrees with this list (a
//! test in hms-core checks it).

use crate::rbac::Permission::{self, *};
use Rule::*;

/// How a change's `entity_id` looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// A UUID (v7 for new rows): 36 characters of hex and dashes.
    Uuid,
    /// `service_prices`: `<service uuid>@<YYYY-MM-DD>`.
    ServiceDate,
    /// `settings`: a key, lowercase letters, digits and `_`, at most 64.
    SettingKey,
}

/// A field's rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Text of at most this many characters, no control characters.
    Text(usize),
    /// [`Rule::Text`] that is not blank: a reason the local write path requires.
    RequiredText(usize),
    /// An account name: 3 to 32 of a–z, 0–9, `.`, `_`, `-`.
    Username,
    /// An argon2id PHC string.
    PasswordHash,
    /// A JSON array (or its text) of known role codes.
    Roles,
    /// `true`/`false` or `1`/`0`.
    Flag,
    /// One of these texts.
    OneOf(&'static [&'static str]),
    /// An integer in this range.
    Int(i64, i64),
    /// A SHA-256 in lowercase hex: 64 characters. It names a file, so nothing else passes.
    Sha256,
    /// A file's name without any folder: no `/`, `\`, NUL, and not `.` or `..`.
    FileName,
    /// A UTC time as devices write it: `YYYY-MM-DDTHH:MM:SS.mmmZ` (the bed board orders
    /// events by this text, so nothing else passes).
    UtcMillis,
    /// A calendar day `YYYY-MM-DD` (a batch's expiry).
    Day,
    /// A whole number other than zero, at most this far from it (a movement's signed quantity).
    NonZero(i64),
    /// [`Rule::Int`], or null (a stock take line's count, blank until counted).
    IntOrNull(i64, i64),
    /// Text of at most this many characters that may hold line breaks and tabs, no other
    /// control characters (a summary's course, advice).
    LongText(usize),
    /// A JSON array (or its text) of at most this many objects (a summary's diagnoses,
    /// investigations, medicines: the core reads each strictly).
    JsonObjects(usize),
    /// Exactly this many lowercase hex digits, or null (an account's signing key and its salt;
    /// accounts from before keys have none).
    HexOrNull(usize),
}

/// One synced table.
#[derive(Debug, Clone, Copy)]
pub struct Entity {
    pub name: &'static str,
    pub id: IdKind,
    /// A change needs any one of these (the local write paths of the table need them).
    pub write: &'static [Permission],
    /// Field rules beyond the ones every table gets (see [`crate::values`]).
    pub fields: &'static [(&'static str, Rule)],
}

/// The entity of the audit entries devices exchange (kept insert-only in `audit_remote`,
/// never applied to a table): any author may append their own audit, and nothing else.
pub const AUDIT: &str = "audit_log";

const CLINICAL: &[Permission] = &[ClinicalEdit];

/// Every synced table, in the order hms-core lists them.
pub const ENTITIES: &[Entity] = &[
    // Clinic-wide settings; the invoice keys are the tariff's (see settings_permission).
    Entity { name: "settings", id: IdKind::SettingKey, write: &[SettingsManage, TariffManage], fields: &[] },
    Entity {
        name: "users",
        id: IdKind::Uuid,
        write: &[UsersManage],
        fields: &[
            ("username", Username),
            ("full_name", Text(100)),
            ("password_hash", PasswordHash),
            ("roles", Roles),
            ("active", Flag),
            // The account's Ed25519 public key (signs its changes) and the salt it is derived
            // from the password with.
            ("user_key", HexOrNull(64)),
            ("key_salt", HexOrNull(32)),
            // A password an administrator set: the owner must change it.
            ("must_change_password", Flag),
        ],
    },
    // Registration and edits, deactivation, merging, a CSV import: each writes patients.
    Entity {
        name: "patients",
        id: IdKind::Uuid,
        write: &[PatientsEdit, PatientsStatus, PatientsMerge, PatientsImport],
        // City and district: hms-core's patients::validate (CITY_MAX, DISTRICT_MAX).
        fields: &[("sex", OneOf(&["female", "male", "other", "unknown"])), ("city", Text(80)), ("district", Text(80))],
    },
    Entity { name: "patient_merges", id: IdKind::Uuid, write: &[PatientsMerge], fields: &[] },
    Entity { name: "departments", id: IdKind::Uuid, write: &[StaffManage], fields: &[] },
    Entity { name: "specialties", id: IdKind::Uuid, write: &[StaffManage], fields: &[] },
    Entity { name: "staff", id: IdKind::Uuid, write: &[StaffManage], fields: &[] },
    Entity { name: "doctor_sessions", id: IdKind::Uuid, write: &[ScheduleManage], fields: &[] },
    Entity { name: "schedule_exceptions", id: IdKind::Uuid, write: &[ScheduleManage], fields: &[] },
    // Booking; the queue's call-in and finish (clinicians who see appointments); a cancelled
    // session moving its bookings.
    Entity {
        name: "appointments",
        id: IdKind::Uuid,
        write: &[AppointmentsBook, AppointmentsView, ScheduleManage],
        fields: &[],
    },
    Entity { name: "services", id: IdKind::Uuid, write: &[TariffManage], fields: &[] },
    Entity { name: "service_prices", id: IdKind::ServiceDate, write: &[TariffManage], fields: &[] },
    // The billing desk; refunds and cancellations; the consultation charged at check-in; a lab
    // test charged when a clinician orders it (and taken off when the order is cancelled).
    Entity {
        name: "bills",
        id: IdKind::Uuid,
        write: &[BillingEdit, BillingRefund, AppointmentsBook, ClinicalEdit],
        fields: &[],
    },
    Entity {
        name: "bill_lines",
        id: IdKind::Uuid,
        write: &[BillingEdit, BillingRefund, AppointmentsBook, ClinicalEdit],
        fields: &[],
    },
    Entity { name: "payments", id: IdKind::Uuid, write: &[BillingEdit, BillingRefund], fields: &[] },
    Entity { name: "credit_notes", id: IdKind::Uuid, write: &[BillingRefund], fields: &[] },
    Entity { name: "bill_insurance", id: IdKind::Uuid, write: &[BillingEdit], fields: &[] },
    Entity { name: "visits", id: IdKind::Uuid, write: &[ClinicalEdit, VitalsEdit], fields: &[] },
    Entity { name: "vitals", id: IdKind::Uuid, write: &[VitalsEdit], fields: &[] },
    Entity { name: "diagnoses", id: IdKind::Uuid, write: CLINICAL, fields: &[] },
    Entity { name: "allergies", id: IdKind::Uuid, write: &[ClinicalEdit, VitalsEdit], fields: &[] },
    Entity { name: "medicines", id: IdKind::Uuid, write: &[ClinicalCatalogManage, ClinicalEdit], fields: &[] },
    Entity { name: "prescriptions", id: IdKind::Uuid, write: CLINICAL, fields: &[] },
    Entity { name: "lab_tests", id: IdKind::Uuid, write: &[ClinicalCatalogManage], fields: &[] },
    Entity { name: "lab_orders", id: IdKind::Uuid, write: &[ClinicalEdit, LabResults], fields: &[] },
    Entity { name: "lab_results", id: IdKind::Uuid, write: &[LabResults], fields: &[] },
    Entity {
        name: "attachments",
        id: IdKind::Uuid,
        write: &[ClinicalEdit, VitalsEdit],
        fields: &[("sha256", Sha256), ("file_name", FileName), ("size_bytes", Int(1, 20 * 1024 * 1024))],
    },
    // A restricted chart: set and lifted by a doctor or the administrator (who is on the care
    // team is hms-core's to decide on reading; the write is what the policy checks).
    Entity {
        name: "chart_restrictions",
        id: IdKind::Uuid,
        write: &[ChartRestrict],
        fields: &[("reason", RequiredText(500)), ("lift_reason", Text(500))],
    },
    // Inpatients: wards, rooms and beds are the administrator's set-up.
    Entity {
        name: "wards",
        id: IdKind::Uuid,
        write: &[WardsManage],
        fields: &[
            ("name", Text(60)),
            ("kind", OneOf(&["general", "icu", "maternity", "paediatric", "private", "other"])),
            ("active", Flag),
        ],
    },
    Entity { name: "rooms", id: IdKind::Uuid, write: &[WardsManage], fields: &[("name", Text(60))] },
    Entity {
        name: "beds",
        id: IdKind::Uuid,
        write: &[WardsManage],
        fields: &[("label", Text(60)), ("tags", Text(200))],
    },
    // An admission is written at admission and updated at discharge.
    Entity {
        name: "admissions",
        id: IdKind::Uuid,
        write: &[InpatientsAdmit, InpatientsDischarge],
        fields: &[
            ("reason", Text(500)),
            ("diagnosis_code", Text(16)),
            ("admitted_at", UtcMillis),
            ("discharged_at", UtcMillis),
            ("diagnosis_text", Text(500)),
            ("expected_days", Int(1, 365)),
            ("discharge_type", OneOf(&["home", "referred", "against_advice", "deceased"])),
            ("discharge_note", Text(500)),
        ],
    },
    // A bed's story: each kind of event is some inpatient write's (admit, transfer or swap,
    // discharge, housekeeping, out of service).
    Entity {
        name: "bed_events",
        id: IdKind::Uuid,
        write: &[InpatientsAdmit, InpatientsTransfer, InpatientsDischarge, BedsHousekeeping, WardsManage],
        fields: &[
            (
                "kind",
                OneOf(&[
                    "admitted",
                    "transferred_out",
                    "transferred_in",
                    "swapped",
                    "discharged",
                    "cleaning",
                    "cleaned",
                    "out_of_service",
                    "back_in_service",
                    "reserved",
                    "reservation_cancelled",
                ]),
            ),
            ("reason", Text(500)),
            ("at", UtcMillis),
            ("until", UtcMillis),
        ],
    },
    // Pharmacy and lab stock (issue 16). Stores, suppliers and items are set up by whoever
    // holds stock_manage; a batch is made at receipt and held or released by stock_manage.
    Entity {
        name: "stock_stores",
        id: IdKind::Uuid,
        write: &[StockManage],
        fields: &[("name", RequiredText(120)), ("kind", OneOf(&["main", "pharmacy", "lab", "ward"])), ("active", Flag)],
    },
    Entity {
        name: "suppliers",
        id: IdKind::Uuid,
        write: &[StockManage],
        fields: &[
            ("name", RequiredText(120)),
            ("phone", Text(40)),
            ("address", Text(500)),
            ("tax_no", Text(40)),
            ("active", Flag),
        ],
    },
    Entity {
        name: "stock_items",
        id: IdKind::Uuid,
        write: &[StockManage],
        fields: &[
            ("kind", OneOf(&["medicine", "lab_consumable", "other"])),
            ("generic_name", RequiredText(120)),
            ("strength", Text(40)),
            ("form", Text(40)),
            ("pack_size", Int(1, 100_000)),
            ("unit", RequiredText(40)),
            ("reorder_level", Int(0, 10_000_000)),
            ("tax_rate_bp", Int(0, 10_000)),
            ("hsn_code", Text(16)),
            ("sale_price_minor", Int(0, 100_000_000)),
            ("active", Flag),
        ],
    },
    Entity {
        name: "stock_batches",
        id: IdKind::Uuid,
        write: &[StockReceive, StockManage],
        fields: &[
            ("batch_no", RequiredText(120)),
            ("expiry", Day),
            ("cost_minor", Int(0, 100_000_000)),
            ("sale_price_minor", Int(0, 100_000_000)),
            ("on_hold", Flag),
            ("hold_reason", Text(500)),
        ],
    },
    Entity {
        name: "stock_receipts",
        id: IdKind::Uuid,
        write: &[StockReceive],
        fields: &[("invoice_no", Text(120)), ("note", Text(500)), ("received_at", UtcMillis)],
    },
    Entity {
        name: "stock_receipt_lines",
        id: IdKind::Uuid,
        write: &[StockReceive],
        fields: &[
            ("packs", Int(0, 10_000_000)),
            ("units", Int(0, 10_000_000)),
            ("free_units", Int(0, 10_000_000)),
            ("quantity", Int(1, 10_000_000)),
            ("pack_cost_minor", Int(0, 100_000_000)),
            ("sale_price_minor", Int(0, 100_000_000)),
        ],
    },
    Entity {
        name: "dispensings",
        id: IdKind::Uuid,
        write: &[StockDispense],
        fields: &[
            ("quantity", Int(1, 10_000_000)),
            ("complete", Flag),
            ("substitution_reason", Text(500)),
            ("dispensed_at", UtcMillis),
        ],
    },
    // The ledger: inserts only (INSERT_ONLY), each by a receipt, a move, a dispensing or a lab
    // result (its `lab_use`).
    Entity {
        name: "stock_movements",
        id: IdKind::Uuid,
        write: &[StockReceive, StockMove, StockDispense, LabResults],
        fields: &[
            (
                "kind",
                OneOf(&["received", "dispensed", "returned", "transfer_out", "transfer_in", "adjusted", "lab_use"]),
            ),
            ("quantity", NonZero(10_000_000)),
            ("reason", OneOf(&["", "damaged", "expired", "count_correction"])),
            ("note", Text(500)),
            ("at", UtcMillis),
        ],
    },
    // Stock takes (a count of a store): opened, counted, posted or cancelled by stock_count.
    Entity {
        name: "stock_takes",
        id: IdKind::Uuid,
        write: &[StockCount],
        fields: &[
            ("status", OneOf(&["open", "posted", "cancelled"])),
            ("blind", Flag),
            ("item_kind", OneOf(&["", "medicine", "lab_consumable", "other"])),
            ("search", Text(120)),
            ("note", Text(500)),
            ("opened_at", UtcMillis),
            ("closed_at", UtcMillis),
        ],
    },
    Entity {
        name: "stock_take_lines",
        id: IdKind::Uuid,
        write: &[StockCount],
        fields: &[
            ("position", Int(0, 1_000_000)),
            ("expected", Int(-1_000_000_000, 1_000_000_000)),
            ("added", Flag),
            ("counted", IntOrNull(0, 10_000_000)),
            ("counted_at", UtcMillis),
            ("book", Int(-1_000_000_000, 1_000_000_000)),
        ],
    },
    // What a lab test uses of stock, per test (lab technician, administrator).
    Entity {
        name: "lab_test_consumables",
        id: IdKind::Uuid,
        write: &[LabConsumablesManage],
        fields: &[("quantity", Int(1, 10_000_000))],
    },
    // What a lab result used (inserts only): entered with the result.
    Entity {
        name: "lab_uses",
        id: IdKind::Uuid,
        write: &[LabResults],
        fields: &[("quantity", Int(1, 10_000_000)), ("short", Int(0, 10_000_000)), ("at", UtcMillis)],
    },
    // Purchase orders: the pharmacist's (drafts, sends, cancels); an approval the
    // administrator's (purchase_permission).
    Entity {
        name: "purchase_orders",
        id: IdKind::Uuid,
        write: &[PurchaseOrders, PurchaseApprove],
        fields: &[
            ("number", RequiredText(40)),
            ("status", OneOf(&["draft", "approved", "sent", "cancelled"])),
            ("note", Text(500)),
            ("approved_at", UtcMillis),
            ("sent_at", UtcMillis),
            ("cancelled_at", UtcMillis),
            ("cancel_reason", Text(500)),
        ],
    },
    Entity {
        name: "purchase_order_lines",
        id: IdKind::Uuid,
        write: &[PurchaseOrders],
        fields: &[("packs", Int(1, 100_000)), ("pack_cost_minor", Int(0, 100_000_000))],
    },
    // Inpatient orders: a doctor's; a discharge stops the open ones.
    Entity {
        name: "inpatient_orders",
        id: IdKind::Uuid,
        write: &[InpatientOrders, InpatientsDischarge],
        fields: &[
            ("kind", OneOf(&["medicine", "lab", "diet", "nursing"])),
            ("schedule", OneOf(&["times", "every", "prn", "stat"])),
            ("dose", Text(40)),
            ("dose_unit", Text(20)),
            ("route", Text(40)),
            ("times_pattern", Text(16)),
            ("every_hours", Int(1, 24)),
            ("prn_max_per_day", Int(1, 24)),
            ("instructions", Text(500)),
            ("start_at", UtcMillis),
            ("end_at", UtcMillis),
            ("stopped_at", UtcMillis),
            ("stop_reason", Text(500)),
        ],
    },
    // The MAR: a nurse's record of each dose (append-only).
    Entity {
        name: "mar_entries",
        id: IdKind::Uuid,
        write: &[MarRecord],
        fields: &[
            ("outcome", OneOf(&["given", "held", "refused", "missed"])),
            ("reason", Text(500)),
            ("scheduled_at", UtcMillis),
            ("given_at", UtcMillis),
        ],
    },
    // Progress notes (doctors) and nursing notes (nurses).
    Entity {
        name: "inpatient_notes",
        id: IdKind::Uuid,
        write: &[InpatientOrders, MarRecord],
        fields: &[
            ("kind", OneOf(&["progress", "nursing"])),
            ("shift", OneOf(&["morning", "evening", "night"])),
            ("body", RequiredText(4000)),
            ("written_at", UtcMillis),
        ],
    },
    // The discharge summary: a doctor's, one per admission (its id derived from the admission's).
    Entity {
        name: "discharge_summaries",
        id: IdKind::Uuid,
        write: &[InpatientOrders],
        fields: &[
            ("diagnoses", JsonObjects(20)),
            ("course", LongText(4000)),
            ("procedures", LongText(4000)),
            ("investigations", JsonObjects(40)),
            ("medicines", JsonObjects(30)),
            ("advice", LongText(4000)),
            ("follow_up_on", Day),
            ("written_at", UtcMillis),
            ("finalised_at", UtcMillis),
        ],
    },
    // Reviews of a dose recorded twice or a PRN dose over its limit: the conflicts inbox's.
    Entity {
        name: "mar_reviews",
        id: IdKind::Uuid,
        write: &[SyncManage],
        fields: &[("note", RequiredText(500)), ("reviewed_at", UtcMillis)],
    },
    // Intake and output (nurses; append-only: a correction is a new entry naming the one it voids).
    Entity {
        name: "intake_output",
        id: IdKind::Uuid,
        write: &[MarRecord],
        fields: &[
            ("direction", OneOf(&["intake", "output"])),
            ("kind", OneOf(&["oral", "iv", "feed", "urine", "drain", "vomit", "stool", "other"])),
            ("volume_ml", Int(0, 5000)),
            ("at", UtcMillis),
            ("note", Text(500)),
            ("void_reason", Text(500)),
        ],
    },
];

/// Fields that say who did something (`restricted_by`, ...): a change that carries one (not
/// null) must name its own proven author there. Without this, an account allowed to write the
/// table could put a colleague's name on its act (a restriction "by" the doctor on the care
/// team, say, which would put that doctor's name in the chart's banner). Only tables whose
/// every write path sends these fields with the acting user's id are listed: an update that
/// carries such a field sets it to whoever makes the update.
pub const AUTHOR_FIELDS: &[(&str, &[&str])] = &[
    ("purchase_orders", &["created_by", "approved_by"]),
    ("chart_restrictions", &["restricted_by", "lifted_by"]),
    ("inpatient_orders", &["ordered_by", "stopped_by"]),
    ("mar_entries", &["recorded_by"]),
    ("inpatient_notes", &["written_by"]),
    ("discharge_summaries", &["written_by", "finalised_by"]),
    ("mar_reviews", &["reviewed_by"]),
    ("intake_output", &["recorded_by"]),
    ("stock_takes", &["opened_by", "closed_by"]),
    ("stock_take_lines", &["counted_by"]),
];

/// Fields an insert must carry (the local write path always sets them): a row arriving
/// without them would be one no device could have made.
pub const INSERT_REQUIRES: &[(&str, &[&str])] = &[
    ("chart_restrictions", &["patient_id", "reason", "restricted_by", "restricted_at"]),
    ("stock_movements", &["item_id", "batch_id", "store_id", "kind", "quantity", "at"]),
    ("stock_batches", &["item_id", "batch_no", "expiry"]),
    ("dispensings", &["prescription_id", "patient_id", "item_id", "store_id", "quantity"]),
    ("lab_test_consumables", &["test_id", "item_id", "quantity"]),
    ("purchase_orders", &["number", "supplier_id", "store_id", "status", "created_by"]),
    ("purchase_order_lines", &["order_id", "item_id", "packs"]),
    ("lab_uses", &["order_id", "result_id", "test_id", "item_id", "quantity", "short", "at"]),
    ("inpatient_orders", &["admission_id", "kind", "start_at", "ordered_by"]),
    ("mar_entries", &["order_id", "outcome", "given_at", "recorded_by"]),
    ("inpatient_notes", &["admission_id", "kind", "body", "written_at", "written_by"]),
    ("discharge_summaries", &["admission_id", "written_at", "written_by"]),
    ("mar_reviews", &["entry_id", "note", "reviewed_at", "reviewed_by"]),
    ("intake_output", &["admission_id", "direction", "kind", "volume_ml", "at", "recorded_by"]),
    ("stock_takes", &["store_id", "status", "opened_at", "opened_by"]),
    ("stock_take_lines", &["take_id", "item_id", "batch_id", "expected"]),
];

/// The permission a stock movement's kind needs, as its local write path does: a receipt's
/// `stock_receive`, a dispensing's or a return's `stock_dispense`, a transfer's or an
/// adjustment's `stock_move`, a lab result's use of the lab's stock `lab_results` (`None` for
/// any other change, or a kind the value rules refuse).
pub fn movement_permission(change: &hms_protocol::Change) -> Option<Permission> {
    if change.entity != "stock_movements" {
        return None;
    }
    match change.data.get("kind").and_then(serde_json::Value::as_str)? {
        "received" => Some(StockReceive),
        "dispensed" | "returned" => Some(StockDispense),
        "transfer_out" | "transfer_in" | "adjusted" => Some(StockMove),
        "lab_use" => Some(LabResults),
        _ => None,
    }
}

/// A count correction is also what posting a stock take writes: `stock_count` may make one
/// (besides `stock_move`, which [`movement_permission`] names).
pub fn is_count_correction(change: &hms_protocol::Change) -> bool {
    let text = |f: &str| change.data.get(f).and_then(serde_json::Value::as_str);
    change.entity == "stock_movements" && text("kind") == Some("adjusted") && text("reason") == Some("count_correction")
}

/// The permission a purchase order change needs, as its local write paths do: an approval
/// (status `approved`) the administrator's `purchase_approve`, anything else (a draft, sending,
/// cancelling) `purchase_orders` (`None` for other tables).
pub fn purchase_permission(change: &hms_protocol::Change) -> Option<Permission> {
    if change.entity != "purchase_orders" {
        return None;
    }
    let status = change.data.get("status").and_then(serde_json::Value::as_str);
    Some(if status == Some("approved") { PurchaseApprove } else { PurchaseOrders })
}

/// A movement's quantity has its kind's sign: what comes in (received, returned, transfer in)
/// adds, what goes out (dispensed, transfer out, lab use) takes away; an adjustment either way.
pub fn check_movement_sign(change: &hms_protocol::Change) -> Result<(), String> {
    if change.entity != "stock_movements" {
        return Ok(());
    }
    let kind = change.data.get("kind").and_then(serde_json::Value::as_str);
    let quantity = change.data.get("quantity").and_then(serde_json::Value::as_i64);
    let ok = match (kind, quantity) {
        (Some("received" | "returned" | "transfer_in"), Some(q)) => q > 0,
        (Some("dispensed" | "transfer_out" | "lab_use"), Some(q)) => q < 0,
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("quantity: a {} movement's sign is wrong", kind.unwrap_or("")))
    }
}

/// An intake/output entry's kind is one of its direction's (urine is never an intake), and a
/// correction (`voids_id`) says why; only a correction may record 0 ml — as the local write
/// path requires.
pub fn check_intake_output(change: &hms_protocol::Change) -> Result<(), String> {
    if change.entity != "intake_output" {
        return Ok(());
    }
    let s = |f: &str| change.data.get(f).and_then(serde_json::Value::as_str);
    let kinds: &[&str] = match s("direction") {
        Some("intake") => &["oral", "iv", "feed", "other"],
        Some("output") => &["urine", "drain", "vomit", "stool", "other"],
        _ => return Ok(()),
    };
    if let Some(kind) = s("kind") {
        if !kinds.contains(&kind) {
            return Err(format!("kind: {kind:?} is not a kind of {}", s("direction").unwrap_or_default()));
        }
    }
    let correction = s("voids_id").is_some_and(|v| !v.is_empty());
    if correction && !matches!(s("void_reason"), Some(r) if !r.trim().is_empty()) {
        return Err("void_reason: a correction says why".into());
    }
    if !correction && change.data.get("volume_ml").and_then(serde_json::Value::as_i64) == Some(0) {
        return Err("volume_ml: only a correction records 0 ml".into());
    }
    Ok(())
}

/// Tables whose rows are only ever inserted: any other change of one is refused (the ledger
/// of stock: a balance is the sum of movements that never change).
/// The MAR and ward notes are append-only too: a dose or a note is never rewritten.
/// Intake/output entries likewise (a correction is a new entry).
pub const INSERT_ONLY: &[&str] =
    &["stock_movements", "mar_entries", "inpatient_notes", "mar_reviews", "intake_output", "lab_uses"];

/// The tables whose rows belong to a patient (`patient_id`): a merge moves them to the
/// survivor with an update of `patient_id` only, which `patients_merge` may make whatever
/// the table (hms-core's `patients::merge::PATIENT_TABLES`).
pub const PATIENT_TABLES: &[&str] = &[
    "appointments",
    "bills",
    "visits",
    "vitals",
    "diagnoses",
    "allergies",
    "prescriptions",
    "lab_orders",
    "lab_results",
    "attachments",
    "chart_restrictions",
    "admissions",
    "dispensings",
    // A reservation (and its cancellation) names the patient the bed is held for.
    "bed_events",
];

/// The settings keys the tariff's owners write (what invoices print); every other key is
/// `settings_manage`'s.
pub const TARIFF_SETTINGS: &[&str] =
    &["currency", "clinic_address", "clinic_registration_no", "clinic_tax_no", "invoice_series", "clinic_logo"];

/// The entity of that name, if it is synced.
pub fn entity(name: &str) -> Option<&'static Entity> {
    ENTITIES.iter().find(|e| e.name == name)
}

/// The permission a settings key needs.
pub fn settings_permission(key: &str) -> Permission {
    if TARIFF_SETTINGS.contains(&key) {
        TariffManage
    } else {
        SettingsManage
    }
}

/// The columns of a `users` row that make an account: who may sign in, as what. They change
/// only with an administrator's change (not merely one who may manage users). Key columns
/// (`*_key`) count too, for the signing keys that travel in account rows, and the key's salt.
pub fn is_account_field(field: &str) -> bool {
    matches!(field, "roles" | "active" | "password_hash" | "deleted_at" | "key_salt" | "must_change_password")
        || field.ends_with("_key")
}
