//! Sync, device side: enrolment with an `hms-server`, push of the outbox (`change_log`), pull
//! and merge of the tenant's changes. See the README, "Sync and server".
//!
//! - **Enrolment** ([`enrol`], administrators only) stores the server address, the device's
//!   token and its tenant in `meta`. The token never leaves core: [`status`] does not carry it.
//! - **Push** ([`push`]) sends the unsent outbox entries in device-sequence order, in batches
//!   of [`PUSH_BATCH`], and marks a batch sent in one statement once the server has
//!   acknowledged it. A lost answer means the batch goes again; the server stores each
//!   (device, device seq) once, so nothing is stored twice.
//! - **Pull** ([`pull`]) fetches the tenant's changes after the saved cursor, skips this
//!   device's own, merges the others field by field, last writer wins on the hybrid logical
//!   clock ([`apply`]), settles the hospital rules ([`rules`]) and saves the cursor in the
//!   same transaction as the rows. Other devices' audit entries are kept, never merged.
//!   Inserts of rows this device does not have yet (most of a new device's first pull) are
//!   written a page at a time in multi-row statements ([`apply_batch`]).
//! - [`sync_now`] pushes, then pulls, and keeps the outcome for [`status`]; one sync at a
//!   time per store. [`worker`] runs it in the background.
//! - [`conflicts`]: the inbox of what a merge could not settle silently.

pub mod apply;
mod apply_batch;
pub(crate) mod blobs;
mod client;
pub mod conflicts;
pub(crate) mod rules;
mod wait;
pub mod worker;

#[cfg(test)]
mod tests;

pub use conflicts::{ConflictKind, ConflictResolution, ConflictSide, SyncConflict};
pub use wait::wait_for_changes;

use crate::error::Error;
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{meta, Actor, Store};
use client::Client;
use hms_protocol::{Change, EnrolRequest, EnrolResponse, ErrorCode, Op, PullResponse, PushRequest, PushResponse};
use serde::Serialize;
use std::collections::HashMap;

/// Outbox entries a push sends at once (the server takes up to `hms_protocol::MAX_PUSH_BATCH`).
pub const PUSH_BATCH: usize = 1_000;
/// Changes a pull asks for at once.
pub const PULL_LIMIT: u32 = 1_000;

const SERVER_URL_KEY: &str = "sync_server_url";
const TOKEN_KEY: &str = "sync_token";
const TENANT_ID_KEY: &str = "sync_tenant_id";
const TENANT_NAME_KEY: &str = "sync_tenant_name";
const CURSOR_KEY: &str = "sync_pull_cursor";
const LAST_SUCCESS_KEY: &str = "sync_last_success";
const LAST_ERROR_KEY: &str = "sync_last_error";
const OFFLINE_SINCE_KEY: &str = "sync_offline_since";
const AUDIT_QUEUED_KEY: &str = "sync_audit_queued";

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    App(#[from] Error),
    #[error("this device is not enrolled with a sync server")]
    NotEnrolled,
    #[error("invalid server address: {0}")]
    InvalidUrl(String),
    #[error("cannot reach the sync server: {0}")]
    Network(String),
    #[error("the sync server refused the request ({status}): {message}")]
    Server { status: u16, code: Option<ErrorCode>, message: String },
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

fn no_progress(_: SyncProgress) {}

struct Enrolled {
    server_url: String,
    token: String,
}

async fn enrolled(store: &Store) -> SyncResult<Enrolled> {
    let server_url = meta::get(store.pool(), SERVER_URL_KEY).await?;
    let token = meta::get(store.pool(), TOKEN_KEY).await?;
    match (server_url, token) {
        (Some(server_url), Some(token)) => Ok(Enrolled { server_url, token }),
        _ => Err(SyncError::NotEnrolled),
    }
}

async fn client(store: &Store) -> SyncResult<Client> {
    let e = enrolled(store).await?;
    Client::new(&e.server_url, Some(e.token))
}

/// Enrols this device, under its existing device id, into the tenant of a one-time code
/// (`hms-server enrol-code`). Administrators only. Enrolling again (a new server, a new
/// tenant) replaces the old enrolment, queues the whole outbox again and pulls from the
/// beginning.
pub async fn enrol(
    store: &Store,
    auth: &Authorized,
    server_url: &str,
    code: &str,
    device_name: &str,
) -> SyncResult<Enrolment> {
    auth.require(Permission::SyncManage)?;
    let base = client::normalise_url(server_url)?;
    let http = Client::new(&base, None)?;
    let answer: EnrolResponse = http
        .post(
            &format!("{}/enrol", hms_protocol::API_PREFIX),
            &EnrolRequest {
                code: code.to_string(),
                device_name: device_name.to_string(),
                device_id: Some(store.device_id().to_string()),
            },
        )
        .await?;
    if answer.device_id != store.device_id() {
        return Err(SyncError::Protocol(format!(
            "the server enrolled device {:?}, not this device ({:?})",
            answer.device_id,
            store.device_id()
        )));
    }

    let mut w = store.begin_write(auth.actor()).await?;
    for (key, value) in [
        (SERVER_URL_KEY, base.as_str()),
        (TOKEN_KEY, answer.token.as_str()),
        (TENANT_ID_KEY, answer.tenant_id.as_str()),
        (TENANT_NAME_KEY, answer.tenant_name.as_str()),
        (CURSOR_KEY, "0"),
    ] {
        meta::set(w.conn(), key, value).await?;
    }
    // A new enrolment is a new server (or tenant) that holds none of this device's outbox:
    // send all of it. Where the server has it already, it stores nothing twice.
    sqlx::query("UPDATE change_log SET pushed_at = NULL WHERE pushed_at IS NOT NULL")
        .execute(w.conn())
        .await
        .map_err(Error::from)?;
    sqlx::query("DELETE FROM meta WHERE key IN (?, ?)")
        .bind(LAST_SUCCESS_KEY)
        .bind(LAST_ERROR_KEY)
        .execute(w.conn())
        .await
        .map_err(Error::from)?;
    w.audit(
        "sync.enrol",
        "device",
        Some(store.device_id()),
        serde_json::json!({ "server_url": base, "tenant_id": answer.tenant_id, "tenant_name": answer.tenant_name }),
    )
    .await?;
    w.commit().await?;
    Ok(Enrolment {
        server_url: base,
        device_id: answer.device_id,
        tenant_id: answer.tenant_id,
        tenant_name: answer.tenant_name,
    })
}

/// The sync state for the status indicator.
/// Outbox entries the server has not acknowledged yet.
async fn unsent(store: &Store) -> SyncResult<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM change_log WHERE pushed_at IS NULL")
        .fetch_one(store.pool())
        .await
        .map_err(Error::from)?)
}

pub async fn status(store: &Store) -> SyncResult<SyncStatus> {
    let pool = store.pool();
    let server_url = meta::get(pool, SERVER_URL_KEY).await?;
    let enrolled = server_url.is_some() && meta::get(pool, TOKEN_KEY).await?.is_some();
    let pending: i64 = unsent(store).await?;
    let open_conflicts: i64 = sqlx::query_scalar("SELECT count(*) FROM sync_conflicts WHERE resolved = 0")
        .fetch_one(pool)
        .await
        .map_err(Error::from)?;
    let last_error = meta::get(pool, LAST_ERROR_KEY).await?;
    let offline_since = meta::get(pool, OFFLINE_SINCE_KEY).await?;
    let state = if !enrolled {
        SyncState::NotEnrolled
    } else if offline_since.is_some() {
        SyncState::Offline
    } else if last_error.is_some() {
        SyncState::Error
    } else if pending > 0 {
        SyncState::Pending
    } else {
        SyncState::Synced
    };
    Ok(SyncStatus {
        state,
        syncing: store.sync_lock().try_lock().is_err(),
        offline_since,
        enrolled,
        server_url,
        tenant_id: meta::get(pool, TENANT_ID_KEY).await?,
        tenant_name: meta::get(pool, TENANT_NAME_KEY).await?,
        device_id: store.device_id().to_string(),
        pending,
        cursor: cursor(store).await?,
        last_success: meta::get(pool, LAST_SUCCESS_KEY).await?,
        last_error,
        open_conflicts,
    })
}

async fn cursor(store: &Store) -> SyncResult<u64> {
    Ok(meta::get(store.pool(), CURSOR_KEY).await?.and_then(|s| s.parse().ok()).unwrap_or(0))
}

#[derive(sqlx::FromRow)]
struct OutboxRow {
    seq: i64,
    id: String,
    entity: String,
    entity_id: String,
    op: String,
    data: String,
    hlc: String,
    device_id: String,
    user_id: Option<String>,
}

fn to_change(row: OutboxRow) -> SyncResult<Change> {
    let op = Op::parse(&row.op)
        .ok_or_else(|| Error::internal(format!("change_log {}: unknown op {:?}", row.seq, row.op)))?;
    Ok(Change {
        id: row.id,
        device_id: row.device_id,
        device_seq: u64::try_from(row.seq).map_err(|_| Error::internal("negative change_log seq"))?,
        entity: row.entity,
        entity_id: row.entity_id,
        op,
        data: serde_json::from_str(&row.data).map_err(Error::from)?,
        hlc: row.hlc,
        user_id: row.user_id,
    })
}

/// Sends every unsent outbox entry, oldest first, [`PUSH_BATCH`] at a time.
pub async fn push(store: &Store) -> SyncResult<PushReport> {
    push_with(store, &no_progress).await
}

/// [`push`], reporting progress after every batch.
pub async fn push_with(store: &Store, progress: Progress<'_>) -> SyncResult<PushReport> {
    let http = client(store).await?;
    queue_audit(store).await?;
    requeue_what_the_server_lost(store, &http).await?;
    let mut report = PushReport::default();
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM change_log WHERE pushed_at IS NULL")
        .fetch_one(store.pool())
        .await
        .map_err(Error::from)?;
    loop {
        let rows: Vec<OutboxRow> = sqlx::query_as(
            "SELECT seq, id, entity, entity_id, op, data, hlc, device_id, user_id
             FROM change_log WHERE pushed_at IS NULL ORDER BY seq LIMIT ?",
        )
        .bind(PUSH_BATCH as i64)
        .fetch_all(store.pool())
        .await
        .map_err(Error::from)?;
        let (Some(first), Some(last)) = (rows.first().map(|r| r.seq), rows.last().map(|r| r.seq)) else {
            return Ok(report);
        };
        let changes = rows.into_iter().map(to_change).collect::<SyncResult<Vec<_>>>()?;
        let sent = changes.len() as u64;
        let answer: PushResponse =
            http.post(&format!("{}/push", hms_protocol::API_PREFIX), &PushRequest { changes }).await?;
        // Acknowledged: mark the batch in one statement. (Entries written meanwhile have
        // higher seqs and were not in it, so the range is exactly the batch.)
        let now = store.now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        sqlx::query("UPDATE change_log SET pushed_at = ? WHERE pushed_at IS NULL AND seq BETWEEN ? AND ?")
            .bind(now)
            .bind(first)
            .bind(last)
            .execute(store.pool())
            .await
            .map_err(Error::from)?;
        report.sent += sent;
        report.accepted += answer.accepted;
        report.duplicates += answer.duplicates;
        report.batches += 1;
        progress(SyncProgress {
            phase: SyncPhase::Push,
            changes: report.sent,
            fraction: (total > 0).then(|| (report.sent as f64 / total as f64).min(1.0)),
            pages: report.batches,
        });
    }
}

/// After the server is restored from a backup it may lack this device's latest acknowledged
/// changes: always the newest ones, since a device pushes in sequence order. An empty push
/// answers the highest device sequence the server holds from this device; whatever was
/// acknowledged beyond it is queued again. Resending is harmless: the server stores each
/// (device, sequence) once.
async fn requeue_what_the_server_lost(store: &Store, http: &Client) -> SyncResult<()> {
    let acknowledged: Option<i64> = sqlx::query_scalar("SELECT max(seq) FROM change_log WHERE pushed_at IS NOT NULL")
        .fetch_one(store.pool())
        .await
        .map_err(Error::from)?;
    let Some(acknowledged) = acknowledged else {
        return Ok(());
    };
    let answer: PushResponse =
        http.post(&format!("{}/push", hms_protocol::API_PREFIX), &PushRequest { changes: Vec::new() }).await?;
    let held = i64::try_from(answer.device_high_water).unwrap_or(i64::MAX);
    if held < acknowledged {
        sqlx::query("UPDATE change_log SET pushed_at = NULL WHERE seq > ? AND pushed_at IS NOT NULL")
            .bind(held)
            .execute(store.pool())
            .await
            .map_err(Error::from)?;
    }
    Ok(())
}

/// Puts this device's audit entries written since the last push into the outbox (entity
/// `audit_log`, insert-only, the entry as written: the other devices keep it whole in
/// `audit_remote`). Done at push time rather than on every write, so a device that never
/// syncs keeps no second copy of its audit, and the outbox of a write is only its rows.
async fn queue_audit(store: &Store) -> SyncResult<()> {
    let mut w = store.begin_write(Actor::system()).await?;
    let queued: i64 = meta::get(w.conn(), AUDIT_QUEUED_KEY).await?.and_then(|s| s.parse().ok()).unwrap_or(0);
    let last: Option<i64> =
        sqlx::query_scalar("SELECT max(seq) FROM audit_log").fetch_one(w.conn()).await.map_err(Error::from)?;
    let Some(last) = last.filter(|l| *l > queued) else {
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO change_log (id, entity, entity_id, op, data, hlc, device_id, user_id)
         SELECT id, 'audit_log', id, 'insert',
                json_object('seq', seq, 'id', id, 'at', at, 'user_id', user_id, 'device_id', device_id, 'action', action,
                            'entity', entity, 'entity_id', entity_id, 'detail', detail, 'prev_hash', prev_hash, 'hash', hash),
                ?, device_id, user_id
         FROM audit_log WHERE seq > ? AND seq <= ? ORDER BY seq",
    )
    .bind(w.stamp())
    .bind(queued)
    .bind(last)
    .execute(w.conn())
    .await
    .map_err(Error::from)?;
    meta::set(w.conn(), AUDIT_QUEUED_KEY, &last.to_string()).await?;
    w.commit_unaudited().await?;
    Ok(())
}

/// Fetches and applies the tenant's changes after the saved cursor, page by page; each page
/// is one transaction with the cursor it moves to.
pub async fn pull(store: &Store) -> SyncResult<PullReport> {
    pull_with(store, &no_progress).await
}

/// [`pull`], reporting progress after every page.
pub async fn pull_with(store: &Store, progress: Progress<'_>) -> SyncResult<PullReport> {
    let http = client(store).await?;
    let start = cursor(store).await?;
    let mut report = PullReport { cursor: start, ..Default::default() };
    let mut received: u64 = 0;
    // The first page carries what this device still has to send (`hms-server devices`).
    let mut report_pending = Some(unsent(store).await?);
    loop {
        let pending = report_pending.take().map(|n| format!("&pending={n}")).unwrap_or_default();
        let page: PullResponse = http
            .get(&format!("{}/pull?after={}&limit={PULL_LIMIT}{pending}", hms_protocol::API_PREFIX, report.cursor))
            .await?;
        if page.changes.is_empty() {
            return Ok(report);
        }
        if page.next <= report.cursor
            || page.changes.iter().any(|c| c.server_seq <= report.cursor || c.server_seq > page.next)
        {
            return Err(SyncError::Protocol("the server's page does not follow the cursor".into()));
        }
        let mut page_report = PullReport::default();
        let mut w = store.begin_write(Actor::system()).await?;
        let mut columns = apply::Columns::default();
        let mut newest: Option<crate::clock::HlcStamp> = None;
        let mut seen: HashMap<String, u64> = HashMap::new();
        let own = store.device_id();
        let mut batch =
            apply_batch::Batch::preload(&mut w, page.changes.iter().map(|p| &p.change).filter(|c| c.device_id != own))
                .await?;
        for pulled in &page.changes {
            let change = &pulled.change;
            if change.device_id == store.device_id() {
                page_report.own += 1;
                continue;
            }
            let mark = match seen.get(&change.device_id) {
                Some(mark) => *mark,
                None => seen_mark(&mut w, &change.device_id).await?,
            };
            seen.insert(change.device_id.clone(), mark.max(change.device_seq));
            if change.device_seq <= mark {
                page_report.older += 1; // merged by an earlier pull
                continue;
            }
            if let Some(stamp) = crate::clock::HlcStamp::parse(&change.hlc) {
                match &newest {
                    Some(n) if *n >= stamp => {}
                    _ => newest = Some(stamp),
                }
            }
            // New rows wait in the batch; anything else is applied after the rows before it.
            if batch.offer(&mut w, &mut columns, change).await? {
                continue;
            }
            for (entity, outcome) in batch.flush(&mut w, &mut columns).await? {
                count(&mut page_report, entity, outcome);
            }
            let outcome = apply::apply(&mut w, &mut columns, change).await?;
            count(&mut page_report, &change.entity, outcome);
        }
        for (entity, outcome) in batch.flush(&mut w, &mut columns).await? {
            count(&mut page_report, entity, outcome);
        }
        // Later local writes get stamps after everything pulled, so they win over it and the
        // merge can tell "made after seeing it" from "made apart".
        if let Some(stamp) = &newest {
            w.observe(stamp);
        }
        for (device, seq) in &seen {
            sqlx::query(
                "INSERT INTO sync_seen (device_id, device_seq) VALUES (?, ?)
                 ON CONFLICT (device_id) DO UPDATE SET device_seq = max(device_seq, excluded.device_seq)",
            )
            .bind(device)
            .bind(i64::try_from(*seq).unwrap_or(i64::MAX))
            .execute(w.conn())
            .await
            .map_err(Error::from)?;
        }
        meta::set(w.conn(), CURSOR_KEY, &page.next.to_string()).await?;
        // A page that changed records here is audited. One with only own changes, old news
        // and other devices' audit entries is not: auditing it would send an entry that makes
        // the other devices audit their pull of it, and so on without end.
        if page_report.applied + page_report.conflicts + page_report.refused > 0 {
            w.audit(
                "sync.pull",
                "sync",
                None,
                serde_json::json!({
                    "after": report.cursor, "next": page.next, "applied": page_report.applied,
                    "own": page_report.own, "older": page_report.older,
                    "conflicts": page_report.conflicts, "refused": page_report.refused,
                    "audit": page_report.audit,
                }),
            )
            .await?;
            w.commit().await?;
        } else {
            w.commit_unaudited().await?;
        }
        report.applied += page_report.applied;
        report.own += page_report.own;
        report.older += page_report.older;
        report.conflicts += page_report.conflicts;
        report.refused += page_report.refused;
        report.audit += page_report.audit;
        report.pages += 1;
        report.cursor = page.next;
        received += page.changes.len() as u64;
        let span = page.high_water.saturating_sub(start);
        progress(SyncProgress {
            phase: SyncPhase::Pull,
            changes: received,
            fraction: if !page.more {
                Some(1.0)
            } else {
                (span > 0).then(|| ((page.next - start) as f64 / span as f64).min(1.0))
            },
            pages: report.pages,
        });
        if !page.more {
            return Ok(report);
        }
    }
}

/// Adds what became of one pulled change to the page's report.
fn count(report: &mut PullReport, entity: &str, outcome: apply::Outcome) {
    match outcome {
        apply::Outcome::Applied if entity == "audit_log" => report.audit += 1,
        apply::Outcome::Applied => report.applied += 1,
        apply::Outcome::Older | apply::Outcome::Missing => report.older += 1,
        apply::Outcome::Conflict => report.conflicts += 1,
        apply::Outcome::Refused => report.refused += 1,
    }
}

/// The highest device sequence of `device` merged here (0: none yet).
async fn seen_mark(w: &mut crate::store::WriteTx<'_>, device: &str) -> SyncResult<u64> {
    let seq: Option<i64> = sqlx::query_scalar("SELECT device_seq FROM sync_seen WHERE device_id = ?")
        .bind(device)
        .fetch_optional(w.conn())
        .await
        .map_err(Error::from)?;
    Ok(seq.and_then(|s| u64::try_from(s).ok()).unwrap_or(0))
}

/// Pushes, then pulls. The outcome (time of success, or the error) is kept for [`status`].
/// One sync at a time per store: a second call waits for the running one.
pub async fn sync_now(store: &Store) -> SyncResult<SyncReport> {
    sync_now_with(store, &no_progress).await
}

/// [`sync_now`], reporting progress after every batch and page.
pub async fn sync_now_with(store: &Store, progress: Progress<'_>) -> SyncResult<SyncReport> {
    let _running = store.sync_lock().lock().await;
    let result = async {
        let mut push = push_with(store, progress).await?;
        blobs::upload_missing(store).await?; // attachment files, after their records
        let pull = pull_with(store, progress).await?;
        // Merging wrote audit entries (a page that changed records here): send them now
        // rather than show "pending" until the next sync.
        let again = push_with(store, progress).await?;
        push.sent += again.sent;
        push.accepted += again.accepted;
        push.duplicates += again.duplicates;
        push.batches += again.batches;
        Ok::<_, SyncError>(SyncReport { push, pull })
    }
    .await;
    remember(store, &result).await?;
    result
}

/// Keeps the outcome of a sync for [`status`].
async fn remember(store: &Store, result: &SyncResult<SyncReport>) -> SyncResult<()> {
    let pool = store.pool();
    let now = store.now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let clear = |key: &'static str| async move {
        sqlx::query("DELETE FROM meta WHERE key = ?").bind(key).execute(pool).await.map_err(Error::from)
    };
    match result {
        Ok(_) => {
            meta::set(pool, LAST_SUCCESS_KEY, &now).await?;
            clear(LAST_ERROR_KEY).await?;
            clear(OFFLINE_SINCE_KEY).await?;
        }
        Err(SyncError::NotEnrolled) => {}
        Err(e) => {
            meta::set(pool, LAST_ERROR_KEY, &e.to_string()).await?;
            if matches!(e, SyncError::Network(_)) {
                if meta::get(pool, OFFLINE_SINCE_KEY).await?.is_none() {
                    meta::set(pool, OFFLINE_SINCE_KEY, &now).await?;
                }
            } else {
                clear(OFFLINE_SINCE_KEY).await?;
            }
        }
    }
    Ok(())
}

/// Enrols this device (see [`enrol`]) and runs its first sync, reporting progress: a new
/// device's first pull brings the clinic's whole record. The enrolment stands even if that
/// first sync fails (the status then says why, and the background sync retries).
pub async fn enrol_and_sync(
    store: &Store,
    auth: &Authorized,
    server_url: &str,
    code: &str,
    device_name: &str,
    progress: Progress<'_>,
) -> SyncResult<Enrolment> {
    let enrolment = enrol(store, auth, server_url, code, device_name).await?;
    let _ = sync_now_with(store, progress).await;
    Ok(enrolment)
}
