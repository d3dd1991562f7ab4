//! A prescription's dose in words for a dispensing label: "1 tablet twice a day after food
//! for 5 days" from its dose, unit, frequency, duration and instructions.
//!
//! The frequency is read as the prescribing screen offers it: a pattern of three or four
//! parts ("1-0-1": morning, afternoon, night; "1-1-1-1": morning, noon, evening, night), the
//! usual abbreviations (OD, BD, TDS, QID, HS, SOS, STAT), "every N hours" or "weekly". A
//! pattern whose parts are not all 0 or 1 is said time by time ("2 tablets in the morning and
//! 1 tablet at night"). Anything else is printed as the doctor wrote it. Short instructions
//! ("after food") go into the sentence; the label prints longer ones on their own line.

/// The longest instruction put inside the sentence.
pub const INLINE_INSTRUCTIONS_MAX: usize = 30;

/// What a prescription line says about taking the medicine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dosage<'a> {
    pub dose: &'a str,
    pub dose_unit: &'a str,
    pub frequency: &'a str,
    pub duration_days: Option<i32>,
    pub instructions: &'a str,
}

/// The dose in words (see the module doc).
pub fn dose_in_words(d: &Dosage<'_>) -> String {
    let dose = d.dose.trim();
    let unit = d.dose_unit.trim();
    let how = match pattern(d.frequency) {
        Some(parts) => by_pattern(dose, unit, &parts),
        None => format!("{} {}", amount(dose, unit), frequency_words(d.frequency.trim())).trim().to_string(),
    };
    let mut out = how;
    let instructions = d.instructions.trim();
    if !instructions.is_empty() && instructions.chars().count() <= INLINE_INSTRUCTIONS_MAX {
        out = format!("{out} {}", instructions.trim_end_matches('.'));
    }
    match d.duration_days {
        Some(1) => out.push_str(" for 1 day"),
        Some(n) if n > 1 => out.push_str(&format!(" for {n} days")),
        _ => {}
    }
    out.trim().to_string()
}

/// Whether the label prints the instructions on a line of their own (too long for the sentence).
pub fn instructions_apart(instructions: &str) -> bool {
    instructions.trim().chars().count() > INLINE_INSTRUCTIONS_MAX
}

/// How many doses a day a frequency gives (a pattern's parts added up, the usual
/// abbreviations, "every N hours"); `None` when it cannot be counted (SOS, weekly, free text).
pub fn doses_a_day(frequency: &str) -> Option<u32> {
    if let Some(parts) = pattern(frequency) {
        return Some(parts.iter().sum());
    }
    let f = frequency.trim().to_ascii_uppercase().replace('.', "");
    let n = match f.as_str() {
        "OD" | "QD" | "DAILY" | "HS" => 1,
        "BD" | "BID" => 2,
        "TDS" | "TID" => 3,
        "QID" | "QDS" => 4,
        _ => {
            let hours = f.strip_prefix("EVERY ")?.trim_end_matches(" HOURS").trim_end_matches(" HOUR").trim();
            let h: u32 = hours.parse().ok().filter(|h| (1..=24).contains(h) && 24 % h == 0)?;
            24 / h
        }
    };
    Some(n)
}

/// The units a whole course takes: a whole-number dose × doses a day × days; `None` when one
/// of them is not known (a long-term or when-needed prescription, a dose of "½").
pub fn course_units(dose: &str, frequency: &str, duration_days: Option<i32>) -> Option<i64> {
    let dose: i64 = dose.trim().parse().ok().filter(|d| *d > 0)?;
    let days = i64::from(duration_days.filter(|d| *d > 0)?);
    dose.checked_mul(i64::from(doses_a_day(frequency)?))?.checked_mul(days)
}

/// "1 tablet", "2 tablets", "5 ml", "½ tablet"; the dose alone when there is no unit.
fn amount(dose: &str, unit: &str) -> String {
    if unit.is_empty() {
        return dose.to_string();
    }
    if dose.is_empty() {
        return unit.to_string();
    }
    format!("{dose} {}", plural(unit, dose))
}

/// Countable units take an "s" when there is more than one; measures (ml, mg) never do.
fn plural(unit: &str, dose: &str) -> String {
    const COUNTABLE: [&str; 7] = ["tablet", "capsule", "drop", "puff", "sachet", "unit", "application"];
    let one = matches!(dose.parse::<f64>(), Ok(v) if v <= 1.0) || dose.contains('/') || dose.contains('½');
    if !one && COUNTABLE.contains(&unit.to_ascii_lowercase().as_str()) {
        format!("{unit}s")
    } else {
        unit.to_string()
    }
}

/// "1-0-1" → [1, 0, 1]; three or four parts of one digit, at least one not 0.
fn pattern(frequency: &str) -> Option<Vec<u32>> {
    let parts: Vec<&str> = frequency.trim().split('-').collect();
    if !(3..=4).contains(&parts.len()) {
        return None;
    }
    let digits: Option<Vec<u32>> =
        parts.iter().map(|p| if p.len() == 1 { p.chars().next()?.to_digit(10) } else { None }).collect();
    digits.filter(|d| d.iter().any(|&n| n > 0))
}

fn times_of_day(len: usize) -> &'static [&'static str] {
    if len == 4 {
        &["in the morning", "at noon", "in the evening", "at night"]
    } else {
        &["in the morning", "in the afternoon", "at night"]
    }
}

fn by_pattern(dose: &str, unit: &str, parts: &[u32]) -> String {
    let times = times_of_day(parts.len());
    let taken: Vec<(u32, &str)> = parts.iter().zip(times).filter(|(n, _)| **n > 0).map(|(n, t)| (*n, *t)).collect();
    if taken.iter().all(|(n, _)| *n == 1) {
        let each = amount(dose, unit);
        return match taken.as_slice() {
            [(_, when)] => format!("{each} once a day {when}"),
            _ => format!("{each} {}", count_a_day(taken.len())),
        };
    }
    // Differing parts: each time its own amount (the part times the dose when the dose is a number).
    let said: Vec<String> = taken
        .iter()
        .map(|(n, when)| {
            let how_many = match dose.parse::<u32>() {
                Ok(d) => d.saturating_mul(*n).to_string(),
                Err(_) => n.to_string(),
            };
            format!("{} {when}", amount(&how_many, unit))
        })
        .collect();
    join_and(&said)
}

fn count_a_day(n: usize) -> String {
    match n {
        1 => "once a day".into(),
        2 => "twice a day".into(),
        3 => "three times a day".into(),
        4 => "four times a day".into(),
        n => format!("{n} times a day"),
    }
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The usual abbreviations in words; "every 8 hours" and anything unknown as written.
fn frequency_words(f: &str) -> String {
    let words = match f.to_ascii_uppercase().replace('.', "").as_str() {
        "OD" | "QD" | "DAILY" => "once a day",
        "BD" | "BID" => "twice a day",
        "TDS" | "TID" => "three times a day",
        "QID" | "QDS" => "four times a day",
        "HS" => "at bedtime",
        "SOS" | "PRN" => "when needed",
        "STAT" => "at once",
        "WEEKLY" => "once a week",
        _ => return f.to_string(),
    };
    words.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(dose: &str, unit: &str, frequency: &str, days: Option<i32>, instructions: &str) -> String {
        dose_in_words(&Dosage { dose, dose_unit: unit, frequency, duration_days: days, instructions })
    }

    #[test]
    fn patterns_and_abbreviations_read_as_a_sentence() {
        assert_eq!(words("1", "tablet", "1-0-1", Some(5), "after food"), "1 tablet twice a day after food for 5 days");
        assert_eq!(words("2", "capsule", "1-1-1", Some(7), ""), "2 capsules three times a day for 7 days");
        assert_eq!(words("1", "tablet", "0-0-1", Some(1), ""), "1 tablet once a day at night for 1 day");
        assert_eq!(words("1", "tablet", "1-0-0", None, ""), "1 tablet once a day in the morning");
        assert_eq!(words("1", "puff", "1-1-1-1", Some(3), ""), "1 puff four times a day for 3 days");
        assert_eq!(
            words("1", "tablet", "2-0-1", Some(10), "after food"),
            "2 tablets in the morning and 1 tablet at night after food for 10 days"
        );
        assert_eq!(words("5", "ml", "TDS", Some(5), ""), "5 ml three times a day for 5 days");
        assert_eq!(words("1", "tablet", "sos", None, ""), "1 tablet when needed");
        assert_eq!(words("1", "tablet", "every 8 hours", Some(3), ""), "1 tablet every 8 hours for 3 days");
        assert_eq!(words("½", "tablet", "BD", Some(2), ""), "½ tablet twice a day for 2 days");
    }

    #[test]
    fn a_course_is_counted_when_dose_frequency_and_days_are_known() {
        assert_eq!(course_units("1", "1-0-1", Some(5)), Some(10));
        assert_eq!(course_units("2", "TDS", Some(7)), Some(42));
        assert_eq!(course_units("1", "2-0-1", Some(3)), Some(9));
        assert_eq!(course_units("1", "every 8 hours", Some(2)), Some(6));
        assert_eq!(course_units("1", "SOS", Some(5)), None);
        assert_eq!(course_units("1", "1-0-1", None), None);
        assert_eq!(course_units("½", "1-0-1", Some(5)), None);
        assert_eq!(course_units("9223372036854775807", "1-1-1", Some(5)), None, "too large to count");
        assert!(words("4000000000", "tablet", "2-0-1", Some(1), "").starts_with("4294967295 tablets"));
    }

    #[test]
    fn long_instructions_stay_out_of_the_sentence() {
        let long = "dissolve in half a glass of water before drinking";
        assert_eq!(words("1", "sachet", "1-0-0", Some(3), long), "1 sachet once a day in the morning for 3 days");
        assert!(instructions_apart(long));
        assert!(!instructions_apart("after food"));
    }
}
