//! Files the app writes for the user (ID cards, printouts, exports) into the exports folder
//! chosen at start (Downloads/HMS, or the data directory where there is none, e.g. Android),
//! then optionally opened in the system viewer. The webview learns the path to show it; it
//! never sends one back: opening again goes by printout id (`hms_core::printouts::open`).

use hms_core::Error;
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct SavedFile {
    pub path: String,
    pub file_name: String,
    /// Whether the system viewer was started (there may be none, e.g. on a kiosk).
    pub opened: bool,
    /// The printout recorded for this file (`hms_core::printouts`), for a PDF printed.
    pub printout_id: Option<String>,
}

/// The exports folder, and whether the system's file manager was started on it.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ExportsFolder {
    pub path: String,
    pub opened: bool,
}

pub fn save(dir: &Path, file_name: &str, bytes: &[u8]) -> Result<SavedFile, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::storage(format_args!("cannot create {}: {e}", dir.display())))?;
    let file_name = hms_core::printouts::safe_file_name(file_name);
    let path = dir.join(&file_name);
    std::fs::write(&path, bytes).map_err(|e| Error::storage(format_args!("cannot write {}: {e}", path.display())))?;
    Ok(SavedFile { path: path.display().to_string(), file_name, opened: false, printout_id: None })
}

/// Whether files may be opened in the system's viewer: not with HMS_NO_OPEN=1 (tests,
/// kiosks).
fn may_open() -> bool {
    std::env::var("HMS_NO_OPEN").map_or(true, |v| v != "1")
}

/// Opens a saved file (or the folder) with the system's opener; false when there is none.
pub fn open(path: &Path) -> bool {
    may_open() && tauri_plugin_opener::open_path(path.display().to_string(), None::<&str>).is_ok()
}

pub fn save_and_open(dir: &Path, file_name: &str, bytes: &[u8]) -> Result<SavedFile, Error> {
    let mut saved = save(dir, file_name, bytes)?;
    saved.opened = open(Path::new(&saved.path));
    Ok(saved)
}

/// Saves a recorded printout under its recorded name and opens it.
pub fn save_printout(dir: &Path, printout: &hms_core::printouts::Printout, bytes: &[u8]) -> Result<SavedFile, Error> {
    let mut saved = save_and_open(dir, &printout.file_name, bytes)?;
    saved.printout_id = Some(printout.id.clone());
    Ok(saved)
}

/// The exports folder, created if missing, opened in the system's file manager.
pub fn open_folder(dir: &Path) -> Result<ExportsFolder, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::storage(format_args!("cannot create {}: {e}", dir.display())))?;
    Ok(ExportsFolder { path: dir.display().to_string(), opened: open(dir) })
}
