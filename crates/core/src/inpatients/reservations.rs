//! Reserved beds: whoever admits (`inpatients_admit`: doctors, reception as the clinic
//! allows) holds a free bed for a patient who is expected — registered, not in a bed yet:
//! not admitted, or admitted and on a ward's waiting list — with an optional note, until a
//! time (by default the end of the next day, clinic time). The reservation lapses by itself
//! when that time passes (the board derives it: no job runs). Admitting that patient into the
//! bed, or giving it to them from the waiting list, takes it; anyone else is refused
//! (`reserved`). Admitting them into another bed ends their reservation in the same write.
//! Both are bed events (`reserved`, `reservation_cancelled`): what two offline devices wrote
//! is settled by the board's derivation (`derive`: the earlier event keeps the bed).

use super::{derived_in, model::*, require_free, REASON_MAX};
use crate::clinical::{insert_row, text};
use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{Store, WriteTx};
use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::json;

/// The longest a reservation holds from when it is made.
pub const RESERVATION_DAYS_MAX: i64 = 14;

/// The end of the day after `now`'s, in the clinic's time zone (midnight starting the day
/// after tomorrow), in UTC.
pub fn default_until(tz: Tz, now: DateTime<Utc>) -> DateTime<Utc> {
    let day = now.with_timezone(&tz).date_naive() + Duration::days(2);
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    // A midnight skipped by a clock change: the first instant after it.
    match tz.from_local_datetime(&midnight).earliest() {
        Some(t) => t.with_timezone(&Utc),
        None => tz.from_utc_datetime(&midnight).with_timezone(&Utc),
    }
}

fn store_form(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The lapse time asked for (now's default when empty): after now, within
/// [`RESERVATION_DAYS_MAX`] days.
async fn until_of(w: &mut WriteTx<'_>, raw: Option<&str>) -> Result<String> {
    let now = w.now();
    let until = match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => default_until(crate::clinic::time_zone_in(w).await?, now),
        Some(raw) => DateTime::parse_from_rfc3339(raw)
            .map_err(|_| Error::validation("until", ValidationReason::Invalid, "a date and time"))?
            .with_timezone(&Utc),
    };
    if until <= now {
        return Err(Error::validation("until", ValidationReason::OutOfRange, "in the past"));
    }
    if until > now + Duration::days(RESERVATION_DAYS_MAX) {
        return Err(Error::validation(
            "until",
            ValidationReason::OutOfRange,
            format!("at most {RESERVATION_DAYS_MAX} days ahead"),
        ));
    }
    Ok(store_form(until))
}

/// Reserves a free bed for an expected patient (see the module's rules).
pub async fn reserve(store: &Store, auth: &Authorized, input: ReserveInput) -> Result<()> {
    super::rights::require_move(store, auth, Permission::InpatientsAdmit).await?;
    let note = text("note", &input.note, REASON_MAX)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let until = until_of(&mut w, input.until.as_deref()).await?;
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM patients WHERE id = ? AND deleted_at IS NULL")
        .bind(&input.patient_id)
        .fetch_optional(w.conn())
        .await?;
    match status.as_deref() {
        None => return Err(Error::validation("patient_id", ValidationReason::Invalid, "no such patient")),
        Some("active") => {}
        Some(_) => return Err(Error::validation("patient_id", ValidationReason::Invalid, "this record is not active")),
    }
    super::bed_ward(w.conn(), "bed_id", &input.bed_id).await?;
    let d = derived_in(&mut w).await?;
    let stay: Option<String> = sqlx::query_scalar(
        "SELECT id FROM admissions WHERE patient_id = ? AND discharged_at IS NULL AND deleted_at IS NULL",
    )
    .bind(&input.patient_id)
    .fetch_optional(w.conn())
    .await?;
    if stay.is_some_and(|a| d.bed_of.contains_key(&a)) {
        return Err(Error::validation(
            "patient_id",
            ValidationReason::Invalid,
            "this patient is in a bed: transfer them",
        ));
    }
    if d.reserved_for(&input.patient_id).is_some() {
        return Err(Error::validation(
            "patient_id",
            ValidationReason::Taken,
            "a bed is reserved for this patient: cancel it first",
        ));
    }
    require_free(&d, "bed_id", &input.bed_id, "")?;
    let (id, at) = (crate::ids::new_id(), w.now_rfc3339());
    insert_row(
        &mut w,
        "bed_events",
        &id,
        &[
            ("bed_id", json!(input.bed_id)),
            ("kind", json!(BedEventKind::Reserved.code())),
            ("patient_id", json!(input.patient_id)),
            ("until", json!(until)),
            ("at", json!(at)),
            ("reason", json!(note)),
        ],
    )
    .await?;
    w.audit(
        "bed.reserve",
        "bed",
        Some(&input.bed_id),
        json!({ "event_id": id, "patient_id": input.patient_id, "until": until, "note": note }),
    )
    .await?;
    w.commit().await
}

/// Ends a bed's reservation before its time.
pub async fn cancel(store: &Store, auth: &Authorized, bed_id: &str) -> Result<()> {
    super::rights::require_move(store, auth, Permission::InpatientsAdmit).await?;
    let mut w = store.begin_write(auth.actor()).await?;
    super::bed_ward(w.conn(), "bed_id", bed_id).await?;
    let d = derived_in(&mut w).await?;
    let Some(held) = d.bed(bed_id).held else {
        return Err(Error::validation("bed_id", ValidationReason::Invalid, "this bed is not reserved"));
    };
    let event = cancel_in(&mut w, bed_id, &held.patient_id).await?;
    w.audit("bed.cancel_reservation", "bed", Some(bed_id), json!({ "event_id": event, "patient_id": held.patient_id }))
        .await?;
    w.commit().await
}

async fn cancel_in(w: &mut WriteTx<'_>, bed_id: &str, patient_id: &str) -> Result<String> {
    let (id, at) = (crate::ids::new_id(), w.now_rfc3339());
    insert_row(
        w,
        "bed_events",
        &id,
        &[
            ("bed_id", json!(bed_id)),
            ("kind", json!(BedEventKind::ReservationCancelled.code())),
            ("patient_id", json!(patient_id)),
            ("at", json!(at)),
            ("reason", json!("")),
        ],
    )
    .await?;
    Ok(id)
}

/// A patient given a bed (`bed_id`) lets go of a bed reserved for them elsewhere, in the same
/// write; `d` is the board the write checked.
pub(crate) async fn release_elsewhere(
    w: &mut WriteTx<'_>,
    d: &super::derive::Derived,
    patient_id: &str,
    bed_id: &str,
) -> Result<()> {
    if let Some(other) = d.reserved_for(patient_id).filter(|b| *b != bed_id) {
        cancel_in(w, other, patient_id).await?;
    }
    Ok(())
}
