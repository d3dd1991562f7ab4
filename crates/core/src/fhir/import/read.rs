//! Reading import files: a FHIR `Bundle` (its entries' `resource`s, with their `fullUrl`s),
//! newline-delimited JSON (one resource a line), or a single resource. Whatever cannot be
//! read is a [`Problem`] naming the file and where; nothing of a file that is not FHIR R4 JSON
//! is used.

use super::report::Problem;
use crate::error::{Error, Result, ValidationReason};
use serde::Deserialize;
use serde_json::Value;
use std::path::Path;

/// The largest file an import reads: 256 MiB, checked before reading (a parsed file takes
/// several times its size in memory). Larger exports come as NDJSON files per resource type.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Bundle types whose entries are read as records (`document`, `message` and `history` are
/// not records to import).
const BUNDLE_TYPES: [&str; 4] = ["collection", "transaction", "batch", "searchset"];

/// One resource read, with where it came from.
#[derive(Debug, Clone)]
pub struct Read {
    pub resource: Value,
    /// The entry's `fullUrl` (a bundle), for resolving references to it.
    pub full_url: Option<String>,
    /// `file` or `file:line`, for problems.
    pub origin: String,
}

/// A file's bytes with its name, checked against [`MAX_FILE_BYTES`].
#[derive(Debug, Clone)]
pub struct InputFile {
    pub name: String,
    pub data: Vec<u8>,
}

/// A file the app's webview read, its bytes as base64 (as the CSV import sends them).
#[derive(Debug, Clone, Deserialize, specta::Type)]
#[serde(rename = "FhirUpload")]
pub struct Upload {
    pub name: String,
    pub data_base64: String,
}

impl Upload {
    /// The file's bytes, its size checked against [`MAX_FILE_BYTES`] from the base64's length
    /// before anything is decoded. Errors name the field `fhir_file`.
    pub fn decode(&self) -> Result<InputFile> {
        use base64::Engine;
        let text = self.data_base64.trim();
        // Every 4 characters are 3 bytes, less one per `=` of padding.
        let padding = text.bytes().rev().take_while(|b| *b == b'=').count() as u64;
        let len = (text.len() as u64 / 4 * 3).saturating_sub(padding);
        if len > MAX_FILE_BYTES {
            return Err(Error::validation("fhir_file", ValidationReason::TooLong, too_big(&self.name, len)));
        }
        let data = base64::engine::general_purpose::STANDARD.decode(text).map_err(|_| {
            Error::validation("fhir_file", ValidationReason::Invalid, format!("{}: not base64", self.name))
        })?;
        Ok(InputFile { name: self.name.clone(), data })
    }
}

/// Reads a file from disk, refusing one over [`MAX_FILE_BYTES`] before reading it.
pub fn read_file(path: &Path) -> Result<InputFile> {
    let name = path.display().to_string();
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::validation("file", ValidationReason::Invalid, format!("{name}: {e}")))?;
    check_size(&name, meta.len())?;
    let data = std::fs::read(path)
        .map_err(|e| Error::validation("file", ValidationReason::Invalid, format!("{name}: {e}")))?;
    Ok(InputFile { name, data })
}

pub fn check_size(name: &str, len: u64) -> Result<()> {
    if len > MAX_FILE_BYTES {
        return Err(Error::validation("file", ValidationReason::TooLong, too_big(name, len)));
    }
    Ok(())
}

fn too_big(name: &str, len: u64) -> String {
    format!("{name}: {len} bytes; at most {MAX_FILE_BYTES} bytes (256 MiB) per file: split it, e.g. as NDJSON per resource type")
}

/// The resources of one file; what cannot be read goes to `problems`.
pub fn resources(file: &InputFile, problems: &mut Vec<Problem>) -> Vec<Read> {
    if let Err(Error::Validation { message, .. }) = check_size(&file.name, file.data.len() as u64) {
        problems.push(Problem::file(&file.name, "file", message));
        return Vec::new();
    }
    match serde_json::from_slice::<Value>(&file.data) {
        Ok(v) => whole(file, v, problems),
        // More than one line of JSON: NDJSON. A single line that does not parse is not JSON.
        Err(e) if !looks_like_ndjson(&file.data) => {
            problems.push(Problem::file(&file.name, "file", format!("not JSON: {e}")));
            Vec::new()
        }
        Err(_) => ndjson(file, problems),
    }
}

fn looks_like_ndjson(data: &[u8]) -> bool {
    data.split(|b| *b == b'\n').filter(|l| !l.iter().all(u8::is_ascii_whitespace)).nth(1).is_some()
}

fn whole(file: &InputFile, v: Value, problems: &mut Vec<Problem>) -> Vec<Read> {
    let Some(ty) = v.get("resourceType").and_then(Value::as_str) else {
        problems.push(Problem::file(&file.name, "resourceType", "JSON but not a FHIR resource (no resourceType)"));
        return Vec::new();
    };
    if ty != "Bundle" {
        return checked(Read { resource: v, full_url: None, origin: file.name.clone() }, problems)
            .into_iter()
            .collect();
    }
    if let Err(message) = super::version::check(&v) {
        problems.push(Problem::file(&file.name, "Bundle", message));
        return Vec::new();
    }
    let kind = v.get("type").and_then(Value::as_str).unwrap_or_default();
    if !BUNDLE_TYPES.contains(&kind) {
        let message = format!("a Bundle of type \"{kind}\"; collection, transaction, batch or searchset are imported");
        problems.push(Problem::file(&file.name, "Bundle.type", message));
        return Vec::new();
    }
    let entries = v.get("entry").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut out = Vec::new();
    for (i, mut entry) in entries.into_iter().enumerate() {
        let origin = format!("{}:entry[{i}]", file.name);
        let full_url = entry.get("fullUrl").and_then(Value::as_str).map(String::from);
        match entry.get_mut("resource").map(Value::take) {
            // A search's OperationOutcome entries are the server's messages, not records.
            Some(r) if kind == "searchset" && r["resourceType"] == "OperationOutcome" => {}
            Some(resource) => out.extend(checked(Read { resource, full_url, origin }, problems)),
            None => problems.push(Problem::file(&origin, "Bundle.entry.resource", "an entry without a resource")),
        }
    }
    out
}

fn ndjson(file: &InputFile, problems: &mut Vec<Problem>) -> Vec<Read> {
    let mut out = Vec::new();
    for (i, line) in file.data.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let origin = format!("{}:{}", file.name, i + 1);
        match serde_json::from_slice::<Value>(line) {
            Ok(resource) => out.extend(checked(Read { resource, full_url: None, origin }, problems)),
            Err(e) => problems.push(Problem::file(&origin, "line", format!("not JSON: {e}"))),
        }
    }
    out
}

/// A resource with a type and an R4 shape, else a problem.
fn checked(read: Read, problems: &mut Vec<Problem>) -> Option<Read> {
    let Some(ty) = read.resource.get("resourceType").and_then(Value::as_str) else {
        problems.push(Problem::file(&read.origin, "resourceType", "not a FHIR resource (no resourceType)"));
        return None;
    };
    if let Err(message) = super::version::check(&read.resource) {
        let id = read.resource.get("id").and_then(Value::as_str).unwrap_or("?");
        problems.push(Problem::resource(&format!("{ty}/{id}"), ty, message));
        return None;
    }
    Some(read)
}
