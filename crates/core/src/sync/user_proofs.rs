//! Per-user signatures on pulled changes, and sessions following synced account changes, on
//! real SQLite stores: one device's outbox is handed to another as a pull page (no server: a
//! server that does not check, in effect; see crates/server/tests/hostile_device.rs for the
//! server's own refusals).

use super::pull::apply_page;
use crate::auth;
use crate::error::Error;
use crate::rbac::Role;
use crate::session::SessionSlot;
use crate::setup::{self, NewAdmin};
use crate::store::seal::{to_change, OutboxRow, OUTBOX_COLUMNS};
use crate::store::{Actor, ChangeOp, Store};
use crate::users::{self, NewUser, UserUpdate};
use hms_protocol::proof::{sign_segment, sign_segment_as_user, signing_key, SigningKey};
use hms_protocol::{Change, Op, PullResponse, PulledChange};
use serde_json::json;

const PW: &str = "Clinic#2026adm";
const PW2: &str = "Ward#2027night";

struct Dev {
    _dir: tempfile::TempDir,
    store: Store,
}

async fn fresh() -> Dev {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in_dir(dir.path()).await.unwrap();
    Dev { _dir: dir, store }
}

/// Device A: an administrator and a nurse (made by the administrator).
async fn clinic() -> (Dev, crate::session::Authorized, String) {
    let a = fresh().await;
    let slot = SessionSlot::default();
    setup::setup_first_admin(
        &a.store,
        &slot,
        NewAdmin { username: "admin".into(), full_name: "Admin".into(), password: PW.into() },
    )
    .await
    .unwrap();
    let admin = slot.authorize(&a.store).await.unwrap();
    let nurse = NewUser {
        username: "nurse".into(),
        full_name: "Nurse".into(),
        password: PW.into(),
        roles: vec!["nurse".into()],
    };
    let nurse = users::create(&a.store, &admin, nurse).await.unwrap().id;
    (a, admin, nurse)
}

/// A's outbox after `after` as a pull page (the server's sequence numbers follow `after`).
async fn page(from: &Store, after: u64) -> PullResponse {
    let sql = format!("SELECT {OUTBOX_COLUMNS} FROM change_log WHERE seq > ? ORDER BY seq");
    let rows: Vec<OutboxRow> = sqlx::query_as(&sql).bind(after as i64).fetch_all(from.pool()).await.unwrap();
    let changes: Vec<Change> = rows.into_iter().map(|r| to_change(r).unwrap()).collect();
    page_of(from, changes)
}

fn page_of(from: &Store, changes: Vec<Change>) -> PullResponse {
    let changes: Vec<PulledChange> =
        changes.into_iter().map(|change| PulledChange { server_seq: change.device_seq, change }).collect();
    let next = changes.last().map_or(0, |c| c.server_seq);
    PullResponse {
        changes,
        next,
        more: false,
        high_water: next,
        device_keys: [(from.device_id().to_string(), from.device_public_key())].into_iter().collect(),
        clock: None,
    }
}

async fn last_seq(store: &Store) -> u64 {
    let seq: i64 =
        sqlx::query_scalar("SELECT COALESCE(max(seq), 0) FROM change_log").fetch_one(store.pool()).await.unwrap();
    seq as u64
}

async fn salt(store: &Store, user: &str) -> String {
    sqlx::query_scalar("SELECT key_salt FROM users WHERE id = ?").bind(user).fetch_one(store.pool()).await.unwrap()
}

async fn scalar(store: &Store, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(store.pool()).await.unwrap()
}

/// A patient change made on `from` as its `seq`-th change in `user`'s name, signed by the
/// device and (when given) by `user_key`.
fn forged(from: &Store, seq: u64, user: &str, user_key: Option<&SigningKey>, given: &str) -> Change {
    let id = crate::ids::new_id();
    let mut c = Change {
        id: crate::ids::new_id(),
        device_id: from.device_id().to_string(),
        device_seq: seq,
        entity: "patients".into(),
        entity_id: id.clone(),
        op: Op::Insert,
        data: json!({"id": id, "mrn": format!("F-{seq}"), "given_name": given, "family_name": "X", "sex": "female",
                     "phones": []}),
        hlc: format!("{:016}-000000-{}", chrono::Utc::now().timestamp_millis(), from.device_id()),
        user_id: Some(user.to_string()),
        proof: None,
    };
    let proof = match user_key {
        Some(k) => sign_segment_as_user(from.device_key(), user, k, std::slice::from_ref(&c)),
        None => sign_segment(from.device_key(), Some(user), std::slice::from_ref(&c)),
    };
    c.proof = Some(proof.unwrap());
    c
}

#[tokio::test]
async fn a_device_takes_only_changes_signed_by_the_users_they_name() {
    let (a, admin, nurse) = clinic().await;
    let admin_id = admin.user_id.clone();
    // The nurse signs in on A (her key is derived from her password) and registers a patient.
    let slot = SessionSlot::default();
    auth::sign_in(&a.store, &slot, "nurse", PW).await.unwrap();
    let mut w = a.store.begin_write(Actor::user(nurse.clone())).await.unwrap();
    let pid = crate::ids::new_id();
    w.record_change(
        "patients",
        &pid,
        ChangeOp::Insert,
        &json!({"id": pid, "mrn": "A-1", "given_name": "Amina", "family_name": "M", "sex": "female", "phones": []}),
    )
    .await
    .unwrap();
    w.audit("test.patient", "patient", Some(&pid), json!({})).await.unwrap();
    w.commit().await.unwrap();
    let mut honest = page(&a.store, 0).await.changes.into_iter().map(|p| p.change).collect::<Vec<_>>();
    let last = honest.last().unwrap().clone();
    assert!(last.proof.as_ref().unwrap().user_sig.is_some(), "the nurse's write carries her signature");

    // What a tablet that knows only the nurse's password (and holds A's device key) tries.
    let nurse_key = auth::keys::derive(PW, &salt(&a.store, &nurse).await).unwrap().signing_key().clone();
    let stranger = signing_key(&[77; 32]);
    let mut seq = last.device_seq;
    let mut next = || {
        seq += 1;
        seq
    };
    // Data tampered with after signing; the device signature redone (the device key is on
    // the tablet), the user's signature kept.
    let mut tampered = last.clone();
    tampered.device_seq = next();
    tampered.id = crate::ids::new_id();
    tampered.data["given_name"] = json!("Mallory");
    let user_sig = tampered.proof.as_ref().unwrap().user_sig.clone();
    let mut proof = sign_segment(a.store.device_key(), Some(&nurse), std::slice::from_ref(&tampered)).unwrap();
    proof.first_seq = tampered.device_seq;
    proof.user_sig = user_sig;
    tampered.proof = Some(proof);
    let attacks = vec![
        ("tampered data", tampered),
        ("a wrong user key", forged(&a.store, next(), &nurse, Some(&stranger), "Wrongkey")),
        ("no user signature", forged(&a.store, next(), &nurse, None, "Unsigned")),
        ("an unknown user", forged(&a.store, next(), "0190c2a0-0000-7000-8000-00000000eeee", Some(&stranger), "Ghost")),
        ("another user's name", forged(&a.store, next(), &admin_id, Some(&nurse_key), "Asadmin")),
    ];
    let n = attacks.len() as u64;
    honest.extend(attacks.into_iter().map(|(_, c)| c));

    let b = fresh().await;
    let report = apply_page(&b.store, &page_of(&a.store, honest), 0).await.unwrap();
    let all: Vec<(String, String)> =
        sqlx::query_as("SELECT entity, local FROM sync_conflicts WHERE kind = 'refused' ORDER BY rowid")
            .fetch_all(b.store.pool())
            .await
            .unwrap();
    assert_eq!(report.refused, n, "{report:?} {all:?}");
    assert_eq!(scalar(&b.store, "SELECT count(*) FROM patients WHERE given_name = 'Amina'").await, 1);
    assert_eq!(scalar(&b.store, "SELECT count(*) FROM patients").await, 1, "none of the forged ones");
    let reasons: Vec<String> = sqlx::query_scalar(
        "SELECT json_extract(local, '$.refused') FROM sync_conflicts WHERE kind = 'refused' ORDER BY rowid",
    )
    .fetch_all(b.store.pool())
    .await
    .unwrap();
    assert_eq!(reasons.len() as u64, n);
    assert!(reasons.iter().all(|r| r.starts_with("bad_user_proof")), "{reasons:?}");
    // B holds the accounts with their keys, and the nurse can sign in on B with her password.
    assert_eq!(scalar(&b.store, "SELECT count(*) FROM users WHERE user_key IS NOT NULL").await, 2);
    auth::sign_in(&b.store, &SessionSlot::default(), "nurse", PW).await.unwrap();
}

#[tokio::test]
async fn an_account_from_before_keys_gets_one_at_its_next_sign_in() {
    let (a, _admin, nurse) = clinic().await;
    // As a database from before keys holds it.
    sqlx::query("UPDATE users SET user_key = NULL, key_salt = NULL WHERE id = ?")
        .bind(&nurse)
        .execute(a.store.pool())
        .await
        .unwrap();
    let before = last_seq(&a.store).await;
    let b = fresh().await;
    apply_page(&b.store, &page(&a.store, 0).await, 0).await.unwrap();
    sqlx::query("UPDATE users SET user_key = NULL, key_salt = NULL WHERE id = ?")
        .bind(&nurse)
        .execute(b.store.pool())
        .await
        .unwrap();
    auth::sign_in(&a.store, &SessionSlot::default(), "nurse", PW).await.unwrap();
    let key: Option<String> = sqlx::query_scalar("SELECT user_key FROM users WHERE id = ?")
        .bind(&nurse)
        .fetch_one(a.store.pool())
        .await
        .unwrap();
    assert!(key.is_some());
    // Her own change setting it is taken by other devices (once), and the key arrives.
    let report = apply_page(&b.store, &page(&a.store, before).await, before).await.unwrap();
    assert_eq!(report.refused, 0, "{report:?}");
    let synced: Option<String> = sqlx::query_scalar("SELECT user_key FROM users WHERE id = ?")
        .bind(&nurse)
        .fetch_one(b.store.pool())
        .await
        .unwrap();
    assert_eq!(synced, key);
}

#[tokio::test]
async fn sessions_on_a_device_follow_account_changes_that_arrive_by_sync() {
    let (a, admin, nurse) = clinic().await;
    let b = fresh().await;
    let mut seen = 0;
    let report = apply_page(&b.store, &page(&a.store, seen).await, seen).await.unwrap();
    assert_eq!(report.refused, 0, "{report:?}");
    seen = last_seq(&a.store).await;

    // The nurse works on B.
    crate::users::settle_for_tests(&b.store, "nurse").await;
    let slot = SessionSlot::default();
    auth::sign_in(&b.store, &slot, "nurse", PW).await.unwrap();
    assert_eq!(slot.authorize(&b.store).await.unwrap().roles, vec![Role::Nurse]);

    // A role change made on A narrows her session on B at its next command.
    let update = UserUpdate { user_id: nurse.clone(), full_name: "Nurse".into(), roles: vec!["receptionist".into()] };
    users::update(&a.store, &admin, update).await.unwrap();
    apply_page(&b.store, &page(&a.store, seen).await, seen).await.unwrap();
    seen = last_seq(&a.store).await;
    assert_eq!(slot.authorize(&b.store).await.unwrap().roles, vec![Role::Receptionist]);

    // A password reset made on A ends it, and B forgets her key.
    users::reset_password(&a.store, &admin, &nurse, PW2).await.unwrap();
    let report = apply_page(&b.store, &page(&a.store, seen).await, seen).await.unwrap();
    assert_eq!(report.refused, 0, "{report:?}");
    seen = last_seq(&a.store).await;
    assert!(matches!(slot.authorize(&b.store).await, Err(Error::SessionExpired)));
    assert!(b.store.user_key(&nurse).is_none());
    assert!(matches!(auth::sign_in(&b.store, &slot, "nurse", PW).await, Err(Error::InvalidCredentials)));
    // The new password works on B, with the key the administrator's device derived from it;
    // being an administrator's, it is temporary on B too: nothing but changing it, which ends
    // the mark on A as well once synced.
    let info = auth::sign_in(&b.store, &slot, "nurse", PW2).await.unwrap();
    assert!(b.store.user_key(&nurse).is_some());
    assert!(info.must_change_password);
    assert_eq!(slot.authorize(&b.store).await.unwrap_err(), Error::PasswordChangeRequired);
    let b_before = last_seq(&b.store).await;
    let info = users::change_own_password(&b.store, &slot, PW2, "Ward#Own2027x").await.unwrap();
    assert!(!info.must_change_password);
    slot.authorize(&b.store).await.unwrap();
    let report = apply_page(&a.store, &page(&b.store, b_before).await, b_before).await.unwrap();
    assert!(report.applied >= 1 && report.refused == 0, "{report:?}");
    let marked: i64 = sqlx::query_scalar("SELECT must_change_password FROM users WHERE id = ?")
        .bind(&nurse)
        .fetch_one(a.store.pool())
        .await
        .unwrap();
    assert_eq!(marked, 0, "the owner's change cleared the mark on A");

    // A deactivation made on A ends it too.
    users::set_active(&a.store, &admin, &nurse, false).await.unwrap();
    apply_page(&b.store, &page(&a.store, seen).await, seen).await.unwrap();
    assert!(matches!(slot.authorize(&b.store).await, Err(Error::AccountInactive)));
    assert!(b.store.user_key(&nurse).is_none());
}
