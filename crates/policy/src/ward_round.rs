//! The ward round's rules that span fields of a row (`mar_entries`, `inpatient_notes`,
//! migration 0033), as the local write paths in hms-core's `inpatients::mar` and
//! `inpatients::notes` keep them. A synced row is judged by itself and its author: the
//! policy sees no other row, so what needs the order (is it PRN? how many doses in 24
//! hours?) is settled where the rows meet instead (the MAR's duplicates and PRN doses over
//! their limit are shown for review in the conflicts inbox, never refused on arrival).

use crate::rbac::Permission;
use hms_protocol::{Change, Op};
use serde_json::Value;

fn text_of<'a>(change: &'a Change, field: &str) -> Option<&'a str> {
    change.data.get(field).and_then(Value::as_str)
}

fn blank(change: &Change, field: &str) -> bool {
    text_of(change, field).is_none_or(|s| s.trim().is_empty())
}

/// A MAR entry's outcome and reason, and a note's shift, agree as the local write makes them:
/// a dose not given carries its reason; a dose without a scheduled time is a PRN dose, which
/// is only recorded as given and always with its reason (fever, pain); a nurse's note names
/// its shift, a doctor's progress note none. Both tables are insert-only.
pub fn check_row(change: &Change) -> Result<(), String> {
    if change.op != Op::Insert {
        return Ok(());
    }
    match change.entity.as_str() {
        "mar_entries" => {
            let given = text_of(change, "outcome") == Some("given");
            let prn = change.data.get("scheduled_at").is_none_or(Value::is_null);
            if prn && !given {
                return Err("outcome: a PRN dose (no scheduled_at) is recorded when given".into());
            }
            if (prn || !given) && blank(change, "reason") {
                return Err("reason: a dose not given, and a PRN dose, carry a reason".into());
            }
            Ok(())
        }
        "inpatient_notes" => match (text_of(change, "kind"), change.data.get("shift").is_some_and(|s| !s.is_null())) {
            (Some("nursing"), false) => Err("shift: a nursing note names its shift".into()),
            (Some("progress"), true) => Err("shift: a progress note has no shift".into()),
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// The permission a note's kind needs, as its local write path does: a progress note is a
/// doctor's (`inpatient_orders`), a nursing note a nurse's (`mar_record`). The author's roles
/// are the proven author's account as the clinic's accounts hold them (`check::check`), so a
/// nurse's tablet cannot write a progress note in her own name nor in a doctor's (that one
/// fails the author's proof). `None` for any other change.
pub fn note_permission(change: &Change) -> Option<Permission> {
    if change.entity != "inpatient_notes" || change.op != Op::Insert {
        return None;
    }
    match text_of(change, "kind")? {
        "progress" => Some(Permission::InpatientOrders),
        "nursing" => Some(Permission::MarRecord),
        _ => None,
    }
}
