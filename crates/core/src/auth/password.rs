//! Password hashing (argon2id with OWASP's parameters) and the strength rules.

use crate::error::{Error, Result, ValidationReason};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::OnceLock;

/// OWASP's argon2id recommendation: 19 MiB of memory, 2 passes, 1 lane.
pub(crate) const MEMORY_KIB: u32 = 19 * 1024;
pub(crate) const PASSES: u32 = 2;
pub(crate) const LANES: u32 = 1;

pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 128;

fn hasher() -> Result<Argon2<'static>> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).map_err(Error::internal)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password into a PHC string (salt and parameters included).
pub fn hash(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(hasher()?.hash_password(password.as_bytes(), &salt).map_err(Error::internal)?.to_string())
}

/// Checks a password against a stored PHC string, using the parameters stored with it.
pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
}

/// Spends the same time as a real check, for unknown usernames (no timing oracle).
pub fn verify_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let phc = DUMMY.get_or_init(|| hash("dummy-password-for-timing").unwrap_or_default());
    let _ = verify(password, phc);
}

/// The strength rules: 10–128 characters, at least three of lower case, upper case, digits
/// and symbols, and not containing the username.
pub fn check_strength(field: &str, password: &str, username: &str) -> Result<()> {
    let len = password.chars().count();
    if len == 0 {
        return Err(Error::validation(field, ValidationReason::Required, "a password is required"));
    }
    if len < MIN_LEN {
        return Err(Error::validation(field, ValidationReason::TooShort, format!("at least {MIN_LEN} characters")));
    }
    if len > MAX_LEN {
        return Err(Error::validation(field, ValidationReason::TooLong, format!("at most {MAX_LEN} characters")));
    }
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ];
    if classes.iter().filter(|c| **c).count() < 3 {
        return Err(Error::validation(
            field,
            ValidationReason::WeakPassword,
            "use at least three of: lower case, upper case, digits, symbols",
        ));
    }
    let user = username.trim().to_lowercase();
    if user.len() >= 3 && password.to_lowercase().contains(&user) {
        return Err(Error::validation(
            field,
            ValidationReason::WeakPassword,
            "the password must not contain the username",
        ));
    }
    Ok(())
}

/// Runs hashing off the async threads: it takes tens of milliseconds of CPU by design.
pub async fn hash_async(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash(&password)).await.map_err(Error::internal)?
}

pub async fn verify_async(password: String, phc: Option<String>) -> Result<bool> {
    tokio::task::spawn_blocking(move || match phc {
        Some(phc) => verify(&password, &phc),
        None => {
            verify_dummy(&password);
            false
        }
    })
    .await
    .map_err(Error::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_argon2id_with_owasp_parameters_and_verifies() {
        let phc = hash("Correct#Horse9").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("Correct#Horse9", &phc));
        assert!(!verify("correct#horse9", &phc));
        assert!(!verify("Correct#Horse9", "not a hash"));
    }

    #[test]
    fn same_password_gets_different_salts() {
        assert_ne!(hash("Correct#Horse9").unwrap(), hash("Correct#Horse9").unwrap());
    }

    #[test]
    fn strength_rules() {
        let reason = |pw: &str, user: &str| match check_strength("password", pw, user) {
            Ok(()) => None,
            Err(Error::Validation { reason, field, .. }) => {
                assert_eq!(field, "password");
                Some(reason)
            }
            Err(e) => panic!("{e:?}"),
        };
        assert_eq!(reason("", "ravi"), Some(ValidationReason::Required));
        assert_eq!(reason("Ab1#", "ravi"), Some(ValidationReason::TooShort));
        assert_eq!(reason(&"Ab1#".repeat(40), "ravi"), Some(ValidationReason::TooLong));
        assert_eq!(reason("alllowercaseletters", "ravi"), Some(ValidationReason::WeakPassword));
        assert_eq!(reason("Ravi#2026secure", "ravi"), Some(ValidationReason::WeakPassword));
        assert_eq!(reason("Clinic#2026adm", "ravi"), None);
        assert_eq!(reason("clinicdesk2026!", "ravi"), None);
    }
}
