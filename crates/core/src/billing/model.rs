//! What the UI sends and gets for billing. Amounts are integer minor units (paise); rates
//! are basis points. Amounts are TS numbers (exact up to 2^53).

use super::money::{Discount, LineAmounts, Totals};
use crate::codes::Code;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Consultation,
    Procedure,
    LabTest,
    Pharmacy,
    BedDay,
    Other,
}

impl Code for Category {}

impl Category {
    pub const ALL: [Category; 6] = [
        Category::Consultation,
        Category::Procedure,
        Category::LabTest,
        Category::Pharmacy,
        Category::BedDay,
        Category::Other,
    ];
}

/// A billable service with the price in force on the day asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Service {
    pub id: String,
    pub code: String,
    pub name: String,
    pub category: Category,
    pub tax_rate_bp: u32,
    pub tax_exempt: bool,
    pub active: bool,
    /// The price on the day asked for (today by default); None before its first price.
    #[specta(type = Option<f64>)]
    pub price_minor: Option<i64>,
    /// Every price with the date it took effect, oldest first.
    pub prices: Vec<PriceFrom>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct PriceFrom {
    /// YYYY-MM-DD, clinic local.
    pub effective_from: String,
    #[specta(type = f64)]
    pub price_minor: i64,
}

#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct ServiceInput {
    pub code: String,
    pub name: String,
    /// consultation | procedure | lab_test | pharmacy | bed_day | other
    pub category: String,
    /// Basis points: 1800 = 18% GST; 0 with `tax_exempt` for an exempt service.
    pub tax_rate_bp: u32,
    pub tax_exempt: bool,
    /// The first price, from `effective_from` (today when empty).
    #[specta(type = f64)]
    pub price_minor: i64,
    pub effective_from: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum BillStatus {
    Draft,
    Final,
    Cancelled,
}

impl Code for BillStatus {}

/// Where the money stands, derived from the invoice and its payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// A draft: nothing is owed yet (advances may have been taken).
    Open,
    Unpaid,
    PartlyPaid,
    Paid,
    Cancelled,
    /// Everything paid was given back.
    Refunded,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct BillLine {
    pub id: String,
    pub position: u32,
    pub service_id: Option<String>,
    pub description: String,
    pub category: Category,
    pub quantity: u32,
    #[specta(type = f64)]
    pub unit_price_minor: i64,
    pub discount: Discount,
    pub tax_rate_bp: u32,
    /// manual, appointment, ...
    pub source: String,
    pub amounts: LineAmounts,
}

#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct LineInput {
    /// A service from the tariff (its price today and tax rate are used unless overridden).
    pub service_id: Option<String>,
    /// Required without a service.
    pub description: String,
    /// 1 to 10,000 (signed, so that a negative number is a validation error, not a
    /// decoding failure).
    pub quantity: i32,
    /// Overrides the tariff price (None: the tariff's).
    #[specta(type = Option<f64>)]
    pub unit_price_minor: Option<i64>,
    pub discount: Discount,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum PaymentKind {
    Payment,
    Advance,
    Refund,
}

impl Code for PaymentKind {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMode {
    Cash,
    Card,
    Upi,
    BankTransfer,
    Insurance,
}

impl Code for PaymentMode {}

impl PaymentMode {
    pub const ALL: [PaymentMode; 5] =
        [PaymentMode::Cash, PaymentMode::Card, PaymentMode::Upi, PaymentMode::BankTransfer, PaymentMode::Insurance];
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Payment {
    pub id: String,
    pub kind: PaymentKind,
    pub mode: PaymentMode,
    #[specta(type = f64)]
    pub amount_minor: i64,
    pub reference: String,
    pub note: String,
    pub received_at: String,
    pub received_by: Option<String>,
    pub receipt_no: String,
}

#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct PaymentInput {
    pub mode: PaymentMode,
    #[specta(type = f64)]
    pub amount_minor: i64,
    /// Card slip, UPI transaction id, cheque no.
    pub reference: String,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type, sqlx::FromRow)]
pub struct CreditNote {
    pub id: String,
    pub number: String,
    #[specta(type = f64)]
    pub amount_minor: i64,
    pub reason: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type, sqlx::FromRow)]
pub struct Insurance {
    pub payer: String,
    pub policy_no: String,
    pub preauth_no: String,
    #[specta(type = f64)]
    pub claimed_minor: i64,
    #[specta(type = f64)]
    pub approved_minor: i64,
    #[specta(type = f64)]
    pub settled_minor: i64,
}

/// A bill with everything on it and where its money stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Bill {
    pub id: String,
    pub patient_id: String,
    pub patient_name: String,
    pub mrn: String,
    pub status: BillStatus,
    pub payment_status: PaymentStatus,
    pub number: Option<String>,
    pub currency: String,
    pub created_at: String,
    pub finalized_at: Option<String>,
    pub lines: Vec<BillLine>,
    pub totals: Totals,
    pub payments: Vec<Payment>,
    pub credit_notes: Vec<CreditNote>,
    pub insurance: Option<Insurance>,
    /// Payments and advances less refunds.
    #[specta(type = f64)]
    pub paid_minor: i64,
    #[specta(type = f64)]
    pub credited_minor: i64,
    /// What is still owed: total − credit notes − paid (negative: money to give back).
    #[specta(type = f64)]
    pub due_minor: i64,
    /// The patient's share under insurance: total − approved (the whole total without it).
    #[specta(type = f64)]
    pub patient_share_minor: i64,
    pub cancel_reason: String,
    /// What this bill allows the user who asked for it (none when read without a user).
    pub actions: BillActions,
}

/// One line of a bill list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct BillSummary {
    pub id: String,
    pub patient_id: String,
    pub patient_name: String,
    pub mrn: String,
    pub number: Option<String>,
    pub status: BillStatus,
    pub payment_status: PaymentStatus,
    pub created_at: String,
    pub finalized_at: Option<String>,
    #[specta(type = f64)]
    pub total_minor: i64,
    #[specta(type = f64)]
    pub due_minor: i64,
}

/// The actions a bill offers this user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, specta::Type)]
pub struct BillActions {
    pub add_line: bool,
    pub remove_line: bool,
    /// A draft with at least one line.
    pub finalize: bool,
    /// Something is due on a finalized invoice.
    pub pay: bool,
    pub advance: bool,
    /// Money was paid on a bill that is not cancelled.
    pub refund: bool,
    /// The invoice still stands at more than its credit notes.
    pub credit_note: bool,
    /// Cancelling is allowed and nothing is paid.
    pub cancel: bool,
    /// Cancelling is allowed to this user, but money was paid: refund it first.
    pub cancel_needs_refund: bool,
    pub insurance: bool,
    /// An insurer approved more than it paid, and something is due.
    pub settle: bool,
    pub print_invoice: bool,
    pub print_receipt: bool,
}
