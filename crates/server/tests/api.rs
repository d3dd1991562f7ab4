//! The sync API against a real database (PostgreSQL, or SQLite with HMS_TEST_BACKEND=sqlite): enrolment, authentication, tenant isolation,
//! idempotent push, paged pull, refusal of malformed and oversized requests.

mod common;

use common::{assert_error, change, changes, count, Backend, Enrolled, TestServer};
use hms_protocol::{PullResponse, PushResponse};
use hms_server::{admin, AppState};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn push_response(body: Value) -> PushResponse {
    serde_json::from_value(body).expect("push response")
}

fn pull_response(body: Value) -> PullResponse {
    serde_json::from_value(body).expect("pull response")
}

// ---------------------------------------------------------------------------- enrolment

#[tokio::test]
async fn an_enrolment_code_works_once_and_its_token_works() {
    let server = TestServer::start_unchecked().await;
    let tenant = admin::create_tenant(server.store(), "Mlimani Clinic").await.unwrap();
    let code = admin::create_enrol_code(server.store(), "Mlimani Clinic", chrono::Duration::hours(24)).await.unwrap();
    // Typed as people type it: lower case, spaces instead of dashes.
    let typed = code.code.to_lowercase().replace('-', " ");
    let (status, body) = server
        .post_json(
            "/v1/enrol",
            None,
            &json!({"code": typed, "device_name": "Reception PC", "device_key": common::test_key_hex()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let enrolled: Enrolled = serde_json::from_value(body).unwrap();
    assert_eq!(enrolled.tenant_id, tenant.id);
    assert_eq!(enrolled.tenant_name, "Mlimani Clinic");
    assert!(enrolled.token.starts_with(&format!("{}.", enrolled.device_id)));

    // The code is spent.
    let again = server
        .post_json(
            "/v1/enrol",
            None,
            &json!({"code": code.code, "device_name": "Tablet", "device_key": common::test_key_hex()}),
        )
        .await;
    assert_error(&again, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(count(server.store(), "SELECT count(*) FROM devices").await, 1);

    // The token works; the server keeps only a hash of it.
    let (status, body) = server.pull(&enrolled.token, 0, 10).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (stored,): (Vec<u8>,) =
        common::fetch_one(server.store(), "SELECT token_hash FROM devices WHERE id = $1", &[&enrolled.device_id]).await;
    let secret_hex = enrolled.token.rsplit_once('.').unwrap().1;
    assert_ne!(hex::encode(&stored), secret_hex);
    assert_eq!(stored, hms_server::auth::sha256(&hex::decode(secret_hex).unwrap()));
}

#[tokio::test]
async fn expired_and_unknown_enrolment_codes_are_refused() {
    let server = TestServer::start_unchecked().await;
    admin::create_tenant(server.store(), "Clinic").await.unwrap();
    let code = admin::create_enrol_code(server.store(), "Clinic", chrono::Duration::hours(1)).await.unwrap();
    let expire = match common::backend() {
        Backend::Postgres => "UPDATE enrolment_codes SET expires_at = now() - interval '1 second'",
        Backend::Sqlite => "UPDATE enrolment_codes SET expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 second')",
    };
    common::execute(server.store(), expire).await.unwrap();
    let expired = server
        .post_json(
            "/v1/enrol",
            None,
            &json!({"code": code.code, "device_name": "Tablet", "device_key": common::test_key_hex()}),
        )
        .await;
    assert_error(&expired, StatusCode::UNAUTHORIZED, "unauthorized");
    let unknown = server
        .post_json(
            "/v1/enrol",
            None,
            &json!({"code": "AAAA-BBBB-CCCC-DDDD", "device_name": "Tablet", "device_key": common::test_key_hex()}),
        )
        .await;
    assert_error(&unknown, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(count(server.store(), "SELECT count(*) FROM devices").await, 0);
    // Codes are stored hashed, never as typed.
    let stored: Vec<(Vec<u8>,)> = common::fetch_all(server.store(), "SELECT code_hash FROM enrolment_codes", &[]).await;
    assert_eq!(stored, vec![(hms_server::auth::enrol_code_hash(&code.code).to_vec(),)]);
}

#[tokio::test]
async fn enrolling_a_taken_device_id_is_a_conflict_and_keeps_the_code() {
    let server = TestServer::start_unchecked().await;
    let first = server.tenant_with_device("Clinic A").await;
    admin::create_tenant(server.store(), "Clinic B").await.unwrap();
    let code = admin::create_enrol_code(server.store(), "Clinic B", chrono::Duration::hours(1)).await.unwrap();

    // A device of another tenant tries to take over an enrolled id.
    let taken = server
        .post_json(
            "/v1/enrol",
            None,
            &json!({"code": code.code, "device_name": "Intruder", "device_id": first.device_id, "device_key": common::test_key_hex()}),
        )
        .await;
    assert_error(&taken, StatusCode::CONFLICT, "conflict");
    let (tenant_of_first,): (String,) =
        common::fetch_one(server.store(), "SELECT tenant_id FROM devices WHERE id = $1", &[&first.device_id]).await;
    assert_eq!(tenant_of_first, first.tenant_id);

    // The refused enrolment did not spend the code; the device's own id is kept.
    let (status, body) = server
        .post_json(
            "/v1/enrol",
            None,
            &json!({"code": code.code, "device_name": "Ward tablet", "device_id": "0190c2a0-aaaa-7000-8000-000000000001",
                   "device_key": common::test_key_hex()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["device_id"], "0190c2a0-aaaa-7000-8000-000000000001");
}

#[tokio::test]
async fn malformed_enrolments_are_bad_requests() {
    let server = TestServer::start_unchecked().await;
    admin::create_tenant(server.store(), "Clinic").await.unwrap();
    let code = admin::create_enrol_code(server.store(), "Clinic", chrono::Duration::hours(1)).await.unwrap();
    for body in [
        json!({"code": code.code, "device_name": "   ", "device_key": common::test_key_hex()}),
        json!({"code": code.code, "device_name": "Tablet"}),
        json!({"code": code.code, "device_name": "Tablet", "device_key": "00ff"}),
        json!({"code": code.code, "device_name": "x".repeat(101)}),
        json!({"code": code.code, "device_name": "Tablet", "device_id": "has.a.dot"}),
        json!({"code": code.code}),
        json!({"device_name": "Tablet"}),
        json!([1, 2, 3]),
    ] {
        let answer = server.post_json("/v1/enrol", None, &body).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "bad_request");
    }
    // None of those spent the code.
    let (status, body) = server
        .post_json(
            "/v1/enrol",
            None,
            &json!({"code": code.code, "device_name": "Tablet", "device_key": common::test_key_hex()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

// ---------------------------------------------------------------------------- tokens

#[tokio::test]
async fn unknown_and_malformed_tokens_are_refused() {
    let server = TestServer::start_unchecked().await;
    let dev = server.tenant_with_device("Clinic").await;
    server.push(&dev.token, &changes(&dev.device_id, 1..=3)).await;
    let (device_id, secret) = dev.token.rsplit_once('.').unwrap();
    let mut flipped = secret.to_string();
    flipped.replace_range(0..1, if secret.starts_with('0') { "1" } else { "0" });
    let forged = [
        String::new(),
        "garbage".to_string(),
        device_id.to_string(),
        format!("{device_id}.{}", "0".repeat(64)),
        format!("{device_id}.{flipped}"),
        format!("{device_id}.{}", &secret[..62]),
        format!("unknown-device.{secret}"),
        format!("{dev_token}x", dev_token = dev.token),
    ];
    for token in &forged {
        let pull = server.pull(token, 0, 10).await;
        assert_error(&pull, StatusCode::UNAUTHORIZED, "unauthorized");
        let push = server.push(token, &changes(&dev.device_id, 4..=4)).await;
        assert_error(&push, StatusCode::UNAUTHORIZED, "unauthorized");
    }
    // No Authorization header, or another scheme.
    let none = server.get("/v1/pull?after=0", None).await;
    assert_error(&none, StatusCode::UNAUTHORIZED, "unauthorized");
    let basic = common::send(
        server.http.get(server.url("/v1/pull?after=0")).header("authorization", format!("Basic {}", dev.token)),
    )
    .await;
    assert_error(&basic, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(server.stored_changes().await, 3);
}

#[tokio::test]
async fn a_revoked_device_can_neither_push_nor_pull() {
    let server = TestServer::start_unchecked().await;
    let dev = server.tenant_with_device("Clinic").await;
    let other = server.enrol("Clinic", "Ward tablet").await;
    let (status, _) = server.push(&dev.token, &changes(&dev.device_id, 1..=2)).await;
    assert_eq!(status, StatusCode::OK);

    let revoked = admin::revoke_device(server.store(), &dev.device_id).await.unwrap();
    assert!(!revoked.already);
    assert!(admin::revoke_device(server.store(), &dev.device_id).await.unwrap().already);
    assert!(matches!(
        admin::revoke_device(server.store(), "no-such-device").await,
        Err(hms_server::error::AdminError::NotFound(_))
    ));

    let push = server.push(&dev.token, &changes(&dev.device_id, 3..=3)).await;
    assert_error(&push, StatusCode::UNAUTHORIZED, "revoked");
    let pull = server.pull(&dev.token, 0, 10).await;
    assert_error(&pull, StatusCode::UNAUTHORIZED, "revoked");
    // A wrong secret for a revoked device is just unknown: "revoked" is only for the holder.
    let wrong = server.pull(&format!("{}.{}", dev.device_id, "a".repeat(64)), 0, 10).await;
    assert_error(&wrong, StatusCode::UNAUTHORIZED, "unauthorized");

    // What it pushed before stays in the tenant; other devices go on.
    assert_eq!(server.stored_changes().await, 2);
    assert_eq!(server.pull_all(&other.token, 100).await.len(), 2);
    let (_, devices) = admin::list_devices(server.store(), "Clinic").await.unwrap();
    let listed: Vec<(&str, bool)> = devices.iter().map(|d| (d.id.as_str(), d.revoked_at.is_some())).collect();
    assert!(listed.contains(&(dev.device_id.as_str(), true)));
    assert!(listed.contains(&(other.device_id.as_str(), false)));
}

// ---------------------------------------------------------------------------- tenant isolation

#[tokio::test]
async fn a_device_cannot_read_or_write_another_tenants_data() {
    let server = TestServer::start_unchecked().await;
    let a = server.tenant_with_device("Clinic A").await;
    let a2 = server.enrol("Clinic A", "A ward tablet").await;
    let b = server.tenant_with_device("Clinic B").await;
    assert_ne!(a.tenant_id, b.tenant_id);
    let (status, _) = server.push(&b.token, &changes(&b.device_id, 1..=5)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server.push(&a.token, &changes(&a.device_id, 1..=3)).await;
    assert_eq!(status, StatusCode::OK);

    // Reads: A sees A's changes only, whatever the query string or headers claim.
    for query in [
        "/v1/pull?after=0&limit=100".to_string(),
        format!("/v1/pull?after=0&limit=100&tenant_id={}", b.tenant_id),
        format!("/v1/pull?after=0&limit=100&tenant={}&device_id={}", b.tenant_id, b.device_id),
    ] {
        let req = server.http.get(server.url(&query)).bearer_auth(&a.token).header("x-tenant-id", &b.tenant_id);
        let (status, body) = common::send(req).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let page = pull_response(body);
        assert_eq!(page.changes.len(), 3);
        assert!(page.changes.iter().all(|c| c.change.device_id == a.device_id), "{query}");
    }

    // Writes claiming B's device, or A's other device, refuse the whole batch.
    let mut claims_b = changes(&a.device_id, 4..=5);
    claims_b.push(change(&b.device_id, 6));
    assert_error(&server.push(&a.token, &claims_b).await, StatusCode::FORBIDDEN, "forbidden");
    let claims_a2 = vec![change(&a2.device_id, 1)];
    assert_error(&server.push(&a.token, &claims_a2).await, StatusCode::FORBIDDEN, "forbidden");

    // A tenant id forged into the JSON is ignored: the change lands in A.
    let mut forged = serde_json::to_value(change(&a.device_id, 4)).unwrap();
    forged["tenant_id"] = json!(b.tenant_id);
    let body = json!({"tenant_id": b.tenant_id, "changes": [forged]});
    let (status, answer) = server.post_json("/v1/push", Some(&a.token), &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let tenants: Vec<(String,)> = common::fetch_all(
        server.store(),
        "SELECT DISTINCT tenant_id FROM changes WHERE device_id = $1",
        &[&a.device_id],
    )
    .await;
    assert_eq!(tenants, vec![(a.tenant_id.clone(),)]);

    // A token made of B's device id and A's secret (or the reverse) is nobody's.
    let a_secret = a.token.rsplit_once('.').unwrap().1;
    let b_secret = b.token.rsplit_once('.').unwrap().1;
    for token in [format!("{}.{a_secret}", b.device_id), format!("{}.{b_secret}", a.device_id)] {
        assert_error(&server.pull(&token, 0, 100).await, StatusCode::UNAUTHORIZED, "unauthorized");
        let push = server.push(&token, &changes(&b.device_id, 7..=7)).await;
        assert_error(&push, StatusCode::UNAUTHORIZED, "unauthorized");
    }

    // B's record is exactly what B pushed; B sees none of A's.
    let b_sees = server.pull_all(&b.token, 100).await;
    assert_eq!(b_sees.len(), 5);
    assert!(b_sees.iter().all(|c| c.change.device_id == b.device_id));
    assert_eq!(
        count(server.store(), &format!("SELECT count(*) FROM changes WHERE tenant_id = '{}'", b.tenant_id)).await,
        5
    );
}

#[tokio::test]
async fn the_database_refuses_a_change_under_another_tenant_than_its_device() {
    // Defence in depth: even a bug in the server's SQL could not file A's device under B.
    let server = TestServer::start_unchecked().await;
    let a = server.tenant_with_device("Clinic A").await;
    let b = server.tenant_with_device("Clinic B").await;
    let sql = format!(
        "INSERT INTO changes (tenant_id, device_id, device_seq, change_id, entity, entity_id, op, data, hlc)
         VALUES ('{}', '{}', 1, 'c', 'patients', 'p', 'insert', '{{}}', 'h')",
        b.tenant_id, a.device_id
    );
    let err = common::execute(server.store(), &sql).await;
    assert!(err.is_err(), "a change filed under another tenant than its device's was stored");
}

// ---------------------------------------------------------------------------- push

#[tokio::test]
async fn pushed_changes_come_back_intact() {
    let server = TestServer::start_unchecked().await;
    let dev = server.tenant_with_device("Clinic").await;
    let mut sent = changes(&dev.device_id, 1..=3);
    sent[1].op = hms_protocol::Op::Delete;
    sent[1].user_id = None;
    sent[2].data = json!({"nested": {"list": [1, 2.5, "x", null, true]}, "unicode": "Müller Đặng 李"});
    let sent = common::resign(sent);
    let (status, body) = server.push(&dev.token, &sent).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let res = push_response(body);
    assert_eq!((res.accepted, res.duplicates, res.device_high_water), (3, 0, 3));

    let got = server.pull_all(&dev.token, 10).await;
    let got_changes: Vec<_> = got.iter().map(|c| c.change.clone()).collect();
    assert_eq!(got_changes, sent);
    assert_eq!(res.high_water, got[2].server_seq);
}

#[tokio::test]
async fn a_replayed_push_stores_nothing_new() {
    let server = TestServer::start_unchecked().await;
    let dev = server.tenant_with_device("Clinic").await;
    let batch = changes(&dev.device_id, 1..=50);
    let (status, body) = server.push(&dev.token, &batch).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let first = push_response(body);
    assert_eq!((first.accepted, first.duplicates), (50, 0));
    let before: Vec<(i64, String)> =
        common::fetch_all(server.store(), "SELECT seq, change_id FROM changes ORDER BY seq", &[]).await;

    // The response was lost; the device sends the same batch again, twice, reordered.
    let mut reordered = batch.clone();
    reordered.reverse();
    for replay in [&batch, &reordered] {
        let (status, body) = server.push(&dev.token, replay).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let again = push_response(body);
        assert_eq!((again.accepted, again.duplicates), (0, 50));
        assert_eq!(again.high_water, first.high_water);
    }
    let after: Vec<(i64, String)> =
        common::fetch_all(server.store(), "SELECT seq, change_id FROM changes ORDER BY seq", &[]).await;
    assert_eq!(after, before);

    // A batch that overlaps the stored ones stores only the new part.
    let (status, body) = server.push(&dev.token, &changes(&dev.device_id, 41..=60)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let overlap = push_response(body);
    assert_eq!((overlap.accepted, overlap.duplicates, overlap.device_high_water), (10, 10, 60));
    assert_eq!(server.stored_changes().await, 60);
    let (_, devices) = admin::list_devices(server.store(), "Clinic").await.unwrap();
    assert_eq!(devices[0].last_device_seq, 60);
    assert!(devices[0].last_seen_at.is_some());
}

#[tokio::test]
async fn a_reused_device_seq_with_a_different_change_is_refused() {
    let server = TestServer::start_unchecked().await;
    let dev = server.tenant_with_device("Clinic").await;
    server.push(&dev.token, &changes(&dev.device_id, 1..=5)).await;
    // The device's database was restored from an old backup: seq 5 is now another change.
    let mut batch = changes(&dev.device_id, 5..=7);
    batch[0].id = "a-different-change".into();
    let batch = common::resign(batch);
    let answer = server.push(&dev.token, &batch).await;
    assert_error(&answer, StatusCode::CONFLICT, "conflict");
    assert_eq!(server.stored_changes().await, 5, "nothing of the refused batch is stored");
}

#[tokio::test]
async fn malformed_pushes_are_refused_and_store_nothing() {
    let server = TestServer::start_unchecked().await;
    let dev = server.tenant_with_device("Clinic").await;
    let good = serde_json::to_value(change(&dev.device_id, 1)).unwrap();
    // A change with one field set otherwise, signed again when it still parses (so that
    // the value, not the proof, is what the server refuses).
    let with = |field: &str, value: Value| {
        let mut c = good.clone();
        c[field] = value;
        if let Ok(parsed) = serde_json::from_value::<hms_protocol::Change>(c.clone()) {
            c = serde_json::to_value(common::sign_alone(parsed, &common::test_key())).unwrap();
        }
        json!({"changes": [c]})
    };
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("entity");
    let bad_bodies = [
        json!({"changes": "not a list"}),
        json!({"change": []}),
        json!({"changes": [missing]}),
        with("op", json!("upsert")),
        with("device_seq", json!(0)),
        with("device_seq", json!(-1)),
        with("device_seq", json!(u64::MAX)),
        with("device_seq", json!("7")),
        with("hlc", json!("yesterday")),
        with("entity", json!("")),
        with("entity_id", json!("x".repeat(129))),
        with("entity", json!("pat\u{0}ients")),
        with("data", json!({"name": "nul \u{0} inside"})),
        json!({"changes": [good.clone(), good.clone()]}),
    ];
    for body in &bad_bodies {
        let answer = server.post_json("/v1/push", Some(&dev.token), body).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "bad_request");
    }
    // Not JSON at all, truncated JSON, JSON without the content type.
    let truncated = &good.to_string()[..40];
    for (content_type, raw) in [
        ("application/json", "{\"changes\": [".to_string()),
        ("application/json", format!("{{\"changes\": [{truncated}")),
        ("application/json", "changes=1".to_string()),
        ("text/plain", json!({"changes": [good]}).to_string()),
    ] {
        let answer = server.post_raw("/v1/push", &dev.token, content_type, raw).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "bad_request");
    }
    assert_eq!(server.stored_changes().await, 0);
    // The same change, well-formed, is stored.
    let (status, body) = server.post_json("/v1/push", Some(&dev.token), &json!({"changes": [good]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn oversized_bodies_and_batches_are_refused() {
    let server = TestServer::start_unchecked().await;
    let dev = server.tenant_with_device("Clinic").await;

    // Over 16 MiB.
    let mut big = change(&dev.device_id, 1);
    big.data = json!({"blob": "x".repeat(hms_protocol::MAX_BODY_BYTES)});
    let answer = server.push(&dev.token, &[big]).await;
    assert_error(&answer, StatusCode::PAYLOAD_TOO_LARGE, "too_large");

    // Over 5,000 changes, each small.
    let many = changes(&dev.device_id, 1..=(hms_protocol::MAX_PUSH_BATCH as u64 + 1));
    let answer = server.push(&dev.token, &many).await;
    assert_error(&answer, StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    assert_eq!(server.stored_changes().await, 0);

    // Exactly the limit is fine.
    let (status, body) = server.push(&dev.token, &many[..hms_protocol::MAX_PUSH_BATCH]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(push_response(body).accepted, hms_protocol::MAX_PUSH_BATCH as u64);
}

// ---------------------------------------------------------------------------- pull

#[tokio::test]
async fn pull_pages_through_everything_in_order() {
    let server = TestServer::start_unchecked().await;
    let a = server.tenant_with_device("Clinic").await;
    let b = server.enrol("Clinic", "Ward tablet").await;
    let other = server.tenant_with_device("Other clinic").await;
    // Interleaved batches from two devices, and another tenant's changes in between.
    for round in 0..5u64 {
        let seqs = round * 250 + 1..=round * 250 + 250;
        server.push(&a.token, &changes(&a.device_id, seqs.clone())).await;
        server.push(&other.token, &changes(&other.device_id, seqs.clone())).await;
        server.push(&b.token, &changes(&b.device_id, seqs)).await;
    }

    let all = server.pull_all(&b.token, 333).await;
    assert_eq!(all.len(), 2_500);
    assert!(all.windows(2).all(|w| w[0].server_seq < w[1].server_seq), "increasing server seq");
    for dev in [&a, &b] {
        let seqs: Vec<u64> =
            all.iter().filter(|c| c.change.device_id == dev.device_id).map(|c| c.change.device_seq).collect();
        assert_eq!(seqs, (1..=1_250).collect::<Vec<_>>(), "each device's changes, in its order");
    }

    // The page after the last is empty, keeps the cursor, and says no more.
    let last = all.last().unwrap().server_seq;
    let (status, body) = server.pull(&b.token, last, 100).await;
    assert_eq!(status, StatusCode::OK);
    let end = pull_response(body);
    assert!(end.changes.is_empty() && !end.more);
    assert_eq!(end.next, last);
    assert_eq!(end.high_water, last);

    // A page boundary: exactly `limit` left says more=false.
    let (_, body) = server.pull(&b.token, all[2_499 - 10].server_seq, 10).await;
    let tail = pull_response(body);
    assert_eq!((tail.changes.len(), tail.more, tail.next), (10, false, last));

    // Default and capped page sizes.
    let (_, body) = server.get("/v1/pull?after=0", Some(&b.token)).await;
    assert_eq!(pull_response(body).changes.len(), hms_protocol::DEFAULT_PULL_LIMIT as usize);
    let (_, body) = server.get("/v1/pull?after=0&limit=4000000000", Some(&b.token)).await;
    assert_eq!(pull_response(body).changes.len(), 2_500);
}

#[tokio::test]
async fn malformed_pulls_are_bad_requests() {
    let server = TestServer::start_unchecked().await;
    let dev = server.tenant_with_device("Clinic").await;
    for query in [
        "/v1/pull",
        "/v1/pull?after=-1",
        "/v1/pull?after=abc",
        "/v1/pull?after=0&limit=0",
        "/v1/pull?after=0&limit=-5",
        "/v1/pull?after=18446744073709551615",
    ] {
        let answer = server.get(query, Some(&dev.token)).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "bad_request");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pushes_never_make_a_puller_skip_a_change() {
    // Server sequences are taken at insert and seen at commit; a puller that saw a later
    // sequence before an earlier one committed would skip it for ever. Four devices push
    // concurrently while a fifth pulls in a loop: it must end up with every change once.
    let server = TestServer::start_unchecked().await;
    let puller = server.tenant_with_device("Clinic").await;
    let mut pushers = Vec::new();
    for i in 0..4 {
        let dev = server.enrol("Clinic", &format!("tablet {i}")).await;
        let base = server.base.clone();
        pushers.push(tokio::spawn(async move {
            let http = common::http();
            for batch in 0..25u64 {
                let body = json!({"changes": changes(&dev.device_id, batch * 20 + 1..=batch * 20 + 20)});
                let res = http.post(format!("{base}/v1/push")).bearer_auth(&dev.token).json(&body).send().await;
                assert_eq!(res.expect("push").status(), StatusCode::OK);
            }
        }));
    }
    let mut seen = Vec::new();
    let mut after = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        // Checked before the pull: a page with nothing more after every push finished is
        // the end, and everything must have been seen by then.
        let finished = pushers.iter().all(|p| p.is_finished());
        let (status, body) = server.pull(&puller.token, after, 37).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let page = pull_response(body);
        after = page.next;
        seen.extend(page.changes);
        if finished && !page.more {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "pushes did not finish in time");
    }
    for p in pushers {
        p.await.expect("pusher");
    }
    assert!(seen.windows(2).all(|w| w[0].server_seq < w[1].server_seq));
    let mut keys: Vec<(String, u64)> = seen.iter().map(|c| (c.change.device_id.clone(), c.change.device_seq)).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 2_000, "every change exactly once");
    assert_eq!(seen.len(), 2_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_that_commits_late_is_not_skipped_by_a_pull_in_between() {
    // The race above, made certain: a trigger (fault injection in the test database) holds
    // the slow device's push open for a second after its sequences are taken. A fast device
    // pushes meanwhile and a pull runs before the slow push commits. If the fast push could
    // commit a later sequence first, the pull would move its cursor past the slow one's.
    // PostgreSQL only: SQLite has one writer, so a push takes its sequences only once it holds
    // the database's write lock, and nothing can commit before it (nor can SQL sleep there).
    if common::backend() == Backend::Sqlite {
        return;
    }
    let server = TestServer::start_unchecked().await;
    let slow = server.tenant_with_device("Clinic").await;
    let fast = server.enrol("Clinic", "fast tablet").await;
    let reader = server.enrol("Clinic", "reader").await;
    sqlx::query(&format!(
        "CREATE FUNCTION slow_push() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF NEW.device_id = '{}' THEN PERFORM pg_sleep(1); END IF;
             RETURN NULL;
         END $$",
        slow.device_id
    ))
    .execute(server.pool())
    .await
    .unwrap();
    sqlx::query("CREATE TRIGGER slow_push AFTER INSERT ON changes FOR EACH ROW EXECUTE FUNCTION slow_push()")
        .execute(server.pool())
        .await
        .unwrap();

    let push = |dev: Enrolled, base: String| async move {
        let body = json!({"changes": [change(&dev.device_id, 1)]});
        let res = common::http().post(format!("{base}/v1/push")).bearer_auth(&dev.token).json(&body).send().await;
        assert_eq!(res.expect("push").status(), StatusCode::OK);
    };
    let slow_push = tokio::spawn(push(slow.clone(), server.base.clone()));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let fast_push = tokio::spawn(push(fast.clone(), server.base.clone()));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let (_, body) = server.pull(&reader.token, 0, 100).await;
    let early = pull_response(body);
    slow_push.await.unwrap();
    fast_push.await.unwrap();
    let (_, body) = server.pull(&reader.token, early.next, 100).await;
    let late = pull_response(body);
    let mut seen: Vec<String> = early.changes.iter().chain(&late.changes).map(|c| c.change.device_id.clone()).collect();
    seen.sort();
    let mut expected = vec![slow.device_id.clone(), fast.device_id.clone()];
    expected.sort();
    assert_eq!(seen, expected, "early page {:?}, late page {:?}", early.changes, late.changes);
}

// ---------------------------------------------------------------------------- operations

#[tokio::test]
async fn health_metrics_and_unknown_routes() {
    let server = TestServer::start_unchecked().await;
    let (status, body) = server.get("/health", None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));

    let dev = server.tenant_with_device("Clinic").await;
    server.push(&dev.token, &changes(&dev.device_id, 1..=4)).await;
    server.push(&dev.token, &changes(&dev.device_id, 1..=4)).await;
    server.pull(&dev.token, 0, 10).await;
    server.pull("nobody.token", 0, 10).await;
    admin::revoke_device(server.store(), &server.enrol("Clinic", "old tablet").await.device_id).await.unwrap();

    let res = server.http.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = res.text().await.unwrap();
    for line in [
        "hms_pushes_total 2",
        "hms_pulls_total 1",
        "hms_changes_stored_total 4",
        "hms_changes_duplicate_total 4",
        "hms_enrolments_total 2",
        "hms_auth_failures_total 1",
        "hms_tenants 1",
        "hms_devices{state=\"active\"} 1",
        "hms_devices{state=\"revoked\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "metrics lack {line:?}:\n{text}");
    }

    assert_error(&server.get("/v2/nothing", None).await, StatusCode::NOT_FOUND, "not_found");
    let wrong_method = common::send(server.http.delete(server.url("/v1/push"))).await;
    assert_error(&wrong_method, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

#[tokio::test]
async fn health_says_unavailable_when_the_database_is_down() {
    // A pool aimed at a port where nothing listens.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_secs(2))
        .connect_lazy("postgres://nobody:nothing@127.0.0.1:1/none")
        .unwrap();
    let server = TestServer::start_with(common::unchecked(AppState::new(pool))).await;
    let answer = server.get("/health", None).await;
    assert_error(&answer, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    let pull = server.pull(&format!("dev.{}", "0".repeat(64)), 0, 1).await;
    assert_error(&pull, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
}

#[tokio::test]
async fn the_change_table_is_append_only() {
    let server = TestServer::start_unchecked().await;
    let dev = server.tenant_with_device("Clinic").await;
    server.push(&dev.token, &changes(&dev.device_id, 1..=2)).await;
    // SQLite has no TRUNCATE (its DELETE without WHERE is the same statement to a trigger).
    let statements: &[&str] = match common::backend() {
        Backend::Postgres => &["UPDATE changes SET entity = 'x'", "DELETE FROM changes", "TRUNCATE changes CASCADE"],
        Backend::Sqlite => &["UPDATE changes SET entity = 'x'", "DELETE FROM changes"],
    };
    for sql in statements {
        assert!(common::execute(server.store(), sql).await.is_err(), "{sql} succeeded");
    }
    assert_eq!(server.stored_changes().await, 2);
}

/// `GET /v1/wait` answers at once when the tenant has something after `after`, is woken by a
/// push of its own tenant, not by another tenant's, and a revoked device cannot wait.
#[tokio::test]
async fn a_wait_is_woken_by_its_own_tenants_push_only() {
    let server = TestServer::start_unchecked().await;
    let a = server.tenant_with_device("Clinic A").await;
    let a2 = server.enrol("Clinic A", "A ward tablet").await;
    let b = server.tenant_with_device("Clinic B").await;
    let wait = |token: String, after: u64, ms: u64| {
        let req = server.http.get(server.url(&format!("/v1/wait?after={after}&timeout_ms={ms}"))).bearer_auth(token);
        async move {
            let (status, body) = common::send(req).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            serde_json::from_value::<hms_protocol::WaitResponse>(body).unwrap().high_water
        }
    };
    let (status, _) = server.push(&a.token, &changes(&a.device_id, 1..=2)).await;
    assert_eq!(status, StatusCode::OK);
    let high = wait(a2.token.clone(), 0, 20_000).await;
    assert!(high > 0, "something to pull: answered at once");

    // A's other device waits after everything; B's push does not wake it, A's does.
    let waiting = tokio::spawn(wait(a2.token.clone(), high, 20_000));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (status, _) = server.push(&b.token, &changes(&b.device_id, 1..=1)).await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "another tenant's push does not wake it");
    let (status, _) = server.push(&a.token, &changes(&a.device_id, 3..=3)).await;
    assert_eq!(status, StatusCode::OK);
    let woke = waiting.await.unwrap();
    assert!(woke > high, "woken by its own tenant's push");

    // Nothing new: it answers at the timeout with the same high water.
    assert_eq!(wait(a2.token.clone(), woke, 200).await, woke);
    admin::revoke_device(server.store(), &a2.device_id).await.unwrap();
    let req = server.http.get(server.url(&format!("/v1/wait?after={woke}"))).bearer_auth(&a2.token);
    let (status, _) = common::send(req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
