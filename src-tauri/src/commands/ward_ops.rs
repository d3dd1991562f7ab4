//! The ward's operations around the round: intake/output charting, the handover of a shift,
//! and the admit dialog filled in from a visit or the queue (`hms_core::inpatients`).

use super::Cmd;
use crate::state::AppState;
use hms_core::inpatients::handover::{self, Handover};
use hms_core::inpatients::intake_output::{self, IoChart, IoEntry, IoInput};
use hms_core::inpatients::{admit_from, AdmitDraft};
use tauri::State;

/// Records an intake or output entry, or a correction that voids one (nurses).
#[tauri::command]
#[specta::specta]
pub async fn record_intake_output(state: State<'_, AppState>, input: IoInput) -> Cmd<IoEntry> {
    intake_output::record(&state.store, &authorized!(state), input).await
}

/// An admission's intake/output entries and the balances of a clinic day (`day`: YYYY-MM-DD,
/// today when absent).
#[tauri::command]
#[specta::specta]
pub async fn intake_output_chart(
    state: State<'_, AppState>,
    admission_id: String,
    day: Option<String>,
) -> Cmd<IoChart> {
    intake_output::chart(&state.store, &authorized!(state), &admission_id, day.as_deref()).await
}

/// The handover of a ward's shift (`day` and `shift` together, or neither: the shift now).
#[tauri::command]
#[specta::specta]
pub async fn ward_handover(
    state: State<'_, AppState>,
    ward_id: String,
    day: Option<String>,
    shift: Option<String>,
) -> Cmd<Handover> {
    handover::handover(&state.store, &authorized!(state), &ward_id, day.as_deref(), shift.as_deref()).await
}

/// The admit dialog filled in from a visit (the doctor's "Admit").
#[tauri::command]
#[specta::specta]
pub async fn admit_draft_from_visit(state: State<'_, AppState>, visit_id: String) -> Cmd<AdmitDraft> {
    admit_from::from_visit(&state.store, &authorized!(state), &visit_id).await
}

/// The admit dialog filled in from a queued appointment (checked in or with the doctor).
#[tauri::command]
#[specta::specta]
pub async fn admit_draft_from_appointment(state: State<'_, AppState>, appointment_id: String) -> Cmd<AdmitDraft> {
    admit_from::from_appointment(&state.store, &authorized!(state), &appointment_id).await
}
