//! The reports area: every report over the last month and over the last year (365 days to
//! today) of the bench database (the appointments and billing areas' records, generated if
//! missing, and a visit with its diagnoses and prescriptions for every attended appointment
//! of the year, which morbidity and the follow-up rate read), through `hms_core::reports::run` with the signed-in administrator:
//! `report_<name>_month` and `report_<name>_year`, and the year's report exported to PDF and
//! to .xlsx (`report_<name>_year_pdf`, `report_<name>_year_xlsx`). Then Home's dashboards (issue 17):
//! `dashboard_admin` (the administrator), `dashboard_reception` (a receptionist) and
//! `dashboard_doctor` (the doctor with the most appointments today, else this week).

use super::stats::time_n;
use super::Ctx;
use chrono::Duration;
use hms_core::codes::Code;
use hms_core::rbac::Role;
use hms_core::reports::export::{self, Format};
use hms_core::reports::{self, dashboard, Filters, Preset, RangeInput, ReportId, ReportRequest};
use hms_core::Authorized;
use serde_json::json;

const MONTH_SAMPLES: usize = 20;
const YEAR_SAMPLES: usize = 10;
const DASHBOARD_SAMPLES: usize = 50;
const EXPORT_SAMPLES: usize = 3;
/// The user the busiest doctor signs in as (`busiest_doctor_today`).
const BENCH_DOCTOR: &str = "bench.doctor";

pub async fn run(ctx: &mut Ctx, patients: u64, seed: u64) -> Result<(), String> {
    eprintln!("bench: reports");
    super::appointments::fill(ctx, patients, seed).await?;
    let auth = super::appointments::auth(ctx).await?;
    super::billing::fill(ctx, &auth, patients, seed).await?;
    let today = hms_core::clinic::today(&ctx.store).await.map_err(|e| e.to_string())?;
    let year_ago = (today - Duration::days(364)).format("%Y-%m-%d").to_string();
    let year = RangeInput::custom(&year_ago, &today.format("%Y-%m-%d").to_string());
    visits_for_the_year(ctx, &year_ago, seed).await?;
    // The morbidity summary built for the clinic's time zone, once (as after an upgrade or a
    // change of zone): `report_morbidity_summary_build` (one sample; nothing when built already).
    let lat = time_n(1, |_| async { reports::morbidity_summary::ensure(&ctx.store).await })
        .await
        .map_err(|e| e.to_string())?;
    eprintln!("bench: report_morbidity_summary_build {}", json!(lat));
    ctx.latency.insert("report_morbidity_summary_build".into(), json!(lat));
    // `HMS_BENCH_REPORTS=code,code` times only those reports (at 1,000,000 patients the whole
    // area takes hours; the dashboards are timed either way).
    let only: Option<Vec<String>> =
        std::env::var("HMS_BENCH_REPORTS").ok().map(|v| v.split(',').map(|c| c.trim().to_string()).collect());
    for report in ReportId::ALL {
        if only.as_ref().is_some_and(|o| !o.iter().any(|c| c == report.code())) {
            continue;
        }
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
            let name = format!("report_{}_{suffix}", report.code());
            // Each figure on stderr as it comes: a run at 1,000,000 patients takes long.
            eprintln!("bench: {name} {}", json!(lat));
            ctx.latency.insert(name, json!(lat));
        }
        // The year's report exported as the Reports screen does (run, render, audit):
        // `report_<name>_year_pdf` and `report_<name>_year_xlsx`.
        let req = ReportRequest { report, range: year.clone(), filters: Filters::default() };
        for format in [Format::Pdf, Format::Xlsx] {
            let lat = time_n(EXPORT_SAMPLES, |_| {
                let (store, auth, req) = (&ctx.store, auth.clone(), req.clone());
                async move { export::export(store, &auth, &req, format).await.map(drop) }
            })
            .await
            .map_err(|e| e.to_string())?;
            let name = format!("report_{}_year_{}", report.code(), format.code());
            eprintln!("bench: {name} {}", json!(lat));
            ctx.latency.insert(name, json!(lat));
        }
    }
    dashboards(ctx, &auth).await
}

/// A visit (vitals, diagnoses, prescriptions, lab orders) for each attended appointment of
/// the year that has none, written once by the clinical generator.
async fn visits_for_the_year(ctx: &Ctx, from: &str, seed: u64) -> Result<(), String> {
    let missing: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM appointments a
         WHERE a.date >= ? AND a.status IN ('checked_in', 'with_doctor', 'done') AND a.checked_in_at IS NOT NULL
           AND a.deleted_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.appointment_id = a.id AND v.deleted_at IS NULL)",
    )
    .bind(from)
    .fetch_one(ctx.store.pool())
    .await
    .map_err(|e| e.to_string())?;
    if missing == 0 {
        return Ok(());
    }
    eprintln!("bench: generating the visits of {missing} attended appointments of the year");
    let actor = hms_core::store::Actor::system();
    let (made, rate) = crate::generate_clinical::visits(&ctx.store, actor, missing.unsigned_abs(), seed).await?;
    eprintln!(
        "bench: {} visits, {} diagnoses, {} prescriptions ({rate:.0} visits/s)",
        made.visits, made.diagnoses, made.prescriptions
    );
    Ok(())
}

/// Each role's dashboard, one untimed read first (Home read twice).
async fn dashboards(ctx: &mut Ctx, admin: &Authorized) -> Result<(), String> {
    let err = |e: hms_core::Error| e.to_string();
    let desk = Authorized { user_id: admin.user_id.clone(), roles: vec![Role::Receptionist] };
    let doctor = busiest_doctor_today(ctx, admin).await?;
    dashboard::admin(&ctx.store, admin).await.map_err(err)?;
    let lat = time_n(DASHBOARD_SAMPLES, |_| {
        let (store, a) = (&ctx.store, admin.clone());
        async move { dashboard::admin(store, &a).await.map(drop) }
    })
    .await
    .map_err(err)?;
    ctx.latency.insert("dashboard_admin".into(), json!(lat));
    dashboard::reception(&ctx.store, &desk).await.map_err(err)?;
    let lat = time_n(DASHBOARD_SAMPLES, |_| {
        let (store, a) = (&ctx.store, desk.clone());
        async move { dashboard::reception(store, &a).await.map(drop) }
    })
    .await
    .map_err(err)?;
    ctx.latency.insert("dashboard_reception".into(), json!(lat));
    if let Some(doctor) = doctor {
        dashboard::doctor(&ctx.store, &doctor).await.map_err(err)?;
        let lat = time_n(DASHBOARD_SAMPLES, |_| {
            let (store, a) = (&ctx.store, doctor.clone());
            async move { dashboard::doctor(store, &a).await.map(drop) }
        })
        .await
        .map_err(err)?;
        ctx.latency.insert("dashboard_doctor".into(), json!(lat));
    } else {
        eprintln!("bench: no doctor had appointments this week; dashboard_doctor skipped");
    }
    Ok(())
}

/// The doctor with the most appointments today (on a day without any, e.g. a Sunday, the
/// busiest of the last week), signed in as themselves. The bench's doctors
/// have no user accounts: this one's profile is linked to the bench's doctor account (in this
/// local bench database only), so the doctor's view finds its profile.
async fn busiest_doctor_today(ctx: &Ctx, admin: &Authorized) -> Result<Option<Authorized>, String> {
    let err = |e: sqlx::Error| e.to_string();
    let day = hms_core::clinic::today(&ctx.store).await.map_err(|e| e.to_string())?;
    let today = day.format("%Y-%m-%d").to_string();
    let week_ago = (day - Duration::days(7)).format("%Y-%m-%d").to_string();
    let busiest: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT a.doctor_id, st.user_id FROM appointments a JOIN staff st ON st.id = a.doctor_id
         WHERE a.date >= ? AND a.date <= ? AND a.deleted_at IS NULL
         GROUP BY a.doctor_id ORDER BY SUM(a.date = ?) DESC, COUNT(*) DESC LIMIT 1",
    )
    .bind(&week_ago)
    .bind(&today)
    .bind(&today)
    .fetch_optional(ctx.store.pool())
    .await
    .map_err(err)?;
    let Some((doctor_id, user_id)) = busiest else { return Ok(None) };
    let user_id = match user_id {
        Some(u) => u,
        None => {
            // A user account of its own (staff.user_id must name one), made once and moved to
            // whichever doctor is the busiest in this run.
            let existing: Option<String> =
                sqlx::query_scalar("SELECT id FROM users WHERE username = ? AND deleted_at IS NULL")
                    .bind(BENCH_DOCTOR)
                    .fetch_optional(ctx.store.pool())
                    .await
                    .map_err(err)?;
            let u = match existing {
                Some(u) => u,
                None => {
                    let input = hms_core::users::NewUser {
                        username: BENCH_DOCTOR.into(),
                        full_name: "Benchmark doctor".into(),
                        password: super::BENCH_PASSWORD.into(),
                        roles: vec!["doctor".into()],
                    };
                    hms_core::users::create(&ctx.store, admin, input).await.map_err(|e| e.to_string())?.id
                }
            };
            sqlx::query("UPDATE staff SET user_id = NULL WHERE user_id = ?")
                .bind(&u)
                .execute(ctx.store.pool())
                .await
                .map_err(err)?;
            sqlx::query("UPDATE staff SET user_id = ? WHERE id = ?")
                .bind(&u)
                .bind(&doctor_id)
                .execute(ctx.store.pool())
                .await
                .map_err(err)?;
            u
        }
    };
    // The generated lab orders have no orderer (the generated doctors have no accounts): the
    // orders of this doctor's visits become theirs, so "results back for me" reads a doctor's
    // own week of results (and a doctor busiest on an earlier run gives theirs back).
    sqlx::query(
        "UPDATE lab_orders SET ordered_by = CASE WHEN visit_id IN (SELECT id FROM visits WHERE doctor_id = ?1) THEN ?2 END
         WHERE ordered_by = ?2 OR visit_id IN (SELECT id FROM visits WHERE doctor_id = ?1)",
    )
    .bind(&doctor_id)
    .bind(&user_id)
    .execute(ctx.store.pool())
    .await
    .map_err(err)?;
    Ok(Some(Authorized { user_id, roles: vec![Role::Doctor] }))
}
