//! FHIR R4 import (issue 18): a patient's Bundle into an empty clinic (preview writes
//! nothing; a second import changes nothing), the round trip of a whole clinic's NDJSON
//! export, resources HMS does not store counted, bad input refused naming the resource
//! and the element with nothing of that patient half-imported, MedicationRequests from
//! another system (Synthea's shape) as prescriptions, and lab results with their tests.

mod common;
#[path = "common/pharmacy.rs"]
mod pharmacy;
#[path = "common/ward.rs"]
mod ward;

use chrono::Duration;
use hms_core::clinical::{
    lab, prescribing, visits, AllergyInput, Certainty, DiagnosisInput, PrescriptionInput, Severity, VisitInput,
    VitalsInput,
};
use hms_core::fhir::import::{self, ImportReport, InputFile};
use hms_core::schedule::{queue, staff};
use hms_core::{Authorized, Error, Store};
use pharmacy::{pharmacy, Pharmacy};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A visit with vitals, a coded and a free-text diagnosis, a lab result, an allergy to
/// penicillin and amoxicillin prescribed despite it (with a reason) for the pharmacy's
/// patient; the visit is closed.
async fn record(p: &Pharmacy) {
    let s = &p.w.env.store;
    let patient = p.w.patient.clone();
    let appointment = queue::walk_in(s, &p.admin, &patient, &p.w.doctor_staff, "fever").await.unwrap();
    let input = VisitInput { patient_id: patient.clone(), appointment_id: Some(appointment.id), ..Default::default() };
    let visit = visits::start_visit(s, &p.doctor, input).await.unwrap().id;
    let vitals = VitalsInput {
        patient_id: patient.clone(),
        visit_id: Some(visit.clone()),
        temperature_c_x10: Some(384),
        pulse: Some(96),
        bp_systolic: Some(132),
        bp_diastolic: Some(86),
        resp_rate: Some(18),
        spo2: Some(97),
        weight_g: Some(72_500),
        height_mm: Some(1_725),
        pain: Some(4),
        ..Default::default()
    };
    visits::record_vitals(s, &p.nurse, vitals).await.unwrap();
    let dx = DiagnosisInput { icd10: Some("J06.9".into()), text: String::new(), certainty: Certainty::Final };
    visits::add_diagnosis(s, &p.doctor, &visit, dx).await.unwrap();
    let free = DiagnosisInput { icd10: None, text: "Viral fever".into(), certainty: Certainty::Provisional };
    visits::add_diagnosis(s, &p.doctor, &visit, free).await.unwrap();
    let order = lab::order_lab_tests(s, &p.doctor, &visit, vec![p.w.hb.clone()], String::new()).await.unwrap();
    lab::enter_result(s, &p.lab, &order[0].id, "11.2").await.unwrap();
    let allergy = AllergyInput {
        patient_id: patient.clone(),
        substance: "Penicillin".into(),
        reaction: "Rash".into(),
        severity: Severity::Severe,
        allergen: None,
    };
    visits::add_allergy(s, &p.doctor, allergy).await.unwrap();
    let rx = PrescriptionInput {
        medicine_id: p.w.amoxicillin.clone(),
        dose: "1".into(),
        dose_unit: "capsule".into(),
        route: "oral".into(),
        frequency: "1-1-1".into(),
        duration_days: Some(5),
        instructions: "after food".into(),
        override_reason: Some("tolerated amoxicillin last year".into()),
    };
    prescribing::prescribe(s, &p.doctor, &visit, rx).await.unwrap();
    visits::close_visit(s, &p.doctor, &visit).await.unwrap();
}

/// An empty clinic (its administrator and a doctor with the source's doctor's name), its
/// clock a day after `source`'s.
async fn empty_clinic(source: &Store) -> (common::Env, Authorized) {
    let (env, slot) = common::with_admin().await;
    let admin = slot.authorize(&env.store).await.unwrap();
    env.store.set_now(Some(source.now() + Duration::days(1)));
    let names: Vec<String> = sqlx::query_scalar("SELECT full_name FROM staff WHERE role = 'doctor' ORDER BY full_name")
        .fetch_all(source.pool())
        .await
        .unwrap();
    for full_name in names {
        let input = staff::StaffInput { full_name, role: "doctor".into(), ..Default::default() };
        staff::add_staff(&env.store, &admin, input).await.unwrap();
    }
    (env, admin)
}

fn counts(c: &[import::Count]) -> BTreeMap<String, u32> {
    c.iter().map(|c| (c.kind.clone(), c.count)).collect()
}

fn file(name: &str, v: &Value) -> InputFile {
    InputFile { name: name.into(), data: serde_json::to_vec(v).unwrap() }
}

async fn n(s: &Store, table: &str) -> i64 {
    common::count(s, table).await
}

/// Audit entries but the ICD-10 table's loading (a reference table, loaded on first use: the
/// preview loads it to look codes up as the import will).
async fn audited(s: &Store) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action <> 'icd10.load'").fetch_one(s.pool()).await.unwrap()
}

#[tokio::test]
async fn a_patients_bundle_previews_imports_and_imports_again_as_nothing_new() {
    let p = pharmacy().await;
    record(&p).await;
    let src = &p.w.env.store;
    let export = hms_core::fhir::export_patient(src, &p.doctor, &p.w.patient).await.unwrap();
    let files = vec![InputFile { name: export.file_name(), data: export.json.clone() }];
    let (env, admin) = empty_clinic(src).await;
    let s = &env.store;
    let before = (n(s, "patients").await, n(s, "change_log").await, audited(s).await);

    // The preview: what would be written, and nothing is.
    let mut seen = Vec::new();
    let preview = import::preview(s, &admin, &files, |x| seen.push(x)).await.unwrap();
    assert!(!preview.written);
    assert_eq!((preview.patients, preview.patients_new, preview.patients_refused), (1, 1, 0), "{preview:?}");
    let created = counts(&preview.created);
    let expected: BTreeMap<String, u32> = [
        ("patients", 1),
        ("visits", 1),
        ("vitals", 1),
        ("lab_results", 1),
        ("lab_tests", 1),
        ("diagnoses", 2),
        ("allergies", 1),
        ("medicines", 1),
        ("prescriptions", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(created, expected);
    let not_stored = counts(&preview.not_stored);
    for kind in ["Organization", "Practitioner", "Appointment"] {
        assert!(not_stored.get(kind).copied().unwrap_or(0) >= 1, "{kind} counted: {not_stored:?}");
    }
    assert!(!not_stored.keys().any(|k| k.starts_with("MedicationRequest")), "{not_stored:?}");
    assert!(!not_stored.keys().any(|k| k.starts_with("Observation")), "{not_stored:?}");
    assert!(preview.problems.is_empty(), "{:?}", preview.problems);
    assert_eq!(seen.last().map(|x| (x.patients_done, x.patients_total)), Some((1, 1)));
    let after_preview = (n(s, "patients").await, n(s, "change_log").await, audited(s).await);
    assert_eq!(after_preview, before, "a preview writes nothing");

    // The import does what the preview said.
    let report = import::import(s, &admin, &files, |_| {}).await.unwrap();
    assert!(report.written);
    assert_eq!(counts(&report.created), expected);
    let (id, mrn, legacy, city): (String, String, String, String) =
        sqlx::query_as("SELECT id, mrn, legacy_mrn, city FROM patients").fetch_one(s.pool()).await.unwrap();
    assert_eq!(id, p.w.patient, "the FHIR id (a UUID) is the HMS id");
    let source_mrn: String =
        sqlx::query_scalar("SELECT mrn FROM patients WHERE id = ?").bind(&id).fetch_one(src.pool()).await.unwrap();
    assert_eq!(legacy, source_mrn, "the other clinic's MRN is kept as the legacy MRN");
    assert_ne!(mrn, "");
    assert_eq!(city, "");
    let vitals: (i64, i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT temperature_c_x10, pulse, bp_systolic, bp_diastolic, weight_g, pain FROM vitals WHERE patient_id = ?",
    )
    .bind(&id)
    .fetch_one(s.pool())
    .await
    .unwrap();
    assert_eq!(vitals, (384, 96, 132, 86, 72_500, 4));
    let dx: Vec<(Option<String>, String, String)> =
        sqlx::query_as("SELECT icd10, text, certainty FROM diagnoses ORDER BY icd10 IS NULL")
            .fetch_all(s.pool())
            .await
            .unwrap();
    assert_eq!(dx[0].0.as_deref(), Some("J06.9"));
    assert_eq!((dx[1].0.as_deref(), dx[1].1.as_str(), dx[1].2.as_str()), (None, "Viral fever", "provisional"));
    let allergy: (String, String, String) =
        sqlx::query_as("SELECT substance, reaction, severity FROM allergies").fetch_one(s.pool()).await.unwrap();
    assert_eq!(allergy, ("Penicillin".into(), "Rash".into(), "severe".into()));
    let doctor: String = sqlx::query_scalar("SELECT s.full_name FROM visits v JOIN staff s ON s.id = v.doctor_id")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(doctor, "Dr Anil Rao", "the visit's doctor: the staff member with the Practitioner's name");
    // The prescription: the medicine added to the list as name, strength and form; the
    // allergy check ran and flagged it, stored with the import's override reason.
    type Rx = (String, String, String, String, String, String, String, Option<i64>, String, Option<String>, String);
    let rx: Rx =
        sqlx::query_as(
            "SELECT m.name, m.strength, m.form, p.dose, p.dose_unit, p.route, p.frequency, p.duration_days,
             p.instructions, p.override_reason, p.warnings FROM prescriptions p JOIN medicines m ON m.id = p.medicine_id",
        )
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(
        (rx.0.as_str(), rx.1.as_str(), rx.2.as_str(), rx.3.as_str(), rx.4.as_str(), rx.5.as_str(), rx.6.as_str(), rx.7),
        ("Amoxicillin", "500 mg", "capsule", "1", "capsule", "oral", "1-1-1", Some(5))
    );
    assert_eq!(rx.8, "after food");
    assert_eq!(rx.9.as_deref(), Some(import::IMPORTED_OVERRIDE));
    assert!(rx.10.contains("Penicillin"), "the allergy warning is kept: {}", rx.10);
    // The lab result: under a resulted order of its visit, ordered elsewhere (nobody here,
    // no charge), its test added to the catalogue inactive, flagged as the file flagged it.
    type Lab = (String, String, Option<i64>, String, String, String, String, bool, Option<String>, String, bool);
    let lab: Lab = sqlx::query_as(
        "SELECT r.value, r.unit, r.value_milli, r.abnormal, t.code, t.name, t.unit, t.active, o.ordered_by, o.status,
                o.visit_id IS NOT NULL
         FROM lab_results r JOIN lab_orders o ON o.id = r.order_id JOIN lab_tests t ON t.id = r.test_id",
    )
    .fetch_one(s.pool())
    .await
    .unwrap();
    assert_eq!(
        lab,
        (
            "11.2".into(),
            "g/dL".into(),
            Some(11_200),
            "low".into(),
            "HB".into(),
            "Haemoglobin".into(),
            "g/dL".into(),
            false,
            None,
            "resulted".into(),
            true
        )
    );
    assert_eq!(n(s, "bill_lines").await, 0, "a result done elsewhere is not charged here");
    let actions = common::actions(s).await;
    assert_eq!(actions.iter().filter(|a| *a == "fhir.import").count(), 2, "the patient's write and the import's");

    // Again: nothing new, nothing written but the import's own audit entry.
    let before = (n(s, "patients").await, n(s, "change_log").await, n(s, "audit_log").await);
    let again = import::import(s, &admin, &files, |_| {}).await.unwrap();
    assert_eq!((again.patients_new, again.patients_matched), (0, 1));
    assert!(again.created.is_empty(), "{:?}", again.created);
    assert_eq!(
        again.unchanged,
        1 + 1 + 8 + 1 + 2 + 1 + 1,
        "the patient, visit, vital signs, lab result, diagnoses, allergy, prescription"
    );
    let after = (n(s, "patients").await, n(s, "change_log").await, n(s, "audit_log").await);
    assert_eq!(after, (before.0, before.1, before.2 + 1));
    let detail: String =
        sqlx::query_scalar("SELECT detail FROM audit_log ORDER BY seq DESC LIMIT 1").fetch_one(s.pool()).await.unwrap();
    let detail: Value = serde_json::from_str(&detail).unwrap();
    assert_eq!((detail["patients_new"].as_u64(), detail["created"].as_u64()), (Some(0), Some(0)), "{detail}");
}

/// What the standard lets differ between two exports of the same records in two clinics:
/// the clinic (Organization, the MRN's system and value, the legacy MRN the import keeps),
/// the staff's ids (Practitioner references), when a record was entered (`recordedDate`), the
/// ids of Observations (HMS derives a vital sign's id from its row's, and the importing
/// clinic's vitals rows have ids of their own) and `meta`. Appointments are not imported, so
/// a visit's `appointment` goes too; a prescription's `requester` is the staff member
/// (another id here) and its `authoredOn` when it was entered.
fn normalised(mut r: Value) -> Value {
    let Some(m) = r.as_object_mut() else { return r };
    for key in [
        "meta",
        "recordedDate",
        "managingOrganization",
        "serviceProvider",
        "participant",
        "appointment",
        "requester",
        "authoredOn",
    ] {
        m.remove(key);
    }
    if m["resourceType"] == "Observation" {
        m.remove("id");
    }
    if let Some(Value::Array(ids)) = m.get_mut("identifier") {
        ids.retain(|i| matches!(i.pointer("/type/coding/0/code").and_then(Value::as_str), Some("NI" | "MB")));
    }
    r
}

/// The resources of the types the import stores, normalised, sorted, by type.
fn comparable(dir: &std::path::Path) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for ty in ["Patient", "Encounter", "Observation", "Condition", "AllergyIntolerance", "MedicationRequest"] {
        let text = std::fs::read_to_string(dir.join(format!("{ty}.ndjson"))).unwrap_or_default();
        let mut items: Vec<String> = text
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|r| match ty {
                "Encounter" => r["class"]["code"] == "AMB",
                _ => true,
            })
            .map(|r| normalised(r).to_string())
            .collect();
        items.sort();
        out.insert(ty.to_string(), items);
    }
    out
}

fn ndjson_files(dir: &std::path::Path) -> Vec<InputFile> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ndjson"))
        .collect();
    paths.sort();
    paths.iter().map(|p| import::read_file(p).unwrap()).collect()
}

#[tokio::test]
async fn a_clinic_exported_imported_into_an_empty_one_and_exported_again_is_the_same() {
    let p = pharmacy().await;
    record(&p).await;
    let src = &p.w.env.store;
    // A second patient with a record of their own.
    let other = hms_core::patients::PatientInput {
        given_name: "Meena".into(),
        family_name: "Iyer".into(),
        sex: "female".into(),
        birth_date: Some("1992-11-30".into()),
        phones: vec!["+91 98450 11111".into()],
        address: "12 Lake Road".into(),
        city: "Mysuru".into(),
        national_id: "1234-5678-9012".into(),
        ..Default::default()
    };
    let other = hms_core::patients::register(src, &p.admin, other).await.unwrap().id;
    let input =
        VisitInput { patient_id: other.clone(), doctor_id: Some(p.w.doctor_staff.clone()), ..Default::default() };
    let visit = visits::start_visit(src, &p.doctor, input).await.unwrap().id;
    let vitals =
        VitalsInput { patient_id: other, visit_id: Some(visit.clone()), pulse: Some(72), ..Default::default() };
    visits::record_vitals(src, &p.nurse, vitals).await.unwrap();
    // A long-term prescription, stopped with a reason.
    let rx = PrescriptionInput {
        medicine_id: p.w.paracetamol.clone(),
        dose: "0.5".into(),
        dose_unit: "tablet".into(),
        frequency: "SOS".into(),
        ..Default::default()
    };
    let rx = prescribing::prescribe(src, &p.doctor, &visit, rx).await.unwrap().id;
    prescribing::stop_prescription(src, &p.doctor, &rx, "no more fever").await.unwrap();

    let first = tempfile::tempdir().unwrap();
    hms_core::fhir::export_clinic(src, &p.admin, first.path(), |_| {}).await.unwrap();
    let (env, admin) = empty_clinic(src).await;
    let report = import::import(&env.store, &admin, &ndjson_files(first.path()), |_| {}).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!((report.patients, report.patients_new), (2, 2));
    let second = tempfile::tempdir().unwrap();
    hms_core::fhir::export_clinic(&env.store, &admin, second.path(), |_| {}).await.unwrap();
    let (a, b) = (comparable(first.path()), comparable(second.path()));
    assert_eq!(a["Patient"].len(), 2);
    assert_eq!(a["Observation"].len(), 10, "9 vital signs and a lab result");
    assert_eq!(a["MedicationRequest"].len(), 2);
    assert!(
        a["MedicationRequest"].iter().any(|r| r.contains("\"stopped\"") && r.contains("no more fever")),
        "{:?}",
        a["MedicationRequest"]
    );
    for ty in a.keys() {
        assert_eq!(a[ty], b[ty], "{ty} after the round trip");
    }
}

fn patient(id: &str) -> Value {
    json!({
        "resourceType": "Patient",
        "id": id,
        "name": [{ "family": "Okafor", "given": ["Amina"] }],
        "gender": "female",
        "birthDate": "1990-04-02",
    })
}

fn bundle(resources: Vec<Value>) -> Value {
    let entry: Vec<Value> = resources
        .into_iter()
        .map(|r| json!({ "fullUrl": format!("urn:uuid:{}", r["id"].as_str().unwrap()), "resource": r }))
        .collect();
    json!({ "resourceType": "Bundle", "type": "transaction", "entry": entry })
}

const P1: &str = "0190b6a4-0000-7000-8000-000000000001";
const P2: &str = "0190b6a4-0000-7000-8000-000000000002";
const E1: &str = "0190b6a4-0000-7000-8000-0000000000e1";

fn has(report: &ImportReport, resource: &str, field: &str) -> bool {
    report.problems.iter().any(|p| p.resource.contains(resource) && p.field.contains(field))
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_resource_and_field_and_nothing_of_that_patient_goes_in() {
    let p = pharmacy().await;
    let (env, admin) = empty_clinic(&p.w.env.store).await;
    let s = &env.store;
    let before = n(s, "change_log").await;
    let encounter = |id: &str, patient: &str, start: &str| {
        json!({ "resourceType": "Encounter", "id": id, "status": "finished",
                "class": { "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB" },
                "subject": { "reference": format!("urn:uuid:{patient}") }, "period": { "start": start } })
    };
    let files = vec![
        InputFile { name: "notes.txt".into(), data: b"this is not JSON".to_vec() },
        file("plain.json", &json!({ "hello": "world" })),
        file(
            "stu3.json",
            &json!({ "resourceType": "Condition", "id": "c", "clinicalStatus": "active",
            "subject": { "reference": format!("Patient/{P1}") } }),
        ),
        file("r5.json", &json!({ "resourceType": "Bundle", "type": "collection", "issues": {}, "entry": [] })),
        // A patient whose condition refers to an encounter that is not there: none of them goes in.
        file(
            "broken.json",
            &bundle(vec![
                patient(P1),
                encounter(E1, P1, "2026-11-01T09:00:00Z"),
                json!({ "resourceType": "Condition", "id": "0190b6a4-0000-7000-8000-0000000000c1",
                "code": { "text": "Asthma" }, "subject": { "reference": format!("urn:uuid:{P1}") },
                "encounter": { "reference": "urn:uuid:0190b6a4-0000-7000-8000-00000000dead" } }),
            ]),
        ),
        // No name; then a date of birth in the future.
        file("noname.json", &json!({ "resourceType": "Patient", "id": P2, "gender": "male" })),
        file(
            "future.json",
            &bundle(vec![{
                let mut x = patient("0190b6a4-0000-7000-8000-000000000003");
                x["birthDate"] = "2099-01-01".into();
                x
            }]),
        ),
        // A visit in the future, and a temperature in the wrong unit.
        file(
            "later.json",
            &bundle(vec![
                patient("0190b6a4-0000-7000-8000-000000000004"),
                encounter("0190b6a4-0000-7000-8000-0000000000e4", "0190b6a4-0000-7000-8000-000000000004", "2099-01-01"),
            ]),
        ),
        file(
            "unit.json",
            &bundle(vec![
                patient("0190b6a4-0000-7000-8000-000000000005"),
                json!({ "resourceType": "Observation", "id": "0190b6a4-0000-7000-8000-0000000000b5", "status": "final",
                "code": { "coding": [{ "system": "http://loinc.org", "code": "8310-5" }] },
                "subject": { "reference": "urn:uuid:0190b6a4-0000-7000-8000-000000000005" },
                "effectiveDateTime": "2026-11-01T09:00:00Z",
                "valueQuantity": { "value": 38.2, "system": "http://unitsofmeasure.org", "code": "kg" } }),
            ]),
        ),
        // And one good patient with a Claim HMS does not store: imported, the Claim counted.
        file(
            "good.json",
            &bundle(vec![
                patient("0190b6a4-0000-7000-8000-000000000006"),
                json!({ "resourceType": "Claim", "id": "0190b6a4-0000-7000-8000-0000000000f6" }),
            ]),
        ),
    ];
    let report = import::import(s, &admin, &files, |_| {}).await.unwrap();
    let problems = format!("{:#?}", report.problems);
    assert!(has(&report, "notes.txt", "file") && problems.contains("not JSON"), "{problems}");
    assert!(has(&report, "plain.json", "resourceType"), "{problems}");
    assert!(has(&report, "Condition/c", "Condition") && problems.contains("STU3"), "{problems}");
    assert!(has(&report, "r5.json", "Bundle") && problems.contains("R5"), "{problems}");
    assert!(has(&report, "Condition/0190b6a4-0000-7000-8000-0000000000c1", "Condition.encounter"), "{problems}");
    assert!(has(&report, &format!("Patient/{P2}"), "Patient.name.given"), "{problems}");
    assert!(has(&report, "Patient/0190b6a4-0000-7000-8000-000000000003", "Patient.birthDate"), "{problems}");
    assert!(problems.contains("in the future"), "{problems}");
    assert!(has(&report, "Encounter/0190b6a4-0000-7000-8000-0000000000e4", "Encounter.period.start"), "{problems}");
    assert!(has(&report, "Observation/0190b6a4-0000-7000-8000-0000000000b5", "valueQuantity.code"), "{problems}");
    assert_eq!((report.patients_new, report.patients_refused), (1, 5), "{report:?}");
    assert_eq!(counts(&report.not_stored).get("Claim"), Some(&1));
    // Only the good patient went in: none of the refused patients' resources.
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM patients").fetch_all(s.pool()).await.unwrap();
    assert_eq!(ids, vec!["0190b6a4-0000-7000-8000-000000000006".to_string()]);
    assert_eq!((n(s, "visits").await, n(s, "diagnoses").await, n(s, "vitals").await), (0, 0, 0));
    assert!(n(s, "change_log").await > before);
}

#[tokio::test]
async fn a_file_too_big_is_refused_before_it_is_read_and_import_needs_its_permission() {
    let p = pharmacy().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.ndjson");
    let f = std::fs::File::create(&path).unwrap();
    // A sparse file: its length says what it is without writing 256 MiB.
    f.set_len(import::MAX_FILE_BYTES + 1).unwrap();
    match import::read_file(&path) {
        Err(Error::Validation { field, message, .. }) => {
            assert_eq!(field, "file");
            assert!(message.contains("256 MiB"), "{message}");
        }
        other => panic!("{:?}", other.map(|f| f.name)),
    }
    let files = vec![file("p.json", &patient(P1))];
    match import::preview(&p.w.env.store, &p.doctor, &files, |_| {}).await {
        Err(Error::Forbidden { permission }) => assert_eq!(permission, "patients_import"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_patient_already_here_is_matched_by_national_id_or_the_duplicate_rule() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    // The pharmacy's patient is Ravi Sharma, born 1980-05-04: the same person from elsewhere.
    let mut ravi = patient("0190b6a4-0000-7000-8000-0000000000a1");
    ravi["name"] = json!([{ "family": "Sharma", "given": ["Ravi"] }]);
    ravi["gender"] = "male".into();
    ravi["birthDate"] = "1980-05-04".into();
    let allergy = json!({ "resourceType": "AllergyIntolerance", "id": "0190b6a4-0000-7000-8000-0000000000a2",
        "code": { "text": "Sulfa drugs" }, "criticality": "high",
        "patient": { "reference": "urn:uuid:0190b6a4-0000-7000-8000-0000000000a1" } });
    let files = vec![file("ravi.json", &bundle(vec![ravi, allergy]))];
    let before = n(s, "patients").await;
    let report = import::import(s, &p.admin, &files, |_| {}).await.unwrap();
    assert_eq!((report.patients_new, report.patients_matched), (0, 1), "{report:?}");
    assert_eq!(n(s, "patients").await, before);
    let allergy: (String, String) =
        sqlx::query_as("SELECT patient_id, severity FROM allergies WHERE substance = 'Sulfa drugs'")
            .fetch_one(s.pool())
            .await
            .unwrap();
    assert_eq!(allergy, (p.w.patient.clone(), "severe".into()), "the allergy joins the patient already here");
}

#[tokio::test]
async fn medication_requests_from_another_system_become_prescriptions_of_their_visits() {
    let p = pharmacy().await;
    let (env, admin) = empty_clinic(&p.w.env.store).await;
    let s = &env.store;
    // A medicine already on the list, named as the other system names it.
    let listed = hms_core::clinical::MedicineInput {
        name: "Acetaminophen".into(),
        strength: "325 MG".into(),
        form: "oral tablet".into(),
        ..Default::default()
    };
    let listed = prescribing::add_medicine(s, &admin, listed).await.unwrap().id;
    let (pat, enc, doc, med) = (P1, E1, "0190b6a4-0000-7000-8000-0000000000d0", "0190b6a4-0000-7000-8000-0000000000d9");
    let rx = |n: u8| format!("0190b6a4-0000-7000-8000-0000000000f{n}");
    let subject = json!({ "reference": format!("urn:uuid:{pat}") });
    let rxnorm = "http://www.nlm.nih.gov/research/umls/rxnorm";
    // Synthea's shape: a Medication by reference with an RxNorm code, a dose without a unit,
    // a timing as a repeat; stopped.
    let stopped = json!({ "resourceType": "MedicationRequest", "id": rx(1), "status": "stopped", "intent": "order",
        "medicationReference": { "reference": format!("urn:uuid:{med}") }, "subject": subject,
        "encounter": { "reference": format!("urn:uuid:{enc}") }, "authoredOn": "2026-11-01T09:00:00Z",
        "dosageInstruction": [{ "sequence": 1, "asNeededBoolean": false,
            "timing": { "repeat": { "frequency": 2, "period": 1, "periodUnit": "d" } },
            "doseAndRate": [{ "doseQuantity": { "value": 1.0 } }] }] });
    // Coded only (no text), the dose in words only, as needed, for two weeks: the listed medicine.
    let active = json!({ "resourceType": "MedicationRequest", "id": rx(2), "status": "active", "intent": "order",
        "medicationCodeableConcept": { "coding": [{ "system": rxnorm, "code": "313782", "display": "Acetaminophen 325 MG Oral Tablet" }] },
        "subject": subject, "encounter": { "reference": format!("urn:uuid:{enc}") }, "authoredOn": "2026-11-01T09:00:00Z",
        "dosageInstruction": [{ "text": "2 tablets when needed for pain", "asNeededBoolean": true }],
        "dispenseRequest": { "expectedSupplyDuration": { "value": 2, "unit": "weeks", "system": "http://unitsofmeasure.org", "code": "wk" } } });
    let plan = json!({ "resourceType": "MedicationRequest", "id": rx(3), "status": "active", "intent": "plan",
        "medicationCodeableConcept": { "text": "Metformin 500 mg tablet" }, "subject": subject });
    let no_visit = json!({ "resourceType": "MedicationRequest", "id": rx(4), "status": "completed", "intent": "order",
        "medicationCodeableConcept": { "text": "Metformin 500 mg tablet" }, "subject": subject });
    let files = vec![
        file(
            "synthea.json",
            &bundle(vec![
                patient(pat),
                json!({ "resourceType": "Practitioner", "id": doc, "name": [{ "text": "Dr Anil Rao" }] }),
                json!({ "resourceType": "Encounter", "id": enc, "status": "finished",
                    "class": { "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB" },
                    "subject": subject, "period": { "start": "2026-11-01T09:00:00Z", "end": "2026-11-01T09:30:00Z" },
                    "participant": [{ "individual": { "reference": format!("urn:uuid:{doc}") } }] }),
                json!({ "resourceType": "AllergyIntolerance", "id": "0190b6a4-0000-7000-8000-0000000000a7",
                    "code": { "text": "Penicillin" }, "patient": subject }),
                json!({ "resourceType": "Medication", "id": med, "code": { "text": "Penicillin V Potassium 250 MG Oral Tablet",
                    "coding": [{ "system": rxnorm, "code": "834061", "display": "Penicillin V Potassium 250 MG Oral Tablet" }] } }),
                stopped,
                active,
                plan,
                no_visit,
            ]),
        ),
        // A supply in months cannot be held as days: that patient is refused.
        file(
            "months.json",
            &bundle(vec![
                {
                    let mut other = patient(P2);
                    other["name"] = json!([{ "family": "Mensah", "given": ["Kofi"] }]);
                    other
                },
                json!({ "resourceType": "Encounter", "id": "0190b6a4-0000-7000-8000-0000000000e2", "status": "finished",
                    "class": { "code": "AMB" }, "subject": { "reference": format!("urn:uuid:{P2}") },
                    "period": { "start": "2026-11-02T09:00:00Z" },
                    "participant": [{ "individual": { "reference": format!("urn:uuid:{doc}") } }] }),
                json!({ "resourceType": "MedicationRequest", "id": rx(5), "status": "active", "intent": "order",
                    "medicationCodeableConcept": { "text": "Metformin 500 mg tablet" },
                    "subject": { "reference": format!("urn:uuid:{P2}") },
                    "encounter": { "reference": "urn:uuid:0190b6a4-0000-7000-8000-0000000000e2" },
                    "dispenseRequest": { "expectedSupplyDuration": { "value": 3, "unit": "months", "code": "mo" } } }),
            ]),
        ),
    ];
    let preview = import::preview(s, &admin, &files, |_| {}).await.unwrap();
    let report = import::import(s, &admin, &files, |_| {}).await.unwrap();
    assert_eq!(counts(&preview.created), counts(&report.created), "the preview says what the import does");
    let created = counts(&report.created);
    assert_eq!(
        (created.get("prescriptions"), created.get("medicines"), created.get("visits")),
        (Some(&2), Some(&1), Some(&1)),
        "{created:?}"
    );
    let not_stored = counts(&report.not_stored);
    assert_eq!(not_stored.get("MedicationRequest (intent plan)"), Some(&1), "{not_stored:?}");
    assert_eq!(not_stored.get("MedicationRequest (not in an outpatient visit)"), Some(&1), "{not_stored:?}");
    assert_eq!(not_stored.get("Medication"), Some(&1), "{not_stored:?}");
    assert!(has(&report, &rx(5), "MedicationRequest.dispenseRequest.expectedSupplyDuration"), "{:?}", report.problems);
    assert_eq!((report.patients_new, report.patients_refused), (1, 1));

    type Row = (String, String, String, String, String, String, Option<i64>, String, Option<String>, String);
    let row = |id: String| async move {
        sqlx::query_as::<_, Row>(
            "SELECT p.medicine_id, m.name || '|' || m.strength || '|' || m.form, p.dose, p.dose_unit, p.frequency,
             p.starts_on, p.duration_days, p.instructions, p.override_reason, coalesce(p.ends_on, '') || '|' || p.stop_reason
             || '|' || (p.stopped_at IS NOT NULL) FROM prescriptions p JOIN medicines m ON m.id = p.medicine_id WHERE p.id = ?",
        )
        .bind(id)
        .fetch_one(s.pool())
        .await
        .unwrap()
    };
    let a = row(rx(1)).await;
    assert_eq!(a.1, "Penicillin V Potassium|250 MG|oral tablet", "added to the list, split");
    assert_eq!((a.2.as_str(), a.3.as_str(), a.4.as_str(), a.5.as_str()), ("1", "dose", "2 times a day", "2026-11-01"));
    assert_eq!(a.7, "RxNorm 834061", "the code kept as text");
    assert_eq!(a.8.as_deref(), Some(import::IMPORTED_OVERRIDE), "the penicillin allergy flagged it");
    assert_eq!(a.9, "|stopped in the system it was imported from|1");
    let b = row(rx(2)).await;
    assert_eq!(b.0, listed, "the medicine already on the list");
    assert_eq!((b.2.as_str(), b.3.as_str(), b.6), ("as directed", "(see instructions)", Some(14)));
    assert_eq!(b.7, "2 tablets when needed for pain; as needed; RxNorm 313782");
    assert_eq!((b.8, b.9.as_str()), (None, "2026-11-15||0"));

    let again = import::import(s, &admin, &files, |_| {}).await.unwrap();
    assert!(again.created.is_empty(), "{:?}", again.created);
}

/// A patient's transaction Bundle as Synthea writes it (`tests/fixtures/synthea-r4-patient.json`,
/// valid R4 by the validator: US Core profiles and extensions, identifiers of four kinds, the
/// doctor, hospital and place named by conditional references, SNOMED CT diagnoses, vital
/// signs with BMI, lab results without ranges, smoking status, a DiagnosticReport, an
/// Immunization, a Procedure, a CareTeam, a Claim, a Provenance, and a stay in hospital with a
/// lab result of its own) imports with no problem, into a clinic where its doctor is not on
/// the staff and the importer has no staff profile; again, it changes nothing.
#[tokio::test]
async fn a_synthea_patient_bundle_imports_without_problems() {
    let (env, slot) = common::with_admin().await;
    let admin = slot.authorize(&env.store).await.unwrap();
    let s = &env.store;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/synthea-r4-patient.json");
    let files = vec![import::read_file(&path).unwrap()];
    let preview = import::preview(s, &admin, &files, |_| {}).await.unwrap();
    let report = import::import(s, &admin, &files, |_| {}).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(counts(&preview.created), counts(&report.created), "the preview says what the import does");
    let expected: BTreeMap<String, u32> = [
        ("patients", 1),
        ("visits", 1),
        ("vitals", 1),
        ("lab_results", 3),
        ("lab_tests", 2),
        ("diagnoses", 1),
        ("prescriptions", 1),
        ("medicines", 1),
        ("staff", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(counts(&report.created), expected);
    let not_stored = counts(&report.not_stored);
    for kind in [
        "Encounter (inpatient stay)",
        "Observation (vital-signs)",
        "Observation (social-history)",
        "DiagnosticReport",
        "Immunization",
        "Procedure",
        "CareTeam",
        "Claim",
        "Provenance",
    ] {
        assert_eq!(not_stored.get(kind), Some(&1), "{kind}: {not_stored:?}");
    }

    let patient: (String, String, String, String, String) =
        sqlx::query_as("SELECT given_name, family_name, birth_date, national_id, legacy_mrn FROM patients")
            .fetch_one(s.pool())
            .await
            .unwrap();
    assert_eq!(
        patient,
        (
            "Loris284".into(),
            "Leffler128".into(),
            "1967-03-09".into(),
            "999-61-2475".into(),
            "6f3a2c1e-8b4d-4f0e-9a7c-2d5e1b3c4a01".into()
        )
    );
    // The doctor of the other hospital, named by a conditional reference: added inactive.
    let doctor: (String, bool, String) = sqlx::query_as(
        "SELECT s.full_name, s.active, s.qualifications FROM visits v JOIN staff s ON s.id = v.doctor_id",
    )
    .fetch_one(s.pool())
    .await
    .unwrap();
    assert_eq!(doctor, ("Dr. Tyson639 Crist667".into(), false, import::OUTSIDE_DOCTOR.into()));
    let vitals: (i64, i64, i64, i64, i64, i64, i64) =
        sqlx::query_as("SELECT height_mm, weight_g, bp_systolic, bp_diastolic, pulse, resp_rate, pain FROM vitals")
            .fetch_one(s.pool())
            .await
            .unwrap();
    assert_eq!(vitals, (1_753, 81_200, 128, 82, 74, 14, 2));
    let labs: Vec<(String, String, String, bool, bool)> = sqlx::query_as(
        "SELECT t.code, r.value || ' ' || r.unit, r.abnormal, t.active, o.visit_id IS NOT NULL
         FROM lab_results r JOIN lab_tests t ON t.id = r.test_id JOIN lab_orders o ON o.id = r.order_id
         ORDER BY r.resulted_at, t.code",
    )
    .fetch_all(s.pool())
    .await
    .unwrap();
    assert_eq!(
        labs,
        vec![
            ("2339-0".into(), "88.4 mg/dL".into(), "unknown".into(), false, true),
            ("4548-4".into(), "5.8 %".into(), "unknown".into(), false, true),
            ("2339-0".into(), "142 mg/dL".into(), "unknown".into(), false, false),
        ],
        "the stay's result is kept with no visit"
    );
    let dx: String = sqlx::query_scalar("SELECT text FROM diagnoses").fetch_one(s.pool()).await.unwrap();
    assert_eq!(dx, "Viral sinusitis (disorder) (http://snomed.info/sct 444814009)");

    let again = import::import(s, &admin, &files, |_| {}).await.unwrap();
    assert!(again.problems.is_empty(), "{:?}", again.problems);
    assert!(again.created.is_empty(), "{:?}", again.created);
    assert_eq!((again.patients_new, again.patients_matched), (0, 1));
}

/// A visit whose Practitioner is in the file but not on the staff here keeps that doctor
/// (added inactive, once for all their visits); a `urn:uuid:` reference to nothing is still a
/// broken reference.
#[tokio::test]
async fn a_visits_doctor_from_elsewhere_is_kept_and_a_broken_reference_refused() {
    let (env, slot) = common::with_admin().await;
    let admin = slot.authorize(&env.store).await.unwrap();
    let s = &env.store;
    let doc = "0190b6a4-0000-7000-8000-0000000000d0";
    let visit = |id: &str, patient: &str, who: &str| {
        json!({ "resourceType": "Encounter", "id": id, "status": "finished", "class": { "code": "AMB" },
            "subject": { "reference": format!("urn:uuid:{patient}") }, "period": { "start": "2026-11-02T09:00:00Z" },
            "participant": [{ "individual": { "reference": who } }] })
    };
    let mut other = patient(P2);
    other["name"] = json!([{ "family": "Mensah", "given": ["Kofi"] }]);
    let files = vec![file(
        "two.json",
        &bundle(vec![
            patient(P1),
            other,
            json!({ "resourceType": "Practitioner", "id": doc, "name": [{ "prefix": ["Dr"], "given": ["Amina"], "family": "Okafor" }] }),
            visit("0190b6a4-0000-7000-8000-0000000000e1", P1, &format!("urn:uuid:{doc}")),
            visit("0190b6a4-0000-7000-8000-0000000000e3", P1, &format!("Practitioner/{doc}")),
            visit("0190b6a4-0000-7000-8000-0000000000e2", P2, "urn:uuid:0190b6a4-0000-7000-8000-0000000000dd"),
        ]),
    )];
    let report = import::import(s, &admin, &files, |_| {}).await.unwrap();
    assert_eq!((report.patients_new, report.patients_refused), (1, 1));
    assert!(
        has(&report, "0190b6a4-0000-7000-8000-0000000000e2", "Encounter.participant.individual"),
        "{:?}",
        report.problems
    );
    assert_eq!(counts(&report.created).get("staff"), Some(&1));
    let doctors: Vec<(String, bool)> =
        sqlx::query_as("SELECT DISTINCT s.full_name, s.active FROM visits v JOIN staff s ON s.id = v.doctor_id")
            .fetch_all(s.pool())
            .await
            .unwrap();
    assert_eq!(doctors, vec![("Dr Amina Okafor".to_string(), false)]);
}
