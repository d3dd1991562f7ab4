//! Doctors, staff and appointments: departments and specialties, staff profiles, weekly
//! sessions with exceptions, the free slots they give, and booking without overlaps.
//!
//! Times of day are minutes after local midnight in the clinic's time zone (setting
//! `time_zone`), dates are the clinic's local dates, and every appointment also carries its
//! UTC instants. Slots come from the sessions of the weekday, minus cancelled sessions and
//! leave, plus extra sessions; a local time that a DST change skips has no slot.

pub mod availability;
pub mod booking;
pub mod calendar;
pub mod moves;
pub mod queue;
pub mod slot_rule;
pub mod slots;
pub mod staff;
mod tables;

use crate::error::{Error, Result, ValidationReason};
use chrono::{NaiveDate, NaiveTime, TimeZone, Timelike};
/// The clinic's time zone type (chrono-tz), for callers that do not depend on it.
pub use chrono_tz::Tz;

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
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| Error::validation(field, ValidationReason::Invalid, "expected a date as YYYY-MM-DD"))
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

/// A value bound to a query run by [`json_rows`].
pub(crate) enum Arg<'a> {
    Text(&'a str),
    Int(i64),
}

/// Runs a query whose one result is a JSON array of rows (`json_group_array(json_array(..))`)
/// and parses it into `T` (a struct with its fields in column order, or a tuple).
///
/// Why: sqlx hands every result row over from its SQLite worker thread on its own, about
/// 10 µs a row; the calendar reads hundreds of rows per view, and as one JSON text they
/// arrive several times faster.
pub(crate) async fn json_rows<T: serde::de::DeserializeOwned>(
    conn: &mut sqlx::SqliteConnection,
    sql: &str,
    args: &[Arg<'_>],
) -> Result<Vec<T>> {
    let mut q = sqlx::query_scalar::<_, String>(sql);
    for a in args {
        q = match a {
            Arg::Text(s) => q.bind(*s),
            Arg::Int(i) => q.bind(*i),
        };
    }
    let text: Option<String> = q.fetch_optional(conn).await?;
    Ok(serde_json::from_str(text.as_deref().unwrap_or("[]"))?)
}
