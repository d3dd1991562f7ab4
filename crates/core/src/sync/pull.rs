//! Pull: the tenant's changes after the saved cursor, merged a page at a time.

use super::client::Client;
use super::proof::PageProofs;
use super::restored::Own;
use super::status::{client, cursor, unsent, CURSOR_KEY};
use super::{apply, apply_batch, no_progress, Progress, PullReport, SyncError, SyncPhase, SyncProgress, SyncResult};
use crate::error::Error;
use crate::store::{meta, Actor, Store};
use hms_protocol::PullResponse;
use std::collections::HashMap;

/// Changes a pull asks for at once.
pub const PULL_LIMIT: u32 = 1_000;

/// Fetches and applies the tenant's changes after the saved cursor, page by page; each page
/// is one transaction with the cursor it moves to.
pub async fn pull(store: &Store) -> SyncResult<PullReport> {
    pull_with(store, &no_progress).await
}

/// [`pull`], reporting progress after every page.
///
/// While a page is applied, the next one is already fetched and its device proofs checked
/// (both need nothing of this device's database), so the server's and the network's time
/// overlaps with the merge. A prefetched page is applied only after the page before it is
/// committed, and dropped unapplied when anything before it fails.
pub async fn pull_with(store: &Store, progress: Progress<'_>) -> SyncResult<PullReport> {
    let http = client(store).await?;
    let own = super::restored::Own::load(store).await?;
    let start = cursor(store).await?;
    let mut report = PullReport { cursor: start, ..Default::default() };
    let mut received: u64 = 0;
    let mut ahead: Option<Prefetch> = None;
    loop {
        let (page, proven) = match ahead.take() {
            Some(prefetched) => prefetched.wait().await?,
            None => first_page(store, &http, &own, report.cursor).await?,
        };
        if page.more && page.next > report.cursor {
            ahead = Some(Prefetch::start(&http, &own, page.next));
        }
        if page.changes.is_empty() {
            // Only changes the server withholds (a quarantined device's): step past them.
            if page.next > report.cursor {
                meta::set(store.pool(), CURSOR_KEY, &page.next.to_string()).await?;
                report.cursor = page.next;
                if page.more {
                    continue;
                }
            }
            return Ok(report);
        }
        if page.next <= report.cursor
            || page.changes.iter().any(|c| c.server_seq <= report.cursor || c.server_seq > page.next)
        {
            return Err(SyncError::Protocol("the server's page does not follow the cursor".into()));
        }
        let page_report = apply_checked(store, &page, &proven, &own, report.cursor).await?;
        report.applied += page_report.applied;
        report.own += page_report.own;
        report.older += page_report.older;
        report.conflicts += page_report.conflicts;
        report.refused += page_report.refused;
        report.audit += page_report.audit;
        report.pages += 1;
        report.cursor = page.next;
        received += page.changes.len() as u64;
        let span = page.high_water.saturating_sub(start);
        progress(SyncProgress {
            phase: SyncPhase::Pull,
            changes: received,
            fraction: if !page.more {
                Some(1.0)
            } else {
                (span > 0).then(|| ((page.next - start) as f64 / span as f64).min(1.0))
            },
            pages: report.pages,
        });
        if !page.more {
            return Ok(report);
        }
    }
}

/// The page after `after` with its device proofs checked.
type Checked = (PullResponse, PageProofs);

/// The first page of a pull: it carries what this device still has to send (`hms-server
/// devices`), and its round trip is timed against the server's clock (`clock_check`).
async fn first_page(store: &Store, http: &Client, own: &Own, after: u64) -> SyncResult<Checked> {
    let pending = unsent(store).await?;
    let sent_ms = super::clock_check::wall_ms(store);
    let page: PullResponse = http.get(&page_path(after, &format!("&pending={pending}"))).await?;
    super::clock_check::observe(store, page.clock.as_ref(), sent_ms, super::clock_check::wall_ms(store)).await?;
    let proven = super::proof::check_page_skipping(&page, |c| own.skips(c));
    Ok((page, proven))
}

fn page_path(after: u64, extra: &str) -> String {
    format!("{}/pull?after={after}&limit={PULL_LIMIT}{extra}", hms_protocol::API_PREFIX)
}

/// The next page, fetched and proof-checked on another task; aborted when dropped unused.
struct Prefetch(tokio::task::JoinHandle<SyncResult<Checked>>);

impl Prefetch {
    fn start(http: &Client, own: &Own, after: u64) -> Prefetch {
        let (http, own) = (http.clone(), own.clone());
        Prefetch(tokio::spawn(async move {
            let page: PullResponse = http.get(&page_path(after, "")).await?;
            let proven = super::proof::check_page_skipping(&page, |c| own.skips(c));
            Ok((page, proven))
        }))
    }

    async fn wait(mut self) -> SyncResult<Checked> {
        (&mut self.0).await.map_err(|e| SyncError::App(Error::internal(format!("pull: fetching a page: {e}"))))?
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Checks and applies one page in one transaction, with the cursor it moves to: every other
/// device's change must be in a segment its device's key proves, be signed by the user it
/// names (or be the system's), and pass the policy; what fails is refused, what passes is
/// merged.
#[cfg(test)]
pub(super) async fn apply_page(store: &Store, page: &PullResponse, after: u64) -> SyncResult<PullReport> {
    let own = Own::load(store).await?;
    apply_checked(store, page, &super::proof::check_page(page, store.device_id()), &own, after).await
}

/// [`apply_page`] of a page whose device proofs `proven` are checked already.
async fn apply_checked(
    store: &Store,
    page: &PullResponse,
    proven: &PageProofs,
    own: &Own,
    after: u64,
) -> SyncResult<PullReport> {
    let mut page_report = PullReport::default();
    let mut w = store.begin_write(Actor::system()).await?;
    let mut columns = super::rows::Columns::default();
    let mut newest: Option<crate::clock::HlcStamp> = None;
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut accounts = super::trust::accounts(&mut w).await?;
    // This device's clock: the later of its wall clock and its hybrid clock (this write's
    // stamp is after everything it has written or merged).
    let clock_ms = crate::clock::HlcStamp::parse(&w.stamp()).map_or(0, |s| s.millis).max(w.now().timestamp_millis());
    // The changes refused on this page, named in its audit entry (at most AUDITED_REFUSALS).
    let mut refusals: Vec<serde_json::Value> = Vec::new();
    // Conflicts a device at the open-conflicts cap sent on this page (`bounds`), not kept.
    let not_kept_before = super::bounds::not_kept(w.conn()).await?;
    let mut batch =
        apply_batch::Batch::preload(&mut w, page.changes.iter().map(|p| &p.change).filter(|c| !own.skips(c))).await?;
    // The proven author of each segment, found when its first change comes up (with the
    // accounts as they stand then: an account made earlier on the page signs later).
    let mut authors: HashMap<usize, Result<Option<String>, hms_policy::Refusal>> = HashMap::new();
    for (i, (pulled, verdict)) in page.changes.iter().zip(&proven.verdicts).enumerate() {
        let change = &pulled.change;
        if own.skips(change) {
            page_report.own += 1;
            continue;
        }
        let mark = match seen.get(&change.device_id) {
            Some(mark) => *mark,
            None => seen_mark(&mut w, &change.device_id).await?,
        };
        seen.insert(change.device_id.clone(), mark.max(change.device_seq));
        if change.device_seq <= mark {
            page_report.older += 1; // merged by an earlier pull
            continue;
        }
        // Not proven: neither applied nor allowed to move this device's clock.
        if let Err(why) = verdict {
            let why = format!("bad_proof: {why}");
            apply::refused(&mut w, change, &why, "").await?;
            page_report.refused += 1;
            note_refusal(&mut refusals, change, &why);
            continue;
        }
        // Not signed by the user it names (or that user has no key here): the same.
        let author = match proven.segment_end(i) {
            Some(end) => authors.entry(end).or_insert_with(|| author_of(page, proven, end, &accounts)).clone(),
            None => Err(no_segment()),
        };
        let checked = author.and_then(|author| super::trust::check(change, author.as_deref(), &accounts, clock_ms));
        // Not allowed (hms-policy, the server's own check): the same.
        if let Err(refusal) = checked {
            let why = super::trust::reason(&refusal);
            apply::refused(&mut w, change, &why, "").await?;
            page_report.refused += 1;
            note_refusal(&mut refusals, change, &why);
            continue;
        }
        accounts.fold(change);
        super::trust::note_key(&mut w, change).await?;
        if let Some(stamp) = crate::clock::HlcStamp::parse(&change.hlc) {
            match &newest {
                Some(n) if *n >= stamp => {}
                _ => newest = Some(stamp),
            }
        }
        // New rows wait in the batch; anything else is applied after the rows before it.
        if batch.offer(&mut w, &mut columns, change).await? {
            continue;
        }
        for (entity, outcome) in batch.flush(&mut w, &mut columns).await? {
            count(&mut page_report, entity, outcome);
        }
        let outcome = apply::apply(&mut w, &mut columns, change).await?;
        count(&mut page_report, &change.entity, outcome);
    }
    for (entity, outcome) in batch.flush(&mut w, &mut columns).await? {
        count(&mut page_report, entity, outcome);
    }
    // Later local writes get stamps after everything pulled, so they win over it and the
    // merge can tell "made after seeing it" from "made apart".
    if let Some(stamp) = &newest {
        w.observe(stamp);
    }
    for (device, seq) in &seen {
        sqlx::query(
            "INSERT INTO sync_seen (device_id, device_seq) VALUES (?, ?)
             ON CONFLICT (device_id) DO UPDATE SET device_seq = max(device_seq, excluded.device_seq)",
        )
        .bind(device)
        .bind(i64::try_from(*seq).unwrap_or(i64::MAX))
        .execute(w.conn())
        .await
        .map_err(Error::from)?;
    }
    meta::set(w.conn(), CURSOR_KEY, &page.next.to_string()).await?;
    let not_kept = (super::bounds::not_kept(w.conn()).await? - not_kept_before).max(0);
    // Orphans and resolved conflicts back within their bounds (audited when any go).
    let dropped = super::bounds::enforce(&mut w).await?;
    // A page that changed records here is audited. One with only own changes, old news
    // and other devices' audit entries is not: auditing it would send an entry that makes
    // the other devices audit their pull of it, and so on without end.
    if page_report.applied + page_report.conflicts + page_report.refused > 0 {
        w.audit(
            "sync.pull",
            "sync",
            None,
            serde_json::json!({
                "after": after, "next": page.next, "applied": page_report.applied,
                "own": page_report.own, "older": page_report.older,
                "conflicts": page_report.conflicts, "refused": page_report.refused,
                "audit": page_report.audit, "refusals": refusals, "conflicts_not_kept": not_kept,
            }),
        )
        .await?;
        w.commit().await?;
    } else if dropped.any() {
        w.commit().await?;
    } else {
        w.commit_unaudited().await?;
    }
    Ok(page_report)
}

/// The proven author of the segment that ends at change `end` (`hms_policy::prove_author_of`).
fn author_of(
    page: &PullResponse,
    proven: &PageProofs,
    end: usize,
    accounts: &hms_policy::Accounts,
) -> Result<Option<String>, hms_policy::Refusal> {
    match proven.segment(page, end) {
        Some(segment) => hms_policy::prove_author_of(&segment, proven.messages.get(&end), accounts),
        None => Err(no_segment()),
    }
}

fn no_segment() -> hms_policy::Refusal {
    hms_policy::Refusal {
        code: hms_policy::RefusalCode::BadUserProof,
        message: "the change belongs to no whole segment".into(),
    }
}

/// At most this many refused changes are named in a page's audit entry (all of them are in
/// the conflicts inbox).
const AUDITED_REFUSALS: usize = 50;

fn note_refusal(refusals: &mut Vec<serde_json::Value>, change: &hms_protocol::Change, why: &str) {
    if refusals.len() < AUDITED_REFUSALS {
        refusals.push(serde_json::json!({
            "change": change.id, "device": change.device_id, "entity": change.entity,
            "entity_id": change.entity_id, "user": change.user_id, "why": why,
        }));
    }
}

/// Adds what became of one pulled change to the page's report.
fn count(report: &mut PullReport, entity: &str, outcome: apply::Outcome) {
    match outcome {
        apply::Outcome::Applied if entity == "audit_log" => report.audit += 1,
        apply::Outcome::Applied => report.applied += 1,
        apply::Outcome::Older | apply::Outcome::Missing => report.older += 1,
        apply::Outcome::Conflict => report.conflicts += 1,
        apply::Outcome::Refused => report.refused += 1,
    }
}

/// The highest device sequence of `device` merged here (0: none yet).
async fn seen_mark(w: &mut crate::store::WriteTx<'_>, device: &str) -> SyncResult<u64> {
    let seq: Option<i64> = sqlx::query_scalar("SELECT device_seq FROM sync_seen WHERE device_id = ?")
        .bind(device)
        .fetch_optional(w.conn())
        .await
        .map_err(Error::from)?;
    Ok(seq.and_then(|s| u64::try_from(s).ok()).unwrap_or(0))
}
