//! `PUT /v1/blobs/{sha256}` and `GET /v1/blobs/{sha256}`: attachment files, raw bytes,
//! content-addressed per tenant. The record of an attachment syncs as a change; its file is
//! uploaded here once by the device that attached it and fetched by the tenant's others.
//! The tenant comes from the token: a device never sees another tenant's files, even with
//! their hash.

use crate::auth::Device;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::store::Lock;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hms_protocol::MAX_BLOB_BYTES;
use sha2::{Digest, Sha256};

/// The body limit of `PUT`: the largest blob and a little, so that the size check below
/// (with its own message) is what refuses a blob just over the limit.
pub const PUT_BODY_LIMIT: usize = MAX_BLOB_BYTES + 64 * 1024;

/// A blob name: the SHA-256 of its content in lowercase hex.
fn checked_hash(sha256: &str) -> ApiResult<&str> {
    let valid = sha256.len() == 64 && sha256.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if valid {
        Ok(sha256)
    } else {
        Err(ApiError::bad_request("a blob is named by the SHA-256 of its content, 64 lowercase hex characters"))
    }
}

/// Stores a file. Idempotent: a blob the tenant already has is answered the same way.
pub async fn put(
    State(state): State<AppState>,
    device: Device,
    Path(sha256): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    let sha256 = checked_hash(&sha256)?;
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(format!("a file is at most {MAX_BLOB_BYTES} bytes"))
        } else {
            ApiError::bad_request(rejection.body_text())
        }
    })?;
    if bytes.len() > MAX_BLOB_BYTES {
        return Err(ApiError::too_large(format!("a file is at most {MAX_BLOB_BYTES} bytes")));
    }
    if hex::encode(Sha256::digest(&bytes)) != sha256 {
        return Err(ApiError::bad_request("the body's SHA-256 is not the one in the path"));
    }
    let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    // The tenant's quota, checked under its lock so that two uploads cannot both squeeze in.
    let mut tx = state.store.begin(Lock::Blobs(&device.tenant_id)).await?;
    let (held, stored) = tx.blob_usage(&device.tenant_id, sha256).await?;
    let quota = i64::try_from(state.limits.blob_quota_bytes).unwrap_or(i64::MAX);
    if !stored && held.saturating_add(size) > quota {
        tracing::warn!(device = %device.id, tenant = %device.tenant_id, held, size, quota, "blob quota exceeded");
        return Err(ApiError::new(
            ErrorCode::BlobQuotaExceeded,
            format!(
                "the clinic's files on this server would go over its quota of {} MiB ({} MiB held); \
                 the server's administrator can raise it (--blob-quota-gib)",
                quota / (1024 * 1024),
                held / (1024 * 1024)
            ),
        ));
    }
    let created = tx.insert_blob(&device.tenant_id, sha256, bytes.as_ref()).await?;
    tx.commit().await?;
    if created {
        state.metrics.blobs_stored.inc();
    }
    tracing::info!(device = %device.id, tenant = %device.tenant_id, sha256, size, created, "blob put");
    Ok(Json(serde_json::json!({ "sha256": sha256, "created": created })))
}

/// Hands out a file of the device's own tenant; any other is `not_found`.
pub async fn get(State(state): State<AppState>, device: Device, Path(sha256): Path<String>) -> ApiResult<Response> {
    let sha256 = checked_hash(&sha256)?;
    let bytes = state.store.blob(&device.tenant_id, sha256).await?;
    let bytes = bytes.ok_or_else(|| ApiError::not_found("no such file on the server"))?;
    state.metrics.blobs_served.inc();
    tracing::info!(device = %device.id, tenant = %device.tenant_id, sha256, size = bytes.len(), "blob get");
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}
