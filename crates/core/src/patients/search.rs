//! The one search box: MRN, phone (any part of the digits), id number, or name (a prefix of
//! any name part, in any order, ignoring case and accents). Exact MRN/phone/id matches come
//! first, then name matches with whole-word matches before prefix-only ones, newest first.

use super::model::{Patient, PatientStatus, Sex};
use super::{mrn, repo, validate};
use crate::error::Result;
use chrono::NaiveDate;
use serde::Serialize;
use sqlx::SqlitePool;
use std::collections::HashSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    Mrn,
    Phone,
    IdNumber,
    Name,
    PhonePart,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct PatientHit {
    pub id: String,
    pub mrn: String,
    pub name: String,
    pub sex: Sex,
    pub birth_date: Option<String>,
    pub birth_date_estimated: bool,
    pub age_years: Option<u32>,
    pub phone: Option<String>,
    pub last_visit_at: Option<String>,
    pub status: PatientStatus,
    pub matched: MatchKind,
}

pub const MAX_RESULTS: u32 = 100;

pub fn age_on(birth: &str, today: NaiveDate) -> Option<u32> {
    let b = NaiveDate::parse_from_str(birth, "%Y-%m-%d").ok()?;
    today.years_since(b)
}

/// Lower-case ASCII folding of a word ("Zoë" → "zoe"), as the FTS tokenizer folds it.
pub fn fold(s: &str) -> String {
    deunicode::deunicode(s).to_lowercase()
}

/// The name tokens of a query, folded, without FTS syntax characters.
pub fn name_tokens(q: &str) -> Vec<String> {
    fold(q).split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()).take(6).map(str::to_string).collect()
}

fn is_phone_like(q: &str) -> bool {
    q.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c)) && q.chars().filter(char::is_ascii_digit).count() >= 3
}

async fn pks(pool: &SqlitePool, sql: &str, arg: &str, limit: u32) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(sql).bind(arg).bind(i64::from(limit)).fetch_all(pool).await?)
}

pub async fn search(pool: &SqlitePool, query: &str, limit: u32, today: NaiveDate) -> Result<Vec<PatientHit>> {
    let q = query.trim();
    let limit = limit.clamp(1, MAX_RESULTS);
    if q.is_empty() {
        return Ok(Vec::new());
    }
    let mut found: Vec<(i64, MatchKind)> = Vec::new();
    let mut push = |list: Vec<i64>, kind: MatchKind| {
        for pk in list {
            if !found.iter().any(|(p, _)| *p == pk) {
                found.push((pk, kind));
            }
        }
    };
    if let Some(m) = mrn::looks_like(q) {
        // The MRN of a merged-away record finds the record it was merged into.
        let sql = "SELECT COALESCE((SELECT s.pk FROM patients s WHERE s.id = p.merged_into), p.pk)
                   FROM patients p WHERE p.mrn = ? AND p.deleted_at IS NULL LIMIT ?";
        push(pks(pool, sql, &m, limit).await?, MatchKind::Mrn);
    }
    let id_number: String = q.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    if is_phone_like(q) {
        let digits = validate::phone_digits(q);
        push(
            pks(pool, "SELECT patient_pk FROM patient_phones WHERE digits = ? LIMIT ?", &digits, limit).await?,
            MatchKind::Phone,
        );
        push(id_matches(pool, &id_number, limit).await?, MatchKind::IdNumber);
        let fts = format!("\"{digits}\"");
        push(
            pks(
                pool,
                "SELECT rowid FROM patient_phone_fts WHERE patient_phone_fts MATCH ? ORDER BY rowid DESC LIMIT ?",
                &fts,
                limit,
            )
            .await?,
            MatchKind::PhonePart,
        );
    } else {
        push(id_matches(pool, &id_number, limit).await?, MatchKind::IdNumber);
        let tokens = name_tokens(q);
        if !tokens.is_empty() {
            let fts = tokens.iter().map(|t| format!("\"{t}\"*")).collect::<Vec<_>>().join(" ");
            push(
                pks(
                    pool,
                    "SELECT rowid FROM patient_name_fts WHERE patient_name_fts MATCH ? ORDER BY rowid DESC LIMIT ?",
                    &fts,
                    limit,
                )
                .await?,
                MatchKind::Name,
            );
        }
    }
    found.truncate(limit as usize);
    let hits = load(pool, &found).await?;
    Ok(rank(hits, &name_tokens(q), today))
}

async fn id_matches(pool: &SqlitePool, id: &str, limit: u32) -> Result<Vec<i64>> {
    if id.len() < 3 {
        return Ok(Vec::new());
    }
    // Three lookups (national id, insurance id, legacy file number), each repeating its partial index's condition so that SQLite uses it.
    Ok(sqlx::query_scalar(
        "SELECT pk FROM patients WHERE national_id = ?1 AND national_id <> '' AND deleted_at IS NULL
         UNION SELECT pk FROM patients WHERE insurance_id = ?1 AND insurance_id <> '' AND deleted_at IS NULL
         UNION SELECT pk FROM patients WHERE legacy_mrn = ?1 AND legacy_mrn <> '' AND deleted_at IS NULL LIMIT ?2",
    )
    .bind(id)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?)
}

async fn load(pool: &SqlitePool, found: &[(i64, MatchKind)]) -> Result<Vec<(Patient, MatchKind)>> {
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = vec!["?"; found.len()].join(",");
    let sql = format!("SELECT {} FROM patients WHERE pk IN ({placeholders}) AND deleted_at IS NULL", repo::COLUMNS);
    let mut q = sqlx::query(&sql);
    for (pk, _) in found {
        q = q.bind(pk);
    }
    let rows = q.fetch_all(pool).await?;
    let mut by_pk = std::collections::HashMap::new();
    for row in &rows {
        let (pk, p) = repo::from_row(row)?;
        by_pk.insert(pk, p);
    }
    Ok(found.iter().filter_map(|(pk, k)| by_pk.remove(pk).map(|p| (p, *k))).collect())
}

/// Exact kinds first (MRN, phone, id), then names with more whole-word matches, keeping the
/// newest-first order within a rank.
fn rank(mut hits: Vec<(Patient, MatchKind)>, tokens: &[String], today: NaiveDate) -> Vec<PatientHit> {
    let whole_words = |p: &Patient| -> usize {
        let parts: HashSet<String> = name_tokens(&p.display_name()).into_iter().collect();
        tokens.iter().filter(|t| parts.contains(*t)).count()
    };
    hits.sort_by_key(|(p, k)| (*k, std::cmp::Reverse(if *k == MatchKind::Name { whole_words(p) } else { 0 })));
    hits.into_iter().map(|(p, k)| hit(p, k, today)).collect()
}

pub fn hit(p: Patient, matched: MatchKind, today: NaiveDate) -> PatientHit {
    PatientHit {
        age_years: p.birth_date.as_deref().and_then(|b| age_on(b, today)),
        name: p.display_name(),
        phone: p.phones.first().cloned(),
        id: p.id,
        mrn: p.mrn,
        sex: p.sex,
        birth_date: p.birth_date,
        birth_date_estimated: p.birth_date_estimated,
        last_visit_at: p.last_visit_at,
        status: p.status,
        matched,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_fold_case_accents_and_syntax() {
        assert_eq!(name_tokens("  Zoë  O'Brien-Núñez "), vec!["zoe", "o", "brien", "nunez"]);
        assert_eq!(name_tokens("\"sharma\" AND* ravi"), vec!["sharma", "and", "ravi"]);
        assert!(name_tokens("   ").is_empty());
    }

    #[test]
    fn phone_like_queries() {
        assert!(is_phone_like("98450"));
        assert!(is_phone_like("+91 98450-12345"));
        assert!(!is_phone_like("98"));
        assert!(!is_phone_like("ravi 98450"));
    }
}
