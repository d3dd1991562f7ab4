//! Backups of this device (administrators; the core checks the permission): the status and
//! list, the folder and daily time, "Back up now" with its progress, and Verify / Inspect of
//! a backup by its folder NAME (the core finds it in the folder's own listing: no path from
//! the webview is ever used). Automatic backups run by themselves (see `lib.rs`).

use super::Cmd;
use crate::AppState;
use hms_core::backup::{
    self, BackupProgress, BackupReport, BackupSettings, BackupSettingsInput, BackupStatus, Manifest, RestoreOutcome,
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

/// Whether the backup of that name was made on another computer: this computer's key does not
/// open it, and restoring it needs that computer's recovery key.
#[tauri::command]
#[specta::specta]
pub async fn backup_needs_recovery_key(state: State<'_, AppState>, name: String) -> Cmd<bool> {
    let auth = authorized!(state);
    backup::needs_recovery_key(&state.store, &auth, &name).await
}

/// What another computer's backup holds, once its recovery key opened it (checked whole; wrong
/// keys are limited like sign-in by the core).
#[tauri::command]
#[specta::specta]
pub async fn backup_open_with_recovery_key(
    state: State<'_, AppState>,
    name: String,
    recovery_key: String,
) -> Cmd<Manifest> {
    let auth = authorized!(state);
    backup::open_with_recovery_key(&state.store, &auth, &name, &recovery_key).await
}

/// Restores the backup of that name in the device's folder (another computer's with its
/// `recovery_key`): verified and recorded by the core, then the user is signed out, the store
/// closed, and the app starts again, restoring before it opens the store. The answer (what the
/// backup holds) reaches the screen before the restart.
#[tauri::command]
#[specta::specta]
pub async fn backup_restore(state: State<'_, AppState>, name: String, recovery_key: Option<String>) -> Cmd<Manifest> {
    let auth = authorized!(state);
    let manifest = backup::request_restore_with(&state.store, &auth, &name, recovery_key.as_deref()).await?;
    // Signed out as at any sign-out (audited); then the database is folded whole and closed.
    if let Err(e) = hms_core::auth::sign_out(&state.store, &state.session).await {
        tracing::warn!(target: "hms::backup", code = e.code(), error = %e, "signing out before the restore");
    }
    state.store.close().await;
    state.restart_soon();
    Ok(manifest)
}

/// How the restore asked for before this start ended, if one was (the sign-in screen shows
/// it; no session is needed, as nobody is signed in after the restart).
#[tauri::command]
#[specta::specta]
pub async fn restore_outcome(state: State<'_, AppState>) -> Cmd<Option<RestoreOutcome>> {
    Ok(state.restore_outcome.clone())
}

/// This computer's recovery key, after the administrator's password again (audited).
#[tauri::command]
#[specta::specta]
pub async fn backup_recovery_key(state: State<'_, AppState>, password: String) -> Cmd<String> {
    let auth = authorized!(state);
    backup::recovery_key(&state.store, &auth, &password).await
}

/// The recovery sheet (A4 PDF: the key in writing and as a QR code), after the administrator's
/// password again (audited); saved in the exports folder and opened for printing. It is not
/// kept as a printout (see `hms_core::backup::recovery`).
#[tauri::command]
#[specta::specta]
pub async fn backup_recovery_sheet(state: State<'_, AppState>, password: String) -> Cmd<crate::files::SavedFile> {
    let auth = authorized!(state);
    let sheet = backup::recovery_sheet(&state.store, &auth, &password).await?;
    crate::files::save_and_open(&state.exports_dir, &sheet.file_name, &sheet.pdf)
}
