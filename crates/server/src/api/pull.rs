//! `GET /v1/pull?after=SEQ&limit=N`: the device's tenant's changes after a server sequence.

use super::push::tenant_high_water;
use super::{to_u64, QueryArgs};
use crate::auth::Device;
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use hms_protocol::proof::SEGMENT_MAX;
use hms_protocol::{Change, Op, Proof, PullQuery, PullResponse, PulledChange, DEFAULT_PULL_LIMIT};
use sqlx::types::Json as SqlJson;
use std::collections::BTreeMap;

#[derive(sqlx::FromRow)]
struct Row {
    seq: i64,
    device_id: String,
    device_seq: i64,
    change_id: String,
    entity: String,
    entity_id: String,
    op: String,
    data: SqlJson<serde_json::Value>,
    hlc: String,
    user_id: Option<String>,
    proof: Option<SqlJson<Proof>>,
    /// Pushed by a quarantined device after its quarantine began: scanned, never sent.
    withheld: bool,
    /// The change's data as PostgreSQL stores it, in bytes (`pg_column_size`): what the
    /// page's byte cap counts.
    size: i32,
}

pub async fn pull(
    State(state): State<AppState>,
    device: Device,
    QueryArgs(query): QueryArgs<PullQuery>,
) -> ApiResult<Json<PullResponse>> {
    let after =
        i64::try_from(query.after).map_err(|_| ApiError::bad_request(format!("after must be at most {}", i64::MAX)))?;
    let limit = match query.limit.unwrap_or(DEFAULT_PULL_LIMIT) {
        0 => return Err(ApiError::bad_request("limit must be at least 1")),
        n => n.min(state.limits.max_pull_limit),
    };
    // The tenant comes from the token; one row more than asked tells whether more follow.
    let mut rows = rows_after(&state.pool, &device.tenant_id, after, i64::from(limit) + 1).await?;
    let mut more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    // Capped in bytes too: the page ends early (at the end of the segment it reaches, below),
    // and the device pulls again from there. The first change always goes.
    let mut bytes = 0usize;
    if let Some(over) = rows.iter().position(|r| {
        bytes += usize::try_from(r.size).unwrap_or(0);
        bytes > state.limits.max_pull_page_bytes
    }) {
        rows.truncate(over.max(1));
        more = true;
    }
    // A page ends at the end of a segment, so that the device can check its proof whole.
    // (A push stores a segment's changes together, so they follow each other here.)
    if let Some(last) = rows.last().filter(|r| more && r.proof.is_none()) {
        let tail = rows_after(&state.pool, &device.tenant_id, last.seq, SEGMENT_MAX as i64 + 1).await?;
        let end = tail.iter().position(|r| r.proof.is_some()).map_or(tail.len().min(SEGMENT_MAX), |i| i + 1);
        more = tail.len() > end;
        rows.extend(tail.into_iter().take(end));
    }
    let device_keys = device_keys(&state.pool, &device.tenant_id, &rows).await?;
    let high_water = tenant_high_water(&state.pool, &device.tenant_id).await?;
    if let Some(pending) = query.pending {
        record_pending(&state.pool, &device.id, pending).await?;
    }

    // The cursor moves past withheld changes too, so a device never asks for them again.
    let next = rows.last().map_or(query.after, |r| to_u64(r.seq));
    let changes = rows.into_iter().filter(|r| !r.withheld).map(pulled).collect::<ApiResult<Vec<_>>>()?;
    state.metrics.pulls.inc();
    state.metrics.changes_pulled.add(changes.len() as u64);
    tracing::info!(device = %device.id, tenant = %device.tenant_id, after = query.after, count = changes.len(), more, "pull");
    Ok(Json(PullResponse { changes, next, more, high_water, device_keys, clock: Some(state.clock()) }))
}

async fn rows_after(pool: &sqlx::PgPool, tenant_id: &str, after: i64, limit: i64) -> ApiResult<Vec<Row>> {
    Ok(sqlx::query_as(
        "SELECT c.seq, c.device_id, c.device_seq, c.change_id, c.entity, c.entity_id, c.op, c.data, c.hlc, c.user_id,
                c.proof, COALESCE(c.received_at >= d.quarantined_since
                         AND (d.readmitted_at IS NULL OR c.received_at < d.readmitted_at), false) AS withheld,
                pg_column_size(c.data) AS size
         FROM changes c JOIN devices d ON d.tenant_id = c.tenant_id AND d.id = c.device_id
         WHERE c.tenant_id = $1 AND c.seq > $2 ORDER BY c.seq LIMIT $3",
    )
    .bind(tenant_id)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// The registered public key of each device with changes on the page.
async fn device_keys(pool: &sqlx::PgPool, tenant_id: &str, rows: &[Row]) -> ApiResult<BTreeMap<String, String>> {
    let mut ids: Vec<&str> = rows.iter().map(|r| r.device_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let keys: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, public_key FROM devices WHERE tenant_id = $1 AND id = ANY($2) AND public_key IS NOT NULL",
    )
    .bind(tenant_id)
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    Ok(keys.into_iter().collect())
}

fn pulled(row: Row) -> ApiResult<PulledChange> {
    let op = Op::parse(&row.op).ok_or_else(|| {
        tracing::error!(seq = row.seq, op = %row.op, "stored change with an unknown op");
        ApiError::internal("internal error")
    })?;
    Ok(PulledChange {
        server_seq: to_u64(row.seq),
        change: Change {
            id: row.change_id,
            device_id: row.device_id,
            device_seq: to_u64(row.device_seq),
            entity: row.entity,
            entity_id: row.entity_id,
            op,
            data: row.data.0,
            hlc: row.hlc,
            user_id: row.user_id,
            proof: row.proof.map(|p| p.0),
        },
    })
}

/// What the device says it still has to send, for `hms-server devices`.
async fn record_pending(pool: &sqlx::PgPool, device_id: &str, pending: u64) -> ApiResult<()> {
    sqlx::query("UPDATE devices SET pending_changes = $2, pending_reported_at = now() WHERE id = $1")
        .bind(device_id)
        .bind(i64::try_from(pending).unwrap_or(i64::MAX))
        .execute(pool)
        .await?;
    Ok(())
}
