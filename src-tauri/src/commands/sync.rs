//! Sync with the clinic's server: status, enrolment (with the first sync's progress), "sync
//! now", and the conflicts inbox. The background sync runs by itself (see `lib.rs`).

use super::Cmd;
use crate::AppState;
use hms_core::sync::{self, ConflictResolution, Enrolment, SyncConflict, SyncProgress, SyncReport, SyncStatus};
use tauri::ipc::Channel;
use tauri::State;

/// The status indicator: state, pending changes, offline since, last error, open conflicts.
#[tauri::command]
#[specta::specta]
pub async fn sync_status(state: State<'_, AppState>) -> Cmd<SyncStatus> {
    // The header polls this every few seconds: check the session without counting it as
    // activity, or an unattended screen would never lock.
    match state.session.info(&state.store).await? {
        None => return Err(hms_core::Error::NotSignedIn),
        Some(info) if info.locked => return Err(hms_core::Error::SessionLocked),
        Some(_) => {}
    }
    Ok(sync::status(&state.store).await?)
}

/// Enrols this device with a one-time code (administrators), then runs its first sync,
/// reporting progress on `on_progress`.
#[tauri::command]
#[specta::specta]
pub async fn enrol_device(
    state: State<'_, AppState>,
    server_url: String,
    code: String,
    device_name: String,
    on_progress: Channel<SyncProgress>,
) -> Cmd<Enrolment> {
    let auth = state.session.authorize(&state.store).await?;
    // A closed channel (the screen went away) must not stop the sync.
    let progress = move |p: SyncProgress| drop(on_progress.send(p));
    Ok(sync::enrol_and_sync(&state.store, &auth, &server_url, &code, &device_name, &progress).await?)
}

/// "Connect again" (administrators): a device the server revoked comes back with a code made
/// for it, under its own id; then syncs, reporting progress (its unsent work goes out).
#[tauri::command]
#[specta::specta]
pub async fn connect_again(
    state: State<'_, AppState>,
    code: String,
    on_progress: Channel<SyncProgress>,
) -> Cmd<Enrolment> {
    let auth = state.session.authorize(&state.store).await?;
    let progress = move |p: SyncProgress| drop(on_progress.send(p));
    Ok(sync::connect_again_and_sync(&state.store, &auth, &code, &progress).await?)
}

/// Pushes and pulls now (any signed-in user), reporting progress on `on_progress`. Waits
/// for a background sync that is already running.
#[tauri::command]
#[specta::specta]
pub async fn sync_now(state: State<'_, AppState>, on_progress: Channel<SyncProgress>) -> Cmd<SyncReport> {
    state.session.authorize(&state.store).await?;
    let progress = move |p: SyncProgress| drop(on_progress.send(p));
    Ok(sync::sync_now_with(&state.store, &progress).await?)
}

/// The conflicts inbox (administrators): open ones first.
#[tauri::command]
#[specta::specta]
pub async fn list_sync_conflicts(state: State<'_, AppState>, include_resolved: bool) -> Cmd<Vec<SyncConflict>> {
    let auth = state.session.authorize(&state.store).await?;
    sync::conflicts::list(&state.store, &auth, include_resolved).await
}

/// Resolves a conflict (administrators); answers it as it now stands.
#[tauri::command]
#[specta::specta]
pub async fn resolve_sync_conflict(
    state: State<'_, AppState>,
    id: String,
    resolution: ConflictResolution,
) -> Cmd<SyncConflict> {
    let auth = state.session.authorize(&state.store).await?;
    sync::conflicts::resolve(&state.store, &auth, &id, resolution).await
}
