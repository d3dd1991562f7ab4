//! Reference ranges by sex and age band (`lab_tests.ranges`, JSON), and the band that fits a
//! patient when a result is flagged. A test's own `ref_low`/`ref_high` is the range for
//! anyone no band fits.

use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// One band: for a sex (None: either), from an age (inclusive) to an age (exclusive), both
/// written "30d", "6m" or "18y" (None: open); the range in thousandths, either end open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefBand {
    pub sex: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub low: Option<i64>,
    pub high: Option<i64>,
}

/// The day someone born on `birth` reaches an age written "30d", "6m" or "18y".
pub fn reaches(birth: NaiveDate, age: &str) -> Option<NaiveDate> {
    let unit = age.chars().last()?;
    let n: u32 = age[..age.len() - unit.len_utf8()].parse().ok()?;
    match unit {
        'd' => birth.checked_add_days(Days::new(u64::from(n))),
        'm' => birth.checked_add_months(Months::new(n)),
        'y' => birth.checked_add_months(Months::new(n.checked_mul(12)?)),
        _ => None,
    }
}

/// Whether an age is written as `reaches` reads it.
pub fn valid_age(age: &str) -> bool {
    NaiveDate::from_ymd_opt(2000, 1, 1).and_then(|d| reaches(d, age)).is_some()
}

fn fits(b: &RefBand, sex: &str, birth: Option<NaiveDate>, on: NaiveDate) -> bool {
    if b.sex.as_deref().is_some_and(|s| s != sex) {
        return false;
    }
    let after_from = match (&b.from, birth) {
        (None, _) => true,
        (Some(a), Some(born)) => reaches(born, a).is_some_and(|d| d <= on),
        (Some(_), None) => false,
    };
    let before_to = match (&b.to, birth) {
        (None, _) => true,
        (Some(a), Some(born)) => reaches(born, a).is_some_and(|d| on < d),
        (Some(_), None) => false,
    };
    after_from && before_to
}

/// The band that fits a patient of this sex ("male", "female", ...) and birth date on a day:
/// a band for their sex before one for either; None when no band fits (or the age a band
/// needs is unknown).
pub fn band_for<'a>(bands: &'a [RefBand], sex: &str, birth: Option<NaiveDate>, on: NaiveDate) -> Option<&'a RefBand> {
    let fitting = || bands.iter().filter(|b| fits(b, sex, birth, on));
    fitting().find(|b| b.sex.is_some()).or_else(|| fitting().next())
}

/// Reads the starter file's notation: bands separated by ";", each "SEX AGE LOW..HIGH" with
/// SEX `M`, `F` or `*`, AGE `*`, `18y+` or `6m-5y`, and either end of the range empty.
pub fn parse_bands(text: &str) -> Result<Vec<RefBand>, String> {
    text.split(';').map(str::trim).filter(|b| !b.is_empty()).map(parse_band).collect()
}

fn parse_band(b: &str) -> Result<RefBand, String> {
    let parts: Vec<&str> = b.split_whitespace().collect();
    let [sex, age, range] = parts[..] else {
        return Err(format!("{b:?}: expected SEX AGE LOW..HIGH"));
    };
    let sex = match sex {
        "M" => Some("male".to_string()),
        "F" => Some("female".to_string()),
        "*" => None,
        other => return Err(format!("{b:?}: sex {other:?}")),
    };
    let (from, to) = match age {
        "*" => (None, None),
        a if a.ends_with('+') => (Some(a.trim_end_matches('+').to_string()), None),
        a => match a.split_once('-') {
            Some((f, t)) => (Some(f.to_string()), Some(t.to_string())),
            None => return Err(format!("{b:?}: age {a:?}")),
        },
    };
    if [&from, &to].into_iter().flatten().any(|a| !valid_age(a)) {
        return Err(format!("{b:?}: age {age:?}"));
    }
    let (low, high) = range.split_once("..").ok_or_else(|| format!("{b:?}: range {range:?}"))?;
    let end = |s: &str| -> Result<Option<i64>, String> {
        if s.is_empty() {
            Ok(None)
        } else {
            super::parse_milli(s).map(Some).ok_or_else(|| format!("{b:?}: number {s:?}"))
        }
    };
    Ok(RefBand { sex, from, to, low: end(low)?, high: end(high)? })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_band_that_fits_is_chosen_by_sex_and_age() {
        let bands =
            parse_bands("* 0d-1m 13.5..21.5; * 6m-5y 11..14; M 18y+ 13..17; F 18y+ 12..15.5; * 18y+ 12..17").unwrap();
        let on = day("2026-06-15");
        let low_high =
            |sex: &str, birth: Option<&str>| band_for(&bands, sex, birth.map(day), on).map(|b| (b.low, b.high));
        assert_eq!(low_high("male", Some("1980-01-01")), Some((Some(13_000), Some(17_000))));
        assert_eq!(low_high("female", Some("1980-01-01")), Some((Some(12_000), Some(15_500))));
        assert_eq!(low_high("other", Some("1980-01-01")), Some((Some(12_000), Some(17_000))), "either sex");
        assert_eq!(low_high("female", Some("2026-06-01")), Some((Some(13_500), Some(21_500))), "a newborn");
        assert_eq!(low_high("male", Some("2024-06-15")), Some((Some(11_000), Some(14_000))), "two years old");
        assert_eq!(low_high("male", Some("2026-04-15")), None, "2 months: no band");
        assert_eq!(low_high("male", None), None, "age unknown");
        // The 18th birthday is the first day of the adult band.
        assert_eq!(low_high("male", Some("2008-06-15")), Some((Some(13_000), Some(17_000))));
        assert_eq!(low_high("male", Some("2008-06-16")), None);
    }

    #[test]
    fn the_notation_is_checked() {
        let b = parse_bands("M 40y-50y ..2.5").unwrap();
        assert_eq!(b[0].sex.as_deref(), Some("male"));
        assert_eq!((b[0].low, b[0].high), (None, Some(2_500)));
        assert!(parse_bands("X * 1..2").is_err());
        assert!(parse_bands("* 18q+ 1..2").is_err());
        assert!(parse_bands("* * 1-2").is_err());
        assert!(parse_bands("* * a..2").is_err());
        assert!(parse_bands("").unwrap().is_empty());
    }
}
