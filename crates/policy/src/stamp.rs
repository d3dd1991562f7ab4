//! The text form of a hybrid-logical-clock stamp as it travels: `<16-digit millis>-<6-digit
//! counter>-<device>`. Fixed width, so text order is value order; anything else is refused
//! (a 7-digit counter would sort before a 6-digit one and break every merge).

/// The largest counter the form holds.
pub const MAX_COUNTER: u32 = 999_999;
/// The largest milliseconds value the form holds.
pub const MAX_MILLIS: i64 = 9_999_999_999_999_999;

/// Whether `s` is a well-formed stamp.
pub fn valid(s: &str) -> bool {
    parts(s).is_some()
}

/// The milliseconds and counter of a well-formed stamp.
pub fn parts(s: &str) -> Option<(i64, u32, &str)> {
    let mut it = s.splitn(3, '-');
    let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
    let (millis, counter, device) = (it.next()?, it.next()?, it.next()?);
    if !digits(millis, 16) || !digits(counter, 6) || !crate::forms::id_like(device) {
        return None;
    }
    Some((millis.parse().ok()?, counter.parse().ok()?, device))
}

/// The milliseconds of a well-formed stamp.
pub fn millis(s: &str) -> Option<i64> {
    parts(s).map(|(m, _, _)| m)
}
