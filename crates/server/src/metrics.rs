//! Counters for `GET /metrics`, in Prometheus' text format. Counters live in memory (they
//! restart at zero with the process, as Prometheus expects); device and tenant counts are
//! read from the database at each scrape.

use crate::store::Storage;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.add(1);
    }
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Default)]
pub struct Metrics {
    pub pushes: Counter,
    pub pulls: Counter,
    pub changes_stored: Counter,
    pub changes_duplicate: Counter,
    pub changes_pulled: Counter,
    pub enrolments: Counter,
    pub auth_failures: Counter,
    pub requests_refused: Counter,
    pub blobs_stored: Counter,
    pub blobs_served: Counter,
    pub changes_refused: Counter,
}

struct Gauges {
    tenants: i64,
    devices_active: i64,
    devices_revoked: i64,
}

async fn gauges(store: &Storage) -> Result<Gauges, sqlx::Error> {
    let (tenants, devices_active, devices_revoked) = store.gauges().await?;
    Ok(Gauges { tenants, devices_active, devices_revoked })
}

fn metric(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    // Writing to a String cannot fail.
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
}

impl Metrics {
    pub async fn render(&self, store: &Storage) -> Result<String, sqlx::Error> {
        let g = gauges(store).await?;
        let mut out = String::new();
        let counters = [
            ("hms_pushes_total", "Push requests that stored their batch.", self.pushes.get()),
            ("hms_pulls_total", "Pull requests answered.", self.pulls.get()),
            ("hms_changes_stored_total", "Changes stored by pushes.", self.changes_stored.get()),
            ("hms_changes_duplicate_total", "Pushed changes already stored (retries).", self.changes_duplicate.get()),
            ("hms_changes_pulled_total", "Changes handed out by pulls.", self.changes_pulled.get()),
            ("hms_enrolments_total", "Devices enrolled.", self.enrolments.get()),
            (
                "hms_auth_failures_total",
                "Requests refused for a missing, unknown or revoked token.",
                self.auth_failures.get(),
            ),
            ("hms_requests_refused_total", "Requests answered with an error status.", self.requests_refused.get()),
            (
                "hms_blobs_stored_total",
                "Attachment files stored (not counting ones already there).",
                self.blobs_stored.get(),
            ),
            ("hms_blobs_served_total", "Attachment files handed out.", self.blobs_served.get()),
            (
                "hms_changes_refused_total",
                "Pushed changes refused by the change policy (forbidden or too large).",
                self.changes_refused.get(),
            ),
        ];
        for (name, help, value) in counters {
            metric(&mut out, name, "counter", help, value);
        }
        metric(&mut out, "hms_tenants", "gauge", "Tenants.", g.tenants);
        let _ = writeln!(
            out,
            "# HELP hms_devices Enrolled devices by state.\n# TYPE hms_devices gauge\n\
             hms_devices{{state=\"active\"}} {}\nhms_devices{{state=\"revoked\"}} {}",
            g.devices_active, g.devices_revoked
        );
        Ok(out)
    }
}
