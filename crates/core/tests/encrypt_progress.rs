//! The one-time encryption of a clear database (from before encryption at rest) reports its
//! progress: pages of the encrypted copy written, only going up, ending at the total, then
//! the check. The app shows it as a bar on its start screen.

use hms_core::store::db_key::{self, DbKey, FileKind};
use hms_core::store::encrypt::{self, EncryptProgress, EncryptStage};
use hms_core::store::{Store, DB_FILE, MIGRATOR};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::sync::Mutex;

/// A clear database as a version before encryption left it: HMS's schema and, to make the
/// copy take a while, 30,000 rows of 1 KB (about 32 MB).
async fn clear_database(path: &std::path::Path) {
    let mut conn = SqliteConnectOptions::new().filename(path).create_if_missing(true).connect().await.unwrap();
    MIGRATOR.run(&mut conn).await.unwrap();
    sqlx::query("CREATE TABLE old_scans (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000)
         INSERT INTO old_scans (body) SELECT randomblob(1000) FROM n",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypting_a_clear_database_reports_pages_going_up_to_the_total() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(DB_FILE);
    clear_database(&db).await;
    assert_eq!(db_key::file_kind(&db).unwrap(), FileKind::Plain);

    let reports = Mutex::new(Vec::<EncryptProgress>::new());
    let key = DbKey::generate().unwrap();
    encrypt::encrypt_in_place_with(&db, &key, &|p| reports.lock().unwrap().push(p)).await.unwrap();
    let reports = reports.into_inner().unwrap();

    let (copying, checking): (Vec<&EncryptProgress>, Vec<&EncryptProgress>) =
        reports.iter().partition(|p| p.stage == EncryptStage::Copying);
    let total = copying[0].pages_total;
    // 30,000 KB of rows alone fill more than 7,000 pages of 4 KiB.
    assert!(total > 7_000, "the total counts the database's pages: {total}");
    assert!(reports.iter().all(|p| p.pages_total == total && p.pages_done <= total), "{reports:?}");
    assert_eq!(copying.first().unwrap().pages_done, 0, "starts at nothing copied");
    assert!(copying.windows(2).all(|w| w[0].pages_done <= w[1].pages_done), "only goes up: {copying:?}");
    assert_eq!(copying.last().unwrap().pages_done, total, "ends at the total");
    assert_eq!(checking.len(), 1, "then the check, once");
    assert_eq!(reports.last().unwrap().stage, EncryptStage::Checking);
    // The pages between were reported as they were written (the file grows during the copy).
    println!("{} progress reports for {total} pages", copying.len());

    // And the database is the encrypted one, whole.
    assert_eq!(db_key::file_kind(&db).unwrap(), FileKind::Encrypted);
    let mut conn = db_key::options(&db, &key).connect().await.unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM old_scans").fetch_one(&mut conn).await.unwrap();
    assert_eq!(rows, 30_000);
    conn.close().await.unwrap();
}

/// The app's start: a clear database is encrypted (with reports) before the store opens it; an
/// encrypted one is left alone, reporting nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_encrypts_a_clear_database_once_then_the_store_opens_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(DB_FILE);
    clear_database(&db).await;
    let reports = Mutex::new(0usize);
    encrypt::encrypt_clear_database(&db, &|_| *reports.lock().unwrap() += 1).await.unwrap();
    assert!(*reports.lock().unwrap() >= 3, "copying from 0, to the total, checking");
    assert_eq!(db_key::file_kind(&db).unwrap(), FileKind::Encrypted);
    let store = Store::open(&db).await.unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM old_scans").fetch_one(store.pool()).await.unwrap();
    assert_eq!(rows, 30_000);
    store.close().await;
    let again = Mutex::new(0usize);
    encrypt::encrypt_clear_database(&db, &|_| *again.lock().unwrap() += 1).await.unwrap();
    assert_eq!(*again.lock().unwrap(), 0, "an encrypted database is left alone");
}
