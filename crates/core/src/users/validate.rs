//! Input rules for staff accounts. Each failure names its field.

use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Role;

/// The most characters of a username.
pub const USERNAME_MAX: usize = 32;
/// The most characters of a staff account's full name.
pub const FULL_NAME_MAX: usize = 100;

pub fn username(raw: &str) -> Result<String> {
    let u = raw.trim().to_lowercase();
    let n = u.chars().count();
    if n == 0 {
        return Err(Error::validation("username", ValidationReason::Required, "a username is required"));
    }
    if n < 3 {
        return Err(Error::validation("username", ValidationReason::TooShort, "at least 3 characters"));
    }
    if n > USERNAME_MAX {
        return Err(Error::validation(
            "username",
            ValidationReason::TooLong,
            format!("at most {USERNAME_MAX} characters"),
        ));
    }
    if !u.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')) {
        return Err(Error::validation(
            "username",
            ValidationReason::Invalid,
            "use letters a–z, digits, '.', '_' or '-'",
        ));
    }
    Ok(u)
}

pub fn full_name(raw: &str) -> Result<String> {
    // Collapse runs of white space so "Ravi   Kumar" and "Ravi Kumar" are the same name.
    let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        return Err(Error::validation("full_name", ValidationReason::Required, "a name is required"));
    }
    if name.chars().count() > FULL_NAME_MAX {
        return Err(Error::validation(
            "full_name",
            ValidationReason::TooLong,
            format!("at most {FULL_NAME_MAX} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::validation("full_name", ValidationReason::Invalid, "contains control characters"));
    }
    Ok(name)
}

/// Role codes as sent by the UI; unknown codes are a typed error, not a decoding failure.
pub fn roles(codes: &[String]) -> Result<Vec<Role>> {
    let mut roles = Vec::new();
    for code in codes {
        let role = Role::from_code(code.trim())
            .ok_or_else(|| Error::validation("roles", ValidationReason::Invalid, format!("unknown role '{code}'")))?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    if roles.is_empty() {
        return Err(Error::validation("roles", ValidationReason::Required, "choose at least one role"));
    }
    roles.sort();
    Ok(roles)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason<T: std::fmt::Debug>(r: Result<T>) -> (String, ValidationReason) {
        match r {
            Err(Error::Validation { field, reason, .. }) => (field, reason),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn usernames() {
        assert_eq!(username("  Ravi.K ").unwrap(), "ravi.k");
        assert_eq!(reason(username("")), ("username".into(), ValidationReason::Required));
        assert_eq!(reason(username("ab")), ("username".into(), ValidationReason::TooShort));
        assert_eq!(reason(username(&"a".repeat(33))), ("username".into(), ValidationReason::TooLong));
        assert_eq!(reason(username("ravi kumar")), ("username".into(), ValidationReason::Invalid));
        assert_eq!(reason(username("rávi")), ("username".into(), ValidationReason::Invalid));
    }

    #[test]
    fn names() {
        assert_eq!(full_name("  Ravi   Kumar ").unwrap(), "Ravi Kumar");
        assert_eq!(full_name("Zoë Ñúñez").unwrap(), "Zoë Ñúñez");
        assert_eq!(reason(full_name("   ")), ("full_name".into(), ValidationReason::Required));
        assert_eq!(reason(full_name(&"x".repeat(101))), ("full_name".into(), ValidationReason::TooLong));
    }

    #[test]
    fn role_codes() {
        let r = roles(&["nurse".into(), "admin".into(), "nurse".into()]).unwrap();
        assert_eq!(r, vec![Role::Admin, Role::Nurse]);
        assert_eq!(reason(roles(&[])), ("roles".into(), ValidationReason::Required));
        assert_eq!(reason(roles(&["janitor".into()])), ("roles".into(), ValidationReason::Invalid));
    }
}
