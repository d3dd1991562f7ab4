//! Reading stored values back: a value that does not read as its type (an unknown code, JSON
//! that does not parse, text where a number belongs) is an error naming the table, the row
//! and the field (`Error::CorruptRecord`), never a silent default that would hide a damaged
//! row.

use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use sqlx::sqlite::SqliteRow;
use sqlx::{Decode, Row, Sqlite, Type};

/// One row of `table` being read, for errors that name it.
pub struct Fields<'r> {
    table: &'static str,
    id: String,
    row: &'r SqliteRow,
}

impl<'r> Fields<'r> {
    /// The row whose id is in `id_column`.
    pub fn of(table: &'static str, id_column: &str, row: &'r SqliteRow) -> Result<Self> {
        let id: String = row.try_get(id_column).map_err(|e| Error::corrupt(table, "?", id_column, e))?;
        Ok(Fields { table, id, row })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// A column as its SQL type.
    pub fn get<T>(&self, column: &str) -> Result<T>
    where
        T: for<'a> Decode<'a, Sqlite> + Type<Sqlite>,
    {
        self.row.try_get(column).map_err(|e| match e {
            sqlx::Error::ColumnNotFound(_) | sqlx::Error::ColumnIndexOutOfBounds { .. } => Error::from(e),
            other => Error::corrupt(self.table, &self.id, column, other),
        })
    }

    /// A text column holding a code (`parse` answers `None` for one it does not know).
    pub fn code<T>(&self, column: &str, parse: impl FnOnce(&str) -> Option<T>) -> Result<T> {
        let raw: String = self.get(column)?;
        code(self.table, &self.id, column, &raw, parse)
    }

    /// A text column holding JSON.
    pub fn json<T: DeserializeOwned>(&self, column: &str) -> Result<T> {
        let raw: String = self.get(column)?;
        json(self.table, &self.id, column, &raw)
    }

    /// A 0/1 column.
    pub fn flag(&self, column: &str) -> Result<bool> {
        match self.get::<i64>(column)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(Error::corrupt(self.table, &self.id, column, format_args!("{other} is not 0 or 1"))),
        }
    }
}

/// A stored code of row `id` of `table`, read by `parse`.
pub fn code<T>(table: &str, id: &str, field: &str, raw: &str, parse: impl FnOnce(&str) -> Option<T>) -> Result<T> {
    parse(raw).ok_or_else(|| Error::corrupt(table, id, field, format_args!("unknown code {raw:?}")))
}

/// A stored JSON text of row `id` of `table`.
pub fn json<T: DeserializeOwned>(table: &str, id: &str, field: &str, raw: &str) -> Result<T> {
    serde_json::from_str(raw).map_err(|e| Error::corrupt(table, id, field, e))
}

/// The rows of a `json_group_array(json_array(...))` query (its `?`s bound to `binds`, in
/// order), as tuples; a column of another type than the tuple's, which the tables' checks do
/// not allow, is a corrupt `table`. sqlx hands each row over from SQLite's own thread as a
/// message, which for a small row costs more than reading it: a read of hundreds of rows
/// inside a write (the bed board's events, a census's bills) takes them as one.
pub async fn json_rows<T: DeserializeOwned>(
    conn: &mut sqlx::SqliteConnection,
    sql: &str,
    table: &str,
    binds: &[Option<&str>],
) -> Result<Vec<T>> {
    let mut q = sqlx::query_scalar(sql);
    for b in binds {
        q = q.bind(*b);
    }
    let json: String = q.fetch_one(conn).await?;
    serde_json::from_str(&json).map_err(|e| Error::corrupt(table, "*", "row", e))
}
