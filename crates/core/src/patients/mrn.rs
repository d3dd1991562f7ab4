//! Medical record numbers, minted offline: `<device prefix>-<sequence>`, e.g. `K7Q2-000123`.
//!
//! The prefix is this device's (4 characters of Crockford base32, drawn at random on first
//! use, or set by the administrator before the first registration); the sequence is local.
//! Two devices never mint the same MRN unless their prefixes collide, which the sync
//! server refuses at enrolment; if it ever happened, the unique index refuses the second.

use crate::error::Result;
use crate::store::{meta, WriteTx};

pub const PREFIX_KEY: &str = "mrn_prefix";
pub const SEQ_KEY: &str = "mrn_seq";
const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

fn random_prefix() -> String {
    // UUIDv7's last bits are random: reuse them rather than add a RNG dependency.
    let bytes = uuid::Uuid::now_v7().into_bytes();
    let bits = u32::from_be_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
    (0..4).map(|i| ALPHABET[((bits >> (i * 5)) & 31) as usize] as char).collect()
}

/// The next MRN of this device, inside the registration's transaction (so a rolled-back
/// registration gives its number back: no gaps from failures).
pub async fn next(w: &mut WriteTx<'_>) -> Result<String> {
    let mut one = reserve(w, 1).await?;
    one.pop().ok_or_else(|| crate::Error::internal("no MRN reserved"))
}

/// This device's prefix, drawn on first use.
pub async fn prefix(w: &mut WriteTx<'_>) -> Result<String> {
    if let Some(p) = meta::get(w.conn(), PREFIX_KEY).await? {
        return Ok(p);
    }
    let p = random_prefix();
    meta::set(w.conn(), PREFIX_KEY, &p).await?;
    Ok(p)
}

/// The next `count` MRNs of this device, in order.
pub async fn reserve(w: &mut WriteTx<'_>, count: u64) -> Result<Vec<String>> {
    let prefix = prefix(w).await?;
    let last: u64 = meta::get(w.conn(), SEQ_KEY).await?.and_then(|s| s.parse().ok()).unwrap_or(0);
    meta::set(w.conn(), SEQ_KEY, &(last + count).to_string()).await?;
    Ok((last + 1..=last + count).map(|seq| format!("{prefix}-{seq:06}")).collect())
}

/// Whether a search query looks like an MRN (`XXXX-123`, any case).
pub fn looks_like(q: &str) -> Option<String> {
    let q = q.trim().to_uppercase();
    let (prefix, number) = q.split_once('-')?;
    let ok = prefix.len() == 4
        && prefix.bytes().all(|b| ALPHABET.contains(&b))
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| match number.parse::<u64>() {
        Ok(n) => format!("{prefix}-{n:06}"),
        Err(_) => q.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_four_crockford_characters() {
        for _ in 0..100 {
            let p = random_prefix();
            assert_eq!(p.len(), 4);
            assert!(p.bytes().all(|b| ALPHABET.contains(&b)), "{p}");
        }
    }

    #[test]
    fn mrn_queries_are_recognised_and_padded() {
        assert_eq!(looks_like(" k7q2-123 ").as_deref(), Some("K7Q2-000123"));
        assert_eq!(looks_like("K7Q2-000123").as_deref(), Some("K7Q2-000123"));
        assert_eq!(looks_like("ravi"), None);
        assert_eq!(looks_like("98450-12345"), None);
    }
}
