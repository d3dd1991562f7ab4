//! Encryption at rest (issue 14): the database and its backups are SQLCipher files that only
//! the key opens; a clear database from before is encrypted once on open; a backup made on
//! another computer opens with its recovery key and is re-keyed to this one; the recovery key
//! is shown to an administrator after their password; `rekey` gives the database a new key.

mod common;

use hms_core::backup::{self, BackupProgress};
use hms_core::patients::{self, PatientInput};
use hms_core::store::db_key::{self, DbKey, FileKind};
use hms_core::store::{encrypt, Store, DB_FILE};
use hms_core::Error;
use sqlx::{ConnectOptions, Connection};
use std::path::{Path, PathBuf};

fn patient(given: &str) -> PatientInput {
    PatientInput {
        given_name: given.into(),
        family_name: "Cipherton".into(),
        sex: "female".into(),
        ..Default::default()
    }
}

fn quiet(_: BackupProgress) {}

fn db_of(dir: &Path) -> PathBuf {
    dir.join(DB_FILE)
}

/// Whether `needle` appears anywhere in the files of the database (main file and WAL).
fn in_clear(db: &Path, needle: &str) -> bool {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    [db.to_path_buf(), PathBuf::from(wal)]
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .any(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
}

async fn patient_count(store: &Store) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM patients").fetch_one(store.pool()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_is_encrypted_and_opens_only_with_its_key() {
    let (env, slot) = common::with_admin().await;
    let a = slot.authorize(&env.store).await.unwrap();
    patients::register(&env.store, &a, patient("Zenobia")).await.unwrap();
    let db = db_of(env.dir.path());
    assert_eq!(db_key::file_kind(&db).unwrap(), FileKind::Encrypted);
    let key_file = db_key::key_path(&db);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the key file is the user's alone");
    }
    let key = db_key::read_key_file(&db).unwrap().unwrap();
    assert_eq!(&key, env.store.db_key());
    env.store.close().await;
    assert!(!in_clear(&db, "Zenobia"), "no patient's name in clear on the disk");
    assert!(!in_clear(&db, "Cipherton"));

    // Without the key (plain SQLite, or another key) it is not a database.
    let plain = sqlx::sqlite::SqliteConnectOptions::new().filename(&db).read_only(true).connect().await;
    let readable = match plain {
        Ok(mut c) => sqlx::query_scalar::<_, i64>("SELECT count(*) FROM patients").fetch_one(&mut c).await.is_ok(),
        Err(_) => false,
    };
    assert!(!readable, "SQLite without the key cannot read it");
    let other = DbKey::generate().unwrap();
    let wrong = db_key::options(&db, &other).read_only(true).connect().await;
    let readable = match wrong {
        Ok(mut c) => sqlx::query_scalar::<_, i64>("SELECT count(*) FROM patients").fetch_one(&mut c).await.is_ok(),
        Err(_) => false,
    };
    assert!(!readable, "another key cannot read it");

    // With its key file it opens again; without it, a typed error naming the file.
    let store = Store::open_in_dir(env.dir.path()).await.unwrap();
    assert_eq!(patient_count(&store).await, 1);
    store.close().await;
    let aside = env.dir.path().join("key-aside");
    std::fs::rename(&key_file, &aside).unwrap();
    match Store::open_in_dir(env.dir.path()).await {
        Err(Error::DatabaseKeyMissing { path }) => assert_eq!(PathBuf::from(path), key_file),
        other => panic!("expected database_key_missing, got {:?}", other.map(|_| ())),
    }
    assert!(!key_file.exists(), "a missing key is not replaced by a new one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clear_database_from_before_is_encrypted_on_open_and_keeps_everything() {
    let (env, slot) = common::with_admin().await;
    let a = slot.authorize(&env.store).await.unwrap();
    for name in ["Amara", "Bongani", "Chidi"] {
        patients::register(&env.store, &a, patient(name)).await.unwrap();
    }
    let before = common::actions(&env.store).await;
    let db = db_of(env.dir.path());
    let key = env.store.db_key().clone();
    env.store.close().await;

    // The database as a version before encryption left it: clear, no key file.
    let clear = env.dir.path().join("clear.db");
    let mut conn = db_key::options(&db, &key).create_if_missing(true).connect().await.unwrap();
    sqlx::query("ATTACH DATABASE ? AS clear KEY ''").bind(clear.to_str().unwrap()).execute(&mut conn).await.unwrap();
    sqlx::query("SELECT sqlcipher_export('clear')").execute(&mut conn).await.unwrap();
    let version: i64 = sqlx::query_scalar("PRAGMA user_version").fetch_one(&mut conn).await.unwrap();
    sqlx::query(&format!("PRAGMA clear.user_version = {version}")).execute(&mut conn).await.unwrap();
    sqlx::query("DETACH DATABASE clear").execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    std::fs::remove_file(db_key::key_path(&db)).unwrap();
    std::fs::rename(&clear, &db).unwrap();
    assert_eq!(db_key::file_kind(&db).unwrap(), FileKind::Plain);
    assert!(in_clear(&db, "Bongani"), "the old database is clear");

    let store = Store::open_in_dir(env.dir.path()).await.unwrap();
    assert_eq!(db_key::file_kind(&db).unwrap(), FileKind::Encrypted);
    assert_eq!(patient_count(&store).await, 3, "every record is there");
    assert_eq!(common::actions(&store).await, before, "the audit log whole");
    let a = slot.authorize(&store).await.unwrap();
    assert!(hms_core::audit::verify(&store, &a).await.unwrap().intact, "the audit chain verifies");
    patients::register(&store, &a, patient("Dayo")).await.unwrap();
    store.close().await;
    assert!(!in_clear(&db, "Bongani"), "nothing clear is left beside it");
    assert!(!env.dir.path().join(format!("{DB_FILE}.encrypting")).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_is_encrypted_and_opens_on_another_computer_only_with_the_recovery_key() {
    let (env, slot) = common::with_admin().await;
    let a = slot.authorize(&env.store).await.unwrap();
    patients::register(&env.store, &a, patient("Esi")).await.unwrap();
    let folder = tempfile::tempdir().unwrap();
    let report = backup::create(&env.store, &a, folder.path(), &quiet).await.unwrap();
    let taken = PathBuf::from(&report.path);
    let backup_db = taken.join(backup::DATABASE);
    assert_eq!(db_key::file_kind(&backup_db).unwrap(), FileKind::Encrypted);
    assert!(!in_clear(&backup_db, "Cipherton"), "no patient in clear in the backup");
    assert!(std::fs::read_dir(&taken).unwrap().flatten().all(|e| !e.file_name().to_string_lossy().ends_with(".key")));
    let recovery = env.store.db_key().recovery_code();
    backup::verify(&taken, env.store.db_key()).await.unwrap();

    // Another computer: its own key does not open the backup, the recovery key does.
    let other = tempfile::tempdir().unwrap();
    let other_store = Store::open_in_dir(other.path()).await.unwrap();
    let other_key = other_store.db_key().clone();
    other_store.close().await;
    assert!(matches!(backup::verify(&taken, &other_key).await, Err(Error::BackupOtherKey)));
    let refused = backup::restore(other.path(), &taken, None, chrono::Utc::now()).await;
    assert!(matches!(refused, Err(Error::BackupOtherKey)), "{refused:?}");
    let key = DbKey::from_recovery_code(&recovery).unwrap();
    backup::restore_with(other.path(), &taken, Some(&key), None, chrono::Utc::now()).await.unwrap();

    // Restored, and re-keyed to that computer's own key.
    let restored = Store::open_in_dir(other.path()).await.unwrap();
    assert_eq!(restored.db_key(), &other_key);
    assert_eq!(patient_count(&restored).await, 1);
    restored.close().await;
    let with_old = db_key::options(&db_of(other.path()), &key).read_only(true).connect().await;
    let readable = match with_old {
        Ok(mut c) => sqlx::query_scalar::<_, i64>("SELECT count(*) FROM patients").fetch_one(&mut c).await.is_ok(),
        Err(_) => false,
    };
    assert!(!readable, "the restored copy is under this computer's key, not the backup's");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recovery_key_is_shown_to_an_administrator_after_their_password_and_audited() {
    let (env, slot) = common::with_admin().await;
    let a = slot.authorize(&env.store).await.unwrap();
    let wrong = backup::recovery_key(&env.store, &a, "not the password").await;
    assert!(matches!(wrong, Err(Error::InvalidCredentials)), "{wrong:?}");
    let code = backup::recovery_key(&env.store, &a, common::ADMIN_PW).await.unwrap();
    assert_eq!(DbKey::from_recovery_code(&code).as_ref(), Some(env.store.db_key()));
    let actions = common::actions(&env.store).await;
    assert!(actions.iter().any(|x| x == "backup.recovery_key_shown"), "{actions:?}");

    common::add_user(&env.store, &slot, "desk.ana", &["receptionist"]).await;
    let desk = hms_core::SessionSlot::default();
    hms_core::auth::sign_in(&env.store, &desk, "desk.ana", common::STAFF_PW).await.unwrap();
    let d = desk.authorize(&env.store).await.unwrap();
    assert!(matches!(backup::recovery_key(&env.store, &d, common::STAFF_PW).await, Err(Error::Forbidden { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekey_needs_the_recovery_key_and_leaves_only_the_new_key_working() {
    let (env, slot) = common::with_admin().await;
    let a = slot.authorize(&env.store).await.unwrap();
    patients::register(&env.store, &a, patient("Femi")).await.unwrap();
    let db = db_of(env.dir.path());
    let old = env.store.db_key().clone();
    env.store.close().await;
    std::fs::remove_file(db_key::key_path(&db)).unwrap();

    let stranger = DbKey::generate().unwrap();
    let refused = encrypt::rekey(&db, &stranger).await;
    assert!(matches!(&refused, Err(Error::Validation { field, .. }) if field == "recovery_key"), "{refused:?}");
    assert!(!db_key::key_path(&db).exists(), "nothing written for a wrong key");

    let new = encrypt::rekey(&db, &old).await.unwrap();
    assert_ne!(new, old);
    assert_eq!(db_key::read_key_file(&db).unwrap().as_ref(), Some(&new));
    let store = Store::open_in_dir(env.dir.path()).await.unwrap();
    assert_eq!(patient_count(&store).await, 1);
    store.close().await;
    let with_old = db_key::options(&db, &old).read_only(true).connect().await;
    let readable = match with_old {
        Ok(mut c) => sqlx::query_scalar::<_, i64>("SELECT count(*) FROM patients").fetch_one(&mut c).await.is_ok(),
        Err(_) => false,
    };
    assert!(!readable, "the old key no longer opens it");
}

/// `hms-admin rekey` run as the app closes: a connection of the app is still open (reading)
/// when the rekey starts and goes half a second later; the rekey waits for it instead of
/// failing on "database is locked", and the database ends under the new key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekey_waits_for_the_closing_apps_last_connection() {
    let (env, slot) = common::with_admin().await;
    let a = slot.authorize(&env.store).await.unwrap();
    patients::register(&env.store, &a, patient("Gbenga")).await.unwrap();
    let db = db_of(env.dir.path());
    let old = env.store.db_key().clone();
    env.store.close().await;

    let mut lingering = db_key::options(&db, &old).connect().await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM patients").fetch_one(&mut lingering).await.unwrap();
    assert_eq!(n, 1);
    // While it is open, the database cannot leave WAL (the rekey's first step): shown here.
    let mut probe = db_key::options(&db, &old).connect().await.unwrap();
    let busy = sqlx::query("PRAGMA journal_mode = DELETE").execute(&mut probe).await;
    assert!(busy.is_err(), "another connection holds the database: {busy:?}");
    probe.close().await.unwrap();

    let closing = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        lingering.close().await.unwrap();
    });
    let new = encrypt::rekey(&db, &old).await.unwrap();
    closing.await.unwrap();
    assert_ne!(new, old);
    let store = Store::open_in_dir(env.dir.path()).await.unwrap();
    assert_eq!(store.db_key(), &new);
    assert_eq!(patient_count(&store).await, 1);
    store.close().await;
}

/// The recovery sheet: after the password (a wrong one refused, nothing marked), a PDF whose
/// text holds the key's 16 groups and the clinic, and whose QR code reads back as the key; the
/// Home's reminder (`recovery_key_given`) is off once it is saved and on again after a rekey.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recovery_sheet_holds_the_key_in_writing_and_as_a_qr_code() {
    let (env, slot) = common::with_admin().await;
    let a = slot.authorize(&env.store).await.unwrap();
    assert!(!backup::status(&env.store, &a).await.unwrap().recovery_key_given, "a new computer's key was never given");
    let wrong = backup::recovery_sheet(&env.store, &a, "not the password").await;
    assert!(matches!(wrong, Err(Error::InvalidCredentials)), "{:?}", wrong.map(|s| s.file_name));
    assert!(!backup::status(&env.store, &a).await.unwrap().recovery_key_given);

    let sheet = backup::recovery_sheet(&env.store, &a, common::ADMIN_PW).await.unwrap();
    let code = env.store.db_key().recovery_code();
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join(&sheet.file_name);
    std::fs::write(&pdf, &sheet.pdf).unwrap();
    let text = common::pdf_text(&pdf);
    // Four lines of four groups (pdftotext closes up the spaces between them).
    let lines: Vec<String> = text.lines().map(|l| l.split_whitespace().collect()).collect();
    for line in code.split('-').collect::<Vec<_>>().chunks(4) {
        assert!(lines.contains(&line.join("-")), "{line:?} not a line of\n{text}");
    }
    assert!(text.contains("HMS recovery key") && text.contains("hms-admin restore"), "{text}");
    // How to restore with it in the app too (the Backups screen takes the key), not only the CLI.
    assert!(text.contains("open Backups") && text.contains("Open the backup"), "{text}");
    assert_eq!(qr_codes(&pdf), vec![code.clone()], "the QR code is the key");
    assert!(backup::status(&env.store, &a).await.unwrap().recovery_key_given, "saved: the Home stops asking");
    let actions = common::actions(&env.store).await;
    assert!(actions.iter().any(|x| x == "backup.recovery_sheet_saved"), "{actions:?}");

    // A new key (rekey) has not been given to anyone yet.
    let db = db_of(env.dir.path());
    let old = env.store.db_key().clone();
    env.store.close().await;
    encrypt::rekey(&db, &old).await.unwrap();
    let store = Store::open_in_dir(env.dir.path()).await.unwrap();
    let a = slot.authorize(&store).await.unwrap();
    assert!(!backup::status(&store, &a).await.unwrap().recovery_key_given, "the rekeyed key was never given");
    backup::recovery_key(&store, &a, common::ADMIN_PW).await.unwrap();
    assert!(backup::status(&store, &a).await.unwrap().recovery_key_given, "shown counts as given");
}

/// Every QR code on the PDF's first page, read from a 150 dpi greyscale image of it
/// (pdftoppm, poppler-utils: `make deps` installs it).
fn qr_codes(pdf: &Path) -> Vec<String> {
    let out = pdf.with_extension("");
    let status = std::process::Command::new("pdftoppm")
        .args(["-r", "150", "-gray", "-singlefile", "-f", "1", "-l", "1"])
        .arg(pdf)
        .arg(&out)
        .status()
        .expect("pdftoppm (poppler-utils): make deps installs it");
    assert!(status.success());
    let bytes = std::fs::read(out.with_extension("pgm")).unwrap();
    // Binary PGM: "P5", width, height, maximum value, each after whitespace, then the pixels.
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..at]).into_owned());
    }
    assert_eq!(fields[0], "P5");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let pixels = &bytes[at + 1..];
    assert_eq!(pixels.len(), w * h);
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
    image.detect_grids().into_iter().map(|g| g.decode().unwrap().1).collect()
}
