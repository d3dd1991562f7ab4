//! Property: devices converge. In each case, 3 to 5 simulated devices (hms-core stores on
//! temporary SQLite files) of a fresh tenant of one real hms-server on PostgreSQL start from a
//! shared, synced clinic (a doctor with a morning of slots, a few patients and appointments),
//! then make random edits (rename, change phones, deactivate and reactivate patients, register
//! new ones one by one and by CSV import (one write and one outbox batch for the whole
//! import, now and then hundreds of patients), book, reschedule and
//! cancel appointments, including two devices booking one slot; admit patients to beds or a
//! waiting list and transfer them, including two devices giving away one bed; and, one step in
//! five, the rest of the stay (`convergence/ward.rs`): swap two patients' beds, give a waiting
//! patient a bed, reserve a free bed for an expected patient (also one bed on two devices apart,
//! and until a few minutes ahead, so that it lapses) and cancel a reservation,
//! discharge (also while another device transfers or swaps that patient apart),
//! start, change (also one order on two devices apart) and stop inpatient orders, record doses on the MAR (given, held, refused; PRN
//! doses given), including one scheduled dose recorded on two devices apart and PRN doses past
//! the order's 24-hour limit across devices; every step moves the devices' one clock on a few
//! minutes) and sync in random interleavings through a faulty proxy (dropped requests and answers,
//! duplicated, delayed and late-replayed requests), while the server is restarted at random
//! points. After healing (every device syncs until nothing changes):
//!
//! 1. every device holds the same rows in every synced table (synced columns only);
//! 2. no acknowledged write is lost: for each field of each row, the value written with the
//!    newest stamp is the value everywhere; every registered patient and booked appointment
//!    exists everywhere;
//! 3. every last-writer-wins loss (a value overwritten by a write that had not seen it) is
//!    recorded in `sync_conflicts` on some device, and so is every slot that ends up with two
//!    active appointments;
//! 4. every device derives the same bed board, on which no bed holds two patients and every
//!    admitted patient is in exactly one bed or on the waiting list (a bed given twice stays
//!    with the earlier admission; the later one is marked as needing a bed), and every
//!    reserved bed is held for the same patient;
//! 5. every device lists the same derived conflicts in its inbox (`bed_needed`, `dose_twice`,
//!    `prn_over_limit`, `dose_after_stop`, `order_changed_twice`, open and resolved), no discharged patient holds a bed, no order of a
//!    discharged patient runs past the discharge, every order and dose made exists, and every
//!    device settles the MAR (a dose recorded twice) and lists the ward's due doses alike, none
//!    of a stopped order at or after its stop;
//! 6. stock (`convergence/stock.rs`, one step in ten: deliveries, transfers between two stores
//!    and adjustments, often the last units of a batch on two devices apart): every movement
//!    made is everywhere, each device's cached balances equal the sum of its movements and
//!    are the same everywhere, and every batch below zero is listed as `stock_below_zero` in
//!    every device's inbox, and nothing else is.
//!
//! The nightly census (bed-days on the bill) is not run here: bed-day lines are synced rows
//! whose ids come from the admission and the day, so property 1 already holds them equal
//! everywhere, and the count follows from the admission and discharge times, which converge;
//! crossing a census midnight would also need a clock running for a day in every case, and a
//! tariff. (What it would add: one day charged on two devices apart, each priced from the bed
//! it saw then; the line is one row, the last writer's price wins, and the next census on any
//! device corrects it to the settled board's bed: `inpatients` core tests.)
//!
//! Cases: `HMS_CONVERGENCE_CASES` (default 200); one case again: `HMS_CONVERGENCE_SEED=<seed>`
//! (a failing case prints its seed); `HMS_CONVERGENCE_KEEP_GOING=1` runs every case and
//! lists every failing seed instead of stopping at the first. Network timing still varies
//! between runs of one seed.

mod common;
#[path = "convergence/stock.rs"]
mod stock;
#[path = "convergence/ward.rs"]
mod ward;

use chrono::TimeZone;
use common::device::{dump_diff, Device};
use common::proxy::{FaultyProxy, RestartableServer};
use hms_core::codes::Code;
use hms_core::inpatients::{self, AdmitInput, BedInput, BoardFilter, WardInput};
use hms_core::patients::{self, csv_io, PatientInput, PatientStatus};
use hms_core::schedule::availability::{self, SessionInput};
use hms_core::schedule::booking::{self, BookInput};
use hms_core::schedule::staff;
use hms_core::sync;
use hms_core::users::NewUser;
use hms_core::SessionSlot;
use hms_server::AppState;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

/// The Monday the appointments are on; the devices' "today" is pinned to the Sunday before
/// (the booking rules look at it; the hybrid clock stamps follow the real clock).
const DATE: &str = "2026-11-23";
const SLOTS: [&str; 6] = ["09:00", "09:15", "09:30", "09:45", "10:00", "10:15"];
const GIVEN: [&str; 8] = ["Amina", "Baraka", "Neema", "Juma", "Rehema", "Zawadi", "Imani", "Faraja"];
const FAMILY: [&str; 6] = ["Mwakyusa", "Kimaro", "Massawe", "Mushi", "Temba", "Lyimo"];
/// Cases run at once (each has its own tenant, devices and proxy; they share the server).
const PARALLEL: usize = 4;

/// One field written by one device: its value and stamp, and what the device had merged of
/// every other device when it wrote (to tell "overwrote it knowingly" from "made apart").
#[derive(Debug, Clone)]
struct Write {
    device: String,
    entity: &'static str,
    id: String,
    field: &'static str,
    value: Option<String>,
    stamp: String,
    seq: i64,
    seen: HashMap<String, i64>,
}

impl Write {
    /// Whether `self` was made by a device that had this other write already.
    fn saw(&self, other: &Write) -> bool {
        if self.device == other.device {
            return self.seq > other.seq;
        }
        self.seen.get(&other.device).is_some_and(|s| *s >= other.seq)
    }
}

struct Shared {
    /// The server's database, of the tests' backend (`HMS_TEST_BACKEND`).
    pool: hms_server::Storage,
    server: tokio::sync::Mutex<RestartableServer>,
}

#[derive(Default)]
struct Model {
    writes: Vec<Write>,
    patients: BTreeSet<String>,
    /// Appointment id -> its slot start.
    appointments: BTreeMap<String, String>,
    /// Every admission made.
    admissions: BTreeSet<String>,
    /// Every inpatient order and MAR entry made.
    orders: BTreeSet<String>,
    doses: BTreeSet<String>,
    /// Every stock movement made.
    movements: BTreeSet<String>,
}

/// The ward the cases admit to: its id and beds.
struct Beds {
    ward: String,
    beds: Vec<String>,
}

struct Case {
    tenant_id: String,
    rng: fastrand::Rng,
    devices: Vec<Device>,
    doctor: String,
    beds: Beds,
    /// The ward desk signed in on each device (admits and moves; orders, doses, discharges).
    desks: Vec<SessionSlot>,
    /// The medicine the orders give.
    medicine: String,
    /// The stores and item the stock steps move.
    stock: stock::Stock,
    /// Minutes the devices' clock has moved on from [`clock`] (every step moves it).
    minutes: i64,
    model: Model,
    log: Vec<String>,
}

fn clock() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc.with_ymd_and_hms(2026, 11, 22, 2, 30, 0).unwrap()
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_converge_through_faults_and_server_restarts() {
    // The core logs what a `storage` error hides (its SQL text) under the error's reference:
    // print it with a failing case's output, so that a rare failure names its cause.
    let _ = tracing_subscriber::fmt()
        .with_env_filter("hms=error,hms_core=error,hms_server=error")
        .with_test_writer()
        .try_init();
    let (seeds, one): (Vec<u64>, bool) = match env_u64("HMS_CONVERGENCE_SEED") {
        Some(seed) => (vec![seed], true),
        None => {
            let cases = env_u64("HMS_CONVERGENCE_CASES").unwrap_or(200);
            let base = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() * 1_000;
            ((0..cases).map(|i| base + i).collect(), false)
        }
    };
    let pool = common::test_store().await;
    let server = RestartableServer::start(AppState::new(pool.clone())).await;
    let shared = Arc::new(Shared { pool, server: tokio::sync::Mutex::new(server) });
    let started = std::time::Instant::now();
    let keep_going = std::env::var("HMS_CONVERGENCE_KEEP_GOING").is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    let mut done = 0;
    let mut running = tokio::task::JoinSet::new();
    let mut next = seeds.into_iter();
    loop {
        // Keep PARALLEL cases going; after a failure start no new ones (unless asked to).
        while running.len() < if one { 1 } else { PARALLEL } && (failures.is_empty() || keep_going) {
            let Some(seed) = next.next() else { break };
            let shared = shared.clone();
            // A case of its own task, so that a panic is reported with its seed.
            running.spawn(async move { (seed, tokio::spawn(run_case(shared, seed)).await) });
        }
        let Some(joined) = running.join_next().await else { break };
        done += 1;
        match joined {
            Ok((_, Ok(Ok(())))) => {}
            Ok((seed, Ok(Err(failure)))) => failures.push(format!("seed {seed}: {failure}")),
            Ok((seed, Err(panic))) => failures.push(format!("seed {seed}: panicked: {panic}")),
            Err(e) => failures.push(format!("a case's task failed: {e}")),
        }
    }
    let restarts = shared.server.lock().await.restarts;
    eprintln!("convergence: {done} cases, {restarts} server restarts, {:.1} s", started.elapsed().as_secs_f64());
    assert!(
        failures.is_empty(),
        "{} failing case(s); replay one with HMS_CONVERGENCE_SEED=<seed>:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

async fn run_case(shared: Arc<Shared>, seed: u64) -> Result<(), String> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let tenant = format!("convergence {seed}");
    let tenant_id = hms_server::admin::create_tenant(&shared.pool, &tenant).await.unwrap().id;
    let upstream = shared.server.lock().await.base();
    let proxy = FaultyProxy::start(&upstream, seed ^ 0x5eed).await;
    // 3 to 5 devices, mostly 3 (each device costs a store and a password hash).
    let n = [3, 3, 3, 4, 4, 5][rng.usize(..6)];
    let mut devices = Vec::new();
    for k in 0..n {
        let d = Device::new(&format!("admin{k}")).await;
        d.store.set_now(Some(clock()));
        devices.push(d);
    }
    let doctor = setup_clinic(&devices[0], &mut rng).await;
    let beds = setup_ward(&devices[0]).await;
    let medicine = ward::setup(&devices[0]).await;
    let stock = stock::setup(&devices[0]).await;
    let desks = (0..devices.len()).map(|_| SessionSlot::default()).collect();
    let mut case = Case {
        tenant_id,
        rng,
        devices,
        doctor,
        beds,
        desks,
        medicine,
        stock,
        minutes: 0,
        model: Model::default(),
        log: Vec::new(),
    };
    {
        // No restart (by another case) while enrolling: a one-time code is not retried.
        let _no_restart = shared.server.lock().await;
        for (k, d) in case.devices.iter().enumerate() {
            d.enrol(&shared.pool, &proxy.base, &tenant, &format!("device {k}")).await;
        }
    }
    // Device 0's ward desk admits a patient or two with orders, then the shared starting
    // point: everyone has everything (faults off).
    sign_in_desk(&case, 0).await;
    ward::seed(&mut case).await;
    stock::seed(&mut case).await;
    heal(&case, &shared).await?;
    // The ward desk made on device 0 signs in on every device (once synced).
    for k in 1..case.devices.len() {
        sign_in_desk(&case, k).await;
    }
    case.model.patients = ids(&case.devices[0], "SELECT id FROM patients").await.into_iter().collect();
    for (id, start) in appointment_slots(&case.devices[0]).await {
        case.model.appointments.insert(id, start);
    }

    proxy.set_faults(true);
    let steps = case.rng.usize(8..=20);
    for _ in 0..steps {
        step(&mut case, &shared).await;
    }
    proxy.set_faults(false);
    heal(&case, &shared).await?;
    check(&case).await.map_err(|e| format!("{e}\nops: {:?}", case.log))
}

async fn sign_in_desk(case: &Case, k: usize) {
    let store = &case.devices[k].store;
    hms_core::auth::sign_in(store, &case.desks[k], DESK, common::device::PW).await.unwrap();
}

/// On device 0: a doctor with one morning session in 15-minute slots, a few patients and
/// appointments.
async fn setup_clinic(d: &Device, rng: &mut fastrand::Rng) -> String {
    let a = d.auth().await;
    let specialty = staff::add_specialty(&d.store, &a, "General").await.unwrap().id;
    let doctor = staff::add_staff(
        &d.store,
        &a,
        staff::StaffInput {
            full_name: "Dr Asha Said".into(),
            role: "doctor".into(),
            specialty_ids: vec![specialty],
            fee_minor: 20_000,
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .id;
    let session = SessionInput { weekday: 1, start: "09:00".into(), end: "10:30".into(), slot_minutes: 15 };
    availability::set_weekly(&d.store, &a, &doctor, vec![session]).await.unwrap();
    let mut pats = Vec::new();
    for _ in 0..rng.usize(2..=4) {
        pats.push(register_generated(&d.store, &a, new_patient(rng)).await.id);
    }
    for _ in 0..rng.usize(1..=2) {
        let input = BookInput {
            patient_id: pats[rng.usize(..pats.len())].clone(),
            doctor_id: doctor.clone(),
            date: DATE.into(),
            start: SLOTS[rng.usize(..SLOTS.len())].into(),
            reason: String::new(),
            overbook: false,
        };
        let _ = booking::book(&d.store, &a, input).await;
    }
    doctor
}

/// The ward desk's account on every device: a receptionist (admits and moves patients) who is
/// also the ward's doctor (orders, discharges) and nurse (doses), and the pharmacy's
/// pharmacist (receives, transfers and adjusts stock). One account for all three:
/// each account costs every device a password hash at sign-in, and the cases' time counts.
const DESK: &str = "desk.neema";

/// On device 0: a general ward of three beds (no bed charge: the census is not what this
/// test is about) and the ward desk's account.
async fn setup_ward(d: &Device) -> Beds {
    let a = d.auth().await;
    let input = WardInput { name: "General".into(), kind: "general".into(), bed_service_id: None };
    let ward = inpatients::setup::add_ward(&d.store, &a, input).await.unwrap().id;
    let mut beds = Vec::new();
    for label in ["A1", "A2", "A3"] {
        let bed = BedInput { ward_id: ward.clone(), label: label.into(), ..Default::default() };
        beds.push(inpatients::setup::add_bed(&d.store, &a, bed).await.unwrap().id);
    }
    let desk = NewUser {
        username: DESK.into(),
        full_name: "Neema Desk".into(),
        password: common::device::PW.into(),
        roles: vec!["receptionist".into(), "doctor".into(), "nurse".into(), "pharmacist".into()],
    };
    d.new_user(desk).await;
    Beds { ward, beds }
}

fn phone(rng: &mut fastrand::Rng) -> String {
    format!("+255 7{}{} {:03} {:03}", rng.u8(1..=9), rng.u8(0..=9), rng.u16(0..1000), rng.u16(0..1000))
}

/// Registers a generated patient; one that happens to share a name and birth date (or a
/// phone) with an earlier one is registered anyway, as the desk would for a different person.
async fn register_generated(
    store: &hms_core::Store,
    auth: &hms_core::Authorized,
    input: PatientInput,
) -> patients::Patient {
    match patients::register(store, auth, input.clone()).await {
        Err(hms_core::Error::LikelyDuplicate { .. }) => {
            patients::register_anyway(store, auth, input, "generated: a different person").await.unwrap()
        }
        other => other.unwrap(),
    }
}

fn new_patient(rng: &mut fastrand::Rng) -> PatientInput {
    PatientInput {
        given_name: GIVEN[rng.usize(..GIVEN.len())].into(),
        family_name: FAMILY[rng.usize(..FAMILY.len())].into(),
        sex: if rng.bool() { "female".into() } else { "male".into() },
        birth_date: Some(format!("19{:02}-0{}-1{}", rng.u8(50..=99), rng.u8(1..=9), rng.u8(0..=9))),
        phones: vec![phone(rng)],
        ..Default::default()
    }
}

async fn ids(d: &Device, sql: &str) -> Vec<String> {
    sqlx::query_scalar(sql).fetch_all(d.store.pool()).await.unwrap()
}

/// (id, slot start "HH:MM") of every appointment on the device.
async fn appointment_slots(d: &Device) -> Vec<(String, String)> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT id, start_min FROM appointments").fetch_all(d.store.pool()).await.unwrap();
    rows.into_iter().map(|(id, m)| (id, format!("{:02}:{:02}", m / 60, m % 60))).collect()
}

async fn seen(d: &Device) -> HashMap<String, i64> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT device_id, device_seq FROM sync_seen").fetch_all(d.store.pool()).await.unwrap();
    rows.into_iter().collect()
}

/// The field as it stands on the device (as text; NULL as None).
async fn field(d: &Device, entity: &str, id: &str, field: &str) -> Option<Option<String>> {
    sqlx::query_scalar::<_, Option<String>>(&format!("SELECT CAST(\"{field}\" AS TEXT) FROM \"{entity}\" WHERE id = ?"))
        .bind(id)
        .fetch_optional(d.store.pool())
        .await
        .unwrap()
}

impl Case {
    /// Records `fields` of a row just written on device `k` (their new values and the stamp of
    /// the change that wrote them), given what the device had merged before the write.
    async fn record(
        &mut self,
        k: usize,
        entity: &'static str,
        id: &str,
        fields: &[&'static str],
        before: HashMap<String, i64>,
    ) {
        let d = &self.devices[k];
        // The row's last change: in the outbox, or waiting in a bulk load's batch until a push.
        // The batches first: one written out in the background meanwhile (a transaction) is
        // then in the outbox when that is read.
        let waiting: Vec<(i64, String)> = hms_core::store::batches::pending(d.store.pool())
            .await
            .unwrap()
            .into_iter()
            .filter(|c| c.entity == entity && c.entity_id == id)
            .map(|c| (c.seq, c.hlc))
            .collect();
        let logged: Option<(i64, String)> = sqlx::query_as(
            "SELECT seq, hlc FROM change_log WHERE entity = ?1 AND entity_id = ?2 ORDER BY seq DESC LIMIT 1",
        )
        .bind(entity)
        .bind(id)
        .fetch_optional(d.store.pool())
        .await
        .unwrap();
        let (seq, stamp) = logged.into_iter().chain(waiting).max_by_key(|(seq, _)| *seq).unwrap();
        for f in fields {
            let value = field(d, entity, id, f).await.flatten();
            self.model.writes.push(Write {
                device: d.store.device_id().to_string(),
                entity,
                id: id.to_string(),
                field: f,
                value,
                stamp: stamp.clone(),
                seq,
                seen: before.clone(),
            });
        }
    }

    /// Moves every device's clock on by a few minutes (one clock: the ward's rules compare
    /// times written on different devices).
    fn tick(&mut self) {
        // At most 10 minutes a step: a case's 20 steps stay inside the longest idle time the
        // clinic allows (`ward::setup` sets it), and inside one clinic day.
        self.minutes += self.rng.i64(1..=10);
        let now = self.now();
        for d in &self.devices {
            d.store.set_now(Some(now));
        }
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        clock() + chrono::Duration::minutes(self.minutes)
    }

    fn pick<'a>(&mut self, from: &'a [String]) -> Option<&'a String> {
        if from.is_empty() {
            None
        } else {
            Some(&from[self.rng.usize(..from.len())])
        }
    }
}

/// The percentage of steps that are ward edits, and stock movements.
const WARD_SHARE: u32 = 20;
const STOCK_SHARE: u32 = 10;

/// One random step: an edit on a device, a sync of one or two devices, or a server restart
/// (possibly while a device syncs).
async fn step(case: &mut Case, shared: &Shared) {
    let k = case.rng.usize(..case.devices.len());
    case.tick();
    // One step in five is on the ward (`ward::step`), one in ten on stock (`stock::step`); the rest as before they came.
    let share = case.rng.u32(0..100);
    if share < WARD_SHARE {
        return ward::step(case, k).await;
    }
    if share < WARD_SHARE + STOCK_SHARE {
        return stock::step(case, k).await;
    }
    match case.rng.u32(0..100) {
        0..=11 => edit_patient(case, k, "given_name").await,
        12..=19 => edit_patient(case, k, "family_name").await,
        20..=29 => edit_patient(case, k, "phones").await,
        30..=36 => edit_status(case, k).await,
        37..=40 => register(case, k).await,
        41..=43 => import(case, k).await,
        44..=53 => book(case, k).await,
        54..=58 => reschedule(case, k).await,
        59..=63 => cancel(case, k).await,
        64..=67 => admit(case, k).await,
        68..=71 => transfer(case, k).await,
        72..=85 => {
            case.log.push(format!("sync {k}"));
            let _ = sync::sync_now(&case.devices[k].store).await;
        }
        86..=94 => {
            let j = case.rng.usize(..case.devices.len());
            case.log.push(format!("sync {k} and {j} at once"));
            let (a, b) = (&case.devices[k].store, &case.devices[j].store);
            if j == k {
                let _ = sync::sync_now(a).await;
            } else {
                let _ = tokio::join!(sync::sync_now(a), sync::sync_now(b));
            }
        }
        _ => {
            let delay = case.rng.u64(0..30);
            case.log.push(format!("restart while {k} syncs"));
            let store = &case.devices[k].store;
            let restart = async {
                tokio::time::sleep(Duration::from_millis(delay)).await;
                shared.server.lock().await.restart().await;
            };
            let _ = tokio::join!(sync::sync_now(store), restart);
        }
    }
}

async fn local_patients(d: &Device) -> Vec<String> {
    ids(d, "SELECT id FROM patients WHERE status <> 'merged' ORDER BY id").await
}

async fn edit_patient(case: &mut Case, k: usize, what: &'static str) {
    let ids = local_patients(&case.devices[k]).await;
    let Some(id) = case.pick(&ids).cloned() else { return };
    let d = &case.devices[k];
    let a = d.auth().await;
    let Ok(p) = patients::open(&d.store, &a, &id).await else { return };
    let mut input = PatientInput {
        given_name: p.given_name.clone(),
        family_name: p.family_name.clone(),
        other_names: p.other_names.clone(),
        sex: p.sex.code().into(),
        birth_date: p.birth_date.clone(),
        phones: p.phones.clone(),
        address: p.address.clone(),
        city: p.city.clone(),
        district: p.district.clone(),
        national_id: p.national_id.clone(),
        insurance_id: p.insurance_id.clone(),
        emergency_name: p.emergency_name.clone(),
        emergency_phone: p.emergency_phone.clone(),
        emergency_relation: p.emergency_relation.clone(),
        blood_group: p.blood_group.clone(),
        allergies: p.allergies.clone(),
        notes: p.notes.clone(),
        age_years: None,
    };
    // Always a real change of the one field: a save that changes nothing is not an edit
    // (per-field last-writer-wins must not let it undo another device's edit either, but
    // that is not what this property is about).
    let changed = match what {
        "given_name" => {
            input.given_name = GIVEN[case.rng.usize(..GIVEN.len())].into();
            input.given_name != p.given_name
        }
        "family_name" => {
            input.family_name = FAMILY[case.rng.usize(..FAMILY.len())].into();
            input.family_name != p.family_name
        }
        _ => {
            input.phones = vec![phone(&mut case.rng)];
            input.phones != p.phones
        }
    };
    if !changed {
        return;
    }
    let before = seen(d).await;
    if patients::update(&d.store, &a, &id, input).await.is_err() {
        return;
    }
    case.log.push(format!("{k}: {what} of {id}"));
    case.record(k, "patients", &id, &[what], before).await;
}

async fn edit_status(case: &mut Case, k: usize) {
    let ids = local_patients(&case.devices[k]).await;
    let Some(id) = case.pick(&ids).cloned() else { return };
    let to = [PatientStatus::Active, PatientStatus::Deceased, PatientStatus::Moved][case.rng.usize(..3)];
    let d = &case.devices[k];
    let before_value = field(d, "patients", &id, "status").await.flatten();
    if before_value.as_deref() == Some(to.code()) {
        return;
    }
    let before = seen(d).await;
    let reason = if to == PatientStatus::Active { "" } else { "recorded at the desk" };
    if patients::set_status(&d.store, &d.auth().await, &id, to, reason).await.is_err() {
        return;
    }
    case.log.push(format!("{k}: status {} of {id}", to.code()));
    case.record(k, "patients", &id, &["status"], before).await;
}

async fn register(case: &mut Case, k: usize) {
    let input = new_patient(&mut case.rng);
    let d = &case.devices[k];
    let before = seen(d).await;
    let p = register_generated(&d.store, &d.auth().await, input).await;
    case.log.push(format!("{k}: register {}", p.id));
    case.model.patients.insert(p.id.clone());
    case.record(k, "patients", &p.id, &["given_name", "family_name", "phones", "status"], before).await;
}

/// A CSV import: one write (`patients::bulk`) for the whole batch, whose outbox is one batch
/// written out at the next push (`store::batches`); its rows must reach every device like
/// ones registered one by one, also when some are edited before that push. Mostly a few
/// patients; one import in 20 is a bulk load of more than one signed segment.
async fn import(case: &mut Case, k: usize) {
    let n = if case.rng.usize(..20) == 0 { case.rng.usize(501..=640) } else { case.rng.usize(2..=6) };
    let mut csv = String::from("First name,Surname,Sex,DOB,Phone\n");
    for _ in 0..n {
        let p = new_patient(&mut case.rng);
        let dob = p.birth_date.unwrap_or_default();
        csv.push_str(&format!("{},{},{},{dob},{}\n", p.given_name, p.family_name, p.sex, p.phones[0]));
    }
    let d = &case.devices[k];
    let a = d.auth().await;
    let old: BTreeSet<String> = local_patients(d).await.into_iter().collect();
    let before = seen(d).await;
    let preview = csv_io::preview(&d.store, &a, csv.as_bytes(), None).await.unwrap();
    let report = csv_io::import(&d.store, &a, csv.as_bytes(), preview.mapping, |_| {}).await.unwrap();
    assert_eq!(report.imported as usize, n, "{:?}", report.rejected);
    let new: Vec<String> = local_patients(d).await.into_iter().filter(|id| !old.contains(id)).collect();
    assert_eq!(new.len(), n);
    case.log.push(format!("{k}: import {new:?}"));
    for id in new {
        case.model.patients.insert(id.clone());
        case.record(k, "patients", &id, &["given_name", "family_name", "phones", "status"], before.clone()).await;
    }
}

async fn book(case: &mut Case, k: usize) {
    let ids = local_patients(&case.devices[k]).await;
    let Some(patient) = case.pick(&ids).cloned() else { return };
    let start = SLOTS[case.rng.usize(..SLOTS.len())];
    let d = &case.devices[k];
    let input = BookInput {
        patient_id: patient,
        doctor_id: case.doctor.clone(),
        date: DATE.into(),
        start: start.into(),
        reason: String::new(),
        overbook: false,
    };
    let before = seen(d).await;
    let Ok(a) = booking::book(&d.store, &d.auth().await, input).await else { return };
    case.log.push(format!("{k}: book {} at {start}", a.id));
    case.model.appointments.insert(a.id.clone(), start.to_string());
    case.record(k, "appointments", &a.id, &["status"], before).await;
}

async fn booked(d: &Device) -> Vec<String> {
    ids(d, "SELECT id FROM appointments WHERE status = 'booked' ORDER BY id").await
}

async fn reschedule(case: &mut Case, k: usize) {
    let list = booked(&case.devices[k]).await;
    let Some(id) = case.pick(&list).cloned() else { return };
    let start = SLOTS[case.rng.usize(..SLOTS.len())];
    let d = &case.devices[k];
    let before = seen(d).await;
    let Ok(new) = booking::reschedule(&d.store, &d.auth().await, &id, &case.doctor, DATE, start).await else { return };
    case.log.push(format!("{k}: reschedule {id} to {} at {start}", new.id));
    case.model.appointments.insert(new.id.clone(), start.to_string());
    case.record(k, "appointments", &id, &["status"], before.clone()).await;
    case.record(k, "appointments", &new.id, &["status"], before).await;
}

async fn cancel(case: &mut Case, k: usize) {
    let list = booked(&case.devices[k]).await;
    let Some(id) = case.pick(&list).cloned() else { return };
    let d = &case.devices[k];
    let before = seen(d).await;
    if booking::cancel(&d.store, &d.auth().await, &id, "patient called").await.is_err() {
        return;
    }
    case.log.push(format!("{k}: cancel {id}"));
    case.record(k, "appointments", &id, &["status"], before).await;
}

/// Admits a patient not in hospital on device k, to a random bed (free there or not: an
/// occupied one is refused) or the waiting list.
async fn admit(case: &mut Case, k: usize) {
    let d = &case.devices[k];
    let free = ids(
        d,
        "SELECT id FROM patients WHERE status = 'active' AND id NOT IN
           (SELECT patient_id FROM admissions WHERE discharged_at IS NULL) ORDER BY id",
    )
    .await;
    let Some(patient) = case.pick(&free).cloned() else { return };
    let bed = if case.rng.u8(0..4) == 0 { None } else { case.pick(&case.beds.beds.clone()).cloned() };
    let d = &case.devices[k];
    let Ok(desk) = case.desks[k].authorize(&d.store).await else { return };
    let input = AdmitInput {
        patient_id: patient,
        doctor_id: case.doctor.clone(),
        reason: "Observation".into(),
        diagnosis_code: String::new(),
        expected_days: None,
        ward_id: case.beds.ward.clone(),
        bed_id: bed.clone(),
        admitted_at: None,
    };
    let Ok(a) = inpatients::stays::admit(&d.store, &desk, input).await else { return };
    case.log.push(format!("{k}: admit {} to {bed:?}", a.id));
    case.model.admissions.insert(a.id);
}

/// Moves an admitted patient (as device k sees them) to a random bed.
async fn transfer(case: &mut Case, k: usize) {
    let open = ids(&case.devices[k], "SELECT id FROM admissions WHERE discharged_at IS NULL ORDER BY id").await;
    let Some(id) = case.pick(&open).cloned() else { return };
    let Some(bed) = case.pick(&case.beds.beds.clone()).cloned() else { return };
    let d = &case.devices[k];
    let Ok(desk) = case.desks[k].authorize(&d.store).await else { return };
    if inpatients::stays::transfer(&d.store, &desk, &id, &bed).await.is_ok() {
        case.log.push(format!("{k}: transfer {id} to {bed}"));
    }
}

/// A bed on the board: (bed, state, admission in it, patient it is reserved for).
type BoardBed = (String, String, Option<String>, Option<String>);

/// The board as device k derives it: each bed's (state, admission, reservation), each waiting
/// admission with whether it needs a bed.
async fn board(case: &Case, k: usize) -> (Vec<BoardBed>, Vec<(String, bool)>) {
    let d = &case.devices[k];
    let desk = case.desks[k].authorize(&d.store).await.unwrap();
    let b = inpatients::board::board(&d.store, &desk, BoardFilter::default()).await.unwrap();
    let mut beds = Vec::new();
    let mut waiting = Vec::new();
    for w in b.wards {
        for c in w.beds {
            let held = c.reservation.map(|r| r.patient_id);
            beds.push((c.bed_id, c.state.code().to_string(), c.occupant.map(|o| o.admission_id), held));
        }
        waiting.extend(w.waiting.into_iter().map(|e| (e.occupant.admission_id, e.needs_bed)));
    }
    (beds, waiting)
}

/// One board everywhere, whole (property 4): no bed holds two patients, every admission in
/// hospital is in exactly one bed or on the waiting list.
async fn check_board(case: &Case, problems: &mut Vec<String>) {
    let reference = board(case, 0).await;
    for k in 1..case.devices.len() {
        let other = board(case, k).await;
        if other != reference {
            problems.push(format!("device {k} derives another board: {other:?}\ndevice 0: {reference:?}"));
        }
    }
    let (beds, waiting) = &reference;
    let mut placed: Vec<&String> = beds.iter().filter_map(|(_, _, a, _)| a.as_ref()).collect();
    placed.extend(waiting.iter().map(|(a, _)| a));
    let unique: BTreeSet<&String> = placed.iter().copied().collect();
    if unique.len() != placed.len() {
        problems.push(format!("an admission is in two places: {reference:?}"));
    }
    let open: BTreeSet<String> =
        ids(&case.devices[0], "SELECT id FROM admissions WHERE discharged_at IS NULL").await.into_iter().collect();
    if unique.into_iter().cloned().collect::<BTreeSet<String>>() != open {
        problems.push(format!("admissions in hospital {open:?}, but the board shows {reference:?}"));
    }
    let all: BTreeSet<String> = ids(&case.devices[0], "SELECT id FROM admissions").await.into_iter().collect();
    for id in &case.model.admissions {
        if !all.contains(id) {
            problems.push(format!("admission {id} is missing"));
        }
    }
}

/// Heals the network: every device pushes, then every device pulls, round after round,
/// until nothing is pending anywhere and every device has pulled the tenant's last change
/// (merging may write, e.g. the slot rule: that is pending again, and another round goes).
/// Faults are off here, but another case may be restarting the server: a failed call is
/// retried.
async fn heal(case: &Case, shared: &Shared) -> Result<(), String> {
    for _round in 0..15 {
        for (k, d) in case.devices.iter().enumerate() {
            retry(k, "push", || sync::push(&d.store)).await?;
        }
        for (k, d) in case.devices.iter().enumerate() {
            retry(k, "pull", || sync::pull(&d.store)).await?;
        }
        let (last,): (i64,) = common::fetch_one(
            &shared.pool,
            "SELECT coalesce(max(seq), 0) FROM changes WHERE tenant_id = $1",
            &[&case.tenant_id],
        )
        .await;
        let mut settled = true;
        for d in &case.devices {
            let s = sync::status(&d.store).await.unwrap();
            settled &= s.pending == 0 && s.cursor as i64 >= last;
        }
        if settled {
            return Ok(());
        }
    }
    Err("still changing after 15 rounds of syncing everyone".into())
}

async fn retry<F, Fut, T>(k: usize, what: &str, mut call: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, sync::SyncError>>,
{
    let mut tries = 0;
    loop {
        match call().await {
            Ok(t) => return Ok(t),
            Err(e) if tries < 200 => {
                tries += 1;
                let _ = e;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(format!("device {k} cannot {what} while healing: {e}")),
        }
    }
}

async fn check(case: &Case) -> Result<(), String> {
    let first = &case.devices[0];
    let reference = first.dump().await;
    let mut problems = Vec::new();

    // 1. The same rows everywhere.
    for (k, d) in case.devices.iter().enumerate().skip(1) {
        let diff = dump_diff(&reference, &d.dump().await);
        if !diff.is_empty() {
            problems.push(format!("device 0 and device {k} differ:\n{}", diff.join("\n")));
        }
    }

    // 2. Nothing acknowledged is lost.
    for id in &case.model.patients {
        if field(first, "patients", id, "id").await.is_none() {
            problems.push(format!("patient {id} is missing"));
        }
    }
    for id in case.model.appointments.keys() {
        if field(first, "appointments", id, "id").await.is_none() {
            problems.push(format!("appointment {id} is missing"));
        }
    }
    let mut slot_count: HashMap<&str, usize> = HashMap::new();
    for start in case.model.appointments.values() {
        *slot_count.entry(start.as_str()).or_default() += 1;
    }
    let mut by_key: BTreeMap<(&str, &str, &str), Vec<&Write>> = BTreeMap::new();
    for w in &case.model.writes {
        by_key.entry((w.entity, w.id.as_str(), w.field)).or_default().push(w);
    }
    let conflicts = conflict_stamps(case).await;
    for ((entity, id, f), writes) in &by_key {
        // Appointments that shared a slot may be changed by the slot rule: existence and the
        // conflict record below are what is checked for them.
        if *entity == "appointments" && case.model.appointments.get(*id).is_some_and(|s| slot_count[s.as_str()] > 1) {
            continue;
        }
        let Some(winner) = writes.iter().max_by(|a, b| a.stamp.cmp(&b.stamp)) else { continue };
        let now = field(first, entity, id, f).await.flatten();
        if now != winner.value {
            problems.push(format!(
                "{entity} {id}.{f} is {now:?}, but the newest write ({}) set {:?}; writes: {:?}",
                winner.stamp,
                winner.value,
                writes.iter().map(|w| (&w.stamp, &w.value)).collect::<Vec<_>>()
            ));
        }
        // 3. A value overwritten by a write made apart from it is kept for a person (one
        // that a later write overwrote knowingly was not lost to the other).
        for lost in writes.iter().filter(|w| w.value != now) {
            let knowingly = writes.iter().any(|w| w.stamp > lost.stamp && w.saw(lost));
            let apart =
                !knowingly && writes.iter().any(|w| w.stamp > lost.stamp && !w.saw(lost) && w.value != lost.value);
            let recorded = conflicts.get(*id).is_some_and(|s| s.contains(&lost.stamp));
            if apart && !recorded {
                problems.push(format!(
                    "{entity} {id}.{f} = {:?} (stamp {}) lost to a write made apart from it, and no device recorded a conflict",
                    lost.value, lost.stamp
                ));
            }
        }
    }
    // Two active appointments in one slot: a conflict for a person.
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT group_concat(id), count(*) FROM appointments
         WHERE status IN ('booked', 'checked_in', 'with_doctor', 'done') AND deleted_at IS NULL
         GROUP BY doctor_id, date, start_min HAVING count(*) > 1",
    )
    .fetch_all(first.store.pool())
    .await
    .unwrap();
    for (group, _) in rows {
        if !group.split(',').any(|id| conflicts.contains_key(id)) {
            problems.push(format!("appointments {group} share a slot and no device recorded a conflict"));
        }
    }
    check_board(case, &mut problems).await;
    ward::check(case, &mut problems).await;
    stock::check(case, &mut problems).await;
    if problems.is_empty() {
        return Ok(());
    }
    for (k, d) in case.devices.iter().enumerate() {
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT entity, entity_id, substr(local, 1, 160) FROM sync_conflicts ORDER BY detected_at")
                .fetch_all(d.store.pool())
                .await
                .unwrap();
        problems.push(format!("conflicts recorded on device {k}: {rows:?}"));
    }
    Err(problems.join("\n"))
}

/// entity id -> every stamp named in a conflict record on any device.
async fn conflict_stamps(case: &Case) -> HashMap<String, BTreeSet<String>> {
    let mut out: HashMap<String, BTreeSet<String>> = HashMap::new();
    for d in &case.devices {
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT entity_id, local_hlc, remote_hlc FROM sync_conflicts")
                .fetch_all(d.store.pool())
                .await
                .unwrap();
        for (id, local, remote) in rows {
            let e = out.entry(id).or_default();
            e.insert(local);
            e.insert(remote);
        }
    }
    out
}
