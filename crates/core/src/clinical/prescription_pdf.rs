//! The prescription as printed for the patient and the pharmacy: the clinic's header, the
//! patient (name, MRN, age and sex), the date, the allergies, the diagnoses, each medicine
//! with strength and form, dose, route, frequency, duration and instructions, and the
//! prescribing doctor's name and registration number over a signature line.

use super::print::{self, Letterhead, Printed, Sheet, LEFT};
use super::{Prescription, Visit};
use crate::error::{Error, Result, ValidationReason};
use crate::patients::Patient;
use crate::pdf::{Weight, INK, MUTED};
use crate::printouts::{self, PrintKind, Subject};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use serde_json::json;

/// Everything a prescription prints.
pub struct PrescriptionSheet {
    pub patient: Patient,
    pub visit: Visit,
    pub doctor_name: String,
    /// The doctor's registration (licence) number, from their staff profile.
    pub doctor_registration: String,
    pub allergies: String,
    pub diagnoses: Vec<String>,
    pub items: Vec<Prescription>,
}

/// Draws a prescription. Pure: the same sheet gives the same PDF.
pub fn render(head: &Letterhead, s: &PrescriptionSheet) -> Result<Vec<u8>> {
    let mut sheet = Sheet::new(head, &format!("Prescription {}", s.patient.mrn), "PRESCRIPTION")?;
    let rows = [("Date", head.date(&s.visit.started_at)), ("Doctor", s.doctor_name.clone())];
    sheet.patient(&s.patient, head.today, &rows)?;
    let allergy_weight = if s.allergies == "No known allergies" { Weight::Regular } else { Weight::Bold };
    sheet.need(6.0)?;
    sheet.text(LEFT, 9.0, Weight::Regular, MUTED, "Allergies");
    sheet.para(LEFT + 32.0, 9.5, allergy_weight, INK, &s.allergies)?;
    if !s.diagnoses.is_empty() {
        sheet.need(6.0)?;
        sheet.text(LEFT, 9.0, Weight::Regular, MUTED, "Diagnosis");
        sheet.para(LEFT + 32.0, 9.5, Weight::Regular, INK, &s.diagnoses.join("; "))?;
    }
    sheet.down(3.0);
    sheet.need(12.0)?;
    sheet.text(LEFT, 14.0, Weight::Bold, INK, "Rx");
    sheet.down(8.0);
    for (i, p) in s.items.iter().enumerate() {
        sheet.need(16.0)?;
        let name = [p.medicine_name.as_str(), p.strength.as_str(), p.form.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        sheet.text(LEFT, 10.5, Weight::Bold, INK, &format!("{}.", i + 1));
        sheet.para(LEFT + 7.0, 10.5, Weight::Bold, INK, &name)?;
        sheet.para(LEFT + 7.0, 9.5, Weight::Regular, INK, &print::dosage(p))?;
        if !p.instructions.is_empty() {
            sheet.para(LEFT + 7.0, 9.0, Weight::Regular, MUTED, &p.instructions)?;
        }
        sheet.down(2.5);
    }
    if s.items.is_empty() {
        sheet.para(LEFT, 9.5, Weight::Regular, MUTED, "No medicines prescribed.")?;
    }
    if let Some(f) = &s.visit.follow_up_date {
        sheet.down(2.0);
        sheet.need(6.0)?;
        sheet.text(LEFT, 9.5, Weight::Bold, INK, &format!("Follow-up on {}", head.day(f)));
        sheet.down(5.0);
    }
    sheet.signature(&s.doctor_name, &s.doctor_registration)?;
    Ok(sheet.finish("Computer-generated prescription; valid with the doctor's signature."))
}

/// Loads what a visit's prescription prints.
pub async fn sheet(store: &Store, visit_id: &str) -> Result<PrescriptionSheet> {
    let (visit, patient) = print::visit_and_patient(store, visit_id).await?;
    let mut conn = store.pool().acquire().await?;
    let (doctor_name, doctor_registration) = print::doctor(&mut conn, &visit.doctor_id).await?;
    let allergies = print::allergies_line(&mut conn, &patient).await?;
    let diagnoses = print::diagnosis_lines(&mut conn, visit_id).await?;
    // A stopped medicine is not to be dispensed: the sheet lists the others.
    let mut items = super::prescribing::visit_rows(&mut conn, visit_id).await?;
    items.retain(|p| p.stopped_at.is_none());
    Ok(PrescriptionSheet { patient, visit, doctor_name, doctor_registration, allergies, diagnoses, items })
}

/// The prescription PDF of a visit (audited as `prescription.print`). A visit without
/// prescriptions is refused on `visit_id`.
pub async fn prescription_pdf(store: &Store, auth: &Authorized, visit_id: &str) -> Result<Printed> {
    prescription_pdf_as(store, auth, visit_id, None).await
}

/// [`prescription_pdf`], recorded as a reprint of printout `reprint_of` when given.
pub(crate) async fn prescription_pdf_as(
    store: &Store,
    auth: &Authorized,
    visit_id: &str,
    reprint_of: Option<&str>,
) -> Result<Printed> {
    auth.require(Permission::ClinicalView)?;
    super::restriction::require_visit_chart(store, auth, visit_id).await?;
    let s = sheet(store, visit_id).await?;
    if s.items.is_empty() {
        return Err(Error::validation("visit_id", ValidationReason::Invalid, "this visit has no prescriptions"));
    }
    let head = print::letterhead(store).await?;
    let pdf = render(&head, &s)?;
    let mut w = store.begin_write(auth.actor()).await?;
    w.audit(
        "prescription.print",
        "visit",
        Some(visit_id),
        json!({ "patient_id": s.patient.id, "medicines": s.items.len() }),
    )
    .await?;
    let name = format!("prescription-{}-{}.pdf", s.patient.mrn, head.file_date(&s.visit.started_at));
    let subject =
        Subject { patient_id: s.patient.id.clone(), visit_id: Some(visit_id.to_string()), ..Subject::default() };
    let printout = printouts::record(&mut w, PrintKind::Prescription, "", subject, &name, &pdf, reprint_of).await?;
    w.commit().await?;
    Ok(Printed { file_name: printout.file_name.clone(), pdf, printout })
}
