//! The demo hospital's patients: a handful of realistic records to search, open and merge,
//! including a likely duplicate pair and a patient with allergies.

use super::model::PatientInput;
use super::{apply, blank, mrn, repo, validate};
use crate::error::Result;
use crate::store::WriteTx;
use chrono::NaiveDate;

type Row =
    (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str, &'static [&'static str]);

/// (given, other, family, sex, date of birth, phone, allergies)
const PATIENTS: &[Row] = &[
    ("Ravi", "Kumar", "Sharma", "male", "1980-04-02", "98450 12345", &["Penicillin"]),
    ("Ravi", "", "Sharma", "male", "1980-04-02", "98450 12345", &[]),
    ("Anita", "", "Rao", "female", "1992-11-15", "99001 23456", &[]),
    ("Mohammed", "", "Iqbal", "male", "1975-06-30", "98860 55555", &["Sulfa drugs", "Peanuts"]),
    ("Priya", "", "Nair", "female", "2019-02-11", "97400 11223", &[]),
    ("Zoë", "", "Núñez", "female", "1988-08-08", "+34 612 345 678", &[]),
    ("John", "", "Mathew", "male", "1958-01-20", "94470 98765", &["Aspirin"]),
    ("Lakshmi", "", "Iyer", "female", "1949-12-05", "98401 77889", &[]),
    ("Arjun", "", "Reddy", "male", "2001-07-14", "90000 12121", &[]),
    ("Fatima", "", "Begum", "female", "1996-03-03", "98300 45454", &["Latex"]),
    ("Wei", "", "Chen", "male", "1984-10-10", "+65 9123 4567", &[]),
    ("Sunita", "Devi", "Yadav", "female", "1970-05-25", "97711 33445", &[]),
];

/// Where each of `PATIENTS` lives (city, district): mostly the clinic's city, some nearby
/// towns, one from abroad and one who gave neither.
const PLACES: [(&str, &str); 12] = [
    ("Bengaluru", "Bengaluru Urban"),
    ("Bengaluru", "Bengaluru Urban"),
    ("Bengaluru", "Bengaluru Urban"),
    ("Hoskote", "Bengaluru Rural"),
    ("Bengaluru", "Bengaluru Urban"),
    ("Madrid", ""),
    ("Mysuru", "Mysuru"),
    ("Bengaluru", "Bengaluru Urban"),
    ("Ramanagara", "Ramanagara"),
    ("", ""),
    ("Bengaluru", "Bengaluru Urban"),
    ("Tumakuru", "Tumakuru"),
];

/// Registers the demo patients inside the demo's write; returns how many.
pub(crate) async fn insert(w: &mut WriteTx<'_>, today: NaiveDate) -> Result<usize> {
    let mrns = mrn::reserve(w, PATIENTS.len() as u64).await?;
    let mut records = Vec::with_capacity(PATIENTS.len());
    for (((given, other, family, sex, dob, phone, allergies), mrn), (city, district)) in
        PATIENTS.iter().zip(mrns).zip(PLACES.iter().chain(std::iter::repeat(&("", ""))))
    {
        let input = PatientInput {
            given_name: (*given).into(),
            other_names: (*other).into(),
            family_name: (*family).into(),
            sex: (*sex).into(),
            birth_date: Some((*dob).into()),
            phones: vec![(*phone).into()],
            allergies: allergies.iter().map(|a| (*a).to_string()).collect(),
            city: (*city).into(),
            district: (*district).into(),
            ..Default::default()
        };
        let mut p = blank(crate::ids::new_id(), mrn, w.now_rfc3339());
        apply(&mut p, validate::clean(&input, today)?);
        records.push(p);
    }
    repo::insert_many(w, &records).await?;
    Ok(records.len())
}
