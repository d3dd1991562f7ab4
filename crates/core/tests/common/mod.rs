#![allow(dead_code)]
//! Shared helpers: a store on a temporary file, and signed-in sessions.

use hms_core::setup::{self, NewAdmin};
use hms_core::users::{self, NewUser};
use hms_core::{SessionSlot, Store};
use tempfile::TempDir;

pub const ADMIN_PW: &str = "Clinic#2026adm";
pub const STAFF_PW: &str = "Desk#2026staff";

pub struct Env {
    pub dir: TempDir,
    pub store: Store,
}

pub async fn store() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in_dir(dir.path()).await.unwrap();
    Env { dir, store }
}

/// A store with a first administrator, signed in on the returned slot.
pub async fn with_admin() -> (Env, SessionSlot) {
    let env = store().await;
    let slot = SessionSlot::default();
    setup::setup_first_admin(
        &env.store,
        &slot,
        NewAdmin { username: "admin".into(), full_name: "Asha Menon".into(), password: ADMIN_PW.into() },
    )
    .await
    .unwrap();
    (env, slot)
}

pub async fn add_user(store: &Store, admin: &SessionSlot, username: &str, roles: &[&str]) -> String {
    let auth = admin.authorize(store).await.unwrap();
    let id = users::create(
        store,
        &auth,
        NewUser {
            username: username.into(),
            full_name: format!("Staff {username}"),
            password: STAFF_PW.into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
        },
    )
    .await
    .unwrap()
    .id;
    settled(store, &id).await;
    id
}

/// Makes an account's password its own, as if its owner had changed it at the first sign-in
/// (locally: these tests are not about temporary passwords).
pub async fn settled(store: &Store, user_id: &str) {
    sqlx::query("UPDATE users SET must_change_password = 0 WHERE id = ?")
        .bind(user_id)
        .execute(store.pool())
        .await
        .unwrap();
}

pub async fn count(store: &Store, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(store.pool()).await.unwrap()
}

/// (users, change_log, audit_log) row counts.
pub async fn counts(store: &Store) -> (i64, i64, i64) {
    (count(store, "users").await, count(store, "change_log").await, count(store, "audit_log").await)
}

pub async fn actions(store: &Store) -> Vec<String> {
    sqlx::query_scalar("SELECT action FROM audit_log ORDER BY seq").fetch_all(store.pool()).await.unwrap()
}

/// The text of a PDF file, laid out as on the page (pdftotext -layout, poppler-utils: `make
/// deps` installs it).
pub fn pdf_text(path: &std::path::Path) -> String {
    let out = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils): make deps installs it");
    assert!(out.status.success(), "pdftotext failed on {}", path.display());
    String::from_utf8_lossy(&out.stdout).into_owned()
}
