//! Attachments of the clinical record: scanned reports, photos, referral letters. The type is
//! read from the content's first bytes (PDF, PNG, JPEG, WebP), never from the name; at most
//! 20 MiB. The file is stored once per content in the device's blob store (`store::blobs`:
//! `attachments/<2 hex>/<sha256>` in the data directory, written so that a crash never leaves
//! half a file); the row holds the metadata and syncs. Opening re-hashes the
//! file: damaged bytes are `attachment_corrupt`. Files sync through the server apart from
//! their records (`sync::blobs`): the device that attached one uploads it after a push, and
//! opening a record synced from another device fetches its file; when that is not possible
//! (not enrolled, offline, not uploaded yet) the answer is `attachment_not_on_device`.

use super::{exists, insert_row, line, text};
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::blobs;
use crate::store::Store;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::PathBuf;

/// The largest file accepted: 20 MiB.
pub const MAX_BYTES: usize = 20 * 1024 * 1024;
/// The folder of stored files inside the data directory (the blob store's).
pub const DIR: &str = blobs::DIR;

#[derive(Debug, Clone, Default, Deserialize, specta::Type)]
pub struct AttachmentInput {
    pub patient_id: String,
    /// The visit it belongs to, if any (same patient).
    pub visit_id: Option<String>,
    /// The name it had on the uploader's machine (any folder is dropped).
    pub file_name: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Attachment {
    pub id: String,
    pub patient_id: String,
    pub visit_id: Option<String>,
    pub file_name: String,
    /// Detected from the content: application/pdf, image/png, image/jpeg or image/webp.
    pub media_type: String,
    /// At most 20 MiB: exact as a TypeScript number.
    #[specta(type = f64)]
    pub size_bytes: i64,
    /// Lowercase hex.
    pub sha256: String,
    pub note: String,
    pub created_at: String,
    /// Whether the file itself is on this device: false for a record synced from another device
    /// until it is first opened here (which fetches it from the sync server).
    pub on_device: bool,
}

/// An attachment opened: its record and the verified bytes.
pub struct OpenedAttachment {
    pub attachment: Attachment,
    pub bytes: Vec<u8>,
}

/// The media type of a supported file, from its magic bytes.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]) {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

fn extension(media_type: &str) -> &'static str {
    match media_type {
        "application/pdf" => "pdf",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        _ => "bin",
    }
}

/// The name to save a copy under for the system viewer: the original name, with the
/// extension of its real type when it lacks one (the viewer is chosen by extension).
pub fn viewer_name(a: &Attachment) -> String {
    let ext = extension(&a.media_type);
    let lower = a.file_name.to_lowercase();
    let has = lower.ends_with(&format!(".{ext}")) || (ext == "jpg" && lower.ends_with(".jpeg"));
    if has {
        a.file_name.clone()
    } else {
        format!("{}.{ext}", a.file_name)
    }
}

/// Where a content's file lives (in the blob store); `None` unless `sha256` is 64 lowercase hex
/// digits. A synced row's hash names no other path (`/dev/zero`, `../..`): such a record has no file.
pub fn stored_path(store: &Store, sha256: &str) -> Option<PathBuf> {
    blobs::path(store, sha256)
}

/// Checks a file before anything is written: size and type (on field `file`), name.
fn check(input: &AttachmentInput, bytes: &[u8]) -> Result<(String, &'static str, String)> {
    if bytes.is_empty() {
        return Err(Error::validation("file", ValidationReason::Required, "the file is empty"));
    }
    if bytes.len() > MAX_BYTES {
        return Err(Error::validation("file", ValidationReason::TooLong, "the file is larger than 20 MB"));
    }
    let Some(media_type) = sniff(bytes) else {
        return Err(Error::validation(
            "file",
            ValidationReason::Invalid,
            "unsupported type: attach a PDF, PNG, JPEG or WebP file",
        ));
    };
    // Only the last part of a path: the name is shown and used for the viewer's copy.
    let base = input.file_name.rsplit(['/', '\\']).next().unwrap_or_default();
    let file_name = line("file_name", base, 200, true)?;
    let note = text("note", &input.note, 2_000)?;
    Ok((file_name, media_type, note))
}

/// Attaches a file to a patient's record (doctor or nurse). Validation errors name `file`
/// (empty, larger than 20 MB, unsupported type), `file_name`, `note`, `patient_id` or
/// `visit_id`, and nothing is written.
pub async fn add(store: &Store, auth: &Authorized, input: AttachmentInput, bytes: &[u8]) -> Result<Attachment> {
    if auth.require(Permission::ClinicalEdit).is_err() {
        auth.require(Permission::VitalsEdit)?;
    }
    super::restriction::require_chart(store, auth, input.patient_id.trim()).await?;
    let (file_name, media_type, note) = check(&input, bytes)?;
    let sha256 = blobs::sha256_hex(bytes);
    let mut w = store.begin_write(auth.actor()).await?;
    let patient_id = input.patient_id.trim();
    if patient_id.is_empty() || !exists(&mut w, "patients", patient_id).await? {
        return Err(Error::validation("patient_id", ValidationReason::Invalid, "unknown patient"));
    }
    let visit_id = input.visit_id.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if let Some(v) = visit_id {
        let p: Option<String> = sqlx::query_scalar("SELECT patient_id FROM visits WHERE id = ? AND deleted_at IS NULL")
            .bind(v)
            .fetch_optional(w.conn())
            .await?;
        if p.as_deref() != Some(patient_id) {
            return Err(Error::validation("visit_id", ValidationReason::Invalid, "unknown visit of this patient"));
        }
    }
    // The file before the row: a failed commit leaves at most an unreferenced file, which a
    // later upload of the same content reuses; never a row without its file.
    blobs::put(store, &sha256, bytes)?;
    let id = crate::ids::new_id();
    let by = w.actor().user_id.clone();
    let size = bytes.len() as i64;
    insert_row(
        &mut w,
        "attachments",
        &id,
        &[
            ("patient_id", json!(patient_id)),
            ("visit_id", json!(visit_id)),
            ("file_name", json!(file_name)),
            ("media_type", json!(media_type)),
            ("size_bytes", json!(size)),
            ("sha256", json!(sha256)),
            ("note", json!(note)),
            ("created_by", json!(by)),
        ],
    )
    .await?;
    w.audit(
        "attachment.add",
        "attachment",
        Some(&id),
        json!({ "patient_id": patient_id, "visit_id": visit_id, "media_type": media_type, "size_bytes": size, "sha256": sha256 }),
    )
    .await?;
    let created_at: String =
        sqlx::query_scalar("SELECT created_at FROM attachments WHERE id = ?").bind(&id).fetch_one(w.conn()).await?;
    w.commit().await?;
    Ok(Attachment {
        id,
        patient_id: patient_id.to_string(),
        visit_id: visit_id.map(String::from),
        file_name,
        media_type: media_type.to_string(),
        size_bytes: size,
        sha256,
        note,
        created_at,
        on_device: true,
    })
}

/// An attachment record as [`SELECT`] reads it.
#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    patient_id: String,
    visit_id: Option<String>,
    file_name: String,
    media_type: String,
    size_bytes: i64,
    sha256: String,
    note: String,
    created_at: String,
}

/// The columns of a [`Row`], written once.
const SELECT: &str =
    "SELECT id, patient_id, visit_id, file_name, media_type, size_bytes, sha256, note, created_at FROM attachments";

fn of(store: &Store, r: Row) -> Attachment {
    let on_device = blobs::has(store, &r.sha256);
    Attachment {
        id: r.id,
        patient_id: r.patient_id,
        visit_id: r.visit_id,
        file_name: r.file_name,
        media_type: r.media_type,
        size_bytes: r.size_bytes,
        sha256: r.sha256,
        note: r.note,
        created_at: r.created_at,
        on_device,
    }
}

/// A patient's attachments, newest first; with `visit_id`, only that visit's.
pub async fn list(
    store: &Store,
    auth: &Authorized,
    patient_id: &str,
    visit_id: Option<&str>,
) -> Result<Vec<Attachment>> {
    auth.require(Permission::ClinicalView)?;
    super::restriction::require_chart(store, auth, patient_id).await?;
    let sql = format!("{SELECT} WHERE patient_id = ?1 AND deleted_at IS NULL AND (?2 IS NULL OR visit_id = ?2) ORDER BY created_at DESC, id DESC LIMIT 1000");
    let rows: Vec<Row> = sqlx::query_as(&sql).bind(patient_id).bind(visit_id).fetch_all(store.pool()).await?;
    Ok(rows.into_iter().map(|r| of(store, r)).collect())
}

/// The file of a record synced from another device, from the sync server (verified against
/// its hash there) and stored here like an added one. `None` when this device is not
/// enrolled, the server cannot be reached or does not have it: the caller answers
/// `attachment_not_on_device`, and opening again later retries. Failing to store it here is
/// a storage error.
async fn fetch(store: &Store, sha256: &str) -> Result<Option<Vec<u8>>> {
    let Ok(Some(bytes)) = crate::sync::blobs::download(store, sha256).await else {
        return Ok(None);
    };
    blobs::put(store, sha256, &bytes)?;
    Ok(Some(bytes))
}

/// Opens an attachment: reads its file (fetching it from the sync server when it is not on
/// this device yet) and checks it against the stored SHA-256. Audited
/// (`attachment.open`, or `attachment.integrity_failure` when the bytes changed).
pub async fn open(store: &Store, auth: &Authorized, id: &str) -> Result<OpenedAttachment> {
    auth.require(Permission::ClinicalView)?;
    let sql = format!("{SELECT} WHERE id = ? AND deleted_at IS NULL");
    let row: Option<Row> = sqlx::query_as(&sql).bind(id).fetch_optional(store.pool()).await?;
    let Some(row) = row else {
        return Err(Error::NotFound { entity: "attachment".into() });
    };
    super::restriction::require_chart(store, auth, &row.patient_id).await?;
    let attachment = of(store, row);
    // A synced record whose hash is not a SHA-256 has no file anywhere.
    let Some(path) = stored_path(store, &attachment.sha256) else {
        return Err(Error::AttachmentCorrupt { id: id.to_string() });
    };
    // Decrypted (store::blobs); a file that does not open comes as it is and fails the hash.
    let bytes = match blobs::read(store, &attachment.sha256) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => fetch(store, &attachment.sha256)
            .await?
            .ok_or_else(|| Error::AttachmentNotOnDevice { id: id.to_string() })?,
        Err(e) => return Err(blobs::io_error(&path, e)),
    };
    let attachment = Attachment { on_device: true, ..attachment };
    let intact = blobs::sha256_hex(&bytes) == attachment.sha256;
    let mut w = store.begin_write(auth.actor()).await?;
    let action = if intact { "attachment.open" } else { "attachment.integrity_failure" };
    w.audit(
        action,
        "attachment",
        Some(id),
        json!({ "patient_id": attachment.patient_id, "sha256": attachment.sha256 }),
    )
    .await?;
    w.commit().await?;
    if !intact {
        return Err(Error::AttachmentCorrupt { id: id.to_string() });
    }
    Ok(OpenedAttachment { attachment, bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_content() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), Some("application/pdf"));
        assert_eq!(sniff(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0]), Some("image/png"));
        assert_eq!(sniff(&[0xff, 0xd8, 0xff, 0xe0]), Some("image/jpeg"));
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"MZ\x90\0 an exe named scan.pdf"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn the_viewer_copy_gets_the_real_extension() {
        let a = |name: &str, t: &str| Attachment {
            id: String::new(),
            patient_id: String::new(),
            visit_id: None,
            file_name: name.into(),
            media_type: t.into(),
            size_bytes: 1,
            sha256: String::new(),
            note: String::new(),
            created_at: String::new(),
            on_device: true,
        };
        assert_eq!(viewer_name(&a("scan.PDF", "application/pdf")), "scan.PDF");
        assert_eq!(viewer_name(&a("photo.jpeg", "image/jpeg")), "photo.jpeg");
        assert_eq!(viewer_name(&a("report", "application/pdf")), "report.pdf");
    }
}
