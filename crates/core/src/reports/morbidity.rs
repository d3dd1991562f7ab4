//! Morbidity: coded diagnoses made at visits in the range, by ICD-10 code and by chapter,
//! with the people they were made for by sex and age band. A person (merged records are
//! one person: their survivor) counts once per code — or once per chapter — however many
//! visits gave it; their age is taken on the day of the first such visit in the range.
//! Free-text (uncoded) diagnoses are not in the table: the report says how many there were.
//! The whole clinic's figures are read from the summary (`morbidity_summary`) once it is built;
//! filtered by doctor or department (or while it is being built), from the visits.

use super::morbidity_summary;
use super::patients::{age_on, AGE_BANDS};
use super::table::{col, fig, num, text, Column, Kind, Table};
use super::{DateRange, Scope};
use crate::error::Result;
use crate::store::Store;
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// ICD-10-CM's chapters: (number, first category, last category, title). A code is in the
/// chapter whose range holds its first three characters (letters and digits compare as text:
/// "O9A" is after "O99").
pub const CHAPTERS: [(&str, &str, &str, &str); 22] = [
    ("I", "A00", "B99", "Certain infectious and parasitic diseases"),
    ("II", "C00", "D49", "Neoplasms"),
    ("III", "D50", "D89", "Diseases of the blood and immune mechanism"),
    ("IV", "E00", "E89", "Endocrine, nutritional and metabolic diseases"),
    ("V", "F01", "F99", "Mental, behavioural and neurodevelopmental disorders"),
    ("VI", "G00", "G99", "Diseases of the nervous system"),
    ("VII", "H00", "H59", "Diseases of the eye and adnexa"),
    ("VIII", "H60", "H95", "Diseases of the ear and mastoid process"),
    ("IX", "I00", "I99", "Diseases of the circulatory system"),
    ("X", "J00", "J99", "Diseases of the respiratory system"),
    ("XI", "K00", "K95", "Diseases of the digestive system"),
    ("XII", "L00", "L99", "Diseases of the skin and subcutaneous tissue"),
    ("XIII", "M00", "M99", "Diseases of the musculoskeletal system and connective tissue"),
    ("XIV", "N00", "N99", "Diseases of the genitourinary system"),
    ("XV", "O00", "O9A", "Pregnancy, childbirth and the puerperium"),
    ("XVI", "P00", "P96", "Certain conditions originating in the perinatal period"),
    ("XVII", "Q00", "Q99", "Congenital malformations and chromosomal abnormalities"),
    ("XVIII", "R00", "R99", "Symptoms, signs and abnormal findings not elsewhere classified"),
    ("XIX", "S00", "T88", "Injury, poisoning and other consequences of external causes"),
    ("XX", "V00", "Y99", "External causes of morbidity"),
    ("XXI", "Z00", "Z99", "Factors influencing health status and contact with health services"),
    ("XXII", "U00", "U85", "Codes for special purposes"),
];

/// The index in [`CHAPTERS`] of the chapter `code` belongs to (None for a code outside them).
pub fn chapter_of(code: &str) -> Option<usize> {
    let category: String = code.trim().chars().take(3).collect::<String>().to_ascii_uppercase();
    if category.len() < 3 {
        return None;
    }
    CHAPTERS.iter().position(|(_, first, last, _)| category.as_str() >= *first && category.as_str() <= *last)
}

const SEXES: [&str; 4] = ["female", "male", "other", "unknown"];

/// A person diagnosed with a code in the range: the first time, and who they are.
#[derive(sqlx::FromRow)]
struct Diagnosed {
    person: String,
    code: String,
    description: String,
    first_at: String,
    sex: String,
    birth_date: Option<String>,
}

/// Coded diagnoses of visits started in the range (neither deleted), grouped by person
/// (a merged record's survivor) and code; binds: from, to, doctor twice, department twice.
/// (`dx`, not `code`: GROUP BY would take `icd10_codes.code`, a column, before an alias.)
const DIAGNOSED: &str = "WITH d AS (
         SELECT COALESCE(p.merged_into, p.id) AS person, UPPER(TRIM(dg.icd10)) AS dx,
                MIN(COALESCE(c.description, dg.text)) AS description, MIN(v.started_at) AS first_at
         FROM visits v INDEXED BY visits_started
         JOIN diagnoses dg ON dg.visit_id = v.id AND dg.deleted_at IS NULL
         JOIN patients p ON p.id = v.patient_id
         LEFT JOIN icd10_codes c ON c.code = UPPER(TRIM(dg.icd10))
         WHERE v.started_at >= ? AND v.started_at < ? AND v.deleted_at IS NULL
           AND dg.icd10 IS NOT NULL AND TRIM(dg.icd10) <> ''
           AND (? IS NULL OR v.doctor_id = ?)
           AND (? IS NULL OR v.doctor_id IN (SELECT id FROM staff WHERE department_id = ?))
         GROUP BY person, dx)
     SELECT d.person, d.dx AS code, d.description, d.first_at, s.sex, s.birth_date
     FROM d JOIN patients s ON s.id = d.person";

/// Free-text diagnoses at the same visits.
const UNCODED: &str = "SELECT COUNT(*)
         FROM visits v INDEXED BY visits_started
         JOIN diagnoses dg ON dg.visit_id = v.id AND dg.deleted_at IS NULL
         WHERE v.started_at >= ? AND v.started_at < ? AND v.deleted_at IS NULL
           AND (dg.icd10 IS NULL OR TRIM(dg.icd10) = '')
           AND (? IS NULL OR v.doctor_id = ?)
           AND (? IS NULL OR v.doctor_id IN (SELECT id FROM staff WHERE department_id = ?))";

/// One row's counts: people by sex, by age band (the last: unknown age).
#[derive(Default, Clone)]
struct Counts {
    /// Ties in people read in this order (the code; the chapter's number).
    order: String,
    label: String,
    title: String,
    people: i64,
    sexes: [i64; 4],
    ages: [i64; AGE_BANDS.len() + 1],
}

/// The index in `Counts::sexes` of a stored sex (the summary's numbering too).
fn sex_index(sex: &str) -> usize {
    SEXES.iter().position(|s| *s == sex).unwrap_or(3)
}

/// The index in `Counts::ages` of an age (the last: unknown; the summary's numbering too).
fn band_index(age: Option<u32>) -> usize {
    match age {
        Some(a) => AGE_BANDS.iter().rposition(|(_, low)| a >= *low).unwrap_or(0),
        None => AGE_BANDS.len(),
    }
}

impl Counts {
    /// `n` people of one sex and age band (indices out of range count as unknown).
    fn add(&mut self, sex: usize, band: usize, n: i64) {
        self.people += n;
        self.sexes[sex.min(SEXES.len() - 1)] += n;
        self.ages[band.min(AGE_BANDS.len())] += n;
    }

    fn cells(&self) -> Vec<super::Cell> {
        let mut row = vec![text(&self.label), text(&self.title), num(self.people)];
        row.extend(self.sexes.iter().map(|n| num(*n)));
        row.extend(self.ages.iter().map(|n| num(*n)));
        row
    }
}

/// A person's age on the local day of `instant` (None: no or an unreadable birth date, or
/// born after it).
fn age_at(range: &DateRange, birth: Option<&str>, instant: &str) -> Option<u32> {
    let birth = NaiveDate::parse_from_str(birth?, "%Y-%m-%d").ok()?;
    age_on(birth, range.local_date(instant)?)
}

async fn diagnosed(store: &Store, range: &DateRange, scope: &Scope) -> Result<(Vec<Diagnosed>, i64)> {
    let (from, to) = range.instants()?;
    let rows: Vec<Diagnosed> = sqlx::query_as(DIAGNOSED)
        .bind(&from)
        .bind(&to)
        .bind(&scope.doctor_id)
        .bind(&scope.doctor_id)
        .bind(&scope.department_id)
        .bind(&scope.department_id)
        .fetch_all(store.report_pool())
        .await?;
    let uncoded: i64 = sqlx::query_scalar(UNCODED)
        .bind(&from)
        .bind(&to)
        .bind(&scope.doctor_id)
        .bind(&scope.doctor_id)
        .bind(&scope.department_id)
        .bind(&scope.department_id)
        .fetch_one(store.report_pool())
        .await?;
    Ok((rows, uncoded))
}

fn columns(first: Column, second: Column) -> Vec<Column> {
    let mut c = vec![first, second, col("patients", "People", Kind::Count)];
    c.extend([
        col("female", "Female", Kind::Count),
        col("male", "Male", Kind::Count),
        col("other", "Other", Kind::Count),
        col("unknown", "Unknown", Kind::Count),
    ]);
    for (key, (label, _)) in
        ["age_0_4", "age_5_14", "age_15_24", "age_25_44", "age_45_64", "age_65"].iter().zip(AGE_BANDS)
    {
        c.push(col(key, label, Kind::Count));
    }
    c.push(col("age_unknown", "Age unknown", Kind::Count));
    c
}

/// Rows by people (most first), then their order; the totals row sums them (a person with two
/// codes is in two rows); figures: distinct people, uncoded diagnoses.
fn table(groups: BTreeMap<String, Counts>, first: Column, second: Column, people: i64, uncoded: i64) -> Table {
    let mut list: Vec<Counts> = groups.into_values().collect();
    list.sort_by(|a, b| b.people.cmp(&a.people).then_with(|| a.order.cmp(&b.order)));
    let mut all = Counts { label: "Total".into(), ..Default::default() };
    for g in &list {
        all.people += g.people;
        for (t, n) in all.sexes.iter_mut().zip(g.sexes) {
            *t += n;
        }
        for (t, n) in all.ages.iter_mut().zip(g.ages) {
            *t += n;
        }
    }
    Table {
        columns: columns(first, second),
        rows: list.iter().map(Counts::cells).collect(),
        totals: Some(all.cells()),
        figures: vec![
            fig("people", "People diagnosed", Kind::Count, people),
            fig("uncoded", "Uncoded diagnoses (not counted)", Kind::Count, uncoded),
        ],
    }
}

fn distinct_people(rows: &[Diagnosed]) -> i64 {
    let people: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.person.as_str()).collect();
    i64::try_from(people.len()).unwrap_or(i64::MAX)
}

/// Whether the report reads the summary: everything the clinic diagnosed, once the summary is
/// built for the clinic's time zone. Filtered by doctor or department it reads the visits
/// themselves (the summary does not keep who diagnosed), and so it does while the summary is
/// being built (the same figures, read more slowly).
async fn from_summary(store: &Store, scope: &Scope) -> Result<bool> {
    Ok(scope.doctor_id.is_none() && scope.department_id.is_none() && morbidity_summary::is_built(store).await?)
}

/// The summary's counts over the range: people by code and by chapter, people, uncoded.
struct Summed {
    codes: BTreeMap<String, Counts>,
    chapters: BTreeMap<String, Counts>,
    people: i64,
    uncoded: i64,
}

async fn summed(store: &Store, range: &DateRange) -> Result<Summed> {
    let mut out = Summed { codes: BTreeMap::new(), chapters: BTreeMap::new(), people: 0, uncoded: 0 };
    for t in morbidity_summary::tallies(store, range).await? {
        let (sex, band) = (usize::try_from(t.sex).unwrap_or(3), usize::try_from(t.band).unwrap_or(AGE_BANDS.len()));
        match t.kind {
            0 => out
                .codes
                .entry(t.key.clone())
                .or_insert_with(|| Counts { order: t.key.clone(), label: t.key.clone(), ..Default::default() })
                .add(sex, band, t.n),
            1 => {
                let chapter = t.key.parse::<usize>().unwrap_or(CHAPTERS.len());
                chapter_counts(&mut out.chapters, chapter).add(sex, band, t.n);
            }
            2 => out.people += t.n,
            _ => out.uncoded += t.n,
        }
    }
    Ok(out)
}

/// The row of `chapter` (an index in [`CHAPTERS`]; past them: codes outside the chapters).
fn chapter_counts(groups: &mut BTreeMap<String, Counts>, chapter: usize) -> &mut Counts {
    let (label, title) = match CHAPTERS.get(chapter) {
        Some((n, first, last, title)) => (format!("{n} ({first}–{last})"), (*title).to_string()),
        None => ("—".to_string(), "Codes outside the chapters".to_string()),
    };
    let order = format!("{:02}", chapter.min(CHAPTERS.len()));
    groups.entry(order.clone()).or_insert_with(|| Counts { order, label, title, ..Default::default() })
}

/// Each code's description: the ICD-10 list's, else the smallest text of its diagnoses.
async fn describe(store: &Store, codes: &mut BTreeMap<String, Counts>) -> Result<()> {
    let list: Vec<String> = codes.keys().cloned().collect();
    let json = serde_json::to_string(&list).map_err(|e| crate::error::Error::internal(e.to_string()))?;
    let listed: Vec<(String, String)> =
        sqlx::query_as("SELECT code, description FROM icd10_codes WHERE code IN (SELECT value FROM json_each(?))")
            .bind(json)
            .fetch_all(store.report_pool())
            .await?;
    for (code, description) in listed {
        if let Some(c) = codes.get_mut(&code) {
            c.title = description;
        }
    }
    let unlisted: Vec<String> = codes.iter().filter(|(_, c)| c.title.is_empty()).map(|(k, _)| k.clone()).collect();
    if !unlisted.is_empty() {
        for (code, text) in morbidity_summary::unlisted_texts(store, &unlisted).await? {
            if let Some(c) = codes.get_mut(&code) {
                c.title = text;
            }
        }
    }
    Ok(())
}

fn code_columns() -> (Column, Column) {
    (col("code", "ICD-10", Kind::Text), col("diagnosis", "Diagnosis", Kind::Text))
}

fn chapter_columns() -> (Column, Column) {
    (col("chapter", "Chapter", Kind::Text), col("title", "Title", Kind::Text))
}

pub(crate) async fn by_code(store: &Store, range: &DateRange, scope: &Scope) -> Result<Table> {
    let (first, second) = code_columns();
    if from_summary(store, scope).await? {
        let mut s = summed(store, range).await?;
        describe(store, &mut s.codes).await?;
        return Ok(table(s.codes, first, second, s.people, s.uncoded));
    }
    let (rows, uncoded) = diagnosed(store, range, scope).await?;
    let mut groups: BTreeMap<String, Counts> = BTreeMap::new();
    for r in &rows {
        let g = groups.entry(r.code.clone()).or_insert_with(|| Counts {
            order: r.code.clone(),
            label: r.code.clone(),
            title: r.description.clone(),
            ..Default::default()
        });
        g.add(sex_index(&r.sex), band_index(age_at(range, r.birth_date.as_deref(), &r.first_at)), 1);
    }
    let people = distinct_people(&rows);
    Ok(table(groups, first, second, people, uncoded))
}

pub(crate) async fn by_chapter(store: &Store, range: &DateRange, scope: &Scope) -> Result<Table> {
    let (first, second) = chapter_columns();
    if from_summary(store, scope).await? {
        let s = summed(store, range).await?;
        return Ok(table(s.chapters, first, second, s.people, s.uncoded));
    }
    let (rows, uncoded) = diagnosed(store, range, scope).await?;
    // Each person once per chapter, on their first visit in the range with a code in it.
    let mut firsts: BTreeMap<(usize, &str), &Diagnosed> = BTreeMap::new();
    for r in &rows {
        let chapter = chapter_of(&r.code).unwrap_or(CHAPTERS.len());
        let e = firsts.entry((chapter, r.person.as_str())).or_insert(r);
        if r.first_at < e.first_at {
            *e = r;
        }
    }
    let mut groups: BTreeMap<String, Counts> = BTreeMap::new();
    for ((chapter, _), r) in firsts {
        let band = band_index(age_at(range, r.birth_date.as_deref(), &r.first_at));
        chapter_counts(&mut groups, chapter).add(sex_index(&r.sex), band, 1);
    }
    let people = distinct_people(&rows);
    Ok(table(groups, first, second, people, uncoded))
}

#[cfg(test)]
mod tests {
    use super::{chapter_of, CHAPTERS};

    #[test]
    fn codes_fall_in_their_chapters() {
        let n = |c: &str| chapter_of(c).map(|i| CHAPTERS[i].0);
        assert_eq!(n("A09"), Some("I"));
        assert_eq!(n("D49.2"), Some("II"));
        assert_eq!(n("D50.0"), Some("III"));
        assert_eq!(n("E11.9"), Some("IV"));
        assert_eq!(n("H60.1"), Some("VIII"));
        assert_eq!(n("O9A.1"), Some("XV"));
        assert_eq!(n("T88.7"), Some("XIX"));
        assert_eq!(n("z00.00"), Some("XXI"));
        assert_eq!(n("U07.1"), Some("XXII"));
        assert_eq!(n("F00"), None);
        assert_eq!(n("E1"), None);
    }
}
