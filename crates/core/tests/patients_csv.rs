//! CSV import (mapping, preview, rejected rows, nothing half-saved), export, and the ID card.

mod common;

use hms_core::patients::csv_io::{self, ColumnMap, ImportField, ImportProgress, Mapping};
use hms_core::patients::{self, PatientInput};
use hms_core::{Error, SessionSlot, ValidationReason};
use std::sync::Mutex;

const LEGACY: &str = "\u{feff}Full Name,Gender,DOB,Mobile No,Aadhaar,Allergies,UHID,Favourite colour
Ravi Kumar Sharma,M,02/04/1980,98450 12345,1234 5678 9012,Penicillin; Latex,OLD-1,blue
Zoë Núñez,F,1991-12-24,+34 612 345 678,,,OLD-2,green
,F,1990-01-01,9845000000,,,OLD-3,red
Meena Iyer,F,31/02/1990,9845000001,,,OLD-4,red
Arjun Rao,M,,12ab,,,OLD-5,
Gita Das,female,,,,,OLD-1,
Imran Khan,x,01.01.2001,,,,,
";

async fn admin() -> (common::Env, SessionSlot) {
    common::with_admin().await
}

#[tokio::test]
async fn preview_suggests_a_mapping_and_lists_every_rejected_row_without_writing() {
    let (env, slot) = admin().await;
    let auth = slot.authorize(&env.store).await.unwrap();
    let before = common::counts(&env.store).await;
    let p = csv_io::preview(&env.store, &auth, LEGACY.as_bytes(), None).await.unwrap();
    assert_eq!(p.headers[0], "Full Name", "the BOM is dropped");
    let fields: Vec<ImportField> = p.mapping.columns.iter().map(|c| c.field).collect();
    use ImportField::*;
    assert_eq!(fields, vec![FullName, Sex, BirthDate, Phone, NationalId, Allergies, LegacyMrn, Ignore]);
    assert_eq!((p.total_rows, p.valid_rows, p.rejected_count), (7, 3, 4));
    let why: Vec<(u32, &str, Option<&str>)> =
        p.rejected.iter().map(|r| (r.row, r.field.as_str(), r.column.as_deref())).collect();
    assert_eq!(
        why,
        vec![
            (4, "given_name", Some("Full Name")),
            (5, "birth_date", Some("DOB")),
            (6, "phones.0", Some("Mobile No")),
            (7, "legacy_mrn", Some("UHID")),
        ]
    );
    assert_eq!(p.rejected[3].reason, ValidationReason::Taken);
    assert_eq!(p.sample.len(), 7);
    assert_eq!(common::counts(&env.store).await, before, "a preview writes nothing");
}

#[tokio::test]
async fn import_saves_the_valid_rows_reports_the_rest_and_the_old_number_finds_them() {
    let (env, slot) = admin().await;
    let auth = slot.authorize(&env.store).await.unwrap();
    let mapping = csv_io::preview(&env.store, &auth, LEGACY.as_bytes(), None).await.unwrap().mapping;
    let seen = Mutex::new(Vec::<ImportProgress>::new());
    let report =
        csv_io::import(&env.store, &auth, LEGACY.as_bytes(), mapping.clone(), |p| seen.lock().unwrap().push(p))
            .await
            .unwrap();
    assert_eq!(report.imported, 3);
    assert_eq!(report.rejected.len(), 4);
    assert!(report.first_mrn.is_some() && report.last_mrn.is_some());
    let progress = seen.into_inner().unwrap();
    assert_eq!(progress.first(), Some(&ImportProgress { done: 0, total: 3 }));
    assert_eq!(progress.last(), Some(&ImportProgress { done: 3, total: 3 }));
    assert_eq!(common::count(&env.store, "patients").await, 3);

    let ravi = patients::search(&env.store, &auth, "OLD-1", 5).await.unwrap();
    assert_eq!(ravi.len(), 1);
    let ravi = patients::open(&env.store, &auth, &ravi[0].id).await.unwrap();
    assert_eq!(
        (ravi.given_name.as_str(), ravi.other_names.as_str(), ravi.family_name.as_str()),
        ("Ravi", "Kumar", "Sharma")
    );
    assert_eq!(ravi.birth_date.as_deref(), Some("1980-04-02"), "day-first dates");
    assert_eq!(ravi.allergies, vec!["Penicillin", "Latex"]);
    assert_eq!(ravi.national_id, "1234 5678 9012");
    assert_eq!(patients::search(&env.store, &auth, "zoe nunez", 5).await.unwrap().len(), 1);

    // The same file again: every old number is now taken, so nothing more goes in.
    let again = csv_io::import(&env.store, &auth, LEGACY.as_bytes(), mapping, |_| {}).await.unwrap();
    assert_eq!(again.imported, 1, "only the row without an old number");
    assert!(again.rejected.iter().filter(|r| r.field == "legacy_mrn").count() >= 2);
}

/// A file of 30,000 rows is checked in runs while the runs before are written; what the
/// import reports (rejected rows and their reasons, progress, one audit entry per 10,000
/// valid rows) is what checking the whole file first reports (the preview still does), and
/// the rows go in in file order, the rejected ones not at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_file_is_written_while_it_is_checked_and_reports_what_the_preview_does() {
    let (env, slot) = admin().await;
    let auth = slot.authorize(&env.store).await.unwrap();
    let header = "File No,Patient Name,Gender,DOB,Mobile\n";
    // An old number HMS already has, met in the third run of the file.
    let earlier = format!("{header}OLD-20500,Earlier Patient,F,13/02/1990,9800000000\n");
    let mapping = csv_io::preview(&env.store, &auth, earlier.as_bytes(), None).await.unwrap().mapping;
    assert_eq!(csv_io::import(&env.store, &auth, earlier.as_bytes(), mapping, |_| {}).await.unwrap().imported, 1);

    let mut data = String::from(header);
    for i in 0..30_000u32 {
        let line = i + 2;
        let old = if line == 25_002 { "OLD-3".to_string() } else { format!("OLD-{i}") };
        let sex = if line == 12_345 {
            "Q"
        } else if i % 2 == 0 {
            "F"
        } else {
            "M"
        };
        let dob = if line == 29_999 { "31/02/1990" } else { "13/02/1990" };
        data.push_str(&format!("{old},Name{i} Family,{sex},{dob},97{i:08}\n"));
    }
    let preview = csv_io::preview(&env.store, &auth, data.as_bytes(), None).await.unwrap();
    let why: Vec<(u32, &str)> = preview.rejected.iter().map(|r| (r.row, r.field.as_str())).collect();
    assert_eq!(why, vec![(12_345, "sex"), (20_502, "legacy_mrn"), (25_002, "legacy_mrn"), (29_999, "birth_date")]);
    let valid = preview.valid_rows;
    assert_eq!(valid, 30_000 - 4);

    let seen = Mutex::new(Vec::<ImportProgress>::new());
    let report =
        csv_io::import(&env.store, &auth, data.as_bytes(), preview.mapping.clone(), |p| seen.lock().unwrap().push(p))
            .await
            .unwrap();
    assert_eq!(report.rejected, preview.rejected, "the same rows, reasons and messages, in file order");
    assert_eq!(report.imported, valid);
    let progress: Vec<(u32, u32)> = seen.into_inner().unwrap().iter().map(|p| (p.done, p.total)).collect();
    assert_eq!(progress, vec![(0, valid), (10_000, valid), (20_000, valid), (valid, valid)]);

    // In file order, numbered in that order, without the rejected rows.
    let stored: Vec<(String, String)> =
        sqlx::query_as("SELECT legacy_mrn, mrn FROM patients ORDER BY pk").fetch_all(env.store.pool()).await.unwrap();
    let expected: Vec<String> = std::iter::once("OLD-20500".to_string())
        .chain((0..30_000u32).filter(|i| ![12_343, 20_500, 25_000, 29_997].contains(i)).map(|i| format!("OLD-{i}")))
        .collect();
    assert_eq!(stored.iter().map(|(old, _)| old.clone()).collect::<Vec<_>>(), expected);
    assert!(stored.windows(2).all(|w| w[0].1 < w[1].1), "MRNs in file order");
    assert_eq!(report.first_mrn.as_ref(), Some(&stored[1].1));
    assert_eq!(report.last_mrn.as_ref(), stored.last().map(|(_, mrn)| mrn));
    let batches: Vec<String> = sqlx::query_scalar(
        "SELECT json_extract(detail, '$.count') FROM audit_log WHERE action = 'patient.register_batch' ORDER BY seq",
    )
    .fetch_all(env.store.pool())
    .await
    .map(|counts: Vec<i64>| counts.iter().map(i64::to_string).collect())
    .unwrap();
    assert_eq!(batches, vec!["1".to_string(), "10000".into(), "10000".into(), (valid - 20_000).to_string()]);
}

/// A US-style export: month first. 05/02/2009 is 2 May; 12/25/1990 settles the order.
const US_EXPORT: &str = "Chart No,First Name,Last Name,DOB,Home Phone,Street,City,State,ZIP,SSN
C-100,Emily,Jones,05/02/2009,(555) 201-3344,12 Oak St,Springfield,IL,62704,123-45-6789
C-101,Mark,Brown,12/25/1990,555-201-9988,,Springfield,IL,,
C-102,Ana,Lopez,,,4 Elm Rd,,,,
";

/// An Indian export: day first. 05/02/2009 is 5 February; 25/12/1990 settles the order.
const IN_EXPORT: &str = "Patient Name,Date of Birth,Mobile,Address Line 1,Address Line 2,District,PIN,Aadhaar
Emily Jones,05/02/2009,98450 12345,12 MG Road,Indiranagar,Bengaluru Urban,560038,1234 5678 9012
Mark Brown,25/12/1990,98450 12346,,,,,
";

/// Every date could be either order.
const AMBIGUOUS: &str = "Name,DOB
Emily Jones,05/02/2009
Mark Brown,01/12/1990
";

async fn imported(env: &common::Env, auth: &hms_core::Authorized, q: &str) -> patients::Patient {
    let hit = patients::search(&env.store, auth, q, 5).await.unwrap();
    patients::open(&env.store, auth, &hit[0].id).await.unwrap()
}

#[tokio::test]
async fn exports_in_either_date_order_import_the_right_dates_and_say_which_reading() {
    use csv_io::DateFormat::*;
    let (env, slot) = admin().await;
    let auth = slot.authorize(&env.store).await.unwrap();

    let us = csv_io::preview(&env.store, &auth, US_EXPORT.as_bytes(), None).await.unwrap();
    let fields: Vec<ImportField> = us.mapping.columns.iter().map(|c| c.field).collect();
    use ImportField::*;
    assert_eq!(
        fields,
        vec![LegacyMrn, GivenName, FamilyName, BirthDate, Phone, Address, City, Address, Address, NationalId],
        "the usual legacy headers are recognised"
    );
    let dates = us.dates.clone().unwrap();
    assert_eq!((dates.header.as_str(), dates.detected, dates.format), ("DOB", Some(MonthDayYear), Some(MonthDayYear)));
    assert_eq!(us.mapping.date_format, None, "a reading the values settle is not recorded as the user's choice");
    assert_eq!(dates.examples[0].raw, "12/25/1990", "the value that settles it comes first");
    let as_read = |raw: &str, f: csv_io::DateFormat| {
        let e = dates.examples.iter().find(|e| e.raw == raw).unwrap();
        e.read.iter().find(|r| r.format == f).unwrap().date.clone()
    };
    assert_eq!(as_read("05/02/2009", MonthDayYear).as_deref(), Some("2009-05-02"));
    assert_eq!(as_read("05/02/2009", DayMonthYear).as_deref(), Some("2009-02-05"));
    assert_eq!(us.valid_rows, 3);
    let report = csv_io::import(&env.store, &auth, US_EXPORT.as_bytes(), us.mapping, |_| {}).await.unwrap();
    assert_eq!(report.imported, 3);
    let emily = imported(&env, &auth, "C-100").await;
    assert_eq!(emily.birth_date.as_deref(), Some("2009-05-02"), "month first, never swapped");
    assert_eq!(emily.address, "12 Oak St, IL, 62704", "address columns make one address");
    assert_eq!((emily.city.as_str(), emily.district.as_str()), ("Springfield", ""), "the city column is the city");
    assert_eq!((emily.national_id.as_str(), emily.phones.as_slice()), ("123-45-6789", &["5552013344".to_string()][..]));
    assert_eq!(imported(&env, &auth, "C-101").await.address, "IL");

    let india = csv_io::preview(&env.store, &auth, IN_EXPORT.as_bytes(), None).await.unwrap();
    assert_eq!(india.dates.as_ref().unwrap().format, Some(DayMonthYear));
    let report = csv_io::import(&env.store, &auth, IN_EXPORT.as_bytes(), india.mapping, |_| {}).await.unwrap();
    assert_eq!(report.imported, 2);
    let emily = imported(&env, &auth, "9845012345").await;
    assert_eq!(emily.birth_date.as_deref(), Some("2009-02-05"), "day first");
    assert_eq!(emily.address, "12 MG Road, Indiranagar, 560038");
    assert_eq!(emily.district, "Bengaluru Urban", "the district column is the district");
    assert_eq!(emily.national_id, "1234 5678 9012");
}

#[tokio::test]
async fn a_column_of_dates_that_fit_both_orders_is_not_imported_until_the_user_chooses() {
    use csv_io::DateFormat::*;
    let (env, slot) = admin().await;
    let auth = slot.authorize(&env.store).await.unwrap();
    let p = csv_io::preview(&env.store, &auth, AMBIGUOUS.as_bytes(), None).await.unwrap();
    let dates = p.dates.unwrap();
    assert_eq!((dates.detected, dates.format), (None, None));
    assert_eq!(dates.possible, vec![DayMonthYear, MonthDayYear]);
    assert_eq!(p.mapping.date_format, None);
    match csv_io::import(&env.store, &auth, AMBIGUOUS.as_bytes(), p.mapping.clone(), |_| {}).await {
        Err(Error::Validation { field, reason, message }) => {
            assert_eq!((field.as_str(), reason), ("date_format", ValidationReason::Required));
            assert!(message.contains("DOB"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(common::count(&env.store, "patients").await, 0, "nothing imported");
    // The user says month first.
    let chosen = Mapping { date_format: Some(MonthDayYear), ..p.mapping };
    let again = csv_io::preview(&env.store, &auth, AMBIGUOUS.as_bytes(), Some(chosen.clone())).await.unwrap();
    assert_eq!(again.dates.unwrap().format, Some(MonthDayYear));
    assert_eq!(csv_io::import(&env.store, &auth, AMBIGUOUS.as_bytes(), chosen, |_| {}).await.unwrap().imported, 2);
    let mark = imported(&env, &auth, "Mark Brown").await;
    assert_eq!(mark.birth_date.as_deref(), Some("1990-01-12"));
}

#[tokio::test]
async fn bad_files_and_mappings_are_refused_whole() {
    let (env, slot) = admin().await;
    let auth = slot.authorize(&env.store).await.unwrap();
    let field = |e: Error| match e {
        Error::Validation { field, .. } => field,
        other => panic!("expected a validation error, got {other:?}"),
    };
    for junk in [&b""[..], b"   \n", b"Name\x00\x01\x02binary", b"Name,Phone\n\xff\xfe bad utf8,1\n"] {
        let e = csv_io::preview(&env.store, &auth, junk, None).await.unwrap_err();
        assert_eq!(field(e), "file");
    }
    let no_name = "Phone,DOB\n9845012345,1980-01-01\n";
    let p = csv_io::preview(&env.store, &auth, no_name.as_bytes(), None).await.unwrap();
    assert_eq!((p.valid_rows, p.rejected[0].field.as_str()), (0, "mapping"), "the preview asks for a name column");
    let e = csv_io::import(&env.store, &auth, no_name.as_bytes(), p.mapping, |_| {}).await.unwrap_err();
    assert_eq!(field(e), "mapping");
    let twice = Mapping {
        columns: vec![
            ColumnMap { column: 0, field: ImportField::GivenName },
            ColumnMap { column: 1, field: ImportField::GivenName },
        ],
        date_format: None,
    };
    assert_eq!(
        field(csv_io::import(&env.store, &auth, no_name.as_bytes(), twice, |_| {}).await.unwrap_err()),
        "mapping"
    );
    let outside = Mapping { columns: vec![ColumnMap { column: 9, field: ImportField::GivenName }], date_format: None };
    assert_eq!(
        field(csv_io::import(&env.store, &auth, no_name.as_bytes(), outside, |_| {}).await.unwrap_err()),
        "mapping"
    );
    assert_eq!(common::count(&env.store, "patients").await, 0);
}

#[tokio::test]
async fn import_and_export_need_their_permissions() {
    let (env, admin) = admin().await;
    common::add_user(&env.store, &admin, "front", &["receptionist"]).await;
    common::add_user(&env.store, &admin, "doc", &["doctor"]).await;
    let desk = SessionSlot::default();
    hms_core::auth::sign_in(&env.store, &desk, "front", common::STAFF_PW).await.unwrap();
    let auth = desk.authorize(&env.store).await.unwrap();
    assert!(matches!(csv_io::preview(&env.store, &auth, LEGACY.as_bytes(), None).await, Err(Error::Forbidden { .. })));
    assert!(csv_io::export(&env.store, &auth, None).await.is_ok(), "reception may export");
    let doc = SessionSlot::default();
    hms_core::auth::sign_in(&env.store, &doc, "doc", common::STAFF_PW).await.unwrap();
    let auth = doc.authorize(&env.store).await.unwrap();
    assert!(matches!(csv_io::export(&env.store, &auth, None).await, Err(Error::Forbidden { .. })));
}

#[tokio::test]
async fn an_export_imports_back_with_the_mrn_as_the_old_number_and_formulas_guarded() {
    let (env, slot) = admin().await;
    let auth = slot.authorize(&env.store).await.unwrap();
    let input = PatientInput {
        given_name: "=HYPERLINK(\"x\")".into(),
        family_name: "D'Souza".into(),
        sex: "male".into(),
        birth_date: Some("1975-06-30".into()),
        phones: vec!["+91 98450 12345".into(), "080 2345 6789".into()],
        address: "12 MG Road,\nBengaluru".into(),
        city: "Bengaluru".into(),
        district: "Bengaluru Urban".into(),
        allergies: vec!["Penicillin".into(), "Latex".into()],
        ..Default::default()
    };
    let p = patients::register(&env.store, &auth, input).await.unwrap();
    let estimated =
        PatientInput { given_name: "Old".into(), sex: "female".into(), age_years: Some(70), ..Default::default() };
    patients::register(&env.store, &auth, estimated).await.unwrap();

    let csv = csv_io::export(&env.store, &auth, None).await.unwrap();
    let text = String::from_utf8(csv.clone()).unwrap();
    assert!(text.starts_with("MRN,First name,"));
    assert!(text.contains("'=HYPERLINK"), "a formula is guarded: {text}");
    assert!(text.contains("'+919845012345"));
    assert!(common::actions(&env.store).await.contains(&"patient.export".to_string()));

    // Into a fresh clinic: the suggested mapping takes every column back.
    let (other, oslot) = admin().await;
    let oauth = oslot.authorize(&other.store).await.unwrap();
    let preview = csv_io::preview(&other.store, &oauth, &csv, None).await.unwrap();
    assert_eq!((preview.valid_rows, preview.rejected_count), (2, 0), "{:?}", preview.rejected);
    csv_io::import(&other.store, &oauth, &csv, preview.mapping, |_| {}).await.unwrap();
    let hits = patients::search(&other.store, &oauth, &p.mrn, 5).await.unwrap();
    assert_eq!(hits.len(), 1, "the old MRN finds the imported record");
    let q = patients::open(&other.store, &oauth, &hits[0].id).await.unwrap();
    assert_eq!(
        (
            q.given_name.as_str(),
            q.family_name.as_str(),
            q.phones.clone(),
            q.address.as_str(),
            (q.city.as_str(), q.district.as_str()),
            q.allergies.clone(),
            q.birth_date.clone()
        ),
        (
            p.given_name.as_str(),
            p.family_name.as_str(),
            p.phones.clone(),
            p.address.as_str(),
            ("Bengaluru", "Bengaluru Urban"),
            p.allergies.clone(),
            p.birth_date.clone()
        )
    );

    let found = patients::search(&env.store, &auth, "Old", 20).await.unwrap();
    assert_eq!(found.len(), 1);
    let only = String::from_utf8(csv_io::export(&env.store, &auth, Some("Old")).await.unwrap()).unwrap();
    assert_eq!(only.lines().count(), 2, "a search result exports just its rows: {only}");
    assert!(only.contains(&found[0].mrn));
}

#[tokio::test]
async fn the_id_card_is_a_pdf_with_the_name_mrn_and_birth_date_and_is_audited() {
    let (env, slot) = admin().await;
    let auth = slot.authorize(&env.store).await.unwrap();
    let input = PatientInput {
        given_name: "Zoë".into(),
        family_name: "Núñez".into(),
        sex: "female".into(),
        birth_date: Some("1991-12-24".into()),
        blood_group: "O+".into(),
        ..Default::default()
    };
    let p = patients::register(&env.store, &auth, input).await.unwrap();
    let card = patients::id_card(&env.store, &auth, &p.id).await.unwrap();
    assert!(card.pdf.starts_with(b"%PDF-"));
    assert_eq!(card.file_name, format!("id-card-{}.pdf", p.mrn));
    assert!(common::actions(&env.store).await.contains(&"patient.id_card".to_string()));

    // Text as a PDF reader extracts it, when poppler's pdftotext is installed (make deps does).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.pdf");
    std::fs::write(&path, &card.pdf).unwrap();
    // HMS_TEST_ARTIFACTS=dir keeps the card for a look (make test puts it in tests/artifacts).
    if let Some(keep) = std::env::var_os("HMS_TEST_ARTIFACTS") {
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::write(std::path::Path::new(&keep).join("id-card.pdf"), &card.pdf).unwrap();
    }
    match std::process::Command::new("pdftotext").arg(&path).arg("-").output() {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            for want in ["Zoë Núñez", p.mrn.as_str(), "24 Dec 1991", "O+"] {
                assert!(text.contains(want), "{want:?} not in the card's text: {text}");
            }
        }
        _ => eprintln!("pdftotext not installed: the card's text was not checked"),
    }
    // The QR code reads back as the MRN (poppler's pdftoppm renders it, zbar's zbarimg reads it).
    let png = dir.path().join("card");
    let rendered =
        std::process::Command::new("pdftoppm").args(["-png", "-r", "200", "-singlefile"]).arg(&path).arg(&png).status();
    let decoded = std::process::Command::new("zbarimg").args(["-q", "--raw"]).arg(png.with_extension("png")).output();
    match (rendered, decoded) {
        (Ok(r), Ok(out)) if r.success() => {
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), p.mrn, "the QR code holds the MRN");
        }
        _ => eprintln!("pdftoppm or zbarimg not installed: the QR code was not read back"),
    }
    let missing = patients::id_card(&env.store, &auth, "no-such-id").await;
    assert!(matches!(missing, Err(Error::NotFound { .. })));
}
