//! The server's error type: a stable [`ErrorCode`] plus a message for people. Every handler
//! returns it, and it becomes the HTTP status and `{"code", "message"}` body of the answer.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hms_protocol::ErrorBody;
pub use hms_protocol::{ErrorCode, RefusedChange};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// The refused changes of a `forbidden_change` or `change_too_large` answer.
    pub refused: Vec<RefusedChange>,
    /// Seconds to wait before trying again: the `Retry-After` header of a 429.
    pub retry_after: Option<u64>,
}

pub type ApiResult<T> = std::result::Result<T, ApiError>;

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into(), refused: Vec::new(), retry_after: None }
    }
    /// With a `Retry-After` of `seconds`.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
    /// Some changes of a push refused, each with its reason.
    pub fn refused_changes(code: ErrorCode, refused: Vec<RefusedChange>) -> Self {
        let reasons: std::collections::BTreeSet<&str> = refused.iter().map(|r| r.reason.as_str()).collect();
        let message = format!(
            "{} change(s) refused ({}); nothing of the batch was stored",
            refused.len(),
            reasons.into_iter().collect::<Vec<_>>().join(", ")
        );
        ApiError { code, message, refused, retry_after: None }
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::TooLarge, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }
    pub fn bad_proof(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadProof, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// Database failures: the detail goes to the log, the client gets a generic message (no SQL,
/// no table names). A pool that cannot get a connection means the database is down.
impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                tracing::error!(error = %err, "database unavailable");
                ApiError::new(ErrorCode::Unavailable, "the database is unavailable; retry later")
            }
            // SQLite (the hub) busy past its timeout: another writer held the database too long.
            sqlx::Error::Database(ref db) if sqlite_busy(db.as_ref()) => {
                tracing::error!(error = %err, "database busy");
                ApiError::new(ErrorCode::Unavailable, "the database is busy; retry later")
            }
            other => {
                tracing::error!(error = %other, "database error");
                ApiError::internal("internal error")
            }
        }
    }
}

/// SQLITE_BUSY and its extended codes (BUSY_RECOVERY, BUSY_SNAPSHOT, BUSY_TIMEOUT).
fn sqlite_busy(db: &dyn sqlx::error::DatabaseError) -> bool {
    db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
        && db.code().is_some_and(|c| matches!(c.as_ref(), "5" | "261" | "517" | "773"))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = ErrorBody { code: self.code, message: self.message, refused: self.refused };
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

/// Errors of the administration commands (CLI): what went wrong, for a person to read.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}
