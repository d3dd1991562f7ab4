//! What the app keeps between commands: the store and the one session slot.

use hms_core::{setup, SessionSlot, Store};
use std::path::{Path, PathBuf};

pub struct AppState {
    pub store: Store,
    pub session: SessionSlot,
    /// Where ID cards and exports are saved (Downloads/HMS on desktops).
    pub exports_dir: PathBuf,
}

impl AppState {
    pub async fn open(dir: &Path, exports_dir: PathBuf) -> Result<AppState, hms_core::Error> {
        let store = Store::open_in_dir(dir).await?;
        // `make run DEMO=1`: a demo hospital on first start.
        if std::env::var("HMS_DEMO").is_ok_and(|v| v == "1") && setup::needs_setup(&store).await? {
            setup::load_demo(&store).await?;
        }
        Ok(AppState { store, session: SessionSlot::default(), exports_dir })
    }
}
