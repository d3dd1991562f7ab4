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
    /// When this database holds the demo hospital: its accounts and their published password,
    /// for the sign-in screen's hint. Empty for a real clinic.
    pub demo_accounts: Vec<DemoAccount>,
}

#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct NewAdmin {
    pub username: String,
    pub full_name: String,
    pub password: String,
}

/// What a new clinic chooses at set-up besides its administrator: the starter lists to begin
/// with (editable later) and its time zone (changed later in Settings).
#[derive(Debug, Clone, Default, Deserialize, specta::Type)]
pub struct Starters {
    /// The starter formulary (`clinical::formulary`): about 440 generic medicines with their
    /// ingredients and usual adult doses.
    #[serde(default)]
    pub formulary: bool,
    /// The starter lab catalogue (`clinical::starter`): about 70 common tests with LOINC
    /// codes, specimens, units and reference ranges by sex and age band.
    #[serde(default)]
    pub lab_tests: bool,
    /// The clinic's time zone (IANA name, one of [`crate::settings::time_zone_choices`]);
    /// none leaves UTC. The set-up screen offers this computer's zone, shown, never applied
    /// unseen.
    #[serde(default)]
    pub time_zone: Option<String>,
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

/// The demo hospital's accounts, as [`load_demo`] creates them.
pub fn demo_accounts() -> Vec<DemoAccount> {
    DEMO_STAFF
        .iter()
        .map(|(username, _, role)| DemoAccount {
            username: (*username).into(),
            password: DEMO_PASSWORD.into(),
            roles: vec![*role],
        })
        .collect()
}

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
        demo_accounts: if crate::audit::holds_demo(store).await? { demo_accounts() } else { Vec::new() },
    })
}

/// Creates the first administrator. Refused once any account exists.
pub async fn create_first_admin(store: &Store, input: NewAdmin) -> Result<String> {
    create_clinic(store, input, Starters::default()).await
}

/// Creates the first administrator and, in the same write (all or nothing), the starter lists
/// chosen. Refused once any account exists.
pub async fn create_clinic(store: &Store, input: NewAdmin, starters: Starters) -> Result<String> {
    let zone = match starters.time_zone.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(name) => Some(crate::settings::time_zone_named(name)?),
    };
    let prepared = users::prepare(&NewUser {
        username: input.username,
        full_name: input.full_name,
        password: input.password,
        roles: vec![Role::Admin.code().to_string()],
    })
    .await?;
    let id = crate::ids::new_id();
    // The new administrator is the author of their own account, signed with their own key
    // (held for this write only; signing in holds it for the session).
    store.hold_user_key(&id, prepared.key.clone());
    let made = write_clinic(store, prepared, &id, &starters, zone).await;
    store.drop_user_key(&id);
    made.map(|()| id)
}

async fn write_clinic(
    store: &Store,
    prepared: users::Prepared,
    id: &str,
    starters: &Starters,
    zone: Option<chrono_tz::Tz>,
) -> Result<()> {
    let id = id.to_string();
    let mut w = store.begin_write(Actor::user(id.clone())).await?;
    let any: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(w.conn()).await?;
    if any > 0 {
        return Err(Error::AlreadySetUp);
    }
    users::insert(&mut w, prepared, id.clone()).await?;
    w.audit(
        "setup.first_admin",
        "user",
        Some(&id),
        json!({
            "starter_formulary": starters.formulary,
            "starter_lab_tests": starters.lab_tests,
            "time_zone": zone.map(|z| z.name()),
        }),
    )
    .await?;
    if let Some(zone) = zone {
        crate::settings::put(&mut w, crate::settings::TIME_ZONE_KEY, &json!(zone.name())).await?;
    }
    if starters.formulary {
        crate::clinical::formulary::load_in(&mut w).await?;
    }
    if starters.lab_tests {
        crate::clinical::starter::load_in(&mut w).await?;
    }
    w.commit().await
}

/// Creates the first administrator and signs them in.
pub async fn setup_first_admin(store: &Store, slot: &SessionSlot, input: NewAdmin) -> Result<SessionInfo> {
    setup_clinic(store, slot, input, Starters::default()).await
}

/// Creates the first administrator with the starter lists chosen, and signs them in.
pub async fn setup_clinic(
    store: &Store,
    slot: &SessionSlot,
    input: NewAdmin,
    starters: Starters,
) -> Result<SessionInfo> {
    let (username, password) = (input.username.clone(), input.password.clone());
    create_clinic(store, input, starters).await?;
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
        prepared.push(users::prepare(&input).await?);
    }
    let today = crate::clinic::today(store).await?;
    let mut w = store.begin_write(Actor::system()).await?;
    let any: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(w.conn()).await?;
    if any > 0 {
        return Err(Error::AlreadySetUp);
    }
    for p in prepared {
        users::insert(&mut w, p, crate::ids::new_id()).await?;
    }
    let accounts = demo_accounts();
    let patients = crate::patients::demo::insert(&mut w, today).await?;
    w.audit(crate::audit::DEMO_LOADED, "system", None, json!({ "accounts": accounts.len(), "patients": patients }))
        .await?;
    w.commit().await?;
    demo_clinic(store).await?;
    Ok(accounts)
}

/// The demo's doctors, weekly schedules and tariff, entered as its administrator would
/// (each an audited write): a clinic where booking, the queue and billing work at once.
async fn demo_clinic(store: &Store) -> Result<()> {
    use crate::billing::{tariff, ServiceInput};
    use crate::schedule::{availability, availability::SessionInput, staff, staff::StaffInput};
    let id_of = |username: &str| {
        sqlx::query_scalar::<_, String>("SELECT id FROM users WHERE username = ?").bind(username.to_string())
    };
    let admin =
        crate::session::Authorized { user_id: id_of("admin").fetch_one(store.pool()).await?, roles: vec![Role::Admin] };
    let opd = staff::add_department(store, &admin, "Outpatients").await?;
    let general = staff::add_specialty(store, &admin, "General medicine").await?;
    let paediatrics = staff::add_specialty(store, &admin, "Paediatrics").await?;
    let doctors = [
        (
            "Dr. Vikram Rao",
            Some(id_of("dr.rao").fetch_one(store.pool()).await?),
            &general,
            "MBBS, MD (Medicine)",
            "KMC-48213",
            50_000,
        ),
        ("Dr. Anjali Menon", None, &paediatrics, "MBBS, DCH", "KMC-51877", 40_000),
    ];
    for (name, user_id, specialty, qualifications, licence, fee) in doctors {
        let input = StaffInput {
            full_name: name.into(),
            role: "doctor".into(),
            user_id,
            department_id: Some(opd.id.clone()),
            qualifications: qualifications.into(),
            licence_no: licence.into(),
            specialty_ids: vec![specialty.id.clone()],
            fee_minor: fee,
            ..Default::default()
        };
        let doctor = staff::add_staff(store, &admin, input).await?;
        // Mon–Sat 09:00–13:00 and 17:00–20:00 in 15-minute slots.
        let week = (1..=6u8)
            .flat_map(|d| {
                [("09:00", "13:00"), ("17:00", "20:00")].map(|(start, end)| SessionInput {
                    weekday: d,
                    start: start.into(),
                    end: end.into(),
                    slot_minutes: 15,
                })
            })
            .collect();
        availability::set_weekly(store, &admin, &doctor.id, week).await?;
    }
    crate::clinical::formulary::load(store, &admin).await?;
    for (code, name, category, rate, price) in DEMO_TARIFF {
        let input = ServiceInput {
            code: (*code).into(),
            name: (*name).into(),
            category: (*category).into(),
            tax_rate_bp: *rate,
            tax_exempt: *rate == 0,
            price_minor: *price,
            effective_from: None,
        };
        tariff::add_service(store, &admin, input).await?;
    }
    crate::clinical::starter::load_starter_lab_tests(store, &admin).await?;
    Ok(())
}

/// (code, name, category, tax rate in basis points, price in paise)
const DEMO_TARIFF: &[(&str, &str, &str, u32, i64)] = &[
    ("CONSULT", "Consultation", "consultation", 0, 50_000),
    ("CBC", "Complete blood count", "lab_test", 0, 35_000),
    ("LIPID", "Lipid profile", "lab_test", 0, 70_000),
    ("XR-CHEST", "Chest X-ray", "procedure", 1_800, 75_000),
    ("ECG", "ECG", "procedure", 1_800, 30_000),
    ("DRESS", "Dressing", "procedure", 1_200, 20_000),
    ("BED-GEN", "General ward bed-day", "bed_day", 0, 150_000),
    ("PARA-500", "Paracetamol 500 mg (strip of 10)", "pharmacy", 1_200, 2_500),
];
