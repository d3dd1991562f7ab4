//! Restricted charts and emergency ("break-glass") access (issue 14).
//!
//! A doctor or an administrator marks a patient's chart **restricted** (a VIP, a colleague as
//! a patient, sensitive care), with a reason: a synced row of `chart_restrictions`, lifted by
//! setting `lifted_at` on it. A restricted chart's clinical record opens only for its **care
//! team** ([`on_care_team`]): whoever restricted it, and the users whose staff profile is the
//! doctor of one of the patient's visits or (not cancelled) appointments. Everyone else who may
//! read charts gets `chart_restricted` from every clinical read ([`require_chart`], the one
//! check in front of each of them). The demographics (name, MRN) stay visible to every desk,
//! and so do the allergies (the banner, the prescribing check): a medicine must never be given
//! against an allergy because the chart was closed to whoever gives it.
//!
//! A doctor or a nurse may open a restricted chart in an emergency by giving a reason
//! ([`break_glass`]): for [`BREAK_GLASS_MINUTES`], for that patient, that user, on that device.
//! The grant *is* the audit entry (`chart.break_glass`, flagged `break_glass: true`, with the
//! reason): nothing else is stored, so it cannot outlive or differ from what the log says,
//! and it stays on the device it was given on (the device's own chain). The entries sync like
//! every audit entry; the administrator's Home lists those not yet reviewed, from every device
//! ([`break_glass_pending`]), and [`break_glass_review`] records the review as an audit entry
//! naming the reviewed one, which takes it off the list on every device once synced.

use super::{insert_row, line, text};
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::{Permission, Role};
use crate::session::Authorized;
use crate::store::{ChangeOp, Store};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::json;

/// The audit action of an emergency access (the grant itself).
pub const BREAK_GLASS_ACTION: &str = "chart.break_glass";
/// The audit action of the administrator's review of one.
pub const BREAK_GLASS_REVIEW_ACTION: &str = "chart.break_glass_review";
/// How long an emergency access lasts, on the clinic's clock.
pub const BREAK_GLASS_MINUTES: i64 = 60;
/// The shortest reason an emergency access accepts ("Unconscious in casualty").
pub const BREAK_GLASS_REASON_MIN: usize = 10;
/// The longest reason (restriction, lifting, emergency, review comment).
pub const REASON_MAX: usize = 500;
/// The most unreviewed entries the administrator's list shows.
pub const PENDING_LIMIT: i64 = 500;

/// A restriction in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type, sqlx::FromRow)]
pub struct ChartRestriction {
    pub id: String,
    pub patient_id: String,
    pub reason: String,
    /// users.id of whoever restricted it (on the care team).
    pub restricted_by: String,
    /// Their full name ('' when the account is unknown here).
    pub restricted_by_name: String,
    /// UTC, RFC 3339.
    pub restricted_at: String,
}

/// What the chart of a patient is for the caller: the UI asks before opening it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ChartAccess {
    pub patient_id: String,
    /// The restriction in force (the oldest, if several were set on merged records).
    pub restriction: Option<ChartRestriction>,
    /// Whether the clinical record opens for the caller now: not restricted, on its care
    /// team, or under emergency access.
    pub open: bool,
    /// The caller's emergency access to it on this device: until when (UTC, RFC 3339).
    pub emergency_until: Option<String>,
    /// Whether the caller may restrict the chart, or lift its restriction.
    pub can_restrict: bool,
    /// Whether the caller may open it with emergency access.
    pub can_break_glass: bool,
}

/// An emergency access given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct BreakGlassGrant {
    pub patient_id: String,
    /// The audit entry that records (and is) the grant.
    pub entry_id: String,
    /// UTC, RFC 3339.
    pub until: String,
}

/// An emergency access not reviewed yet, for the administrator's Home.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct BreakGlassEntry {
    /// The audit entry's id (what a review names).
    pub entry_id: String,
    /// UTC, RFC 3339.
    pub at: String,
    pub user_id: Option<String>,
    /// The user's full name ('' when the account is unknown here).
    pub user_name: String,
    pub device_id: String,
    pub patient_id: String,
    pub patient_name: String,
    pub mrn: String,
    pub reason: String,
}

fn millis(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

async fn restrictions(store: &Store, patient_id: &str) -> Result<Vec<ChartRestriction>> {
    Ok(sqlx::query_as(
        "SELECT r.id, r.patient_id, r.reason, r.restricted_by, COALESCE(u.full_name, '') AS restricted_by_name, r.restricted_at
         FROM chart_restrictions r LEFT JOIN users u ON u.id = r.restricted_by
         WHERE r.patient_id = ? AND r.lifted_at IS NULL AND r.deleted_at IS NULL ORDER BY r.restricted_at, r.id",
    )
    .bind(patient_id)
    .fetch_all(store.pool())
    .await?)
}

/// Whether `user_id` is on the care team of `patient_id`: restricted it, or is (through their
/// staff profile) the doctor of one of the patient's visits or appointments not cancelled.
pub async fn on_care_team(store: &Store, user_id: &str, patient_id: &str) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM chart_restrictions WHERE patient_id = ?1 AND restricted_by = ?2
                          AND lifted_at IS NULL AND deleted_at IS NULL)
             OR EXISTS (SELECT 1 FROM visits v JOIN staff s ON s.id = v.doctor_id
                        WHERE v.patient_id = ?1 AND s.user_id = ?2 AND v.deleted_at IS NULL)
             OR EXISTS (SELECT 1 FROM appointments a JOIN staff s ON s.id = a.doctor_id
                        WHERE a.patient_id = ?1 AND s.user_id = ?2 AND a.deleted_at IS NULL AND a.status <> 'cancelled')",
    )
    .bind(patient_id)
    .bind(user_id)
    .fetch_one(store.pool())
    .await?)
}

/// The end of the caller's emergency access to the patient's chart on this device, if one is
/// in force (its newest `chart.break_glass` entry of the last [`BREAK_GLASS_MINUTES`]).
async fn emergency_until(store: &Store, user_id: &str, patient_id: &str) -> Result<Option<String>> {
    let now = store.now();
    let since = millis(now - Duration::minutes(BREAK_GLASS_MINUTES));
    let at: Option<String> = sqlx::query_scalar(
        "SELECT MAX(at) FROM audit_log WHERE action = ?1 AND user_id = ?2 AND entity_id = ?3 AND at > ?4 AND device_id = ?5",
    )
    .bind(BREAK_GLASS_ACTION)
    .bind(user_id)
    .bind(patient_id)
    .bind(&since)
    .bind(store.device_id())
    .fetch_one(store.pool())
    .await?;
    Ok(at
        .and_then(|a| DateTime::parse_from_rfc3339(&a).ok())
        .map(|a| millis(a.with_timezone(&Utc) + Duration::minutes(BREAK_GLASS_MINUTES))))
}

/// THE check in front of every read of a patient's clinical record (chart, visits, vitals,
/// prescriptions, results, attachments, their printouts) and every write into it (visit notes
/// and closing, vitals, diagnoses, prescriptions, lab orders, attachments; not an allergy, which
/// anyone who learns of one must be able to record): `chart_restricted` when the chart is
/// restricted and the caller is neither on its care team nor under emergency access.
pub async fn require_chart(store: &Store, auth: &Authorized, patient_id: &str) -> Result<()> {
    let restricted: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM chart_restrictions WHERE patient_id = ? AND lifted_at IS NULL AND deleted_at IS NULL)",
    )
    .bind(patient_id)
    .fetch_one(store.pool())
    .await?;
    if !restricted
        || on_care_team(store, &auth.user_id, patient_id).await?
        || emergency_until(store, &auth.user_id, patient_id).await?.is_some()
    {
        return Ok(());
    }
    Err(Error::ChartRestricted { patient_id: patient_id.to_string() })
}

/// A row of the clinical record that names its patient: what [`require_row_chart`] looks up.
#[derive(Debug, Clone, Copy)]
pub enum ChartRow {
    Visit,
    Diagnosis,
    Prescription,
}

impl ChartRow {
    /// A fixed statement per kind: no SQL identifier is ever built from input.
    fn patient_sql(self) -> &'static str {
        match self {
            ChartRow::Visit => "SELECT patient_id FROM visits WHERE id = ?",
            ChartRow::Diagnosis => "SELECT patient_id FROM diagnoses WHERE id = ?",
            ChartRow::Prescription => "SELECT patient_id FROM prescriptions WHERE id = ?",
        }
    }
}

/// [`require_chart`] for the patient a row of the record belongs to (a row not found passes:
/// the caller answers `not_found`).
pub async fn require_row_chart(store: &Store, auth: &Authorized, row: ChartRow, id: &str) -> Result<()> {
    let patient: Option<String> = sqlx::query_scalar(row.patient_sql()).bind(id).fetch_optional(store.pool()).await?;
    match patient {
        Some(p) => require_chart(store, auth, &p).await,
        None => Ok(()),
    }
}

/// [`require_chart`] for the patient of a visit (a visit not found passes: the caller answers
/// `not_found`).
pub async fn require_visit_chart(store: &Store, auth: &Authorized, visit_id: &str) -> Result<()> {
    require_row_chart(store, auth, ChartRow::Visit, visit_id).await
}

async fn require_patient(store: &Store, patient_id: &str) -> Result<()> {
    let known: bool = sqlx::query_scalar("SELECT COUNT(*) > 0 FROM patients WHERE id = ? AND deleted_at IS NULL")
        .bind(patient_id)
        .fetch_one(store.pool())
        .await?;
    if known {
        Ok(())
    } else {
        Err(Error::NotFound { entity: "patient".into() })
    }
}

/// What the patient's chart is for the caller (restricted? open? emergency access until?).
pub async fn access(store: &Store, auth: &Authorized, patient_id: &str) -> Result<ChartAccess> {
    auth.require(Permission::ClinicalView)?;
    require_patient(store, patient_id).await?;
    let restriction = restrictions(store, patient_id).await?.into_iter().next();
    let on_team = on_care_team(store, &auth.user_id, patient_id).await?;
    let emergency = emergency_until(store, &auth.user_id, patient_id).await?;
    let restricted = restriction.is_some();
    Ok(ChartAccess {
        patient_id: patient_id.to_string(),
        open: !restricted || on_team || emergency.is_some(),
        emergency_until: emergency,
        can_restrict: auth.require(Permission::ChartRestrict).is_ok()
            && (!restricted || on_team || auth.roles.contains(&Role::Admin)),
        can_break_glass: restricted && !on_team && auth.require(Permission::BreakGlass).is_ok(),
        restriction,
    })
}

/// Restricts a patient's chart (doctor, administrator), with a reason. The caller joins its
/// care team. Audited as `chart.restrict`.
pub async fn restrict(store: &Store, auth: &Authorized, patient_id: &str, reason: &str) -> Result<ChartRestriction> {
    auth.require(Permission::ChartRestrict)?;
    let reason = line("reason", reason, REASON_MAX, true)?;
    require_patient(store, patient_id).await?;
    if !restrictions(store, patient_id).await?.is_empty() {
        return Err(Error::validation("patient_id", ValidationReason::Invalid, "this chart is already restricted"));
    }
    let id = crate::ids::new_id();
    let mut w = store.begin_write(auth.actor()).await?;
    let at = w.now_rfc3339();
    insert_row(
        &mut w,
        "chart_restrictions",
        &id,
        &[
            ("patient_id", json!(patient_id)),
            ("reason", json!(reason)),
            ("restricted_by", json!(auth.user_id)),
            ("restricted_at", json!(at)),
        ],
    )
    .await?;
    w.audit("chart.restrict", "patient", Some(patient_id), json!({ "restriction_id": id, "reason": reason })).await?;
    w.commit().await?;
    restrictions(store, patient_id)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| Error::internal("the restriction just saved is not there"))
}

/// Lifts a patient's chart restriction (a doctor on its care team, or an administrator), with
/// an optional reason. Audited as `chart.lift_restriction`.
pub async fn lift(store: &Store, auth: &Authorized, patient_id: &str, reason: &str) -> Result<()> {
    auth.require(Permission::ChartRestrict)?;
    let reason = text("reason", reason, REASON_MAX)?;
    let current = restrictions(store, patient_id).await?;
    if current.is_empty() {
        return Err(Error::validation("patient_id", ValidationReason::Invalid, "this chart is not restricted"));
    }
    if !auth.roles.contains(&Role::Admin) && !on_care_team(store, &auth.user_id, patient_id).await? {
        return Err(Error::ChartRestricted { patient_id: patient_id.to_string() });
    }
    let mut w = store.begin_write(auth.actor()).await?;
    let (now, stamp, by) = (w.now_rfc3339(), w.stamp(), w.actor().user_id.clone());
    for r in &current {
        sqlx::query(
            "UPDATE chart_restrictions SET lifted_at = ?, lifted_by = ?, lift_reason = ?, updated_at = ?, updated_by = ? WHERE id = ?",
        )
        .bind(&now)
        .bind(&by)
        .bind(&reason)
        .bind(&stamp)
        .bind(&by)
        .bind(&r.id)
        .execute(w.conn())
        .await?;
        let data = json!({
            "id": r.id, "lifted_at": now, "lifted_by": by, "lift_reason": reason, "updated_at": stamp, "updated_by": by,
        });
        w.record_change("chart_restrictions", &r.id, ChangeOp::Update, &data).await?;
    }
    w.audit("chart.lift_restriction", "patient", Some(patient_id), json!({ "reason": reason })).await?;
    w.commit().await
}

/// Emergency access to a restricted chart (doctor, nurse) with a reason of at least
/// [`BREAK_GLASS_REASON_MIN`] characters: for [`BREAK_GLASS_MINUTES`] on the clinic's clock,
/// for this patient, this user, on this device. Audited as `chart.break_glass`, flagged.
pub async fn break_glass(store: &Store, auth: &Authorized, patient_id: &str, reason: &str) -> Result<BreakGlassGrant> {
    auth.require(Permission::BreakGlass)?;
    let reason = text("reason", reason, REASON_MAX)?;
    if reason.chars().count() < BREAK_GLASS_REASON_MIN {
        let (reason_code, message) = if reason.is_empty() {
            (ValidationReason::Required, "required".to_string())
        } else {
            (ValidationReason::TooShort, format!("at least {BREAK_GLASS_REASON_MIN} characters"))
        };
        return Err(Error::validation("reason", reason_code, message));
    }
    require_patient(store, patient_id).await?;
    if restrictions(store, patient_id).await?.is_empty() || on_care_team(store, &auth.user_id, patient_id).await? {
        return Err(Error::validation(
            "patient_id",
            ValidationReason::Invalid,
            "this chart opens without emergency access",
        ));
    }
    let mut w = store.begin_write(auth.actor()).await?;
    let until = millis(w.now() + Duration::minutes(BREAK_GLASS_MINUTES));
    w.audit(
        BREAK_GLASS_ACTION,
        "patient",
        Some(patient_id),
        json!({ "break_glass": true, "reason": reason, "until": until, "minutes": BREAK_GLASS_MINUTES }),
    )
    .await?;
    let entry_id: String =
        sqlx::query_scalar("SELECT id FROM audit_log ORDER BY seq DESC LIMIT 1").fetch_one(w.conn()).await?;
    w.commit().await?;
    Ok(BreakGlassGrant { patient_id: patient_id.to_string(), entry_id, until })
}

/// The emergency accesses from every device (this one's and those synced in) that no review
/// names yet, newest first (administrator).
pub async fn break_glass_pending(store: &Store, auth: &Authorized) -> Result<Vec<BreakGlassEntry>> {
    auth.require(Permission::AuditView)?;
    type Row = (String, String, Option<String>, String, Option<String>, String, String, String, String);
    let rows: Vec<Row> = sqlx::query_as(
        "WITH e AS (SELECT id, at, user_id, device_id, entity_id, detail FROM audit_log WHERE action = ?1
                    UNION ALL SELECT id, at, user_id, device_id, entity_id, detail FROM audit_remote WHERE action = ?1),
              r AS (SELECT entity_id FROM audit_log WHERE action = ?2 UNION SELECT entity_id FROM audit_remote WHERE action = ?2)
         SELECT e.id, e.at, e.user_id, COALESCE(u.full_name, ''), e.entity_id, e.device_id,
                COALESCE(TRIM(p.given_name || ' ' || p.family_name), ''), COALESCE(p.mrn, ''),
                COALESCE(json_extract(e.detail, '$.reason'), '')
         FROM e LEFT JOIN users u ON u.id = e.user_id LEFT JOIN patients p ON p.id = e.entity_id
         WHERE e.id NOT IN (SELECT entity_id FROM r WHERE entity_id IS NOT NULL)
         ORDER BY e.at DESC, e.id DESC LIMIT ?3",
    )
    .bind(BREAK_GLASS_ACTION)
    .bind(BREAK_GLASS_REVIEW_ACTION)
    .bind(PENDING_LIMIT)
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(entry_id, at, user_id, user_name, patient_id, device_id, patient_name, mrn, reason)| BreakGlassEntry {
            entry_id,
            at,
            user_id,
            user_name,
            device_id,
            patient_id: patient_id.unwrap_or_default(),
            patient_name,
            mrn,
            reason,
        })
        .collect())
}

/// Marks an emergency access reviewed (administrator), with an optional comment: an audit
/// entry `chart.break_glass_review` naming the entry, which syncs like every audit entry.
pub async fn break_glass_review(store: &Store, auth: &Authorized, entry_id: &str, comment: &str) -> Result<()> {
    auth.require(Permission::AuditView)?;
    let comment = text("comment", comment, REASON_MAX)?;
    let patient: Option<Option<String>> = sqlx::query_scalar(
        "SELECT entity_id FROM audit_log WHERE id = ?1 AND action = ?2
         UNION ALL SELECT entity_id FROM audit_remote WHERE id = ?1 AND action = ?2 LIMIT 1",
    )
    .bind(entry_id)
    .bind(BREAK_GLASS_ACTION)
    .fetch_optional(store.pool())
    .await?;
    let Some(patient) = patient else {
        return Err(Error::NotFound { entity: "break_glass_entry".into() });
    };
    let reviewed: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM audit_log WHERE action = ?1 AND entity_id = ?2)
             OR EXISTS (SELECT 1 FROM audit_remote WHERE action = ?1 AND entity_id = ?2)",
    )
    .bind(BREAK_GLASS_REVIEW_ACTION)
    .bind(entry_id)
    .fetch_one(store.pool())
    .await?;
    if reviewed {
        return Err(Error::validation("entry_id", ValidationReason::Invalid, "already reviewed"));
    }
    let mut w = store.begin_write(auth.actor()).await?;
    w.audit(
        BREAK_GLASS_REVIEW_ACTION,
        "audit_log",
        Some(entry_id),
        json!({ "comment": comment, "patient_id": patient }),
    )
    .await?;
    w.commit().await
}
