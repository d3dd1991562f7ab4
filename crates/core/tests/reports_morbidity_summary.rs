//! The morbidity summary (migration 0050) against counts done here: random clinics (a seeded
//! generator) of people, merged duplicates, visits spread over three months around a
//! daylight-saving change with many near the clinic's midnight, birthdays on band edges, codes
//! in four chapters, one outside them and free text; then every figure of both morbidity
//! reports over many ranges (whole months, ranges starting inside a month, single days)
//! compared with an independent count, with the same report read from the visits (filtered by
//! the one department every doctor is in) and with the summary's recount. Then the records are
//! changed in SQL — merges, a birth date and a sex, deleted and restored diagnoses and visits,
//! a visit moved in time and a diagnosis to another visit, codes changed, rows deleted — and
//! the clinic's time zone changed, comparing after each step. The summary is built a few
//! people per write, with diagnoses written between its writes.

mod common;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use hms_core::reports::{self, morbidity_summary, summary, Cell, Filters, RangeInput, ReportId, ReportRequest};
use hms_core::{Authorized, Store};
use std::collections::{BTreeMap, BTreeSet};

const T: &str = "2026-01-01T00:00:00.000Z";

/// (code, chapter label as the report writes it)
const CODES: [(&str, &str); 7] = [
    ("E11.9", "IV (E00–E89)"),
    ("E78.5", "IV (E00–E89)"),
    ("I10", "IX (I00–I99)"),
    ("J06.9", "X (J00–J99)"),
    ("J02.9", "X (J00–J99)"),
    ("M54.5", "XIII (M00–M99)"),
    ("ZZ1", "—"),
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Clone)]
struct Person {
    id: String,
    sex: &'static str,
    birth: Option<String>,
    merged: Option<usize>,
}

#[derive(Clone)]
struct Visit {
    id: String,
    patient: usize,
    at: String,
    deleted: bool,
}

#[derive(Clone)]
struct Dx {
    id: String,
    visit: usize,
    code: Option<String>,
    deleted: bool,
}

struct World {
    people: Vec<Person>,
    visits: Vec<Visit>,
    dxs: Vec<Dx>,
}

fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn ymd(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// Three months around London's clocks going forward (29 March 2026).
fn world(seed: u64) -> World {
    let mut r = Rng(seed);
    let mut people = Vec::new();
    for i in 0..30 {
        let sex = ["female", "male", "other", "unknown"][r.below(4) as usize];
        // Birthdays on the edges of the bands inside the window, ordinary ones, none, a
        // future one and one SQLite's calendar does not hold.
        let birth = match r.below(10) {
            0 => None,
            1 => Some("2031-01-01".to_string()),
            2 => Some("2020-02-30".to_string()),
            3 => Some(format!("{}-03-29", 2026 - [5, 15, 25, 45, 65][r.below(5) as usize])),
            4 => Some(format!("{}-04-01", 2026 - [5, 15, 25, 45, 65][r.below(5) as usize])),
            5 => Some("2008-02-29".to_string()),
            _ => Some(format!("{}-{:02}-{:02}", 1940 + r.below(85), 1 + r.below(12), 1 + r.below(28))),
        };
        people.push(Person { id: format!("p{i:02}"), sex, birth, merged: None });
    }
    // Five duplicates merged into survivors that are not merged themselves.
    for p in &mut people[25..] {
        p.merged = Some(r.below(25) as usize);
    }
    let start = Utc.with_ymd_and_hms(2026, 2, 14, 0, 0, 0).unwrap();
    let mut visits = Vec::new();
    for i in 0..140 {
        let day = r.below(92) as i64;
        // Half of them within an hour of midnight in London or Kolkata.
        let minutes = match r.below(4) {
            0 => r.below(60) as i64 - 30,
            1 => 18 * 60 + r.below(60) as i64,
            _ => r.below(24 * 60) as i64,
        };
        let ms = r.below(2) as i64 * 999;
        let at = start + Duration::days(day) + Duration::minutes(minutes) + Duration::milliseconds(ms);
        visits.push(Visit {
            id: format!("v{i:03}"),
            patient: r.below(30) as usize,
            at: instant(at),
            deleted: r.below(15) == 0,
        });
    }
    let mut dxs = Vec::new();
    for i in 0..260 {
        let code = match r.below(9) {
            0 => None,
            k => Some(CODES[(k as usize - 1) % CODES.len()].0.to_string()),
        };
        dxs.push(Dx { id: format!("d{i:03}"), visit: r.below(140) as usize, code, deleted: r.below(12) == 0 });
    }
    World { people, visits, dxs }
}

async fn exec(s: &Store, sql: &str, args: &[Option<String>]) {
    let mut q = sqlx::query(sql);
    for a in args {
        q = q.bind(a.clone());
    }
    q.execute(s.pool()).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn some(s: &str) -> Option<String> {
    Some(s.to_string())
}

async fn set_zone(s: &Store, zone: &str) {
    exec(
        s,
        "INSERT INTO settings (key, value, created_at, updated_at, origin_device) VALUES ('time_zone', ?, ?, ?, 'd')
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[Some(format!("\"{zone}\"")), some(T), some(T)],
    )
    .await;
}

async fn insert_people(s: &Store, w: &World) {
    exec(s, "INSERT INTO departments (id, name, created_at, updated_at, origin_device) VALUES ('all', 'General', ?, ?, 'd')", &[some(T), some(T)]).await;
    for id in ["dr-a", "dr-b"] {
        exec(
            s,
            "INSERT INTO staff (id, full_name, role, department_id, created_at, updated_at, origin_device) VALUES (?, 'Dr', 'doctor', 'all', ?, ?, 'd')",
            &[some(id), some(T), some(T)],
        )
        .await;
    }
    for (i, p) in w.people.iter().enumerate() {
        let merged = p.merged.map(|m| w.people[m].id.clone());
        let status = if merged.is_some() { "merged" } else { "active" };
        exec(
            s,
            "INSERT INTO patients (id, mrn, given_name, sex, birth_date, status, merged_into, created_at, updated_at, origin_device) VALUES (?, ?, 'X', ?, ?, ?, ?, ?, ?, 'd')",
            &[some(&p.id), Some(format!("MRN{i}")), some(p.sex), p.birth.clone(), some(status), merged, some(T), some(T)],
        )
        .await;
    }
}

async fn insert_visit(s: &Store, w: &World, i: usize) {
    let v = &w.visits[i];
    let doctor = if i.is_multiple_of(2) { "dr-a" } else { "dr-b" };
    exec(
        s,
        "INSERT INTO visits (id, patient_id, doctor_id, started_at, created_at, updated_at, origin_device, deleted_at) VALUES (?, ?, ?, ?, ?, ?, 'd', ?)",
        &[some(&v.id), some(&w.people[v.patient].id), some(doctor), some(&v.at), some(T), some(T), v.deleted.then(|| T.to_string())],
    )
    .await;
}

fn text_of(code: &Option<String>) -> String {
    format!("about {}", code.as_deref().unwrap_or("something"))
}

async fn insert_dx(s: &Store, w: &World, i: usize) {
    let d = &w.dxs[i];
    let v = &w.visits[d.visit];
    exec(
        s,
        "INSERT INTO diagnoses (id, visit_id, patient_id, icd10, text, certainty, created_at, updated_at, origin_device, deleted_at) VALUES (?, ?, ?, ?, ?, 'final', ?, ?, 'd', ?)",
        &[some(&d.id), some(&v.id), some(&w.people[v.patient].id), d.code.clone(), Some(text_of(&d.code)), some(T), some(T), d.deleted.then(|| T.to_string())],
    )
    .await;
}

/// Age bands as the report's columns: 0–4, 5–14, 15–24, 25–44, 45–64, 65+, unknown (6).
fn band(birth: Option<&str>, on: NaiveDate) -> usize {
    let Some(b) = birth.and_then(|b| NaiveDate::parse_from_str(b, "%Y-%m-%d").ok()) else { return 6 };
    if b > on {
        return 6;
    }
    let mut age = on.year() - b.year();
    if (on.month(), on.day()) < (b.month(), b.day()) {
        age -= 1;
    }
    [0, 5, 15, 25, 45, 65].iter().rposition(|low| age >= *low).unwrap()
}

/// The rows both reports should have, by their label (people, 4 sexes, 7 bands), the people
/// diagnosed and the uncoded diagnoses.
struct Expected {
    codes: BTreeMap<String, Vec<i64>>,
    chapters: BTreeMap<String, Vec<i64>>,
    people: i64,
    uncoded: i64,
}

fn expected(w: &World, tz: Tz, from: NaiveDate, to: NaiveDate) -> Expected {
    let local = |at: &str| DateTime::parse_from_rfc3339(at).unwrap().with_timezone(&tz).date_naive();
    // (person, code or chapter) → the first (instant, diagnosis) in the range.
    let mut by_code: BTreeMap<(usize, String), (String, String)> = BTreeMap::new();
    let mut by_chapter: BTreeMap<(usize, String), (String, String)> = BTreeMap::new();
    let mut people = BTreeSet::new();
    let mut uncoded = 0;
    for d in &w.dxs {
        let v = &w.visits[d.visit];
        let day = local(&v.at);
        if d.deleted || v.deleted || day < from || day > to {
            continue;
        }
        let person = w.people[v.patient].merged.unwrap_or(v.patient);
        let Some(code) = &d.code else {
            uncoded += 1;
            continue;
        };
        people.insert(person);
        let chapter = CODES.iter().find(|c| c.0 == code).unwrap().1.to_string();
        for (map, key) in [(&mut by_code, code.clone()), (&mut by_chapter, chapter)] {
            let e = map.entry((person, key)).or_insert_with(|| (v.at.clone(), d.id.clone()));
            if (v.at.as_str(), d.id.as_str()) < (e.0.as_str(), e.1.as_str()) {
                *e = (v.at.clone(), d.id.clone());
            }
        }
    }
    let rows = |map: BTreeMap<(usize, String), (String, String)>| {
        let mut out: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for ((person, key), (at, _)) in map {
            let p = &w.people[person];
            let row = out.entry(key).or_insert_with(|| vec![0; 12]);
            row[0] += 1;
            row[1 + ["female", "male", "other", "unknown"].iter().position(|s| *s == p.sex).unwrap()] += 1;
            row[5 + band(p.birth.as_deref(), local(&at))] += 1;
        }
        out
    };
    Expected { codes: rows(by_code), chapters: rows(by_chapter), people: people.len() as i64, uncoded }
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

fn text(c: &Cell) -> String {
    match c {
        Cell::Text(s) => s.clone(),
        other => panic!("not text: {other:?}"),
    }
}

async fn run(
    s: &Store,
    auth: &Authorized,
    report: ReportId,
    from: NaiveDate,
    to: NaiveDate,
    dept: bool,
) -> reports::Report {
    let range = RangeInput::custom(&from.to_string(), &to.to_string());
    let filters = Filters { department_id: dept.then(|| "all".to_string()), ..Default::default() };
    reports::run(s, auth, &ReportRequest { report, range, filters }).await.unwrap()
}

fn figure(r: &reports::Report, key: &str) -> i64 {
    r.table.figures.iter().find(|f| f.key == key).unwrap().value
}

/// Both reports over every range of `ranges` against the count, and against the same report
/// read from the visits.
async fn compare(s: &Store, auth: &Authorized, w: &World, tz: Tz, step: &str) {
    assert!(morbidity_summary::is_built(s).await.unwrap(), "{step}: the summary is built");
    let diff = summary::verify(s).await.unwrap();
    assert!(diff.is_empty(), "{step}: the summaries differ from a recount: {diff:?}");
    let days = [
        "2026-02-14",
        "2026-02-28",
        "2026-03-01",
        "2026-03-15",
        "2026-03-29",
        "2026-03-30",
        "2026-04-01",
        "2026-04-17",
        "2026-05-16",
    ];
    for (i, f) in days.iter().enumerate() {
        for t in &days[i..] {
            let (from, to) = (ymd(f), ymd(t));
            let want = expected(w, tz, from, to);
            for (report, rows) in
                [(ReportId::MorbidityByCode, &want.codes), (ReportId::MorbidityByChapter, &want.chapters)]
            {
                let got = run(s, auth, report, from, to, false).await;
                let what = format!("{step}: {report:?} {from}..{to}");
                let got_rows: BTreeMap<String, Vec<i64>> =
                    got.table.rows.iter().map(|r| (text(&r[0]), numbers(r))).collect();
                assert_eq!(&got_rows, rows, "{what}");
                assert_eq!(figure(&got, "people"), want.people, "{what}: people");
                assert_eq!(figure(&got, "uncoded"), want.uncoded, "{what}: uncoded");
                if report == ReportId::MorbidityByCode {
                    for r in &got.table.rows {
                        assert_eq!(text(&r[1]), text_of(&Some(text(&r[0]))), "{what}: description");
                    }
                }
                let from_visits = run(s, auth, report, from, to, true).await;
                assert_eq!(from_visits.table, got.table, "{what}: the summary against the visits");
            }
        }
    }
}

async fn set(s: &Store, sql: &str, args: &[Option<String>]) {
    exec(s, sql, args).await;
}

#[tokio::test]
async fn the_summary_counts_each_person_once_per_code_and_chapter_through_every_change() {
    for seed in [0x9E37_79B9_7F4A_7C15u64, 0xD1B5_4A32_D192_ED03] {
        let (env, slot) = common::with_admin().await;
        let s = &env.store;
        let auth = slot.authorize(s).await.unwrap();
        let london: Tz = "Europe/London".parse().unwrap();
        set_zone(s, "Europe/London").await;
        let mut w = world(seed);
        insert_people(s, &w).await;
        // Half the diagnoses written before the summary is built.
        for i in 0..w.visits.len() {
            insert_visit(s, &w, i).await;
        }
        for i in 0..w.dxs.len() / 2 {
            insert_dx(s, &w, i).await;
        }
        let rows = |s: &Store| {
            let pool = s.pool().clone();
            async move { sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM report_dx").fetch_one(&pool).await.unwrap() }
        };
        assert_eq!(rows(s).await, 0, "nothing is summarised before the clinic's offsets are written");
        // The build, 7 people per write: its start, then two writes (14 people).
        for _ in 0..3 {
            assert!(!morbidity_summary::build_step(s, 7).await.unwrap());
        }
        let counted = rows(s).await;
        assert!(counted > 0, "the first people are counted");
        // Meanwhile the reports read the visits: the same figures.
        assert!(!morbidity_summary::is_built(s).await.unwrap());
        let first_half =
            World { people: w.people.clone(), visits: w.visits.clone(), dxs: w.dxs[..w.dxs.len() / 2].to_vec() };
        let (from, to) = (ymd("2026-02-14"), ymd("2026-05-16"));
        let want = expected(&first_half, london, from, to);
        let got = run(s, &auth, ReportId::MorbidityByCode, from, to, false).await;
        let got_rows: BTreeMap<String, Vec<i64>> = got.table.rows.iter().map(|r| (text(&r[0]), numbers(r))).collect();
        assert_eq!(got_rows, want.codes, "during the build");
        // A quarter written while the build goes on, through the triggers.
        let (half, quarter) = (w.dxs.len() / 2, w.dxs.len() * 3 / 4);
        for i in half..quarter {
            insert_dx(s, &w, i).await;
        }
        let mut steps = 0;
        while !morbidity_summary::build_step(s, 7).await.unwrap() {
            steps += 1;
        }
        assert_eq!(steps, 2, "30 records, 7 per write: the last write finds no more");
        let part = World { people: w.people.clone(), visits: w.visits.clone(), dxs: w.dxs[..quarter].to_vec() };
        compare(s, &auth, &part, london, "built").await;
        // The last quarter through the triggers.
        for i in quarter..w.dxs.len() {
            insert_dx(s, &w, i).await;
        }
        compare(s, &auth, &w, london, "written after").await;

        // A merge (a survivor with diagnoses becomes another's duplicate's survivor), an unmerge.
        w.people[3].merged = Some(4);
        set(s, "UPDATE patients SET merged_into = 'p04', status = 'merged' WHERE id = 'p03'", &[]).await;
        let undone = w.people[25].merged.take();
        assert!(undone.is_some());
        set(s, "UPDATE patients SET merged_into = NULL, status = 'active' WHERE id = 'p25'", &[]).await;
        compare(s, &auth, &w, london, "merged and unmerged").await;

        // A survivor's birth date onto a band's edge and a sex changed.
        w.people[4].birth = Some("2021-03-30".into());
        w.people[4].sex = "other";
        set(s, "UPDATE patients SET birth_date = '2021-03-30', sex = 'other' WHERE id = 'p04'", &[]).await;
        // A diagnosis deleted, one restored; a visit deleted, one restored.
        let live = w.dxs.iter().position(|d| !d.deleted && d.code.is_some()).unwrap();
        let dead = w.dxs.iter().position(|d| d.deleted).unwrap();
        w.dxs[live].deleted = true;
        w.dxs[dead].deleted = false;
        set(s, "UPDATE diagnoses SET deleted_at = ? WHERE id = ?", &[some(T), some(&w.dxs[live].id)]).await;
        set(s, "UPDATE diagnoses SET deleted_at = NULL WHERE id = ?", &[some(&w.dxs[dead].id)]).await;
        let live_v = w.visits.iter().position(|v| !v.deleted).unwrap();
        w.visits[live_v].deleted = true;
        set(s, "UPDATE visits SET deleted_at = ? WHERE id = ?", &[some(T), some(&w.visits[live_v].id)]).await;
        if let Some(dead_v) = w.visits.iter().position(|v| v.deleted && v.id != w.visits[live_v].id) {
            w.visits[dead_v].deleted = false;
            set(s, "UPDATE visits SET deleted_at = NULL WHERE id = ?", &[some(&w.visits[dead_v].id)]).await;
        }
        compare(s, &auth, &w, london, "deleted and restored").await;

        // A visit moved across the clocks' change and a midnight; a diagnosis to another
        // patient's visit; codes changed (to free text, from free text, to another chapter).
        w.visits[7].at = "2026-03-28T23:59:59.999Z".into();
        set(s, "UPDATE visits SET started_at = ? WHERE id = ?", &[some(&w.visits[7].at), some(&w.visits[7].id)]).await;
        w.visits[8].patient = 2;
        set(s, "UPDATE visits SET patient_id = 'p02' WHERE id = ?", &[some(&w.visits[8].id)]).await;
        w.dxs[10].visit = 11;
        set(s, "UPDATE diagnoses SET visit_id = ? WHERE id = ?", &[some(&w.visits[11].id), some(&w.dxs[10].id)]).await;
        for (i, code) in [(20, None), (21, Some("I10")), (22, Some("M54.5"))] {
            w.dxs[i].code = code.map(str::to_string);
            set(
                s,
                "UPDATE diagnoses SET icd10 = ?, text = ? WHERE id = ?",
                &[w.dxs[i].code.clone(), Some(text_of(&w.dxs[i].code)), some(&w.dxs[i].id)],
            )
            .await;
        }
        compare(s, &auth, &w, london, "moved and recoded").await;

        // Rows deleted outright.
        let gone = w.dxs.remove(30);
        set(s, "DELETE FROM diagnoses WHERE id = ?", &[some(&gone.id)]).await;
        let v = w.dxs[40].visit;
        let ids: Vec<String> = w.dxs.iter().filter(|d| d.visit == v).map(|d| d.id.clone()).collect();
        w.dxs.retain(|d| d.visit != v);
        for id in ids {
            set(s, "DELETE FROM diagnoses WHERE id = ?", &[some(&id)]).await;
        }
        w.visits[v].deleted = true; // no diagnoses left: how it counts no longer matters
        set(s, "DELETE FROM visits WHERE id = ?", &[some(&w.visits[v].id)]).await;
        compare(s, &auth, &w, london, "deleted outright").await;

        // The clinic moves to Kolkata's time: the summary is built again.
        set_zone(s, "Asia/Kolkata").await;
        assert!(!morbidity_summary::is_built(s).await.unwrap(), "built for London's offsets");
        morbidity_summary::ensure(s).await.unwrap();
        compare(s, &auth, &w, chrono_tz::Asia::Kolkata, "another time zone").await;
    }
}
