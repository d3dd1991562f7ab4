//! Pharmacy and lab stock: stores, suppliers and items; receiving; transfers and adjustments;
//! dispensing against prescriptions and returns; balances, the expiry list and the batches
//! below zero (`hms_core::stock`).

use super::Cmd;
use crate::files::{self, SavedFile};
use crate::state::AppState;
use hms_core::stock::medicines::{self, MedicineOption};
use hms_core::stock::proposal::{self, Proposal, ProposeInput};
use hms_core::stock::returnable::{self, DispensedBatch};
use hms_core::stock::{
    dispensing, labels, ledger, moves, receiving, setup, AdjustInput, BatchBalance, DispenseInput, Dispensed,
    ExpiryLine, ItemHit, Receipt, ReceiptInput, ReturnInput, Returned, StockItem, StockItemInput, StockStore,
    StockStoreInput, Supplier, SupplierInput, TransferInput, WaitingPrescription,
};
use tauri::State;

#[tauri::command]
#[specta::specta]
pub async fn stock_stores(state: State<'_, AppState>) -> Cmd<Vec<StockStore>> {
    setup::stores(&state.store, &authorized!(state)).await
}

#[tauri::command]
#[specta::specta]
pub async fn add_stock_store(state: State<'_, AppState>, input: StockStoreInput) -> Cmd<StockStore> {
    setup::add_store(&state.store, &authorized!(state), input).await
}

#[tauri::command]
#[specta::specta]
pub async fn suppliers(state: State<'_, AppState>) -> Cmd<Vec<Supplier>> {
    setup::suppliers(&state.store, &authorized!(state)).await
}

#[tauri::command]
#[specta::specta]
pub async fn add_supplier(state: State<'_, AppState>, input: SupplierInput) -> Cmd<Supplier> {
    setup::add_supplier(&state.store, &authorized!(state), input).await
}

#[tauri::command]
#[specta::specta]
pub async fn add_stock_item(state: State<'_, AppState>, input: StockItemInput) -> Cmd<StockItem> {
    setup::add_item(&state.store, &authorized!(state), input).await
}

#[tauri::command]
#[specta::specta]
pub async fn update_stock_item(state: State<'_, AppState>, item_id: String, input: StockItemInput) -> Cmd<StockItem> {
    setup::update_item(&state.store, &authorized!(state), &item_id, input).await
}

/// Items by the start of a word of their name, with the usable stock on hand.
#[tauri::command]
#[specta::specta]
pub async fn search_stock_items(state: State<'_, AppState>, query: String) -> Cmd<Vec<ItemHit>> {
    setup::search_items(&state.store, &authorized!(state), &query).await
}

/// Holds a batch (with a reason) or releases it.
#[tauri::command]
#[specta::specta]
pub async fn set_batch_hold(state: State<'_, AppState>, batch_id: String, on_hold: bool, reason: String) -> Cmd<()> {
    setup::set_batch_hold(&state.store, &authorized!(state), &batch_id, on_hold, &reason).await
}

#[tauri::command]
#[specta::specta]
pub async fn receive_stock(state: State<'_, AppState>, input: ReceiptInput) -> Cmd<Receipt> {
    receiving::receive(&state.store, &authorized!(state), input).await
}

/// Moves units of a batch between stores; answers the transfer's id.
#[tauri::command]
#[specta::specta]
pub async fn transfer_stock(state: State<'_, AppState>, input: TransferInput) -> Cmd<String> {
    moves::transfer(&state.store, &authorized!(state), input).await
}

/// Adjusts a batch in a store with a reason; answers the movement's id.
#[tauri::command]
#[specta::specta]
pub async fn adjust_stock(state: State<'_, AppState>, input: AdjustInput) -> Cmd<String> {
    moves::adjust(&state.store, &authorized!(state), input).await
}

#[tauri::command]
#[specta::specta]
pub async fn prescriptions_waiting(state: State<'_, AppState>) -> Cmd<Vec<WaitingPrescription>> {
    dispensing::waiting(&state.store, &authorized!(state)).await
}

#[tauri::command]
#[specta::specta]
pub async fn dispense(state: State<'_, AppState>, input: DispenseInput) -> Cmd<Dispensed> {
    dispensing::dispense(&state.store, &authorized!(state), input).await
}

#[tauri::command]
#[specta::specta]
pub async fn return_dispensed(state: State<'_, AppState>, input: ReturnInput) -> Cmd<Returned> {
    dispensing::return_dispensed(&state.store, &authorized!(state), input).await
}

#[tauri::command]
#[specta::specta]
pub async fn item_balances(state: State<'_, AppState>, item_id: String) -> Cmd<Vec<BatchBalance>> {
    ledger::item_balances(&state.store, &authorized!(state), &item_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn negative_batches(state: State<'_, AppState>) -> Cmd<Vec<ledger::ShortLine>> {
    ledger::negative_batches(&state.store, &authorized!(state)).await
}

/// A store's batches with stock expiring within `days` days (expired ones included).
#[tauri::command]
#[specta::specta]
pub async fn expiry_report(state: State<'_, AppState>, store_id: String, days: u32) -> Cmd<Vec<ExpiryLine>> {
    ledger::expiry_report(&state.store, &authorized!(state), &store_id, days).await
}

#[tauri::command]
#[specta::specta]
pub async fn stock_allows_negative(state: State<'_, AppState>) -> Cmd<bool> {
    ledger::allows_negative(&state.store, &authorized!(state)).await
}

#[tauri::command]
#[specta::specta]
pub async fn set_stock_allow_negative(state: State<'_, AppState>, allow: bool) -> Cmd<()> {
    ledger::set_allow_negative(&state.store, &authorized!(state), allow).await
}

/// What first-expiry-first-out would take for a prescription line now (nothing written).
#[tauri::command]
#[specta::specta]
pub async fn propose_dispense(state: State<'_, AppState>, input: ProposeInput) -> Cmd<Proposal> {
    proposal::propose(&state.store, &authorized!(state), input).await
}

/// A patient's dispensed batches with what came back, newest first (returns name one).
#[tauri::command]
#[specta::specta]
pub async fn patient_dispensed(state: State<'_, AppState>, patient_id: String) -> Cmd<Vec<DispensedBatch>> {
    returnable::patient_dispensed(&state.store, &authorized!(state), &patient_id).await
}

/// The labels of what was dispensed at the go of a dispensing, as one PDF saved to the
/// exports folder and opened.
#[tauri::command]
#[specta::specta]
pub async fn print_dispensing_labels(state: State<'_, AppState>, dispensing_id: String) -> Cmd<SavedFile> {
    let p = labels::labels_pdf(&state.store, &authorized!(state), &dispensing_id).await?;
    files::save_printout(&state.exports_dir, &p.printout, &p.pdf)
}

/// Active medicines by the start of their name, for a medicine stock item (whether stocked).
#[tauri::command]
#[specta::specta]
pub async fn stock_medicine_options(state: State<'_, AppState>, query: String) -> Cmd<Vec<MedicineOption>> {
    medicines::medicine_options(&state.store, &authorized!(state), &query).await
}
