//! The administrator's recovery key (see `store::db_key`): shown on asking, or saved as a
//! printable sheet (A4 PDF with a QR code), each time after the administrator's own password
//! again (a session left open is not enough), and audited. The sheet is not recorded as a
//! printout: the printouts table keeps every PDF it lists for reprints, and a copy of the key
//! inside the data it opens (and in every backup of it) is what the sheet must never become.

use crate::error::{Error, Result};
use crate::pdf::{self, Doc, Weight, ACCENT, INK, MUTED};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{meta, Store};
use serde_json::json;

/// Device meta: the fingerprint of the key whose recovery key an administrator was last
/// given (shown or printed). When it is not the current key's, the Home asks for it.
pub const RECOVERY_GIVEN_KEY: &str = "recovery_key_given";

/// The recovery sheet: its PDF and the file name to save it under.
pub struct RecoverySheet {
    pub file_name: String,
    pub pdf: Vec<u8>,
}

/// This computer's recovery key, `1A2B-…` (administrators, `backup_manage`). A wrong password
/// counts towards the account's lockout like a sign-in's.
pub async fn recovery_key(store: &Store, auth: &Authorized, password: &str) -> Result<String> {
    give(store, auth, password, "backup.recovery_key_shown").await?;
    Ok(store.db_key().recovery_code())
}

/// The recovery key as a sheet to print and lock away: the key in writing and as a QR code,
/// the clinic, this computer, when and by whom, and how to use it. Same checks as
/// [`recovery_key`]; audited `backup.recovery_sheet_saved`.
pub async fn recovery_sheet(store: &Store, auth: &Authorized, password: &str) -> Result<RecoverySheet> {
    let by = give(store, auth, password, "backup.recovery_sheet_saved").await?;
    let facts = SheetFacts {
        clinic: crate::clinic::name(store).await?,
        device: store.device_id().to_string(),
        printed: crate::clinic::now(store).await?.format("%d %b %Y %H:%M %Z").to_string(),
        by,
    };
    let pdf = render(&store.db_key().recovery_code(), &facts)?;
    Ok(RecoverySheet { file_name: "hms-recovery-key.pdf".into(), pdf })
}

/// Whether an administrator has been given this computer's current recovery key (shown or
/// printed since the key was made or last changed).
pub async fn given(store: &Store) -> Result<bool> {
    let given = meta::get(store.pool(), RECOVERY_GIVEN_KEY).await?;
    Ok(given.as_deref() == Some(store.db_key().fingerprint().as_str()))
}

/// The checks before the key leaves the computer: the permission, the administrator's
/// password, then the audit entry and the mark that the current key was given, in one write.
/// Returns the administrator's name.
async fn give(store: &Store, auth: &Authorized, password: &str, action: &str) -> Result<String> {
    auth.require(Permission::BackupManage)?;
    let user = crate::users::repo::by_id(store.pool(), &auth.user_id).await?.filter(|u| u.active);
    let user = user.ok_or(Error::AccountInactive)?;
    crate::auth::check_password(store, &user, password, "recovery_key").await?;
    let mut w = store.begin_write(auth.actor()).await?;
    w.audit(action, "device", Some(store.device_id()), json!({})).await?;
    meta::set(w.conn(), RECOVERY_GIVEN_KEY, &store.db_key().fingerprint()).await?;
    w.commit().await?;
    Ok(user.full_name)
}

/// What the sheet says besides the key.
pub struct SheetFacts {
    pub clinic: String,
    pub device: String,
    pub printed: String,
    pub by: String,
}

const A4_W: f32 = 210.0;
const A4_H: f32 = 297.0;
const MARGIN: f32 = 20.0;

/// Draws the sheet. Pure: the same key and facts give the same layout.
pub fn render(code: &str, facts: &SheetFacts) -> Result<Vec<u8>> {
    let mut doc = Doc::new("HMS recovery key")?;
    let mut page = doc.page(A4_W, A4_H);
    let width_pt = (A4_W - 2.0 * MARGIN) * 72.0 / 25.4;
    page.fill_rect(0.0, A4_H - 28.0, A4_W, 28.0, ACCENT);
    page.text(&doc, MARGIN, A4_H - 15.0, 20.0, Weight::Bold, (1.0, 1.0, 1.0), "HMS recovery key");
    let clinic = pdf::fit(&facts.clinic, 11.0, Weight::Regular, width_pt)?;
    page.text(&doc, MARGIN, A4_H - 23.0, 11.0, Weight::Regular, (1.0, 1.0, 1.0), &clinic);

    let mut y = A4_H - 42.0;
    for (label, value) in [("Computer", &facts.device), ("Saved", &facts.printed), ("By", &facts.by)] {
        page.text(&doc, MARGIN, y, 9.0, Weight::Regular, MUTED, label);
        let value = pdf::fit(value, 10.0, Weight::Regular, width_pt - 30.0 * 72.0 / 25.4)?;
        page.text(&doc, MARGIN + 30.0, y, 10.0, Weight::Regular, INK, &value);
        y -= 6.5;
    }

    // The key in four lines of four groups, large enough to copy without a mistake.
    y -= 8.0;
    page.text(&doc, MARGIN, y, 9.0, Weight::Regular, MUTED, "The key (16 groups of 4 characters, 0-9 and A-F)");
    y -= 11.0;
    let groups: Vec<&str> = code.split('-').collect();
    for line in groups.chunks(4) {
        page.text(&doc, MARGIN, y, 18.0, Weight::Bold, INK, &line.join("  -  "));
        y -= 10.0;
    }

    let qr_size = 60.0;
    y -= qr_size;
    pdf::qr(&mut page, code, MARGIN, y, qr_size)?;
    page.text(
        &doc,
        MARGIN + qr_size + 6.0,
        y + qr_size - 8.0,
        9.0,
        Weight::Regular,
        MUTED,
        "The same key as a QR code",
    );

    y -= 12.0;
    let lines = [
        (Weight::Bold, "Keep this sheet locked away, apart from the computer and its backups."),
        (Weight::Regular, "This key opens this computer's database and every backup taken on it. Whoever holds"),
        (Weight::Regular, "the key and a backup can read every record in it; without the key nobody can, not even"),
        (Weight::Regular, "the clinic: a backup whose computer died opens only with this key."),
        (Weight::Bold, "To restore a backup on another computer"),
        (Weight::Regular, "In HMS there: copy the backup folder into its backup folder, open Backups, choose"),
        (Weight::Regular, "Restore... on the backup, type this key when HMS asks for it, then Open the backup."),
        (Weight::Regular, "Or, with HMS closed: hms-admin restore BACKUP --recovery-key <the key>"),
        (Weight::Regular, "Either way the new computer then gets its own key: save its recovery sheet too."),
        (Weight::Bold, "If this computer's key file (hms.db.key) is lost"),
        (Weight::Regular, "hms-admin rekey --recovery-key <the key>  gives the database a new key; this sheet then no"),
        (Weight::Regular, "longer opens it: save the new sheet and destroy this one."),
        (Weight::Bold, "If someone saw this key"),
        (Weight::Regular, "hms-admin rekey --recovery-key <the key>  replaces it, as above."),
    ];
    for (weight, text) in lines {
        if weight == Weight::Bold {
            y -= 3.0;
        }
        page.text(&doc, MARGIN, y, 10.0, weight, INK, text);
        y -= 5.5;
    }
    doc.push(page);
    Ok(doc.finish())
}
