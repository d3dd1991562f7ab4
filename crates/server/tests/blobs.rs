//! Attachment files (blobs) against a real PostgreSQL: round trip, the hash check, tenant
//! isolation, revoked tokens and the size limit.

mod common;

use common::{assert_error, count, send, Enrolled, TestServer};
use hms_protocol::MAX_BLOB_BYTES;
use hms_server::admin;
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

async fn put(server: &TestServer, token: &str, sha256: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let req = server
        .http
        .put(server.url(&format!("/v1/blobs/{sha256}")))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(body);
    send(req).await
}

/// The status and raw body of a GET.
async fn get(server: &TestServer, token: &str, sha256: &str) -> (StatusCode, Vec<u8>) {
    let res =
        server.http.get(server.url(&format!("/v1/blobs/{sha256}"))).bearer_auth(token).send().await.expect("request");
    let status = res.status();
    (status, res.bytes().await.expect("body").to_vec())
}

fn error_of(answer: (StatusCode, Vec<u8>)) -> (StatusCode, Value) {
    (answer.0, serde_json::from_slice(&answer.1).unwrap_or(Value::Null))
}

async fn blobs(server: &TestServer) -> i64 {
    count(server.store(), "SELECT count(*) FROM blobs").await
}

fn pdf(body: &str) -> Vec<u8> {
    format!("%PDF-1.4\n{body}\n%%EOF\n").into_bytes()
}

#[tokio::test]
async fn a_file_goes_up_once_and_comes_back_whole() {
    let server = TestServer::start().await;
    let dev: Enrolled = server.tenant_with_device("Clinic").await;
    let other = server.enrol("Clinic", "Ward tablet").await;
    let bytes = pdf("x-ray report");
    let sha = sha256_hex(&bytes);

    let (status, body) = put(&server, &dev.token, &sha, bytes.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["created"], true);
    // Again (a retry, or another device with the same file): fine, stored once.
    let (status, body) = put(&server, &other.token, &sha, bytes.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["created"], false);
    assert_eq!(blobs(&server).await, 1);
    let (size,): (i64,) = common::fetch_one(server.store(), "SELECT size FROM blobs WHERE sha256 = $1", &[&sha]).await;
    assert_eq!(size, bytes.len() as i64);

    // Any device of the tenant reads it back.
    assert_eq!(get(&server, &other.token, &sha).await, (StatusCode::OK, bytes.clone()));
    assert_eq!(get(&server, &dev.token, &sha).await, (StatusCode::OK, bytes));
    // One it does not have, and a name that is no hash.
    let missing = sha256_hex(b"never uploaded");
    assert_error(&error_of(get(&server, &dev.token, &missing).await), StatusCode::NOT_FOUND, "not_found");
    assert_error(&error_of(get(&server, &dev.token, "..%2F..%2Fetc").await), StatusCode::BAD_REQUEST, "bad_request");
    let metrics = server.http.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("hms_blobs_stored_total 1"), "{metrics}");
    assert!(metrics.contains("hms_blobs_served_total 2"), "{metrics}");
}

#[tokio::test]
async fn a_body_that_does_not_match_its_hash_is_refused_and_nothing_is_stored() {
    let server = TestServer::start().await;
    let dev = server.tenant_with_device("Clinic").await;
    let claimed = sha256_hex(&pdf("the original"));
    let answer = put(&server, &dev.token, &claimed, pdf("something else")).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "bad_request");
    // Upper-case hex and short names are not blob names.
    let answer = put(&server, &dev.token, &claimed.to_uppercase(), pdf("the original")).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "bad_request");
    let answer = put(&server, &dev.token, "abc", pdf("the original")).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "bad_request");
    assert_eq!(blobs(&server).await, 0);
    assert_error(&error_of(get(&server, &dev.token, &claimed).await), StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn another_tenant_cannot_read_a_file_even_with_its_hash() {
    let server = TestServer::start().await;
    let a = server.tenant_with_device("Mlimani Clinic").await;
    let b = server.tenant_with_device("Pwani Clinic").await;
    let bytes = pdf("Mlimani's patient");
    let sha = sha256_hex(&bytes);
    assert_eq!(put(&server, &a.token, &sha, bytes.clone()).await.0, StatusCode::OK);
    assert_error(&error_of(get(&server, &b.token, &sha).await), StatusCode::NOT_FOUND, "not_found");
    // Its own upload of the same content is its own copy.
    assert_eq!(put(&server, &b.token, &sha, bytes.clone()).await.0, StatusCode::OK);
    assert_eq!(blobs(&server).await, 2);
    assert_eq!(get(&server, &b.token, &sha).await, (StatusCode::OK, bytes));
}

#[tokio::test]
async fn revoked_and_missing_tokens_are_refused() {
    let server = TestServer::start().await;
    let dev = server.tenant_with_device("Clinic").await;
    let bytes = pdf("report");
    let sha = sha256_hex(&bytes);
    assert_eq!(put(&server, &dev.token, &sha, bytes.clone()).await.0, StatusCode::OK);
    admin::revoke_device(server.store(), &dev.device_id).await.unwrap();

    assert_error(&error_of(get(&server, &dev.token, &sha).await), StatusCode::UNAUTHORIZED, "revoked");
    let other = pdf("another report");
    let answer = put(&server, &dev.token, &sha256_hex(&other), other).await;
    assert_error(&answer, StatusCode::UNAUTHORIZED, "revoked");
    let anonymous = send(server.http.get(server.url(&format!("/v1/blobs/{sha}")))).await;
    assert_error(&anonymous, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(blobs(&server).await, 1);
}

#[tokio::test]
async fn files_up_to_20_mib_are_taken_and_larger_ones_refused() {
    let server = TestServer::start().await;
    let dev = server.tenant_with_device("Clinic").await;
    // Exactly the limit: over the 16 MiB JSON limit, so this route has its own.
    let mut bytes = pdf("");
    bytes.resize(MAX_BLOB_BYTES, b' ');
    let (status, body) = put(&server, &dev.token, &sha256_hex(&bytes), bytes.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // One byte more, and far more.
    bytes.push(b' ');
    let answer = put(&server, &dev.token, &sha256_hex(&bytes), bytes.clone()).await;
    assert_error(&answer, StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    bytes.resize(MAX_BLOB_BYTES + 2 * 1024 * 1024, b' ');
    let answer = put(&server, &dev.token, &sha256_hex(&bytes), bytes).await;
    assert_error(&answer, StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    assert_eq!(blobs(&server).await, 1);
}
