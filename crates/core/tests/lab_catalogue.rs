//! The starter lab catalogue (loaded once, only missing codes added, by whoever manages the
//! catalogues) and results flagged against the reference range of the patient's sex and
//! age band.

mod common;
#[path = "common/ward.rs"]
mod ward;

use hms_core::clinical::{lab, starter, visits, Abnormal, VisitInput};
use hms_core::patients::{self, PatientInput};
use hms_core::rbac::Permission;
use hms_core::Error;
use ward::{auth, ward, Ward};

/// A patient of this sex and age in whole years (birthday a week ago, in the clinic's today).
async fn patient(w: &Ward, sex: &str, years: i32) -> String {
    let a = auth(&w.env.store, &w.admin).await;
    let today = w.env.store.now().date_naive() - chrono::Days::new(7);
    let born = chrono::NaiveDate::from_ymd_opt(today.year() - years, today.month(), today.day().min(28)).unwrap();
    let p = PatientInput {
        // Different people: a man and a woman born the same day need names the duplicate check tells apart.
        given_name: if sex == "male" { "Ravi" } else { "Meena" }.into(),
        family_name: format!("Band{years}"),
        sex: sex.into(),
        birth_date: Some(born.format("%Y-%m-%d").to_string()),
        ..Default::default()
    };
    patients::register(&w.env.store, &a, p).await.unwrap().id
}

use chrono::Datelike;

/// Orders the test for the patient and enters the value; the flag and the range used.
async fn result(w: &Ward, patient_id: &str, test_id: &str, value: &str) -> (Abnormal, Option<String>, Option<String>) {
    let s = &w.env.store;
    let d = auth(s, &w.doctor).await;
    let visit = visits::start_visit(s, &d, VisitInput { patient_id: patient_id.into(), ..Default::default() })
        .await
        .unwrap()
        .id;
    let order = lab::order_lab_tests(s, &d, &visit, vec![test_id.into()], String::new()).await.unwrap();
    let r = lab::enter_result(s, &auth(s, &w.lab).await, &order[0].id, value).await.unwrap();
    visits::close_visit(s, &d, &visit).await.unwrap();
    (r.abnormal, r.ref_low, r.ref_high)
}

#[tokio::test]
async fn the_starter_catalogue_is_loaded_once_by_whoever_manages_catalogues() {
    let w = ward().await;
    let s = &w.env.store;
    let nurse = auth(s, &w.nurse).await;
    let before = common::counts(s).await;
    assert_eq!(
        starter::load_starter_lab_tests(s, &nurse).await.unwrap_err(),
        Error::Forbidden { permission: Permission::ClinicalCatalogManage.code().into() }
    );
    assert_eq!(common::counts(s).await, before, "nothing written");
    let d = auth(s, &w.doctor).await;
    let in_file = starter::starter_tests().unwrap().len() as u32;
    // The ward already has HB and FBS: those two are kept as the clinic made them.
    assert_eq!(starter::load_starter_lab_tests(s, &d).await.unwrap(), in_file - 2);
    assert_eq!(starter::load_starter_lab_tests(s, &d).await.unwrap(), 0, "a second load adds nothing");
    let tests = lab::lab_tests(s, &d).await.unwrap();
    assert_eq!(tests.len() as u32, in_file);
    let hb = tests.iter().find(|t| t.code == "HB").unwrap();
    assert_eq!((hb.ref_low.as_deref(), hb.ref_high.as_deref()), (Some("13"), Some("17")), "the clinic's own HB kept");
    let plt = tests.iter().find(|t| t.code == "PLT").unwrap();
    assert_eq!(
        (plt.ref_low.as_deref(), plt.ref_high.as_deref(), plt.unit.as_str()),
        (Some("150"), Some("450"), "10^3/µL")
    );
    let loinc: String =
        sqlx::query_scalar("SELECT loinc FROM lab_tests WHERE code = 'PLT'").fetch_one(s.pool()).await.unwrap();
    assert_eq!(loinc, "777-3");
    assert!(common::actions(s).await.iter().any(|a| a == "lab_test.starter_loaded"));
}

#[tokio::test]
async fn a_result_is_flagged_against_the_band_of_the_patients_sex_and_age() {
    let w = ward().await;
    let s = &w.env.store;
    starter::load_starter_lab_tests(s, &auth(s, &w.doctor).await).await.unwrap();
    let id_of = |code: &'static str| async move {
        sqlx::query_scalar::<_, String>("SELECT id FROM lab_tests WHERE code = ?")
            .bind(code)
            .fetch_one(s.pool())
            .await
            .unwrap()
    };
    let (creat, esr, plt) = (id_of("CREAT").await, id_of("ESR").await, id_of("PLT").await);
    let man = patient(&w, "male", 40).await;
    let woman = patient(&w, "female", 40).await;
    let child = patient(&w, "female", 5).await;
    let old_man = patient(&w, "male", 60).await;

    // Creatinine 1.2 mg/dL: normal for a man (0.7–1.3), high for a woman (0.6–1.1) and a child (0.3–0.7).
    let n = |s: &str| Some(s.to_string());
    assert_eq!(result(&w, &man, &creat, "1.2").await, (Abnormal::Normal, n("0.7"), n("1.3")));
    assert_eq!(result(&w, &woman, &creat, "1.2").await, (Abnormal::High, n("0.6"), n("1.1")));
    assert_eq!(result(&w, &child, &creat, "1.2").await, (Abnormal::High, n("0.3"), n("0.7")));
    // ESR 18 mm/h: high for a man of 40 (0–15), normal at 60 (0–20).
    assert_eq!(result(&w, &man, &esr, "18").await.0, Abnormal::High);
    assert_eq!(result(&w, &old_man, &esr, "18").await.0, Abnormal::Normal);
    // A test with one range for anyone uses it.
    assert_eq!(result(&w, &child, &plt, "120").await, (Abnormal::Low, n("150"), n("450")));
    // No birth date: only a band that needs no age fits; the ward patient has one, so add one without.
    let a = auth(s, &w.admin).await;
    let unknown =
        PatientInput { given_name: "No".into(), family_name: "Age".into(), sex: "male".into(), ..Default::default() };
    let unknown = patients::register(s, &a, unknown).await.unwrap().id;
    assert_eq!(result(&w, &unknown, &creat, "1.2").await, (Abnormal::Unknown, None, None), "no range to flag against");
}
