//! Synthetic billing history: a tariff of common services, then finalized invoices with
//! lines and payments spread over the patients there are, written with multi-row inserts
//! in large transactions (a bulk load: the timed operations go through hms-core).

use hms_core::billing::money::{self, Discount, LineInput};
use hms_core::billing::{tariff, ServiceInput};
use hms_core::{Authorized, Store};
use sqlx::{QueryBuilder, Sqlite};
use std::time::Instant;

/// (code, name, category, tax bp, price in paise)
pub const TARIFF: &[(&str, &str, &str, u32, i64)] = &[
    ("CONSULT", "Consultation", "consultation", 0, 50_000),
    ("CONSULT-FU", "Follow-up consultation", "consultation", 0, 30_000),
    ("CBC", "Complete blood count", "lab_test", 0, 35_000),
    ("LFT", "Liver function test", "lab_test", 0, 65_000),
    ("KFT", "Kidney function test", "lab_test", 0, 60_000),
    ("HBA1C", "HbA1c", "lab_test", 0, 55_000),
    ("LIPID", "Lipid profile", "lab_test", 0, 70_000),
    ("TSH", "Thyroid (TSH)", "lab_test", 0, 40_000),
    ("URINE-RE", "Urine routine", "lab_test", 0, 15_000),
    ("XR-CHEST", "Chest X-ray", "procedure", 1_800, 75_000),
    ("ECG", "ECG", "procedure", 1_800, 30_000),
    ("USG-ABD", "Ultrasound abdomen", "procedure", 1_800, 150_000),
    ("DRESS", "Dressing", "procedure", 1_200, 20_000),
    ("INJ", "Injection charge", "procedure", 1_200, 10_000),
    ("NEB", "Nebulisation", "procedure", 1_200, 25_000),
    ("BED-GEN", "General ward bed-day", "bed_day", 0, 150_000),
    ("BED-PVT", "Private room bed-day", "bed_day", 500, 450_000),
    ("PARA-500", "Paracetamol 500 mg (10)", "pharmacy", 1_200, 2_500),
    ("AMOX-500", "Amoxicillin 500 mg (10)", "pharmacy", 1_200, 9_500),
    ("ORS", "ORS sachet", "pharmacy", 500, 2_000),
    ("CARD-FEE", "Registration card", "other", 0, 5_000),
];

/// Adds the tariff through hms-core (once).
pub async fn tariff(store: &Store, auth: &Authorized) -> Result<Vec<(String, u32, i64)>, String> {
    let have = tariff::services(store, auth, true).await.map_err(|e| e.to_string())?;
    if have.is_empty() {
        for (code, name, category, rate, price) in TARIFF {
            let input = ServiceInput {
                code: (*code).into(),
                name: (*name).into(),
                category: (*category).into(),
                tax_rate_bp: *rate,
                tax_exempt: *rate == 0,
                price_minor: *price,
                effective_from: Some("2020-01-01".into()),
            };
            tariff::add_service(store, auth, input).await.map_err(|e| e.to_string())?;
        }
    }
    let services = tariff::services(store, auth, true).await.map_err(|e| e.to_string())?;
    Ok(services.into_iter().map(|s| (s.id, s.tax_rate_bp, s.price_minor.unwrap_or(0))).collect())
}

struct GenLine {
    service: usize,
    quantity: u32,
}

/// Writes `n` finalized invoices (1 to 5 lines each, most paid in full, some in part) for
/// random patients; returns invoices per second.
pub async fn invoices(store: &Store, auth: &Authorized, n: u64, seed: u64) -> Result<f64, String> {
    const BATCH: u64 = 10_000;
    let services = tariff(store, auth).await?;
    let pool = store.pool();
    let max_pk: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(pk), 0) FROM patients")
        .fetch_one(pool)
        .await
        .map_err(|e| e.to_string())?;
    if max_pk == 0 {
        return Err("no patients to bill".into());
    }
    let done_before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bills WHERE number LIKE 'HIST-%'")
        .fetch_one(pool)
        .await
        .map_err(|e| e.to_string())?;
    let mut rng = fastrand::Rng::with_seed(seed ^ 0xb111);
    let start = Instant::now();
    let mut done = 0;
    while done < n {
        let size = BATCH.min(n - done);
        // BEGIN IMMEDIATE: take the write lock first (a deferred transaction that reads and
        // then writes fails when another connection wrote in between).
        let mut conn = pool.acquire().await.map_err(|e| e.to_string())?;
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await.map_err(|e| e.to_string())?;
        let tx = &mut *conn;
        let mut bills = Vec::with_capacity(size as usize);
        for i in 0..size {
            let pk = rng.i64(1..=max_pk);
            let lines: Vec<GenLine> = (0..rng.u32(1..=5))
                .map(|_| GenLine { service: rng.usize(..services.len()), quantity: rng.u32(1..=3) })
                .collect();
            let days_ago = rng.i64(0..730);
            bills.push((pk, lines, days_ago, done_before as u64 + done + i + 1, rng.u8(..100)));
        }
        let now = store.now();
        // Patient ids for the picked pks.
        let mut ids = Vec::with_capacity(bills.len());
        for (pk, ..) in &bills {
            let id: Option<String> = sqlx::query_scalar("SELECT id FROM patients WHERE pk = ?")
                .bind(pk)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| e.to_string())?;
            ids.push(id);
        }
        let mut bill_rows = Vec::new();
        let mut line_rows = Vec::new();
        let mut pay_rows = Vec::new();
        for ((_, lines, days_ago, seq, paid_pct), patient) in bills.iter().zip(ids) {
            let Some(patient) = patient else { continue };
            let at = (now - chrono::Duration::days(*days_ago)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let inputs: Vec<LineInput> = lines
                .iter()
                .map(|l| LineInput {
                    quantity: l.quantity,
                    unit_price: services[l.service].2,
                    discount: Discount::None,
                    tax_rate_bp: services[l.service].1,
                })
                .collect();
            let t = money::totals(&inputs);
            let id = hms_core::ids::new_id();
            for (pos, l) in lines.iter().enumerate() {
                line_rows.push((
                    id.clone(),
                    pos as i64 + 1,
                    services[l.service].0.clone(),
                    l.quantity,
                    services[l.service].2,
                    services[l.service].1,
                    at.clone(),
                ));
            }
            // 85% paid in full, 10% in part, 5% unpaid.
            let paid = if *paid_pct < 85 {
                t.total
            } else if *paid_pct < 95 {
                t.total / 2
            } else {
                0
            };
            if paid > 0 {
                pay_rows.push((id.clone(), paid, at.clone(), format!("HRCP-{seq:08}")));
            }
            bill_rows.push((id, patient, format!("HIST-{seq:08}"), at, t));
        }
        let written = async {
            insert_bills(tx, &bill_rows, store.device_id()).await?;
            insert_lines(tx, &line_rows, store.device_id()).await?;
            insert_payments(tx, &pay_rows, store.device_id()).await
        }
        .await;
        let end = if written.is_ok() { "COMMIT" } else { "ROLLBACK" };
        sqlx::query(end).execute(&mut *conn).await.map_err(|e| e.to_string())?;
        written?;
        done += size;
        if done % 100_000 == 0 || done == n {
            eprintln!("generate: {done}/{n} invoices ({:.0}/s)", done as f64 / start.elapsed().as_secs_f64());
        }
    }
    Ok(n as f64 / start.elapsed().as_secs_f64().max(1e-9))
}

type Tx = sqlx::SqliteConnection;

async fn insert_bills(
    tx: &mut Tx,
    rows: &[(String, String, String, String, money::Totals)],
    device: &str,
) -> Result<(), String> {
    for chunk in rows.chunks(2_000) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO bills (id, patient_id, status, number, currency, finalized_at, subtotal_minor, discount_minor, tax_minor, total_minor, created_at, updated_at, origin_device) ",
        );
        q.push_values(chunk, |mut b, (id, patient, number, at, t)| {
            b.push_bind(id).push_bind(patient).push_bind("final").push_bind(number).push_bind("INR").push_bind(at);
            b.push_bind(t.subtotal)
                .push_bind(t.discount)
                .push_bind(t.tax)
                .push_bind(t.total)
                .push_bind(at)
                .push_bind(at)
                .push_bind(device);
        });
        q.build().execute(&mut *tx).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

async fn insert_lines(
    tx: &mut Tx,
    rows: &[(String, i64, String, u32, i64, u32, String)],
    device: &str,
) -> Result<(), String> {
    for chunk in rows.chunks(2_000) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO bill_lines (id, bill_id, position, service_id, description, category, quantity, unit_price_minor, discount_kind, tax_rate_bp, created_at, updated_at, origin_device) ",
        );
        q.push_values(chunk, |mut b, (bill, pos, service, qty, price, rate, at)| {
            b.push_bind(hms_core::ids::new_id())
                .push_bind(bill)
                .push_bind(pos)
                .push_bind(service)
                .push_bind("Service")
                .push_bind("other");
            b.push_bind(qty)
                .push_bind(price)
                .push_bind("none")
                .push_bind(rate)
                .push_bind(at)
                .push_bind(at)
                .push_bind(device);
        });
        q.build().execute(&mut *tx).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

async fn insert_payments(tx: &mut Tx, rows: &[(String, i64, String, String)], device: &str) -> Result<(), String> {
    for chunk in rows.chunks(2_000) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO payments (id, bill_id, kind, mode, amount_minor, received_at, receipt_no, created_at, updated_at, origin_device) ",
        );
        q.push_values(chunk, |mut b, (bill, amount, at, receipt)| {
            b.push_bind(hms_core::ids::new_id())
                .push_bind(bill)
                .push_bind("payment")
                .push_bind("cash")
                .push_bind(amount);
            b.push_bind(at).push_bind(receipt).push_bind(at).push_bind(at).push_bind(device);
        });
        q.build().execute(&mut *tx).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}
