//! hms-core: all of HMS's hospital logic, validation, permissions and audit, over SQLite.
//! No Tauri here: the app's commands, the admin CLI and the tests all call these functions.

pub mod allocator;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod billing;
pub mod clinic;
pub mod clinical;
pub mod clock;
pub mod codes;
pub mod error;
pub mod fhir;
pub mod ids;
pub mod inpatients;
pub mod limits;
pub mod logging;
pub mod patients;
pub mod pdf;
pub mod printouts;
pub mod rbac;
pub mod reports;
pub mod schedule;
pub mod session;
pub mod settings;
pub mod setup;
pub mod stock;
pub mod store;
pub mod sync;
pub mod users;

pub use error::{Error, Result, ValidationReason};
pub use session::{Authorized, SessionInfo, SessionSlot};
pub use store::Store;
