//! Drug reference data shipped with the app (assets/drugs; sources and licence in its README):
//! substances (active ingredients), the classes they belong to, and the known cross-reactions
//! between classes. Read once from the files built into the binary; an allergy is recorded
//! against one of these and prescribing checks medicines' ingredients against it.

use serde::Serialize;
use std::collections::HashMap;
use std::sync::OnceLock;

const CLASSES: &str = include_str!("../../assets/drugs/classes.tsv");
const SUBSTANCES: &str = include_str!("../../assets/drugs/substances.tsv");
const CROSS_REACTIONS: &str = include_str!("../../assets/drugs/cross_reactions.tsv");
const COMBINATIONS: &str = include_str!("../../assets/drugs/combination_names.tsv");

/// How an allergy to one member of a class bears on the class's other members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Within {
    /// The same allergy: a full warning.
    Allergy,
    /// A possible cross-reaction: a lower-severity warning.
    Cross,
    /// A grouping only: no warning between members.
    None,
}

#[derive(Debug)]
pub struct DrugClass {
    pub id: &'static str,
    /// "Sulfonamide antibiotics".
    pub name: &'static str,
    /// How a member is named in a sentence: "a sulfonamide antibiotic".
    pub member: &'static str,
    pub parent: Option<&'static str>,
    pub within: Within,
    pub synonyms: Vec<&'static str>,
}

#[derive(Debug)]
pub struct Substance {
    pub id: &'static str,
    pub name: &'static str,
    /// Class ids, as listed (their parents are implied).
    pub classes: Vec<&'static str>,
    pub synonyms: Vec<&'static str>,
}

#[derive(Debug)]
pub struct CrossReaction {
    /// The class of the allergy.
    pub from: &'static str,
    /// The class of the medicine's ingredient.
    pub to: &'static str,
    pub note: &'static str,
}

/// What an allergy is recorded against.
#[derive(Debug, Clone, Copy)]
pub enum Allergen {
    Substance(&'static Substance),
    Class(&'static DrugClass),
}

impl Allergen {
    /// "substance:amoxicillin", "class:penicillins" (stored in `allergies.allergen`).
    pub fn code(&self) -> String {
        match self {
            Allergen::Substance(s) => format!("substance:{}", s.id),
            Allergen::Class(c) => format!("class:{}", c.id),
        }
    }
    pub fn name(&self) -> &'static str {
        match self {
            Allergen::Substance(s) => s.name,
            Allergen::Class(c) => c.name,
        }
    }
}

/// One entry of the allergy picker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct AllergenOption {
    /// "substance:amoxicillin" or "class:penicillins".
    pub code: String,
    pub name: String,
    pub kind: AllergenKind,
    /// For a substance, the names of its classes; for a class, its parent's name.
    pub classes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum AllergenKind {
    Substance,
    Class,
}

pub struct Reference {
    pub classes: Vec<DrugClass>,
    pub substances: Vec<Substance>,
    pub cross_reactions: Vec<CrossReaction>,
    /// Names of combinations that do not list their ingredients ("co-trimoxazole").
    pub combinations: Vec<(&'static str, Vec<&'static str>)>,
    /// Normalised names and synonyms → (is a class, index).
    by_name: HashMap<String, (bool, usize)>,
}

fn rows(text: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).map(|l| l.split('\t').map(str::trim).collect())
}

fn list(cell: Option<&&'static str>) -> Vec<&'static str> {
    match cell {
        Some(c) if !c.is_empty() && *c != "-" => c.split('|').map(str::trim).filter(|s| !s.is_empty()).collect(),
        _ => Vec::new(),
    }
}

/// Lower case, one space between words, no surrounding punctuation ("Sulfa drugs " → "sulfa drugs").
pub fn normalise(s: &str) -> String {
    s.to_lowercase()
        .replace(['’', '\''], "'")
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn load() -> Reference {
    let classes: Vec<DrugClass> = rows(CLASSES)
        .filter(|r| r.len() >= 5)
        .map(|r| DrugClass {
            id: r[0],
            name: r[1],
            member: r[2],
            parent: Some(r[3]).filter(|p| *p != "-" && !p.is_empty()),
            within: match r[4] {
                "allergy" => Within::Allergy,
                "cross" => Within::Cross,
                _ => Within::None,
            },
            synonyms: list(r.get(5)),
        })
        .collect();
    let substances: Vec<Substance> = rows(SUBSTANCES)
        .filter(|r| r.len() >= 2)
        .map(|r| Substance { id: r[0], name: r[1], classes: list(r.get(2)), synonyms: list(r.get(3)) })
        .collect();
    let mut cross_reactions = Vec::new();
    for r in rows(CROSS_REACTIONS).filter(|r| r.len() >= 4) {
        cross_reactions.push(CrossReaction { from: r[0], to: r[1], note: r[3] });
        if r[2] == "yes" {
            cross_reactions.push(CrossReaction { from: r[1], to: r[0], note: r[3] });
        }
    }
    let combinations =
        rows(COMBINATIONS).filter(|r| r.len() >= 2).map(|r| (r[0], r[1].split('+').map(str::trim).collect())).collect();
    let mut by_name = HashMap::new();
    // Classes first: a name both a class and a substance use ("tetracycline") means the class
    // only when no substance has it (substances are entered after and win).
    for (i, c) in classes.iter().enumerate() {
        for n in std::iter::once(&c.name).chain(&c.synonyms) {
            by_name.insert(normalise(n), (true, i));
        }
    }
    for (i, s) in substances.iter().enumerate() {
        for n in std::iter::once(&s.name).chain(&s.synonyms) {
            by_name.insert(normalise(n), (false, i));
        }
    }
    Reference { classes, substances, cross_reactions, combinations, by_name }
}

/// The reference data (parsed on first use).
pub fn reference() -> &'static Reference {
    static REF: OnceLock<Reference> = OnceLock::new();
    REF.get_or_init(load)
}

impl Reference {
    pub fn class(&self, id: &str) -> Option<&DrugClass> {
        self.classes.iter().find(|c| c.id == id)
    }

    pub fn substance(&self, id: &str) -> Option<&Substance> {
        self.substances.iter().find(|s| s.id == id)
    }

    /// The ingredients of a combination a product name starts with ("Co-trimoxazole DS").
    pub fn combination(&self, product: &str) -> Vec<&Substance> {
        let n = normalise(product);
        self.combinations
            .iter()
            .find(|(name, _)| n == *name || n.starts_with(&format!("{name} ")))
            .map(|(_, ids)| ids.iter().filter_map(|id| self.substance(id)).collect())
            .unwrap_or_default()
    }

    /// The ids of the substances a search text names, for finding medicines by what is in
    /// them: a combination's name or its start ("cotrim"), or a substance whose name or a
    /// synonym starts with the text or has a word that does ("amoxy", "acetaminophen").
    /// Empty below 3 characters, where every other medicine would match.
    pub fn substances_named(&'static self, query: &str) -> Vec<&'static str> {
        let q = normalise(query);
        if q.chars().count() < 3 {
            return Vec::new();
        }
        let names = |n: &str| {
            let n = normalise(n);
            n.starts_with(&q) || n.split([' ', '-', '(']).any(|w| w.starts_with(&q))
        };
        let mut ids: Vec<&'static str> = self
            .combinations
            .iter()
            .filter(|(name, _)| name.starts_with(&q))
            .flat_map(|(_, ids)| ids.iter().copied())
            .collect();
        ids.extend(
            self.substances
                .iter()
                .filter(|s| std::iter::once(&s.name).chain(&s.synonyms).any(|n| names(n)))
                .map(|s| s.id),
        );
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// A class and its parents, nearest first.
    pub fn with_parents(&self, id: &'static str) -> Vec<&'static str> {
        let mut out = vec![id];
        let mut at = id;
        while let Some(p) = self.class(at).and_then(|c| c.parent) {
            if out.contains(&p) {
                break;
            }
            out.push(p);
            at = p;
        }
        out
    }

    /// Every class a substance belongs to, its listed classes' parents included.
    pub fn classes_of(&self, s: &Substance) -> Vec<&'static str> {
        let mut out = Vec::new();
        for c in &s.classes {
            for x in self.with_parents(c) {
                if !out.contains(&x) {
                    out.push(x);
                }
            }
        }
        out
    }

    /// The allergen a stored code names ("substance:amoxicillin"), if known here.
    pub fn by_code(&'static self, code: &str) -> Option<Allergen> {
        match code.split_once(':') {
            Some(("substance", id)) => self.substance(id).map(Allergen::Substance),
            Some(("class", id)) => self.class(id).map(Allergen::Class),
            _ => None,
        }
    }

    /// The allergen a name or synonym means exactly ("Sulfa drugs", "penicillin allergy",
    /// "Amoxycillin"); None for anything else.
    pub fn by_name(&'static self, text: &str) -> Option<Allergen> {
        let mut n = normalise(text);
        for suffix in [" allergy", " allergic", " intolerance", " sensitivity", " hypersensitivity"] {
            if let Some(rest) = n.strip_suffix(suffix) {
                n = rest.to_string();
            }
        }
        let n = n.strip_prefix("allergy to ").unwrap_or(&n);
        self.by_name.get(n).map(|(is_class, i)| {
            if *is_class {
                Allergen::Class(&self.classes[*i])
            } else {
                Allergen::Substance(&self.substances[*i])
            }
        })
    }

    fn option(&self, a: Allergen) -> AllergenOption {
        match a {
            Allergen::Substance(s) => AllergenOption {
                code: a.code(),
                name: s.name.to_string(),
                kind: AllergenKind::Substance,
                classes: s.classes.iter().filter_map(|c| self.class(c)).map(|c| c.name.to_string()).collect(),
            },
            Allergen::Class(c) => AllergenOption {
                code: a.code(),
                name: c.name.to_string(),
                kind: AllergenKind::Class,
                classes: c.parent.and_then(|p| self.class(p)).map(|p| vec![p.name.to_string()]).unwrap_or_default(),
            },
        }
    }

    /// Substances and classes whose name or a synonym starts with the query, or has a word
    /// that does: exact names first, then classes, then shorter names.
    pub fn search(&'static self, query: &str, limit: usize) -> Vec<AllergenOption> {
        let q = normalise(query);
        if q.is_empty() {
            return Vec::new();
        }
        let mut hits: Vec<(u8, usize, Allergen)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let rank = |names: &mut dyn Iterator<Item = &&'static str>| -> Option<u8> {
            names
                .filter_map(|n| {
                    let n = normalise(n);
                    if n == q {
                        Some(0)
                    } else if n.starts_with(&q) {
                        Some(2)
                    } else if n.split([' ', '-', '(']).any(|w| w.starts_with(&q)) {
                        Some(3)
                    } else {
                        None
                    }
                })
                .min()
        };
        for c in &self.classes {
            if let Some(r) = rank(&mut std::iter::once(&c.name).chain(&c.synonyms)) {
                seen.insert(c.id);
                hits.push((r, c.name.len(), Allergen::Class(c)));
            }
        }
        for s in &self.substances {
            if let Some(r) = rank(&mut std::iter::once(&s.name).chain(&s.synonyms)) {
                if seen.insert(s.id) {
                    hits.push((r + 1, s.name.len(), Allergen::Substance(s)));
                }
            }
        }
        hits.sort_by_key(|h| (h.0, h.1));
        hits.into_iter().take(limit).map(|(_, _, a)| self.option(a)).collect()
    }
}

/// The allergy form's search (at most 20 entries).
pub fn search_allergens(auth: &crate::session::Authorized, query: &str) -> crate::Result<Vec<AllergenOption>> {
    if auth.require(crate::rbac::Permission::ClinicalView).is_err() {
        auth.require(crate::rbac::Permission::VitalsEdit)?;
    }
    Ok(reference().search(query, 20))
}

/// Words of a product name that are not the substance (salts, forms, release, units).
const NOT_SUBSTANCE: &[&str] = &[
    "tablet",
    "tablets",
    "tab",
    "capsule",
    "capsules",
    "cap",
    "syrup",
    "suspension",
    "injection",
    "inj",
    "cream",
    "ointment",
    "gel",
    "drops",
    "eye",
    "ear",
    "oral",
    "solution",
    "extended",
    "modified",
    "release",
    "sr",
    "er",
    "xr",
    "mr",
    "cr",
    "forte",
    "ds",
    "mg",
    "ml",
    "mcg",
    "g",
    "iu",
    "units",
    "hydrochloride",
    "hcl",
    "trihydrate",
    "sodium",
    "potassium",
    "besilate",
    "besylate",
    "maleate",
    "mesylate",
    "tartrate",
    "succinate",
    "fumarate",
    "dihydrate",
    "monohydrate",
];

/// The substances a product name names: each part between "+", "/", "," or "and" is matched
/// whole, then without salt and form words, then word by word.
pub fn ingredients_from_name(name: &str) -> Vec<&'static Substance> {
    let r = reference();
    let combination = r.combination(name);
    if !combination.is_empty() {
        return combination;
    }
    let lower = normalise(name).replace(" and ", " + ").replace(" with ", " + ");
    let mut out: Vec<&'static Substance> = Vec::new();
    let mut add = |s: &'static Substance| {
        if !out.iter().any(|x| x.id == s.id) {
            out.push(s);
        }
    };
    for part in lower.split(['+', '/', ',', '(', ')']) {
        let words: Vec<&str> = part
            .split(|c: char| c.is_whitespace() || c == '-')
            .filter(|w| !w.is_empty() && !w.starts_with(|c: char| c.is_ascii_digit() || c == '.'))
            .collect();
        let whole = part.trim();
        let core: Vec<&str> = words.iter().copied().filter(|w| !NOT_SUBSTANCE.contains(w)).collect();
        let by = |t: &str| match r.by_name(t) {
            Some(Allergen::Substance(s)) => Some(s),
            _ => None,
        };
        if let Some(s) = by(whole).or_else(|| by(&core.join(" "))) {
            add(s);
            continue;
        }
        for pair in core.windows(2) {
            if let Some(s) = by(&pair.join(" ")) {
                add(s);
            }
        }
        for w in &core {
            if w.len() >= 4 {
                if let Some(s) = by(w) {
                    add(s);
                }
            }
        }
    }
    out
}

/// The ingredients a medicine's name names, as the allergy check will read them when it is
/// added without choosing any ("Co-trimoxazole DS": Sulfamethoxazole, Trimethoprim); empty when
/// the name names no substance on the list (then its ingredients should be chosen).
pub fn ingredients_for_name(auth: &crate::session::Authorized, name: &str) -> crate::Result<Vec<AllergenOption>> {
    auth.require(crate::rbac::Permission::ClinicalView)?;
    let r = reference();
    Ok(ingredients_from_name(name).into_iter().map(|s| r.option(Allergen::Substance(s))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_names_a_known_class() {
        let r = reference();
        assert!(r.classes.len() >= 40 && r.substances.len() >= 300, "{} {}", r.classes.len(), r.substances.len());
        for c in &r.classes {
            if let Some(p) = c.parent {
                assert!(r.class(p).is_some(), "class {} has unknown parent {p}", c.id);
            }
            assert!(!c.member.is_empty() && !c.name.is_empty(), "class {}", c.id);
        }
        for s in &r.substances {
            for c in &s.classes {
                assert!(r.class(c).is_some(), "substance {} has unknown class {c}", s.id);
            }
        }
        for (name, ids) in &r.combinations {
            for id in ids {
                assert!(r.substance(id).is_some(), "combination {name} has unknown ingredient {id}");
            }
        }
        for x in &r.cross_reactions {
            assert!(r.class(x.from).is_some() && r.class(x.to).is_some(), "{} -> {}", x.from, x.to);
        }
    }

    #[test]
    fn no_name_or_synonym_means_two_things() {
        let r = reference();
        let mut seen: HashMap<String, String> = HashMap::new();
        let mut ids = std::collections::HashSet::new();
        let names = r
            .classes
            .iter()
            .flat_map(|c| std::iter::once(&c.name).chain(&c.synonyms).map(move |n| (format!("class:{}", c.id), *n)))
            .chain(r.substances.iter().flat_map(|s| {
                std::iter::once(&s.name).chain(&s.synonyms).map(move |n| (format!("substance:{}", s.id), *n))
            }));
        for (code, n) in names {
            if let Some(other) = seen.insert(normalise(n), code.clone()) {
                assert_eq!(other, code, "'{n}' names both");
            }
        }
        for s in &r.substances {
            assert!(ids.insert(s.id), "substance id {} twice", s.id);
        }
    }

    #[test]
    fn names_synonyms_and_allergy_wording_resolve() {
        let r = reference();
        assert_eq!(r.by_name("Sulfa drugs").map(|a| a.code()).as_deref(), Some("class:sulfonamide_antibiotics"));
        assert_eq!(r.by_name("Penicillin allergy").map(|a| a.code()).as_deref(), Some("class:penicillins"));
        assert_eq!(r.by_name("amoxycillin").map(|a| a.code()).as_deref(), Some("substance:amoxicillin"));
        assert!(r.by_name("bee stings").is_none());
        let found = r.search("sulf", 20);
        assert!(found.iter().any(|o| o.code == "class:sulfonamide_antibiotics"), "{found:?}");
        assert_eq!(r.search("penicillins", 5)[0].code, "class:penicillins");
    }
}
