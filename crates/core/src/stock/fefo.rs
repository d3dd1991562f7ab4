//! The one allocation function: first expiry, first out.
//!
//! Given an item's batches (their expiry, hold and balance in each store), the store to take
//! from, the quantity and the day the course of treatment ends, [`allocate`] answers the
//! batches to take — the earliest usable expiry first, each as far as its balance goes — and,
//! for every batch it passed over on the way, why: expired (its expiry is before today), on
//! hold, expiring before the course ends, stocked in other stores only, or empty here. A batch
//! that is expired or on hold is never picked, whatever else holds; every dispensing path
//! (first-expiry-first-out or a batch chosen by hand) goes through [`usable`].
//!
//! A batch may be used through its expiry date. Batches after the last one needed are neither
//! picked nor passed over: nobody had to look at them.

use super::model::{Allocation, Candidate, Passed, PassedReason, Pick};
use chrono::NaiveDate;

/// Why a batch may not be taken from `store_id` now, or `None` when it may (with stock here).
pub fn usable(c: &Candidate, store_id: &str, today: NaiveDate, course_end: Option<NaiveDate>) -> Option<PassedReason> {
    if c.expiry < today {
        return Some(PassedReason::Expired);
    }
    if c.on_hold {
        return Some(PassedReason::OnHold);
    }
    if course_end.is_some_and(|end| c.expiry < end) {
        return Some(PassedReason::ExpiresBeforeCourseEnds);
    }
    if balance_in(c, store_id) <= 0 {
        let elsewhere = c.balances.iter().any(|(s, q)| s != store_id && *q > 0);
        return Some(if elsewhere { PassedReason::NotInThisStore } else { PassedReason::Empty });
    }
    None
}

/// A batch's balance in one store (0 where it has none).
pub fn balance_in(c: &Candidate, store_id: &str) -> i64 {
    c.balances.iter().filter(|(s, _)| s == store_id).map(|(_, q)| *q).sum()
}

/// The batches to take `quantity` (base units, > 0) of an item from `store_id`, first expiry
/// first out; see the module doc.
pub fn allocate(
    candidates: &[Candidate],
    store_id: &str,
    quantity: i64,
    today: NaiveDate,
    course_end: Option<NaiveDate>,
) -> Allocation {
    let mut order: Vec<&Candidate> = candidates.iter().collect();
    order.sort_by(|a, b| (a.expiry, &a.batch_no, &a.batch_id).cmp(&(b.expiry, &b.batch_no, &b.batch_id)));
    let mut remaining = quantity.max(0);
    let mut picks = Vec::new();
    let mut passed = Vec::new();
    for c in order {
        if remaining == 0 {
            break;
        }
        let expiry = c.expiry.format("%Y-%m-%d").to_string();
        if let Some(reason) = usable(c, store_id, today, course_end) {
            passed.push(Passed { batch_id: c.batch_id.clone(), batch_no: c.batch_no.clone(), expiry, reason });
            continue;
        }
        let take = balance_in(c, store_id).min(remaining);
        remaining -= take;
        picks.push(Pick { batch_id: c.batch_id.clone(), batch_no: c.batch_no.clone(), expiry, quantity: take });
    }
    Allocation { picks, passed, short: remaining }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn batch(id: &str, expiry: &str, on_hold: bool, balances: &[(&str, i64)]) -> Candidate {
        Candidate {
            batch_id: id.into(),
            batch_no: id.to_uppercase(),
            expiry: day(expiry),
            on_hold,
            balances: balances.iter().map(|(s, q)| (s.to_string(), *q)).collect(),
        }
    }

    #[test]
    fn takes_the_earliest_usable_expiry_first_and_says_why_it_passed_each_batch_over() {
        let batches = [
            batch("late", "2027-12-31", false, &[("counter", 100)]),
            batch("old", "2026-11-30", false, &[("counter", 50)]),
            batch("held", "2027-01-31", true, &[("counter", 50)]),
            batch("short", "2026-12-20", false, &[("counter", 50)]),
            batch("main", "2027-02-28", false, &[("main", 80)]),
            batch("gone", "2027-03-31", false, &[("counter", 0)]),
            batch("soon", "2027-06-30", false, &[("counter", 30)]),
        ];
        let a = allocate(&batches, "counter", 40, day("2026-12-06"), Some(day("2027-01-10")));
        let picks: Vec<(&str, i64)> = a.picks.iter().map(|p| (p.batch_id.as_str(), p.quantity)).collect();
        assert_eq!(picks, [("soon", 30), ("late", 10)]);
        let passed: Vec<(&str, PassedReason)> = a.passed.iter().map(|p| (p.batch_id.as_str(), p.reason)).collect();
        assert_eq!(
            passed,
            [
                ("old", PassedReason::Expired),
                ("short", PassedReason::ExpiresBeforeCourseEnds),
                ("held", PassedReason::OnHold),
                ("main", PassedReason::NotInThisStore),
                ("gone", PassedReason::Empty),
            ]
        );
        assert_eq!(a.short, 0);
        // More than is usable: the shortfall is said.
        assert_eq!(allocate(&batches, "counter", 500, day("2026-12-06"), None).short, 500 - 50 - 30 - 100);
    }

    #[test]
    fn a_batch_is_usable_through_its_expiry_day() {
        let b = batch("b", "2026-12-06", false, &[("c", 5)]);
        assert_eq!(usable(&b, "c", day("2026-12-06"), None), None);
        assert_eq!(usable(&b, "c", day("2026-12-07"), None), Some(PassedReason::Expired));
    }
}
