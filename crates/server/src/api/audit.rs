//! `GET /v1/audit-head`: the newest entry of the asking device's own audit chain that the
//! server holds, so the device can tell when its local chain was cut or recomputed.

use crate::auth::Device;
use crate::error::ApiResult;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use hms_protocol::{AuditHead, AuditHeadResponse};

pub async fn head(State(state): State<AppState>, device: Device) -> ApiResult<Json<AuditHeadResponse>> {
    // A device queues its audit entries in chain order, so its newest `audit_log` change is its
    // chain's head as far as the server knows.
    let row = state.store.audit_head(&device.tenant_id, &device.id).await?;
    let head = match row {
        Some((Some(seq), Some(hash))) => u64::try_from(seq).ok().map(|seq| AuditHead { seq, hash }),
        _ => None,
    };
    Ok(Json(AuditHeadResponse { head }))
}
