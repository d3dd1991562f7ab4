//! The synthetic-data generator: a realistic hospital from a seed, so runs are repeatable.
//! Patients get plausible Indian and international names (some with accents), phones, dates
//! of birth and addresses with a city and district (most from near the clinic). Later areas
//! add their records here.

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
    "Aarav",
    "Amit",
    "Arjun",
    "Deepak",
    "Ganesh",
    "Imran",
    "Karan",
    "Manoj",
    "Mohammed",
    "Rahul",
    "Rajesh",
    "Ravi",
    "Rohan",
    "Sanjay",
    "Suresh",
    "Vikram",
    "Vijay",
    "José",
    "Jürgen",
    "François",
    "Ahmed",
    "Chen",
    "David",
    "John",
    "Kwame",
    "Luca",
    "Omar",
    "Pedro",
    "Søren",
    "Yusuf",
];
const MIDDLE: &[&str] = &["Kumar", "Devi", "Prasad", "Bai", "Lal", "Rani", "Singh", "Nath", "Maria", "Ali"];
const FAMILY: &[&str] = &[
    "Sharma",
    "Verma",
    "Gupta",
    "Iyer",
    "Menon",
    "Nair",
    "Reddy",
    "Rao",
    "Patel",
    "Shah",
    "Khan",
    "Singh",
    "Das",
    "Banerjee",
    "Chatterjee",
    "Mukherjee",
    "Pillai",
    "Joshi",
    "Kulkarni",
    "Desai",
    "Thomas",
    "George",
    "D'Souza",
    "Fernandes",
    "Núñez",
    "Müller",
    "García",
    "Dubois",
    "Okafor",
    "Mensah",
    "Wang",
    "Li",
    "Kim",
    "Smith",
    "Brown",
    "Hussain",
    "Siddiqui",
    "Qureshi",
    "Bose",
    "Ghosh",
];
const CITIES: &[&str] = &[
    "Bengaluru",
    "Mysuru",
    "Chennai",
    "Pune",
    "Mumbai",
    "Kochi",
    "Hyderabad",
    "Kolkata",
    "Jaipur",
    "Lucknow",
    "Delhi",
    "Ahmedabad",
    "Nagpur",
    "Indore",
    "Bhopal",
];
/// The district of each of `CITIES`.
const DISTRICTS: &[&str] = &[
    "Bengaluru Urban",
    "Mysuru",
    "Chennai",
    "Pune",
    "Mumbai Suburban",
    "Ernakulam",
    "Hyderabad",
    "Kolkata",
    "Jaipur",
    "Lucknow",
    "New Delhi",
    "Ahmedabad",
    "Nagpur",
    "Indore",
    "Bhopal",
];
/// Towns around the clinic (in Bengaluru) and their districts.
const NEARBY: &[(&str, &str)] = &[
    ("Hoskote", "Bengaluru Rural"),
    ("Devanahalli", "Bengaluru Rural"),
    ("Ramanagara", "Ramanagara"),
    ("Channapatna", "Ramanagara"),
    ("Tumakuru", "Tumakuru"),
];
const STREETS: &[&str] =
    &["MG Road", "Station Road", "Temple Street", "Gandhi Nagar", "Nehru Colony", "Park Lane", "Lake View"];
const ALLERGIES: &[&str] = &["Penicillin", "Sulfa drugs", "Peanuts", "Latex", "Aspirin", "Iodine contrast"];
const BLOOD: &[&str] = &["A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"];

pub struct Generator {
    rng: fastrand::Rng,
    /// Where patients live: its own sequence, so that everything else a seed gives stays as
    /// it was before patients had a city and district.
    places: fastrand::Rng,
}

impl Generator {
    pub fn new(seed: u64) -> Self {
        Generator { rng: fastrand::Rng::with_seed(seed), places: fastrand::Rng::with_seed(seed ^ 0x91ace) }
    }

    /// A city and its district: about half from the clinic's city, one in six from the towns
    /// around it, the rest from elsewhere; 7% with neither recorded, 4% without the district.
    fn place(&mut self) -> (&'static str, &'static str) {
        let roll = self.places.u8(..100);
        let (city, district) = match roll {
            0..=6 => return ("", ""),
            7..=51 => (CITIES[0], DISTRICTS[0]),
            52..=67 => NEARBY[self.places.usize(..NEARBY.len())],
            _ => {
                let i = self.places.usize(..CITIES.len());
                (CITIES[i], DISTRICTS[i])
            }
        };
        if self.places.u8(..100) < 4 {
            (city, "")
        } else {
            (city, district)
        }
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
        // (drawn in the order they always were: the family name, then the address)
        let family = self.pick(FAMILY);
        let (number, street, address_city) = (self.rng.u16(1..400), self.pick(STREETS), self.pick(CITIES));
        let (city, district) = self.place();
        PatientInput {
            given_name: given.into(),
            family_name: family.into(),
            other_names: other.into(),
            sex: if female { "female" } else { "male" }.into(),
            birth_date: (!estimated).then(|| (today - chrono::Duration::days(age_days)).format("%Y-%m-%d").to_string()),
            age_years: estimated.then_some((age_days / 365) as u32),
            phones: vec![phone],
            // With no city recorded, the address still names one (the desk typed it there).
            address: format!("{number} {street}, {}", if city.is_empty() { address_city } else { city }),
            city: city.into(),
            district: district.into(),
            national_id: if self.rng.u8(..100) < 40 {
                format!("{:012}", self.rng.u64(..1_000_000_000_000))
            } else {
                String::new()
            },
            blood_group: if self.rng.bool() { self.pick(BLOOD).into() } else { String::new() },
            allergies,
            ..Default::default()
        }
    }
}

/// A legacy patient list as a clinic's old system would export it: a full name, day-first
/// dates, a file number; `n` rows.
pub fn legacy_csv(n: u64, seed: u64, today: chrono::NaiveDate, file_prefix: &str) -> Result<Vec<u8>, csv::Error> {
    let mut g = Generator::new(seed);
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "File No",
        "Patient Name",
        "Gender",
        "DOB",
        "Age",
        "Mobile",
        "Address",
        "Aadhaar",
        "Blood Group",
        "Allergies",
    ])?;
    for i in 0..n {
        let p = g.patient(today);
        let name = [p.given_name.as_str(), p.other_names.as_str(), p.family_name.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        let dob = p
            .birth_date
            .as_deref()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .map(|d| d.format("%d/%m/%Y").to_string());
        out.write_record([
            format!("{file_prefix}-{i}"),
            name,
            if p.sex == "female" { "F" } else { "M" }.to_string(),
            dob.unwrap_or_default(),
            p.age_years.map(|a| a.to_string()).unwrap_or_default(),
            p.phones.first().cloned().unwrap_or_default(),
            p.address,
            p.national_id,
            p.blood_group,
            p.allergies.join("; "),
        ])?;
    }
    out.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// Registers `n` generated patients in batches; returns patients per second.
///
/// A second thread makes and validates the next batch while the store writes the current
/// one (the machine has two cores: one for the records, one for SQLite). Every `LOAD`
/// patients are one write (`bulk::Load`): a write per batch rewrote nearly every page of the
/// randomly ordered indexes each time, and a write for all of them would hold the writer
/// (and grow the WAL) for as long as the whole run.
pub async fn patients(store: &Store, auth: &Authorized, n: u64, seed: u64) -> Result<f64, String> {
    const BATCH: u64 = 20_000;
    const LOAD: u64 = 10 * BATCH;
    let today = store.now().date_naive();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Vec<Clean>, String>>(2);
    let maker = std::thread::spawn(move || {
        let mut g = Generator::new(seed);
        let mut made = 0;
        while made < n {
            let size = BATCH.min(n - made);
            let batch: Result<Vec<Clean>, String> = (0..size)
                .map(|_| {
                    validate::clean(&g.patient(today), today).map_err(|e| format!("generator made a bad record: {e}"))
                })
                .collect();
            made += size;
            if tx.blocking_send(batch).is_err() {
                return; // the writer stopped
            }
        }
    });
    let start = Instant::now();
    let mut done = 0;
    let mut load = None;
    while let Some(batch) = rx.recv().await {
        let batch = batch?;
        let size = batch.len() as u64;
        let writing = match &mut load {
            Some(l) => l,
            None => load.insert(bulk::Load::begin(store, auth, "generator").await.map_err(|e| e.to_string())?),
        };
        writing.add(batch).await.map_err(|e| e.to_string())?;
        done += size;
        if done % LOAD == 0 || done == n {
            if let Some(l) = load.take() {
                l.commit().await.map_err(|e| e.to_string())?;
            }
        }
        if done % 100_000 == 0 || done == n {
            eprintln!("generate: {done}/{n} patients ({:.0}/s)", done as f64 / start.elapsed().as_secs_f64());
        }
    }
    if let Some(l) = load.take() {
        l.commit().await.map_err(|e| e.to_string())?;
    }
    maker.join().map_err(|_| "the generator thread failed".to_string())?;
    store.end_bulk_load().await.map_err(|e| e.to_string())?;
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
            assert_eq!(
                (x.given_name.clone(), x.phones.clone(), x.birth_date.clone()),
                (y.given_name, y.phones, y.birth_date)
            );
            validate::clean(&x, today).unwrap();
        }
    }

    #[test]
    fn patients_come_mostly_from_near_the_clinic_and_some_give_no_place() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let mut g = Generator::new(11);
        let people: Vec<PatientInput> = (0..4000).map(|_| g.patient(today)).collect();
        let share = |f: &dyn Fn(&PatientInput) -> bool| people.iter().filter(|p| f(p)).count() * 100 / people.len();
        let home = share(&|p| p.district == "Bengaluru Urban");
        assert!((40..=50).contains(&home), "about 45% from the clinic's district: {home}%");
        let nowhere = share(&|p| p.city.is_empty() && p.district.is_empty());
        assert!((4..=10).contains(&nowhere), "about 7% give neither: {nowhere}%");
        let no_district = share(&|p| !p.city.is_empty() && p.district.is_empty());
        assert!((2..=6).contains(&no_district), "about 4% give the city only: {no_district}%");
        let districts: std::collections::HashSet<&str> = people.iter().map(|p| p.district.as_str()).collect();
        assert!(districts.len() >= 15, "a spread of districts: {districts:?}");
        for p in people.iter().filter(|p| !p.city.is_empty()) {
            assert!(p.address.ends_with(&p.city), "the address names the city: {} / {}", p.address, p.city);
        }
    }
}
