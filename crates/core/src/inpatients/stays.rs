//! Admission to discharge: admit (to a free bed or the ward's waiting list), give a waiting
//! patient a bed, transfer, swap two patients, discharge. Each move appends events to the
//! beds' stories; the checks run on the board derived inside the write's own transaction.

use super::{
    append_event_at, bed_ward, canonical_time, census, derived, derived_in, derived_read, model::*, open_admission,
    require_free, EXPECTED_DAYS_MAX, REASON_MAX,
};
use crate::clinical::{insert_row, line, text};
use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{stored, Store, WriteTx};
use serde_json::json;

type AdmissionRow =
    (String, String, String, String, String, String, String, Option<i64>, String, Option<String>, Option<String>);

const ADMISSION_COLUMNS: &str =
    "id, patient_id, doctor_id, ward_id, reason, diagnosis_code, diagnosis_text, expected_days,
    admitted_at, discharged_at, discharge_type";

/// An admission as it stands, with its bed on the board.
pub async fn admission(store: &Store, auth: &Authorized, admission_id: &str) -> Result<Admission> {
    auth.require(Permission::InpatientsView)?;
    let mut conn = store.pool().acquire().await?;
    load(&mut conn, admission_id).await
}

/// The patient's admissions, newest first.
pub async fn patient_admissions(store: &Store, auth: &Authorized, patient_id: &str) -> Result<Vec<Admission>> {
    auth.require(Permission::InpatientsView)?;
    let mut conn = store.pool().acquire().await?;
    let rows: Vec<AdmissionRow> = sqlx::query_as(&format!(
        "SELECT {ADMISSION_COLUMNS} FROM admissions WHERE patient_id = ? AND deleted_at IS NULL ORDER BY admitted_at DESC, id DESC"
    ))
    .bind(patient_id)
    .fetch_all(&mut *conn)
    .await?;
    let d = derived_read(store, &mut conn).await?;
    rows.into_iter()
        .map(|r| {
            let bed = d.bed_of.get(&r.0).cloned();
            to_admission(r, bed)
        })
        .collect()
}

/// An admission row with the bed it holds on the board.
fn to_admission(r: AdmissionRow, bed_id: Option<String>) -> Result<Admission> {
    let (id, patient_id, doctor_id, ward_id, reason, diagnosis_code, diagnosis_text, expected, admitted_at, out, kind) =
        r;
    let discharge_type = match kind {
        Some(k) => Some(stored::code("admissions", &id, "discharge_type", &k, DischargeType::from_code)?),
        None => None,
    };
    let expected_days = match expected {
        Some(n) => Some(u32::try_from(n).map_err(|e| Error::corrupt("admissions", &id, "expected_days", e))?),
        None => None,
    };
    Ok(Admission {
        bed_id,
        id,
        patient_id,
        doctor_id,
        ward_id,
        reason,
        diagnosis_code,
        diagnosis_text,
        expected_days,
        admitted_at,
        discharged_at: out,
        discharge_type,
    })
}

async fn load(conn: &mut sqlx::SqliteConnection, admission_id: &str) -> Result<Admission> {
    let row = admission_row(conn, admission_id).await?;
    let d = derived(conn).await?;
    let bed = d.bed_of.get(admission_id).cloned();
    to_admission(row, bed)
}

async fn admission_row(conn: &mut sqlx::SqliteConnection, admission_id: &str) -> Result<AdmissionRow> {
    let row: Option<AdmissionRow> =
        sqlx::query_as(&format!("SELECT {ADMISSION_COLUMNS} FROM admissions WHERE id = ? AND deleted_at IS NULL"))
            .bind(admission_id)
            .fetch_optional(&mut *conn)
            .await?;
    row.ok_or(Error::NotFound { entity: "admission".into() })
}

/// The admission a write just made or moved, read inside it: the write knows the bed it put
/// the patient in (checked free on the board in the same transaction), so the board need not
/// be derived again.
async fn written(w: &mut WriteTx<'_>, admission_id: &str, bed_id: Option<&str>) -> Result<Admission> {
    let row = admission_row(w.conn(), admission_id).await?;
    to_admission(row, bed_id.map(str::to_string))
}

/// Admits a patient (doctor, reception): to a free bed of the ward, or to its waiting list,
/// now or back-entered at `admitted_at` (see [`super::back_entry`]). Refused when the patient
/// is already admitted, or the bed is not free.
pub async fn admit(store: &Store, auth: &Authorized, input: AdmitInput) -> Result<Admission> {
    admit_with(store, auth, input, AdmitExtras::default()).await
}

/// [`admit`] from a visit (kept on the admission: `visit_id`, one of the patient's visits) and
/// with an advance deposit on the patient's open bill (`billing_edit`), all in one
/// transaction: a deposit that is refused leaves no admission, and the other way round.
pub async fn admit_with(store: &Store, auth: &Authorized, input: AdmitInput, extras: AdmitExtras) -> Result<Admission> {
    super::rights::require_move(store, auth, Permission::InpatientsAdmit).await?;
    if let Some(deposit) = &extras.deposit {
        crate::billing::payments::check_advance(auth, deposit)?;
    }
    let visit_id = extras.visit_id.as_deref().map(str::trim).filter(|v| !v.is_empty());
    let reason = line("reason", &input.reason, REASON_MAX, true)?;
    if let Some(days) = input.expected_days {
        if !(1..=EXPECTED_DAYS_MAX).contains(&days) {
            return Err(Error::validation(
                "expected_days",
                ValidationReason::OutOfRange,
                format!("from 1 to {EXPECTED_DAYS_MAX} days"),
            ));
        }
    }
    let bed = input.bed_id.as_deref().map(str::trim).filter(|b| !b.is_empty());
    let mut w = store.begin_write(auth.actor()).await?;
    let back_entered = super::back_entry::requested(input.admitted_at.as_deref(), w.now())?;
    let patient: Option<String> = sqlx::query_scalar("SELECT status FROM patients WHERE id = ? AND deleted_at IS NULL")
        .bind(&input.patient_id)
        .fetch_optional(w.conn())
        .await?;
    match patient.as_deref() {
        None => return Err(Error::validation("patient_id", ValidationReason::Invalid, "no such patient")),
        Some("active") => {}
        Some(_) => return Err(Error::validation("patient_id", ValidationReason::Invalid, "this record is not active")),
    }
    let already: bool = sqlx::query_scalar(
        "SELECT COUNT(*) > 0 FROM admissions WHERE patient_id = ? AND discharged_at IS NULL AND deleted_at IS NULL",
    )
    .bind(&input.patient_id)
    .fetch_one(w.conn())
    .await?;
    if already {
        return Err(Error::validation("patient_id", ValidationReason::Taken, "this patient is already admitted"));
    }
    let doctor: Option<String> =
        sqlx::query_scalar("SELECT role FROM staff WHERE id = ? AND active = 1 AND deleted_at IS NULL")
            .bind(&input.doctor_id)
            .fetch_optional(w.conn())
            .await?;
    if doctor.as_deref() != Some("doctor") {
        return Err(Error::validation("doctor_id", ValidationReason::Invalid, "pick an active doctor"));
    }
    let ward_known: bool =
        sqlx::query_scalar("SELECT COUNT(*) > 0 FROM wards WHERE id = ? AND active = 1 AND deleted_at IS NULL")
            .bind(&input.ward_id)
            .fetch_one(w.conn())
            .await?;
    if !ward_known {
        return Err(Error::validation("ward_id", ValidationReason::Invalid, "no such ward"));
    }
    let (diagnosis_code, diagnosis_text) = match input.diagnosis_code.trim() {
        "" => (String::new(), String::new()),
        raw => {
            let found = crate::clinical::icd10::lookup_in(&mut w, raw).await?;
            let c = found
                .ok_or_else(|| Error::validation("diagnosis_code", ValidationReason::Invalid, "not an ICD-10 code"))?;
            (c.code, c.description)
        }
    };
    if let Some(visit) = visit_id {
        let of: Option<String> =
            sqlx::query_scalar("SELECT patient_id FROM visits WHERE id = ? AND deleted_at IS NULL")
                .bind(visit)
                .fetch_optional(w.conn())
                .await?;
        if of.as_deref() != Some(input.patient_id.as_str()) {
            return Err(Error::validation("visit_id", ValidationReason::Invalid, "not a visit of this patient"));
        }
    }
    let mut board = None;
    if let Some(bed) = bed {
        if bed_ward(w.conn(), "bed_id", bed).await? != input.ward_id {
            return Err(Error::validation("bed_id", ValidationReason::Invalid, "not a bed of this ward"));
        }
        let d = derived_in(&mut w).await?;
        require_free(&d, "bed_id", bed, &input.patient_id)?;
        board = Some(d);
    }
    if let Some(at) = &back_entered {
        super::back_entry::check_in(&mut w, &input.patient_id, at, bed).await?;
    }
    let id = crate::ids::new_id();
    let at = back_entered.clone().unwrap_or_else(|| w.now_rfc3339());
    let by = w.actor().user_id.clone();
    let mut cols = vec![
        ("patient_id", json!(input.patient_id)),
        ("doctor_id", json!(input.doctor_id)),
        ("ward_id", json!(input.ward_id)),
        ("reason", json!(reason)),
        ("diagnosis_code", json!(diagnosis_code)),
        ("diagnosis_text", json!(diagnosis_text)),
        ("admitted_at", json!(at)),
        ("admitted_by", json!(by)),
    ];
    // Left out when unknown: the policy's rule for it takes a number, not null.
    if let Some(days) = input.expected_days {
        cols.push(("expected_days", json!(days)));
    }
    if let Some(visit) = visit_id {
        cols.push(("visit_id", json!(visit)));
    }
    insert_row(&mut w, "admissions", &id, &cols).await?;
    if let (Some(bed), Some(d)) = (bed, &board) {
        append_event_at(&mut w, &crate::ids::new_id(), bed, BedEventKind::Admitted, Some(&id), None, "", &at).await?;
        // A bed reserved for them elsewhere is let go.
        super::reservations::release_elsewhere(&mut w, d, &input.patient_id, bed).await?;
    }
    w.audit(
        "inpatient.admit",
        "admission",
        Some(&id),
        json!({ "patient_id": input.patient_id, "ward_id": input.ward_id, "bed_id": bed, "doctor_id": input.doctor_id,
                "diagnosis_code": diagnosis_code, "visit_id": visit_id, "admitted_at": at,
                "back_entered": back_entered.is_some(), "deposit_minor": extras.deposit.as_ref().map(|d| d.amount_minor) }),
    )
    .await?;
    if let Some(deposit) = &extras.deposit {
        crate::billing::payments::advance_in(&mut w, &input.patient_id, deposit).await?;
    }
    let admission = written(&mut w, &id, bed).await?;
    w.commit().await?;
    Ok(admission)
}

/// Moves an admitted patient to another free bed (any ward), or gives a patient on a waiting
/// list their bed (doctor, reception). Refused for the bed they are in, and a bed not free.
pub async fn transfer(store: &Store, auth: &Authorized, admission_id: &str, to_bed_id: &str) -> Result<Admission> {
    super::rights::require_move(store, auth, Permission::InpatientsTransfer).await?;
    let mut w = store.begin_write(auth.actor()).await?;
    let (patient, _) = open_admission(&mut w, "admission_id", admission_id).await?;
    bed_ward(w.conn(), "to_bed_id", to_bed_id).await?;
    let d = derived_in(&mut w).await?;
    let from = d.bed_of.get(admission_id).cloned();
    if from.as_deref() == Some(to_bed_id) {
        return Err(Error::validation("to_bed_id", ValidationReason::Invalid, "the patient is in this bed"));
    }
    require_free(&d, "to_bed_id", to_bed_id, &patient)?;
    super::reservations::release_elsewhere(&mut w, &d, &patient, to_bed_id).await?;
    let at = w.now_rfc3339();
    let (action, out_event) = match &from {
        Some(from) => {
            let move_id = crate::ids::new_id();
            let out = crate::ids::new_id();
            append_event_at(
                &mut w,
                &out,
                from,
                BedEventKind::TransferredOut,
                Some(admission_id),
                Some(&move_id),
                "",
                &at,
            )
            .await?;
            let into = crate::ids::new_id();
            append_event_at(
                &mut w,
                &into,
                to_bed_id,
                BedEventKind::TransferredIn,
                Some(admission_id),
                Some(&move_id),
                "",
                &at,
            )
            .await?;
            ("inpatient.transfer", Some(out))
        }
        None => {
            let into = crate::ids::new_id();
            append_event_at(&mut w, &into, to_bed_id, BedEventKind::Admitted, Some(admission_id), None, "", &at)
                .await?;
            ("inpatient.assign_bed", None)
        }
    };
    w.audit(
        action,
        "admission",
        Some(admission_id),
        json!({ "from_bed_id": from, "to_bed_id": to_bed_id, "event_id": out_event }),
    )
    .await?;
    let admission = written(&mut w, admission_id, Some(to_bed_id)).await?;
    w.commit().await?;
    Ok(admission)
}

/// Swaps the beds of two admitted patients (doctor, reception).
pub async fn swap(store: &Store, auth: &Authorized, admission_a: &str, admission_b: &str) -> Result<()> {
    super::rights::require_move(store, auth, Permission::InpatientsTransfer).await?;
    if admission_a == admission_b {
        return Err(Error::validation("admission_b", ValidationReason::Invalid, "pick another patient"));
    }
    let mut w = store.begin_write(auth.actor()).await?;
    open_admission(&mut w, "admission_a", admission_a).await?;
    open_admission(&mut w, "admission_b", admission_b).await?;
    let d = derived_in(&mut w).await?;
    let bed_a = d
        .bed_of
        .get(admission_a)
        .cloned()
        .ok_or_else(|| Error::validation("admission_a", ValidationReason::Invalid, "this patient has no bed"))?;
    let bed_b = d
        .bed_of
        .get(admission_b)
        .cloned()
        .ok_or_else(|| Error::validation("admission_b", ValidationReason::Invalid, "this patient has no bed"))?;
    let (at, move_id) = (w.now_rfc3339(), crate::ids::new_id());
    append_event_at(
        &mut w,
        &crate::ids::new_id(),
        &bed_a,
        BedEventKind::Swapped,
        Some(admission_b),
        Some(&move_id),
        "",
        &at,
    )
    .await?;
    append_event_at(
        &mut w,
        &crate::ids::new_id(),
        &bed_b,
        BedEventKind::Swapped,
        Some(admission_a),
        Some(&move_id),
        "",
        &at,
    )
    .await?;
    w.audit(
        "inpatient.swap",
        "admission",
        Some(admission_a),
        json!({ "move_id": move_id, "admission_a": admission_a, "bed_a": bed_a, "admission_b": admission_b, "bed_b": bed_b }),
    )
    .await?;
    w.commit().await
}

/// Discharges an admitted patient (doctor): the stay ends at `discharged_at` (now when empty;
/// not before the admission or its last move, not in the future), the bed goes to cleaning, and
/// the bed-days up to then are charged to the patient's bill in the same transaction.
pub async fn discharge(store: &Store, auth: &Authorized, input: DischargeInput) -> Result<Admission> {
    auth.require(Permission::InpatientsDischarge)?;
    let kind = DischargeType::from_code(input.discharge_type.trim()).ok_or_else(|| {
        Error::validation("discharge_type", ValidationReason::Invalid, "home, referred, against_advice or deceased")
    })?;
    let note = text("note", &input.note, REASON_MAX)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let (patient_id, admitted_at) = open_admission(&mut w, "admission_id", &input.admission_id).await?;
    let now = w.now_rfc3339();
    let at = match input.discharged_at.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => now.clone(),
        Some(raw) => canonical_time(raw)
            .ok_or_else(|| Error::validation("discharged_at", ValidationReason::Invalid, "a date and time"))?,
    };
    let last_move: Option<String> =
        sqlx::query_scalar("SELECT MAX(at) FROM bed_events WHERE admission_id = ? AND deleted_at IS NULL")
            .bind(&input.admission_id)
            .fetch_one(w.conn())
            .await?;
    let earliest = last_move.map_or(admitted_at.clone(), |m| m.max(admitted_at.clone()));
    if at < earliest {
        return Err(Error::validation(
            "discharged_at",
            ValidationReason::OutOfRange,
            "before the admission or the patient's last move",
        ));
    }
    if at > now {
        return Err(Error::validation("discharged_at", ValidationReason::OutOfRange, "in the future"));
    }
    let tz = crate::clinic::time_zone_in(&mut w).await?;
    if let Some(census) = census::last_charged_census(&mut w, tz, &input.admission_id).await? {
        if at < census.to_rfc3339_opts(chrono::SecondsFormat::Millis, true) {
            return Err(Error::validation(
                "discharged_at",
                ValidationReason::OutOfRange,
                "before a bed-day already on the bill",
            ));
        }
    }
    let d = derived_in(&mut w).await?;
    let bed = d.bed_of.get(&input.admission_id).cloned();
    let (stamp, by) = (w.stamp(), w.actor().user_id.clone());
    sqlx::query(
        "UPDATE admissions SET discharged_at = ?, discharged_by = ?, discharge_type = ?, discharge_note = ?, updated_at = ?, updated_by = ?
         WHERE id = ?",
    )
    .bind(&at)
    .bind(&by)
    .bind(kind.code())
    .bind(&note)
    .bind(&stamp)
    .bind(&by)
    .bind(&input.admission_id)
    .execute(w.conn())
    .await?;
    let data = json!({ "discharged_at": at, "discharged_by": by, "discharge_type": kind.code(), "discharge_note": note,
                       "updated_at": stamp, "updated_by": by });
    w.record_change("admissions", &input.admission_id, crate::store::ChangeOp::Update, &data).await?;
    if let Some(bed) = &bed {
        append_event_at(
            &mut w,
            &crate::ids::new_id(),
            bed,
            BedEventKind::Discharged,
            Some(&input.admission_id),
            None,
            "",
            &at,
        )
        .await?;
    }
    super::orders::stop_open_in(&mut w, &input.admission_id, &at).await?;
    let accrued = census::accrue_in(&mut w, Some(&input.admission_id), Some(&d)).await?;
    w.audit(
        "inpatient.discharge",
        "admission",
        Some(&input.admission_id),
        json!({ "patient_id": patient_id, "discharge_type": kind, "discharged_at": at, "bed_id": bed,
                "bed_day_lines": accrued.lines }),
    )
    .await?;
    // Discharged: the patient holds no bed any more.
    let admission = written(&mut w, &input.admission_id, None).await?;
    w.commit().await?;
    Ok(admission)
}
