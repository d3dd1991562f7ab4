//! `hms-admin backup | restore | verify-backup`: the core's backup module from the machine
//! itself (audited as the system, as the CLI's other writes).

use hms_core::backup::{self, BackupProgress, Manifest};
use hms_core::store::Actor;
use std::io::{BufRead, Write};
use std::path::Path;

/// An error as the CLI prints it: its stable code, then its words.
fn failed(e: hms_core::Error) -> String {
    format!("{}: {e}", e.code())
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Prints what a backup holds.
fn describe(m: &Manifest) {
    println!(
        "  clinic:     {}{}",
        m.clinic.name,
        m.clinic.tenant_id.as_ref().map(|t| format!(" (tenant {t})")).unwrap_or_default()
    );
    println!("  device:     {}", m.device_id);
    println!("  taken at:   {}", m.taken_at);
    println!("  HMS:        {} (schema {})", m.app_version, m.schema_version);
    let rows = |t: &str| m.counts.get(t).copied().unwrap_or(0);
    println!(
        "  records:    {} patients, {} appointments, {} visits, {} bills, {} users, {} audit entries",
        rows("patients"),
        rows("appointments"),
        rows("visits"),
        rows("bills"),
        rows("users"),
        rows("audit_log")
    );
    println!("  files:      {} ({:.1} MiB), {} attachments", m.files.len(), mib(m.total_bytes()), m.files.len() - 1);
}

/// `backup [--to DIR]`: a verified backup in DIR (default: `backups` in the data directory),
/// then the folder's retention (7 daily, 4 weekly, 12 monthly) unless `keep_all`.
pub async fn backup(data_dir: &Path, to: Option<&Path>, keep_all: bool) -> Result<(), String> {
    let store = hms_core::Store::open_in_dir(data_dir).await.map_err(failed)?;
    // Default: the folder an administrator set for this device (Backups screen), else
    // `backups` in the data directory.
    let dir = match to {
        Some(to) => to.to_path_buf(),
        None => backup::folder(&store).await.map_err(failed)?,
    };
    let last = std::sync::Mutex::new((backup::BackupPhase::Database, -1.0));
    let progress = |p: BackupProgress| {
        if let Ok(mut last) = last.lock() {
            // Every tenth, per phase.
            let step = (p.fraction * 10.0).floor() / 10.0;
            if last.0 != p.phase || step > last.1 {
                *last = (p.phase, step);
                eprintln!("  {:?} {:>3.0}%", p.phase, step * 100.0);
            }
        }
    };
    let taken = backup::take_as(&store, Actor::system(), &dir, &progress).await;
    store.close().await;
    let report = taken.map_err(failed)?;
    println!("backup written and verified: {}", report.path);
    describe(&report.manifest);
    println!(
        "  took:       {:.1} s ({:.0} MiB/s)",
        report.seconds,
        mib(report.manifest.total_bytes()) / report.seconds.max(1e-6)
    );
    if report.damaged_files > 0 {
        println!("  WARNING:    {} damaged attachment file(s) left out (see the log)", report.damaged_files);
    }
    if !keep_all {
        for removed in backup::prune(&dir, backup::PRUNE_KEEP).map_err(failed)? {
            println!("removed (retention: 7 daily, 4 weekly, 12 monthly): {}", removed.display());
        }
    }
    Ok(())
}

/// `verify-backup PATH`: every check; exits with an error naming the first that fails.
pub async fn verify(path: &Path) -> Result<(), String> {
    let started = std::time::Instant::now();
    let m = backup::verify(path).await.map_err(failed)?;
    let seconds = started.elapsed().as_secs_f64();
    println!("backup verified: {}", path.display());
    describe(&m);
    println!(
        "  checked:    files against their SHA-256, integrity check, audit chain, row counts in {seconds:.1} s ({:.0} MiB/s)",
        mib(m.total_bytes()) / seconds.max(1e-6)
    );
    Ok(())
}

/// `restore PATH [--yes]`: shows what the backup holds, asks (unless `yes`), restores over the
/// data directory (its store must be closed: quit the app first).
pub async fn restore(data_dir: &Path, path: &Path, yes: bool) -> Result<(), String> {
    let m = backup::inspect(path).map_err(failed)?;
    println!("restore {} over {}:", path.display(), data_dir.display());
    describe(&m);
    if !yes {
        print!(
            "The current database is kept as a safety copy. Quit HMS on this computer first. Type RESTORE to go on: "
        );
        std::io::stdout().flush().map_err(|e| e.to_string())?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer).map_err(|e| e.to_string())?;
        if answer.trim() != "RESTORE" {
            return Err("not restored: not confirmed".into());
        }
    }
    let report = backup::restore(data_dir, path, None, chrono::Utc::now()).await.map_err(failed)?;
    println!("restored (verified first).");
    match &report.safety_copy {
        Some(copy) => println!("  the database it replaced is kept in {copy}"),
        None => println!("  there was no database to replace"),
    }
    if let Some(from) = report.migrated_from {
        println!("  migrated from schema {from} to {}", report.manifest.schema_version.max(from));
    }
    println!("  this device's next change is numbered {}", report.next_change_seq);
    Ok(())
}
