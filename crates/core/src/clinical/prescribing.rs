//! The managed medicine list and prescriptions, with warnings on allergy matches and
//! duplicate medicines that need a reason to override.

use super::allergy_check;
use super::model::*;
use super::{insert_row, line};
use crate::codes::Code;
use crate::error::{ClinicalWarning, ClinicalWarningKind, Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{stored, ChangeOp, Store, WriteTx};
use serde_json::{json, Value};
use sqlx::SqliteConnection;

/// Adds a medicine to the managed list.
pub async fn add_medicine(store: &Store, auth: &Authorized, input: MedicineInput) -> Result<Medicine> {
    auth.require(Permission::ClinicalCatalogManage)?;
    let name = line("name", &input.name, 120, true)?;
    let strength = line("strength", &input.strength, 60, false)?;
    let form = line("form", &input.form, 40, false)?.to_lowercase();
    let ingredients = ingredient_ids(&input.ingredients, &name)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let taken: bool = sqlx::query_scalar(
        "SELECT COUNT(*) > 0 FROM medicines WHERE name = ? COLLATE NOCASE AND strength = ? COLLATE NOCASE AND form = ? COLLATE NOCASE AND deleted_at IS NULL",
    )
    .bind(&name)
    .bind(&strength)
    .bind(&form)
    .fetch_one(w.conn())
    .await?;
    if taken {
        return Err(Error::validation("name", ValidationReason::Taken, "this medicine is already on the list"));
    }
    let id = crate::ids::new_id();
    insert_row(
        &mut w,
        "medicines",
        &id,
        &[
            ("name", json!(name)),
            ("strength", json!(strength)),
            ("form", json!(form)),
            ("active", json!(true)),
            ("ingredients", json!(serde_json::to_string(&ingredients)?)),
        ],
    )
    .await?;
    w.audit(
        "medicine.create",
        "medicine",
        Some(&id),
        json!({ "name": name, "strength": strength, "form": form, "ingredients": ingredients }),
    )
    .await?;
    w.commit().await?;
    let ingredients = ingredient_names(&ingredients, &name);
    Ok(Medicine { id, name, strength, form, active: true, ingredients, usual_dose: String::new() })
}

/// The names of a medicine's ingredients as the allergy check knows them (from the stored
/// ids, else from its name).
pub(crate) fn ingredient_names(ids: &[String], name: &str) -> Vec<String> {
    allergy_check::ingredients_of(ids, name).iter().map(|s| s.name.to_string()).collect()
}

/// The least a reason to override a clinical warning says (characters).
pub const OVERRIDE_REASON_MIN: usize = 5;
/// The most it says.
pub const OVERRIDE_REASON_MAX: usize = 300;

/// A medicine as [`MEDICINE_COLUMNS`] reads it.
#[derive(sqlx::FromRow)]
pub(crate) struct MedicineRow {
    pub id: String,
    pub name: String,
    pub strength: String,
    pub form: String,
    pub active: bool,
    /// The ingredient ids, as JSON.
    pub ingredients: String,
    pub usual_dose: String,
}

/// The columns of a [`MedicineRow`], written once.
pub(crate) const MEDICINE_COLUMNS: &str = "id, name, strength, form, active, ingredients, usual_dose";

pub(crate) fn medicine_of(r: MedicineRow) -> Result<Medicine> {
    let ids: Vec<String> = stored::json("medicines", &r.id, "ingredients", &r.ingredients)?;
    let ingredients = ingredient_names(&ids, &r.name);
    Ok(Medicine {
        id: r.id,
        name: r.name,
        strength: r.strength,
        form: r.form,
        active: r.active,
        ingredients,
        usual_dose: r.usual_dose,
    })
}

/// The ingredient ids to store: those given (each must be on the list), else those the name
/// names ("Amoxicillin + Clavulanic acid"), else none.
pub(crate) fn ingredient_ids(given: &[String], name: &str) -> Result<Vec<String>> {
    let r = super::drugs::reference();
    if given.len() > 10 {
        return Err(Error::validation("ingredients", ValidationReason::TooLong, "at most 10 ingredients"));
    }
    let mut out: Vec<String> = Vec::new();
    for id in given.iter().map(|i| i.trim()).filter(|i| !i.is_empty()) {
        if r.substance(id).is_none() {
            return Err(Error::validation(
                "ingredients",
                ValidationReason::Invalid,
                format!("{id} is not on the list"),
            ));
        }
        if !out.iter().any(|x| x == id) {
            out.push(id.to_string());
        }
    }
    if out.is_empty() {
        out = super::drugs::ingredients_from_name(name).iter().map(|s| s.id.to_string()).collect();
    }
    Ok(out)
}

/// The medicine list, optionally filtered by a name prefix or word; at most 1000 entries (the
/// Prescribe dialog loads the whole list and filters it: the starter formulary alone has 441).
pub async fn medicines(store: &Store, auth: &Authorized, query: &str) -> Result<Vec<Medicine>> {
    auth.require(Permission::ClinicalView)?;
    let q = query.trim().to_lowercase().replace(['%', '_'], "");
    // ... or by an ingredient, under any of its names ("cotrimoxazole", "amoxycillin").
    let named = serde_json::to_string(&super::drugs::reference().substances_named(&q))?;
    let sql = format!(
        "SELECT {MEDICINE_COLUMNS} FROM medicines WHERE deleted_at IS NULL AND active = 1
         AND (?1 = '' OR lower(name) LIKE ?1 || '%' OR lower(name) LIKE '% ' || ?1 || '%'
              OR EXISTS (SELECT 1 FROM json_each(medicines.ingredients) i WHERE i.value IN (SELECT value FROM json_each(?2))))
         ORDER BY name COLLATE NOCASE, strength LIMIT 1000"
    );
    let rows: Vec<MedicineRow> = sqlx::query_as(&sql).bind(&q).bind(&named).fetch_all(store.pool()).await?;
    rows.into_iter().map(medicine_of).collect()
}

/// The warnings a new prescription raises, inside the write (also the FHIR import's check).
pub(crate) async fn warnings(
    w: &mut WriteTx<'_>,
    patient_id: &str,
    medicine_id: &str,
    medicine_name: &str,
    today: &str,
    except: Option<&str>,
) -> Result<Vec<ClinicalWarning>> {
    let mut out = Vec::new();
    let ingredients: String = sqlx::query_scalar("SELECT ingredients FROM medicines WHERE id = ?")
        .bind(medicine_id)
        .fetch_one(w.conn())
        .await?;
    let ingredients: Vec<String> = stored::json("medicines", medicine_id, "ingredients", &ingredients)?;
    let allergies = super::visits::allergy_rows(w.conn(), patient_id).await?;
    for a in allergies {
        let detail = if a.reaction.is_empty() {
            a.severity.code().to_string()
        } else {
            format!("{}: {}", a.severity.code(), a.reaction)
        };
        let found = allergy_check::assess(a.allergen.as_deref(), &a.substance, medicine_name, &ingredients);
        out.extend(found.into_iter().map(|f| allergy_warning(f, &a.substance, &detail)));
    }
    // The allergies flagged at registration (free text on the patient's record) count too.
    let flagged: String =
        sqlx::query_scalar("SELECT allergies FROM patients WHERE id = ?").bind(patient_id).fetch_one(w.conn()).await?;
    let flagged: Vec<String> = stored::json("patients", patient_id, "allergies", &flagged)?;
    for substance in flagged {
        let known = out.iter().any(|x: &ClinicalWarning| x.subject.eq_ignore_ascii_case(&substance));
        if known {
            continue;
        }
        let found = allergy_check::assess(None, &substance, medicine_name, &ingredients);
        out.extend(found.into_iter().map(|f| allergy_warning(f, &substance, "flagged on the patient's record")));
    }
    let running = current_rows(w.conn(), patient_id, today).await?;
    for p in running.into_iter().filter(|p| Some(p.id.as_str()) != except) {
        if p.medicine_id == medicine_id || p.medicine_name.eq_ignore_ascii_case(medicine_name) {
            out.push(ClinicalWarning {
                kind: ClinicalWarningKind::DuplicateMedicine,
                subject: p.medicine_name,
                detail: format!("{} {} {}", p.dose, p.dose_unit, p.frequency).trim().to_string(),
                reason: String::new(),
            });
        }
    }
    Ok(out)
}

/// A finding as the warning shown and stored; the UI words it as "Sulfamethoxazole is a
/// sulfonamide antibiotic; allergy: Sulfa drugs, severe: rash".
fn allergy_warning(f: allergy_check::Finding, subject: &str, detail: &str) -> ClinicalWarning {
    let kind = match f.level {
        allergy_check::Level::Allergy => ClinicalWarningKind::Allergy,
        allergy_check::Level::CrossReaction => ClinicalWarningKind::AllergyCrossReaction,
    };
    ClinicalWarning { kind, subject: subject.to_string(), detail: detail.to_string(), reason: f.reason }
}

/// A prescription's fields as entered, checked and trimmed.
pub(crate) struct RxFields {
    pub dose: String,
    pub dose_unit: String,
    pub route: String,
    pub frequency: String,
    pub instructions: String,
    pub reason: Option<String>,
}

pub(crate) fn rx_fields(p: &PrescriptionInput) -> Result<RxFields> {
    let dose = line("dose", &p.dose, 30, true)?;
    let dose_unit = line("dose_unit", &p.dose_unit, 30, true)?;
    let route = line("route", &p.route, 40, false)?;
    let frequency = line("frequency", &p.frequency, 60, false)?;
    let instructions = line("instructions", &p.instructions, 500, false)?;
    if let Some(d) = p.duration_days {
        if !(1..=3_650).contains(&d) {
            return Err(Error::validation("duration_days", ValidationReason::OutOfRange, "1 to 3,650 days"));
        }
    }
    let reason = p
        .override_reason
        .as_deref()
        .map(|r| line("override_reason", r, OVERRIDE_REASON_MAX, false))
        .transpose()?
        .filter(|r| !r.is_empty());
    Ok(RxFields { dose, dose_unit, route, frequency, instructions, reason })
}

/// Warnings stop a prescription unless a reason of at least [`OVERRIDE_REASON_MIN`]
/// characters overrides them.
fn check_override(found: &[ClinicalWarning], reason: &Option<String>) -> Result<()> {
    match reason {
        None if !found.is_empty() => Err(Error::ClinicalWarning { warnings: found.to_vec() }),
        Some(r) if !found.is_empty() && r.chars().count() < OVERRIDE_REASON_MIN => Err(Error::validation(
            "override_reason",
            ValidationReason::TooShort,
            format!("say why in at least {OVERRIDE_REASON_MIN} characters"),
        )),
        _ => Ok(()),
    }
}

/// The last day plus one of a course started on `starts_on` (YYYY-MM-DD); `None`: long-term.
pub(crate) fn ends_on(starts_on: &str, duration_days: Option<i32>) -> Option<String> {
    match (duration_days, chrono::NaiveDate::parse_from_str(starts_on, "%Y-%m-%d")) {
        (Some(d), Ok(start)) => {
            Some((start + chrono::Days::new(d.unsigned_abs().into())).format("%Y-%m-%d").to_string())
        }
        _ => None,
    }
}

/// Prescribes inside a write (used alone and by a whole consultation).
pub(crate) async fn prescribe_in(
    w: &mut WriteTx<'_>,
    visit_id: &str,
    p: &PrescriptionInput,
    today: &str,
) -> Result<Prescription> {
    let RxFields { dose, dose_unit, route, frequency, instructions, reason } = rx_fields(p)?;
    let patient_id: Option<String> =
        sqlx::query_scalar("SELECT patient_id FROM visits WHERE id = ? AND deleted_at IS NULL")
            .bind(visit_id)
            .fetch_optional(w.conn())
            .await?;
    let Some(patient_id) = patient_id else {
        return Err(Error::validation("visit_id", ValidationReason::Invalid, "unknown visit"));
    };
    let med: Option<(String, String, String)> =
        sqlx::query_as("SELECT name, strength, form FROM medicines WHERE id = ? AND active = 1 AND deleted_at IS NULL")
            .bind(p.medicine_id.trim())
            .fetch_optional(w.conn())
            .await?;
    let Some((name, strength, form)) = med else {
        return Err(Error::validation("medicine_id", ValidationReason::Invalid, "choose a medicine from the list"));
    };
    let medicine_id = p.medicine_id.trim().to_string();
    let found = warnings(w, &patient_id, &medicine_id, &name, today, None).await?;
    check_override(&found, &reason)?;
    let ends_on = ends_on(today, p.duration_days);
    let id = crate::ids::new_id();
    let warnings_json = serde_json::to_string(&found)?;
    insert_row(
        w,
        "prescriptions",
        &id,
        &[
            ("visit_id", json!(visit_id)),
            ("patient_id", json!(patient_id)),
            ("medicine_id", json!(medicine_id)),
            ("dose", json!(dose)),
            ("dose_unit", json!(dose_unit)),
            ("route", json!(route)),
            ("frequency", json!(frequency)),
            ("duration_days", json!(p.duration_days)),
            ("instructions", json!(instructions)),
            ("override_reason", json!(reason)),
            ("warnings", json!(warnings_json)),
            ("starts_on", json!(today)),
            ("ends_on", json!(ends_on)),
        ],
    )
    .await?;
    w.audit(
        "prescription.add",
        "prescription",
        Some(&id),
        json!({ "visit_id": visit_id, "medicine": name, "dose": dose, "dose_unit": dose_unit, "override_reason": reason, "warnings": found }),
    )
    .await?;
    Ok(Prescription {
        id,
        visit_id: visit_id.to_string(),
        patient_id,
        medicine_id,
        medicine_name: name,
        strength,
        form,
        dose,
        dose_unit,
        route,
        frequency,
        duration_days: p.duration_days,
        instructions,
        override_reason: reason,
        warnings: found,
        starts_on: today.to_string(),
        stopped_at: None,
        stopped_by: None,
        stop_reason: String::new(),
    })
}

/// Prescribes a medicine in a visit. An allergy match or a medicine the patient already
/// takes is refused with `clinical_warning` (listing the warnings) unless `override_reason`
/// is given; the reason and the warnings are stored with the prescription.
pub async fn prescribe(
    store: &Store,
    auth: &Authorized,
    visit_id: &str,
    input: PrescriptionInput,
) -> Result<Prescription> {
    auth.require(Permission::ClinicalEdit)?;
    super::restriction::require_visit_chart(store, auth, visit_id).await?;
    let today = crate::clinic::today_ymd(store).await?;
    let mut w = store.begin_write(auth.actor()).await?;
    let p = prescribe_in(&mut w, visit_id, &input, &today).await?;
    w.commit().await?;
    Ok(p)
}

/// A prescription as [`RX_SELECT`] reads it.
#[derive(sqlx::FromRow)]
struct RxRow {
    id: String,
    visit_id: String,
    patient_id: String,
    medicine_id: String,
    medicine_name: String,
    strength: String,
    form: String,
    dose: String,
    dose_unit: String,
    route: String,
    frequency: String,
    duration_days: Option<i32>,
    instructions: String,
    override_reason: Option<String>,
    warnings: String,
    starts_on: String,
    stopped_at: Option<String>,
    /// The name of who stopped it (their user id when the account is not on this device).
    stopped_by: Option<String>,
    stop_reason: String,
}

/// The columns of an [`RxRow`], written once.
const RX_SELECT: &str =
    "SELECT p.id, p.visit_id, p.patient_id, p.medicine_id, m.name AS medicine_name, m.strength, m.form, p.dose,
    p.dose_unit, p.route, p.frequency, p.duration_days, p.instructions, p.override_reason, p.warnings, p.starts_on,
    p.stopped_at, CASE WHEN p.stopped_by IS NULL THEN NULL ELSE coalesce(u.full_name, p.stopped_by) END AS stopped_by,
    p.stop_reason
    FROM prescriptions p JOIN medicines m ON m.id = p.medicine_id LEFT JOIN users u ON u.id = p.stopped_by";

fn rx_of(r: RxRow) -> Result<Prescription> {
    let warnings = stored_warnings(&r.id, &r.warnings)?;
    Ok(Prescription {
        id: r.id,
        visit_id: r.visit_id,
        patient_id: r.patient_id,
        medicine_id: r.medicine_id,
        medicine_name: r.medicine_name,
        strength: r.strength,
        form: r.form,
        dose: r.dose,
        dose_unit: r.dose_unit,
        route: r.route,
        frequency: r.frequency,
        duration_days: r.duration_days,
        instructions: r.instructions,
        override_reason: r.override_reason,
        warnings,
        starts_on: r.starts_on,
        stopped_at: r.stopped_at,
        stopped_by: r.stopped_by,
        stop_reason: r.stop_reason,
    })
}

async fn rx_by_id(conn: &mut SqliteConnection, id: &str) -> Result<Prescription> {
    let sql = format!("{RX_SELECT} WHERE p.id = ? AND p.deleted_at IS NULL");
    let row: Option<RxRow> = sqlx::query_as(&sql).bind(id).fetch_optional(conn).await?;
    rx_of(row.ok_or_else(|| Error::NotFound { entity: "prescription".into() })?)
}

/// A prescription that may still change: found, not stopped.
async fn running_rx(w: &mut WriteTx<'_>, id: &str) -> Result<Prescription> {
    let p = rx_by_id(w.conn(), id).await?;
    if p.stopped_at.is_some() {
        return Err(Error::validation("prescription_id", ValidationReason::Invalid, "this prescription is stopped"));
    }
    Ok(p)
}

/// The synced columns of a prescription that an edit may change, as a change carries them.
fn rx_fields_json(p: &Prescription, ends_on: &Option<String>) -> Value {
    json!({
        "dose": p.dose, "dose_unit": p.dose_unit, "route": p.route, "frequency": p.frequency,
        "duration_days": p.duration_days, "instructions": p.instructions, "override_reason": p.override_reason,
        "warnings": serde_json::to_string(&p.warnings).unwrap_or_else(|_| "[]".into()), "ends_on": ends_on,
    })
}

/// Changes a running prescription's dose, unit, route, frequency, duration or instructions
/// (the doctor). The allergy and duplicate-medicine checks run again as for a new one (the
/// prescription itself not counted): warnings need `override_reason`, stored with the new
/// warnings. Its medicine cannot change: stop it and prescribe the other. Audited as
/// `prescription.update` with the values before and after.
pub async fn update_prescription(
    store: &Store,
    auth: &Authorized,
    id: &str,
    input: PrescriptionInput,
) -> Result<Prescription> {
    auth.require(Permission::ClinicalEdit)?;
    super::restriction::require_row_chart(store, auth, super::restriction::ChartRow::Prescription, id).await?;
    let f = rx_fields(&input)?;
    let today = crate::clinic::today_ymd(store).await?;
    let mut w = store.begin_write(auth.actor()).await?;
    let before = running_rx(&mut w, id).await?;
    let medicine = input.medicine_id.trim();
    if !medicine.is_empty() && medicine != before.medicine_id {
        return Err(Error::validation(
            "medicine_id",
            ValidationReason::Invalid,
            "a prescription's medicine cannot change: stop it and prescribe the other",
        ));
    }
    let found =
        warnings(&mut w, &before.patient_id, &before.medicine_id, &before.medicine_name, &today, Some(id)).await?;
    check_override(&found, &f.reason)?;
    let after = Prescription {
        dose: f.dose,
        dose_unit: f.dose_unit,
        route: f.route,
        frequency: f.frequency,
        duration_days: input.duration_days,
        instructions: f.instructions,
        override_reason: if found.is_empty() { None } else { f.reason },
        warnings: found,
        ..before.clone()
    };
    let ends = ends_on(&after.starts_on, after.duration_days);
    let (stamp, by) = (w.stamp(), w.actor().user_id.clone());
    sqlx::query(
        "UPDATE prescriptions SET dose = ?, dose_unit = ?, route = ?, frequency = ?, duration_days = ?, instructions = ?,
           override_reason = ?, warnings = ?, ends_on = ?, updated_at = ?, updated_by = ? WHERE id = ?",
    )
    .bind(&after.dose)
    .bind(&after.dose_unit)
    .bind(&after.route)
    .bind(&after.frequency)
    .bind(after.duration_days)
    .bind(&after.instructions)
    .bind(&after.override_reason)
    .bind(serde_json::to_string(&after.warnings)?)
    .bind(&ends)
    .bind(&stamp)
    .bind(&by)
    .bind(id)
    .execute(w.conn())
    .await?;
    let mut data = rx_fields_json(&after, &ends);
    data["updated_at"] = json!(stamp);
    data["updated_by"] = json!(by);
    w.record_change("prescriptions", id, ChangeOp::Update, &data).await?;
    let was = rx_fields_json(&before, &ends_on(&before.starts_on, before.duration_days));
    w.audit(
        "prescription.update",
        "prescription",
        Some(id),
        json!({ "medicine": before.medicine_name, "before": was, "after": rx_fields_json(&after, &ends) }),
    )
    .await?;
    w.commit().await?;
    let mut conn = store.pool().acquire().await?;
    rx_by_id(&mut conn, id).await
}

/// The most characters a reason to stop a prescription may have.
pub const STOP_REASON_MAX: usize = 300;

/// Stops a running prescription (the doctor), with a reason: it leaves the patient's current
/// medicines and shows as stopped (when, by whom, why) in its visit. Audited as
/// `prescription.stop`.
pub async fn stop_prescription(store: &Store, auth: &Authorized, id: &str, reason: &str) -> Result<Prescription> {
    auth.require(Permission::ClinicalEdit)?;
    super::restriction::require_row_chart(store, auth, super::restriction::ChartRow::Prescription, id).await?;
    let reason = line("reason", reason, STOP_REASON_MAX, true)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let p = running_rx(&mut w, id).await?;
    let (now, stamp, by) = (w.now_rfc3339(), w.stamp(), w.actor().user_id.clone());
    sqlx::query(
        "UPDATE prescriptions SET stopped_at = ?, stopped_by = ?, stop_reason = ?, updated_at = ?, updated_by = ? WHERE id = ?",
    )
    .bind(&now)
    .bind(&by)
    .bind(&reason)
    .bind(&stamp)
    .bind(&by)
    .bind(id)
    .execute(w.conn())
    .await?;
    let data =
        json!({ "stopped_at": now, "stopped_by": by, "stop_reason": reason, "updated_at": stamp, "updated_by": by });
    w.record_change("prescriptions", id, ChangeOp::Update, &data).await?;
    w.audit("prescription.stop", "prescription", Some(id), json!({ "medicine": p.medicine_name, "reason": reason }))
        .await?;
    w.commit().await?;
    let mut conn = store.pool().acquire().await?;
    rx_by_id(&mut conn, id).await
}

/// A warning as stored with a prescription; those stored before warnings said why have no
/// `reason`.
#[derive(serde::Deserialize)]
struct StoredWarning {
    kind: ClinicalWarningKind,
    subject: String,
    detail: String,
    #[serde(default)]
    reason: String,
}

fn stored_warnings(id: &str, json: &str) -> Result<Vec<ClinicalWarning>> {
    let stored: Vec<StoredWarning> = stored::json("prescriptions", id, "warnings", json)?;
    Ok(stored
        .into_iter()
        .map(|w| ClinicalWarning { kind: w.kind, subject: w.subject, detail: w.detail, reason: w.reason })
        .collect())
}

/// Prescriptions still running on `today` (not stopped, within their duration).
pub(crate) async fn current_rows(
    conn: &mut SqliteConnection,
    patient_id: &str,
    today: &str,
) -> Result<Vec<Prescription>> {
    let sql = format!(
        "{RX_SELECT} WHERE p.patient_id = ?1 AND p.stopped_at IS NULL AND p.deleted_at IS NULL
         AND (p.ends_on IS NULL OR p.ends_on > ?2) ORDER BY p.created_at DESC LIMIT 200"
    );
    let rows: Vec<RxRow> = sqlx::query_as(&sql).bind(patient_id).bind(today).fetch_all(conn).await?;
    rows.into_iter().map(rx_of).collect()
}

/// The prescriptions of one visit, in the order written.
pub(crate) async fn visit_rows(conn: &mut SqliteConnection, visit_id: &str) -> Result<Vec<Prescription>> {
    let sql = format!("{RX_SELECT} WHERE p.visit_id = ? AND p.deleted_at IS NULL ORDER BY p.created_at, p.id");
    let rows: Vec<RxRow> = sqlx::query_as(&sql).bind(visit_id).fetch_all(conn).await?;
    rows.into_iter().map(rx_of).collect()
}

/// The prescriptions of one visit.
pub async fn visit_prescriptions(store: &Store, auth: &Authorized, visit_id: &str) -> Result<Vec<Prescription>> {
    auth.require(Permission::ClinicalView)?;
    super::restriction::require_visit_chart(store, auth, visit_id).await?;
    let mut conn = store.pool().acquire().await?;
    visit_rows(&mut conn, visit_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_stored_before_reasons_still_read() {
        let old = r#"[{"kind":"allergy","subject":"Penicillin","detail":"severe: rash"}]"#;
        let w = stored_warnings("rx", old).unwrap();
        assert_eq!((w.len(), w[0].subject.as_str(), w[0].reason.as_str()), (1, "Penicillin", ""));
        let new = r#"[{"kind":"allergy_cross_reaction","subject":"P","detail":"mild","reason":"Ceftriaxone is a cephalosporin"}]"#;
        assert_eq!(stored_warnings("rx", new).unwrap()[0].kind, ClinicalWarningKind::AllergyCrossReaction);
        let damaged = stored_warnings("rx-1", "not json").unwrap_err();
        assert!(
            matches!(&damaged, crate::Error::CorruptRecord { table, id, field } if table == "prescriptions" && id == "rx-1" && field == "warnings"),
            "{damaged:?}"
        );
    }
}
