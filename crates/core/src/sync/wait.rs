//! Waiting for other devices' changes: a `GET /v1/wait` held open by the server until the
//! tenant has something after this device's pull cursor. The background worker keeps one
//! open while all is well, so a change made on another device is pulled within moments.

use super::{client, cursor, SyncResult};
use crate::store::Store;
use hms_protocol::{WaitResponse, MAX_WAIT_MS};

/// Waits (at most the server's limit, 25 s) for the tenant to have changes this device has
/// not pulled; answers whether it has.
pub async fn wait_for_changes(store: &Store) -> SyncResult<bool> {
    let client = client(store).await?;
    let after = cursor(store).await?;
    let answer: WaitResponse = client.get(&format!("/v1/wait?after={after}&timeout_ms={MAX_WAIT_MS}")).await?;
    Ok(answer.high_water > after)
}
