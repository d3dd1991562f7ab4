//! The patient ID card as a PDF: a credit-card-sized page (ISO/IEC 7810 ID-1, 85.6 × 54 mm)
//! with the clinic's name, the patient's name, MRN, date of birth, sex, blood group and a
//! QR code of the MRN that a desk scanner reads back into the search box.

use super::model::{Patient, PatientStatus, Sex};
use crate::error::{Error, Result, ValidationReason};
use crate::pdf::{self, Doc, Weight, ACCENT, INK, MUTED};
use crate::printouts::{self, PrintKind, Printout, Subject};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use serde_json::json;

pub const CARD_W: f32 = 85.6;
pub const CARD_H: f32 = 54.0;

/// A rendered card: the PDF, the file name to save it under and its printout record.
pub struct IdCard {
    pub file_name: String,
    pub pdf: Vec<u8>,
    pub printout: Printout,
}

/// Renders a patient's ID card. Printing discloses the record, so it is audited; it is
/// recorded as a printout (`printouts`).
pub async fn id_card(store: &Store, auth: &Authorized, id: &str) -> Result<IdCard> {
    id_card_as(store, auth, id, None).await
}

/// [`id_card`], recorded as a reprint of printout `reprint_of` when given.
pub(crate) async fn id_card_as(store: &Store, auth: &Authorized, id: &str, reprint_of: Option<&str>) -> Result<IdCard> {
    auth.require(Permission::PatientsView)?;
    let p = super::load(store, id).await?;
    if p.status == PatientStatus::Merged {
        return Err(Error::validation(
            "id",
            ValidationReason::Invalid,
            "this record was merged into another; print that one",
        ));
    }
    let clinic = crate::clinic::name(store).await?;
    let pdf = render(&p, &clinic)?;
    let mut w = store.begin_write(auth.actor()).await?;
    w.audit("patient.id_card", "patient", Some(&p.id), json!({ "mrn": p.mrn })).await?;
    let subject = Subject { patient_id: p.id.clone(), ..Subject::default() };
    let printout = printouts::record(
        &mut w,
        PrintKind::IdCard,
        &p.mrn,
        subject,
        &format!("id-card-{}.pdf", p.mrn),
        &pdf,
        reprint_of,
    )
    .await?;
    w.commit().await?;
    Ok(IdCard { file_name: printout.file_name.clone(), pdf, printout })
}

fn sex_label(s: Sex) -> &'static str {
    match s {
        Sex::Female => "Female",
        Sex::Male => "Male",
        Sex::Other => "Other",
        Sex::Unknown => "—",
    }
}

/// The date of birth as printed: 05 Mar 1984, or the year with "(estimated)".
fn birth_label(p: &Patient) -> String {
    let Some(raw) = p.birth_date.as_deref() else { return "—".into() };
    match chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        Ok(d) if p.birth_date_estimated => format!("{} (estimated)", d.format("%Y")),
        Ok(d) => d.format("%d %b %Y").to_string(),
        Err(_) => raw.to_string(),
    }
}

/// Draws the card. Pure: the same patient gives the same layout.
pub fn render(p: &Patient, clinic: &str) -> Result<Vec<u8>> {
    let mut doc = Doc::new(&format!("ID card {}", p.mrn))?;
    let mut page = doc.page(CARD_W, CARD_H);
    let qr_size = 24.0;
    let text_w_pt = (CARD_W - qr_size - 10.0) * 72.0 / 25.4;

    // Header band with the clinic's name.
    page.fill_rect(0.0, CARD_H - 10.0, CARD_W, 10.0, ACCENT);
    let clinic = pdf::fit(clinic, 10.0, Weight::Bold, (CARD_W - 8.0) * 72.0 / 25.4)?;
    page.text(&doc, 4.0, CARD_H - 6.6, 10.0, Weight::Bold, (1.0, 1.0, 1.0), &clinic);

    let name = pdf::fit(&p.display_name(), 11.0, Weight::Bold, text_w_pt)?;
    page.text(&doc, 4.0, CARD_H - 17.0, 11.0, Weight::Bold, INK, &name);
    page.text(&doc, 4.0, CARD_H - 22.5, 6.5, Weight::Regular, MUTED, "MRN");
    page.text(&doc, 4.0, CARD_H - 28.5, 13.0, Weight::Bold, INK, &p.mrn);

    let rows = [
        ("Date of birth", birth_label(p)),
        ("Sex", sex_label(p.sex).to_string()),
        ("Blood group", if p.blood_group.is_empty() { "—".into() } else { p.blood_group.clone() }),
    ];
    for (i, (label, value)) in rows.iter().enumerate() {
        let y = CARD_H - 35.0 - i as f32 * 5.0;
        page.text(&doc, 4.0, y, 6.5, Weight::Regular, MUTED, label);
        page.text(&doc, 22.0, y, 7.5, Weight::Regular, INK, value);
    }
    page.line(4.0, 4.5, CARD_W - 4.0, 4.5, MUTED);
    page.text(
        &doc,
        4.0,
        1.8,
        5.5,
        Weight::Regular,
        MUTED,
        "Bring this card to every visit. If found, please return it to the clinic.",
    );

    pdf::qr(&mut page, &p.mrn, CARD_W - qr_size - 4.0, CARD_H - 13.0 - qr_size, qr_size)?;
    doc.push(page);
    Ok(doc.finish())
}
