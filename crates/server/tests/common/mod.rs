//! Test harness: a real database per test — PostgreSQL (see `pg`) or, with
//! `HMS_TEST_BACKEND=sqlite`, a SQLite file as the clinic hub has (see [`backend`]) — the
//! server running in-process on a loopback port, and small helpers to enrol devices and push
//! and pull. `make test-server` runs the suites on both.
#![allow(dead_code)] // each test binary uses a different part of it

pub mod device;
pub mod pg;
pub mod proxy;

use hms_protocol::proof::{self, SigningKey};
use hms_protocol::{Change, Op};
use hms_server::{admin, AppState, Storage};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::SqliteRow;
use sqlx::Connection;
use std::sync::atomic::{AtomicU32, Ordering};

/// The backend the tests run on: `HMS_TEST_BACKEND=sqlite` or `postgres` (the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

pub fn backend() -> Backend {
    match std::env::var("HMS_TEST_BACKEND").as_deref() {
        Ok("sqlite") => Backend::Sqlite,
        Ok("postgres") | Ok("postgresql") | Ok("") | Err(_) => Backend::Postgres,
        Ok(other) => panic!("HMS_TEST_BACKEND={other:?}: expected sqlite or postgres"),
    }
}

/// A fresh, migrated database of the tests' backend ([`backend`]).
pub async fn test_store() -> Storage {
    match backend() {
        Backend::Postgres => Storage::Postgres(test_db().await),
        Backend::Sqlite => test_sqlite().await,
    }
}

/// A fresh, migrated SQLite database, a file in this test binary's temporary directory
/// (deleted when the binary exits, as the PostgreSQL cluster is).
pub async fn test_sqlite() -> Storage {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let path = sqlite_dir().join(format!("hub-{}.db", NEXT.fetch_add(1, Ordering::Relaxed)));
    hms_server::open_sqlite(&path).await.expect("open the SQLite database")
}

static SQLITE_DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

fn sqlite_dir() -> &'static std::path::Path {
    SQLITE_DIR.get_or_init(|| {
        let dir = tempfile::Builder::new().prefix("hms-hub-test-").tempdir().expect("temporary directory").keep();
        // SAFETY: registers a plain `extern "C" fn` with no captured state; libc calls it
        // once at process exit.
        unsafe {
            libc::atexit(remove_sqlite_dir);
        }
        dir
    })
}

extern "C" fn remove_sqlite_dir() {
    if let Some(dir) = SQLITE_DIR.get() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// A fresh, migrated database in the test cluster. The cluster (and so the database) is
/// deleted when the test binary exits.
pub async fn test_db() -> PgPool {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    // CREATE DATABASE copies template1; run them one at a time.
    static CREATING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let cluster = pg::cluster();
    let name = format!("hms_test_{}", NEXT.fetch_add(1, Ordering::Relaxed));
    {
        let _guard = CREATING.lock().await;
        let mut admin = PgConnection::connect(&cluster.url("postgres")).await.expect("connect to the test cluster");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create database");
        admin.close().await.ok();
    }
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect(&cluster.url(&name))
        .await
        .expect("connect to the test database");
    hms_server::migrate(&pool).await.expect("migrations");
    pool
}

/// The same state with the change policy off (see [`TestServer::start_unchecked`]).
pub fn unchecked(mut state: AppState) -> AppState {
    state.check_changes = false;
    state
}

/// The server, serving plain HTTP on 127.0.0.1 until the test ends.
pub struct TestServer {
    pub base: String,
    pub state: AppState,
    pub http: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(AppState::new(test_store().await)).await
    }

    /// A server that stores what it is given without the change policy (as one from before
    /// it, or a compromised one would): for tests of the transport with made-up changes, and
    /// of the devices' own defence. The policy's own tests are in tests/hostile_device.rs.
    pub async fn start_unchecked() -> TestServer {
        Self::start_with(unchecked(AppState::new(test_store().await))).await
    }

    pub async fn start_with(state: AppState) -> TestServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        tokio::spawn(hms_server::serve(listener, state.clone(), None, shutdown));
        TestServer { base: format!("http://{addr}"), state, http: http(), _stop: stop }
    }

    /// The server's database, of either backend.
    pub fn store(&self) -> &Storage {
        &self.state.store
    }

    /// The PostgreSQL pool, for a test of PostgreSQL itself (panics on SQLite).
    pub fn pool(&self) -> &PgPool {
        self.state.store.pg().expect("a PostgreSQL-only test runs on PostgreSQL")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A new tenant and one enrolled device of it.
    pub async fn tenant_with_device(&self, tenant: &str) -> Enrolled {
        admin::create_tenant(self.store(), tenant).await.expect("create tenant");
        self.enrol(tenant, &format!("{tenant} reception")).await
    }

    /// Enrols a device into an existing tenant through the API.
    pub async fn enrol(&self, tenant: &str, device_name: &str) -> Enrolled {
        self.enrol_with_key(tenant, device_name, &test_key_hex()).await
    }

    /// [`enrol`](Self::enrol) registering the given public key (hex).
    pub async fn enrol_with_key(&self, tenant: &str, device_name: &str, device_key: &str) -> Enrolled {
        let code =
            admin::create_enrol_code(self.store(), tenant, chrono::Duration::hours(1)).await.expect("enrol code");
        let (status, body) = self
            .post_json(
                "/v1/enrol",
                None,
                &json!({"code": code.code, "device_name": device_name, "device_key": device_key}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "enrol: {body}");
        serde_json::from_value(body).expect("enrol response")
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
        let mut req = self.http.post(self.url(path)).json(body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        send(req).await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        token: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value) {
        let req = self.http.post(self.url(path)).bearer_auth(token).header("content-type", content_type).body(body);
        send(req).await
    }

    pub async fn get(&self, path_and_query: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.http.get(self.url(path_and_query));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        send(req).await
    }

    pub async fn push(&self, token: &str, changes: &[Change]) -> (StatusCode, Value) {
        self.post_json("/v1/push", Some(token), &json!({ "changes": changes })).await
    }

    pub async fn pull(&self, token: &str, after: u64, limit: u32) -> (StatusCode, Value) {
        self.get(&format!("/v1/pull?after={after}&limit={limit}"), Some(token)).await
    }

    /// Pulls page by page until the server says there is no more.
    pub async fn pull_all(&self, token: &str, limit: u32) -> Vec<hms_protocol::PulledChange> {
        let mut after = 0;
        let mut all = Vec::new();
        loop {
            let (status, body) = self.pull(token, after, limit).await;
            assert_eq!(status, StatusCode::OK, "pull: {body}");
            let page: hms_protocol::PullResponse = serde_json::from_value(body).expect("pull response");
            all.extend(page.changes);
            after = page.next;
            if !page.more {
                return all;
            }
        }
    }

    pub async fn stored_changes(&self) -> i64 {
        count(self.store(), "SELECT count(*) FROM changes").await
    }
}

/// An HTTP client for the tests. reqwest's TLS is built without a crypto provider (hms-core,
/// a dev-dependency here, asks for `rustls-no-provider`), so install rustls's ring provider
/// first, as hms-core's sync client does.
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// A count, on either backend (`sql` must be valid on both: `$1`-style parameters are).
pub async fn count(store: &Storage, sql: &str) -> i64 {
    let (n,): (i64,) = fetch_one(store, sql, &[]).await;
    n
}

/// Rows of a query valid on both backends, with text parameters (`$1`, `$2`…).
pub async fn fetch_all<T>(store: &Storage, sql: &str, binds: &[&str]) -> Vec<T>
where
    T: for<'r> sqlx::FromRow<'r, PgRow> + for<'r> sqlx::FromRow<'r, SqliteRow> + Send + Unpin,
{
    match store {
        Storage::Postgres(pool) => {
            let mut q = sqlx::query_as::<_, T>(sql);
            for b in binds {
                q = q.bind(*b);
            }
            q.fetch_all(pool).await
        }
        Storage::Sqlite(pool) => {
            let mut q = sqlx::query_as::<_, T>(sql);
            for b in binds {
                q = q.bind(*b);
            }
            q.fetch_all(pool).await
        }
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The one row of a query valid on both backends.
pub async fn fetch_one<T>(store: &Storage, sql: &str, binds: &[&str]) -> T
where
    T: for<'r> sqlx::FromRow<'r, PgRow> + for<'r> sqlx::FromRow<'r, SqliteRow> + Send + Unpin,
{
    let mut rows = fetch_all::<T>(store, sql, binds).await;
    assert_eq!(rows.len(), 1, "{sql}: one row expected");
    rows.remove(0)
}

/// The database's clock now (the one that stamps `received_at`).
pub async fn db_now(store: &Storage) -> chrono::DateTime<chrono::Utc> {
    match store {
        Storage::Postgres(pool) => sqlx::query_scalar("SELECT now()").fetch_one(pool).await,
        Storage::Sqlite(pool) => {
            sqlx::query_scalar("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')").fetch_one(pool).await
        }
    }
    .expect("the database's clock")
}

/// Runs statements in order in one transaction (one connection: SQLite reads its schema per
/// connection, so a trigger dropped on one would still be there for another's next statement).
pub async fn execute_all(store: &Storage, statements: &[String]) {
    match store {
        Storage::Postgres(pool) => {
            let mut tx = pool.begin().await.expect("begin");
            for sql in statements {
                sqlx::query(sql).execute(&mut *tx).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            tx.commit().await.expect("commit");
        }
        Storage::Sqlite(pool) => {
            let mut tx = pool.begin().await.expect("begin");
            for sql in statements {
                sqlx::query(sql).execute(&mut *tx).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            tx.commit().await.expect("commit");
        }
    }
}

/// Runs a statement valid on both backends; whether it succeeded (the error kept).
pub async fn execute(store: &Storage, sql: &str) -> Result<u64, sqlx::Error> {
    match store {
        Storage::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(|r| r.rows_affected()),
        Storage::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(|r| r.rows_affected()),
    }
}

/// Sends a request; the answer's status and JSON body (`null` when the body is not JSON).
pub async fn send(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let res = req.send().await.expect("request");
    let status = res.status();
    let text = res.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct Enrolled {
    pub device_id: String,
    pub token: String,
    pub tenant_id: String,
    pub tenant_name: String,
}

/// The key the raw-HTTP test devices register at enrolment and sign with (they are all
/// test doubles of one honest device build; the proofs' own tests use other keys).
pub fn test_key() -> SigningKey {
    proof::signing_key(&[42; 32])
}

pub fn test_key_hex() -> String {
    proof::public_key_hex(&test_key())
}

/// Signs a change with `key` as a segment of its own (what the server checks on push).
pub fn sign_alone(mut change: Change, key: &SigningKey) -> Change {
    change.proof = None;
    let signer = change.user_id.clone();
    change.proof = Some(proof::sign_segment(key, signer.as_deref(), std::slice::from_ref(&change)).expect("sign"));
    change
}

/// Signs changes edited after [`change`] made them again, each as a segment of its own.
pub fn resign(changes: Vec<Change>) -> Vec<Change> {
    changes.into_iter().map(|c| sign_alone(c, &test_key())).collect()
}

/// A plausible patient change made by `device` as its `seq`-th change, signed by
/// [`test_key`] as a segment of its own.
pub fn change(device: &str, seq: u64) -> Change {
    sign_alone(unsigned_change(device, seq), &test_key())
}

/// [`change`] without its proof.
pub fn unsigned_change(device: &str, seq: u64) -> Change {
    Change {
        id: format!("{device}-change-{seq}"),
        device_id: device.to_string(),
        device_seq: seq,
        entity: "patients".into(),
        entity_id: format!("patient-{}", seq % 7),
        op: if seq % 7 == seq { Op::Insert } else { Op::Update },
        data: json!({"given_name": format!("Name {seq}"), "phone": "+255 700 000 000", "n": seq}),
        hlc: format!("{:016}-{:06}-{device}", 1_732_270_000_000u64 + seq, 0),
        user_id: Some("user-1".into()),
        proof: None,
    }
}

pub fn changes(device: &str, seqs: std::ops::RangeInclusive<u64>) -> Vec<Change> {
    seqs.map(|s| change(device, s)).collect()
}

/// Asserts an error answer: the status and the stable code of its `{code, message}` body.
#[track_caller]
pub fn assert_error(answer: &(StatusCode, Value), status: StatusCode, code: &str) {
    let (got, body) = answer;
    assert_eq!(*got, status, "body: {body}");
    assert_eq!(body["code"], code, "body: {body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "an error body has a message: {body}");
}
