//! Dispensing against prescriptions, and returns.
//!
//! The pharmacist sees the prescriptions waiting (not stopped, not yet dispensed in full),
//! newest first, with the patient's allergies. Each line is dispensed in full or in part from
//! a store: the prescribed medicine's stock item, or a substitute with a reason; the batches
//! chosen first-expiry-first-out by [`fefo::allocate`] (passing over any batch that expires
//! before the course ends), or one batch chosen by hand (never an expired or held one). Each
//! batch taken is one `dispensed` movement and one line on the patient's open bill (billing's
//! own line insert, category pharmacy, at the batch's sale price and the item's tax rate).
//!
//! A return puts units back into the batch and store they were dispensed from (a `returned`
//! movement naming the dispensing movement), never more than was dispensed and not yet
//! returned; while the bill is a draft its line is reduced to match.

use super::fefo;
use super::model::*;
use super::{append_movement, candidates, positive, require_batch_of, require_store, NewMovement};
use super::{LINES_MAX, NOTE_MAX};
use crate::billing::{bills, model::BillStatus, model::Category, money};
use crate::clinical::{insert_row, line, within};
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{Store, WriteTx};
use chrono::NaiveDate;
use serde_json::json;

/// The bill-line source of a dispensed batch (its `source_id` is the movement).
pub const DISPENSE_SOURCE: &str = "dispense";
/// The most prescriptions the waiting list shows.
pub const WAITING_LIMIT: u32 = 200;

/// The prescriptions waiting at the pharmacy, newest first.
pub async fn waiting(store: &Store, auth: &Authorized) -> Result<Vec<WaitingPrescription>> {
    use sqlx::Row;
    auth.require(Permission::StockDispense)?;
    let rows = sqlx::query(
        "SELECT r.id, r.patient_id, p.given_name, p.family_name, p.mrn, p.allergies, r.medicine_id, m.name, m.strength,
                m.form, r.dose, r.dose_unit, r.frequency, r.duration_days, r.starts_on, r.ends_on, r.created_at,
                (SELECT i.id FROM stock_items i WHERE i.medicine_id = r.medicine_id AND i.deleted_at IS NULL AND i.active = 1
                 ORDER BY i.id LIMIT 1) AS item_id,
                (SELECT COALESCE(SUM(d.quantity), 0) FROM dispensings d WHERE d.prescription_id = r.id AND d.deleted_at IS NULL)
                 AS dispensed
         FROM prescriptions r JOIN patients p ON p.id = r.patient_id JOIN medicines m ON m.id = r.medicine_id
         WHERE r.deleted_at IS NULL AND r.stopped_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM dispensings d WHERE d.prescription_id = r.id AND d.complete = 1 AND d.deleted_at IS NULL)
         ORDER BY r.created_at DESC, r.id DESC LIMIT ?",
    )
    .bind(WAITING_LIMIT)
    .fetch_all(store.pool())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let patient_id: String = r.try_get("patient_id")?;
        let mut allergies: Vec<String> = sqlx::query_scalar(
            "SELECT substance FROM allergies WHERE patient_id = ? AND deleted_at IS NULL ORDER BY substance",
        )
        .bind(&patient_id)
        .fetch_all(store.pool())
        .await?;
        // Allergies flagged at registration (a JSON list of texts) count too.
        let flagged: String = r.try_get("allergies")?;
        let flagged: Vec<String> = crate::store::stored::json("patients", &patient_id, "allergies", &flagged)?;
        for a in flagged {
            if !allergies.iter().any(|x| x.eq_ignore_ascii_case(&a)) {
                allergies.push(a);
            }
        }
        let (given, family): (String, String) = (r.try_get("given_name")?, r.try_get("family_name")?);
        out.push(WaitingPrescription {
            prescription_id: r.try_get("id")?,
            patient_name: format!("{given} {family}").trim().to_string(),
            patient_id,
            mrn: r.try_get("mrn")?,
            medicine_id: r.try_get("medicine_id")?,
            medicine_name: r.try_get("name")?,
            strength: r.try_get("strength")?,
            form: r.try_get("form")?,
            dose: r.try_get("dose")?,
            dose_unit: r.try_get("dose_unit")?,
            frequency: r.try_get("frequency")?,
            duration_days: r.try_get("duration_days")?,
            starts_on: r.try_get("starts_on")?,
            ends_on: r.try_get("ends_on")?,
            prescribed_at: r.try_get("created_at")?,
            item_id: r.try_get("item_id")?,
            dispensed: r.try_get("dispensed")?,
            allergies,
        });
    }
    Ok(out)
}

/// Dispenses prescription lines from a store, in one write: movements, bill lines, audit.
pub async fn dispense(store: &Store, auth: &Authorized, input: DispenseInput) -> Result<Dispensed> {
    auth.require(Permission::StockDispense)?;
    if input.lines.is_empty() {
        return Err(Error::validation("lines", ValidationReason::Required, "at least one line"));
    }
    if input.lines.len() > LINES_MAX {
        return Err(Error::validation("lines", ValidationReason::TooLong, format!("at most {LINES_MAX} lines")));
    }
    let mut w = store.begin_write(auth.actor()).await?;
    require_store(w.conn(), "store_id", &input.store_id).await?;
    let today = super::today_in(&mut w).await?;
    let allow_negative = super::allow_negative(w.conn()).await?;
    let mut lines = Vec::with_capacity(input.lines.len());
    let mut bill_id = None;
    for (i, l) in input.lines.iter().enumerate() {
        let (done, bill) =
            within(&format!("lines.{i}"), dispense_line(&mut w, &input.store_id, today, allow_negative, l).await)?;
        bill_id = bill_id.or(bill);
        lines.push(done);
    }
    w.commit().await?;
    Ok(Dispensed { bill_id, lines })
}

/// What a prescription line needs: its patient, medicine, course end, and that it still waits.
async fn prescription(w: &mut WriteTx<'_>, id: &str) -> Result<(String, String, Option<NaiveDate>)> {
    let row: Option<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT patient_id, medicine_id, ends_on, stopped_at FROM prescriptions WHERE id = ? AND deleted_at IS NULL",
    )
    .bind(id)
    .fetch_optional(w.conn())
    .await?;
    let Some((patient, medicine, ends_on, stopped)) = row else {
        return Err(Error::validation("prescription_id", ValidationReason::Invalid, "no such prescription"));
    };
    if stopped.is_some() {
        return Err(Error::validation("prescription_id", ValidationReason::Invalid, "this prescription was stopped"));
    }
    let complete: bool = sqlx::query_scalar(
        "SELECT COUNT(*) > 0 FROM dispensings WHERE prescription_id = ? AND complete = 1 AND deleted_at IS NULL",
    )
    .bind(id)
    .fetch_one(w.conn())
    .await?;
    if complete {
        return Err(Error::validation("prescription_id", ValidationReason::Invalid, "dispensed in full already"));
    }
    let ends_on = ends_on.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok());
    Ok((patient, medicine, ends_on))
}

/// The item to give: the prescribed medicine's, or a substitute with its reason.
async fn item_to_give(w: &mut WriteTx<'_>, medicine_id: &str, l: &DispenseLineInput) -> Result<(StockItem, String)> {
    let prescribed = super::setup::item_of_medicine(w.conn(), medicine_id).await?;
    let chosen = l.item_id.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let reason = line("substitution_reason", &l.substitution_reason, NOTE_MAX, false)?;
    match (chosen, prescribed) {
        (None, None) => Err(Error::validation(
            "item_id",
            ValidationReason::Required,
            "this medicine is not stocked: choose an item",
        )),
        (None, Some(p)) => Ok((super::require_item(w.conn(), "item_id", &p).await?, String::new())),
        (Some(c), p) if p.as_deref() == Some(c) => {
            Ok((super::require_item(w.conn(), "item_id", c).await?, String::new()))
        }
        (Some(c), _) => {
            if reason.is_empty() {
                return Err(Error::validation(
                    "substitution_reason",
                    ValidationReason::Required,
                    "why another item is given",
                ));
            }
            Ok((super::require_item(w.conn(), "item_id", c).await?, reason))
        }
    }
}

async fn dispense_line(
    w: &mut WriteTx<'_>,
    store_id: &str,
    today: NaiveDate,
    allow_negative: bool,
    l: &DispenseLineInput,
) -> Result<(DispensedLine, Option<String>)> {
    let (patient_id, medicine_id, course_end) = prescription(w, &l.prescription_id).await?;
    let quantity = positive("quantity", l.quantity)?;
    let (item, substitution) = item_to_give(w, &medicine_id, l).await?;
    let picks = match l.batch_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(batch) => by_hand(w, store_id, today, allow_negative, &item.id, batch, quantity).await?,
        None => first_expiry_first_out(w, store_id, today, course_end, allow_negative, &item.id, quantity).await?,
    };
    let dispensing_id = crate::ids::new_id();
    insert_row(
        w,
        "dispensings",
        &dispensing_id,
        &[
            ("prescription_id", json!(l.prescription_id)),
            ("patient_id", json!(patient_id)),
            ("item_id", json!(item.id)),
            ("store_id", json!(store_id)),
            ("quantity", json!(quantity)),
            ("complete", json!(l.complete)),
            ("substitution_reason", json!(substitution)),
            ("dispensed_at", json!(w.now_rfc3339())),
            ("dispensed_by", json!(w.actor().user_id.clone())),
        ],
    )
    .await?;
    let (mut movement_ids, mut bill_line_ids, mut bill) = (Vec::new(), Vec::new(), None);
    for p in &picks {
        let movement = append_movement(
            w,
            &NewMovement {
                item_id: &item.id,
                batch_id: &p.batch_id,
                store_id,
                kind: MovementKind::Dispensed,
                quantity: -p.quantity,
                reason: None,
                note: "",
                receipt_line_id: None,
                dispensing_id: Some(&dispensing_id),
                returns_movement_id: None,
                transfer_id: None,
            },
        )
        .await?;
        if let Some((bill_id, line_id)) = charge(w, &patient_id, &item, p, &movement).await? {
            bill = Some(bill_id);
            bill_line_ids.push(line_id);
        }
        movement_ids.push(movement);
    }
    w.audit(
        "stock.dispense",
        "dispensing",
        Some(&dispensing_id),
        json!({ "prescription_id": l.prescription_id, "patient_id": patient_id, "item_id": item.id, "store_id": store_id,
                "quantity": quantity, "complete": l.complete, "substitution_reason": substitution,
                "batches": picks.iter().map(|p| json!({ "batch_id": p.batch_id, "quantity": p.quantity })).collect::<Vec<_>>() }),
    )
    .await?;
    let done = DispensedLine {
        dispensing_id,
        prescription_id: l.prescription_id.clone(),
        item_id: item.id,
        quantity,
        movement_ids,
        picks,
        bill_line_ids,
    };
    Ok((done, bill))
}

/// One batch chosen by the pharmacist: of this item, never expired or held, with the stock.
async fn by_hand(
    w: &mut WriteTx<'_>,
    store_id: &str,
    today: NaiveDate,
    allow_negative: bool,
    item_id: &str,
    batch_id: &str,
    quantity: i64,
) -> Result<Vec<Pick>> {
    let c = require_batch_of(w.conn(), "batch_id", batch_id, item_id).await?;
    match fefo::usable(&c, store_id, today, None) {
        Some(PassedReason::Expired) => {
            return Err(Error::validation("batch_id", ValidationReason::Invalid, "this batch has expired"))
        }
        Some(PassedReason::OnHold) => {
            return Err(Error::validation("batch_id", ValidationReason::Invalid, "this batch is on hold"))
        }
        _ => {}
    }
    let have = fefo::balance_in(&c, store_id);
    if have < quantity && !allow_negative {
        return Err(Error::validation(
            "quantity",
            ValidationReason::OutOfRange,
            format!("only {have} of this batch here"),
        ));
    }
    Ok(vec![Pick {
        batch_id: c.batch_id,
        batch_no: c.batch_no,
        expiry: c.expiry.format("%Y-%m-%d").to_string(),
        quantity,
    }])
}

async fn first_expiry_first_out(
    w: &mut WriteTx<'_>,
    store_id: &str,
    today: NaiveDate,
    course_end: Option<NaiveDate>,
    allow_negative: bool,
    item_id: &str,
    quantity: i64,
) -> Result<Vec<Pick>> {
    let batches = candidates(w.conn(), item_id).await?;
    let a = fefo::allocate(&batches, store_id, quantity, today, course_end);
    if a.short == 0 {
        return Ok(a.picks);
    }
    if !allow_negative {
        let usable = quantity - a.short;
        return Err(Error::validation(
            "quantity",
            ValidationReason::OutOfRange,
            format!("only {usable} usable in this store (first expiry first out)"),
        ));
    }
    // Negative stock allowed: the shortfall goes on the last batch taken, or on the earliest
    // batch that is neither expired nor held; never on an expired or held one.
    let mut picks = a.picks;
    if let Some(last) = picks.last_mut() {
        last.quantity += a.short;
        return Ok(picks);
    }
    let fallback =
        batches.iter().filter(|c| c.expiry >= today && !c.on_hold).min_by_key(|c| (c.expiry, c.batch_id.clone()));
    match fallback {
        Some(c) => Ok(vec![Pick {
            batch_id: c.batch_id.clone(),
            batch_no: c.batch_no.clone(),
            expiry: c.expiry.format("%Y-%m-%d").to_string(),
            quantity,
        }]),
        None => Err(Error::validation("quantity", ValidationReason::OutOfRange, "no usable batch of this item")),
    }
}

/// One batch taken onto the patient's open bill: (bill, line), or `None` at no price.
async fn charge(
    w: &mut WriteTx<'_>,
    patient_id: &str,
    item: &StockItem,
    p: &Pick,
    movement_id: &str,
) -> Result<Option<(String, String)>> {
    let price: i64 = sqlx::query_scalar("SELECT sale_price_minor FROM stock_batches WHERE id = ?")
        .bind(&p.batch_id)
        .fetch_one(w.conn())
        .await?;
    if price == 0 {
        return Ok(None);
    }
    let bill_id = bills::open_draft(w, patient_id).await?;
    let description = describe(item, p);
    let line_id = insert_charge(w, &bill_id, item, &description, p.quantity, price, movement_id).await?;
    w.audit(
        "bill.charge",
        "bill",
        Some(&bill_id),
        json!({ "source": DISPENSE_SOURCE, "source_id": movement_id, "line_id": line_id, "quantity": p.quantity,
                "unit_price_minor": price }),
    )
    .await?;
    Ok(Some((bill_id, line_id)))
}

/// An item as people name it: "Amoxicillin 500 mg capsule".
pub fn item_name(item: &StockItem) -> String {
    [item.generic_name.as_str(), item.strength.as_str(), item.form.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

fn describe(item: &StockItem, p: &Pick) -> String {
    format!("{} (batch {}, exp {})", item_name(item), p.batch_no, p.expiry)
}

async fn insert_charge(
    w: &mut WriteTx<'_>,
    bill_id: &str,
    item: &StockItem,
    description: &str,
    quantity: i64,
    price: i64,
    movement_id: &str,
) -> Result<String> {
    let quantity = u32::try_from(quantity)
        .map_err(|_| Error::validation("quantity", ValidationReason::OutOfRange, "too many for one bill line"))?;
    let line = bills::NewLineRef {
        service_id: None,
        description,
        category: Category::Pharmacy,
        quantity,
        unit_price: price,
        discount: money::Discount::None,
        tax_rate_bp: item.tax_rate_bp,
        source: DISPENSE_SOURCE,
        source_id: Some(movement_id),
    };
    bills::insert_line(w, bill_id, &line).await
}

/// Takes units back into the batch and store of a dispensing movement.
pub async fn return_dispensed(store: &Store, auth: &Authorized, input: ReturnInput) -> Result<Returned> {
    auth.require(Permission::StockDispense)?;
    let quantity = positive("quantity", input.quantity)?;
    let note = line("note", &input.note, NOTE_MAX, false)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let row: Option<(String, String, String, String, i64)> = sqlx::query_as(
        "SELECT item_id, batch_id, store_id, kind, quantity FROM stock_movements WHERE id = ? AND deleted_at IS NULL",
    )
    .bind(&input.movement_id)
    .fetch_optional(w.conn())
    .await?;
    let Some((item_id, batch_id, store_id, kind, moved)) = row.filter(|r| r.3 == "dispensed") else {
        return Err(Error::validation("movement_id", ValidationReason::Invalid, "not a dispensing"));
    };
    let _ = kind;
    let returned: i64 = sqlx::query_scalar(
        "SELECT COALESCE(SUM(quantity), 0) FROM stock_movements WHERE returns_movement_id = ? AND deleted_at IS NULL",
    )
    .bind(&input.movement_id)
    .fetch_one(w.conn())
    .await?;
    let left = -moved - returned;
    if quantity > left {
        return Err(Error::validation(
            "quantity",
            ValidationReason::OutOfRange,
            format!("only {left} of this dispensing may come back"),
        ));
    }
    let movement_id = append_movement(
        &mut w,
        &NewMovement {
            item_id: &item_id,
            batch_id: &batch_id,
            store_id: &store_id,
            kind: MovementKind::Returned,
            quantity,
            reason: None,
            note: &note,
            receipt_line_id: None,
            dispensing_id: None,
            returns_movement_id: Some(&input.movement_id),
            transfer_id: None,
        },
    )
    .await?;
    let bill_adjusted = reduce_charge(&mut w, &input.movement_id, &item_id, left - quantity).await?;
    w.audit(
        "stock.return",
        "stock_batch",
        Some(&batch_id),
        json!({ "movement_id": movement_id, "returns": input.movement_id, "store_id": store_id, "quantity": quantity,
                "bill_adjusted": bill_adjusted, "note": note }),
    )
    .await?;
    w.commit().await?;
    Ok(Returned { movement_id, bill_adjusted })
}

/// The draft bill's line of a dispensing movement brought down to `keep` units (removed at
/// zero); `false` when there is no such line or its bill is no longer a draft.
async fn reduce_charge(w: &mut WriteTx<'_>, dispensed: &str, item_id: &str, keep: i64) -> Result<bool> {
    let row: Option<(String, String, String, i64)> = sqlx::query_as(
        "SELECT id, bill_id, description, unit_price_minor FROM bill_lines WHERE source = ? AND source_id = ? AND deleted_at IS NULL",
    )
    .bind(DISPENSE_SOURCE)
    .bind(dispensed)
    .fetch_optional(w.conn())
    .await?;
    let Some((line_id, bill_id, description, price)) = row else { return Ok(false) };
    let (_, status) = bills::bill_row(w.conn(), &bill_id).await?;
    if status != BillStatus::Draft {
        return Ok(false);
    }
    bills::delete_line(w, &bill_id, &line_id).await?;
    if keep > 0 {
        let item = super::setup::load_item(w.conn(), item_id)
            .await?
            .ok_or_else(|| Error::corrupt("stock_movements", dispensed, "item_id", "no such item"))?;
        insert_charge(w, &bill_id, &item, &description, keep, price, dispensed).await?;
    }
    w.audit(
        "bill.line_reduce",
        "bill",
        Some(&bill_id),
        json!({ "source": DISPENSE_SOURCE, "source_id": dispensed, "removed_line_id": line_id, "quantity": keep }),
    )
    .await?;
    Ok(true)
}
