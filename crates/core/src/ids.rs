//! Identifiers: UUIDv7 for every row, so offline devices never mint the same id and ids sort
//! by creation time.

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
