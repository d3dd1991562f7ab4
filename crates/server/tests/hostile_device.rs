//! An enrolled device that is not an honest hms-core store, speaking raw HTTP, tries to turn
//! the clinic's sync against it: a new administrator, a promotion, a password overwrite, every
//! administrator deactivated, changes in another user's name, another device's id, a stamp
//! far in the future, an overflowing counter, a path in an attachment's sha256, oversized
//! data. The server refuses each with its stable code and stores nothing of the batch; an
//! honest device keeps syncing and loses nothing.
//!
//! The tablet signs as the device (it holds its key file) and, to get past the user
//! signatures to the policy's other checks, it knows the passwords of the accounts it acts
//! for (all test accounts share one): it derives their keys from the salts synced with the
//! accounts, as a device does at sign-in. The attacks on the user signatures use a key the
//! tablet does not have.

mod common;

use common::device::{Device, PW};
use common::{assert_error, Enrolled, TestServer};
use hms_core::sync;
use hms_core::users::{self, NewUser};
use hms_protocol::proof::{self, SigningKey};
use hms_protocol::{Change, Op};
use hms_server::admin;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::HashMap;

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
    /// The user keys the tablet can sign with, by user id.
    keys: HashMap<String, SigningKey>,
    /// Changes (by id) the tablet signs with another user's key than the one they name.
    sign_as: HashMap<String, String>,
}

/// The key a device derives for `user_id` from the shared test password and the account's
/// synced salt.
async fn user_key(d: &Device, user_id: &str) -> SigningKey {
    let salt: String = sqlx::query_scalar("SELECT key_salt FROM users WHERE id = ?")
        .bind(user_id)
        .fetch_one(d.store.pool())
        .await
        .unwrap();
    hms_core::auth::keys::derive(PW, &salt).unwrap().signing_key().clone()
}

async fn user_id(d: &Device, username: &str) -> String {
    sqlx::query_scalar("SELECT id FROM users WHERE username = ?")
        .bind(username)
        .fetch_one(d.store.pool())
        .await
        .unwrap()
}

async fn clinic(server: TestServer) -> Clinic {
    admin::create_tenant(server.store(), TENANT).await.unwrap();
    let honest = Device::new("admin.h").await;
    let auth = honest.auth().await;
    let nurse = NewUser {
        username: "nurse.h".into(),
        full_name: "Nurse H".into(),
        password: PW.into(),
        roles: vec!["nurse".into()],
    };
    users::create(&honest.store, &auth, nurse).await.unwrap();
    honest.enrol(server.store(), &server.base, TENANT, "Reception").await;
    sync::sync_now(&honest.store).await.unwrap();
    let admin_id = user_id(&honest, "admin.h").await;
    let nurse_id = user_id(&honest, "nurse.h").await;
    let attacker = server.enrol(TENANT, "Ward tablet").await;
    let keys = HashMap::from([
        (admin_id.clone(), user_key(&honest, &admin_id).await),
        (nurse_id.clone(), user_key(&honest, &nurse_id).await),
    ]);
    let mut clinic =
        Clinic { server, honest, admin_id, nurse_id, attacker, next_seq: 1, keys, sign_as: HashMap::new() };
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
    /// registered (a stolen tablet holds its own key file) and with the key of the user it
    /// names when the tablet has it (or of the user in `sign_as`).
    async fn push(&self, changes: &[Change]) -> (StatusCode, Value) {
        let signed: Vec<Change> = changes.iter().map(|c| self.sign(c.clone())).collect();
        self.server.push(&self.attacker.token, &signed).await
    }

    fn sign(&self, mut change: Change) -> Change {
        change.proof = None;
        let signer = self.sign_as.get(&change.id).or(change.user_id.as_ref());
        let proof = match (change.user_id.as_deref(), signer.and_then(|s| self.keys.get(s))) {
            (Some(user), Some(key)) => {
                proof::sign_segment_as_user(&common::test_key(), user, key, std::slice::from_ref(&change))
            }
            (user, _) => proof::sign_segment(&common::test_key(), user, std::slice::from_ref(&change)),
        };
        change.proof = Some(proof.expect("sign"));
        change
    }

    /// The attacks, each a batch of one change, with the answer the checking server gives.
    fn attacks(&mut self) -> Vec<(&'static str, Change, StatusCode, &'static str, Option<&'static str>)> {
        let (admin, nurse) = (self.admin_id.clone(), self.nurse_id.clone());
        let mallory = new_id();
        // Mallory's row brings her own key (the tablet signs her changes with it).
        let mallory_key = proof::signing_key(&[66; 32]);
        let new_admin = json!({"username": "mallory", "full_name": "Mallory", "password_hash": HASH,
                               "roles": ["admin"], "active": true,
                               "user_key": proof::public_key_hex(&mallory_key)});
        self.keys.insert(mallory.clone(), mallory_key);
        let forbidden = StatusCode::FORBIDDEN;
        let mut future = self.change("vitals", &new_id(), Op::Insert, json!({"pulse": 80}), Some(&nurse));
        future.hlc = format!("9999999999999999-999999-{}", self.attacker.device_id);
        let mut overflow = self.change("vitals", &new_id(), Op::Insert, json!({"pulse": 80}), Some(&nurse));
        overflow.hlc = format!("{:016}-1000000-{}", chrono::Utc::now().timestamp_millis(), self.attacker.device_id);
        // In the administrator's name, signed with the nurse's key (the only one the tablet
        // would have): the tablet does not know the administrator's password.
        let as_admin = self.change("services", &new_id(), Op::Insert, json!({"name": "Free MRI"}), Some(&admin));
        self.sign_as.insert(as_admin.id.clone(), nurse.clone());
        let promote_as_admin =
            self.change("users", &nurse, Op::Update, json!({"roles": ["admin", "nurse"]}), Some(&admin));
        self.sign_as.insert(promote_as_admin.id.clone(), nurse.clone());
        // In the nurse's name with the device's signature only.
        let unsigned = self.change("vitals", &new_id(), Op::Insert, json!({"pulse": 81}), Some(&nurse));
        self.sign_as.insert(unsigned.id.clone(), "nobody".into());
        let mut other_device = self.change("vitals", &new_id(), Op::Insert, json!({"pulse": 82}), Some(&nurse));
        other_device.device_id = "0190c2a0-0000-7000-8000-00000000d0d0".into();
        vec![
            ("a change in another user's name", as_admin, forbidden, "bad_user_proof", Some("bad_user_proof")),
            (
                "a promotion in the administrator's name",
                promote_as_admin,
                forbidden,
                "bad_user_proof",
                Some("bad_user_proof"),
            ),
            ("a change without its user's signature", unsigned, forbidden, "bad_user_proof", Some("bad_user_proof")),
            ("another device's id", other_device, forbidden, "forbidden", None),
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
                "a dose held without a reason",
                self.change(
                    "mar_entries",
                    &new_id(),
                    Op::Insert,
                    json!({"order_id": new_id(), "scheduled_at": "2026-12-05T08:00:00.000Z", "outcome": "held",
                           "reason": "", "given_at": "2026-12-05T08:10:00.000Z", "recorded_by": nurse}),
                    Some(&nurse),
                ),
                forbidden,
                "forbidden_change",
                Some("invalid_value"),
            ),
            (
                "a doctor's progress note written by a nurse",
                self.change(
                    "inpatient_notes",
                    &new_id(),
                    Op::Insert,
                    json!({"admission_id": new_id(), "kind": "progress", "body": "Improving",
                           "written_at": "2026-12-05T08:10:00.000Z", "written_by": nurse}),
                    Some(&nurse),
                ),
                forbidden,
                "forbidden_change",
                Some("not_permitted"),
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
    // What even a server that does not check refuses (a malformed stamp, another device's id)
    // is left out.
    let attacks: Vec<(&str, Change)> = c
        .attacks()
        .into_iter()
        .filter(|(_, _, status, code, _)| *status != StatusCode::BAD_REQUEST && *code != "forbidden")
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
        "bad_user_proof",
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

/// A server with these limits and the policy off (the limits hold whatever the changes say).
async fn limited(limits: hms_server::Limits) -> TestServer {
    let state =
        hms_server::AppState { limits, ..common::unchecked(hms_server::AppState::new(common::test_store().await)) };
    TestServer::start_with(state).await
}

/// Holding waits open: at most 2 per device (the third is refused at once, 429
/// `too_many_waits`), another device is not held up, and a place frees when a wait answers.
#[tokio::test]
async fn a_wait_flood_is_refused_past_two_open_waits_per_device() {
    let server = limited(hms_server::Limits::default()).await;
    let tablet = server.tenant_with_device(TENANT).await;
    let other = server.enrol(TENANT, "Reception").await;
    let wait = |token: String, ms: u64| {
        let (http, url) = (server.http.clone(), server.url(&format!("/v1/wait?after=0&timeout_ms={ms}")));
        tokio::spawn(async move { common::send(http.get(url).bearer_auth(token)).await })
    };
    // Two waits held open, then a third asked with waits that answer at once until it is
    // refused. The spawned waits only start when this task yields, so it first lets them go.
    // A busy machine may still deliver a probe before the second wait, which then is the one
    // refused: that round proves nothing and is run again (a limit of one fails every round).
    let mut third = None;
    for _round in 0..8 {
        let first = wait(tablet.token.clone(), 3_000);
        let second = wait(tablet.token.clone(), 3_000);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(2_500);
        let mut refused = None;
        while refused.is_none() && std::time::Instant::now() < deadline {
            let probe = server.get("/v1/wait?after=0&timeout_ms=0", Some(&tablet.token)).await;
            if probe.0 != StatusCode::OK {
                refused = Some(probe);
            }
        }
        // Another device of the same tenant still waits while the tablet's two are held.
        let other_waits = wait(other.token.clone(), 200).await.unwrap().0;
        let (first, second) = (first.await.unwrap(), second.await.unwrap());
        if first.0 == StatusCode::OK && second.0 == StatusCode::OK {
            third = refused.map(|r| (r, other_waits));
            break;
        }
    }
    let (third, other_waits) = third.expect("a third wait is refused while two are held open");
    assert_error(&third, StatusCode::TOO_MANY_REQUESTS, "too_many_waits");
    assert_eq!(other_waits, StatusCode::OK);
    let again = server.get("/v1/wait?after=0&timeout_ms=100", Some(&tablet.token)).await;
    assert_eq!(again.0, StatusCode::OK, "the places are free again: {}", again.1);
}

/// A request flood: past the device's rate, 429 `rate_limited` with a `Retry-After` in seconds;
/// the other devices are not affected, and an honest device's sync honours it.
#[tokio::test]
async fn a_request_flood_is_refused_with_retry_after() {
    let limits = hms_server::Limits { requests_per_minute: 10, ..hms_server::Limits::default() };
    let server = limited(limits).await;
    let tablet = server.tenant_with_device(TENANT).await;
    let other = server.enrol(TENANT, "Reception").await;
    let mut refused = None;
    for _ in 0..30 {
        let res = server.http.get(server.url("/v1/pull?after=0")).bearer_auth(&tablet.token).send().await.unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(res);
            break;
        }
        assert_eq!(res.status(), StatusCode::OK);
    }
    let res = refused.expect("a flood is refused");
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=6).contains(&retry), "about a request's worth of a minute: {retry}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    assert_eq!(server.pull(&other.token, 0, 10).await.0, StatusCode::OK, "another device is not held up");

    // A device's sync: the error carries the server's Retry-After, which the worker waits.
    let device = Device::new("admin.r").await;
    device.enrol(server.store(), &server.base, TENANT, "Ward").await;
    let mut seen = None;
    for _ in 0..30 {
        if let Err(e) = sync::sync_now(&device.store).await {
            seen = Some(e);
            break;
        }
    }
    let err = seen.expect("the device meets the limit too");
    let sync::SyncError::Server { status: 429, retry_after_secs: Some(secs), .. } = err else {
        panic!("{err:?}");
    };
    let pause = sync::worker::WorkerConfig::default().retry_after(secs);
    assert_eq!(pause, std::time::Duration::from_secs(secs), "the worker waits what the server asked");
}

/// A replayed push stores nothing twice; a reordered one is stored in device order, once; a
/// different change under a used device sequence is refused.
#[tokio::test]
async fn a_replayed_or_reordered_push_is_harmless() {
    let server = limited(hms_server::Limits::default()).await;
    let tablet = server.tenant_with_device(TENANT).await;
    let batch = common::changes(&tablet.device_id, 1..=3);
    assert_eq!(server.push(&tablet.token, &batch).await.0, StatusCode::OK);
    let stored = server.stored_changes().await;
    let (status, body) = server.push(&tablet.token, &batch).await;
    assert_eq!((status, body["accepted"].clone(), body["duplicates"].clone()), (StatusCode::OK, json!(0), json!(3)));
    assert_eq!(server.stored_changes().await, stored);
    // Reordered: later sequences first, and an old one mixed in.
    let mut reordered = common::changes(&tablet.device_id, 4..=6);
    reordered.reverse();
    reordered.push(batch[0].clone());
    let (status, body) = server.push(&tablet.token, &reordered).await;
    assert_eq!((status, body["accepted"].clone(), body["duplicates"].clone()), (StatusCode::OK, json!(3), json!(1)));
    let pulled = server.pull_all(&tablet.token, 100).await;
    let seqs: Vec<u64> = pulled.iter().map(|p| p.change.device_seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5, 6], "stored once each, in device order");
    // A different change under sequence 2: the device's log was reset; refused, not a duplicate.
    let mut forged = common::unsigned_change(&tablet.device_id, 2);
    forged.id = new_id();
    let answer = server.push(&tablet.token, &common::resign(vec![forged])).await;
    assert_error(&answer, StatusCode::CONFLICT, "conflict");
    assert_eq!(server.stored_changes().await, stored + 3);
}

/// Blobs beyond the tenant's quota are refused (507 `blob_quota_exceeded`); one already held
/// is still answered; another tenant has its own quota.
#[tokio::test]
async fn a_blob_beyond_the_tenants_quota_is_refused() {
    use sha2::Digest;
    let limits = hms_server::Limits { blob_quota_bytes: 1_000, ..hms_server::Limits::default() };
    let server = limited(limits).await;
    let tablet = server.tenant_with_device(TENANT).await;
    let elsewhere = server.tenant_with_device("Other Clinic").await;
    let put = |token: &str, bytes: Vec<u8>| {
        let sha = hex::encode(sha2::Sha256::digest(&bytes));
        let req = server.http.put(server.url(&format!("/v1/blobs/{sha}"))).bearer_auth(token).body(bytes);
        common::send(req)
    };
    let a = vec![1u8; 600];
    assert_eq!(put(&tablet.token, a.clone()).await.0, StatusCode::OK);
    let over = put(&tablet.token, vec![2u8; 600]).await;
    assert_error(&over, StatusCode::INSUFFICIENT_STORAGE, "blob_quota_exceeded");
    assert_eq!(put(&tablet.token, a.clone()).await.0, StatusCode::OK, "a blob already held is no more");
    assert_eq!(put(&elsewhere.token, vec![2u8; 600]).await.0, StatusCode::OK, "each tenant has its own quota");
    assert_eq!(common::count(server.store(), "SELECT count(*) FROM blobs").await, 2);
}

/// A pull page that would go over the byte cap ends early, at a segment end, and says more
/// follows; pulling on gets everything once.
#[tokio::test]
async fn a_pull_page_ends_at_its_byte_cap() {
    let limits = hms_server::Limits { max_pull_page_bytes: 4_096, ..hms_server::Limits::default() };
    let server = limited(limits).await;
    let tablet = server.tenant_with_device(TENANT).await;
    // 20 changes of about 1.5 KB each (hex digits of a hash chain: PostgreSQL cannot shrink them).
    let mut seed = [0u8; 32];
    let changes: Vec<Change> = (1..=20)
        .map(|seq| {
            let mut c = common::unsigned_change(&tablet.device_id, seq);
            let note: String = (0..24)
                .map(|_| {
                    seed = sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(seed)).into();
                    hex::encode(seed)
                })
                .collect();
            c.data["note"] = json!(note);
            c
        })
        .collect();
    assert_eq!(server.push(&tablet.token, &common::resign(changes)).await.0, StatusCode::OK);
    let (status, body) = server.pull(&tablet.token, 0, 1_000).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let page: hms_protocol::PullResponse = serde_json::from_value(body).unwrap();
    assert!((1..=3).contains(&page.changes.len()), "{} changes on the first page", page.changes.len());
    assert!(page.more, "the rest follows");
    assert!(page.changes.last().unwrap().change.proof.is_some(), "the page ends at a segment end");
    let all = server.pull_all(&tablet.token, 1_000).await;
    let seqs: Vec<u64> = all.iter().map(|p| p.change.device_seq).collect();
    assert_eq!(seqs, (1..=20).collect::<Vec<_>>());
}

/// A settings value its local setter would refuse (issue 12, "every value is checked"), in the
/// administrator's name, reaches a device through a server that does not check: the device
/// refuses each as a `refused` conflict (`invalid_value`) and keeps its own setting; a value
/// the setter would keep, from the same tablet, is applied.
#[tokio::test]
async fn a_device_refuses_a_setting_its_setter_would_refuse() {
    let mut c = clinic(TestServer::start_unchecked().await).await;
    let admin = c.admin_id.clone();
    let device = c.attacker.device_id.clone();
    let setting = |c: &mut Clinic, key: &str, value: Value| {
        let data = json!({"key": key, "value": value.to_string(), "updated_at": now_hlc(&device), "updated_by": admin});
        c.change("settings", key, Op::Insert, data, Some(&admin))
    };
    let bad = vec![
        setting(&mut c, "locale", json!("xx-XX")),
        setting(&mut c, "hour_cycle", json!("h13")),
        setting(&mut c, "time_zone", json!("Mars/Olympus_Mons")),
        setting(&mut c, "idle_timeout_minutes", json!(0)),
        setting(&mut c, "clinic_name", json!("x".repeat(500))),
        setting(&mut c, "currency", json!("inr")),
        setting(&mut c, "invoice_series", json!("INV/../")),
        setting(&mut c, "clinic_logo", json!("not a PNG")),
    ];
    let good = setting(&mut c, "hour_cycle", json!("h12"));
    for change in bad.iter().chain([&good]) {
        let (status, body) = c.push(std::slice::from_ref(change)).await;
        assert_eq!(status, StatusCode::OK, "the unchecking server stores it: {body}");
    }

    let report = sync::sync_now(&c.honest.store).await.unwrap();
    assert!(report.pull.refused >= bad.len() as u64, "{report:?}");
    for change in &bad {
        let reason: String = sqlx::query_scalar(
            "SELECT json_extract(local, '$.refused') FROM sync_conflicts
             WHERE kind = 'refused' AND entity = 'settings' AND entity_id = ? AND remote_hlc = ?",
        )
        .bind(&change.entity_id)
        .bind(&change.hlc)
        .fetch_one(c.honest.store.pool())
        .await
        .unwrap_or_else(|e| panic!("{}: kept as a refused conflict: {e}", change.entity_id));
        assert!(reason.starts_with("invalid_value"), "{}: {reason}", change.entity_id);
    }
    let settings: Vec<(String, String)> =
        sqlx::query_as("SELECT key, value FROM settings ORDER BY key").fetch_all(c.honest.store.pool()).await.unwrap();
    assert!(settings.iter().all(|(k, v)| k != "locale" && k != "currency" && !v.contains("Mars")), "{settings:?}");
    assert!(settings.contains(&("hour_cycle".into(), "\"h12\"".into())), "{settings:?}");
    let auth = c.honest.auth().await;
    let formats = hms_core::settings::formats(&c.honest.store, &c.honest.slot).await.unwrap();
    assert_eq!((formats.locale.as_str(), formats.hour_cycle), ("en-IN", hms_core::settings::HourCycle::H12));
    assert_eq!(hms_core::settings::get(&c.honest.store, &auth).await.unwrap().idle_timeout_minutes, 15);
}
