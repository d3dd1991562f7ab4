//! The local store: one SQLite file in WAL mode with foreign keys on, migrated on open.

pub mod batches;
pub mod blob_cipher;
pub mod blobs;
pub mod db_key;
pub mod device_key;
pub mod encrypt;
pub mod keystore;
pub(crate) mod meta;
pub(crate) mod raw;
pub(crate) mod seal;
pub mod stored;
pub mod tables;
mod write;

pub use write::{Actor, BatchPlan, ChangeOp, SignedBatch, WriteTx};

use crate::clock::{Hlc, HlcStamp};
use crate::error::Result;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::path::{Path, PathBuf};
use std::sync::Mutex as StdMutex;
use std::time::Duration;
use tokio::sync::Mutex;

/// The migrations in `migrations/` at the repository root, embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// The database file name inside the data directory.
pub const DB_FILE: &str = "hms.db";

pub struct Store {
    pool: SqlitePool,
    /// The reports' and Home's one read connection ([`Store::report_pool`]).
    report_pool: SqlitePool,
    /// The one connection that writes ([`WriteTx`]): SQLite has one writer anyway, and a
    /// connection's page cache is emptied whenever another connection has written, so with
    /// writes spread over the pool every write started cold and re-read the index pages it
    /// touches (a bulk load re-read them for every batch).
    write_pool: SqlitePool,
    path: PathBuf,
    device_id: String,
    /// Signs this device's changes (see `device_key` and `seal`).
    device_key: ed25519_dalek::SigningKey,
    /// The database's encryption key (see `db_key`): backups are written and checked with it.
    db_key: db_key::DbKey,
    /// The blob store's file key, derived from `db_key` (see `blob_cipher`).
    blob_key: blob_cipher::BlobKey,
    /// Serialises writers (SQLite has one writer anyway) and owns the clock, so that HLC
    /// stamps and the audit chain follow commit order.
    writer: Mutex<Hlc>,
    /// Tests may pin "now" to exercise lockout and idle rules without sleeping.
    fixed_now: StdMutex<Option<DateTime<Utc>>>,
    checkpointer: tokio::task::JoinHandle<()>,
    /// Writes bulk loads' batches out to `change_log` once a load ends (`batches::spawn_writer`).
    batch_writer: tokio::task::JoinHandle<()>,
    /// Wakes `batch_writer`.
    load_ended: std::sync::Arc<tokio::sync::Notify>,
    /// The checkpointer's own connection.
    checkpoints: SqlitePool,
    /// Tests: a `max_page_count` every write sets first (0: none), a database that cannot
    /// grow as on a full disk, whichever connection writes.
    page_limit: std::sync::atomic::AtomicU64,
    /// What the write path tells the checkpointer (the WAL grew past its bound).
    wal: std::sync::Arc<WalControl>,
    /// Nudged when a write that recorded synced changes commits (the background sync waits
    /// on it).
    sync_signal: tokio::sync::Notify,
    /// Held by a running sync, so that two (a button and the background task) never overlap.
    sync_lock: Mutex<()>,
    /// The signing keys of the users whose sessions are live, by user id (see `auth::keys`):
    /// in memory only, dropped (and wiped) when the session ends.
    user_keys: StdMutex<std::collections::HashMap<String, std::sync::Arc<crate::auth::keys::UserKey>>>,
    /// The device sequence the next change takes at least, after a restore (`meta`'s
    /// [`meta::SEQ_FLOOR_KEY`]); 0 once the change log has reached it, or without a restore.
    seq_floor: std::sync::atomic::AtomicI64,
    /// Values derived from the records that a module keeps between reads (see [`Store::memo`]).
    memo: StdMutex<std::collections::HashMap<&'static str, Memo>>,
}

/// A derived value and the version of the records it was derived from.
type Memo = (String, std::sync::Arc<dyn std::any::Any + Send + Sync>);

/// How often the background checkpointer copies the WAL into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// The WAL's bound: a commit that leaves it larger wakes the checkpointer, which then
/// RESTARTs it (see [`spawn_checkpointer`]).
const WAL_LIMIT_BYTES: u64 = 16 << 20;

/// How long the checkpointer's connection waits for a writer or reader in its way.
const CHECKPOINT_WAIT: Duration = Duration::from_millis(250);

/// How long a RESTART keeps trying (new writes held back) for the write under way and the
/// readers in its way to finish: longer than a bulk load's longest write (a 10,000-visit or
/// 200,000-patient batch takes a few seconds on a slow machine), short enough that a reader
/// that never ends cannot hold writes back for long.
const RESTART_PATIENCE: Duration = Duration::from_secs(15);

/// Shared by the write path and the checkpointer.
struct WalControl {
    /// The `-wal` file next to the database.
    path: PathBuf,
    limit_bytes: std::sync::atomic::AtomicU64,
    /// Woken by a commit that leaves the WAL past `limit_bytes`.
    wake: tokio::sync::Notify,
    /// Held by a RESTART checkpoint: a write passes it before it begins, so that a run of
    /// writes cannot keep the checkpoint from ever finding the database free.
    gate: Mutex<()>,
}

impl WalControl {
    fn len(&self) -> u64 {
        std::fs::metadata(&self.path).map_or(0, |m| m.len())
    }

    fn over_limit(&self) -> bool {
        self.len() > self.limit_bytes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// After a commit: a WAL past its bound wakes the checkpointer (a `stat`, no I/O).
    fn committed(&self) {
        if self.over_limit() {
            self.wake.notify_one();
        }
    }
}

/// Copies committed pages from the WAL into the database file off the write path (the writer
/// runs with `wal_autocheckpoint = 0`):
/// - every [`CHECKPOINT_EVERY`], PASSIVE, which never blocks writers or readers; whatever it
///   cannot copy now it copies next time, and the next write starts the WAL from its beginning
///   again once all of it is copied;
/// - when a commit leaves the WAL past its bound (a long run of writes with no pause for the
///   PASSIVE one to finish, e.g. a bulk load), RESTART: it holds new writes back (the gate),
///   waits for the one under way, copies everything and lets the WAL start over, so the WAL
///   stays near its bound whatever the load; a reader in the way for longer than
///   [`RESTART_PATIENCE`] makes it give up and try at the next commit, so a write never waits
///   longer for it;
/// - at close, TRUNCATE ([`Store::close`]): the WAL file goes back to 0 bytes. Not at idle: the
///   WAL file kept (at most about its bound) is room the next writes fill without the file
///   growing, so that a small write (an audit entry, a payment) still goes through for a while
///   on a disk that has filled up.
///
/// A failure (e.g. the disk is full) shows up on the next write; nothing to do here.
///
/// It runs on its own connection (`pool`), whose busy timeout is [`CHECKPOINT_WAIT`].
fn spawn_checkpointer(
    pool: SqlitePool,
    write_pool: SqlitePool,
    wal: std::sync::Arc<WalControl>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // Index upkeep in a task of its own: it writes on the writing connection, and waiting
        // for that behind a bulk load's writes kept this loop from its RESTARTs for as long as
        // the load ran (the WAL then grew without bound).
        let _upkeep = AbortOnDrop(spawn_upkeep(write_pool));
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let woken = tokio::select! {
                _ = tick.tick() => false,
                () = wal.wake.notified() => true,
            };
            if pool.is_closed() {
                break;
            }
            if woken && wal.over_limit() {
                let _gate = wal.gate.lock().await;
                restart(&pool).await;
                continue;
            }
            let _ = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await;
        }
    })
}

/// Aborts its task when dropped (the checkpointer's upkeep goes with the checkpointer).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Every [`CHECKPOINT_EVERY`], the tables' index upkeep (`TableRules::maintain`): it writes, so
/// on the writing connection (whose cache it keeps).
fn spawn_upkeep(write_pool: SqlitePool) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if write_pool.is_closed() {
                break;
            }
            for table in tables::all() {
                let _ = table.rules.maintain(&write_pool).await;
            }
        }
    })
}

/// RESTARTs the WAL, trying again (each try waits [`CHECKPOINT_WAIT`]) while a write already
/// under way when the gate closed, or a reader, is in its way, for up to [`RESTART_PATIENCE`].
/// A single try gave up on a bulk load's next batch, which had passed the gate before the
/// checkpointer woke and outlasts the wait.
async fn restart(pool: &SqlitePool) {
    let started = std::time::Instant::now();
    loop {
        // (busy, WAL frames, frames copied): busy = 1 when it could not finish.
        let done = matches!(
            sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(RESTART)").fetch_one(pool).await,
            Ok((0, _, _))
        );
        if done || started.elapsed() >= RESTART_PATIENCE || pool.is_closed() {
            return;
        }
        // A busy try has waited already; a failure that does not wait (I/O) must not spin.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The page cache of every connection (KiB, as `cache_size` takes it negative).
const CACHE_KIB: i64 = 65_536;
/// The writer's page cache during a bulk load: at a million patients the indexes that a
/// batch's rows land all over (birth date, phone digits, national id) outgrow 64 MiB, and
/// every batch then re-read the pages it dirtied.
const BULK_CACHE_KIB: i64 = 262_144;

/// Gives the writer the larger page cache of a bulk load (see [`BULK_CACHE_KIB`]) until
/// [`Store::end_bulk_load`].
pub(crate) async fn bulk_cache(w: &mut WriteTx<'_>) -> Result<()> {
    sqlx::query(&format!("PRAGMA cache_size = -{BULK_CACHE_KIB}")).execute(w.conn()).await?;
    Ok(())
}

impl Store {
    /// The writer's usual page cache again after a bulk load (generator, CSV import), and its
    /// batches written out to `change_log` in the background on a device that syncs
    /// (`batches`). The load's search entries stay one new segment per index (migration
    /// 0032), which the background upkeep merges into the rest a slice at a time, as after
    /// any write: merging the whole index at the end of a load took longer than the load's
    /// own rows at a million patients (2 s of a 3.8 s import of 100,000).
    pub async fn end_bulk_load(&self) -> Result<()> {
        sqlx::query(&format!("PRAGMA cache_size = -{CACHE_KIB}")).execute(&self.write_pool).await?;
        self.load_ended.notify_one();
        Ok(())
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.checkpointer.abort();
        self.batch_writer.abort();
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path`, applies pending migrations and
    /// makes sure this device has an id.
    pub async fn open(path: &Path) -> Result<Store> {
        // Before SQLite's first use in the process, if nothing used it yet.
        crate::allocator::route_sqlite();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| crate::Error::storage(format_args!("cannot create {}: {e}", dir.display())))?;
        }
        // Encrypted at rest (db_key): the key first; a clear database from before is
        // encrypted once, verified, before anything else opens it.
        let db_key = db_key::load_or_create(path)?;
        if db_key::file_kind(path)? == db_key::FileKind::Plain {
            encrypt::encrypt_in_place(path, &db_key).await?;
        }
        Store::open_with(path, db_key, true).await
    }

    /// Opens (creating if needed) an **unencrypted** database at `path`: only for the bench's
    /// `--plain`, which measures what encryption costs in the same run. It exists only with
    /// hms-core's `plain-store` feature, which hms-cli alone enables: the app (`hms`, built
    /// on its own by `make app`) cannot call it. An encrypted file is refused. The store's
    /// attachments and backups use a key made for this opening and never written anywhere.
    #[cfg(feature = "plain-store")]
    pub async fn open_plain(path: &Path) -> Result<Store> {
        crate::allocator::route_sqlite();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| crate::Error::storage(format_args!("cannot create {}: {e}", dir.display())))?;
        }
        if db_key::file_kind(path)? == db_key::FileKind::Encrypted {
            return Err(crate::Error::storage(format_args!("{}: encrypted, not a plain database", path.display())));
        }
        Store::open_with(path, db_key::DbKey::generate()?, false).await
    }

    /// The rest of [`Store::open`]: the database opened with `db_key` (`encrypted`), or clear.
    async fn open_with(path: &Path, db_key: db_key::DbKey, encrypted: bool) -> Result<Store> {
        let options = if encrypted {
            db_key::options(path, &db_key)
        } else {
            sqlx::sqlite::SqliteConnectOptions::new().filename(path)
        };
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit returns only once its WAL frames are on the disk (fsync), so a
            // write the app reports as saved survives a power cut, not only a crash of the
            // process (NORMAL syncs at checkpoints only, and can lose the last commits).
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // A 64 MiB page cache per connection and in-memory temp tables: the default 2 MiB
            // cache thrashes once the indexes of a large register no longer fit.
            .pragma("cache_size", format!("-{CACHE_KIB}"))
            .pragma("temp_store", "memory")
            // Reads through a memory map (up to 1 GiB of the file) instead of a read() call
            // per page: bulk loads into a large register spent most of their time in the kernel.
            .pragma("mmap_size", "1073741824")
            // No checkpoint inside a committing write (it made 1 save in 50 take 15-20 ms):
            // the background checkpointer below does it, and the WAL file is trimmed after.
            .pragma("wal_autocheckpoint", "0")
            // The WAL file left after a checkpoint lets the log start over is cut back to the
            // WAL's bound: a file left larger (by a bulk load, a big pull) read as "past the
            // bound" after every later commit, and each one then ran a RESTART (a write in
            // three waited for one, a millisecond or more each).
            .pragma("journal_size_limit", WAL_LIMIT_BYTES.to_string());
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options.clone()).await?;
        // Opened on the first report (min_connections is 0).
        let report_pool = SqlitePoolOptions::new().max_connections(1).connect_lazy_with(options.clone());
        MIGRATOR.run(&pool).await?;
        // The stored files too: clear ones from before are encrypted, once.
        let blob_key = blob_cipher::BlobKey::derive(&db_key);
        let data_dir = path.parent().unwrap_or_else(|| Path::new("."));
        blobs::seal_clear_on_open(&pool, &data_dir.join(blobs::DIR), &blob_key).await?;
        let checkpoints = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone().busy_timeout(CHECKPOINT_WAIT))
            .await?;
        let write_pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await?;
        let unregistered = tables::unregistered(&pool).await?;
        if !unregistered.is_empty() {
            // A defect of the build, not of the disk: its text is for whoever starts it.
            return Err(crate::Error::internal(format_args!(
                "tables with sync columns that no module registers (store::tables): {unregistered:?}"
            )));
        }

        let device_id = meta::device_id(&pool).await?;
        let device_key = device_key::load_or_create(path)?;
        // Outbox entries written before changes were signed: the device vouches for them.
        let mut tx = pool.begin().await?;
        seal::seal(&mut tx, &device_key, None, None).await?;
        tx.commit().await?;
        let last = meta::get(&pool, meta::HLC_KEY).await?.and_then(|s| HlcStamp::parse(&s));
        let hlc = Hlc::new(device_id.clone(), last.as_ref());
        let floor: i64 = meta::get(&pool, meta::SEQ_FLOOR_KEY).await?.and_then(|s| s.parse().ok()).unwrap_or(0);
        let reached: i64 = sqlx::query_scalar("SELECT COALESCE(max(seq), 0) FROM change_log").fetch_one(&pool).await?;
        let seq_floor = if reached >= floor { 0 } else { floor };
        let mut wal_path = path.as_os_str().to_owned();
        wal_path.push("-wal");
        let wal = std::sync::Arc::new(WalControl {
            path: PathBuf::from(wal_path),
            limit_bytes: std::sync::atomic::AtomicU64::new(WAL_LIMIT_BYTES),
            wake: tokio::sync::Notify::new(),
            gate: Mutex::new(()),
        });
        // Batches a load left waiting before the last close are written out now.
        let load_ended = std::sync::Arc::new(tokio::sync::Notify::new());
        load_ended.notify_one();
        Ok(Store {
            checkpointer: spawn_checkpointer(checkpoints.clone(), write_pool.clone(), wal.clone()),
            batch_writer: batches::spawn_writer(write_pool.clone(), wal.clone(), load_ended.clone()),
            load_ended,
            checkpoints,
            page_limit: std::sync::atomic::AtomicU64::new(0),
            wal,
            pool,
            report_pool,
            write_pool,
            path: path.to_path_buf(),
            device_id,
            device_key,
            db_key,
            blob_key,
            writer: Mutex::new(hlc),
            fixed_now: StdMutex::new(None),
            sync_signal: tokio::sync::Notify::new(),
            sync_lock: Mutex::new(()),
            user_keys: StdMutex::new(std::collections::HashMap::new()),
            seq_floor: std::sync::atomic::AtomicI64::new(seq_floor),
            memo: StdMutex::new(std::collections::HashMap::new()),
        })
    }

    /// Opens `hms.db` inside a data directory.
    pub async fn open_in_dir(dir: &Path) -> Result<Store> {
        Store::open(&dir.join(DB_FILE)).await
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The one read connection of the reports and Home's dashboards. A pool hands a statement
    /// the connection that has been idle longest (sqlx's idle queue is first in, first out),
    /// so with the four readers of [`Store::pool`] a report read one after another ran on each
    /// in turn, and each kept its own copy of the report's pages (decrypted, 64 MiB at most):
    /// at a million patients one run in four of receivables by age read its pages again. On
    /// one connection they stay warm, the copies are one, and a long report cannot take the
    /// readers the desk's searches need (it waits for the one before it instead).
    pub fn report_pool(&self) -> &SqlitePool {
        &self.report_pool
    }

    /// Every read and write pool (the benchmark empties their caches).
    #[doc(hidden)]
    pub fn pools(&self) -> [&SqlitePool; 3] {
        [&self.pool, &self.report_pool, &self.write_pool]
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The data directory holding the database (and the stored attachments).
    pub fn data_dir(&self) -> &Path {
        self.path.parent().unwrap_or_else(|| Path::new("."))
    }

    /// Completes after a write that recorded synced changes has committed (one stored
    /// permit: a commit made before the wait still wakes it).
    pub async fn changes_committed(&self) {
        self.sync_signal.notified().await;
    }

    /// The lock a sync holds while it runs (see `sync::sync_now`).
    pub(crate) fn sync_lock(&self) -> &Mutex<()> {
        &self.sync_lock
    }

    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// This device's public key (hex), registered with the sync server at enrolment.
    pub fn device_public_key(&self) -> String {
        hms_protocol::proof::public_key_hex(&self.device_key)
    }

    /// The database's encryption key (backups; the administrator's recovery key).
    pub fn db_key(&self) -> &db_key::DbKey {
        &self.db_key
    }

    /// The key the blob store's files are encrypted with.
    pub fn blob_key(&self) -> &blob_cipher::BlobKey {
        &self.blob_key
    }

    pub(crate) fn device_key(&self) -> &ed25519_dalek::SigningKey {
        &self.device_key
    }

    /// Holds a signed-in user's key for their session: their writes are signed with it.
    pub(crate) fn hold_user_key(&self, user_id: &str, key: crate::auth::keys::UserKey) {
        if let Ok(mut keys) = self.user_keys.lock() {
            keys.insert(user_id.to_string(), std::sync::Arc::new(key));
        }
    }

    /// Forgets a user's key (their session ended); the key is wiped when dropped.
    pub(crate) fn drop_user_key(&self, user_id: &str) {
        if let Ok(mut keys) = self.user_keys.lock() {
            keys.remove(user_id);
        }
    }

    /// The key of a user whose session is live, if any.
    pub(crate) fn user_key(&self, user_id: &str) -> Option<std::sync::Arc<crate::auth::keys::UserKey>> {
        self.user_keys.lock().ok().and_then(|keys| keys.get(user_id).cloned())
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self.fixed_now.lock() {
            Ok(guard) => guard.unwrap_or_else(Utc::now),
            Err(_) => Utc::now(),
        }
    }

    /// Pins the store's notion of "now" (tests only; `None` returns to the system clock).
    #[doc(hidden)]
    pub fn set_now(&self, now: Option<DateTime<Utc>>) {
        if let Ok(mut guard) = self.fixed_now.lock() {
            *guard = now;
        }
    }

    /// The highest migration version applied.
    pub async fn schema_version(&self) -> Result<i64> {
        let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(v.unwrap_or(0))
    }

    /// The device sequence the next change takes at least (0: no floor; see `seq_floor`).
    pub(crate) fn seq_floor(&self) -> i64 {
        self.seq_floor.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The change log has reached the floor: every later change follows it by itself.
    pub(crate) fn seq_floor_reached(&self) {
        self.seq_floor.store(0, std::sync::atomic::Ordering::Relaxed);
    }

    /// After a commit: a WAL past its bound wakes the checkpointer.
    fn committed(&self) {
        self.wal.committed();
    }

    /// The value kept under `name` if it was derived at `version` of its records. A module
    /// keeps a version that triggers bump on every write to those records (a local write, a
    /// pulled change, plain SQL alike), and reads it in the same connection before deriving:
    /// a value is only ever kept from committed records (a read, never a write under way,
    /// whose version a rollback would give back to different records).
    pub(crate) fn memo<T: std::any::Any + Send + Sync>(
        &self,
        name: &'static str,
        version: &str,
    ) -> Option<std::sync::Arc<T>> {
        let memo = self.memo.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (at, value) = memo.get(name)?;
        if at != version {
            return None;
        }
        value.clone().downcast::<T>().ok()
    }

    /// Keeps `value`, derived from the committed records at `version`, under `name`.
    pub(crate) fn keep_memo<T: std::any::Any + Send + Sync>(
        &self,
        name: &'static str,
        version: String,
        value: std::sync::Arc<T>,
    ) {
        let mut memo = self.memo.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        memo.insert(name, (version, value));
    }

    /// Sets the WAL's bound (tests: a small one, reached quickly).
    #[doc(hidden)]
    pub fn set_wal_limit(&self, bytes: u64) {
        self.wal.limit_bytes.store(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    /// Tests: every write from now on runs with SQLite's `max_page_count` at `pages` (0: left
    /// as it is), as if the disk were full once the database has that many pages.
    #[doc(hidden)]
    pub fn set_page_limit(&self, pages: u64) {
        self.page_limit.store(pages, std::sync::atomic::Ordering::Relaxed);
    }

    /// The size of the WAL file now (bytes).
    #[doc(hidden)]
    pub fn wal_len(&self) -> u64 {
        self.wal.len()
    }

    /// Starts the one transaction of a write: domain rows, change log and audit together.
    pub async fn begin_write(&self, actor: Actor) -> Result<WriteTx<'_>> {
        WriteTx::begin(self, actor).await
    }

    pub async fn close(&self) {
        self.checkpointer.abort();
        self.batch_writer.abort();
        // The background tasks' connections back in their pools first: a connection handed
        // back while its pool closes can land in the pool's idle queue after the close has
        // emptied it, and then stays open for as long as the pool lives (sqlx), so that a
        // rekey or restore after the close met "database is locked" for a minute.
        let deadline = std::time::Instant::now() + CLOSE_PATIENCE;
        while std::time::Instant::now() < deadline
            && !(self.checkpointer.is_finished() && self.batch_writer.is_finished() && self.pools_idle())
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        close_pool(&self.checkpoints).await;
        // Fold the WAL into the database so the file is whole on its own.
        let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&self.pool).await;
        close_pool(&self.write_pool).await;
        close_pool(&self.report_pool).await;
        close_pool(&self.pool).await;
    }

    /// No connection of the store's pools is in use.
    fn pools_idle(&self) -> bool {
        [&self.pool, &self.report_pool, &self.write_pool, &self.checkpoints]
            .iter()
            .all(|p| p.size() as usize == p.num_idle())
    }
}

/// How long closing the store waits for its connections to come back.
const CLOSE_PATIENCE: Duration = Duration::from_secs(5);

/// Closes `pool`, and again while a connection is still open in it (one handed back during the
/// close, see [`Store::close`]), for up to [`CLOSE_PATIENCE`].
async fn close_pool(pool: &SqlitePool) {
    let deadline = std::time::Instant::now() + CLOSE_PATIENCE;
    pool.close().await;
    while pool.size() > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
        pool.close().await;
    }
}
