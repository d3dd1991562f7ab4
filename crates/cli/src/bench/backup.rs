//! The backup area (issue 14): a verified backup of the whole database (and attachments)
//! taken while registrations go on, its verification and a restore, in MB/s (10^6 bytes of the
//! backup's files a second), and the registrations' latency while the backup runs.

use super::stats::summarize;
use super::Ctx;
use crate::generate::{self, Generator};
use hms_core::backup::{self, BackupPhase, BackupProgress};
use hms_core::patients;
use serde_json::json;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

fn mb_per_s(bytes: u64, seconds: f64) -> f64 {
    (bytes as f64 / 1e6 / seconds.max(1e-9) * 10.0).round() / 10.0
}

/// Backs up the bench database into `tmp` (generating `n` patients first when it has none),
/// registering patients all the while; then verifies the backup and restores it into a data
/// directory of its own.
pub async fn run(ctx: &mut Ctx, n: u64, seed: u64, tmp: &Path) -> Result<(), String> {
    let auth = ctx.session.authorize(&ctx.store).await.map_err(|e| e.to_string())?;
    if super::count_patients(&ctx.store).await? == 0 {
        eprintln!("bench: backup: generating {n} patients (seed {seed})");
        generate::patients(&ctx.store, &auth, n, seed).await?;
    }
    let folder = tmp.join("backups");
    let _ = std::fs::remove_dir_all(&folder);

    // The backup, with registrations going on until it has been written (its verification is
    // timed on its own below).
    let written = Mutex::new(None::<Instant>);
    let progress = |p: BackupProgress| {
        if p.phase == BackupPhase::Verify {
            if let Ok(mut w) = written.lock() {
                w.get_or_insert_with(Instant::now);
            }
        }
    };
    let done = AtomicBool::new(false);
    let started = Instant::now();
    let take = async {
        let r = backup::take(&ctx.store, &folder, &progress).await;
        done.store(true, Ordering::Relaxed);
        r
    };
    let today = ctx.store.now().date_naive();
    let mut g = Generator::new(seed ^ 0xbac0);
    let desk = async {
        let mut samples = Vec::new();
        while !done.load(Ordering::Relaxed) {
            let input = g.patient(today);
            let at = Instant::now();
            match patients::register(&ctx.store, &auth, input).await {
                Ok(_) | Err(hms_core::Error::LikelyDuplicate { .. }) => {}
                Err(e) => return Err(e.to_string()),
            }
            if written.lock().map(|w| w.is_none()).unwrap_or(false) {
                samples.push(at.elapsed());
            }
            // A desk registers a patient now and then, not in a tight loop.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(samples)
    };
    let (taken, samples) = tokio::join!(take, desk);
    let report = taken.map_err(|e| e.to_string())?;
    let samples = samples?;
    let bytes = report.manifest.total_bytes();
    let write_s =
        written.lock().ok().and_then(|w| *w).map_or(report.seconds, |w| w.duration_since(started).as_secs_f64());
    eprintln!(
        "bench: backup: {:.1} MB written in {write_s:.2} s, {} registrations meanwhile",
        bytes as f64 / 1e6,
        samples.len()
    );
    ctx.rates.insert("backup_mb_per_s".into(), json!(mb_per_s(bytes, write_s)));
    ctx.latency.insert("register_patient_during_backup".into(), json!(summarize(samples)));

    let path = Path::new(&report.path);
    let at = Instant::now();
    backup::verify(path, ctx.store.db_key()).await.map_err(|e| e.to_string())?;
    ctx.rates.insert("verify_backup_mb_per_s".into(), json!(mb_per_s(bytes, at.elapsed().as_secs_f64())));

    let target = tmp.join("restored");
    let _ = std::fs::remove_dir_all(&target);
    let at = Instant::now();
    // Another data directory, as on another computer: the backup opens with this one's
    // recovery key and is re-keyed to the new directory's key.
    backup::restore_with(&target, path, Some(ctx.store.db_key()), None, chrono::Utc::now())
        .await
        .map_err(|e| e.to_string())?;
    ctx.rates.insert("restore_mb_per_s".into(), json!(mb_per_s(bytes, at.elapsed().as_secs_f64())));
    let _ = std::fs::remove_dir_all(&target);
    let _ = std::fs::remove_dir_all(&folder);
    Ok(())
}
