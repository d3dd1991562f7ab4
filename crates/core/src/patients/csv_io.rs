//! CSV import of a legacy patient list, and CSV export.
//!
//! Import reads the whole file first (UTF-8, header line, at most `MAX_ROWS` rows), maps
//! columns to fields (suggested from the header names, changed by the user), validates every
//! row with the same rules as the registration form, and only then writes the valid rows, all
//! in one transaction (in batches of `BATCH`, each with its audit entry and signed outbox).
//! A bad row is reported with its line number, column and reason and never written; a bad
//! file is refused whole.
//!
//! Dates are never guessed: the birth-date column's order (day/month or month/day) is worked
//! out from its values (a part above 12 settles it); when the values leave it open, the user
//! chooses it in the preview and the import is refused until they have.

use super::model::PatientInput;
use super::validate::{self, Clean};
use super::{bulk, repo, search};
use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::SqlitePool;
use std::collections::HashSet;
use std::sync::Arc;
use tokio::sync::mpsc;

pub const MAX_ROWS: usize = 200_000;
pub const BATCH: usize = 10_000;
/// Rows of the file shown in the preview, and rejected rows listed in it.
const SAMPLE_ROWS: usize = 10;
const PREVIEW_REJECTED: usize = 500;

/// What a CSV column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ImportField {
    GivenName,
    FamilyName,
    OtherNames,
    /// "Ravi Kumar Sharma": first word given, last word family, the rest other names.
    FullName,
    Sex,
    BirthDate,
    AgeYears,
    Phone,
    Phone2,
    /// Address lines, street, PIN...: several columns make one address.
    Address,
    /// The city or town (its own field, not part of the address text).
    City,
    District,
    NationalId,
    InsuranceId,
    EmergencyName,
    EmergencyPhone,
    EmergencyRelation,
    BloodGroup,
    Allergies,
    Notes,
    /// The number the patient had in the previous system.
    LegacyMrn,
    Ignore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct ColumnMap {
    /// 0-based column index in the file.
    pub column: u32,
    pub field: ImportField,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct Mapping {
    pub columns: Vec<ColumnMap>,
    /// How the birth-date column is read; None: as its values settle it (see `DateColumn`).
    pub date_format: Option<DateFormat>,
}

/// How a column's dates are read. ISO (YYYY-MM-DD) and month-name dates (05-Feb-2009) read
/// the same under either numeric order, so only DD/MM against MM/DD needs settling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum DateFormat {
    /// DD/MM/YYYY (also with - or .); ISO and month-name dates too.
    DayMonthYear,
    /// MM/DD/YYYY (also with - or .); ISO and month-name dates too.
    MonthDayYear,
    /// YYYY-MM-DD (also with /) only.
    YearMonthDay,
    /// DD-Mon-YYYY (05-Feb-2009, 5 February 2009) only.
    DayMonthName,
}

pub const DATE_FORMATS: [DateFormat; 4] =
    [DateFormat::DayMonthYear, DateFormat::MonthDayYear, DateFormat::YearMonthDay, DateFormat::DayMonthName];

/// One value of the file as each reading reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct DateExample {
    pub raw: String,
    /// Every reading of `DATE_FORMATS`, in order.
    pub read: Vec<DateRead>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct DateRead {
    pub format: DateFormat,
    /// YYYY-MM-DD; None when this reading cannot read the value.
    pub date: Option<String>,
}

/// What the preview says about the birth-date column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct DateColumn {
    pub column: u32,
    pub header: String,
    /// The reading the values settle; None when they fit more than one (all parts 12 or
    /// less, or some rows day first and others month first).
    pub detected: Option<DateFormat>,
    /// The readings the values fit.
    pub possible: Vec<DateFormat>,
    /// Every reading the user may choose, in the order to offer them.
    pub formats: Vec<DateFormat>,
    /// The reading the import will use: the user's choice, else the detected one. None: the
    /// import is refused until the user chooses.
    pub format: Option<DateFormat>,
    /// Values from the file, those that settle the order first.
    pub examples: Vec<DateExample>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct PreviewRow {
    /// Line number in the file (the header is line 1).
    pub row: u32,
    pub values: Vec<String>,
}

/// A row that will not be (or was not) imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct RejectedRow {
    pub row: u32,
    /// The CSV column's header, when one column is at fault.
    pub column: Option<String>,
    pub field: String,
    pub reason: ValidationReason,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ImportPreview {
    pub headers: Vec<String>,
    pub mapping: Mapping,
    pub sample: Vec<PreviewRow>,
    pub total_rows: u32,
    pub valid_rows: u32,
    /// The first rejected rows (all of them up to 500).
    pub rejected: Vec<RejectedRow>,
    pub rejected_count: u32,
    /// The birth-date column's reading, when one is mapped.
    pub dates: Option<DateColumn>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct ImportProgress {
    pub done: u32,
    pub total: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ImportReport {
    pub imported: u32,
    pub rejected: Vec<RejectedRow>,
    pub first_mrn: Option<String>,
    pub last_mrn: Option<String>,
}

// ------------------------------------------------------------------------------ the file

struct Table {
    headers: Vec<String>,
    /// (line number, cells)
    rows: Vec<(u32, Vec<String>)>,
}

fn file_error(message: impl Into<String>) -> Error {
    Error::validation("file", ValidationReason::Invalid, message)
}

/// Reads the file: UTF-8 (a BOM is dropped), a header line, then rows.
fn read_table(data: &[u8]) -> Result<Table> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    if data.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::validation("file", ValidationReason::Required, "the file is empty"));
    }
    if data.contains(&0) {
        return Err(file_error("this is not a CSV text file (it has binary content)"));
    }
    let text = std::str::from_utf8(data)
        .map_err(|_| file_error("the file is not UTF-8 text; in a spreadsheet, save it as \"CSV UTF-8\""))?;
    let delimiter = sniff_delimiter(text);
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| file_error(format!("the header line cannot be read: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if headers.iter().all(String::is_empty) {
        return Err(file_error("the first line must name the columns"));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            file_error(format!("line {line} cannot be read as CSV: {e}"))
        })?;
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(Error::validation(
                "file",
                ValidationReason::TooLong,
                format!("at most {MAX_ROWS} rows in one import; split the file"),
            ));
        }
        let line = record.position().map_or(0, |p| p.line()) as u32;
        rows.push((line, record.iter().map(|c| c.to_string()).collect()));
    }
    Ok(Table { headers, rows })
}

/// Spreadsheets in many locales write `;` between cells; take whichever of `,` `;` tab the
/// header line has most of.
fn sniff_delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or("");
    [b',', b';', b'\t'].into_iter().max_by_key(|d| header.bytes().filter(|b| b == d).count()).unwrap_or(b',')
}

/// The field a header most likely names.
pub fn suggest(header: &str) -> ImportField {
    let h: String = search::fold(header).chars().filter(|c| c.is_alphanumeric()).collect();
    use ImportField::*;
    match h.as_str() {
        "name" | "fullname" | "patientname" | "patient" => FullName,
        "firstname" | "givenname" | "forename" | "first" | "given" => GivenName,
        "lastname" | "surname" | "familyname" | "last" | "family" => FamilyName,
        "middlename" | "othernames" | "middlenames" | "middle" | "other" => OtherNames,
        "sex" | "gender" => Sex,
        "dob" | "dateofbirth" | "birthdate" | "birthday" | "born" => BirthDate,
        "age" | "ageyears" | "years" => AgeYears,
        "phone" | "mobile" | "phone1" | "mobile1" | "telephone" | "tel" | "contact" | "contactnumber" | "mobileno"
        | "phoneno" | "phonenumber" | "mobilenumber" | "cell" | "cellphone" | "cellno" | "homephone"
        | "primaryphone" | "contactno" => Phone,
        "phone2" | "mobile2" | "alternatephone" | "altphone" | "otherphone" | "workphone" | "officephone"
        | "alternatemobile" | "altmobile" | "landline" | "secondaryphone" => Phone2,
        "address" | "addr" | "residence" | "address1" | "address2" | "address3" | "addressline1" | "addressline2"
        | "addressline3" | "street" | "streetaddress" | "area" | "locality" | "village" | "taluk" | "state"
        | "province" | "county" | "zip" | "zipcode" | "postcode" | "postalcode" | "pin" | "pincode" | "country" => {
            Address
        }
        "city" | "town" | "citytown" => City,
        "district" | "dist" => District,
        "nationalid"
        | "aadhaar"
        | "aadhar"
        | "aadhaarno"
        | "aadhaarnumber"
        | "aadharno"
        | "idnumber"
        | "nid"
        | "ssn"
        | "socialsecuritynumber"
        | "socialsecurityno"
        | "nin"
        | "nric"
        | "pan"
        | "panno" => NationalId,
        "insurance" | "insuranceid" | "insuranceno" | "policy" | "policyno" | "policynumber" => InsuranceId,
        "emergencycontact" | "emergencyname" | "nextofkin" | "kin" => EmergencyName,
        "emergencyphone" | "emergencycontactphone" | "kinphone" => EmergencyPhone,
        "emergencyrelation" | "relation" | "relationship" => EmergencyRelation,
        "bloodgroup" | "blood" | "bloodtype" => BloodGroup,
        "allergies" | "allergy" => Allergies,
        "notes" | "note" | "remarks" | "comments" => Notes,
        "mrn"
        | "fileno"
        | "filenumber"
        | "uhid"
        | "oldmrn"
        | "legacymrn"
        | "regno"
        | "registrationno"
        | "patientid"
        | "hospitalno"
        | "chartno"
        | "chartnumber"
        | "chart"
        | "patientno"
        | "patientnumber"
        | "recordno"
        | "recordnumber"
        | "mrno"
        | "medicalrecordnumber"
        | "caseno"
        | "opno"
        | "ipno" => LegacyMrn,
        _ => Ignore,
    }
}

fn suggested_mapping(headers: &[String]) -> Mapping {
    let mut used = HashSet::new();
    let columns = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let mut field = suggest(h);
            // Only the first column that looks like a field gets it (address parts all do).
            if !matches!(field, ImportField::Ignore | ImportField::Address) && !used.insert(field) {
                field = ImportField::Ignore;
            }
            ColumnMap { column: i as u32, field }
        })
        .collect();
    Mapping { columns, date_format: None }
}

/// A mapping must name each field once, stay within the file's columns, and give a name.
fn check_mapping(mapping: &Mapping, columns: usize) -> Result<()> {
    let mut seen = HashSet::new();
    for c in &mapping.columns {
        if c.column as usize >= columns {
            return Err(Error::validation(
                "mapping",
                ValidationReason::Invalid,
                format!("the file has no column {}", c.column + 1),
            ));
        }
        let repeatable = matches!(c.field, ImportField::Ignore | ImportField::Address);
        if !repeatable && !seen.insert(c.field) {
            return Err(Error::validation(
                "mapping",
                ValidationReason::Invalid,
                format!("{:?} is mapped to two columns", c.field),
            ));
        }
    }
    if !seen.contains(&ImportField::GivenName) && !seen.contains(&ImportField::FullName) {
        return Err(Error::validation(
            "mapping",
            ValidationReason::Required,
            "choose the column that holds the name (full name or given name)",
        ));
    }
    if seen.contains(&ImportField::FullName)
        && (seen.contains(&ImportField::GivenName) || seen.contains(&ImportField::FamilyName))
    {
        return Err(Error::validation(
            "mapping",
            ValidationReason::Invalid,
            "map either a full name or given/family names, not both",
        ));
    }
    Ok(())
}

// ------------------------------------------------------------------------------ one row

/// A formula guard an export added (`'=…`) is taken off again.
fn cell(raw: &str) -> &str {
    let t = raw.trim();
    match t.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest,
        _ => t,
    }
}

fn parse_sex(raw: &str) -> Option<&'static str> {
    match raw.trim().to_lowercase().as_str() {
        "" | "u" | "unknown" | "-" => Some("unknown"),
        "f" | "female" | "woman" | "w" => Some("female"),
        "m" | "male" | "man" => Some("male"),
        "o" | "other" | "x" => Some("other"),
        _ => None,
    }
}

const ISO: [&str; 2] = ["%Y-%m-%d", "%Y/%m/%d"];
// %B reads full and abbreviated month names, in any case.
const NAMED: [&str; 4] = ["%d-%B-%Y", "%d %B %Y", "%d/%B/%Y", "%d.%B.%Y"];
const DAY_FIRST: [&str; 3] = ["%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"];
const MONTH_FIRST: [&str; 3] = ["%m/%d/%Y", "%m-%d-%Y", "%m.%d.%Y"];

/// A date read the given way.
fn parse_date(raw: &str, format: DateFormat) -> Option<NaiveDate> {
    let raw = raw.trim();
    let try_all = |formats: &[&str]| formats.iter().find_map(|f| NaiveDate::parse_from_str(raw, f).ok());
    let numeric = numeric_parts(raw).is_some();
    match format {
        DateFormat::YearMonthDay => try_all(&ISO),
        DateFormat::DayMonthName => try_all(&NAMED),
        DateFormat::DayMonthYear if numeric => try_all(&DAY_FIRST),
        DateFormat::MonthDayYear if numeric => try_all(&MONTH_FIRST),
        DateFormat::DayMonthYear | DateFormat::MonthDayYear => try_all(&ISO).or_else(|| try_all(&NAMED)),
    }
}

/// The first two parts of a numeric date with the year last (05/02/2009, 5-2-2009, 05.02.2009).
fn numeric_parts(raw: &str) -> Option<(u32, u32)> {
    let parts: Vec<&str> = raw.split(['/', '-', '.']).collect();
    match parts.as_slice() {
        [a, b, y] if a.len() <= 2 && b.len() <= 2 && y.len() == 4 => {
            let num = |p: &str| if p.chars().all(|c| c.is_ascii_digit()) { p.parse::<u32>().ok() } else { None };
            Some((num(a)?, num(b)?)).filter(|_| num(y).is_some())
        }
        _ => None,
    }
}

/// Works out a date column's reading from its values. A first part above 12 is a day, a
/// second part above 12 is a day: one-sided evidence settles the order, none or both leave it
/// to the user. Columns with no numeric dates take the reading that reads most of them.
pub fn detect_dates(values: &[&str]) -> (Option<DateFormat>, Vec<DateFormat>) {
    let values: Vec<&str> = values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()).collect();
    let numeric: Vec<(u32, u32)> = values.iter().filter_map(|v| numeric_parts(v)).collect();
    if !numeric.is_empty() {
        let day_first = numeric.iter().any(|&(a, b)| (13..=31).contains(&a) && b <= 12);
        let month_first = numeric.iter().any(|&(a, b)| (13..=31).contains(&b) && a <= 12);
        return match (day_first, month_first) {
            (true, false) => (Some(DateFormat::DayMonthYear), vec![DateFormat::DayMonthYear]),
            (false, true) => (Some(DateFormat::MonthDayYear), vec![DateFormat::MonthDayYear]),
            _ => (None, vec![DateFormat::DayMonthYear, DateFormat::MonthDayYear]),
        };
    }
    let reads = |f: DateFormat| values.iter().filter(|v| parse_date(v, f).is_some()).count();
    // Without numeric dates both orders read the same; name the narrowest reading that reads most.
    let order = [DateFormat::YearMonthDay, DateFormat::DayMonthName, DateFormat::DayMonthYear];
    let most = order.iter().map(|f| reads(*f)).max().unwrap_or(0);
    let best = order.into_iter().find(|f| reads(*f) == most).unwrap_or(DateFormat::YearMonthDay);
    (Some(best), vec![best])
}

/// Up to `EXAMPLES` values of a date column, those that settle the order first.
fn date_examples(values: &[&str]) -> Vec<DateExample> {
    let mut picked: Vec<&str> = Vec::new();
    let settles = |v: &&&str| numeric_parts(v.trim()).is_some_and(|(a, b)| a > 12 || b > 12);
    for v in values.iter().filter(settles).chain(values.iter()) {
        let v = v.trim();
        if !v.is_empty() && !picked.contains(&v) && picked.len() < DATE_EXAMPLES {
            picked.push(v);
        }
    }
    picked
        .into_iter()
        .map(|raw| DateExample {
            raw: raw.to_string(),
            read: DATE_FORMATS
                .iter()
                .map(|f| DateRead { format: *f, date: parse_date(raw, *f).map(|d| d.format("%Y-%m-%d").to_string()) })
                .collect(),
        })
        .collect()
}

const DATE_EXAMPLES: usize = 5;

/// The birth-date column's reading for a mapping, if one is mapped.
fn date_column(table: &Table, mapping: &Mapping) -> Option<DateColumn> {
    let column = mapping.columns.iter().find(|c| c.field == ImportField::BirthDate)?.column;
    let values: Vec<&str> =
        table.rows.iter().filter_map(|(_, cells)| cells.get(column as usize)).map(|c| cell(c)).collect();
    let (detected, possible) = detect_dates(&values);
    Some(DateColumn {
        column,
        header: table.headers.get(column as usize).cloned().unwrap_or_default(),
        detected,
        possible,
        formats: DATE_FORMATS.to_vec(),
        format: mapping.date_format.or(detected),
        examples: date_examples(&values),
    })
}

fn date_format_name(f: DateFormat) -> &'static str {
    match f {
        DateFormat::DayMonthYear => "DD/MM/YYYY",
        DateFormat::MonthDayYear => "MM/DD/YYYY",
        DateFormat::YearMonthDay => "YYYY-MM-DD",
        DateFormat::DayMonthName => "DD-Mon-YYYY",
    }
}

fn split_full_name(full: &str, input: &mut PatientInput) {
    let words: Vec<&str> = full.split_whitespace().collect();
    match words.as_slice() {
        [] => {}
        [one] => input.given_name = (*one).to_string(),
        [first, middle @ .., last] => {
            input.given_name = (*first).to_string();
            input.other_names = middle.join(" ");
            input.family_name = (*last).to_string();
        }
    }
}

/// Builds and checks one row; an error names the row, the column and the reason.
fn clean_row(
    headers: &[String],
    mapping: &Mapping,
    line: u32,
    cells: &[String],
    today: NaiveDate,
    date_format: DateFormat,
) -> std::result::Result<Clean, RejectedRow> {
    let reject = |field: &str, column: Option<u32>, reason, message: String| RejectedRow {
        row: line,
        column: column.and_then(|c| headers.get(c as usize).cloned()),
        field: field.to_string(),
        reason,
        message,
    };
    let mut input = PatientInput { sex: "unknown".into(), ..Default::default() };
    let mut legacy = String::new();
    let mut phones: Vec<(u32, String)> = Vec::new();
    let mut column_of = std::collections::HashMap::new();
    for m in &mapping.columns {
        let v = cells.get(m.column as usize).map_or("", |c| cell(c)).to_string();
        column_of.insert(m.field, m.column);
        use ImportField::*;
        match m.field {
            GivenName => input.given_name = v,
            FamilyName => input.family_name = v,
            OtherNames => input.other_names = v,
            FullName => split_full_name(&v, &mut input),
            Sex => match parse_sex(&v) {
                Some(s) => input.sex = s.into(),
                None => {
                    return Err(reject(
                        "sex",
                        Some(m.column),
                        ValidationReason::Invalid,
                        format!("\"{v}\" is not M, F, male, female or other"),
                    ))
                }
            },
            BirthDate if v.is_empty() => {}
            BirthDate => match parse_date(&v, date_format) {
                Some(d) => input.birth_date = Some(d.format("%Y-%m-%d").to_string()),
                None => {
                    return Err(reject(
                        "birth_date",
                        Some(m.column),
                        ValidationReason::Invalid,
                        format!("\"{v}\" is not a date read as {}", date_format_name(date_format)),
                    ))
                }
            },
            AgeYears if v.is_empty() => {}
            AgeYears => match v.parse::<u32>() {
                Ok(a) => input.age_years = Some(a),
                Err(_) => {
                    return Err(reject(
                        "age_years",
                        Some(m.column),
                        ValidationReason::Invalid,
                        format!("\"{v}\" is not an age in whole years"),
                    ))
                }
            },
            Phone | Phone2 if v.is_empty() => {}
            Phone | Phone2 => phones.push((m.column, v)),
            // Address lines, street, city, PIN...: several columns make one address.
            Address if v.is_empty() => {}
            Address if input.address.is_empty() => input.address = v,
            Address => input.address = format!("{}, {v}", input.address),
            City => input.city = v,
            District => input.district = v,
            NationalId => input.national_id = v,
            InsuranceId => input.insurance_id = v,
            EmergencyName => input.emergency_name = v,
            EmergencyPhone => input.emergency_phone = v,
            EmergencyRelation => input.emergency_relation = v,
            BloodGroup => input.blood_group = v,
            Allergies => {
                input.allergies =
                    v.split([';', ',']).map(str::trim).filter(|a| !a.is_empty()).map(String::from).collect()
            }
            Notes => input.notes = v,
            LegacyMrn => legacy = v,
            Ignore => {}
        }
    }
    input.phones = phones.iter().map(|(_, p)| p.clone()).collect();
    if legacy.chars().count() > 40 {
        return Err(reject(
            "legacy_mrn",
            column_of.get(&ImportField::LegacyMrn).copied(),
            ValidationReason::TooLong,
            "at most 40 characters".into(),
        ));
    }
    match validate::clean(&input, today) {
        Ok(mut clean) => {
            clean.legacy_mrn = legacy;
            Ok(clean)
        }
        Err(Error::Validation { field, reason, message }) => {
            // Point at the CSV column the field came from.
            let column = match field.strip_prefix("phones.") {
                Some(i) => i.parse::<usize>().ok().and_then(|i| phones.get(i)).map(|(c, _)| *c),
                None => field_column(&field, &column_of),
            };
            Err(reject(&field, column, reason, message))
        }
        Err(other) => Err(reject("row", None, ValidationReason::Invalid, other.to_string())),
    }
}

fn field_column(field: &str, column_of: &std::collections::HashMap<ImportField, u32>) -> Option<u32> {
    use ImportField::*;
    let candidates: &[ImportField] = match field {
        "given_name" => &[GivenName, FullName],
        "family_name" => &[FamilyName, FullName],
        "other_names" => &[OtherNames, FullName],
        "sex" => &[Sex],
        "birth_date" => &[BirthDate],
        "age_years" => &[AgeYears],
        "address" => &[Address],
        "city" => &[City],
        "district" => &[District],
        "national_id" => &[NationalId],
        "insurance_id" => &[InsuranceId],
        "emergency_name" => &[EmergencyName],
        "emergency_phone" => &[EmergencyPhone],
        "emergency_relation" => &[EmergencyRelation],
        "blood_group" => &[BloodGroup],
        "allergies" => &[Allergies],
        "notes" => &[Notes],
        _ => &[],
    };
    candidates.iter().find_map(|f| column_of.get(f).copied())
}

// ------------------------------------------------------------------------------ preview and import

/// Rows checked: the valid ones ready to store, the rejected ones with reasons (file order).
struct Checked {
    valid: Vec<Clean>,
    rejected: Vec<RejectedRow>,
}

/// Every row of the file checked at once (the preview).
async fn check_all(store: &Store, table: &Table, mapping: &Mapping, dates: DateFormat) -> Result<Checked> {
    let today = crate::clinic::today(store).await?;
    let cleaned = clean_rows(&table.headers, &table.rows, mapping, today, dates);
    let taken = legacy_taken(store.pool(), &old_numbers(&cleaned)).await?;
    Ok(OldNumbers::new(&table.headers, mapping).sort(cleaned, &taken))
}

/// The old numbers of the rows that passed their own checks.
fn old_numbers(cleaned: &[(u32, std::result::Result<Clean, RejectedRow>)]) -> Vec<&str> {
    cleaned
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .map(|c| c.legacy_mrn.as_str())
        .filter(|l| !l.is_empty())
        .collect()
}

/// The checks that compare a row's old number with the rows before it in the file and with
/// HMS. Fed the rows in file order, in one run or several.
struct OldNumbers {
    header: Option<String>,
    seen: HashSet<String>,
}

impl OldNumbers {
    fn new(headers: &[String], mapping: &Mapping) -> OldNumbers {
        let column = mapping.columns.iter().find(|c| c.field == ImportField::LegacyMrn).map(|c| c.column);
        OldNumbers { header: column.and_then(|c| headers.get(c as usize).cloned()), seen: HashSet::new() }
    }

    /// Sorts the next run of rows, each checked on its own (`clean_rows`), into valid and
    /// rejected; `taken`: which of their old numbers HMS already has (`legacy_taken`).
    fn sort(
        &mut self,
        cleaned: Vec<(u32, std::result::Result<Clean, RejectedRow>)>,
        taken: &HashSet<String>,
    ) -> Checked {
        let mut valid = Vec::new();
        let mut rejected = Vec::new();
        for (line, row) in cleaned {
            match row {
                Err(r) => rejected.push(r),
                Ok(c) if c.legacy_mrn.is_empty() => valid.push(c),
                Ok(c) => {
                    let duplicate = !self.seen.insert(c.legacy_mrn.to_uppercase());
                    if duplicate || taken.contains(&c.legacy_mrn) {
                        let message = if duplicate {
                            "this old number is repeated in the file"
                        } else {
                            "a patient with this old number is already in HMS"
                        };
                        rejected.push(RejectedRow {
                            row: line,
                            column: self.header.clone(),
                            field: "legacy_mrn".into(),
                            reason: ValidationReason::Taken,
                            message: format!("{}: {}", c.legacy_mrn, message),
                        });
                    } else {
                        valid.push(c);
                    }
                }
            }
        }
        Checked { valid, rejected }
    }
}

/// Rows a thread checks at least: below that, a second thread costs more than it saves.
const ROWS_PER_THREAD: usize = 5_000;

/// Every row built and checked (`clean_row`), in file order. Many rows are checked on as
/// many threads as the machine has cores, each a run of consecutive rows: a row's checks
/// depend on that row alone (the old numbers are compared across rows afterwards).
fn clean_rows(
    headers: &[String],
    rows: &[(u32, Vec<String>)],
    mapping: &Mapping,
    today: NaiveDate,
    dates: DateFormat,
) -> Vec<(u32, std::result::Result<Clean, RejectedRow>)> {
    let check = |rows: &[(u32, Vec<String>)]| -> Vec<_> {
        rows.iter().map(|(line, cells)| (*line, clean_row(headers, mapping, *line, cells, today, dates))).collect()
    };
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = cores.min(rows.len() / ROWS_PER_THREAD).max(1);
    if threads == 1 {
        return check(rows);
    }
    let per_thread = rows.len().div_ceil(threads);
    std::thread::scope(|s| {
        let parts: Vec<_> = rows.chunks(per_thread).map(|rows| s.spawn(move || check(rows))).collect();
        let mut all = Vec::with_capacity(rows.len());
        for part in parts {
            // A panic in a check is a bug: let it surface as it would on this thread.
            all.extend(part.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        all
    })
}

/// Which of these old numbers HMS already has, asked 500 at a time (one query per 500
/// rows, not one per row). `legacy_mrn <> ''` lets SQLite use the partial unique index.
async fn legacy_taken(pool: &SqlitePool, wanted: &[&str]) -> Result<HashSet<String>> {
    let mut taken = HashSet::new();
    for chunk in wanted.chunks(500) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "SELECT legacy_mrn FROM patients WHERE legacy_mrn <> '' AND deleted_at IS NULL AND legacy_mrn IN (",
        );
        let mut list = q.separated(", ");
        for l in chunk {
            list.push_bind(*l);
        }
        q.push(")");
        taken.extend(q.build_query_scalar::<String>().fetch_all(pool).await?);
    }
    Ok(taken)
}

/// Reads the file and says what an import would do, writing nothing. Without a mapping,
/// one is suggested from the header names.
pub async fn preview(store: &Store, auth: &Authorized, data: &[u8], mapping: Option<Mapping>) -> Result<ImportPreview> {
    auth.require(Permission::PatientsImport)?;
    let table = read_table(data)?;
    let mapping = mapping.unwrap_or_else(|| suggested_mapping(&table.headers));
    // The mapping keeps only the user's choice: a reading the values settle is worked out
    // again from the values, so a remapped date column is never read the old column's way.
    let dates = date_column(&table, &mapping);
    // Until the user chooses, the rows are checked under the first reading the values fit.
    let reading = dates.as_ref().and_then(|d| d.format.or(d.possible.first().copied()));
    let sample = table
        .rows
        .iter()
        .take(SAMPLE_ROWS)
        .map(|(row, values)| PreviewRow { row: *row, values: values.clone() })
        .collect();
    // With no name column yet, show the file and let the user map it.
    let (valid_rows, rejected) = match check_mapping(&mapping, table.headers.len()) {
        Ok(()) => {
            let checked = check_all(store, &table, &mapping, reading.unwrap_or(DateFormat::DayMonthYear)).await?;
            (checked.valid.len() as u32, checked.rejected)
        }
        Err(Error::Validation { field, reason, message })
            if field == "mapping" && reason == ValidationReason::Required =>
        {
            (0, vec![RejectedRow { row: 1, column: None, field, reason, message }])
        }
        Err(e) => return Err(e),
    };
    Ok(ImportPreview {
        headers: table.headers,
        mapping,
        sample,
        total_rows: table.rows.len() as u32,
        valid_rows,
        rejected_count: rejected.len() as u32,
        rejected: rejected.into_iter().take(PREVIEW_REJECTED).collect(),
        dates,
    })
}

/// Imports the valid rows in one write, batch by batch, calling `progress` after each batch
/// (written, saved when the last one is); rejected rows are reported, none is half-saved.
///
/// The rows are checked run by run on other threads while the runs before are written
/// (`spawn_checker`); the batches, their audit entries, the rejected rows and the progress
/// reported are those of checking the whole file first.
pub async fn import(
    store: &Store,
    auth: &Authorized,
    data: &[u8],
    mapping: Mapping,
    progress: impl Fn(ImportProgress),
) -> Result<ImportReport> {
    auth.require(Permission::PatientsImport)?;
    let table = read_table(data)?;
    check_mapping(&mapping, table.headers.len())?;
    let dates = date_column(&table, &mapping);
    let reading = match &dates {
        None => DateFormat::DayMonthYear, // no birth-date column: nothing is read as a date
        Some(d) => d.format.ok_or_else(|| {
            Error::validation(
                "date_format",
                ValidationReason::Required,
                format!(
                    "the dates in column \"{}\" could be day first or month first; choose how to read them",
                    d.header
                ),
            )
        })?,
    };
    let today = crate::clinic::today(store).await?;
    let mut checked = spawn_checker(Arc::new(table), mapping, today, reading, store.pool().clone());
    let mut progress = Progress::new(progress);
    let mut mrns: Vec<String> = Vec::new();
    let mut rejected = Vec::new();
    // Valid rows checked and not written yet: a batch is `BATCH` of them, whatever the runs.
    let mut waiting: Vec<Clean> = Vec::new();
    // One write for the whole file: the import lands whole or not at all.
    let mut load = bulk::Load::begin(store, auth, "csv_import").await?;
    loop {
        match checked.recv().await {
            Some(Ok(CheckedRows::Run(run))) => {
                waiting.extend(run.valid);
                rejected.extend(run.rejected);
                while waiting.len() >= BATCH {
                    let batch: Vec<Clean> = waiting.drain(..BATCH).collect();
                    mrns.extend(load.add(batch).await?);
                    progress.done(mrns.len() as u32);
                }
            }
            Some(Ok(CheckedRows::All { valid })) => {
                progress.total(valid);
                break;
            }
            Some(Err(e)) => return Err(e),
            None => return Err(Error::internal("the import's row check stopped before the last row")),
        }
    }
    if !waiting.is_empty() {
        mrns.extend(load.add(waiting).await?);
        progress.done(mrns.len() as u32);
    }
    load.commit().await?;
    store.end_bulk_load().await?;
    Ok(ImportReport {
        imported: mrns.len() as u32,
        rejected,
        first_mrn: mrns.first().cloned(),
        last_mrn: mrns.last().cloned(),
    })
}

/// What the checker hands the import, in file order.
enum CheckedRows {
    /// The next `BATCH` rows of the file (fewer at its end), checked.
    Run(Checked),
    /// Every row is checked; this many are valid.
    All { valid: u32 },
}

/// Checks the file's rows on other threads, `BATCH` rows of the file at a time (each run on
/// every core, `clean_rows`), and hands each run over checked, old numbers too, as soon as
/// it is: the import writes one run while the next ones are checked, instead of waiting for
/// the whole file. Runs the check ahead of the writer (the channel is unbounded: at most
/// the file's rows, which checking the whole file first held too). Stops when the import
/// stops listening.
fn spawn_checker(
    table: Arc<Table>,
    mapping: Mapping,
    today: NaiveDate,
    dates: DateFormat,
    pool: SqlitePool,
) -> mpsc::UnboundedReceiver<Result<CheckedRows>> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut old = OldNumbers::new(&table.headers, &mapping);
        let mapping = Arc::new(mapping);
        let mut valid = 0u32;
        for start in (0..table.rows.len()).step_by(BATCH) {
            let (rows, map) = (table.clone(), mapping.clone());
            let cleaned = tokio::task::spawn_blocking(move || {
                let end = (start + BATCH).min(rows.rows.len());
                clean_rows(&rows.headers, &rows.rows[start..end], &map, today, dates)
            })
            .await
            // A check that panicked is a bug (its message is on stderr): the import fails.
            .map_err(|e| Error::internal(format_args!("the import's row check failed: {e}")));
            let run = match cleaned {
                Ok(cleaned) => legacy_taken(&pool, &old_numbers(&cleaned)).await.map(|taken| old.sort(cleaned, &taken)),
                Err(e) => Err(e),
            };
            let run = match run {
                Ok(run) => run,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            valid += run.valid.len() as u32;
            if tx.send(Ok(CheckedRows::Run(run))).is_err() {
                return; // the import stopped
            }
        }
        let _ = tx.send(Ok(CheckedRows::All { valid }));
    });
    rx
}

/// The import's progress as checking the whole file first reported it: "0 of the valid
/// rows" first, then after each batch. Batches written before the checker has counted the
/// valid rows are reported once it has.
struct Progress<F> {
    report: F,
    total: Option<u32>,
    early: Vec<u32>,
}

impl<F: Fn(ImportProgress)> Progress<F> {
    fn new(report: F) -> Self {
        Progress { report, total: None, early: Vec::new() }
    }

    fn total(&mut self, total: u32) {
        self.total = Some(total);
        (self.report)(ImportProgress { done: 0, total });
        for done in std::mem::take(&mut self.early) {
            (self.report)(ImportProgress { done, total });
        }
    }

    fn done(&mut self, done: u32) {
        match self.total {
            Some(total) => (self.report)(ImportProgress { done, total }),
            None => self.early.push(done),
        }
    }
}

// ------------------------------------------------------------------------------ export

/// The export's columns: names the import recognises, so an export imports elsewhere.
const EXPORT_HEADERS: [&str; 20] = [
    "MRN",
    "First name",
    "Other names",
    "Surname",
    "Sex",
    "DOB",
    "Age",
    "Phone",
    "Phone 2",
    "Address",
    "City",
    "District",
    "National id",
    "Insurance",
    "Emergency contact",
    "Emergency phone",
    "Relation",
    "Blood group",
    "Allergies",
    "Notes",
];

/// A spreadsheet would run a cell that starts with = + - @ as a formula; prefix it with '.
fn guard(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

fn export_row(p: &super::Patient, today: NaiveDate) -> Vec<String> {
    let phone = |i: usize| p.phones.get(i).cloned().unwrap_or_default();
    // An estimated date of birth is exported as the age it stands for, so it stays estimated.
    let (dob, age) = match (&p.birth_date, p.birth_date_estimated) {
        // Import turns an age into 1 July of (this year - age): export the same difference.
        (Some(d), true) => (
            String::new(),
            d.get(..4).and_then(|y| y.parse::<i32>().ok()).map(|y| (today.year() - y).to_string()).unwrap_or_default(),
        ),
        (Some(d), false) => (d.clone(), String::new()),
        (None, _) => (String::new(), String::new()),
    };
    vec![
        p.mrn.clone(),
        p.given_name.clone(),
        p.other_names.clone(),
        p.family_name.clone(),
        p.sex.code().into(),
        dob,
        age,
        phone(0),
        phone(1),
        p.address.clone(),
        p.city.clone(),
        p.district.clone(),
        p.national_id.clone(),
        p.insurance_id.clone(),
        p.emergency_name.clone(),
        p.emergency_phone.clone(),
        p.emergency_relation.clone(),
        p.blood_group.clone(),
        p.allergies.join("; "),
        p.notes.clone(),
    ]
}

/// Everyone (not merged), or the patients a search finds, as CSV. Audited.
pub async fn export(store: &Store, auth: &Authorized, query: Option<&str>) -> Result<Vec<u8>> {
    auth.require(Permission::PatientsExport)?;
    let mut out = csv::Writer::from_writer(Vec::new());
    let write_err = |e: csv::Error| Error::internal(format!("csv: {e}"));
    out.write_record(EXPORT_HEADERS).map_err(write_err)?;
    let mut count = 0u64;
    let today = crate::clinic::today(store).await?;
    match query {
        Some(q) => {
            for hit in search::search(store.pool(), q, 1000, today).await? {
                if let Some((_, p)) = repo::by_id(store.pool(), &hit.id).await? {
                    out.write_record(export_row(&p, today).iter().map(|s| guard(s))).map_err(write_err)?;
                    count += 1;
                }
            }
        }
        None => {
            // Page through by pk so a large register never sits in memory twice.
            let mut after = 0i64;
            loop {
                let sql = format!("SELECT {} FROM patients WHERE pk > ? AND status <> 'merged' AND deleted_at IS NULL ORDER BY pk LIMIT 2000", repo::COLUMNS);
                let rows = sqlx::query(&sql).bind(after).fetch_all(store.pool()).await?;
                if rows.is_empty() {
                    break;
                }
                for row in &rows {
                    let (pk, p) = repo::from_row(row)?;
                    after = pk;
                    out.write_record(export_row(&p, today).iter().map(|s| guard(s))).map_err(write_err)?;
                    count += 1;
                }
            }
        }
    }
    let bytes = out.into_inner().map_err(|e| Error::internal(format!("csv: {e}")))?;
    let mut w = store.begin_write(auth.actor()).await?;
    w.audit("patient.export", "patient", None, json!({ "query": query, "count": count })).await?;
    w.commit().await?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file large enough to be checked on several threads gives the rows, and the reasons
    /// of the rejected ones, in file order, as one thread checking them all does.
    #[test]
    fn a_large_file_is_checked_in_file_order() {
        let mut data = String::from("File No,Patient Name,Gender,DOB,Mobile\n");
        for i in 0..(3 * ROWS_PER_THREAD) {
            let (sex, dob) = match i % 997 {
                5 => ("Q", "01/02/1990"),
                9 => ("F", "31/02/1990"),
                _ => (if i % 2 == 0 { "F" } else { "M" }, "13/02/1990"),
            };
            data.push_str(&format!("F-{i},Name{i} Family,{sex},{dob},98{:08}\n", i));
        }
        let table = read_table(data.as_bytes()).unwrap();
        let mapping = suggested_mapping(&table.headers);
        let today = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        let dates = DateFormat::DayMonthYear;
        let all = clean_rows(&table.headers, &table.rows, &mapping, today, dates);
        let one: Vec<_> = table
            .rows
            .iter()
            .map(|(line, cells)| (*line, clean_row(&table.headers, &mapping, *line, cells, today, dates)))
            .collect();
        assert_eq!(all, one);
        assert_eq!(all.len(), 3 * ROWS_PER_THREAD);
        let rejected: Vec<(u32, String)> =
            all.iter().filter_map(|(line, r)| r.as_ref().err().map(|e| (*line, e.field.clone()))).collect();
        let expected: Vec<(u32, String)> = (0..3 * ROWS_PER_THREAD)
            .filter_map(|i| match i % 997 {
                5 => Some((i as u32 + 2, "sex".to_string())),
                9 => Some((i as u32 + 2, "birth_date".to_string())),
                _ => None,
            })
            .collect();
        assert_eq!(rejected, expected);
        assert_eq!(all[ROWS_PER_THREAD * 2].1.as_ref().unwrap().given_name, format!("Name{}", ROWS_PER_THREAD * 2));
    }

    #[test]
    fn headers_suggest_fields() {
        assert_eq!(suggest("Full Name"), ImportField::FullName);
        assert_eq!(suggest("D.O.B."), ImportField::BirthDate);
        assert_eq!(suggest("Mobile No"), ImportField::Phone);
        assert_eq!(suggest("Aadhaar"), ImportField::NationalId);
        assert_eq!(suggest("UHID"), ImportField::LegacyMrn);
        assert_eq!(suggest("Chart No"), ImportField::LegacyMrn);
        assert_eq!(suggest("Home Phone"), ImportField::Phone);
        assert_eq!(suggest("Cell"), ImportField::Phone);
        assert_eq!(suggest("Work phone"), ImportField::Phone2);
        assert_eq!(suggest("SSN"), ImportField::NationalId);
        for h in ["Street", "ZIP", "PIN code", "Village", "State", "Address Line 2"] {
            assert_eq!(suggest(h), ImportField::Address, "{h}");
        }
        assert_eq!(suggest("City"), ImportField::City);
        assert_eq!(suggest("Town"), ImportField::City);
        assert_eq!(suggest("District"), ImportField::District);
        assert_eq!(suggest("Favourite colour"), ImportField::Ignore);
    }

    #[test]
    fn dates_are_read_the_chosen_way() {
        use DateFormat::*;
        let d = NaiveDate::from_ymd_opt(1984, 3, 5);
        assert_eq!(parse_date("1984-03-05", DayMonthYear), d);
        assert_eq!(parse_date("05/03/1984", DayMonthYear), d);
        assert_eq!(parse_date("05-03-1984", DayMonthYear), d);
        assert_eq!(parse_date("05.03.1984", DayMonthYear), d);
        assert_eq!(parse_date("03/05/1984", MonthDayYear), d);
        assert_eq!(parse_date("05-Mar-1984", DayMonthName), d);
        assert_eq!(parse_date("5 march 1984", MonthDayYear), d);
        assert_eq!(parse_date("05/03/1984", YearMonthDay), None);
        assert_eq!(parse_date("31/02/1984", DayMonthYear), None);
        assert_eq!(parse_date("25/02/1984", MonthDayYear), None);
    }

    #[test]
    fn a_part_above_twelve_settles_the_order() {
        use DateFormat::*;
        assert_eq!(detect_dates(&["05/02/2009", "25/12/1990"]).0, Some(DayMonthYear));
        assert_eq!(detect_dates(&["05/02/2009", "12/25/1990"]).0, Some(MonthDayYear));
        assert_eq!(detect_dates(&["05/02/2009", "01/12/1990", ""]), (None, vec![DayMonthYear, MonthDayYear]));
        assert_eq!(detect_dates(&["25/02/2009", "12/25/1990"]).0, None, "both ways: the user chooses");
        assert_eq!(detect_dates(&["2009-02-05", "1990-12-25"]).0, Some(YearMonthDay));
        assert_eq!(detect_dates(&["05-Feb-2009"]).0, Some(DayMonthName));
    }

    #[test]
    fn formula_guard_round_trips() {
        assert_eq!(guard("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(cell(&guard("+919845012345")), "+919845012345");
        assert_eq!(cell("'quoted"), "'quoted");
    }

    #[test]
    fn semicolon_files_are_read() {
        assert_eq!(sniff_delimiter("Name;Phone;DOB\nA;1;2"), b';');
        assert_eq!(sniff_delimiter("Name,Phone\n"), b',');
    }
}
