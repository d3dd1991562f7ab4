//! Restoring a backup over a closed store: verified first, the current database kept as a
//! safety copy, migrations run on the copy before it is put in place, and the device's
//! change numbering moved past anything it may have used since the backup (so that its next
//! sync is not refused: see README "Backups and restore").

use super::manifest::{Manifest, DATABASE};
use super::{hash_file, io, sync_dir};
use crate::error::{Error, Result};
use crate::store::blob_cipher::BlobKey;
use crate::store::blobs::{self, Found};
use crate::store::db_key::{self, DbKey};
use crate::store::{meta, Store, DB_FILE, MIGRATOR};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::sqlite::SqlitePoolOptions;
use std::path::{Path, PathBuf};

use crate::store::meta::RESTORED_SEQ_KEY;
pub use crate::store::meta::SEQ_FLOOR_KEY;

/// Each restore starts its changes at a multiple of this (2^32 sequences per restore).
const EPOCH: i64 = 1 << 32;
/// 2020-01-01T00:00:00Z: a restore's epoch is its second since then (see [`seq_floor`]).
const EPOCH_ORIGIN_SECS: i64 = 1_577_836_800;

#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct RestoreReport {
    /// What was restored.
    pub manifest: Manifest,
    /// Where the database that was replaced was kept (`None`: there was none).
    pub safety_copy: Option<String>,
    /// The device sequence this device's next change takes.
    #[specta(type = f64)]
    pub next_change_seq: u64,
    /// The backup's schema was older and was migrated to this one.
    pub migrated_from: Option<u32>,
}

/// Restores the backup at `backup` into the data directory `data_dir`, whose store must be
/// closed. In order, each step leaving everything as it was when it fails:
/// 1. the backup is verified ([`super::verify`]); a backup of another clinic than the
///    database here (when that one is set up) is refused ([`Error::BackupOtherClinic`]);
/// 2. its database is copied beside the current one under a temporary name, migrated when
///    it is older, and given its new change numbering ([`seq_floor`]);
/// 3. its attachments are added to the data directory's (nothing there is removed);
/// 4. the current database (with its WAL) moves into `before-restore-<time>/` beside it, the
///    copy takes its place;
/// 5. the store is opened once and the restore audited (`backup.restore`, by `user_id`).
///
/// The backup opens with this computer's key; [`restore_with`] takes the clinic's recovery
/// key for a backup made on another computer.
pub async fn restore(
    data_dir: &Path,
    backup: &Path,
    user_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<RestoreReport> {
    restore_with(data_dir, backup, None, user_id, now).await
}

/// [`restore`], the backup opened with `recovery` (the recovery key of the computer that made
/// it) when given. The restored database is re-keyed to this computer's key (made now if it
/// has none), so this computer's key file and recovery key go on opening it.
pub async fn restore_with(
    data_dir: &Path,
    backup: &Path,
    recovery: Option<&DbKey>,
    user_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<RestoreReport> {
    let db = data_dir.join(DB_FILE);
    std::fs::create_dir_all(data_dir).map_err(|e| io(data_dir, e))?;
    let key = db_key::load_or_create(&db)?;
    let backup_key = recovery.unwrap_or(&key);
    let manifest = super::verify(backup, backup_key).await?;
    let current = if db.is_file() { Some(current_facts(&db, &key).await?) } else { None };
    if let Some(current) = &current {
        ensure_same_clinic(current, &manifest)?;
    }
    let tmp = data_dir.join(format!(".{DB_FILE}.restoring-{}", crate::ids::new_id()));
    let keys = Keys { backup: backup_key, device: &key };
    let last_seq = current.as_ref().map_or(0, |c| c.last_change_seq);
    let prepared = prepare(backup, &tmp, &manifest, keys, last_seq, now).await;
    let (next_change_seq, migrated_from) = match prepared {
        Ok(done) => done,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    if let Err(e) = add_attachments(backup, &manifest, &data_dir.join(blobs::DIR), keys) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let safety = if current.is_some() {
        let base = format!("before-restore-{}", now.format("%Y%m%dT%H%M%SZ"));
        let mut dir = data_dir.join(&base);
        let mut n = 1;
        while dir.exists() {
            n += 1;
            dir = data_dir.join(format!("{base}-{n}"));
        }
        match set_aside_current(&db, &dir) {
            Ok(()) => Some(dir),
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        }
    } else {
        None
    };
    if let Err(e) = std::fs::rename(&tmp, &db) {
        if let Some(dir) = &safety {
            let _ = put_back(dir, &db);
        }
        let _ = std::fs::remove_file(&tmp);
        return Err(io(&db, e));
    }
    sync_dir(data_dir);
    let backup_audit = manifest.audit_head.as_ref().map_or(0, |h| i64::try_from(h.seq).unwrap_or(i64::MAX));
    let used_audit = backup_audit.max(current.as_ref().map_or(0, |c| c.last_audit_seq));
    let audit_seq = crate::audit::chain::restart_seq(now.timestamp(), used_audit);
    let store = Store::open(&db).await?;
    let audited = audit(&store, user_id, &manifest, safety.as_deref(), next_change_seq, audit_seq).await;
    store.close().await;
    audited?;
    Ok(RestoreReport {
        manifest,
        safety_copy: safety.map(|d| d.display().to_string()),
        next_change_seq: u64::try_from(next_change_seq).unwrap_or(0),
        migrated_from,
    })
}

/// The first device sequence after a restore: the restore's epoch, its second since 2020 times
/// 2^32, and in any case a fresh multiple of 2^32 above every sequence the backup and the
/// replaced database used. Sequences are then never reused, whatever this device pushed
/// after the backup was taken (the server's own uniqueness, device and sequence, holds), as
/// long as the clock does not run back past an earlier restore of a database that is gone.
pub fn seq_floor(now: DateTime<Utc>, used: i64) -> i64 {
    let by_time = (now.timestamp() - EPOCH_ORIGIN_SECS).max(0).saturating_mul(EPOCH);
    let by_use = (used / EPOCH + 1).saturating_mul(EPOCH);
    by_time.max(by_use)
}

/// The key the backup opens with, and this computer's.
#[derive(Clone, Copy)]
struct Keys<'k> {
    backup: &'k DbKey,
    device: &'k DbKey,
}

/// Copies the backup's database to `tmp` (synced), migrates it, sets its change numbering and
/// gives it this computer's key (encrypting a clear one, from before encryption at rest).
/// Answers the floor and the schema migrated from.
async fn prepare(
    backup: &Path,
    tmp: &Path,
    manifest: &Manifest,
    keys: Keys<'_>,
    current_last_seq: i64,
    now: DateTime<Utc>,
) -> Result<(i64, Option<u32>)> {
    let from = backup.join(DATABASE);
    std::fs::copy(&from, tmp).map_err(|e| io(tmp, e))?;
    // The copy is the one verified (a backup changed meanwhile is not restored).
    let (to, expected) = (tmp.to_path_buf(), manifest.files.first().map(|f| f.sha256.clone()).unwrap_or_default());
    let (_, sha) = tokio::task::spawn_blocking(move || hash_file(&to))
        .await
        .map_err(|e| Error::internal(format!("restore: {e}")))?
        .map_err(|e| io(tmp, e))?;
    if sha != expected {
        return Err(Error::BackupChecksumMismatch { file: DATABASE.to_string() });
    }
    crate::allocator::route_sqlite();
    let clear = db_key::file_kind(tmp)? == db_key::FileKind::Plain;
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(db_key::options_for(tmp, keys.backup)?.foreign_keys(true))
        .await?;
    let done = async {
        let migrated = MIGRATOR.run(&pool).await;
        migrated?;
        let backup_last = i64::try_from(manifest.last_change_seq).unwrap_or(i64::MAX);
        let floor = seq_floor(now, backup_last.max(current_last_seq));
        meta::set(&pool, SEQ_FLOOR_KEY, &floor.to_string()).await?;
        meta::set(&pool, RESTORED_SEQ_KEY, &backup_last.to_string()).await?;
        sqlx::query("PRAGMA journal_mode = DELETE").execute(&pool).await?;
        if !clear && keys.backup != keys.device {
            // SQLCipher re-encrypts every page (not in WAL mode: the journal is DELETE now).
            sqlx::query(&format!("PRAGMA rekey = {}", keys.device.pragma())).execute(&pool).await?;
        }
        Ok::<_, Error>(floor)
    }
    .await;
    pool.close().await;
    let floor = done?;
    if clear {
        crate::store::encrypt::encrypt_in_place(tmp, keys.device).await?;
    }
    std::fs::File::open(tmp).and_then(|f| f.sync_all()).map_err(|e| io(tmp, e))?;
    let migrated_from = (manifest.schema_version < super::supported_schema()).then_some(manifest.schema_version);
    Ok((floor, migrated_from))
}

/// Adds the backup's stored files that the data directory lacks, each decrypted with the
/// backup's key, checked against its name and written encrypted with this computer's
/// (`blobs::write_file`: temporary file, sync, check, rename), as the database is re-keyed.
fn add_attachments(backup: &Path, manifest: &Manifest, blobs_dir: &Path, keys: Keys<'_>) -> Result<()> {
    let (backup_key, device_key) = (BlobKey::derive(keys.backup), BlobKey::derive(keys.device));
    for f in manifest.files.iter().skip(1) {
        let Some(sha) = f.path.rsplit('/').next().filter(|s| hms_policy::forms::valid_sha256(s)) else {
            continue;
        };
        let Some(to) = blobs::file_in(blobs_dir, sha) else {
            continue;
        };
        let here = std::fs::read(&to).map(|b| blobs::unseal(&device_key, sha, b));
        if matches!(here, Ok(Found::Sealed(c)) if blobs::sha256_hex(&c) == sha) {
            continue;
        }
        let from = backup.join(&f.path);
        let stored = std::fs::read(&from).map_err(|e| io(&from, e))?;
        let content = match blobs::unseal(&backup_key, sha, stored) {
            Found::Sealed(c) | Found::Clear(c) if blobs::sha256_hex(&c) == sha => c,
            _ => return Err(Error::BackupChecksumMismatch { file: f.path.clone() }),
        };
        blobs::write_file(&to, &device_key, sha, &content)?;
    }
    Ok(())
}

/// The database file and its WAL and shared-memory files, as (file name suffix).
const DB_SUFFIXES: [&str; 3] = ["", "-wal", "-shm"];

fn with_suffix(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Moves the current database (and its WAL) into `dir`.
fn set_aside_current(db: &Path, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    for suffix in DB_SUFFIXES {
        let from = with_suffix(db, suffix);
        if from.exists() {
            let to = with_suffix(&dir.join(DB_FILE), suffix);
            if let Err(e) = std::fs::rename(&from, &to) {
                let _ = put_back(dir, db);
                return Err(io(&from, e));
            }
        }
    }
    sync_dir(dir);
    Ok(())
}

/// Moves what [`set_aside_current`] moved back.
fn put_back(dir: &Path, db: &Path) -> std::io::Result<()> {
    for suffix in DB_SUFFIXES {
        let from = with_suffix(&dir.join(DB_FILE), suffix);
        if from.exists() {
            std::fs::rename(&from, with_suffix(db, suffix))?;
        }
    }
    Ok(())
}

/// What restore needs to know of the database it replaces.
struct Current {
    device_id: String,
    tenant_id: Option<String>,
    /// It holds a clinic's records: accounts and patients. A database that was never set up
    /// belongs to no clinic yet, nor does a new computer's whose first administrator exists
    /// only to sign in and restore the old computer's backup (with its recovery key).
    set_up: bool,
    last_change_seq: i64,
    last_audit_seq: i64,
}

async fn current_facts(db: &Path, key: &DbKey) -> Result<Current> {
    crate::allocator::route_sqlite();
    let pool = SqlitePoolOptions::new().max_connections(1).connect_with(db_key::options_for(db, key)?).await?;
    let read = async {
        let device_id = meta::get(&pool, meta::DEVICE_KEY).await?.unwrap_or_default();
        let tenant_id = meta::get(&pool, crate::sync::TENANT_ID_KEY).await?;
        let users: Option<i64> = sqlx::query_scalar("SELECT count(*) FROM users").fetch_optional(&pool).await.ok().flatten();
        let patients: Option<i64> =
            sqlx::query_scalar("SELECT count(*) FROM patients").fetch_optional(&pool).await.ok().flatten();
        let last: Option<i64> = sqlx::query_scalar(
            "SELECT max(COALESCE((SELECT max(seq) FROM change_log), 0), COALESCE((SELECT max(last_seq) FROM change_batches), 0))",
        )
        .fetch_optional(&pool)
        .await
        .ok()
        .flatten();
        let audit: Option<i64> =
            sqlx::query_scalar("SELECT max(seq) FROM audit_log").fetch_optional(&pool).await.ok().flatten().flatten();
        Ok::<_, Error>(Current {
            device_id,
            tenant_id,
            set_up: users.unwrap_or(0) > 0 && patients.unwrap_or(0) > 0,
            last_change_seq: last.unwrap_or(0),
            last_audit_seq: audit.unwrap_or(0),
        })
    }
    .await;
    pool.close().await;
    read
}

/// The same clinic: the same device, or the same sync tenant.
/// Refuses a backup of another clinic than the database at `db` (when there is one, set up):
/// what [`restore`] checks first, for asking before a restart.
pub(super) async fn check_clinic(db: &Path, key: &DbKey, manifest: &Manifest) -> Result<()> {
    if db.is_file() {
        ensure_same_clinic(&current_facts(db, key).await?, manifest)?;
    }
    Ok(())
}

fn ensure_same_clinic(current: &Current, backup: &Manifest) -> Result<()> {
    if current.set_up && !same_clinic(current, backup) {
        return Err(Error::BackupOtherClinic { clinic: backup.clinic.name.clone() });
    }
    Ok(())
}

fn same_clinic(current: &Current, backup: &Manifest) -> bool {
    current.device_id == backup.device_id
        || matches!((&current.tenant_id, &backup.clinic.tenant_id), (Some(a), Some(b)) if a == b)
}

async fn audit(
    store: &Store,
    user_id: Option<&str>,
    manifest: &Manifest,
    safety: Option<&Path>,
    next_change_seq: i64,
    audit_seq: i64,
) -> Result<()> {
    let actor = match user_id {
        Some(id) => crate::store::Actor::user(id),
        None => crate::store::Actor::system(),
    };
    let mut w = store.begin_write(actor).await?;
    // Under a new number: the entries this device made after the backup keep theirs (on the
    // server, on the other devices), and the chain goes on from the backup's last entry.
    w.audit_at(
        Some(audit_seq),
        crate::audit::chain::RESTORE_ACTION,
        "backup",
        None,
        serde_json::json!({
            "taken_at": manifest.taken_at, "device_id": manifest.device_id,
            "schema_version": manifest.schema_version, "audit_head": manifest.audit_head,
            "safety_copy": safety.map(|p| p.display().to_string()), "next_change_seq": next_change_seq,
        }),
    )
    .await?;
    w.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_restore_numbers_its_changes_above_everything_used_before() {
        let at = |s: i64| Utc.timestamp_opt(EPOCH_ORIGIN_SECS + s, 0).single().unwrap();
        // Its second since 2020, in the high bits.
        assert_eq!(seq_floor(at(1_000), 50), 1_000 * EPOCH);
        // Two restores a second apart never share numbers.
        assert!(seq_floor(at(1_001), 50) > seq_floor(at(1_000), 50) + 4_000_000_000);
        // A clock set back: above what was used all the same.
        let used = 7_000 * EPOCH + 12;
        assert_eq!(seq_floor(at(1_000), used), 7_001 * EPOCH);
        assert_eq!(seq_floor(at(-5), 0), EPOCH);
        // Room until 2088.
        let late = Utc.with_ymd_and_hms(2088, 1, 1, 0, 0, 0).single().unwrap();
        assert!(seq_floor(late, 0) < i64::MAX && seq_floor(late, 0) > 0);
    }
}
