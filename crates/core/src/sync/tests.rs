//! The merge, the hospital rules, the conflicts inbox and audit sync, on real SQLite stores
//! exchanging changes directly through the apply path (no server: see
//! crates/server/tests/device_sync.rs for that).

use super::apply::{apply, Outcome};
use super::conflicts::{self, ConflictKind, ConflictResolution};
use super::rows::Columns;
use crate::audit;
use crate::session::{Authorized, SessionSlot};
use crate::setup::{self, NewAdmin};
use crate::store::{Actor, Store};
use hms_protocol::{Change, Op};
use serde_json::{json, Value};

const PW: &str = "Clinic#2026adm";

fn stamp(millis: i64, device: &str) -> String {
    format!("{:016}-{:06}-{device}", 1_800_000_000_000i64 + millis, 0)
}

fn change(device: &str, seq: u64, entity: &str, id: &str, op: Op, data: Value, millis: i64) -> Change {
    Change {
        id: format!("{device}-{seq}"),
        device_id: device.into(),
        device_seq: seq,
        entity: entity.into(),
        entity_id: id.into(),
        op,
        data,
        hlc: stamp(millis, device),
        user_id: None,
        proof: None,
    }
}

fn patient(mrn: &str, given: &str, device: &str) -> Value {
    json!({ "mrn": mrn, "given_name": given, "family_name": "Mwakyusa", "sex": "female", "phones": [],
            "created_at": "2027-01-15T08:00:00.000Z", "origin_device": device })
}

struct Dev {
    _dir: tempfile::TempDir,
    store: Store,
}

async fn fresh() -> Dev {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in_dir(dir.path()).await.unwrap();
    Dev { _dir: dir, store }
}

async fn admin(store: &Store) -> Authorized {
    let slot = SessionSlot::default();
    setup::setup_first_admin(
        store,
        &slot,
        NewAdmin { username: "admin".into(), full_name: "Admin".into(), password: PW.into() },
    )
    .await
    .unwrap();
    slot.authorize(store).await.unwrap()
}

/// Applies changes one transaction each, as pulls do page by page.
async fn apply_all(store: &Store, changes: &[Change]) -> Vec<Outcome> {
    let mut out = Vec::new();
    for c in changes {
        let mut w = store.begin_write(Actor::system()).await.unwrap();
        out.push(apply(&mut w, &mut Columns::default(), c).await.unwrap());
        // As a pull does: later local writes are stamped after what was merged.
        if let Some(s) = crate::clock::HlcStamp::parse(&c.hlc) {
            w.observe(&s);
        }
        w.audit("test.apply", "sync", None, json!({})).await.unwrap();
        w.commit().await.unwrap();
    }
    out
}

/// A store's outbox as the protocol's changes (what a push would send).
async fn outbox(store: &Store) -> Vec<Change> {
    let sql = format!("SELECT {} FROM change_log ORDER BY seq", crate::store::seal::OUTBOX_COLUMNS);
    let rows: Vec<crate::store::seal::OutboxRow> = sqlx::query_as(&sql).fetch_all(store.pool()).await.unwrap();
    rows.into_iter().map(|r| crate::store::seal::to_change(r).unwrap()).collect()
}

async fn dump(store: &Store, sql: &str) -> Vec<String> {
    sqlx::query_scalar(sql).fetch_all(store.pool()).await.unwrap()
}

const PATIENTS: &str = "SELECT json_object('id', id, 'mrn', mrn, 'given_name', given_name, 'family_name', family_name,
    'phones', phones, 'notes', notes, 'status', status, 'updated_at', updated_at, 'deleted_at', deleted_at) FROM patients ORDER BY id";

/// A small deterministic shuffle (no RNG dependency): xorshift.
fn shuffled<T: Clone>(items: &[T], seed: u64) -> Vec<T> {
    let mut v = items.to_vec();
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
    v
}

fn edits() -> Vec<Change> {
    vec![
        change("dev-a", 1, "patients", "p1", Op::Insert, patient("AAAA-000001", "Amina", "dev-a"), 100),
        // B renamed after seeing the insert; C, apart from B, added a note; A, apart from B,
        // renamed too (older than B's: loses) and then set the phones.
        change("dev-b", 1, "patients", "p1", Op::Update, json!({ "given_name": "Aminata", "updated_by": "u-b" }), 200),
        change("dev-c", 1, "patients", "p1", Op::Update, json!({ "notes": "allergic to penicillin" }), 150),
        change("dev-a", 2, "patients", "p1", Op::Update, json!({ "given_name": "Amina A", "updated_by": "u-a" }), 180),
        change("dev-a", 3, "patients", "p1", Op::Update, json!({ "phones": ["255754123456"] }), 250),
        change("dev-a", 4, "patients", "p2", Op::Insert, patient("AAAA-000002", "Baraka", "dev-a"), 110),
        change("dev-b", 2, "patients", "p2", Op::Update, json!({ "family_name": "Mushi" }), 120),
        // A delete is the deleted_at field like any other; a later edit of another field
        // does not bring the record back.
        change("dev-c", 2, "patients", "p2", Op::Delete, json!({ "deleted_at": "2027-01-15T09:00:00.000Z" }), 130),
        change("dev-b", 3, "patients", "p2", Op::Update, json!({ "notes": "moved away" }), 140),
    ]
}

#[tokio::test]
async fn the_same_changes_in_any_order_give_the_same_rows() {
    let changes = edits();
    let mut dumps = Vec::new();
    for seed in [1u64, 2, 3, 4, 5, 6] {
        let d = fresh().await;
        let order = if seed == 1 { changes.clone() } else { shuffled(&changes, seed) };
        apply_all(&d.store, &order).await;
        assert_eq!(
            dump(&d.store, "SELECT count(*) || '' FROM sync_orphans").await,
            vec!["0"],
            "every update that came before its row's insert was merged when the insert came"
        );
        dumps.push((
            seed,
            dump(&d.store, PATIENTS).await,
            dump(&d.store, "SELECT entity_id || stamps FROM sync_stamps ORDER BY 1").await,
        ));
    }
    for (seed, rows, stamps) in &dumps[1..] {
        assert_eq!(rows, &dumps[0].1, "rows differ for order {seed}");
        assert_eq!(stamps, &dumps[0].2, "field stamps differ for order {seed}");
    }
    let p1: Value = serde_json::from_str(&dumps[0].1[0]).unwrap();
    assert_eq!(p1["given_name"], "Aminata", "the newer of two concurrent renames");
    assert_eq!(p1["notes"], "allergic to penicillin", "a concurrent edit of another field is kept");
    assert_eq!(p1["phones"], "[\"255754123456\"]");
    assert_eq!(p1["updated_at"], stamp(250, "dev-a"), "the row's stamp is its newest field's");
    let p2: Value = serde_json::from_str(&dumps[0].1[1]).unwrap();
    assert_eq!((p2["family_name"].as_str(), p2["notes"].as_str()), (Some("Mushi"), Some("moved away")));
    assert_eq!(p2["deleted_at"], "2027-01-15T09:00:00.000Z");
}

/// One row made on two devices apart under one id (a stock batch's id comes from its item and
/// number): inserts whose data leave `origin_device` and `created_at` out, as the writers'
/// do. Every device ends with the newer insert's, whichever came first.
#[tokio::test]
async fn one_row_inserted_on_two_devices_apart_keeps_the_newer_inserts_origin() {
    let row = |given: &str| json!({ "mrn": "AAAA-000009", "given_name": given, "family_name": "Mushi", "sex": "female", "phones": [] });
    let a = change("dev-a", 1, "patients", "p9", Op::Insert, row("Neema"), 300);
    let b = change("dev-b", 1, "patients", "p9", Op::Insert, row("Neema B"), 310);
    let sql = "SELECT json_object('origin', origin_device, 'created', created_at, 'given', given_name, 'at', updated_at) FROM patients";
    let mut seen = Vec::new();
    for order in [[&a, &b], [&b, &a]] {
        let d = fresh().await;
        apply_all(&d.store, &[order[0].clone(), order[1].clone()]).await;
        seen.push(dump(&d.store, sql).await);
    }
    assert_eq!(seen[0], seen[1], "both orders give one row");
    let row: Value = serde_json::from_str(&seen[0][0]).unwrap();
    assert_eq!((row["origin"].as_str(), row["given"].as_str()), (Some("dev-b"), Some("Neema B")));
    assert_eq!(row["at"], stamp(310, "dev-b"));
    assert_eq!(row["created"], "2027-01-15T08:00:00.310Z", "the newer insert's time");
}

#[tokio::test]
async fn a_field_that_loses_to_a_concurrent_value_is_kept_as_a_conflict() {
    let d = fresh().await;
    let all = edits();
    // In the server's order (causal): B's rename arrives before A's older one.
    let outcomes = apply_all(&d.store, &[all[0].clone(), all[1].clone(), all[3].clone()]).await;
    assert_eq!(outcomes, vec![Outcome::Applied, Outcome::Applied, Outcome::Conflict]);
    let auth = admin(&d.store).await;
    let list = conflicts::list(&d.store, &auth, false).await.unwrap();
    assert_eq!(list.len(), 1);
    let c = &list[0];
    assert_eq!((c.kind, c.field.as_deref(), c.entity_id.as_str()), (ConflictKind::Field, Some("given_name"), "p1"));
    assert_eq!(c.label, "Aminata Mwakyusa (AAAA-000001)");
    assert_eq!((c.current.label.as_str(), c.other.label.as_str()), ("Aminata", "Amina A"));
    assert_eq!((c.current.device_id.as_str(), c.other.device_id.as_str()), ("dev-b", "dev-a"));
    // The same change merged again records nothing twice.
    apply_all(&d.store, &[all[3].clone()]).await;
    assert_eq!(conflicts::list(&d.store, &auth, true).await.unwrap().len(), 1);

    // "Take the other value": a normal synced write with a new stamp, audited.
    let done = conflicts::resolve(&d.store, &auth, &c.id, ConflictResolution::TakeOther).await.unwrap();
    assert!(done.resolved);
    assert_eq!((done.resolution.as_deref(), done.resolved_by.as_deref()), (Some("take_other"), Some("admin")));
    let name: String =
        sqlx::query_scalar("SELECT given_name FROM patients WHERE id = 'p1'").fetch_one(d.store.pool()).await.unwrap();
    assert_eq!(name, "Amina A");
    let out = outbox(&d.store).await;
    let last = out.iter().rev().find(|c| c.entity == "patients").unwrap();
    assert_eq!((last.entity_id.as_str(), last.data["given_name"].as_str()), ("p1", Some("Amina A")));
    let stamp_now = conflicts::field_stamp(&d.store, "patients", "p1", "given_name").await.unwrap();
    assert_eq!(stamp_now, last.hlc, "the local write stamped the field");
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'sync.conflict_resolved' AND entity_id = 'p1'",
    )
    .fetch_one(d.store.pool())
    .await
    .unwrap();
    assert_eq!(audited, 1);
    // Resolving twice is refused.
    assert!(conflicts::resolve(&d.store, &auth, &c.id, ConflictResolution::KeepCurrent).await.is_err());

    // On another device holding the same open conflict, the resolution's newer value closes it.
    let other = fresh().await;
    apply_all(&other.store, &[all[0].clone(), all[1].clone(), all[3].clone()]).await;
    let open: i64 = sqlx::query_scalar("SELECT count(*) FROM sync_conflicts WHERE resolved = 0")
        .fetch_one(other.store.pool())
        .await
        .unwrap();
    assert_eq!(open, 1);
    apply_all(&other.store, std::slice::from_ref(last)).await;
    let (open, resolution): (i64, String) =
        sqlx::query_as("SELECT count(*) FILTER (WHERE resolved = 0), max(resolution) FROM sync_conflicts")
            .fetch_one(other.store.pool())
            .await
            .unwrap();
    assert_eq!((open, resolution.as_str()), (0, "auto"));
}

#[tokio::test]
async fn local_writes_stamp_the_fields_they_set() {
    let d = fresh().await;
    let auth = admin(&d.store).await;
    let p = crate::patients::register(
        &d.store,
        &auth,
        crate::patients::PatientInput {
            given_name: "Amina".into(),
            family_name: "Mwakyusa".into(),
            sex: "female".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let inserted = conflicts::field_stamp(&d.store, "patients", &p.id, "notes").await.unwrap();
    assert!(inserted.ends_with(d.store.device_id()));
    let mut w = d.store.begin_write(auth.actor()).await.unwrap();
    let later = w.stamp();
    sqlx::query("UPDATE patients SET notes = 'x', updated_at = ? WHERE id = ?")
        .bind(&later)
        .bind(&p.id)
        .execute(w.conn())
        .await
        .unwrap();
    w.record_change("patients", &p.id, crate::store::ChangeOp::Update, &json!({ "notes": "x", "updated_at": later }))
        .await
        .unwrap();
    w.audit("test.edit", "patient", Some(&p.id), json!({})).await.unwrap();
    w.commit().await.unwrap();
    assert_eq!(conflicts::field_stamp(&d.store, "patients", &p.id, "notes").await.unwrap(), later);
    assert_eq!(conflicts::field_stamp(&d.store, "patients", &p.id, "given_name").await.unwrap(), inserted);
    // An older change of another device to a field this device did not touch still applies.
    // (Its stamp sorts right after the insert's and before the local edit's.)
    let mut older = change("dev-z", 1, "patients", &p.id, Op::Update, json!({ "family_name": "Mushi" }), 0);
    older.hlc = format!("{}-dev-z", &inserted[..23]);
    assert!(older.hlc > inserted && older.hlc < later);
    assert_eq!(apply_all(&d.store, &[older]).await, vec![Outcome::Applied]);
}

fn booking(id: &str, patient: &str, device: &str, status: &str) -> Value {
    json!({ "id": id, "patient_id": patient, "doctor_id": "doc-1", "date": "2027-02-01", "start_min": 540, "end_min": 555,
            "starts_at": "2027-02-01T06:00:00Z", "ends_at": "2027-02-01T06:15:00Z", "status": status,
            "created_at": "2027-01-15T08:00:00.000Z", "origin_device": device })
}

fn slot_changes() -> Vec<Change> {
    vec![
        change(
            "dev-a",
            1,
            "staff",
            "doc-1",
            Op::Insert,
            json!({ "full_name": "Dr. Rao", "role": "doctor", "created_at": "2027-01-01T00:00:00.000Z", "origin_device": "dev-a" }),
            10,
        ),
        change("dev-a", 2, "patients", "pa", Op::Insert, patient("AAAA-000001", "Amina", "dev-a"), 20),
        change("dev-b", 1, "patients", "pb", Op::Insert, patient("BBBB-000001", "Baraka", "dev-b"), 30),
    ]
}

#[tokio::test]
async fn two_bookings_of_one_slot_keep_the_earlier_and_hold_the_other() {
    // a1 was booked first (earlier id) though its stamp is later.
    let a1 = change(
        "dev-a",
        3,
        "appointments",
        "0190-appt-1",
        Op::Insert,
        booking("0190-appt-1", "pa", "dev-a", "booked"),
        200,
    );
    let b1 = change(
        "dev-b",
        2,
        "appointments",
        "0190-appt-2",
        Op::Insert,
        booking("0190-appt-2", "pb", "dev-b", "booked"),
        190,
    );
    let (x, y) = (fresh().await, fresh().await);
    let base = slot_changes();
    apply_all(&x.store, &[base.clone(), vec![a1.clone(), b1.clone()]].concat()).await;
    apply_all(&y.store, &[base.clone(), vec![b1.clone(), a1.clone()]].concat()).await;
    let flags = "SELECT id || ':' || slot_conflict || ':' || status FROM appointments ORDER BY id";
    for d in [&x, &y] {
        assert_eq!(dump(&d.store, flags).await, vec!["0190-appt-1:0:booked", "0190-appt-2:1:booked"]);
        let open =
            dump(&d.store, "SELECT kind || ' ' || entity_id || ' ' || other_id FROM sync_conflicts WHERE resolved = 0")
                .await;
        assert_eq!(open, vec!["slot_double_booked 0190-appt-2 0190-appt-1"], "recorded on every device");
    }

    // The inbox shows both sides in words; cancelling the one keeping the slot gives the slot
    // to the other, in a normal synced write.
    let auth = admin(&y.store).await;
    let list = conflicts::list(&y.store, &auth, false).await.unwrap();
    assert_eq!(list[0].current.label, "Amina Mwakyusa (AAAA-000001): Dr. Rao, 2027-02-01 09:00, booked");
    assert_eq!(list[0].other.label, "Baraka Mwakyusa (BBBB-000001): Dr. Rao, 2027-02-01 09:00, booked");
    let wrong = ConflictResolution::CancelAppointment { appointment_id: "pa".into(), reason: "double booked".into() };
    assert!(conflicts::resolve(&y.store, &auth, &list[0].id, wrong).await.is_err(), "only one of the two");
    let cancel =
        ConflictResolution::CancelAppointment { appointment_id: "0190-appt-1".into(), reason: "double booked".into() };
    let done = conflicts::resolve(&y.store, &auth, &list[0].id, cancel).await.unwrap();
    assert_eq!(done.resolution.as_deref(), Some("cancel"));
    assert_eq!(dump(&y.store, flags).await, vec!["0190-appt-1:0:cancelled", "0190-appt-2:0:booked"]);

    // The other device merges the cancellation: same rows, its conflict closes by itself.
    let sent: Vec<Change> = outbox(&y.store).await.into_iter().filter(|c| c.entity == "appointments").collect();
    assert_eq!(sent.len(), 1);
    apply_all(&x.store, &sent).await;
    assert_eq!(dump(&x.store, flags).await, vec!["0190-appt-1:0:cancelled", "0190-appt-2:0:booked"]);
    assert_eq!(dump(&x.store, "SELECT resolution FROM sync_conflicts").await, vec!["auto"]);
}

#[tokio::test]
async fn one_mrn_on_two_patients_keeps_it_for_the_earlier_and_gives_the_other_a_stand_in() {
    let first = change("dev-a", 1, "patients", "0190-pat-1", Op::Insert, patient("K7Q2-000001", "Amina", "dev-a"), 200);
    let second =
        change("dev-b", 1, "patients", "0190-pat-2", Op::Insert, patient("K7Q2-000001", "Baraka", "dev-b"), 100);
    let (x, y) = (fresh().await, fresh().await);
    apply_all(&x.store, &[first.clone(), second.clone()]).await;
    apply_all(&y.store, &[second.clone(), first.clone()]).await;
    for d in [&x, &y] {
        assert_eq!(
            dump(&d.store, "SELECT id || ' ' || mrn FROM patients ORDER BY id").await,
            vec!["0190-pat-1 K7Q2-000001".to_string(), "0190-pat-2 K7Q2-000001-DUP-90-pat-2".to_string(),]
        );
        let open =
            dump(&d.store, "SELECT kind || ' ' || entity_id || ' ' || other_id FROM sync_conflicts WHERE resolved = 0")
                .await;
        assert_eq!(open, vec!["mrn_duplicate 0190-pat-2 0190-pat-1"]);
    }
    let auth = admin(&x.store).await;
    let c = conflicts::list(&x.store, &auth, false).await.unwrap().remove(0);
    assert_eq!(c.current.label, "Amina Mwakyusa (K7Q2-000001)");
    assert!(
        conflicts::resolve(&x.store, &auth, &c.id, ConflictResolution::TakeOther).await.is_err(),
        "not for an MRN conflict"
    );
    conflicts::resolve(&x.store, &auth, &c.id, ConflictResolution::Renumber).await.unwrap();
    let mrn: String =
        sqlx::query_scalar("SELECT mrn FROM patients WHERE id = '0190-pat-2'").fetch_one(x.store.pool()).await.unwrap();
    assert!(!mrn.contains("DUP") && mrn.ends_with("-000001") && !mrn.starts_with("K7Q2"), "{mrn}");
    let found = crate::patients::search(&x.store, &auth, &mrn, 5).await.unwrap();
    assert_eq!(found.len(), 1, "the new number is searchable");
    // The other device merges the new number; its conflict closes by itself.
    let sent: Vec<Change> = outbox(&x.store).await.into_iter().filter(|c| c.entity == "patients").collect();
    apply_all(&y.store, &sent).await;
    assert_eq!(dump(&y.store, "SELECT mrn FROM patients WHERE id = '0190-pat-2'").await, vec![mrn]);
    assert_eq!(dump(&y.store, "SELECT resolution FROM sync_conflicts").await, vec!["auto"]);
}

#[tokio::test]
async fn audit_entries_of_other_devices_are_kept_whole_and_verified_per_device() {
    let (a, b) = (fresh().await, fresh().await);
    let auth_a = admin(&a.store).await;
    crate::patients::register(
        &a.store,
        &auth_a,
        crate::patients::PatientInput { given_name: "Amina".into(), sex: "female".into(), ..Default::default() },
    )
    .await
    .unwrap();
    let auth_b = admin(&b.store).await;
    assert!(outbox(&a.store).await.iter().all(|c| c.entity != "audit_log"), "queued only when a push starts");
    super::push::queue_audit(&a.store).await.unwrap();
    super::push::queue_audit(&a.store).await.unwrap();
    let from_a: Vec<Change> = outbox(&a.store).await.into_iter().filter(|c| c.entity == "audit_log").collect();
    let a_entries: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log").fetch_one(a.store.pool()).await.unwrap();
    assert_eq!(from_a.len() as i64, a_entries, "every audit entry goes out, insert-only");
    // Twice: the second time stores nothing (never updated, never merged).
    apply_all(&b.store, &from_a).await;
    apply_all(&b.store, &from_a).await;
    let remote: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_remote").fetch_one(b.store.pool()).await.unwrap();
    assert_eq!(remote, a_entries);
    let check = audit::verify_unaudited(&b.store).await.unwrap();
    assert!(check.intact, "{check:?}");
    let own: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log").fetch_one(b.store.pool()).await.unwrap();
    assert_eq!(i64::from(check.checked), own + a_entries);

    // The administrator sees the whole clinic's audit.
    let page = audit::list(
        &b.store,
        &auth_b,
        &audit::AuditFilter { action: Some("patient.register".into()), limit: 50, ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!(page.entries.len(), 1);
    assert_eq!(page.entries[0].device_id, a.store.device_id());
    assert!(audit::actions(&b.store, &auth_b).await.unwrap().contains(&"patient.register".to_string()));

    // An entry another device claims for A, or one altered on the way, is caught.
    let mut forged = from_a[0].clone();
    forged.device_id = "dev-x".into();
    assert_eq!(apply_all(&b.store, &[forged]).await, vec![Outcome::Refused]);
    let mut altered = from_a.last().unwrap().clone();
    altered.data["seq"] = json!(a_entries + 1);
    altered.data["id"] = json!("altered");
    altered.data["action"] = json!("patient.delete_everything");
    apply_all(&b.store, &[altered]).await;
    let check = audit::verify_unaudited(&b.store).await.unwrap();
    assert!(!check.intact);
    assert!(check.problem.unwrap().contains(a.store.device_id()));
}

#[tokio::test]
async fn keeping_the_current_value_stamps_it_anew_and_only_administrators_resolve() {
    let d = fresh().await;
    let all = edits();
    apply_all(&d.store, &[all[0].clone(), all[1].clone(), all[3].clone()]).await;
    let auth = admin(&d.store).await;
    crate::users::create(
        &d.store,
        &auth,
        crate::users::NewUser {
            username: "desk.one".into(),
            full_name: "Desk One".into(),
            password: PW.into(),
            roles: vec!["receptionist".into()],
        },
    )
    .await
    .unwrap();
    crate::users::settle_for_tests(&d.store, "desk.one").await;
    let desk = SessionSlot::default();
    crate::auth::sign_in(&d.store, &desk, "desk.one", PW).await.unwrap();
    let desk = desk.authorize(&d.store).await.unwrap();
    let forbidden = crate::Error::Forbidden { permission: "sync_manage".into() };
    assert_eq!(conflicts::list(&d.store, &desk, false).await.unwrap_err(), forbidden);
    let c = conflicts::list(&d.store, &auth, false).await.unwrap().remove(0);
    assert_eq!(
        conflicts::resolve(&d.store, &desk, &c.id, ConflictResolution::KeepCurrent).await.unwrap_err(),
        forbidden
    );

    let before = conflicts::field_stamp(&d.store, "patients", "p1", "given_name").await.unwrap();
    let done = conflicts::resolve(&d.store, &auth, &c.id, ConflictResolution::KeepCurrent).await.unwrap();
    assert_eq!(done.resolution.as_deref(), Some("keep_current"));
    let name: String =
        sqlx::query_scalar("SELECT given_name FROM patients WHERE id = 'p1'").fetch_one(d.store.pool()).await.unwrap();
    assert_eq!(name, "Aminata");
    let after = conflicts::field_stamp(&d.store, "patients", "p1", "given_name").await.unwrap();
    assert!(after > before && after.ends_with(d.store.device_id()), "stamped anew, so it wins on every device");
    let sent = outbox(&d.store).await.into_iter().rev().find(|c| c.entity == "patients").unwrap();
    assert_eq!((sent.data["given_name"].as_str(), sent.hlc.as_str()), (Some("Aminata"), after.as_str()));
    // Not a resolution of this kind.
    let other = fresh().await;
    apply_all(&other.store, &[all[0].clone(), all[1].clone(), all[3].clone()]).await;
    let auth = admin(&other.store).await;
    let c = conflicts::list(&other.store, &auth, false).await.unwrap().remove(0);
    assert!(conflicts::resolve(&other.store, &auth, &c.id, ConflictResolution::Renumber).await.is_err());
    assert!(conflicts::resolve(&other.store, &auth, "no-such-id", ConflictResolution::KeepCurrent).await.is_err());
}

/// A doctor with a specialty and sessions, and a booking, made with the real core functions
/// on one device and merged onto another: the doctor is found by specialty there (the local
/// `staff_specialties` index is rebuilt from the pulled row) and the booking keeps its slot.
#[tokio::test]
async fn a_doctor_and_a_booking_made_on_one_device_work_on_another() {
    use crate::schedule::{availability, booking, slots, staff};
    let (a, b) = (fresh().await, fresh().await);
    let auth = admin(&a.store).await;
    let cardio = staff::add_specialty(&a.store, &auth, "Cardiology").await.unwrap();
    let doctor = staff::add_staff(
        &a.store,
        &auth,
        staff::StaffInput {
            full_name: "Dr. Njeri".into(),
            role: "doctor".into(),
            specialty_ids: vec![cardio.id.clone()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let sessions = (1..=7)
        .map(|weekday| availability::SessionInput {
            weekday,
            start: "09:00".into(),
            end: "11:00".into(),
            slot_minutes: 20,
        })
        .collect();
    availability::set_weekly(&a.store, &auth, &doctor.id, sessions).await.unwrap();
    let date = (a.store.now().date_naive() + chrono::Duration::days(3)).format("%Y-%m-%d").to_string();
    let patient = crate::patients::register(
        &a.store,
        &auth,
        crate::patients::PatientInput {
            given_name: "Zawadi".into(),
            family_name: "Otieno".into(),
            sex: "female".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let booked = booking::book(
        &a.store,
        &auth,
        booking::BookInput {
            patient_id: patient.id.clone(),
            doctor_id: doctor.id.clone(),
            date: date.clone(),
            start: "09:40".into(),
            reason: String::new(),
            overbook: false,
        },
    )
    .await
    .unwrap();

    // B's own administrator has another username: accounts sync, usernames are unique.
    let slot = SessionSlot::default();
    let second = NewAdmin { username: "ward-admin".into(), full_name: "Ward Admin".into(), password: PW.into() };
    setup::setup_first_admin(&b.store, &slot, second).await.unwrap();
    let b_auth = slot.authorize(&b.store).await.unwrap();
    let outcomes = apply_all(&b.store, &outbox(&a.store).await).await;
    assert!(outcomes.iter().all(|o| *o != Outcome::Refused), "nothing refused: {outcomes:?}");
    let found = slots::next_free_by_specialty(&b.store, &b_auth, &cardio.id, &date, 1).await.unwrap();
    assert_eq!(found.map(|s| s.doctor_id), Some(doctor.id.clone()), "found by specialty on the other device");
    let free = slots::free_slots(&b.store, &b_auth, &doctor.id, &date).await.unwrap();
    assert!(free.iter().all(|s| s.start != "09:40"), "the booked slot is taken on the other device too");
    let row: (i64, i64) = sqlx::query_as("SELECT start_min, end_min FROM appointments WHERE id = ?")
        .bind(&booked.id)
        .fetch_one(b.store.pool())
        .await
        .unwrap();
    assert_eq!(row, (580, 600));
}

/// An edit puts only the fields it changed in the outbox (and stamps only those), so it
/// cannot undo another device's concurrent edit of a field it never touched.
#[tokio::test]
async fn an_edit_sends_only_the_fields_it_changed() {
    let a = fresh().await;
    let auth = admin(&a.store).await;
    let input = crate::patients::PatientInput {
        given_name: "Neema".into(),
        family_name: "Kisanga".into(),
        sex: "female".into(),
        ..Default::default()
    };
    let p = crate::patients::register(&a.store, &auth, input.clone()).await.unwrap();
    let renamed = crate::patients::PatientInput { family_name: "Kisanga-Mushi".into(), ..input };
    crate::patients::update(&a.store, &auth, &p.id, renamed).await.unwrap();
    let last = outbox(&a.store).await.into_iter().rfind(|c| c.entity == "patients").unwrap();
    let mut keys: Vec<&str> = last.data.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["family_name", "id", "updated_at", "updated_by"]);
    let stamps: String =
        sqlx::query_scalar("SELECT stamps FROM sync_stamps WHERE entity = 'patients' AND entity_id = ?")
            .bind(&p.id)
            .fetch_one(a.store.pool())
            .await
            .unwrap();
    let stamps: Value = serde_json::from_str(&stamps).unwrap();
    assert!(stamps.get("family_name").is_some() && stamps.get("status").is_none(), "{stamps}");
}

#[test]
fn the_synced_tables_are_the_policys_entities() {
    let synced: Vec<&str> = super::rows::SYNCED.iter().map(|(t, _)| *t).collect();
    let policy: Vec<&str> = hms_policy::entities::ENTITIES.iter().map(|e| e.name).collect();
    assert_eq!(synced, policy, "crates/policy/src/entities.rs lists the same tables, in the same order");
}
