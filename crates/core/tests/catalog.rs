//! Catalogue editing: medicines and lab tests edited and retired by whoever holds
//! clinical_catalog_manage (audited, only the changed fields synced); a retired entry is not
//! offered for new prescriptions or orders, while what was written with it still shows it.

mod common;
#[path = "common/ward.rs"]
mod ward;

use hms_core::clinical::{
    catalog, lab, prescribing, visits, LabTestInput, MedicineInput, PrescriptionInput, VisitInput,
};
use hms_core::rbac::Permission;
use hms_core::{Error, Store, ValidationReason};
use ward::{auth, field_of, ward};

fn med(name: &str, strength: &str, form: &str) -> MedicineInput {
    MedicineInput { name: name.into(), strength: strength.into(), form: form.into(), ..Default::default() }
}

async fn last_change(s: &Store, entity: &str) -> serde_json::Value {
    let data: String = sqlx::query_scalar("SELECT data FROM change_log WHERE entity = ? ORDER BY rowid DESC LIMIT 1")
        .bind(entity)
        .fetch_one(s.pool())
        .await
        .unwrap();
    serde_json::from_str(&data).unwrap()
}

async fn last_audit(s: &Store) -> (String, serde_json::Value) {
    let (action, detail): (String, String) =
        sqlx::query_as("SELECT action, detail FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_one(s.pool())
            .await
            .unwrap();
    (action, serde_json::from_str(&detail).unwrap())
}

#[tokio::test]
async fn a_medicine_is_edited_and_retired_and_old_prescriptions_still_show_it() {
    let w = ward().await;
    let s = &w.env.store;
    let d = auth(s, &w.doctor).await;
    let visit = visits::start_visit(s, &d, VisitInput { patient_id: w.patient.clone(), ..Default::default() })
        .await
        .unwrap()
        .id;
    let rx = |id: &str| PrescriptionInput {
        medicine_id: id.into(),
        dose: "1".into(),
        dose_unit: "tablet".into(),
        frequency: "1-0-1".into(),
        duration_days: Some(5),
        ..Default::default()
    };
    prescribing::prescribe(s, &d, &visit, rx(&w.metformin)).await.unwrap();

    let edited = catalog::update_medicine(s, &d, &w.metformin, med("Metformin", "1000 mg", "Tablet")).await.unwrap();
    assert_eq!((edited.strength.as_str(), edited.form.as_str(), edited.active), ("1000 mg", "tablet", true));
    let change = last_change(s, "medicines").await;
    assert_eq!(change["strength"], "1000 mg");
    assert!(change.get("name").is_none() && change.get("form").is_none(), "only what changed travels: {change}");
    let (action, detail) = last_audit(s).await;
    assert_eq!(action, "medicine.update");
    assert_eq!(
        (detail["before"]["strength"].as_str(), detail["after"]["strength"].as_str()),
        (Some("500 mg"), Some("1000 mg"))
    );

    let retired = catalog::set_medicine_active(s, &d, &w.metformin, false).await.unwrap();
    assert!(!retired.active);
    assert!(prescribing::medicines(s, &d, "").await.unwrap().iter().all(|m| m.id != w.metformin), "not offered");
    let all = catalog::medicine_catalogue(s, &d).await.unwrap();
    assert!(all.iter().any(|m| m.id == w.metformin && !m.active), "listed as retired in the catalogue");
    assert_eq!(
        field_of(prescribing::prescribe(s, &d, &visit, rx(&w.metformin)).await),
        ("medicine_id".into(), ValidationReason::Invalid)
    );
    let old = prescribing::visit_prescriptions(s, &d, &visit).await.unwrap();
    assert!(old.iter().any(|p| p.medicine_id == w.metformin && p.medicine_name.contains("Metformin")), "{old:?}");

    catalog::set_medicine_active(s, &d, &w.metformin, true).await.unwrap();
    assert!(prescribing::medicines(s, &d, "met").await.unwrap().iter().any(|m| m.id == w.metformin), "reinstated");
}

/// The allergy check reads a medicine's ingredients: an edit keeps them, a new name brings those
/// it names, and ingredients given replace them (only known substances).
#[tokio::test]
async fn a_medicine_edit_keeps_or_replaces_its_ingredients() {
    let w = ward().await;
    let s = &w.env.store;
    let d = auth(s, &w.doctor).await;
    let stored = |id: String| async move {
        let json: String = sqlx::query_scalar("SELECT ingredients FROM medicines WHERE id = ?")
            .bind(id)
            .fetch_one(s.pool())
            .await
            .unwrap();
        serde_json::from_str::<Vec<String>>(&json).unwrap()
    };
    let m = catalog::update_medicine(s, &d, &w.amoxicillin, med("Amoxicillin", "250 mg", "capsule")).await.unwrap();
    assert_eq!(
        (m.ingredients.clone(), stored(m.id.clone()).await),
        (vec!["Amoxicillin".to_string()], vec!["amoxicillin".to_string()])
    );
    let m = catalog::update_medicine(s, &d, &w.amoxicillin, med("Co-amoxiclav", "625 mg", "tablet")).await.unwrap();
    assert_eq!(stored(m.id.clone()).await, ["amoxicillin", "clavulanic_acid"], "the new name's ingredients");
    assert_eq!(last_change(s, "medicines").await["ingredients"], r#"["amoxicillin","clavulanic_acid"]"#, "synced");
    let given = MedicineInput { ingredients: vec!["cefalexin".into()], ..med("Co-amoxiclav", "625 mg", "tablet") };
    let m = catalog::update_medicine(s, &d, &w.amoxicillin, given).await.unwrap();
    assert_eq!(m.ingredients, ["Cefalexin"]);
    let unknown = MedicineInput { ingredients: vec!["unobtainium".into()], ..med("Co-amoxiclav", "625 mg", "tablet") };
    assert_eq!(
        field_of(catalog::update_medicine(s, &d, &w.amoxicillin, unknown).await),
        ("ingredients".into(), ValidationReason::Invalid)
    );
}

#[tokio::test]
async fn catalogue_edits_need_the_permission_and_bad_input_changes_nothing() {
    let w = ward().await;
    let s = &w.env.store;
    let d = auth(s, &w.doctor).await;
    let before = common::counts(s).await;
    for slot in [&w.nurse, &w.lab, &w.reception] {
        let a = auth(s, slot).await;
        let forbidden = Error::Forbidden { permission: Permission::ClinicalCatalogManage.code().into() };
        assert_eq!(catalog::update_medicine(s, &a, &w.paracetamol, med("X", "", "")).await.unwrap_err(), forbidden);
        assert_eq!(catalog::set_medicine_active(s, &a, &w.paracetamol, false).await.unwrap_err(), forbidden);
        assert_eq!(catalog::set_lab_test_active(s, &a, &w.hb, false).await.unwrap_err(), forbidden);
        let t = LabTestInput { code: "HB".into(), name: "Hb".into(), unit: "".into(), ref_low: None, ref_high: None };
        assert_eq!(catalog::update_lab_test(s, &a, &w.hb, t).await.unwrap_err(), forbidden);
    }
    assert_eq!(field_of(catalog::update_medicine(s, &d, &w.paracetamol, med(" ", "", "")).await).0, "name");
    assert_eq!(
        field_of(catalog::update_medicine(s, &d, &w.paracetamol, med("amoxicillin", "500 MG", "capsule")).await),
        ("name".into(), ValidationReason::Taken)
    );
    let t = |code: &str, low: &str, high: &str| LabTestInput {
        code: code.into(),
        name: "Haemoglobin".into(),
        unit: "g/dL".into(),
        ref_low: Some(low.into()),
        ref_high: Some(high.into()),
    };
    assert_eq!(
        field_of(catalog::update_lab_test(s, &d, &w.hb, t("fbs", "13", "17")).await),
        ("code".into(), ValidationReason::Taken)
    );
    assert_eq!(field_of(catalog::update_lab_test(s, &d, &w.hb, t("HB", "17", "13")).await).0, "ref_high");
    assert_eq!(field_of(catalog::update_lab_test(s, &d, &w.hb, t("HB", "abc", "13")).await).0, "ref_low");
    assert!(matches!(catalog::set_medicine_active(s, &d, "nope", false).await, Err(Error::NotFound { .. })));
    assert_eq!(common::counts(s).await, before, "nothing written");
}

#[tokio::test]
async fn a_lab_test_is_edited_and_retired_and_its_orders_still_show() {
    let w = ward().await;
    let s = &w.env.store;
    let d = auth(s, &w.doctor).await;
    let visit = visits::start_visit(s, &d, VisitInput { patient_id: w.patient.clone(), ..Default::default() })
        .await
        .unwrap()
        .id;
    let order = lab::order_lab_tests(s, &d, &visit, vec![w.hb.clone()], String::new()).await.unwrap();
    let input = LabTestInput {
        code: "HB".into(),
        name: "Haemoglobin".into(),
        unit: "g/dL".into(),
        ref_low: Some("12".into()),
        ref_high: Some("16.5".into()),
    };
    let edited = catalog::update_lab_test(s, &d, &w.hb, input).await.unwrap();
    assert_eq!((edited.ref_low.as_deref(), edited.ref_high.as_deref()), (Some("12"), Some("16.5")));
    let change = last_change(s, "lab_tests").await;
    assert_eq!((change["ref_low_milli"].as_i64(), change["ref_high_milli"].as_i64()), (Some(12_000), Some(16_500)));
    assert!(change.get("code").is_none() && change.get("name").is_none(), "{change}");
    assert_eq!(last_audit(s).await.0, "lab_test.update");

    catalog::set_lab_test_active(s, &d, &w.hb, false).await.unwrap();
    assert_eq!(
        field_of(lab::order_lab_tests(s, &d, &visit, vec![w.hb.clone()], String::new()).await),
        ("test_ids".into(), ValidationReason::Invalid)
    );
    let l = auth(s, &w.lab).await;
    let pending = lab::pending_orders(s, &l).await.unwrap();
    assert!(pending.iter().any(|o| o.id == order[0].id && o.test_code == "HB"), "the order made before still shows");
    let result = lab::enter_result(s, &l, &order[0].id, "11.5").await.unwrap();
    assert_eq!((result.abnormal, result.ref_low.as_deref()), (hms_core::clinical::Abnormal::Low, Some("12")));
    assert!(lab::lab_tests(s, &d).await.unwrap().iter().any(|t| t.id == w.hb && !t.active));
}
