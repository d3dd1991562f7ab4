//! Clinic-wide settings.

use super::Cmd;
use crate::AppState;
use hms_core::settings::{self, Settings};
use tauri::State;

#[tauri::command]
#[specta::specta]
pub async fn get_settings(state: State<'_, AppState>) -> Cmd<Settings> {
    let auth = state.session.authorize(&state.store).await?;
    settings::get(&state.store, &auth).await
}

#[tauri::command]
#[specta::specta]
pub async fn update_settings(state: State<'_, AppState>, settings: Settings) -> Cmd<Settings> {
    let auth = state.session.authorize(&state.store).await?;
    settings::update(&state.store, &auth, settings).await
}
