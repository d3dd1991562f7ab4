//! The starter formulary (assets/drugs/formulary.tsv; sources and licence in its README): about
//! 440 products of some 380 generic medicines from the WHO Model List of Essential Medicines and
//! India's NLEM, with their ingredients and usual adult doses. A new clinic chooses at set-up
//! whether to load it; the demo hospital has it. Loading is one write.

use super::insert_row;
use crate::error::Result;
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{Store, WriteTx};
use serde_json::json;

const FORMULARY: &str = include_str!("../../assets/drugs/formulary.tsv");

/// One product of the starter formulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormularyEntry {
    pub name: &'static str,
    pub strength: &'static str,
    pub form: &'static str,
    /// Substance ids.
    pub ingredients: Vec<&'static str>,
    pub usual_dose: &'static str,
}

impl FormularyEntry {
    /// What identifies the product: name, strength and form, in lower case.
    pub fn key(&self) -> String {
        format!("{}|{}|{}", self.name, self.strength, self.form).to_lowercase()
    }
}

/// The products of the starter formulary, in file order.
pub fn entries() -> Vec<FormularyEntry> {
    FORMULARY
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::trim).collect::<Vec<_>>())
        .filter(|r| r.len() >= 4)
        .map(|r| FormularyEntry {
            name: r[0],
            strength: r[1],
            form: r[2],
            ingredients: r[3].split('+').map(str::trim).filter(|s| !s.is_empty()).collect(),
            usual_dose: r.get(4).copied().unwrap_or(""),
        })
        .collect()
}

/// Adds the starter formulary's products not already on the medicine list (same name,
/// strength and form); returns how many were added. Needs `clinical_catalog_manage`.
pub async fn load(store: &Store, auth: &Authorized) -> Result<usize> {
    auth.require(Permission::ClinicalCatalogManage)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let added = load_in(&mut w).await?;
    w.commit().await?;
    Ok(added)
}

/// Loads the formulary inside a write (set-up and the demo hospital share it).
pub(crate) async fn load_in(w: &mut WriteTx<'_>) -> Result<usize> {
    let mut added = 0;
    for e in entries() {
        let taken: bool = sqlx::query_scalar(
            "SELECT COUNT(*) > 0 FROM medicines WHERE name = ? COLLATE NOCASE AND strength = ? COLLATE NOCASE AND form = ? COLLATE NOCASE AND deleted_at IS NULL",
        )
        .bind(e.name)
        .bind(e.strength)
        .bind(e.form)
        .fetch_one(w.conn())
        .await?;
        // The same product has the same id on every device (see `ids::reference_id`): a
        // device that has it already, renamed or retired, keeps it as it is.
        let id = crate::ids::reference_id("medicine", &e.key());
        let here: bool =
            sqlx::query_scalar("SELECT COUNT(*) > 0 FROM medicines WHERE id = ?").bind(&id).fetch_one(w.conn()).await?;
        if taken || here {
            continue;
        }
        insert_row(
            w,
            "medicines",
            &id,
            &[
                ("name", json!(e.name)),
                ("strength", json!(e.strength)),
                ("form", json!(e.form)),
                ("active", json!(true)),
                ("ingredients", json!(serde_json::to_string(&e.ingredients)?)),
                ("usual_dose", json!(e.usual_dose)),
            ],
        )
        .await?;
        added += 1;
    }
    w.audit("formulary.load", "medicine", None, json!({ "source": "starter formulary", "added": added })).await?;
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_product_is_whole_and_names_known_substances() {
        let r = super::super::drugs::reference();
        let all = entries();
        assert!(all.len() >= 300, "{} products", all.len());
        let mut seen = std::collections::HashSet::new();
        for e in &all {
            assert!(!e.name.is_empty() && !e.form.is_empty(), "{e:?}");
            assert!(!e.ingredients.is_empty(), "{} has no ingredients", e.name);
            for i in &e.ingredients {
                assert!(r.substance(i).is_some(), "{} {}: unknown substance {i}", e.name, e.strength);
            }
            let key = (e.name.to_lowercase(), e.strength.to_lowercase(), e.form.to_lowercase());
            assert!(seen.insert(key), "{} {} {} twice", e.name, e.strength, e.form);
        }
    }
}
