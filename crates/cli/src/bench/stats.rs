//! Latency samples to p50/p95/p99 (nearest rank), as shared/BENCH.md prints them.

use serde::Serialize;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub n: usize,
}

pub fn summarize(mut samples: Vec<Duration>) -> Latency {
    samples.sort();
    let at = |q: f64| -> f64 {
        if samples.is_empty() {
            return 0.0;
        }
        let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
        let ms = samples[rank - 1].as_secs_f64() * 1000.0;
        (ms * 1000.0).round() / 1000.0
    };
    Latency { p50: at(0.50), p95: at(0.95), p99: at(0.99), n: samples.len() }
}

/// Times `n` runs of an async operation.
pub async fn time_n<F, Fut, E>(n: usize, mut op: F) -> Result<Latency, E>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<(), E>>,
{
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        op(i).await?;
        samples.push(start.elapsed());
    }
    Ok(summarize(samples))
}

/// CPU seconds this process has used so far (user and system, every thread): on a machine
/// that other programs keep busy, the CPU a step took is steadier than its wall time.
pub fn cpu_seconds() -> f64 {
    #[cfg(unix)]
    {
        // SAFETY: getrusage fills the struct it is given; a zeroed rusage is a valid value.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: a valid pointer to a rusage owned here.
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
            return 0.0;
        }
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        secs(usage.ru_utime) + secs(usage.ru_stime)
    }
    #[cfg(not(unix))]
    {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples = (1..=100).map(Duration::from_millis).collect();
        let l = summarize(samples);
        assert_eq!((l.p50, l.p95, l.p99, l.n), (50.0, 95.0, 99.0, 100));
        assert_eq!(summarize(vec![]).n, 0);
    }
}
