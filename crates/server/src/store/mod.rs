//! The server's storage: every SQL statement of hms-server is in this module, behind one
//! interface with two backends.
//!
//! - **PostgreSQL** ([`pg`]): the central server (`hms-server serve --database-url postgres://…`).
//! - **SQLite** ([`sqlite`]): the clinic hub (`hms-server serve --sqlite PATH`), one process and
//!   one file, later embedded in the app (issue 19).
//!
//! The shape is an enum, not a trait: [`Storage`] (`Postgres(PgPool)` or `Sqlite(SqlitePool)`)
//! for what runs on the pool, and [`WriteTx`] for what runs in one write transaction. Each has
//! one method per operation the API and the administration need (a device's token row, a page
//! of changes after a sequence, the inserts of a push, enrolment codes, blobs' rows,
//! quarantine…), and each method is a `match` calling the function of the same name in [`pg`]
//! or [`sqlite`]. The handlers (src/api), the policy's checks (src/policy.rs) and the
//! administration (src/admin.rs) are written once over these methods and hold no SQL; so a
//! push's steps (lock, check, insert, raise the device's sequence, fold the accounts) are
//! the same code on both backends, each step's SQL being the backend's own.
//!
//! Why an enum: the two backends are known and fixed, the operations are async, and a match
//! keeps each operation's two SQL texts one click apart, without boxed futures or generic
//! handlers. Errors are `sqlx::Error`, turned into the API's or the CLI's errors by the callers.
//!
//! What differs between the backends (besides SQL dialect):
//! - Serialising a tenant's pushes: PostgreSQL takes a per-tenant advisory lock in the push's
//!   transaction; SQLite has one writer, and every write transaction is `BEGIN IMMEDIATE`, so
//!   a push holds the whole database's write lock (other readers go on, WAL).
//! - Server sequences: `BIGSERIAL` there, `INTEGER PRIMARY KEY AUTOINCREMENT` here; with one
//!   writer, sequences become visible in order on both.
//! - Times: `TIMESTAMPTZ` there; here TEXT in one fixed UTC format ([`sqlite::now_sql`]), which
//!   sorts as time does.
//! - JSON: `JSONB` there (a change's data is written out by PostgreSQL on pull, in its own key
//!   order); TEXT here (the text the device sent, returned as it is).
//! - The wake-up of `GET /v1/wait` is in-process on both (a broadcast in `AppState`).

pub mod hub_key;
pub mod pg;
pub mod sqlite;

use crate::admin::{DeviceInfo, Tenant, WithheldChange};
use chrono::{DateTime, Utc};
use hms_policy::Accounts;
use hms_protocol::Change;
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use std::collections::HashSet;

/// Where the server keeps its data. Cheap to clone (pools are shared handles).
#[derive(Clone, Debug)]
pub enum Storage {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

impl From<PgPool> for Storage {
    fn from(pool: PgPool) -> Self {
        Storage::Postgres(pool)
    }
}

impl From<&PgPool> for Storage {
    fn from(pool: &PgPool) -> Self {
        Storage::Postgres(pool.clone())
    }
}

impl From<SqlitePool> for Storage {
    fn from(pool: SqlitePool) -> Self {
        Storage::Sqlite(pool)
    }
}

impl From<&Storage> for Storage {
    fn from(store: &Storage) -> Self {
        store.clone()
    }
}

/// One stored change as a pull reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChangeRow {
    pub seq: i64,
    pub device_id: String,
    pub device_seq: i64,
    pub change_id: String,
    pub entity: String,
    pub entity_id: String,
    pub op: String,
    /// The change's data as JSON text: passed through to the device as it is, not parsed and
    /// written again (the device parses it, canonicalises it for its proof and checks it, as
    /// for any page).
    pub data: String,
    pub hlc: String,
    pub user_id: Option<String>,
    /// The segment's proof (`hms_protocol::Proof`) as JSON text, likewise.
    pub proof: Option<String>,
    /// Pushed by a quarantined device after its quarantine began: scanned, never sent.
    pub withheld: bool,
    /// The change's data as the database stores it, in bytes: what the page's byte cap counts.
    pub size: i64,
}

/// A `users` change as the policy folds it into a tenant's accounts: entity id, op, data, hlc.
pub type UserChange = (String, String, serde_json::Value, String);

/// What a write transaction serialises with.
#[derive(Debug, Clone, Copy)]
pub enum Lock<'a> {
    /// Nothing beyond the rows it touches.
    None,
    /// The tenant's pushes (server sequences become visible in order).
    Pushes(&'a str),
    /// The tenant's blob uploads (its quota).
    Blobs(&'a str),
}

/// One write transaction; dropped without [`commit`](WriteTx::commit), it rolls back.
pub enum WriteTx {
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
}

/// `store.method(args)` → the backend's function of that name with the pool first.
macro_rules! on_pool {
    ($store:expr, $f:ident ( $($arg:expr),* $(,)? )) => {
        match $store {
            Storage::Postgres(pool) => pg::$f(pool, $($arg),*).await,
            Storage::Sqlite(pool) => sqlite::$f(pool, $($arg),*).await,
        }
    };
}

/// `tx.method(args)` → the backend's function of that name with the transaction first.
macro_rules! on_tx {
    ($tx:expr, $f:ident ( $($arg:expr),* $(,)? )) => {
        match $tx {
            WriteTx::Postgres(tx) => pg::$f(tx, $($arg),*).await,
            WriteTx::Sqlite(tx) => sqlite::$f(tx, $($arg),*).await,
        }
    };
}

type Result<T> = std::result::Result<T, sqlx::Error>;

impl Storage {
    /// The PostgreSQL pool, when this is the PostgreSQL backend.
    pub fn pg(&self) -> Option<&PgPool> {
        match self {
            Storage::Postgres(pool) => Some(pool),
            Storage::Sqlite(_) => None,
        }
    }

    /// The SQLite pool, when this is the SQLite backend.
    pub fn sqlite(&self) -> Option<&SqlitePool> {
        match self {
            Storage::Sqlite(pool) => Some(pool),
            Storage::Postgres(_) => None,
        }
    }

    /// "postgresql" or "sqlite", for logs.
    pub fn backend(&self) -> &'static str {
        match self {
            Storage::Postgres(_) => "postgresql",
            Storage::Sqlite(_) => "sqlite",
        }
    }

    /// Applies the backend's migrations not applied yet (safe on every start).
    pub async fn migrate(&self) -> std::result::Result<(), sqlx::migrate::MigrateError> {
        match self {
            Storage::Postgres(pool) => crate::MIGRATOR.run(pool).await,
            Storage::Sqlite(pool) => crate::MIGRATOR_SQLITE.run(pool).await,
        }
    }

    /// Starts a write transaction holding `lock`.
    pub async fn begin(&self, lock: Lock<'_>) -> Result<WriteTx> {
        match self {
            Storage::Postgres(pool) => pg::begin(pool, lock).await.map(WriteTx::Postgres),
            Storage::Sqlite(pool) => sqlite::begin(pool).await.map(WriteTx::Sqlite),
        }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<()> {
        on_pool!(self, ping())
    }

    // ----------------------------------------------------------------- devices and tokens

    /// A device's tenant, token hash and whether it is revoked.
    pub async fn device_token(&self, device_id: &str) -> Result<Option<(String, Vec<u8>, bool)>> {
        on_pool!(self, device_token(device_id))
    }

    /// Marks the device as seen now, unless it was within the last 30 s.
    pub async fn touch_device(&self, device_id: &str) -> Result<()> {
        on_pool!(self, touch_device(device_id))
    }

    /// The public key the device registered (hex), if any.
    pub async fn device_key(&self, device_id: &str) -> Result<Option<String>> {
        on_pool!(self, device_key(device_id))
    }

    /// The registered keys of these devices of the tenant: (device id, key hex).
    pub async fn device_keys(&self, tenant_id: &str, ids: &[&str]) -> Result<Vec<(String, String)>> {
        on_pool!(self, device_keys(tenant_id, ids))
    }

    /// What the device says it still has to send.
    pub async fn record_pending(&self, device_id: &str, pending: i64) -> Result<()> {
        on_pool!(self, record_pending(device_id, pending))
    }

    // ----------------------------------------------------------------------------- changes

    /// Up to `limit` of the tenant's changes after server sequence `after`, in order.
    pub async fn changes_after(&self, tenant_id: &str, after: i64, limit: i64) -> Result<Vec<ChangeRow>> {
        on_pool!(self, changes_after(tenant_id, after, limit))
    }

    /// The tenant's highest server sequence (0 before its first change).
    pub async fn high_water(&self, tenant_id: &str) -> Result<i64> {
        on_pool!(self, high_water(tenant_id))
    }

    /// The newest `audit_log` change of the device: its data's `seq` and `hash`.
    pub async fn audit_head(&self, tenant_id: &str, device_id: &str) -> Result<Option<(Option<i64>, Option<String>)>> {
        on_pool!(self, audit_head(tenant_id, device_id))
    }

    // ------------------------------------------------------------------------------- blobs

    /// A file of the tenant.
    pub async fn blob(&self, tenant_id: &str, sha256: &str) -> Result<Option<Vec<u8>>> {
        on_pool!(self, blob(tenant_id, sha256))
    }

    // ------------------------------------------------------------------------ administration

    /// Counts of tenants, active devices and revoked devices (metrics).
    pub async fn gauges(&self) -> Result<(i64, i64, i64)> {
        on_pool!(self, gauges())
    }

    /// A new tenant; `None` when the name is taken.
    pub async fn create_tenant(&self, id: &str, name: &str) -> Result<Option<Tenant>> {
        on_pool!(self, create_tenant(id, name))
    }

    pub async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        on_pool!(self, list_tenants())
    }

    /// A tenant by id or, failing that, by exact name.
    pub async fn find_tenant(&self, id_or_name: &str) -> Result<Option<Tenant>> {
        on_pool!(self, find_tenant(id_or_name))
    }

    /// Whether the tenant's device is revoked; `None` when it has no such device.
    pub async fn device_revoked(&self, tenant_id: &str, device_id: &str) -> Result<Option<bool>> {
        on_pool!(self, device_revoked(tenant_id, device_id))
    }

    /// Stores a one-time code's hash; answers when it expires.
    pub async fn insert_enrol_code(
        &self,
        code_hash: &[u8; 32],
        tenant_id: &str,
        ttl_secs: i64,
        replaces: Option<&str>,
    ) -> Result<DateTime<Utc>> {
        on_pool!(self, insert_enrol_code(code_hash, tenant_id, ttl_secs, replaces))
    }

    pub async fn list_devices(&self, tenant_id: &str) -> Result<Vec<DeviceInfo>> {
        on_pool!(self, list_devices(tenant_id))
    }

    /// Revokes a device unless it is already: its revocation time and whether it already was.
    pub async fn revoke_device(&self, device_id: &str) -> Result<Option<(DateTime<Utc>, bool)>> {
        on_pool!(self, revoke_device(device_id))
    }

    /// Withholds the device's changes received from `since` (a new window).
    pub async fn set_quarantine(&self, device_id: &str, since: DateTime<Utc>) -> Result<()> {
        on_pool!(self, set_quarantine(device_id, since))
    }

    /// The changes a quarantine withholds from pulls, oldest first.
    pub async fn withheld_changes(&self, device_id: &str) -> Result<Vec<WithheldChange>> {
        on_pool!(self, withheld_changes(device_id))
    }
}

impl WriteTx {
    pub async fn commit(self) -> Result<()> {
        match self {
            WriteTx::Postgres(tx) => tx.commit().await,
            WriteTx::Sqlite(tx) => tx.commit().await,
        }
    }

    // -------------------------------------------------------------------------------- push

    /// The tenant's accounts as last saved, and the sequence they were folded up to.
    pub async fn tenant_accounts(&mut self, tenant_id: &str) -> Result<Option<(Accounts, i64)>> {
        on_tx!(self, tenant_accounts(tenant_id))
    }

    /// The tenant's `users` changes after `seq`, in order.
    pub async fn user_changes_after(&mut self, tenant_id: &str, seq: i64) -> Result<Vec<UserChange>> {
        on_tx!(self, user_changes_after(tenant_id, seq))
    }

    /// Keeps the tenant's accounts as folded up to `seq`.
    pub async fn save_accounts(&mut self, tenant_id: &str, accounts: &Accounts, seq: i64) -> Result<()> {
        on_tx!(self, save_accounts(tenant_id, accounts, seq))
    }

    /// Which of `seqs` the device's changes already stored have.
    pub async fn stored_seqs(&mut self, tenant_id: &str, device_id: &str, seqs: &[i64]) -> Result<HashSet<i64>> {
        if seqs.is_empty() {
            return Ok(HashSet::new());
        }
        on_tx!(self, stored_seqs(tenant_id, device_id, seqs))
    }

    /// The change ids stored under these device seqs of the device.
    pub async fn stored_change_ids(
        &mut self,
        tenant_id: &str,
        device_id: &str,
        seqs: &[i64],
    ) -> Result<Vec<(i64, String)>> {
        on_tx!(self, stored_change_ids(tenant_id, device_id, seqs))
    }

    /// Inserts the batch in order (`texts`: each change's data as JSON text), skipping changes
    /// already stored (same device and device seq). Answers the device seqs inserted now.
    pub async fn insert_changes(
        &mut self,
        tenant_id: &str,
        device_id: &str,
        changes: &[Change],
        texts: &[String],
    ) -> Result<HashSet<i64>> {
        on_tx!(self, insert_changes(tenant_id, device_id, changes, texts))
    }

    /// Raises the device's highest pushed seq to `max`; answers it.
    pub async fn raise_device_seq(&mut self, tenant_id: &str, device_id: &str, max: i64) -> Result<i64> {
        on_tx!(self, raise_device_seq(tenant_id, device_id, max))
    }

    /// The tenant's highest server sequence, as this transaction sees it.
    pub async fn high_water(&mut self, tenant_id: &str) -> Result<i64> {
        on_tx!(self, tx_high_water(tenant_id))
    }

    // ------------------------------------------------------------------------------- blobs

    /// Bytes of files the tenant holds, and whether it holds this one.
    pub async fn blob_usage(&mut self, tenant_id: &str, sha256: &str) -> Result<(i64, bool)> {
        on_tx!(self, blob_usage(tenant_id, sha256))
    }

    /// Stores a file unless the tenant has it; whether it was stored now.
    pub async fn insert_blob(&mut self, tenant_id: &str, sha256: &str, bytes: &[u8]) -> Result<bool> {
        on_tx!(self, insert_blob(tenant_id, sha256, bytes))
    }

    // ----------------------------------------------------------------------------- enrolment

    /// Marks an unused, unexpired code used: its tenant and the device it lets back in.
    pub async fn spend_code(&mut self, code_hash: &[u8; 32]) -> Result<Option<(String, Option<String>)>> {
        on_tx!(self, spend_code(code_hash))
    }

    /// Records which device a spent code enrolled.
    pub async fn code_used_by(&mut self, code_hash: &[u8; 32], device_id: &str) -> Result<()> {
        on_tx!(self, code_used_by(code_hash, device_id))
    }

    /// A device's registered key and whether it is revoked, locked until the end.
    pub async fn device_for_readmission(&mut self, device_id: &str) -> Result<Option<(Option<String>, bool)>> {
        on_tx!(self, device_for_readmission(device_id))
    }

    /// Lets a revoked device back in with a new token (and a new name, if given).
    pub async fn readmit_device(&mut self, device_id: &str, token_hash: &[u8; 32], name: Option<&str>) -> Result<()> {
        on_tx!(self, readmit_device(device_id, token_hash, name))
    }

    /// Enrols a device; `false` when the id is taken.
    pub async fn insert_device(
        &mut self,
        device_id: &str,
        tenant_id: &str,
        name: &str,
        token_hash: &[u8; 32],
        public_key: &str,
    ) -> Result<bool> {
        on_tx!(self, insert_device(device_id, tenant_id, name, token_hash, public_key))
    }

    pub async fn tenant_name(&mut self, tenant_id: &str) -> Result<String> {
        on_tx!(self, tenant_name(tenant_id))
    }
}
