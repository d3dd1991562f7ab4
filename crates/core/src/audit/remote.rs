//! Other devices' audit entries, pulled through sync and kept as their devices wrote them
//! (`audit_remote`: append-only, each device's chain with its own seq, prev_hash and hash),
//! so the administrator sees the whole clinic's audit on every device and each device's
//! chain can still be verified.

use super::chain::{hash, Hashed, GENESIS, RESTORE_ACTION};
use crate::error::Result;
use serde_json::Value;
use sqlx::{Row, SqliteConnection, SqlitePool};

/// Stores one pulled entry of `device`. Answers `Err(reason)` for an entry that cannot be an
/// audit entry of that device (it is then kept as a refused change, not stored); an entry
/// already here is left as it is (entries are never updated).
pub(crate) async fn store(
    conn: &mut SqliteConnection,
    device: &str,
    data: &Value,
) -> Result<std::result::Result<(), String>> {
    let text = |k: &str| data.get(k).and_then(Value::as_str).map(str::to_string);
    let (Some(seq), Some(id), Some(at), Some(action), Some(entity), Some(detail), Some(prev_hash), Some(h)) = (
        data.get("seq").and_then(Value::as_i64),
        text("id"),
        text("at"),
        text("action"),
        text("entity"),
        text("detail"),
        text("prev_hash"),
        text("hash"),
    ) else {
        return Ok(Err("not an audit entry (fields missing)".into()));
    };
    if text("device_id").as_deref() != Some(device) {
        return Ok(Err("an audit entry of another device than the one that sent it".into()));
    }
    sqlx::query(
        "INSERT OR IGNORE INTO audit_remote (device_id, seq, id, at, user_id, action, entity, entity_id, detail, prev_hash, hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(device)
    .bind(seq)
    .bind(id)
    .bind(at)
    .bind(text("user_id"))
    .bind(action)
    .bind(entity)
    .bind(text("entity_id"))
    .bind(detail)
    .bind(prev_hash)
    .bind(h)
    .execute(&mut *conn)
    .await?;
    Ok(Ok(()))
}

/// The hash of the entry a restore's entry goes on from: the backup's last entry, which its
/// detail names (`audit_head`: {seq, hash}; none: the backup had no entry yet), as stored here.
async fn fork_hash(pool: &SqlitePool, device: &str, detail: &str) -> Result<Option<String>> {
    let head = serde_json::from_str::<Value>(detail).ok().and_then(|d| d.get("audit_head").cloned());
    let Some(seq) = head.as_ref().map(|h| h.get("seq").and_then(Value::as_i64)) else {
        return Ok(None);
    };
    let Some(seq) = seq else {
        return Ok(Some(GENESIS.to_string()));
    };
    Ok(sqlx::query_scalar("SELECT hash FROM audit_remote WHERE device_id = ? AND seq = ?")
        .bind(device)
        .bind(seq)
        .fetch_optional(pool)
        .await?)
}

/// A break in another device's chain: (device, seq, what).
pub(crate) type Break = (String, i64, String);

/// Verifies every other device's chain as far as it has arrived: contiguous from 1, each
/// entry following the one before and hashing to its stored hash. (The end of a chain is not
/// checked: later entries may simply not have been pulled yet.) Answers the entries checked
/// and the first break.
pub(crate) async fn verify(pool: &SqlitePool) -> Result<(u32, Option<Break>)> {
    let devices: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT device_id FROM audit_remote ORDER BY device_id").fetch_all(pool).await?;
    let mut checked: u32 = 0;
    for device in devices {
        let mut expected_prev = GENESIS.to_string();
        let mut expected_seq: i64 = 1;
        let mut after: i64 = 0;
        loop {
            let page = sqlx::query(
                "SELECT seq, id, at, user_id, device_id, action, entity, entity_id, detail, prev_hash, hash
                 FROM audit_remote WHERE device_id = ? AND seq > ? ORDER BY seq LIMIT 2000",
            )
            .bind(&device)
            .bind(after)
            .fetch_all(pool)
            .await?;
            if page.is_empty() {
                break;
            }
            for row in page {
                let seq: i64 = row.get("seq");
                let prev_hash: String = row.get("prev_hash");
                let stored: String = row.get("hash");
                // A restore's entry: the device's chain goes on from the backup's last entry
                // (named in its detail) under a new number; the entries it had made after
                // the backup stay here, a branch that ends.
                let restart = seq > expected_seq
                    && row.get::<String, _>("action") == RESTORE_ACTION
                    && (prev_hash == expected_prev
                        || fork_hash(pool, &device, row.get("detail")).await?.as_deref() == Some(prev_hash.as_str()));
                let problem = if seq != expected_seq && !restart {
                    Some(format!("entry {expected_seq} of device {device} is missing (next is {seq})"))
                } else if prev_hash != expected_prev && !restart {
                    Some(format!("entry {seq} of device {device} does not follow entry {}", seq - 1))
                } else {
                    let computed = hash(&Hashed {
                        seq,
                        id: row.get("id"),
                        at: row.get("at"),
                        user_id: row.get("user_id"),
                        device_id: row.get("device_id"),
                        action: row.get("action"),
                        entity: row.get("entity"),
                        entity_id: row.get("entity_id"),
                        detail: row.get("detail"),
                        prev_hash: &prev_hash,
                    });
                    (computed != stored)
                        .then(|| format!("entry {seq} of device {device} was altered after it was written"))
                };
                if let Some(problem) = problem {
                    return Ok((checked, Some((device, seq.min(expected_seq), problem))));
                }
                expected_prev = stored;
                expected_seq = seq + 1;
                checked += 1;
                after = seq;
            }
        }
    }
    Ok((checked, None))
}
