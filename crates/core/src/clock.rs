//! Hybrid logical clock (HLC) for `updated_at` of synced rows.
//!
//! A timestamp is wall-clock milliseconds plus a counter that breaks ties when the wall clock
//! stands still or goes backwards, plus the device id so that two devices never produce equal
//! stamps. Its text form sorts the same way as its value, so SQL `ORDER BY` and string
//! comparison agree: `0001732270000000-000000-<device>`.

use chrono::{DateTime, Utc};
use std::fmt;

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
    pub fn parse(s: &str) -> Option<HlcStamp> {
        let mut parts = s.splitn(3, '-');
        let millis = parts.next()?.parse().ok()?;
        let counter = parts.next()?.parse().ok()?;
        let device = parts.next()?.to_string();
        Some(HlcStamp { millis, counter, device })
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
        Hlc { device, last_millis: last.map_or(0, |s| s.millis), counter: last.map_or(0, |s| s.counter) }
    }

    /// A stamp greater than every stamp this clock has issued or observed.
    pub fn tick(&mut self, now: DateTime<Utc>) -> HlcStamp {
        let wall = now.timestamp_millis();
        if wall > self.last_millis {
            self.last_millis = wall;
            self.counter = 0;
        } else {
            self.counter += 1;
        }
        self.stamp()
    }

    /// Moves the clock past a stamp received from another device (used by sync).
    pub fn observe(&mut self, remote: &HlcStamp, now: DateTime<Utc>) {
        let wall = now.timestamp_millis();
        let max = wall.max(self.last_millis).max(remote.millis);
        self.counter = if max == self.last_millis && max == remote.millis {
            self.counter.max(remote.counter) + 1
        } else if max == self.last_millis {
            self.counter + 1
        } else if max == remote.millis {
            remote.counter + 1
        } else {
            0
        };
        self.last_millis = max;
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
}
