//! Backups (issue 14): taken while the app writes, verified before they count, inspected,
//! restored over a closed store with a safety copy, and every bad backup refused with its own
//! error and nothing changed.

mod common;

use hms_core::backup::{self, BackupProgress, Manifest};
use hms_core::patients::{self, PatientInput};
use hms_core::store::{blobs, Store};
use hms_core::{audit, Error};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

fn patient(given: &str) -> PatientInput {
    PatientInput { given_name: given.into(), family_name: "Backup".into(), sex: "female".into(), ..Default::default() }
}

fn letters(mut n: u32) -> String {
    let mut s = String::new();
    loop {
        s.push(char::from(b'a' + (n % 26) as u8));
        n /= 26;
        if n == 0 {
            break s;
        }
    }
}

fn quiet(_: BackupProgress) {}

async fn register(store: &Store, slot: &hms_core::SessionSlot, n: u32, tag: &str) {
    let a = slot.authorize(store).await.unwrap();
    for i in 0..n {
        patients::register(store, &a, patient(&format!("{tag}{}", letters(i)))).await.unwrap();
    }
}

fn sha_of(path: &Path) -> String {
    blobs::sha256_hex(&std::fs::read(path).unwrap())
}

/// A copy of a backup folder to damage.
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

fn rewrite_manifest(dir: &Path, change: impl FnOnce(&mut Manifest)) {
    let path = dir.join(backup::MANIFEST);
    let mut m: Manifest = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    change(&mut m);
    std::fs::write(path, serde_json::to_vec(&m).unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_is_verified_inspected_and_restored_with_a_safety_copy() {
    let (env, slot) = common::with_admin().await;
    register(&env.store, &slot, 30, "Before").await;
    let photo = b"a scanned referral letter".to_vec();
    let sha = blobs::sha256_hex(&photo);
    blobs::put(&env.store, &sha, &photo).unwrap();
    let target = tempfile::tempdir().unwrap();

    // Taken while registrations go on.
    let phases = Mutex::new(Vec::new());
    let progress = |p: BackupProgress| phases.lock().unwrap().push(p);
    let a = slot.authorize(&env.store).await.unwrap();
    let (report, ()) = tokio::join!(
        backup::create(&env.store, &a, target.path(), &progress),
        register(&env.store, &slot, 20, "During")
    );
    let report = report.unwrap();
    let folder = PathBuf::from(&report.path);
    let name = folder.file_name().unwrap().to_string_lossy().to_string();
    assert!(name.starts_with("hms-backup-hms-clinic-2"), "{name}");
    assert!(folder.join("hms.db").is_file() && folder.join("manifest.json").is_file());
    assert!(!std::fs::read_dir(target.path())
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with('.')));
    let phases = phases.into_inner().unwrap();
    assert!(phases.iter().any(|p| p.phase == backup::BackupPhase::Database && p.fraction == 1.0));
    assert!(phases.iter().any(|p| p.phase == backup::BackupPhase::Verify && p.fraction == 1.0));

    // What it holds: the 30 and however many of the 20 had committed when the copy began.
    let m = backup::inspect(&folder).unwrap();
    assert_eq!(m, report.manifest);
    let held = m.counts["patients"];
    assert!((30..=50).contains(&held), "{held}");
    assert_eq!(m.device_id, env.store.device_id());
    assert_eq!(m.clinic.name, "HMS Clinic");
    assert_eq!(i64::from(m.schema_version), env.store.schema_version().await.unwrap());
    assert!(m.files.iter().any(|f| f.path == format!("attachments/{}/{sha}", &sha[..2]) && f.sha256 == sha));
    assert!(m.audit_head.is_some());
    assert_eq!(backup::verify(&folder, env.store.db_key()).await.unwrap(), m);
    assert!(common::actions(&env.store).await.contains(&"backup.create".to_string()));

    // Work after the backup, then the store closes and the backup is restored.
    register(&env.store, &slot, 5, "After").await;
    let before_restore = common::count(&env.store, "patients").await;
    assert_eq!(before_restore, 55);
    env.store.close().await;
    std::fs::remove_file(blobs::path(&env.store, &sha).unwrap()).unwrap();
    let replaced = sha_of(&env.dir.path().join("hms.db"));
    let restored = backup::restore(env.dir.path(), &folder, None, chrono::Utc::now()).await.unwrap();
    let safety = PathBuf::from(restored.safety_copy.clone().unwrap());
    assert_eq!(sha_of(&safety.join("hms.db")), replaced, "the replaced database is kept whole");
    assert_eq!(restored.migrated_from, None);

    let store = Store::open_in_dir(env.dir.path()).await.unwrap();
    assert_eq!(common::count(&store, "patients").await, held as i64);
    assert_eq!(blobs::read_intact(&store, &sha).unwrap(), photo, "the attachment came back");
    assert!(audit::verify_unaudited(&store).await.unwrap().intact);
    assert_eq!(common::actions(&store).await.last().unwrap(), "backup.restore");
    // The chain goes on from the backup's last entry under a new number, above any the
    // device used after the backup (and so any the server or the other devices hold).
    let (restart, prev): (i64, String) =
        sqlx::query_as("SELECT seq, prev_hash FROM audit_log WHERE action = 'backup.restore'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    let head = m.audit_head.clone().unwrap();
    assert_eq!(prev, head.hash);
    assert!(restart >= 1 << 20 && restart > head.seq as i64 + 10, "{restart}");
    // The next change is numbered above anything used before the restore.
    let floor = restored.next_change_seq as i64;
    assert!(floor > (1 << 32), "{floor}");
    let slot = hms_core::SessionSlot::default();
    hms_core::auth::sign_in(&store, &slot, "admin", common::ADMIN_PW).await.unwrap();
    register(&store, &slot, 2, "Restored").await;
    // The audit log lists the entries after the new number like any other.
    let a = slot.authorize(&store).await.unwrap();
    let page = audit::list(&store, &a, &audit::AuditFilter { limit: 50, ..Default::default() }).await.unwrap();
    assert!(page.entries.iter().any(|e| e.seq == restart && e.action == "backup.restore"));
    let seqs: Vec<i64> = sqlx::query_scalar("SELECT seq FROM change_log WHERE seq >= ? ORDER BY seq")
        .bind(floor)
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(seqs.first(), Some(&floor));
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    let below: i64 = sqlx::query_scalar("SELECT count(*) FROM change_log WHERE seq > ? AND seq < ?")
        .bind(m.last_change_seq as i64)
        .bind(floor)
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(below, 0);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_backups_are_refused_by_name_and_nothing_changes() {
    let (env, slot) = common::with_admin().await;
    register(&env.store, &slot, 5, "Kept").await;
    let target = tempfile::tempdir().unwrap();
    let good = PathBuf::from(backup::take(&env.store, target.path(), &quiet).await.unwrap().path);
    register(&env.store, &slot, 3, "Later").await;
    env.store.close().await;
    let db = env.dir.path().join("hms.db");
    let untouched = sha_of(&db);
    let work = tempfile::tempdir().unwrap();
    let broken = |name: &str| {
        let d = work.path().join(name);
        copy_dir(&good, &d);
        d
    };
    let restore = |dir: PathBuf| {
        let data = env.dir.path().to_path_buf();
        async move { backup::restore(&data, &dir, None, chrono::Utc::now()).await.unwrap_err() }
    };

    // Not a backup at all: a plain folder, a file, a manifest of something else.
    let plain = work.path().join("photos");
    std::fs::create_dir(&plain).unwrap();
    assert!(matches!(restore(plain.clone()).await, Error::NotABackup { .. }));
    std::fs::write(plain.join("manifest.json"), "{\"format\": \"zip\"}").unwrap();
    assert!(matches!(backup::verify(&plain, env.store.db_key()).await.unwrap_err(), Error::NotABackup { .. }));
    assert!(matches!(backup::inspect(&good.join("hms.db")).unwrap_err(), Error::NotABackup { .. }));

    // Truncated: the database cut in half.
    let cut = broken("cut");
    let len = std::fs::metadata(cut.join("hms.db")).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(cut.join("hms.db")).unwrap().set_len(len / 2).unwrap();
    let e = restore(cut).await;
    assert!(matches!(&e, Error::BackupTruncated { file } if file == "hms.db"), "{e:?}");
    assert_eq!(e.code(), "backup_truncated");

    // Bytes flipped: the checksum no longer matches.
    let flipped = broken("flipped");
    let mut bytes = std::fs::read(flipped.join("hms.db")).unwrap();
    let at = bytes.len() / 2;
    for b in &mut bytes[at..at + 64] {
        *b ^= 0xA5;
    }
    std::fs::write(flipped.join("hms.db"), &bytes).unwrap();
    assert!(matches!(restore(flipped.clone()).await, Error::BackupChecksumMismatch { file } if file == "hms.db"));

    // Worse damage (every page's header) with a manifest made to match it: the database's own
    // checks fail.
    for page in (4096..bytes.len()).step_by(4096) {
        for b in &mut bytes[page..page + 8] {
            *b ^= 0x5A;
        }
    }
    std::fs::write(flipped.join("hms.db"), &bytes).unwrap();
    let (len, sha) = (bytes.len() as u64, blobs::sha256_hex(&bytes));
    rewrite_manifest(&flipped, |m| {
        m.files[0].bytes = len;
        m.files[0].sha256 = sha;
    });
    let e = backup::verify(&flipped, env.store.db_key()).await.unwrap_err();
    assert!(matches!(&e, Error::BackupCorrupt { .. }), "{e:?}");
    assert_eq!(e.code(), "backup_corrupt");

    // A manifest whose counts were edited.
    let counted = broken("counted");
    rewrite_manifest(&counted, |m| {
        m.counts.insert("patients".into(), 1_000);
    });
    assert!(
        matches!(backup::verify(&counted, env.store.db_key()).await.unwrap_err(), Error::BackupCorrupt { what } if what.contains("patients"))
    );

    // From a newer version of HMS.
    let newer = broken("newer");
    rewrite_manifest(&newer, |m| m.schema_version = 9_999);
    let e = restore(newer).await;
    assert!(matches!(e, Error::BackupNewerSchema { version: 9_999, .. }), "{e:?}");

    // Another clinic's backup over this one.
    let other_env = common::with_admin().await.0;
    let other_dir = tempfile::tempdir().unwrap();
    let other = PathBuf::from(backup::take(&other_env.store, other_dir.path(), &quiet).await.unwrap().path);
    // Encrypted with the other computer's key: refused as such; with its recovery key, as
    // another clinic's.
    assert!(matches!(restore(other.clone()).await, Error::BackupOtherKey));
    let data = env.dir.path().to_path_buf();
    let with_key = backup::restore_with(&data, &other, Some(other_env.store.db_key()), None, chrono::Utc::now()).await;
    assert!(matches!(with_key, Err(Error::BackupOtherClinic { .. })), "{with_key:?}");

    // Nothing changed: the database, and no safety copy or temporary file left.
    assert_eq!(sha_of(&db), untouched);
    let left: Vec<String> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("before-restore") || n.contains("restoring"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // And the good one still restores.
    backup::restore(env.dir.path(), &good, None, chrono::Utc::now()).await.unwrap();
    let store = Store::open_in_dir(env.dir.path()).await.unwrap();
    assert_eq!(common::count(&store, "patients").await, 5);
    store.close().await;
}

#[tokio::test]
async fn only_an_administrator_backs_up() {
    let (env, admin) = common::with_admin().await;
    common::add_user(&env.store, &admin, "frontdesk", &["receptionist"]).await;
    let desk = hms_core::SessionSlot::default();
    hms_core::auth::sign_in(&env.store, &desk, "frontdesk", common::STAFF_PW).await.unwrap();
    let a = desk.authorize(&env.store).await.unwrap();
    let target = tempfile::tempdir().unwrap();
    let e = backup::create(&env.store, &a, target.path(), &quiet).await.unwrap_err();
    assert!(matches!(e, Error::Forbidden { permission } if permission == "backup_manage"));
    assert_eq!(std::fs::read_dir(target.path()).unwrap().count(), 0);
}
