//! `hms-admin backup | restore | verify-backup`: the core's backup module from the machine
//! itself (audited as the system, as the CLI's other writes).

use hms_core::backup::{self, BackupProgress, Manifest};
use hms_core::store::db_key::{self, DbKey};
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

/// The key a backup is opened with: the recovery key given, else this computer's (a computer
/// with no key yet opens only backups taken before encryption at rest).
fn backup_key(data_dir: &Path, recovery: Option<&str>) -> Result<DbKey, String> {
    if let Some(code) = recovery {
        return DbKey::parse_recovery_field("recovery_key", code).map_err(failed);
    }
    match db_key::read_key(&data_dir.join(hms_core::store::DB_FILE)).map_err(failed)? {
        Some(key) => Ok(key),
        None => DbKey::generate().map_err(failed),
    }
}

/// `verify-backup PATH [--recovery-key K]`: every check; exits with an error naming the first
/// that fails.
pub async fn verify(data_dir: &Path, path: &Path, recovery: Option<&str>) -> Result<(), String> {
    let key = backup_key(data_dir, recovery)?;
    let started = std::time::Instant::now();
    let m = backup::verify(path, &key).await.map_err(failed)?;
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
pub async fn restore(data_dir: &Path, path: &Path, yes: bool, recovery: Option<&str>) -> Result<(), String> {
    let recovery =
        recovery.map(|code| DbKey::parse_recovery_field("recovery_key", code)).transpose().map_err(failed)?;
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
    let report =
        backup::restore_with(data_dir, path, recovery.as_ref(), None, chrono::Utc::now()).await.map_err(failed)?;
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

/// `recovery-key`: this computer's recovery key (whoever can run this can read the key file).
pub fn recovery_key(data_dir: &Path) -> Result<(), String> {
    let db = data_dir.join(hms_core::store::DB_FILE);
    match db_key::read_key(&db).map_err(failed)? {
        Some(key) => {
            println!("{}", key.recovery_code());
            Ok(())
        }
        None => Err(format!("no database key in {}: HMS has not been started there", data_dir.display())),
    }
}

/// `rekey --recovery-key K`: a new key for the database (the app closed); prints the new
/// recovery key (the core writes it beside the key file before the database changes).
pub async fn rekey(data_dir: &Path, recovery: &str) -> Result<(), String> {
    let key = DbKey::parse_recovery_field("recovery_key", recovery).map_err(failed)?;
    let db = data_dir.join(hms_core::store::DB_FILE);
    let new = hms_core::store::encrypt::rekey(&db, &key).await.map_err(failed)?;
    println!(
        "database re-encrypted with a new key. The new recovery key (write it down; the old one no longer opens it):"
    );
    println!("{}", new.recovery_code());
    Ok(())
}
