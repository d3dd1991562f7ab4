//! The PostgreSQL backend: the central server's SQL (see the module above for the interface).

use super::{ChangeRow, Lock, UserChange};
use crate::admin::{DeviceInfo, Tenant, WithheldChange};
use chrono::{DateTime, Utc};
use hms_policy::Accounts;
use hms_protocol::Change;
use sqlx::postgres::PgPool;
use sqlx::types::Json as SqlJson;
use sqlx::{Postgres, Transaction};
use std::collections::HashSet;

type Tx = Transaction<'static, Postgres>;
type Result<T> = std::result::Result<T, sqlx::Error>;

/// A transaction holding the lock asked for. Pushes of one tenant are serialised: server
/// sequences are handed out at insert time but become visible at commit; without the lock two
/// concurrent pushes could commit out of order and a pull in between would move its cursor
/// past a sequence that appears later, losing it. (Other tenants are not held up.) Blob uploads
/// of one tenant are serialised so that two cannot both squeeze under its quota.
pub async fn begin(pool: &PgPool, lock: Lock<'_>) -> Result<Tx> {
    let mut tx = pool.begin().await?;
    let key = match lock {
        Lock::None => None,
        Lock::Pushes(tenant) => Some((tenant, 0)),
        Lock::Blobs(tenant) => Some((tenant, 1)),
    };
    if let Some((tenant, space)) = key {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, $2))")
            .bind(tenant)
            .bind(space as i64)
            .execute(&mut *tx)
            .await?;
    }
    Ok(tx)
}

pub async fn ping(pool: &PgPool) -> Result<()> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
}

pub async fn device_token(pool: &PgPool, device_id: &str) -> Result<Option<(String, Vec<u8>, bool)>> {
    sqlx::query_as("SELECT tenant_id, token_hash, revoked_at IS NOT NULL FROM devices WHERE id = $1")
        .bind(device_id)
        .fetch_optional(pool)
        .await
}

/// At most every 30 s, so that a burst of requests does not turn every read into a write.
pub async fn touch_device(pool: &PgPool, device_id: &str) -> Result<()> {
    sqlx::query(
        "UPDATE devices SET last_seen_at = now()
         WHERE id = $1 AND (last_seen_at IS NULL OR last_seen_at < now() - interval '30 seconds')",
    )
    .bind(device_id)
    .execute(pool)
    .await
    .map(|_| ())
}

pub async fn device_key(pool: &PgPool, device_id: &str) -> Result<Option<String>> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT public_key FROM devices WHERE id = $1").bind(device_id).fetch_optional(pool).await?;
    Ok(row.and_then(|(key,)| key))
}

pub async fn device_keys(pool: &PgPool, tenant_id: &str, ids: &[&str]) -> Result<Vec<(String, String)>> {
    sqlx::query_as(
        "SELECT id, public_key FROM devices WHERE tenant_id = $1 AND id = ANY($2) AND public_key IS NOT NULL",
    )
    .bind(tenant_id)
    .bind(ids)
    .fetch_all(pool)
    .await
}

pub async fn record_pending(pool: &PgPool, device_id: &str, pending: i64) -> Result<()> {
    sqlx::query("UPDATE devices SET pending_changes = $2, pending_reported_at = now() WHERE id = $1")
        .bind(device_id)
        .bind(pending)
        .execute(pool)
        .await
        .map(|_| ())
}

/// `data::text` is PostgreSQL's writing of the jsonb; `pg_column_size` its stored size.
pub async fn changes_after(pool: &PgPool, tenant_id: &str, after: i64, limit: i64) -> Result<Vec<ChangeRow>> {
    sqlx::query_as(
        "SELECT c.seq, c.device_id, c.device_seq, c.change_id, c.entity, c.entity_id, c.op, c.data::text AS data, c.hlc,
                c.user_id, c.proof::text AS proof, COALESCE(c.received_at >= d.quarantined_since
                         AND (d.readmitted_at IS NULL OR c.received_at < d.readmitted_at), false) AS withheld,
                pg_column_size(c.data)::bigint AS size
         FROM changes c JOIN devices d ON d.tenant_id = c.tenant_id AND d.id = c.device_id
         WHERE c.tenant_id = $1 AND c.seq > $2 ORDER BY c.seq LIMIT $3",
    )
    .bind(tenant_id)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

const HIGH_WATER: &str = "SELECT COALESCE(max(seq), 0) FROM changes WHERE tenant_id = $1";

pub async fn high_water(pool: &PgPool, tenant_id: &str) -> Result<i64> {
    sqlx::query_scalar(HIGH_WATER).bind(tenant_id).fetch_one(pool).await
}

pub async fn tx_high_water(tx: &mut Tx, tenant_id: &str) -> Result<i64> {
    sqlx::query_scalar(HIGH_WATER).bind(tenant_id).fetch_one(&mut **tx).await
}

pub async fn audit_head(
    pool: &PgPool,
    tenant_id: &str,
    device_id: &str,
) -> Result<Option<(Option<i64>, Option<String>)>> {
    sqlx::query_as(
        "SELECT (data->>'seq')::bigint, data->>'hash' FROM changes
         WHERE tenant_id = $1 AND device_id = $2 AND entity = 'audit_log'
         ORDER BY device_seq DESC LIMIT 1",
    )
    .bind(tenant_id)
    .bind(device_id)
    .fetch_optional(pool)
    .await
}

pub async fn blob(pool: &PgPool, tenant_id: &str, sha256: &str) -> Result<Option<Vec<u8>>> {
    sqlx::query_scalar("SELECT bytes FROM blobs WHERE tenant_id = $1 AND sha256 = $2")
        .bind(tenant_id)
        .bind(sha256)
        .fetch_optional(pool)
        .await
}

pub async fn gauges(pool: &PgPool) -> Result<(i64, i64, i64)> {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM tenants),
                (SELECT count(*) FROM devices WHERE revoked_at IS NULL),
                (SELECT count(*) FROM devices WHERE revoked_at IS NOT NULL)",
    )
    .fetch_one(pool)
    .await
}

pub async fn create_tenant(pool: &PgPool, id: &str, name: &str) -> Result<Option<Tenant>> {
    sqlx::query_as(
        "INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING
         RETURNING id, name, created_at",
    )
    .bind(id)
    .bind(name)
    .fetch_optional(pool)
    .await
}

pub async fn list_tenants(pool: &PgPool) -> Result<Vec<Tenant>> {
    sqlx::query_as("SELECT id, name, created_at FROM tenants ORDER BY created_at").fetch_all(pool).await
}

pub async fn find_tenant(pool: &PgPool, id_or_name: &str) -> Result<Option<Tenant>> {
    sqlx::query_as(
        "SELECT id, name, created_at FROM tenants WHERE id = $1
         UNION ALL
         SELECT id, name, created_at FROM tenants WHERE name = $1 AND id <> $1
         LIMIT 1",
    )
    .bind(id_or_name)
    .fetch_optional(pool)
    .await
}

pub async fn device_revoked(pool: &PgPool, tenant_id: &str, device_id: &str) -> Result<Option<bool>> {
    sqlx::query_scalar("SELECT revoked_at IS NOT NULL FROM devices WHERE id = $1 AND tenant_id = $2")
        .bind(device_id)
        .bind(tenant_id)
        .fetch_optional(pool)
        .await
}

pub async fn insert_enrol_code(
    pool: &PgPool,
    code_hash: &[u8; 32],
    tenant_id: &str,
    ttl_secs: i64,
    replaces: Option<&str>,
) -> Result<DateTime<Utc>> {
    sqlx::query_scalar(
        "INSERT INTO enrolment_codes (code_hash, tenant_id, expires_at, replaces)
         VALUES ($1, $2, now() + make_interval(secs => $3), $4) RETURNING expires_at",
    )
    .bind(code_hash.as_slice())
    .bind(tenant_id)
    .bind(ttl_secs as f64)
    .bind(replaces)
    .fetch_one(pool)
    .await
}

pub async fn list_devices(pool: &PgPool, tenant_id: &str) -> Result<Vec<DeviceInfo>> {
    sqlx::query_as(
        "SELECT id, name, enrolled_at, last_seen_at, last_device_seq, revoked_at, pending_changes
         FROM devices WHERE tenant_id = $1 ORDER BY enrolled_at, id",
    )
    .bind(tenant_id)
    .fetch_all(pool)
    .await
}

pub async fn revoke_device(pool: &PgPool, device_id: &str) -> Result<Option<(DateTime<Utc>, bool)>> {
    sqlx::query_as(
        "WITH before AS (SELECT revoked_at FROM devices WHERE id = $1)
         UPDATE devices SET revoked_at = COALESCE(devices.revoked_at, now())
         FROM before WHERE devices.id = $1
         RETURNING devices.revoked_at, before.revoked_at IS NOT NULL",
    )
    .bind(device_id)
    .fetch_optional(pool)
    .await
}

/// A new window: a device let back in earlier (`readmitted_at`) is withheld again from `since`.
pub async fn set_quarantine(pool: &PgPool, device_id: &str, since: DateTime<Utc>) -> Result<()> {
    sqlx::query("UPDATE devices SET quarantined_since = $2, readmitted_at = NULL WHERE id = $1")
        .bind(device_id)
        .bind(since)
        .execute(pool)
        .await
        .map(|_| ())
}

pub async fn withheld_changes(pool: &PgPool, device_id: &str) -> Result<Vec<WithheldChange>> {
    sqlx::query_as(
        "SELECT c.seq, c.entity, c.entity_id, c.op, c.user_id, c.received_at
         FROM changes c JOIN devices d ON d.id = c.device_id AND d.tenant_id = c.tenant_id
         WHERE c.device_id = $1 AND d.quarantined_since IS NOT NULL AND c.received_at >= d.quarantined_since
           AND (d.readmitted_at IS NULL OR c.received_at < d.readmitted_at)
         ORDER BY c.seq",
    )
    .bind(device_id)
    .fetch_all(pool)
    .await
}

// ------------------------------------------------------------------------ in a transaction

pub async fn tenant_accounts(tx: &mut Tx, tenant_id: &str) -> Result<Option<(Accounts, i64)>> {
    let row: Option<(SqlJson<Accounts>, i64)> =
        sqlx::query_as("SELECT accounts, folded_seq FROM tenant_accounts WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row.map(|(a, s)| (a.0, s)))
}

pub async fn user_changes_after(tx: &mut Tx, tenant_id: &str, seq: i64) -> Result<Vec<UserChange>> {
    let rows: Vec<(String, String, SqlJson<serde_json::Value>, String)> = sqlx::query_as(
        "SELECT entity_id, op, data, hlc FROM changes
         WHERE tenant_id = $1 AND seq > $2 AND entity = 'users' ORDER BY seq",
    )
    .bind(tenant_id)
    .bind(seq)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|(id, op, data, hlc)| (id, op, data.0, hlc)).collect())
}

pub async fn save_accounts(tx: &mut Tx, tenant_id: &str, accounts: &Accounts, seq: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO tenant_accounts (tenant_id, accounts, folded_seq) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id) DO UPDATE SET accounts = excluded.accounts, folded_seq = excluded.folded_seq",
    )
    .bind(tenant_id)
    .bind(SqlJson(accounts))
    .bind(seq)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// The range bounds the index scan to the batch's own sequences; `= ANY` alone let the planner
/// of a table without statistics yet (a new tenant's first pushes) scan every change of the
/// device and compare each with every sequence of the batch.
pub async fn stored_seqs(tx: &mut Tx, tenant_id: &str, device_id: &str, seqs: &[i64]) -> Result<HashSet<i64>> {
    let (Some(low), Some(high)) = (seqs.iter().min(), seqs.iter().max()) else {
        return Ok(HashSet::new());
    };
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT device_seq FROM changes
         WHERE tenant_id = $1 AND device_id = $2 AND device_seq BETWEEN $4 AND $5 AND device_seq = ANY($3)",
    )
    .bind(tenant_id)
    .bind(device_id)
    .bind(seqs)
    .bind(low)
    .bind(high)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|(s,)| s).collect())
}

pub async fn stored_change_ids(
    tx: &mut Tx,
    tenant_id: &str,
    device_id: &str,
    seqs: &[i64],
) -> Result<Vec<(i64, String)>> {
    sqlx::query_as(
        "SELECT device_seq, change_id FROM changes
         WHERE tenant_id = $1 AND device_id = $2 AND device_seq = ANY($3)",
    )
    .bind(tenant_id)
    .bind(device_id)
    .bind(seqs)
    .fetch_all(&mut **tx)
    .await
}

/// One statement for the whole batch (arrays unnested in the batch's order).
pub async fn insert_changes(
    tx: &mut Tx,
    tenant_id: &str,
    device_id: &str,
    changes: &[Change],
    texts: &[String],
) -> Result<HashSet<i64>> {
    let mut seqs = Vec::with_capacity(changes.len());
    let mut ids = Vec::with_capacity(changes.len());
    let mut entities = Vec::with_capacity(changes.len());
    let mut entity_ids = Vec::with_capacity(changes.len());
    let mut ops = Vec::with_capacity(changes.len());
    let mut hlcs = Vec::with_capacity(changes.len());
    let mut users = Vec::with_capacity(changes.len());
    let mut proofs = Vec::with_capacity(changes.len());
    for c in changes {
        // Checked by the push's validation.
        seqs.push(i64::try_from(c.device_seq).unwrap_or(i64::MAX));
        ids.push(c.id.as_str());
        entities.push(c.entity.as_str());
        entity_ids.push(c.entity_id.as_str());
        ops.push(c.op.as_str());
        hlcs.push(c.hlc.as_str());
        users.push(c.user_id.as_deref());
        proofs.push(c.proof.as_ref().map(|p| serde_json::to_string(p).unwrap_or_default()));
    }
    let rows: Vec<(i64,)> = sqlx::query_as(
        "INSERT INTO changes (tenant_id, device_id, device_seq, change_id, entity, entity_id, op, data, hlc, user_id, proof)
         SELECT $1, $2, t.device_seq, t.change_id, t.entity, t.entity_id, t.op, t.data::jsonb, t.hlc, t.user_id,
                t.proof::jsonb
         FROM UNNEST($3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                     $11::text[])
              WITH ORDINALITY AS t(device_seq, change_id, entity, entity_id, op, data, hlc, user_id, proof, ord)
         ORDER BY t.ord
         ON CONFLICT (tenant_id, device_id, device_seq) DO NOTHING
         RETURNING device_seq",
    )
    .bind(tenant_id)
    .bind(device_id)
    .bind(&seqs)
    .bind(&ids)
    .bind(&entities)
    .bind(&entity_ids)
    .bind(&ops)
    .bind(texts)
    .bind(&hlcs)
    .bind(&users)
    .bind(&proofs)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|(s,)| s).collect())
}

pub async fn raise_device_seq(tx: &mut Tx, tenant_id: &str, device_id: &str, max: i64) -> Result<i64> {
    sqlx::query_scalar(
        "UPDATE devices SET last_device_seq = GREATEST(last_device_seq, $3)
         WHERE id = $1 AND tenant_id = $2 RETURNING last_device_seq",
    )
    .bind(device_id)
    .bind(tenant_id)
    .bind(max)
    .fetch_one(&mut **tx)
    .await
}

pub async fn blob_usage(tx: &mut Tx, tenant_id: &str, sha256: &str) -> Result<(i64, bool)> {
    sqlx::query_as(
        "SELECT COALESCE(sum(size), 0)::bigint, COALESCE(bool_or(sha256 = $2), false) FROM blobs WHERE tenant_id = $1",
    )
    .bind(tenant_id)
    .bind(sha256)
    .fetch_one(&mut **tx)
    .await
}

pub async fn insert_blob(tx: &mut Tx, tenant_id: &str, sha256: &str, bytes: &[u8]) -> Result<bool> {
    let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    let done = sqlx::query(
        "INSERT INTO blobs (tenant_id, sha256, bytes, size) VALUES ($1, $2, $3, $4)
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

/// Atomic: of two devices racing with one code, one gets it.
pub async fn spend_code(tx: &mut Tx, code_hash: &[u8; 32]) -> Result<Option<(String, Option<String>)>> {
    sqlx::query_as(
        "UPDATE enrolment_codes SET used_at = now()
         WHERE code_hash = $1 AND used_at IS NULL AND expires_at > now()
         RETURNING tenant_id, replaces",
    )
    .bind(code_hash.as_slice())
    .fetch_optional(&mut **tx)
    .await
}

pub async fn code_used_by(tx: &mut Tx, code_hash: &[u8; 32], device_id: &str) -> Result<()> {
    sqlx::query("UPDATE enrolment_codes SET used_by = $2 WHERE code_hash = $1")
        .bind(code_hash.as_slice())
        .bind(device_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

pub async fn device_for_readmission(tx: &mut Tx, device_id: &str) -> Result<Option<(Option<String>, bool)>> {
    sqlx::query_as("SELECT public_key, revoked_at IS NOT NULL FROM devices WHERE id = $1 FOR UPDATE")
        .bind(device_id)
        .fetch_optional(&mut **tx)
        .await
}

pub async fn readmit_device(tx: &mut Tx, device_id: &str, token_hash: &[u8; 32], name: Option<&str>) -> Result<()> {
    sqlx::query(
        "UPDATE devices SET token_hash = $2, revoked_at = NULL, readmitted_at = now(), name = COALESCE($3, name)
         WHERE id = $1",
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
        "INSERT INTO devices (id, tenant_id, name, token_hash, public_key) VALUES ($1, $2, $3, $4, $5)
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
    sqlx::query_scalar("SELECT name FROM tenants WHERE id = $1").bind(tenant_id).fetch_one(&mut **tx).await
}
