//! Per-device facts in the `meta` table.

use crate::error::Result;
use sqlx::{Sqlite, SqlitePool};

pub const DEVICE_KEY: &str = "device_id";
pub const HLC_KEY: &str = "hlc_last";
pub const AUDIT_HEAD_KEY: &str = "audit_head";
/// The device sequence this device's next change takes at least: set by a restore
/// (`backup::restore`), so that changes made after it are never numbered like changes the
/// device made, and may have synced, after the backup was taken.
pub const SEQ_FLOOR_KEY: &str = "change_seq_floor";
/// The highest device sequence the backup a restore put in place held (see `sync::restored`).
pub const RESTORED_SEQ_KEY: &str = "restored_change_seq";

pub async fn get<'e, E>(exec: E, key: &str) -> Result<Option<String>>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = ?").bind(key).fetch_optional(exec).await?)
}

pub async fn set<'e, E>(exec: E, key: &str, value: &str) -> Result<()>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(key)
        .bind(value)
        .execute(exec)
        .await?;
    Ok(())
}

/// This device's id, minted (UUIDv7) on first start and kept forever.
pub async fn device_id(pool: &SqlitePool) -> Result<String> {
    // INSERT OR IGNORE makes two processes opening a new file at once agree on one id.
    sqlx::query("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)")
        .bind(DEVICE_KEY)
        .bind(crate::ids::new_id())
        .execute(pool)
        .await?;
    get(pool, DEVICE_KEY).await?.ok_or_else(|| crate::Error::internal("device id missing after insert"))
}

/// The last audit entry written, as (seq, hash); `None` before the first entry.
pub async fn audit_head(pool: &SqlitePool) -> Result<Option<(i64, String)>> {
    let Some(v) = get(pool, AUDIT_HEAD_KEY).await? else {
        return Ok(None);
    };
    let parsed = v.split_once(':').and_then(|(seq, hash)| Some((seq.parse().ok()?, hash.to_string())));
    // A head that does not parse was tampered with: report it as a head that matches nothing.
    Ok(Some(parsed.unwrap_or((-1, String::new()))))
}
