//! Staff accounts: create, edit, deactivate/reactivate, reset passwords, unlock.

pub mod repo;
pub mod validate;

// The accounts sync (`store::tables`); usernames are unique in the tenant.
inventory::submit! {
    crate::store::tables::Table { name: "users", id_column: "id", synced: true, local_columns: &[], rules: &UserRules }
}

struct UserRules;

impl crate::store::tables::TableRules for UserRules {
    /// "Asha Kimaro (asha)".
    fn label<'a>(&'a self, conn: &'a mut sqlx::SqliteConnection, id: &'a str) -> crate::store::tables::Label<'a> {
        Box::pin(async move {
            Ok(sqlx::query_scalar("SELECT full_name || ' (' || username || ')' FROM users WHERE id = ?")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?)
        })
    }
}

use crate::auth::{guard, keys, password};
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::{Permission, Role};
use crate::session::{Authorized, SessionInfo, SessionSlot};
use crate::store::{ChangeOp, Store, WriteTx};
use repo::UserRow;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct NewUser {
    pub username: String,
    pub full_name: String,
    pub password: String,
    /// Role codes; unknown codes are refused with a `validation` error on `roles`.
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct UserUpdate {
    pub user_id: String,
    pub full_name: String,
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct UserSummary {
    pub id: String,
    pub username: String,
    pub full_name: String,
    pub roles: Vec<Role>,
    pub active: bool,
    /// Set while the account is locked after failed sign-ins on this device.
    pub locked_until: Option<String>,
    pub failed_attempts: u32,
    /// The password was set by an administrator and not yet changed by its owner.
    pub must_change_password: bool,
    pub created_at: String,
    pub updated_at: String,
}

async fn summary(store: &Store, u: UserRow) -> Result<UserSummary> {
    let g = guard::load(store.pool(), &u.id).await?;
    let now = store.now();
    Ok(UserSummary {
        locked_until: g.locked_until.filter(|t| *t > now).map(|t| t.to_rfc3339()),
        failed_attempts: g.failed_attempts,
        id: u.id,
        username: u.username,
        full_name: u.full_name,
        roles: u.roles,
        active: u.active,
        must_change_password: u.must_change_password,
        created_at: u.created_at,
        updated_at: u.updated_at,
    })
}

pub async fn list(store: &Store, auth: &Authorized) -> Result<Vec<UserSummary>> {
    auth.require(Permission::UsersView)?;
    let mut out = Vec::new();
    for u in repo::all(store.pool()).await? {
        out.push(summary(store, u).await?);
    }
    Ok(out)
}

/// Validated fields of a new account, with the password already hashed.
pub(crate) struct Prepared {
    pub username: String,
    pub full_name: String,
    pub password_hash: String,
    pub roles: Vec<Role>,
    /// The account's signing key, derived from the password being set (the typist knows it:
    /// the new user at set-up, the administrator making the account), and its salt.
    pub key: keys::UserKey,
    pub key_salt: String,
    /// Set by an administrator (a new account): the owner changes it at the first sign-in.
    /// Not for the first administrator nor the demo hospital's accounts (set-up).
    pub must_change_password: bool,
}

pub(crate) async fn prepare(input: &NewUser) -> Result<Prepared> {
    let username = validate::username(&input.username)?;
    let full_name = validate::full_name(&input.full_name)?;
    let roles = validate::roles(&input.roles)?;
    password::check_strength("password", &input.password, &username)?;
    let password_hash = password::hash_async(input.password.clone()).await?;
    let (key_salt, key) = keys::new_key(&input.password).await?;
    Ok(Prepared { username, full_name, password_hash, roles, key, key_salt, must_change_password: false })
}

/// Inserts a prepared account inside a write, refusing a username already in use.
pub(crate) async fn insert(w: &mut WriteTx<'_>, p: Prepared, id: String) -> Result<UserRow> {
    if repo::by_username(w.conn(), &p.username).await?.is_some() {
        return Err(Error::validation("username", ValidationReason::Taken, "this username is already in use"));
    }
    let row = UserRow {
        id,
        username: p.username,
        full_name: p.full_name,
        password_hash: p.password_hash,
        roles: p.roles,
        active: true,
        created_at: w.now_rfc3339(),
        updated_at: String::new(),
        user_key: Some(p.key.public_hex()),
        key_salt: Some(p.key_salt),
        must_change_password: p.must_change_password,
    };
    repo::save(w, &row, ChangeOp::Insert).await?;
    w.audit(
        "user.create",
        "user",
        Some(&row.id),
        json!({ "username": row.username, "full_name": row.full_name, "roles": row.roles }),
    )
    .await?;
    Ok(row)
}

pub async fn create(store: &Store, auth: &Authorized, input: NewUser) -> Result<UserSummary> {
    auth.require(Permission::UsersManage)?;
    let mut prepared = prepare(&input).await?;
    // The administrator chose it: temporary.
    prepared.must_change_password = true;
    let mut w = store.begin_write(auth.actor()).await?;
    let row = insert(&mut w, prepared, crate::ids::new_id()).await?;
    w.commit().await?;
    let row = reload(store, &row.id).await?;
    summary(store, row).await
}

async fn reload(store: &Store, id: &str) -> Result<UserRow> {
    repo::by_id(store.pool(), id).await?.ok_or_else(|| Error::NotFound { entity: "user".into() })
}

async fn load_for_write(w: &mut WriteTx<'_>, id: &str) -> Result<UserRow> {
    repo::by_id(w.conn(), id).await?.ok_or_else(|| Error::NotFound { entity: "user".into() })
}

/// Refuses a change that would leave the clinic without an active administrator.
async fn keep_an_admin(w: &mut WriteTx<'_>, user: &UserRow, stays_admin: bool) -> Result<()> {
    let is_admin = user.active && user.roles.contains(&Role::Admin);
    if is_admin && !stays_admin && repo::other_active_admins(w, &user.id).await? == 0 {
        return Err(Error::LastAdmin);
    }
    Ok(())
}

pub async fn update(store: &Store, auth: &Authorized, input: UserUpdate) -> Result<UserSummary> {
    auth.require(Permission::UsersManage)?;
    let full_name = validate::full_name(&input.full_name)?;
    let roles = validate::roles(&input.roles)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let mut user = load_for_write(&mut w, &input.user_id).await?;
    keep_an_admin(&mut w, &user, roles.contains(&Role::Admin)).await?;
    let before = json!({ "full_name": user.full_name, "roles": user.roles });
    user.full_name = full_name;
    user.roles = roles;
    repo::save(&mut w, &user, ChangeOp::Update).await?;
    let after = json!({ "full_name": user.full_name, "roles": user.roles });
    w.audit("user.update", "user", Some(&user.id), json!({ "before": before, "after": after })).await?;
    w.commit().await?;
    summary(store, reload(store, &input.user_id).await?).await
}

pub async fn set_active(store: &Store, auth: &Authorized, user_id: &str, active: bool) -> Result<UserSummary> {
    auth.require(Permission::UsersManage)?;
    if !active && user_id == auth.user_id {
        return Err(Error::validation("user_id", ValidationReason::Invalid, "you cannot deactivate your own account"));
    }
    let mut w = store.begin_write(auth.actor()).await?;
    let mut user = load_for_write(&mut w, user_id).await?;
    if !active {
        keep_an_admin(&mut w, &user, false).await?;
    }
    if user.active != active {
        user.active = active;
        repo::save(&mut w, &user, ChangeOp::Update).await?;
    }
    let action = if active { "user.reactivate" } else { "user.deactivate" };
    w.audit(action, "user", Some(user_id), json!({ "username": user.username })).await?;
    w.commit().await?;
    summary(store, reload(store, user_id).await?).await
}

pub async fn reset_password(store: &Store, auth: &Authorized, user_id: &str, new_password: &str) -> Result<()> {
    auth.require(Permission::UsersManage)?;
    let user = reload(store, user_id).await?;
    password::check_strength("new_password", new_password, &user.username)?;
    let hash = password::hash_async(new_password.to_string()).await?;
    // The new password's key, derived here from what the administrator typed: the row that
    // carries it is signed by the administrator's key.
    let (salt, key) = keys::new_key(new_password).await?;
    let mut w = store.begin_write(auth.actor()).await?;
    let mut user = load_for_write(&mut w, user_id).await?;
    user.password_hash = hash;
    user.user_key = Some(key.public_hex());
    user.key_salt = Some(salt);
    user.must_change_password = true;
    repo::save(&mut w, &user, ChangeOp::Update).await?;
    guard::clear(&mut w, user_id).await?;
    // Never the password or its hash in the audit log.
    w.audit("user.reset_password", "user", Some(user_id), json!({ "username": user.username })).await?;
    w.commit().await
}

/// The signed-in user changes their own password: `old_password` must be theirs (a wrong one
/// counts like a failed sign-in, towards the lockout; when the account locks, the session
/// ends), `new_password` passes the strength rules and differs from the old one. A new signing
/// key is derived from it; the row carries the new hash, key and salt, and is signed with the
/// current key, which is what lets the server and other devices take it from the owner
/// (`hms_policy::check::changes_own_password`). The session goes on with the new key.
pub async fn change_own_password(
    store: &Store,
    slot: &SessionSlot,
    old_password: &str,
    new_password: &str,
) -> Result<SessionInfo> {
    let auth = slot.authorize_password_change(store).await?;
    let user = reload(store, &auth.user_id).await?;
    if let Err(e) = crate::auth::check_password(store, &user, old_password, "change_password").await {
        return Err(match e {
            Error::InvalidCredentials => {
                Error::validation("old_password", ValidationReason::Invalid, "this is not your current password")
            }
            Error::AccountLocked { .. } => {
                slot.end(store);
                e
            }
            other => other,
        });
    }
    password::check_strength("new_password", new_password, &user.username)?;
    if new_password == old_password {
        return Err(Error::validation(
            "new_password",
            ValidationReason::Invalid,
            "the new password must differ from the current one",
        ));
    }
    let hash = password::hash_async(new_password.to_string()).await?;
    let (salt, key) = keys::new_key(new_password).await?;
    let mut w = store.begin_write(auth.actor()).await?;
    let mut row = load_for_write(&mut w, &auth.user_id).await?;
    if row.password_hash != user.password_hash {
        // Reset (or changed elsewhere, by sync) since the old password was checked.
        return Err(Error::SessionExpired);
    }
    row.password_hash = hash;
    row.user_key = Some(key.public_hex());
    row.key_salt = Some(salt);
    row.must_change_password = false;
    repo::save(&mut w, &row, ChangeOp::Update).await?;
    guard::clear(&mut w, &row.id).await?;
    // Never the password or its hash in the audit log.
    w.audit("user.change_password", "user", Some(&row.id), json!({ "username": row.username })).await?;
    // Sealed with the key the session holds: the account's current one.
    w.commit().await?;
    store.hold_user_key(&row.id, key);
    slot.update(|s| {
        s.credential = row.password_hash.clone();
        s.must_change_password = false;
    });
    slot.info(store).await?.ok_or(Error::NotSignedIn)
}

pub async fn unlock(store: &Store, auth: &Authorized, user_id: &str) -> Result<UserSummary> {
    auth.require(Permission::UsersManage)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let user = load_for_write(&mut w, user_id).await?;
    guard::clear(&mut w, user_id).await?;
    w.audit("user.unlock", "user", Some(user_id), json!({ "username": user.username })).await?;
    w.commit().await?;
    summary(store, user).await
}

/// Marks an account's password as its own on this device only (no change recorded), as if its
/// owner had changed it: for the crate's tests that are not about temporary passwords.
#[cfg(test)]
pub(crate) async fn settle_for_tests(store: &Store, username: &str) {
    sqlx::query("UPDATE users SET must_change_password = 0 WHERE username = ?")
        .bind(username)
        .execute(store.pool())
        .await
        .expect("settle");
}
