//! The billing area: a history of finalized invoices (half as many as patients: 500,000 at
//! 1,000,000), then finalizing an invoice and rendering invoice PDFs of 20 lines, through
//! hms-core with the signed-in session.

use super::stats::time_n;
use super::Ctx;
use crate::generate_billing;
use hms_core::billing::money::Discount;
use hms_core::billing::{bills, invoice_pdf, LineInput};
use hms_core::Authorized;
use serde_json::json;
use std::time::Instant;

const FINALIZE_SAMPLES: usize = 300;
const PDF_SAMPLES: usize = 100;

async fn patient_ids(ctx: &Ctx, n: usize, seed: u64) -> Result<Vec<String>, String> {
    let max: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(pk), 0) FROM patients")
        .fetch_one(ctx.store.pool())
        .await
        .map_err(|e| e.to_string())?;
    let mut rng = fastrand::Rng::with_seed(seed ^ 0xf1a1);
    let mut out = Vec::with_capacity(n);
    while out.len() < n && max > 0 {
        let id: Option<String> = sqlx::query_scalar("SELECT id FROM patients WHERE pk = ? AND status <> 'merged'")
            .bind(rng.i64(1..=max))
            .fetch_optional(ctx.store.pool())
            .await
            .map_err(|e| e.to_string())?;
        if let Some(id) = id {
            if !out.contains(&id) {
                out.push(id);
            }
        }
    }
    Ok(out)
}

/// A draft with `lines` lines from the tariff for a patient (setup, not timed).
async fn draft(
    ctx: &Ctx,
    auth: &Authorized,
    patient: &str,
    services: &[(String, u32, i64)],
    lines: usize,
) -> Result<String, String> {
    let bill = bills::open_bill(&ctx.store, auth, patient).await.map_err(|e| e.to_string())?;
    for i in 0..lines {
        let (service, ..) = &services[i % services.len()];
        let input = LineInput {
            service_id: Some(service.clone()),
            description: String::new(),
            quantity: 1 + (i % 3) as i32,
            unit_price_minor: None,
            discount: Discount::None,
        };
        bills::add_line(&ctx.store, auth, &bill.id, input).await.map_err(|e| e.to_string())?;
    }
    Ok(bill.id)
}

pub async fn run(ctx: &mut Ctx, patients: u64, seed: u64) -> Result<(), String> {
    let auth = super::appointments::auth(ctx).await?;
    fill(ctx, &auth, patients, seed).await?;
    measure(ctx, &auth, seed).await
}

/// The finalized invoices the area measures against (what is missing of them).
pub(super) async fn fill(ctx: &Ctx, auth: &Authorized, patients: u64, seed: u64) -> Result<(), String> {
    let have: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bills WHERE status = 'final'")
        .fetch_one(ctx.store.pool())
        .await
        .map_err(|e| e.to_string())?;
    let want = (patients / 2).max(1_000);
    if (have as u64) < want {
        eprintln!("bench: generating {} invoices", want - have as u64);
        let rate = generate_billing::invoices(&ctx.store, auth, want - have as u64, seed).await?;
        eprintln!("bench: invoices generated at {rate:.0}/s");
    }
    Ok(())
}

async fn measure(ctx: &mut Ctx, auth: &Authorized, seed: u64) -> Result<(), String> {
    let auth = auth.clone();
    let services = generate_billing::tariff(&ctx.store, &auth).await?;
    let people = patient_ids(ctx, FINALIZE_SAMPLES + PDF_SAMPLES, seed).await?;
    if people.len() < FINALIZE_SAMPLES + PDF_SAMPLES {
        return Err("bench: not enough patients for the billing area".into());
    }

    // Finalize: a 4-line draft per patient, then the timed finalization.
    let mut drafts = Vec::with_capacity(FINALIZE_SAMPLES);
    for p in &people[..FINALIZE_SAMPLES] {
        drafts.push(draft(ctx, &auth, p, &services, 4).await?);
    }
    let lat = time_n(drafts.len(), |i| {
        let (store, auth, id) = (&ctx.store, auth.clone(), drafts[i].clone());
        async move { bills::finalize(store, &auth, &id).await.map(drop) }
    })
    .await
    .map_err(|e| e.to_string())?;
    ctx.latency.insert("finalize_invoice".into(), json!(lat));

    // PDFs of 20-line invoices: each timed alone, then as a batch for the rate.
    let mut invoices = Vec::with_capacity(PDF_SAMPLES);
    for p in &people[FINALIZE_SAMPLES..] {
        let id = draft(ctx, &auth, p, &services, 20).await?;
        bills::finalize(&ctx.store, &auth, &id).await.map_err(|e| e.to_string())?;
        invoices.push(id);
    }
    // The app parses its font once, at the first print of the session: not timed here.
    invoice_pdf::invoice_pdf(&ctx.store, &auth, &invoices[0]).await.map_err(|e| e.to_string())?;
    let lat = time_n(invoices.len(), |i| {
        let (store, auth, id) = (&ctx.store, auth.clone(), invoices[i].clone());
        async move { invoice_pdf::invoice_pdf(store, &auth, &id).await.map(drop) }
    })
    .await
    .map_err(|e| e.to_string())?;
    ctx.latency.insert("invoice_pdf".into(), json!(lat));
    let start = Instant::now();
    for id in &invoices {
        invoice_pdf::invoice_pdf(&ctx.store, &auth, id).await.map_err(|e| e.to_string())?;
    }
    let rate = invoices.len() as f64 / start.elapsed().as_secs_f64().max(1e-9);
    ctx.rates.insert("invoice_pdf_per_s".into(), json!(rate.round()));
    Ok(())
}
