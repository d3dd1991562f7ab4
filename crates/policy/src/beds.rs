//! Reserved beds' rules across a `bed_events` row's fields (migration 0041), as hms-core's
//! `inpatients::reservations` writes them: a reservation names its patient and the time it
//! lapses (after the event's own time); a cancellation names the patient whose reservation it
//! ends. Both are the admitting right's (`inpatients_admit`: doctors, reception), whatever
//! else the author may write on beds. What the reservation meets on the board (a bed already
//! taken) is settled where the rows meet, by the board's derivation, never refused here.

use crate::rbac::Permission;
use hms_protocol::{Change, Op};
use serde_json::Value;

fn text_of<'a>(change: &'a Change, field: &str) -> Option<&'a str> {
    change.data.get(field).and_then(Value::as_str)
}

fn reservation_kind(change: &Change) -> Option<&str> {
    if change.entity != "bed_events" || change.op != Op::Insert {
        return None;
    }
    text_of(change, "kind").filter(|k| matches!(*k, "reserved" | "reservation_cancelled"))
}

/// The permission a reservation event needs (None for any other change).
pub fn reservation_permission(change: &Change) -> Option<Permission> {
    reservation_kind(change).map(|_| Permission::InpatientsAdmit)
}

/// A reservation names its patient and lapses after it was made; a cancellation names its
/// patient. Neither names an admission (the patient is not in a bed).
pub fn check_row(change: &Change) -> Result<(), String> {
    let Some(kind) = reservation_kind(change) else { return Ok(()) };
    if text_of(change, "patient_id").is_none_or(|p| p.trim().is_empty()) {
        return Err(format!("patient_id: a {kind} event names the patient"));
    }
    if change.data.get("admission_id").is_some_and(|a| !a.is_null()) {
        return Err(format!("admission_id: a {kind} event names a patient, not an admission"));
    }
    if kind == "reserved" {
        // Both are UtcMillis (checked by the field rules), which sort as text.
        match (text_of(change, "at"), text_of(change, "until")) {
            (Some(at), Some(until)) if until > at => {}
            _ => return Err("until: a reservation lapses after it is made".into()),
        }
    }
    Ok(())
}
