//! The permission table, every role × every permission, and that core functions consult it.

mod common;

use hms_core::rbac::{self, Area, Permission, Role};
use hms_core::schedule::{moves, staff};
use hms_core::settings::{self, Settings};
use hms_core::{audit, auth, users, Error, SessionSlot};

/// The specification, written out in full: which roles hold each permission.
fn expected(role: Role, p: Permission) -> bool {
    use Permission::*;
    match p {
        UsersView | UsersManage | AuditView | AuditVerify | SettingsManage | SyncManage | BackupManage => {
            role == Role::Admin
        }
        PatientsView => true,
        PatientsEdit => matches!(role, Role::Admin | Role::Receptionist | Role::Doctor | Role::Nurse),
        PatientsStatus | PatientsMerge | PatientsExport => matches!(role, Role::Admin | Role::Receptionist),
        PatientsImport | StaffManage | ScheduleManage | AppointmentsOverbook | AppointmentsBackdate => {
            role == Role::Admin
        }
        AppointmentsView => matches!(role, Role::Admin | Role::Doctor | Role::Nurse | Role::Receptionist),
        AppointmentsBook => matches!(role, Role::Admin | Role::Receptionist | Role::Nurse | Role::Doctor),
        BillingView | BillingEdit => matches!(role, Role::Admin | Role::Accountant | Role::Receptionist),
        BillingDiscountHigh | BillingRefund | TariffManage => matches!(role, Role::Admin | Role::Accountant),
        ClinicalView => matches!(role, Role::Admin | Role::Doctor | Role::Nurse),
        ClinicalEdit => role == Role::Doctor,
        VitalsEdit => matches!(role, Role::Doctor | Role::Nurse),
        LabResults => role == Role::LabTechnician,
        ClinicalCatalogManage | ChartRestrict => matches!(role, Role::Admin | Role::Doctor),
        BreakGlass => matches!(role, Role::Doctor | Role::Nurse),
        ReportsView => matches!(role, Role::Admin | Role::Accountant | Role::Doctor | Role::Receptionist),
        ReportsFinance => matches!(role, Role::Admin | Role::Accountant),
        WardsManage => role == Role::Admin,
        InpatientsView => matches!(role, Role::Admin | Role::Doctor | Role::Nurse | Role::Receptionist),
        InpatientsAdmit | InpatientsTransfer => matches!(role, Role::Doctor | Role::Receptionist),
        InpatientsDischarge => role == Role::Doctor,
        BedsHousekeeping => role == Role::Nurse,
        StockView => matches!(role, Role::Admin | Role::Pharmacist | Role::LabTechnician),
        StockManage => matches!(role, Role::Admin | Role::Pharmacist),
        StockReceive | StockMove => matches!(role, Role::Pharmacist | Role::LabTechnician),
        StockDispense => role == Role::Pharmacist,
        StockCount => matches!(role, Role::Admin | Role::Pharmacist | Role::LabTechnician),
        LabConsumablesManage => matches!(role, Role::Admin | Role::LabTechnician),
        PurchaseOrders => role == Role::Pharmacist,
        PurchaseApprove => role == Role::Admin,
        InpatientOrders => role == Role::Doctor,
        MarRecord => role == Role::Nurse,
    }
}

#[test]
fn every_role_and_every_permission_is_as_specified() {
    for role in Role::ALL {
        for p in Permission::ALL {
            assert_eq!(rbac::role_allows(role, p), expected(role, p), "{role:?} × {p:?}");
        }
    }
}

#[test]
fn a_sessions_permission_list_is_the_table_row_for_its_roles() {
    for role in Role::ALL {
        let want: Vec<Permission> = Permission::ALL.into_iter().filter(|p| expected(role, *p)).collect();
        assert_eq!(rbac::permissions(&[role]), want, "{role:?}");
    }
    let union = Permission::ALL.into_iter().filter(|p| expected(Role::Nurse, *p) || expected(Role::Admin, *p)).count();
    assert_eq!(rbac::permissions(&[Role::Nurse, Role::Admin]).len(), union, "roles combine");
    assert!(!rbac::allows(&[Role::Nurse, Role::Admin], Permission::ClinicalEdit), "diagnosing is a doctor's");
}

#[test]
fn areas_follow_permissions() {
    use Area::*;
    assert_eq!(
        rbac::areas(&[Role::Admin]),
        vec![Patients, Appointments, Clinical, Staff, Billing, Tariff, Users, Audit, Settings, Reports]
    );
    assert_eq!(rbac::areas(&[Role::Doctor]), vec![Patients, Appointments, Clinical, Reports]);
    assert_eq!(rbac::areas(&[Role::Nurse]), vec![Patients, Appointments, Clinical]);
    assert_eq!(rbac::areas(&[Role::Receptionist]), vec![Patients, Appointments, Billing, Reports]);
    assert_eq!(rbac::areas(&[Role::Accountant]), vec![Patients, Billing, Tariff, Reports]);
    for role in [Role::Pharmacist, Role::LabTechnician] {
        assert_eq!(rbac::areas(&[role]), vec![Patients, Reports], "{role:?}: the stock reports");
    }
    assert_eq!(rbac::areas(&[Role::Doctor, Role::Admin]).len(), 10, "roles combine");
}

#[test]
fn role_codes_round_trip() {
    for role in Role::ALL {
        assert_eq!(Role::from_code(role.code()), Some(role));
        assert_eq!(serde_json::to_value(role).unwrap(), role.code());
    }
    assert_eq!(Role::from_code("janitor"), None);
}

/// Each core function refuses a signed-in user whose roles lack its permission, and the
/// error names the permission.
#[tokio::test]
async fn core_functions_consult_the_table_for_every_non_admin_role() {
    let (env, admin) = common::with_admin().await;
    let admin_id = admin.get().unwrap().user_id;
    for role in Role::ALL.into_iter().filter(|r| *r != Role::Admin) {
        let name = format!("u.{}", role.code()).replace('_', "-");
        common::add_user(&env.store, &admin, &name, &[role.code()]).await;
        let slot = SessionSlot::default();
        auth::sign_in(&env.store, &slot, &name, common::STAFF_PW).await.unwrap();
        let a = slot.authorize(&env.store).await.unwrap();
        let forbidden = |r: Result<(), Error>, p: Permission| {
            assert_eq!(r.unwrap_err(), Error::Forbidden { permission: p.code().into() }, "{role:?}");
        };
        let before = common::counts(&env.store).await;
        forbidden(users::list(&env.store, &a).await.map(drop), Permission::UsersView);
        forbidden(
            users::create(
                &env.store,
                &a,
                users::NewUser {
                    username: "x.y".into(),
                    full_name: "X".into(),
                    password: common::STAFF_PW.into(),
                    roles: vec!["nurse".into()],
                },
            )
            .await
            .map(drop),
            Permission::UsersManage,
        );
        forbidden(users::set_active(&env.store, &a, &admin_id, false).await.map(drop), Permission::UsersManage);
        forbidden(users::reset_password(&env.store, &a, &admin_id, "Other#pass2026").await, Permission::UsersManage);
        forbidden(users::unlock(&env.store, &a, &admin_id).await.map(drop), Permission::UsersManage);
        forbidden(
            audit::list(&env.store, &a, &audit::AuditFilter { limit: 10, ..Default::default() }).await.map(drop),
            Permission::AuditView,
        );
        forbidden(audit::verify(&env.store, &a).await.map(drop), Permission::AuditVerify);
        forbidden(settings::get(&env.store, &a).await.map(drop), Permission::SettingsManage);
        forbidden(
            settings::update(
                &env.store,
                &a,
                Settings { idle_timeout_minutes: 30, clinic_name: "Sunrise Clinic".into() },
            )
            .await
            .map(drop),
            Permission::SettingsManage,
        );
        forbidden(
            staff::list_staff(&env.store, &a, &staff::StaffFilter::default()).await.map(drop),
            Permission::StaffManage,
        );
        forbidden(
            staff::update_staff(&env.store, &a, "any", staff::StaffInput::default()).await.map(drop),
            Permission::StaffManage,
        );
        forbidden(staff::set_staff_active(&env.store, &a, "any", false).await.map(drop), Permission::StaffManage);
        forbidden(
            moves::cancel_session(&env.store, &a, "any", "2026-11-23", "any", "ill").await.map(drop),
            Permission::ScheduleManage,
        );
        assert_eq!(common::counts(&env.store).await, before, "nothing written by refused calls");
    }
}
