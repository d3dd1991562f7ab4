//! `GET /v1/wait?after=SEQ&timeout_ms=N`: held open until the device's tenant has a change
//! after `after`, the time is up, or the server begins to stop, so an online device hears of
//! another device's change at once and pulls it.

use super::{to_u64, QueryArgs};
use crate::auth::Device;
use crate::error::ApiResult;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use hms_protocol::{WaitQuery, WaitResponse, MAX_WAIT_MS};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

pub async fn wait(
    State(state): State<AppState>,
    device: Device,
    QueryArgs(query): QueryArgs<WaitQuery>,
) -> ApiResult<Json<WaitResponse>> {
    // At most a few held open per device; the place is freed when this answers or the
    // client goes away (the future is dropped).
    let _open = state.throttle.open_wait(&device.id, state.limits.max_open_waits)?;
    let timeout = Duration::from_millis(query.timeout_ms.unwrap_or(MAX_WAIT_MS).min(MAX_WAIT_MS));
    let deadline = tokio::time::Instant::now() + timeout;
    // Listen before looking, so a push that commits in between is not missed.
    let mut pushed = state.pushed.subscribe();
    let mut stopping = state.stopping.subscribe();
    loop {
        let high_water = to_u64(state.store.high_water(&device.tenant_id).await?);
        if high_water > query.after || *stopping.borrow_and_update() {
            return Ok(Json(WaitResponse { high_water }));
        }
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return Ok(Json(WaitResponse { high_water })),
                _ = stopping.changed() => return Ok(Json(WaitResponse { high_water })),
                got = pushed.recv() => match got {
                    // Another tenant's push: keep waiting without asking the database again.
                    Ok(tenant) if tenant != device.tenant_id => continue,
                    // Ours, or messages missed: look again.
                    Ok(_) | Err(RecvError::Lagged(_)) => break,
                    Err(RecvError::Closed) => return Ok(Json(WaitResponse { high_water })),
                },
            }
        }
    }
}
