//! What a bill allows the signed-in user now, sent with the bill so that the screen shows
//! exactly the buttons the core would accept: a draft is edited (lines, finalize, advance);
//! a finalized invoice takes payments, refunds, credit notes, insurance and cancelling; a
//! cancelled bill only prints. Every call is checked again when it is made.

use super::model::{Bill, BillStatus};
use crate::rbac::Permission;
use crate::session::Authorized;
use serde::Serialize;

/// The actions a bill offers this user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, specta::Type)]
pub struct BillActions {
    pub add_line: bool,
    pub remove_line: bool,
    /// A draft with at least one line.
    pub finalize: bool,
    /// Something is due on a finalized invoice.
    pub pay: bool,
    pub advance: bool,
    /// Money was paid on a bill that is not cancelled.
    pub refund: bool,
    /// The invoice still stands at more than its credit notes.
    pub credit_note: bool,
    /// Cancelling is allowed and nothing is paid.
    pub cancel: bool,
    /// Cancelling is allowed to this user, but money was paid: refund it first.
    pub cancel_needs_refund: bool,
    pub insurance: bool,
    /// An insurer approved more than it paid, and something is due.
    pub settle: bool,
    pub print_invoice: bool,
    pub print_receipt: bool,
}

/// The actions `bill` offers the user of `auth`.
pub fn of(bill: &Bill, auth: &Authorized) -> BillActions {
    let may = |p: Permission| auth.require(p).is_ok();
    let (view, edit, refund) =
        (may(Permission::BillingView), may(Permission::BillingEdit), may(Permission::BillingRefund));
    let draft = bill.status == BillStatus::Draft;
    let finalized = bill.status == BillStatus::Final;
    let live = bill.status != BillStatus::Cancelled;
    let paid = bill.paid_minor;
    let due = bill.due_minor;
    let insurer_owes = bill.insurance.as_ref().map_or(0, |i| i.approved_minor - i.settled_minor);
    let may_cancel = (draft && edit) || (finalized && edit && refund);
    BillActions {
        add_line: draft && edit,
        remove_line: draft && edit,
        finalize: draft && edit && !bill.lines.is_empty(),
        pay: finalized && edit && due > 0,
        advance: draft && edit,
        refund: refund && paid > 0 && live,
        credit_note: finalized && refund && bill.totals.total - bill.credited_minor > 0,
        cancel: may_cancel && paid == 0,
        cancel_needs_refund: may_cancel && paid != 0,
        insurance: edit && live,
        settle: finalized && edit && insurer_owes > 0 && due > 0,
        print_invoice: view,
        print_receipt: view && !bill.payments.is_empty(),
    }
}
