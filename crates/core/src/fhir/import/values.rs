//! Reading FHIR values the way HMS stores them: ids, instants, the text of a concept.

use super::group::{id, name, ty};
use super::report::Problem;
use super::Failure;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The HMS id of an imported resource: its FHIR id when that is a UUID (HMS's own exports,
/// Synthea), else a UUID derived from the entry's absolute `fullUrl` (which names the source
/// server) or from `Type/id`: SHA-256, its first 16 bytes with version 8 (RFC 9562's custom
/// UUIDs). The same file gives the same ids every time, so a second import finds them.
pub fn stable_id(r: &Value, full_url: Option<&str>) -> String {
    if let Ok(u) = uuid::Uuid::parse_str(id(r)) {
        return u.to_string();
    }
    let source = match full_url.filter(|u| u.starts_with("http")) {
        Some(url) => url.to_string(),
        None => name(r),
    };
    derive(&source)
}

/// A UUID (version 8) derived from `seed`.
pub fn derive(seed: &str) -> String {
    let hash = Sha256::digest(format!("hms:fhir-import:{seed}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&hash[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(b).to_string()
}

/// A problem about `element` of resource `r`.
pub fn problem(r: &Value, element: &str, message: impl Into<String>) -> Failure {
    Failure::Problem(Problem::resource(&name(r), &format!("{}.{element}", ty(r)), message))
}

/// A FHIR `dateTime`/`instant`/`date` as HMS's UTC instant (RFC 3339, milliseconds); a date
/// alone is taken as its midnight UTC. A time after `now` is refused: records are of the past.
pub fn instant(r: &Value, element: &str, raw: &str, now: DateTime<Utc>) -> Result<String, Failure> {
    let parsed = DateTime::parse_from_rfc3339(raw).map(|d| d.with_timezone(&Utc)).ok().or_else(|| {
        let date = match raw.len() {
            4 => NaiveDate::parse_from_str(&format!("{raw}-01-01"), "%Y-%m-%d").ok(),
            7 => NaiveDate::parse_from_str(&format!("{raw}-01"), "%Y-%m-%d").ok(),
            _ => NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok(),
        };
        date.and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc())
    });
    let Some(at) = parsed else {
        return Err(problem(r, element, format!("{raw} is not a FHIR date or dateTime")));
    };
    if at > now {
        return Err(problem(r, element, format!("{raw} is in the future")));
    }
    Ok(at.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// A FHIR decimal as HMS writes it: 1.0 → "1", 0.5 → "0.5".
pub fn number(v: f64) -> String {
    let s = format!("{v}");
    s.strip_suffix(".0").map(String::from).unwrap_or(s)
}

/// An element's string value.
pub fn str_at<'a>(r: &'a Value, pointer: &str) -> Option<&'a str> {
    r.pointer(pointer).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// The words of a CodeableConcept: its `text`, else its first coding's display, else its
/// first coding as `system code`.
pub fn concept_text(c: &Value) -> String {
    if let Some(t) = str_at(c, "/text") {
        return t.to_string();
    }
    let codings = c.get("coding").and_then(Value::as_array).cloned().unwrap_or_default();
    if let Some(d) = codings.iter().find_map(|x| str_at(x, "/display")) {
        return d.to_string();
    }
    codings
        .iter()
        .find_map(|x| str_at(x, "/code").map(|code| format!("{} {code}", str_at(x, "/system").unwrap_or_default())))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// The code of the first coding of `concept` in `system`.
pub fn code_in<'a>(concept: &'a Value, systems: &[&str]) -> Option<&'a str> {
    concept.get("coding").and_then(Value::as_array)?.iter().find_map(|c| {
        let system = str_at(c, "/system")?;
        systems.contains(&system).then(|| str_at(c, "/code")).flatten()
    })
}
