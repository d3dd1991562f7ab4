//! Lab consumption: what each lab test uses of the lab's stock, and the uses no batch gave in
//! full (`hms_core::stock::lab_use`). Results themselves are entered with `enter_lab_result`.

use super::Cmd;
use crate::state::AppState;
use hms_core::stock::{lab_use, LabConsumable, LabConsumableInput, LabUse};
use tauri::State;

/// What a lab test uses per test.
#[tauri::command]
#[specta::specta]
pub async fn lab_test_consumables(state: State<'_, AppState>, test_id: String) -> Cmd<Vec<LabConsumable>> {
    lab_use::test_consumables(&state.store, &authorized!(state), &test_id).await
}

/// Replaces what a lab test uses per test; answers the list as stored.
#[tauri::command]
#[specta::specta]
pub async fn set_lab_test_consumables(
    state: State<'_, AppState>,
    test_id: String,
    lines: Vec<LabConsumableInput>,
) -> Cmd<Vec<LabConsumable>> {
    lab_use::set_test_consumables(&state.store, &authorized!(state), &test_id, lines).await
}

/// Lab uses that no batch gave in full, newest first.
#[tauri::command]
#[specta::specta]
pub async fn lab_use_shortfalls(state: State<'_, AppState>) -> Cmd<Vec<LabUse>> {
    lab_use::shortfalls(&state.store, &authorized!(state)).await
}
