//! The commands, one module per area. Each is a few lines: authorise from the session in
//! state, call one core function, return its typed result or typed error.

pub mod audit;
pub mod billing;
pub mod clinical;
pub mod patients;
pub mod schedule;
pub mod session;
pub mod settings;
pub mod sync;
pub mod users;

pub(crate) type Cmd<T> = Result<T, hms_core::Error>;
