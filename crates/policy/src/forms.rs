//! The text forms of ids and hashes, as every rule reads them: a row's UUID, any id (of a
//! row, a user or a device), a content hash.

/// The longest id.
pub const MAX_ID_CHARS: usize = 128;

/// A UUID: 36 characters of hex and dashes.
pub fn uuid_like(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// An id of a row, a user or a device: 1 to 128 letters, digits, `-`, `_`, `.`, `@`, `:`.
pub fn id_like(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_CHARS
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@' | b':'))
}

/// A SHA-256 in lowercase hex: 64 characters.
pub fn valid_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
