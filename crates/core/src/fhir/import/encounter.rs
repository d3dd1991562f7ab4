//! Encounter → a visit: an outpatient, emergency or home encounter (anything but an
//! inpatient stay, which HMS holds as an admission to a bed and does not import) with its
//! start and end, its reasons as the complaints, and its doctor: the staff member with the
//! Practitioner's id, else with the Practitioner's name, else the file's doctor added to the
//! staff inactive, else (the file names nobody) the person importing.

use super::group::ty;
use super::values::{concept_text, derive, instant, problem, str_at};
use super::{Cx, Failure, Outcome};
use crate::clinical::{exists, insert_row, line};
use crate::schedule::staff::NAME_MAX;
use crate::store::WriteTx;
use serde_json::{json, Value};

/// The qualifications of a doctor of another hospital added by an import (inactive).
pub const OUTSIDE_DOCTOR: &str = "another hospital's doctor (imported from FHIR)";

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
    let doctor = doctor(w, cx, r, out).await?;
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

/// The staff member who holds the visit: the Practitioner's (by id, else by name) when they
/// are on the staff here; else the doctor named by the file, added to the staff **inactive**
/// (a doctor of the other hospital: the visit keeps who saw the patient, and they are offered
/// for no booking or schedule); else, when the file names nobody, the person importing.
///
/// A participant named by a conditional reference (`Practitioner?identifier=…`, as Synthea
/// writes them) or by another server's URL is outside the file by design: its `display` is
/// its name. A `urn:uuid:` or `Practitioner/<id>` reference to nothing in the file is a broken
/// reference, refused as one.
async fn doctor(w: &mut WriteTx<'_>, cx: &Cx<'_>, r: &Value, out: &mut Outcome) -> Result<String, Failure> {
    let participants = r.get("participant").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut outside: Option<(String, String)> = None;
    for p in &participants {
        let Some(reference) = str_at(p, "/individual/reference") else { continue };
        let Some(j) = cx.index.resolve(reference) else {
            if reference.contains('?') || reference.starts_with("http") {
                let display = str_at(p, "/individual/display").unwrap_or_default();
                let practitioner = reference.starts_with("Practitioner") || reference.contains("/Practitioner/");
                if outside.is_none() && !display.is_empty() && practitioner {
                    outside = Some((reference.to_string(), display.to_string()));
                }
                continue;
            }
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
        if outside.is_none() && !name.is_empty() {
            outside = Some((cx.id_of(j), name));
        }
    }
    match (outside, &cx.staff) {
        (Some((key, name)), _) => outside_doctor(w, cx, r, &key, &name, out).await,
        (None, Some(me)) => Ok(me.clone()),
        (None, None) => Err(problem(
            r,
            "participant",
            "no staff member here holds the visit: the file names no Practitioner and the person importing has no staff profile",
        )),
    }
}

/// The inactive staff profile of a doctor of another hospital: found by the id derived from
/// their reference (a second visit, a second import), else by name among the doctors this
/// import added, else added.
async fn outside_doctor(
    w: &mut WriteTx<'_>,
    cx: &Cx<'_>,
    r: &Value,
    key: &str,
    name: &str,
    out: &mut Outcome,
) -> Result<String, Failure> {
    let id = derive(&format!("staff:{key}"));
    let found: Option<String> = sqlx::query_scalar(
        "SELECT id FROM staff WHERE deleted_at IS NULL AND (id = ?1 OR (full_name = ?2 AND active = 0 AND qualifications = ?3))
         ORDER BY id = ?1 DESC LIMIT 1",
    )
    .bind(&id)
    .bind(name)
    .bind(OUTSIDE_DOCTOR)
    .fetch_optional(w.conn())
    .await?;
    if let Some(found) = found {
        return Ok(found);
    }
    let full_name =
        line("full_name", name, NAME_MAX, true).map_err(|e| problem(r, "participant.individual", e.to_string()))?;
    insert_row(
        w,
        "staff",
        &id,
        &[
            ("full_name", json!(full_name)),
            ("role", json!("doctor")),
            ("qualifications", json!(OUTSIDE_DOCTOR)),
            ("active", json!(false)),
        ],
    )
    .await?;
    out.added_once(cx, "staff", &id);
    Ok(id)
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
