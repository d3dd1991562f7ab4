//! FHIR R4 export (issue 18): a patient's record as a collection Bundle and the whole clinic
//! as Bulk Data NDJSON, checked by an independent validator from PyPI (fhir.resources 6.4.0,
//! R4 4.0.1; `make deps` installs it into ~/.cache/hms-fhir-venv, HMS_FHIR_PYTHON overrides
//! the interpreter): every resource type present and valid, a broken resource caught, the
//! mappings' codes, the references resolving inside a bundle, permissions and audit.

mod common;
#[path = "common/pharmacy.rs"]
mod pharmacy;
#[path = "common/ward.rs"]
mod ward;

use hms_core::clinical::attachments::{self, AttachmentInput};
use hms_core::clinical::{lab, visits, AllergyInput, Certainty, DiagnosisInput, Severity};
use hms_core::clinical::{VisitInput, VitalsInput};
use hms_core::fhir::{self, ExportProgress};
use hms_core::inpatients::{setup as wards, stays, AdmitInput, BedInput, WardInput};
use hms_core::schedule::queue;
use hms_core::stock::{dispensing, DispenseInput, DispenseLineInput};
use hms_core::{billing, Error};
use pharmacy::{pharmacy, Pharmacy};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every resource type the export maps.
const TYPES: &[&str] = &[
    "Organization",
    "Practitioner",
    "PractitionerRole",
    "Location",
    "Patient",
    "Appointment",
    "Encounter",
    "Observation",
    "Condition",
    "AllergyIntolerance",
    "MedicationRequest",
    "MedicationDispense",
    "DocumentReference",
    "Invoice",
];

/// The validator's interpreter; a clear failure when it is not installed.
fn python() -> PathBuf {
    let path = std::env::var_os("HMS_FHIR_PYTHON").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/hms-fhir-venv/bin/python")
    });
    assert!(
        path.exists(),
        "the FHIR validator is missing: {} does not exist. Run `make deps` (it installs PyPI \
         fhir.resources 6.4.0 into ~/.cache/hms-fhir-venv) or set HMS_FHIR_PYTHON",
        path.display()
    );
    path
}

/// Runs the validator over `paths`: (passed, its JSON report, its stderr).
fn validate(paths: &[&Path]) -> (bool, Value, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/fhir-validate.py");
    let out = Command::new(python()).arg(script).args(paths).output().expect("the validator runs");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_ne!(out.status.code(), Some(2), "the validator is missing or the wrong version: {stderr}");
    let report: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("validator output: {e}: {stderr}"));
    (out.status.success(), report, stderr)
}

fn types_of(report: &Value) -> BTreeSet<String> {
    report["types"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

/// The pharmacy's clinic with a record of every kind for its patient: a walk-in appointment
/// and its visit with vitals, a coded diagnosis, a lab result, an allergy, an attachment, a
/// prescription dispensed from stock (charged to a bill, then finalized), and an admission to
/// a ward bed. Answers the visit.
async fn full_record(p: &Pharmacy) -> String {
    let s = &p.w.env.store;
    let patient = p.w.patient.clone();
    let appointment = queue::walk_in(s, &p.admin, &patient, &p.w.doctor_staff, "fever").await.unwrap();
    let visit = visits::start_visit(
        s,
        &p.doctor,
        VisitInput { patient_id: patient.clone(), appointment_id: Some(appointment.id.clone()), ..Default::default() },
    )
    .await
    .unwrap()
    .id;
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
    let attachment = AttachmentInput {
        patient_id: patient.clone(),
        visit_id: Some(visit.clone()),
        file_name: "referral.pdf".into(),
        note: "Referral letter".into(),
    };
    attachments::add(s, &p.doctor, attachment, b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n").await.unwrap();
    p.receive(&p.counter, &p.para, "P-1", "2028-01-31", 100).await;
    let rx = p.prescribe(&p.w.paracetamol, Some(5)).await;
    let line = DispenseLineInput { prescription_id: rx, quantity: 15, complete: true, ..Default::default() };
    dispensing::dispense(s, &p.pharmacist, DispenseInput { store_id: p.counter.clone(), lines: vec![line] })
        .await
        .unwrap();
    let bill: String = sqlx::query_scalar("SELECT id FROM bills WHERE patient_id = ? AND status = 'draft'")
        .bind(&patient)
        .fetch_one(s.pool())
        .await
        .unwrap();
    billing::bills::finalize(s, &p.admin, &bill).await.unwrap();
    let ward = wards::add_ward(
        s,
        &p.admin,
        WardInput { name: "General".into(), kind: "general".into(), bed_service_id: None },
    )
    .await
    .unwrap()
    .id;
    let room = wards::add_room(s, &p.admin, &ward, "Room 1").await.unwrap().id;
    let bed =
        BedInput { ward_id: ward.clone(), room_id: Some(room), label: "A1".into(), tags: vec![], bed_service_id: None };
    let bed = wards::add_bed(s, &p.admin, bed).await.unwrap().id;
    let admit = AdmitInput {
        patient_id: patient,
        doctor_id: p.w.doctor_staff.clone(),
        reason: "Dehydration".into(),
        diagnosis_code: "E86.0".into(),
        expected_days: Some(2),
        ward_id: ward,
        bed_id: Some(bed),
        admitted_at: None,
    };
    stays::admit(s, &p.doctor, admit).await.unwrap();
    visit
}

fn resources_of(bundle: &Value) -> Vec<&Value> {
    bundle["entry"].as_array().unwrap().iter().map(|e| &e["resource"]).collect()
}

fn of_type<'a>(resources: &[&'a Value], ty: &str) -> Vec<&'a Value> {
    resources.iter().copied().filter(|r| r["resourceType"] == ty).collect()
}

/// Every `reference` inside `v`.
fn references(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("reference", Value::String(r)) => out.push(r.clone()),
                    _ => references(x, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|x| references(x, out)),
        _ => {}
    }
}

#[tokio::test]
async fn a_patients_whole_record_exports_as_a_valid_r4_collection_bundle() {
    let p = pharmacy().await;
    full_record(&p).await;
    let s = &p.w.env.store;
    // Where the patient lives, as the registration form stores it.
    sqlx::query("UPDATE patients SET address = '4 Temple Street', city = 'Mysuru', district = 'Mysuru' WHERE id = ?")
        .bind(&p.w.patient)
        .execute(s.pool())
        .await
        .unwrap();
    let mrn: String = sqlx::query_scalar("SELECT mrn FROM patients WHERE id = ?")
        .bind(&p.w.patient)
        .fetch_one(s.pool())
        .await
        .unwrap();
    let export = fhir::export_patient(s, &p.doctor, &mrn).await.unwrap();
    assert_eq!(export.patient_id, p.w.patient);
    assert_eq!(export.file_name(), format!("fhir-{mrn}.json"));
    let bundle: Value = serde_json::from_slice(&export.json).unwrap();
    assert_eq!((bundle["resourceType"].as_str(), bundle["type"].as_str()), (Some("Bundle"), Some("collection")));
    let resources = resources_of(&bundle);
    assert_eq!(resources.len(), export.resources);
    let present: BTreeSet<&str> = resources.iter().filter_map(|r| r["resourceType"].as_str()).collect();
    assert_eq!(present, TYPES.iter().copied().collect(), "every resource type is in the bundle");

    // The validator passes it, and every type was checked.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(export.file_name());
    std::fs::write(&file, &export.json).unwrap();
    let (ok, report, stderr) = validate(&[&file]);
    assert!(ok, "the bundle is valid FHIR R4: {report}\n{stderr}");
    let mut expected: BTreeSet<String> = TYPES.iter().map(|t| t.to_string()).collect();
    expected.insert("Bundle".into());
    assert_eq!(types_of(&report), expected);

    // Every reference resolves to an entry of the bundle; full URLs are unique.
    let urls: Vec<&str> = bundle["entry"].as_array().unwrap().iter().map(|e| e["fullUrl"].as_str().unwrap()).collect();
    assert_eq!(urls.iter().collect::<BTreeSet<_>>().len(), urls.len(), "fullUrls are unique");
    let mut refs = Vec::new();
    references(&bundle, &mut refs);
    assert!(refs.len() > 20);
    for r in &refs {
        assert!(urls.contains(&r.as_str()), "{r} resolves inside the bundle");
    }

    // The mappings the profiles ask for.
    let patient = of_type(&resources, "Patient")[0];
    assert_eq!(patient["id"], p.w.patient.as_str());
    assert_eq!(patient["identifier"][0]["value"], mrn.as_str());
    assert_eq!(patient["identifier"][0]["type"]["coding"][0]["code"], "MR");
    let system = patient["identifier"][0]["system"].as_str().unwrap();
    assert!(system.starts_with("urn:hms:clinic:") && system.ends_with(":mrn"), "{system}");
    assert_eq!((patient["gender"].as_str(), patient["birthDate"].as_str()), (Some("male"), Some("1980-05-04")));
    assert_eq!(
        patient["address"],
        serde_json::json!([{ "text": "4 Temple Street", "city": "Mysuru", "district": "Mysuru" }]),
        "the address with its city and district"
    );
    let obs = of_type(&resources, "Observation");
    let by_code = |code: &str| {
        obs.iter().copied().find(|o| o["code"]["coding"][0]["code"] == code).unwrap_or_else(|| panic!("{code}"))
    };
    let temp = by_code("8310-5");
    assert_eq!(temp["category"][0]["coding"][0]["code"], "vital-signs");
    assert_eq!(temp["valueQuantity"]["value"], 38.4);
    assert_eq!(
        (temp["valueQuantity"]["system"].as_str(), temp["valueQuantity"]["code"].as_str()),
        (Some("http://unitsofmeasure.org"), Some("Cel"))
    );
    assert_eq!(by_code("29463-7")["valueQuantity"]["value"], 72.5);
    assert_eq!(by_code("8302-2")["valueQuantity"]["value"], 172.5);
    let bp = by_code("85354-9");
    assert_eq!(bp["component"][0]["code"]["coding"][0]["code"], "8480-6");
    assert_eq!(bp["component"][0]["valueQuantity"]["value"], 132);
    assert_eq!(bp["component"][1]["valueQuantity"]["code"], "mm[Hg]");
    let hb = obs.iter().find(|o| o["category"][0]["coding"][0]["code"] == "laboratory").unwrap();
    assert_eq!(hb["valueQuantity"]["value"], 11.2);
    assert_eq!(hb["referenceRange"][0]["low"]["value"], 13.0);
    assert_eq!(hb["interpretation"][0]["coding"][0]["code"], "L");
    let conditions = of_type(&resources, "Condition");
    let coded = conditions.iter().find(|c| c["code"]["coding"][0]["code"] == "J06.9").expect("the ICD-10 diagnosis");
    assert_eq!(coded["code"]["coding"][0]["system"], "http://hl7.org/fhir/sid/icd-10-cm");
    assert_eq!(coded["verificationStatus"]["coding"][0]["code"], "confirmed");
    let encounters = of_type(&resources, "Encounter");
    let classes: BTreeSet<&str> = encounters.iter().filter_map(|e| e["class"]["code"].as_str()).collect();
    assert_eq!(classes, ["AMB", "IMP"].into_iter().collect());
    let dispense = of_type(&resources, "MedicationDispense")[0];
    assert_eq!(dispense["quantity"]["value"], 15);
    let invoice = of_type(&resources, "Invoice")[0];
    assert_eq!(invoice["status"], "issued");
    let doc = of_type(&resources, "DocumentReference")[0];
    assert!(
        doc["content"][0]["attachment"]["data"].as_str().is_some_and(|d| d.starts_with("JVBERi0")),
        "inline base64"
    );

    // Audited.
    assert_eq!(common::actions(s).await.last().map(String::as_str), Some("fhir.export"));
}

#[tokio::test]
async fn the_whole_clinic_exports_as_valid_ndjson_per_resource_type_with_progress() {
    let p = pharmacy().await;
    full_record(&p).await;
    let s = &p.w.env.store;
    let dir = tempfile::tempdir().unwrap();
    let mut seen: Vec<ExportProgress> = Vec::new();
    let export = fhir::export_clinic(s, &p.admin, dir.path(), |x| seen.push(x)).await.unwrap();
    let names: BTreeSet<String> = export.files.iter().map(|f| f.file_name.clone()).collect();
    let expected: BTreeSet<String> = TYPES.iter().map(|t| format!("{t}.ndjson")).collect();
    assert_eq!(names, expected);
    for f in &export.files {
        let text = std::fs::read_to_string(dir.path().join(&f.file_name)).unwrap();
        assert_eq!(text.lines().count() as u64, f.count, "{}", f.file_name);
        assert!(text
            .lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok_and(|v| v["resourceType"] == f.resource_type.as_str())));
    }
    assert_eq!(export.files.iter().map(|f| f.count).sum::<u64>(), export.resources);
    let manifest: Value = serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["output"].as_array().unwrap().len(), TYPES.len());
    // Progress: counted first, then rising to every row.
    let last = seen.last().unwrap();
    assert!(seen.len() > 3 && last.rows_done == last.rows_total && last.resources == export.resources, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0].rows_done <= w[1].rows_done));

    let (ok, report, stderr) = validate(&[dir.path()]);
    assert!(ok, "the export is valid FHIR R4: {report}\n{stderr}");
    assert_eq!(types_of(&report), TYPES.iter().map(|t| t.to_string()).collect());
    // NDJSON refers by type and id.
    let obs = std::fs::read_to_string(dir.path().join("Observation.ndjson")).unwrap();
    let first: Value = serde_json::from_str(obs.lines().next().unwrap()).unwrap();
    assert_eq!(first["subject"]["reference"], format!("Patient/{}", p.w.patient));
    assert_eq!(common::actions(s).await.last().map(String::as_str), Some("fhir.export"));
}

#[tokio::test]
async fn the_demo_hospital_exports_valid_r4() {
    let env = common::store().await;
    hms_core::setup::load_demo(&env.store).await.unwrap();
    let slot = hms_core::SessionSlot::default();
    hms_core::auth::sign_in(&env.store, &slot, "admin", hms_core::setup::DEMO_PASSWORD).await.unwrap();
    let admin = slot.authorize(&env.store).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let export = fhir::export_clinic(&env.store, &admin, dir.path(), |_| {}).await.unwrap();
    let (ok, report, stderr) = validate(&[dir.path()]);
    assert!(ok, "the demo's export is valid FHIR R4: {report}\n{stderr}");
    assert_eq!(report["valid"].as_u64(), Some(export.resources));
    let types = types_of(&report);
    for t in ["Organization", "Practitioner", "PractitionerRole", "Patient"] {
        assert!(types.contains(t), "{t} in {types:?}");
    }
}

#[tokio::test]
async fn the_validator_rejects_a_broken_resource_naming_the_field() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    let export = fhir::export_patient(s, &p.doctor, &p.w.patient).await.unwrap();
    let mut bundle: Value = serde_json::from_slice(&export.json).unwrap();
    let entries = bundle["entry"].as_array_mut().unwrap();
    let patient = entries.iter_mut().find(|e| e["resource"]["resourceType"] == "Patient").unwrap();
    patient["resource"]["birthDate"] = "1980-13-45".into();
    patient["resource"]["favouriteColour"] = "blue".into();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.json");
    std::fs::write(&file, serde_json::to_vec(&bundle).unwrap()).unwrap();
    let (ok, report, stderr) = validate(&[&file]);
    assert!(!ok, "a broken resource fails: {report}");
    let errors = report["errors"].to_string();
    assert!(errors.contains("birthDate") && errors.contains("favouriteColour"), "{errors}\n{stderr}");
    // An observation without its required code fails too.
    let line = format!(r#"{{"resourceType":"Observation","id":"{}","status":"final"}}"#, p.w.patient);
    let ndjson = dir.path().join("Observation.ndjson");
    std::fs::write(&ndjson, line).unwrap();
    let (ok, report, _) = validate(&[&ndjson]);
    assert!(!ok && report["errors"].to_string().contains("code"), "{report}");
}

#[tokio::test]
async fn exports_need_their_permissions_and_a_known_patient() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    // The pinned clock would lock a session signed in now: a receptionist's rights, as authorized.
    let desk =
        hms_core::Authorized { user_id: p.pharmacist.user_id.clone(), roles: vec![hms_core::rbac::Role::Receptionist] };
    let forbidden = |r: Result<_, Error>| matches!(r, Err(Error::Forbidden { .. }));
    let before = common::count(s, "audit_log").await;
    // A receptionist does not open charts; a doctor does not export the clinic.
    assert!(forbidden(fhir::export_patient(s, &desk, &p.w.patient).await.map(|_| ())));
    let dir = tempfile::tempdir().unwrap();
    assert!(forbidden(fhir::export_clinic(s, &p.doctor, dir.path(), |_| {}).await.map(|_| ())));
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "nothing written");
    match fhir::export_patient(s, &p.doctor, "NO-SUCH-MRN").await {
        Err(Error::NotFound { entity }) => assert_eq!(entity, "patient"),
        other => panic!("{other:?}"),
    }
    assert_eq!(common::count(s, "audit_log").await, before, "nothing audited");
}

#[tokio::test]
async fn a_restricted_chart_exports_only_for_its_care_team() {
    let p = pharmacy().await;
    let s = &p.w.env.store;
    hms_core::clinical::restriction::restrict(s, &p.admin, &p.w.patient, "VIP").await.unwrap();
    // The nurse is not on the patient's care team.
    match fhir::export_patient(s, &p.nurse, &p.w.patient).await {
        Err(e) => assert_ne!(e.code(), "internal", "{e:?}"),
        Ok(_) => panic!("a restricted chart was exported"),
    }
    // The whole clinic's export (an administrator's, like a backup) still holds it.
    let dir = tempfile::tempdir().unwrap();
    fhir::export_clinic(s, &p.admin, dir.path(), |_| {}).await.unwrap();
    let patients = std::fs::read_to_string(dir.path().join("Patient.ndjson")).unwrap();
    assert!(patients.contains(&p.w.patient));
}
