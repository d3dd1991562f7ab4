//! Patient → a patient here. Found first among the patients already here (by id, by this
//! clinic's MRN, by a previous system's MRN, by national id, then by the registration's
//! duplicate rule with a similar name), else registered: the same checks as the desk's
//! (`patients::validate::clean`), a new MRN, the source's MRN kept as the legacy MRN.

use super::values::{problem, str_at};
use super::{Cx, Failure};
use crate::error::{Error, Result};
use crate::patients::model::{PatientInput, PatientStatus};
use crate::patients::validate::{self, Clean};
use crate::patients::{self, mrn, repo, search};
use crate::store::WriteTx;
use serde_json::Value;

/// What the Patient resource says, checked.
struct Incoming {
    clean: Clean,
    mrn_here: Option<String>,
    status: PatientStatus,
}

/// The patient here for resource `r` (id `id`), registering them when new: (id, new?).
pub async fn resolve(w: &mut WriteTx<'_>, cx: &Cx<'_>, r: &Value, id: &str) -> Result<(String, bool), Failure> {
    let incoming = read(cx, r)?;
    if let Some(found) = existing(w, cx, &incoming, id).await? {
        return Ok((found, false));
    }
    let mrn = mrn::next(w).await?;
    let mut p = patients::blank(id.to_string(), mrn, w.now_rfc3339());
    let estimated = incoming.clean.birth_date_estimated;
    patients::apply(&mut p, incoming.clean);
    p.birth_date_estimated = estimated;
    p.status = incoming.status;
    repo::insert_many(w, std::slice::from_ref(&p)).await?;
    Ok((p.id, true))
}

/// A registration's input from the resource, then the desk's checks.
fn read(cx: &Cx<'_>, r: &Value) -> Result<Incoming, Failure> {
    let name = official_name(r);
    let given: Vec<String> = strings(name, "given");
    let mut input = PatientInput {
        given_name: given.first().cloned().unwrap_or_default(),
        other_names: given.get(1..).unwrap_or_default().join(" "),
        family_name: str_at(name, "/family").unwrap_or_default().to_string(),
        sex: match str_at(r, "/gender") {
            Some(g @ ("male" | "female" | "other" | "unknown")) => g.to_string(),
            Some(g) => return Err(problem(r, "gender", format!("{g}: male, female, other or unknown"))),
            None => "unknown".into(),
        },
        ..Default::default()
    };
    if input.given_name.is_empty() {
        // Only a `text` ("Amina Okafor"): its first word is the given name, its last the family's.
        let words: Vec<&str> = str_at(name, "/text").unwrap_or_default().split_whitespace().collect();
        if let [first, .., last] = words[..] {
            (input.given_name, input.family_name) = (first.to_string(), last.to_string());
            input.other_names = words[1..words.len() - 1].join(" ");
        } else if let [only] = words[..] {
            input.given_name = only.to_string();
        }
    }
    // A partial date (a year, or a year and month) is an estimate: the middle of it.
    let (birth, estimated) = match str_at(r, "/birthDate") {
        Some(d) if d.len() == 4 => (Some(format!("{d}-07-01")), true),
        Some(d) if d.len() == 7 => (Some(format!("{d}-15")), true),
        Some(d) => (Some(d.to_string()), false),
        None => (None, false),
    };
    input.birth_date = birth;
    contact_details(r, &mut input);
    let mut mrn_here = None;
    let mut legacy = String::new();
    for ident in r.get("identifier").and_then(Value::as_array).into_iter().flatten() {
        let (Some(value), system) = (str_at(ident, "/value"), str_at(ident, "/system")) else { continue };
        let kind = ident.pointer("/type/coding/0/code").and_then(Value::as_str).unwrap_or_default();
        if system == Some(cx.mrn_system.as_str()) {
            mrn_here = Some(value.to_string());
        } else if matches!(kind, "NI" | "SS") && input.national_id.is_empty() {
            input.national_id = value.to_string();
        } else if kind == "MB" && input.insurance_id.is_empty() {
            input.insurance_id = value.to_string();
        } else if (kind == "MR" || str_at(ident, "/use") == Some("old")) && legacy.is_empty() {
            legacy = value.to_string();
        }
    }
    let mut clean = validate::clean(&input, cx.today).map_err(|e| as_problem(r, e))?;
    clean.birth_date_estimated = estimated;
    clean.legacy_mrn = crate::clinical::line("legacy_mrn", &legacy, 40, false).map_err(|e| as_problem(r, e))?;
    let deceased = r.get("deceasedBoolean") == Some(&Value::Bool(true)) || r.get("deceasedDateTime").is_some();
    let status = if deceased {
        PatientStatus::Deceased
    } else if r.get("active") == Some(&Value::Bool(false)) {
        PatientStatus::Moved
    } else {
        PatientStatus::Active
    };
    Ok(Incoming { clean, mrn_here, status })
}

/// The `official` name, else the first.
fn official_name(r: &Value) -> &Value {
    let names = r.get("name").and_then(Value::as_array);
    names.and_then(|n| n.iter().find(|x| str_at(x, "/use") == Some("official")).or(n.first())).unwrap_or(&Value::Null)
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default()
}

/// Phones, the first address and the first contact.
fn contact_details(r: &Value, input: &mut PatientInput) {
    for t in r.get("telecom").and_then(Value::as_array).into_iter().flatten() {
        if matches!(str_at(t, "/system"), Some("phone" | "sms")) {
            input.phones.extend(str_at(t, "/value").map(String::from));
        }
    }
    if let Some(a) = r.pointer("/address/0") {
        let lines = strings(a, "line").join(", ");
        input.address = str_at(a, "/text").map(String::from).unwrap_or(lines);
        input.city = str_at(a, "/city").unwrap_or_default().to_string();
        input.district = str_at(a, "/district").unwrap_or_default().to_string();
    }
    if let Some(c) = r.pointer("/contact/0") {
        let given = strings(c.get("name").unwrap_or(&Value::Null), "given").join(" ");
        let family = str_at(c, "/name/family").unwrap_or_default();
        let full = format!("{given} {family}").trim().to_string();
        input.emergency_name = str_at(c, "/name/text").map(String::from).unwrap_or(full);
        input.emergency_phone = str_at(c, "/telecom/0/value").unwrap_or_default().to_string();
        input.emergency_relation = c.pointer("/relationship/0").map(super::values::concept_text).unwrap_or_default();
    }
}

/// HMS's field names as the Patient's elements.
fn element(field: &str) -> &'static str {
    match field.split('.').next().unwrap_or_default() {
        "given_name" => "name.given",
        "family_name" => "name.family",
        "other_names" => "name.given",
        "sex" => "gender",
        "birth_date" | "age_years" => "birthDate",
        "phones" => "telecom",
        "address" | "city" | "district" => "address",
        "national_id" | "insurance_id" | "legacy_mrn" => "identifier",
        "emergency_name" | "emergency_phone" | "emergency_relation" => "contact",
        _ => "",
    }
}

fn as_problem(r: &Value, e: Error) -> Failure {
    match e {
        Error::Validation { field, message, .. } => {
            let message = if field == "given_name" && message.contains("required") {
                "a patient needs a name (name.given or name.text)".to_string()
            } else {
                message
            };
            problem(r, &format!("{} ({field})", element(&field)), message)
        }
        other => Failure::Error(other),
    }
}

/// The patient already here, if any.
async fn existing(w: &mut WriteTx<'_>, cx: &Cx<'_>, p: &Incoming, id: &str) -> Result<Option<String>, Failure> {
    let by: [(&str, Option<&str>); 4] = [
        ("id", Some(id)),
        ("mrn", p.mrn_here.as_deref()),
        ("legacy_mrn", Some(p.clean.legacy_mrn.as_str()).filter(|s| !s.is_empty())),
        ("national_id", Some(p.clean.national_id.as_str()).filter(|s| !s.is_empty())),
    ];
    for (column, value) in by {
        let Some(value) = value else { continue };
        let sql =
            format!("SELECT id FROM patients WHERE {column} = ? AND status <> 'merged' AND deleted_at IS NULL LIMIT 1");
        if let Some(found) = sqlx::query_scalar::<_, String>(&sql).bind(value).fetch_optional(w.conn()).await? {
            return Ok(Some(found));
        }
    }
    // The desk's duplicate rule, kept to matches with a similar name: a shared family phone
    // alone is not the same person.
    let wanted = search::name_tokens(&format!("{} {}", p.clean.given_name, p.clean.family_name));
    let hits = patients::likely_duplicates(cx.store, &p.clean, None, cx.today).await?;
    let fresh = |id: &str| cx.fresh.lock().map(|f| f.contains(id)).unwrap_or(false);
    let same: Vec<_> = hits
        .into_iter()
        .filter(|h| !fresh(&h.id) && patients::similar_names(&wanted, &search::name_tokens(&h.name)))
        .collect();
    match same.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.id.clone())),
        many => Err(Failure::Problem(super::report::Problem::resource(
            &format!("Patient/{}", super::group::id(cx.index.get(cx.patient))),
            "Patient",
            format!(
                "matches {} patients here ({}): merge them first, then import again",
                many.len(),
                many.iter().map(|h| h.mrn.as_str()).collect::<Vec<_>>().join(", ")
            ),
        ))),
    }
}
