//! Restoring a backup from the app (administrators). The database in use cannot be replaced
//! under its open connections, so the restore takes two steps:
//! 1. [`request_restore`]: a backup of the device's folder, named as the folder lists it and
//!    verified whole now, is recorded as pending in the data directory
//!    ([`PENDING_FILE`]) and the request audited (`backup.restore_requested`); the app then
//!    starts again (a phone's app closes, and the restore runs when it is opened);
//! 2. [`run_pending_restore`], when the app opens, before it opens the store: the restore
//!    itself ([`super::restore`]: verified again, the current database kept as a safety copy,
//!    everything left as it was if any step fails). Its outcome is what the sign-in screen
//!    shows; a failure is audited (`backup.restore_failed`) once the store is open.
//!
//! The pending file is taken away before the restore starts: a restore that is cut off (the
//! power goes) is not tried again at every start; the administrator asks again.

use super::device::{folder, named};
use super::restore::{restore_with, RestoreReport};
use super::Manifest;
use crate::error::{Error, Result};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::blob_cipher::{self, BlobKey};
use crate::store::db_key::{self, DbKey};
use crate::store::{Actor, Store};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::{Path, PathBuf};

/// The pending restore, in the data directory.
pub const PENDING_FILE: &str = "restore-pending.json";

/// What [`request_restore`] records for the next start.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    /// The backup's folder name, as the backup folder lists it.
    name: String,
    /// Its path: the device's backup folder joined with `name` when it was requested.
    path: PathBuf,
    /// Who asked (the restore is audited in their name).
    user_id: String,
    requested_at: String,
    /// Another computer's backup: the recovery key it opened with, sealed with this
    /// computer's file key (`blob_cipher`, hex) so that nothing readable without this
    /// computer's key is left on the disk; the file is removed when the restore starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    recovery_key: Option<String>,
}

/// The name the sealed recovery key is bound to (`blob_cipher::seal`).
const SEALED_NAME: &str = "restore-pending.recovery-key";

/// How a restore from the app ended, for the sign-in screen after the start it ran at.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct RestoreOutcome {
    /// The backup's folder name.
    pub name: String,
    /// The administrator who asked for it (users.id; empty when the request could not be read).
    pub requested_by: String,
    pub requested_at: String,
    pub finished_at: String,
    /// Set when the restore was done.
    pub restored: Option<RestoreReport>,
    /// Set when it failed (the database is then the one there was).
    pub failed: Option<Error>,
}

/// Records the backup `name` of the device's folder to be restored when the app starts
/// again (administrators). It is verified whole first (and its check recorded for the list);
/// a backup of another clinic is refused now ([`Error::BackupOtherClinic`]) rather than at
/// the start. Answers the backup's manifest (what the app will hold after the restart).
pub async fn request_restore(store: &Store, auth: &Authorized, name: &str) -> Result<Manifest> {
    request_restore_with(store, auth, name, None).await
}

/// [`request_restore`] of another computer's backup, opened with that computer's recovery
/// key `recovery_key` (as typed) when given: checked with it through the guard of
/// [`super::foreign`] (wrong keys limited like sign-in), and restored with it at the start
/// (re-encrypted with this computer's key).
pub async fn request_restore_with(
    store: &Store,
    auth: &Authorized,
    name: &str,
    recovery_key: Option<&str>,
) -> Result<Manifest> {
    auth.require(Permission::BackupManage)?;
    let (manifest, sealed) = match recovery_key {
        None => (super::device::verify_named(store, auth, name).await?, None),
        Some(code) => {
            let key = DbKey::parse_recovery_field(super::foreign::FIELD, code)?;
            let manifest = super::foreign::checked(store, auth, &named(store, name).await?, &key).await?;
            let sealed = blob_cipher::seal(store.blob_key(), SEALED_NAME, key.recovery_code().as_bytes())?;
            (manifest, Some(hex::encode(sealed)))
        }
    };
    super::restore::check_clinic(&store.data_dir().join(crate::store::DB_FILE), store.db_key(), &manifest).await?;
    let pending = Pending {
        name: name.to_string(),
        path: named(store, name).await?,
        user_id: auth.user_id.clone(),
        requested_at: rfc3339(store.now()),
        recovery_key: sealed,
    };
    let mut w = store.begin_write(auth.actor()).await?;
    w.audit(
        "backup.restore_requested",
        "backup",
        None,
        json!({ "name": name, "folder": folder(store).await?.display().to_string(), "taken_at": manifest.taken_at }),
    )
    .await?;
    // Written inside the transaction, committed after: a failed audit leaves no pending file,
    // and a failed write of the file rolls the audit back.
    write_pending(store.data_dir(), &pending)?;
    if let Err(e) = w.commit().await {
        let _ = std::fs::remove_file(store.data_dir().join(PENDING_FILE));
        return Err(e);
    }
    Ok(manifest)
}

/// Whether a restore waits for the next start.
pub fn restore_pending(data_dir: &Path) -> bool {
    data_dir.join(PENDING_FILE).is_file()
}

/// Runs the pending restore of `data_dir`, if there is one; the store of `data_dir` must not
/// be open. `None` when none was pending.
pub async fn run_pending_restore(data_dir: &Path) -> Option<RestoreOutcome> {
    let now = Utc::now();
    let file = data_dir.join(PENDING_FILE);
    let text = std::fs::read_to_string(&file).ok()?;
    // Taken away first: a restore cut off by a power cut is not tried at every start.
    let removed = std::fs::remove_file(&file);
    let pending = serde_json::from_str::<Pending>(&text);
    let (name, requested_by, requested_at) = match &pending {
        Ok(p) => (p.name.clone(), p.user_id.clone(), p.requested_at.clone()),
        Err(_) => Default::default(),
    };
    let result = match (removed, pending) {
        (Err(e), _) => Err(Error::storage(format_args!("cannot remove {}: {e}", file.display()))),
        (_, Err(e)) => Err(Error::internal(format!("{PENDING_FILE} cannot be read: {e}"))),
        (Ok(()), Ok(p)) => match unseal(data_dir, p.recovery_key.as_deref()) {
            Ok(key) => restore_with(data_dir, &p.path, key.as_ref(), Some(&p.user_id), now).await,
            Err(e) => Err(e),
        },
    };
    let finished_at = rfc3339(now);
    Some(match result {
        Ok(report) => {
            RestoreOutcome { name, requested_by, requested_at, finished_at, restored: Some(report), failed: None }
        }
        Err(e) => {
            tracing::warn!(target: "hms::backup", code = e.code(), error = %e, "the restore requested in the app failed");
            RestoreOutcome { name, requested_by, requested_at, finished_at, restored: None, failed: Some(e) }
        }
    })
}

/// Audits a failed restore in the name of whoever asked for it, once the store is open (the
/// one that was there all along). A done restore was audited by the restore itself.
pub async fn audit_outcome(store: &Store, outcome: &RestoreOutcome) -> Result<()> {
    let Some(failed) = &outcome.failed else { return Ok(()) };
    let actor = if outcome.requested_by.is_empty() { Actor::system() } else { Actor::user(&outcome.requested_by) };
    let mut w = store.begin_write(actor).await?;
    w.audit(
        "backup.restore_failed",
        "backup",
        None,
        json!({ "name": outcome.name, "requested_at": outcome.requested_at, "code": failed.code() }),
    )
    .await?;
    w.commit().await
}

/// The recovery key a pending restore was asked with, opened with this computer's key.
fn unseal(data_dir: &Path, sealed: Option<&str>) -> Result<Option<DbKey>> {
    let Some(sealed) = sealed else { return Ok(None) };
    let key = db_key::load_or_create(&data_dir.join(crate::store::DB_FILE))?;
    let opened = hex::decode(sealed)
        .ok()
        .and_then(|bytes| blob_cipher::open(&BlobKey::derive(&key), SEALED_NAME, &bytes))
        .and_then(|clear| String::from_utf8(clear).ok())
        .and_then(|code| DbKey::from_recovery_code(&code));
    opened.map(Some).ok_or_else(|| Error::internal(format!("{PENDING_FILE}: its recovery key does not open")))
}

/// Writes the pending file whole or not at all (a temporary file, synced, renamed).
fn write_pending(data_dir: &Path, pending: &Pending) -> Result<()> {
    let file = data_dir.join(PENDING_FILE);
    let tmp = data_dir.join(format!(".{PENDING_FILE}.{}.tmp", crate::ids::new_id()));
    let written = serde_json::to_vec_pretty(pending)
        .map_err(std::io::Error::other)
        .and_then(|bytes| std::fs::write(&tmp, bytes))
        .and_then(|()| std::fs::File::open(&tmp)?.sync_all())
        .and_then(|()| std::fs::rename(&tmp, &file));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(super::io(&file, e));
    }
    super::sync_dir(data_dir);
    Ok(())
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}
