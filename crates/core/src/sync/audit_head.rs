//! The audit chain against the server's copy. A device pushes its audit entries like any
//! change, so the server holds its chain up to the last push. Someone with the device's files
//! can cut the end of `audit_log` together with `meta`'s head, or rewrite entries and recompute
//! every hash after them: the local chain then checks out, but no longer holds the server's
//! newest entry with the same hash.

use super::{client, SyncError};
use crate::audit::{self, AuditVerification, ServerCopy};
use crate::error::{Error, Result};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use hms_protocol::AuditHeadResponse;

/// Verifies the local chain (as `audit::verify`), then compares it with the server's copy when
/// this device is connected. Audited like `audit::verify`.
pub async fn verify_audit(store: &Store, auth: &Authorized) -> Result<AuditVerification> {
    auth.require(Permission::AuditVerify)?;
    let local = audit::verify_unaudited(store).await?;
    let result = against_server(store, local).await?;
    audit::record_verification(store, auth, &result).await?;
    Ok(result)
}

/// Compares an intact local verification with the server's copy of this device's chain (the
/// admin CLI's `verify-audit`, and [`verify_audit`]). A broken local chain is returned as it is.
pub async fn against_server(store: &Store, local: AuditVerification) -> Result<AuditVerification> {
    if !local.intact {
        return Ok(local);
    }
    let head = match server_head(store).await {
        Ok(head) => head,
        Err(SyncError::NotEnrolled | SyncError::DemoData) => return Ok(local),
        Err(SyncError::App(e)) => return Err(e),
        Err(_) => return Ok(AuditVerification { server: ServerCopy::Unreachable, ..local }),
    };
    let Some(head) = head else {
        return Ok(AuditVerification { server: ServerCopy::NothingYet, ..local });
    };
    let seq = i64::try_from(head.seq).unwrap_or(i64::MAX);
    let here: Option<String> = sqlx::query_scalar("SELECT hash FROM audit_log WHERE seq = ?")
        .bind(seq)
        .fetch_optional(store.pool())
        .await
        .map_err(Error::from)?;
    let problem = match here {
        Some(hash) if hash == head.hash => {
            let seq = u32::try_from(head.seq).unwrap_or(u32::MAX);
            return Ok(AuditVerification { server: ServerCopy::Matches { seq }, ..local });
        }
        Some(_) => format!("entry {seq} differs from the copy the sync server holds (the log was rewritten)"),
        None => {
            format!("the sync server holds entry {seq} of this device's log, which is missing here (entries removed)")
        }
    };
    let mut broken = AuditVerification::broken(local.checked, seq, problem);
    broken.server = ServerCopy::Differs { seq: u32::try_from(head.seq).unwrap_or(u32::MAX) };
    Ok(broken)
}

async fn server_head(store: &Store) -> super::SyncResult<Option<hms_protocol::AuditHead>> {
    let http = client(store).await?;
    let answer: AuditHeadResponse = http.get(&format!("{}/audit-head", hms_protocol::API_PREFIX)).await?;
    Ok(answer.head)
}
