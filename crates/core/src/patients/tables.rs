//! The patients' tables as storage and sync know them (`store::tables`): the register,
//! whose local `pk` is the search indexes' rowid, and the merges.
//!
//! Around a pulled change a patient's number is claimed (one MRN per patient,
//! `mrn_rule::claim_mrn`) and the search indexes follow the row; in the background the
//! indexes' segments are merged a little at a time (automerge is off, migration 0004).
//!
//! A merge pulled from another device moves this device's printouts of the merged record to
//! the survivor (`printouts` is local: the merge's own moves of synced rows arrive as
//! changes, these do not).

use super::{mrn_rule, repo};
use crate::error::Result;
use crate::store::tables::{Hook, Label, NewRow, Table, TableRules, Values};
use crate::store::WriteTx;
use sqlx::{SqliteConnection, SqlitePool};

/// The full-text indexes of the register.
const SEARCH_INDEXES: [&str; 2] = ["patient_name_fts", "patient_phone_fts"];

struct PatientRules;

impl TableRules for PatientRules {
    fn before_apply<'a>(&'a self, w: &'a mut WriteTx<'_>, id: &'a str, values: &'a mut Values) -> Hook<'a> {
        Box::pin(mrn_rule::claim_mrn(w, id, values))
    }

    fn after_apply<'a>(&'a self, w: &'a mut WriteTx<'_>, id: &'a str) -> Hook<'a> {
        Box::pin(repo::reindex(w, id))
    }

    fn after_batch<'a>(&'a self, w: &'a mut WriteTx<'_>, rows: &'a [NewRow<'a>]) -> Hook<'a> {
        Box::pin(async move {
            mrn_rule::settle_new_mrns(w, rows).await?;
            repo::index_new_rows(w, rows).await
        })
    }

    /// "Amina Mwakyusa (K7Q2-000123)".
    fn label<'a>(&'a self, conn: &'a mut SqliteConnection, id: &'a str) -> Label<'a> {
        Box::pin(async move {
            Ok(sqlx::query_scalar(
                "SELECT trim(given_name || ' ' || family_name) || ' (' || mrn || ')' FROM patients WHERE id = ?",
            )
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?)
        })
    }

    /// A bounded slice of FTS5 segment merging, so that searches keep few segments to read
    /// while no single write pays for a big merge.
    fn maintain<'a>(&'a self, pool: &'a SqlitePool) -> Hook<'a> {
        Box::pin(async move {
            for table in SEARCH_INDEXES {
                // 'merge' with a negative N merges only if there are enough segments at a level.
                let sql = format!("INSERT INTO {table} ({table}, rank) VALUES ('merge', -64)");
                sqlx::query(&sql).execute(pool).await?;
            }
            Ok(())
        })
    }
}

inventory::submit! {
    Table { name: "patients", id_column: "id", synced: true, local_columns: &["pk"], rules: &PatientRules }
}
struct MergeRules;

impl TableRules for MergeRules {
    fn after_apply<'a>(&'a self, w: &'a mut WriteTx<'_>, id: &'a str) -> Hook<'a> {
        Box::pin(printouts_follow(w, id))
    }

    fn after_batch<'a>(&'a self, w: &'a mut WriteTx<'_>, rows: &'a [NewRow<'a>]) -> Hook<'a> {
        Box::pin(async move {
            for (id, _) in rows {
                printouts_follow(w, id).await?;
            }
            Ok(())
        })
    }
}

/// This device's printouts of a pulled merge's merged record go to its survivor.
async fn printouts_follow(w: &mut WriteTx<'_>, merge_id: &str) -> Result<()> {
    let pair: Option<(String, String)> =
        sqlx::query_as("SELECT survivor_id, merged_id FROM patient_merges WHERE id = ?")
            .bind(merge_id)
            .fetch_optional(w.conn())
            .await?;
    match pair {
        Some((survivor, merged)) => crate::printouts::repoint(w, &survivor, &merged).await,
        None => Ok(()),
    }
}

inventory::submit! {
    Table { name: "patient_merges", id_column: "id", synced: true, local_columns: &[], rules: &MergeRules }
}
