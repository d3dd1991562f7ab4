//! This device's signing key: a random Ed25519 key made on first open, kept in a file beside
//! the database (`hms.db.device-key`), never in it, readable only by the user who runs HMS.
//! Its public half is registered with the sync server at enrolment; every change this device
//! writes is signed with it (see `seal`). A copy of `hms.db` alone cannot sign as this
//! device.

use crate::error::{Error, Result};
use ed25519_dalek::SigningKey;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The key file of the database at `db_path`.
pub fn key_path(db_path: &Path) -> PathBuf {
    let mut name = db_path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".device-key");
    db_path.with_file_name(name)
}

/// Reads the device key beside the database, making one first if there is none.
pub(crate) fn load_or_create(db_path: &Path) -> Result<SigningKey> {
    let path = key_path(db_path);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&text).ok_or_else(|| storage(&path, "is not a device key (64 hex digits)")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(&path),
        Err(e) => Err(storage(&path, &e.to_string())),
    }
}

fn parse(text: &str) -> Option<SigningKey> {
    let bytes: [u8; 32] = hex::decode(text.trim()).ok()?.try_into().ok()?;
    Some(SigningKey::from_bytes(&bytes))
}

fn create(path: &Path) -> Result<SigningKey> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| storage(path, &format!("no randomness from the system: {e}")))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(hex::encode(secret).as_bytes())
                .and_then(|_| file.sync_all())
                .map_err(|e| storage(path, &e.to_string()))?;
            Ok(SigningKey::from_bytes(&secret))
        }
        // Another process (the CLI) made it first: use that one.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(path).map_err(|e| storage(path, &e.to_string()))?;
            parse(&text).ok_or_else(|| storage(path, "is not a device key (64 hex digits)"))
        }
        Err(e) => Err(storage(path, &e.to_string())),
    }
}

/// Seals a secret kept in the database (the sync token) with a key derived from the device
/// key, which lives outside the database file: a copy of `hms.db` alone does not reveal it.
/// Answers `v1.` then base64 of a random 12-byte nonce and the ChaCha20-Poly1305 ciphertext.
pub(crate) fn seal_secret(device: &SigningKey, plain: &str) -> Result<String> {
    use base64::Engine;
    use chacha20poly1305::aead::{Aead, KeyInit};
    let cipher = chacha20poly1305::ChaCha20Poly1305::new(&secret_key(device).into());
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).map_err(|e| Error::internal(format!("no randomness from the system: {e}")))?;
    let sealed = cipher
        .encrypt(&nonce.into(), plain.as_bytes())
        .map_err(|_| Error::internal("the secret could not be sealed"))?;
    let mut bytes = nonce.to_vec();
    bytes.extend_from_slice(&sealed);
    Ok(format!("{SEALED_PREFIX}{}", base64::engine::general_purpose::STANDARD.encode(&bytes)))
}

/// Opens what [`seal_secret`] sealed with the same device key; `None` for anything else (another
/// device's key file, altered text).
pub(crate) fn open_secret(device: &SigningKey, sealed: &str) -> Option<String> {
    use base64::Engine;
    use chacha20poly1305::aead::{Aead, KeyInit};
    let bytes = base64::engine::general_purpose::STANDARD.decode(sealed.strip_prefix(SEALED_PREFIX)?).ok()?;
    if bytes.len() < 12 {
        return None;
    }
    let (nonce, text) = bytes.split_at(12);
    let nonce: [u8; 12] = nonce.try_into().ok()?;
    let cipher = chacha20poly1305::ChaCha20Poly1305::new(&secret_key(device).into());
    String::from_utf8(cipher.decrypt(&nonce.into(), text).ok()?).ok()
}

const SEALED_PREFIX: &str = "v1.";

/// Whether `text` has the form [`seal_secret`] gives (whatever key sealed it).
pub(crate) fn is_sealed(text: &str) -> bool {
    text.starts_with(SEALED_PREFIX)
}

/// The sealing key: SHA-256 of a fixed label and the device's secret key (never the signing key
/// itself, so a sealed value and a signature never share a key).
fn secret_key(device: &SigningKey) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"hms secret sealing key v1\0");
    h.update(device.to_bytes());
    h.finalize().into()
}

fn storage(path: &Path, why: &str) -> Error {
    Error::storage(format_args!("device key {}: {why}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_made_once_and_kept_beside_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("hms.db");
        let first = load_or_create(&db).unwrap();
        assert_eq!(key_path(&db), dir.path().join("hms.db.device-key"));
        assert_eq!(load_or_create(&db).unwrap().to_bytes(), first.to_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(key_path(&db)).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "readable by its owner only");
        }
        // A sealed secret opens with this key only.
        let sealed = seal_secret(&first, "t0ken.secret").unwrap();
        assert!(!sealed.contains("t0ken"));
        assert_eq!(open_secret(&first, &sealed).as_deref(), Some("t0ken.secret"));
        assert_eq!(open_secret(&SigningKey::from_bytes(&[7; 32]), &sealed), None);
        assert_eq!(open_secret(&first, &sealed.replace("v1.", "v1.A")), None);
        std::fs::write(key_path(&db), "not a key").unwrap();
        assert!(matches!(load_or_create(&db), Err(Error::Storage { .. })));
    }
}
