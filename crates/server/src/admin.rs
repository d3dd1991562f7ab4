//! Administration on the server's machine: tenants, enrolment codes, devices, revocation.
//! The CLI (`hms-server tenant create`, `enrol-code [--replaces DEVICE]`, `devices`, `revoke`)
//! calls these.

use crate::auth;
use crate::error::AdminError;
use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

/// Enrolment codes live at most this long.
pub const MAX_CODE_TTL_HOURS: i64 = 24 * 30;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolCode {
    /// Shown once; only its hash is stored.
    pub code: String,
    pub tenant: Tenant,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeviceInfo {
    pub id: String,
    pub name: String,
    pub enrolled_at: DateTime<Utc>,
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Highest device sequence pushed; the device knows how many it has queued beyond it.
    pub last_device_seq: i64,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Changes the device had not sent yet when it last pulled (it reports them), if known.
    pub pending_changes: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub device_id: String,
    pub revoked_at: DateTime<Utc>,
    /// The device had been revoked before; nothing changed.
    pub already: bool,
}

pub async fn create_tenant(pool: &PgPool, name: &str) -> Result<Tenant, AdminError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AdminError::Invalid("a tenant name has 1 to 200 characters".into()));
    }
    let tenant: Option<Tenant> = sqlx::query_as(
        "INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING
         RETURNING id, name, created_at",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(name)
    .fetch_optional(pool)
    .await?;
    tenant.ok_or_else(|| AdminError::Conflict(format!("a tenant named {name:?} already exists")))
}

pub async fn list_tenants(pool: &PgPool) -> Result<Vec<Tenant>, AdminError> {
    Ok(sqlx::query_as("SELECT id, name, created_at FROM tenants ORDER BY created_at").fetch_all(pool).await?)
}

/// A tenant by id or, failing that, by exact name.
pub async fn find_tenant(pool: &PgPool, id_or_name: &str) -> Result<Tenant, AdminError> {
    let tenant: Option<Tenant> = sqlx::query_as(
        "SELECT id, name, created_at FROM tenants WHERE id = $1
         UNION ALL
         SELECT id, name, created_at FROM tenants WHERE name = $1 AND id <> $1
         LIMIT 1",
    )
    .bind(id_or_name.trim())
    .fetch_optional(pool)
    .await?;
    tenant.ok_or_else(|| AdminError::NotFound(format!("tenant {id_or_name:?}")))
}

/// A new one-time enrolment code for the tenant, valid for `ttl`.
pub async fn create_enrol_code(pool: &PgPool, tenant: &str, ttl: Duration) -> Result<EnrolCode, AdminError> {
    create_code(pool, tenant, ttl, None).await
}

/// A one-time code that lets one revoked device of the tenant connect again ("Connect again"
/// on its Sync screen): under its own id and with the key it registered, it gets a new token,
/// and what it sends from then on is not withheld by its quarantine. No other device can use
/// it.
pub async fn create_replacing_code(
    pool: &PgPool,
    tenant: &str,
    ttl: Duration,
    device_id: &str,
) -> Result<EnrolCode, AdminError> {
    create_code(pool, tenant, ttl, Some(device_id.trim())).await
}

async fn create_code(
    pool: &PgPool,
    tenant: &str,
    ttl: Duration,
    replaces: Option<&str>,
) -> Result<EnrolCode, AdminError> {
    if ttl <= Duration::zero() || ttl > Duration::hours(MAX_CODE_TTL_HOURS) {
        return Err(AdminError::Invalid(format!("a code lives from 1 hour to {MAX_CODE_TTL_HOURS} hours")));
    }
    let tenant = find_tenant(pool, tenant).await?;
    if let Some(device) = replaces {
        let revoked: Option<(bool,)> =
            sqlx::query_as("SELECT revoked_at IS NOT NULL FROM devices WHERE id = $1 AND tenant_id = $2")
                .bind(device)
                .bind(&tenant.id)
                .fetch_optional(pool)
                .await?;
        match revoked {
            None => return Err(AdminError::NotFound(format!("device {device:?} of {}", tenant.name))),
            Some((false,)) => {
                return Err(AdminError::Conflict(format!(
                    "device {device:?} is not revoked: it can sync as it is (revoke it first)"
                )))
            }
            Some((true,)) => {}
        }
    }
    let code = auth::new_enrol_code().map_err(|e| AdminError::Invalid(e.message))?;
    let (expires_at,): (DateTime<Utc>,) = sqlx::query_as(
        "INSERT INTO enrolment_codes (code_hash, tenant_id, expires_at, replaces)
         VALUES ($1, $2, now() + make_interval(secs => $3), $4) RETURNING expires_at",
    )
    .bind(auth::enrol_code_hash(&code).as_slice())
    .bind(&tenant.id)
    .bind(ttl.num_seconds() as f64)
    .bind(replaces)
    .fetch_one(pool)
    .await?;
    Ok(EnrolCode { code, tenant, expires_at })
}

pub async fn list_devices(pool: &PgPool, tenant: &str) -> Result<(Tenant, Vec<DeviceInfo>), AdminError> {
    let tenant = find_tenant(pool, tenant).await?;
    let devices = sqlx::query_as(
        "SELECT id, name, enrolled_at, last_seen_at, last_device_seq, revoked_at, pending_changes
         FROM devices WHERE tenant_id = $1 ORDER BY enrolled_at, id",
    )
    .bind(&tenant.id)
    .fetch_all(pool)
    .await?;
    Ok((tenant, devices))
}

/// Revokes a device: its token stops working at once (next request gets 401 `revoked`).
/// What it pushed before stays: it is part of the tenant's record.
pub async fn revoke_device(pool: &PgPool, device_id: &str) -> Result<Revocation, AdminError> {
    let row: Option<(DateTime<Utc>, bool)> = sqlx::query_as(
        "WITH before AS (SELECT revoked_at FROM devices WHERE id = $1)
         UPDATE devices SET revoked_at = COALESCE(devices.revoked_at, now())
         FROM before WHERE devices.id = $1
         RETURNING devices.revoked_at, before.revoked_at IS NOT NULL",
    )
    .bind(device_id.trim())
    .fetch_optional(pool)
    .await?;
    let (revoked_at, already) = row.ok_or_else(|| AdminError::NotFound(format!("device {device_id:?}")))?;
    Ok(Revocation { device_id: device_id.trim().to_string(), revoked_at, already })
}

/// A change withheld from pulls by a quarantine (`hms-server revoke --quarantine`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WithheldChange {
    pub seq: i64,
    pub entity: String,
    pub entity_id: String,
    pub op: String,
    pub user_id: Option<String>,
    pub received_at: DateTime<Utc>,
}

/// Revokes a device (see [`revoke_device`]) and withholds from every pull what it pushed at or
/// after `since` (kept stored, listed by [`withheld_changes`]). Quarantining again moves the
/// time. Devices that pulled such a change before the quarantine keep it: the list says what
/// to look for there.
pub async fn quarantine_device(pool: &PgPool, device_id: &str, since: DateTime<Utc>) -> Result<Revocation, AdminError> {
    let revocation = revoke_device(pool, device_id).await?;
    // A new window: a device let back in earlier (`readmitted_at`) is withheld again from `since`.
    sqlx::query("UPDATE devices SET quarantined_since = $2, readmitted_at = NULL WHERE id = $1")
        .bind(&revocation.device_id)
        .bind(since)
        .execute(pool)
        .await?;
    Ok(revocation)
}

/// The changes a quarantine withholds from pulls, oldest first.
pub async fn withheld_changes(pool: &PgPool, device_id: &str) -> Result<Vec<WithheldChange>, AdminError> {
    Ok(sqlx::query_as(
        "SELECT c.seq, c.entity, c.entity_id, c.op, c.user_id, c.received_at
         FROM changes c JOIN devices d ON d.id = c.device_id AND d.tenant_id = c.tenant_id
         WHERE c.device_id = $1 AND d.quarantined_since IS NOT NULL AND c.received_at >= d.quarantined_since
           AND (d.readmitted_at IS NULL OR c.received_at < d.readmitted_at)
         ORDER BY c.seq",
    )
    .bind(device_id.trim())
    .fetch_all(pool)
    .await?)
}
