//! Encounter → a visit: an outpatient, emergency or home encounter (anything but an
//! inpatient stay, which HMS holds as an admission to a bed and does not import) with its
//! start and end, its reasons as the complaints, and its doctor: the staff member with the
//! Practitioner's id, else with the Practitioner's name, else the person importing.

use super::group::ty;
use super::values::{concept_text, instant, problem, str_at};
use super::{Cx, Failure, Outcome};
use crate::clinical::{exists, insert_row};
use crate::store::WriteTx;
use serde_json::{json, Value};

/// Encounter classes HMS holds as admissions, not visits.
const INPATIENT: [&str; 4] = ["IMP", "ACUTE", "NONAC", "PRENC"];

/// Writes the visit of Encounter `i` (unless it is already here): its id, or `None` when
/// HMS does not store this encounter (counted in `out`).
pub async fn write(
    w: &mut WriteTx<'_>,
    cx: &Cx<'_>,
    i: usize,
    patient: &str,
    out: &mut Outcome,
) -> Result<Option<String>, Failure> {
    let r = cx.index.get(i);
    let class = str_at(r, "/class/code").unwrap_or("AMB");
    if INPATIENT.contains(&class) {
        out.not_stored.add("Encounter (inpatient stay)", 1);
        return Ok(None);
    }
    if matches!(str_at(r, "/status"), Some("cancelled" | "entered-in-error" | "planned")) {
        out.not_stored.add("Encounter (cancelled or planned)", 1);
        return Ok(None);
    }
    let visit_id = cx.id_of(i);
    if exists(w, "visits", &visit_id).await? {
        out.unchanged += 1;
        return Ok(Some(visit_id));
    }
    let Some(start) = str_at(r, "/period/start") else {
        return Err(problem(r, "period.start", "a visit needs its start"));
    };
    let started_at = instant(r, "period.start", start, cx.now)?;
    let closed_at = match str_at(r, "/period/end") {
        Some(end) => Some(instant(r, "period.end", end, cx.now)?),
        None if str_at(r, "/status") == Some("finished") => Some(started_at.clone()),
        None => None,
    };
    if closed_at.as_deref().is_some_and(|c| c < started_at.as_str()) {
        return Err(problem(r, "period.end", "the end is before the start"));
    }
    let reasons: Vec<String> = r
        .get("reasonCode")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(concept_text)
        .filter(|t| !t.is_empty())
        .collect();
    let complaints = crate::clinical::text("complaints", &reasons.join("; "), 10_000)
        .map_err(|e| problem(r, "reasonCode", e.to_string()))?;
    let doctor = doctor(w, cx, r).await?;
    insert_row(
        w,
        "visits",
        &visit_id,
        &[
            ("patient_id", json!(patient)),
            ("doctor_id", json!(doctor)),
            ("started_at", json!(started_at)),
            ("closed_at", json!(closed_at)),
            ("complaints", json!(complaints)),
        ],
    )
    .await?;
    out.created.add("visits", 1);
    Ok(Some(visit_id))
}

/// The staff member who holds the visit.
async fn doctor(w: &mut WriteTx<'_>, cx: &Cx<'_>, r: &Value) -> Result<String, Failure> {
    let participants = r.get("participant").and_then(Value::as_array).cloned().unwrap_or_default();
    for p in &participants {
        let Some(reference) = str_at(p, "/individual/reference") else { continue };
        let Some(j) = cx.index.resolve(reference) else {
            return Err(problem(
                r,
                "participant.individual",
                format!("the reference {reference} points to nothing in the file(s)"),
            ));
        };
        let practitioner = cx.index.get(j);
        if ty(practitioner) != "Practitioner" {
            continue;
        }
        let by_id: Option<String> = sqlx::query_scalar("SELECT id FROM staff WHERE id = ? AND deleted_at IS NULL")
            .bind(cx.id_of(j))
            .fetch_optional(w.conn())
            .await?;
        let name = practitioner_name(practitioner);
        let by_name: Option<String> = match (by_id.is_none(), name.is_empty()) {
            (true, false) => {
                sqlx::query_scalar("SELECT id FROM staff WHERE full_name = ? AND deleted_at IS NULL LIMIT 1")
                    .bind(&name)
                    .fetch_optional(w.conn())
                    .await?
            }
            _ => None,
        };
        if let Some(found) = by_id.or(by_name) {
            return Ok(found);
        }
    }
    cx.staff.clone().ok_or_else(|| {
        problem(
            r,
            "participant",
            "no staff member here holds the visit: its Practitioner is not on the staff and the person importing has no staff profile",
        )
    })
}

/// "Dr Amina Okafor": the name's text, else its prefix, given and family names.
fn practitioner_name(p: &Value) -> String {
    let Some(n) = p.pointer("/name/0") else { return String::new() };
    if let Some(t) = str_at(n, "/text") {
        return t.to_string();
    }
    let words = |k: &str| -> Vec<String> {
        n.get(k).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(String::from).collect()
    };
    let mut all = words("prefix");
    all.extend(words("given"));
    all.extend(str_at(n, "/family").map(String::from));
    all.join(" ")
}
