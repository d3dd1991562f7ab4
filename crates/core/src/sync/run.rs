//! One sync: push, then pull, one at a time per store, with the outcome kept for the status.

use super::status::{LAST_ERROR_KEY, LAST_SUCCESS_KEY, OFFLINE_SINCE_KEY, REVOKED_KEY};
use super::{blobs, no_progress, pull_with, push_with, Progress, SyncError, SyncReport, SyncResult};
use crate::error::Error;
use crate::store::{meta, Store};

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
        push.set_aside += again.set_aside;
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
            clear(REVOKED_KEY).await?;
        }
        Err(SyncError::NotEnrolled) => {}
        Err(e) => {
            meta::set(pool, LAST_ERROR_KEY, &e.to_string()).await?;
            if matches!(e, SyncError::Server { code: Some(hms_protocol::ErrorCode::Revoked), .. })
                && meta::get(pool, REVOKED_KEY).await?.is_none()
            {
                meta::set(pool, REVOKED_KEY, &now).await?;
            }
            if matches!(e, SyncError::Server { code: Some(hms_protocol::ErrorCode::ClockAhead), .. }) {
                super::clock_check::refused_ahead(store).await?;
            }
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
