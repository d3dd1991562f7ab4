//! Reading the audit log with filters, newest first, paged.

use crate::error::{Error, Result, ValidationReason};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

#[derive(Debug, Clone, Default, Deserialize, Serialize, specta::Type)]
pub struct AuditFilter {
    pub user_id: Option<String>,
    pub action: Option<String>,
    /// First day included, `YYYY-MM-DD` (UTC).
    pub from: Option<String>,
    /// Last day included, `YYYY-MM-DD` (UTC).
    pub to: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type, sqlx::FromRow)]
pub struct AuditEntry {
    /// Its number in its device's chain (large after a restore: `chain::restart_seq`).
    #[specta(type = f64)]
    pub seq: i64,
    pub id: String,
    pub at: String,
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub device_id: String,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub total: u32,
}

pub const MAX_PAGE: u32 = 500;

fn day(field: &str, value: &Option<String>) -> Result<Option<NaiveDate>> {
    match value.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| Error::validation(field, ValidationReason::Invalid, "expected a date as YYYY-MM-DD")),
    }
}

fn push_filters(q: &mut QueryBuilder<'_, Sqlite>, f: &AuditFilter, from: Option<NaiveDate>, to: Option<NaiveDate>) {
    q.push(" WHERE 1 = 1");
    if let Some(user) = f.user_id.as_deref().filter(|s| !s.is_empty()) {
        q.push(" AND a.user_id = ").push_bind(user.to_string());
    }
    if let Some(action) = f.action.as_deref().filter(|s| !s.is_empty()) {
        q.push(" AND a.action = ").push_bind(action.to_string());
    }
    if let Some(from) = from {
        q.push(" AND a.at >= ").push_bind(format!("{from}T00:00:00"));
    }
    if let Some(to) = to.and_then(|d| d.succ_opt()) {
        q.push(" AND a.at < ").push_bind(format!("{to}T00:00:00"));
    }
}

pub async fn list(pool: &SqlitePool, f: &AuditFilter) -> Result<AuditPage> {
    let from = day("from", &f.from)?;
    let to = day("to", &f.to)?;
    if let (Some(a), Some(b)) = (from, to) {
        if b < a {
            return Err(Error::validation("to", ValidationReason::OutOfRange, "the end date is before the start date"));
        }
    }
    if f.limit == 0 || f.limit > MAX_PAGE {
        return Err(Error::validation(
            "limit",
            ValidationReason::OutOfRange,
            format!("page size must be 1 to {MAX_PAGE}"),
        ));
    }

    // Other devices' entries (pulled through sync) are listed with this device's, by time.
    let remote: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM audit_remote)").fetch_one(pool).await?;
    let (source, order) = if remote {
        (
            "(SELECT seq, id, at, user_id, device_id, action, entity, entity_id, detail FROM audit_log
              UNION ALL SELECT seq, id, at, user_id, device_id, action, entity, entity_id, detail FROM audit_remote) a",
            " ORDER BY a.at DESC, a.id DESC LIMIT ",
        )
    } else {
        ("audit_log a", " ORDER BY a.seq DESC LIMIT ")
    };
    let mut count = QueryBuilder::<Sqlite>::new(format!("SELECT COUNT(*) FROM {source}"));
    push_filters(&mut count, f, from, to);
    let total: i64 = count.build_query_scalar().fetch_one(pool).await?;

    let mut q = QueryBuilder::<Sqlite>::new(format!(
        "SELECT a.seq, a.id, a.at, a.user_id, u.username, a.device_id, a.action, a.entity, a.entity_id, a.detail
         FROM {source} LEFT JOIN users u ON u.id = a.user_id"
    ));
    push_filters(&mut q, f, from, to);
    q.push(order).push_bind(i64::from(f.limit));
    q.push(" OFFSET ").push_bind(i64::from(f.offset));
    let entries = q.build_query_as::<AuditEntry>().fetch_all(pool).await?;
    Ok(AuditPage { entries, total: u32::try_from(total).unwrap_or(u32::MAX) })
}
