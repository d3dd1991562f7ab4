//! Per-user signing keys. A user's Ed25519 key is derived from their password with Argon2id
//! (the password hash's parameters, but its own salt, `users.key_salt`), at sign-in and
//! wherever a password is set (set-up, a new account, a reset). It is held only in memory,
//! while the user's session lives (see [`crate::store::Store::hold_user_key`]); its public half,
//! `users.user_key`, is synced with the account, and every segment of the user's changes
//! carries the user's signature (`hms_protocol::proof`), which the server and every device
//! check. A device that does not know a user's password cannot sign in that user's name.

use crate::error::{Error, Result};
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::{Algorithm, Argon2, Params, Version};
use ed25519_dalek::SigningKey;
use std::fmt;
use zeroize::Zeroizing;

/// A user's private signing key. Wiped from memory when the last holder drops it
/// (ed25519-dalek zeroizes on drop); never written anywhere.
#[derive(Clone)]
pub struct UserKey(SigningKey);

impl UserKey {
    pub fn signing_key(&self) -> &SigningKey {
        &self.0
    }

    /// The public key's hex form, as in `users.user_key`.
    pub fn public_hex(&self) -> String {
        hms_protocol::proof::public_key_hex(&self.0)
    }
}

impl fmt::Debug for UserKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserKey({})", self.public_hex())
    }
}

impl PartialEq for UserKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.verifying_key() == other.0.verifying_key()
    }
}

impl Eq for UserKey {}

/// A fresh salt for a key (16 random bytes, hex).
pub fn new_salt() -> String {
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    hex::encode(salt)
}

/// Derives the key of `password` with `salt_hex` (Argon2id, 19 MiB, 2 passes, 1 lane: the
/// password hash's parameters).
pub fn derive(password: &str, salt_hex: &str) -> Result<UserKey> {
    let salt = hex::decode(salt_hex).map_err(|_| Error::internal("users.key_salt is not hex"))?;
    let params = Params::new(super::password::MEMORY_KIB, super::password::PASSES, super::password::LANES, Some(32))
        .map_err(Error::internal)?;
    let mut seed = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password.as_bytes(), &salt, seed.as_mut())
        .map_err(Error::internal)?;
    Ok(UserKey(SigningKey::from_bytes(&seed)))
}

/// [`derive`] off the async threads (tens of milliseconds of CPU by design).
pub async fn derive_async(password: String, salt_hex: String) -> Result<UserKey> {
    let password = Zeroizing::new(password);
    tokio::task::spawn_blocking(move || derive(&password, &salt_hex)).await.map_err(Error::internal)?
}

/// A new salt and the key it gives for `password` (a password being set).
pub async fn new_key(password: &str) -> Result<(String, UserKey)> {
    let salt = new_salt();
    let key = derive_async(password.to_string(), salt.clone()).await?;
    Ok((salt, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_password_and_salt_give_the_same_key_and_nothing_else_does() {
        let salt = "00112233445566778899aabbccddeeff";
        let a = derive("Clinic#2026adm", salt).unwrap();
        assert_eq!(a, derive("Clinic#2026adm", salt).unwrap());
        assert_ne!(a, derive("Clinic#2026adn", salt).unwrap());
        assert_ne!(a, derive("Clinic#2026adm", "00112233445566778899aabbccddeefe").unwrap());
        assert_eq!(a.public_hex().len(), 64);
        assert!(!format!("{a:?}").contains(&hex::encode(a.signing_key().to_bytes())));
        assert_ne!(new_salt(), new_salt());
    }
}
