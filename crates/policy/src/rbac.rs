//! Roles and the one permission table that decides every command on a device, and every
//! synced change on the server and on the devices that receive it.
//!
//! Each core function that reads or writes asks hms-core's `Authorized::require` for the
//! permission it needs; the UI only hides what this table forbids.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Doctor,
    Nurse,
    Receptionist,
    Pharmacist,
    LabTechnician,
    Accountant,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::Doctor,
        Role::Nurse,
        Role::Receptionist,
        Role::Pharmacist,
        Role::LabTechnician,
        Role::Accountant,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Doctor => "doctor",
            Role::Nurse => "nurse",
            Role::Receptionist => "receptionist",
            Role::Pharmacist => "pharmacist",
            Role::LabTechnician => "lab_technician",
            Role::Accountant => "accountant",
        }
    }

    pub fn from_code(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// What a command needs. Names are stable: they appear in `forbidden` errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// List staff accounts.
    UsersView,
    /// Create, edit, deactivate, reset passwords, unlock.
    UsersManage,
    /// Read the audit log.
    AuditView,
    /// Run the integrity check of the audit chain.
    AuditVerify,
    /// Change clinic-wide settings (idle lock, ...).
    SettingsManage,
    /// Search patients and open their records (demographics).
    PatientsView,
    /// Register patients and edit their details.
    PatientsEdit,
    /// Deactivate (deceased, moved) and reactivate records.
    PatientsStatus,
    /// Merge two records of the same person.
    PatientsMerge,
    /// Import a legacy patient list from CSV.
    PatientsImport,
    /// Export the patient list (or a search result) to CSV.
    PatientsExport,
    /// Departments, specialties and staff profiles.
    StaffManage,
    /// Doctors' weekly sessions and their exceptions (leave, extra, cancelled).
    ScheduleManage,
    /// See doctors, free slots, appointments and queues.
    AppointmentsView,
    /// Book, reschedule, cancel, mark no-show.
    AppointmentsBook,
    /// Book beyond a slot's capacity (walk-in pressure), marked as overbooked.
    AppointmentsOverbook,
    /// Enter a booking in the past (back-entry).
    AppointmentsBackdate,
    /// See bills, invoices, receipts and the cash report.
    BillingView,
    /// Open bills, add and remove lines, finalize, take payments and advances, insurance.
    BillingEdit,
    /// Give a discount above 10% of a line.
    BillingDiscountHigh,
    /// Refund money, issue credit notes, cancel a finalized invoice.
    BillingRefund,
    /// The tariff (services, prices, tax rates) and what invoices print.
    TariffManage,
    /// Enrol this device with a sync server (the server address and the device's token).
    SyncManage,
    /// Open a patient's chart: visits, vitals, diagnoses, allergies, medicines, results.
    ClinicalView,
    /// Visits, diagnoses, allergies, prescriptions and lab orders.
    ClinicalEdit,
    /// Record vitals (and allergies at triage).
    VitalsEdit,
    /// See pending lab orders and enter their results.
    LabResults,
    /// The managed medicine list and the lab test catalogue.
    ClinicalCatalogManage,
    /// Back up this device's data, and restore it from a backup.
    BackupManage,
    /// Mark a patient's chart restricted (its care team only) and lift the restriction.
    ChartRestrict,
    /// Emergency ("break-glass") access: open a restricted chart, with a reason, for a while.
    BreakGlass,
    /// Open the Reports area: appointments and patients reports (a doctor: their own
    /// appointments only; revenue is a doctor's own lines without `ReportsFinance`).
    ReportsView,
    /// Revenue and collections across all doctors.
    ReportsFinance,
    /// Wards, rooms and beds: set them up, take a bed out of service and back.
    WardsManage,
    /// See the bed board, the waiting lists and admissions.
    InpatientsView,
    /// Admit a patient (to a bed or a ward's waiting list).
    InpatientsAdmit,
    /// Move an admitted patient to another bed, give a waiting patient a bed, swap two.
    InpatientsTransfer,
    /// Discharge an admitted patient.
    InpatientsDischarge,
    /// Send a bed to cleaning and mark it clean.
    BedsHousekeeping,
    /// See stock: items, balances, batches, expiry lists.
    StockView,
    /// Set up stores, suppliers and stock items; hold a batch and release it.
    StockManage,
    /// Receive goods into a store.
    StockReceive,
    /// Transfer stock between stores and adjust it (damaged, expired, count correction).
    StockMove,
    /// Dispense against prescriptions and take returns.
    StockDispense,
    /// Count a store's stock: open a stock take, enter counts, post its corrections, cancel it.
    StockCount,
    /// Say what each lab test uses of stock (a reagent, a strip per test).
    LabConsumablesManage,
    /// Draft purchase orders to suppliers, send them, cancel them.
    PurchaseOrders,
    /// Approve a drafted purchase order (when the clinic asks for approval).
    PurchaseApprove,
    /// Order for an inpatient (medicines with a schedule, lab tests, diet, nursing
    /// instructions), stop and change orders, and write the daily progress note.
    InpatientOrders,
    /// Record doses on the medication administration record (given, held, refused, missed;
    /// PRN doses) and write nursing notes.
    MarRecord,
}

impl Permission {
    pub const ALL: [Permission; 50] = [
        Permission::UsersView,
        Permission::UsersManage,
        Permission::AuditView,
        Permission::AuditVerify,
        Permission::SettingsManage,
        Permission::PatientsView,
        Permission::PatientsEdit,
        Permission::PatientsStatus,
        Permission::PatientsMerge,
        Permission::PatientsImport,
        Permission::PatientsExport,
        Permission::StaffManage,
        Permission::ScheduleManage,
        Permission::AppointmentsView,
        Permission::AppointmentsBook,
        Permission::AppointmentsOverbook,
        Permission::AppointmentsBackdate,
        Permission::BillingView,
        Permission::BillingEdit,
        Permission::BillingDiscountHigh,
        Permission::BillingRefund,
        Permission::TariffManage,
        Permission::SyncManage,
        Permission::ClinicalView,
        Permission::ClinicalEdit,
        Permission::VitalsEdit,
        Permission::LabResults,
        Permission::ClinicalCatalogManage,
        Permission::BackupManage,
        Permission::ChartRestrict,
        Permission::BreakGlass,
        Permission::ReportsView,
        Permission::ReportsFinance,
        Permission::WardsManage,
        Permission::InpatientsView,
        Permission::InpatientsAdmit,
        Permission::InpatientsTransfer,
        Permission::InpatientsDischarge,
        Permission::BedsHousekeeping,
        Permission::StockView,
        Permission::StockManage,
        Permission::StockReceive,
        Permission::StockMove,
        Permission::StockDispense,
        Permission::StockCount,
        Permission::LabConsumablesManage,
        Permission::PurchaseOrders,
        Permission::PurchaseApprove,
        Permission::InpatientOrders,
        Permission::MarRecord,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Permission::UsersView => "users_view",
            Permission::UsersManage => "users_manage",
            Permission::AuditView => "audit_view",
            Permission::AuditVerify => "audit_verify",
            Permission::SettingsManage => "settings_manage",
            Permission::PatientsView => "patients_view",
            Permission::PatientsEdit => "patients_edit",
            Permission::PatientsStatus => "patients_status",
            Permission::PatientsMerge => "patients_merge",
            Permission::PatientsImport => "patients_import",
            Permission::PatientsExport => "patients_export",
            Permission::StaffManage => "staff_manage",
            Permission::ScheduleManage => "schedule_manage",
            Permission::AppointmentsView => "appointments_view",
            Permission::AppointmentsBook => "appointments_book",
            Permission::AppointmentsOverbook => "appointments_overbook",
            Permission::AppointmentsBackdate => "appointments_backdate",
            Permission::BillingView => "billing_view",
            Permission::BillingEdit => "billing_edit",
            Permission::BillingDiscountHigh => "billing_discount_high",
            Permission::BillingRefund => "billing_refund",
            Permission::TariffManage => "tariff_manage",
            Permission::SyncManage => "sync_manage",
            Permission::ClinicalView => "clinical_view",
            Permission::ClinicalEdit => "clinical_edit",
            Permission::VitalsEdit => "vitals_edit",
            Permission::LabResults => "lab_results",
            Permission::ClinicalCatalogManage => "clinical_catalog_manage",
            Permission::BackupManage => "backup_manage",
            Permission::ChartRestrict => "chart_restrict",
            Permission::BreakGlass => "break_glass",
            Permission::ReportsView => "reports_view",
            Permission::ReportsFinance => "reports_finance",
            Permission::WardsManage => "wards_manage",
            Permission::InpatientsView => "inpatients_view",
            Permission::InpatientsAdmit => "inpatients_admit",
            Permission::InpatientsTransfer => "inpatients_transfer",
            Permission::InpatientsDischarge => "inpatients_discharge",
            Permission::BedsHousekeeping => "beds_housekeeping",
            Permission::StockView => "stock_view",
            Permission::StockManage => "stock_manage",
            Permission::StockReceive => "stock_receive",
            Permission::StockMove => "stock_move",
            Permission::StockDispense => "stock_dispense",
            Permission::StockCount => "stock_count",
            Permission::LabConsumablesManage => "lab_consumables_manage",
            Permission::PurchaseOrders => "purchase_orders",
            Permission::PurchaseApprove => "purchase_approve",
            Permission::InpatientOrders => "inpatient_orders",
            Permission::MarRecord => "mar_record",
        }
    }
}

use Role::*;

/// THE permission table: which roles hold each permission. Later areas add rows here.
const TABLE: &[(Permission, &[Role])] = &[
    (Permission::UsersView, &[Admin]),
    (Permission::UsersManage, &[Admin]),
    (Permission::AuditView, &[Admin]),
    (Permission::AuditVerify, &[Admin]),
    (Permission::SettingsManage, &[Admin]),
    // Every desk must find patients; clinical content has its own permissions (later).
    (Permission::PatientsView, &[Admin, Doctor, Nurse, Receptionist, Pharmacist, LabTechnician, Accountant]),
    (Permission::PatientsEdit, &[Admin, Receptionist, Doctor, Nurse]),
    (Permission::PatientsStatus, &[Admin, Receptionist]),
    (Permission::PatientsMerge, &[Admin, Receptionist]),
    // Bulk data in and out of the clinic: the administrator only, and reception may export
    // a search result (for a camp list, a referral batch).
    (Permission::PatientsImport, &[Admin]),
    (Permission::PatientsExport, &[Admin, Receptionist]),
    (Permission::StaffManage, &[Admin]),
    (Permission::ScheduleManage, &[Admin]),
    (Permission::AppointmentsView, &[Admin, Doctor, Nurse, Receptionist]),
    // Doctors book the follow-up they set at the end of a visit themselves.
    (Permission::AppointmentsBook, &[Admin, Receptionist, Nurse, Doctor]),
    // Overbooking and back-entry break the normal rules: only on an administrator's say.
    (Permission::AppointmentsOverbook, &[Admin]),
    (Permission::AppointmentsBackdate, &[Admin]),
    // The billing desk (reception) bills and takes money; giving money back, large
    // discounts and the tariff are the accountant's and the administrator's.
    (Permission::BillingView, &[Admin, Accountant, Receptionist]),
    (Permission::BillingEdit, &[Admin, Accountant, Receptionist]),
    (Permission::BillingDiscountHigh, &[Admin, Accountant]),
    (Permission::BillingRefund, &[Admin, Accountant]),
    (Permission::TariffManage, &[Admin, Accountant]),
    // The device's link to the clinic's server: the administrator's.
    (Permission::SyncManage, &[Admin]),
    // The clinical record: clinicians read it; reception and accounts never do. The lab
    // sees its pending orders and enters results; the catalogues are the doctors' and the
    // administrator's.
    (Permission::ClinicalView, &[Admin, Doctor, Nurse]),
    (Permission::ClinicalEdit, &[Doctor]),
    (Permission::VitalsEdit, &[Doctor, Nurse]),
    (Permission::LabResults, &[LabTechnician]),
    (Permission::ClinicalCatalogManage, &[Admin, Doctor]),
    // A backup holds every record; a restore replaces them all: the administrator's.
    (Permission::BackupManage, &[Admin]),
    // A restricted chart (a VIP, a colleague, sensitive care) opens for its care team only:
    // doctors and the administrator mark and lift it; doctors and nurses may open one in an
    // emergency with a reason (audited, reviewed by the administrator).
    (Permission::ChartRestrict, &[Admin, Doctor]),
    (Permission::BreakGlass, &[Doctor, Nurse]),
    // Reports: the figures of the clinic's money are the administrator's and the
    // accountant's; a doctor sees their own; reception sees appointments and patients.
    (Permission::ReportsView, &[Admin, Accountant, Doctor, Receptionist]),
    (Permission::ReportsFinance, &[Admin, Accountant]),
    // Inpatients: the administrator sets up wards and beds; doctors admit and discharge;
    // reception admits and moves patients between beds; nurses keep the beds (cleaning).
    // Every ward desk and clinician sees the board.
    (Permission::WardsManage, &[Admin]),
    (Permission::InpatientsView, &[Admin, Doctor, Nurse, Receptionist]),
    (Permission::InpatientsAdmit, &[Doctor, Receptionist]),
    (Permission::InpatientsTransfer, &[Doctor, Receptionist]),
    (Permission::InpatientsDischarge, &[Doctor]),
    (Permission::BedsHousekeeping, &[Nurse]),
    // Stock: the pharmacist runs the pharmacy (set-up, receiving, moves, dispensing); the lab
    // technician receives and moves the lab's consumables; the administrator sets up stores,
    // suppliers and items and sees stock.
    (Permission::StockView, &[Admin, Pharmacist, LabTechnician]),
    (Permission::StockManage, &[Admin, Pharmacist]),
    (Permission::StockReceive, &[Pharmacist, LabTechnician]),
    (Permission::StockMove, &[Pharmacist, LabTechnician]),
    (Permission::StockDispense, &[Pharmacist]),
    // A stock take: whoever moves the store's stock counts it, and the administrator too.
    (Permission::StockCount, &[Admin, Pharmacist, LabTechnician]),
    // What a lab test uses of the lab's stock: the lab technician knows it; the administrator
    // may set it up with the catalogue.
    (Permission::LabConsumablesManage, &[Admin, LabTechnician]),
    // Purchase orders: the pharmacist drafts and sends them; the administrator approves them
    // when the clinic asks for approval.
    (Permission::PurchaseOrders, &[Pharmacist]),
    (Permission::PurchaseApprove, &[Admin]),
    // The ward round: doctors order and write progress notes; nurses give the doses and
    // write the shift's notes.
    (Permission::InpatientOrders, &[Doctor]),
    (Permission::MarRecord, &[Nurse]),
];

/// Whether one role holds a permission.
pub fn role_allows(role: Role, permission: Permission) -> bool {
    TABLE.iter().any(|(p, roles)| *p == permission && roles.contains(&role))
}

/// Whether any of a user's roles holds a permission.
pub fn allows(roles: &[Role], permission: Permission) -> bool {
    roles.iter().any(|r| role_allows(*r, permission))
}

/// Every permission held through any of the roles, in table order.
pub fn permissions(roles: &[Role]) -> Vec<Permission> {
    Permission::ALL.into_iter().filter(|p| allows(roles, *p)).collect()
}
