//! Many registrations in one write: the synthetic-data generator and CSV import use it.
//! Each batch is one transaction (rows, search indexes, change log, one audit entry), so a
//! batch is either all in or not at all.

use super::validate::Clean;
use super::{apply, blank, mrn, repo};
use crate::error::Result;
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{self, Store};
use serde_json::json;

/// Registers every record of `batch`; returns their MRNs in order.
pub async fn register_batch(store: &Store, auth: &Authorized, batch: Vec<Clean>, source: &str) -> Result<Vec<String>> {
    auth.require(Permission::PatientsEdit)?;
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let mut w = store.begin_write(auth.actor()).await?;
    store::bulk_cache(&mut w).await?;
    let created_at = w.now_rfc3339();
    let mrns = mrn::reserve(&mut w, batch.len() as u64).await?;
    let mut records = Vec::with_capacity(batch.len());
    for (clean, mrn) in batch.into_iter().zip(&mrns) {
        let mut p = blank(crate::ids::new_id(), mrn.clone(), created_at.clone());
        apply(&mut p, clean);
        records.push(p);
    }
    repo::insert_many(&mut w, &records).await?;
    let (first, last) = (mrns.first().cloned(), mrns.last().cloned());
    w.audit(
        "patient.register_batch",
        "patient",
        None,
        json!({ "source": source, "count": mrns.len(), "first_mrn": first, "last_mrn": last }),
    )
    .await?;
    w.commit().await?;
    Ok(mrns)
}
