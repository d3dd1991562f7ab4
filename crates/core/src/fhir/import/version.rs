//! Telling R4 from other FHIR versions. JSON resources carry no version of their own, so a
//! resource is refused as another version when it says so (a Bundle's or
//! CapabilityStatement's `fhirVersion`, a `meta.profile` of another release) or has an
//! element that exists only in STU3 or only in R5 where R4 has none or another shape
//! ([`MARKERS`]). Anything else is read as R4 (an R4 reader ignores nothing it needs).

use serde_json::Value;

/// (resource type, element, the version it says, the shape that says it).
const MARKERS: &[(&str, &str, &str, Shape)] = &[
    ("AllergyIntolerance", "clinicalStatus", "STU3", Shape::Text),
    ("AllergyIntolerance", "verificationStatus", "STU3", Shape::Text),
    ("AllergyIntolerance", "assertedDate", "STU3", Shape::Present),
    ("AllergyIntolerance", "participant", "R5", Shape::Present),
    ("Condition", "clinicalStatus", "STU3", Shape::Text),
    ("Condition", "verificationStatus", "STU3", Shape::Text),
    ("Condition", "assertedDate", "STU3", Shape::Present),
    ("Condition", "context", "STU3", Shape::Present),
    ("Condition", "participant", "R5", Shape::Present),
    ("Observation", "context", "STU3", Shape::Present),
    ("Observation", "triggeredBy", "R5", Shape::Present),
    ("Observation", "instantiatesCanonical", "R5", Shape::Present),
    ("Encounter", "class", "R5", Shape::List),
    ("Encounter", "actualPeriod", "R5", Shape::Present),
    ("Encounter", "virtualService", "R5", Shape::Present),
    ("MedicationRequest", "context", "STU3", Shape::Present),
    ("MedicationRequest", "medication", "R5", Shape::Present),
    ("Patient", "animal", "STU3", Shape::Present),
    ("Bundle", "issues", "R5", Shape::Present),
];

#[derive(Clone, Copy)]
enum Shape {
    Present,
    /// A plain string (R4: a CodeableConcept).
    Text,
    /// A list (R4: one value).
    List,
}

/// `Err(why)` when the resource is not R4.
pub fn check(r: &Value) -> Result<(), String> {
    let ty = r.get("resourceType").and_then(Value::as_str).unwrap_or_default();
    if let Some(v) = r.get("fhirVersion").and_then(Value::as_str) {
        if !v.starts_with("4.0") {
            return Err(format!("{ty}.fhirVersion is {v}: only FHIR R4 (4.0.x) is imported"));
        }
    }
    let profiles = r.pointer("/meta/profile").and_then(Value::as_array).cloned().unwrap_or_default();
    for p in profiles.iter().filter_map(Value::as_str) {
        if let Some(v) = other_release(p) {
            return Err(format!("{ty}.meta.profile {p} is a FHIR {v} profile: only R4 is imported"));
        }
    }
    for (t, element, version, shape) in MARKERS {
        let Some(value) = r.get(*element).filter(|_| *t == ty) else { continue };
        let says = match shape {
            Shape::Present => true,
            Shape::Text => value.is_string(),
            Shape::List => value.is_array(),
        };
        if says {
            return Err(format!("{ty}.{element} has the FHIR {version} form: only R4 is imported"));
        }
    }
    Ok(())
}

/// The release a profile URL names when it is not R4 (`.../fhir/R5/...`, `...|5.0.0`).
fn other_release(url: &str) -> Option<&'static str> {
    let version = url.rsplit_once('|').map(|(_, v)| v).unwrap_or_default();
    if url.contains("/fhir/R5/") || version.starts_with("5.") {
        Some("R5")
    } else if url.contains("/fhir/STU3/") || version.starts_with("3.") {
        Some("STU3")
    } else if url.contains("/fhir/R4B/") || version.starts_with("4.3") {
        Some("R4B")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tells_versions_apart() {
        assert!(check(&json!({ "resourceType": "Condition", "clinicalStatus": { "text": "active" } })).is_ok());
        let stu3 = check(&json!({ "resourceType": "Condition", "clinicalStatus": "active" })).unwrap_err();
        assert!(stu3.contains("Condition.clinicalStatus") && stu3.contains("STU3"), "{stu3}");
        let r5 = check(&json!({ "resourceType": "Encounter", "class": [{ "coding": [] }] })).unwrap_err();
        assert!(r5.contains("R5"), "{r5}");
        let cs = check(&json!({ "resourceType": "CapabilityStatement", "fhirVersion": "5.0.0" })).unwrap_err();
        assert!(cs.contains("fhirVersion"), "{cs}");
        let profile = json!({ "resourceType": "Patient", "meta": { "profile": ["http://hl7.org/fhir/StructureDefinition/Patient|5.0.0"] } });
        assert!(check(&profile).unwrap_err().contains("R5"));
    }
}
