//! Synthetic clinical history: for attended appointments (checked in; done ones closed) that
//! have no visit yet, a visit by the appointment's doctor with vitals, one or two diagnoses
//! (real ICD-10-CM codes from the shipped table), one to three prescriptions from a small
//! medicine list, and for about a third of the visits lab orders with results, some of them
//! outside the reference range. Written with multi-row inserts and their change-log entries
//! in large transactions (a bulk load, like the schedule and billing generators).

use chrono::{DateTime, Duration, Utc};
use hms_core::clinical::{format_milli, icd10, Abnormal};
use hms_core::codes::Code;
use hms_core::store::{Actor, ChangeOp, WriteTx};
use hms_core::Store;
use serde_json::{json, Map, Value};
use sqlx::{QueryBuilder, Sqlite};
use std::time::Instant;

/// (name, strength, form, dose unit, frequency, days)
const MEDICINES: &[(&str, &str, &str, &str, &str, i64)] = &[
    ("Amoxicillin", "500 mg", "capsule", "capsule", "1-1-1", 5),
    ("Paracetamol", "650 mg", "tablet", "tablet", "1-1-1", 3),
    ("Metformin", "500 mg", "tablet", "tablet", "1-0-1", 30),
    ("Amlodipine", "5 mg", "tablet", "tablet", "1-0-0", 30),
    ("Cetirizine", "10 mg", "tablet", "tablet", "0-0-1", 5),
    ("Pantoprazole", "40 mg", "tablet", "tablet", "1-0-0", 14),
    ("Azithromycin", "500 mg", "tablet", "tablet", "1-0-0", 3),
    ("Ibuprofen", "400 mg", "tablet", "tablet", "1-0-1", 5),
    ("Salbutamol", "100 mcg", "inhaler", "puff", "SOS", 30),
    ("ORS", "21 g", "sachet", "sachet", "after each loose stool", 3),
    ("Nitrofurantoin", "100 mg", "capsule", "capsule", "1-0-1", 5),
    ("Telmisartan", "40 mg", "tablet", "tablet", "1-0-0", 30),
];

/// (code, name, unit, low, high, typical value) — ranges and values in thousandths.
const LAB_TESTS: &[(&str, &str, &str, i64, i64, i64)] = &[
    ("HB", "Haemoglobin", "g/dL", 13_000, 17_000, 14_500),
    ("FBS", "Fasting blood sugar", "mg/dL", 70_000, 100_000, 88_000),
    ("TSH", "Thyroid stimulating hormone", "mIU/L", 400, 4_000, 2_100),
    ("CREAT", "Serum creatinine", "mg/dL", 600, 1_200, 900),
    ("WBC", "White cell count", "10^3/µL", 4_000, 11_000, 7_200),
    ("HBA1C", "HbA1c", "%", 4_000, 5_600, 5_200),
];

/// (ICD-10-CM code, complaint, finding, medicines to pick from, lab tests to pick from).
type Problem = (&'static str, &'static str, &'static str, &'static [usize], &'static [usize]);
const PROBLEMS: &[Problem] = &[
    ("J06.9", "Cough and cold for 3 days", "Throat congested, chest clear", &[1, 4], &[4]),
    ("J03.90", "Sore throat and fever", "Tonsils enlarged", &[0, 1], &[0, 4]),
    ("I10", "Headache, high BP at home", "BP raised, no focal deficit", &[3, 11], &[3]),
    ("E11.9", "Increased thirst and urination", "No acute distress", &[2], &[1, 5]),
    ("K29.70", "Burning pain in the upper abdomen", "Epigastric tenderness", &[5], &[0]),
    ("A09", "Loose stools since yesterday", "Mild dehydration", &[9, 1], &[4]),
    ("R50.9", "Fever for 2 days", "Febrile, no focus found", &[1], &[0, 4]),
    ("M54.50", "Low back pain after lifting", "Paraspinal tenderness", &[7], &[]),
    ("N39.0", "Burning micturition", "Suprapubic tenderness", &[10, 1], &[3, 4]),
    ("J45.909", "Wheezing at night", "Bilateral wheeze", &[8, 4], &[]),
    ("E03.9", "Tiredness and weight gain", "Dry skin", &[], &[2]),
    ("D64.9", "Easy fatigue", "Pallor", &[], &[0]),
];

/// Visits written per transaction.
const BATCH: usize = 10_000;

/// What the generator wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Made {
    pub visits: u64,
    pub vitals: u64,
    pub diagnoses: u64,
    pub prescriptions: u64,
    pub lab_orders: u64,
    pub lab_results: u64,
}

type Appt = (String, String, String, String, Option<String>);

/// Writes the clinical history of up to `max_visits` attended appointments (the most recent
/// first) that have no visit yet; returns what was written and visits per second.
pub async fn visits(store: &Store, actor: Actor, max_visits: u64, seed: u64) -> Result<(Made, f64), String> {
    let started = Instant::now();
    let appts: Vec<Appt> = sqlx::query_as(
        "SELECT a.id, a.patient_id, a.doctor_id, a.checked_in_at, CASE WHEN a.status = 'done' THEN a.done_at END
         FROM appointments a
         WHERE a.status IN ('checked_in', 'with_doctor', 'done') AND a.checked_in_at IS NOT NULL AND a.deleted_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.appointment_id = a.id AND v.deleted_at IS NULL)
         ORDER BY a.starts_at DESC LIMIT ?",
    )
    .bind(i64::try_from(max_visits).unwrap_or(i64::MAX))
    .fetch_all(store.pool())
    .await
    .map_err(err)?;
    if appts.is_empty() {
        return Ok((Made::default(), 0.0));
    }
    icd10::ensure_loaded(store).await.map_err(err)?;
    let (medicines, tests) = catalogue(store, &actor).await?;
    let problems = known_problems(store).await?;
    let tz = hms_core::clinic::time_zone(store).await.map_err(err)?;
    let mut rng = fastrand::Rng::with_seed(seed ^ 0xc11c);
    let mut made = Made::default();
    for chunk in appts.chunks(BATCH) {
        let mut rows = Rows::default();
        for a in chunk {
            rows.visit(&mut rng, a, &problems, &medicines, &tests, tz);
        }
        let mut w = store.begin_write(actor.clone()).await.map_err(err)?;
        let (stamp, by, device) = (w.stamp(), w.actor().user_id.clone(), w.device_id().to_string());
        let sync = (stamp.as_str(), by.as_deref(), device.as_str());
        made.visits += bulk(&mut w, "visits", rows.visits, sync).await?;
        made.vitals += bulk(&mut w, "vitals", rows.vitals, sync).await?;
        made.diagnoses += bulk(&mut w, "diagnoses", rows.diagnoses, sync).await?;
        made.prescriptions += bulk(&mut w, "prescriptions", rows.prescriptions, sync).await?;
        made.lab_orders += bulk(&mut w, "lab_orders", rows.lab_orders, sync).await?;
        made.lab_results += bulk(&mut w, "lab_results", rows.lab_results, sync).await?;
        w.audit("visit.generate", "visit", None, json!({ "visits": chunk.len() })).await.map_err(err)?;
        w.commit().await.map_err(err)?;
        eprintln!(
            "generate: {}/{} visits ({:.0}/s)",
            made.visits,
            appts.len(),
            made.visits as f64 / started.elapsed().as_secs_f64()
        );
    }
    Ok((made, made.visits as f64 / started.elapsed().as_secs_f64().max(1e-9)))
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The problems whose codes are in the shipped table, with their descriptions.
async fn known_problems(store: &Store) -> Result<Vec<(usize, String, String)>, String> {
    let mut out = Vec::new();
    for (i, (code, ..)) in PROBLEMS.iter().enumerate() {
        let d: Option<(String, String)> = sqlx::query_as("SELECT code, description FROM icd10_codes WHERE code = ?")
            .bind(code)
            .fetch_optional(store.pool())
            .await
            .map_err(err)?;
        if let Some((c, desc)) = d {
            out.push((i, c, desc));
        }
    }
    if out.is_empty() {
        return Err("none of the generator's ICD-10 codes is in the code table".into());
    }
    Ok(out)
}

/// Medicine ids by MEDICINES index, and lab tests as (id, index into LAB_TESTS); missing
/// entries are added (synced like the app's own).
async fn catalogue(store: &Store, actor: &Actor) -> Result<(Vec<String>, Vec<String>), String> {
    let mut w = store.begin_write(actor.clone()).await.map_err(err)?;
    let (stamp, by, device) = (w.stamp(), w.actor().user_id.clone(), w.device_id().to_string());
    let now = w.now_rfc3339();
    let (mut meds, mut new_meds) = (Vec::new(), Vec::new());
    for (name, strength, form, ..) in MEDICINES {
        let found: Option<String> = sqlx::query_scalar(
            "SELECT id FROM medicines WHERE name = ? COLLATE NOCASE AND strength = ? COLLATE NOCASE AND form = ? COLLATE NOCASE AND deleted_at IS NULL",
        )
        .bind(name)
        .bind(strength)
        .bind(form)
        .fetch_optional(w.conn())
        .await
        .map_err(err)?;
        let id = found.unwrap_or_else(|| {
            let id = hms_core::ids::new_id();
            new_meds.push(row(&[
                ("id", json!(id)),
                ("name", json!(name)),
                ("strength", json!(strength)),
                ("form", json!(form)),
                ("active", json!(1)),
                ("created_at", json!(now)),
            ]));
            id
        });
        meds.push(id);
    }
    let (mut tests, mut new_tests) = (Vec::new(), Vec::new());
    for (code, name, unit, low, high, _) in LAB_TESTS {
        let found: Option<String> =
            sqlx::query_scalar("SELECT id FROM lab_tests WHERE code = ? COLLATE NOCASE AND deleted_at IS NULL")
                .bind(code)
                .fetch_optional(w.conn())
                .await
                .map_err(err)?;
        let id = found.unwrap_or_else(|| {
            let id = hms_core::ids::new_id();
            new_tests.push(row(&[
                ("id", json!(id)),
                ("code", json!(code)),
                ("name", json!(name)),
                ("unit", json!(unit)),
                ("ref_low_milli", json!(low)),
                ("ref_high_milli", json!(high)),
                ("active", json!(1)),
                ("created_at", json!(now)),
            ]));
            id
        });
        tests.push(id);
    }
    if new_meds.is_empty() && new_tests.is_empty() {
        return Ok((meds, tests)); // nothing to add: the write is dropped (rolled back)
    }
    let added = json!({ "medicines": new_meds.len(), "lab_tests": new_tests.len() });
    let sync = (stamp.as_str(), by.as_deref(), device.as_str());
    bulk(&mut w, "medicines", new_meds, sync).await?;
    bulk(&mut w, "lab_tests", new_tests, sync).await?;
    w.audit("clinical_catalog.generate", "medicine", None, added).await.map_err(err)?;
    w.commit().await.map_err(err)?;
    Ok((meds, tests))
}

fn row(cols: &[(&str, Value)]) -> Map<String, Value> {
    cols.iter().map(|(k, v)| ((*k).to_string(), v.clone())).collect()
}

fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The rows of one batch, by table.
#[derive(Default)]
struct Rows {
    visits: Vec<Map<String, Value>>,
    vitals: Vec<Map<String, Value>>,
    diagnoses: Vec<Map<String, Value>>,
    prescriptions: Vec<Map<String, Value>>,
    lab_orders: Vec<Map<String, Value>>,
    lab_results: Vec<Map<String, Value>>,
}

impl Rows {
    fn visit(
        &mut self,
        rng: &mut fastrand::Rng,
        a: &Appt,
        problems: &[(usize, String, String)],
        meds: &[String],
        tests: &[String],
        tz: hms_core::schedule::Tz,
    ) {
        let (appt, patient, doctor, checked_in, done) = a;
        let Ok(came) = DateTime::parse_from_rfc3339(checked_in).map(|d| d.with_timezone(&Utc)) else { return };
        let start = came + Duration::minutes(i64::from(rng.u32(2..30)));
        let end = done
            .as_deref()
            .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
            .map(|d| d.with_timezone(&Utc).max(start + Duration::minutes(5)));
        let day = start.with_timezone(&tz).date_naive();
        let mut chosen = vec![rng.usize(..problems.len())];
        if rng.u8(..100) < 30 {
            let other = rng.usize(..problems.len());
            if other != chosen[0] {
                chosen.push(other);
            }
        }
        let main = PROBLEMS[problems[chosen[0]].0];
        let follow_up = (rng.u8(..100) < 30)
            .then(|| (day + Duration::days([7, 14, 30][rng.usize(..3)])).format("%Y-%m-%d").to_string());
        let visit = hms_core::ids::new_id();
        let (s, c) = (at(start), |t: &str| json!(t));
        self.visits.push(row(&[
            ("id", json!(visit)),
            ("patient_id", json!(patient)),
            ("doctor_id", json!(doctor)),
            ("appointment_id", json!(appt)),
            ("started_at", c(&s)),
            ("closed_at", json!(end.map(at))),
            ("complaints", json!(main.1)),
            ("history", json!("")),
            ("examination", json!(main.2)),
            ("notes", json!("")),
            ("follow_up_date", json!(follow_up)),
            ("created_at", c(&s)),
        ]));
        self.vitals_of(rng, &visit, patient, &s);
        for (k, p) in chosen.iter().enumerate() {
            let (_, code, desc) = &problems[*p];
            let certainty = if k == 0 && rng.u8(..100) < 70 { "final" } else { "provisional" };
            self.diagnoses.push(row(&[
                ("id", json!(hms_core::ids::new_id())),
                ("visit_id", json!(visit)),
                ("patient_id", json!(patient)),
                ("icd10", json!(code)),
                ("text", json!(desc)),
                ("certainty", json!(certainty)),
                ("created_at", c(&s)),
            ]));
        }
        let mut given = Vec::new();
        for p in &chosen {
            for m in PROBLEMS[problems[*p].0].3 {
                if !given.contains(m) && given.len() < 3 {
                    given.push(*m);
                }
            }
        }
        for m in given {
            let (_, _, _, unit, freq, days) = MEDICINES[m];
            let starts = day.format("%Y-%m-%d").to_string();
            let ends = (day + Duration::days(days)).format("%Y-%m-%d").to_string();
            self.prescriptions.push(row(&[
                ("id", json!(hms_core::ids::new_id())),
                ("visit_id", json!(visit)),
                ("patient_id", json!(patient)),
                ("medicine_id", json!(meds[m])),
                ("dose", json!("1")),
                ("dose_unit", json!(unit)),
                ("route", json!(if unit == "puff" { "inhaled" } else { "oral" })),
                ("frequency", json!(freq)),
                ("duration_days", json!(days)),
                ("instructions", json!(if m == 0 || m == 7 { "after food" } else { "" })),
                ("override_reason", Value::Null),
                ("warnings", json!("[]")),
                ("starts_on", json!(starts)),
                ("ends_on", json!(ends)),
                ("created_at", c(&s)),
            ]));
        }
        if rng.u8(..100) < 35 {
            for t in main.4 {
                self.lab(rng, &visit, patient, &tests[*t], *t, start, end.is_some());
            }
        }
    }

    fn vitals_of(&mut self, rng: &mut fastrand::Rng, visit: &str, patient: &str, taken: &str) {
        let sys = rng.i64(100..170);
        let weight = rng.i64(45_000..95_000);
        let height = rng.i64(1_480..1_880);
        self.vitals.push(row(&[
            ("id", json!(hms_core::ids::new_id())),
            ("patient_id", json!(patient)),
            ("visit_id", json!(visit)),
            ("taken_at", json!(taken)),
            ("temperature_c_x10", json!(rng.i64(362..392))),
            ("pulse", json!(rng.i64(60..110))),
            ("bp_systolic", json!(sys)),
            ("bp_diastolic", json!(sys - rng.i64(35..55))),
            ("resp_rate", json!(rng.i64(12..22))),
            ("spo2", json!(rng.i64(94..100))),
            ("weight_g", json!(weight)),
            ("height_mm", json!(height)),
            ("pain", json!(rng.i64(0..6))),
            ("confirmed", json!(0)),
            ("created_at", json!(taken)),
        ]));
    }

    /// An order, and for a closed visit its result: one in four outside the range.
    #[allow(clippy::too_many_arguments)]
    fn lab(
        &mut self,
        rng: &mut fastrand::Rng,
        visit: &str,
        patient: &str,
        test_id: &str,
        t: usize,
        start: DateTime<Utc>,
        resulted: bool,
    ) {
        let (_, _, unit, low, high, typical) = LAB_TESTS[t];
        let order = hms_core::ids::new_id();
        let ordered = at(start + Duration::minutes(10));
        self.lab_orders.push(row(&[
            ("id", json!(order)),
            ("visit_id", json!(visit)),
            ("patient_id", json!(patient)),
            ("test_id", json!(test_id)),
            ("status", json!(if resulted { "resulted" } else { "ordered" })),
            ("ordered_at", json!(ordered)),
            ("ordered_by", Value::Null),
            ("note", json!("")),
            ("created_at", json!(ordered)),
        ]));
        if !resulted {
            return;
        }
        let span = (high - low).max(1);
        let value = match rng.u8(..100) {
            0..=14 => high + rng.i64(1..=span / 2 + 1),
            15..=24 => (low - rng.i64(1..=span / 4 + 1)).max(0),
            _ => (typical + rng.i64(-(span / 4)..=span / 4)).clamp(low, high),
        };
        // Whole units for large values, as a lab reports them.
        let value = if high >= 50_000 { value / 1_000 * 1_000 } else { value / 100 * 100 };
        let abnormal = Abnormal::of(Some(value), Some(low), Some(high));
        let resulted_at = at(start + Duration::hours(i64::from(rng.u32(1..6))));
        self.lab_results.push(row(&[
            ("id", json!(hms_core::ids::new_id())),
            ("order_id", json!(order)),
            ("patient_id", json!(patient)),
            ("test_id", json!(test_id)),
            ("value", json!(format_milli(value))),
            ("value_milli", json!(value)),
            ("unit", json!(unit)),
            ("ref_low_milli", json!(low)),
            ("ref_high_milli", json!(high)),
            ("abnormal", json!(abnormal.code())),
            ("resulted_at", json!(resulted_at)),
            ("created_at", json!(resulted_at)),
        ]));
    }
}

/// Inserts rows of one table (all with the same columns) with their sync columns, and their
/// change-log entries (the row as written, as the app records an insert). Returns the count.
async fn bulk(
    w: &mut WriteTx<'_>,
    table: &str,
    mut rows: Vec<Map<String, Value>>,
    (stamp, by, device): (&str, Option<&str>, &str),
) -> Result<u64, String> {
    let Some(first) = rows.first() else { return Ok(0) };
    let mut cols: Vec<String> = first.keys().cloned().collect();
    cols.extend(["updated_at", "updated_by", "origin_device"].map(String::from));
    for r in &mut rows {
        r.insert("updated_at".into(), json!(stamp));
        r.insert("updated_by".into(), json!(by));
    }
    let per_chunk = (30_000 / cols.len()).max(1);
    for chunk in rows.chunks(per_chunk) {
        let mut q = QueryBuilder::<Sqlite>::new(format!("INSERT INTO {table} ({}) ", cols.join(", ")));
        q.push_values(chunk, |mut b, r| {
            for c in &cols {
                if c == "origin_device" {
                    b.push_bind(device.to_string());
                    continue;
                }
                match r.get(c).unwrap_or(&Value::Null) {
                    Value::Null => b.push_bind(None::<String>),
                    Value::Bool(x) => b.push_bind(i64::from(*x)),
                    Value::Number(n) => b.push_bind(n.as_i64()),
                    Value::String(s) => b.push_bind(s.clone()),
                    other => b.push_bind(other.to_string()),
                };
            }
        });
        q.build().execute(w.conn()).await.map_err(err)?;
    }
    let ids: Vec<String> =
        rows.iter().map(|r| r.get("id").and_then(Value::as_str).unwrap_or_default().to_string()).collect();
    let changes: Vec<(&str, Value)> = ids.iter().map(String::as_str).zip(rows.into_iter().map(Value::Object)).collect();
    w.record_changes(table, ChangeOp::Insert, &changes).await.map_err(err)?;
    Ok(changes.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use hms_core::setup::{self, NewAdmin};
    use hms_core::SessionSlot;

    /// A small generated clinic: every visit belongs to an attended appointment of the same
    /// patient and doctor, codes are in the code table, results belong to resulted orders,
    /// some results are abnormal, and every row is on the change log.
    #[tokio::test]
    async fn generated_clinical_rows_are_consistent() {
        let dir = std::env::temp_dir().join(format!("hms-generate-clinical-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open_in_dir(&dir).await.unwrap();
        store.set_now(Some(Utc.with_ymd_and_hms(2026, 11, 25, 6, 0, 0).unwrap()));
        let slot = SessionSlot::default();
        let admin = NewAdmin { username: "admin".into(), full_name: "Admin".into(), password: "Clinic#2026adm".into() };
        setup::setup_first_admin(&store, &slot, admin).await.unwrap();
        let auth = slot.authorize(&store).await.unwrap();
        crate::generate::patients(&store, &auth, 1_000, 2).await.unwrap();
        crate::generate_schedule::doctors(&store, &auth, 24, 2).await.unwrap();
        crate::generate_schedule::appointments(&store, &auth, 5_000, 2).await.unwrap();
        let attended: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM appointments WHERE status = 'done'")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert!(attended > 100, "{attended}");
        let (made, _) = visits(&store, auth.actor(), 150, 2).await.unwrap();
        assert_eq!(made.visits, 150, "at most the number asked for: {made:?}");
        let (more, _) = visits(&store, auth.actor(), 10_000, 3).await.unwrap();
        assert_eq!(made.visits + more.visits, attended as u64, "the rest of the attended appointments: {more:?}");
        let made = Made {
            visits: made.visits + more.visits,
            vitals: made.vitals + more.vitals,
            diagnoses: made.diagnoses + more.diagnoses,
            prescriptions: made.prescriptions + more.prescriptions,
            lab_orders: made.lab_orders + more.lab_orders,
            lab_results: made.lab_results + more.lab_results,
        };
        assert!(
            made.diagnoses >= made.visits
                && made.vitals == made.visits
                && made.prescriptions > made.visits / 2
                && made.lab_results > 10,
            "{made:?}"
        );

        let q = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).fetch_one(store.pool());
        let zero = [
            "SELECT COUNT(*) FROM visits v LEFT JOIN patients p ON p.id = v.patient_id WHERE p.id IS NULL",
            "SELECT COUNT(*) FROM visits v JOIN appointments a ON a.id = v.appointment_id WHERE a.patient_id <> v.patient_id OR a.doctor_id <> v.doctor_id OR a.checked_in_at IS NULL",
            "SELECT COUNT(*) FROM visits WHERE appointment_id IS NULL",
            "SELECT COUNT(*) FROM diagnoses d LEFT JOIN icd10_codes c ON c.code = d.icd10 WHERE c.code IS NULL",
            "SELECT COUNT(*) FROM diagnoses d JOIN visits v ON v.id = d.visit_id WHERE v.patient_id <> d.patient_id",
            "SELECT COUNT(*) FROM prescriptions p LEFT JOIN medicines m ON m.id = p.medicine_id WHERE m.id IS NULL",
            "SELECT COUNT(*) FROM lab_results r JOIN lab_orders o ON o.id = r.order_id WHERE o.status <> 'resulted' OR o.patient_id <> r.patient_id",
            "SELECT COUNT(*) FROM lab_orders o WHERE o.status = 'resulted' AND NOT EXISTS (SELECT 1 FROM lab_results r WHERE r.order_id = o.id)",
            "SELECT COUNT(*) FROM vitals WHERE bp_diastolic >= bp_systolic",
        ];
        for sql in zero {
            assert_eq!(q(sql).await.unwrap(), 0, "{sql}");
        }
        assert!(
            q("SELECT COUNT(*) FROM lab_results WHERE abnormal IN ('high', 'low')").await.unwrap() > 0,
            "some abnormal results"
        );
        assert!(q("SELECT COUNT(*) FROM lab_results WHERE abnormal = 'normal'").await.unwrap() > 0);
        assert!(q("SELECT COUNT(*) FROM visits WHERE follow_up_date IS NOT NULL").await.unwrap() > 0);
        for table in
            ["visits", "vitals", "diagnoses", "prescriptions", "lab_orders", "lab_results", "medicines", "lab_tests"]
        {
            let rows: i64 =
                sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(store.pool()).await.unwrap();
            let changes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM change_log WHERE entity = ?")
                .bind(table)
                .fetch_one(store.pool())
                .await
                .unwrap();
            assert_eq!(rows, changes, "{table}: every row on the change log");
        }
        // A third run finds nothing left to do.
        let (again, _) = visits(&store, auth.actor(), 600, 4).await.unwrap();
        assert_eq!(again, Made::default());
        let ids: i64 =
            q("SELECT COUNT(*) FROM (SELECT appointment_id FROM visits GROUP BY appointment_id HAVING COUNT(*) > 1)")
                .await
                .unwrap();
        assert_eq!(ids, 0, "one visit per appointment, also after a second run ({again:?})");
        assert!(hms_core::audit::verify_unaudited(&store).await.unwrap().intact);
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
