//! The summary tables (migration 0028): local counts kept by triggers in the same transaction
//! as every write to the rows they count, so that a report over a year reads a few thousand
//! summary rows instead of every record. Each summary exists by day and by month; a range is
//! read as its whole months plus the days at its edges (`DateRange::spans`).

use super::range::Span;
use super::DateRange;

/// One summary kept by day and by month: the two tables and the columns read from them.
pub(crate) struct Summary {
    pub day_table: &'static str,
    pub month_table: &'static str,
    /// The columns a report reads (the same in both tables), e.g. `doctor_id, status, n`.
    pub columns: &'static str,
}

pub(crate) const APPOINTMENTS: Summary = Summary {
    day_table: "report_appointments_day",
    month_table: "report_appointments_month",
    columns: "doctor_id, status, n",
};

/// Done consultations timed (called in to done) by day and month (migration 0052): doctor
/// performance's average consultation.
pub(crate) const CONSULTATIONS: Summary =
    Summary { day_table: "report_consult_day", month_table: "report_consult_month", columns: "doctor_id, n, seconds" };

pub(crate) const WAITS: Summary =
    Summary { day_table: "report_waits_day", month_table: "report_waits_month", columns: "doctor_id, minutes, n" };

/// Attended appointments by weekday and slot hour, by day and month (migration 0053): busiest
/// hours.
pub(crate) const HOURS: Summary = Summary {
    day_table: "report_hours_day",
    month_table: "report_hours_month",
    columns: "doctor_id, weekday, hour, n",
};

impl Summary {
    /// A sub-select of the summary's rows over `range` (its months from the month table, its
    /// edge days from the day table) and the values to bind to it, in order.
    pub fn rows(&self, range: &DateRange) -> (String, Vec<String>) {
        let mut parts = Vec::new();
        let mut binds = Vec::new();
        for span in range.spans() {
            match span {
                Span::Days(a, b) => {
                    parts
                        .push(format!("SELECT {} FROM {} WHERE date >= ? AND date <= ?", self.columns, self.day_table));
                    binds.push(a.format("%Y-%m-%d").to_string());
                    binds.push(b.format("%Y-%m-%d").to_string());
                }
                Span::Months(a, b) => {
                    parts.push(format!(
                        "SELECT {} FROM {} WHERE month >= ? AND month <= ?",
                        self.columns, self.month_table
                    ));
                    binds.push(a.format("%Y-%m").to_string());
                    binds.push(b.format("%Y-%m").to_string());
                }
            }
        }
        (format!("({})", parts.join(" UNION ALL ")), binds)
    }
}

/// Binds `binds` in order.
pub(crate) fn bind_all<'q, O>(
    mut q: sqlx::query::QueryAs<'q, sqlx::Sqlite, O, sqlx::sqlite::SqliteArguments<'q>>,
    binds: &'q [String],
) -> sqlx::query::QueryAs<'q, sqlx::Sqlite, O, sqlx::sqlite::SqliteArguments<'q>> {
    for b in binds {
        q = q.bind(b);
    }
    q
}

/// The quarter hour an instant is counted in by the summaries by quarter (migration 0059), worked
/// out here another way for the recount: a UTC time's minutes rounded down to 00/15/30/45 (45 for
/// any minutes past it), anything else by its first 16 characters.
macro_rules! quarter_of {
    ($col:literal) => {
        concat!(
            "CASE WHEN ",
            $col,
            " GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]*' THEN substr(",
            $col,
            ", 1, 14) || printf('%02d', min(CAST(substr(",
            $col,
            ", 15, 2) AS INTEGER) / 15 * 15, 45)) ELSE substr(",
            $col,
            ", 1, 16) END"
        )
    };
}

/// Each summary table beside a recount of what it summarises straight from the records
/// (written out here without the migration's views, so that a wrong view shows too).
pub(crate) const RECOUNTS: [(&str, &str, &str); 32] = [
    (
        "report_appointments_day",
        "SELECT date, doctor_id, status, n FROM report_appointments_day WHERE n <> 0",
        "SELECT date, doctor_id, status, COUNT(*) FROM appointments WHERE deleted_at IS NULL GROUP BY date, doctor_id, status",
    ),
    (
        "report_appointments_month",
        "SELECT month, doctor_id, status, n FROM report_appointments_month WHERE n <> 0",
        "SELECT substr(date, 1, 7), doctor_id, status, COUNT(*) FROM appointments WHERE deleted_at IS NULL
         GROUP BY substr(date, 1, 7), doctor_id, status",
    ),
    (
        "report_waits_day",
        "SELECT date, doctor_id, minutes, n FROM report_waits_day WHERE n <> 0",
        "SELECT date, doctor_id, (strftime('%s', called_at) - strftime('%s', checked_in_at)) / 60 AS m, COUNT(*)
         FROM appointments WHERE deleted_at IS NULL AND checked_in_at IS NOT NULL AND called_at IS NOT NULL
           AND strftime('%s', called_at) - strftime('%s', checked_in_at) >= 0
         GROUP BY date, doctor_id, m",
    ),
    (
        "report_waits_month",
        "SELECT month, doctor_id, minutes, n FROM report_waits_month WHERE n <> 0",
        "SELECT substr(date, 1, 7), doctor_id, (strftime('%s', called_at) - strftime('%s', checked_in_at)) / 60 AS m, COUNT(*)
         FROM appointments WHERE deleted_at IS NULL AND checked_in_at IS NOT NULL AND called_at IS NOT NULL
           AND strftime('%s', called_at) - strftime('%s', checked_in_at) >= 0
         GROUP BY substr(date, 1, 7), doctor_id, m",
    ),
    (
        "report_revenue_lines_day",
        "SELECT day, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n
         FROM report_revenue_lines_day WHERE n <> 0",
        "SELECT substr(b.finalized_at, 1, 10), COALESCE(l.service_id, ''), l.description, l.quantity, l.unit_price_minor,
                l.discount_kind, l.discount_value, l.tax_rate_bp, COALESCE(a.doctor_id, ''), COUNT(*)
         FROM bills b JOIN bill_lines l ON l.bill_id = b.id
         LEFT JOIN appointments a ON l.source = 'appointment' AND a.id = l.source_id
         WHERE b.status = 'final' AND b.deleted_at IS NULL AND b.finalized_at IS NOT NULL AND l.deleted_at IS NULL
         GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9",
    ),
    (
        "report_invoices_day",
        "SELECT day, n FROM report_invoices_day WHERE n <> 0",
        "SELECT substr(b.finalized_at, 1, 10), COUNT(*) FROM bills b
         WHERE b.status = 'final' AND b.deleted_at IS NULL AND b.finalized_at IS NOT NULL
           AND EXISTS (SELECT 1 FROM bill_lines l WHERE l.bill_id = b.id AND l.deleted_at IS NULL)
         GROUP BY 1",
    ),
    (
        "report_invoices_doctor_day",
        "SELECT day, doctor_id, n FROM report_invoices_doctor_day WHERE n <> 0",
        "SELECT day, doctor, COUNT(*) FROM (
             SELECT DISTINCT b.id, substr(b.finalized_at, 1, 10) AS day, COALESCE(a.doctor_id, '') AS doctor
             FROM bills b JOIN bill_lines l ON l.bill_id = b.id
             LEFT JOIN appointments a ON l.source = 'appointment' AND a.id = l.source_id
             WHERE b.status = 'final' AND b.deleted_at IS NULL AND b.finalized_at IS NOT NULL AND l.deleted_at IS NULL)
         GROUP BY day, doctor",
    ),
    (
        "report_credit_notes_day",
        "SELECT day, n, amount FROM report_credit_notes_day WHERE n <> 0",
        "SELECT substr(c.created_at, 1, 10), COUNT(*), SUM(c.amount_minor) FROM credit_notes c JOIN bills b ON b.id = c.bill_id
         WHERE c.deleted_at IS NULL AND b.status = 'final' AND b.deleted_at IS NULL GROUP BY 1",
    ),
    (
        "report_payments_day",
        "SELECT day, mode, kind, n, amount FROM report_payments_day WHERE n <> 0",
        "SELECT substr(received_at, 1, 10), mode, kind, COUNT(*), SUM(amount_minor) FROM payments
         WHERE deleted_at IS NULL GROUP BY 1, 2, 3",
    ),
    (
        "report_revenue_lines_quarter",
        "SELECT quarter, service_id, description, quantity, unit_price_minor, discount_kind, discount_value, tax_rate_bp, doctor_id, n
         FROM report_revenue_lines_quarter WHERE n <> 0",
        concat!(
            "SELECT ",
            quarter_of!("b.finalized_at"),
            ", COALESCE(l.service_id, ''), l.description, l.quantity, l.unit_price_minor,
                l.discount_kind, l.discount_value, l.tax_rate_bp, COALESCE(a.doctor_id, ''), COUNT(*)
         FROM bills b JOIN bill_lines l ON l.bill_id = b.id
         LEFT JOIN appointments a ON l.source = 'appointment' AND a.id = l.source_id
         WHERE b.status = 'final' AND b.deleted_at IS NULL AND b.finalized_at IS NOT NULL AND l.deleted_at IS NULL
         GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9"
        ),
    ),
    (
        "report_invoices_quarter",
        "SELECT quarter, n FROM report_invoices_quarter WHERE n <> 0",
        concat!(
            "SELECT ",
            quarter_of!("b.finalized_at"),
            ", COUNT(*) FROM bills b
         WHERE b.status = 'final' AND b.deleted_at IS NULL AND b.finalized_at IS NOT NULL
           AND EXISTS (SELECT 1 FROM bill_lines l WHERE l.bill_id = b.id AND l.deleted_at IS NULL)
         GROUP BY 1"
        ),
    ),
    (
        "report_invoices_doctor_quarter",
        "SELECT quarter, doctor_id, n FROM report_invoices_doctor_quarter WHERE n <> 0",
        concat!(
            "SELECT quarter, doctor, COUNT(*) FROM (
             SELECT DISTINCT b.id, ",
            quarter_of!("b.finalized_at"),
            " AS quarter, COALESCE(a.doctor_id, '') AS doctor
             FROM bills b JOIN bill_lines l ON l.bill_id = b.id
             LEFT JOIN appointments a ON l.source = 'appointment' AND a.id = l.source_id
             WHERE b.status = 'final' AND b.deleted_at IS NULL AND b.finalized_at IS NOT NULL AND l.deleted_at IS NULL)
         GROUP BY quarter, doctor"
        ),
    ),
    (
        "report_credit_notes_quarter",
        "SELECT quarter, n, amount FROM report_credit_notes_quarter WHERE n <> 0",
        concat!(
            "SELECT ",
            quarter_of!("c.created_at"),
            ", COUNT(*), SUM(c.amount_minor) FROM credit_notes c JOIN bills b ON b.id = c.bill_id
         WHERE c.deleted_at IS NULL AND b.status = 'final' AND b.deleted_at IS NULL GROUP BY 1"
        ),
    ),
    (
        "report_payments_quarter",
        "SELECT quarter, mode, kind, n, amount FROM report_payments_quarter WHERE n <> 0",
        concat!(
            "SELECT ",
            quarter_of!("received_at"),
            ", mode, kind, COUNT(*), SUM(amount_minor) FROM payments WHERE deleted_at IS NULL GROUP BY 1, 2, 3"
        ),
    ),
    (
        "lab_results_by_orderer",
        "SELECT ordered_by, resulted_at, result_id FROM lab_results_by_orderer",
        "SELECT o.ordered_by, r.resulted_at, r.id FROM lab_orders o JOIN lab_results r ON r.order_id = o.id
         WHERE o.status = 'resulted' AND o.ordered_by IS NOT NULL AND o.deleted_at IS NULL AND r.deleted_at IS NULL",
    ),
    (
        "report_consult_day",
        "SELECT date, doctor_id, n, seconds FROM report_consult_day WHERE n <> 0",
        "SELECT date, doctor_id, COUNT(*), SUM(CAST(ROUND((julianday(done_at) - julianday(called_at)) * 86400) AS INTEGER))
         FROM appointments WHERE deleted_at IS NULL AND status = 'done' AND julianday(done_at) >= julianday(called_at)
         GROUP BY 1, 2",
    ),
    (
        "report_consult_month",
        "SELECT month, doctor_id, n, seconds FROM report_consult_month WHERE n <> 0",
        "SELECT substr(date, 1, 7), doctor_id, COUNT(*),
                SUM(CAST(ROUND((julianday(done_at) - julianday(called_at)) * 86400) AS INTEGER))
         FROM appointments WHERE deleted_at IS NULL AND status = 'done' AND julianday(done_at) >= julianday(called_at)
         GROUP BY 1, 2",
    ),
    (
        "report_follow_ups_day",
        "SELECT day, doctor_id, n, asked FROM report_follow_ups_day WHERE n <> 0",
        "SELECT substr(started_at, 1, 10), doctor_id, COUNT(*), SUM(COALESCE(follow_up_date, '') <> '')
         FROM visits WHERE deleted_at IS NULL GROUP BY 1, 2",
    ),
    (
        "report_hours_day",
        "SELECT date, doctor_id, weekday, hour, n FROM report_hours_day WHERE n <> 0",
        "SELECT date, doctor_id, (CAST(strftime('%w', date) AS INTEGER) + 6) % 7, start_min / 60, COUNT(*) FROM appointments
         WHERE deleted_at IS NULL AND status IN ('checked_in', 'with_doctor', 'done') AND date(date) = date
           AND start_min / 60 >= 0 AND start_min / 60 < 24
         GROUP BY 1, 2, 3, 4",
    ),
    (
        "report_hours_month",
        "SELECT month, doctor_id, weekday, hour, n FROM report_hours_month WHERE n <> 0",
        "SELECT substr(date, 1, 7), doctor_id, (CAST(strftime('%w', date) AS INTEGER) + 6) % 7, start_min / 60, COUNT(*)
         FROM appointments
         WHERE deleted_at IS NULL AND status IN ('checked_in', 'with_doctor', 'done') AND date(date) = date
           AND start_min / 60 >= 0 AND start_min / 60 < 24
         GROUP BY 1, 2, 3, 4",
    ),
    // The previous attended appointments looked up one by one (the triggers use window
    // functions).
    (
        "report_seen_chain",
        "SELECT date, id, person, doctor_id, prev_doctor, prev_any FROM report_seen_chain",
        "SELECT * FROM (WITH b AS (
             SELECT a.date, a.id, COALESCE(p.merged_into, p.id) AS person, a.doctor_id
             FROM appointments a JOIN patients p ON p.id = a.patient_id
             WHERE a.deleted_at IS NULL AND a.status IN ('checked_in', 'with_doctor', 'done'))
         SELECT x.date, x.id, x.person, x.doctor_id,
                (SELECT MAX(y.date) FROM b y WHERE y.person = x.person AND y.doctor_id = x.doctor_id AND (y.date, y.id) < (x.date, x.id)),
                (SELECT MAX(y.date) FROM b y WHERE y.person = x.person AND (y.date, y.id) < (x.date, x.id))
         FROM b x)",
    ),
    (
        "report_seen_people_day",
        "SELECT date, prev_month, n FROM report_seen_people_day WHERE n <> 0",
        "SELECT date, COALESCE(substr(prev_any, 1, 7), ''), COUNT(*) FROM report_seen_chain GROUP BY 1, 2",
    ),
    (
        "report_seen_month",
        "SELECT month, prev_month, kind, key, n FROM report_seen_month WHERE n <> 0",
        "SELECT substr(date, 1, 7), COALESCE(substr(prev, 1, 7), ''), kind, key, COUNT(*) FROM (
             SELECT date, prev_any AS prev, 0 AS kind, '' AS key FROM report_seen_chain
             UNION ALL SELECT date, prev_doctor, 1, doctor_id FROM report_seen_chain)
         GROUP BY 1, 2, 3, 4",
    ),
    (
        "report_dues",
        "SELECT bill_id, due FROM report_dues WHERE due <> 0",
        "SELECT * FROM (SELECT b.id, b.total_minor
                  - (SELECT COALESCE(SUM(c.amount_minor), 0) FROM credit_notes c WHERE c.bill_id = b.id AND c.deleted_at IS NULL)
                  - (SELECT COALESCE(SUM(CASE WHEN p.kind = 'refund' THEN -p.amount_minor ELSE p.amount_minor END), 0)
                     FROM payments p WHERE p.bill_id = b.id AND p.deleted_at IS NULL) AS due
                FROM bills b WHERE b.status = 'final' AND b.deleted_at IS NULL) WHERE due <> 0",
    ),
    (
        "report_dues_total",
        "SELECT invoices, amount FROM report_dues_total",
        "SELECT COUNT(*), COALESCE(SUM(due), 0) FROM (SELECT b.total_minor
                  - (SELECT COALESCE(SUM(c.amount_minor), 0) FROM credit_notes c WHERE c.bill_id = b.id AND c.deleted_at IS NULL)
                  - (SELECT COALESCE(SUM(CASE WHEN p.kind = 'refund' THEN -p.amount_minor ELSE p.amount_minor END), 0)
                     FROM payments p WHERE p.bill_id = b.id AND p.deleted_at IS NULL) AS due
                FROM bills b WHERE b.status = 'final' AND b.deleted_at IS NULL) WHERE due > 0",
    ),
    (
        "report_owing",
        "SELECT bill_id, person, finalized_at, due FROM report_owing",
        "SELECT * FROM (SELECT b.id, COALESCE(p.merged_into, p.id), COALESCE(b.finalized_at, ''), b.total_minor
                  - (SELECT COALESCE(SUM(c.amount_minor), 0) FROM credit_notes c WHERE c.bill_id = b.id AND c.deleted_at IS NULL)
                  - (SELECT COALESCE(SUM(CASE WHEN y.kind = 'refund' THEN -y.amount_minor ELSE y.amount_minor END), 0)
                     FROM payments y WHERE y.bill_id = b.id AND y.deleted_at IS NULL) AS due
                FROM bills b JOIN patients p ON p.id = b.patient_id
                WHERE b.status = 'final' AND b.deleted_at IS NULL) WHERE due <> 0",
    ),
    (
        "report_owing_people",
        "SELECT person, invoices, owed FROM report_owing_people",
        "SELECT person, COUNT(*), SUM(due) FROM (SELECT COALESCE(p.merged_into, p.id) AS person, b.total_minor
                  - (SELECT COALESCE(SUM(c.amount_minor), 0) FROM credit_notes c WHERE c.bill_id = b.id AND c.deleted_at IS NULL)
                  - (SELECT COALESCE(SUM(CASE WHEN y.kind = 'refund' THEN -y.amount_minor ELSE y.amount_minor END), 0)
                     FROM payments y WHERE y.bill_id = b.id AND y.deleted_at IS NULL) AS due
                FROM bills b JOIN patients p ON p.id = b.patient_id
                WHERE b.status = 'final' AND b.deleted_at IS NULL) WHERE due > 0 GROUP BY person",
    ),
    (
        "report_owing_total",
        "SELECT invoices, owed FROM report_owing_total",
        "SELECT COUNT(*), COALESCE(SUM(due), 0) FROM (SELECT b.total_minor
                  - (SELECT COALESCE(SUM(c.amount_minor), 0) FROM credit_notes c WHERE c.bill_id = b.id AND c.deleted_at IS NULL)
                  - (SELECT COALESCE(SUM(CASE WHEN y.kind = 'refund' THEN -y.amount_minor ELSE y.amount_minor END), 0)
                     FROM payments y WHERE y.bill_id = b.id AND y.deleted_at IS NULL) AS due
                FROM bills b JOIN patients p ON p.id = b.patient_id
                WHERE b.status = 'final' AND b.deleted_at IS NULL) WHERE due > 0",
    ),
    (
        "report_claims_day",
        "SELECT day, payer, n, awaiting, claimed, approved, rejected, settled FROM report_claims_day WHERE n <> 0",
        "SELECT substr(i.created_at, 1, 10), TRIM(i.payer), COUNT(*), SUM(i.approved_minor = 0), SUM(i.claimed_minor),
                SUM(i.approved_minor), SUM(CASE WHEN i.approved_minor > 0 THEN i.claimed_minor - i.approved_minor ELSE 0 END),
                SUM(i.settled_minor)
         FROM bill_insurance i JOIN bills b ON b.id = i.bill_id
         WHERE i.deleted_at IS NULL AND b.status = 'final' AND b.deleted_at IS NULL
         GROUP BY 1, 2",
    ),
    // The previous diagnoses looked up one by one (the triggers and the rebuild use window
    // functions), the age bands by date arithmetic (they compare years and days).
    (
        "report_dx",
        "SELECT day, id, person, code, chapter, sex, band, prev_code, prev_chapter, prev_any, text FROM report_dx",
        "SELECT * FROM (WITH b AS (
             SELECT dg.id, COALESCE(p.merged_into, p.id) AS person, COALESCE(UPPER(TRIM(dg.icd10)), '') AS code,
                    v.started_at AS at, s.sex, s.birth_date AS birth, dg.text,
                    date(v.started_at, (SELECT seconds FROM report_zone WHERE start <= v.started_at ORDER BY start DESC LIMIT 1)
                         || ' seconds') AS day
             FROM diagnoses dg JOIN visits v ON v.id = dg.visit_id JOIN patients p ON p.id = v.patient_id
             JOIN patients s ON s.id = COALESCE(p.merged_into, p.id)
             WHERE dg.deleted_at IS NULL AND v.deleted_at IS NULL),
         c AS (
             SELECT b.*, CASE WHEN code = '' THEN -1 ELSE COALESCE((SELECT n FROM report_chapters
                 WHERE length(CAST(substr(code, 1, 3) AS BLOB)) >= 3 AND substr(code, 1, 3) BETWEEN first AND last), 22) END AS chapter
             FROM b WHERE day IS NOT NULL)
         SELECT day, id, person, code, chapter,
                CASE sex WHEN 'female' THEN 0 WHEN 'male' THEN 1 WHEN 'other' THEN 2 ELSE 3 END,
                CASE WHEN birth IS NULL OR date(birth) IS NOT birth OR birth > day THEN 6
                     WHEN date(birth, '+65 years') <= day THEN 5 WHEN date(birth, '+45 years') <= day THEN 4
                     WHEN date(birth, '+25 years') <= day THEN 3 WHEN date(birth, '+15 years') <= day THEN 2
                     WHEN date(birth, '+5 years') <= day THEN 1 ELSE 0 END,
                (SELECT e.day FROM c e WHERE c.code <> '' AND e.person = c.person AND e.code = c.code
                   AND (e.at, e.id) < (c.at, c.id) ORDER BY e.at DESC, e.id DESC LIMIT 1),
                (SELECT e.day FROM c e WHERE c.code <> '' AND e.person = c.person AND e.code <> '' AND e.chapter = c.chapter
                   AND (e.at, e.id) < (c.at, c.id) ORDER BY e.at DESC, e.id DESC LIMIT 1),
                (SELECT e.day FROM c e WHERE c.code <> '' AND e.person = c.person AND e.code <> ''
                   AND (e.at, e.id) < (c.at, c.id) ORDER BY e.at DESC, e.id DESC LIMIT 1),
                CASE WHEN code <> '' AND code NOT IN (SELECT code FROM icd10_codes) THEN text END
         FROM c)",
    ),
    (
        "report_registered",
        "SELECT kind, period, a, b, n FROM report_registered WHERE n <> 0",
        "SELECT k, CASE WHEN k IN (1, 3) THEN d ELSE q END,
                CASE k WHEN 0 THEN '' WHEN 1 THEN district WHEN 2 THEN district ELSE sex END,
                CASE k WHEN 0 THEN '' WHEN 1 THEN city WHEN 2 THEN city ELSE born END, COUNT(*)
         FROM (SELECT substr(created_at, 1, 10) AS d,
                      substr(created_at, 1, 14) || printf('%02d', CAST(substr(created_at, 15, 2) AS INTEGER) / 15 * 15) AS q,
                      district, city, sex,
                      CASE WHEN birth_date IS NULL THEN '' WHEN strftime('%Y-%m-%d', birth_date) = birth_date
                           THEN strftime('%Y', birth_date) ELSE '~' || birth_date END AS born
               FROM patients WHERE status <> 'merged' AND deleted_at IS NULL
                 AND created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]*')
         JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4)
         GROUP BY 1, 2, 3, 4",
    ),
    (
        "report_dx_month",
        "SELECT month, prev_month, kind, key, sex, band, n FROM report_dx_month WHERE n <> 0",
        "SELECT substr(day, 1, 7), COALESCE(substr(prev, 1, 7), ''), kind, key, sex, band, COUNT(*) FROM (
             SELECT day, prev_code AS prev, 0 AS kind, code AS key, sex, band FROM report_dx WHERE code <> ''
             UNION ALL SELECT day, prev_chapter, 1, CAST(chapter AS TEXT), sex, band FROM report_dx WHERE code <> ''
             UNION ALL SELECT day, prev_any, 2, '', sex, band FROM report_dx WHERE code <> ''
             UNION ALL SELECT day, NULL, 3, '', 0, 0 FROM report_dx WHERE code = '')
         GROUP BY 1, 2, 3, 4, 5, 6",
    ),
];

/// Compares every summary table with a full recount from the records: the tables whose rows
/// differ, each with how many rows are in one and not the other. Empty when all agree (as
/// they must: the triggers write them in the transaction of every write they summarise).
pub async fn verify(store: &crate::store::Store) -> crate::error::Result<Vec<String>> {
    let mut out = Vec::new();
    for (table, kept, recount) in RECOUNTS {
        let (extra, missing): (i64, i64) = sqlx::query_as(&format!(
            "SELECT (SELECT COUNT(*) FROM ({kept} EXCEPT {recount})), (SELECT COUNT(*) FROM ({recount} EXCEPT {kept}))"
        ))
        .fetch_one(store.pool())
        .await?;
        if extra + missing > 0 {
            out.push(format!("{table}: {extra} rows not in the recount, {missing} rows of the recount missing"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn range(from: &str, to: &str) -> DateRange {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        DateRange { from: d(from), to: d(to), tz: chrono_tz::Asia::Kolkata }
    }

    #[test]
    fn a_range_is_its_whole_months_and_the_days_around_them() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(range("2026-03-01", "2026-03-31").spans(), vec![Span::Months(d("2026-03-01"), d("2026-03-01"))]);
        assert_eq!(
            range("2025-12-06", "2026-12-05").spans(),
            vec![
                Span::Days(d("2025-12-06"), d("2025-12-31")),
                Span::Months(d("2026-01-01"), d("2026-11-01")),
                Span::Days(d("2026-12-01"), d("2026-12-05")),
            ]
        );
        assert_eq!(range("2026-02-27", "2026-03-02").spans(), vec![Span::Days(d("2026-02-27"), d("2026-03-02"))]);
        assert_eq!(
            range("2026-02-01", "2026-03-02").spans(),
            vec![Span::Months(d("2026-02-01"), d("2026-02-01")), Span::Days(d("2026-03-01"), d("2026-03-02"))]
        );
        let (sql, binds) = APPOINTMENTS.rows(&range("2026-02-15", "2026-03-31"));
        assert_eq!(binds, ["2026-02-15", "2026-02-28", "2026-03", "2026-03"]);
        assert!(sql.contains("report_appointments_day") && sql.contains("report_appointments_month"), "{sql}");
    }
}
