//! Roles and the one permission table live in the `hms-policy` crate, shared as code with
//! hms-server (which checks every synced change against the same table); this module
//! re-exports them and keeps the app's navigation areas.

pub use hms_policy::rbac::{allows, permissions, role_allows, Permission, Role};
use serde::Serialize;

/// The navigation areas of the app. An area is offered when its permission is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    Patients,
    /// Booking, calendars, the day's queue.
    Appointments,
    /// Patients' charts: visits, vitals, diagnoses, prescriptions, results.
    Clinical,
    /// Departments, specialties, staff profiles, weekly schedules.
    Staff,
    /// Bills, invoices, payments, the cash report.
    Billing,
    /// Services, prices and tax rates; what invoices print.
    Tariff,
    Users,
    Audit,
    Settings,
    /// Revenue, appointments and patients reports; the stock reports.
    Reports,
}

const AREAS: &[(Area, Permission)] = &[
    (Area::Patients, Permission::PatientsView),
    (Area::Appointments, Permission::AppointmentsView),
    (Area::Clinical, Permission::ClinicalView),
    (Area::Staff, Permission::StaffManage),
    (Area::Billing, Permission::BillingView),
    (Area::Tariff, Permission::TariffManage),
    (Area::Users, Permission::UsersView),
    (Area::Audit, Permission::AuditView),
    (Area::Settings, Permission::SettingsManage),
    (Area::Reports, Permission::ReportsView),
    // The pharmacist's and lab's reports (suggested purchase order, expiring stock).
    (Area::Reports, Permission::StockView),
];

pub fn areas(roles: &[Role]) -> Vec<Area> {
    let mut areas: Vec<Area> = Vec::new();
    for (area, _) in AREAS.iter().filter(|(_, p)| allows(roles, *p)) {
        if !areas.contains(area) {
            areas.push(*area);
        }
    }
    areas
}
