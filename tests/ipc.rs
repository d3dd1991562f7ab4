//! The commands through Tauri's IPC with the mock runtime: the JSON the webview sends and
//! the typed errors it gets back.

use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::WebviewWindow;

struct App {
    _dir: tempfile::TempDir,
    _app: tauri::App<MockRuntime>,
    webview: WebviewWindow<MockRuntime>,
}

fn app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let app = hms_app::configure(mock_builder(), Some(dir.path().to_path_buf()))
        .unwrap()
        .build(mock_context(noop_assets()))
        .unwrap();
    let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();
    App { _dir: dir, _app: app, webview }
}

impl App {
    fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        let request = InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: self.webview.url().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        };
        get_ipc_response(&self.webview, request).map(|body| body.deserialize::<Value>().unwrap())
    }

    fn setup_admin(&self) {
        let input = json!({ "username": "admin", "full_name": "Asha Menon", "password": "Clinic#2026adm" });
        // A clinic that starts without the starter formulary (its medicines are added by hand).
        self.invoke("setup_first_admin", json!({ "input": input, "starters": { "formulary": false } })).unwrap();
    }
}

#[test]
fn first_start_reports_setup_needed_then_signs_the_admin_in() {
    let app = app();
    let status = app.invoke("app_status", json!({})).unwrap();
    assert_eq!(status["needs_setup"], true);
    assert_eq!(status["session"], Value::Null);
    assert!(status["schema_version"].as_u64().unwrap() >= 1);
    app.setup_admin();
    let status = app.invoke("app_status", json!({})).unwrap();
    assert_eq!(status["needs_setup"], false);
    assert_eq!(status["session"]["username"], "admin");
    // Every area, in menu order (other areas slot in between as they land).
    let areas: Vec<&str> = status["session"]["areas"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    let ours: Vec<&str> = areas
        .iter()
        .copied()
        .filter(|a| ["patients", "appointments", "staff", "users", "audit", "settings"].contains(a))
        .collect();
    assert_eq!(ours, ["patients", "appointments", "staff", "users", "audit", "settings"], "{areas:?}");
}

#[test]
fn sign_in_success_and_failure() {
    let app = app();
    app.setup_admin();
    app.invoke("sign_out", json!({})).unwrap();
    let err = app.invoke("sign_in", json!({ "username": "admin", "password": "nope-nope-1A" })).unwrap_err();
    assert_eq!(err, json!({ "code": "invalid_credentials" }));
    let ok = app.invoke("sign_in", json!({ "username": "admin", "password": "Clinic#2026adm" })).unwrap();
    assert_eq!(ok["full_name"], "Asha Menon");
    assert_eq!(ok["roles"], json!(["admin"]));
    assert_eq!(ok["idle_timeout_minutes"], 15);
}

#[test]
fn the_clinic_formats_are_the_defaults_before_sign_in_and_the_clinics_after() {
    let app = app();
    app.setup_admin();
    let set = app.invoke("set_clinic_formats", json!({ "locale": "en-GB", "hourCycle": "h12" })).unwrap();
    assert_eq!((&set["locale"], &set["hour_cycle"]), (&json!("en-GB"), &json!("h12")));
    let err = app.invoke("set_clinic_formats", json!({ "locale": "C", "hourCycle": "h24" })).unwrap_err();
    assert_eq!(err["code"], "validation");
    app.invoke("sign_out", json!({})).unwrap();
    let before = app.invoke("clinic_formats", json!({})).unwrap();
    assert_eq!(before["locale"], "en-IN");
    assert_eq!(before["hour_cycle"], "h24");
    assert_eq!(before["time_zone"], Value::Null);
    app.invoke("sign_in", json!({ "username": "admin", "password": "Clinic#2026adm" })).unwrap();
    let after = app.invoke("clinic_formats", json!({})).unwrap();
    assert_eq!((&after["locale"], &after["hour_cycle"]), (&json!("en-GB"), &json!("h12")));
    assert!(after["time_zone"].is_string(), "{after}");
}

#[test]
fn commands_without_a_session_get_not_signed_in() {
    let app = app();
    app.setup_admin();
    app.invoke("sign_out", json!({})).unwrap();
    let err = app.invoke("list_users", json!({})).unwrap_err();
    assert_eq!(err, json!({ "code": "not_signed_in" }));
}

#[test]
fn a_forbidden_command_returns_the_typed_forbidden_error() {
    let app = app();
    app.setup_admin();
    let input = json!({ "username": "reception", "full_name": "Priya Sharma", "password": "Given#2026temp", "roles": ["receptionist"] });
    let created = app.invoke("create_user", json!({ "input": input })).unwrap();
    assert_eq!(created["roles"], json!(["receptionist"]));
    assert_eq!(created["must_change_password"], true);
    app.invoke("sign_out", json!({})).unwrap();
    // The administrator's password is temporary: nothing but changing it until it is changed.
    let info = app.invoke("sign_in", json!({ "username": "reception", "password": "Given#2026temp" })).unwrap();
    assert_eq!(info["must_change_password"], true);
    let err = app.invoke("list_users", json!({})).unwrap_err();
    assert_eq!(err, json!({ "code": "password_change_required" }));
    app.invoke("heartbeat", json!({})).unwrap();
    let info = app
        .invoke("change_own_password", json!({ "oldPassword": "Given#2026temp", "newPassword": "Desk#2026staff" }))
        .unwrap();
    assert_eq!(info["must_change_password"], false);
    let err = app.invoke("list_users", json!({})).unwrap_err();
    assert_eq!(err, json!({ "code": "forbidden", "detail": { "permission": "users_view" } }));
    let err = app.invoke("verify_audit", json!({})).unwrap_err();
    assert_eq!(err, json!({ "code": "forbidden", "detail": { "permission": "audit_verify" } }));
}

#[test]
fn validation_errors_name_the_field() {
    let app = app();
    app.setup_admin();
    let input = json!({ "username": "x", "full_name": "X", "password": "Desk#2026staff", "roles": ["nurse"] });
    let err = app.invoke("create_user", json!({ "input": input })).unwrap_err();
    assert_eq!(err["code"], "validation");
    assert_eq!(err["detail"]["field"], "username");
    assert_eq!(err["detail"]["reason"], "too_short");
    let err = app
        .invoke(
            "update_settings",
            json!({ "settings": { "idle_timeout_minutes": 0, "clinic_name": "Sunrise Clinic" } }),
        )
        .unwrap_err();
    assert_eq!(err["detail"]["field"], "idle_timeout_minutes");
}

fn patient(given: &str, phone: &str) -> Value {
    json!({
        "given_name": given, "family_name": "Sharma", "other_names": "", "sex": "male",
        "birth_date": "1980-04-02", "age_years": null, "phones": [phone], "address": "", "national_id": "",
        "insurance_id": "", "emergency_name": "", "emergency_phone": "", "emergency_relation": "",
        "blood_group": "", "allergies": ["Penicillin"], "notes": ""
    })
}

#[test]
fn patients_register_warn_of_duplicates_search_open_and_export() {
    std::env::set_var("HMS_NO_OPEN", "1"); // save the ID card, do not start a PDF viewer
    let app = app();
    app.setup_admin();
    let p = app.invoke("register_patient", json!({ "input": patient("Ravi", "98450 12345") })).unwrap();
    let mrn = p["mrn"].as_str().unwrap().to_string();
    assert_eq!(p["allergies"], json!(["Penicillin"]));

    let dups =
        app.invoke("find_duplicates", json!({ "input": patient("Anil", "9845012345"), "excludeId": null })).unwrap();
    assert_eq!(dups[0]["mrn"], mrn.as_str(), "same phone is flagged");

    let hits = app.invoke("search_patients", json!({ "query": "sharm ra", "limit": 20 })).unwrap();
    assert_eq!(hits[0]["mrn"], mrn.as_str());
    let opened = app.invoke("open_patient", json!({ "id": p["id"] })).unwrap();
    assert_eq!(opened["given_name"], "Ravi");

    let bad = app.invoke("register_patient", json!({ "input": patient("", "98450") })).unwrap_err();
    assert_eq!((bad["code"].as_str(), bad["detail"]["field"].as_str()), (Some("validation"), Some("given_name")));
    let bad = app.invoke("register_patient", json!({ "input": patient("Anil", "98-45") })).unwrap_err();
    assert_eq!(bad["detail"]["field"], "phones.0");

    let saved = app.invoke("export_patients", json!({ "query": "ravi" })).unwrap();
    let csv = std::fs::read_to_string(saved["path"].as_str().unwrap()).unwrap();
    assert!(csv.lines().count() == 2 && csv.contains(&mrn), "header and the one match: {csv}");
    let card = app.invoke("print_id_card", json!({ "id": p["id"] })).unwrap();
    assert!(std::fs::read(card["path"].as_str().unwrap()).unwrap().starts_with(b"%PDF-"));

    // The printout is listed on the patient, opens again by id, and prints again as a new file.
    let listed = app.invoke("printouts", json!({ "of": { "of": "patient", "id": p["id"] } })).unwrap();
    assert_eq!((&listed[0]["id"], listed[0]["kind"].as_str()), (&card["printout_id"], Some("id_card")));
    assert_eq!(listed[0]["file_name"], card["file_name"]);
    let opened = app.invoke("open_printout", json!({ "id": card["printout_id"] })).unwrap();
    assert_eq!(opened["path"], card["path"]);
    let again = app.invoke("print_again", json!({ "id": card["printout_id"] })).unwrap();
    assert_eq!(again["file_name"], format!("id-card-{mrn}-2.pdf"));
    assert!(std::fs::read(again["path"].as_str().unwrap()).unwrap().starts_with(b"%PDF-"));
    let listed = app.invoke("printouts", json!({ "of": { "of": "patient", "id": p["id"] } })).unwrap();
    assert_eq!(listed[0]["reprint_of"], card["printout_id"]);
    let folder = app.invoke("exports_folder", json!({})).unwrap();
    assert!(card["path"].as_str().unwrap().starts_with(folder.as_str().unwrap()));
    let folder = app.invoke("open_exports_folder", json!({})).unwrap();
    assert_eq!(folder["opened"], false, "HMS_NO_OPEN=1");
    std::fs::write(card["path"].as_str().unwrap(), b"%PDF-1.4 changed").unwrap();
    let err = app.invoke("open_printout", json!({ "id": card["printout_id"] })).unwrap_err();
    assert_eq!(err["code"], "printout_changed");
}

#[test]
fn csv_import_previews_then_imports_with_progress_over_base64() {
    use base64::Engine;
    let app = app();
    app.setup_admin();
    let csv = "Name,Gender,DOB,Mobile,File No\nRavi Kumar Sharma,M,02/04/1980,9845012345,OLD-1\n,F,1990-01-01,9845000000,OLD-2\n";
    let data = base64::engine::general_purpose::STANDARD.encode(csv);
    let preview = app.invoke("preview_patient_import", json!({ "dataBase64": data, "mapping": null })).unwrap();
    assert_eq!((preview["total_rows"].as_u64(), preview["valid_rows"].as_u64()), (Some(2), Some(1)));
    assert_eq!(preview["rejected"][0]["row"], 3);
    let bad = app.invoke("preview_patient_import", json!({ "dataBase64": "%%%", "mapping": null })).unwrap_err();
    assert_eq!(bad["detail"]["field"], "file");
}

/// YYYY-MM-DD `days` after `date`, and its ISO weekday (1 = Monday).
fn later(date: &str, days: u32) -> (String, u64) {
    let mut d = hms_core::schedule::parse_date("date", date).unwrap();
    for _ in 0..days {
        d = d.succ_opt().unwrap();
    }
    (d.format("%Y-%m-%d").to_string(), d.format("%u").to_string().parse().unwrap())
}

fn starts(slots: &Value) -> Vec<String> {
    slots.as_array().unwrap().iter().map(|s| s["start"].as_str().unwrap().to_string()).collect()
}

#[test]
fn a_doctor_with_sessions_is_booked_rescheduled_cancelled_moved_and_queued() {
    let app = app();
    app.setup_admin();
    let specialty = app.invoke("add_specialty", json!({ "name": "Cardiology" })).unwrap();
    let department = app.invoke("add_department", json!({ "name": "Medicine" })).unwrap();
    let staff = json!({
        "full_name": "Dr Meera Iyer", "role": "doctor", "user_id": null, "department_id": department["id"],
        "qualifications": "MD", "licence_no": "KMC-1", "specialty_ids": [specialty["id"]], "phone": "", "email": "", "fee_minor": 50000
    });
    let doctor = app.invoke("add_staff", json!({ "input": staff })).unwrap();
    let id = doctor["id"].as_str().unwrap().to_string();
    let week: Vec<Value> =
        (1..=7).map(|d| json!({ "weekday": d, "start": "09:00", "end": "12:00", "slot_minutes": 30 })).collect();
    let sessions = app.invoke("set_weekly_sessions", json!({ "doctorId": id, "sessions": week })).unwrap();
    let bad = app.invoke("set_weekly_sessions", json!({ "doctorId": id, "sessions": [{ "weekday": 1, "start": "09:00", "end": "12:00", "slot_minutes": 0 }] })).unwrap_err();
    assert_eq!(bad["detail"]["field"], "sessions.0.slot_minutes");
    let p1 = app.invoke("register_patient", json!({ "input": patient("Ravi", "98450 12345") })).unwrap();
    let p2 = app.invoke("register_patient", json!({ "input": patient("Anil", "98450 67890") })).unwrap();

    // Walk-in today, seen in the doctor's queue with a token.
    let walk =
        app.invoke("register_walk_in", json!({ "patientId": p2["id"], "doctorId": id, "reason": "fever" })).unwrap();
    let today = walk["date"].as_str().unwrap().to_string();
    let queue = app.invoke("doctor_queue", json!({ "doctorId": id, "date": today })).unwrap();
    assert_eq!(queue[0]["token"], walk["token"]);
    assert_eq!((queue[0]["status"].as_str(), queue[0]["walk_in"].as_bool()), (Some("checked_in"), Some(true)));

    // Book a week ahead: the slot disappears from the free slots, and cannot be booked twice.
    let (day, _) = later(&today, 7);
    let free = app.invoke("free_slots", json!({ "doctorId": id, "date": day })).unwrap();
    assert_eq!(starts(&free), ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]);
    let input = |p: &Value, start: &str| json!({ "patient_id": p["id"], "doctor_id": id, "date": day, "start": start, "reason": "", "overbook": false });
    let booked = app.invoke("book_appointment", json!({ "input": input(&p1, "09:00") })).unwrap();
    assert_eq!(booked["status"], "booked");
    let free = app.invoke("free_slots", json!({ "doctorId": id, "date": day })).unwrap();
    assert!(!starts(&free).contains(&"09:00".to_string()));
    let twice = app.invoke("book_appointment", json!({ "input": input(&p2, "09:00") })).unwrap_err();
    assert_eq!((twice["detail"]["field"].as_str(), twice["detail"]["reason"].as_str()), (Some("start"), Some("taken")));

    // Reschedule: the old slot is free again; the calendar shows the patient by name.
    let moved = app
        .invoke("reschedule_appointment", json!({ "id": booked["id"], "doctorId": id, "date": day, "start": "10:00" }))
        .unwrap();
    assert_eq!((moved["start"].as_str(), moved["rescheduled_from"].as_str()), (Some("10:00"), booked["id"].as_str()));
    let free = app.invoke("free_slots", json!({ "doctorId": id, "date": day })).unwrap();
    assert_eq!(starts(&free), ["09:00", "09:30", "10:30", "11:00", "11:30"]);
    let week = app.invoke("doctor_week", json!({ "doctorId": id, "weekStart": day })).unwrap();
    assert_eq!(week.as_array().unwrap().len(), 7);
    assert_eq!((week[0]["slots"].as_u64(), week[0]["free_slots"].as_u64()), (Some(6), Some(5)));
    assert_eq!(week[0]["appointments"][0]["patient_name"], "Ravi Sharma");
    assert_eq!(week[0]["appointments"][0]["mrn"], p1["mrn"]);
    let dept = app.invoke("department_day", json!({ "departmentId": department["id"], "date": day })).unwrap();
    assert_eq!(dept[0]["doctor_name"], "Dr Meera Iyer");
    assert_eq!(dept[0]["appointments"][0]["appointment"]["id"], moved["id"]);

    // Cancel with a reason.
    let no_reason = app.invoke("cancel_appointment", json!({ "id": moved["id"], "reason": "" })).unwrap_err();
    assert_eq!(no_reason["detail"]["field"], "reason");
    let cancelled = app.invoke("cancel_appointment", json!({ "id": moved["id"], "reason": "travelling" })).unwrap();
    assert_eq!(cancelled["status"], "cancelled");

    // The next day's session is cancelled: reception gets the patient's phone, and moves them.
    let (next, weekday) = later(&today, 8);
    let b2 = app.invoke("book_appointment", json!({ "input": { "patient_id": p2["id"], "doctor_id": id, "date": next, "start": "11:30", "reason": "", "overbook": false } })).unwrap();
    let session = sessions.as_array().unwrap().iter().find(|s| s["weekday"].as_u64() == Some(weekday)).unwrap();
    let off = app
        .invoke(
            "cancel_session",
            json!({ "doctorId": id, "date": next, "sessionId": session["id"], "reason": "doctor unwell" }),
        )
        .unwrap();
    assert_eq!(off["affected"][0]["appointment"]["id"], b2["id"]);
    assert_eq!(off["affected"][0]["phone"], p2["phones"][0]);
    let short = app
        .invoke("move_appointments", json!({ "appointmentIds": [b2["id"]], "toDoctorId": id, "toDate": next }))
        .unwrap_err();
    assert_eq!(short["detail"]["field"], "to_date", "that day has no slots left");
    let moved = app
        .invoke("move_appointments", json!({ "appointmentIds": [b2["id"]], "toDoctorId": id, "toDate": day }))
        .unwrap();
    assert_eq!(
        (moved[0]["appointment"]["start"].as_str(), moved[0]["patient_name"].as_str()),
        (Some("09:00"), Some("Anil Sharma"))
    );
    let history = app.invoke("patient_appointments", json!({ "patientId": p2["id"] })).unwrap();
    assert_eq!(history.as_array().unwrap().len(), 3, "walk-in, the cancelled-session booking, its move");
    assert_eq!(history[0]["doctor_name"], "Dr Meera Iyer");

    // Staff management.
    let listed = app
        .invoke(
            "list_staff",
            json!({ "filter": { "role": "doctor", "department_id": null, "include_inactive": true } }),
        )
        .unwrap();
    assert_eq!(listed[0]["id"], id.as_str());
    let edit = json!({
        "full_name": "Dr Meera Iyer", "role": "doctor", "user_id": null, "department_id": department["id"],
        "qualifications": "MD, DM", "licence_no": "KMC-1", "specialty_ids": [specialty["id"]], "phone": "080 1234", "email": "", "fee_minor": 60000
    });
    let updated = app.invoke("update_staff", json!({ "id": id, "input": edit })).unwrap();
    assert_eq!((updated["qualifications"].as_str(), updated["fee_minor"].as_f64()), (Some("MD, DM"), Some(60000.0)));
    let refused = app.invoke("set_staff_active", json!({ "id": id, "active": false })).unwrap_err();
    assert_eq!(refused["detail"]["field"], "active", "appointments still to come");
}

#[test]
fn a_consultation_through_the_commands_warns_on_an_allergy_and_the_lab_flags_a_result() {
    let app = app();
    app.setup_admin();
    let user = |name: &str, role: &str| json!({ "username": name, "full_name": format!("Staff {name}"), "password": "Given#2026temp", "roles": [role] });
    let doctor_user = app.invoke("create_user", json!({ "input": user("dr.rao", "doctor") })).unwrap();
    app.invoke("create_user", json!({ "input": user("lab.khan", "lab_technician") })).unwrap();
    app.invoke("create_user", json!({ "input": user("desk.roy", "receptionist") })).unwrap();
    let staff = json!({
        "full_name": "Dr Anil Rao", "role": "doctor", "user_id": doctor_user["id"], "department_id": null,
        "qualifications": "MD", "licence_no": "KMC-2", "specialty_ids": [], "phone": "", "email": "", "fee_minor": 0
    });
    app.invoke("add_staff", json!({ "input": staff })).unwrap();
    let p = app.invoke("register_patient", json!({ "input": patient("Ravi", "98450 12345") })).unwrap();
    let med = app
        .invoke("add_medicine", json!({ "input": { "name": "Penicillin V", "strength": "250 mg", "form": "tablet" } }))
        .unwrap();
    let hb = app.invoke("add_lab_test", json!({ "input": { "code": "HB", "name": "Haemoglobin", "unit": "g/dL", "ref_low": "13", "ref_high": "17" } })).unwrap();

    // Each signs in the first time with the administrator's (temporary) password and chooses
    // their own; afterwards with their own.
    let settled = std::cell::RefCell::new(std::collections::HashSet::new());
    let sign_in = |name: &str| {
        app.invoke("sign_out", json!({})).unwrap();
        if settled.borrow_mut().insert(name.to_string()) {
            app.invoke("sign_in", json!({ "username": name, "password": "Given#2026temp" })).unwrap();
            let change = json!({ "oldPassword": "Given#2026temp", "newPassword": "Desk#2026staff" });
            app.invoke("change_own_password", change).unwrap();
        } else {
            app.invoke("sign_in", json!({ "username": name, "password": "Desk#2026staff" })).unwrap();
        }
    };
    sign_in("desk.roy");
    let err = app.invoke("chart_summary", json!({ "patientId": p["id"] })).unwrap_err();
    assert_eq!(err, json!({ "code": "forbidden", "detail": { "permission": "clinical_view" } }));

    sign_in("dr.rao");
    let found = app.invoke("search_icd10", json!({ "query": "J45", "limit": 5 })).unwrap();
    assert_eq!(found[0]["code"], "J45");
    let rx = json!({ "medicine_id": med["id"], "dose": "1", "dose_unit": "tablet", "route": "oral", "frequency": "1-0-1", "duration_days": 5, "instructions": "", "override_reason": null });
    let consultation = |rx: Value| {
        json!({ "input": {
        "visit": { "patient_id": p["id"], "doctor_id": null, "appointment_id": null, "complaints": "Sore throat", "follow_up_date": null },
        "vitals": { "patient_id": "", "visit_id": null, "temperature_c_x10": 381, "pulse": 92, "bp_systolic": null, "bp_diastolic": null,
                    "resp_rate": null, "spo2": 98, "weight_g": null, "height_mm": null, "pain": 2, "confirmed": false },
        "diagnoses": [{ "icd10": "J02.9", "text": "", "certainty": "provisional" }],
        "prescriptions": [rx],
        "lab_test_ids": [hb["id"]]
    } })
    };
    // The patient's record flags a penicillin allergy: a typed warning until a reason is given.
    let err = app.invoke("save_consultation", consultation(rx.clone())).unwrap_err();
    assert_eq!(err["code"], "clinical_warning");
    assert_eq!(err["detail"]["warnings"][0]["kind"], "allergy");
    let mut with_reason = rx.clone();
    with_reason["override_reason"] = json!("Tolerated before; allergy doubtful");
    let saved = app.invoke("save_consultation", consultation(with_reason)).unwrap();
    assert_eq!(saved["diagnoses"][0]["text"], "Acute pharyngitis, unspecified");
    assert_eq!(saved["prescriptions"][0]["override_reason"], "Tolerated before; allergy doubtful");
    let mut no_unit = rx;
    no_unit["dose_unit"] = json!("");
    let err = app.invoke("prescribe", json!({ "visitId": saved["visit"]["id"], "input": no_unit })).unwrap_err();
    assert_eq!((err["code"].as_str(), err["detail"]["field"].as_str()), (Some("validation"), Some("dose_unit")));

    sign_in("lab.khan");
    let pending = app.invoke("pending_lab_orders", json!({})).unwrap();
    assert_eq!(pending.as_array().unwrap().len(), 1);
    let result = app.invoke("enter_lab_result", json!({ "orderId": pending[0]["id"], "value": "10.2" })).unwrap();
    assert_eq!(result["abnormal"], "low");

    sign_in("dr.rao");
    let chart = app.invoke("chart_summary", json!({ "patientId": p["id"] })).unwrap();
    assert_eq!(chart["recent_results"][0]["abnormal"], "low");
    assert_eq!(chart["current_medicines"].as_array().unwrap().len(), 1);
    assert_eq!(chart["last_vitals"]["temperature_c_x10"], 381);
}

#[test]
fn the_core_previews_a_bill_line_and_sends_a_bill_with_its_actions() {
    let app = app();
    app.setup_admin();
    let p = app.invoke("register_patient", json!({ "input": patient("Ravi", "98450 12345") })).unwrap();
    let bill = app.invoke("open_bill", json!({ "patientId": p["id"] })).unwrap();
    assert_eq!(bill["actions"]["add_line"], true);
    assert_eq!(bill["actions"]["finalize"], false, "an empty draft cannot be finalized");
    let line = |quantity: i32| {
        json!({ "input": { "service_id": null, "description": "Dressing", "quantity": quantity,
                           "unit_price_minor": 12050, "discount": { "kind": "percent", "value": 1000 } } })
    };
    let amounts = app.invoke("preview_bill_line", line(2)).unwrap();
    assert_eq!(amounts, json!({ "gross": 24100, "discount": 2410, "taxable": 21690, "tax": 0, "total": 21690 }));
    let err = app.invoke("preview_bill_line", line(0)).unwrap_err();
    assert_eq!((&err["code"], &err["detail"]["field"]), (&json!("validation"), &json!("quantity")));
    let bill = app.invoke("get_bill", json!({ "billId": bill["id"] })).unwrap();
    assert_eq!(bill["lines"], json!([]), "a preview writes nothing");
}

#[test]
fn backups_are_listed_set_and_named_only_from_the_folders_list() {
    let app = app();
    app.setup_admin();
    let status = app.invoke("backup_status", json!({})).unwrap();
    assert_eq!(status["settings"]["folder_is_default"], true);
    assert_eq!((status["stale"].as_bool(), status["backups"].as_array().map(Vec::len)), (Some(true), Some(0)));
    assert_eq!(status["last_good"], Value::Null);
    let err =
        app.invoke("backup_settings_set", json!({ "input": { "folder": "relative", "daily_at": null } })).unwrap_err();
    assert_eq!((err["code"].as_str(), err["detail"]["field"].as_str()), (Some("validation"), Some("folder")));
    let err = app.invoke("backup_settings_set", json!({ "input": { "folder": null, "daily_at": "7pm" } })).unwrap_err();
    assert_eq!(err["detail"]["field"], "daily_at");
    let set = app.invoke("backup_settings_set", json!({ "input": { "folder": null, "daily_at": "19:00" } })).unwrap();
    assert_eq!(set["daily_at"], "19:00");
    // A path is never taken: only the name of a backup the folder lists.
    for name in ["/etc", "../hms.db", "hms-backup-x-20261205T090000Z"] {
        let err = app.invoke("backup_verify", json!({ "name": name })).unwrap_err();
        assert_eq!(err["code"], "not_found", "{name}");
        let err = app.invoke("backup_inspect", json!({ "name": name })).unwrap_err();
        assert_eq!(err["code"], "not_found", "{name}");
        let err = app.invoke("backup_restore", json!({ "name": name })).unwrap_err();
        assert_eq!(err["code"], "not_found", "{name}");
    }
    // Nothing was asked: no outcome to show at sign-in, nothing pending, still signed in.
    assert_eq!(app.invoke("restore_outcome", json!({})).unwrap(), Value::Null);
    assert!(app.invoke("backup_status", json!({})).is_ok());
}

#[test]
fn a_chart_is_restricted_lifted_and_emergency_access_is_the_doctors_and_nurses() {
    let app = app();
    app.setup_admin();
    let p = app.invoke("register_patient", json!({ "input": patient("Meena", "98450 54321") })).unwrap();
    let id = p["id"].as_str().unwrap();
    let access = app.invoke("chart_access", json!({ "patientId": id })).unwrap();
    assert_eq!((access["open"].clone(), access["restriction"].clone()), (json!(true), Value::Null));
    let err = app.invoke("restrict_chart", json!({ "patientId": id, "reason": " " })).unwrap_err();
    assert_eq!(err["detail"]["field"], "reason");
    let r = app.invoke("restrict_chart", json!({ "patientId": id, "reason": "Staff member" })).unwrap();
    assert_eq!(r["reason"], "Staff member");
    // The administrator restricted it (on its care team) and does not break the glass.
    let access = app.invoke("chart_access", json!({ "patientId": id })).unwrap();
    assert_eq!((access["open"].clone(), access["can_break_glass"].clone()), (json!(true), json!(false)));
    let err = app.invoke("break_glass", json!({ "patientId": id, "reason": "Collapsed at the desk" })).unwrap_err();
    assert_eq!(err, json!({ "code": "forbidden", "detail": { "permission": "break_glass" } }));
    assert_eq!(app.invoke("break_glass_pending", json!({})).unwrap(), json!([]));
    let err = app
        .invoke("break_glass_review", json!({ "entryId": "0190c2a0-0000-7000-8000-000000000000", "comment": "" }))
        .unwrap_err();
    assert_eq!(err["code"], "not_found");
    // A nurse opens it in an emergency; the administrator's list has it until reviewed.
    let input =
        json!({ "username": "n.anita", "full_name": "Anita Das", "password": "Given#Ward2026x", "roles": ["nurse"] });
    app.invoke("create_user", json!({ "input": input })).unwrap();
    app.invoke("sign_out", json!({})).unwrap();
    app.invoke("sign_in", json!({ "username": "n.anita", "password": "Given#Ward2026x" })).unwrap();
    app.invoke("change_own_password", json!({ "oldPassword": "Given#Ward2026x", "newPassword": "Nurse#Ward2026x" }))
        .unwrap();
    let err = app.invoke("chart_summary", json!({ "patientId": id })).unwrap_err();
    assert_eq!(err, json!({ "code": "chart_restricted", "detail": { "patient_id": id } }));
    let grant = app.invoke("break_glass", json!({ "patientId": id, "reason": "Collapsed at the desk" })).unwrap();
    app.invoke("chart_summary", json!({ "patientId": id })).unwrap();
    app.invoke("sign_out", json!({})).unwrap();
    app.invoke("sign_in", json!({ "username": "admin", "password": "Clinic#2026adm" })).unwrap();
    let pending = app.invoke("break_glass_pending", json!({})).unwrap();
    assert_eq!(pending[0]["entry_id"], grant["entry_id"], "{pending}");
    assert_eq!(pending[0]["user_name"], "Anita Das");
    app.invoke("break_glass_review", json!({ "entryId": grant["entry_id"], "comment": "Seen" })).unwrap();
    assert_eq!(app.invoke("break_glass_pending", json!({})).unwrap(), json!([]));
    app.invoke("lift_chart_restriction", json!({ "patientId": id, "reason": "" })).unwrap();
    assert_eq!(app.invoke("chart_access", json!({ "patientId": id })).unwrap()["restriction"], Value::Null);
}

#[test]
fn a_report_runs_from_the_webviews_json_and_exports_to_the_exports_folder() {
    let app = app();
    app.setup_admin();
    let choices = app.invoke("report_choices", json!({})).unwrap();
    assert_eq!(choices["reports"][0], "revenue_by_service");
    // The filters may be left out; a preset needs no dates.
    let request = json!({ "report": "revenue_by_mode", "range": { "preset": "this_month", "from": null, "to": null } });
    let r = app.invoke("run_report", json!({ "request": request })).unwrap();
    assert_eq!(r["table"]["columns"][2], json!({ "key": "received", "title": "Received", "kind": "money" }));
    assert_eq!(r["table"]["rows"][0], json!(["cash", 0, 0, 0, 0]));
    assert_eq!(r["table"]["totals"][0], "Total");
    let bad = json!({ "report": "appointments_by_doctor", "range": { "preset": "custom", "from": "2026-03-31", "to": "2026-03-01" } });
    let err = app.invoke("run_report", json!({ "request": bad })).unwrap_err();
    assert_eq!((err["code"].as_str(), err["detail"]["field"].as_str()), (Some("validation"), Some("to")));
    let empty =
        json!({ "report": "appointments_by_doctor", "range": { "preset": "this_month", "from": null, "to": null } });
    let r = app.invoke("run_report", json!({ "request": empty })).unwrap();
    assert_eq!(r["table"]["totals"][6], Value::Null, "no figure is null");
    let saved = app.invoke("export_report", json!({ "request": request, "format": "csv" })).unwrap();
    let csv = std::fs::read_to_string(saved["path"].as_str().unwrap()).unwrap();
    assert!(csv.starts_with("Payment mode,Movements,Received,Refunded,Net\ncash,0,0.00,0.00,0.00\n"), "{csv}");
    assert!(saved["file_name"].as_str().unwrap().starts_with("revenue_by_mode_"));
    let saved = app.invoke("export_report", json!({ "request": request, "format": "xlsx" })).unwrap();
    assert!(saved["file_name"].as_str().unwrap().ends_with(".xlsx"));
    assert!(std::fs::read(saved["path"].as_str().unwrap()).unwrap().starts_with(b"PK"), "a zip container");
}

#[test]
fn a_patient_is_admitted_moved_on_the_board_and_discharged_through_the_commands() {
    let app = app();
    app.setup_admin();
    let ward =
        app.invoke("add_ward", json!({ "input": { "name": "General", "kind": "general", "bed_service_id": null } }));
    let ward = ward.unwrap();
    let err = app.invoke("add_ward", json!({ "input": { "name": "Hall", "kind": "hall", "bed_service_id": null } }));
    assert_eq!(err.unwrap_err()["detail"]["field"], "kind");
    let bed = |label: &str, tags: Value| {
        let input =
            json!({ "ward_id": ward["id"], "room_id": null, "label": label, "tags": tags, "bed_service_id": null });
        app.invoke("add_bed", json!({ "input": input })).unwrap()
    };
    let (a1, a2) = (bed("A1", json!(["oxygen"])), bed("A2", json!([])));
    let user = |name: &str, role: &str| json!({ "username": name, "full_name": format!("Staff {name}"), "password": "Given#2026temp", "roles": [role] });
    let doctor_user = app.invoke("create_user", json!({ "input": user("dr.rao", "doctor") })).unwrap();
    app.invoke("create_user", json!({ "input": user("desk.roy", "receptionist") })).unwrap();
    let staff = json!({
        "full_name": "Dr Anil Rao", "role": "doctor", "user_id": doctor_user["id"], "department_id": null,
        "qualifications": "MD", "licence_no": "KMC-2", "specialty_ids": [], "phone": "", "email": "", "fee_minor": 0
    });
    let doctor = app.invoke("add_staff", json!({ "input": staff })).unwrap();
    let p = app.invoke("register_patient", json!({ "input": patient("Ravi", "98450 12345") })).unwrap();
    let admit = json!({ "input": {
        "patient_id": p["id"], "doctor_id": doctor["id"], "reason": "Pneumonia", "diagnosis_code": "",
        "expected_days": 4, "ward_id": ward["id"], "bed_id": a1["id"]
    } });
    let err = app.invoke("admit_patient", admit.clone()).unwrap_err();
    assert_eq!(err, json!({ "code": "forbidden", "detail": { "permission": "inpatients_admit" } }));

    let sign_in = |name: &str, first: bool| {
        app.invoke("sign_out", json!({})).unwrap();
        if first {
            app.invoke("sign_in", json!({ "username": name, "password": "Given#2026temp" })).unwrap();
            let change = json!({ "oldPassword": "Given#2026temp", "newPassword": "Desk#2026staff" });
            app.invoke("change_own_password", change).unwrap();
        } else {
            app.invoke("sign_in", json!({ "username": name, "password": "Desk#2026staff" })).unwrap();
        }
    };
    // The clinic may keep reception from admitting and moving patients (on by default).
    let settings = app.invoke("ward_settings", json!({})).unwrap();
    assert_eq!(settings, json!({ "reception_moves": true, "withheld": [] }));
    let off = app.invoke("set_reception_moves", json!({ "allow": false })).unwrap();
    assert_eq!(off["reception_moves"], false);
    sign_in("desk.roy", true);
    let settings = app.invoke("ward_settings", json!({})).unwrap();
    assert_eq!(settings["withheld"], json!(["inpatients_admit", "inpatients_transfer"]));
    let err = app.invoke("admit_patient", admit.clone()).unwrap_err();
    assert_eq!(err, json!({ "code": "forbidden", "detail": { "permission": "inpatients_admit" } }));
    let err = app.invoke("set_reception_moves", json!({ "allow": true })).unwrap_err();
    assert_eq!(err, json!({ "code": "forbidden", "detail": { "permission": "wards_manage" } }));
    app.invoke("sign_out", json!({})).unwrap();
    app.invoke("sign_in", json!({ "username": "admin", "password": "Clinic#2026adm" })).unwrap();
    app.invoke("set_reception_moves", json!({ "allow": true })).unwrap();
    sign_in("desk.roy", false);
    let stay = app.invoke("admit_patient", admit.clone()).unwrap();
    assert_eq!(stay["bed_id"], a1["id"]);
    let err = app.invoke("admit_patient", admit).unwrap_err();
    assert_eq!((err["code"].clone(), err["detail"]["field"].clone()), (json!("validation"), json!("patient_id")));
    let err = app.invoke("transfer_patient", json!({ "admissionId": stay["id"], "toBedId": a1["id"] })).unwrap_err();
    assert_eq!(err["detail"]["field"], "to_bed_id");
    app.invoke("transfer_patient", json!({ "admissionId": stay["id"], "toBedId": a2["id"] })).unwrap();
    let board = app.invoke("bed_board", json!({ "filter": { "ward_id": null, "tag": null } })).unwrap();
    let beds = &board["wards"][0]["beds"];
    assert_eq!((beds[0]["state"].clone(), beds[1]["state"].clone()), (json!("cleaning"), json!("occupied")));
    assert_eq!(beds[1]["occupant"]["name"], "Ravi Sharma");
    assert_eq!(beds[1]["occupant"]["has_allergies"], true, "flagged at registration");
    assert_eq!(board["wards"][0]["counts"]["cleaning"], 1);
    let oxygen = app.invoke("bed_board", json!({ "filter": { "ward_id": null, "tag": "oxygen" } })).unwrap();
    assert_eq!(oxygen["wards"][0]["beds"].as_array().unwrap().len(), 1);

    sign_in("dr.rao", true);
    let out =
        json!({ "input": { "admission_id": stay["id"], "discharge_type": "home", "discharged_at": null, "note": "" } });
    let done = app.invoke("discharge_patient", out).unwrap();
    assert_eq!(done["discharge_type"], "home");
    let history = app.invoke("patient_admissions", json!({ "patientId": p["id"] })).unwrap();
    assert_eq!(history[0]["bed_id"], Value::Null);
    let err = app.invoke("bed_cleaned", json!({ "bedId": a2["id"] })).unwrap_err();
    assert_eq!(err, json!({ "code": "forbidden", "detail": { "permission": "beds_housekeeping" } }));
}

#[test]
fn a_delivery_is_received_a_prescription_dispensed_first_expiry_first_out_and_returned_through_the_commands() {
    let app = app();
    app.setup_admin();
    let user = |name: &str, role: &str| json!({ "username": name, "full_name": format!("Staff {name}"), "password": "Given#2026temp", "roles": [role] });
    let doctor_user = app.invoke("create_user", json!({ "input": user("dr.rao", "doctor") })).unwrap();
    app.invoke("create_user", json!({ "input": user("ph.iyer", "pharmacist") })).unwrap();
    let staff = json!({
        "full_name": "Dr Anil Rao", "role": "doctor", "user_id": doctor_user["id"], "department_id": null,
        "qualifications": "MD", "licence_no": "KMC-2", "specialty_ids": [], "phone": "", "email": "", "fee_minor": 0
    });
    app.invoke("add_staff", json!({ "input": staff })).unwrap();
    let p = app.invoke("register_patient", json!({ "input": patient("Ravi", "98450 12345") })).unwrap();
    let med = app
        .invoke("add_medicine", json!({ "input": { "name": "Amoxicillin", "strength": "500 mg", "form": "capsule" } }))
        .unwrap();
    // The administrator sets up the counter, a supplier and the item.
    let counter = app.invoke("add_stock_store", json!({ "input": { "name": "Pharmacy counter", "kind": "pharmacy" } }));
    let counter = counter.unwrap();
    let err = app.invoke("add_stock_store", json!({ "input": { "name": "Shelf", "kind": "cupboard" } })).unwrap_err();
    assert_eq!((err["code"].as_str(), err["detail"]["field"].as_str()), (Some("validation"), Some("kind")));
    let supplier = app.invoke("add_supplier", json!({ "input": { "name": "Medline" } })).unwrap();
    let item = json!({ "input": {
        "kind": "medicine", "medicine_id": med["id"], "pack_size": 10, "unit": "capsule", "reorder_level": 20,
        "tax_rate_bp": 1200, "sale_price_minor": 500
    } });
    let item = app.invoke("add_stock_item", item).unwrap();
    assert_eq!(item["generic_name"], "Amoxicillin");
    let receipt = json!({ "input": { "store_id": counter["id"], "supplier_id": supplier["id"], "invoice_no": "MD-1", "lines": [
        { "item_id": item["id"], "batch_no": "LATE", "expiry": "2099-12-31", "packs": 2, "sale_price_minor": null },
        { "item_id": item["id"], "batch_no": "SOON", "expiry": "2098-06-30", "packs": 1, "units": 2, "sale_price_minor": null }
    ] } });
    let err = app.invoke("receive_stock", receipt.clone()).unwrap_err();
    assert_eq!(err, json!({ "code": "forbidden", "detail": { "permission": "stock_receive" } }));

    let sign_in = |name: &str, first: bool| {
        app.invoke("sign_out", json!({})).unwrap();
        if first {
            app.invoke("sign_in", json!({ "username": name, "password": "Given#2026temp" })).unwrap();
            let change = json!({ "oldPassword": "Given#2026temp", "newPassword": "Desk#2026staff" });
            app.invoke("change_own_password", change).unwrap();
        } else {
            app.invoke("sign_in", json!({ "username": name, "password": "Desk#2026staff" })).unwrap();
        }
    };
    sign_in("ph.iyer", true);
    let r = app.invoke("receive_stock", receipt).unwrap();
    assert_eq!(r["quantities"], json!([20, 12]));
    let hits = app.invoke("search_stock_items", json!({ "query": "amox" })).unwrap();
    assert_eq!((hits[0]["on_hand"].clone(), hits[0]["below_reorder"].clone()), (json!(32), json!(false)));

    sign_in("dr.rao", true);
    let visit = app.invoke(
        "start_visit",
        json!({ "input": { "patient_id": p["id"], "doctor_id": null, "appointment_id": null } }),
    );
    let visit = visit.unwrap();
    // The patient's record flags a penicillin allergy: the doctor prescribes with a reason.
    let rx = json!({ "medicine_id": med["id"], "dose": "1", "dose_unit": "capsule", "route": "oral", "frequency": "1-1-1",
                     "duration_days": 5, "instructions": "", "override_reason": "Tolerated before" });
    let rx = app.invoke("prescribe", json!({ "visitId": visit["id"], "input": rx })).unwrap();
    let line = |quantity: i64| {
        json!({ "input": { "store_id": counter["id"], "lines": [
        { "prescription_id": rx["id"], "quantity": quantity, "item_id": null, "batch_id": null, "complete": true }
    ] } })
    };
    let err = app.invoke("dispense", line(15)).unwrap_err();
    assert_eq!(err, json!({ "code": "forbidden", "detail": { "permission": "stock_dispense" } }));

    sign_in("ph.iyer", false);
    let waiting = app.invoke("prescriptions_waiting", json!({})).unwrap();
    assert_eq!((waiting[0]["prescription_id"].clone(), waiting[0]["mrn"].is_string()), (rx["id"].clone(), true));
    assert_eq!(waiting[0]["allergies"], json!(["Penicillin"]), "the pharmacist sees the allergy");
    let err = app.invoke("dispense", line(33)).unwrap_err();
    assert_eq!((err["code"].as_str(), err["detail"]["field"].as_str()), (Some("validation"), Some("lines.0.quantity")));
    // What first expiry first out would take for the rest of the course (1 × 3 a day × 5 days).
    let ask = json!({ "input": { "prescription_id": rx["id"], "store_id": counter["id"], "quantity": null, "item_id": null } });
    let proposal = app.invoke("propose_dispense", ask).unwrap();
    assert_eq!((proposal["quantity"].clone(), proposal["course_units"].clone()), (json!(15), json!(15)));
    assert_eq!(proposal["allocation"]["picks"][0]["batch_no"], "SOON");
    // First expiry first out: SOON's 12, then 3 of LATE; each on the patient's bill.
    let d = app.invoke("dispense", line(15)).unwrap();
    let picks: Vec<(String, i64)> = d["lines"][0]["picks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["batch_no"].as_str().unwrap().to_string(), p["quantity"].as_i64().unwrap()))
        .collect();
    assert_eq!(picks, [("SOON".to_string(), 12), ("LATE".to_string(), 3)]);
    assert_eq!(d["lines"][0]["bill_line_ids"].as_array().unwrap().len(), 2);
    assert!(d["bill_id"].is_string());
    let labels =
        app.invoke("print_dispensing_labels", json!({ "dispensingId": d["lines"][0]["dispensing_id"] })).unwrap();
    assert!(std::fs::read(labels["path"].as_str().unwrap()).unwrap().starts_with(b"%PDF-"));
    let given = app.invoke("patient_dispensed", json!({ "patientId": p["id"] })).unwrap();
    assert_eq!(given.as_array().unwrap().len(), 2, "one row per batch taken: {given}");
    let back = json!({ "input": { "movement_id": d["lines"][0]["movement_ids"][1], "quantity": 3, "note": "" } });
    let back = app.invoke("return_dispensed", back).unwrap();
    assert_eq!(back["bill_adjusted"], true);
    let balances = app.invoke("item_balances", json!({ "itemId": item["id"] })).unwrap();
    assert_eq!(balances.as_array().unwrap().len(), 1, "SOON is empty: {balances}");
    assert_eq!((balances[0]["batch_no"].clone(), balances[0]["quantity"].clone()), (json!("LATE"), json!(20)));
    let expiring = app.invoke("expiry_report", json!({ "storeId": counter["id"], "days": 30 })).unwrap();
    assert_eq!(expiring, json!([]));
    assert_eq!(app.invoke("negative_batches", json!({})).unwrap(), json!([]));
    let err = app.invoke("set_stock_allow_negative", json!({ "allow": true })).unwrap_err();
    assert_eq!(err, json!({ "code": "forbidden", "detail": { "permission": "settings_manage" } }));

    // A stock take of the counter: LATE expected 20; the shelf has a pack and 9 (19): posted, −1.
    let open = json!({ "input": { "store_id": counter["id"] } });
    let take = app.invoke("open_stock_take", open.clone()).unwrap();
    assert_eq!(take["lines"], 1);
    let err = app.invoke("open_stock_take", open).unwrap_err();
    assert_eq!((err["code"].as_str(), err["detail"]["field"].as_str()), (Some("validation"), Some("store_id")));
    let sheet = app.invoke("stock_take", json!({ "takeId": take["id"] })).unwrap();
    assert_eq!(
        (sheet["lines"][0]["batch_no"].clone(), sheet["lines"][0]["expected"].clone()),
        (json!("LATE"), json!(20))
    );
    let count = json!({ "input": { "take_id": take["id"], "counts": [{ "line_id": sheet["lines"][0]["id"], "packs": 1, "units": 9 }] } });
    let counted = app.invoke("count_stock_take", count.clone()).unwrap();
    assert_eq!((counted[0]["counted"].clone(), counted[0]["variance"].clone()), (json!(19), json!(-1)));
    let printed = app.invoke("print_stock_take_sheet", json!({ "takeId": take["id"] })).unwrap();
    assert!(std::fs::read(printed["path"].as_str().unwrap()).unwrap().starts_with(b"%PDF-"));
    let posted = app.invoke("post_stock_take", json!({ "takeId": take["id"] })).unwrap();
    assert_eq!((posted["units_net"].clone(), posted["uncounted"].clone()), (json!(-1), json!(0)));
    let err = app.invoke("count_stock_take", count).unwrap_err();
    assert_eq!((err["code"].as_str(), err["detail"]["field"].as_str()), (Some("validation"), Some("take_id")));
    let balances = app.invoke("item_balances", json!({ "itemId": item["id"] })).unwrap();
    assert_eq!(balances[0]["quantity"], json!(19));
    let takes = app.invoke("stock_takes", json!({ "storeId": counter["id"] })).unwrap();
    assert_eq!(takes[0]["status"], "posted");
    // A purchase order: drafted, sent, received against in full, printed.
    let order = json!({ "input": { "supplier_id": supplier["id"], "store_id": counter["id"], "note": "",
                                   "lines": [{ "item_id": item["id"], "packs": 1, "pack_cost_minor": 300 }] } });
    let order = app.invoke("draft_purchase_order", order).unwrap();
    assert_eq!((order["status"].as_str(), order["total_minor"].as_i64()), (Some("draft"), Some(300)));
    let sent = app.invoke("send_purchase_order", json!({ "orderId": order["id"] })).unwrap();
    assert_eq!(sent["status"], "sent");
    let delivery = |packs: u32| {
        json!({ "orderId": order["id"], "input": { "store_id": "", "supplier_id": null, "invoice_no": "MD-9", "lines": [
            { "item_id": item["id"], "batch_no": "PO-1", "expiry": "2099-01-31", "packs": packs, "sale_price_minor": null }
        ] } })
    };
    let err = app.invoke("receive_purchase_order", delivery(2)).unwrap_err();
    assert_eq!((err["code"].as_str(), err["detail"]["field"].as_str()), (Some("validation"), Some("lines.0.packs")));
    app.invoke("receive_purchase_order", delivery(1)).unwrap();
    let orders = app.invoke("purchase_orders", json!({})).unwrap();
    assert_eq!(orders[0]["status"], "received");
    let printed = app.invoke("print_purchase_order", json!({ "orderId": order["id"] })).unwrap();
    assert!(std::fs::read(printed["path"].as_str().unwrap()).unwrap().starts_with(b"%PDF-"));
    let err = app.invoke("approve_purchase_order", json!({ "orderId": order["id"] })).unwrap_err();
    assert_eq!(err, json!({ "code": "forbidden", "detail": { "permission": "purchase_approve" } }));
}

#[test]
fn home_reads_the_administrators_dashboard_with_todays_collection_after_a_payment() {
    let app = app();
    app.setup_admin();
    let home = app.invoke("dashboard_home", json!({})).unwrap();
    assert_eq!(home["admin"]["today"]["received"], 0);
    assert_eq!((home["reception"].clone(), home["doctor"].clone()), (Value::Null, Value::Null));
    let p = app.invoke("register_patient", json!({ "input": patient("Ravi", "98450 12345") })).unwrap();
    let bill = app.invoke("open_bill", json!({ "patientId": p["id"] })).unwrap();
    let line = json!({ "input": { "service_id": null, "description": "Dressing", "quantity": 2,
                                  "unit_price_minor": 12050, "discount": { "kind": "none" } } });
    app.invoke("add_bill_line", json!({ "billId": bill["id"], "input": line["input"] })).unwrap();
    app.invoke("finalize_bill", json!({ "billId": bill["id"] })).unwrap();
    let pay = json!({ "mode": "upi", "amount_minor": 10000, "reference": "UTR1", "note": "" });
    app.invoke("take_payment", json!({ "billId": bill["id"], "input": pay })).unwrap();
    let home = app.invoke("dashboard_home", json!({})).unwrap();
    let today = &home["admin"]["today"];
    assert_eq!((today["invoiced"].clone(), today["received"].clone()), (json!(24100), json!(10000)));
    let upi = today["by_mode"].as_array().unwrap().iter().find(|m| m["mode"] == "upi").unwrap();
    assert_eq!(upi["received"], 10000);
    assert_eq!(home["admin"]["receivables"], json!({ "invoices": 1, "amount": 14100 }));
    assert_eq!(home["today"], today["from"]);
}

#[test]
fn a_doctor_orders_a_nurse_gives_the_due_dose_once_and_a_discharge_stops_the_orders() {
    let app = app();
    app.setup_admin();
    let ward =
        app.invoke("add_ward", json!({ "input": { "name": "General", "kind": "general", "bed_service_id": null } }));
    let ward = ward.unwrap();
    let bed = json!({ "ward_id": ward["id"], "room_id": null, "label": "A1", "tags": [], "bed_service_id": null });
    let bed = app.invoke("add_bed", json!({ "input": bed })).unwrap();
    let medicine = json!({ "name": "Paracetamol", "strength": "650 mg", "form": "tablet", "ingredients": [] });
    let medicine = app.invoke("add_medicine", json!({ "input": medicine })).unwrap();
    let user = |name: &str, role: &str| json!({ "username": name, "full_name": format!("Staff {name}"), "password": "Given#2026temp", "roles": [role] });
    let doctor_user = app.invoke("create_user", json!({ "input": user("dr.rao", "doctor") })).unwrap();
    app.invoke("create_user", json!({ "input": user("n.joseph", "nurse") })).unwrap();
    let staff = json!({
        "full_name": "Dr Anil Rao", "role": "doctor", "user_id": doctor_user["id"], "department_id": null,
        "qualifications": "MD", "licence_no": "KMC-2", "specialty_ids": [], "phone": "", "email": "", "fee_minor": 0
    });
    let doctor = app.invoke("add_staff", json!({ "input": staff })).unwrap();
    let p = app.invoke("register_patient", json!({ "input": patient("Ravi", "98450 12345") })).unwrap();
    let sign_in = |name: &str| {
        app.invoke("sign_out", json!({})).unwrap();
        app.invoke("sign_in", json!({ "username": name, "password": "Given#2026temp" })).unwrap();
        let change = json!({ "oldPassword": "Given#2026temp", "newPassword": "Ward#2026staff" });
        app.invoke("change_own_password", change).unwrap();
    };
    sign_in("dr.rao");
    let admit = json!({ "input": {
        "patient_id": p["id"], "doctor_id": doctor["id"], "reason": "Fever", "diagnosis_code": "",
        "expected_days": 3, "ward_id": ward["id"], "bed_id": bed["id"]
    } });
    let stay = app.invoke("admit_patient", admit).unwrap();
    let order = |schedule: &str, every: Value| {
        json!({ "input": {
            "admission_id": stay["id"], "kind": "medicine", "medicine_id": medicine["id"], "dose": "1", "dose_unit": "tablet",
            "route": "oral", "schedule": schedule, "times_pattern": "", "every_hours": every, "prn_max_per_day": null,
            "lab_test_id": null, "instructions": "", "start_at": null, "end_at": null
        } })
    };
    let err = app.invoke("order_for_inpatient", order("every", Value::Null)).unwrap_err();
    assert_eq!((err["code"].as_str(), err["detail"]["field"].as_str()), (Some("validation"), Some("every_hours")));
    let q6 = app.invoke("order_for_inpatient", order("every", json!(6))).unwrap();
    assert_eq!(
        (q6["schedule"].as_str(), q6["medicine_name"].as_str()),
        (Some("every"), Some("Paracetamol 650 mg tablet"))
    );
    let err = app.invoke("record_dose", json!({ "input": { "order_id": q6["id"], "scheduled_at": null, "outcome": "given", "reason": "", "given_at": null } }));
    assert_eq!(err.unwrap_err(), json!({ "code": "forbidden", "detail": { "permission": "mar_record" } }));

    // The nurse's due list has the first dose; she gives it; a second record is refused.
    sign_in("n.joseph");
    let due = app.invoke("ward_due_list", json!({ "wardId": ward["id"], "at": null })).unwrap();
    let item = &due["patients"][0]["items"][0];
    assert_eq!((item["kind"].as_str(), item["status"].as_str()), (Some("dose"), Some("due")));
    let give = json!({ "input": { "order_id": q6["id"], "scheduled_at": item["due_at"], "outcome": "given", "reason": "", "given_at": null } });
    let entry = app.invoke("record_dose", give.clone()).unwrap();
    assert_eq!(entry["outcome"], "given");
    let err = app.invoke("record_dose", give).unwrap_err();
    assert_eq!(
        (err["detail"]["field"].as_str(), err["detail"]["reason"].as_str()),
        (Some("scheduled_at"), Some("taken"))
    );
    let due = app.invoke("ward_due_list", json!({ "wardId": ward["id"], "at": null })).unwrap();
    assert_eq!(due["patients"][0]["items"], json!([]));
    let note =
        json!({ "input": { "admission_id": stay["id"], "kind": "nursing", "shift": "night", "body": "Slept well" } });
    app.invoke("add_inpatient_note", note).unwrap();
    // Intake and output: the nurse charts, the balances are the core's; the handover lists the
    // patient with the shift's balance.
    let io = |direction: &str, kind: &str| {
        json!({ "input": { "admission_id": stay["id"], "direction": direction, "kind": kind, "volume_ml": 350,
                           "at": null, "note": "", "voids_id": null, "void_reason": "" } })
    };
    let charted = app.invoke("record_intake_output", io("output", "urine")).unwrap();
    assert_eq!((charted["volume_ml"].clone(), charted["counts"].clone()), (json!(350), json!(true)));
    let err = app.invoke("record_intake_output", io("intake", "urine")).unwrap_err();
    assert_eq!((err["detail"]["field"].as_str(), err["detail"]["reason"].as_str()), (Some("kind"), Some("invalid")));
    let chart = app.invoke("intake_output_chart", json!({ "admissionId": stay["id"], "day": null })).unwrap();
    assert_eq!(
        (chart["day_total"]["output_ml"].clone(), chart["day_total"]["net_ml"].clone()),
        (json!(350), json!(-350))
    );
    let handover = app.invoke("ward_handover", json!({ "wardId": ward["id"], "day": null, "shift": null })).unwrap();
    assert_eq!(handover["patients"][0]["admission_id"], stay["id"]);
    assert_eq!(handover["patients"][0]["notes"][0]["body"], "Slept well");
    assert_eq!(handover["patients"][0]["io"]["output_ml"], 350);
    let err = app.invoke("stop_inpatient_order", json!({ "orderId": q6["id"], "reason": "x" })).unwrap_err();
    assert_eq!(err, json!({ "code": "forbidden", "detail": { "permission": "inpatient_orders" } }));

    // The doctor reads the MAR and the notes, changes the order, then discharges.
    sign_in_again(&app, "dr.rao");
    let mar = app.invoke("admission_mar", json!({ "admissionId": stay["id"] })).unwrap();
    assert_eq!(mar["entries"][0]["id"], entry["id"]);
    let notes = app.invoke("inpatient_notes", json!({ "admissionId": stay["id"] })).unwrap();
    assert_eq!((notes[0]["kind"].as_str(), notes[0]["shift"].as_str()), (Some("nursing"), Some("night")));
    let mut q8 = order("every", json!(8));
    let new =
        app.invoke("change_inpatient_order", json!({ "orderId": q6["id"], "input": q8["input"].take() })).unwrap();
    assert_eq!(new["replaces_id"], q6["id"]);
    let out =
        json!({ "input": { "admission_id": stay["id"], "discharge_type": "home", "discharged_at": null, "note": "" } });
    app.invoke("discharge_patient", out).unwrap();
    let orders = app.invoke("inpatient_orders", json!({ "admissionId": stay["id"] })).unwrap();
    let reasons: Vec<&str> = orders.as_array().unwrap().iter().map(|o| o["stop_reason"].as_str().unwrap()).collect();
    assert_eq!(reasons, vec!["discharged", "changed"]);
}

fn sign_in_again(app: &App, name: &str) {
    app.invoke("sign_out", json!({})).unwrap();
    app.invoke("sign_in", json!({ "username": name, "password": "Ward#2026staff" })).unwrap();
}

#[test]
fn a_doctor_writes_the_discharge_summary_discharges_finalises_and_prints_it() {
    let app = app();
    app.setup_admin();
    let ward =
        app.invoke("add_ward", json!({ "input": { "name": "General", "kind": "general", "bed_service_id": null } }));
    let ward = ward.unwrap();
    let bed = json!({ "ward_id": ward["id"], "room_id": null, "label": "A1", "tags": [], "bed_service_id": null });
    let bed = app.invoke("add_bed", json!({ "input": bed })).unwrap();
    let medicine = json!({ "name": "Paracetamol", "strength": "650 mg", "form": "tablet", "ingredients": [] });
    let medicine = app.invoke("add_medicine", json!({ "input": medicine })).unwrap();
    let user =
        json!({ "username": "dr.rao", "full_name": "Dr Anil Rao", "password": "Given#2026temp", "roles": ["doctor"] });
    let doctor_user = app.invoke("create_user", json!({ "input": user })).unwrap();
    let staff = json!({
        "full_name": "Dr Anil Rao", "role": "doctor", "user_id": doctor_user["id"], "department_id": null,
        "qualifications": "MD", "licence_no": "KMC-2", "specialty_ids": [], "phone": "", "email": "", "fee_minor": 0
    });
    let doctor = app.invoke("add_staff", json!({ "input": staff })).unwrap();
    let p = app.invoke("register_patient", json!({ "input": patient("Ravi", "98450 12345") })).unwrap();
    app.invoke("sign_out", json!({})).unwrap();
    app.invoke("sign_in", json!({ "username": "dr.rao", "password": "Given#2026temp" })).unwrap();
    let change = json!({ "oldPassword": "Given#2026temp", "newPassword": "Ward#2026staff" });
    app.invoke("change_own_password", change).unwrap();
    let admit = json!({ "input": {
        "patient_id": p["id"], "doctor_id": doctor["id"], "reason": "Fever", "diagnosis_code": "",
        "expected_days": 3, "ward_id": ward["id"], "bed_id": bed["id"]
    } });
    let stay = app.invoke("admit_patient", admit).unwrap();
    let view = app.invoke("discharge_summary", json!({ "admissionId": stay["id"] })).unwrap();
    assert_eq!((view["summary"].clone(), view["can_write"].clone()), (Value::Null, json!(true)));
    assert_eq!(view["allergies"], "Penicillin", "read from the record");
    let input = |code: &str| {
        json!({ "input": {
            "admission_id": stay["id"], "diagnoses": [{ "code": code, "text": "" }], "course": "Settled on fluids.",
            "procedures": "", "investigations": [],
            "medicines": [{ "medicine_id": medicine["id"], "dose": "1", "dose_unit": "tablet", "schedule": "1-0-1",
                            "days": 3, "prn": false, "instructions": "" }],
            "advice": "Rest", "follow_up_on": null, "follow_up_doctor_id": null
        } })
    };
    let err = app.invoke("save_discharge_summary", input("Q99.99X")).unwrap_err();
    assert_eq!((err["code"].as_str(), err["detail"]["field"].as_str()), (Some("validation"), Some("diagnoses.0.code")));
    let saved = app.invoke("save_discharge_summary", input("A09")).unwrap();
    assert_eq!(saved["medicines"][0]["name"], "Paracetamol 650 mg tablet");
    assert_eq!(saved["follow_up_on"], Value::Null);
    let err = app.invoke("finalise_discharge_summary", json!({ "admissionId": stay["id"] })).unwrap_err();
    assert_eq!(err["detail"]["field"], "admission_id", "not before the discharge");
    let out =
        json!({ "input": { "admission_id": stay["id"], "discharge_type": "home", "discharged_at": null, "note": "" } });
    app.invoke("discharge_patient", out).unwrap();
    let done = app.invoke("finalise_discharge_summary", json!({ "admissionId": stay["id"] })).unwrap();
    assert!(done["finalised_at"].is_string());
    let printed = app.invoke("print_discharge_summary", json!({ "admissionId": stay["id"] })).unwrap();
    assert!(printed["file_name"].as_str().unwrap().starts_with("discharge-summary-"));
    assert!(std::fs::read(printed["path"].as_str().unwrap()).unwrap().starts_with(b"%PDF-"));
    let listed = app.invoke("printouts", json!({ "of": { "of": "patient", "id": p["id"] } })).unwrap();
    assert_eq!(
        (listed[0]["kind"].as_str(), listed[0]["admission_id"].clone()),
        (Some("discharge_summary"), stay["id"].clone())
    );
}
