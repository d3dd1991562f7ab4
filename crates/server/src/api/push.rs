//! `POST /v1/push`: store a device's batch of changes, once each.

use super::{to_u64, JsonBody};
use crate::auth::Device;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::policy;
use crate::store::{Lock, Storage, WriteTx};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use hms_protocol::proof::{parse_public_key, segments, verify_segment, ProofError};
use hms_protocol::{Change, Op, Proof, PushResponse};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::{HashMap, HashSet};

const MAX_ID_CHARS: usize = 128;

/// `hms_protocol::PushRequest` as the server reads it: each change's data is kept as the JSON
/// text received, which is what is size-checked and stored, besides its parsed value, which
/// is what is validated, checked against the policy and digested for the proofs (writing the
/// value out again for PostgreSQL was a serialisation per change). A test holds the two
/// request types together.
#[derive(Deserialize)]
pub struct Received {
    changes: Vec<ReceivedChange>,
}

#[derive(Deserialize)]
struct ReceivedChange {
    id: String,
    device_id: String,
    device_seq: u64,
    entity: String,
    entity_id: String,
    op: Op,
    data: Box<RawValue>,
    hlc: String,
    user_id: Option<String>,
    #[serde(default)]
    proof: Option<Proof>,
}

impl ReceivedChange {
    /// The change with its data parsed, and the data's text as received.
    fn parse(self) -> Result<(Change, String), serde_json::Error> {
        let data = serde_json::from_str(self.data.get())?;
        let text = String::from(Box::<str>::from(self.data));
        let change = Change {
            id: self.id,
            device_id: self.device_id,
            device_seq: self.device_seq,
            entity: self.entity,
            entity_id: self.entity_id,
            op: self.op,
            data,
            hlc: self.hlc,
            user_id: self.user_id,
            proof: self.proof,
        };
        Ok((change, text))
    }
}

pub async fn push(
    State(state): State<AppState>,
    device: Device,
    JsonBody(req): JsonBody<Received>,
) -> ApiResult<Json<PushResponse>> {
    if req.changes.len() > state.limits.max_push_batch {
        return Err(ApiError::too_large(format!(
            "{} changes in one push; send at most {} at a time",
            req.changes.len(),
            state.limits.max_push_batch
        )));
    }
    let mut received = Vec::with_capacity(req.changes.len());
    for (i, c) in req.changes.into_iter().enumerate() {
        received.push(c.parse().map_err(|e| ApiError::bad_request(format!("changes[{i}].data: {e}")))?);
    }
    let (changes, texts): (Vec<Change>, Vec<String>) = received.into_iter().unzip();
    validate_batch(&device, &changes)?;
    // Server sequences follow device sequences within a batch.
    let mut received: Vec<(Change, String)> = changes.into_iter().zip(texts).collect();
    received.sort_by_key(|(c, _)| c.device_seq);
    // Each change's data as JSON text: its size is checked and it is stored.
    let (changes, texts): (Vec<Change>, Vec<String>) = received.into_iter().unzip();
    let messages = check_proofs(&state.store, &device, &changes).await?;

    // The tenant's pushes one at a time: server sequences are handed out at insert time but
    // become visible at commit, and a pull between two out-of-order commits would move its
    // cursor past a sequence that appears later, losing it (store::pg::begin).
    let mut tx = state.store.begin(Lock::Pushes(&device.tenant_id)).await?;
    // Under the tenant's lock: the accounts the batch is checked against cannot change.
    let accounts = if state.check_changes {
        let mut accounts = policy::load_accounts(&mut tx, &device.tenant_id).await?;
        let stored = policy::stored_seqs(&mut tx, &device.tenant_id, &device.id, &changes).await?;
        policy::check_batch(&state, &mut accounts, &changes, &texts, &stored, &messages).inspect_err(|e| {
            state.metrics.changes_refused.add(e.refused.len() as u64);
            let refused = e.refused.len();
            tracing::warn!(device = %device.id, tenant = %device.tenant_id, code = %e.code, refused, "push refused");
        })?;
        Some(accounts)
    } else {
        None
    };
    let inserted = insert(&mut tx, &device, &changes, &texts).await.map_err(data_error)?;
    check_duplicates(&mut tx, &device, &changes, &inserted).await?;
    let device_high_water = raise_device_seq(&mut tx, &device, &changes).await?;
    let high_water = to_u64(tx.high_water(&device.tenant_id).await?);
    if let Some(accounts) = accounts {
        policy::save_accounts(&mut tx, &device.tenant_id, &accounts, high_water).await?;
    }
    tx.commit().await?;

    let accepted = inserted.len() as u64;
    let duplicates = changes.len() as u64 - accepted;
    if accepted > 0 {
        // No one waiting is not an error.
        let _ = state.pushed.send(device.tenant_id.clone());
    }
    state.metrics.pushes.inc();
    state.metrics.changes_stored.add(accepted);
    state.metrics.changes_duplicate.add(duplicates);
    tracing::info!(device = %device.id, tenant = %device.tenant_id, accepted, duplicates, high_water, "push");
    Ok(Json(PushResponse { accepted, duplicates, high_water, device_high_water, clock: Some(state.clock()) }))
}

/// Refuses the whole batch when any change is not the pushing device's or is malformed:
/// nothing of a bad batch is stored.
fn validate_batch(device: &Device, changes: &[Change]) -> ApiResult<()> {
    let mut seqs = HashSet::with_capacity(changes.len());
    for (i, c) in changes.iter().enumerate() {
        if c.device_id != device.id {
            return Err(ApiError::forbidden(format!(
                "changes[{i}]: device_id {:?} is not this device's; a device pushes only its own changes",
                c.device_id
            )));
        }
        validate_change(c).map_err(|m| ApiError::bad_request(format!("changes[{i}]: {m}")))?;
        if !seqs.insert(c.device_seq) {
            return Err(ApiError::bad_request(format!(
                "changes[{i}]: device_seq {} appears twice in the batch",
                c.device_seq
            )));
        }
    }
    Ok(())
}

fn validate_change(c: &Change) -> Result<(), String> {
    if c.device_seq == 0 || i64::try_from(c.device_seq).is_err() {
        return Err(format!("device_seq must be from 1 to {}", i64::MAX));
    }
    for (field, value) in [("id", &c.id), ("entity", &c.entity), ("entity_id", &c.entity_id)] {
        check_text(field, value)?;
    }
    if let Some(user) = &c.user_id {
        check_text("user_id", user)?;
    }
    if !valid_hlc(&c.hlc) {
        return Err("hlc must look like <16 digits>-<6 digits>-<device>".into());
    }
    // PostgreSQL's jsonb cannot hold one; refused the same way on every backend.
    if holds_nul(&c.data) {
        return Err("data: a text holds a NUL character, which the server cannot store".into());
    }
    Ok(())
}

/// Whether a NUL character is in any string or key of the value.
fn holds_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(holds_nul),
        serde_json::Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

fn check_text(field: &str, value: &str) -> Result<(), String> {
    if value.is_empty() || value.chars().count() > MAX_ID_CHARS || value.contains('\0') {
        return Err(format!("{field} must be 1 to {MAX_ID_CHARS} characters, without NUL"));
    }
    Ok(())
}

/// The device's hybrid-logical-clock text form (crates/core/src/clock.rs). Merges order by it,
/// so a malformed stamp would sort wrongly on every device of the tenant.
fn valid_hlc(hlc: &str) -> bool {
    let mut parts = hlc.splitn(3, '-');
    let digits = |p: Option<&str>, n: usize| p.is_some_and(|s| s.len() == n && s.bytes().all(|b| b.is_ascii_digit()));
    let millis = parts.next();
    let counter = parts.next();
    let device = parts.next();
    digits(millis, 16)
        && digits(counter, 6)
        && device.is_some_and(|d| !d.is_empty() && d.len() <= MAX_ID_CHARS && !d.contains('\0'))
}

/// Every change must belong to a whole segment signed by the key the device registered at
/// enrolment (`hms_protocol::proof`); otherwise nothing of the batch is stored. Answers each
/// segment's message, in order, for the user signatures' check.
async fn check_proofs(store: &Storage, device: &Device, changes: &[Change]) -> ApiResult<Vec<[u8; 32]>> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let key = store.device_key(&device.id).await?;
    let key = key
        .as_deref()
        .map(parse_public_key)
        .and_then(Result::ok)
        .ok_or_else(|| ApiError::bad_proof("this device has no registered key; enrol it again"))?;
    let (segments, rest) = segments(changes);
    if !rest.is_empty() {
        return Err(ApiError::bad_proof(format!(
            "changes[{}..]: {}",
            changes.len() - rest.len(),
            ProofError::Unfinished
        )));
    }
    let mut at = 0;
    let mut messages = Vec::with_capacity(segments.len());
    for segment in segments {
        messages.push(verify_segment(segment, &key).map_err(|e| ApiError::bad_proof(format!("changes[{at}..]: {e}")))?);
        at += segment.len();
    }
    Ok(messages)
}

/// Inserts the batch (`texts`: each change's data as JSON text); a change already stored
/// (same device and device seq) is skipped. Returns the device seqs inserted now.
async fn insert(
    tx: &mut WriteTx,
    device: &Device,
    changes: &[Change],
    texts: &[String],
) -> Result<HashSet<i64>, sqlx::Error> {
    tx.insert_changes(&device.tenant_id, &device.id, changes, texts).await
}

/// PostgreSQL refuses some values JSON allows (a NUL in a string): that is the device's
/// data, so a bad request, not a server fault.
fn data_error(err: sqlx::Error) -> ApiError {
    if let sqlx::Error::Database(db) = &err {
        if db.code().is_some_and(|c| c.starts_with("22")) {
            return ApiError::bad_request(format!("a change holds a value the server cannot store: {}", db.message()));
        }
    }
    err.into()
}

/// A change skipped as already stored must be the same change (same change id). A different
/// one under a used device seq means the device's change log was reset (restored from an old
/// backup, reinstalled) and is numbering new changes with old numbers: storing nothing and
/// answering "duplicate" would lose them silently, so the batch is refused.
async fn check_duplicates(
    tx: &mut WriteTx,
    device: &Device,
    changes: &[Change],
    inserted: &HashSet<i64>,
) -> ApiResult<()> {
    let skipped: HashMap<i64, &str> = changes
        .iter()
        .filter_map(|c| i64::try_from(c.device_seq).ok().map(|s| (s, c.id.as_str())))
        .filter(|(s, _)| !inserted.contains(s))
        .collect();
    if skipped.is_empty() {
        return Ok(());
    }
    let seqs: Vec<i64> = skipped.keys().copied().collect();
    let stored = tx.stored_change_ids(&device.tenant_id, &device.id, &seqs).await?;
    match stored.iter().find(|(seq, id)| skipped.get(seq).is_some_and(|mine| mine != id)) {
        None => Ok(()),
        Some((seq, _)) => Err(ApiError::new(
            ErrorCode::Conflict,
            format!("device_seq {seq} is already stored for a different change; this device's change log was reset"),
        )),
    }
}

async fn raise_device_seq(tx: &mut WriteTx, device: &Device, changes: &[Change]) -> ApiResult<u64> {
    let max = changes.last().map_or(0, |c| i64::try_from(c.device_seq).unwrap_or(0));
    Ok(to_u64(tx.raise_device_seq(&device.tenant_id, &device.id, max).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A push body reads as the protocol's request: the same changes, each with its data's
    /// text as sent.
    #[test]
    fn a_received_push_is_the_protocols_request_with_each_datas_text() {
        let proof = Proof {
            first_seq: 1,
            device_key: "ab".repeat(32),
            device_sig: "cd".repeat(64),
            user_id: Some("u-1".into()),
            user_sig: Some("ef".repeat(64)),
        };
        let change = |seq: u64, proof: Option<Proof>| Change {
            id: format!("c{seq}"),
            device_id: "dev".into(),
            device_seq: seq,
            entity: "patients".into(),
            entity_id: format!("p{seq}"),
            op: if seq == 1 { Op::Insert } else { Op::Update },
            data: serde_json::json!({"given_name": "Amina", "phones": ["+255 754 000 001"], "notes": "line\nbreak \"é\"", "weight": 61.5, "merged_into": null}),
            hlc: "0001800000000000-000000-dev".into(),
            user_id: (seq == 2).then(|| "u-1".to_string()),
            proof,
        };
        let request = hms_protocol::PushRequest { changes: vec![change(1, None), change(2, Some(proof))] };
        let body = serde_json::to_string(&request).unwrap();
        let received: Received = serde_json::from_str(&body).unwrap();
        let (changes, texts): (Vec<Change>, Vec<String>) =
            received.changes.into_iter().map(|c| c.parse().unwrap()).unzip();
        assert_eq!(changes, request.changes);
        for (c, text) in changes.iter().zip(&texts) {
            assert_eq!(text, &serde_json::to_string(&c.data).unwrap());
        }
        // Without a proof or a user, as an old device sends them.
        let bare = r#"{"changes":[{"id":"c1","device_id":"dev","device_seq":1,"entity":"patients","entity_id":"p1","op":"insert","data":{"a":1},"hlc":"0001800000000000-000000-dev"}]}"#;
        let received: Received = serde_json::from_str(bare).unwrap();
        let (change, text) = received.changes.into_iter().next().unwrap().parse().unwrap();
        assert_eq!((change.user_id, change.proof, text.as_str()), (None, None, r#"{"a":1}"#));
    }

    #[test]
    fn a_nul_anywhere_in_the_data_is_found() {
        assert!(!holds_nul(&serde_json::json!({"a": ["b", {"c": "d"}], "n": 1})));
        assert!(holds_nul(&serde_json::json!({"a": ["b", {"c": "d\u{0}"}]})));
        assert!(holds_nul(&serde_json::json!({"a\u{0}": 1})));
    }

    #[test]
    fn hlc_format_matches_the_device_clock() {
        assert!(valid_hlc("0001732270000000-000000-0190c2a0-0000-7000-8000-000000000001"));
        assert!(!valid_hlc("1732270000000-0-dev"));
        assert!(!valid_hlc("0001732270000000-000000-"));
        assert!(!valid_hlc("0001732270000000-00000a-dev"));
        assert!(!valid_hlc(""));
    }
}
