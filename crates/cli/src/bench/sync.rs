//! The sync area (shared/BENCH.md): an hms-server started in this process on a free loopback
//! port against `--server-db`, a fresh tenant, and two devices (core stores in a temporary
//! directory, each with its own signed-in administrator) syncing through it over HTTP.
//!
//! - `expand_changes_per_s`: the 10,000 patients are a bulk load (the generator); from the
//!   load's end until its changes are all in device A's outbox (`change_log`), written out in
//!   the background (`hms_core::store::batches`).
//! - `push_changes_per_s`: device A then pushes that outbox of 10,000 changes.
//! - `pull_rows_per_s`: a new device B pulls the whole tenant (100,000 patients by default,
//!   or `--patients N` when given), merging and indexing every row.
//! - `change_visible`: with both online, A registers a patient and syncs; B syncs until the
//!   patient is there. Write to visible on the other device, end to end.

use super::stats::summarize;
use super::Ctx;
use crate::generate;
use hms_core::patients::{self, PatientInput};
use hms_core::setup::{self, NewAdmin};
use hms_core::{sync, SessionSlot, Store};
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

/// Changes in the measured push.
const PUSH_CHANGES: u64 = 10_000;
/// The tenant a new device pulls, unless `--patients` says otherwise.
const PULL_PATIENTS: u64 = 100_000;
/// `hms-admin bench`'s default `--patients` (meant for the local areas, not this one).
const DEFAULT_PATIENTS: u64 = 1_000_000;
const VISIBLE_SAMPLES: usize = 50;
const PASSWORD: &str = "Bench#Sync2026";

struct Device {
    store: Store,
    slot: SessionSlot,
}

async fn device(dir: &Path, username: &str) -> Result<Device, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let store = Store::open_in_dir(dir).await.map_err(|e| e.to_string())?;
    let slot = SessionSlot::default();
    let admin =
        NewAdmin { username: username.into(), full_name: format!("Sync bench {username}"), password: PASSWORD.into() };
    setup::setup_first_admin(&store, &slot, admin).await.map_err(|e| e.to_string())?;
    Ok(Device { store, slot })
}

async fn enrol(d: &Device, pool: &sqlx::PgPool, base: &str, tenant: &str, name: &str) -> Result<(), String> {
    let code = hms_server::admin::create_enrol_code(pool, tenant, chrono::Duration::hours(1))
        .await
        .map_err(|e| e.to_string())?;
    let auth = d.slot.authorize(&d.store).await.map_err(|e| e.to_string())?;
    sync::enrol(&d.store, &auth, base, &code.code, name).await.map_err(|e| e.to_string())?;
    Ok(())
}

/// Runs the area. `patients` is bench's `--patients`; `dir` a scratch directory.
pub async fn run(ctx: &mut Ctx, server_db: &str, patients: u64, seed: u64, dir: &Path) -> Result<(), String> {
    let pull_patients = if patients == DEFAULT_PATIENTS { PULL_PATIENTS } else { patients.max(PUSH_CHANGES) };
    eprintln!("bench: sync (server database {}, tenant of {pull_patients} patients)", redact(server_db));
    let pool = hms_server::connect(server_db).await.map_err(|e| format!("--server-db: {e}"))?;
    hms_server::migrate(&pool).await.map_err(|e| format!("--server-db migrations: {e}"))?;
    let tenant = format!("bench sync {}", uuid_like());
    hms_server::admin::create_tenant(&pool, &tenant).await.map_err(|e| e.to_string())?;

    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let base = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(hms_server::serve(listener, hms_server::AppState::new(pool.clone()), None, async move {
        let _ = stopped.await;
    }));
    eprintln!("bench: hms-server on {base}");

    let result = measure(ctx, &pool, &base, &tenant, pull_patients, seed, dir).await;
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    pool.close().await;
    for d in ["sync-a", "sync-b"] {
        let _ = std::fs::remove_dir_all(dir.join(d));
    }
    result
}

async fn measure(
    ctx: &mut Ctx,
    pool: &sqlx::PgPool,
    base: &str,
    tenant: &str,
    n: u64,
    seed: u64,
    dir: &Path,
) -> Result<(), String> {
    let a = device(&dir.join("sync-a"), "sync.a").await?;
    let b = device(&dir.join("sync-b"), "sync.b").await?;
    enrol(&a, pool, base, tenant, "bench device A").await?;
    enrol(&b, pool, base, tenant, "bench device B").await?;
    sync::push(&b.store).await.map_err(|e| e.to_string())?;
    sync::push(&a.store).await.map_err(|e| e.to_string())?; // A's account: not part of the figure
    let auth_a = a.slot.authorize(&a.store).await.map_err(|e| e.to_string())?;

    // Push: an outbox of exactly PUSH_CHANGES patient changes, made by a bulk load. Once the
    // load ends, the device writes its batch out to change_log in the background (as the app
    // does); that write-out has its own figure, from the load's end until the whole outbox is
    // in change_log, and the push is timed after it.
    let logged = outbox_len(&a.store).await?;
    generate::patients(&a.store, &auth_a, PUSH_CHANGES, seed).await?;
    let start = Instant::now();
    hms_core::store::batches::expand(&a.store).await.map_err(|e| e.to_string())?;
    let secs = start.elapsed().as_secs_f64();
    let written = outbox_len(&a.store).await? - logged;
    eprintln!("bench: wrote out the load's {written} changes to the outbox in {secs:.3} s");
    ctx.rates.insert("expand_changes_per_s".into(), json!((written as f64 / secs.max(1e-9)).round()));
    let start = Instant::now();
    let pushed = sync::push(&a.store).await.map_err(|e| e.to_string())?;
    let secs = start.elapsed().as_secs_f64();
    eprintln!("bench: pushed {} changes in {:.2} s ({} batches)", pushed.sent, secs, pushed.batches);
    ctx.rates.insert("push_changes_per_s".into(), json!((pushed.sent as f64 / secs.max(1e-9)).round()));

    // Pull: the rest of the tenant, pushed unmeasured, then B pulls all of it.
    if n > PUSH_CHANGES {
        generate::patients(&a.store, &auth_a, n - PUSH_CHANGES, seed + PUSH_CHANGES).await?;
        sync::push(&a.store).await.map_err(|e| e.to_string())?;
    }
    let start = Instant::now();
    let pulled = sync::pull(&b.store).await.map_err(|e| e.to_string())?;
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "bench: pulled {} changes ({} applied) in {:.2} s, {} pages",
        pulled.applied + pulled.own + pulled.older,
        pulled.applied,
        secs,
        pulled.pages
    );
    ctx.rates.insert("pull_rows_per_s".into(), json!((pulled.applied as f64 / secs.max(1e-9)).round()));

    // Change visible: write on A, both sync, until B has it.
    let auth_b = b.slot.authorize(&b.store).await.map_err(|e| e.to_string())?;
    let mut samples = Vec::with_capacity(VISIBLE_SAMPLES);
    for i in 0..VISIBLE_SAMPLES {
        let input = PatientInput {
            given_name: "Visible".into(),
            family_name: format!("Sample{}", letters(i)),
            sex: "unknown".into(),
            ..Default::default()
        };
        let start = Instant::now();
        let p = patients::register(&a.store, &auth_a, input).await.map_err(|e| e.to_string())?;
        sync::sync_now(&a.store).await.map_err(|e| e.to_string())?;
        loop {
            sync::sync_now(&b.store).await.map_err(|e| e.to_string())?;
            let here: Option<String> = sqlx::query_scalar("SELECT id FROM patients WHERE id = ?")
                .bind(&p.id)
                .fetch_optional(b.store.pool())
                .await
                .map_err(|e| e.to_string())?;
            if here.is_some() {
                break;
            }
            if start.elapsed() > Duration::from_secs(60) {
                return Err("change_visible: a change did not reach device B within 60 s".into());
            }
        }
        let took = start.elapsed();
        if took > Duration::from_secs(1) {
            eprintln!("bench: change_visible sample {i} took {} ms", took.as_millis());
        }
        samples.push(took);
    }
    let _ = auth_b;
    ctx.latency.insert("change_visible".into(), json!(summarize(samples)));
    a.store.close().await;
    b.store.close().await;
    Ok(())
}

/// Entries in the device's outbox table (`change_log`).
async fn outbox_len(store: &Store) -> Result<i64, String> {
    sqlx::query_scalar("SELECT count(*) FROM change_log").fetch_one(store.pool()).await.map_err(|e| e.to_string())
}

/// A unique suffix for the tenant name (each run gets a fresh tenant).
fn uuid_like() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format!("{}-{}", now.as_millis(), std::process::id())
}

/// The database URL without its password, for the progress line.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// A number as letters (names take no digits).
fn letters(mut i: usize) -> String {
    let mut s = String::new();
    loop {
        s.push((b'a' + (i % 26) as u8) as char);
        i /= 26;
        if i == 0 {
            return s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_reaches_the_progress_line() {
        assert_eq!(redact("postgres://hms:s3cret@127.0.0.1:5432/hms"), "postgres://hms:***@127.0.0.1:5432/hms");
        assert_eq!(redact("postgres:///hms"), "postgres:///hms");
    }
}
