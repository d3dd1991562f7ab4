//! HL7 FHIR R4 (4.0.1) export: a patient's record as a `Bundle` of type `collection`
//! ([`export_patient`]), the whole clinic as newline-delimited JSON per resource type in the
//! Bulk Data `$export` layout ([`export_clinic`]).
//!
//! - **serde, no FHIR model crate**: one file per resource mapping. The resources a record has
//!   by the hundred (observations, encounters, diagnoses, prescriptions, bills, appointments)
//!   are structs borrowing from their row ([`model`]), printed straight to compact JSON as
//!   they are made ([`source::Emit`]); the rarer ones (the patient, staff, places, allergies,
//!   documents, dispensings) are built with `json!`. What proves them valid R4 is an independent validator
//!   from a package registry (PyPI `fhir.resources` 6.4.0, the last release whose models are
//!   R4 4.0.1), run by the tests over the export (`scripts/fhir-validate.py`).
//! - **Ids** are HMS's UUIDs. A row that becomes several resources (a vitals row, a staff
//!   profile's PractitionerRole) derives the others' ids from its own ([`source::derived_id`]),
//!   so every id is a UUID, stable from one export to the next.
//! - **References**: `Patient/<id>` in NDJSON (the Bulk Data convention); `urn:uuid:<id>` in a
//!   bundle, whose entries carry `fullUrl` `urn:uuid:<id>`, so a bundle resolves on its own.
//!   A patient's bundle holds the clinic's Organization and the Practitioners and Locations its
//!   resources refer to.
//! - **Identifier systems** ([`context::Ctx`]): the MRN's system is
//!   `urn:hms:clinic:<clinic-id>:mrn`, where the clinic id is the sync tenant's id once the
//!   device is enrolled with a server (every device of the clinic shares it), else this
//!   device's id; the Organization's id is the same clinic id. National and insurance ids have
//!   no known issuer here: they carry HL7 v2 table 0203 types `NI` and `MB` and no system.
//! - **Attachments** are inline (base64 `data`) up to [`document::INLINE_MAX_BYTES`] when the
//!   file is on this device; larger ones, or ones not downloaded yet, are referenced by
//!   `url` `urn:hms:attachment:sha256:<hex>` (the content address in HMS's blob store).
//! - **Permissions**: a patient's record needs `clinical_view` and the chart's restriction
//!   (care team or break-glass), as opening the chart does; the whole clinic needs
//!   `backup_manage` (administrators: it is as much of the clinic as a backup). Both are
//!   audited as `fhir.export`.

pub mod bundle;
pub mod context;
pub mod import;
pub mod ndjson;
pub mod source;

mod allergy;
mod appointment;
mod condition;
mod document;
mod encounter;
mod invoice;
mod location;
mod medication;
mod model;
mod observation;
mod organization;
mod patient;
mod practitioner;

pub use bundle::{export_patient, PatientExport};
pub use ndjson::{export_clinic, ClinicExport, ExportProgress};

/// The audit action of every FHIR export.
pub const AUDIT_EXPORT: &str = "fhir.export";

/// Code systems and URIs the mappings use.
pub mod systems {
    pub const LOINC: &str = "http://loinc.org";
    pub const UCUM: &str = "http://unitsofmeasure.org";
    /// HMS's diagnosis table is ICD-10-CM.
    pub const ICD10_CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
    pub const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
    pub const INTERPRETATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
    pub const V2_0203: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";
    pub const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
    pub const CONDITION_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
    pub const CONDITION_VER_STATUS: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";
    pub const CONDITION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/condition-category";
    pub const ALLERGY_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical";
    pub const PRACTITIONER_ROLE: &str = "http://terminology.hl7.org/CodeSystem/practitioner-role";
    pub const LOCATION_PHYSICAL_TYPE: &str = "http://terminology.hl7.org/CodeSystem/location-physical-type";
    pub const DISCHARGE_DISPOSITION: &str = "http://terminology.hl7.org/CodeSystem/discharge-disposition";
    pub const VITAL_SIGNS_PROFILE: &str = "http://hl7.org/fhir/StructureDefinition/vitalsigns";
    /// HMS's own codes (roles, lab test codes), where no standard system fits.
    pub const HMS_ROLE: &str = "urn:hms:role";
    pub const HMS_LAB_TEST: &str = "urn:hms:lab-test";
}
