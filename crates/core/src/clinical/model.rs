//! What the UI sends and gets for the clinical record. Measurements are integers in the
//! units their names say (tenths of a degree, grams, millimetres); lab values are decimals
//! as text with thousandths for ranges.

use crate::codes::Code;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize, specta::Type)]
pub struct VisitInput {
    pub patient_id: String,
    /// The doctor's staff profile; by default the appointment's doctor, else the signed-in
    /// user's own profile.
    pub doctor_id: Option<String>,
    /// Start the visit from this appointment (same patient; one visit per appointment).
    pub appointment_id: Option<String>,
    #[serde(default)]
    pub complaints: String,
    #[serde(default)]
    pub history: String,
    #[serde(default)]
    pub examination: String,
    #[serde(default)]
    pub notes: String,
    /// YYYY-MM-DD.
    pub follow_up_date: Option<String>,
}

/// The notes of a visit as the doctor edits them.
#[derive(Debug, Clone, Default, Deserialize, specta::Type)]
pub struct VisitNotes {
    pub complaints: String,
    pub history: String,
    pub examination: String,
    pub notes: String,
    pub follow_up_date: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Visit {
    pub id: String,
    pub patient_id: String,
    pub doctor_id: String,
    pub doctor_name: String,
    pub appointment_id: Option<String>,
    pub started_at: String,
    pub closed_at: Option<String>,
    pub complaints: String,
    pub history: String,
    pub examination: String,
    pub notes: String,
    pub follow_up_date: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, specta::Type)]
pub struct VitalsInput {
    pub patient_id: String,
    pub visit_id: Option<String>,
    /// Tenths of a degree Celsius: 372 = 37.2 °C.
    pub temperature_c_x10: Option<i32>,
    pub pulse: Option<i32>,
    pub bp_systolic: Option<i32>,
    pub bp_diastolic: Option<i32>,
    pub resp_rate: Option<i32>,
    /// %.
    pub spo2: Option<i32>,
    pub weight_g: Option<i32>,
    pub height_mm: Option<i32>,
    /// 0 to 10.
    pub pain: Option<i32>,
    /// Save values outside the plausible ranges (the nurse re-checked them).
    #[serde(default)]
    pub confirmed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Vitals {
    pub id: String,
    pub patient_id: String,
    pub visit_id: Option<String>,
    pub taken_at: String,
    pub temperature_c_x10: Option<i32>,
    pub pulse: Option<i32>,
    pub bp_systolic: Option<i32>,
    pub bp_diastolic: Option<i32>,
    pub resp_rate: Option<i32>,
    pub spo2: Option<i32>,
    pub weight_g: Option<i32>,
    pub height_mm: Option<i32>,
    pub pain: Option<i32>,
    /// Body-mass index in tenths (weight and height both known): 224 = 22.4.
    pub bmi_x10: Option<i32>,
    pub confirmed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Certainty {
    Provisional,
    Final,
}

impl Code for Certainty {}

#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct DiagnosisInput {
    /// An ICD-10-CM code ("E11.9" or "E119"); None or empty for uncoded free text.
    pub icd10: Option<String>,
    /// Required without a code; with one, empty means the code's description.
    #[serde(default)]
    pub text: String,
    pub certainty: Certainty,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Diagnosis {
    pub id: String,
    pub visit_id: String,
    pub patient_id: String,
    pub icd10: Option<String>,
    pub text: String,
    pub certainty: Certainty,
    /// False for free text with no ICD-10 code.
    pub coded: bool,
    pub created_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Mild,
    Moderate,
    Severe,
}

impl Code for Severity {}

#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct AllergyInput {
    pub patient_id: String,
    /// As written; may be blank when `allergen` is given (its name is used).
    #[serde(default)]
    pub substance: String,
    /// The substance or class chosen from the list ("class:penicillins"; see
    /// `drugs::Reference::search`); None for free text, which is matched to the list when it is
    /// exactly a name on it and otherwise checked against medicines' names only.
    #[serde(default)]
    pub allergen: Option<String>,
    #[serde(default)]
    pub reaction: String,
    pub severity: Severity,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Allergy {
    pub id: String,
    pub patient_id: String,
    pub substance: String,
    pub reaction: String,
    pub severity: Severity,
    /// The substance or class on the list it is checked as ("substance:amoxicillin"); None when
    /// it names nothing on the list: then it is not checked against medicines' ingredients.
    pub allergen: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, specta::Type)]
pub struct MedicineInput {
    pub name: String,
    /// "500 mg".
    #[serde(default)]
    pub strength: String,
    /// tablet, capsule, syrup, injection ...
    #[serde(default)]
    pub form: String,
    /// Substance ids of the active ingredients (see `drugs`); empty: read from the name.
    #[serde(default)]
    pub ingredients: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Medicine {
    pub id: String,
    pub name: String,
    pub strength: String,
    pub form: String,
    pub active: bool,
    /// Names of the active ingredients, as the allergy check knows them (empty: unknown).
    pub ingredients: Vec<String>,
    /// The usual adult dose the formulary gives ('' when none).
    pub usual_dose: String,
}

#[derive(Debug, Clone, Default, Deserialize, specta::Type)]
pub struct PrescriptionInput {
    pub medicine_id: String,
    /// "1", "0.5", "5".
    pub dose: String,
    /// tablet, ml, mg, puff ... (required).
    pub dose_unit: String,
    #[serde(default)]
    pub route: String,
    /// "1-0-1", "TDS", "every 8 hours" ...
    #[serde(default)]
    pub frequency: String,
    /// 1 to 3,650 days; None for long-term.
    pub duration_days: Option<i32>,
    #[serde(default)]
    pub instructions: String,
    /// Required to save despite warnings (allergy match, duplicate medicine).
    pub override_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Prescription {
    pub id: String,
    pub visit_id: String,
    pub patient_id: String,
    pub medicine_id: String,
    pub medicine_name: String,
    pub strength: String,
    pub form: String,
    pub dose: String,
    pub dose_unit: String,
    pub route: String,
    pub frequency: String,
    pub duration_days: Option<i32>,
    pub instructions: String,
    pub override_reason: Option<String>,
    /// The warnings overridden.
    pub warnings: Vec<crate::error::ClinicalWarning>,
    /// YYYY-MM-DD.
    pub starts_on: String,
    /// When a doctor stopped it, who (their name) and why; `None` while it runs.
    pub stopped_at: Option<String>,
    pub stopped_by: Option<String>,
    pub stop_reason: String,
}

#[derive(Debug, Clone, Default, Deserialize, specta::Type)]
pub struct LabTestInput {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub unit: String,
    /// Decimals as text ("3.5"); empty or None for an open end.
    pub ref_low: Option<String>,
    pub ref_high: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct LabTest {
    pub id: String,
    pub code: String,
    pub name: String,
    pub unit: String,
    pub ref_low: Option<String>,
    pub ref_high: Option<String>,
    pub active: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Ordered,
    /// The sample is collected, the result not yet entered (stored as `ordered` with
    /// `collected_at` set).
    Collected,
    Resulted,
    Cancelled,
}

impl Code for OrderStatus {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct LabOrder {
    pub id: String,
    pub patient_id: String,
    pub patient_name: String,
    pub visit_id: Option<String>,
    pub test_id: String,
    pub test_code: String,
    pub test_name: String,
    pub status: OrderStatus,
    pub ordered_at: String,
    pub note: String,
    /// The patient's MRN (the lab labels the sample with it).
    pub mrn: String,
    /// When the sample was collected, and the name of who collected it.
    pub collected_at: Option<String>,
    pub collected_by: Option<String>,
    /// Why a cancelled order was cancelled ("" otherwise).
    pub cancel_reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Abnormal {
    Normal,
    Low,
    High,
    /// A non-numeric value, or a test with no reference range.
    Unknown,
}

impl Code for Abnormal {}

impl Abnormal {
    /// The flag of a value (thousandths) against a range (either end open).
    pub fn of(value: Option<i64>, low: Option<i64>, high: Option<i64>) -> Abnormal {
        match value {
            None => Abnormal::Unknown,
            Some(_) if low.is_none() && high.is_none() => Abnormal::Unknown,
            Some(v) if low.is_some_and(|l| v < l) => Abnormal::Low,
            Some(v) if high.is_some_and(|h| v > h) => Abnormal::High,
            Some(_) => Abnormal::Normal,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct LabResult {
    pub id: String,
    pub order_id: String,
    pub patient_id: String,
    pub test_code: String,
    pub test_name: String,
    pub value: String,
    pub unit: String,
    pub ref_low: Option<String>,
    pub ref_high: Option<String>,
    pub abnormal: Abnormal,
    pub resulted_at: String,
}

/// A whole consultation saved at once: the visit, its vitals, diagnoses, prescriptions and
/// lab orders, in one transaction.
#[derive(Debug, Clone, Default, Deserialize, specta::Type)]
pub struct ConsultationInput {
    pub visit: VisitInput,
    /// Vitals of the visit (patient and visit are the consultation's).
    pub vitals: Option<VitalsInput>,
    #[serde(default)]
    pub diagnoses: Vec<DiagnosisInput>,
    #[serde(default)]
    pub prescriptions: Vec<PrescriptionInput>,
    /// Lab tests from the catalogue to order.
    #[serde(default)]
    pub lab_test_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Consultation {
    pub visit: Visit,
    pub vitals: Option<Vitals>,
    pub diagnoses: Vec<Diagnosis>,
    pub prescriptions: Vec<Prescription>,
    pub lab_orders: Vec<LabOrder>,
}

/// One line of the visits timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct VisitSummary {
    pub id: String,
    pub started_at: String,
    pub closed_at: Option<String>,
    pub doctor_name: String,
    pub complaints: String,
    /// The visit's diagnoses, as text.
    pub diagnoses: Vec<String>,
}

/// What a chart opens with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ChartSummary {
    pub patient_id: String,
    pub allergies: Vec<Allergy>,
    /// Unresolved diagnoses, newest first, one per code (or text).
    pub active_problems: Vec<Diagnosis>,
    /// Prescriptions still running today.
    pub current_medicines: Vec<Prescription>,
    pub last_vitals: Option<Vitals>,
    /// The latest results, newest first (at most 20).
    pub recent_results: Vec<LabResult>,
    pub pending_orders: Vec<LabOrder>,
    /// Visits, newest first (at most 50; older ones page in through `visits`).
    pub visits: Vec<VisitSummary>,
}
