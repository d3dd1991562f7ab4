//! Statements run straight on the writer's SQLite handle, for the rows of a bulk load.
//!
//! Through sqlx every bound value is copied twice (into an owned argument sent to SQLite's
//! thread, then again by SQLite), and a batch needs multi-row statements of thousands of
//! placeholders, which SQLite runs through a temporary table and FTS5 flushes its pending
//! entries for. Here one prepared single-row statement is bound to the caller's values
//! without copying them and run once per row, in the caller's open transaction.
//!
//! sqlx is pinned (`=0.8.6`), and so is the `libsqlite3-sys` it builds on: the handle lent
//! by `lock_handle` is that crate's `sqlite3`.

use crate::error::{Error, Result};
use libsqlite3_sys as ffi;
use sqlx::SqliteConnection;
use std::ffi::CStr;
use std::marker::PhantomData;
use std::os::raw::{c_char, c_int};
use std::ptr::NonNull;

/// A value bound to a statement's parameter.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Int(i64),
    Text(&'a str),
    Null,
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Self {
        Arg::Text(s)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(s: &'a String) -> Self {
        Arg::Text(s)
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(s: Option<&'a str>) -> Self {
        s.map_or(Arg::Null, Arg::Text)
    }
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}

/// The connection while it is lent to [`run`]'s closure.
pub struct Handle<'h> {
    db: NonNull<ffi::sqlite3>,
    _lent: PhantomData<&'h mut SqliteConnection>,
}

/// Runs `f` on the connection's own SQLite handle (in its open transaction, if any). sqlx's
/// thread makes no call on the handle meanwhile. On the multi-threaded runtime the current
/// worker hands its other tasks over first (`block_in_place`), as a blocking call should.
pub async fn run<T>(conn: &mut SqliteConnection, f: impl FnOnce(&Handle<'_>) -> Result<T>) -> Result<T> {
    let mut locked = conn.lock_handle().await?;
    let handle = Handle { db: locked.as_raw_handle(), _lent: PhantomData };
    let multi_threaded = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_threaded {
        tokio::task::block_in_place(|| f(&handle))
    } else {
        f(&handle)
    }
}

impl Handle<'_> {
    /// Prepares one statement; `what` names the table it writes, for a full disk's error.
    pub fn prepare(&self, sql: &str, what: &'static str) -> Result<Statement<'_>> {
        let len = c_int::try_from(sql.len()).map_err(|_| Error::internal("statement too long"))?;
        let mut stmt = std::ptr::null_mut();
        // SAFETY: the handle is open and lent to us alone (`run`); SQLite reads `len` bytes of
        // `sql` and writes the new statement (or null) to `stmt`.
        let rc = unsafe {
            ffi::sqlite3_prepare_v2(
                self.db.as_ptr(),
                sql.as_ptr().cast::<c_char>(),
                len,
                &mut stmt,
                std::ptr::null_mut(),
            )
        };
        if rc != ffi::SQLITE_OK {
            return Err(failure(self.db, rc, what));
        }
        let stmt = NonNull::new(stmt).ok_or_else(|| Error::internal("an empty statement"))?;
        Ok(Statement { stmt, db: self.db, what, _handle: PhantomData })
    }
}

/// A prepared statement, finalized when dropped.
pub struct Statement<'h> {
    stmt: NonNull<ffi::sqlite3_stmt>,
    db: NonNull<ffi::sqlite3>,
    what: &'static str,
    _handle: PhantomData<&'h Handle<'h>>,
}

impl Statement<'_> {
    /// Binds `args` to the parameters in order and runs the statement to its end (a statement
    /// that answers rows is refused). No binding outlives the call: the values are only
    /// borrowed.
    pub fn execute(&mut self, args: &[Arg<'_>]) -> Result<()> {
        let stmt = self.stmt.as_ptr();
        // SAFETY: `stmt` is a live statement of the lent handle. Text is bound with
        // SQLITE_STATIC (SQLite reads it in place, no copy): it stays borrowed until this call
        // returns, and the bindings are cleared before that, so SQLite keeps no pointer to it.
        unsafe {
            let mut rc = if ffi::sqlite3_bind_parameter_count(stmt) as usize == args.len() {
                ffi::SQLITE_OK
            } else {
                ffi::SQLITE_RANGE
            };
            for (i, arg) in args.iter().enumerate() {
                if rc != ffi::SQLITE_OK {
                    break;
                }
                let at = i as c_int + 1;
                rc = match *arg {
                    Arg::Int(v) => ffi::sqlite3_bind_int64(stmt, at, v),
                    Arg::Null => ffi::sqlite3_bind_null(stmt, at),
                    Arg::Text(s) => ffi::sqlite3_bind_text64(
                        stmt,
                        at,
                        s.as_ptr().cast::<c_char>(),
                        s.len() as u64,
                        ffi::SQLITE_STATIC(),
                        ffi::SQLITE_UTF8 as u8,
                    ),
                };
            }
            let result = if rc != ffi::SQLITE_OK {
                Err(failure(self.db, rc, self.what))
            } else {
                match ffi::sqlite3_step(stmt) {
                    ffi::SQLITE_DONE => Ok(()),
                    ffi::SQLITE_ROW => Err(Error::internal("a statement of a bulk write answered rows")),
                    // The message of a failed step is read before the reset.
                    failed => Err(failure(self.db, failed, self.what)),
                }
            };
            ffi::sqlite3_reset(stmt);
            ffi::sqlite3_clear_bindings(stmt);
            result
        }
    }
}

impl Drop for Statement<'_> {
    fn drop(&mut self) {
        // SAFETY: the statement is live and finalized once, here.
        unsafe {
            ffi::sqlite3_finalize(self.stmt.as_ptr());
        }
    }
}

/// A failed call as the error sqlx would have given: a full disk is
/// [`Error::StorageFull`] naming `what`; anything else is logged and [`Error::Storage`].
fn failure(db: NonNull<ffi::sqlite3>, rc: c_int, what: &str) -> Error {
    // SAFETY: the handle is open; the message is copied before any other call on it.
    let message = unsafe {
        let text = ffi::sqlite3_errmsg(db.as_ptr());
        if text.is_null() {
            String::new()
        } else {
            CStr::from_ptr(text).to_string_lossy().into_owned()
        }
    };
    let detail = format!("{message} (SQLite code {rc}, writing {what})");
    if rc & 0xff == ffi::SQLITE_FULL {
        Error::storage_full(what, detail)
    } else {
        Error::storage(detail)
    }
}
