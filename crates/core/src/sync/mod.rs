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
//!   device's own, applies the others by per-row last-writer-wins on the hybrid logical clock
//!   ([`apply`]) and saves the cursor in the same transaction as the rows.
//! - [`sync_now`] pushes, then pulls, and keeps the outcome for [`status`].
//!
//! Not here yet: a background task, a conflicts inbox, the enrolment screen.

pub mod apply;
mod client;

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
}

pub type SyncResult<T> = std::result::Result<T, SyncError>;

/// What the status indicator shows. Never the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    pub enrolled: bool,
    pub server_url: Option<String>,
    pub tenant_id: Option<String>,
    pub tenant_name: Option<String>,
    pub device_id: String,
    /// Outbox entries not yet acknowledged by the server.
    pub pending: i64,
    /// The last server sequence applied (the pull cursor).
    pub cursor: u64,
    /// RFC 3339 time of the last sync that pushed and pulled without error.
    pub last_success: Option<String>,
    /// The last sync's error, cleared by a successful sync.
    pub last_error: Option<String>,
    /// Conflict records not resolved yet.
    pub open_conflicts: i64,
}

/// What [`enrol`] answers: the tenant joined (the token stays in core).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enrolment {
    pub server_url: String,
    pub device_id: String,
    pub tenant_id: String,
    pub tenant_name: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PushReport {
    /// Outbox entries sent and acknowledged.
    pub sent: u64,
    /// Of those, stored for the first time by the server (the rest it already had).
    pub accepted: u64,
    pub duplicates: u64,
    pub batches: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PullReport {
    /// Changes of other devices written into the local tables.
    pub applied: u64,
    /// This device's own changes, skipped.
    pub own: u64,
    /// Changes older than the local row, or merged by an earlier pull: ignored.
    pub older: u64,
    /// Changes that lost to a newer local row made apart from them: kept in `sync_conflicts`.
    pub conflicts: u64,
    /// Changes a local constraint refused: kept in `sync_conflicts`, not applied.
    pub refused: u64,
    pub pages: u64,
    pub cursor: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub push: PushReport,
    pub pull: PullReport,
}

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
pub async fn enrol(store: &Store, auth: &Authorized, server_url: &str, code: &str, device_name: &str) -> SyncResult<Enrolment> {
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
pub async fn status(store: &Store) -> SyncResult<SyncStatus> {
    let pool = store.pool();
    let server_url = meta::get(pool, SERVER_URL_KEY).await?;
    let enrolled = server_url.is_some() && meta::get(pool, TOKEN_KEY).await?.is_some();
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM change_log WHERE pushed_at IS NULL")
        .fetch_one(pool)
        .await
        .map_err(Error::from)?;
    let open_conflicts: i64 = sqlx::query_scalar("SELECT count(*) FROM sync_conflicts WHERE resolved = 0")
        .fetch_one(pool)
        .await
        .map_err(Error::from)?;
    Ok(SyncStatus {
        enrolled,
        server_url,
        tenant_id: meta::get(pool, TENANT_ID_KEY).await?,
        tenant_name: meta::get(pool, TENANT_NAME_KEY).await?,
        device_id: store.device_id().to_string(),
        pending,
        cursor: cursor(store).await?,
        last_success: meta::get(pool, LAST_SUCCESS_KEY).await?,
        last_error: meta::get(pool, LAST_ERROR_KEY).await?,
        open_conflicts,
    })
}

async fn cursor(store: &Store) -> SyncResult<u64> {
    Ok(meta::get(store.pool(), CURSOR_KEY)
        .await?
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
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
    let op = Op::parse(&row.op).ok_or_else(|| Error::internal(format!("change_log {}: unknown op {:?}", row.seq, row.op)))?;
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
    let http = client(store).await?;
    let mut report = PushReport::default();
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
        let answer: PushResponse = http
            .post(&format!("{}/push", hms_protocol::API_PREFIX), &PushRequest { changes })
            .await?;
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
    }
}

/// Fetches and applies the tenant's changes after the saved cursor, page by page; each page
/// is one transaction with the cursor it moves to.
pub async fn pull(store: &Store) -> SyncResult<PullReport> {
    let http = client(store).await?;
    let mut report = PullReport { cursor: cursor(store).await?, ..Default::default() };
    loop {
        let page: PullResponse = http
            .get(&format!("{}/pull?after={}&limit={PULL_LIMIT}", hms_protocol::API_PREFIX, report.cursor))
            .await?;
        if page.changes.is_empty() {
            return Ok(report);
        }
        if page.next <= report.cursor || page.changes.iter().any(|c| c.server_seq <= report.cursor || c.server_seq > page.next) {
            return Err(SyncError::Protocol("the server's page does not follow the cursor".into()));
        }
        let mut page_report = PullReport::default();
        let mut w = store.begin_write(Actor::system()).await?;
        let mut columns = apply::Columns::default();
        let mut newest: Option<crate::clock::HlcStamp> = None;
        let mut seen: HashMap<String, u64> = HashMap::new();
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
            match apply::apply(&mut w, &mut columns, change).await? {
                apply::Outcome::Applied => page_report.applied += 1,
                apply::Outcome::Older | apply::Outcome::Missing => page_report.older += 1,
                apply::Outcome::Conflict => page_report.conflicts += 1,
                apply::Outcome::Refused => page_report.refused += 1,
            }
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
        w.audit(
            "sync.pull",
            "sync",
            None,
            serde_json::json!({
                "after": report.cursor, "next": page.next, "applied": page_report.applied,
                "own": page_report.own, "older": page_report.older,
                "conflicts": page_report.conflicts, "refused": page_report.refused,
            }),
        )
        .await?;
        w.commit().await?;
        report.applied += page_report.applied;
        report.own += page_report.own;
        report.older += page_report.older;
        report.conflicts += page_report.conflicts;
        report.refused += page_report.refused;
        report.pages += 1;
        report.cursor = page.next;
        if !page.more {
            return Ok(report);
        }
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
pub async fn sync_now(store: &Store) -> SyncResult<SyncReport> {
    let result = async {
        let push = push(store).await?;
        let pull = pull(store).await?;
        Ok::<_, SyncError>(SyncReport { push, pull })
    }
    .await;
    match &result {
        Ok(_) => {
            let now = store.now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            meta::set(store.pool(), LAST_SUCCESS_KEY, &now).await?;
            sqlx::query("DELETE FROM meta WHERE key = ?")
                .bind(LAST_ERROR_KEY)
                .execute(store.pool())
                .await
                .map_err(Error::from)?;
        }
        Err(SyncError::NotEnrolled) => {}
        Err(e) => meta::set(store.pool(), LAST_ERROR_KEY, &e.to_string()).await?,
    }
    result
}
