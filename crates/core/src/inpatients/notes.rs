//! Ward notes: the doctor's daily progress note and the nurse's note of a shift (morning,
//! evening, night). Append-only: a note is written once; a correction is another note.

use super::canonical_time;
use super::orders::admission_patient;
use crate::clinical::{insert_row, text};
use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{stored, Store};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The longest note.
pub const NOTE_MAX: usize = 4000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    /// A doctor's daily progress note.
    Progress,
    /// A nurse's note of a shift.
    Nursing,
}
impl Code for NoteKind {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Shift {
    Morning,
    Evening,
    Night,
}
impl Code for Shift {}

#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct NoteInput {
    pub admission_id: String,
    /// progress | nursing
    pub kind: String,
    /// A nursing note's: morning | evening | night
    pub shift: Option<String>,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct InpatientNote {
    pub id: String,
    pub admission_id: String,
    pub kind: NoteKind,
    pub shift: Option<Shift>,
    pub body: String,
    pub written_at: String,
    pub written_by: Option<String>,
    pub written_by_name: String,
}

/// Writes a note: a progress note needs `inpatient_orders` (doctors), a nursing note
/// `mar_record` (nurses).
pub async fn add_note(store: &Store, auth: &Authorized, input: NoteInput) -> Result<InpatientNote> {
    let kind = NoteKind::from_code(input.kind.trim())
        .ok_or_else(|| Error::validation("kind", ValidationReason::Invalid, "progress or nursing"))?;
    auth.require(match kind {
        NoteKind::Progress => Permission::InpatientOrders,
        NoteKind::Nursing => Permission::MarRecord,
    })?;
    let shift = match (kind, input.shift.as_deref().map(str::trim).filter(|s| !s.is_empty())) {
        (NoteKind::Nursing, None) => {
            return Err(Error::validation("shift", ValidationReason::Required, "morning, evening or night"))
        }
        (NoteKind::Nursing, Some(s)) => Some(
            Shift::from_code(s)
                .ok_or_else(|| Error::validation("shift", ValidationReason::Invalid, "morning, evening or night"))?,
        ),
        (NoteKind::Progress, _) => None,
    };
    let body = text("body", &input.body, NOTE_MAX)?;
    if body.is_empty() {
        return Err(Error::validation("body", ValidationReason::Required, "write the note"));
    }
    if let Ok(patient) = admission_patient(store, &input.admission_id).await {
        crate::clinical::restriction::require_chart(store, auth, &patient).await?;
    }
    let mut w = store.begin_write(auth.actor()).await?;
    let open: Option<Option<String>> =
        sqlx::query_scalar("SELECT discharged_at FROM admissions WHERE id = ? AND deleted_at IS NULL")
            .bind(&input.admission_id)
            .fetch_optional(w.conn())
            .await?;
    match open {
        None => return Err(Error::validation("admission_id", ValidationReason::Invalid, "no such admission")),
        Some(Some(_)) => {
            return Err(Error::validation("admission_id", ValidationReason::Invalid, "this patient was discharged"))
        }
        Some(None) => {}
    }
    let id = crate::ids::new_id();
    let at = w.now_rfc3339();
    let by = w.actor().user_id.clone();
    let mut cols = vec![
        ("admission_id", json!(input.admission_id)),
        ("kind", json!(kind.code())),
        ("body", json!(body)),
        ("written_at", json!(at)),
        ("written_by", json!(by)),
    ];
    if let Some(s) = shift {
        cols.push(("shift", json!(s.code())));
    }
    insert_row(&mut w, "inpatient_notes", &id, &cols).await?;
    w.audit(
        "inpatient.note",
        "inpatient_note",
        Some(&id),
        json!({ "admission_id": input.admission_id, "kind": kind.code(), "shift": shift.map(Shift::code) }),
    )
    .await?;
    w.commit().await?;
    let notes = notes(store, auth, &input.admission_id).await?;
    notes.into_iter().find(|n| n.id == id).ok_or(Error::NotFound { entity: "note".into() })
}

type NoteRow = (String, String, String, Option<String>, String, String, Option<String>, Option<String>);

/// An admission's notes, oldest first (clinicians).
pub async fn notes(store: &Store, auth: &Authorized, admission_id: &str) -> Result<Vec<InpatientNote>> {
    auth.require(Permission::ClinicalView)?;
    let patient = admission_patient(store, admission_id).await?;
    crate::clinical::restriction::require_chart(store, auth, &patient).await?;
    let rows: Vec<NoteRow> = sqlx::query_as(
        "SELECT n.id, n.admission_id, n.kind, n.shift, n.body, n.written_at, n.written_by, u.full_name
         FROM inpatient_notes n LEFT JOIN users u ON u.id = n.written_by
         WHERE n.admission_id = ? AND n.deleted_at IS NULL ORDER BY n.written_at, n.id",
    )
    .bind(admission_id)
    .fetch_all(store.pool())
    .await?;
    rows.into_iter()
        .map(|(id, admission_id, kind, shift, body, written_at, written_by, name)| {
            let kind = stored::code("inpatient_notes", &id, "kind", &kind, NoteKind::from_code)?;
            let shift =
                shift.map(|s| stored::code("inpatient_notes", &id, "shift", &s, Shift::from_code)).transpose()?;
            Ok(InpatientNote {
                written_at: canonical_time(&written_at).unwrap_or(written_at),
                id,
                admission_id,
                kind,
                shift,
                body,
                written_by,
                written_by_name: name.unwrap_or_default(),
            })
        })
        .collect()
}
