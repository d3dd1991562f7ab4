//! hms-admin: administration of an HMS database from the machine it lives on (a headless
//! box, a cron job, a test). It calls the same hms-core functions as the app.

mod backup_cmd;
mod bench;
mod crash_child;
mod fhir_cmd;
mod generate;
mod generate_billing;
mod generate_clinical;
mod generate_inpatients;
mod generate_schedule;

use clap::{Parser, Subcommand};
use hms_core::setup::{self, NewAdmin};
use hms_core::Store;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

/// Tauri's identifier: the app and this CLI find the same database by default.
const APP_IDENTIFIER: &str = "org.hms.clinic";

#[derive(Parser)]
#[command(name = "hms-admin", version, about = "Administer an HMS database")]
struct Cli {
    /// Data directory holding hms.db (default: $HMS_DATA_DIR, else the app's data directory).
    #[arg(long, global = true, env = "HMS_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the first administrator. The password is read from HMS_ADMIN_PASSWORD or stdin.
    CreateAdmin {
        #[arg(long)]
        username: String,
        #[arg(long)]
        full_name: String,
        /// Tests only: in an unencrypted database, as a version before encryption at rest
        /// left it (the app's start encrypts it; tests/e2e/encryption.e2e.test.mjs).
        #[arg(long, hide = true)]
        plain: bool,
    },
    /// Check the audit log's hash chain; exits 1 if it is broken.
    VerifyAudit,
    /// Print the database's schema version (the newest migration applied).
    SchemaVersion,
    /// Fill an empty database with the demo hospital and print its accounts.
    Demo,
    /// Back up the database and attachments into a new, verified folder (the app may be
    /// running), then apply the folder's retention (7 daily, 4 weekly, 12 monthly).
    Backup {
        /// The folder to write into (default: the folder set on the Backups screen, else `backups` in the data directory).
        #[arg(long)]
        to: Option<PathBuf>,
        /// Remove no older backups.
        #[arg(long)]
        keep_all: bool,
    },
    /// Restore a backup over the data directory (quit the app first). The current database is
    /// kept as a safety copy beside it.
    Restore {
        /// The backup folder (`hms-backup-...`).
        backup: PathBuf,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// The recovery key of the computer that made the backup, when it is not this one.
        #[arg(long, env = "HMS_RECOVERY_KEY")]
        recovery_key: Option<String>,
    },
    /// Check a backup: every file against its checksum, the database's integrity, its audit
    /// chain and row counts. Exits 1 naming what failed.
    VerifyBackup {
        /// The backup folder (`hms-backup-...`).
        backup: PathBuf,
        /// The recovery key of the computer that made the backup, when it is not this one.
        #[arg(long, env = "HMS_RECOVERY_KEY")]
        recovery_key: Option<String>,
    },
    /// Print this computer's recovery key: the key of its encrypted database and backups.
    /// Write it down and keep it away from the computer.
    RecoveryKey,
    /// Give the database a new key (quit the app first), opening it with the recovery key:
    /// when the key file was lost or the old recovery key was seen by someone it should not
    /// have been. Prints the new recovery key.
    Rekey {
        /// The current recovery key.
        #[arg(long, env = "HMS_RECOVERY_KEY")]
        recovery_key: String,
    },
    /// Measure the system as a clinic uses it and print JSON (see shared/BENCH.md).
    Bench(bench::BenchArgs),
    /// Add synthetic clinical records (visits, vitals, diagnoses, prescriptions, lab results)
    /// for attended appointments that have none, the most recent first.
    GenerateClinical {
        /// At most this many visits (one per attended appointment).
        #[arg(long, default_value_t = 10_000)]
        max_visits: u64,
        /// Seed of the generator, so runs are repeatable.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// HL7 FHIR R4: `fhir export [--patient MRN] [--out DIR]`.
    #[command(subcommand)]
    Fhir(fhir_cmd::FhirCommand),
    /// The crash test's child (crates/cli/tests/crash.rs): acknowledged writes until killed.
    #[command(hide = true)]
    CrashChild {
        /// The database to write to (created with its own administrator if new).
        #[arg(long)]
        db: PathBuf,
    },
}

fn data_dir(cli: &Option<PathBuf>) -> Result<PathBuf, String> {
    match cli {
        Some(d) => Ok(d.clone()),
        None => dirs::data_dir()
            .map(|d| d.join(APP_IDENTIFIER))
            .ok_or_else(|| "no data directory on this platform: pass --data-dir".to_string()),
    }
}

async fn open(dir: &Option<PathBuf>) -> Result<Store, String> {
    let dir = data_dir(dir)?;
    Store::open_in_dir(&dir).await.map_err(|e| e.to_string())
}

fn read_password() -> Result<String, String> {
    if let Ok(pw) = std::env::var("HMS_ADMIN_PASSWORD") {
        return Ok(pw);
    }
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s).map_err(|e| e.to_string())?;
    Ok(s.trim_end_matches(['\n', '\r']).to_string())
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::CreateAdmin { username, full_name, plain } => {
            let password = read_password()?;
            let store = if plain {
                let db = data_dir(&cli.data_dir)?.join(hms_core::store::DB_FILE);
                Store::open_plain(&db).await.map_err(|e| e.to_string())?
            } else {
                open(&cli.data_dir).await?
            };
            let id = setup::create_first_admin(&store, NewAdmin { username, full_name, password })
                .await
                .map_err(|e| e.to_string())?;
            println!("created administrator {id}");
        }
        Command::VerifyAudit => {
            let store = open(&cli.data_dir).await?;
            let local = hms_core::audit::verify_unaudited(&store).await.map_err(|e| e.to_string())?;
            // ... and against the sync server's copy of this device's chain, when enrolled.
            let v = hms_core::sync::audit_against_server(&store, local).await.map_err(|e| e.to_string())?;
            if v.intact {
                println!("audit chain intact: {} entries checked", v.checked);
                match v.server {
                    hms_core::audit::ServerCopy::Matches { seq } => {
                        println!("matches the sync server's copy (up to entry {seq})")
                    }
                    hms_core::audit::ServerCopy::Unreachable => {
                        println!("not compared with the sync server's copy: the server could not be reached")
                    }
                    hms_core::audit::ServerCopy::NothingYet => println!("the sync server holds none of it yet"),
                    _ => {}
                }
            } else {
                return Err(format!(
                    "audit chain BROKEN at entry {}: {}",
                    v.first_bad_seq.unwrap_or(0),
                    v.problem.unwrap_or_default()
                ));
            }
        }
        Command::SchemaVersion => {
            let store = open(&cli.data_dir).await?;
            println!("{}", store.schema_version().await.map_err(|e| e.to_string())?);
        }
        Command::Demo => {
            let store = open(&cli.data_dir).await?;
            for a in setup::load_demo(&store).await.map_err(|e| e.to_string())? {
                let roles: Vec<&str> = a.roles.iter().map(|r| r.code()).collect();
                println!("{}\t{}\t{}", a.username, a.password, roles.join(","));
            }
        }
        Command::Backup { to, keep_all } => {
            backup_cmd::backup(&data_dir(&cli.data_dir)?, to.as_deref(), keep_all).await?
        }
        Command::Restore { backup, yes, recovery_key } => {
            backup_cmd::restore(&data_dir(&cli.data_dir)?, &backup, yes, recovery_key.as_deref()).await?
        }
        Command::VerifyBackup { backup, recovery_key } => {
            backup_cmd::verify(&data_dir(&cli.data_dir)?, &backup, recovery_key.as_deref()).await?
        }
        Command::RecoveryKey => backup_cmd::recovery_key(&data_dir(&cli.data_dir)?)?,
        Command::Rekey { recovery_key } => backup_cmd::rekey(&data_dir(&cli.data_dir)?, &recovery_key).await?,
        Command::Bench(args) => bench::run(args).await?,
        Command::GenerateClinical { max_visits, seed } => {
            let store = open(&cli.data_dir).await?;
            let (made, rate) =
                generate_clinical::visits(&store, hms_core::store::Actor::system(), max_visits, seed).await?;
            println!("{made:?} ({rate:.0} visits/s)");
        }
        Command::Fhir(cmd) => {
            let store = open(&cli.data_dir).await?;
            let password = read_password()?;
            fhir_cmd::run(&store, cmd, &password).await?;
        }
        Command::CrashChild { db } => crash_child::run(&db).await?,
    }
    Ok(())
}

/// mimalloc, as SQLite's allocator (`hms_core::allocator`).
#[global_allocator]
static ALLOCATOR: hms_core::allocator::Allocator = hms_core::allocator::Allocator;

#[tokio::main]
async fn main() -> ExitCode {
    hms_core::allocator::route_sqlite();
    // What a storage error's reference stands for goes to standard error.
    hms_core::logging::to_stderr();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hms-admin: {e}");
            ExitCode::FAILURE
        }
    }
}
