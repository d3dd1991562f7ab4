//! Backups of this device (administrators; the core checks the permission): the status and
//! list, the folder and daily time, "Back up now" with its progress, and Verify / Inspect of
//! a backup by its folder NAME (the core finds it in the folder's own listing: no path from
//! the webview is ever used). Automatic backups run by themselves (see `lib.rs`).

use super::Cmd;
use crate::AppState;
use hms_core::backup::{
    self, BackupProgress, BackupReport, BackupSettings, BackupSettingsInput, BackupStatus, Manifest,
};
use tauri::ipc::Channel;
use tauri::State;

/// The Backups screen and the Home tile: settings, last good backup and its age, the list.
#[tauri::command]
#[specta::specta]
pub async fn backup_status(state: State<'_, AppState>) -> Cmd<BackupStatus> {
    let auth = authorized!(state);
    backup::status(&state.store, &auth).await
}

/// Sets this device's backup folder and daily time.
#[tauri::command]
#[specta::specta]
pub async fn backup_settings_set(state: State<'_, AppState>, input: BackupSettingsInput) -> Cmd<BackupSettings> {
    let auth = authorized!(state);
    backup::set_settings(&state.store, &auth, input).await
}

/// Backs up now into the device's folder, verified, reporting progress on `on_progress`. The
/// copy runs on SQLite's and the blocking pool's threads: the app keeps working meanwhile.
#[tauri::command]
#[specta::specta]
pub async fn backup_now(state: State<'_, AppState>, on_progress: Channel<BackupProgress>) -> Cmd<BackupReport> {
    let auth = authorized!(state);
    // A closed channel (the screen went away) must not stop the backup.
    let progress = move |p: BackupProgress| drop(on_progress.send(p));
    backup::back_up_now(&state.store, &auth, &progress).await
}

/// Checks the backup of that name in the device's folder whole.
#[tauri::command]
#[specta::specta]
pub async fn backup_verify(state: State<'_, AppState>, name: String) -> Cmd<Manifest> {
    let auth = authorized!(state);
    backup::verify_named(&state.store, &auth, &name).await
}

/// What the backup of that name holds (before a restore).
#[tauri::command]
#[specta::specta]
pub async fn backup_inspect(state: State<'_, AppState>, name: String) -> Cmd<Manifest> {
    let auth = authorized!(state);
    backup::inspect_named(&state.store, &auth, &name).await
}
