//! The clinic's facts, in one place for every area that needs them:
//!
//! - its **time zone**, and from it **now** and **today** as the clinic's staff see them. A
//!   clinic in Asia/Kolkata is on the 24th from 18:30 UTC on the 23rd: "today" is never the
//!   UTC date (a birth date of today, today's queue, today's tariff price, a prescription's
//!   start all use [`today`]). `Store::now` is the instant (tests pin it with `set_now`);
//!   this module gives it the clinic's calendar.
//! - this device's **prefix**, the 4 characters that make the numbers it mints offline unique
//!   across devices (MRNs, invoice and receipt numbers, the default token series).
//! - the **letterhead** printouts carry: the clinic's name, address, registration and tax
//!   numbers, and logo.
//!
//! Settings (`settings.rs`) and the billing settings write these values; this module is
//! where they are read.

use crate::error::Result;
use crate::pdf::Picture;
use crate::settings::values as settings;
use crate::store::{meta, Store, WriteTx};
use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;

/// Setting: the clinic's postal address (multi-line), printed under its name.
pub const ADDRESS_KEY: &str = "clinic_address";
/// Setting: the clinical establishment registration number.
pub const REGISTRATION_KEY: &str = "clinic_registration_no";
/// Setting: GSTIN or other tax number.
pub const TAX_NO_KEY: &str = "clinic_tax_no";
/// Setting: the logo, a PNG in base64 (empty: none).
pub const LOGO_KEY: &str = "clinic_logo";
/// The `meta` key of this device's prefix (it was first drawn for MRNs, hence the name).
pub const DEVICE_PREFIX_KEY: &str = "mrn_prefix";
/// Crockford base32: the characters of a device prefix.
pub const PREFIX_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// An IANA time zone name ("Asia/Kolkata"), or None.
pub fn parse_tz(name: &str) -> Option<Tz> {
    name.parse::<Tz>().ok()
}

/// The clinic's time zone (IANA name, e.g. Asia/Kolkata): schedules, "today" and printed
/// times are in its local time. UTC until set.
pub async fn time_zone(store: &Store) -> Result<Tz> {
    Ok(settings::get_value(store, settings::TIME_ZONE_KEY)
        .await?
        .and_then(|v| v.as_str().and_then(parse_tz))
        .unwrap_or(chrono_tz::UTC))
}

/// [`time_zone`], read inside a write (the bed-day census runs in one).
pub(crate) async fn time_zone_in(w: &mut WriteTx<'_>) -> Result<Tz> {
    let raw: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = ? AND deleted_at IS NULL")
        .bind(settings::TIME_ZONE_KEY)
        .fetch_optional(w.conn())
        .await?;
    Ok(raw
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .and_then(|v| v.as_str().and_then(parse_tz))
        .unwrap_or(chrono_tz::UTC))
}

/// Now on the clinic's wall clock.
pub async fn now(store: &Store) -> Result<DateTime<Tz>> {
    let tz = time_zone(store).await?;
    Ok(store.now().with_timezone(&tz))
}

/// Today in the clinic's time zone.
pub async fn today(store: &Store) -> Result<NaiveDate> {
    Ok(now(store).await?.date_naive())
}

/// [`today`] as YYYY-MM-DD, the form dates are stored in.
pub async fn today_ymd(store: &Store) -> Result<String> {
    Ok(today(store).await?.format("%Y-%m-%d").to_string())
}

fn random_prefix() -> String {
    // UUIDv7's last bits are random: reuse them rather than add a RNG dependency.
    let bytes = uuid::Uuid::now_v7().into_bytes();
    let bits = u32::from_be_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
    (0..4).map(|i| PREFIX_ALPHABET[((bits >> (i * 5)) & 31) as usize] as char).collect()
}

/// This device's prefix (4 characters of Crockford base32), drawn at random on first use,
/// inside the caller's write. Two devices never share one unless the draw collides, which
/// the sync server refuses at enrolment.
pub async fn device_prefix(w: &mut WriteTx<'_>) -> Result<String> {
    if let Some(p) = meta::get(w.conn(), DEVICE_PREFIX_KEY).await? {
        return Ok(p);
    }
    let p = random_prefix();
    meta::set(w.conn(), DEVICE_PREFIX_KEY, &p).await?;
    Ok(p)
}

/// The clinic's name; anyone may read it (it is printed on what they print).
pub async fn name(store: &Store) -> Result<String> {
    Ok(settings::get_value(store, settings::CLINIC_NAME_KEY)
        .await?
        .and_then(|v| v.as_str().map(str::to_string))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| settings::DEFAULT_CLINIC_NAME.to_string()))
}

/// A text setting of the letterhead ("" until set).
pub(crate) async fn text(store: &Store, key: &str) -> Result<String> {
    Ok(settings::get_value(store, key).await?.and_then(|v| v.as_str().map(String::from)).unwrap_or_default())
}

/// The clinic's logo for printing, if one is set (a stored logo that no longer decodes is
/// left off rather than failing the printout).
pub async fn logo(store: &Store) -> Result<Option<Picture>> {
    use base64::Engine;
    let b64 = text(store, LOGO_KEY).await?;
    if b64.is_empty() {
        return Ok(None);
    }
    Ok(base64::engine::general_purpose::STANDARD.decode(b64).ok().and_then(|bytes| crate::pdf::decode_png(&bytes).ok()))
}

/// What a printout carries at the top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letterhead {
    pub name: String,
    /// Up to three lines.
    pub address: String,
    /// Clinical establishment registration number ("" when not set).
    pub registration_no: String,
    /// GSTIN or other tax number ("" when not set).
    pub tax_no: String,
    pub logo: Option<Picture>,
}

pub async fn letterhead(store: &Store) -> Result<Letterhead> {
    Ok(Letterhead {
        name: name(store).await?,
        address: text(store, ADDRESS_KEY).await?,
        registration_no: text(store, REGISTRATION_KEY).await?,
        tax_no: text(store, TAX_NO_KEY).await?,
        logo: logo(store).await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_four_crockford_characters() {
        for _ in 0..100 {
            let p = random_prefix();
            assert_eq!(p.len(), 4);
            assert!(p.bytes().all(|b| PREFIX_ALPHABET.contains(&b)), "{p}");
        }
    }
}
