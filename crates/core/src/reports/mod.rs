//! Reports: each one a typed table over a date range of the clinic's calendar, with filters,
//! permissions, and the one line saying what it counts. One file per report family;
//! `range.rs` the dates, `table.rs` the table, `export.rs` the files.
//!
//! Permissions: every report but the stock ones needs `reports_view`. Revenue, receivables, insurance and doctor
//! performance need `reports_finance` (administrator, accountant) — revenue by service or by
//! doctor and doctor performance may instead be a doctor's own figures: a user without `reports_finance` whose staff profile is a doctor
//! sees only their own lines and appointments, whatever doctor filter they send (another
//! doctor's id is `forbidden`). Collections by mode, receivables and insurance are never a
//! doctor's own. The stock reports (suggested purchase order, expiring stock) need
//! `stock_view` instead (pharmacist, lab technician, administrator).

pub mod appointments;
pub mod cash;
pub mod dashboard;
pub mod export;
pub mod hours;
pub mod insurance;
pub mod morbidity;
pub mod morbidity_summary;
pub mod patients;
pub mod pdf;
pub mod performance;
pub(crate) mod pieces;
pub mod places;
pub mod range;
pub mod receivables;
pub(crate) mod registered;
pub mod revenue;
pub(crate) mod seen;
pub mod stock;
pub mod summary;
#[cfg(test)]
mod summary_tests;
pub mod table;

use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
pub use range::{DateRange, Preset, RangeInput};
use serde::{Deserialize, Serialize};
pub use table::{Cell, Column, Figure, Kind, Table};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ReportId {
    RevenueByService,
    RevenueByMode,
    RevenueByDoctor,
    AppointmentsByDoctor,
    PatientsRegistrations,
    PatientsDemographics,
    PatientsNewReturning,
    ReceivablesAgeing,
    InsuranceByInsurer,
    MorbidityByCode,
    MorbidityByChapter,
    DoctorPerformance,
    AppointmentsBusiestHours,
    RevenueByDepartment,
    RevenueAdjustments,
    PatientsByPlace,
    StockReorder,
    StockExpiry,
}

impl crate::codes::Code for ReportId {}

impl ReportId {
    pub const ALL: [ReportId; 18] = [
        ReportId::RevenueByService,
        ReportId::RevenueByMode,
        ReportId::RevenueByDoctor,
        ReportId::AppointmentsByDoctor,
        ReportId::PatientsRegistrations,
        ReportId::PatientsDemographics,
        ReportId::PatientsNewReturning,
        ReportId::ReceivablesAgeing,
        ReportId::InsuranceByInsurer,
        ReportId::MorbidityByCode,
        ReportId::MorbidityByChapter,
        ReportId::DoctorPerformance,
        ReportId::AppointmentsBusiestHours,
        ReportId::RevenueByDepartment,
        ReportId::RevenueAdjustments,
        ReportId::PatientsByPlace,
        ReportId::StockReorder,
        ReportId::StockExpiry,
    ];

    pub fn title(self) -> &'static str {
        match self {
            ReportId::RevenueByService => "Revenue by service",
            ReportId::RevenueByMode => "Collections by payment mode",
            ReportId::RevenueByDoctor => "Revenue by doctor",
            ReportId::AppointmentsByDoctor => "Appointments by doctor",
            ReportId::PatientsRegistrations => "Patient registrations",
            ReportId::PatientsDemographics => "Patients by age band and sex",
            ReportId::PatientsNewReturning => "New and returning patients",
            ReportId::ReceivablesAgeing => "Receivables by age",
            ReportId::InsuranceByInsurer => "Insurance claims by insurer",
            ReportId::MorbidityByCode => "Diagnoses by ICD-10 code",
            ReportId::MorbidityByChapter => "Diagnoses by ICD-10 chapter",
            ReportId::DoctorPerformance => "Doctor performance",
            ReportId::AppointmentsBusiestHours => "Busiest hours",
            ReportId::RevenueByDepartment => "Revenue by department",
            ReportId::RevenueAdjustments => "Discounts, credit notes and refunds",
            ReportId::PatientsByPlace => "Patients by district and city",
            ReportId::StockReorder => "Suggested purchase order",
            ReportId::StockExpiry => "Stock expiring",
        }
    }

    /// The one line under the title: what the report counts.
    pub fn counts(self) -> &'static str {
        match self {
            ReportId::RevenueByService => {
                "Lines of finalised invoices (cancelled invoices left out) by invoice date, by service; credit notes and refunds by their own date; net = invoiced − credit notes."
            }
            ReportId::RevenueByMode => {
                "Money received (payments and advances) and refunded by the date it moved, by payment mode."
            }
            ReportId::RevenueByDoctor => {
                "Lines of finalised invoices (cancelled invoices left out) by invoice date, by the doctor of the appointment they were charged for; other lines under “No doctor”."
            }
            ReportId::AppointmentsByDoctor => {
                "Appointments by their date, by doctor: every booking, those attended (checked in or later), no-shows and cancellations; wait = whole minutes from check-in to being called (nearest-rank median and 90th percentile)."
            }
            ReportId::PatientsRegistrations => {
                "Records registered by their date, merged duplicates left out, by day, week (from Monday) or month."
            }
            ReportId::PatientsDemographics => {
                "Records registered in the range, merged duplicates left out, by age band on the range's last day and sex."
            }
            ReportId::PatientsNewReturning => {
                "Distinct people (merged records counted once) with an attended appointment in the range: new if their first attended appointment ever is in it, else returning."
            }
            ReportId::ReceivablesAgeing => {
                "What patients owed at the end of the range's last day on finalised invoices (cancelled ones left out; merged duplicates under their survivor): total − credit notes − payments and advances + refunds issued by then, by the invoice's age in days on that day."
            }
            ReportId::InsuranceByInsurer => {
                "Insurance claims on finalised invoices (cancelled ones left out) first recorded in the range, by insurer, as they stand now: awaiting decision = nothing approved yet; rejected = claimed − approved once something is approved; outstanding = approved − settled."
            }
            ReportId::MorbidityByCode => {
                "People (merged records counted once) given a coded diagnosis at a visit started in the range, once per code, by sex and by age on the day of their first such visit; uncoded diagnoses left out."
            }
            ReportId::MorbidityByChapter => {
                "People (merged records counted once) given a coded diagnosis at a visit started in the range, once per ICD-10-CM chapter, by sex and by age on the day of their first such visit; uncoded diagnoses left out."
            }
            ReportId::DoctorPerformance => {
                "Per doctor: people seen (merged records once) at attended appointments in the range, new if their first attended appointment ever with the doctor is in it; average consultation = called in to done; revenue as by doctor; follow-ups asked = visits with a follow-up date ÷ visits; no-show rate = no-shows ÷ bookings not cancelled. Totals add the doctors' rows."
            }
            ReportId::AppointmentsBusiestHours => {
                "Attended appointments (checked in or later) by the weekday of their date and the hour their slot starts, clinic time, from the first to the last busy hour."
            }
            ReportId::RevenueByDepartment => {
                "Lines of finalised invoices (cancelled invoices left out) by invoice date, by the department of the doctor of the appointment they were charged for; other lines under “No department”."
            }
            ReportId::RevenueAdjustments => {
                "Discounts on lines of finalised invoices (cancelled left out) by invoice date, by service; credit notes on finalised invoices by their own date; refunds by the date paid, by payment mode."
            }
            ReportId::PatientsByPlace => {
                "Records registered in the range, merged duplicates left out, by district then city as recorded (letter case ignored); blanks under “Not given”."
            }
            ReportId::StockReorder => {
                "Active items whose usable stock now (not expired, not on hold, every store) is below their reorder level; suggested = reorder level + used in the range (dispensed less returned, plus lab use) − on hand, in whole packs; supplier and pack cost of the latest receipt."
            }
            ReportId::StockExpiry => {
                "Batches with stock in a store whose expiry day is in the range, by expiry; value at the batch's cost per unit."
            }
        }
    }

    fn finance(self) -> bool {
        matches!(
            self,
            ReportId::RevenueByService
                | ReportId::RevenueByMode
                | ReportId::RevenueByDoctor
                | ReportId::ReceivablesAgeing
                | ReportId::InsuranceByInsurer
                | ReportId::DoctorPerformance
                | ReportId::RevenueByDepartment
                | ReportId::RevenueAdjustments
        )
    }

    /// A stock report: needs `stock_view`, not `reports_view`.
    pub fn stock(self) -> bool {
        matches!(self, ReportId::StockReorder | ReportId::StockExpiry)
    }

    /// The permission that opens the report (finance reports need `reports_finance` too,
    /// or a doctor's own figures: see `scope`).
    fn permission(self) -> Permission {
        if self.stock() {
            Permission::StockView
        } else {
            Permission::ReportsView
        }
    }

    /// A finance report a doctor without `reports_finance` sees as their own figures.
    fn doctor_own(self) -> bool {
        matches!(self, ReportId::RevenueByService | ReportId::RevenueByDoctor | ReportId::DoctorPerformance)
    }
}

/// Registrations by day, week or month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    #[default]
    Day,
    Week,
    Month,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct Filters {
    /// A doctor's staff id.
    pub doctor_id: Option<String>,
    pub department_id: Option<String>,
    /// Registrations only (day when None).
    pub granularity: Option<Granularity>,
}

#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct ReportRequest {
    pub report: ReportId,
    pub range: RangeInput,
    #[serde(default)]
    pub filters: Filters,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Report {
    pub report: ReportId,
    pub title: String,
    pub counts: String,
    /// YYYY-MM-DD, clinic local, both included.
    pub from: String,
    pub to: String,
    pub currency: String,
    /// Set when the figures are one doctor's own (a doctor's view).
    pub doctor_scope: Option<String>,
    pub table: Table,
}

/// The filters checked and narrowed to what the user may see.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    pub doctor_id: Option<String>,
    pub department_id: Option<String>,
    pub granularity: Granularity,
    /// The doctor's own figures only.
    pub own: bool,
}

async fn exists(store: &Store, sql: &str, id: &str) -> Result<bool> {
    Ok(sqlx::query_scalar::<_, bool>(sql).bind(id).fetch_one(store.report_pool()).await?)
}

fn clean(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(String::from)
}

/// The reports this user may open.
pub fn available(auth: &Authorized) -> Vec<ReportId> {
    let finance = auth.require(Permission::ReportsFinance).is_ok();
    let doctor = auth.roles.contains(&crate::rbac::Role::Doctor);
    ReportId::ALL
        .into_iter()
        .filter(|r| auth.require(r.permission()).is_ok())
        .filter(|r| !r.finance() || finance || (doctor && r.doctor_own()))
        .collect()
}

/// Some report is open to this user (`reports_view` or `stock_view`).
fn require_any(auth: &Authorized) -> Result<()> {
    match auth.require(Permission::ReportsView) {
        Err(e) if auth.require(Permission::StockView).is_err() => Err(e),
        _ => Ok(()),
    }
}

async fn scope(store: &Store, auth: &Authorized, report: ReportId, f: &Filters) -> Result<Scope> {
    auth.require(report.permission())?;
    let mut s = Scope {
        doctor_id: clean(&f.doctor_id),
        department_id: clean(&f.department_id),
        granularity: f.granularity.unwrap_or_default(),
        own: false,
    };
    if let Some(d) = &s.doctor_id {
        let sql = "SELECT COUNT(*) > 0 FROM staff WHERE id = ? AND role = 'doctor' AND deleted_at IS NULL";
        if !exists(store, sql, d).await? {
            return Err(Error::validation("doctor_id", ValidationReason::Invalid, "no such doctor"));
        }
    }
    if let Some(d) = &s.department_id {
        let sql = "SELECT COUNT(*) > 0 FROM departments WHERE id = ? AND deleted_at IS NULL";
        if !exists(store, sql, d).await? {
            return Err(Error::validation("department_id", ValidationReason::Invalid, "no such department"));
        }
    }
    let finance = auth.require(Permission::ReportsFinance);
    let own_doctor: Option<String> = if finance.is_err() {
        sqlx::query_scalar("SELECT id FROM staff WHERE user_id = ? AND role = 'doctor' AND deleted_at IS NULL")
            .bind(&auth.user_id)
            .fetch_optional(store.report_pool())
            .await?
    } else {
        None
    };
    let narrows =
        report.finance() || matches!(report, ReportId::AppointmentsByDoctor | ReportId::AppointmentsBusiestHours);
    match (finance, own_doctor) {
        (Ok(()), _) => {}
        (Err(e), None) if report.finance() => return Err(e),
        (Err(_), None) => {}
        (Err(e), Some(_)) if report.finance() && !report.doctor_own() => return Err(e),
        (Err(_), Some(me)) if narrows => {
            if s.doctor_id.as_ref().is_some_and(|d| *d != me) {
                return Err(Error::Forbidden { permission: Permission::ReportsFinance.code().to_string() });
            }
            s.doctor_id = Some(me);
            s.own = true;
        }
        (Err(_), Some(_)) => {}
    }
    Ok(s)
}

/// A doctor or department a filter may name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type, sqlx::FromRow)]
pub struct Choice {
    pub id: String,
    pub name: String,
}

/// What the filters offer this user: the doctors (only themselves for a doctor's own
/// figures) and the departments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct FilterChoices {
    pub doctors: Vec<Choice>,
    pub departments: Vec<Choice>,
    pub reports: Vec<ReportId>,
}

pub async fn filter_choices(store: &Store, auth: &Authorized) -> Result<FilterChoices> {
    require_any(auth)?;
    let own = auth.require(Permission::ReportsFinance).is_err() && auth.roles.contains(&crate::rbac::Role::Doctor);
    let doctors: Vec<Choice> = sqlx::query_as(
        "SELECT id, full_name AS name FROM staff WHERE role = 'doctor' AND deleted_at IS NULL AND (? = 0 OR user_id = ?)
         ORDER BY full_name",
    )
    .bind(own)
    .bind(&auth.user_id)
    .fetch_all(store.report_pool())
    .await?;
    let departments: Vec<Choice> =
        sqlx::query_as("SELECT id, name FROM departments WHERE deleted_at IS NULL ORDER BY name")
            .fetch_all(store.report_pool())
            .await?;
    Ok(FilterChoices { doctors, departments, reports: available(auth) })
}

/// Runs one report.
pub async fn run(store: &Store, auth: &Authorized, req: &ReportRequest) -> Result<Report> {
    let scope = scope(store, auth, req.report, &req.filters).await?;
    let range = DateRange::of(store, &req.range).await?;
    let table = match req.report {
        ReportId::RevenueByService => revenue::by_service(store, &range, &scope).await?,
        ReportId::RevenueByMode => revenue::by_mode(store, &range).await?,
        ReportId::RevenueByDoctor => revenue::by_doctor(store, &range, &scope).await?,
        ReportId::AppointmentsByDoctor => appointments::by_doctor(store, &range, &scope).await?,
        ReportId::PatientsRegistrations => patients::registrations(store, &range, scope.granularity).await?,
        ReportId::PatientsDemographics => patients::demographics(store, &range).await?,
        ReportId::PatientsNewReturning => patients::new_returning(store, &range).await?,
        ReportId::ReceivablesAgeing => receivables::ageing(store, &range).await?,
        ReportId::InsuranceByInsurer => insurance::by_insurer(store, &range).await?,
        ReportId::MorbidityByCode => morbidity::by_code(store, &range, &scope).await?,
        ReportId::MorbidityByChapter => morbidity::by_chapter(store, &range, &scope).await?,
        ReportId::DoctorPerformance => performance::by_doctor(store, &range, &scope).await?,
        ReportId::AppointmentsBusiestHours => hours::busiest(store, &range, &scope).await?,
        ReportId::RevenueByDepartment => revenue::by_department(store, &range, &scope).await?,
        ReportId::RevenueAdjustments => revenue::adjustments(store, &range).await?,
        ReportId::PatientsByPlace => places::by_place(store, &range).await?,
        ReportId::StockReorder => stock::reorder(store, &range).await?,
        ReportId::StockExpiry => stock::expiry(store, &range).await?,
    };
    Ok(Report {
        report: req.report,
        title: req.report.title().into(),
        counts: req.report.counts().into(),
        from: range.from_ymd(),
        to: range.to_ymd(),
        currency: crate::billing::read_settings(store).await?.currency,
        doctor_scope: scope.own.then(|| scope.doctor_id.clone()).flatten(),
        table,
    })
}
