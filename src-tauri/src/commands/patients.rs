//! Patients: search, registration with the duplicate warning, the record, edits, status,
//! merge, ID cards, and CSV import/export. File contents cross the bridge as base64 so the
//! webview never touches the file system; saved files go to the user's Downloads/HMS.

use super::{decode_base64, Cmd};
use crate::files::{self, SavedFile};
use crate::AppState;
use hms_core::patients::csv_io::{self, ImportPreview, ImportProgress, ImportReport, Mapping};
use hms_core::patients::{self, MergeRecord, Patient, PatientHit, PatientInput, PatientStatus};
use tauri::ipc::Channel;
use tauri::State;

#[tauri::command]
#[specta::specta]
pub async fn search_patients(state: State<'_, AppState>, query: String, limit: u32) -> Cmd<Vec<PatientHit>> {
    let auth = state.session.authorize(&state.store).await?;
    patients::search(&state.store, &auth, &query, limit).await
}

#[tauri::command]
#[specta::specta]
pub async fn find_duplicates(
    state: State<'_, AppState>,
    input: PatientInput,
    exclude_id: Option<String>,
) -> Cmd<Vec<PatientHit>> {
    let auth = state.session.authorize(&state.store).await?;
    patients::duplicates(&state.store, &auth, &input, exclude_id.as_deref()).await
}

#[tauri::command]
#[specta::specta]
/// Refused with `likely_duplicate` (the matches) unless `anyway_reason` says why this is a
/// different patient.
pub async fn register_patient(
    state: State<'_, AppState>,
    input: PatientInput,
    anyway_reason: Option<String>,
) -> Cmd<Patient> {
    let auth = state.session.authorize(&state.store).await?;
    match anyway_reason {
        Some(reason) => patients::register_anyway(&state.store, &auth, input, &reason).await,
        None => patients::register(&state.store, &auth, input).await,
    }
}

/// Opens a record (audited).
#[tauri::command]
#[specta::specta]
pub async fn open_patient(state: State<'_, AppState>, id: String) -> Cmd<Patient> {
    let auth = state.session.authorize(&state.store).await?;
    patients::open(&state.store, &auth, &id).await
}

#[tauri::command]
#[specta::specta]
pub async fn patient_merges(state: State<'_, AppState>, id: String) -> Cmd<Vec<MergeRecord>> {
    let auth = state.session.authorize(&state.store).await?;
    patients::merged_into(&state.store, &auth, &id).await
}

#[tauri::command]
#[specta::specta]
pub async fn update_patient(state: State<'_, AppState>, id: String, input: PatientInput) -> Cmd<Patient> {
    let auth = state.session.authorize(&state.store).await?;
    patients::update(&state.store, &auth, &id, input).await
}

#[tauri::command]
#[specta::specta]
pub async fn set_patient_status(
    state: State<'_, AppState>,
    id: String,
    status: PatientStatus,
    reason: String,
) -> Cmd<Patient> {
    let auth = state.session.authorize(&state.store).await?;
    patients::set_status(&state.store, &auth, &id, status, &reason).await
}

#[tauri::command]
#[specta::specta]
pub async fn merge_patients(
    state: State<'_, AppState>,
    survivor_id: String,
    merged_id: String,
    reason: String,
) -> Cmd<Patient> {
    let auth = state.session.authorize(&state.store).await?;
    patients::merge(&state.store, &auth, &survivor_id, &merged_id, &reason).await
}

/// Makes the ID card PDF, saves it and opens it in the system's viewer for printing.
#[tauri::command]
#[specta::specta]
pub async fn print_id_card(state: State<'_, AppState>, id: String) -> Cmd<SavedFile> {
    let auth = state.session.authorize(&state.store).await?;
    let card = patients::id_card(&state.store, &auth, &id).await?;
    files::save_printout(&state.exports_dir, &card.printout, &card.pdf)
}

/// Reads a CSV (sent as base64) and reports what an import would do, writing nothing.
#[tauri::command]
#[specta::specta]
pub async fn preview_patient_import(
    state: State<'_, AppState>,
    data_base64: String,
    mapping: Option<Mapping>,
) -> Cmd<ImportPreview> {
    let auth = state.session.authorize(&state.store).await?;
    csv_io::preview(&state.store, &auth, &decode_base64(&data_base64, "file")?, mapping).await
}

/// Imports the valid rows of a CSV, reporting progress on `on_progress`.
#[tauri::command]
#[specta::specta]
pub async fn import_patients(
    state: State<'_, AppState>,
    data_base64: String,
    mapping: Mapping,
    on_progress: Channel<ImportProgress>,
) -> Cmd<ImportReport> {
    let auth = state.session.authorize(&state.store).await?;
    let data = decode_base64(&data_base64, "file")?;
    // A closed channel (the screen went away) must not stop the import.
    csv_io::import(&state.store, &auth, &data, mapping, move |p| drop(on_progress.send(p))).await
}

/// Exports every patient, or the result of a search, to a CSV file in Downloads/HMS.
#[tauri::command]
#[specta::specta]
pub async fn export_patients(state: State<'_, AppState>, query: Option<String>) -> Cmd<SavedFile> {
    let auth = state.session.authorize(&state.store).await?;
    let csv = csv_io::export(&state.store, &auth, query.as_deref().filter(|q| !q.trim().is_empty())).await?;
    let name = format!("patients-{}.csv", state.store.now().format("%Y%m%d-%H%M%S"));
    files::save(&state.exports_dir, &name, &csv)
}
