//! The device's log: what the screen must not show (a database error's SQL text, a path) is
//! written here under a short reference that the error carries instead (`Error::storage`).
//!
//! The app logs to `logs/hms.log` in its data directory ([`to_file`]); `hms-admin` to
//! standard error ([`to_stderr`]). Without either (library tests), events go nowhere.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The log file's name inside the data directory.
pub const FILE: &str = "logs/hms.log";

/// A new reference for one logged failure: 8 characters a person can read out on the phone.
pub fn reference() -> String {
    let mut bytes = [0u8; 4];
    if getrandom::fill(&mut bytes).is_err() {
        // Never fails on a supported platform; a time-based reference still tells apart.
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        bytes = nanos.to_be_bytes();
    }
    hex::encode_upper(bytes)
}

/// The log file of a data directory.
pub fn file_in(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE)
}

/// Sends this process's log (warnings and errors) to the data directory's log file, appended.
/// The first call in a process wins; later ones (a second app in one test process) keep it.
pub fn to_file(data_dir: &Path) -> std::io::Result<()> {
    let path = file_in(data_dir);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = OpenOptions::new().create(true).append(true).open(&path)?;
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .try_init();
    Ok(())
}

/// Sends this process's log (warnings and errors) to standard error (the command-line tools).
pub fn to_stderr() {
    let _ = tracing_subscriber::fmt().with_max_level(tracing::Level::WARN).with_writer(std::io::stderr).try_init();
}
