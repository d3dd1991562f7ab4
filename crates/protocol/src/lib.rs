//! The HMS sync protocol: what a device and `hms-server` send each other, as JSON over HTTPS.
//!
//! A device keeps an outbox (`change_log` in its SQLite database): every synced write appends
//! one entry in the same transaction, numbered by a per-device sequence. Sync is two calls:
//!
//! - `POST /v1/push` ([`PushRequest`] → [`PushResponse`]): the device sends entries it has not
//!   had acknowledged yet. The server stores each one once, keyed by (device id, device seq),
//!   so resending a batch after a lost response is harmless.
//! - `GET /v1/pull?after=SEQ&limit=N` ([`PullQuery`] → [`PullResponse`]): the device fetches
//!   its tenant's changes after the last server sequence it has applied, in server order, page
//!   by page. Its own changes come back too; the device skips them by `device_id`.
//!
//! A device gets its id and bearer token once, from `POST /v1/enrol` ([`EnrolRequest`] →
//! [`EnrolResponse`]) with a one-time code an administrator made on the server. Every error is
//! an [`ErrorBody`] with a stable [`ErrorCode`].
//!
//! This crate holds types only (serde), so the device side can use it without a database or
//! HTTP stack of the server's.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

pub mod proof;
pub use proof::Proof;

/// Path prefix of this protocol's endpoints.
pub const API_PREFIX: &str = "/v1";
/// At most this many changes in one push; larger batches are refused with `too_large`.
pub const MAX_PUSH_BATCH: usize = 5_000;
/// At most this many bytes in one request body; larger bodies are refused with `too_large`.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// At most this many bytes of JSON in one change's `data`; a larger change is refused with
/// `change_too_large` (413), listed like a forbidden change so the device sets it aside.
pub const MAX_CHANGE_BYTES: usize = 256 * 1024;
/// How far ahead of the server's clock a change's stamp may be, by default (5 minutes).
pub const MAX_CLOCK_AHEAD_MS: u64 = 5 * 60 * 1000;
/// Page size of a pull when the device gives none.
pub const DEFAULT_PULL_LIMIT: u32 = 1_000;
/// Largest page a pull returns; a larger `limit` is served as this.
pub const MAX_PULL_LIMIT: u32 = 10_000;
/// A pull page ends at the first segment end after this many bytes of change data (as
/// PostgreSQL stores them), whatever its row limit: `more` says the rest follows.
pub const MAX_PULL_PAGE_BYTES: usize = 8 * 1024 * 1024;
/// Each tenant's attachment files together, by default (20 GiB).
pub const BLOB_QUOTA_BYTES: u64 = 20 * 1024 * 1024 * 1024;
/// Requests a minute from one device, by default (and as many at once after a quiet minute).
pub const REQUESTS_PER_MINUTE: u32 = 1_200;
/// `GET /v1/wait`s one device may hold open at once.
pub const MAX_OPEN_WAITS: usize = 2;

/// What a change did to its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Insert,
    Update,
    Delete,
}

impl Op {
    /// The text form, as in the device's `change_log.op` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Insert => "insert",
            Op::Update => "update",
            Op::Delete => "delete",
        }
    }

    pub fn parse(s: &str) -> Option<Op> {
        match s {
            "insert" => Some(Op::Insert),
            "update" => Some(Op::Update),
            "delete" => Some(Op::Delete),
            _ => None,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A [`Change`] whose data and proof are already JSON text (a device's outbox, the server's
/// store), written on the wire as they are instead of parsed and written again. It writes
/// exactly the JSON a `Change` with the same values writes: the device's push and the server's
/// pull each have a test holding the two together.
#[derive(Debug, Serialize)]
pub struct RawChange {
    pub id: String,
    pub device_id: String,
    pub device_seq: u64,
    pub entity: String,
    pub entity_id: String,
    pub op: Op,
    pub data: Box<serde_json::value::RawValue>,
    pub hlc: String,
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proof: Option<Box<serde_json::value::RawValue>>,
}

/// One outbox entry, as the device that made it sends it. The fields are the columns of the
/// device's `change_log` (minus `pushed_at`, which is the device's own bookkeeping).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// `change_log.id`: the entry's UUIDv7, unique across devices.
    pub id: String,
    /// The device that made the change; must be the pushing device's own id.
    pub device_id: String,
    /// `change_log.seq`: the device's sequence, from 1, increasing.
    pub device_seq: u64,
    /// The synced table, e.g. `patients`.
    pub entity: String,
    /// The row's id in that table.
    pub entity_id: String,
    pub op: Op,
    /// The row after the change, as JSON.
    pub data: serde_json::Value,
    /// Hybrid-logical-clock stamp of the write: `<16-digit millis>-<6-digit counter>-<device>`.
    pub hlc: String,
    /// The signed-in user who made it; `None` for the system.
    pub user_id: Option<String>,
    /// On the last change of a segment (see [`proof`]): the signatures that prove the
    /// segment. `None` on the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<Proof>,
}

/// `POST /v1/push` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    pub changes: Vec<Change>,
}

/// `POST /v1/push` answer. Every change of the batch is acknowledged: either stored now
/// (`accepted`) or already stored by an earlier push (`duplicates`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResponse {
    pub accepted: u64,
    pub duplicates: u64,
    /// The highest server sequence of the tenant after this push.
    pub high_water: u64,
    /// The highest device sequence the server holds from this device.
    pub device_high_water: u64,
    /// The server's clock when it answered (Unix milliseconds), for the device to compare
    /// with its own (see [`ServerClock`]). Absent from servers before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<ServerClock>,
}

/// The server's clock and its limit, in push and pull answers: a device compares them with
/// its own wall clock and tells its user when it is wrong (a clock far ahead gets its pushes
/// refused with `clock_ahead`; one far behind refuses other devices' changes as future ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerClock {
    /// The server's clock when it answered, Unix milliseconds.
    pub server_time_ms: i64,
    /// How far ahead of `server_time_ms` a change's stamp may be (its `clock_ahead` limit).
    pub max_clock_ahead_ms: u64,
}

/// `GET /v1/pull` query: changes with a server sequence greater than `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullQuery {
    pub after: u64,
    pub limit: Option<u32>,
    /// The changes the device still has to send, reported on the first page of a pull so
    /// the server's administrator can see what is queued where (`hms-server devices`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<u64>,
}

/// `GET /v1/wait` query: answer as soon as the tenant has a change after `after`, or when
/// `timeout_ms` (at most [`MAX_WAIT_MS`]) has passed. A device that is online keeps one of
/// these open, so another device's change reaches it within moments instead of at its next
/// timed sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitQuery {
    pub after: u64,
    pub timeout_ms: Option<u64>,
}

/// `GET /v1/wait` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitResponse {
    /// The tenant's highest server sequence: greater than the query's `after` when there is
    /// something to pull.
    pub high_water: u64,
}

/// `GET /v1/audit-head` answer: the newest entry of the asking device's own audit chain that
/// the server holds (the device pushes its audit entries like any change). A device compares it
/// with its local chain: an entry the server holds but the device lacks, or holds with another
/// hash, means the local chain was cut or recomputed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHeadResponse {
    /// `None` when the server holds none of this device's audit entries yet.
    pub head: Option<AuditHead>,
}

/// One audit chain entry's place and hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHead {
    pub seq: u64,
    pub hash: String,
}

/// The longest a `GET /v1/wait` is held open.
pub const MAX_WAIT_MS: u64 = 25_000;

/// A change as the server hands it out: the device's change and where it sits in the
/// tenant's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PulledChange {
    pub server_seq: u64,
    pub change: Change,
}

/// `GET /v1/pull` answer, in increasing `server_seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullResponse {
    pub changes: Vec<PulledChange>,
    /// The `after` of the next pull: the last `server_seq` of this page, or the request's
    /// `after` when the page is empty.
    pub next: u64,
    /// Whether more changes follow right away (pull again with `after = next`).
    pub more: bool,
    /// The tenant's highest server sequence when this page was read. Sequences are shared by
    /// all tenants, so `(next - start) / (high_water - start)` is a progress estimate, not a
    /// count.
    pub high_water: u64,
    /// The registered public key (hex) of every device whose changes are on this page, to
    /// check their proofs with. A page always ends at the end of a segment.
    #[serde(default)]
    pub device_keys: BTreeMap<String, String>,
    /// The server's clock (see [`ServerClock`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<ServerClock>,
}

/// `POST /v1/enrol` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolRequest {
    /// The one-time code from `hms-server enrol-code`; case, spaces and dashes do not matter.
    pub code: String,
    /// A name the administrator recognises, e.g. "Ward 3 tablet".
    pub device_name: String,
    /// The device's existing id (its `meta.device_id`, already in its change log and clock
    /// stamps). When absent the server makes one. Letters, digits, `-` and `_`, at most 64.
    #[serde(default)]
    pub device_id: Option<String>,
    /// The device's Ed25519 public key (64 hex digits): every change it pushes must be
    /// signed by it. Required; optional in the type only so that an old device gets a clear
    /// `bad_request`.
    #[serde(default)]
    pub device_key: Option<String>,
}

/// `POST /v1/enrol` answer. The token is shown this once; the server keeps only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolResponse {
    pub device_id: String,
    /// Send as `Authorization: Bearer <token>` on push and pull.
    pub token: String,
    pub tenant_id: String,
    pub tenant_name: String,
}

/// `GET /health` answer when the server and its database are up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthResponse {
    pub status: String,
}

/// Stable error codes: clients branch on these, never on the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No token, a malformed or unknown token, or an unknown/used/expired enrolment code.
    Unauthorized,
    /// The token is right but the device has been revoked: enrol again.
    Revoked,
    /// Authenticated, but the request touches what is not the device's (another device's id).
    Forbidden,
    /// The request is malformed: bad JSON, missing fields, invalid values.
    BadRequest,
    /// The body or the batch is over the limits ([`MAX_BODY_BYTES`], [`MAX_PUSH_BATCH`]).
    TooLarge,
    NotFound,
    MethodNotAllowed,
    /// The request contradicts stored state (a device id already enrolled, a device sequence
    /// reused by a different change).
    Conflict,
    /// Some changes of a push are not allowed (author without the permission, invalid values,
    /// an account change by a non-administrator, the last administrator): nothing of the
    /// batch is stored; [`ErrorBody::refused`] lists them. The device sets those aside and
    /// pushes the rest.
    ForbiddenChange,
    /// Some changes of a push are over [`MAX_CHANGE_BYTES`]: listed in [`ErrorBody::refused`]
    /// like forbidden ones.
    ChangeTooLarge,
    /// A change's clock stamp is more than the allowed skew ahead of the server's clock: the
    /// device's clock is wrong. Nothing is stored; the device keeps its changes and says so.
    ClockAhead,
    /// A pushed change is not proven: unsigned, signed by another key than the device's
    /// registered one, tampered with, or a segment cut off.
    BadProof,
    /// Some changes of a push are in a user's name but not signed by that user's key (the
    /// account's `user_key`): listed in [`ErrorBody::refused`] like forbidden ones.
    BadUserProof,
    /// Too many requests from this device: wait the answer's `Retry-After` seconds.
    RateLimited,
    /// This device already holds the most `GET /v1/wait`s open at once (2 by default).
    TooManyWaits,
    /// The tenant's attachment files would go over its quota (20 GiB by default): the file is
    /// not stored; the device keeps it and says so.
    BlobQuotaExceeded,
    /// The server cannot reach its database.
    Unavailable,
    Internal,
}

impl ErrorCode {
    /// The HTTP status the server answers with for this code.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::Unauthorized | ErrorCode::Revoked => 401,
            ErrorCode::Forbidden | ErrorCode::BadProof | ErrorCode::BadUserProof => 403,
            ErrorCode::BadRequest => 400,
            ErrorCode::TooLarge => 413,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::Conflict | ErrorCode::ClockAhead => 409,
            ErrorCode::ForbiddenChange => 403,
            ErrorCode::ChangeTooLarge => 413,
            ErrorCode::RateLimited | ErrorCode::TooManyWaits => 429,
            ErrorCode::BlobQuotaExceeded => 507,
            ErrorCode::Unavailable => 503,
            ErrorCode::Internal => 500,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Revoked => "revoked",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::ForbiddenChange => "forbidden_change",
            ErrorCode::ChangeTooLarge => "change_too_large",
            ErrorCode::ClockAhead => "clock_ahead",
            ErrorCode::BadProof => "bad_proof",
            ErrorCode::BadUserProof => "bad_user_proof",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::TooManyWaits => "too_many_waits",
            ErrorCode::BlobQuotaExceeded => "blob_quota_exceeded",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of every error answer: `{"code": "...", "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: ErrorCode,
    /// For people and logs; may change between versions.
    pub message: String,
    /// `forbidden_change` and `change_too_large`: the changes refused, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<RefusedChange>,
}

/// One change a server refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedChange {
    /// The change's `id`.
    pub id: String,
    pub device_seq: u64,
    /// A stable code: `hms_policy::RefusalCode` (`not_permitted`, `admin_only`, `last_admin`,
    /// `invalid_value`, ...) or `change_too_large`.
    pub reason: String,
    /// For people and logs.
    pub message: String,
}

/// Attachment files (blobs): `PUT` and `GET {BLOBS_PATH}/{sha256}` (lowercase hex), raw bytes,
/// content-addressed per tenant. The record of an attachment syncs as a change; its file
/// goes through these.
pub const BLOBS_PATH: &str = "/v1/blobs";
/// The most characters of a device's name at enrolment (the server refuses longer ones).
pub const MAX_DEVICE_NAME_CHARS: usize = 100;
/// The largest blob: an attachment's limit (20 MiB).
pub const MAX_BLOB_BYTES: usize = 20 * 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn change_round_trips_with_the_documented_field_names() {
        let wire = json!({
            "id": "0190c2a0-0000-7000-8000-000000000001",
            "device_id": "dev-1",
            "device_seq": 7,
            "entity": "patients",
            "entity_id": "p1",
            "op": "update",
            "data": {"given_name": "Amina"},
            "hlc": "0001732270000000-000000-dev-1",
            "user_id": null
        });
        let change: Change = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(change.op, Op::Update);
        assert_eq!(change.device_seq, 7);
        assert_eq!(serde_json::to_value(&change).unwrap(), wire);
    }

    #[test]
    fn error_codes_are_snake_case_and_match_their_text() {
        for code in [
            ErrorCode::Unauthorized,
            ErrorCode::Revoked,
            ErrorCode::Forbidden,
            ErrorCode::BadRequest,
            ErrorCode::TooLarge,
            ErrorCode::NotFound,
            ErrorCode::MethodNotAllowed,
            ErrorCode::Conflict,
            ErrorCode::ForbiddenChange,
            ErrorCode::ChangeTooLarge,
            ErrorCode::ClockAhead,
            ErrorCode::BadProof,
            ErrorCode::BadUserProof,
            ErrorCode::RateLimited,
            ErrorCode::TooManyWaits,
            ErrorCode::BlobQuotaExceeded,
            ErrorCode::Unavailable,
            ErrorCode::Internal,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), json!(code.as_str()));
        }
        assert_eq!(ErrorCode::TooLarge.http_status(), 413);
    }

    #[test]
    fn op_parses_its_text_form_only() {
        for op in [Op::Insert, Op::Update, Op::Delete] {
            assert_eq!(Op::parse(op.as_str()), Some(op));
        }
        assert_eq!(Op::parse("upsert"), None);
    }
}
