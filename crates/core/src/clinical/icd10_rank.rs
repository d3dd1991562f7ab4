//! How ICD-10 word searches are ordered: the words doctors use (assets/icd10/synonyms.tsv),
//! then the clinic's own most-used codes, billable codes before the headings that only group
//! them, general codes before their more specific children, and the text match last.

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// term<TAB>code,code,... one a line, `#` comments; the codes most likely first.
const SYNONYMS: &str = include_str!("../../assets/icd10/synonyms.tsv");

/// A query shorter than this is not completed to a synonym ("di" is not yet "diabetes").
const PREFIX_MIN: usize = 3;
/// At most this many codes come from synonyms a query is only the beginning of.
const PREFIX_CODES: usize = 6;

/// One code found by a search, before it is ordered.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub code: String,
    pub description: String,
    /// How well the words matched: bm25 (lower is better); 0 for synonym hits.
    pub text_rank: f64,
    /// Position in tabular order.
    pub rowid: i64,
}

/// Where a candidate came from; the lower, the earlier it is listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tier {
    /// The query is a synonym or abbreviation of the code ("htn" → I10).
    Synonym,
    /// The query is the beginning of one ("hyperten" → I10).
    SynonymPrefix,
    /// The code's description holds the query's words.
    Words,
}

/// Lower-case words joined by one space: "Type-2  DM" → "type 2 dm".
pub(crate) fn normalise(q: &str) -> String {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The shipped synonym list, parsed once: (term, codes most likely first).
fn synonyms() -> &'static [(String, Vec<&'static str>)] {
    static LIST: OnceLock<Vec<(String, Vec<&'static str>)>> = OnceLock::new();
    LIST.get_or_init(|| {
        SYNONYMS
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once('\t'))
            .map(|(term, codes)| (normalise(term), codes.split(',').map(str::trim).filter(|c| !c.is_empty()).collect()))
            .collect()
    })
}

/// The codes a query names through the synonym list, with their tier and place in it.
fn synonym_codes(query: &str) -> Vec<(&'static str, Tier, usize)> {
    let q = normalise(query);
    let mut out = Vec::new();
    if q.is_empty() {
        return out;
    }
    for (term, codes) in synonyms() {
        if *term == q {
            out.extend(codes.iter().enumerate().map(|(i, c)| (*c, Tier::Synonym, i)));
        }
    }
    if q.chars().count() >= PREFIX_MIN {
        let mut partial: Vec<(&String, &Vec<&'static str>)> =
            synonyms().iter().filter(|(t, _)| *t != q && t.starts_with(&q)).map(|(t, c)| (t, c)).collect();
        // The shortest completion is the likeliest ("diab" → "diabetes" before "diabetes mellitus").
        partial.sort_by_key(|(t, _)| t.len());
        let firsts = partial.iter().flat_map(|(_, codes)| codes.iter().enumerate());
        out.extend(firsts.take(PREFIX_CODES).map(|(i, c)| (*c, Tier::SynonymPrefix, i)));
    }
    out
}

/// The codes a synonym search adds ahead of the word matches, without repeats.
pub(crate) fn synonym_hits(query: &str) -> Vec<&'static str> {
    let mut seen = HashSet::new();
    synonym_codes(query).into_iter().map(|(c, _, _)| c).filter(|c| seen.insert(*c)).collect()
}

/// Every code that has children in the shipped table (a category such as E11 or a
/// subcategory such as E11.6): not billable, only a heading.
fn headings() -> &'static HashSet<String> {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| {
        let codes: Vec<&str> = super::ICD10_TABLE.lines().filter_map(|l| l.split_once('\t')).map(|(c, _)| c).collect();
        // In tabular order a code's children follow it directly.
        codes.windows(2).filter(|p| p[1].starts_with(p[0]) && p[1] != p[0]).map(|p| p[0].to_string()).collect()
    })
}

/// Whether a code can be used on a claim (it has no more specific children).
pub(crate) fn is_billable(code: &str) -> bool {
    !headings().contains(code)
}

/// How much a clinic's use of a code lifts it: 0 never used, then one step per doubling.
fn usage_step(n: i64) -> u32 {
    if n <= 0 {
        0
    } else {
        1 + (n as u64).ilog2()
    }
}

/// Orders the candidates: tier, then the clinic's use, then (for word matches) billable
/// codes first, a better text match, a shorter code, tabular order.
pub(crate) fn order(query: &str, candidates: Vec<Candidate>, usage: &HashMap<String, i64>) -> Vec<Candidate> {
    let syn = synonym_codes(query);
    let place = |code: &str| syn.iter().find(|(c, _, _)| *c == code).map(|(_, t, i)| (*t, *i));
    let mut keyed: Vec<_> = candidates
        .into_iter()
        .map(|c| {
            let (tier, pos) = place(&c.code).unwrap_or((Tier::Words, 0));
            let used = Reverse(usage_step(usage.get(&c.code).copied().unwrap_or(0)));
            // bm25 scores differ by fractions between near-equal matches; in whole steps a
            // general code and its children tie, and the shorter code goes first.
            let text = (c.text_rank * 2.0).round() as i64;
            let key = (tier, used, pos, !is_billable(&c.code), text, c.code.len(), c.rowid);
            (key, c)
        })
        .collect();
    keyed.sort_by_key(|a| a.0);
    let mut seen = HashSet::new();
    keyed.into_iter().map(|(_, c)| c).filter(|c| seen.insert(c.code.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_synonym_names_a_code_of_the_shipped_table() {
        let codes: HashSet<&str> =
            super::super::ICD10_TABLE.lines().filter_map(|l| l.split_once('\t')).map(|(c, _)| c).collect();
        assert!(synonyms().len() > 200, "{}", synonyms().len());
        for (term, list) in synonyms() {
            assert!(!term.is_empty() && !list.is_empty(), "{term}");
            for c in list {
                assert!(codes.contains(c), "{term}: {c} is not in the table");
            }
        }
    }

    #[test]
    fn headings_are_codes_with_children() {
        assert!(!is_billable("E11") && !is_billable("E11.6") && !is_billable("J45"));
        assert!(is_billable("E11.9") && is_billable("I10") && is_billable("R50.9") && is_billable("J00"));
    }

    #[test]
    fn synonyms_match_whole_queries_and_complete_typed_beginnings() {
        assert_eq!(synonym_hits("HTN"), ["I10"]);
        assert_eq!(synonym_hits("  Type-2 diabetes "), ["E11.9", "E11.65", "E11.8"]);
        assert_eq!(synonym_hits("hyperten")[0], "I10");
        assert!(synonym_hits("di").is_empty(), "too short to complete");
        assert_eq!(usage_step(0), 0);
        assert!(usage_step(1) < usage_step(2) && usage_step(2) < usage_step(100));
    }
}
