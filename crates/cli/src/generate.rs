//! The synthetic-data generator: a realistic hospital from a seed, so runs are repeatable.
//! Patients get plausible Indian and international names (some with accents), phones, dates
//! of birth and addresses. Later areas add their records here.

use hms_core::patients::bulk;
use hms_core::patients::validate::{self, Clean};
use hms_core::patients::PatientInput;
use hms_core::{Authorized, Store};
use std::time::Instant;

const GIVEN_F: &[&str] = &[
    "Aarti", "Ananya", "Anita", "Deepa", "Divya", "Fatima", "Gita", "Kavya", "Lakshmi", "Meena", "Neha", "Pooja",
    "Priya", "Radha", "Sara", "Shreya", "Sunita", "Zoë", "María", "Amélie", "Chloé", "Ingrid", "Aisha", "Mei", "Olga",
    "Grace", "Mary", "Leila", "Noor", "Renée",
];
const GIVEN_M: &[&str] = &[
    "Aarav", "Amit", "Arjun", "Deepak", "Ganesh", "Imran", "Karan", "Manoj", "Mohammed", "Rahul", "Rajesh", "Ravi",
    "Rohan", "Sanjay", "Suresh", "Vikram", "Vijay", "José", "Jürgen", "François", "Ahmed", "Chen", "David", "John",
    "Kwame", "Luca", "Omar", "Pedro", "Søren", "Yusuf",
];
const MIDDLE: &[&str] = &["Kumar", "Devi", "Prasad", "Bai", "Lal", "Rani", "Singh", "Nath", "Maria", "Ali"];
const FAMILY: &[&str] = &[
    "Sharma", "Verma", "Gupta", "Iyer", "Menon", "Nair", "Reddy", "Rao", "Patel", "Shah", "Khan", "Singh", "Das",
    "Banerjee", "Chatterjee", "Mukherjee", "Pillai", "Joshi", "Kulkarni", "Desai", "Thomas", "George", "D'Souza",
    "Fernandes", "Núñez", "Müller", "García", "Dubois", "Okafor", "Mensah", "Wang", "Li", "Kim", "Smith", "Brown",
    "Hussain", "Siddiqui", "Qureshi", "Bose", "Ghosh",
];
const CITIES: &[&str] = &[
    "Bengaluru", "Mysuru", "Chennai", "Pune", "Mumbai", "Kochi", "Hyderabad", "Kolkata", "Jaipur", "Lucknow", "Delhi",
    "Ahmedabad", "Nagpur", "Indore", "Bhopal",
];
const STREETS: &[&str] = &["MG Road", "Station Road", "Temple Street", "Gandhi Nagar", "Nehru Colony", "Park Lane", "Lake View"];
const ALLERGIES: &[&str] = &["Penicillin", "Sulfa drugs", "Peanuts", "Latex", "Aspirin", "Iodine contrast"];
const BLOOD: &[&str] = &["A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"];

pub struct Generator {
    rng: fastrand::Rng,
}

impl Generator {
    pub fn new(seed: u64) -> Self {
        Generator { rng: fastrand::Rng::with_seed(seed) }
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.rng.usize(..list.len())]
    }

    pub fn patient(&mut self, today: chrono::NaiveDate) -> PatientInput {
        let female = self.rng.bool();
        let given = if female { self.pick(GIVEN_F) } else { self.pick(GIVEN_M) };
        let other = if self.rng.u8(..100) < 30 { self.pick(MIDDLE) } else { "" };
        let age_days = self.rng.i64(0..95 * 365);
        let estimated = self.rng.u8(..100) < 5;
        let phone = format!("{}{:09}", self.pick(&["9", "8", "7", "6"]), self.rng.u64(..1_000_000_000));
        let allergies = if self.rng.u8(..100) < 8 { vec![self.pick(ALLERGIES).to_string()] } else { vec![] };
        PatientInput {
            given_name: given.into(),
            family_name: self.pick(FAMILY).into(),
            other_names: other.into(),
            sex: if female { "female" } else { "male" }.into(),
            birth_date: (!estimated).then(|| (today - chrono::Duration::days(age_days)).format("%Y-%m-%d").to_string()),
            age_years: estimated.then_some((age_days / 365) as u32),
            phones: vec![phone],
            address: format!("{} {}, {}", self.rng.u16(1..400), self.pick(STREETS), self.pick(CITIES)),
            national_id: if self.rng.u8(..100) < 40 { format!("{:012}", self.rng.u64(..1_000_000_000_000)) } else { String::new() },
            blood_group: if self.rng.bool() { self.pick(BLOOD).into() } else { String::new() },
            allergies,
            ..Default::default()
        }
    }
}

/// Registers `n` generated patients in batches; returns patients per second.
pub async fn patients(store: &Store, auth: &Authorized, n: u64, seed: u64) -> Result<f64, String> {
    const BATCH: u64 = 5_000;
    let today = store.now().date_naive();
    let mut g = Generator::new(seed);
    let start = Instant::now();
    let mut done = 0;
    while done < n {
        let size = BATCH.min(n - done);
        let mut batch: Vec<Clean> = Vec::with_capacity(size as usize);
        for _ in 0..size {
            batch.push(validate::clean(&g.patient(today), today).map_err(|e| format!("generator made a bad record: {e}"))?);
        }
        bulk::register_batch(store, auth, batch, "generator").await.map_err(|e| e.to_string())?;
        done += size;
        if done % 100_000 == 0 || done == n {
            eprintln!("generate: {done}/{n} patients ({:.0}/s)", done as f64 / start.elapsed().as_secs_f64());
        }
    }
    let t = Instant::now();
    store.compact_search_indexes().await.map_err(|e| e.to_string())?;
    eprintln!("generate: search indexes compacted in {:.1} s", t.elapsed().as_secs_f64());
    Ok(n as f64 / start.elapsed().as_secs_f64().max(1e-9))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_patients_and_they_are_valid() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let (mut a, mut b) = (Generator::new(7), Generator::new(7));
        for _ in 0..500 {
            let (x, y) = (a.patient(today), b.patient(today));
            assert_eq!((x.given_name.clone(), x.phones.clone(), x.birth_date.clone()), (y.given_name, y.phones, y.birth_date));
            validate::clean(&x, today).unwrap();
        }
    }
}
