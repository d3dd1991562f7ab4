//! The clinic-wide settings as stored (the `settings` table, synced, keyed by name): their
//! keys and defaults, reading them and writing one inside a write. No permission check here:
//! the administrator's commands are in `settings`; the session and the clinic's facts read
//! their values from here, beneath those commands.

use crate::error::Result;
use crate::store::{ChangeOp, Store, WriteTx};
use serde_json::{json, Value};

// Settings sync, keyed by name (`store::tables`).
inventory::submit! {
    crate::store::tables::Table {
        name: "settings",
        id_column: "key",
        synced: true,
        local_columns: &[],
        rules: &crate::store::tables::NO_RULES,
    }
}

pub const IDLE_KEY: &str = "idle_timeout_minutes";
pub const DEFAULT_IDLE_MINUTES: u32 = 15;
pub const MAX_IDLE_MINUTES: u32 = 240;
pub const CLINIC_NAME_KEY: &str = "clinic_name";
pub const DEFAULT_CLINIC_NAME: &str = "HMS Clinic";

pub(crate) async fn get_value(store: &Store, key: &str) -> Result<Option<Value>> {
    let raw: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = ? AND deleted_at IS NULL")
        .bind(key)
        .fetch_optional(store.pool())
        .await?;
    Ok(raw.and_then(|s| serde_json::from_str(&s).ok()))
}

pub async fn idle_timeout_minutes(store: &Store) -> Result<u32> {
    Ok(get_value(store, IDLE_KEY)
        .await?
        .and_then(|v| v.as_u64())
        .and_then(|v| u32::try_from(v).ok())
        .filter(|v| (1..=MAX_IDLE_MINUTES).contains(v))
        .unwrap_or(DEFAULT_IDLE_MINUTES))
}

/// The clinic's time zone, read by `clinic::time_zone`.
pub const TIME_ZONE_KEY: &str = "time_zone";

/// Writes one setting and its change-log entry inside a write.
pub(crate) async fn put(w: &mut WriteTx<'_>, key: &str, value: &Value) -> Result<()> {
    let text = serde_json::to_string(value)?;
    let (now, stamp, device) = (w.now_rfc3339(), w.stamp(), w.device_id().to_string());
    let by = w.actor().user_id.clone();
    let existed: bool =
        sqlx::query_scalar("SELECT COUNT(*) > 0 FROM settings WHERE key = ?").bind(key).fetch_one(w.conn()).await?;
    sqlx::query(
        "INSERT INTO settings (key, value, created_at, updated_at, updated_by, origin_device) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,
           updated_by = excluded.updated_by, deleted_at = NULL",
    )
    .bind(key)
    .bind(&text)
    .bind(&now)
    .bind(&stamp)
    .bind(&by)
    .bind(&device)
    .execute(w.conn())
    .await?;
    let (op, data) = if existed {
        (ChangeOp::Update, json!({ "key": key, "value": text, "updated_at": stamp, "updated_by": by }))
    } else {
        // The row's own `created_at` travels with it: a device that pulls a row without one
        // dates it by the change's stamp, which is not this device's clock (the hybrid clock
        // runs ahead of it after a faster device's change), and the rows would differ.
        let data = json!({ "key": key, "value": text, "created_at": now, "updated_at": stamp, "updated_by": by });
        (ChangeOp::Insert, data)
    };
    w.record_change("settings", key, op, &data).await
}
