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

use super::dispense_plan::{self, Planned};
use super::model::*;
use super::{append_movement, append_movements, positive, require_store, NewMovement};
use super::{LINES_MAX, NOTE_MAX};
use crate::billing::{bills, model::BillStatus, model::Category, money};
use crate::clinical::{insert_rows, line, within};
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{Store, WriteTx};
use serde_json::json;
use std::collections::HashMap;

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
/// Every line is checked and its batches chosen before anything is written
/// ([`super::dispense_plan`]); then each kind of row is written for all lines at once.
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
    let plan = dispense_plan::plan(&mut w, &input.store_id, today, allow_negative, &input.lines).await?;
    let done = write(&mut w, &input, plan).await?;
    w.commit().await?;
    Ok(done)
}

/// The ids a planned line is written under.
struct Ids {
    dispensing: String,
    movements: Vec<String>,
    /// (bill, line) of each priced batch taken, in pick order.
    charges: Vec<Option<(String, String)>>,
}

/// Writes the planned lines: the patients' open bills (opened where needed), then all the
/// dispensings, all the movements, all the bill lines and the audit entries.
async fn write(w: &mut WriteTx<'_>, input: &DispenseInput, plan: Vec<Planned>) -> Result<Dispensed> {
    let bills = open_bills(w, &plan).await?;
    let dispensed_at = w.now_rfc3339();
    let by = w.actor().user_id.clone();
    let mut ids: Vec<Ids> = plan
        .iter()
        .map(|_| Ids { dispensing: crate::ids::new_id(), movements: Vec::new(), charges: Vec::new() })
        .collect();
    let rows: Vec<[(&str, serde_json::Value); 9]> = plan
        .iter()
        .map(|p| {
            let l = &input.lines[p.index];
            [
                ("prescription_id", json!(l.prescription_id)),
                ("patient_id", json!(p.patient_id)),
                ("item_id", json!(p.item.id)),
                ("store_id", json!(input.store_id)),
                ("quantity", json!(p.quantity)),
                ("complete", json!(l.complete)),
                ("substitution_reason", json!(p.substitution)),
                ("dispensed_at", json!(dispensed_at)),
                ("dispensed_by", json!(by)),
            ]
        })
        .collect();
    let refs: Vec<(&str, &[(&str, serde_json::Value)])> =
        ids.iter().zip(&rows).map(|(i, r)| (i.dispensing.as_str(), r.as_slice())).collect();
    insert_rows(w, "dispensings", &refs).await?;
    let movements: Vec<NewMovement<'_>> = plan
        .iter()
        .zip(&ids)
        .flat_map(|(p, i)| p.picks.iter().map(move |(pick, _)| movement(&input.store_id, p, i, pick)))
        .collect();
    let mut written = append_movements(w, &movements).await?.into_iter();
    for (p, i) in plan.iter().zip(ids.iter_mut()) {
        i.movements = written.by_ref().take(p.picks.len()).collect();
    }
    charge(w, &plan, &bills, &mut ids).await?;
    audit(w, &input.store_id, &input.lines, &plan, &ids).await?;
    let bill_id = ids.iter().flat_map(|i| i.charges.iter().flatten()).map(|(bill, _)| bill.clone()).next();
    let lines = plan
        .into_iter()
        .zip(ids)
        .map(|(p, i)| DispensedLine {
            dispensing_id: i.dispensing,
            prescription_id: input.lines[p.index].prescription_id.clone(),
            item_id: p.item.id,
            quantity: p.quantity,
            movement_ids: i.movements,
            picks: p.picks.into_iter().map(|(pick, _)| pick).collect(),
            bill_line_ids: i.charges.into_iter().flatten().map(|(_, line)| line).collect(),
        })
        .collect();
    Ok(Dispensed { bill_id, lines })
}

fn movement<'a>(store_id: &'a str, p: &'a Planned, i: &'a Ids, pick: &'a Pick) -> NewMovement<'a> {
    NewMovement {
        item_id: &p.item.id,
        batch_id: &pick.batch_id,
        store_id,
        kind: MovementKind::Dispensed,
        quantity: -pick.quantity,
        reason: None,
        note: "",
        receipt_line_id: None,
        dispensing_id: Some(&i.dispensing),
        returns_movement_id: None,
        transfer_id: None,
    }
}

/// Each patient's open bill (patient → bill), for the patients with a priced batch taken; a
/// refusal names the first line of that patient.
async fn open_bills(w: &mut WriteTx<'_>, plan: &[Planned]) -> Result<HashMap<String, String>> {
    let mut bills = HashMap::new();
    for p in plan.iter().filter(|p| p.picks.iter().any(|(_, price)| *price != 0)) {
        if !bills.contains_key(&p.patient_id) {
            let bill = within(&format!("lines.{}", p.index), bills::open_draft(w, &p.patient_id).await)?;
            bills.insert(p.patient_id.clone(), bill);
        }
    }
    Ok(bills)
}

/// Each priced batch taken as a line on its patient's open bill (category pharmacy, at the
/// batch's sale price and the item's tax rate; its source the movement), all in one insert.
async fn charge(w: &mut WriteTx<'_>, plan: &[Planned], bills: &HashMap<String, String>, ids: &mut [Ids]) -> Result<()> {
    for (p, i) in plan.iter().zip(ids.iter_mut()) {
        let bill = bills.get(&p.patient_id);
        i.charges = p
            .picks
            .iter()
            .map(|(_, price)| bill.filter(|_| *price != 0).map(|b| (b.clone(), crate::ids::new_id())))
            .collect();
    }
    // (line, bill, description, quantity, price, tax rate, movement)
    let mut charges = Vec::new();
    for (p, i) in plan.iter().zip(ids.iter()) {
        for (((pick, price), movement), charge) in p.picks.iter().zip(&i.movements).zip(&i.charges) {
            if let Some((bill, line)) = charge {
                let description = describe(&p.item, pick);
                charges.push((
                    line.as_str(),
                    bill.as_str(),
                    description,
                    pick.quantity,
                    *price,
                    p.item.tax_rate_bp,
                    movement,
                ));
            }
        }
    }
    let mut lines = Vec::with_capacity(charges.len());
    for (_, _, description, quantity, price, tax, movement) in &charges {
        // The plan refused a quantity no bill line can hold.
        let quantity = u32::try_from(*quantity).map_err(|_| Error::internal("a planned bill line out of range"))?;
        lines.push(bills::NewLineRef {
            service_id: None,
            description,
            category: Category::Pharmacy,
            quantity,
            unit_price: *price,
            discount: money::Discount::None,
            tax_rate_bp: *tax,
            source: DISPENSE_SOURCE,
            source_id: Some(movement.as_str()),
        });
    }
    let rows: Vec<(&str, &str, &bills::NewLineRef<'_>)> =
        charges.iter().zip(&lines).map(|(c, l)| (c.0, c.1, l)).collect();
    bills::insert_lines_as(w, &rows).await
}

/// The audit entries, as a line-by-line dispensing made them: each line's charges, then the line.
async fn audit(
    w: &mut WriteTx<'_>,
    store_id: &str,
    lines: &[DispenseLineInput],
    plan: &[Planned],
    ids: &[Ids],
) -> Result<()> {
    let mut entries = Vec::new();
    for (p, i) in plan.iter().zip(ids) {
        let l = &lines[p.index];
        for (((pick, price), movement), charge) in p.picks.iter().zip(&i.movements).zip(&i.charges) {
            if let Some((bill, line)) = charge {
                let detail = json!({ "source": DISPENSE_SOURCE, "source_id": movement, "line_id": line,
                                     "quantity": pick.quantity, "unit_price_minor": price });
                entries.push(("bill.charge", "bill", Some(bill.as_str()), detail));
            }
        }
        let batches: Vec<serde_json::Value> =
            p.picks.iter().map(|(pick, _)| json!({ "batch_id": pick.batch_id, "quantity": pick.quantity })).collect();
        let detail = json!({ "prescription_id": l.prescription_id, "patient_id": p.patient_id, "item_id": p.item.id,
                             "store_id": store_id, "quantity": p.quantity, "complete": l.complete,
                             "substitution_reason": p.substitution, "batches": batches });
        entries.push(("stock.dispense", "dispensing", Some(i.dispensing.as_str()), detail));
    }
    w.audit_many(entries).await
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
