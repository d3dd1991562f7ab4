//! Bed-days: how a stay is charged.
//!
//! The clinic takes its **census at midnight** of its time zone ([`CENSUS_HOUR`]): each
//! midnight a patient is admitted at (admitted at or before it, not discharged by then)
//! counts one bed-day, the day that midnight ends. A stay from 5 Dec 10:00 to 7 Dec 11:00
//! is two bed-days (5 and 6 Dec); a stay that crosses no midnight is none. Each bed-day is
//! one line on the patient's open bill (billing's own line insert), priced on that day from
//! the tariff service of the bed the patient lay in at the census (the bed's own charge, else
//! its ward's), or, without a bed then, their ward's.
//!
//! A line is charged once: its id and its source (`bed_day`, `<admission>@<day>`) come from
//! the admission and the day, so two devices that both charge a day make one row. They may
//! have priced it from different beds (one had not seen a transfer before that midnight): the
//! merge keeps the later writer's, which may be the wrong one. So each accrual also checks the
//! days already charged (on a bill still open) against the bed the derived board — the same on
//! every device once synced — says the patient lay in at the census, and corrects a line that
//! names another service or place (a synced update, audited `bill.charge_corrected`): every
//! device that runs it writes the same values. A line on a finalised bill is never changed.
//! Charging
//! runs at discharge (inside it) and whenever [`accrue`] is called (the app calls it; the
//! bench times it for 450 inpatients) and charges every census passed and not yet charged.

use super::{derive::Derived, derived_in, model::Accrual};
use crate::billing::{bills, model::Category, money, tariff};
use crate::error::{Error, Result};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::stored::json_rows;
use crate::store::{Store, WriteTx};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde_json::json;
use std::collections::HashMap;

/// The census hour on the clinic's clock: midnight.
pub const CENSUS_HOUR: u32 = 0;
/// The bill-line source of a bed-day.
pub const BED_DAY_SOURCE: &str = "bed_day";

/// The census instant that ends `day`: the first moment of the next day on the clinic's clock
/// (where a time zone skips midnight, the first moment after it).
pub fn census_instant(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    super::shifts::local_instant(tz, day.succ_opt().unwrap_or(day), CENSUS_HOUR)
}

/// The bed-days of a stay from `from` to `to` (exclusive): the days whose census instant
/// falls in [from, to), in order.
pub fn bed_days(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    if to <= from {
        return out;
    }
    // The census ending the day before `from`'s local day is before `from`: start there.
    let mut day = from.with_timezone(&tz).date_naive().pred_opt().unwrap_or(NaiveDate::MIN);
    let last = to.with_timezone(&tz).date_naive();
    while day <= last {
        let c = census_instant(tz, day);
        if c >= from && c < to {
            out.push(day);
        }
        match day.succ_opt() {
            Some(d) => day = d,
            None => break,
        }
    }
    out
}

fn parse(field: &str, id: &str, raw: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::corrupt("admissions", id, field, e))
}

fn source_id(admission_id: &str, day: NaiveDate) -> String {
    format!("{admission_id}@{}", day.format("%Y-%m-%d"))
}

/// The days already charged to an admission.
async fn charged(w: &mut WriteTx<'_>, admission_id: &str) -> Result<Vec<String>> {
    // '@' < 'A': every `<id>@<day>` sorts between `<id>@` and `<id>A`.
    Ok(sqlx::query_scalar(
        "SELECT source_id FROM bill_lines WHERE source = ? AND source_id >= ? AND source_id < ? AND deleted_at IS NULL",
    )
    .bind(BED_DAY_SOURCE)
    .bind(format!("{admission_id}@"))
    .bind(format!("{admission_id}A"))
    .fetch_all(w.conn())
    .await?)
}

/// The census instant after which the admission's last charged day ended (a discharge may not
/// be dated before a bed-day that is already on the bill).
pub(crate) async fn last_charged_census(
    w: &mut WriteTx<'_>,
    tz: Tz,
    admission_id: &str,
) -> Result<Option<DateTime<Utc>>> {
    let days = charged(w, admission_id).await?;
    Ok(days
        .iter()
        .filter_map(|s| s.rsplit_once('@').and_then(|(_, d)| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()))
        .max()
        .map(|d| census_instant(tz, d)))
}

/// Charges every bed-day passed and not yet charged: of one admission, or of every admission
/// in hospital (`None`), inside the caller's write, on `board` (derived in this write) when the
/// caller has it. Every statement serves all the admissions at once: a round trip to SQLite's
/// thread costs more than the row it carries, and the census has one line per inpatient.
pub(crate) async fn accrue_in(w: &mut WriteTx<'_>, only: Option<&str>, board: Option<&Derived>) -> Result<Accrual> {
    let tz = crate::clinic::time_zone_in(w).await?;
    let now = w.now();
    type Row = (String, String, String, Option<String>, Option<String>);
    // One admission by its id, or every open one by their index (a CASE choosing between the
    // two read every admission ever: 7-9 ms a discharge after a year of stays).
    let sql = match only {
        Some(_) => {
            "SELECT json_group_array(json_array(a.id, a.patient_id, a.admitted_at, a.discharged_at, w.bed_service_id))
                    FROM admissions a JOIN wards w ON w.id = a.ward_id WHERE a.id = ? AND a.deleted_at IS NULL"
        }
        None => {
            "SELECT json_group_array(json_array(a.id, a.patient_id, a.admitted_at, a.discharged_at, w.bed_service_id))
                 FROM admissions a INDEXED BY admissions_open JOIN wards w ON w.id = a.ward_id
                 WHERE a.discharged_at IS NULL AND a.deleted_at IS NULL"
        }
    };
    let binds: &[Option<&str>] = if only.is_some() { &[only] } else { &[] };
    let rows: Vec<Row> = json_rows(w.conn(), sql, "admissions", binds).await?;
    let mut out = Accrual::default();
    // The days each stay has passed the census of; most were charged before.
    let mut passed = Vec::new();
    for (id, patient_id, admitted_at, discharged_at, ward_service) in &rows {
        let from = parse("admitted_at", id, admitted_at)?;
        let to = match discharged_at {
            Some(t) => parse("discharged_at", id, t)?.min(now),
            None => now,
        };
        for day in bed_days(tz, from, to) {
            passed.push((id, patient_id, ward_service, day, source_id(id, day)));
        }
    }
    if passed.is_empty() {
        return Ok(out);
    }
    let ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let done = charged_all(w, &ids).await?;
    // Days charged on a bill now closed are as they are; the rest are checked below.
    passed.retain(|p| done.get(&p.4).is_none_or(|l| l.open));
    if passed.is_empty() {
        return Ok(out);
    }
    let owned;
    let board = match board {
        Some(b) => b,
        None => {
            owned = derived_in(w).await?;
            &owned
        }
    };
    // Each bed's charge: its own, else its ward's; and its name on the line.
    type BedRow = (String, Option<String>, Option<String>, String, String);
    let beds: Vec<BedRow> = json_rows(
        w.conn(),
        "SELECT json_group_array(json_array(b.id, b.bed_service_id, w.bed_service_id, b.label, w.name))
         FROM beds b JOIN wards w ON w.id = b.ward_id",
        "beds",
        &[],
    )
    .await?;
    let beds: HashMap<String, (Option<String>, String)> = beds
        .into_iter()
        .map(|(id, own, ward, label, ward_name)| (id, (own.or(ward), format!("{ward_name} {label}"))))
        .collect();
    let mut due = Vec::with_capacity(passed.len());
    let mut wrong = Vec::new();
    for (id, patient_id, ward_service, day, source) in passed {
        let census = census_instant(tz, day).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let (service, place) = match board.bed_at(id, &census).and_then(|b| beds.get(b)) {
            Some((service, place)) => (service.clone(), place.clone()),
            None => (ward_service.clone(), String::new()),
        };
        let d = BedDay { patient_id: patient_id.clone(), source, service, day, place };
        match done.get(&d.source) {
            None => due.push(d),
            // Charged from another bed than the settled board's (a day with no price now
            // keeps what it has).
            Some(l) if d.service.is_some() && (l.service_id != d.service || l.description != description(&d)) => {
                wrong.push(d)
            }
            Some(_) => {}
        }
    }
    let priced = price_all(w, due, &mut out).await?;
    charge_all(w, &priced).await?;
    out.lines = u32::try_from(priced.len()).unwrap_or(u32::MAX);
    if !wrong.is_empty() {
        let mut ignored = Accrual::default();
        let repriced = price_all(w, wrong, &mut ignored).await?;
        correct_all(w, &repriced, &done).await?;
        out.corrected = u32::try_from(repriced.len()).unwrap_or(u32::MAX);
    }
    Ok(out)
}

/// A bed-day line's text: its day and where the patient lay.
fn description(d: &BedDay) -> String {
    match d.place.as_str() {
        "" => format!("Bed-day {}", d.day.format("%Y-%m-%d")),
        p => format!("Bed-day {}: {p}", d.day.format("%Y-%m-%d")),
    }
}

/// Rewrites charged bed-days to the settled bed's service, place and price (each a synced
/// update of those columns of its line, audited as a correction to its bill).
async fn correct_all(
    w: &mut WriteTx<'_>,
    priced: &[(BedDay, String, i64, u32)],
    done: &HashMap<String, Charged>,
) -> Result<()> {
    let mut audit = Vec::with_capacity(priced.len());
    for (d, service, price, rate) in priced {
        let Some(line) = done.get(&d.source) else { continue };
        let (stamp, by) = (w.stamp(), w.actor().user_id.clone());
        let text = description(d);
        sqlx::query(
            "UPDATE bill_lines SET service_id = ?, description = ?, unit_price_minor = ?, tax_rate_bp = ?,
               updated_at = ?, updated_by = ? WHERE id = ?",
        )
        .bind(service)
        .bind(&text)
        .bind(price)
        .bind(rate)
        .bind(&stamp)
        .bind(&by)
        .bind(&line.id)
        .execute(w.conn())
        .await?;
        let data = json!({ "service_id": service, "description": text, "unit_price_minor": price,
                           "tax_rate_bp": rate, "updated_at": stamp, "updated_by": by });
        w.record_change("bill_lines", &line.id, crate::store::ChangeOp::Update, &data).await?;
        let detail = json!({ "source": BED_DAY_SOURCE, "source_id": d.source, "line_id": line.id,
                             "amount_minor": price, "was": { "service_id": line.service_id, "description": line.description } });
        audit.push(("bill.charge_corrected", "bill", Some(line.bill_id.clone()), detail));
    }
    let audit = audit.iter().map(|(a, e, id, d)| (*a, *e, id.as_deref(), d.clone())).collect();
    w.audit_many(audit).await
}

/// A bed-day to charge: whose, which day, at which service, and where they lay.
struct BedDay {
    patient_id: String,
    source: String,
    service: Option<String>,
    day: NaiveDate,
    place: String,
}

/// A bed-day already on a bill: its line, bill, service and text, and whether the bill is
/// still open (a draft) and so may be corrected.
struct Charged {
    id: String,
    bill_id: String,
    service_id: Option<String>,
    description: String,
    open: bool,
}

/// The days already charged to any of `admissions`, by line source.
async fn charged_all(w: &mut WriteTx<'_>, admissions: &[&str]) -> Result<HashMap<String, Charged>> {
    type Line = (String, String, String, Option<String>, String, bool);
    let rows: Vec<Line> = json_rows(
        w.conn(),
        "SELECT json_group_array(json_array(l.source_id, l.id, l.bill_id, l.service_id, l.description,
                json(CASE WHEN b.status = 'draft' THEN 'true' ELSE 'false' END)))
         FROM json_each(?) j JOIN bill_lines l
           ON l.source = ? AND l.source_id >= j.value || '@' AND l.source_id < j.value || 'A' AND l.deleted_at IS NULL
         JOIN bills b ON b.id = l.bill_id",
        "bill_lines",
        &[Some(&serde_json::to_string(admissions)?), Some(BED_DAY_SOURCE)],
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|(source, id, bill_id, service_id, description, open)| {
            (source, Charged { id, bill_id, service_id, description, open })
        })
        .collect())
}

/// The days that have a price (service, price, tax rate), counting the others as unpriced.
async fn price_all(
    w: &mut WriteTx<'_>,
    due: Vec<BedDay>,
    out: &mut Accrual,
) -> Result<Vec<(BedDay, String, i64, u32)>> {
    let mut prices: HashMap<(String, NaiveDate), Option<i64>> = HashMap::new();
    let mut rates: HashMap<String, u32> = HashMap::new();
    let mut priced = Vec::with_capacity(due.len());
    for d in due {
        let Some(service) = d.service.clone() else {
            out.unpriced += 1;
            continue;
        };
        let key = (service.clone(), d.day);
        let price = match prices.get(&key) {
            Some(p) => *p,
            None => {
                let p = tariff::price_on(w.conn(), &service, d.day).await?;
                prices.insert(key, p);
                p
            }
        };
        let Some(price) = price else {
            out.unpriced += 1;
            continue;
        };
        let rate = match rates.get(&service) {
            Some(r) => *r,
            None => {
                let raw: i64 = sqlx::query_scalar("SELECT tax_rate_bp FROM services WHERE id = ?")
                    .bind(&service)
                    .fetch_one(w.conn())
                    .await?;
                let r = bills::stored_u32("services", &service, "tax_rate_bp", raw)?;
                rates.insert(service.clone(), r);
                r
            }
        };
        priced.push((d, service, price, rate));
    }
    Ok(priced)
}

/// The priced bed-days onto each patient's open bill (billing's own line insert), each line
/// audited as a charge to its bill.
async fn charge_all(w: &mut WriteTx<'_>, priced: &[(BedDay, String, i64, u32)]) -> Result<()> {
    if priced.is_empty() {
        return Ok(());
    }
    let mut patients: Vec<&str> = priced.iter().map(|(d, ..)| d.patient_id.as_str()).collect();
    patients.sort_unstable();
    patients.dedup();
    let drafts = bills::open_drafts(w, &patients).await?;
    let mut made = Vec::with_capacity(priced.len());
    for (d, service, price, rate) in priced {
        let description = description(d);
        let id = crate::ids::reference_id(BED_DAY_SOURCE, &d.source);
        let bill =
            drafts.get(&d.patient_id).cloned().ok_or_else(|| Error::internal("a bed-day without an open bill"))?;
        made.push((id, bill, description, service.as_str(), *price, *rate, d.source.as_str()));
    }
    let lines: Vec<bills::NewLineRef<'_>> = made
        .iter()
        .map(|(_, _, description, service, price, rate, source)| bills::NewLineRef {
            service_id: Some(service),
            description,
            category: Category::BedDay,
            quantity: 1,
            unit_price: *price,
            discount: money::Discount::None,
            tax_rate_bp: *rate,
            source: BED_DAY_SOURCE,
            source_id: Some(source),
        })
        .collect();
    let rows: Vec<(&str, &str, &bills::NewLineRef<'_>)> =
        made.iter().zip(&lines).map(|((id, bill, ..), line)| (id.as_str(), bill.as_str(), line)).collect();
    bills::insert_lines_as(w, &rows).await?;
    let audit = made
        .iter()
        .map(|(id, bill, _, _, price, _, source)| {
            let detail = json!({ "source": BED_DAY_SOURCE, "source_id": source, "line_id": id, "amount_minor": price });
            ("bill.charge", "bill", Some(bill.as_str()), detail)
        })
        .collect();
    w.audit_many(audit).await
}

/// The census: charges every bed-day passed and not yet charged, for every patient in
/// hospital (doctor, reception, the billing desk). Audited as `inpatient.census`.
pub async fn accrue(store: &Store, auth: &Authorized) -> Result<Accrual> {
    auth.require(Permission::InpatientsAdmit)
        .or_else(|_| auth.require(Permission::InpatientsDischarge))
        .or_else(|_| auth.require(Permission::BillingEdit))?;
    let mut w = store.begin_write(auth.actor()).await?;
    let out = accrue_in(&mut w, None, None).await?;
    w.audit("inpatient.census", "admission", None, json!({ "lines": out.lines, "unpriced": out.unpriced })).await?;
    w.commit().await?;
    Ok(out)
}
