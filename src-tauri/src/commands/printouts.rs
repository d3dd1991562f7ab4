//! Printouts: the PDFs printed for a patient, a bill or a visit (`hms_core::printouts`),
//! opened again or printed again by id, and the exports folder they are saved in.

use super::Cmd;
use crate::files::{self, ExportsFolder, SavedFile};
use crate::AppState;
use hms_core::printouts::{self, Printout, PrintoutsOf};
use std::path::Path;
use tauri::State;

/// The printouts of a patient, a bill or a visit, newest first (of the kinds the user may
/// read).
#[tauri::command]
#[specta::specta]
pub async fn printouts(state: State<'_, AppState>, of: PrintoutsOf) -> Cmd<Vec<Printout>> {
    printouts::list(&state.store, &authorized!(state), &of).await
}

/// Opens a printout's saved file in the system viewer, if it is still in the exports folder
/// and unchanged (`printout_missing`, `printout_changed` otherwise: print it again).
#[tauri::command]
#[specta::specta]
pub async fn open_printout(state: State<'_, AppState>, id: String) -> Cmd<SavedFile> {
    let (p, path) = printouts::open(&state.store, &authorized!(state), &id, &state.exports_dir).await?;
    Ok(SavedFile {
        opened: files::open(&path),
        path: path.display().to_string(),
        file_name: p.file_name,
        printout_id: Some(p.id),
    })
}

/// Makes a printout's document again, records it as a reprint, saves and opens it.
#[tauri::command]
#[specta::specta]
pub async fn print_again(state: State<'_, AppState>, id: String) -> Cmd<SavedFile> {
    let d = printouts::reprint(&state.store, &authorized!(state), &id).await?;
    files::save_printout(&state.exports_dir, &d.printout, &d.pdf)
}

/// Where printouts and exports are saved (shown on the printouts lists).
#[tauri::command]
#[specta::specta]
pub async fn exports_folder(state: State<'_, AppState>) -> Cmd<String> {
    authorized!(state);
    Ok(Path::new(&state.exports_dir).display().to_string())
}

/// Opens the exports folder in the system's file manager.
#[tauri::command]
#[specta::specta]
pub async fn open_exports_folder(state: State<'_, AppState>) -> Cmd<ExportsFolder> {
    authorized!(state);
    files::open_folder(&state.exports_dir)
}
