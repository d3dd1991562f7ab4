//! HL7 FHIR R4 import: the inverse of the export. Reads Bundles (`collection`,
//! `transaction`, `batch`, `searchset`), NDJSON files and single resources
//! ([`read`]); groups the records by patient ([`group`]); then, patient by patient, finds
//! or registers the patient ([`patient`]) and writes their visits ([`encounter`]), vitals
//! ([`observation`]), lab results ([`lab`]), diagnoses ([`condition`]), allergies
//! ([`allergy`]) and prescriptions ([`medication`]), every value through the same checks as a
//! local write.
//!
//! - **One write per patient**: a patient and their resources go in together or not at all;
//!   a problem in one (a bad value, a reference to nothing) refuses that patient's resources
//!   and is reported naming the resource and the element; the others still go in.
//! - **Idempotent**: HMS ids are the FHIR ids when they are UUIDs, else derived from them
//!   ([`values::stable_id`]); a resource whose id is already here is left as it is, and a
//!   patient already here (matched by id, MRN, national id or the duplicate rule) is not
//!   registered again. A patient with nothing new is not written at all.
//! - **Preview** ([`preview`]) runs the very same writes and rolls each one back: its report
//!   (counts, problems) is what [`import`] would do. (A file with Conditions has the ICD-10
//!   reference table loaded first, as the first coded diagnosis on a device does: no record.)
//! - **Not stored** resources (Claim, ImagingStudy, preliminary lab results, inpatient Encounters,
//!   MedicationRequests that are not orders...) are counted by type in the report.
//! - **Permission**: `patients_import`, as the CSV import (administrators); a patient here
//!   whose chart is restricted is refused (a problem) unless the importer may open it.
//!   Audited as `fhir.import`: an entry per patient written, one for the whole import.

pub mod read;
pub mod report;

mod allergy;
mod condition;
mod encounter;
mod group;
mod lab;
mod medication;
mod observation;
mod patient;
mod values;
mod version;

pub use encounter::OUTSIDE_DOCTOR;
pub use lab::IMPORTED_NOTE;
pub use medication::IMPORTED_OVERRIDE;
pub use read::{read_file, InputFile, Upload, MAX_FILE_BYTES};
pub use report::{Count, ImportProgress, ImportReport, Problem};

use crate::error::{Error, Result};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{Store, WriteTx};
use chrono::{DateTime, NaiveDate, Utc};
use group::{Group, Index};
use report::Tally;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

/// The audit action of an import.
pub const AUDIT_IMPORT: &str = "fhir.import";

/// Why a patient's resources were not imported: a problem to report, or an error that stops
/// the import (the database failed).
pub(crate) enum Failure {
    Problem(Problem),
    Error(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Error(e)
    }
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Failure::Error(e.into())
    }
}

/// The visit each of a patient's Encounters became (`None`: not stored).
pub(crate) type Encounters = HashMap<usize, Option<String>>;

/// What every mapping of a patient's group needs.
pub(crate) struct Cx<'a> {
    pub store: &'a Store,
    pub index: &'a Index,
    /// The HMS id of every resource read.
    pub ids: &'a [String],
    pub mrn_system: String,
    pub today: NaiveDate,
    pub now: DateTime<Utc>,
    /// The importer's staff profile: the doctor of a visit whose Practitioner is not staff here.
    pub staff: Option<String>,
    /// The group's Patient.
    pub patient: usize,
    /// Patients this import registered: a file that holds two patients says they are two,
    /// so the duplicate rule does not match one to the other.
    pub fresh: std::sync::Mutex<HashSet<String>>,
    /// Medicines and lab tests added to the catalogues for patients already done: a preview
    /// (which rolls each patient back) counts a new one once, as the import creates it once.
    pub added: std::sync::Mutex<HashSet<String>>,
}

impl Cx<'_> {
    pub fn id_of(&self, i: usize) -> String {
        self.ids[i].clone()
    }

    /// The visit of resource `i`'s `encounter`: one of this patient's Encounters, or none.
    pub fn visit_of(&self, i: usize, encounters: &Encounters) -> Result<Option<String>, Failure> {
        match self.index.follow(i, "encounter").map_err(Failure::Problem)? {
            None => Ok(None),
            Some(j) => encounters.get(&j).cloned().ok_or_else(|| {
                values::problem(self.index.get(i), "encounter", "refers to an encounter that is not this patient's")
            }),
        }
    }
}

/// What one patient's write did.
#[derive(Default)]
pub(crate) struct Outcome {
    pub created: Tally,
    pub unchanged: u32,
    pub not_stored: Tally,
    /// Medicines and lab tests this patient's write added to the catalogues.
    pub added: Vec<String>,
}

impl Outcome {
    /// A row this patient's write added to a catalogue (a medicine, a lab test, an outside
    /// doctor), counted as created unless an earlier patient of this run added it already
    /// (a preview rolls each patient back, so it adds it again).
    pub fn added_once(&mut self, cx: &Cx<'_>, kind: &str, id: &str) {
        if !cx.added.lock().is_ok_and(|m| m.contains(id)) {
            self.created.add(kind, 1);
        }
        self.added.push(id.to_string());
    }
}

/// Reads the files and reports what [`import`] would do, writing nothing.
pub async fn preview(
    store: &Store,
    auth: &Authorized,
    files: &[InputFile],
    progress: impl FnMut(ImportProgress),
) -> Result<ImportReport> {
    run(store, auth, files, false, progress).await
}

/// Imports the files: each patient's resources in one write. `progress` is called after
/// each patient.
pub async fn import(
    store: &Store,
    auth: &Authorized,
    files: &[InputFile],
    progress: impl FnMut(ImportProgress),
) -> Result<ImportReport> {
    run(store, auth, files, true, progress).await
}

async fn run(
    store: &Store,
    auth: &Authorized,
    files: &[InputFile],
    write: bool,
    mut progress: impl FnMut(ImportProgress),
) -> Result<ImportReport> {
    auth.require(Permission::PatientsImport)?;
    let mut problems = Vec::new();
    let mut reads = Vec::new();
    for f in files {
        reads.extend(read::resources(f, &mut problems));
    }
    let mut read_counts = Tally::default();
    for r in &reads {
        read_counts.add(group::ty(&r.resource), 1);
    }
    let index = Index::new(reads);
    let ids: Vec<String> = index.reads.iter().map(|r| values::stable_id(&r.resource, r.full_url.as_deref())).collect();
    let mut others = Vec::new();
    let groups = group::by_patient(&index, &mut problems, &mut others);
    let mut total = Outcome::default();
    for i in others {
        total.not_stored.add(group::ty(index.get(i)), 1);
    }
    if index.reads.iter().any(|r| group::ty(&r.resource) == "Condition") {
        crate::clinical::icd10::ensure_loaded(store).await?;
    }
    let staff: Option<String> = sqlx::query_scalar("SELECT id FROM staff WHERE user_id = ? AND deleted_at IS NULL")
        .bind(&auth.user_id)
        .fetch_optional(store.pool())
        .await?;
    let clinic_id = crate::fhir::context::clinic_id(store).await?;
    let mut cx = Cx {
        store,
        index: &index,
        ids: &ids,
        mrn_system: crate::fhir::context::mrn_system(&clinic_id),
        today: crate::clinic::today(store).await?,
        now: store.now(),
        staff,
        patient: 0,
        fresh: Default::default(),
        added: Default::default(),
    };
    let mut report = ImportReport { written: write, files: files.len() as u32, ..Default::default() };
    let patients_total = groups.len() as u32;
    progress(ImportProgress { patients_done: 0, patients_total });
    for (done, g) in groups.iter().enumerate() {
        cx.patient = g.patient;
        report.patients += 1;
        match one_patient(store, auth, &cx, g, write).await {
            Ok((outcome, new, patient_id)) => {
                if new {
                    if let Ok(mut fresh) = cx.fresh.lock() {
                        fresh.insert(patient_id);
                    }
                    report.patients_new += 1;
                } else if !patient_id.is_empty() {
                    report.patients_matched += 1;
                }
                if let Ok(mut added) = cx.added.lock() {
                    added.extend(outcome.added.iter().cloned());
                }
                total.created.merge(&outcome.created);
                total.not_stored.merge(&outcome.not_stored);
                total.unchanged += outcome.unchanged;
            }
            Err(Failure::Problem(mut p)) => {
                p.patient = Some(group::name(index.get(g.patient)));
                problems.push(p);
                report.patients_refused += 1;
            }
            Err(Failure::Error(e)) => return Err(e),
        }
        progress(ImportProgress { patients_done: done as u32 + 1, patients_total });
    }
    report.read = read_counts.counts();
    report.created = total.created.counts();
    report.unchanged = total.unchanged;
    report.not_stored = total.not_stored.counts();
    report.problems = problems;
    if write {
        audit_summary(store, auth, files, &report).await?;
    }
    Ok(report)
}

/// One patient's write: committed when `write` and something is new, else rolled back.
/// Answers what it did, whether the patient is new here, and their id.
async fn one_patient(
    store: &Store,
    auth: &Authorized,
    cx: &Cx<'_>,
    g: &Group,
    write: bool,
) -> Result<(Outcome, bool, String), Failure> {
    let r = cx.index.get(g.patient);
    let mut out = Outcome::default();
    let merged = r.get("link").and_then(Value::as_array).into_iter().flatten().any(|l| l["type"] == "replaced-by");
    if merged {
        out.not_stored.add("Patient (merged into another)", 1);
        for &i in &g.members {
            out.not_stored.add(group::ty(cx.index.get(i)), 1);
        }
        return Ok((out, false, String::new()));
    }
    // References that point nowhere refuse the patient before anything else is looked at.
    for &i in &g.members {
        cx.index.follow(i, "encounter").map_err(Failure::Problem)?;
    }
    let mut w = store.begin_write(auth.actor()).await?;
    let (patient_id, new) = patient::resolve(&mut w, cx, r, &cx.id_of(g.patient)).await?;
    if new {
        out.created.add("patients", 1);
    } else {
        out.unchanged += 1;
        match crate::clinical::restriction::require_chart(store, auth, &patient_id).await {
            Err(Error::ChartRestricted { .. }) => {
                return Err(values::problem(r, "id", "the patient's chart here is restricted to its care team"))
            }
            other => other?,
        }
    }
    record(&mut w, cx, g, &patient_id, &mut out).await?;
    if write && out.created.total() > 0 {
        let detail = json!({ "source": group::name(r), "new_patient": new, "created": out.created.0 });
        w.audit(AUDIT_IMPORT, "patient", Some(&patient_id), detail).await?;
        w.commit().await?;
    }
    Ok((out, new, patient_id))
}

/// The patient's record: encounters first (the others refer to them), allergies before
/// prescriptions (whose allergy check reads them).
async fn record(
    w: &mut WriteTx<'_>,
    cx: &Cx<'_>,
    g: &Group,
    patient_id: &str,
    out: &mut Outcome,
) -> Result<(), Failure> {
    let of = |t: &str| g.members.iter().copied().filter(|&i| group::ty(cx.index.get(i)) == t).collect::<Vec<_>>();
    let mut encounters = Encounters::new();
    for i in of("Encounter") {
        let visit = encounter::write(w, cx, i, patient_id, out).await?;
        encounters.insert(i, visit);
    }
    let (labs, others): (Vec<usize>, Vec<usize>) =
        of("Observation").into_iter().partition(|&i| lab::is_lab(cx.index.get(i)));
    observation::write_all(w, cx, &others, patient_id, &encounters, out).await?;
    for i in labs {
        lab::write(w, cx, i, patient_id, &encounters, out).await?;
    }
    for i in of("Condition") {
        condition::write(w, cx, i, patient_id, &encounters, out).await?;
    }
    for i in of("AllergyIntolerance") {
        allergy::write(w, cx, i, patient_id, out).await?;
    }
    for i in of("MedicationRequest") {
        medication::write(w, cx, i, patient_id, &encounters, out).await?;
    }
    Ok(())
}

/// The import's own audit entry: what it read and did (0 new on a second run).
async fn audit_summary(store: &Store, auth: &Authorized, files: &[InputFile], report: &ImportReport) -> Result<()> {
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    let created: u32 = report.created.iter().map(|c| c.count).sum();
    let mut w = store.begin_write(auth.actor()).await?;
    w.audit(
        AUDIT_IMPORT,
        "fhir",
        None,
        json!({
            "files": names,
            "patients_new": report.patients_new,
            "patients_matched": report.patients_matched,
            "patients_refused": report.patients_refused,
            "created": created,
            "unchanged": report.unchanged,
            "problems": report.problems.len(),
        }),
    )
    .await?;
    w.commit().await
}
