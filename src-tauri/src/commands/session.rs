//! First start, signing in and out, lock and unlock.

use super::Cmd;
use crate::AppState;
use hms_core::setup::{self, AppStatus, DemoAccount, NewAdmin, Starters};
use hms_core::{auth, SessionInfo};
use tauri::State;

#[tauri::command]
#[specta::specta]
pub async fn app_status(state: State<'_, AppState>) -> Cmd<AppStatus> {
    setup::status(&state.store, &state.session).await
}

#[tauri::command]
#[specta::specta]
/// The first administrator, with the starter lists the new clinic chose (one write).
pub async fn setup_first_admin(state: State<'_, AppState>, input: NewAdmin, starters: Starters) -> Cmd<SessionInfo> {
    setup::setup_clinic(&state.store, &state.session, input, starters).await
}

/// The time zones a clinic may choose, for the set-up screen (before anyone signs in).
#[tauri::command]
#[specta::specta]
pub async fn time_zone_choices() -> Cmd<Vec<String>> {
    Ok(hms_core::settings::time_zone_choices())
}

#[tauri::command]
#[specta::specta]
pub async fn load_demo(state: State<'_, AppState>) -> Cmd<Vec<DemoAccount>> {
    setup::load_demo(&state.store).await
}

#[tauri::command]
#[specta::specta]
pub async fn sign_in(state: State<'_, AppState>, username: String, password: String) -> Cmd<SessionInfo> {
    auth::sign_in(&state.store, &state.session, &username, &password).await
}

#[tauri::command]
#[specta::specta]
pub async fn sign_out(state: State<'_, AppState>) -> Cmd<()> {
    auth::sign_out(&state.store, &state.session).await
}

#[tauri::command]
#[specta::specta]
pub async fn lock_session(state: State<'_, AppState>) -> Cmd<()> {
    auth::lock(&state.store, &state.session).await
}

#[tauri::command]
#[specta::specta]
pub async fn unlock_session(state: State<'_, AppState>, password: String) -> Cmd<SessionInfo> {
    auth::unlock(&state.store, &state.session, &password).await
}

#[tauri::command]
#[specta::specta]
pub async fn heartbeat(state: State<'_, AppState>) -> Cmd<SessionInfo> {
    auth::heartbeat(&state.store, &state.session).await
}
