//! When an inpatient order's doses fall: pure arithmetic on an order's schedule, in the
//! clinic's time zone, so that the MAR (is this a dose of the order?) and the ward's due list
//! (which doses are due now?) agree.
//!
//! - `times` "1-0-1": a dose at each of the clinic's dose times whose part is not 0 — three parts
//!   are morning, noon and night ([`DOSE_HOURS_3`]), four are morning, noon, evening and night
//!   ([`DOSE_HOURS_4`]); a part is how many doses are given then (0 to 9);
//! - `every` N hours: from the order's start, every N hours;
//! - `stat`: once, at the start;
//! - `prn`: none scheduled (given when needed, at most so many in 24 hours).
//!
//! An order's doses run from its start up to (not including) its end or the time it was stopped.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// The clinic's local dose hours of a three-part pattern (morning, noon, night).
pub const DOSE_HOURS_3: [u32; 3] = [8, 14, 20];
/// The clinic's local dose hours of a four-part pattern (morning, noon, evening, night).
pub const DOSE_HOURS_4: [u32; 4] = [8, 12, 16, 20];
/// The most doses one part of a pattern gives at once.
pub const PATTERN_PART_MAX: u32 = 9;

/// A medicine order's schedule, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// A count per dose time: three or four parts (`[morning, noon, night]` or with evening).
    Times {
        parts: [u32; 4],
        len: usize,
    },
    Every {
        hours: u32,
    },
    Stat,
    Prn,
}

/// Reads "1-0-1" / "1-1-1-1" (0 to 9 a part, at least one dose a day); `None` otherwise.
pub fn parse_pattern(raw: &str) -> Option<Plan> {
    let parts: Vec<&str> = raw.trim().split('-').map(str::trim).collect();
    if !(3..=4).contains(&parts.len()) {
        return None;
    }
    let mut out = [0u32; 4];
    for (i, p) in parts.iter().enumerate() {
        if p.len() != 1 {
            return None;
        }
        out[i] = p.parse::<u32>().ok().filter(|n| *n <= PATTERN_PART_MAX)?;
    }
    if out.iter().all(|n| *n == 0) {
        return None;
    }
    Some(Plan::Times { parts: out, len: parts.len() })
}

/// The pattern as stored: its parts joined by '-'.
pub fn pattern_text(plan: Plan) -> String {
    match plan {
        Plan::Times { parts, len } => parts[..len].iter().map(u32::to_string).collect::<Vec<_>>().join("-"),
        _ => String::new(),
    }
}

/// One scheduled dose: when, and how many doses are given then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub at: DateTime<Utc>,
    pub count: u32,
}

/// The doses of `plan` at `from ..= to`, within the order's life `[start, until)`, in order.
pub fn slots(
    plan: Plan,
    tz: Tz,
    start: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<Slot> {
    let lo = from.max(start);
    let hi = match until {
        Some(u) if u <= to => u - Duration::milliseconds(1),
        _ => to,
    };
    if hi < lo {
        return Vec::new();
    }
    let mut out = Vec::new();
    match plan {
        Plan::Prn => {}
        Plan::Stat => {
            if (lo..=hi).contains(&start) {
                out.push(Slot { at: start, count: 1 });
            }
        }
        Plan::Every { hours } => {
            let step = i64::from(hours.max(1)) * 3_600_000;
            let since = (lo - start).num_milliseconds();
            let mut k = (since + step - 1).div_euclid(step).max(0);
            loop {
                let at = start + Duration::milliseconds(k * step);
                if at > hi {
                    break;
                }
                out.push(Slot { at, count: 1 });
                k += 1;
            }
        }
        Plan::Times { parts, len } => {
            let hours: &[u32] = if len == 3 { &DOSE_HOURS_3 } else { &DOSE_HOURS_4 };
            let first = lo.with_timezone(&tz).date_naive();
            let last = hi.with_timezone(&tz).date_naive();
            let mut day = first;
            while day <= last {
                for (i, hour) in hours.iter().enumerate() {
                    if parts[i] == 0 {
                        continue;
                    }
                    if let Some(at) = local(tz, day, *hour) {
                        if (lo..=hi).contains(&at) {
                            out.push(Slot { at, count: parts[i] });
                        }
                    }
                }
                match day.succ_opt() {
                    Some(next) => day = next,
                    None => break,
                }
            }
        }
    }
    out
}

/// That day's hour in the clinic's zone, in UTC (the earlier of two on a clock change; none in
/// a gap).
fn local(tz: Tz, day: NaiveDate, hour: u32) -> Option<DateTime<Utc>> {
    let naive = day.and_hms_opt(hour, 0, 0)?;
    tz.from_local_datetime(&naive).earliest().map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn patterns_read_three_or_four_parts_of_single_digits() {
        assert_eq!(parse_pattern("1-0-1"), Some(Plan::Times { parts: [1, 0, 1, 0], len: 3 }));
        assert_eq!(parse_pattern(" 1 - 1 - 1 - 2 "), Some(Plan::Times { parts: [1, 1, 1, 2], len: 4 }));
        for bad in ["", "1-0", "0-0-0", "1-0-1-1-1", "1-a-1", "10-0-1", "1--1", "½-0-1"] {
            assert_eq!(parse_pattern(bad), None, "{bad:?}");
        }
        assert_eq!(pattern_text(parse_pattern("1 -0- 2").unwrap()), "1-0-2");
    }

    #[test]
    fn a_pattern_falls_on_the_clinics_local_hours() {
        let tz: Tz = "Asia/Kolkata".parse().unwrap();
        let plan = parse_pattern("1-0-2").unwrap();
        // Started 5 Dec 10:00 IST (04:30 UTC): the first dose is that night at 20:00 IST.
        let got =
            slots(plan, tz, t("2026-12-05T04:30:00Z"), None, t("2026-12-05T00:00:00Z"), t("2026-12-06T23:59:00Z"));
        let at: Vec<(String, u32)> = got.iter().map(|s| (s.at.to_rfc3339(), s.count)).collect();
        assert_eq!(
            at,
            vec![
                ("2026-12-05T14:30:00+00:00".into(), 2),
                ("2026-12-06T02:30:00+00:00".into(), 1),
                ("2026-12-06T14:30:00+00:00".into(), 2),
            ]
        );
    }

    #[test]
    fn every_n_hours_counts_from_the_start_and_stops_before_the_end() {
        let start = t("2026-12-05T01:15:00Z");
        let plan = Plan::Every { hours: 6 };
        let got = slots(plan, chrono_tz::UTC, start, Some(t("2026-12-06T01:15:00Z")), start, t("2026-12-07T00:00:00Z"));
        let hours: Vec<String> = got.iter().map(|s| s.at.format("%d %H:%M").to_string()).collect();
        assert_eq!(hours, vec!["05 01:15", "05 07:15", "05 13:15", "05 19:15"], "the end is not a dose");
        // A window in the middle finds the doses inside it only.
        let mid = slots(plan, chrono_tz::UTC, start, None, t("2026-12-05T07:15:00Z"), t("2026-12-05T13:14:59Z"));
        assert_eq!(mid.len(), 1);
        assert_eq!(mid[0].at, t("2026-12-05T07:15:00Z"));
    }

    #[test]
    fn stat_is_once_at_the_start_and_prn_never() {
        let start = t("2026-12-05T09:00:00Z");
        let all = (t("2026-12-01T00:00:00Z"), t("2026-12-09T00:00:00Z"));
        assert_eq!(slots(Plan::Stat, chrono_tz::UTC, start, None, all.0, all.1), vec![Slot { at: start, count: 1 }]);
        assert!(slots(Plan::Prn, chrono_tz::UTC, start, None, all.0, all.1).is_empty());
        // Stopped before it started: nothing.
        assert!(slots(Plan::Stat, chrono_tz::UTC, start, Some(start), all.0, all.1).is_empty());
    }
}
