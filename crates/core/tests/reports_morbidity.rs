//! Morbidity reports: every figure against a count done here over visits and diagnoses built
//! by hand (a clinic in Asia/Kolkata, March 2026): a merged duplicate diagnosed with its
//! survivor's code, a code given twice, uncoded and deleted diagnoses, a deleted visit,
//! visits one millisecond either side of the clinic's midnight, and ages on a birthday.

mod common;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate};
use hms_core::reports::{self, Cell, Filters, RangeInput, ReportId, ReportRequest};
use hms_core::{Authorized, Store};
use std::collections::{BTreeMap, BTreeSet};

const T: &str = "2026-01-01T00:00:00.000Z";

async fn exec(s: &Store, sql: &str, args: &[Option<&str>]) {
    let mut q = sqlx::query(sql);
    for a in args {
        q = q.bind(*a);
    }
    q.execute(s.pool()).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// (id, sex, birth, merged into)
const PATIENTS: [(&str, &str, Option<&str>, Option<&str>); 6] = [
    ("p1", "female", Some("1990-03-10"), None),
    ("p2", "male", Some("2022-03-15"), None),
    ("p3", "other", None, None),
    ("p4", "female", Some("1961-03-31"), None),
    // A duplicate of p1: its diagnoses are p1's.
    ("p5", "female", Some("1990-03-10"), Some("p1")),
    ("p6", "male", Some("2030-01-01"), None),
];

/// (visit, patient, doctor, started_at, deleted)
const VISITS: [(&str, &str, &str, &str, bool); 9] = [
    // 1 March, 00:00 in Kolkata: in the range; p1 is 35 on 1 March, 36 from 10 March.
    ("v1", "p1", "dr-a", "2026-02-28T18:30:00.000Z", false),
    // 28 February, 23:59:59.999 in Kolkata: before the range.
    ("v2", "p2", "dr-a", "2026-02-28T18:29:59.999Z", false),
    ("v3", "p2", "dr-b", "2026-03-14T05:00:00.000Z", false),
    // p2 turns 4 on 15 March.
    ("v4", "p2", "dr-b", "2026-03-15T05:00:00.000Z", false),
    ("v5", "p5", "dr-b", "2026-03-12T05:00:00.000Z", false),
    ("v6", "p3", "dr-a", "2026-03-31T18:29:59.999Z", false),
    // 1 April, 00:00 in Kolkata: after the range.
    ("v7", "p4", "dr-a", "2026-03-31T18:30:00.000Z", false),
    ("v8", "p4", "dr-a", "2026-03-31T05:00:00.000Z", false),
    ("v9", "p6", "dr-b", "2026-03-20T05:00:00.000Z", true),
];

/// (visit, code or None for free text, deleted)
const DIAGNOSES: [(&str, Option<&str>, bool); 14] = [
    ("v1", Some("E11.9"), false),
    ("v1", Some("I10"), false),
    ("v1", Some("J06.9"), true),
    ("v2", Some("J06.9"), false),
    ("v3", Some("J06.9"), false),
    // The same code again for p2, a day later (counted once, at 3).
    ("v4", Some("J06.9"), false),
    ("v4", Some("J02.9"), false),
    // p1's duplicate: E11.9 again (p1 once), I25.10 (p1's, chapter IX again).
    ("v5", Some("E11.9"), false),
    ("v5", Some("I25.10"), false),
    ("v6", Some("J06.9"), false),
    ("v6", None, false),
    ("v7", Some("E11.9"), false),
    ("v8", Some("M54.5"), false),
    ("v9", Some("J06.9"), false),
];

struct Clinic {
    env: common::Env,
    slot: hms_core::SessionSlot,
    admin: Authorized,
}

async fn clinic() -> Clinic {
    let (env, slot) = common::with_admin().await;
    let s = &env.store;
    let admin = slot.authorize(s).await.unwrap();
    exec(s, "INSERT INTO settings (key, value, created_at, updated_at, origin_device) VALUES ('time_zone', '\"Asia/Kolkata\"', ?, ?, 'd')", &[Some(T), Some(T)]).await;
    for (id, name) in [("cardio", "Cardiology"), ("ent", "ENT")] {
        exec(
            s,
            "INSERT INTO departments (id, name, created_at, updated_at, origin_device) VALUES (?, ?, ?, ?, 'd')",
            &[Some(id), Some(name), Some(T), Some(T)],
        )
        .await;
    }
    for (id, name, dept) in [("dr-a", "Dr Asha", "cardio"), ("dr-b", "Dr Bala", "ent")] {
        exec(
            s,
            "INSERT INTO staff (id, full_name, role, department_id, created_at, updated_at, origin_device) VALUES (?, ?, 'doctor', ?, ?, ?, 'd')",
            &[Some(id), Some(name), Some(dept), Some(T), Some(T)],
        )
        .await;
    }
    for (i, (id, sex, birth, merged)) in PATIENTS.iter().enumerate() {
        let mrn = format!("MRN{i}");
        let status = if merged.is_some() { "merged" } else { "active" };
        exec(
            s,
            "INSERT INTO patients (id, mrn, given_name, sex, birth_date, status, merged_into, created_at, updated_at, origin_device) VALUES (?, ?, 'X', ?, ?, ?, ?, ?, ?, 'd')",
            &[Some(id), Some(&mrn), Some(sex), *birth, Some(status), *merged, Some(T), Some(T)],
        )
        .await;
    }
    for (id, patient, doctor, at, deleted) in VISITS {
        exec(
            s,
            "INSERT INTO visits (id, patient_id, doctor_id, started_at, created_at, updated_at, origin_device, deleted_at) VALUES (?, ?, ?, ?, ?, ?, 'd', ?)",
            &[Some(id), Some(patient), Some(doctor), Some(at), Some(T), Some(T), deleted.then_some(T)],
        )
        .await;
    }
    for (i, (visit, code, deleted)) in DIAGNOSES.iter().enumerate() {
        let patient = VISITS.iter().find(|v| v.0 == *visit).unwrap().1;
        exec(
            s,
            "INSERT INTO diagnoses (id, visit_id, patient_id, icd10, text, certainty, created_at, updated_at, origin_device, deleted_at) VALUES (?, ?, ?, ?, ?, 'final', ?, ?, 'd', ?)",
            &[
                Some(&format!("d{i}")),
                Some(visit),
                Some(patient),
                *code,
                Some(&format!("text {i}")),
                Some(T),
                Some(T),
                deleted.then_some(T),
            ],
        )
        .await;
    }
    // The morbidity summary built as the app does in the background (else the reports read
    // the visits: `reports_morbidity_summary` compares the two).
    hms_core::reports::morbidity_summary::ensure(s).await.unwrap();
    Clinic { env, slot, admin }
}

fn local_date(instant: &str) -> NaiveDate {
    let ist = FixedOffset::east_opt(5 * 3600 + 30 * 60).unwrap();
    DateTime::parse_from_rfc3339(instant).unwrap().with_timezone(&ist).date_naive()
}

fn ymd(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// Age bands as the report's columns: 0–4, 5–14, 15–24, 25–44, 45–64, 65+, unknown (6).
fn band(birth: Option<&str>, on: NaiveDate) -> usize {
    let Some(b) = birth.map(ymd) else { return 6 };
    if b > on {
        return 6;
    }
    let mut age = on.year() - b.year();
    if (on.month(), on.day()) < (b.month(), b.day()) {
        age -= 1;
    }
    [0, 5, 15, 25, 45, 65].iter().rposition(|low| age >= *low).unwrap()
}

/// The chapters of the codes used here, written out by hand.
fn chapter(code: &str) -> &'static str {
    match &code[..1] {
        "E" => "IV (E00–E89)",
        "I" => "IX (I00–I99)",
        "J" => "X (J00–J99)",
        "M" => "XIII (M00–M99)",
        other => panic!("no chapter written for {other}"),
    }
}

/// The counted (person, code, first visit instant): coded, neither it nor its visit deleted,
/// on a March day in Kolkata; a merged record as its survivor.
fn counted() -> BTreeMap<(String, String), String> {
    let mut out: BTreeMap<(String, String), String> = BTreeMap::new();
    for (visit, code, deleted) in DIAGNOSES {
        let v = VISITS.iter().find(|v| v.0 == visit).unwrap();
        let d = local_date(v.3);
        let Some(code) = code else { continue };
        if deleted || v.4 || d < ymd("2026-03-01") || d > ymd("2026-03-31") {
            continue;
        }
        let p = PATIENTS.iter().find(|p| p.0 == v.1).unwrap();
        let person = p.3.unwrap_or(p.0).to_string();
        let e = out.entry((person, code.to_string())).or_insert_with(|| v.3.to_string());
        if v.3 < e.as_str() {
            *e = v.3.to_string();
        }
    }
    out
}

/// A row as the report should have it: people, 4 sexes, 7 age bands.
fn expected_row(people: &[(&str, &str)]) -> Vec<i64> {
    let mut row = vec![0i64; 12];
    for (person, first) in people {
        let p = PATIENTS.iter().find(|p| p.0 == *person).unwrap();
        row[0] += 1;
        row[1 + ["female", "male", "other", "unknown"].iter().position(|s| *s == p.1).unwrap()] += 1;
        row[5 + band(p.2, local_date(first))] += 1;
    }
    row
}

fn numbers(row: &[Cell]) -> Vec<i64> {
    row[2..]
        .iter()
        .map(|c| match c {
            Cell::Number(n) => *n,
            other => panic!("not a number: {other:?}"),
        })
        .collect()
}

fn label(row: &[Cell]) -> String {
    match &row[0] {
        Cell::Text(s) => s.clone(),
        other => panic!("not text: {other:?}"),
    }
}

async fn run(s: &Store, auth: &Authorized, report: ReportId, filters: Filters) -> reports::Report {
    let range = RangeInput::custom("2026-03-01", "2026-03-31");
    reports::run(s, auth, &ReportRequest { report, range, filters }).await.unwrap()
}

fn figure(r: &reports::Report, key: &str) -> i64 {
    r.table.figures.iter().find(|f| f.key == key).map(|f| f.value).unwrap()
}

#[tokio::test]
async fn diagnoses_by_code_count_each_person_once_per_code_by_sex_and_age_at_the_first_visit() {
    let c = clinic().await;
    let r = run(&c.env.store, &c.admin, ReportId::MorbidityByCode, Filters::default()).await;
    let counted = counted();
    let mut by_code: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for ((person, code), first) in &counted {
        by_code.entry(code).or_default().push((person, first));
    }
    let mut expected: Vec<(String, Vec<i64>)> =
        by_code.iter().map(|(code, people)| (code.to_string(), expected_row(people))).collect();
    expected.sort_by(|a, b| b.1[0].cmp(&a.1[0]).then_with(|| a.0.cmp(&b.0)));
    let got: Vec<(String, Vec<i64>)> = r.table.rows.iter().map(|row| (label(row), numbers(row))).collect();
    assert_eq!(got, expected);
    // J06.9: p2 (first on 14 March, aged 3) and p3 (no birth date); p1 and its duplicate once for E11.9.
    assert_eq!(got[0].0, "J06.9");
    assert_eq!(got[0].1[0], 2);
    let totals = numbers(r.table.totals.as_ref().unwrap());
    let mut sums = vec![0i64; 12];
    for (_, row) in &expected {
        for (s, n) in sums.iter_mut().zip(row) {
            *s += n;
        }
    }
    assert_eq!(totals, sums);
    let people: BTreeSet<&String> = counted.keys().map(|(p, _)| p).collect();
    assert_eq!(figure(&r, "people"), people.len() as i64);
    assert_eq!(figure(&r, "uncoded"), 1);
    assert_eq!(r.table.columns.len(), r.table.rows[0].len());
}

#[tokio::test]
async fn diagnoses_by_chapter_count_each_person_once_per_chapter() {
    let c = clinic().await;
    let r = run(&c.env.store, &c.admin, ReportId::MorbidityByChapter, Filters::default()).await;
    let mut firsts: BTreeMap<(&str, String), String> = BTreeMap::new();
    for ((person, code), first) in counted() {
        let e = firsts.entry((chapter(&code), person)).or_insert_with(|| first.clone());
        if first < *e {
            *e = first;
        }
    }
    let mut by_chapter: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
    for ((ch, person), first) in firsts {
        by_chapter.entry(ch).or_default().push((person, first));
    }
    let order = ["IV (E00–E89)", "IX (I00–I99)", "X (J00–J99)", "XIII (M00–M99)"];
    let mut expected: Vec<(String, Vec<i64>)> = by_chapter
        .iter()
        .map(|(ch, people)| {
            let refs: Vec<(&str, &str)> = people.iter().map(|(p, f)| (p.as_str(), f.as_str())).collect();
            (ch.to_string(), expected_row(&refs))
        })
        .collect();
    let pos = |ch: &str| order.iter().position(|o| *o == ch).unwrap();
    expected.sort_by(|a, b| b.1[0].cmp(&a.1[0]).then_with(|| pos(&a.0).cmp(&pos(&b.0))));
    let got: Vec<(String, Vec<i64>)> = r.table.rows.iter().map(|row| (label(row), numbers(row))).collect();
    assert_eq!(got, expected);
    // Chapter IX: p1 once for I10 (on 1 March) and its duplicate's I25.10 — aged 35 on 1 March.
    let ix = got.iter().find(|g| g.0 == "IX (I00–I99)").unwrap();
    assert_eq!(ix.1[0], 1);
    assert_eq!(ix.1[5 + 3], 1, "25–44 on 1 March");
}

#[tokio::test]
async fn morbidity_follows_the_doctor_and_department_filters() {
    let c = clinic().await;
    let s = &c.env.store;
    let by_doctor = Filters { doctor_id: Some("dr-b".into()), ..Default::default() };
    let by_dept = Filters { department_id: Some("ent".into()), ..Default::default() };
    // dr-b's live March visits: v3, v4 (p2) and v5 (p1's duplicate).
    let expected: Vec<(String, i64)> =
        vec![("E11.9".into(), 1), ("I25.10".into(), 1), ("J02.9".into(), 1), ("J06.9".into(), 1)];
    for f in [by_doctor, by_dept] {
        let r = run(s, &c.admin, ReportId::MorbidityByCode, f).await;
        let got: Vec<(String, i64)> = r.table.rows.iter().map(|row| (label(row), numbers(row)[0])).collect();
        assert_eq!(got, expected);
        assert_eq!(figure(&r, "uncoded"), 0);
    }
}

#[tokio::test]
async fn morbidity_is_for_every_reports_user_and_exports_like_the_others() {
    let c = clinic().await;
    let s = &c.env.store;
    let desk_slot = hms_core::SessionSlot::default();
    common::add_user(s, &c.slot, "desk.roy", &["receptionist"]).await;
    hms_core::auth::sign_in(s, &desk_slot, "desk.roy", common::STAFF_PW).await.unwrap();
    let desk = desk_slot.authorize(s).await.unwrap();
    assert!(reports::available(&desk).contains(&ReportId::MorbidityByCode));
    let r = run(s, &desk, ReportId::MorbidityByChapter, Filters::default()).await;
    assert!(!r.table.rows.is_empty());
    let req = ReportRequest {
        report: ReportId::MorbidityByCode,
        range: RangeInput::custom("2026-03-01", "2026-03-31"),
        filters: Filters::default(),
    };
    let out = reports::export::export(s, &c.admin, &req, reports::export::Format::Csv).await.unwrap();
    let text = String::from_utf8(out.bytes).unwrap();
    assert!(text.starts_with("ICD-10,Diagnosis,People,Female,Male,Other,Unknown,0–4,"), "{text}");
    assert!(text.contains("J06.9,"), "{text}");
}
