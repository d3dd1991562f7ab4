//! The administrator's recovery key (see `store::db_key`): shown on asking, after the
//! administrator's own password again (a session left open is not enough), and audited.

use crate::error::{Error, Result};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use serde_json::json;

/// This computer's recovery key, `1A2B-…` (administrators, `backup_manage`). A wrong password
/// counts towards the account's lockout like a sign-in's.
pub async fn recovery_key(store: &Store, auth: &Authorized, password: &str) -> Result<String> {
    auth.require(Permission::BackupManage)?;
    let user = crate::users::repo::by_id(store.pool(), &auth.user_id).await?.filter(|u| u.active);
    let user = user.ok_or(Error::AccountInactive)?;
    crate::auth::check_password(store, &user, password, "recovery_key").await?;
    let mut w = store.begin_write(auth.actor()).await?;
    w.audit("backup.recovery_key_shown", "device", Some(store.device_id()), json!({})).await?;
    w.commit().await?;
    Ok(store.db_key().recovery_code())
}
