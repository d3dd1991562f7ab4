//! Invoice: a bill (draft, issued or cancelled) with its number, lines (quantity, unit price,
//! discount and tax as price components) and totals. Amounts are FHIR decimals made from the
//! stored minor units with the currency's ISO 4217 exponent.

use super::context::Ctx;
use super::source::{decimal, opt, prune, text, Source};
use crate::billing::money::{line_amounts, Discount, LineInput};
use crate::error::{Error, Result};
use serde_json::{json, Value};
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

fn map(row: &SqliteRow, cx: &Ctx<'_>) -> Result<Vec<Value>> {
    let id = text(row, "id")?;
    let currency = text(row, "currency")?;
    let scale = exponent(&currency);
    let money = |minor: i64| json!({ "value": decimal(minor, scale), "currency": currency });
    let lines: Vec<LineRow> =
        serde_json::from_str(&text(row, "lines")?).map_err(|e| Error::corrupt("bill_lines", &id, "lines", e))?;
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
        let mut components = vec![json!({ "type": "base", "factor": quantity, "amount": money(a.gross) })];
        if a.discount > 0 {
            components.push(json!({ "type": "discount", "amount": money(a.discount) }));
        }
        if a.tax > 0 {
            components.push(json!({ "type": "tax", "code": { "text": format!("{}.{:02}% tax", tax_bp / 100, tax_bp % 100) }, "amount": money(a.tax) }));
        }
        items.push(json!({
            "sequence": i + 1,
            "chargeItemCodeableConcept": { "coding": [{ "system": "urn:hms:bill-category", "code": category }], "text": description },
            "priceComponent": components,
        }));
    }
    let bill_status = text(row, "status")?;
    // A finalized bill's totals are the ones stored at finalization; a draft's are summed now.
    let stored_total = row.try_get::<i64, _>("total_minor")?;
    let total_gross = if bill_status == "draft" { gross } else { stored_total };
    Ok(vec![prune(json!({
        "resourceType": "Invoice",
        "id": id,
        "identifier": opt(row, "number")?.map(|n| json!([{ "value": n }])),
        "status": status(&bill_status),
        "cancelledReason": opt(row, "cancel_reason")?,
        "subject": cx.reference("Patient", &text(row, "patient_id")?),
        "issuer": cx.organization(),
        "date": opt(row, "finalized_at")?.unwrap_or(text(row, "created_at")?),
        "lineItem": items,
        "totalNet": money(net),
        "totalGross": money(total_gross),
    }))])
}
