//! A device's own defence on pull: every other device's change passes the same check the
//! server makes on push (`hms_policy::check`: a synced table, values that pass the table's
//! rules, an author who holds the permission the same local write needs, account rows
//! changed only by an administrator, never the last active administrator gone) before it is
//! applied. A change that fails is refused: kept as a `refused` conflict for the
//! administrator, counted in the page's audit entry, never applied, and it never moves this
//! device's clock. An honest server refuses such changes on push already; this is for an old
//! server, a server that does not check, or a compromised one.
//!
//! The author is the proven signer of the change's segment (`hms_policy::prove_author`): the
//! user whose key signed it (the account's `user_key` as this device holds it), or the system
//! for a device-signed segment, which may bring audit entries only.

use super::SyncResult;
use crate::error::Error;
use crate::store::WriteTx;
use hms_policy::{Accounts, Refusal, RefusalCode};
use hms_protocol::Change;
use serde_json::{Map, Value};

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: String,
    roles: String,
    active: i64,
    deleted_at: Option<String>,
    updated_at: String,
    user_key: Option<String>,
    stamps: Option<String>,
}

/// The clinic's accounts as this device holds them (its `users` table, deleted ones too),
/// each field with the stamp that last set it (`sync_stamps`, else the row's).
pub(super) async fn accounts(w: &mut WriteTx<'_>) -> SyncResult<Accounts> {
    let rows: Vec<AccountRow> = sqlx::query_as(
        "SELECT u.id, u.roles, u.active, u.deleted_at, u.updated_at, u.user_key, s.stamps
         FROM users u LEFT JOIN sync_stamps s ON s.entity = 'users' AND s.entity_id = u.id",
    )
    .fetch_all(w.conn())
    .await
    .map_err(Error::from)?;
    let mut accounts = Accounts::default();
    for AccountRow { id, roles, active, deleted_at, updated_at, user_key, stamps } in rows {
        let roles = hms_policy::values::roles_of(&Value::String(roles)).unwrap_or_default();
        accounts.load(&id, roles, active == 1, deleted_at.is_some(), &updated_at);
        if let Some(account) = accounts.users.get_mut(&id) {
            account.key = user_key;
        }
        let stamps: Map<String, Value> = stamps.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
        let whole = stamps.get("*").and_then(Value::as_str);
        if let Some(account) = accounts.users.get_mut(&id) {
            for (field, stamp) in account.stamps.iter_mut() {
                let own = stamps.get(field).and_then(Value::as_str);
                if let Some(set) = own.into_iter().chain(whole).max() {
                    *stamp = set.to_string();
                }
            }
        }
    }
    let history: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT user_id, stamp, user_key FROM user_key_history")
            .fetch_all(w.conn())
            .await
            .map_err(Error::from)?;
    for (user_id, stamp, key) in history {
        if let Some(account) = accounts.users.get_mut(&user_id) {
            account.key_history.insert(stamp, key);
        }
    }
    Ok(accounts)
}

/// Keeps the key a `users` change sets (taken by this device, whether or not it wins the
/// field) in `user_key_history`: a signature by it still proves changes stamped before the
/// next key replaced it (`hms_policy::Account::past_keys`).
pub(super) async fn note_key(w: &mut WriteTx<'_>, change: &Change) -> SyncResult<()> {
    if change.entity != "users" {
        return Ok(());
    }
    let Some(key) = change.data.get("user_key") else {
        return Ok(());
    };
    sqlx::query("INSERT OR IGNORE INTO user_key_history (user_id, stamp, user_key) VALUES (?, ?, ?)")
        .bind(&change.entity_id)
        .bind(&change.hlc)
        .bind(key.as_str())
        .execute(w.conn())
        .await
        .map_err(Error::from)?;
    Ok(())
}

/// How far ahead of this device's clock a pulled stamp may be (5 minutes, as the server's
/// default for pushed stamps): a change stamped further ahead is refused (`future_stamp`), so
/// that no pulled stamp moves this device's clock more than that. "This device's clock" is
/// the later of its wall clock and its own hybrid clock, so that a device whose wall clock
/// has fallen behind what it already wrote keeps taking its colleagues' work.
pub const MAX_PULLED_AHEAD_MS: i64 = hms_policy::MAX_CLOCK_AHEAD_MS;

/// Checks one pulled change by its proven `author` against the accounts as they stand before
/// it (the caller folds an allowed change in before the next). `clock_ms`: the later of this
/// device's wall clock and its hybrid clock.
/// A settings change must also hold a value its local setter would keep
/// (`settings::synced`).
pub(super) fn check(change: &Change, author: Option<&str>, accounts: &Accounts, clock_ms: i64) -> Result<(), Refusal> {
    hms_policy::check_stamp(&change.hlc, clock_ms, MAX_PULLED_AHEAD_MS)?;
    match hms_policy::check(change, author, accounts) {
        Err(r) if changed_after(&r, change, accounts) => {}
        other => other?,
    }
    if change.entity == "settings" {
        crate::settings::synced::check(&change.entity_id, &change.data)
            .map_err(|message| Refusal { code: RefusalCode::InvalidValue, message })?;
    }
    Ok(())
}

/// Whether the author's roles or active flag, which the refusal rests on, were set by a
/// change made after this one: the author may well have held what the change needed when
/// they made it (the other device had not seen the change of account yet), and the server,
/// which saw them in its own order, let it through. Such a change is applied.
fn changed_after(refusal: &Refusal, change: &Change, accounts: &Accounts) -> bool {
    if !matches!(refusal.code, RefusalCode::InactiveAuthor | RefusalCode::NotPermitted | RefusalCode::AdminOnly) {
        return false;
    }
    let Some(account) = change.user_id.as_deref().and_then(|u| accounts.get(u)) else {
        return false;
    };
    account
        .stamps
        .iter()
        .filter(|(field, _)| matches!(field.as_str(), "roles" | "active" | "deleted_at"))
        .any(|(_, stamp)| stamp.as_str() > change.hlc.as_str())
}

/// How a refusal is kept with the refused change (`sync_conflicts.local`).
pub(super) fn reason(r: &Refusal) -> String {
    format!("{}: {}", r.code.as_str(), r.message)
}
