use crate::*;
use hms_protocol::{Change, Op};
use serde_json::{json, Value};

const ADMIN: &str = "0190c2a0-0000-7000-8000-0000000000a1";
const NURSE: &str = "0190c2a0-0000-7000-8000-0000000000b2";
const ROW: &str = "0190c2a0-0000-7000-8000-0000000000c3";
const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";

fn change(entity: &str, id: &str, op: Op, data: Value) -> Change {
    Change {
        id: "0190c2a0-0000-7000-8000-00000000ffff".into(),
        device_id: "dev-1".into(),
        device_seq: 5,
        entity: entity.into(),
        entity_id: id.into(),
        op,
        data,
        hlc: "0001732270000000-000000-dev-1".into(),
        user_id: None,
        proof: None,
    }
}

fn clinic() -> Accounts {
    let mut a = Accounts::default();
    a.load(ADMIN, vec![Role::Admin], true, false, "0001732260000000-000000-dev-1");
    a.load(NURSE, vec![Role::Nurse], true, false, "0001732260000000-000000-dev-1");
    a
}

fn code(r: Result<(), Refusal>) -> Option<RefusalCode> {
    r.err().map(|e| e.code)
}

fn new_admin(id: &str) -> Value {
    json!({"id": id, "username": "mallory", "full_name": "M", "password_hash": HASH, "roles": ["admin"], "active": true})
}

#[test]
fn only_an_administrator_makes_accounts() {
    let c = change("users", ROW, Op::Insert, new_admin(ROW));
    assert_eq!(code(check(&c, Some(NURSE), &clinic())), Some(RefusalCode::NotPermitted));
    assert_eq!(code(check(&c, None, &clinic())), Some(RefusalCode::NoAuthor));
    assert_eq!(code(check(&c, Some(ROW), &clinic())), Some(RefusalCode::UnknownAuthor), "self-made, not first");
    assert_eq!(code(check(&c, Some(ADMIN), &clinic())), None);
}

#[test]
fn a_devices_founding_administrator_is_its_first_change_only() {
    let mut c = change("users", ROW, Op::Insert, new_admin(ROW));
    c.device_seq = 1;
    assert_eq!(code(check(&c, Some(ROW), &clinic())), None);
    c.data["roles"] = json!(["admin", "doctor"]);
    assert_eq!(code(check(&c, Some(ROW), &clinic())), Some(RefusalCode::UnknownAuthor));
}

#[test]
fn promotion_password_and_deactivation_need_an_administrator() {
    let promote = change("users", NURSE, Op::Update, json!({"roles": ["admin", "nurse"]}));
    assert_eq!(code(check(&promote, Some(NURSE), &clinic())), Some(RefusalCode::NotPermitted));
    let mut clinic = clinic();
    clinic.users.get_mut(NURSE).unwrap().roles.push(Role::Doctor);
    let password = change("users", ADMIN, Op::Update, json!({"password_hash": HASH}));
    assert_eq!(code(check(&password, Some(NURSE), &clinic)), Some(RefusalCode::NotPermitted));
    assert_eq!(code(check(&password, Some(ADMIN), &clinic)), None);
}

#[test]
fn the_last_active_administrator_stays() {
    let off = change("users", ADMIN, Op::Update, json!({"active": false}));
    assert_eq!(code(check(&off, Some(ADMIN), &clinic())), Some(RefusalCode::LastAdmin));
    let demote = change("users", ADMIN, Op::Update, json!({"roles": ["nurse"]}));
    assert_eq!(code(check(&demote, Some(ADMIN), &clinic())), Some(RefusalCode::LastAdmin));
    let mut two = clinic();
    two.load(ROW, vec![Role::Admin], true, false, "0001732260000000-000000-dev-1");
    assert_eq!(code(check(&off, Some(ADMIN), &two)), None);
}

#[test]
fn a_deactivated_author_changes_nothing() {
    let mut clinic = clinic();
    clinic.users.get_mut(NURSE).unwrap().active = false;
    let vitals = change("vitals", ROW, Op::Insert, json!({"id": ROW}));
    assert_eq!(code(check(&vitals, Some(NURSE), &clinic)), Some(RefusalCode::InactiveAuthor));
}

#[test]
fn permissions_follow_the_local_write_paths() {
    let vitals = change("vitals", ROW, Op::Insert, json!({"id": ROW, "patient_id": ROW}));
    assert_eq!(code(check(&vitals, Some(NURSE), &clinic())), None);
    let tariff = change("services", ROW, Op::Insert, json!({"id": ROW}));
    assert_eq!(code(check(&tariff, Some(NURSE), &clinic())), Some(RefusalCode::NotPermitted));
    let zone = change("settings", "time_zone", Op::Update, json!({"key": "time_zone", "value": "\"UTC\""}));
    assert_eq!(code(check(&zone, Some(NURSE), &clinic())), Some(RefusalCode::NotPermitted));
    assert_eq!(code(check(&zone, Some(ADMIN), &clinic())), None);
    // A doctor's lab order charges the test to the patient's open bill; the lab writes no bill.
    const LAB: &str = "0190c2a0-0000-7000-8000-0000000000d4";
    let mut doctors = clinic();
    doctors.load(ROW, vec![Role::Doctor], true, false, "0001732260000000-000000-dev-1");
    doctors.load(LAB, vec![Role::LabTechnician], true, false, "0001732260000000-000000-dev-1");
    for table in ["bills", "bill_lines"] {
        let charge = change(table, ROW, Op::Insert, json!({"id": ROW}));
        assert_eq!(code(check(&charge, Some(ROW), &doctors)), None, "{table}");
        assert_eq!(code(check(&charge, Some(LAB), &doctors)), Some(RefusalCode::NotPermitted), "{table}");
    }
    let unknown = change("sqlite_master", ROW, Op::Insert, json!({}));
    assert_eq!(code(check(&unknown, Some(ADMIN), &clinic())), Some(RefusalCode::UnknownEntity));
}

#[test]
fn values_are_checked_before_anyone_stores_them() {
    let bad = |data: Value| change("attachments", ROW, Op::Insert, data);
    for data in [
        json!({"id": ROW, "sha256": "/dev/zero"}),
        json!({"id": ROW, "sha256": "../../etc/passwd"}),
        json!({"id": ROW, "sha256": "A".repeat(64)}),
        json!({"id": ROW, "file_name": "../x.pdf"}),
        json!({"id": "another"}),
        json!({"id": ROW, "patient_id": "x'; DROP TABLE patients; --"}),
        json!({"id": ROW, "bad key\"": 1}),
        json!({"id": ROW, "note": "x".repeat(70_000)}),
        json!([1, 2]),
    ] {
        assert_eq!(code(check(&bad(data.clone()), Some(NURSE), &clinic())), Some(RefusalCode::InvalidValue), "{data}");
    }
    let ok = bad(json!({"id": ROW, "sha256": "a".repeat(64), "file_name": "scan.pdf", "size_bytes": 10}));
    assert_eq!(code(check(&ok, Some(NURSE), &clinic())), None);
    let path_id = change("vitals", "../../x", Op::Insert, json!({}));
    assert_eq!(code(check(&path_id, Some(NURSE), &clinic())), Some(RefusalCode::InvalidValue));
    let roles = change("users", NURSE, Op::Update, json!({"roles": ["janitor"]}));
    assert_eq!(code(check(&roles, Some(ADMIN), &clinic())), Some(RefusalCode::InvalidValue));
}

#[test]
fn a_patients_city_and_district_are_checked_like_the_registration_form() {
    let edit = |data: Value| change("patients", ROW, Op::Update, data);
    for data in [
        json!({"city": "x".repeat(81)}),
        json!({"district": "d".repeat(81)}),
        json!({"city": "Pune\u{0007}"}),
        json!({"district": 12}),
    ] {
        assert_eq!(code(check(&edit(data.clone()), Some(ADMIN), &clinic())), Some(RefusalCode::InvalidValue), "{data}");
    }
    let ok = edit(json!({"city": "Pune", "district": "x".repeat(80)}));
    assert_eq!(code(check(&ok, Some(ADMIN), &clinic())), None);
    assert_eq!(
        code(check(&edit(json!({"city": "", "district": ""})), Some(ADMIN), &clinic())),
        None,
        "blank: not given"
    );
}

#[test]
fn stamps_are_fixed_width_and_not_far_ahead() {
    let mut c = change("vitals", ROW, Op::Insert, json!({"id": ROW}));
    c.hlc = "0001732270000000-1000000-dev-1".into();
    assert_eq!(code(check(&c, Some(NURSE), &clinic())), Some(RefusalCode::BadStamp));
    let now = 1_732_270_000_000;
    assert_eq!(code(check_stamp("0001732270000000-000000-d", now, MAX_CLOCK_AHEAD_MS)), None);
    assert_eq!(code(check_stamp("0001732270299999-000000-d", now, MAX_CLOCK_AHEAD_MS)), None);
    assert_eq!(code(check_stamp("9999999999999999-999999-d", now, MAX_CLOCK_AHEAD_MS)), Some(RefusalCode::FutureStamp));
}

#[test]
fn merges_move_rows_with_patients_merge_only() {
    let mut clinic = clinic();
    clinic.load(ROW, vec![Role::Receptionist], true, false, "0001732260000000-000000-dev-1");
    let moved = change("vitals", NURSE, Op::Update, json!({"id": NURSE, "patient_id": ADMIN}));
    assert_eq!(code(check(&moved, Some(ROW), &clinic)), None);
    let edited = change("vitals", NURSE, Op::Update, json!({"id": NURSE, "patient_id": ADMIN, "pulse": 300}));
    assert_eq!(code(check(&edited, Some(ROW), &clinic)), Some(RefusalCode::NotPermitted));
    // A bed held for the merged record is then held for the survivor.
    let reservation = change("bed_events", NURSE, Op::Update, json!({"id": NURSE, "patient_id": ADMIN}));
    assert_eq!(code(check(&reservation, Some(ROW), &clinic)), None);
}

#[test]
fn audit_entries_are_appended_by_anyone() {
    let entry = change("audit_log", ROW, Op::Insert, json!({"id": ROW, "action": "auth.sign_in_failed"}));
    assert_eq!(code(check(&entry, None, &clinic())), None);
    let rewrite = change("audit_log", ROW, Op::Update, json!({"id": ROW}));
    assert_eq!(code(check(&rewrite, None, &clinic())), Some(RefusalCode::InvalidValue));
}

#[test]
fn folding_is_last_writer_wins_whatever_the_order() {
    let mut a = change("users", NURSE, Op::Update, json!({"active": false}));
    a.hlc = "0001732270000002-000000-dev-1".into();
    let mut b = change("users", NURSE, Op::Update, json!({"active": true}));
    b.hlc = "0001732270000001-000000-dev-2".into();
    let (mut x, mut y) = (clinic(), clinic());
    x.fold(&a);
    x.fold(&b);
    y.fold(&b);
    y.fold(&a);
    assert_eq!(x, y);
    assert!(!x.get(NURSE).unwrap().active);
}

mod user_proofs {
    use super::*;
    use hms_protocol::proof::{public_key_hex, sign_segment, sign_segment_as_user, signing_key};

    fn segment(
        user: Option<&str>,
        changes: Vec<Change>,
        device: &hms_protocol::proof::SigningKey,
        key: Option<&hms_protocol::proof::SigningKey>,
    ) -> Vec<Change> {
        let mut changes: Vec<Change> = changes
            .into_iter()
            .enumerate()
            .map(|(i, mut c)| {
                c.device_seq = 10 + i as u64;
                c.user_id = user.map(str::to_string);
                c
            })
            .collect();
        let proof = match (user, key) {
            (Some(u), Some(k)) => sign_segment_as_user(device, u, k, &changes).unwrap(),
            _ => sign_segment(device, user, &changes).unwrap(),
        };
        changes.last_mut().unwrap().proof = Some(proof);
        changes
    }

    #[test]
    fn the_author_is_the_user_whose_key_signed_the_segment() {
        let device = signing_key(&[1; 32]);
        let (nurse_key, admin_key) = (signing_key(&[2; 32]), signing_key(&[3; 32]));
        let mut clinic = clinic();
        clinic.users.get_mut(NURSE).unwrap().key = Some(public_key_hex(&nurse_key));
        clinic.users.get_mut(ADMIN).unwrap().key = Some(public_key_hex(&admin_key));
        let vitals = || vec![change("vitals", ROW, Op::Insert, json!({"id": ROW, "pulse": 80}))];

        let ok = segment(Some(NURSE), vitals(), &device, Some(&nurse_key));
        assert_eq!(prove_author(&ok, &clinic), Ok(Some(NURSE.to_string())));
        // In the administrator's name without the administrator's key: refused.
        let forged = segment(Some(ADMIN), vitals(), &device, Some(&nurse_key));
        assert_eq!(prove_author(&forged, &clinic).unwrap_err().code, RefusalCode::BadUserProof);
        let unsigned = segment(Some(ADMIN), vitals(), &device, None);
        assert_eq!(prove_author(&unsigned, &clinic).unwrap_err().code, RefusalCode::BadUserProof);
        // An unknown user, or one change naming someone else.
        let unknown = segment(Some(ROW), vitals(), &device, Some(&nurse_key));
        assert_eq!(prove_author(&unknown, &clinic).unwrap_err().code, RefusalCode::BadUserProof);
        let mut mixed = ok.clone();
        mixed[0].user_id = Some(ADMIN.into());
        assert_eq!(prove_author(&mixed, &clinic).unwrap_err().code, RefusalCode::BadUserProof);
        // A system segment proves no author: only audit entries pass the check then.
        let system = segment(None, vitals(), &device, None);
        assert_eq!(prove_author(&system, &clinic), Ok(None));
        assert_eq!(code(check(&system[0], None, &clinic)), Some(RefusalCode::NoAuthor));
    }

    #[test]
    fn an_account_without_a_key_gets_one_from_its_owner_once() {
        let device = signing_key(&[1; 32]);
        let (nurse_key, other_key) = (signing_key(&[2; 32]), signing_key(&[4; 32]));
        let mut clinic = clinic();
        let set = |key: &hms_protocol::proof::SigningKey| {
            change(
                "users",
                NURSE,
                Op::Update,
                json!({"id": NURSE, "user_key": public_key_hex(key), "key_salt": "00112233445566778899aabbccddeeff"}),
            )
        };
        let first = segment(Some(NURSE), vec![set(&nurse_key)], &device, Some(&nurse_key));
        assert_eq!(prove_author(&first, &clinic), Ok(Some(NURSE.to_string())));
        assert_eq!(code(check(&first[0], Some(NURSE), &clinic)), None);
        clinic.fold(&first[0]);
        assert_eq!(clinic.get(NURSE).unwrap().key, Some(public_key_hex(&nurse_key)));
        // Once set, another key from the same account needs the old key and an administrator.
        let again = segment(Some(NURSE), vec![set(&other_key)], &device, Some(&other_key));
        assert_eq!(prove_author(&again, &clinic).unwrap_err().code, RefusalCode::BadUserProof);
        let again = segment(Some(NURSE), vec![set(&other_key)], &device, Some(&nurse_key));
        assert_eq!(prove_author(&again, &clinic), Ok(Some(NURSE.to_string())));
        assert_eq!(code(check(&again[0], Some(NURSE), &clinic)), Some(RefusalCode::NotPermitted));
        // A key that is not hex is refused as a value.
        let bad = change("users", NURSE, Op::Update, json!({"user_key": "xyz"}));
        assert_eq!(code(check(&bad, Some(ADMIN), &clinic)), Some(RefusalCode::InvalidValue));
    }

    #[test]
    fn the_owner_changes_their_own_password_with_their_current_key_and_nothing_else() {
        let device = signing_key(&[1; 32]);
        let (nurse_key, next_key, admin_key) = (signing_key(&[2; 32]), signing_key(&[5; 32]), signing_key(&[3; 32]));
        let mut clinic = clinic();
        clinic.users.get_mut(NURSE).unwrap().key = Some(public_key_hex(&nurse_key));
        clinic.users.get_mut(ADMIN).unwrap().key = Some(public_key_hex(&admin_key));
        let own = |id: &str, extra: Value| {
            let mut data = json!({
                "id": id, "password_hash": HASH, "user_key": public_key_hex(&next_key),
                "key_salt": "00112233445566778899aabbccddeeff", "updated_at": "0001732270000000-000000-dev-1",
                "updated_by": NURSE,
            });
            data.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            change("users", id, Op::Update, data)
        };

        // Signed with the account's current key: accepted, and the new key is the account's.
        let ok = segment(Some(NURSE), vec![own(NURSE, json!({}))], &device, Some(&nurse_key));
        assert_eq!(prove_author(&ok, &clinic), Ok(Some(NURSE.to_string())));
        assert_eq!(code(check(&ok[0], Some(NURSE), &clinic)), None);
        let mut after = clinic.clone();
        after.fold(&ok[0]);
        assert_eq!(after.get(NURSE).unwrap().key, Some(public_key_hex(&next_key)));

        // Signed with any other key (the new one, a guessed one): no proof.
        let wrong = segment(Some(NURSE), vec![own(NURSE, json!({}))], &device, Some(&next_key));
        assert_eq!(prove_author(&wrong, &clinic).unwrap_err().code, RefusalCode::BadUserProof);

        // Anything else of the row with it: roles, active, the name, deletion.
        for extra in [
            json!({"roles": ["admin", "nurse"]}),
            json!({"active": true}),
            json!({"full_name": "Someone Else"}),
            json!({"deleted_at": "2026-12-05T09:00:00Z"}),
        ] {
            let c = own(NURSE, extra.clone());
            assert_eq!(code(check(&c, Some(NURSE), &clinic)), Some(RefusalCode::NotPermitted), "{extra}");
        }
        // Clearing the temporary-password mark with it: the owner's; setting it: an administrator's.
        let cleared = own(NURSE, json!({"must_change_password": false}));
        assert_eq!(code(check(&cleared, Some(NURSE), &clinic)), None);
        let marked = own(NURSE, json!({"must_change_password": true}));
        assert_eq!(code(check(&marked, Some(NURSE), &clinic)), Some(RefusalCode::NotPermitted));
        let reset = change("users", NURSE, Op::Update, json!({"password_hash": HASH, "must_change_password": true}));
        assert_eq!(code(check(&reset, Some(ADMIN), &clinic)), None);
        // A key without a password, or a password without a key: not a password change.
        let mut half = own(NURSE, json!({}));
        half.data.as_object_mut().unwrap().remove("password_hash");
        assert_eq!(code(check(&half, Some(NURSE), &clinic)), Some(RefusalCode::NotPermitted));
        // Another user's password, by a user who is not an administrator.
        let other = own(ADMIN, json!({}));
        assert_eq!(code(check(&other, Some(NURSE), &clinic)), Some(RefusalCode::NotPermitted));
        // An inactive owner changes nothing.
        let mut off = clinic.clone();
        off.users.get_mut(NURSE).unwrap().active = false;
        assert_eq!(code(check(&ok[0], Some(NURSE), &off)), Some(RefusalCode::InactiveAuthor));
        // An account without a key yet gets one by `sets_own_first_key` only (no password).
        let mut keyless = clinic.clone();
        keyless.users.get_mut(NURSE).unwrap().key = None;
        assert_eq!(code(check(&ok[0], Some(NURSE), &keyless)), Some(RefusalCode::NotPermitted));
    }

    /// A key replaced since (a password change made on another device that synced first)
    /// still proves changes stamped before it was replaced, and nothing stamped after.
    #[test]
    fn a_past_key_proves_only_changes_stamped_before_it_was_replaced() {
        let device = signing_key(&[1; 32]);
        let (old_key, new_key, other_key) = (signing_key(&[2; 32]), signing_key(&[5; 32]), signing_key(&[6; 32]));
        let set_key = |key: &hms_protocol::proof::SigningKey, hlc: &str| {
            let mut c = change("users", NURSE, Op::Update, json!({"id": NURSE, "user_key": public_key_hex(key)}));
            c.hlc = hlc.into();
            c
        };
        let first = set_key(&old_key, "0001732260000000-000000-dev-1");
        let replaced = set_key(&new_key, "0001732270000005-000000-dev-2");
        // Folded in either order, the same accounts: the old key replaced at the new one's stamp.
        let (mut x, mut y) = (clinic(), clinic());
        x.fold(&first);
        x.fold(&replaced);
        y.fold(&replaced);
        y.fold(&first);
        assert_eq!(x, y);
        assert_eq!(x.get(NURSE).unwrap().key, Some(public_key_hex(&new_key)));
        assert_eq!(
            x.get(NURSE).unwrap().past_keys(),
            vec![(public_key_hex(&old_key).as_str(), "0001732270000005-000000-dev-2")]
        );

        let vitals = |hlc: &str| {
            let mut c = change("vitals", ROW, Op::Insert, json!({"id": ROW, "pulse": 80}));
            c.hlc = hlc.into();
            vec![c]
        };
        // Made before the change, signed with the old key: proven.
        let before = segment(Some(NURSE), vitals("0001732270000004-000000-dev-1"), &device, Some(&old_key));
        assert_eq!(prove_author(&before, &x), Ok(Some(NURSE.to_string())));
        // Stamped after it: the old key proves nothing any more.
        let after = segment(Some(NURSE), vitals("0001732270000006-000000-dev-1"), &device, Some(&old_key));
        assert_eq!(prove_author(&after, &x).unwrap_err().code, RefusalCode::BadUserProof);
        // The new key proves both; a key the account never had, neither.
        let new_after = segment(Some(NURSE), vitals("0001732270000006-000000-dev-1"), &device, Some(&new_key));
        assert_eq!(prove_author(&new_after, &x), Ok(Some(NURSE.to_string())));
        let never = segment(Some(NURSE), vitals("0001732270000004-000000-dev-1"), &device, Some(&other_key));
        assert_eq!(prove_author(&never, &x).unwrap_err().code, RefusalCode::BadUserProof);
        // Another user's past key proves nothing for this one.
        let mut admin_history = x.clone();
        admin_history.users.get_mut(NURSE).unwrap().key_history.clear();
        assert_eq!(prove_author(&before, &admin_history).unwrap_err().code, RefusalCode::BadUserProof);
    }
}

#[test]
fn a_values_json_length_is_its_texts() {
    for v in [json!({"a": [1, 2.5, "é\n\"x\""], "b": null, "c": {"d": true}}), json!([]), json!("plain"), json!(-12)] {
        assert_eq!(crate::values::json_len(&v), serde_json::to_string(&v).unwrap().len());
    }
}

#[test]
fn a_chart_is_restricted_and_lifted_by_a_doctor_or_an_administrator_only() {
    let restrict = change(
        "chart_restrictions",
        ROW,
        Op::Insert,
        json!({"id": ROW, "patient_id": ADMIN, "reason": "VIP", "restricted_by": ADMIN, "restricted_at": "2026-12-05T10:00:00.000Z"}),
    );
    assert_eq!(code(check(&restrict, Some(ADMIN), &clinic())), None);
    // A nurse may open one in an emergency (hms-core), never set or lift it.
    assert_eq!(code(check(&restrict, Some(NURSE), &clinic())), Some(RefusalCode::NotPermitted));
    let lift =
        change("chart_restrictions", ROW, Op::Update, json!({"id": ROW, "lifted_at": "2026-12-05T11:00:00.000Z"}));
    assert_eq!(code(check(&lift, Some(NURSE), &clinic())), Some(RefusalCode::NotPermitted));
    assert_eq!(code(check(&lift, Some(ADMIN), &clinic())), None);
    let long = change("chart_restrictions", ROW, Op::Update, json!({"id": ROW, "reason": "x".repeat(501)}));
    assert_eq!(code(check(&long, Some(ADMIN), &clinic())), Some(RefusalCode::InvalidValue));
}

#[test]
fn beds_are_the_administrators_and_a_nurses_bed_event_passes_only_with_a_known_kind_and_time() {
    let bed =
        change("beds", ROW, Op::Insert, json!({"id": ROW, "ward_id": ADMIN, "label": "A1", "tags": "[\"oxygen\"]"}));
    assert_eq!(code(check(&bed, Some(ADMIN), &clinic())), None);
    assert_eq!(code(check(&bed, Some(NURSE), &clinic())), Some(RefusalCode::NotPermitted));
    let event = |kind: &str, at: &str| {
        change("bed_events", ROW, Op::Insert, json!({"id": ROW, "bed_id": ADMIN, "kind": kind, "at": at, "reason": ""}))
    };
    // A nurse marks a bed clean; the administrator takes one out of service.
    assert_eq!(code(check(&event("cleaned", "2026-12-05T10:00:00.000Z"), Some(NURSE), &clinic())), None);
    assert_eq!(code(check(&event("out_of_service", "2026-12-05T10:00:00.000Z"), Some(ADMIN), &clinic())), None);
    for (kind, at) in [
        ("occupied", "2026-12-05T10:00:00.000Z"),
        ("cleaned", "2026-12-05 10:00:00"),
        ("cleaned", "2026-13-05T10:00:00.000Z"),
        ("cleaned", "2026-12-05T10:00:00.000+05:30"),
    ] {
        assert_eq!(
            code(check(&event(kind, at), Some(NURSE), &clinic())),
            Some(RefusalCode::InvalidValue),
            "{kind} {at}"
        );
    }
    // Neither may admit or discharge (a doctor's and reception's; a doctor's).
    let admit = change(
        "admissions",
        ROW,
        Op::Insert,
        json!({"id": ROW, "patient_id": ADMIN, "reason": "x", "admitted_at": "2026-12-05T10:00:00.000Z"}),
    );
    assert_eq!(code(check(&admit, Some(NURSE), &clinic())), Some(RefusalCode::NotPermitted));
    assert_eq!(code(check(&admit, Some(ADMIN), &clinic())), Some(RefusalCode::NotPermitted));
    let out = change("admissions", ROW, Op::Update, json!({"id": ROW, "discharge_type": "home"}));
    assert_eq!(code(check(&out, Some(ADMIN), &clinic())), Some(RefusalCode::NotPermitted));
    let odd = change("admissions", ROW, Op::Update, json!({"id": ROW, "discharge_type": "escaped"}));
    assert_eq!(code(check(&odd, Some(ADMIN), &clinic())), Some(RefusalCode::InvalidValue));
}

#[test]
fn a_bed_reservation_is_the_admitting_rights_and_names_its_patient_and_a_later_lapse() {
    const DESK: &str = "0190c2a0-0000-7000-8000-0000000000d5";
    let mut clinic = clinic();
    clinic.load(DESK, vec![Role::Receptionist], true, false, "0001732260000000-000000-dev-1");
    let event = |kind: &str, extra: Value| {
        let mut data =
            json!({"id": ROW, "bed_id": ADMIN, "kind": kind, "at": "2026-12-05T10:00:00.000Z", "reason": ""});
        for (k, v) in extra.as_object().into_iter().flatten() {
            data[k] = v.clone();
        }
        change("bed_events", ROW, Op::Insert, data)
    };
    let reserve = event("reserved", json!({"patient_id": NURSE, "until": "2026-12-06T18:30:00.000Z"}));
    let cancel = event("reservation_cancelled", json!({"patient_id": NURSE}));
    for ok in [&reserve, &cancel] {
        assert_eq!(code(check(ok, Some(DESK), &clinic)), None);
        // The nurse writes other bed events (cleaning), the administrator out of service: not these.
        assert_eq!(code(check(ok, Some(NURSE), &clinic)), Some(RefusalCode::NotPermitted));
        assert_eq!(code(check(ok, Some(ADMIN), &clinic)), Some(RefusalCode::NotPermitted));
    }
    for bad in [
        event("reserved", json!({"until": "2026-12-06T18:30:00.000Z"})),
        event("reserved", json!({"patient_id": NURSE})),
        event("reserved", json!({"patient_id": NURSE, "until": "2026-12-05T10:00:00.000Z"})),
        event("reserved", json!({"patient_id": NURSE, "until": "2026-12-06 18:30"})),
        event("reserved", json!({"patient_id": NURSE, "until": "2026-12-06T18:30:00.000Z", "admission_id": ROW})),
        event("reservation_cancelled", json!({})),
    ] {
        assert_eq!(code(check(&bad, Some(DESK), &clinic)), Some(RefusalCode::InvalidValue), "{:?}", bad.data);
    }
}

#[test]
fn a_restriction_names_its_own_author_and_gives_a_reason() {
    let insert = |by: &str, reason: &str| {
        change(
            "chart_restrictions",
            ROW,
            Op::Insert,
            json!({"id": ROW, "patient_id": NURSE, "reason": reason, "restricted_by": by, "restricted_at": "2026-12-05T10:00:00.000Z"}),
        )
    };
    assert_eq!(code(check(&insert(ADMIN, "VIP"), Some(ADMIN), &clinic())), None);
    // An administrator may restrict, but not in a colleague's name (who would then be shown
    // as having restricted it, and be on the care team).
    assert_eq!(code(check(&insert(NURSE, "VIP"), Some(ADMIN), &clinic())), Some(RefusalCode::NotTheAuthor));
    // The local write path requires a reason: a blank one, or none, is no change a device makes.
    assert_eq!(code(check(&insert(ADMIN, "   "), Some(ADMIN), &clinic())), Some(RefusalCode::InvalidValue));
    let mut no_reason = insert(ADMIN, "VIP");
    no_reason.data.as_object_mut().unwrap().remove("reason");
    assert_eq!(code(check(&no_reason, Some(ADMIN), &clinic())), Some(RefusalCode::InvalidValue));
    let mut no_author = insert(ADMIN, "VIP");
    no_author.data.as_object_mut().unwrap().remove("restricted_by");
    assert_eq!(code(check(&no_author, Some(ADMIN), &clinic())), Some(RefusalCode::InvalidValue));

    let lift = |by: &str| {
        change(
            "chart_restrictions",
            ROW,
            Op::Update,
            json!({"id": ROW, "lifted_at": "2026-12-05T11:00:00.000Z", "lifted_by": by, "lift_reason": ""}),
        )
    };
    assert_eq!(code(check(&lift(ADMIN), Some(ADMIN), &clinic())), None);
    assert_eq!(code(check(&lift(NURSE), Some(ADMIN), &clinic())), Some(RefusalCode::NotTheAuthor));
    // A lift may come without a reason; a merge moves the row without naming anyone.
    let moved = change("chart_restrictions", ROW, Op::Update, json!({"id": ROW, "patient_id": ADMIN}));
    assert_eq!(code(check(&moved, Some(ADMIN), &clinic())), None);
}

#[test]
fn stock_movements_are_inserts_only_with_a_known_kind_and_a_quantity_other_than_zero() {
    let movement = |q: serde_json::Value, kind: &str| {
        change(
            "stock_movements",
            ROW,
            Op::Insert,
            json!({"id": ROW, "item_id": ADMIN, "batch_id": ADMIN, "store_id": ADMIN, "kind": kind, "quantity": q,
                   "reason": "", "at": "2026-12-06T10:00:00.000Z"}),
        )
    };
    // Whoever may receive, move or dispense appends to the ledger; the administrator does not.
    const PHARMACIST: &str = "0190c2a0-0000-7000-8000-0000000000d4";
    let mut pharmacist = clinic();
    pharmacist.load(PHARMACIST, vec![Role::Pharmacist], true, false, "0001732260000000-000000-dev-1");
    assert_eq!(code(check(&movement(json!(-5), "dispensed"), Some(PHARMACIST), &pharmacist)), None);
    assert_eq!(code(check(&movement(json!(5), "received"), Some(ADMIN), &clinic())), Some(RefusalCode::NotPermitted));
    for (q, kind) in
        [(json!(0), "received"), (json!(5), "stolen"), (json!(10_000_001), "received"), (json!("5"), "received")]
    {
        assert_eq!(
            code(check(&movement(q.clone(), kind), Some(PHARMACIST), &pharmacist)),
            Some(RefusalCode::InvalidValue),
            "{q} {kind}"
        );
    }
    // Never changed, never deleted: a balance is the sum of movements that stay as they were.
    for op in [Op::Update, Op::Delete] {
        let edit = change("stock_movements", ROW, op, json!({"id": ROW, "quantity": 500}));
        assert_eq!(code(check(&edit, Some(PHARMACIST), &pharmacist)), Some(RefusalCode::InvalidValue), "{op:?}");
    }
    // An insert without its batch is one no device could have made.
    let bare = change("stock_movements", ROW, Op::Insert, json!({"id": ROW, "kind": "received", "quantity": 5}));
    assert_eq!(code(check(&bare, Some(PHARMACIST), &pharmacist)), Some(RefusalCode::InvalidValue));
    // A batch's expiry is a real day.
    let batch = |expiry: &str| {
        change(
            "stock_batches",
            ROW,
            Op::Insert,
            json!({"id": ROW, "item_id": ADMIN, "batch_no": "B1", "expiry": expiry, "on_hold": false}),
        )
    };
    assert_eq!(code(check(&batch("2028-02-29"), Some(PHARMACIST), &pharmacist)), None);
    for bad in ["2027-02-29", "2027-13-01", "31/12/2027"] {
        assert_eq!(code(check(&batch(bad), Some(PHARMACIST), &pharmacist)), Some(RefusalCode::InvalidValue), "{bad}");
    }
}

#[test]
fn a_movement_needs_the_permission_of_its_kind_and_the_sign_of_its_kind() {
    const LAB: &str = "0190c2a0-0000-7000-8000-0000000000e5";
    const PHARMACIST: &str = "0190c2a0-0000-7000-8000-0000000000d4";
    let mut accounts = clinic();
    accounts.load(LAB, vec![Role::LabTechnician], true, false, "0001732260000000-000000-dev-1");
    accounts.load(PHARMACIST, vec![Role::Pharmacist], true, false, "0001732260000000-000000-dev-1");
    let movement = |kind: &str, q: i64| {
        change(
            "stock_movements",
            ROW,
            Op::Insert,
            json!({"id": ROW, "item_id": ADMIN, "batch_id": ADMIN, "store_id": ADMIN, "kind": kind, "quantity": q,
                   "reason": "", "at": "2026-12-06T10:00:00.000Z"}),
        )
    };
    // The lab technician receives and moves stock but never dispenses, not even by sync.
    assert_eq!(code(check(&movement("received", 10), Some(LAB), &accounts)), None);
    assert_eq!(code(check(&movement("transfer_out", -10), Some(LAB), &accounts)), None);
    assert_eq!(code(check(&movement("dispensed", -10), Some(LAB), &accounts)), Some(RefusalCode::NotPermitted));
    assert_eq!(code(check(&movement("returned", 10), Some(LAB), &accounts)), Some(RefusalCode::NotPermitted));
    assert_eq!(code(check(&movement("dispensed", -10), Some(PHARMACIST), &accounts)), None);
    // Each kind's sign: a "receipt" that takes stock away, a dispensing that adds, are refused.
    for (kind, q) in [("received", -5), ("returned", -1), ("transfer_in", -2), ("dispensed", 3), ("transfer_out", 4)] {
        assert_eq!(
            code(check(&movement(kind, q), Some(PHARMACIST), &accounts)),
            Some(RefusalCode::InvalidValue),
            "{kind} {q}"
        );
    }
    assert_eq!(code(check(&movement("adjusted", 4), Some(PHARMACIST), &accounts)), None);
    assert_eq!(code(check(&movement("adjusted", -4), Some(PHARMACIST), &accounts)), None);
    // A lab result's use of the lab store: the lab technician's (lab_results), and only ever out.
    assert_eq!(code(check(&movement("lab_use", -2), Some(LAB), &accounts)), None);
    assert_eq!(code(check(&movement("lab_use", -2), Some(PHARMACIST), &accounts)), Some(RefusalCode::NotPermitted));
    assert_eq!(code(check(&movement("lab_use", 2), Some(LAB), &accounts)), Some(RefusalCode::InvalidValue));
}

#[test]
fn a_purchase_order_is_the_pharmacists_and_its_approval_an_administrators_own() {
    const PHARMACIST: &str = "0190c2a0-0000-7000-8000-0000000000d4";
    let mut accounts = clinic();
    accounts.load(PHARMACIST, vec![Role::Pharmacist], true, false, "0001732260000000-000000-dev-1");
    let draft = |by: &str| {
        change(
            "purchase_orders",
            ROW,
            Op::Insert,
            json!({"id": ROW, "number": "PO-AB12-000001", "supplier_id": ADMIN, "store_id": ADMIN, "status": "draft",
                   "created_by": by}),
        )
    };
    assert_eq!(code(check(&draft(PHARMACIST), Some(PHARMACIST), &accounts)), None);
    assert_eq!(code(check(&draft(ADMIN), Some(PHARMACIST), &accounts)), Some(RefusalCode::NotTheAuthor));
    assert_eq!(code(check(&draft(ADMIN), Some(ADMIN), &accounts)), Some(RefusalCode::NotPermitted));
    let approve = |by: &str| {
        change(
            "purchase_orders",
            ROW,
            Op::Update,
            json!({"id": ROW, "status": "approved", "approved_by": by, "approved_at": "2026-12-06T10:00:00.000Z"}),
        )
    };
    assert_eq!(code(check(&approve(ADMIN), Some(ADMIN), &accounts)), None);
    assert_eq!(code(check(&approve(PHARMACIST), Some(PHARMACIST), &accounts)), Some(RefusalCode::NotPermitted));
    let sent = change("purchase_orders", ROW, Op::Update, json!({"id": ROW, "status": "sent"}));
    assert_eq!(code(check(&sent, Some(PHARMACIST), &accounts)), None);
    let odd = change("purchase_orders", ROW, Op::Update, json!({"id": ROW, "status": "received"}));
    assert_eq!(code(check(&odd, Some(PHARMACIST), &accounts)), Some(RefusalCode::InvalidValue));
}

#[test]
fn a_stock_take_is_counted_and_posted_by_stock_count_in_its_counters_name() {
    const LAB: &str = "0190c2a0-0000-7000-8000-0000000000e5";
    let mut accounts = clinic();
    accounts.load(LAB, vec![Role::LabTechnician], true, false, "0001732260000000-000000-dev-1");
    let take = |by: &str, status: &str| {
        change(
            "stock_takes",
            ROW,
            Op::Insert,
            json!({"id": ROW, "store_id": ADMIN, "status": status, "blind": false, "item_kind": "",
                   "opened_at": "2026-12-06T10:00:00.000Z", "opened_by": by}),
        )
    };
    // The administrator counts (stock_count) though it never moves stock; a nurse does not.
    assert_eq!(code(check(&take(ADMIN, "open"), Some(ADMIN), &accounts)), None);
    assert_eq!(code(check(&take(LAB, "open"), Some(LAB), &accounts)), None);
    assert_eq!(code(check(&take(NURSE, "open"), Some(NURSE), &accounts)), Some(RefusalCode::NotPermitted));
    assert_eq!(code(check(&take(ADMIN, "open"), Some(LAB), &accounts)), Some(RefusalCode::NotTheAuthor));
    assert_eq!(code(check(&take(ADMIN, "closed"), Some(ADMIN), &accounts)), Some(RefusalCode::InvalidValue));
    // A count: a whole number of zero or more, or null (blank again); by whoever enters it.
    let count = |counted: Value, by: &str| {
        change(
            "stock_take_lines",
            ROW,
            Op::Update,
            json!({"id": ROW, "counted": counted, "counted_at": "2026-12-06T10:05:00.000Z", "counted_by": by}),
        )
    };
    assert_eq!(code(check(&count(json!(12), LAB), Some(LAB), &accounts)), None);
    assert_eq!(code(check(&count(json!(0), LAB), Some(LAB), &accounts)), None);
    assert_eq!(code(check(&count(Value::Null, LAB), Some(LAB), &accounts)), None);
    for bad in [json!(-1), json!("12"), json!(10_000_001)] {
        assert_eq!(
            code(check(&count(bad.clone(), LAB), Some(LAB), &accounts)),
            Some(RefusalCode::InvalidValue),
            "{bad}"
        );
    }
    assert_eq!(code(check(&count(json!(3), ADMIN), Some(LAB), &accounts)), Some(RefusalCode::NotTheAuthor));
    // Posting writes count corrections: stock_count may, for that reason only.
    let adjusted = |reason: &str, q: i64| {
        change(
            "stock_movements",
            ROW,
            Op::Insert,
            json!({"id": ROW, "item_id": ADMIN, "batch_id": ADMIN, "store_id": ADMIN, "kind": "adjusted", "quantity": q,
                   "reason": reason, "at": "2026-12-06T10:00:00.000Z"}),
        )
    };
    assert_eq!(code(check(&adjusted("count_correction", -3), Some(ADMIN), &accounts)), None);
    assert_eq!(code(check(&adjusted("count_correction", 2), Some(ADMIN), &accounts)), None);
    assert_eq!(code(check(&adjusted("damaged", -3), Some(ADMIN), &accounts)), Some(RefusalCode::NotPermitted));
    assert_eq!(code(check(&adjusted("count_correction", -3), Some(NURSE), &accounts)), Some(RefusalCode::NotPermitted));
}

#[test]
fn a_doctor_orders_and_a_nurse_records_the_dose_in_their_own_names() {
    const DOCTOR: &str = "0190c2a0-0000-7000-8000-0000000000d4";
    let mut clinic = clinic();
    clinic.load(DOCTOR, vec![Role::Doctor], true, false, "0001732260000000-000000-dev-1");
    let order = |by: &str, schedule: &str| {
        change(
            "inpatient_orders",
            ROW,
            Op::Insert,
            json!({"id": ROW, "admission_id": ADMIN, "kind": "medicine", "schedule": schedule, "times_pattern": "1-0-1",
                   "start_at": "2026-12-05T10:00:00.000Z", "ordered_by": by}),
        )
    };
    assert_eq!(code(check(&order(DOCTOR, "times"), Some(DOCTOR), &clinic)), None);
    assert_eq!(code(check(&order(NURSE, "times"), Some(NURSE), &clinic)), Some(RefusalCode::NotPermitted));
    assert_eq!(code(check(&order(ADMIN, "times"), Some(DOCTOR), &clinic)), Some(RefusalCode::NotTheAuthor));
    assert_eq!(code(check(&order(DOCTOR, "hourly"), Some(DOCTOR), &clinic)), Some(RefusalCode::InvalidValue));
    let mut no_start = order(DOCTOR, "times");
    no_start.data.as_object_mut().unwrap().remove("start_at");
    assert_eq!(code(check(&no_start, Some(DOCTOR), &clinic)), Some(RefusalCode::InvalidValue));
    let stop = change(
        "inpatient_orders",
        ROW,
        Op::Update,
        json!({"id": ROW, "stopped_at": "2026-12-05 11:00", "stopped_by": DOCTOR, "stop_reason": "x"}),
    );
    assert_eq!(
        code(check(&stop, Some(DOCTOR), &clinic)),
        Some(RefusalCode::InvalidValue),
        "a time in the store's form"
    );

    let dose = |by: &str, outcome: &str| {
        change(
            "mar_entries",
            ROW,
            Op::Insert,
            json!({"id": ROW, "order_id": ADMIN, "scheduled_at": "2026-12-05T20:00:00.000Z", "outcome": outcome,
                   "reason": "", "given_at": "2026-12-05T20:10:00.000Z", "recorded_by": by}),
        )
    };
    assert_eq!(code(check(&dose(NURSE, "given"), Some(NURSE), &clinic)), None);
    assert_eq!(code(check(&dose(DOCTOR, "given"), Some(DOCTOR), &clinic)), Some(RefusalCode::NotPermitted));
    assert_eq!(code(check(&dose(DOCTOR, "given"), Some(NURSE), &clinic)), Some(RefusalCode::NotTheAuthor));
    assert_eq!(code(check(&dose(NURSE, "lost"), Some(NURSE), &clinic)), Some(RefusalCode::InvalidValue));
    let note = |kind: &str, by: &str| {
        let mut c = change(
            "inpatient_notes",
            ROW,
            Op::Insert,
            json!({"id": ROW, "admission_id": ADMIN, "kind": kind, "body": "Slept well",
                   "written_at": "2026-12-05T20:10:00.000Z", "written_by": by}),
        );
        if kind == "nursing" {
            c.data["shift"] = json!("night");
        }
        c
    };
    assert_eq!(code(check(&note("nursing", NURSE), Some(NURSE), &clinic)), None);
    assert_eq!(code(check(&note("progress", DOCTOR), Some(DOCTOR), &clinic)), None);
    assert_eq!(code(check(&note("nursing", DOCTOR), Some(NURSE), &clinic)), Some(RefusalCode::NotTheAuthor));
    let rewrite = change("mar_entries", ROW, Op::Update, json!({"id": ROW, "outcome": "held", "recorded_by": NURSE}));
    assert_eq!(code(check(&rewrite, Some(NURSE), &clinic)), Some(RefusalCode::InvalidValue), "the MAR is append-only");
}

#[test]
fn a_dose_not_given_and_a_prn_dose_carry_a_reason_and_a_note_is_its_authors_kind() {
    const DOCTOR: &str = "0190c2a0-0000-7000-8000-0000000000d4";
    let mut clinic = clinic();
    clinic.load(DOCTOR, vec![Role::Doctor], true, false, "0001732260000000-000000-dev-1");
    // A value of null stands for a field the row does not carry (a PRN dose's scheduled time).
    let without_nulls = |mut c: Change| {
        c.data.as_object_mut().unwrap().retain(|_, v| !v.is_null());
        c
    };
    let dose = |scheduled: Value, outcome: &str, reason: &str| {
        without_nulls(change(
            "mar_entries",
            ROW,
            Op::Insert,
            json!({"id": ROW, "order_id": ADMIN, "scheduled_at": scheduled, "outcome": outcome, "reason": reason,
                   "given_at": "2026-12-05T20:10:00.000Z", "recorded_by": NURSE}),
        ))
    };
    let at = json!("2026-12-05T20:00:00.000Z");
    let nurse = |c: Change| code(check(&c, Some(NURSE), &clinic));
    assert_eq!(nurse(dose(at.clone(), "given", "")), None, "a scheduled dose given needs no reason");
    for outcome in ["held", "refused", "missed"] {
        assert_eq!(nurse(dose(at.clone(), outcome, "")), Some(RefusalCode::InvalidValue), "{outcome} without a reason");
        assert_eq!(nurse(dose(at.clone(), outcome, "  ")), Some(RefusalCode::InvalidValue), "{outcome}, blank");
        assert_eq!(nurse(dose(at.clone(), outcome, "Nil by mouth")), None, "{outcome} with its reason");
    }
    // No scheduled time: a PRN dose, recorded when given and with its reason.
    assert_eq!(nurse(dose(Value::Null, "given", "Fever 38.9")), None);
    assert_eq!(nurse(dose(Value::Null, "given", "")), Some(RefusalCode::InvalidValue));
    assert_eq!(nurse(dose(Value::Null, "held", "Asleep")), Some(RefusalCode::InvalidValue));
    let mut no_reason = dose(Value::Null, "given", "Pain");
    no_reason.data.as_object_mut().unwrap().remove("reason");
    assert_eq!(nurse(no_reason), Some(RefusalCode::InvalidValue), "no reason field at all");

    let note = |kind: &str, shift: Value, by: &str| {
        without_nulls(change(
            "inpatient_notes",
            ROW,
            Op::Insert,
            json!({"id": ROW, "admission_id": ADMIN, "kind": kind, "shift": shift, "body": "Comfortable",
                   "written_at": "2026-12-05T20:10:00.000Z", "written_by": by}),
        ))
    };
    let night = json!("night");
    // The kind follows the author's role: a progress note is a doctor's, a nursing note a nurse's.
    assert_eq!(
        code(check(&note("progress", Value::Null, NURSE), Some(NURSE), &clinic)),
        Some(RefusalCode::NotPermitted)
    );
    assert_eq!(
        code(check(&note("nursing", night.clone(), DOCTOR), Some(DOCTOR), &clinic)),
        Some(RefusalCode::NotPermitted)
    );
    assert_eq!(code(check(&note("progress", Value::Null, DOCTOR), Some(DOCTOR), &clinic)), None);
    assert_eq!(code(check(&note("nursing", night.clone(), NURSE), Some(NURSE), &clinic)), None);
    // An administrator writes neither.
    assert_eq!(
        code(check(&note("progress", Value::Null, ADMIN), Some(ADMIN), &clinic)),
        Some(RefusalCode::NotPermitted)
    );
    // A nurse's note names its shift; a progress note none.
    assert_eq!(
        code(check(&note("nursing", Value::Null, NURSE), Some(NURSE), &clinic)),
        Some(RefusalCode::InvalidValue)
    );
    assert_eq!(code(check(&note("progress", night, DOCTOR), Some(DOCTOR), &clinic)), Some(RefusalCode::InvalidValue));
}

#[test]
fn a_doctor_writes_the_discharge_summary_in_their_own_name_with_lists_of_objects() {
    const DOCTOR: &str = "0190c2a0-0000-7000-8000-0000000000d4";
    let mut clinic = clinic();
    clinic.load(DOCTOR, vec![Role::Doctor], true, false, "0001732260000000-000000-dev-1");
    let summary = |by: &str, diagnoses: serde_json::Value| {
        change(
            "discharge_summaries",
            ROW,
            Op::Insert,
            json!({"id": ROW, "admission_id": ADMIN, "diagnoses": diagnoses, "course": "Fever settled.\nWalking.",
                   "medicines": "[]", "investigations": "[]", "follow_up_on": "2026-12-12",
                   "written_at": "2026-12-05T10:00:00.000Z", "written_by": by}),
        )
    };
    let coded = json!("[{\"code\":\"A01.0\",\"description\":\"Typhoid fever\",\"text\":\"\"}]");
    assert_eq!(code(check(&summary(DOCTOR, coded.clone()), Some(DOCTOR), &clinic)), None, "line breaks in the course");
    assert_eq!(code(check(&summary(NURSE, coded.clone()), Some(NURSE), &clinic)), Some(RefusalCode::NotPermitted));
    assert_eq!(code(check(&summary(ADMIN, coded), Some(DOCTOR), &clinic)), Some(RefusalCode::NotTheAuthor));
    for bad in [json!("not json"), json!("{\"code\":\"A01.0\"}"), json!("[1, 2]"), json!(7)] {
        assert_eq!(
            code(check(&summary(DOCTOR, bad.clone()), Some(DOCTOR), &clinic)),
            Some(RefusalCode::InvalidValue),
            "{bad}"
        );
    }
    let many = serde_json::Value::String(serde_json::to_string(&vec![json!({}); 21]).unwrap());
    assert_eq!(code(check(&summary(DOCTOR, many), Some(DOCTOR), &clinic)), Some(RefusalCode::InvalidValue));
    let finalise = |date: &str| {
        change(
            "discharge_summaries",
            ROW,
            Op::Update,
            json!({"id": ROW, "finalised_at": "2026-12-06T10:00:00.000Z", "finalised_by": DOCTOR, "follow_up_on": date}),
        )
    };
    assert_eq!(code(check(&finalise("2026-12-12"), Some(DOCTOR), &clinic)), None);
    assert_eq!(code(check(&finalise("12/12/2026"), Some(DOCTOR), &clinic)), Some(RefusalCode::InvalidValue));
    let bell =
        change("discharge_summaries", ROW, Op::Update, json!({"id": ROW, "advice": "Rest\u{7}", "written_by": DOCTOR}));
    assert_eq!(code(check(&bell, Some(DOCTOR), &clinic)), Some(RefusalCode::InvalidValue));
}

#[test]
fn intake_and_output_are_a_nurses_inserts_with_a_kind_of_their_direction() {
    const DOCTOR: &str = "0190c2a0-0000-7000-8000-0000000000d4";
    let mut clinic = clinic();
    clinic.load(DOCTOR, vec![Role::Doctor], true, false, "0001732260000000-000000-dev-1");
    let entry = |by: &str, direction: &str, kind: &str, ml: i64| {
        change(
            "intake_output",
            ROW,
            Op::Insert,
            json!({"id": ROW, "admission_id": ADMIN, "direction": direction, "kind": kind, "volume_ml": ml,
                   "at": "2026-12-05T20:10:00.000Z", "note": "", "recorded_by": by}),
        )
    };
    assert_eq!(code(check(&entry(NURSE, "intake", "iv", 500), Some(NURSE), &clinic)), None);
    assert_eq!(code(check(&entry(NURSE, "output", "urine", 400), Some(NURSE), &clinic)), None);
    assert_eq!(
        code(check(&entry(DOCTOR, "intake", "oral", 100), Some(DOCTOR), &clinic)),
        Some(RefusalCode::NotPermitted)
    );
    assert_eq!(
        code(check(&entry(DOCTOR, "intake", "oral", 100), Some(NURSE), &clinic)),
        Some(RefusalCode::NotTheAuthor)
    );
    assert_eq!(
        code(check(&entry(NURSE, "intake", "urine", 100), Some(NURSE), &clinic)),
        Some(RefusalCode::InvalidValue),
        "urine is not an intake"
    );
    assert_eq!(
        code(check(&entry(NURSE, "output", "blood", 100), Some(NURSE), &clinic)),
        Some(RefusalCode::InvalidValue)
    );
    assert_eq!(
        code(check(&entry(NURSE, "output", "urine", 5001), Some(NURSE), &clinic)),
        Some(RefusalCode::InvalidValue)
    );
    assert_eq!(
        code(check(&entry(NURSE, "output", "urine", 0), Some(NURSE), &clinic)),
        Some(RefusalCode::InvalidValue),
        "0 ml only corrects an entry"
    );
    let mut fix = entry(NURSE, "output", "urine", 0);
    fix.data.as_object_mut().unwrap().insert("voids_id".into(), json!(ADMIN));
    assert_eq!(code(check(&fix, Some(NURSE), &clinic)), Some(RefusalCode::InvalidValue), "a correction says why");
    fix.data.as_object_mut().unwrap().insert("void_reason".into(), json!("Wrong patient"));
    assert_eq!(code(check(&fix, Some(NURSE), &clinic)), None);
    let mut no_volume = entry(NURSE, "intake", "oral", 100);
    no_volume.data.as_object_mut().unwrap().remove("volume_ml");
    assert_eq!(code(check(&no_volume, Some(NURSE), &clinic)), Some(RefusalCode::InvalidValue));
    let rewrite = change("intake_output", ROW, Op::Update, json!({"id": ROW, "volume_ml": 50, "recorded_by": NURSE}));
    assert_eq!(code(check(&rewrite, Some(NURSE), &clinic)), Some(RefusalCode::InvalidValue), "append-only");
}

#[test]
fn a_back_entered_admission_and_its_bed_event_pass_like_one_made_now() {
    // The change is stamped 2024-11-22T10:06:40Z; the admission was entered as 72 hours before.
    const DOCTOR: &str = "0190c2a0-0000-7000-8000-0000000000d4";
    let mut clinic = clinic();
    clinic.load(DOCTOR, vec![Role::Doctor], true, false, "0001732260000000-000000-dev-1");
    let admit = change(
        "admissions",
        ROW,
        Op::Insert,
        json!({"id": ROW, "patient_id": ADMIN, "doctor_id": DOCTOR, "ward_id": ADMIN, "reason": "Night admission",
               "admitted_at": "2024-11-19T10:06:40.000Z", "admitted_by": DOCTOR}),
    );
    assert_eq!(code(check(&admit, Some(DOCTOR), &clinic)), None);
    let event = change(
        "bed_events",
        ROW,
        Op::Insert,
        json!({"id": ROW, "bed_id": ADMIN, "kind": "admitted", "admission_id": ROW, "at": "2024-11-19T10:06:40.000Z",
               "reason": ""}),
    );
    assert_eq!(code(check(&event, Some(DOCTOR), &clinic)), None);
}
