//! Checking a backup ([`verify`]) and reading what it holds ([`inspect`]). Neither changes
//! anything: the backup's database is opened read-only and immutable.

use super::manifest::{Manifest, DATABASE};
use super::{facts, hash_file, open_read_only, supported_schema, wrong_key};
use crate::error::{Error, Result};
use crate::store::blob_cipher::{self, BlobKey};
use crate::store::blobs::{self, Found};
use crate::store::db_key::DbKey;
use std::path::Path;

/// What the backup at `path` holds, from its manifest, without checking its files (see
/// [`verify`] for that).
pub fn inspect(path: &Path) -> Result<Manifest> {
    let manifest = Manifest::read(path)?;
    for f in &manifest.files {
        if !path.join(&f.path).is_file() {
            return Err(Error::BackupTruncated { file: f.path.clone() });
        }
    }
    Ok(manifest)
}

/// Checks a backup whole, in this order, and answers its manifest:
/// - it is a backup this app writes ([`Error::NotABackup`]), of a schema this build knows
///   ([`Error::BackupNewerSchema`]);
/// - every file the manifest lists is there at its full size ([`Error::BackupTruncated`]) with
///   its SHA-256 ([`Error::BackupChecksumMismatch`]);
/// - the database opens and passes `PRAGMA integrity_check`, its audit chain verifies, and its
///   rows per table, device, audit head and last change agree with the manifest
///   ([`Error::BackupCorrupt`], naming the check).
/// - the database opens with `key` ([`Error::BackupOtherKey`] when its files are whole but it
///   is encrypted with another key).
pub async fn verify(path: &Path, key: &DbKey) -> Result<Manifest> {
    let manifest = Manifest::read(path)?;
    let supported = supported_schema();
    if manifest.schema_version > supported {
        return Err(Error::BackupNewerSchema { version: manifest.schema_version, supported });
    }
    for f in &manifest.files {
        let file = path.join(&f.path);
        let len = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        if !file.is_file() || len < f.bytes {
            return Err(Error::BackupTruncated { file: f.path.clone() });
        }
    }
    // The files' hashes on one thread while the database is checked on another (both read
    // the whole database: one after the other, verifying took their sum). A checksum that
    // does not match is the answer even when the database's checks failed too. Stored files
    // are decrypted with the key and their content checked; one that does not open is
    // reported once the database opened with the key (else the answer is the other key).
    let files: Vec<(String, std::path::PathBuf)> =
        manifest.files.iter().map(|f| (f.path.clone(), path.join(&f.path))).collect();
    let blob_key = BlobKey::derive(key);
    let hashing = tokio::task::spawn_blocking(move || {
        files
            .into_iter()
            .enumerate()
            .map(|(i, (name, file))| {
                let hashed = if i == 0 { hash_file(&file).map(Some) } else { hash_blob(&file, &name, &blob_key) };
                hashed.map(|h| (name, h)).map_err(|e| super::io(&file, e))
            })
            .collect::<Result<Vec<_>>>()
    });
    let checking = async {
        let pool = open_read_only(&path.join(DATABASE), key).await.map_err(not_opened)?;
        let checked = check_database(&pool, &manifest, supported).await;
        pool.close().await;
        checked
    };
    let (hashed, checked) = tokio::join!(hashing, checking);
    let hashed = hashed.map_err(|e| Error::internal(format!("verify: hashing: {e}")))??;
    let mut unopened = None;
    for (f, (name, h)) in manifest.files.iter().zip(hashed) {
        match h {
            Some((len, sha256)) if len != f.bytes || sha256 != f.sha256 => {
                return Err(Error::BackupChecksumMismatch { file: name })
            }
            Some(_) => {}
            None => unopened = unopened.or(Some(name)),
        }
    }
    checked?;
    if let Some(file) = unopened {
        return Err(Error::BackupChecksumMismatch { file });
    }
    Ok(manifest)
}

/// The size and SHA-256 of a stored file's clear content, decrypted with `key` (a clear file,
/// from a backup taken before encryption at rest, as it is); `None` when it does not open.
fn hash_blob(file: &Path, name: &str, key: &BlobKey) -> std::io::Result<Option<(u64, String)>> {
    let sha = name.rsplit('/').next().unwrap_or_default();
    let content = match blobs::unseal(key, sha, std::fs::read(file)?) {
        Found::Sealed(content) | Found::Clear(content) => content,
        // A clear file changed: hashed as it is, the manifest tells.
        Found::Damaged(bytes) if !blob_cipher::is_sealed(&bytes) => bytes,
        Found::Damaged(_) => return Ok(None),
    };
    Ok(Some((content.len() as u64, blobs::sha256_hex(&content))))
}

async fn check_database(pool: &sqlx::SqlitePool, manifest: &Manifest, supported: u32) -> Result<()> {
    let integrity: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check").fetch_all(pool).await.map_err(|e| {
        if wrong_key(&e) {
            Error::BackupOtherKey
        } else {
            corrupt(format!("{DATABASE} cannot be read ({e})"))
        }
    })?;
    if integrity.first().map(String::as_str) != Some("ok") {
        return Err(corrupt(format!(
            "the integrity check of {DATABASE} failed: {}",
            integrity.first().map(String::as_str).unwrap_or("no answer")
        )));
    }
    let facts = facts(pool).await.map_err(|_| corrupt(format!("{DATABASE} is not an HMS database")))?;
    if facts.schema_version > supported {
        return Err(Error::BackupNewerSchema { version: facts.schema_version, supported });
    }
    let audit = crate::audit::verify_database(pool).await?;
    if !audit.intact {
        return Err(corrupt(format!(
            "the audit chain breaks at entry {}: {}",
            audit.first_bad_seq.unwrap_or(0),
            audit.problem.unwrap_or_default()
        )));
    }
    let differs = |what: &str| Err(corrupt(format!("{what} of {DATABASE} differs from the manifest")));
    if facts.schema_version != manifest.schema_version {
        return differs("the schema version");
    }
    if facts.device_id != manifest.device_id {
        return differs("the device");
    }
    if facts.audit_head != manifest.audit_head {
        return differs("the audit chain's last entry");
    }
    if facts.last_change_seq != manifest.last_change_seq {
        return differs("the last change");
    }
    for (table, n) in &manifest.counts {
        if facts.counts.get(table) != Some(n) {
            return differs(&format!("the row count of {table}"));
        }
    }
    if let Some(table) = facts.counts.keys().find(|t| !manifest.counts.contains_key(*t)) {
        return differs(&format!("the table list ({table})"));
    }
    Ok(())
}

/// The database did not open: another key ([`Error::BackupOtherKey`] as it is), or not a
/// database at all.
fn not_opened(e: Error) -> Error {
    match e {
        Error::Storage { .. } => corrupt(format!("{DATABASE} does not open as a database")),
        other => other,
    }
}

fn corrupt(what: String) -> Error {
    Error::BackupCorrupt { what }
}
