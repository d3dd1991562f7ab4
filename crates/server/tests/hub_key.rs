//! The clinic hub's database encrypted at rest: `hms-server --sqlite PATH --sqlite-key-file
//! FILE` makes the key, writes an encrypted file, and opens it again only with that key. Runs
//! the binary on a SQLite file whatever `HMS_TEST_BACKEND` says (it is the hub's alone).

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_hms-server");

fn run(db: &Path, key_file: Option<&Path>, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("HMS_DATABASE_URL")
        .env_remove("HMS_SQLITE_KEY_FILE")
        .env("HMS_SQLITE", db)
        .env("RUST_LOG", "warn");
    if let Some(file) = key_file {
        cmd.env("HMS_SQLITE_KEY_FILE", file);
    }
    cmd.output().expect("run hms-server")
}

fn said(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[track_caller]
fn ok(out: Output) -> String {
    assert!(out.status.success(), "failed ({}): {}", out.status, said(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[track_caller]
fn refused(out: Output, why: &str) {
    assert_eq!(out.status.code(), Some(1), "should be refused: {}", said(&out));
    assert!(said(&out).contains(why), "the refusal should say {why:?}: {}", said(&out));
}

#[test]
fn a_hub_database_with_a_key_file_is_encrypted_and_opens_only_with_that_key() {
    let dir = tempfile::tempdir().unwrap();
    let (db, key_file) = (dir.path().join("hub.db"), dir.path().join("hub.key"));
    ok(run(&db, Some(&key_file), &["tenant", "create", "Mlimani Clinic"]));

    // The key file was made: 64 hex digits, the owner's alone.
    let key = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(key.trim().len(), 64, "{key}");
    assert!(key.trim().chars().all(|c| c.is_ascii_hexdigit()), "{key}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // The file is not SQLite in clear, and the tenant's name is nowhere in it.
    let bytes = std::fs::read(&db).unwrap();
    assert!(!bytes.starts_with(b"SQLite format 3\0"), "the hub database is written in clear");
    assert!(!bytes.windows(7).any(|w| w == b"Mlimani"), "the tenant's name is readable in the file");

    // With the key it opens and holds the tenant.
    assert!(ok(run(&db, Some(&key_file), &["tenant", "list"])).contains("Mlimani Clinic"));
    // Without it, or with another key, nothing opens, and the refusal says why.
    refused(run(&db, None, &["tenant", "list"]), "is encrypted");
    let other = dir.path().join("other.key");
    std::fs::write(&other, "00".repeat(32)).unwrap();
    refused(run(&db, Some(&other), &["tenant", "list"]), "cannot open");
    refused(run(&db, Some(&dir.path().join("lost.key")), &["tenant", "list"]), "is missing");
    // The key was not replaced by any of that.
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), key);
}

#[test]
fn a_clear_hub_database_is_not_given_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let (db, key_file) = (dir.path().join("hub.db"), dir.path().join("hub.key"));
    ok(run(&db, None, &["tenant", "create", "Kisiwa Clinic"]));
    refused(run(&db, Some(&key_file), &["tenant", "list"]), "is not encrypted");
    assert!(!key_file.exists(), "no key is made for a clear database");
    assert!(ok(run(&db, None, &["tenant", "list"])).contains("Kisiwa Clinic"));
}
