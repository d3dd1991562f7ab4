//! The limits the core enforces that the UI also shows (a field's maxlength, a range in a
//! message, a check before a call). The desktop shell exports them to TypeScript as constants
//! in ui/src/lib/bindings.ts, so the screens never hold copies that could drift; each value
//! is read from the constant the rule itself uses.

use crate::auth::password;
use crate::billing::{self, bills, money, payments, tariff};
use crate::clinical::{attachments, lab, prescribing, restriction, visits};
use crate::inpatients;
use crate::patients::validate;
use crate::schedule::{availability, booking, staff};
use crate::settings;
use crate::stock;
use crate::sync;
use crate::users;
use serde_json::{json, Map, Value};

/// (TypeScript name, value) of every exported limit.
pub fn exported() -> Vec<(&'static str, Value)> {
    let vitals: Map<String, Value> =
        visits::plausible_ranges().map(|(field, (lo, hi))| (field.to_string(), json!([lo, hi]))).collect();
    vec![
        // Billing: money in minor units, rates and percentages in basis points.
        ("BASIS_POINTS", json!(money::BP)),
        ("MAX_AMOUNT_MINOR", json!(tariff::MAX_AMOUNT)),
        ("BILL_MAX_QUANTITY", json!(bills::MAX_QUANTITY)),
        ("BILL_DESCRIPTION_MAX", json!(bills::DESCRIPTION_MAX)),
        ("BILL_DISCOUNT_LIMIT_BP", json!(bills::DISCOUNT_LIMIT_BP)),
        ("BILL_CANCEL_REASON_MAX", json!(bills::CANCEL_REASON_MAX)),
        ("BILLING_REASON_MAX", json!(payments::REASON_MAX)),
        ("CLINIC_ADDRESS_MAX", json!(billing::ADDRESS_MAX)),
        ("CLINIC_LOGO_MAX_BYTES", json!(billing::MAX_LOGO_BYTES)),
        // Appointments and schedules.
        ("APPOINTMENT_REASON_MAX", json!(booking::REASON_MAX)),
        ("MIN_SLOT_MINUTES", json!(availability::MIN_SLOT_MINUTES)),
        ("MAX_SLOT_MINUTES", json!(availability::MAX_SLOT_MINUTES)),
        ("MAX_FEE_MINOR", json!(staff::MAX_FEE_MINOR)),
        ("STAFF_QUALIFICATIONS_MAX", json!(staff::QUALIFICATIONS_MAX)),
        // Patients.
        ("PATIENT_MAX_AGE_YEARS", json!(validate::MAX_AGE_YEARS)),
        ("PATIENT_MAX_PHONES", json!(validate::MAX_PHONES)),
        ("PATIENT_ADDRESS_MAX", json!(validate::ADDRESS_MAX)),
        ("PATIENT_CITY_MAX", json!(validate::CITY_MAX)),
        ("PATIENT_DISTRICT_MAX", json!(validate::DISTRICT_MAX)),
        ("PATIENT_REASON_MAX", json!(validate::REASON_MAX)),
        ("BLOOD_GROUPS", json!(validate::BLOOD_GROUPS)),
        // The largest FHIR file an import reads (the screen refuses a larger one before reading it).
        ("FHIR_IMPORT_MAX_BYTES", json!(crate::fhir::import::MAX_FILE_BYTES)),
        // Clinical: plausible vital ranges by field, in the stored unit.
        ("VITALS_PLAUSIBLE", Value::Object(vitals)),
        ("ATTACHMENT_MAX_BYTES", json!(attachments::MAX_BYTES)),
        ("OVERRIDE_REASON_MIN", json!(prescribing::OVERRIDE_REASON_MIN)),
        ("OVERRIDE_REASON_MAX", json!(prescribing::OVERRIDE_REASON_MAX)),
        ("LAB_CANCEL_REASON_MAX", json!(lab::CANCEL_REASON_MAX)),
        ("RX_STOP_REASON_MAX", json!(prescribing::STOP_REASON_MAX)),
        // Restricted charts and emergency access.
        ("CHART_REASON_MAX", json!(restriction::REASON_MAX)),
        ("BREAK_GLASS_REASON_MIN", json!(restriction::BREAK_GLASS_REASON_MIN)),
        ("BREAK_GLASS_MINUTES", json!(restriction::BREAK_GLASS_MINUTES)),
        // Inpatients: the texts of wards, rooms and beds, a bed's tags, an admission.
        (
            "INPATIENT_FIELDS",
            json!({
                "name": inpatients::NAME_MAX,
                "tag": inpatients::TAG_MAX,
                "reason": inpatients::REASON_MAX,
            }),
        ),
        ("BED_TAGS_MAX", json!(inpatients::TAGS_MAX)),
        ("EXPECTED_DAYS_MAX", json!(inpatients::EXPECTED_DAYS_MAX)),
        // Stock: the texts of stores, suppliers, items and batches; a note or reason; the most
        // base units one movement or line moves; the most lines a receipt or dispensing has.
        ("STOCK_FIELDS", json!({ "name": stock::NAME_MAX, "note": stock::NOTE_MAX })),
        ("STOCK_QUANTITY_MAX", json!(stock::QUANTITY_MAX)),
        ("STOCK_LINES_MAX", json!(stock::LINES_MAX)),
        ("STOCK_PACK_MAX", json!(stock::setup::PACK_MAX)),
        ("LAB_CONSUMABLES_MAX", json!(stock::lab_use::CONSUMABLES_MAX)),
        // The ward round: orders' texts and schedules, the due list's timing, notes.
        (
            "ORDER_FIELDS",
            json!({
                "dose": inpatients::orders::DOSE_MAX,
                "dose_unit": inpatients::orders::DOSE_UNIT_MAX,
                "route": inpatients::orders::ROUTE_MAX,
                "instructions": inpatients::orders::INSTRUCTIONS_MAX,
                "note": inpatients::notes::NOTE_MAX,
            }),
        ),
        ("ORDER_EVERY_HOURS_MAX", json!(inpatients::orders::EVERY_HOURS_MAX)),
        ("PRN_MAX_PER_DAY", json!(inpatients::orders::PRN_MAX_PER_DAY)),
        ("DOSE_HOURS_3", json!(inpatients::schedule::DOSE_HOURS_3)),
        ("DOSE_HOURS_4", json!(inpatients::schedule::DOSE_HOURS_4)),
        ("DUE_AHEAD_MINUTES", json!(inpatients::due::DUE_AHEAD_MINUTES)),
        ("LATE_AFTER_MINUTES", json!(inpatients::due::LATE_AFTER_MINUTES)),
        // The discharge summary: its texts, lists and days.
        (
            "SUMMARY_FIELDS",
            json!({
                "course": inpatients::summary::SUMMARY_TEXT_MAX,
                "procedures": inpatients::summary::SUMMARY_TEXT_MAX,
                "advice": inpatients::summary::SUMMARY_TEXT_MAX,
                "line": inpatients::summary::SUMMARY_LINE_MAX,
                "dose": inpatients::orders::DOSE_MAX,
                "dose_unit": inpatients::orders::DOSE_UNIT_MAX,
            }),
        ),
        (
            "SUMMARY_LISTS_MAX",
            json!({
                "diagnoses": inpatients::summary::SUMMARY_DIAGNOSES_MAX,
                "investigations": inpatients::summary::SUMMARY_INVESTIGATIONS_MAX,
                "medicines": inpatients::summary::SUMMARY_MEDICINES_MAX,
            }),
        ),
        ("SUMMARY_MEDICINE_DAYS_MAX", json!(inpatients::summary::SUMMARY_MEDICINE_DAYS_MAX)),
        ("FOLLOW_UP_DAYS_MAX", json!(inpatients::summary::FOLLOW_UP_DAYS_MAX)),
        ("IO_VOLUME_MAX_ML", json!(inpatients::intake_output::IO_VOLUME_MAX_ML)),
        ("IO_NOTE_MAX", json!(inpatients::intake_output::IO_NOTE_MAX)),
        ("IO_INTAKE_KINDS", json!(inpatients::intake_output::INTAKE_KINDS)),
        ("IO_OUTPUT_KINDS", json!(inpatients::intake_output::OUTPUT_KINDS)),
        ("SHIFT_START_HOURS", json!(inpatients::shifts::SHIFT_START_HOURS)),
        // Settings.
        ("IDLE_TIMEOUT_MAX_MINUTES", json!(settings::MAX_IDLE_MINUTES)),
        // The most characters of each text field a form offers, per record.
        (
            "USER_FIELDS",
            json!({
                "username": users::validate::USERNAME_MAX,
                "full_name": users::validate::FULL_NAME_MAX,
                "password": password::MAX_LEN,
            }),
        ),
        (
            "STAFF_FIELDS",
            json!({
                "full_name": staff::NAME_MAX,
                "qualifications": staff::QUALIFICATIONS_MAX,
                "licence_no": staff::LICENCE_NO_MAX,
                "phone": staff::PHONE_MAX,
                "email": staff::EMAIL_MAX,
            }),
        ),
        ("DEPARTMENT_FIELDS", json!({ "name": staff::NAME_MAX })),
        ("SERVICE_FIELDS", json!({ "code": tariff::CODE_MAX, "name": tariff::NAME_MAX })),
        (
            "BILLING_SETTINGS_FIELDS",
            json!({
                "address": billing::ADDRESS_MAX,
                "registration_no": billing::REGISTRATION_NO_MAX,
                "tax_no": billing::TAX_NO_MAX,
                "invoice_series": billing::INVOICE_SERIES_MAX,
            }),
        ),
        ("PAYMENT_FIELDS", json!({ "reference": payments::REFERENCE_MAX, "reason": payments::REASON_MAX })),
        (
            "INSURANCE_FIELDS",
            json!({
                "payer": payments::PAYER_MAX,
                "policy_no": payments::POLICY_NO_MAX,
                "preauth_no": payments::POLICY_NO_MAX,
            }),
        ),
        // Home's dashboards (reports::dashboard): the windows the doctor's tiles say they cover.
        (
            "DASHBOARD",
            json!({
                "results_back_days": crate::reports::dashboard::RESULTS_BACK_DAYS,
                "follow_up_overdue_days": crate::reports::dashboard::FOLLOW_UP_OVERDUE_DAYS,
                "tile_list_max": crate::reports::dashboard::TILE_LIST_MAX,
                "refresh_seconds": crate::reports::dashboard::REFRESH_SECONDS,
            }),
        ),
        ("SETTINGS_FIELDS", json!({ "clinic_name": settings::CLINIC_NAME_MAX })),
        ("DEVICE_FIELDS", json!({ "device_name": hms_protocol::MAX_DEVICE_NAME_CHARS })),
        // Sync: what a pull keeps aside (sync::bounds).
        ("SYNC_MAX_ORPHANS", json!(sync::bounds::MAX_ORPHANS)),
        ("SYNC_ORPHAN_MAX_AGE_DAYS", json!(sync::bounds::ORPHAN_MAX_AGE_DAYS)),
        ("SYNC_MAX_OPEN_CONFLICTS_PER_DEVICE", json!(sync::bounds::MAX_OPEN_CONFLICTS_PER_DEVICE)),
        ("SYNC_MAX_RESOLVED_CONFLICTS", json!(sync::bounds::MAX_RESOLVED_CONFLICTS)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_values_are_the_rules() {
        let all = exported();
        let mut names: Vec<_> = all.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len(), "two limits share a name");
        let get = |n: &str| all.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone()).unwrap();
        assert_eq!(get("BILL_DISCOUNT_LIMIT_BP"), json!(1_000));
        assert_eq!(get("BLOOD_GROUPS").as_array().map(Vec::len), Some(8));
        assert_eq!(get("VITALS_PLAUSIBLE")["temperature_c_x10"], json!([300, 440]));
    }
}
