//! Inpatient orders (the doctor's): medicines with a schedule (a pattern such as 1-0-1, every
//! N hours, PRN with a most per 24 hours, STAT), lab tests (each one a lab order of the
//! clinical record, on the lab's pending list and the bill), diet, and nursing instructions
//! (with `every_hours`, "vitals every N hours", which puts vitals on the ward's due list).
//!
//! An order is written once and stopped once; a change stops the order and writes a new one
//! naming it (`replaces_id`). A discharge stops every open order of the stay at its time; an
//! order that another device wrote apart from the discharge, and that arrives open, reads as
//! stopped at the discharge (`discharged`) on every device.

use super::schedule::{self, Plan};
use super::{canonical_time, REASON_MAX};
use crate::clinical::{insert_row, line, text};
use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{stored, ChangeOp, Store, WriteTx};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::SqliteConnection;
use std::collections::BTreeMap;

/// The longest instruction (diet, nursing, a medicine's note).
pub const INSTRUCTIONS_MAX: usize = 500;
/// The longest dose ("500"), its unit ("mg") and route ("oral").
pub const DOSE_MAX: usize = 40;
pub const DOSE_UNIT_MAX: usize = 20;
pub const ROUTE_MAX: usize = 40;
/// The longest interval of an `every` schedule or of vitals, and the most PRN doses in 24 h.
pub const EVERY_HOURS_MAX: u32 = 24;
pub const PRN_MAX_PER_DAY: u32 = 24;

/// What an order is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum OrderKind {
    Medicine,
    Lab,
    Diet,
    Nursing,
}
impl Code for OrderKind {}

/// A medicine order's schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum DoseSchedule {
    /// At the clinic's dose times by a pattern ("1-0-1").
    Times,
    /// Every N hours from the start.
    Every,
    /// When needed, at most so many in 24 hours.
    Prn,
    /// Once, now.
    Stat,
}
impl Code for DoseSchedule {}

/// A new order (a change sends the same with the order it replaces).
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct OrderInput {
    pub admission_id: String,
    /// medicine | lab | diet | nursing
    pub kind: String,
    pub medicine_id: Option<String>,
    pub dose: String,
    pub dose_unit: String,
    pub route: String,
    /// A medicine's: times | every | prn | stat
    pub schedule: Option<String>,
    /// `times`: "1-0-1" or "1-1-1-1".
    pub times_pattern: String,
    /// `every`: the interval; a nursing instruction: vitals every N hours.
    pub every_hours: Option<u32>,
    /// `prn`: the most doses in 24 hours.
    pub prn_max_per_day: Option<u32>,
    pub lab_test_id: Option<String>,
    pub instructions: String,
    /// From when (RFC 3339); now when empty.
    pub start_at: Option<String>,
    /// Until when (RFC 3339), if known.
    pub end_at: Option<String>,
}

/// An order as it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct InpatientOrder {
    pub id: String,
    pub admission_id: String,
    pub kind: OrderKind,
    pub medicine_id: Option<String>,
    /// "Paracetamol 650 mg tablet" (empty for other kinds).
    pub medicine_name: String,
    pub dose: String,
    pub dose_unit: String,
    pub route: String,
    pub schedule: Option<DoseSchedule>,
    pub times_pattern: String,
    pub every_hours: Option<u32>,
    pub prn_max_per_day: Option<u32>,
    pub lab_test_id: Option<String>,
    pub lab_test_name: String,
    pub lab_order_id: Option<String>,
    pub instructions: String,
    pub start_at: String,
    pub end_at: Option<String>,
    pub ordered_by: Option<String>,
    pub replaces_id: Option<String>,
    pub stopped_at: Option<String>,
    pub stop_reason: String,
    /// Set on an open order when another open order replaces the same one: the order was
    /// changed on two devices apart (the `order_changed_twice` conflict), and the patient would
    /// get both until a doctor stops the one not wanted. The other replacement's id (the first
    /// other, by id). Only [`orders`] fills it.
    pub changed_twice_with: Option<String>,
}

impl InpatientOrder {
    /// The medicine schedule as [`schedule::slots`] reads it.
    pub(crate) fn plan(&self) -> Option<Plan> {
        match self.schedule? {
            DoseSchedule::Times => schedule::parse_pattern(&self.times_pattern),
            DoseSchedule::Every => Some(Plan::Every { hours: self.every_hours.unwrap_or(1) }),
            DoseSchedule::Prn => Some(Plan::Prn),
            DoseSchedule::Stat => Some(Plan::Stat),
        }
    }

    /// When the order's doses end: the earlier of its end and its stop.
    pub(crate) fn until(&self) -> Option<&str> {
        match (self.end_at.as_deref(), self.stopped_at.as_deref()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// One line a nurse reads: "Paracetamol 650 mg tablet 1 tablet oral".
    pub fn summary(&self) -> String {
        let parts = [self.medicine_name.as_str(), self.dose.as_str(), self.dose_unit.as_str(), self.route.as_str()];
        parts.iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join(" ")
    }
}

/// The columns of an order as [`OrderRow`] reads them, and where they come from.
macro_rules! order_columns {
    () => {
        "o.id, o.admission_id, o.kind, o.medicine_id,
    COALESCE(TRIM(m.name || ' ' || m.strength || ' ' || m.form), ''), o.dose, o.dose_unit, o.route, o.schedule,
    o.times_pattern, o.every_hours, o.prn_max_per_day, o.lab_test_id, COALESCE(t.name, ''), o.lab_order_id,
    o.instructions, o.start_at, o.end_at, o.ordered_by, o.replaces_id,
    CASE WHEN sa.discharged_at IS NOT NULL AND (o.stopped_at IS NULL OR o.stopped_at > sa.discharged_at)
      THEN sa.discharged_at ELSE o.stopped_at END,
    CASE WHEN sa.discharged_at IS NOT NULL AND (o.stopped_at IS NULL OR o.stopped_at > sa.discharged_at)
      THEN 'discharged' ELSE o.stop_reason END"
    };
}
// The stay (`sa`): an order reads as stopped at its patient's discharge when it was not stopped
// by then. A discharge stops the open orders it sees; one written on another device that had
// not seen the discharge (a new order, a change) arrives later and would otherwise stay open
// for good. Derived on reading, the same on every device, like the bed board.
macro_rules! order_from {
    () => {
        " FROM inpatient_orders o LEFT JOIN medicines m ON m.id = o.medicine_id LEFT JOIN lab_tests t ON t.id = o.lab_test_id
          LEFT JOIN admissions sa ON sa.id = o.admission_id"
    };
}

pub(crate) const ORDER_SELECT: &str = concat!("SELECT ", order_columns!(), order_from!());
/// The same rows as one JSON array of [`OrderRow`]s (`stored::json_rows`), for lists read
/// inside a due list.
pub(crate) const ORDER_JSON: &str =
    concat!("SELECT json_group_array(json_array(", order_columns!(), "))", order_from!());

#[derive(sqlx::FromRow, Deserialize)]
pub(crate) struct OrderRow(
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    Option<i64>,
    Option<i64>,
    Option<String>,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
);

fn small(id: &str, field: &str, n: Option<i64>) -> Result<Option<u32>> {
    n.map(|n| u32::try_from(n).map_err(|e| Error::corrupt("inpatient_orders", id, field, e))).transpose()
}

impl OrderRow {
    pub(crate) fn into_order(self) -> Result<InpatientOrder> {
        let OrderRow(
            id,
            admission_id,
            kind,
            medicine_id,
            medicine_name,
            dose,
            dose_unit,
            route,
            sched,
            times_pattern,
            every,
            prn_max,
            lab_test_id,
            lab_test_name,
            lab_order_id,
            instructions,
            start_at,
            end_at,
            ordered_by,
            replaces_id,
            stopped_at,
            stop_reason,
        ) = self;
        let kind = stored::code("inpatient_orders", &id, "kind", &kind, OrderKind::from_code)?;
        let schedule = match sched {
            Some(s) => Some(stored::code("inpatient_orders", &id, "schedule", &s, DoseSchedule::from_code)?),
            None => None,
        };
        // Synced rows are compared as text with ours: in the store's form.
        let time = |field: &str, t: String| {
            canonical_time(&t).ok_or_else(|| Error::corrupt("inpatient_orders", &id, field, "not an RFC 3339 time"))
        };
        let start_at = time("start_at", start_at)?;
        let end_at = end_at.map(|t| time("end_at", t)).transpose()?;
        let stopped_at = stopped_at.map(|t| time("stopped_at", t)).transpose()?;
        Ok(InpatientOrder {
            every_hours: small(&id, "every_hours", every)?,
            prn_max_per_day: small(&id, "prn_max_per_day", prn_max)?,
            id,
            admission_id,
            kind,
            medicine_id,
            medicine_name,
            dose,
            dose_unit,
            route,
            schedule,
            times_pattern,
            lab_test_id,
            lab_test_name,
            lab_order_id,
            instructions,
            start_at,
            end_at,
            ordered_by,
            replaces_id,
            stopped_at,
            stop_reason,
            changed_twice_with: None,
        })
    }
}

/// One order, any state.
pub(crate) async fn load(conn: &mut SqliteConnection, order_id: &str) -> Result<Option<InpatientOrder>> {
    let row: Option<OrderRow> = sqlx::query_as(&format!("{ORDER_SELECT} WHERE o.id = ? AND o.deleted_at IS NULL"))
        .bind(order_id)
        .fetch_optional(conn)
        .await?;
    row.map(OrderRow::into_order).transpose()
}

/// The patient of an admission (for the chart's restriction), or not found.
pub(crate) async fn admission_patient(store: &Store, admission_id: &str) -> Result<String> {
    sqlx::query_scalar("SELECT patient_id FROM admissions WHERE id = ? AND deleted_at IS NULL")
        .bind(admission_id)
        .fetch_optional(store.pool())
        .await?
        .ok_or(Error::NotFound { entity: "admission".into() })
}

/// An admission's orders (clinicians): newest first, stopped ones too.
pub async fn orders(store: &Store, auth: &Authorized, admission_id: &str) -> Result<Vec<InpatientOrder>> {
    auth.require(Permission::ClinicalView)?;
    let patient = admission_patient(store, admission_id).await?;
    crate::clinical::restriction::require_chart(store, auth, &patient).await?;
    let rows: Vec<OrderRow> = sqlx::query_as(&format!(
        "{ORDER_SELECT} WHERE o.admission_id = ? AND o.deleted_at IS NULL ORDER BY o.start_at DESC, o.id DESC"
    ))
    .bind(admission_id)
    .fetch_all(store.pool())
    .await?;
    let mut list = rows.into_iter().map(OrderRow::into_order).collect::<Result<Vec<_>>>()?;
    mark_changed_twice(&mut list);
    Ok(list)
}

/// Marks each open order that shares its replaced order with another open one (see
/// [`InpatientOrder::changed_twice_with`]); a replacement lives in the same admission as the
/// order it replaces, so the admission's list holds them all.
fn mark_changed_twice(list: &mut [InpatientOrder]) {
    let mut open: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for o in list.iter().filter(|o| o.stopped_at.is_none()) {
        if let Some(replaced) = &o.replaces_id {
            open.entry(replaced.clone()).or_default().push(o.id.clone());
        }
    }
    for o in list.iter_mut().filter(|o| o.stopped_at.is_none()) {
        let Some(siblings) = o.replaces_id.as_ref().and_then(|r| open.get(r)) else { continue };
        let mut others: Vec<&String> = siblings.iter().filter(|id| **id != o.id).collect();
        others.sort();
        o.changed_twice_with = others.first().map(|id| id.to_string());
    }
}

fn hours(field: &str, n: Option<u32>, max: u32, what: &str) -> Result<u32> {
    match n {
        None => Err(Error::validation(field, ValidationReason::Required, format!("{what}: 1 to {max}"))),
        Some(n) if !(1..=max).contains(&n) => {
            Err(Error::validation(field, ValidationReason::OutOfRange, format!("{what}: 1 to {max}")))
        }
        Some(n) => Ok(n),
    }
}

fn time_field(field: &str, raw: Option<&str>) -> Result<Option<String>> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(raw) => canonical_time(raw)
            .map(Some)
            .ok_or_else(|| Error::validation(field, ValidationReason::Invalid, "a date and time")),
    }
}

fn some_id(raw: &Option<String>) -> Option<&str> {
    raw.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Checks and writes one order inside the write; its columns and the lab order it made.
async fn insert_order(w: &mut WriteTx<'_>, input: &OrderInput, replaces: Option<&str>) -> Result<String> {
    let kind = OrderKind::from_code(input.kind.trim())
        .ok_or_else(|| Error::validation("kind", ValidationReason::Invalid, "medicine, lab, diet or nursing"))?;
    let (patient_id, admitted_at) = super::open_admission(w, "admission_id", &input.admission_id).await?;
    let now = w.now_rfc3339();
    let start_at = time_field("start_at", input.start_at.as_deref())?.unwrap_or_else(|| now.clone());
    if start_at < admitted_at {
        return Err(Error::validation("start_at", ValidationReason::OutOfRange, "before the admission"));
    }
    let end_at = time_field("end_at", input.end_at.as_deref())?;
    if end_at.as_ref().is_some_and(|e| *e <= start_at) {
        return Err(Error::validation("end_at", ValidationReason::OutOfRange, "not after the start"));
    }
    let instructions = text("instructions", &input.instructions, INSTRUCTIONS_MAX)?;
    let id = crate::ids::new_id();
    let mut cols = vec![
        ("admission_id", json!(input.admission_id)),
        ("kind", json!(kind.code())),
        ("start_at", json!(start_at)),
        ("ordered_by", json!(w.actor().user_id)),
    ];
    if let Some(end) = &end_at {
        cols.push(("end_at", json!(end)));
    }
    if let Some(r) = replaces {
        cols.push(("replaces_id", json!(r)));
    }
    let mut lab: Option<(String, String, String)> = None;
    match kind {
        OrderKind::Medicine => {
            let medicine = some_id(&input.medicine_id)
                .ok_or_else(|| Error::validation("medicine_id", ValidationReason::Required, "pick a medicine"))?;
            let known: bool = sqlx::query_scalar(
                "SELECT COUNT(*) > 0 FROM medicines WHERE id = ? AND active = 1 AND deleted_at IS NULL",
            )
            .bind(medicine)
            .fetch_one(w.conn())
            .await?;
            if !known {
                return Err(Error::validation("medicine_id", ValidationReason::Invalid, "not in the medicine list"));
            }
            let dose = line("dose", &input.dose, DOSE_MAX, true)?;
            let unit = line("dose_unit", &input.dose_unit, DOSE_UNIT_MAX, true)?;
            let route = line("route", &input.route, ROUTE_MAX, false)?;
            let sched = input.schedule.as_deref().map(str::trim).filter(|s| !s.is_empty()).ok_or_else(|| {
                Error::validation("schedule", ValidationReason::Required, "times, every, prn or stat")
            })?;
            let sched = DoseSchedule::from_code(sched)
                .ok_or_else(|| Error::validation("schedule", ValidationReason::Invalid, "times, every, prn or stat"))?;
            cols.extend([
                ("medicine_id", json!(medicine)),
                ("dose", json!(dose)),
                ("dose_unit", json!(unit)),
                ("route", json!(route)),
                ("schedule", json!(sched.code())),
            ]);
            match sched {
                DoseSchedule::Times => {
                    let plan = schedule::parse_pattern(&input.times_pattern).ok_or_else(|| {
                        Error::validation(
                            "times_pattern",
                            ValidationReason::Invalid,
                            "three or four parts of 0 to 9, such as 1-0-1",
                        )
                    })?;
                    cols.push(("times_pattern", json!(schedule::pattern_text(plan))));
                }
                DoseSchedule::Every => {
                    let n = hours("every_hours", input.every_hours, EVERY_HOURS_MAX, "every how many hours")?;
                    cols.push(("every_hours", json!(n)));
                }
                DoseSchedule::Prn => {
                    let n = hours("prn_max_per_day", input.prn_max_per_day, PRN_MAX_PER_DAY, "doses in 24 hours")?;
                    cols.push(("prn_max_per_day", json!(n)));
                }
                DoseSchedule::Stat => {}
            }
        }
        OrderKind::Lab => {
            let test = some_id(&input.lab_test_id)
                .ok_or_else(|| Error::validation("lab_test_id", ValidationReason::Required, "pick a test"))?;
            let found: Option<(String, String)> =
                sqlx::query_as("SELECT code, name FROM lab_tests WHERE id = ? AND active = 1 AND deleted_at IS NULL")
                    .bind(test)
                    .fetch_optional(w.conn())
                    .await?;
            let (code, name) = found.ok_or_else(|| {
                Error::validation("lab_test_id", ValidationReason::Invalid, "a test that is not in the catalogue")
            })?;
            cols.push(("lab_test_id", json!(test)));
            lab = Some((test.to_string(), code, name));
        }
        OrderKind::Diet | OrderKind::Nursing => {
            if instructions.is_empty() {
                return Err(Error::validation("instructions", ValidationReason::Required, "what to do"));
            }
            if kind == OrderKind::Nursing && input.every_hours.is_some() {
                let n = hours("every_hours", input.every_hours, EVERY_HOURS_MAX, "vitals every how many hours")?;
                cols.push(("every_hours", json!(n)));
            }
        }
    }
    cols.push(("instructions", json!(instructions)));
    if let Some((test_id, code, name)) = &lab {
        // The clinical record's lab order: on the lab's pending list, charged like any other.
        let lab_order = crate::ids::new_id();
        let by = w.actor().user_id.clone();
        insert_row(
            w,
            "lab_orders",
            &lab_order,
            &[
                ("patient_id", json!(patient_id)),
                ("test_id", json!(test_id)),
                ("status", json!("ordered")),
                ("ordered_at", json!(now)),
                ("ordered_by", json!(by)),
                ("note", json!(instructions)),
            ],
        )
        .await?;
        w.audit(
            "lab.order",
            "lab_order",
            Some(&lab_order),
            json!({ "admission_id": input.admission_id, "test": code }),
        )
        .await?;
        let tz = crate::clinic::time_zone_in(w).await?;
        let day = w.now().with_timezone(&tz).date_naive();
        crate::billing::charge_lab_order(w, &lab_order, &patient_id, code, name, day).await?;
        cols.push(("lab_order_id", json!(lab_order)));
    }
    insert_row(w, "inpatient_orders", &id, &cols).await?;
    let detail: serde_json::Map<String, serde_json::Value> =
        cols.iter().filter(|(c, _)| *c != "ordered_by").map(|(c, v)| ((*c).to_string(), v.clone())).collect();
    w.audit("inpatient.order", "inpatient_order", Some(&id), serde_json::Value::Object(detail)).await?;
    Ok(id)
}

/// Orders for an inpatient (doctor).
pub async fn order(store: &Store, auth: &Authorized, input: OrderInput) -> Result<InpatientOrder> {
    auth.require(Permission::InpatientOrders)?;
    if let Ok(patient) = admission_patient(store, &input.admission_id).await {
        crate::clinical::restriction::require_chart(store, auth, &patient).await?;
    }
    let mut w = store.begin_write(auth.actor()).await?;
    let id = insert_order(&mut w, &input, None).await?;
    w.commit().await?;
    let mut conn = store.pool().acquire().await?;
    load(&mut conn, &id).await?.ok_or(Error::NotFound { entity: "order".into() })
}

/// An open order of that id, in the write, or a validation error on `field`.
async fn open_order(w: &mut WriteTx<'_>, field: &str, order_id: &str) -> Result<InpatientOrder> {
    let o = load(w.conn(), order_id)
        .await?
        .ok_or_else(|| Error::validation(field, ValidationReason::Invalid, "no such order"))?;
    if o.stopped_at.is_some() {
        return Err(Error::validation(field, ValidationReason::Invalid, "this order was stopped"));
    }
    Ok(o)
}

/// Sets an order's stop (an update of its stop columns only).
async fn set_stopped(w: &mut WriteTx<'_>, order_id: &str, at: &str, reason: &str) -> Result<()> {
    let (stamp, by) = (w.stamp(), w.actor().user_id.clone());
    sqlx::query(
        "UPDATE inpatient_orders SET stopped_at = ?, stopped_by = ?, stop_reason = ?, updated_at = ?, updated_by = ? WHERE id = ?",
    )
    .bind(at)
    .bind(&by)
    .bind(reason)
    .bind(&stamp)
    .bind(&by)
    .bind(order_id)
    .execute(w.conn())
    .await?;
    let data =
        json!({ "stopped_at": at, "stopped_by": by, "stop_reason": reason, "updated_at": stamp, "updated_by": by });
    w.record_change("inpatient_orders", order_id, ChangeOp::Update, &data).await
}

/// Stops an order now (doctor), with a reason.
pub async fn stop(store: &Store, auth: &Authorized, order_id: &str, reason: &str) -> Result<InpatientOrder> {
    auth.require(Permission::InpatientOrders)?;
    let reason = line("reason", reason, REASON_MAX, true)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let o = open_order(&mut w, "order_id", order_id).await?;
    let at = w.now_rfc3339();
    set_stopped(&mut w, order_id, &at, &reason).await?;
    w.audit(
        "inpatient.order_stop",
        "inpatient_order",
        Some(order_id),
        json!({ "admission_id": o.admission_id, "reason": reason }),
    )
    .await?;
    w.commit().await?;
    let mut conn = store.pool().acquire().await?;
    load(&mut conn, order_id).await?.ok_or(Error::NotFound { entity: "order".into() })
}

/// Changes an order (doctor): stops it now and writes the new one, which names it. The new
/// order belongs to the same admission.
pub async fn change(store: &Store, auth: &Authorized, order_id: &str, input: OrderInput) -> Result<InpatientOrder> {
    auth.require(Permission::InpatientOrders)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let old = open_order(&mut w, "order_id", order_id).await?;
    if input.admission_id != old.admission_id {
        return Err(Error::validation("admission_id", ValidationReason::Invalid, "not this order's admission"));
    }
    let at = w.now_rfc3339();
    set_stopped(&mut w, order_id, &at, "changed").await?;
    let id = insert_order(&mut w, &input, Some(order_id)).await?;
    w.audit("inpatient.order_change", "inpatient_order", Some(order_id), json!({ "new_order_id": id })).await?;
    w.commit().await?;
    let mut conn = store.pool().acquire().await?;
    load(&mut conn, &id).await?.ok_or(Error::NotFound { entity: "order".into() })
}

/// Stops every open order of an admission at `at` (inside the discharge's write); how many.
pub(crate) async fn stop_open_in(w: &mut WriteTx<'_>, admission_id: &str, at: &str) -> Result<usize> {
    let open: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM inpatient_orders WHERE admission_id = ? AND stopped_at IS NULL AND deleted_at IS NULL ORDER BY id",
    )
    .bind(admission_id)
    .fetch_all(w.conn())
    .await?;
    for id in &open {
        set_stopped(w, id, at, "discharged").await?;
    }
    if !open.is_empty() {
        w.audit("inpatient.orders_stopped", "admission", Some(admission_id), json!({ "orders": open, "at": at }))
            .await?;
    }
    Ok(open.len())
}
