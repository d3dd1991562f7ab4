//! What an import found and did: counts by what was read and written, what HMS does not
//! store (by resource type), and every problem, naming the resource and the field.

use serde::Serialize;
use std::collections::BTreeMap;

// The serde names are the TypeScript names (the CSV import has its own `ImportReport`);
// JSON of a struct does not carry its name.

/// A value or a resource that could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename = "FhirImportProblem")]
pub struct Problem {
    /// `Patient/<id>`, `Observation/<id>`, or a file (and line or entry) when no resource was read.
    pub resource: String,
    /// The FHIR element (`Patient.birthDate`), with HMS's field in brackets when they differ.
    pub field: String,
    pub message: String,
    /// The patient whose resources were therefore not imported, if any.
    pub patient: Option<String>,
}

impl Problem {
    pub fn file(origin: &str, field: &str, message: impl Into<String>) -> Problem {
        Problem { resource: origin.to_string(), field: field.to_string(), message: message.into(), patient: None }
    }

    pub fn resource(resource: &str, field: &str, message: impl Into<String>) -> Problem {
        Problem { resource: resource.to_string(), field: field.to_string(), message: message.into(), patient: None }
    }
}

/// A count of one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename = "FhirImportCount")]
pub struct Count {
    pub kind: String,
    pub count: u32,
}

/// The preview of an import (nothing written) or what it wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename = "FhirImportReport")]
pub struct ImportReport {
    /// Whether this report is of an import that wrote (false: a preview).
    pub written: bool,
    pub files: u32,
    /// Resources read, by resource type.
    pub read: Vec<Count>,
    /// Patients in the files; of them: new here, already here (matched), refused (problems);
    /// the rest were merged into another in their source (counted as not stored).
    pub patients: u32,
    pub patients_new: u32,
    pub patients_matched: u32,
    pub patients_refused: u32,
    /// HMS records created, by table (`patients`, `visits`, `vitals`, `lab_results`,
    /// `diagnoses`, `allergies`, `prescriptions`; `medicines` and `lab_tests` added to the
    /// catalogues, `staff`: other hospitals' doctors added inactive).
    pub created: Vec<Count>,
    /// Resources already imported (or already here), left as they are.
    pub unchanged: u32,
    /// Resources HMS does not store, by type (and why, e.g. `Observation (survey)`).
    pub not_stored: Vec<Count>,
    pub problems: Vec<Problem>,
}

/// Counts by kind while an import runs.
#[derive(Debug, Default, Clone)]
pub struct Tally(pub BTreeMap<String, u32>);

impl Tally {
    pub fn add(&mut self, kind: &str, n: u32) {
        *self.0.entry(kind.to_string()).or_default() += n;
    }

    pub fn merge(&mut self, other: &Tally) {
        for (k, n) in &other.0 {
            self.add(k, *n);
        }
    }

    pub fn total(&self) -> u32 {
        self.0.values().sum()
    }

    pub fn counts(&self) -> Vec<Count> {
        self.0.iter().map(|(kind, count)| Count { kind: kind.clone(), count: *count }).collect()
    }
}

/// How far an import (or its preview) is: patients done of all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename = "FhirImportProgress")]
pub struct ImportProgress {
    pub patients_done: u32,
    pub patients_total: u32,
}
