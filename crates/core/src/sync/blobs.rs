//! Attachment files through the sync server. The record of an attachment syncs as a change;
//! its file goes separately, content-addressed (`PUT`/`GET hms_protocol::BLOBS_PATH/<sha256>`):
//! - after a successful push, [`upload_missing`] sends the files of this device's attachments
//!   that it has not sent to this server yet, each content once (`attachment_uploads`);
//! - opening an attachment whose file is not here fetches it with [`download`]
//!   (`clinical::attachments::open`), which keeps it in the device's blob store.
//!
//! The files themselves are the blob store's (`store::blobs`): this module reads and checks
//! them there (decrypted: the server gets and gives clear content over TLS, and a file
//! fetched is encrypted as the blob store writes it), and finds which to send through the blob columns that tables register there
//! (`store::blobs::BlobColumn`); it names no table of its own but its upload log
//! (`attachment_uploads`).

use super::rows::quote;
use super::status::{client, BLOB_QUOTA_KEY, SERVER_URL_KEY, TENANT_ID_KEY};
use super::{SyncError, SyncResult};
use crate::error::Error;
use crate::store::{blobs as blob_store, meta, Store};
use hms_protocol::ErrorCode;

/// What the uploads are keyed by: the server and tenant this device is enrolled with, so
/// that a new enrolment sends every file again.
async fn server_key(store: &Store) -> SyncResult<String> {
    let url = meta::get(store.pool(), SERVER_URL_KEY).await?.unwrap_or_default();
    let tenant = meta::get(store.pool(), TENANT_ID_KEY).await?.unwrap_or_default();
    Ok(format!("{url} {tenant}"))
}

fn path(sha256: &str) -> String {
    format!("{}/{sha256}", hms_protocol::BLOBS_PATH)
}

/// The files this device's live rows refer to (every registered blob column) that were not
/// sent to `server` yet, each once, in hash order.
async fn pending(store: &Store, server: &str) -> SyncResult<Vec<String>> {
    let sources: Vec<String> = blob_store::columns()
        .iter()
        .map(|c| {
            // Names from the registrations, never from a change.
            format!(
                "SELECT {col} AS sha256 FROM {table} WHERE origin_device = ?1 AND deleted_at IS NULL",
                col = quote(c.column),
                table = quote(c.table)
            )
        })
        .collect();
    if sources.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT DISTINCT sha256 FROM ({}) WHERE sha256 NOT IN (SELECT sha256 FROM attachment_uploads WHERE server = ?2)
         ORDER BY sha256",
        sources.join(" UNION ALL ")
    );
    let pending: Vec<String> = sqlx::query_scalar(&sql)
        .bind(store.device_id())
        .bind(server)
        .fetch_all(store.pool())
        .await
        .map_err(Error::from)?;
    Ok(pending)
}

/// Uploads the files of this device's attachments the server does not have from it yet.
/// A file missing or damaged here is skipped (it cannot be sent as recorded); it goes once
/// it is whole again. Answers how many files were sent.
pub(crate) async fn upload_missing(store: &Store) -> SyncResult<u64> {
    let http = client(store).await?;
    let server = server_key(store).await?;
    let pending = pending(store, &server).await?;
    let mut sent = 0;
    for sha256 in pending {
        // Only a well-formed hash names a file (and the blob's URL), and only a file within the
        // blob limit is read; others are never sent.
        let Some(file) = blob_store::path(store, &sha256) else {
            continue;
        };
        if !std::fs::metadata(&file).is_ok_and(|m| m.len() <= hms_protocol::MAX_BLOB_BYTES as u64) {
            continue;
        }
        let Some(bytes) = blob_store::read_intact(store, &sha256) else {
            continue;
        };
        match http.put_bytes(&path(&sha256), bytes).await {
            Ok(()) => {}
            // The clinic's files are over the server's quota: the others would be refused too.
            // The device keeps them, says so on the Sync screen, and goes on syncing records.
            Err(SyncError::Server { code: Some(ErrorCode::BlobQuotaExceeded), message, .. }) => {
                meta::set(store.pool(), BLOB_QUOTA_KEY, &message).await?;
                return Ok(sent);
            }
            Err(e) => return Err(e),
        }
        let now = store.now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        sqlx::query("INSERT OR IGNORE INTO attachment_uploads (server, sha256, uploaded_at) VALUES (?, ?, ?)")
            .bind(&server)
            .bind(&sha256)
            .bind(now)
            .execute(store.pool())
            .await
            .map_err(Error::from)?;
        sent += 1;
    }
    sqlx::query("DELETE FROM meta WHERE key = ?")
        .bind(BLOB_QUOTA_KEY)
        .execute(store.pool())
        .await
        .map_err(Error::from)?;
    Ok(sent)
}

/// The file of `sha256` from the server, verified against its hash; `None` when the server
/// does not have it. Not enrolled, offline or refused: the error.
pub(crate) async fn download(store: &Store, sha256: &str) -> SyncResult<Option<Vec<u8>>> {
    if !hms_policy::forms::valid_sha256(sha256) {
        return Ok(None);
    }
    let http = client(store).await?;
    let Some(bytes) = http.get_bytes(&path(sha256)).await? else {
        return Ok(None);
    };
    if blob_store::sha256_hex(&bytes) != sha256 {
        return Err(super::SyncError::Protocol("the server's file does not match its SHA-256".into()));
    }
    Ok(Some(bytes))
}
