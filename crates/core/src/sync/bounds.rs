//! What a pull keeps aside stays bounded, so that one rogue or broken device cannot fill this
//! device's disk or bury the conflicts inbox (issue 12; the README's Security model, "Bounds
//! on what a pull keeps").
//!
//! - **Orphans** (`sync_orphans`: an update of a row whose insert has not arrived) are kept at
//!   most [`ORPHAN_MAX_AGE_DAYS`] days and at most [`MAX_ORPHANS`] of them; past either the
//!   oldest are dropped first, at the end of a pull page, and each drop is audited
//!   (`sync.bounded`, with the counts). An honest orphan waits seconds to hours (its insert is
//!   on a later page, or held by the server's quarantine).
//! - **Open conflicts** are never dropped. What a device may add to them is capped instead:
//!   once [`MAX_OPEN_CONFLICTS_PER_DEVICE`] field or refused conflicts from one other device
//!   wait unresolved, its further ones are not kept (the merge itself goes on as it would:
//!   the newer value wins, a refused change is not applied). Each is counted in the page's
//!   audit entry and in [`SyncStatus::conflicts_not_kept`](super::SyncStatus), which the Sync
//!   screen shows until the inbox is below the cap again. Conflicts of the hospital rules
//!   (double bookings, MRNs) are always kept: they are bounded by the rows they are about,
//!   and the rows carry their effect. This device's own set-aside changes are always kept.
//! - **Resolved conflicts** (the inbox's history) are kept up to [`MAX_RESOLVED_CONFLICTS`];
//!   past it the longest resolved are deleted, audited the same way.

use super::SyncResult;
use crate::error::{Error, Result};
use crate::store::{meta, WriteTx};
use serde_json::json;
use sqlx::SqliteConnection;

/// The most orphans kept; past it the oldest parked are dropped.
pub const MAX_ORPHANS: i64 = 20_000;
/// Days an orphan waits for its row before it is dropped.
pub const ORPHAN_MAX_AGE_DAYS: i64 = 90;
/// Unresolved field and refused conflicts kept from one other device; its further ones are
/// counted, not kept.
pub const MAX_OPEN_CONFLICTS_PER_DEVICE: i64 = 1_000;
/// Resolved conflicts kept as the inbox's history; past it the longest resolved are deleted.
pub const MAX_RESOLVED_CONFLICTS: i64 = 5_000;

/// Conflicts not kept because their device was at [`MAX_OPEN_CONFLICTS_PER_DEVICE`].
pub(super) const NOT_KEPT_KEY: &str = "sync_conflicts_not_kept";

/// Kinds whose intake from one device is capped (the others are bounded by their rows).
const CAPPED_KINDS: &str = "('field', 'refused')";

/// Whether a conflict of `kind` from `device` may be kept: false (and counted) when that
/// device already has [`MAX_OPEN_CONFLICTS_PER_DEVICE`] open ones of the capped kinds.
pub(crate) async fn admit_conflict(w: &mut WriteTx<'_>, kind: &str, device: &str) -> Result<bool> {
    if !matches!(kind, "field" | "refused") || device == w.device_id() {
        return Ok(true);
    }
    let open: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM sync_conflicts WHERE resolved = 0 AND remote_device = ? AND kind IN {CAPPED_KINDS}"
    ))
    .bind(device)
    .fetch_one(w.conn())
    .await?;
    if open < MAX_OPEN_CONFLICTS_PER_DEVICE {
        return Ok(true);
    }
    let before = not_kept(w.conn()).await?;
    meta::set(w.conn(), NOT_KEPT_KEY, &(before + 1).to_string()).await?;
    Ok(false)
}

/// Conflicts not kept since the inbox was last below the cap.
pub(super) async fn not_kept(conn: &mut SqliteConnection) -> Result<i64> {
    Ok(meta::get(&mut *conn, NOT_KEPT_KEY).await?.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// What [`enforce`] dropped.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dropped {
    pub orphans_by_age: u64,
    pub orphans_by_cap: u64,
    pub resolved_conflicts: u64,
}

impl Dropped {
    pub(crate) fn any(&self) -> bool {
        self.orphans_by_age + self.orphans_by_cap + self.resolved_conflicts > 0
    }
}

/// Brings the orphans and the resolved conflicts back within their bounds, oldest first, and
/// audits what it dropped (`sync.bounded`) in the same write. Clears the "not kept" count once
/// no device is at the open-conflicts cap. Run at the end of every pull page.
pub(crate) async fn enforce(w: &mut WriteTx<'_>) -> SyncResult<Dropped> {
    let mut dropped = Dropped::default();
    let cutoff =
        (w.now() - chrono::Duration::days(ORPHAN_MAX_AGE_DAYS)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    dropped.orphans_by_age = sqlx::query("DELETE FROM sync_orphans WHERE parked_at < ?")
        .bind(&cutoff)
        .execute(w.conn())
        .await
        .map_err(Error::from)?
        .rows_affected();
    let orphans: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sync_orphans").fetch_one(w.conn()).await.map_err(Error::from)?;
    if orphans > MAX_ORPHANS {
        dropped.orphans_by_cap = sqlx::query(
            "DELETE FROM sync_orphans WHERE change_id IN
               (SELECT change_id FROM sync_orphans ORDER BY parked_at, change_id LIMIT ?)",
        )
        .bind(orphans - MAX_ORPHANS)
        .execute(w.conn())
        .await
        .map_err(Error::from)?
        .rows_affected();
    }
    let resolved: i64 = sqlx::query_scalar("SELECT count(*) FROM sync_conflicts WHERE resolved = 1")
        .fetch_one(w.conn())
        .await
        .map_err(Error::from)?;
    if resolved > MAX_RESOLVED_CONFLICTS {
        dropped.resolved_conflicts = sqlx::query(
            "DELETE FROM sync_conflicts WHERE id IN
               (SELECT id FROM sync_conflicts WHERE resolved = 1
                ORDER BY COALESCE(resolved_at, detected_at), id LIMIT ?)",
        )
        .bind(resolved - MAX_RESOLVED_CONFLICTS)
        .execute(w.conn())
        .await
        .map_err(Error::from)?
        .rows_affected();
    }
    if not_kept(w.conn()).await? > 0 {
        let full: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT 1 FROM sync_conflicts WHERE resolved = 0 AND kind IN {CAPPED_KINDS}
             GROUP BY remote_device HAVING count(*) >= ? LIMIT 1"
        ))
        .bind(MAX_OPEN_CONFLICTS_PER_DEVICE)
        .fetch_optional(w.conn())
        .await
        .map_err(Error::from)?;
        if full.is_none() {
            meta::set(w.conn(), NOT_KEPT_KEY, "0").await?;
        }
    }
    if dropped.any() {
        w.audit(
            "sync.bounded",
            "sync",
            None,
            json!({
                "orphans_dropped_by_age": dropped.orphans_by_age,
                "orphans_dropped_by_cap": dropped.orphans_by_cap,
                "resolved_conflicts_deleted": dropped.resolved_conflicts,
                "max_orphans": MAX_ORPHANS, "orphan_max_age_days": ORPHAN_MAX_AGE_DAYS,
                "max_resolved_conflicts": MAX_RESOLVED_CONFLICTS,
            }),
        )
        .await?;
    }
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Actor, Store};
    use crate::sync::apply::{self, Outcome};
    use crate::sync::rows::Columns;
    use hms_protocol::{Change, Op};
    use serde_json::Value;

    const OTHER: &str = "0190aaaa-0000-7000-8000-00000000000b";

    fn update_of_missing_patient(seq: u64) -> Change {
        Change {
            id: format!("{OTHER}-{seq}"),
            device_id: OTHER.into(),
            device_seq: seq,
            entity: "patients".into(),
            entity_id: crate::ids::new_id(),
            op: Op::Update,
            data: json!({ "given_name": "Neema" }),
            hlc: format!("{:016}-{:06}-{OTHER}", 1_800_000_000_000i64 + seq as i64, 0),
            user_id: None,
            proof: None,
        }
    }

    async fn scalar(store: &Store, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(store.pool()).await.unwrap()
    }

    async fn bounded_entries(store: &Store) -> Vec<Value> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'sync.bounded' ORDER BY seq")
                .fetch_all(store.pool())
                .await
                .unwrap();
        rows.iter().map(|d| serde_json::from_str(d).unwrap()).collect()
    }

    /// Fills `sync_orphans` with `n` rows parked `days_ago` days ago (ids in that order).
    async fn flood_orphans(store: &Store, n: i64, days_ago: i64, tag: &str) {
        sqlx::query(
            "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?1)
             INSERT INTO sync_orphans (change_id, entity, entity_id, change, parked_at)
             SELECT ?2 || printf('%08d', i), 'patients', ?2 || i, '{}',
                    strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || ?3 || ' days', '+' || i || ' seconds')
             FROM k",
        )
        .bind(n)
        .bind(tag)
        .bind(days_ago)
        .execute(store.pool())
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn orphans_past_the_age_or_the_cap_are_dropped_oldest_first_and_audited() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in_dir(dir.path()).await.unwrap();
        // 300 orphans older than the age limit, then a flood past the cap, newest last.
        flood_orphans(&store, 300, ORPHAN_MAX_AGE_DAYS + 5, "old-").await;
        flood_orphans(&store, MAX_ORPHANS + 250, 3, "mid-").await;
        // One more through the merge itself: an update of a row that is not here.
        let mut w = store.begin_write(Actor::system()).await.unwrap();
        let parked = update_of_missing_patient(1);
        assert_eq!(apply::apply(&mut w, &mut Columns::default(), &parked).await.unwrap(), Outcome::Missing);
        let dropped = enforce(&mut w).await.unwrap();
        w.commit().await.unwrap();

        assert_eq!(dropped, Dropped { orphans_by_age: 300, orphans_by_cap: 251, resolved_conflicts: 0 });
        assert_eq!(scalar(&store, "SELECT count(*) FROM sync_orphans").await, MAX_ORPHANS);
        assert_eq!(scalar(&store, "SELECT count(*) FROM sync_orphans WHERE change_id LIKE 'old-%'").await, 0);
        // The oldest of the flood went; the newest, and the one just parked, stayed.
        assert_eq!(
            scalar(
                &store,
                "SELECT count(*) FROM sync_orphans WHERE change_id LIKE 'mid-%' AND change_id <= 'mid-00000251'"
            )
            .await,
            0
        );
        assert_eq!(scalar(&store, "SELECT count(*) FROM sync_orphans WHERE change_id = 'mid-00000252'").await, 1);
        let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM sync_orphans WHERE change_id = ?")
            .bind(&parked.id)
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(kept, 1);
        let audit = bounded_entries(&store).await;
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0]["orphans_dropped_by_age"], 300);
        assert_eq!(audit[0]["orphans_dropped_by_cap"], 251);
        assert_eq!(audit[0]["max_orphans"], MAX_ORPHANS);
        assert_eq!(crate::sync::status(&store).await.unwrap().orphans, MAX_ORPHANS);

        // Within the bounds nothing goes and nothing is audited.
        let mut w = store.begin_write(Actor::system()).await.unwrap();
        assert!(!enforce(&mut w).await.unwrap().any());
        w.commit_unaudited().await.unwrap();
        assert_eq!(bounded_entries(&store).await.len(), 1);
    }

    #[tokio::test]
    async fn one_device_cannot_fill_the_inbox_and_resolved_conflicts_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in_dir(dir.path()).await.unwrap();
        // The other device fills its share of the inbox with refused changes, through the
        // merge's own refusal path.
        let mut w = store.begin_write(Actor::system()).await.unwrap();
        for seq in 1..=MAX_OPEN_CONFLICTS_PER_DEVICE as u64 + 40 {
            apply::refused(&mut w, &update_of_missing_patient(seq), "not_permitted: test", "").await.unwrap();
        }
        // This device's own set-aside changes and a third device's are still kept.
        let own = store.device_id().to_string();
        let mut mine = update_of_missing_patient(9_001);
        mine.device_id = own.clone();
        apply::refused(&mut w, &mine, "set aside", "").await.unwrap();
        let mut third = update_of_missing_patient(9_002);
        third.device_id = "0190aaaa-0000-7000-8000-00000000000c".into();
        apply::refused(&mut w, &third, "not_permitted: test", "").await.unwrap();
        enforce(&mut w).await.unwrap();
        w.audit("test.flood", "sync", None, json!({})).await.unwrap();
        w.commit().await.unwrap();

        let from_other =
            format!("SELECT count(*) FROM sync_conflicts WHERE resolved = 0 AND remote_device = '{OTHER}'");
        assert_eq!(scalar(&store, &from_other).await, MAX_OPEN_CONFLICTS_PER_DEVICE);
        assert_eq!(
            scalar(&store, "SELECT count(*) FROM sync_conflicts WHERE resolved = 0").await,
            MAX_OPEN_CONFLICTS_PER_DEVICE + 2
        );
        let status = crate::sync::status(&store).await.unwrap();
        assert_eq!(status.conflicts_not_kept, 40);
        assert_eq!(status.refused, MAX_OPEN_CONFLICTS_PER_DEVICE + 2);
        assert_eq!(status.open_conflicts, MAX_OPEN_CONFLICTS_PER_DEVICE + 2);

        // The administrator works through the inbox: once below the cap the count clears at
        // the next page, and the history past its bound is pruned, longest resolved first.
        sqlx::query(
            "UPDATE sync_conflicts SET resolved = 1, resolution = 'dismiss',
                    resolved_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 day')
             WHERE remote_device = ?",
        )
        .bind(OTHER)
        .execute(store.pool())
        .await
        .unwrap();
        sqlx::query(
            "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?1)
             INSERT INTO sync_conflicts (id, entity, entity_id, local, remote, local_hlc, remote_hlc, winner,
                                         remote_device, detected_at, kind, resolved, resolution, resolved_at)
             SELECT 'h-' || printf('%08d', i), 'patients', 'p' || i, '{}', '{}', '', '', 'local', ?2,
                    '2026-01-01T00:00:00.000Z', 'field', 1, 'keep_current',
                    strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-400 days', '+' || i || ' minutes')
             FROM k",
        )
        .bind(MAX_RESOLVED_CONFLICTS)
        .bind(OTHER)
        .execute(store.pool())
        .await
        .unwrap();
        let mut w = store.begin_write(Actor::system()).await.unwrap();
        let dropped = enforce(&mut w).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(dropped.resolved_conflicts, MAX_OPEN_CONFLICTS_PER_DEVICE as u64);
        assert_eq!(
            scalar(&store, "SELECT count(*) FROM sync_conflicts WHERE resolved = 1").await,
            MAX_RESOLVED_CONFLICTS
        );
        // The longest resolved went: the first MAX_OPEN_CONFLICTS_PER_DEVICE of the history.
        assert_eq!(
            scalar(&store, "SELECT count(*) FROM sync_conflicts WHERE id LIKE 'h-%' AND id <= 'h-00001000'").await,
            0
        );
        assert_eq!(scalar(&store, "SELECT count(*) FROM sync_conflicts WHERE resolved = 0").await, 2);
        let audit = bounded_entries(&store).await;
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0]["resolved_conflicts_deleted"], MAX_OPEN_CONFLICTS_PER_DEVICE);
        assert_eq!(crate::sync::status(&store).await.unwrap().conflicts_not_kept, 0);
    }
}
