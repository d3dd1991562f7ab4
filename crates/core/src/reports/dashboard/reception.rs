//! The desk's Home: today's appointments by doctor, who has waited longest, the walk-ins.

use super::Today;
use crate::error::Result;
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use serde::Serialize;

/// One doctor's day (appointments dated today, deleted ones left out).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, specta::Type, sqlx::FromRow)]
pub struct DoctorDay {
    pub doctor_id: String,
    pub doctor_name: String,
    /// On the list: every appointment but the cancelled.
    #[specta(type = f64)]
    pub booked: i64,
    /// Checked in at the desk (waiting, with the doctor or done).
    #[specta(type = f64)]
    pub arrived: i64,
    /// Checked in, not called yet.
    #[specta(type = f64)]
    pub waiting: i64,
    #[specta(type = f64)]
    pub with_doctor: i64,
    #[specta(type = f64)]
    pub done: i64,
    #[specta(type = f64)]
    pub no_show: i64,
    #[specta(type = f64)]
    pub cancelled: i64,
    /// Walk-ins on the list (not cancelled).
    #[specta(type = f64)]
    pub walk_ins: i64,
}

/// The patient checked in the longest ago who is still waiting to be called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct LongestWait {
    /// Whole minutes since check-in.
    #[specta(type = f64)]
    pub minutes: i64,
    pub checked_in_at: String,
    pub token: Option<String>,
    pub doctor_name: String,
    pub patient_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ReceptionDashboard {
    /// By doctor name; only doctors with an appointment today.
    pub doctors: Vec<DoctorDay>,
    /// The sums over the doctors (`doctor_id` and `doctor_name` empty).
    pub totals: DoctorDay,
    pub longest_wait: Option<LongestWait>,
}

/// Needs `appointments_view`.
pub async fn reception(store: &Store, auth: &Authorized) -> Result<ReceptionDashboard> {
    auth.require(Permission::AppointmentsView)?;
    let today = Today::of(store).await?;
    let date = today.ymd();
    let doctors: Vec<DoctorDay> = sqlx::query_as(
        "SELECT a.doctor_id, st.full_name AS doctor_name,
                SUM(a.status <> 'cancelled') AS booked,
                SUM(a.status IN ('checked_in', 'with_doctor', 'done')) AS arrived,
                SUM(a.status = 'checked_in') AS waiting,
                SUM(a.status = 'with_doctor') AS with_doctor,
                SUM(a.status = 'done') AS done,
                SUM(a.status = 'no_show') AS no_show,
                SUM(a.status = 'cancelled') AS cancelled,
                SUM(a.walk_in = 1 AND a.status <> 'cancelled') AS walk_ins
         FROM appointments a JOIN staff st ON st.id = a.doctor_id
         WHERE a.date = ? AND a.deleted_at IS NULL
         GROUP BY a.doctor_id ORDER BY st.full_name, a.doctor_id",
    )
    .bind(&date)
    .fetch_all(store.report_pool())
    .await?;
    let mut totals = DoctorDay::default();
    for d in &doctors {
        totals.booked += d.booked;
        totals.arrived += d.arrived;
        totals.waiting += d.waiting;
        totals.with_doctor += d.with_doctor;
        totals.done += d.done;
        totals.no_show += d.no_show;
        totals.cancelled += d.cancelled;
        totals.walk_ins += d.walk_ins;
    }
    let first: Option<(String, Option<String>, String, String)> = sqlx::query_as(
        "SELECT a.checked_in_at, a.token, st.full_name, trim(p.given_name || ' ' || p.family_name)
         FROM appointments a JOIN staff st ON st.id = a.doctor_id JOIN patients p ON p.id = a.patient_id
         WHERE a.date = ? AND a.deleted_at IS NULL AND a.status = 'checked_in' AND a.checked_in_at IS NOT NULL
         ORDER BY a.checked_in_at LIMIT 1",
    )
    .bind(&date)
    .fetch_optional(store.report_pool())
    .await?;
    let longest_wait = first.map(|(checked_in_at, token, doctor_name, patient_name)| LongestWait {
        minutes: minutes_since(&checked_in_at, today.now),
        checked_in_at,
        token,
        doctor_name,
        patient_name,
    });
    Ok(ReceptionDashboard { doctors, totals, longest_wait })
}

/// Whole minutes from a stored instant to `now` (0 for one that does not read or is ahead).
pub(crate) fn minutes_since(instant: &str, now: chrono::DateTime<chrono::Utc>) -> i64 {
    chrono::DateTime::parse_from_rfc3339(instant)
        .map(|t| (now - t.with_timezone(&chrono::Utc)).num_minutes().max(0))
        .unwrap_or(0)
}
