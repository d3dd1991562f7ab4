//! Changes the server refuses for good: set aside, so that an honest device never gets stuck.
//!
//! The server refuses a whole push when one of its changes fails the policy
//! (`forbidden_change`: a user demoted on another device while this one was offline), the
//! size limit (`change_too_large`) or the user signatures (`bad_user_proof`: signed with a key
//! the account no longer has, its password reset elsewhere meanwhile), and lists those
//! changes. Sending them again would fail
//! again, and every later change would wait behind them. A signed segment cannot be split
//! (its proof covers all of it), so each refused change's segment is set aside whole
//! (`change_log.set_aside_*`), the push goes on with the rest, and the pull follows.
//!
//! The rows stay as they are on this device (it keeps what its user wrote). Each refused
//! change becomes a `refused` conflict carrying the server's code and reason, for the
//! administrator to see on the Sync screen, and the setting aside is audited
//! (`sync.set_aside`).

use super::conflict_log::{self, NewConflict};
use super::{SyncError, SyncResult};
use crate::error::Error;
use crate::store::{Actor, Store};
use hms_protocol::ErrorBody;
use serde_json::{json, Value};

/// Sets aside the segments of the changes `refusal` lists, all of which must be unsent
/// entries of the batch `first..=last` just sent. Answers how many entries were set aside.
pub(super) async fn set_aside(store: &Store, refusal: &ErrorBody, first: i64, last: i64) -> SyncResult<u64> {
    let code = refusal.code.as_str();
    let mut w = store.begin_write(Actor::system()).await?;
    let now = w.now_rfc3339();
    let mut total = 0u64;
    let mut named = Vec::new();
    for refused in &refusal.refused {
        let seq = i64::try_from(refused.device_seq).unwrap_or(i64::MAX);
        let row: Option<(String, String, String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, entity, entity_id, data, hlc, set_aside_at FROM change_log WHERE seq = ? AND pushed_at IS NULL",
        )
        .bind(seq)
        .fetch_optional(w.conn())
        .await
        .map_err(Error::from)?;
        // Only what was just sent, as sent: anything else means the answer is not about
        // this batch, and setting aside on its word could drop honest work.
        let Some((id, entity, entity_id, data, hlc, before)) =
            row.filter(|r| r.0 == refused.id && (first..=last).contains(&seq))
        else {
            return Err(SyncError::Protocol(format!(
                "the server refused change {} (device seq {}), which this push did not send",
                refused.id, refused.device_seq
            )));
        };
        let why = format!("{}: {}", refused.reason, refused.message);
        // The segment: from after the previous proof to the proof at or after this entry.
        let (start, end): (i64, Option<i64>) = sqlx::query_as(
            "SELECT (SELECT COALESCE(max(seq), 0) + 1 FROM change_log WHERE proof IS NOT NULL AND seq < ?1),
                    (SELECT min(seq) FROM change_log WHERE proof IS NOT NULL AND seq >= ?1)",
        )
        .bind(seq)
        .fetch_one(w.conn())
        .await
        .map_err(Error::from)?;
        let end = end.ok_or_else(|| Error::internal("a sent outbox entry without a proof after it"))?;
        // Not yet set aside: its segment goes aside with it. (Otherwise another change of
        // the same refusal took this segment aside already: this one gets its own reason.)
        let marked = if before.is_none() {
            sqlx::query(
                "UPDATE change_log SET set_aside_at = ?, set_aside_code = ?, set_aside_reason = ?
                 WHERE seq BETWEEN ? AND ? AND pushed_at IS NULL AND set_aside_at IS NULL",
            )
            .bind(&now)
            .bind(code)
            .bind(format!("with change {id} of the same write"))
            .bind(start)
            .bind(end)
            .execute(w.conn())
            .await
            .map_err(Error::from)?
            .rows_affected()
        } else {
            0
        };
        sqlx::query("UPDATE change_log SET set_aside_reason = ? WHERE seq = ?")
            .bind(&why)
            .bind(seq)
            .execute(w.conn())
            .await
            .map_err(Error::from)?;
        total += marked;
        let remote: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
        let local = json!({
            "refused": format!("refused by the server ({code}), not sent: {why}"),
            "code": code,
            "reason": refused.reason,
            "set_aside": true,
        });
        conflict_log::record(
            &mut w,
            NewConflict {
                kind: "refused",
                entity: &entity,
                entity_id: &entity_id,
                field: None,
                other_id: None,
                local: &local,
                remote: &remote,
                local_hlc: "",
                remote_hlc: &hlc,
                remote_device: store.device_id(),
            },
        )
        .await?;
        named.push(json!({
            "id": id, "seq": seq, "entity": entity, "entity_id": entity_id, "reason": refused.reason,
            "segment": [start, end],
        }));
    }
    if total == 0 {
        return Err(SyncError::Protocol("the server refused changes that are already set aside".into()));
    }
    w.audit("sync.set_aside", "sync", None, json!({ "code": code, "entries": total, "refused": named })).await?;
    w.commit().await?;
    Ok(total)
}
