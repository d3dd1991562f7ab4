//! Doctors, schedules, appointments and the day's queue.

use super::Cmd;
use crate::AppState;
use hms_core::schedule::availability::{self, DoctorSession, ExceptionInput, SessionInput};
use hms_core::schedule::booking::{self, Appointment, BookInput};
use hms_core::schedule::calendar::{self, AppointmentView, CalendarDay};
use hms_core::schedule::moves::{self, SessionCancellation};
use hms_core::schedule::queue::{self, QueueEntry};
use hms_core::schedule::slots::{self, DoctorSlot, Slot};
use hms_core::schedule::staff::{self, Named, StaffFilter, StaffInput, StaffMember};
use tauri::State;

#[tauri::command]
#[specta::specta]
pub async fn list_departments(state: State<'_, AppState>) -> Cmd<Vec<Named>> {
    staff::departments(&state.store, &authorized!(state)).await
}

#[tauri::command]
#[specta::specta]
pub async fn add_department(state: State<'_, AppState>, name: String) -> Cmd<Named> {
    staff::add_department(&state.store, &authorized!(state), &name).await
}

#[tauri::command]
#[specta::specta]
pub async fn list_specialties(state: State<'_, AppState>) -> Cmd<Vec<Named>> {
    staff::specialties(&state.store, &authorized!(state)).await
}

#[tauri::command]
#[specta::specta]
pub async fn add_specialty(state: State<'_, AppState>, name: String) -> Cmd<Named> {
    staff::add_specialty(&state.store, &authorized!(state), &name).await
}

#[tauri::command]
#[specta::specta]
pub async fn add_staff(state: State<'_, AppState>, input: StaffInput) -> Cmd<StaffMember> {
    staff::add_staff(&state.store, &authorized!(state), input).await
}

/// Every staff profile (any role), filtered (administrator).
#[tauri::command]
#[specta::specta]
pub async fn list_staff(state: State<'_, AppState>, filter: StaffFilter) -> Cmd<Vec<StaffMember>> {
    staff::list_staff(&state.store, &authorized!(state), &filter).await
}

#[tauri::command]
#[specta::specta]
pub async fn update_staff(state: State<'_, AppState>, id: String, input: StaffInput) -> Cmd<StaffMember> {
    staff::update_staff(&state.store, &authorized!(state), &id, input).await
}

#[tauri::command]
#[specta::specta]
pub async fn set_staff_active(state: State<'_, AppState>, id: String, active: bool) -> Cmd<StaffMember> {
    staff::set_staff_active(&state.store, &authorized!(state), &id, active).await
}

#[tauri::command]
#[specta::specta]
pub async fn list_doctors(state: State<'_, AppState>, specialty_id: Option<String>) -> Cmd<Vec<StaffMember>> {
    staff::doctors(&state.store, &authorized!(state), specialty_id.as_deref()).await
}

#[tauri::command]
#[specta::specta]
pub async fn set_weekly_sessions(
    state: State<'_, AppState>,
    doctor_id: String,
    sessions: Vec<SessionInput>,
) -> Cmd<Vec<DoctorSession>> {
    availability::set_weekly(&state.store, &authorized!(state), &doctor_id, sessions).await
}

#[tauri::command]
#[specta::specta]
pub async fn weekly_sessions(state: State<'_, AppState>, doctor_id: String) -> Cmd<Vec<DoctorSession>> {
    availability::weekly(&state.store, &authorized!(state), &doctor_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn add_schedule_exception(
    state: State<'_, AppState>,
    doctor_id: String,
    input: ExceptionInput,
) -> Cmd<String> {
    availability::add_exception(&state.store, &authorized!(state), &doctor_id, input).await
}

#[tauri::command]
#[specta::specta]
pub async fn free_slots(state: State<'_, AppState>, doctor_id: String, date: String) -> Cmd<Vec<Slot>> {
    slots::free_slots(&state.store, &authorized!(state), &doctor_id, &date).await
}

#[tauri::command]
#[specta::specta]
pub async fn next_free_slot(
    state: State<'_, AppState>,
    specialty_id: String,
    from: String,
    days: u32,
) -> Cmd<Option<DoctorSlot>> {
    slots::next_free_by_specialty(&state.store, &authorized!(state), &specialty_id, &from, days).await
}

#[tauri::command]
#[specta::specta]
pub async fn book_appointment(state: State<'_, AppState>, input: BookInput) -> Cmd<Appointment> {
    booking::book(&state.store, &authorized!(state), input).await
}

#[tauri::command]
#[specta::specta]
pub async fn reschedule_appointment(
    state: State<'_, AppState>,
    id: String,
    doctor_id: String,
    date: String,
    start: String,
) -> Cmd<Appointment> {
    booking::reschedule(&state.store, &authorized!(state), &id, &doctor_id, &date, &start).await
}

#[tauri::command]
#[specta::specta]
pub async fn cancel_appointment(state: State<'_, AppState>, id: String, reason: String) -> Cmd<Appointment> {
    booking::cancel(&state.store, &authorized!(state), &id, &reason).await
}

#[tauri::command]
#[specta::specta]
pub async fn mark_no_show(state: State<'_, AppState>, id: String) -> Cmd<Appointment> {
    booking::no_show(&state.store, &authorized!(state), &id).await
}

#[tauri::command]
#[specta::specta]
pub async fn doctor_day(state: State<'_, AppState>, doctor_id: String, date: String) -> Cmd<Vec<AppointmentView>> {
    calendar::doctor_day(&state.store, &authorized!(state), &doctor_id, &date).await
}

#[tauri::command]
#[specta::specta]
pub async fn patient_appointments(state: State<'_, AppState>, patient_id: String) -> Cmd<Vec<AppointmentView>> {
    calendar::patient_history(&state.store, &authorized!(state), &patient_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn check_in(state: State<'_, AppState>, appointment_id: String) -> Cmd<String> {
    queue::check_in(&state.store, &authorized!(state), &appointment_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn register_walk_in(
    state: State<'_, AppState>,
    patient_id: String,
    doctor_id: String,
    reason: String,
) -> Cmd<Appointment> {
    queue::walk_in(&state.store, &authorized!(state), &patient_id, &doctor_id, &reason).await
}

#[tauri::command]
#[specta::specta]
pub async fn call_in(state: State<'_, AppState>, appointment_id: String) -> Cmd<()> {
    queue::call_in(&state.store, &authorized!(state), &appointment_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn finish_visit(state: State<'_, AppState>, appointment_id: String) -> Cmd<()> {
    queue::finish(&state.store, &authorized!(state), &appointment_id).await
}

#[tauri::command]
#[specta::specta]
pub async fn doctor_queue(state: State<'_, AppState>, doctor_id: String, date: String) -> Cmd<Vec<QueueEntry>> {
    queue::queue(&state.store, &authorized!(state), &doctor_id, &date).await
}

/// The clinic's time zone and the zones it may be set to (Settings).
#[tauri::command]
#[specta::specta]
pub async fn clinic_time_zone(state: State<'_, AppState>) -> Cmd<hms_core::settings::ClinicTimeZone> {
    hms_core::settings::time_zone(&state.store, &authorized!(state)).await
}

#[tauri::command]
#[specta::specta]
pub async fn set_time_zone(state: State<'_, AppState>, name: String) -> Cmd<String> {
    hms_core::settings::set_time_zone(&state.store, &authorized!(state), &name).await
}

/// Seven days of a doctor's calendar from `week_start` (YYYY-MM-DD).
#[tauri::command]
#[specta::specta]
pub async fn doctor_week(state: State<'_, AppState>, doctor_id: String, week_start: String) -> Cmd<Vec<CalendarDay>> {
    calendar::doctor_week(&state.store, &authorized!(state), &doctor_id, &week_start).await
}

/// Each doctor of a department on a date.
#[tauri::command]
#[specta::specta]
pub async fn department_day(state: State<'_, AppState>, department_id: String, date: String) -> Cmd<Vec<CalendarDay>> {
    calendar::department_day(&state.store, &authorized!(state), &department_id, &date).await
}

/// Cancels one weekly session on a date; returns the patients to call.
#[tauri::command]
#[specta::specta]
pub async fn cancel_session(
    state: State<'_, AppState>,
    doctor_id: String,
    date: String,
    session_id: String,
    reason: String,
) -> Cmd<SessionCancellation> {
    moves::cancel_session(&state.store, &authorized!(state), &doctor_id, &date, &session_id, &reason).await
}

/// Moves booked appointments into the first free slots of a doctor on a date, all or none.
#[tauri::command]
#[specta::specta]
pub async fn move_appointments(
    state: State<'_, AppState>,
    appointment_ids: Vec<String>,
    to_doctor_id: String,
    to_date: String,
) -> Cmd<Vec<AppointmentView>> {
    moves::move_appointments(&state.store, &authorized!(state), &appointment_ids, &to_doctor_id, &to_date).await
}
