//! Allergy × medicine pairs, both ways, with what a pharmacist expects: a warning (same
//! substance or class), a caution (a known cross-reaction, lower severity) or nothing.
//! Written from the references, not from the checker: BNF and WHO Model Formulary class
//! warnings; penicillin/cephalosporin/carbapenem/monobactam cross-reactivity (Romano et al.,
//! J Allergy Clin Immunol Pract 2020; AAAAI/ACAAI drug allergy practice parameter 2022);
//! sulfonamide antibiotics vs non-antibiotic sulfonamides (Strom et al., NEJM 2003); NSAID
//! hypersensitivity and COX-2 tolerance (EAACI/ENDA 2019); opioid structural groups; ester vs
//! amide local anaesthetics; aromatic anticonvulsant cross-sensitivity; ACR Manual on
//! Contrast Media (no cross-reaction with povidone-iodine or barium).
//!
//! The allergy is chosen as the allergy form does (the first entry the list offers for the
//! words typed); the medicine is the starter formulary's product of that name (its stored
//! ingredients), or, when the formulary has no such name, a medicine added by name only.

use hms_core::clinical::allergy_check::{assess, Level};
use hms_core::clinical::{drugs, formulary};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// An allergy warning.
    Warn,
    /// A lower-severity cross-reaction warning.
    Caution,
    /// No warning.
    No,
}
use Expect::*;

const PAIRS: &[(&str, &str, Expect)] = &[
    // Penicillins: every penicillin; cephalosporins and carbapenems only may cross-react;
    // aztreonam and unrelated classes are safe.
    ("Penicillins", "Amoxicillin", Warn),
    ("Penicillins", "Amoxicillin + Clavulanic acid", Warn),
    ("Penicillins", "Piperacillin + Tazobactam", Warn),
    ("Penicillins", "Cloxacillin", Warn),
    ("Penicillins", "Benzathine benzylpenicillin", Warn),
    ("Penicillins", "Ceftriaxone", Caution),
    ("Penicillins", "Cefalexin", Caution),
    ("Penicillins", "Meropenem", Caution),
    ("Penicillins", "Azithromycin", No),
    ("Penicillins", "Ciprofloxacin", No),
    ("Penicillins", "Aztreonam", No),
    ("Penicillins", "Doxycycline", No),
    ("Penicillins", "Clindamycin", No),
    ("Penicillins", "Vancomycin", No),
    ("Penicillins", "Gentamicin", No),
    // US spelling, a medicine added by that name only (not a formulary name).
    ("Penicillin", "Cephalexin", Caution),
    ("Amoxicillin", "Ampicillin", Warn),
    ("Amoxicillin", "Flucloxacillin", Warn),
    ("Amoxicillin", "Amoxicillin", Warn),
    ("Amoxicillin", "Cefuroxime", Caution),
    ("Amoxicillin", "Paracetamol", No),
    ("Beta-lactam antibiotics", "Meropenem", Warn),
    ("Beta-lactam antibiotics", "Aztreonam", Warn),
    ("Beta-lactam antibiotics", "Azithromycin", No),
    // Cephalosporins.
    ("Cephalosporins", "Cefixime", Warn),
    ("Cephalosporins", "Amoxicillin", Caution),
    ("Cephalosporins", "Imipenem + Cilastatin", Caution),
    ("Ceftazidime", "Aztreonam", Caution),
    // Sulfonamides: the antibiotics warn; non-antibiotic sulfonamides only may cross-react;
    // trimethoprim, sulfates and unrelated medicines do not.
    ("Sulfa drugs", "Sulfamethoxazole + Trimethoprim", Warn),
    ("Sulfa drugs", "Co-trimoxazole DS", Warn),
    ("Sulfa drugs", "Silver sulfadiazine", Warn),
    ("Sulfa drugs", "Sulfasalazine", Warn),
    ("Sulfa drugs", "Artesunate + Sulfadoxine + Pyrimethamine", Warn),
    ("Sulfa drugs", "Trimethoprim", No),
    ("Sulfa drugs", "Magnesium sulfate", No),
    ("Sulfa drugs", "Ferrous sulfate", No),
    ("Sulfa drugs", "Metformin", No),
    ("Sulfa drugs", "Furosemide", Caution),
    ("Sulfa drugs", "Hydrochlorothiazide", Caution),
    ("Sulfa drugs", "Glimepiride", Caution),
    ("Sulfa drugs", "Celecoxib", Caution),
    ("Sulfa drugs", "Acetazolamide", Caution),
    // NSAIDs and salicylates; paracetamol is the usual alternative; COX-2 inhibitors are
    // mostly tolerated.
    ("NSAIDs", "Ibuprofen", Warn),
    ("NSAIDs", "Diclofenac", Warn),
    ("NSAIDs", "Aspirin", Warn),
    ("NSAIDs", "Paracetamol", No),
    ("NSAIDs", "Etoricoxib", Caution),
    ("Aspirin", "Ibuprofen", Warn),
    ("Aspirin", "Naproxen", Warn),
    ("Aspirin", "Aspirin + Clopidogrel", Warn),
    ("Aspirin", "Clopidogrel", No),
    ("Aspirin", "Paracetamol", No),
    ("Ibuprofen", "Mefenamic acid", Warn),
    ("Salicylates", "Mesalazine", Warn),
    // Opioids: the same structural group warns, another group may cross-react.
    ("Morphine", "Codeine", Warn),
    ("Morphine", "Fentanyl", Caution),
    ("Morphine", "Tramadol", Caution),
    ("Pethidine", "Fentanyl", Warn),
    ("Codeine", "Paracetamol", No),
    ("Opioids", "Pethidine", Warn),
    ("Opioids", "Naloxone", No),
    // Macrolides, fluoroquinolones, tetracyclines.
    ("Macrolides", "Clarithromycin", Warn),
    ("Erythromycin", "Azithromycin", Warn),
    ("Azithromycin", "Amoxicillin", No),
    ("Ciprofloxacin", "Levofloxacin", Warn),
    ("Fluoroquinolones", "Moxifloxacin", Warn),
    ("Ciprofloxacin", "Ceftriaxone", No),
    ("Tetracyclines", "Doxycycline", Warn),
    ("Doxycycline", "Tetracycline", Warn),
    // ACE inhibitors (angioedema may recur with an ARB), statins.
    ("Enalapril", "Ramipril", Warn),
    ("ACE inhibitors", "Lisinopril", Warn),
    ("ACE inhibitors", "Losartan", Caution),
    ("Enalapril", "Amlodipine", No),
    ("Atorvastatin", "Rosuvastatin", Warn),
    ("Statins", "Simvastatin", Warn),
    ("Statins", "Metformin", No),
    // Iodinated contrast: not povidone-iodine, not barium.
    ("Iodinated contrast", "Iohexol", Warn),
    ("Iohexol", "Iopamidol", Warn),
    ("Iodinated contrast", "Povidone-iodine", No),
    ("Iodinated contrast", "Barium sulfate", No),
    // Local anaesthetics: esters cross-react with each other, not with amides; amides rarely
    // with each other.
    ("Procaine", "Benzocaine", Warn),
    ("Ester local anaesthetics", "Lidocaine", No),
    ("Benzocaine", "Lidocaine", No),
    ("Lidocaine", "Bupivacaine", Caution),
    ("Lidocaine", "Lidocaine + Adrenaline", Warn),
    ("Amide local anaesthetics", "Ropivacaine", Warn),
    // Aromatic anticonvulsants cross-react; valproate and levetiracetam do not.
    ("Carbamazepine", "Phenytoin", Warn),
    ("Carbamazepine", "Oxcarbazepine", Warn),
    ("Phenytoin", "Lamotrigine", Warn),
    ("Aromatic anticonvulsants", "Phenobarbital", Warn),
    ("Carbamazepine", "Levetiracetam", No),
    ("Carbamazepine", "Sodium valproate", No),
    // Others a pharmacist expects.
    ("Metronidazole", "Tinidazole", Warn),
    ("Gentamicin", "Amikacin", Warn),
    ("Chloroquine", "Hydroxychloroquine", Warn),
    ("Heparin", "Enoxaparin", Warn),
    ("Fluconazole", "Paracetamol", No),
];

/// What the checker says for one pair.
fn outcome(allergy: &str, medicine: &str) -> Expect {
    let chosen = drugs::reference().search(allergy, 1);
    let code = chosen.first().map(|o| o.code.clone());
    let products = formulary::entries();
    let ids: Vec<String> = products
        .iter()
        .find(|e| e.name.eq_ignore_ascii_case(medicine))
        .map(|e| e.ingredients.iter().map(|i| i.to_string()).collect())
        .unwrap_or_default();
    let findings = assess(code.as_deref(), allergy, medicine, &ids);
    match findings.iter().map(|f| f.level).max() {
        Some(Level::Allergy) => Warn,
        Some(Level::CrossReaction) => Caution,
        None => No,
    }
}

#[test]
fn allergy_medicine_pairs_warn_as_a_pharmacist_expects() {
    assert!(PAIRS.len() >= 60);
    assert!(PAIRS.iter().filter(|p| p.2 == No).count() >= 20, "both ways");
    let wrong: Vec<String> = PAIRS
        .iter()
        .filter_map(|(a, m, want)| {
            let got = outcome(a, m);
            (got != *want).then(|| format!("{a} × {m}: expected {want:?}, got {got:?}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{} of {} pairs wrong:\n{}", wrong.len(), PAIRS.len(), wrong.join("\n"));
}

#[test]
fn the_allergy_is_the_one_typed() {
    // The picker's first entry for each allergy above is that substance or class itself.
    for (a, _, _) in PAIRS {
        let first = drugs::reference().search(a, 1);
        let name = first.first().map(|o| o.name.to_lowercase()).unwrap_or_default();
        let wanted = a.to_lowercase();
        assert!(
            name == wanted || drugs::reference().by_name(a).map(|x| x.name().to_lowercase()) == Some(name.clone()),
            "'{a}' offers '{name}' first"
        );
    }
}

#[test]
fn the_warning_says_why() {
    let ids = vec!["sulfamethoxazole".to_string(), "trimethoprim".to_string()];
    let f = assess(Some("class:sulfonamide_antibiotics"), "Sulfa drugs", "Sulfamethoxazole + Trimethoprim", &ids);
    assert_eq!(f.len(), 1, "trimethoprim is no sulfonamide");
    assert_eq!(f[0].reason, "Sulfamethoxazole is a sulfonamide antibiotic");
    let f = assess(None, "Penicillin", "Ceftriaxone", &["ceftriaxone".into()]);
    assert_eq!(f[0].level, Level::CrossReaction);
    assert!(
        f[0].reason.starts_with("Ceftriaxone is a cephalosporin; possible cross-reaction with Penicillins"),
        "{}",
        f[0].reason
    );
    let f = assess(None, "Amoxicillin", "Ampicillin", &["ampicillin".into()]);
    assert_eq!(f[0].reason, "Ampicillin is a penicillin, like Amoxicillin");
}
