//! Synthetic inpatient history: a year of past stays in every bed of a hospital, each an
//! admission (discharged) with its bed's story — admitted, discharged, cleaned — written with
//! multi-row inserts in one transaction (a bulk load, like the billing history: the timed
//! operations go through hms-core). The board must replay or skip all of it, which is what
//! the inpatient figures are about.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use hms_core::Store;
use sqlx::{QueryBuilder, Sqlite};

/// One past stay: (admission id, patient, ward, bed, admitted, discharged, cleaned).
type PastStay = (String, String, String, String, String, String, String);

fn utc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A year (`days`) of stays ending at least a day before `now` in every bed (ward, bed): stays
/// of 1 to 8 days, each bed cleaned 2 to 6 hours after, then free up to a day. Returns the
/// number of admissions written.
pub async fn past_stays(
    store: &Store,
    beds: &[(String, String)],
    patients: &[String],
    doctor: &str,
    days: i64,
    seed: u64,
) -> Result<usize, String> {
    if patients.is_empty() {
        return Ok(0);
    }
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x1b3d);
    let now = store.now();
    let (start, end) = (now - Duration::days(days), now - Duration::days(1));
    let mut stays: Vec<PastStay> = Vec::new();
    for (ward, bed) in beds {
        let mut t = start + Duration::minutes(rng.i64(0..24 * 60));
        loop {
            let out = t + Duration::minutes(rng.i64(24 * 60..8 * 24 * 60));
            let clean = out + Duration::minutes(rng.i64(120..360));
            if clean >= end {
                break;
            }
            let patient = patients[rng.usize(..patients.len())].clone();
            let id = hms_core::ids::new_id();
            stays.push((id, patient, ward.clone(), bed.clone(), utc(t), utc(out), utc(clean)));
            t = clean + Duration::minutes(rng.i64(0..24 * 60));
        }
    }
    let mut conn = store.pool().acquire().await.map_err(|e| e.to_string())?;
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await.map_err(|e| e.to_string())?;
    let written = insert(&mut conn, &stays, doctor, store.device_id()).await;
    let end = if written.is_ok() { "COMMIT" } else { "ROLLBACK" };
    sqlx::query(end).execute(&mut *conn).await.map_err(|e| e.to_string())?;
    written?;
    Ok(stays.len())
}

async fn insert(
    conn: &mut sqlx::SqliteConnection,
    stays: &[PastStay],
    doctor: &str,
    device: &str,
) -> Result<(), String> {
    // 11 variables an admission and 3 events of 8: 1,000 stays stay under SQLite's limit.
    for chunk in stays.chunks(1_000) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO admissions (id, patient_id, doctor_id, ward_id, reason, admitted_at, discharged_at, discharge_type,
               created_at, updated_at, origin_device) ",
        );
        q.push_values(chunk, |mut b, (id, patient, ward, _, at, out, _)| {
            b.push_bind(id).push_bind(patient).push_bind(doctor).push_bind(ward).push_bind("Past stay (generated)");
            b.push_bind(at).push_bind(out).push_bind("home").push_bind(at).push_bind(out).push_bind(device);
        });
        q.build().execute(&mut *conn).await.map_err(|e| e.to_string())?;
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO bed_events (id, bed_id, kind, admission_id, at, created_at, updated_at, origin_device) ",
        );
        let events = chunk.iter().flat_map(|(id, _, _, bed, at, out, clean)| {
            [("admitted", Some(id), at), ("discharged", Some(id), out), ("cleaned", None, clean)]
                .map(|(kind, adm, when)| (bed, kind, adm, when))
        });
        q.push_values(events, |mut b, (bed, kind, adm, when)| {
            b.push_bind(hms_core::ids::new_id()).push_bind(bed).push_bind(kind).push_bind(adm);
            b.push_bind(when).push_bind(when).push_bind(when).push_bind(device);
        });
        q.build().execute(&mut *conn).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}
