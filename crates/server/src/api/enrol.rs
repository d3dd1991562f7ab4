//! `POST /v1/enrol`: a one-time code becomes a device id and token; a replacing code lets a
//! revoked device connect again under its own id.

use super::JsonBody;
use crate::auth::{self, TOKEN_SECRET_BYTES};
use crate::error::{ApiError, ApiResult};
use crate::store::{Lock, WriteTx};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use hms_protocol::{EnrolRequest, EnrolResponse, MAX_DEVICE_NAME_CHARS};

pub async fn enrol(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<EnrolRequest>,
) -> ApiResult<Json<EnrolResponse>> {
    let device_id = match req.device_id.as_deref() {
        Some(id) if auth::valid_device_id(id) => Some(id.to_string()),
        Some(_) => return Err(ApiError::bad_request("device_id: 1 to 64 letters, digits, '-' or '_'")),
        None => None,
    };
    let public_key = match req.device_key.as_deref().map(hms_protocol::proof::parse_public_key) {
        Some(Ok(key)) => hex::encode(key.as_bytes()),
        Some(Err(e)) => return Err(ApiError::bad_request(format!("device_key: {e}"))),
        None => return Err(ApiError::bad_request("device_key: the device's public key is required")),
    };
    let secret: [u8; TOKEN_SECRET_BYTES] = auth::random_bytes()?;

    // One transaction: the code is spent only if the device is created (or let back in), so a
    // refused enrolment (a device id already taken, the wrong device for a replacing code)
    // leaves the code usable.
    let mut tx = state.store.begin(Lock::None).await?;
    let (tenant_id, replaces) = spend_code(&mut tx, &req.code).await?;
    let device_id = match replaces {
        Some(replaced) => {
            readmit(&mut tx, &replaced, device_id.as_deref(), &public_key, &auth::sha256(&secret), &req.device_name)
                .await?;
            replaced
        }
        None => {
            // "Connect again" sends no name: the code is an ordinary one.
            if req.device_name.trim().is_empty() && device_id.is_some() {
                return Err(ApiError::forbidden(
                    "this code enrols a new device; a revoked device connects again with a code made for it \
                     (hms-server enrol-code TENANT --replaces DEVICE)",
                ));
            }
            let name = device_name(&req.device_name)?;
            let device_id = device_id.unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
            insert_device(&mut tx, &device_id, &tenant_id, &name, &auth::sha256(&secret), &public_key).await?;
            device_id
        }
    };
    tx.code_used_by(&auth::enrol_code_hash(&req.code), &device_id).await?;
    let tenant_name = tx.tenant_name(&tenant_id).await?;
    tx.commit().await?;

    state.metrics.enrolments.inc();
    tracing::info!(device = %device_id, tenant = %tenant_id, "device enrolled");
    Ok(Json(EnrolResponse { token: auth::format_token(&device_id, &secret), device_id, tenant_id, tenant_name }))
}

/// "Connect again": lets a revoked device back in under its own id, with a new token. Only
/// that device can: the request must name it and carry the key it registered (its unsent
/// segments are signed with that key, and every device checks its history against it). Its
/// changes received from now on are not withheld by its quarantine (`readmitted_at`). An
/// empty name keeps the one the server has.
async fn readmit(
    tx: &mut WriteTx,
    replaced: &str,
    device_id: Option<&str>,
    public_key: &str,
    token_hash: &[u8; 32],
    name: &str,
) -> ApiResult<()> {
    if device_id != Some(replaced) {
        return Err(ApiError::forbidden(
            "this code lets one revoked device connect again, and this is not that device; enrol with a code of your own",
        ));
    }
    let row = tx.device_for_readmission(replaced).await?;
    let Some((registered, revoked)) = row else {
        return Err(ApiError::forbidden("the device this code lets back in is not enrolled here"));
    };
    if registered.as_deref() != Some(public_key) {
        return Err(ApiError::forbidden(
            "this device's key is not the one it registered: connecting again needs the same device (its key file \
             beside its database); enrol it as a new device instead",
        ));
    }
    if !revoked {
        return Err(ApiError::conflict("this device is not revoked: it can sync as it is"));
    }
    let name = if name.trim().is_empty() { None } else { Some(device_name(name)?) };
    tx.readmit_device(replaced, token_hash, name.as_deref()).await?;
    tracing::warn!(device = %replaced, "revoked device connected again with a replacing code");
    Ok(())
}

fn device_name(raw: &str) -> ApiResult<String> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_DEVICE_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "device_name: 1 to {MAX_DEVICE_NAME_CHARS} characters, no control characters"
        )));
    }
    Ok(name.to_string())
}

/// Marks the code used, atomically: of two devices racing with one code, one gets it.
/// Unknown, used and expired codes get the same answer, so the endpoint tells a guesser
/// nothing.
/// Answers the code's tenant and, for a replacing code, the device it lets back in.
async fn spend_code(tx: &mut WriteTx, code: &str) -> ApiResult<(String, Option<String>)> {
    let row = tx.spend_code(&auth::enrol_code_hash(code)).await?;
    row.ok_or_else(|| ApiError::unauthorized("the enrolment code is unknown, already used or expired"))
}

async fn insert_device(
    tx: &mut WriteTx,
    device_id: &str,
    tenant_id: &str,
    name: &str,
    token_hash: &[u8; 32],
    public_key: &str,
) -> ApiResult<()> {
    if !tx.insert_device(device_id, tenant_id, name, token_hash, public_key).await? {
        return Err(ApiError::conflict("this device id is already enrolled; enrol without device_id to get a new one"));
    }
    Ok(())
}
