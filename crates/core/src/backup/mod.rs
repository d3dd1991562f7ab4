//! Backups of this device's data, their verification, and restoring one (issue 14).
//!
//! A backup is one folder, `hms-backup-<clinic>-<UTC time>` (e.g.
//! `hms-backup-sunrise-clinic-20261205T142233Z`), that a person can copy to a USB drive or
//! a network share as it is. It holds
//! - `hms.db`: a consistent copy of the database taken while the app keeps working (SQLite's
//!   `VACUUM INTO`, from one read transaction: never a file copy of a live database);
//! - `attachments/<2 hex>/<sha256>`: the stored files (content-addressed, as in the data
//!   directory: `store::blobs`);
//! - `manifest.json` ([`Manifest`]): the clinic, the device, when, the app and schema
//!   versions, rows per table, the audit chain's head, and the size and SHA-256 of every file.
//!
//! It is written under a temporary name, synced to disk, renamed, and then verified
//! ([`verify`]: every file against the manifest, `PRAGMA integrity_check`, the audit chain,
//! the row counts) before it counts; one that fails is removed. The database in it is
//! encrypted with the device's key like `hms.db` (`store::db_key`); the key is not in the
//! backup: this computer's key file or the clinic's recovery key opens it.

mod check;
mod device;
mod foreign;
mod manifest;
mod pending;
mod recovery;
mod restore;
mod retention;
mod take;

pub use check::{inspect, verify};
pub use device::{
    automatic, back_up_now, check_folder, due, due_at, folder, inspect_named, parse_daily_at, set_settings, settings,
    status, verify_named, Automatic, BackupCheck, BackupDue, BackupEntry, BackupFailure, BackupSettings,
    BackupSettingsInput, BackupStatus, LastBackup, DEFAULT_FOLDER, STALE_AFTER_HOURS,
};
pub use foreign::{needs_recovery_key, open_with_recovery_key};
pub use manifest::{AuditHead, Clinic, FileEntry, Manifest, DATABASE, FORMAT, MANIFEST};
pub use pending::{
    audit_outcome, request_restore, request_restore_with, restore_pending, run_pending_restore, RestoreOutcome,
    PENDING_FILE,
};
pub use recovery::{recovery_key, recovery_sheet, RecoverySheet};
pub use restore::{restore, restore_with, RestoreReport, SEQ_FLOOR_KEY};
pub use retention::{prune, retained, Retention, PRUNE_KEEP};
pub use take::{create, take, take_as, BackupPhase, BackupProgress, BackupReport, PREFIX};

use crate::error::{Error, Result};
use crate::store::db_key::{self, DbKey};
use sqlx::sqlite::SqlitePoolOptions;
use sqlx::SqlitePool;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// A storage error naming a path.
fn io(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::storage(format_args!("{}: {e}", path.display()))
}

/// The size and SHA-256 (hex) of a file, read in 1 MiB pieces (blocking).
fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    use sha2::{Digest, Sha256};
    let mut file = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        len += n as u64;
    }
    Ok((len, hex::encode(h.finalize())))
}

/// Syncs a folder's entries (a rename in it) to disk. Best effort where folders cannot be
/// opened (Windows).
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// A database file opened read-only and immutable: nothing of it, or beside it, is written
/// (a backup on a read-only drive opens as well). Encrypted with `key`, or clear (a backup
/// taken before encryption at rest).
async fn open_read_only(path: &Path, key: &DbKey) -> Result<SqlitePool> {
    crate::allocator::route_sqlite();
    let options = db_key::options_for(path, key)?.read_only(true).immutable(true);
    let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await;
    pool.map_err(|e| if wrong_key(&e) { Error::BackupOtherKey } else { e.into() })
}

/// SQLite's "file is not a database" (`SQLITE_NOTADB`): with SQLCipher, the key does not open
/// it (a file whose bytes are not what the manifest says fails its checksum first).
fn wrong_key(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("26"))
}

/// What a database holds, as a manifest records it (all but its files and time).
struct Facts {
    device_id: String,
    clinic: Clinic,
    schema_version: u32,
    counts: BTreeMap<String, u64>,
    audit_head: Option<AuditHead>,
    last_change_seq: u64,
}

/// Reads [`Facts`] from a database.
async fn facts(pool: &SqlitePool) -> Result<Facts> {
    use crate::store::meta;
    let device_id = meta::get(pool, meta::DEVICE_KEY).await?.unwrap_or_default();
    let tenant_id = meta::get(pool, crate::sync::TENANT_ID_KEY).await?;
    let name: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = ? AND deleted_at IS NULL")
        .bind(crate::settings::values::CLINIC_NAME_KEY)
        .fetch_optional(pool)
        .await?;
    let name = name
        .and_then(|v| serde_json::from_str::<serde_json::Value>(&v).ok())
        .and_then(|v| v.as_str().map(str::to_string))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| crate::settings::values::DEFAULT_CLINIC_NAME.to_string());
    let schema: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = 1").fetch_one(pool).await?;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
           AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name",
    )
    .fetch_all(pool)
    .await?;
    let mut counts = BTreeMap::new();
    for table in tables {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM \"{}\"", table.replace('"', "\"\"")))
            .fetch_one(pool)
            .await?;
        counts.insert(table, u64::try_from(n).unwrap_or(0));
    }
    let audit_head =
        meta::audit_head(pool).await?.map(|(seq, hash)| AuditHead { seq: u64::try_from(seq).unwrap_or(0), hash });
    let last: i64 = sqlx::query_scalar(
        "SELECT max(COALESCE((SELECT max(seq) FROM change_log), 0), COALESCE((SELECT max(last_seq) FROM change_batches), 0))",
    )
    .fetch_one(pool)
    .await?;
    Ok(Facts {
        device_id,
        clinic: Clinic { name, tenant_id },
        schema_version: u32::try_from(schema.unwrap_or(0)).unwrap_or(0),
        counts,
        audit_head,
        last_change_seq: u64::try_from(last).unwrap_or(0),
    })
}

/// The highest migration this build knows.
fn supported_schema() -> u32 {
    crate::store::MIGRATOR.iter().map(|m| m.version).max().and_then(|v| u32::try_from(v).ok()).unwrap_or(0)
}
