//! Printouts: every PDF printed for a patient (ID card, invoice, receipt, prescription, lab
//! report, visit summary, discharge summary), recorded so that it can be found again on the patient's page, the
//! bill and the visit, opened again or printed again.
//!
//! - **Recorded with the print.** Each printer writes its row here in the same transaction as
//!   its audit entry ([`record`]): the kind, the patient and the bill / payment / visit / lab
//!   order it belongs to, the file name in the exports folder, who printed it, when (UTC), and
//!   the SHA-256 and size of the PDF.
//! - **Local to the device.** The file exists only in this device's exports folder, so the
//!   table is not in the sync registry and carries no sync columns: another device never
//!   lists a file it does not have. The audit entry of the print syncs as usual.
//! - **Listing follows the permission to read the subject** ([`readable`]): ID cards need
//!   `patients_view`, invoices and receipts `billing_view`, prescriptions and visit summaries
//!   `clinical_view`, lab reports `clinical_view` or `lab_results` (as their printers).
//! - **Open** ([`open`]) resolves the record's file name inside the exports folder only, and
//!   opens it only when it is still there and unchanged (its SHA-256 matches); otherwise
//!   `printout_missing` / `printout_changed`, and the UI offers Print again.
//! - **Print again** ([`reprint`]) makes the document again from its record with the same
//!   printer (it shows the record as it is now; a receipt shows the balance after its own
//!   payment) and records it as a new printout whose `reprint_of` is the original.
//! - **File names are unique per printout**: a second print of `invoice-INV-1.pdf` is saved as
//!   `invoice-INV-1-2.pdf`, so that printing again never overwrites an earlier printout's file.

use crate::codes::Code;
use crate::error::{Error, Result};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{Store, WriteTx};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::FromRow;
use std::path::{Path, PathBuf};

/// What was printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum PrintKind {
    IdCard,
    Invoice,
    Receipt,
    Prescription,
    LabReport,
    VisitSummary,
    /// An inpatient's discharge summary.
    DischargeSummary,
    /// The pharmacy's labels of what was dispensed at one go (`reference`: a dispensing of it).
    DispensingLabels,
}
impl Code for PrintKind {}

impl PrintKind {
    pub const ALL: [PrintKind; 8] = [
        PrintKind::IdCard,
        PrintKind::Invoice,
        PrintKind::Receipt,
        PrintKind::Prescription,
        PrintKind::LabReport,
        PrintKind::VisitSummary,
        PrintKind::DischargeSummary,
        PrintKind::DispensingLabels,
    ];
}

/// Whether `auth` may see (and so open or print again) printouts of `kind`: the permission
/// its printer requires.
pub fn readable(auth: &Authorized, kind: PrintKind) -> bool {
    let can = |p| auth.require(p).is_ok();
    match kind {
        PrintKind::IdCard => can(Permission::PatientsView),
        PrintKind::Invoice | PrintKind::Receipt => can(Permission::BillingView),
        PrintKind::Prescription | PrintKind::VisitSummary | PrintKind::DischargeSummary => {
            can(Permission::ClinicalView)
        }
        PrintKind::LabReport => can(Permission::ClinicalView) || can(Permission::LabResults),
        PrintKind::DispensingLabels => can(Permission::StockDispense),
    }
}

fn require_readable(auth: &Authorized, kind: PrintKind) -> Result<()> {
    if readable(auth, kind) {
        return Ok(());
    }
    let permission = match kind {
        PrintKind::IdCard => Permission::PatientsView,
        PrintKind::Invoice | PrintKind::Receipt => Permission::BillingView,
        PrintKind::Prescription | PrintKind::VisitSummary | PrintKind::DischargeSummary | PrintKind::LabReport => {
            Permission::ClinicalView
        }
        PrintKind::DispensingLabels => Permission::StockDispense,
    };
    Err(Error::Forbidden { permission: permission.code().to_string() })
}

/// A recorded printout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Printout {
    pub id: String,
    pub kind: PrintKind,
    /// The invoice or receipt number, the MRN of an ID card, "report" or "requisition" for a
    /// lab report; may be empty.
    pub reference: String,
    pub patient_id: String,
    pub bill_id: Option<String>,
    pub payment_id: Option<String>,
    pub visit_id: Option<String>,
    pub lab_order_id: Option<String>,
    /// A discharge summary's admission.
    pub admission_id: Option<String>,
    /// The file's name in the exports folder (never a path).
    pub file_name: String,
    /// Lowercase hex SHA-256 of the PDF as saved.
    pub sha256: String,
    /// A PDF's size: exact as a TypeScript number.
    #[specta(type = f64)]
    pub size_bytes: i64,
    pub printed_by: String,
    /// The full name of who printed it ("" when the account is unknown here).
    pub printed_by_name: String,
    /// UTC, RFC 3339.
    pub printed_at: String,
    /// The printout this one printed again.
    pub reprint_of: Option<String>,
}

/// What a printout belongs to.
#[derive(Debug, Clone, Default)]
pub struct Subject {
    pub patient_id: String,
    pub bill_id: Option<String>,
    pub payment_id: Option<String>,
    pub visit_id: Option<String>,
    pub lab_order_id: Option<String>,
    pub admission_id: Option<String>,
}

/// Whose printouts to list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(tag = "of", content = "id", rename_all = "snake_case")]
pub enum PrintoutsOf {
    /// Everything printed for the patient.
    Patient(String),
    /// A bill's invoices and receipts.
    Bill(String),
    /// A visit's prescription, summary and lab reports.
    Visit(String),
}

/// A document made by a printer and recorded: what to save, under which name.
#[derive(Debug, Clone)]
pub struct Document {
    pub file_name: String,
    pub pdf: Vec<u8>,
    pub printout: Printout,
}

/// Keeps a file name to letters, digits, dot, dash and underscore (the exports folder's rule;
/// the app's saver applies it again).
pub fn safe_file_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect()
}

/// Whether `name` is a plain file name of the exports folder: non-empty, only the safe
/// characters, not starting with a dot (so never `.` or `..`).
pub fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && safe_file_name(name) == name && name.len() <= 200
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `base` when no printout of this device has that file name yet, else `stem-2.ext`,
/// `stem-3.ext`, ...
async fn unique_name(w: &mut WriteTx<'_>, base: &str) -> Result<String> {
    let (stem, ext) = match base.rfind('.') {
        Some(i) if i > 0 => (&base[..i], &base[i..]),
        _ => (base, ""),
    };
    let mut n = 1u32;
    loop {
        let candidate = if n == 1 { base.to_string() } else { format!("{stem}-{n}{ext}") };
        let taken: Option<i64> = sqlx::query_scalar("SELECT 1 FROM printouts WHERE file_name = ?")
            .bind(&candidate)
            .fetch_optional(w.conn())
            .await?;
        if taken.is_none() || n >= 100_000 {
            return Ok(candidate);
        }
        n += 1;
    }
}

/// Records a printout inside the printer's write (which holds its audit entry). `base_name`
/// is the printer's file name; the recorded one is made safe and unique.
pub(crate) async fn record(
    w: &mut WriteTx<'_>,
    kind: PrintKind,
    reference: &str,
    subject: Subject,
    base_name: &str,
    pdf: &[u8],
    reprint_of: Option<&str>,
) -> Result<Printout> {
    let file_name = unique_name(w, &safe_file_name(base_name)).await?;
    let id = crate::ids::new_id();
    // Printers run for a signed-in user; the system actor prints nothing.
    let printed_by = w.actor().user_id.clone().unwrap_or_default();
    let printed_at = w.now_rfc3339();
    let sha256 = sha256_hex(pdf);
    let size_bytes = i64::try_from(pdf.len()).unwrap_or(i64::MAX);
    sqlx::query(
        "INSERT INTO printouts (id, kind, reference, patient_id, bill_id, payment_id, visit_id, lab_order_id,
                                file_name, sha256, size_bytes, printed_by, printed_at, reprint_of, admission_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&id)
    .bind(kind.code())
    .bind(reference)
    .bind(&subject.patient_id)
    .bind(&subject.bill_id)
    .bind(&subject.payment_id)
    .bind(&subject.visit_id)
    .bind(&subject.lab_order_id)
    .bind(&file_name)
    .bind(&sha256)
    .bind(size_bytes)
    .bind(&printed_by)
    .bind(&printed_at)
    .bind(reprint_of)
    .bind(&subject.admission_id)
    .execute(w.conn())
    .await?;
    let printed_by_name: Option<String> = sqlx::query_scalar("SELECT full_name FROM users WHERE id = ?")
        .bind(&printed_by)
        .fetch_optional(w.conn())
        .await?;
    Ok(Printout {
        id,
        kind,
        reference: reference.to_string(),
        patient_id: subject.patient_id,
        bill_id: subject.bill_id,
        payment_id: subject.payment_id,
        visit_id: subject.visit_id,
        lab_order_id: subject.lab_order_id,
        admission_id: subject.admission_id,
        file_name,
        sha256,
        size_bytes,
        printed_by,
        printed_by_name: printed_by_name.unwrap_or_default(),
        printed_at,
        reprint_of: reprint_of.map(str::to_string),
    })
}

#[derive(FromRow)]
struct Row {
    id: String,
    kind: String,
    reference: String,
    patient_id: String,
    bill_id: Option<String>,
    payment_id: Option<String>,
    visit_id: Option<String>,
    lab_order_id: Option<String>,
    admission_id: Option<String>,
    file_name: String,
    sha256: String,
    size_bytes: i64,
    printed_by: String,
    printed_by_name: Option<String>,
    printed_at: String,
    reprint_of: Option<String>,
}

impl Row {
    fn into_printout(self) -> Result<Printout> {
        let kind = PrintKind::from_code(&self.kind)
            .ok_or_else(|| Error::corrupt("printouts", &self.id, "kind", &self.kind))?;
        Ok(Printout {
            id: self.id,
            kind,
            reference: self.reference,
            patient_id: self.patient_id,
            bill_id: self.bill_id,
            payment_id: self.payment_id,
            visit_id: self.visit_id,
            lab_order_id: self.lab_order_id,
            admission_id: self.admission_id,
            file_name: self.file_name,
            sha256: self.sha256,
            size_bytes: self.size_bytes,
            printed_by: self.printed_by,
            printed_by_name: self.printed_by_name.unwrap_or_default(),
            printed_at: self.printed_at,
            reprint_of: self.reprint_of,
        })
    }
}

const SELECT: &str =
    "SELECT p.id, p.kind, p.reference, p.patient_id, p.bill_id, p.payment_id, p.visit_id, p.lab_order_id, p.admission_id,
        p.file_name, p.sha256, p.size_bytes, p.printed_by, u.full_name AS printed_by_name, p.printed_at, p.reprint_of
   FROM printouts p LEFT JOIN users u ON u.id = p.printed_by";

/// The most a list shows (newest first).
pub const LIST_LIMIT: i64 = 200;

/// The printouts of a patient, a bill or a visit, newest first, of the kinds the caller may
/// read (an empty list when none).
pub async fn list(store: &Store, auth: &Authorized, of: &PrintoutsOf) -> Result<Vec<Printout>> {
    let kinds: Vec<&str> = PrintKind::ALL.into_iter().filter(|k| readable(auth, *k)).map(Code::code).collect();
    if kinds.is_empty() {
        return Err(Error::Forbidden { permission: Permission::PatientsView.code().to_string() });
    }
    let (column, id) = match of {
        PrintoutsOf::Patient(id) => ("patient_id", id),
        PrintoutsOf::Bill(id) => ("bill_id", id),
        PrintoutsOf::Visit(id) => ("visit_id", id),
    };
    // `column` is one of three names above, never input; the kinds are bound as one JSON list.
    let sql = format!(
        "{SELECT} WHERE p.{column} = ?1 AND p.kind IN (SELECT value FROM json_each(?2))
         ORDER BY p.printed_at DESC, p.id DESC LIMIT ?3"
    );
    let rows: Vec<Row> =
        sqlx::query_as(&sql).bind(id).bind(json!(kinds).to_string()).bind(LIST_LIMIT).fetch_all(store.pool()).await?;
    rows.into_iter().map(Row::into_printout).collect()
}

/// One printout, if the caller may read its kind.
pub async fn get(store: &Store, auth: &Authorized, id: &str) -> Result<Printout> {
    let row: Option<Row> =
        sqlx::query_as(&format!("{SELECT} WHERE p.id = ?")).bind(id).fetch_optional(store.pool()).await?;
    let p = row.ok_or_else(|| Error::NotFound { entity: "printout".into() })?.into_printout()?;
    require_readable(auth, p.kind)?;
    // A clinical printout is part of the chart (the lab's own reports excepted, as printing).
    let clinical = match p.kind {
        PrintKind::Prescription | PrintKind::VisitSummary | PrintKind::DischargeSummary => true,
        PrintKind::LabReport => auth.require(Permission::LabResults).is_err(),
        PrintKind::IdCard | PrintKind::Invoice | PrintKind::Receipt | PrintKind::DispensingLabels => false,
    };
    if clinical {
        crate::clinical::restriction::require_chart(store, auth, &p.patient_id).await?;
    }
    Ok(p)
}

/// The saved file of a printout, checked: inside `exports_dir` (a plain file name, never a
/// path), still there (`printout_missing`) and unchanged (`printout_changed`: its SHA-256 no
/// longer matches). Audited as `printout.open`.
pub async fn open(store: &Store, auth: &Authorized, id: &str, exports_dir: &Path) -> Result<(Printout, PathBuf)> {
    let p = get(store, auth, id).await?;
    if !is_plain_file_name(&p.file_name) {
        return Err(Error::PrintoutMissing { id: p.id });
    }
    let path = exports_dir.join(&p.file_name);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Error::PrintoutMissing { id: p.id }),
        Err(e) => return Err(Error::storage(format_args!("cannot read {}: {e}", path.display()))),
    };
    if sha256_hex(&bytes) != p.sha256 {
        return Err(Error::PrintoutChanged { id: p.id });
    }
    let mut w = store.begin_write(auth.actor()).await?;
    w.audit("printout.open", "printout", Some(&p.id), json!({ "kind": p.kind, "file_name": p.file_name })).await?;
    w.commit().await?;
    Ok((p, path))
}

/// Makes the document of printout `id` again with its printer (audited as that printer's
/// print) and records it as a new printout, `reprint_of` the original (or the original's
/// original: a reprint of a reprint points at the first).
pub async fn reprint(store: &Store, auth: &Authorized, id: &str) -> Result<Document> {
    let original = get(store, auth, id).await?;
    let first = original.reprint_of.clone().unwrap_or_else(|| original.id.clone());
    let of = Some(first.as_str());
    let missing = |what: &str| Error::corrupt("printouts", &original.id, what, "missing");
    match original.kind {
        PrintKind::IdCard => {
            let c = crate::patients::card::id_card_as(store, auth, &original.patient_id, of).await?;
            Ok(Document { file_name: c.file_name, pdf: c.pdf, printout: c.printout })
        }
        PrintKind::Invoice => {
            let bill = original.bill_id.as_deref().ok_or_else(|| missing("bill_id"))?;
            let r = crate::billing::invoice_pdf::invoice_pdf_as(store, auth, bill, of).await?;
            Ok(Document { file_name: r.file_name, pdf: r.pdf, printout: r.printout })
        }
        PrintKind::Receipt => {
            let bill = original.bill_id.as_deref().ok_or_else(|| missing("bill_id"))?;
            let payment = original.payment_id.as_deref().ok_or_else(|| missing("payment_id"))?;
            let r = crate::billing::invoice_pdf::receipt_pdf_as(store, auth, bill, payment, of).await?;
            Ok(Document { file_name: r.file_name, pdf: r.pdf, printout: r.printout })
        }
        PrintKind::Prescription => {
            let visit = original.visit_id.as_deref().ok_or_else(|| missing("visit_id"))?;
            let p = crate::clinical::prescription_pdf::prescription_pdf_as(store, auth, visit, of).await?;
            Ok(Document { file_name: p.file_name, pdf: p.pdf, printout: p.printout })
        }
        PrintKind::VisitSummary => {
            let visit = original.visit_id.as_deref().ok_or_else(|| missing("visit_id"))?;
            let p = crate::clinical::visit_summary_pdf::visit_summary_pdf_as(store, auth, visit, of).await?;
            Ok(Document { file_name: p.file_name, pdf: p.pdf, printout: p.printout })
        }
        PrintKind::LabReport => {
            let order = original.lab_order_id.as_deref().ok_or_else(|| missing("lab_order_id"))?;
            let p = crate::clinical::lab_pdf::lab_report_pdf_as(store, auth, order, of).await?;
            Ok(Document { file_name: p.file_name, pdf: p.pdf, printout: p.printout })
        }
        PrintKind::DischargeSummary => {
            let admission = original.admission_id.as_deref().ok_or_else(|| missing("admission_id"))?;
            let p = crate::inpatients::summary_pdf::summary_pdf_as(store, auth, admission, of).await?;
            Ok(Document { file_name: p.file_name, pdf: p.pdf, printout: p.printout })
        }
        PrintKind::DispensingLabels => {
            let p = crate::stock::labels::labels_pdf_as(store, auth, &original.reference, of).await?;
            Ok(Document { file_name: p.file_name, pdf: p.pdf, printout: p.printout })
        }
    }
}

/// Moves a merged patient's printouts to the survivor (local rows: no synced change).
pub(crate) async fn repoint(w: &mut WriteTx<'_>, survivor_id: &str, merged_id: &str) -> Result<()> {
    sqlx::query("UPDATE printouts SET patient_id = ? WHERE patient_id = ?")
        .bind(survivor_id)
        .bind(merged_id)
        .execute(w.conn())
        .await?;
    Ok(())
}
