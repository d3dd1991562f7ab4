//! **`order_changed_twice`**, a derived inbox conflict: one order changed on two devices
//! apart. A change stops the order and writes its replacement naming it (`replaces_id`); two
//! devices that had not seen each other's change both did, so after sync the old order is
//! stopped (once: one row) but two replacements are open — the patient would get both.
//!
//! Read from the rows each time the inbox is listed (so every device that holds the same rows
//! lists the same conflict, open or resolved, under the same id — the replaced order's, which
//! does not change when a third replacement arrives): the replaced order's replacements, in id
//! order (UUIDv7: the order they were written in); `current` is the first, `other` the second.
//! It stays open while more than one of them is open (as `orders` reads a stop: the doctor's, or
//! the patient's discharge). A doctor closes it on the patient's orders by stopping the one
//! not wanted, with a reason (`orders::stop`: `inpatient_orders`, audited
//! `inpatient.order_stop`); the stop is synced, so it closes on every device (`order_stopped`,
//! by that doctor; `discharged` when the discharge stopped them). Nothing is resolved in the
//! inbox itself: its administrator does not order medicines.

use super::canonical_time;
use super::orders::InpatientOrder;
use super::orders::{OrderRow, ORDER_SELECT};
use crate::error::{Error, Result};
use crate::sync::conflicts::{ConflictKind, ConflictSide, DeriveConflicts, DerivedConflicts, Listed, SyncConflict};
use serde_json::json;
use sqlx::SqliteConnection;
use std::collections::{BTreeMap, HashMap};

struct ChangedTwice;

impl DeriveConflicts for ChangedTwice {
    fn conflicts<'a>(&'a self, conn: &'a mut SqliteConnection) -> Listed<'a> {
        Box::pin(changed_twice(conn))
    }
}

inventory::submit! { DerivedConflicts { source: &ChangedTwice } }

/// Of each replacement: who wrote it, on which device, who stopped it (username), its patient.
type About = (String, String, String, String);

async fn changed_twice(conn: &mut SqliteConnection) -> Result<Vec<SyncConflict>> {
    let rows: Vec<OrderRow> = sqlx::query_as(&format!(
        "{ORDER_SELECT} WHERE o.deleted_at IS NULL AND o.replaces_id IN
            (SELECT replaces_id FROM inpatient_orders WHERE replaces_id IS NOT NULL AND deleted_at IS NULL
             GROUP BY replaces_id HAVING COUNT(*) > 1)
         ORDER BY o.replaces_id, o.id"
    ))
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let orders = rows.into_iter().map(OrderRow::into_order).collect::<Result<Vec<_>>>()?;
    let ids: Vec<&str> = orders.iter().map(|o| o.id.as_str()).collect();
    let about: HashMap<String, About> = sqlx::query_as::<_, (String, String, String, String, String)>(
        "SELECT o.id, COALESCE(w.full_name, ''), o.origin_device, COALESCE(s.username, ''),
            TRIM(p.given_name || ' ' || p.family_name) || ' (' || p.mrn || ')'
         FROM inpatient_orders o JOIN admissions a ON a.id = o.admission_id JOIN patients p ON p.id = a.patient_id
         LEFT JOIN users w ON w.id = o.ordered_by LEFT JOIN users s ON s.id = o.stopped_by
         WHERE o.id IN (SELECT value FROM json_each(?))",
    )
    .bind(serde_json::to_string(&ids).map_err(Error::internal)?)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|(id, by, device, stopper, patient)| (id, (by, device, stopper, patient)))
    .collect();
    let mut groups: BTreeMap<String, Vec<InpatientOrder>> = BTreeMap::new();
    for o in orders {
        let Some(replaced) = o.replaces_id.clone() else { continue };
        groups.entry(replaced).or_default().push(o);
    }
    let mut out = Vec::new();
    for (replaced, group) in groups {
        if let [first, second, ..] = group.as_slice() {
            out.push(conflict(&replaced, first, second, &group, &about));
        }
    }
    Ok(out)
}

fn side(o: &InpatientOrder, about: &HashMap<String, About>) -> ConflictSide {
    let (by, device) = about.get(&o.id).map(|a| (a.0.as_str(), a.1.as_str())).unwrap_or_default();
    let what = if o.summary().is_empty() { o.instructions.clone() } else { o.summary() };
    let value = json!({
        "order": what, "schedule": o.schedule, "times_pattern": o.times_pattern, "every_hours": o.every_hours,
        "prn_max_per_day": o.prn_max_per_day, "instructions": o.instructions, "start_at": o.start_at,
        "ordered_by": by, "stopped_at": o.stopped_at, "stop_reason": o.stop_reason,
    });
    ConflictSide {
        label: what,
        record_id: Some(o.id.clone()),
        value: value.to_string(),
        stamp: String::new(),
        device_id: device.to_string(),
    }
}

fn conflict(
    replaced: &str,
    first: &InpatientOrder,
    second: &InpatientOrder,
    group: &[InpatientOrder],
    about: &HashMap<String, About>,
) -> SyncConflict {
    let open = group.iter().filter(|o| o.stopped_at.is_none()).count();
    // What closed it: the last stop among the replacements (a doctor's, or the discharge).
    let last_stop = group
        .iter()
        .filter(|o| o.stopped_at.is_some())
        .max_by(|a, b| (&a.stopped_at, &a.id).cmp(&(&b.stopped_at, &b.id)));
    let closed = open <= 1;
    let resolution = closed.then(|| match last_stop {
        Some(o) if o.stop_reason == "discharged" => "discharged",
        _ => "order_stopped",
    });
    let resolved_by = last_stop
        .filter(|o| closed && o.stop_reason != "discharged")
        .and_then(|o| about.get(&o.id))
        .map(|a| a.2.clone())
        .filter(|u| !u.is_empty());
    let patient = about.get(&first.id).map(|a| a.3.clone()).unwrap_or_default();
    let current = side(first, about);
    SyncConflict {
        id: replaced.to_string(),
        kind: ConflictKind::OrderChangedTwice,
        entity: "inpatient_orders".into(),
        entity_id: replaced.to_string(),
        field: None,
        label: format!("{patient}: {}", current.label),
        current,
        other: side(second, about),
        detected_at: canonical_time(&second.start_at).unwrap_or_else(|| second.start_at.clone()),
        resolved: closed,
        resolution: resolution.map(str::to_string),
        resolved_at: last_stop.filter(|_| closed).and_then(|o| o.stopped_at.clone()),
        resolved_by,
    }
}
