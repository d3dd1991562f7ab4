//! The SQLite backend: the clinic hub's SQL (see the module above for the interface).
//!
//! One file, WAL (readers go on while a push writes), one writer at a time: every write
//! transaction is `BEGIN IMMEDIATE` (so a push never fails on a read-to-write upgrade), and
//! a busy timeout lets the others wait their turn. Times are TEXT in [`TIME_FORMAT`], UTC with
//! milliseconds, written by SQLite ([`now_sql`]) or by [`time_text`]: one format, so text order
//! is time order. Given a key ([`super::hub_key`]), the file is encrypted with SQLCipher as the
//! app's store is.

use super::{ChangeRow, UserChange};
use crate::admin::{DeviceInfo, Tenant, WithheldChange};
use chrono::{DateTime, Utc};
use hms_policy::Accounts;
use hms_protocol::Change;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, Transaction};
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

type Tx = Transaction<'static, Sqlite>;
type Result<T> = std::result::Result<T, sqlx::Error>;

/// The format of every time column (chrono's; [`now_sql`] is SQLite's spelling of it).
pub const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";

/// SQLite's current time in [`TIME_FORMAT`], for SQL text.
pub const fn now_sql() -> &'static str {
    "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
}

/// A time as the SQLite columns hold it.
pub fn time_text(t: DateTime<Utc>) -> String {
    t.format(TIME_FORMAT).to_string()
}

/// How long a writer waits for another's transaction before giving up (busy).
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Opens (creating it if needed) the hub's database at `path`: WAL, full sync (an
/// acknowledged push survives a power cut), foreign keys on; encrypted with `key` when given
/// (sqlx runs the `key` pragma first, as SQLCipher needs).
pub async fn open(path: &Path, key: Option<&super::hub_key::HubKey>) -> Result<SqlitePool> {
    // OpenSSL (SQLCipher's crypto) initialised without its exit handler, before SQLCipher's
    // first use would register it: otherwise OpenSSL frees its state at process exit while a
    // connection's thread may still use it (hms_core::allocator::route_sqlite, the same).
    openssl_sys::init();
    let mut options = SqliteConnectOptions::new();
    if let Some(key) = key {
        options = options.pragma("key", key.pragma());
    }
    let options = options
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT);
    SqlitePoolOptions::new().max_connections(8).acquire_timeout(Duration::from_secs(30)).connect_with(options).await
}

/// A write transaction: the database's one writer until it ends.
pub async fn begin(pool: &SqlitePool) -> Result<Tx> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

pub async fn ping(pool: &SqlitePool) -> Result<()> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
}

pub async fn device_token(pool: &SqlitePool, device_id: &str) -> Result<Option<(String, Vec<u8>, bool)>> {
    sqlx::query_as("SELECT tenant_id, token_hash, revoked_at IS NOT NULL FROM devices WHERE id = ?1")
        .bind(device_id)
        .fetch_optional(pool)
        .await
}

/// At most every 30 s, so that a burst of requests does not turn every read into a write.
pub async fn touch_device(pool: &SqlitePool, device_id: &str) -> Result<()> {
    sqlx::query(
        "UPDATE devices SET last_seen_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         WHERE id = ?1 AND (last_seen_at IS NULL OR last_seen_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-30 seconds'))",
    )
    .bind(device_id)
    .execute(pool)
    .await
    .map(|_| ())
}

pub async fn device_key(pool: &SqlitePool, device_id: &str) -> Result<Option<String>> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT public_key FROM devices WHERE id = ?1").bind(device_id).fetch_optional(pool).await?;
    Ok(row.and_then(|(key,)| key))
}

/// The ids go as one JSON array (SQLite has no array parameters).
pub async fn device_keys(pool: &SqlitePool, tenant_id: &str, ids: &[&str]) -> Result<Vec<(String, String)>> {
    let ids = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
    sqlx::query_as(
        "SELECT id, public_key FROM devices
         WHERE tenant_id = ?1 AND id IN (SELECT value FROM json_each(?2)) AND public_key IS NOT NULL",
    )
    .bind(tenant_id)
    .bind(ids)
    .fetch_all(pool)
    .await
}

pub async fn record_pending(pool: &SqlitePool, device_id: &str, pending: i64) -> Result<()> {
    sqlx::query(
        "UPDATE devices SET pending_changes = ?2, pending_reported_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         WHERE id = ?1",
    )
    .bind(device_id)
    .bind(pending)
    .execute(pool)
    .await
    .map(|_| ())
}

/// `data` is the text the device sent; its size is its length in bytes.
pub async fn changes_after(pool: &SqlitePool, tenant_id: &str, after: i64, limit: i64) -> Result<Vec<ChangeRow>> {
    sqlx::query_as(
        "SELECT c.seq, c.device_id, c.device_seq, c.change_id, c.entity, c.entity_id, c.op, c.data, c.hlc,
                c.user_id, c.proof, COALESCE(c.received_at >= d.quarantined_since
                         AND (d.readmitted_at IS NULL OR c.received_at < d.readmitted_at), 0) AS withheld,
                length(CAST(c.data AS BLOB)) AS size
         FROM changes c JOIN devices d ON d.tenant_id = c.tenant_id AND d.id = c.device_id
         WHERE c.tenant_id = ?1 AND c.seq > ?2 ORDER BY c.seq LIMIT ?3",
    )
    .bind(tenant_id)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

const HIGH_WATER: &str = "SELECT COALESCE(max(seq), 0) FROM changes WHERE tenant_id = ?1";

pub async fn high_water(pool: &SqlitePool, tenant_id: &str) -> Result<i64> {
    sqlx::query_scalar(HIGH_WATER).bind(tenant_id).fetch_one(pool).await
}

pub async fn tx_high_water(tx: &mut Tx, tenant_id: &str) -> Result<i64> {
    sqlx::query_scalar(HIGH_WATER).bind(tenant_id).fetch_one(&mut **tx).await
}

pub async fn audit_head(
    pool: &SqlitePool,
    tenant_id: &str,
    device_id: &str,
) -> Result<Option<(Option<i64>, Option<String>)>> {
    sqlx::query_as(
        "SELECT CAST(json_extract(data, '$.seq') AS INTEGER), CAST(json_extract(data, '$.hash') AS TEXT) FROM changes
         WHERE tenant_id = ?1 AND device_id = ?2 AND entity = 'audit_log'
         ORDER BY device_seq DESC LIMIT 1",
    )
    .bind(tenant_id)
    .bind(device_id)
    .fetch_optional(pool)
    .await
}

pub async fn blob(pool: &SqlitePool, tenant_id: &str, sha256: &str) -> Result<Option<Vec<u8>>> {
    sqlx::query_scalar("SELECT bytes FROM blobs WHERE tenant_id = ?1 AND sha256 = ?2")
        .bind(tenant_id)
        .bind(sha256)
        .fetch_optional(pool)
        .await
}

pub async fn gauges(pool: &SqlitePool) -> Result<(i64, i64, i64)> {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM tenants),
                (SELECT count(*) FROM devices WHERE revoked_at IS NULL),
                (SELECT count(*) FROM devices WHERE revoked_at IS NOT NULL)",
    )
    .fetch_one(pool)
    .await
}

pub async fn create_tenant(pool: &SqlitePool, id: &str, name: &str) -> Result<Option<Tenant>> {
    sqlx::query_as(
        "INSERT INTO tenants (id, name) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING
         RETURNING id, name, created_at",
    )
    .bind(id)
    .bind(name)
    .fetch_optional(pool)
    .await
}

pub async fn list_tenants(pool: &SqlitePool) -> Result<Vec<Tenant>> {
    sqlx::query_as("SELECT id, name, created_at FROM tenants ORDER BY created_at, id").fetch_all(pool).await
}

pub async fn find_tenant(pool: &SqlitePool, id_or_name: &str) -> Result<Option<Tenant>> {
    sqlx::query_as(
        "SELECT id, name, created_at FROM tenants WHERE id = ?1
         UNION ALL
         SELECT id, name, created_at FROM tenants WHERE name = ?1 AND id <> ?1
         LIMIT 1",
    )
    .bind(id_or_name)
    .fetch_optional(pool)
    .await
}

pub async fn device_revoked(pool: &SqlitePool, tenant_id: &str, device_id: &str) -> Result<Option<bool>> {
    sqlx::query_scalar("SELECT revoked_at IS NOT NULL FROM devices WHERE id = ?1 AND tenant_id = ?2")
        .bind(device_id)
        .bind(tenant_id)
        .fetch_optional(pool)
        .await
}

pub async fn insert_enrol_code(
    pool: &SqlitePool,
    code_hash: &[u8; 32],
    tenant_id: &str,
    ttl_secs: i64,
    replaces: Option<&str>,
) -> Result<DateTime<Utc>> {
    let expires = Utc::now() + chrono::Duration::seconds(ttl_secs);
    sqlx::query_scalar(
        "INSERT INTO enrolment_codes (code_hash, tenant_id, expires_at, replaces)
         VALUES (?1, ?2, ?3, ?4) RETURNING expires_at",
    )
    .bind(code_hash.as_slice())
    .bind(tenant_id)
    .bind(time_text(expires))
    .bind(replaces)
    .fetch_one(pool)
    .await
}

pub async fn list_devices(pool: &SqlitePool, tenant_id: &str) -> Result<Vec<DeviceInfo>> {
    sqlx::query_as(
        "SELECT id, name, enrolled_at, last_seen_at, last_device_seq, revoked_at, pending_changes
         FROM devices WHERE tenant_id = ?1 ORDER BY enrolled_at, id",
    )
    .bind(tenant_id)
    .fetch_all(pool)
    .await
}

/// In one write transaction: whether it was revoked before, then the revocation.
pub async fn revoke_device(pool: &SqlitePool, device_id: &str) -> Result<Option<(DateTime<Utc>, bool)>> {
    let mut tx = begin(pool).await?;
    let before: Option<bool> = sqlx::query_scalar("SELECT revoked_at IS NOT NULL FROM devices WHERE id = ?1")
        .bind(device_id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(already) = before else {
        return Ok(None);
    };
    let revoked_at: DateTime<Utc> = sqlx::query_scalar(
        "UPDATE devices SET revoked_at = COALESCE(revoked_at, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
         WHERE id = ?1 RETURNING revoked_at",
    )
    .bind(device_id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some((revoked_at, already)))
}

pub async fn set_quarantine(pool: &SqlitePool, device_id: &str, since: DateTime<Utc>) -> Result<()> {
    sqlx::query("UPDATE devices SET quarantined_since = ?2, readmitted_at = NULL WHERE id = ?1")
        .bind(device_id)
        .bind(time_text(since))
        .execute(pool)
        .await
        .map(|_| ())
}

pub async fn withheld_changes(pool: &SqlitePool, device_id: &str) -> Result<Vec<WithheldChange>> {
    sqlx::query_as(
        "SELECT c.seq, c.entity, c.entity_id, c.op, c.user_id, c.received_at
         FROM changes c JOIN devices d ON d.id = c.device_id AND d.tenant_id = c.tenant_id
         WHERE c.device_id = ?1 AND d.quarantined_since IS NOT NULL AND c.received_at >= d.quarantined_since
           AND (d.readmitted_at IS NULL OR c.received_at < d.readmitted_at)
         ORDER BY c.seq",
    )
    .bind(device_id)
    .fetch_all(pool)
    .await
}

// ------------------------------------------------------------------------ in a transaction

/// Stored JSON that does not read back is a corrupt row: a decode error, never a panic.
fn json<T: serde::de::DeserializeOwned>(text: &str, column: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| sqlx::Error::ColumnDecode { index: column.into(), source: Box::new(e) })
}

pub async fn tenant_accounts(tx: &mut Tx, tenant_id: &str) -> Result<Option<(Accounts, i64)>> {
    let row: Option<(String, i64)> =
        sqlx::query_as("SELECT accounts, folded_seq FROM tenant_accounts WHERE tenant_id = ?1")
            .bind(tenant_id)
            .fetch_optional(&mut **tx)
            .await?;
    row.map(|(text, seq)| Ok((json(&text, "accounts")?, seq))).transpose()
}

pub async fn user_changes_after(tx: &mut Tx, tenant_id: &str, seq: i64) -> Result<Vec<UserChange>> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT entity_id, op, data, hlc FROM changes
         WHERE tenant_id = ?1 AND seq > ?2 AND entity = 'users' ORDER BY seq",
    )
    .bind(tenant_id)
    .bind(seq)
    .fetch_all(&mut **tx)
    .await?;
    rows.into_iter().map(|(id, op, data, hlc)| Ok((id, op, json(&data, "data")?, hlc))).collect()
}

pub async fn save_accounts(tx: &mut Tx, tenant_id: &str, accounts: &Accounts, seq: i64) -> Result<()> {
    let text = serde_json::to_string(accounts).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(
        "INSERT INTO tenant_accounts (tenant_id, accounts, folded_seq) VALUES (?1, ?2, ?3)
         ON CONFLICT (tenant_id) DO UPDATE SET accounts = excluded.accounts, folded_seq = excluded.folded_seq",
    )
    .bind(tenant_id)
    .bind(text)
    .bind(seq)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// The batch's range of device seqs, then its own seqs picked out here.
pub async fn stored_seqs(tx: &mut Tx, tenant_id: &str, device_id: &str, seqs: &[i64]) -> Result<HashSet<i64>> {
    Ok(stored_change_ids(tx, tenant_id, device_id, seqs).await?.into_iter().map(|(s, _)| s).collect())
}

pub async fn stored_change_ids(
    tx: &mut Tx,
    tenant_id: &str,
    device_id: &str,
    seqs: &[i64],
) -> Result<Vec<(i64, String)>> {
    let (Some(low), Some(high)) = (seqs.iter().min(), seqs.iter().max()) else {
        return Ok(Vec::new());
    };
    let wanted: HashSet<i64> = seqs.iter().copied().collect();
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT device_seq, change_id FROM changes
         WHERE tenant_id = ?1 AND device_id = ?2 AND device_seq BETWEEN ?3 AND ?4",
    )
    .bind(tenant_id)
    .bind(device_id)
    .bind(low)
    .bind(high)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().filter(|(s, _)| wanted.contains(s)).collect())
}

/// A statement per change, in the batch's order (one prepared statement, one transaction).
pub async fn insert_changes(
    tx: &mut Tx,
    tenant_id: &str,
    device_id: &str,
    changes: &[Change],
    texts: &[String],
) -> Result<HashSet<i64>> {
    let mut inserted = HashSet::with_capacity(changes.len());
    for (c, data) in changes.iter().zip(texts) {
        // Checked by the push's validation.
        let seq = i64::try_from(c.device_seq).unwrap_or(i64::MAX);
        let proof = c.proof.as_ref().map(|p| serde_json::to_string(p).unwrap_or_default());
        let done = sqlx::query(
            "INSERT INTO changes (tenant_id, device_id, device_seq, change_id, entity, entity_id, op, data, hlc,
                                  user_id, proof)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (tenant_id, device_id, device_seq) DO NOTHING",
        )
        .bind(tenant_id)
        .bind(device_id)
        .bind(seq)
        .bind(&c.id)
        .bind(&c.entity)
        .bind(&c.entity_id)
        .bind(c.op.as_str())
        .bind(data)
        .bind(&c.hlc)
        .bind(c.user_id.as_deref())
        .bind(proof)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 1 {
            inserted.insert(seq);
        }
    }
    Ok(inserted)
}

pub async fn raise_device_seq(tx: &mut Tx, tenant_id: &str, device_id: &str, max: i64) -> Result<i64> {
    sqlx::query_scalar(
        "UPDATE devices SET last_device_seq = max(last_device_seq, ?3)
         WHERE id = ?1 AND tenant_id = ?2 RETURNING last_device_seq",
    )
    .bind(device_id)
    .bind(tenant_id)
    .bind(max)
    .fetch_one(&mut **tx)
    .await
}

pub async fn blob_usage(tx: &mut Tx, tenant_id: &str, sha256: &str) -> Result<(i64, bool)> {
    sqlx::query_as("SELECT COALESCE(sum(size), 0), COALESCE(max(sha256 = ?2), 0) FROM blobs WHERE tenant_id = ?1")
        .bind(tenant_id)
        .bind(sha256)
        .fetch_one(&mut **tx)
        .await
}

pub async fn insert_blob(tx: &mut Tx, tenant_id: &str, sha256: &str, bytes: &[u8]) -> Result<bool> {
    let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    let done = sqlx::query(
        "INSERT INTO blobs (tenant_id, sha256, bytes, size) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (tenant_id, sha256) DO NOTHING",
    )
    .bind(tenant_id)
    .bind(sha256)
    .bind(bytes)
    .bind(size)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Atomic under the one writer: of two devices racing with one code, one gets it.
pub async fn spend_code(tx: &mut Tx, code_hash: &[u8; 32]) -> Result<Option<(String, Option<String>)>> {
    sqlx::query_as(
        "UPDATE enrolment_codes SET used_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         RETURNING tenant_id, replaces",
    )
    .bind(code_hash.as_slice())
    .fetch_optional(&mut **tx)
    .await
}

pub async fn code_used_by(tx: &mut Tx, code_hash: &[u8; 32], device_id: &str) -> Result<()> {
    sqlx::query("UPDATE enrolment_codes SET used_by = ?2 WHERE code_hash = ?1")
        .bind(code_hash.as_slice())
        .bind(device_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// The transaction already holds the database's write lock (no `FOR UPDATE` in SQLite).
pub async fn device_for_readmission(tx: &mut Tx, device_id: &str) -> Result<Option<(Option<String>, bool)>> {
    sqlx::query_as("SELECT public_key, revoked_at IS NOT NULL FROM devices WHERE id = ?1")
        .bind(device_id)
        .fetch_optional(&mut **tx)
        .await
}

pub async fn readmit_device(tx: &mut Tx, device_id: &str, token_hash: &[u8; 32], name: Option<&str>) -> Result<()> {
    sqlx::query(
        "UPDATE devices SET token_hash = ?2, revoked_at = NULL,
                readmitted_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), name = COALESCE(?3, name)
         WHERE id = ?1",
    )
    .bind(device_id)
    .bind(token_hash.as_slice())
    .bind(name)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

pub async fn insert_device(
    tx: &mut Tx,
    device_id: &str,
    tenant_id: &str,
    name: &str,
    token_hash: &[u8; 32],
    public_key: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO devices (id, tenant_id, name, token_hash, public_key) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(device_id)
    .bind(tenant_id)
    .bind(name)
    .bind(token_hash.as_slice())
    .bind(public_key)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn tenant_name(tx: &mut Tx, tenant_id: &str) -> Result<String> {
    sqlx::query_scalar("SELECT name FROM tenants WHERE id = ?1").bind(tenant_id).fetch_one(&mut **tx).await
}
