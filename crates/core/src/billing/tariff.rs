//! The tariff: billable services with codes, categories, tax rates and prices over time.
//! A new price takes effect from a date; issued invoices keep the price they were billed at.

use super::model::{Category, PriceFrom, Service, ServiceInput};
use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{ChangeOp, Store, WriteTx};
use chrono::NaiveDate;
use serde_json::json;
use sqlx::SqliteConnection;

/// The largest price or amount accepted anywhere in billing: 1 crore rupees in paise.
pub const MAX_AMOUNT: i64 = 1_000_000_000;

fn text(field: &str, raw: &str, max: usize) -> Result<String> {
    let s = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.is_empty() {
        return Err(Error::validation(field, ValidationReason::Required, "required"));
    }
    if s.chars().count() > max {
        return Err(Error::validation(field, ValidationReason::TooLong, format!("at most {max} characters")));
    }
    Ok(s)
}

pub(crate) fn check_price(field: &str, price: i64) -> Result<i64> {
    if price < 0 {
        return Err(Error::validation(field, ValidationReason::OutOfRange, "a price cannot be negative"));
    }
    if price > MAX_AMOUNT {
        return Err(Error::validation(field, ValidationReason::OutOfRange, "at most 1,00,00,000.00"));
    }
    Ok(price)
}

fn check_rate(rate_bp: u32, exempt: bool) -> Result<u32> {
    if rate_bp > 10_000 {
        return Err(Error::validation("tax_rate_bp", ValidationReason::OutOfRange, "a tax rate is 0% to 100%"));
    }
    if exempt && rate_bp != 0 {
        return Err(Error::validation("tax_rate_bp", ValidationReason::Invalid, "an exempt service has no tax rate"));
    }
    Ok(rate_bp)
}

fn date_or_today(field: &str, raw: Option<&str>, today: NaiveDate) -> Result<NaiveDate> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(today),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| Error::validation(field, ValidationReason::Invalid, "expected YYYY-MM-DD")),
    }
}

/// The most characters of a service's code and name.
pub const CODE_MAX: usize = 20;
pub const NAME_MAX: usize = 120;

/// Adds a service with its first price.
pub async fn add_service(store: &Store, auth: &Authorized, input: ServiceInput) -> Result<Service> {
    auth.require(Permission::TariffManage)?;
    let code = text("code", &input.code, CODE_MAX)?.to_uppercase();
    let name = text("name", &input.name, NAME_MAX)?;
    let category = Category::from_code(input.category.trim()).ok_or_else(|| {
        Error::validation(
            "category",
            ValidationReason::Invalid,
            "consultation, procedure, lab_test, pharmacy, bed_day or other",
        )
    })?;
    let rate = check_rate(input.tax_rate_bp, input.tax_exempt)?;
    let price = check_price("price_minor", input.price_minor)?;
    let from = date_or_today("effective_from", input.effective_from.as_deref(), crate::clinic::today(store).await?)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let taken: bool =
        sqlx::query_scalar("SELECT COUNT(*) > 0 FROM services WHERE code = ? COLLATE NOCASE AND deleted_at IS NULL")
            .bind(&code)
            .fetch_one(w.conn())
            .await?;
    if taken {
        return Err(Error::validation("code", ValidationReason::Taken, format!("{code} is already in the tariff")));
    }
    let id = crate::ids::new_id();
    let (now, stamp, by, dev) = (w.now_rfc3339(), w.stamp(), w.actor().user_id.clone(), w.device_id().to_string());
    sqlx::query(
        "INSERT INTO services (id, code, name, category, tax_rate_bp, tax_exempt, active, created_at, updated_at, updated_by, origin_device)
         VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
    )
    .bind(&id)
    .bind(&code)
    .bind(&name)
    .bind(category.code())
    .bind(rate)
    .bind(input.tax_exempt)
    .bind(&now)
    .bind(&stamp)
    .bind(&by)
    .bind(&dev)
    .execute(w.conn())
    .await?;
    let row = json!({ "id": id, "code": code, "name": name, "category": category, "tax_rate_bp": rate, "tax_exempt": input.tax_exempt, "active": true, "created_at": now, "updated_at": stamp, "updated_by": by });
    w.record_change("services", &id, ChangeOp::Insert, &row).await?;
    insert_price(&mut w, &id, from, price).await?;
    w.audit(
        "service.create",
        "service",
        Some(&id),
        json!({ "code": code, "price_minor": price, "from": from.to_string() }),
    )
    .await?;
    w.commit().await?;
    service(store, &id, None).await
}

async fn insert_price(w: &mut WriteTx<'_>, service_id: &str, from: NaiveDate, price: i64) -> Result<()> {
    let id = crate::ids::new_id();
    let (now, stamp, by, dev) = (w.now_rfc3339(), w.stamp(), w.actor().user_id.clone(), w.device_id().to_string());
    let from = from.format("%Y-%m-%d").to_string();
    // A second price on the same date replaces the first (a typo fixed the same day).
    sqlx::query(
        "INSERT INTO service_prices (id, service_id, effective_from, price_minor, created_at, updated_at, updated_by, origin_device)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (service_id, effective_from) WHERE deleted_at IS NULL
         DO UPDATE SET price_minor = excluded.price_minor, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(&id)
    .bind(service_id)
    .bind(&from)
    .bind(price)
    .bind(&now)
    .bind(&stamp)
    .bind(&by)
    .bind(&dev)
    .execute(w.conn())
    .await?;
    let row = json!({ "service_id": service_id, "effective_from": from, "price_minor": price, "updated_at": stamp, "updated_by": by });
    w.record_change("service_prices", &format!("{service_id}@{from}"), ChangeOp::Insert, &row).await
}

/// Sets a new price from a date (today or later: the past is what was billed).
pub async fn set_price(
    store: &Store,
    auth: &Authorized,
    service_id: &str,
    price_minor: i64,
    effective_from: Option<String>,
) -> Result<Service> {
    auth.require(Permission::TariffManage)?;
    let price = check_price("price_minor", price_minor)?;
    let today = crate::clinic::today(store).await?;
    let from = date_or_today("effective_from", effective_from.as_deref(), today)?;
    if from < today {
        return Err(Error::validation(
            "effective_from",
            ValidationReason::OutOfRange,
            "a price change takes effect today or later",
        ));
    }
    let mut w = store.begin_write(auth.actor()).await?;
    if load_row(w.conn(), service_id).await?.is_none() {
        return Err(Error::NotFound { entity: "service".into() });
    }
    insert_price(&mut w, service_id, from, price).await?;
    w.audit("service.price", "service", Some(service_id), json!({ "price_minor": price, "from": from.to_string() }))
        .await?;
    w.commit().await?;
    service(store, service_id, None).await
}

/// Retires or restores a service (retired services cannot be added to bills).
pub async fn set_service_active(store: &Store, auth: &Authorized, service_id: &str, active: bool) -> Result<Service> {
    auth.require(Permission::TariffManage)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let stamp = w.stamp();
    let by = w.actor().user_id.clone();
    let n = sqlx::query(
        "UPDATE services SET active = ?, updated_at = ?, updated_by = ? WHERE id = ? AND deleted_at IS NULL",
    )
    .bind(active)
    .bind(&stamp)
    .bind(&by)
    .bind(service_id)
    .execute(w.conn())
    .await?
    .rows_affected();
    if n == 0 {
        return Err(Error::NotFound { entity: "service".into() });
    }
    w.record_change(
        "services",
        service_id,
        ChangeOp::Update,
        &json!({ "id": service_id, "active": active, "updated_at": stamp, "updated_by": by }),
    )
    .await?;
    w.audit("service.active", "service", Some(service_id), json!({ "active": active })).await?;
    w.commit().await?;
    service(store, service_id, None).await
}

/// A service as [`SERVICE_COLUMNS`] reads it.
#[derive(sqlx::FromRow)]
struct ServiceRow {
    id: String,
    code: String,
    name: String,
    category: String,
    tax_rate_bp: i64,
    tax_exempt: bool,
    active: bool,
}

/// The columns of a [`ServiceRow`], written once.
const SERVICE_COLUMNS: &str = "id, code, name, category, tax_rate_bp, tax_exempt, active";

async fn load_row(conn: &mut SqliteConnection, id: &str) -> Result<Option<ServiceRow>> {
    let sql = format!("SELECT {SERVICE_COLUMNS} FROM services WHERE id = ? AND deleted_at IS NULL");
    Ok(sqlx::query_as(&sql).bind(id).fetch_optional(conn).await?)
}

/// The price of a service on a day (the newest price that took effect on or before it).
pub(crate) async fn price_on(conn: &mut SqliteConnection, service_id: &str, day: NaiveDate) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT price_minor FROM service_prices WHERE service_id = ? AND effective_from <= ? AND deleted_at IS NULL
         ORDER BY effective_from DESC LIMIT 1",
    )
    .bind(service_id)
    .bind(day.format("%Y-%m-%d").to_string())
    .fetch_optional(conn)
    .await?)
}

fn to_service(r: ServiceRow, price: Option<i64>, prices: Vec<PriceFrom>) -> Result<Service> {
    let category = crate::store::stored::code("services", &r.id, "category", &r.category, Category::from_code)?;
    let tax_rate_bp = u32::try_from(r.tax_rate_bp).map_err(|_| {
        Error::corrupt("services", &r.id, "tax_rate_bp", format_args!("{} is not a rate", r.tax_rate_bp))
    })?;
    Ok(Service {
        id: r.id,
        code: r.code,
        name: r.name,
        category,
        tax_rate_bp,
        tax_exempt: r.tax_exempt,
        active: r.active,
        price_minor: price,
        prices,
    })
}

async fn service(store: &Store, id: &str, day: Option<NaiveDate>) -> Result<Service> {
    let mut conn = store.pool().acquire().await?;
    let row = load_row(&mut conn, id).await?.ok_or_else(|| Error::NotFound { entity: "service".into() })?;
    let day = match day {
        Some(d) => d,
        None => crate::clinic::today(store).await?,
    };
    let price = price_on(&mut conn, id, day).await?;
    let prices: Vec<(String, i64)> =
        sqlx::query_as("SELECT effective_from, price_minor FROM service_prices WHERE service_id = ? AND deleted_at IS NULL ORDER BY effective_from")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    to_service(
        row,
        price,
        prices.into_iter().map(|(effective_from, price_minor)| PriceFrom { effective_from, price_minor }).collect(),
    )
}

/// The tariff, with each service's price today; retired services only when asked.
pub async fn services(store: &Store, auth: &Authorized, include_retired: bool) -> Result<Vec<Service>> {
    auth.require(Permission::BillingView)?;
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM services WHERE deleted_at IS NULL AND (active = 1 OR ?) ORDER BY category, name COLLATE NOCASE",
    )
    .bind(include_retired)
    .fetch_all(store.pool())
    .await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(service(store, &id, None).await?);
    }
    Ok(out)
}

/// A service by code (the consultation charge at check-in uses `CONSULT`).
pub(crate) async fn id_by_code(conn: &mut SqliteConnection, code: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT id FROM services WHERE code = ? COLLATE NOCASE AND deleted_at IS NULL")
        .bind(code)
        .fetch_optional(conn)
        .await?)
}
