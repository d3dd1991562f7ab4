//! The whole stay in the convergence test (issue 15): swaps, reserving beds and cancelling
//! reservations (bed events `reserved`, `reservation_cancelled`), discharges (also one device
//! discharging a patient while another moves them offline), giving a waiting patient a bed,
//! inpatient orders (start, change — also one order on two devices apart —, stop) and the MAR
//! (scheduled doses given, held or refused, PRN doses; the same dose recorded on two devices
//! apart, PRN doses past the order's limit across devices), and the checks after healing that
//! only the ward needs: the same derived conflicts everywhere, no discharged patient in a bed,
//! the same MAR and due list everywhere with nothing due from a stopped order after its stop.

use super::{board, ids, seen, Case};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use hms_core::inpatients::mar::{self, DoseInput};
use hms_core::inpatients::orders::{self, OrderInput};
use hms_core::inpatients::{due, reservations, stays, DischargeInput};
use hms_core::sync::conflicts::{self, ConflictKind, SyncConflict};
use hms_core::Authorized;
use std::collections::BTreeSet;

/// On device 0: a medicine for the orders (its id), and the clinic's longest idle time.
pub(super) async fn setup(d: &super::Device) -> String {
    let a = d.auth().await;
    // The clock moves on through the case (`Case::tick`): sessions left idle must not lock.
    let mut settings = hms_core::settings::get(&d.store, &a).await.unwrap();
    settings.idle_timeout_minutes = hms_core::settings::MAX_IDLE_MINUTES;
    hms_core::settings::update(&d.store, &a, settings).await.unwrap();
    let input = hms_core::clinical::MedicineInput {
        name: "Paracetamol".into(),
        strength: "500 mg".into(),
        form: "tablet".into(),
        ..Default::default()
    };
    hms_core::clinical::prescribing::add_medicine(&d.store, &a, input).await.unwrap().id
}

/// On device 0, before the first heal: one or two patients admitted, each to a bed and
/// with a dose every 6 hours and a PRN order, so that every case has doses to give (and
/// often two patients to swap).
pub(super) async fn seed(case: &mut Case) {
    let d = &case.devices[0];
    let patients = ids(d, "SELECT id FROM patients WHERE status = 'active' ORDER BY id").await;
    let n = case.rng.usize(1..=2).min(patients.len());
    for (i, patient) in patients.iter().take(n).enumerate() {
        let desk = case.desks[0].authorize(&d.store).await.unwrap();
        let input = hms_core::inpatients::AdmitInput {
            patient_id: patient.clone(),
            doctor_id: case.doctor.clone(),
            reason: "Observation".into(),
            diagnosis_code: String::new(),
            expected_days: None,
            ward_id: case.beds.ward.clone(),
            bed_id: Some(case.beds.beds[i].clone()),
            admitted_at: None,
        };
        let stay = stays::admit(&d.store, &desk, input).await.unwrap().id;
        for plan in [Plan::Every(6), Plan::Prn(case.rng.u32(1..=2))] {
            let o = orders::order(&d.store, &desk, order_input(&stay, &case.medicine, plan)).await.unwrap();
            case.model.orders.insert(o.id);
        }
        case.model.admissions.insert(stay);
    }
}

/// A medicine order's schedule as the cases write it.
#[derive(Debug, Clone, Copy)]
enum Plan {
    Every(u32),
    Prn(u32),
    Stat,
}

fn order_input(admission: &str, medicine: &str, plan: Plan) -> OrderInput {
    let (schedule, every_hours, prn_max_per_day) = match plan {
        Plan::Every(h) => ("every", Some(h), None),
        Plan::Prn(max) => ("prn", None, Some(max)),
        Plan::Stat => ("stat", None, None),
    };
    OrderInput {
        admission_id: admission.into(),
        kind: "medicine".into(),
        medicine_id: Some(medicine.into()),
        dose: "1".into(),
        dose_unit: "tablet".into(),
        route: "oral".into(),
        schedule: Some(schedule.into()),
        every_hours,
        prn_max_per_day,
        ..Default::default()
    }
}

fn random_plan(rng: &mut fastrand::Rng) -> Plan {
    match rng.u8(0..5) {
        0 | 1 => Plan::Every([4, 6][rng.usize(..2)]),
        2 | 3 => Plan::Prn(rng.u32(1..=2)),
        _ => Plan::Stat,
    }
}

/// One random ward edit on device k (some on two devices, neither syncing in between).
pub(super) async fn step(case: &mut Case, k: usize) {
    match case.rng.u32(0..100) {
        0..=9 => swap(case, k).await,
        10..=19 => {
            let open = in_hospital(case, k).await;
            if let Some(id) = case.pick(&open).cloned() {
                discharge(case, k, &id).await;
            }
        }
        20..=29 => discharge_while_moved(case, k).await,
        30..=37 => give_a_bed(case, k).await,
        38..=47 => order(case, k).await,
        48..=51 => change(case, k).await,
        52..=54 => change_on_two(case, k).await,
        55..=61 => stop(case, k).await,
        62..=79 => dose(case, k).await,
        80..=89 => dose_on_two(case, k).await,
        90..=94 => prn_on_many(case, k).await,
        95..=97 => reserve(case, k).await,
        _ => cancel_reservation(case, k).await,
    }
}

/// The ward desk as doctor or nurse (the same account as [`desk`]: see `DESK`).
async fn clinician(case: &Case, k: usize) -> Option<Authorized> {
    case.desks[k].authorize(&case.devices[k].store).await.ok()
}

async fn desk(case: &Case, k: usize) -> Option<Authorized> {
    case.desks[k].authorize(&case.devices[k].store).await.ok()
}

/// The admissions in hospital as device k sees them.
async fn in_hospital(case: &Case, k: usize) -> Vec<String> {
    ids(&case.devices[k], "SELECT id FROM admissions WHERE discharged_at IS NULL ORDER BY id").await
}

/// The admissions in a bed on device k's board, and the free beds there.
async fn placed(case: &Case, k: usize) -> (Vec<String>, Vec<String>) {
    let (beds, _) = board(case, k).await;
    let holding = beds.iter().filter_map(|(_, _, a, _)| a.clone()).collect();
    let free = beds.iter().filter(|(_, state, _, _)| state == "free").map(|(b, _, _, _)| b.clone()).collect();
    (holding, free)
}

async fn swap(case: &mut Case, k: usize) {
    let (holding, _) = placed(case, k).await;
    if holding.len() < 2 {
        return;
    }
    let i = case.rng.usize(..holding.len());
    let j = (i + case.rng.usize(1..holding.len())) % holding.len();
    let Some(desk) = desk(case, k).await else { return };
    if stays::swap(&case.devices[k].store, &desk, &holding[i], &holding[j]).await.is_ok() {
        case.log.push(format!("{k}: swap {} and {}", holding[i], holding[j]));
    }
}

/// Discharges on device k, recording the fields it writes (the admission's discharge and the
/// stop of every order it closes) for the last-writer-wins checks.
async fn discharge(case: &mut Case, k: usize, id: &str) {
    let d = &case.devices[k];
    let open_orders: Vec<String> =
        sqlx::query_scalar("SELECT id FROM inpatient_orders WHERE admission_id = ? AND stopped_at IS NULL ORDER BY id")
            .bind(id)
            .fetch_all(d.store.pool())
            .await
            .unwrap();
    let Some(doc) = clinician(case, k).await else { return };
    let kind = ["home", "referred", "against_advice", "deceased"][case.rng.usize(..4)];
    let input = DischargeInput {
        admission_id: id.into(),
        discharge_type: kind.into(),
        discharged_at: None,
        note: String::new(),
    };
    let before = seen(d).await;
    if stays::discharge(&d.store, &doc, input).await.is_err() {
        return;
    }
    case.log.push(format!("{k}: discharge {id} ({kind})"));
    case.record(k, "admissions", id, &["discharged_at", "discharge_type"], before.clone()).await;
    for o in open_orders {
        case.record(k, "inpatient_orders", &o, &["stopped_at", "stop_reason"], before.clone()).await;
    }
}

/// Device k discharges a patient whom another device, apart from it, transfers or swaps
/// (before or after it, at the same time or a few minutes apart).
async fn discharge_while_moved(case: &mut Case, k: usize) {
    if case.devices.len() < 2 {
        return;
    }
    let j = (k + case.rng.usize(1..case.devices.len())) % case.devices.len();
    let (holding, free) = placed(case, j).await;
    let open: BTreeSet<String> = in_hospital(case, k).await.into_iter().collect();
    let both: Vec<String> = holding.iter().filter(|a| open.contains(*a)).cloned().collect();
    let Some(x) = case.pick(&both).cloned() else { return };
    let first = case.rng.bool();
    if first {
        discharge(case, k, &x).await;
        case.tick();
    }
    let Some(desk) = desk(case, j).await else { return };
    let others: Vec<&String> = holding.iter().filter(|a| **a != x).collect();
    if case.rng.bool() && !others.is_empty() {
        let y = others[case.rng.usize(..others.len())].clone();
        if stays::swap(&case.devices[j].store, &desk, &x, &y).await.is_ok() {
            case.log.push(format!("{j}: swap {x} and {y} (while {k} discharges {x})"));
        }
    } else if let Some(bed) = case.pick(&free).cloned() {
        if stays::transfer(&case.devices[j].store, &desk, &x, &bed).await.is_ok() {
            case.log.push(format!("{j}: transfer {x} to {bed} (while {k} discharges it)"));
        }
    }
    if !first {
        if case.rng.bool() {
            case.tick();
        }
        discharge(case, k, &x).await;
    }
}

/// Gives a patient on the waiting list (admitted without a bed, or left needing one) a free bed.
async fn give_a_bed(case: &mut Case, k: usize) {
    let (_, waiting) = board(case, k).await;
    let waiting: Vec<String> = waiting.into_iter().map(|(a, _)| a).collect();
    let (_, free) = placed(case, k).await;
    let (Some(id), Some(bed)) = (case.pick(&waiting).cloned(), case.pick(&free).cloned()) else { return };
    let Some(desk) = desk(case, k).await else { return };
    if stays::transfer(&case.devices[k].store, &desk, &id, &bed).await.is_ok() {
        case.log.push(format!("{k}: give {id} bed {bed}"));
    }
}

/// Patients a bed may be reserved for on device k: registered, not in a bed, none reserved.
async fn expected(case: &Case, k: usize) -> Vec<String> {
    let (holding, _) = placed(case, k).await;
    let (beds, _) = board(case, k).await;
    let d = &case.devices[k];
    let mut out = Vec::new();
    let active = ids(d, "SELECT id FROM patients WHERE status = 'active' ORDER BY id").await;
    for p in active {
        let stay: Option<String> =
            sqlx::query_scalar("SELECT id FROM admissions WHERE patient_id = ? AND discharged_at IS NULL")
                .bind(&p)
                .fetch_optional(d.store.pool())
                .await
                .unwrap();
        let reserved = beds.iter().any(|(_, _, _, r)| r.as_deref() == Some(p.as_str()));
        if !reserved && stay.is_none_or(|a| !holding.contains(&a)) {
            out.push(p);
        }
    }
    out
}

/// Reserves a free bed for an expected patient on device k — now and then one bed on two
/// devices apart, for two patients (the earlier event holds it everywhere), and now and then
/// until a few minutes ahead (it lapses by itself as the clock moves on).
async fn reserve(case: &mut Case, k: usize) {
    let two = case.devices.len() > 1 && case.rng.bool();
    let j = if two { (k + case.rng.usize(1..case.devices.len())) % case.devices.len() } else { k };
    let (_, free) = placed(case, k).await;
    let Some(bed) = case.pick(&free).cloned() else { return };
    for device in if two { vec![k, j] } else { vec![k] } {
        let patients = expected(case, device).await;
        let Some(patient) = case.pick(&patients).cloned() else { continue };
        let until = case.rng.bool().then(|| (case.now() + Duration::minutes(case.rng.i64(5..=30))).to_rfc3339());
        let Some(desk) = desk(case, device).await else { continue };
        let input = hms_core::inpatients::ReserveInput {
            bed_id: bed.clone(),
            patient_id: patient.clone(),
            note: "Expected from theatre".into(),
            until: until.clone(),
        };
        if reservations::reserve(&case.devices[device].store, &desk, input).await.is_ok() {
            case.log.push(format!("{device}: reserve {bed} for {patient} until {until:?}"));
        }
    }
}

/// Cancels a reservation on device k.
async fn cancel_reservation(case: &mut Case, k: usize) {
    let (beds, _) = board(case, k).await;
    let held: Vec<String> = beds.into_iter().filter(|(_, _, _, r)| r.is_some()).map(|(b, _, _, _)| b).collect();
    let Some(bed) = case.pick(&held).cloned() else { return };
    let Some(desk) = desk(case, k).await else { return };
    if reservations::cancel(&case.devices[k].store, &desk, &bed).await.is_ok() {
        case.log.push(format!("{k}: cancel the reservation of {bed}"));
    }
}

async fn order(case: &mut Case, k: usize) {
    let open = in_hospital(case, k).await;
    let Some(id) = case.pick(&open).cloned() else { return };
    let plan = random_plan(&mut case.rng);
    let Some(doc) = clinician(case, k).await else { return };
    if let Ok(o) = orders::order(&case.devices[k].store, &doc, order_input(&id, &case.medicine, plan)).await {
        case.log.push(format!("{k}: order {} {plan:?} for {id}", o.id));
        case.model.orders.insert(o.id);
    }
}

/// The open orders of patients in hospital, as device k sees them: (order, admission).
async fn open_orders(case: &Case, k: usize) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT o.id, o.admission_id FROM inpatient_orders o JOIN admissions a ON a.id = o.admission_id
         WHERE o.stopped_at IS NULL AND a.discharged_at IS NULL ORDER BY o.id",
    )
    .fetch_all(case.devices[k].store.pool())
    .await
    .unwrap()
}

async fn change(case: &mut Case, k: usize) {
    let open = open_orders(case, k).await;
    if open.is_empty() {
        return;
    }
    let (id, admission) = open[case.rng.usize(..open.len())].clone();
    let plan = random_plan(&mut case.rng);
    let Some(doc) = clinician(case, k).await else { return };
    let d = &case.devices[k];
    let before = seen(d).await;
    let Ok(new) = orders::change(&d.store, &doc, &id, order_input(&admission, &case.medicine, plan)).await else {
        return;
    };
    case.log.push(format!("{k}: change {id} to {} {plan:?}", new.id));
    case.model.orders.insert(new.id);
    case.record(k, "inpatient_orders", &id, &["stopped_at", "stop_reason"], before).await;
}

/// One order changed on device k and on another device apart (neither syncing in between):
/// two replacements open, listed alike everywhere until one is stopped.
async fn change_on_two(case: &mut Case, k: usize) {
    if case.devices.len() < 2 {
        return;
    }
    let j = (k + case.rng.usize(1..case.devices.len())) % case.devices.len();
    let theirs: BTreeSet<(String, String)> = open_orders(case, j).await.into_iter().collect();
    let both: Vec<(String, String)> = open_orders(case, k).await.into_iter().filter(|o| theirs.contains(o)).collect();
    if both.is_empty() {
        return;
    }
    let (id, admission) = both[case.rng.usize(..both.len())].clone();
    for device in [k, j] {
        let plan = random_plan(&mut case.rng);
        let Some(doc) = clinician(case, device).await else { continue };
        let d = &case.devices[device];
        let before = seen(d).await;
        let Ok(new) = orders::change(&d.store, &doc, &id, order_input(&admission, &case.medicine, plan)).await else {
            continue;
        };
        case.log.push(format!("{device}: change {id} to {} {plan:?} (apart from the other)", new.id));
        case.model.orders.insert(new.id);
        case.record(device, "inpatient_orders", &id, &["stopped_at", "stop_reason"], before).await;
        case.tick();
    }
}

async fn stop(case: &mut Case, k: usize) {
    let open = open_orders(case, k).await;
    if open.is_empty() {
        return;
    }
    let id = open[case.rng.usize(..open.len())].0.clone();
    let Some(doc) = clinician(case, k).await else { return };
    let d = &case.devices[k];
    let before = seen(d).await;
    if orders::stop(&d.store, &doc, &id, "no longer needed").await.is_err() {
        return;
    }
    case.log.push(format!("{k}: stop {id}"));
    case.record(k, "inpatient_orders", &id, &["stopped_at", "stop_reason"], before).await;
}

/// An order as the MAR needs it: its schedule, interval and start.
async fn schedule_of(case: &Case, k: usize, order: &str) -> Option<(String, Option<i64>, String)> {
    sqlx::query_as("SELECT schedule, every_hours, start_at FROM inpatient_orders WHERE id = ?")
        .bind(order)
        .fetch_optional(case.devices[k].store.pool())
        .await
        .unwrap()
}

/// One of an order's first doses (a PRN order has none).
fn a_slot(rng: &mut fastrand::Rng, schedule: &str, every: Option<i64>, start: &str) -> Option<String> {
    let start: DateTime<Utc> = DateTime::parse_from_rfc3339(start).ok()?.with_timezone(&Utc);
    let at = match schedule {
        "stat" => start,
        "every" => start + Duration::hours(every? * rng.i64(0..2)),
        _ => return None,
    };
    Some(at.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// Records a dose on device k (a random outcome, or a PRN dose given); whether it was taken.
async fn give(case: &mut Case, k: usize, order: &str, scheduled_at: Option<String>) -> bool {
    let outcome = match scheduled_at {
        None => "given",
        Some(_) => ["given", "given", "given", "held", "refused"][case.rng.usize(..5)],
    };
    let reason = match (outcome, &scheduled_at) {
        ("given", Some(_)) => "",
        ("given", None) => "pain",
        _ => "nil by mouth",
    };
    let input = DoseInput {
        order_id: order.into(),
        scheduled_at: scheduled_at.clone(),
        outcome: outcome.into(),
        reason: reason.into(),
        given_at: None,
    };
    let Some(nurse) = clinician(case, k).await else { return false };
    match mar::record(&case.devices[k].store, &nurse, input).await {
        Ok(e) => {
            case.log.push(format!("{k}: dose {} of {order} at {scheduled_at:?}: {outcome}", e.id));
            case.model.doses.insert(e.id);
            true
        }
        Err(_) => false,
    }
}

/// A dose of one of device k's orders (a stopped one too: refused there, unless another device
/// stopped it and k does not know yet).
async fn dose(case: &mut Case, k: usize) {
    let all = ids(&case.devices[k], "SELECT id FROM inpatient_orders ORDER BY id").await;
    let Some(order) = case.pick(&all).cloned() else { return };
    let Some((schedule, every, start)) = schedule_of(case, k, &order).await else { return };
    let slot = a_slot(&mut case.rng, &schedule, every, &start);
    give(case, k, &order, slot).await;
}

/// The same scheduled dose recorded on device k and on another device, apart.
async fn dose_on_two(case: &mut Case, k: usize) {
    if case.devices.len() < 2 {
        return;
    }
    let j = (k + case.rng.usize(1..case.devices.len())) % case.devices.len();
    let open = open_orders(case, k).await;
    let scheduled: Vec<String> = {
        let mut out = Vec::new();
        for (id, _) in open {
            if schedule_of(case, j, &id).await.is_some_and(|(s, _, _)| s != "prn") {
                out.push(id);
            }
        }
        out
    };
    let Some(order) = case.pick(&scheduled).cloned() else { return };
    let Some((schedule, every, start)) = schedule_of(case, k, &order).await else { return };
    let slot = a_slot(&mut case.rng, &schedule, every, &start);
    if give(case, k, &order, slot.clone()).await {
        give(case, j, &order, slot).await;
    }
}

/// PRN doses of one order given on two or three devices apart, each up to what it sees as
/// the order's limit in 24 hours (so together past it).
async fn prn_on_many(case: &mut Case, k: usize) {
    let prn = ids(
        &case.devices[k],
        "SELECT o.id FROM inpatient_orders o JOIN admissions a ON a.id = o.admission_id
         WHERE o.schedule = 'prn' AND o.stopped_at IS NULL AND a.discharged_at IS NULL ORDER BY o.id",
    )
    .await;
    let Some(order) = case.pick(&prn).cloned() else { return };
    let n = case.devices.len().min(case.rng.usize(2..=3));
    for i in 0..n {
        let d = (k + i) % case.devices.len();
        for _ in 0..3 {
            if !give(case, d, &order, None).await {
                break;
            }
        }
    }
}

/// The ward's inbox conflicts (bed needed, dose twice, PRN over the limit, dose after a stop,
/// an order changed twice) as device k lists them, open and resolved, by id.
async fn ward_conflicts(case: &Case, k: usize) -> Vec<SyncConflict> {
    let d = &case.devices[k];
    let mut list: Vec<SyncConflict> = conflicts::list(&d.store, &d.auth().await, true)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| {
            matches!(
                c.kind,
                ConflictKind::BedNeeded
                    | ConflictKind::DoseTwice
                    | ConflictKind::PrnOverLimit
                    | ConflictKind::DoseAfterStop
                    | ConflictKind::OrderChangedTwice
            )
        })
        .collect();
    list.sort_by(|a, b| a.id.cmp(&b.id));
    list
}

/// The checks of the ward after healing (see the test's header, property 5).
pub(super) async fn check(case: &Case, problems: &mut Vec<String>) {
    let first = &case.devices[0];
    // Every order and dose made exists (and, by property 1, everywhere).
    for (table, made) in [("inpatient_orders", &case.model.orders), ("mar_entries", &case.model.doses)] {
        for id in made {
            if super::field(first, table, id, "id").await.is_none() {
                problems.push(format!("{table} {id} is missing"));
            }
        }
    }
    // The same derived conflicts in every inbox.
    let reference = ward_conflicts(case, 0).await;
    for k in 1..case.devices.len() {
        let other = ward_conflicts(case, k).await;
        if other != reference {
            problems.push(format!("device {k} lists other ward conflicts: {other:?}\ndevice 0: {reference:?}"));
        }
    }
    // No discharged patient holds a bed (the board shows only patients in hospital:
    // `check_board`); an admission's own bed says so too.
    let discharged = ids(first, "SELECT id FROM admissions WHERE discharged_at IS NOT NULL ORDER BY id").await;
    for (k, d) in case.devices.iter().enumerate() {
        let Ok(desk) = case.desks[k].authorize(&d.store).await else { continue };
        for id in &discharged {
            match stays::admission(&d.store, &desk, id).await {
                Ok(a) if a.bed_id.is_some() => {
                    problems.push(format!("device {k}: discharged {id} still holds bed {:?}", a.bed_id))
                }
                Ok(_) => {}
                Err(e) => problems.push(format!("device {k}: admission {id}: {e}")),
            }
        }
    }
    // A discharge stops the stay's orders: none of a discharged patient's runs past it (also
    // one another device wrote apart from the discharge).
    let out: Vec<(String, String)> =
        sqlx::query_as("SELECT id, discharged_at FROM admissions WHERE discharged_at IS NOT NULL ORDER BY id")
            .fetch_all(first.store.pool())
            .await
            .unwrap();
    if let Some(doc) = clinician(case, 0).await {
        for (stay, at) in out {
            let Ok(list) = orders::orders(&first.store, &doc, &stay).await else { continue };
            for o in list.into_iter().filter(|o| o.stopped_at.as_ref().is_none_or(|s| *s > at)) {
                problems.push(format!("order {} runs past its patient's discharge at {at}: {o:?}", o.id));
            }
        }
    }
    check_mar(case, problems).await;
}

/// Every device settles the MAR the same way and lists the same doses due; nothing is due from
/// a stopped order at or after its stop (nor from a discharged patient).
async fn check_mar(case: &Case, problems: &mut Vec<String>) {
    let first = &case.devices[0];
    let admissions = ids(first, "SELECT id FROM admissions ORDER BY id").await;
    let at = case.now().to_rfc3339_opts(SecondsFormat::Millis, true);
    let mut reference = None;
    for (k, d) in case.devices.iter().enumerate() {
        let Some(nurse) = clinician(case, k).await else {
            problems.push(format!("device {k}: the ward desk cannot sign in"));
            continue;
        };
        let mut mars = Vec::new();
        for id in &admissions {
            mars.push(mar::mar(&d.store, &nurse, id).await.map_err(|e| e.to_string()));
        }
        let due = due::ward_due_list(&d.store, &nurse, &case.beds.ward, Some(&at)).await.map_err(|e| e.to_string());
        let mine = (mars, due);
        match &reference {
            None => reference = Some(mine),
            Some(r) if *r != mine => problems
                .push(format!("device {k} settles the MAR or the due list otherwise: {mine:?}\ndevice 0: {r:?}")),
            Some(_) => {}
        }
    }
    let Some((mars, Ok(due))) = reference else { return };
    let stops: std::collections::HashMap<String, Option<String>> =
        mars.iter().flatten().flat_map(|m| m.orders.iter().map(|o| (o.id.clone(), o.stopped_at.clone()))).collect();
    let open: BTreeSet<String> =
        ids(first, "SELECT id FROM admissions WHERE discharged_at IS NULL").await.into_iter().collect();
    for p in &due.patients {
        if !open.contains(&p.admission_id) {
            problems.push(format!("discharged {} is on the due list", p.admission_id));
        }
        for item in p.items.iter().filter(|i| i.kind == due::DueKind::Dose) {
            if let Some(Some(stop)) = stops.get(&item.order_id) {
                if item.due_at >= *stop {
                    problems.push(format!("a dose of {} due at {} after its stop {stop}", item.order_id, item.due_at));
                }
            }
        }
    }
}
