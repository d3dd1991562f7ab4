//! The fhir area: the long-history patient (500 visits, as the clinical area makes them)
//! exported as a FHIR Bundle by their doctor, and the whole clinic exported as NDJSON by the
//! administrator, through hms-core with signed-in sessions (RBAC and audit on).

use super::stats::time_n;
use super::Ctx;
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
    Ok(())
}
