//! The morbidity summary (migration 0050): every diagnosis with its clinic-local day, person,
//! sex, age band and the days of the person's previous diagnosis of the same code, chapter and
//! of any code (`report_dx`), and their counts by month (`report_dx_month`). A person counts
//! once per code over a range exactly through the diagnosis whose previous one of that code is
//! before the range's first day, so a range reads its whole months' counts plus its edge days'
//! diagnoses — and, when it starts inside a month, the diagnoses in its whole months whose
//! previous one fell in that month before the start.
//!
//! SQLite does not know the clinic's time zone: its UTC offsets are written into `report_zone`
//! when the summary is built for the zone ([`ensure`], [`build_step`]): on a new database, on
//! one that had no summary yet, and after the zone changed here or on another device. The
//! build goes [`CHUNK`] people per write, so that the clinic's writes go on between its
//! writes; the app runs it in the background. Until it is done the reports read the visits
//! ([`is_built`]). Everything else keeps it current in the writes' own transactions (triggers).

use super::range::Span;
use super::DateRange;
use crate::error::Result;
use crate::store::{Actor, Store, WriteTx};
use chrono::{DateTime, Datelike, Months, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// Counts read for a range: `kind` 0 people by code (`key`), 1 by chapter (`key`: its number in
/// `CHAPTERS`, "22" outside them), 2 people diagnosed at all, 3 uncoded diagnoses (not people).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct Tally {
    pub kind: i64,
    pub key: String,
    pub sex: i64,
    pub band: i64,
    pub n: i64,
}

/// The people (records' ids) counted again in one write of a build: about 900 diagnoses,
/// 100–200 ms at 1,000,000 patients (5,000 took 1–1.7 s, too long to hold the clinic's writes).
pub const CHUNK: i64 = 500;
/// Above every id: the end of the last chunk.
const LAST: &str = "\u{10FFFF}";

/// The counts of the people in `(a, b]` taken out, their rows worked out again from the records
/// and counted back in (what the trigger `report_dx_recount` does for one person); binds
/// `(a, b)` for each `?`-pair.
const RECOUNT: [(&str, usize); 4] = [
    (
        "INSERT INTO report_dx_month (month, prev_month, kind, key, sex, band, n)
         SELECT month, prev_month, kind, key, sex, band, -COUNT(*) FROM report_dx_parts WHERE person > ? AND person <= ?
         GROUP BY month, prev_month, kind, key, sex, band
         ON CONFLICT DO UPDATE SET n = n + excluded.n",
        1,
    ),
    ("DELETE FROM report_dx WHERE person > ? AND person <= ?", 1),
    (
        "INSERT INTO report_dx (day, id, person, code, chapter, sex, band, prev_code, prev_chapter, prev_any, text)
         SELECT day, id, person, code, chapter, sex, band,
                CASE WHEN code <> '' THEN LAG(day) OVER (PARTITION BY person, code ORDER BY at, id) END,
                CASE WHEN code <> '' THEN LAG(day) OVER (PARTITION BY person, chapter ORDER BY at, id) END,
                CASE WHEN code <> '' THEN LAG(day) OVER (PARTITION BY person, code = '' ORDER BY at, id) END,
                text
         FROM report_dx_base
         WHERE record IN (SELECT id FROM patients WHERE id > ? AND id <= ? AND merged_into IS NULL
                          UNION ALL SELECT id FROM patients WHERE merged_into > ? AND merged_into <= ?)
           AND person > ? AND person <= ? AND day IS NOT NULL",
        3,
    ),
    (
        "INSERT INTO report_dx_month (month, prev_month, kind, key, sex, band, n)
         SELECT month, prev_month, kind, key, sex, band, COUNT(*) FROM report_dx_parts WHERE person > ? AND person <= ?
         GROUP BY month, prev_month, kind, key, sex, band
         ON CONFLICT DO UPDATE SET n = n + excluded.n",
        1,
    ),
];

/// The first and last instants the offsets are worked out between (visits outside them take
/// the nearest offset).
const FIRST_YEAR: i32 = 1900;
const LAST_YEAR: i32 = 2200;

/// The zone's offset from UTC in seconds (local − UTC) from each instant on: the earliest under
/// `""`, then each change. Found by stepping six hours at a time and narrowing each change down
/// to the second (no zone changes its offset twice within six hours).
pub(crate) fn offsets(tz: Tz) -> Vec<(String, i32)> {
    let at = |t: i64| DateTime::<Utc>::from_timestamp(t, 0);
    let offset = |t: i64| at(t).map(|d| tz.offset_from_utc_datetime(&d.naive_utc()).fix().local_minus_utc());
    let year_start = |y: i32| Utc.with_ymd_and_hms(y, 1, 1, 0, 0, 0).single().map(|d| d.timestamp());
    let (Some(first), Some(last)) = (year_start(FIRST_YEAR), year_start(LAST_YEAR)) else { return Vec::new() };
    let Some(mut current) = offset(first) else { return Vec::new() };
    let mut out = vec![(String::new(), current)];
    const STEP: i64 = 6 * 3600;
    let mut t = first;
    while t < last {
        let next = t + STEP;
        match offset(next) {
            Some(o) if o != current => {
                // The first second with the new offset, in (t, next].
                let (mut lo, mut hi) = (t, next);
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    if offset(mid) == Some(current) {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                let changed = offset(hi).unwrap_or(o);
                if let Some(d) = at(hi) {
                    out.push((d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true), changed));
                }
                current = changed;
                t = hi;
            }
            _ => t = next,
        }
    }
    out
}

/// Builds the summary for the clinic's time zone unless it is built for it already, a write
/// at a time (the app's background task and the bench call it).
pub async fn ensure(store: &Store) -> Result<()> {
    while !build_step(store, CHUNK).await? {}
    Ok(())
}

/// Whether the summary is built for the clinic's time zone (else the reports read the visits).
pub async fn is_built(store: &Store) -> Result<bool> {
    let tz = crate::clinic::time_zone(store).await?;
    let mut conn = store.report_pool().acquire().await?;
    Ok(state(&mut conn).await? == Some((tz.name().to_string(), None)))
}

/// One write of the build (its start, or the next `people`), or nothing when the summary is
/// built for the clinic's zone: whether it is built now.
pub async fn build_step(store: &Store, people: i64) -> Result<bool> {
    if is_built(store).await? {
        return Ok(true);
    }
    let mut w = store.begin_write(Actor::system()).await?;
    // Again inside the write: another report may have gone on meanwhile.
    let tz = crate::clinic::time_zone_in(&mut w).await?;
    match state(w.conn()).await? {
        Some((zone, None)) if zone == tz.name() => Ok(true),
        Some((zone, Some(done))) if zone == tz.name() => {
            let built = step(&mut w, &done, people).await?;
            w.commit_derived().await?;
            Ok(built)
        }
        _ => {
            start(&mut w, tz).await?;
            w.commit_derived().await?;
            Ok(false)
        }
    }
}

/// The zone the summary is for and how far its build has gone (None: built).
async fn state(conn: &mut sqlx::SqliteConnection) -> Result<Option<(String, Option<String>)>> {
    Ok(sqlx::query_as("SELECT zone, built_to FROM report_zone_name WHERE id = 1").fetch_optional(conn).await?)
}

/// Empties the summary and writes the zone's offsets: from here on the triggers keep every
/// person they touch, and the build counts everyone from the first id.
async fn start(w: &mut WriteTx<'_>, tz: Tz) -> Result<()> {
    for table in ["report_zone", "report_dx_dirty", "report_dx", "report_dx_month"] {
        sqlx::query(&format!("DELETE FROM {table}")).execute(w.conn()).await?;
    }
    for chunk in offsets(tz).chunks(200) {
        let values = vec!["(?, ?)"; chunk.len()].join(", ");
        let sql = format!("INSERT INTO report_zone (start, seconds) VALUES {values}");
        let mut q = sqlx::query(&sql);
        for (start, seconds) in chunk {
            q = q.bind(start).bind(seconds);
        }
        q.execute(w.conn()).await?;
    }
    sqlx::query(
        "INSERT INTO report_zone_name (id, zone, built_to) VALUES (1, ?, '')
         ON CONFLICT (id) DO UPDATE SET zone = excluded.zone, built_to = ''",
    )
    .bind(tz.name())
    .execute(w.conn())
    .await?;
    Ok(())
}

/// Counts the next `people` after `done` (records' ids in order: a survivor's id is its
/// record's), and notes how far the build has gone: whether it is done.
async fn step(w: &mut WriteTx<'_>, done: &str, people: i64) -> Result<bool> {
    let cut: Option<String> = sqlx::query_scalar("SELECT id FROM patients WHERE id > ? ORDER BY id LIMIT 1 OFFSET ?")
        .bind(done)
        .bind(people.max(1) - 1)
        .fetch_optional(w.conn())
        .await?;
    let upper = cut.as_deref().unwrap_or(LAST);
    for (sql, pairs) in RECOUNT {
        let mut q = sqlx::query(sql);
        for _ in 0..pairs {
            q = q.bind(done).bind(upper);
        }
        q.execute(w.conn()).await?;
    }
    sqlx::query("UPDATE report_zone_name SET built_to = ? WHERE id = 1").bind(&cut).execute(w.conn()).await?;
    Ok(cut.is_none())
}

const BY_CODE: &str = "SELECT 0 AS kind, code AS key, sex, band, COUNT(*) AS n FROM report_dx";
const BY_CHAPTER: &str = "SELECT 1 AS kind, CAST(chapter AS TEXT) AS key, sex, band, COUNT(*) AS n FROM report_dx";
const PEOPLE: &str = "SELECT 2 AS kind, '' AS key, sex, band, COUNT(*) AS n FROM report_dx";
/// Each kind of person count: its select, the previous-day column it is first by, its groups.
const CHAINS: [(&str, &str, &str); 3] = [
    (BY_CODE, "prev_code", "code, sex, band"),
    (BY_CHAPTER, "prev_chapter", "chapter, sex, band"),
    (PEOPLE, "prev_any", "sex, band"),
];

/// The counts over `range` (the summary built: [`is_built`]).
pub(crate) async fn tallies(store: &Store, range: &DateRange) -> Result<Vec<Tally>> {
    let (sql, binds) = tallies_sql(range);
    let mut q = sqlx::query_as::<_, Tally>(&sql);
    for b in &binds {
        q = q.bind(b);
    }
    Ok(q.fetch_all(store.report_pool()).await?)
}

fn day(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn month(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m").to_string()
}

/// The statement summing a range's counts, and its binds in order.
fn tallies_sql(range: &DateRange) -> (String, Vec<String>) {
    let from = day(range.from);
    let mut parts = Vec::new();
    let mut binds = Vec::new();
    for span in range.spans() {
        match span {
            Span::Days(a, b) => {
                for (select, prev, groups) in CHAINS {
                    parts.push(format!(
                        "{select} WHERE day >= ? AND day <= ? AND code <> '' AND ({prev} IS NULL OR {prev} < ?) GROUP BY {groups}"
                    ));
                    binds.extend([day(a), day(b), from.clone()]);
                }
                parts.push("SELECT 3 AS kind, '' AS key, 0 AS sex, 0 AS band, COUNT(*) AS n FROM report_dx WHERE day >= ? AND day <= ? AND code = ''".into());
                binds.extend([day(a), day(b)]);
            }
            Span::Months(m1, m2) => {
                parts.push(
                    "SELECT kind, key, sex, band, SUM(n) AS n FROM report_dx_month
                     WHERE month >= ? AND month <= ? AND (prev_month = '' OR prev_month < ?) GROUP BY kind, key, sex, band"
                        .into(),
                );
                binds.extend([month(m1), month(m2), month(range.from)]);
                // The range starts inside a month: the diagnoses in the whole months whose
                // previous one was in that month before the start count too.
                if range.from.day() != 1 {
                    let (Some(first), Some(end)) = (range.from.with_day(1), m2.checked_add_months(Months::new(1)))
                    else {
                        continue;
                    };
                    for (select, prev, groups) in CHAINS {
                        parts.push(format!(
                            "{select} INDEXED BY report_dx_{prev} WHERE {prev} >= ? AND {prev} < ? AND day >= ? AND day < ?
                             AND code <> '' GROUP BY {groups}"
                        ));
                        binds.extend([day(first), from.clone(), day(m1), day(end)]);
                    }
                }
            }
        }
    }
    let sql = format!(
        "SELECT kind, key, sex, band, SUM(n) AS n FROM ({}) GROUP BY kind, key, sex, band",
        parts.join(" UNION ALL ")
    );
    (sql, binds)
}

/// The description of each code the ICD-10 list does not hold: the smallest text of its
/// diagnoses.
pub(crate) async fn unlisted_texts(store: &Store, codes: &[String]) -> Result<Vec<(String, String)>> {
    let list = serde_json::to_string(codes).map_err(|e| crate::error::Error::internal(e.to_string()))?;
    Ok(sqlx::query_as(
        "SELECT code, MIN(text) FROM report_dx INDEXED BY report_dx_unlisted
         WHERE text IS NOT NULL AND code IN (SELECT value FROM json_each(?)) GROUP BY code",
    )
    .bind(list)
    .fetch_all(store.report_pool())
    .await?)
}

#[cfg(test)]
mod tests {
    use super::offsets;

    #[test]
    fn a_zone_s_offsets_change_where_its_clocks_do() {
        let k = offsets(chrono_tz::Asia::Kolkata);
        assert_eq!(k.last().map(|(_, s)| *s), Some(19_800));
        assert!(k.len() < 10, "{k:?}");
        let london = offsets(chrono_tz::Europe::London);
        // 2026: BST from 29 March 01:00 UTC to 25 October 01:00 UTC.
        let at = |s: &str| london.iter().position(|(start, _)| start == s);
        let spring = at("2026-03-29T01:00:00.000Z").expect("spring change");
        let autumn = at("2026-10-25T01:00:00.000Z").expect("autumn change");
        assert_eq!((london[spring].1, london[autumn].1), (3600, 0));
        assert_eq!(autumn, spring + 1);
        assert_eq!(offsets(chrono_tz::UTC), vec![(String::new(), 0)]);
    }
}
