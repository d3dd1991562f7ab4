//! hms-server: the central sync server of HMS.
//!
//! Devices push their change logs here and pull their tenant's changes from here (see the
//! `hms-protocol` crate for the wire format). The database (PostgreSQL for a central server,
//! SQLite for a clinic hub: [`store`]) holds tenants, enrolled devices, one-time enrolment
//! codes and an append-only table of every change, numbered by a server sequence.
//!
//! The binary (`src/main.rs`) is a thin CLI over this library; tests build the same
//! [`router`] and call it over HTTP.

pub mod admin;
mod api;
pub mod auth;
pub mod error;
pub mod metrics;
pub mod policy;
pub mod store;
pub mod throttle;
pub mod tls;

pub use api::router;
pub use store::Storage;

use sqlx::postgres::{PgPool, PgPoolOptions};
use std::sync::Arc;
use std::time::Duration;

/// The server's own migrations for PostgreSQL (crates/server/migrations), embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The same tables for SQLite, the clinic hub (crates/server/migrations-sqlite).
pub static MIGRATOR_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations-sqlite");

/// Request limits. The defaults are the protocol's; tests may lower them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_push_batch: usize,
    pub max_pull_limit: u32,
    /// The largest `data` of one change, in bytes of JSON.
    pub max_change_bytes: usize,
    /// How far ahead of the server's clock a change's stamp may be.
    pub max_clock_ahead_ms: u64,
    /// A pull page ends at the first segment end past this many bytes of change data.
    pub max_pull_page_bytes: usize,
    /// Each tenant's attachment files together.
    pub blob_quota_bytes: u64,
    /// Requests a minute from one device (0: no limit).
    pub requests_per_minute: u32,
    /// `GET /v1/wait`s one device may hold open at once.
    pub max_open_waits: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: hms_protocol::MAX_BODY_BYTES,
            max_push_batch: hms_protocol::MAX_PUSH_BATCH,
            max_pull_limit: hms_protocol::MAX_PULL_LIMIT,
            max_change_bytes: hms_protocol::MAX_CHANGE_BYTES,
            max_clock_ahead_ms: hms_protocol::MAX_CLOCK_AHEAD_MS,
            max_pull_page_bytes: hms_protocol::MAX_PULL_PAGE_BYTES,
            blob_quota_bytes: hms_protocol::BLOB_QUOTA_BYTES,
            requests_per_minute: hms_protocol::REQUESTS_PER_MINUTE,
            max_open_waits: hms_protocol::MAX_OPEN_WAITS,
        }
    }
}

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The database, PostgreSQL or SQLite.
    pub store: Storage,
    pub limits: Limits,
    /// Whether pushed changes are checked against the policy (`hms-policy`: permission, values,
    /// the last administrator). Always on in `hms-server serve`; tests of the devices' own
    /// defence turn it off to play a server that does not check.
    pub check_changes: bool,
    pub metrics: Arc<metrics::Metrics>,
    /// Per-device request rates and open waits.
    pub throttle: Arc<throttle::Throttle>,
    /// The tenant of every push that stored something, for the waiting `GET /v1/wait`s.
    pub pushed: tokio::sync::broadcast::Sender<String>,
    /// Set when the server begins to stop: waiting requests answer at once.
    pub stopping: tokio::sync::watch::Sender<bool>,
}

impl AppState {
    /// This server's clock and its `clock_ahead` limit, for push and pull answers.
    pub fn clock(&self) -> hms_protocol::ServerClock {
        hms_protocol::ServerClock {
            server_time_ms: chrono::Utc::now().timestamp_millis(),
            max_clock_ahead_ms: self.limits.max_clock_ahead_ms,
        }
    }

    pub fn new(store: impl Into<Storage>) -> Self {
        AppState {
            store: store.into(),
            limits: Limits::default(),
            check_changes: true,
            metrics: Arc::default(),
            throttle: Arc::default(),
            pushed: tokio::sync::broadcast::channel(1024).0,
            stopping: tokio::sync::watch::channel(false).0,
        }
    }
}

/// Opens the connection pool. Fails fast (5 s) when PostgreSQL cannot be reached.
pub async fn connect(database_url: &str) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(5)).connect(database_url).await
}

/// Applies the migrations not applied yet (safe to run on every start).
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// Opens (creating it if needed) and migrates a clinic hub's SQLite database, in clear.
pub async fn open_sqlite(path: &std::path::Path) -> Result<Storage, sqlx::migrate::MigrateError> {
    open_sqlite_with(path, None).await
}

/// [`open_sqlite`], the file encrypted with `key` when given ([`store::hub_key`]).
pub async fn open_sqlite_with(
    path: &std::path::Path,
    key: Option<&store::hub_key::HubKey>,
) -> Result<Storage, sqlx::migrate::MigrateError> {
    let store = Storage::Sqlite(store::sqlite::open(path, key).await?);
    store.migrate().await?;
    Ok(store)
}

/// Serves the API on a bound listener until `shutdown` completes, then finishes the requests
/// in flight (at most 10 s with TLS). HTTPS when given a TLS configuration, plain HTTP
/// otherwise (loopback, tests, or behind a TLS-terminating proxy).
pub async fn serve(
    listener: std::net::TcpListener,
    state: AppState,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Held-open waits end when stopping begins, so they never hold up a shutdown.
    let stopping = state.stopping.clone();
    let shutdown = async move {
        shutdown.await;
        stopping.send_replace(true);
    };
    let app = router(state);
    listener.set_nonblocking(true)?;
    match tls {
        None => {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            axum::serve(listener, app).with_graceful_shutdown(shutdown).await
        }
        Some(config) => {
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                stopper.graceful_shutdown(Some(Duration::from_secs(10)));
            });
            let config = axum_server::tls_rustls::RustlsConfig::from_config(config);
            axum_server::from_tcp_rustls(listener, config)?.handle(handle).serve(app.into_make_service()).await
        }
    }
}
