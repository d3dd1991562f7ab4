//! What this device keeps about its enrolment and its last sync (in `meta`), and the status
//! indicator built from it.

use super::client::Client;
use super::{SyncError, SyncResult, SyncState, SyncStatus};
use crate::error::Error;
use crate::store::{device_key, meta, Store};

pub(super) const SERVER_URL_KEY: &str = "sync_server_url";
pub(crate) const TOKEN_KEY: &str = "sync_token";
pub(crate) const TENANT_ID_KEY: &str = "sync_tenant_id";
pub(super) const TENANT_NAME_KEY: &str = "sync_tenant_name";
pub(super) const CURSOR_KEY: &str = "sync_pull_cursor";
pub(super) const LAST_SUCCESS_KEY: &str = "sync_last_success";
pub(super) const LAST_ERROR_KEY: &str = "sync_last_error";
pub(super) const OFFLINE_SINCE_KEY: &str = "sync_offline_since";
pub(super) const AUDIT_QUEUED_KEY: &str = "sync_audit_queued";
/// The server answered that this device is revoked (`401 revoked`): RFC 3339 time it first
/// said so. Cleared by "Connect again" or a new enrolment.
pub(super) const REVOKED_KEY: &str = "sync_revoked";
/// The server's refusal of this device's last attachment upload for the clinic's quota.
pub(super) const BLOB_QUOTA_KEY: &str = "sync_blob_quota";

struct Enrolled {
    server_url: String,
    token: String,
}

async fn enrolled(store: &Store) -> SyncResult<Enrolled> {
    let server_url = meta::get(store.pool(), SERVER_URL_KEY).await?;
    let token = meta::get(store.pool(), TOKEN_KEY).await?;
    match (server_url, token) {
        (Some(server_url), Some(sealed)) => Ok(Enrolled { server_url, token: open_token(store, &sealed).await? }),
        _ => Err(SyncError::NotEnrolled),
    }
}

/// Keeps the device token sealed with the device key file (`store::device_key`), never in clear
/// in `hms.db`.
pub(super) async fn save_token<'c, E>(store: &Store, db: E, token: &str) -> SyncResult<()>
where
    E: sqlx::Executor<'c, Database = sqlx::Sqlite>,
{
    let sealed = device_key::seal_secret(store.device_key(), token)?;
    meta::set(db, TOKEN_KEY, &sealed).await?;
    Ok(())
}

/// The token in clear, for the requests. A token an older version kept in clear is sealed on
/// first use. One that does not open (a database copied beside another key file) is refused as
/// the server would refuse a wrong token.
async fn open_token(store: &Store, kept: &str) -> SyncResult<String> {
    if let Some(token) = device_key::open_secret(store.device_key(), kept) {
        return Ok(token);
    }
    if device_key::is_sealed(kept) {
        return Err(SyncError::Server {
            status: 401,
            code: Some(hms_protocol::ErrorCode::Unauthorized),
            message: "the device token does not open with the key file beside this database".into(),
            retry_after_secs: None,
        });
    }
    save_token(store, store.pool(), kept).await?;
    Ok(kept.to_string())
}

pub(super) async fn client(store: &Store) -> SyncResult<Client> {
    let e = enrolled(store).await?;
    refuse_demo(store).await?;
    Client::new(&e.server_url, Some(e.token))
}

/// Outbox entries the server has not acknowledged yet and that are not set aside.
pub(super) async fn unsent(store: &Store) -> SyncResult<i64> {
    let logged: i64 =
        sqlx::query_scalar("SELECT count(*) FROM change_log WHERE pushed_at IS NULL AND set_aside_at IS NULL")
            .fetch_one(store.pool())
            .await
            .map_err(Error::from)?;
    Ok(logged + crate::store::batches::waiting(store.pool()).await?)
}

/// The sync state for the status indicator.
pub async fn status(store: &Store) -> SyncResult<SyncStatus> {
    let pool = store.pool();
    let server_url = meta::get(pool, SERVER_URL_KEY).await?;
    let enrolled = server_url.is_some() && meta::get(pool, TOKEN_KEY).await?.is_some();
    let pending: i64 = unsent(store).await?;
    let open_conflicts: i64 = sqlx::query_scalar("SELECT count(*) FROM sync_conflicts WHERE resolved = 0")
        .fetch_one(pool)
        .await
        .map_err(Error::from)?;
    let (refused, orphans): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM sync_conflicts WHERE resolved = 0 AND kind = 'refused'),
                (SELECT count(*) FROM sync_orphans)",
    )
    .fetch_one(pool)
    .await
    .map_err(Error::from)?;
    let conflicts_not_kept: i64 =
        meta::get(pool, super::bounds::NOT_KEPT_KEY).await?.and_then(|v| v.parse().ok()).unwrap_or(0);
    let set_aside: i64 = sqlx::query_scalar("SELECT count(*) FROM change_log WHERE set_aside_at IS NOT NULL")
        .fetch_one(pool)
        .await
        .map_err(Error::from)?;
    let last_error = meta::get(pool, LAST_ERROR_KEY).await?;
    let offline_since = meta::get(pool, OFFLINE_SINCE_KEY).await?;
    let state = if !enrolled {
        SyncState::NotEnrolled
    } else if offline_since.is_some() {
        SyncState::Offline
    } else if last_error.is_some() {
        SyncState::Error
    } else if pending > 0 {
        SyncState::Pending
    } else {
        SyncState::Synced
    };
    Ok(SyncStatus {
        state,
        syncing: store.sync_lock().try_lock().is_err(),
        offline_since,
        enrolled,
        server_url,
        tenant_id: meta::get(pool, TENANT_ID_KEY).await?,
        tenant_name: meta::get(pool, TENANT_NAME_KEY).await?,
        device_id: store.device_id().to_string(),
        pending,
        cursor: cursor(store).await?,
        last_success: meta::get(pool, LAST_SUCCESS_KEY).await?,
        last_error,
        open_conflicts,
        refused,
        orphans,
        conflicts_not_kept,
        set_aside,
        clock: super::clock_check::verdict(store).await?,
        blob_quota: meta::get(pool, BLOB_QUOTA_KEY).await?,
        revoked: meta::get(pool, REVOKED_KEY).await?.is_some(),
    })
}

pub(super) async fn cursor(store: &Store) -> SyncResult<u64> {
    Ok(meta::get(store.pool(), CURSOR_KEY).await?.and_then(|s| s.parse().ok()).unwrap_or(0))
}

/// The demo hospital stays home: its records and its published accounts (one password for
/// all, printed in the README) must never reach a clinic's server. Checked before enrolling
/// and before every exchange with a server.
pub(super) async fn refuse_demo(store: &Store) -> SyncResult<()> {
    if crate::audit::holds_demo(store).await? {
        return Err(SyncError::DemoData);
    }
    Ok(())
}
