//! Migrations that have landed are never edited: each one's SHA-384 checksum (as sqlx computes
//! it, and as it is recorded in every database it was applied to) is committed in its folder's
//! `CHECKSUMS` file, to which new migrations are only appended. This fails, naming the file,
//! when a landed migration changed, disappeared, or a new one was not appended.
//!
//! The device's migrations (`migrations/`, hms-core) and the server's, PostgreSQL
//! (`crates/server/migrations/`) and SQLite (`crates/server/migrations-sqlite/`, the clinic
//! hub), are checked; this crate depends on both.

use sqlx::migrate::Migrator;
use std::path::Path;

struct Listed {
    version: i64,
    checksum: String,
    file: String,
}

fn listed(path: &Path) -> Vec<Listed> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|line| {
            let parts: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(parts.len(), 3, "{}: a line is `<version> <sha384 hex> <file>`: {line:?}", path.display());
            Listed {
                version: parts[0].parse().unwrap_or_else(|_| panic!("{}: bad version in {line:?}", path.display())),
                checksum: parts[1].to_string(),
                file: parts[2].to_string(),
            }
        })
        .collect()
}

fn check(dir: &str, migrator: &Migrator) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let list_path = root.join(dir).join("CHECKSUMS");
    let list = listed(&list_path);
    let mut problems = Vec::new();

    for pair in list.windows(2) {
        if pair[1].version <= pair[0].version {
            problems.push(format!(
                "{}: versions must increase ({} after {})",
                list_path.display(),
                pair[1].version,
                pair[0].version
            ));
        }
    }
    for entry in &list {
        match migrator.iter().find(|m| m.version == entry.version) {
            None => problems.push(format!("{dir}/{}: landed migration {} is missing", entry.file, entry.version)),
            Some(m) if hex::encode(&m.checksum) != entry.checksum => problems.push(format!(
                "{dir}/{}: this migration has landed and must not change; restore it and add a new migration instead",
                entry.file
            )),
            Some(_) => {}
        }
    }
    let last = list.last().map_or(0, |l| l.version);
    for m in migrator.iter() {
        if list.iter().any(|l| l.version == m.version) {
            continue;
        }
        let line = format!(
            "{:04} {} {:04}_{}.sql",
            m.version,
            hex::encode(&m.checksum),
            m.version,
            m.description.replace(' ', "_")
        );
        if m.version < last {
            problems.push(format!(
                "{dir}: migration {} is numbered before the last landed one ({last}); give it a number after it",
                m.version
            ));
        } else {
            problems.push(format!(
                "{dir}: migration {} is not listed; append to {}:\n{line}",
                m.version,
                list_path.display()
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn device_migrations_that_landed_are_unchanged() {
    check("migrations", &hms_core::store::MIGRATOR);
}

#[test]
fn server_migrations_that_landed_are_unchanged() {
    check("crates/server/migrations", &hms_server::MIGRATOR);
}

#[test]
fn hub_migrations_that_landed_are_unchanged() {
    check("crates/server/migrations-sqlite", &hms_server::MIGRATOR_SQLITE);
}
