//! Push: the unsent outbox, oldest first, in batches the server acknowledges. A change the
//! server refuses for good (`forbidden_change`, `change_too_large`) has its segment set aside
//! ([`set_aside`]) and the push goes on with the rest.

use super::client::Client;
use super::status::{client, unsent, AUDIT_QUEUED_KEY};
use super::{clock_check, set_aside};
use super::{no_progress, Progress, PushReport, SyncError, SyncPhase, SyncProgress, SyncResult};
use crate::error::Error;
use crate::store::seal::{op_and_seq, OutboxRow, OUTBOX_COLUMNS};
use crate::store::{meta, Actor, Store};
use hms_protocol::{PushRequest, PushResponse, RawChange};
use serde::Serialize;
use serde_json::value::RawValue;

/// Outbox entries a push sends at once (the server takes up to `hms_protocol::MAX_PUSH_BATCH`).
pub const PUSH_BATCH: usize = 1_000;

/// A batch ends at the first segment end past this many bytes of change data, whatever its
/// count, so that its request stays well inside the server's `hms_protocol::MAX_BODY_BYTES`.
pub const PUSH_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// Sends every unsent outbox entry, oldest first, [`PUSH_BATCH`] at a time.
pub async fn push(store: &Store) -> SyncResult<PushReport> {
    push_with(store, &no_progress).await
}

/// [`push`], reporting progress after every batch.
///
/// While the server stores a batch, this device reads the next one from the outbox and marks
/// the batch before as acknowledged (that one's answer had come): the server's time overlaps
/// the device's. Batches are still sent one after the other, each after the one before it
/// was acknowledged, so the server stores them in order.
pub async fn push_with(store: &Store, progress: Progress<'_>) -> SyncResult<PushReport> {
    let http = client(store).await?;
    // A bulk load's batches go out as the changes they hold, each at its own sequence.
    crate::store::batches::expand(store).await?;
    queue_audit(store).await?;
    requeue_what_the_server_lost(store, &http).await?;
    let mut report = PushReport::default();
    let total = unsent(store).await?;
    let mut ready = read_batch(store, 0).await?;
    // The acknowledged batch not marked yet: (first, last) seq.
    let mut acknowledged: Option<(i64, i64)> = None;
    loop {
        let Some(batch) = ready.take() else {
            mark_pushed(store, acknowledged).await?;
            return Ok(report);
        };
        let sent = batch.changes.len() as u64;
        let sent_ms = clock_check::wall_ms(store);
        let request = Outgoing { changes: batch.changes };
        let post = async {
            let answer =
                http.post_refusable::<_, PushResponse>(&format!("{}/push", hms_protocol::API_PREFIX), &request).await;
            (answer, clock_check::wall_ms(store))
        };
        let ((answer, received_ms), marked, next) =
            tokio::join!(post, mark_pushed(store, acknowledged.take()), read_batch(store, batch.last));
        marked?;
        let answer = match answer? {
            Ok(answer) => answer,
            // The server will never take these: set their segments aside, send the rest.
            Err(refusal) => {
                report.set_aside += set_aside::set_aside(store, &refusal, batch.first, batch.last).await?;
                ready = read_batch(store, 0).await?;
                continue;
            }
        };
        ready = next?;
        acknowledged = Some((batch.first, batch.last));
        if report.batches == 0 {
            clock_check::observe(store, answer.clock.as_ref(), sent_ms, received_ms).await?;
        }
        report.sent += sent;
        report.accepted += answer.accepted;
        report.duplicates += answer.duplicates;
        report.batches += 1;
        progress(SyncProgress {
            phase: SyncPhase::Push,
            changes: report.sent,
            fraction: (total > 0).then(|| (report.sent as f64 / total as f64).min(1.0)),
            pages: report.batches,
        });
    }
}

/// Up to [`PUSH_BATCH`] unsent outbox entries after seq `after`, oldest first, as sent.
struct Batch {
    first: i64,
    last: i64,
    changes: Vec<RawChange>,
}

/// [`PushRequest`] as this device writes it: each change's data and proof are the JSON text
/// its outbox holds (what it signed, parsed), sent as they are instead of parsed and written
/// again. A test holds the two to the same JSON.
#[derive(Serialize)]
struct Outgoing {
    changes: Vec<RawChange>,
}

/// An outbox row as it is pushed: its data and proof as the text it holds.
fn outgoing(row: OutboxRow) -> Result<RawChange, Error> {
    let (op, device_seq) = op_and_seq(&row)?;
    Ok(RawChange {
        id: row.id,
        device_id: row.device_id,
        device_seq,
        entity: row.entity,
        entity_id: row.entity_id,
        op,
        data: RawValue::from_string(row.data)?,
        hlc: row.hlc,
        user_id: row.user_id,
        proof: row.proof.map(RawValue::from_string).transpose()?,
    })
}

/// The next batch after seq `after` (`None`: nothing left to send). A batch ends at the end
/// of a segment: the server checks segments whole. A bulk load's batch written during the
/// push waits, with whatever came after it, for the next push to write it out.
async fn read_batch(store: &Store, after: i64) -> SyncResult<Option<Batch>> {
    let sql = format!(
        "SELECT {OUTBOX_COLUMNS} FROM change_log
         WHERE pushed_at IS NULL AND set_aside_at IS NULL AND seq > ?
           AND seq < (SELECT COALESCE(min(first_seq), 9223372036854775807) FROM change_batches)
         ORDER BY seq LIMIT ?"
    );
    let mut rows: Vec<OutboxRow> =
        sqlx::query_as(&sql).bind(after).bind(PUSH_BATCH as i64).fetch_all(store.pool()).await.map_err(Error::from)?;
    match batch_end(&rows) {
        Some(end) => rows.truncate(end + 1),
        None if rows.is_empty() => return Ok(None),
        None => return Err(SyncError::App(Error::internal("unsent outbox entries without a proof"))),
    }
    let (Some(first), Some(last)) = (rows.first().map(|r| r.seq), rows.last().map(|r| r.seq)) else {
        return Ok(None);
    };
    let changes = rows.into_iter().map(outgoing).collect::<Result<Vec<_>, Error>>()?;
    Ok(Some(Batch { first, last, changes }))
}

/// The index of the batch's last entry: the first segment end (an entry with a proof) past
/// [`PUSH_BATCH_BYTES`], else the last segment end of `rows`.
fn batch_end(rows: &[OutboxRow]) -> Option<usize> {
    let mut bytes = 0;
    let mut end = None;
    for (i, row) in rows.iter().enumerate() {
        bytes += row.data.len();
        if row.proof.is_some() {
            end = Some(i);
            if bytes > PUSH_BATCH_BYTES {
                break;
            }
        }
    }
    end
}

/// Marks an acknowledged batch in one statement. (Entries written meanwhile have higher seqs
/// and were not in it, so the range is exactly the batch.)
async fn mark_pushed(store: &Store, batch: Option<(i64, i64)>) -> SyncResult<()> {
    let Some((first, last)) = batch else {
        return Ok(());
    };
    let now = store.now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    sqlx::query("UPDATE change_log SET pushed_at = ? WHERE pushed_at IS NULL AND seq BETWEEN ? AND ?")
        .bind(now)
        .bind(first)
        .bind(last)
        .execute(store.pool())
        .await
        .map_err(Error::from)?;
    Ok(())
}

/// After the server is restored from a backup it may lack this device's latest acknowledged
/// changes: always the newest ones, since a device pushes in sequence order. An empty push
/// answers the highest device sequence the server holds from this device; whatever was
/// acknowledged beyond it is queued again. Resending is harmless: the server stores each
/// (device, sequence) once.
async fn requeue_what_the_server_lost(store: &Store, http: &Client) -> SyncResult<()> {
    let acknowledged: Option<i64> = sqlx::query_scalar("SELECT max(seq) FROM change_log WHERE pushed_at IS NOT NULL")
        .fetch_one(store.pool())
        .await
        .map_err(Error::from)?;
    let Some(acknowledged) = acknowledged else {
        return Ok(());
    };
    let answer: PushResponse =
        http.post(&format!("{}/push", hms_protocol::API_PREFIX), &PushRequest { changes: Vec::new() }).await?;
    let held = i64::try_from(answer.device_high_water).unwrap_or(i64::MAX);
    if held < acknowledged {
        sqlx::query("UPDATE change_log SET pushed_at = NULL WHERE seq > ? AND pushed_at IS NOT NULL")
            .bind(held)
            .execute(store.pool())
            .await
            .map_err(Error::from)?;
    }
    Ok(())
}

/// Puts this device's audit entries written since the last push into the outbox (entity
/// `audit_log`, insert-only, the entry as written: the other devices keep it whole in
/// `audit_remote`). Done at push time rather than on every write, so a device that never
/// syncs keeps no second copy of its audit, and the outbox of a write is only its rows.
pub(super) async fn queue_audit(store: &Store) -> SyncResult<()> {
    let mut w = store.begin_write(Actor::system()).await?;
    let queued: i64 = meta::get(w.conn(), AUDIT_QUEUED_KEY).await?.and_then(|s| s.parse().ok()).unwrap_or(0);
    let last: Option<i64> =
        sqlx::query_scalar("SELECT max(seq) FROM audit_log").fetch_one(w.conn()).await.map_err(Error::from)?;
    let Some(last) = last.filter(|l| *l > queued) else {
        return Ok(());
    };
    // After a restore, the first entry takes the floor; the others follow it.
    let floor = w.floor_seq().await?;
    sqlx::query(
        "INSERT INTO change_log (seq, id, entity, entity_id, op, data, hlc, device_id, user_id)
         SELECT CASE WHEN seq = (SELECT min(seq) FROM audit_log WHERE seq > ?) THEN ? END, id, 'audit_log', id, 'insert',
                json_object('seq', seq, 'id', id, 'at', at, 'user_id', user_id, 'device_id', device_id, 'action', action,
                            'entity', entity, 'entity_id', entity_id, 'detail', detail, 'prev_hash', prev_hash, 'hash', hash),
                ?, device_id, user_id
         FROM audit_log WHERE seq > ? AND seq <= ? ORDER BY seq",
    )
    .bind(queued)
    .bind(floor)
    .bind(w.stamp())
    .bind(queued)
    .bind(last)
    .execute(w.conn())
    .await
    .map_err(Error::from)?;
    meta::set(w.conn(), AUDIT_QUEUED_KEY, &last.to_string()).await?;
    w.commit_unaudited().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: i64, bytes: usize, proof: bool) -> OutboxRow {
        OutboxRow {
            seq,
            id: format!("c{seq}"),
            entity: "patients".into(),
            entity_id: format!("p{seq}"),
            op: "insert".into(),
            data: "x".repeat(bytes),
            hlc: String::new(),
            device_id: "dev".into(),
            user_id: None,
            proof: proof.then(|| "{}".to_string()),
        }
    }

    #[test]
    fn a_batch_ends_at_the_first_segment_end_past_its_byte_cap() {
        let half = PUSH_BATCH_BYTES / 2;
        // Segments [1, 2], [3, 4] and [5]: the cap is passed inside the second.
        let rows = [row(1, half, false), row(2, 10, true), row(3, half, false), row(4, 10, true), row(5, 10, true)];
        assert_eq!(batch_end(&rows), Some(3));
        // Under the cap: the last segment end; an unfinished segment stays out.
        assert_eq!(batch_end(&[row(1, 10, true), row(2, 10, true), row(3, 10, false)]), Some(1));
        // A segment larger than the cap still goes, alone.
        assert_eq!(batch_end(&[row(1, 2 * PUSH_BATCH_BYTES, true), row(2, 10, true)]), Some(0));
        assert_eq!(batch_end(&[row(1, 10, false)]), None);
    }

    /// Outbox rows sent as their JSON text read on the server as the protocol's request, the
    /// same as when each is parsed first ([`to_change`]).
    #[test]
    fn an_outbox_row_is_sent_as_the_change_it_holds() {
        let proof = hms_protocol::proof::Proof {
            first_seq: 1,
            device_key: "ab".repeat(32),
            device_sig: "cd".repeat(64),
            user_id: Some("u-1".into()),
            user_sig: Some("ef".repeat(64)),
        };
        let stored = |seq: i64, proof: Option<String>| {
            OutboxRow {
            seq,
            id: format!("c{seq}"),
            entity: "patients".into(),
            entity_id: format!("p{seq}"),
            op: if seq == 1 { "insert" } else { "update" }.into(),
            data: r#"{"given_name":"Amina","phones":["+255 754 000 001"],"notes":"line\nbreak \"é\"","weight":61.5,"merged_into":null}"#.into(),
            hlc: "0001800000000000-000000-dev".into(),
            device_id: "dev".into(),
            user_id: Some("u-1".into()),
            proof,
        }
        };
        let rows = || vec![stored(1, None), stored(2, Some(serde_json::to_string(&proof).unwrap()))];
        let sent = Outgoing { changes: rows().into_iter().map(outgoing).collect::<Result<Vec<_>, Error>>().unwrap() };
        let parsed = PushRequest {
            changes: rows().into_iter().map(crate::store::seal::to_change).collect::<Result<Vec<_>, Error>>().unwrap(),
        };
        let text = serde_json::to_string(&sent).unwrap();
        assert_eq!(serde_json::from_str::<PushRequest>(&text).unwrap(), parsed);
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), serde_json::to_value(&parsed).unwrap());
        assert!(outgoing(OutboxRow { data: "{oops".into(), ..stored(3, None) }).is_err());
    }
}
