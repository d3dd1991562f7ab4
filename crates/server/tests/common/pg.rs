//! A throwaway PostgreSQL cluster for the tests: found under /usr/lib/postgresql/*/bin (or
//! HMS_PG_BINDIR), created in a temporary directory, listening on a free loopback port, and
//! stopped and deleted when the test binary exits.
//!
//! One cluster per test binary (starting one takes a few seconds), one database per test.
//! Cleanup: the cluster lives in a static, which Rust never drops, so an `atexit` hook stops
//! it when the test harness exits (normally or after failed tests: both go through `exit`).
//! A run killed outright (SIGKILL) cannot clean up; the next run reaps such leftovers (their
//! owner process is gone) before starting its own.

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

const DIR_PREFIX: &str = "hms-pg-test-";
const OWNER_FILE: &str = "owner.pid";

pub struct PgCluster {
    base: PathBuf,
    bindir: PathBuf,
    /// initdb refuses to run as root: then every PostgreSQL command runs as `postgres`.
    run_as_postgres: bool,
    pub port: u16,
    password: String,
}

static CLUSTER: OnceLock<PgCluster> = OnceLock::new();

/// The cluster of this test binary, started on first use. Panics with what to do when
/// PostgreSQL is not installed: a missing database must fail the tests, not skip them.
pub fn cluster() -> &'static PgCluster {
    CLUSTER.get_or_init(|| {
        let cluster = PgCluster::start().unwrap_or_else(|e| panic!("test PostgreSQL: {e}"));
        // SAFETY: registers a plain `extern "C" fn` with no captured state; libc calls it
        // once at process exit.
        unsafe {
            libc::atexit(stop_at_exit);
        }
        cluster
    })
}

extern "C" fn stop_at_exit() {
    if let Some(cluster) = CLUSTER.get() {
        cluster.stop();
    }
}

impl PgCluster {
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres:{}@127.0.0.1:{}/{database}", self.password, self.port)
    }

    fn start() -> Result<PgCluster, String> {
        let bindir = find_bindir()?;
        reap_leftovers(&bindir);
        let run_as_postgres = running_as_root();
        let base = make_base_dir(run_as_postgres)?;
        let password = random_password()?;
        let mut cluster = PgCluster { base, bindir, run_as_postgres, port: 0, password };
        let result = cluster.init().and_then(|()| cluster.start_server());
        if let Err(e) = result {
            cluster.stop();
            return Err(e);
        }
        Ok(cluster)
    }

    fn data_dir(&self) -> PathBuf {
        self.base.join("data")
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bindir.join(program);
        if self.run_as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn init(&self) -> Result<(), String> {
        let pwfile = self.base.join("pwfile");
        write_file(&pwfile, &self.password)?;
        self.chown(&pwfile)?;
        let out = self
            .command("initdb")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-U", "postgres", "-A", "scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(())
    }

    /// Starts the server on a free port; another process may take the port between our probe
    /// and PostgreSQL's bind, so a failed start is retried on a new port.
    fn start_server(&mut self) -> Result<(), String> {
        let socket_dir = self.base.join("sock");
        fs::create_dir_all(&socket_dir).map_err(|e| format!("{}: {e}", socket_dir.display()))?;
        self.chown(&socket_dir)?;
        let log = self.base.join("postgres.log");
        let mut last_error = String::new();
        for _ in 0..5 {
            self.port = free_port()?;
            let options = format!(
                "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c synchronous_commit=off \
                 -c full_page_writes=off -c max_connections=200",
                self.port,
                socket_dir.display()
            );
            // Output to files and /dev/null, never pipes: the server outlives pg_ctl and would
            // hold a pipe open.
            let status = self
                .command("pg_ctl")
                .arg("-D")
                .arg(self.data_dir())
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "60", "-o", &options, "start"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map_err(|e| format!("cannot run pg_ctl: {e}"))?;
            if status.success() {
                return Ok(());
            }
            last_error = fs::read_to_string(&log).unwrap_or_default();
        }
        Err(format!("pg_ctl start failed; server log:\n{last_error}"))
    }

    fn chown(&self, path: &Path) -> Result<(), String> {
        if !self.run_as_postgres {
            return Ok(());
        }
        let (uid, gid) = postgres_ids()?;
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(|e| format!("chown {}: {e}", path.display()))
    }

    /// Stops the server (immediately: the data is thrown away) and deletes the directory.
    /// Never panics: it runs from `atexit`.
    fn stop(&self) {
        stop_cluster_dir(&self.bindir, &self.base, self.run_as_postgres);
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

fn stop_cluster_dir(bindir: &Path, base: &Path, run_as_postgres: bool) {
    let data = base.join("data");
    if data.join("postmaster.pid").exists() {
        let pg_ctl = bindir.join("pg_ctl");
        let mut c = if run_as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(pg_ctl);
            c
        } else {
            Command::new(pg_ctl)
        };
        let _ = c
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = fs::remove_dir_all(base);
}

/// The newest PostgreSQL with both initdb and pg_ctl.
fn find_bindir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("HMS_PG_BINDIR") {
        let dir = PathBuf::from(dir);
        if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
            return Ok(dir);
        }
        return Err(format!("HMS_PG_BINDIR={} has no initdb and pg_ctl", dir.display()));
    }
    let mut found: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).ok_or_else(|| {
        "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin. \
         The hms-server tests need a real PostgreSQL: run `make deps` (it installs the `postgresql` \
         apt package) or `apt install postgresql`, or point HMS_PG_BINDIR at a bin directory."
            .to_string()
    })
}

fn running_as_root() -> bool {
    // /proc/self belongs to the process's effective user.
    fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

fn postgres_ids() -> Result<(u32, u32), String> {
    let id = |flag: &str| -> Result<u32, String> {
        let out = Command::new("id").args([flag, "postgres"]).output().map_err(|e| format!("cannot run id: {e}"))?;
        String::from_utf8_lossy(&out.stdout).trim().parse().map_err(|_| {
            "running as root, but there is no `postgres` user to run PostgreSQL as \
             (the postgresql package creates it: run `make deps`)"
                .to_string()
        })
    };
    Ok((id("-u")?, id("-g")?))
}

fn make_base_dir(run_as_postgres: bool) -> Result<PathBuf, String> {
    let pid = std::process::id();
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let base = clusters_root().join(format!("{DIR_PREFIX}{pid}-{nanos}"));
    fs::create_dir(&base).map_err(|e| format!("cannot create {}: {e}", base.display()))?;
    write_file(&base.join(OWNER_FILE), &pid.to_string())?;
    if run_as_postgres {
        let (uid, gid) = postgres_ids()?;
        std::os::unix::fs::chown(&base, Some(uid), Some(gid)).map_err(|e| format!("chown {}: {e}", base.display()))?;
    }
    Ok(base)
}

/// Stops and deletes clusters left by test runs that were killed before their cleanup ran.
fn reap_leftovers(bindir: &Path) {
    let Ok(entries) = fs::read_dir(clusters_root()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(DIR_PREFIX) {
            continue;
        }
        let base = entry.path();
        let alive = match fs::read_to_string(base.join(OWNER_FILE)) {
            Ok(owner) => owner.trim().parse::<u32>().is_ok_and(|pid| Path::new(&format!("/proc/{pid}")).exists()),
            // Being created right now by another run, unless it has been like that for long.
            Err(_) => {
                let age = entry.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
                !matches!(age, Some(age) if age.as_secs() >= 600)
            }
        };
        if !alive {
            stop_cluster_dir(bindir, &base, running_as_root());
        }
    }
}

/// Where clusters go: the temporary directory, but /tmp when PostgreSQL runs as `postgres`,
/// which could not reach a TMPDIR inside root's home.
fn clusters_root() -> PathBuf {
    if running_as_root() {
        PathBuf::from("/tmp")
    } else {
        std::env::temp_dir()
    }
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

fn random_password() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| e.to_string())?;
    Ok(hex::encode(bytes))
}

fn write_file(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}
