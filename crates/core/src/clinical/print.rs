//! What the clinical printouts share: an A4 sheet that flows top to bottom and starts a new
//! page when full, the clinic's header (logo, name, address, registration number:
//! `clinic::letterhead`), the patient block (name, MRN, age and sex) and word wrapping.

use crate::clinic;
use crate::codes::Code;
use crate::error::Result;
use crate::patients::{Patient, Sex};
use crate::pdf::{self, Doc, Page, Picture, Weight, ACCENT, INK, MUTED};
use crate::settings::Formats;
use crate::store::Store;
use chrono::NaiveDate;
use printpdf::XObjectId;

pub const W: f32 = 210.0;
pub const H: f32 = 297.0;
pub const LEFT: f32 = 18.0;
pub const RIGHT: f32 = W - 18.0;
/// Nothing is drawn below this (the footer's room).
const BOTTOM: f32 = 22.0;
const LOGO_H: f32 = 16.0;

/// A rendered printout: the PDF, the file name to save it under and its record.
#[derive(Debug, Clone)]
pub struct Printed {
    pub file_name: String,
    pub pdf: Vec<u8>,
    pub printout: crate::printouts::Printout,
}

pub fn mm(pt: f32) -> f32 {
    pt * 25.4 / 72.0
}

fn pt(mm: f32) -> f32 {
    mm * 72.0 / 25.4
}

/// Everything a printout's header needs, loaded once: the clinic's letterhead and its
/// calendar (dates are printed in the clinic's time zone and locale order, times by its hour
/// cycle; ages are on its today).
pub struct Letterhead {
    pub clinic: clinic::Letterhead,
    pub tz: chrono_tz::Tz,
    pub today: NaiveDate,
    pub formats: Formats,
}

pub async fn letterhead(store: &Store) -> Result<Letterhead> {
    let now = clinic::now(store).await?;
    Ok(Letterhead {
        clinic: clinic::letterhead(store).await?,
        tz: now.timezone(),
        today: now.date_naive(),
        formats: Formats::load(store).await?,
    })
}

impl Letterhead {
    /// An RFC 3339 instant as the clinic's local date ("05/03/2026" in en-IN).
    pub fn date(&self, rfc3339: &str) -> String {
        self.formats.date(rfc3339)
    }

    /// An RFC 3339 instant as local date and time ("05/03/2026 14:05").
    pub fn date_time(&self, rfc3339: &str) -> String {
        self.formats.date_time(rfc3339)
    }

    /// A YYYY-MM-DD day as printed ("05/03/2026").
    pub fn day(&self, ymd: &str) -> String {
        self.formats.ymd(ymd)
    }

    /// The compact date for file names (20260305).
    pub fn file_date(&self, rfc3339: &str) -> String {
        chrono::DateTime::parse_from_rfc3339(rfc3339)
            .map(|d| d.with_timezone(&self.tz).format("%Y%m%d").to_string())
            .unwrap_or_default()
    }
}

/// "42 y / Male", "7 mo / Female", "— / —".
pub fn age_sex(p: &Patient, today: NaiveDate) -> String {
    let age = p.birth_date.as_deref().and_then(|b| NaiveDate::parse_from_str(b, "%Y-%m-%d").ok()).map(|b| match today
        .years_since(b)
    {
        Some(0) | None => {
            let months = (today.signed_duration_since(b).num_days() / 30).max(0);
            format!("{months} mo")
        }
        Some(y) => format!("{y} y"),
    });
    let sex = match p.sex {
        Sex::Female => "Female",
        Sex::Male => "Male",
        Sex::Other => "Other",
        Sex::Unknown => "—",
    };
    format!("{} / {sex}", age.unwrap_or_else(|| "—".into()))
}

/// Splits text into lines that fit `width` mm (long words are cut with an ellipsis).
pub fn wrap(text: &str, size: f32, weight: Weight, width: f32) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    for para in text.lines() {
        let mut current = String::new();
        for word in para.split_whitespace() {
            let candidate = if current.is_empty() { word.to_string() } else { format!("{current} {word}") };
            if mm(pdf::text_width(&candidate, size, weight)?) <= width {
                current = candidate;
            } else {
                if !current.is_empty() {
                    lines.push(std::mem::take(&mut current));
                }
                current = pdf::fit(word, size, weight, pt(width))?;
            }
        }
        lines.push(current);
    }
    Ok(lines)
}

/// A document being written top to bottom.
pub struct Sheet {
    doc: Doc,
    page: Page,
    logo: Option<(XObjectId, Picture)>,
    title: String,
    clinic: clinic::Letterhead,
    pub y: f32,
    pages: usize,
}

impl Sheet {
    pub fn new(head: &Letterhead, doc_title: &str, title: &str) -> Result<Sheet> {
        let mut doc = Doc::new(doc_title)?;
        let logo = head.clinic.logo.as_ref().map(|p| (doc.add_picture(p), p.clone()));
        let page = doc.page(W, H);
        let mut s = Sheet { doc, page, logo, title: title.to_string(), clinic: head.clinic.clone(), y: 0.0, pages: 1 };
        s.header()?;
        Ok(s)
    }

    fn header(&mut self) -> Result<()> {
        self.page.fill_rect(0.0, H - 6.0, W, 6.0, ACCENT);
        let mut x = LEFT;
        if let Some((id, p)) = &self.logo {
            let width = (LOGO_H * p.width as f32 / p.height as f32).min(50.0);
            let height = width * p.height as f32 / p.width as f32;
            self.page.picture(id, p, LEFT, H - 10.0 - height, height);
            x = LEFT + width + 4.0;
        }
        let name = pdf::fit(&self.clinic.name, 16.0, Weight::Bold, pt(RIGHT - x - 62.0))?;
        self.page.text(&self.doc, x, H - 18.0, 16.0, Weight::Bold, INK, &name);
        let mut y = H - 24.0;
        for line in self.clinic.address.lines().filter(|l| !l.trim().is_empty()).take(3) {
            let line = pdf::fit(line.trim(), 9.0, Weight::Regular, pt(RIGHT - x - 62.0))?;
            self.page.text(&self.doc, x, y, 9.0, Weight::Regular, MUTED, &line);
            y -= 4.5;
        }
        if !self.clinic.registration_no.is_empty() {
            self.page.text(
                &self.doc,
                x,
                y,
                9.0,
                Weight::Regular,
                MUTED,
                &format!("Reg. no: {}", self.clinic.registration_no),
            );
            y -= 4.5;
        }
        if self.logo.is_some() {
            y = y.min(H - 12.0 - LOGO_H);
        }
        let title = self.title.clone();
        self.right(RIGHT, H - 18.0, 14.0, Weight::Bold, ACCENT, &title)?;
        self.page.line(LEFT, y - 1.0, RIGHT, y - 1.0, MUTED);
        self.y = y - 8.0;
        Ok(())
    }

    /// Starts a new page when less than `height` mm is left.
    pub fn need(&mut self, height: f32) -> Result<()> {
        if self.y - height >= BOTTOM {
            return Ok(());
        }
        let next = self.doc.page(W, H);
        let full = std::mem::replace(&mut self.page, next);
        self.doc.push(full);
        self.pages += 1;
        self.header()
    }

    pub fn text(&mut self, x: f32, size: f32, weight: Weight, colour: (f32, f32, f32), text: &str) {
        self.page.text(&self.doc, x, self.y, size, weight, colour, text);
    }

    /// Text at a given height, right-aligned to end at `x`.
    pub fn right(
        &mut self,
        x: f32,
        y: f32,
        size: f32,
        weight: Weight,
        colour: (f32, f32, f32),
        text: &str,
    ) -> Result<()> {
        let width = mm(pdf::text_width(text, size, weight)?);
        self.page.text(&self.doc, x - width, y, size, weight, colour, text);
        Ok(())
    }

    /// Text cut to fit `width` mm, at the current line.
    pub fn cell(
        &mut self,
        x: f32,
        width: f32,
        size: f32,
        weight: Weight,
        colour: (f32, f32, f32),
        text: &str,
    ) -> Result<()> {
        let t = pdf::fit(text, size, weight, pt(width))?;
        self.text(x, size, weight, colour, &t);
        Ok(())
    }

    /// A thin rule from `x1` to `x2`, `dy` mm from the current line (a table's row, a space
    /// to write in).
    pub fn rule(&mut self, x1: f32, x2: f32, dy: f32) {
        self.page.line(x1, self.y + dy, x2, self.y + dy, (0.6, 0.62, 0.65));
    }

    pub fn down(&mut self, mm: f32) {
        self.y -= mm;
    }

    /// Wrapped text from `x` to the right margin, advancing by line.
    pub fn para(&mut self, x: f32, size: f32, weight: Weight, colour: (f32, f32, f32), text: &str) -> Result<()> {
        let step = size * 0.5;
        for line in wrap(text, size, weight, RIGHT - x)? {
            self.need(step)?;
            self.text(x, size, weight, colour, &line);
            self.down(step);
        }
        Ok(())
    }

    /// A section heading with a rule under it.
    pub fn section(&mut self, title: &str) -> Result<()> {
        self.need(16.0)?;
        self.down(2.0);
        self.text(LEFT, 10.5, Weight::Bold, ACCENT, title);
        self.page.line(LEFT, self.y - 1.5, RIGHT, self.y - 1.5, (0.8, 0.82, 0.85));
        self.down(6.5);
        Ok(())
    }

    /// "Label  value" on one line, the value wrapped under itself.
    pub fn field(&mut self, label: &str, value: &str) -> Result<()> {
        self.need(5.0)?;
        self.text(LEFT, 9.0, Weight::Regular, MUTED, label);
        self.para(LEFT + 32.0, 9.5, Weight::Regular, INK, value)
    }

    /// The patient block: name, MRN, age/sex at the left, `right_rows` (label, value) at the right.
    pub fn patient(&mut self, p: &Patient, today: NaiveDate, right_rows: &[(&str, String)]) -> Result<()> {
        let top = self.y;
        self.text(LEFT, 9.0, Weight::Regular, MUTED, "Patient");
        self.down(5.0);
        self.cell(LEFT, 95.0, 12.0, Weight::Bold, INK, &p.display_name())?;
        self.down(5.5);
        self.text(LEFT, 9.5, Weight::Regular, INK, &format!("MRN {}", p.mrn));
        self.down(5.0);
        self.text(LEFT, 9.5, Weight::Regular, INK, &format!("Age / sex: {}", age_sex(p, today)));
        let left_end = self.y;
        self.y = top;
        for (label, value) in right_rows {
            self.text(120.0, 9.0, Weight::Regular, MUTED, label);
            let v = pdf::fit(value, 9.5, Weight::Bold, pt(RIGHT - 145.0))?;
            self.right(RIGHT, self.y, 9.5, Weight::Bold, INK, &v)?;
            self.down(5.0);
        }
        self.y = self.y.min(left_end) - 4.0;
        self.page.line(LEFT, self.y + 1.5, RIGHT, self.y + 1.5, (0.8, 0.82, 0.85));
        self.down(4.0);
        Ok(())
    }

    /// A signature line at the right with the doctor's name and registration number under it.
    pub fn signature(&mut self, name: &str, registration: &str) -> Result<()> {
        self.need(30.0)?;
        self.down(16.0);
        self.page.line(RIGHT - 70.0, self.y, RIGHT, self.y, INK);
        self.down(5.0);
        let name = pdf::fit(name, 10.0, Weight::Bold, pt(70.0))?;
        self.right(RIGHT, self.y, 10.0, Weight::Bold, INK, &name)?;
        self.down(4.5);
        let reg = if registration.is_empty() { "Reg. no: —".to_string() } else { format!("Reg. no: {registration}") };
        self.right(RIGHT, self.y, 9.0, Weight::Regular, MUTED, &reg)?;
        self.down(4.5);
        self.right(RIGHT, self.y, 8.0, Weight::Regular, MUTED, "Signature")?;
        self.down(4.0);
        Ok(())
    }

    /// The footer line of the last page, and the finished PDF.
    pub fn finish(mut self, footer: &str) -> Vec<u8> {
        self.page.text(&self.doc, LEFT, 12.0, 8.0, Weight::Regular, MUTED, footer);
        self.doc.push(self.page);
        self.doc.finish()
    }

    pub fn pages(&self) -> usize {
        self.pages
    }
}

/// A staff member's name and registration (licence) number.
pub(crate) async fn doctor(conn: &mut sqlx::SqliteConnection, staff_id: &str) -> Result<(String, String)> {
    let row: Option<(String, String)> = sqlx::query_as("SELECT full_name, licence_no FROM staff WHERE id = ?")
        .bind(staff_id)
        .fetch_optional(conn)
        .await?;
    Ok(row.unwrap_or_default())
}

/// The allergies line: recorded allergies with severity, then those flagged at registration.
pub(crate) async fn allergies_line(conn: &mut sqlx::SqliteConnection, p: &Patient) -> Result<String> {
    let recorded = super::visits::allergy_rows(conn, &p.id).await?;
    let mut parts: Vec<String> = recorded
        .iter()
        .map(|a| {
            if a.reaction.is_empty() {
                format!("{} ({})", a.substance, a.severity.code())
            } else {
                format!("{} ({}: {})", a.substance, a.severity.code(), a.reaction)
            }
        })
        .collect();
    for flagged in &p.allergies {
        if !recorded.iter().any(|a| a.substance.eq_ignore_ascii_case(flagged)) {
            parts.push(flagged.clone());
        }
    }
    Ok(if parts.is_empty() { "No known allergies".into() } else { parts.join("; ") })
}

/// A visit's diagnoses as printed: "E11.9 Type 2 diabetes mellitus without complications
/// (provisional)", uncoded ones as their text.
pub(crate) async fn diagnosis_lines(conn: &mut sqlx::SqliteConnection, visit_id: &str) -> Result<Vec<String>> {
    use super::visits::{diagnosis_of, DiagnosisRow, DIAGNOSIS_COLUMNS};
    let sql = format!(
        "SELECT {DIAGNOSIS_COLUMNS} FROM diagnoses WHERE visit_id = ? AND deleted_at IS NULL ORDER BY created_at, id"
    );
    let rows: Vec<DiagnosisRow> = sqlx::query_as(&sql).bind(visit_id).fetch_all(conn).await?;
    rows.into_iter()
        .map(|r| {
            let d = diagnosis_of(r)?;
            let t = match d.icd10 {
                Some(c) => format!("{c}  {}", d.text),
                None => format!("{} (uncoded)", d.text),
            };
            Ok(if matches!(d.certainty, super::model::Certainty::Provisional) {
                format!("{t} — provisional")
            } else {
                t
            })
        })
        .collect()
}

/// A visit and its patient, or not found.
pub(crate) async fn visit_and_patient(store: &Store, visit_id: &str) -> Result<(super::Visit, Patient)> {
    let mut conn = store.pool().acquire().await?;
    let visit = super::visits::load_visit(&mut conn, visit_id)
        .await?
        .ok_or_else(|| crate::Error::NotFound { entity: "visit".into() })?;
    drop(conn);
    let patient = crate::patients::load(store, &visit.patient_id).await?;
    Ok((visit, patient))
}

/// "1 tablet · oral · 1-0-1 · 5 days".
pub fn dosage(p: &super::Prescription) -> String {
    let duration = match p.duration_days {
        Some(1) => "1 day".to_string(),
        Some(d) => format!("{d} days"),
        None => "long-term".to_string(),
    };
    [format!("{} {}", p.dose, p.dose_unit), p.route.clone(), p.frequency.clone(), duration]
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" · ")
}
