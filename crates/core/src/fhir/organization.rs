//! Organization: the clinic (name, address, registration and tax numbers from the letterhead
//! settings). Not a table: one resource, first in every export.

use super::context::Ctx;
use super::source::prune;
use crate::error::Result;
use serde_json::{json, Value};

pub async fn clinic(cx: &Ctx<'_>) -> Result<Value> {
    let letterhead = crate::clinic::letterhead(cx.store).await?;
    let identifier =
        |kind: &str, value: &str| (!value.is_empty()).then(|| json!({ "type": { "text": kind }, "value": value }));
    let identifiers: Vec<Value> =
        [identifier("Registration number", &letterhead.registration_no), identifier("Tax number", &letterhead.tax_no)]
            .into_iter()
            .flatten()
            .collect();
    Ok(prune(json!({
        "resourceType": "Organization",
        "id": cx.clinic_id,
        "identifier": identifiers,
        "active": true,
        "type": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "prov", "display": "Healthcare Provider" }] }],
        "name": cx.clinic_name,
        "address": (!letterhead.address.is_empty()).then(|| json!([{ "text": letterhead.address }])),
    })))
}
