//! HL7 FHIR R4 export: a patient's record as a Bundle saved into the exports folder, and the
//! whole clinic as Bulk Data NDJSON into a new folder there, with progress.

use super::Cmd;
use crate::files::{self, SavedFile};
use crate::AppState;
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
