//! Device tokens and enrolment codes: making them, hashing them, and checking a request's
//! bearer token against the devices table.
//!
//! A token is `<device id>.<64 hex chars>`: the device id selects the row, the 32 random bytes
//! are the secret, and the row holds only sha256 of the secret, compared in constant time.
//! The tenant a request acts for comes from that row, never from the request.

use crate::error::{ApiError, ErrorCode};
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Bytes of randomness in a device token.
pub const TOKEN_SECRET_BYTES: usize = 32;
/// Characters of an enrolment code (Crockford base32: 5 bits each, 80 bits in all).
pub const ENROL_CODE_CHARS: usize = 16;
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The device a request was authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: String,
    pub tenant_id: String,
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

pub fn random_bytes<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| {
        tracing::error!(error = %e, "no randomness from the operating system");
        ApiError::internal("internal error")
    })?;
    Ok(buf)
}

/// Device ids are the devices' own UUIDs (or what the server made); keep them to characters
/// that need no escaping in logs, URLs and the token format.
pub fn valid_device_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub fn format_token(device_id: &str, secret: &[u8; TOKEN_SECRET_BYTES]) -> String {
    format!("{device_id}.{}", hex::encode(secret))
}

/// Splits a token into its device id and secret; `None` when it is not of our form.
pub fn parse_token(token: &str) -> Option<(&str, [u8; TOKEN_SECRET_BYTES])> {
    let (device_id, secret_hex) = token.rsplit_once('.')?;
    if !valid_device_id(device_id) || secret_hex.len() != TOKEN_SECRET_BYTES * 2 {
        return None;
    }
    let mut secret = [0u8; TOKEN_SECRET_BYTES];
    hex::decode_to_slice(secret_hex, &mut secret).ok()?;
    Some((device_id, secret))
}

/// A new enrolment code for people to type: 16 Crockford base32 characters in groups of 4.
pub fn new_enrol_code() -> Result<String, ApiError> {
    let bytes: [u8; 10] = random_bytes()?;
    // 80 bits as 16 five-bit groups.
    let mut bits: u128 = 0;
    for b in bytes {
        bits = (bits << 8) | u128::from(b);
    }
    let mut code = String::with_capacity(ENROL_CODE_CHARS + 3);
    for i in 0..ENROL_CODE_CHARS {
        if i > 0 && i % 4 == 0 {
            code.push('-');
        }
        let shift = (ENROL_CODE_CHARS - 1 - i) * 5;
        code.push(char::from(CROCKFORD[((bits >> shift) & 31) as usize]));
    }
    Ok(code)
}

/// The canonical form of a typed code: no dashes or spaces, upper case, and the letters people
/// confuse with digits read as those digits (Crockford).
pub fn normalise_enrol_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect()
}

pub fn enrol_code_hash(code: &str) -> [u8; 32] {
    sha256(normalise_enrol_code(code).as_bytes())
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer <device token>"))?;
    let value = header.to_str().map_err(|_| ApiError::unauthorized("malformed Authorization header"))?;
    let (scheme, token) =
        value.split_once(' ').ok_or_else(|| ApiError::unauthorized("malformed Authorization header"))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::unauthorized("expected a Bearer token"));
    }
    Ok(token.trim())
}

/// Checks a bearer token: the device must exist, the secret must hash to what was stored,
/// and the device must not be revoked. Marks the device as seen.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Device, ApiError> {
    let unknown = || ApiError::unauthorized("unknown device token");
    let (device_id, secret) = parse_token(token).ok_or_else(unknown)?;
    let row = state.store.device_token(device_id).await?;
    let (tenant_id, stored, revoked) = row.ok_or_else(unknown)?;
    let presented = sha256(&secret);
    if !bool::from(presented.as_slice().ct_eq(stored.as_slice())) {
        return Err(unknown());
    }
    // Only a holder of the right secret learns that the device was revoked.
    if revoked {
        return Err(ApiError::new(
            ErrorCode::Revoked,
            "this device has been revoked; an administrator must enrol it again",
        ));
    }
    // Marks when the device was last seen, at most every 30 s so that a burst of requests
    // does not turn every read into a write.
    state.store.touch_device(device_id).await?;
    Ok(Device { id: device_id.to_string(), tenant_id })
}

impl FromRequestParts<AppState> for Device {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let result = match bearer(parts) {
            Ok(token) => authenticate(state, token).await,
            Err(e) => Err(e),
        };
        // Every authenticated request counts against its device's rate.
        let result = result.and_then(|d| state.throttle.request(&d.id, state.limits.requests_per_minute).map(|()| d));
        if let Err(e) = &result {
            if matches!(e.code, ErrorCode::Unauthorized | ErrorCode::Revoked) {
                state.metrics.auth_failures.inc();
                tracing::warn!(code = %e.code, "request refused");
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trips_and_rejects_other_shapes() {
        let secret = [7u8; 32];
        let token = format_token("dev-1", &secret);
        assert_eq!(parse_token(&token), Some(("dev-1", secret)));
        assert_eq!(parse_token("dev-1"), None);
        assert_eq!(parse_token("dev-1.abcd"), None);
        assert_eq!(parse_token(&format!("dev 1.{}", hex::encode(secret))), None);
        assert_eq!(parse_token(&format!("dev-1.{}", "zz".repeat(32))), None);
    }

    #[test]
    fn enrol_codes_are_grouped_and_normalise_what_people_type() {
        let code = new_enrol_code().unwrap();
        assert_eq!(code.len(), ENROL_CODE_CHARS + 3);
        assert_eq!(code.split('-').count(), 4);
        assert_eq!(normalise_enrol_code(&code.to_lowercase().replace('-', " ")), code.replace('-', ""));
        assert_eq!(normalise_enrol_code("o1l-I"), "0111");
        assert_eq!(enrol_code_hash("abcd-efgh"), enrol_code_hash("ABCDEFGH"));
    }

    #[test]
    fn device_ids_are_limited_to_safe_characters() {
        assert!(valid_device_id("0190c2a0-0000-7000-8000-000000000001"));
        assert!(!valid_device_id(""));
        assert!(!valid_device_id("a.b"));
        assert!(!valid_device_id(&"a".repeat(65)));
    }
}
