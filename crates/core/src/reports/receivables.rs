//! What patients owe, aged: the due of every finalised invoice as of the range's last day
//! (billing's due: total − credit notes − payments and advances + refunds, counting only what
//! was issued or moved by the end of that day), in bands by the invoice's age on that day.
//!
//! `report_owing` (migration 0047, kept by triggers beside `report_dues`) holds today's due of
//! every invoice that asks for something, with its person (a merged duplicate's survivor)
//! and when it was finalised. An invoice's due at a past cutoff is its due today plus what was
//! paid or credited on it since (less refunds), so the dues at the cutoff are the kept ones
//! plus the moves since it, and an invoice owing nothing today was owing at the cutoff only
//! if something moved on it since. The bands are compared as instants (the start of the
//! clinic's day 30, 60 and 90 days before the cutoff's). Per person the dues are kept too
//! (`report_owing_people`, migration 0058), so only the people touched since the cutoff are
//! worked out again (`owed_sql`); names are looked up only for the people listed.

use super::table::{col, fig, num, text, Kind, Table};
use super::DateRange;
use crate::error::Result;
use crate::store::Store;
use chrono::Duration;

/// The upper bound (days, included) of each band but the last, which is everything older.
pub const AGE_BANDS: [i64; 3] = [30, 60, 90];

/// The most people listed, those owing most (the totals row counts everyone): at a register
/// of a million patients tens of thousands may owe something, more than anyone reads.
pub const LISTED: usize = 500;

/// The band (0..=3) of an invoice `age` days old.
pub fn band_of(age: i64) -> usize {
    AGE_BANDS.iter().position(|upper| age <= *upper).unwrap_or(AGE_BANDS.len())
}

/// One person's invoices owing at the cutoff and the amounts in each band.
#[derive(sqlx::FromRow, Clone)]
struct Owed {
    person: String,
    invoices: i64,
    b0: i64,
    b1: i64,
    b2: i64,
    b3: i64,
}

impl Owed {
    fn bands(&self) -> [i64; 4] {
        [self.b0, self.b1, self.b2, self.b3]
    }

    fn total(&self) -> i64 {
        self.bands().iter().sum()
    }
}

/// The invoice count and the sums by band of rows with `finalized_at` and `due`: on or after
/// `?2` (0–30 days), `?3` (31–60), `?4` (61–90) and before.
const BANDS: &str = "COUNT(*) AS invoices,
        COALESCE(SUM(CASE WHEN finalized_at >= ?2 THEN due ELSE 0 END), 0) AS b0,
        COALESCE(SUM(CASE WHEN finalized_at < ?2 AND finalized_at >= ?3 THEN due ELSE 0 END), 0) AS b1,
        COALESCE(SUM(CASE WHEN finalized_at < ?3 AND finalized_at >= ?4 THEN due ELSE 0 END), 0) AS b2,
        COALESCE(SUM(CASE WHEN finalized_at < ?4 THEN due ELSE 0 END), 0) AS b3";

/// The dues as of the cutoff `?1` (invoices finalised before it still owing something then),
/// as rows of `OwedRow`: first everyone's totals (`person` NULL, `people` owing), then the
/// people owing at least what the `?5 + 1`-th most owing person not touched since owes.
///
/// Today's dues are kept (`report_owing`, and per person `report_owing_people`, migration
/// 0058). A person is *touched* when one of their invoices was finalised on or after the
/// cutoff or moved since (payments, refunds, credit notes: `back`, read from indexes in time
/// order, migration 0057); everyone else owes at the cutoff what they owe today, all of it
/// finalised before it. So the touched are worked out again (`redo`: today's dues plus what
/// moved since, and the invoices owing nothing today that owed then — `paid`), the totals
/// are today's over invoices finalised before the cutoff (`report_owing_finalized`) less the
/// touched people's plus their worked-out ones, and the list is read from the people by
/// amount owed. As of today nobody is touched. (CROSS JOIN keeps the order written: SQLite
/// otherwise walked every final invoice and looked each up in `back`.)
///
/// Two shortcuts keep a month's run from reading what cannot change the answer (at 1,000,000
/// patients a week after the cutoff: 4,680 invoices moved, 74,000 owing): an invoice moved
/// since the cutoff but finalised after it (most of them: paid the day it was made) is left
/// out of `paid` by the finalisation index before its bill is looked up; and everything
/// finalised before the oldest band's edge (`?4`) is the kept total (`report_owing_total`,
/// migration 0061) less what was finalised since that edge, so only the last 90 days of
/// invoices owing are read (`recent`). Both are exact: text compares totally, so the total
/// less the rows on or after an edge is the rows before it.
fn owed_sql() -> String {
    format!(
        "WITH moves (bill_id, m) AS (
             SELECT bill_id, CASE WHEN kind = 'refund' THEN -amount_minor ELSE amount_minor END
             FROM payments INDEXED BY payments_moved WHERE received_at >= ?1 AND deleted_at IS NULL
             UNION ALL
             SELECT bill_id, amount_minor FROM credit_notes INDEXED BY credit_notes_moved WHERE created_at >= ?1 AND deleted_at IS NULL),
         back AS MATERIALIZED (SELECT bill_id, SUM(m) AS m FROM moves GROUP BY bill_id),
         paid (person, finalized_at, due) AS MATERIALIZED (
             SELECT COALESCE(p.merged_into, p.id), b.finalized_at, k.m
             FROM back k CROSS JOIN bills b ON b.id = k.bill_id CROSS JOIN patients p ON p.id = b.patient_id
             WHERE k.bill_id NOT IN (SELECT id FROM bills INDEXED BY bills_finalized WHERE finalized_at >= ?1)
               AND NOT EXISTS (SELECT 1 FROM report_owing o WHERE o.bill_id = k.bill_id)
               AND b.finalized_at < ?1 AND b.status = 'final' AND b.deleted_at IS NULL),
         touched (person) AS MATERIALIZED (
             SELECT person FROM report_owing INDEXED BY report_owing_finalized WHERE finalized_at >= ?1 AND due > 0
             UNION SELECT o.person FROM back k CROSS JOIN report_owing o ON o.bill_id = k.bill_id
             UNION SELECT person FROM paid),
         redo AS MATERIALIZED (
             SELECT person, {BANDS}
             FROM (SELECT o.person, o.finalized_at, o.due + COALESCE(k.m, 0) AS due
                   FROM touched t CROSS JOIN report_owing o INDEXED BY report_owing_person ON o.person = t.person
                   LEFT JOIN back k ON k.bill_id = o.bill_id
                   WHERE o.finalized_at < ?1
                   UNION ALL SELECT person, finalized_at, due FROM paid)
             WHERE due > 0 GROUP BY person),
         gone AS (
             SELECT {BANDS} FROM touched t CROSS JOIN report_owing o INDEXED BY report_owing_person ON o.person = t.person
             WHERE o.finalized_at < ?1 AND o.due > 0),
         recent AS (
             SELECT COALESCE(SUM(finalized_at >= ?1), 0) AS later,
                    COALESCE(SUM(CASE WHEN finalized_at < ?1 AND finalized_at >= ?2 THEN due ELSE 0 END), 0) AS b0,
                    COALESCE(SUM(CASE WHEN finalized_at < ?2 AND finalized_at >= ?3 THEN due ELSE 0 END), 0) AS b1,
                    COALESCE(SUM(CASE WHEN finalized_at < ?3 THEN due ELSE 0 END), 0) AS b2,
                    COALESCE(SUM(due), 0) AS due
             FROM report_owing INDEXED BY report_owing_finalized WHERE finalized_at >= ?4 AND due > 0),
         everyone AS (
             SELECT t.invoices - r.later AS invoices, r.b0, r.b1, r.b2, t.owed - r.due AS b3
             FROM report_owing_total t, recent r WHERE t.id = 1),
         worked AS (
             SELECT COUNT(*) AS people, COALESCE(SUM(invoices), 0) AS invoices, COALESCE(SUM(b0), 0) AS b0,
                    COALESCE(SUM(b1), 0) AS b1, COALESCE(SUM(b2), 0) AS b2, COALESCE(SUM(b3), 0) AS b3
             FROM redo),
         cut AS (
             SELECT owed FROM report_owing_people INDEXED BY report_owing_people_owed
             WHERE person NOT IN (SELECT person FROM touched) ORDER BY owed DESC LIMIT 1 OFFSET ?5)
         SELECT NULL AS person,
                (SELECT COUNT(*) FROM report_owing_people)
                  - (SELECT COUNT(*) FROM report_owing_people WHERE person IN (SELECT person FROM touched)) + w.people AS people,
                e.invoices - g.invoices + w.invoices AS invoices, e.b0 - g.b0 + w.b0 AS b0, e.b1 - g.b1 + w.b1 AS b1,
                e.b2 - g.b2 + w.b2 AS b2, e.b3 - g.b3 + w.b3 AS b3
         FROM everyone e, gone g, worked w
         UNION ALL
         SELECT person, 1, {BANDS} FROM report_owing INDEXED BY report_owing_person
         WHERE due > 0 AND person IN (
             SELECT person FROM report_owing_people INDEXED BY report_owing_people_owed
             WHERE owed >= COALESCE((SELECT owed FROM cut), 0) AND person NOT IN (SELECT person FROM touched))
         GROUP BY person
         UNION ALL
         SELECT person, 1, invoices, b0, b1, b2, b3 FROM redo WHERE b0 + b1 + b2 + b3 >= COALESCE((SELECT owed FROM cut), 0)"
    )
}

/// A row of `owed_sql`: everyone's totals (`person` None), or one person listed.
#[derive(sqlx::FromRow)]
struct OwedRow {
    person: Option<String>,
    people: i64,
    invoices: i64,
    b0: i64,
    b1: i64,
    b2: i64,
    b3: i64,
}

/// The people to list: those owing most, at most `limit` of them, and any owing the same as
/// the last of those (their order among equals is by name, known only after looking them up).
fn to_look_up(mut owed: Vec<Owed>, limit: usize) -> Vec<Owed> {
    owed.sort_by_key(|o| std::cmp::Reverse(o.total()));
    if let Some(last) = owed.get(limit.saturating_sub(1)).map(Owed::total) {
        let keep = owed.iter().take_while(|o| o.total() >= last).count();
        owed.truncate(keep.max(limit));
    }
    owed
}

pub(crate) async fn ageing(store: &Store, range: &DateRange) -> Result<Table> {
    let (_, cutoff) = range.instants()?;
    // An invoice is `age` days old on the range's last day when finalised on its local day
    // `to - age`: the bands' edges are the starts of days `to - 30`, `to - 60`, `to - 90`.
    let mut edges = Vec::with_capacity(AGE_BANDS.len());
    for days in AGE_BANDS {
        edges.push(range.start_of(range.to - Duration::days(days))?);
    }
    let sql = owed_sql();
    let rows: Vec<OwedRow> = sqlx::query_as(&sql)
        .bind(&cutoff)
        .bind(&edges[0])
        .bind(&edges[1])
        .bind(&edges[2])
        .bind(i64::try_from(LISTED).unwrap_or(i64::MAX) - 1)
        .fetch_all(store.report_pool())
        .await?;
    let (mut people, mut invoices, mut all) = (0, 0, [0i64; 4]);
    let mut owed = Vec::with_capacity(rows.len());
    for r in rows {
        let bands = [r.b0, r.b1, r.b2, r.b3];
        match r.person {
            None => (people, invoices, all) = (r.people, r.invoices, bands),
            Some(person) => owed.push(Owed { person, invoices: r.invoices, b0: r.b0, b1: r.b1, b2: r.b2, b3: r.b3 }),
        }
    }
    let mut listed = named(store, to_look_up(owed, LISTED)).await?;
    listed.sort_by(|(a, an, am), (b, bn, bm)| {
        b.total().cmp(&a.total()).then_with(|| an.cmp(bn)).then_with(|| am.cmp(bm))
    });
    listed.truncate(LISTED);
    let rows = listed
        .into_iter()
        .map(|(o, name, mrn)| {
            let mut row = vec![text(name), text(mrn), num(o.invoices)];
            row.extend(o.bands().map(num));
            row.push(num(o.total()));
            row
        })
        .collect();
    let mut totals = vec![text("Total"), text(""), num(invoices)];
    totals.extend(all.map(num));
    totals.push(num(all.iter().sum()));
    Ok(Table {
        columns: vec![
            col("patient", "Patient", Kind::Text),
            col("mrn", "MRN", Kind::Text),
            col("invoices", "Invoices", Kind::Count),
            col("days_0_30", "0–30 days", Kind::Money),
            col("days_31_60", "31–60 days", Kind::Money),
            col("days_61_90", "61–90 days", Kind::Money),
            col("days_over_90", "Over 90 days", Kind::Money),
            col("owed", "Total owed", Kind::Money),
        ],
        rows,
        totals: Some(totals),
        figures: vec![fig("people_owing", "People owing", Kind::Count, people)],
    })
}

/// Each person with their name and MRN (in batches: one statement per few hundred people).
async fn named(store: &Store, owed: Vec<Owed>) -> Result<Vec<(Owed, String, String)>> {
    let mut names = std::collections::HashMap::with_capacity(owed.len());
    for chunk in owed.chunks(400) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = format!("SELECT id, TRIM(given_name || ' ' || family_name), mrn FROM patients WHERE id IN ({marks})");
        let mut q = sqlx::query_as::<_, (String, String, String)>(&sql);
        for o in chunk {
            q = q.bind(&o.person);
        }
        for (id, name, mrn) in q.fetch_all(store.report_pool()).await? {
            names.insert(id, (name, mrn));
        }
    }
    Ok(owed
        .into_iter()
        .map(|o| {
            let (name, mrn) = names.remove(&o.person).unwrap_or_default();
            (o, name, mrn)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::{band_of, to_look_up, Owed};

    #[test]
    fn bands_end_at_30_60_and_90_days_included() {
        let bands: Vec<usize> = [0, 30, 31, 60, 61, 90, 91, 400].into_iter().map(band_of).collect();
        assert_eq!(bands, [0, 0, 1, 1, 2, 2, 3, 3]);
    }

    fn owing(person: &str, total: i64) -> Owed {
        Owed { person: person.into(), invoices: 1, b0: total, b1: 0, b2: 0, b3: 0 }
    }

    #[test]
    fn those_owing_most_are_looked_up_with_everyone_owing_as_much_as_the_last() {
        let owed = vec![owing("a", 10), owing("b", 50), owing("c", 30), owing("d", 30), owing("e", 5)];
        let people = |v: Vec<Owed>| v.into_iter().map(|o| o.person).collect::<Vec<_>>();
        assert_eq!(people(to_look_up(owed.clone(), 2)), ["b", "c", "d"], "c and d owe the same");
        assert_eq!(people(to_look_up(owed.clone(), 1)), ["b"]);
        assert_eq!(to_look_up(owed.clone(), 9).len(), 5, "fewer than the limit: all of them");
        assert!(to_look_up(Vec::new(), 3).is_empty());
    }
}
