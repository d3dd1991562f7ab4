//! Property test of the inpatient write paths: for any sequence of admissions (to a bed or
//! the waiting list), transfers, swaps, discharges and cleaning, hours apart, on a small
//! hospital: a bed never holds two patients on the board, every patient in hospital is in
//! exactly one bed or on exactly one waiting list, a refused operation writes nothing, and
//! the bed-days on the bills equal the census count (UTC midnights in each stay, counted here
//! independently). With reservations among them: a reserved bed never takes another patient,
//! and a reservation shows on the board until it lapses (or is taken, cancelled, or let go
//! when its patient gets another bed), never after.

mod common;
#[path = "common/hospital.rs"]
mod hospital;
#[path = "common/ward.rs"]
mod ward;

use chrono::{DateTime, Duration, Utc};
use hms_core::inpatients::{
    board, census, reservations, setup, stays, BedState, BoardFilter, DischargeInput, ReserveInput,
};
use hms_core::ValidationReason;
use hospital::hospital;
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone)]
enum Op {
    Admit {
        patient: usize,
        bed: Option<usize>,
    },
    Transfer {
        patient: usize,
        bed: usize,
    },
    Swap {
        a: usize,
        b: usize,
    },
    Discharge {
        patient: usize,
    },
    Clean {
        bed: usize,
    },
    Census,
    /// Hold a bed for a patient for so many hours.
    Reserve {
        patient: usize,
        bed: usize,
        hours: i64,
    },
    Cancel {
        bed: usize,
    },
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0usize..4, prop::option::of(0usize..4)).prop_map(|(patient, bed)| Op::Admit { patient, bed }),
        3 => (0usize..4, 0usize..4).prop_map(|(patient, bed)| Op::Transfer { patient, bed }),
        1 => (0usize..4, 0usize..4).prop_map(|(a, b)| Op::Swap { a, b }),
        2 => (0usize..4).prop_map(|patient| Op::Discharge { patient }),
        2 => (0usize..4).prop_map(|bed| Op::Clean { bed }),
        1 => Just(Op::Census),
        3 => (0usize..4, 0usize..4, 1i64..40).prop_map(|(patient, bed, hours)| Op::Reserve { patient, bed, hours }),
        1 => (0usize..4).prop_map(|bed| Op::Cancel { bed }),
    ]
}

/// UTC midnights in [from, to): the census count of a stay in a clinic on UTC.
fn midnights(from: DateTime<Utc>, to: DateTime<Utc>) -> usize {
    let mut n = 0;
    let mut t = from.date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
    while t < to {
        if t >= from {
            n += 1;
        }
        t += Duration::days(1);
    }
    n
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    #[test]
    fn the_board_stays_whole_and_bed_days_match_the_census(
        steps in prop::collection::vec((op_strategy(), 1i64..20), 1..30),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let h = hospital().await;
            let s = &h.w.env.store;
            let (doctor, desk, nurse) = (h.doctor.clone(), h.desk.clone(), h.nurse.clone());
            let beds = [h.a1.clone(), h.a2.clone(), h.a3.clone(), h.icu1.clone()];
            // patient index → open admission id
            let mut open: HashMap<usize, String> = HashMap::new();
            // bed index → (patient index, lapses at this hour): the reservations made.
            let mut held: HashMap<usize, (usize, i64)> = HashMap::new();
            let mut hours = 0;
            for (op, gap) in steps {
                hours += gap;
                h.at(hours);
                let before = (common::count(s, "change_log").await, common::count(s, "audit_log").await);
                held.retain(|_, (_, until)| *until > hours);
                // Whom a move into `bed` by `patient` must be refused for.
                let held_before = held.clone();
                let held_for_other = |bed: usize, patient: usize| held_before.get(&bed).is_some_and(|(p, _)| *p != patient);
                let mut into: Option<(usize, usize)> = None;
                // An admission of someone in hospital already: refused for that first.
                let mut admitted_already = false;
                let result = match &op {
                    Op::Admit { patient, bed } => {
                        into = bed.map(|b| (*patient, b));
                        admitted_already = open.contains_key(patient);
                        let bed = bed.map(|b| beds[b].as_str());
                        stays::admit(s, &doctor, h.admit_input(*patient, bed)).await.map(|a| {
                            open.insert(*patient, a.id);
                        })
                    }
                    Op::Transfer { patient, bed } => match open.get(patient) {
                        Some(id) => {
                            into = Some((*patient, *bed));
                            stays::transfer(s, &desk, id, &beds[*bed]).await.map(|_| ())
                        }
                        None => continue,
                    },
                    Op::Reserve { patient, bed, hours: lasting } => {
                        let until = (h.t0 + Duration::hours(hours + lasting)).to_rfc3339();
                        let input = ReserveInput { bed_id: beds[*bed].clone(), patient_id: h.patients[*patient].clone(), note: String::new(), until: Some(until) };
                        reservations::reserve(s, &desk, input).await.map(|_| {
                            held.insert(*bed, (*patient, hours + lasting));
                        })
                    }
                    Op::Cancel { bed } => reservations::cancel(s, &doctor, &beds[*bed]).await.map(|_| {
                        held.remove(bed);
                    }),
                    Op::Swap { a, b } => match (open.get(a), open.get(b)) {
                        (Some(x), Some(y)) => stays::swap(s, &desk, x, y).await,
                        _ => continue,
                    },
                    Op::Discharge { patient } => match open.get(patient).cloned() {
                        Some(id) => {
                            let input = DischargeInput { admission_id: id, discharge_type: "home".into(), discharged_at: None, note: String::new() };
                            stays::discharge(s, &doctor, input).await.map(|_| {
                                open.remove(patient);
                            })
                        }
                        None => continue,
                    },
                    Op::Clean { bed } => setup::mark_clean(s, &nurse, &beds[*bed]).await,
                    Op::Census => census::accrue(s, &desk).await.map(|_| ()),
                };
                if let Err(e) = &result {
                    assert!(matches!(e, hms_core::Error::Validation { .. }), "{op:?}: {e:?}");
                    let after = (common::count(s, "change_log").await, common::count(s, "audit_log").await);
                    assert_eq!(after, before, "refused {op:?} wrote something");
                }
                // A reserved bed never takes another patient; its own patient taking it (or
                // another bed) ends the reservation.
                if let Some((patient, bed)) = into {
                    if held_for_other(bed, patient) {
                        let reserved = matches!(&result, Err(hms_core::Error::Validation { reason: ValidationReason::Reserved, .. }));
                        let in_already = admitted_already
                            && matches!(&result, Err(hms_core::Error::Validation { field, reason: ValidationReason::Taken, .. }) if field == "patient_id");
                        assert!(reserved || in_already, "{op:?} into a bed held for another: {result:?}");
                    }
                    if result.is_ok() {
                        held.retain(|_, (p, _)| *p != patient);
                    }
                }
                // The board: no bed holds two patients; every admission in hospital is in
                // exactly one bed or on exactly one waiting list.
                let b = board::board(s, &nurse, BoardFilter::default()).await.unwrap();
                let mut seen: Vec<String> = Vec::new();
                for w in &b.wards {
                    for card in &w.beds {
                        if let Some(o) = &card.occupant {
                            seen.push(o.admission_id.clone());
                        }
                    }
                    seen.extend(w.waiting.iter().map(|e| e.occupant.admission_id.clone()));
                }
                let unique: HashSet<&String> = seen.iter().collect();
                assert_eq!(unique.len(), seen.len(), "someone is in two places: {seen:?}");
                let want: HashSet<&String> = open.values().collect();
                assert_eq!(unique, want, "after {op:?}");
                assert!(b.conflicts.is_empty(), "one device never conflicts with itself");
                // Reserved on the board exactly while held and not lapsed, for its patient.
                for (i, id) in beds.iter().enumerate() {
                    let card = b.wards.iter().flat_map(|w| &w.beds).find(|c| &c.bed_id == id).unwrap();
                    let shown = card.reservation.as_ref().map(|r| r.patient_id.clone());
                    let want = held.get(&i).filter(|(_, until)| *until > hours).map(|(p, _)| h.patients[*p].clone());
                    assert_eq!(shown, want, "bed {i} after {op:?}");
                    assert_eq!(card.state == BedState::Reserved, want.is_some());
                }
            }
            // Bed-days: charge what is due and compare with the census count of every stay.
            hours += 1;
            h.at(hours);
            census::accrue(s, &desk).await.unwrap();
            let now = h.t0 + Duration::hours(hours);
            let rows: Vec<(String, String, Option<String>)> =
                sqlx::query_as("SELECT id, admitted_at, discharged_at FROM admissions").fetch_all(s.pool()).await.unwrap();
            for (id, from, to) in rows {
                let from = DateTime::parse_from_rfc3339(&from).unwrap().with_timezone(&Utc);
                let to = to.map_or(now, |t| DateTime::parse_from_rfc3339(&t).unwrap().with_timezone(&Utc));
                let charged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bill_lines WHERE source = 'bed_day' AND source_id LIKE ? || '@%'")
                    .bind(&id).fetch_one(s.pool()).await.unwrap();
                assert_eq!(charged as usize, midnights(from, to), "admission {id} from {from} to {to}");
            }
        });
    }
}
