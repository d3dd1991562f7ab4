//! `hms-admin backup | verify-backup | restore` (issue 14): what they print, their exit codes,
//! and that a restore asks first and keeps the replaced database.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn admin(data: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hms-admin"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("HMS_ADMIN_PASSWORD", "Clinic#2026adm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn sha(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn backup_verify_and_restore_from_the_command_line() {
    let data = tempfile::tempdir().unwrap();
    let out = admin(data.path(), &["create-admin", "--username", "admin", "--full-name", "Asha Menon"], "");
    assert!(out.status.success(), "{}", text(&out));
    let target = tempfile::tempdir().unwrap();

    let out = admin(data.path(), &["backup", "--to", target.path().to_str().unwrap()], "");
    assert!(out.status.success(), "{}", text(&out));
    let printed = text(&out);
    assert!(printed.contains("backup written and verified: "), "{printed}");
    assert!(printed.contains("1 users"), "{printed}");
    let folders: Vec<PathBuf> = std::fs::read_dir(target.path()).unwrap().flatten().map(|e| e.path()).collect();
    assert_eq!(folders.len(), 1);
    let folder = folders[0].clone();
    assert!(folder.file_name().unwrap().to_string_lossy().starts_with("hms-backup-hms-clinic-"));

    let out = admin(data.path(), &["verify-backup", folder.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("backup verified"));

    // A damaged copy: exit 1, naming the error by its code.
    let damaged = target.path().join("damaged");
    std::fs::create_dir(&damaged).unwrap();
    for f in ["hms.db", "manifest.json"] {
        std::fs::copy(folder.join(f), damaged.join(f)).unwrap();
    }
    let mut bytes = std::fs::read(damaged.join("hms.db")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(damaged.join("hms.db"), bytes).unwrap();
    let out = admin(data.path(), &["verify-backup", damaged.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("backup_checksum_mismatch"), "{}", text(&out));
    let out = admin(data.path(), &["verify-backup", data.path().to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("not_a_backup"), "{}", text(&out));

    // Restore asks first: anything but RESTORE changes nothing.
    let db = data.path().join("hms.db");
    let before = sha(&db);
    let out = admin(data.path(), &["restore", folder.to_str().unwrap()], "yes\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("not confirmed"), "{}", text(&out));
    assert_eq!(sha(&db), before);
    let out = admin(data.path(), &["restore", folder.to_str().unwrap()], "RESTORE\n");
    assert!(out.status.success(), "{}", text(&out));
    let printed = text(&out);
    assert!(printed.contains("the database it replaced is kept in "), "{printed}");
    assert!(std::fs::read_dir(data.path())
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("before-restore-")));
    // And with --yes, without asking; the restored database opens and its chain verifies.
    let out = admin(data.path(), &["restore", "--yes", folder.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", text(&out));
    let out = admin(data.path(), &["verify-audit"], "");
    assert!(out.status.success(), "{}", text(&out));
}
