//! Revenue: what finalised invoices billed, by service and by doctor (line amounts computed
//! with billing's one rounding rule), and what was collected by payment mode.

use super::pieces::{self, Piece};
use super::summary;
use super::table::{col, fig, num, text, Kind, Table};
use super::{DateRange, Scope};
use crate::billing::bills::{stored_discount, stored_u32};
use crate::billing::money::{line_amounts, LineAmounts, LineInput};
use crate::billing::PaymentMode;
use crate::codes::Code;
use crate::error::Result;
use crate::store::Store;
use std::collections::BTreeMap;

/// Lines of one kind: every line with the same service, label, quantity, price, discount,
/// tax rate and doctor has the same amounts, so the database counts them and the amounts are
/// worked out once per kind (billing's one rounding rule), times the count.
#[derive(sqlx::FromRow)]
pub(crate) struct Line {
    service_id: Option<String>,
    service_code: Option<String>,
    label: String,
    quantity: i64,
    unit_price_minor: i64,
    discount_kind: String,
    discount_value: i64,
    tax_rate_bp: i64,
    doctor_id: Option<String>,
    doctor_name: Option<String>,
    department: Option<String>,
    pub(crate) n: i64,
}

/// (The planner would otherwise read every final bill by status: the date decides.)
const LINES_FROM: &str = "FROM bills b INDEXED BY bills_finalized
         JOIN bill_lines l ON l.bill_id = b.id AND l.deleted_at IS NULL
         LEFT JOIN appointments a ON l.source = 'appointment' AND a.id = l.source_id
         LEFT JOIN staff st ON st.id = a.doctor_id
         WHERE b.finalized_at >= ? AND b.finalized_at < ? AND b.status = 'final' AND b.deleted_at IS NULL
           AND (? IS NULL OR a.doctor_id = ?) AND (? IS NULL OR st.department_id = ?)";

/// The kinds of line over whole UTC days, from the summary (migration 0028).
const KINDS_DAYS: &str = "SELECT NULLIF(service_id, '') AS service_id, description, quantity, unit_price_minor,
            discount_kind, discount_value, tax_rate_bp, NULLIF(doctor_id, '') AS doctor_id, n
         FROM report_revenue_lines_day WHERE day >= ? AND day < ?";

/// The same over whole UTC quarter hours (migration 0059).
const KINDS_QUARTERS: &str = "SELECT NULLIF(service_id, '') AS service_id, description, quantity, unit_price_minor,
            discount_kind, discount_value, tax_rate_bp, NULLIF(doctor_id, '') AS doctor_id, n
         FROM report_revenue_lines_quarter WHERE quarter >= ? AND quarter < ?";

/// The same at an end off the quarter hours, from the lines themselves.
const KINDS_RECORDS: &str = "SELECT l.service_id, l.description, l.quantity, l.unit_price_minor,
            l.discount_kind, l.discount_value, l.tax_rate_bp, a.doctor_id, 1 AS n
         FROM bills b INDEXED BY bills_finalized
         JOIN bill_lines l ON l.bill_id = b.id AND l.deleted_at IS NULL
         LEFT JOIN appointments a ON l.source = 'appointment' AND a.id = l.source_id
         WHERE b.finalized_at >= ? AND b.finalized_at < ? AND b.status = 'final' AND b.deleted_at IS NULL";

/// How many invoices the counted lines are on, without a department filter (a department's
/// doctors may share an invoice: that is counted from the lines): from the summaries over
/// whole UTC days and quarters (all invoices, or one doctor's), from the records otherwise.
async fn invoices(store: &Store, pieces: &[Piece], scope: &Scope) -> Result<i64> {
    let mut total = 0;
    for p in pieces {
        let (level, a, b) = match p {
            Piece::Days(a, b) => ("day", a, b),
            Piece::Quarters(a, b) => ("quarter", a, b),
            Piece::Records(a, b) => {
                total += invoices_of_lines(store, a, b, scope).await?;
                continue;
            }
        };
        let n: Option<i64> = match &scope.doctor_id {
            Some(doctor) => {
                sqlx::query_scalar(&format!(
                    "SELECT SUM(n) FROM report_invoices_doctor_{level} WHERE {level} >= ? AND {level} < ? AND doctor_id = ?"
                ))
                .bind(a)
                .bind(b)
                .bind(doctor)
                .fetch_one(store.report_pool())
                .await?
            }
            None => {
                sqlx::query_scalar(&format!("SELECT SUM(n) FROM report_invoices_{level} WHERE {level} >= ? AND {level} < ?"))
                    .bind(a)
                    .bind(b)
                    .fetch_one(store.report_pool())
                    .await?
            }
        };
        total += n.unwrap_or(0);
    }
    Ok(total)
}

async fn invoices_of_lines(store: &Store, from: &str, to: &str, scope: &Scope) -> Result<i64> {
    Ok(sqlx::query_scalar(&format!("SELECT COUNT(DISTINCT b.id) {LINES_FROM}"))
        .bind(from)
        .bind(to)
        .bind(&scope.doctor_id)
        .bind(&scope.doctor_id)
        .bind(&scope.department_id)
        .bind(&scope.department_id)
        .fetch_one(store.report_pool())
        .await?)
}

/// The kinds of line of invoices finalised in the range and not cancelled, narrowed by the
/// scope, each with its count and its amounts (for one line), and how many invoices they are on.
pub(crate) async fn lines(store: &Store, range: &DateRange, scope: &Scope) -> Result<(Vec<(Line, LineAmounts)>, i64)> {
    let (from, to) = range.instants()?;
    let pieces = pieces::quarter_pieces(&from, &to);
    let (kinds, binds) = pieces::union(&pieces, KINDS_DAYS, KINDS_QUARTERS, KINDS_RECORDS);
    let sql = format!(
        "SELECT u.service_id, s.code AS service_code, COALESCE(s.name, u.description) AS label,
                u.quantity, u.unit_price_minor, u.discount_kind, u.discount_value, u.tax_rate_bp,
                u.doctor_id, st.full_name AS doctor_name, d.name AS department, SUM(u.n) AS n
         FROM ({kinds}) u
         LEFT JOIN services s ON s.id = u.service_id
         LEFT JOIN staff st ON st.id = u.doctor_id
         LEFT JOIN departments d ON d.id = st.department_id
         WHERE (? IS NULL OR u.doctor_id = ?) AND (? IS NULL OR st.department_id = ?)
         GROUP BY u.service_id, label, u.quantity, u.unit_price_minor, u.discount_kind, u.discount_value, u.tax_rate_bp, u.doctor_id
         HAVING SUM(u.n) <> 0"
    );
    let rows: Vec<Line> = summary::bind_all(sqlx::query_as(&sql), &binds)
        .bind(&scope.doctor_id)
        .bind(&scope.doctor_id)
        .bind(&scope.department_id)
        .bind(&scope.department_id)
        .fetch_all(store.report_pool())
        .await?;
    let bills = if scope.department_id.is_some() {
        invoices_of_lines(store, &from, &to, scope).await?
    } else {
        invoices(store, &pieces, scope).await?
    };
    // A stored value that does not read is named by the kind of line it is on.
    let kind_id = |l: &Line| format!("{} × {}", l.label, l.quantity);
    let kinds = rows
        .into_iter()
        .map(|l| {
            let id = kind_id(&l);
            let input = LineInput {
                quantity: stored_u32("bill_lines", &id, "quantity", l.quantity)?,
                unit_price: l.unit_price_minor,
                discount: stored_discount(&id, &l.discount_kind, l.discount_value)?,
                tax_rate_bp: stored_u32("bill_lines", &id, "tax_rate_bp", l.tax_rate_bp)?,
            };
            Ok((l, line_amounts(input)))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((kinds, bills))
}

#[derive(Default)]
struct Sums {
    label: String,
    extra: String,
    quantity: i64,
    gross: i64,
    discount: i64,
    tax: i64,
    total: i64,
}

impl Sums {
    /// `n` lines of `quantity` each with amounts `a`.
    fn add(&mut self, n: i64, quantity: i64, a: &LineAmounts) {
        self.quantity += n * quantity;
        self.gross += n * a.gross;
        self.discount += n * a.discount;
        self.tax += n * a.tax;
        self.total += n * a.total;
    }
}

fn money_columns() -> [super::Column; 5] {
    [
        col("quantity", "Quantity", Kind::Count),
        col("gross", "Gross", Kind::Money),
        col("discount", "Discount", Kind::Money),
        col("tax", "Tax", Kind::Money),
        col("total", "Total", Kind::Money),
    ]
}

fn sums_table(first: Vec<super::Column>, groups: Vec<Sums>, with_extra: bool) -> Table {
    let mut all = Sums::default();
    let mut rows = Vec::with_capacity(groups.len());
    for g in groups {
        all.quantity += g.quantity;
        all.gross += g.gross;
        all.discount += g.discount;
        all.tax += g.tax;
        all.total += g.total;
        let mut row = vec![text(g.label)];
        if with_extra {
            row.push(text(g.extra));
        }
        row.extend([num(g.quantity), num(g.gross), num(g.discount), num(g.tax), num(g.total)]);
        rows.push(row);
    }
    let mut totals = vec![text("Total")];
    if with_extra {
        totals.push(text(""));
    }
    totals.extend([num(all.quantity), num(all.gross), num(all.discount), num(all.tax), num(all.total)]);
    let mut columns = first;
    columns.extend(money_columns());
    Table { columns, rows, totals: Some(totals), figures: Vec::new() }
}

/// Groups sorted by total (largest first), then label.
fn sorted(map: BTreeMap<String, Sums>) -> Vec<Sums> {
    let mut v: Vec<Sums> = map.into_values().collect();
    v.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.label.cmp(&b.label)));
    v
}

pub(crate) async fn by_service(store: &Store, range: &DateRange, scope: &Scope) -> Result<Table> {
    let (lines, bills) = lines(store, range, scope).await?;
    let mut groups: BTreeMap<String, Sums> = BTreeMap::new();
    let mut all = Sums::default();
    for (l, a) in &lines {
        let key = l.service_id.clone().unwrap_or_else(|| format!("manual:{}", l.label));
        let g = groups.entry(key).or_insert_with(|| Sums {
            label: l.label.clone(),
            extra: l.service_code.clone().unwrap_or_default(),
            ..Default::default()
        });
        g.add(l.n, l.quantity, a);
        all.add(l.n, l.quantity, a);
    }
    let mut t =
        sums_table(vec![col("service", "Service", Kind::Text), col("code", "Code", Kind::Text)], sorted(groups), true);
    let invoiced = all.total;
    t.figures.push(fig("invoices", "Invoices", Kind::Count, bills));
    t.figures.push(fig("invoiced", "Invoiced", Kind::Money, invoiced));
    t.figures.push(fig("discounts", "Discounts", Kind::Money, all.discount));
    // Credit notes and refunds belong to a whole bill, not a line: only without a doctor or
    // department filter.
    if scope.doctor_id.is_none() && scope.department_id.is_none() {
        let (from, to) = range.instants()?;
        let pieces = pieces::quarter_pieces(&from, &to);
        let credited = credited(store, &pieces).await?;
        let refunded = money_moved(store, &pieces).await?.iter().filter(|m| m.kind == "refund").map(|m| m.amount).sum();
        t.figures.push(fig("credit_notes", "Credit notes", Kind::Money, credited));
        t.figures.push(fig("refunds", "Refunds", Kind::Money, refunded));
        t.figures.push(fig("net", "Net (invoiced − credit notes)", Kind::Money, invoiced - credited));
    }
    Ok(t)
}

pub(crate) async fn by_doctor(store: &Store, range: &DateRange, scope: &Scope) -> Result<Table> {
    let (lines, _) = lines(store, range, scope).await?;
    let mut groups: BTreeMap<String, Sums> = BTreeMap::new();
    for (l, a) in &lines {
        let key = l.doctor_id.clone().unwrap_or_default();
        let g = groups.entry(key).or_insert_with(|| Sums {
            label: l.doctor_name.clone().unwrap_or_else(|| "No doctor".into()),
            extra: l.department.clone().unwrap_or_default(),
            ..Default::default()
        });
        g.add(l.n, l.quantity, a);
    }
    Ok(sums_table(
        vec![col("doctor", "Doctor", Kind::Text), col("department", "Department", Kind::Text)],
        sorted(groups),
        true,
    ))
}

/// The lines by the department of the doctor of the appointment they were charged for;
/// other lines (no appointment, or a doctor with no department) under "No department".
pub(crate) async fn by_department(store: &Store, range: &DateRange, scope: &Scope) -> Result<Table> {
    let (lines, _) = lines(store, range, scope).await?;
    let mut groups: BTreeMap<String, Sums> = BTreeMap::new();
    for (l, a) in &lines {
        let key = l.department.clone().unwrap_or_default();
        let g = groups.entry(key).or_insert_with(|| Sums {
            label: l.department.clone().unwrap_or_else(|| "No department".into()),
            ..Default::default()
        });
        g.add(l.n, l.quantity, a);
    }
    Ok(sums_table(vec![col("department", "Department", Kind::Text)], sorted(groups), false))
}

/// Credit notes of finalised, not cancelled invoices over the pieces of a range: (count, amount).
pub(crate) async fn credit_notes(store: &Store, pieces: &[Piece]) -> Result<(i64, i64)> {
    let (notes, binds) = pieces::union(
        pieces,
        "SELECT n, amount FROM report_credit_notes_day WHERE day >= ? AND day < ?",
        "SELECT n, amount FROM report_credit_notes_quarter WHERE quarter >= ? AND quarter < ?",
        "SELECT 1 AS n, c.amount_minor AS amount FROM credit_notes c CROSS JOIN bills b ON b.id = c.bill_id
         WHERE c.created_at >= ? AND c.created_at < ? AND c.deleted_at IS NULL AND b.status = 'final' AND b.deleted_at IS NULL",
    );
    let sql = format!("SELECT COALESCE(SUM(n), 0), COALESCE(SUM(amount), 0) FROM ({notes})");
    Ok(summary::bind_all(sqlx::query_as(&sql), &binds).fetch_one(store.report_pool()).await?)
}

/// What was taken off revenue: discounts on the lines of invoices finalised in the range
/// (by the service discounted), credit notes issued in it, refunds paid in it (by mode).
pub(crate) async fn adjustments(store: &Store, range: &DateRange) -> Result<Table> {
    let (lines, _) = lines(store, range, &Scope::default()).await?;
    let mut groups: BTreeMap<String, (String, i64, i64)> = BTreeMap::new();
    for (l, a) in lines.iter().filter(|(_, a)| a.discount != 0) {
        let key = l.service_id.clone().unwrap_or_else(|| format!("manual:{}", l.label));
        let g = groups.entry(key).or_insert_with(|| (l.label.clone(), 0, 0));
        g.1 += l.n;
        g.2 += l.n * a.discount;
    }
    let mut discounts: Vec<(String, i64, i64)> = groups.into_values().collect();
    discounts.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    let (from, to) = range.instants()?;
    let pieces = pieces::quarter_pieces(&from, &to);
    let (notes, credited) = credit_notes(store, &pieces).await?;
    let moved = money_moved(store, &pieces).await?;
    let mut rows = Vec::new();
    let (mut count, mut amount) = (0, 0);
    let mut push = |kind: &str, what: String, n: i64, minor: i64| {
        count += n;
        amount += minor;
        rows.push(vec![text(kind), text(what), num(n), num(minor)]);
    };
    for (label, n, minor) in discounts {
        push("discount", label, n, minor);
    }
    push("credit_note", String::new(), notes, credited);
    for mode in PaymentMode::ALL {
        let (n, minor) = moved
            .iter()
            .filter(|m| m.kind == "refund" && m.mode == mode.code())
            .fold((0, 0), |(n, a), m| (n + m.n, a + m.amount));
        if n != 0 {
            push("refund", mode.code().to_string(), n, minor);
        }
    }
    Ok(Table {
        columns: vec![
            col("kind", "Kind", Kind::Text),
            col("detail", "Service or payment mode", Kind::Text),
            col("count", "Count", Kind::Count),
            col("amount", "Amount", Kind::Money),
        ],
        rows,
        totals: Some(vec![text("Total"), text(""), num(count), num(amount)]),
        figures: Vec::new(),
    })
}

/// Invoiced (line totals) per doctor id of the appointment charged for, within the scope;
/// lines with no doctor left out.
pub(crate) async fn totals_by_doctor(store: &Store, range: &DateRange, scope: &Scope) -> Result<BTreeMap<String, i64>> {
    let (lines, _) = lines(store, range, scope).await?;
    let mut out: BTreeMap<String, i64> = BTreeMap::new();
    for (l, a) in &lines {
        if let Some(d) = &l.doctor_id {
            *out.entry(d.clone()).or_default() += l.n * a.total;
        }
    }
    Ok(out)
}

/// Credit notes of finalised, not cancelled invoices issued over the pieces of a range (by
/// the note's own date): the summary over whole UTC days, the notes at the edges.
pub(crate) async fn credited(store: &Store, pieces: &[Piece]) -> Result<i64> {
    // (CROSS JOIN: the credit notes first — there are few — not every final bill.)
    let (credit_notes, binds) = pieces::union(
        pieces,
        "SELECT amount FROM report_credit_notes_day WHERE day >= ? AND day < ?",
        "SELECT amount FROM report_credit_notes_quarter WHERE quarter >= ? AND quarter < ?",
        "SELECT c.amount_minor AS amount FROM credit_notes c CROSS JOIN bills b ON b.id = c.bill_id
         WHERE c.created_at >= ? AND c.created_at < ? AND c.deleted_at IS NULL AND b.status = 'final' AND b.deleted_at IS NULL",
    );
    summary::bind_all(sqlx::query_as(&format!("SELECT COALESCE(SUM(amount), 0) FROM ({credit_notes})")), &binds)
        .fetch_one(store.report_pool())
        .await
        .map(|(n,): (i64,)| n)
        .map_err(Into::into)
}

/// Money moved by mode and kind.
#[derive(sqlx::FromRow)]
pub(crate) struct Moved {
    pub mode: String,
    pub kind: String,
    pub n: i64,
    pub amount: i64,
}

/// Money moved over the pieces of a range: the summaries over whole UTC days and quarters, the
/// payments otherwise.
pub(crate) async fn money_moved(store: &Store, pieces: &[Piece]) -> Result<Vec<Moved>> {
    let (moved, binds) = pieces::union(
        pieces,
        "SELECT mode, kind, n, amount FROM report_payments_day WHERE day >= ? AND day < ?",
        "SELECT mode, kind, n, amount FROM report_payments_quarter WHERE quarter >= ? AND quarter < ?",
        "SELECT mode, kind, 1 AS n, amount_minor AS amount FROM payments
         WHERE received_at >= ? AND received_at < ? AND deleted_at IS NULL",
    );
    let sql = format!(
        "SELECT mode, kind, SUM(n) AS n, SUM(amount) AS amount FROM ({moved}) GROUP BY mode, kind HAVING SUM(n) <> 0"
    );
    Ok(summary::bind_all(sqlx::query_as(&sql), &binds).fetch_all(store.report_pool()).await?)
}

pub(crate) async fn by_mode(store: &Store, range: &DateRange) -> Result<Table> {
    let (from, to) = range.instants()?;
    let moved = money_moved(store, &pieces::quarter_pieces(&from, &to)).await?;
    let mut rows = Vec::new();
    let (mut c, mut r, mut n) = (0, 0, 0);
    for mode in PaymentMode::ALL {
        let (mut count, mut collected, mut refunded) = (0, 0, 0);
        for m in moved.iter().filter(|m| m.mode == mode.code()) {
            count += m.n;
            if m.kind == "refund" {
                refunded += m.amount;
            } else {
                collected += m.amount;
            }
        }
        n += count;
        c += collected;
        r += refunded;
        rows.push(vec![text(mode.code()), num(count), num(collected), num(refunded), num(collected - refunded)]);
    }
    Ok(Table {
        columns: vec![
            col("mode", "Payment mode", Kind::Text),
            col("movements", "Movements", Kind::Count),
            col("received", "Received", Kind::Money),
            col("refunded", "Refunded", Kind::Money),
            col("net", "Net", Kind::Money),
        ],
        rows,
        totals: Some(vec![text("Total"), num(n), num(c), num(r), num(c - r)]),
        figures: Vec::new(),
    })
}
