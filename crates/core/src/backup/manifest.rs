//! A backup's manifest (`manifest.json`): what it holds and how to check it.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The `format` of every manifest this app writes.
pub const FORMAT: &str = "hms-backup-v1";
/// The manifest's file name inside a backup.
pub const MANIFEST: &str = "manifest.json";
/// The database's file name inside a backup.
pub const DATABASE: &str = "hms.db";

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    pub clinic: Clinic,
    /// The device whose data it is.
    pub device_id: String,
    /// When it was taken (RFC 3339 UTC).
    pub taken_at: String,
    /// The version of HMS that took it.
    pub app_version: String,
    /// The database's highest migration.
    pub schema_version: u32,
    /// Rows per table of the database copy.
    #[specta(type = BTreeMap<String, f64>)]
    pub counts: BTreeMap<String, u64>,
    /// The last entry of the device's audit chain (`None` before the first).
    pub audit_head: Option<AuditHead>,
    /// The highest change-log sequence the copy holds (its bulk-load batches included): a
    /// restore numbers new changes above it (see `restore`).
    #[specta(type = f64)]
    pub last_change_seq: u64,
    /// Every file of the backup but the manifest, the database first.
    pub files: Vec<FileEntry>,
}

/// Which clinic a backup is of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct Clinic {
    /// The clinic's name as set in Settings.
    pub name: String,
    /// The sync server's tenant id, when the device was enrolled.
    pub tenant_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct AuditHead {
    #[specta(type = f64)]
    pub seq: u64,
    pub hash: String,
}

/// One file: its path inside the backup ('/'-separated), size and SHA-256 (lowercase hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct FileEntry {
    pub path: String,
    #[specta(type = f64)]
    pub bytes: u64,
    pub sha256: String,
}

impl Manifest {
    /// Total bytes of the files it lists.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }

    /// Reads and checks the manifest of the backup at `dir`: [`Error::NotABackup`] when there is
    /// none, or it is not one this app writes.
    pub fn read(dir: &Path) -> Result<Manifest> {
        if !dir.is_dir() {
            return Err(not_a_backup(format!("{} is not a backup folder", dir.display())));
        }
        let path = dir.join(MANIFEST);
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(not_a_backup(format!("{} holds no {MANIFEST}", dir.display())))
            }
            Err(e) => return Err(Error::storage(format_args!("{}: {e}", path.display()))),
        };
        let manifest: Manifest = serde_json::from_slice(&text)
            .map_err(|e| not_a_backup(format!("{MANIFEST} is not an HMS backup manifest ({e})")))?;
        if manifest.format != FORMAT {
            return Err(not_a_backup(format!("{MANIFEST} has format {:?}, not {FORMAT:?}", manifest.format)));
        }
        if manifest.files.first().map(|f| f.path.as_str()) != Some(DATABASE) {
            return Err(not_a_backup(format!("{MANIFEST} lists no database")));
        }
        for f in &manifest.files {
            if !safe_relative(&f.path) {
                return Err(not_a_backup(format!("{MANIFEST} names a file outside the backup: {:?}", f.path)));
            }
        }
        Ok(manifest)
    }
}

/// A path inside the backup: relative, '/'-separated, no `..`, no empty part.
fn safe_relative(path: &str) -> bool {
    !path.is_empty()
        && path.split('/').all(|p| !p.is_empty() && p != "." && p != ".." && !p.contains(['\\', ':', '\0']))
}

pub(super) fn not_a_backup(why: String) -> Error {
    Error::NotABackup { why }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_inside_the_backup_are_taken() {
        assert!(safe_relative("hms.db"));
        assert!(safe_relative("attachments/ab/abcd"));
        for bad in ["", "/etc/passwd", "../x", "a/../b", "a//b", "a\\b", "C:x", "./a"] {
            assert!(!safe_relative(bad), "{bad:?}");
        }
    }
}
