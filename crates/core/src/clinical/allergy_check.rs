//! Whether a medicine is unsafe for an allergy, by ingredient and by class, with the reason in
//! words. Pure functions over the reference data in [`super::drugs`]; prescribing calls them
//! inside its write.
//!
//! - The allergy's substance is one of the medicine's ingredients: an allergy warning.
//! - An ingredient belongs to the allergy's class (or a class under it): an allergy warning.
//! - The allergy's substance and an ingredient share a class whose members cross-react as one
//!   allergy (penicillins, NSAIDs, aromatic anticonvulsants ...): an allergy warning; a class
//!   whose members only may cross-react (amide local anaesthetics ...): a lower-severity one.
//! - A known cross-reaction from the allergy's class to an ingredient's class (penicillins →
//!   cephalosporins): a lower-severity warning with the reference's note.
//!
//! An allergy written as free text that names nothing on the list, and a medicine whose
//! ingredients are unknown, still match by the words of their names, as before ingredients
//! existed.

use super::drugs::{ingredients_from_name, reference, Allergen, Substance, Within};

/// How strongly a medicine is flagged for an allergy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// A possible cross-reaction (lower severity).
    CrossReaction,
    /// The same substance or class as the allergy.
    Allergy,
}

/// Why a medicine was flagged for one allergy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    /// The ingredient that matched (its name), or the medicine's name for a name match.
    pub ingredient: String,
    /// "Sulfamethoxazole is a sulfonamide antibiotic".
    pub reason: String,
}

/// The allergen an allergy names: its stored code, else its text if that is exactly a name or
/// synonym on the list.
pub fn allergen_of(code: Option<&str>, text: &str) -> Option<Allergen> {
    let r = reference();
    code.and_then(|c| r.by_code(c)).or_else(|| r.by_name(text))
}

/// The ingredients a medicine's stored ingredient ids name (unknown ids are skipped); when
/// none are known, those its name names ("Amoxicillin + Clavulanic acid 625 mg tablet").
pub fn ingredients_of(ids: &[String], medicine_name: &str) -> Vec<&'static Substance> {
    let r = reference();
    let known: Vec<&'static Substance> = ids.iter().filter_map(|id| r.substance(id)).collect();
    if known.is_empty() {
        ingredients_from_name(medicine_name)
    } else {
        known
    }
}

fn cap(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The findings for one allergen and one medicine's ingredients: at most one per ingredient,
/// the strongest.
pub fn check(allergen: Allergen, ingredients: &[&'static Substance]) -> Vec<Finding> {
    ingredients.iter().filter_map(|ing| check_one(allergen, ing)).collect()
}

fn check_one(allergen: Allergen, ing: &'static Substance) -> Option<Finding> {
    let r = reference();
    let ing_classes = r.classes_of(ing);
    let member = |class: &str| r.class(class).map(|c| c.member).unwrap_or("in that class");
    let found = |level, reason: String| Some(Finding { level, ingredient: ing.name.to_string(), reason });
    // The allergy's own classes (as listed for a substance; the class itself for a class).
    let from: Vec<&'static str> = match allergen {
        Allergen::Substance(s) => {
            if s.id == ing.id {
                return found(Level::Allergy, format!("{} is in this medicine", ing.name));
            }
            // Members of a shared class whose members cross-react.
            let mut best: Option<(Level, &str)> = None;
            for c in s.classes.iter().filter(|c| ing_classes.contains(c)) {
                let level = match r.class(c).map(|c| c.within) {
                    Some(Within::Allergy) => Level::Allergy,
                    Some(Within::Cross) => Level::CrossReaction,
                    _ => continue,
                };
                if best.is_none_or(|(l, _)| level > l) {
                    best = Some((level, c));
                }
            }
            if let Some((level, c)) = best {
                let like = format!("{} is {}, like {}", ing.name, member(c), s.name);
                return found(
                    level,
                    if level == Level::Allergy { like } else { format!("{like}: a cross-reaction is possible") },
                );
            }
            s.classes.clone()
        }
        Allergen::Class(c) => {
            if ing_classes.contains(&c.id) {
                // Name the ingredient's own class under the allergy's ("a penicillin" for a
                // beta-lactam allergy), else the allergy's class.
                let own = ing.classes.iter().find(|x| r.with_parents(x).contains(&c.id)).copied().unwrap_or(c.id);
                return found(Level::Allergy, format!("{} is {}", ing.name, member(own)));
            }
            vec![c.id]
        }
    };
    let cross = r.cross_reactions.iter().find(|x| from.contains(&x.from) && ing_classes.contains(&x.to))?;
    let from_name = r.class(cross.from).map(|c| c.name).unwrap_or(cross.from);
    found(
        Level::CrossReaction,
        format!("{} is {}; possible cross-reaction with {from_name}: {}", ing.name, member(cross.to), cross.note),
    )
}

/// Words of names that say nothing about the substance (salts, forms, release).
const GENERIC_WORDS: [&str; 22] = [
    "acid",
    "sodium",
    "potassium",
    "calcium",
    "magnesium",
    "hydrochloride",
    "hcl",
    "sulfate",
    "sulphate",
    "phosphate",
    "acetate",
    "citrate",
    "tablet",
    "tablets",
    "capsule",
    "capsules",
    "syrup",
    "injection",
    "cream",
    "drops",
    "extended",
    "release",
];

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 3)
        .map(str::to_lowercase)
        .filter(|w| !GENERIC_WORDS.contains(&w.as_str()))
        .collect()
}

/// Whether an allergy's text matches a medicine's name: one contains the other, or they share
/// a word of three letters or more ("Penicillin" matches "Penicillin V"). Used only where the
/// list cannot say: an allergy that names nothing on it, or a medicine whose ingredients are
/// unknown.
pub fn names_match(allergy: &str, medicine: &str) -> bool {
    let (s, m) = (allergy.to_lowercase(), medicine.to_lowercase());
    if s.trim().is_empty() || m.trim().is_empty() {
        return false;
    }
    if m.contains(s.trim()) || s.contains(m.trim()) {
        return true;
    }
    let mw = words(&m);
    words(&s).iter().any(|w| mw.contains(w))
}

/// Everything one allergy says about one medicine: by ingredient and class when both are
/// known, else by name.
pub fn assess(
    allergen_code: Option<&str>,
    allergy_text: &str,
    medicine_name: &str,
    ingredient_ids: &[String],
) -> Vec<Finding> {
    let ingredients = ingredients_of(ingredient_ids, medicine_name);
    let allergen = allergen_of(allergen_code, allergy_text);
    if let (Some(a), false) = (allergen, ingredients.is_empty()) {
        return check(a, &ingredients);
    }
    // The list cannot say: match the names as written (and the allergen's own name).
    let names = [Some(allergy_text), allergen.map(|a| a.name())];
    if names.into_iter().flatten().any(|n| names_match(n, medicine_name)) {
        return vec![Finding {
            level: Level::Allergy,
            ingredient: medicine_name.to_string(),
            reason: format!("the name {} matches the allergy as written", cap(medicine_name.trim())),
        }];
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_products_give_their_ingredients() {
        let ids = |n: &str| ingredients_from_name(n).iter().map(|s| s.id).collect::<Vec<_>>();
        assert_eq!(ids("Amoxicillin + Clavulanic acid"), ["amoxicillin", "clavulanic_acid"]);
        assert_eq!(ids("Co-trimoxazole DS"), ["sulfamethoxazole", "trimethoprim"]);
        assert_eq!(ids("Zandu balm"), Vec::<&str>::new());
        assert_eq!(ids("Metformin hydrochloride 500 mg SR"), ["metformin"]);
        assert_eq!(ids("Sulfamethoxazole/Trimethoprim"), ["sulfamethoxazole", "trimethoprim"]);
        assert_eq!(ids("Paracetamol"), ["paracetamol"]);
    }

    #[test]
    fn free_text_falls_back_to_names() {
        assert!(names_match("Penicillin", "Penicillin V"));
        assert!(!names_match("Penicillin", "Paracetamol"));
        assert!(!names_match("", "Paracetamol"));
        assert!(!names_match("Folic acid", "Amoxicillin + Clavulanic acid"), "a shared salt word is no match");
        let f = assess(None, "Zandu balm", "Zandu balm", &[]);
        assert_eq!(f.len(), 1, "an unknown allergy still matches a medicine of its name");
        assert!(assess(None, "bee stings", "Amoxicillin", &[]).is_empty());
    }
}
