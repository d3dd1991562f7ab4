//! Recording what a merge could not settle silently (`sync_conflicts`), for the inbox
//! ([`super::conflicts`]) to list and resolve: a field's value that lost, a change that could
//! not be applied, and the hospital rules' conflicts, which the tables' own modules record
//! (one booking per slot in `schedule/`, one MRN per patient in `patients/`). Open records
//! close themselves when a newer value or the rule settles them.

use super::rows::compare;
use crate::error::Result;
use crate::store::WriteTx;
use hms_protocol::Change;
use serde_json::Value;
use sqlx::SqliteConnection;

pub(crate) struct NewConflict<'a> {
    pub kind: &'static str,
    pub entity: &'a str,
    pub entity_id: &'a str,
    pub field: Option<&'a str>,
    pub other_id: Option<&'a str>,
    pub local: &'a Value,
    pub remote: &'a Value,
    pub local_hlc: &'a str,
    pub remote_hlc: &'a str,
    pub remote_device: &'a str,
}

/// Keeps a conflict, unless its device is at the open-conflicts cap (`bounds`: then it is
/// counted, not kept).
pub(crate) async fn record(w: &mut WriteTx<'_>, c: NewConflict<'_>) -> Result<()> {
    if !super::bounds::admit_conflict(w, c.kind, c.remote_device).await? {
        return Ok(());
    }
    let now = w.now_rfc3339();
    record_on(w.conn(), &now, c).await
}

pub(crate) async fn record_on(conn: &mut SqliteConnection, now: &str, c: NewConflict<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO sync_conflicts (id, entity, entity_id, local, remote, local_hlc, remote_hlc, winner, remote_device,
                                     detected_at, kind, field, other_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'local', ?, ?, ?, ?, ?)",
    )
    .bind(crate::ids::new_id())
    .bind(c.entity)
    .bind(c.entity_id)
    .bind(c.local.to_string())
    .bind(c.remote.to_string())
    .bind(c.local_hlc)
    .bind(c.remote_hlc)
    .bind(c.remote_device)
    .bind(now)
    .bind(c.kind)
    .bind(c.field)
    .bind(c.other_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A field's pulled value that lost: kept once (the same change merged again adds nothing).
pub(crate) async fn record_field(
    w: &mut WriteTx<'_>,
    change: &Change,
    field: &str,
    local: &Value,
    remote: &Value,
    local_hlc: &str,
) -> Result<()> {
    let known: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM sync_conflicts WHERE entity = ? AND entity_id = ? AND field = ? AND remote_hlc = ? AND kind = 'field'",
    )
    .bind(&change.entity)
    .bind(&change.entity_id)
    .bind(field)
    .bind(&change.hlc)
    .fetch_optional(w.conn())
    .await?;
    if known.is_some() {
        return Ok(());
    }
    record(
        w,
        NewConflict {
            kind: "field",
            entity: &change.entity,
            entity_id: &change.entity_id,
            field: Some(field),
            other_id: None,
            local,
            remote,
            local_hlc,
            remote_hlc: &change.hlc,
            remote_device: &change.device_id,
        },
    )
    .await
}

/// A newer value of a field closes its open field conflicts: both of their sides are older.
pub(crate) async fn supersede(w: &mut WriteTx<'_>, entity: &str, id: &str, field: &str, hlc: &str) -> Result<()> {
    let open: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT id, local_hlc, remote_hlc FROM sync_conflicts
         WHERE resolved = 0 AND kind = 'field' AND entity = ? AND entity_id = ? AND field = ?",
    )
    .bind(entity)
    .bind(id)
    .bind(field)
    .fetch_all(w.conn())
    .await?;
    let now = w.now_rfc3339();
    for (conflict, local, remote) in open {
        let newer = |s: &str| compare(hlc, s) == std::cmp::Ordering::Greater;
        if newer(&local) && newer(&remote) {
            mark(w.conn(), &conflict, "auto", &now, None).await?;
        }
    }
    Ok(())
}

pub(crate) async fn open_exists(conn: &mut SqliteConnection, kind: &str, entity_id: &str) -> Result<bool> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM sync_conflicts WHERE resolved = 0 AND kind = ? AND entity_id = ?")
            .bind(kind)
            .bind(entity_id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(found.is_some())
}

/// Closes the open rule conflicts of a record that the rule no longer bites.
pub(crate) async fn auto_resolve(conn: &mut SqliteConnection, now: &str, kind: &str, entity_id: &str) -> Result<()> {
    sqlx::query(
        "UPDATE sync_conflicts SET resolved = 1, resolution = 'auto', resolved_at = ?
         WHERE resolved = 0 AND kind = ? AND entity_id = ?",
    )
    .bind(now)
    .bind(kind)
    .bind(entity_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) async fn mark(
    conn: &mut SqliteConnection,
    id: &str,
    resolution: &str,
    now: &str,
    by: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE sync_conflicts SET resolved = 1, resolution = ?, resolved_at = ?, resolved_by = ? WHERE id = ?",
    )
    .bind(resolution)
    .bind(now)
    .bind(by)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
