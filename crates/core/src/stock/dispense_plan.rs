//! What a dispensing will write, worked out before anything is written.
//!
//! Every line's prescription, item and batches are read in one statement each for all the
//! lines (line by line, a 5-line prescription took about 90 statements, each a round trip to
//! SQLite's thread), and the batches are chosen in memory: what an earlier line of the same
//! dispensing takes from a batch is deducted before a later line weighs it, and a
//! prescription one line completes cannot be dispensed by a later one — as when the lines
//! were written one after the other.

use super::fefo;
use super::model::*;
use super::{candidates_of, positive, require_batch_of, Candidates, NOTE_MAX};
use crate::clinical::{line, within};
use crate::error::{Error, Result, ValidationReason};
use crate::store::WriteTx;
use chrono::NaiveDate;
use std::collections::{HashMap, HashSet};

/// One line as it will be written.
pub(super) struct Planned {
    /// Its place in the input (errors name `lines.{index}`).
    pub index: usize,
    pub patient_id: String,
    pub quantity: i64,
    pub item: StockItem,
    pub substitution: String,
    /// Each batch taken, with its sale price (minor units a base unit).
    pub picks: Vec<(Pick, i64)>,
}

/// A prescription as dispensing weighs it.
struct Rx {
    patient_id: String,
    medicine_id: String,
    ends_on: Option<NaiveDate>,
    stopped: bool,
    complete: bool,
}

/// What every line may need, read once.
struct Facts {
    prescriptions: HashMap<String, Rx>,
    /// medicine → its stock item (the first made, should two devices have made one each).
    item_of_medicine: HashMap<String, String>,
    items: HashMap<String, StockItem>,
    candidates: Candidates,
}

/// Where the lines stand as they are planned one after the other.
struct Running<'a> {
    store_id: &'a str,
    today: NaiveDate,
    allow_negative: bool,
    /// batch → base units earlier lines take from it in this store.
    taken: HashMap<String, i64>,
    /// Prescriptions an earlier line completes.
    completed: HashSet<String>,
}

/// Every line checked and its batches chosen; nothing written. Errors name `lines.{i}`.
pub(super) async fn plan(
    w: &mut WriteTx<'_>,
    store_id: &str,
    today: NaiveDate,
    allow_negative: bool,
    lines: &[DispenseLineInput],
) -> Result<Vec<Planned>> {
    let facts = facts(w, lines).await?;
    let mut run = Running { store_id, today, allow_negative, taken: HashMap::new(), completed: HashSet::new() };
    let mut out = Vec::with_capacity(lines.len());
    for (index, l) in lines.iter().enumerate() {
        let planned = within(&format!("lines.{index}"), plan_line(w, &facts, &mut run, index, l).await)?;
        for (p, _) in &planned.picks {
            *run.taken.entry(p.batch_id.clone()).or_insert(0) += p.quantity;
        }
        if l.complete {
            run.completed.insert(l.prescription_id.clone());
        }
        out.push(planned);
    }
    Ok(out)
}

async fn facts(w: &mut WriteTx<'_>, lines: &[DispenseLineInput]) -> Result<Facts> {
    let ids: Vec<&str> = lines.iter().map(|l| l.prescription_id.as_str()).collect();
    let prescriptions = prescriptions(w, &ids).await?;
    let medicines: Vec<&str> = prescriptions.values().map(|r| r.medicine_id.as_str()).collect();
    let item_of_medicine: HashMap<String, String> = sqlx::query_as(
        "SELECT medicine_id, MIN(id) FROM stock_items
         WHERE medicine_id IN (SELECT value FROM json_each(?)) AND deleted_at IS NULL AND active = 1
         GROUP BY medicine_id",
    )
    .bind(serde_json::to_string(&medicines)?)
    .fetch_all(w.conn())
    .await?
    .into_iter()
    .collect();
    let mut wanted: Vec<&str> = item_of_medicine.values().map(String::as_str).collect();
    wanted.extend(lines.iter().filter_map(|l| chosen_item(l)));
    let items = super::setup::load_items(w.conn(), &wanted).await?;
    let item_ids: Vec<&str> = items.keys().map(String::as_str).collect();
    let candidates = candidates_of(w.conn(), &item_ids).await?;
    Ok(Facts { prescriptions, item_of_medicine, items, candidates })
}

/// The prescriptions named, not deleted, with whether a dispensing completed each.
async fn prescriptions(w: &mut WriteTx<'_>, ids: &[&str]) -> Result<HashMap<String, Rx>> {
    type Row = (String, String, String, Option<String>, bool, bool);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT r.id, r.patient_id, r.medicine_id, r.ends_on, r.stopped_at IS NOT NULL,
                EXISTS (SELECT 1 FROM dispensings d WHERE d.prescription_id = r.id AND d.complete = 1 AND d.deleted_at IS NULL)
         FROM prescriptions r WHERE r.id IN (SELECT value FROM json_each(?)) AND r.deleted_at IS NULL",
    )
    .bind(serde_json::to_string(ids)?)
    .fetch_all(w.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, patient_id, medicine_id, ends_on, stopped, complete)| {
            let ends_on = ends_on.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok());
            (id, Rx { patient_id, medicine_id, ends_on, stopped, complete })
        })
        .collect())
}

/// The item a line names instead of the prescribed one's, if any.
fn chosen_item(l: &DispenseLineInput) -> Option<&str> {
    l.item_id.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

async fn plan_line(
    w: &mut WriteTx<'_>,
    facts: &Facts,
    run: &mut Running<'_>,
    index: usize,
    l: &DispenseLineInput,
) -> Result<Planned> {
    let rx = facts
        .prescriptions
        .get(&l.prescription_id)
        .ok_or_else(|| Error::validation("prescription_id", ValidationReason::Invalid, "no such prescription"))?;
    if rx.stopped {
        return Err(Error::validation("prescription_id", ValidationReason::Invalid, "this prescription was stopped"));
    }
    if rx.complete || run.completed.contains(&l.prescription_id) {
        return Err(Error::validation("prescription_id", ValidationReason::Invalid, "dispensed in full already"));
    }
    let quantity = positive("quantity", l.quantity)?;
    let (item, substitution) = item_to_give(facts, &rx.medicine_id, l)?;
    let picks = match l.batch_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(batch) => by_hand(w, run, &item.id, batch, quantity).await?,
        None => {
            let batches = facts.candidates.batches.get(&item.id).map(Vec::as_slice).unwrap_or_default();
            let picks = first_expiry_first_out(run, batches, rx.ends_on, quantity)?;
            picks
                .into_iter()
                .map(|p| {
                    let price = facts.candidates.prices.get(&p.batch_id).copied().unwrap_or(0);
                    (p, price)
                })
                .collect()
        }
    };
    for (p, price) in &picks {
        if *price != 0 && u32::try_from(p.quantity).is_err() {
            return Err(Error::validation("quantity", ValidationReason::OutOfRange, "too many for one bill line"));
        }
    }
    Ok(Planned { index, patient_id: rx.patient_id.clone(), quantity, item, substitution, picks })
}

/// The item to give: the prescribed medicine's, or a substitute with its reason.
fn item_to_give(facts: &Facts, medicine_id: &str, l: &DispenseLineInput) -> Result<(StockItem, String)> {
    let prescribed = facts.item_of_medicine.get(medicine_id).map(String::as_str);
    let reason = line("substitution_reason", &l.substitution_reason, NOTE_MAX, false)?;
    match (chosen_item(l), prescribed) {
        (None, None) => Err(Error::validation(
            "item_id",
            ValidationReason::Required,
            "this medicine is not stocked: choose an item",
        )),
        (None, Some(p)) => Ok((stocked(facts, p)?, String::new())),
        (Some(c), p) if p == Some(c) => Ok((stocked(facts, c)?, String::new())),
        (Some(c), _) => {
            if reason.is_empty() {
                return Err(Error::validation(
                    "substitution_reason",
                    ValidationReason::Required,
                    "why another item is given",
                ));
            }
            Ok((stocked(facts, c)?, reason))
        }
    }
}

/// An item that exists and is active (as `require_item` says of one read alone).
fn stocked(facts: &Facts, id: &str) -> Result<StockItem> {
    match facts.items.get(id) {
        Some(item) if item.active => Ok(item.clone()),
        Some(_) => Err(Error::validation("item_id", ValidationReason::Invalid, "this item is no longer stocked")),
        None => Err(Error::validation("item_id", ValidationReason::Invalid, "no such item")),
    }
}

/// A batch as it stands after what earlier lines take from it in this store.
fn after_taken(c: &Candidate, run: &Running<'_>) -> Candidate {
    let mut c = c.clone();
    if let Some(taken) = run.taken.get(&c.batch_id) {
        match c.balances.iter_mut().find(|(s, _)| s == run.store_id) {
            Some((_, q)) => *q -= taken,
            None => c.balances.push((run.store_id.to_string(), -taken)),
        }
    }
    c
}

/// One batch chosen by the pharmacist: of this item, never expired or held, with the stock;
/// with its price.
async fn by_hand(
    w: &mut WriteTx<'_>,
    run: &Running<'_>,
    item_id: &str,
    batch_id: &str,
    quantity: i64,
) -> Result<Vec<(Pick, i64)>> {
    let c = after_taken(&require_batch_of(w.conn(), "batch_id", batch_id, item_id).await?, run);
    match fefo::usable(&c, run.store_id, run.today, None) {
        Some(PassedReason::Expired) => {
            return Err(Error::validation("batch_id", ValidationReason::Invalid, "this batch has expired"))
        }
        Some(PassedReason::OnHold) => {
            return Err(Error::validation("batch_id", ValidationReason::Invalid, "this batch is on hold"))
        }
        _ => {}
    }
    let have = fefo::balance_in(&c, run.store_id);
    if have < quantity && !run.allow_negative {
        return Err(Error::validation(
            "quantity",
            ValidationReason::OutOfRange,
            format!("only {have} of this batch here"),
        ));
    }
    let price: i64 = sqlx::query_scalar("SELECT sale_price_minor FROM stock_batches WHERE id = ?")
        .bind(&c.batch_id)
        .fetch_one(w.conn())
        .await?;
    let expiry = c.expiry.format("%Y-%m-%d").to_string();
    Ok(vec![(Pick { batch_id: c.batch_id, batch_no: c.batch_no, expiry, quantity }, price)])
}

fn first_expiry_first_out(
    run: &Running<'_>,
    batches: &[Candidate],
    course_end: Option<NaiveDate>,
    quantity: i64,
) -> Result<Vec<Pick>> {
    let batches: Vec<Candidate> = batches.iter().map(|c| after_taken(c, run)).collect();
    let a = fefo::allocate(&batches, run.store_id, quantity, run.today, course_end);
    if a.short == 0 {
        return Ok(a.picks);
    }
    if !run.allow_negative {
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
        batches.iter().filter(|c| c.expiry >= run.today && !c.on_hold).min_by_key(|c| (c.expiry, c.batch_id.clone()));
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
