//! The ward round, in the inpatient area: a ward of 60 beds with 60 patients admitted two days
//! ago, each with four orders (paracetamol 1-0-1, an antibiotic every 6 hours, a PRN analgesic,
//! vitals every 4 hours) and their first day's doses on the MAR; then the nurse's due list of
//! the ward now (`ward_due_list`, issue 15's target p99 <= 10 ms).

use super::stats::time_n;
use super::Ctx;
use hms_core::clinical::{prescribing, MedicineInput};
use hms_core::inpatients::mar::{self, DoseInput};
use hms_core::inpatients::orders::{self, OrderInput};
use hms_core::inpatients::{due, setup, stays, AdmitInput, BedInput, WardInput};
use hms_core::Authorized;
use serde_json::json;

const PATIENTS: usize = 60;
const SAMPLES: usize = 100;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The people of the inpatient area's run, and its daily bed charge.
pub(super) struct Staff<'a> {
    pub admin: &'a Authorized,
    pub doctor: &'a Authorized,
    pub desk: &'a Authorized,
    pub nurse: &'a Authorized,
    pub doctor_staff: &'a str,
    pub bed_service: &'a str,
}

fn medicine_order(admission: &str, medicine: &str, schedule: &str) -> OrderInput {
    OrderInput {
        admission_id: admission.into(),
        kind: "medicine".into(),
        medicine_id: Some(medicine.into()),
        dose: "1".into(),
        dose_unit: "tablet".into(),
        route: "oral".into(),
        schedule: Some(schedule.into()),
        ..Default::default()
    }
}

pub(super) async fn run(ctx: &mut Ctx, s: Staff<'_>) -> Result<(), String> {
    let run = hms_core::ids::new_id();
    let tag = run.get(24..).unwrap_or("x").to_string();
    eprintln!("bench inpatients: a ward of {PATIENTS} inpatients with orders, then its due list");
    let now = ctx.store.now();
    let started = now - chrono::Duration::days(2);
    ctx.store.set_now(Some(started));
    let ward = WardInput {
        name: format!("Bench due ward {tag}"),
        kind: "general".into(),
        bed_service_id: Some(s.bed_service.into()),
    };
    let ward = setup::add_ward(&ctx.store, s.admin, ward).await.map_err(err)?.id;
    let medicine = |name: &str| MedicineInput {
        name: format!("{name} {tag}"),
        strength: "500 mg".into(),
        form: "tablet".into(),
        ingredients: vec![],
    };
    let paracetamol = prescribing::add_medicine(&ctx.store, s.admin, medicine("Benchamol")).await.map_err(err)?.id;
    let antibiotic = prescribing::add_medicine(&ctx.store, s.admin, medicine("Benchicillin")).await.map_err(err)?.id;
    let people = super::inpatients::new_patients(ctx, s.admin, PATIENTS).await?;
    let mut q6 = Vec::with_capacity(PATIENTS);
    for (i, patient) in people.iter().enumerate() {
        let bed = BedInput {
            ward_id: ward.clone(),
            room_id: None,
            label: format!("D{i:02}"),
            tags: vec![],
            bed_service_id: None,
        };
        let bed = setup::add_bed(&ctx.store, s.admin, bed).await.map_err(err)?.id;
        let admit = AdmitInput {
            patient_id: patient.clone(),
            doctor_id: s.doctor_staff.into(),
            reason: "Bench ward round".into(),
            diagnosis_code: String::new(),
            expected_days: Some(5),
            ward_id: ward.clone(),
            bed_id: Some(bed),
            admitted_at: None,
        };
        let stay = stays::admit(&ctx.store, s.desk, admit).await.map_err(err)?.id;
        let order = |input| orders::order(&ctx.store, s.doctor, input);
        order(OrderInput { times_pattern: "1-0-1".into(), ..medicine_order(&stay, &paracetamol, "times") })
            .await
            .map_err(err)?;
        let every = order(OrderInput { every_hours: Some(6), ..medicine_order(&stay, &antibiotic, "every") })
            .await
            .map_err(err)?;
        q6.push(every);
        order(OrderInput { prn_max_per_day: Some(4), ..medicine_order(&stay, &paracetamol, "prn") })
            .await
            .map_err(err)?;
        let vitals = OrderInput {
            admission_id: stay.clone(),
            kind: "nursing".into(),
            instructions: "Vitals every 4 hours".into(),
            every_hours: Some(4),
            ..Default::default()
        };
        order(vitals).await.map_err(err)?;
    }
    // The first day's 6-hourly doses, given on time.
    for o in &q6 {
        for k in 0..4 {
            let at = started + chrono::Duration::hours(6 * k);
            ctx.store.set_now(Some(at + chrono::Duration::minutes(10)));
            let dose = DoseInput {
                order_id: o.id.clone(),
                scheduled_at: Some(at.to_rfc3339()),
                outcome: "given".into(),
                reason: String::new(),
                given_at: None,
            };
            mar::record(&ctx.store, s.nurse, dose).await.map_err(err)?;
        }
    }
    ctx.store.set_now(None);
    // The ward's two days were written in seconds.
    super::settle(&ctx.store).await?;

    let (store, nurse, ward) = (&ctx.store, s.nurse.clone(), ward.clone());
    // One untimed read first, as for the dashboards: the list opened twice.
    due::ward_due_list(store, &nurse, &ward, None).await.map_err(err)?;
    let latency = time_n(SAMPLES, |_| {
        let (nurse, ward) = (nurse.clone(), ward.clone());
        async move {
            let list = due::ward_due_list(store, &nurse, &ward, None).await?;
            if list.patients.len() != PATIENTS {
                return Err(hms_core::Error::internal(format!("{} inpatients on the list", list.patients.len())));
            }
            Ok(())
        }
    })
    .await
    .map_err(err)?;
    let list = due::ward_due_list(store, &nurse, &ward, None).await.map_err(err)?;
    eprintln!("bench inpatients: the due list holds {} items for {PATIENTS} inpatients", list.overdue + list.due);
    ctx.latency.insert("ward_due_list".into(), json!(latency));
    Ok(())
}
