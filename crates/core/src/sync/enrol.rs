//! Enrolment with an `hms-server`: a one-time code joins this device to a tenant.

use super::client::{self, Client};
use super::status::{
    CURSOR_KEY, LAST_ERROR_KEY, LAST_SUCCESS_KEY, REVOKED_KEY, SERVER_URL_KEY, TENANT_ID_KEY, TENANT_NAME_KEY,
};
use super::{sync_now_with, Enrolment, Progress, SyncError, SyncResult};
use crate::error::Error;
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::{meta, Store};
use hms_protocol::{EnrolRequest, EnrolResponse};

/// Enrols this device, under its existing device id, into the tenant of a one-time code
/// (`hms-server enrol-code`). Administrators only. Enrolling again (a new server, a new
/// tenant) replaces the old enrolment, queues the whole outbox again and pulls from the
/// beginning.
pub async fn enrol(
    store: &Store,
    auth: &Authorized,
    server_url: &str,
    code: &str,
    device_name: &str,
) -> SyncResult<Enrolment> {
    auth.require(Permission::SyncManage)?;
    super::status::refuse_demo(store).await?;
    let base = client::normalise_url(server_url)?;
    let http = Client::new(&base, None)?;
    let answer: EnrolResponse = http
        .post(
            &format!("{}/enrol", hms_protocol::API_PREFIX),
            &EnrolRequest {
                code: code.to_string(),
                device_name: device_name.to_string(),
                device_id: Some(store.device_id().to_string()),
                device_key: Some(store.device_public_key()),
            },
        )
        .await?;
    if answer.device_id != store.device_id() {
        return Err(SyncError::Protocol(format!(
            "the server enrolled device {:?}, not this device ({:?})",
            answer.device_id,
            store.device_id()
        )));
    }

    let mut w = store.begin_write(auth.actor()).await?;
    for (key, value) in [
        (SERVER_URL_KEY, base.as_str()),
        (TENANT_ID_KEY, answer.tenant_id.as_str()),
        (TENANT_NAME_KEY, answer.tenant_name.as_str()),
        (CURSOR_KEY, "0"),
    ] {
        meta::set(w.conn(), key, value).await?;
    }
    super::status::save_token(store, w.conn(), &answer.token).await?;
    // A new enrolment is a new server (or tenant) that holds none of this device's outbox:
    // send all of it. Where the server has it already, it stores nothing twice.
    sqlx::query("UPDATE change_log SET pushed_at = NULL WHERE pushed_at IS NOT NULL")
        .execute(w.conn())
        .await
        .map_err(Error::from)?;
    sqlx::query("DELETE FROM meta WHERE key IN (?, ?, ?)")
        .bind(LAST_SUCCESS_KEY)
        .bind(LAST_ERROR_KEY)
        .bind(REVOKED_KEY)
        .execute(w.conn())
        .await
        .map_err(Error::from)?;
    w.audit(
        "sync.enrol",
        "device",
        Some(store.device_id()),
        serde_json::json!({ "server_url": base, "tenant_id": answer.tenant_id, "tenant_name": answer.tenant_name }),
    )
    .await?;
    w.commit().await?;
    Ok(Enrolment {
        server_url: base,
        device_id: answer.device_id,
        tenant_id: answer.tenant_id,
        tenant_name: answer.tenant_name,
    })
}

/// "Connect again": a device the server revoked comes back under its own id with a one-time
/// code that names it (`hms-server enrol-code TENANT --replaces DEVICE`). Administrators only.
/// The server checks that this is the device it revoked (its id and the key it registered),
/// gives it a new token, and takes what it sends from now on even if it was quarantined: so
/// its outbox, everything written here while it could not sync, is sent as it stands (signed
/// as it was written, by this device and its users) at the next sync. Unlike [`enrol`],
/// nothing is sent again and nothing is pulled again: the cursor and what the server
/// acknowledged stay. The tenant must be the one this device was in.
pub async fn connect_again(store: &Store, auth: &Authorized, code: &str) -> SyncResult<Enrolment> {
    auth.require(Permission::SyncManage)?;
    super::status::refuse_demo(store).await?;
    let (Some(base), Some(tenant)) =
        (meta::get(store.pool(), SERVER_URL_KEY).await?, meta::get(store.pool(), TENANT_ID_KEY).await?)
    else {
        return Err(SyncError::NotEnrolled);
    };
    let http = Client::new(&base, None)?;
    let answer: EnrolResponse = http
        .post(
            &format!("{}/enrol", hms_protocol::API_PREFIX),
            &EnrolRequest {
                code: code.to_string(),
                // The server keeps the name it has.
                device_name: String::new(),
                device_id: Some(store.device_id().to_string()),
                device_key: Some(store.device_public_key()),
            },
        )
        .await?;
    if answer.device_id != store.device_id() || answer.tenant_id != tenant {
        return Err(SyncError::Protocol(format!(
            "the server let in device {:?} of tenant {:?}, not this device ({:?}) of its tenant ({tenant:?})",
            answer.device_id,
            answer.tenant_id,
            store.device_id()
        )));
    }
    let mut w = store.begin_write(auth.actor()).await?;
    super::status::save_token(store, w.conn(), &answer.token).await?;
    meta::set(w.conn(), TENANT_NAME_KEY, &answer.tenant_name).await?;
    sqlx::query("DELETE FROM meta WHERE key IN (?, ?)")
        .bind(LAST_ERROR_KEY)
        .bind(REVOKED_KEY)
        .execute(w.conn())
        .await
        .map_err(Error::from)?;
    let unsent = super::status::unsent(store).await?;
    w.audit(
        "sync.connect_again",
        "device",
        Some(store.device_id()),
        serde_json::json!({ "server_url": base, "tenant_id": answer.tenant_id, "unsent": unsent }),
    )
    .await?;
    w.commit().await?;
    Ok(Enrolment {
        server_url: base,
        device_id: answer.device_id,
        tenant_id: answer.tenant_id,
        tenant_name: answer.tenant_name,
    })
}

/// [`connect_again`], then a sync (its unsent work goes out), reporting progress. Connected
/// again stands even if that sync fails (the status says why; the background sync retries).
pub async fn connect_again_and_sync(
    store: &Store,
    auth: &Authorized,
    code: &str,
    progress: Progress<'_>,
) -> SyncResult<Enrolment> {
    let enrolment = connect_again(store, auth, code).await?;
    let _ = sync_now_with(store, progress).await;
    Ok(enrolment)
}

/// Enrols this device (see [`enrol`]) and runs its first sync, reporting progress: a new
/// device's first pull brings the clinic's whole record. The enrolment stands even if that
/// first sync fails (the status then says why, and the background sync retries).
pub async fn enrol_and_sync(
    store: &Store,
    auth: &Authorized,
    server_url: &str,
    code: &str,
    device_name: &str,
    progress: Progress<'_>,
) -> SyncResult<Enrolment> {
    let enrolment = enrol(store, auth, server_url, code, device_name).await?;
    let _ = sync_now_with(store, progress).await;
    Ok(enrolment)
}
