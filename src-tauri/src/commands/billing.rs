//! Billing: the tariff, bills, payments, insurance, the cash report and the PDFs (saved to
//! the exports folder and opened in the system viewer).

use super::Cmd;
use crate::files::{self, SavedFile};
use crate::AppState;
use hms_core::billing::money::LineAmounts;
use hms_core::billing::report::{self, CashReport};
use hms_core::billing::{
    self, bills, invoice_pdf, payments, tariff, Bill, BillStatus, BillSummary, BillingSettings, Insurance, LineInput,
    PaymentInput, Service, ServiceInput,
};
use tauri::State;

#[tauri::command]
#[specta::specta]
pub async fn list_services(state: State<'_, AppState>, include_retired: bool) -> Cmd<Vec<Service>> {
    tariff::services(&state.store, &authorized!(state), include_retired).await
}

#[tauri::command]
#[specta::specta]
pub async fn add_service(state: State<'_, AppState>, input: ServiceInput) -> Cmd<Service> {
    tariff::add_service(&state.store, &authorized!(state), input).await
}

#[tauri::command]
#[specta::specta]
pub async fn set_service_price(
    state: State<'_, AppState>,
    service_id: String,
    price_minor: i32,
    effective_from: Option<String>,
) -> Cmd<Service> {
    tariff::set_price(&state.store, &authorized!(state), &service_id, i64::from(price_minor), effective_from).await
}

#[tauri::command]
#[specta::specta]
pub async fn set_service_active(state: State<'_, AppState>, service_id: String, active: bool) -> Cmd<Service> {
    tariff::set_service_active(&state.store, &authorized!(state), &service_id, active).await
}

#[tauri::command]
#[specta::specta]
pub async fn get_billing_settings(state: State<'_, AppState>) -> Cmd<BillingSettings> {
    billing::billing_settings(&state.store, &authorized!(state)).await
}

#[tauri::command]
#[specta::specta]
pub async fn update_billing_settings(state: State<'_, AppState>, settings: BillingSettings) -> Cmd<BillingSettings> {
    billing::update_billing_settings(&state.store, &authorized!(state), settings).await
}

/// The patient's open bill, created when there is none.
#[tauri::command]
#[specta::specta]
pub async fn open_bill(state: State<'_, AppState>, patient_id: String) -> Cmd<Bill> {
    bills::open_bill(&state.store, &authorized!(state), &patient_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn get_bill(state: State<'_, AppState>, bill_id: String) -> Cmd<Bill> {
    bills::get(&state.store, &authorized!(state), &bill_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn patient_bills(state: State<'_, AppState>, patient_id: String) -> Cmd<Vec<BillSummary>> {
    bills::patient_bills(&state.store, &authorized!(state), &patient_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn recent_bills(state: State<'_, AppState>, status: Option<BillStatus>, limit: u32) -> Cmd<Vec<BillSummary>> {
    bills::recent_bills(&state.store, &authorized!(state), status, limit).await
}

#[tauri::command]
#[specta::specta]
pub async fn add_bill_line(state: State<'_, AppState>, bill_id: String, input: LineInput) -> Cmd<Bill> {
    bills::add_line(&state.store, &authorized!(state), &bill_id, input).await
}

/// A line's amounts as adding it would compute them, with the same checks; writes nothing.
#[tauri::command]
#[specta::specta]
pub async fn preview_bill_line(state: State<'_, AppState>, input: LineInput) -> Cmd<LineAmounts> {
    bills::preview_line(&state.store, &authorized!(state), input).await
}

#[tauri::command]
#[specta::specta]
pub async fn remove_bill_line(state: State<'_, AppState>, bill_id: String, line_id: String) -> Cmd<Bill> {
    bills::remove_line(&state.store, &authorized!(state), &bill_id, &line_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn finalize_bill(state: State<'_, AppState>, bill_id: String) -> Cmd<Bill> {
    bills::finalize(&state.store, &authorized!(state), &bill_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn cancel_bill(state: State<'_, AppState>, bill_id: String, reason: String) -> Cmd<Bill> {
    bills::cancel(&state.store, &authorized!(state), &bill_id, &reason).await
}

#[tauri::command]
#[specta::specta]
pub async fn take_payment(state: State<'_, AppState>, bill_id: String, input: PaymentInput) -> Cmd<Bill> {
    payments::pay(&state.store, &authorized!(state), &bill_id, input).await
}

#[tauri::command]
#[specta::specta]
pub async fn take_advance(state: State<'_, AppState>, patient_id: String, input: PaymentInput) -> Cmd<Bill> {
    payments::advance(&state.store, &authorized!(state), &patient_id, input).await
}

#[tauri::command]
#[specta::specta]
pub async fn refund_payment(state: State<'_, AppState>, bill_id: String, input: PaymentInput) -> Cmd<Bill> {
    payments::refund(&state.store, &authorized!(state), &bill_id, input).await
}

#[tauri::command]
#[specta::specta]
pub async fn issue_credit_note(
    state: State<'_, AppState>,
    bill_id: String,
    amount_minor: i32,
    reason: String,
) -> Cmd<Bill> {
    payments::credit_note(&state.store, &authorized!(state), &bill_id, i64::from(amount_minor), &reason).await
}

#[tauri::command]
#[specta::specta]
pub async fn set_bill_insurance(state: State<'_, AppState>, bill_id: String, insurance: Insurance) -> Cmd<Bill> {
    payments::set_insurance(&state.store, &authorized!(state), &bill_id, insurance).await
}

#[tauri::command]
#[specta::specta]
pub async fn settle_insurance(
    state: State<'_, AppState>,
    bill_id: String,
    amount_minor: i32,
    reference: String,
) -> Cmd<Bill> {
    payments::settle_insurance(&state.store, &authorized!(state), &bill_id, i64::from(amount_minor), &reference).await
}

#[tauri::command]
#[specta::specta]
pub async fn daily_cash_report(state: State<'_, AppState>, date: String, user_id: Option<String>) -> Cmd<CashReport> {
    report::daily_cash(&state.store, &authorized!(state), &date, user_id.as_deref()).await
}

/// Saves the invoice PDF and opens it in the system viewer (to print).
#[tauri::command]
#[specta::specta]
pub async fn print_invoice(state: State<'_, AppState>, bill_id: String) -> Cmd<SavedFile> {
    let r = invoice_pdf::invoice_pdf(&state.store, &authorized!(state), &bill_id).await?;
    files::save_printout(&state.exports_dir, &r.printout, &r.pdf)
}

#[tauri::command]
#[specta::specta]
pub async fn print_receipt(state: State<'_, AppState>, bill_id: String, payment_id: String) -> Cmd<SavedFile> {
    let r = invoice_pdf::receipt_pdf(&state.store, &authorized!(state), &bill_id, &payment_id).await?;
    files::save_printout(&state.exports_dir, &r.printout, &r.pdf)
}

/// Sets the logo printed on invoices and receipts from a PNG sent as base64, or removes it
/// (`null`).
#[tauri::command]
#[specta::specta]
pub async fn set_clinic_logo(state: State<'_, AppState>, png_base64: Option<String>) -> Cmd<BillingSettings> {
    let auth = authorized!(state);
    let png = png_base64.map(|data| super::decode_base64(&data, "logo")).transpose()?;
    billing::set_logo(&state.store, &auth, png).await
}
