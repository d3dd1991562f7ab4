//! HL7 FHIR R4 export: a patient's record as a Bundle saved into the exports folder, and the
//! whole clinic as Bulk Data NDJSON into a new folder there, with progress. Import: the files
//! the webview read (base64, as the CSV import) previewed, then imported, with progress.

use super::Cmd;
use crate::files::{self, SavedFile};
use crate::AppState;
use hms_core::fhir::import::{ImportProgress, ImportReport, InputFile, Upload};
use hms_core::fhir::{self, ClinicExport, ExportProgress};
use tauri::ipc::Channel;
use tauri::State;

/// Exports a patient's record as `fhir-<MRN>.json` into the exports folder.
#[tauri::command]
#[specta::specta]
pub async fn export_patient_fhir(state: State<'_, AppState>, patient_id: String) -> Cmd<SavedFile> {
    let auth = authorized!(state);
    let export = fhir::export_patient(&state.store, &auth, &patient_id).await?;
    files::save(&state.exports_dir, &export.file_name(), &export.json)
}

/// Exports the whole clinic into `fhir-export-<date>-<time>/` in the exports folder.
#[tauri::command]
#[specta::specta]
pub async fn export_clinic_fhir(state: State<'_, AppState>, on_progress: Channel<ExportProgress>) -> Cmd<ClinicExport> {
    let auth = authorized!(state);
    let dir = state.exports_dir.join(format!("fhir-export-{}", state.store.now().format("%Y%m%d-%H%M%S")));
    // A closed channel (the screen went away) must not stop the export.
    fhir::export_clinic(&state.store, &auth, &dir, move |p| drop(on_progress.send(p))).await
}

/// The uploads' bytes, each file's size checked by the core before it is decoded.
fn decode(files: &[Upload]) -> Cmd<Vec<InputFile>> {
    files.iter().map(Upload::decode).collect()
}

/// What importing the files would do (counts, problems), writing nothing.
#[tauri::command]
#[specta::specta]
pub async fn preview_fhir_import(
    state: State<'_, AppState>,
    files: Vec<Upload>,
    on_progress: Channel<ImportProgress>,
) -> Cmd<ImportReport> {
    let auth = authorized!(state);
    let files = decode(&files)?;
    fhir::import::preview(&state.store, &auth, &files, move |p| drop(on_progress.send(p))).await
}

/// Imports the files, each patient's resources in one write, reporting progress per patient.
#[tauri::command]
#[specta::specta]
pub async fn import_fhir(
    state: State<'_, AppState>,
    files: Vec<Upload>,
    on_progress: Channel<ImportProgress>,
) -> Cmd<ImportReport> {
    let auth = authorized!(state);
    let files = decode(&files)?;
    // A closed channel (the screen went away) must not stop the import.
    fhir::import::import(&state.store, &auth, &files, move |p| drop(on_progress.send(p))).await
}
