//! The pharmacy's dispensing labels (issue 16): a label per pack of each dispensed line with
//! the dose in words, one PDF for what was dispensed at one go, recorded as a printout and
//! printed again; the allocation proposed before dispensing (nothing written); a patient's
//! dispensed batches for returns; and the permission of each.

mod common;
#[path = "common/pharmacy.rs"]
mod pharmacy;
#[path = "common/ward.rs"]
mod ward;

use hms_core::clinical::{prescribing, visits, PrescriptionInput, VisitInput};
use hms_core::printouts::{self, PrintKind, PrintoutsOf};
use hms_core::stock::proposal::{self, ProposeInput};
use hms_core::stock::{dispensing, labels, returnable, setup, DispenseInput, DispenseLineInput, PassedReason};
use hms_core::{Error, ValidationReason};
use pharmacy::{pharmacy, Pharmacy};
use ward::field_of;

/// A PDF's text (pdftotext -layout).
fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils): make deps installs it");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The doctor prescribes in a new visit; answers the prescription.
async fn prescribe(p: &Pharmacy, medicine: &str, unit: &str, frequency: &str, days: i32, instructions: &str) -> String {
    let s = &p.w.env.store;
    let visit = visits::start_visit(s, &p.doctor, VisitInput { patient_id: p.w.patient.clone(), ..Default::default() })
        .await
        .unwrap()
        .id;
    let rx = PrescriptionInput {
        medicine_id: medicine.into(),
        dose: "1".into(),
        dose_unit: unit.into(),
        frequency: frequency.into(),
        duration_days: Some(days),
        instructions: instructions.into(),
        override_reason: Some("checked".into()),
        ..Default::default()
    };
    prescribing::prescribe(s, &p.doctor, &visit, rx).await.unwrap().id
}

fn line(rx: &str, quantity: i64) -> DispenseLineInput {
    DispenseLineInput { prescription_id: rx.into(), quantity, complete: true, ..Default::default() }
}

#[tokio::test]
async fn labels_print_the_patient_the_medicine_the_dose_in_words_the_batch_and_one_of_three() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    p.receive(&p.counter, &p.amox, "AMX-77", "2027-08-31", 100).await;
    p.receive(&p.counter, &p.para, "PCM-5", "2027-05-31", 100).await;
    let amox = prescribe(&p, &p.w.amoxicillin, "capsule", "1-1-1", 5, "").await;
    let para = prescribe(&p, &p.w.paracetamol, "tablet", "1-0-1", 5, "after food").await;
    // 25 capsules in packs of 10: three labels; 10 tablets: one.
    let d = dispensing::dispense(
        s,
        &p.pharmacist,
        DispenseInput { store_id: p.counter.clone(), lines: vec![line(&amox, 25), line(&para, 10)] },
    )
    .await
    .unwrap();
    let printed = labels::labels_pdf(s, &p.pharmacist, &d.lines[1].dispensing_id).await.unwrap();
    let text = pdf_text(&printed.pdf);
    for expected in [
        "Ravi Sharma",
        "Amoxicillin 500 mg capsule",
        "1 capsule three times a day for 5 days",
        "Paracetamol",
        "1 tablet twice a day after food for 5 days",
        "Batch AMX-77",
        "Batch PCM-5",
        "1 of 3",
        "2 of 3",
        "3 of 3",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
    assert_eq!(text.matches("of 3").count(), 3, "one label per pack:\n{text}");
    assert!(!text.contains("1 of 1"), "a single label says no count");
    let mrn: String = sqlx::query_scalar("SELECT mrn FROM patients WHERE id = ?")
        .bind(&p.w.patient)
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert!(text.contains(&mrn));

    // Recorded as a printout of the patient, and printed again from its record alike.
    assert_eq!(printed.printout.kind, PrintKind::DispensingLabels);
    let listed = printouts::list(s, &p.pharmacist, &PrintoutsOf::Patient(p.w.patient.clone())).await.unwrap();
    assert_eq!(listed.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(), [printed.printout.id.as_str()]);
    let again = printouts::reprint(s, &p.pharmacist, &printed.printout.id).await.unwrap();
    assert_eq!(again.printout.reprint_of.as_deref(), Some(printed.printout.id.as_str()));
    assert_eq!(pdf_text(&again.pdf).matches("of 3").count(), 3);
    let audited: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'stock.labels_print'")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(audited, 2);

    // Only who may dispense prints labels; a dispensing that does not exist is named.
    let doctor_labels = labels::labels_pdf(s, &p.doctor, &d.lines[0].dispensing_id).await;
    assert!(matches!(doctor_labels, Err(Error::Forbidden { .. })), "{doctor_labels:?}");
    assert_eq!(
        field_of(labels::labels_pdf(s, &p.pharmacist, "no-such").await),
        ("dispensing_id".into(), ValidationReason::Invalid)
    );
}

#[tokio::test]
async fn the_proposal_is_what_first_expiry_first_out_takes_with_the_batches_passed_over_and_writes_nothing() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    let early = p.receive(&p.counter, &p.amox, "E-1", "2027-02-28", 8).await;
    p.receive(&p.counter, &p.amox, "L-1", "2027-12-31", 100).await;
    let held = p.receive(&p.counter, &p.amox, "H-1", "2027-01-31", 40).await;
    p.receive(&p.counter, &p.amox, "S-1", "2026-12-08", 40).await;
    setup::set_batch_hold(s, &p.pharmacist, &held, true, "recall").await.unwrap();
    let rx = prescribe(&p, &p.w.amoxicillin, "capsule", "1-1-1", 5, "").await;
    let ask = |quantity: Option<i64>| ProposeInput {
        prescription_id: rx.clone(),
        store_id: p.counter.clone(),
        quantity,
        item_id: None,
    };
    let before = common::count(s, "stock_movements").await;
    // No quantity: the rest of the course (1 × 3 a day × 5 days).
    let prop = proposal::propose(s, &p.pharmacist, ask(None)).await.unwrap();
    assert_eq!((prop.course_units, prop.dispensed, prop.quantity), (Some(15), 0, 15));
    assert_eq!(prop.item.id, p.amox);
    let picks: Vec<(&str, i64)> = prop.allocation.picks.iter().map(|x| (x.batch_no.as_str(), x.quantity)).collect();
    assert_eq!(picks, [("E-1", 8), ("L-1", 7)]);
    let passed: Vec<(&str, PassedReason)> =
        prop.allocation.passed.iter().map(|x| (x.batch_no.as_str(), x.reason)).collect();
    assert_eq!(passed, [("S-1", PassedReason::ExpiresBeforeCourseEnds), ("H-1", PassedReason::OnHold)]);
    assert_eq!(common::count(s, "stock_movements").await, before, "a proposal writes nothing");

    // After a part, the rest of the course is proposed; a quantity given is taken as asked.
    dispensing::dispense(
        s,
        &p.pharmacist,
        DispenseInput {
            store_id: p.counter.clone(),
            lines: vec![DispenseLineInput { complete: false, ..line(&rx, 5) }],
        },
    )
    .await
    .unwrap();
    let prop = proposal::propose(s, &p.pharmacist, ask(None)).await.unwrap();
    assert_eq!((prop.dispensed, prop.quantity), (5, 10));
    assert_eq!(prop.allocation.picks[0].batch_id, early);
    assert_eq!(proposal::propose(s, &p.pharmacist, ask(Some(2))).await.unwrap().allocation.picks[0].quantity, 2);
    assert_eq!(
        field_of(proposal::propose(s, &p.pharmacist, ask(Some(0))).await),
        ("quantity".into(), ValidationReason::OutOfRange)
    );
    let lab = proposal::propose(s, &p.lab, ask(None)).await;
    assert!(matches!(lab, Err(Error::Forbidden { .. })), "{lab:?}");

    // The patient's dispensed batches, for a return.
    let given = returnable::patient_dispensed(s, &p.pharmacist, &p.w.patient).await.unwrap();
    let got: Vec<(&str, i64, i64)> = given.iter().map(|g| (g.batch_no.as_str(), g.quantity, g.returned)).collect();
    assert_eq!(got, [("E-1", 5, 0)]);
    assert_eq!(given[0].item_name, "Amoxicillin 500 mg capsule");
    let doctor = returnable::patient_dispensed(s, &p.doctor, &p.w.patient).await;
    assert!(matches!(doctor, Err(Error::Forbidden { .. })), "{doctor:?}");
}

#[tokio::test]
async fn who_sets_up_items_finds_medicines_of_the_list_and_whether_they_are_stocked() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    let found = hms_core::stock::medicines::medicine_options(s, &p.pharmacist, "AMO").await.unwrap();
    let got: Vec<(&str, bool)> = found.iter().map(|m| (m.name.as_str(), m.stocked)).collect();
    assert!(got.contains(&("Amoxicillin", true)), "{got:?}");
    assert!(got.iter().all(|(n, _)| n.to_lowercase().starts_with("amo")), "{got:?}");
    let met = hms_core::stock::medicines::medicine_options(s, &p.pharmacist, "metf").await.unwrap();
    assert_eq!(met.iter().map(|m| m.stocked).collect::<Vec<_>>(), [false]);
    let lab = hms_core::stock::medicines::medicine_options(s, &p.lab, "a").await;
    assert!(matches!(lab, Err(Error::Forbidden { .. })), "{lab:?}");
}
