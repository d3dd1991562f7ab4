//! The sync's errors and what it reports: the status indicator, the outcome of a push, a pull
//! and a whole sync, and progress while one runs.

use crate::error::Error;
use hms_protocol::ErrorCode;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    App(#[from] Error),
    #[error("this device is not enrolled with a sync server")]
    NotEnrolled,
    #[error("this device holds the demo hospital, which never syncs with a server")]
    DemoData,
    #[error("invalid server address: {0}")]
    InvalidUrl(String),
    #[error("cannot reach the sync server: {0}")]
    Network(String),
    #[error("the sync server refused the request ({status}): {message}")]
    Server {
        status: u16,
        code: Option<ErrorCode>,
        message: String,
        /// The answer's `Retry-After`, in seconds (a 429): the background sync waits that long.
        retry_after_secs: Option<u64>,
    },
    #[error("sync protocol error: {0}")]
    Protocol(String),
    /// A local constraint refused a pulled change. Only inside a merge: the change is then
    /// kept as a conflict, and pull never answers this.
    #[error("a local rule refused the change: {0}")]
    Constraint(String),
}

impl From<SyncError> for Error {
    fn from(e: SyncError) -> Error {
        use crate::error::SyncFailure;
        let failure = match &e {
            SyncError::App(inner) => return inner.clone(),
            SyncError::NotEnrolled => SyncFailure::NotEnrolled,
            SyncError::DemoData => SyncFailure::DemoData,
            SyncError::InvalidUrl(_) => {
                return Error::validation("server_url", crate::error::ValidationReason::Invalid, e.to_string())
            }
            SyncError::Network(_) => SyncFailure::Offline,
            SyncError::Server { code: Some(ErrorCode::Revoked), .. } => SyncFailure::Revoked,
            SyncError::Server { code: Some(ErrorCode::Unauthorized), .. } => SyncFailure::Unauthorized,
            SyncError::Server { .. } => SyncFailure::Server,
            SyncError::Protocol(_) | SyncError::Constraint(_) => SyncFailure::Protocol,
        };
        Error::Sync { failure, message: e.to_string() }
    }
}

pub type SyncResult<T> = std::result::Result<T, SyncError>;

/// The one-word state of the status indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// Not enrolled with a server: sync is off.
    NotEnrolled,
    /// Everything sent, nothing failed.
    Synced,
    /// `pending` changes wait to be sent.
    Pending,
    /// The server could not be reached since `offline_since`.
    Offline,
    /// The last sync failed for another reason: `last_error`.
    Error,
}

/// What the status indicator shows. Never the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct SyncStatus {
    pub state: SyncState,
    /// A sync is running now.
    pub syncing: bool,
    /// RFC 3339 time of the first failed attempt to reach the server, while it stays unreachable.
    pub offline_since: Option<String>,
    pub enrolled: bool,
    pub server_url: Option<String>,
    pub tenant_id: Option<String>,
    pub tenant_name: Option<String>,
    pub device_id: String,
    /// Outbox entries not yet acknowledged by the server.
    #[specta(type = f64)]
    pub pending: i64,
    /// The last server sequence applied (the pull cursor).
    #[specta(type = f64)]
    pub cursor: u64,
    /// RFC 3339 time of the last sync that pushed and pulled without error.
    pub last_success: Option<String>,
    /// The last sync's error, cleared by a successful sync.
    pub last_error: Option<String>,
    /// Conflict records not resolved yet.
    #[specta(type = f64)]
    pub open_conflicts: i64,
    /// Of the open conflicts, changes refused (by the server for this device's own, or by
    /// this device's checks for another's).
    #[specta(type = f64)]
    pub refused: i64,
    /// Pulled updates waiting for their row's insert (`sync_orphans`), at most
    /// `bounds::MAX_ORPHANS`.
    #[specta(type = f64)]
    pub orphans: i64,
    /// Conflicts not kept because their device already had `bounds::MAX_OPEN_CONFLICTS_PER_DEVICE`
    /// unresolved ones (each counted in its pull's audit entry); back to 0 at the first pull
    /// after the inbox is below the cap again.
    #[specta(type = f64)]
    pub conflicts_not_kept: i64,
    /// Outbox entries set aside because the server refused them for good (each refused change
    /// with the rest of its segment); the refusals are among the conflicts.
    #[specta(type = f64)]
    pub set_aside: i64,
    /// This device's clock against the server's, as last compared; `None` before the first
    /// sync that could compare them. The Sync screen warns when it is not `right`.
    pub clock: Option<ClockCheck>,
    /// The server refused this device's attachment files: the clinic's files are over its
    /// quota (`blob_quota_exceeded`, the server's message). The files stay here; records
    /// keep syncing. Cleared once every file is sent.
    pub blob_quota: Option<String>,
    /// The server says this device is revoked: it can neither send nor receive until an
    /// administrator of the server makes a code for it to "Connect again" (its unsent work is
    /// kept and goes out then).
    pub revoked: bool,
}

/// Whether this device's clock is right, as far as the sync server can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ClockVerdict {
    /// Within the limits both ways.
    Right,
    /// Ahead of the server's clock by more than the server takes: its changes are refused
    /// (`clock_ahead`) until the clock is set right.
    Ahead,
    /// Behind the server's clock by more than this device takes from others: it refuses their
    /// newer changes as future ones and its own writes lose merges they should win.
    Behind,
}

/// The last comparison of this device's clock with the server's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ClockCheck {
    pub verdict: ClockVerdict,
    /// How far this device's clock is ahead of the server's, in milliseconds (negative:
    /// behind); `None` when only the server's `clock_ahead` refusal says so.
    #[specta(type = Option<f64>)]
    pub ahead_ms: Option<i64>,
    /// The limit it was judged against, in milliseconds.
    #[specta(type = f64)]
    pub limit_ms: i64,
    /// RFC 3339 time (this device's clock) of the comparison.
    pub checked_at: String,
}

/// What [`enrol`] answers: the tenant joined (the token stays in core).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Enrolment {
    pub server_url: String,
    pub device_id: String,
    pub tenant_id: String,
    pub tenant_name: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, specta::Type)]
pub struct PushReport {
    /// Outbox entries sent and acknowledged.
    #[specta(type = f64)]
    pub sent: u64,
    /// Of those, stored for the first time by the server (the rest it already had).
    #[specta(type = f64)]
    pub accepted: u64,
    #[specta(type = f64)]
    pub duplicates: u64,
    #[specta(type = f64)]
    pub batches: u64,
    /// Outbox entries set aside: the server refused them (or a change of their segment).
    #[specta(type = f64)]
    pub set_aside: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, specta::Type)]
pub struct PullReport {
    /// Changes of other devices that inserted a row or set at least one field here.
    #[specta(type = f64)]
    pub applied: u64,
    /// This device's own changes, skipped.
    #[specta(type = f64)]
    pub own: u64,
    /// Changes whose every field was already as new or newer, merged by an earlier pull, or
    /// waiting for their row: nothing (more) to do.
    #[specta(type = f64)]
    pub older: u64,
    /// Changes with a field that lost to a newer value made apart from it: kept in
    /// `sync_conflicts`.
    #[specta(type = f64)]
    pub conflicts: u64,
    /// Changes a local constraint refused: kept in `sync_conflicts`, not applied.
    #[specta(type = f64)]
    pub refused: u64,
    /// Other devices' audit entries stored.
    #[specta(type = f64)]
    pub audit: u64,
    #[specta(type = f64)]
    pub pages: u64,
    #[specta(type = f64)]
    pub cursor: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, specta::Type)]
pub struct SyncReport {
    pub push: PushReport,
    pub pull: PullReport,
}

/// Which half of a sync is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum SyncPhase {
    Push,
    Pull,
}

/// Progress of a sync, reported after every batch sent and every page pulled.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, specta::Type)]
pub struct SyncProgress {
    pub phase: SyncPhase,
    /// Changes sent (push) or received (pull) so far.
    #[specta(type = f64)]
    pub changes: u64,
    /// How far it is, 0 to 1, when known: push counts the outbox; pull estimates from the
    /// server's sequence numbers (shared by all tenants, so an estimate, never a count).
    pub fraction: Option<f64>,
    #[specta(type = f64)]
    pub pages: u64,
}

/// A progress callback (the command turns it into a Tauri channel).
pub type Progress<'a> = &'a (dyn Fn(SyncProgress) + Send + Sync);

pub(super) fn no_progress(_: SyncProgress) {}
