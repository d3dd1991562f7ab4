//! The crash test (issue 14, Durability): a child process (`hms-admin crash-child`) makes
//! acknowledged writes (registrations, bills paid in full, consultations), printing each
//! write's id only after its commit returned; it is killed with SIGKILL at a random point,
//! `HMS_CRASH_ROUNDS` times (200 in `make test`; `scripts/crash-soak` runs 1,000), reopening the
//! same database each time. After every kill:
//! - `PRAGMA integrity_check` answers ok;
//! - the audit chain verifies;
//! - every write acknowledged in that round is there, with its change-log (outbox) rows;
//! - the change log's sequence numbers are contiguous (nothing lost in the middle, nothing
//!   reused), and only grow from round to round.
//!
//! At the end every write acknowledged in any round is checked again. The kill points come
//! from a seeded generator (`HMS_CRASH_SEED`, printed), so a failing run can be repeated.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DEFAULT_ROUNDS: u32 = 200;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// What one round's child acknowledged: `(kind, id)` in order, and whether it said READY.
struct Round {
    acks: Vec<(String, String)>,
    ready: bool,
    stderr: String,
}

/// Runs the child once and kills it: after `delay` from READY, or (`early`) from its start,
/// to hit the opening of the database too.
fn round(db: &Path, delay: Duration, early: bool) -> Round {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hms-admin"))
        .args(["crash-child", "--db"])
        .arg(db)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hms-admin crash-child");
    let stdout = child.stdout.take().expect("the child's stdout");
    let stderr = child.stderr.take().expect("the child's stderr");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let errors = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let mut lines = Vec::new();
    let started = Instant::now();
    let deadline = if early {
        started + delay
    } else {
        // Wait for READY (the database open, the sessions signed in), then the delay.
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) {
            let ready = line == "READY";
            lines.push(line);
            if ready {
                break;
            }
        }
        Instant::now() + delay
    };
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => lines.push(line),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    // SIGKILL: no destructor, no checkpoint, no flush of anything but what is on disk.
    child.kill().expect("kill the child");
    let status = child.wait().expect("reap the child");
    reader.join().expect("the reader thread");
    // What the child wrote before it died is still in the pipe.
    lines.extend(rx.try_iter());
    let stderr = errors.join().unwrap_or_default();
    let ready = lines.iter().any(|l| l == "READY");
    if !early || ready {
        assert!(!status.success() || !ready, "the child ended by itself: {stderr}");
    }
    let acks = lines
        .iter()
        .filter_map(|l| l.strip_prefix("ACK "))
        .map(|rest| {
            let (kind, id) = rest.split_once(' ').expect("ACK kind id");
            (kind.to_string(), id.to_string())
        })
        .collect();
    Round { acks, ready, stderr }
}

async fn scalar(pool: &sqlx::SqlitePool, sql: &str, id: &str) -> i64 {
    sqlx::query_scalar(sql).bind(id).fetch_one(pool).await.unwrap()
}

/// Every acknowledged write is in its table with its change-log rows.
async fn check_acks(pool: &sqlx::SqlitePool, acks: &[(String, String)], round: u32) {
    for (kind, id) in acks {
        let (table, entity) = match kind.as_str() {
            "patient" => ("patients", "patients"),
            "payment" => ("payments", "payments"),
            "visit" => ("visits", "visits"),
            other => panic!("round {round}: unknown acknowledgement {other}"),
        };
        let rows = scalar(pool, &format!("SELECT COUNT(*) FROM {table} WHERE id = ?"), id).await;
        assert_eq!(rows, 1, "round {round}: acknowledged {kind} {id} is missing");
        let changes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM change_log WHERE entity = ? AND entity_id = ?")
            .bind(entity)
            .bind(id)
            .fetch_one(pool)
            .await
            .unwrap();
        assert!(changes >= 1, "round {round}: acknowledged {kind} {id} has no change-log row");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill_at_random_points() {
    let rounds = env_u64("HMS_CRASH_ROUNDS").map_or(DEFAULT_ROUNDS, |n| n as u32);
    let seed = env_u64("HMS_CRASH_SEED").unwrap_or(14);
    // The child's pace decides how many writes a delay covers; 0-100 ms spans the start of
    // its first write to several finished ones.
    let max_delay_ms = env_u64("HMS_CRASH_MAX_DELAY_MS").unwrap_or(100);
    eprintln!("crash test: {rounds} rounds, seed {seed} (HMS_CRASH_SEED), delays up to {max_delay_ms} ms");
    let mut rng = fastrand::Rng::with_seed(seed);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hms.db");
    let started = Instant::now();
    let mut all: Vec<(String, String)> = Vec::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut last_seq = 0i64;
    let mut early_kills = 0;
    let mut empty_rounds = 0;
    for r in 0..rounds {
        // One round in ten kills the child without waiting for READY: while it opens the
        // database, migrates, seals, signs in.
        let early = r > 0 && rng.u32(0..10) == 0;
        let delay = Duration::from_millis(rng.u64(0..=max_delay_ms));
        let round = round(&db, delay, early);
        early_kills += usize::from(early);
        empty_rounds += usize::from(round.acks.is_empty());
        assert!(round.ready || early, "round {r}: the child never got ready: {}", round.stderr);

        // Reopen as the app does on its next start (the WAL recovered), and check.
        let store = hms_core::Store::open(&db).await.unwrap_or_else(|e| panic!("round {r}: reopen: {e}"));
        let pool = store.pool();
        let integrity: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check").fetch_all(pool).await.unwrap();
        assert_eq!(integrity, ["ok"], "round {r}: integrity_check");
        let audit = hms_core::audit::verify_unaudited(&store).await.unwrap();
        assert!(audit.intact, "round {r}: the audit chain is broken: {audit:?}");
        check_acks(pool, &round.acks, r).await;
        let (rows, low, high): (i64, Option<i64>, Option<i64>) =
            sqlx::query_as("SELECT COUNT(*), MIN(seq), MAX(seq) FROM change_log").fetch_one(pool).await.unwrap();
        // A bulk load's batch holds the sequences before its last row's until a push writes
        // them out (`change_batches`): they count as taken.
        let reserved: i64 = sqlx::query_scalar("SELECT COALESCE(SUM(last_seq - first_seq), 0) FROM change_batches")
            .fetch_one(pool)
            .await
            .unwrap();
        let count = rows + reserved;
        if let (Some(low), Some(high)) = (low, high) {
            assert_eq!(high - low + 1, count, "round {r}: change-log seq has gaps ({low}..={high}, {count} rows)");
            assert!(high >= last_seq, "round {r}: change-log seq went back ({last_seq} -> {high})");
            last_seq = high;
        }
        store.close().await;
        for (kind, _) in &round.acks {
            *counts.entry(kind.clone()).or_default() += 1;
        }
        all.extend(round.acks);
    }
    // Every acknowledged write of every round, once more at the end.
    let store = hms_core::Store::open(&db).await.unwrap();
    check_acks(store.pool(), &all, rounds).await;
    store.close().await;
    eprintln!(
        "crash test: {rounds} kills ({early_kills} while opening, {empty_rounds} before any acknowledgement), \
         {} acknowledged writes {counts:?} all there, in {:.1} s",
        all.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(counts.get("payment").is_some_and(|n| *n > 0) && counts.get("visit").is_some_and(|n| *n > 0));
}
