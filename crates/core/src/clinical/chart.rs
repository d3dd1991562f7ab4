//! The chart summary a doctor opens first, the visits timeline, and a whole consultation
//! saved in one transaction.

use super::lab::{order_of, result_of, ORDER_SELECT, RESULT_SELECT};
use super::model::*;
use super::visits::{diagnosis_of, DiagnosisRow, DIAGNOSIS_COLUMNS};
use super::{icd10, lab, prescribing, visits, within};
use crate::error::{Error, Result};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use serde_json::json;

/// A visit in the timeline as [`TIMELINE_SELECT`] reads it.
#[derive(sqlx::FromRow)]
struct TimelineRow {
    id: String,
    started_at: String,
    closed_at: Option<String>,
    doctor_name: String,
    complaints: String,
    /// The visit's diagnosis texts, a JSON array built by the query.
    diagnoses: Option<String>,
}

/// The columns of a [`TimelineRow`], written once.
const TIMELINE_SELECT: &str = "SELECT v.id, v.started_at, v.closed_at, s.full_name AS doctor_name, v.complaints,
    (SELECT json_group_array(d.text) FROM diagnoses d WHERE d.visit_id = v.id AND d.deleted_at IS NULL) AS diagnoses
    FROM visits v JOIN staff s ON s.id = v.doctor_id";

/// Opens a patient's chart: allergies, active problems, current medicines, last vitals,
/// recent results, pending orders and the latest visits. Audited as `chart.open`.
pub async fn chart_summary(store: &Store, auth: &Authorized, patient_id: &str) -> Result<ChartSummary> {
    auth.require(Permission::ClinicalView)?;
    let today = crate::clinic::today_ymd(store).await?;
    let mut conn = store.pool().acquire().await?;
    let known: bool = sqlx::query_scalar("SELECT COUNT(*) > 0 FROM patients WHERE id = ?")
        .bind(patient_id)
        .fetch_one(&mut *conn)
        .await?;
    if !known {
        return Err(Error::NotFound { entity: "patient".into() });
    }
    drop(conn);
    super::restriction::require_chart(store, auth, patient_id).await?;
    let mut conn = store.pool().acquire().await?;
    let allergies = visits::allergy_rows(&mut conn, patient_id).await?;
    let sql = format!(
        "SELECT {DIAGNOSIS_COLUMNS} FROM diagnoses
         WHERE patient_id = ? AND resolved_at IS NULL AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 500"
    );
    let problems: Vec<DiagnosisRow> = sqlx::query_as(&sql).bind(patient_id).fetch_all(&mut *conn).await?;
    let mut seen = std::collections::HashSet::new();
    let active_problems: Vec<Diagnosis> = problems
        .into_iter()
        .filter(|r| seen.insert(r.icd10.clone().unwrap_or_else(|| r.text.to_lowercase())))
        .take(50)
        .map(diagnosis_of)
        .collect::<Result<_>>()?;
    let current_medicines = prescribing::current_rows(&mut conn, patient_id, &today).await?;
    let last_vitals = visits::vitals_rows(&mut conn, patient_id, 1).await?.into_iter().next();
    let sql = format!("{RESULT_SELECT} WHERE r.patient_id = ? AND r.deleted_at IS NULL ORDER BY r.resulted_at DESC, r.id DESC LIMIT 20");
    let recent_results = sqlx::query_as(&sql)
        .bind(patient_id)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(result_of)
        .collect::<Result<_>>()?;
    let sql = format!("{ORDER_SELECT} WHERE o.patient_id = ? AND o.status = 'ordered' AND o.deleted_at IS NULL ORDER BY o.ordered_at DESC LIMIT 100");
    let pending_orders = sqlx::query_as(&sql)
        .bind(patient_id)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(order_of)
        .collect::<Result<_>>()?;
    let visits = timeline(&mut conn, patient_id, None, 50).await?;
    drop(conn);
    let mut w = store.begin_write(auth.actor()).await?;
    w.audit("chart.open", "patient", Some(patient_id), json!({})).await?;
    w.commit().await?;
    Ok(ChartSummary {
        patient_id: patient_id.to_string(),
        allergies,
        active_problems,
        current_medicines,
        last_vitals,
        recent_results,
        pending_orders,
        visits,
    })
}

async fn timeline(
    conn: &mut sqlx::SqliteConnection,
    patient_id: &str,
    before: Option<&str>,
    limit: u32,
) -> Result<Vec<VisitSummary>> {
    let sql = format!(
        "{TIMELINE_SELECT} WHERE v.patient_id = ?1 AND v.deleted_at IS NULL AND (?2 IS NULL OR v.started_at < ?2)
         ORDER BY v.started_at DESC, v.id DESC LIMIT ?3"
    );
    let rows: Vec<TimelineRow> = sqlx::query_as(&sql).bind(patient_id).bind(before).bind(limit).fetch_all(conn).await?;
    Ok(rows
        .into_iter()
        .map(|r| VisitSummary {
            id: r.id,
            started_at: r.started_at,
            closed_at: r.closed_at,
            doctor_name: r.doctor_name,
            complaints: r.complaints,
            diagnoses: r.diagnoses.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default(),
        })
        .collect())
}

/// More of the visits timeline: visits started before `before` (RFC 3339), newest first.
pub async fn visits(
    store: &Store,
    auth: &Authorized,
    patient_id: &str,
    before: Option<String>,
    limit: u32,
) -> Result<Vec<VisitSummary>> {
    auth.require(Permission::ClinicalView)?;
    super::restriction::require_chart(store, auth, patient_id).await?;
    let mut conn = store.pool().acquire().await?;
    timeline(&mut conn, patient_id, before.as_deref(), limit.clamp(1, 200)).await
}

/// Saves a whole consultation — visit, vitals, diagnoses, prescriptions and lab orders — in
/// one transaction: any bad item (its field named as `diagnoses.1.icd10`, `vitals.pulse`) or an unoverridden
/// warning writes nothing.
pub async fn save_consultation(store: &Store, auth: &Authorized, input: ConsultationInput) -> Result<Consultation> {
    auth.require(Permission::ClinicalEdit)?;
    if input.vitals.is_some() {
        auth.require(Permission::VitalsEdit)?;
    }
    super::restriction::require_chart(store, auth, input.visit.patient_id.trim()).await?;
    if input.diagnoses.iter().any(|d| d.icd10.as_deref().is_some_and(|c| !c.trim().is_empty())) {
        icd10::ensure_loaded(store).await?;
    }
    let day = crate::clinic::today(store).await?;
    let today = day.format("%Y-%m-%d").to_string();
    let mut w = store.begin_write(auth.actor()).await?;
    let visit = visits::start_visit_in(&mut w, auth, &input.visit).await?;
    let vitals = match &input.vitals {
        None => None,
        Some(v) => {
            let v = VitalsInput { patient_id: visit.patient_id.clone(), visit_id: Some(visit.id.clone()), ..v.clone() };
            Some(within("vitals", visits::record_vitals_in(&mut w, &v).await)?)
        }
    };
    let mut diagnoses = Vec::with_capacity(input.diagnoses.len());
    for (i, d) in input.diagnoses.iter().enumerate() {
        diagnoses.push(within(&format!("diagnoses.{i}"), visits::add_diagnosis_in(&mut w, &visit.id, d).await)?);
    }
    let mut prescriptions = Vec::with_capacity(input.prescriptions.len());
    for (i, p) in input.prescriptions.iter().enumerate() {
        prescriptions.push(within(
            &format!("prescriptions.{i}"),
            prescribing::prescribe_in(&mut w, &visit.id, p, &today).await,
        )?);
    }
    let lab_orders = if input.lab_test_ids.is_empty() {
        Vec::new()
    } else {
        lab::order_in(&mut w, &visit.id, &input.lab_test_ids, "", day).await.map_err(|e| match e {
            Error::Validation { field, reason, message } if field == "test_ids" => {
                Error::Validation { field: "lab_test_ids".into(), reason, message }
            }
            other => other,
        })?
    };
    w.commit().await?;
    Ok(Consultation { visit, vitals, diagnoses, prescriptions, lab_orders })
}
