//! An enrolled device that is not an honest hms-core store, speaking raw HTTP, tries to turn
//! the clinic's sync against it: a new administrator, a promotion, a password overwrite, every
//! administrator deactivated, a stamp far in the future, an overflowing counter, a path in an
//! attachment's sha256, oversized data. The server refuses each with its stable code and
//! stores nothing of the batch; an honest device keeps syncing and loses nothing.

mod common;

use common::device::{Device, PW};
use common::{assert_error, Enrolled, TestServer};
use hms_core::sync;
use hms_core::users::{self, NewUser};
use hms_protocol::{Change, Op};
use hms_server::admin;
use reqwest::StatusCode;
use serde_json::{json, Value};

const TENANT: &str = "Hostile Clinic";
const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";

/// The clinic: an honest device with its administrator and a nurse, synced, and an attacker's
/// device enrolled in the same tenant that has already pushed its first change (a stolen
/// tablet that was in use).
struct Clinic {
    server: TestServer,
    honest: Device,
    admin_id: String,
    nurse_id: String,
    attacker: Enrolled,
    next_seq: u64,
}

async fn user_id(d: &Device, username: &str) -> String {
    sqlx::query_scalar("SELECT id FROM users WHERE username = ?")
        .bind(username)
        .fetch_one(d.store.pool())
        .await
        .unwrap()
}

async fn clinic(server: TestServer) -> Clinic {
    admin::create_tenant(server.pool(), TENANT).await.unwrap();
    let honest = Device::new("admin.h").await;
    let auth = honest.auth().await;
    let nurse = NewUser {
        username: "nurse.h".into(),
        full_name: "Nurse H".into(),
        password: PW.into(),
        roles: vec!["nurse".into()],
    };
    users::create(&honest.store, &auth, nurse).await.unwrap();
    honest.enrol(server.pool(), &server.base, TENANT, "Reception").await;
    sync::sync_now(&honest.store).await.unwrap();
    let admin_id = user_id(&honest, "admin.h").await;
    let nurse_id = user_id(&honest, "nurse.h").await;
    let attacker = server.enrol(TENANT, "Ward tablet").await;
    let mut clinic = Clinic { server, honest, admin_id, nurse_id, attacker, next_seq: 1 };
    // The tablet's first change: an honest-looking vitals entry by the nurse.
    let first = clinic.change("vitals", &new_id(), Op::Insert, json!({"pulse": 72}), Some(&clinic.nurse_id.clone()));
    let (status, body) = clinic.push(&[first]).await;
    if clinic.server.state.check_changes {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    clinic
}

fn new_id() -> String {
    hms_core::ids::new_id()
}

fn now_hlc(device: &str) -> String {
    format!("{:016}-{:06}-{device}", chrono::Utc::now().timestamp_millis(), 0)
}

impl Clinic {
    fn change(&mut self, entity: &str, entity_id: &str, op: Op, mut data: Value, author: Option<&str>) -> Change {
        let seq = self.next_seq;
        self.next_seq += 1;
        if op != Op::Delete && entity != "settings" {
            data["id"] = json!(entity_id);
        }
        Change {
            id: new_id(),
            device_id: self.attacker.device_id.clone(),
            device_seq: seq,
            entity: entity.into(),
            entity_id: entity_id.into(),
            op,
            data,
            hlc: now_hlc(&self.attacker.device_id),
            user_id: author.map(str::to_string),
            proof: None,
        }
    }

    /// Pushes `changes`, each signed as a segment of its own with the key the tablet
    /// registered (a stolen tablet holds its own key file): the proofs hold, the policy decides.
    async fn push(&self, changes: &[Change]) -> (StatusCode, Value) {
        self.server.push(&self.attacker.token, &common::resign(changes.to_vec())).await
    }

    /// The attacks, each a batch of one change, with the answer the checking server gives.
    fn attacks(&mut self) -> Vec<(&'static str, Change, StatusCode, &'static str, Option<&'static str>)> {
        let (admin, nurse) = (self.admin_id.clone(), self.nurse_id.clone());
        let mallory = new_id();
        let new_admin = json!({"username": "mallory", "full_name": "Mallory", "password_hash": HASH,
                               "roles": ["admin"], "active": true});
        let forbidden = StatusCode::FORBIDDEN;
        let mut future = self.change("vitals", &new_id(), Op::Insert, json!({"pulse": 80}), Some(&nurse));
        future.hlc = format!("9999999999999999-999999-{}", self.attacker.device_id);
        let mut overflow = self.change("vitals", &new_id(), Op::Insert, json!({"pulse": 80}), Some(&nurse));
        overflow.hlc = format!("{:016}-1000000-{}", chrono::Utc::now().timestamp_millis(), self.attacker.device_id);
        vec![
            (
                "a new administrator made by a nurse",
                self.change("users", &mallory, Op::Insert, new_admin.clone(), Some(&nurse)),
                forbidden,
                "forbidden_change",
                Some("not_permitted"),
            ),
            (
                "a new administrator made by itself, not as a device's first change",
                self.change("users", &mallory, Op::Insert, new_admin, Some(&mallory)),
                forbidden,
                "forbidden_change",
                Some("unknown_author"),
            ),
            (
                "a nurse promoting herself",
                self.change("users", &nurse, Op::Update, json!({"roles": ["admin", "nurse"]}), Some(&nurse)),
                forbidden,
                "forbidden_change",
                Some("not_permitted"),
            ),
            (
                "the administrator's password overwritten",
                self.change("users", &admin, Op::Update, json!({"password_hash": HASH}), Some(&nurse)),
                forbidden,
                "forbidden_change",
                Some("not_permitted"),
            ),
            (
                "a change with no author",
                self.change("users", &admin, Op::Update, json!({"password_hash": HASH}), None),
                forbidden,
                "forbidden_change",
                Some("no_author"),
            ),
            (
                "every administrator deactivated",
                self.change("users", &admin, Op::Update, json!({"active": false}), Some(&admin)),
                forbidden,
                "forbidden_change",
                Some("last_admin"),
            ),
            (
                "a path in an attachment's sha256",
                self.change(
                    "attachments",
                    &new_id(),
                    Op::Insert,
                    json!({"sha256": "/dev/zero", "file_name": "x.pdf", "size_bytes": 1}),
                    Some(&nurse),
                ),
                forbidden,
                "forbidden_change",
                Some("invalid_value"),
            ),
            (
                "a table that is not synced",
                self.change("sqlite_master", &new_id(), Op::Insert, json!({}), Some(&admin)),
                forbidden,
                "forbidden_change",
                Some("unknown_entity"),
            ),
            (
                "oversized data",
                self.change("patients", &new_id(), Op::Insert, json!({"notes": "x".repeat(300 * 1024)}), Some(&nurse)),
                StatusCode::PAYLOAD_TOO_LARGE,
                "change_too_large",
                Some("change_too_large"),
            ),
            ("a stamp far in the future", future, StatusCode::CONFLICT, "clock_ahead", None),
            ("an overflowing counter", overflow, StatusCode::BAD_REQUEST, "bad_request", None),
        ]
    }
}

#[tokio::test]
async fn the_server_refuses_each_attack_with_its_code_and_stores_nothing() {
    let mut c = clinic(TestServer::start().await).await;
    let stored = c.server.stored_changes().await;
    for (what, change, status, code, reason) in c.attacks() {
        let id = change.id.clone();
        let answer = c.push(&[change]).await;
        assert_error(&answer, status, code);
        if let Some(reason) = reason {
            let refused = answer.1["refused"].as_array().unwrap_or_else(|| panic!("{what}: {}", answer.1));
            assert_eq!(refused.len(), 1, "{what}: {}", answer.1);
            assert_eq!(refused[0]["id"], id, "{what}");
            assert_eq!(refused[0]["reason"], reason, "{what}: {}", answer.1);
        }
        assert_eq!(c.server.stored_changes().await, stored, "{what}: nothing stored");
    }

    // A batch with one bad change among good ones stores none of it, and names the bad one.
    let nurse = c.nurse_id.clone();
    let good = c.change("vitals", &new_id(), Op::Insert, json!({"pulse": 70}), Some(&nurse));
    let bad = c.change("users", &nurse, Op::Update, json!({"roles": ["admin"]}), Some(&nurse));
    let answer = c.push(&[good.clone(), bad.clone()]).await;
    assert_error(&answer, StatusCode::FORBIDDEN, "forbidden_change");
    assert_eq!(answer.1["refused"].as_array().unwrap().len(), 1);
    assert_eq!(answer.1["refused"][0]["device_seq"], bad.device_seq);
    assert_eq!(c.server.stored_changes().await, stored);
    // Without it, the rest goes through.
    assert_eq!(c.push(&[good]).await.0, StatusCode::OK);

    // The honest device keeps syncing: its own changes go, nothing of the attacks arrives.
    let auth = c.honest.auth().await;
    let doctor = NewUser {
        username: "doctor.h".into(),
        full_name: "Doctor H".into(),
        password: PW.into(),
        roles: vec!["doctor".into()],
    };
    users::create(&c.honest.store, &auth, doctor).await.unwrap();
    let report = sync::sync_now(&c.honest.store).await.unwrap();
    assert!(report.push.accepted >= 1, "{report:?}");
    assert_eq!(c.honest.scalar("SELECT count(*) FROM users WHERE username = 'mallory'").await, 0);
    assert_eq!(c.honest.scalar("SELECT count(*) FROM users WHERE roles LIKE '%admin%' AND active = 1").await, 1);
    assert_eq!(sync::status(&c.honest.store).await.unwrap().pending, 0);
}

#[tokio::test]
async fn the_tenants_accounts_follow_its_accepted_user_changes() {
    let mut c = clinic(TestServer::start().await).await;
    // The administrator (named as the author, as an honest device would) promotes the nurse:
    // from then on she may do what administrators do, in the same batch.
    let (admin, nurse) = (c.admin_id.clone(), c.nurse_id.clone());
    let promote = c.change("users", &nurse, Op::Update, json!({"roles": ["admin", "nurse"]}), Some(&admin));
    let tariff = c.change("services", &new_id(), Op::Insert, json!({"name": "X-ray"}), Some(&nurse));
    let answer = c.push(&[promote, tariff]).await;
    assert_eq!(answer.0, StatusCode::OK, "{}", answer.1);
    // Now two administrators: one may be deactivated, not both.
    let off = c.change("users", &admin, Op::Update, json!({"active": false}), Some(&nurse));
    assert_eq!(c.push(&[off]).await.0, StatusCode::OK);
    let off_too = c.change("users", &nurse, Op::Update, json!({"active": false}), Some(&nurse));
    assert_error(&c.push(&[off_too]).await, StatusCode::FORBIDDEN, "forbidden_change");
    // The deactivated administrator's changes are refused.
    let late = c.change("services", &new_id(), Op::Insert, json!({"name": "CT"}), Some(&admin));
    let answer = c.push(&[late]).await;
    assert_eq!(answer.1["refused"][0]["reason"], "inactive_author", "{}", answer.1);
}

/// The device's own defence: the same attacks through a server that does not check them
/// (an old server, or a compromised one that stores what it is sent) reach the honest
/// device, which refuses each: kept as a `refused` conflict naming the policy's code, named
/// in the pull's audit entry, never applied, and the forged stamp does not move its clock.
#[tokio::test]
async fn a_device_refuses_what_a_server_that_does_not_check_lets_through() {
    let mut c = clinic(TestServer::start_unchecked().await).await;
    let admin_hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = ?")
        .bind(&c.admin_id)
        .fetch_one(c.honest.store.pool())
        .await
        .unwrap();
    // What even a server that does not check refuses (a malformed stamp) is left out.
    let attacks: Vec<(&str, Change)> = c
        .attacks()
        .into_iter()
        .filter(|(_, _, status, _, _)| *status != StatusCode::BAD_REQUEST)
        .map(|(what, change, ..)| (what, change))
        .collect();
    // In device order, as a device pushes (a pulled change below a device's merged sequence is
    // taken as merged already).
    let mut attacks = attacks;
    attacks.sort_by_key(|(_, change)| change.device_seq);
    for (what, change) in &attacks {
        let answer = c.push(std::slice::from_ref(change)).await;
        assert_eq!(answer.0, StatusCode::OK, "{what}: the unchecking server stores it: {}", answer.1);
    }

    let report = sync::sync_now(&c.honest.store).await.unwrap();
    assert!(report.pull.refused >= attacks.len() as u64, "{report:?}");
    for (what, change) in &attacks {
        let local: Vec<String> = sqlx::query_scalar(
            "SELECT local FROM sync_conflicts WHERE kind = 'refused' AND entity = ? AND entity_id = ? AND remote_hlc = ?",
        )
        .bind(&change.entity)
        .bind(&change.entity_id)
        .bind(&change.hlc)
        .fetch_all(c.honest.store.pool())
        .await
        .unwrap();
        // (Two attacks made in the same millisecond share entity and stamp: at least one each.)
        assert!(!local.is_empty(), "{what}: kept as a refused conflict");
    }
    let reasons: Vec<String> =
        sqlx::query_scalar("SELECT json_extract(local, '$.refused') FROM sync_conflicts WHERE kind = 'refused'")
            .fetch_all(c.honest.store.pool())
            .await
            .unwrap();
    for code in [
        "not_permitted",
        "unknown_author",
        "no_author",
        "last_admin",
        "invalid_value",
        "unknown_entity",
        "future_stamp",
    ] {
        assert!(reasons.iter().any(|r| r.starts_with(code)), "{code} in {reasons:?}");
    }

    // Nothing of them was applied.
    assert_eq!(c.honest.scalar("SELECT count(*) FROM users WHERE username = 'mallory'").await, 0);
    assert_eq!(c.honest.scalar("SELECT count(*) FROM users WHERE roles LIKE '%admin%' AND active = 1").await, 1);
    let nurse_roles: String = sqlx::query_scalar("SELECT roles FROM users WHERE id = ?")
        .bind(&c.nurse_id)
        .fetch_one(c.honest.store.pool())
        .await
        .unwrap();
    assert!(!nurse_roles.contains("admin"), "{nurse_roles}");
    let hash_now: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = ?")
        .bind(&c.admin_id)
        .fetch_one(c.honest.store.pool())
        .await
        .unwrap();
    assert_eq!(hash_now, admin_hash, "the administrator's password is untouched");
    assert_eq!(c.honest.scalar("SELECT count(*) FROM attachments").await, 0);

    // The forged stamp did not move the clock: a local write afterwards is stamped now.
    let auth = c.honest.auth().await;
    let clerk = NewUser {
        username: "clerk.h".into(),
        full_name: "Clerk H".into(),
        password: PW.into(),
        roles: vec!["receptionist".into()],
    };
    users::create(&c.honest.store, &auth, clerk).await.unwrap();
    let stamp: String = sqlx::query_scalar("SELECT updated_at FROM users WHERE username = 'clerk.h'")
        .fetch_one(c.honest.store.pool())
        .await
        .unwrap();
    let millis: i64 = stamp[..16].parse().unwrap();
    let limit = chrono::Utc::now().timestamp_millis() + 1_000;
    assert!(millis <= limit, "{stamp}");

    // The pull's audit entry names the refused changes.
    let detail: String =
        sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'sync.pull' ORDER BY rowid DESC LIMIT 1")
            .fetch_one(c.honest.store.pool())
            .await
            .unwrap();
    let detail: Value = serde_json::from_str(&detail).unwrap();
    let named = detail["refusals"].as_array().map_or(0, Vec::len);
    assert!(named >= attacks.len(), "{detail}");

    // And the honest device keeps syncing.
    let again = sync::sync_now(&c.honest.store).await.unwrap();
    assert!(again.push.accepted >= 1, "{again:?}");
    assert_eq!(sync::status(&c.honest.store).await.unwrap().pending, 0);
}
