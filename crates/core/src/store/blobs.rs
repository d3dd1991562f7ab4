//! The device's blob store: files kept by the SHA-256 of their content, each content once,
//! under `attachments/<2 hex>/<sha256>` in the data directory (the folder keeps the name it
//! had when only attachments used it). A file is written to a temporary file, synced to disk,
//! then renamed, so a crash never leaves half a file under its final name.
//!
//! Every file is encrypted at rest (`blob_cipher`: AES-256-GCM under a key derived from the
//! database key); its name stays the SHA-256 of the clear content. Callers give and get the
//! clear content. Files written before encryption (no header) still read, and are encrypted
//! when read, or all at once the first time the store opens ([`seal_clear_on_open`]).
//!
//! Attachments keep their files here (`clinical::attachments`) and sync sends and fetches
//! them through the server (`sync::blobs`): both know this module, neither knows the other.

use super::blob_cipher::{self, BlobKey};
use super::{db_key, meta, Store};
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use sqlx::SqlitePool;
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
    file_in(&store.data_dir().join(DIR), sha256)
}

/// Where a content's file lives in the store folder `root` (a data directory's or a backup's
/// `attachments`); `None` unless `sha256` is 64 lowercase hex digits.
pub fn file_in(root: &Path, sha256: &str) -> Option<PathBuf> {
    if !hms_policy::forms::valid_sha256(sha256) {
        return None;
    }
    Some(root.join(&sha256[..2]).join(sha256))
}

/// Whether a file of that content is here (not checked against its hash).
pub fn has(store: &Store, sha256: &str) -> bool {
    path(store, sha256).is_some_and(|p| p.is_file())
}

/// What a stored file holds.
pub enum Found {
    /// Encrypted, and opened with a key given: its clear content.
    Sealed(Vec<u8>),
    /// Written before encryption at rest: the content, which hashes to the file's name.
    Clear(Vec<u8>),
    /// Neither: the bytes as they are on the disk (damaged, or under another key).
    Damaged(Vec<u8>),
}

/// Reads the bytes `stored` of the file named `sha256` with `key`.
pub fn unseal(key: &BlobKey, sha256: &str, stored: Vec<u8>) -> Found {
    if let Some(content) = blob_cipher::open(key, sha256, &stored) {
        return Found::Sealed(content);
    }
    if sha256_hex(&stored) == sha256 {
        Found::Clear(stored)
    } else {
        Found::Damaged(stored)
    }
}

/// [`unseal`] with the store's key, then with the new key of a `rekey` that was cut off
/// halfway (`db_key::read_pending_key`): its files are each under one of the two.
fn unseal_here(store: &Store, sha256: &str, stored: Vec<u8>) -> Found {
    match unseal(store.blob_key(), sha256, stored) {
        Found::Damaged(bytes) if blob_cipher::is_sealed(&bytes) => match db_key::read_pending_key(store.path()) {
            Some(pending) => unseal(&BlobKey::derive(&pending), sha256, bytes),
            None => Found::Damaged(bytes),
        },
        found => found,
    }
}

/// The clear content of `sha256` (the caller checks it against its hash): a file that does
/// not open with this computer's key answers its bytes as they are on the disk, which do not
/// hash to its name. A clear file from before encryption is encrypted now. A file that is not
/// here, or a hash that names no file, is `ErrorKind::NotFound`.
pub fn read(store: &Store, sha256: &str) -> std::io::Result<Vec<u8>> {
    let path = path(store, sha256).ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))?;
    let stored = std::fs::read(&path)?;
    Ok(match unseal_here(store, sha256, stored) {
        Found::Sealed(content) | Found::Damaged(content) => content,
        Found::Clear(content) => {
            if let Err(e) = write_file(&path, store.blob_key(), sha256, &content) {
                tracing::warn!(target: "hms::storage", error = %e, "a clear stored file was not encrypted");
            }
            content
        }
    })
}

/// The clear content of `sha256` when the file is here, opens with this computer's key and
/// is whole (its content still hashes to its name); `None` when it is missing or damaged.
pub fn read_intact(store: &Store, sha256: &str) -> Option<Vec<u8>> {
    read(store, sha256).ok().filter(|bytes| sha256_hex(bytes) == sha256)
}

/// A storage error naming the file.
pub fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::storage(format_args!("{}: {e}", path.display()))
}

/// Stores a content under its hash, once: a file already there, encrypted with this
/// computer's key and whole, is kept; a damaged or clear one is replaced.
pub fn put(store: &Store, sha256: &str, bytes: &[u8]) -> Result<()> {
    let path = path(store, sha256).ok_or_else(|| Error::internal("a blob hash that is not a SHA-256"))?;
    if let Ok(existing) = std::fs::read(&path) {
        if matches!(unseal(store.blob_key(), sha256, existing), Found::Sealed(c) if sha256_hex(&c) == sha256) {
            return Ok(());
        }
    }
    write_file(&path, store.blob_key(), sha256, bytes)
}

/// Writes `content` encrypted with `key` as the file `path` (named `sha256`): under a
/// temporary name, synced to disk, read back and opened, then renamed over whatever was
/// there, so a crash leaves either the old file or the new one whole under that name.
pub fn write_file(path: &Path, key: &BlobKey, sha256: &str, content: &[u8]) -> Result<()> {
    let sealed = blob_cipher::seal(key, sha256, content)?;
    let dir = path.parent().ok_or_else(|| Error::internal("blob path without a folder"))?;
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let tmp = dir.join(format!(".{sha256}.{}.tmp", crate::ids::new_id()));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&sealed)?;
        f.sync_all()?;
        let back = std::fs::read(&tmp)?;
        if blob_cipher::open(key, sha256, &back).as_deref() != Some(content) {
            return Err(std::io::Error::other("the encrypted copy does not read back"));
        }
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_error(path, e));
    }
    Ok(())
}

/// The stored files under `root`: `<2 hex>/<sha256>`, skipping anything else (temporary
/// files), as (name, path) ordered by name.
pub fn stored_files(root: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let Ok(dirs) = std::fs::read_dir(root) else {
        return out;
    };
    for d in dirs.flatten() {
        let prefix = d.file_name().to_string_lossy().to_string();
        let Ok(files) = std::fs::read_dir(d.path()) else {
            continue;
        };
        for f in files.flatten() {
            let name = f.file_name().to_string_lossy().to_string();
            if hms_policy::forms::valid_sha256(&name) && name.starts_with(&prefix) && f.path().is_file() {
                out.push((name, f.path()));
            }
        }
    }
    out.sort();
    out
}

/// Set in `meta` once every clear file of the store has been encrypted.
const SEALED_KEY: &str = "blobs_encrypted";

/// On opening a store: the clear files from before encryption at rest are encrypted, once
/// (recorded in `meta`). A file that fails is logged and left as it is (it still reads, and
/// is encrypted when read); the next opening tries again.
pub(crate) async fn seal_clear_on_open(pool: &SqlitePool, root: &Path, key: &BlobKey) -> Result<()> {
    if meta::get(pool, SEALED_KEY).await?.is_some() {
        return Ok(());
    }
    let (dir, k) = (root.to_path_buf(), key.clone());
    let done = tokio::task::spawn_blocking(move || reseal_files(&dir, None, &k))
        .await
        .map_err(|e| Error::internal(format!("encrypting the stored files: {e}")))?;
    if done.failed == 0 {
        meta::set(pool, SEALED_KEY, "1").await?;
    }
    if done.written > 0 || done.failed > 0 {
        tracing::info!(target: "hms::storage", encrypted = done.written, failed = done.failed, "clear stored files encrypted");
    }
    Ok(())
}

/// What [`reseal_files`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Resealed {
    /// Files written under the new key.
    pub written: u32,
    /// Files that could not be read or written (logged; left as they were).
    pub failed: u32,
}

/// Puts every file under `root` under the key `new`: a file that already opens with it is
/// kept; one that opens with `old`, or is clear, is written again ([`write_file`]: whole
/// under one key or the other at every moment); a damaged one is left (logged).
pub fn reseal_files(root: &Path, old: Option<&BlobKey>, new: &BlobKey) -> Resealed {
    let mut done = Resealed::default();
    for (sha, path) in stored_files(root) {
        let stored = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(target: "hms::storage", file = %path.display(), error = %e, "stored file not read");
                done.failed += 1;
                continue;
            }
        };
        let content = match unseal(new, &sha, stored) {
            Found::Sealed(_) => continue,
            Found::Clear(content) => content,
            Found::Damaged(bytes) => match old.map(|k| unseal(k, &sha, bytes)) {
                Some(Found::Sealed(content) | Found::Clear(content)) => content,
                _ => {
                    tracing::warn!(target: "hms::storage", file = %path.display(), "stored file damaged: left as it is");
                    continue;
                }
            },
        };
        match write_file(&path, new, &sha, &content) {
            Ok(()) => done.written += 1,
            Err(e) => {
                tracing::warn!(target: "hms::storage", error = %e, "stored file not encrypted");
                done.failed += 1;
            }
        }
    }
    done
}
