//! The append-only, hash-chained audit log: writing (inside a [`crate::store::WriteTx`]),
//! verifying, and reading it with filters.

pub(crate) mod chain;
mod query;
pub(crate) mod remote;
mod verify;

pub use chain::{append, NewEntry, GENESIS};
pub use query::{AuditEntry, AuditFilter, AuditPage};
pub use verify::AuditVerification;

use crate::error::Result;
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;

/// One page of the audit log, newest first.
pub async fn list(store: &Store, auth: &Authorized, filter: &AuditFilter) -> Result<AuditPage> {
    auth.require(Permission::AuditView)?;
    query::list(store.pool(), filter).await
}

/// The distinct action names, for the filter list.
pub async fn actions(store: &Store, auth: &Authorized) -> Result<Vec<String>> {
    auth.require(Permission::AuditView)?;
    Ok(sqlx::query_scalar("SELECT action FROM audit_log UNION SELECT action FROM audit_remote ORDER BY action")
        .fetch_all(store.pool())
        .await?)
}

/// Checks the whole chain. Verifying is itself audited (who checked, and what they saw).
pub async fn verify(store: &Store, auth: &Authorized) -> Result<AuditVerification> {
    auth.require(Permission::AuditVerify)?;
    let result = verify::verify(store.pool()).await?;
    let mut w = store.begin_write(auth.actor()).await?;
    w.audit(
        "audit.verify",
        "audit_log",
        None,
        serde_json::json!({ "intact": result.intact, "checked": result.checked, "first_bad_seq": result.first_bad_seq }),
    )
    .await?;
    w.commit().await?;
    Ok(result)
}

/// Verification without a session, for the admin CLI on the machine itself.
pub async fn verify_unaudited(store: &Store) -> Result<AuditVerification> {
    verify::verify(store.pool()).await
}
