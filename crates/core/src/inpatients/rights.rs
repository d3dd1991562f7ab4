//! What the clinic lets reception do on the wards. Reception admits patients and moves them
//! between beds (`inpatients_admit`, `inpatients_transfer`) unless the clinic turns that off
//! (Settings → Inpatients): then only doctors (and whoever holds the right through another
//! role) admit, transfer, swap and give a waiting patient a bed. On by default, as the roles
//! table has it; the setting is a synced clinic setting, checked on every device's write.

use crate::error::{Error, Result};
use crate::rbac::{allows, Permission, Role};
use crate::session::Authorized;
use crate::store::Store;
use serde::Serialize;
use serde_json::json;
use sqlx::SqliteConnection;

/// The setting's key: `true` (the default) or `false`.
pub const RECEPTION_MOVES_KEY: &str = "inpatients_reception_moves";

/// The moves the setting governs.
const MOVES: [Permission; 2] = [Permission::InpatientsAdmit, Permission::InpatientsTransfer];

/// The ward settings, and what they withhold from the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct WardSettings {
    /// Whether reception admits, transfers and swaps patients.
    pub reception_moves: bool,
    /// Permissions the caller's roles hold that the clinic's settings withhold from them now
    /// (the screens offer nothing that needs them).
    pub withheld: Vec<Permission>,
}

/// Whether reception may admit and move patients (the clinic's setting; on when unset).
pub(crate) async fn reception_moves(conn: &mut SqliteConnection) -> Result<bool> {
    let raw: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = ? AND deleted_at IS NULL")
        .bind(RECEPTION_MOVES_KEY)
        .fetch_optional(conn)
        .await?;
    Ok(raw.and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok()).and_then(|v| v.as_bool()).unwrap_or(true))
}

/// Whether the caller holds `p` only as a receptionist.
fn only_as_reception(auth: &Authorized, p: Permission) -> bool {
    let others: Vec<Role> = auth.roles.iter().copied().filter(|r| *r != Role::Receptionist).collect();
    allows(&auth.roles, p) && !allows(&others, p)
}

fn withheld_from(auth: &Authorized, reception_moves: bool) -> Vec<Permission> {
    if reception_moves {
        return Vec::new();
    }
    MOVES.into_iter().filter(|p| only_as_reception(auth, *p)).collect()
}

/// Requires a move right (`inpatients_admit` or `inpatients_transfer`), as the clinic allows it.
pub(crate) async fn require_move(store: &Store, auth: &Authorized, p: Permission) -> Result<()> {
    auth.require(p)?;
    if only_as_reception(auth, p) {
        let mut conn = store.pool().acquire().await?;
        if !reception_moves(&mut conn).await? {
            return Err(Error::Forbidden { permission: p.code().to_string() });
        }
    }
    Ok(())
}

/// The ward settings as the caller sees them (`inpatients_view`).
pub async fn settings(store: &Store, auth: &Authorized) -> Result<WardSettings> {
    auth.require(Permission::InpatientsView)?;
    let mut conn = store.pool().acquire().await?;
    let reception_moves = reception_moves(&mut conn).await?;
    Ok(WardSettings { reception_moves, withheld: withheld_from(auth, reception_moves) })
}

/// Turns reception's admitting and moving on or off (`wards_manage`); audited.
pub async fn set_reception_moves(store: &Store, auth: &Authorized, allow: bool) -> Result<WardSettings> {
    auth.require(Permission::WardsManage)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let before = reception_moves(w.conn()).await?;
    crate::settings::values::put(&mut w, RECEPTION_MOVES_KEY, &json!(allow)).await?;
    w.audit("settings.update", "settings", Some(RECEPTION_MOVES_KEY), json!({ "before": before, "after": allow }))
        .await?;
    w.commit().await?;
    settings(store, auth).await
}
