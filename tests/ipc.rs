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
