//! The audit log viewer.

use super::Cmd;
use crate::AppState;
use hms_core::audit::{self, AuditFilter, AuditPage, AuditVerification};
use tauri::State;

#[tauri::command]
#[specta::specta]
pub async fn list_audit(state: State<'_, AppState>, filter: AuditFilter) -> Cmd<AuditPage> {
    let auth = state.session.authorize(&state.store).await?;
    audit::list(&state.store, &auth, &filter).await
}

#[tauri::command]
#[specta::specta]
pub async fn audit_actions(state: State<'_, AppState>) -> Cmd<Vec<String>> {
    let auth = state.session.authorize(&state.store).await?;
    audit::actions(&state.store, &auth).await
}

#[tauri::command]
#[specta::specta]
pub async fn verify_audit(state: State<'_, AppState>) -> Cmd<AuditVerification> {
    let auth = state.session.authorize(&state.store).await?;
    // The local chain, then the sync server's copy of it when this device is connected.
    hms_core::sync::verify_audit(&state.store, &auth).await
}
