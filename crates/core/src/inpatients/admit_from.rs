//! Admission drafts: the admit dialog filled in from where the decision was taken — the
//! doctor's visit ("Admit" on the clinical visit screen) or a patient in the queue (checked in
//! or with the doctor). The draft only fills the dialog; the admission is written by
//! [`super::stays::admit_with`], which checks everything again.

use super::model::AdmitDraft;
use super::REASON_MAX;
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;

/// The first line of a text, cut to the admission reason's length.
fn reason_from(raw: &str) -> String {
    let line = raw.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default();
    line.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(REASON_MAX).collect()
}

/// The visit's coded diagnosis: provisional before final, the newest first.
async fn visit_diagnosis(store: &Store, visit_id: &str) -> Result<(String, String)> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT icd10, text FROM diagnoses WHERE visit_id = ? AND icd10 IS NOT NULL AND icd10 <> '' AND deleted_at IS NULL
         ORDER BY certainty = 'provisional' DESC, created_at DESC, id DESC LIMIT 1",
    )
    .bind(visit_id)
    .fetch_optional(store.pool())
    .await?;
    Ok(row.unwrap_or_default())
}

/// From a visit (a doctor's, `inpatients_admit` and `clinical_view`): the visit's doctor, its
/// complaints' first line as the reason, its coded diagnosis, and the visit itself.
pub async fn from_visit(store: &Store, auth: &Authorized, visit_id: &str) -> Result<AdmitDraft> {
    auth.require(Permission::InpatientsAdmit)?;
    auth.require(Permission::ClinicalView)?;
    let row: Option<(String, String, String)> =
        sqlx::query_as("SELECT patient_id, doctor_id, complaints FROM visits WHERE id = ? AND deleted_at IS NULL")
            .bind(visit_id)
            .fetch_optional(store.pool())
            .await?;
    let (patient_id, doctor_id, complaints) =
        row.ok_or_else(|| Error::validation("visit_id", ValidationReason::Invalid, "no such visit"))?;
    crate::clinical::restriction::require_chart(store, auth, &patient_id).await?;
    let (diagnosis_code, diagnosis_text) = visit_diagnosis(store, visit_id).await?;
    Ok(AdmitDraft {
        patient_id,
        doctor_id,
        reason: reason_from(&complaints),
        diagnosis_code,
        diagnosis_text,
        visit_id: Some(visit_id.to_string()),
    })
}

/// From the queue (`inpatients_admit`): an appointment checked in or with the doctor gives the
/// patient, the doctor and its reason. When the doctor has opened its visit, a user who may
/// read the chart gets the visit's draft instead (its complaints and diagnosis).
pub async fn from_appointment(store: &Store, auth: &Authorized, appointment_id: &str) -> Result<AdmitDraft> {
    auth.require(Permission::InpatientsAdmit)?;
    let row: Option<(String, String, String, String)> = sqlx::query_as(
        "SELECT patient_id, doctor_id, status, reason FROM appointments WHERE id = ? AND deleted_at IS NULL",
    )
    .bind(appointment_id)
    .fetch_optional(store.pool())
    .await?;
    let (patient_id, doctor_id, status, reason) =
        row.ok_or_else(|| Error::validation("appointment_id", ValidationReason::Invalid, "no such appointment"))?;
    if !matches!(status.as_str(), "checked_in" | "with_doctor") {
        return Err(Error::validation(
            "appointment_id",
            ValidationReason::Invalid,
            "only a patient checked in or with the doctor is admitted from the queue",
        ));
    }
    let visit: Option<String> =
        sqlx::query_scalar("SELECT id FROM visits WHERE appointment_id = ? AND deleted_at IS NULL")
            .bind(appointment_id)
            .fetch_optional(store.pool())
            .await?;
    if let Some(visit) = visit {
        match from_visit(store, auth, &visit).await {
            Ok(mut draft) => {
                if draft.reason.is_empty() {
                    draft.reason = reason_from(&reason);
                }
                return Ok(draft);
            }
            // Reception, or a chart restricted to its care team: the appointment's draft.
            Err(Error::Forbidden { .. } | Error::ChartRestricted { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(AdmitDraft {
        patient_id,
        doctor_id,
        reason: reason_from(&reason),
        diagnosis_code: String::new(),
        diagnosis_text: String::new(),
        visit_id: None,
    })
}
