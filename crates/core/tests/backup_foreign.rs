//! Another computer's backup restored from the app (issue 14): this computer's key does not
//! open it, the recovery key of the computer that made it does (as typed: any case, spaces or
//! dashes); what it holds is shown once it opened, and the restore at the next start
//! re-encrypts it with this computer's key. Wrong keys are refused naming `recovery_key`,
//! limited like sign-in (back-off after 3, a 15-minute lock at 5), counted in this
//! computer's database and audited. Something that is not a backup is refused as such.

mod common;

use chrono::Duration;
use hms_core::backup::{self, BackupProgress};
use hms_core::patients::{self, PatientInput};
use hms_core::store::db_key::DbKey;
use hms_core::{Error, Store};
use std::path::Path;

fn quiet(_: BackupProgress) {}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// The old computer (Zanele registered, backed up) and the new one (set up, no patient yet;
/// its own backup needs no recovery key) with the old one's backup copied into its backup
/// folder: (old, new, new's admin, the
/// backup's name, the old computer's recovery key).
async fn two_computers() -> (common::Env, common::Env, hms_core::SessionSlot, String, String) {
    let (old, old_slot) = common::with_admin().await;
    let a = old_slot.authorize(&old.store).await.unwrap();
    let zanele = PatientInput {
        given_name: "Zanele".into(),
        family_name: "Dube".into(),
        sex: "female".into(),
        ..Default::default()
    };
    patients::register(&old.store, &a, zanele).await.unwrap();
    let report = backup::back_up_now(&old.store, &a, &quiet).await.unwrap();
    let from = Path::new(&report.path);
    let name = from.file_name().unwrap().to_string_lossy().to_string();
    let (new, new_slot) = common::with_admin().await;
    // Its own backup first (the folder's retention keeps one a day: the copy comes after).
    let own = backup::back_up_now(&new.store, &new_slot.authorize(&new.store).await.unwrap(), &quiet).await.unwrap();
    let own = Path::new(&own.path).file_name().unwrap().to_string_lossy().to_string();
    assert!(!backup::needs_recovery_key(&new.store, &new_slot.authorize(&new.store).await.unwrap(), &own)
        .await
        .unwrap());
    copy_dir(from, &backup::folder(&new.store).await.unwrap().join(&name));
    let code = old.store.db_key().recovery_code();
    (old, new, new_slot, name, code)
}

fn is_recovery_field(r: &Result<backup::Manifest, Error>) -> bool {
    matches!(r, Err(Error::Validation { field, .. }) if field == "recovery_key")
}

#[tokio::test]
async fn another_computers_backup_opens_with_its_recovery_key_and_is_restored_at_the_next_start() {
    let (old, new, slot, name, code) = two_computers().await;
    let a = slot.authorize(&new.store).await.unwrap();
    assert!(backup::needs_recovery_key(&new.store, &a, &name).await.unwrap(), "the other computer's");
    // Without the key the restore is refused as before, and nothing is pending.
    assert!(matches!(backup::request_restore(&new.store, &a, &name).await, Err(Error::BackupOtherKey)));

    // Typed as a person may: lower case, spaces instead of dashes.
    let typed = code.to_lowercase().replace('-', " ");
    let manifest = backup::open_with_recovery_key(&new.store, &a, &name, &typed).await.unwrap();
    assert_eq!(manifest.device_id, old.store.device_id());
    assert_eq!(manifest.counts.get("patients"), Some(&1));
    assert!(!backup::restore_pending(new.dir.path()), "opening it changes nothing");

    backup::request_restore_with(&new.store, &a, &name, Some(&typed)).await.unwrap();
    let pending = std::fs::read_to_string(new.dir.path().join(backup::PENDING_FILE)).unwrap();
    assert!(!pending.to_lowercase().contains(&code.to_lowercase()[..19]), "the key is not left readable");
    let new_key = new.store.db_key().clone();
    new.store.close().await;
    old.store.close().await;

    let outcome = backup::run_pending_restore(new.dir.path()).await.unwrap();
    assert!(outcome.failed.is_none(), "{outcome:?}");
    let store = Store::open_in_dir(new.dir.path()).await.unwrap();
    assert_eq!(store.db_key(), &new_key, "re-encrypted with this computer's key");
    let names: Vec<String> =
        sqlx::query_scalar("SELECT given_name FROM patients").fetch_all(store.pool()).await.unwrap();
    assert_eq!(names, vec!["Zanele".to_string()]);
    assert!(common::actions(&store).await.contains(&"backup.restore".to_string()));
    store.close().await;
}

#[tokio::test]
async fn wrong_recovery_keys_are_limited_like_sign_in_and_audited() {
    let (_old, new, slot, name, code) = two_computers().await;
    let store = &new.store;
    let a = slot.authorize(store).await.unwrap();
    let t0 = chrono::Utc::now();
    store.set_now(Some(t0));
    let wrong = DbKey::generate().unwrap().recovery_code();

    // Not a key at all: refused on the field, not counted (nothing was tried).
    for typo in ["", "1234", &code[..code.len() - 1], &code.replace(&code[..1], "G")] {
        assert!(is_recovery_field(&backup::open_with_recovery_key(store, &a, &name, typo).await), "{typo}");
    }
    // Three wrong keys in a row: refused on the field, each counted and audited.
    for _ in 0..3 {
        assert!(is_recovery_field(&backup::open_with_recovery_key(store, &a, &name, &wrong).await));
    }
    let failed = |actions: Vec<String>| actions.iter().filter(|x| *x == "backup.recovery_key_failed").count();
    assert_eq!(failed(common::actions(store).await), 3);
    // Then a back-off, even for the right key (as at sign-in).
    let r = backup::open_with_recovery_key(store, &a, &name, &code).await;
    assert!(matches!(r, Err(Error::RetryLater { seconds: 2 })), "{r:?}");
    store.set_now(Some(t0 + Duration::seconds(3)));
    assert!(is_recovery_field(&backup::open_with_recovery_key(store, &a, &name, &wrong).await));
    store.set_now(Some(t0 + Duration::seconds(10)));
    // The fifth locks, for 15 minutes; the right key, or restoring with it, is refused.
    let r = backup::open_with_recovery_key(store, &a, &name, &wrong).await;
    assert!(matches!(r, Err(Error::RecoveryKeyLocked { .. })), "{r:?}");
    store.set_now(Some(t0 + Duration::minutes(10)));
    let r = backup::open_with_recovery_key(store, &a, &name, &code).await;
    assert!(matches!(r, Err(Error::RecoveryKeyLocked { .. })), "{r:?}");
    let r = backup::request_restore_with(store, &a, &name, Some(&code)).await;
    assert!(matches!(r, Err(Error::RecoveryKeyLocked { .. })), "{r:?}");
    assert!(!backup::restore_pending(new.dir.path()));
    let actions = common::actions(store).await;
    assert_eq!(failed(actions.clone()), 5);
    assert!(actions.contains(&"backup.recovery_key_locked".to_string()), "{actions:?}");
    assert!(actions.iter().filter(|x| *x == "backup.recovery_key_refused").count() >= 3, "{actions:?}");
    // Kept in this computer's database: another administrator is locked out as well.
    common::add_user(store, &slot, "second.admin", &["admin"]).await;
    let other = hms_core::SessionSlot::default();
    hms_core::auth::sign_in(store, &other, "second.admin", common::STAFF_PW).await.unwrap();
    let b = other.authorize(store).await.unwrap();
    let r = backup::open_with_recovery_key(store, &b, &name, &code).await;
    assert!(matches!(r, Err(Error::RecoveryKeyLocked { .. })), "{r:?}");

    // Once the lock ran out the right key opens it, and the count starts again.
    store.set_now(Some(t0 + Duration::minutes(26)));
    backup::open_with_recovery_key(store, &a, &name, &code).await.unwrap();
    for _ in 0..3 {
        assert!(is_recovery_field(&backup::open_with_recovery_key(store, &a, &name, &wrong).await));
    }
}

#[tokio::test]
async fn only_an_administrator_tries_a_recovery_key_and_not_a_backup_is_refused_as_such() {
    let (_old, new, slot, name, code) = two_computers().await;
    let store = &new.store;
    common::add_user(store, &slot, "clerk", &["receptionist"]).await;
    let desk = hms_core::SessionSlot::default();
    hms_core::auth::sign_in(store, &desk, "clerk", common::STAFF_PW).await.unwrap();
    let d = desk.authorize(store).await.unwrap();
    let r = backup::open_with_recovery_key(store, &d, &name, &code).await;
    assert!(matches!(r, Err(Error::Forbidden { .. })), "{r:?}");
    assert!(matches!(backup::needs_recovery_key(store, &d, &name).await, Err(Error::Forbidden { .. })));

    // A folder named like a backup whose manifest says it is one, and nothing else.
    let a = slot.authorize(store).await.unwrap();
    let fake = "hms-backup-fake-20260101T000000Z";
    let dir = backup::folder(store).await.unwrap().join(fake);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(backup::MANIFEST), format!("{{\"format\": \"{}\"}}", backup::FORMAT)).unwrap();
    let r = backup::open_with_recovery_key(store, &a, fake, &code).await;
    assert!(matches!(r, Err(Error::NotABackup { .. })), "{r:?}");
    assert!(matches!(backup::needs_recovery_key(store, &a, fake).await, Err(Error::NotABackup { .. })));
    // Not counted as a wrong key.
    assert!(!common::actions(store).await.contains(&"backup.recovery_key_failed".to_string()));
    // Not in the folder: not found, whatever the key.
    let r = backup::open_with_recovery_key(store, &a, "../elsewhere", &code).await;
    assert!(matches!(r, Err(Error::NotFound { .. })), "{r:?}");
}
