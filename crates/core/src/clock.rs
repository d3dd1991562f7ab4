//! Hybrid logical clock (HLC) for `updated_at` of synced rows.
//!
//! A timestamp is wall-clock milliseconds plus a counter that breaks ties when the wall clock
//! stands still or goes backwards, plus the device id so that two devices never produce equal
//! stamps. Its text form sorts the same way as its value, so SQL `ORDER BY` and string
//! comparison agree: `0001732270000000-000000-<device>`.

use chrono::{DateTime, Utc};
use std::fmt;

/// The largest counter the text form holds (6 digits).
pub const MAX_COUNTER: u32 = hms_policy::stamp::MAX_COUNTER;
/// The largest milliseconds the text form holds (16 digits).
pub const MAX_MILLIS: i64 = hms_policy::stamp::MAX_MILLIS;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct HlcStamp {
    pub millis: i64,
    pub counter: u32,
    pub device: String,
}

impl fmt::Display for HlcStamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016}-{:06}-{}", self.millis, self.counter, self.device)
    }
}

impl HlcStamp {
    /// Parses the fixed-width text form; anything else (a 7-digit counter, a sign, a short
    /// field) is `None`.
    pub fn parse(s: &str) -> Option<HlcStamp> {
        let mut parts = s.splitn(3, '-');
        let fixed = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
        let (millis, counter, device) = (parts.next()?, parts.next()?, parts.next()?);
        if !fixed(millis, 16) || !fixed(counter, 6) || device.is_empty() {
            return None;
        }
        Some(HlcStamp { millis: millis.parse().ok()?, counter: counter.parse().ok()?, device: device.to_string() })
    }
}

/// The clock of one device. Callers hold it under the store's write lock.
#[derive(Debug, Clone)]
pub struct Hlc {
    device: String,
    last_millis: i64,
    counter: u32,
}

impl Hlc {
    pub fn new(device: String, last: Option<&HlcStamp>) -> Self {
        let last_millis = last.map_or(0, |s| s.millis.clamp(0, MAX_MILLIS));
        Hlc { device, last_millis, counter: last.map_or(0, |s| s.counter.min(MAX_COUNTER)) }
    }

    /// A stamp greater than every stamp this clock has issued or observed.
    pub fn tick(&mut self, now: DateTime<Utc>) -> HlcStamp {
        let wall = now.timestamp_millis();
        if wall > self.last_millis {
            self.last_millis = wall;
            self.counter = 0;
        } else {
            self.bump();
        }
        self.stamp()
    }

    /// Moves the clock past a stamp received from another device (used by sync). Sync checks
    /// first that the stamp is not far ahead (`sync::trust`); the counter never outgrows its
    /// six digits.
    pub fn observe(&mut self, remote: &HlcStamp, now: DateTime<Utc>) {
        let wall = now.timestamp_millis();
        let (remote_millis, remote_counter) = (remote.millis.clamp(0, MAX_MILLIS), remote.counter.min(MAX_COUNTER));
        let max = wall.max(self.last_millis).max(remote_millis);
        if max == self.last_millis && max == remote_millis {
            self.counter = self.counter.max(remote_counter);
            self.bump();
        } else if max == self.last_millis {
            self.bump();
        } else if max == remote_millis {
            self.last_millis = max;
            self.counter = remote_counter;
            self.bump();
        } else {
            self.last_millis = max;
            self.counter = 0;
        }
    }

    /// The next counter value, or the next millisecond when the counter is full: the text
    /// form has 6 counter digits and must keep sorting as the value does.
    fn bump(&mut self) {
        if self.counter < MAX_COUNTER {
            self.counter += 1;
        } else if self.last_millis < MAX_MILLIS {
            self.last_millis += 1;
            self.counter = 0;
        } else {
            // The end of the form (in some 300 million years): stay there rather than wrap.
            self.counter = MAX_COUNTER;
        }
    }

    fn stamp(&self) -> HlcStamp {
        HlcStamp { millis: self.last_millis, counter: self.counter, device: self.device.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(ms).single().unwrap()
    }

    #[test]
    fn ticks_are_strictly_increasing_even_when_the_wall_clock_goes_back() {
        let mut c = Hlc::new("dev".into(), None);
        let a = c.tick(at(1_000));
        let b = c.tick(at(1_000));
        let d = c.tick(at(500));
        let e = c.tick(at(2_000));
        assert!(a < b && b < d && d < e);
        assert!(a.to_string() < b.to_string() && d.to_string() < e.to_string());
    }

    #[test]
    fn observing_a_remote_stamp_moves_past_it() {
        let mut c = Hlc::new("a".into(), None);
        let remote = HlcStamp { millis: 9_000, counter: 4, device: "b".into() };
        c.observe(&remote, at(1_000));
        let next = c.tick(at(1_000));
        assert!(next.millis == 9_000 && next.counter > 4);
    }

    #[test]
    fn text_form_round_trips() {
        let s = HlcStamp { millis: 1_732_270_000_000, counter: 7, device: "0193-abc".into() };
        assert_eq!(HlcStamp::parse(&s.to_string()), Some(s));
    }

    #[test]
    fn a_full_counter_moves_to_the_next_millisecond() {
        let mut c =
            Hlc::new("a".into(), Some(&HlcStamp { millis: 5_000, counter: MAX_COUNTER - 1, device: "a".into() }));
        let a = c.tick(at(1_000));
        let b = c.tick(at(1_000));
        assert_eq!((a.millis, a.counter), (5_000, MAX_COUNTER));
        assert_eq!((b.millis, b.counter), (5_001, 0));
        assert!(a.to_string() < b.to_string());
    }

    #[test]
    fn only_the_fixed_width_form_parses() {
        assert!(HlcStamp::parse("0001732270000000-000000-d").is_some());
        assert!(HlcStamp::parse("0001732270000000-1000000-d").is_none());
        assert!(HlcStamp::parse("1732270000000-0-d").is_none());
        assert!(HlcStamp::parse("000173227000000+-000000-d").is_none());
        assert!(HlcStamp::parse("0001732270000000-000000-").is_none());
    }

    proptest::proptest! {
        /// Whatever the clock's start, the wall clock and the stamps it observes: every stamp
        /// it issues is later than the one before, in value and in text, and the text keeps
        /// its fixed width.
        #[test]
        fn stamps_increase_and_keep_their_form(
            start_millis in 0i64..=MAX_MILLIS,
            start_counter in 0u32..=MAX_COUNTER,
            steps in proptest::collection::vec((0i64..=MAX_MILLIS, proptest::option::of((0i64..=MAX_MILLIS, 0u32..=MAX_COUNTER)), 0u32..3), 1..40),
        ) {
            let start = HlcStamp { millis: start_millis, counter: start_counter, device: "a".into() };
            let mut c = Hlc::new("a".into(), Some(&start));
            let mut last = start.clone();
            for (wall, remote, ticks) in steps {
                // Wall clocks stay where chrono can hold them.
                let wall = wall.min(8_000_000_000_000_000 / 1000);
                if let Some((millis, counter)) = remote {
                    c.observe(&HlcStamp { millis, counter, device: "b".into() }, at(wall));
                }
                for _ in 0..=ticks {
                    let s = c.tick(at(wall));
                    if last.millis < MAX_MILLIS {
                        proptest::prop_assert!(s > last, "{s} after {last}");
                        proptest::prop_assert!(s.to_string() > last.to_string());
                    }
                    proptest::prop_assert_eq!(s.to_string().len(), "0000000000000000-000000-a".len());
                    proptest::prop_assert_eq!(HlcStamp::parse(&s.to_string()), Some(s.clone()));
                    last = s;
                }
            }
        }
    }
}
