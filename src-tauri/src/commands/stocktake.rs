//! Stock takes: open a count of a store, enter counts, add a line for a batch found on the
//! shelf, post the corrections or cancel, print the count sheet (`hms_core::stock::stocktake`).

use super::Cmd;
use crate::files::{self, SavedFile};
use crate::state::AppState;
use hms_core::stock::stocktake::{
    count, open, post, read, sheet, StockTake, StockTakeAddLineInput, StockTakeCountInput, StockTakeLine,
    StockTakeOpenInput, StockTakePosted, StockTakeSummary,
};
use tauri::State;

/// The takes of a store (every store when empty), open first.
#[tauri::command]
#[specta::specta]
pub async fn stock_takes(state: State<'_, AppState>, store_id: String) -> Cmd<Vec<StockTakeSummary>> {
    read::takes(&state.store, &authorized!(state), &store_id).await
}

/// One take with its lines, their variance and the totals.
#[tauri::command]
#[specta::specta]
pub async fn stock_take(state: State<'_, AppState>, take_id: String) -> Cmd<StockTake> {
    read::take(&state.store, &authorized!(state), &take_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn open_stock_take(state: State<'_, AppState>, input: StockTakeOpenInput) -> Cmd<StockTakeSummary> {
    open::open(&state.store, &authorized!(state), input).await
}

#[tauri::command]
#[specta::specta]
pub async fn count_stock_take(state: State<'_, AppState>, input: StockTakeCountInput) -> Cmd<Vec<StockTakeLine>> {
    count::count(&state.store, &authorized!(state), input).await
}

#[tauri::command]
#[specta::specta]
pub async fn add_stock_take_line(state: State<'_, AppState>, input: StockTakeAddLineInput) -> Cmd<StockTakeLine> {
    open::add_line(&state.store, &authorized!(state), input).await
}

#[tauri::command]
#[specta::specta]
pub async fn post_stock_take(state: State<'_, AppState>, take_id: String) -> Cmd<StockTakePosted> {
    post::post(&state.store, &authorized!(state), &take_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn cancel_stock_take(state: State<'_, AppState>, take_id: String) -> Cmd<()> {
    post::cancel(&state.store, &authorized!(state), &take_id).await
}

/// The count sheet as a PDF saved to the exports folder and opened.
#[tauri::command]
#[specta::specta]
pub async fn print_stock_take_sheet(state: State<'_, AppState>, take_id: String) -> Cmd<SavedFile> {
    let s = sheet::count_sheet(&state.store, &authorized!(state), &take_id).await?;
    files::save_and_open(&state.exports_dir, &s.file_name, &s.pdf)
}
