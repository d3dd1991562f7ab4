//! The wards' Home: occupancy per ward, as the bed board derives it (inpatients' own board).

use crate::error::Result;
use crate::inpatients::{board::board, BoardFilter};
use crate::session::Authorized;
use crate::store::Store;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct WardOccupancy {
    pub ward_id: String,
    pub ward_name: String,
    pub beds: u32,
    pub occupied: u32,
    pub free: u32,
    pub cleaning: u32,
    pub out_of_service: u32,
    /// Admitted to the ward, waiting for a bed.
    pub waiting: u32,
    /// occupied ÷ beds in service (beds − out of service), in basis points; None without one.
    pub occupancy_bp: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct NurseDashboard {
    /// Active wards, as the board orders them.
    pub wards: Vec<WardOccupancy>,
}

/// Needs `inpatients_view`.
pub async fn nurse(store: &Store, auth: &Authorized) -> Result<NurseDashboard> {
    let b = board(store, auth, BoardFilter::default()).await?;
    let wards = b
        .wards
        .into_iter()
        .map(|w| {
            let c = w.counts;
            let in_service = c.beds.saturating_sub(c.out_of_service);
            WardOccupancy {
                occupancy_bp: (in_service > 0).then(|| (c.occupied * 20_000 + in_service) / (2 * in_service)),
                ward_id: w.ward.id,
                ward_name: w.ward.name,
                beds: c.beds,
                occupied: c.occupied,
                free: c.free,
                cleaning: c.cleaning,
                out_of_service: c.out_of_service,
                waiting: c.waiting,
            }
        })
        .collect();
    Ok(NurseDashboard { wards })
}
