//! Invoice: a bill (draft, issued or cancelled) with its number, lines (quantity, unit price,
//! discount and tax as price components) and totals. Amounts are FHIR decimals made from the
//! stored minor units with the currency's ISO 4217 exponent.

use super::context::Ctx;
use super::model::{decimal, is_empty, Reference};
use super::source::{opt_ref, text_ref, Emit, Source};
use crate::billing::money::{line_amounts, Discount, LineInput};
use crate::error::{Error, Result};
use serde::Serialize;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

pub static BILLS: Source = Source {
    table: "bills",
    select: "SELECT t.id, t.patient_id, t.status, t.number, t.currency, t.finalized_at, t.created_at,
        t.subtotal_minor, t.total_minor, t.cancel_reason,
        (SELECT json_group_array(json_array(l.description, l.quantity, l.unit_price_minor, l.discount_kind,
                l.discount_value, l.tax_rate_bp, l.category))
         FROM (SELECT * FROM bill_lines WHERE bill_id = t.id AND deleted_at IS NULL ORDER BY position) l) AS lines
        FROM bills t",
    by_patient: Some("t.patient_id = ?1"),
    map,
};

/// Digits after the decimal point of a currency (ISO 4217); 2 unless listed.
fn exponent(currency: &str) -> u32 {
    match currency {
        "JPY" | "KRW" | "VND" | "CLP" | "ISK" | "UGX" | "XAF" | "XOF" | "PYG" | "RWF" => 0,
        "BHD" | "KWD" | "OMR" | "JOD" | "TND" | "IQD" | "LYD" => 3,
        _ => 2,
    }
}

type LineRow = (String, i64, i64, String, i64, i64, String);

fn status(s: &str) -> &'static str {
    match s {
        "draft" => "draft",
        "final" => "issued",
        _ => "cancelled",
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invoice<'a> {
    resource_type: &'static str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    identifier: Option<[Identifier<'a>; 1]>,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cancelled_reason: Option<&'a str>,
    subject: Reference<'a>,
    issuer: Reference<'a>,
    date: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    line_item: Vec<LineItem<'a>>,
    total_net: Money<'a>,
    total_gross: Money<'a>,
}

#[derive(Serialize)]
struct Identifier<'a> {
    value: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LineItem<'a> {
    sequence: usize,
    charge_item_codeable_concept: ChargeItem,
    price_component: Vec<PriceComponent<'a>>,
}

#[derive(Serialize)]
struct ChargeItem {
    coding: [Category; 1],
    text: String,
}

#[derive(Serialize)]
struct Category {
    system: &'static str,
    code: String,
}

#[derive(Serialize)]
struct PriceComponent<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<TaxCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    factor: Option<i64>,
    amount: Money<'a>,
}

#[derive(Serialize)]
struct TaxCode {
    text: String,
}

#[derive(Serialize)]
struct Money<'a> {
    value: serde_json::Number,
    currency: &'a str,
}

fn map(row: &SqliteRow, cx: &Ctx<'_>, out: &mut Emit<'_>) -> Result<()> {
    let id = text_ref(row, "id")?;
    let currency = text_ref(row, "currency")?;
    let scale = exponent(currency);
    let money = |minor: i64| Money { value: decimal(minor, scale).unwrap_or_else(|| 0.into()), currency };
    let lines: Vec<LineRow> =
        serde_json::from_str(text_ref(row, "lines")?).map_err(|e| Error::corrupt("bill_lines", id, "lines", e))?;
    let mut items = Vec::with_capacity(lines.len());
    let (mut net, mut gross) = (0i64, 0i64);
    for (i, (description, quantity, unit_price, kind, value, tax_bp, category)) in lines.into_iter().enumerate() {
        let discount = match kind.as_str() {
            "amount" => Discount::Amount(value),
            "percent" => Discount::Percent(u32::try_from(value).unwrap_or(0)),
            _ => Discount::None,
        };
        let input = LineInput {
            quantity: u32::try_from(quantity).unwrap_or(0),
            unit_price,
            discount,
            tax_rate_bp: u32::try_from(tax_bp).unwrap_or(0),
        };
        let a = line_amounts(input);
        net += a.taxable;
        gross += a.total;
        let mut components =
            vec![PriceComponent { kind: "base", code: None, factor: Some(quantity), amount: money(a.gross) }];
        if a.discount > 0 {
            components.push(PriceComponent { kind: "discount", code: None, factor: None, amount: money(a.discount) });
        }
        if a.tax > 0 {
            let code = TaxCode { text: format!("{}.{:02}% tax", tax_bp / 100, tax_bp % 100) };
            components.push(PriceComponent { kind: "tax", code: Some(code), factor: None, amount: money(a.tax) });
        }
        items.push(LineItem {
            sequence: i + 1,
            charge_item_codeable_concept: ChargeItem {
                coding: [Category { system: "urn:hms:bill-category", code: category }],
                text: description,
            },
            price_component: components,
        });
    }
    let bill_status = text_ref(row, "status")?;
    // A finalized bill's totals are the ones stored at finalization; a draft's are summed now.
    let stored_total = row.try_get::<i64, _>("total_minor")?;
    let total_gross = if bill_status == "draft" { gross } else { stored_total };
    let invoice = Invoice {
        resource_type: "Invoice",
        id,
        identifier: opt_ref(row, "number")?.map(|value| [Identifier { value }]),
        status: status(bill_status),
        cancelled_reason: opt_ref(row, "cancel_reason")?,
        subject: Reference::to(cx, "Patient", text_ref(row, "patient_id")?),
        issuer: Reference::to(cx, "Organization", &cx.clinic_id),
        date: opt_ref(row, "finalized_at")?.map_or_else(|| text_ref(row, "created_at"), Ok)?,
        line_item: items,
        total_net: money(net),
        total_gross: money(total_gross),
    };
    out.put("Invoice", id, &invoice)
}
