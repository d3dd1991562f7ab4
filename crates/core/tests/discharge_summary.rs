//! The discharge summary (issue 15): a doctor drafts it during the stay, saves it again,
//! discharges the patient and finalises it; a final summary is not edited; diagnoses are
//! checked against the ICD-10 table, investigations picked from the stay's lab results,
//! medicines from the medicine list (PRN with when to take it), the follow-up after the
//! discharge day; bad input writes nothing; who may write and read it. The clinic's clock is
//! UTC; t0 is 2026-12-01 10:00.

mod common;
#[path = "common/hospital.rs"]
mod hospital;
#[path = "common/ward.rs"]
mod ward;

use hms_core::clinical::lab;
use hms_core::inpatients::orders::{self, OrderInput};
use hms_core::inpatients::summary::{
    self, DischargeMedicineInput, InvestigationInput, SummaryDiagnosisInput, SummaryInput,
};
use hms_core::inpatients::{stays, summary_pdf, DischargeInput};
use hms_core::printouts::{self, PrintKind, PrintoutsOf};
use hms_core::{Error, Store, ValidationReason};
use hospital::{hospital, Hospital};
use ward::field_of;

async fn counts(s: &Store) -> [i64; 3] {
    [
        common::count(s, "discharge_summaries").await,
        common::count(s, "change_log").await,
        common::count(s, "audit_log").await,
    ]
}

fn draft(h: &Hospital, admission: &str) -> SummaryInput {
    SummaryInput {
        admission_id: admission.into(),
        diagnoses: vec![
            SummaryDiagnosisInput { code: "a01.0".into(), text: "confirmed by culture".into() },
            SummaryDiagnosisInput { code: String::new(), text: "Dehydration, corrected".into() },
        ],
        course: "Admitted with fever.\nTreated with fluids; afebrile from day 2.".into(),
        procedures: "IV cannulation".into(),
        investigations: vec![],
        medicines: vec![
            DischargeMedicineInput {
                medicine_id: h.w.paracetamol.clone(),
                dose: "1".into(),
                dose_unit: "tablet".into(),
                prn: true,
                instructions: "for fever above 38.5 °C".into(),
                ..Default::default()
            },
            DischargeMedicineInput {
                medicine_id: h.w.amoxicillin.clone(),
                dose: "1".into(),
                dose_unit: "capsule".into(),
                schedule: " 1-1-1 ".into(),
                days: Some(5),
                ..Default::default()
            },
        ],
        advice: "Drink plenty of water.".into(),
        follow_up_on: Some("2026-12-10".into()),
        follow_up_doctor_id: None,
    }
}

#[tokio::test]
async fn a_doctor_drafts_saves_again_discharges_and_finalises_and_the_final_summary_stays() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let stay = stays::admit(s, &h.doctor, h.admit_input(0, Some(&h.a1))).await.unwrap();
    let empty = summary::view(s, &h.nurse, &stay.id).await.unwrap();
    assert_eq!((empty.summary.clone(), empty.can_write), (None, false), "a nurse reads; nothing written yet");
    assert!(summary::view(s, &h.doctor, &stay.id).await.unwrap().can_write);

    // A lab result during the stay is offered to pick; its value is copied in.
    h.at(2);
    let result = lab_result(&h, &stay.id, "9.1").await;
    let view = summary::view(s, &h.doctor, &stay.id).await.unwrap();
    assert_eq!(view.stay_results.len(), 1);
    assert_eq!((view.stay_results[0].test.as_str(), view.stay_results[0].value.as_str()), ("Haemoglobin (HB)", "9.1"));

    h.at(3);
    let mut input = draft(&h, &stay.id);
    input.investigations = vec![
        InvestigationInput { lab_result_id: Some(result.id.clone()), note: "low, recheck in a month".into() },
        InvestigationInput { lab_result_id: None, note: "Chest X-ray: clear".into() },
    ];
    let first = summary::save(s, &h.doctor, input.clone()).await.unwrap();
    assert_eq!(first.id, summary::summary_id(&stay.id));
    assert_eq!(
        first.diagnoses.iter().map(|d| (d.code.as_str(), d.text.as_str())).collect::<Vec<_>>(),
        vec![("A01.0", "confirmed by culture"), ("", "Dehydration, corrected")]
    );
    assert!(first.diagnoses[0].description.to_lowercase().contains("typhoid"));
    assert_eq!(first.investigations[0].value, "9.1");
    assert_eq!(first.investigations[0].abnormal, "low");
    assert_eq!(first.medicines[0].how(), "1 tablet · when needed: for fever above 38.5 °C");
    assert_eq!(first.medicines[1].how(), "1 capsule · 1-1-1 · 5 days");
    assert!(first.medicines[1].name.starts_with("Amoxicillin"));
    assert_eq!(first.follow_up_doctor_id.as_deref(), Some(h.w.doctor_staff.as_str()), "the admitting doctor");
    assert!(first.finalised_at.is_none() && !first.written_by_name.is_empty());

    // Saved again: the same row, rewritten; its change and audit entries.
    let before = counts(s).await;
    input.advice = "Rest for a week.".into();
    let second = summary::save(s, &h.doctor, input.clone()).await.unwrap();
    assert_eq!((second.id.clone(), second.advice.as_str()), (first.id.clone(), "Rest for a week."));
    assert_eq!(counts(s).await, [before[0], before[1] + 1, before[2] + 1]);
    let audit: String = sqlx::query_scalar("SELECT action FROM audit_log ORDER BY rowid DESC LIMIT 1")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(audit, "inpatient.summary_update");

    // Not final before the discharge.
    let early = summary::finalise(s, &h.doctor, &stay.id).await;
    assert_eq!(field_of(early), ("admission_id".into(), ValidationReason::Invalid));

    // Discharged on 4 Dec; the follow-up on 10 Dec is after it. Finalised.
    h.at(3 * 24);
    let discharge =
        DischargeInput { admission_id: stay.id.clone(), discharge_type: "home".into(), ..Default::default() };
    stays::discharge(s, &h.doctor, discharge).await.unwrap();
    let doctor = h.doctor.clone();
    // Still a draft after the discharge: it can be saved, and a result after it is not the stay's.
    summary::save(s, &doctor, input.clone()).await.unwrap();
    let done = summary::finalise(s, &doctor, &stay.id).await.unwrap();
    assert_eq!(done.finalised_at.as_deref(), Some("2026-12-04T10:00:00.000Z"));
    assert!(done.finalised_by.is_some() && !done.finalised_by_name.is_empty());
    let view = summary::view(s, &doctor, &stay.id).await.unwrap();
    assert!(!view.can_write, "final");

    // A final summary is not edited, nor finalised again.
    let before = counts(s).await;
    let edit = summary::save(s, &doctor, input.clone()).await;
    assert_eq!(field_of(edit), ("admission_id".into(), ValidationReason::Invalid));
    let again = summary::finalise(s, &doctor, &stay.id).await;
    assert_eq!(field_of(again), ("admission_id".into(), ValidationReason::Invalid));
    assert_eq!(counts(s).await, before, "nothing written");
    let stored = summary::view(s, &doctor, &stay.id).await.unwrap().summary.unwrap();
    assert_eq!(stored, done);
}

/// A haemoglobin ordered on the ward round and resulted by the lab.
async fn lab_result(h: &Hospital, admission: &str, value: &str) -> hms_core::clinical::LabResult {
    let s = &h.w.env.store;
    let input = OrderInput {
        admission_id: admission.into(),
        kind: "lab".into(),
        lab_test_id: Some(h.w.hb.clone()),
        ..Default::default()
    };
    let order = orders::order(s, &h.doctor, input).await.unwrap();
    lab::enter_result(s, &h.lab, order.lab_order_id.as_deref().unwrap(), value).await.unwrap()
}

#[tokio::test]
async fn the_follow_up_falls_after_the_discharge_day_and_a_final_summary_needs_a_diagnosis() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let stay = stays::admit(s, &h.doctor, h.admit_input(0, Some(&h.a1))).await.unwrap();
    // In hospital on 1 Dec: the follow-up must be after today.
    let today =
        summary::save(s, &h.doctor, SummaryInput { follow_up_on: Some("2026-12-01".into()), ..draft(&h, &stay.id) })
            .await;
    assert_eq!(field_of(today), ("follow_up_on".into(), ValidationReason::OutOfRange));
    let far =
        summary::save(s, &h.doctor, SummaryInput { follow_up_on: Some("2027-12-03".into()), ..draft(&h, &stay.id) })
            .await;
    assert_eq!(field_of(far), ("follow_up_on".into(), ValidationReason::OutOfRange));
    // A draft with a follow-up on 3 Dec and no diagnosis yet; the patient leaves on 3 Dec.
    let input = SummaryInput { follow_up_on: Some("2026-12-03".into()), diagnoses: vec![], ..draft(&h, &stay.id) };
    summary::save(s, &h.doctor, input.clone()).await.unwrap();
    h.at(48);
    let doctor = h.doctor.clone();
    let discharge =
        DischargeInput { admission_id: stay.id.clone(), discharge_type: "referred".into(), ..Default::default() };
    stays::discharge(s, &doctor, discharge).await.unwrap();
    let no_diagnosis = summary::finalise(s, &doctor, &stay.id).await;
    assert_eq!(field_of(no_diagnosis), ("diagnoses".into(), ValidationReason::Required));
    let with_diagnosis = SummaryInput { diagnoses: draft(&h, &stay.id).diagnoses, ..input };
    // Saved now, the follow-up on the discharge day is refused; the day after passes.
    let same_day = summary::save(s, &doctor, with_diagnosis.clone()).await;
    assert_eq!(field_of(same_day), ("follow_up_on".into(), ValidationReason::OutOfRange));
    summary::save(s, &doctor, SummaryInput { follow_up_on: Some("2026-12-04".into()), ..with_diagnosis })
        .await
        .unwrap();
    let done = summary::finalise(s, &doctor, &stay.id).await.unwrap();
    assert_eq!(done.follow_up_on.as_deref(), Some("2026-12-04"));

    // A summary drafted in hospital whose follow-up the discharge overtook is not finalised.
    let other = stays::admit(s, &doctor, h.admit_input(1, Some(&h.a2))).await.unwrap();
    summary::save(s, &doctor, SummaryInput { follow_up_on: Some("2026-12-04".into()), ..draft(&h, &other.id) })
        .await
        .unwrap();
    h.at(72);
    let doctor = h.doctor.clone();
    let discharge =
        DischargeInput { admission_id: other.id.clone(), discharge_type: "home".into(), ..Default::default() };
    stays::discharge(s, &doctor, discharge).await.unwrap();
    let overtaken = summary::finalise(s, &doctor, &other.id).await;
    assert_eq!(field_of(overtaken), ("follow_up_on".into(), ValidationReason::OutOfRange));
}

#[tokio::test]
async fn bad_input_names_its_field_and_writes_nothing() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let stay = stays::admit(s, &h.doctor, h.admit_input(0, Some(&h.a1))).await.unwrap();
    let other = stays::admit(s, &h.doctor, h.admit_input(1, Some(&h.a2))).await.unwrap();
    // Another patient's result is not this stay's.
    let theirs = lab_result(&h, &other.id, "12.5").await;
    let before = counts(s).await;
    let bad = |f: &dyn Fn(&mut SummaryInput)| {
        let mut i = draft(&h, &stay.id);
        f(&mut i);
        i
    };
    let med = |f: &dyn Fn(&mut DischargeMedicineInput)| {
        bad(&|i| {
            let mut m = i.medicines[1].clone();
            f(&mut m);
            i.medicines = vec![m];
        })
    };
    let cases: Vec<(SummaryInput, &str, ValidationReason)> = vec![
        (bad(&|i| i.admission_id = "nope".into()), "admission_id", ValidationReason::Invalid),
        (bad(&|i| i.diagnoses[0].code = "ZZZ.9".into()), "diagnoses.0.code", ValidationReason::Invalid),
        (bad(&|i| i.diagnoses[1].text = " ".into()), "diagnoses.1.code", ValidationReason::Required),
        (bad(&|i| i.diagnoses[1].text = "x".repeat(201)), "diagnoses.1.text", ValidationReason::TooLong),
        (
            bad(&|i| i.diagnoses = vec![SummaryDiagnosisInput { code: "A01.0".into(), text: String::new() }; 21]),
            "diagnoses",
            ValidationReason::OutOfRange,
        ),
        (bad(&|i| i.course = "x".repeat(4001)), "course", ValidationReason::TooLong),
        (bad(&|i| i.advice = "x".repeat(4001)), "advice", ValidationReason::TooLong),
        (
            bad(&|i| {
                i.investigations =
                    vec![InvestigationInput { lab_result_id: Some(theirs.id.clone()), note: String::new() }]
            }),
            "investigations.0.lab_result_id",
            ValidationReason::Invalid,
        ),
        (
            bad(&|i| i.investigations = vec![InvestigationInput { lab_result_id: None, note: "  ".into() }]),
            "investigations.0.note",
            ValidationReason::Required,
        ),
        (med(&|m| m.medicine_id = String::new()), "medicines.0.medicine_id", ValidationReason::Required),
        (med(&|m| m.medicine_id = "nope".into()), "medicines.0.medicine_id", ValidationReason::Invalid),
        (med(&|m| m.dose = String::new()), "medicines.0.dose", ValidationReason::Required),
        (med(&|m| m.dose_unit = " ".into()), "medicines.0.dose_unit", ValidationReason::Required),
        (med(&|m| m.schedule = String::new()), "medicines.0.schedule", ValidationReason::Required),
        (med(&|m| m.schedule = "twice".into()), "medicines.0.schedule", ValidationReason::Invalid),
        (med(&|m| m.days = None), "medicines.0.days", ValidationReason::Required),
        (med(&|m| m.days = Some(0)), "medicines.0.days", ValidationReason::OutOfRange),
        (med(&|m| m.days = Some(366)), "medicines.0.days", ValidationReason::OutOfRange),
        (med(&|m| m.prn = true), "medicines.0.schedule", ValidationReason::Invalid),
        (
            med(&|m| {
                m.prn = true;
                m.schedule = String::new();
            }),
            "medicines.0.instructions",
            ValidationReason::Required,
        ),
        (bad(&|i| i.follow_up_on = Some("10/12/2026".into())), "follow_up_on", ValidationReason::Invalid),
        (bad(&|i| i.follow_up_doctor_id = Some("nope".into())), "follow_up_doctor_id", ValidationReason::Invalid),
    ];
    for (input, field, reason) in cases {
        let r = summary::save(s, &h.doctor, input).await;
        assert_eq!(field_of(r), (field.to_string(), reason), "{field}");
    }
    assert_eq!(counts(s).await, before, "nothing written");
    let unknown = summary::finalise(s, &h.doctor, "nope").await;
    assert_eq!(field_of(unknown), ("admission_id".into(), ValidationReason::Invalid));
}

#[tokio::test]
async fn only_doctors_write_it_clinicians_read_it_and_a_restricted_chart_stays_closed() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let stay = stays::admit(s, &h.doctor, h.admit_input(0, Some(&h.a1))).await.unwrap();
    for (who, a) in [("nurse", &h.nurse), ("reception", &h.desk), ("lab", &h.lab), ("admin", &h.admin)] {
        let r = summary::save(s, a, draft(&h, &stay.id)).await;
        assert!(matches!(r, Err(Error::Forbidden { .. })), "{who} writes no summary");
        let r = summary::finalise(s, a, &stay.id).await;
        assert!(matches!(r, Err(Error::Forbidden { .. })), "{who} finalises none");
    }
    for (who, a) in [("reception", &h.desk), ("lab", &h.lab)] {
        assert!(matches!(summary::view(s, a, &stay.id).await, Err(Error::Forbidden { .. })), "{who} reads none");
    }
    summary::save(s, &h.doctor, draft(&h, &stay.id)).await.unwrap();
    summary::view(s, &h.admin, &stay.id).await.unwrap();
    hms_core::clinical::restriction::restrict(s, &h.admin, &h.patients[0], "VIP").await.unwrap();
    let r = summary::view(s, &h.nurse, &stay.id).await;
    assert!(matches!(r, Err(Error::ChartRestricted { .. })), "{r:?}");
}

#[tokio::test]
async fn the_printed_summary_reads_back_with_the_patient_diagnoses_medicines_and_follow_up() {
    let h = hospital().await;
    let s = &h.w.env.store;
    let stay = stays::admit(s, &h.doctor, h.admit_input(0, Some(&h.a1))).await.unwrap();
    let none = summary_pdf::summary_pdf(s, &h.doctor, &stay.id).await;
    assert_eq!(field_of(none), ("admission_id".into(), ValidationReason::Required), "nothing to print yet");
    summary::save(s, &h.doctor, draft(&h, &stay.id)).await.unwrap();
    let draft_pdf = summary_pdf::summary_pdf(s, &h.nurse, &stay.id).await.unwrap();
    assert!(pdf_text(&draft_pdf.pdf).contains("DRAFT"));
    h.at(48);
    let doctor = h.doctor.clone();
    let discharge =
        DischargeInput { admission_id: stay.id.clone(), discharge_type: "against_advice".into(), ..Default::default() };
    stays::discharge(s, &doctor, discharge).await.unwrap();
    summary::finalise(s, &doctor, &stay.id).await.unwrap();
    let printed = summary_pdf::summary_pdf(s, &doctor, &stay.id).await.unwrap();
    assert!(printed.pdf.starts_with(b"%PDF"));
    let p = &printed.printout;
    assert_eq!((p.kind, p.admission_id.as_deref()), (PrintKind::DischargeSummary, Some(stay.id.as_str())));
    assert_eq!(p.patient_id, h.patients[0]);
    assert!(printed.file_name.starts_with("discharge-summary-") && printed.file_name.ends_with("-20261203.pdf"));
    let audit: String = sqlx::query_scalar("SELECT action FROM audit_log ORDER BY rowid DESC LIMIT 1")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(audit, "inpatient.print_summary");
    let text = pdf_text(&printed.pdf);
    let patient = hms_core::patients::open(s, &doctor, &h.patients[0]).await.unwrap();
    for expected in [
        "DISCHARGE SUMMARY",
        patient.mrn.as_str(),
        patient.family_name.as_str(),
        "A01.0",
        "Dehydration, corrected",
        "Against medical advice",
        "Amoxicillin",
        "1 capsule · 1-1-1 · 5 days",
        "(PRN)",
        "for fever above 38.5 °C",
        "Drink plenty of water.",
        "10/12/2026",
        "Afebrile from day 2",
    ] {
        assert!(text.to_lowercase().contains(&expected.to_lowercase()), "{expected} in:\n{text}");
    }
    assert!(!text.contains("DRAFT"));
    // Listed on the patient's page for clinicians, and printed again from its record.
    let listed = printouts::list(s, &doctor, &PrintoutsOf::Patient(h.patients[0].clone())).await.unwrap();
    assert!(listed.iter().any(|l| l.id == p.id));
    let again = printouts::reprint(s, &doctor, &p.id).await.unwrap();
    assert_eq!(
        (again.printout.reprint_of.as_deref(), again.printout.kind),
        (Some(p.id.as_str()), PrintKind::DischargeSummary)
    );
    assert_ne!(again.file_name, printed.file_name);
    let desk = printouts::list(s, &h.desk, &PrintoutsOf::Patient(h.patients[0].clone())).await.unwrap();
    assert!(desk.iter().all(|l| l.kind != PrintKind::DischargeSummary), "reception sees no clinical papers");
}

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
