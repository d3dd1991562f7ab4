//! The bed board: every ward's beds as cards (free, occupied, cleaning, out of service), the
//! patient in each occupied bed, counts per ward, the waiting lists, and what the derivation
//! settled (conflicts); filtered by ward and tag.

use super::census::bed_days;
use super::setup::{load_beds, load_wards};
use super::{derive::Derived, derived_read, model::*};
use crate::error::{Error, Result};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use std::collections::{BTreeSet, HashMap};

type PatientRow = (String, String, String, String, String, String, Option<String>, String, String, bool);

fn age(birth: Option<&str>, today: NaiveDate) -> Option<u32> {
    let b = NaiveDate::parse_from_str(birth?, "%Y-%m-%d").ok()?;
    let mut years = today.year() - b.year();
    if (today.month(), today.day()) < (b.month(), b.day()) {
        years -= 1;
    }
    u32::try_from(years).ok()
}

/// The reserved beds' cards: bed → for whom, until when, the note.
async fn reservations(
    conn: &mut sqlx::SqliteConnection,
    d: &super::derive::Derived,
) -> Result<HashMap<String, ReservationCard>> {
    let held: Vec<(&String, &super::derive::Held, &String)> =
        d.beds.iter().filter_map(|(bed, b)| b.held.as_ref().map(|h| (bed, h, &b.reason))).collect();
    if held.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<&str> = held.iter().map(|(_, h, _)| h.patient_id.as_str()).collect();
    let names: HashMap<String, (String, String)> = sqlx::query_as::<_, (String, String, String)>(
        "SELECT id, TRIM(given_name || ' ' || family_name), mrn FROM patients WHERE id IN (SELECT value FROM json_each(?))",
    )
    .bind(serde_json::to_string(&ids).map_err(Error::internal)?)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|(id, name, mrn)| (id, (name, mrn)))
    .collect();
    Ok(held
        .into_iter()
        .map(|(bed, h, note)| {
            let (name, mrn) = names.get(&h.patient_id).cloned().unwrap_or_default();
            let card = ReservationCard {
                patient_id: h.patient_id.clone(),
                name,
                mrn,
                until: h.until.clone(),
                note: note.clone(),
            };
            (bed.clone(), card)
        })
        .collect())
}

/// The board as the caller may filter it (`inpatients_view`).
pub async fn board(store: &Store, auth: &Authorized, filter: BoardFilter) -> Result<Board> {
    auth.require(Permission::InpatientsView)?;
    let tz = crate::clinic::time_zone(store).await?;
    let now = store.now();
    let today = now.with_timezone(&tz).date_naive();
    let mut conn = store.pool().acquire().await?;
    let mut d = Derived::clone(&*derived_read(store, &mut conn).await?);
    d.lapse(&now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    let mut held = reservations(&mut conn, &d).await?;
    let wards = load_wards(&mut conn).await?;
    let beds = load_beds(&mut conn).await?;
    let rooms: HashMap<String, String> =
        sqlx::query_as::<_, (String, String)>("SELECT id, name FROM rooms WHERE deleted_at IS NULL")
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect();
    // Everyone in hospital, with what a card shows.
    let rows: Vec<PatientRow> = sqlx::query_as(
        "SELECT a.id, a.ward_id, a.admitted_at, p.id, TRIM(p.given_name || ' ' || p.family_name), p.mrn, p.birth_date, p.sex,
                COALESCE(s.full_name, ''),
                (json_array_length(p.allergies) > 0
                 OR EXISTS (SELECT 1 FROM allergies g WHERE g.patient_id = p.id AND g.deleted_at IS NULL))
         FROM admissions a JOIN patients p ON p.id = a.patient_id LEFT JOIN staff s ON s.id = a.doctor_id
         WHERE a.discharged_at IS NULL AND a.deleted_at IS NULL
         ORDER BY a.admitted_at, a.id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut occupants: HashMap<String, (String, Occupant)> = HashMap::with_capacity(rows.len());
    let mut order: Vec<String> = Vec::with_capacity(rows.len());
    for (id, ward_id, admitted_at, patient_id, name, mrn, birth, sex, doctor_name, has_allergies) in rows {
        let from: DateTime<Utc> = DateTime::parse_from_rfc3339(&admitted_at)
            .map_err(|e| Error::corrupt("admissions", &id, "admitted_at", e))?
            .with_timezone(&Utc);
        let days_in = u32::try_from(bed_days(tz, from, now).len()).unwrap_or(u32::MAX);
        let o = Occupant {
            admission_id: id.clone(),
            patient_id,
            name,
            mrn,
            sex,
            age_years: age(birth.as_deref(), today),
            admitted_at,
            days_in,
            doctor_name,
            has_allergies,
            due: None,
        };
        order.push(id.clone());
        occupants.insert(id, (ward_id, o));
    }
    // What is due, for those who look after the patients (the ward's list has the detail).
    if auth.require(Permission::ClinicalView).is_ok() {
        let stays: Vec<(&str, &str)> =
            occupants.iter().map(|(id, (_, o))| (id.as_str(), o.patient_id.as_str())).collect();
        let mut items = super::due::items_of(&mut conn, tz, now, &stays).await?;
        for (id, (_, o)) in occupants.iter_mut() {
            o.due = Some(super::due::summary(&items.remove(id).unwrap_or_default()));
        }
    }
    let tag = filter.tag.as_deref().map(|t| t.trim().to_lowercase()).filter(|t| !t.is_empty());
    let mut tags: BTreeSet<String> = BTreeSet::new();
    let mut by_ward: HashMap<String, Vec<BedCard>> = HashMap::new();
    let mut counts: HashMap<String, WardCounts> = HashMap::new();
    for b in beds {
        tags.extend(b.tags.iter().cloned());
        let now = d.bed(&b.id);
        let c = counts.entry(b.ward_id.clone()).or_default();
        c.beds += 1;
        match now.state {
            BedState::Free => c.free += 1,
            BedState::Occupied => c.occupied += 1,
            BedState::Reserved => c.reserved += 1,
            BedState::Cleaning => c.cleaning += 1,
            BedState::OutOfService => c.out_of_service += 1,
        }
        if tag.as_ref().is_some_and(|t| !b.tags.contains(t)) {
            continue;
        }
        let occupant = now.admission_id.as_ref().and_then(|a| occupants.get(a)).map(|(_, o)| o.clone());
        let reservation = held.remove(&b.id);
        by_ward.entry(b.ward_id.clone()).or_default().push(BedCard {
            reservation,
            room_name: b.room_id.as_ref().and_then(|r| rooms.get(r)).cloned().unwrap_or_default(),
            bed_id: b.id,
            label: b.label,
            room_id: b.room_id,
            tags: b.tags,
            state: now.state,
            reason: now.reason,
            occupant,
        });
    }
    let mut waiting: HashMap<String, Vec<WaitingEntry>> = HashMap::new();
    for id in &order {
        if d.bed_of.contains_key(id) {
            continue;
        }
        if let Some((ward_id, o)) = occupants.get(id) {
            let needs_bed = d.needs_bed.contains(id);
            waiting.entry(ward_id.clone()).or_default().push(WaitingEntry { occupant: o.clone(), needs_bed });
        }
    }
    let shown = |w: &Ward| filter.ward_id.as_deref().is_none_or(|id| id.is_empty() || id == w.id);
    let wards = wards
        .into_iter()
        .filter(shown)
        .map(|ward| {
            let waiting = waiting.remove(&ward.id).unwrap_or_default();
            let mut counts = counts.get(&ward.id).copied().unwrap_or_default();
            counts.waiting = u32::try_from(waiting.len()).unwrap_or(u32::MAX);
            let beds = by_ward.remove(&ward.id).unwrap_or_default();
            WardBoard { ward, counts, beds, waiting }
        })
        .collect();
    // What the board settled and still matters: for patients in hospital, and beds that stay
    // in service because a patient lies in them.
    let conflicts = d
        .conflicts
        .iter()
        .filter(|c| match &c.admission_id {
            Some(a) => occupants.contains_key(a) && (c.kind != BoardConflictKind::BedTaken || d.needs_bed.contains(a)),
            None => d.bed(&c.bed_id).state == BedState::Occupied,
        })
        .cloned()
        .collect();
    Ok(Board { wards, conflicts, tags: tags.into_iter().collect() })
}
