//! A patient's bill: one open (draft) bill gathers charges; lines are added and removed
//! while it is a draft; finalizing mints a gap-free invoice number and freezes it. After
//! that only payments, refunds, credit notes or cancellation touch it (payments.rs).

use super::model::{
    Bill, BillLine, BillStatus, BillSummary, Category, CreditNote, Insurance, LineInput, Payment, PaymentKind,
    PaymentMode, PaymentStatus,
};
use super::money::{self, Discount, LineAmounts};
use super::tariff;
use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{meta, stored, ChangeOp, Store, WriteTx};
use serde_json::json;
use sqlx::{Row, SqliteConnection};

/// Up to this discount (10% of the line) any biller may give; above it needs
/// `billing_discount_high`.
pub const DISCOUNT_LIMIT_BP: u32 = 1_000;
const MAX_LINES: i64 = 500;
pub const MAX_QUANTITY: u32 = 10_000;
/// The most characters a line's description may have.
pub const DESCRIPTION_MAX: usize = 200;
/// The most characters a cancel reason may have.
pub const CANCEL_REASON_MAX: usize = 500;

/// The next number of a per-device series, inside the caller's transaction, so numbers are
/// gap-free on one device (a rolled-back write gives its number back) and unique across
/// devices (the device prefix).
pub(crate) async fn next_number(w: &mut WriteTx<'_>, kind: &str, default_series: &str) -> Result<String> {
    let prefix = crate::clinic::device_prefix(w).await?;
    let key = format!("{kind}_seq");
    let last: i64 = match meta::get(w.conn(), &key).await? {
        None => 0,
        Some(v) => v.parse().map_err(|e| Error::corrupt("meta", &key, "value", e))?,
    };
    meta::set(w.conn(), &key, &(last + 1).to_string()).await?;
    Ok(format!("{default_series}-{prefix}-{:06}", last + 1))
}

pub(crate) async fn bill_row(conn: &mut SqliteConnection, id: &str) -> Result<(String, BillStatus)> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT patient_id, status FROM bills WHERE id = ? AND deleted_at IS NULL")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    let (patient, status) = row.ok_or_else(|| Error::NotFound { entity: "bill".into() })?;
    Ok((patient, stored::code("bills", id, "status", &status, BillStatus::from_code)?))
}

/// The patient's open bill, created when there is none.
pub(crate) async fn open_draft(w: &mut WriteTx<'_>, patient_id: &str) -> Result<String> {
    let mut drafts = open_drafts(w, &[patient_id]).await?;
    drafts.remove(patient_id).ok_or_else(|| Error::internal("no open bill after opening one"))
}

/// Each patient's open bill (patient → bill), created for those who have none, in a handful
/// of statements whatever their number (the census charges every inpatient at once). A patient
/// who does not exist or was merged into another is refused, naming `patient_id`.
pub(crate) async fn open_drafts(
    w: &mut WriteTx<'_>,
    patients: &[&str],
) -> Result<std::collections::HashMap<String, String>> {
    let ids = serde_json::to_string(patients)?;
    let found: Vec<(String, String)> = stored::json_rows(
        w.conn(),
        "SELECT json_group_array(json_array(patient_id, id)) FROM bills
         WHERE status = 'draft' AND deleted_at IS NULL AND patient_id IN (SELECT value FROM json_each(?))",
        "bills",
        &[Some(&ids)],
    )
    .await?;
    let mut drafts = std::collections::HashMap::new();
    for (patient, bill) in found {
        drafts.entry(patient).or_insert(bill);
    }
    let mut missing: Vec<&str> = patients.iter().copied().filter(|p| !drafts.contains_key(*p)).collect();
    missing.sort_unstable();
    missing.dedup();
    if missing.is_empty() {
        return Ok(drafts);
    }
    let statuses: Vec<(String, String)> = stored::json_rows(
        w.conn(),
        "SELECT json_group_array(json_array(id, status)) FROM patients
         WHERE deleted_at IS NULL AND id IN (SELECT value FROM json_each(?))",
        "patients",
        &[Some(&serde_json::to_string(&missing)?)],
    )
    .await?;
    let statuses: std::collections::HashMap<String, String> = statuses.into_iter().collect();
    for p in &missing {
        match statuses.get(*p).map(String::as_str) {
            None => return Err(Error::validation("patient_id", ValidationReason::Invalid, "no such patient")),
            Some("merged") => {
                return Err(Error::validation(
                    "patient_id",
                    ValidationReason::Invalid,
                    "this record was merged into another; bill that one",
                ))
            }
            Some(_) => {}
        }
    }
    let currency = super::currency_in(w).await?;
    let (now, stamp, by, dev) = (w.now_rfc3339(), w.stamp(), w.actor().user_id.clone(), w.device_id().to_string());
    let new: Vec<(String, &str)> = missing.iter().map(|p| (crate::ids::new_id(), *p)).collect();
    // 7 variables a row: 4,000 rows stay under SQLite's limit.
    for chunk in new.chunks(4_000) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO bills (id, patient_id, status, currency, created_at, updated_at, updated_by, origin_device) ",
        );
        q.push_values(chunk, |mut b, (id, patient)| {
            b.push_bind(id.as_str())
                .push_bind(*patient)
                .push_bind("draft")
                .push_bind(currency.as_str())
                .push_bind(now.as_str())
                .push_bind(stamp.as_str())
                .push_bind(by.as_deref())
                .push_bind(dev.as_str());
        });
        q.build().execute(w.conn()).await?;
    }
    let rows: Vec<(&str, serde_json::Value)> = new
        .iter()
        .map(|(id, patient)| {
            let row = json!({ "id": id, "patient_id": patient, "status": "draft", "currency": currency, "created_at": now, "updated_at": stamp, "updated_by": by });
            (id.as_str(), row)
        })
        .collect();
    w.record_changes("bills", ChangeOp::Insert, &rows).await?;
    for (id, patient) in new {
        drafts.insert(patient.to_string(), id);
    }
    Ok(drafts)
}

/// The patient's open bill (created if needed), as the billing desk opens it.
pub async fn open_bill(store: &Store, auth: &Authorized, patient_id: &str) -> Result<Bill> {
    auth.require(Permission::BillingEdit)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let id = open_draft(&mut w, patient_id).await?;
    w.audit("bill.open", "bill", Some(&id), json!({ "patient_id": patient_id })).await?;
    w.commit().await?;
    load_for(store, auth, &id).await
}

fn check_discount(auth: &Authorized, d: Discount, gross: i64) -> Result<Discount> {
    let over = match d {
        Discount::None => false,
        Discount::Amount(a) if a < 0 => {
            return Err(Error::validation("discount", ValidationReason::OutOfRange, "a discount cannot be negative"))
        }
        Discount::Amount(a) if a > gross => {
            return Err(Error::validation(
                "discount",
                ValidationReason::OutOfRange,
                "a discount cannot be more than the line",
            ))
        }
        Discount::Amount(a) => i128::from(a) * 10_000 > i128::from(gross) * i128::from(DISCOUNT_LIMIT_BP),
        Discount::Percent(bp) if bp > 10_000 => {
            return Err(Error::validation("discount", ValidationReason::OutOfRange, "a discount is 0% to 100%"))
        }
        Discount::Percent(bp) => bp > DISCOUNT_LIMIT_BP,
    };
    if over && auth.require(Permission::BillingDiscountHigh).is_err() {
        return Err(Error::validation(
            "discount",
            ValidationReason::OutOfRange,
            "a discount above 10% needs a supervisor (billing_discount_high)",
        ));
    }
    Ok(d)
}

/// A line ready to insert: from the tariff or free text, with its price and tax.
struct NewLine {
    service_id: Option<String>,
    description: String,
    category: Category,
    quantity: u32,
    unit_price: i64,
    discount: Discount,
    tax_rate_bp: u32,
}

async fn resolve_line(
    conn: &mut SqliteConnection,
    auth: &Authorized,
    input: &LineInput,
    day: chrono::NaiveDate,
) -> Result<NewLine> {
    let quantity = u32::try_from(input.quantity).ok().filter(|q| (1..=MAX_QUANTITY).contains(q)).ok_or_else(|| {
        Error::validation("quantity", ValidationReason::OutOfRange, format!("a quantity from 1 to {MAX_QUANTITY}"))
    })?;
    let (service_id, mut description, category, tariff_price, rate) =
        match input.service_id.as_deref().filter(|s| !s.is_empty()) {
            Some(sid) => {
                let row: Option<(String, String, i64, bool)> = sqlx::query_as(
                    "SELECT name, category, tax_rate_bp, active FROM services WHERE id = ? AND deleted_at IS NULL",
                )
                .bind(sid)
                .fetch_optional(&mut *conn)
                .await?;
                let (name, cat, rate, active) =
                    row.ok_or_else(|| Error::validation("service_id", ValidationReason::Invalid, "no such service"))?;
                if !active {
                    return Err(Error::validation("service_id", ValidationReason::Invalid, "this service is retired"));
                }
                let price = tariff::price_on(&mut *conn, sid, day).await?;
                (
                    Some(sid.to_string()),
                    name,
                    stored::code("services", sid, "category", &cat, Category::from_code)?,
                    price,
                    stored_u32("services", sid, "tax_rate_bp", rate)?,
                )
            }
            None => (None, String::new(), Category::Other, None, 0),
        };
    let typed = input.description.split_whitespace().collect::<Vec<_>>().join(" ");
    if !typed.is_empty() {
        description = typed;
    }
    if description.is_empty() {
        return Err(Error::validation(
            "description",
            ValidationReason::Required,
            "describe the charge or pick a service",
        ));
    }
    if description.chars().count() > DESCRIPTION_MAX {
        return Err(Error::validation(
            "description",
            ValidationReason::TooLong,
            format!("at most {DESCRIPTION_MAX} characters"),
        ));
    }
    let unit_price = match (input.unit_price_minor, tariff_price) {
        (Some(p), _) => tariff::check_price("unit_price_minor", p)?,
        (None, Some(p)) => p,
        (None, None) => {
            return Err(Error::validation(
                "unit_price_minor",
                ValidationReason::Required,
                "this service has no price yet: enter one",
            ))
        }
    };
    let gross = i64::from(quantity).saturating_mul(unit_price);
    let discount = check_discount(auth, input.discount, gross)?;
    Ok(NewLine { service_id, description, category, quantity, unit_price, discount, tax_rate_bp: rate })
}

fn discount_columns(d: Discount) -> (&'static str, i64) {
    match d {
        Discount::None => ("none", 0),
        Discount::Amount(a) => ("amount", a),
        Discount::Percent(bp) => ("percent", i64::from(bp)),
    }
}

/// Inserts a line on a draft bill (the caller checked the bill is a draft).
pub(crate) async fn insert_line(w: &mut WriteTx<'_>, bill_id: &str, l: &NewLineRef<'_>) -> Result<String> {
    insert_line_as(w, &crate::ids::new_id(), bill_id, l).await
}

/// [`insert_line`] under a given id: a charge that two devices may each make for the same
/// thing (a bed-day) takes an id derived from what it charges, so that both make one row.
pub(crate) async fn insert_line_as(w: &mut WriteTx<'_>, id: &str, bill_id: &str, l: &NewLineRef<'_>) -> Result<String> {
    insert_lines_as(w, &[(id, bill_id, l)]).await?;
    Ok(id.to_string())
}

/// Inserts lines (id, bill, line) on draft bills, each after its bill's last, in a handful of
/// statements whatever their number (the census charges a bed-day to every inpatient's bill).
pub(crate) async fn insert_lines_as(w: &mut WriteTx<'_>, lines: &[(&str, &str, &NewLineRef<'_>)]) -> Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let mut bills: Vec<&str> = lines.iter().map(|(_, b, _)| *b).collect();
    bills.sort_unstable();
    bills.dedup();
    let now_on: Vec<(String, i64, i64)> = crate::store::stored::json_rows(
        w.conn(),
        "SELECT json_group_array(json_array(j.value,
           (SELECT COUNT(*) FROM bill_lines WHERE bill_id = j.value AND deleted_at IS NULL),
           (SELECT COALESCE(MAX(position), 0) FROM bill_lines WHERE bill_id = j.value)))
         FROM json_each(?) j",
        "bill_lines",
        &[Some(&serde_json::to_string(&bills)?)],
    )
    .await?;
    let mut next: std::collections::HashMap<String, (i64, i64)> =
        now_on.into_iter().map(|(bill, count, last)| (bill, (count, last))).collect();
    let (now, stamp, by, dev) = (w.now_rfc3339(), w.stamp(), w.actor().user_id.clone(), w.device_id().to_string());
    let mut rows = Vec::with_capacity(lines.len());
    for (id, bill_id, l) in lines {
        let (count, last) = next.entry(bill_id.to_string()).or_insert((0, 0));
        if *count >= MAX_LINES {
            return Err(Error::validation(
                "lines",
                ValidationReason::TooLong,
                format!("at most {MAX_LINES} lines on one bill"),
            ));
        }
        *count += 1;
        *last += 1;
        let (kind, value) = discount_columns(l.discount);
        rows.push((*id, *bill_id, *last, *l, kind, value));
    }
    // 17 variables a row: 1,500 rows stay under SQLite's limit.
    for chunk in rows.chunks(1_500) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO bill_lines (id, bill_id, position, service_id, description, category, quantity, unit_price_minor, discount_kind,
               discount_value, tax_rate_bp, source, source_id, created_at, updated_at, updated_by, origin_device) ",
        );
        q.push_values(chunk, |mut b, (id, bill_id, position, l, kind, value)| {
            b.push_bind(*id)
                .push_bind(*bill_id)
                .push_bind(*position)
                .push_bind(l.service_id)
                .push_bind(l.description)
                .push_bind(l.category.code())
                .push_bind(l.quantity)
                .push_bind(l.unit_price)
                .push_bind(*kind)
                .push_bind(*value)
                .push_bind(l.tax_rate_bp)
                .push_bind(l.source)
                .push_bind(l.source_id)
                .push_bind(now.as_str())
                .push_bind(stamp.as_str())
                .push_bind(by.as_deref())
                .push_bind(dev.as_str());
        });
        q.build().execute(w.conn()).await?;
    }
    let changes: Vec<(&str, serde_json::Value)> = rows
        .iter()
        .map(|(id, bill_id, position, l, kind, value)| {
            let row = json!({
                "id": id, "bill_id": bill_id, "position": position, "service_id": l.service_id, "description": l.description,
                "category": l.category, "quantity": l.quantity, "unit_price_minor": l.unit_price, "discount_kind": kind,
                "discount_value": value, "tax_rate_bp": l.tax_rate_bp, "source": l.source, "source_id": l.source_id,
                "created_at": now, "updated_at": stamp, "updated_by": by
            });
            (*id, row)
        })
        .collect();
    w.record_changes("bill_lines", ChangeOp::Insert, &changes).await
}

/// A line as `insert_line` takes it.
pub(crate) struct NewLineRef<'a> {
    pub service_id: Option<&'a str>,
    pub description: &'a str,
    pub category: Category,
    pub quantity: u32,
    pub unit_price: i64,
    pub discount: Discount,
    pub tax_rate_bp: u32,
    pub source: &'a str,
    pub source_id: Option<&'a str>,
}

async fn require_draft(w: &mut WriteTx<'_>, bill_id: &str) -> Result<String> {
    let (patient, status) = bill_row(w.conn(), bill_id).await?;
    if status != BillStatus::Draft {
        return Err(Error::validation(
            "bill_id",
            ValidationReason::Invalid,
            "a finalized invoice cannot be edited: issue a credit note or a refund",
        ));
    }
    Ok(patient)
}

/// Adds a line to a draft bill.
pub async fn add_line(store: &Store, auth: &Authorized, bill_id: &str, input: LineInput) -> Result<Bill> {
    auth.require(Permission::BillingEdit)?;
    let day = crate::clinic::today(store).await?;
    let mut w = store.begin_write(auth.actor()).await?;
    require_draft(&mut w, bill_id).await?;
    let l = resolve_line(w.conn(), auth, &input, day).await?;
    let line = NewLineRef {
        service_id: l.service_id.as_deref(),
        description: &l.description,
        category: l.category,
        quantity: l.quantity,
        unit_price: l.unit_price,
        discount: l.discount,
        tax_rate_bp: l.tax_rate_bp,
        source: "manual",
        source_id: None,
    };
    let id = insert_line(&mut w, bill_id, &line).await?;
    w.audit("bill.line_add", "bill", Some(bill_id), json!({ "line_id": id, "description": l.description, "quantity": l.quantity, "unit_price_minor": l.unit_price, "discount": l.discount })).await?;
    w.commit().await?;
    load_for(store, auth, bill_id).await
}

/// A line's amounts as `add_line` would compute them, checked the same way (quantity, service,
/// price, description, discount and its limit for this user), writing nothing: the add-line
/// form shows them before the line is added.
pub async fn preview_line(store: &Store, auth: &Authorized, input: LineInput) -> Result<LineAmounts> {
    auth.require(Permission::BillingEdit)?;
    let day = crate::clinic::today(store).await?;
    let mut conn = store.pool().acquire().await?;
    let l = resolve_line(&mut conn, auth, &input, day).await?;
    Ok(money::line_amounts(money::LineInput {
        quantity: l.quantity,
        unit_price: l.unit_price,
        discount: l.discount,
        tax_rate_bp: l.tax_rate_bp,
    }))
}

/// Removes a line from a draft bill (kept as a tombstone, like every synced row).
pub async fn remove_line(store: &Store, auth: &Authorized, bill_id: &str, line_id: &str) -> Result<Bill> {
    auth.require(Permission::BillingEdit)?;
    let mut w = store.begin_write(auth.actor()).await?;
    require_draft(&mut w, bill_id).await?;
    delete_line(&mut w, bill_id, line_id).await?;
    w.audit("bill.line_remove", "bill", Some(bill_id), json!({ "line_id": line_id })).await?;
    w.commit().await?;
    load_for(store, auth, bill_id).await
}

/// Deletes a line of a bill inside a write (the caller checked that the bill is a draft).
pub(crate) async fn delete_line(w: &mut WriteTx<'_>, bill_id: &str, line_id: &str) -> Result<()> {
    let (stamp, by, now) = (w.stamp(), w.actor().user_id.clone(), w.now_rfc3339());
    let n = sqlx::query("UPDATE bill_lines SET deleted_at = ?, updated_at = ?, updated_by = ? WHERE id = ? AND bill_id = ? AND deleted_at IS NULL")
        .bind(&now)
        .bind(&stamp)
        .bind(&by)
        .bind(line_id)
        .bind(bill_id)
        .execute(w.conn())
        .await?
        .rows_affected();
    if n == 0 {
        return Err(Error::validation("line_id", ValidationReason::Invalid, "no such line on this bill"));
    }
    w.record_change(
        "bill_lines",
        line_id,
        ChangeOp::Delete,
        &json!({ "id": line_id, "deleted_at": now, "updated_at": stamp, "updated_by": by }),
    )
    .await
}

/// Finalizes a draft into an invoice: a gap-free number, the sums frozen.
pub async fn finalize(store: &Store, auth: &Authorized, bill_id: &str) -> Result<Bill> {
    auth.require(Permission::BillingEdit)?;
    let mut w = store.begin_write(auth.actor()).await?;
    require_draft(&mut w, bill_id).await?;
    let lines = line_inputs(w.conn(), bill_id).await?;
    if lines.is_empty() {
        return Err(Error::validation("lines", ValidationReason::Required, "add at least one line before finalizing"));
    }
    let t = money::totals(&lines);
    let series = super::invoice_series_in(&mut w).await?;
    let number = next_number(&mut w, "invoice", &series).await?;
    let (now, stamp, by) = (w.now_rfc3339(), w.stamp(), w.actor().user_id.clone());
    sqlx::query(
        "UPDATE bills SET status = 'final', number = ?, finalized_at = ?, finalized_by = ?, subtotal_minor = ?, discount_minor = ?,
           tax_minor = ?, total_minor = ?, updated_at = ?, updated_by = ? WHERE id = ?",
    )
    .bind(&number)
    .bind(&now)
    .bind(&by)
    .bind(t.subtotal)
    .bind(t.discount)
    .bind(t.tax)
    .bind(t.total)
    .bind(&stamp)
    .bind(&by)
    .bind(bill_id)
    .execute(w.conn())
    .await?;
    let row = json!({ "id": bill_id, "status": "final", "number": number, "finalized_at": now, "finalized_by": by, "subtotal_minor": t.subtotal, "discount_minor": t.discount, "tax_minor": t.tax, "total_minor": t.total, "updated_at": stamp, "updated_by": by });
    w.record_change("bills", bill_id, ChangeOp::Update, &row).await?;
    w.audit("bill.finalize", "bill", Some(bill_id), json!({ "number": number, "total_minor": t.total })).await?;
    w.commit().await?;
    load_for(store, auth, bill_id).await
}

/// Cancels a draft, or an invoice nothing is paid on (refund first), with a reason.
pub async fn cancel(store: &Store, auth: &Authorized, bill_id: &str, reason: &str) -> Result<Bill> {
    auth.require(Permission::BillingEdit)?;
    let reason = reason.split_whitespace().collect::<Vec<_>>().join(" ");
    if reason.is_empty() {
        return Err(Error::validation("reason", ValidationReason::Required, "say why the bill is cancelled"));
    }
    if reason.chars().count() > CANCEL_REASON_MAX {
        return Err(Error::validation(
            "reason",
            ValidationReason::TooLong,
            format!("at most {CANCEL_REASON_MAX} characters"),
        ));
    }
    let mut w = store.begin_write(auth.actor()).await?;
    let (_, status) = bill_row(w.conn(), bill_id).await?;
    match status {
        BillStatus::Cancelled => {
            return Err(Error::validation("bill_id", ValidationReason::Invalid, "already cancelled"))
        }
        BillStatus::Final => {
            auth.require(Permission::BillingRefund)?;
            if paid_in(w.conn(), bill_id).await? != 0 {
                return Err(Error::validation(
                    "bill_id",
                    ValidationReason::Invalid,
                    "refund what was paid before cancelling",
                ));
            }
        }
        BillStatus::Draft if paid_in(w.conn(), bill_id).await? != 0 => {
            return Err(Error::validation(
                "bill_id",
                ValidationReason::Invalid,
                "refund the advance before cancelling",
            ));
        }
        BillStatus::Draft => {}
    }
    let (stamp, by) = (w.stamp(), w.actor().user_id.clone());
    sqlx::query(
        "UPDATE bills SET status = 'cancelled', cancel_reason = ?, updated_at = ?, updated_by = ? WHERE id = ?",
    )
    .bind(&reason)
    .bind(&stamp)
    .bind(&by)
    .bind(bill_id)
    .execute(w.conn())
    .await?;
    w.record_change("bills", bill_id, ChangeOp::Update, &json!({ "id": bill_id, "status": "cancelled", "cancel_reason": reason, "updated_at": stamp, "updated_by": by })).await?;
    w.audit("bill.cancel", "bill", Some(bill_id), json!({ "reason": reason, "was": status })).await?;
    w.commit().await?;
    load_for(store, auth, bill_id).await
}

/// Payments and advances less refunds on a bill.
pub(crate) async fn paid_in(conn: &mut SqliteConnection, bill_id: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(SUM(CASE WHEN kind = 'refund' THEN -amount_minor ELSE amount_minor END), 0) FROM payments WHERE bill_id = ? AND deleted_at IS NULL",
    )
    .bind(bill_id)
    .fetch_one(conn)
    .await?)
}

pub(crate) async fn credited_in(conn: &mut SqliteConnection, bill_id: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(SUM(amount_minor), 0) FROM credit_notes WHERE bill_id = ? AND deleted_at IS NULL",
    )
    .bind(bill_id)
    .fetch_one(conn)
    .await?)
}

async fn line_inputs(conn: &mut SqliteConnection, bill_id: &str) -> Result<Vec<money::LineInput>> {
    Ok(lines(conn, bill_id).await?.iter().map(as_input).collect())
}

fn as_input(l: &BillLine) -> money::LineInput {
    money::LineInput {
        quantity: l.quantity,
        unit_price: l.unit_price_minor,
        discount: l.discount,
        tax_rate_bp: l.tax_rate_bp,
    }
}

/// A bill line as [`LINE_COLUMNS`] reads it.
#[derive(sqlx::FromRow)]
struct LineRow {
    id: String,
    position: i64,
    service_id: Option<String>,
    description: String,
    category: String,
    quantity: i64,
    unit_price_minor: i64,
    discount_kind: String,
    discount_value: i64,
    tax_rate_bp: i64,
    source: String,
}

/// The columns of a [`LineRow`], written once.
const LINE_COLUMNS: &str = "id, position, service_id, description, category, quantity, unit_price_minor, discount_kind,
    discount_value, tax_rate_bp, source";

/// A stored count or rate that must be a `u32`; anything else is a corrupt row.
pub(crate) fn stored_u32(table: &str, id: &str, field: &str, value: i64) -> Result<u32> {
    u32::try_from(value).map_err(|_| Error::corrupt(table, id, field, format_args!("{value} is out of range")))
}

/// A line's discount as stored (`discount_kind`, `discount_value`).
pub(crate) fn stored_discount(id: &str, kind: &str, value: i64) -> Result<Discount> {
    Ok(match kind {
        "none" => Discount::None,
        "amount" => Discount::Amount(value),
        "percent" => Discount::Percent(stored_u32("bill_lines", id, "discount_value", value)?),
        other => return Err(Error::corrupt("bill_lines", id, "discount_kind", format_args!("unknown code {other:?}"))),
    })
}

fn line_of(r: LineRow) -> Result<BillLine> {
    let u32_of = |field: &str, value: i64| stored_u32("bill_lines", &r.id, field, value);
    let discount = stored_discount(&r.id, &r.discount_kind, r.discount_value)?;
    let category = stored::code("bill_lines", &r.id, "category", &r.category, Category::from_code)?;
    let mut line = BillLine {
        position: u32_of("position", r.position)?,
        quantity: u32_of("quantity", r.quantity)?,
        tax_rate_bp: u32_of("tax_rate_bp", r.tax_rate_bp)?,
        id: r.id,
        service_id: r.service_id,
        description: r.description,
        category,
        unit_price_minor: r.unit_price_minor,
        discount,
        source: r.source,
        amounts: Default::default(),
    };
    line.amounts = money::line_amounts(as_input(&line));
    Ok(line)
}

async fn lines(conn: &mut SqliteConnection, bill_id: &str) -> Result<Vec<BillLine>> {
    let sql =
        format!("SELECT {LINE_COLUMNS} FROM bill_lines WHERE bill_id = ? AND deleted_at IS NULL ORDER BY position");
    let rows: Vec<LineRow> = sqlx::query_as(&sql).bind(bill_id).fetch_all(conn).await?;
    rows.into_iter().map(line_of).collect()
}

fn payment_status(status: BillStatus, total: i64, paid: i64, credited: i64, refunded_any: bool) -> PaymentStatus {
    match status {
        BillStatus::Draft => PaymentStatus::Open,
        BillStatus::Cancelled => PaymentStatus::Cancelled,
        BillStatus::Final if paid <= 0 && refunded_any => PaymentStatus::Refunded,
        BillStatus::Final if total - credited - paid <= 0 => PaymentStatus::Paid,
        BillStatus::Final if paid > 0 => PaymentStatus::PartlyPaid,
        BillStatus::Final => PaymentStatus::Unpaid,
    }
}

/// A bill with everything on it and the actions it allows the user of `auth`.
pub async fn load_for(store: &Store, auth: &Authorized, bill_id: &str) -> Result<Bill> {
    let mut bill = load(store, bill_id).await?;
    bill.actions = super::actions::of(&bill, auth);
    Ok(bill)
}

/// A bill with everything on it (no actions: read without a user, for printouts and lists).
pub async fn load(store: &Store, bill_id: &str) -> Result<Bill> {
    let mut conn = store.pool().acquire().await?;
    let r = sqlx::query(
        "SELECT b.id, b.patient_id, b.status, b.number, b.currency, b.created_at, b.finalized_at, b.total_minor, b.cancel_reason,
                p.mrn, p.given_name, p.other_names, p.family_name
         FROM bills b JOIN patients p ON p.id = b.patient_id WHERE b.id = ? AND b.deleted_at IS NULL",
    )
    .bind(bill_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| Error::NotFound { entity: "bill".into() })?;
    let status = stored::code("bills", bill_id, "status", &r.try_get::<String, _>("status")?, BillStatus::from_code)?;
    let lines = lines(&mut conn, bill_id).await?;
    let totals = money::totals(&lines.iter().map(as_input).collect::<Vec<_>>());
    let payments = payments(&mut conn, bill_id).await?;
    let credit_notes = credit_notes(&mut conn, bill_id).await?;
    let insurance = insurance(&mut conn, bill_id).await?;
    let paid = paid_in(&mut conn, bill_id).await?;
    let credited = credited_in(&mut conn, bill_id).await?;
    // A finalized invoice's sums are what was issued; a draft's are recomputed.
    let total = if status == BillStatus::Draft { totals.total } else { r.try_get("total_minor")? };
    let refunded_any = payments.iter().any(|p| p.kind == PaymentKind::Refund);
    let name = [r.try_get::<String, _>("given_name")?, r.try_get("other_names")?, r.try_get("family_name")?]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Bill {
        id: r.try_get("id")?,
        patient_id: r.try_get("patient_id")?,
        patient_name: name,
        mrn: r.try_get("mrn")?,
        status,
        payment_status: payment_status(status, total, paid, credited, refunded_any),
        number: r.try_get("number")?,
        currency: r.try_get("currency")?,
        created_at: r.try_get("created_at")?,
        finalized_at: r.try_get("finalized_at")?,
        patient_share_minor: insurance.as_ref().map_or(total, |i| (total - i.approved_minor).max(0)),
        lines,
        totals,
        payments,
        credit_notes,
        insurance,
        paid_minor: paid,
        credited_minor: credited,
        due_minor: if status == BillStatus::Cancelled { 0 } else { total - credited - paid },
        cancel_reason: r.try_get("cancel_reason")?,
        actions: Default::default(),
    })
}

#[derive(sqlx::FromRow)]
struct PaymentRow {
    id: String,
    kind: String,
    mode: String,
    amount_minor: i64,
    reference: String,
    note: String,
    received_at: String,
    received_by: Option<String>,
    receipt_no: String,
}

async fn payments(conn: &mut SqliteConnection, bill_id: &str) -> Result<Vec<Payment>> {
    let rows: Vec<PaymentRow> = sqlx::query_as(
        "SELECT id, kind, mode, amount_minor, reference, note, received_at, received_by, receipt_no
         FROM payments WHERE bill_id = ? AND deleted_at IS NULL ORDER BY received_at, id",
    )
    .bind(bill_id)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            let mode = stored::code("payments", &r.id, "mode", &r.mode, PaymentMode::from_code)?;
            let kind = stored::code("payments", &r.id, "kind", &r.kind, PaymentKind::from_code)?;
            Ok(Payment {
                mode,
                kind,
                id: r.id,
                amount_minor: r.amount_minor,
                reference: r.reference,
                note: r.note,
                received_at: r.received_at,
                received_by: r.received_by,
                receipt_no: r.receipt_no,
            })
        })
        .collect()
}

async fn credit_notes(conn: &mut SqliteConnection, bill_id: &str) -> Result<Vec<CreditNote>> {
    Ok(sqlx::query_as(
        "SELECT id, number, amount_minor, reason, created_at FROM credit_notes WHERE bill_id = ? AND deleted_at IS NULL ORDER BY created_at",
    )
    .bind(bill_id)
    .fetch_all(conn)
    .await?)
}

async fn insurance(conn: &mut SqliteConnection, bill_id: &str) -> Result<Option<Insurance>> {
    Ok(sqlx::query_as(
        "SELECT payer, policy_no, preauth_no, claimed_minor, approved_minor, settled_minor FROM bill_insurance WHERE bill_id = ? AND deleted_at IS NULL",
    )
    .bind(bill_id)
    .fetch_optional(conn)
    .await?)
}

/// Opens a bill for reading (audited: a bill shows what care a patient had).
pub async fn get(store: &Store, auth: &Authorized, bill_id: &str) -> Result<Bill> {
    auth.require(Permission::BillingView)?;
    let bill = load_for(store, auth, bill_id).await?;
    let mut w = store.begin_write(auth.actor()).await?;
    w.audit("bill.view", "bill", Some(bill_id), json!({ "number": bill.number })).await?;
    w.commit().await?;
    Ok(bill)
}

/// A patient's bills, newest first.
pub async fn patient_bills(store: &Store, auth: &Authorized, patient_id: &str) -> Result<Vec<BillSummary>> {
    auth.require(Permission::BillingView)?;
    summaries(store, "b.patient_id = ?", patient_id, 200).await
}

/// Recent bills, newest first; `status` filters (both read through an index on creation).
pub async fn recent_bills(
    store: &Store,
    auth: &Authorized,
    status: Option<BillStatus>,
    limit: u32,
) -> Result<Vec<BillSummary>> {
    auth.require(Permission::BillingView)?;
    match status {
        Some(s) => summaries(store, "b.status = ?", s.code(), limit.clamp(1, 500)).await,
        // Every status (none is empty): the newest first through the index on created_at.
        None => summaries(store, "b.status <> ?", "", limit.clamp(1, 500)).await,
    }
}

async fn summaries(store: &Store, filter: &str, value: &str, limit: u32) -> Result<Vec<BillSummary>> {
    let sql =
        format!("SELECT b.id FROM bills b WHERE {filter} AND b.deleted_at IS NULL ORDER BY b.created_at DESC LIMIT ?");
    let ids: Vec<String> = sqlx::query_scalar(&sql).bind(value).bind(limit).fetch_all(store.pool()).await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let b = load(store, &id).await?;
        out.push(BillSummary {
            id: b.id,
            patient_id: b.patient_id,
            patient_name: b.patient_name,
            mrn: b.mrn,
            number: b.number,
            status: b.status,
            payment_status: b.payment_status,
            created_at: b.created_at,
            finalized_at: b.finalized_at,
            total_minor: b.totals.total,
            due_minor: b.due_minor,
        });
    }
    Ok(out)
}
