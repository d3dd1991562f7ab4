//! The `hms-server` binary: administration commands, `serve` over HTTP and HTTPS, shutdown
//! on SIGTERM, structured logs.

mod common;

use common::{pg, test_db, Backend, TestServer};
use hms_server::AppState;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_hms-server");

/// A database of its own, and its URL for the binary.
async fn database() -> (sqlx::PgPool, String) {
    let pool = test_db().await;
    let (name,): (String,) = sqlx::query_as("SELECT current_database()").fetch_one(&pool).await.unwrap();
    (pool, pg::cluster().url(&name))
}

/// A database of the tests' backend, and what names it to the binary: a PostgreSQL URL, or
/// the path of a SQLite file (see [`run`]).
async fn store_and_name() -> (hms_server::Storage, String, Option<tempfile::TempDir>) {
    match common::backend() {
        Backend::Postgres => {
            let (pool, url) = database().await;
            (pool.into(), url, None)
        }
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("hub.db");
            let store = hms_server::open_sqlite(&path).await.unwrap();
            (store, path.to_string_lossy().into_owned(), Some(dir))
        }
    }
}

/// Runs the binary on `database`: a `postgres://` URL (HMS_DATABASE_URL) or a SQLite file's
/// path (HMS_SQLITE, the clinic hub's `--sqlite`).
fn run(database: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_remove("HMS_DATABASE_URL").env_remove("HMS_SQLITE").env("RUST_LOG", "warn");
    match database {
        Some(url) if url.starts_with("postgres") => cmd.env("HMS_DATABASE_URL", url),
        Some(path) => cmd.env("HMS_SQLITE", path),
        None => &mut cmd,
    };
    cmd.output().expect("run hms-server")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[track_caller]
fn ok(out: Output) -> String {
    assert!(out.status.success(), "failed ({}): {}{}", out.status, stdout(&out), stderr(&out));
    stdout(&out)
}

#[tokio::test]
async fn admin_commands_manage_tenants_codes_and_devices() {
    let (pool, url, _dir) = store_and_name().await;
    let url = Some(url.as_str());
    assert!(ok(run(url, &["migrate"])).contains("migrations applied"));
    let created = ok(run(url, &["tenant", "create", "Mlimani Clinic"]));
    let tenant = hms_server::admin::find_tenant(&pool, "Mlimani Clinic").await.unwrap();
    assert!(created.contains(&tenant.id), "{created}");
    let again = run(url, &["tenant", "create", "Mlimani Clinic"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("already exists"), "{}", stderr(&again));
    assert!(ok(run(url, &["tenant", "list"])).contains("Mlimani Clinic"));

    // A code from the CLI enrols a device through the API.
    let code = ok(run(url, &["enrol-code", "Mlimani Clinic", "--ttl-hours", "2"]));
    let code = code.trim();
    assert_eq!(code.len(), 19, "{code}");
    let server = TestServer::start_with(common::unchecked(AppState::new(&pool))).await;
    let (status, body) = server
        .post_json(
            "/v1/enrol",
            None,
            &json!({"code": code, "device_name": "Ward 3 tablet", "device_key": common::test_key_hex()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let device_id = body["device_id"].as_str().unwrap().to_string();
    server.push(body["token"].as_str().unwrap(), &common::changes(&device_id, 1..=9)).await;

    let listed = ok(run(url, &["devices", &tenant.id]));
    let line = listed.lines().find(|l| l.contains(&device_id)).unwrap_or_else(|| panic!("{listed}"));
    assert!(line.contains("active") && line.contains("Ward 3 tablet") && line.contains(" 9 "), "{line}");
    assert!(!line.contains("never"), "last seen is set: {line}");

    assert!(ok(run(url, &["revoke", &device_id])).contains("revoked"));
    let listed = ok(run(url, &["devices", "Mlimani Clinic"]));
    assert!(listed.lines().any(|l| l.contains(&device_id) && l.contains("revoked")), "{listed}");
    // With a quarantine from before its pushes: every one of them is withheld and listed.
    let quarantined = ok(run(url, &["revoke", &device_id, "--quarantine", "--since", "2000-01-01 00:00"]));
    assert!(quarantined.contains("was already revoked") && quarantined.contains("change(s) withheld"), "{quarantined}");
    assert!(quarantined.lines().filter(|l| l.trim_start().starts_with('#')).count() > 0, "{quarantined}");
    let bad_time = run(url, &["revoke", &device_id, "--quarantine", "--since", "yesterday"]);
    assert!(!bad_time.status.success() && stderr(&bad_time).contains("RFC 3339"), "{}", stderr(&bad_time));
    assert!(!run(url, &["revoke", &device_id, "--quarantine"]).status.success(), "--since is required");

    for (args, expected) in [
        (vec!["revoke", "no-such-device"], "not found"),
        (vec!["enrol-code", "No Such Clinic"], "not found"),
        (vec!["devices", "No Such Clinic"], "not found"),
    ] {
        let out = run(url, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr(&out).contains(expected), "{args:?}: {}", stderr(&out));
    }
    let zero_ttl = run(url, &["enrol-code", "Mlimani Clinic", "--ttl-hours", "0"]);
    assert!(!zero_ttl.status.success());
}

#[test]
fn without_a_database_url_the_cli_says_what_to_give() {
    let out = run(None, &["tenant", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("HMS_DATABASE_URL") && stderr(&out).contains("--sqlite"), "{}", stderr(&out));
    let both = Command::new(BIN)
        .args(["--sqlite", "/nonexistent/hub.db", "--database-url", "postgres://x@127.0.0.1:1/none", "tenant", "list"])
        .env_remove("HMS_DATABASE_URL")
        .env_remove("HMS_SQLITE")
        .output()
        .unwrap();
    assert!(!both.status.success(), "one database or the other");
    let unreachable = run(Some("postgres://nobody:x@127.0.0.1:1/none"), &["migrate"]);
    assert_eq!(unreachable.status.code(), Some(1));
    assert!(stderr(&unreachable).contains("cannot connect to PostgreSQL"), "{}", stderr(&unreachable));
}

/// The server as a child process; killed if the test fails before stopping it.
struct Served(Option<Child>);

impl Served {
    /// `serve` on `database`: a PostgreSQL URL (in the environment, as advised) or a SQLite
    /// file (`serve --sqlite PATH`).
    fn start(database: &str, port: u16, extra: &[&str]) -> Served {
        let mut cmd = Command::new(BIN);
        cmd.args(["--log-format", "json", "serve", "--listen", &format!("127.0.0.1:{port}")]).args(extra);
        cmd.env_remove("HMS_DATABASE_URL").env_remove("HMS_SQLITE");
        if database.starts_with("postgres") {
            cmd.env("HMS_DATABASE_URL", database);
        } else {
            cmd.args(["--sqlite", database]);
        }
        let child = cmd
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hms-server serve");
        Served(Some(child))
    }

    fn pid(&self) -> u32 {
        self.0.as_ref().map_or(0, Child::id)
    }

    /// SIGTERM, then the exit status and everything it logged.
    fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let mut child = self.0.take().expect("running");
        let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
        assert!(killed.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            assert!(Instant::now() < deadline, "hms-server did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut logs = String::new();
        if let Some(mut err) = child.stderr.take() {
            err.read_to_string(&mut logs).expect("read logs");
        }
        (status, logs)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn wait_until_healthy(served: &Served, check: impl AsyncFn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "hms-server (pid {}) never became healthy", served.pid());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn serve_answers_over_http_logs_json_and_stops_on_sigterm() {
    let (store, url, _dir) = store_and_name().await;
    let port = free_port();
    let served = Served::start(&url, port, &[]);
    let health = format!("http://127.0.0.1:{port}/health");
    let http = common::http();
    wait_until_healthy(
        &served,
        async || matches!(http.get(&health).send().await, Ok(r) if r.status() == StatusCode::OK),
    )
    .await;
    let res = http.get(format!("http://127.0.0.1:{port}/v1/pull?after=0")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let (status, logs) = served.terminate();
    assert!(status.success(), "exit {status}; logs:\n{logs}");
    let lines: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("log line is not JSON ({e}): {l}")))
        .collect();
    let has = |msg: &str| lines.iter().any(|l| l["message"] == msg);
    assert!(has("listening") && has("request") && has("stopped"), "{logs}");
    let backend = format!(r#""database":"{}""#, store.backend());
    assert!(logs.contains(&backend), "the log names the database it serves: {logs}");
    let refused = lines
        .iter()
        .find(|l| l["message"] == "request" && l["status"] == 401)
        .unwrap_or_else(|| panic!("no log of the refused request: {logs}"));
    assert_eq!(refused["path"], "/v1/pull");
    assert!(!logs.contains("after=0"), "query strings stay out of the logs");
}

#[tokio::test]
async fn serve_speaks_https_with_the_given_certificate() {
    let dir = std::env::temp_dir().join(format!("hms-server-tls-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    make_certificate(&cert, &key);
    let (_store, url, _dir) = store_and_name().await;
    let port = free_port();
    let served = Served::start(&url, port, &["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()]);
    let connector = tls_connector(&cert);
    wait_until_healthy(&served, async || https_get(&connector, port, "/health").await.is_some()).await;
    let answer = https_get(&connector, port, "/health").await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with(r#"{"status":"ok"}"#), "{answer}");

    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = common::http().get(format!("http://127.0.0.1:{port}/health")).send().await;
    assert!(plain.is_err() || plain.is_ok_and(|r| r.status() != StatusCode::OK));

    let (status, logs) = served.terminate();
    assert!(status.success(), "exit {status}; logs:\n{logs}");
    assert!(logs.contains(r#""scheme":"https""#), "{logs}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A self-signed certificate for localhost and 127.0.0.1 (openssl comes with PostgreSQL's
/// ssl-cert dependency).
fn make_certificate(cert: &Path, key: &Path) {
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .args(["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(key)
        .arg("-out")
        .arg(cert)
        .output()
        .expect("openssl (apt install openssl) makes the test certificate");
    assert!(out.status.success(), "openssl: {}", stderr(&out));
}

fn tls_connector(cert: &Path) -> tokio_rustls::TlsConnector {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(cert).expect("certificate")).expect("trust the certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// One HTTP/1.1 request over TLS, verifying the server's certificate for "localhost".
async fn https_get(connector: &tokio_rustls::TlsConnector, port: u16, path: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    let name = rustls::pki_types::ServerName::try_from("localhost").ok()?;
    let mut tls = connector.connect(name, tcp).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).await.ok()?;
    let mut answer = Vec::new();
    // The server may close without close_notify; what was read is what counts.
    let _ = tls.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    answer.starts_with("HTTP/1.1").then_some(answer)
}
