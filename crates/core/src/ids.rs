//! Identifiers: UUIDv7 for every row, so offline devices never mint the same id and ids sort
//! by creation time.

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The id of a row of reference data shipped with the app (a starter formulary medicine): the
/// same on every device, so that two devices of one clinic that each loaded it hold one row,
/// not two that collide on sync. A UUIDv8 from the SHA-256 of the kind and the row's key.
pub fn reference_id(kind: &str, key: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("hms-reference\n{kind}\n{key}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid().to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reference_ids_are_stable_uuids_per_kind_and_key() {
        let a = super::reference_id("medicine", "paracetamol|500 mg|tablet");
        assert_eq!(a, super::reference_id("medicine", "paracetamol|500 mg|tablet"));
        assert_ne!(a, super::reference_id("medicine", "paracetamol|650 mg|tablet"));
        assert_ne!(a, super::reference_id("lab_test", "paracetamol|500 mg|tablet"));
        let u = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(u.get_version_num(), 8);
    }
}
