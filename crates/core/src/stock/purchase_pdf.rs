//! A purchase order as sent to the supplier: the clinic's letterhead, the order's number and
//! date, the supplier (name, address, phone, GSTIN), where to deliver, one row per line (item,
//! pack size, packs, expected cost of a pack and of the line) and the total.

use super::purchase_model::PurchaseOrder;
use crate::billing::money;
use crate::clinical::print::{self, Letterhead, Sheet, LEFT, RIGHT};
use crate::error::Result;
use crate::pdf::{Weight, INK, MUTED};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use serde_json::json;

/// The supplier and store lines a purchase order prints.
pub struct OrderSheet {
    pub order: PurchaseOrder,
    pub supplier: Vec<String>,
    pub store_name: String,
    pub currency: String,
}

/// A rendered order: the file name to save it under and the PDF.
#[derive(Debug, Clone)]
pub struct OrderPdf {
    pub file_name: String,
    pub pdf: Vec<u8>,
}

/// Draws an order. Pure: the same sheet gives the same PDF.
pub fn render(head: &Letterhead, s: &OrderSheet) -> Result<Vec<u8>> {
    let o = &s.order;
    let mut sheet = Sheet::new(head, &format!("Purchase order {}", o.number), "PURCHASE ORDER")?;
    sheet.field("Order no.", &o.number)?;
    sheet.field("Date", &head.date(o.sent_at.as_deref().unwrap_or(&o.created_at)))?;
    sheet.field("Supplier", &s.supplier.join(", "))?;
    sheet.field("Deliver to", &s.store_name)?;
    if !o.note.is_empty() {
        sheet.field("Note", &o.note)?;
    }
    sheet.section("Items")?;
    let cols = [LEFT, LEFT + 88.0, LEFT + 108.0];
    sheet.need(6.0)?;
    for (x, title) in cols.iter().zip(["Item", "Pack", "Packs"]) {
        sheet.text(*x, 8.5, Weight::Bold, MUTED, title);
    }
    let y = sheet.y;
    sheet.right(RIGHT - 32.0, y, 8.5, Weight::Bold, MUTED, "Cost / pack")?;
    sheet.right(RIGHT, y, 8.5, Weight::Bold, MUTED, "Amount")?;
    sheet.down(5.5);
    for l in &o.lines {
        sheet.need(6.0)?;
        let name = [l.generic_name.as_str(), l.strength.as_str(), l.form.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        sheet.cell(cols[0], 86.0, 9.5, Weight::Regular, INK, &name)?;
        sheet.text(cols[1], 9.5, Weight::Regular, INK, &format!("{} {}", l.pack_size, l.unit));
        sheet.text(cols[2], 9.5, Weight::Bold, INK, &l.packs.to_string());
        let y = sheet.y;
        sheet.right(RIGHT - 32.0, y, 9.5, Weight::Regular, INK, &money::format(l.pack_cost_minor, &s.currency))?;
        let amount = i64::from(l.packs) * l.pack_cost_minor;
        sheet.right(RIGHT, y, 9.5, Weight::Regular, INK, &money::format(amount, &s.currency))?;
        sheet.down(5.5);
    }
    sheet.need(8.0)?;
    sheet.down(2.0);
    let y = sheet.y;
    sheet.right(RIGHT - 32.0, y, 10.0, Weight::Bold, INK, "Expected total")?;
    sheet.right(RIGHT, y, 10.0, Weight::Bold, INK, &money::format(o.total_minor, &s.currency))?;
    sheet.down(8.0);
    Ok(sheet.finish("Please quote the order number on your invoice and delivery note."))
}

/// The PDF of an order (the pharmacist; audited `stock.po_print`). A draft that still needs
/// approval prints too, marked by its status in the file name.
pub async fn order_pdf(store: &Store, auth: &Authorized, order_id: &str) -> Result<OrderPdf> {
    auth.require(Permission::PurchaseOrders)?;
    let o = super::purchase::load(store, order_id).await?;
    let mut conn = store.pool().acquire().await?;
    let (name, address, phone, tax_no): (String, String, String, String) =
        sqlx::query_as("SELECT name, address, phone, tax_no FROM suppliers WHERE id = ?")
            .bind(&o.supplier_id)
            .fetch_one(&mut *conn)
            .await?;
    let store_name: String = sqlx::query_scalar("SELECT name FROM stock_stores WHERE id = ?")
        .bind(&o.store_id)
        .fetch_one(&mut *conn)
        .await?;
    drop(conn);
    let mut supplier = vec![name];
    supplier.extend([address, phone].into_iter().filter(|s| !s.trim().is_empty()));
    if !tax_no.trim().is_empty() {
        supplier.push(format!("GSTIN {tax_no}"));
    }
    let currency = crate::billing::currency(store).await?;
    let head = print::letterhead(store).await?;
    let sheet = OrderSheet { order: o, supplier, store_name, currency };
    let pdf = render(&head, &sheet)?;
    let mut w = store.begin_write(auth.actor()).await?;
    w.audit("stock.po_print", "purchase_order", Some(order_id), json!({ "number": sheet.order.number })).await?;
    w.commit().await?;
    Ok(OrderPdf { file_name: format!("purchase-order-{}.pdf", sheet.order.number), pdf })
}
