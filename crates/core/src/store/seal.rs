//! Sealing the outbox: every write that recorded synced changes signs them, in segments, with
//! the device key before it commits (see `hms_protocol::proof`). The entries of a write are
//! the ones after the last proven entry: every committed write seals its own, so only the
//! running write's entries are unproven. The last entry of each segment keeps the proof.

use crate::error::{Error, Result};
use ed25519_dalek::SigningKey;
use hms_protocol::proof::{segment_ranges, sign_segment, sign_segment_as_user};
use hms_protocol::{Change, Op};
use sqlx::SqliteConnection;

/// An outbox entry as stored in `change_log`.
#[derive(sqlx::FromRow)]
pub(crate) struct OutboxRow {
    pub seq: i64,
    pub id: String,
    pub entity: String,
    pub entity_id: String,
    pub op: String,
    pub data: String,
    pub hlc: String,
    pub device_id: String,
    pub user_id: Option<String>,
    pub proof: Option<String>,
}

/// The columns of [`OutboxRow`], for `SELECT {OUTBOX_COLUMNS} FROM change_log ...`.
pub(crate) const OUTBOX_COLUMNS: &str = "seq, id, entity, entity_id, op, data, hlc, device_id, user_id, proof";

/// An outbox row's op and sequence as the protocol has them; a row that has neither is a
/// corrupt outbox, not a change to send.
pub(crate) fn op_and_seq(row: &OutboxRow) -> Result<(Op, u64)> {
    let op = Op::parse(&row.op)
        .ok_or_else(|| Error::internal(format!("change_log {}: unknown op {:?}", row.seq, row.op)))?;
    let seq = u64::try_from(row.seq).map_err(|_| Error::internal("negative change_log seq"))?;
    Ok((op, seq))
}

/// The protocol's form of an outbox entry, as it is pushed (and signed).
pub(crate) fn to_change(row: OutboxRow) -> Result<Change> {
    let (op, device_seq) = op_and_seq(&row)?;
    Ok(Change {
        id: row.id,
        device_id: row.device_id,
        device_seq,
        entity: row.entity,
        entity_id: row.entity_id,
        op,
        data: serde_json::from_str(&row.data)?,
        hlc: row.hlc,
        user_id: row.user_id,
        proof: row.proof.as_deref().map(serde_json::from_str).transpose()?,
    })
}

/// Signs the outbox entries after the last proven one as segments of `signer`'s write: by the
/// device key, and by the signer's own key when there is one (`user_key`).
pub(crate) async fn seal(
    conn: &mut SqliteConnection,
    key: &SigningKey,
    signer: Option<&str>,
    user_key: Option<&SigningKey>,
) -> Result<()> {
    let sql = format!(
        "SELECT {OUTBOX_COLUMNS} FROM change_log
         WHERE seq > (SELECT COALESCE(max(seq), 0) FROM change_log WHERE proof IS NOT NULL) ORDER BY seq"
    );
    let rows: Vec<OutboxRow> = sqlx::query_as(&sql).fetch_all(&mut *conn).await?;
    if rows.is_empty() {
        return Ok(());
    }
    let sizes: Vec<usize> = rows.iter().map(|r| r.data.len()).collect();
    let changes = rows.into_iter().map(to_change).collect::<Result<Vec<_>>>()?;
    for segment in cut(&changes, &sizes) {
        let proof = match (signer, user_key) {
            (Some(user), Some(user_key)) => sign_segment_as_user(key, user, user_key, segment),
            _ => sign_segment(key, signer, segment),
        }
        .map_err(|e| Error::internal(format!("sealing: {e}")))?;
        let Some(last) = segment.last() else { continue };
        sqlx::query("UPDATE change_log SET proof = ? WHERE seq = ?")
            .bind(serde_json::to_string(&proof)?)
            .bind(i64::try_from(last.device_seq).map_err(|_| Error::internal("change_log seq out of range"))?)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Cuts a write's entries into segments: runs of consecutive sequences of one device (the
/// entries of one write always are; older unsealed ones may not be), each cut by
/// [`segment_ranges`] (at most 500 entries and 4 MiB of data; `sizes` are the entries' data
/// sizes) so that every segment fits a push.
fn cut<'a>(changes: &'a [Change], sizes: &[usize]) -> Vec<&'a [Change]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=changes.len() {
        let ends = i == changes.len()
            || changes[i].device_id != changes[i - 1].device_id
            || changes[i].device_seq != changes[i - 1].device_seq + 1;
        if ends {
            let run = &changes[start..i];
            out.extend(segment_ranges(&sizes[start..i]).into_iter().map(|r| &run[r]));
            start = i;
        }
    }
    out
}
