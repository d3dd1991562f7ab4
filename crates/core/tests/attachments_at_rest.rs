//! The attachments' files encrypted at rest (issue 14): the blob store writes every file
//! encrypted with a key derived from the database key; nothing of a content is in clear under
//! the data directory or in a backup; a changed file is damaged; clear files from before are
//! encrypted on open (or when read); a restore on another computer and `rekey` put the files
//! under the new key.

mod common;

use hms_core::backup::{self, BackupProgress};
use hms_core::store::blob_cipher::{self, BlobKey};
use hms_core::store::db_key::{self, DbKey};
use hms_core::store::{blobs, encrypt, Store, DB_FILE};
use hms_core::Error;
use std::path::{Path, PathBuf};

fn quiet(_: BackupProgress) {}

/// A content easy to find: a line repeated, as a scanned letter's text would be.
fn content(tag: &str) -> Vec<u8> {
    format!("REFERRAL LETTER {tag}: chest pain, refer to cardiology.\n").repeat(50).into_bytes()
}

/// Every file under `dir`, at any depth.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(files_under(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

/// Whether any file under `dir` holds `needle`.
fn in_clear_under(dir: &Path, needle: &[u8]) -> bool {
    files_under(dir)
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .any(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
}

fn on_disk(store: &Store, sha: &str) -> Vec<u8> {
    std::fs::read(blobs::path(store, sha).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_content_is_in_clear_under_the_data_directory_or_in_a_backup() {
    let (env, slot) = common::with_admin().await;
    let letter = content("Adaeze");
    let sha = blobs::sha256_hex(&letter);
    blobs::put(&env.store, &sha, &letter).unwrap();
    assert!(blobs::has(&env.store, &sha));
    assert_eq!(blobs::read_intact(&env.store, &sha).unwrap(), letter, "read back in clear");
    let stored = on_disk(&env.store, &sha);
    assert!(blob_cipher::is_sealed(&stored));
    assert!(blob_cipher::open(env.store.blob_key(), &sha, &stored).is_some());

    let a = slot.authorize(&env.store).await.unwrap();
    let folder = tempfile::tempdir().unwrap();
    let report = backup::create(&env.store, &a, folder.path(), &quiet).await.unwrap();
    assert_eq!(report.damaged_files, 0);
    let entry = report.manifest.files.iter().find(|f| f.path.ends_with(&sha)).unwrap();
    assert_eq!((entry.sha256.as_str(), entry.bytes), (sha.as_str(), letter.len() as u64), "the content's");

    let needle = b"REFERRAL LETTER Adaeze";
    assert!(!in_clear_under(env.dir.path(), needle), "nothing in clear in the data directory");
    assert!(!in_clear_under(folder.path(), needle), "nothing in clear in the backup");
    let copy = files_under(folder.path()).into_iter().find(|p| p.ends_with(&sha)).unwrap();
    assert_eq!(std::fs::read(copy).unwrap(), stored, "the backup holds the encrypted file as it is");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_changed_on_the_disk_is_damaged() {
    let (env, slot) = common::with_admin().await;
    let letter = content("Bisi");
    let sha = blobs::sha256_hex(&letter);
    blobs::put(&env.store, &sha, &letter).unwrap();
    let path = blobs::path(&env.store, &sha).unwrap();
    let mut stored = std::fs::read(&path).unwrap();
    let last = stored.len() - 1;
    stored[last] ^= 1;
    std::fs::write(&path, &stored).unwrap();
    assert_eq!(blobs::read_intact(&env.store, &sha), None, "refused");
    assert_ne!(blobs::read(&env.store, &sha).unwrap(), letter);

    // Left out of a backup, as a hash mismatch was.
    let a = slot.authorize(&env.store).await.unwrap();
    let folder = tempfile::tempdir().unwrap();
    let report = backup::create(&env.store, &a, folder.path(), &quiet).await.unwrap();
    assert_eq!(report.damaged_files, 1);

    // Stored again, it is whole again; then a backup's copy changed fails verification.
    blobs::put(&env.store, &sha, &letter).unwrap();
    assert_eq!(blobs::read_intact(&env.store, &sha).unwrap(), letter);
    let report = backup::create(&env.store, &a, folder.path(), &quiet).await.unwrap();
    let taken = PathBuf::from(&report.path);
    let copy = files_under(&taken).into_iter().find(|p| p.ends_with(&sha)).unwrap();
    let mut bytes = std::fs::read(&copy).unwrap();
    bytes[30] ^= 1;
    std::fs::write(&copy, bytes).unwrap();
    let e = backup::verify(&taken, env.store.db_key()).await.unwrap_err();
    assert!(matches!(&e, Error::BackupChecksumMismatch { file } if file.ends_with(&sha)), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clear_files_from_before_are_encrypted_on_open_and_still_read() {
    // A data directory from before encryption at rest: its files in clear.
    let dir = tempfile::tempdir().unwrap();
    let old = content("Chidi");
    let sha = blobs::sha256_hex(&old);
    let root = dir.path().join(blobs::DIR);
    let clear_path = blobs::file_in(&root, &sha).unwrap();
    std::fs::create_dir_all(clear_path.parent().unwrap()).unwrap();
    std::fs::write(&clear_path, &old).unwrap();

    let store = Store::open_in_dir(dir.path()).await.unwrap();
    let stored = on_disk(&store, &sha);
    assert!(blob_cipher::is_sealed(&stored), "encrypted on open");
    assert!(!in_clear_under(dir.path(), b"REFERRAL LETTER Chidi"));
    assert_eq!(blobs::read_intact(&store, &sha).unwrap(), old, "and it still reads");
    let leftovers: Vec<_> = files_under(&root).into_iter().filter(|p| !p.ends_with(&sha)).collect();
    assert!(leftovers.is_empty(), "no temporary file left: {leftovers:?}");

    // One found later (copied in by hand): it reads, and is encrypted then.
    let late = content("Dayo");
    let late_sha = blobs::sha256_hex(&late);
    let late_path = blobs::file_in(&root, &late_sha).unwrap();
    std::fs::create_dir_all(late_path.parent().unwrap()).unwrap();
    std::fs::write(&late_path, &late).unwrap();
    assert_eq!(blobs::read_intact(&store, &late_sha).unwrap(), late);
    assert!(blob_cipher::is_sealed(&on_disk(&store, &late_sha)), "encrypted when read");
    assert_eq!(blobs::read_intact(&store, &late_sha).unwrap(), late);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_on_another_computer_puts_the_files_under_its_key() {
    let (env, slot) = common::with_admin().await;
    let letter = content("Efua");
    let sha = blobs::sha256_hex(&letter);
    blobs::put(&env.store, &sha, &letter).unwrap();
    let a = slot.authorize(&env.store).await.unwrap();
    let folder = tempfile::tempdir().unwrap();
    let taken = PathBuf::from(backup::create(&env.store, &a, folder.path(), &quiet).await.unwrap().path);
    let recovery = DbKey::from_recovery_code(&env.store.db_key().recovery_code()).unwrap();
    let first_key = env.store.blob_key().clone();

    let other = tempfile::tempdir().unwrap();
    let other_store = Store::open_in_dir(other.path()).await.unwrap();
    let other_key = other_store.blob_key().clone();
    other_store.close().await;
    backup::restore_with(other.path(), &taken, Some(&recovery), None, chrono::Utc::now()).await.unwrap();

    let restored = Store::open_in_dir(other.path()).await.unwrap();
    assert_eq!(blobs::read_intact(&restored, &sha).unwrap(), letter, "the attachment opens there");
    let stored = on_disk(&restored, &sha);
    assert_eq!(blob_cipher::open(&other_key, &sha, &stored).unwrap(), letter, "under that computer's key");
    assert_eq!(blob_cipher::open(&first_key, &sha, &stored), None, "not the backup's");
    assert!(!in_clear_under(other.path(), b"REFERRAL LETTER Efua"));
    restored.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekey_puts_the_files_under_the_new_key() {
    let (env, _slot) = common::with_admin().await;
    let letter = content("Femi");
    let sha = blobs::sha256_hex(&letter);
    blobs::put(&env.store, &sha, &letter).unwrap();
    let db = env.dir.path().join(DB_FILE);
    let old = env.store.db_key().clone();
    env.store.close().await;

    let new = encrypt::rekey(&db, &old).await.unwrap();
    let store = Store::open_in_dir(env.dir.path()).await.unwrap();
    assert_eq!(blobs::read_intact(&store, &sha).unwrap(), letter, "the attachment still opens");
    let stored = on_disk(&store, &sha);
    assert_eq!(blob_cipher::open(&BlobKey::derive(&old), &sha, &stored), None, "the old key no longer decrypts it");
    assert_eq!(blob_cipher::open(&BlobKey::derive(&new), &sha, &stored).unwrap(), letter);
    assert!(!db_key::pending_key_path(&db).exists());
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rekey_cut_off_halfway_leaves_every_file_readable_and_finishes_when_run_again() {
    let (env, _slot) = common::with_admin().await;
    let (one, two) = (content("Gbenga"), content("Hadiza"));
    let (sha_one, sha_two) = (blobs::sha256_hex(&one), blobs::sha256_hex(&two));
    blobs::put(&env.store, &sha_one, &one).unwrap();
    blobs::put(&env.store, &sha_two, &two).unwrap();
    let db = env.dir.path().join(DB_FILE);
    let old = env.store.db_key().clone();
    let path_one = blobs::path(&env.store, &sha_one).unwrap();
    env.store.close().await;

    // Where a rekey stops after its new key is on the disk and one file is under it.
    let pending = DbKey::generate().unwrap();
    std::fs::write(db_key::pending_key_path(&db), pending.recovery_code()).unwrap();
    blobs::write_file(&path_one, &BlobKey::derive(&pending), &sha_one, &one).unwrap();

    let store = Store::open_in_dir(env.dir.path()).await.unwrap();
    assert_eq!(store.db_key(), &old, "the database still under the old key");
    assert_eq!(blobs::read_intact(&store, &sha_one).unwrap(), one, "under the new key");
    assert_eq!(blobs::read_intact(&store, &sha_two).unwrap(), two, "under the old key");
    store.close().await;

    let new = encrypt::rekey(&db, &old).await.unwrap();
    assert_eq!(new, pending, "the pending key taken up");
    let store = Store::open_in_dir(env.dir.path()).await.unwrap();
    for (sha, letter) in [(&sha_one, &one), (&sha_two, &two)] {
        assert_eq!(blob_cipher::open(&BlobKey::derive(&new), sha, &on_disk(&store, sha)).as_ref(), Some(letter));
        assert_eq!(blobs::read_intact(&store, sha).as_ref(), Some(letter));
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rekey_cut_off_after_the_database_took_the_new_key_finishes_when_run_again() {
    use sqlx::{ConnectOptions, Connection};
    let (env, _slot) = common::with_admin().await;
    let letter = content("Ifeoma");
    let sha = blobs::sha256_hex(&letter);
    blobs::put(&env.store, &sha, &letter).unwrap();
    let db = env.dir.path().join(DB_FILE);
    let old = env.store.db_key().clone();
    let path = blobs::path(&env.store, &sha).unwrap();
    env.store.close().await;

    // Where a rekey stops with the files and the database under the new key, the key file old.
    let pending = DbKey::generate().unwrap();
    std::fs::write(db_key::pending_key_path(&db), pending.recovery_code()).unwrap();
    blobs::write_file(&path, &BlobKey::derive(&pending), &sha, &letter).unwrap();
    let mut conn = db_key::options(&db, &old).connect().await.unwrap();
    // Leaving WAL needs every other connection gone; the closed store's background tasks may
    // still be letting theirs go on a loaded machine (SQLite answers "locked" at once, without
    // waiting): try again for a while.
    let mut tries = 0;
    while let Err(e) = sqlx::query("PRAGMA journal_mode = DELETE").execute(&mut conn).await {
        tries += 1;
        assert!(tries < 100, "the database stayed locked: {e}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let hex: String = pending.recovery_code().chars().filter(|c| *c != '-').collect();
    sqlx::query(&format!("PRAGMA rekey = \"x'{hex}'\"")).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    assert!(Store::open_in_dir(env.dir.path()).await.is_err(), "the key file's key no longer opens it");

    let stranger = DbKey::generate().unwrap();
    assert!(encrypt::rekey(&db, &stranger).await.is_err(), "not finished with any key");
    let new = encrypt::rekey(&db, &old).await.unwrap();
    assert_eq!(new, pending);
    assert_eq!(db_key::read_key_file(&db).unwrap().as_ref(), Some(&pending));
    assert!(!db_key::pending_key_path(&db).exists());
    let store = Store::open_in_dir(env.dir.path()).await.unwrap();
    assert_eq!(blobs::read_intact(&store, &sha).unwrap(), letter);
    store.close().await;
}
