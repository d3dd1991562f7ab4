//! The accounts of a clinic as far as the policy needs them: each user's roles, whether the
//! account is active, whether it is deleted. The server keeps one per tenant, folded from the
//! accepted `users` changes in order; a device builds one from its `users` table. Folding is
//! per-field last-writer-wins by clock stamp, as devices merge rows, so the order changes
//! arrive in does not matter.

use crate::rbac::Role;
use crate::values::{flag_of, roles_of};
use hms_protocol::{Change, Op};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub roles: Vec<Role>,
    pub active: bool,
    pub deleted: bool,
    /// The account's Ed25519 public key (`user_key`, 64 hex digits): every segment of its
    /// changes carries its signature. `None` for an account from before keys, until its
    /// owner's next sign-in sets one.
    #[serde(default)]
    pub key: Option<String>,
    /// The stamp that last set each of `roles`, `active`, `deleted_at`, `user_key`.
    #[serde(default)]
    pub stamps: BTreeMap<String, String>,
    /// Every key the account has had, by the stamp of the change that set it (`None`: cleared),
    /// whatever order the changes came in: a key is replaced at the next stamp of this map
    /// (see [`Account::past_keys`]).
    #[serde(default)]
    pub key_history: BTreeMap<String, Option<String>>,
}

impl Account {
    pub fn is_admin(&self) -> bool {
        self.roles.contains(&Role::Admin)
    }

    /// May sign in and act.
    pub fn usable(&self) -> bool {
        self.active && !self.deleted
    }

    /// The account's replaced keys, each with the stamp at which the next key replaced it.
    /// A user signature by one of them proves only changes stamped before that stamp.
    pub fn past_keys(&self) -> Vec<(&str, &str)> {
        let entries: Vec<(&String, &Option<String>)> = self.key_history.iter().collect();
        entries
            .windows(2)
            .filter_map(|w| match (w[0].1.as_deref(), self.key.as_deref()) {
                (Some(key), current) if current != Some(key) => Some((key, w[1].0.as_str())),
                _ => None,
            })
            .collect()
    }

    fn set(&mut self, field: &str, hlc: &str, apply: impl FnOnce(&mut Account)) {
        let newer = self.stamps.get(field).is_none_or(|old| hlc > old.as_str());
        if newer {
            apply(self);
            self.stamps.insert(field.to_string(), hlc.to_string());
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accounts {
    pub users: BTreeMap<String, Account>,
}

impl Accounts {
    pub fn get(&self, user_id: &str) -> Option<&Account> {
        self.users.get(user_id)
    }

    /// Adds an account as a device's table holds it, stamped with the row's `updated_at`.
    pub fn load(&mut self, user_id: &str, roles: Vec<Role>, active: bool, deleted: bool, stamp: &str) {
        let stamps =
            ["roles", "active", "deleted_at", "user_key"].iter().map(|f| (f.to_string(), stamp.to_string())).collect();
        self.users.insert(
            user_id.to_string(),
            Account { roles, active, deleted, key: None, stamps, key_history: BTreeMap::new() },
        );
    }

    /// Active administrators (not deleted).
    pub fn active_admins(&self) -> usize {
        self.users.values().filter(|a| a.usable() && a.is_admin()).count()
    }

    /// Takes a `users` change into account (any other entity is ignored). Values that do
    /// not parse are ignored: a change is checked before it is folded.
    pub fn fold(&mut self, change: &Change) {
        if change.entity != "users" {
            return;
        }
        let account = self.users.entry(change.entity_id.clone()).or_default();
        let hlc = change.hlc.as_str();
        if change.op == Op::Delete {
            account.set("deleted_at", hlc, |a| a.deleted = true);
            return;
        }
        if let Some(roles) = change.data.get("roles").and_then(roles_of) {
            account.set("roles", hlc, |a| a.roles = roles);
        }
        if let Some(active) = change.data.get("active").and_then(flag_of) {
            account.set("active", hlc, |a| a.active = active);
        }
        if let Some(key) = change.data.get("user_key") {
            let key = key.as_str().map(str::to_string);
            account.key_history.insert(hlc.to_string(), key.clone());
            account.set("user_key", hlc, |a| a.key = key);
        }
        if let Some(deleted) = change.data.get("deleted_at") {
            let deleted = !deleted.is_null();
            account.set("deleted_at", hlc, |a| a.deleted = deleted);
        }
    }
}
