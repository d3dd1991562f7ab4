//! ui/src/lib/bindings.ts is generated from the commands and committed. This test writes it
//! when the commands changed and then fails, so a stale file never passes CI unnoticed.

use std::path::Path;

#[test]
fn typescript_bindings_are_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/src/lib/bindings.ts");
    let tmp = tempfile::NamedTempFile::new().unwrap();
    hms_app::export_bindings(tmp.path()).unwrap();
    let fresh = std::fs::read_to_string(tmp.path()).unwrap();
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if fresh != committed {
        // Write only when changed: the UI is embedded in the binary, so a rewrite relinks.
        std::fs::write(&path, &fresh).unwrap();
        panic!("ui/src/lib/bindings.ts was stale and has been regenerated: review and commit it");
    }
}
