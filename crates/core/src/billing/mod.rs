//! Billing: the tariff, bills and invoices, payments, advances, refunds, credit notes,
//! insurance, the daily cash report and the invoice/receipt PDFs. All arithmetic is integer
//! minor units with one rounding rule (money.rs).

pub mod actions;
pub mod bills;
pub mod invoice_pdf;
pub mod model;
pub mod money;
pub mod payments;
pub use crate::reports::cash as report;
mod tables;
pub mod tariff;

pub use model::*;

use crate::clinic::{self, ADDRESS_KEY, LOGO_KEY, REGISTRATION_KEY, TAX_NO_KEY};
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::settings;
use crate::store::{Store, WriteTx};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub const CURRENCY_KEY: &str = "currency";
pub const INVOICE_SERIES_KEY: &str = "invoice_series";
/// The largest logo file accepted (160 KiB): what fits in one synced change with base64 and
/// the JSON around it (the policy's settings-length rule is the same constant).
pub const MAX_LOGO_BYTES: usize = hms_policy::values::MAX_LOGO_BYTES;
/// The tariff code of the consultation charge added at check-in.
pub const CONSULTATION_CODE: &str = "CONSULT";
const CURRENCIES: [&str; 4] = ["INR", "USD", "EUR", "GBP"];

/// The clinic's details as invoices print them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct BillingSettings {
    pub clinic_name: String,
    pub address: String,
    /// Clinical establishment registration number.
    pub registration_no: String,
    /// GSTIN or other tax number.
    pub tax_no: String,
    /// INR, USD, EUR or GBP.
    pub currency: String,
    /// The letters before invoice numbers: `<series>-<device prefix>-<sequence>`.
    pub invoice_series: String,
    /// Whether a logo is set (it is set with `set_logo`; ignored by the update).
    #[serde(default)]
    pub has_logo: bool,
}

async fn text_setting(store: &Store, key: &str, default: &str) -> Result<String> {
    Ok(settings::get_value(store, key)
        .await?
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| default.to_string()))
}

async fn text_setting_in(w: &mut WriteTx<'_>, key: &str, default: &str) -> Result<String> {
    let raw: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = ? AND deleted_at IS NULL")
        .bind(key)
        .fetch_optional(w.conn())
        .await?;
    Ok(raw.and_then(|s| serde_json::from_str::<String>(&s).ok()).unwrap_or_else(|| default.to_string()))
}

pub(crate) async fn currency_in(w: &mut WriteTx<'_>) -> Result<String> {
    text_setting_in(w, CURRENCY_KEY, "INR").await
}

pub(crate) async fn invoice_series_in(w: &mut WriteTx<'_>) -> Result<String> {
    text_setting_in(w, INVOICE_SERIES_KEY, "INV").await
}

pub async fn billing_settings(store: &Store, auth: &Authorized) -> Result<BillingSettings> {
    auth.require(Permission::BillingView)?;
    read_settings(store).await
}

pub(crate) async fn read_settings(store: &Store) -> Result<BillingSettings> {
    Ok(BillingSettings {
        clinic_name: clinic::name(store).await?,
        address: clinic::text(store, ADDRESS_KEY).await?,
        registration_no: clinic::text(store, REGISTRATION_KEY).await?,
        tax_no: clinic::text(store, TAX_NO_KEY).await?,
        currency: text_setting(store, CURRENCY_KEY, "INR").await?,
        invoice_series: text_setting(store, INVOICE_SERIES_KEY, "INV").await?,
        has_logo: !clinic::text(store, LOGO_KEY).await?.is_empty(),
    })
}

/// Sets (a PNG of at most [`MAX_LOGO_BYTES`] and 2,000 × 2,000 pixels) or removes (None) the logo
/// printed on invoices and receipts.
pub async fn set_logo(store: &Store, auth: &Authorized, png: Option<Vec<u8>>) -> Result<BillingSettings> {
    use base64::Engine;
    auth.require(Permission::TariffManage)?;
    let value = match png {
        None => String::new(),
        Some(bytes) => {
            check_logo(&bytes)?;
            base64::engine::general_purpose::STANDARD.encode(bytes)
        }
    };
    let mut w = store.begin_write(auth.actor()).await?;
    settings::put(&mut w, LOGO_KEY, &json!(value)).await?;
    w.audit("billing.logo", "settings", None, json!({ "set": !value.is_empty(), "bytes": value.len() * 3 / 4 }))
        .await?;
    w.commit().await?;
    read_settings(store).await
}

/// A logo file: a PNG of at most [`MAX_LOGO_BYTES`] (and 2,000 × 2,000 pixels).
pub(crate) fn check_logo(bytes: &[u8]) -> Result<()> {
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(Error::validation(
            "logo",
            ValidationReason::TooLong,
            format!("a logo file of at most {} KB", MAX_LOGO_BYTES / 1024),
        ));
    }
    crate::pdf::decode_png(bytes).map_err(|m| Error::validation("logo", ValidationReason::Invalid, m))?;
    Ok(())
}

/// The most characters of the clinic address printed on invoices.
pub const ADDRESS_MAX: usize = 300;
/// The most characters of the clinic's registration number, tax number and invoice series.
pub const REGISTRATION_NO_MAX: usize = 60;
pub const TAX_NO_MAX: usize = 30;
pub const INVOICE_SERIES_MAX: usize = 8;

fn field(name: &str, raw: &str, max: usize, multiline: bool) -> Result<String> {
    let s =
        if multiline { raw.trim().replace("\r\n", "\n") } else { raw.split_whitespace().collect::<Vec<_>>().join(" ") };
    if s.chars().count() > max {
        return Err(Error::validation(name, ValidationReason::TooLong, format!("at most {max} characters")));
    }
    Ok(s)
}

/// The clinic's address as kept: trimmed, Windows line ends as `\n`, at most [`ADDRESS_MAX`].
pub(crate) fn address(raw: &str) -> Result<String> {
    field("address", raw, ADDRESS_MAX, true)
}

/// The registration number as kept: its words joined by single spaces, at most
/// [`REGISTRATION_NO_MAX`].
pub(crate) fn registration_no(raw: &str) -> Result<String> {
    field("registration_no", raw, REGISTRATION_NO_MAX, false)
}

/// The tax number as kept: as [`registration_no`], upper case, at most [`TAX_NO_MAX`].
pub(crate) fn tax_no(raw: &str) -> Result<String> {
    Ok(field("tax_no", raw, TAX_NO_MAX, false)?.to_uppercase())
}

/// The currency as kept: INR, USD, EUR or GBP.
pub(crate) fn currency_code(raw: &str) -> Result<String> {
    let currency = raw.trim().to_uppercase();
    if !CURRENCIES.contains(&currency.as_str()) {
        return Err(Error::validation("currency", ValidationReason::Invalid, "INR, USD, EUR or GBP"));
    }
    Ok(currency)
}

/// The invoice series as kept: 1 to [`INVOICE_SERIES_MAX`] letters or digits, upper case.
pub(crate) fn invoice_series(raw: &str) -> Result<String> {
    let series = raw.trim().to_uppercase();
    if series.is_empty() || series.len() > INVOICE_SERIES_MAX || !series.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Error::validation("invoice_series", ValidationReason::Invalid, "1 to 8 letters or digits"));
    }
    Ok(series)
}

/// The administrator or accountant sets what invoices print. The clinic's name is the
/// one in Settings.
pub async fn update_billing_settings(store: &Store, auth: &Authorized, s: BillingSettings) -> Result<BillingSettings> {
    auth.require(Permission::TariffManage)?;
    let address = address(&s.address)?;
    let registration = registration_no(&s.registration_no)?;
    let tax_no = tax_no(&s.tax_no)?;
    let currency = currency_code(&s.currency)?;
    let series = invoice_series(&s.invoice_series)?;
    let mut w = store.begin_write(auth.actor()).await?;
    for (key, value) in [
        (ADDRESS_KEY, &address),
        (REGISTRATION_KEY, &registration),
        (TAX_NO_KEY, &tax_no),
        (CURRENCY_KEY, &currency),
        (INVOICE_SERIES_KEY, &series),
    ] {
        settings::put(&mut w, key, &json!(value)).await?;
    }
    w.audit(
        "billing.settings",
        "settings",
        None,
        json!({ "currency": currency, "invoice_series": series, "tax_no": tax_no }),
    )
    .await?;
    w.commit().await?;
    read_settings(store).await
}

/// The consultation charge of a checked-in appointment on the patient's open bill, inside
/// the check-in's own transaction: the doctor's fee under the tariff's `CONSULT` service (its
/// tax rate), or a plain line when the tariff has none. Charged once per appointment.
pub(crate) async fn charge_consultation(
    w: &mut WriteTx<'_>,
    appointment_id: &str,
    patient_id: &str,
    doctor_name: &str,
    fee_minor: i64,
) -> Result<()> {
    if fee_minor <= 0 {
        return Ok(());
    }
    let already: bool = sqlx::query_scalar(
        "SELECT COUNT(*) > 0 FROM bill_lines WHERE source = 'appointment' AND source_id = ? AND deleted_at IS NULL",
    )
    .bind(appointment_id)
    .fetch_one(w.conn())
    .await?;
    if already {
        return Ok(());
    }
    let bill_id = bills::open_draft(w, patient_id).await?;
    let service = tariff::id_by_code(w.conn(), CONSULTATION_CODE).await?;
    let rate: i64 = match &service {
        Some(id) => {
            sqlx::query_scalar("SELECT tax_rate_bp FROM services WHERE id = ?").bind(id).fetch_one(w.conn()).await?
        }
        None => 0,
    };
    let description = format!("Consultation: {doctor_name}");
    let line = bills::NewLineRef {
        service_id: service.as_deref(),
        description: &description,
        category: Category::Consultation,
        quantity: 1,
        unit_price: fee_minor,
        discount: money::Discount::None,
        tax_rate_bp: match &service {
            Some(id) => bills::stored_u32("services", id, "tax_rate_bp", rate)?,
            None => 0,
        },
        source: "appointment",
        source_id: Some(appointment_id),
    };
    bills::insert_line(w, &bill_id, &line).await?;
    w.audit(
        "bill.charge",
        "bill",
        Some(&bill_id),
        json!({ "source": "appointment", "appointment_id": appointment_id, "amount_minor": fee_minor }),
    )
    .await?;
    Ok(())
}

/// A lab order's charge on the patient's open bill, inside the order's own transaction: the
/// tariff's active service with the test's code (a lab test's price lives in the tariff, e.g.
/// the service `FBS` for the test `FBS`), at its price on `day` and its tax rate. Answers
/// `false`, charging nothing, when the tariff has no such service or no price for it yet.
pub(crate) async fn charge_lab_order(
    w: &mut WriteTx<'_>,
    order_id: &str,
    patient_id: &str,
    test_code: &str,
    test_name: &str,
    day: chrono::NaiveDate,
) -> Result<bool> {
    let Some((service_id, rate, price)) = lab_test_service(w.conn(), test_code, day).await? else {
        return Ok(false);
    };
    let bill_id = bills::open_draft(w, patient_id).await?;
    let description = format!("Lab: {test_name}");
    let line = bills::NewLineRef {
        service_id: Some(&service_id),
        description: &description,
        category: Category::LabTest,
        quantity: 1,
        unit_price: price,
        discount: money::Discount::None,
        tax_rate_bp: bills::stored_u32("services", &service_id, "tax_rate_bp", rate)?,
        source: LAB_ORDER_SOURCE,
        source_id: Some(order_id),
    };
    bills::insert_line(w, &bill_id, &line).await?;
    w.audit(
        "bill.charge",
        "bill",
        Some(&bill_id),
        json!({ "source": LAB_ORDER_SOURCE, "lab_order_id": order_id, "amount_minor": price }),
    )
    .await?;
    Ok(true)
}

/// The tariff's service of a lab test and its price on `day`: the active service whose code is
/// the test's code (id, tax rate, price); `None` when there is none or it has no price yet.
/// What an order is charged ([`charge_lab_order`]) and what the Order dialog shows
/// (`clinical::lab::lab_test_prices`).
pub(crate) async fn lab_test_service(
    conn: &mut sqlx::SqliteConnection,
    test_code: &str,
    day: chrono::NaiveDate,
) -> Result<Option<(String, i64, i64)>> {
    let service: Option<(String, i64)> = sqlx::query_as(
        "SELECT id, tax_rate_bp FROM services WHERE code = ? COLLATE NOCASE AND active = 1 AND deleted_at IS NULL",
    )
    .bind(test_code)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((service_id, rate)) = service else {
        return Ok(None);
    };
    Ok(tariff::price_on(conn, &service_id, day).await?.map(|price| (service_id, rate, price)))
}

/// The clinic's currency (ISO 4217 code).
pub(crate) async fn currency(store: &Store) -> Result<String> {
    text_setting(store, CURRENCY_KEY, "INR").await
}

/// The bill-line source of a lab order's charge.
pub const LAB_ORDER_SOURCE: &str = "lab_order";

/// What became of a charge when what it charged for was called off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(tag = "charge", rename_all = "snake_case")]
pub enum Uncharged {
    /// Nothing was charged for it.
    None,
    /// The line came off the patient's open bill.
    Removed { bill_id: String },
    /// The line is on an issued invoice and stays: the billing desk issues a credit note.
    Invoiced { bill_id: String, number: Option<String> },
}

/// Takes the charge of `source`/`source_id` (e.g. a cancelled lab order) off its bill while
/// the bill is a draft (the line kept as a tombstone, like every synced row); on an issued
/// invoice the line stays. Inside the caller's write; audited there.
pub(crate) async fn uncharge(w: &mut WriteTx<'_>, source: &str, source_id: &str) -> Result<Uncharged> {
    let line: Option<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT l.id, l.bill_id, b.status, b.number FROM bill_lines l JOIN bills b ON b.id = l.bill_id
         WHERE l.source = ? AND l.source_id = ? AND l.deleted_at IS NULL",
    )
    .bind(source)
    .bind(source_id)
    .fetch_optional(w.conn())
    .await?;
    let Some((line_id, bill_id, status, number)) = line else {
        return Ok(Uncharged::None);
    };
    if status != "draft" {
        return Ok(Uncharged::Invoiced { bill_id, number });
    }
    bills::delete_line(w, &bill_id, &line_id).await?;
    Ok(Uncharged::Removed { bill_id })
}
