//! `hms-server`: run the sync server and administer its tenants and devices.

use chrono::{DateTime, Duration, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use hms_server::store::hub_key;
use hms_server::{admin, AppState, Storage};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "hms-server", version, about = "HMS sync server (PostgreSQL, or SQLite for a clinic hub)")]
struct Cli {
    /// PostgreSQL URL, e.g. postgres://hms:PASSWORD@localhost/hms (prefer the environment
    /// variable: a URL on the command line is visible to every user in `ps`).
    #[arg(long, visible_alias = "db", env = "HMS_DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,
    /// A SQLite database file instead of PostgreSQL (the clinic hub: one process, one file,
    /// created if missing). Every subcommand takes it, e.g. `hms-server --sqlite hub.db serve`.
    #[arg(long, value_name = "PATH", env = "HMS_SQLITE", global = true, conflicts_with = "database_url")]
    sqlite: Option<PathBuf>,
    /// The `--sqlite` database's key file: the file is encrypted (SQLCipher) with the key it
    /// holds (64 hex digits). Made, readable by its owner only, with a new random key when
    /// neither it nor the database exists yet. Keep a copy of it apart from the database's
    /// backups: without it they cannot be read.
    #[arg(long, value_name = "PATH", env = "HMS_SQLITE_KEY_FILE", global = true, requires = "sqlite")]
    sqlite_key_file: Option<PathBuf>,
    /// Log lines as text (key=value) or JSON, on stderr. RUST_LOG filters them.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// The server's limits (README, "Security model"); each also from the environment.
#[derive(Args, Clone, Copy)]
struct LimitArgs {
    /// How far ahead of this server's clock a change's stamp may be, in seconds; a push with a
    /// stamp further ahead is refused (409 clock_ahead) and the device says its clock is wrong.
    #[arg(long, env = "HMS_MAX_CLOCK_AHEAD_SECS", default_value_t = hms_protocol::MAX_CLOCK_AHEAD_MS / 1000,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    max_clock_ahead_secs: u64,
    /// Each tenant's attachment files together, in GiB; an upload beyond is refused (507
    /// blob_quota_exceeded) and the device shows it on its Sync screen.
    #[arg(long, env = "HMS_BLOB_QUOTA_GIB", default_value_t = hms_protocol::BLOB_QUOTA_BYTES >> 30,
          value_parser = clap::value_parser!(u64).range(1..=1 << 20))]
    blob_quota_gib: u64,
    /// Requests a minute from one device (and as many at once after a quiet minute); more are
    /// refused with 429 rate_limited and Retry-After. 0: no limit.
    #[arg(long, env = "HMS_REQUESTS_PER_MINUTE", default_value_t = hms_protocol::REQUESTS_PER_MINUTE)]
    requests_per_minute: u32,
    /// GET /v1/wait requests one device may hold open at once; more are refused (429 too_many_waits).
    #[arg(long, env = "HMS_MAX_OPEN_WAITS", default_value_t = hms_protocol::MAX_OPEN_WAITS,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=64))]
    max_open_waits: usize,
    /// A pull page ends at the first segment end past this many MiB of change data.
    #[arg(long, env = "HMS_MAX_PULL_PAGE_MIB", default_value_t = hms_protocol::MAX_PULL_PAGE_BYTES >> 20,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=15))]
    max_pull_page_mib: usize,
}

impl LimitArgs {
    fn limits(self) -> hms_server::Limits {
        hms_server::Limits {
            max_clock_ahead_ms: self.max_clock_ahead_secs * 1000,
            blob_quota_bytes: self.blob_quota_gib << 30,
            requests_per_minute: self.requests_per_minute,
            max_open_waits: self.max_open_waits,
            max_pull_page_bytes: self.max_pull_page_mib << 20,
            ..Default::default()
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Apply the database migrations (serve also does this on start).
    Migrate,
    /// Serve the sync API.
    Serve {
        /// Address and port to listen on (0.0.0.0:8443 for every interface).
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: SocketAddr,
        /// PEM certificate chain; with --tls-key, serve HTTPS.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// PEM private key of the certificate.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Tenants (clinics).
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Make a one-time enrolment code for a tenant (id or name); prints the code.
    EnrolCode {
        tenant: String,
        /// Hours until the code expires (1 to 720).
        #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(i64).range(1..=admin::MAX_CODE_TTL_HOURS))]
        ttl_hours: i64,
        /// A code for "Connect again": lets this revoked device back in under its own id (only
        /// it can use the code), so that what it could not send while revoked arrives.
        #[arg(long, value_name = "DEVICE_ID")]
        replaces: Option<String>,
    },
    /// List a tenant's devices (id or name).
    Devices { tenant: String },
    /// Revoke a device: its token stops working at once. With --quarantine, what it pushed at
    /// or after --since is also withheld from every pull, and listed.
    Revoke {
        device_id: String,
        /// Withhold the device's changes received at or after --since from every pull.
        #[arg(long, requires = "since")]
        quarantine: bool,
        /// When the device was lost: RFC 3339 (2026-12-05T08:30:00+05:30) or "YYYY-MM-DD HH:MM" in UTC.
        #[arg(long, requires = "quarantine", value_parser = parse_time)]
        since: Option<DateTime<Utc>>,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant; prints its id.
    Create { name: String },
    /// List the tenants.
    List,
}

/// mimalloc, as the app's and hms-admin's (`hms_core::allocator`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hms-server: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("hms-server: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(false).init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

/// The database the command names: a SQLite file (opened and migrated: it is the hub's own)
/// or PostgreSQL (migrated by `migrate` and `serve` only).
async fn open_store(
    database_url: Option<String>,
    sqlite: Option<PathBuf>,
    key_file: Option<PathBuf>,
) -> Result<Storage, String> {
    if let Some(path) = sqlite {
        let key = match key_file {
            Some(file) => Some(hub_key::load_or_create(&file, &path).map_err(|e| e.to_string())?),
            None => {
                hub_key::require_clear(&path).map_err(|e| e.to_string())?;
                None
            }
        };
        return hms_server::open_sqlite_with(&path, key.as_ref())
            .await
            .map_err(|e| format!("cannot open {}: {e}", path.display()));
    }
    let url = database_url.ok_or(
        "no database: give --database-url (or set HMS_DATABASE_URL: postgres://USER:PASSWORD@HOST/DB), \
         or --sqlite PATH for a clinic hub",
    )?;
    let pool = hms_server::connect(&url).await.map_err(|e| format!("cannot connect to PostgreSQL: {e}"))?;
    Ok(Storage::Postgres(pool))
}

async fn run(cli: Cli) -> Result<(), String> {
    let store = open_store(cli.database_url, cli.sqlite, cli.sqlite_key_file).await?;
    match cli.command {
        Command::Migrate => {
            store.migrate().await.map_err(|e| format!("migrations: {e}"))?;
            println!("migrations applied");
            Ok(())
        }
        Command::Serve { listen, tls_cert, tls_key, limits } => {
            serve(store, listen, tls_cert.zip(tls_key), limits.limits()).await
        }
        Command::Tenant { command: TenantCommand::Create { name } } => {
            let t = admin::create_tenant(&store, &name).await.map_err(|e| e.to_string())?;
            println!("tenant {} created: {}", t.name, t.id);
            Ok(())
        }
        Command::Tenant { command: TenantCommand::List } => list_tenants(&store).await,
        Command::EnrolCode { tenant, ttl_hours, replaces } => {
            let ttl = Duration::hours(ttl_hours);
            let code = match replaces.as_deref() {
                Some(device) => admin::create_replacing_code(&store, &tenant, ttl, device).await,
                None => admin::create_enrol_code(&store, &tenant, ttl).await,
            }
            .map_err(|e| e.to_string())?;
            println!("{}", code.code);
            match replaces {
                Some(device) => eprintln!(
                    "one-time code for device {device} of {} to connect again (Sync screen); expires {}",
                    code.tenant.name,
                    when(Some(code.expires_at))
                ),
                None => eprintln!("one-time code for {}; expires {}", code.tenant.name, when(Some(code.expires_at))),
            }
            Ok(())
        }
        Command::Devices { tenant } => list_devices(&store, &tenant).await,
        Command::Revoke { device_id, quarantine, since } => {
            let r = match since.filter(|_| quarantine) {
                Some(since) => admin::quarantine_device(&store, &device_id, since).await,
                None => admin::revoke_device(&store, &device_id).await,
            }
            .map_err(|e| e.to_string())?;
            let verb = if r.already { "was already revoked" } else { "revoked" };
            println!("device {} {verb} ({})", r.device_id, when(Some(r.revoked_at)));
            if let Some(since) = since {
                let withheld = admin::withheld_changes(&store, &r.device_id).await.map_err(|e| e.to_string())?;
                println!(
                    "quarantined since {}: {} change(s) withheld from every pull",
                    when(Some(since)),
                    withheld.len()
                );
                for c in &withheld {
                    let user = c.user_id.as_deref().unwrap_or("system");
                    println!(
                        "  #{} {} {} {} {} by {user}",
                        c.seq,
                        when(Some(c.received_at)),
                        c.op,
                        c.entity,
                        c.entity_id
                    );
                }
            }
            Ok(())
        }
    }
}

async fn serve(
    store: Storage,
    listen: SocketAddr,
    tls: Option<(PathBuf, PathBuf)>,
    limits: hms_server::Limits,
) -> Result<(), String> {
    store.migrate().await.map_err(|e| format!("migrations: {e}"))?;
    let tls = match tls {
        Some((cert, key)) => Some(hms_server::tls::server_config(&cert, &key).map_err(|e| e.to_string())?),
        None => None,
    };
    let listener = std::net::TcpListener::bind(listen).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(address = %listen, scheme, database = store.backend(), "listening");
    if tls.is_none() && !listen.ip().is_loopback() {
        tracing::warn!("serving plain HTTP on a non-loopback address: device tokens cross the network in clear");
    }
    let state = AppState { limits, ..AppState::new(store) };
    hms_server::serve(listener, state, tls, shutdown_signal()).await.map_err(|e| format!("server: {e}"))?;
    tracing::info!("stopped");
    Ok(())
}

/// Ctrl-C or SIGTERM (systemd's stop).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "never".into(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
}

async fn list_tenants(store: &Storage) -> Result<(), String> {
    let tenants = admin::list_tenants(store).await.map_err(|e| e.to_string())?;
    println!("{:<36}  {:<17}  NAME", "ID", "CREATED");
    for t in tenants {
        println!("{:<36}  {:<17}  {}", t.id, when(Some(t.created_at)).trim_end_matches(" UTC"), t.name);
    }
    Ok(())
}

async fn list_devices(store: &Storage, tenant: &str) -> Result<(), String> {
    let (tenant, devices) = admin::list_devices(store, tenant).await.map_err(|e| e.to_string())?;
    println!("tenant {} ({}): {} device(s)", tenant.name, tenant.id, devices.len());
    println!(
        "{:<36}  {:<8}  {:<20}  {:<20}  {:>10}  {:>7}  NAME",
        "ID", "STATE", "ENROLLED", "LAST SEEN", "PUSHED SEQ", "PENDING"
    );
    for d in devices {
        let state = if d.revoked_at.is_some() { "revoked" } else { "active" };
        // Unknown until the device's first pull reports it.
        let pending = d.pending_changes.map_or("-".to_string(), |n| n.to_string());
        println!(
            "{:<36}  {:<8}  {:<20}  {:<20}  {:>10}  {:>7}  {}",
            d.id,
            state,
            when(Some(d.enrolled_at)),
            when(d.last_seen_at),
            d.last_device_seq,
            pending,
            d.name
        );
    }
    Ok(())
}

/// `--since`: RFC 3339 with its offset, or "YYYY-MM-DD HH:MM" read as UTC.
fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(t.with_timezone(&Utc));
    }
    chrono::NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M")
        .map(|t| t.and_utc())
        .map_err(|_| format!("{text:?}: expected RFC 3339 (2026-12-05T08:30:00+05:30) or \"YYYY-MM-DD HH:MM\" (UTC)"))
}
