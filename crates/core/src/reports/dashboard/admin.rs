//! The administrator's and accountant's Home: the clinic's money and attendance, today and
//! this month, as the reports count them (the same functions, so a tile and its report agree).

use super::Today;
use crate::billing::PaymentMode;
use crate::codes::Code;
use crate::error::Result;
use crate::rbac::Permission;
use crate::reports::{patients, pieces, revenue, summary, DateRange, Scope};
use crate::session::Authorized;
use crate::store::Store;
use serde::Serialize;

/// Money received and given back in one payment mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ModeMoney {
    pub mode: PaymentMode,
    #[specta(type = f64)]
    pub received: i64,
    #[specta(type = f64)]
    pub refunded: i64,
}

/// One period's money (minor units): the revenue reports' figures and the collections report's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct MoneyPeriod {
    /// YYYY-MM-DD, both included.
    pub from: String,
    pub to: String,
    /// Finalised invoices issued (cancelled ones left out).
    #[specta(type = f64)]
    pub invoices: i64,
    /// What those invoices billed (lines' totals, tax included).
    #[specta(type = f64)]
    pub invoiced: i64,
    /// Credit notes issued in the period.
    #[specta(type = f64)]
    pub credit_notes: i64,
    /// invoiced − credit notes.
    #[specta(type = f64)]
    pub net: i64,
    /// Payments and advances received, every mode.
    #[specta(type = f64)]
    pub received: i64,
    /// Refunds given, every mode.
    #[specta(type = f64)]
    pub refunded: i64,
    /// Every payment mode, in `PaymentMode::ALL`'s order.
    pub by_mode: Vec<ModeMoney>,
}

/// What finalised invoices still ask for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Receivables {
    /// Invoices with something due.
    #[specta(type = f64)]
    pub invoices: i64,
    #[specta(type = f64)]
    pub amount: i64,
}

/// Insurance claims not settled yet: awaiting the insurer's decision (nothing approved) or
/// approved and not (fully) paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Claims {
    #[specta(type = f64)]
    pub open: i64,
    #[specta(type = f64)]
    pub claimed: i64,
    #[specta(type = f64)]
    pub approved: i64,
    #[specta(type = f64)]
    pub settled: i64,
}

/// People seen (an attended appointment), merged records counted once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct NewReturning {
    #[specta(type = f64)]
    pub new: i64,
    #[specta(type = f64)]
    pub returning: i64,
}

/// Appointments of a period by what became of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, specta::Type)]
pub struct Attendance {
    /// Checked in, with the doctor or done.
    #[specta(type = f64)]
    pub kept: i64,
    #[specta(type = f64)]
    pub no_show: i64,
    #[specta(type = f64)]
    pub cancelled: i64,
    /// Still booked (not arrived yet).
    #[specta(type = f64)]
    pub booked: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct AdminDashboard {
    pub today: MoneyPeriod,
    pub month: MoneyPeriod,
    pub receivables: Receivables,
    pub claims: Claims,
    pub patients_today: NewReturning,
    /// From the 1st to today: a person seen on several days counts once.
    pub patients_month: NewReturning,
    pub appointments_today: Attendance,
    pub appointments_month: Attendance,
}

/// Needs `reports_finance` (administrator, accountant).
pub async fn admin(store: &Store, auth: &Authorized) -> Result<AdminDashboard> {
    auth.require(Permission::ReportsFinance)?;
    let today = Today::of(store).await?;
    let day = today.range(today.date);
    let month = today.range(today.month_start());
    let (seen, new) = patients::new_returning_counts(store, &day).await?;
    // Read from the people-seen summary (migration 0042), so a month costs what a day does.
    let (seen_month, new_month) = patients::new_returning_counts(store, &month).await?;
    Ok(AdminDashboard {
        today: money(store, &day).await?,
        month: money(store, &month).await?,
        receivables: receivables(store).await?,
        claims: claims(store).await?,
        patients_today: NewReturning { new, returning: seen - new },
        patients_month: NewReturning { new: new_month, returning: seen_month - new_month },
        appointments_today: attendance(store, &day).await?,
        appointments_month: attendance(store, &month).await?,
    })
}

async fn money(store: &Store, range: &DateRange) -> Result<MoneyPeriod> {
    let (lines, invoices) = revenue::lines(store, range, &Scope::default()).await?;
    let invoiced = lines.iter().map(|(l, a)| l.n * a.total).sum::<i64>();
    let (from, to) = range.instants()?;
    let pieces = pieces::quarter_pieces(&from, &to);
    let credit_notes = revenue::credited(store, &pieces).await?;
    let moved = revenue::money_moved(store, &pieces).await?;
    let by_mode: Vec<ModeMoney> = PaymentMode::ALL
        .into_iter()
        .map(|mode| {
            let of = |refund: bool| {
                moved.iter().filter(|m| m.mode == mode.code() && (m.kind == "refund") == refund).map(|m| m.amount).sum()
            };
            ModeMoney { mode, received: of(false), refunded: of(true) }
        })
        .collect();
    Ok(MoneyPeriod {
        from: range.from_ymd(),
        to: range.to_ymd(),
        invoices,
        invoiced,
        credit_notes,
        net: invoiced - credit_notes,
        received: by_mode.iter().map(|m| m.received).sum(),
        refunded: by_mode.iter().map(|m| m.refunded).sum(),
        by_mode,
    })
}

/// From the total kept by triggers beside the dues (`report_dues_total`, migration 0054).
async fn receivables(store: &Store) -> Result<Receivables> {
    let (invoices, amount): (i64, i64) = sqlx::query_as("SELECT invoices, amount FROM report_dues_total WHERE id = 1")
        .fetch_one(store.report_pool())
        .await?;
    Ok(Receivables { invoices, amount })
}

/// The open claims through their own index (migration 0051): a clinic has few open at a time,
/// however many invoices it has made.
async fn claims(store: &Store) -> Result<Claims> {
    let (open, claimed, approved, settled): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(i.claimed_minor), 0), COALESCE(SUM(i.approved_minor), 0), COALESCE(SUM(i.settled_minor), 0)
         FROM bill_insurance i INDEXED BY bill_insurance_open
         WHERE i.deleted_at IS NULL AND ((i.approved_minor = 0 AND i.claimed_minor > 0) OR i.settled_minor < i.approved_minor)
           AND EXISTS (SELECT 1 FROM bills b WHERE b.id = i.bill_id AND b.status = 'final' AND b.deleted_at IS NULL)",
    )
    .fetch_one(store.report_pool())
    .await?;
    Ok(Claims { open, claimed, approved, settled })
}

/// From the appointments summary (migration 0028).
pub(crate) async fn attendance(store: &Store, range: &DateRange) -> Result<Attendance> {
    let (rows, binds) = summary::APPOINTMENTS.rows(range);
    let sql = format!("SELECT s.status, SUM(s.n) FROM {rows} s GROUP BY s.status");
    let mut q = sqlx::query_as::<_, (String, i64)>(&sql);
    for b in &binds {
        q = q.bind(b);
    }
    let mut a = Attendance::default();
    for (status, n) in q.fetch_all(store.report_pool()).await? {
        match status.as_str() {
            "checked_in" | "with_doctor" | "done" => a.kept += n,
            "no_show" => a.no_show += n,
            "cancelled" => a.cancelled += n,
            _ => a.booked += n,
        }
    }
    Ok(a)
}
