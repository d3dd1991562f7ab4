//! The board, derived from the beds' stories. Nothing stores who lies in which bed: every
//! device replays the same events in the same order — by (time, move, id) — with the same
//! rules, so two devices that each gave a bed away offline agree once their events meet:
//!
//! - a bed goes to the **earlier** placement; a later admission into a bed already held by
//!   another patient does not take it: that admission **needs a bed** (the board's waiting
//!   list, flagged, and the conflicts list);
//! - a **transfer** into a bed held by someone else is refused: the patient stays in the bed
//!   they had (their old bed is not freed);
//! - a **swap** applies only when both its patients still lie in its two beds;
//! - taking an **occupied** bed out of service is refused;
//! - leaving (transfer out, discharge) frees the bed the admission holds *on the board*,
//!   which may differ from the one the writing device saw; the bed goes to cleaning;
//! - a **reservation** holds a free bed for one patient from its time until its `until`
//!   (then it lapses by itself: the bed is free again for every event at or after that time,
//!   and on the board read after it). Only an admission of that patient takes a reserved bed;
//!   anyone else's admission into it needs a bed, a transfer into it is refused, as for an
//!   occupied bed. A reservation of a bed that is not free then (occupied, in cleaning, out
//!   of service, or reserved already: the earlier reservation keeps it) is simply not made:
//!   the bed shows what it is, no conflict is raised (a reservation holds nobody's bed).
//!   A cancellation ends the reservation of the patient it names; taking a reserved bed out of
//!   service ends its reservation (the bed cannot be used).
//!
//! Nobody silently loses a bed: every admitted patient is in exactly one bed or without one,
//! and each refused event is reported as a [`BoardConflict`].

use super::model::{BedEventKind, BedState, BoardConflict, BoardConflictKind};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// One `bed_events` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: String,
    pub bed_id: String,
    pub kind: BedEventKind,
    pub admission_id: Option<String>,
    pub move_id: Option<String>,
    /// UTC, RFC 3339 with milliseconds (the form the store writes: it sorts as text).
    pub at: String,
    pub reason: String,
    /// A reservation's (and its cancellation's) patient.
    pub patient_id: Option<String>,
    /// Until when a reservation holds (same form as `at`).
    pub until: Option<String>,
}

/// One admission, as far as the board needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stay {
    pub id: String,
    pub patient_id: String,
    pub discharged_at: Option<String>,
}

/// A bed held for a patient not in it yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    /// The event that reserved it.
    pub event_id: String,
    pub patient_id: String,
    /// When it lapses (UTC, the store's form).
    pub until: String,
}

/// A bed on the derived board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BedNow {
    pub state: BedState,
    pub admission_id: Option<String>,
    /// Why it is out of service; a reservation's note.
    pub reason: String,
    /// The reservation of a `Reserved` bed.
    #[serde(default)]
    pub held: Option<Held>,
}

impl Default for BedNow {
    fn default() -> Self {
        BedNow { state: BedState::Free, admission_id: None, reason: String::new(), held: None }
    }
}

/// The board after every event.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Derived {
    /// Beds with any event (a bed without one is free).
    pub beds: HashMap<String, BedNow>,
    /// Admission → the bed it holds.
    pub bed_of: HashMap<String, String>,
    /// Admissions that lost the bed they were given (and hold none now).
    pub needs_bed: HashSet<String>,
    /// Admission → its beds over time: (from when, which bed or none), in order.
    pub history: HashMap<String, Vec<(String, Option<String>)>>,
    pub conflicts: Vec<BoardConflict>,
}

impl Derived {
    pub fn bed(&self, bed_id: &str) -> BedNow {
        self.beds.get(bed_id).cloned().unwrap_or_default()
    }

    /// Frees the beds whose reservation lapsed at or before `now` (the board as read then).
    pub fn lapse(&mut self, now: &str) {
        for bed in self.beds.values_mut() {
            if bed.held.as_ref().is_some_and(|h| h.until.as_str() <= now) {
                *bed = BedNow::default();
            }
        }
    }

    /// The bed reserved for a patient now (`lapse` first), if any.
    pub fn reserved_for(&self, patient_id: &str) -> Option<&str> {
        self.beds
            .iter()
            .find(|(_, b)| b.held.as_ref().is_some_and(|h| h.patient_id == patient_id))
            .map(|(id, _)| id.as_str())
    }

    /// The bed an admission held at `at` (its last move at or before it).
    pub fn bed_at(&self, admission_id: &str, at: &str) -> Option<&str> {
        self.history
            .get(admission_id)?
            .iter()
            .take_while(|(from, _)| from.as_str() <= at)
            .last()
            .and_then(|(_, bed)| bed.as_deref())
    }
}

/// The order every device replays events in: time, then the move they belong to (a
/// transfer's or swap's two events stay together), then id.
fn group_key(e: &Event) -> (&str, &str, &str) {
    (e.at.as_str(), e.move_id.as_deref().unwrap_or(e.id.as_str()), e.id.as_str())
}

/// Where a replay stands: the (time, move) of the last group of events applied. Every event
/// after it sorts after every event before it, so a board saved there and replayed on with
/// the later events is the board replayed from the start (`snapshot`'s property test).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Mark {
    pub at: String,
    pub group: String,
}

impl Mark {
    pub fn of(e: &Event) -> Mark {
        let (at, group, _) = group_key(e);
        Mark { at: at.to_string(), group: group.to_string() }
    }

    /// Whether `e` belongs after this mark (its group was not applied yet).
    pub fn before(&self, e: &Event) -> bool {
        let (at, group, _) = group_key(e);
        (self.at.as_str(), self.group.as_str()) < (at, group)
    }
}

/// Replays `events` (any order) over `stays` into the board.
pub fn derive(events: Vec<Event>, stays: &[Stay]) -> Derived {
    let mut d = Derived::default();
    d.replay(events, stays, None);
    d
}

impl Derived {
    /// Replays `events` (any order; all after what this board has applied) onto it. With
    /// `keep_at`, also answers the board as it stood after the last group at or before that
    /// time (`None` when no event is that old): a snapshot to start from next time.
    pub fn replay(&mut self, mut events: Vec<Event>, stays: &[Stay], keep_at: Option<&str>) -> Option<(Mark, Derived)> {
        events.sort_by(|a, b| group_key(a).cmp(&group_key(b)));
        let discharged: HashMap<&str, (&str, Option<&str>)> =
            stays.iter().map(|s| (s.id.as_str(), (s.patient_id.as_str(), s.discharged_at.as_deref()))).collect();
        let mut kept = None;
        let mut i = 0;
        while i < events.len() {
            let (at, key, _) = group_key(&events[i]);
            let mut j = i + 1;
            while j < events.len() && group_key(&events[j]).0 == at && group_key(&events[j]).1 == key {
                j += 1;
            }
            apply(self, &events[i..j], &discharged);
            let next_too_new = events.get(j).is_none_or(|n| keep_at.is_some_and(|k| n.at.as_str() > k));
            if keep_at.is_some_and(|k| at <= k) && next_too_new {
                kept = Some((Mark::of(&events[i]), self.clone()));
            }
            i = j;
        }
        kept
    }

    /// Forgets what no later question needs: the moves, waiting-list flags and conflicts of
    /// stays that ended at or before `at` (the board shows only patients in hospital, and a
    /// later event of theirs is ignored).
    pub fn forget_ended(&mut self, stays: &[Stay], at: &str) {
        let ended: HashSet<&str> = stays
            .iter()
            .filter(|s| s.discharged_at.as_deref().is_some_and(|out| out <= at))
            .map(|s| s.id.as_str())
            .collect();
        for id in &ended {
            self.history.remove(*id);
            self.needs_bed.remove(*id);
        }
        self.conflicts.retain(|c| c.admission_id.as_deref().is_none_or(|a| !ended.contains(a)));
    }
}

/// Whether the admission may still be placed at `at`: known here and not discharged by then.
fn in_hospital(discharged: &Stays, admission: &str, at: &str) -> bool {
    match discharged.get(admission) {
        None => false,
        Some((_, None)) => true,
        Some((_, Some(out))) => at < *out,
    }
}

/// Admission → (its patient, when it was discharged).
type Stays<'a> = HashMap<&'a str, (&'a str, Option<&'a str>)>;

fn conflict(d: &mut Derived, kind: BoardConflictKind, e: &Event) {
    d.conflicts.push(BoardConflict {
        kind,
        event_id: e.id.clone(),
        bed_id: e.bed_id.clone(),
        admission_id: e.admission_id.clone(),
        at: e.at.clone(),
    });
}

fn takes(bed: &BedNow, admission: &str, stays: &Stays) -> bool {
    match bed.state {
        BedState::Free | BedState::Cleaning => true,
        BedState::Occupied => bed.admission_id.as_deref() == Some(admission),
        BedState::Reserved => {
            let patient = stays.get(admission).map(|(p, _)| *p);
            bed.held.as_ref().is_some_and(|h| Some(h.patient_id.as_str()) == patient)
        }
        BedState::OutOfService => false,
    }
}

/// A reservation that lapsed at or before `at` frees its bed before anything at `at` applies.
fn lapse_at(d: &mut Derived, bed_id: &str, at: &str) {
    if d.beds.get(bed_id).and_then(|b| b.held.as_ref()).is_some_and(|h| h.until.as_str() <= at) {
        d.beds.insert(bed_id.to_string(), BedNow::default());
    }
}

fn reserve(d: &mut Derived, e: &Event) {
    let (Some(patient), Some(until)) = (e.patient_id.as_deref(), e.until.as_deref()) else { return };
    if d.bed(&e.bed_id).state != BedState::Free || until <= e.at.as_str() {
        return;
    }
    let held = Held { event_id: e.id.clone(), patient_id: patient.to_string(), until: until.to_string() };
    let now = BedNow { state: BedState::Reserved, admission_id: None, reason: e.reason.clone(), held: Some(held) };
    d.beds.insert(e.bed_id.clone(), now);
}

fn cancel_reservation(d: &mut Derived, e: &Event) {
    let bed = d.bed(&e.bed_id);
    if bed.held.is_some_and(|h| Some(h.patient_id.as_str()) == e.patient_id.as_deref()) {
        d.beds.insert(e.bed_id.clone(), BedNow::default());
    }
}

fn moved(d: &mut Derived, admission: &str, at: &str, bed: Option<&str>) {
    d.history.entry(admission.to_string()).or_default().push((at.to_string(), bed.map(str::to_string)));
}

/// The admission leaves the bed it holds (which goes to cleaning).
fn vacate(d: &mut Derived, admission: &str) {
    if let Some(bed) = d.bed_of.remove(admission) {
        d.beds.insert(bed, BedNow { state: BedState::Cleaning, ..BedNow::default() });
    }
}

fn occupy(d: &mut Derived, admission: &str, bed: &str, at: &str) {
    d.beds.insert(
        bed.to_string(),
        BedNow { state: BedState::Occupied, admission_id: Some(admission.to_string()), ..BedNow::default() },
    );
    d.bed_of.insert(admission.to_string(), bed.to_string());
    d.needs_bed.remove(admission);
    moved(d, admission, at, Some(bed));
}

fn apply(d: &mut Derived, group: &[Event], discharged: &Stays) {
    use BedEventKind::*;
    for e in group {
        lapse_at(d, &e.bed_id, &e.at);
    }
    let kinds: Vec<BedEventKind> = group.iter().map(|e| e.kind).collect();
    if kinds.contains(&Swapped) {
        return swap(d, group, discharged);
    }
    // A transfer: its in-event decides; the out-event only names the bed left.
    if let Some(into) = group.iter().find(|e| e.kind == TransferredIn) {
        return transfer(d, into, discharged);
    }
    for e in group {
        let adm = e.admission_id.as_deref();
        match (e.kind, adm) {
            (Admitted, Some(a)) => {
                if !in_hospital(discharged, a, &e.at) || d.bed_of.contains_key(a) {
                    continue;
                }
                if takes(&d.bed(&e.bed_id), a, discharged) {
                    occupy(d, a, &e.bed_id, &e.at);
                } else {
                    d.needs_bed.insert(a.to_string());
                    conflict(d, BoardConflictKind::BedTaken, e);
                }
            }
            (TransferredOut | Discharged, Some(a)) => {
                if d.bed_of.contains_key(a) {
                    vacate(d, a);
                    moved(d, a, &e.at, None);
                }
                if e.kind == Discharged {
                    d.needs_bed.remove(a);
                }
            }
            (Cleaning, _) if d.bed(&e.bed_id).state == BedState::Free => {
                d.beds.insert(e.bed_id.clone(), BedNow { state: BedState::Cleaning, ..BedNow::default() });
            }
            (Cleaned, _) if d.bed(&e.bed_id).state == BedState::Cleaning => {
                d.beds.insert(e.bed_id.clone(), BedNow::default());
            }
            (OutOfService, _) => match d.bed(&e.bed_id).state {
                BedState::Occupied => conflict(d, BoardConflictKind::OutOfServiceRefused, e),
                _ => {
                    let now = BedNow { state: BedState::OutOfService, reason: e.reason.clone(), ..BedNow::default() };
                    d.beds.insert(e.bed_id.clone(), now);
                }
            },
            (BackInService, _) if d.bed(&e.bed_id).state == BedState::OutOfService => {
                d.beds.insert(e.bed_id.clone(), BedNow::default());
            }
            (Reserved, _) => reserve(d, e),
            (ReservationCancelled, _) => cancel_reservation(d, e),
            // An event that does not apply to the bed as it stands (cleaning a bed that is not
            // free, ...), or names no admission where it needs one (refused on write and by the
            // policy): skipped.
            _ => {}
        }
    }
}

fn transfer(d: &mut Derived, into: &Event, discharged: &Stays) {
    let Some(a) = into.admission_id.as_deref() else { return };
    if !in_hospital(discharged, a, &into.at) {
        return;
    }
    if d.bed_of.get(a).map(String::as_str) == Some(into.bed_id.as_str()) {
        return;
    }
    if !takes(&d.bed(&into.bed_id), a, discharged) {
        conflict(d, BoardConflictKind::TransferRefused, into);
        return;
    }
    vacate(d, a);
    occupy(d, a, &into.bed_id, &into.at);
}

fn swap(d: &mut Derived, group: &[Event], discharged: &Stays) {
    let pair: Vec<&Event> = group.iter().filter(|e| e.kind == BedEventKind::Swapped).collect();
    let refuse = |d: &mut Derived| {
        if let Some(e) = pair.first() {
            conflict(d, BoardConflictKind::SwapRefused, e);
        }
    };
    let [x, y] = pair.as_slice() else { return refuse(d) };
    let (Some(ax), Some(ay)) = (x.admission_id.as_deref(), y.admission_id.as_deref()) else { return refuse(d) };
    // x puts `ax` into x.bed, which must hold `ay` now; and the other way round.
    let holds = |d: &Derived, bed: &str, adm: &str| d.bed_of.get(adm).map(String::as_str) == Some(bed);
    if ax == ay
        || x.bed_id == y.bed_id
        || !holds(d, &x.bed_id, ay)
        || !holds(d, &y.bed_id, ax)
        || !in_hospital(discharged, ax, &x.at)
        || !in_hospital(discharged, ay, &y.at)
    {
        return refuse(d);
    }
    occupy(d, ax, &x.bed_id, &x.at);
    occupy(d, ay, &y.bed_id, &y.at);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use BedEventKind::*;

    fn ev(id: &str, bed: &str, kind: BedEventKind, adm: Option<&str>, mv: Option<&str>, at: &str) -> Event {
        Event {
            id: id.into(),
            bed_id: bed.into(),
            kind,
            admission_id: adm.map(str::to_string),
            move_id: mv.map(str::to_string),
            at: format!("2026-12-01T{at}:00.000Z"),
            reason: String::new(),
            patient_id: None,
            until: None,
        }
    }

    /// A reservation of `bed` for patient `p{patient}` from `at` until `until`.
    fn reserve(id: &str, bed: &str, patient: &str, at: &str, until: &str) -> Event {
        Event {
            patient_id: Some(format!("p{patient}")),
            until: Some(format!("2026-12-01T{until}:00.000Z")),
            ..ev(id, bed, Reserved, None, None, at)
        }
    }

    fn stays(ids: &[&str]) -> Vec<Stay> {
        ids.iter().map(|id| Stay { id: id.to_string(), patient_id: format!("p{id}"), discharged_at: None }).collect()
    }

    #[test]
    fn a_reserved_bed_takes_only_its_patient_until_it_lapses() {
        let events = vec![
            reserve("r1", "B1", "X", "09:00", "12:00"),
            // Another device, not knowing of the reservation, admitted Y into B1.
            ev("e1", "B1", Admitted, Some("Y"), None, "10:00"),
            ev("e2", "B1", Admitted, Some("X"), None, "11:00"),
        ];
        let d = derive(events, &stays(&["X", "Y"]));
        assert_eq!(d.bed("B1").admission_id.as_deref(), Some("X"));
        assert!(d.needs_bed.contains("Y"));
        assert_eq!((d.conflicts[0].kind, d.conflicts[0].event_id.as_str()), (BoardConflictKind::BedTaken, "e1"));

        // Lapsed at 12:00: from then anyone may have it, and the board read then shows it free.
        let mut d = derive(vec![reserve("r1", "B1", "X", "09:00", "12:00")], &stays(&["X", "Y"]));
        assert_eq!(d.bed("B1").state, BedState::Reserved);
        assert_eq!(d.reserved_for("pX"), Some("B1"));
        d.lapse("2026-12-01T11:59:59.999Z");
        assert_eq!(d.bed("B1").state, BedState::Reserved);
        d.lapse("2026-12-01T12:00:00.000Z");
        assert_eq!(d.bed("B1"), BedNow::default());
        let late = vec![reserve("r1", "B1", "X", "09:00", "12:00"), ev("e1", "B1", Admitted, Some("Y"), None, "12:00")];
        assert_eq!(derive(late, &stays(&["X", "Y"])).bed("B1").admission_id.as_deref(), Some("Y"));
    }

    #[test]
    fn the_earlier_reservation_keeps_the_bed_and_a_cancellation_names_its_patient() {
        let events = vec![
            reserve("r2", "B1", "Y", "09:30", "20:00"),
            reserve("r1", "B1", "X", "09:00", "20:00"),
            // Cancelling Y's (never made) reservation leaves X's.
            Event { patient_id: Some("pY".into()), ..ev("c1", "B1", ReservationCancelled, None, None, "10:00") },
        ];
        let d = derive(events.clone(), &stays(&["X", "Y"]));
        assert_eq!(d.bed("B1").held.map(|h| h.patient_id), Some("pX".to_string()));
        assert!(d.conflicts.is_empty(), "a reservation not made is no conflict");
        let mut cancelled = events;
        cancelled
            .push(Event { patient_id: Some("pX".into()), ..ev("c2", "B1", ReservationCancelled, None, None, "10:30") });
        assert_eq!(derive(cancelled, &stays(&["X", "Y"])).bed("B1"), BedNow::default());
        // A transfer of someone else into a reserved bed is refused.
        let moved = vec![
            ev("e1", "B2", Admitted, Some("Y"), None, "08:00"),
            reserve("r1", "B1", "X", "09:00", "20:00"),
            ev("e2", "B2", TransferredOut, Some("Y"), Some("m"), "10:00"),
            ev("e3", "B1", TransferredIn, Some("Y"), Some("m"), "10:00"),
        ];
        let d = derive(moved, &stays(&["X", "Y"]));
        assert_eq!(d.bed_of.get("Y").map(String::as_str), Some("B2"));
        assert_eq!(d.bed("B1").state, BedState::Reserved);
        assert_eq!(d.conflicts[0].kind, BoardConflictKind::TransferRefused);
    }

    #[test]
    fn the_earlier_of_two_admissions_to_one_bed_keeps_it_and_the_other_needs_a_bed() {
        // Device 1 admitted X to B1 at 10:00; device 2, offline, admitted Y to B1 at 10:05.
        let events = vec![
            ev("e2", "B1", Admitted, Some("Y"), None, "10:05"),
            ev("e1", "B1", Admitted, Some("X"), None, "10:00"),
        ];
        for order in [events.clone(), events.into_iter().rev().collect()] {
            let d = derive(order, &stays(&["X", "Y"]));
            assert_eq!(d.bed("B1").admission_id.as_deref(), Some("X"));
            assert!(d.needs_bed.contains("Y") && !d.bed_of.contains_key("Y"));
            assert_eq!(d.conflicts.len(), 1);
            assert_eq!((d.conflicts[0].kind, d.conflicts[0].event_id.as_str()), (BoardConflictKind::BedTaken, "e2"));
        }
    }

    #[test]
    fn a_transfer_into_a_taken_bed_leaves_the_patient_in_their_bed() {
        let events = vec![
            ev("e1", "B1", Admitted, Some("X"), None, "09:00"),
            ev("e2", "B2", Admitted, Some("Y"), None, "10:00"),
            // Device 2 did not know of Y: it moved X to B2 at 10:30.
            ev("e3", "B1", TransferredOut, Some("X"), Some("m"), "10:30"),
            ev("e4", "B2", TransferredIn, Some("X"), Some("m"), "10:30"),
        ];
        let d = derive(events, &stays(&["X", "Y"]));
        assert_eq!(d.bed_of.get("X").map(String::as_str), Some("B1"));
        assert_eq!(d.bed_of.get("Y").map(String::as_str), Some("B2"));
        assert_eq!(d.conflicts[0].kind, BoardConflictKind::TransferRefused);
    }

    #[test]
    fn a_swap_applies_only_while_both_patients_lie_in_its_beds_and_discharge_frees_the_bed_held() {
        let base = vec![
            ev("e1", "B1", Admitted, Some("X"), None, "09:00"),
            ev("e2", "B2", Admitted, Some("Y"), None, "09:00"),
            ev("e3", "B1", Swapped, Some("Y"), Some("s"), "10:00"),
            ev("e4", "B2", Swapped, Some("X"), Some("s"), "10:00"),
        ];
        let d = derive(base.clone(), &stays(&["X", "Y"]));
        assert_eq!(d.bed_of.get("X").map(String::as_str), Some("B2"));
        assert_eq!(d.bed_of.get("Y").map(String::as_str), Some("B1"));
        assert_eq!(d.bed_at("X", "2026-12-01T09:30:00.000Z"), Some("B1"));
        // Device 2 discharged X "from B1" at 11:00, not knowing of the swap: X's bed on the
        // board (B2) is the one freed.
        let mut more = base.clone();
        more.push(ev("e5", "B1", Discharged, Some("X"), None, "11:00"));
        let mut st = stays(&["X", "Y"]);
        st[0].discharged_at = Some("2026-12-01T11:00:00.000Z".into());
        let d = derive(more, &st);
        assert_eq!(d.bed("B2").state, BedState::Cleaning);
        assert_eq!(d.bed("B1").admission_id.as_deref(), Some("Y"));
        // A swap after Y moved elsewhere is refused: nothing moves.
        let mut late = base[..2].to_vec();
        late.push(ev("e6", "B2", TransferredOut, Some("Y"), Some("t"), "09:30"));
        late.push(ev("e7", "B3", TransferredIn, Some("Y"), Some("t"), "09:30"));
        late.extend(base[2..].iter().cloned());
        let d = derive(late, &stays(&["X", "Y"]));
        assert_eq!(d.bed_of.get("X").map(String::as_str), Some("B1"));
        assert_eq!(d.bed_of.get("Y").map(String::as_str), Some("B3"));
        assert_eq!(d.conflicts.last().map(|c| c.kind), Some(BoardConflictKind::SwapRefused));
    }

    fn event_strategy() -> impl Strategy<Value = Event> {
        let kinds = prop::sample::select(vec![
            Admitted,
            Admitted,
            TransferredIn,
            Swapped,
            Discharged,
            Cleaning,
            Cleaned,
            OutOfService,
            BackInService,
            Reserved,
            Reserved,
            ReservationCancelled,
        ]);
        (kinds, 0u8..4, 0u8..5, 0u8..3, 0u32..30, 1u32..20, any::<u32>()).prop_map(
            |(kind, bed, adm, mv, minute, hold, id)| {
                let reservation = matches!(kind, Reserved | ReservationCancelled);
                Event {
                    id: format!("{id:08x}"),
                    bed_id: format!("B{bed}"),
                    kind,
                    admission_id: (!reservation).then(|| format!("A{adm}")),
                    move_id: matches!(kind, TransferredIn | Swapped).then(|| format!("m{mv}")),
                    at: format!("2026-12-01T10:{minute:02}:00.000Z"),
                    reason: String::new(),
                    patient_id: reservation.then(|| format!("P{adm}")),
                    until: (kind == Reserved).then(|| format!("2026-12-01T10:{:02}:00.000Z", minute + hold)),
                }
            },
        )
    }

    /// Admission `A{i}` is patient `P{i}`'s stay, discharged at minute `m` when given.
    fn stays_of(discharged: &[Option<u32>]) -> Vec<Stay> {
        discharged
            .iter()
            .enumerate()
            .map(|(i, m)| Stay {
                id: format!("A{i}"),
                patient_id: format!("P{i}"),
                discharged_at: m.map(|m| format!("2026-12-01T10:{m:02}:00.000Z")),
            })
            .collect()
    }

    proptest! {
        /// Whatever two devices wrote, in whatever order they arrive: no bed holds two
        /// patients, every admission is in at most one bed and the two maps agree, and every
        /// device derives the same board.
        #[test]
        fn any_events_derive_one_consistent_board_in_any_order(
            events in prop::collection::vec(event_strategy(), 0..40),
            discharged in prop::collection::vec(prop::option::of(0u32..30), 5),
            seed in any::<u64>(),
        ) {
            let stays = stays_of(&discharged);
            // Ids are unique, as UUIDs are.
            let events: Vec<Event> = events.into_iter().enumerate().map(|(i, mut e)| { e.id = format!("{}-{i:02}", e.id); e }).collect();
            let d = derive(events.clone(), &stays);
            for (adm, bed) in &d.bed_of {
                let b = d.bed(bed);
                prop_assert_eq!(b.state, BedState::Occupied);
                prop_assert_eq!(b.admission_id.as_deref(), Some(adm.as_str()));
                prop_assert!(!d.needs_bed.contains(adm));
            }
            for (bed, b) in &d.beds {
                if let Some(adm) = &b.admission_id {
                    prop_assert_eq!(d.bed_of.get(adm), Some(bed));
                }
                prop_assert_eq!(b.admission_id.is_some(), b.state == BedState::Occupied);
                prop_assert_eq!(b.held.is_some(), b.state == BedState::Reserved);
            }
            // Every reservation lapses: read after the last `until`, no bed is reserved and
            // nothing else changed.
            let mut later = d.clone();
            later.lapse("2026-12-01T11:00:00.000Z");
            for (bed, b) in &d.beds {
                let after = later.bed(bed);
                if b.state == BedState::Reserved {
                    prop_assert_eq!(after, BedNow::default());
                } else {
                    prop_assert_eq!(&after, b);
                }
            }
            let mut shuffled = events;
            let mut rng = seed;
            for i in (1..shuffled.len()).rev() {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (rng >> 33) as usize % (i + 1));
            }
            let e = derive(shuffled, &stays);
            prop_assert_eq!(&d.bed_of, &e.bed_of);
            prop_assert_eq!(&d.beds, &e.beds);
            prop_assert_eq!(&d.needs_bed, &e.needs_bed);
            prop_assert_eq!(&d.conflicts, &e.conflicts);
        }

        /// A reserved bed never takes another patient: whenever an admission comes into a bed
        /// that was reserved (and not lapsed) just before, it is the reservation's patient's.
        #[test]
        fn a_reserved_bed_never_holds_another_patient(
            events in prop::collection::vec(event_strategy(), 0..40),
            discharged in prop::collection::vec(prop::option::of(0u32..30), 5),
        ) {
            let stays = stays_of(&discharged);
            let patient: HashMap<&str, &str> = stays.iter().map(|s| (s.id.as_str(), s.patient_id.as_str())).collect();
            let mut events: Vec<Event> = events.into_iter().enumerate().map(|(i, mut e)| { e.id = format!("{}-{i:02}", e.id); e }).collect();
            events.sort_by(|a, b| group_key(a).cmp(&group_key(b)));
            let mut d = Derived::default();
            let mut i = 0;
            while i < events.len() {
                let (at, key, _) = group_key(&events[i]);
                let j = i + events[i..].iter().take_while(|e| group_key(e).0 == at && group_key(e).1 == key).count();
                let mut before = d.clone();
                before.lapse(at);
                d.replay(events[i..j].to_vec(), &stays, None);
                for (adm, bed) in &d.bed_of {
                    let was = before.bed(bed);
                    if before.bed_of.get(adm) != Some(bed) && was.state == BedState::Reserved {
                        prop_assert_eq!(was.held.map(|h| h.patient_id), patient.get(adm.as_str()).map(|p| p.to_string()));
                    }
                }
                i = j;
            }
        }

        /// A board saved at any time (and read back from its JSON) and replayed on with the
        /// events after it — the ones known then and the ones that came later — answers what
        /// a replay of every event from the start answers, for every patient still in
        /// hospital after the save.
        #[test]
        fn a_saved_board_replayed_on_is_the_board_replayed_from_the_start(
            events in prop::collection::vec(event_strategy(), 0..40),
            later in prop::collection::vec(event_strategy(), 0..15),
            discharged in prop::collection::vec(prop::option::of(0u32..30), 5),
            keep_minute in 0u32..30,
        ) {
            let stays = stays_of(&discharged);
            let unique = |v: Vec<Event>, tag: &str| -> Vec<Event> {
                v.into_iter().enumerate().map(|(i, mut e)| { e.id = format!("{}-{tag}{i:02}", e.id); e }).collect()
            };
            let events = unique(events, "a");
            let keep = format!("2026-12-01T10:{keep_minute:02}:00.000Z");
            let mut first = Derived::default();
            let kept = first.replay(events.clone(), &stays, Some(&keep));
            let Some((mark, mut saved)) = kept else { return Ok(()) };
            prop_assert!(mark.at <= keep);
            saved.forget_ended(&stays, &mark.at);
            let mut saved: Derived = serde_json::from_str(&serde_json::to_string(&saved).unwrap()).unwrap();
            // Later events: only those after the mark (an earlier one drops the saved board).
            let later: Vec<Event> = unique(later, "b").into_iter().filter(|e| mark.before(e)).collect();
            let all: Vec<Event> = events.iter().cloned().chain(later.iter().cloned()).collect();
            let tail: Vec<Event> = all.iter().filter(|e| mark.before(e)).cloned().collect();
            saved.replay(tail, &stays, None);
            let full = derive(all, &stays);
            prop_assert_eq!(&saved.beds, &full.beds);
            prop_assert_eq!(&saved.bed_of, &full.bed_of);
            let open: Vec<&str> = stays
                .iter()
                .filter(|s| s.discharged_at.as_deref().is_none_or(|out| out > mark.at.as_str()))
                .map(|s| s.id.as_str())
                .collect();
            for a in open {
                prop_assert_eq!(saved.needs_bed.contains(a), full.needs_bed.contains(a), "needs_bed {}", a);
                prop_assert_eq!(saved.history.get(a), full.history.get(a), "history {}", a);
                let mine = |d: &Derived| d.conflicts.iter().filter(|c| c.admission_id.as_deref() == Some(a)).cloned().collect::<Vec<_>>();
                prop_assert_eq!(mine(&saved), mine(&full), "conflicts {}", a);
            }
        }
    }
}
