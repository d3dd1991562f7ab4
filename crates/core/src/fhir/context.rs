//! What every mapping needs besides its row: how to write a reference, the clinic's
//! identity (the Organization and the MRN's system) and today's date.

use super::model::Reference;
use crate::error::Result;
use crate::store::{meta, Store};
use serde_json::{json, Value};

/// How references are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefStyle {
    /// `Patient/<id>`: NDJSON (Bulk Data).
    Relative,
    /// `urn:uuid:<id>`: inside a bundle whose entries' `fullUrl`s are `urn:uuid:<id>`.
    Urn,
}

pub struct Ctx<'a> {
    pub store: &'a Store,
    pub style: RefStyle,
    /// The Organization's id: the sync tenant's id, else this device's id.
    pub clinic_id: String,
    pub clinic_name: String,
    /// `urn:hms:clinic:<clinic_id>:mrn`.
    pub mrn_system: String,
    /// Today in the clinic's time zone (YYYY-MM-DD): whether a prescription is still active.
    pub today: String,
}

impl<'a> Ctx<'a> {
    pub async fn new(store: &'a Store, style: RefStyle) -> Result<Ctx<'a>> {
        let clinic_id = clinic_id(store).await?;
        Ok(Ctx {
            store,
            style,
            mrn_system: mrn_system(&clinic_id),
            clinic_id,
            clinic_name: crate::clinic::name(store).await?,
            today: crate::clinic::today_ymd(store).await?,
        })
    }

    /// A `Reference` to `resource_type`/`id`, written as [`Reference`] writes it.
    pub fn reference(&self, resource_type: &'static str, id: &str) -> Value {
        json!({ "reference": Reference::to(self, resource_type, id).to_string() })
    }

    pub fn organization(&self) -> Value {
        self.reference("Organization", &self.clinic_id)
    }
}

/// The clinic's id for FHIR: the tenant's id once enrolled with a sync server, else the
/// device's own id.
pub async fn clinic_id(store: &Store) -> Result<String> {
    let tenant = meta::get(store.pool(), crate::sync::TENANT_ID_KEY).await?.filter(|t| !t.is_empty());
    Ok(tenant.unwrap_or_else(|| store.device_id().to_string()))
}

/// The system URI of the clinic's medical record numbers.
pub fn mrn_system(clinic_id: &str) -> String {
    format!("urn:hms:clinic:{clinic_id}:mrn")
}
