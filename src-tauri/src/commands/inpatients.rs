//! Inpatients: wards, rooms and beds; admission, transfer, swap, discharge; housekeeping; the
//! bed board and the bed-day census (`hms_core::inpatients`).

use super::Cmd;
use crate::state::AppState;
use hms_core::inpatients::{
    board, census, setup, stays, Accrual, Admission, AdmitInput, Bed, BedInput, Board, BoardFilter, DischargeInput,
    Room, Ward, WardInput,
};
use tauri::State;

#[tauri::command]
#[specta::specta]
pub async fn list_wards(state: State<'_, AppState>) -> Cmd<Vec<Ward>> {
    setup::wards(&state.store, &authorized!(state)).await
}

#[tauri::command]
#[specta::specta]
pub async fn add_ward(state: State<'_, AppState>, input: WardInput) -> Cmd<Ward> {
    setup::add_ward(&state.store, &authorized!(state), input).await
}

#[tauri::command]
#[specta::specta]
pub async fn update_ward(state: State<'_, AppState>, ward_id: String, input: WardInput) -> Cmd<Ward> {
    setup::update_ward(&state.store, &authorized!(state), &ward_id, input).await
}

#[tauri::command]
#[specta::specta]
pub async fn list_rooms(state: State<'_, AppState>) -> Cmd<Vec<Room>> {
    setup::rooms(&state.store, &authorized!(state)).await
}

#[tauri::command]
#[specta::specta]
pub async fn add_room(state: State<'_, AppState>, ward_id: String, name: String) -> Cmd<Room> {
    setup::add_room(&state.store, &authorized!(state), &ward_id, &name).await
}

#[tauri::command]
#[specta::specta]
pub async fn add_bed(state: State<'_, AppState>, input: BedInput) -> Cmd<Bed> {
    setup::add_bed(&state.store, &authorized!(state), input).await
}

#[tauri::command]
#[specta::specta]
pub async fn update_bed(state: State<'_, AppState>, bed_id: String, input: BedInput) -> Cmd<Bed> {
    setup::update_bed(&state.store, &authorized!(state), &bed_id, input).await
}

/// Takes a free bed out of service with a reason.
#[tauri::command]
#[specta::specta]
pub async fn bed_out_of_service(state: State<'_, AppState>, bed_id: String, reason: String) -> Cmd<()> {
    setup::out_of_service(&state.store, &authorized!(state), &bed_id, &reason).await
}

#[tauri::command]
#[specta::specta]
pub async fn bed_back_in_service(state: State<'_, AppState>, bed_id: String) -> Cmd<()> {
    setup::back_in_service(&state.store, &authorized!(state), &bed_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn bed_to_cleaning(state: State<'_, AppState>, bed_id: String) -> Cmd<()> {
    setup::send_to_cleaning(&state.store, &authorized!(state), &bed_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn bed_cleaned(state: State<'_, AppState>, bed_id: String) -> Cmd<()> {
    setup::mark_clean(&state.store, &authorized!(state), &bed_id).await
}

/// The bed board, filtered by ward and tag.
#[tauri::command]
#[specta::specta]
pub async fn bed_board(state: State<'_, AppState>, filter: BoardFilter) -> Cmd<Board> {
    board::board(&state.store, &authorized!(state), filter).await
}

#[tauri::command]
#[specta::specta]
pub async fn admit_patient(state: State<'_, AppState>, input: AdmitInput) -> Cmd<Admission> {
    stays::admit(&state.store, &authorized!(state), input).await
}

#[tauri::command]
#[specta::specta]
pub async fn patient_admissions(state: State<'_, AppState>, patient_id: String) -> Cmd<Vec<Admission>> {
    stays::patient_admissions(&state.store, &authorized!(state), &patient_id).await
}

/// Moves an admitted patient to another bed, or gives a waiting patient a bed.
#[tauri::command]
#[specta::specta]
pub async fn transfer_patient(state: State<'_, AppState>, admission_id: String, to_bed_id: String) -> Cmd<Admission> {
    stays::transfer(&state.store, &authorized!(state), &admission_id, &to_bed_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn swap_beds(state: State<'_, AppState>, admission_a: String, admission_b: String) -> Cmd<()> {
    stays::swap(&state.store, &authorized!(state), &admission_a, &admission_b).await
}

#[tauri::command]
#[specta::specta]
pub async fn discharge_patient(state: State<'_, AppState>, input: DischargeInput) -> Cmd<Admission> {
    stays::discharge(&state.store, &authorized!(state), input).await
}

/// Charges every bed-day passed and not yet charged.
#[tauri::command]
#[specta::specta]
pub async fn run_bed_census(state: State<'_, AppState>) -> Cmd<Accrual> {
    census::accrue(&state.store, &authorized!(state)).await
}
