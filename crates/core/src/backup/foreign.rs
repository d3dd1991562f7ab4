//! Another computer's backup, restored from the app (issue 14): a backup of the folder that
//! this computer's key does not open ([`needs_recovery_key`]) opens with the recovery key of
//! the computer that made it ([`open_with_recovery_key`]), typed as the CLI takes it (16
//! groups of 4 hex digits; spaces, dashes and lower case accepted).
//!
//! Wrong keys are limited like wrong passwords at sign-in, with the same rules
//! (`auth::lockout`: a back-off after 3 in a row, a 15-minute lock at the 5th). They are
//! counted for this computer, not for an account: the key belongs to a computer, and an
//! attacker with several accounts gets no more tries. The count is kept in this computer's
//! database (device meta [`GUARD_KEY`], never synced), every wrong key and every refusal is
//! audited, and a right key starts the count again.

use super::device::named;
use super::manifest::{Manifest, DATABASE};
use crate::auth::lockout::{self, Gate, GuardState};
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::db_key::DbKey;
use crate::store::{meta, Store};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::Path;

/// The field a recovery key is typed in (errors name it).
pub const FIELD: &str = "recovery_key";

/// Device meta: the wrong recovery keys counted on this computer ([`Guard`] as JSON).
pub const GUARD_KEY: &str = "recovery_key_guard";

/// Whether the backup `name` of the folder needs a recovery key: this computer's key does not
/// open its database (administrators). A backup from before encryption at rest needs none.
pub async fn needs_recovery_key(store: &Store, auth: &Authorized, name: &str) -> Result<bool> {
    auth.require(Permission::BackupManage)?;
    let path = named(store, name).await?;
    super::inspect(&path)?;
    let pool = match super::open_read_only(&path.join(DATABASE), store.db_key()).await {
        Ok(pool) => pool,
        Err(Error::BackupOtherKey) => return Ok(true),
        Err(e) => return Err(e),
    };
    // SQLCipher reads (and checks) the first page only when asked something.
    let read = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM sqlite_master").fetch_one(&pool).await;
    pool.close().await;
    match read {
        Ok(_) => Ok(false),
        Err(e) if super::wrong_key(&e) => Ok(true),
        Err(e) => Err(e.into()),
    }
}

/// Opens the backup `name` of the folder with the recovery key `code` of the computer that
/// made it (administrators) and answers what it holds, once it has been checked whole with
/// that key (`verify`). A key that is not 64 hex digits is a validation error on
/// [`FIELD`] and is not counted (no key was tried); one that does not open the backup is
/// counted, audited (`backup.recovery_key_failed`) and refused as a validation error on
/// [`FIELD`], or [`Error::RecoveryKeyLocked`] when it locks.
pub async fn open_with_recovery_key(store: &Store, auth: &Authorized, name: &str, code: &str) -> Result<Manifest> {
    auth.require(Permission::BackupManage)?;
    let path = named(store, name).await?;
    let key = DbKey::parse_recovery_field(FIELD, code)?;
    checked(store, auth, &path, &key).await
}

/// The backup at `path` checked whole with a recovery key, through the guard: refused while
/// the guard is closed, counted when the key does not open it. Any other failure (a damaged
/// backup, not a backup) is answered as it is and not counted.
pub(super) async fn checked(store: &Store, auth: &Authorized, path: &Path, key: &DbKey) -> Result<Manifest> {
    let state = load(store).await?;
    let now = store.now();
    let refused = match lockout::gate(&state, now) {
        Gate::Open => None,
        Gate::RetryLater { seconds } => Some(("back_off", Error::RetryLater { seconds })),
        Gate::Locked { until } => Some(("locked", Error::RecoveryKeyLocked { until: until.to_rfc3339() })),
    };
    if let Some((reason, error)) = refused {
        let mut w = store.begin_write(auth.actor()).await?;
        w.audit("backup.recovery_key_refused", "backup", None, json!({ "reason": reason })).await?;
        w.commit().await?;
        return Err(error);
    }
    match super::verify(path, key).await {
        Ok(manifest) => {
            if state != GuardState::default() {
                meta::set(store.pool(), GUARD_KEY, "").await?;
            }
            Ok(manifest)
        }
        Err(Error::BackupOtherKey) => Err(failed(store, auth, &state, now).await?),
        Err(e) => Err(e),
    }
}

/// Counts a wrong key and audits it, in one write; answers the error to give.
async fn failed(store: &Store, auth: &Authorized, state: &GuardState, now: DateTime<Utc>) -> Result<Error> {
    let (next, locked) = lockout::after_failure(state, now);
    let mut w = store.begin_write(auth.actor()).await?;
    meta::set(w.conn(), GUARD_KEY, &serde_json::to_string(&Guard::from(&next))?).await?;
    w.audit("backup.recovery_key_failed", "backup", None, json!({ "attempt": next.failed_attempts })).await?;
    let until = next.locked_until.map(|t| t.to_rfc3339());
    if locked {
        w.audit("backup.recovery_key_locked", "backup", None, json!({ "until": until })).await?;
    }
    w.commit().await?;
    Ok(match until {
        Some(until) if locked => Error::RecoveryKeyLocked { until },
        _ => Error::validation(FIELD, ValidationReason::Invalid, "this recovery key does not open the backup"),
    })
}

/// The guard as stored.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Guard {
    failed_attempts: u32,
    last_failed_at: Option<DateTime<Utc>>,
    locked_until: Option<DateTime<Utc>>,
}

impl From<&GuardState> for Guard {
    fn from(s: &GuardState) -> Guard {
        Guard { failed_attempts: s.failed_attempts, last_failed_at: s.last_failed_at, locked_until: s.locked_until }
    }
}

/// This computer's count (none stored, or unreadable: none).
async fn load(store: &Store) -> Result<GuardState> {
    let stored = meta::get(store.pool(), GUARD_KEY).await?;
    let guard: Guard = stored.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default();
    Ok(GuardState {
        failed_attempts: guard.failed_attempts,
        last_failed_at: guard.last_failed_at,
        locked_until: guard.locked_until,
    })
}
