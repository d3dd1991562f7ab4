//! The appointments area: doctors with weekly sessions and a history of appointments (two
//! per patient), then the latency of the reads and the write that reception does all day.

use super::cold::{self, Depth};
use super::stats::{summarize, time_n};
use super::{Ctx, BENCH_PASSWORD, BENCH_USER};
use crate::{generate, generate_schedule};
use chrono::{Datelike, Duration, NaiveDate};
use hms_core::schedule::booking::{self, BookInput};
use hms_core::schedule::{calendar, slots, staff};
use hms_core::{Authorized, Error, ValidationReason};
use serde_json::json;
use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::time::Instant;

const SAMPLES: usize = 500;
const WRITE_SAMPLES: usize = 300;
/// Weeks read from a disk-cold cache (each takes a while on a machine with a large readahead).
const DISK_SAMPLES: usize = 50;

/// A live session: generating a large history can outlast the idle lock, so sign in again
/// when the session has locked.
pub(super) async fn auth(ctx: &Ctx) -> Result<Authorized, String> {
    if let Ok(a) = ctx.session.authorize(&ctx.store).await {
        return Ok(a);
    }
    hms_core::auth::sign_in(&ctx.store, &ctx.session, BENCH_USER, BENCH_PASSWORD).await.map_err(|e| e.to_string())?;
    ctx.session.authorize(&ctx.store).await.map_err(|e| e.to_string())
}

async fn count(ctx: &Ctx, sql: &str) -> Result<u64, String> {
    let n: i64 = sqlx::query_scalar(sql).fetch_one(ctx.store.pool()).await.map_err(|e| e.to_string())?;
    Ok(n.max(0) as u64)
}

/// Fills what is missing (patients, doctors, appointments), then measures. Doctors and
/// appointments follow the requested number of patients (200 and 2,000,000 at 1,000,000),
/// whatever other areas added; the appointments go to all the patients there are.
pub async fn run(ctx: &mut Ctx, patients: u64, seed: u64) -> Result<(), String> {
    eprintln!("bench: appointments");
    fill(ctx, patients, seed).await?;
    measure(ctx, seed).await
}

/// The patients, doctors and appointments the area measures (what is missing of them).
pub(super) async fn fill(ctx: &Ctx, patients: u64, seed: u64) -> Result<(), String> {
    let have = count(ctx, "SELECT COUNT(*) FROM patients").await?;
    if have < patients {
        eprintln!("bench: generating {} patients for the appointments", patients - have);
        generate::patients(&ctx.store, &auth(ctx).await?, patients - have, seed + have).await?;
    }
    if count(ctx, "SELECT COUNT(*) FROM staff WHERE role = 'doctor'").await? == 0 {
        let n = generate_schedule::doctors_for(patients);
        eprintln!("bench: adding {n} doctors with weekly sessions");
        generate_schedule::doctors(&ctx.store, &auth(ctx).await?, n, seed).await?;
    }
    let target = 2 * patients;
    let existing = count(ctx, "SELECT COUNT(*) FROM appointments").await?;
    if existing == 0 {
        eprintln!("bench: generating {target} appointments (seed {seed})");
        let (n, rate) = generate_schedule::appointments(&ctx.store, &auth(ctx).await?, target, seed).await?;
        eprintln!("bench: {n} appointments generated at {rate:.0}/s");
    } else {
        eprintln!("bench: database already has {existing} appointments; not generated again");
    }
    Ok(())
}

async fn measure(ctx: &mut Ctx, seed: u64) -> Result<(), String> {
    let a = auth(ctx).await?;
    let store = &ctx.store;
    let tz = hms_core::clinic::time_zone(store).await.map_err(|e| e.to_string())?;
    let today = store.now().with_timezone(&tz).date_naive();
    let doctors: Vec<String> =
        staff::doctors(store, &a, None).await.map_err(|e| e.to_string())?.into_iter().map(|d| d.id).collect();
    let specialties: Vec<String> =
        staff::specialties(store, &a).await.map_err(|e| e.to_string())?.into_iter().map(|s| s.id).collect();
    if doctors.is_empty() {
        eprintln!("bench: no doctors; appointments area skipped");
        return Ok(());
    }
    let mut rng = fastrand::Rng::with_seed(seed ^ 0xa99);
    let day = |rng: &mut fastrand::Rng, from: i64, to: i64| {
        (today + Duration::days(rng.i64(from..to))).format("%Y-%m-%d").to_string()
    };
    let err = |e: Error| e.to_string();

    // Free slots of one doctor on one day of the coming four weeks; keep what they offer
    // for the booking samples.
    let picks: Vec<(String, String)> =
        (0..SAMPLES).map(|_| (doctors[rng.usize(..doctors.len())].clone(), day(&mut rng, 0, 28))).collect();
    let offered: RefCell<Vec<(String, String, String)>> = RefCell::default();
    let lat = time_n(picks.len(), |i| {
        let (a, (doctor, date), offered) = (a.clone(), &picks[i], &offered);
        async move {
            let free = slots::free_slots(store, &a, doctor, date).await?;
            offered.borrow_mut().extend(free.into_iter().map(|s| (doctor.clone(), s.date, s.start)));
            Ok::<(), Error>(())
        }
    })
    .await
    .map_err(err)?;
    ctx.latency.insert("free_slots_doctor_day".into(), json!(lat));

    let picks: Vec<(String, String)> =
        (0..SAMPLES).map(|_| (specialties[rng.usize(..specialties.len())].clone(), day(&mut rng, 0, 14))).collect();
    let lat = time_n(picks.len(), |i| {
        let (a, (specialty, from)) = (a.clone(), &picks[i]);
        async move { slots::next_free_by_specialty(store, &a, specialty, from, 30).await.map(drop) }
    })
    .await
    .map_err(err)?;
    ctx.latency.insert("next_free_by_specialty".into(), json!(lat));

    // Weeks from half a year back (full of history) to four weeks ahead, from Monday.
    let monday = |d: NaiveDate| d - Duration::days(i64::from(d.weekday().num_days_from_monday()));
    let picks: Vec<(String, String)> = (0..SAMPLES)
        .map(|_| {
            (
                doctors[rng.usize(..doctors.len())].clone(),
                monday(today + Duration::weeks(rng.i64(-26..4))).format("%Y-%m-%d").to_string(),
            )
        })
        .collect();
    // Each week read with cold caches (see `cold`): the time to open a week nobody looked at
    // since its pages left the process (the files in the OS cache, read in first), and (fewer
    // samples: each reads from the disk) since they left the machine's memory too.
    for (name, depth, n) in
        [("doctor_week", Depth::Process, SAMPLES), ("doctor_week_disk_cold", Depth::Disk, DISK_SAMPLES)]
    {
        if depth == Depth::Process {
            let t = Instant::now();
            let bytes = cold::warm_files(store.path())?;
            eprintln!(
                "bench: {} MB of database read into the OS cache in {:.1} s",
                bytes >> 20,
                t.elapsed().as_secs_f64()
            );
        }
        let mut samples = Vec::with_capacity(n);
        for (doctor, week) in picks.iter().take(n) {
            cold::drop_caches(store, depth).await?;
            let start = Instant::now();
            calendar::doctor_week(store, &a, doctor, week).await.map_err(err)?;
            samples.push(start.elapsed());
        }
        ctx.latency.insert(name.into(), json!(summarize(samples)));
    }

    book(ctx, &a, offered.into_inner(), &mut rng).await
}

/// Books random patients into distinct free slots seen above. A patient who already has an
/// appointment at that time is refused by the overlap check: that is a booking attempt
/// like any other, timed, and counted on stderr.
async fn book(
    ctx: &mut Ctx,
    a: &Authorized,
    offered: Vec<(String, String, String)>,
    rng: &mut fastrand::Rng,
) -> Result<(), String> {
    let store = &ctx.store;
    let max_pk: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(pk), 0) FROM patients")
        .fetch_one(store.pool())
        .await
        .map_err(|e| e.to_string())?;
    let mut seen = HashSet::new();
    let mut slots: Vec<(String, String, String)> = offered.into_iter().filter(|s| seen.insert(s.clone())).collect();
    rng.shuffle(&mut slots);
    slots.truncate(WRITE_SAMPLES);
    let mut inputs = Vec::with_capacity(slots.len());
    for (doctor, date, start) in slots {
        let patient: Option<String> = sqlx::query_scalar("SELECT id FROM patients WHERE pk = ? AND status <> 'merged'")
            .bind(rng.i64(1..=max_pk.max(1)))
            .fetch_optional(store.pool())
            .await
            .map_err(|e| e.to_string())?;
        if let Some(patient_id) = patient {
            inputs.push(BookInput {
                patient_id,
                doctor_id: doctor,
                date,
                start,
                reason: "bench".into(),
                overbook: false,
            });
        }
    }
    let refused = Cell::new(0);
    let lat = time_n(inputs.len(), |i| {
        let (a, input, refused) = (a.clone(), inputs[i].clone(), &refused);
        async move {
            match booking::book(store, &a, input).await {
                Ok(_) => Ok(()),
                Err(Error::Validation { ref field, reason: ValidationReason::Taken, .. }) if field == "patient_id" => {
                    refused.set(refused.get() + 1);
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
    })
    .await
    .map_err(|e| e.to_string())?;
    if refused.get() > 0 {
        eprintln!("bench: {} bookings refused (the patient was booked elsewhere at that time)", refused.get());
    }
    ctx.latency.insert("book_appointment".into(), json!(lat));
    Ok(())
}
