//! The database key in the platform's keystore (issue 14): Windows Credential Manager, the
//! macOS Keychain, the Secret Service on Linux (GNOME Keyring, KWallet), through the
//! `keyring` crate. `db_key` decides when it is used; this only talks to it.
//!
//! One entry per database: service [`SERVICE`], user `db-` and the first 32 hex digits of the
//! SHA-256 of the database file's canonical path. Not the device id: that is inside the
//! encrypted database, which cannot be read before the key is found. The path is known before
//! anything opens, and two databases of one user account (a second data folder, a test's)
//! get two entries. Moving the data folder to another path leaves its key behind: the app
//! then says `database_key_missing`, and the recovery key gives it a key again (README,
//! "Encryption").
//!
//! `HMS_KEYSTORE=file` turns it off (the key file only): `make test` sets it, so that the
//! tests' thousands of temporary databases leave nothing in a developer's keyring. Android
//! never uses it (the key file, in the app's private storage; Android Keystore is to come).

use super::db_key::DbKey;
use std::path::{Path, PathBuf};

/// The keystore's service name for HMS's entries.
pub const SERVICE: &str = "HMS";

/// What the keystore answered for a database.
#[derive(Debug)]
pub enum Lookup {
    Found(DbKey),
    /// The keystore answered: it has no key for this database.
    Absent,
    /// No answer: no keystore on this machine, or it is locked, or it refused (the reason).
    Unavailable(String),
}

/// Whether the keystore is to be asked at all (not on Android, not with `HMS_KEYSTORE=file`).
pub fn enabled() -> bool {
    cfg!(not(target_os = "android")) && !std::env::var("HMS_KEYSTORE").is_ok_and(|v| v == "file")
}

/// The entry's user name for the database at `db_path` (see the module).
pub fn entry_user(db_path: &Path) -> String {
    use sha2::Digest;
    let path = canonical(db_path);
    let digest = sha2::Sha256::digest(path.as_os_str().as_encoded_bytes());
    format!("db-{}", &hex::encode(digest)[..32])
}

/// The canonical path of a database file that may not exist yet: its folder made canonical
/// (symbolic links and `..` resolved), its name kept.
fn canonical(db_path: &Path) -> PathBuf {
    if let Ok(path) = db_path.canonicalize() {
        return path;
    }
    let dir = db_path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or_else(|| Path::new("."));
    match (dir.canonicalize(), db_path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => std::path::absolute(db_path).unwrap_or_else(|_| db_path.to_path_buf()),
    }
}

/// The key of the database at `db_path` in the keystore.
pub fn get(db_path: &Path) -> Lookup {
    if !enabled() {
        return Lookup::Unavailable("the keystore is turned off (HMS_KEYSTORE=file)".into());
    }
    imp::get(&entry_user(db_path))
}

/// Stores `key` for the database at `db_path` (replacing what the entry held), then reads it
/// back: `Ok` only once the keystore gives back the same key.
pub fn put(db_path: &Path, key: &DbKey) -> Result<(), String> {
    if !enabled() {
        return Err("the keystore is turned off (HMS_KEYSTORE=file)".into());
    }
    let user = entry_user(db_path);
    imp::set(&user, key)?;
    match imp::get(&user) {
        Lookup::Found(back) if &back == key => Ok(()),
        Lookup::Found(_) => Err("the keystore gave back another key than the one written".into()),
        Lookup::Absent => Err("the keystore did not keep the key".into()),
        Lookup::Unavailable(why) => Err(why),
    }
}

/// Removes the entry of the database at `db_path` (none: nothing to do).
pub fn delete(db_path: &Path) -> Result<(), String> {
    if !enabled() {
        return Ok(());
    }
    imp::delete(&entry_user(db_path))
}

#[cfg(not(target_os = "android"))]
mod imp {
    use super::{DbKey, Lookup, SERVICE};
    use keyring::Error as KeyringError;
    use zeroize::Zeroize;

    fn entry(user: &str) -> Result<keyring::Entry, String> {
        keyring::Entry::new(SERVICE, user).map_err(|e| describe(&e))
    }

    pub fn get(user: &str) -> Lookup {
        let entry = match entry(user) {
            Ok(entry) => entry,
            Err(why) => return Lookup::Unavailable(why),
        };
        match entry.get_password() {
            Ok(mut text) => {
                let key = DbKey::from_recovery_code(&text);
                text.zeroize();
                match key {
                    Some(key) => Lookup::Found(key),
                    None => Lookup::Unavailable(format!("the keystore's entry {SERVICE}/{user} is not a database key")),
                }
            }
            Err(KeyringError::NoEntry) => Lookup::Absent,
            Err(e) => Lookup::Unavailable(describe(&e)),
        }
    }

    pub fn set(user: &str, key: &DbKey) -> Result<(), String> {
        let mut code = key.recovery_code();
        let done = entry(user).and_then(|e| e.set_password(&code).map_err(|e| describe(&e)));
        code.zeroize();
        done
    }

    pub fn delete(user: &str) -> Result<(), String> {
        match entry(user)?.delete_credential() {
            Ok(()) | Err(KeyringError::NoEntry) => Ok(()),
            Err(e) => Err(describe(&e)),
        }
    }

    /// The keyring's error in words for the log and the error's detail (never a secret).
    fn describe(e: &KeyringError) -> String {
        match e {
            KeyringError::NoDefaultStore => "no keystore on this machine (no Secret Service answers)".into(),
            KeyringError::NoStorageAccess(why) => format!("the keystore is locked or refused access: {why}"),
            other => format!("the keystore failed: {other}"),
        }
    }
}

#[cfg(target_os = "android")]
mod imp {
    use super::{DbKey, Lookup};

    const NONE: &str = "no keystore in this build (Android: the key file)";

    pub fn get(_user: &str) -> Lookup {
        Lookup::Unavailable(NONE.into())
    }

    pub fn set(_user: &str, _key: &DbKey) -> Result<(), String> {
        Err(NONE.into())
    }

    pub fn delete(_user: &str) -> Result<(), String> {
        Ok(())
    }
}
