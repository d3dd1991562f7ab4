//! Walks the whole chain and reports the first place where it breaks.

use super::chain::{hash, Hashed, GENESIS, RESTORE_ACTION};
use crate::error::Result;
use crate::store::meta;
use serde::Serialize;
use sqlx::{Row, SqlitePool};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct AuditVerification {
    pub intact: bool,
    pub checked: u32,
    pub first_bad_seq: Option<u32>,
    pub problem: Option<String>,
    /// How this device's chain compares with the copy the sync server holds.
    pub server: ServerCopy,
}

/// The sync server's copy of this device's audit chain (its newest entry there), compared
/// with the local chain (`sync::verify_audit`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ServerCopy {
    /// Not compared: a local check only, or this device is not connected to a server.
    NotCompared,
    /// The server could not be asked (offline, or it refused).
    Unreachable,
    /// The server holds none of this device's entries yet.
    NothingYet,
    /// The local chain holds the server's newest entry, with the same hash.
    Matches { seq: u32 },
    /// The server's newest entry is missing here, or differs: the local chain was cut or rewritten.
    Differs { seq: u32 },
}

impl AuditVerification {
    pub(crate) fn broken(checked: u32, seq: i64, problem: String) -> Self {
        AuditVerification {
            intact: false,
            checked,
            first_bad_seq: Some(u32::try_from(seq).unwrap_or(u32::MAX)),
            problem: Some(problem),
            server: ServerCopy::NotCompared,
        }
    }
}

pub async fn verify(pool: &SqlitePool) -> Result<AuditVerification> {
    let mut expected_prev = GENESIS.to_string();
    let mut expected_seq: i64 = 1;
    let mut checked: u32 = 0;
    let mut after: i64 = i64::MIN;
    loop {
        // Read in pages so that a log of millions of entries never sits in memory at once.
        let page = sqlx::query(
            "SELECT seq, id, at, user_id, device_id, action, entity, entity_id, detail, prev_hash, hash
         FROM audit_log WHERE seq > ? ORDER BY seq LIMIT 2000",
        )
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
            // A restore's entry goes on from the backup's last entry under a new number.
            let restart = seq > expected_seq && row.get::<String, _>("action") == RESTORE_ACTION;
            if seq != expected_seq && !restart {
                return Ok(AuditVerification::broken(
                    checked,
                    expected_seq,
                    format!("entry {expected_seq} is missing (next entry is {seq})"),
                ));
            }
            if prev_hash != expected_prev {
                return Ok(AuditVerification::broken(
                    checked,
                    seq,
                    format!("entry {seq} does not follow entry {} (removed or reordered)", seq - 1),
                ));
            }
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
            if computed != stored {
                return Ok(AuditVerification::broken(
                    checked,
                    seq,
                    format!("entry {seq} was altered after it was written"),
                ));
            }
            expected_prev = stored;
            expected_seq = seq + 1;
            checked += 1;
            after = seq;
        }
    }
    let last_seq = expected_seq - 1;
    if let Some((head_seq, head_hash)) = meta::audit_head(pool).await? {
        if head_seq != last_seq || head_hash != expected_prev {
            return Ok(AuditVerification::broken(
                checked,
                last_seq + 1,
                format!(
                    "the log ends at entry {last_seq} but entry {head_seq} was written (entries removed from the end)"
                ),
            ));
        }
    }
    // Other devices' chains, pulled through sync: each verified on its own.
    let (remote, broken) = super::remote::verify(pool).await?;
    let checked = checked.saturating_add(remote);
    if let Some((_device, seq, problem)) = broken {
        return Ok(AuditVerification::broken(checked, seq, problem));
    }
    Ok(AuditVerification { intact: true, checked, first_bad_seq: None, problem: None, server: ServerCopy::NotCompared })
}
