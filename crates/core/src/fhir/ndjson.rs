//! The whole clinic as newline-delimited JSON, one file per resource type (`Patient.ndjson`,
//! `Observation.ndjson`, ...) and a `manifest.json` listing them, as the FHIR Bulk Data
//! `$export` lays them out. Tables are read in pages of [`PAGE`] rows inside one read
//! transaction (one consistent snapshot) and written as they are read: the clinic is never
//! held in memory.

use super::context::{Ctx, RefStyle};
use super::source::{Emit, Out};
use super::{organization, source, AUDIT_EXPORT};
use crate::error::{Error, Result};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Rows read at a time.
pub const PAGE: u32 = 1000;

/// How far an export is: rows read of all rows, and resources written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
pub struct ExportProgress {
    #[specta(type = f64)]
    pub rows_done: u64,
    #[specta(type = f64)]
    pub rows_total: u64,
    #[specta(type = f64)]
    pub resources: u64,
}

/// One file of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ExportFile {
    pub resource_type: String,
    pub file_name: String,
    #[specta(type = f64)]
    pub count: u64,
}

/// What a clinic export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ClinicExport {
    pub dir: String,
    pub files: Vec<ExportFile>,
    #[specta(type = f64)]
    pub resources: u64,
}

/// The open files, by resource type.
struct Writers {
    dir: PathBuf,
    open: BTreeMap<String, (BufWriter<File>, u64)>,
}

impl Out for Writers {
    fn put(&mut self, resource_type: &str, _id: &str, json: &[u8]) -> Result<()> {
        if !self.open.contains_key(resource_type) {
            // Resource types are the mappings' own constants, never read from data.
            let path = self.dir.join(format!("{resource_type}.ndjson"));
            let file = File::create(&path).map_err(|e| io_error(&path, e))?;
            self.open.insert(resource_type.to_string(), (BufWriter::new(file), 0));
        }
        let Some((file, n)) = self.open.get_mut(resource_type) else { return Err(Error::internal("ndjson writer")) };
        file.write_all(json).map_err(|e| io_error(&self.dir, e))?;
        file.write_all(b"\n").map_err(|e| io_error(&self.dir, e))?;
        *n += 1;
        Ok(())
    }
}

impl Writers {
    fn finish(self) -> Result<Vec<ExportFile>> {
        let mut files = Vec::new();
        for (ty, (mut file, count)) in self.open {
            file.flush().map_err(|e| io_error(&self.dir, e))?;
            files.push(ExportFile { file_name: format!("{ty}.ndjson"), resource_type: ty, count });
        }
        Ok(files)
    }
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::StorageFull {
        Error::storage_full(path.display().to_string(), e)
    } else {
        Error::storage(format_args!("cannot write {}: {e}", path.display()))
    }
}

/// Exports every record of the clinic into `dir` (created if missing; files of an earlier
/// export there are replaced). Needs `backup_manage` (administrators); `progress` is called
/// after every page. Audited as `fhir.export` of the clinic.
pub async fn export_clinic(
    store: &Store,
    auth: &Authorized,
    dir: &Path,
    mut progress: impl FnMut(ExportProgress),
) -> Result<ClinicExport> {
    auth.require(Permission::BackupManage)?;
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let cx = Ctx::new(store, RefStyle::Relative).await?;
    let mut files = Writers { dir: dir.to_path_buf(), open: BTreeMap::new() };
    let mut out = Emit::new(&mut files);
    out.value(organization::clinic(&cx).await?)?;
    let mut p = ExportProgress { rows_done: 0, rows_total: 0, resources: out.count };
    // One read transaction: every page sees the same snapshot of the database.
    let mut tx = store.pool().begin().await?;
    for src in source::all() {
        p.rows_total += src.count(&mut tx).await?;
    }
    progress(p);
    for src in source::all() {
        let mut after = String::new();
        loop {
            let rows = src.page(&mut tx, &after, PAGE).await?;
            let Some(last) = rows.last() else { break };
            after = source::text(last, "id")?;
            for row in &rows {
                (src.map)(row, &cx, &mut out)?;
            }
            p.rows_done += rows.len() as u64;
            p.resources = out.count;
            progress(p);
        }
    }
    tx.rollback().await?;
    let files = files.finish()?;
    write_manifest(store, dir, &files)?;
    let mut w = store.begin_write(auth.actor()).await?;
    w.audit(
        AUDIT_EXPORT,
        "clinic",
        None,
        json!({ "format": "ndjson", "resources": p.resources, "files": files.len() }),
    )
    .await?;
    w.commit().await?;
    Ok(ClinicExport { dir: dir.display().to_string(), files, resources: p.resources })
}

/// `manifest.json`: the Bulk Data completion manifest, with file names for URLs.
fn write_manifest(store: &Store, dir: &Path, files: &[ExportFile]) -> Result<()> {
    let manifest = json!({
        "transactionTime": store.now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "request": "hms-admin fhir export",
        "requiresAccessToken": false,
        "output": files.iter().map(|f| json!({ "type": f.resource_type, "url": f.file_name, "count": f.count })).collect::<Vec<_>>(),
        "error": [],
    });
    let path = dir.join("manifest.json");
    let bytes = serde_json::to_vec_pretty(&manifest).map_err(Error::internal)?;
    std::fs::write(&path, bytes).map_err(|e| io_error(&path, e))
}
