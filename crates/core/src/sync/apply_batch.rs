//! The fast path of a pull page: brand-new rows written with multi-row statements.
//!
//! Through sqlx every statement is a round trip to SQLite's thread, and a new device's first
//! pull is almost only inserts of rows it does not have. So a page first loads, in one query
//! per table, which of its rows are here already (or have stamps, or wait as orphans). An
//! insert of a row that is none of these, of a table with no per-row rule, and not touched by
//! an earlier change of the page, waits in a [`Batch`]; the batch is written (rows, their
//! stamps, the patients' search index) in a few statements before any other change of the
//! page is applied, so the order of the page is kept. Everything else goes through
//! [`apply::apply`] as before. Should a constraint refuse a batched row, the whole batch is
//! undone and redone row by row through [`apply::apply`], which records the refusal exactly
//! as it always did.

use super::apply::{self, Outcome};
use super::rows::{self, bind_value, quote, table_of, Columns};
use super::SyncError;
use crate::store::{tables::NewRow, WriteTx};
use hms_protocol::{Change, Op};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Bound values per statement: under SQLite's 32,766.
const MAX_VARS: usize = 32_000;

/// Tables whose new rows need nothing per row after the insert but what their `after_batch`
/// rule does (the patients' numbers and search index). Others (appointments settle their slot
/// rule, staff index their specialties) register as not batchable and take the row path.
fn batchable(table: &str) -> bool {
    rows::rules_of(table).batchable()
}

struct Pending<'a> {
    change: &'a Change,
    table: &'static str,
    values: Vec<(String, Value)>,
}

/// New rows of a page waiting to be written together.
pub(crate) struct Batch<'a> {
    /// The ids, by table, that are here, have stamps or wait as orphans since before the page.
    known: HashMap<&'static str, HashSet<String>>,
    /// (entity, id) of every change of the page seen so far.
    touched: HashSet<(&'a str, &'a str)>,
    pending: Vec<Pending<'a>>,
}

impl<'a> Batch<'a> {
    /// Loads what the page's rows are here, in one query per table.
    pub(crate) async fn preload(
        w: &mut WriteTx<'_>,
        changes: impl Iterator<Item = &'a Change>,
    ) -> Result<Batch<'a>, SyncError> {
        let mut ids: HashMap<&'static str, (&'static str, Vec<&'a str>)> = HashMap::new();
        for c in changes {
            if c.op == Op::Insert {
                if let Some((table, id_col)) = table_of(&c.entity) {
                    ids.entry(table).or_insert_with(|| (id_col, Vec::new())).1.push(c.entity_id.as_str());
                }
            }
        }
        let mut known = HashMap::new();
        for (table, (id_col, list)) in ids {
            // `table` and `id_col` come from SYNCED, never from the server.
            let sql = format!(
                "SELECT {id} FROM {t} WHERE {id} IN (SELECT value FROM json_each(?1))
                 UNION SELECT entity_id FROM sync_stamps WHERE entity = ?2 AND entity_id IN (SELECT value FROM json_each(?1))
                 UNION SELECT entity_id FROM sync_orphans WHERE entity = ?2 AND entity_id IN (SELECT value FROM json_each(?1))",
                id = quote(id_col),
                t = quote(table),
            );
            let here: Vec<String> = sqlx::query_scalar(&sql)
                .bind(serde_json::to_string(&list).map_err(crate::Error::from)?)
                .bind(table)
                .fetch_all(w.conn())
                .await
                .map_err(crate::Error::from)?;
            known.insert(table, here.into_iter().collect());
        }
        Ok(Batch { known, touched: HashSet::new(), pending: Vec::new() })
    }

    /// Takes `change` into the batch when it is a plain insert of a new row (true), or leaves
    /// it to the row path (false: then [`Batch::flush`] first).
    pub(crate) async fn offer(
        &mut self,
        w: &mut WriteTx<'_>,
        columns: &mut Columns,
        change: &'a Change,
    ) -> Result<bool, SyncError> {
        let first = self.touched.insert((&change.entity, &change.entity_id));
        if !first || change.op != Op::Insert {
            return Ok(false);
        }
        let Some((table, id_col)) = table_of(&change.entity) else {
            return Ok(false);
        };
        if !batchable(table) || self.known.get(table).is_some_and(|ids| ids.contains(&change.entity_id)) {
            return Ok(false);
        }
        let Value::Object(data) = &change.data else {
            return Ok(false); // the row path answers the protocol error
        };
        let cols = columns.get(w.conn(), table).await?;
        let mut values = apply::incoming_values(table, id_col, cols, data);
        apply::complete_new_row(table, id_col, cols, change, &mut values);
        self.pending.push(Pending { change, table, values });
        Ok(true)
    }

    /// Writes the waiting rows; answers the entity and outcome of each, in order.
    pub(crate) async fn flush(
        &mut self,
        w: &mut WriteTx<'_>,
        columns: &mut Columns,
    ) -> Result<Vec<(&'a str, Outcome)>, SyncError> {
        let pending = std::mem::take(&mut self.pending);
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        sqlx::query("SAVEPOINT sync_batch").execute(w.conn()).await.map_err(crate::Error::from)?;
        match write(w, &pending).await {
            Ok(()) => {
                sqlx::query("RELEASE sync_batch").execute(w.conn()).await.map_err(crate::Error::from)?;
                Ok(pending.iter().map(|p| (p.change.entity.as_str(), Outcome::Applied)).collect())
            }
            Err(SyncError::Constraint(_)) => {
                // A row was refused: redo them one at a time, so that one is kept as before.
                sqlx::query("ROLLBACK TO sync_batch").execute(w.conn()).await.map_err(crate::Error::from)?;
                sqlx::query("RELEASE sync_batch").execute(w.conn()).await.map_err(crate::Error::from)?;
                let mut outcomes = Vec::with_capacity(pending.len());
                for p in &pending {
                    outcomes.push((p.change.entity.as_str(), apply::apply(w, columns, p.change).await?));
                }
                Ok(outcomes)
            }
            Err(e) => Err(e),
        }
    }
}

/// The rows, their stamps, and what their tables' rules do after new rows.
async fn write(w: &mut WriteTx<'_>, pending: &[Pending<'_>]) -> Result<(), SyncError> {
    // Runs of rows of one table with the same columns, each in multi-row statements.
    let mut start = 0;
    while start < pending.len() {
        let same =
            |p: &Pending<'_>| p.table == pending[start].table && names(&p.values).eq(names(&pending[start].values));
        let end = start + pending[start..].iter().take_while(|p| same(p)).count();
        insert_rows(w, &pending[start..end]).await?;
        start = end;
    }
    save_stamps(w, pending).await?;
    // Each table's rule for its new rows (the patients' numbers and search index).
    let mut by_table: BTreeMap<&'static str, Vec<NewRow<'_>>> = BTreeMap::new();
    for p in pending {
        by_table.entry(p.table).or_default().push((p.change.entity_id.as_str(), p.values.as_slice()));
    }
    for (table, rows) in &by_table {
        rows::rules_of(table).after_batch(w, rows).await?;
    }
    Ok(())
}

fn names(values: &[(String, Value)]) -> impl Iterator<Item = &str> {
    values.iter().map(|(k, _)| k.as_str())
}

async fn insert_rows(w: &mut WriteTx<'_>, rows: &[Pending<'_>]) -> Result<(), SyncError> {
    let Some(first) = rows.first() else { return Ok(()) };
    let width = first.values.len().max(1);
    let cols: Vec<String> = names(&first.values).map(quote).collect();
    let one = format!("({})", vec!["?"; width].join(", "));
    for chunk in rows.chunks((MAX_VARS / width).max(1)) {
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {}",
            quote(first.table),
            cols.join(", "),
            vec![one.as_str(); chunk.len()].join(", ")
        );
        let mut q = sqlx::query(&sql);
        for row in chunk {
            for (_, v) in &row.values {
                q = bind_value(q, v);
            }
        }
        q.execute(w.conn()).await.map_err(rows::constraint)?;
    }
    Ok(())
}

/// Each new row's stamps: the whole row set by its change (as `apply` saves them).
async fn save_stamps(w: &mut WriteTx<'_>, rows: &[Pending<'_>]) -> Result<(), SyncError> {
    for chunk in rows.chunks(MAX_VARS / 3) {
        let sql = format!(
            "INSERT INTO sync_stamps (entity, entity_id, stamps) VALUES {}
             ON CONFLICT (entity, entity_id) DO UPDATE SET stamps = excluded.stamps",
            vec!["(?, ?, ?)"; chunk.len()].join(", ")
        );
        let mut q = sqlx::query(&sql);
        for p in chunk {
            q = q
                .bind(p.table)
                .bind(p.change.entity_id.as_str())
                .bind(serde_json::json!({ "*": p.change.hlc }).to_string());
        }
        q.execute(w.conn()).await.map_err(crate::Error::from)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Actor, Store};
    use serde_json::json;

    fn change(seq: u64, entity: &str, id: &str, op: Op, data: Value) -> Change {
        Change {
            id: format!("dev-b-{seq}"),
            device_id: "dev-b".into(),
            device_seq: seq,
            entity: entity.into(),
            entity_id: id.into(),
            op,
            data,
            hlc: format!("{:016}-{:06}-dev-b", 1_800_000_000_000u64 + seq, 0),
            user_id: None,
            proof: None,
        }
    }

    fn patient(mrn: &str, given: &str, phone: &str) -> Value {
        json!({ "mrn": mrn, "given_name": given, "family_name": "Mwakyusa", "sex": "female", "phones": [phone],
                "created_at": "2027-01-15T08:00:00.000Z", "origin_device": "dev-b" })
    }

    /// Two pages: the first has rows a constraint refuses (a taken number, a missing bill),
    /// the second new rows mixed with updates, a delete and an update before its insert.
    fn pages() -> Vec<Vec<Change>> {
        let page1 = vec![
            change(1, "settings", "clinic_name", Op::Insert, json!({ "value": "\"Mlimani\"" })),
            change(2, "patients", "p1", Op::Insert, patient("B-1", "Amina", "+255754000001")),
            change(3, "patients", "p2", Op::Insert, patient("B-1", "Neema", "+255754000002")),
            change(
                4,
                "bill_lines",
                "l1",
                Op::Insert,
                json!({ "bill_id": "no-such-bill", "description": "x", "quantity": 1 }),
            ),
            change(5, "patients", "p3", Op::Insert, patient("B-3", "Zawadi", "")),
        ];
        let page2 = vec![
            change(6, "patients", "p4", Op::Insert, patient("B-4", "Rehema", "+255754000004")),
            change(7, "patients", "p5", Op::Insert, patient("B-5", "Halima", "+255754000005")),
            change(8, "patients", "p1", Op::Update, json!({ "given_name": "Aminata", "phones": ["+255754000009"] })),
            change(9, "patients", "p6", Op::Update, json!({ "notes": "came back" })),
            change(10, "patients", "p6", Op::Insert, patient("B-6", "Subira", "+255754000006")),
            change(11, "patients", "p7", Op::Insert, patient("B-7", "Imani", "+255754000007")),
            change(12, "patients", "p4", Op::Delete, json!({ "deleted_at": "2027-01-16T08:00:00.000Z" })),
            change(13, "settings", "currency", Op::Insert, json!({ "value": "\"TZS\"" })),
        ];
        vec![page1, page2]
    }

    async fn by_rows(store: &Store, page: &[Change]) -> Vec<Outcome> {
        let mut w = store.begin_write(Actor::system()).await.unwrap();
        let mut columns = Columns::default();
        let mut out = Vec::new();
        for c in page {
            out.push(apply::apply(&mut w, &mut columns, c).await.unwrap());
        }
        w.commit_unaudited().await.unwrap();
        out
    }

    /// The outcomes, and how many changes took the batch.
    async fn by_batch(store: &Store, page: &[Change]) -> (Vec<Outcome>, usize) {
        let mut taken = 0;
        let mut w = store.begin_write(Actor::system()).await.unwrap();
        let mut columns = Columns::default();
        let mut batch = Batch::preload(&mut w, page.iter()).await.unwrap();
        let mut out = Vec::new();
        for c in page {
            if batch.offer(&mut w, &mut columns, c).await.unwrap() {
                taken += 1;
                continue;
            }
            out.extend(batch.flush(&mut w, &mut columns).await.unwrap().into_iter().map(|(_, o)| o));
            out.push(apply::apply(&mut w, &mut columns, c).await.unwrap());
        }
        out.extend(batch.flush(&mut w, &mut columns).await.unwrap().into_iter().map(|(_, o)| o));
        w.commit_unaudited().await.unwrap();
        (out, taken)
    }

    async fn dump(store: &Store) -> Vec<String> {
        let mut all = Vec::new();
        for sql in [
            "SELECT json_object('pk', pk, 'id', id, 'mrn', mrn, 'given_name', given_name, 'phones', phones, 'notes', notes,
               'created_at', created_at, 'updated_at', updated_at, 'origin_device', origin_device, 'deleted_at', deleted_at) FROM patients ORDER BY pk",
            "SELECT key || '=' || value || '@' || updated_at FROM settings WHERE key IN ('clinic_name', 'currency') ORDER BY key",
            "SELECT entity || ' ' || entity_id || ' ' || stamps FROM sync_stamps WHERE entity <> 'settings' OR entity_id IN ('clinic_name', 'currency') ORDER BY 1",
            "SELECT entity || ' ' || entity_id FROM sync_orphans ORDER BY 1",
            "SELECT kind || ' ' || entity || ' ' || entity_id || ' ' || resolved FROM sync_conflicts ORDER BY 1",
            "SELECT patient_pk || ' ' || digits FROM patient_phones ORDER BY 1",
            "SELECT 'name ' || rowid FROM patient_name_fts WHERE patient_name_fts MATCH 'mwakyusa' ORDER BY rowid",
            "SELECT 'amina ' || rowid FROM patient_name_fts WHERE patient_name_fts MATCH 'amina*' ORDER BY rowid",
            "SELECT 'phone ' || rowid FROM patient_phone_fts WHERE patient_phone_fts MATCH '754000' ORDER BY rowid",
        ] {
            let rows: Vec<String> = sqlx::query_scalar(sql).fetch_all(store.pool()).await.unwrap();
            all.push(format!("{sql}\n{}", rows.join("\n")));
        }
        all
    }

    fn tally(outcomes: &[Outcome]) -> Vec<String> {
        let mut t: Vec<String> = outcomes.iter().map(|o| format!("{o:?}")).collect();
        t.sort();
        t
    }

    #[tokio::test]
    async fn a_page_through_the_batch_writes_what_it_writes_row_by_row() {
        let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let rows = Store::open_in_dir(dir_a.path()).await.unwrap();
        let batched = Store::open_in_dir(dir_b.path()).await.unwrap();
        let mut taken = Vec::new();
        for page in pages() {
            let expected = by_rows(&rows, &page).await;
            let (got, batched_here) = by_batch(&batched, &page).await;
            assert_eq!(tally(&got), tally(&expected));
            taken.push(batched_here);
        }
        // Page 1: all five offered (then redone row by row); page 2: p4, p5, p7, currency.
        assert_eq!(taken, vec![5, 4]);
        let (a, b) = (dump(&rows).await, dump(&batched).await);
        assert!(a[0].lines().count() > 6 && a[5].lines().count() > 5 && a[6].lines().count() > 6, "{a:#?}");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x, y);
        }
        // The page did take the paths it means to test.
        let refused: i64 = sqlx::query_scalar("SELECT count(*) FROM sync_conflicts WHERE kind = 'refused'")
            .fetch_one(batched.pool())
            .await
            .unwrap();
        assert_eq!(refused, 1);
        let found: Vec<i64> =
            sqlx::query_scalar("SELECT rowid FROM patient_phone_fts WHERE patient_phone_fts MATCH '754000007'")
                .fetch_all(batched.pool())
                .await
                .unwrap();
        assert_eq!(found.len(), 1);
    }
}
