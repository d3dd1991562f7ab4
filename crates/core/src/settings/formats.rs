//! How the clinic writes dates, times, numbers and money: its **locale** (a BCP 47 tag from a
//! short list: the order of day and month, the names of months, the grouping of digits) and its
//! **hour cycle** (24-hour unless the clinic chooses 12-hour), next to its time zone. Stored
//! as settings (synced like the others); an administrator changes them (audited); anyone
//! signed in reads them (the UI formats with them from sign-in on), and before sign-in the
//! defaults apply: en-IN, 24-hour. Printouts use them too ([`Formats`]).

use super::values::{get_value, put};
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::{Authorized, SessionSlot};
use crate::store::Store;
use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Setting: the clinic's locale (a tag from [`LOCALES`]).
pub const LOCALE_KEY: &str = "locale";
/// Setting: the clinic's hour cycle ("h24" or "h12").
pub const HOUR_CYCLE_KEY: &str = "hour_cycle";
/// The locale until the clinic chooses one.
pub const DEFAULT_LOCALE: &str = "en-IN";

/// The locales a clinic may choose, and whether each writes the day before the month.
const KNOWN: &[(&str, bool)] = &[("en-IN", true), ("en-GB", true), ("en-US", false), ("hi-IN", true)];

/// The locales a clinic may choose (BCP 47 tags), in the order Settings offers them.
pub fn locales() -> Vec<String> {
    KNOWN.iter().map(|(tag, _)| (*tag).to_string()).collect()
}

/// The tag as the list spells it ("en-in", " en-IN " → "en-IN"); None if not on the list.
pub(crate) fn known_locale(tag: &str) -> Option<&'static str> {
    let tag = tag.trim();
    KNOWN.iter().map(|(known, _)| *known).find(|known| known.eq_ignore_ascii_case(tag))
}

fn day_first(locale: &str) -> bool {
    !KNOWN.iter().any(|(tag, day_first)| *tag == locale && !day_first)
}

/// 24-hour ("14:05") or 12-hour ("2:05 pm") times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum HourCycle {
    #[default]
    H24,
    H12,
}

impl HourCycle {
    pub fn code(self) -> &'static str {
        match self {
            HourCycle::H24 => "h24",
            HourCycle::H12 => "h12",
        }
    }

    pub(crate) fn from_code(code: &str) -> Option<HourCycle> {
        match code {
            "h24" => Some(HourCycle::H24),
            "h12" => Some(HourCycle::H12),
            _ => None,
        }
    }
}

/// The clinic's locale, hour cycle and time zone, as the UI formats with them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ClinicFormats {
    /// A BCP 47 tag from `locales` ("en-IN").
    pub locale: String,
    pub hour_cycle: HourCycle,
    /// The clinic's IANA zone; None before sign-in (this computer's zone applies then).
    pub time_zone: Option<String>,
    /// The locales an administrator may choose.
    pub locales: Vec<String>,
}

impl ClinicFormats {
    /// Before sign-in, and for a clinic that has not chosen: en-IN, 24-hour.
    pub fn defaults() -> ClinicFormats {
        ClinicFormats {
            locale: DEFAULT_LOCALE.to_string(),
            hour_cycle: HourCycle::H24,
            time_zone: None,
            locales: locales(),
        }
    }
}

/// The stored locale (the default if unset or no longer on the list) and hour cycle.
pub async fn stored(store: &Store) -> Result<(String, HourCycle)> {
    let locale = get_value(store, LOCALE_KEY)
        .await?
        .and_then(|v| v.as_str().and_then(known_locale))
        .unwrap_or(DEFAULT_LOCALE)
        .to_string();
    let hour_cycle = get_value(store, HOUR_CYCLE_KEY)
        .await?
        .and_then(|v| v.as_str().and_then(HourCycle::from_code))
        .unwrap_or_default();
    Ok((locale, hour_cycle))
}

async fn current(store: &Store) -> Result<ClinicFormats> {
    let (locale, hour_cycle) = stored(store).await?;
    let time_zone = Some(crate::clinic::time_zone(store).await?.name().to_string());
    Ok(ClinicFormats { locale, hour_cycle, time_zone, locales: locales() })
}

/// The clinic's formats for whoever is signed in (any role, locked or not: the screens they
/// return to keep them); before sign-in, [`ClinicFormats::defaults`].
pub async fn formats(store: &Store, slot: &SessionSlot) -> Result<ClinicFormats> {
    if slot.get().is_none() {
        return Ok(ClinicFormats::defaults());
    }
    current(store).await
}

/// Sets the clinic's locale and hour cycle (administrator; audited). A locale not on the list
/// is refused (`validation` on `locale`) with nothing written.
pub async fn set_formats(
    store: &Store,
    auth: &Authorized,
    locale: &str,
    hour_cycle: HourCycle,
) -> Result<ClinicFormats> {
    auth.require(Permission::SettingsManage)?;
    let locale = known_locale(locale).ok_or_else(|| {
        Error::validation("locale", ValidationReason::Invalid, format!("one of {}", locales().join(", ")))
    })?;
    let (before_locale, before_cycle) = stored(store).await?;
    let mut w = store.begin_write(auth.actor()).await?;
    put(&mut w, LOCALE_KEY, &json!(locale)).await?;
    put(&mut w, HOUR_CYCLE_KEY, &json!(hour_cycle.code())).await?;
    w.audit(
        "settings.update",
        "settings",
        Some(LOCALE_KEY),
        json!({
            "before": { "locale": before_locale, "hour_cycle": before_cycle.code() },
            "after": { "locale": locale, "hour_cycle": hour_cycle.code() },
        }),
    )
    .await?;
    w.commit().await?;
    current(store).await
}

/// Dates and times as printouts write them: numeric dates in the locale's order (dd/mm/yyyy,
/// or mm/dd/yyyy for en-US), times by the hour cycle, instants in the clinic's time zone.
#[derive(Debug, Clone)]
pub struct Formats {
    pub tz: Tz,
    day_first: bool,
    hour_cycle: HourCycle,
}

impl Formats {
    pub fn new(tz: Tz, locale: &str, hour_cycle: HourCycle) -> Formats {
        Formats { tz, day_first: day_first(locale), hour_cycle }
    }

    /// The clinic's formats and zone, as stored.
    pub async fn load(store: &Store) -> Result<Formats> {
        let (locale, hour_cycle) = stored(store).await?;
        Ok(Formats::new(crate::clinic::time_zone(store).await?, &locale, hour_cycle))
    }

    fn date_pattern(&self) -> &'static str {
        if self.day_first {
            "%d/%m/%Y"
        } else {
            "%m/%d/%Y"
        }
    }

    fn time_pattern(&self) -> &'static str {
        match self.hour_cycle {
            HourCycle::H24 => "%H:%M",
            HourCycle::H12 => "%-I:%M %p",
        }
    }

    /// A calendar day ("05/03/2026").
    pub fn day(&self, day: NaiveDate) -> String {
        day.format(self.date_pattern()).to_string()
    }

    /// A stored day (YYYY-MM-DD) as printed; other text as it is.
    pub fn ymd(&self, ymd: &str) -> String {
        NaiveDate::parse_from_str(ymd, "%Y-%m-%d").map(|d| self.day(d)).unwrap_or_else(|_| ymd.to_string())
    }

    /// An RFC 3339 instant as the clinic's local date; '' if it is not one.
    pub fn date(&self, rfc3339: &str) -> String {
        DateTime::parse_from_rfc3339(rfc3339)
            .map(|d| self.day(d.with_timezone(&self.tz).date_naive()))
            .unwrap_or_default()
    }

    /// An RFC 3339 instant as the clinic's local date and time ("05/03/2026 14:05").
    pub fn date_time(&self, rfc3339: &str) -> String {
        DateTime::parse_from_rfc3339(rfc3339)
            .map(|d| {
                let local = d.with_timezone(&self.tz);
                format!("{} {}", self.day(local.date_naive()), local.format(self.time_pattern()))
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printouts_write_dates_in_the_locale_order_and_times_by_the_hour_cycle_in_the_clinic_zone() {
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        let india = Formats::new(kolkata, "en-IN", HourCycle::H24);
        // 20:00 UTC on 4 March is 01:30 on 5 March in Kolkata.
        assert_eq!(india.date("2026-03-04T20:00:00Z"), "05/03/2026");
        assert_eq!(india.date_time("2026-03-04T20:00:00Z"), "05/03/2026 01:30");
        assert_eq!(india.ymd("2026-03-05"), "05/03/2026");
        assert_eq!(india.ymd("unknown"), "unknown");
        assert_eq!(india.date("not a date"), "");
        let twelve = Formats::new(kolkata, "en-IN", HourCycle::H12);
        assert_eq!(twelve.date_time("2026-03-05T08:35:00Z"), "05/03/2026 2:05 PM");
        let us = Formats::new(chrono_tz::America::New_York, "en-US", HourCycle::H12);
        assert_eq!(us.date_time("2026-03-05T20:00:00Z"), "03/05/2026 3:00 PM");
    }

    #[test]
    fn a_locale_is_taken_as_the_list_spells_it() {
        assert_eq!(known_locale(" en-in "), Some("en-IN"));
        assert_eq!(known_locale("hi-IN"), Some("hi-IN"));
        assert_eq!(known_locale("fr-FR"), None);
        assert_eq!(known_locale("C"), None);
    }
}
