//! The clinical record (first slice): visits, vitals, diagnoses coded with ICD-10-CM,
//! allergies, the medicine list and prescriptions (with allergy and duplicate warnings), the
//! lab catalogue, orders and results, and the chart summary. Every read needs
//! `clinical_view` (or `lab_results` for the lab's work list); every write is one
//! transaction with its change-log and audit entries; every chart opening is audited.

pub mod allergy_check;
pub mod attachments;
pub mod catalog;
pub mod chart;
pub mod drugs;
pub mod formulary;
pub mod icd10;
mod icd10_rank;
pub mod lab;
pub mod lab_pdf;
pub mod lab_ranges;
pub mod model;
pub mod prescribing;
pub mod prescription_pdf;
pub mod print;
pub mod restriction;
pub mod starter;
#[cfg(test)]
mod sync_check;
mod tables;
pub mod visit_summary_pdf;
pub mod visits;

pub use model::*;

use crate::error::{Error, Result, ValidationReason};
use crate::store::{ChangeOp, WriteTx};
use serde_json::{Map, Value};

/// The shipped ICD-10-CM table: code<TAB>description, one a line, in tabular order (searched
/// by `icd10`, its headings known to `icd10_rank`).
pub(crate) const ICD10_TABLE: &str = include_str!("../../assets/icd10/icd10cm-2026.tsv");

/// Inserts one synced row (the sync columns are added here) and records its change-log entry
/// with the row as written.
pub(crate) async fn insert_row(w: &mut WriteTx<'_>, table: &str, id: &str, cols: &[(&str, Value)]) -> Result<()> {
    let written = insert_values(w, table, &[(id, cols)]).await?;
    let row = written.row(id, cols);
    w.record_change(table, id, ChangeOp::Insert, &row).await
}

/// Inserts synced rows of one table, each with the same columns in the same order, and
/// records their change-log entries, in a handful of statements whatever their number (the
/// lines of one dispensing).
pub(crate) async fn insert_rows(w: &mut WriteTx<'_>, table: &str, rows: &[(&str, &[(&str, Value)])]) -> Result<()> {
    let written = insert_values(w, table, rows).await?;
    let changes: Vec<(&str, Value)> = rows.iter().map(|(id, cols)| (*id, written.row(id, cols))).collect();
    w.record_changes(table, ChangeOp::Insert, &changes).await
}

/// The sync columns one insert gave its rows.
struct Written {
    now: String,
    stamp: String,
    by: Option<String>,
}

impl Written {
    /// A row as written, for its change-log entry.
    fn row(&self, id: &str, cols: &[(&str, Value)]) -> Value {
        let mut row = Map::new();
        row.insert("id".into(), Value::from(id));
        for (c, v) in cols {
            row.insert((*c).into(), v.clone());
        }
        row.insert("created_at".into(), Value::from(self.now.clone()));
        row.insert("updated_at".into(), Value::from(self.stamp.clone()));
        row.insert("updated_by".into(), self.by.clone().map(Value::from).unwrap_or(Value::Null));
        Value::Object(row)
    }
}

/// The INSERT statements of [`insert_rows`]: table and column names are the core's own,
/// never a caller's input.
async fn insert_values(w: &mut WriteTx<'_>, table: &str, rows: &[(&str, &[(&str, Value)])]) -> Result<Written> {
    let (now, stamp, by, dev) = (w.now_rfc3339(), w.stamp(), w.actor().user_id.clone(), w.device_id().to_string());
    let written = Written { now, stamp, by };
    let Some((_, first)) = rows.first() else { return Ok(written) };
    let names: Vec<&str> = first.iter().map(|(c, _)| *c).collect();
    if rows.iter().any(|(_, cols)| !cols.iter().map(|(c, _)| *c).eq(names.iter().copied())) {
        return Err(Error::internal(format!("rows of {table} with different columns in one insert")));
    }
    // SQLite allows 32,766 variables in a statement.
    let per_statement = (32_000 / (names.len() + 5)).max(1);
    for chunk in rows.chunks(per_statement) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(format!(
            "INSERT INTO {table} (id, {}, created_at, updated_at, updated_by, origin_device) ",
            names.join(", ")
        ));
        q.push_values(chunk, |mut b, (id, cols)| {
            b.push_bind(*id);
            for (_, v) in cols.iter() {
                match v {
                    Value::Null => b.push_bind(None::<String>),
                    Value::Bool(x) => b.push_bind(*x),
                    Value::Number(n) => b.push_bind(n.as_i64()),
                    Value::String(s) => b.push_bind(s.clone()),
                    other => b.push_bind(other.to_string()),
                };
            }
            b.push_bind(written.now.clone())
                .push_bind(written.stamp.clone())
                .push_bind(written.by.clone())
                .push_bind(dev.clone());
        });
        q.build().execute(w.conn()).await?;
    }
    Ok(written)
}

/// Normalises a single-line text field; `required` refuses an empty one.
pub(crate) fn line(field: &str, raw: &str, max: usize, required: bool) -> Result<String> {
    let s = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if required && s.is_empty() {
        return Err(Error::validation(field, ValidationReason::Required, "required"));
    }
    if s.chars().count() > max {
        return Err(Error::validation(field, ValidationReason::TooLong, format!("at most {max} characters")));
    }
    Ok(s)
}

/// Normalises a free-text (multi-line) field.
pub(crate) fn text(field: &str, raw: &str, max: usize) -> Result<String> {
    let s = raw.trim().replace("\r\n", "\n");
    if s.chars().count() > max {
        return Err(Error::validation(field, ValidationReason::TooLong, format!("at most {max} characters")));
    }
    Ok(s)
}

/// A row that must exist (not deleted), inside the write.
pub(crate) async fn exists(w: &mut WriteTx<'_>, table: &str, id: &str) -> Result<bool> {
    let sql = format!("SELECT COUNT(*) > 0 FROM {table} WHERE id = ? AND deleted_at IS NULL");
    Ok(sqlx::query_scalar(&sql).bind(id).fetch_one(w.conn()).await?)
}

/// Prefixes the field of a validation error of a part of a larger input ("vitals.pulse",
/// "diagnoses.1.icd10").
pub(crate) fn within<T>(prefix: &str, r: Result<T>) -> Result<T> {
    r.map_err(|e| match e {
        Error::Validation { field, reason, message } => {
            Error::Validation { field: format!("{prefix}.{field}"), reason, message }
        }
        other => other,
    })
}

/// Parses a decimal ("5.4", "-0.25", "120") into thousandths; None when it is not a number
/// with at most three decimals.
pub fn parse_milli(raw: &str) -> Option<i64> {
    let s = raw.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty() || int.len() > 12 || frac.len() > 3 {
        return None;
    }
    if !int.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut f: i64 = if frac.is_empty() { 0 } else { frac.parse().ok()? };
    for _ in frac.len()..3 {
        f *= 10;
    }
    let v = whole * 1000 + f;
    Some(if neg { -v } else { v })
}

/// Thousandths back to a short decimal ("5.4", "120").
pub fn format_milli(v: i64) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    let (whole, frac) = (a / 1000, a % 1000);
    if frac == 0 {
        return format!("{sign}{whole}");
    }
    let f = format!("{frac:03}");
    format!("{sign}{whole}.{}", f.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_round_trip_through_thousandths() {
        assert_eq!(parse_milli("5.4"), Some(5_400));
        assert_eq!(parse_milli("-0.25"), Some(-250));
        assert_eq!(parse_milli("120"), Some(120_000));
        assert_eq!(parse_milli(".5"), Some(500));
        assert_eq!(parse_milli("1.2345"), None);
        assert_eq!(parse_milli("positive"), None);
        assert_eq!(parse_milli(""), None);
        assert_eq!(format_milli(5_400), "5.4");
        assert_eq!(format_milli(-250), "-0.25");
        assert_eq!(format_milli(120_000), "120");
    }
}
