//! How a synced change is proven: Ed25519 signatures over *segments* of a device's changes.
//!
//! A segment is a run of consecutive device sequences from one write transaction (one device,
//! one signer), at most [`SEGMENT_MAX`] changes. The last change of a segment carries its
//! [`Proof`]; the others carry none. The signed message is
//!
//! ```text
//! SHA-256( "hms-segment-v1" ‖ str(device_id) ‖ str(signer user id, or empty)
//!          ‖ u64be(first_seq) ‖ u64be(last_seq) ‖ SHA-256(digest_1 ‖ … ‖ digest_n) )
//! ```
//!
//! where `str(s)` is `u32be(len) ‖ bytes` (so that two fields can never run into each other)
//! and `digest_i` is SHA-256 of the [canonical JSON](canonical_json) of change `i` without its
//! `device_seq` (bound by its position from `first_seq`) and without its proof. The server
//! keeps data as JSONB, which reorders keys, so every side canonicalises from the parsed
//! value: objects with their keys sorted, recursively, no whitespace.
//!
//! The segment is checked whole: every sequence from `first_seq` to the proof's change must be
//! present, from the same device, in order.
//!
//! Version 2 adds the user's signature: a segment of a signed-in user's write is signed twice,
//! by the device key and by the user's key (Ed25519, derived on the device from the user's
//! password, its public half in the synced `users` row as `user_key`). The user signs
//! `SHA-256("hms-segment-user-v1" ‖ message)` ([`user_message`]), where `message` is the
//! segment message above, so one signature can never stand for the other. A segment without
//! a signer (the system: set-up's own bookkeeping, audit queueing, sync's writes) carries the
//! device signature only. Who may sign what is the policy's business (`hms-policy`).

use crate::Change;
use ed25519_dalek::{Signature, Signer, Verifier};
pub use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::borrow::Borrow;
use std::fmt;

/// The most changes one segment holds: a larger write is cut into several segments.
pub const SEGMENT_MAX: usize = 500;

/// The most bytes of change data (JSON text) one segment holds, unless a single change is
/// larger: a segment travels whole in one push, and 500 changes of the largest size
/// ([`crate::MAX_CHANGE_BYTES`]) would not fit a request ([`crate::MAX_BODY_BYTES`]). A push
/// batch ends at the first segment end past 4 MiB of data, so with this cap a batch holds at
/// most about 8 MiB of data and its request stays well inside the limit.
pub const SEGMENT_MAX_BYTES: usize = 4 * 1024 * 1024;
const _: () = assert!(2 * SEGMENT_MAX_BYTES + SEGMENT_MAX * 2 * 1024 < crate::MAX_BODY_BYTES);

/// How a signer cuts a run of consecutive changes (one device, one write) into segments,
/// given each change's data size in bytes: index ranges of at most [`SEGMENT_MAX`] changes
/// and at most [`SEGMENT_MAX_BYTES`] of data (a larger change is a segment of its own).
pub fn segment_ranges(sizes: &[usize]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, &size) in sizes.iter().enumerate() {
        if i > start && (i - start == SEGMENT_MAX || bytes + size > SEGMENT_MAX_BYTES) {
            out.push(start..i);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < sizes.len() {
        out.push(start..sizes.len());
    }
    out
}

const DOMAIN: &[u8] = b"hms-segment-v1";

/// The proof a segment's last change carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    /// The device sequence of the segment's first change.
    pub first_seq: u64,
    /// The device's Ed25519 public key (64 hex digits) that signed the segment.
    pub device_key: String,
    /// The device's signature of the segment message (128 hex digits).
    pub device_sig: String,
    /// The signed-in user whose write this segment is (`None`: the system). Part of the
    /// signed message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Version 2: the signing user's signature of [`user_message`] (128 hex digits), by the
    /// key whose public half is the user's `user_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_sig: Option<String>,
}

/// Why a segment is not proven. The server answers all of them with `bad_proof`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofError {
    /// The changes end without a proof: the segment is cut off.
    Unfinished,
    /// The segment's changes are not the consecutive sequences its proof names, or come from
    /// more than one device.
    Broken(String),
    /// The proof names another key than the one registered for the device.
    WrongKey,
    /// A key or signature that is not well formed.
    Malformed(String),
    /// The signature does not match the changes: tampered with, or signed by another key.
    BadSignature,
    /// A user's segment without the user's signature.
    NoUserSignature,
    /// The user's signature does not match the changes, or was made by another key than the
    /// user's.
    BadUserSignature,
}

impl fmt::Display for ProofError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProofError::Unfinished => f.write_str("the changes end inside a segment (its proof is missing)"),
            ProofError::Broken(why) => write!(f, "the segment is broken: {why}"),
            ProofError::WrongKey => {
                f.write_str("the segment is signed by another key than the device's registered one")
            }
            ProofError::Malformed(why) => write!(f, "malformed proof: {why}"),
            ProofError::BadSignature => f.write_str("the signature does not match the changes"),
            ProofError::NoUserSignature => f.write_str("the segment is not signed by its user"),
            ProofError::BadUserSignature => {
                f.write_str("the user's signature does not match the changes or is not by the user's key")
            }
        }
    }
}

impl std::error::Error for ProofError {}

/// The canonical JSON text of a value: object keys sorted (by their UTF-8 bytes), recursively,
/// no whitespace; strings and numbers as serde_json writes them.
pub fn canonical_json(value: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    // Only JSON text was written, and serde_json writes UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

/// Writes a value's canonical JSON to `out` (a buffer or a hasher: the digest of a change is
/// computed without building its text or cloning its data).
fn write_canonical<W: std::io::Write>(value: &Value, out: &mut W) {
    // Writing to a Vec or a hasher cannot fail, and serialising a str, a number, a bool or
    // null cannot either: the results are ignored.
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            let _ = out.write_all(b"{");
            for (i, (key, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    let _ = out.write_all(b",");
                }
                let _ = serde_json::to_writer(&mut *out, key.as_str());
                let _ = out.write_all(b":");
                write_canonical(v, out);
            }
            let _ = out.write_all(b"}");
        }
        Value::Array(items) => {
            let _ = out.write_all(b"[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    let _ = out.write_all(b",");
                }
                write_canonical(item, out);
            }
            let _ = out.write_all(b"]");
        }
        other => {
            let _ = serde_json::to_writer(&mut *out, other);
        }
    }
}

/// SHA-256 of a change's canonical JSON, without its `device_seq` and proof: the object
/// `{data, device_id, entity, entity_id, hlc, id, op, user_id}` (keys in canonical order),
/// streamed into the hash.
pub fn change_digest(c: &Change) -> [u8; 32] {
    let mut h = Sha256::new();
    let text = |h: &mut Sha256, key: &[u8], value: &str| {
        let _ = std::io::Write::write_all(h, key);
        let _ = serde_json::to_writer(&mut *h, value);
    };
    let _ = std::io::Write::write_all(&mut h, b"{\"data\":");
    write_canonical(&c.data, &mut h);
    text(&mut h, b",\"device_id\":", &c.device_id);
    text(&mut h, b",\"entity\":", &c.entity);
    text(&mut h, b",\"entity_id\":", &c.entity_id);
    text(&mut h, b",\"hlc\":", &c.hlc);
    text(&mut h, b",\"id\":", &c.id);
    text(&mut h, b",\"op\":", c.op.as_str());
    match &c.user_id {
        Some(user) => text(&mut h, b",\"user_id\":", user),
        None => {
            let _ = std::io::Write::write_all(&mut h, b",\"user_id\":null");
        }
    }
    let _ = std::io::Write::write_all(&mut h, b"}");
    h.finalize().into()
}

/// The 32-byte message a segment's signatures sign.
pub fn segment_message<'a>(
    device_id: &str,
    signer: Option<&str>,
    first_seq: u64,
    last_seq: u64,
    changes: impl IntoIterator<Item = &'a Change>,
) -> [u8; 32] {
    let mut digests = Sha256::new();
    for c in changes {
        digests.update(change_digest(c));
    }
    let digests: [u8; 32] = digests.finalize().into();
    let mut m = Sha256::new();
    m.update(DOMAIN);
    for s in [device_id, signer.unwrap_or("")] {
        m.update((s.len() as u32).to_be_bytes());
        m.update(s.as_bytes());
    }
    m.update(first_seq.to_be_bytes());
    m.update(last_seq.to_be_bytes());
    m.update(digests);
    m.finalize().into()
}

const USER_DOMAIN: &[u8] = b"hms-segment-user-v1";

/// What a user signs for a segment whose [`segment_message`] is `message`.
pub fn user_message(message: &[u8; 32]) -> [u8; 32] {
    let mut m = Sha256::new();
    m.update(USER_DOMAIN);
    m.update(message);
    m.finalize().into()
}

/// A device's signing key from its 32 secret bytes.
pub fn signing_key(secret: &[u8; 32]) -> SigningKey {
    SigningKey::from_bytes(secret)
}

/// The hex form of a public key, as in [`Proof::device_key`] and the enrolment.
pub fn public_key_hex(key: &SigningKey) -> String {
    hex::encode(key.verifying_key().as_bytes())
}

/// Parses a public key's hex form.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, ProofError> {
    let bytes: [u8; 32] = hex::decode(text)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| ProofError::Malformed("a key is 64 hex digits".into()))?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| ProofError::Malformed("not an Ed25519 public key".into()))
}

/// Signs `changes` (one segment: consecutive sequences of one device, at most
/// [`SEGMENT_MAX`]) and returns the proof its last change carries.
pub fn sign_segment<C: Borrow<Change>>(
    key: &SigningKey,
    signer: Option<&str>,
    changes: &[C],
) -> Result<Proof, ProofError> {
    signed(key, signer, changes).map(|(proof, _)| proof)
}

/// The device's proof of a segment and the message it signed.
fn signed<C: Borrow<Change>>(
    key: &SigningKey,
    signer: Option<&str>,
    changes: &[C],
) -> Result<(Proof, [u8; 32]), ProofError> {
    let (Some(first), Some(last)) = (changes.first().map(C::borrow), changes.last().map(C::borrow)) else {
        return Err(ProofError::Broken("an empty segment".into()));
    };
    check_shape(changes, first.device_seq)?;
    let message =
        segment_message(&first.device_id, signer, first.device_seq, last.device_seq, changes.iter().map(C::borrow));
    let proof = Proof {
        first_seq: first.device_seq,
        device_key: public_key_hex(key),
        device_sig: hex::encode(key.sign(&message).to_bytes()),
        user_id: signer.map(str::to_string),
        user_sig: None,
    };
    Ok((proof, message))
}

/// [`sign_segment`] for a signed-in user's write: signed by the device and by the user's key
/// (both over the one segment message, hashed once: bulk writes hash thousands of changes).
pub fn sign_segment_as_user<C: Borrow<Change>>(
    key: &SigningKey,
    user_id: &str,
    user_key: &SigningKey,
    changes: &[C],
) -> Result<Proof, ProofError> {
    let (mut proof, message) = signed(key, Some(user_id), changes)?;
    proof.user_sig = Some(hex::encode(user_key.sign(&user_message(&message)).to_bytes()));
    Ok(proof)
}

/// Checks the user's signature of a whole segment (whose device proof [`verify_segment`]
/// checks) against the user's public key.
pub fn verify_user_sig<C: Borrow<Change>>(changes: &[C], user_key: &VerifyingKey) -> Result<(), ProofError> {
    let Some(last) = changes.last().map(C::borrow) else {
        return Err(ProofError::Broken("an empty segment".into()));
    };
    let proof = last.proof.as_ref().ok_or(ProofError::Unfinished)?;
    verify_user_sig_of(&proven_message(changes, last, proof), proof, user_key)
}

/// [`verify_user_sig`] for a segment whose message is known already: the one
/// [`verify_segment`] answered, so the changes are digested once for both signatures.
pub fn verify_user_sig_of(message: &[u8; 32], proof: &Proof, user_key: &VerifyingKey) -> Result<(), ProofError> {
    let sig = signature(proof.user_sig.as_deref().ok_or(ProofError::NoUserSignature)?)?;
    user_key.verify(&user_message(message), &sig).map_err(|_| ProofError::BadUserSignature)
}

/// A signature from its 128 hex digits.
fn signature(text: &str) -> Result<Signature, ProofError> {
    let bytes: [u8; 64] = hex::decode(text)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| ProofError::Malformed("a signature is 128 hex digits".into()))?;
    Ok(Signature::from_bytes(&bytes))
}

/// The message a segment's proof signs (its last change carries `proof`).
fn proven_message<C: Borrow<Change>>(changes: &[C], last: &Change, proof: &Proof) -> [u8; 32] {
    segment_message(
        &last.device_id,
        proof.user_id.as_deref(),
        proof.first_seq,
        last.device_seq,
        changes.iter().map(C::borrow),
    )
}

/// Checks one whole segment (its last change carries the proof) against the public key
/// registered for its device. Answers the message the proof signs ([`segment_message`]), for
/// [`verify_user_sig_of`].
pub fn verify_segment<C: Borrow<Change>>(changes: &[C], device_key: &VerifyingKey) -> Result<[u8; 32], ProofError> {
    let Some(last) = changes.last().map(C::borrow) else {
        return Err(ProofError::Broken("an empty segment".into()));
    };
    let proof = last.proof.as_ref().ok_or(ProofError::Unfinished)?;
    check_shape(changes, proof.first_seq)?;
    if changes[..changes.len() - 1].iter().any(|c| c.borrow().proof.is_some()) {
        return Err(ProofError::Broken("a proof inside the segment".into()));
    }
    if parse_public_key(&proof.device_key)? != *device_key {
        return Err(ProofError::WrongKey);
    }
    let sig = signature(&proof.device_sig)?;
    let message = proven_message(changes, last, proof);
    device_key.verify(&message, &sig).map_err(|_| ProofError::BadSignature)?;
    Ok(message)
}

/// One device, sequences `first_seq`, `first_seq + 1`, … without a gap, at most
/// [`SEGMENT_MAX`].
fn check_shape<C: Borrow<Change>>(changes: &[C], first_seq: u64) -> Result<(), ProofError> {
    if changes.len() > SEGMENT_MAX {
        return Err(ProofError::Broken(format!("more than {SEGMENT_MAX} changes")));
    }
    let Some(device) = changes.first().map(|c| &c.borrow().device_id) else {
        return Err(ProofError::Broken("an empty segment".into()));
    };
    for (i, c) in changes.iter().map(C::borrow).enumerate() {
        if &c.device_id != device {
            return Err(ProofError::Broken("changes of two devices".into()));
        }
        if Some(c.device_seq) != first_seq.checked_add(i as u64) {
            return Err(ProofError::Broken(format!(
                "device_seq {} where {} was due",
                c.device_seq,
                first_seq.saturating_add(i as u64)
            )));
        }
    }
    Ok(())
}

/// Cuts a run of changes into segments: each ends at a change that carries a proof. Changes
/// after the last proof come back as the remainder (an unfinished segment).
pub fn segments(changes: &[Change]) -> (Vec<&[Change]>, &[Change]) {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in changes.iter().enumerate() {
        if c.proof.is_some() {
            out.push(&changes[start..=i]);
            start = i + 1;
        }
    }
    (out, &changes[start..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Op;
    use serde_json::json;

    fn change(seq: u64, data: Value) -> Change {
        Change {
            id: format!("c{seq}"),
            device_id: "dev-1".into(),
            device_seq: seq,
            entity: "patients".into(),
            entity_id: "p1".into(),
            op: Op::Update,
            data,
            hlc: format!("{:016}-000000-dev-1", 1_732_270_000_000u64 + seq),
            user_id: Some("u1".into()),
            proof: None,
        }
    }

    fn signed(key: &SigningKey, seqs: std::ops::RangeInclusive<u64>) -> Vec<Change> {
        let mut changes: Vec<Change> =
            seqs.map(|s| change(s, json!({"b": s, "a": {"z": 1, "y": [2, {"d": 1, "c": 0}]}}))).collect();
        let proof = sign_segment(key, Some("u1"), &changes).unwrap();
        changes.last_mut().unwrap().proof = Some(proof);
        changes
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let v: Value = serde_json::from_str(r#"{"b":1,"a":{"d":[{"y":1,"x":"é"}],"c":2.5}}"#).unwrap();
        assert_eq!(canonical_json(&v), r#"{"a":{"c":2.5,"d":[{"x":"é","y":1}]},"b":1}"#);
    }

    #[test]
    fn a_signed_segment_verifies_and_any_change_to_it_does_not() {
        let key = signing_key(&[7; 32]);
        let other = signing_key(&[8; 32]);
        let seg = signed(&key, 3..=6);
        verify_segment(&seg, &key.verifying_key()).unwrap();
        assert_eq!(verify_segment(&seg, &other.verifying_key()), Err(ProofError::WrongKey));

        let mut tampered = seg.clone();
        tampered[1].data["b"] = json!(99);
        assert_eq!(verify_segment(&tampered, &key.verifying_key()), Err(ProofError::BadSignature));
        let mut renamed = seg.clone();
        renamed[0].user_id = Some("u2".into());
        assert_eq!(verify_segment(&renamed, &key.verifying_key()), Err(ProofError::BadSignature));
        let mut signer = seg.clone();
        signer[3].proof.as_mut().unwrap().user_id = None;
        assert_eq!(verify_segment(&signer, &key.verifying_key()), Err(ProofError::BadSignature));
        // A change left out, or a change moved to another sequence, breaks the segment.
        assert!(matches!(verify_segment(&seg[1..], &key.verifying_key()), Err(ProofError::Broken(_))));
        let mut gap = seg.clone();
        gap.remove(1);
        assert!(matches!(verify_segment(&gap, &key.verifying_key()), Err(ProofError::Broken(_))));
        assert_eq!(verify_segment(&seg[..3], &key.verifying_key()), Err(ProofError::Unfinished));
    }

    #[test]
    fn a_users_segment_is_signed_by_the_device_and_the_user() {
        let (device, user, other) = (signing_key(&[7; 32]), signing_key(&[9; 32]), signing_key(&[10; 32]));
        let mut seg: Vec<Change> = (1..=3).map(|s| change(s, json!({"n": s}))).collect();
        let proof = sign_segment_as_user(&device, "u1", &user, &seg).unwrap();
        seg.last_mut().unwrap().proof = Some(proof);
        verify_segment(&seg, &device.verifying_key()).unwrap();
        verify_user_sig(&seg, &user.verifying_key()).unwrap();
        assert_eq!(verify_user_sig(&seg, &other.verifying_key()), Err(ProofError::BadUserSignature));
        // The device's signature cannot stand in for the user's (another message).
        let mut swapped = seg.clone();
        let p = swapped[2].proof.as_mut().unwrap();
        p.user_sig = Some(p.device_sig.clone());
        assert_eq!(verify_user_sig(&swapped, &device.verifying_key()), Err(ProofError::BadUserSignature));
        let mut tampered = seg.clone();
        tampered[0].data["n"] = json!(5);
        assert_eq!(verify_user_sig(&tampered, &user.verifying_key()), Err(ProofError::BadUserSignature));
        let mut unsigned = seg.clone();
        unsigned[2].proof.as_mut().unwrap().user_sig = None;
        assert_eq!(verify_user_sig(&unsigned, &user.verifying_key()), Err(ProofError::NoUserSignature));
    }

    /// The digest as it was first defined (the canonical text of a JSON object built from the
    /// change): what every segment already stored was signed over. The streamed digest must
    /// stay byte for byte the same.
    fn reference_digest(c: &Change) -> [u8; 32] {
        let value = json!({
            "id": c.id, "device_id": c.device_id, "entity": c.entity, "entity_id": c.entity_id,
            "op": c.op.as_str(), "data": c.data, "hlc": c.hlc, "user_id": c.user_id,
        });
        Sha256::digest(canonical_json(&value).as_bytes()).into()
    }

    #[test]
    fn the_streamed_digest_is_the_canonical_texts() {
        let odd = json!({
            "é": "line\nbreak \"quoted\" \\ tab\t \u{1}", "z": [1.5, -0.0, 1e300, 12345678901234567890u64, -7],
            "a": {"nested": [null, true, false, {"k": "✓"}]}, "": {}, "list": []
        });
        let mut cases =
            vec![change(1, odd.clone()), change(2, json!(null)), change(3, json!("text")), change(4, json!([]))];
        let mut system = change(5, odd);
        system.user_id = None;
        system.op = Op::Insert;
        system.id = "id with \"quotes\" and ünïcode".into();
        cases.push(system);
        for c in &cases {
            assert_eq!(change_digest(c), reference_digest(c), "{c:?}");
        }
        // And the messages verify_segment answers are the ones both signatures sign.
        let (device, user) = (signing_key(&[7; 32]), signing_key(&[9; 32]));
        let mut seg = cases[..4].to_vec();
        for (i, c) in seg.iter_mut().enumerate() {
            c.device_seq = i as u64 + 1;
        }
        let proof = sign_segment_as_user(&device, "u1", &user, &seg).unwrap();
        seg.last_mut().unwrap().proof = Some(proof.clone());
        let message = verify_segment(&seg, &device.verifying_key()).unwrap();
        verify_user_sig_of(&message, &proof, &user.verifying_key()).unwrap();
        assert_eq!(verify_user_sig_of(&[0; 32], &proof, &user.verifying_key()), Err(ProofError::BadUserSignature));
    }

    #[test]
    fn key_order_of_the_data_does_not_matter() {
        // As a JSONB round trip may give the data back: the same value, keys in another order.
        let a = change(1, serde_json::from_str(r#"{"x":{"q":1,"p":2},"w":[1,2]}"#).unwrap());
        let b = change(1, serde_json::from_str(r#"{"w":[1,2],"x":{"p":2,"q":1}}"#).unwrap());
        assert_eq!(change_digest(&a), change_digest(&b));
        let c = change(1, serde_json::from_str(r#"{"w":[2,1],"x":{"p":2,"q":1}}"#).unwrap());
        assert_ne!(change_digest(&a), change_digest(&c));
    }

    #[test]
    fn segments_end_at_proofs() {
        let key = signing_key(&[7; 32]);
        let mut all = signed(&key, 1..=2);
        all.extend(signed(&key, 3..=5));
        all.push(change(6, json!({})));
        let (segs, rest) = segments(&all);
        assert_eq!(segs.iter().map(|s| s.len()).collect::<Vec<_>>(), vec![2, 3]);
        assert_eq!(rest.len(), 1);
    }

    #[test]
    fn a_signer_cuts_segments_at_500_changes_or_4_mib_of_data() {
        let big = crate::MAX_CHANGE_BYTES;
        // Small changes: 500 at a time.
        assert_eq!(segment_ranges(&[100; 1_200]), vec![0..500, 500..1_000, 1_000..1_200]);
        // The largest changes: 16 of them fill 4 MiB exactly, the 17th starts the next.
        assert_eq!(SEGMENT_MAX_BYTES / big, 16);
        assert_eq!(segment_ranges(&[big; 40]), vec![0..16, 16..32, 32..40]);
        // A change larger than the cap is a segment of its own; nothing is ever empty.
        assert_eq!(segment_ranges(&[10, SEGMENT_MAX_BYTES + 1, 10]), vec![0..1, 1..2, 2..3]);
        assert_eq!(segment_ranges(&[]), Vec::<std::ops::Range<usize>>::new());
        // Every cut is within both caps.
        let sizes: Vec<usize> = (0..3_000).map(|i| (i * 7919) % (big + 1)).collect();
        for r in segment_ranges(&sizes) {
            assert!(r.len() <= SEGMENT_MAX && !r.is_empty());
            assert!(r.len() == 1 || sizes[r].iter().sum::<usize>() <= SEGMENT_MAX_BYTES);
        }
    }
}
