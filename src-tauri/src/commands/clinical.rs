//! The clinical record: visits, vitals, diagnoses (ICD-10-CM), allergies, prescriptions,
//! the lab, and the chart summary. Every check is in core.

use super::Cmd;
use crate::files::{self, SavedFile};
use crate::AppState;
use hms_core::clinical::attachments::{self, Attachment, AttachmentInput};
use hms_core::clinical::drugs::{self, AllergenOption};
use hms_core::clinical::icd10::Icd10Code;
use hms_core::clinical::restriction::{self, BreakGlassEntry, BreakGlassGrant, ChartAccess, ChartRestriction};
use hms_core::clinical::{catalog, formulary, lab_pdf, prescription_pdf, visit_summary_pdf};
use hms_core::clinical::{
    chart, icd10, lab, prescribing, visits, Allergy, AllergyInput, ChartSummary, Consultation, ConsultationInput,
    Diagnosis, DiagnosisInput, LabOrder, LabResult, LabTest, LabTestInput, Medicine, MedicineInput, Prescription,
    PrescriptionInput, Visit, VisitInput, VisitNotes, VisitSummary, Vitals, VitalsInput,
};
use tauri::State;

/// Opens a patient's chart (audited).
#[tauri::command]
#[specta::specta]
pub async fn chart_summary(state: State<'_, AppState>, patient_id: String) -> Cmd<ChartSummary> {
    chart::chart_summary(&state.store, &authorized!(state), &patient_id).await
}

/// More of the visits timeline, before an instant.
#[tauri::command]
#[specta::specta]
pub async fn patient_visits(
    state: State<'_, AppState>,
    patient_id: String,
    before: Option<String>,
    limit: u32,
) -> Cmd<Vec<VisitSummary>> {
    chart::visits(&state.store, &authorized!(state), &patient_id, before, limit).await
}

#[tauri::command]
#[specta::specta]
pub async fn get_visit(state: State<'_, AppState>, visit_id: String) -> Cmd<Visit> {
    visits::visit(&state.store, &authorized!(state), &visit_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn start_visit(state: State<'_, AppState>, input: VisitInput) -> Cmd<Visit> {
    visits::start_visit(&state.store, &authorized!(state), input).await
}

#[tauri::command]
#[specta::specta]
pub async fn update_visit(state: State<'_, AppState>, visit_id: String, notes: VisitNotes) -> Cmd<Visit> {
    visits::update_visit(&state.store, &authorized!(state), &visit_id, notes).await
}

#[tauri::command]
#[specta::specta]
pub async fn close_visit(state: State<'_, AppState>, visit_id: String) -> Cmd<Visit> {
    visits::close_visit(&state.store, &authorized!(state), &visit_id).await
}

/// A whole consultation in one transaction.
#[tauri::command]
#[specta::specta]
pub async fn save_consultation(state: State<'_, AppState>, input: ConsultationInput) -> Cmd<Consultation> {
    chart::save_consultation(&state.store, &authorized!(state), input).await
}

#[tauri::command]
#[specta::specta]
pub async fn record_vitals(state: State<'_, AppState>, input: VitalsInput) -> Cmd<Vitals> {
    visits::record_vitals(&state.store, &authorized!(state), input).await
}

#[tauri::command]
#[specta::specta]
pub async fn vitals_history(state: State<'_, AppState>, patient_id: String, limit: u32) -> Cmd<Vec<Vitals>> {
    visits::vitals_history(&state.store, &authorized!(state), &patient_id, limit).await
}

#[tauri::command]
#[specta::specta]
pub async fn search_icd10(state: State<'_, AppState>, query: String, limit: u32) -> Cmd<Vec<Icd10Code>> {
    icd10::search(&state.store, &authorized!(state), &query, limit).await
}

#[tauri::command]
#[specta::specta]
pub async fn add_diagnosis(state: State<'_, AppState>, visit_id: String, input: DiagnosisInput) -> Cmd<Diagnosis> {
    visits::add_diagnosis(&state.store, &authorized!(state), &visit_id, input).await
}

#[tauri::command]
#[specta::specta]
pub async fn resolve_diagnosis(state: State<'_, AppState>, diagnosis_id: String) -> Cmd<()> {
    visits::resolve_diagnosis(&state.store, &authorized!(state), &diagnosis_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn add_allergy(state: State<'_, AppState>, input: AllergyInput) -> Cmd<Allergy> {
    visits::add_allergy(&state.store, &authorized!(state), input).await
}

/// Substances and classes an allergy can be recorded against, for the allergy form's search.
#[tauri::command]
#[specta::specta]
pub async fn search_allergens(state: State<'_, AppState>, query: String) -> Cmd<Vec<AllergenOption>> {
    drugs::search_allergens(&authorized!(state), &query)
}

#[tauri::command]
#[specta::specta]
pub async fn patient_allergies(state: State<'_, AppState>, patient_id: String) -> Cmd<Vec<Allergy>> {
    visits::allergies(&state.store, &authorized!(state), &patient_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn list_medicines(state: State<'_, AppState>, query: String) -> Cmd<Vec<Medicine>> {
    prescribing::medicines(&state.store, &authorized!(state), &query).await
}

#[tauri::command]
#[specta::specta]
pub async fn add_medicine(state: State<'_, AppState>, input: MedicineInput) -> Cmd<Medicine> {
    prescribing::add_medicine(&state.store, &authorized!(state), input).await
}

/// The whole medicine list, retired ones too (the Catalogue screen).
#[tauri::command]
#[specta::specta]
pub async fn medicine_catalogue(state: State<'_, AppState>) -> Cmd<Vec<Medicine>> {
    catalog::medicine_catalogue(&state.store, &authorized!(state)).await
}

#[tauri::command]
#[specta::specta]
pub async fn update_medicine(state: State<'_, AppState>, id: String, input: MedicineInput) -> Cmd<Medicine> {
    catalog::update_medicine(&state.store, &authorized!(state), &id, input).await
}

/// Retires a medicine (no longer offered) or offers it again.
#[tauri::command]
#[specta::specta]
pub async fn set_medicine_active(state: State<'_, AppState>, id: String, active: bool) -> Cmd<Medicine> {
    catalog::set_medicine_active(&state.store, &authorized!(state), &id, active).await
}

#[tauri::command]
#[specta::specta]
pub async fn update_lab_test(state: State<'_, AppState>, id: String, input: LabTestInput) -> Cmd<LabTest> {
    catalog::update_lab_test(&state.store, &authorized!(state), &id, input).await
}

/// Retires a lab test (no longer offered for orders) or offers it again.
#[tauri::command]
#[specta::specta]
pub async fn set_lab_test_active(state: State<'_, AppState>, id: String, active: bool) -> Cmd<LabTest> {
    catalog::set_lab_test_active(&state.store, &authorized!(state), &id, active).await
}

/// The ingredients a new medicine's name names (the add-medicine form shows them as typed).
#[tauri::command]
#[specta::specta]
pub async fn medicine_name_ingredients(state: State<'_, AppState>, name: String) -> Cmd<Vec<AllergenOption>> {
    drugs::ingredients_for_name(&authorized!(state), &name)
}

/// Adds the starter formulary's medicines not on the list yet (set-up offers it); how many.
#[tauri::command]
#[specta::specta]
pub async fn load_starter_formulary(state: State<'_, AppState>) -> Cmd<u32> {
    formulary::load(&state.store, &authorized!(state)).await.map(|n| u32::try_from(n).unwrap_or(u32::MAX))
}

/// Refused with `clinical_warning` (allergy, duplicate) unless an override reason is given.
#[tauri::command]
#[specta::specta]
pub async fn prescribe(state: State<'_, AppState>, visit_id: String, input: PrescriptionInput) -> Cmd<Prescription> {
    prescribing::prescribe(&state.store, &authorized!(state), &visit_id, input).await
}

#[tauri::command]
#[specta::specta]
pub async fn visit_prescriptions(state: State<'_, AppState>, visit_id: String) -> Cmd<Vec<Prescription>> {
    prescribing::visit_prescriptions(&state.store, &authorized!(state), &visit_id).await
}

/// The reference range of each order for its patient's sex and age today (the work list's
/// preview of a result; the same rule as saving it).
#[tauri::command]
#[specta::specta]
pub async fn lab_order_ranges(state: State<'_, AppState>, order_ids: Vec<String>) -> Cmd<Vec<lab::OrderRange>> {
    lab::order_ranges(&state.store, &authorized!(state), &order_ids).await
}

/// What ordering each active test charges today (the Order dialog shows it; "no charge" for none).
#[tauri::command]
#[specta::specta]
pub async fn lab_test_prices(state: State<'_, AppState>) -> Cmd<Vec<lab::LabTestPrice>> {
    lab::lab_test_prices(&state.store, &authorized!(state)).await
}

#[tauri::command]
#[specta::specta]
pub async fn list_lab_tests(state: State<'_, AppState>) -> Cmd<Vec<LabTest>> {
    lab::lab_tests(&state.store, &authorized!(state)).await
}

#[tauri::command]
#[specta::specta]
pub async fn add_lab_test(state: State<'_, AppState>, input: LabTestInput) -> Cmd<LabTest> {
    lab::add_lab_test(&state.store, &authorized!(state), input).await
}

#[tauri::command]
#[specta::specta]
pub async fn order_lab_tests(
    state: State<'_, AppState>,
    visit_id: String,
    test_ids: Vec<String>,
    note: String,
) -> Cmd<Vec<LabOrder>> {
    lab::order_lab_tests(&state.store, &authorized!(state), &visit_id, test_ids, note).await
}

/// The lab's work list.
#[tauri::command]
#[specta::specta]
pub async fn pending_lab_orders(state: State<'_, AppState>) -> Cmd<Vec<LabOrder>> {
    lab::pending_orders(&state.store, &authorized!(state)).await
}

/// Changes a running prescription's dose, frequency, duration or instructions; the allergy and
/// duplicate checks run again.
#[tauri::command]
#[specta::specta]
pub async fn update_prescription(
    state: State<'_, AppState>,
    id: String,
    input: PrescriptionInput,
) -> Cmd<Prescription> {
    prescribing::update_prescription(&state.store, &authorized!(state), &id, input).await
}

/// Stops a running prescription with a reason.
#[tauri::command]
#[specta::specta]
pub async fn stop_prescription(state: State<'_, AppState>, id: String, reason: String) -> Cmd<Prescription> {
    prescribing::stop_prescription(&state.store, &authorized!(state), &id, &reason).await
}

/// Records that an order's sample was collected (by whom, when).
#[tauri::command]
#[specta::specta]
pub async fn collect_lab_sample(state: State<'_, AppState>, order_id: String) -> Cmd<LabOrder> {
    lab::collect_sample(&state.store, &authorized!(state), &order_id).await
}

/// Cancels an order whose sample is not collected yet; its charge comes off the open bill.
#[tauri::command]
#[specta::specta]
pub async fn cancel_lab_order(
    state: State<'_, AppState>,
    order_id: String,
    reason: String,
) -> Cmd<lab::CancelledLabOrder> {
    lab::cancel_order(&state.store, &authorized!(state), &order_id, &reason).await
}

#[tauri::command]
#[specta::specta]
pub async fn enter_lab_result(state: State<'_, AppState>, order_id: String, value: String) -> Cmd<LabResult> {
    lab::enter_result(&state.store, &authorized!(state), &order_id, &value).await
}

/// Attaches a file (PDF, PNG, JPEG or WebP, at most 20 MB) sent as base64 to a patient's
/// record, optionally to a visit. Unreadable base64 is a validation error on `file`.
#[tauri::command]
#[specta::specta]
pub async fn add_attachment(
    state: State<'_, AppState>,
    patient_id: String,
    visit_id: Option<String>,
    file_name: String,
    data_base64: String,
    note: String,
) -> Cmd<Attachment> {
    let auth = authorized!(state);
    // Refused before decoding: base64 is 4 characters for every 3 bytes.
    if data_base64.trim().len() / 4 * 3 > attachments::MAX_BYTES + 3 {
        return Err(hms_core::Error::validation(
            "file",
            hms_core::ValidationReason::TooLong,
            "the file is larger than 20 MB",
        ));
    }
    let bytes = super::decode_base64(&data_base64, "file")?;
    attachments::add(&state.store, &auth, AttachmentInput { patient_id, visit_id, file_name, note }, &bytes).await
}

/// A patient's attachments, newest first (`on_device` false: the file is on another device).
#[tauri::command]
#[specta::specta]
pub async fn patient_attachments(state: State<'_, AppState>, patient_id: String) -> Cmd<Vec<Attachment>> {
    attachments::list(&state.store, &authorized!(state), &patient_id, None).await
}

/// Verifies an attachment against its checksum, then opens a copy (under its original name)
/// from the exports folder in the system viewer. `attachment_corrupt` or
/// `attachment_not_on_device` when it cannot be shown.
#[tauri::command]
#[specta::specta]
pub async fn open_attachment(state: State<'_, AppState>, id: String) -> Cmd<SavedFile> {
    let opened = attachments::open(&state.store, &authorized!(state), &id).await?;
    files::save_and_open(&state.exports_dir, &attachments::viewer_name(&opened.attachment), &opened.bytes)
}

/// The prescription of a visit as a PDF, saved to the exports folder and opened.
#[tauri::command]
#[specta::specta]
pub async fn print_prescription(state: State<'_, AppState>, visit_id: String) -> Cmd<SavedFile> {
    let p = prescription_pdf::prescription_pdf(&state.store, &authorized!(state), &visit_id).await?;
    files::save_printout(&state.exports_dir, &p.printout, &p.pdf)
}

/// The lab report of an order (with the other tests of its visit); a requisition while
/// nothing is resulted.
#[tauri::command]
#[specta::specta]
pub async fn print_lab_report(state: State<'_, AppState>, order_id: String) -> Cmd<SavedFile> {
    let p = lab_pdf::lab_report_pdf(&state.store, &authorized!(state), &order_id).await?;
    files::save_printout(&state.exports_dir, &p.printout, &p.pdf)
}

/// The visit summary for the patient to take home.
#[tauri::command]
#[specta::specta]
pub async fn print_visit_summary(state: State<'_, AppState>, visit_id: String) -> Cmd<SavedFile> {
    let p = visit_summary_pdf::visit_summary_pdf(&state.store, &authorized!(state), &visit_id).await?;
    files::save_printout(&state.exports_dir, &p.printout, &p.pdf)
}

/// Whether the patient's chart is restricted and opens for the caller (see
/// `clinical::restriction`).
#[tauri::command]
#[specta::specta]
pub async fn chart_access(state: State<'_, AppState>, patient_id: String) -> Cmd<ChartAccess> {
    restriction::access(&state.store, &authorized!(state), &patient_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn restrict_chart(state: State<'_, AppState>, patient_id: String, reason: String) -> Cmd<ChartRestriction> {
    restriction::restrict(&state.store, &authorized!(state), &patient_id, &reason).await
}

#[tauri::command]
#[specta::specta]
pub async fn lift_chart_restriction(state: State<'_, AppState>, patient_id: String, reason: String) -> Cmd<()> {
    restriction::lift(&state.store, &authorized!(state), &patient_id, &reason).await
}

/// Emergency access to a restricted chart, with a reason (audited, reviewed).
#[tauri::command]
#[specta::specta]
pub async fn break_glass(state: State<'_, AppState>, patient_id: String, reason: String) -> Cmd<BreakGlassGrant> {
    restriction::break_glass(&state.store, &authorized!(state), &patient_id, &reason).await
}

/// The emergency accesses not reviewed yet, from every device (administrator's Home).
#[tauri::command]
#[specta::specta]
pub async fn break_glass_pending(state: State<'_, AppState>) -> Cmd<Vec<BreakGlassEntry>> {
    restriction::break_glass_pending(&state.store, &authorized!(state)).await
}

#[tauri::command]
#[specta::specta]
pub async fn break_glass_review(state: State<'_, AppState>, entry_id: String, comment: String) -> Cmd<()> {
    restriction::break_glass_review(&state.store, &authorized!(state), &entry_id, &comment).await
}
