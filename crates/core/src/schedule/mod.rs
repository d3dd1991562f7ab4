//! Doctors, staff and appointments: departments and specialties, staff profiles, weekly
//! sessions with exceptions, the free slots they give, and booking without overlaps.
//!
//! Times of day are minutes after local midnight in the clinic's time zone (setting
//! `time_zone`), dates are the clinic's local dates, and every appointment also carries its
//! UTC instants. Slots come from the sessions of the weekday, minus cancelled sessions and
//! leave, plus extra sessions; a local time that a DST change skips has no slot.

pub mod availability;
pub mod booking;
pub mod queue;
pub mod slots;
pub mod staff;

use crate::error::{Error, Result, ValidationReason};
use chrono::{NaiveDate, NaiveTime, TimeZone, Timelike};
use chrono_tz::Tz;

/// "HH:MM" → minutes after midnight; "24:00" is the end of the day.
pub fn parse_minutes(field: &str, s: &str) -> Result<u32> {
    let bad = || Error::validation(field, ValidationReason::Invalid, "expected a time as HH:MM");
    if s.trim() == "24:00" {
        return Ok(1440);
    }
    let t = NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| bad())?;
    Ok(t.hour() * 60 + t.minute())
}

pub fn format_minutes(m: u32) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

pub fn parse_date(field: &str, s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| Error::validation(field, ValidationReason::Invalid, "expected a date as YYYY-MM-DD"))
}

pub fn parse_tz(name: &str) -> Option<Tz> {
    name.parse::<Tz>().ok()
}

/// The UTC instant of a local date and time in `tz`; `None` when a DST change skips it. An
/// ambiguous time (the hour repeated in autumn) is its first occurrence.
pub fn instant(tz: Tz, date: NaiveDate, minutes: u32) -> Option<chrono::DateTime<chrono::Utc>> {
    let naive = date.and_hms_opt(0, 0, 0)? + chrono::Duration::minutes(i64::from(minutes));
    tz.from_local_datetime(&naive).earliest().map(|t| t.with_timezone(&chrono::Utc))
}

pub fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
