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

/// The clinic's locale, hour cycle and time zone for formatting: anyone signed in; before
/// sign-in, the defaults (en-IN, 24-hour).
#[tauri::command]
#[specta::specta]
pub async fn clinic_formats(state: State<'_, AppState>) -> Cmd<settings::ClinicFormats> {
    settings::formats(&state.store, &state.session).await
}

/// Sets the clinic's locale and hour cycle (administrator).
#[tauri::command]
#[specta::specta]
pub async fn set_clinic_formats(
    state: State<'_, AppState>,
    locale: String,
    hour_cycle: settings::HourCycle,
) -> Cmd<settings::ClinicFormats> {
    let auth = state.session.authorize(&state.store).await?;
    settings::set_formats(&state.store, &auth, &locale, hour_cycle).await
}
