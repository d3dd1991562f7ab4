//! The fhir area: the long-history patient (500 visits, as the clinical area makes them)
//! exported as a FHIR Bundle by their doctor, the whole clinic exported as NDJSON by the
//! administrator, and the patient's Bundle imported into an empty clinic (whose doctors have
//! the bench clinic's doctors' names), through hms-core with signed-in sessions (RBAC and
//! audit on). The import is timed on the patient's Bundle, not the whole clinic: the
//! million-patient clinic's NDJSON is over the import's 256 MiB per file.

use super::stats::time_n;
use super::{Ctx, BENCH_PASSWORD, BENCH_USER};
use hms_core::fhir::import::{self, InputFile};
use hms_core::schedule::staff;
use serde_json::json;
use std::path::Path;
use std::time::Instant;

const PATIENT_SAMPLES: usize = 100;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

pub async fn run(ctx: &mut Ctx, tmp: &Path) -> Result<(), String> {
    let (heavy, doctor) = super::clinical::long_history_patient(ctx).await?;
    let lat = time_n(PATIENT_SAMPLES, |_| {
        let (store, auth, p) = (&ctx.store, doctor.clone(), heavy.clone());
        async move { hms_core::fhir::export_patient(store, &auth, &p).await.map(drop) }
    })
    .await
    .map_err(err)?;
    ctx.latency.insert("fhir_export_patient_500".into(), json!(lat));

    let admin = ctx.session.authorize(&ctx.store).await.map_err(err)?;
    let dir = tmp.join("fhir-export");
    eprintln!("bench: exporting the whole clinic as FHIR NDJSON into {}", dir.display());
    let start = Instant::now();
    let mut last_tenth = 0;
    let export = hms_core::fhir::export_clinic(&ctx.store, &admin, &dir, |p| {
        let tenth = (p.rows_done * 10).checked_div(p.rows_total).unwrap_or(0);
        if tenth > last_tenth {
            last_tenth = tenth;
            eprintln!("bench: fhir export {}0% ({} resources)", tenth, p.resources);
        }
    })
    .await
    .map_err(err)?;
    let secs = start.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("bench: fhir export of {} resources in {secs:.1} s", export.resources);
    ctx.rates.insert("fhir_export_resources_per_s".into(), json!((export.resources as f64 / secs).round()));

    let bundle = hms_core::fhir::export_patient(&ctx.store, &doctor, &heavy).await.map_err(err)?;
    let rate = import_rate(ctx, tmp, bundle.json).await?;
    ctx.rates.insert("fhir_import_resources_per_s".into(), json!(rate.round()));
    Ok(())
}

/// Resources per second of importing `bundle` into an empty clinic (every resource read,
/// stored or counted as not stored); an import with problems fails the bench.
async fn import_rate(ctx: &Ctx, tmp: &Path, bundle: Vec<u8>) -> Result<f64, String> {
    let dir = tmp.join("fhir-import");
    let store = hms_core::Store::open_in_dir(&dir).await.map_err(err)?;
    let slot = hms_core::SessionSlot::default();
    let admin = hms_core::setup::NewAdmin {
        username: BENCH_USER.into(),
        full_name: "Bench Admin".into(),
        password: BENCH_PASSWORD.into(),
    };
    hms_core::setup::setup_first_admin(&store, &slot, admin).await.map_err(err)?;
    let auth = slot.authorize(&store).await.map_err(err)?;
    let doctors: Vec<String> = sqlx::query_scalar("SELECT DISTINCT full_name FROM staff WHERE role = 'doctor'")
        .fetch_all(ctx.store.pool())
        .await
        .map_err(err)?;
    for full_name in doctors {
        let input = staff::StaffInput { full_name, role: "doctor".into(), ..Default::default() };
        staff::add_staff(&store, &auth, input).await.map_err(err)?;
    }
    let files = [InputFile { name: "patient.json".into(), data: bundle }];
    let start = Instant::now();
    let report = import::import(&store, &auth, &files, |_| {}).await.map_err(err)?;
    let secs = start.elapsed().as_secs_f64();
    if !report.problems.is_empty() || report.patients_new != 1 {
        return Err(format!("bench: the FHIR import found problems: {:?}", report.problems));
    }
    let resources: u32 = report.read.iter().map(|c| c.count).sum();
    eprintln!("bench: fhir import of {resources} resources in {secs:.2} s");
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(f64::from(resources) / secs)
}
