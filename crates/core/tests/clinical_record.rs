//! The clinical record's second slice: attachments stored by content and verified on opening,
//! the prescription, lab report and visit summary PDFs (read back with pdftotext), the
//! follow-up date, and every synced-looking table on the sync list.

mod common;
#[path = "common/ward.rs"]
mod ward;

use hms_core::billing::{self, BillingSettings};
use hms_core::clinical::attachments::{self, AttachmentInput, MAX_BYTES};
use hms_core::clinical::{
    chart, lab, lab_pdf, prescription_pdf, visit_summary_pdf, visits, AllergyInput, Certainty, ConsultationInput,
    DiagnosisInput, PrescriptionInput, Severity, VisitInput, VisitNotes, VitalsInput,
};
use hms_core::error::ValidationReason;
use hms_core::Error;
use std::path::Path;
use ward::{auth, field_of, ward, Ward};

fn pdf_bytes(body: &str) -> Vec<u8> {
    format!("%PDF-1.4\n% scanned report\n{body}\n%%EOF\n").into_bytes()
}

fn png_bytes() -> Vec<u8> {
    let mut v = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    v.extend_from_slice(b"not really decoded, only sniffed");
    v
}

fn stored_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let root = dir.join(attachments::DIR);
    let mut out = Vec::new();
    if let Ok(prefixes) = std::fs::read_dir(&root) {
        for p in prefixes.flatten() {
            for f in std::fs::read_dir(p.path()).unwrap().flatten() {
                out.push(f.path());
            }
        }
    }
    out.sort();
    out
}

fn input(patient: &str, name: &str) -> AttachmentInput {
    AttachmentInput {
        patient_id: patient.into(),
        visit_id: None,
        file_name: name.into(),
        note: "From the referring clinic".into(),
    }
}

#[tokio::test]
async fn attachments_are_stored_once_by_their_hash_and_listed() {
    let w = ward().await;
    let s = &w.env.store;
    let d = auth(s, &w.doctor).await;
    let n = auth(s, &w.nurse).await;
    let bytes = pdf_bytes("x-ray report");
    let a = attachments::add(s, &d, input(&w.patient, "C:\\scans\\xray report.pdf"), &bytes).await.unwrap();
    assert_eq!(
        (a.file_name.as_str(), a.media_type.as_str(), a.size_bytes),
        ("xray report.pdf", "application/pdf", bytes.len() as i64)
    );
    let path = attachments::stored_path(s, &a.sha256).unwrap();
    assert!(path.starts_with(w.env.dir.path().join("attachments").join(&a.sha256[..2])), "{}", path.display());
    assert_ne!(std::fs::read(&path).unwrap(), bytes, "stored under its SHA-256, encrypted");
    assert_eq!(hms_core::store::blobs::read_intact(s, &a.sha256).unwrap(), bytes);
    assert_eq!(a.sha256.len(), 64);

    // The same file again (by the nurse, to a visit): a second record, one stored file.
    let v =
        visits::start_visit(s, &d, VisitInput { patient_id: w.patient.clone(), ..Default::default() }).await.unwrap();
    let again = AttachmentInput { visit_id: Some(v.id.clone()), ..input(&w.patient, "copy.pdf") };
    let b = attachments::add(s, &n, again, &bytes).await.unwrap();
    assert_eq!(b.sha256, a.sha256);
    assert_ne!(b.id, a.id);
    let photo = attachments::add(s, &n, input(&w.patient, "wound.png"), &png_bytes()).await.unwrap();
    assert_eq!(photo.media_type, "image/png");
    assert_eq!(stored_files(w.env.dir.path()).len(), 2, "identical content stored once");

    let all = attachments::list(s, &d, &w.patient, None).await.unwrap();
    assert_eq!(
        all.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(),
        vec![photo.id.as_str(), b.id.as_str(), a.id.as_str()],
        "newest first"
    );
    assert!(all.iter().all(|x| x.on_device));
    let of_visit = attachments::list(s, &d, &w.patient, Some(&v.id)).await.unwrap();
    assert_eq!(of_visit.len(), 1);
    assert_eq!(of_visit[0].id, b.id);

    let opened = attachments::open(s, &d, &a.id).await.unwrap();
    assert_eq!(opened.bytes, bytes);
    assert_eq!(attachments::viewer_name(&opened.attachment), "xray report.pdf");

    // The metadata syncs; every step is audited.
    let changes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM change_log WHERE entity = 'attachments'")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(changes, 3);
    let actions = common::actions(s).await;
    assert_eq!(actions.iter().filter(|x| *x == "attachment.add").count(), 3);
    assert!(actions.contains(&"attachment.open".to_string()));
}

#[tokio::test]
async fn tampered_or_missing_files_are_typed_errors() {
    let w = ward().await;
    let s = &w.env.store;
    let d = auth(s, &w.doctor).await;
    let a = attachments::add(s, &d, input(&w.patient, "report.pdf"), &pdf_bytes("haemogram")).await.unwrap();
    let path = attachments::stored_path(s, &a.sha256).unwrap();
    std::fs::write(&path, pdf_bytes("haemogram, edited")).unwrap();
    match attachments::open(s, &d, &a.id).await {
        Err(Error::AttachmentCorrupt { id }) => assert_eq!(id, a.id),
        other => panic!("expected attachment_corrupt, got {:?}", other.map(|o| o.attachment)),
    }
    assert_eq!(Error::AttachmentCorrupt { id: a.id.clone() }.code(), "attachment_corrupt");
    assert!(common::actions(s).await.contains(&"attachment.integrity_failure".to_string()), "the failure is audited");

    // Uploading the original again repairs the stored file.
    attachments::add(s, &d, input(&w.patient, "report.pdf"), &pdf_bytes("haemogram")).await.unwrap();
    assert!(attachments::open(s, &d, &a.id).await.is_ok());

    // A record whose file is not here (as when it synced from another device).
    std::fs::remove_file(&path).unwrap();
    assert!(!attachments::list(s, &d, &w.patient, None).await.unwrap()[0].on_device);
    match attachments::open(s, &d, &a.id).await {
        Err(e @ Error::AttachmentNotOnDevice { .. }) => assert_eq!(e.code(), "attachment_not_on_device"),
        other => panic!("expected attachment_not_on_device, got {:?}", other.map(|o| o.attachment)),
    }
    assert!(matches!(attachments::open(s, &d, "no-such-id").await, Err(Error::NotFound { .. })));
}

#[tokio::test]
async fn oversize_wrong_type_and_bad_input_write_nothing() {
    let w = ward().await;
    let s = &w.env.store;
    let d = auth(s, &w.doctor).await;
    let before = common::counts(s).await;
    let mut big = pdf_bytes("");
    big.resize(MAX_BYTES + 1, b' ');
    assert_eq!(
        field_of(attachments::add(s, &d, input(&w.patient, "big.pdf"), &big).await),
        ("file".into(), ValidationReason::TooLong)
    );
    let exe = b"MZ\x90\0\x03 a program renamed".to_vec();
    match attachments::add(s, &d, input(&w.patient, "scan.pdf"), &exe).await {
        Err(Error::Validation { field, reason, message }) => {
            assert_eq!((field.as_str(), reason), ("file", ValidationReason::Invalid));
            assert!(message.contains("unsupported type"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(field_of(attachments::add(s, &d, input(&w.patient, "empty.pdf"), b"").await).0, "file");
    assert_eq!(field_of(attachments::add(s, &d, input(&w.patient, "  "), &pdf_bytes("a")).await).0, "file_name");
    assert_eq!(field_of(attachments::add(s, &d, input("nobody", "a.pdf"), &pdf_bytes("a")).await).0, "patient_id");
    let bad_visit = AttachmentInput { visit_id: Some("no-visit".into()), ..input(&w.patient, "a.pdf") };
    assert_eq!(field_of(attachments::add(s, &d, bad_visit, &pdf_bytes("a")).await).0, "visit_id");
    assert_eq!(common::counts(s).await, before, "no row, change or audit entry");
    assert_eq!(common::count(s, "attachments").await, 0);
    assert!(stored_files(w.env.dir.path()).is_empty(), "no file written");

    // Exactly 20 MiB is accepted.
    big.truncate(MAX_BYTES);
    attachments::add(s, &d, input(&w.patient, "big.pdf"), &big).await.unwrap();
}

#[tokio::test]
async fn attachments_are_for_clinicians_only() {
    let w = ward().await;
    let s = &w.env.store;
    let d = auth(s, &w.doctor).await;
    let a = attachments::add(s, &d, input(&w.patient, "r.pdf"), &pdf_bytes("r")).await.unwrap();
    for slot in [&w.reception, &w.lab] {
        let x = auth(s, slot).await;
        assert!(matches!(
            attachments::add(s, &x, input(&w.patient, "r.pdf"), &pdf_bytes("q")).await,
            Err(Error::Forbidden { .. })
        ));
        assert!(matches!(attachments::list(s, &x, &w.patient, None).await, Err(Error::Forbidden { .. })));
        assert!(matches!(attachments::open(s, &x, &a.id).await, Err(Error::Forbidden { .. })));
    }
    let admin = auth(s, &w.admin).await;
    assert_eq!(
        attachments::list(s, &admin, &w.patient, None).await.unwrap().len(),
        1,
        "the administrator reads the record"
    );
}

/// The text of a PDF (pdftotext -layout), also kept in $HMS_TEST_ARTIFACTS when set.
fn pdf_text(name: &str, pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, pdf).unwrap();
    if let Some(keep) = std::env::var_os("HMS_TEST_ARTIFACTS") {
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::write(Path::new(&keep).join(name), pdf).unwrap();
    }
    let out = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils): make deps installs it");
    assert!(out.status.success(), "pdftotext failed on {name}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn consultation(w: &Ward) -> (String, Vec<String>) {
    let s = &w.env.store;
    let a = auth(s, &w.admin).await;
    let settings = BillingSettings {
        address: "12 MG Road\nBengaluru 560001".into(),
        registration_no: "KA-CE-2024-77".into(),
        ..billing::billing_settings(s, &a).await.unwrap()
    };
    billing::update_billing_settings(s, &a, settings).await.unwrap();
    let d = auth(s, &w.doctor).await;
    let n = auth(s, &w.nurse).await;
    visits::add_allergy(
        s,
        &n,
        AllergyInput {
            patient_id: w.patient.clone(),
            allergen: None,
            substance: "Sulfa drugs".into(),
            reaction: "rash".into(),
            severity: Severity::Severe,
        },
    )
    .await
    .unwrap();
    let rx = |m: &str, freq: &str, days: i32, instructions: &str| PrescriptionInput {
        medicine_id: m.into(),
        dose: "1".into(),
        dose_unit: "tablet".into(),
        route: "oral".into(),
        frequency: freq.into(),
        duration_days: Some(days),
        instructions: instructions.into(),
        ..Default::default()
    };
    let input = ConsultationInput {
        visit: VisitInput {
            patient_id: w.patient.clone(),
            complaints: "Fever and sore throat for 3 days".into(),
            examination: "Throat congested, tonsils enlarged".into(),
            notes: "Private note not for the patient".into(),
            follow_up_date: Some("2026-12-05".into()),
            ..Default::default()
        },
        vitals: Some(VitalsInput {
            temperature_c_x10: Some(384),
            pulse: Some(96),
            bp_systolic: Some(128),
            bp_diastolic: Some(84),
            ..Default::default()
        }),
        diagnoses: vec![
            DiagnosisInput { icd10: Some("J03.90".into()), text: String::new(), certainty: Certainty::Final },
            DiagnosisInput { icd10: None, text: "Suspected viral fever".into(), certainty: Certainty::Provisional },
        ],
        prescriptions: vec![rx(&w.amoxicillin, "1-1-1", 5, "After food"), rx(&w.paracetamol, "SOS", 3, "")],
        lab_test_ids: vec![w.hb.clone(), w.glucose.clone()],
    };
    let c = chart::save_consultation(s, &d, input).await.unwrap();
    (c.visit.id, c.lab_orders.into_iter().map(|o| o.id).collect())
}

#[tokio::test]
async fn the_prescription_names_the_doctor_and_registration_number() {
    let w = ward().await;
    let s = &w.env.store;
    let (visit, _) = consultation(&w).await;
    let d = auth(s, &w.doctor).await;
    let p = prescription_pdf::prescription_pdf(s, &d, &visit).await.unwrap();
    assert!(p.file_name.starts_with("prescription-") && p.file_name.ends_with(".pdf"), "{}", p.file_name);
    let text = pdf_text("prescription.pdf", &p.pdf);
    for expected in [
        "12 MG Road",
        "PRESCRIPTION",
        "Ravi Sharma",
        "Male",
        "Sulfa drugs (severe: rash)",
        "Amoxicillin 500 mg capsule",
        "1 tablet · oral · 1-1-1 · 5 days",
        "After food",
        "Paracetamol 650 mg tablet",
        "J03.90",
        "Follow-up on 05/12/2026",
        "Dr Anil Rao",
        "Reg. no: KMC-12345",
        "Signature",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    let clinic = billing::billing_settings(s, &auth(s, &w.admin).await).await.unwrap().clinic_name;
    assert!(text.contains(&clinic), "the clinic's name {clinic:?}");
    let mrn: String =
        sqlx::query_scalar("SELECT mrn FROM patients WHERE id = ?").bind(&w.patient).fetch_one(s.pool()).await.unwrap();
    assert!(text.contains(&mrn));
    assert!(common::actions(s).await.contains(&"prescription.print".to_string()));

    let r = auth(s, &w.reception).await;
    assert!(matches!(prescription_pdf::prescription_pdf(s, &r, &visit).await, Err(Error::Forbidden { .. })));
    let empty =
        visits::start_visit(s, &d, VisitInput { patient_id: w.patient.clone(), ..Default::default() }).await.unwrap();
    assert_eq!(field_of(prescription_pdf::prescription_pdf(s, &d, &empty.id).await).0, "visit_id");
    assert!(matches!(prescription_pdf::prescription_pdf(s, &d, "nope").await, Err(Error::NotFound { .. })));
}

#[tokio::test]
async fn the_lab_report_flags_abnormal_values_and_a_pending_order_prints_as_a_requisition() {
    let w = ward().await;
    let s = &w.env.store;
    let (_, orders) = consultation(&w).await;
    let l = auth(s, &w.lab).await;
    let d = auth(s, &w.doctor).await;

    let req = lab_pdf::lab_report_pdf(s, &d, &orders[0]).await.unwrap();
    let text = pdf_text("lab-requisition.pdf", &req.pdf);
    assert!(
        text.contains("LAB REQUISITION")
            && text.contains("Haemoglobin (HB)")
            && text.contains("Fasting blood sugar (FBS)"),
        "{text}"
    );
    assert!(!text.contains("LAB REPORT"));

    let glucose_order = orders.iter().find(|o| **o != orders[0]).unwrap().clone();
    lab::enter_result(s, &l, &orders[0], "14.2").await.unwrap();
    lab::enter_result(s, &l, &glucose_order, "182").await.unwrap();
    let rep = lab_pdf::lab_report_pdf(s, &l, &orders[0]).await.unwrap();
    let text = pdf_text("lab-report.pdf", &rep.pdf);
    assert!(text.contains("LAB REPORT"), "{text}");
    let glucose_line = text.lines().find(|l| l.contains("Fasting blood sugar")).unwrap_or_default();
    for part in ["182", "mg/dL", "70 – 100", "HIGH"] {
        assert!(glucose_line.contains(part), "missing {part:?} in {glucose_line:?}\n{text}");
    }
    let hb_line = text.lines().find(|l| l.contains("Haemoglobin")).unwrap_or_default();
    assert!(
        hb_line.contains("14.2")
            && hb_line.contains("13 – 17")
            && !hb_line.contains("HIGH")
            && !hb_line.contains("LOW"),
        "{hb_line}"
    );
    assert!(text.contains("Dr Anil Rao"));
    assert_eq!(common::actions(s).await.iter().filter(|a| *a == "lab.print").count(), 2);

    let r = auth(s, &w.reception).await;
    assert!(matches!(lab_pdf::lab_report_pdf(s, &r, &orders[0]).await, Err(Error::Forbidden { .. })));
}

#[tokio::test]
async fn the_visit_summary_carries_diagnoses_vitals_medicines_tests_and_follow_up() {
    let w = ward().await;
    let s = &w.env.store;
    let (visit, _) = consultation(&w).await;
    let n = auth(s, &w.nurse).await;
    let p = visit_summary_pdf::visit_summary_pdf(s, &n, &visit).await.unwrap();
    let text = pdf_text("visit-summary.pdf", &p.pdf);
    for expected in [
        "VISIT SUMMARY",
        "Fever and sore throat for 3 days",
        "Throat congested",
        "J03.90",
        "Acute tonsillitis",
        "Suspected viral fever (uncoded) — provisional",
        "Temperature 38.4 °C",
        "BP 128/84 mmHg",
        "Amoxicillin 500 mg capsule",
        "Haemoglobin (HB)",
        "Please come back on 05/12/2026.",
        "Dr Anil Rao",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!text.contains("Private note"), "the doctor's notes stay in the chart");
    assert!(common::actions(s).await.contains(&"visit.print_summary".to_string()));
}

#[tokio::test]
async fn the_visit_summary_marks_a_stopped_medicine_with_when_who_and_why() {
    let w = ward().await;
    let s = &w.env.store;
    let (visit, _) = consultation(&w).await;
    let d = auth(s, &w.doctor).await;
    let rx = hms_core::clinical::prescribing::visit_prescriptions(s, &d, &visit).await.unwrap();
    let para = rx.iter().find(|p| p.medicine_name == "Paracetamol").unwrap();
    let stopped = hms_core::clinical::prescribing::stop_prescription(s, &d, &para.id, "fever settled").await.unwrap();
    let p = visit_summary_pdf::visit_summary_pdf(s, &d, &visit).await.unwrap();
    let text = pdf_text("visit-summary-stopped.pdf", &p.pdf);
    let head = hms_core::clinical::print::letterhead(s).await.unwrap();
    let when = head.date(stopped.stopped_at.as_deref().unwrap());
    let expected = format!("Stopped {when} by Staff dr.rao: fever settled");
    let lines: Vec<String> = text.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    let at = lines.iter().position(|l| l.contains(&expected)).unwrap_or_else(|| panic!("{expected:?} not in:\n{text}"));
    // Under the paracetamol it belongs to, not under the amoxicillin that still runs.
    let para_at = lines.iter().position(|l| l.contains("Paracetamol 650 mg tablet")).unwrap();
    let amox_at = lines.iter().position(|l| l.contains("Amoxicillin 500 mg capsule")).unwrap();
    assert!(para_at < at && (amox_at < para_at || amox_at > at), "{text}");
    assert_eq!(text.matches("Stopped ").count(), 1, "only the stopped medicine is marked: {text}");
}

#[tokio::test]
async fn a_follow_up_date_is_kept_and_changed_with_the_visit() {
    let w = ward().await;
    let s = &w.env.store;
    let (visit, _) = consultation(&w).await;
    let d = auth(s, &w.doctor).await;
    assert_eq!(visits::visit(s, &d, &visit).await.unwrap().follow_up_date.as_deref(), Some("2026-12-05"));
    let notes =
        VisitNotes { complaints: "Fever".into(), follow_up_date: Some("2026-12-12".into()), ..Default::default() };
    assert_eq!(visits::update_visit(s, &d, &visit, notes).await.unwrap().follow_up_date.as_deref(), Some("2026-12-12"));
    let bad = VisitNotes { follow_up_date: Some("12/12/2026".into()), ..Default::default() };
    assert_eq!(field_of(visits::update_visit(s, &d, &visit, bad).await).0, "follow_up_date");
    let change: String = sqlx::query_scalar(
        "SELECT data FROM change_log WHERE entity = 'visits' AND entity_id = ? ORDER BY seq DESC LIMIT 1",
    )
    .bind(&visit)
    .fetch_one(s.pool())
    .await
    .unwrap();
    assert!(change.contains("2026-12-12"), "the follow-up syncs: {change}");
}

/// Tables that carry `origin_device` but are deliberately not synced, each with the reason.
/// Empty today: every such table syncs. A new table must go on `SYNCED` (its writes calling
/// `record_change`) or here.
const LOCAL_ONLY: &[(&str, &str)] = &[];

#[tokio::test]
async fn every_table_with_sync_columns_is_synced_or_declared_local() {
    let env = common::store().await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT m.name FROM sqlite_master m WHERE m.type = 'table' AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) c WHERE c.name = 'origin_device') ORDER BY m.name",
    )
    .fetch_all(env.store.pool())
    .await
    .unwrap();
    assert!(tables.iter().any(|t| t == "attachments") && tables.iter().any(|t| t == "visits"), "{tables:?}");
    let synced: Vec<&str> = hms_core::sync::rows::SYNCED.iter().map(|(t, _)| *t).collect();
    for t in &tables {
        assert!(
            synced.contains(&t.as_str()) || LOCAL_ONLY.iter().any(|(l, _)| l == t),
            "table {t} has sync columns but is neither on sync::rows::SYNCED nor declared local-only"
        );
    }
    for clinical in [
        "visits",
        "vitals",
        "diagnoses",
        "allergies",
        "medicines",
        "prescriptions",
        "lab_tests",
        "lab_orders",
        "lab_results",
        "attachments",
    ] {
        assert!(synced.contains(&clinical), "{clinical} is not synced");
    }
    assert!(!synced.contains(&"icd10_codes"), "the code table ships with the app");
}

#[tokio::test]
async fn a_long_prescription_continues_on_the_next_page_with_the_header() {
    let w = ward().await;
    let s = &w.env.store;
    let d = auth(s, &w.doctor).await;
    let items = (0..30)
        .map(|i| PrescriptionInput {
            medicine_id: if i % 2 == 0 { w.amoxicillin.clone() } else { w.paracetamol.clone() },
            dose: "1".into(),
            dose_unit: "tablet".into(),
            frequency: format!("schedule {i}"),
            duration_days: Some(i + 1),
            instructions: "A long instruction that explains when and how to take the medicine so that it wraps onto a second line of the page".into(),
            override_reason: Some("Tapering plan".into()),
            ..Default::default()
        })
        .collect();
    let input = ConsultationInput {
        visit: VisitInput { patient_id: w.patient.clone(), ..Default::default() },
        prescriptions: items,
        ..Default::default()
    };
    let visit = chart::save_consultation(s, &d, input).await.unwrap().visit.id;
    let p = prescription_pdf::prescription_pdf(s, &d, &visit).await.unwrap();
    let text = pdf_text("prescription-long.pdf", &p.pdf);
    let pages = text.split('\u{c}').filter(|p| !p.trim().is_empty()).collect::<Vec<_>>();
    assert!(pages.len() >= 2, "{} page(s)", pages.len());
    assert!(pages.iter().all(|p| p.contains("PRESCRIPTION")), "every page has the header");
    assert!(text.contains("schedule 29 · 30 days") && text.contains("Reg. no: KMC-12345"), "{text}");
}
