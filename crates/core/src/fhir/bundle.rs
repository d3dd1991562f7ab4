//! One patient's record as a FHIR `Bundle` of type `collection`: the clinic's Organization,
//! the Practitioners and Locations the record refers to, the Patient and every resource of
//! their record. Entries carry `fullUrl` `urn:uuid:<id>` and refer to each other that way.

use super::context::{Ctx, RefStyle};
use super::source::{Emit, Out};
use super::{organization, source, AUDIT_EXPORT};
use crate::error::{Error, Result};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use serde::Serialize;
use serde_json::json;

/// A patient's exported bundle.
#[derive(Debug, Clone)]
pub struct PatientExport {
    pub patient_id: String,
    pub mrn: String,
    /// Entries in the bundle.
    pub resources: usize,
    /// The bundle as JSON (UTF-8, compact, as FHIR servers exchange it).
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

/// A bundle being written: its opening (everything up to the entry list) and then every
/// entry, `{"fullUrl":"urn:uuid:<id>","resource":{...}}`, as the mappings make them.
struct Entries {
    json: Vec<u8>,
    count: usize,
}

impl Out for Entries {
    fn put(&mut self, _resource_type: &str, id: &str, resource: &[u8]) -> Result<()> {
        if self.count > 0 {
            self.json.push(b',');
        }
        self.json.extend_from_slice(b"{\"fullUrl\":");
        serde_json::to_writer(&mut self.json, &format!("urn:uuid:{id}")).map_err(Error::internal)?;
        self.json.extend_from_slice(b",\"resource\":");
        self.json.extend_from_slice(resource);
        self.json.push(b'}');
        self.count += 1;
        Ok(())
    }
}

/// The bundle's elements before its entries.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Head<'a> {
    resource_type: &'static str,
    id: String,
    meta: LastUpdated<'a>,
    #[serde(rename = "type")]
    kind: &'static str,
    timestamp: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LastUpdated<'a> {
    last_updated: &'a str,
}

/// Opens the bundle: its head as JSON without the closing brace, then the entry list.
fn open(store: &Store) -> Result<Entries> {
    let now = store.now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let head = Head {
        resource_type: "Bundle",
        id: crate::ids::new_id(),
        meta: LastUpdated { last_updated: &now },
        kind: "collection",
        timestamp: &now,
    };
    let mut json = Vec::with_capacity(1 << 20);
    serde_json::to_writer(&mut json, &head).map_err(Error::internal)?;
    json.pop(); // the head's closing brace: the entries follow inside it
    json.extend_from_slice(b",\"entry\":[");
    Ok(Entries { json, count: 0 })
}

/// Exports a patient's record (by id or MRN) as compact JSON. Needs what opening the chart
/// needs (`clinical_view` and, for a restricted chart, the care team or break-glass); audited
/// as `fhir.export` of the patient.
pub async fn export_patient(store: &Store, auth: &Authorized, patient: &str) -> Result<PatientExport> {
    auth.require(Permission::ClinicalView)?;
    let (patient_id, mrn) = find(store, patient).await?;
    crate::clinical::restriction::require_chart(store, auth, &patient_id).await?;
    let cx = Ctx::new(store, RefStyle::Urn).await?;
    let mut entries = open(store)?;
    let mut out = Emit::new(&mut entries);
    out.value(organization::clinic(&cx).await?)?;
    let mut conn = store.pool().acquire().await?;
    for src in source::all() {
        src.map_patient(&mut conn, &cx, &patient_id, &mut out).await?;
    }
    drop(conn);
    let count = entries.count;
    let mut json = entries.json;
    json.extend_from_slice(b"]}");
    let mut w = store.begin_write(auth.actor()).await?;
    w.audit(AUDIT_EXPORT, "patient", Some(&patient_id), json!({ "format": "bundle", "resources": count })).await?;
    w.commit().await?;
    Ok(PatientExport { patient_id, mrn, resources: count, json })
}
