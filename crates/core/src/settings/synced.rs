//! A pulled settings change passes the checks its local setter makes (issue 12: a pulled row
//! passes the same validation as a local write of it). A settings row's `value` is the JSON
//! text of the setting; each key this version reads must hold exactly what its setter would
//! have kept, checked with the setter's own function: a locale on the list, an hour cycle, an
//! IANA zone under its own name, an idle time in range, the clinic's name, address, numbers,
//! currency and invoice series as normalised, a logo that is a PNG within its limits. A key
//! this version does not read (a newer version's) passes: nothing here uses it. What fails
//! is refused like any invalid row (`sync::trust`): kept as a `refused` conflict, never applied.

use super::formats::{known_locale, HourCycle, HOUR_CYCLE_KEY, LOCALE_KEY};
use super::values::{CLINIC_NAME_KEY, IDLE_KEY, TIME_ZONE_KEY};
use crate::billing::{self, CURRENCY_KEY, INVOICE_SERIES_KEY};
use crate::clinic::{ADDRESS_KEY, LOGO_KEY, REGISTRATION_KEY, TAX_NO_KEY};
use serde_json::Value;

/// Checks the `value` of a pulled change of the setting `key` (its `data`); a change without
/// one (a deletion) has nothing to check. The error says what is wrong, for the conflict.
pub(crate) fn check(key: &str, data: &Value) -> Result<(), String> {
    let Some(value) = data.get("value") else {
        return Ok(());
    };
    let Some(text) = value.as_str() else {
        return Err(format!("{key}: the value is not a setting's JSON text"));
    };
    let value: Value = serde_json::from_str(text).map_err(|e| format!("{key}: the value is not JSON ({e})"))?;
    // A text setting: what the setter keeps for it must be the text itself.
    let kept = |normalise: fn(&str) -> crate::Result<String>| -> Result<(), String> {
        let s = value.as_str().ok_or_else(|| format!("{key}: not a text"))?;
        let kept = normalise(s).map_err(|e| format!("{key}: {e}"))?;
        if kept != s {
            return Err(format!("{key}: {s:?} is not as the clinic's settings keep it ({kept:?})"));
        }
        Ok(())
    };
    match key {
        IDLE_KEY => match value.as_u64() {
            Some(minutes) => super::check_idle_minutes(minutes).map_err(|e| format!("{key}: {e}")),
            None => Err(format!("{key}: not a whole number of minutes")),
        },
        CLINIC_NAME_KEY => kept(super::clinic_name),
        TIME_ZONE_KEY => kept(|s| super::time_zone_named(s).map(|tz| tz.name().to_string())),
        LOCALE_KEY => kept(|s| {
            known_locale(s).map(str::to_string).ok_or_else(|| {
                crate::Error::validation("locale", crate::ValidationReason::Invalid, "a locale on the list")
            })
        }),
        HOUR_CYCLE_KEY => match value.as_str().and_then(HourCycle::from_code) {
            Some(_) => Ok(()),
            None => Err(format!("{key}: h24 or h12")),
        },
        ADDRESS_KEY => kept(billing::address),
        REGISTRATION_KEY => kept(billing::registration_no),
        TAX_NO_KEY => kept(billing::tax_no),
        CURRENCY_KEY => kept(billing::currency_code),
        INVOICE_SERIES_KEY => kept(billing::invoice_series),
        crate::stock::ALLOW_NEGATIVE_KEY | crate::inpatients::rights::RECEPTION_MOVES_KEY => match value.as_bool() {
            Some(_) => Ok(()),
            None => Err(format!("{key}: not true or false")),
        },
        LOGO_KEY => {
            use base64::Engine;
            match value.as_str() {
                Some("") => Ok(()),
                Some(b64) => {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .map_err(|_| format!("{key}: not a file in base64"))?;
                    billing::check_logo(&bytes).map_err(|e| format!("{key}: {e}"))
                }
                None => Err(format!("{key}: not a text")),
            }
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A settings change's data as `settings::values::put` writes it.
    fn data(value: Value) -> Value {
        json!({"key": "k", "value": value.to_string(), "updated_at": "0001800000000000-000000-dev", "updated_by": null})
    }

    #[test]
    fn what_the_setters_keep_passes_and_what_they_refuse_does_not() {
        use base64::Engine;
        let png = {
            let mut out = Vec::new();
            let mut encoder = png::Encoder::new(&mut out, 2, 2);
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().unwrap();
            writer.write_image_data(&[0; 12]).unwrap();
            drop(writer);
            base64::engine::general_purpose::STANDARD.encode(out)
        };
        let good = [
            (LOCALE_KEY, json!("en-IN")),
            (LOCALE_KEY, json!("en-US")),
            (HOUR_CYCLE_KEY, json!("h12")),
            (TIME_ZONE_KEY, json!("Asia/Kolkata")),
            (TIME_ZONE_KEY, json!("UTC")),
            (IDLE_KEY, json!(15)),
            (IDLE_KEY, json!(240)),
            (CLINIC_NAME_KEY, json!("Mlimani Clinic")),
            (ADDRESS_KEY, json!("Plot 4\nMlimani Road")),
            (ADDRESS_KEY, json!("")),
            (REGISTRATION_KEY, json!("CE 2024/17")),
            (TAX_NO_KEY, json!("27AAPFU0939F1ZV")),
            (CURRENCY_KEY, json!("INR")),
            (INVOICE_SERIES_KEY, json!("INV")),
            (LOGO_KEY, json!("")),
            (LOGO_KEY, json!(png)),
            ("a_newer_versions_key", json!({"anything": true})),
        ];
        for (key, value) in good {
            assert_eq!(check(key, &data(value.clone())), Ok(()), "{key} = {value}");
        }
        let bad = [
            (LOCALE_KEY, json!("xx-XX")),
            (LOCALE_KEY, json!("en-in")),
            (LOCALE_KEY, json!(7)),
            (HOUR_CYCLE_KEY, json!("h13")),
            (TIME_ZONE_KEY, json!("Mars/Olympus_Mons")),
            (TIME_ZONE_KEY, json!(" Asia/Kolkata")),
            (IDLE_KEY, json!(0)),
            (IDLE_KEY, json!(241)),
            (IDLE_KEY, json!("15")),
            (CLINIC_NAME_KEY, json!("")),
            (CLINIC_NAME_KEY, json!("Two  spaces")),
            (CLINIC_NAME_KEY, json!("x".repeat(81))),
            (ADDRESS_KEY, json!("x".repeat(301))),
            (TAX_NO_KEY, json!("27aapfu0939f1zv")),
            (CURRENCY_KEY, json!("inr")),
            (CURRENCY_KEY, json!("XXX")),
            (INVOICE_SERIES_KEY, json!("IN-V")),
            (INVOICE_SERIES_KEY, json!("")),
            (LOGO_KEY, json!("not base64!")),
            (LOGO_KEY, json!(base64::engine::general_purpose::STANDARD.encode(b"GIF89a, not a PNG"))),
        ];
        for (key, value) in bad {
            assert!(check(key, &data(value.clone())).is_err(), "{key} = {value} passed");
        }
        // The row itself must hold JSON text.
        assert!(check(LOCALE_KEY, &json!({"key": LOCALE_KEY, "value": 5})).is_err());
        assert!(check(LOCALE_KEY, &json!({"key": LOCALE_KEY, "value": "{oops"})).is_err());
        assert_eq!(check(LOCALE_KEY, &json!({"key": LOCALE_KEY, "deleted_at": "x"})), Ok(()));
    }
}
