//! One patient's record as a FHIR `Bundle` of type `collection`: the clinic's Organization,
//! the Practitioners and Locations the record refers to, the Patient and every resource of
//! their record. Entries carry `fullUrl` `urn:uuid:<id>` and refer to each other that way.

use super::context::{Ctx, RefStyle};
use super::{organization, source, AUDIT_EXPORT};
use crate::error::{Error, Result};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use serde_json::{json, Value};

/// A patient's exported bundle.
#[derive(Debug, Clone)]
pub struct PatientExport {
    pub patient_id: String,
    pub mrn: String,
    /// Entries in the bundle.
    pub resources: usize,
    /// The bundle as JSON (UTF-8, indented).
    pub json: Vec<u8>,
}

impl PatientExport {
    /// The file name it is saved under: `fhir-<MRN>.json`.
    pub fn file_name(&self) -> String {
        crate::printouts::safe_file_name(&format!("fhir-{}.json", self.mrn))
    }
}

/// The patient's (id, MRN), looked up by id or by MRN.
async fn find(store: &Store, patient: &str) -> Result<(String, String)> {
    let found: Option<(String, String)> =
        sqlx::query_as("SELECT id, mrn FROM patients WHERE (id = ?1 OR mrn = ?1) AND deleted_at IS NULL")
            .bind(patient.trim())
            .fetch_optional(store.pool())
            .await?;
    found.ok_or_else(|| Error::NotFound { entity: "patient".into() })
}

/// Exports a patient's record (by id or MRN). Needs what opening the chart needs
/// (`clinical_view` and, for a restricted chart, the care team or break-glass); audited as
/// `fhir.export` of the patient.
pub async fn export_patient(store: &Store, auth: &Authorized, patient: &str) -> Result<PatientExport> {
    auth.require(Permission::ClinicalView)?;
    let (patient_id, mrn) = find(store, patient).await?;
    crate::clinical::restriction::require_chart(store, auth, &patient_id).await?;
    let cx = Ctx::new(store, RefStyle::Urn).await?;
    let mut resources = vec![organization::clinic(&cx).await?];
    let mut conn = store.pool().acquire().await?;
    for src in source::all() {
        for row in src.of_patient(&mut conn, &patient_id).await? {
            resources.extend((src.map)(&row, &cx)?);
        }
    }
    drop(conn);
    let entries: Vec<Value> = resources
        .into_iter()
        .map(|r| json!({ "fullUrl": format!("urn:uuid:{}", r["id"].as_str().unwrap_or_default()), "resource": r }))
        .collect();
    let count = entries.len();
    let bundle = json!({
        "resourceType": "Bundle",
        "id": crate::ids::new_id(),
        "meta": { "lastUpdated": store.now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true) },
        "type": "collection",
        "timestamp": store.now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "entry": entries,
    });
    let json = serde_json::to_vec_pretty(&bundle).map_err(Error::internal)?;
    let mut w = store.begin_write(auth.actor()).await?;
    w.audit(AUDIT_EXPORT, "patient", Some(&patient_id), json!({ "format": "bundle", "resources": count })).await?;
    w.commit().await?;
    Ok(PatientExport { patient_id, mrn, resources: count, json })
}
