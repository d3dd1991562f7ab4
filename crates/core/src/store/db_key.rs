//! The database's encryption key (issue 14, encryption at rest).
//!
//! `hms.db` is a SQLCipher database (SQLCipher 4's defaults: AES-256 per page with an
//! HMAC-SHA512 over each page, so a page changed on the disk is refused, not read). Its key
//! is 32 random bytes made when the database is created, given to SQLCipher raw (`x'…'`: no
//! password derivation, so opening a connection costs nothing extra), and kept in the
//! platform's keystore (`keystore`) or, where none answers, in a file beside the database
//! (`hms.db.key`, readable only by the user who runs HMS), never in the database.
//! Backups are encrypted with the same key and do not hold it (see `backup`).
//!
//! The **recovery key** is the same 32 bytes written for a person: 16 groups of 4 hex digits.
//! The administrator keeps it on paper; it opens a backup on another computer (restore) and
//! gives this computer its key again if the key file is lost.
//!
//! What this protects against, and what not, is in the README ("Encryption").

use super::keystore;
use crate::error::{Error, Result};
use sqlx::sqlite::SqliteConnectOptions;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use zeroize::Zeroize;

/// The first 16 bytes of an unencrypted SQLite database.
const PLAIN_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// A database key. Never printed ([`std::fmt::Debug`] says nothing of it); zeroed when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct DbKey([u8; 32]);

impl std::fmt::Debug for DbKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbKey(…)")
    }
}

impl Drop for DbKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl DbKey {
    /// A new random key.
    pub fn generate() -> Result<DbKey> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| Error::internal(format!("no randomness from the system: {e}")))?;
        Ok(DbKey(bytes))
    }

    /// The value of SQLCipher's `key` pragma (and of `ATTACH … KEY`): the raw key as a blob
    /// literal in quotes.
    pub(crate) fn pragma(&self) -> String {
        format!("\"x'{}'\"", hex::encode_upper(self.0))
    }

    /// The raw key, to derive other keys from (`blob_cipher`); never written anywhere.
    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The recovery key as a person writes it down: `1A2B-3C4D-…`, 16 groups of 4 hex digits.
    pub fn recovery_code(&self) -> String {
        let hex = hex::encode_upper(self.0);
        hex.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("-")
    }

    /// A short name of the key that does not reveal it (the first 16 hex digits of its
    /// SHA-256): to tell whether the recovery key a person was given is still this key.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        hex::encode(&sha2::Sha256::digest(self.0)[..8])
    }

    /// Reads a recovery key as typed: 64 hex digits, in any case, with any spaces or dashes
    /// between them. `None` for anything else.
    pub fn from_recovery_code(text: &str) -> Option<DbKey> {
        let digits: String = text.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        if digits.len() != 64 {
            return None;
        }
        let bytes: [u8; 32] = hex::decode(digits).ok()?.try_into().ok()?;
        Some(DbKey(bytes))
    }

    /// A recovery key as typed, or a validation error naming `field`.
    pub fn parse_recovery_field(field: &str, text: &str) -> Result<DbKey> {
        DbKey::from_recovery_code(text).ok_or_else(|| {
            Error::validation(
                field,
                crate::error::ValidationReason::Invalid,
                "a recovery key: 64 hex digits (0-9, A-F) in groups of 4",
            )
        })
    }
}

/// Connection options for the database file at `path`, opened with `key`. Every connection
/// to an HMS database is made through here (SQLCipher needs the key before anything else;
/// sqlx runs the `key` pragma first).
pub fn options(path: &Path, key: &DbKey) -> SqliteConnectOptions {
    SqliteConnectOptions::new().filename(path).pragma("key", key.pragma())
}

/// Connection options for an HMS database file that may be clear (made, or backed up, before
/// encryption at rest): clear files open without a key, any other with `key`.
pub fn options_for(path: &Path, key: &DbKey) -> Result<SqliteConnectOptions> {
    Ok(match file_kind(path)? {
        FileKind::Plain => SqliteConnectOptions::new().filename(path),
        _ => options(path, key),
    })
}

/// The key in the key file of the database at `db_path`, if there is one.
pub fn read_key_file(db_path: &Path) -> Result<Option<DbKey>> {
    let path = key_path(db_path);
    match std::fs::read_to_string(&path) {
        Ok(text) => DbKey::from_recovery_code(&text)
            .map(Some)
            .ok_or_else(|| storage(&path, "is not a database key (64 hex digits)")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(storage(&path, &e.to_string())),
    }
}

/// The key file of the database at `db_path`.
pub fn key_path(db_path: &Path) -> PathBuf {
    let mut name = db_path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".key");
    db_path.with_file_name(name)
}

/// Where `rekey` keeps the new key of the database at `db_path` while it re-encrypts (see
/// `encrypt::rekey`): removed once the key file holds it.
pub fn pending_key_path(db_path: &Path) -> PathBuf {
    let mut name = key_path(db_path).into_os_string();
    name.push(".new");
    PathBuf::from(name)
}

/// The new key of a `rekey` under way or cut off, if there is one (unreadable: none).
pub fn read_pending_key(db_path: &Path) -> Option<DbKey> {
    std::fs::read_to_string(pending_key_path(db_path)).ok().and_then(|t| DbKey::from_recovery_code(&t))
}

/// Writes `key` as the pending key of the database at `db_path` (never replacing one; only
/// this user can read it; synced).
pub(crate) fn write_pending_key(db_path: &Path, key: &DbKey) -> Result<()> {
    write_key_file(&pending_key_path(db_path), key)
}

/// What a database file is, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// No file, or an empty one: a new database.
    Missing,
    /// An unencrypted SQLite database (made by a version of HMS before encryption).
    Plain,
    /// Anything else: an encrypted database (SQLCipher's file starts with random salt).
    Encrypted,
}

/// Tells what the file at `path` is.
pub fn file_kind(path: &Path) -> Result<FileKind> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileKind::Missing),
        Err(e) => return Err(storage(path, &e.to_string())),
    };
    let mut head = [0u8; 16];
    let mut read = 0;
    while read < head.len() {
        match file.read(&mut head[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) => return Err(storage(path, &e.to_string())),
        }
    }
    Ok(match read {
        0 => FileKind::Missing,
        16 if &head == PLAIN_HEADER => FileKind::Plain,
        _ => FileKind::Encrypted,
    })
}

/// The key of the database at `db_path`: found (the key file, else the keystore), or made
/// when there is no key and no encrypted database yet. The rules (README, "Encryption"):
/// - a key file found is moved into the keystore when the keystore answers ([`migrate`]);
/// - a new key goes into the keystore when it answers, else into the key file;
/// - an encrypted database whose key is nowhere is refused ([`Error::DatabaseKeyMissing`]:
///   the recovery key gives it back), and one whose keystore does not answer too
///   ([`Error::KeystoreUnavailable`]): a new key would make its data unreadable.
pub fn load_or_create(db_path: &Path) -> Result<DbKey> {
    match read_key(db_path) {
        Ok(Some(key)) => return Ok(key),
        Ok(None) => {}
        // A keystore that does not answer may hold the key of a database that exists.
        Err(e @ Error::KeystoreUnavailable { .. }) if file_kind(db_path)? == FileKind::Encrypted => return Err(e),
        Err(Error::KeystoreUnavailable { .. }) => {}
        Err(e) => return Err(e),
    }
    let path = key_path(db_path);
    if file_kind(db_path)? == FileKind::Encrypted {
        return Err(Error::DatabaseKeyMissing { path: path.display().to_string() });
    }
    let key = DbKey::generate()?;
    store_new_key(db_path, &key)?;
    Ok(key)
}

/// The key of the database at `db_path`, wherever it is: the key file (moved into the
/// keystore on the way when the keystore answers), else the keystore. `None`: neither has
/// one. A keystore that does not answer, with no key file, is
/// [`Error::KeystoreUnavailable`].
pub fn read_key(db_path: &Path) -> Result<Option<DbKey>> {
    if let Some(key) = read_key_file(db_path)? {
        migrate(db_path, &key);
        return Ok(Some(key));
    }
    if !keystore::enabled() {
        return Ok(None);
    }
    match keystore::get(db_path) {
        keystore::Lookup::Found(key) => Ok(Some(key)),
        keystore::Lookup::Absent => Ok(None),
        keystore::Lookup::Unavailable(reason) => Err(Error::KeystoreUnavailable { reason }),
    }
}

/// Moves the key file's `key` into the keystore: written, read back and compared, and only
/// then the key file removed. Any failure leaves the key file as it was (it is tried again at
/// the next start) and is logged, not returned: the key file still opens the database.
fn migrate(db_path: &Path, key: &DbKey) {
    if !keystore::enabled() {
        return;
    }
    let path = key_path(db_path);
    match keystore::put(db_path, key) {
        Ok(()) => match std::fs::remove_file(&path) {
            Ok(()) => {
                sync_dir(&path);
                tracing::info!(target: "hms::storage", file = %path.display(), "database key moved into the keystore");
            }
            Err(e) => {
                tracing::warn!(target: "hms::storage", file = %path.display(), error = %e, "key in the keystore; the key file could not be removed")
            }
        },
        Err(why) => {
            tracing::info!(target: "hms::storage", file = %path.display(), %why, "database key kept in its key file")
        }
    }
}

/// Stores a new key of the database at `db_path`: in the keystore when it answers (and gives
/// the key back), else in the key file (never replacing one; a key file made meanwhile by
/// another process, the CLI, is taken instead when it holds the same key).
fn store_new_key(db_path: &Path, key: &DbKey) -> Result<()> {
    if keystore::enabled() {
        match keystore::put(db_path, key) {
            Ok(()) => return Ok(()),
            Err(why) => {
                tracing::info!(target: "hms::storage", %why, "no keystore: the database key goes into its key file")
            }
        }
    }
    match write_key_file(&key_path(db_path), key) {
        Ok(()) => Ok(()),
        // Another process (the CLI) made it first: fine if it is this key, else refused.
        Err(e) => match read_key_file(db_path)? {
            Some(found) if &found == key => Ok(()),
            _ => Err(e),
        },
    }
}

/// Writes `key` as the key of the database at `db_path` (the recovery key typed in on a
/// computer whose key was lost); refuses to replace a key file that exists. Goes where a
/// new key goes (the keystore when it answers, else the key file).
pub fn restore_key_file(db_path: &Path, key: &DbKey) -> Result<()> {
    if key_path(db_path).exists() {
        return Err(storage(&key_path(db_path), "exists: a database key is not replaced"));
    }
    store_new_key(db_path, key)
}

/// Puts `new` in place of the key of the database at `db_path` (the end of a rekey): where a
/// new key goes, and the old key file removed after. A key in the keystore is overwritten
/// there (the entry is replaced in one step).
pub(crate) fn replace_key(db_path: &Path, new: &DbKey) -> Result<()> {
    let path = key_path(db_path);
    if keystore::enabled() && keystore::put(db_path, new).is_ok() {
        match std::fs::remove_file(&path) {
            Ok(()) => sync_dir(&path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(storage(&path, &e.to_string())),
        }
        return Ok(());
    }
    // Key file: the old one removed, the new one linked in (the pending key is still on the
    // disk meanwhile, so a cut here is finished by running rekey again).
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(storage(&path, &e.to_string())),
    }
    write_key_file(&path, new)
}

/// Syncs the folder of `path` (a file created, renamed or removed there).
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

/// Creates the key file (never replacing one), readable only by this user, synced to disk.
/// Written whole under a temporary name first and then linked into place, so a crash never
/// leaves a key file cut short.
fn write_key_file(path: &Path, key: &DbKey) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", crate::ids::new_id()));
    let tmp = PathBuf::from(tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&tmp).and_then(|mut file| {
        file.write_all(key.recovery_code().as_bytes())?;
        file.sync_all()
    });
    // A hard link fails if the name exists: the key file is never replaced.
    let linked = written.and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    linked.map_err(|e| storage(path, &e.to_string()))?;
    sync_dir(path);
    Ok(())
}

fn storage(path: &Path, why: &str) -> Error {
    Error::storage(format_args!("{}: {why}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recovery_code_reads_back_as_the_same_key_however_it_is_typed() {
        let key = DbKey::generate().unwrap();
        let code = key.recovery_code();
        assert_eq!(code.len(), 64 + 15);
        assert_eq!(code.split('-').count(), 16);
        assert_eq!(DbKey::from_recovery_code(&code), Some(key.clone()));
        let typed = code.to_lowercase().replace('-', " ");
        assert_eq!(DbKey::from_recovery_code(&typed), Some(key.clone()));
        assert_eq!(DbKey::from_recovery_code(&code[1..]), None);
        assert_eq!(DbKey::from_recovery_code(&code.replace('A', "G")).is_some(), !code.contains('A'));
        assert_eq!(format!("{key:?}"), "DbKey(…)");
    }
}
