//! Signing in and out, locking and unlocking the session.

pub mod guard;
pub mod keys;
pub mod lockout;
pub mod password;

use crate::error::{Error, Result};
use crate::session::{Session, SessionInfo, SessionSlot};
use crate::settings;
use crate::store::{Actor, Store};
use crate::users::repo::{self, UserRow};
use lockout::Gate;
use serde_json::json;

/// Signs a user in: checks back-off and lockout, the password, and that the account is active.
/// Every outcome is audited.
pub async fn sign_in(store: &Store, slot: &SessionSlot, username: &str, password: &str) -> Result<SessionInfo> {
    let name = username.trim().to_lowercase();
    let user = repo::by_username(store.pool(), &name).await?;
    let Some(user) = user else {
        password::verify_async(password.to_string(), None).await?;
        audit_system(store, "auth.sign_in_failed", None, json!({ "username": name, "reason": "unknown_user" })).await?;
        return Err(Error::InvalidCredentials);
    };
    check_password(store, &user, password, "sign_in").await?;
    if !user.active {
        audit_as(store, &user, "auth.sign_in_refused", json!({ "reason": "inactive" })).await?;
        return Err(Error::AccountInactive);
    }
    // The user's signing key, from the password just checked: held for the session only.
    let (key, new_salt) = match (&user.key_salt, &user.user_key) {
        (Some(salt), Some(public)) => {
            let key = keys::derive_async(password.to_string(), salt.clone()).await?;
            if key.public_hex() != *public {
                // The account's key is not this password's (changed apart from the password):
                // its changes could not be proven. An administrator's password reset sets both.
                audit_as(store, &user, "auth.sign_in_refused", json!({ "reason": "key_mismatch" })).await?;
                return Err(Error::AccountInactive);
            }
            (key, None)
        }
        // An account from before keys: it gets one now, by its owner's own write.
        _ => {
            let (salt, key) = keys::new_key(password).await?;
            (key, Some(salt))
        }
    };
    let now = store.now();
    let session = Session {
        user_id: user.id.clone(),
        username: user.username.clone(),
        full_name: user.full_name.clone(),
        roles: user.roles.clone(),
        started_at: now,
        last_active: now,
        locked: false,
        credential: user.password_hash.clone(),
        must_change_password: user.must_change_password,
    };
    if let Some(previous) = slot.get().filter(|s| s.user_id != user.id) {
        store.drop_user_key(&previous.user_id);
    }
    store.hold_user_key(&user.id, key.clone());
    let signed_in = async {
        let mut w = store.begin_write(Actor::user(user.id.clone())).await?;
        guard::clear(&mut w, &user.id).await?;
        if let Some(salt) = new_salt {
            let mut row = user.clone();
            row.user_key = Some(key.public_hex());
            row.key_salt = Some(salt);
            repo::save(&mut w, &row, crate::store::ChangeOp::Update).await?;
        }
        w.audit("auth.sign_in", "user", Some(&user.id), json!({ "username": user.username })).await?;
        w.commit().await
    };
    if let Err(e) = signed_in.await {
        store.drop_user_key(&user.id);
        return Err(e);
    }
    slot.set(Some(session.clone()));
    Ok(session.info(settings::idle_timeout_minutes(store).await?))
}

/// The gate, the password check and the failure bookkeeping shared by sign-in and unlock.
pub(crate) async fn check_password(store: &Store, user: &UserRow, password: &str, context: &str) -> Result<()> {
    let now = store.now();
    let state = guard::load(store.pool(), &user.id).await?;
    match lockout::gate(&state, now) {
        Gate::Locked { until } => {
            audit_as(store, user, "auth.sign_in_refused", json!({ "reason": "locked", "context": context })).await?;
            return Err(Error::AccountLocked { until: until.to_rfc3339() });
        }
        Gate::RetryLater { seconds } => {
            audit_as(store, user, "auth.sign_in_refused", json!({ "reason": "back_off", "context": context })).await?;
            return Err(Error::RetryLater { seconds });
        }
        Gate::Open => {}
    }
    if password::verify_async(password.to_string(), Some(user.password_hash.clone())).await? {
        return Ok(());
    }
    let (next, locked) = lockout::after_failure(&state, now);
    let mut w = store.begin_write(Actor::user(user.id.clone())).await?;
    guard::save(&mut w, &user.id, &next).await?;
    w.audit(
        "auth.sign_in_failed",
        "user",
        Some(&user.id),
        json!({ "username": user.username, "attempt": next.failed_attempts, "context": context }),
    )
    .await?;
    if locked {
        w.audit(
            "auth.account_locked",
            "user",
            Some(&user.id),
            json!({ "until": next.locked_until.map(|t| t.to_rfc3339()) }),
        )
        .await?;
    }
    w.commit().await?;
    match next.locked_until {
        Some(until) if locked => Err(Error::AccountLocked { until: until.to_rfc3339() }),
        _ => Err(Error::InvalidCredentials),
    }
}

async fn audit_as(store: &Store, user: &UserRow, action: &str, detail: serde_json::Value) -> Result<()> {
    let mut w = store.begin_write(Actor::user(user.id.clone())).await?;
    w.audit(action, "user", Some(&user.id), detail).await?;
    w.commit().await
}

async fn audit_system(store: &Store, action: &str, entity_id: Option<&str>, detail: serde_json::Value) -> Result<()> {
    let mut w = store.begin_write(Actor::system()).await?;
    w.audit(action, "user", entity_id, detail).await?;
    w.commit().await
}

pub async fn sign_out(store: &Store, slot: &SessionSlot) -> Result<()> {
    if let Some(s) = slot.get() {
        let mut w = store.begin_write(Actor::user(s.user_id.clone())).await?;
        w.audit("auth.sign_out", "user", Some(&s.user_id), json!({ "username": s.username })).await?;
        w.commit().await?;
    }
    slot.end(store);
    Ok(())
}

/// Locks the session (the lock button, or the UI's idle timer). What is on screen stays.
pub async fn lock(store: &Store, slot: &SessionSlot) -> Result<()> {
    let session = slot.get().ok_or(Error::NotSignedIn)?;
    if !session.locked {
        slot.record_lock(store, &session, "manual").await?;
    }
    Ok(())
}

/// Unlocks with the same user's password. Wrong passwords count towards the lockout, so the
/// lock screen is no way around it; when the account locks, the session ends.
pub async fn unlock(store: &Store, slot: &SessionSlot, password: &str) -> Result<SessionInfo> {
    let session = slot.get().ok_or(Error::NotSignedIn)?;
    let idle = settings::idle_timeout_minutes(store).await?;
    if session.liveness(store.now(), idle) == crate::session::Liveness::Expired {
        slot.end(store);
        return Err(Error::SessionExpired);
    }
    let user = repo::by_id(store.pool(), &session.user_id).await?.filter(|u| u.active);
    let Some(user) = user else {
        slot.end(store);
        return Err(Error::AccountInactive);
    };
    if user.password_hash != session.credential {
        // The password was reset (here or on another device, by sync): sign in again.
        slot.end(store);
        return Err(Error::SessionExpired);
    }
    if let Err(e) = check_password(store, &user, password, "unlock").await {
        if matches!(e, Error::AccountLocked { .. }) {
            slot.end(store);
        }
        return Err(e);
    }
    let now = store.now();
    let mut w = store.begin_write(Actor::user(user.id.clone())).await?;
    guard::clear(&mut w, &user.id).await?;
    w.audit("auth.session_unlocked", "user", Some(&user.id), json!({})).await?;
    w.commit().await?;
    slot.update(|s| {
        s.locked = false;
        s.last_active = now;
        s.roles = user.roles.clone();
    });
    let info = slot.get().ok_or(Error::NotSignedIn)?;
    Ok(info.info(idle))
}

/// Keeps an active session alive while the person works (called by the UI on activity).
pub async fn heartbeat(store: &Store, slot: &SessionSlot) -> Result<SessionInfo> {
    slot.authorize_password_change(store).await?;
    slot.info(store).await?.ok_or(Error::NotSignedIn)
}
