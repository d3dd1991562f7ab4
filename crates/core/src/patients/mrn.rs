//! Medical record numbers, minted offline: `<device prefix>-<sequence>`, e.g. `K7Q2-000123`.
//!
//! The prefix is this device's (`clinic::device_prefix`: 4 characters of Crockford base32,
//! drawn at random on first use); the sequence is local.
//! Two devices never mint the same MRN unless their prefixes collide, which the sync
//! server refuses at enrolment; if it ever happened, the unique index refuses the second.

use crate::clinic::{self, PREFIX_ALPHABET as ALPHABET};
use crate::error::Result;
use crate::store::{meta, WriteTx};

pub const SEQ_KEY: &str = "mrn_seq";

/// The next MRN of this device, inside the registration's transaction (so a rolled-back
/// registration gives its number back: no gaps from failures).
pub async fn next(w: &mut WriteTx<'_>) -> Result<String> {
    let mut one = reserve(w, 1).await?;
    one.pop().ok_or_else(|| crate::Error::internal("no MRN reserved"))
}

/// The next `count` MRNs of this device, in order.
pub async fn reserve(w: &mut WriteTx<'_>, count: u64) -> Result<Vec<String>> {
    let prefix = clinic::device_prefix(w).await?;
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
    fn mrn_queries_are_recognised_and_padded() {
        assert_eq!(looks_like(" k7q2-123 ").as_deref(), Some("K7Q2-000123"));
        assert_eq!(looks_like("K7Q2-000123").as_deref(), Some("K7Q2-000123"));
        assert_eq!(looks_like("ravi"), None);
        assert_eq!(looks_like("98450-12345"), None);
    }
}
