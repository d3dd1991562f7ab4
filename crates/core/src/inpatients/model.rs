//! The inpatient area's types: what the UI sends (inputs) and what it reads (the board).

use crate::codes::Code;
use serde::{Deserialize, Serialize};

/// A ward's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum WardKind {
    General,
    Icu,
    Maternity,
    Paediatric,
    Private,
    Other,
}
impl Code for WardKind {}

/// How a stay ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum DischargeType {
    Home,
    Referred,
    AgainstAdvice,
    Deceased,
}
impl Code for DischargeType {}

/// One line of a bed's story (`bed_events.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum BedEventKind {
    /// The admission's first bed (at admission, or from the waiting list).
    Admitted,
    /// The admission left this bed for another (paired with `TransferredIn`).
    TransferredOut,
    /// The admission came to this bed from another.
    TransferredIn,
    /// Two patients exchanged beds: this bed now holds the event's admission (paired).
    Swapped,
    /// The admission was discharged from this bed.
    Discharged,
    /// Sent to housekeeping (a free bed that needs cleaning).
    Cleaning,
    /// Housekeeping made it ready.
    Cleaned,
    OutOfService,
    BackInService,
    /// A free bed held for a patient (`patient_id`) until `until`, with a note in `reason`.
    Reserved,
    /// The reservation of the event's `patient_id` ended before its time.
    ReservationCancelled,
}
impl Code for BedEventKind {}

/// A bed's state on the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum BedState {
    Free,
    Occupied,
    /// Held for one patient until a time (then free again by itself).
    Reserved,
    Cleaning,
    OutOfService,
}
impl Code for BedState {}

#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct WardInput {
    pub name: String,
    /// general | icu | maternity | paediatric | private | other
    pub kind: String,
    /// The tariff service of the daily bed charge (category bed_day).
    pub bed_service_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Ward {
    pub id: String,
    pub name: String,
    pub kind: WardKind,
    pub bed_service_id: Option<String>,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Room {
    pub id: String,
    pub ward_id: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct BedInput {
    pub ward_id: String,
    pub room_id: Option<String>,
    pub label: String,
    pub tags: Vec<String>,
    /// Overrides the ward's daily charge for this bed.
    pub bed_service_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Bed {
    pub id: String,
    pub ward_id: String,
    pub room_id: Option<String>,
    pub label: String,
    pub tags: Vec<String>,
    pub bed_service_id: Option<String>,
}

/// A bed to hold for an expected patient (`reservations::reserve`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct ReserveInput {
    pub bed_id: String,
    /// A registered patient not in a bed: expected, or on a ward's waiting list.
    pub patient_id: String,
    pub note: String,
    /// When it lapses (RFC 3339); the end of the next day (clinic time) when empty.
    pub until: Option<String>,
}

/// A reserved bed's reservation, as its card shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ReservationCard {
    pub patient_id: String,
    pub name: String,
    pub mrn: String,
    /// When it lapses (UTC, RFC 3339).
    pub until: String,
    pub note: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct AdmitInput {
    pub patient_id: String,
    /// staff.id of the admitting doctor.
    pub doctor_id: String,
    pub reason: String,
    /// Provisional diagnosis, an ICD-10 code ('' for none yet).
    pub diagnosis_code: String,
    pub expected_days: Option<u32>,
    pub ward_id: String,
    /// A free bed of the ward; none puts the patient on the ward's waiting list.
    pub bed_id: Option<String>,
    /// When the patient was admitted, entered afterwards (RFC 3339; none or '' for now): at
    /// most [`super::BACK_ENTRY_HOURS_MAX`] hours ago, not in the future, not before the
    /// patient was registered. The stay, its bed and its bed-days start then.
    #[serde(default)]
    pub admitted_at: Option<String>,
}

/// What an admission may carry beyond [`AdmitInput`]: the visit it came from and a deposit.
#[derive(Debug, Clone, Default, Deserialize, specta::Type)]
pub struct AdmitExtras {
    /// The visit the doctor admitted from (one of the patient's own).
    pub visit_id: Option<String>,
    /// An advance deposit on the patient's open bill (needs `billing_edit`: reception), taken
    /// in the same transaction as the admission.
    pub deposit: Option<crate::billing::model::PaymentInput>,
}

/// An admission filled in from a visit or a queued appointment, for the admit dialog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct AdmitDraft {
    pub patient_id: String,
    /// staff.id of the visit's or the appointment's doctor.
    pub doctor_id: String,
    pub reason: String,
    /// The visit's diagnosis with an ICD-10 code (provisional first; '' for none).
    pub diagnosis_code: String,
    pub diagnosis_text: String,
    /// The visit to keep on the admission (the appointment's, once the doctor opened one).
    pub visit_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct DischargeInput {
    pub admission_id: String,
    /// home | referred | against_advice | deceased
    pub discharge_type: String,
    /// When (UTC, RFC 3339); now when empty. Not before the admission or its last move.
    pub discharged_at: Option<String>,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Admission {
    pub id: String,
    pub patient_id: String,
    pub doctor_id: String,
    pub ward_id: String,
    pub reason: String,
    pub diagnosis_code: String,
    pub diagnosis_text: String,
    pub expected_days: Option<u32>,
    pub admitted_at: String,
    pub discharged_at: Option<String>,
    pub discharge_type: Option<DischargeType>,
    /// The bed it holds now on the board (None: waiting list, or discharged).
    pub bed_id: Option<String>,
}

/// The patient in an occupied bed (or waiting for one), as a card shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Occupant {
    pub admission_id: String,
    pub patient_id: String,
    pub name: String,
    pub mrn: String,
    pub sex: String,
    /// Whole years on the clinic's today (None without a birth date).
    pub age_years: Option<u32>,
    pub admitted_at: String,
    /// Census days passed since admission (the bed-days charged so far).
    pub days_in: u32,
    pub doctor_name: String,
    pub has_allergies: bool,
    /// What is due now (doses, vitals; overdue among them): for users who may see the
    /// clinical record (`clinical_view`), else None.
    pub due: Option<super::due::DueSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct BedCard {
    pub bed_id: String,
    pub label: String,
    pub room_id: Option<String>,
    pub room_name: String,
    pub tags: Vec<String>,
    pub state: BedState,
    /// Why it is out of service.
    pub reason: String,
    pub occupant: Option<Occupant>,
    /// For whom a reserved bed is held.
    pub reservation: Option<ReservationCard>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, specta::Type)]
pub struct WardCounts {
    pub beds: u32,
    pub occupied: u32,
    pub free: u32,
    pub reserved: u32,
    pub cleaning: u32,
    pub out_of_service: u32,
    pub waiting: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct WardBoard {
    pub ward: Ward,
    pub counts: WardCounts,
    pub beds: Vec<BedCard>,
    /// Admitted to this ward without a bed (the waiting list), oldest first; `needs_bed` marks
    /// those whose bed went to another patient on another device.
    pub waiting: Vec<WaitingEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct WaitingEntry {
    pub occupant: Occupant,
    /// The bed this admission was given and lost to an earlier one (settled by sync).
    pub needs_bed: bool,
}

/// What the board settled when two devices' moves disagreed (shown in the conflicts inbox).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum BoardConflictKind {
    /// Two admissions were given one bed: the earlier keeps it, this one needs a bed.
    BedTaken,
    /// A transfer to a bed that was taken meanwhile: the patient stays where they were.
    TransferRefused,
    /// A swap whose two patients were no longer in its two beds: nothing moved.
    SwapRefused,
    /// A bed taken out of service while a patient was in it: it stays in service.
    OutOfServiceRefused,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct BoardConflict {
    pub kind: BoardConflictKind,
    /// The event that could not be applied.
    pub event_id: String,
    pub bed_id: String,
    pub admission_id: Option<String>,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Board {
    pub wards: Vec<WardBoard>,
    pub conflicts: Vec<BoardConflict>,
    /// Every tag in use, for the filter.
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct BoardFilter {
    pub ward_id: Option<String>,
    pub tag: Option<String>,
}

/// What a census accrual charged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, specta::Type)]
pub struct Accrual {
    /// Bed-day lines added to bills.
    pub lines: u32,
    /// Census days that found no price for their bed's service (nothing charged for them).
    pub unpriced: u32,
    /// Bed-days already charged from another bed than the settled board's (by a device that
    /// had not seen a move), corrected to the bed the patient lay in at the census.
    pub corrected: u32,
}
