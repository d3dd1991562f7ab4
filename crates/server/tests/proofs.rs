//! Every pushed change must be proven: signed, in whole segments, by the key its device
//! registered at enrolment (issue 12). A forged, re-signed or tampered change is refused with
//! 403 `bad_proof` and nothing of its batch is stored; pull pages end at segment ends and
//! carry the keys to check them with. Proofs are checked whether or not the server checks
//! the change policy; these servers do not (the changes' author is no account of a clinic).

mod common;

use common::{assert_error, sign_alone, test_key, unsigned_change, TestServer};
use hms_protocol::proof::{public_key_hex, sign_segment, signing_key, verify_segment};
use hms_protocol::{Change, PullResponse};
use hms_server::admin;
use reqwest::StatusCode;

/// Changes `seqs` of `device`, signed together as one segment by `key`.
fn segment(device: &str, seqs: std::ops::RangeInclusive<u64>, key: &hms_protocol::proof::SigningKey) -> Vec<Change> {
    let mut changes: Vec<Change> = seqs.map(|s| unsigned_change(device, s)).collect();
    let proof = sign_segment(key, Some("user-1"), &changes).unwrap();
    changes.last_mut().unwrap().proof = Some(proof);
    changes
}

#[tokio::test]
async fn unproven_changes_are_refused_and_nothing_of_their_batch_is_stored() {
    let server = TestServer::start_unchecked().await;
    let own_key = signing_key(&[1; 32]);
    admin::create_tenant(server.store(), "Clinic").await.unwrap();
    let dev = server.enrol_with_key("Clinic", "Reception", &public_key_hex(&own_key)).await;
    let other = server.enrol("Clinic", "Ward tablet").await; // registers test_key()

    let unsigned = vec![unsigned_change(&dev.device_id, 1)];
    // Signed by another device's key (a copy of that tablet's key file, say).
    let other_key = segment(&dev.device_id, 1..=2, &test_key());
    let mut tampered = segment(&dev.device_id, 1..=3, &own_key);
    tampered[1].data["given_name"] = serde_json::json!("Someone else");
    let mut other_user = segment(&dev.device_id, 1..=2, &own_key);
    other_user[0].user_id = Some("administrator".into());
    // A whole segment, then the start of another whose proof is missing.
    let mut cut = segment(&dev.device_id, 1..=2, &own_key);
    cut.extend(segment(&dev.device_id, 3..=5, &own_key).into_iter().take(2));
    // A segment with a change left out.
    let mut gap = segment(&dev.device_id, 1..=3, &own_key);
    gap.remove(1);
    for batch in [unsigned, other_key, tampered, other_user, cut, gap] {
        assert_error(&server.push(&dev.token, &batch).await, StatusCode::FORBIDDEN, "bad_proof");
    }
    assert_eq!(server.stored_changes().await, 0);

    // Well signed, the same changes are stored, with their proof.
    let good = segment(&dev.device_id, 1..=3, &own_key);
    let (status, body) = server.push(&dev.token, &good).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let pulled = server.pull_all(&other.token, 10).await;
    let back: Vec<Change> = pulled.into_iter().map(|p| p.change).collect();
    verify_segment(&back, &own_key.verifying_key()).unwrap();
    assert_eq!(back, good);
}

#[tokio::test]
async fn a_pull_page_ends_at_a_segment_end_and_carries_the_device_keys() {
    let server = TestServer::start_unchecked().await;
    let key = signing_key(&[2; 32]);
    admin::create_tenant(server.store(), "Clinic").await.unwrap();
    let dev = server.enrol_with_key("Clinic", "Reception", &public_key_hex(&key)).await;
    let reader = server.enrol("Clinic", "Ward tablet").await;
    let mut batch = segment(&dev.device_id, 1..=4, &key);
    batch.push(sign_alone(unsigned_change(&dev.device_id, 5), &key));
    let (status, body) = server.push(&dev.token, &batch).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Asked for 2, the page runs to the end of the 4-change segment.
    let (status, body) = server.pull(&reader.token, 0, 2).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let page: PullResponse = serde_json::from_value(body).unwrap();
    assert_eq!(page.changes.len(), 4);
    assert!(page.more);
    assert_eq!(page.device_keys.get(&dev.device_id), Some(&public_key_hex(&key)));
    let changes: Vec<&Change> = page.changes.iter().map(|p| &p.change).collect();
    verify_segment(&changes, &key.verifying_key()).unwrap();

    let (_, body) = server.pull(&reader.token, page.next, 2).await;
    let rest: PullResponse = serde_json::from_value(body).unwrap();
    assert_eq!(rest.changes.len(), 1);
    assert!(!rest.more);
}
