//! `GET /health` and `GET /metrics`: for load balancers, service managers and Prometheus.

use crate::error::{ApiError, ErrorCode};
use crate::AppState;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::Json;
use hms_protocol::HealthResponse;

/// 200 when the database answers, 503 `unavailable` when it does not.
pub async fn health(State(state): State<AppState>) -> Result<Json<HealthResponse>, ApiError> {
    match state.store.ping().await {
        Ok(_) => Ok(Json(HealthResponse { status: "ok".into() })),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            Err(ApiError::new(ErrorCode::Unavailable, "the database is unreachable"))
        }
    }
}

pub async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let text = state.metrics.render(&state.store).await?;
    Ok(([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text))
}
