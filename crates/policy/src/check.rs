//! The one check every synced change passes, on the server when it is pushed and on every
//! device before it is applied: a known entity, valid values, an author who holds the
//! permission the same local write needs, account rows changed only by an administrator, and
//! never a clinic left without an active administrator.
//!
//! The author is an input: the proven signer of the change's segment ([`prove_author`]: the
//! user whose key signed it, or none for a system segment), never merely the `user_id` sent.

use crate::accounts::Accounts;
use crate::entities::{
    self, is_account_field, settings_permission, AUDIT, AUTHOR_FIELDS, INSERT_ONLY, INSERT_REQUIRES, PATIENT_TABLES,
};
use crate::forms::id_like;
use crate::rbac::{allows, Permission, Role};
use crate::values;
use hms_protocol::{Change, Op};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// Why a change was refused. Stable codes: the server lists them in its `forbidden_change`
/// answer and devices keep them with the refused change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalCode {
    /// Not a synced table.
    UnknownEntity,
    /// A value fails the table's rules (see [`crate::values`]).
    InvalidValue,
    /// The clock stamp is malformed or overflows its form.
    BadStamp,
    /// The clock stamp is too far ahead of the receiver's clock.
    FutureStamp,
    /// No author: only a device's founding account and audit entries may come without one.
    NoAuthor,
    /// The author is not an account of the clinic.
    UnknownAuthor,
    /// The author's account is deactivated or deleted.
    InactiveAuthor,
    /// The author's roles do not hold the permission this write needs.
    NotPermitted,
    /// Account rows (roles, active, password, keys) change only with an administrator's change.
    AdminOnly,
    /// The change would leave the clinic without an active administrator.
    LastAdmin,
    /// The segment is not signed by the key of the user it names (see [`prove_author`]), or a
    /// change names another user than its segment's signer.
    BadUserProof,
    /// A field that says who did it (`restricted_by`, ...) names another user than the
    /// change's proven author (see [`crate::entities::AUTHOR_FIELDS`]).
    NotTheAuthor,
}

impl RefusalCode {
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalCode::UnknownEntity => "unknown_entity",
            RefusalCode::InvalidValue => "invalid_value",
            RefusalCode::BadStamp => "bad_stamp",
            RefusalCode::FutureStamp => "future_stamp",
            RefusalCode::NoAuthor => "no_author",
            RefusalCode::UnknownAuthor => "unknown_author",
            RefusalCode::InactiveAuthor => "inactive_author",
            RefusalCode::NotPermitted => "not_permitted",
            RefusalCode::AdminOnly => "admin_only",
            RefusalCode::LastAdmin => "last_admin",
            RefusalCode::BadUserProof => "bad_user_proof",
            RefusalCode::NotTheAuthor => "not_the_author",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: RefusalCode,
    pub message: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

fn refuse(code: RefusalCode, message: impl Into<String>) -> Refusal {
    Refusal { code, message: message.into() }
}

/// How far ahead of the receiver's clock a stamp may be (5 minutes).
pub const MAX_CLOCK_AHEAD_MS: i64 = 5 * 60 * 1000;

/// Refuses a stamp more than `max_ahead_ms` ahead of `now_ms` (the receiver's wall clock).
pub fn check_stamp(hlc: &str, now_ms: i64, max_ahead_ms: i64) -> Result<(), Refusal> {
    let Some(millis) = crate::stamp::millis(hlc) else {
        return Err(refuse(RefusalCode::BadStamp, "hlc must look like <16 digits>-<6 digits>-<device>"));
    };
    if millis > now_ms.saturating_add(max_ahead_ms) {
        return Err(refuse(
            RefusalCode::FutureStamp,
            format!(
                "the stamp is {} s ahead of this clock; at most {} s",
                (millis - now_ms) / 1000,
                max_ahead_ms / 1000
            ),
        ));
    }
    Ok(())
}

/// Checks one change made by `author` against the clinic's `accounts` as they stand before
/// it. The caller folds an allowed change into `accounts` before checking the next.
pub fn check(change: &Change, author: Option<&str>, accounts: &Accounts) -> Result<(), Refusal> {
    if !crate::stamp::valid(&change.hlc) {
        return Err(refuse(RefusalCode::BadStamp, "hlc must look like <16 digits>-<6 digits>-<device>"));
    }
    if change.entity == AUDIT {
        return check_audit(change);
    }
    let Some(entity) = entities::entity(&change.entity) else {
        return Err(refuse(RefusalCode::UnknownEntity, format!("{:?} is not a synced table", change.entity)));
    };
    values::check_entity_id(entity, &change.entity_id).map_err(|m| refuse(RefusalCode::InvalidValue, m))?;
    values::check_data(entity, &change.entity_id, &change.data).map_err(|m| refuse(RefusalCode::InvalidValue, m))?;
    check_insert_fields(change)?;
    if INSERT_ONLY.contains(&change.entity.as_str()) && change.op != Op::Insert {
        return Err(refuse(RefusalCode::InvalidValue, format!("{} rows are only ever inserted", change.entity)));
    }
    entities::check_movement_sign(change).map_err(|m| refuse(RefusalCode::InvalidValue, m))?;
    crate::ward_round::check_row(change).map_err(|m| refuse(RefusalCode::InvalidValue, m))?;
    crate::beds::check_row(change).map_err(|m| refuse(RefusalCode::InvalidValue, m))?;
    entities::check_intake_output(change).map_err(|m| refuse(RefusalCode::InvalidValue, m))?;
    if is_founding_account(change, author) {
        return Ok(());
    }
    let roles = author_roles(author, accounts)?;
    if sets_own_first_key(change, author, accounts) || changes_own_password(change, author, accounts) {
        return Ok(());
    }
    check_permission(change, &roles)?;
    check_author_fields(change, author)?;
    if change.entity == "users" {
        check_account_change(change, &roles, accounts)?;
    }
    Ok(())
}

/// The proven author of a segment (its changes, the last one carrying the proof, whose device
/// signature the caller has checked): `None` for a system segment (device-signed only, so its
/// changes are judged as the system's: audit entries and nothing else pass), or the user the
/// proof names when the user's signature verifies with the account's key as `accounts` hold
/// it. An account without a key yet (made before keys) may get one from its own segment: then
/// the key is the one that segment sets for it (the founding administrator's row, or the
/// owner's first key, which [`check`] allows once). Every change of a user's segment must
/// name that user.
pub fn prove_author<C: std::borrow::Borrow<Change>>(
    segment: &[C],
    accounts: &Accounts,
) -> Result<Option<String>, Refusal> {
    prove_author_of(segment, None, accounts)
}

/// [`prove_author`] with the segment's message when the caller has it (the one
/// `hms_protocol::proof::verify_segment` answered): the changes are not digested again.
pub fn prove_author_of<C: std::borrow::Borrow<Change>>(
    segment: &[C],
    message: Option<&[u8; 32]>,
    accounts: &Accounts,
) -> Result<Option<String>, Refusal> {
    let bad = |m: String| refuse(RefusalCode::BadUserProof, m);
    let Some(proof) = segment.last().and_then(|c| c.borrow().proof.as_ref()) else {
        return Err(bad("the segment has no proof".into()));
    };
    let Some(signer) = proof.user_id.as_deref() else {
        return Ok(None);
    };
    if let Some(c) = segment.iter().map(|c| c.borrow()).find(|c| c.user_id.as_deref() != Some(signer)) {
        return Err(bad(format!("change {} names another user than its segment's signer {signer:?}", c.id)));
    }
    let account = accounts.get(signer);
    let key = match account.and_then(|a| a.key.as_deref()) {
        Some(key) => key.to_string(),
        None => segment
            .iter()
            .map(|c| c.borrow())
            .filter(|c| c.entity == "users" && c.entity_id == signer && c.op != Op::Delete)
            .find_map(|c| c.data.get("user_key").and_then(|k| k.as_str()).map(str::to_string))
            .ok_or_else(|| bad(format!("account {signer:?} has no signing key")))?,
    };
    let verify = |key: &str| {
        let key = hms_protocol::proof::parse_public_key(key).map_err(|e| bad(format!("account {signer:?}: {e}")))?;
        match message {
            Some(message) => hms_protocol::proof::verify_user_sig_of(message, proof, &key),
            None => hms_protocol::proof::verify_user_sig(segment, &key),
        }
        .map_err(|e| bad(e.to_string()))
    };
    let refusal = match verify(&key) {
        Ok(()) => return Ok(Some(signer.to_string())),
        Err(refusal) => refusal,
    };
    // A key replaced since (a password change or reset made elsewhere): it proves changes
    // stamped before it was replaced, which last-writer-wins ranks below everything after.
    let newest = segment.iter().map(|c| c.borrow().hlc.as_str()).max().unwrap_or_default();
    for (past, replaced_at) in account.map(|a| a.past_keys()).unwrap_or_default() {
        if newest < replaced_at && verify(past).is_ok() {
            return Ok(Some(signer.to_string()));
        }
    }
    Err(refusal)
}

/// Audit entries: insert-only, any author (a failed sign-in has none), kept apart from the
/// tables; their shape is all there is to check.
fn check_audit(change: &Change) -> Result<(), Refusal> {
    if change.op != Op::Insert || !id_like(&change.entity_id) || !change.data.is_object() {
        return Err(refuse(RefusalCode::InvalidValue, "an audit entry is an insert of a JSON object under its id"));
    }
    if values::json_len(&change.data) > values::MAX_TEXT_CHARS {
        return Err(refuse(RefusalCode::InvalidValue, "an audit entry is at most 64 KiB"));
    }
    Ok(())
}

/// A device's first administrator, made by set-up before the device could sync: the first
/// change of its device's log, an insert of an administrator account made by that account
/// itself. The device was enrolled by the server's administrator, so it may bring the
/// account it was set up with; no later change can (its device sequence is taken).
pub fn is_founding_account(change: &Change, author: Option<&str>) -> bool {
    change.entity == "users"
        && change.op == Op::Insert
        && change.device_seq == 1
        && author == Some(change.entity_id.as_str())
        && change.data.get("roles").and_then(values::roles_of).is_some_and(|r| r == [Role::Admin])
}

/// An account from before signing keys getting its first one, by its owner's own change:
/// only the key and its salt (and the row's bookkeeping), only while the account has none.
/// Whoever first signs in as that account with its password sets it (the owner, normally).
pub fn sets_own_first_key(change: &Change, author: Option<&str>, accounts: &Accounts) -> bool {
    change.entity == "users"
        && change.op == Op::Update
        && author == Some(change.entity_id.as_str())
        && accounts.get(&change.entity_id).is_some_and(|a| a.key.is_none())
        && change.data.as_object().is_some_and(|m| {
            m.get("user_key").is_some_and(Value::is_string)
                && m.keys().all(|k| matches!(k.as_str(), "id" | "user_key" | "key_salt" | "updated_at" | "updated_by"))
        })
}

/// The owner changing their own password: the password hash, the key it gives and that key's
/// salt (and the row's bookkeeping), nothing else of the row, by the account itself, once it
/// has a key. The segment's proof is then checked with that current key ([`prove_author`]):
/// only someone who knew the password sets the next one.
pub fn changes_own_password(change: &Change, author: Option<&str>, accounts: &Accounts) -> bool {
    change.entity == "users"
        && change.op == Op::Update
        && author == Some(change.entity_id.as_str())
        && accounts.get(&change.entity_id).is_some_and(|a| a.key.is_some())
        && change.data.as_object().is_some_and(|m| {
            m.get("password_hash").is_some_and(Value::is_string)
                && m.get("user_key").is_some_and(Value::is_string)
                && m.keys().all(|k| is_own_password_field(k))
                && m.get("must_change_password").is_none_or(|v| values::flag_of(v) == Some(false))
        })
}

/// The columns the owner's own password change writes.
fn is_own_password_field(field: &str) -> bool {
    matches!(
        field,
        "id" | "password_hash" | "user_key" | "key_salt" | "must_change_password" | "updated_at" | "updated_by"
    )
}

fn author_roles(author: Option<&str>, accounts: &Accounts) -> Result<Vec<Role>, Refusal> {
    let Some(author) = author else {
        return Err(refuse(RefusalCode::NoAuthor, "a change needs the account that made it"));
    };
    let Some(account) = accounts.get(author) else {
        return Err(refuse(RefusalCode::UnknownAuthor, format!("{author:?} is not an account of this clinic")));
    };
    if !account.usable() {
        return Err(refuse(RefusalCode::InactiveAuthor, format!("account {author:?} is deactivated")));
    }
    Ok(account.roles.clone())
}

/// An insert carries every field its table's local write path always sets.
fn check_insert_fields(change: &Change) -> Result<(), Refusal> {
    if change.op != Op::Insert {
        return Ok(());
    }
    let required = INSERT_REQUIRES.iter().find(|(e, _)| *e == change.entity).map_or(&[][..], |(_, f)| f);
    match required.iter().find(|f| change.data.get(**f).is_none_or(Value::is_null)) {
        Some(missing) => {
            Err(refuse(RefusalCode::InvalidValue, format!("{missing}: an insert of {} needs it", change.entity)))
        }
        None => Ok(()),
    }
}

/// The fields that say who did it name the change's author (see [`AUTHOR_FIELDS`]).
fn check_author_fields(change: &Change, author: Option<&str>) -> Result<(), Refusal> {
    let fields = AUTHOR_FIELDS.iter().find(|(e, _)| *e == change.entity).map_or(&[][..], |(_, f)| f);
    for field in fields {
        let Some(value) = change.data.get(*field).filter(|v| !v.is_null()) else { continue };
        if value.as_str() != author {
            return Err(refuse(
                RefusalCode::NotTheAuthor,
                format!("{field} must be the account that made the change ({})", author.unwrap_or("none")),
            ));
        }
    }
    Ok(())
}

/// The permission the change's local write path needs.
fn check_permission(change: &Change, roles: &[Role]) -> Result<(), Refusal> {
    if change.entity == "settings" {
        let needed = settings_permission(&change.entity_id);
        return if allows(roles, needed) { Ok(()) } else { Err(not_permitted(change, &[needed])) };
    }
    if is_merge_move(change) && allows(roles, Permission::PatientsMerge) {
        return Ok(());
    }
    if entities::is_count_correction(change) && allows(roles, Permission::StockCount) {
        return Ok(());
    }
    if let Some(needed) = entities::movement_permission(change)
        .or_else(|| entities::purchase_permission(change))
        .or_else(|| crate::ward_round::note_permission(change))
        .or_else(|| crate::beds::reservation_permission(change))
    {
        return if allows(roles, needed) { Ok(()) } else { Err(not_permitted(change, &[needed])) };
    }
    let write = entities::entity(&change.entity).map_or(&[][..], |e| e.write);
    if write.iter().any(|p| allows(roles, *p)) {
        Ok(())
    } else {
        Err(not_permitted(change, write))
    }
}

fn not_permitted(change: &Change, needed: &[Permission]) -> Refusal {
    let codes: Vec<&str> = needed.iter().map(|p| p.code()).collect();
    refuse(RefusalCode::NotPermitted, format!("writing {} needs {}", change.entity, codes.join(" or ")))
}

/// A merge moving a patient's row to the survivor: an update of `patient_id` only.
fn is_merge_move(change: &Change) -> bool {
    PATIENT_TABLES.contains(&change.entity.as_str())
        && change.op == Op::Update
        && change.data.as_object().is_some_and(|m| {
            m.contains_key("patient_id")
                && m.keys().all(|k| matches!(k.as_str(), "id" | "patient_id" | "updated_at" | "updated_by"))
        })
}

fn check_account_change(change: &Change, roles: &[Role], accounts: &Accounts) -> Result<(), Refusal> {
    let touches_account =
        change.op != Op::Update || change.data.as_object().is_some_and(|m| m.keys().any(|k| is_account_field(k)));
    if touches_account && !roles.contains(&Role::Admin) {
        return Err(refuse(
            RefusalCode::AdminOnly,
            "roles, active, password and keys of an account change only with an administrator's change",
        ));
    }
    let mut after = accounts.clone();
    after.fold(change);
    if accounts.active_admins() > 0 && after.active_admins() == 0 {
        return Err(refuse(RefusalCode::LastAdmin, "the clinic would be left without an active administrator"));
    }
    Ok(())
}
