//! Is this device's clock right? Push and pull answers carry the server's clock
//! (`hms_protocol::ServerClock`); the device compares it with its own wall clock and keeps the
//! difference in `meta`, and a push refused with `clock_ahead` says so too. The verdict is
//! [`SyncStatus::clock`](super::SyncStatus): the Sync screen only shows it.
//!
//! A clock too far ahead gets the device's pushes refused (`clock_ahead`, past the server's
//! limit); one too far behind makes it refuse other devices' honest changes as future ones
//! (`future_stamp`, past [`MAX_PULLED_AHEAD_MS`]), and its own writes lose merges they should
//! win.

use super::trust::MAX_PULLED_AHEAD_MS;
use super::{ClockCheck, ClockVerdict, SyncResult};
use crate::store::{meta, Store};
use hms_protocol::ServerClock;

const AHEAD_KEY: &str = "sync_clock_ahead_ms";
const LIMIT_KEY: &str = "sync_clock_limit_ms";
const CHECKED_KEY: &str = "sync_clock_checked_at";
const REFUSED_KEY: &str = "sync_clock_refused_at";

/// The device's wall clock, Unix milliseconds (what its stamps are made from).
pub(super) fn wall_ms(store: &Store) -> i64 {
    store.now().timestamp_millis()
}

/// Keeps how far this device's clock is ahead of the server's (negative: behind), from an
/// answer sent at `sent_ms` and received at `received_ms` by this clock: the server read its
/// clock somewhere in between, so the middle is the best guess.
pub(super) async fn observe(
    store: &Store,
    clock: Option<&ServerClock>,
    sent_ms: i64,
    received_ms: i64,
) -> SyncResult<()> {
    let Some(clock) = clock else {
        return Ok(()); // a server from before the clock check
    };
    let here = sent_ms + (received_ms - sent_ms) / 2;
    let ahead = here.saturating_sub(clock.server_time_ms);
    let pool = store.pool();
    meta::set(pool, AHEAD_KEY, &ahead.to_string()).await?;
    meta::set(pool, LIMIT_KEY, &clock.max_clock_ahead_ms.to_string()).await?;
    meta::set(pool, CHECKED_KEY, &now_text(store)).await?;
    sqlx::query("DELETE FROM meta WHERE key = ?").bind(REFUSED_KEY).execute(pool).await.map_err(crate::Error::from)?;
    Ok(())
}

/// The server refused a push with `clock_ahead`: this clock is ahead, by more than its limit.
pub(super) async fn refused_ahead(store: &Store) -> SyncResult<()> {
    meta::set(store.pool(), REFUSED_KEY, &now_text(store)).await?;
    Ok(())
}

/// The verdict for the status: `None` before the device ever compared its clock.
pub(super) async fn verdict(store: &Store) -> SyncResult<Option<ClockCheck>> {
    let pool = store.pool();
    let number = |v: Option<String>| v.and_then(|s| s.parse::<i64>().ok());
    let ahead = number(meta::get(pool, AHEAD_KEY).await?);
    let limit = number(meta::get(pool, LIMIT_KEY).await?).unwrap_or(hms_protocol::MAX_CLOCK_AHEAD_MS as i64);
    let checked = meta::get(pool, CHECKED_KEY).await?;
    if let Some(refused_at) = meta::get(pool, REFUSED_KEY).await? {
        return Ok(Some(ClockCheck {
            verdict: ClockVerdict::Ahead,
            ahead_ms: None,
            limit_ms: limit,
            checked_at: refused_at,
        }));
    }
    let (Some(ahead), Some(checked_at)) = (ahead, checked) else {
        return Ok(None);
    };
    Ok(Some(judge(ahead, limit, checked_at)))
}

/// Ahead by more than the server takes or than other devices take (they refuse a pulled stamp
/// more than [`MAX_PULLED_AHEAD_MS`] ahead of their clocks), or behind by more than this
/// device takes from others.
fn judge(ahead_ms: i64, server_limit_ms: i64, checked_at: String) -> ClockCheck {
    let ahead_limit = server_limit_ms.min(MAX_PULLED_AHEAD_MS);
    let (verdict, limit_ms) = if ahead_ms > ahead_limit {
        (ClockVerdict::Ahead, ahead_limit)
    } else if -ahead_ms > MAX_PULLED_AHEAD_MS {
        (ClockVerdict::Behind, MAX_PULLED_AHEAD_MS)
    } else {
        (ClockVerdict::Right, ahead_limit)
    };
    ClockCheck { verdict, ahead_ms: Some(ahead_ms), limit_ms, checked_at }
}

fn now_text(store: &Store) -> String {
    store.now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_is_wrong_past_the_limits_either_way() {
        let at = || "2026-12-05T03:00:00.000Z".to_string();
        let five_min = 5 * 60 * 1000;
        assert_eq!(judge(0, five_min, at()).verdict, ClockVerdict::Right);
        assert_eq!(judge(five_min, five_min, at()).verdict, ClockVerdict::Right);
        assert_eq!(judge(five_min + 1, five_min, at()).verdict, ClockVerdict::Ahead);
        // A server that allows more still has devices that take 5 minutes only.
        let six = judge(6 * 60 * 1000, 10 * 60 * 1000, at());
        assert_eq!((six.verdict, six.limit_ms), (ClockVerdict::Ahead, MAX_PULLED_AHEAD_MS));
        // A server that allows less is the limit.
        assert_eq!(judge(2 * 60 * 1000, 60 * 1000, at()).verdict, ClockVerdict::Ahead);
        assert_eq!(judge(-MAX_PULLED_AHEAD_MS, five_min, at()).verdict, ClockVerdict::Right);
        let behind = judge(-MAX_PULLED_AHEAD_MS - 1, five_min, at());
        assert_eq!((behind.verdict, behind.limit_ms), (ClockVerdict::Behind, MAX_PULLED_AHEAD_MS));
    }
}
