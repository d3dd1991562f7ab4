//! First start: the app status, creating the first administrator, or loading a demo hospital.

use crate::error::{Error, Result};
use crate::rbac::Role;
use crate::session::{SessionInfo, SessionSlot};
use crate::store::{Actor, Store};
use crate::users::{self, repo, NewUser};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct AppStatus {
    pub needs_setup: bool,
    pub session: Option<SessionInfo>,
    pub device_id: String,
    pub version: String,
    pub schema_version: u32,
}

#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct NewAdmin {
    pub username: String,
    pub full_name: String,
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct DemoAccount {
    pub username: String,
    pub password: String,
    pub roles: Vec<Role>,
}

/// The password of every demo account (shown on screen and in the README; demo only).
pub const DEMO_PASSWORD: &str = "Demo#Clinic2026";

const DEMO_STAFF: &[(&str, &str, Role)] = &[
    ("admin", "Asha Menon (Administrator)", Role::Admin),
    ("dr.rao", "Dr. Vikram Rao", Role::Doctor),
    ("nurse.mary", "Mary Thomas", Role::Nurse),
    ("reception", "Priya Sharma", Role::Receptionist),
    ("pharmacy", "Imran Khan", Role::Pharmacist),
    ("lab", "Lakshmi Iyer", Role::LabTechnician),
    ("accounts", "Rahul Verma", Role::Accountant),
];

pub async fn needs_setup(store: &Store) -> Result<bool> {
    Ok(repo::count(store.pool()).await? == 0)
}

pub async fn status(store: &Store, slot: &SessionSlot) -> Result<AppStatus> {
    Ok(AppStatus {
        needs_setup: needs_setup(store).await?,
        session: slot.info(store).await?,
        device_id: store.device_id().to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        schema_version: u32::try_from(store.schema_version().await?).unwrap_or(0),
    })
}

/// Creates the first administrator. Refused once any account exists.
pub async fn create_first_admin(store: &Store, input: NewAdmin) -> Result<String> {
    let prepared = users::prepare(&NewUser {
        username: input.username,
        full_name: input.full_name,
        password: input.password,
        roles: vec![Role::Admin.code().to_string()],
    })
    .await?;
    let id = crate::ids::new_id();
    // The new administrator is the author of their own account.
    let mut w = store.begin_write(Actor::user(id.clone())).await?;
    let any: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(w.conn()).await?;
    if any > 0 {
        return Err(Error::AlreadySetUp);
    }
    users::insert(&mut w, prepared, id.clone()).await?;
    w.audit("setup.first_admin", "user", Some(&id), json!({})).await?;
    w.commit().await?;
    Ok(id)
}

/// Creates the first administrator and signs them in.
pub async fn setup_first_admin(store: &Store, slot: &SessionSlot, input: NewAdmin) -> Result<SessionInfo> {
    let (username, password) = (input.username.clone(), input.password.clone());
    create_first_admin(store, input).await?;
    crate::auth::sign_in(store, slot, &username, &password).await
}

/// Fills an empty database with a demo hospital: one account per role, all with
/// [`DEMO_PASSWORD`]. Later areas add their demo records here.
pub async fn load_demo(store: &Store) -> Result<Vec<DemoAccount>> {
    let mut prepared = Vec::new();
    for (username, name, role) in DEMO_STAFF {
        let input = NewUser {
            username: (*username).into(),
            full_name: (*name).into(),
            password: DEMO_PASSWORD.into(),
            roles: vec![role.code().into()],
        };
        prepared.push((users::prepare(&input).await?, *role));
    }
    let mut w = store.begin_write(Actor::system()).await?;
    let any: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(w.conn()).await?;
    if any > 0 {
        return Err(Error::AlreadySetUp);
    }
    let mut accounts = Vec::new();
    for (p, role) in prepared {
        let username = p.username.clone();
        users::insert(&mut w, p, crate::ids::new_id()).await?;
        accounts.push(DemoAccount { username, password: DEMO_PASSWORD.into(), roles: vec![role] });
    }
    let patients = crate::patients::demo::insert(&mut w, store.now().date_naive()).await?;
    w.audit("setup.demo_loaded", "system", None, json!({ "accounts": accounts.len(), "patients": patients })).await?;
    w.commit().await?;
    Ok(accounts)
}
