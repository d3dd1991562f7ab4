//! The one error type every core function (and so every command) returns.
//!
//! Serialised as `{ "code": "...", "detail": {...} }`: the UI switches on `code`, which is
//! stable; `message` texts are for logs and the CLI, never for the UI to parse.

use serde::{Deserialize, Serialize};

/// Why a field was rejected. Stable codes; the UI words them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ValidationReason {
    Required,
    TooShort,
    TooLong,
    Invalid,
    WeakPassword,
    Taken,
    OutOfRange,
    /// Possible but outside the usual range (a pulse of 260): saved once the person confirms
    /// they re-checked it.
    NeedsConfirmation,
    /// Held for someone else (a bed reserved for another patient).
    Reserved,
}

/// What a clinical warning is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ClinicalWarningKind {
    /// An ingredient of the medicine is, or is in the class of, one of the patient's allergies.
    Allergy,
    /// An ingredient may cross-react with one of the patient's allergies (lower severity:
    /// penicillin allergy and a cephalosporin).
    AllergyCrossReaction,
    /// The patient already takes this medicine (an active prescription).
    DuplicateMedicine,
}

/// One warning a prescription raised; overriding it needs a reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct ClinicalWarning {
    pub kind: ClinicalWarningKind,
    /// The allergy's substance, or the medicine already prescribed.
    pub subject: String,
    /// Severity and reaction of the allergy, or the running prescription's dose.
    pub detail: String,
    /// Why, for an allergy: "Sulfamethoxazole is a sulfonamide antibiotic" ('' otherwise).
    /// (Warnings stored before it existed are read through `prescribing::StoredWarning`.)
    pub reason: String,
}

/// An existing patient a registration likely duplicates (`patients::duplicates` has the
/// full search hits).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct DuplicateMatch {
    pub id: String,
    pub mrn: String,
    pub name: String,
}

/// Why a sync with the server failed. Stable codes; the UI words them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum SyncFailure {
    /// This device is not enrolled with a server.
    NotEnrolled,
    /// The server could not be reached (no network, server down): it retries by itself.
    Offline,
    /// The server refused the enrolment code or the device's token.
    Unauthorized,
    /// The device was revoked on the server: enrol it again.
    Revoked,
    /// The server answered with another error.
    Server,
    /// The server's answer made no sense (not an HMS server, a version mismatch).
    Protocol,
    /// This database holds the demo hospital, whose records and published accounts never go
    /// to a server.
    DemoData,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, specta::Type)]
#[serde(tag = "code", content = "detail", rename_all = "snake_case")]
pub enum AppError {
    #[error("{field}: {message}")]
    Validation { field: String, reason: ValidationReason, message: String },
    #[error("forbidden: needs permission {permission}")]
    Forbidden { permission: String },
    #[error("not signed in")]
    NotSignedIn,
    #[error("the session is locked; enter the password again")]
    SessionLocked,
    #[error("the session has expired; sign in again")]
    SessionExpired,
    /// Signed in with a password an administrator set: nothing but changing it is allowed.
    #[error("choose your own password before anything else")]
    PasswordChangeRequired,
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("too many failed attempts; retry in {seconds} s")]
    RetryLater { seconds: u32 },
    #[error("account locked until {until}")]
    AccountLocked { until: String },
    #[error("account is deactivated")]
    AccountInactive,
    #[error("{entity} not found")]
    NotFound { entity: String },
    /// The patient's chart is restricted to its care team and the caller is not on it (nor
    /// under emergency access): `clinical::restriction`.
    #[error("the chart of patient {patient_id} is restricted to its care team")]
    ChartRestricted { patient_id: String },
    #[error("the first administrator already exists")]
    AlreadySetUp,
    #[error("this would leave no active administrator")]
    LastAdmin,
    /// A prescription raised warnings (allergy match, duplicate medicine): saved only when
    /// sent again with an override reason.
    #[error("{} clinical warning(s); give a reason to override", warnings.len())]
    ClinicalWarning { warnings: Vec<ClinicalWarning> },
    /// A registration matches existing patients (same phone, national/insurance id, or a
    /// similar name with the same date of birth): saved only when sent again as "register
    /// anyway" with a reason.
    #[error("{} likely duplicate(s); register anyway with a reason", matches.len())]
    LikelyDuplicate { matches: Vec<DuplicateMatch> },
    /// An attachment's stored file no longer matches its SHA-256 (changed or damaged on disk).
    #[error("the stored file of attachment {id} is damaged: its checksum no longer matches")]
    AttachmentCorrupt { id: String },
    /// An attachment whose file is not on this device: its record came from another device
    /// (file contents do not sync yet) or the file was removed.
    #[error("the file of attachment {id} is not on this device")]
    AttachmentNotOnDevice { id: String },
    /// A printout's saved file is no longer in the exports folder (moved or deleted): print
    /// it again.
    #[error("the file of printout {id} is no longer in the exports folder")]
    PrintoutMissing { id: String },
    /// A printout's saved file was changed since it was printed (its SHA-256 no longer
    /// matches): print it again.
    #[error("the file of printout {id} was changed since it was printed")]
    PrintoutChanged { id: String },
    /// Syncing with the server failed (see `sync::SyncError` for the details in core).
    #[error("sync failed: {message}")]
    Sync { failure: SyncFailure, message: String },
    /// The database or the disk failed. What failed (SQL text, paths) is in the device's log
    /// under `reference` (`crate::logging`); the error carries the reference alone, for the
    /// person to quote.
    #[error("storage error (ref {reference})")]
    Storage { reference: String },
    /// A write that could not be completed because the disk (or the database's size limit)
    /// is full. Nothing of it was saved (its one transaction rolled back) and everything saved
    /// before is intact; reading keeps working. `what` names what was not saved: the table it
    /// was writing (`patients`, `payments`, ...) or, when no table was named yet, the core area
    /// whose statement failed (`billing`, `clinical`, ...); empty when neither is known.
    #[error("not saved ({what}): the disk is full")]
    StorageFull { what: String },
    /// A stored row that does not read as its record (a value no version of HMS writes):
    /// named, never read as a default.
    #[error("the stored {table} record {id} is damaged: its {field} cannot be read")]
    CorruptRecord { table: String, id: String, field: String },
    /// What was given as a backup is not one (no manifest, or not one HMS writes). `why`
    /// names what is missing.
    #[error("not an HMS backup: {why}")]
    NotABackup { why: String },
    /// A file the backup's manifest lists is missing or shorter than recorded (a copy cut off).
    #[error("the backup is incomplete: {file} is missing or cut off")]
    BackupTruncated { file: String },
    /// A file of the backup no longer has the SHA-256 its manifest recorded (bytes changed).
    #[error("the backup's {file} does not match its checksum")]
    BackupChecksumMismatch { file: String },
    /// The backup's database fails its checks (integrity check, audit chain, row counts):
    /// `what` names the check and where it failed.
    #[error("the backup is damaged: {what}")]
    BackupCorrupt { what: String },
    /// Restoring a backup of another clinic over this one is refused.
    #[error("the backup belongs to another clinic ({clinic})")]
    BackupOtherClinic { clinic: String },
    /// The backup was written by a newer version of HMS (its schema is ahead of this app's).
    #[error("the backup is from a newer version of HMS (schema {version}, this app knows up to {supported})")]
    BackupNewerSchema { version: u32, supported: u32 },
    /// The backup is encrypted with another key than this computer's (a backup of this clinic
    /// made on a computer whose key this one does not have): the clinic's recovery key opens it.
    #[error("the backup is encrypted with another key: enter the clinic's recovery key")]
    BackupOtherKey,
    /// Too many wrong recovery keys were tried on this computer (the sign-in rules:
    /// `backup::foreign`): no recovery key is tried again before `until` (RFC 3339).
    #[error("recovery keys are refused on this computer until {until} (too many wrong ones)")]
    RecoveryKeyLocked { until: String },
    /// The database is encrypted and its key file is missing (`path`): the recovery key gives
    /// this computer its key again (`hms-admin recover-key`).
    #[error("the database is encrypted and this computer has no key for it ({path})")]
    DatabaseKeyMissing { path: String },
    /// The database's key is to be read from the platform's keystore, which does not answer
    /// (locked, its service not running, refused): `reason` says which. Never answered with a
    /// new key (that would make the data unreadable): unlock the keystore and start again.
    #[error("the keystore that holds the database key does not answer: {reason}")]
    KeystoreUnavailable { reason: String },
    #[error("internal error: {message}")]
    Internal { message: String },
}

/// Core code calls it `Error`; the UI sees it as `AppError`.
pub type Error = AppError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl AppError {
    pub fn validation(field: &str, reason: ValidationReason, message: impl Into<String>) -> Self {
        Error::Validation { field: field.to_string(), reason, message: message.into() }
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        Error::Internal { message: message.to_string() }
    }

    /// A write that found the disk or the database full: logged (with what failed) under a
    /// reference like any storage failure, and named for the person.
    pub fn storage_full(what: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        let what = what.into();
        let reference = crate::logging::reference();
        tracing::error!(target: "hms::storage", reference = %reference, "storage full, {what:?} not saved: {detail}");
        Error::StorageFull { what }
    }

    /// [`From<sqlx::Error>`] for a statement that writes `what` (a table).
    pub fn writing(e: sqlx::Error, what: &str) -> Self {
        if is_full(&e) {
            Error::storage_full(what, e)
        } else {
            Error::storage(e)
        }
    }

    /// Names a [`Error::StorageFull`] that does not say yet what was not saved.
    pub fn naming(self, what: &str) -> Self {
        match self {
            Error::StorageFull { what: w } if w.is_empty() => Error::StorageFull { what: what.to_string() },
            e => e,
        }
    }

    /// A storage failure: what failed (which may hold SQL or paths) goes to the log under a
    /// new reference, and the error carries only the reference.
    pub fn storage(what: impl std::fmt::Display) -> Self {
        let reference = crate::logging::reference();
        tracing::error!(target: "hms::storage", reference = %reference, "{what}");
        Error::Storage { reference }
    }

    /// A stored value of row `id` of `table` that does not read: logged, and the error names
    /// the row.
    pub fn corrupt(table: &str, id: &str, field: &str, why: impl std::fmt::Display) -> Self {
        tracing::error!(target: "hms::storage", table, id, field, "stored value does not read: {why}");
        Error::CorruptRecord { table: table.to_string(), id: id.to_string(), field: field.to_string() }
    }

    /// The stable code, as the UI sees it.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Validation { .. } => "validation",
            Error::Forbidden { .. } => "forbidden",
            Error::NotSignedIn => "not_signed_in",
            Error::SessionLocked => "session_locked",
            Error::SessionExpired => "session_expired",
            Error::PasswordChangeRequired => "password_change_required",
            Error::InvalidCredentials => "invalid_credentials",
            Error::RetryLater { .. } => "retry_later",
            Error::AccountLocked { .. } => "account_locked",
            Error::AccountInactive => "account_inactive",
            Error::NotFound { .. } => "not_found",
            Error::ChartRestricted { .. } => "chart_restricted",
            Error::AlreadySetUp => "already_set_up",
            Error::LastAdmin => "last_admin",
            Error::ClinicalWarning { .. } => "clinical_warning",
            Error::LikelyDuplicate { .. } => "likely_duplicate",
            Error::AttachmentCorrupt { .. } => "attachment_corrupt",
            Error::AttachmentNotOnDevice { .. } => "attachment_not_on_device",
            Error::PrintoutMissing { .. } => "printout_missing",
            Error::PrintoutChanged { .. } => "printout_changed",
            Error::Sync { .. } => "sync",
            Error::Storage { .. } => "storage",
            Error::StorageFull { .. } => "storage_full",
            Error::CorruptRecord { .. } => "corrupt_record",
            Error::NotABackup { .. } => "not_a_backup",
            Error::BackupTruncated { .. } => "backup_truncated",
            Error::BackupChecksumMismatch { .. } => "backup_checksum_mismatch",
            Error::BackupCorrupt { .. } => "backup_corrupt",
            Error::BackupOtherClinic { .. } => "backup_other_clinic",
            Error::BackupNewerSchema { .. } => "backup_newer_schema",
            Error::BackupOtherKey => "backup_other_key",
            Error::RecoveryKeyLocked { .. } => "recovery_key_locked",
            Error::DatabaseKeyMissing { .. } => "database_key_missing",
            Error::KeystoreUnavailable { .. } => "keystore_unavailable",
            Error::Internal { .. } => "internal",
        }
    }
}

impl From<sqlx::Error> for Error {
    /// A full disk or database becomes [`Error::StorageFull`], named after the core area of
    /// the statement that failed (the source file where `?` converted it); any other failure
    /// is [`Error::Storage`].
    #[track_caller]
    fn from(e: sqlx::Error) -> Self {
        if is_full(&e) {
            return Error::storage_full(area_of(std::panic::Location::caller().file()), e);
        }
        Error::storage(e)
    }
}

/// Whether SQLite (or the disk under it) said it is full: `SQLITE_FULL` (a write past
/// `max_page_count`, or the disk out of space: SQLite turns ENOSPC into it) or an I/O error
/// of a full disk.
pub fn is_full(e: &sqlx::Error) -> bool {
    const SQLITE_FULL: &str = "13";
    const ENOSPC: i32 = 28;
    match e {
        sqlx::Error::Database(d) => d.code().as_deref() == Some(SQLITE_FULL),
        sqlx::Error::Io(io) => io.kind() == std::io::ErrorKind::StorageFull || io.raw_os_error() == Some(ENOSPC),
        _ => false,
    }
}

/// The core area of a source file (`crates/core/src/billing/bills.rs` -> `billing`); empty for
/// the shared write path (`store`, `audit`), whose callers name the table instead.
fn area_of(file: &str) -> String {
    let mut parts = file.split(['/', '\\']);
    let area = parts.by_ref().find(|p| *p == "src").and_then(|_| parts.next()).unwrap_or("");
    let area = area.strip_suffix(".rs").unwrap_or(area);
    match area {
        "store" | "audit" | "error" | "lib" => String::new(),
        a => a.to_string(),
    }
}

impl From<sqlx::migrate::MigrateError> for Error {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Error::storage(format_args!("migration failed: {e}"))
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::internal(format!("json: {e}"))
    }
}
