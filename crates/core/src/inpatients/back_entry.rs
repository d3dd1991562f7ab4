//! Admission back-entry: an admission entered after the fact (`AdmitInput::admitted_at`), for a
//! patient admitted in the night or while the system was down. The stay starts at that time:
//! its bed event is dated then, so the board's history and the census's bed-days follow from
//! it. Every limit is a typed error naming `admitted_at`.

use super::{canonical_time, BACK_ENTRY_HOURS_MAX};
use crate::error::{Error, Result, ValidationReason};
use crate::store::WriteTx;
use chrono::{DateTime, Duration, Utc};

fn out_of_range(why: &str) -> Error {
    Error::validation("admitted_at", ValidationReason::OutOfRange, why)
}

/// The admission time asked for, in the store's form, checked against `now`: none (or blank)
/// is `None` (the admission is now); not a time is `invalid`; in the future or more than
/// [`BACK_ENTRY_HOURS_MAX`] hours ago is `out_of_range`.
pub(crate) fn requested(raw: Option<&str>, now: DateTime<Utc>) -> Result<Option<String>> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let at = canonical_time(raw)
        .ok_or_else(|| Error::validation("admitted_at", ValidationReason::Invalid, "a date and time"))?;
    let fmt = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    if at > fmt(now) {
        return Err(out_of_range("in the future"));
    }
    if at < fmt(now - Duration::hours(BACK_ENTRY_HOURS_MAX)) {
        return Err(out_of_range(&format!("at most {BACK_ENTRY_HOURS_MAX} hours ago")));
    }
    Ok(Some(at))
}

/// That a back-entered stay fits the patient's and the bed's stories, inside the admission's
/// write: not before the patient was registered, nor before their last discharge (two stays
/// never overlap), and, with a bed, the bed untouched since then (free now is not enough: a
/// patient who left it at 04:00 would otherwise share it with one admitted at 02:00).
pub(crate) async fn check_in(w: &mut WriteTx<'_>, patient_id: &str, at: &str, bed_id: Option<&str>) -> Result<()> {
    let registered: String =
        sqlx::query_scalar("SELECT created_at FROM patients WHERE id = ?").bind(patient_id).fetch_one(w.conn()).await?;
    let registered = canonical_time(&registered)
        .ok_or_else(|| Error::corrupt("patients", patient_id, "created_at", "not an RFC 3339 time"))?;
    if at < registered.as_str() {
        return Err(out_of_range("before the patient was registered"));
    }
    let discharges: Vec<String> = sqlx::query_scalar(
        "SELECT discharged_at FROM admissions WHERE patient_id = ? AND discharged_at IS NOT NULL AND deleted_at IS NULL",
    )
    .bind(patient_id)
    .fetch_all(w.conn())
    .await?;
    if discharges.iter().filter_map(|d| canonical_time(d)).any(|d| d.as_str() > at) {
        return Err(out_of_range("before the patient's last discharge"));
    }
    if let Some(bed) = bed_id {
        // Only a back-entry reads the bed's whole story; times compare in the store's form.
        let times: Vec<String> =
            sqlx::query_scalar("SELECT at FROM bed_events WHERE bed_id = ? AND deleted_at IS NULL")
                .bind(bed)
                .fetch_all(w.conn())
                .await?;
        if times.iter().filter_map(|t| canonical_time(t)).any(|t| t.as_str() > at) {
            return Err(out_of_range("the bed was in use or out of service after then: admit to the waiting list"));
        }
    }
    Ok(())
}
