//! The starter lab catalogue shipped with the app (assets/lab/starter-lab-tests.tsv: about 70
//! common tests with LOINC codes, specimens, units and reference ranges by sex and age band;
//! sources in that folder's README). A new clinic chooses at set-up whether to load it; the
//! demo hospital has it; loading it again adds only the tests whose codes are not there yet.

use super::insert_row;
use super::lab_ranges::{parse_bands, RefBand};
use crate::error::{Error, Result};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{Store, WriteTx};
use serde_json::json;

const STARTER: &str = include_str!("../../assets/lab/starter-lab-tests.tsv");

/// One test of the starter file.
#[derive(Debug, Clone)]
pub struct StarterTest {
    pub code: String,
    pub loinc: String,
    pub name: String,
    pub specimen: String,
    pub unit: String,
    /// The range for anyone (the `* *` band), if the file gives one.
    pub low: Option<i64>,
    pub high: Option<i64>,
    /// Every other band.
    pub bands: Vec<RefBand>,
}

/// The starter file, read (a malformed line is an internal error: the file ships with the app).
pub fn starter_tests() -> Result<Vec<StarterTest>> {
    STARTER
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(i, l)| parse_line(l).map_err(|e| Error::internal(format!("starter lab tests line {}: {e}", i + 1))))
        .collect()
}

fn parse_line(l: &str) -> std::result::Result<StarterTest, String> {
    let cols: Vec<&str> = l.split('\t').collect();
    let [code, loinc, name, specimen, unit, ranges] = cols[..] else {
        return Err(format!("expected 6 columns, found {}", cols.len()));
    };
    let all = parse_bands(ranges)?;
    let (anyone, bands): (Vec<RefBand>, Vec<RefBand>) =
        all.into_iter().partition(|b| b.sex.is_none() && b.from.is_none() && b.to.is_none());
    Ok(StarterTest {
        code: code.trim().to_uppercase(),
        loinc: loinc.trim().into(),
        name: name.trim().into(),
        specimen: specimen.trim().into(),
        unit: unit.trim().into(),
        low: anyone.first().and_then(|b| b.low),
        high: anyone.first().and_then(|b| b.high),
        bands,
    })
}

/// Adds the starter tests whose codes the catalogue does not hold yet, in one write; returns
/// how many were added.
pub async fn load_starter_lab_tests(store: &Store, auth: &Authorized) -> Result<u32> {
    auth.require(Permission::ClinicalCatalogManage)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let added = load_in(&mut w).await?;
    w.commit().await?;
    Ok(added)
}

/// Loads the starter tests inside a write (set-up loads them with the first administrator).
pub(crate) async fn load_in(w: &mut WriteTx<'_>) -> Result<u32> {
    let tests = starter_tests()?;
    let mut added = 0u32;
    for t in &tests {
        let taken: bool = sqlx::query_scalar(
            "SELECT COUNT(*) > 0 FROM lab_tests WHERE code = ? COLLATE NOCASE AND deleted_at IS NULL",
        )
        .bind(&t.code)
        .fetch_one(w.conn())
        .await?;
        // The same test has the same id on every device (see `ids::reference_id`), so two
        // devices of one clinic that each loaded the catalogue hold one row per test.
        let id = crate::ids::reference_id("lab_test", &t.code.to_lowercase());
        let here: bool =
            sqlx::query_scalar("SELECT COUNT(*) > 0 FROM lab_tests WHERE id = ?").bind(&id).fetch_one(w.conn()).await?;
        if taken || here {
            continue;
        }
        let ranges = serde_json::to_string(&t.bands)?;
        let cols = [
            ("code", json!(t.code)),
            ("name", json!(t.name)),
            ("unit", json!(t.unit)),
            ("ref_low_milli", json!(t.low)),
            ("ref_high_milli", json!(t.high)),
            ("active", json!(true)),
            ("loinc", json!(t.loinc)),
            ("specimen", json!(t.specimen)),
            ("ranges", json!(ranges)),
        ];
        insert_row(w, "lab_tests", &id, &cols).await?;
        added += 1;
    }
    w.audit("lab_test.starter_loaded", "lab_test", None, json!({ "added": added, "in_file": tests.len() })).await?;
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_file_reads_and_every_test_has_a_loinc_code() {
        let tests = starter_tests().unwrap();
        assert!(tests.len() >= 60, "{}", tests.len());
        let mut codes = std::collections::HashSet::new();
        for t in &tests {
            assert!(codes.insert(t.code.clone()), "{} twice", t.code);
            assert!(t.code.len() <= 20 && !t.name.is_empty() && !t.specimen.is_empty(), "{t:?}");
            // LOINC: digits, a hyphen, one check digit.
            let (num, check) = t.loinc.split_once('-').unwrap_or_default();
            assert!(!num.is_empty() && num.chars().all(|c| c.is_ascii_digit()) && check.len() == 1, "{t:?}");
            for b in &t.bands {
                if let (Some(l), Some(h)) = (b.low, b.high) {
                    assert!(l <= h, "{t:?}");
                }
            }
        }
        let hb = tests.iter().find(|t| t.code == "HB").unwrap();
        assert_eq!(hb.loinc, "718-7");
        assert!(hb.bands.iter().any(|b| b.sex.as_deref() == Some("female")));
    }

    #[test]
    fn loinc_check_digits_are_right() {
        // LOINC's check digit is the mod-10 (Luhn) digit of the number part.
        for t in starter_tests().unwrap() {
            let (num, check) = t.loinc.split_once('-').unwrap();
            assert_eq!(luhn(num).to_string(), check, "{} {}", t.code, t.loinc);
        }
    }

    fn luhn(num: &str) -> u32 {
        let digits: Vec<u32> = num.chars().filter_map(|c| c.to_digit(10)).collect();
        let sum: u32 = digits
            .iter()
            .rev()
            .enumerate()
            .map(|(i, d)| {
                if i % 2 == 0 {
                    let x = d * 2;
                    x / 10 + x % 10
                } else {
                    *d
                }
            })
            .sum();
        (10 - sum % 10) % 10
    }
}
