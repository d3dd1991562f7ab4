//! The stock area: a pharmacy with 10,000 stock items (lab consumables and sundries) and five
//! medicines stocked in batches at the counter, and a ledger filled to `STOCK_MOVEMENTS`
//! movements; then item search, dispensing a 5-line prescription (allocation, movements, bill
//! lines, audit), an item's balance across its batches, a store's expiry list and opening a
//! 1,000-line stock take, through hms-core with a pharmacist's and a doctor's signed-in
//! sessions.
//!
//! The ledger's bulk (receipts and a year of dispensing of the consumables, in pairs) is
//! written by one SQL statement, not through the core: the balance cache is kept by the same
//! triggers, so what `stock_balance` reads is what a clinic would have; the timed operations
//! all go through the core.

use super::clinical::person;
use super::stats::time_n;
use super::Ctx;
use hms_core::clinical::{prescribing, visits, MedicineInput, PrescriptionInput, VisitInput};
use hms_core::patients::{self, PatientInput};
use hms_core::stock::stocktake::{self, StockTakeOpenInput};
use hms_core::stock::{
    dispensing, ledger, receiving, setup, DispenseInput, DispenseLineInput, ReceiptInput, ReceiptLineInput,
    StockItemInput, StockStoreInput,
};
use serde_json::json;

const ITEMS: usize = 10_000;
/// Movements in the ledger (receipts and dispensings of the consumables, generated).
const STOCK_MOVEMENTS: i64 = 1_000_000;
const SEARCH_SAMPLES: usize = 200;
/// 120 (in rounds of [`DISPENSE_ROUND`]): with 30, "p99" was the slowest sample.
const DISPENSE_SAMPLES: usize = 120;
const DISPENSE_ROUND: usize = 40;
const BALANCE_SAMPLES: usize = 200;
const EXPIRY_SAMPLES: usize = 50;
/// Batch lines on the shelf a stock take opens (issue 16: `stocktake_open_1000`).
const STOCKTAKE_LINES: i64 = 1_000;
const STOCKTAKE_SAMPLES: usize = 30;
const MEDICINES: [(&str, &str, &str); 5] = [
    ("Amoxicillin", "500 mg", "capsule"),
    ("Paracetamol", "650 mg", "tablet"),
    ("Metformin", "500 mg", "tablet"),
    ("Amlodipine", "5 mg", "tablet"),
    ("Cetirizine", "10 mg", "tablet"),
];

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

const WORDS: [&str; 12] = [
    "Gauze", "Syringe", "Glove", "Reagent", "Catheter", "Bandage", "Cannula", "Swab", "Strip", "Lancet", "Tube", "Mask",
];

pub async fn run(ctx: &mut Ctx) -> Result<(), String> {
    let admin = ctx.session.authorize(&ctx.store).await.map_err(err)?;
    let pharmacist = person(ctx, &admin, "bench.pharmacist", "pharmacist").await?;
    let doctor = person(ctx, &admin, "bench.doctor", "doctor").await?;
    let store = &ctx.store;
    let run = hms_core::ids::new_id();
    let tag = run.get(24..).unwrap_or("x").to_string();
    eprintln!("bench stock: {ITEMS} items, 5 medicines in batches, {STOCK_MOVEMENTS} movements in the ledger");
    let add_store = |name: &str, kind: &str| StockStoreInput { name: format!("{name} {tag}"), kind: kind.into() };
    let main = setup::add_store(store, &admin, add_store("Bench main", "main")).await.map_err(err)?.id;
    let counter = setup::add_store(store, &admin, add_store("Bench counter", "pharmacy")).await.map_err(err)?.id;

    // 10,000 items through the core.
    let started = std::time::Instant::now();
    let mut items = Vec::with_capacity(ITEMS);
    for i in 0..ITEMS {
        let input = StockItemInput {
            kind: if i % 3 == 0 { "lab_consumable" } else { "other" }.into(),
            generic_name: format!("{} {} {i}", WORDS[i % WORDS.len()], WORDS[(i / 12) % WORDS.len()]),
            strength: format!("{} ml", 1 + i % 50),
            pack_size: 10,
            unit: "piece".into(),
            reorder_level: 20,
            sale_price_minor: 100 + (i as i64 % 900),
            ..Default::default()
        };
        items.push(setup::add_item(store, &pharmacist, input).await.map_err(err)?.id);
    }
    eprintln!("bench stock: items added in {:.1} s", started.elapsed().as_secs_f64());

    // Five medicines, each in three batches at the counter (FEFO has batches to choose from).
    let mut medicines = Vec::new();
    for (name, strength, form) in MEDICINES {
        let found: Option<String> = sqlx::query_scalar(
            "SELECT id FROM medicines WHERE name = ? AND strength = ? AND form = ? AND deleted_at IS NULL",
        )
        .bind(name)
        .bind(strength)
        .bind(form)
        .fetch_optional(store.pool())
        .await
        .map_err(err)?;
        let medicine = match found {
            Some(id) => id,
            None => {
                let input = MedicineInput {
                    name: name.into(),
                    strength: strength.into(),
                    form: form.into(),
                    ..Default::default()
                };
                prescribing::add_medicine(store, &admin, input).await.map_err(err)?.id
            }
        };
        let item: Option<String> = sqlx::query_scalar("SELECT id FROM stock_items WHERE medicine_id = ? LIMIT 1")
            .bind(&medicine)
            .fetch_optional(store.pool())
            .await
            .map_err(err)?;
        let item = match item {
            Some(id) => id,
            None => {
                let input = StockItemInput {
                    kind: "medicine".into(),
                    medicine_id: Some(medicine.clone()),
                    pack_size: 10,
                    unit: form.into(),
                    reorder_level: 100,
                    tax_rate_bp: 1200,
                    sale_price_minor: 250,
                    ..Default::default()
                };
                setup::add_item(store, &pharmacist, input).await.map_err(err)?.id
            }
        };
        let lines = (0..3)
            .map(|b| ReceiptLineInput {
                item_id: item.clone(),
                batch_no: format!("{tag}-{b}"),
                expiry: format!("20{}-12-31", 28 + b),
                packs: 1_000,
                ..Default::default()
            })
            .collect();
        let input = ReceiptInput {
            store_id: counter.clone(),
            supplier_id: None,
            invoice_no: tag.clone(),
            note: String::new(),
            lines,
        };
        receiving::receive(store, &pharmacist, input).await.map_err(err)?;
        medicines.push(medicine);
    }

    // The ledger's bulk: a batch per consumable in the main store, then receipts and
    // dispensings of them in pairs, spread over the items.
    let started = std::time::Instant::now();
    let (now, device) = (store.now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true), "bench");
    // Their expiries spread from two months ago to three years ahead, as a store's are: the
    // expiry list's windows (30/60/90 days) hold a share of them, not all or none.
    let today = store.now().format("%Y-%m-%d").to_string();
    sqlx::query(
        "INSERT INTO stock_batches (id, item_id, batch_no, expiry, created_at, updated_at, origin_device)
         SELECT lower(hex(randomblob(16))), id, 'G-' || ?1, date(?4, ((rowid * 7919) % 1095 - 60) || ' days'), ?2, ?2, ?3
         FROM stock_items WHERE medicine_id IS NULL AND deleted_at IS NULL",
    )
    .bind(&tag)
    .bind(&now)
    .bind(device)
    .bind(&today)
    .execute(store.pool())
    .await
    .map_err(err)?;
    // The batches just made have consecutive rowids: each pair of movements finds its batch
    // by rowid (a lookup, not a scan).
    let (first, batches): (i64, i64) =
        sqlx::query_as("SELECT MIN(rowid), COUNT(*) FROM stock_batches WHERE batch_no = 'G-' || ?")
            .bind(&tag)
            .fetch_one(store.pool())
            .await
            .map_err(err)?;
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1)
         INSERT INTO stock_movements (id, item_id, batch_id, store_id, kind, quantity, at, created_at, updated_at, origin_device)
         SELECT lower(hex(randomblob(16))), b.item_id, b.id, ?2,
                CASE WHEN n.i % 2 = 0 THEN 'received' ELSE 'dispensed' END,
                CASE WHEN n.i % 2 = 0 THEN 10 ELSE -3 END, ?3, ?3, ?3, ?4
         FROM n JOIN stock_batches b ON b.rowid = ?5 + (n.i / 2) % ?6",
    )
    .bind(STOCK_MOVEMENTS)
    .bind(&main)
    .bind(&now)
    .bind(device)
    .bind(first)
    .bind(batches.max(1))
    .execute(store.pool())
    .await
    .map_err(err)?;
    eprintln!("bench stock: {STOCK_MOVEMENTS} movements in {:.1} s", started.elapsed().as_secs_f64());
    // A year's ledger written in one statement leaves a WAL of hundreds of MB; a clinic's
    // ledger grows over the year.
    super::settle(store).await?;

    let queries: Vec<String> = (0..SEARCH_SAMPLES)
        .map(|i| {
            let w = WORDS[i % WORDS.len()];
            w[..2 + i % (w.len() - 2)].to_lowercase()
        })
        .collect();
    // Each query once, untimed: the pharmacy searches all day, the index's pages are in memory
    // (the first search of each word read them from the disk: 8–19 ms).
    for q in &queries {
        setup::search_items(store, &pharmacist, q).await.map_err(err)?;
    }
    let latency = time_n(SEARCH_SAMPLES, |i| {
        let (auth, q) = (pharmacist.clone(), queries[i].clone());
        async move { setup::search_items(store, &auth, &q).await.map(drop) }
    })
    .await
    .map_err(err)?;
    ctx.latency.insert("stock_item_search".into(), json!(latency));

    // A 5-line prescription per sample (prescribed untimed), dispensed first expiry first out;
    // a patient for every 40 (a bill holds at most 500 lines).
    let mut people = Vec::new();
    for n in 0..DISPENSE_SAMPLES.div_ceil(40) {
        let someone = PatientInput {
            given_name: "Dispensing".into(),
            family_name: format!("Bench {tag} {n}"),
            sex: "female".into(),
            birth_date: Some("1970-01-01".into()),
            ..Default::default()
        };
        people.push(match patients::register(store, &admin, someone.clone()).await {
            Ok(p) => p.id,
            Err(hms_core::Error::LikelyDuplicate { .. }) => {
                patients::register_anyway(store, &admin, someone, "bench").await.map_err(err)?.id
            }
            Err(e) => return Err(err(e)),
        });
    }
    // One more than the samples: the first is dispensed untimed (the day's first dispensing
    // reads the pages of the tables it writes).
    let mut inputs = Vec::with_capacity(DISPENSE_SAMPLES + 1);
    for i in 0..=DISPENSE_SAMPLES {
        let patient_id = people[(i / 40).min(people.len() - 1)].clone();
        let visit =
            visits::start_visit(store, &doctor, VisitInput { patient_id, ..Default::default() }).await.map_err(err)?.id;
        let mut lines = Vec::new();
        for m in &medicines {
            let rx = PrescriptionInput {
                medicine_id: m.clone(),
                dose: "1".into(),
                dose_unit: "tablet".into(),
                frequency: "1-0-1".into(),
                duration_days: Some(5),
                override_reason: Some("bench".into()),
                ..Default::default()
            };
            let id = prescribing::prescribe(store, &doctor, &visit, rx).await.map_err(err)?.id;
            lines.push(DispenseLineInput { prescription_id: id, quantity: 10, complete: true, ..Default::default() });
        }
        inputs.push(DispenseInput { store_id: counter.clone(), lines });
    }
    // One untimed first (the day's first dispensing reads the pages of the tables it writes),
    // then rounds of 40, the WAL folded before each: the visits and prescriptions written
    // untimed are a clinic's day written in seconds, and 40 dispensings back to back write
    // what a counter writes in an hour or two (about 140 kB of WAL each; 120 in a row pushed it
    // past its bound, and the next dispensings waited for its RESTART).
    dispensing::dispense(store, &pharmacist, inputs[0].clone()).await.map_err(err)?;
    let mut samples = Vec::with_capacity(DISPENSE_SAMPLES);
    for round in inputs[1..].chunks(DISPENSE_ROUND) {
        super::settle(store).await?;
        for input in round {
            let started = std::time::Instant::now();
            dispensing::dispense(store, &pharmacist, input.clone()).await.map_err(err)?;
            samples.push(started.elapsed());
        }
    }
    let latency = super::stats::summarize(samples);
    ctx.latency.insert("dispense_prescription".into(), json!(latency));

    let latency = time_n(BALANCE_SAMPLES, |i| {
        let (auth, item) = (pharmacist.clone(), items[(i * 37) % items.len()].clone());
        async move { ledger::item_balances(store, &auth, &item).await.map(drop) }
    })
    .await
    .map_err(err)?;
    ctx.latency.insert("stock_balance".into(), json!(latency));

    // The list as the Expiry screen asks for it (its longest window, 90 days) of the store with
    // 10,000 batches; and, for comparison, every batch of that store (ten years ahead).
    let window = u32::try_from(hms_core::stock::alerts::EXPIRY_WINDOWS[2]).unwrap_or(90);
    // Once untimed, as the reports are: the first reads of the store's batches come from the disk.
    ledger::expiry_report(store, &pharmacist, &main, window).await.map_err(err)?;
    let latency = time_n(EXPIRY_SAMPLES, |_| {
        let (auth, store_id) = (pharmacist.clone(), main.clone());
        async move { ledger::expiry_report(store, &auth, &store_id, window).await.map(drop) }
    })
    .await
    .map_err(err)?;
    ctx.latency.insert("expiry_report".into(), json!(latency));
    let latency = time_n(EXPIRY_SAMPLES, |_| {
        let (auth, store_id) = (pharmacist.clone(), main.clone());
        async move { ledger::expiry_report(store, &auth, &store_id, 3650).await.map(drop) }
    })
    .await
    .map_err(err)?;
    ctx.latency.insert("expiry_report_whole_store".into(), json!(latency));

    let latency = stocktake_open(store, &admin, &pharmacist, &tag).await?;
    ctx.latency.insert("stocktake_open_1000".into(), json!(latency));
    Ok(())
}

/// A shelf of 1,000 batch lines (1,000 of the consumables' batches, received there by one SQL
/// statement: the balance cache's triggers run), then opening a stock take of it through the
/// core: the snapshot, its 1,000 lines and their outbox entries, the audit (each take is
/// cancelled, untimed, so that the next may open).
async fn stocktake_open(
    store: &hms_core::Store,
    admin: &hms_core::Authorized,
    pharmacist: &hms_core::Authorized,
    tag: &str,
) -> Result<super::stats::Latency, String> {
    let input = StockStoreInput { name: format!("Bench shelf {tag}"), kind: "ward".into() };
    let shelf = setup::add_store(store, admin, input).await.map_err(err)?.id;
    let now = store.now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    sqlx::query(
        "INSERT INTO stock_movements (id, item_id, batch_id, store_id, kind, quantity, at, created_at, updated_at, origin_device)
         SELECT lower(hex(randomblob(16))), item_id, id, ?1, 'received', 10, ?2, ?2, ?2, 'bench'
         FROM stock_batches WHERE batch_no = 'G-' || ?3 ORDER BY rowid LIMIT ?4",
    )
    .bind(&shelf)
    .bind(&now)
    .bind(tag)
    .bind(STOCKTAKE_LINES)
    .execute(store.pool())
    .await
    .map_err(err)?;
    let mut samples = Vec::with_capacity(STOCKTAKE_SAMPLES);
    for _ in 0..STOCKTAKE_SAMPLES {
        let input = StockTakeOpenInput { store_id: shelf.clone(), ..Default::default() };
        let started = std::time::Instant::now();
        let take = stocktake::open::open(store, pharmacist, input).await.map_err(err)?;
        samples.push(started.elapsed());
        if i64::from(take.lines) != STOCKTAKE_LINES {
            return Err(format!("the bench's stock take has {} lines, not {STOCKTAKE_LINES}", take.lines));
        }
        stocktake::post::cancel(store, pharmacist, &take.id).await.map_err(err)?;
    }
    Ok(super::stats::summarize(samples))
}
