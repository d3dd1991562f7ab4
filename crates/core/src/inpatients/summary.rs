//! The discharge summary: one per admission, written by a doctor (`inpatient_orders`).
//!
//! - **Drafted any time during the stay** and saved as often as needed ([`save`]); each save
//!   writes the whole summary and names its writer.
//! - **Finalised at or after the discharge** ([`finalise`]): it then needs at least one
//!   diagnosis, and is never edited again (a save is refused with `admission_id`, `invalid`);
//!   a correction is a note in the chart, not a rewrite of what the patient took home.
//! - **Fields**: final diagnoses (ICD-10 codes checked against the shipped table, each with
//!   text of its own; or text alone), the course in hospital, procedures, investigations with
//!   their key results (picked from the stay's lab results, or written), medicines on
//!   discharge (from the medicine list: dose, unit, a `1-0-1` schedule or PRN with when to take
//!   it, days), advice, and the follow-up date (after the discharge day) with its doctor.
//!   Allergies are read from the record when shown, never retyped.
//! - **One row per admission**: its id is derived from the admission's, so two devices that
//!   both start the summary offline write one row.

use super::canonical_time;
use super::schedule::{parse_pattern, pattern_text};
use crate::clinical::{line, text, within};
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{ChangeOp, Store, WriteTx};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::SqliteConnection;

/// The longest course, procedures or advice.
pub const SUMMARY_TEXT_MAX: usize = 4000;
/// The longest text of one diagnosis, one investigation's key result or a medicine's
/// instructions.
pub const SUMMARY_LINE_MAX: usize = 200;
/// The most diagnoses, investigations and medicines one summary lists.
pub const SUMMARY_DIAGNOSES_MAX: usize = 20;
pub const SUMMARY_INVESTIGATIONS_MAX: usize = 40;
pub const SUMMARY_MEDICINES_MAX: usize = 30;
/// The most days a discharge medicine is given for.
pub const SUMMARY_MEDICINE_DAYS_MAX: u32 = 365;
/// How far after the discharge (or today) a follow-up may be booked, in days.
pub const FOLLOW_UP_DAYS_MAX: i64 = 365;

/// A final diagnosis as the doctor gives it: an ICD-10 code, its own text, or both.
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct SummaryDiagnosisInput {
    pub code: String,
    pub text: String,
}

/// An investigation: one of the stay's lab results (its key result as the lab gave it, with a
/// note), or written in full (an X-ray, a scan: `note` alone).
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct InvestigationInput {
    pub lab_result_id: Option<String>,
    pub note: String,
}

/// A medicine on discharge.
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct DischargeMedicineInput {
    pub medicine_id: String,
    pub dose: String,
    pub dose_unit: String,
    /// `1-0-1` (morning-noon-night) or four parts; empty for PRN.
    pub schedule: String,
    /// For how many days; may be empty for PRN.
    pub days: Option<u32>,
    pub prn: bool,
    /// When to take it (required for PRN: "for fever above 38.5 °C"), or a note.
    pub instructions: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct SummaryInput {
    pub admission_id: String,
    pub diagnoses: Vec<SummaryDiagnosisInput>,
    pub course: String,
    pub procedures: String,
    pub investigations: Vec<InvestigationInput>,
    pub medicines: Vec<DischargeMedicineInput>,
    pub advice: String,
    /// YYYY-MM-DD in the clinic's calendar, after the discharge day (today while in hospital).
    pub follow_up_on: Option<String>,
    /// staff.id of the doctor to see; the admitting doctor when a date is given without one.
    pub follow_up_doctor_id: Option<String>,
}

/// A diagnosis as stored: the code's description from the shipped table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct SummaryDiagnosis {
    pub code: String,
    pub description: String,
    pub text: String,
}

/// An investigation as stored: what the lab result said when it was picked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct Investigation {
    pub lab_result_id: Option<String>,
    pub test: String,
    pub value: String,
    pub unit: String,
    /// normal | low | high | unknown ("" when written).
    pub abnormal: String,
    pub resulted_at: Option<String>,
    pub note: String,
}

/// A medicine on discharge as stored, with its name from the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(deny_unknown_fields)]
pub struct DischargeMedicine {
    pub medicine_id: String,
    pub name: String,
    pub dose: String,
    pub dose_unit: String,
    pub schedule: String,
    pub days: Option<u32>,
    pub prn: bool,
    pub instructions: String,
}

impl DischargeMedicine {
    /// "1 tablet · 1-0-1 · 5 days", "1 tablet · when needed: for fever".
    pub fn how(&self) -> String {
        let mut parts = vec![format!("{} {}", self.dose, self.dose_unit)];
        if self.prn {
            parts.push(if self.instructions.is_empty() {
                "when needed".into()
            } else {
                format!("when needed: {}", self.instructions)
            });
        } else {
            parts.push(self.schedule.clone());
        }
        if let Some(d) = self.days {
            parts.push(if d == 1 { "1 day".into() } else { format!("{d} days") });
        }
        if !self.prn && !self.instructions.is_empty() {
            parts.push(self.instructions.clone());
        }
        parts.join(" · ")
    }
}

/// A saved summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct DischargeSummary {
    pub id: String,
    pub admission_id: String,
    pub diagnoses: Vec<SummaryDiagnosis>,
    pub course: String,
    pub procedures: String,
    pub investigations: Vec<Investigation>,
    pub medicines: Vec<DischargeMedicine>,
    pub advice: String,
    pub follow_up_on: Option<String>,
    pub follow_up_doctor_id: Option<String>,
    pub follow_up_doctor_name: String,
    pub written_by: Option<String>,
    pub written_by_name: String,
    pub written_at: String,
    pub finalised_at: Option<String>,
    pub finalised_by: Option<String>,
    pub finalised_by_name: String,
}

/// A lab result of the stay, offered to pick as an investigation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct StayResult {
    pub lab_result_id: String,
    pub test: String,
    pub value: String,
    pub unit: String,
    pub abnormal: String,
    pub resulted_at: String,
}

/// What the summary screen shows: the stay, the summary (none yet: `None`), the patient's
/// allergies from the record and the stay's lab results to pick from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct SummaryView {
    pub admission: super::Admission,
    pub patient_name: String,
    pub mrn: String,
    pub doctor_name: String,
    /// "Penicillin (severe: rash); Sulfa" or "No known allergies".
    pub allergies: String,
    pub summary: Option<DischargeSummary>,
    pub stay_results: Vec<StayResult>,
    /// Whether the reader may write and finalise it (a doctor, before it is final).
    pub can_write: bool,
}

/// The summary's id for an admission: the same on every device.
pub fn summary_id(admission_id: &str) -> String {
    crate::ids::reference_id("discharge_summary", admission_id)
}

/// The admission as a summary needs it: (patient, admitting doctor, admitted_at, discharged_at).
type StayRow = (String, String, String, Option<String>);

async fn stay(conn: &mut SqliteConnection, admission_id: &str) -> Result<Option<StayRow>> {
    Ok(sqlx::query_as(
        "SELECT patient_id, doctor_id, admitted_at, discharged_at FROM admissions WHERE id = ? AND deleted_at IS NULL",
    )
    .bind(admission_id)
    .fetch_optional(conn)
    .await?)
}

/// The clinic's calendar day of a stored UTC time.
fn local_day(tz: chrono_tz::Tz, at: &str) -> Option<NaiveDate> {
    chrono::DateTime::parse_from_rfc3339(at).ok().map(|t| t.with_timezone(&tz).date_naive())
}

/// Saves the summary (a doctor): creates it or rewrites the draft. Refused once finalised.
pub async fn save(store: &Store, auth: &Authorized, input: SummaryInput) -> Result<DischargeSummary> {
    auth.require(Permission::InpatientOrders)?;
    if let Ok(patient) = super::orders::admission_patient(store, &input.admission_id).await {
        crate::clinical::restriction::require_chart(store, auth, &patient).await?;
    }
    crate::clinical::icd10::ensure_loaded(store).await?;
    let course = text("course", &input.course, SUMMARY_TEXT_MAX)?;
    let procedures = text("procedures", &input.procedures, SUMMARY_TEXT_MAX)?;
    let advice = text("advice", &input.advice, SUMMARY_TEXT_MAX)?;
    count("diagnoses", input.diagnoses.len(), SUMMARY_DIAGNOSES_MAX)?;
    count("investigations", input.investigations.len(), SUMMARY_INVESTIGATIONS_MAX)?;
    count("medicines", input.medicines.len(), SUMMARY_MEDICINES_MAX)?;

    let mut w = store.begin_write(auth.actor()).await?;
    let (patient_id, doctor_id, admitted_at, discharged_at) = stay(w.conn(), &input.admission_id)
        .await?
        .ok_or_else(|| Error::validation("admission_id", ValidationReason::Invalid, "no such admission"))?;
    let id = summary_id(&input.admission_id);
    let existing: Option<Option<String>> =
        sqlx::query_scalar("SELECT finalised_at FROM discharge_summaries WHERE id = ? AND deleted_at IS NULL")
            .bind(&id)
            .fetch_optional(w.conn())
            .await?;
    if matches!(existing, Some(Some(_))) {
        return Err(Error::validation("admission_id", ValidationReason::Invalid, "the summary is final"));
    }
    let mut diagnoses = Vec::with_capacity(input.diagnoses.len());
    for (i, d) in input.diagnoses.iter().enumerate() {
        diagnoses.push(within(&format!("diagnoses.{i}"), diagnosis(&mut w, d).await)?);
    }
    let mut investigations = Vec::with_capacity(input.investigations.len());
    for (i, inv) in input.investigations.iter().enumerate() {
        let stay = (patient_id.as_str(), admitted_at.as_str(), discharged_at.as_deref());
        investigations.push(within(&format!("investigations.{i}"), investigation(&mut w, stay, inv).await)?);
    }
    let mut medicines = Vec::with_capacity(input.medicines.len());
    for (i, m) in input.medicines.iter().enumerate() {
        medicines.push(within(&format!("medicines.{i}"), medicine(&mut w, m).await)?);
    }
    let tz = crate::clinic::time_zone_in(&mut w).await?;
    let now = w.now_rfc3339();
    let follow_up_on = follow_up_date(tz, input.follow_up_on.as_deref(), discharged_at.as_deref().unwrap_or(&now))?;
    let follow_up_doctor = match input.follow_up_doctor_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(d) => {
            require_doctor(&mut w, d).await?;
            Some(d.to_string())
        }
        None => follow_up_on.as_ref().map(|_| doctor_id.clone()),
    };
    let by = w.actor().user_id.clone();
    let cols: Vec<(&str, Value)> = vec![
        ("admission_id", json!(input.admission_id)),
        ("diagnoses", json!(serde_json::to_string(&diagnoses)?)),
        ("course", json!(course)),
        ("procedures", json!(procedures)),
        ("investigations", json!(serde_json::to_string(&investigations)?)),
        ("medicines", json!(serde_json::to_string(&medicines)?)),
        ("advice", json!(advice)),
        ("follow_up_on", json!(follow_up_on)),
        ("follow_up_doctor_id", json!(follow_up_doctor)),
        ("written_by", json!(by)),
        ("written_at", json!(now)),
    ];
    let created = existing.is_none();
    if created {
        crate::clinical::insert_row(&mut w, "discharge_summaries", &id, &cols).await?;
    } else {
        update_row(&mut w, &id, &cols[1..]).await?;
    }
    w.audit(
        if created { "inpatient.summary_create" } else { "inpatient.summary_update" },
        "discharge_summary",
        Some(&id),
        json!({ "admission_id": input.admission_id, "patient_id": patient_id,
                "diagnoses": diagnoses.iter().map(|d| d.code.as_str()).collect::<Vec<_>>(),
                "medicines": medicines.len(), "follow_up_on": follow_up_on }),
    )
    .await?;
    let saved = load(w.conn(), &input.admission_id).await?.ok_or(Error::NotFound { entity: "summary".into() })?;
    w.commit().await?;
    Ok(saved)
}

/// Finalises the summary of a discharged patient (a doctor): it needs a diagnosis, and its
/// follow-up date must fall after the discharge day. Never edited after.
pub async fn finalise(store: &Store, auth: &Authorized, admission_id: &str) -> Result<DischargeSummary> {
    auth.require(Permission::InpatientOrders)?;
    if let Ok(patient) = super::orders::admission_patient(store, admission_id).await {
        crate::clinical::restriction::require_chart(store, auth, &patient).await?;
    }
    let mut w = store.begin_write(auth.actor()).await?;
    let (patient_id, _, _, discharged_at) = stay(w.conn(), admission_id)
        .await?
        .ok_or_else(|| Error::validation("admission_id", ValidationReason::Invalid, "no such admission"))?;
    let Some(discharged_at) = discharged_at else {
        return Err(Error::validation("admission_id", ValidationReason::Invalid, "discharge the patient first"));
    };
    let s = load(w.conn(), admission_id)
        .await?
        .ok_or_else(|| Error::validation("admission_id", ValidationReason::Required, "write the summary first"))?;
    if s.finalised_at.is_some() {
        return Err(Error::validation("admission_id", ValidationReason::Invalid, "the summary is final"));
    }
    if s.diagnoses.is_empty() {
        return Err(Error::validation("diagnoses", ValidationReason::Required, "give the final diagnosis"));
    }
    // A draft saved before the discharge checked its follow-up against that day, not this one.
    let tz = crate::clinic::time_zone_in(&mut w).await?;
    follow_up_date(tz, s.follow_up_on.as_deref(), &discharged_at)?;
    let now = w.now_rfc3339();
    let by = w.actor().user_id.clone();
    update_row(&mut w, &s.id, &[("finalised_at", json!(now)), ("finalised_by", json!(by))]).await?;
    w.audit(
        "inpatient.summary_finalise",
        "discharge_summary",
        Some(&s.id),
        json!({ "admission_id": admission_id, "patient_id": patient_id }),
    )
    .await?;
    let saved = load(w.conn(), admission_id).await?.ok_or(Error::NotFound { entity: "summary".into() })?;
    w.commit().await?;
    Ok(saved)
}

/// The summary screen's data (clinicians; a restricted chart's only by its care team).
pub async fn view(store: &Store, auth: &Authorized, admission_id: &str) -> Result<SummaryView> {
    auth.require(Permission::ClinicalView)?;
    let patient_id = super::orders::admission_patient(store, admission_id).await?;
    crate::clinical::restriction::require_chart(store, auth, &patient_id).await?;
    let admission = super::stays::admission(store, auth, admission_id).await?;
    let patient = crate::patients::load(store, &patient_id).await?;
    let mut conn = store.pool().acquire().await?;
    let (doctor_name, _) = crate::clinical::print::doctor(&mut conn, &admission.doctor_id).await?;
    let allergies = crate::clinical::print::allergies_line(&mut conn, &patient).await?;
    let summary = load(&mut conn, admission_id).await?;
    let stay_results =
        stay_results(&mut conn, &patient_id, &admission.admitted_at, admission.discharged_at.as_deref()).await?;
    let can_write =
        auth.require(Permission::InpatientOrders).is_ok() && summary.as_ref().is_none_or(|s| s.finalised_at.is_none());
    Ok(SummaryView {
        patient_name: patient.display_name(),
        mrn: patient.mrn.clone(),
        doctor_name,
        allergies,
        summary,
        stay_results,
        can_write,
        admission,
    })
}

fn count(field: &str, n: usize, max: usize) -> Result<()> {
    if n > max {
        return Err(Error::validation(field, ValidationReason::OutOfRange, format!("at most {max}")));
    }
    Ok(())
}

async fn diagnosis(w: &mut WriteTx<'_>, d: &SummaryDiagnosisInput) -> Result<SummaryDiagnosis> {
    let text = line("text", &d.text, SUMMARY_LINE_MAX, false)?;
    let (code, description) = match d.code.trim() {
        "" if text.is_empty() => {
            return Err(Error::validation("code", ValidationReason::Required, "an ICD-10 code or the diagnosis"))
        }
        "" => (String::new(), String::new()),
        raw => {
            let c = crate::clinical::icd10::lookup_in(w, raw)
                .await?
                .ok_or_else(|| Error::validation("code", ValidationReason::Invalid, "not an ICD-10 code"))?;
            (c.code, c.description)
        }
    };
    Ok(SummaryDiagnosis { code, description, text })
}

/// (patient, admitted_at, discharged_at) of the stay.
type Stay<'a> = (&'a str, &'a str, Option<&'a str>);

async fn investigation(w: &mut WriteTx<'_>, stay: Stay<'_>, inv: &InvestigationInput) -> Result<Investigation> {
    let note = line("note", &inv.note, SUMMARY_LINE_MAX, false)?;
    let Some(result_id) = inv.lab_result_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
        if note.is_empty() {
            return Err(Error::validation("note", ValidationReason::Required, "the investigation and its result"));
        }
        return Ok(Investigation {
            lab_result_id: None,
            test: String::new(),
            value: String::new(),
            unit: String::new(),
            abnormal: String::new(),
            resulted_at: None,
            note,
        });
    };
    let results = stay_results(w.conn(), stay.0, stay.1, stay.2).await?;
    let r = results
        .into_iter()
        .find(|r| r.lab_result_id == result_id)
        .ok_or_else(|| Error::validation("lab_result_id", ValidationReason::Invalid, "not a result of this stay"))?;
    Ok(Investigation {
        lab_result_id: Some(r.lab_result_id),
        test: r.test,
        value: r.value,
        unit: r.unit,
        abnormal: r.abnormal,
        resulted_at: Some(r.resulted_at),
        note,
    })
}

async fn medicine(w: &mut WriteTx<'_>, m: &DischargeMedicineInput) -> Result<DischargeMedicine> {
    let id = m.medicine_id.trim();
    if id.is_empty() {
        return Err(Error::validation("medicine_id", ValidationReason::Required, "pick a medicine"));
    }
    let name: Option<(String, String, String)> =
        sqlx::query_as("SELECT name, strength, form FROM medicines WHERE id = ? AND active = 1 AND deleted_at IS NULL")
            .bind(id)
            .fetch_optional(w.conn())
            .await?;
    let (name, strength, form) =
        name.ok_or_else(|| Error::validation("medicine_id", ValidationReason::Invalid, "not in the medicine list"))?;
    let dose = line("dose", &m.dose, super::orders::DOSE_MAX, true)?;
    let dose_unit = line("dose_unit", &m.dose_unit, super::orders::DOSE_UNIT_MAX, true)?;
    let instructions = line("instructions", &m.instructions, SUMMARY_LINE_MAX, false)?;
    let schedule = match (m.prn, m.schedule.trim()) {
        (true, "") => String::new(),
        (true, _) => {
            return Err(Error::validation("schedule", ValidationReason::Invalid, "a PRN medicine has no fixed times"))
        }
        (false, "") => return Err(Error::validation("schedule", ValidationReason::Required, "e.g. 1-0-1")),
        (false, raw) => parse_pattern(raw)
            .map(pattern_text)
            .ok_or_else(|| Error::validation("schedule", ValidationReason::Invalid, "e.g. 1-0-1 or 1-1-1-1"))?,
    };
    if m.prn && instructions.is_empty() {
        return Err(Error::validation("instructions", ValidationReason::Required, "when to take it"));
    }
    match m.days {
        None if !m.prn => {
            return Err(Error::validation(
                "days",
                ValidationReason::Required,
                format!("1 to {SUMMARY_MEDICINE_DAYS_MAX} days"),
            ))
        }
        Some(d) if !(1..=SUMMARY_MEDICINE_DAYS_MAX).contains(&d) => {
            return Err(Error::validation(
                "days",
                ValidationReason::OutOfRange,
                format!("1 to {SUMMARY_MEDICINE_DAYS_MAX} days"),
            ))
        }
        _ => {}
    }
    let name = [name, strength, form].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ");
    Ok(DischargeMedicine {
        medicine_id: id.to_string(),
        name,
        dose,
        dose_unit,
        schedule,
        days: m.days,
        prn: m.prn,
        instructions,
    })
}

/// A follow-up date: a day after the discharge day (or today, while in hospital) and at most
/// [`FOLLOW_UP_DAYS_MAX`] after it.
fn follow_up_date(tz: chrono_tz::Tz, raw: Option<&str>, after: &str) -> Result<Option<String>> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
    let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| Error::validation("follow_up_on", ValidationReason::Invalid, "a date YYYY-MM-DD"))?;
    let from = local_day(tz, after).ok_or_else(|| Error::internal("a stored time that does not read"))?;
    if day <= from || day > from + chrono::Duration::days(FOLLOW_UP_DAYS_MAX) {
        return Err(Error::validation(
            "follow_up_on",
            ValidationReason::OutOfRange,
            format!("after the discharge day, within {FOLLOW_UP_DAYS_MAX} days"),
        ));
    }
    Ok(Some(day.format("%Y-%m-%d").to_string()))
}

async fn require_doctor(w: &mut WriteTx<'_>, staff_id: &str) -> Result<()> {
    let role: Option<String> =
        sqlx::query_scalar("SELECT role FROM staff WHERE id = ? AND active = 1 AND deleted_at IS NULL")
            .bind(staff_id)
            .fetch_optional(w.conn())
            .await?;
    if role.as_deref() != Some("doctor") {
        return Err(Error::validation("follow_up_doctor_id", ValidationReason::Invalid, "pick an active doctor"));
    }
    Ok(())
}

/// Updates the given columns of a summary (and its clock) and records the change.
async fn update_row(w: &mut WriteTx<'_>, id: &str, cols: &[(&str, Value)]) -> Result<()> {
    let (stamp, by) = (w.stamp(), w.actor().user_id.clone());
    let sets: Vec<String> = cols.iter().map(|(c, _)| format!("{c} = ?")).collect();
    // The column names are this module's constants, never input.
    let sql =
        format!("UPDATE discharge_summaries SET {}, updated_at = ?, updated_by = ? WHERE id = ?", sets.join(", "));
    let mut q = sqlx::query(&sql);
    for (_, v) in cols {
        q = match v {
            Value::Null => q.bind(None::<String>),
            Value::String(s) => q.bind(s.clone()),
            other => q.bind(other.to_string()),
        };
    }
    q.bind(&stamp).bind(&by).bind(id).execute(w.conn()).await?;
    let mut data = serde_json::Map::new();
    for (c, v) in cols {
        data.insert((*c).into(), v.clone());
    }
    data.insert("updated_at".into(), json!(stamp));
    data.insert("updated_by".into(), json!(by));
    w.record_change("discharge_summaries", id, ChangeOp::Update, &Value::Object(data)).await
}

/// The lab results of a patient resulted during the stay (from the admission to the
/// discharge, or now), newest first.
async fn stay_results(
    conn: &mut SqliteConnection,
    patient_id: &str,
    admitted_at: &str,
    discharged_at: Option<&str>,
) -> Result<Vec<StayResult>> {
    let from = canonical_time(admitted_at).unwrap_or_else(|| admitted_at.to_string());
    let to = discharged_at.map(|t| canonical_time(t).unwrap_or_else(|| t.to_string()));
    let rows: Vec<(String, String, String, String, String, String, String)> = sqlx::query_as(
        "SELECT r.id, t.name, t.code, r.value, r.unit, r.abnormal, r.resulted_at
         FROM lab_results r JOIN lab_tests t ON t.id = r.test_id
         WHERE r.patient_id = ?1 AND r.deleted_at IS NULL AND r.resulted_at >= ?2 AND (?3 IS NULL OR r.resulted_at <= ?3)
         ORDER BY r.resulted_at DESC, r.id DESC",
    )
    .bind(patient_id)
    .bind(&from)
    .bind(&to)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, code, value, unit, abnormal, resulted_at)| StayResult {
            lab_result_id: id,
            test: format!("{name} ({code})"),
            value,
            unit,
            abnormal,
            resulted_at: canonical_time(&resulted_at).unwrap_or(resulted_at),
        })
        .collect())
}

type SummaryRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
);

/// An admission's summary, if written.
pub(crate) async fn load(conn: &mut SqliteConnection, admission_id: &str) -> Result<Option<DischargeSummary>> {
    let row: Option<SummaryRow> = sqlx::query_as(
        "SELECT id, admission_id, diagnoses, course, procedures, investigations, medicines, advice, follow_up_on,
                follow_up_doctor_id, written_by, written_at, finalised_at, finalised_by
         FROM discharge_summaries WHERE id = ? AND deleted_at IS NULL",
    )
    .bind(summary_id(admission_id))
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let (id, admission_id, diagnoses, course, procedures, investigations, medicines, advice, follow_up_on) =
        (r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8);
    let (follow_up_doctor_id, written_by, written_at, finalised_at, finalised_by) = (r.9, r.10, r.11, r.12, r.13);
    let diagnoses: Vec<SummaryDiagnosis> = json_list(&id, "diagnoses", &diagnoses)?;
    let investigations: Vec<Investigation> = json_list(&id, "investigations", &investigations)?;
    let medicines: Vec<DischargeMedicine> = json_list(&id, "medicines", &medicines)?;
    let user = "SELECT full_name FROM users WHERE id = ?";
    let written_by_name = name_of(&mut *conn, user, written_by.as_deref()).await?;
    let finalised_by_name = name_of(&mut *conn, user, finalised_by.as_deref()).await?;
    let follow_up_doctor_name =
        name_of(&mut *conn, "SELECT full_name FROM staff WHERE id = ?", follow_up_doctor_id.as_deref()).await?;
    Ok(Some(DischargeSummary {
        id,
        admission_id,
        diagnoses,
        course,
        procedures,
        investigations,
        medicines,
        advice,
        follow_up_on,
        follow_up_doctor_id,
        follow_up_doctor_name,
        written_by,
        written_by_name,
        written_at: canonical_time(&written_at).unwrap_or(written_at),
        finalised_at: finalised_at.map(|t| canonical_time(&t).unwrap_or(t)),
        finalised_by,
        finalised_by_name,
    }))
}

/// A stored JSON list, read strictly: one that does not read is `corrupt_record`, never empty.
fn json_list<T: serde::de::DeserializeOwned>(id: &str, field: &str, raw: &str) -> Result<Vec<T>> {
    serde_json::from_str(raw).map_err(|e| Error::corrupt("discharge_summaries", id, field, e))
}

/// A user's or staff member's full name ("" when unknown here).
async fn name_of(conn: &mut SqliteConnection, sql: &str, id: Option<&str>) -> Result<String> {
    let Some(id) = id else { return Ok(String::new()) };
    Ok(sqlx::query_scalar::<_, String>(sql).bind(id).fetch_optional(conn).await?.unwrap_or_default())
}
