//! What the UI sends and gets for patients.

use crate::codes::Code;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Female,
    Male,
    Other,
    Unknown,
}

impl Code for Sex {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum PatientStatus {
    Active,
    Deceased,
    Moved,
    Merged,
}

impl Code for PatientStatus {}

/// A registration or an edit, as typed at the desk. Either `birth_date` (YYYY-MM-DD) or
/// `age_years` (when the date is unknown) is given.
#[derive(Debug, Clone, Default, Deserialize, specta::Type)]
pub struct PatientInput {
    pub given_name: String,
    pub family_name: String,
    pub other_names: String,
    /// female | male | other | unknown
    pub sex: String,
    pub birth_date: Option<String>,
    pub age_years: Option<u32>,
    pub phones: Vec<String>,
    pub address: String,
    /// The city, town or village (optional; the reports group registrations by it). Left out,
    /// empty: a caller from before the field (a script, an IPC client) still registers.
    #[serde(default)]
    pub city: String,
    /// The district (optional; left out, empty).
    #[serde(default)]
    pub district: String,
    pub national_id: String,
    pub insurance_id: String,
    pub emergency_name: String,
    pub emergency_phone: String,
    pub emergency_relation: String,
    pub blood_group: String,
    pub allergies: Vec<String>,
    pub notes: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct Patient {
    pub id: String,
    pub mrn: String,
    pub given_name: String,
    pub family_name: String,
    pub other_names: String,
    pub sex: Sex,
    pub birth_date: Option<String>,
    pub birth_date_estimated: bool,
    pub phones: Vec<String>,
    pub address: String,
    /// (default: a merge's snapshot taken before patients had a city and district)
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub district: String,
    pub national_id: String,
    pub insurance_id: String,
    pub emergency_name: String,
    pub emergency_phone: String,
    pub emergency_relation: String,
    pub blood_group: String,
    pub allergies: Vec<String>,
    pub notes: String,
    pub status: PatientStatus,
    pub merged_into: Option<String>,
    /// The number the patient had in the clinic's previous system (CSV import); searchable.
    pub legacy_mrn: String,
    pub last_visit_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Patient {
    pub fn display_name(&self) -> String {
        [self.given_name.as_str(), self.other_names.as_str(), self.family_name.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    }
}
