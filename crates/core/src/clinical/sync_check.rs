//! A whole consultation (visit, vitals, diagnoses, allergy, prescriptions, lab order and
//! result, attachment, later edits) made on one device and merged on another from the first
//! device's change log, as a pull would: every clinical row arrives the same, nothing refused.

use super::attachments::{self, AttachmentInput};
use super::*;
use crate::session::{Authorized, SessionSlot};
use crate::store::seal::{to_change, OutboxRow, OUTBOX_COLUMNS};
use crate::store::{Actor, Store};
use crate::sync::apply::{self, Outcome};
use crate::sync::rows::Columns;
use hms_protocol::{Change, Op};
use serde_json::{json, Value};

const TABLES: [&str; 10] = [
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
];
const PW: &str = "Clinic#2026adm";

async fn user(store: &Store, admin: &Authorized, name: &str, role: &str) -> Authorized {
    let input = crate::users::NewUser {
        username: name.into(),
        full_name: format!("Staff {name}"),
        password: PW.into(),
        roles: vec![role.into()],
    };
    crate::users::create(store, admin, input).await.unwrap();
    crate::users::settle_for_tests(store, name).await;
    let slot = SessionSlot::default();
    crate::auth::sign_in(store, &slot, name, PW).await.unwrap();
    slot.authorize(store).await.unwrap()
}

/// Every row of a table as JSON text, in id order (what must be the same on both devices).
async fn rows(store: &Store, table: &str) -> Vec<String> {
    let cols: Vec<String> = sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
        .fetch_all(store.pool())
        .await
        .unwrap();
    let pairs: Vec<String> = cols.iter().map(|c| format!("'{c}', {c}")).collect();
    let sql = format!("SELECT json_object({}) FROM {table} ORDER BY id", pairs.join(", "));
    sqlx::query_scalar(&sql).fetch_all(store.pool()).await.unwrap()
}

async fn clinic(store: &Store) -> String {
    let slot = SessionSlot::default();
    let admin = crate::setup::NewAdmin { username: "admin".into(), full_name: "Admin".into(), password: PW.into() };
    crate::setup::setup_first_admin(store, &slot, admin).await.unwrap();
    let a = slot.authorize(store).await.unwrap();
    let doctor = user(store, &a, "dr.rao", "doctor").await;
    let nurse = user(store, &a, "n.joseph", "nurse").await;
    let lab_tech = user(store, &a, "lab.khan", "lab_technician").await;
    let staff = crate::schedule::staff::StaffInput {
        full_name: "Dr Anil Rao".into(),
        role: "doctor".into(),
        user_id: Some(doctor.user_id.clone()),
        licence_no: "KMC-12345".into(),
        ..Default::default()
    };
    crate::schedule::staff::add_staff(store, &a, staff).await.unwrap();
    let p = crate::patients::PatientInput {
        given_name: "Ravi".into(),
        family_name: "Sharma".into(),
        sex: "male".into(),
        ..Default::default()
    };
    let patient = crate::patients::register(store, &a, p).await.unwrap().id;
    let med = MedicineInput {
        name: "Amoxicillin".into(),
        strength: "500 mg".into(),
        form: "capsule".into(),
        ..Default::default()
    };
    let amox = prescribing::add_medicine(store, &a, med).await.unwrap().id;
    let t = LabTestInput {
        code: "FBS".into(),
        name: "Fasting blood sugar".into(),
        unit: "mg/dL".into(),
        ref_low: Some("70".into()),
        ref_high: Some("100".into()),
    };
    let fbs = lab::add_lab_test(store, &a, t).await.unwrap().id;
    icd10::ensure_loaded(store).await.unwrap();
    let allergy = AllergyInput {
        patient_id: patient.clone(),
        allergen: None,
        substance: "Sulfa".into(),
        reaction: String::new(),
        severity: Severity::Mild,
    };
    visits::add_allergy(store, &nurse, allergy).await.unwrap();
    let input = ConsultationInput {
        visit: VisitInput { patient_id: patient.clone(), complaints: "Fever".into(), ..Default::default() },
        vitals: Some(VitalsInput { pulse: Some(88), ..Default::default() }),
        diagnoses: vec![DiagnosisInput {
            icd10: Some("J03.90".into()),
            text: String::new(),
            certainty: Certainty::Final,
        }],
        prescriptions: vec![PrescriptionInput {
            medicine_id: amox,
            dose: "1".into(),
            dose_unit: "capsule".into(),
            duration_days: Some(5),
            ..Default::default()
        }],
        lab_test_ids: vec![fbs],
    };
    let c = chart::save_consultation(store, &doctor, input).await.unwrap();
    lab::enter_result(store, &lab_tech, &c.lab_orders[0].id, "182").await.unwrap();
    let notes = VisitNotes {
        complaints: "Fever, sore throat".into(),
        follow_up_date: Some("2026-12-05".into()),
        ..Default::default()
    };
    visits::update_visit(store, &doctor, &c.visit.id, notes).await.unwrap();
    visits::resolve_diagnosis(store, &doctor, &c.diagnoses[0].id).await.unwrap();
    let file = AttachmentInput {
        patient_id: patient,
        visit_id: Some(c.visit.id.clone()),
        file_name: "report.pdf".into(),
        note: String::new(),
    };
    attachments::add(store, &nurse, file, b"%PDF-1.4 report").await.unwrap();
    visits::close_visit(store, &doctor, &c.visit.id).await.unwrap();
    c.visit.id
}

#[tokio::test]
async fn a_consultation_made_on_one_device_arrives_whole_on_another() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (Store::open_in_dir(da.path()).await.unwrap(), Store::open_in_dir(db.path()).await.unwrap());
    let visit = clinic(&a).await;

    let sql = format!("SELECT {OUTBOX_COLUMNS} FROM change_log ORDER BY seq");
    let log: Vec<OutboxRow> = sqlx::query_as(&sql).fetch_all(a.pool()).await.unwrap();
    let mut w = b.begin_write(Actor::system()).await.unwrap();
    let mut columns = Columns::default();
    for row in log {
        let Change { id, device_id, device_seq, entity, entity_id, op, mut data, hlc, user_id, .. } =
            to_change(row).unwrap();
        if entity == "staff" && op == Op::Insert {
            // Found by this test: a new staff profile's change leaves out `created_at` (NOT
            // NULL), so it is refused on the other device (schedule::staff, not clinical).
            // Until that is fixed, send the whole row, to test the clinical tables here.
            let row: String = sqlx::query_scalar(
                "SELECT json_object('id', id, 'full_name', full_name, 'role', role, 'user_id', user_id, 'licence_no', licence_no, 'created_at', created_at) FROM staff WHERE id = ?",
            )
            .bind(&entity_id)
            .fetch_one(a.pool())
            .await
            .unwrap();
            let full: serde_json::Map<String, Value> = serde_json::from_str(&row).unwrap();
            if let Value::Object(d) = &mut data {
                for (k, v) in full {
                    d.entry(k).or_insert(v);
                }
            }
        }
        let change = Change {
            id,
            device_id,
            device_seq,
            entity: entity.clone(),
            entity_id,
            op,
            data,
            hlc,
            user_id,
            proof: None,
        };
        let outcome = apply::apply(&mut w, &mut columns, &change).await.unwrap();
        if TABLES.contains(&entity.as_str()) && outcome != Outcome::Applied {
            let why: Vec<(String, String)> =
                sqlx::query_as("SELECT entity, local FROM sync_conflicts").fetch_all(w.conn()).await.unwrap();
            panic!("{entity} {op:?}: {outcome:?} {why:?}");
        }
    }
    w.audit("test.pull", "sync", None, json!({})).await.unwrap();
    w.commit().await.unwrap();

    for t in TABLES {
        let (here, there) = (rows(&a, t).await, rows(&b, t).await);
        assert!(!here.is_empty(), "{t} has rows");
        assert_eq!(here, there, "{t} differs after the merge");
    }
    let follow: Option<String> = sqlx::query_scalar("SELECT follow_up_date FROM visits WHERE id = ?")
        .bind(&visit)
        .fetch_one(b.pool())
        .await
        .unwrap();
    assert_eq!(follow.as_deref(), Some("2026-12-05"));
    // The attachment's record came over; its file did not.
    let sha: String = sqlx::query_scalar("SELECT sha256 FROM attachments").fetch_one(b.pool()).await.unwrap();
    assert!(
        attachments::stored_path(&a, &sha).unwrap().is_file() && !attachments::stored_path(&b, &sha).unwrap().is_file()
    );
    a.close().await;
    b.close().await;
}

/// Two devices of one clinic that each began with the starter formulary and lab catalogue hold
/// the same rows (the same ids): merging one's into the other adds nothing, conflicts nowhere.
#[tokio::test]
async fn two_devices_that_each_loaded_the_starter_lists_merge_without_duplicates() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (Store::open_in_dir(da.path()).await.unwrap(), Store::open_in_dir(db.path()).await.unwrap());
    for s in [&a, &b] {
        let admin = crate::setup::NewAdmin { username: "admin".into(), full_name: "Admin".into(), password: PW.into() };
        let starters = crate::setup::Starters { formulary: true, lab_tests: true, ..Default::default() };
        crate::setup::create_clinic(s, admin, starters).await.unwrap();
    }
    let sql =
        format!("SELECT {OUTBOX_COLUMNS} FROM change_log WHERE entity IN ('medicines', 'lab_tests') ORDER BY seq");
    let log: Vec<OutboxRow> = sqlx::query_as(&sql).fetch_all(a.pool()).await.unwrap();
    let tests = super::starter::starter_tests().unwrap().len();
    assert_eq!(log.len(), super::formulary::entries().len() + tests);
    let mut w = b.begin_write(Actor::system()).await.unwrap();
    let mut columns = Columns::default();
    for row in log {
        let change = Change { op: Op::Insert, proof: None, ..to_change(row).unwrap() };
        let outcome = apply::apply(&mut w, &mut columns, &change).await.unwrap();
        assert!(matches!(outcome, Outcome::Applied | Outcome::Older), "{outcome:?}");
    }
    w.audit("test.pull", "sync", None, json!({})).await.unwrap();
    w.commit().await.unwrap();
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM medicines").fetch_one(b.pool()).await.unwrap();
    assert_eq!(count as usize, super::formulary::entries().len(), "no duplicates");
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM lab_tests").fetch_one(b.pool()).await.unwrap();
    assert_eq!(count as usize, tests, "no duplicate lab tests");
    let conflicts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sync_conflicts").fetch_one(b.pool()).await.unwrap();
    assert_eq!(conflicts, 0);
}
