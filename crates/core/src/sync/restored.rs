//! This device's own changes in a pull. They are normally skipped (they are here already),
//! except on a device restored from a backup (`backup::restore`): the changes it made after
//! the backup was taken, and pushed before the restore, are on the server but no longer here.
//! They are the device's own sequences above the backup's last one and below the floor the
//! restore set for its new changes; a pull takes them back like another device's changes
//! (proof, signature and policy checked, merged by their stamps). Their audit entries are not
//! taken back: the restored chain goes on from the backup's head (the server keeps the
//! others).

use crate::error::Result;
use crate::store::{meta, Store};
use hms_protocol::Change;

/// Which of this device's own changes a pull skips.
#[derive(Debug, Clone)]
pub(super) struct Own {
    device: String,
    /// The device sequences a restore lost, exclusive bounds: (the backup's last, the floor).
    lost: Option<(u64, u64)>,
}

impl Own {
    pub(super) async fn load(store: &Store) -> Result<Own> {
        let number = |v: Option<String>| v.and_then(|s| s.parse::<u64>().ok());
        let after = number(meta::get(store.pool(), meta::RESTORED_SEQ_KEY).await?);
        let floor = number(meta::get(store.pool(), meta::SEQ_FLOOR_KEY).await?);
        Ok(Own { device: store.device_id().to_string(), lost: after.zip(floor) })
    }

    /// A change of this device that is here already: skipped.
    pub(super) fn skips(&self, c: &Change) -> bool {
        c.device_id == self.device && !self.lost(c)
    }

    /// A change of this device made after the backup it was restored from (not an audit entry).
    fn lost(&self, c: &Change) -> bool {
        c.entity != "audit_log"
            && self.lost.is_some_and(|(after, floor)| {
                c.device_id == self.device && after < c.device_seq && c.device_seq < floor
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_changes_a_restore_lost_are_taken_back() {
        let change = |device: &str, seq: u64, entity: &str| {
            let mut c: Change = serde_json::from_value(serde_json::json!({
                "id": "c", "device_id": device, "device_seq": seq, "entity": entity, "entity_id": "p",
                "op": "insert", "data": {}, "hlc": "0001800000000000-000000-dev"
            }))
            .unwrap();
            c.device_seq = seq;
            c
        };
        let plain = Own { device: "me".into(), lost: None };
        assert!(plain.skips(&change("me", 5, "patients")));
        assert!(!plain.skips(&change("other", 5, "patients")));
        let restored = Own { device: "me".into(), lost: Some((10, 1 << 40)) };
        assert!(restored.skips(&change("me", 10, "patients")), "in the backup");
        assert!(!restored.skips(&change("me", 11, "patients")), "made after the backup");
        assert!(restored.skips(&change("me", 11, "audit_log")), "the chain goes on from the backup");
        assert!(restored.skips(&change("me", 1 << 40, "patients")), "made after the restore");
        assert!(!restored.skips(&change("other", 11, "patients")));
    }
}
