//! Clinic-wide settings (synced): the idle time after which a session locks, the clinic's
//! name as printed on ID cards and documents, its time zone, and its locale and hour cycle
//! ([`formats`]). The stored values themselves (keys,
//! defaults, reading and writing them, with no permission check) are in [`values`], which the
//! session and the clinic's facts read without these commands.

pub mod formats;
pub(crate) mod synced;
pub mod values;

pub use formats::{formats, set_formats, ClinicFormats, Formats, HourCycle, DEFAULT_LOCALE};

pub(crate) use values::{get_value, put};
pub use values::{
    idle_timeout_minutes, CLINIC_NAME_KEY, DEFAULT_CLINIC_NAME, DEFAULT_IDLE_MINUTES, IDLE_KEY, MAX_IDLE_MINUTES,
    TIME_ZONE_KEY,
};

use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The most characters of the clinic's name.
pub const CLINIC_NAME_MAX: usize = 80;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct Settings {
    pub idle_timeout_minutes: u32,
    /// Printed on ID cards and documents.
    pub clinic_name: String,
}

/// The clinic's time zone and the IANA zones it may be set to (Settings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ClinicTimeZone {
    /// The zone schedules, "today" and printed times follow (UTC until set).
    pub name: String,
    /// Every zone [`set_time_zone`] takes, by name ("Africa/Dar_es_Salaam", "Asia/Kolkata", ...).
    pub choices: Vec<String>,
}

/// The clinic's time zone, with the choices (administrator).
pub async fn time_zone(store: &Store, auth: &Authorized) -> Result<ClinicTimeZone> {
    auth.require(Permission::SettingsManage)?;
    let name = crate::clinic::time_zone(store).await?.name().to_string();
    Ok(ClinicTimeZone { name, choices: time_zone_choices() })
}

/// The zones a clinic may be set to, by name, sorted: offered in Settings and at set-up
/// (before anyone has signed in: nothing in it is the clinic's).
pub fn time_zone_choices() -> Vec<String> {
    // Area/City zones only: the legacy aliases ("US/Eastern", "Etc/GMT+5") are left out.
    let areas =
        ["Africa/", "America/", "Antarctica/", "Asia/", "Atlantic/", "Australia/", "Europe/", "Indian/", "Pacific/"];
    let mut choices: Vec<String> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|z| z.name().to_string())
        .filter(|n| areas.iter().any(|a| n.starts_with(a)) || n == "UTC")
        .collect();
    choices.sort();
    choices
}

/// The zone a time-zone setting names (an IANA name such as Asia/Kolkata, spaces around it
/// ignored); it is kept as the zone's own name.
pub(crate) fn time_zone_named(name: &str) -> Result<chrono_tz::Tz> {
    crate::clinic::parse_tz(name.trim()).ok_or_else(|| {
        Error::validation("time_zone", ValidationReason::Invalid, "an IANA time zone such as Asia/Kolkata")
    })
}

/// Sets the clinic's time zone (administrator).
pub async fn set_time_zone(store: &Store, auth: &Authorized, name: &str) -> Result<String> {
    auth.require(Permission::SettingsManage)?;
    let tz = time_zone_named(name)?;
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

/// The idle time before a session locks: 1 to [`MAX_IDLE_MINUTES`] minutes.
pub(crate) fn check_idle_minutes(minutes: u64) -> Result<()> {
    if !(1..=u64::from(MAX_IDLE_MINUTES)).contains(&minutes) {
        return Err(Error::validation(
            "idle_timeout_minutes",
            ValidationReason::OutOfRange,
            format!("between 1 and {MAX_IDLE_MINUTES} minutes"),
        ));
    }
    Ok(())
}

/// The clinic's name as it is kept: its words joined by single spaces, 1 to
/// [`CLINIC_NAME_MAX`] characters.
pub(crate) fn clinic_name(raw: &str) -> Result<String> {
    let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        return Err(Error::validation("clinic_name", ValidationReason::Required, "the clinic's name is required"));
    }
    if name.chars().count() > CLINIC_NAME_MAX {
        return Err(Error::validation(
            "clinic_name",
            ValidationReason::TooLong,
            format!("at most {CLINIC_NAME_MAX} characters"),
        ));
    }
    Ok(name)
}

pub async fn update(store: &Store, auth: &Authorized, s: Settings) -> Result<Settings> {
    auth.require(Permission::SettingsManage)?;
    check_idle_minutes(u64::from(s.idle_timeout_minutes))?;
    let name = clinic_name(&s.clinic_name)?;
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
