//! "Patients by district and city": every row against a count done here over records built
//! by hand (a clinic in Asia/Kolkata, March 2026): registrations one millisecond either side
//! of the clinic's midnight, one place spelled in two cases, blanks, merged duplicates and a
//! deleted row. Then its exports (CSV, .xlsx, PDF), who may run it, and the city and district
//! through the registration form's rules.

mod common;

use chrono::{DateTime, FixedOffset, NaiveDate};
use hms_core::patients::{self, PatientInput};
use hms_core::reports::export::{self, Format};
use hms_core::reports::table::percent_bp;
use hms_core::reports::{self, Cell, Filters, RangeInput, ReportId, ReportRequest};
use hms_core::{Authorized, Error, SessionSlot, Store, ValidationReason};
use std::collections::BTreeMap;

const T: &str = "2026-01-01T00:00:00.000Z";
const NOT_GIVEN: &str = "Not given";

/// A record as stored, and the district and city it must be counted under.
struct Rec {
    id: &'static str,
    created_at: &'static str,
    district: &'static str,
    city: &'static str,
    merged_into: Option<&'static str>,
    deleted: bool,
    /// (district, city) as the report must show them.
    shown: (&'static str, &'static str),
}

const fn rec(id: &'static str, created_at: &'static str, district: &'static str, city: &'static str) -> Rec {
    let shown =
        (if district.is_empty() { NOT_GIVEN } else { district }, if city.is_empty() { NOT_GIVEN } else { city });
    Rec { id, created_at, district, city, merged_into: None, deleted: false, shown }
}

fn records() -> Vec<Rec> {
    vec![
        // 23:59:59 on 28 February in Kolkata: before the range.
        rec("a", "2026-02-28T18:29:59.000Z", "Pune", "Pune"),
        // Midnight of 1 March in Kolkata: the range's first instant.
        rec("b", "2026-02-28T18:30:00.000Z", "Pune", "Pune"),
        // The same place typed in lower case: counted with it, under the usual spelling.
        Rec { shown: ("Pune", "Pune"), ..rec("c", "2026-03-05T05:00:00.000Z", "pune", "pune") },
        rec("d", "2026-03-06T05:00:00.000Z", "Pune", "Pune"),
        rec("e", "2026-03-07T05:00:00.000Z", "Pune", "Pimpri-Chinchwad"),
        rec("f", "2026-03-08T05:00:00.000Z", "Bengaluru Urban", ""),
        rec("g", "2026-03-09T05:00:00.000Z", "", "Hoskote"),
        rec("h", "2026-03-10T05:00:00.000Z", "", ""),
        // A duplicate of h, merged into it: h is counted once.
        Rec { merged_into: Some("h"), ..rec("i", "2026-03-11T05:00:00.000Z", "", "") },
        Rec { deleted: true, ..rec("j", "2026-03-12T05:00:00.000Z", "Bengaluru Urban", "Bengaluru") },
        // 23:59:59.999 on 31 March in Kolkata: the range's last instant.
        rec("k", "2026-03-31T18:29:59.999Z", "Bengaluru Urban", "Bengaluru"),
        // Midnight of 1 April: after the range.
        rec("l", "2026-03-31T18:30:00.000Z", "Bengaluru Urban", "Bengaluru"),
        // A duplicate of k registered elsewhere, merged into k: k counts under its own place.
        Rec { merged_into: Some("k"), ..rec("m", "2026-03-15T05:00:00.000Z", "Mysuru", "Mysuru") },
    ]
}

fn local_date(instant: &str) -> NaiveDate {
    let ist = FixedOffset::east_opt(5 * 3600 + 30 * 60).unwrap();
    DateTime::parse_from_rfc3339(instant).unwrap().with_timezone(&ist).date_naive()
}

fn counted(r: &Rec) -> bool {
    let day = local_date(r.created_at);
    let march = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()..=NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
    march.contains(&day) && r.merged_into.is_none() && !r.deleted
}

/// The rows the report must give: (district, city, registered), districts by name then
/// cities by name, "Not given" last in each.
fn expected() -> Vec<(String, String, i64)> {
    let mut groups: BTreeMap<(String, String), i64> = BTreeMap::new();
    for r in records().iter().filter(|r| counted(r)) {
        *groups.entry((r.shown.0.to_string(), r.shown.1.to_string())).or_default() += 1;
    }
    let mut rows: Vec<(String, String, i64)> = groups.into_iter().map(|((d, c), n)| (d, c, n)).collect();
    let order = |s: &str| (s == NOT_GIVEN, s.to_lowercase());
    rows.sort_by_key(|r| (order(&r.0), order(&r.1)));
    rows
}

async fn exec(s: &Store, sql: &str, args: &[Option<&str>]) {
    let mut q = sqlx::query(sql);
    for a in args {
        q = q.bind(*a);
    }
    q.execute(s.pool()).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn sign_in(s: &Store, name: &str) -> Authorized {
    let slot = SessionSlot::default();
    hms_core::auth::sign_in(s, &slot, name, common::STAFF_PW).await.unwrap();
    slot.authorize(s).await.unwrap()
}

struct Clinic {
    env: common::Env,
    admin: Authorized,
}

async fn clinic() -> Clinic {
    let (env, admin_slot) = common::with_admin().await;
    let s = &env.store;
    let admin = admin_slot.authorize(s).await.unwrap();
    common::add_user(s, &admin_slot, "desk.roy", &["receptionist"]).await;
    common::add_user(s, &admin_slot, "n.joseph", &["nurse"]).await;
    exec(s, "INSERT INTO settings (key, value, created_at, updated_at, origin_device) VALUES ('time_zone', '\"Asia/Kolkata\"', ?, ?, 'd')", &[Some(T), Some(T)]).await;
    for (i, r) in records().iter().enumerate() {
        let mrn = format!("MRN{i}");
        let status = if r.merged_into.is_some() { "merged" } else { "active" };
        exec(
            s,
            "INSERT INTO patients (id, mrn, given_name, sex, status, merged_into, district, city, created_at, updated_at, origin_device, deleted_at)
             VALUES (?, ?, 'X', 'unknown', ?, ?, ?, ?, ?, ?, 'd', ?)",
            &[
                Some(r.id),
                Some(&mrn),
                Some(status),
                r.merged_into,
                Some(r.district),
                Some(r.city),
                Some(r.created_at),
                Some(T),
                r.deleted.then_some(T),
            ],
        )
        .await;
    }
    Clinic { env, admin }
}

fn request() -> ReportRequest {
    ReportRequest {
        report: ReportId::PatientsByPlace,
        range: RangeInput::custom("2026-03-01", "2026-03-31"),
        filters: Filters::default(),
    }
}

fn n(c: &Cell) -> i64 {
    match c {
        Cell::Number(n) => *n,
        other => panic!("not a number: {other:?}"),
    }
}

fn t(c: &Cell) -> &str {
    match c {
        Cell::Text(s) => s,
        other => panic!("not text: {other:?}"),
    }
}

#[tokio::test]
async fn registrations_are_counted_by_district_then_city_merged_duplicates_once_blanks_as_not_given() {
    let c = clinic().await;
    let r = reports::run(&c.env.store, &c.admin, &request()).await.unwrap();
    assert_eq!(r.title, "Patients by district and city");
    assert!(r.counts.contains("merged duplicates left out") && r.counts.contains("Not given"), "{}", r.counts);
    assert_eq!((r.from.as_str(), r.to.as_str()), ("2026-03-01", "2026-03-31"));
    let keys: Vec<&str> = r.table.columns.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, ["district", "city", "registered", "share"]);

    let want = expected();
    let total: i64 = want.iter().map(|(_, _, n)| n).sum();
    assert_eq!(total, 8, "the hand-built records: b c d e f g h k");
    let got: Vec<(String, String, i64, i64)> =
        r.table.rows.iter().map(|row| (t(&row[0]).into(), t(&row[1]).into(), n(&row[2]), n(&row[3]))).collect();
    let want_rows: Vec<(String, String, i64, i64)> =
        want.iter().map(|(d, c, k)| (d.clone(), c.clone(), *k, percent_bp(*k, total).unwrap())).collect();
    assert_eq!(got, want_rows);
    assert_eq!(
        got.iter().map(|(d, c, k, _)| format!("{d}/{c}/{k}")).collect::<Vec<_>>(),
        [
            "Bengaluru Urban/Bengaluru/1",
            "Bengaluru Urban/Not given/1",
            "Pune/Pimpri-Chinchwad/1",
            "Pune/Pune/3",
            "Not given/Hoskote/1",
            "Not given/Not given/1"
        ],
        "the order: districts, then cities, by name; not given last"
    );
    let totals = r.table.totals.as_ref().unwrap();
    assert_eq!((t(&totals[0]), n(&totals[2]), n(&totals[3])), ("Total", total, 10_000));
    let figure = |key: &str| r.table.figures.iter().find(|f| f.key == key).map(|f| f.value);
    let districts: std::collections::BTreeSet<&str> =
        records().iter().filter(|r| counted(r) && !r.district.is_empty()).map(|r| r.shown.0).collect();
    assert_eq!(figure("districts"), Some(districts.len() as i64));
    let nowhere = records().iter().filter(|r| counted(r) && r.district.is_empty() && r.city.is_empty()).count();
    assert_eq!(figure("place_not_given"), Some(nowhere as i64));

    // A range with nobody registered: no rows, a total of 0.
    let empty = ReportRequest { range: RangeInput::custom("2025-03-01", "2025-03-31"), ..request() };
    let r = reports::run(&c.env.store, &c.admin, &empty).await.unwrap();
    assert!(r.table.rows.is_empty());
    assert_eq!(n(&r.table.totals.unwrap()[2]), 0);
}

#[tokio::test]
async fn the_desk_may_run_it_a_nurse_may_not_and_a_bad_range_names_its_field() {
    let c = clinic().await;
    let s = &c.env.store;
    let desk = sign_in(s, "desk.roy").await;
    assert!(reports::available(&desk).contains(&ReportId::PatientsByPlace));
    assert_eq!(reports::run(s, &desk, &request()).await.unwrap().table.rows.len(), expected().len());
    let nurse = sign_in(s, "n.joseph").await;
    assert!(matches!(reports::run(s, &nurse, &request()).await, Err(Error::Forbidden { .. })));
    let backwards = ReportRequest { range: RangeInput::custom("2026-03-31", "2026-03-01"), ..request() };
    match reports::run(s, &c.admin, &backwards).await {
        Err(Error::Validation { field, .. }) => assert_eq!(field, "to"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn its_csv_xlsx_and_pdf_hold_the_same_table() {
    use calamine::{Data, Reader, Xlsx};
    let c = clinic().await;
    let s = &c.env.store;
    let want = expected();

    let out = export::export(s, &c.admin, &request(), Format::Csv).await.unwrap();
    assert_eq!(out.file_name, "patients_by_place_2026-03-01_2026-03-31.csv");
    let mut rd = csv::Reader::from_reader(out.bytes.as_slice());
    assert_eq!(rd.headers().unwrap().iter().collect::<Vec<_>>(), ["District", "City", "Registered", "Share"]);
    let records: Vec<Vec<String>> = rd.records().map(|r| r.unwrap().iter().map(String::from).collect()).collect();
    assert_eq!(records.len(), want.len() + 1, "the rows and the totals row");
    for (row, (d, city, k)) in records.iter().zip(&want) {
        assert_eq!((row[0].as_str(), row[1].as_str(), row[2].parse::<i64>().unwrap()), (d.as_str(), city.as_str(), *k));
    }
    assert_eq!(records[want.len()][2], "8");

    let out = export::export(s, &c.admin, &request(), Format::Xlsx).await.unwrap();
    let mut book = Xlsx::new(std::io::Cursor::new(out.bytes)).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let head = export::XLSX_HEADER_ROW;
    for (i, (d, city, k)) in want.iter().enumerate() {
        let row = head + 1 + i as u32;
        assert_eq!(sheet.get_value((row, 0)), Some(&Data::String(d.clone())));
        assert_eq!(sheet.get_value((row, 1)), Some(&Data::String(city.clone())));
        assert_eq!(sheet.get_value((row, 2)), Some(&Data::Float(*k as f64)));
    }

    let out = export::export(s, &c.admin, &request(), Format::Pdf).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("places.pdf");
    std::fs::write(&path, &out.bytes).unwrap();
    let text = std::process::Command::new("pdftotext")
        .args(["-layout"])
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils): make deps installs it");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("Patients by district and city"), "{text}");
    assert!(text.contains("2026-03-01 to 2026-03-31"), "{text}");
    for (d, city, k) in &want {
        let line =
            text.lines().find(|l| l.contains(d.as_str()) && l.contains(city.as_str()) && l.contains(&format!(" {k} ")));
        assert!(line.is_some(), "{d} / {city}: {k} in\n{text}");
    }
    assert!(text.lines().any(|l| l.trim_start().starts_with("Total") && l.contains(" 8 ")), "{text}");
    let exports = common::actions(s).await.into_iter().filter(|a| a == "report.export").count();
    assert_eq!(exports, 3, "every export is audited");
}

#[tokio::test]
async fn the_city_and_district_are_trimmed_limited_and_kept_through_an_edit() {
    let c = clinic().await;
    let s = &c.env.store;
    let input = PatientInput {
        given_name: "Kavya".into(),
        sex: "female".into(),
        city: "  Mysuru \t".into(),
        district: " Mysuru  ".into(),
        ..Default::default()
    };
    let p = patients::register(s, &c.admin, input.clone()).await.unwrap();
    assert_eq!((p.city.as_str(), p.district.as_str()), ("Mysuru", "Mysuru"));
    let before = common::count(s, "patients").await;
    for (field, bad) in [
        ("city", PatientInput { city: "x".repeat(81), ..input.clone() }),
        ("district", PatientInput { district: "d".repeat(81), ..input.clone() }),
        ("city", PatientInput { city: "Pune\u{7}".into(), ..input.clone() }),
    ] {
        match patients::register(s, &c.admin, bad.clone()).await {
            Err(Error::Validation { field: f, reason, .. }) => {
                assert_eq!(f, field);
                assert!(matches!(reason, ValidationReason::TooLong | ValidationReason::Invalid));
            }
            other => panic!("{field}: {other:?}"),
        }
        match patients::update(s, &c.admin, &p.id, bad).await {
            Err(Error::Validation { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert_eq!(common::count(s, "patients").await, before, "nothing written");
    let moved = PatientInput { city: "Hoskote".into(), district: "Bengaluru Rural".into(), ..input };
    let q = patients::update(s, &c.admin, &p.id, moved).await.unwrap();
    assert_eq!((q.city.as_str(), q.district.as_str()), ("Hoskote", "Bengaluru Rural"));
    let again = patients::open(s, &c.admin, &p.id).await.unwrap();
    assert_eq!((again.city.as_str(), again.district.as_str()), ("Hoskote", "Bengaluru Rural"));
    // The change the device syncs carries the new values.
    let change: String = sqlx::query_scalar(
        "SELECT data FROM change_log WHERE entity = 'patients' AND entity_id = ? ORDER BY seq DESC LIMIT 1",
    )
    .bind(&p.id)
    .fetch_one(s.pool())
    .await
    .unwrap();
    let change: serde_json::Value = serde_json::from_str(&change).unwrap();
    assert_eq!((change["city"].as_str(), change["district"].as_str()), (Some("Hoskote"), Some("Bengaluru Rural")));
}
