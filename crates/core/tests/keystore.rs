//! The database key in the platform's keystore (issue 14), with the key file as the fallback.
//!
//! The tests marked `#[ignore]` need a real Secret Service: `make test-keystore` runs them
//! inside `dbus-run-session` with `gnome-keyring-daemon` unlocked (scripts/with-keystore).
//! "No keystore" is made real too, whatever the machine: the test runs itself again as a
//! child process whose session bus address points nowhere, so nothing answers there.

mod common;

use hms_core::backup::{self, BackupProgress};
use hms_core::patients::{self, PatientInput};
use hms_core::store::db_key::{self, DbKey};
use hms_core::store::keystore::{self, Lookup};
use hms_core::store::{encrypt, Store, DB_FILE};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The child's work (see [`child`]): `ACTION:DATA_DIR`.
const CHILD_ENV: &str = "HMS_KEYSTORE_TEST_CHILD";

/// Runs [`child`] in a new process of this test binary with no keystore reachable (the
/// session bus at an address where nothing listens) and answers what it printed.
fn in_child_without_keystore(action: &str, dir: &Path) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["child", "--exact", "--include-ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, format!("{action}:{}", dir.display()))
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/hms-no-bus")
        .env_remove("HMS_KEYSTORE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "child failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    // The harness prints "test child ... " before it on the same line.
    stdout.lines().find_map(|l| l.split_once("CHILD:")).map(|(_, answer)| answer.trim().to_string()).unwrap_or_default()
}

/// Not a test of its own: what [`in_child_without_keystore`] asks of a child process.
/// `open`: opens the store in the folder and prints `ok` or the error's code.
#[tokio::test]
#[ignore = "run by the other tests as a child process"]
async fn child() {
    let Ok(work) = std::env::var(CHILD_ENV) else { return };
    let (action, dir) = work.split_once(':').unwrap();
    assert_eq!(action, "open");
    let answer = match Store::open(&Path::new(dir).join(DB_FILE)).await {
        Ok(store) => {
            store.close().await;
            "ok".to_string()
        }
        Err(e) => e.code().to_string(),
    };
    println!("CHILD:{answer}");
}

fn db_of(dir: &Path) -> PathBuf {
    dir.join(DB_FILE)
}

fn patient(given: &str) -> PatientInput {
    PatientInput {
        given_name: given.into(),
        family_name: "Keyholder".into(),
        sex: "female".into(),
        ..Default::default()
    }
}

async fn patient_count(store: &Store) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM patients").fetch_one(store.pool()).await.unwrap()
}

fn quiet(_: BackupProgress) {}

fn sha_of(path: &Path) -> String {
    hms_core::store::blobs::sha256_hex(&std::fs::read(path).unwrap())
}

/// The key the keystore holds for the database at `db`, or a failure naming what it said.
fn in_keystore(db: &Path) -> DbKey {
    match keystore::get(db) {
        Lookup::Found(key) => key,
        other => panic!("expected the key in the keystore, got {other:?}"),
    }
}

/// Runs everywhere: with no keystore answering, a new database's key goes into the key file
/// (readable only by the user), and the database opens again from it.
#[test]
fn without_a_keystore_the_key_goes_into_a_key_file_of_the_user() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(in_child_without_keystore("open", dir.path()), "ok");
    let db = db_of(dir.path());
    let key = db_key::read_key_file(&db).unwrap().expect("a key file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(db_key::key_path(&db)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert_eq!(db_key::file_kind(&db).unwrap(), db_key::FileKind::Encrypted);
    assert_eq!(in_child_without_keystore("open", dir.path()), "ok", "opens again from the key file");
    assert_eq!(db_key::read_key_file(&db).unwrap(), Some(key), "the same key, kept in the file");
}

#[test]
fn the_entry_is_named_after_the_canonical_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let direct = dir.path().join("data").join(DB_FILE);
    let roundabout = dir.path().join("data").join("..").join("data").join(DB_FILE);
    assert_eq!(keystore::entry_user(&direct), keystore::entry_user(&roundabout));
    let other = dir.path().join(DB_FILE);
    assert_ne!(keystore::entry_user(&direct), keystore::entry_user(&other));
    assert!(keystore::entry_user(&direct).starts_with("db-"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Secret Service: make test-keystore"]
async fn a_new_database_keeps_its_key_in_the_keystore_and_no_key_file() {
    let (env, slot) = common::with_admin().await;
    let a = slot.authorize(&env.store).await.unwrap();
    patients::register(&env.store, &a, patient("Ottilie")).await.unwrap();
    let db = db_of(env.dir.path());
    assert_eq!(&in_keystore(&db), env.store.db_key());
    assert!(!db_key::key_path(&db).exists(), "no key file beside the database");
    env.store.close().await;
    let again = Store::open(&db).await.unwrap();
    assert_eq!(patient_count(&again).await, 1);
    again.close().await;
    keystore::delete(&db).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Secret Service: make test-keystore"]
async fn a_key_file_moves_into_the_keystore_and_a_gone_keystore_is_a_clear_error() {
    // Made where no keystore answers: the key in a file.
    let dir = tempfile::tempdir().unwrap();
    let db = db_of(dir.path());
    assert_eq!(in_child_without_keystore("open", dir.path()), "ok");
    let key = db_key::read_key_file(&db).unwrap().unwrap();
    assert!(matches!(keystore::get(&db), Lookup::Absent));

    // Opened where the keystore answers: moved there (checked), then the file removed.
    let store = Store::open(&db).await.unwrap();
    assert_eq!(store.db_key(), &key);
    store.close().await;
    assert_eq!(in_keystore(&db), key);
    assert!(!db_key::key_path(&db).exists(), "the key file removed once the keystore holds the key");

    // The keystore gone at start: a typed error, no new key, the database untouched.
    let before = sha_of(&db);
    assert_eq!(in_child_without_keystore("open", dir.path()), "keystore_unavailable");
    assert!(!db_key::key_path(&db).exists(), "no key file made over an encrypted database");
    assert_eq!(sha_of(&db), before);
    assert_eq!(in_keystore(&db), key, "the keystore's key left as it was");

    // The entry deleted (the keystore answers, without it): the key is missing, none is made.
    keystore::delete(&db).unwrap();
    let missing = Store::open(&db).await.map(|_| ()).unwrap_err();
    assert_eq!(missing.code(), "database_key_missing");
    assert!(matches!(keystore::get(&db), Lookup::Absent));
    assert!(!db_key::key_path(&db).exists());

    // The recovery key gives it a key again (a new one, in the keystore).
    let new = encrypt::rekey(&db, &key).await.unwrap();
    assert_ne!(new, key);
    assert_eq!(in_keystore(&db), new);
    assert!(!db_key::key_path(&db).exists() && !db_key::pending_key_path(&db).exists());
    let store = Store::open(&db).await.unwrap();
    store.close().await;
    keystore::delete(&db).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Secret Service: make test-keystore"]
async fn backup_restore_and_rekey_work_with_the_key_in_the_keystore() {
    let (env, slot) = common::with_admin().await;
    let a = slot.authorize(&env.store).await.unwrap();
    patients::register(&env.store, &a, patient("Before")).await.unwrap();
    let db = db_of(env.dir.path());
    let key = in_keystore(&db);
    let target = tempfile::tempdir().unwrap();
    let taken = PathBuf::from(backup::take(&env.store, target.path(), &quiet).await.unwrap().path);
    backup::verify(&taken, &key).await.unwrap();
    patients::register(&env.store, &a, patient("After")).await.unwrap();
    env.store.close().await;

    // Restored over itself: the backup's state, the same key in the keystore.
    backup::restore(env.dir.path(), &taken, None, chrono::Utc::now()).await.unwrap();
    assert_eq!(in_keystore(&db), key);
    assert!(!db_key::key_path(&db).exists());
    let store = Store::open(&db).await.unwrap();
    assert_eq!(patient_count(&store).await, 1);
    store.close().await;

    // Restored on "another computer" (another data folder) with the recovery key: re-keyed to
    // that folder's own key, which is in the keystore under its own entry.
    let elsewhere = tempfile::tempdir().unwrap();
    let other_db = db_of(elsewhere.path());
    backup::restore_with(elsewhere.path(), &taken, Some(&key), None, chrono::Utc::now()).await.unwrap();
    let other_key = in_keystore(&other_db);
    assert_ne!(other_key, key);
    let store = Store::open(&other_db).await.unwrap();
    assert_eq!(patient_count(&store).await, 1);
    store.close().await;

    // Rekey: the new key replaces the old in the keystore; no key file, no pending key left.
    let new = encrypt::rekey(&db, &key).await.unwrap();
    assert_eq!(in_keystore(&db), new);
    assert!(!db_key::key_path(&db).exists() && !db_key::pending_key_path(&db).exists());
    let store = Store::open(&db).await.unwrap();
    assert_eq!(patient_count(&store).await, 1);
    store.close().await;
    keystore::delete(&db).unwrap();
    keystore::delete(&other_db).unwrap();
}
