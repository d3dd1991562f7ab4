//! The value rules a synced change's data must pass before anyone stores or applies it.
//!
//! Every table gets the common rules: the data is a JSON object whose keys are column names
//! (lowercase letters, digits, `_`), whose `id` (when present) is the change's entity id,
//! whose id-like fields (`*_id`, `updated_by`, `origin_device`) are ids, whose `updated_at`
//! is a clock stamp, and whose text is bounded. Tables add their own rules (users' roles and
//! password hashes, attachments' content hashes, ...) in [`crate::entities`].

use crate::entities::{Entity, IdKind, Rule};
use crate::forms::{id_like, uuid_like, valid_sha256};
use crate::rbac::Role;
use serde_json::{Map, Value};

/// The longest text any synced field holds, except the settings values (a clinic's logo).
pub const MAX_TEXT_CHARS: usize = 64 * 1024;
/// The largest clinic logo file (a PNG), in bytes. In base64 (4 characters for 3 bytes) with
/// the JSON around it, its settings change stays under the protocol's change limit
/// (`hms_protocol::MAX_CHANGE_BYTES`, 256 KiB), so the largest allowed logo syncs.
pub const MAX_LOGO_BYTES: usize = 160 * 1024;
/// The longest settings value: a logo of [`MAX_LOGO_BYTES`] in base64.
pub const MAX_SETTING_CHARS: usize = MAX_LOGO_BYTES.div_ceil(3) * 4;
// The largest settings change: the value, its key and the row's other fields (well under 4 KiB).
const _: () = assert!(MAX_SETTING_CHARS + 4 * 1024 <= hms_protocol::MAX_CHANGE_BYTES);
/// At most this many fields in one change.
pub const MAX_FIELDS: usize = 128;

/// Fields named `*_id` that are people's numbers (free text), not row ids.
const FREE_TEXT_IDS: &[&str] = &["national_id", "insurance_id"];

/// Why a value was refused: the field and what is wrong, for people and logs.
pub type ValueError = String;

/// The length of a value's JSON text, counted as it is written (nothing is kept).
pub fn json_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Counting cannot fail, nor can writing a JSON value (its keys are strings).
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

fn column_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` with each part in its range (a day of 31 passes in any month:
/// the reader refuses what its calendar does not know).
fn utc_millis(s: &str) -> bool {
    let b = s.as_bytes();
    let num = |from: usize, to: usize| -> Option<u32> {
        let part = s.get(from..to)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
    };
    let seps = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.'), (23, b'Z')];
    b.len() == 24
        && seps.iter().all(|(i, c)| b[*i] == *c)
        && num(0, 4).is_some()
        && num(5, 7).is_some_and(|m| (1..=12).contains(&m))
        && num(8, 10).is_some_and(|d| (1..=31).contains(&d))
        && num(11, 13).is_some_and(|h| h < 24)
        && num(14, 16).is_some_and(|m| m < 60)
        && num(17, 19).is_some_and(|x| x < 60)
        && num(20, 23).is_some()
}

/// A real calendar day `YYYY-MM-DD` (30 February does not pass).
fn calendar_day(s: &str) -> bool {
    if !date_like(s) {
        return false;
    }
    let num = |from: usize, to: usize| s.get(from..to).and_then(|p| p.parse::<u32>().ok()).unwrap_or(0);
    let (y, m, d) = (num(0, 4), num(5, 7), num(8, 10));
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

fn date_like(s: &str) -> bool {
    s.len() == 10 && s.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() })
}

/// The entity id of a change of `entity`.
pub fn check_entity_id(entity: &Entity, id: &str) -> Result<(), ValueError> {
    let ok = match entity.id {
        IdKind::Uuid => uuid_like(id),
        IdKind::ServiceDate => id.split_once('@').is_some_and(|(s, d)| uuid_like(s) && date_like(d)),
        IdKind::SettingKey => column_name(id),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("entity_id {id:?} is not a valid {} id", entity.name))
    }
}

/// The data of a change of `entity` (an insert or update; a delete carries what it carries).
pub fn check_data(entity: &Entity, entity_id: &str, data: &Value) -> Result<(), ValueError> {
    let Value::Object(map) = data else {
        return Err("data must be a JSON object".into());
    };
    if map.len() > MAX_FIELDS {
        return Err(format!("data has {} fields; at most {MAX_FIELDS}", map.len()));
    }
    for (key, value) in map {
        if !column_name(key) {
            return Err(format!("data has a field named {key:?}; names are lowercase letters, digits and '_'"));
        }
        check_common(entity, entity_id, key, value, map)?;
        if let Some((_, rule)) = entity.fields.iter().find(|(f, _)| f == key) {
            check_rule(key, *rule, value)?;
        }
    }
    Ok(())
}

fn check_common(
    entity: &Entity,
    entity_id: &str,
    key: &str,
    value: &Value,
    _map: &Map<String, Value>,
) -> Result<(), ValueError> {
    match value {
        Value::String(s) => {
            let limit = if entity.name == "settings" && key == "value" { MAX_SETTING_CHARS } else { MAX_TEXT_CHARS };
            if s.chars().count() > limit {
                return Err(format!("{key}: at most {limit} characters"));
            }
            if s.contains('\0') {
                return Err(format!("{key}: no NUL characters"));
            }
        }
        Value::Array(_) | Value::Object(_) => {
            if json_len(value) > MAX_TEXT_CHARS {
                return Err(format!("{key}: at most {MAX_TEXT_CHARS} bytes of JSON"));
            }
        }
        Value::Number(n) => {
            if n.as_i64().is_none() && n.as_f64().is_none_or(|f| !f.is_finite()) {
                return Err(format!("{key}: not a number a table can hold"));
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
    let is_key_column = key == entity_key_column(entity);
    if is_key_column && value.as_str() != Some(entity_id) {
        return Err(format!("{key} must be the change's entity_id"));
    }
    let id_field =
        (key.ends_with("_id") && !FREE_TEXT_IDS.contains(&key)) || key == "updated_by" || key == "origin_device";
    if id_field && !is_key_column {
        match value {
            Value::Null => {}
            Value::String(s) if id_like(s) => {}
            _ => return Err(format!("{key}: an id (letters, digits, '-', '_', '.', '@', ':', at most 128)")),
        }
    }
    if key == "updated_at" && !value.as_str().is_some_and(crate::stamp::valid) {
        return Err("updated_at: a clock stamp <16 digits>-<6 digits>-<device>".into());
    }
    Ok(())
}

fn entity_key_column(entity: &Entity) -> &'static str {
    if entity.id == IdKind::SettingKey {
        "key"
    } else {
        "id"
    }
}

fn check_rule(key: &str, rule: Rule, value: &Value) -> Result<(), ValueError> {
    let text = value.as_str();
    let ok = match rule {
        Rule::Text(max) => text.is_some_and(|s| s.chars().count() <= max && !s.chars().any(char::is_control)),
        Rule::RequiredText(max) => {
            text.is_some_and(|s| !s.trim().is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control))
        }
        Rule::Username => text.is_some_and(|s| {
            (3..=32).contains(&s.len())
                && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'))
        }),
        Rule::PasswordHash => text.is_some_and(|s| s.starts_with("$argon2id$") && s.len() <= 512 && s.is_ascii()),
        Rule::Roles => roles_of(value).is_some_and(|r| !r.is_empty()),
        Rule::Flag => matches!(value, Value::Bool(_)) || value.as_i64().is_some_and(|n| n == 0 || n == 1),
        Rule::OneOf(options) => text.is_some_and(|s| options.contains(&s)),
        Rule::Int(min, max) => value.as_i64().is_some_and(|n| (min..=max).contains(&n)),
        Rule::Sha256 => text.is_some_and(valid_sha256),
        Rule::UtcMillis => text.is_some_and(utc_millis),
        Rule::LongText(max) => text
            .is_some_and(|s| s.chars().count() <= max && !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t')),
        Rule::JsonObjects(max) => json_objects(value, max),
        Rule::Day => text.is_some_and(calendar_day),
        Rule::NonZero(max) => value.as_i64().is_some_and(|n| n != 0 && n.abs() <= max),
        Rule::IntOrNull(min, max) => value.is_null() || value.as_i64().is_some_and(|n| (min..=max).contains(&n)),
        Rule::HexOrNull(len) => {
            value.is_null()
                || text.is_some_and(|s| s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        }
        Rule::FileName => text.is_some_and(|s| {
            !s.is_empty()
                && s.chars().count() <= 200
                && !s.contains(['/', '\\', '\0'])
                && s != "."
                && s != ".."
                && !s.chars().any(char::is_control)
        }),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{key}: {}", describe(rule)))
    }
}

fn describe(rule: Rule) -> String {
    match rule {
        Rule::Text(max) => format!("text of at most {max} characters, no control characters"),
        Rule::RequiredText(max) => format!("text that is not blank, at most {max} characters, no control characters"),
        Rule::Username => "3 to 32 of a-z, 0-9, '.', '_', '-'".into(),
        Rule::PasswordHash => "an argon2id hash".into(),
        Rule::Roles => "a list of known role codes".into(),
        Rule::Flag => "true or false".into(),
        Rule::OneOf(options) => format!("one of {}", options.join(", ")),
        Rule::Int(min, max) => format!("a whole number from {min} to {max}"),
        Rule::Sha256 => "64 lowercase hex characters".into(),
        Rule::UtcMillis => "a UTC time YYYY-MM-DDTHH:MM:SS.mmmZ".into(),
        Rule::LongText(max) => format!("text of at most {max} characters, no control characters but line breaks"),
        Rule::JsonObjects(max) => format!("a JSON list of at most {max} objects"),
        Rule::Day => "a calendar day YYYY-MM-DD".into(),
        Rule::NonZero(max) => format!("a whole number other than 0, from -{max} to {max}"),
        Rule::IntOrNull(min, max) => format!("a whole number from {min} to {max}, or null"),
        Rule::FileName => "a file name without folders, at most 200 characters".into(),
        Rule::HexOrNull(len) => format!("{len} lowercase hex characters, or null"),
    }
}

/// The roles of a `users.roles` value: a JSON array of role codes, or its text (as the
/// device's column holds it). `None` when anything in it is not a known role.
pub fn roles_of(value: &Value) -> Option<Vec<Role>> {
    let parsed;
    let list = match value {
        Value::Array(list) => list,
        Value::String(text) => {
            parsed = serde_json::from_str::<Value>(text).ok()?;
            parsed.as_array()?
        }
        _ => return None,
    };
    let mut roles = list.iter().map(|v| v.as_str().and_then(Role::from_code)).collect::<Option<Vec<_>>>()?;
    roles.sort();
    roles.dedup();
    Some(roles)
}

/// A `users.active` value as a flag.
pub fn flag_of(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        other => other.as_i64().and_then(|n| match n {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }),
    }
}

/// A JSON array of at most `max` objects, given as the array or as its text (how a device's
/// change carries a JSON column).
fn json_objects(value: &Value, max: usize) -> bool {
    let parsed;
    let list = match value {
        Value::Array(items) => items,
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Array(items)) => {
                parsed = items;
                &parsed
            }
            _ => return false,
        },
        _ => return false,
    };
    list.len() <= max && list.iter().all(Value::is_object)
}
