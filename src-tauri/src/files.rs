//! Files the app writes for the user (ID cards, exports) into the exports folder chosen at
//! start (Downloads/HMS, or the data directory where there is none, e.g. Android), then
//! optionally opened in the system viewer. The webview only ever learns the path.

use hms_core::Error;
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct SavedFile {
    pub path: String,
    pub file_name: String,
    /// Whether the system viewer was started (there may be none, e.g. on a kiosk).
    pub opened: bool,
}

/// Keeps a file name to letters, digits, dot, dash and underscore.
fn safe_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect()
}

pub fn save(dir: &Path, file_name: &str, bytes: &[u8]) -> Result<SavedFile, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::storage(format_args!("cannot create {}: {e}", dir.display())))?;
    let file_name = safe_name(file_name);
    let path = dir.join(&file_name);
    std::fs::write(&path, bytes).map_err(|e| Error::storage(format_args!("cannot write {}: {e}", path.display())))?;
    Ok(SavedFile { path: path.display().to_string(), file_name, opened: false })
}

pub fn save_and_open(dir: &Path, file_name: &str, bytes: &[u8]) -> Result<SavedFile, Error> {
    let mut saved = save(dir, file_name, bytes)?;
    // HMS_NO_OPEN=1 (tests, kiosks): save only.
    if std::env::var("HMS_NO_OPEN").map_or(true, |v| v != "1") {
        saved.opened = tauri_plugin_opener::open_path(&saved.path, None::<&str>).is_ok();
    }
    Ok(saved)
}
