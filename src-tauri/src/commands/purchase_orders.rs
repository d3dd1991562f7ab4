//! Purchase orders to suppliers: drafts (by hand or from the suggested purchase order),
//! approval, sending, the printable order, receiving against it (`hms_core::stock::purchase`).

use super::Cmd;
use crate::files::{self, SavedFile};
use crate::state::AppState;
use hms_core::reports::RangeInput;
use hms_core::stock::{
    purchase, purchase_edit, purchase_pdf, PurchaseDraftEdit, PurchaseOrder, PurchaseOrderInput, Receipt, ReceiptInput,
    SuggestedDrafts,
};
use tauri::State;

#[tauri::command]
#[specta::specta]
pub async fn purchase_orders(state: State<'_, AppState>) -> Cmd<Vec<PurchaseOrder>> {
    purchase::orders(&state.store, &authorized!(state)).await
}

#[tauri::command]
#[specta::specta]
pub async fn draft_purchase_order(state: State<'_, AppState>, input: PurchaseOrderInput) -> Cmd<PurchaseOrder> {
    purchase::draft(&state.store, &authorized!(state), input).await
}

/// One draft per supplier from the suggested purchase order (used in `range`), to arrive in `store_id`.
#[tauri::command]
#[specta::specta]
pub async fn draft_suggested_purchase_orders(
    state: State<'_, AppState>,
    store_id: String,
    range: RangeInput,
) -> Cmd<SuggestedDrafts> {
    purchase::draft_from_suggestions(&state.store, &authorized!(state), &store_id, range).await
}

/// A draft's note and lines changed before it goes out.
#[tauri::command]
#[specta::specta]
pub async fn edit_purchase_order(
    state: State<'_, AppState>,
    order_id: String,
    input: PurchaseDraftEdit,
) -> Cmd<PurchaseOrder> {
    purchase_edit::edit_draft(&state.store, &authorized!(state), &order_id, input).await
}

#[tauri::command]
#[specta::specta]
pub async fn approve_purchase_order(state: State<'_, AppState>, order_id: String) -> Cmd<PurchaseOrder> {
    purchase::approve(&state.store, &authorized!(state), &order_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn send_purchase_order(state: State<'_, AppState>, order_id: String) -> Cmd<PurchaseOrder> {
    purchase::send(&state.store, &authorized!(state), &order_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn cancel_purchase_order(state: State<'_, AppState>, order_id: String, reason: String) -> Cmd<PurchaseOrder> {
    purchase::cancel(&state.store, &authorized!(state), &order_id, &reason).await
}

/// Receives a delivery against a sent order.
#[tauri::command]
#[specta::specta]
pub async fn receive_purchase_order(state: State<'_, AppState>, order_id: String, input: ReceiptInput) -> Cmd<Receipt> {
    purchase::receive_against(&state.store, &authorized!(state), &order_id, input).await
}

/// The order as a PDF in the exports folder, opened.
#[tauri::command]
#[specta::specta]
pub async fn print_purchase_order(state: State<'_, AppState>, order_id: String) -> Cmd<SavedFile> {
    let out = purchase_pdf::order_pdf(&state.store, &authorized!(state), &order_id).await?;
    files::save_and_open(&state.exports_dir, &out.file_name, &out.pdf)
}

#[tauri::command]
#[specta::specta]
pub async fn purchase_approval_required(state: State<'_, AppState>) -> Cmd<bool> {
    purchase::approval_required(&state.store, &authorized!(state)).await
}

#[tauri::command]
#[specta::specta]
pub async fn set_purchase_approval_required(state: State<'_, AppState>, on: bool) -> Cmd<()> {
    purchase::set_approval_required(&state.store, &authorized!(state), on).await
}
