//! The commands, one module per area. Each is a few lines: authorise from the session in
//! state, call one core function, return its typed result or typed error.

/// The session in state, authorised for one call (signed in, not locked or expired), or the
/// command returns its error. Defined before the modules so that each of them has it.
macro_rules! authorized {
    ($state:expr) => {
        $state.session.authorize(&$state.store).await?
    };
}

pub mod audit;
pub mod backup;
pub mod billing;
pub mod clinical;
pub mod fhir;
pub mod inpatients;
pub mod patients;
pub mod printouts;
pub mod purchase_orders;
pub mod reports;
pub mod schedule;
pub mod session;
pub mod settings;
pub mod stock;
pub mod stock_lab;
pub mod stocktake;
pub mod sync;
pub mod users;
pub mod ward_ops;

pub(crate) type Cmd<T> = Result<T, hms_core::Error>;

/// A file's contents sent from the UI as base64. Unreadable base64 is a validation error on
/// `field`.
pub(crate) fn decode_base64(data: &str, field: &str) -> Cmd<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(data.trim()).map_err(|_| {
        hms_core::Error::validation(field, hms_core::ValidationReason::Invalid, "the file could not be read")
    })
}
