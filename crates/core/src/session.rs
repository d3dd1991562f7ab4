//! Sessions live in Rust state (never in web storage). A session locks itself after the
//! clinic's idle time and expires after 12 hours; every command authorises through here.

use crate::error::{Error, Result};
use crate::rbac::{self, Area, Permission, Role};
use crate::settings::values as settings;
use crate::store::{Actor, Store};
use crate::users::repo;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::sync::Mutex;

/// A session older than this must sign in again, idle or not.
pub const MAX_AGE_HOURS: i64 = 12;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user_id: String,
    pub username: String,
    pub full_name: String,
    pub roles: Vec<Role>,
    pub started_at: DateTime<Utc>,
    pub last_active: DateTime<Utc>,
    pub locked: bool,
    /// The account's password hash when the session began: a reset (here or arriving by sync)
    /// changes it, and the session ends at its next command.
    pub credential: String,
    /// Signed in with a password an administrator set: only changing it is allowed.
    pub must_change_password: bool,
}

/// What the UI is told about the signed-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct SessionInfo {
    pub user_id: String,
    pub username: String,
    pub full_name: String,
    pub roles: Vec<Role>,
    pub areas: Vec<Area>,
    /// Every permission the user holds: the UI shows only the actions these allow (core
    /// still checks each call).
    pub permissions: Vec<Permission>,
    pub locked: bool,
    pub idle_timeout_minutes: u32,
    /// The password is temporary (set by an administrator): the UI shows Change password at
    /// once; every other command answers `password_change_required`.
    pub must_change_password: bool,
}

/// The outcome of the time rules for a session at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    Active,
    Idle,
    Expired,
}

impl Session {
    pub fn liveness(&self, now: DateTime<Utc>, idle_minutes: u32) -> Liveness {
        if now - self.started_at >= Duration::hours(MAX_AGE_HOURS) {
            Liveness::Expired
        } else if self.locked || now - self.last_active >= Duration::minutes(i64::from(idle_minutes)) {
            Liveness::Idle
        } else {
            Liveness::Active
        }
    }

    pub fn info(&self, idle_timeout_minutes: u32) -> SessionInfo {
        SessionInfo {
            user_id: self.user_id.clone(),
            username: self.username.clone(),
            full_name: self.full_name.clone(),
            roles: self.roles.clone(),
            areas: rbac::areas(&self.roles),
            permissions: rbac::permissions(&self.roles),
            locked: self.locked,
            idle_timeout_minutes,
            must_change_password: self.must_change_password,
        }
    }
}

/// Proof that a live session's user called: carries the roles to check permissions against.
#[derive(Debug, Clone)]
pub struct Authorized {
    pub user_id: String,
    pub roles: Vec<Role>,
}

impl Authorized {
    pub fn require(&self, permission: Permission) -> Result<()> {
        if rbac::allows(&self.roles, permission) {
            Ok(())
        } else {
            Err(Error::Forbidden { permission: permission.code().to_string() })
        }
    }

    pub fn actor(&self) -> Actor {
        Actor::user(self.user_id.clone())
    }
}

/// The app's one session slot (a desk or tablet has one person at the keyboard at a time).
#[derive(Default)]
pub struct SessionSlot {
    inner: Mutex<Option<Session>>,
}

impl SessionSlot {
    pub fn get(&self) -> Option<Session> {
        self.inner.lock().ok().and_then(|g| g.clone())
    }

    pub fn set(&self, session: Option<Session>) {
        if let Ok(mut g) = self.inner.lock() {
            *g = session;
        }
    }

    /// Ends the session: the slot is emptied and the user's signing key forgotten (and wiped).
    pub fn end(&self, store: &Store) {
        if let Some(s) = self.get() {
            store.drop_user_key(&s.user_id);
        }
        self.set(None);
    }

    pub(crate) fn update(&self, f: impl FnOnce(&mut Session)) {
        if let Ok(mut g) = self.inner.lock() {
            if let Some(s) = g.as_mut() {
                f(s);
            }
        }
    }

    /// Checks the session is live, refreshes the user's roles from the store (so that a
    /// deactivation or role change takes effect at once) and marks activity.
    pub async fn authorize(&self, store: &Store) -> Result<Authorized> {
        self.authorize_as(store, false).await
    }

    /// [`Self::authorize`] for what a session with a temporary password may still do: change
    /// it, keep the session alive.
    pub async fn authorize_password_change(&self, store: &Store) -> Result<Authorized> {
        self.authorize_as(store, true).await
    }

    async fn authorize_as(&self, store: &Store, temporary_ok: bool) -> Result<Authorized> {
        let session = self.get().ok_or(Error::NotSignedIn)?;
        let now = store.now();
        let idle = settings::idle_timeout_minutes(store).await?;
        match session.liveness(now, idle) {
            Liveness::Expired => {
                self.end(store);
                return Err(Error::SessionExpired);
            }
            Liveness::Idle => {
                if !session.locked {
                    self.record_lock(store, &session, "idle").await?;
                }
                return Err(Error::SessionLocked);
            }
            Liveness::Active => {}
        }
        // The account as it stands now, local writes and synced ones alike: a deactivation
        // ends the session, a role change narrows (or widens) it at once, a password reset
        // ends it.
        let user = repo::by_id(store.pool(), &session.user_id).await?.filter(|u| u.active);
        let Some(user) = user else {
            self.end(store);
            return Err(Error::AccountInactive);
        };
        if user.password_hash != session.credential {
            self.end(store);
            return Err(Error::SessionExpired);
        }
        self.update(|s| {
            s.last_active = now;
            s.roles = user.roles.clone();
            s.full_name = user.full_name.clone();
            s.must_change_password = user.must_change_password;
        });
        if user.must_change_password && !temporary_ok {
            return Err(Error::PasswordChangeRequired);
        }
        Ok(Authorized { user_id: user.id, roles: user.roles })
    }

    /// Locks the session and audits why (`manual`: the lock button or the UI's idle timer,
    /// `auth::lock`; `idle`: found idle here).
    pub(crate) async fn record_lock(&self, store: &Store, s: &Session, reason: &str) -> Result<()> {
        self.update(|s| s.locked = true);
        let mut w = store.begin_write(Actor::user(s.user_id.clone())).await?;
        w.audit("auth.session_locked", "user", Some(&s.user_id), serde_json::json!({ "reason": reason })).await?;
        w.commit().await
    }

    /// The current session as the UI sees it (no activity recorded).
    pub async fn info(&self, store: &Store) -> Result<Option<SessionInfo>> {
        let Some(session) = self.get() else {
            return Ok(None);
        };
        let idle = settings::idle_timeout_minutes(store).await?;
        match session.liveness(store.now(), idle) {
            Liveness::Expired => {
                self.end(store);
                Ok(None)
            }
            Liveness::Idle => {
                let mut s = session.clone();
                s.locked = true;
                Ok(Some(s.info(idle)))
            }
            Liveness::Active => Ok(Some(session.info(idle))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn session(start: DateTime<Utc>) -> Session {
        Session {
            user_id: "u".into(),
            username: "ravi".into(),
            full_name: "Ravi".into(),
            roles: vec![Role::Nurse],
            started_at: start,
            last_active: start,
            locked: false,
            credential: String::new(),
            must_change_password: false,
        }
    }

    #[test]
    fn idle_lock_and_expiry() {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0).unwrap();
        let s = session(t0);
        assert_eq!(s.liveness(t0 + Duration::minutes(14), 15), Liveness::Active);
        assert_eq!(s.liveness(t0 + Duration::minutes(15), 15), Liveness::Idle);
        assert_eq!(s.liveness(t0 + Duration::minutes(4), 5), Liveness::Active);
        assert_eq!(s.liveness(t0 + Duration::minutes(5), 5), Liveness::Idle);
        assert_eq!(s.liveness(t0 + Duration::hours(12), 15), Liveness::Expired);
        let mut locked = s.clone();
        locked.locked = true;
        assert_eq!(locked.liveness(t0, 15), Liveness::Idle);
    }
}
