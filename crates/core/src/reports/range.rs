//! A report's date range: a preset (today, this week, this month, last month) or custom
//! dates, always whole days of the clinic's calendar (its time zone, via `clinic`).

use crate::error::{Error, Result, ValidationReason};
use crate::store::Store;
use chrono::{Datelike, Days, Months, NaiveDate, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// The longest range a report covers.
pub const MAX_YEARS: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    Today,
    /// Monday to today.
    ThisWeek,
    /// The 1st to today.
    ThisMonth,
    /// The whole of the previous calendar month.
    LastMonth,
    /// `from` to `to`, both included.
    Custom,
}

/// What the UI sends: a preset, or custom dates (YYYY-MM-DD, clinic local, both included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct RangeInput {
    pub preset: Preset,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl RangeInput {
    pub fn custom(from: &str, to: &str) -> Self {
        RangeInput { preset: Preset::Custom, from: Some(from.into()), to: Some(to.into()) }
    }

    pub fn preset(preset: Preset) -> Self {
        RangeInput { preset, from: None, to: None }
    }
}

/// Whole days `from`..=`to` of the clinic's calendar, and the UTC instants they span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: Tz,
}

fn date_field(field: &str, value: Option<&str>) -> Result<NaiveDate> {
    let v = value.map(str::trim).unwrap_or_default();
    if v.is_empty() {
        return Err(Error::validation(field, ValidationReason::Required, "a date is required"));
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map_err(|_| Error::validation(field, ValidationReason::Invalid, "expected YYYY-MM-DD"))
}

impl DateRange {
    /// Resolves `input` against `today` (the clinic's) in `tz`.
    pub fn resolve(input: &RangeInput, today: NaiveDate, tz: Tz) -> Result<DateRange> {
        let internal = || Error::internal("date out of the calendar");
        let (from, to) = match input.preset {
            Preset::Today => (today, today),
            Preset::ThisWeek => {
                let back = u64::from(today.weekday().num_days_from_monday());
                (today.checked_sub_days(Days::new(back)).ok_or_else(internal)?, today)
            }
            Preset::ThisMonth => (today.with_day(1).ok_or_else(internal)?, today),
            Preset::LastMonth => {
                let first = today.with_day(1).ok_or_else(internal)?;
                let prev = first.checked_sub_months(Months::new(1)).ok_or_else(internal)?;
                (prev, first.pred_opt().ok_or_else(internal)?)
            }
            Preset::Custom => (date_field("from", input.from.as_deref())?, date_field("to", input.to.as_deref())?),
        };
        if to < from {
            return Err(Error::validation("to", ValidationReason::OutOfRange, "the end is before the start"));
        }
        let limit = from.checked_add_months(Months::new(12 * MAX_YEARS)).ok_or_else(internal)?;
        if to >= limit {
            return Err(Error::validation(
                "to",
                ValidationReason::OutOfRange,
                format!("a report covers at most {MAX_YEARS} years"),
            ));
        }
        Ok(DateRange { from, to, tz })
    }

    /// [`resolve`](Self::resolve) with the clinic's time zone and today.
    pub async fn of(store: &Store, input: &RangeInput) -> Result<DateRange> {
        let tz = crate::clinic::time_zone(store).await?;
        let today = store.now().with_timezone(&tz).date_naive();
        DateRange::resolve(input, today, tz)
    }

    /// The UTC instant (RFC 3339, milliseconds, as instants are stored) at which local `day` begins.
    pub fn start_of(&self, day: NaiveDate) -> Result<String> {
        let local = day.and_hms_opt(0, 0, 0).ok_or_else(|| Error::internal("midnight"))?;
        let t = self.tz.from_local_datetime(&local).earliest().ok_or_else(|| Error::internal("no local midnight"))?;
        Ok(t.with_timezone(&chrono::Utc).to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    }

    /// `[start, end)` as stored instants: from the first day's midnight to the midnight after the last.
    pub fn instants(&self) -> Result<(String, String)> {
        let after = self
            .to
            .succ_opt()
            .ok_or_else(|| Error::validation("to", ValidationReason::OutOfRange, "date out of range"))?;
        Ok((self.start_of(self.from)?, self.start_of(after)?))
    }

    /// The clinic-local date of a stored UTC instant.
    pub fn local_date(&self, instant: &str) -> Option<NaiveDate> {
        chrono::DateTime::parse_from_rfc3339(instant).ok().map(|t| t.with_timezone(&self.tz).date_naive())
    }

    pub fn from_ymd(&self) -> String {
        self.from.format("%Y-%m-%d").to_string()
    }

    pub fn to_ymd(&self) -> String {
        self.to.format("%Y-%m-%d").to_string()
    }
}

/// A piece of a range as the summary tables hold it: whole months, or days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// Days `from..=to`.
    Days(NaiveDate, NaiveDate),
    /// The whole months from the one starting on the first date to the one starting on the second.
    Months(NaiveDate, NaiveDate),
}

impl DateRange {
    /// The range cut into its whole calendar months and the days before and after them, so
    /// that a year is read as twelve months' rows instead of 365 days'.
    pub fn spans(&self) -> Vec<Span> {
        let first = if self.from.day() == 1 {
            Some(self.from)
        } else {
            self.from.with_day(1).and_then(|d| d.checked_add_months(Months::new(1)))
        };
        let last = match self.to.succ_opt() {
            Some(next) if next.day() == 1 => self.to.with_day(1),
            _ => self.to.with_day(1).and_then(|d| d.checked_sub_months(Months::new(1))),
        };
        match (first, last) {
            (Some(m1), Some(m2)) if m1 <= m2 => {
                let mut out = Vec::with_capacity(3);
                if let Some(before) = m1.pred_opt().filter(|d| *d >= self.from) {
                    out.push(Span::Days(self.from, before));
                }
                out.push(Span::Months(m1, m2));
                if let Some(after) = m2.checked_add_months(Months::new(1)).filter(|d| *d <= self.to) {
                    out.push(Span::Days(after, self.to));
                }
                out
            }
            _ => vec![Span::Days(self.from, self.to)],
        }
    }
}
