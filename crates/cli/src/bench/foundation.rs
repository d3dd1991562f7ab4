//! The foundation's figures: signing in (argon2id by design), an audited write, and how fast
//! the audit chain verifies.

use super::stats::time_n;
use super::{Ctx, BENCH_PASSWORD, BENCH_USER};
use hms_core::settings::{self, Settings};
use hms_core::{audit, auth, Result, SessionSlot};
use serde_json::json;
use std::time::Instant;

pub async fn run(ctx: &mut Ctx) -> Result<()> {
    eprintln!("bench: foundation");
    let slot = SessionSlot::default();
    let sign_in =
        time_n(30, |_| async { auth::sign_in(&ctx.store, &slot, BENCH_USER, BENCH_PASSWORD).await.map(drop) }).await?;
    ctx.latency.insert("sign_in".into(), json!(sign_in));

    let a = ctx.session.authorize(&ctx.store).await?;
    let write = time_n(1_000, |i| {
        let a = a.clone();
        let store = &ctx.store;
        async move {
            let minutes = 10 + (i % 20) as u32;
            settings::update(
                store,
                &a,
                Settings { idle_timeout_minutes: minutes, clinic_name: "Sunrise Clinic".into() },
            )
            .await
            .map(drop)
        }
    })
    .await?;
    ctx.latency.insert("audited_write".into(), json!(write));

    let start = Instant::now();
    let v = audit::verify_unaudited(&ctx.store).await?;
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    ctx.rates.insert("audit_verify_entries_per_s".into(), json!((f64::from(v.checked) / secs).round()));
    Ok(())
}
