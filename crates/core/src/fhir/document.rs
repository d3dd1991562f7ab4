//! DocumentReference: an attachment of the record (scan, photo, letter). The file is inline
//! (base64) up to [`INLINE_MAX_BYTES`] when it is on this device; otherwise referenced by its
//! content address.

use super::context::Ctx;
use super::source::{opt, prune, text, Emit, Source};
use crate::error::Result;
use crate::store::blobs;
use base64::Engine;
use serde_json::json;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

/// Files up to 1 MiB go inline; larger ones would make a bundle too heavy to pass around.
pub const INLINE_MAX_BYTES: i64 = 1024 * 1024;

pub static ATTACHMENTS: Source = Source {
    table: "attachments",
    select: "SELECT t.id, t.patient_id, t.visit_id, t.file_name, t.media_type, t.size_bytes, t.sha256, t.note,
        t.created_at FROM attachments t",
    by_patient: Some("t.patient_id = ?1"),
    map,
};

fn map(row: &SqliteRow, cx: &Ctx<'_>, out: &mut Emit<'_>) -> Result<()> {
    let size = row.try_get::<i64, _>("size_bytes")?;
    let sha256 = text(row, "sha256")?;
    let data = if size <= INLINE_MAX_BYTES { blobs::read_intact(cx.store, &sha256) } else { None };
    let (data, url) = match data {
        Some(bytes) => (Some(base64::engine::general_purpose::STANDARD.encode(bytes)), None),
        None => (None, Some(format!("urn:hms:attachment:sha256:{sha256}"))),
    };
    let created = text(row, "created_at")?;
    out.value(prune(json!({
        "resourceType": "DocumentReference",
        "id": text(row, "id")?,
        "status": "current",
        "subject": cx.reference("Patient", &text(row, "patient_id")?),
        "date": created,
        "description": opt(row, "note")?,
        "content": [{ "attachment": {
            "contentType": text(row, "media_type")?,
            "data": data,
            "url": url,
            "size": size,
            "title": text(row, "file_name")?,
            "creation": created,
        } }],
        "context": opt(row, "visit_id")?.map(|v| json!({ "encounter": [cx.reference("Encounter", &v)] })),
    })))
}
