//! FHIR R4 datatypes as serde structs that borrow from the row they are made from, for the
//! resources a patient's record has by the hundred (observations, encounters, diagnoses,
//! prescriptions, bills, appointments). They print straight to JSON: no `serde_json::Value`
//! tree is built, printed and dropped per resource. Optional elements are skipped when absent
//! and lists when empty, as FHIR forbids empty values.

use super::context::{Ctx, RefStyle};
use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;
use std::fmt;

pub fn is_empty<T>(v: &[T]) -> bool {
    v.is_empty()
}

#[derive(Serialize)]
pub struct Coding<'a> {
    pub system: &'a str,
    pub code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<&'a str>,
}

/// A `CodeableConcept`.
#[derive(Serialize, Default)]
pub struct Concept<'a> {
    #[serde(skip_serializing_if = "is_empty")]
    pub coding: Vec<Coding<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<&'a str>,
}

impl<'a> Concept<'a> {
    /// One coding, with its display as the text too.
    pub fn coded(system: &'a str, code: &'a str, display: &'a str) -> Concept<'a> {
        Concept { coding: vec![Coding { system, code, display: Some(display) }], text: Some(display) }
    }

    /// One coding and no text.
    pub fn code_only(system: &'a str, code: &'a str, display: Option<&'a str>) -> Concept<'a> {
        Concept { coding: vec![Coding { system, code, display }], text: None }
    }

    /// Text alone.
    pub fn text(text: &'a str) -> Concept<'a> {
        Concept { coding: Vec::new(), text: Some(text) }
    }
}

/// A `Reference` to `resource_type`/`id`, written as the export's [`RefStyle`] asks
/// (`Patient/<id>` or `urn:uuid:<id>`) without building the text first.
pub struct Reference<'a> {
    style: RefStyle,
    resource_type: &'static str,
    id: &'a str,
}

impl<'a> Reference<'a> {
    pub fn to(cx: &Ctx<'_>, resource_type: &'static str, id: &'a str) -> Reference<'a> {
        Reference { style: cx.style, resource_type, id }
    }
}

impl fmt::Display for Reference<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.style {
            RefStyle::Relative => write!(f, "{}/{}", self.resource_type, self.id),
            RefStyle::Urn => write!(f, "urn:uuid:{}", self.id),
        }
    }
}

/// Serializes a `Display` as a JSON string.
struct AsText<'r, T: fmt::Display>(&'r T);

impl<T: fmt::Display> Serialize for AsText<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self.0)
    }
}

impl Serialize for Reference<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Reference", 1)?;
        st.serialize_field("reference", &AsText(self))?;
        st.end()
    }
}

#[derive(Serialize)]
pub struct Quantity<'a> {
    pub value: serde_json::Number,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'a str>,
}

impl<'a> Quantity<'a> {
    /// A UCUM-coded quantity.
    pub fn ucum(value: serde_json::Number, unit: &'a str, ucum: &'a str) -> Quantity<'a> {
        Quantity { value, unit: Some(unit), system: Some(super::systems::UCUM), code: Some(ucum) }
    }

    /// A value and its unit as written.
    pub fn plain(value: serde_json::Number, unit: Option<&'a str>) -> Quantity<'a> {
        Quantity { value, unit, system: None, code: None }
    }
}

/// `value / 10^scale` as a FHIR decimal: exact for the integers HMS stores (the division is
/// correctly rounded, so the shortest representation is the decimal one); `None` only for a
/// number that is not finite, which an `i64` over a power of ten never is.
pub fn decimal(value: i64, scale: u32) -> Option<serde_json::Number> {
    serde_json::Number::from_f64(value as f64 / 10f64.powi(scale as i32))
}

#[derive(Serialize)]
pub struct Period<'a> {
    pub start: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<&'a str>,
}

#[derive(Serialize)]
pub struct Meta<'a> {
    pub profile: [&'a str; 1],
}
