//! Input rules for a patient record. Each failure names its field; nothing is written.

use super::model::{PatientInput, Sex};
use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use chrono::{Datelike, NaiveDate};

pub const MAX_AGE_YEARS: u32 = 130;
/// The most phone numbers a patient may have.
pub const MAX_PHONES: usize = 5;
/// The most characters a patient's address may have.
pub const ADDRESS_MAX: usize = 500;
/// The most characters a patient's city (town, village) may have.
pub const CITY_MAX: usize = 80;
/// The most characters a patient's district may have.
pub const DISTRICT_MAX: usize = 80;
/// The most characters the reason of a merge or a status change may have.
pub const REASON_MAX: usize = 500;
/// The longest free-text notes a record keeps.
pub const MAX_NOTES: usize = 4000;

/// A checked record, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clean {
    pub given_name: String,
    pub family_name: String,
    pub other_names: String,
    pub sex: Sex,
    pub birth_date: Option<NaiveDate>,
    pub birth_date_estimated: bool,
    pub phones: Vec<String>,
    pub address: String,
    pub city: String,
    pub district: String,
    pub national_id: String,
    pub insurance_id: String,
    pub emergency_name: String,
    pub emergency_phone: String,
    pub emergency_relation: String,
    pub blood_group: String,
    pub allergies: Vec<String>,
    pub notes: String,
    /// Only CSV import sets it; `clean` leaves it empty.
    pub legacy_mrn: String,
}

pub const BLOOD_GROUPS: [&str; 8] = ["A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"];

fn text(field: &str, raw: &str, max: usize) -> Result<String> {
    let s = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > max {
        return Err(Error::validation(field, ValidationReason::TooLong, format!("at most {max} characters")));
    }
    if s.chars().any(char::is_control) {
        return Err(Error::validation(field, ValidationReason::Invalid, "contains control characters"));
    }
    Ok(s)
}

/// Free text that keeps its line breaks (address, notes).
fn multiline(field: &str, raw: &str, max: usize) -> Result<String> {
    let s = raw.trim().replace("\r\n", "\n");
    if s.chars().count() > max {
        return Err(Error::validation(field, ValidationReason::TooLong, format!("at most {max} characters")));
    }
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Error::validation(field, ValidationReason::Invalid, "contains control characters"));
    }
    Ok(s)
}

/// A phone number: digits with an optional leading '+', spaces/dashes/brackets dropped;
/// 6 to 15 digits (E.164's maximum).
pub fn phone(field: &str, raw: &str) -> Result<String> {
    let trimmed = raw.trim();
    let plus = trimmed.starts_with('+');
    let mut digits = String::new();
    for c in trimmed.chars().skip(usize::from(plus)) {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '(' | ')' | '.' => {}
            _ => {
                return Err(Error::validation(
                    field,
                    ValidationReason::Invalid,
                    "a phone number has only digits, spaces, dashes and a leading +",
                ))
            }
        }
    }
    if !(6..=15).contains(&digits.len()) {
        return Err(Error::validation(field, ValidationReason::Invalid, "a phone number has 6 to 15 digits"));
    }
    Ok(if plus { format!("+{digits}") } else { digits })
}

pub fn phone_digits(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

fn birth(input: &PatientInput, today: NaiveDate) -> Result<(Option<NaiveDate>, bool)> {
    if let Some(raw) = input.birth_date.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let d = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map_err(|_| Error::validation("birth_date", ValidationReason::Invalid, "expected a date as YYYY-MM-DD"))?;
        if d > today {
            return Err(Error::validation(
                "birth_date",
                ValidationReason::OutOfRange,
                "the date of birth is in the future",
            ));
        }
        let oldest = today.with_year(today.year() - MAX_AGE_YEARS as i32).unwrap_or(NaiveDate::MIN);
        if d < oldest {
            return Err(Error::validation(
                "birth_date",
                ValidationReason::OutOfRange,
                format!("more than {MAX_AGE_YEARS} years ago"),
            ));
        }
        return Ok((Some(d), false));
    }
    match input.age_years {
        Some(age) if age > MAX_AGE_YEARS => {
            Err(Error::validation("age_years", ValidationReason::OutOfRange, format!("0 to {MAX_AGE_YEARS} years")))
        }
        // An estimated age becomes 1 July of the estimated birth year, flagged as estimated.
        Some(age) => Ok((NaiveDate::from_ymd_opt(today.year() - age as i32, 7, 1), true)),
        None => Ok((None, false)),
    }
}

pub fn clean(input: &PatientInput, today: NaiveDate) -> Result<Clean> {
    let given_name = text("given_name", &input.given_name, 80)?;
    if given_name.is_empty() {
        return Err(Error::validation("given_name", ValidationReason::Required, "a given name is required"));
    }
    let sex = Sex::from_code(input.sex.trim())
        .ok_or_else(|| Error::validation("sex", ValidationReason::Invalid, "female, male, other or unknown"))?;
    let (birth_date, birth_date_estimated) = birth(input, today)?;
    if input.phones.len() > MAX_PHONES {
        return Err(Error::validation("phones", ValidationReason::TooLong, "at most 5 phone numbers"));
    }
    let mut phones = Vec::new();
    for (i, p) in input.phones.iter().enumerate() {
        if p.trim().is_empty() {
            continue;
        }
        let p = phone(&format!("phones.{i}"), p)?;
        if !phones.contains(&p) {
            phones.push(p);
        }
    }
    let emergency_phone = match input.emergency_phone.trim() {
        "" => String::new(),
        p => phone("emergency_phone", p)?,
    };
    let blood_group = input.blood_group.trim().to_uppercase();
    if !blood_group.is_empty() && !BLOOD_GROUPS.contains(&blood_group.as_str()) {
        return Err(Error::validation(
            "blood_group",
            ValidationReason::Invalid,
            "one of A+, A-, B+, B-, AB+, AB-, O+, O-",
        ));
    }
    if input.allergies.len() > 50 {
        return Err(Error::validation("allergies", ValidationReason::TooLong, "at most 50 allergies"));
    }
    let mut allergies = Vec::new();
    for a in &input.allergies {
        let a = text("allergies", a, 100)?;
        if !a.is_empty() && !allergies.iter().any(|x: &String| x.eq_ignore_ascii_case(&a)) {
            allergies.push(a);
        }
    }
    Ok(Clean {
        given_name,
        family_name: text("family_name", &input.family_name, 80)?,
        other_names: text("other_names", &input.other_names, 120)?,
        sex,
        birth_date,
        birth_date_estimated,
        phones,
        address: multiline("address", &input.address, ADDRESS_MAX)?,
        city: text("city", &input.city, CITY_MAX)?,
        district: text("district", &input.district, DISTRICT_MAX)?,
        national_id: text("national_id", &input.national_id, 40)?.to_uppercase(),
        insurance_id: text("insurance_id", &input.insurance_id, 60)?.to_uppercase(),
        emergency_name: text("emergency_name", &input.emergency_name, 120)?,
        emergency_phone,
        emergency_relation: text("emergency_relation", &input.emergency_relation, 40)?,
        blood_group,
        allergies,
        notes: multiline("notes", &input.notes, MAX_NOTES)?,
        legacy_mrn: String::new(),
    })
}
