//! The Tauri shell of HMS: app state, the thin commands, and the window. All hospital logic
//! is in `hms-core`; a command takes the session from state, calls one core function and
//! returns its typed result.

mod commands;
mod files;
mod start;
mod state;

pub use start::{StartStatus, Starting};
pub use state::AppState;

use std::path::PathBuf;
use tauri::{Manager, Runtime};

/// Every command the UI may call, with their TypeScript types (tauri-specta).
pub fn specta_builder<R: Runtime>() -> tauri_specta::Builder<R> {
    use commands::*;
    // The limits the core enforces that the UI shows, as constants in bindings.ts.
    let builder = hms_core::limits::exported()
        .into_iter()
        .fold(tauri_specta::Builder::<R>::new(), |b, (name, value)| b.constant(name, value));
    builder.commands(tauri_specta::collect_commands![
        start::start_status,
        session::app_status,
        session::setup_first_admin,
        session::load_demo,
        session::time_zone_choices,
        session::sign_in,
        session::sign_out,
        session::lock_session,
        session::unlock_session,
        session::heartbeat,
        users::list_users,
        users::create_user,
        users::update_user,
        users::set_user_active,
        users::reset_password,
        users::unlock_user,
        users::change_own_password,
        audit::list_audit,
        audit::audit_actions,
        audit::verify_audit,
        settings::get_settings,
        settings::update_settings,
        settings::clinic_formats,
        settings::set_clinic_formats,
        patients::search_patients,
        patients::find_duplicates,
        patients::register_patient,
        patients::open_patient,
        patients::patient_merges,
        patients::update_patient,
        patients::set_patient_status,
        patients::merge_patients,
        patients::print_id_card,
        patients::preview_patient_import,
        patients::import_patients,
        patients::export_patients,
        schedule::list_departments,
        schedule::add_department,
        schedule::list_specialties,
        schedule::add_specialty,
        schedule::add_staff,
        schedule::list_staff,
        schedule::update_staff,
        schedule::set_staff_active,
        schedule::list_doctors,
        schedule::set_weekly_sessions,
        schedule::weekly_sessions,
        schedule::add_schedule_exception,
        schedule::free_slots,
        schedule::next_free_slot,
        schedule::book_appointment,
        schedule::reschedule_appointment,
        schedule::cancel_appointment,
        schedule::mark_no_show,
        schedule::doctor_day,
        schedule::doctor_week,
        schedule::department_day,
        schedule::cancel_session,
        schedule::move_appointments,
        schedule::patient_appointments,
        schedule::check_in,
        schedule::register_walk_in,
        schedule::call_in,
        schedule::finish_visit,
        schedule::doctor_queue,
        schedule::set_time_zone,
        schedule::clinic_time_zone,
        billing::list_services,
        billing::add_service,
        billing::set_service_price,
        billing::set_service_active,
        billing::get_billing_settings,
        billing::update_billing_settings,
        billing::set_clinic_logo,
        billing::open_bill,
        billing::get_bill,
        billing::patient_bills,
        billing::recent_bills,
        billing::add_bill_line,
        billing::preview_bill_line,
        billing::remove_bill_line,
        billing::finalize_bill,
        billing::cancel_bill,
        billing::take_payment,
        billing::take_advance,
        billing::refund_payment,
        billing::issue_credit_note,
        billing::set_bill_insurance,
        billing::settle_insurance,
        billing::daily_cash_report,
        billing::print_invoice,
        billing::print_receipt,
        clinical::chart_summary,
        clinical::patient_visits,
        clinical::get_visit,
        clinical::start_visit,
        clinical::update_visit,
        clinical::close_visit,
        clinical::save_consultation,
        clinical::record_vitals,
        clinical::vitals_history,
        clinical::search_icd10,
        clinical::add_diagnosis,
        clinical::resolve_diagnosis,
        clinical::add_allergy,
        clinical::search_allergens,
        clinical::patient_allergies,
        clinical::chart_access,
        clinical::restrict_chart,
        clinical::lift_chart_restriction,
        clinical::break_glass,
        clinical::break_glass_pending,
        clinical::break_glass_review,
        clinical::list_medicines,
        clinical::add_medicine,
        clinical::medicine_catalogue,
        clinical::update_medicine,
        clinical::set_medicine_active,
        clinical::load_starter_formulary,
        clinical::medicine_name_ingredients,
        clinical::prescribe,
        clinical::visit_prescriptions,
        clinical::update_prescription,
        clinical::stop_prescription,
        clinical::list_lab_tests,
        clinical::lab_test_prices,
        clinical::lab_order_ranges,
        clinical::add_lab_test,
        clinical::update_lab_test,
        clinical::set_lab_test_active,
        clinical::order_lab_tests,
        clinical::pending_lab_orders,
        clinical::collect_lab_sample,
        clinical::cancel_lab_order,
        clinical::enter_lab_result,
        sync::sync_status,
        sync::enrol_device,
        sync::connect_again,
        sync::sync_now,
        sync::list_sync_conflicts,
        sync::resolve_sync_conflict,
        backup::backup_status,
        backup::backup_settings_set,
        backup::backup_now,
        backup::backup_verify,
        backup::backup_inspect,
        backup::backup_recovery_key,
        backup::backup_recovery_sheet,
        backup::backup_needs_recovery_key,
        backup::backup_open_with_recovery_key,
        backup::backup_restore,
        backup::restore_outcome,
        clinical::add_attachment,
        clinical::patient_attachments,
        clinical::open_attachment,
        clinical::print_prescription,
        clinical::print_lab_report,
        clinical::print_visit_summary,
        printouts::printouts,
        printouts::open_printout,
        printouts::print_again,
        inpatients::list_wards,
        inpatients::add_ward,
        inpatients::update_ward,
        inpatients::list_rooms,
        inpatients::add_room,
        inpatients::rename_room,
        inpatients::reserve_bed,
        inpatients::cancel_bed_reservation,
        inpatients::list_beds,
        inpatients::add_bed,
        inpatients::update_bed,
        inpatients::bed_out_of_service,
        inpatients::bed_back_in_service,
        inpatients::bed_to_cleaning,
        inpatients::bed_cleaned,
        inpatients::bed_board,
        inpatients::ward_settings,
        inpatients::set_reception_moves,
        inpatients::admit_patient,
        inpatients::patient_admissions,
        inpatients::transfer_patient,
        inpatients::swap_beds,
        inpatients::discharge_patient,
        inpatients::run_bed_census,
        stock::stock_stores,
        stock::add_stock_store,
        stock::suppliers,
        stock::add_supplier,
        stock::add_stock_item,
        stock::update_stock_item,
        stock::search_stock_items,
        stock::set_batch_hold,
        stock::receive_stock,
        stock::transfer_stock,
        stock::adjust_stock,
        stock::prescriptions_waiting,
        stock::dispense,
        stock::return_dispensed,
        stock::item_balances,
        stock::negative_batches,
        stock::expiry_report,
        stock::stock_allows_negative,
        stock::set_stock_allow_negative,
        stock::propose_dispense,
        stock::patient_dispensed,
        stock::print_dispensing_labels,
        stock::stock_medicine_options,
        stocktake::stock_takes,
        stocktake::stock_take,
        stocktake::open_stock_take,
        stocktake::count_stock_take,
        stocktake::add_stock_take_line,
        stocktake::post_stock_take,
        stocktake::cancel_stock_take,
        stocktake::print_stock_take_sheet,
        stock_lab::lab_test_consumables,
        stock_lab::set_lab_test_consumables,
        stock_lab::lab_use_shortfalls,
        purchase_orders::purchase_orders,
        purchase_orders::draft_purchase_order,
        purchase_orders::draft_suggested_purchase_orders,
        purchase_orders::edit_purchase_order,
        purchase_orders::approve_purchase_order,
        purchase_orders::send_purchase_order,
        purchase_orders::cancel_purchase_order,
        purchase_orders::receive_purchase_order,
        purchase_orders::print_purchase_order,
        purchase_orders::purchase_approval_required,
        purchase_orders::set_purchase_approval_required,
        inpatients::inpatient_orders,
        inpatients::order_for_inpatient,
        inpatients::stop_inpatient_order,
        inpatients::change_inpatient_order,
        inpatients::admission_mar,
        inpatients::record_dose,
        inpatients::ward_due_list,
        inpatients::inpatient_notes,
        inpatients::add_inpatient_note,
        inpatients::discharge_summary,
        inpatients::save_discharge_summary,
        inpatients::finalise_discharge_summary,
        inpatients::print_discharge_summary,
        ward_ops::record_intake_output,
        ward_ops::intake_output_chart,
        ward_ops::ward_handover,
        ward_ops::admit_draft_from_visit,
        ward_ops::admit_draft_from_appointment,
        fhir::export_patient_fhir,
        fhir::export_clinic_fhir,
        fhir::preview_fhir_import,
        fhir::import_fhir,
        printouts::exports_folder,
        printouts::open_exports_folder,
        reports::report_choices,
        reports::run_report,
        reports::export_report,
        reports::dashboard_home,
    ])
}

/// Where the database lives: `HMS_DATA_DIR` if set (tests, portable installs), else the
/// platform's app-data directory (e.g. ~/.local/share/org.hms.clinic on Linux).
fn data_dir<R: Runtime>(app: &tauri::App<R>) -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("HMS_DATA_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    app.path().app_data_dir().map_err(|e| format!("no app data directory: {e}"))
}

/// `HMS_EXPORTS_DIR` if set (tests, kiosks), else Downloads/HMS, or `exports` in the data
/// directory where there is no Downloads folder (Android).
fn exports_dir<R: Runtime>(app: &tauri::App<R>, data_dir: &std::path::Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("HMS_EXPORTS_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    app.path().download_dir().map(|d| d.join("HMS")).unwrap_or_else(|_| data_dir.join("exports"))
}

/// Registers the commands and opens the store: from a given directory at once (tests), or
/// on start, in the background behind the start screen ([`start_store`]), from
/// `HMS_DATA_DIR` or the platform's app-data directory.
pub fn configure<R: Runtime>(
    builder: tauri::Builder<R>,
    fixed_data_dir: Option<PathBuf>,
) -> Result<tauri::Builder<R>, String> {
    let specta = specta_builder::<R>();
    let builder = builder.invoke_handler(specta.invoke_handler());
    if let Some(dir) = fixed_data_dir {
        log_to(&dir);
        let exports = dir.join("exports");
        let state = tauri::async_runtime::block_on(AppState::open(&dir, exports)).map_err(|e| e.to_string())?;
        return Ok(builder.manage(state).manage(Starting::new(StartStatus::Ready { encrypted: None })));
    }
    Ok(builder
        .setup(move |app| {
            specta.mount_events(app);
            let dir = data_dir(app)?;
            log_to(&dir);
            let exports = exports_dir(app, &dir);
            // The window shows at once; the store opens behind the start screen (a database
            // from before encryption at rest takes a while: it is encrypted first).
            app.manage(Starting::new(StartStatus::Opening));
            let handle = app.handle().clone();
            let (again_dir, again_exports) = (dir.clone(), exports.clone());
            app.state::<Starting>()
                .on_retry(Box::new(move || start_store(handle.clone(), again_dir.clone(), again_exports.clone())));
            start_store(app.handle().clone(), dir, exports);
            Ok(())
        })
        .on_window_event(back_up_on_close))
}

/// Opens the store in `dir` in the background, telling the start screen where it is
/// ([`Starting`]): a clear database from before encryption at rest is encrypted first, with
/// its progress; then the store is kept in the app's state and the background work starts.
/// A failure is the start screen's typed error (a clear database is left as it was).
fn start_store<R: Runtime>(app: tauri::AppHandle<R>, dir: PathBuf, exports: PathBuf) {
    tauri::async_runtime::spawn(async move {
        let starting = app.state::<Starting>();
        let last = std::sync::Mutex::new(None);
        let report = |p| {
            if let Ok(mut last) = last.lock() {
                *last = Some(p);
            }
            starting.set(StartStatus::Encrypting { progress: Some(p) });
        };
        match open_store(&dir, exports, &report).await {
            Ok(state) => {
                opened(&app, state);
                let encrypted = last.lock().ok().and_then(|l| *l);
                starting.set(StartStatus::Ready { encrypted });
            }
            Err(e) => {
                tracing::error!(target: "hms::storage", code = e.code(), error = %e, "the start failed");
                starting.set(StartStatus::Failed { error: e });
            }
        }
    });
}

/// The clear database in `dir`, if there is one, encrypted (`progress`), then the store open.
async fn open_store(
    dir: &std::path::Path,
    exports: PathBuf,
    progress: &(dyn Fn(hms_core::store::encrypt::EncryptProgress) + Sync),
) -> Result<AppState, hms_core::Error> {
    let db = dir.join(hms_core::store::DB_FILE);
    hms_core::store::encrypt::encrypt_clear_database(&db, progress).await?;
    AppState::open(dir, exports).await
}

/// The store open: kept in the app's state, and the background work started.
fn opened<R: Runtime>(app: &tauri::AppHandle<R>, state: AppState) {
    app.manage(state);
    let handle = app.clone();
    let _ = app.state::<AppState>().restart.set(Box::new(move || restart_soon(handle.clone())));
    start_background_sync(app.clone());
    start_daily_backups(app.clone());
    build_report_summaries(app.clone());
}

/// How often the app checks that the morbidity summary is built for the clinic's time zone.
const SUMMARY_CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// The morbidity summary built for the clinic's time zone when it is not (after an upgrade that
/// added it, a restore, or the zone changed here or on another device), a few hundred people
/// per write so that the clinic's writes go on between them; until it is, the morbidity
/// reports read the visits (the same figures, more slowly). Logged, not shown.
fn build_report_summaries<R: Runtime>(app: tauri::AppHandle<R>) {
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        loop {
            if let Err(e) = hms_core::reports::morbidity_summary::ensure(&state.store).await {
                tracing::warn!(target: "hms::reports", code = e.code(), error = %e, "building the morbidity summary");
            }
            tokio::time::sleep(SUMMARY_CHECK_EVERY).await;
        }
    });
}

/// How often the app asks the core whether the daily backup is due.
const BACKUP_CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(60);
/// The longest a backup may hold the window open on close; the window closes after it,
/// whether the backup finished or not (a cut-off backup is never counted: it is written
/// under a temporary name).
const CLOSE_BACKUP_LIMIT: std::time::Duration = std::time::Duration::from_secs(300);

/// The daily backup at the time set on the Backups screen, while the app is open: the core
/// decides when it is due (`backup::due`); this only asks every minute. Logged, not shown.
fn start_daily_backups<R: Runtime>(app: tauri::AppHandle<R>) {
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        loop {
            tokio::time::sleep(BACKUP_CHECK_EVERY).await;
            run_automatic_backup(&state.store, hms_core::backup::Automatic::Daily).await;
        }
    });
}

async fn run_automatic_backup(store: &hms_core::Store, why: hms_core::backup::Automatic) {
    match hms_core::backup::automatic(store, why, &|_| {}).await {
        Ok(Some(report)) => {
            tracing::info!(target: "hms::backup", ?why, path = %report.path, "automatic backup written")
        }
        Ok(None) => {}
        // The failure is recorded for the Backups screen and the Home tile by the core.
        Err(e) => tracing::warn!(target: "hms::backup", ?why, code = e.code(), error = %e, "automatic backup failed"),
    }
}

/// Closing the main window when the last good backup is older than a day (or there is none):
/// the window stays open (its title says why) for the backup, at most [`CLOSE_BACKUP_LIMIT`],
/// and then closes. Further close requests meanwhile are held; the close is never lost.
fn back_up_on_close<R: Runtime>(window: &tauri::Window<R>, event: &tauri::WindowEvent) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static STARTED: AtomicBool = AtomicBool::new(false);
    let tauri::WindowEvent::CloseRequested { api, .. } = event else { return };
    let Some(state) = window.try_state::<AppState>() else { return };
    if STARTED.swap(true, Ordering::SeqCst) {
        // The backup before closing is running: it closes the window when it ends.
        api.prevent_close();
        return;
    }
    let due = tauri::async_runtime::block_on(hms_core::backup::due(&state.store));
    let needs_setup = tauri::async_runtime::block_on(hms_core::setup::needs_setup(&state.store)).unwrap_or(true);
    if needs_setup || !due.is_ok_and(|d| d.on_close) {
        return;
    }
    api.prevent_close();
    let _ = window.set_title("HMS — backing up before closing…");
    let window = window.clone();
    tauri::async_runtime::spawn(async move {
        let state = window.state::<AppState>();
        let run = run_automatic_backup(&state.store, hms_core::backup::Automatic::OnClose);
        if tokio::time::timeout(CLOSE_BACKUP_LIMIT, run).await.is_err() {
            tracing::warn!(target: "hms::backup", "the backup on close took too long: closing without it");
        }
        if let Err(e) = window.destroy() {
            tracing::warn!(target: "hms::backup", error = %e, "closing the window after the backup");
        }
    });
}

/// How long after a restore was asked for the app starts again: time for the command's answer
/// to reach the screen and for the user to read that HMS is starting again (half a second was
/// too short on a busy machine: the window closed before the message was drawn).
const RESTART_AFTER: std::time::Duration = std::time::Duration::from_secs(3);

/// Starts the app again after [`RESTART_AFTER`] (the restore from the Backups screen), or
/// closes it where an app cannot start itself again (Android: the restore runs when it is
/// opened) or when `HMS_RESTART=exit` (the end-to-end test, which starts it again itself).
fn restart_soon<R: Runtime>(app: tauri::AppHandle<R>) {
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(RESTART_AFTER).await;
        if cfg!(mobile) || std::env::var("HMS_RESTART").is_ok_and(|v| v == "exit") {
            app.exit(0);
        } else {
            app.request_restart();
        }
    });
}

/// The device's log, `logs/hms.log` in the data directory: what a storage error's reference
/// stands for (the screen shows the reference alone). Without it the app still runs.
fn log_to(dir: &std::path::Path) {
    if let Err(e) = hms_core::logging::to_file(dir) {
        eprintln!("HMS: no log file in {}: {e}", dir.display());
    }
}

/// The background sync (on start, every minute, soon after writes; backing off while the
/// server is unreachable), for as long as the app runs. Desktop and mobile alike.
fn start_background_sync<R: Runtime>(app: tauri::AppHandle<R>) {
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        hms_core::sync::worker::run(&state.store, hms_core::sync::worker::WorkerConfig::default(), |_| {}).await;
    });
}

#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let result = configure(tauri::Builder::default(), None)
        .and_then(|b| b.run(tauri::generate_context!()).map_err(|e| e.to_string()));
    if let Err(e) = result {
        eprintln!("HMS could not start: {e}");
        std::process::exit(1);
    }
}

/// Writes the TypeScript bindings (`ui/src/lib/bindings.ts`) for the commands.
pub fn export_bindings(path: &std::path::Path) -> Result<(), String> {
    let ts = specta_typescript::Typescript::default()
        .header("// Generated by tauri-specta from the Rust commands. Do not edit: run `cargo test --test bindings`.\n// @ts-nocheck");
    specta_builder::<tauri::Wry>().export(ts, path).map_err(|e| e.to_string())
}
