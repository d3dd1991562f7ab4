//! Per-device request limits, kept in memory (they protect this process, and a restart
//! forgets them harmlessly): a token bucket of requests per minute (429 `rate_limited` with
//! `Retry-After`), and at most a few `GET /v1/wait`s held open at once (429 `too_many_waits`).

use crate::error::{ApiError, ApiResult, ErrorCode};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Default)]
pub struct Throttle {
    buckets: Mutex<HashMap<String, Bucket>>,
    waits: Mutex<HashMap<String, usize>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Throttle {
    /// Takes one request from the device's bucket: `per_minute` requests a minute, and as many
    /// at once after a quiet minute (a first sync's pages come in a burst). 0: no limit.
    pub fn request(&self, device: &str, per_minute: u32) -> ApiResult<()> {
        if per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(per_minute);
        let per_sec = capacity / 60.0;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry(device.to_string()).or_insert(Bucket { tokens: capacity, at: now });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * per_sec).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = ((1.0 - bucket.tokens) / per_sec).ceil().max(1.0) as u64;
        Err(ApiError::new(
            ErrorCode::RateLimited,
            format!("more than {per_minute} requests a minute from this device; retry in {wait} s"),
        )
        .retry_after(wait))
    }

    /// Counts an open wait of the device until the guard is dropped; refuses one more than `max`.
    pub fn open_wait(self: &Arc<Self>, device: &str, max: usize) -> ApiResult<WaitGuard> {
        let mut waits = self.waits.lock().unwrap_or_else(|p| p.into_inner());
        let open = waits.entry(device.to_string()).or_insert(0);
        if *open >= max {
            return Err(ApiError::new(
                ErrorCode::TooManyWaits,
                format!("this device already holds {max} open waits; wait for one to answer"),
            )
            .retry_after(1));
        }
        *open += 1;
        Ok(WaitGuard { throttle: Arc::clone(self), device: device.to_string() })
    }
}

/// One open wait; closing it (the answer sent, or the client gone) frees its place.
pub struct WaitGuard {
    throttle: Arc<Throttle>,
    device: String,
}

impl Drop for WaitGuard {
    fn drop(&mut self) {
        let mut waits = self.throttle.waits.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(open) = waits.get_mut(&self.device) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                waits.remove(&self.device);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_a_burst_then_asks_to_wait() {
        let t = Throttle::default();
        for _ in 0..3 {
            t.request("d", 3).unwrap();
        }
        let e = t.request("d", 3).unwrap_err();
        assert_eq!((e.code, e.retry_after), (ErrorCode::RateLimited, Some(20)));
        t.request("other", 3).unwrap();
        t.request("d", 0).unwrap();
    }

    #[test]
    fn open_waits_are_counted_until_dropped() {
        let t = Arc::new(Throttle::default());
        let a = t.open_wait("d", 2).unwrap();
        let _b = t.open_wait("d", 2).unwrap();
        assert_eq!(t.open_wait("d", 2).err().map(|e| e.code), Some(ErrorCode::TooManyWaits));
        drop(a);
        let _c = t.open_wait("d", 2).unwrap();
    }
}
