//! The hash chain: each entry's hash covers its own fields and the previous entry's hash, and
//! `meta.audit_head` remembers the last (seq, hash) so that cutting entries off the end is
//! detected too. Triggers refuse UPDATE and DELETE on the table; the chain catches anyone who
//! edits the file behind the app's back.

use crate::error::Result;
use crate::store::meta;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::SqliteConnection;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

pub struct NewEntry {
    pub at: String,
    pub user_id: Option<String>,
    pub device_id: String,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    pub detail: Value,
}

/// The fields a hash covers, in a fixed order.
#[derive(Serialize)]
pub(crate) struct Hashed<'a> {
    pub seq: i64,
    pub id: &'a str,
    pub at: &'a str,
    pub user_id: Option<&'a str>,
    pub device_id: &'a str,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: Option<&'a str>,
    pub detail: &'a str,
    pub prev_hash: &'a str,
}

pub(crate) fn hash(fields: &Hashed<'_>) -> String {
    // serde_json of a struct with fixed field order is an unambiguous encoding.
    let bytes = serde_json::to_vec(fields).unwrap_or_default();
    hex::encode(Sha256::digest(bytes))
}

/// The action of the entry a restore writes (`backup::restore`). It is the one entry whose
/// sequence may skip ahead of the one before it (see [`restart_seq`]); verification accepts
/// the gap there, and only there.
pub const RESTORE_ACTION: &str = "backup.restore";

/// Appends one entry inside the caller's transaction.
pub async fn append(conn: &mut SqliteConnection, e: NewEntry) -> Result<()> {
    append_at(conn, e, None).await
}

/// The sequence a restore's entry takes: its second since 2020 times 2^20, and in any case
/// above `used` (the highest audit sequence the backup and the replaced database held). The
/// restored chain goes on from the backup's last entry, whose later entries the sync server
/// (and the other devices) may already hold under the next numbers: the new ones must not
/// take those numbers again. (A device writes fewer than 2^20 audit entries a second, so
/// entries made before a restore stay below the next one's restart.)
pub fn restart_seq(now_secs: i64, used: i64) -> i64 {
    const STEP: i64 = 1 << 20;
    const ORIGIN_SECS: i64 = 1_577_836_800; // 2020-01-01T00:00:00Z
    let by_time = (now_secs - ORIGIN_SECS).max(0).saturating_mul(STEP);
    by_time.max((used / STEP + 1).saturating_mul(STEP))
}

/// [`append`] at sequence `seq` (a restore's entry, [`RESTORE_ACTION`]) or, with `None`, at
/// the one after the last.
pub(crate) async fn append_at(conn: &mut SqliteConnection, e: NewEntry, seq: Option<i64>) -> Result<()> {
    append_many_at(conn, vec![e], seq).await
}

/// Appends entries in order inside the caller's transaction, in three statements whatever
/// their number (the chain is computed here; a write that audits one entry per row — the
/// nightly census's bed-day charges — costs a round trip to SQLite's thread per statement).
pub(crate) async fn append_many(conn: &mut SqliteConnection, entries: Vec<NewEntry>) -> Result<()> {
    append_many_at(conn, entries, None).await
}

async fn append_many_at(conn: &mut SqliteConnection, entries: Vec<NewEntry>, seq: Option<i64>) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let last: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetch_optional(&mut *conn).await?;
    let (prev_seq, mut prev_hash) = last.unwrap_or((0, GENESIS.to_string()));
    let mut next = seq.filter(|s| *s > prev_seq).unwrap_or(prev_seq + 1);
    let mut rows = Vec::with_capacity(entries.len());
    for e in entries {
        let id = crate::ids::new_id();
        let detail = serde_json::to_string(&e.detail)?;
        let h = hash(&Hashed {
            seq: next,
            id: &id,
            at: &e.at,
            user_id: e.user_id.as_deref(),
            device_id: &e.device_id,
            action: &e.action,
            entity: &e.entity,
            entity_id: e.entity_id.as_deref(),
            detail: &detail,
            prev_hash: &prev_hash,
        });
        rows.push((next, id, e, detail, std::mem::replace(&mut prev_hash, h.clone()), h));
        next += 1;
    }
    // 11 variables a row: 2,500 rows stay under SQLite's limit.
    for chunk in rows.chunks(2_500) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO audit_log (seq, id, at, user_id, device_id, action, entity, entity_id, detail, prev_hash, hash) ",
        );
        q.push_values(chunk, |mut b, (seq, id, e, detail, prev, h)| {
            b.push_bind(*seq)
                .push_bind(id.as_str())
                .push_bind(e.at.as_str())
                .push_bind(e.user_id.as_deref())
                .push_bind(e.device_id.as_str())
                .push_bind(e.action.as_str())
                .push_bind(e.entity.as_str())
                .push_bind(e.entity_id.as_deref())
                .push_bind(detail.as_str())
                .push_bind(prev.as_str())
                .push_bind(h.as_str());
        });
        q.build().execute(&mut *conn).await?;
    }
    meta::set(&mut *conn, meta::AUDIT_HEAD_KEY, &format!("{}:{prev_hash}", next - 1)).await
}
