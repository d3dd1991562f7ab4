//! The handover summary of a ward's shift (read by a nurse or doctor, `clinical_view`): for
//! each inpatient of the ward — bed, name, days in, diagnosis, allergies, active orders, the
//! doses given / held / refused / missed in the shift, what is overdue now, the last vitals
//! (with flags outside the watch ranges), the shift's intake/output balance and its nursing
//! notes. Computed from what is already recorded; nothing is stored.

use super::due::{self, DueStatus};
use super::intake_output::{self, IoBalance};
use super::notes::Shift;
use super::orders::{InpatientOrder, OrderKind, OrderRow, ORDER_SELECT};
use super::shifts::{shift_bounds, shift_of};
use super::{canonical_time, census::bed_days};
use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Serialize;
use std::collections::HashMap;

/// The ranges the handover flags a vital sign outside of (adult early-warning thresholds, in
/// the stored unit: temperature in tenths of a degree): (field, low, high).
pub const VITAL_WATCH: [(&str, i32, i32); 6] = [
    ("temperature_c_x10", 360, 380),
    ("pulse", 50, 100),
    ("bp_systolic", 90, 160),
    ("bp_diastolic", 50, 100),
    ("resp_rate", 10, 24),
    ("spo2", 94, 100),
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct VitalFlag {
    pub field: String,
    pub value: i32,
    /// Above the watch range (else below).
    pub high: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct HandoverVitals {
    pub taken_at: String,
    pub temperature_c_x10: Option<i32>,
    pub pulse: Option<i32>,
    pub bp_systolic: Option<i32>,
    pub bp_diastolic: Option<i32>,
    pub resp_rate: Option<i32>,
    pub spo2: Option<i32>,
    pub pain: Option<i32>,
    pub flags: Vec<VitalFlag>,
}

/// A dose of the shift that was not given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct HandoverDose {
    pub what: String,
    /// held | refused | missed
    pub outcome: String,
    pub reason: String,
    pub scheduled_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct HandoverNote {
    pub written_at: String,
    pub written_by_name: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct HandoverPatient {
    pub admission_id: String,
    pub patient_id: String,
    pub name: String,
    pub mrn: String,
    /// None: on the ward's waiting list.
    pub bed_id: Option<String>,
    pub bed_label: String,
    pub admitted_at: String,
    /// Bed-days so far (midnights in hospital, as the board counts them).
    pub days_in: u32,
    pub diagnosis_code: String,
    pub diagnosis_text: String,
    pub reason: String,
    /// "Penicillin (severe)", ... from the record's allergies.
    pub allergies: Vec<String>,
    /// Open orders at the shift's end: "Paracetamol 650 mg tablet 1 tablet oral", a diet, ...
    pub orders: Vec<String>,
    pub doses_given: u32,
    pub doses_held: u32,
    pub doses_refused: u32,
    pub doses_missed: u32,
    /// The doses held, refused or missed in the shift, with their reasons.
    pub doses_not_given: Vec<HandoverDose>,
    /// What is overdue now (doses and vitals): "Paracetamol … at 20:00" as the due list words it.
    pub overdue: Vec<String>,
    pub last_vitals: Option<HandoverVitals>,
    pub io: IoBalance,
    pub notes: Vec<HandoverNote>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Handover {
    pub ward_id: String,
    pub ward_name: String,
    /// The day the shift started on (clinic's clock, YYYY-MM-DD).
    pub day: String,
    pub shift: Shift,
    pub from: String,
    pub to: String,
    /// When it was computed (what "overdue now" means).
    pub at: String,
    pub patients: Vec<HandoverPatient>,
}

fn text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn flags(values: &[(&str, Option<i32>)]) -> Vec<VitalFlag> {
    values
        .iter()
        .filter_map(|(field, v)| {
            let v = (*v)?;
            let (_, lo, hi) = VITAL_WATCH.iter().find(|(f, _, _)| f == field)?;
            (v < *lo || v > *hi).then(|| VitalFlag { field: field.to_string(), value: v, high: v > *hi })
        })
        .collect()
}

/// The handover of a ward's shift: the shift that started on `day` (YYYY-MM-DD), or, without
/// them, the shift under way now.
pub async fn handover(
    store: &Store,
    auth: &Authorized,
    ward_id: &str,
    day: Option<&str>,
    shift: Option<&str>,
) -> Result<Handover> {
    auth.require(Permission::ClinicalView)?;
    let tz = crate::clinic::time_zone(store).await?;
    let now = store.now();
    let (day, shift) =
        match (day.map(str::trim).filter(|d| !d.is_empty()), shift.map(str::trim).filter(|s| !s.is_empty())) {
            (None, None) => shift_of(tz, now),
            (Some(d), Some(s)) => (
                NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map_err(|_| Error::validation("day", ValidationReason::Invalid, "a date (YYYY-MM-DD)"))?,
                Shift::from_code(s).ok_or_else(|| {
                    Error::validation("shift", ValidationReason::Invalid, "morning, evening or night")
                })?,
            ),
            (None, Some(_)) => return Err(Error::validation("day", ValidationReason::Required, "the shift's day")),
            (Some(_), None) => {
                return Err(Error::validation("shift", ValidationReason::Required, "morning, evening or night"))
            }
        };
    let (from, to) = shift_bounds(tz, day, shift);
    let (from_s, to_s) = (text(from), text(to));
    // The ward's inpatients (beds and waiting list) and what is overdue now: the due list's.
    let due_now = due::ward_due_list(store, auth, ward_id, None).await?;
    let mut conn = store.pool().acquire().await?;
    let ward_name: String =
        sqlx::query_scalar("SELECT name FROM wards WHERE id = ?").bind(ward_id).fetch_one(&mut *conn).await?;
    let mut patients = Vec::with_capacity(due_now.patients.len());
    let ids: Vec<String> = due_now.patients.iter().map(|p| p.admission_id.clone()).collect();
    let mut io = intake_output::entries_of(&mut conn, &ids).await?;
    for p in &due_now.patients {
        // A restricted chart is left out for whoever is not on its care team.
        if crate::clinical::restriction::require_chart(store, auth, &p.patient_id).await.is_err() {
            continue;
        }
        type Adm = (String, String, String, String);
        let (admitted_at, diagnosis_code, diagnosis_text, reason): Adm =
            sqlx::query_as("SELECT admitted_at, diagnosis_code, diagnosis_text, reason FROM admissions WHERE id = ?")
                .bind(&p.admission_id)
                .fetch_one(&mut *conn)
                .await?;
        let admitted = DateTime::parse_from_rfc3339(&admitted_at)
            .map_err(|e| Error::corrupt("admissions", &p.admission_id, "admitted_at", e))?
            .with_timezone(&Utc);
        let mut allergies: Vec<String> = sqlx::query_as::<_, (String, String)>(
            "SELECT substance, severity FROM allergies WHERE patient_id = ? AND deleted_at IS NULL ORDER BY substance",
        )
        .bind(&p.patient_id)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|(s, sev)| format!("{s} ({sev})"))
        .collect();
        let listed: Option<String> = sqlx::query_scalar("SELECT allergies FROM patients WHERE id = ?")
            .bind(&p.patient_id)
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(more) = listed.and_then(|j| serde_json::from_str::<Vec<String>>(&j).ok()) {
            for a in more {
                if !allergies.iter().any(|x| x.to_lowercase().starts_with(&a.to_lowercase())) {
                    allergies.push(a);
                }
            }
        }
        let rows: Vec<OrderRow> = sqlx::query_as(&format!(
            "{ORDER_SELECT} WHERE o.admission_id = ? AND o.deleted_at IS NULL AND o.start_at < ?
             AND (o.stopped_at IS NULL OR o.stopped_at > ?) AND (o.end_at IS NULL OR o.end_at > ?)
             ORDER BY o.start_at, o.id"
        ))
        .bind(&p.admission_id)
        .bind(&to_s)
        .bind(&to_s)
        .bind(&to_s)
        .fetch_all(&mut *conn)
        .await?;
        let orders: Vec<InpatientOrder> = rows.into_iter().map(OrderRow::into_order).collect::<Result<_>>()?;
        let orders_text = orders
            .iter()
            .map(|o| match o.kind {
                OrderKind::Medicine => {
                    let schedule =
                        if o.times_pattern.is_empty() { String::new() } else { format!(" {}", o.times_pattern) };
                    format!("{}{schedule}", o.summary())
                }
                OrderKind::Lab => format!("Lab: {}", o.lab_test_name),
                OrderKind::Diet => format!("Diet: {}", o.instructions),
                OrderKind::Nursing => format!("Nursing: {}", o.instructions),
            })
            .collect();
        // The MAR of the shift: entries recorded in it, a dose recorded twice counted once.
        type Mar = (String, Option<String>, String, String, String, String);
        let mar: Vec<Mar> = sqlx::query_as(
            "SELECT e.order_id, e.scheduled_at, e.outcome, e.reason, e.given_at, e.id FROM mar_entries e
             JOIN inpatient_orders o ON o.id = e.order_id
             WHERE o.admission_id = ? AND e.deleted_at IS NULL AND e.given_at >= ? AND e.given_at < ?
             ORDER BY e.given_at, e.id",
        )
        .bind(&p.admission_id)
        .bind(&from_s)
        .bind(&to_s)
        .fetch_all(&mut *conn)
        .await?;
        let mut seen = std::collections::HashSet::new();
        let (mut given, mut held, mut refused, mut missed) = (0, 0, 0, 0);
        let mut not_given = Vec::new();
        let names: HashMap<&str, String> = orders.iter().map(|o| (o.id.as_str(), o.summary())).collect();
        for (order_id, scheduled, outcome, reason, _, _) in mar {
            if let Some(s) = &scheduled {
                if !seen.insert((order_id.clone(), canonical_time(s).unwrap_or_else(|| s.clone()))) {
                    continue;
                }
            }
            match outcome.as_str() {
                "given" => given += 1,
                "held" => held += 1,
                "refused" => refused += 1,
                _ => missed += 1,
            }
            if outcome != "given" {
                let what = match names.get(order_id.as_str()) {
                    Some(n) => n.clone(),
                    None => order_summary(&mut conn, &order_id).await?,
                };
                not_given.push(HandoverDose { what, outcome, reason, scheduled_at: scheduled });
            }
        }
        let overdue = p
            .items
            .iter()
            .filter(|i| i.status == DueStatus::Overdue)
            .map(|i| format!("{} (due {})", i.what, i.due_at))
            .collect();
        type V = (String, Option<i32>, Option<i32>, Option<i32>, Option<i32>, Option<i32>, Option<i32>, Option<i32>);
        let v: Option<V> = sqlx::query_as(
            "SELECT taken_at, temperature_c_x10, pulse, bp_systolic, bp_diastolic, resp_rate, spo2, pain FROM vitals
             WHERE patient_id = ? AND deleted_at IS NULL ORDER BY taken_at DESC, id DESC LIMIT 1",
        )
        .bind(&p.patient_id)
        .fetch_optional(&mut *conn)
        .await?;
        let last_vitals = v.map(|(taken_at, t, pulse, sys, dia, rr, spo2, pain)| HandoverVitals {
            flags: flags(&[
                ("temperature_c_x10", t),
                ("pulse", pulse),
                ("bp_systolic", sys),
                ("bp_diastolic", dia),
                ("resp_rate", rr),
                ("spo2", spo2),
            ]),
            taken_at: canonical_time(&taken_at).unwrap_or(taken_at),
            temperature_c_x10: t,
            pulse,
            bp_systolic: sys,
            bp_diastolic: dia,
            resp_rate: rr,
            spo2,
            pain,
        });
        let notes: Vec<HandoverNote> = sqlx::query_as::<_, (String, Option<String>, String)>(
            "SELECT n.written_at, u.full_name, n.body FROM inpatient_notes n LEFT JOIN users u ON u.id = n.written_by
             WHERE n.admission_id = ? AND n.kind = 'nursing' AND n.deleted_at IS NULL AND n.written_at >= ? AND n.written_at < ?
             ORDER BY n.written_at, n.id",
        )
        .bind(&p.admission_id)
        .bind(&from_s)
        .bind(&to_s)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|(at, by, body)| HandoverNote { written_at: at, written_by_name: by.unwrap_or_default(), body })
        .collect();
        let entries = io.remove(&p.admission_id).unwrap_or_default();
        patients.push(HandoverPatient {
            admission_id: p.admission_id.clone(),
            patient_id: p.patient_id.clone(),
            name: p.name.clone(),
            mrn: p.mrn.clone(),
            bed_id: p.bed_id.clone(),
            bed_label: p.bed_label.clone(),
            days_in: u32::try_from(bed_days(tz, admitted, now).len()).unwrap_or(u32::MAX),
            admitted_at: canonical_time(&admitted_at).unwrap_or(admitted_at),
            diagnosis_code,
            diagnosis_text,
            reason,
            allergies,
            orders: orders_text,
            doses_given: given,
            doses_held: held,
            doses_refused: refused,
            doses_missed: missed,
            doses_not_given: not_given,
            overdue,
            last_vitals,
            io: intake_output::balance(&entries, from, to),
            notes,
        });
    }
    Ok(Handover {
        ward_id: ward_id.to_string(),
        ward_name,
        day: day.format("%Y-%m-%d").to_string(),
        shift,
        from: from_s,
        to: to_s,
        at: text(now),
        patients,
    })
}

/// A stopped order's words (the shift's doses may name one no longer open).
async fn order_summary(conn: &mut sqlx::SqliteConnection, order_id: &str) -> Result<String> {
    let row: Option<OrderRow> =
        sqlx::query_as(&format!("{ORDER_SELECT} WHERE o.id = ?")).bind(order_id).fetch_optional(&mut *conn).await?;
    Ok(row.map(OrderRow::into_order).transpose()?.map(|o| o.summary()).unwrap_or_default())
}
