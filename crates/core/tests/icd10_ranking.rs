//! ICD-10 search finds diagnoses by the words doctors use: a table of everyday primary-care
//! queries (plain words, abbreviations, Indian and British usage) with the code a doctor
//! means in the first three, billable codes before headings, and the clinic's own most-used
//! codes lifted.

mod common;
#[path = "common/ward.rs"]
mod ward;

use hms_core::clinical::{icd10, visits, Certainty, DiagnosisInput, VisitInput};
use ward::{auth, ward};

/// (query, the code a doctor means, the rank it must reach at least: 1 = first).
const QUERIES: &[(&str, &str, usize)] = &[
    ("hypertension", "I10", 1),
    ("HTN", "I10", 1),
    ("high blood pressure", "I10", 1),
    ("diabetes", "E11.9", 3),
    ("DM2", "E11.9", 3),
    ("T2DM", "E11.9", 1),
    ("type 2 diabetes", "E11.9", 1),
    ("fever", "R50.9", 1),
    ("URTI", "J06.9", 1),
    ("UTI", "N39.0", 1),
    ("urinary tract infection", "N39.0", 1),
    ("common cold", "J00", 1),
    ("sore throat", "J02.9", 3),
    ("tonsillitis", "J03.90", 3),
    ("cough", "R05.9", 3),
    ("headache", "R51.9", 3),
    ("migraine", "G43.909", 3),
    ("GERD", "K21.9", 1),
    ("acidity", "K21.9", 3),
    ("gastritis", "K29.70", 3),
    ("loose motions", "R19.7", 3),
    ("diarrhoea", "R19.7", 3),
    ("gastroenteritis", "A09", 3),
    ("AGE", "A09", 3),
    ("constipation", "K59.00", 3),
    ("abdominal pain", "R10.9", 3),
    ("LBP", "M54.50", 1),
    ("low back pain", "M54.50", 3),
    ("chest pain", "R07.9", 3),
    ("asthma", "J45.909", 3),
    ("COPD", "J44.9", 1),
    ("pneumonia", "J18.9", 3),
    ("bronchitis", "J20.9", 3),
    ("sinusitis", "J32.9", 3),
    ("allergic rhinitis", "J30.9", 3),
    ("anaemia", "D64.9", 3),
    ("iron deficiency anemia", "D50.9", 3),
    ("hypothyroidism", "E03.9", 3),
    ("dyslipidaemia", "E78.5", 3),
    ("obesity", "E66.9", 3),
    ("depression", "F32.A", 3),
    ("anxiety", "F41.9", 3),
    ("insomnia", "G47.00", 3),
    ("giddiness", "R42", 3),
    ("conjunctivitis", "H10.9", 3),
    ("otitis media", "H66.90", 3),
    ("scabies", "B86", 3),
    ("ringworm", "B35.4", 3),
    ("urticaria", "L50.9", 3),
    ("dengue", "A90", 3),
    ("malaria", "B54", 3),
    ("typhoid", "A01.00", 3),
    ("viral fever", "B34.9", 3),
    ("tuberculosis", "A15.9", 3),
    ("IHD", "I25.10", 3),
    ("CCF", "I50.9", 1),
    ("atrial fibrillation", "I48.91", 3),
    ("CVA", "I63.9", 1),
    ("CKD", "N18.9", 1),
    ("BPH", "N40.0", 1),
    ("PCOS", "E28.2", 1),
    ("dysmenorrhoea", "N94.6", 3),
    ("ANC", "Z34.90", 3),
    ("vaccination", "Z23", 3),
    ("osteoarthritis knee", "M17.9", 3),
    ("gout", "M10.9", 3),
    ("cellulitis", "L03.90", 3),
    ("dysuria", "R30.0", 3),
    ("chickenpox", "B01.9", 3),
    ("piles", "K64.9", 3),
    ("hyperten", "I10", 1),
    ("diab", "E11.9", 3),
];

#[tokio::test]
async fn everyday_queries_find_the_code_a_doctor_means_in_the_first_three() {
    let w = ward().await;
    let s = &w.env.store;
    let d = auth(s, &w.doctor).await;
    assert!(QUERIES.len() >= 50);
    let mut misses = Vec::new();
    for (query, code, within) in QUERIES {
        let found = icd10::search(s, &d, query, 10).await.unwrap();
        let at = found.iter().position(|c| c.code == *code);
        if at.is_none_or(|i| i >= *within) {
            let top: Vec<&str> = found.iter().take(5).map(|c| c.code.as_str()).collect();
            misses.push(format!("{query:?}: {code} at {at:?} (need < {within}), top {top:?}"));
        }
    }
    assert!(misses.is_empty(), "{} misses:\n{}", misses.len(), misses.join("\n"));
}

#[tokio::test]
async fn billable_codes_come_before_headings_and_urticaria_is_not_an_urti() {
    let w = ward().await;
    let s = &w.env.store;
    let d = auth(s, &w.doctor).await;
    let urti = icd10::search(s, &d, "urti", 5).await.unwrap();
    assert_eq!(urti[0].code, "J06.9", "{urti:?}");
    // "Asthma" is the heading J45 itself; the codes a doctor can bill come first.
    let asthma = icd10::search(s, &d, "asthma", 20).await.unwrap();
    let heading = asthma.iter().position(|c| c.code == "J45").expect("J45 among the matches");
    assert!(asthma[..heading].len() >= 3, "{asthma:?}");
    assert!(asthma[..heading].iter().all(|c| c.code.len() > 3), "{asthma:?}");
    // A code prefix still lists codes in code order, heading first.
    assert_eq!(icd10::search(s, &d, "J45", 3).await.unwrap()[0].code, "J45");
}

#[tokio::test]
async fn the_clinics_most_used_codes_are_lifted() {
    let w = ward().await;
    let s = &w.env.store;
    let d = auth(s, &w.doctor).await;
    let place = |found: &[icd10::Icd10Code], code: &str| found.iter().position(|c| c.code == code);
    let before = icd10::search(s, &d, "tonsillitis", 20).await.unwrap();
    assert_eq!(before[0].code, "J03.90");
    let strep_before = place(&before, "J03.00").expect("streptococcal tonsillitis matches");
    assert!(strep_before > 1, "{before:?}");

    let visit = VisitInput { patient_id: w.patient.clone(), ..Default::default() };
    let visit = visits::start_visit(s, &d, visit).await.unwrap().id;
    for _ in 0..3 {
        let dx = DiagnosisInput { icd10: Some("J03.00".into()), text: String::new(), certainty: Certainty::Final };
        visits::add_diagnosis(s, &d, &visit, dx).await.unwrap();
    }
    let after = icd10::search(s, &d, "tonsillitis", 20).await.unwrap();
    assert_eq!(after[0].code, "J03.90", "the plain word's code stays first: {after:?}");
    assert_eq!(place(&after, "J03.00"), Some(1), "the clinic's own code next: {after:?}");
}
