//! The printable count sheet (A4, the clinic's letterhead): the store, the moment of the
//! snapshot, and a row per line — item, batch, expiry, the expected quantity (left out on a
//! blind take) and the unit — with a blank column to write the count in.

use super::read;
use crate::clinical::print::{self, Letterhead, Sheet, LEFT, RIGHT};
use crate::error::Result;
use crate::pdf::{Weight, INK, MUTED};
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;

/// A rendered count sheet and the name to save it under.
#[derive(Debug, Clone)]
pub struct CountSheet {
    pub file_name: String,
    pub pdf: Vec<u8>,
}

/// Each row's height: room to write a count by hand.
const ROW: f32 = 7.5;
// Column starts (mm from the left edge of the page).
const ITEM: f32 = LEFT + 9.0;
const BATCH: f32 = 80.0;
const EXPIRY: f32 = 108.0;
const EXPECTED_END: f32 = 148.0;
const UNIT: f32 = 151.0;
const COUNTED: f32 = 166.0;

/// The count sheet of a take (whoever may count prints it).
pub async fn count_sheet(store: &Store, auth: &Authorized, take_id: &str) -> Result<CountSheet> {
    auth.require(Permission::StockCount)?;
    let take = read::take(store, auth, take_id).await?;
    let head = print::letterhead(store).await?;
    let pdf = render(&head, &take)?;
    let file_name = format!(
        "stock-take-{}-{}.pdf",
        take.take.store_name.to_lowercase().split_whitespace().collect::<Vec<_>>().join("-"),
        head.file_date(&take.take.opened_at)
    );
    Ok(CountSheet { file_name, pdf })
}

/// Draws the sheet. Pure: the same take gives the same PDF.
pub fn render(head: &Letterhead, take: &super::StockTake) -> Result<Vec<u8>> {
    let t = &take.take;
    let mut s = Sheet::new(head, &format!("Stock take {}", t.store_name), "Stock take")?;
    s.field("Store", &t.store_name)?;
    s.field("Opened", &format!("{} by {}", head.date_time(&t.opened_at), t.opened_by))?;
    let mut scope = match t.item_kind.as_str() {
        "medicine" => "Medicines".to_string(),
        "lab_consumable" => "Lab consumables".to_string(),
        "other" => "Other items".to_string(),
        _ => "All items".to_string(),
    };
    if !t.search.is_empty() {
        scope.push_str(&format!(" named “{}”", t.search));
    }
    s.field("Items", &scope)?;
    if t.blind {
        s.field("Count", "Blind: write what is on the shelf; the expected quantities are not printed")?;
    }
    if !t.note.is_empty() {
        s.field("Note", &t.note)?;
    }
    s.down(3.0);
    columns(&mut s, t.blind)?;
    for line in &take.lines {
        let pages = s.pages();
        s.need(ROW + 2.0)?;
        if s.pages() != pages {
            columns(&mut s, t.blind)?;
        }
        s.text(LEFT, 9.0, Weight::Regular, MUTED, &line.position.to_string());
        s.cell(ITEM, BATCH - ITEM - 2.0, 9.0, Weight::Regular, INK, &line.item_name)?;
        s.cell(BATCH, EXPIRY - BATCH - 2.0, 9.0, Weight::Regular, INK, &line.batch_no)?;
        s.text(EXPIRY, 9.0, Weight::Regular, INK, &head.day(&line.expiry));
        if let (false, Some(expected)) = (t.blind, line.expected) {
            let y = s.y;
            s.right(EXPECTED_END, y, 9.0, Weight::Regular, INK, &expected.to_string())?;
        }
        s.cell(UNIT, COUNTED - UNIT - 2.0, 9.0, Weight::Regular, MUTED, &line.unit)?;
        s.rule(COUNTED, RIGHT, -1.5);
        s.down(ROW);
    }
    s.down(6.0);
    s.need(12.0)?;
    s.text(
        LEFT,
        9.0,
        Weight::Regular,
        INK,
        "Counted by ____________________    Date __________    Checked by ____________________",
    );
    Ok(s.finish(&format!("Stock take of {} · {} lines", t.store_name, take.lines.len())))
}

/// The column headings.
fn columns(s: &mut Sheet, blind: bool) -> Result<()> {
    for (x, label) in
        [(LEFT, "#"), (ITEM, "Item"), (BATCH, "Batch"), (EXPIRY, "Expiry"), (UNIT, "Unit"), (COUNTED, "Counted")]
    {
        s.text(x, 8.5, Weight::Bold, MUTED, label);
    }
    if !blind {
        let y = s.y;
        s.right(EXPECTED_END, y, 8.5, Weight::Bold, MUTED, "Expected")?;
    }
    s.rule(LEFT, RIGHT, -2.0);
    s.down(ROW);
    Ok(())
}
