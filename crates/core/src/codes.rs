//! Stored codes of the enums: a value's code is its serde name, written once on the type
//! (`#[serde(rename_all = "snake_case")]`), so that the UI, the database and the change log
//! read the same text and no hand-written `match` repeats it.
//!
//! `impl Code for Sex {}` gives `Sex::Female.code() == "female"` (no allocation: serde hands
//! the variant's name over as a `&'static str`) and `Sex::from_code("female")`.

use serde::de::value::{Error as DeError, StrDeserializer};
use serde::de::{DeserializeOwned, IntoDeserializer};
use serde::ser::{self, Impossible, Serialize};
use std::fmt;

/// An enum of unit variants stored as its serde name.
pub trait Code: Serialize + DeserializeOwned + Copy {
    /// The stored code ("" for a variant that carries data, which no implementor has: a test
    /// of each implementor reads every code back).
    fn code(self) -> &'static str {
        self.serialize(VariantName).unwrap_or("")
    }

    /// The value of a stored code; `None` for one this version does not know.
    fn from_code(code: &str) -> Option<Self> {
        let de: StrDeserializer<'_, DeError> = code.into_deserializer();
        Self::deserialize(de).ok()
    }
}

/// A serializer that answers the name of a unit variant and refuses everything else.
struct VariantName;

#[derive(Debug)]
struct NotUnitVariant;

impl fmt::Display for NotUnitVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a unit variant")
    }
}

impl std::error::Error for NotUnitVariant {}

impl ser::Error for NotUnitVariant {
    fn custom<T: fmt::Display>(_: T) -> Self {
        NotUnitVariant
    }
}

type Refused = Impossible<&'static str, NotUnitVariant>;

macro_rules! refuse {
    ($($name:ident($($arg:ty),*);)*) => {
        $(fn $name(self, $(_: $arg),*) -> Result<&'static str, NotUnitVariant> {
            Err(NotUnitVariant)
        })*
    };
}

impl ser::Serializer for VariantName {
    type Ok = &'static str;
    type Error = NotUnitVariant;
    type SerializeSeq = Refused;
    type SerializeTuple = Refused;
    type SerializeTupleStruct = Refused;
    type SerializeTupleVariant = Refused;
    type SerializeMap = Refused;
    type SerializeStruct = Refused;
    type SerializeStructVariant = Refused;

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<&'static str, NotUnitVariant> {
        Ok(variant)
    }

    refuse! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_f32(f32);
        serialize_f64(f64);
        serialize_char(char);
        serialize_str(&str);
        serialize_bytes(&[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(&'static str);
    }

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<&'static str, NotUnitVariant> {
        Err(NotUnitVariant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<&'static str, NotUnitVariant> {
        Err(NotUnitVariant)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<&'static str, NotUnitVariant> {
        Err(NotUnitVariant)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Refused, NotUnitVariant> {
        Err(NotUnitVariant)
    }
    fn serialize_tuple(self, _: usize) -> Result<Refused, NotUnitVariant> {
        Err(NotUnitVariant)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Refused, NotUnitVariant> {
        Err(NotUnitVariant)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Refused, NotUnitVariant> {
        Err(NotUnitVariant)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Refused, NotUnitVariant> {
        Err(NotUnitVariant)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Refused, NotUnitVariant> {
        Err(NotUnitVariant)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Refused, NotUnitVariant> {
        Err(NotUnitVariant)
    }
}

#[cfg(test)]
mod tests {
    use super::Code;
    use crate::billing::{BillStatus, Category, PaymentKind, PaymentMode};
    use crate::clinical::{Abnormal, Certainty, OrderStatus, Severity};
    use crate::inpatients::{BedEventKind, BedState, DischargeType, WardKind};
    use crate::patients::{PatientStatus, Sex};
    use crate::schedule::availability::ExceptionKind;
    use crate::schedule::booking::AppointmentStatus;
    use crate::stock::stocktake::StockTakeStatus;
    use crate::stock::{AdjustReason, ItemKind, MovementKind, PassedReason, PurchaseStatus, StoreKind};
    use crate::sync::ConflictKind;
    use std::fmt::Debug;

    /// Every variant's code is its serde name, reads back as itself, and no other text reads.
    fn round_trip<T: Code + PartialEq + Debug>(all: &[T], codes: &[&str]) {
        let got: Vec<&str> = all.iter().map(|v| v.code()).collect();
        assert_eq!(got, codes);
        for v in all {
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!(v.code()));
            assert_eq!(T::from_code(v.code()), Some(*v));
        }
        for unknown in ["", "Female", "no_such_code", " draft"] {
            assert_eq!(T::from_code(unknown), None, "{unknown:?}");
        }
    }

    /// The codes the sync policy accepts in a synced field (its `OneOf` rule): the codes the
    /// core writes there must be exactly these, or another device's rows are refused.
    fn policy_codes(entity: &str, field: &str) -> &'static [&'static str] {
        use hms_policy::entities::{entity as policy_entity, Rule};
        let e = policy_entity(entity).unwrap_or_else(|| panic!("no policy for {entity}"));
        e.fields
            .iter()
            .find_map(|(f, rule)| match rule {
                Rule::OneOf(codes) if *f == field => Some(*codes),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no OneOf rule for {entity}.{field}"))
    }

    #[test]
    fn every_code_is_the_serde_name_and_reads_back() {
        round_trip(&[Sex::Female, Sex::Male, Sex::Other, Sex::Unknown], policy_codes("patients", "sex"));
        round_trip(
            &[PatientStatus::Active, PatientStatus::Deceased, PatientStatus::Moved, PatientStatus::Merged],
            &["active", "deceased", "moved", "merged"],
        );
        round_trip(&[Certainty::Provisional, Certainty::Final], &["provisional", "final"]);
        round_trip(&[Severity::Mild, Severity::Moderate, Severity::Severe], &["mild", "moderate", "severe"]);
        round_trip(
            &[OrderStatus::Ordered, OrderStatus::Collected, OrderStatus::Resulted, OrderStatus::Cancelled],
            &["ordered", "collected", "resulted", "cancelled"],
        );
        round_trip(
            &[Abnormal::Normal, Abnormal::Low, Abnormal::High, Abnormal::Unknown],
            &["normal", "low", "high", "unknown"],
        );
        round_trip(&Category::ALL, &["consultation", "procedure", "lab_test", "pharmacy", "bed_day", "other"]);
        round_trip(&[BillStatus::Draft, BillStatus::Final, BillStatus::Cancelled], &["draft", "final", "cancelled"]);
        round_trip(
            &[PaymentKind::Payment, PaymentKind::Advance, PaymentKind::Refund],
            &["payment", "advance", "refund"],
        );
        round_trip(&PaymentMode::ALL, &["cash", "card", "upi", "bank_transfer", "insurance"]);
        round_trip(
            &[
                AppointmentStatus::Booked,
                AppointmentStatus::CheckedIn,
                AppointmentStatus::WithDoctor,
                AppointmentStatus::Done,
                AppointmentStatus::Cancelled,
                AppointmentStatus::NoShow,
            ],
            &["booked", "checked_in", "with_doctor", "done", "cancelled", "no_show"],
        );
        round_trip(
            &[ExceptionKind::Leave, ExceptionKind::Extra, ExceptionKind::Cancelled],
            &["leave", "extra", "cancelled"],
        );
        round_trip(
            &[ConflictKind::Field, ConflictKind::SlotDoubleBooked, ConflictKind::MrnDuplicate, ConflictKind::Refused],
            &["field", "slot_double_booked", "mrn_duplicate", "refused"],
        );
        round_trip(
            &[
                WardKind::General,
                WardKind::Icu,
                WardKind::Maternity,
                WardKind::Paediatric,
                WardKind::Private,
                WardKind::Other,
            ],
            policy_codes("wards", "kind"),
        );
        round_trip(
            &[DischargeType::Home, DischargeType::Referred, DischargeType::AgainstAdvice, DischargeType::Deceased],
            policy_codes("admissions", "discharge_type"),
        );
        round_trip(
            &[BedState::Free, BedState::Occupied, BedState::Reserved, BedState::Cleaning, BedState::OutOfService],
            &["free", "occupied", "reserved", "cleaning", "out_of_service"],
        );
        // Compared with the policy's list, not restated: another device's events carry these.
        round_trip(
            &[
                BedEventKind::Admitted,
                BedEventKind::TransferredOut,
                BedEventKind::TransferredIn,
                BedEventKind::Swapped,
                BedEventKind::Discharged,
                BedEventKind::Cleaning,
                BedEventKind::Cleaned,
                BedEventKind::OutOfService,
                BedEventKind::BackInService,
                BedEventKind::Reserved,
                BedEventKind::ReservationCancelled,
            ],
            policy_codes("bed_events", "kind"),
        );
        // The migration's CHECKs and the policy's rules list these same codes.
        round_trip(
            &[StoreKind::Main, StoreKind::Pharmacy, StoreKind::Lab, StoreKind::Ward],
            &["main", "pharmacy", "lab", "ward"],
        );
        round_trip(
            &[ItemKind::Medicine, ItemKind::LabConsumable, ItemKind::Other],
            &["medicine", "lab_consumable", "other"],
        );
        round_trip(
            &[
                MovementKind::Received,
                MovementKind::Dispensed,
                MovementKind::Returned,
                MovementKind::TransferOut,
                MovementKind::TransferIn,
                MovementKind::Adjusted,
                MovementKind::LabUse,
            ],
            &["received", "dispensed", "returned", "transfer_out", "transfer_in", "adjusted", "lab_use"],
        );
        round_trip(
            &[AdjustReason::Damaged, AdjustReason::Expired, AdjustReason::CountCorrection],
            &["damaged", "expired", "count_correction"],
        );
        round_trip(
            &[
                PassedReason::Expired,
                PassedReason::OnHold,
                PassedReason::ExpiresBeforeCourseEnds,
                PassedReason::NotInThisStore,
                PassedReason::Empty,
            ],
            &["expired", "on_hold", "expires_before_course_ends", "not_in_this_store", "empty"],
        );
        round_trip(
            &[StockTakeStatus::Open, StockTakeStatus::Posted, StockTakeStatus::Cancelled],
            &["open", "posted", "cancelled"],
        );
        // The stored four are the migration's CHECK and the policy's rule; the other two are read.
        round_trip(
            &[
                PurchaseStatus::Draft,
                PurchaseStatus::Approved,
                PurchaseStatus::Sent,
                PurchaseStatus::PartlyReceived,
                PurchaseStatus::Received,
                PurchaseStatus::Cancelled,
            ],
            &["draft", "approved", "sent", "partly_received", "received", "cancelled"],
        );
    }
}
