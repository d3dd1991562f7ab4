//! The daily cash report of a desk: what came in and went out on a day (clinic local), by
//! mode and by user, with the close-of-day total.

use super::DateRange;
use crate::billing::PaymentMode;
use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use chrono::NaiveDate;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ModeTotal {
    pub mode: PaymentMode,
    #[specta(type = f64)]
    pub collected_minor: i64,
    #[specta(type = f64)]
    pub refunded_minor: i64,
    #[specta(type = f64)]
    pub net_minor: i64,
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct UserTotal {
    pub user_id: Option<String>,
    pub username: String,
    #[specta(type = f64)]
    pub collected_minor: i64,
    #[specta(type = f64)]
    pub refunded_minor: i64,
    #[specta(type = f64)]
    pub net_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct CashReport {
    pub date: String,
    pub currency: String,
    pub by_mode: Vec<ModeTotal>,
    pub by_user: Vec<UserTotal>,
    #[specta(type = f64)]
    pub collected_minor: i64,
    #[specta(type = f64)]
    pub refunded_minor: i64,
    /// Close of day: collected − refunded.
    #[specta(type = f64)]
    pub net_minor: i64,
    /// Cash only: what the drawer should hold from the day's takings.
    #[specta(type = f64)]
    pub cash_in_hand_minor: i64,
    pub invoices_finalized: u32,
}

/// The report for `date` (YYYY-MM-DD, clinic local); `user_id` narrows it to one desk user.
pub async fn daily_cash(store: &Store, auth: &Authorized, date: &str, user_id: Option<&str>) -> Result<CashReport> {
    auth.require(Permission::BillingView)?;
    let day = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
        .map_err(|_| Error::validation("date", ValidationReason::Invalid, "expected YYYY-MM-DD"))?;
    let tz = crate::clinic::time_zone(store).await?;
    let range = DateRange { from: day, to: day, tz };
    let (from, to) =
        range.instants().map_err(|_| Error::validation("date", ValidationReason::OutOfRange, "date out of range"))?;
    let (by_mode, by_user) = collections(store, &from, &to, user_id).await?;
    let invoices: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM bills WHERE finalized_at >= ? AND finalized_at < ? AND deleted_at IS NULL AND (? IS NULL OR finalized_by = ?)",
    )
    .bind(&from)
    .bind(&to)
    .bind(user_id)
    .bind(user_id)
    .fetch_one(store.report_pool())
    .await?;
    let collected = by_mode.iter().map(|m| m.collected_minor).sum();
    let refunded = by_mode.iter().map(|m| m.refunded_minor).sum();
    Ok(CashReport {
        date: day.to_string(),
        currency: crate::billing::read_settings(store).await?.currency,
        cash_in_hand_minor: by_mode.iter().filter(|m| m.mode == PaymentMode::Cash).map(|m| m.net_minor).sum(),
        by_mode,
        by_user,
        collected_minor: collected,
        refunded_minor: refunded,
        net_minor: collected - refunded,
        invoices_finalized: u32::try_from(invoices).unwrap_or(0),
    })
}

/// Money received (payments, advances) and refunded between two stored instants `[from, to)`,
/// by mode (in [`PaymentMode::ALL`] order) and by user (by name); `user_id` narrows it to one user.
pub(crate) async fn collections(
    store: &Store,
    from: &str,
    to: &str,
    user_id: Option<&str>,
) -> Result<(Vec<ModeTotal>, Vec<UserTotal>)> {
    let rows: Vec<PaymentTotalRow> = sqlx::query_as(
        "SELECT p.id, p.kind, p.mode, p.amount_minor, p.received_by, u.username FROM payments p LEFT JOIN users u ON u.id = p.received_by
         WHERE p.received_at >= ? AND p.received_at < ? AND p.deleted_at IS NULL AND (? IS NULL OR p.received_by = ?)",
    )
    .bind(from)
    .bind(to)
    .bind(user_id)
    .bind(user_id)
    .fetch_all(store.report_pool())
    .await?;
    let mut by_mode: Vec<ModeTotal> = Vec::new();
    let mut by_user: Vec<UserTotal> = Vec::new();
    for PaymentTotalRow { id, kind, mode, amount_minor: amount, received_by: user, username } in rows {
        let mode = crate::store::stored::code("payments", &id, "mode", &mode, PaymentMode::from_code)?;
        let (inn, out) = if kind == "refund" { (0, amount) } else { (amount, 0) };
        let m = match by_mode.iter_mut().position(|m| m.mode == mode) {
            Some(i) => &mut by_mode[i],
            None => {
                by_mode.push(ModeTotal { mode, collected_minor: 0, refunded_minor: 0, net_minor: 0, count: 0 });
                by_mode.last_mut().ok_or_else(|| Error::internal("empty"))?
            }
        };
        m.collected_minor += inn;
        m.refunded_minor += out;
        m.net_minor += inn - out;
        m.count += 1;
        let u = match by_user.iter_mut().position(|u| u.user_id == user) {
            Some(i) => &mut by_user[i],
            None => {
                by_user.push(UserTotal {
                    user_id: user.clone(),
                    username: username.unwrap_or_default(),
                    collected_minor: 0,
                    refunded_minor: 0,
                    net_minor: 0,
                });
                by_user.last_mut().ok_or_else(|| Error::internal("empty"))?
            }
        };
        u.collected_minor += inn;
        u.refunded_minor += out;
        u.net_minor += inn - out;
    }
    by_mode.sort_by_key(|m| PaymentMode::ALL.iter().position(|x| *x == m.mode));
    by_user.sort_by(|a, b| a.username.cmp(&b.username));
    Ok((by_mode, by_user))
}

#[derive(sqlx::FromRow)]
struct PaymentTotalRow {
    id: String,
    kind: String,
    mode: String,
    amount_minor: i64,
    received_by: Option<String>,
    username: Option<String>,
}
