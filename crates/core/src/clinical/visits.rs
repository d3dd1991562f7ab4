//! Visits, vitals (with plausible-range checks), diagnoses (ICD-10-CM coded or free text)
//! and allergies.

use super::model::*;
use super::{exists, icd10, insert_row, line, text};
use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{ChangeOp, Store, WriteTx};
use serde_json::{json, Value};
use sqlx::SqliteConnection;

const NOTE_MAX: usize = 10_000;

fn check_date(field: &str, raw: Option<&str>) -> Result<Option<String>> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(|d| Some(d.format("%Y-%m-%d").to_string()))
            .map_err(|_| Error::validation(field, ValidationReason::Invalid, "expected YYYY-MM-DD")),
    }
}

/// Starts a visit inside a write (used alone and by a whole consultation).
pub(crate) async fn start_visit_in(w: &mut WriteTx<'_>, auth: &Authorized, input: &VisitInput) -> Result<Visit> {
    let complaints = text("complaints", &input.complaints, NOTE_MAX)?;
    let history = text("history", &input.history, NOTE_MAX)?;
    let examination = text("examination", &input.examination, NOTE_MAX)?;
    let notes = text("notes", &input.notes, NOTE_MAX)?;
    let follow_up = check_date("follow_up_date", input.follow_up_date.as_deref())?;
    let patient_id = input.patient_id.trim();
    if patient_id.is_empty() || !exists(w, "patients", patient_id).await? {
        return Err(Error::validation("patient_id", ValidationReason::Invalid, "unknown patient"));
    }
    let appointment = input.appointment_id.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let mut doctor = input.doctor_id.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(String::from);
    if let Some(a) = appointment {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT patient_id, doctor_id FROM appointments WHERE id = ? AND deleted_at IS NULL")
                .bind(a)
                .fetch_optional(w.conn())
                .await?;
        let Some((p, d)) = row else {
            return Err(Error::validation("appointment_id", ValidationReason::Invalid, "unknown appointment"));
        };
        if p != patient_id {
            return Err(Error::validation(
                "appointment_id",
                ValidationReason::Invalid,
                "the appointment is another patient's",
            ));
        }
        let taken: bool =
            sqlx::query_scalar("SELECT COUNT(*) > 0 FROM visits WHERE appointment_id = ? AND deleted_at IS NULL")
                .bind(a)
                .fetch_one(w.conn())
                .await?;
        if taken {
            return Err(Error::validation(
                "appointment_id",
                ValidationReason::Taken,
                "this appointment already has a visit",
            ));
        }
        doctor.get_or_insert(d);
    }
    let doctor = match doctor {
        Some(d) => d,
        None => sqlx::query_scalar::<_, String>("SELECT id FROM staff WHERE user_id = ? AND deleted_at IS NULL")
            .bind(&auth.user_id)
            .fetch_optional(w.conn())
            .await?
            .ok_or_else(|| {
                Error::validation(
                    "doctor_id",
                    ValidationReason::Required,
                    "choose the doctor (the signed-in user has no staff profile)",
                )
            })?,
    };
    let doctor_name: Option<String> =
        sqlx::query_scalar("SELECT full_name FROM staff WHERE id = ? AND deleted_at IS NULL")
            .bind(&doctor)
            .fetch_optional(w.conn())
            .await?;
    let Some(doctor_name) = doctor_name else {
        return Err(Error::validation("doctor_id", ValidationReason::Invalid, "unknown staff member"));
    };
    let id = crate::ids::new_id();
    let started_at = w.now_rfc3339();
    insert_row(
        w,
        "visits",
        &id,
        &[
            ("patient_id", json!(patient_id)),
            ("doctor_id", json!(doctor)),
            ("appointment_id", json!(appointment)),
            ("started_at", json!(started_at)),
            ("complaints", json!(complaints)),
            ("history", json!(history)),
            ("examination", json!(examination)),
            ("notes", json!(notes)),
            ("follow_up_date", json!(follow_up)),
        ],
    )
    .await?;
    w.audit(
        "visit.start",
        "visit",
        Some(&id),
        json!({ "patient_id": patient_id, "doctor_id": doctor, "appointment_id": appointment }),
    )
    .await?;
    Ok(Visit {
        id,
        patient_id: patient_id.to_string(),
        doctor_id: doctor,
        doctor_name,
        appointment_id: appointment.map(String::from),
        started_at,
        closed_at: None,
        complaints,
        history,
        examination,
        notes,
        follow_up_date: follow_up,
    })
}

/// Starts a visit (outpatient consultation), optionally from an appointment.
pub async fn start_visit(store: &Store, auth: &Authorized, input: VisitInput) -> Result<Visit> {
    auth.require(Permission::ClinicalEdit)?;
    // A visit puts its doctor on a restricted chart's care team: not a way around it.
    super::restriction::require_chart(store, auth, input.patient_id.trim()).await?;
    let mut w = store.begin_write(auth.actor()).await?;
    let v = start_visit_in(&mut w, auth, &input).await?;
    w.commit().await?;
    Ok(v)
}

/// Saves the doctor's notes of an open visit.
pub async fn update_visit(store: &Store, auth: &Authorized, visit_id: &str, n: VisitNotes) -> Result<Visit> {
    auth.require(Permission::ClinicalEdit)?;
    super::restriction::require_visit_chart(store, auth, visit_id).await?;
    let complaints = text("complaints", &n.complaints, NOTE_MAX)?;
    let history = text("history", &n.history, NOTE_MAX)?;
    let examination = text("examination", &n.examination, NOTE_MAX)?;
    let notes = text("notes", &n.notes, NOTE_MAX)?;
    let follow_up = check_date("follow_up_date", n.follow_up_date.as_deref())?;
    let mut w = store.begin_write(auth.actor()).await?;
    let closed: Option<Option<String>> =
        sqlx::query_scalar("SELECT closed_at FROM visits WHERE id = ? AND deleted_at IS NULL")
            .bind(visit_id)
            .fetch_optional(w.conn())
            .await?;
    match closed {
        None => return Err(Error::NotFound { entity: "visit".into() }),
        Some(Some(_)) => return Err(Error::validation("visit_id", ValidationReason::Invalid, "the visit is closed")),
        Some(None) => {}
    }
    let (stamp, by) = (w.stamp(), w.actor().user_id.clone());
    // The notes as they were: only the parts this save changes go to the outbox.
    let before: String = sqlx::query_scalar(
        "SELECT json_object('complaints', complaints, 'history', history, 'examination', examination, 'notes', notes,
           'follow_up_date', follow_up_date) FROM visits WHERE id = ?",
    )
    .bind(visit_id)
    .fetch_one(w.conn())
    .await?;
    let before: Value = serde_json::from_str(&before)?;
    sqlx::query("UPDATE visits SET complaints = ?, history = ?, examination = ?, notes = ?, follow_up_date = ?, updated_at = ?, updated_by = ? WHERE id = ?")
        .bind(&complaints)
        .bind(&history)
        .bind(&examination)
        .bind(&notes)
        .bind(&follow_up)
        .bind(&stamp)
        .bind(&by)
        .bind(visit_id)
        .execute(w.conn())
        .await?;
    let row = json!({ "complaints": complaints, "history": history, "examination": examination, "notes": notes, "follow_up_date": follow_up, "updated_at": stamp, "updated_by": by });
    w.record_update("visits", visit_id, &before, &row).await?;
    w.audit("visit.update", "visit", Some(visit_id), json!({ "follow_up_date": follow_up })).await?;
    w.commit().await?;
    visit(store, auth, visit_id).await
}

/// Closes a visit (its notes are then final).
pub async fn close_visit(store: &Store, auth: &Authorized, visit_id: &str) -> Result<Visit> {
    auth.require(Permission::ClinicalEdit)?;
    super::restriction::require_visit_chart(store, auth, visit_id).await?;
    let mut w = store.begin_write(auth.actor()).await?;
    let (now, stamp, by) = (w.now_rfc3339(), w.stamp(), w.actor().user_id.clone());
    let n = sqlx::query("UPDATE visits SET closed_at = ?, updated_at = ?, updated_by = ? WHERE id = ? AND closed_at IS NULL AND deleted_at IS NULL")
        .bind(&now)
        .bind(&stamp)
        .bind(&by)
        .bind(visit_id)
        .execute(w.conn())
        .await?
        .rows_affected();
    if n == 0 {
        return Err(Error::NotFound { entity: "open visit".into() });
    }
    w.record_change(
        "visits",
        visit_id,
        ChangeOp::Update,
        &json!({ "closed_at": now, "updated_at": stamp, "updated_by": by }),
    )
    .await?;
    w.audit("visit.close", "visit", Some(visit_id), json!({})).await?;
    w.commit().await?;
    visit(store, auth, visit_id).await
}

/// A visit as [`VISIT_SELECT`] reads it.
#[derive(sqlx::FromRow)]
struct VisitRow {
    id: String,
    patient_id: String,
    doctor_id: String,
    doctor_name: String,
    appointment_id: Option<String>,
    started_at: String,
    closed_at: Option<String>,
    complaints: String,
    history: String,
    examination: String,
    notes: String,
    follow_up_date: Option<String>,
}

/// The columns of a [`VisitRow`], written once.
const VISIT_SELECT: &str =
    "SELECT v.id, v.patient_id, v.doctor_id, s.full_name AS doctor_name, v.appointment_id, v.started_at,
    v.closed_at, v.complaints, v.history, v.examination, v.notes, v.follow_up_date
    FROM visits v JOIN staff s ON s.id = v.doctor_id";

impl From<VisitRow> for Visit {
    fn from(r: VisitRow) -> Self {
        Visit {
            id: r.id,
            patient_id: r.patient_id,
            doctor_id: r.doctor_id,
            doctor_name: r.doctor_name,
            appointment_id: r.appointment_id,
            started_at: r.started_at,
            closed_at: r.closed_at,
            complaints: r.complaints,
            history: r.history,
            examination: r.examination,
            notes: r.notes,
            follow_up_date: r.follow_up_date,
        }
    }
}

pub(crate) async fn load_visit(conn: &mut SqliteConnection, id: &str) -> Result<Option<Visit>> {
    let sql = format!("{VISIT_SELECT} WHERE v.id = ? AND v.deleted_at IS NULL");
    let row: Option<VisitRow> = sqlx::query_as(&sql).bind(id).fetch_optional(conn).await?;
    Ok(row.map(Visit::from))
}

/// One visit in full.
pub async fn visit(store: &Store, auth: &Authorized, visit_id: &str) -> Result<Visit> {
    auth.require(Permission::ClinicalView)?;
    super::restriction::require_visit_chart(store, auth, visit_id).await?;
    let mut conn = store.pool().acquire().await?;
    load_visit(&mut conn, visit_id).await?.ok_or_else(|| Error::NotFound { entity: "visit".into() })
}

/// (field, plausible range, hard range): outside the plausible range needs `confirmed`;
/// outside the hard range is never accepted.
type Limit = (&'static str, (i32, i32), (i32, i32), &'static str);
const LIMITS: [Limit; 9] = [
    ("temperature_c_x10", (300, 440), (150, 470), "30.0 to 44.0 °C"),
    ("pulse", (20, 250), (0, 350), "20 to 250 a minute"),
    ("bp_systolic", (50, 280), (0, 350), "50 to 280 mmHg"),
    ("bp_diastolic", (20, 180), (0, 300), "20 to 180 mmHg"),
    ("resp_rate", (4, 70), (0, 120), "4 to 70 a minute"),
    ("spo2", (50, 100), (0, 100), "50 to 100 %"),
    ("weight_g", (300, 300_000), (100, 700_000), "0.3 to 300 kg"),
    ("height_mm", (200, 2_400), (100, 3_000), "20 to 240 cm"),
    ("pain", (0, 10), (0, 10), "0 to 10"),
];

/// Each measurement's plausible range (outside it a value needs `confirmed`), in the stored
/// unit: the UI words its messages with these.
pub fn plausible_ranges() -> impl Iterator<Item = (&'static str, (i32, i32))> {
    LIMITS.iter().map(|(field, plausible, _, _)| (*field, *plausible))
}

pub(crate) fn check_vitals(v: &VitalsInput) -> Result<()> {
    let values = [
        v.temperature_c_x10,
        v.pulse,
        v.bp_systolic,
        v.bp_diastolic,
        v.resp_rate,
        v.spo2,
        v.weight_g,
        v.height_mm,
        v.pain,
    ];
    if values.iter().all(Option::is_none) {
        return Err(Error::validation("vitals", ValidationReason::Required, "record at least one measurement"));
    }
    for ((field, (lo, hi), (hard_lo, hard_hi), words), value) in LIMITS.iter().zip(values) {
        let Some(x) = value else { continue };
        if x < *hard_lo || x > *hard_hi {
            return Err(Error::validation(
                field,
                ValidationReason::OutOfRange,
                format!("impossible value; plausible: {words}"),
            ));
        }
        if (x < *lo || x > *hi) && !v.confirmed {
            return Err(Error::validation(
                field,
                ValidationReason::NeedsConfirmation,
                format!("implausible value (plausible: {words}); check it, then confirm to save"),
            ));
        }
    }
    if let (Some(s), Some(d)) = (v.bp_systolic, v.bp_diastolic) {
        if d >= s {
            return Err(Error::validation(
                "bp_diastolic",
                ValidationReason::OutOfRange,
                "the diastolic pressure is below the systolic",
            ));
        }
    }
    Ok(())
}

fn bmi_x10(weight_g: Option<i32>, height_mm: Option<i32>) -> Option<i32> {
    let (w, h) = (i64::from(weight_g?), i64::from(height_mm?));
    if h <= 0 {
        return None;
    }
    // kg / m² × 10 = g × 10,000 / mm²; one more digit to round half up.
    let num = w * 100_000;
    let den = h * h;
    i32::try_from((num / den + 5) / 10).ok()
}

/// Records vitals inside a write.
pub(crate) async fn record_vitals_in(w: &mut WriteTx<'_>, v: &VitalsInput) -> Result<Vitals> {
    check_vitals(v)?;
    let patient_id = v.patient_id.trim();
    if patient_id.is_empty() || !exists(w, "patients", patient_id).await? {
        return Err(Error::validation("patient_id", ValidationReason::Invalid, "unknown patient"));
    }
    let visit_id = v.visit_id.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if let Some(vid) = visit_id {
        let p: Option<String> = sqlx::query_scalar("SELECT patient_id FROM visits WHERE id = ? AND deleted_at IS NULL")
            .bind(vid)
            .fetch_optional(w.conn())
            .await?;
        if p.as_deref() != Some(patient_id) {
            return Err(Error::validation("visit_id", ValidationReason::Invalid, "unknown visit of this patient"));
        }
    }
    let id = crate::ids::new_id();
    let taken_at = w.now_rfc3339();
    insert_row(
        w,
        "vitals",
        &id,
        &[
            ("patient_id", json!(patient_id)),
            ("visit_id", json!(visit_id)),
            ("taken_at", json!(taken_at)),
            ("temperature_c_x10", json!(v.temperature_c_x10)),
            ("pulse", json!(v.pulse)),
            ("bp_systolic", json!(v.bp_systolic)),
            ("bp_diastolic", json!(v.bp_diastolic)),
            ("resp_rate", json!(v.resp_rate)),
            ("spo2", json!(v.spo2)),
            ("weight_g", json!(v.weight_g)),
            ("height_mm", json!(v.height_mm)),
            ("pain", json!(v.pain)),
            ("confirmed", json!(v.confirmed)),
        ],
    )
    .await?;
    w.audit(
        "vitals.record",
        "vitals",
        Some(&id),
        json!({ "patient_id": patient_id, "visit_id": visit_id, "confirmed": v.confirmed }),
    )
    .await?;
    Ok(Vitals {
        id,
        patient_id: patient_id.to_string(),
        visit_id: visit_id.map(String::from),
        taken_at,
        temperature_c_x10: v.temperature_c_x10,
        pulse: v.pulse,
        bp_systolic: v.bp_systolic,
        bp_diastolic: v.bp_diastolic,
        resp_rate: v.resp_rate,
        spo2: v.spo2,
        weight_g: v.weight_g,
        height_mm: v.height_mm,
        pain: v.pain,
        bmi_x10: bmi_x10(v.weight_g, v.height_mm),
        confirmed: v.confirmed,
    })
}

/// Records a set of vitals (nurse or doctor). A value outside its plausible range is a
/// validation error naming the field unless `confirmed` is set.
pub async fn record_vitals(store: &Store, auth: &Authorized, input: VitalsInput) -> Result<Vitals> {
    auth.require(Permission::VitalsEdit)?;
    super::restriction::require_chart(store, auth, input.patient_id.trim()).await?;
    check_vitals(&input)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let v = record_vitals_in(&mut w, &input).await?;
    w.commit().await?;
    Ok(v)
}

/// A set of vitals as [`VITALS_COLS`] reads it.
#[derive(sqlx::FromRow)]
pub(crate) struct VitalsRow {
    id: String,
    patient_id: String,
    visit_id: Option<String>,
    taken_at: String,
    temperature_c_x10: Option<i32>,
    pulse: Option<i32>,
    bp_systolic: Option<i32>,
    bp_diastolic: Option<i32>,
    resp_rate: Option<i32>,
    spo2: Option<i32>,
    weight_g: Option<i32>,
    height_mm: Option<i32>,
    pain: Option<i32>,
    confirmed: bool,
}

/// The columns of a [`VitalsRow`], written once.
pub(crate) const VITALS_COLS: &str =
    "id, patient_id, visit_id, taken_at, temperature_c_x10, pulse, bp_systolic, bp_diastolic, resp_rate, spo2, weight_g, height_mm, pain, confirmed";

pub(crate) fn vitals_of(r: VitalsRow) -> Vitals {
    Vitals {
        bmi_x10: bmi_x10(r.weight_g, r.height_mm),
        id: r.id,
        patient_id: r.patient_id,
        visit_id: r.visit_id,
        taken_at: r.taken_at,
        temperature_c_x10: r.temperature_c_x10,
        pulse: r.pulse,
        bp_systolic: r.bp_systolic,
        bp_diastolic: r.bp_diastolic,
        resp_rate: r.resp_rate,
        spo2: r.spo2,
        weight_g: r.weight_g,
        height_mm: r.height_mm,
        pain: r.pain,
        confirmed: r.confirmed,
    }
}

pub(crate) async fn vitals_rows(conn: &mut SqliteConnection, patient_id: &str, limit: u32) -> Result<Vec<Vitals>> {
    let sql = format!("SELECT {VITALS_COLS} FROM vitals WHERE patient_id = ? AND deleted_at IS NULL ORDER BY taken_at DESC, id DESC LIMIT ?");
    let rows: Vec<VitalsRow> = sqlx::query_as(&sql).bind(patient_id).bind(limit).fetch_all(conn).await?;
    Ok(rows.into_iter().map(vitals_of).collect())
}

/// A patient's vitals, newest first (for the charts over time).
pub async fn vitals_history(store: &Store, auth: &Authorized, patient_id: &str, limit: u32) -> Result<Vec<Vitals>> {
    auth.require(Permission::ClinicalView)?;
    super::restriction::require_chart(store, auth, patient_id).await?;
    let mut conn = store.pool().acquire().await?;
    vitals_rows(&mut conn, patient_id, limit.clamp(1, 1_000)).await
}

/// A diagnosis as [`DIAGNOSIS_COLUMNS`] reads it.
#[derive(sqlx::FromRow)]
pub(crate) struct DiagnosisRow {
    pub id: String,
    pub visit_id: String,
    pub patient_id: String,
    pub icd10: Option<String>,
    pub text: String,
    pub certainty: String,
    pub created_at: String,
}

/// The columns of a [`DiagnosisRow`], written once.
pub(crate) const DIAGNOSIS_COLUMNS: &str = "id, visit_id, patient_id, icd10, text, certainty, created_at";

pub(crate) fn diagnosis_of(r: DiagnosisRow) -> Result<Diagnosis> {
    Ok(Diagnosis {
        certainty: crate::store::stored::code("diagnoses", &r.id, "certainty", &r.certainty, Certainty::from_code)?,
        id: r.id,
        visit_id: r.visit_id,
        patient_id: r.patient_id,
        coded: r.icd10.is_some(),
        icd10: r.icd10,
        text: r.text,
        created_at: r.created_at,
    })
}

/// Adds a diagnosis to a visit inside a write.
pub(crate) async fn add_diagnosis_in(w: &mut WriteTx<'_>, visit_id: &str, d: &DiagnosisInput) -> Result<Diagnosis> {
    let raw_code = d.icd10.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let mut text = line("text", &d.text, 500, false)?;
    let code = match raw_code {
        None => {
            if text.is_empty() {
                return Err(Error::validation(
                    "text",
                    ValidationReason::Required,
                    "a diagnosis needs an ICD-10 code or a text",
                ));
            }
            None
        }
        Some(c) => {
            let Some(found) = icd10::lookup_in(w, c).await? else {
                return Err(Error::validation(
                    "icd10",
                    ValidationReason::Invalid,
                    format!("{c} is not an ICD-10-CM code"),
                ));
            };
            if text.is_empty() {
                text = found.description;
            }
            Some(found.code)
        }
    };
    let patient_id: Option<String> =
        sqlx::query_scalar("SELECT patient_id FROM visits WHERE id = ? AND deleted_at IS NULL")
            .bind(visit_id)
            .fetch_optional(w.conn())
            .await?;
    let Some(patient_id) = patient_id else {
        return Err(Error::validation("visit_id", ValidationReason::Invalid, "unknown visit"));
    };
    let id = crate::ids::new_id();
    let created_at = w.now_rfc3339();
    insert_row(
        w,
        "diagnoses",
        &id,
        &[
            ("visit_id", json!(visit_id)),
            ("patient_id", json!(patient_id)),
            ("icd10", json!(code)),
            ("text", json!(text)),
            ("certainty", json!(d.certainty.code())),
        ],
    )
    .await?;
    w.audit(
        "diagnosis.add",
        "diagnosis",
        Some(&id),
        json!({ "visit_id": visit_id, "icd10": code, "certainty": d.certainty }),
    )
    .await?;
    Ok(Diagnosis {
        id,
        visit_id: visit_id.to_string(),
        patient_id,
        coded: code.is_some(),
        icd10: code,
        text,
        certainty: d.certainty,
        created_at,
    })
}

/// Adds a diagnosis to a visit: an ICD-10-CM code (an unknown one is refused on `icd10`) or
/// free text, marked as uncoded.
pub async fn add_diagnosis(
    store: &Store,
    auth: &Authorized,
    visit_id: &str,
    input: DiagnosisInput,
) -> Result<Diagnosis> {
    auth.require(Permission::ClinicalEdit)?;
    super::restriction::require_visit_chart(store, auth, visit_id).await?;
    if input.icd10.as_deref().is_some_and(|c| !c.trim().is_empty()) {
        icd10::ensure_loaded(store).await?;
    }
    let mut w = store.begin_write(auth.actor()).await?;
    let d = add_diagnosis_in(&mut w, visit_id, &input).await?;
    w.commit().await?;
    Ok(d)
}

/// Marks a problem as resolved (it leaves the active problem list).
pub async fn resolve_diagnosis(store: &Store, auth: &Authorized, diagnosis_id: &str) -> Result<()> {
    auth.require(Permission::ClinicalEdit)?;
    super::restriction::require_row_chart(store, auth, super::restriction::ChartRow::Diagnosis, diagnosis_id).await?;
    let mut w = store.begin_write(auth.actor()).await?;
    let (now, stamp, by) = (w.now_rfc3339(), w.stamp(), w.actor().user_id.clone());
    let n = sqlx::query("UPDATE diagnoses SET resolved_at = ?, updated_at = ?, updated_by = ? WHERE id = ? AND resolved_at IS NULL AND deleted_at IS NULL")
        .bind(&now)
        .bind(&stamp)
        .bind(&by)
        .bind(diagnosis_id)
        .execute(w.conn())
        .await?
        .rows_affected();
    if n == 0 {
        return Err(Error::NotFound { entity: "active diagnosis".into() });
    }
    w.record_change(
        "diagnoses",
        diagnosis_id,
        ChangeOp::Update,
        &json!({ "resolved_at": now, "updated_at": stamp, "updated_by": by }),
    )
    .await?;
    w.audit("diagnosis.resolve", "diagnosis", Some(diagnosis_id), Value::Null).await?;
    w.commit().await
}

/// Records an allergy or intolerance (doctor, or nurse at triage), against a substance or
/// class from the list (`allergen`) or as free text (matched to the list when it is exactly a
/// name on it).
pub async fn add_allergy(store: &Store, auth: &Authorized, input: AllergyInput) -> Result<Allergy> {
    if auth.require(Permission::ClinicalEdit).is_err() {
        auth.require(Permission::VitalsEdit)?;
    }
    let chosen = match input.allergen.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        Some(code) => match super::drugs::reference().by_code(code) {
            Some(a) => Some(a),
            None => return Err(Error::validation("allergen", ValidationReason::Invalid, "not on the list")),
        },
        None => None,
    };
    let written = line("substance", &input.substance, 120, chosen.is_none())?;
    let substance = if written.is_empty() { chosen.map(|a| a.name().to_string()).unwrap_or_default() } else { written };
    let allergen = chosen.or_else(|| super::allergy_check::allergen_of(None, &substance)).map(|a| a.code());
    let reaction = line("reaction", &input.reaction, 300, false)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let patient_id = input.patient_id.trim();
    if patient_id.is_empty() || !exists(&mut w, "patients", patient_id).await? {
        return Err(Error::validation("patient_id", ValidationReason::Invalid, "unknown patient"));
    }
    let id = crate::ids::new_id();
    insert_row(
        &mut w,
        "allergies",
        &id,
        &[
            ("patient_id", json!(patient_id)),
            ("substance", json!(substance)),
            ("reaction", json!(reaction)),
            ("severity", json!(input.severity.code())),
            ("allergen", json!(allergen)),
        ],
    )
    .await?;
    w.audit(
        "allergy.add",
        "allergy",
        Some(&id),
        json!({ "patient_id": patient_id, "substance": substance, "allergen": allergen, "severity": input.severity }),
    )
    .await?;
    w.commit().await?;
    Ok(Allergy { id, patient_id: patient_id.to_string(), substance, reaction, severity: input.severity, allergen })
}

/// A patient's allergies; one recorded as free text before the list existed shows the
/// substance or class its text names, if it names one exactly.
pub(crate) async fn allergy_rows(conn: &mut SqliteConnection, patient_id: &str) -> Result<Vec<Allergy>> {
    let sql =
        format!("SELECT {ALLERGY_COLS} FROM allergies WHERE patient_id = ? AND deleted_at IS NULL ORDER BY created_at");
    let rows: Vec<AllergyRow> = sqlx::query_as(&sql).bind(patient_id).fetch_all(conn).await?;
    rows.into_iter()
        .map(|r| {
            Ok(Allergy {
                allergen: super::allergy_check::allergen_of(r.allergen.as_deref(), &r.substance).map(|a| a.code()),
                severity: crate::store::stored::code("allergies", &r.id, "severity", &r.severity, Severity::from_code)?,
                id: r.id,
                patient_id: r.patient_id,
                substance: r.substance,
                reaction: r.reaction,
            })
        })
        .collect()
}

/// An allergy as [`ALLERGY_COLS`] reads it.
#[derive(sqlx::FromRow)]
struct AllergyRow {
    id: String,
    patient_id: String,
    substance: String,
    reaction: String,
    severity: String,
    allergen: Option<String>,
}

/// The columns of an [`AllergyRow`], written once.
const ALLERGY_COLS: &str = "id, patient_id, substance, reaction, severity, allergen";

/// A patient's allergies (for the banner on every screen of that patient).
pub async fn allergies(store: &Store, auth: &Authorized, patient_id: &str) -> Result<Vec<Allergy>> {
    auth.require(Permission::ClinicalView)?;
    let mut conn = store.pool().acquire().await?;
    allergy_rows(&mut conn, patient_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bmi_in_tenths() {
        assert_eq!(bmi_x10(Some(70_000), Some(1_750)), Some(229));
        assert_eq!(bmi_x10(Some(70_000), None), None);
    }
}
