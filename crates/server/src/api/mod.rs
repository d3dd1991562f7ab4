//! The HTTP API: routes, request logging, and extractors that turn malformed requests into
//! the protocol's error body instead of axum's plain-text rejections.

mod audit;
mod blobs;
mod enrol;
mod ops;
mod pull;
mod push;
mod wait;

use crate::error::ApiError;
use crate::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use std::time::Instant;

/// The whole service. Tests and `hms-server serve` build it the same way.
pub fn router(state: AppState) -> Router {
    let body_limit = state.limits.max_body_bytes;
    Router::new()
        .route("/v1/enrol", post(enrol::enrol))
        .route("/v1/push", post(push::push))
        .route("/v1/pull", get(pull::pull))
        .route("/v1/wait", get(wait::wait))
        .route("/v1/audit-head", get(audit::head))
        // Files are larger than any JSON body: their own limit, on this route only.
        .route(
            "/v1/blobs/{sha256}",
            put(blobs::put).get(blobs::get).layer(DefaultBodyLimit::max(blobs::PUT_BODY_LIMIT)),
        )
        .route("/health", get(ops::health))
        .route("/metrics", get(ops::metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), log_requests))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(crate::error::ErrorCode::MethodNotAllowed, "method not allowed on this endpoint")
}

/// One log line a request: method, path (never the query or headers: no tokens in logs),
/// status and time taken.
async fn log_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if status >= 400 {
        state.metrics.requests_refused.inc();
        tracing::warn!(%method, %path, status, ms, "request");
    } else {
        tracing::info!(%method, %path, status, ms, "request");
    }
    response
}

/// A JSON body; malformed, wrongly typed or oversized bodies become [`ApiError`]s.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(json_rejection(rejection, state.limits.max_body_bytes)),
        }
    }
}

fn json_rejection(rejection: JsonRejection, max_body_bytes: usize) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::too_large(format!("the request body is over the limit of {max_body_bytes} bytes"));
    }
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::bad_request("expected a JSON body (Content-Type: application/json)")
        }
        other => ApiError::bad_request(other.body_text()),
    }
}

/// A query string; malformed ones become [`ApiError`]s.
pub struct QueryArgs<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryArgs<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(QueryArgs(value)),
            Err(rejection) => Err(query_rejection(rejection)),
        }
    }
}

fn query_rejection(rejection: QueryRejection) -> ApiError {
    ApiError::bad_request(rejection.body_text())
}

/// Database integers to protocol integers. Sequences are positive by constraint, so the
/// fallback never shows; it only keeps a corrupt row from panicking a request.
pub(crate) fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}
