//! Money arithmetic: integer minor units (paise, cents) only, never floats.
//!
//! THE rounding rule, applied once, here: a line's discount and a line's tax are each
//! rounded half up to the minor unit, per line. Everything else is exact integer sums:
//!
//!   gross    = quantity × unit price
//!   discount = an amount, or round_half_up(gross × percent_bp / 10,000), never above gross
//!   taxable  = gross − discount
//!   tax      = round_half_up(taxable × tax_rate_bp / 10,000)
//!   line     = taxable + tax
//!   invoice  = Σ lines (subtotal = Σ gross, discounts = Σ discount, tax = Σ tax per rate)
//!
//! Percentages and tax rates are basis points (1% = 100 bp; 18% GST = 1,800 bp).

use serde::{Deserialize, Serialize};

/// Basis points in 100%.
pub const BP: i64 = 10_000;

/// How a line's discount is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Discount {
    None,
    /// Minor units off the line.
    Amount(#[specta(type = f64)] i64),
    /// Basis points of the line's gross (1,000 = 10%).
    Percent(u32),
}

/// What a line is made of, before the sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineInput {
    pub quantity: u32,
    pub unit_price: i64,
    pub discount: Discount,
    pub tax_rate_bp: u32,
}

/// A line's computed amounts (minor units).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, specta::Type)]
pub struct LineAmounts {
    #[specta(type = f64)]
    pub gross: i64,
    #[specta(type = f64)]
    pub discount: i64,
    #[specta(type = f64)]
    pub taxable: i64,
    #[specta(type = f64)]
    pub tax: i64,
    #[specta(type = f64)]
    pub total: i64,
}

/// `value × bp / 10,000` rounded half up (values are never negative here).
pub fn apply_bp(value: i64, bp: u32) -> i64 {
    let product = i128::from(value) * i128::from(bp);
    let q = (product + i128::from(BP) / 2) / i128::from(BP);
    i64::try_from(q).unwrap_or(i64::MAX)
}

/// The amounts of one line. Inputs are validated before (non-negative prices, rates ≤ 100%).
pub fn line_amounts(l: LineInput) -> LineAmounts {
    let gross = i64::from(l.quantity).saturating_mul(l.unit_price);
    let discount = match l.discount {
        Discount::None => 0,
        Discount::Amount(a) => a.clamp(0, gross),
        Discount::Percent(bp) => apply_bp(gross, bp.min(BP as u32)),
    };
    let taxable = gross - discount;
    let tax = apply_bp(taxable, l.tax_rate_bp);
    LineAmounts { gross, discount, taxable, tax, total: taxable + tax }
}

/// Tax collected at one rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
pub struct TaxAtRate {
    pub rate_bp: u32,
    #[specta(type = f64)]
    pub taxable: i64,
    #[specta(type = f64)]
    pub tax: i64,
}

/// An invoice's sums.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, specta::Type)]
pub struct Totals {
    #[specta(type = f64)]
    pub subtotal: i64,
    #[specta(type = f64)]
    pub discount: i64,
    #[specta(type = f64)]
    pub taxable: i64,
    #[specta(type = f64)]
    pub tax: i64,
    #[specta(type = f64)]
    pub total: i64,
    /// By tax rate, lowest rate first.
    pub taxes: Vec<TaxAtRate>,
}

/// Sums lines; the result does not depend on their order.
pub fn totals(lines: &[LineInput]) -> Totals {
    let mut t = Totals::default();
    for l in lines {
        let a = line_amounts(*l);
        t.subtotal += a.gross;
        t.discount += a.discount;
        t.taxable += a.taxable;
        t.tax += a.tax;
        t.total += a.total;
        match t.taxes.iter_mut().find(|x| x.rate_bp == l.tax_rate_bp) {
            Some(x) => {
                x.taxable += a.taxable;
                x.tax += a.tax;
            }
            None => t.taxes.push(TaxAtRate { rate_bp: l.tax_rate_bp, taxable: a.taxable, tax: a.tax }),
        }
    }
    t.taxes.sort_by_key(|x| x.rate_bp);
    t
}

/// "1,23,456.78" (Indian grouping for INR) or "123,456.78", with the currency's symbol.
pub fn format(minor: i64, currency: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let (units, cents) = (abs / 100, abs % 100);
    let digits = units.to_string();
    let grouped = if currency == "INR" { group_indian(&digits) } else { group_thousands(&digits) };
    let symbol = match currency {
        "INR" => "₹",
        "USD" => "$",
        "EUR" => "€",
        "GBP" => "£",
        _ => "",
    };
    let code = if symbol.is_empty() { format!("{currency} ") } else { String::new() };
    format!("{sign}{code}{symbol}{grouped}.{cents:02}")
}

fn group_thousands(d: &str) -> String {
    let mut out = String::new();
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// 12,34,567: the last three digits, then pairs.
fn group_indian(d: &str) -> String {
    if d.len() <= 3 {
        return d.to_string();
    }
    let (head, tail) = d.split_at(d.len() - 3);
    let mut out = String::new();
    for (i, c) in head.chars().enumerate() {
        if i > 0 && (head.len() - i) % 2 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{out},{tail}")
}

const ONES: [&str; 20] = [
    "Zero",
    "One",
    "Two",
    "Three",
    "Four",
    "Five",
    "Six",
    "Seven",
    "Eight",
    "Nine",
    "Ten",
    "Eleven",
    "Twelve",
    "Thirteen",
    "Fourteen",
    "Fifteen",
    "Sixteen",
    "Seventeen",
    "Eighteen",
    "Nineteen",
];
const TENS: [&str; 10] = ["", "", "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety"];

/// 0..=999 in words ("Two Hundred Thirty-Four").
fn below_thousand(n: u64) -> String {
    let (h, rest) = (n / 100, n % 100);
    let mut parts = Vec::new();
    if h > 0 {
        parts.push(format!("{} Hundred", ONES[h as usize]));
    }
    if rest > 0 {
        parts.push(if rest < 20 {
            ONES[rest as usize].to_string()
        } else if rest % 10 == 0 {
            TENS[(rest / 10) as usize].to_string()
        } else {
            format!("{}-{}", TENS[(rest / 10) as usize], ONES[(rest % 10) as usize])
        });
    }
    parts.join(" ")
}

/// A whole number in words, Indian style for INR (lakh, crore), else international.
fn number_words(n: u64, indian: bool) -> String {
    if n == 0 {
        return ONES[0].to_string();
    }
    let scales: &[(u64, &str)] = if indian {
        &[(10_000_000, "Crore"), (100_000, "Lakh"), (1_000, "Thousand")]
    } else {
        &[(1_000_000_000, "Billion"), (1_000_000, "Million"), (1_000, "Thousand")]
    };
    let mut parts = Vec::new();
    let mut rest = n;
    for (size, name) in scales {
        if rest >= *size {
            let count = rest / size;
            // Above the largest scale the count itself may need words with scales (crores of crores).
            let words = if count >= 1000 { number_words(count, indian) } else { below_thousand(count) };
            parts.push(format!("{words} {name}"));
            rest %= size;
        }
    }
    if rest > 0 {
        parts.push(below_thousand(rest));
    }
    parts.join(" ")
}

/// The amount in words for an invoice: "Rupees One Thousand Two Hundred and Fifty Paise Only".
pub fn in_words(minor: i64, currency: &str) -> String {
    let abs = minor.unsigned_abs();
    let (units, cents) = (abs / 100, abs % 100);
    let (major, minor_name) = match currency {
        "INR" => ("Rupees", "Paise"),
        "USD" => ("Dollars", "Cents"),
        "EUR" => ("Euros", "Cents"),
        "GBP" => ("Pounds", "Pence"),
        other => (other, "Cents"),
    };
    let indian = currency == "INR";
    let minus = if minor < 0 { "Minus " } else { "" };
    let mut s = format!("{minus}{major} {}", number_words(units, indian));
    if cents > 0 {
        s.push_str(&format!(" and {} {minor_name}", number_words(cents, indian)));
    }
    s.push_str(" Only");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(q: u32, p: i64, d: Discount, t: u32) -> LineInput {
        LineInput { quantity: q, unit_price: p, discount: d, tax_rate_bp: t }
    }

    #[test]
    fn half_up_per_line() {
        // 18% of 1.05 = 0.189 → 0.19; 5% of 0.10 = 0.005 → 0.01.
        assert_eq!(line_amounts(line(1, 105, Discount::None, 1800)).tax, 19);
        assert_eq!(line_amounts(line(1, 10, Discount::None, 500)).tax, 1);
        // 12.5% off 3 × 3.33 = 9.99 → 1.24875 → 1.25.
        let a = line_amounts(line(3, 333, Discount::Percent(1250), 0));
        assert_eq!((a.gross, a.discount, a.total), (999, 125, 874));
        // A discount above the line is capped at the line.
        assert_eq!(line_amounts(line(1, 500, Discount::Amount(900), 1800)).total, 0);
    }

    #[test]
    fn taxes_by_rate() {
        let t = totals(&[
            line(1, 10_000, Discount::None, 1800),
            line(2, 500, Discount::None, 0),
            line(1, 1_000, Discount::None, 1800),
        ]);
        assert_eq!((t.subtotal, t.tax, t.total), (12_000, 1_980, 13_980));
        assert_eq!(
            t.taxes,
            vec![
                TaxAtRate { rate_bp: 0, taxable: 1_000, tax: 0 },
                TaxAtRate { rate_bp: 1800, taxable: 11_000, tax: 1_980 }
            ]
        );
    }

    #[test]
    // Indian grouping (lakh, crore) on purpose: the amounts read as the words say.
    #[allow(clippy::inconsistent_digit_grouping)]
    fn formats_and_words() {
        assert_eq!(format(123_456_789, "INR"), "₹12,34,567.89");
        assert_eq!(format(123_456_789, "USD"), "$1,234,567.89");
        assert_eq!(format(5, "INR"), "₹0.05");
        assert_eq!(in_words(123_450, "INR"), "Rupees One Thousand Two Hundred Thirty-Four and Fifty Paise Only");
        assert_eq!(in_words(1_00_00_000_00, "INR"), "Rupees One Crore Only");
        assert_eq!(in_words(2_50_000_00, "INR"), "Rupees Two Lakh Fifty Thousand Only");
        assert_eq!(in_words(100, "USD"), "Dollars One Only");
    }
}
