//! The write path. Every change to the database goes through a [`WriteTx`]: one SQLite
//! transaction that holds the domain change, its change-log entry (the sync outbox) and its
//! audit entry. Dropping a `WriteTx` without `commit` rolls all of it back.

use super::{meta, Store};
use crate::audit::chain;
use crate::clock::HlcStamp;
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use hms_protocol::proof::{segment_ranges, sign_segment, sign_segment_as_user};
use hms_protocol::{Change, Op};
use serde_json::value::RawValue;
use serde_json::Value;
use sqlx::{Sqlite, SqliteConnection, Transaction};
use tokio::sync::MutexGuard;

/// Who is writing: a signed-in user, or the system itself (first start, CLI on the machine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Option<String>,
}

impl Actor {
    pub fn user(id: impl Into<String>) -> Self {
        Actor { user_id: Some(id.into()) }
    }
    pub fn system() -> Self {
        Actor { user_id: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOp {
    Insert,
    Update,
    Delete,
}

impl ChangeOp {
    fn as_str(self) -> &'static str {
        match self {
            ChangeOp::Insert => "insert",
            ChangeOp::Update => "update",
            ChangeOp::Delete => "delete",
        }
    }
}

pub struct WriteTx<'s> {
    tx: Transaction<'static, Sqlite>,
    writer: MutexGuard<'s, crate::clock::Hlc>,
    store: &'s Store,
    actor: Actor,
    now: DateTime<Utc>,
    stamp: HlcStamp,
    audited: bool,
    /// Whether this write recorded synced changes of its own (not just audit entries): the
    /// background sync is nudged when it commits.
    changed: bool,
    /// The first table (or audited entity) this write recorded: what a full disk at commit
    /// did not save (`Error::StorageFull`).
    what: Option<String>,
}

impl<'s> WriteTx<'s> {
    /// The store this write is on.
    pub(crate) fn store(&self) -> &'s Store {
        self.store
    }

    pub(super) async fn begin(store: &'s Store, actor: Actor) -> Result<WriteTx<'s>> {
        // Not while the checkpointer RESTARTs the WAL (see `spawn_checkpointer`).
        drop(store.wal.gate.lock().await);
        let mut writer = store.writer.lock().await;
        // IMMEDIATE takes SQLite's write lock now, so another process (the CLI) waits on
        // busy_timeout instead of failing on a read-to-write upgrade.
        let mut tx = match store.write_pool.begin_with("BEGIN IMMEDIATE").await {
            // A write that failed with SQLITE_FULL (or an I/O error) was rolled back by SQLite
            // itself; the connection's own ROLLBACK then failed, and it still counts a
            // transaction open, refusing every BEGIN. Replace the connection, then begin.
            Err(sqlx::Error::InvalidSavePointStatement) => {
                store.write_pool.acquire().await?.close().await?;
                store.write_pool.begin_with("BEGIN IMMEDIATE").await?
            }
            tx => tx?,
        };
        // Tests: a database that may not grow past this many pages (`Store::set_page_limit`).
        let limit = store.page_limit.load(std::sync::atomic::Ordering::Relaxed);
        if limit > 0 {
            sqlx::query(&format!("PRAGMA max_page_count = {limit}")).execute(&mut *tx).await?;
        }
        let now = store.now();
        let stamp = writer.tick(now);
        Ok(WriteTx { tx, writer, store, actor, now, stamp, audited: false, changed: false, what: None })
    }

    pub fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn device_id(&self) -> &str {
        self.store.device_id()
    }

    /// Wall-clock time of this write (RFC 3339 for `created_at` and audit).
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    pub fn now_rfc3339(&self) -> String {
        self.now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }

    /// The hybrid-logical-clock stamp of this write, for `updated_at` of synced rows.
    pub fn stamp(&self) -> String {
        self.stamp.to_string()
    }

    /// Moves this device's clock past a stamp pulled from another device, so that every later
    /// local write is stamped after it (sync calls this before applying pulled changes; a
    /// write that observes records no outbox entries of its own).
    pub(crate) fn observe(&mut self, remote: &HlcStamp) {
        self.writer.observe(remote, self.now);
        self.stamp = self.writer.tick(self.now);
    }

    /// The sequence the next outbox entry must take when the change log is still below the
    /// floor a restore set (`store::meta::SEQ_FLOOR_KEY`); `None`: the next one, as SQLite
    /// numbers a row without one (the highest plus one).
    pub(crate) async fn floor_seq(&mut self) -> Result<Option<i64>> {
        let floor = self.store.seq_floor();
        if floor == 0 {
            return Ok(None);
        }
        let last: i64 =
            sqlx::query_scalar("SELECT COALESCE(max(seq), 0) FROM change_log").fetch_one(&mut *self.tx).await?;
        if last >= floor {
            self.store.seq_floor_reached();
            return Ok(None);
        }
        Ok(Some(floor))
    }

    /// Appends the outbox entry for a synced row: `data` is the row after the change.
    pub async fn record_change(&mut self, entity: &str, entity_id: &str, op: ChangeOp, data: &Value) -> Result<()> {
        self.what.get_or_insert_with(|| entity.to_string());
        let hlc = self.stamp();
        let device = self.store.device_id().to_string();
        let seq = self.floor_seq().await?;
        sqlx::query(
            "INSERT INTO change_log (seq, id, entity, entity_id, op, data, hlc, device_id, user_id)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(seq)
        .bind(crate::ids::new_id())
        .bind(entity)
        .bind(entity_id)
        .bind(op.as_str())
        .bind(serde_json::to_string(data)?)
        .bind(hlc)
        .bind(device)
        .bind(&self.actor.user_id)
        .execute(&mut *self.tx)
        .await
        .map_err(|e| Error::writing(e, entity))?;
        self.changed = true;
        self.stamp_fields(entity, entity_id, op, data).await.map_err(|e| e.naming(entity))?;
        // The table's own rule after a write (e.g. the one-booking-per-slot rule).
        if let Some(table) = super::tables::find(entity) {
            table.rules.after_write(self, entity_id).await.map_err(|e| e.naming(entity))?;
        }
        Ok(())
    }

    /// Appends the outbox entry for an update given the row before and after it (serialized
    /// the same way): only the fields whose value changed travel, and only they are stamped.
    /// Sending the whole row would claim fields this write never touched, and in the
    /// per-field merge that would undo another device's concurrent edit of them.
    pub async fn record_update(&mut self, entity: &str, entity_id: &str, before: &Value, after: &Value) -> Result<()> {
        self.record_change(entity, entity_id, ChangeOp::Update, &changed_fields(before, after)).await
    }

    /// Records the stamp of this write as the one that last set each field of `data`, for the
    /// per-field merge of pulled changes (`sync::apply`). An insert of a new row stamps the
    /// whole row at once (`"*"`).
    async fn stamp_fields(&mut self, entity: &str, entity_id: &str, op: ChangeOp, data: &Value) -> Result<()> {
        let hlc = self.stamp();
        let fields = field_stamps(data, &hlc);
        let first = if op == ChangeOp::Insert { serde_json::json!({ "*": hlc }).to_string() } else { fields.clone() };
        sqlx::query(
            "INSERT INTO sync_stamps (entity, entity_id, stamps) VALUES (?, ?, ?)
             ON CONFLICT (entity, entity_id) DO UPDATE SET stamps = json_patch(stamps, ?)",
        )
        .bind(entity)
        .bind(entity_id)
        .bind(first)
        .bind(fields)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Appends the outbox entries of many new or changed rows of one entity at once.
    pub async fn record_changes(&mut self, entity: &str, op: ChangeOp, rows: &[(&str, Value)]) -> Result<()> {
        self.what.get_or_insert_with(|| entity.to_string());
        let hlc = self.stamp();
        let device = self.store.device_id().to_string();
        let mut data = Vec::with_capacity(rows.len());
        for (id, row) in rows {
            data.push((*id, serde_json::to_string(row)?));
        }
        // The first row takes the floor after a restore; the others follow it (NULL: the next).
        let mut seq = self.floor_seq().await?;
        // 9 variables a row: 3,000 rows stay under SQLite's limit.
        for chunk in data.chunks(3_000) {
            let mut q = sqlx::QueryBuilder::<Sqlite>::new(
                "INSERT INTO change_log (seq, id, entity, entity_id, op, data, hlc, device_id, user_id) ",
            );
            q.push_values(chunk, |mut b, (id, json)| {
                b.push_bind(seq.take())
                    .push_bind(crate::ids::new_id())
                    .push_bind(entity)
                    .push_bind(*id)
                    .push_bind(op.as_str())
                    .push_bind(json.as_str())
                    .push_bind(hlc.as_str())
                    .push_bind(device.as_str())
                    .push_bind(self.actor.user_id.as_deref());
            });
            q.build().execute(&mut *self.tx).await.map_err(|e| Error::writing(e, entity))?;
        }
        self.changed = true;
        // The per-field stamps (see `stamp_fields`): new rows are stamped whole.
        let whole = serde_json::json!({ "*": hlc }).to_string();
        for chunk in rows.chunks(5_000) {
            let mut q = sqlx::QueryBuilder::<Sqlite>::new("INSERT INTO sync_stamps (entity, entity_id, stamps) ");
            q.push_values(chunk, |mut b, (id, row)| {
                let stamps = if op == ChangeOp::Insert { whole.clone() } else { field_stamps(row, &hlc) };
                b.push_bind(entity).push_bind(*id).push_bind(stamps);
            });
            q.push(" ON CONFLICT (entity, entity_id) DO UPDATE SET stamps = json_patch(stamps, excluded.stamps)");
            q.build().execute(&mut *self.tx).await.map_err(|e| Error::writing(e, entity))?;
        }
        Ok(())
    }

    /// Starts the outbox of a bulk insert of `n` new rows of `entity` (the generator, a CSV
    /// import): this write's earlier outbox entries are sealed, and the batch will take the
    /// next `n` device sequences. Sign its rows with [`BatchPlan::sign`] (CPU only: it may run
    /// on another thread while the rows are written), then [`WriteTx::record_batch`].
    pub async fn plan_batch(&mut self, entity: &str, n: usize) -> Result<BatchPlan> {
        self.seal_now().await?;
        let first_seq: i64 = sqlx::query_scalar("SELECT max(COALESCE(max(seq), 0) + 1, ?) FROM change_log")
            .bind(self.store.seq_floor())
            .fetch_one(&mut *self.tx)
            .await?;
        let user_id = self.actor.user_id.clone();
        let user_key = user_id.as_deref().and_then(|u| self.store.user_key(u));
        Ok(BatchPlan {
            entity: entity.to_string(),
            n,
            first_seq,
            hlc: self.stamp(),
            device_id: self.store.device_id().to_string(),
            user_id,
            device_key: self.store.device_key().clone(),
            user_key,
        })
    }

    /// Records a signed batch (see [`WriteTx::plan_batch`]): its last change goes to
    /// `change_log` as usual and holds the batch's sequences; the others wait in one
    /// `change_batches` row until a push writes them out (`store::batches::expand`). Every row
    /// is stamped whole, as by [`WriteTx::record_changes`].
    pub async fn record_batch(&mut self, batch: SignedBatch) -> Result<()> {
        let next: i64 = sqlx::query_scalar("SELECT max(COALESCE(max(seq), 0) + 1, ?) FROM change_log")
            .bind(self.store.seq_floor())
            .fetch_one(&mut *self.tx)
            .await?;
        if next != batch.first_seq {
            return Err(Error::internal("the outbox moved between a batch's plan and its record"));
        }
        let last = &batch.last;
        let last_seq = batch.first_seq + batch.count as i64 - 1;
        sqlx::query(
            "INSERT INTO change_log (seq, id, entity, entity_id, op, data, hlc, device_id, user_id, proof)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(last_seq)
        .bind(&last.id)
        .bind(&last.entity)
        .bind(&last.entity_id)
        .bind(last.op.as_str())
        .bind(serde_json::to_string(&last.data)?)
        .bind(&last.hlc)
        .bind(&last.device_id)
        .bind(&last.user_id)
        .bind(last.proof.as_ref().map(serde_json::to_string).transpose()?)
        .execute(&mut *self.tx)
        .await?;
        if batch.count > 1 {
            sqlx::query(
                "INSERT INTO change_batches (last_seq, first_seq, entity, hlc, device_id, user_id, changes, proofs, packed)
                 VALUES (?, ?, ?, ?, ?, ?, '', ?, ?)",
            )
            .bind(last_seq)
            .bind(batch.first_seq)
            .bind(&last.entity)
            .bind(&last.hlc)
            .bind(&last.device_id)
            .bind(&last.user_id)
            .bind(&batch.proofs)
            .bind(batch.packed.as_slice())
            .execute(&mut *self.tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO sync_stamps (entity, entity_id, stamps) SELECT ?1, value, json_object('*', ?2) FROM json_each(?3) WHERE true
             ON CONFLICT (entity, entity_id) DO UPDATE SET stamps = json_patch(stamps, excluded.stamps)",
        )
        .bind(&last.entity)
        .bind(&last.hlc)
        .bind(&batch.ids)
        .execute(&mut *self.tx)
        .await?;
        self.changed = true;
        Ok(())
    }

    /// Signs this write's outbox entries recorded so far (see `seal`).
    async fn seal_now(&mut self) -> Result<()> {
        // A user's write is signed by the user's key too, held while their session lives; a
        // write in the name of a user without one (none signed in) carries the device's proof
        // only, and the server and other devices refuse it (`bad_user_proof`).
        let user_key = self.actor.user_id.as_deref().and_then(|u| self.store.user_key(u));
        super::seal::seal(
            &mut self.tx,
            self.store.device_key(),
            self.actor.user_id.as_deref(),
            user_key.as_deref().map(|k| k.signing_key()),
        )
        .await
    }

    /// Appends an entry to the hash-chained audit log.
    pub async fn audit(&mut self, action: &str, entity: &str, entity_id: Option<&str>, detail: Value) -> Result<()> {
        self.audit_at(None, action, entity, entity_id, detail).await
    }

    /// [`WriteTx::audit`] at audit sequence `seq` (a restore's entry: `audit::chain::restart_seq`).
    pub(crate) async fn audit_at(
        &mut self,
        seq: Option<i64>,
        action: &str,
        entity: &str,
        entity_id: Option<&str>,
        detail: Value,
    ) -> Result<()> {
        let entry = chain::NewEntry {
            at: self.now_rfc3339(),
            user_id: self.actor.user_id.clone(),
            device_id: self.store.device_id().to_string(),
            action: action.to_string(),
            entity: entity.to_string(),
            entity_id: entity_id.map(str::to_string),
            detail,
        };
        self.what.get_or_insert_with(|| entity.to_string());
        chain::append_at(&mut self.tx, entry, seq).await.map_err(|e| e.naming(entity))?;
        self.audited = true;
        Ok(())
    }

    /// Appends several entries to the audit log at once (one per row of a batch write): the
    /// same entries as calling [`WriteTx::audit`] for each, in order, in three statements.
    pub async fn audit_many(&mut self, entries: Vec<(&str, &str, Option<&str>, Value)>) -> Result<()> {
        let Some((_, entity, _, _)) = entries.first() else { return Ok(()) };
        let entity = entity.to_string();
        let at = self.now_rfc3339();
        let (user_id, device_id) = (self.actor.user_id.clone(), self.store.device_id().to_string());
        let entries = entries
            .into_iter()
            .map(|(action, entity, entity_id, detail)| chain::NewEntry {
                at: at.clone(),
                user_id: user_id.clone(),
                device_id: device_id.clone(),
                action: action.to_string(),
                entity: entity.to_string(),
                entity_id: entity_id.map(str::to_string),
                detail,
            })
            .collect();
        self.what.get_or_insert_with(|| entity.clone());
        chain::append_many(&mut self.tx, entries).await.map_err(|e| e.naming(&entity))?;
        self.audited = true;
        Ok(())
    }

    /// Commits everything. A write that recorded no audit entry is refused: every write is
    /// audited, and this is where that is enforced.
    pub async fn commit(self) -> Result<()> {
        if !self.audited {
            return Err(Error::internal("write without an audit entry"));
        }
        self.commit_unaudited().await
    }

    /// Commits a write of derived, local tables only (a report summary built from the records
    /// a few hundred people at a time): nothing anyone did and nothing synced, so no audit
    /// entry (like the summaries the triggers keep). Refused if it recorded a synced change.
    pub(crate) async fn commit_derived(self) -> Result<()> {
        if self.changed {
            return Err(Error::internal("a derived write recorded a synced change"));
        }
        self.commit_unaudited().await
    }

    /// Commits a write that needs no audit entry of its own: a pull page that only stored
    /// other devices' audit entries and moved the cursor (sync). Nothing else may use it.
    pub(crate) async fn commit_unaudited(mut self) -> Result<()> {
        // A full disk shows at commit above all (the WAL grows then): named after this write.
        let what = self.what.take().unwrap_or_default();
        self.seal_now().await.map_err(|e| e.naming(&what))?;
        meta::set(&mut *self.tx, meta::HLC_KEY, &self.stamp.to_string()).await.map_err(|e| e.naming(&what))?;
        self.tx.commit().await.map_err(|e| Error::writing(e, &what))?;
        if self.changed {
            self.store.sync_signal.notify_one();
        }
        self.store.committed();
        Ok(())
    }
}

/// `{field: stamp}` for every key of a change's data but `updated_at` (the row's newest
/// stamp, kept as the maximum of its fields').
/// The fields of `after` whose value differs from `before`, with the row's id and
/// bookkeeping (`updated_at`, `updated_by`) always kept.
pub fn changed_fields(before: &Value, after: &Value) -> Value {
    const ALWAYS: &[&str] = &["id", "updated_at", "updated_by"];
    let Value::Object(after) = after else {
        return after.clone();
    };
    let before = before.as_object();
    let changed = after
        .iter()
        .filter(|(k, v)| ALWAYS.contains(&k.as_str()) || before.and_then(|b| b.get(k.as_str())) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(changed)
}

fn field_stamps(data: &Value, hlc: &str) -> String {
    let mut map = serde_json::Map::new();
    if let Value::Object(fields) = data {
        for key in fields.keys().filter(|k| k.as_str() != "updated_at") {
            map.insert(key.clone(), Value::String(hlc.to_string()));
        }
    }
    Value::Object(map).to_string()
}

/// A bulk insert's outbox being made (see [`WriteTx::plan_batch`]).
pub struct BatchPlan {
    entity: String,
    n: usize,
    first_seq: i64,
    hlc: String,
    device_id: String,
    user_id: Option<String>,
    device_key: ed25519_dalek::SigningKey,
    user_key: Option<std::sync::Arc<crate::auth::keys::UserKey>>,
}

/// A bulk insert's outbox, signed, ready for [`WriteTx::record_batch`].
pub struct SignedBatch {
    first_seq: i64,
    count: usize,
    /// The last change, with its segment's proof.
    last: Change,
    /// The other changes as `change_batches.packed` (see `batches::pack`), and their
    /// segments' proofs.
    packed: Vec<u8>,
    proofs: String,
    /// Every row's id (JSON array), for the per-field stamps.
    ids: String,
}

impl BatchPlan {
    /// Signs the insert changes of the planned rows, `(id, the row as a change carries it)`
    /// in order, in segments cut as sealing a write cuts them (`segment_ranges`).
    pub fn sign(self, rows: Vec<(String, Value)>) -> Result<SignedBatch> {
        if rows.len() != self.n || rows.is_empty() {
            return Err(Error::internal("a batch signed with another number of rows than planned"));
        }
        let first = u64::try_from(self.first_seq).map_err(|_| Error::internal("change_log seq out of range"))?;
        let mut changes: Vec<Change> = rows
            .into_iter()
            .enumerate()
            .map(|(i, (entity_id, data))| Change {
                id: crate::ids::new_id(),
                device_id: self.device_id.clone(),
                device_seq: first + i as u64,
                entity: self.entity.clone(),
                entity_id,
                op: Op::Insert,
                data,
                hlc: self.hlc.clone(),
                user_id: self.user_id.clone(),
                proof: None,
            })
            .collect();
        // Each row's data as JSON text, written once: its size cuts the segments, and it is
        // what the batch row keeps.
        let texts = changes
            .iter()
            .map(|c| serde_json::value::to_raw_value(&c.data))
            .collect::<serde_json::Result<Vec<Box<RawValue>>>>()?;
        let sizes: Vec<usize> = texts.iter().map(|t| t.get().len()).collect();
        let mut proofs = serde_json::Map::new();
        for range in segment_ranges(&sizes) {
            let segment = &mut changes[range];
            let proof = match (&self.user_id, &self.user_key) {
                (Some(user), Some(key)) => sign_segment_as_user(&self.device_key, user, key.signing_key(), &*segment),
                _ => sign_segment(&self.device_key, self.user_id.as_deref(), &*segment),
            }
            .map_err(|e| Error::internal(format!("sealing a batch: {e}")))?;
            if let Some(end) = segment.last_mut() {
                proofs.insert(end.device_seq.to_string(), Value::String(serde_json::to_string(&proof)?));
                end.proof = Some(proof);
            }
        }
        let ids = serde_json::to_string(&changes.iter().map(|c| c.entity_id.as_str()).collect::<Vec<_>>())?;
        let last = changes.pop().ok_or_else(|| Error::internal("an empty batch"))?;
        proofs.remove(&last.device_seq.to_string());
        #[derive(serde::Serialize)]
        struct Waiting<'a> {
            id: &'a str,
            entity_id: &'a str,
            data: &'a RawValue,
        }
        let waiting: Vec<Waiting> =
            changes.iter().zip(&texts).map(|(c, data)| Waiting { id: &c.id, entity_id: &c.entity_id, data }).collect();
        Ok(SignedBatch {
            first_seq: self.first_seq,
            count: self.n,
            last,
            packed: super::batches::pack(&waiting)?,
            proofs: Value::Object(proofs).to_string(),
            ids,
        })
    }
}
