//! The append-only, hash-chained audit log: writing (inside a [`crate::store::WriteTx`]),
//! verifying, and reading it with filters.

pub(crate) mod chain;
mod query;
pub(crate) mod remote;
mod verify;

pub use chain::{append, NewEntry, GENESIS};
pub use query::{AuditEntry, AuditFilter, AuditPage};
pub use verify::{AuditVerification, ServerCopy};

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
    record_verification(store, auth, &result).await?;
    Ok(result)
}

/// Audits a verification: who checked, and what they saw.
pub(crate) async fn record_verification(store: &Store, auth: &Authorized, result: &AuditVerification) -> Result<()> {
    let mut w = store.begin_write(auth.actor()).await?;
    w.audit(
        "audit.verify",
        "audit_log",
        None,
        serde_json::json!({
            "intact": result.intact, "checked": result.checked, "first_bad_seq": result.first_bad_seq,
            "server": result.server,
        }),
    )
    .await?;
    w.commit().await
}

/// Verifies the chain of any database (a backup's copy, opened read-only).
pub(crate) async fn verify_database(pool: &sqlx::SqlitePool) -> Result<AuditVerification> {
    verify::verify(pool).await
}

/// Verification without a session, for the admin CLI on the machine itself.
pub async fn verify_unaudited(store: &Store) -> Result<AuditVerification> {
    verify::verify(store.pool()).await
}

/// The audit action that marks a database loaded with the demo hospital (`setup::load_demo`).
pub const DEMO_LOADED: &str = "setup.demo_loaded";

/// Whether this database holds the demo hospital: its own audit chain says it was loaded
/// (the chain is this device's, never another's, so a pulled entry cannot set it).
pub async fn holds_demo(store: &Store) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM audit_log WHERE action = ? LIMIT 1")
        .bind(DEMO_LOADED)
        .fetch_optional(store.pool())
        .await?;
    Ok(found.is_some())
}
