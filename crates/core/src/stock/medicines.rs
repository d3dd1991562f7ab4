//! The medicine list as whoever sets up stock items sees it: a medicine item names a medicine
//! of the list (prescriptions name it), and the pharmacist, who does not read charts
//! (`clinical_view`), still has to choose one. Active medicines by the start of their name,
//! each saying whether a stock item already is it.

use crate::error::Result;
use crate::rbac::Permission;
use crate::session::Authorized;
use crate::store::Store;
use serde::Serialize;

/// The most medicines one search answers.
pub const MEDICINE_OPTIONS_LIMIT: u32 = 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct MedicineOption {
    pub id: String,
    pub name: String,
    pub strength: String,
    pub form: String,
    /// A stock item is this medicine already.
    pub stocked: bool,
}

/// Active medicines whose name starts with `query` (any case), by name.
pub async fn medicine_options(store: &Store, auth: &Authorized, query: &str) -> Result<Vec<MedicineOption>> {
    auth.require(Permission::StockManage)?;
    let q = query.trim().to_lowercase().replace(['%', '_', '\\'], "");
    let rows: Vec<(String, String, String, String, bool)> = sqlx::query_as(
        "SELECT m.id, m.name, m.strength, m.form,
                EXISTS (SELECT 1 FROM stock_items i WHERE i.medicine_id = m.id AND i.deleted_at IS NULL)
         FROM medicines m WHERE m.deleted_at IS NULL AND m.active = 1 AND lower(m.name) LIKE ? || '%'
         ORDER BY m.name, m.strength, m.id LIMIT ?",
    )
    .bind(&q)
    .bind(MEDICINE_OPTIONS_LIMIT)
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, strength, form, stocked)| MedicineOption { id, name, strength, form, stocked })
        .collect())
}
