//! What a bill allows the signed-in user now, sent with the bill so that the screen shows
//! exactly the buttons the core would accept: a draft is edited (lines, finalize, advance);
//! a finalized invoice takes payments, refunds, credit notes, insurance and cancelling; a
//! cancelled bill only prints. Every call is checked again when it is made.

use super::model::{Bill, BillActions, BillStatus};
use crate::rbac::Permission;
use crate::session::Authorized;

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
