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
        self.invoke("setup_first_admin", json!({ "input": input })).unwrap();
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
    assert_eq!(status["session"]["areas"], json!(["patients", "users", "audit", "settings"]));
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
    let input = json!({ "username": "reception", "full_name": "Priya Sharma", "password": "Desk#2026staff", "roles": ["receptionist"] });
    let created = app.invoke("create_user", json!({ "input": input })).unwrap();
    assert_eq!(created["roles"], json!(["receptionist"]));
    app.invoke("sign_out", json!({})).unwrap();
    app.invoke("sign_in", json!({ "username": "reception", "password": "Desk#2026staff" })).unwrap();
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
        .invoke("update_settings", json!({ "settings": { "idle_timeout_minutes": 0, "clinic_name": "Sunrise Clinic" } }))
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

    let dups = app.invoke("find_duplicates", json!({ "input": patient("Anil", "9845012345"), "excludeId": null })).unwrap();
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
