//! Reports: what the user may pick, a report's table, and its export (saved to the exports
//! folder; the webview is told where, it never names a path).

use super::Cmd;
use crate::files::{self, SavedFile};
use crate::AppState;
use hms_core::reports::dashboard::{self, Dashboard};
use hms_core::reports::export::{self, Format};
use hms_core::reports::{self, FilterChoices, Report, ReportRequest};
use tauri::State;

#[tauri::command]
#[specta::specta]
pub async fn report_choices(state: State<'_, AppState>) -> Cmd<FilterChoices> {
    reports::filter_choices(&state.store, &authorized!(state)).await
}

#[tauri::command]
#[specta::specta]
pub async fn run_report(state: State<'_, AppState>, request: ReportRequest) -> Cmd<Report> {
    reports::run(&state.store, &authorized!(state), &request).await
}

/// Exports the report (audited) to a file in the exports folder.
#[tauri::command]
#[specta::specta]
pub async fn export_report(state: State<'_, AppState>, request: ReportRequest, format: Format) -> Cmd<SavedFile> {
    let out = export::export(&state.store, &authorized!(state), &request, format).await?;
    files::save(&state.exports_dir, &out.file_name, &out.bytes)
}

/// Home: the dashboards the signed-in user's roles open (administrator/accountant, desk,
/// doctor, wards), read at once.
#[tauri::command]
#[specta::specta]
pub async fn dashboard_home(state: State<'_, AppState>) -> Cmd<Dashboard> {
    dashboard::home(&state.store, &authorized!(state)).await
}
