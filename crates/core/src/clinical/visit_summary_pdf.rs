//! The visit summary the patient takes home: complaints, findings, diagnoses with their
//! ICD-10 codes, the vitals taken, the medicines, the tests ordered and the follow-up date.
//! The doctor's private notes and the history are not printed.

use super::lab::{order_of, ORDER_SELECT};
use super::print::{self, Letterhead, Printed, Sheet, LEFT};
use super::visits::{vitals_of, VITALS_COLS};
use super::{format_milli, LabOrder, Prescription, Visit, Vitals};
use crate::error::Result;
use crate::patients::Patient;
use crate::pdf::{Weight, INK, MUTED};
use crate::printouts::{self, PrintKind, Subject};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use serde_json::json;

/// Everything a visit summary prints.
pub struct SummarySheet {
    pub patient: Patient,
    pub visit: Visit,
    pub doctor_registration: String,
    pub allergies: String,
    pub diagnoses: Vec<String>,
    /// The latest vitals of the visit.
    pub vitals: Option<Vitals>,
    pub medicines: Vec<Prescription>,
    pub lab_orders: Vec<LabOrder>,
}

/// The vitals as printed: "Temperature 37.2 °C · Pulse 88/min · BP 130/85 mmHg ...".
pub fn vitals_line(v: &Vitals) -> String {
    let mut parts = Vec::new();
    if let Some(t) = v.temperature_c_x10 {
        parts.push(format!("Temperature {} °C", format_milli(i64::from(t) * 100)));
    }
    if let Some(p) = v.pulse {
        parts.push(format!("Pulse {p}/min"));
    }
    match (v.bp_systolic, v.bp_diastolic) {
        (Some(s), Some(d)) => parts.push(format!("BP {s}/{d} mmHg")),
        (Some(s), None) => parts.push(format!("BP {s} mmHg systolic")),
        _ => {}
    }
    if let Some(r) = v.resp_rate {
        parts.push(format!("Respiration {r}/min"));
    }
    if let Some(s) = v.spo2 {
        parts.push(format!("SpO₂ {s}%"));
    }
    if let Some(w) = v.weight_g {
        parts.push(format!("Weight {} kg", format_milli(i64::from(w))));
    }
    if let Some(h) = v.height_mm {
        parts.push(format!("Height {} cm", format_milli(i64::from(h) * 100)));
    }
    if let Some(b) = v.bmi_x10 {
        parts.push(format!("BMI {}", format_milli(i64::from(b) * 100)));
    }
    if let Some(p) = v.pain {
        parts.push(format!("Pain {p}/10"));
    }
    parts.join(" · ")
}

/// Draws the summary. Pure.
pub fn render(head: &Letterhead, s: &SummarySheet) -> Result<Vec<u8>> {
    let mut sheet = Sheet::new(head, &format!("Visit summary {}", s.patient.mrn), "VISIT SUMMARY")?;
    let rows = [("Visit date", head.date(&s.visit.started_at)), ("Doctor", s.visit.doctor_name.clone())];
    sheet.patient(&s.patient, head.today, &rows)?;
    sheet.field("Allergies", &s.allergies)?;
    if !s.visit.complaints.is_empty() {
        sheet.section("Complaints")?;
        sheet.para(LEFT, 9.5, Weight::Regular, INK, &s.visit.complaints)?;
    }
    if !s.visit.examination.is_empty() {
        sheet.section("Findings")?;
        sheet.para(LEFT, 9.5, Weight::Regular, INK, &s.visit.examination)?;
    }
    if let Some(v) = &s.vitals {
        sheet.section("Vitals")?;
        sheet.para(LEFT, 9.5, Weight::Regular, INK, &vitals_line(v))?;
    }
    sheet.section("Diagnoses")?;
    if s.diagnoses.is_empty() {
        sheet.para(LEFT, 9.5, Weight::Regular, MUTED, "None recorded.")?;
    }
    for d in &s.diagnoses {
        sheet.para(LEFT, 9.5, Weight::Regular, INK, &format!("• {d}"))?;
    }
    if !s.medicines.is_empty() {
        sheet.section("Medicines")?;
        for p in &s.medicines {
            let name = [p.medicine_name.as_str(), p.strength.as_str(), p.form.as_str()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
            sheet.para(LEFT, 9.5, Weight::Bold, INK, &name)?;
            let mut how = print::dosage(p);
            if !p.instructions.is_empty() {
                how = format!("{how} — {}", p.instructions);
            }
            sheet.para(LEFT + 5.0, 9.0, Weight::Regular, INK, &how)?;
            // A stopped medicine stays on the summary, marked, so the patient knows to stop it.
            if let Some(at) = &p.stopped_at {
                let mut line = format!("Stopped {} by {}", head.date(at), p.stopped_by.as_deref().unwrap_or("—"));
                if !p.stop_reason.is_empty() {
                    line = format!("{line}: {}", p.stop_reason);
                }
                sheet.para(LEFT + 5.0, 9.0, Weight::Bold, INK, &line)?;
            }
            sheet.down(1.0);
        }
    }
    if !s.lab_orders.is_empty() {
        sheet.section("Tests ordered")?;
        let tests: Vec<String> = s.lab_orders.iter().map(|o| format!("{} ({})", o.test_name, o.test_code)).collect();
        sheet.para(LEFT, 9.5, Weight::Regular, INK, &tests.join(", "))?;
    }
    sheet.section("Follow-up")?;
    let follow = match &s.visit.follow_up_date {
        Some(f) => format!("Please come back on {}.", head.day(f)),
        None => "As needed.".to_string(),
    };
    sheet.para(LEFT, 10.0, Weight::Bold, INK, &follow)?;
    sheet.signature(&s.visit.doctor_name, &s.doctor_registration)?;
    Ok(sheet.finish("Bring this summary and your prescriptions to your next visit."))
}

/// Loads what a visit's summary prints.
pub async fn sheet(store: &Store, visit_id: &str) -> Result<SummarySheet> {
    let (visit, patient) = print::visit_and_patient(store, visit_id).await?;
    let mut conn = store.pool().acquire().await?;
    let (_, doctor_registration) = print::doctor(&mut conn, &visit.doctor_id).await?;
    let allergies = print::allergies_line(&mut conn, &patient).await?;
    let diagnoses = print::diagnosis_lines(&mut conn, visit_id).await?;
    let sql = format!("SELECT {VITALS_COLS} FROM vitals WHERE visit_id = ? AND deleted_at IS NULL ORDER BY taken_at DESC, id DESC LIMIT 1");
    let vitals = sqlx::query_as(&sql).bind(visit_id).fetch_optional(&mut *conn).await?.map(vitals_of);
    let medicines = super::prescribing::visit_rows(&mut conn, visit_id).await?;
    let sql = format!("{ORDER_SELECT} WHERE o.visit_id = ? AND o.status <> 'cancelled' AND o.deleted_at IS NULL ORDER BY o.ordered_at, t.code");
    let lab_orders = sqlx::query_as(&sql)
        .bind(visit_id)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(order_of)
        .collect::<Result<_>>()?;
    Ok(SummarySheet { patient, visit, doctor_registration, allergies, diagnoses, vitals, medicines, lab_orders })
}

/// The take-home summary of a visit (audited as `visit.print_summary`).
pub async fn visit_summary_pdf(store: &Store, auth: &Authorized, visit_id: &str) -> Result<Printed> {
    visit_summary_pdf_as(store, auth, visit_id, None).await
}

/// [`visit_summary_pdf`], recorded as a reprint of printout `reprint_of` when given.
pub(crate) async fn visit_summary_pdf_as(
    store: &Store,
    auth: &Authorized,
    visit_id: &str,
    reprint_of: Option<&str>,
) -> Result<Printed> {
    auth.require(Permission::ClinicalView)?;
    super::restriction::require_visit_chart(store, auth, visit_id).await?;
    let s = sheet(store, visit_id).await?;
    let head = print::letterhead(store).await?;
    let pdf = render(&head, &s)?;
    let mut w = store.begin_write(auth.actor()).await?;
    w.audit("visit.print_summary", "visit", Some(visit_id), json!({ "patient_id": s.patient.id })).await?;
    let name = format!("visit-summary-{}-{}.pdf", s.patient.mrn, head.file_date(&s.visit.started_at));
    let subject =
        Subject { patient_id: s.patient.id.clone(), visit_id: Some(visit_id.to_string()), ..Subject::default() };
    let printout = printouts::record(&mut w, PrintKind::VisitSummary, "", subject, &name, &pdf, reprint_of).await?;
    w.commit().await?;
    Ok(Printed { file_name: printout.file_name.clone(), pdf, printout })
}
