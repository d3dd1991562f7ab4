//! Administration on the server's machine: tenants, enrolment codes, devices, revocation.
//! The CLI (`hms-server tenant create`, `enrol-code [--replaces DEVICE]`, `devices`, `revoke`)
//! calls these, on either storage backend: each takes anything that is or makes a
//! [`Storage`] (a `&Storage`, a `&PgPool`).

use crate::auth;
use crate::error::AdminError;
use crate::store::Storage;
use chrono::{DateTime, Duration, Utc};

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

pub async fn create_tenant(store: impl Into<Storage>, name: &str) -> Result<Tenant, AdminError> {
    let store = store.into();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AdminError::Invalid("a tenant name has 1 to 200 characters".into()));
    }
    let tenant = store.create_tenant(&uuid::Uuid::now_v7().to_string(), name).await?;
    tenant.ok_or_else(|| AdminError::Conflict(format!("a tenant named {name:?} already exists")))
}

pub async fn list_tenants(store: impl Into<Storage>) -> Result<Vec<Tenant>, AdminError> {
    Ok(store.into().list_tenants().await?)
}

/// A tenant by id or, failing that, by exact name.
pub async fn find_tenant(store: impl Into<Storage>, id_or_name: &str) -> Result<Tenant, AdminError> {
    let tenant = store.into().find_tenant(id_or_name.trim()).await?;
    tenant.ok_or_else(|| AdminError::NotFound(format!("tenant {id_or_name:?}")))
}

/// A new one-time enrolment code for the tenant, valid for `ttl`.
pub async fn create_enrol_code(
    store: impl Into<Storage>,
    tenant: &str,
    ttl: Duration,
) -> Result<EnrolCode, AdminError> {
    create_code(&store.into(), tenant, ttl, None).await
}

/// A one-time code that lets one revoked device of the tenant connect again ("Connect again"
/// on its Sync screen): under its own id and with the key it registered, it gets a new token,
/// and what it sends from then on is not withheld by its quarantine. No other device can use
/// it.
pub async fn create_replacing_code(
    store: impl Into<Storage>,
    tenant: &str,
    ttl: Duration,
    device_id: &str,
) -> Result<EnrolCode, AdminError> {
    create_code(&store.into(), tenant, ttl, Some(device_id.trim())).await
}

async fn create_code(
    store: &Storage,
    tenant: &str,
    ttl: Duration,
    replaces: Option<&str>,
) -> Result<EnrolCode, AdminError> {
    if ttl <= Duration::zero() || ttl > Duration::hours(MAX_CODE_TTL_HOURS) {
        return Err(AdminError::Invalid(format!("a code lives from 1 hour to {MAX_CODE_TTL_HOURS} hours")));
    }
    let tenant = find_tenant(store, tenant).await?;
    if let Some(device) = replaces {
        match store.device_revoked(&tenant.id, device).await? {
            None => return Err(AdminError::NotFound(format!("device {device:?} of {}", tenant.name))),
            Some(false) => {
                return Err(AdminError::Conflict(format!(
                    "device {device:?} is not revoked: it can sync as it is (revoke it first)"
                )))
            }
            Some(true) => {}
        }
    }
    let code = auth::new_enrol_code().map_err(|e| AdminError::Invalid(e.message))?;
    let expires_at =
        store.insert_enrol_code(&auth::enrol_code_hash(&code), &tenant.id, ttl.num_seconds(), replaces).await?;
    Ok(EnrolCode { code, tenant, expires_at })
}

pub async fn list_devices(store: impl Into<Storage>, tenant: &str) -> Result<(Tenant, Vec<DeviceInfo>), AdminError> {
    let store = store.into();
    let tenant = find_tenant(&store, tenant).await?;
    let devices = store.list_devices(&tenant.id).await?;
    Ok((tenant, devices))
}

/// Revokes a device: its token stops working at once (next request gets 401 `revoked`).
/// What it pushed before stays: it is part of the tenant's record.
pub async fn revoke_device(store: impl Into<Storage>, device_id: &str) -> Result<Revocation, AdminError> {
    let row = store.into().revoke_device(device_id.trim()).await?;
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
pub async fn quarantine_device(
    store: impl Into<Storage>,
    device_id: &str,
    since: DateTime<Utc>,
) -> Result<Revocation, AdminError> {
    let store = store.into();
    let revocation = revoke_device(&store, device_id).await?;
    // A new window: a device let back in earlier (`readmitted_at`) is withheld again from `since`.
    store.set_quarantine(&revocation.device_id, since).await?;
    Ok(revocation)
}

/// The changes a quarantine withholds from pulls, oldest first.
pub async fn withheld_changes(store: impl Into<Storage>, device_id: &str) -> Result<Vec<WithheldChange>, AdminError> {
    Ok(store.into().withheld_changes(device_id.trim()).await?)
}
