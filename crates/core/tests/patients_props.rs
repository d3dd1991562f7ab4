//! Property: a patient just registered is always found by each of its name parts (as a
//! prefix, in any case, with or without accents), by its MRN and by any part of its phone.

mod common;

use hms_core::patients::{self, PatientInput};
use hms_core::SessionSlot;
use proptest::prelude::*;

/// Name parts mixing plain, accented and upper-case letters.
fn name_part() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[A-Za-zÀÉÍÑÖÜàéíñöüçş]{2,12}").unwrap()
}

fn phone() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[6-9][0-9]{9}").unwrap()
}

fn fold(s: &str) -> String {
    deunicode::deunicode(s).to_lowercase()
}

async fn found(store: &hms_core::Store, slot: &SessionSlot, q: String, id: String) -> bool {
    let a = slot.authorize(store).await.unwrap();
    patients::search(store, &a, &q, 100).await.unwrap().iter().any(|h| h.id == id)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn a_registered_patient_is_found_by_every_name_part_mrn_and_phone(
        given in name_part(), other in name_part(), family in name_part(), phone in phone(),
        prefix_len in 1usize..6, frag_start in 0usize..5, frag_len in 3usize..6,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let (env, admin) = common::with_admin().await;
            let a = admin.authorize(&env.store).await.unwrap();
            // Noise: others sharing the name parts must not hide the patient (limit is 100).
            for i in 0..5 {
                let noise = PatientInput { given_name: given.clone(), family_name: format!("Noise{i}"), sex: "unknown".into(), ..Default::default() };
                patients::register(&env.store, &a, noise).await.unwrap();
            }
            let p = patients::register(&env.store, &a, PatientInput {
                given_name: given.clone(), other_names: other.clone(), family_name: family.clone(),
                sex: "female".into(), phones: vec![phone.clone()], ..Default::default()
            }).await.unwrap();
            let found = |q: String| found(&env.store, &admin, q, p.id.clone());
            for part in [&given, &other, &family] {
                let prefix: String = part.chars().take(prefix_len).collect();
                assert!(found(prefix.clone()).await, "prefix {prefix:?} of {part:?}");
                assert!(found(fold(part).to_uppercase()).await, "folded upper {part:?}");
                assert!(found(part.to_lowercase()).await, "lower {part:?}");
            }
            assert!(found(format!("{family} {given}")).await, "word order");
            assert!(found(p.mrn.to_lowercase()).await, "MRN");
            let frag: String = phone.chars().skip(frag_start).take(frag_len).collect();
            assert!(found(frag.clone()).await, "phone fragment {frag:?}");
            assert!(found(phone.clone()).await, "whole phone");
        });
    }
}
