//! Clinic-wide settings (synced): the idle time after which a session locks, and the
//! clinic's name as printed on ID cards and documents.

use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{ChangeOp, Store, WriteTx};
use serde::{Deserialize, Serialize};
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct Settings {
    pub idle_timeout_minutes: u32,
    /// Printed on ID cards and documents.
    pub clinic_name: String,
}

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

/// Sets the clinic's time zone (administrator).
pub async fn set_time_zone(store: &Store, auth: &Authorized, name: &str) -> Result<String> {
    auth.require(Permission::SettingsManage)?;
    let tz = crate::clinic::parse_tz(name.trim()).ok_or_else(|| {
        Error::validation("time_zone", ValidationReason::Invalid, "an IANA time zone such as Asia/Kolkata")
    })?;
    let before = crate::clinic::time_zone(store).await?;
    let mut w = store.begin_write(auth.actor()).await?;
    put(&mut w, TIME_ZONE_KEY, &json!(tz.name())).await?;
    w.audit("settings.update", "settings", Some(TIME_ZONE_KEY), json!({ "before": before.name(), "after": tz.name() }))
        .await?;
    w.commit().await?;
    Ok(tz.name().to_string())
}

pub async fn get(store: &Store, auth: &Authorized) -> Result<Settings> {
    auth.require(Permission::SettingsManage)?;
    Ok(Settings {
        idle_timeout_minutes: idle_timeout_minutes(store).await?,
        clinic_name: crate::clinic::name(store).await?,
    })
}

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
    let op = if existed { ChangeOp::Update } else { ChangeOp::Insert };
    let data = json!({ "key": key, "value": text, "updated_at": stamp, "updated_by": by });
    w.record_change("settings", key, op, &data).await
}

pub async fn update(store: &Store, auth: &Authorized, s: Settings) -> Result<Settings> {
    auth.require(Permission::SettingsManage)?;
    if !(1..=MAX_IDLE_MINUTES).contains(&s.idle_timeout_minutes) {
        return Err(Error::validation(
            "idle_timeout_minutes",
            ValidationReason::OutOfRange,
            format!("between 1 and {MAX_IDLE_MINUTES} minutes"),
        ));
    }
    let name = s.clinic_name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        return Err(Error::validation("clinic_name", ValidationReason::Required, "the clinic's name is required"));
    }
    if name.chars().count() > 80 {
        return Err(Error::validation("clinic_name", ValidationReason::TooLong, "at most 80 characters"));
    }
    let before = get(store, auth).await?;
    let mut w = store.begin_write(auth.actor()).await?;
    put(&mut w, IDLE_KEY, &json!(s.idle_timeout_minutes)).await?;
    put(&mut w, CLINIC_NAME_KEY, &json!(name)).await?;
    w.audit(
        "settings.update",
        "settings",
        None,
        json!({ "before": before, "after": { "idle_timeout_minutes": s.idle_timeout_minutes, "clinic_name": name } }),
    )
    .await?;
    w.commit().await?;
    get(store, auth).await
}
