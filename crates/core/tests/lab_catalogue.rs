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
    // The work list previews the range before the result is saved: the same band as the save.
    let l = auth(s, &w.lab).await;
    let preview = lab::order_ranges(s, &l, std::slice::from_ref(&order[0].id)).await.unwrap();
    let r = lab::enter_result(s, &l, &order[0].id, value).await.unwrap();
    assert_eq!(preview.len(), 1);
    assert_eq!((&preview[0].ref_low, &preview[0].ref_high), (&r.ref_low, &r.ref_high), "preview and save agree");
    assert_eq!(preview[0].unit, r.unit);
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

#[tokio::test]
async fn the_work_list_gets_each_orders_band_for_its_patient_before_a_result_is_entered() {
    let w = ward().await;
    let s = &w.env.store;
    let d = auth(s, &w.doctor).await;
    starter::load_starter_lab_tests(s, &d).await.unwrap();
    let creat: String =
        sqlx::query_scalar("SELECT id FROM lab_tests WHERE code = 'CREAT'").fetch_one(s.pool()).await.unwrap();
    let (man, woman) = (patient(&w, "male", 40).await, patient(&w, "female", 40).await);
    let mut orders = Vec::new();
    for p in [&man, &woman] {
        let visit = visits::start_visit(s, &d, VisitInput { patient_id: p.to_string(), ..Default::default() })
            .await
            .unwrap()
            .id;
        orders
            .push(lab::order_lab_tests(s, &d, &visit, vec![creat.clone()], String::new()).await.unwrap()[0].id.clone());
    }
    let l = auth(s, &w.lab).await;
    let mut ids = orders.clone();
    ids.push("no-such-order".into());
    let ranges = lab::order_ranges(s, &l, &ids).await.unwrap();
    let got: Vec<(&str, Option<&str>, Option<&str>)> =
        ranges.iter().map(|r| (r.order_id.as_str(), r.ref_low.as_deref(), r.ref_high.as_deref())).collect();
    // A starter test's band by sex (no "No reference range" before saving); unknown ids left out.
    assert_eq!(
        got,
        vec![(orders[0].as_str(), Some("0.7"), Some("1.3")), (orders[1].as_str(), Some("0.6"), Some("1.1"))]
    );
    assert_eq!(ranges[0].unit, "mg/dL");
    assert_eq!(lab::order_ranges(s, &d, &orders).await.unwrap().len(), 2, "clinicians may ask too");
    let desk = auth(s, &w.reception).await;
    assert!(matches!(lab::order_ranges(s, &desk, &orders).await, Err(Error::Forbidden { .. })));
    let too_many = vec![orders[0].clone(); lab::ORDER_RANGES_MAX + 1];
    assert!(matches!(lab::order_ranges(s, &l, &too_many).await, Err(Error::Validation { .. })));
}
