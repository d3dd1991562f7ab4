//! The patients area: generation rate, search latency by kind of query, registration.

use super::stats::{cpu_seconds, time_n};
use super::Ctx;
use crate::generate::{self, Generator};
use hms_core::patients::{self, csv_io, search};
use hms_core::Authorized;
use serde_json::json;
use std::time::Instant;

const SAMPLES: usize = 500;

/// Fills the database up to `n` patients, then measures.
pub async fn run(ctx: &mut Ctx, n: u64, seed: u64) -> Result<u64, String> {
    let auth = ctx.session.authorize(&ctx.store).await.map_err(|e| e.to_string())?;
    let have: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM patients")
        .fetch_one(ctx.store.pool())
        .await
        .map_err(|e| e.to_string())?;
    let missing = n.saturating_sub(have as u64);
    if missing > 0 {
        eprintln!("bench: generating {missing} patients (seed {seed})");
        let cpu = cpu_seconds();
        let rate = generate::patients(&ctx.store, &auth, missing, seed + have as u64).await?;
        let cpu = cpu_seconds() - cpu;
        eprintln!("bench: generation took {cpu:.1} CPU-s ({:.1} µs a patient)", cpu * 1e6 / missing as f64);
        ctx.rates.insert("generate_patients_per_s".into(), json!(rate.round()));
    } else {
        eprintln!("bench: database already has {have} patients; generation not measured");
    }
    let rows = (n / 10).clamp(1_000, csv_io::MAX_ROWS as u64 / 2);
    let rate = import_csv(ctx, &auth, rows, seed).await?;
    ctx.rates.insert("import_csv_patients_per_s".into(), json!(rate.round()));

    // Queries built from real rows, picked at random with a fixed seed.
    let total: i64 = sqlx::query_scalar("SELECT MAX(pk) FROM patients")
        .fetch_one(ctx.store.pool())
        .await
        .map_err(|e| e.to_string())?;
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut rows: Vec<(String, String, String, String)> = Vec::new();
    while rows.len() < SAMPLES && total > 0 {
        let pk = rng.i64(1..=total);
        let row: Option<(String, String, String, String)> =
            sqlx::query_as("SELECT mrn, given_name, family_name, phones FROM patients WHERE pk = ?")
                .bind(pk)
                .fetch_optional(ctx.store.pool())
                .await
                .map_err(|e| e.to_string())?;
        rows.extend(row);
    }
    let prefix =
        |s: &str, n: usize| search::fold(s).chars().filter(|c| c.is_alphanumeric()).take(n).collect::<String>();
    let phone_part = |phones: &str| {
        let digits: String = phones.chars().filter(char::is_ascii_digit).collect();
        digits.get(3..8).unwrap_or("98450").to_string()
    };
    let queries: Vec<(&str, Vec<String>)> = vec![
        ("search_mrn", rows.iter().map(|r| r.0.clone()).collect()),
        ("search_phone", rows.iter().map(|r| phone_part(&r.3)).collect()),
        ("search_name1", rows.iter().map(|r| prefix(&r.1, 3)).collect()),
        ("search_name2", rows.iter().map(|r| format!("{} {}", prefix(&r.2, 3), prefix(&r.1, 2))).collect()),
        ("search_nomatch", (0..SAMPLES).map(|i| format!("zqx{i}")).collect()),
    ];
    for (name, qs) in queries {
        if qs.is_empty() {
            continue;
        }
        let lat = time_n(qs.len(), |i| {
            let (store, auth, q) = (&ctx.store, auth.clone(), qs[i].clone());
            async move { patients::search(store, &auth, &q, 20).await.map(drop) }
        })
        .await
        .map_err(|e| e.to_string())?;
        ctx.latency.insert(name.into(), json!(lat));
    }

    let today = ctx.store.now().date_naive();
    let mut g = Generator::new(seed ^ 0x5eed);
    let inputs: Vec<_> = (0..300).map(|_| g.patient(today)).collect();
    let lat = time_n(inputs.len(), |i| {
        let (store, auth, input) = (&ctx.store, auth.clone(), inputs[i].clone());
        // A generated patient may match an existing one (same name and birth date): the
        // refusal is the registration's answer, after the same checks.
        async move {
            match patients::register(store, &auth, input).await {
                Ok(_) | Err(hms_core::Error::LikelyDuplicate { .. }) => Ok(()),
                Err(e) => Err(e),
            }
        }
    })
    .await
    .map_err(|e| e.to_string())?;
    ctx.latency.insert("register_patient".into(), json!(lat));
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM patients")
        .fetch_one(ctx.store.pool())
        .await
        .map_err(|e| e.to_string())?;
    Ok(count as u64)
}

/// Imports `rows` generated patients from a legacy-style CSV through the import the app
/// uses (parse, map, validate every row, old-number checks, batched writes); patients/s of
/// the import itself (the preview before it is timed on stderr).
async fn import_csv(ctx: &Ctx, auth: &Authorized, rows: u64, seed: u64) -> Result<f64, String> {
    let today = ctx.store.now().date_naive();
    // File numbers unique to this run, so a reused --db takes them all again.
    let prefix = format!("OLD{:x}", ctx.store.now().timestamp_millis());
    let data = generate::legacy_csv(rows, seed ^ 0xc5f, today, &prefix).map_err(|e| e.to_string())?;
    eprintln!("bench: importing a CSV of {rows} patients ({} bytes)", data.len());
    let start = Instant::now();
    let preview = csv_io::preview(&ctx.store, auth, &data, None).await.map_err(|e| e.to_string())?;
    let previewed = start.elapsed().as_secs_f64();
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let report = csv_io::import(&ctx.store, auth, &data, preview.mapping, |_| {}).await.map_err(|e| e.to_string())?;
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu;
    if report.imported as u64 != rows {
        return Err(format!(
            "bench: the CSV import took {} of {rows} rows: {:?}",
            report.imported,
            report.rejected.first()
        ));
    }
    eprintln!(
        "bench: CSV of {rows} patients: preview {previewed:.2} s, import {secs:.2} s ({cpu:.1} CPU-s, {:.1} µs a patient)",
        cpu * 1e6 / rows as f64
    );
    Ok(rows as f64 / secs.max(1e-9))
}
