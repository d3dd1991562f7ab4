//! `hms-admin bench`: the contract is shared/BENCH.md. Each area adds a module that fills
//! the database with its synthetic records and times its operations through hms-core, with
//! a signed-in session, RBAC and audit on.

mod appointments;
mod backup;
mod billing;
mod clinical;
mod cold;
mod fhir;
mod foundation;
mod inpatients;
mod patients;
mod plain;
mod reports;
mod stats;
mod stock;
mod sync;
mod ward_round;

use clap::Args;
use hms_core::setup::{self, NewAdmin};
use hms_core::{SessionSlot, Store};
use serde_json::{json, Map, Value};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Patients in the generated database (used by the patients area and the areas after it).
    #[arg(long, default_value_t = 1_000_000)]
    patients: u64,
    /// Seed of the synthetic-data generator, so runs are repeatable.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Reuse (or create) the database at this path instead of a temporary one.
    #[arg(long)]
    db: Option<PathBuf>,
    /// Only these areas, comma-separated (foundation, patients, ...).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Also write the JSON to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// PostgreSQL for the sync area (an hms-server runs in-process against it, on a fresh
    /// tenant); without it the sync area is skipped.
    #[arg(long, env = "HMS_BENCH_SERVER_DB")]
    server_db: Option<String>,
    /// Also run the patients area (and the backup area, when it runs) on an unencrypted
    /// database in the same run, and report encryption's overhead as ratios (`plain`,
    /// `overhead`).
    #[arg(long)]
    plain: bool,
}

pub const BENCH_USER: &str = "bench.admin";
pub const BENCH_PASSWORD: &str = "Bench#Admin2026";

/// What every area gets: the store and a signed-in administrator.
pub struct Ctx {
    pub store: Store,
    pub session: SessionSlot,
    pub rates: Map<String, Value>,
    pub latency: Map<String, Value>,
}

fn wants(args: &BenchArgs, area: &str) -> bool {
    args.only.is_empty() || args.only.iter().any(|a| a == area)
}

async fn sign_in(store: &Store) -> Result<SessionSlot, String> {
    if setup::needs_setup(store).await.map_err(|e| e.to_string())? {
        let admin =
            NewAdmin { username: BENCH_USER.into(), full_name: "Benchmark".into(), password: BENCH_PASSWORD.into() };
        setup::create_first_admin(store, admin).await.map_err(|e| e.to_string())?;
    }
    let slot = SessionSlot::default();
    hms_core::auth::sign_in(store, &slot, BENCH_USER, BENCH_PASSWORD)
        .await
        .map_err(|e| format!("bench sign-in: {e} (a --db must have been made by bench)"))?;
    Ok(slot)
}

pub async fn run(args: BenchArgs) -> Result<(), String> {
    if args.plain && !wants(&args, "patients") {
        return Err("--plain compares the patients area: include it in --only".into());
    }
    let tmp = tempdir()?;
    let path = args.db.clone().unwrap_or_else(|| tmp.join(hms_core::store::DB_FILE));
    eprintln!("bench: database {}", path.display());
    let store = Store::open(&path).await.map_err(|e| e.to_string())?;
    let session = sign_in(&store).await?;
    let mut ctx = Ctx { store, session, rates: Map::new(), latency: Map::new() };

    if wants(&args, "foundation") {
        foundation::run(&mut ctx).await.map_err(|e| e.to_string())?;
    }
    let mut patients = 0;
    if wants(&args, "patients") {
        patients = patients::run(&mut ctx, args.patients, args.seed).await?;
    }
    if wants(&args, "appointments") {
        appointments::run(&mut ctx, args.patients, args.seed).await?;
        patients = patients.max(count_patients(&ctx.store).await?);
    }
    if wants(&args, "billing") {
        billing::run(&mut ctx, args.patients, args.seed).await?;
        patients = patients.max(count_patients(&ctx.store).await?);
    }
    if wants(&args, "clinical") {
        clinical::run(&mut ctx).await?;
        patients = patients.max(count_patients(&ctx.store).await?);
    }
    if wants(&args, "inpatients") {
        inpatients::run(&mut ctx, args.seed).await?;
        patients = patients.max(count_patients(&ctx.store).await?);
    }
    if wants(&args, "stock") {
        stock::run(&mut ctx).await?;
        patients = patients.max(count_patients(&ctx.store).await?);
    }
    if wants(&args, "backup") {
        backup::run(&mut ctx, args.patients, args.seed, &tmp).await?;
        patients = patients.max(count_patients(&ctx.store).await?);
    }
    if wants(&args, "reports") {
        reports::run(&mut ctx, args.patients, args.seed).await?;
        patients = patients.max(count_patients(&ctx.store).await?);
    }
    if wants(&args, "fhir") {
        fhir::run(&mut ctx, &tmp).await?;
        patients = patients.max(count_patients(&ctx.store).await?);
    }
    if wants(&args, "sync") {
        match &args.server_db {
            Some(url) => sync::run(&mut ctx, url, args.patients, args.seed, &tmp).await?,
            None => eprintln!("bench: area 'sync' needs PostgreSQL (--server-db POSTGRES_URL); skipped"),
        }
    }

    let with_backup = wants(&args, "backup");
    let plain =
        if args.plain { Some(plain::run(&ctx, args.patients, args.seed, &tmp, with_backup).await?) } else { None };

    let db_bytes = file_bytes(&path);
    let mut report = json!({
        "machine": { "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1), "os": std::env::consts::OS },
        "patients": patients,
        "seed": args.seed,
        "db_bytes": db_bytes,
        "rates": ctx.rates,
        "latency_ms": ctx.latency,
    });
    if let (Some(plain), Some(obj)) = (plain, report.as_object_mut()) {
        obj.insert("plain".into(), plain.figures);
        obj.insert("overhead".into(), plain.overhead);
    }
    let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    println!("{text}");
    if let Some(out) = &args.out {
        std::fs::write(out, &text).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    ctx.store.close().await;
    if args.db.is_none() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    Ok(())
}

/// Folds the WAL into the database, untimed, after the bench wrote in seconds what a clinic
/// writes over months (a year's ledger, a year of stays, a ward's two days): otherwise the
/// checkpointer copies it while the first operations are timed.
pub(crate) async fn settle(store: &Store) -> Result<(), String> {
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(store.pool()).await.map_err(|e| e.to_string())?;
    Ok(())
}

async fn count_patients(store: &Store) -> Result<u64, String> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM patients").fetch_one(store.pool()).await.map_err(|e| e.to_string())?;
    Ok(n.max(0) as u64)
}

fn tempdir() -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("hms-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    Ok(dir)
}

/// The database with its WAL, as it stands on disk.
fn file_bytes(db: &std::path::Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", db.display())).ok())
        .map(|m| m.len())
        .sum()
}
