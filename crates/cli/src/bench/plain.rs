//! `--plain`: the patients area again, in the same run, on an unencrypted database
//! (`Store::open_plain`, which only this crate's build of hms-core has), so that what
//! encryption at rest costs is a ratio of two figures taken minutes apart on the same machine;
//! and the backup area after it when the run has it.
//!
//! The patients area is the one always repeated: it holds the three figures (search
//! p99, registration p99, the import rate), and repeating every area would double a run that
//! takes an hour at a million patients. The backup area is repeated when it runs: its figures
//! (MB/s of the backup, its verification) are the other ones encryption may slow down.

use super::{backup, patients, sign_in, Ctx};
use hms_core::Store;
use serde_json::{json, Map, Value};
use std::path::Path;

/// The plain run's figures (`rates`, `latency_ms`) and the overhead ratios.
pub struct Plain {
    pub figures: Value,
    pub overhead: Value,
}

/// Runs the patients area (then the backup area, `with_backup`) on a new unencrypted database
/// under `tmp` (removed after), with the same patient count and seed as the encrypted run in
/// `ctx`.
pub async fn run(ctx: &Ctx, n: u64, seed: u64, tmp: &Path, with_backup: bool) -> Result<Plain, String> {
    let dir = tmp.join("plain");
    let path = dir.join(hms_core::store::DB_FILE);
    eprintln!("bench: --plain: the patients area again, unencrypted, at {}", path.display());
    let store = Store::open_plain(&path).await.map_err(|e| e.to_string())?;
    let session = sign_in(&store).await?;
    let mut plain = Ctx { store, session, rates: Map::new(), latency: Map::new() };
    let mut ran = patients::run(&mut plain, n, seed).await.map(|_| ());
    if ran.is_ok() && with_backup {
        eprintln!("bench: --plain: the backup area again, unencrypted");
        ran = backup::run(&mut plain, n, seed, &dir).await;
    }
    plain.store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    ran?;
    let overhead = overhead(ctx, &plain);
    Ok(Plain { figures: json!({ "rates": plain.rates, "latency_ms": plain.latency }), overhead })
}

/// Encrypted over plain, so that 1.15 reads "15% dearer" for each figure: p99 latencies
/// divided (`<name>_p99`; `search_p99` the worst of the searches), the rates in [`RATES`]
/// inverted (plain rate over encrypted rate). A figure either run lacks is left out.
pub fn overhead(encrypted: &Ctx, plain: &Ctx) -> Value {
    let mut out = Map::new();
    let p99 = |c: &Ctx, name: &str| c.latency.get(name).and_then(|l| l.get("p99")).and_then(Value::as_f64);
    let mut worst_search: Option<f64> = None;
    for name in plain.latency.keys() {
        let (Some(e), Some(p)) = (p99(encrypted, name), p99(plain, name)) else { continue };
        let Some(r) = ratio(e, p) else { continue };
        out.insert(format!("{name}_p99"), json!(r));
        if name.starts_with("search_") {
            worst_search = Some(worst_search.map_or(r, |w| w.max(r)));
        }
    }
    if let Some(w) = worst_search {
        out.insert("search_p99".into(), json!(w));
    }
    for name in RATES {
        let rate = |c: &Ctx| c.rates.get(name).and_then(Value::as_f64);
        if let Some(r) = rate(plain).zip(rate(encrypted)).and_then(|(p, e)| ratio(p, e)) {
            out.insert(name.into(), json!(r));
        }
    }
    Value::Object(out)
}

/// The rates compared. Not `restore_mb_per_s`: restoring a clear backup encrypts the restored
/// copy (the app keeps no clear database), so its plain figure is no clear baseline.
const RATES: [&str; 3] = ["import_csv_patients_per_s", "backup_mb_per_s", "verify_backup_mb_per_s"];

/// `a / b` to 3 decimals; none when `b` is not positive.
fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| (a / b * 1000.0).round() / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::ratio;

    #[test]
    fn a_ratio_has_three_decimals_and_needs_a_positive_base() {
        assert_eq!(ratio(1.15, 1.0), Some(1.15));
        assert_eq!(ratio(2.0, 3.0), Some(0.667));
        assert_eq!(ratio(1.0, 0.0), None);
    }
}
