//! The ICD-10-CM code table (assets/icd10, public domain; see its README), loaded once into
//! `icd10_codes` and its FTS5 index, and searched by code prefix or by words (ordered by
//! `icd10_rank`: the words doctors use, the clinic's own most-used codes, billable first).

use super::icd10_rank::{self, Candidate};
use super::ICD10_TABLE as TABLE;
use crate::error::{Error, Result};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{Actor, Store, WriteTx};
use serde::Serialize;
use serde_json::json;
use sqlx::Sqlite;
use std::collections::HashMap;

/// The release shipped.
pub const RELEASE: &str = "ICD-10-CM FY2026 (April 1, 2026)";
/// The most results one search returns.
pub const MAX_RESULTS: u32 = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Icd10Code {
    /// "E11.9".
    pub code: String,
    pub description: String,
}

fn key(code: &str) -> String {
    code.chars().filter(|c| *c != '.').collect::<String>().to_uppercase()
}

/// Fills the code table once (the first search or coded diagnosis on a device does it).
pub async fn ensure_loaded(store: &Store) -> Result<()> {
    let loaded: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM icd10_codes)").fetch_one(store.pool()).await?;
    if loaded {
        return Ok(());
    }
    let mut w = store.begin_write(Actor::system()).await?;
    let loaded: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM icd10_codes)").fetch_one(w.conn()).await?;
    if loaded {
        return Ok(());
    }
    let rows: Vec<(&str, &str)> = TABLE.lines().filter_map(|l| l.split_once('\t')).collect();
    for chunk in rows.chunks(5_000) {
        let mut q = sqlx::QueryBuilder::<Sqlite>::new("INSERT INTO icd10_codes (code, code_key, description) ");
        q.push_values(chunk, |mut b, (code, desc)| {
            b.push_bind(*code).push_bind(key(code)).push_bind(*desc);
        });
        q.build().execute(w.conn()).await?;
    }
    sqlx::query("INSERT INTO icd10_fts (icd10_fts) VALUES ('rebuild')").execute(w.conn()).await?;
    w.audit("icd10.load", "icd10", None, json!({ "release": RELEASE, "codes": rows.len() })).await?;
    w.commit().await
}

/// The code as stored ("E11.9") if it is in the table; inside a write.
pub(crate) async fn lookup_in(w: &mut WriteTx<'_>, raw: &str) -> Result<Option<Icd10Code>> {
    let row: Option<(String, String)> = sqlx::query_as("SELECT code, description FROM icd10_codes WHERE code_key = ?")
        .bind(key(raw.trim()))
        .fetch_optional(w.conn())
        .await?;
    Ok(row.map(|(code, description)| Icd10Code { code, description }))
}

/// How many matches of a word search are ranked.
const CANDIDATES: u32 = 1_500;

/// Words too common in code descriptions to narrow a search; dropped while other words remain.
const STOP_WORDS: [&str; 20] = [
    "a",
    "an",
    "and",
    "the",
    "of",
    "in",
    "on",
    "to",
    "for",
    "with",
    "without",
    "or",
    "by",
    "due",
    "other",
    "unspecified",
    "not",
    "elsewhere",
    "classified",
    "specified",
];

/// The FTS5 query of a word search: every word as a prefix ("diab" finds diabetes), all
/// required; single letters and (when other words remain) stop words left out. Empty when
/// nothing usable remains.
fn match_terms(q: &str) -> String {
    let words: Vec<String> = q
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|t| t.chars().count() >= 2 || t.chars().all(|c| c.is_ascii_digit()) && !t.is_empty())
        .take(8)
        .collect();
    let content: Vec<&String> = words.iter().filter(|w| !STOP_WORDS.contains(&w.as_str())).collect();
    let chosen: Vec<&String> = if content.is_empty() { words.iter().collect() } else { content };
    chosen.iter().map(|t| format!("\"{t}\"*")).collect::<Vec<_>>().join(" ")
}

/// Whether a query reads as a code: a letter, a digit, then letters, digits or dots.
fn looks_like_code(q: &str) -> bool {
    let mut cs = q.chars();
    matches!((cs.next(), cs.next()), (Some(a), Some(b)) if a.is_ascii_alphabetic() && b.is_ascii_digit())
        && q.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
}

/// Searches the code list: a code prefix ("J45", "e11.6") lists codes in code order; words
/// ("type 2 diab") match descriptions by word prefixes, best match first.
pub async fn search(store: &Store, auth: &Authorized, query: &str, limit: u32) -> Result<Vec<Icd10Code>> {
    auth.require(Permission::ClinicalView)?;
    ensure_loaded(store).await?;
    let q = query.trim();
    let limit = limit.clamp(1, MAX_RESULTS);
    if q.is_empty() {
        return Ok(Vec::new());
    }
    if looks_like_code(q) {
        let k = key(q);
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT code, description FROM icd10_codes WHERE code_key >= ?1 AND code_key < ?1 || '{' ORDER BY code_key LIMIT ?2")
                .bind(&k)
                .bind(limit)
                .fetch_all(store.pool())
                .await?;
        if !rows.is_empty() {
            return Ok(rows.into_iter().map(|(code, description)| Icd10Code { code, description }).collect());
        }
    }
    let mut found = synonym_candidates(store, q).await?;
    found.extend(word_candidates(store, q).await?);
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let usage = clinic_usage(store, &found).await?;
    let ordered = icd10_rank::order(q, found, &usage);
    Ok(ordered
        .into_iter()
        .take(limit as usize)
        .map(|c| Icd10Code { code: c.code, description: c.description })
        .collect())
}

/// How many of the best word matches are ordered for the answer.
const WORD_CANDIDATES: u32 = 100;

/// The codes the query names through the synonym and abbreviation list.
async fn synonym_candidates(store: &Store, q: &str) -> Result<Vec<Candidate>> {
    let codes = icd10_rank::synonym_hits(q);
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = sqlx::QueryBuilder::<Sqlite>::new("SELECT code, description, rowid FROM icd10_codes WHERE code IN (");
    let mut list = sql.separated(", ");
    for c in &codes {
        list.push_bind(*c);
    }
    sql.push(")");
    let rows: Vec<(String, String, i64)> = sql.build_query_as().fetch_all(store.pool()).await?;
    Ok(rows
        .into_iter()
        .map(|(code, description, rowid)| Candidate { code, description, text_rank: 0.0, rowid })
        .collect())
}

/// The codes whose descriptions hold the query's words, best text match first.
async fn word_candidates(store: &Store, q: &str) -> Result<Vec<Candidate>> {
    let terms = match_terms(q);
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    // Ranked (bm25) among the first CANDIDATES matches in tabular order: a word as common as
    // "fracture" matches thousands of codes, and ranking them all would cost tens of
    // milliseconds for a list nobody reads to the end.
    let rows: Vec<(String, String, f64, i64)> = sqlx::query_as(
        "SELECT c.code, c.description, m.rank, c.rowid
         FROM (SELECT rowid, rank FROM icd10_fts WHERE icd10_fts MATCH ?1 LIMIT ?3) m
         JOIN icd10_codes c ON c.rowid = m.rowid
         ORDER BY m.rank, c.rowid LIMIT ?2",
    )
    .bind(terms)
    .bind(WORD_CANDIDATES)
    .bind(CANDIDATES)
    .fetch_all(store.pool())
    .await
    .map_err(|e| Error::internal(format!("icd10 search: {e}")))?;
    Ok(rows
        .into_iter()
        .map(|(code, description, text_rank, rowid)| Candidate { code, description, text_rank, rowid })
        .collect())
}

/// How often the clinic has coded each candidate (diagnoses not deleted), by code.
async fn clinic_usage(store: &Store, found: &[Candidate]) -> Result<HashMap<String, i64>> {
    let mut sql = sqlx::QueryBuilder::<Sqlite>::new("SELECT icd10, COUNT(*) FROM diagnoses WHERE icd10 IN (");
    let mut list = sql.separated(", ");
    for c in found {
        list.push_bind(c.code.as_str());
    }
    sql.push(") AND deleted_at IS NULL GROUP BY icd10");
    let rows: Vec<(String, i64)> = sql.build_query_as().fetch_all(store.pool()).await?;
    Ok(rows.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_words_are_told_apart() {
        assert!(looks_like_code("J45"));
        assert!(looks_like_code("e11.65"));
        assert!(!looks_like_code("asthma"));
        assert!(!looks_like_code("J"));
        assert!(!looks_like_code("type 2"));
        assert_eq!(key("e11.65"), "E1165");
        assert_eq!(match_terms("type 2 diab"), "\"type\"* \"2\"* \"diab\"*");
        assert_eq!(match_terms("fracture of femur"), "\"fracture\"* \"femur\"*");
        assert_eq!(match_terms("unspecified"), "\"unspecified\"*");
        assert_eq!(match_terms("a"), "");
    }

    #[test]
    fn the_shipped_table_is_well_formed() {
        let n =
            TABLE.lines().filter(|l| l.split_once('\t').is_some_and(|(c, d)| !c.is_empty() && !d.is_empty())).count();
        assert_eq!(n, TABLE.lines().count());
        assert!(n > 40_000, "{n}");
    }
}
