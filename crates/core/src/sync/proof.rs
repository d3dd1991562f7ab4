//! A pulled page's proofs, checked before anything of it is applied: every other device's
//! change must belong to a whole segment signed by the key the server registered for that
//! device at its enrolment (`PullResponse::device_keys`). Device proofs therefore rest on the
//! server's word about which key is whose.

use hms_protocol::proof::{parse_public_key, verify_segment, ProofError};
use hms_protocol::{Change, PullResponse};
use std::collections::HashMap;

/// A page's device proofs: for each change, in order, proven or why not, and the segment it
/// belongs to (the index of the change that carries the segment's proof, and its members).
pub(super) struct PageProofs {
    pub verdicts: Vec<Result<(), String>>,
    pub segment_of: Vec<Option<usize>>,
    pub members: HashMap<usize, Vec<usize>>,
    /// The message each proven segment's signatures sign (by the index of its last change),
    /// so that its user signature is checked without digesting the changes again.
    pub messages: HashMap<usize, [u8; 32]>,
}

impl PageProofs {
    /// The index of the last change (the one with the proof) of the segment change `i`
    /// belongs to (none for this device's own, or one the page cut off).
    pub fn segment_end(&self, i: usize) -> Option<usize> {
        self.segment_of.get(i).copied().flatten()
    }

    /// The changes of the segment that ends at change `end`.
    pub fn segment<'p>(&self, page: &'p PullResponse, end: usize) -> Option<Vec<&'p Change>> {
        let members = self.members.get(&end)?;
        Some(members.iter().map(|&j| &page.changes[j].change).collect())
    }
}

/// Checks a page's device proofs. This device's own changes are not checked (they are
/// skipped anyway).
#[cfg(test)]
pub(super) fn check_page(page: &PullResponse, own: &str) -> PageProofs {
    check_page_skipping(page, |c| c.device_id == own)
}

/// [`check_page`], skipping the changes `skip` names (this device's own that it has).
pub(super) fn check_page_skipping(page: &PullResponse, skip: impl Fn(&Change) -> bool) -> PageProofs {
    let mut verdicts: Vec<Result<(), String>> = vec![Ok(()); page.changes.len()];
    let mut segment_of: Vec<Option<usize>> = vec![None; page.changes.len()];
    let mut all_members: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut messages: HashMap<usize, [u8; 32]> = HashMap::new();
    // The changes of each device since its last proof: its open segment.
    let mut open: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, pulled) in page.changes.iter().enumerate() {
        let change = &pulled.change;
        if skip(change) {
            continue;
        }
        let members = open.entry(change.device_id.as_str()).or_default();
        members.push(i);
        if change.proof.is_none() {
            continue;
        }
        let members = std::mem::take(members);
        let segment: Vec<&Change> = members.iter().map(|&j| &page.changes[j].change).collect();
        let verdict = match page.device_keys.get(&change.device_id) {
            None => Err(format!("device {} has no registered key", change.device_id)),
            Some(key) => parse_public_key(key)
                .and_then(|key| verify_segment(&segment, &key))
                .map(|message| {
                    messages.insert(i, message);
                })
                .map_err(|e: ProofError| e.to_string()),
        };
        for &j in &members {
            verdicts[j] = verdict.clone();
            segment_of[j] = Some(i);
        }
        all_members.insert(i, members);
    }
    // A segment the page cut off: the server is to end pages at segment ends.
    for members in open.into_values() {
        for j in members {
            verdicts[j] = Err(ProofError::Unfinished.to_string());
        }
    }
    PageProofs { verdicts, segment_of, members: all_members, messages }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::seal::{to_change, OutboxRow, OUTBOX_COLUMNS};
    use crate::store::{Actor, ChangeOp, Store};
    use hms_protocol::proof::{segments, sign_segment, signing_key, SEGMENT_MAX};
    use hms_protocol::{Op, PulledChange};
    use serde_json::json;

    async fn outbox(store: &Store) -> Vec<Change> {
        let sql = format!("SELECT {OUTBOX_COLUMNS} FROM change_log ORDER BY seq");
        let rows: Vec<OutboxRow> = sqlx::query_as(&sql).fetch_all(store.pool()).await.unwrap();
        rows.into_iter().map(|r| to_change(r).unwrap()).collect()
    }

    #[tokio::test]
    async fn every_write_is_sealed_in_segments_the_device_key_proves() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in_dir(dir.path()).await.unwrap();
        crate::setup::create_first_admin(
            &store,
            crate::setup::NewAdmin {
                username: "admin".into(),
                full_name: "Admin".into(),
                password: "Clinic#2026adm".into(),
            },
        )
        .await
        .unwrap();
        // A big write (an import, say) is cut into segments of at most SEGMENT_MAX.
        let before = outbox(&store).await.len();
        let rows: Vec<(String, serde_json::Value)> =
            (0..1_200).map(|i| (format!("p{i}"), json!({"given_name": format!("N{i}"), "n": i}))).collect();
        let refs: Vec<(&str, serde_json::Value)> = rows.iter().map(|(id, v)| (id.as_str(), v.clone())).collect();
        let mut w = store.begin_write(Actor::user("u1")).await.unwrap();
        w.record_changes("patients", ChangeOp::Insert, &refs).await.unwrap();
        w.audit("test.bulk", "patients", None, json!({})).await.unwrap();
        w.commit().await.unwrap();

        let all = outbox(&store).await;
        let (segs, rest) = segments(&all);
        assert!(rest.is_empty(), "every entry belongs to a sealed segment");
        let key = parse_public_key(&store.device_public_key()).unwrap();
        for seg in &segs {
            verify_segment(seg, &key).unwrap();
        }
        let bulk: Vec<usize> = segs.iter().filter(|s| s[0].device_seq as usize > before).map(|s| s.len()).collect();
        assert_eq!(bulk, vec![SEGMENT_MAX, SEGMENT_MAX, 200]);
        assert_eq!(segs.last().unwrap().last().unwrap().proof.as_ref().unwrap().user_id.as_deref(), Some("u1"));

        // The key is in a file beside the database, not in it, and survives reopening.
        drop(store);
        let again = Store::open_in_dir(dir.path()).await.unwrap();
        assert_eq!(parse_public_key(&again.device_public_key()).unwrap(), key);
        let in_db: i64 = sqlx::query_scalar("SELECT count(*) FROM meta WHERE value LIKE '%' || ? || '%'")
            .bind(hex::encode(signing_key_bytes(dir.path())))
            .fetch_one(again.pool())
            .await
            .unwrap();
        assert_eq!(in_db, 0);
    }

    fn signing_key_bytes(dir: &std::path::Path) -> Vec<u8> {
        let text = std::fs::read_to_string(crate::store::device_key::key_path(&dir.join("hms.db"))).unwrap();
        hex::decode(text.trim()).unwrap()
    }

    fn change(device: &str, seq: u64) -> Change {
        Change {
            id: format!("{device}-{seq}"),
            device_id: device.into(),
            device_seq: seq,
            entity: "patients".into(),
            entity_id: format!("p{seq}"),
            op: Op::Insert,
            data: json!({"given_name": "Amina"}),
            hlc: format!("{:016}-000000-{device}", 1_800_000_000_000u64 + seq),
            user_id: Some("u1".into()),
            proof: None,
        }
    }

    fn sealed(device: &str, seqs: std::ops::RangeInclusive<u64>, key: &hms_protocol::proof::SigningKey) -> Vec<Change> {
        let mut changes: Vec<Change> = seqs.map(|s| change(device, s)).collect();
        let proof = sign_segment(key, Some("u1"), &changes).unwrap();
        changes.last_mut().unwrap().proof = Some(proof);
        changes
    }

    #[test]
    fn a_page_is_proven_segment_by_segment_against_the_registered_keys() {
        let (a, b, c) = (signing_key(&[1; 32]), signing_key(&[2; 32]), signing_key(&[3; 32]));
        let mut changes = sealed("dev-a", 1..=2, &a); // good
        let mut tampered = sealed("dev-a", 3..=4, &a);
        tampered[0].data["given_name"] = json!("Mallory");
        changes.extend(tampered);
        changes.extend(sealed("dev-b", 1..=1, &a)); // dev-b's changes signed with dev-a's key
        changes.extend(sealed("dev-c", 1..=1, &c)); // dev-c has no registered key
        changes.extend(sealed("own", 1..=1, &c)); // this device's own: not checked
        changes.push(change("dev-a", 5)); // cut off: no proof on the page
        let page = PullResponse {
            changes: changes
                .into_iter()
                .enumerate()
                .map(|(i, change)| PulledChange { server_seq: i as u64 + 1, change })
                .collect(),
            next: 9,
            more: false,
            high_water: 9,
            device_keys: [("dev-a", &a), ("dev-b", &b)]
                .into_iter()
                .map(|(d, k)| (d.to_string(), hms_protocol::proof::public_key_hex(k)))
                .collect(),
            clock: None,
        };
        let verdicts: Vec<bool> = check_page(&page, "own").verdicts.iter().map(Result::is_ok).collect();
        assert_eq!(verdicts, vec![true, true, false, false, false, false, true, false]);
    }
}
