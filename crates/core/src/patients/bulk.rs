//! Many registrations in one write: the synthetic-data generator and CSV import use it.
//!
//! A load is one transaction however many records it holds (rows, search indexes, change
//! log, audit), so it is either all in or not at all. Its records come in batches
//! ([`Load::add`]): each batch's outbox is one signed `change_batches` row and it gets one
//! audit entry. One write for many batches also writes each index page a load touches once:
//! with a write per batch, every batch rewrote (to the WAL, then the database) nearly every
//! page of the indexes in random order (birth date, phone digits, national id).

use super::validate::Clean;
use super::{apply, blank, mrn, repo};
use crate::error::Result;
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{self, Store, WriteTx};
use serde_json::json;

/// A bulk load under way: [`Load::commit`] saves it, dropping it saves nothing.
pub struct Load<'s> {
    w: WriteTx<'s>,
    source: String,
}

impl<'s> Load<'s> {
    /// Starts a load; `source` says where its records come from (in the audit entries).
    pub async fn begin(store: &'s Store, auth: &Authorized, source: &str) -> Result<Load<'s>> {
        auth.require(Permission::PatientsEdit)?;
        let mut w = store.begin_write(auth.actor()).await?;
        store::bulk_cache(&mut w).await?;
        Ok(Load { w, source: source.to_string() })
    }

    /// Registers every record of `batch`; returns their MRNs in order.
    pub async fn add(&mut self, batch: Vec<Clean>) -> Result<Vec<String>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let w = &mut self.w;
        let created_at = w.now_rfc3339();
        let mrns = mrn::reserve(w, batch.len() as u64).await?;
        let mut records = Vec::with_capacity(batch.len());
        for (clean, mrn) in batch.into_iter().zip(&mrns) {
            let mut p = blank(crate::ids::new_id(), mrn.clone(), created_at.clone());
            apply(&mut p, clean);
            records.push(p);
        }
        repo::insert_shared(w, std::sync::Arc::new(records)).await?;
        let (first, last) = (mrns.first().cloned(), mrns.last().cloned());
        w.audit(
            "patient.register_batch",
            "patient",
            None,
            json!({ "source": self.source, "count": mrns.len(), "first_mrn": first, "last_mrn": last }),
        )
        .await?;
        Ok(mrns)
    }

    /// Saves the load.
    pub async fn commit(self) -> Result<()> {
        self.w.commit().await
    }
}

/// Registers every record of `batch` in one write (a load of one batch); returns their MRNs
/// in order.
pub async fn register_batch(store: &Store, auth: &Authorized, batch: Vec<Clean>, source: &str) -> Result<Vec<String>> {
    auth.require(Permission::PatientsEdit)?;
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let mut load = Load::begin(store, auth, source).await?;
    let mrns = load.add(batch).await?;
    load.commit().await?;
    Ok(mrns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patients::{validate, PatientInput};
    use crate::session::SessionSlot;
    use crate::setup::{self, NewAdmin};

    fn clean(i: usize, legacy: &str, today: chrono::NaiveDate) -> Clean {
        let input = PatientInput {
            given_name: format!("Load{i}"),
            family_name: "Bulk".into(),
            sex: "male".into(),
            birth_date: Some("1985-03-04".into()),
            phones: vec![format!("97{:08}", i)],
            ..Default::default()
        };
        let mut c = validate::clean(&input, today).unwrap();
        c.legacy_mrn = legacy.to_string();
        c
    }

    async fn count(store: &Store, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(store.pool()).await.unwrap()
    }

    /// A load of several batches is one write: refused in its second batch, nothing of the
    /// first stays (rows, indexes, outbox, audit, MRN sequence); committed, every batch is
    /// there with its own audit entry and signed outbox row.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_load_of_many_batches_lands_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in_dir(dir.path()).await.unwrap();
        let slot = SessionSlot::default();
        let admin = NewAdmin { username: "admin".into(), full_name: "Admin".into(), password: "Clinic#2026adm".into() };
        setup::setup_first_admin(&store, &slot, admin).await.unwrap();
        let auth = slot.authorize(&store).await.unwrap();
        let today = crate::clinic::today(&store).await.unwrap();
        let tables = ["patients", "patient_phones", "change_log", "change_batches", "sync_stamps", "audit_log"];
        let snapshot = || async {
            let mut all = Vec::new();
            for t in tables {
                all.push(count(&store, &format!("SELECT count(*) FROM {t}")).await);
            }
            all.push(count(&store, "SELECT count(*) FROM patient_name_fts('load*')").await);
            all.push(count(&store, "SELECT count(*) FROM patient_phone_fts('\"9700\"')").await);
            all
        };
        let before = snapshot().await;

        let mut load = Load::begin(&store, &auth, "test").await.unwrap();
        let first = load.add((0..300).map(|i| clean(i, &format!("L-{i}"), today)).collect()).await.unwrap();
        assert_eq!(first.len(), 300);
        // The second batch repeats an old number of the first: refused by the unique index.
        let second = (300..600).map(|i| clean(i, &format!("L-{}", if i == 450 { 7 } else { i }), today)).collect();
        assert!(load.add(second).await.is_err());
        drop(load);
        assert_eq!(snapshot().await, before, "nothing of the refused load stays");

        let mut load = Load::begin(&store, &auth, "test").await.unwrap();
        let a = load.add((0..300).map(|i| clean(i, "", today)).collect()).await.unwrap();
        let b = load.add((300..700).map(|i| clean(i, "", today)).collect()).await.unwrap();
        load.commit().await.unwrap();
        // The refused load gave its numbers back (and the device prefix it drew first).
        let seq = |mrn: &str| mrn.split_once('-').map(|(_, n)| n.to_string());
        assert_eq!(seq(&a[0]), seq(&first[0]));
        assert!(b[0] > a[299]);
        let after = snapshot().await;
        assert_eq!(after[0] - before[0], 700);
        assert_eq!(after[3] - before[3], 2, "one outbox row per batch");
        assert_eq!(after[5] - before[5], 2, "one audit entry per batch");
        assert_eq!(after[6] - before[6], 700, "every name searchable");
        assert_eq!(after[7] - before[7], 700, "every phone searchable");
        assert_eq!(crate::store::batches::waiting(store.pool()).await.unwrap(), 698);
    }
}
