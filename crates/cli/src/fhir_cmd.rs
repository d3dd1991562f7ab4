//! `hms-admin fhir export [--patient MRN] [--out DIR]`: a patient's record as a FHIR R4
//! Bundle (`DIR/fhir-<MRN>.json`), or the whole clinic as Bulk Data NDJSON files in DIR. The
//! export runs as a signed-in user (`--user`, the password from HMS_ADMIN_PASSWORD or stdin),
//! so it passes the same permissions and audit as in the app.

use clap::Subcommand;
use hms_core::{SessionSlot, Store};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum FhirCommand {
    /// Export FHIR R4 JSON: one patient's record as a Bundle, or the whole clinic as NDJSON per
    /// resource type (the whole clinic needs an administrator).
    Export {
        /// The patient's MRN (or id); without it, the whole clinic.
        #[arg(long)]
        patient: Option<String>,
        /// The folder to write into (default: the current folder for a patient,
        /// `fhir-export-<date>-<time>` for the clinic).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The account to export as; its password is read from HMS_ADMIN_PASSWORD or stdin.
        #[arg(long, default_value = "admin")]
        user: String,
    },
}

pub async fn run(store: &Store, cmd: FhirCommand, password: &str) -> Result<(), String> {
    let FhirCommand::Export { patient, out, user } = cmd;
    let slot = SessionSlot::default();
    hms_core::auth::sign_in(store, &slot, &user, password).await.map_err(|e| format!("sign-in as {user}: {e}"))?;
    let auth = slot.authorize(store).await.map_err(|e| e.to_string())?;
    match patient {
        Some(p) => {
            let export = hms_core::fhir::export_patient(store, &auth, &p).await.map_err(|e| e.to_string())?;
            let dir = out.unwrap_or_else(|| PathBuf::from("."));
            let path = dir.join(export.file_name());
            write(&dir, &path, &export.json)?;
            println!("{}: a Bundle of {} resources", path.display(), export.resources);
        }
        None => {
            let name = format!("fhir-export-{}", store.now().format("%Y%m%d-%H%M%S"));
            let dir = out.unwrap_or_else(|| PathBuf::from(name));
            let mut shown = 0;
            let export = hms_core::fhir::export_clinic(store, &auth, &dir, |p| {
                let percent = (p.rows_done * 100).checked_div(p.rows_total).unwrap_or(100);
                if percent >= shown + 5 || p.rows_done == p.rows_total {
                    shown = percent;
                    eprintln!("fhir export: {percent}% ({} resources)", p.resources);
                }
            })
            .await
            .map_err(|e| e.to_string())?;
            for f in &export.files {
                println!("{}\t{}", f.file_name, f.count);
            }
            println!("{}: {} resources in {} files", export.dir, export.resources, export.files.len());
        }
    }
    slot.end(store);
    Ok(())
}

fn write(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}
