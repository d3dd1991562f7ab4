//! `hms-admin crash-child --db PATH` (hidden): the child of the crash test
//! (`crates/cli/tests/crash.rs`, `scripts/crash-soak`). It makes acknowledged writes without
//! end, as the desks do (a registration; every third patient a bill finalized and paid in
//! full; every fifth a consultation with vitals and a diagnosis, by its administrator who is
//! a doctor too), and prints one line per
//! write only AFTER the core has returned from it (its commit done):
//! `ACK patient|payment|visit <id>`. The parent kills it with SIGKILL at random points and
//! checks that every acknowledged write survived, whole.

use hms_core::billing::money::Discount;
use hms_core::billing::{bills, payments, LineInput, PaymentInput, PaymentMode};
use hms_core::clinical::{chart, Certainty, ConsultationInput, DiagnosisInput, VisitInput, VitalsInput};
use hms_core::patients::{self, PatientInput};
use hms_core::schedule::staff;
use hms_core::setup::{self, NewAdmin};
use hms_core::users::{self, UserUpdate};
use hms_core::{auth, Authorized, SessionSlot, Store};
use std::io::Write;
use std::path::Path;

const ADMIN: &str = "crash.admin";
const PASSWORD: &str = "Crash#Test2026";

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// One line on standard output, flushed: the parent reads it as soon as it is written.
fn say(line: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").and_then(|()| out.flush()).map_err(err)
}

/// `n` as letters (a name passes the name rules: no digits).
fn letters(mut n: u64) -> String {
    let mut s = String::new();
    loop {
        s.push(char::from(b'a' + (n % 26) as u8));
        n /= 26;
        if n == 0 {
            break;
        }
    }
    s
}

/// The administrator records the consultations too (one sign-in per start, the child's
/// slowest step): made a doctor as well, with a staff profile. Made once; a kill in between
/// leaves the rest for the next start.
async fn also_doctor(store: &Store, slot: &SessionSlot) -> Result<Authorized, String> {
    let admin = slot.authorize(store).await.map_err(err)?;
    if !admin.roles.contains(&hms_core::rbac::Role::Doctor) {
        let update = UserUpdate {
            user_id: admin.user_id.clone(),
            full_name: "Crash Admin".into(),
            roles: vec!["admin".into(), "doctor".into()],
        };
        users::update(store, &admin, update).await.map_err(err)?;
    }
    let profile: Option<String> = sqlx::query_scalar("SELECT id FROM staff WHERE user_id = ?")
        .bind(&admin.user_id)
        .fetch_optional(store.pool())
        .await
        .map_err(err)?;
    if profile.is_none() {
        let input = staff::StaffInput {
            full_name: "Dr Crash".into(),
            role: "doctor".into(),
            user_id: Some(admin.user_id.clone()),
            ..Default::default()
        };
        staff::add_staff(store, &admin, input).await.map_err(err)?;
    }
    slot.authorize(store).await.map_err(err)
}

pub async fn run(db: &Path) -> Result<(), String> {
    let store = Store::open(db).await.map_err(err)?;
    if setup::needs_setup(&store).await.map_err(err)? {
        let admin = NewAdmin { username: ADMIN.into(), full_name: "Crash Admin".into(), password: PASSWORD.into() };
        setup::create_first_admin(&store, admin).await.map_err(err)?;
    }
    let slot = SessionSlot::default();
    auth::sign_in(&store, &slot, ADMIN, PASSWORD).await.map_err(err)?;
    let admin = also_doctor(&store, &slot).await?;
    // Names go on from what is there, so that no two patients look alike.
    let start: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM patients").fetch_one(store.pool()).await.map_err(err)?;
    say("READY")?;
    for i in start as u64.. {
        let input = PatientInput {
            given_name: format!("Crash{}", letters(i)),
            family_name: "Test".into(),
            sex: if i % 2 == 0 { "female" } else { "male" }.into(),
            ..Default::default()
        };
        let patient = patients::register(&store, &admin, input).await.map_err(err)?;
        say(&format!("ACK patient {}", patient.id))?;
        if i % 3 == 0 {
            let bill = bills::open_bill(&store, &admin, &patient.id).await.map_err(err)?;
            let line = LineInput {
                service_id: None,
                description: "Consultation".into(),
                quantity: 1,
                unit_price_minor: Some(50_000),
                discount: Discount::None,
            };
            bills::add_line(&store, &admin, &bill.id, line).await.map_err(err)?;
            let bill = bills::finalize(&store, &admin, &bill.id).await.map_err(err)?;
            let payment = PaymentInput {
                mode: PaymentMode::Cash,
                amount_minor: bill.due_minor,
                reference: String::new(),
                note: String::new(),
            };
            let bill = payments::pay(&store, &admin, &bill.id, payment).await.map_err(err)?;
            let paid = bill.payments.last().ok_or("a payment without its row")?;
            say(&format!("ACK payment {}", paid.id))?;
        }
        if i % 5 == 0 {
            let input = ConsultationInput {
                visit: VisitInput {
                    patient_id: patient.id.clone(),
                    complaints: "Fever for three days".into(),
                    ..Default::default()
                },
                vitals: Some(VitalsInput { temperature_c_x10: Some(381), pulse: Some(92), ..Default::default() }),
                diagnoses: vec![DiagnosisInput {
                    icd10: None,
                    text: "Viral fever".into(),
                    certainty: Certainty::Provisional,
                }],
                prescriptions: vec![],
                lab_test_ids: vec![],
            };
            let saved = chart::save_consultation(&store, &admin, input).await.map_err(err)?;
            say(&format!("ACK visit {}", saved.visit.id))?;
        }
    }
    Ok(())
}
