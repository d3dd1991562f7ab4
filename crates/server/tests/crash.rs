//! Crash safety of the device side of sync: a device runs as a child process (this test
//! binary again, told by `HMS_CRASH_DEVICE` to act as the device), is killed with SIGKILL in
//! the middle of pushing a big outbox and in the middle of pulling a big tenant, then starts
//! again on the same SQLite file and syncs to the end: nothing is lost, nothing is stored
//! twice on the server, nothing is applied twice on the device.

mod common;

use common::device::Device;
use common::TestServer;
use hms_core::{sync, Store};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "HMS_CRASH_DEVICE";
const TENANT: &str = "Crash Clinic";
/// Outbox entries (one patient each): several push batches and pull pages.
const PATIENTS: usize = 8_000;

/// The device, when the test binary is started as a child with `HMS_CRASH_DEVICE=push:<dir>`
/// or `pull:<dir>`; in a normal run it does nothing.
#[tokio::test]
async fn crash_child_device() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let (mode, dir) = spec.split_once(':').unwrap();
    let store = Store::open_in_dir(Path::new(dir)).await.unwrap();
    match mode {
        "push" => drop(sync::push(&store).await.unwrap()),
        "pull" => drop(sync::pull(&store).await.unwrap()),
        other => panic!("unknown mode {other}"),
    }
}

fn spawn_device(mode: &str, dir: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["crash_child_device", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, format!("{mode}:{}", dir.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// Polls `progress` until it reaches `at_least`, then kills the child (SIGKILL); the progress
/// at the kill. Fails if the child ends on its own first.
async fn kill_when<F, Fut>(child: &mut Child, at_least: i64, mut progress: F) -> i64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = i64>,
{
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let now = progress().await;
        if now >= at_least {
            child.kill().unwrap(); // SIGKILL on unix
            child.wait().unwrap();
            return progress().await;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the device ended ({status}) before it could be killed (progress {now})");
        }
        assert!(Instant::now() < deadline, "no progress to kill at");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// A read-only look at a device's SQLite file while another process writes it.
async fn peek(dir: &Path, sql: &str) -> i64 {
    let db = dir.join(hms_core::store::DB_FILE);
    let Ok(Some(key)) = hms_core::store::db_key::read_key_file(&db) else { return 0 };
    let opts = hms_core::store::db_key::options(&db, &key).read_only(true);
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&opts).await.unwrap();
    let n: i64 = sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap_or(0);
    let _ = sqlx::Connection::close(conn).await;
    n
}

async fn integrity_ok(store: &Store) {
    let check: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(store.pool()).await.unwrap();
    assert_eq!(check, "ok");
}

async fn server_count(server: &TestServer, device: &str) -> i64 {
    let (n,): (i64,) =
        common::fetch_one(server.store(), "SELECT count(*) FROM changes WHERE device_id = $1", &[device]).await;
    n
}

async fn assert_stored_once(server: &TestServer, store: &Store) {
    let device = store.device_id();
    let (twice,): (i64,) = common::fetch_one(
        server.store(),
        "SELECT count(*) FROM (SELECT 1 FROM changes WHERE device_id = $1 GROUP BY device_seq HAVING count(*) > 1) d",
        &[device],
    )
    .await;
    assert_eq!(twice, 0, "a device sequence stored twice");
    let mut on_server: Vec<(i64, String)> = common::fetch_all(
        server.store(),
        "SELECT device_seq, change_id FROM changes WHERE device_id = $1 ORDER BY device_seq",
        &[device],
    )
    .await;
    let mut on_device: Vec<(i64, String)> =
        sqlx::query_as("SELECT seq, id FROM change_log ORDER BY seq").fetch_all(store.pool()).await.unwrap();
    on_server.sort();
    on_device.sort();
    assert_eq!(on_server.len(), on_device.len(), "every outbox entry on the server, once");
    assert!(on_server == on_device, "the server holds exactly the device's outbox");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_killed_mid_push_and_mid_pull_loses_nothing_and_stores_nothing_twice() {
    let server = TestServer::start().await;
    hms_server::admin::create_tenant(server.store(), TENANT).await.unwrap();

    // Device A: a big outbox, enrolled, then handed to the child process.
    let a = Device::new("admin").await;
    a.enrol(server.store(), &server.base, TENANT, "Reception PC").await;
    a.bulk_patients(PATIENTS).await;
    // The outbox with the bulk load's batches, which the push writes out first.
    let outbox = a
        .scalar("SELECT (SELECT count(*) FROM change_log) + (SELECT COALESCE(sum(last_seq - first_seq), 0) FROM change_batches)")
        .await;
    let a_id = a.store.device_id().to_string();
    let Device { dir: a_dir, store, .. } = a;
    store.close().await;

    // Killed once at least two batches are on the server.
    let mut child = spawn_device("push", a_dir.path());
    let stored = kill_when(&mut child, 2 * sync::PUSH_BATCH as i64, || server_count(&server, &a_id)).await;
    assert!(stored < outbox, "killed mid-push: {stored} of {outbox} stored");

    // A starts again on the same file and pushes the rest.
    let a = Store::open_in_dir(a_dir.path()).await.unwrap();
    integrity_ok(&a).await;
    let report = sync::push(&a).await.unwrap();
    assert_eq!(sync::status(&a).await.unwrap().pending, 0);
    // (The outbox may have grown since: audit entries sync too.)
    let outbox = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM change_log").fetch_one(a.pool()).await.unwrap();
    assert_eq!(report.accepted as i64, outbox - stored, "only what the server lacked is new: {report:?}");
    assert_stored_once(&server, &a).await;

    // Device B: new, pulls the big tenant, killed mid-pull.
    let b = Device::new("ward.admin").await;
    b.enrol(server.store(), &server.base, TENANT, "Ward tablet").await;
    sync::push(&b.store).await.unwrap();
    let Device { dir: b_dir, store, .. } = b;
    store.close().await;
    let mut child = spawn_device("pull", b_dir.path());
    let pulled = kill_when(&mut child, 2, || peek(b_dir.path(), "SELECT count(*) FROM patients")).await;
    let patients = PATIENTS as i64;
    assert!(pulled < patients, "killed mid-pull: {pulled} of {patients} patients merged");

    // B starts again and pulls the rest: every patient once, the same as on A.
    let b = Store::open_in_dir(b_dir.path()).await.unwrap();
    integrity_ok(&b).await;
    let patient_changes =
        || async { common::count(server.store(), "SELECT count(*) FROM changes WHERE entity = 'patients'").await };
    let on_server = patient_changes().await;
    sync::sync_now(&b).await.unwrap();
    let count = |store: &Store, sql: &'static str| {
        let pool = store.pool().clone();
        async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.unwrap() }
    };
    assert_eq!(count(&b, "SELECT count(*) FROM patients").await, patients);
    assert_eq!(count(&b, "SELECT count(DISTINCT mrn) FROM patients").await, patients);
    assert_eq!(
        count(&b, "SELECT count(*) FROM change_log WHERE entity = 'patients'").await,
        0,
        "pulled rows never go back into the outbox"
    );
    assert_eq!(count(&b, "SELECT count(*) FROM sync_conflicts").await, 0, "nothing merged twice or against itself");
    assert_eq!(patient_changes().await, on_server, "a pull sends nothing back");
    assert_eq!(on_server, patients, "each patient stored once on the server");
    let rows = |store: &Store| {
        let pool = store.pool().clone();
        async move {
            sqlx::query_as::<_, (String, String, String, String)>(
                "SELECT id, mrn, given_name, updated_at FROM patients ORDER BY id",
            )
            .fetch_all(&pool)
            .await
            .unwrap()
        }
    };
    assert!(rows(&a).await == rows(&b).await, "B holds exactly A's patients");
    // Nothing left for anyone.
    let again = sync::sync_now(&b).await.unwrap();
    assert_eq!(again.pull.applied, 0, "{again:?}");
    a.close().await;
    b.close().await;
}
