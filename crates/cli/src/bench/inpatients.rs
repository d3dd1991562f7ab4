//! The inpatient area: a 500-bed hospital (10 wards of 50 beds, a daily bed charge) with 450
//! patients in bed, then the bed board, admissions into free beds, transfers, discharges and
//! the nightly census of 450 inpatients, through hms-core with a receptionist's, a doctor's and
//! a nurse's signed-in sessions. Before them the generator writes a year of past stays in
//! every bed (about 33,000 admissions and 100,000 bed events): the board is derived from the
//! beds' stories, so the figures include what a year of them costs.

use super::clinical::person;
use super::stats::time_n;
use super::Ctx;
use hms_core::billing::{tariff, ServiceInput};
use hms_core::inpatients::{board, census, setup, stays, AdmitInput, BedInput, BoardFilter, DischargeInput, WardInput};
use hms_core::patients::{self, PatientInput};
use hms_core::Authorized;
use serde_json::json;

const WARDS: usize = 10;
const BEDS_PER_WARD: usize = 50;
const OCCUPIED: usize = 450;
const BOARD_SAMPLES: usize = 100;
/// Admissions into the 50 free beds, then as many transfers and discharges, per round.
const MOVE_SAMPLES: usize = 40;
const MOVE_ROUNDS: usize = 3;
const CENSUS_SAMPLES: usize = 5;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn admit_input(patient: &str, doctor: &str, ward: &str, bed: &str) -> AdmitInput {
    AdmitInput {
        patient_id: patient.into(),
        doctor_id: doctor.into(),
        reason: "Bench admission".into(),
        diagnosis_code: String::new(),
        expected_days: Some(3),
        ward_id: ward.into(),
        bed_id: Some(bed.into()),
        admitted_at: None,
    }
}

pub(super) async fn new_patients(ctx: &Ctx, admin: &Authorized, n: usize) -> Result<Vec<String>, String> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let p = PatientInput {
            given_name: format!("Inpatient{i}"),
            family_name: "Bench".into(),
            sex: if i % 2 == 0 { "female".into() } else { "male".into() },
            birth_date: Some(format!("19{:02}-0{}-1{}", 40 + i % 60, 1 + i % 9, i % 10)),
            phones: vec![format!("+91 98{:03} {:05}", i % 1000, i)],
            ..Default::default()
        };
        match patients::register(&ctx.store, admin, p.clone()).await {
            Ok(p) => out.push(p.id),
            Err(hms_core::Error::LikelyDuplicate { .. }) => {
                out.push(patients::register_anyway(&ctx.store, admin, p, "bench").await.map_err(err)?.id)
            }
            Err(e) => return Err(err(e)),
        }
    }
    Ok(out)
}

pub async fn run(ctx: &mut Ctx, seed: u64) -> Result<(), String> {
    let admin = ctx.session.authorize(&ctx.store).await.map_err(err)?;
    let doctor = person(ctx, &admin, "bench.doctor", "doctor").await?;
    let desk = person(ctx, &admin, "bench.desk", "receptionist").await?;
    let nurse = person(ctx, &admin, "bench.nurse", "nurse").await?;
    let doctor_staff: String = sqlx::query_scalar(
        "SELECT s.id FROM staff s JOIN users u ON u.id = s.user_id WHERE u.username = 'bench.doctor'",
    )
    .fetch_one(ctx.store.pool())
    .await
    .map_err(err)?;

    eprintln!("bench inpatients: {WARDS} wards of {BEDS_PER_WARD} beds, {OCCUPIED} admitted");
    let service = ServiceInput {
        code: format!("BED-{}", hms_core::ids::new_id().get(24..).unwrap_or("x")),
        name: "Bed (bench)".into(),
        category: "bed_day".into(),
        tax_rate_bp: 0,
        tax_exempt: true,
        price_minor: 150_000,
        effective_from: Some("2000-01-01".into()),
    };
    let service = tariff::add_service(&ctx.store, &admin, service).await.map_err(err)?.id;
    let mut beds: Vec<(String, String)> = Vec::new();
    let run = hms_core::ids::new_id();
    for w in 0..WARDS {
        let input = WardInput {
            name: format!("Bench ward {w} {}", run.get(24..).unwrap_or("")),
            kind: "general".into(),
            bed_service_id: Some(service.clone()),
        };
        let ward = setup::add_ward(&ctx.store, &admin, input).await.map_err(err)?.id;
        for b in 0..BEDS_PER_WARD {
            let tags = if b % 5 == 0 { vec!["oxygen".to_string()] } else { vec![] };
            let input = BedInput {
                ward_id: ward.clone(),
                room_id: None,
                label: format!("B{b:02}"),
                tags,
                bed_service_id: None,
            };
            beds.push((ward.clone(), setup::add_bed(&ctx.store, &admin, input).await.map_err(err)?.id));
        }
    }
    let people = new_patients(ctx, &admin, OCCUPIED + MOVE_SAMPLES * MOVE_ROUNDS).await?;
    let mut past_patients: Vec<String> =
        sqlx::query_scalar("SELECT id FROM patients WHERE status = 'active' LIMIT 20000")
            .fetch_all(ctx.store.pool())
            .await
            .map_err(err)?;
    past_patients.extend(people.iter().cloned());
    let past =
        crate::generate_inpatients::past_stays(&ctx.store, &beds, &past_patients, &doctor_staff, 365, seed).await?;
    eprintln!("bench inpatients: a year of past stays, {past} admissions");
    super::settle(&ctx.store).await?;
    for (i, (ward, bed)) in beds.iter().take(OCCUPIED).enumerate() {
        stays::admit(&ctx.store, &desk, admit_input(&people[i], &doctor_staff, ward, bed)).await.map_err(err)?;
    }
    super::settle(&ctx.store).await?;

    let (store, auth) = (&ctx.store, nurse.clone());
    // One untimed read first, as for the dashboards: the board opened twice.
    board::board(store, &auth, BoardFilter::default()).await.map_err(err)?;
    let latency = time_n(BOARD_SAMPLES, |_| {
        let auth = auth.clone();
        async move { board::board(store, &auth, BoardFilter::default()).await.map(|_| ()) }
    })
    .await
    .map_err(err)?;
    ctx.latency.insert("bed_board_500".into(), json!(latency));

    // Rounds of: admissions into the 50 free beds, transfers of those patients, their
    // discharges, then (untimed) the beds cleaned for the next round. Three rounds give each
    // operation 120 samples: with 40, the p99 is simply the slowest one.
    let free: Vec<(String, String)> = beds[OCCUPIED..].to_vec();
    let (mut admits, mut transfers, mut discharges) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..MOVE_ROUNDS {
        let fresh = &people[OCCUPIED + round * MOVE_SAMPLES..OCCUPIED + (round + 1) * MOVE_SAMPLES];
        let mut admitted = Vec::with_capacity(MOVE_SAMPLES);
        for (i, patient) in fresh.iter().enumerate() {
            let input = admit_input(patient, &doctor_staff, &free[i].0, &free[i].1);
            let start = std::time::Instant::now();
            let a = stays::admit(store, &desk, input).await.map_err(err)?;
            admits.push(start.elapsed());
            admitted.push(a.id);
        }
        // Each to one of the ten beds still free; the bed left is cleaned (not timed) so that
        // the next transfer has one.
        let mut free_now: Vec<String> = free[MOVE_SAMPLES..].iter().map(|(_, b)| b.clone()).collect();
        let mut now_in = Vec::with_capacity(MOVE_SAMPLES);
        for (i, adm) in admitted.iter().enumerate() {
            let to = free_now.remove(0);
            let from = free[i].1.clone();
            let start = std::time::Instant::now();
            stays::transfer(store, &desk, adm, &to).await.map_err(err)?;
            transfers.push(start.elapsed());
            setup::mark_clean(store, &nurse, &from).await.map_err(err)?;
            free_now.push(from);
            now_in.push(to);
        }
        for adm in &admitted {
            let input = DischargeInput {
                admission_id: adm.clone(),
                discharge_type: "home".into(),
                discharged_at: None,
                note: String::new(),
            };
            let start = std::time::Instant::now();
            stays::discharge(store, &doctor, input).await.map_err(err)?;
            discharges.push(start.elapsed());
        }
        for bed in &now_in {
            setup::mark_clean(store, &nurse, bed).await.map_err(err)?;
        }
    }
    ctx.latency.insert("admit".into(), json!(super::stats::summarize(admits)));
    ctx.latency.insert("transfer".into(), json!(super::stats::summarize(transfers)));
    ctx.latency.insert("discharge".into(), json!(super::stats::summarize(discharges)));

    // The census: each sample a night later, charging the 450 patients in bed one bed-day.
    let start = ctx.store.now();
    let mut samples = Vec::with_capacity(CENSUS_SAMPLES);
    for night in 1..=CENSUS_SAMPLES as i64 {
        ctx.store.set_now(Some(start + chrono::Duration::days(night)));
        // A night apart: the night before's WAL is long copied by then.
        super::settle(&ctx.store).await?;
        let t = std::time::Instant::now();
        let charged = census::accrue(&ctx.store, &desk).await.map_err(err)?;
        samples.push(t.elapsed());
        if charged.lines < OCCUPIED as u32 {
            return Err(format!("census charged {} lines for {OCCUPIED} inpatients", charged.lines));
        }
    }
    ctx.store.set_now(None);
    ctx.latency.insert("census_450".into(), json!(super::stats::summarize(samples)));
    let staff = super::ward_round::Staff {
        admin: &admin,
        doctor: &doctor,
        desk: &desk,
        nurse: &nurse,
        doctor_staff: &doctor_staff,
        bed_service: &service,
    };
    super::ward_round::run(ctx, staff).await
}
