//! The lab: a managed catalogue of tests with units and reference ranges, orders from a
//! visit, the lab's pending work list, and results flagged against the range.

use super::lab_ranges::{band_for, RefBand};
use super::model::*;
use super::{format_milli, insert_row, line, parse_milli};
use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{ChangeOp, Store, WriteTx};
use serde::Serialize;
use serde_json::json;

fn range_end(field: &str, raw: Option<&str>) -> Result<Option<i64>> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => parse_milli(s)
            .map(Some)
            .ok_or_else(|| Error::validation(field, ValidationReason::Invalid, "a number with at most 3 decimals")),
    }
}

/// A catalogue test as [`LAB_TEST_COLUMNS`] reads it.
#[derive(sqlx::FromRow)]
pub(crate) struct LabTestRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub unit: String,
    pub ref_low_milli: Option<i64>,
    pub ref_high_milli: Option<i64>,
    pub active: bool,
}

/// The columns of a [`LabTestRow`], written once.
pub(crate) const LAB_TEST_COLUMNS: &str = "id, code, name, unit, ref_low_milli, ref_high_milli, active";

pub(crate) fn lab_test_of(r: LabTestRow) -> LabTest {
    LabTest {
        id: r.id,
        code: r.code,
        name: r.name,
        unit: r.unit,
        ref_low: r.ref_low_milli.map(format_milli),
        ref_high: r.ref_high_milli.map(format_milli),
        active: r.active,
    }
}

/// An order with its test and patient, as [`ORDER_TEST_SELECT`] reads it (to enter a result).
#[derive(sqlx::FromRow)]
struct OrderTestRow {
    status: String,
    patient_id: String,
    test_id: String,
    code: String,
    name: String,
    unit: String,
    ref_low_milli: Option<i64>,
    ref_high_milli: Option<i64>,
    ranges: String,
    sex: String,
    birth_date: Option<String>,
    collected_at: Option<String>,
}

impl OrderTestRow {
    /// The reference range (low, high; milli-units) that applies to this order's patient on
    /// `today`: the test's band for their sex and age, else the test's range for anyone. The
    /// one rule for the work list's preview ([`order_ranges`]) and the saved result's flag
    /// ([`enter_result`]). A stored value that does not parse is a corrupt row, not "no bands".
    fn range(&self, today: chrono::NaiveDate) -> Result<(Option<i64>, Option<i64>)> {
        let bands: Vec<RefBand> = crate::store::stored::json("lab_tests", &self.test_id, "ranges", &self.ranges)?;
        let birth = self
            .birth_date
            .as_deref()
            .map(|b| {
                chrono::NaiveDate::parse_from_str(b, "%Y-%m-%d")
                    .map_err(|e| Error::corrupt("patients", &self.patient_id, "birth_date", e))
            })
            .transpose()?;
        Ok(band_for(&bands, &self.sex, birth, today)
            .map_or((self.ref_low_milli, self.ref_high_milli), |b| (b.low, b.high)))
    }
}

/// The reference range that applies to an order's patient today, for the work list's preview
/// of a result before it is saved (the same rule as the save).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct OrderRange {
    pub order_id: String,
    pub ref_low: Option<String>,
    pub ref_high: Option<String>,
    pub unit: String,
}

/// The most orders one [`order_ranges`] call answers (the work list's length).
pub const ORDER_RANGES_MAX: usize = 500;

/// The reference range of each order for its patient's sex and age today (orders not found
/// are left out).
pub async fn order_ranges(store: &Store, auth: &Authorized, order_ids: &[String]) -> Result<Vec<OrderRange>> {
    if auth.require(Permission::LabResults).is_err() {
        auth.require(Permission::ClinicalView)?;
    }
    if order_ids.len() > ORDER_RANGES_MAX {
        return Err(Error::validation("order_ids", ValidationReason::TooLong, format!("at most {ORDER_RANGES_MAX}")));
    }
    let today = crate::clinic::today(store).await?;
    let mut out = Vec::with_capacity(order_ids.len());
    let mut conn = store.pool().acquire().await?;
    let one = format!("{ORDER_TEST_SELECT} WHERE o.id = ? AND o.deleted_at IS NULL");
    for id in order_ids {
        let row: Option<OrderTestRow> = sqlx::query_as(&one).bind(id).fetch_optional(&mut *conn).await?;
        let Some(row) = row else { continue };
        let (low, high) = row.range(today)?;
        out.push(OrderRange {
            order_id: id.clone(),
            ref_low: low.map(format_milli),
            ref_high: high.map(format_milli),
            unit: row.unit,
        });
    }
    Ok(out)
}

/// The columns of an [`OrderTestRow`], written once.
const ORDER_TEST_SELECT: &str =
    "SELECT o.status, o.patient_id, o.test_id, t.code, t.name, t.unit, t.ref_low_milli, t.ref_high_milli,
            t.ranges, p.sex, p.birth_date, o.collected_at
     FROM lab_orders o JOIN lab_tests t ON t.id = o.test_id JOIN patients p ON p.id = o.patient_id";

/// A lab test's fields, checked and normalised.
pub(crate) struct ValidTest {
    pub code: String,
    pub name: String,
    pub unit: String,
    pub low: Option<i64>,
    pub high: Option<i64>,
}

/// Checks a test's fields (adding one or editing one).
pub(crate) fn valid_test(input: &LabTestInput) -> Result<ValidTest> {
    let code = line("code", &input.code, 20, true)?.to_uppercase();
    let name = line("name", &input.name, 120, true)?;
    let unit = line("unit", &input.unit, 30, false)?;
    let low = range_end("ref_low", input.ref_low.as_deref())?;
    let high = range_end("ref_high", input.ref_high.as_deref())?;
    if let (Some(l), Some(h)) = (low, high) {
        if l > h {
            return Err(Error::validation(
                "ref_high",
                ValidationReason::OutOfRange,
                "the upper limit is below the lower one",
            ));
        }
    }
    Ok(ValidTest { code, name, unit, low, high })
}

/// Adds a test to the catalogue.
pub async fn add_lab_test(store: &Store, auth: &Authorized, input: LabTestInput) -> Result<LabTest> {
    auth.require(Permission::ClinicalCatalogManage)?;
    let ValidTest { code, name, unit, low, high } = valid_test(&input)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let taken: bool =
        sqlx::query_scalar("SELECT COUNT(*) > 0 FROM lab_tests WHERE code = ? COLLATE NOCASE AND deleted_at IS NULL")
            .bind(&code)
            .fetch_one(w.conn())
            .await?;
    if taken {
        return Err(Error::validation("code", ValidationReason::Taken, format!("{code} is already in the catalogue")));
    }
    let id = crate::ids::new_id();
    insert_row(
        &mut w,
        "lab_tests",
        &id,
        &[
            ("code", json!(code)),
            ("name", json!(name)),
            ("unit", json!(unit)),
            ("ref_low_milli", json!(low)),
            ("ref_high_milli", json!(high)),
            ("active", json!(true)),
        ],
    )
    .await?;
    w.audit("lab_test.create", "lab_test", Some(&id), json!({ "code": code, "name": name })).await?;
    w.commit().await?;
    Ok(LabTest { id, code, name, unit, ref_low: low.map(format_milli), ref_high: high.map(format_milli), active: true })
}

/// The catalogue (clinicians order from it; the lab reads it).
pub async fn lab_tests(store: &Store, auth: &Authorized) -> Result<Vec<LabTest>> {
    if auth.require(Permission::ClinicalView).is_err() {
        auth.require(Permission::LabResults)?;
    }
    let sql = format!("SELECT {LAB_TEST_COLUMNS} FROM lab_tests WHERE deleted_at IS NULL ORDER BY code");
    let rows: Vec<LabTestRow> = sqlx::query_as(&sql).fetch_all(store.pool()).await?;
    Ok(rows.into_iter().map(lab_test_of).collect())
}

/// What ordering a test charges today: the tariff's price of the service whose code is the
/// test's code (`None`: ordered without a charge).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct LabTestPrice {
    pub test_id: String,
    /// In the currency's minor unit; exact as a TypeScript number.
    #[specta(type = Option<f64>)]
    pub price_minor: Option<i64>,
    pub currency: String,
}

/// The price of each active test in the catalogue at the clinic's today, as an order would be
/// charged (`billing::lab_test_service`), for the Order dialog.
pub async fn lab_test_prices(store: &Store, auth: &Authorized) -> Result<Vec<LabTestPrice>> {
    auth.require(Permission::ClinicalView)?;
    let today = crate::clinic::today(store).await?;
    let currency = crate::billing::currency(store).await?;
    let mut conn = store.pool().acquire().await?;
    let tests: Vec<(String, String)> =
        sqlx::query_as("SELECT id, code FROM lab_tests WHERE active = 1 AND deleted_at IS NULL ORDER BY code")
            .fetch_all(&mut *conn)
            .await?;
    let mut out = Vec::with_capacity(tests.len());
    for (test_id, code) in tests {
        let price = crate::billing::lab_test_service(&mut conn, &code, today).await?.map(|(_, _, p)| p);
        out.push(LabTestPrice { test_id, price_minor: price, currency: currency.clone() });
    }
    Ok(out)
}

/// Orders tests inside a write (used alone and by a whole consultation).
pub(crate) async fn order_in(
    w: &mut WriteTx<'_>,
    visit_id: &str,
    test_ids: &[String],
    note: &str,
    day: chrono::NaiveDate,
) -> Result<Vec<LabOrder>> {
    if test_ids.is_empty() {
        return Err(Error::validation("test_ids", ValidationReason::Required, "choose at least one test"));
    }
    let note = line("note", note, 300, false)?;
    let row: Option<(String, String, String, String)> = sqlx::query_as(
        "SELECT v.patient_id, p.given_name, p.family_name, p.mrn FROM visits v JOIN patients p ON p.id = v.patient_id WHERE v.id = ? AND v.deleted_at IS NULL",
    )
    .bind(visit_id)
    .fetch_optional(w.conn())
    .await?;
    let Some((patient_id, given, family, mrn)) = row else {
        return Err(Error::validation("visit_id", ValidationReason::Invalid, "unknown visit"));
    };
    let patient_name = format!("{given} {family}").trim().to_string();
    let mut out = Vec::with_capacity(test_ids.len());
    for test_id in test_ids {
        let t: Option<(String, String)> =
            sqlx::query_as("SELECT code, name FROM lab_tests WHERE id = ? AND active = 1 AND deleted_at IS NULL")
                .bind(test_id)
                .fetch_optional(w.conn())
                .await?;
        let Some((test_code, test_name)) = t else {
            return Err(Error::validation(
                "test_ids",
                ValidationReason::Invalid,
                "a test that is not in the catalogue",
            ));
        };
        let id = crate::ids::new_id();
        let ordered_at = w.now_rfc3339();
        let by = w.actor().user_id.clone();
        insert_row(
            w,
            "lab_orders",
            &id,
            &[
                ("visit_id", json!(visit_id)),
                ("patient_id", json!(patient_id)),
                ("test_id", json!(test_id)),
                ("status", json!("ordered")),
                ("ordered_at", json!(ordered_at)),
                ("ordered_by", json!(by)),
                ("note", json!(note)),
            ],
        )
        .await?;
        w.audit("lab.order", "lab_order", Some(&id), json!({ "visit_id": visit_id, "test": test_code })).await?;
        crate::billing::charge_lab_order(w, &id, &patient_id, &test_code, &test_name, day).await?;
        out.push(LabOrder {
            id,
            patient_id: patient_id.clone(),
            patient_name: patient_name.clone(),
            visit_id: Some(visit_id.to_string()),
            test_id: test_id.clone(),
            test_code,
            test_name,
            status: OrderStatus::Ordered,
            ordered_at,
            note: note.clone(),
            mrn: mrn.clone(),
            collected_at: None,
            collected_by: None,
            cancel_reason: String::new(),
        });
    }
    Ok(out)
}

/// Orders lab tests from a visit.
pub async fn order_lab_tests(
    store: &Store,
    auth: &Authorized,
    visit_id: &str,
    test_ids: Vec<String>,
    note: String,
) -> Result<Vec<LabOrder>> {
    auth.require(Permission::ClinicalEdit)?;
    super::restriction::require_visit_chart(store, auth, visit_id).await?;
    let day = crate::clinic::today(store).await?;
    let mut w = store.begin_write(auth.actor()).await?;
    let orders = order_in(&mut w, visit_id, &test_ids, &note, day).await?;
    w.commit().await?;
    Ok(orders)
}

/// A lab order as [`ORDER_SELECT`] reads it.
#[derive(sqlx::FromRow)]
pub(crate) struct OrderRow {
    id: String,
    patient_id: String,
    given_name: String,
    family_name: String,
    mrn: String,
    visit_id: Option<String>,
    test_id: String,
    test_code: String,
    test_name: String,
    status: String,
    ordered_at: String,
    note: String,
    collected_at: Option<String>,
    /// The collector's name (their user id when the account is not on this device).
    collected_by: Option<String>,
    cancel_reason: String,
}

/// The columns of an [`OrderRow`], written once.
pub(crate) const ORDER_SELECT: &str =
    "SELECT o.id, o.patient_id, p.given_name, p.family_name, p.mrn, o.visit_id, o.test_id, t.code AS test_code,
    t.name AS test_name, o.status, o.ordered_at, o.note, o.collected_at,
    CASE WHEN o.collected_by IS NULL THEN NULL ELSE coalesce(u.full_name, o.collected_by) END AS collected_by, o.cancel_reason
    FROM lab_orders o JOIN lab_tests t ON t.id = o.test_id JOIN patients p ON p.id = o.patient_id
    LEFT JOIN users u ON u.id = o.collected_by";

pub(crate) fn order_of(r: OrderRow) -> Result<LabOrder> {
    let status = match crate::store::stored::code("lab_orders", &r.id, "status", &r.status, OrderStatus::from_code)? {
        // Never stored: an order whose sample is in is still `ordered` in the table.
        OrderStatus::Collected => {
            return Err(Error::corrupt("lab_orders", &r.id, "status", "collected is not a stored status"))
        }
        OrderStatus::Ordered if r.collected_at.is_some() => OrderStatus::Collected,
        other => other,
    };
    Ok(LabOrder {
        patient_name: format!("{} {}", r.given_name, r.family_name).trim().to_string(),
        id: r.id,
        patient_id: r.patient_id,
        visit_id: r.visit_id,
        test_id: r.test_id,
        test_code: r.test_code,
        test_name: r.test_name,
        status,
        ordered_at: r.ordered_at,
        note: r.note,
        mrn: r.mrn,
        collected_at: r.collected_at,
        collected_by: r.collected_by,
        cancel_reason: r.cancel_reason,
    })
}

async fn order_by_id(conn: &mut sqlx::SqliteConnection, order_id: &str) -> Result<LabOrder> {
    let sql = format!("{ORDER_SELECT} WHERE o.id = ? AND o.deleted_at IS NULL");
    let row: Option<OrderRow> = sqlx::query_as(&sql).bind(order_id).fetch_optional(conn).await?;
    order_of(row.ok_or_else(|| Error::NotFound { entity: "lab order".into() })?)
}

/// The order's status and collection time inside a write, for the steps that change it.
async fn order_state(w: &mut WriteTx<'_>, order_id: &str) -> Result<(String, Option<String>)> {
    let row: Option<(String, Option<String>)> =
        sqlx::query_as("SELECT status, collected_at FROM lab_orders WHERE id = ? AND deleted_at IS NULL")
            .bind(order_id)
            .fetch_optional(w.conn())
            .await?;
    row.ok_or_else(|| Error::NotFound { entity: "lab order".into() })
}

/// Sets columns of a lab order as a synced, stamped update.
async fn update_order(w: &mut WriteTx<'_>, order_id: &str, fields: serde_json::Value) -> Result<()> {
    let (stamp, by) = (w.stamp(), w.actor().user_id.clone());
    let mut data = fields;
    data["updated_at"] = json!(stamp);
    data["updated_by"] = json!(by);
    let Some(map) = data.as_object() else { return Err(Error::internal("lab order fields are not an object")) };
    // Column names come from this module's own literals, never from input.
    let sets: Vec<String> = map.keys().map(|k| format!("{k} = ?")).collect();
    let sql = format!("UPDATE lab_orders SET {} WHERE id = ?", sets.join(", "));
    let mut q = sqlx::query(&sql);
    for v in map.values() {
        q = match v {
            serde_json::Value::Null => q.bind(None::<String>),
            other => q.bind(other.as_str().map(str::to_string).unwrap_or_else(|| other.to_string())),
        };
    }
    q.bind(order_id).execute(w.conn()).await?;
    w.record_change("lab_orders", order_id, ChangeOp::Update, &data).await
}

/// Records that an order's sample was collected, by whom and when (the lab technician, from
/// the work list): `ordered` becomes collected. Audited as `lab.collect`.
pub async fn collect_sample(store: &Store, auth: &Authorized, order_id: &str) -> Result<LabOrder> {
    auth.require(Permission::LabResults)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let (status, collected) = order_state(&mut w, order_id).await?;
    if status != "ordered" {
        return Err(Error::validation("order_id", ValidationReason::Invalid, format!("the order is {status}")));
    }
    if collected.is_some() {
        return Err(Error::validation("order_id", ValidationReason::Invalid, "the sample is already collected"));
    }
    let (now, by) = (w.now_rfc3339(), w.actor().user_id.clone());
    update_order(&mut w, order_id, json!({ "collected_at": now, "collected_by": by })).await?;
    w.audit("lab.collect", "lab_order", Some(order_id), json!({ "collected_at": now })).await?;
    w.commit().await?;
    let mut conn = store.pool().acquire().await?;
    order_by_id(&mut conn, order_id).await
}

/// The most characters a reason to cancel an order may have.
pub const CANCEL_REASON_MAX: usize = 300;

/// A cancelled order and what became of its charge.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct CancelledLabOrder {
    pub order: LabOrder,
    /// `invoiced` (with the invoice's number): the charge stays on an issued invoice and the
    /// billing desk must credit it; the doctor is told so.
    pub charge: crate::billing::Uncharged,
}

/// Cancels an order whose sample is not collected yet (the doctor), with a reason; its charge
/// comes off the patient's open bill (`billing::uncharge`; on an issued invoice it stays, for
/// the billing desk's credit note, and the answer says so). Audited as `lab.cancel`.
pub async fn cancel_order(store: &Store, auth: &Authorized, order_id: &str, reason: &str) -> Result<CancelledLabOrder> {
    auth.require(Permission::ClinicalEdit)?;
    let reason = line("reason", reason, CANCEL_REASON_MAX, true)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let (status, collected) = order_state(&mut w, order_id).await?;
    if status != "ordered" {
        return Err(Error::validation("order_id", ValidationReason::Invalid, format!("the order is {status}")));
    }
    if collected.is_some() {
        return Err(Error::validation(
            "order_id",
            ValidationReason::Invalid,
            "the sample is collected: the order can no longer be cancelled",
        ));
    }
    update_order(&mut w, order_id, json!({ "status": "cancelled", "cancel_reason": reason })).await?;
    let charge = crate::billing::uncharge(&mut w, "lab_order", order_id).await?;
    w.audit("lab.cancel", "lab_order", Some(order_id), json!({ "reason": reason, "charge": charge })).await?;
    w.commit().await?;
    let mut conn = store.pool().acquire().await?;
    Ok(CancelledLabOrder { order: order_by_id(&mut conn, order_id).await?, charge })
}

/// The lab's work list: orders waiting for a result (sample to collect, or collected),
/// oldest first, each with the patient's MRN.
pub async fn pending_orders(store: &Store, auth: &Authorized) -> Result<Vec<LabOrder>> {
    auth.require(Permission::LabResults)?;
    let sql = format!(
        "{ORDER_SELECT} WHERE o.status = 'ordered' AND o.deleted_at IS NULL ORDER BY o.ordered_at, o.id LIMIT 500"
    );
    let rows: Vec<OrderRow> = sqlx::query_as(&sql).fetch_all(store.pool()).await?;
    rows.into_iter().map(order_of).collect()
}

/// Enters the result of an order (the lab technician). The value is kept as entered; a
/// numeric value is flagged low, high or normal against the test's reference range for the
/// patient's sex and age band (`lab_ranges`), kept with the result.
pub async fn enter_result(store: &Store, auth: &Authorized, order_id: &str, value: &str) -> Result<LabResult> {
    auth.require(Permission::LabResults)?;
    let value = line("value", value, 60, true)?;
    let milli = parse_milli(&value);
    let today = crate::clinic::today(store).await?;
    let mut w = store.begin_write(auth.actor()).await?;
    let sql = format!("{ORDER_TEST_SELECT} WHERE o.id = ? AND o.deleted_at IS NULL");
    let row: Option<OrderTestRow> = sqlx::query_as(&sql).bind(order_id).fetch_optional(w.conn()).await?;
    let Some(row) = row else {
        return Err(Error::NotFound { entity: "lab order".into() });
    };
    let (low, high) = row.range(today)?;
    let OrderTestRow { status, patient_id, test_id, code, name, unit, collected_at, .. } = row;
    if status != "ordered" {
        return Err(Error::validation("order_id", ValidationReason::Invalid, format!("the order is {status}")));
    }
    let abnormal = Abnormal::of(milli, low, high);
    let id = crate::ids::new_id();
    let resulted_at = w.now_rfc3339();
    insert_row(
        &mut w,
        "lab_results",
        &id,
        &[
            ("order_id", json!(order_id)),
            ("patient_id", json!(patient_id)),
            ("test_id", json!(test_id)),
            ("value", json!(value)),
            ("value_milli", json!(milli)),
            ("unit", json!(unit)),
            ("ref_low_milli", json!(low)),
            ("ref_high_milli", json!(high)),
            ("abnormal", json!(abnormal.code())),
            ("resulted_at", json!(resulted_at)),
        ],
    )
    .await?;
    // A result entered without the collection step records the collection with it.
    let fields = match collected_at {
        Some(_) => json!({ "status": "resulted" }),
        None => json!({ "status": "resulted", "collected_at": resulted_at, "collected_by": w.actor().user_id }),
    };
    update_order(&mut w, order_id, fields).await?;
    w.audit("lab.result", "lab_result", Some(&id), json!({ "order_id": order_id, "test": code, "abnormal": abnormal }))
        .await?;
    // What the test uses of the lab's stock, in this same write; never a reason to refuse it.
    crate::stock::lab_use::consume(&mut w, order_id, &id, &test_id).await?;
    w.commit().await?;
    Ok(LabResult {
        id,
        order_id: order_id.to_string(),
        patient_id,
        test_code: code,
        test_name: name,
        value,
        unit,
        ref_low: low.map(format_milli),
        ref_high: high.map(format_milli),
        abnormal,
        resulted_at,
    })
}

/// A lab result as [`RESULT_SELECT`] reads it.
#[derive(sqlx::FromRow)]
pub(crate) struct ResultRow {
    id: String,
    order_id: String,
    patient_id: String,
    test_code: String,
    test_name: String,
    value: String,
    unit: String,
    ref_low_milli: Option<i64>,
    ref_high_milli: Option<i64>,
    abnormal: String,
    resulted_at: String,
}

/// The columns of a [`ResultRow`], written once.
pub(crate) const RESULT_SELECT: &str =
    "SELECT r.id, r.order_id, r.patient_id, t.code AS test_code, t.name AS test_name, r.value, r.unit,
    r.ref_low_milli, r.ref_high_milli, r.abnormal, r.resulted_at
    FROM lab_results r JOIN lab_tests t ON t.id = r.test_id";

pub(crate) fn result_of(r: ResultRow) -> Result<LabResult> {
    let abnormal = crate::store::stored::code("lab_results", &r.id, "abnormal", &r.abnormal, Abnormal::from_code)?;
    Ok(LabResult {
        id: r.id,
        order_id: r.order_id,
        patient_id: r.patient_id,
        test_code: r.test_code,
        test_name: r.test_name,
        value: r.value,
        unit: r.unit,
        ref_low: r.ref_low_milli.map(format_milli),
        ref_high: r.ref_high_milli.map(format_milli),
        abnormal,
        resulted_at: r.resulted_at,
    })
}
