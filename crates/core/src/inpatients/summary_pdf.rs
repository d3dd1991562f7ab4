//! The discharge summary on A4, with the clinic's letterhead and the embedded font: the
//! patient, the admission and discharge dates, the discharge type, the summary's fields,
//! the allergies from the record and the doctor's signature. Saved in the exports folder and
//! recorded as a printout of the admission (`printouts`), like every other printout.

use super::summary::{self, DischargeSummary};
use super::DischargeType;
use crate::clinical::print::{self, Letterhead, Printed, Sheet, LEFT};
use crate::codes::Code;
use crate::error::{Error, Result};
use crate::patients::Patient;
use crate::pdf::{Weight, INK, MUTED};
use crate::printouts::{self, PrintKind, Subject};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use serde_json::json;

/// Everything the summary prints.
pub struct SummarySheet {
    pub patient: Patient,
    pub admission: super::Admission,
    pub ward: String,
    pub summary: DischargeSummary,
    pub allergies: String,
    /// Who signs: the doctor who finalised it (else who wrote it last), with the
    /// registration number of their staff profile; the admitting doctor when neither has one.
    pub doctor: String,
    pub registration: String,
}

/// How a discharge type reads on paper.
pub fn discharge_type_text(t: DischargeType) -> &'static str {
    match t {
        DischargeType::Home => "Home",
        DischargeType::Referred => "Referred",
        DischargeType::AgainstAdvice => "Against medical advice",
        DischargeType::Deceased => "Deceased",
    }
}

/// Draws the summary. Pure.
pub fn render(head: &Letterhead, s: &SummarySheet) -> Result<Vec<u8>> {
    let sum = &s.summary;
    let title = if sum.finalised_at.is_some() { "DISCHARGE SUMMARY" } else { "DISCHARGE SUMMARY — DRAFT" };
    let mut sheet = Sheet::new(head, &format!("Discharge summary {}", s.patient.mrn), title)?;
    let discharged = s.admission.discharged_at.as_deref().map_or("—".to_string(), |t| head.date_time(t));
    let kind = s.admission.discharge_type.map_or("—", discharge_type_text);
    let rows = [
        ("Admitted", head.date_time(&s.admission.admitted_at)),
        ("Discharged", discharged),
        ("Discharge", kind.to_string()),
        ("Ward", s.ward.clone()),
    ];
    sheet.patient(&s.patient, head.today, &rows)?;
    sheet.field("Allergies", &s.allergies)?;
    if !s.admission.reason.is_empty() {
        sheet.field("Admitted for", &s.admission.reason)?;
    }
    sheet.section("Final diagnoses")?;
    if sum.diagnoses.is_empty() {
        sheet.para(LEFT, 9.5, Weight::Regular, MUTED, "None recorded.")?;
    }
    for d in &sum.diagnoses {
        let line = match (d.code.is_empty(), d.text.is_empty()) {
            (true, _) => d.text.clone(),
            (false, true) => format!("{}  {}", d.code, d.description),
            (false, false) => format!("{}  {} — {}", d.code, d.description, d.text),
        };
        sheet.para(LEFT, 9.5, Weight::Regular, INK, &format!("• {line}"))?;
    }
    for (title, body) in [("Course in hospital", &sum.course), ("Procedures", &sum.procedures)] {
        if !body.is_empty() {
            sheet.section(title)?;
            sheet.para(LEFT, 9.5, Weight::Regular, INK, body)?;
        }
    }
    if !sum.investigations.is_empty() {
        sheet.section("Investigations")?;
        for i in &sum.investigations {
            let mut line = if i.test.is_empty() {
                i.note.clone()
            } else {
                let mut l = format!("{}: {} {}", i.test, i.value, i.unit).trim_end().to_string();
                if matches!(i.abnormal.as_str(), "low" | "high") {
                    l = format!("{l} ({})", i.abnormal);
                }
                if let Some(at) = &i.resulted_at {
                    l = format!("{l}, {}", head.date(at));
                }
                l
            };
            if !i.test.is_empty() && !i.note.is_empty() {
                line = format!("{line} — {}", i.note);
            }
            sheet.para(LEFT, 9.5, Weight::Regular, INK, &format!("• {line}"))?;
        }
    }
    sheet.section("Medicines on discharge")?;
    if sum.medicines.is_empty() {
        sheet.para(LEFT, 9.5, Weight::Regular, MUTED, "None.")?;
    }
    for m in &sum.medicines {
        let name = if m.prn { format!("{} (PRN)", m.name) } else { m.name.clone() };
        sheet.para(LEFT, 9.5, Weight::Bold, INK, &name)?;
        sheet.para(LEFT + 5.0, 9.0, Weight::Regular, INK, &m.how())?;
        sheet.down(1.0);
    }
    if !sum.advice.is_empty() {
        sheet.section("Advice")?;
        sheet.para(LEFT, 9.5, Weight::Regular, INK, &sum.advice)?;
    }
    sheet.section("Follow-up")?;
    let follow = match &sum.follow_up_on {
        Some(day) if !sum.follow_up_doctor_name.is_empty() => {
            format!("Please come back on {} to see {}.", head.day(day), sum.follow_up_doctor_name)
        }
        Some(day) => format!("Please come back on {}.", head.day(day)),
        None => "As needed.".to_string(),
    };
    sheet.para(LEFT, 10.0, Weight::Bold, INK, &follow)?;
    sheet.signature(&s.doctor, &s.registration)?;
    Ok(sheet.finish("Bring this summary to your follow-up visit and to any doctor you see."))
}

/// Loads what an admission's summary prints (it must have been written).
pub async fn sheet(store: &Store, auth: &Authorized, admission_id: &str) -> Result<SummarySheet> {
    let view = summary::view(store, auth, admission_id).await?;
    let summary = view.summary.ok_or_else(|| {
        Error::validation("admission_id", crate::ValidationReason::Required, "write the summary first")
    })?;
    let patient = crate::patients::load(store, &view.admission.patient_id).await?;
    let mut conn = store.pool().acquire().await?;
    let ward: Option<String> = sqlx::query_scalar("SELECT name FROM wards WHERE id = ?")
        .bind(&view.admission.ward_id)
        .fetch_optional(&mut *conn)
        .await?;
    let signer = summary.finalised_by.as_deref().or(summary.written_by.as_deref()).unwrap_or_default();
    let staff: Option<(String, String)> =
        sqlx::query_as("SELECT full_name, licence_no FROM staff WHERE user_id = ? AND deleted_at IS NULL")
            .bind(signer)
            .fetch_optional(&mut *conn)
            .await?;
    let (doctor, registration) = match staff {
        Some(s) => s,
        None => print::doctor(&mut conn, &view.admission.doctor_id).await?,
    };
    Ok(SummarySheet {
        patient,
        ward: ward.unwrap_or_default(),
        admission: view.admission,
        summary,
        allergies: view.allergies,
        doctor,
        registration,
    })
}

/// The discharge summary's PDF (clinicians; audited as `inpatient.print_summary`), saved and
/// recorded as a printout of the admission.
pub async fn summary_pdf(store: &Store, auth: &Authorized, admission_id: &str) -> Result<Printed> {
    summary_pdf_as(store, auth, admission_id, None).await
}

/// [`summary_pdf`], recorded as a reprint of printout `reprint_of` when given.
pub(crate) async fn summary_pdf_as(
    store: &Store,
    auth: &Authorized,
    admission_id: &str,
    reprint_of: Option<&str>,
) -> Result<Printed> {
    auth.require(Permission::ClinicalView)?;
    let s = sheet(store, auth, admission_id).await?;
    let head = print::letterhead(store).await?;
    let pdf = render(&head, &s)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let final_ = s.summary.finalised_at.is_some();
    w.audit(
        "inpatient.print_summary",
        "admission",
        Some(admission_id),
        json!({ "patient_id": s.patient.id, "final": final_,
                "discharge_type": s.admission.discharge_type.map(|t| t.code()) }),
    )
    .await?;
    let day = s.admission.discharged_at.clone().unwrap_or_else(|| s.summary.written_at.clone());
    let name = format!("discharge-summary-{}-{}.pdf", s.patient.mrn, head.file_date(&day));
    let subject = Subject {
        patient_id: s.patient.id.clone(),
        admission_id: Some(admission_id.to_string()),
        ..Subject::default()
    };
    let printout = printouts::record(&mut w, PrintKind::DischargeSummary, "", subject, &name, &pdf, reprint_of).await?;
    w.commit().await?;
    Ok(Printed { file_name: printout.file_name.clone(), pdf, printout })
}
