//! Synthetic doctors, schedules and appointments, from a seed.
//!
//! Departments, twelve specialties and doctors are added through hms-core (audited, like an
//! administrator would). The appointment history is a bulk load: multi-row INSERTs in big
//! transactions, each with its change-log entries and one audit entry. It keeps the rules the
//! app keeps: at most one active regular booking per slot (the unique slot index would refuse
//! anything else), bookings only inside the doctors' sessions, and never one patient twice
//! on one day.

use chrono::{Duration, NaiveDate, Timelike};
use hms_core::schedule::availability::{self, SessionInput};
use hms_core::schedule::staff::{self, StaffInput};
use hms_core::schedule::{instant, parse_minutes, rfc3339, Tz};
use hms_core::store::ChangeOp;
use hms_core::{Authorized, Store};
use serde_json::{json, Value};
use sqlx::{QueryBuilder, Sqlite};
use std::collections::HashMap;
use std::time::Instant;

/// The clinic's time zone in generated databases.
pub const TIME_ZONE: &str = "Asia/Kolkata";

/// (specialty, department, relative share of the doctors)
const SPECIALTIES: &[(&str, &str, u32)] = &[
    ("General Medicine", "Medicine", 40),
    ("Paediatrics", "Women and Children", 25),
    ("Obstetrics and Gynaecology", "Women and Children", 20),
    ("Orthopaedics", "Surgery", 18),
    ("Cardiology", "Medicine", 15),
    ("ENT", "Surgery", 14),
    ("Dermatology", "Skin", 14),
    ("Ophthalmology", "Eye", 14),
    ("Gastroenterology", "Medicine", 12),
    ("Neurology", "Medicine", 10),
    ("Pulmonology", "Medicine", 10),
    ("Psychiatry", "Mind", 8),
];

const REASONS: &[&str] =
    &["", "", "follow-up", "fever", "review of reports", "BP check", "diabetes review", "cough", "pain", "first visit"];
const QUALIFICATIONS: &[&str] = &["MBBS", "MBBS, MD", "MBBS, MS", "MBBS, DNB", "MBBS, MD, DM"];

/// How many doctors a database of `patients` patients gets: one per 5,000 patients (200 at
/// 1,000,000), at least 24 so that every specialty has a doctor or two.
pub fn doctors_for(patients: u64) -> usize {
    (patients / 5_000).clamp(24, 200) as usize
}

/// Adds the departments, specialties and `n` doctors with their weekly sessions, and sets
/// the clinic's time zone. Returns the number of doctors.
pub async fn doctors(store: &Store, auth: &Authorized, n: usize, seed: u64) -> Result<usize, String> {
    let err = |e: hms_core::Error| e.to_string();
    hms_core::settings::set_time_zone(store, auth, TIME_ZONE).await.map_err(err)?;
    let mut departments: HashMap<&str, String> = HashMap::new();
    let mut specialties = Vec::new();
    for (name, department, share) in SPECIALTIES {
        if !departments.contains_key(department) {
            departments.insert(department, staff::add_department(store, auth, department).await.map_err(err)?.id);
        }
        let id = staff::add_specialty(store, auth, name).await.map_err(err)?.id;
        specialties.push((id, departments[department].clone(), *share));
    }
    let total_share: u32 = specialties.iter().map(|s| s.2).sum();
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut names = crate::generate::Generator::new(seed ^ 0xd0c);
    let today = store.now().date_naive();
    for i in 0..n {
        // Shares laid out over 0..n, so that every specialty gets its part even for small n.
        let point = (i as u32 * total_share) / n as u32;
        let (mut acc, mut pick) = (0, &specialties[0]);
        for s in &specialties {
            acc += s.2;
            if point < acc {
                pick = s;
                break;
            }
        }
        let person = names.patient(today);
        let input = StaffInput {
            full_name: format!("Dr {} {}", person.given_name, person.family_name),
            role: "doctor".into(),
            department_id: Some(pick.1.clone()),
            qualifications: QUALIFICATIONS[rng.usize(..QUALIFICATIONS.len())].into(),
            licence_no: format!("KMC-{}", 10_000 + i),
            specialty_ids: vec![pick.0.clone()],
            phone: person.phones.first().cloned().unwrap_or_default(),
            fee_minor: i64::from(rng.u32(3..=15)) * 10_000,
            ..Default::default()
        };
        let doctor = staff::add_staff(store, auth, input).await.map_err(err)?;
        availability::set_weekly(store, auth, &doctor.id, week(&mut rng)).await.map_err(err)?;
    }
    Ok(n)
}

/// A doctor's week: mostly Mon–Sat 09:00–13:00 and 17:00–20:00 in 15-minute slots; some
/// mornings only in 10-minute slots (a busy general clinic); some specialists Mon–Fri in
/// 20-minute slots.
fn week(rng: &mut fastrand::Rng) -> Vec<SessionInput> {
    let s = |weekday, start: &str, end: &str, slot| SessionInput {
        weekday,
        start: start.into(),
        end: end.into(),
        slot_minutes: slot,
    };
    match rng.u8(..100) {
        0..=69 => (1..=6).flat_map(|d| [s(d, "09:00", "13:00", 15), s(d, "17:00", "20:00", 15)]).collect(),
        70..=84 => (1..=6).map(|d| s(d, "09:00", "13:00", 10)).collect(),
        _ => (1..=5).flat_map(|d| [s(d, "10:00", "13:00", 20), s(d, "16:00", "19:00", 20)]).collect(),
    }
}

/// A doctor's slots by ISO weekday (index 1..=7): (start, end) minutes.
struct DoctorWeek {
    id: String,
    slots: [Vec<(u32, u32)>; 8],
}

async fn doctor_weeks(store: &Store, auth: &Authorized) -> Result<Vec<DoctorWeek>, String> {
    let mut out = Vec::new();
    for d in staff::doctors(store, auth, None).await.map_err(|e| e.to_string())? {
        let mut w = DoctorWeek { id: d.id.clone(), slots: Default::default() };
        for s in availability::weekly(store, auth, &d.id).await.map_err(|e| e.to_string())? {
            let (start, end) = (
                parse_minutes("start", &s.start).map_err(|e| e.to_string())?,
                parse_minutes("end", &s.end).map_err(|e| e.to_string())?,
            );
            let mut m = start;
            while m + s.slot_minutes <= end {
                w.slots[usize::from(s.weekday)].push((m, m + s.slot_minutes));
                m += s.slot_minutes;
            }
        }
        out.push(w);
    }
    Ok(out)
}

/// Bookings a day `offset` days from today holds, as a share of its slots: the past was
/// busy; the coming weeks fill up less the further away they are.
fn occupancy(offset: i64) -> f64 {
    const PAST: f64 = 0.85;
    if offset < 0 {
        PAST
    } else {
        0.05 + 0.80 * (1.0 - offset as f64 / FUTURE_DAYS as f64)
    }
}

/// Days ahead that already have bookings.
const FUTURE_DAYS: i64 = 28;
/// Of the slots not booked, the share that holds a cancelled booking.
const CANCELLED: f64 = 0.06;
/// Walk-ins per doctor per working day, in the past.
const WALK_INS: u32 = 2;

/// One generated appointment row.
struct Row {
    id: String,
    patient: usize,
    doctor: usize,
    date: String,
    start: u32,
    end: u32,
    starts_at: String,
    ends_at: String,
    status: &'static str,
    walk_in: bool,
    token: Option<String>,
    reason: &'static str,
    cancel_reason: &'static str,
    checked_in_at: Option<String>,
    done_at: Option<String>,
    created_at: String,
}

/// Picks patients in a shuffled round robin, skipping anyone already seen that day: each
/// patient's visits are spread over the history and never overlap.
struct Patients {
    order: Vec<usize>,
    next: usize,
    last_day: Vec<i64>,
}

impl Patients {
    fn new(n: usize, rng: &mut fastrand::Rng) -> Self {
        let mut order: Vec<usize> = (0..n).collect();
        rng.shuffle(&mut order);
        Patients { order, next: 0, last_day: vec![i64::MIN; n] }
    }

    fn pick(&mut self, day: i64) -> Option<usize> {
        for _ in 0..self.order.len() {
            let p = self.order[self.next];
            self.next = (self.next + 1) % self.order.len();
            if self.last_day[p] != day {
                self.last_day[p] = day;
                return Some(p);
            }
        }
        None
    }
}

/// Generates about `target` appointments (never more) for the doctors in the database,
/// over the past and the coming four weeks, for the patients in the database. Returns
/// (appointments written, per second).
pub async fn appointments(store: &Store, auth: &Authorized, target: u64, seed: u64) -> Result<(u64, f64), String> {
    let started = Instant::now();
    let tz = hms_core::clinic::time_zone(store).await.map_err(|e| e.to_string())?;
    let doctors = doctor_weeks(store, auth).await?;
    let patient_ids: Vec<String> =
        sqlx::query_scalar("SELECT id FROM patients WHERE status <> 'merged' AND deleted_at IS NULL ORDER BY pk")
            .fetch_all(store.pool())
            .await
            .map_err(|e| e.to_string())?;
    if doctors.is_empty() || patient_ids.is_empty() || target == 0 {
        return Ok((0, 0.0));
    }
    let now = store.now();
    let local = now.with_timezone(&tz);
    let today = local.date_naive();
    let now_min = local.hour() * 60 + local.minute();
    let past_days = past_days_needed(&doctors, today, target);
    eprintln!(
        "generate: {} doctors, {} patients, {past_days} days of history and {FUTURE_DAYS} ahead",
        doctors.len(),
        patient_ids.len()
    );

    let mut rng = fastrand::Rng::with_seed(seed);
    let mut patients = Patients::new(patient_ids.len(), &mut rng);
    let mut batch: Vec<Row> = Vec::new();
    let mut written = 0u64;
    for offset in -past_days..FUTURE_DAYS {
        let date = today + Duration::days(offset);
        let plan = DayPlan { date, offset, now_min, now: &now };
        for (d, doctor) in doctors.iter().enumerate() {
            day_rows(&mut rng, &mut patients, tz, &plan, d, doctor, &mut batch);
        }
        let room = (target - written) as usize;
        batch.truncate(room);
        if batch.len() >= BATCH || batch.len() == room {
            written += insert(store, auth, &doctors, &patient_ids, std::mem::take(&mut batch)).await?;
            eprintln!(
                "generate: {written}/{target} appointments ({:.0}/s)",
                written as f64 / started.elapsed().as_secs_f64()
            );
        }
        if written >= target {
            break;
        }
    }
    if !batch.is_empty() {
        written += insert(store, auth, &doctors, &patient_ids, batch).await?;
    }
    let rate = written as f64 / started.elapsed().as_secs_f64().max(1e-9);
    // Copy the bulk load out of the WAL now, rather than in the background while the
    // latencies are measured.
    let t = Instant::now();
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(store.pool()).await.map_err(|e| e.to_string())?;
    eprintln!("generate: WAL checkpointed in {:.1} s", t.elapsed().as_secs_f64());
    Ok((written, rate))
}

/// Rows written per transaction.
const BATCH: usize = 50_000;

/// How many days of history give about `target` appointments with the coming weeks.
fn past_days_needed(doctors: &[DoctorWeek], today: NaiveDate, target: u64) -> i64 {
    use chrono::Datelike;
    let slots_on = |date: NaiveDate| -> f64 {
        let wd = date.weekday().number_from_monday() as usize;
        doctors.iter().map(|d| d.slots[wd].len() as f64).sum()
    };
    let per_day = |offset: i64| -> f64 {
        let date = today + Duration::days(offset);
        let working =
            doctors.iter().filter(|d| !d.slots[date.weekday().number_from_monday() as usize].is_empty()).count() as f64;
        let occ = occupancy(offset);
        let walk = if offset < 0 { working * f64::from(WALK_INS) } else { 0.0 };
        slots_on(date) * (occ + (1.0 - occ) * CANCELLED) + walk
    };
    let future: f64 = (0..FUTURE_DAYS).map(per_day).sum();
    let mut need = target as f64 - future;
    let mut days = 0;
    while need > 0.0 && days < 3_650 {
        days += 1;
        need -= per_day(-days);
    }
    days
}

struct DayPlan<'a> {
    date: NaiveDate,
    offset: i64,
    now_min: u32,
    now: &'a chrono::DateTime<chrono::Utc>,
}

/// One doctor's appointments on one day: bookings (done or no-show in the past, booked from
/// now on), cancelled bookings, and in the past a few walk-ins; tokens for those who came.
fn day_rows(
    rng: &mut fastrand::Rng,
    patients: &mut Patients,
    tz: Tz,
    plan: &DayPlan,
    d: usize,
    doctor: &DoctorWeek,
    out: &mut Vec<Row>,
) {
    use chrono::Datelike;
    let slots = &doctor.slots[plan.date.weekday().number_from_monday() as usize];
    if slots.is_empty() {
        return;
    }
    let day = plan.date.format("%Y-%m-%d").to_string();
    let occ = occupancy(plan.offset);
    let mut token = 0;
    let mut push = |rng: &mut fastrand::Rng, start: u32, end: u32, kind: Kind| {
        let Some(patient) = patients.pick(plan.offset) else { return };
        let (Some(a), Some(b)) = (instant(tz, plan.date, start), instant(tz, plan.date, end)) else { return };
        let over = plan.offset < 0 || (plan.offset == 0 && end <= plan.now_min);
        let (status, came) = match kind {
            Kind::Cancelled => ("cancelled", false),
            Kind::Booked if over && rng.u8(..100) < 9 => ("no_show", false),
            Kind::Booked | Kind::WalkIn if over => ("done", true),
            Kind::Booked | Kind::WalkIn => ("booked", false),
        };
        if came {
            token += 1;
        }
        let booked_ahead = Duration::minutes(if kind == Kind::WalkIn { 0 } else { i64::from(rng.u32(30..=20_160)) });
        let created = (a - booked_ahead).min(*plan.now);
        out.push(Row {
            id: hms_core::ids::new_id(),
            patient,
            doctor: d,
            date: day.clone(),
            start,
            end,
            starts_at: rfc3339(a),
            ends_at: rfc3339(b),
            status,
            walk_in: kind == Kind::WalkIn,
            token: came.then(|| format!("G-{token}")),
            reason: REASONS[rng.usize(..REASONS.len())],
            cancel_reason: if kind == Kind::Cancelled { "patient request" } else { "" },
            checked_in_at: came.then(|| rfc3339(a - Duration::minutes(i64::from(rng.u32(0..40))))),
            done_at: came.then(|| rfc3339(b)),
            created_at: rfc3339(created),
        });
    };
    for &(start, end) in slots {
        let r = rng.f64();
        if r < occ {
            push(rng, start, end, Kind::Booked);
        } else if r < occ + (1.0 - occ) * CANCELLED {
            push(rng, start, end, Kind::Cancelled);
        }
    }
    if plan.offset < 0 {
        for _ in 0..WALK_INS {
            let (first, last) = (slots[0].0, slots[slots.len() - 1].1);
            let start = rng.u32(first..last.max(first + 1)).min(1_425);
            push(rng, start, start + 15, Kind::WalkIn);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Booked,
    Cancelled,
    WalkIn,
}

/// Writes one batch: the rows, their change-log entries and one audit entry, in one
/// transaction. Returns how many were written.
async fn insert(
    store: &Store,
    auth: &Authorized,
    doctors: &[DoctorWeek],
    patient_ids: &[String],
    rows: Vec<Row>,
) -> Result<u64, String> {
    // 22 variables a row: 1,000 rows stay under SQLite's limit of 32,766.
    const CHUNK: usize = 1_000;
    let e = |e: sqlx::Error| e.to_string();
    let mut w = store.begin_write(auth.actor()).await.map_err(|e| e.to_string())?;
    let (stamp, by, device) = (w.stamp(), w.actor().user_id.clone(), w.device_id().to_string());
    for chunk in rows.chunks(CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO appointments (id, patient_id, doctor_id, date, start_min, end_min, starts_at, ends_at, status, overbooked, walk_in,
               token, reason, cancel_reason, checked_in_at, called_at, done_at, created_at, updated_at, updated_by, origin_device, rescheduled_from) ",
        );
        q.push_values(chunk, |mut b, r| {
            b.push_bind(&r.id)
                .push_bind(&patient_ids[r.patient])
                .push_bind(&doctors[r.doctor].id)
                .push_bind(&r.date)
                .push_bind(i64::from(r.start))
                .push_bind(i64::from(r.end))
                .push_bind(&r.starts_at)
                .push_bind(&r.ends_at)
                .push_bind(r.status)
                .push_bind(0i64)
                .push_bind(i64::from(r.walk_in))
                .push_bind(&r.token)
                .push_bind(r.reason)
                .push_bind(r.cancel_reason)
                .push_bind(&r.checked_in_at)
                .push_bind(&r.checked_in_at)
                .push_bind(&r.done_at)
                .push_bind(&r.created_at)
                .push_bind(&stamp)
                .push_bind(&by)
                .push_bind(&device)
                .push_bind(None::<String>);
        });
        q.build().execute(w.conn()).await.map_err(e)?;
    }
    let changes: Vec<(&str, Value)> =
        rows.iter().map(|r| (r.id.as_str(), change(r, doctors, patient_ids, &stamp, &by))).collect();
    w.record_changes("appointments", ChangeOp::Insert, &changes).await.map_err(|e| e.to_string())?;
    let (first, last) = (rows.first().map(|r| r.date.clone()), rows.last().map(|r| r.date.clone()));
    w.audit(
        "appointment.generate",
        "appointment",
        None,
        json!({ "count": rows.len(), "first_date": first, "last_date": last }),
    )
    .await
    .map_err(|e| e.to_string())?;
    w.commit().await.map_err(|e| e.to_string())?;
    Ok(rows.len() as u64)
}

/// The change-log data of a row, as the app records an appointment.
fn change(r: &Row, doctors: &[DoctorWeek], patient_ids: &[String], stamp: &str, by: &Option<String>) -> Value {
    json!({
        "id": r.id, "patient_id": patient_ids[r.patient], "doctor_id": doctors[r.doctor].id, "date": r.date,
        "start": hms_core::schedule::format_minutes(r.start), "end": hms_core::schedule::format_minutes(r.end),
        "starts_at": r.starts_at, "ends_at": r.ends_at, "status": r.status, "overbooked": false, "walk_in": r.walk_in,
        "token": r.token, "reason": r.reason, "cancel_reason": r.cancel_reason, "rescheduled_from": null,
        "checked_in_at": r.checked_in_at, "done_at": r.done_at, "updated_at": stamp, "updated_by": by,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use hms_core::setup::{self, NewAdmin};
    use hms_core::SessionSlot;
    use std::collections::HashSet;

    #[test]
    fn doctors_scale_with_patients_within_bounds() {
        assert_eq!(
            (doctors_for(0), doctors_for(20_000), doctors_for(500_000), doctors_for(1_000_000), doctors_for(5_000_000)),
            (24, 24, 100, 200, 200)
        );
    }

    #[test]
    fn the_patient_picker_never_takes_anyone_twice_a_day() {
        let mut rng = fastrand::Rng::with_seed(3);
        let mut p = Patients::new(5, &mut rng);
        let today: Vec<usize> = (0..6).filter_map(|_| p.pick(0)).collect();
        assert_eq!(today.len(), 5, "five patients, five visits at most");
        assert_eq!(today.iter().collect::<HashSet<_>>().len(), 5);
        assert!(p.pick(1).is_some(), "a new day");
    }

    /// A small generated clinic keeps the booking rules: appointments only in the doctors'
    /// slots, one active booking per slot, one visit per patient per day, about the target.
    #[tokio::test]
    async fn generated_history_keeps_the_booking_rules() {
        // No tempfile crate here: a directory of our own, removed at the end.
        let dir = std::env::temp_dir().join(format!("hms-generate-schedule-{}", std::process::id()));
        let store = Store::open_in_dir(&dir).await.unwrap();
        store.set_now(Some(chrono::Utc.with_ymd_and_hms(2026, 11, 25, 6, 0, 0).unwrap()));
        let slot = SessionSlot::default();
        let admin = NewAdmin { username: "admin".into(), full_name: "Admin".into(), password: "Clinic#2026adm".into() };
        setup::setup_first_admin(&store, &slot, admin).await.unwrap();
        let auth = slot.authorize(&store).await.unwrap();
        crate::generate::patients(&store, &auth, 1_500, 1).await.unwrap();
        assert_eq!(doctors(&store, &auth, 24, 1).await.unwrap(), 24);
        let (n, _) = appointments(&store, &auth, 3_000, 1).await.unwrap();
        assert_eq!(n, 3_000);

        let q = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).fetch_one(store.pool());
        assert_eq!(q("SELECT COUNT(*) FROM appointments").await.unwrap(), 3_000);
        assert!(
            q("SELECT COUNT(*) FROM appointments WHERE date >= '2026-11-25' AND status = 'booked'").await.unwrap()
                > 100,
            "the coming weeks have bookings"
        );
        assert!(
            q("SELECT COUNT(*) FROM appointments WHERE status = 'done' AND token IS NOT NULL").await.unwrap() > 100,
            "history with tokens"
        );
        let twice: i64 = q("SELECT COUNT(*) FROM (SELECT 1 FROM appointments WHERE status <> 'cancelled' GROUP BY patient_id, date HAVING COUNT(*) > 1)").await.unwrap();
        assert_eq!(twice, 0, "no patient twice on a day");
        assert_eq!(q("SELECT COUNT(*) FROM change_log WHERE entity = 'appointments'").await.unwrap(), 3_000);
        assert_eq!(hms_core::clinic::time_zone(&store).await.unwrap().name(), TIME_ZONE);

        let tz = hms_core::clinic::time_zone(&store).await.unwrap();
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT doctor_id, date, start_min FROM appointments WHERE walk_in = 0 AND status <> 'cancelled'",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        let mut conn = store.pool().acquire().await.unwrap();
        let mut cache: HashMap<(String, String), Vec<u32>> = HashMap::new();
        for (doctor, date, start) in rows {
            if let std::collections::hash_map::Entry::Vacant(e) = cache.entry((doctor.clone(), date.clone())) {
                let day = NaiveDate::parse_from_str(&date, "%Y-%m-%d").unwrap();
                let starts = hms_core::schedule::slots::day_slots(&mut conn, tz, &doctor, day)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|s| s.start_min)
                    .collect();
                e.insert(starts);
            }
            assert!(cache[&(doctor, date)].contains(&(start as u32)), "a booking outside the doctor's slots");
        }
        assert!(hms_core::audit::verify_unaudited(&store).await.unwrap().intact);
        drop(conn);
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
