//! The lab report: the tests of an order (with the other tests ordered in the same visit),
//! each result with its unit, the reference range in force when resulted and a HIGH / LOW
//! flag. While nothing is resulted it prints as a requisition for the lab.

use super::lab::{order_of, result_of, ORDER_SELECT, RESULT_SELECT};
use super::print::{self, Letterhead, Printed, Sheet, LEFT};
use super::{Abnormal, LabOrder, LabResult, OrderStatus};
use crate::error::{Error, Result};
use crate::patients::Patient;
use crate::pdf::{Weight, INK, MUTED};
use crate::printouts::{self, PrintKind, Subject};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use serde_json::json;

/// One line of the report: the order and its result, if any.
pub struct ReportLine {
    pub order: LabOrder,
    pub result: Option<LabResult>,
}

/// Everything a lab report prints.
pub struct LabSheet {
    pub patient: Patient,
    pub lines: Vec<ReportLine>,
    /// The ordering doctor's name ("" when unknown).
    pub doctor_name: String,
}

impl LabSheet {
    /// A requisition while no test has a result.
    pub fn is_requisition(&self) -> bool {
        self.lines.iter().all(|l| l.result.is_none())
    }
}

fn range(r: &LabResult) -> String {
    match (&r.ref_low, &r.ref_high) {
        (Some(l), Some(h)) => format!("{l} – {h}"),
        (Some(l), None) => format!("≥ {l}"),
        (None, Some(h)) => format!("≤ {h}"),
        (None, None) => "—".into(),
    }
}

fn flag(a: Abnormal) -> &'static str {
    match a {
        Abnormal::High => "HIGH",
        Abnormal::Low => "LOW",
        Abnormal::Normal | Abnormal::Unknown => "",
    }
}

/// Columns: (label, x).
const COLS: [(&str, f32); 5] =
    [("Test", LEFT), ("Result", 84.0), ("Unit", 110.0), ("Reference range", 130.0), ("Flag", 168.0)];

/// Draws the report (or requisition). Pure.
pub fn render(head: &Letterhead, s: &LabSheet) -> Result<Vec<u8>> {
    let requisition = s.is_requisition();
    let title = if requisition { "LAB REQUISITION" } else { "LAB REPORT" };
    let mut sheet = Sheet::new(head, &format!("Lab report {}", s.patient.mrn), title)?;
    let ordered = s.lines.first().map(|l| head.date_time(&l.order.ordered_at)).unwrap_or_default();
    let mut rows = vec![("Ordered", ordered)];
    if !s.doctor_name.is_empty() {
        rows.push(("Ordered by", s.doctor_name.clone()));
    }
    if let Some(last) = s.lines.iter().filter_map(|l| l.result.as_ref()).map(|r| r.resulted_at.as_str()).max() {
        rows.push(("Reported", head.date_time(last)));
    }
    sheet.patient(&s.patient, head.today, &rows)?;
    if requisition {
        requisition_table(&mut sheet, s)?;
    } else {
        results_table(&mut sheet, s)?;
    }
    let footer = if requisition {
        "Requisition: the tests above are to be collected and run."
    } else {
        "HIGH / LOW: outside the reference range in force when the result was entered."
    };
    Ok(sheet.finish(footer))
}

fn requisition_table(sheet: &mut Sheet, s: &LabSheet) -> Result<()> {
    sheet.section("Tests requested")?;
    for (i, l) in s.lines.iter().enumerate() {
        sheet.need(6.0)?;
        sheet.cell(
            LEFT,
            110.0,
            10.0,
            Weight::Bold,
            INK,
            &format!("{}. {} ({})", i + 1, l.order.test_name, l.order.test_code),
        )?;
        sheet.down(5.0);
        if !l.order.note.is_empty() {
            sheet.para(LEFT + 6.0, 9.0, Weight::Regular, MUTED, &l.order.note)?;
        }
    }
    Ok(())
}

fn results_table(sheet: &mut Sheet, s: &LabSheet) -> Result<()> {
    sheet.section("Results")?;
    for (label, x) in COLS {
        sheet.text(x, 9.0, Weight::Bold, MUTED, label);
    }
    sheet.down(6.0);
    for l in &s.lines {
        sheet.need(7.0)?;
        sheet.cell(LEFT, 64.0, 9.5, Weight::Regular, INK, &l.order.test_name)?;
        match &l.result {
            None => {
                let state = if l.order.status == OrderStatus::Cancelled { "cancelled" } else { "pending" };
                sheet.text(84.0, 9.5, Weight::Regular, MUTED, state);
            }
            Some(r) => {
                let abnormal = matches!(r.abnormal, Abnormal::High | Abnormal::Low);
                let weight = if abnormal { Weight::Bold } else { Weight::Regular };
                sheet.cell(84.0, 24.0, 9.5, weight, INK, &r.value)?;
                sheet.cell(110.0, 19.0, 9.0, Weight::Regular, INK, &r.unit)?;
                sheet.cell(130.0, 36.0, 9.0, Weight::Regular, INK, &range(r))?;
                sheet.text(168.0, 9.5, Weight::Bold, INK, flag(r.abnormal));
            }
        }
        sheet.down(6.0);
    }
    sheet.down(2.0);
    Ok(())
}

/// Loads an order with the other tests of its visit (cancelled ones left out) and results.
pub async fn sheet(store: &Store, order_id: &str) -> Result<LabSheet> {
    let mut conn = store.pool().acquire().await?;
    let sql = format!("{ORDER_SELECT} WHERE o.id = ? AND o.deleted_at IS NULL");
    let Some(first) =
        sqlx::query_as(&sql).bind(order_id).fetch_optional(&mut *conn).await?.map(order_of).transpose()?
    else {
        return Err(Error::NotFound { entity: "lab order".into() });
    };
    let orders: Vec<LabOrder> = match &first.visit_id {
        Some(v) => {
            let sql = format!("{ORDER_SELECT} WHERE o.visit_id = ? AND o.deleted_at IS NULL AND (o.status <> 'cancelled' OR o.id = ?) ORDER BY o.ordered_at, t.code");
            sqlx::query_as(&sql)
                .bind(v)
                .bind(order_id)
                .fetch_all(&mut *conn)
                .await?
                .into_iter()
                .map(order_of)
                .collect::<Result<_>>()?
        }
        None => vec![first.clone()],
    };
    let sql = format!("{RESULT_SELECT} WHERE r.order_id = ? AND r.deleted_at IS NULL");
    let mut lines = Vec::with_capacity(orders.len());
    for order in orders {
        let result =
            sqlx::query_as(&sql).bind(&order.id).fetch_optional(&mut *conn).await?.map(result_of).transpose()?;
        lines.push(ReportLine { order, result });
    }
    let doctor: Option<String> = match &first.visit_id {
        Some(v) => {
            sqlx::query_scalar("SELECT s.full_name FROM visits v JOIN staff s ON s.id = v.doctor_id WHERE v.id = ?")
                .bind(v)
                .fetch_optional(&mut *conn)
                .await?
        }
        None => {
            sqlx::query_scalar(
                "SELECT s.full_name FROM lab_orders o JOIN staff s ON s.user_id = o.ordered_by WHERE o.id = ?",
            )
            .bind(order_id)
            .fetch_optional(&mut *conn)
            .await?
        }
    };
    drop(conn);
    let patient = crate::patients::load(store, &first.patient_id).await?;
    Ok(LabSheet { patient, lines, doctor_name: doctor.unwrap_or_default() })
}

/// The lab report (or, with nothing resulted yet, the requisition) of an order, for the
/// clinicians and the lab. Audited as `lab.print`.
pub async fn lab_report_pdf(store: &Store, auth: &Authorized, order_id: &str) -> Result<Printed> {
    lab_report_pdf_as(store, auth, order_id, None).await
}

/// [`lab_report_pdf`], recorded as a reprint of printout `reprint_of` when given.
pub(crate) async fn lab_report_pdf_as(
    store: &Store,
    auth: &Authorized,
    order_id: &str,
    reprint_of: Option<&str>,
) -> Result<Printed> {
    if auth.require(Permission::ClinicalView).is_err() {
        auth.require(Permission::LabResults)?;
    }
    let s = sheet(store, order_id).await?;
    // The lab prints its own orders' reports whatever the chart (it processes the sample);
    // a clinician's print is a read of the chart.
    if auth.require(Permission::LabResults).is_err() {
        super::restriction::require_chart(store, auth, &s.patient.id).await?;
    }
    let head = print::letterhead(store).await?;
    let pdf = render(&head, &s)?;
    let kind = if s.is_requisition() { "requisition" } else { "report" };
    let mut w = store.begin_write(auth.actor()).await?;
    w.audit(
        "lab.print",
        "lab_order",
        Some(order_id),
        json!({ "patient_id": s.patient.id, "kind": kind, "tests": s.lines.len() }),
    )
    .await?;
    let date = s.lines.first().map(|l| head.file_date(&l.order.ordered_at)).unwrap_or_default();
    let subject = Subject {
        patient_id: s.patient.id.clone(),
        visit_id: s.lines.first().and_then(|l| l.order.visit_id.clone()),
        lab_order_id: Some(order_id.to_string()),
        ..Subject::default()
    };
    let name = format!("lab-{kind}-{}-{date}.pdf", s.patient.mrn);
    let printout = printouts::record(&mut w, PrintKind::LabReport, kind, subject, &name, &pdf, reprint_of).await?;
    w.commit().await?;
    Ok(Printed { file_name: printout.file_name.clone(), pdf, printout })
}
