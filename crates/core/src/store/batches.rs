//! The outbox of bulk loads (`change_batches`, see `WriteTx::record_batch`): a batch of new
//! rows is one row there, already signed, and its changes are written out to `change_log` at
//! their own device sequences, with their segments' proofs. What is written out is what was
//! signed when the batch was written, so a row edited since (an edit is a later change of its
//! own) still sends its insert as it was.
//!
//! When they are written out: on a device that syncs (enrolled), in the background as soon as
//! the bulk load has ended ([`spawn_writer`], woken by `Store::end_bulk_load` and once at open),
//! so that the next push finds them in `change_log`; and by any push that still meets one
//! ([`expand`]). A device that does not sync keeps each batch as its one row.

use super::{Actor, Store, WalControl};
use crate::error::Result;
use sqlx::{SqliteConnection, SqlitePool};
use std::sync::Arc;
use tokio::sync::Notify;

/// Writes out every waiting batch, oldest first, one write each; returns the changes written.
pub async fn expand(store: &Store) -> Result<u64> {
    let mut written = 0;
    loop {
        let mut w = store.begin_write(Actor::system()).await?;
        let Some(done) = write_out_oldest(w.conn()).await? else {
            return Ok(written);
        };
        // The changes were signed when the batch was written: nothing here is left to seal.
        w.commit_unaudited().await?;
        written += done;
    }
}

/// A batch's waiting changes (the JSON array `change_batches.changes` held) as
/// `change_batches.packed` keeps them: deflated, fast level. A batch's array repeats every
/// field name of every record, so it shrinks to a fraction, and a bulk load writes (encrypts,
/// logs, checkpoints) that much less.
pub(crate) fn pack(changes: &impl serde::Serialize) -> Result<Vec<u8>> {
    let mut packer = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    serde_json::to_writer(&mut packer, changes)?;
    packer.finish().map_err(|e| crate::Error::internal(format!("packing a batch: {e}")))
}

/// The JSON array of a batch's waiting changes, from its row's `changes` and `packed`.
fn unpack(changes: String, packed: Option<Vec<u8>>) -> Result<String> {
    let Some(packed) = packed else {
        return Ok(changes); // written before batches were packed (migration 0046)
    };
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::DeflateDecoder::new(packed.as_slice()), &mut text)
        .map_err(|e| crate::Error::internal(format!("unpacking a batch: {e}")))?;
    Ok(text)
}

/// Writes out the oldest waiting batch inside the transaction of `conn`: its changes go to
/// `change_log` and its row goes. Answers the changes written; `None` when no batch waits.
async fn write_out_oldest(conn: &mut SqliteConnection) -> Result<Option<u64>> {
    let oldest: Option<(i64, String, Option<Vec<u8>>)> =
        sqlx::query_as("SELECT last_seq, changes, packed FROM change_batches ORDER BY last_seq LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    let Some((last, changes, packed)) = oldest else {
        return Ok(None);
    };
    let done = sqlx::query(
        "INSERT INTO change_log (seq, id, entity, entity_id, op, data, hlc, device_id, user_id, proof)
         SELECT b.first_seq + j.key, j.value ->> '$.id', b.entity, j.value ->> '$.entity_id', 'insert',
                j.value -> '$.data', b.hlc, b.device_id, b.user_id,
                b.proofs ->> ('$.\"' || (b.first_seq + j.key) || '\"')
         FROM change_batches b, json_each(?2) j
         WHERE b.last_seq = ?1
         ORDER BY j.key",
    )
    .bind(last)
    .bind(unpack(changes, packed)?)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM change_batches WHERE last_seq = ?").bind(last).execute(&mut *conn).await?;
    Ok(Some(done.rows_affected()))
}

/// The background writer of batches: each time `wake` is notified, writes out every waiting
/// batch, one transaction each, on the writer's connection, if this device syncs. It stamps,
/// seals and audits nothing (the changes were signed when their batch was written), so it needs
/// no `WriteTx`; like one, it waits for a running WAL restart first. A failure (a full disk)
/// leaves the batches waiting: the next push writes them out and reports it.
pub(super) fn spawn_writer(pool: SqlitePool, wal: Arc<WalControl>, wake: Arc<Notify>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            wake.notified().await;
            let _ = write_out_all(&pool, &wal).await;
        }
    })
}

async fn write_out_all(pool: &SqlitePool, wal: &WalControl) -> Result<()> {
    loop {
        drop(wal.gate.lock().await);
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        let syncs: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM meta WHERE key = ?)")
            .bind(crate::sync::TOKEN_KEY)
            .fetch_one(&mut *tx)
            .await?;
        if !syncs || write_out_oldest(&mut tx).await?.is_none() {
            return Ok(());
        }
        tx.commit().await?;
        wal.committed();
    }
}

/// A change waiting in a batch (see [`pending`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub seq: i64,
    pub entity: String,
    pub entity_id: String,
    pub hlc: String,
}

/// Every change waiting in batches, by sequence: what `change_log` will hold once they are
/// written out (tests follow a record's last change through it).
pub async fn pending(pool: &SqlitePool) -> Result<Vec<Pending>> {
    /// (first sequence, entity, stamp, changes as text, changes packed).
    type BatchRow = (i64, String, String, String, Option<Vec<u8>>);
    let rows: Vec<BatchRow> =
        sqlx::query_as("SELECT first_seq, entity, hlc, changes, packed FROM change_batches ORDER BY last_seq")
            .fetch_all(pool)
            .await?;
    let mut all = Vec::new();
    for (first, entity, hlc, changes, packed) in rows {
        #[derive(serde::Deserialize)]
        struct Waiting {
            entity_id: String,
        }
        let waiting: Vec<Waiting> = serde_json::from_str(&unpack(changes, packed)?)?;
        all.extend(waiting.into_iter().enumerate().map(|(i, w)| Pending {
            seq: first + i as i64,
            entity: entity.clone(),
            entity_id: w.entity_id,
            hlc: hlc.clone(),
        }));
    }
    Ok(all)
}

/// Changes waiting in batches (not in `change_log` yet).
pub async fn waiting<'e, E>(exec: E) -> Result<i64>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    Ok(sqlx::query_scalar("SELECT COALESCE(sum(last_seq - first_seq), 0) FROM change_batches").fetch_one(exec).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patients::{self, bulk, validate, PatientInput};
    use crate::session::SessionSlot;
    use crate::setup::{self, NewAdmin};
    use crate::store::seal::{to_change, OutboxRow, OUTBOX_COLUMNS};
    use hms_protocol::proof::{parse_public_key, segments, verify_segment, verify_user_sig};
    use hms_protocol::{Change, Op};

    async fn outbox(store: &Store) -> Vec<Change> {
        let sql = format!("SELECT {OUTBOX_COLUMNS} FROM change_log ORDER BY seq");
        let rows: Vec<OutboxRow> = sqlx::query_as(&sql).fetch_all(store.pool()).await.unwrap();
        rows.into_iter().map(|r| to_change(r).unwrap()).collect()
    }

    /// The whole outbox, each segment checked against the device's key and its user's, at
    /// consecutive sequences from 1.
    async fn proven_outbox(store: &Store, user_id: &str) -> Vec<Change> {
        let all = outbox(store).await;
        let (segs, rest) = segments(&all);
        assert!(rest.is_empty(), "every entry belongs to a sealed segment");
        let device = parse_public_key(&store.device_public_key()).unwrap();
        let user_key: String = sqlx::query_scalar("SELECT user_key FROM users WHERE id = ?")
            .bind(user_id)
            .fetch_one(store.pool())
            .await
            .unwrap();
        let user_key = parse_public_key(&user_key).unwrap();
        for seg in &segs {
            verify_segment(seg, &device).unwrap();
            if seg.last().unwrap().proof.as_ref().unwrap().user_id.is_some() {
                verify_user_sig(seg, &user_key).unwrap();
            }
        }
        let seqs: Vec<u64> = all.iter().map(|c| c.device_seq).collect();
        assert_eq!(seqs, (1..=all.len() as u64).collect::<Vec<_>>(), "consecutive sequences, none lost");
        all
    }

    async fn scalar(store: &Store, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(store.pool()).await.unwrap()
    }

    fn input(given: &str, phone: &str) -> PatientInput {
        PatientInput {
            given_name: given.into(),
            family_name: "Batch".into(),
            sex: "female".into(),
            birth_date: Some("1990-01-02".into()),
            phones: vec![phone.into()],
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn a_bulk_load_waits_as_one_row_and_goes_out_as_its_signed_changes_before_later_edits() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in_dir(dir.path()).await.unwrap();
        let slot = SessionSlot::default();
        let admin = NewAdmin { username: "admin".into(), full_name: "Admin".into(), password: "Clinic#2026adm".into() };
        setup::setup_first_admin(&store, &slot, admin).await.unwrap();
        let auth = slot.authorize(&store).await.unwrap();
        // One registered alone: the shape every insert of a patient has.
        let alone = patients::register(&store, &auth, input("Alone", "9845000000")).await.unwrap();
        let logged = scalar(&store, "SELECT count(*) FROM change_log").await;

        let today = crate::clinic::today(&store).await.unwrap();
        let n = 1_234;
        let batch = (0..n)
            .map(|i| validate::clean(&input(&format!("Name{i}"), &format!("98{:08}", i)), today).unwrap())
            .collect();
        let mrns = bulk::register_batch(&store, &auth, batch, "test").await.unwrap();
        assert_eq!(mrns.len(), n);
        // One change_log row (the batch's last change) and one batch row; all of them unsent.
        assert_eq!(scalar(&store, "SELECT count(*) FROM change_log").await, logged + 1);
        assert_eq!(scalar(&store, "SELECT count(*) FROM change_batches").await, 1);
        assert_eq!(waiting(store.pool()).await.unwrap(), n as i64 - 1);
        // Searchable at once.
        let found = patients::search(&store, &auth, "Name1233", 5).await.unwrap();
        assert_eq!(found.len(), 1);

        // The first of them is edited before any push, then a later write records its own change.
        let first = patients::search(&store, &auth, &mrns[0], 1).await.unwrap().remove(0);
        patients::update(&store, &auth, &first.id, input("Edited", "9800000000")).await.unwrap();

        assert_eq!(expand(&store).await.unwrap(), n as u64 - 1);
        assert_eq!(scalar(&store, "SELECT count(*) FROM change_batches").await, 0);
        assert_eq!(expand(&store).await.unwrap(), 0);

        let all = proven_outbox(&store, &auth.user_id).await;

        let inserts: Vec<&Change> =
            all.iter().filter(|c| c.entity == "patients" && c.op == Op::Insert && c.entity_id != alone.id).collect();
        assert_eq!(inserts.len(), n);
        assert!(inserts.windows(2).all(|p| p[1].device_seq == p[0].device_seq + 1));
        let shape = |c: &Change| c.data.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        let alone_insert = all.iter().find(|c| c.entity_id == alone.id && c.op == Op::Insert).unwrap();
        for (c, mrn) in inserts.iter().zip(&mrns) {
            assert_eq!(shape(c), shape(alone_insert));
            assert_eq!(c.data["mrn"], serde_json::json!(mrn));
            assert_eq!(c.user_id.as_deref(), Some(auth.user_id.as_str()));
        }
        // The edited record still goes out as it was inserted, and its edit after it.
        assert_eq!(inserts[0].entity_id, first.id);
        assert_eq!(inserts[0].data["given_name"], "Name0");
        let edit = all.iter().find(|c| c.entity_id == first.id && c.op == Op::Update).unwrap();
        assert!(edit.device_seq > inserts[n - 1].device_seq);
        assert_eq!(edit.data["given_name"], "Edited");
        assert!(edit.hlc > inserts[0].hlc);
    }

    #[tokio::test]
    async fn a_device_that_syncs_writes_a_load_out_in_the_background_once_the_load_ends() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in_dir(dir.path()).await.unwrap();
        let slot = SessionSlot::default();
        let admin = NewAdmin { username: "admin".into(), full_name: "Admin".into(), password: "Clinic#2026adm".into() };
        setup::setup_first_admin(&store, &slot, admin).await.unwrap();
        let auth = slot.authorize(&store).await.unwrap();
        let today = crate::clinic::today(&store).await.unwrap();
        let load = |from: usize| {
            (from..from + 1_000)
                .map(|i| validate::clean(&input(&format!("Name{i}"), &format!("98{:08}", i)), today).unwrap())
                .collect::<Vec<_>>()
        };
        let logged = scalar(&store, "SELECT count(*) FROM change_log").await;

        // Not enrolled: the load's end leaves its batch as one row.
        bulk::register_batch(&store, &auth, load(0), "test").await.unwrap();
        store.end_bulk_load().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(waiting(store.pool()).await.unwrap(), 999);

        // Enrolled (a token is kept): the next load's end writes out both batches, no push.
        super::super::meta::set(store.pool(), crate::sync::TOKEN_KEY, "sealed token").await.unwrap();
        bulk::register_batch(&store, &auth, load(1_000), "test").await.unwrap();
        store.end_bulk_load().await.unwrap();
        let started = std::time::Instant::now();
        while waiting(store.pool()).await.unwrap() > 0 {
            assert!(started.elapsed().as_secs() < 30, "the batches were not written out");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(scalar(&store, "SELECT count(*) FROM change_batches").await, 0);
        assert_eq!(scalar(&store, "SELECT count(*) FROM change_log").await, logged + 2_000);
        let all = proven_outbox(&store, &auth.user_id).await;
        assert_eq!(all.iter().filter(|c| c.entity == "patients" && c.op == Op::Insert).count(), 2_000);
        assert_eq!(expand(&store).await.unwrap(), 0, "nothing left for a push");

        // A batch left waiting at close (its load did not end) goes out when the store opens.
        bulk::register_batch(&store, &auth, load(2_000), "test").await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(waiting(store.pool()).await.unwrap(), 999);
        store.close().await;
        drop(store);
        let store = Store::open_in_dir(dir.path()).await.unwrap();
        let started = std::time::Instant::now();
        while waiting(store.pool()).await.unwrap() > 0 {
            assert!(started.elapsed().as_secs() < 30, "the batch left at close was not written out");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        proven_outbox(&store, &auth.user_id).await;
    }

    /// A batch keeps its waiting changes packed, a fraction of their JSON; `pending` lists
    /// them at their sequences; a batch written before packing (its JSON in `changes`) is
    /// written out the same, with its proofs.
    #[tokio::test]
    async fn a_batch_is_kept_packed_and_one_kept_as_text_before_still_goes_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in_dir(dir.path()).await.unwrap();
        let slot = SessionSlot::default();
        let admin = NewAdmin { username: "admin".into(), full_name: "Admin".into(), password: "Clinic#2026adm".into() };
        setup::setup_first_admin(&store, &slot, admin).await.unwrap();
        let auth = slot.authorize(&store).await.unwrap();
        let today = crate::clinic::today(&store).await.unwrap();
        let load = |from: usize| {
            (from..from + 500)
                .map(|i| validate::clean(&input(&format!("Name{i}"), &format!("98{:08}", i)), today).unwrap())
                .collect::<Vec<_>>()
        };
        let first = bulk::register_batch(&store, &auth, load(0), "test").await.unwrap();
        let second = bulk::register_batch(&store, &auth, load(500), "test").await.unwrap();

        let rows: Vec<(i64, String, Vec<u8>)> =
            sqlx::query_as("SELECT first_seq, changes, packed FROM change_batches ORDER BY last_seq")
                .fetch_all(store.pool())
                .await
                .unwrap();
        assert_eq!(rows.len(), 2);
        let text = unpack(String::new(), Some(rows[0].2.clone())).unwrap();
        assert!(rows[0].1.is_empty(), "the JSON is not kept twice");
        assert!(rows[0].2.len() * 4 < text.len(), "packed: {} of {} bytes", rows[0].2.len(), text.len());

        // Every waiting change, by sequence: the records of each batch but its last (in change_log).
        let mut expected = Vec::new();
        for mrns in [&first, &second] {
            for mrn in &mrns[..mrns.len() - 1] {
                expected.push(patients::search(&store, &auth, mrn, 1).await.unwrap().remove(0).id);
            }
        }
        let listed = pending(store.pool()).await.unwrap();
        assert_eq!(listed.iter().map(|c| c.entity_id.clone()).collect::<Vec<_>>(), expected);
        assert!(listed.iter().all(|c| c.entity == "patients"));
        assert_eq!(listed[0].seq, rows[0].0);
        assert_eq!(listed[499].seq, rows[1].0);
        assert!(listed[..499].windows(2).all(|p| p[1].seq == p[0].seq + 1));

        // The first batch as a database from before packing holds it.
        sqlx::query("UPDATE change_batches SET changes = ?, packed = NULL WHERE first_seq = ?")
            .bind(&text)
            .bind(rows[0].0)
            .execute(store.pool())
            .await
            .unwrap();
        assert_eq!(pending(store.pool()).await.unwrap(), listed);
        assert_eq!(expand(&store).await.unwrap(), 998);
        let all = proven_outbox(&store, &auth.user_id).await;
        let inserted: Vec<&str> =
            all.iter().filter(|c| c.entity == "patients" && c.op == Op::Insert).map(|c| c.entity_id.as_str()).collect();
        assert_eq!(inserted.len(), 1_000);
        for id in &expected {
            assert!(inserted.contains(&id.as_str()));
        }
    }

    #[tokio::test]
    async fn a_bulk_load_refused_midway_leaves_no_row_index_or_outbox_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in_dir(dir.path()).await.unwrap();
        let slot = SessionSlot::default();
        let admin = NewAdmin { username: "admin".into(), full_name: "Admin".into(), password: "Clinic#2026adm".into() };
        setup::setup_first_admin(&store, &slot, admin).await.unwrap();
        let auth = slot.authorize(&store).await.unwrap();
        let today = crate::clinic::today(&store).await.unwrap();
        let counts = || async {
            let mut all = Vec::new();
            for table in ["patients", "patient_phones", "change_log", "change_batches", "sync_stamps", "audit_log"] {
                all.push(scalar(&store, &format!("SELECT count(*) FROM {table}")).await);
            }
            all.push(scalar(&store, "SELECT count(*) FROM patient_name_fts('name1*')").await);
            all
        };
        let before = counts().await;
        // Row 1,500 repeats an old number (unique): the statement fails after earlier rows.
        let batch = (0..2_000)
            .map(|i| {
                let mut c = validate::clean(&input(&format!("Name{i}"), &format!("98{:08}", i)), today).unwrap();
                c.legacy_mrn = format!("OLD-{}", if i == 1_500 { 3 } else { i });
                c
            })
            .collect();
        assert!(bulk::register_batch(&store, &auth, batch, "test").await.is_err());
        assert_eq!(counts().await, before);
        // The store still writes.
        patients::register(&store, &auth, input("After", "9845000001")).await.unwrap();
    }
}
