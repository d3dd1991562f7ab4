//! Patients by where they come from: a period's registrations grouped by district, then
//! city. A merged record is a duplicate of its survivor and is left out (the survivor is
//! counted once, at its own registration, under its own place); a blank district or city is
//! counted under "Not given".

use super::table::{col, fig, num, opt, percent_bp, text, Kind, Table};
use super::{registered, DateRange};
use crate::error::Result;
use crate::store::Store;
use std::collections::BTreeMap;

pub const NOT_GIVEN: &str = "Not given";

/// One place as the desk typed it, grouped without regard to case ("pune" is "Pune"): the
/// spelling shown is the one most records have (the first in text order on a tie).
#[derive(Default)]
struct Group {
    count: i64,
    spellings: BTreeMap<String, i64>,
}

impl Group {
    fn add(&mut self, spelling: &str, n: i64) {
        self.count += n;
        *self.spellings.entry(spelling.to_string()).or_default() += n;
    }

    fn label(&self) -> String {
        let mut best: Option<(&String, i64)> = None;
        for (s, n) in &self.spellings {
            if best.is_none_or(|(_, m)| *n > m) {
                best = Some((s, *n));
            }
        }
        match best {
            Some((s, _)) if !s.is_empty() => s.clone(),
            _ => NOT_GIVEN.to_string(),
        }
    }
}

/// A place's sort key (see `key`).
type Key = (bool, String);
/// A district's group and its cities' groups.
type District = (Group, BTreeMap<Key, Group>);

/// The sort key of a place: blanks ("not given") after every name, names without regard to case.
fn key(s: &str) -> Key {
    (s.is_empty(), s.to_lowercase())
}

pub(crate) async fn by_place(store: &Store, range: &DateRange) -> Result<Table> {
    let (from, to) = range.instants()?;
    // Read from the counts kept by migration 0055 (by UTC day, and by quarter hour at the edges).
    let groups = registered::counts(store, registered::Kind::Places, &from, &to).await?;
    let mut districts: BTreeMap<Key, District> = BTreeMap::new();
    let mut total = 0;
    for (district, city, n) in &groups {
        let (d, cities) = districts.entry(key(district)).or_default();
        d.add(district, *n);
        cities.entry(key(city)).or_default().add(city, *n);
        total += n;
    }
    let mut rows = Vec::new();
    for (d, cities) in districts.values() {
        let district = d.label();
        for c in cities.values() {
            rows.push(vec![text(&district), text(c.label()), num(c.count), opt(percent_bp(c.count, total))]);
        }
    }
    let not_given = groups.iter().filter(|(d, c, _)| d.is_empty() && c.is_empty()).map(|(_, _, n)| n).sum();
    let named_districts = districts.keys().filter(|(blank, _)| !blank).count() as i64;
    Ok(Table {
        columns: vec![
            col("district", "District", Kind::Text),
            col("city", "City", Kind::Text),
            col("registered", "Registered", Kind::Count),
            col("share", "Share", Kind::Percent),
        ],
        rows,
        totals: Some(vec![text("Total"), text(""), num(total), opt(percent_bp(total, total))]),
        figures: vec![
            fig("districts", "Districts", Kind::Count, named_districts),
            fig("place_not_given", "Neither district nor city given", Kind::Count, not_given),
        ],
    })
}
