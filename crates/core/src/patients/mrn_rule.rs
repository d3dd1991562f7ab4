//! One MRN per patient (`patients.mrn` UNIQUE), kept when two devices gave one number while
//! apart: the patient with the earlier id keeps the number; the other gets a stand-in
//! `<MRN>-DUP-<end of its id>` until someone gives it a new number. Settled the same way on
//! every device before a pulled patient is written (the table's rules, `patients/tables.rs`),
//! and recorded for a person as a conflict of kind `mrn_duplicate` (`sync::conflict_log`).

use crate::session::Authorized;
use crate::store::tables::NewRow;
use crate::store::Store;
use crate::store::WriteTx;
use crate::sync::conflict_log::{self, NewConflict};
use crate::sync::conflicts::{
    write_field, ConflictKind, ConflictResolution, ConflictResolver, ResolveConflict, Resolved, RuleConflict,
};
use serde_json::{json, Value};

/// The stand-in number of a patient whose MRN another (earlier) patient keeps.
pub(crate) fn stand_in_mrn(mrn: &str, patient_id: &str) -> String {
    let tail: String = patient_id.chars().rev().take(8).collect::<Vec<_>>().into_iter().rev().collect();
    format!("{mrn}-DUP-{tail}")
}

fn is_stand_in(mrn: &str) -> bool {
    mrn.contains("-DUP-")
}

/// Before a pulled patient's MRN is written: if another patient here has the same number,
/// the earlier id keeps it and the other gets its stand-in (the incoming value is changed in
/// `values`, or the local patient is renumbered). A patient whose number no longer clashes
/// has its open MRN conflict closed.
pub(crate) async fn claim_mrn(w: &mut WriteTx<'_>, id: &str, values: &mut [(String, Value)]) -> crate::Result<()> {
    let Some(slot) = values.iter_mut().find(|(k, _)| k == "mrn") else {
        return Ok(());
    };
    let Some(mrn) = slot.1.as_str().map(str::to_string) else {
        return Ok(());
    };
    let other: Option<String> = sqlx::query_scalar("SELECT id FROM patients WHERE mrn = ? AND id <> ?")
        .bind(&mrn)
        .bind(id)
        .fetch_optional(w.conn())
        .await?;
    let now = w.now_rfc3339();
    let Some(other) = other else {
        if !is_stand_in(&mrn) {
            conflict_log::auto_resolve(w.conn(), &now, "mrn_duplicate", id).await?;
        }
        return Ok(());
    };
    let (keeper, loser) =
        if other.as_str() < id { (other.clone(), id.to_string()) } else { (id.to_string(), other.clone()) };
    let stand_in = stand_in_mrn(&mrn, &loser);
    if loser == id {
        slot.1 = Value::String(stand_in.clone());
    } else {
        sqlx::query("UPDATE patients SET mrn = ? WHERE id = ?").bind(&stand_in).bind(&other).execute(w.conn()).await?;
        super::repo::reindex(w, &other).await?;
    }
    if conflict_log::open_exists(w.conn(), "mrn_duplicate", &loser).await? {
        return Ok(());
    }
    let keep = json!({ "id": keeper, "mrn": mrn });
    let moved = json!({ "id": loser, "mrn": mrn, "stand_in": stand_in });
    conflict_log::record(
        w,
        NewConflict {
            kind: "mrn_duplicate",
            entity: "patients",
            entity_id: &loser,
            field: Some("mrn"),
            other_id: Some(&keeper),
            local: &keep,
            remote: &moved,
            local_hlc: "",
            remote_hlc: "",
            remote_device: "",
        },
    )
    .await?;
    Ok(())
}

/// What [`claim_mrn`] does for new patients written together (`sync::apply_batch`) whose
/// numbers clash with no one (the insert succeeded, so none does): an open duplicate-number
/// conflict of each is settled.
pub(crate) async fn settle_new_mrns(w: &mut WriteTx<'_>, rows: &[NewRow<'_>]) -> crate::Result<()> {
    let ids: Vec<&str> = rows
        .iter()
        .filter(|(_, values)| {
            values.iter().find(|(k, _)| k == "mrn").and_then(|(_, v)| v.as_str()).is_some_and(|mrn| !is_stand_in(mrn))
        })
        .map(|(id, _)| *id)
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let now = w.now_rfc3339();
    sqlx::query(
        "UPDATE sync_conflicts SET resolved = 1, resolution = 'auto', resolved_at = ?
         WHERE resolved = 0 AND kind = 'mrn_duplicate' AND entity_id IN (SELECT value FROM json_each(?))",
    )
    .bind(now)
    .bind(serde_json::to_string(&ids)?)
    .execute(w.conn())
    .await?;
    Ok(())
}

/// Resolves an `mrn_duplicate` conflict from the inbox: `renumber` gives the patient with the
/// stand-in a new MRN from this device's series (a normal synced write); `dismiss` leaves it.
struct MrnResolver;

impl ResolveConflict for MrnResolver {
    fn resolve<'a>(
        &'a self,
        _store: &'a Store,
        _auth: &'a Authorized,
        w: &'a mut WriteTx<'_>,
        conflict: &'a RuleConflict<'a>,
        resolution: &'a ConflictResolution,
    ) -> Resolved<'a> {
        Box::pin(async move {
            match resolution {
                ConflictResolution::Renumber => {
                    let mrn = super::mrn::next(w).await?;
                    write_field(w, conflict.entity, conflict.entity_id, "mrn", &Value::String(mrn)).await?;
                }
                ConflictResolution::Dismiss => {}
                _ => return Ok(false),
            }
            Ok(true)
        })
    }
}

inventory::submit! { ConflictResolver { kind: ConflictKind::MrnDuplicate, resolver: &MrnResolver } }
