//! Inpatients: wards, rooms and beds; admission, transfer, swap, discharge; housekeeping; the
//! bed board and the bed-day census; the ward round's orders, MAR, due list and notes; the
//! discharge summary
//! (`hms_core::inpatients`).

use super::Cmd;
use crate::files::{self, SavedFile};
use crate::state::AppState;
use hms_core::inpatients::due::{self, WardDueList};
use hms_core::inpatients::mar::{self, DoseInput, Mar, MarEntry};
use hms_core::inpatients::notes::{self, InpatientNote, NoteInput};
use hms_core::inpatients::orders::{self, InpatientOrder, OrderInput};
use hms_core::inpatients::rights::{self, WardSettings};
use hms_core::inpatients::summary::{self, DischargeSummary, SummaryInput, SummaryView};
use hms_core::inpatients::summary_pdf;
use hms_core::inpatients::{
    board, census, reservations, setup, stays, Accrual, Admission, AdmitExtras, AdmitInput, Bed, BedInput, Board,
    BoardFilter, DischargeInput, ReserveInput, Room, Ward, WardInput,
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
pub async fn rename_room(state: State<'_, AppState>, room_id: String, name: String) -> Cmd<Room> {
    setup::rename_room(&state.store, &authorized!(state), &room_id, &name).await
}

/// Holds a free bed for an expected patient until a time.
#[tauri::command]
#[specta::specta]
pub async fn reserve_bed(state: State<'_, AppState>, input: ReserveInput) -> Cmd<()> {
    reservations::reserve(&state.store, &authorized!(state), input).await
}

#[tauri::command]
#[specta::specta]
pub async fn cancel_bed_reservation(state: State<'_, AppState>, bed_id: String) -> Cmd<()> {
    reservations::cancel(&state.store, &authorized!(state), &bed_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn list_beds(state: State<'_, AppState>) -> Cmd<Vec<Bed>> {
    setup::beds(&state.store, &authorized!(state)).await
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

/// Whether reception admits and moves patients, and what that withholds from the caller.
#[tauri::command]
#[specta::specta]
pub async fn ward_settings(state: State<'_, AppState>) -> Cmd<WardSettings> {
    rights::settings(&state.store, &authorized!(state)).await
}

#[tauri::command]
#[specta::specta]
pub async fn set_reception_moves(state: State<'_, AppState>, allow: bool) -> Cmd<WardSettings> {
    rights::set_reception_moves(&state.store, &authorized!(state), allow).await
}

/// The bed board, filtered by ward and tag.
#[tauri::command]
#[specta::specta]
pub async fn bed_board(state: State<'_, AppState>, filter: BoardFilter) -> Cmd<Board> {
    board::board(&state.store, &authorized!(state), filter).await
}

#[tauri::command]
#[specta::specta]
/// Admits a patient; `extras` may name the visit admitted from and take a deposit (an advance
/// on the bill) in the same transaction.
pub async fn admit_patient(
    state: State<'_, AppState>,
    input: AdmitInput,
    extras: Option<AdmitExtras>,
) -> Cmd<Admission> {
    stays::admit_with(&state.store, &authorized!(state), input, extras.unwrap_or_default()).await
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

// The ward round: orders, the MAR, the ward's due list, notes.

/// An admission's orders, newest first (stopped ones too).
#[tauri::command]
#[specta::specta]
pub async fn inpatient_orders(state: State<'_, AppState>, admission_id: String) -> Cmd<Vec<InpatientOrder>> {
    orders::orders(&state.store, &authorized!(state), &admission_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn order_for_inpatient(state: State<'_, AppState>, input: OrderInput) -> Cmd<InpatientOrder> {
    orders::order(&state.store, &authorized!(state), input).await
}

#[tauri::command]
#[specta::specta]
pub async fn stop_inpatient_order(state: State<'_, AppState>, order_id: String, reason: String) -> Cmd<InpatientOrder> {
    orders::stop(&state.store, &authorized!(state), &order_id, &reason).await
}

/// Stops the order and writes its replacement; answers the new order.
#[tauri::command]
#[specta::specta]
pub async fn change_inpatient_order(
    state: State<'_, AppState>,
    order_id: String,
    input: OrderInput,
) -> Cmd<InpatientOrder> {
    orders::change(&state.store, &authorized!(state), &order_id, input).await
}

#[tauri::command]
#[specta::specta]
pub async fn admission_mar(state: State<'_, AppState>, admission_id: String) -> Cmd<Mar> {
    mar::mar(&state.store, &authorized!(state), &admission_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn record_dose(state: State<'_, AppState>, input: DoseInput) -> Cmd<MarEntry> {
    mar::record(&state.store, &authorized!(state), input).await
}

/// What is due now and overdue on a ward (`at`: RFC 3339, now when absent).
#[tauri::command]
#[specta::specta]
pub async fn ward_due_list(state: State<'_, AppState>, ward_id: String, at: Option<String>) -> Cmd<WardDueList> {
    due::ward_due_list(&state.store, &authorized!(state), &ward_id, at.as_deref()).await
}

#[tauri::command]
#[specta::specta]
pub async fn inpatient_notes(state: State<'_, AppState>, admission_id: String) -> Cmd<Vec<InpatientNote>> {
    notes::notes(&state.store, &authorized!(state), &admission_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn add_inpatient_note(state: State<'_, AppState>, input: NoteInput) -> Cmd<InpatientNote> {
    notes::add_note(&state.store, &authorized!(state), input).await
}

/// The discharge summary screen's data: the stay, the summary (none yet: null), the
/// allergies from the record and the stay's lab results to pick from.
#[tauri::command]
#[specta::specta]
pub async fn discharge_summary(state: State<'_, AppState>, admission_id: String) -> Cmd<SummaryView> {
    summary::view(&state.store, &authorized!(state), &admission_id).await
}

/// Writes or rewrites the summary's draft (a doctor).
#[tauri::command]
#[specta::specta]
pub async fn save_discharge_summary(state: State<'_, AppState>, input: SummaryInput) -> Cmd<DischargeSummary> {
    summary::save(&state.store, &authorized!(state), input).await
}

/// Finalises the summary of a discharged patient (a doctor); it is not edited after.
#[tauri::command]
#[specta::specta]
pub async fn finalise_discharge_summary(state: State<'_, AppState>, admission_id: String) -> Cmd<DischargeSummary> {
    summary::finalise(&state.store, &authorized!(state), &admission_id).await
}

/// Prints the summary as a PDF into the exports folder (recorded as a printout).
#[tauri::command]
#[specta::specta]
pub async fn print_discharge_summary(state: State<'_, AppState>, admission_id: String) -> Cmd<SavedFile> {
    let p = summary_pdf::summary_pdf(&state.store, &authorized!(state), &admission_id).await?;
    files::save_printout(&state.exports_dir, &p.printout, &p.pdf)
}
