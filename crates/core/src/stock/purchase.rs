//! Purchase orders to suppliers: a draft (lines of item, packs and the expected cost of a
//! pack), made by hand or from the suggested purchase order (one draft per supplier); an
//! optional approval; sent; received in one or more deliveries against it; or cancelled.
//!
//! **States.** draft → (approved) → sent → partly received → received, or cancelled before it
//! is received in full. The stored status is what people did (draft, approved, sent,
//! cancelled); partly received and received are read from the receipts against the order:
//! each receipt line names the order's line it delivers, and a line is received when the base
//! units delivered (free units not counted) reach packs × pack size. Nothing counts arrivals
//! in a field, so deliveries received on two devices offline add up once they meet.
//!
//! **Approval** is a clinic setting ([`APPROVAL_KEY`], off by default). When it is on, a draft
//! is sent only once an administrator (`purchase_approve`) has approved it, and the approver
//! is never the order's author (someone holding both roles cannot approve their own order).
//! When it is off, a draft is sent as it is (approving it is still allowed).
//!
//! **Receiving against an order** ([`receive_against`]) is a receipt (`receiving`) into the
//! order's store from its supplier: every line must be an item of the order, and a line may
//! not bring more than is still to come (`lines.N.packs`, out of range, "only N more ordered"):
//! an over-delivery is received without naming the order. Only a sent order (not yet
//! received in full) is received against.
//!
//! Who: the pharmacist drafts, sends, cancels and prints (`purchase_orders`); the
//! administrator approves (`purchase_approve`); whoever receives goods receives against an
//! order (`stock_receive`); stock's viewers see the orders (`stock_view`). Every write is one
//! transaction with its change-log entries and audit (`stock.po_*`).

use super::model::{Receipt, ReceiptInput};
use super::purchase_model::*;
use super::receiving::{self, OrderLink};
use super::setup::PRICE_MAX;
use super::{require_item, require_store, LINES_MAX, NOTE_MAX};
use crate::clinical::{insert_row, line, within};
use crate::codes::Code;
use crate::error::{Error, Result, ValidationReason};
use crate::rbac::Permission;
use crate::reports::{DateRange, RangeInput};
use crate::session::Authorized;
use crate::store::tables::{Table, NO_RULES};
use crate::store::{Store, WriteTx};
use serde_json::json;
use sqlx::SqliteConnection;

inventory::submit! { Table { name: "purchase_orders", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }
inventory::submit! { Table { name: "purchase_order_lines", id_column: "id", synced: true, local_columns: &[], rules: &NO_RULES } }

/// The setting that asks for an administrator's approval before an order is sent.
pub const APPROVAL_KEY: &str = "purchase_approval";
/// The most packs one order line asks for.
pub const PACKS_MAX: u32 = 100_000;
/// The most orders [`orders`] lists.
pub const ORDERS_MAX: i64 = 200;

/// Whether the clinic asks for approval before sending (off by default).
async fn approval_on(conn: &mut SqliteConnection) -> Result<bool> {
    let raw: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = ? AND deleted_at IS NULL")
        .bind(APPROVAL_KEY)
        .fetch_optional(conn)
        .await?;
    Ok(raw.and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok()).and_then(|v| v.as_bool()).unwrap_or(false))
}

/// Whether orders need an administrator's approval before they are sent.
pub async fn approval_required(store: &Store, auth: &Authorized) -> Result<bool> {
    auth.require(Permission::StockView)?;
    let mut conn = store.pool().acquire().await?;
    approval_on(&mut conn).await
}

/// Asks for approval before sending, or not (the administrator; off by default).
pub async fn set_approval_required(store: &Store, auth: &Authorized, on: bool) -> Result<()> {
    auth.require(Permission::SettingsManage)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let before = approval_on(w.conn()).await?;
    crate::settings::values::put(&mut w, APPROVAL_KEY, &json!(on)).await?;
    w.audit("settings.update", "settings", Some(APPROVAL_KEY), json!({ "before": before, "after": on })).await?;
    w.commit().await
}

/// Drafts an order to a supplier by hand.
pub async fn draft(store: &Store, auth: &Authorized, input: PurchaseOrderInput) -> Result<PurchaseOrder> {
    auth.require(Permission::PurchaseOrders)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let id = draft_in(&mut w, &input).await?;
    w.commit().await?;
    load(store, &id).await
}

/// An order has one line at least and at most [`LINES_MAX`].
pub(super) fn check_line_count(lines: &[PurchaseLineInput]) -> Result<()> {
    if lines.is_empty() {
        return Err(Error::validation("lines", ValidationReason::Required, "at least one line"));
    }
    if lines.len() > LINES_MAX {
        return Err(Error::validation("lines", ValidationReason::TooLong, format!("at most {LINES_MAX} lines")));
    }
    Ok(())
}

/// Checks an order and writes it as a draft; answers its id.
async fn draft_in(w: &mut WriteTx<'_>, input: &PurchaseOrderInput) -> Result<String> {
    let note = line("note", &input.note, NOTE_MAX, false)?;
    check_line_count(&input.lines)?;
    require_supplier(w, input.supplier_id.trim()).await?;
    require_store(w.conn(), "store_id", input.store_id.trim()).await?;
    let mut items: Vec<String> = Vec::with_capacity(input.lines.len());
    for (i, l) in input.lines.iter().enumerate() {
        let item = within(&format!("lines.{i}"), check_line(w, l).await)?;
        if items.contains(&item) {
            return Err(Error::validation(
                &format!("lines.{i}.item_id"),
                ValidationReason::Taken,
                "on the order twice",
            ));
        }
        items.push(item);
    }
    let id = crate::ids::new_id();
    let number = crate::billing::bills::next_number(w, "purchase_order", "PO").await?;
    let by = w.actor().user_id.clone().unwrap_or_default();
    let cols = [
        ("number", json!(number)),
        ("supplier_id", json!(input.supplier_id.trim())),
        ("store_id", json!(input.store_id.trim())),
        ("status", json!(PurchaseStatus::Draft.code())),
        ("note", json!(note)),
        ("created_by", json!(by)),
        ("cancel_reason", json!("")),
    ];
    insert_row(w, "purchase_orders", &id, &cols).await?;
    for (l, item) in input.lines.iter().zip(&items) {
        let cols = [
            ("order_id", json!(id)),
            ("item_id", json!(item)),
            ("packs", json!(l.packs)),
            ("pack_cost_minor", json!(l.pack_cost_minor)),
        ];
        insert_row(w, "purchase_order_lines", &crate::ids::new_id(), &cols).await?;
    }
    w.audit(
        "stock.po_draft",
        "purchase_order",
        Some(&id),
        json!({ "number": number, "supplier_id": input.supplier_id.trim(), "lines": items.len() }),
    )
    .await?;
    Ok(id)
}

async fn require_supplier(w: &mut WriteTx<'_>, id: &str) -> Result<()> {
    let active: Option<bool> = sqlx::query_scalar("SELECT active FROM suppliers WHERE id = ? AND deleted_at IS NULL")
        .bind(id)
        .fetch_optional(w.conn())
        .await?;
    match active {
        Some(true) => Ok(()),
        Some(false) => Err(Error::validation("supplier_id", ValidationReason::Invalid, "this supplier is closed")),
        None => Err(Error::validation("supplier_id", ValidationReason::Invalid, "no such supplier")),
    }
}

/// One line: a stocked item, packs in range, a cost of 0 or more; answers the item.
pub(super) async fn check_line(w: &mut WriteTx<'_>, l: &PurchaseLineInput) -> Result<String> {
    let item = require_item(w.conn(), "item_id", l.item_id.trim()).await?;
    if l.packs == 0 || l.packs > PACKS_MAX {
        return Err(Error::validation("packs", ValidationReason::OutOfRange, format!("1 to {PACKS_MAX} packs")));
    }
    if !(0..=PRICE_MAX).contains(&l.pack_cost_minor) {
        return Err(Error::validation("pack_cost_minor", ValidationReason::OutOfRange, "0 or more"));
    }
    Ok(item.id)
}

/// Drafts the suggested purchase order: one draft per supplier of the items below their
/// reorder level (the supplier of each item's latest receipt), each line the suggested packs
/// at the latest pack cost, to arrive in `store_id`. `range` is the suggestion's "used in"
/// range, as in the report. Items never received have no supplier and are left out (counted).
pub async fn draft_from_suggestions(
    store: &Store,
    auth: &Authorized,
    store_id: &str,
    range: RangeInput,
) -> Result<SuggestedDrafts> {
    auth.require(Permission::PurchaseOrders)?;
    let range = DateRange::of(store, &range).await?;
    let lows = crate::reports::stock::reorder_lines(store, &range).await?;
    let mut by_supplier: Vec<(String, Vec<PurchaseLineInput>)> = Vec::new();
    let mut without_supplier = 0u32;
    for low in lows {
        let (_, packs) = crate::reports::stock::suggestion(low.reorder_level, low.used, low.on_hand, low.pack_size);
        let Some(supplier) = low.supplier_id.clone() else {
            without_supplier += 1;
            continue;
        };
        let packs = u32::try_from(packs.clamp(1, i64::from(PACKS_MAX))).unwrap_or(1);
        let line =
            PurchaseLineInput { item_id: low.item_id.clone(), packs, pack_cost_minor: low.pack_cost.unwrap_or(0) };
        match by_supplier.iter_mut().find(|(s, _)| *s == supplier) {
            Some((_, lines)) => lines.push(line),
            None => by_supplier.push((supplier, vec![line])),
        }
    }
    let mut w = store.begin_write(auth.actor()).await?;
    let mut ids = Vec::with_capacity(by_supplier.len());
    for (supplier_id, lines) in by_supplier {
        let input = PurchaseOrderInput {
            supplier_id,
            store_id: store_id.to_string(),
            note: String::new(),
            lines: lines.into_iter().take(LINES_MAX).collect(),
        };
        ids.push(draft_in(&mut w, &input).await?);
    }
    w.commit().await?;
    let mut orders = Vec::with_capacity(ids.len());
    for id in ids {
        orders.push(load(store, &id).await?);
    }
    Ok(SuggestedDrafts { orders, without_supplier })
}

/// An order's stored status and author, inside a write.
pub(super) async fn stored(w: &mut WriteTx<'_>, order_id: &str) -> Result<(PurchaseStatus, String)> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT status, created_by FROM purchase_orders WHERE id = ? AND deleted_at IS NULL")
            .bind(order_id)
            .fetch_optional(w.conn())
            .await?;
    let (status, author) = row.ok_or_else(|| Error::NotFound { entity: "purchase order".into() })?;
    let status = crate::store::stored::code("purchase_orders", order_id, "status", &status, PurchaseStatus::from_code)?;
    Ok((status, author))
}

/// Sets an order's fields (a synced update of exactly those) and audits `action`.
async fn update(
    w: &mut WriteTx<'_>,
    order_id: &str,
    before: serde_json::Value,
    fields: &[(&str, serde_json::Value)],
    action: &str,
) -> Result<()> {
    let (stamp, by) = (w.stamp(), w.actor().user_id.clone());
    let sets: Vec<String> = fields.iter().map(|(c, _)| format!("{c} = ?")).collect();
    let sql = format!("UPDATE purchase_orders SET {}, updated_at = ?, updated_by = ? WHERE id = ?", sets.join(", "));
    let mut q = sqlx::query(&sql);
    for (_, v) in fields {
        q = match v {
            serde_json::Value::String(s) => q.bind(s.clone()),
            _ => q.bind(None::<String>),
        };
    }
    q.bind(&stamp).bind(&by).bind(order_id).execute(w.conn()).await?;
    let mut after = serde_json::Map::new();
    for (c, v) in fields {
        after.insert((*c).to_string(), v.clone());
    }
    let detail = serde_json::Value::Object(after.clone());
    after.insert("updated_at".into(), json!(stamp));
    after.insert("updated_by".into(), json!(by));
    w.record_update("purchase_orders", order_id, &before, &serde_json::Value::Object(after)).await?;
    w.audit(action, "purchase_order", Some(order_id), detail).await
}

/// Approves a draft (an administrator who is not its author).
pub async fn approve(store: &Store, auth: &Authorized, order_id: &str) -> Result<PurchaseOrder> {
    auth.require(Permission::PurchaseApprove)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let (status, author) = stored(&mut w, order_id).await?;
    if status != PurchaseStatus::Draft {
        return Err(Error::validation(
            "order_id",
            ValidationReason::Invalid,
            format!("the order is {}", status.code()),
        ));
    }
    let me = w.actor().user_id.clone().unwrap_or_default();
    if me == author {
        return Err(Error::validation("order_id", ValidationReason::Invalid, "its author cannot approve it"));
    }
    let at = w.now_rfc3339();
    let before = json!({ "status": "draft", "approved_by": null, "approved_at": null });
    let fields = [("status", json!("approved")), ("approved_by", json!(me)), ("approved_at", json!(at))];
    update(&mut w, order_id, before, &fields, "stock.po_approve").await?;
    w.commit().await?;
    load(store, order_id).await
}

/// Sends an order: a draft (when the clinic does not ask for approval) or an approved one.
pub async fn send(store: &Store, auth: &Authorized, order_id: &str) -> Result<PurchaseOrder> {
    auth.require(Permission::PurchaseOrders)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let (status, _) = stored(&mut w, order_id).await?;
    let approval = approval_on(w.conn()).await?;
    match status {
        PurchaseStatus::Approved => {}
        PurchaseStatus::Draft if !approval => {}
        PurchaseStatus::Draft => {
            return Err(Error::validation("order_id", ValidationReason::Invalid, "an administrator approves it first"))
        }
        other => {
            return Err(Error::validation(
                "order_id",
                ValidationReason::Invalid,
                format!("the order is {}", other.code()),
            ))
        }
    }
    let at = w.now_rfc3339();
    let before = json!({ "status": status.code(), "sent_at": null });
    update(&mut w, order_id, before, &[("status", json!("sent")), ("sent_at", json!(at))], "stock.po_send").await?;
    w.commit().await?;
    load(store, order_id).await
}

/// Cancels an order not yet received in full, with a reason (what arrived stays received).
pub async fn cancel(store: &Store, auth: &Authorized, order_id: &str, reason: &str) -> Result<PurchaseOrder> {
    auth.require(Permission::PurchaseOrders)?;
    let reason = line("reason", reason, NOTE_MAX, true)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let (status, _) = stored(&mut w, order_id).await?;
    let shown = shown_status(w.conn(), order_id, status).await?;
    if matches!(shown, PurchaseStatus::Received | PurchaseStatus::Cancelled) {
        return Err(Error::validation("order_id", ValidationReason::Invalid, format!("the order is {}", shown.code())));
    }
    let at = w.now_rfc3339();
    let before = json!({ "status": status.code(), "cancelled_at": null, "cancel_reason": "" });
    let fields = [("status", json!("cancelled")), ("cancelled_at", json!(at)), ("cancel_reason", json!(reason))];
    update(&mut w, order_id, before, &fields, "stock.po_cancel").await?;
    w.commit().await?;
    load(store, order_id).await
}

/// Receives a delivery against a sent order: into the order's store, from its supplier, each
/// line an item of the order and no more than is still to come (see the module doc).
pub async fn receive_against(
    store: &Store,
    auth: &Authorized,
    order_id: &str,
    mut input: ReceiptInput,
) -> Result<Receipt> {
    auth.require(Permission::StockReceive)?;
    receiving::check_lines(&input)?;
    let mut w = store.begin_write(auth.actor()).await?;
    let (status, _) = stored(&mut w, order_id).await?;
    let shown = shown_status(w.conn(), order_id, status).await?;
    if !matches!(shown, PurchaseStatus::Sent | PurchaseStatus::PartlyReceived) {
        let why = format!("the order is {}", shown.code());
        return Err(Error::validation("purchase_order_id", ValidationReason::Invalid, why));
    }
    let (supplier, order_store): (String, String) =
        sqlx::query_as("SELECT supplier_id, store_id FROM purchase_orders WHERE id = ?")
            .bind(order_id)
            .fetch_one(w.conn())
            .await?;
    let given = input.supplier_id.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    if given.is_some_and(|s| s != supplier) {
        return Err(Error::validation("supplier_id", ValidationReason::Invalid, "not this order's supplier"));
    }
    input.supplier_id = Some(supplier);
    if input.store_id.trim().is_empty() {
        input.store_id = order_store;
    }
    let lines = order_lines(w.conn(), order_id).await?;
    let mut link = OrderLink { order_id: order_id.to_string(), lines: Vec::with_capacity(input.lines.len()) };
    // What this delivery brings per order line so far (two receipt lines may be two batches).
    let mut bringing: Vec<i64> = vec![0; lines.len()];
    for (i, l) in input.lines.iter().enumerate() {
        let Some(at) = lines.iter().position(|o| o.item_id == l.item_id.trim()) else {
            let field = format!("lines.{i}.item_id");
            return Err(Error::validation(&field, ValidationReason::Invalid, "not on this order"));
        };
        let o = &lines[at];
        bringing[at] += i64::from(l.packs) * i64::from(o.pack_size) + i64::from(l.units);
        let left = o.ordered_units - o.received_units;
        if bringing[at] > left {
            let field = format!("lines.{i}.packs");
            let why = format!("only {} {} more ordered", left.max(0), o.unit);
            return Err(Error::validation(&field, ValidationReason::OutOfRange, why));
        }
        link.lines.push(o.id.clone());
    }
    let receipt = receiving::receive_in(&mut w, input, Some(&link)).await?;
    w.commit().await?;
    Ok(receipt)
}

/// An order's lines with what has arrived against each.
async fn order_lines(conn: &mut SqliteConnection, order_id: &str) -> Result<Vec<PurchaseLine>> {
    type Row = (String, String, String, String, String, String, i64, i64, i64, i64);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT l.id, l.item_id, i.generic_name, i.strength, i.form, i.unit, i.pack_size, l.packs, l.pack_cost_minor,
                (SELECT COALESCE(SUM(r.quantity - r.free_units), 0) FROM stock_receipt_lines r
                 WHERE r.order_line_id = l.id AND r.deleted_at IS NULL)
         FROM purchase_order_lines l JOIN stock_items i ON i.id = l.item_id
         WHERE l.order_id = ? AND l.deleted_at IS NULL ORDER BY i.generic_name COLLATE NOCASE, l.id",
    )
    .bind(order_id)
    .fetch_all(conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, item_id, generic_name, strength, form, unit, pack_size, packs, pack_cost_minor, received) in rows {
        let corrupt = |field: &str| Error::corrupt("purchase_order_lines", &id, field, "out of range");
        let pack_size_u = u32::try_from(pack_size).map_err(|_| corrupt("pack_size"))?;
        let packs_u = u32::try_from(packs).map_err(|_| corrupt("packs"))?;
        out.push(PurchaseLine {
            ordered_units: packs * pack_size,
            id,
            item_id,
            generic_name,
            strength,
            form,
            unit,
            pack_size: pack_size_u,
            packs: packs_u,
            pack_cost_minor,
            received_units: received,
        });
    }
    Ok(out)
}

/// The status people see: a sent order is partly received or received by its receipts.
fn status_of(stored: PurchaseStatus, lines: &[PurchaseLine]) -> PurchaseStatus {
    if stored != PurchaseStatus::Sent {
        return stored;
    }
    if !lines.is_empty() && lines.iter().all(|l| l.received_units >= l.ordered_units) {
        PurchaseStatus::Received
    } else if lines.iter().any(|l| l.received_units > 0) {
        PurchaseStatus::PartlyReceived
    } else {
        PurchaseStatus::Sent
    }
}

async fn shown_status(conn: &mut SqliteConnection, order_id: &str, stored: PurchaseStatus) -> Result<PurchaseStatus> {
    Ok(status_of(stored, &order_lines(conn, order_id).await?))
}

#[derive(sqlx::FromRow)]
struct OrderRow {
    id: String,
    number: String,
    supplier_id: String,
    supplier_name: String,
    store_id: String,
    status: String,
    note: String,
    created_by: String,
    created_at: String,
    approved_by: Option<String>,
    approved_at: Option<String>,
    sent_at: Option<String>,
    cancelled_at: Option<String>,
    cancel_reason: String,
}

const ORDER_SELECT: &str = "SELECT o.id, o.number, o.supplier_id, s.name AS supplier_name, o.store_id, o.status,
    o.note, o.created_by, o.created_at, o.approved_by, o.approved_at, o.sent_at, o.cancelled_at, o.cancel_reason
    FROM purchase_orders o JOIN suppliers s ON s.id = o.supplier_id";

async fn order_of(conn: &mut SqliteConnection, r: OrderRow) -> Result<PurchaseOrder> {
    let stored = crate::store::stored::code("purchase_orders", &r.id, "status", &r.status, PurchaseStatus::from_code)?;
    let lines = order_lines(conn, &r.id).await?;
    let total_minor = lines.iter().map(|l| i64::from(l.packs) * l.pack_cost_minor).sum();
    Ok(PurchaseOrder {
        status: status_of(stored, &lines),
        id: r.id,
        number: r.number,
        supplier_id: r.supplier_id,
        supplier_name: r.supplier_name,
        store_id: r.store_id,
        note: r.note,
        created_by: r.created_by,
        created_at: r.created_at,
        approved_by: r.approved_by,
        approved_at: r.approved_at,
        sent_at: r.sent_at,
        cancelled_at: r.cancelled_at,
        cancel_reason: r.cancel_reason,
        lines,
        total_minor,
    })
}

pub(crate) async fn load(store: &Store, order_id: &str) -> Result<PurchaseOrder> {
    let mut conn = store.pool().acquire().await?;
    let sql = format!("{ORDER_SELECT} WHERE o.id = ? AND o.deleted_at IS NULL");
    let row: Option<OrderRow> = sqlx::query_as(&sql).bind(order_id).fetch_optional(&mut *conn).await?;
    let row = row.ok_or_else(|| Error::NotFound { entity: "purchase order".into() })?;
    order_of(&mut conn, row).await
}

/// One order with its lines and what has arrived.
pub async fn order(store: &Store, auth: &Authorized, order_id: &str) -> Result<PurchaseOrder> {
    auth.require(Permission::StockView)?;
    load(store, order_id).await
}

/// The orders, newest first (at most [`ORDERS_MAX`]).
pub async fn orders(store: &Store, auth: &Authorized) -> Result<Vec<PurchaseOrder>> {
    auth.require(Permission::StockView)?;
    let mut conn = store.pool().acquire().await?;
    let sql = format!("{ORDER_SELECT} WHERE o.deleted_at IS NULL ORDER BY o.created_at DESC, o.id DESC LIMIT ?");
    let rows: Vec<OrderRow> = sqlx::query_as(&sql).bind(ORDERS_MAX).fetch_all(&mut *conn).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(order_of(&mut conn, r).await?);
    }
    Ok(out)
}
