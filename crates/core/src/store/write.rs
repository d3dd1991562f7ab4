//! The write path. Every change to the database goes through a [`WriteTx`]: one SQLite
//! transaction that holds the domain change, its change-log entry (the sync outbox) and its
//! audit entry. Dropping a `WriteTx` without `commit` rolls all of it back.

use super::{meta, Store};
use crate::audit::chain;
use crate::clock::HlcStamp;
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
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
}

impl<'s> WriteTx<'s> {
    pub(super) async fn begin(store: &'s Store, actor: Actor) -> Result<WriteTx<'s>> {
        let mut writer = store.writer.lock().await;
        // IMMEDIATE takes SQLite's write lock now, so another process (the CLI) waits on
        // busy_timeout instead of failing on a read-to-write upgrade.
        let tx = store.write_pool.begin_with("BEGIN IMMEDIATE").await?;
        let now = store.now();
        let stamp = writer.tick(now);
        Ok(WriteTx { tx, writer, store, actor, now, stamp, audited: false, changed: false })
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

    /// Appends the outbox entry for a synced row: `data` is the row after the change.
    pub async fn record_change(&mut self, entity: &str, entity_id: &str, op: ChangeOp, data: &Value) -> Result<()> {
        let hlc = self.stamp();
        let device = self.store.device_id().to_string();
        sqlx::query(
            "INSERT INTO change_log (id, entity, entity_id, op, data, hlc, device_id, user_id)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(crate::ids::new_id())
        .bind(entity)
        .bind(entity_id)
        .bind(op.as_str())
        .bind(serde_json::to_string(data)?)
        .bind(hlc)
        .bind(device)
        .bind(&self.actor.user_id)
        .execute(&mut *self.tx)
        .await?;
        self.changed = true;
        self.stamp_fields(entity, entity_id, op, data).await?;
        // The table's own rule after a write (e.g. the one-booking-per-slot rule).
        if let Some(table) = super::tables::find(entity) {
            table.rules.after_write(self, entity_id).await?;
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
        let hlc = self.stamp();
        let device = self.store.device_id().to_string();
        let mut data = Vec::with_capacity(rows.len());
        for (id, row) in rows {
            data.push((*id, serde_json::to_string(row)?));
        }
        // 8 variables a row: 3,000 rows stay under SQLite's limit.
        for chunk in data.chunks(3_000) {
            let mut q = sqlx::QueryBuilder::<Sqlite>::new(
                "INSERT INTO change_log (id, entity, entity_id, op, data, hlc, device_id, user_id) ",
            );
            q.push_values(chunk, |mut b, (id, json)| {
                b.push_bind(crate::ids::new_id())
                    .push_bind(entity)
                    .push_bind(*id)
                    .push_bind(op.as_str())
                    .push_bind(json.as_str())
                    .push_bind(hlc.as_str())
                    .push_bind(device.as_str())
                    .push_bind(self.actor.user_id.as_deref());
            });
            q.build().execute(&mut *self.tx).await?;
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
            q.build().execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// Appends an entry to the hash-chained audit log.
    pub async fn audit(&mut self, action: &str, entity: &str, entity_id: Option<&str>, detail: Value) -> Result<()> {
        let entry = chain::NewEntry {
            at: self.now_rfc3339(),
            user_id: self.actor.user_id.clone(),
            device_id: self.store.device_id().to_string(),
            action: action.to_string(),
            entity: entity.to_string(),
            entity_id: entity_id.map(str::to_string),
            detail,
        };
        chain::append(&mut self.tx, entry).await?;
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

    /// Commits a write that needs no audit entry of its own: a pull page that only stored
    /// other devices' audit entries and moved the cursor (sync). Nothing else may use it.
    pub(crate) async fn commit_unaudited(mut self) -> Result<()> {
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
        .await?;
        meta::set(&mut *self.tx, meta::HLC_KEY, &self.stamp.to_string()).await?;
        self.tx.commit().await?;
        if self.changed {
            self.store.sync_signal.notify_one();
        }
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
