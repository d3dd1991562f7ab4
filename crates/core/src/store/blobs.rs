//! The device's blob store: files kept by the SHA-256 of their content, each content once,
//! under `attachments/<2 hex>/<sha256>` in the data directory (the folder keeps the name it
//! had when only attachments used it). A file is written to a temporary file, synced to disk,
//! then renamed, so a crash never leaves half a file under its final name.
//!
//! Attachments keep their files here (`clinical::attachments`) and sync sends and fetches
//! them through the server (`sync::blobs`): both know this module, neither knows the other.

use super::Store;
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A column whose values name files of this store (their SHA-256), registered by the module
/// that owns the table (`inventory::submit!`), so that storage and sync find every file a
/// synced row refers to without naming the table. The table carries the sync columns
/// (`origin_device`, `deleted_at`).
pub struct BlobColumn {
    pub table: &'static str,
    pub column: &'static str,
}

inventory::collect!(BlobColumn);

/// Every registered blob column, ordered by table and column.
pub fn columns() -> Vec<&'static BlobColumn> {
    let mut all: Vec<&'static BlobColumn> = inventory::iter::<BlobColumn>.into_iter().collect();
    all.sort_by_key(|c| (c.table, c.column));
    all
}

/// The folder of stored files inside the data directory.
pub const DIR: &str = "attachments";

/// The SHA-256 of a content, as lowercase hex: its name in the store.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Where a content's file lives; `None` unless `sha256` is 64 lowercase hex digits, so that a
/// hash that arrived by sync (`/dev/zero`, `../..`) never names another path.
pub fn path(store: &Store, sha256: &str) -> Option<PathBuf> {
    if !hms_policy::forms::valid_sha256(sha256) {
        return None;
    }
    Some(store.data_dir().join(DIR).join(&sha256[..2]).join(sha256))
}

/// Whether a file of that content is here (not checked against its hash).
pub fn has(store: &Store, sha256: &str) -> bool {
    path(store, sha256).is_some_and(|p| p.is_file())
}

/// The stored bytes of `sha256` as they are on disk (the caller checks them); a file that is
/// not here, or a hash that names no file, is `ErrorKind::NotFound`.
pub fn read(store: &Store, sha256: &str) -> std::io::Result<Vec<u8>> {
    let path = path(store, sha256).ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))?;
    std::fs::read(path)
}

/// The stored bytes of `sha256` when the file is here and whole (its content still hashes to
/// its name); `None` when it is missing or damaged.
pub fn read_intact(store: &Store, sha256: &str) -> Option<Vec<u8>> {
    read(store, sha256).ok().filter(|bytes| sha256_hex(bytes) == sha256)
}

/// A storage error naming the file.
pub fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::storage(format_args!("{}: {e}", path.display()))
}

/// Stores a content under its hash, once: a file already there with the right content is
/// kept; a damaged one is replaced. Temporary file, fsync, then rename.
pub fn put(store: &Store, sha256: &str, bytes: &[u8]) -> Result<()> {
    let path = path(store, sha256).ok_or_else(|| Error::internal("a blob hash that is not a SHA-256"))?;
    if let Ok(existing) = std::fs::read(&path) {
        if sha256_hex(&existing) == sha256 {
            return Ok(());
        }
    }
    let dir = path.parent().ok_or_else(|| Error::internal("blob path without a folder"))?;
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let tmp = dir.join(format!(".{sha256}.{}.tmp", crate::ids::new_id()));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_error(&path, e));
    }
    Ok(())
}
