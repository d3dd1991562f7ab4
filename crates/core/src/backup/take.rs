//! Taking a backup: the database copied from one read transaction while the app keeps
//! working, the attachments copied, the manifest written, all under a temporary name that is
//! synced and renamed, then verified before it counts.

use super::manifest::{FileEntry, Manifest, DATABASE, FORMAT, MANIFEST};
use super::{facts, hash_file, io, sync_dir};
use crate::error::{Error, Result};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::blob_cipher::{self, BlobKey};
use crate::store::blobs::{self, Found};
use crate::store::{Actor, Store};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Every backup folder's name starts with it: `hms-backup-<clinic>-<YYYYMMDDTHHMMSSZ>`.
pub const PREFIX: &str = "hms-backup-";

/// What a backup is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum BackupPhase {
    /// Copying the database.
    Database,
    /// Copying the stored files.
    Attachments,
    /// Checking the written backup.
    Verify,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, specta::Type)]
pub struct BackupProgress {
    pub phase: BackupPhase,
    /// 0 to 1 within the phase.
    pub fraction: f64,
}

/// A backup taken and verified.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct BackupReport {
    /// The backup folder.
    pub path: String,
    pub manifest: Manifest,
    /// Stored files that were damaged (their content no longer matches their name) and so
    /// were left out.
    pub damaged_files: u32,
    /// Seconds the backup took, its verification included.
    pub seconds: f64,
}

/// Backs up the store into a new folder in `dir`, verified (administrators only; audited).
pub async fn create(
    store: &Store,
    auth: &Authorized,
    dir: &Path,
    progress: &(dyn Fn(BackupProgress) + Sync),
) -> Result<BackupReport> {
    auth.require(Permission::BackupManage)?;
    take_as(store, auth.actor(), dir, progress).await
}

/// [`take`], audited as `actor` (`backup.create`, what was written or why it failed): the
/// administrator's through [`create`], the system's for the CLI on the machine itself. The
/// outcome is recorded for the Backups screen and the Home tile (the last good backup, or
/// the failure): a backup taken by `hms-admin backup` counts as well.
pub async fn take_as(
    store: &Store,
    actor: Actor,
    dir: &Path,
    progress: &(dyn Fn(BackupProgress) + Sync),
) -> Result<BackupReport> {
    let taken = take(store, dir, progress).await;
    let detail = match &taken {
        Ok(r) => serde_json::json!({
            "path": r.path, "bytes": r.manifest.total_bytes(), "files": r.manifest.files.len(),
            "schema_version": r.manifest.schema_version, "damaged_files": r.damaged_files,
        }),
        Err(e) => serde_json::json!({ "folder": dir.display().to_string(), "failed": e.code() }),
    };
    let mut w = store.begin_write(actor).await?;
    w.audit("backup.create", "backup", None, detail).await?;
    w.commit().await?;
    if let Err(e) = super::device::record_outcome(store, dir, &taken).await {
        tracing::warn!(target: "hms::backup", error = %e, "the backup's outcome was not recorded");
    }
    taken
}

/// Backs up the store into a new folder in `dir` and verifies it; a backup that fails its
/// verification is removed and the failure returned. Not audited: [`create`] is the
/// administrator's way; this is the machine's own (the CLI audits as the system).
pub async fn take(store: &Store, dir: &Path, progress: &(dyn Fn(BackupProgress) + Sync)) -> Result<BackupReport> {
    let started = Instant::now();
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let clinic = crate::clinic::name(store).await?;
    let stamp = store.now().format("%Y%m%dT%H%M%SZ").to_string();
    let (name, target) = free_name(dir, &format!("{PREFIX}{}-{stamp}", slug(&clinic)));
    let partial = dir.join(format!(".{name}.partial"));
    if partial.exists() {
        // Ours (by its name), left by a backup that was cut off.
        std::fs::remove_dir_all(&partial).map_err(|e| io(&partial, e))?;
    }
    std::fs::create_dir(&partial).map_err(|e| io(&partial, e))?;
    let written = write(store, &partial, progress).await;
    let (manifest, damaged_files) = match written {
        Ok(done) => done,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(e);
        }
    };
    if let Err(e) = std::fs::rename(&partial, &target) {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(io(&target, e));
    }
    sync_dir(dir);
    progress(BackupProgress { phase: BackupPhase::Verify, fraction: 0.0 });
    if let Err(e) = super::verify(&target, store.db_key()).await {
        let _ = std::fs::remove_dir_all(&target);
        return Err(e);
    }
    progress(BackupProgress { phase: BackupPhase::Verify, fraction: 1.0 });
    Ok(BackupReport {
        path: target.display().to_string(),
        manifest,
        damaged_files,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Writes the backup's files into `dir` (the temporary folder), synced to disk.
async fn write(store: &Store, dir: &Path, progress: &(dyn Fn(BackupProgress) + Sync)) -> Result<(Manifest, u32)> {
    let db = dir.join(DATABASE);
    copy_database(store, &db, progress).await?;
    // The copy as a file complete on its own (no WAL beside it), and what it holds.
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        // A clear copy of the bench's unencrypted store (`--plain`) opens without the key.
        .connect_with(crate::store::db_key::options_for(&db, store.db_key())?)
        .await?;
    sqlx::query("PRAGMA journal_mode = DELETE").execute(&pool).await?;
    let facts = facts(&pool).await;
    pool.close().await;
    let facts = facts?;

    let copied = Arc::new(AtomicU64::new(0));
    let (src, dst, counter) = (store.data_dir().join(blobs::DIR), dir.join(blobs::DIR), copied.clone());
    let total = folder_bytes(&src);
    let key = store.blob_key().clone();
    let blobs_done = tokio::task::spawn_blocking(move || copy_blobs(&src, &dst, &key, &counter));
    let (blob_files, damaged) = poll(blobs_done, || {
        let fraction = if total == 0 { 1.0 } else { (copied.load(Ordering::Relaxed) as f64 / total as f64).min(1.0) };
        progress(BackupProgress { phase: BackupPhase::Attachments, fraction });
    })
    .await
    .map_err(|e| Error::internal(format!("backup: copying the attachments: {e}")))??;

    let db_path = db.clone();
    let (bytes, sha256) = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&db_path)?;
        file.sync_all()?;
        hash_file(&db_path)
    })
    .await
    .map_err(|e| Error::internal(format!("backup: hashing the database: {e}")))?
    .map_err(|e| io(&db, e))?;
    let mut files = vec![FileEntry { path: DATABASE.to_string(), bytes, sha256 }];
    files.extend(blob_files);
    let manifest = Manifest {
        format: FORMAT.to_string(),
        clinic: facts.clinic,
        device_id: facts.device_id,
        taken_at: store.now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        app_version: env!("CARGO_PKG_VERSION").to_string(),
        schema_version: facts.schema_version,
        counts: facts.counts,
        audit_head: facts.audit_head,
        last_change_seq: facts.last_change_seq,
        files,
    };
    let path = dir.join(MANIFEST);
    let text = serde_json::to_vec_pretty(&manifest)?;
    write_synced(&path, &text).map_err(|e| io(&path, e))?;
    sync_dir(&dir.join(blobs::DIR));
    sync_dir(dir);
    Ok((manifest, damaged))
}

/// `VACUUM INTO` from one read transaction (writers go on meanwhile: WAL), with its progress
/// read from the copy's growing size against the database's used pages.
async fn copy_database(store: &Store, to: &Path, progress: &(dyn Fn(BackupProgress) + Sync)) -> Result<()> {
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count").fetch_one(store.pool()).await?;
    let free: i64 = sqlx::query_scalar("PRAGMA freelist_count").fetch_one(store.pool()).await?;
    // SQLCipher answers `PRAGMA page_size` as text: read it cast.
    let page: i64 =
        sqlx::query_scalar("SELECT CAST(page_size AS INTEGER) FROM pragma_page_size").fetch_one(store.pool()).await?;
    let expected = u64::try_from((pages - free).max(1) * page).unwrap_or(1);
    let target = to.to_str().ok_or_else(|| Error::internal("backup folder path is not UTF-8"))?.to_string();
    let vacuum = sqlx::query("VACUUM INTO ?").bind(target).execute(store.pool());
    progress(BackupProgress { phase: BackupPhase::Database, fraction: 0.0 });
    poll(vacuum, || {
        let len = std::fs::metadata(to).map_or(0, |m| m.len());
        progress(BackupProgress { phase: BackupPhase::Database, fraction: (len as f64 / expected as f64).min(0.99) });
    })
    .await
    .map_err(|e| Error::writing(e, "backup"))?;
    progress(BackupProgress { phase: BackupPhase::Database, fraction: 1.0 });
    Ok(())
}

/// Runs `work`, calling `tick` every 200 ms until it ends.
async fn poll<T>(work: impl std::future::Future<Output = T>, tick: impl Fn()) -> T {
    tokio::pin!(work);
    let mut every = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            done = &mut work => return done,
            _ = every.tick() => tick(),
        }
    }
}

fn folder_bytes(root: &Path) -> u64 {
    blobs::stored_files(root).iter().filter_map(|(_, p)| std::fs::metadata(p).ok()).map(|m| m.len()).sum()
}

/// Copies every intact stored file of `src` into `dst` (synced) encrypted as it is, counting
/// the bytes in `copied`: a file must open with `key` (this computer's) and its content hash
/// to its name, or it is left out and counted as damaged; a clear one (from before
/// encryption at rest) is encrypted for the backup. Answers the files copied, as manifest
/// entries: the size and SHA-256 of their clear content, which `verify` checks after
/// decrypting them.
fn copy_blobs(src: &Path, dst: &Path, key: &BlobKey, copied: &AtomicU64) -> Result<(Vec<FileEntry>, u32)> {
    let mut entries = Vec::new();
    let mut damaged = 0;
    for (sha, path) in blobs::stored_files(src) {
        let stored = std::fs::read(&path).map_err(|e| io(&path, e))?;
        copied.fetch_add(stored.len() as u64, Ordering::Relaxed);
        let (content, bytes) = match blobs::unseal(key, &sha, stored.clone()) {
            Found::Sealed(content) if blobs::sha256_hex(&content) == sha => (content, stored),
            Found::Clear(content) => {
                let sealed = blob_cipher::seal(key, &sha, &content)?;
                (content, sealed)
            }
            _ => {
                tracing::warn!(target: "hms::backup", file = %path.display(), "stored file damaged: left out of the backup");
                damaged += 1;
                continue;
            }
        };
        let folder = dst.join(&sha[..2]);
        std::fs::create_dir_all(&folder).map_err(|e| io(&folder, e))?;
        let to = folder.join(&sha);
        write_synced(&to, &bytes).map_err(|e| io(&to, e))?;
        entries.push(FileEntry {
            path: format!("{}/{}/{sha}", blobs::DIR, &sha[..2]),
            bytes: content.len() as u64,
            sha256: sha,
        });
    }
    Ok((entries, damaged))
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// `base`, or `base-2`, `base-3`... whichever is free in `dir`: (name, path).
fn free_name(dir: &Path, base: &str) -> (String, PathBuf) {
    let mut name = base.to_string();
    let mut n = 1;
    while dir.join(&name).exists() {
        n += 1;
        name = format!("{base}-{n}");
    }
    let path = dir.join(&name);
    (name, path)
}

/// A clinic's name as part of a folder name: ASCII letters and digits, '-' between words, at
/// most 40 characters ("clinic" when nothing is left).
pub(super) fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in deunicode::deunicode(name).chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out: String = out.trim_end_matches('-').chars().take(40).collect();
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        "clinic".to_string()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clinic_name_becomes_a_folder_name() {
        assert_eq!(slug("Sunrise Clinic"), "sunrise-clinic");
        assert_eq!(slug("  Dr. Rao's  Eye Care / Pune "), "dr-rao-s-eye-care-pune");
        assert_eq!(slug("Clínica São José"), "clinica-sao-jose");
        assert_eq!(slug("../.."), "clinic");
        assert_eq!(slug(&"a".repeat(60)).len(), 40);
    }
}
