//! A doctor's Home: my patients today, my queue, lab results back for me, follow-ups due.

use super::reception::minutes_since;
use super::{Today, FOLLOW_UP_OVERDUE_DAYS, RESULTS_BACK_DAYS, TILE_LIST_MAX};
use crate::error::{Error, Result};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use chrono::Days;
use serde::Serialize;

/// A patient on my list today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type, sqlx::FromRow)]
pub struct QueuePatient {
    pub appointment_id: String,
    pub patient_id: String,
    pub patient_name: String,
    pub mrn: String,
    pub token: Option<String>,
    pub checked_in_at: Option<String>,
    /// Whole minutes since check-in.
    #[specta(type = f64)]
    #[sqlx(default)]
    pub waiting_minutes: i64,
}

/// A result of a lab order I placed, back in the last `RESULTS_BACK_DAYS` days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type, sqlx::FromRow)]
pub struct LabResultBack {
    pub result_id: String,
    pub order_id: String,
    pub patient_id: String,
    pub patient_name: String,
    pub test_name: String,
    pub value: String,
    pub unit: String,
    /// normal | low | high | unknown
    pub abnormal: String,
    pub resulted_at: String,
}

/// A visit of mine whose follow-up date is today or up to `FOLLOW_UP_OVERDUE_DAYS` days ago.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type, sqlx::FromRow)]
pub struct FollowUp {
    pub visit_id: String,
    pub patient_id: String,
    pub patient_name: String,
    pub mrn: String,
    /// YYYY-MM-DD
    pub follow_up_date: String,
    /// The patient has an appointment (any doctor, not cancelled or missed) on or after it.
    pub booked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct DoctorDashboard {
    pub doctor_id: String,
    pub doctor_name: String,
    /// Distinct patients on my list today (cancelled and no-shows left out).
    #[specta(type = f64)]
    pub patients_today: i64,
    /// Of my appointments today: done.
    #[specta(type = f64)]
    pub seen_today: i64,
    /// Still booked, not arrived yet.
    #[specta(type = f64)]
    pub to_come: i64,
    /// Waiting for me (checked in, not called), longest first; `queue_count` is all of them.
    pub queue: Vec<QueuePatient>,
    #[specta(type = f64)]
    pub queue_count: i64,
    /// With me now (called in, not done).
    pub with_me: Vec<QueuePatient>,
    /// Newest first; `results_count` and `results_abnormal` count all of them.
    pub results: Vec<LabResultBack>,
    #[specta(type = f64)]
    pub results_count: i64,
    #[specta(type = f64)]
    pub results_abnormal: i64,
    /// Oldest first; `follow_ups_count` and `follow_ups_unbooked` count all of them.
    pub follow_ups: Vec<FollowUp>,
    #[specta(type = f64)]
    pub follow_ups_count: i64,
    #[specta(type = f64)]
    pub follow_ups_unbooked: i64,
}

/// The signed-in user's doctor profile: (staff id, name).
pub(crate) async fn my_staff_id(store: &Store, auth: &Authorized) -> Result<Option<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT id, full_name FROM staff WHERE user_id = ? AND role = 'doctor' AND deleted_at IS NULL ORDER BY id LIMIT 1",
    )
    .bind(&auth.user_id)
    .fetch_optional(store.report_pool())
    .await?)
}

fn day_before(today: &Today, days: u32) -> String {
    today.date.checked_sub_days(Days::new(u64::from(days))).unwrap_or(today.date).format("%Y-%m-%d").to_string()
}

/// Needs `clinical_view` and a doctor's staff profile (`not_found` `doctor_profile` otherwise).
pub async fn doctor(store: &Store, auth: &Authorized) -> Result<DoctorDashboard> {
    auth.require(Permission::ClinicalView)?;
    let (me, name) =
        my_staff_id(store, auth).await?.ok_or_else(|| Error::NotFound { entity: "doctor_profile".into() })?;
    let today = Today::of(store).await?;
    let date = today.ymd();
    let (patients_today, seen_today, to_come): (i64, Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(DISTINCT CASE WHEN status NOT IN ('cancelled', 'no_show') THEN patient_id END),
                SUM(status = 'done'), SUM(status = 'booked')
         FROM appointments WHERE doctor_id = ? AND date = ? AND deleted_at IS NULL",
    )
    .bind(&me)
    .bind(&date)
    .fetch_one(store.report_pool())
    .await?;
    let list = |status: &'static str| {
        let (me, date) = (me.clone(), date.clone());
        async move {
            let mut rows: Vec<QueuePatient> = sqlx::query_as(
                "SELECT a.id AS appointment_id, a.patient_id, trim(p.given_name || ' ' || p.family_name) AS patient_name,
                        p.mrn, a.token, a.checked_in_at
                 FROM appointments a JOIN patients p ON p.id = a.patient_id
                 WHERE a.doctor_id = ? AND a.date = ? AND a.deleted_at IS NULL AND a.status = ?
                 ORDER BY a.checked_in_at, a.start_min",
            )
            .bind(&me)
            .bind(&date)
            .bind(status)
            .fetch_all(store.report_pool())
            .await?;
            for r in &mut rows {
                r.waiting_minutes = r.checked_in_at.as_deref().map(|t| minutes_since(t, today.now)).unwrap_or(0);
            }
            Ok::<_, Error>(rows)
        }
    };
    let mut queue = list("checked_in").await?;
    let queue_count = queue.len() as i64;
    queue.truncate(TILE_LIST_MAX as usize);
    let with_me = list("with_doctor").await?;
    let (results, results_count, results_abnormal) = results(store, auth, &today).await?;
    let (follow_ups, follow_ups_count, follow_ups_unbooked) = follow_ups(store, &me, &today).await?;
    Ok(DoctorDashboard {
        doctor_id: me,
        doctor_name: name,
        patients_today,
        seen_today: seen_today.unwrap_or(0),
        to_come: to_come.unwrap_or(0),
        queue,
        queue_count,
        with_me,
        results,
        results_count,
        results_abnormal,
        follow_ups,
        follow_ups_count,
        follow_ups_unbooked,
    })
}

/// Results of orders the user placed, resulted from the start of the day `RESULTS_BACK_DAYS`
/// ago (clinic time): the user's range of `lab_results_by_orderer` (migration 0060), which holds
/// the results of resulted, not deleted orders by orderer — not the whole clinic's week.
async fn results(store: &Store, auth: &Authorized, today: &Today) -> Result<(Vec<LabResultBack>, i64, i64)> {
    let from_day = today.date.checked_sub_days(Days::new(u64::from(RESULTS_BACK_DAYS))).unwrap_or(today.date);
    let since = today.range(from_day).start_of(from_day)?;
    let mut rows: Vec<LabResultBack> = sqlx::query_as(
        "SELECT r.id AS result_id, o.id AS order_id, o.patient_id, trim(p.given_name || ' ' || p.family_name) AS patient_name,
                t.name AS test_name, r.value, r.unit, r.abnormal, r.resulted_at
         FROM lab_results_by_orderer x
         CROSS JOIN lab_results r ON r.id = x.result_id
         JOIN lab_orders o ON o.id = r.order_id
         JOIN patients p ON p.id = o.patient_id
         JOIN lab_tests t ON t.id = r.test_id
         WHERE x.ordered_by = ? AND x.resulted_at >= ?
         ORDER BY x.resulted_at DESC, x.result_id",
    )
    .bind(&auth.user_id)
    .bind(&since)
    .fetch_all(store.report_pool())
    .await?;
    let count = rows.len() as i64;
    let abnormal = rows.iter().filter(|r| r.abnormal == "low" || r.abnormal == "high").count() as i64;
    rows.truncate(TILE_LIST_MAX as usize);
    Ok((rows, count, abnormal))
}

async fn follow_ups(store: &Store, me: &str, today: &Today) -> Result<(Vec<FollowUp>, i64, i64)> {
    let mut rows: Vec<FollowUp> = sqlx::query_as(
        "SELECT v.id AS visit_id, v.patient_id, trim(p.given_name || ' ' || p.family_name) AS patient_name, p.mrn,
                v.follow_up_date,
                EXISTS (SELECT 1 FROM appointments a WHERE a.patient_id = v.patient_id AND a.date >= v.follow_up_date
                        AND a.deleted_at IS NULL AND a.status NOT IN ('cancelled', 'no_show')) AS booked
         FROM visits v INDEXED BY visits_follow_up JOIN patients p ON p.id = v.patient_id
         WHERE v.doctor_id = ? AND v.follow_up_date >= ? AND v.follow_up_date <= ? AND v.deleted_at IS NULL
         ORDER BY v.follow_up_date, v.id",
    )
    .bind(me)
    .bind(day_before(today, FOLLOW_UP_OVERDUE_DAYS))
    .bind(today.ymd())
    .fetch_all(store.report_pool())
    .await?;
    let count = rows.len() as i64;
    let unbooked = rows.iter().filter(|f| !f.booked).count() as i64;
    rows.truncate(TILE_LIST_MAX as usize);
    Ok((rows, count, unbooked))
}
