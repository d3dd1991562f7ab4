//! `GET /v1/pull?after=SEQ&limit=N`: the device's tenant's changes after a server sequence.

use super::{to_u64, QueryArgs};
use crate::auth::Device;
use crate::error::{ApiError, ApiResult};
use crate::store::{ChangeRow as Row, Storage};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use hms_protocol::proof::SEGMENT_MAX;
use hms_protocol::{Op, PullQuery, RawChange, ServerClock, DEFAULT_PULL_LIMIT};
use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

pub async fn pull(
    State(state): State<AppState>,
    device: Device,
    QueryArgs(query): QueryArgs<PullQuery>,
) -> ApiResult<Json<Page>> {
    let after =
        i64::try_from(query.after).map_err(|_| ApiError::bad_request(format!("after must be at most {}", i64::MAX)))?;
    let limit = match query.limit.unwrap_or(DEFAULT_PULL_LIMIT) {
        0 => return Err(ApiError::bad_request("limit must be at least 1")),
        n => n.min(state.limits.max_pull_limit),
    };
    // The tenant comes from the token; one row more than asked tells whether more follow.
    let mut rows = rows_after(&state.store, &device.tenant_id, after, i64::from(limit) + 1).await?;
    let mut more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    // Capped in bytes too: the page ends early (at the end of the segment it reaches, below),
    // and the device pulls again from there. The first change always goes.
    let mut bytes = 0usize;
    if let Some(over) = rows.iter().position(|r| {
        bytes += usize::try_from(r.size).unwrap_or(0);
        bytes > state.limits.max_pull_page_bytes
    }) {
        rows.truncate(over.max(1));
        more = true;
    }
    // A page ends at the end of a segment, so that the device can check its proof whole.
    // (A push stores a segment's changes together, so they follow each other here.)
    if let Some(last) = rows.last().filter(|r| more && r.proof.is_none()) {
        let tail = rows_after(&state.store, &device.tenant_id, last.seq, SEGMENT_MAX as i64 + 1).await?;
        let end = tail.iter().position(|r| r.proof.is_some()).map_or(tail.len().min(SEGMENT_MAX), |i| i + 1);
        more = tail.len() > end;
        rows.extend(tail.into_iter().take(end));
    }
    let device_keys = device_keys(&state.store, &device.tenant_id, &rows).await?;
    let high_water = to_u64(state.store.high_water(&device.tenant_id).await?);
    if let Some(pending) = query.pending {
        // What the device says it still has to send, for `hms-server devices`.
        state.store.record_pending(&device.id, i64::try_from(pending).unwrap_or(i64::MAX)).await?;
    }

    // The cursor moves past withheld changes too, so a device never asks for them again.
    let next = rows.last().map_or(query.after, |r| to_u64(r.seq));
    let changes = rows.into_iter().filter(|r| !r.withheld).map(pulled).collect::<ApiResult<Vec<_>>>()?;
    state.metrics.pulls.inc();
    state.metrics.changes_pulled.add(changes.len() as u64);
    tracing::info!(device = %device.id, tenant = %device.tenant_id, after = query.after, count = changes.len(), more, "pull");
    Ok(Json(Page { changes, next, more, high_water, device_keys, clock: Some(state.clock()) }))
}

async fn rows_after(store: &Storage, tenant_id: &str, after: i64, limit: i64) -> ApiResult<Vec<Row>> {
    Ok(store.changes_after(tenant_id, after, limit).await?)
}

/// The registered public key of each device with changes on the page.
async fn device_keys(store: &Storage, tenant_id: &str, rows: &[Row]) -> ApiResult<BTreeMap<String, String>> {
    let mut ids: Vec<&str> = rows.iter().map(|r| r.device_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    Ok(store.device_keys(tenant_id, &ids).await?.into_iter().collect())
}

fn pulled(row: Row) -> ApiResult<Pulled> {
    let op = Op::parse(&row.op).ok_or_else(|| {
        tracing::error!(seq = row.seq, op = %row.op, "stored change with an unknown op");
        ApiError::internal("internal error")
    })?;
    let json = |text: String, what: &str| {
        RawValue::from_string(text).map_err(|e| {
            tracing::error!(seq = row.seq, "stored change whose {what} is not JSON: {e}");
            ApiError::internal("internal error")
        })
    };
    Ok(Pulled {
        server_seq: to_u64(row.seq),
        change: RawChange {
            id: row.change_id,
            device_id: row.device_id,
            device_seq: to_u64(row.device_seq),
            entity: row.entity,
            entity_id: row.entity_id,
            op,
            data: json(row.data, "data")?,
            hlc: row.hlc,
            user_id: row.user_id,
            proof: row.proof.map(|p| json(p, "proof")).transpose()?,
        },
    })
}

/// `hms_protocol::PullResponse` as the server writes it: each change's data and proof are
/// JSON text from the database (a test holds the two to the same JSON).
#[derive(Serialize)]
pub struct Page {
    changes: Vec<Pulled>,
    next: u64,
    more: bool,
    high_water: u64,
    device_keys: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    clock: Option<ServerClock>,
}

/// `hms_protocol::PulledChange`, written.
#[derive(Serialize)]
struct Pulled {
    server_seq: u64,
    change: RawChange,
}

#[cfg(test)]
mod tests {
    use super::*;
    use hms_protocol::{Change, Proof, PullResponse, PulledChange};

    /// A page written from stored JSON text reads back as the protocol's page, field for field.
    #[test]
    fn a_page_of_stored_json_text_is_the_protocols_page() {
        let proof = Proof {
            first_seq: 7,
            device_key: "ab".repeat(32),
            device_sig: "cd".repeat(64),
            user_id: Some("u-1".into()),
            user_sig: Some("ef".repeat(64)),
        };
        let row = |seq: i64, proof: Option<String>| Row {
            seq,
            device_id: "dev-a".into(),
            device_seq: seq + 6,
            change_id: format!("c-{seq}"),
            entity: "patients".into(),
            entity_id: format!("p-{seq}"),
            op: "insert".into(),
            // As PostgreSQL writes jsonb: its own key order and spacing.
            data: r#"{"mrn": "A-1", "phones": ["+255 754 000 001"], "given_name": "Amina", "birth_date_estimated": 0,
                      "notes": "line\nbreak \"quoted\" \u00e9", "weight": 61.5, "merged_into": null}"#
                .into(),
            hlc: "0001800000000000-000000-dev-a".into(),
            user_id: Some("u-1".into()),
            proof,
            withheld: false,
            size: 0,
        };
        let page = Page {
            changes: vec![
                pulled(row(1, None)).unwrap(),
                pulled(row(2, Some(serde_json::to_string(&proof).unwrap()))).unwrap(),
            ],
            next: 2,
            more: true,
            high_water: 9,
            device_keys: BTreeMap::from([("dev-a".to_string(), "ab".repeat(32))]),
            clock: Some(ServerClock { server_time_ms: 1_800_000_000_000, max_clock_ahead_ms: 60_000 }),
        };
        let read: PullResponse = serde_json::from_str(&serde_json::to_string(&page).unwrap()).unwrap();
        let change = |seq: u64, proof: Option<Proof>| PulledChange {
            server_seq: seq,
            change: Change {
                id: format!("c-{seq}"),
                device_id: "dev-a".into(),
                device_seq: seq + 6,
                entity: "patients".into(),
                entity_id: format!("p-{seq}"),
                op: Op::Insert,
                data: serde_json::json!({
                    "mrn": "A-1", "phones": ["+255 754 000 001"], "given_name": "Amina", "birth_date_estimated": 0,
                    "notes": "line\nbreak \"quoted\" \u{e9}", "weight": 61.5, "merged_into": null
                }),
                hlc: "0001800000000000-000000-dev-a".into(),
                user_id: Some("u-1".into()),
                proof,
            },
        };
        let expected = PullResponse {
            changes: vec![change(1, None), change(2, Some(proof))],
            next: 2,
            more: true,
            high_water: 9,
            device_keys: BTreeMap::from([("dev-a".to_string(), "ab".repeat(32))]),
            clock: Some(ServerClock { server_time_ms: 1_800_000_000_000, max_clock_ahead_ms: 60_000 }),
        };
        assert_eq!(read, expected);
        // The same JSON as the protocol's own page writes, not only the same values.
        let ours: serde_json::Value = serde_json::to_value(&page).unwrap();
        assert_eq!(ours, serde_json::to_value(&expected).unwrap());

        // Text that is not JSON is the server's fault, never sent.
        assert!(pulled(Row { data: "{oops".into(), ..row(3, None) }).is_err());
    }
}
