//! The start screen: where the app's start is, for a window that shows before the store
//! opens. The store opens in the background (`lib.rs`, `start_store`); a database from before
//! encryption at rest is first encrypted once (`hms_core::store::encrypt`) while the start
//! screen shows a bar. The commands that need the store work once the status is `Ready`; a
//! start that failed is shown with its typed error and tried again from the start screen.

use crate::commands::Cmd;
use hms_core::store::encrypt::EncryptProgress;
use serde::Serialize;
use std::sync::{Mutex, OnceLock};
use tauri::ipc::Channel;
use tauri::State;

/// Where the start is.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StartStatus {
    /// Opening the store (migrations, the key): usually a moment.
    Opening,
    /// Encrypting the database from before (`progress`: none until the first report).
    Encrypting { progress: Option<EncryptProgress> },
    /// The store is open: the app goes on (`app_status`). `encrypted`: this start encrypted
    /// a database from before, and this was its last report (the check passed).
    Ready { encrypted: Option<EncryptProgress> },
    /// The start failed (the encryption, or opening the store after it); the clear database
    /// from before, if any, is left as it was.
    Failed { error: hms_core::Error },
}

/// The start's status, the start screens watching it, and how to try again after a failure.
pub struct Starting {
    inner: Mutex<Inner>,
    /// Starts the store's opening again (set by the app's setup).
    retry: OnceLock<Box<dyn Fn() + Send + Sync>>,
}

struct Inner {
    status: StartStatus,
    watchers: Vec<Channel<StartStatus>>,
}

impl Starting {
    pub fn new(status: StartStatus) -> Starting {
        Starting { inner: Mutex::new(Inner { status, watchers: Vec::new() }), retry: OnceLock::new() }
    }

    /// How to start again after a failure (once).
    pub fn on_retry(&self, retry: Box<dyn Fn() + Send + Sync>) {
        let _ = self.retry.set(retry);
    }

    /// The status now, told to every watcher; once ready or failed, the watchers are let go
    /// (as is any that is closed).
    pub fn set(&self, status: StartStatus) {
        let Ok(mut inner) = self.inner.lock() else { return };
        inner.status = status.clone();
        let settled = matches!(status, StartStatus::Ready { .. } | StartStatus::Failed { .. });
        inner.watchers.retain(|w| w.send(status.clone()).is_ok() && !settled);
    }

    /// The status now, and `channel` told every change from here (under one lock: no change
    /// falls between the two). With `again`, a failed start is started again first (the
    /// start screen's "Try again"), and answers `Opening`.
    fn watch(&self, channel: Channel<StartStatus>, again: bool) -> StartStatus {
        let Ok(mut inner) = self.inner.lock() else { return StartStatus::Opening };
        let failed = matches!(inner.status, StartStatus::Failed { .. });
        let retry = self.retry.get().filter(|_| again && failed);
        if retry.is_some() {
            inner.status = StartStatus::Opening;
        }
        if !matches!(inner.status, StartStatus::Ready { .. } | StartStatus::Failed { .. }) {
            inner.watchers.push(channel);
        }
        let now = inner.status.clone();
        drop(inner);
        if let Some(retry) = retry {
            retry();
        }
        now
    }
}

/// Where the start is; until it is ready or failed, every change (the encryption's progress)
/// is sent on `on_progress` too. `again` after a failure: the start is tried again.
#[tauri::command]
#[specta::specta]
pub async fn start_status(
    starting: State<'_, Starting>,
    on_progress: Channel<StartStatus>,
    again: bool,
) -> Cmd<StartStatus> {
    Ok(starting.watch(on_progress, again))
}
