//! hms-policy: what is allowed, shared as code by hms-core (every command on a device, every
//! pulled change) and hms-server (every pushed change).
//!
//! - [`rbac`]: the roles and THE permission table;
//! - [`entities`]: the synced tables, the permission a write of each needs, their id forms;
//! - [`values`]: the rules a synced value passes (types, formats, ranges, content hashes);
//! - [`forms`]: the text forms of ids and content hashes;
//! - [`accounts`]: the clinic's accounts as the policy sees them (roles, active);
//! - [`check`]: the check of one change by one author;
//! - [`stamp`]: the clock stamp's text form;
//! - [`ward_round`]: the MAR's and ward notes' rules across a row's fields;
//! - [`beds`]: reserved beds' rules across a bed event's fields.

pub mod accounts;
pub mod beds;
pub mod check;
pub mod entities;
pub mod forms;
pub mod rbac;
pub mod stamp;
pub mod values;
pub mod ward_round;

pub use accounts::{Account, Accounts};
pub use check::{check, check_stamp, prove_author, prove_author_of, Refusal, RefusalCode, MAX_CLOCK_AHEAD_MS};
pub use rbac::{Permission, Role};

#[cfg(test)]
mod tests;
