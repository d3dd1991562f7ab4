//! Which backups a folder keeps: the newest of each of the last 7 days, 4 weeks and 12 months
//! that have one (days, ISO weeks and months in UTC, as the folder names are). Only folders
//! this app made are counted or removed: named `hms-backup-...-<YYYYMMDDTHHMMSSZ>[-n]` and
//! holding an HMS manifest; nothing else in the folder is touched.

use super::io;
use super::manifest::{FORMAT, MANIFEST};
use super::take::PREFIX;
use crate::error::Result;
use chrono::{DateTime, Datelike, NaiveDateTime, Utc};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub daily: usize,
    pub weekly: usize,
    pub monthly: usize,
}

/// 7 daily, 4 weekly, 12 monthly.
pub const PRUNE_KEEP: Retention = Retention { daily: 7, weekly: 4, monthly: 12 };

/// For each time, whether the rule keeps it: the newest of its day among the `daily` most
/// recent days that have one, of its week among the `weekly` most recent weeks, of its month
/// among the `monthly` most recent months; the newest of all is always kept.
pub fn retained(times: &[DateTime<Utc>], rule: Retention) -> Vec<bool> {
    let mut order: Vec<usize> = (0..times.len()).collect();
    order.sort_by(|a, b| times[*b].cmp(&times[*a]));
    let mut keep = vec![false; times.len()];
    if let Some(newest) = order.first() {
        keep[*newest] = true;
    }
    let mut mark = |limit: usize, key: &dyn Fn(&DateTime<Utc>) -> (i32, u32)| {
        let mut seen = HashSet::new();
        for &i in &order {
            let k = key(&times[i]);
            if seen.contains(&k) {
                continue;
            }
            if seen.len() == limit {
                break;
            }
            seen.insert(k);
            keep[i] = true;
        }
    };
    mark(rule.daily, &|t| (t.year(), t.ordinal()));
    mark(rule.weekly, &|t| (t.iso_week().year(), t.iso_week().week()));
    mark(rule.monthly, &|t| (t.year(), t.month()));
    keep
}

/// The backups this app made in `dir`, with the time in their names.
pub(crate) fn ours(dir: &Path) -> Vec<(PathBuf, DateTime<Utc>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(at) = name_time(&name) else { continue };
        let path = e.path();
        let manifest = std::fs::read(path.join(MANIFEST)).ok();
        let ours = manifest
            .and_then(|m| serde_json::from_slice::<serde_json::Value>(&m).ok())
            .is_some_and(|m| m.get("format").and_then(|f| f.as_str()) == Some(FORMAT));
        if path.is_dir() && ours {
            out.push((path, at));
        }
    }
    out.sort_by_key(|e| std::cmp::Reverse(e.1));
    out
}

/// The time in a backup folder's name (`hms-backup-<clinic>-<YYYYMMDDTHHMMSSZ>[-n]`).
fn name_time(name: &str) -> Option<DateTime<Utc>> {
    let rest = name.strip_prefix(PREFIX)?;
    rest.split('-').rev().take(2).find_map(|part| {
        (part.len() == 16)
            .then(|| NaiveDateTime::parse_from_str(part, "%Y%m%dT%H%M%SZ").ok())
            .flatten()
            .map(|t| t.and_utc())
    })
}

/// Removes this app's backups in `dir` that the rule does not keep. Answers the removed.
pub fn prune(dir: &Path, rule: Retention) -> Result<Vec<PathBuf>> {
    let found = ours(dir);
    let times: Vec<DateTime<Utc>> = found.iter().map(|(_, t)| *t).collect();
    let keep = retained(&times, rule);
    let mut removed = Vec::new();
    for ((path, _), keep) in found.into_iter().zip(keep) {
        if !keep {
            std::fs::remove_dir_all(&path).map_err(|e| io(&path, e))?;
            removed.push(path);
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    #[test]
    fn daily_weekly_and_monthly_backups_are_kept() {
        // One backup a day at 02:00 for 400 days, and a second one on the last day.
        let start = Utc.with_ymd_and_hms(2025, 11, 1, 2, 0, 0).single().unwrap();
        let mut times: Vec<DateTime<Utc>> = (0..400).map(|d| start + Duration::days(d)).collect();
        let last = *times.last().unwrap();
        times.push(last + Duration::hours(10));
        let keep = retained(&times, PRUNE_KEEP);
        let kept: Vec<DateTime<Utc>> = times.iter().zip(&keep).filter(|(_, k)| **k).map(|(t, _)| *t).collect();
        // The newest; the 7 days; the 4 weeks' and 12 months' newest overlap them in part.
        assert!(kept.contains(&(last + Duration::hours(10))));
        assert!(!kept.contains(&last), "the older of the same day goes");
        for d in 1..7 {
            assert!(kept.contains(&(last - Duration::days(d))), "day -{d}");
        }
        let months: HashSet<(i32, u32)> = kept.iter().map(|t| (t.year(), t.month())).collect();
        assert_eq!(months.len(), 12, "12 months have a backup kept");
        assert!(kept.len() <= 1 + 7 + 4 + 12 && kept.len() >= 12, "{}", kept.len());
        // Every month kept is represented by its newest backup.
        for m in &months {
            let newest = times.iter().filter(|t| (t.year(), t.month()) == *m).max().unwrap();
            assert!(kept.contains(newest), "{m:?}");
        }
        // The oldest months are gone.
        assert!(!kept.iter().any(|t| *t < last - Duration::days(366)));
    }

    #[test]
    fn only_this_apps_backups_are_counted_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let make = |name: &str, manifest: Option<&str>| {
            let p = dir.path().join(name);
            std::fs::create_dir(&p).unwrap();
            if let Some(m) = manifest {
                std::fs::write(p.join(MANIFEST), m).unwrap();
            }
            p
        };
        let ok = format!(r#"{{"format":"{FORMAT}"}}"#);
        let base = Utc.with_ymd_and_hms(2026, 1, 1, 2, 0, 0).single().unwrap();
        let mut ours_made = Vec::new();
        for d in 0..30 {
            let t = base + Duration::days(d);
            ours_made.push(make(&format!("{PREFIX}x-{}", t.format("%Y%m%dT%H%M%SZ")), Some(&ok)));
        }
        let same_second =
            make(&format!("{PREFIX}x-{}-2", (base + Duration::days(29)).format("%Y%m%dT%H%M%SZ")), Some(&ok));
        let foreign = make("holiday-photos", None);
        let lookalike = make(&format!("{PREFIX}x-{}", base.format("%Y%m%dT%H%M%SZ")).replace("x-", "y-"), None);
        std::fs::write(dir.path().join("notes.txt"), "keep me").unwrap();
        let removed = prune(dir.path(), PRUNE_KEEP).unwrap();
        assert!(!removed.is_empty());
        assert!(foreign.exists() && lookalike.exists() && dir.path().join("notes.txt").exists());
        let left = ours(dir.path());
        assert!(left.len() <= 1 + 7 + 4 + 12);
        assert!(ours_made[29].exists() || same_second.exists());
        for (d, made) in ours_made.iter().enumerate().take(29).skip(23) {
            assert!(made.exists(), "day {d} kept");
        }
        assert!(!ours_made[1].exists(), "an old one of January that is not its month's newest goes");
    }
}
