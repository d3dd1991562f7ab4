//! Sync, device side: enrolment with an `hms-server`, push of the outbox (`change_log`), pull
//! and merge of the tenant's changes. See the README, "Sync and server".
//!
//! - **Enrolment** ([`enrol`], in `enrol.rs`, administrators only) stores the server address, the device's
//!   token and its tenant in `meta`. The token never leaves core: [`status`] does not carry it.
//! - **Push** ([`push`]) sends the unsent outbox entries in device-sequence order, in batches
//!   of [`PUSH_BATCH`], and marks a batch sent in one statement once the server has
//!   acknowledged it. A lost answer means the batch goes again; the server stores each
//!   (device, device seq) once, so nothing is stored twice.
//! - **Pull** ([`pull`]) fetches the tenant's changes after the saved cursor, skips this
//!   device's own, merges the others field by field, last writer wins on the hybrid logical
//!   clock ([`apply`]), lets the tables settle their hospital rules (`store::tables`) and saves the cursor in the
//!   same transaction as the rows. Other devices' audit entries are kept, never merged.
//!   Inserts of rows this device does not have yet (most of a new device's first pull) are
//!   written a page at a time in multi-row statements ([`apply_batch`]).
//! - [`sync_now`] pushes, then pulls, and keeps the outcome for [`status`]; one sync at a
//!   time per store. [`worker`] runs it in the background.
//! - [`conflicts`]: the inbox of what a merge could not settle silently.
//!
//! Files: `types.rs` (errors, reports, the status and progress types), `status.rs` (what is
//! kept in `meta` and the status indicator), `enrol.rs`, `push.rs`, `pull.rs`, `run.rs`
//! ([`sync_now`]), `audit_head.rs` (the audit chain against the server's copy); the merge
//! itself is `apply.rs` and `apply_batch.rs` over the rows of `rows.rs`; `conflict_log.rs`
//! records what it could not settle, `conflicts.rs` is the inbox.

pub mod apply;
mod apply_batch;
mod audit_head;
pub(crate) mod blobs;
pub mod bounds;
mod client;
mod clock_check;
pub(crate) mod conflict_log;
pub mod conflicts;
mod enrol;
mod proof;
mod pull;
mod push;
mod restored;
pub mod rows;
mod run;
mod set_aside;
mod status;
mod trust;
mod types;
mod wait;
pub mod worker;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod user_proofs;

pub use audit_head::{against_server as audit_against_server, verify_audit};
pub use conflicts::{ConflictKind, ConflictResolution, ConflictSide, SyncConflict};
pub use enrol::{connect_again, connect_again_and_sync, enrol, enrol_and_sync};
pub use pull::{pull, pull_with, PULL_LIMIT};
pub use push::{push, push_with, PUSH_BATCH};
pub use run::{sync_now, sync_now_with};
pub use status::status;
pub(crate) use status::TENANT_ID_KEY;
pub use trust::MAX_PULLED_AHEAD_MS;
pub use types::*;
pub use wait::wait_for_changes;

/// The `meta` key of the device token: a device that has one syncs (`store::batches`).
pub(crate) use status::TOKEN_KEY;
use status::{client, cursor};
