//! The reports area: every report over the last month and over the last year (365 days to
//! today) of the bench database (the appointments and billing areas' records, generated if
//! missing), through `hms_core::reports::run` with the signed-in administrator:
//! `report_<name>_month` and `report_<name>_year`.

use super::stats::time_n;
use super::Ctx;
use chrono::Duration;
use hms_core::codes::Code;
use hms_core::reports::{self, Filters, Preset, RangeInput, ReportId, ReportRequest};
use serde_json::json;

const MONTH_SAMPLES: usize = 20;
const YEAR_SAMPLES: usize = 10;

pub async fn run(ctx: &mut Ctx, patients: u64, seed: u64) -> Result<(), String> {
    eprintln!("bench: reports");
    super::appointments::fill(ctx, patients, seed).await?;
    let auth = super::appointments::auth(ctx).await?;
    super::billing::fill(ctx, &auth, patients, seed).await?;
    let today = hms_core::clinic::today(&ctx.store).await.map_err(|e| e.to_string())?;
    let year_ago = (today - Duration::days(364)).format("%Y-%m-%d").to_string();
    let year = RangeInput::custom(&year_ago, &today.format("%Y-%m-%d").to_string());
    for report in ReportId::ALL {
        for (suffix, range, n) in
            [("month", RangeInput::preset(Preset::LastMonth), MONTH_SAMPLES), ("year", year.clone(), YEAR_SAMPLES)]
        {
            let req = ReportRequest { report, range, filters: Filters::default() };
            // One untimed run warms the page cache, as a report opened twice would.
            reports::run(&ctx.store, &auth, &req).await.map_err(|e| e.to_string())?;
            let lat = time_n(n, |_| {
                let (store, auth, req) = (&ctx.store, auth.clone(), req.clone());
                async move { reports::run(store, &auth, &req).await.map(drop) }
            })
            .await
            .map_err(|e| e.to_string())?;
            ctx.latency.insert(format!("report_{}_{suffix}", report.code()), json!(lat));
        }
    }
    Ok(())
}
