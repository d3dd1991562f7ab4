//! Back-off and lockout after failed sign-ins: the pure rules, with time passed in.
//!
//! After 3 failures in a row each further attempt must wait (2 s, then 4 s); the 5th failure
//! locks the account for 15 minutes, or until an administrator unlocks it. A success, an
//! unlock, or a lock running out starts the count again.

use chrono::{DateTime, Duration, Utc};

pub const BACKOFF_AFTER: u32 = 3;
pub const LOCK_AFTER: u32 = 5;
pub const LOCK_MINUTES: i64 = 15;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuardState {
    pub failed_attempts: u32,
    pub last_failed_at: Option<DateTime<Utc>>,
    pub locked_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    Open,
    RetryLater { seconds: u32 },
    Locked { until: DateTime<Utc> },
}

fn backoff(failed: u32) -> Duration {
    if failed < BACKOFF_AFTER {
        Duration::zero()
    } else {
        Duration::seconds(1_i64 << (failed - BACKOFF_AFTER + 1).min(10))
    }
}

/// May a sign-in be attempted now?
pub fn gate(state: &GuardState, now: DateTime<Utc>) -> Gate {
    if let Some(until) = state.locked_until {
        if until > now {
            return Gate::Locked { until };
        }
        return Gate::Open; // the lock ran out
    }
    if let Some(last) = state.last_failed_at {
        let wait_until = last + backoff(state.failed_attempts);
        if wait_until > now {
            let ms = (wait_until - now).num_milliseconds();
            let seconds = u32::try_from((ms + 999) / 1000).unwrap_or(u32::MAX);
            return Gate::RetryLater { seconds };
        }
    }
    Gate::Open
}

/// The state after one more failure, and whether this failure locked the account.
pub fn after_failure(state: &GuardState, now: DateTime<Utc>) -> (GuardState, bool) {
    let expired_lock = state.locked_until.is_some_and(|u| u <= now);
    let previous = if expired_lock { 0 } else { state.failed_attempts };
    let failed = previous.saturating_add(1);
    let locked_until = (failed >= LOCK_AFTER).then(|| now + Duration::minutes(LOCK_MINUTES));
    (GuardState { failed_attempts: failed, last_failed_at: Some(now), locked_until }, locked_until.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn two_failures_do_not_slow_down() {
        let (s, _) = after_failure(&GuardState::default(), t(0));
        let (s, locked) = after_failure(&s, t(0));
        assert!(!locked);
        assert_eq!(gate(&s, t(0)), Gate::Open);
    }

    #[test]
    fn third_and_fourth_failures_back_off_then_fifth_locks() {
        let mut s = GuardState::default();
        for _ in 0..3 {
            s = after_failure(&s, t(0)).0;
        }
        assert_eq!(gate(&s, t(0)), Gate::RetryLater { seconds: 2 });
        assert_eq!(gate(&s, t(2)), Gate::Open);
        s = after_failure(&s, t(2)).0;
        assert_eq!(gate(&s, t(3)), Gate::RetryLater { seconds: 3 });
        assert_eq!(gate(&s, t(6)), Gate::Open);
        let (s, locked) = after_failure(&s, t(6));
        assert!(locked);
        assert_eq!(gate(&s, t(7)), Gate::Locked { until: t(6 + 15 * 60) });
        assert_eq!(gate(&s, t(6 + 15 * 60)), Gate::Open);
        // After the lock runs out, counting starts again.
        let (s, locked) = after_failure(&s, t(6 + 15 * 60));
        assert!(!locked);
        assert_eq!(s.failed_attempts, 1);
    }
}
