//! What the app keeps between commands: the store and the one session slot.

use hms_core::backup::{self, RestoreOutcome};
use hms_core::{setup, SessionSlot, Store};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub struct AppState {
    pub store: Store,
    pub session: SessionSlot,
    /// Where ID cards and exports are saved (Downloads/HMS on desktops).
    pub exports_dir: PathBuf,
    /// How the restore asked for in the app before this start ended (shown at sign-in).
    pub restore_outcome: Option<RestoreOutcome>,
    /// Starts the app again shortly (set by the app's setup: tests that open a state without
    /// a window have none).
    pub restart: OnceLock<Box<dyn Fn() + Send + Sync>>,
}

impl AppState {
    pub async fn open(dir: &Path, exports_dir: PathBuf) -> Result<AppState, hms_core::Error> {
        // A restore asked for on the Backups screen runs before the store opens (see
        // hms_core::backup::request_restore).
        let restore_outcome = backup::run_pending_restore(dir).await;
        let store = Store::open_in_dir(dir).await?;
        if let Some(outcome) = &restore_outcome {
            if let Err(e) = backup::audit_outcome(&store, outcome).await {
                tracing::warn!(target: "hms::backup", code = e.code(), error = %e, "auditing the restore's failure");
            }
        }
        // `make run DEMO=1`: a demo hospital on first start.
        if std::env::var("HMS_DEMO").is_ok_and(|v| v == "1") && setup::needs_setup(&store).await? {
            setup::load_demo(&store).await?;
        }
        Ok(AppState { store, session: SessionSlot::default(), exports_dir, restore_outcome, restart: OnceLock::new() })
    }

    /// Starts the app again shortly, where it can (see `restart` in lib.rs).
    pub fn restart_soon(&self) {
        match self.restart.get() {
            Some(restart) => restart(),
            None => {
                tracing::warn!(target: "hms::backup", "no way to start again here: the restore runs at the next start")
            }
        }
    }
}
