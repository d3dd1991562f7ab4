//! This device's backups as the app runs them: where they go and when (kept per device, in
//! the local `meta` table: a folder such as `E:\HMS` means nothing on another device, so it is
//! never synced), the last good backup, the backups in the folder, whether one is due, and
//! the administrator's "Back up now", "Verify" and "Inspect" by a backup's folder NAME (never
//! a path from the screen: a name is looked up in the folder's own listing).

use super::manifest::Manifest;
use super::retention::{ours, prune, PRUNE_KEEP};
use super::take::{take_as, BackupProgress, BackupReport};
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{meta, Actor, Store};
use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The folder backups go to, when an administrator set one (absolute path; unset: the default).
pub const FOLDER_KEY: &str = "backup_folder";
/// The daily backup's time, `HH:MM` on the clinic's clock (unset: no daily backup).
pub const DAILY_AT_KEY: &str = "backup_daily_at";
/// The last good backup ([`LastBackup`], JSON).
pub const LAST_GOOD_KEY: &str = "backup_last_good";
/// The last backup that failed ([`BackupFailure`], JSON); cleared by a good one.
pub const LAST_FAILURE_KEY: &str = "backup_last_failure";
/// The outcome of the last check of each backup, by name (JSON map of [`BackupCheck`]).
pub const CHECKS_KEY: &str = "backup_checks";
/// The default folder's name, inside the data directory.
pub const DEFAULT_FOLDER: &str = "backups";
/// After this long without a good backup the Home warns, and closing the app backs up.
pub const STALE_AFTER_HOURS: i64 = 24;
/// A daily backup that failed is tried again after this long (while its day's time is due).
pub const RETRY_AFTER_MINUTES: i64 = 60;

/// Where and when this device backs up (administrator's Backups screen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct BackupSettings {
    /// The folder backups are written to (absolute).
    pub folder: String,
    /// Whether it is the default, `backups` in the data directory (which protects against
    /// mistakes, not against the disk dying).
    pub folder_is_default: bool,
    /// The daily backup's time, `HH:MM` on the clinic's clock; `None`: off.
    pub daily_at: Option<String>,
    /// The clinic's time zone the daily time is in.
    pub time_zone: String,
}

/// What the Backups screen's form sends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, specta::Type)]
pub struct BackupSettingsInput {
    /// An absolute folder; `None` or empty: the default.
    pub folder: Option<String>,
    /// `HH:MM` (24-hour); `None` or empty: no daily backup.
    pub daily_at: Option<String>,
}

/// The last backup written and verified (every file's checksum, the integrity check, the
/// audit chain and the row counts passed: `verify`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct LastBackup {
    /// The backup's folder name.
    pub name: String,
    /// The folder it is in.
    pub folder: String,
    /// When it was taken (RFC 3339 UTC).
    pub taken_at: String,
    #[specta(type = f64)]
    pub bytes: u64,
}

/// The last backup that failed: when and why (its error code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct BackupFailure {
    pub at: String,
    pub code: String,
    pub message: String,
}

/// The outcome of a backup's last check on this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct BackupCheck {
    /// When it was checked (RFC 3339 UTC).
    pub at: String,
    /// `None`: every check passed; else the error code of the first that failed.
    pub failed: Option<String>,
}

/// One backup in the folder, from its manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct BackupEntry {
    /// Its folder name: what Verify and Inspect take.
    pub name: String,
    pub taken_at: String,
    pub clinic: String,
    pub device_id: String,
    /// Whether this device took it.
    pub this_device: bool,
    pub schema_version: u32,
    #[specta(type = f64)]
    pub bytes: u64,
    /// Its last check on this device (`None`: never checked here).
    pub check: Option<BackupCheck>,
    /// Its manifest cannot be read (not an HMS backup any more): the error code.
    pub unreadable: Option<String>,
}

/// Whether a backup should run now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct BackupDue {
    /// The daily backup's time has passed since the last good backup (and a failed try is
    /// not too recent).
    pub daily: bool,
    /// Closing the app should back up: the last good backup is older than 24 hours, or there
    /// is none.
    pub on_close: bool,
    /// The next daily time still to come (RFC 3339 UTC), when a daily time is set.
    pub next_daily: Option<String>,
}

/// The Backups screen and the administrator's Home tile.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct BackupStatus {
    pub settings: BackupSettings,
    pub last_good: Option<LastBackup>,
    /// Seconds since the last good backup was taken, on the clinic's clock.
    pub age_seconds: Option<f64>,
    /// No good backup, or the last is older than 24 hours: the Home warns.
    pub stale: bool,
    /// The last failure, when no good backup came after it.
    pub last_failure: Option<BackupFailure>,
    /// The backups in the folder, newest first.
    pub backups: Vec<BackupEntry>,
    pub due: BackupDue,
    /// When it was read (RFC 3339 UTC), for the screen's "ago".
    pub now: String,
    /// Whether an administrator has been given this computer's current recovery key (shown
    /// or saved as a sheet): until then the Home asks for it.
    pub recovery_key_given: bool,
}

/// Why an automatic backup runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Automatic {
    /// The daily time has come.
    Daily,
    /// The app is closing and the last good backup is older than a day.
    OnClose,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

async fn json_meta<T: for<'de> Deserialize<'de>>(store: &Store, key: &str) -> Result<Option<T>> {
    Ok(meta::get(store.pool(), key).await?.and_then(|v| serde_json::from_str(&v).ok()))
}

/// `HH:MM`, 24-hour: a validation error on `daily_at` otherwise.
pub fn parse_daily_at(text: &str) -> Result<NaiveTime> {
    let t = text.trim();
    let ok = t.len() == 5 && t.as_bytes()[2] == b':';
    ok.then(|| NaiveTime::parse_from_str(t, "%H:%M").ok()).flatten().ok_or_else(|| {
        Error::validation("daily_at", ValidationReason::Invalid, "a time of day as HH:MM (24-hour), e.g. 02:30")
    })
}

/// An administrator's folder: absolute, a folder (made if missing), writable. A validation
/// error on `folder` naming what is wrong.
pub fn check_folder(text: &str) -> Result<PathBuf> {
    let bad = |reason, why: &str| Error::validation("folder", reason, why);
    let path = PathBuf::from(text.trim());
    if text.trim().is_empty() {
        return Err(bad(ValidationReason::Required, "a folder"));
    }
    if !path.is_absolute() {
        return Err(bad(ValidationReason::Invalid, "a full path, such as E:\\HMS-backups or /media/usb/hms"));
    }
    if path.exists() && !path.is_dir() {
        return Err(bad(ValidationReason::Invalid, "this is a file, not a folder"));
    }
    if std::fs::create_dir_all(&path).is_err() {
        return Err(bad(ValidationReason::Invalid, "the folder cannot be created here"));
    }
    // Writable: a probe file made and removed.
    let probe = path.join(format!(".hms-write-check-{}", crate::ids::new_id()));
    match std::fs::write(&probe, b"hms") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            Ok(path)
        }
        Err(_) => Err(bad(ValidationReason::Invalid, "HMS cannot write in this folder")),
    }
}

/// The folder backups go to on this device.
pub async fn folder(store: &Store) -> Result<PathBuf> {
    Ok(match meta::get(store.pool(), FOLDER_KEY).await?.filter(|f| !f.is_empty()) {
        Some(f) => PathBuf::from(f),
        None => store.data_dir().join(DEFAULT_FOLDER),
    })
}

async fn daily_at(store: &Store) -> Result<Option<NaiveTime>> {
    Ok(meta::get(store.pool(), DAILY_AT_KEY).await?.and_then(|t| parse_daily_at(&t).ok()))
}

async fn read_settings(store: &Store) -> Result<BackupSettings> {
    let set = meta::get(store.pool(), FOLDER_KEY).await?.filter(|f| !f.is_empty());
    Ok(BackupSettings {
        folder: folder(store).await?.display().to_string(),
        folder_is_default: set.is_none(),
        daily_at: daily_at(store).await?.map(|t| t.format("%H:%M").to_string()),
        time_zone: crate::clinic::time_zone(store).await?.name().to_string(),
    })
}

/// Where and when this device backs up (administrators).
pub async fn settings(store: &Store, auth: &Authorized) -> Result<BackupSettings> {
    auth.require(Permission::BackupManage)?;
    read_settings(store).await
}

/// Sets the folder and the daily time (administrators; audited). The folder is checked
/// first (see [`check_folder`]); nothing is saved if either is wrong.
pub async fn set_settings(store: &Store, auth: &Authorized, input: BackupSettingsInput) -> Result<BackupSettings> {
    auth.require(Permission::BackupManage)?;
    // The time first: the folder's check may create it.
    let daily = match input.daily_at.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => Some(parse_daily_at(t)?.format("%H:%M").to_string()),
        None => None,
    };
    let folder = match input.folder.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        Some(f) => Some(check_folder(f)?.display().to_string()),
        None => None,
    };
    let mut w = store.begin_write(auth.actor()).await?;
    meta::set(w.conn(), FOLDER_KEY, folder.as_deref().unwrap_or("")).await?;
    meta::set(w.conn(), DAILY_AT_KEY, daily.as_deref().unwrap_or("")).await?;
    w.audit("backup.settings", "backup", None, serde_json::json!({ "folder": folder, "daily_at": daily })).await?;
    w.commit().await?;
    read_settings(store).await
}

/// Whether a backup is due at `now` (the decision the app's timer and its close take).
/// `daily_at` is on the clinic's clock in `tz`; a daily time that falls in a DST gap runs
/// an hour later, one that repeats runs at its first occurrence.
pub fn due_at(
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
    daily_at: Option<NaiveTime>,
    last_good: Option<DateTime<Utc>>,
    last_failure: Option<DateTime<Utc>>,
) -> BackupDue {
    let on_close = last_good.is_none_or(|t| now - t >= Duration::hours(STALE_AFTER_HOURS));
    let Some(at) = daily_at else {
        return BackupDue { daily: false, on_close, next_daily: None };
    };
    let local = now.with_timezone(&tz).date_naive();
    let slot = |day: chrono::NaiveDate| -> Option<DateTime<Utc>> {
        let naive = day.and_time(at);
        tz.from_local_datetime(&naive)
            .earliest()
            .or_else(|| tz.from_local_datetime(&(naive + Duration::hours(1))).earliest())
            .map(|t| t.with_timezone(&Utc))
    };
    let days = [local.pred_opt(), Some(local), local.succ_opt()];
    let slots: Vec<DateTime<Utc>> = days.iter().flatten().filter_map(|d| slot(*d)).collect();
    let latest = slots.iter().rev().find(|s| **s <= now).copied();
    let next = slots.iter().find(|s| **s > now).copied();
    let daily = latest.is_some_and(|s| {
        last_good.is_none_or(|g| g < s)
            && last_failure.is_none_or(|f| f < s || now - f >= Duration::minutes(RETRY_AFTER_MINUTES))
    });
    BackupDue { daily, on_close, next_daily: next.map(rfc3339) }
}

/// [`due_at`] for this store now (its clock, the clinic's zone, this device's settings).
pub async fn due(store: &Store) -> Result<BackupDue> {
    let tz = crate::clinic::time_zone(store).await?;
    let good = json_meta::<LastBackup>(store, LAST_GOOD_KEY).await?.and_then(|g| parse_time(&g.taken_at));
    let failed = json_meta::<BackupFailure>(store, LAST_FAILURE_KEY).await?.and_then(|f| parse_time(&f.at));
    Ok(due_at(store.now(), tz, daily_at(store).await?, good, failed))
}

/// The Backups screen and the Home tile (administrators).
pub async fn status(store: &Store, auth: &Authorized) -> Result<BackupStatus> {
    auth.require(Permission::BackupManage)?;
    let now = store.now();
    let settings = read_settings(store).await?;
    let last_good = json_meta::<LastBackup>(store, LAST_GOOD_KEY).await?;
    let age = last_good.as_ref().and_then(|g| parse_time(&g.taken_at)).map(|t| now - t);
    let stale = age.is_none_or(|a| a >= Duration::hours(STALE_AFTER_HOURS));
    let last_failure = json_meta::<BackupFailure>(store, LAST_FAILURE_KEY).await?;
    let device = meta::get(store.pool(), meta::DEVICE_KEY).await?.unwrap_or_default();
    let checks: BTreeMap<String, BackupCheck> = json_meta(store, CHECKS_KEY).await?.unwrap_or_default();
    let dir = PathBuf::from(&settings.folder);
    let listed = tokio::task::spawn_blocking(move || list(&dir))
        .await
        .map_err(|e| Error::internal(format!("backup: listing the folder: {e}")))?;
    let backups = listed
        .into_iter()
        .map(|(name, manifest)| entry(name.clone(), manifest, &device, checks.get(&name).cloned()))
        .collect();
    Ok(BackupStatus {
        settings,
        last_good,
        age_seconds: age.map(|a| a.num_seconds().max(0) as f64),
        stale,
        last_failure,
        backups,
        due: due(store).await?,
        now: rfc3339(now),
        recovery_key_given: super::recovery::given(store).await?,
    })
}

/// This app's backups in `dir`, newest first, each with its manifest or why it cannot be read.
fn list(dir: &Path) -> Vec<(String, Result<Manifest>)> {
    ours(dir)
        .into_iter()
        .map(|(path, _)| (path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default(), path))
        .map(|(name, path)| (name, Manifest::read(&path)))
        .collect()
}

fn entry(name: String, manifest: Result<Manifest>, device: &str, check: Option<BackupCheck>) -> BackupEntry {
    match manifest {
        Ok(m) => BackupEntry {
            bytes: m.total_bytes(),
            this_device: m.device_id == device,
            name,
            taken_at: m.taken_at,
            clinic: m.clinic.name,
            device_id: m.device_id,
            schema_version: m.schema_version,
            check,
            unreadable: None,
        },
        Err(e) => BackupEntry {
            name,
            taken_at: String::new(),
            clinic: String::new(),
            device_id: String::new(),
            this_device: false,
            schema_version: 0,
            bytes: 0,
            check,
            unreadable: Some(e.code().to_string()),
        },
    }
}

/// The backup of that folder name in this device's backup folder; a name that is not one of
/// the folder's backups (or names anything else: a path, `..`) is `not_found`.
pub(super) async fn named(store: &Store, name: &str) -> Result<PathBuf> {
    let dir = folder(store).await?;
    ours(&dir)
        .into_iter()
        .map(|(path, _)| path)
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy() == name))
        .ok_or_else(|| Error::NotFound { entity: "backup".into() })
}

/// Records the outcome of checking the backup `name` (only backups still in the folder are
/// kept in the record).
async fn record_check(store: &Store, name: &str, failed: Option<String>) -> Result<()> {
    let mut checks: BTreeMap<String, BackupCheck> = json_meta(store, CHECKS_KEY).await?.unwrap_or_default();
    checks.insert(name.to_string(), BackupCheck { at: rfc3339(store.now()), failed });
    let present: Vec<String> = ours(&folder(store).await?)
        .into_iter()
        .filter_map(|(p, _)| p.file_name().map(|n| n.to_string_lossy().to_string()))
        .collect();
    checks.retain(|n, _| present.contains(n));
    meta::set(store.pool(), CHECKS_KEY, &serde_json::to_string(&checks)?).await
}

/// Checks the backup `name` of the folder whole (`verify`; administrators) and records the
/// outcome for the list.
pub async fn verify_named(store: &Store, auth: &Authorized, name: &str) -> Result<Manifest> {
    auth.require(Permission::BackupManage)?;
    let path = named(store, name).await?;
    let verified = super::verify(&path, store.db_key()).await;
    record_check(store, name, verified.as_ref().err().map(|e| e.code().to_string())).await?;
    verified
}

/// What the backup `name` of the folder holds, before restoring it (administrators).
pub async fn inspect_named(store: &Store, auth: &Authorized, name: &str) -> Result<Manifest> {
    auth.require(Permission::BackupManage)?;
    let path = named(store, name).await?;
    tokio::task::spawn_blocking(move || super::inspect(&path))
        .await
        .map_err(|e| Error::internal(format!("backup: inspecting: {e}")))?
}

/// Records a backup's outcome ([`take_as`] calls it): a good one becomes the last good backup
/// (and its check is recorded, it was verified when written) and clears the last failure; a
/// failure is kept with its code.
pub(super) async fn record_outcome(store: &Store, dir: &Path, taken: &Result<BackupReport>) -> Result<()> {
    match taken {
        Ok(report) => {
            let path = PathBuf::from(&report.path);
            let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            let last = LastBackup {
                name: name.clone(),
                folder: dir.display().to_string(),
                taken_at: report.manifest.taken_at.clone(),
                bytes: report.manifest.total_bytes(),
            };
            meta::set(store.pool(), LAST_GOOD_KEY, &serde_json::to_string(&last)?).await?;
            meta::set(store.pool(), LAST_FAILURE_KEY, "").await?;
            record_check(store, &name, None).await
        }
        Err(e) => {
            let failure =
                BackupFailure { at: rfc3339(store.now()), code: e.code().to_string(), message: e.to_string() };
            meta::set(store.pool(), LAST_FAILURE_KEY, &serde_json::to_string(&failure)?).await
        }
    }
}

/// Backs up into this device's folder as `actor` (recorded by [`take_as`]) and applies the
/// folder's retention.
async fn run_as(store: &Store, actor: Actor, progress: &(dyn Fn(BackupProgress) + Sync)) -> Result<BackupReport> {
    let dir = folder(store).await?;
    let report = take_as(store, actor, &dir, progress).await?;
    if let Err(e) = prune(&dir, PRUNE_KEEP) {
        tracing::warn!(target: "hms::backup", error = %e, "retention not applied");
    }
    Ok(report)
}

/// "Back up now" (administrators; audited as them): into this device's folder, verified,
/// then the folder's retention (7 daily, 4 weekly, 12 monthly).
pub async fn back_up_now(
    store: &Store,
    auth: &Authorized,
    progress: &(dyn Fn(BackupProgress) + Sync),
) -> Result<BackupReport> {
    auth.require(Permission::BackupManage)?;
    run_as(store, auth.actor(), progress).await
}

/// The app's own backup (audited as the system) when [`due`] says so for `why`: answers
/// `None` when none was due (or the clinic is not set up yet).
pub async fn automatic(
    store: &Store,
    why: Automatic,
    progress: &(dyn Fn(BackupProgress) + Sync),
) -> Result<Option<BackupReport>> {
    if crate::setup::needs_setup(store).await? {
        return Ok(None);
    }
    let due = due(store).await?;
    let go = match why {
        Automatic::Daily => due.daily,
        Automatic::OnClose => due.on_close,
    };
    if !go {
        return Ok(None);
    }
    run_as(store, Actor::system(), progress).await.map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).single().unwrap()
    }

    #[test]
    fn a_daily_time_is_hh_mm() {
        assert_eq!(parse_daily_at(" 02:30 ").unwrap(), NaiveTime::from_hms_opt(2, 30, 0).unwrap());
        for bad in ["2:30", "24:00", "02:60", "0230", "02:30:00", "", "noon"] {
            assert!(
                matches!(parse_daily_at(bad), Err(Error::Validation { ref field, .. }) if field == "daily_at"),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_daily_time_is_on_the_clinics_clock_and_across_dst() {
        // Kolkata is UTC+5:30: 02:00 there is 20:30 UTC the day before.
        let tz = chrono_tz::Asia::Kolkata;
        let two = NaiveTime::from_hms_opt(2, 0, 0);
        let d = due_at(utc(2026, 12, 4, 20, 29), tz, two, Some(utc(2026, 12, 3, 21, 0)), None);
        assert!(!d.daily);
        assert_eq!(d.next_daily.as_deref(), Some("2026-12-04T20:30:00Z"));
        assert!(due_at(utc(2026, 12, 4, 20, 30), tz, two, Some(utc(2026, 12, 3, 21, 0)), None).daily);
        // New York springs forward at 02:00 on 2026-03-08: 02:30 does not exist, runs at 03:30.
        let ny = chrono_tz::America::New_York;
        let d = due_at(utc(2026, 3, 8, 6, 0), ny, NaiveTime::from_hms_opt(2, 30, 0), Some(utc(2026, 3, 7, 8, 0)), None);
        assert_eq!(d.next_daily.as_deref(), Some("2026-03-08T07:30:00Z"));
    }
}
