//! The blob store's files encrypted at rest (issue 14).
//!
//! A stored file is `HMSBLOB` and a version byte (8 bytes), a random 96-bit nonce, then the
//! content encrypted with AES-256-GCM, its 16-byte tag at the end. The key is derived from
//! the database key with HKDF-SHA256 under a label of its own, so the database key itself
//! never encrypts a file and a file key reveals nothing of the database key. The header and
//! the file's name (the SHA-256 of its content) are authenticated with it: a file changed on
//! the disk, or moved under another name, does not open.
//!
//! A file's name stays the SHA-256 of its clear content, so someone with the disk (and
//! without the key) can tell whether a content they already hold is stored here, and nothing
//! else (README "Encryption").

use super::db_key::DbKey;
use crate::error::{Error, Result};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::Aes256Gcm;
use zeroize::Zeroizing;

/// The first bytes of every encrypted file: a name and the format's version.
const MAGIC: &[u8; 8] = b"HMSBLOB\x01";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// HKDF's `info`: what the derived key is for.
const LABEL: &[u8] = b"hms blob store file key v1";

/// The key the blob store's files are encrypted with. Never printed; zeroed when dropped.
#[derive(Clone)]
pub struct BlobKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for BlobKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlobKey(…)")
    }
}

impl BlobKey {
    /// The file key of a database key.
    pub fn derive(db: &DbKey) -> BlobKey {
        let mut key = Zeroizing::new([0u8; 32]);
        // 32 bytes is far below HKDF-SHA256's limit (255 × 32): expanding cannot fail.
        let expanded = hkdf::Hkdf::<sha2::Sha256>::new(None, db.bytes()).expand(LABEL, key.as_mut());
        debug_assert!(expanded.is_ok());
        BlobKey(key)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(self.0.as_ref().into())
    }
}

/// Whether `stored` has the header of an encrypted file (whatever key encrypted it).
pub fn is_sealed(stored: &[u8]) -> bool {
    stored.len() >= MAGIC.len() + NONCE_LEN + TAG_LEN && stored.starts_with(MAGIC)
}

/// The bytes to store for `content`, named `name` (its SHA-256), encrypted with `key`.
pub fn seal(key: &BlobKey, name: &str, content: &[u8]) -> Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|e| Error::internal(format!("no randomness from the system: {e}")))?;
    let aad = aad(name);
    let sealed = key
        .cipher()
        .encrypt(&nonce.into(), Payload { msg: content, aad: &aad })
        .map_err(|_| Error::internal("a stored file could not be encrypted"))?;
    let mut out = Vec::with_capacity(MAGIC.len() + NONCE_LEN + sealed.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// The content of an encrypted file named `name`, when `key` opens it and nothing of it
/// changed; `None` otherwise (another key, damaged, not an encrypted file).
pub fn open(key: &BlobKey, name: &str, stored: &[u8]) -> Option<Vec<u8>> {
    if !is_sealed(stored) {
        return None;
    }
    let (nonce, sealed) = stored[MAGIC.len()..].split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
    key.cipher().decrypt(&nonce.into(), Payload { msg: sealed, aad: &aad(name) }).ok()
}

/// What is authenticated besides the content: the header and the file's name.
fn aad(name: &str) -> Vec<u8> {
    let mut aad = MAGIC.to_vec();
    aad.extend_from_slice(name.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_content_opens_only_with_its_key_and_name() {
        let key = BlobKey::derive(&DbKey::generate().unwrap());
        let name = "ab".repeat(32);
        let sealed = seal(&key, &name, b"x-ray report").unwrap();
        assert!(is_sealed(&sealed));
        assert_eq!(sealed.len(), 8 + 12 + 12 + 16);
        assert_eq!(open(&key, &name, &sealed).as_deref(), Some(&b"x-ray report"[..]));
        assert_ne!(seal(&key, &name, b"x-ray report").unwrap(), sealed, "a new nonce each time");
        assert_eq!(open(&key, &"cd".repeat(32), &sealed), None, "under another name");
        let other = BlobKey::derive(&DbKey::generate().unwrap());
        assert_eq!(open(&other, &name, &sealed), None, "another key");
        let mut changed = sealed.clone();
        changed[25] ^= 1;
        assert_eq!(open(&key, &name, &changed), None, "a changed byte");
        assert_eq!(open(&key, &name, b"x-ray report"), None, "a clear file");
    }
}
