//! The server side of the change policy (`hms-policy`): every pushed change is checked before
//! anything of its batch is stored — a synced table, valid values, a stamp not far ahead of
//! this clock, an author who holds the permission the same write needs on a device, account
//! rows changed by an administrator only, never a tenant left without an active administrator.
//!
//! The tenant's accounts (roles, active) are folded from its accepted `users` changes and kept
//! in `tenant_accounts`; push calls [`check_batch`] under the tenant's lock, so they cannot
//! change underneath it. The same code on both storage backends (`store`).

use crate::error::{ApiError, ApiResult, ErrorCode, RefusedChange};
use crate::store::WriteTx;
use crate::AppState;
use hms_policy::{Accounts, RefusalCode};
use hms_protocol::proof::segments;
use hms_protocol::{Change, Op};
use std::collections::HashSet;

/// The tenant's accounts, caught up with every `users` change stored so far.
pub async fn load_accounts(tx: &mut WriteTx, tenant_id: &str) -> ApiResult<Accounts> {
    let (mut accounts, folded) = tx.tenant_accounts(tenant_id).await?.unwrap_or_default();
    let later = tx.user_changes_after(tenant_id, folded).await?;
    for (entity_id, op, data, hlc) in later {
        accounts.fold(&Change {
            id: String::new(),
            device_id: String::new(),
            device_seq: 0,
            entity: "users".into(),
            entity_id,
            op: Op::parse(&op).unwrap_or(Op::Update),
            data,
            hlc,
            user_id: None,
            proof: None,
        });
    }
    Ok(accounts)
}

/// Keeps the tenant's accounts as folded up to `seq`.
pub async fn save_accounts(tx: &mut WriteTx, tenant_id: &str, accounts: &Accounts, seq: u64) -> ApiResult<()> {
    Ok(tx.save_accounts(tenant_id, accounts, i64::try_from(seq).unwrap_or(i64::MAX)).await?)
}

/// Checks a batch in order, segment by segment, folding each allowed `users` change into
/// `accounts` before the next is checked (a new account's first changes may follow it in the
/// same batch). Each segment's author is the user whose key signed it
/// ([`hms_policy::prove_author`], with the accounts' keys as they stand before the segment),
/// never merely the `user_id` sent. Changes the server already holds (`stored`, a resent
/// batch) were checked when first pushed. Refuses the batch when any change fails:
/// `clock_ahead` when a stamp is ahead of this clock, else `change_too_large`,
/// `bad_user_proof` or `forbidden_change`, listing every refused change. The batch's device
/// proofs are checked before (every change is in a whole segment); `messages` are their
/// segments' messages in order, so the user signatures are checked without digesting again;
/// `texts` each change's data as JSON text (its size is what `change_too_large` counts).
pub fn check_batch(
    state: &AppState,
    accounts: &mut Accounts,
    changes: &[Change],
    texts: &[String],
    stored: &HashSet<i64>,
    messages: &[[u8; 32]],
) -> ApiResult<()> {
    let now = chrono::Utc::now().timestamp_millis();
    let ahead = i64::try_from(state.limits.max_clock_ahead_ms).unwrap_or(i64::MAX);
    let mut too_large = Vec::new();
    let mut unproven = Vec::new();
    let mut forbidden = Vec::new();
    if texts.len() != changes.len() {
        return Err(ApiError::internal("check_batch: one data text per change"));
    }
    let (segments, rest) = segments(changes);
    let mut at = 0;
    for (i, segment) in segments.into_iter().chain((!rest.is_empty()).then_some(rest)).enumerate() {
        // The segments are consecutive slices of `changes`: `texts[at..]` are theirs.
        let sizes = texts[at..].iter().map(String::len);
        at += segment.len();
        let fresh: Vec<(&Change, usize)> = segment
            .iter()
            .zip(sizes)
            .filter(|(c, _)| !i64::try_from(c.device_seq).is_ok_and(|s| stored.contains(&s)))
            .collect();
        if fresh.is_empty() {
            continue;
        }
        let author = match hms_policy::prove_author_of(segment, messages.get(i), accounts) {
            Ok(author) => author,
            Err(r) => {
                unproven.extend(fresh.iter().map(|(c, _)| refused(c, r.code.as_str(), r.message.clone())));
                continue;
            }
        };
        for (c, size) in fresh {
            if size > state.limits.max_change_bytes {
                too_large.push(refused(
                    c,
                    "change_too_large",
                    format!("{size} bytes of data; at most {}", state.limits.max_change_bytes),
                ));
                continue;
            }
            if let Err(r) = hms_policy::check_stamp(&c.hlc, now, ahead) {
                if r.code == RefusalCode::FutureStamp {
                    return Err(ApiError::new(
                        ErrorCode::ClockAhead,
                        format!("change {}: {}; check this device's date and time", c.id, r.message),
                    ));
                }
            }
            match hms_policy::check(c, author.as_deref(), accounts) {
                Ok(()) => accounts.fold(c),
                Err(r) => forbidden.push(refused(c, r.code.as_str(), r.message)),
            }
        }
    }
    if !too_large.is_empty() {
        return Err(ApiError::refused_changes(ErrorCode::ChangeTooLarge, too_large));
    }
    if !unproven.is_empty() {
        return Err(ApiError::refused_changes(ErrorCode::BadUserProof, unproven));
    }
    if !forbidden.is_empty() {
        return Err(ApiError::refused_changes(ErrorCode::ForbiddenChange, forbidden));
    }
    Ok(())
}

fn refused(c: &Change, reason: &str, message: String) -> RefusedChange {
    RefusedChange { id: c.id.clone(), device_seq: c.device_seq, reason: reason.to_string(), message }
}

/// The device seqs of the batch the server already holds from this device.
pub async fn stored_seqs(
    tx: &mut WriteTx,
    tenant_id: &str,
    device_id: &str,
    changes: &[Change],
) -> ApiResult<HashSet<i64>> {
    let seqs: Vec<i64> = changes.iter().filter_map(|c| i64::try_from(c.device_seq).ok()).collect();
    Ok(tx.stored_seqs(tenant_id, device_id, &seqs).await?)
}
