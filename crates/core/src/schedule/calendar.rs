//! Calendar views: a doctor's week and a department's day, each day with its appointments
//! (carrying the patient's name, MRN and phone, so that a screen renders without a call per
//! row) and how many slots are still free.
//!
//! Each view reads the schedule with [`Plan::load`] (three queries for all its doctor-days)
//! and the appointments with one query along the `appointments_doctor_date` index.

use super::booking::{Appointment, AppointmentStatus};
use super::slots::{Plan, Slot};
use super::{format_minutes, json_rows, parse_date, rfc3339, Arg};
use crate::codes::Code;
use crate::error::{Error, Result};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::SqliteConnection;

/// An appointment as lists show it: with who the patient is and how to reach them, and the
/// doctor's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct AppointmentView {
    pub appointment: Appointment,
    /// Given, other and family names.
    pub patient_name: String,
    pub mrn: String,
    /// The patient's first phone number ("" when none).
    pub phone: String,
    pub doctor_name: String,
}

/// The columns of [`ViewRow`], in order, from appointments `a`, patients `p` and staff `s`.
const VIEW_COLUMNS: &str = "a.id AS id, a.patient_id AS patient_id, a.doctor_id AS doctor_id, a.date AS date, a.start_min AS start_min,
       a.end_min AS end_min, a.starts_at AS starts_at, a.ends_at AS ends_at, a.status AS status, a.overbooked AS overbooked,
       a.walk_in AS walk_in, a.token AS token, a.reason AS reason, a.cancel_reason AS cancel_reason,
       a.rescheduled_from AS rescheduled_from, a.created_at AS created_at, p.given_name AS given_name, p.other_names AS other_names,
       p.family_name AS family_name, p.mrn AS mrn, COALESCE(json_extract(p.phones, '$[0]'), '') AS phone,
       COALESCE(s.full_name, '') AS doctor_name";
const VIEW_NAMES: &str = "id, patient_id, doctor_id, date, start_min, end_min, starts_at, ends_at, status, overbooked, walk_in, token,
       reason, cancel_reason, rescheduled_from, created_at, given_name, other_names, family_name, mrn, phone, doctor_name";

/// The views of the appointments matching `filter` (a WHERE clause over `a`, `p`, `s`),
/// ordered by `order` (output column names), at most `limit`, read as one JSON text. The
/// patient's fields come from the `patients_listed` index alone (migration 0020), one page per
/// patient: SQLite's planner would take the id index and then read the row as well.
pub(crate) async fn views(
    conn: &mut SqliteConnection,
    filter: &str,
    order: &str,
    limit: u32,
    args: &[Arg<'_>],
) -> Result<Vec<AppointmentView>> {
    let sql = format!(
        "SELECT json_group_array(json_array({VIEW_NAMES}) ORDER BY {order}) FROM (
           SELECT {VIEW_COLUMNS} FROM appointments a JOIN patients p INDEXED BY patients_listed ON p.id = a.patient_id
           LEFT JOIN staff s ON s.id = a.doctor_id
           WHERE {filter} ORDER BY {order} LIMIT {limit})"
    );
    let rows: Vec<ViewRow> = json_rows(conn, &sql, args).await?;
    rows.into_iter().map(ViewRow::into_view).collect()
}

/// One row of a view, as [`views`] reads it (a JSON array in this field order).
#[derive(Deserialize)]
struct ViewRow {
    id: String,
    patient_id: String,
    doctor_id: String,
    date: String,
    start_min: i64,
    end_min: i64,
    starts_at: String,
    ends_at: String,
    status: String,
    overbooked: i64,
    walk_in: i64,
    token: Option<String>,
    reason: String,
    cancel_reason: String,
    rescheduled_from: Option<String>,
    /// Read for the order only.
    _created_at: String,
    given_name: String,
    other_names: String,
    family_name: String,
    mrn: String,
    phone: String,
    doctor_name: String,
}

impl ViewRow {
    fn into_view(self) -> Result<AppointmentView> {
        let status =
            crate::store::stored::code("appointments", &self.id, "status", &self.status, AppointmentStatus::from_code)?;
        let name = [self.given_name.as_str(), self.other_names.as_str(), self.family_name.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let minutes = |m: i64| format_minutes(u32::try_from(m).unwrap_or(0));
        Ok(AppointmentView {
            appointment: Appointment {
                id: self.id,
                patient_id: self.patient_id,
                doctor_id: self.doctor_id,
                date: self.date,
                start: minutes(self.start_min),
                end: minutes(self.end_min),
                starts_at: self.starts_at,
                ends_at: self.ends_at,
                status,
                overbooked: self.overbooked == 1,
                walk_in: self.walk_in == 1,
                token: self.token,
                reason: self.reason,
                cancel_reason: self.cancel_reason,
                rescheduled_from: self.rescheduled_from,
            },
            patient_name: name,
            mrn: self.mrn,
            phone: self.phone,
            doctor_name: self.doctor_name,
        })
    }
}

/// The views of the given appointments, by date and time.
pub(crate) async fn views_by_id(conn: &mut SqliteConnection, ids: &[String]) -> Result<Vec<AppointmentView>> {
    let ids = serde_json::to_string(ids)?;
    views(
        conn,
        "a.id IN (SELECT value FROM json_each(?))",
        "date, start_min, created_at",
        MAX_VIEW_ROWS,
        &[Arg::Text(&ids)],
    )
    .await
}

/// More appointments than any one view shows (a doctor's week is a few hundred).
pub(crate) const MAX_VIEW_ROWS: u32 = 5_000;

/// One doctor on one date: the appointments and the state of the slots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct CalendarDay {
    pub doctor_id: String,
    pub doctor_name: String,
    /// YYYY-MM-DD, clinic local.
    pub date: String,
    /// Every slot the schedule gives that day, booked or not.
    pub slots: u32,
    /// Slots still bookable: free, and not started yet.
    pub free_slots: u32,
    /// Some leave that day (the whole day or part of it).
    pub on_leave: bool,
    /// The day's appointments except cancelled ones, by time (walk-ins at their arrival).
    pub appointments: Vec<AppointmentView>,
    /// Booked appointments whose slot the schedule no longer gives (a session cancelled,
    /// leave taken after booking): reception should move or cancel them.
    pub displaced: Vec<String>,
}

/// Marks the slots that the listed appointments hold, as the unique slot index counts them.
fn hold(plan: &mut Plan, views: &[AppointmentView]) {
    for a in views.iter().map(|v| &v.appointment) {
        let holds = matches!(
            a.status,
            AppointmentStatus::Booked
                | AppointmentStatus::CheckedIn
                | AppointmentStatus::WithDoctor
                | AppointmentStatus::Done
        );
        if holds && !a.overbooked && !a.walk_in {
            let start = super::parse_minutes("start", &a.start).unwrap_or(u32::MAX);
            plan.hold(a.doctor_id.clone(), a.date.clone(), start);
        }
    }
}

fn day_of(
    plan: &Plan,
    tz: chrono_tz::Tz,
    now: &str,
    (doctor_id, doctor_name): (&str, &str),
    date: NaiveDate,
    appointments: Vec<AppointmentView>,
) -> CalendarDay {
    let slots: Vec<Slot> = plan.slots(tz, doctor_id, date);
    let displaced = appointments
        .iter()
        .map(|v| &v.appointment)
        .filter(|a| a.status == AppointmentStatus::Booked && !a.walk_in && !slots.iter().any(|s| s.start == a.start))
        .map(|a| a.id.clone())
        .collect();
    CalendarDay {
        doctor_id: doctor_id.to_string(),
        doctor_name: doctor_name.to_string(),
        date: date.format("%Y-%m-%d").to_string(),
        slots: slots.len() as u32,
        free_slots: slots.iter().filter(|s| s.free && s.starts_at.as_str() > now).count() as u32,
        on_leave: !plan.leave(doctor_id, date).is_empty(),
        appointments,
        displaced,
    }
}

/// A doctor's week: seven days from `week_start` (any date; the screen picks the clinic's
/// first day of the week).
pub async fn doctor_week(
    store: &Store,
    auth: &Authorized,
    doctor_id: &str,
    week_start: &str,
) -> Result<Vec<CalendarDay>> {
    auth.require(Permission::AppointmentsView)?;
    let first = parse_date("week_start", week_start)?;
    let last = first + chrono::Duration::days(6);
    let tz = crate::clinic::time_zone(store).await?;
    let now = rfc3339(store.now());
    let mut conn = store.pool().acquire().await?;
    let name: Option<String> =
        sqlx::query_scalar("SELECT full_name FROM staff WHERE id = ? AND role = 'doctor' AND deleted_at IS NULL")
            .bind(doctor_id)
            .fetch_optional(&mut *conn)
            .await?;
    let name = name.ok_or_else(|| Error::NotFound { entity: "doctor".into() })?;
    let (from, to) = (first.format("%Y-%m-%d").to_string(), last.format("%Y-%m-%d").to_string());
    let filter = "a.doctor_id = ? AND a.date BETWEEN ? AND ? AND a.status <> 'cancelled' AND a.deleted_at IS NULL";
    let mut views = views(
        &mut conn,
        filter,
        "date, start_min, created_at",
        MAX_VIEW_ROWS,
        &[Arg::Text(doctor_id), Arg::Text(&from), Arg::Text(&to)],
    )
    .await?;
    let mut plan = Plan::load_schedule(&mut conn, &[doctor_id.to_string()], first, last).await?;
    hold(&mut plan, &views);
    let mut days = Vec::with_capacity(7);
    for d in 0..7 {
        let date = first + chrono::Duration::days(d);
        let key = date.format("%Y-%m-%d").to_string();
        // Rows come by date: this day's are at the front.
        let rest = views.split_off(views.iter().take_while(|v| v.appointment.date == key).count());
        let today = std::mem::replace(&mut views, rest);
        days.push(day_of(&plan, tz, &now, (doctor_id, &name), date, today));
    }
    Ok(days)
}

/// A department's day: each of its active doctors, by name, with the day's appointments.
pub async fn department_day(
    store: &Store,
    auth: &Authorized,
    department_id: &str,
    date: &str,
) -> Result<Vec<CalendarDay>> {
    auth.require(Permission::AppointmentsView)?;
    let day = parse_date("date", date)?;
    let key = day.format("%Y-%m-%d").to_string();
    let tz = crate::clinic::time_zone(store).await?;
    let now = rfc3339(store.now());
    let mut conn = store.pool().acquire().await?;
    let known: bool = sqlx::query_scalar("SELECT COUNT(*) > 0 FROM departments WHERE id = ? AND deleted_at IS NULL")
        .bind(department_id)
        .fetch_one(&mut *conn)
        .await?;
    if !known {
        return Err(Error::NotFound { entity: "department".into() });
    }
    let doctors: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, full_name FROM staff WHERE department_id = ? AND role = 'doctor' AND active = 1 AND deleted_at IS NULL ORDER BY full_name",
    )
    .bind(department_id)
    .fetch_all(&mut *conn)
    .await?;
    let ids: Vec<String> = doctors.iter().map(|(id, _)| id.clone()).collect();
    let ids_json = serde_json::to_string(&ids)?;
    let filter = "a.doctor_id IN (SELECT value FROM json_each(?)) AND a.date = ? AND a.status <> 'cancelled' AND a.deleted_at IS NULL";
    let mut views =
        views(&mut conn, filter, "start_min, created_at", MAX_VIEW_ROWS, &[Arg::Text(&ids_json), Arg::Text(&key)])
            .await?;
    let mut plan = Plan::load_schedule(&mut conn, &ids, day, day).await?;
    hold(&mut plan, &views);
    let mut out = Vec::with_capacity(doctors.len());
    for (id, name) in &doctors {
        let (mine, rest): (Vec<_>, Vec<_>) = views.into_iter().partition(|v| &v.appointment.doctor_id == id);
        views = rest;
        out.push(day_of(&plan, tz, &now, (id, name), day, mine));
    }
    Ok(out)
}

/// A doctor's appointments on a date (cancelled ones too), by time, with the patients' names.
pub async fn doctor_day(store: &Store, auth: &Authorized, doctor_id: &str, date: &str) -> Result<Vec<AppointmentView>> {
    auth.require(Permission::AppointmentsView)?;
    let date = parse_date("date", date)?;
    let day = date.format("%Y-%m-%d").to_string();
    let mut conn = store.pool().acquire().await?;
    let filter = "a.doctor_id = ? AND a.date = ? AND a.deleted_at IS NULL";
    views(&mut conn, filter, "start_min, created_at", MAX_VIEW_ROWS, &[Arg::Text(doctor_id), Arg::Text(&day)]).await
}

/// A patient's appointments, newest first, with the doctors' names.
pub async fn patient_history(store: &Store, auth: &Authorized, patient_id: &str) -> Result<Vec<AppointmentView>> {
    auth.require(Permission::AppointmentsView)?;
    let mut conn = store.pool().acquire().await?;
    views(&mut conn, "a.patient_id = ? AND a.deleted_at IS NULL", "starts_at DESC", 200, &[Arg::Text(patient_id)]).await
}
