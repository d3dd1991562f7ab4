//! `hms-admin fhir export [--patient MRN] [--out DIR]`: a patient's record as a FHIR R4
//! Bundle (`DIR/fhir-<MRN>.json`), or the whole clinic as Bulk Data NDJSON files in DIR.
//! `hms-admin fhir import FILE... [--yes]`: the preview of importing FHIR R4 Bundles or NDJSON
//! files (counts and problems), and with `--yes` the import. Both run as a signed-in user
//! (`--user`, the password from HMS_ADMIN_PASSWORD or stdin), so they pass the same
//! permissions and audit as in the app.

use clap::Subcommand;
use hms_core::{fhir, Authorized, SessionSlot, Store};
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
    /// Import FHIR R4 Bundles or NDJSON files: prints the preview (what would be created, what
    /// HMS does not store, every problem); `--yes` imports (each patient all or nothing).
    Import {
        /// The files (a folder's `*.ndjson` and `*.json` when a folder is given).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Import after printing the preview (without it, nothing is written).
        #[arg(long)]
        yes: bool,
        /// The account to import as (needs patients_import); its password is read from
        /// HMS_ADMIN_PASSWORD or stdin.
        #[arg(long, default_value = "admin")]
        user: String,
    },
}

pub async fn run(store: &Store, cmd: FhirCommand, password: &str) -> Result<(), String> {
    let user = match &cmd {
        FhirCommand::Export { user, .. } | FhirCommand::Import { user, .. } => user.clone(),
    };
    let slot = SessionSlot::default();
    hms_core::auth::sign_in(store, &slot, &user, password).await.map_err(|e| format!("sign-in as {user}: {e}"))?;
    let auth = slot.authorize(store).await.map_err(|e| e.to_string())?;
    let done = match cmd {
        FhirCommand::Export { patient, out, .. } => export(store, &auth, patient, out).await,
        FhirCommand::Import { files, yes, .. } => import(store, &auth, &files, yes).await,
    };
    slot.end(store);
    done
}

async fn export(store: &Store, auth: &Authorized, patient: Option<String>, out: Option<PathBuf>) -> Result<(), String> {
    match patient {
        Some(p) => {
            let export = hms_core::fhir::export_patient(store, auth, &p).await.map_err(|e| e.to_string())?;
            let dir = out.unwrap_or_else(|| PathBuf::from("."));
            let path = dir.join(export.file_name());
            write(&dir, &path, &export.json)?;
            println!("{}: a Bundle of {} resources", path.display(), export.resources);
        }
        None => {
            let name = format!("fhir-export-{}", store.now().format("%Y%m%d-%H%M%S"));
            let dir = out.unwrap_or_else(|| PathBuf::from(name));
            let mut shown = 0;
            let export = hms_core::fhir::export_clinic(store, auth, &dir, |p| {
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
    Ok(())
}

/// The files to read: each file given, and a folder's `.ndjson` and `.json` files (sorted).
fn input_paths(given: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in given {
        if !p.is_dir() {
            out.push(p.clone());
            continue;
        }
        let mut inside: Vec<PathBuf> = std::fs::read_dir(p)
            .map_err(|e| format!("{}: {e}", p.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|f| f.extension().is_some_and(|x| x == "ndjson" || x == "json") && !f.ends_with("manifest.json"))
            .collect();
        inside.sort();
        out.extend(inside);
    }
    Ok(out)
}

async fn import(store: &Store, auth: &Authorized, given: &[PathBuf], yes: bool) -> Result<(), String> {
    let files = input_paths(given)?
        .iter()
        .map(|p| fhir::import::read_file(p).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let progress = |p: fhir::import::ImportProgress| {
        if p.patients_done == p.patients_total || p.patients_done.is_multiple_of(500) {
            eprintln!("fhir import: {} of {} patients", p.patients_done, p.patients_total);
        }
    };
    let preview = fhir::import::preview(store, auth, &files, progress).await.map_err(|e| e.to_string())?;
    print_report("preview (nothing written)", &preview);
    if !yes {
        println!("run again with --yes to import");
        return Ok(());
    }
    let report = fhir::import::import(store, auth, &files, progress).await.map_err(|e| e.to_string())?;
    print_report("imported", &report);
    Ok(())
}

fn print_report(title: &str, r: &fhir::import::ImportReport) {
    let line = |counts: &[fhir::import::Count]| {
        counts.iter().map(|c| format!("{} {}", c.count, c.kind)).collect::<Vec<_>>().join(", ")
    };
    println!("{title}: {} file(s)", r.files);
    println!("  read: {}", line(&r.read));
    println!(
        "  patients: {} ({} new, {} already here, {} refused)",
        r.patients, r.patients_new, r.patients_matched, r.patients_refused
    );
    println!("  created: {}", if r.created.is_empty() { "nothing".to_string() } else { line(&r.created) });
    println!("  unchanged (already here): {}", r.unchanged);
    println!("  not stored: {}", if r.not_stored.is_empty() { "nothing".to_string() } else { line(&r.not_stored) });
    println!("  problems: {}", r.problems.len());
    for p in &r.problems {
        let patient = p.patient.as_deref().map(|x| format!(" [refuses {x}]")).unwrap_or_default();
        println!("    {} {}: {}{patient}", p.resource, p.field, p.message);
    }
}

fn write(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}
