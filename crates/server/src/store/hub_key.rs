//! The clinic hub's database key: the SQLite file encrypted with SQLCipher (the same bundled
//! SQLCipher as the app's store), its 256-bit key in a key file only its owner can read
//! (`--sqlite-key-file`), written the way the app writes its own key file and recovery key:
//! 64 hex digits, any case, spaces and dashes between them allowed. The app embedding the hub
//! will hand it its own database key the same way.
//!
//! The rules: a key file that exists is used (it must hold a key); a missing one is made with a
//! new random key only when the database does not exist yet. An encrypted database opened
//! without a key, or a clear one with a key, is refused naming the file: a clear hub database
//! is not converted here (back it up, start an encrypted hub, and let the devices push again).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// What every clear SQLite file starts with.
const PLAIN_HEADER: &[u8; 16] = b"SQLite format 3\0";

#[derive(Clone, PartialEq, Eq)]
pub struct HubKey([u8; 32]);

impl std::fmt::Debug for HubKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HubKey(..)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HubKeyError {
    #[error("{path}: not a database key (64 hex digits)")]
    NotAKey { path: PathBuf },
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{path} is encrypted: give its key file (--sqlite-key-file or HMS_SQLITE_KEY_FILE)")]
    KeyNeeded { path: PathBuf },
    #[error(
        "{path} is not encrypted, and a key is not added to a hub database that exists: start the hub on a new file with the key file"
    )]
    NotEncrypted { path: PathBuf },
    #[error("{key_file} is missing, and {path} exists: a new key would not open it")]
    KeyFileMissing { key_file: PathBuf, path: PathBuf },
}

impl HubKey {
    /// 64 hex digits, in any case, with any spaces or dashes between them.
    pub fn parse(text: &str) -> Option<HubKey> {
        let digits: String = text.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        if digits.len() != 64 {
            return None;
        }
        let bytes: [u8; 32] = hex::decode(digits).ok()?.try_into().ok()?;
        Some(HubKey(bytes))
    }

    /// A new random key.
    pub fn generate() -> Result<HubKey, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        Ok(HubKey(bytes))
    }

    /// SQLCipher's `key` pragma value: the raw key, so no key derivation runs per connection.
    pub(crate) fn pragma(&self) -> String {
        format!("\"x'{}'\"", hex::encode_upper(self.0))
    }

    /// The key as the key file holds it.
    fn text(&self) -> String {
        hex::encode_upper(self.0)
    }
}

/// Whether the database file at `path` is missing (or empty), clear or encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Missing,
    Clear,
    Encrypted,
}

pub fn file_kind(path: &Path) -> Result<FileKind, HubKeyError> {
    let io = |e: std::io::Error| HubKeyError::Io { path: path.to_path_buf(), message: e.to_string() };
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileKind::Missing),
        Err(e) => return Err(io(e)),
    };
    let mut head = Vec::with_capacity(16);
    Read::by_ref(&mut file).take(16).read_to_end(&mut head).map_err(io)?;
    Ok(match head.len() {
        0 => FileKind::Missing,
        16 if head == PLAIN_HEADER => FileKind::Clear,
        _ => FileKind::Encrypted,
    })
}

/// The key of the hub database at `db` from `key_file`, made (and the file written, readable
/// by its owner only) when neither exists yet. See the module's rules.
pub fn load_or_create(key_file: &Path, db: &Path) -> Result<HubKey, HubKeyError> {
    let kind = file_kind(db)?;
    if kind == FileKind::Clear {
        return Err(HubKeyError::NotEncrypted { path: db.to_path_buf() });
    }
    match std::fs::read_to_string(key_file) {
        Ok(text) => HubKey::parse(&text).ok_or_else(|| HubKeyError::NotAKey { path: key_file.to_path_buf() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if kind == FileKind::Encrypted {
                return Err(HubKeyError::KeyFileMissing { key_file: key_file.to_path_buf(), path: db.to_path_buf() });
            }
            let key = HubKey::generate()
                .map_err(|e| HubKeyError::Io { path: key_file.to_path_buf(), message: e.to_string() })?;
            write_key_file(key_file, &key)?;
            Ok(key)
        }
        Err(e) => Err(HubKeyError::Io { path: key_file.to_path_buf(), message: e.to_string() }),
    }
}

/// Refuses to open an encrypted hub database without a key.
pub fn require_clear(db: &Path) -> Result<(), HubKeyError> {
    match file_kind(db)? {
        FileKind::Encrypted => Err(HubKeyError::KeyNeeded { path: db.to_path_buf() }),
        _ => Ok(()),
    }
}

/// Writes a new key file (never replacing one), mode 0600 where there are modes, synced.
fn write_key_file(path: &Path, key: &HubKey) -> Result<(), HubKeyError> {
    let io = |e: std::io::Error| HubKeyError::Io { path: path.to_path_buf(), message: e.to_string() };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io)?;
    file.write_all(format!("{}\n", key.text()).as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_reads_back_as_written_with_any_spacing_and_case() {
        let key = HubKey::generate().unwrap();
        let grouped: String = key
            .text()
            .to_lowercase()
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("-");
        assert_eq!(HubKey::parse(&grouped), Some(key.clone()));
        assert_eq!(HubKey::parse(&format!(" {} \n", key.text())), Some(key));
        assert_eq!(HubKey::parse("ABCD"), None);
        assert_eq!(HubKey::parse(&"G".repeat(64)), None);
    }

    #[test]
    fn a_key_file_is_made_only_for_a_new_database_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (db, key_file) = (dir.path().join("hub.db"), dir.path().join("hub.key"));
        let key = load_or_create(&key_file, &db).unwrap();
        assert_eq!(load_or_create(&key_file, &db).unwrap(), key, "the file's key is used again");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(&db, b"not a clear sqlite header, so encrypted").unwrap();
        std::fs::remove_file(&key_file).unwrap();
        assert!(matches!(load_or_create(&key_file, &db), Err(HubKeyError::KeyFileMissing { .. })));
        assert!(!key_file.exists(), "no new key for a database that exists");
        std::fs::write(&key_file, "12345").unwrap();
        std::fs::remove_file(&db).unwrap();
        assert!(matches!(load_or_create(&key_file, &db), Err(HubKeyError::NotAKey { .. })));
    }
}
