//! Home's dashboards: one per role, each a few typed tiles read at once (summary tables where
//! they hold the figure, indexed reads of today's records otherwise), each tile naming the
//! report behind it. `home` gives the signed-in user every dashboard their permissions open:
//!
//! - administrator / accountant (`reports_finance`): [`admin`] — money today and this month,
//!   receivables, open insurance claims, new and returning patients today, appointments kept
//!   and missed;
//! - the desk (`appointments_view` without `clinical_view`: reception): [`reception`] —
//!   today's appointments by doctor, the longest wait now, walk-ins;
//! - a doctor (a doctor's staff profile and `clinical_view`): [`doctor`] — my patients today,
//!   my queue, my lab results back, follow-ups due;
//! - wards (`inpatients_view` with `clinical_view` or as a nurse): [`nurse`] — occupancy per ward;
//! - stock (`stock_manage`: the pharmacist and the administrator): [`crate::stock::alerts`] —
//!   items below their reorder level, batches expired or expiring within 30/60/90 days.
//!
//! The backup and sync tiles are the UI's own (their statuses exist as commands).

pub mod admin;
pub mod doctor;
pub mod nurse;
pub mod reception;

use crate::error::Result;
use crate::rbac::{Permission, Role};
use crate::session::Authorized;
use crate::store::Store;
use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Serialize;

pub use admin::{admin, AdminDashboard, Attendance, Claims, ModeMoney, MoneyPeriod, NewReturning, Receivables};
pub use doctor::{doctor, DoctorDashboard, FollowUp, LabResultBack, QueuePatient};
pub use nurse::{nurse, NurseDashboard, WardOccupancy};
pub use reception::{reception, DoctorDay, LongestWait, ReceptionDashboard};

/// How long ago a lab result may have come back to count as "back" on a doctor's Home (the lab
/// has no "seen by the doctor" mark yet: the last week's).
pub const RESULTS_BACK_DAYS: u32 = 7;
/// How far back a follow-up date still counts as due (overdue) on a doctor's Home.
pub const FOLLOW_UP_OVERDUE_DAYS: u32 = 7;
/// How often Home reads its dashboards again by itself (and after the user's own writes).
pub const REFRESH_SECONDS: u32 = 60;
/// Most rows a list tile (queue, results, follow-ups) carries; its count is always whole.
pub const TILE_LIST_MAX: u32 = 20;

/// The dashboards the signed-in user's roles open, for one clinic day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Dashboard {
    /// The clinic's today, YYYY-MM-DD.
    pub today: String,
    /// The 1st of this month, YYYY-MM-DD (this month's tiles run from it to today).
    pub month_from: String,
    pub currency: String,
    /// When the figures were read (UTC, RFC 3339).
    pub read_at: String,
    pub admin: Option<AdminDashboard>,
    pub reception: Option<ReceptionDashboard>,
    pub doctor: Option<DoctorDashboard>,
    pub nurse: Option<NurseDashboard>,
    pub stock: Option<crate::stock::alerts::StockAlerts>,
}

/// The clinic's calendar now: its zone, today and now.
#[derive(Debug, Clone)]
pub(crate) struct Today {
    pub tz: Tz,
    pub date: NaiveDate,
    pub now: chrono::DateTime<chrono::Utc>,
}

impl Today {
    pub async fn of(store: &Store) -> Result<Today> {
        let tz = crate::clinic::time_zone(store).await?;
        let now = store.now();
        Ok(Today { tz, date: now.with_timezone(&tz).date_naive(), now })
    }

    pub fn ymd(&self) -> String {
        self.date.format("%Y-%m-%d").to_string()
    }

    pub fn range(&self, from: NaiveDate) -> super::DateRange {
        super::DateRange { from, to: self.date, tz: self.tz }
    }

    pub fn month_start(&self) -> NaiveDate {
        chrono::Datelike::with_day(&self.date, 1).unwrap_or(self.date)
    }
}

/// Whether the user works the desk: sees the day's appointments without the clinical record.
fn is_desk(auth: &Authorized) -> bool {
    auth.require(Permission::AppointmentsView).is_ok() && auth.roles.contains(&Role::Receptionist)
}

fn is_ward(auth: &Authorized) -> bool {
    auth.require(Permission::InpatientsView).is_ok() && auth.roles.contains(&Role::Nurse)
}

/// Every dashboard the user's roles open (none is an empty Home, not an error).
pub async fn home(store: &Store, auth: &Authorized) -> Result<Dashboard> {
    let today = Today::of(store).await?;
    let admin =
        if auth.require(Permission::ReportsFinance).is_ok() { Some(admin::admin(store, auth).await?) } else { None };
    let reception = if is_desk(auth) { Some(reception::reception(store, auth).await?) } else { None };
    let doctor = if auth.roles.contains(&Role::Doctor) && auth.require(Permission::ClinicalView).is_ok() {
        match doctor::my_staff_id(store, auth).await? {
            Some(_) => Some(doctor::doctor(store, auth).await?),
            None => None,
        }
    } else {
        None
    };
    let nurse = if is_ward(auth) { Some(nurse::nurse(store, auth).await?) } else { None };
    // Who keeps the stock (and reorders it) is warned; the lab technician sees the lists only.
    let stock = if auth.require(Permission::StockManage).is_ok() {
        Some(crate::stock::alerts::alerts(store, auth).await?)
    } else {
        None
    };
    Ok(Dashboard {
        today: today.ymd(),
        month_from: today.month_start().format("%Y-%m-%d").to_string(),
        currency: crate::billing::read_settings(store).await?.currency,
        read_at: today.now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        admin,
        reception,
        doctor,
        nurse,
        stock,
    })
}
