//! Money in and out of a bill: payments against an invoice (never above what is due),
//! advances on an open bill, refunds (never above what was paid), credit notes, and
//! insurance claims. Each is one audited write with its own receipt or note number.

use super::bills::{self, bill_row, credited_in, next_number, paid_in};
use super::model::{Bill, BillStatus, Insurance, PaymentInput, PaymentKind, PaymentMode};
use super::tariff::MAX_AMOUNT;
use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{ChangeOp, Store, WriteTx};
use serde_json::json;

fn amount(field: &str, a: i64) -> Result<i64> {
    if a <= 0 {
        return Err(Error::validation(field, ValidationReason::OutOfRange, "the amount must be more than zero"));
    }
    if a > MAX_AMOUNT {
        return Err(Error::validation(field, ValidationReason::OutOfRange, "at most 1,00,00,000.00"));
    }
    Ok(a)
}

/// The most characters a payment note, a refund's or a credit note's reason may have.
pub const REASON_MAX: usize = 300;
/// The most characters of a payment's reference (a cheque or transaction number).
pub const REFERENCE_MAX: usize = 80;
/// The most characters of an insurer's name, and of a policy or pre-authorisation number.
pub const PAYER_MAX: usize = 120;
pub const POLICY_NO_MAX: usize = 60;

fn short(field: &str, raw: &str, max: usize) -> Result<String> {
    let s = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > max {
        return Err(Error::validation(field, ValidationReason::TooLong, format!("at most {max} characters")));
    }
    Ok(s)
}

/// What a final invoice still asks for.
async fn due(w: &mut WriteTx<'_>, bill_id: &str) -> Result<i64> {
    let total: i64 =
        sqlx::query_scalar("SELECT total_minor FROM bills WHERE id = ?").bind(bill_id).fetch_one(w.conn()).await?;
    Ok(total - credited_in(w.conn(), bill_id).await? - paid_in(w.conn(), bill_id).await?)
}

async fn insert_payment(w: &mut WriteTx<'_>, bill_id: &str, kind: PaymentKind, input: &PaymentInput) -> Result<String> {
    let receipt_no = next_number(
        w,
        if kind == PaymentKind::Refund { "refund" } else { "receipt" },
        if kind == PaymentKind::Refund { "RF" } else { "RCP" },
    )
    .await?;
    let reference = short("reference", &input.reference, REFERENCE_MAX)?;
    let note = short("note", &input.note, REASON_MAX)?;
    let id = crate::ids::new_id();
    let (now, stamp, by, dev) = (w.now_rfc3339(), w.stamp(), w.actor().user_id.clone(), w.device_id().to_string());
    sqlx::query(
        "INSERT INTO payments (id, bill_id, kind, mode, amount_minor, reference, note, received_at, received_by, receipt_no,
           created_at, updated_at, updated_by, origin_device) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&id)
    .bind(bill_id)
    .bind(kind.code())
    .bind(input.mode.code())
    .bind(input.amount_minor)
    .bind(&reference)
    .bind(&note)
    .bind(&now)
    .bind(&by)
    .bind(&receipt_no)
    .bind(&now)
    .bind(&stamp)
    .bind(&by)
    .bind(&dev)
    .execute(w.conn())
    .await?;
    let row = json!({ "id": id, "bill_id": bill_id, "kind": kind, "mode": input.mode, "amount_minor": input.amount_minor, "reference": reference, "note": note, "received_at": now, "received_by": by, "receipt_no": receipt_no, "updated_at": stamp, "updated_by": by });
    w.record_change("payments", &id, ChangeOp::Insert, &row).await?;
    w.audit(
        &format!("bill.{}", kind.code()),
        "bill",
        Some(bill_id),
        json!({ "amount_minor": input.amount_minor, "mode": input.mode, "receipt_no": receipt_no }),
    )
    .await?;
    Ok(id)
}

/// Takes a payment against a finalized invoice; more than is due is refused (take the
/// rest as an advance on the patient's next bill instead).
pub async fn pay(store: &Store, auth: &Authorized, bill_id: &str, input: PaymentInput) -> Result<Bill> {
    auth.require(Permission::BillingEdit)?;
    amount("amount_minor", input.amount_minor)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let (_, status) = bill_row(w.conn(), bill_id).await?;
    match status {
        BillStatus::Final => {}
        BillStatus::Draft => {
            return Err(Error::validation(
                "bill_id",
                ValidationReason::Invalid,
                "finalize the bill first, or take an advance",
            ))
        }
        BillStatus::Cancelled => {
            return Err(Error::validation("bill_id", ValidationReason::Invalid, "this invoice is cancelled"))
        }
    }
    let due = due(&mut w, bill_id).await?;
    if input.amount_minor > due {
        return Err(Error::validation(
            "amount_minor",
            ValidationReason::OutOfRange,
            format!("more than what is due ({due} minor units)"),
        ));
    }
    insert_payment(&mut w, bill_id, PaymentKind::Payment, &input).await?;
    w.commit().await?;
    bills::load_for(store, auth, bill_id).await
}

/// Takes an advance on the patient's open bill (a deposit before the final bill).
pub async fn advance(store: &Store, auth: &Authorized, patient_id: &str, input: PaymentInput) -> Result<Bill> {
    auth.require(Permission::BillingEdit)?;
    amount("amount_minor", input.amount_minor)?;
    if input.mode == PaymentMode::Insurance {
        return Err(Error::validation(
            "mode",
            ValidationReason::Invalid,
            "insurance settles an invoice, not an advance",
        ));
    }
    let mut w = store.begin_write(auth.actor()).await?;
    let bill_id = advance_in(&mut w, patient_id, &input).await?;
    w.commit().await?;
    bills::load_for(store, auth, &bill_id).await
}

/// Checks an advance (amount and mode) before a write: what [`advance`] refuses, with the
/// same fields (the deposit taken at admission checks it before the admission is written).
pub(crate) fn check_advance(auth: &Authorized, input: &PaymentInput) -> Result<()> {
    auth.require(Permission::BillingEdit)?;
    amount("amount_minor", input.amount_minor)?;
    if input.mode == PaymentMode::Insurance {
        return Err(Error::validation(
            "mode",
            ValidationReason::Invalid,
            "insurance settles an invoice, not an advance",
        ));
    }
    short("reference", &input.reference, REFERENCE_MAX)?;
    short("note", &input.note, REASON_MAX)?;
    Ok(())
}

/// An advance on the patient's open bill (opened when there is none) inside a write: the bill.
pub(crate) async fn advance_in(w: &mut WriteTx<'_>, patient_id: &str, input: &PaymentInput) -> Result<String> {
    let bill_id = bills::open_draft(w, patient_id).await?;
    insert_payment(w, &bill_id, PaymentKind::Advance, input).await?;
    Ok(bill_id)
}

/// Gives money back: never more than was paid on the bill. Needs `billing_refund`.
pub async fn refund(store: &Store, auth: &Authorized, bill_id: &str, input: PaymentInput) -> Result<Bill> {
    auth.require(Permission::BillingRefund)?;
    amount("amount_minor", input.amount_minor)?;
    if input.note.trim().is_empty() {
        return Err(Error::validation("note", ValidationReason::Required, "say why the money is given back"));
    }
    let mut w = store.begin_write(auth.actor()).await?;
    bill_row(w.conn(), bill_id).await?;
    let paid = paid_in(w.conn(), bill_id).await?;
    if input.amount_minor > paid {
        return Err(Error::validation(
            "amount_minor",
            ValidationReason::OutOfRange,
            format!("more than was paid ({paid} minor units)"),
        ));
    }
    insert_payment(&mut w, bill_id, PaymentKind::Refund, &input).await?;
    w.commit().await?;
    bills::load_for(store, auth, bill_id).await
}

/// Lowers what a finalized invoice asks for, with a numbered credit note and a reason.
pub async fn credit_note(
    store: &Store,
    auth: &Authorized,
    bill_id: &str,
    amount_minor: i64,
    reason: &str,
) -> Result<Bill> {
    auth.require(Permission::BillingRefund)?;
    amount("amount_minor", amount_minor)?;
    let reason = short("reason", reason, REASON_MAX)?;
    if reason.is_empty() {
        return Err(Error::validation("reason", ValidationReason::Required, "say why the invoice is credited"));
    }
    let mut w = store.begin_write(auth.actor()).await?;
    let (_, status) = bill_row(w.conn(), bill_id).await?;
    if status != BillStatus::Final {
        return Err(Error::validation(
            "bill_id",
            ValidationReason::Invalid,
            "only a finalized invoice takes a credit note",
        ));
    }
    let total: i64 =
        sqlx::query_scalar("SELECT total_minor FROM bills WHERE id = ?").bind(bill_id).fetch_one(w.conn()).await?;
    let room = total - credited_in(w.conn(), bill_id).await?;
    if amount_minor > room {
        return Err(Error::validation(
            "amount_minor",
            ValidationReason::OutOfRange,
            format!("more than the invoice still stands at ({room} minor units)"),
        ));
    }
    let number = next_number(&mut w, "credit", "CN").await?;
    let id = crate::ids::new_id();
    let (now, stamp, by, dev) = (w.now_rfc3339(), w.stamp(), w.actor().user_id.clone(), w.device_id().to_string());
    sqlx::query(
        "INSERT INTO credit_notes (id, bill_id, number, amount_minor, reason, created_at, updated_at, updated_by, origin_device) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&id)
    .bind(bill_id)
    .bind(&number)
    .bind(amount_minor)
    .bind(&reason)
    .bind(&now)
    .bind(&stamp)
    .bind(&by)
    .bind(&dev)
    .execute(w.conn())
    .await?;
    w.record_change("credit_notes", &id, ChangeOp::Insert, &json!({ "id": id, "bill_id": bill_id, "number": number, "amount_minor": amount_minor, "reason": reason, "created_at": now, "updated_at": stamp, "updated_by": by })).await?;
    w.audit(
        "bill.credit_note",
        "bill",
        Some(bill_id),
        json!({ "number": number, "amount_minor": amount_minor, "reason": reason }),
    )
    .await?;
    w.commit().await?;
    bills::load_for(store, auth, bill_id).await
}

/// Records or updates the insurance on a bill: payer, policy, pre-authorisation, claimed
/// and approved amounts (settlement is `settle_insurance`).
pub async fn set_insurance(store: &Store, auth: &Authorized, bill_id: &str, input: Insurance) -> Result<Bill> {
    auth.require(Permission::BillingEdit)?;
    let payer = short("payer", &input.payer, PAYER_MAX)?;
    if payer.is_empty() {
        return Err(Error::validation("payer", ValidationReason::Required, "name the insurer or scheme"));
    }
    let policy = short("policy_no", &input.policy_no, POLICY_NO_MAX)?;
    let preauth = short("preauth_no", &input.preauth_no, POLICY_NO_MAX)?;
    for (field, v) in [("claimed_minor", input.claimed_minor), ("approved_minor", input.approved_minor)] {
        if !(0..=MAX_AMOUNT).contains(&v) {
            return Err(Error::validation(field, ValidationReason::OutOfRange, "0 to 1,00,00,000.00"));
        }
    }
    if input.approved_minor > input.claimed_minor {
        return Err(Error::validation(
            "approved_minor",
            ValidationReason::OutOfRange,
            "cannot approve more than was claimed",
        ));
    }
    let bill = bills::load(store, bill_id).await?;
    if bill.status == BillStatus::Cancelled {
        return Err(Error::validation("bill_id", ValidationReason::Invalid, "this invoice is cancelled"));
    }
    if input.claimed_minor > bill.totals.total {
        return Err(Error::validation(
            "claimed_minor",
            ValidationReason::OutOfRange,
            "cannot claim more than the bill",
        ));
    }
    let mut w = store.begin_write(auth.actor()).await?;
    let (now, stamp, by, dev) = (w.now_rfc3339(), w.stamp(), w.actor().user_id.clone(), w.device_id().to_string());
    let existing: Option<String> = sqlx::query_scalar("SELECT id FROM bill_insurance WHERE bill_id = ?")
        .bind(bill_id)
        .fetch_optional(w.conn())
        .await?;
    let id = existing.clone().unwrap_or_else(crate::ids::new_id);
    sqlx::query(
        "INSERT INTO bill_insurance (id, bill_id, payer, policy_no, preauth_no, claimed_minor, approved_minor, created_at, updated_at, updated_by, origin_device)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (bill_id) DO UPDATE SET payer = excluded.payer, policy_no = excluded.policy_no, preauth_no = excluded.preauth_no,
           claimed_minor = excluded.claimed_minor, approved_minor = excluded.approved_minor, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(&id)
    .bind(bill_id)
    .bind(&payer)
    .bind(&policy)
    .bind(&preauth)
    .bind(input.claimed_minor)
    .bind(input.approved_minor)
    .bind(&now)
    .bind(&stamp)
    .bind(&by)
    .bind(&dev)
    .execute(w.conn())
    .await?;
    let op = if existing.is_some() { ChangeOp::Update } else { ChangeOp::Insert };
    w.record_change("bill_insurance", &id, op, &json!({ "id": id, "bill_id": bill_id, "payer": payer, "policy_no": policy, "preauth_no": preauth, "claimed_minor": input.claimed_minor, "approved_minor": input.approved_minor, "updated_at": stamp, "updated_by": by })).await?;
    w.audit(
        "bill.insurance",
        "bill",
        Some(bill_id),
        json!({ "payer": payer, "claimed_minor": input.claimed_minor, "approved_minor": input.approved_minor }),
    )
    .await?;
    w.commit().await?;
    bills::load_for(store, auth, bill_id).await
}

/// The insurer paid: a payment in mode `insurance`, counted as settled on the claim.
pub async fn settle_insurance(
    store: &Store,
    auth: &Authorized,
    bill_id: &str,
    amount_minor: i64,
    reference: &str,
) -> Result<Bill> {
    auth.require(Permission::BillingEdit)?;
    amount("amount_minor", amount_minor)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let (_, status) = bill_row(w.conn(), bill_id).await?;
    if status != BillStatus::Final {
        return Err(Error::validation("bill_id", ValidationReason::Invalid, "an insurer settles a finalized invoice"));
    }
    let claim: Option<(String, i64, i64)> =
        sqlx::query_as("SELECT id, approved_minor, settled_minor FROM bill_insurance WHERE bill_id = ?")
            .bind(bill_id)
            .fetch_optional(w.conn())
            .await?;
    let (claim_id, approved, settled) =
        claim.ok_or_else(|| Error::validation("bill_id", ValidationReason::Invalid, "record the insurance first"))?;
    if settled + amount_minor > approved {
        return Err(Error::validation("amount_minor", ValidationReason::OutOfRange, "more than the insurer approved"));
    }
    if amount_minor > due(&mut w, bill_id).await? {
        return Err(Error::validation("amount_minor", ValidationReason::OutOfRange, "more than what is due"));
    }
    let input = PaymentInput {
        mode: PaymentMode::Insurance,
        amount_minor,
        reference: reference.to_string(),
        note: String::new(),
    };
    insert_payment(&mut w, bill_id, PaymentKind::Payment, &input).await?;
    let (stamp, by) = (w.stamp(), w.actor().user_id.clone());
    sqlx::query(
        "UPDATE bill_insurance SET settled_minor = settled_minor + ?, updated_at = ?, updated_by = ? WHERE id = ?",
    )
    .bind(amount_minor)
    .bind(&stamp)
    .bind(&by)
    .bind(&claim_id)
    .execute(w.conn())
    .await?;
    w.record_change(
        "bill_insurance",
        &claim_id,
        ChangeOp::Update,
        &json!({ "id": claim_id, "settled_minor": settled + amount_minor, "updated_at": stamp, "updated_by": by }),
    )
    .await?;
    w.commit().await?;
    bills::load_for(store, auth, bill_id).await
}
