//! This device's backups as the app runs them (issue 14): the folder and daily time kept per
//! device, "Back up now" recording the last good backup, the folder's list with each
//! backup's check, Verify and Inspect by folder name only, and when an automatic backup is
//! due on the clinic's clock.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use hms_core::backup::{self, Automatic, BackupProgress, BackupSettingsInput};
use hms_core::{settings, Error, ValidationReason};

fn quiet(_: BackupProgress) {}

/// A device-local value as the store keeps it (the `meta` table).
async fn meta_get(store: &hms_core::Store, key: &str) -> Option<String> {
    sqlx::query_scalar("SELECT value FROM meta WHERE key = ?").bind(key).fetch_optional(store.pool()).await.unwrap()
}

async fn meta_set(store: &hms_core::Store, key: &str, value: &str) {
    sqlx::query("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)")
        .bind(key)
        .bind(value)
        .execute(store.pool())
        .await
        .unwrap();
}

fn field_of<T: std::fmt::Debug>(r: Result<T, Error>) -> (String, ValidationReason) {
    match r {
        Err(Error::Validation { field, reason, .. }) => (field, reason),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).single().unwrap()
}

#[tokio::test]
async fn the_folder_and_daily_time_are_checked_and_kept_on_this_device_only() {
    let (env, slot) = common::with_admin().await;
    let a = slot.authorize(&env.store).await.unwrap();
    let s = backup::settings(&env.store, &a).await.unwrap();
    assert!(s.folder_is_default);
    assert_eq!(s.folder, env.dir.path().join("backups").display().to_string());
    assert_eq!(s.daily_at, None);

    let input = |folder: &str, daily: &str| BackupSettingsInput {
        folder: Some(folder.to_string()),
        daily_at: Some(daily.to_string()),
    };
    assert_eq!(field_of(backup::set_settings(&env.store, &a, input("relative/dir", "")).await).0, "folder");
    let file = env.dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    assert_eq!(field_of(backup::set_settings(&env.store, &a, input(file.to_str().unwrap(), "")).await).0, "folder");
    let usb = tempfile::tempdir().unwrap();
    let target = usb.path().join("hms").join("backups");
    assert_eq!(
        field_of(backup::set_settings(&env.store, &a, input(target.to_str().unwrap(), "25:00")).await),
        ("daily_at".to_string(), ValidationReason::Invalid)
    );
    assert!(!target.exists(), "a refused time leaves the folder unmade");
    // Nothing was saved by the refused attempts.
    assert!(backup::settings(&env.store, &a).await.unwrap().folder_is_default);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let ro = usb.path().join("read-only");
        std::fs::create_dir(&ro).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        // (root can write anywhere: the check only means something for other users)
        if std::fs::write(ro.join("probe"), b"x").is_err() {
            assert_eq!(
                field_of(backup::set_settings(&env.store, &a, input(ro.to_str().unwrap(), "")).await).0,
                "folder"
            );
        }
    }

    let s = backup::set_settings(&env.store, &a, input(target.to_str().unwrap(), " 02:30 ")).await.unwrap();
    assert!(!s.folder_is_default && target.is_dir(), "a missing folder is made");
    assert_eq!(s.folder, target.display().to_string());
    assert_eq!(s.daily_at.as_deref(), Some("02:30"));
    // Local to the device: in meta, not in the synced settings, and audited.
    assert_eq!(meta_get(&env.store, "backup_folder").await.as_deref(), Some(s.folder.as_str()));
    let synced: i64 = sqlx::query_scalar("SELECT count(*) FROM settings WHERE key LIKE 'backup%'")
        .fetch_one(env.store.pool())
        .await
        .unwrap();
    assert_eq!(synced, 0);
    assert!(common::actions(&env.store).await.contains(&"backup.settings".to_string()));

    // Back to the default and off.
    let s = backup::set_settings(&env.store, &a, BackupSettingsInput::default()).await.unwrap();
    assert!(s.folder_is_default && s.daily_at.is_none());

    // Only administrators.
    common::add_user(&env.store, &slot, "reception", &["receptionist"]).await;
    let desk = hms_core::SessionSlot::default();
    hms_core::auth::sign_in(&env.store, &desk, "reception", common::STAFF_PW).await.unwrap();
    let d = desk.authorize(&env.store).await.unwrap();
    assert!(matches!(backup::settings(&env.store, &d).await, Err(Error::Forbidden { .. })));
    assert!(matches!(backup::status(&env.store, &d).await, Err(Error::Forbidden { .. })));
    assert!(matches!(backup::back_up_now(&env.store, &d, &quiet).await, Err(Error::Forbidden { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_up_now_is_recorded_listed_verified_and_named_only_from_the_list() {
    let (env, slot) = common::with_admin().await;
    let store = &env.store;
    let a = slot.authorize(store).await.unwrap();
    let t0 = utc(2026, 12, 5, 9, 0);
    store.set_now(Some(t0));

    let st = backup::status(store, &a).await.unwrap();
    assert!(st.last_good.is_none() && st.stale && st.due.on_close && st.backups.is_empty());

    let report = backup::back_up_now(store, &a, &quiet).await.unwrap();
    let name = std::path::Path::new(&report.path).file_name().unwrap().to_string_lossy().to_string();
    assert!(report.path.starts_with(env.dir.path().join("backups").to_str().unwrap()));

    store.set_now(Some(t0 + Duration::hours(2)));
    let st = backup::status(store, &a).await.unwrap();
    let last = st.last_good.clone().unwrap();
    assert_eq!(last.name, name);
    assert_eq!(last.taken_at, "2026-12-05T09:00:00Z");
    assert!(last.bytes > 0);
    assert_eq!(st.age_seconds, Some(7200.0));
    assert!(!st.stale && !st.due.on_close && st.last_failure.is_none());
    assert_eq!(st.backups.len(), 1);
    let e = &st.backups[0];
    assert_eq!((e.name.as_str(), e.this_device, e.bytes), (name.as_str(), true, last.bytes));
    assert_eq!(e.check.as_ref().map(|c| c.failed.clone()), Some(None), "verified when written");

    // After a day the Home warns and closing the app backs up.
    store.set_now(Some(t0 + Duration::hours(24)));
    let st = backup::status(store, &a).await.unwrap();
    assert!(st.stale && st.due.on_close);

    // Verify and Inspect by name; anything that is not a listed backup's name is not_found.
    let m = backup::inspect_named(store, &a, &name).await.unwrap();
    assert_eq!(m.device_id, e.device_id);
    backup::verify_named(store, &a, &name).await.unwrap();
    for bad in ["../backups", "", "hms-backup-x-20261205T090000Z", &report.path, "."] {
        assert!(matches!(backup::verify_named(store, &a, bad).await, Err(Error::NotFound { .. })), "{bad}");
        assert!(matches!(backup::inspect_named(store, &a, bad).await, Err(Error::NotFound { .. })), "{bad}");
    }

    // A backup damaged afterwards: Verify fails with its code, and the list shows it.
    let db = std::path::Path::new(&report.path).join(backup::DATABASE);
    let mut bytes = std::fs::read(&db).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&db, bytes).unwrap();
    let err = backup::verify_named(store, &a, &name).await.unwrap_err();
    assert_eq!(err.code(), "backup_checksum_mismatch");
    let st = backup::status(store, &a).await.unwrap();
    assert_eq!(st.backups[0].check.as_ref().unwrap().failed.as_deref(), Some("backup_checksum_mismatch"));

    // A backup the machine takes (hms-admin backup, here to another folder) counts as well.
    store.set_now(Some(t0 + Duration::hours(25)));
    let usb = tempfile::tempdir().unwrap();
    let cli = backup::take_as(store, hms_core::store::Actor::system(), usb.path(), &quiet).await.unwrap();
    let st = backup::status(store, &a).await.unwrap();
    let last = st.last_good.unwrap();
    assert_eq!((last.folder.as_str(), last.taken_at.as_str()), (usb.path().to_str().unwrap(), "2026-12-06T10:00:00Z"));
    assert!(cli.path.ends_with(&last.name));
    assert!(!st.stale && st.age_seconds == Some(0.0));

    // A failure is recorded for the screen; the last good stays.
    let blocker = env.dir.path().join("blocker");
    std::fs::write(&blocker, b"x").unwrap();
    meta_set(store, "backup_folder", blocker.to_str().unwrap()).await;
    assert!(backup::back_up_now(store, &a, &quiet).await.is_err());
    let st = backup::status(store, &a).await.unwrap();
    assert_eq!(st.last_good.unwrap().taken_at, "2026-12-06T10:00:00Z");
    assert_eq!(st.last_failure.unwrap().code, "storage");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automatic_backups_run_when_due_on_the_clinics_clock() {
    let (env, slot) = common::with_admin().await;
    let store = &env.store;
    let a = slot.authorize(store).await.unwrap();
    settings::set_time_zone(store, &a, "Africa/Dar_es_Salaam").await.unwrap(); // UTC+3
    backup::set_settings(store, &a, BackupSettingsInput { folder: None, daily_at: Some("02:00".into()) })
        .await
        .unwrap();

    // 22:59 UTC is 01:59 in Dar es Salaam: the daily time has not come; but there is no good
    // backup at all, so closing the app would back up.
    store.set_now(Some(utc(2026, 12, 4, 22, 59)));
    let due = backup::due(store).await.unwrap();
    assert!(due.daily, "yesterday's 02:00 passed with no backup");
    assert!(due.on_close);
    assert_eq!(due.next_daily.as_deref(), Some("2026-12-04T23:00:00Z"));
    assert!(backup::automatic(store, Automatic::Daily, &quiet).await.unwrap().is_some());
    let due = backup::due(store).await.unwrap();
    assert!(!due.daily && !due.on_close);
    assert!(backup::automatic(store, Automatic::Daily, &quiet).await.unwrap().is_none());
    assert!(backup::automatic(store, Automatic::OnClose, &quiet).await.unwrap().is_none());

    // 02:00 local comes: due once.
    store.set_now(Some(utc(2026, 12, 4, 23, 0)));
    assert!(backup::due(store).await.unwrap().daily);
    let r = backup::automatic(store, Automatic::Daily, &quiet).await.unwrap().unwrap();
    assert_eq!(r.manifest.taken_at, "2026-12-04T23:00:00Z");
    store.set_now(Some(utc(2026, 12, 5, 12, 0)));
    assert!(!backup::due(store).await.unwrap().daily);
    // Audited as the system.
    let who: Vec<Option<String>> =
        sqlx::query_scalar("SELECT user_id FROM audit_log WHERE action = 'backup.create' ORDER BY seq")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(who.len(), 2);

    // A day with no good backup: the next day's time is due, and closing the app too.
    store.set_now(Some(utc(2026, 12, 6, 0, 0)));
    let due = backup::due(store).await.unwrap();
    assert!(due.daily && due.on_close);

    // A failed daily try waits an hour before the next.
    let blocker = env.dir.path().join("blocker");
    std::fs::write(&blocker, b"x").unwrap();
    meta_set(store, "backup_folder", blocker.to_str().unwrap()).await;
    assert!(backup::automatic(store, Automatic::Daily, &quiet).await.is_err());
    store.set_now(Some(utc(2026, 12, 6, 0, 59)));
    assert!(!backup::due(store).await.unwrap().daily);
    store.set_now(Some(utc(2026, 12, 6, 1, 0)));
    assert!(backup::due(store).await.unwrap().daily);

    // No daily time: never daily.
    meta_set(store, "backup_daily_at", "").await;
    assert!(!backup::due(store).await.unwrap().daily);
}

#[tokio::test]
async fn nothing_runs_before_the_clinic_is_set_up() {
    let env = common::store().await;
    assert!(backup::automatic(&env.store, Automatic::OnClose, &quiet).await.unwrap().is_none());
    assert!(!env.dir.path().join("backups").exists());
}
