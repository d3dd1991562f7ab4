//! The background sync: syncs on start, on a timer, soon after local writes, and as soon as
//! the server says another device has pushed (a held-open `GET /v1/wait`), backing off
//! while the server cannot be reached. It calls [`super::sync_now`], which holds the store's
//! sync lock, so a "sync now" button and this task never run two syncs at once.
//!
//! A device that is not enrolled just waits (and checks again on the timer and after writes:
//! enrolling is a write).

use super::{sync_now, wait_for_changes, SyncError};
use crate::store::Store;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerConfig {
    /// Time between syncs while all is well.
    pub interval: Duration,
    /// Wait after a local write before syncing, so a burst of writes goes in one sync.
    pub after_write: Duration,
    /// The first retry after a failure; doubled on every further failure up to `max_backoff`.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            interval: Duration::from_secs(60),
            after_write: Duration::from_millis(250),
            first_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(300),
        }
    }
}

impl WorkerConfig {
    /// The pause a server's `Retry-After` of `secs` asks for, at most the longest back-off.
    pub fn retry_after(&self, secs: u64) -> Duration {
        Duration::from_secs(secs).min(self.max_backoff)
    }

    /// The wait before the next try after `failures` failures in a row.
    pub fn backoff(&self, failures: u32) -> Duration {
        let factor = 1u32.checked_shl(failures.saturating_sub(1).min(16)).unwrap_or(u32::MAX);
        self.first_backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// What one round of the worker did, for whoever watches it (logs, tests).
#[derive(Debug, Clone, PartialEq)]
pub enum Round {
    Synced(super::SyncReport),
    NotEnrolled,
    Failed(SyncError),
}

/// Runs forever (until the task is dropped), calling `on_round` after every sync attempt.
pub async fn run(store: &Store, config: WorkerConfig, on_round: impl Fn(&Round)) {
    let mut failures: u32 = 0;
    loop {
        let round = match sync_now(store).await {
            Ok(report) => Round::Synced(report),
            Err(SyncError::NotEnrolled) => Round::NotEnrolled,
            Err(e) => Round::Failed(e),
        };
        on_round(&round);
        match round {
            // The server asked for a pause (429 with Retry-After): exactly that, within the
            // longest back-off.
            Round::Failed(SyncError::Server { retry_after_secs: Some(secs), .. }) => {
                failures = failures.saturating_add(1);
                tokio::time::sleep(config.retry_after(secs)).await;
            }
            Round::Failed(_) => {
                // Offline (or refused): retry later, later each time; writes meanwhile wait.
                failures = failures.saturating_add(1);
                tokio::time::sleep(config.backoff(failures)).await;
            }
            Round::Synced(_) => {
                failures = 0;
                until_next_sync(store, &config).await;
            }
            Round::NotEnrolled => {
                failures = 0;
                until_timer_or_write(store, &config, tokio::time::sleep(config.interval)).await;
            }
        }
    }
}

/// While online: the timer, a local write, or another device's push, whichever comes first.
async fn until_next_sync(store: &Store, config: &WorkerConfig) {
    let timer = tokio::time::sleep(config.interval);
    tokio::pin!(timer);
    loop {
        tokio::select! {
            _ = &mut timer => return,
            _ = store.changes_committed() => {
                tokio::time::sleep(config.after_write).await;
                return;
            }
            waited = wait_for_changes(store) => match waited {
                Ok(true) => return,
                // Nothing new while the server held the request: ask again.
                Ok(false) => continue,
                // A server without `/v1/wait`, or the network went: the timer and writes.
                Err(_) => return until_timer_or_write(store, config, timer).await,
            },
        }
    }
}

async fn until_timer_or_write(store: &Store, config: &WorkerConfig, timer: impl std::future::Future<Output = ()>) {
    tokio::select! {
        _ = timer => {}
        _ = store.changes_committed() => {
            tokio::time::sleep(config.after_write).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_ceiling() {
        let c = WorkerConfig::default();
        let secs: Vec<u64> = (1..=9).map(|n| c.backoff(n).as_secs()).collect();
        assert_eq!(secs, vec![5, 10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(c.backoff(u32::MAX).as_secs(), 300);
    }
}
