//! The nursing shifts on the clinic's clock: **morning 07:00–15:00, evening 15:00–23:00,
//! night 23:00–07:00** (the night of a day ends the next morning). The intake/output balance
//! and the handover are counted per shift; the 24-hour balance is the clinic's day, midnight
//! to midnight in its time zone. Where a time zone skips an hour (a DST jump) a shift starts at
//! the first moment after it, so shifts never overlap and never leave a gap.

use super::notes::Shift;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The hours the morning, evening and night shifts start on the clinic's clock.
pub const SHIFT_START_HOURS: [u32; 3] = [7, 15, 23];

/// The shifts in their order within a day.
pub const SHIFTS: [Shift; 3] = [Shift::Morning, Shift::Evening, Shift::Night];

/// The first instant at `hour`:00 of `day` on the clinic's clock (or the first after it when
/// that hour does not exist there).
pub fn local_instant(tz: Tz, day: NaiveDate, hour: u32) -> DateTime<Utc> {
    let local = day.and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or_default());
    let mut probe = local;
    for _ in 0..4 {
        if let Some(t) = tz.from_local_datetime(&probe).earliest() {
            return t.with_timezone(&Utc);
        }
        probe += Duration::hours(1);
    }
    Utc.from_utc_datetime(&local)
}

fn start_hour(shift: Shift) -> u32 {
    match shift {
        Shift::Morning => SHIFT_START_HOURS[0],
        Shift::Evening => SHIFT_START_HOURS[1],
        Shift::Night => SHIFT_START_HOURS[2],
    }
}

/// [from, to) of a shift that starts on `day` (the night runs into the next day).
pub fn shift_bounds(tz: Tz, day: NaiveDate, shift: Shift) -> (DateTime<Utc>, DateTime<Utc>) {
    let next = day.succ_opt().unwrap_or(day);
    let from = local_instant(tz, day, start_hour(shift));
    let to = match shift {
        Shift::Morning => local_instant(tz, day, start_hour(Shift::Evening)),
        Shift::Evening => local_instant(tz, day, start_hour(Shift::Night)),
        Shift::Night => local_instant(tz, next, start_hour(Shift::Morning)),
    };
    (from, to)
}

/// [from, to) of the clinic's day: midnight to midnight on its clock.
pub fn day_bounds(tz: Tz, day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    (local_instant(tz, day, 0), local_instant(tz, day.succ_opt().unwrap_or(day), 0))
}

/// The shift an instant falls in, and the day that shift started on.
pub fn shift_of(tz: Tz, at: DateTime<Utc>) -> (NaiveDate, Shift) {
    let today = at.with_timezone(&tz).date_naive();
    let yesterday = today.pred_opt().unwrap_or(today);
    for day in [today, yesterday] {
        for shift in SHIFTS {
            let (from, to) = shift_bounds(tz, day, shift);
            if from <= at && at < to {
                return (day, shift);
            }
        }
    }
    (yesterday, Shift::Night)
}
