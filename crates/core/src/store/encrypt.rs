//! Encrypting a clear database once: a database made before encryption at rest (or an old
//! backup's copy being restored) becomes a SQLCipher one with the key given, verified before
//! the clear file is replaced.
//!
//! In order, each step leaving the clear database as it was when it fails:
//! 1. the clear database is made whole in its main file (WAL checkpointed, journal back to
//!    DELETE, so no clear WAL is left beside the encrypted file), its rows counted;
//! 2. `sqlcipher_export` writes an encrypted copy under a temporary name (`hms.db.encrypting`),
//!    with the schema version;
//! 3. the copy is opened with the key: `PRAGMA integrity_check` must say ok and every table
//!    must hold as many rows as the clear one;
//! 4. the copy is synced and renamed over the clear file (one atomic rename), the folder synced.
//!
//! At 1,000,000 patients this takes a while, so it reports its progress
//! ([`EncryptProgress`]: pages of the encrypted copy written, of the total expected, then the
//! check) to a callback: the app shows a bar on its start screen (no Tauri here).

use super::blob_cipher::BlobKey;
use super::db_key::{self, DbKey};
use crate::error::{Error, Result};
use serde::Serialize;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How far the one-time encryption of a clear database is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
pub struct EncryptProgress {
    pub stage: EncryptStage,
    /// Pages of the encrypted copy written (during `checking`: all of them).
    pub pages_done: u32,
    /// The pages the copy is expected to have (the clear database's pages in use, each
    /// holding a little less once encrypted); `pages_done` never passes it.
    pub pages_total: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum EncryptStage {
    /// Writing the encrypted copy (`sqlcipher_export`).
    Copying,
    /// Checking the copy (integrity check, row counts) before it replaces the clear file.
    Checking,
}

/// How often the copy's size is looked at while it is written.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// SQLCipher 4's page: 4096 bytes, of which 80 hold the page's IV and HMAC.
const CIPHER_PAGE: u64 = 4096;
const CIPHER_RESERVE: u64 = 80;

/// The app's start: the key of the database at `path` found (or made, `db_key::load_or_create`)
/// and, when the database is a clear one from before, encrypted in place with `progress`
/// reports. Anything else (none yet, already encrypted) is left to `Store::open`.
pub async fn encrypt_clear_database(path: &Path, progress: &(dyn Fn(EncryptProgress) + Sync)) -> Result<()> {
    if db_key::file_kind(path)? != db_key::FileKind::Plain {
        return Ok(());
    }
    let key = db_key::load_or_create(path)?;
    encrypt_in_place_with(path, &key, progress).await
}

/// Encrypts the clear database at `path` with `key` in place (see the module's steps).
pub async fn encrypt_in_place(path: &Path, key: &DbKey) -> Result<()> {
    encrypt_in_place_with(path, key, &|_| {}).await
}

/// [`encrypt_in_place`], reporting its progress to `progress`: copying reports only go up,
/// the last one at `pages_total`, then one `checking`.
pub async fn encrypt_in_place_with(
    path: &Path,
    key: &DbKey,
    progress: &(dyn Fn(EncryptProgress) + Sync),
) -> Result<()> {
    let tmp = sibling(path, ".encrypting");
    let _ = std::fs::remove_file(&tmp);
    let done = export(path, &tmp, key, progress).await;
    if let Err(e) = done {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let swapped = std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| Error::storage(format_args!("{}: {e}", path.display())));
    if let Err(e) = swapped {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(sibling(path, suffix));
    }
    if let Some(dir) = path.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    tracing::info!(target: "hms::storage", path = %path.display(), "database encrypted at rest");
    Ok(())
}

/// Steps 1 to 3: the verified encrypted copy at `tmp`.
async fn export(path: &Path, tmp: &Path, key: &DbKey, progress: &(dyn Fn(EncryptProgress) + Sync)) -> Result<()> {
    let target = tmp.to_str().ok_or_else(|| Error::internal("database path is not UTF-8"))?.to_string();
    // Allowed to create files: ATTACH makes the copy with the connection's open flags.
    let mut clear = SqliteConnectOptions::new().filename(path).create_if_missing(true).connect().await?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut clear).await?;
    sqlx::query("PRAGMA journal_mode = DELETE").execute(&mut clear).await?;
    let expected = counts(&mut clear).await?;
    let version: i64 = sqlx::query_scalar("PRAGMA user_version").fetch_one(&mut clear).await?;
    // The key is hex digits from DbKey, never from input; the path is bound.
    let total = expected_pages(&mut clear).await?;
    sqlx::query(&format!("ATTACH DATABASE ? AS encrypted KEY {}", key.pragma()))
        .bind(&target)
        .execute(&mut clear)
        .await?;
    let copying = |done: u32| EncryptProgress { stage: EncryptStage::Copying, pages_done: done, pages_total: total };
    progress(copying(0));
    {
        // The copy's size, looked at while `sqlcipher_export` (one statement) writes it.
        let export = sqlx::query("SELECT sqlcipher_export('encrypted')").execute(&mut clear);
        tokio::pin!(export);
        let mut shown = 0;
        let mut ticks = tokio::time::interval(PROGRESS_EVERY);
        loop {
            tokio::select! {
                done = &mut export => { done?; break; }
                _ = ticks.tick() => {
                    let written = std::fs::metadata(tmp).map_or(0, |m| m.len()) / CIPHER_PAGE;
                    // Below the total until the copy is whole (the total is an estimate).
                    let now = u32::try_from(written).unwrap_or(u32::MAX).min(total.saturating_sub(1));
                    if now > shown {
                        shown = now;
                        progress(copying(shown));
                    }
                }
            }
        }
    }
    progress(copying(total));
    sqlx::query(&format!("PRAGMA encrypted.user_version = {version}")).execute(&mut clear).await?;
    sqlx::query("DETACH DATABASE encrypted").execute(&mut clear).await?;
    clear.close().await?;

    progress(EncryptProgress { stage: EncryptStage::Checking, pages_done: total, pages_total: total });
    let mut copy = db_key::options(tmp, key).connect().await?;
    let check: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut copy).await?;
    if check != "ok" {
        return Err(Error::internal(format!("encrypting the database: the copy fails its integrity check: {check}")));
    }
    let got = counts(&mut copy).await?;
    copy.close().await?;
    if got != expected {
        return Err(Error::internal("encrypting the database: the copy's row counts differ from the database's"));
    }
    Ok(())
}

/// The pages the encrypted copy is expected to have: the clear database's pages in use (its
/// free pages are not copied), each holding 80 bytes less once encrypted. At least 1.
async fn expected_pages(conn: &mut SqliteConnection) -> Result<u32> {
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count").fetch_one(&mut *conn).await?;
    let free: i64 = sqlx::query_scalar("PRAGMA freelist_count").fetch_one(&mut *conn).await?;
    let size: i64 = sqlx::query_scalar("PRAGMA page_size").fetch_one(&mut *conn).await?;
    let bytes = u64::try_from((pages - free).max(1)).unwrap_or(1) * u64::try_from(size).unwrap_or(4096);
    Ok(u32::try_from(bytes.div_ceil(CIPHER_PAGE - CIPHER_RESERVE)).unwrap_or(u32::MAX).max(1))
}

/// Rows per table (virtual tables left out: their shadow tables are counted).
async fn counts(conn: &mut SqliteConnection) -> Result<BTreeMap<String, i64>> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
           AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut all = BTreeMap::new();
    for table in tables {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM \"{}\"", table.replace('"', "\"\"")))
            .fetch_one(&mut *conn)
            .await?;
        all.insert(table, n);
    }
    Ok(all)
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// `hms-admin rekey`: opens the database at `path` (its store closed) with `recovery` — the
/// recovery key, which works whether or not this computer still has its key file — and gives
/// it a new random key: the stored files re-encrypted under it, the database re-encrypted
/// with it (SQLCipher's `rekey`), then the key file replaced. Answers the new key, whose
/// recovery code the administrator writes down in place of the old one. A recovery key that
/// does not open the database is refused ([`Error::Validation`] on `recovery_key`) and
/// nothing changes.
///
/// Cut off at any point, nothing is lost: the new key is on the disk first (the pending key,
/// `hms.db.key.new`, beside the key file); each stored file is replaced whole by a rename,
/// so it opens with one of the two keys, and the blob store tries both; running `rekey`
/// again with the same recovery key takes the pending key up and finishes, also when the
/// database had already taken it.
pub async fn rekey(path: &Path, recovery: &DbKey) -> Result<DbKey> {
    if db_key::file_kind(path)? != db_key::FileKind::Encrypted {
        return Err(Error::validation(
            "database",
            crate::error::ValidationReason::Invalid,
            "no encrypted database here",
        ));
    }
    let pending = db_key::read_pending_key(path);
    let Some(mut conn) = connect(path, recovery).await else {
        // Cut off after the database took the pending key: finished with the old key or the new.
        let resumable = db_key::read_key(path)?.as_ref() == Some(recovery) || pending.as_ref() == Some(recovery);
        let Some(new) = pending.filter(|_| resumable) else {
            return Err(wrong_recovery());
        };
        let Some(conn) = connect(path, &new).await else {
            return Err(wrong_recovery());
        };
        conn.close().await?;
        reseal_files(path, recovery, &new).await?;
        return finish(path, new);
    };
    // A pending key is one a cut-off rekey may have put files under: taken up again.
    let new = match pending {
        Some(key) => key,
        None => {
            let _ = std::fs::remove_file(db_key::pending_key_path(path));
            let key = DbKey::generate()?;
            db_key::write_pending_key(path, &key)?;
            key
        }
    };
    reseal_files(path, recovery, &new).await?;
    leave_wal(&mut conn).await?;
    sqlx::query(&format!("PRAGMA rekey = {}", new.pragma())).execute(&mut conn).await?;
    conn.close().await?;
    finish(path, new)
}

/// How long a rekey waits for the database's other connections to go before it leaves WAL.
/// 15 s was once not enough in CI (a store closed in the same process, on a loaded 2-core
/// machine); a rekey is rare and its wait is shown, so a longer one costs nothing.
const LEAVE_WAL_PATIENCE: Duration = Duration::from_secs(60);

/// Takes the database out of WAL (SQLCipher rekeys only a rollback-journal database). That
/// needs every other connection gone, and SQLite answers "busy"/"locked" at once rather than
/// waiting: the app (or a store in this process) that has just closed may still be letting
/// its last connections go, so it is tried again for a while before giving up.
async fn leave_wal(conn: &mut SqliteConnection) -> Result<()> {
    let started = std::time::Instant::now();
    loop {
        match sqlx::query("PRAGMA journal_mode = DELETE").execute(&mut *conn).await {
            Ok(_) => return Ok(()),
            Err(e) if is_busy(&e) && started.elapsed() < LEAVE_WAL_PATIENCE => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// SQLITE_BUSY or SQLITE_LOCKED (any extended code of them).
fn is_busy(e: &sqlx::Error) -> bool {
    let code = e.as_database_error().and_then(|d| d.code()).and_then(|c| c.parse::<i64>().ok());
    matches!(code.map(|c| c & 0xff), Some(5 | 6))
}

/// A connection to the database at `path` that `key` opens, or `None`.
async fn connect(path: &Path, key: &DbKey) -> Option<SqliteConnection> {
    let mut conn = db_key::options(path, key).connect().await.ok()?;
    let opens: std::result::Result<i64, _> =
        sqlx::query_scalar("SELECT count(*) FROM sqlite_master").fetch_one(&mut conn).await;
    opens.is_ok().then_some(conn)
}

/// Puts the stored files of the database at `path` under `new` (see `blobs::reseal_files`);
/// a file that could not be written fails the rekey before the database changes.
async fn reseal_files(path: &Path, old: &DbKey, new: &DbKey) -> Result<()> {
    let root = path.parent().unwrap_or_else(|| Path::new(".")).join(super::blobs::DIR);
    let (old, new) = (BlobKey::derive(old), BlobKey::derive(new));
    let done = tokio::task::spawn_blocking(move || super::blobs::reseal_files(&root, Some(&old), &new))
        .await
        .map_err(|e| Error::internal(format!("rekey: re-encrypting the stored files: {e}")))?;
    if done.failed > 0 {
        return Err(Error::storage(format_args!(
            "{} stored files could not be re-encrypted (see the log); the key is unchanged: run rekey again",
            done.failed
        )));
    }
    Ok(())
}

/// The key (in the keystore or the key file) replaced by `new`, then the pending key removed.
fn finish(path: &Path, new: DbKey) -> Result<DbKey> {
    db_key::replace_key(path, &new)?;
    let _ = std::fs::remove_file(db_key::pending_key_path(path));
    Ok(new)
}

fn wrong_recovery() -> Error {
    Error::validation(
        "recovery_key",
        crate::error::ValidationReason::Invalid,
        "this recovery key does not open the database",
    )
}
