//! One allocator for the whole process: mimalloc.
//!
//! A pull spent about a fifth of its CPU time in glibc's malloc and free, much of it freeing on
//! one thread what SQLite's thread allocated (each row's values) and consolidating free lists.
//! The binaries (hms, hms-admin, hms-server) declare [`Allocator`] as their global allocator,
//! and [`route_sqlite`] (called before the first database opens) gives SQLite the same one:
//! SQLite allocates through its own `sqlite3_mem_methods`, not Rust's allocator.

use libsqlite3_sys as ffi;
use std::os::raw::{c_int, c_void};
use std::sync::OnceLock;

/// The binaries' global allocator: `#[global_allocator] static A: Allocator = Allocator;`.
pub use mimalloc::MiMalloc as Allocator;

/// Makes SQLite allocate through mimalloc. Only possible before SQLite is first used in the
/// process (`SQLITE_CONFIG_MALLOC`); afterwards it changes nothing, and SQLite keeps the C
/// library's malloc. Answers whether SQLite allocates through mimalloc.
pub fn route_sqlite() -> bool {
    static ROUTED: OnceLock<bool> = OnceLock::new();
    *ROUTED.get_or_init(|| {
        // OpenSSL (SQLCipher's crypto) initialised without its exit handler, as openssl-sys
        // does it: otherwise OpenSSL frees its state at process exit while a connection's
        // thread may still be using it ("double free or corruption" seen once at a test
        // binary's exit). Before SQLCipher's first use, which would register the handler.
        openssl_sys::init();
        keep_freed_memory();
        let methods = ffi::sqlite3_mem_methods {
            xMalloc: Some(sqlite_malloc),
            xFree: Some(sqlite_free),
            xRealloc: Some(sqlite_realloc),
            xSize: Some(sqlite_size),
            xRoundup: Some(sqlite_roundup),
            xInit: Some(sqlite_init),
            xShutdown: Some(sqlite_shutdown),
            pAppData: std::ptr::null_mut(),
        };
        // SAFETY: SQLite copies the methods (the struct may go after the call); the functions
        // are mimalloc's, which is thread-safe, and keep SQLite's contract (below). Called
        // once; SQLite refuses it (SQLITE_MISUSE) once it is initialised.
        let rc = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &methods as *const ffi::sqlite3_mem_methods) };
        rc == ffi::SQLITE_OK
    })
}

/// How long (ms) memory freed stays with the process before mimalloc gives it back to the
/// system (its `purge_delay`; mimalloc's default is 10 ms).
///
/// With the default, a bulk load (generator, CSV import, a pull) gave back what each batch
/// freed within milliseconds and took it again for the next batch: the system hands memory
/// back zeroed, in 2 MiB transparent huge pages, and zeroing them was 16% of a 200,000-patient
/// generation's CPU time (a quarter of the writing thread's). Two seconds outlast a batch; an
/// idle app still returns a peak's memory soon after (arenas purge at 10 times this delay).
pub const PURGE_DELAY_MS: i64 = 2_000;

/// mimalloc's `mi_option_purge_delay` (its v2 `mimalloc.h`, `mi_option_e`: the 16th option;
/// libmimalloc-sys names no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets [`PURGE_DELAY_MS`], unless the environment chose one (`MIMALLOC_PURGE_DELAY`).
fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one of mimalloc's options; it reads them at every purge, any thread.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS as _) };
    }
}

/// The purge delay mimalloc runs with (ms).
// A C `long`: 64 bits here, 32 on Windows.
#[allow(clippy::useless_conversion)]
pub fn purge_delay_ms() -> i64 {
    // SAFETY: reads one of mimalloc's options.
    i64::from(unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) })
}

// SQLite's contract (sqlite3_mem_methods): xMalloc of a size > 0 answers memory aligned to 8
// bytes or null; xFree takes what xMalloc/xRealloc answered, never null; xRealloc of a size
// > 0 keeps the contents; xSize answers the usable size of an allocation; xRoundup the size
// xMalloc would really give.

unsafe extern "C" fn sqlite_malloc(n: c_int) -> *mut c_void {
    match usize::try_from(n) {
        // SAFETY: mi_malloc has no preconditions; its memory is aligned to at least 8.
        Ok(n) if n > 0 => unsafe { libmimalloc_sys::mi_malloc(n) },
        _ => std::ptr::null_mut(),
    }
}

unsafe extern "C" fn sqlite_free(p: *mut c_void) {
    // SAFETY: p came from sqlite_malloc or sqlite_realloc (mimalloc), or is null.
    unsafe { libmimalloc_sys::mi_free(p) }
}

unsafe extern "C" fn sqlite_realloc(p: *mut c_void, n: c_int) -> *mut c_void {
    match usize::try_from(n) {
        // SAFETY: p came from mimalloc (SQLite never reallocs to 0 or from null here).
        Ok(n) if n > 0 => unsafe { libmimalloc_sys::mi_realloc(p, n) },
        _ => std::ptr::null_mut(),
    }
}

unsafe extern "C" fn sqlite_size(p: *mut c_void) -> c_int {
    // SAFETY: p came from mimalloc, or is null (answers 0).
    let n = unsafe { libmimalloc_sys::mi_usable_size(p) };
    c_int::try_from(n).unwrap_or(c_int::MAX)
}

unsafe extern "C" fn sqlite_roundup(n: c_int) -> c_int {
    // mimalloc's smallest size classes are multiples of 8.
    n.checked_add(7).map_or(n, |m| m & !7)
}

unsafe extern "C" fn sqlite_init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn sqlite_shutdown(_: *mut c_void) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_memory_stays_for_the_purge_delay() {
        route_sqlite();
        let expected = match std::env::var("MIMALLOC_PURGE_DELAY") {
            Ok(v) => v.parse().unwrap(),
            Err(_) => PURGE_DELAY_MS,
        };
        assert_eq!(purge_delay_ms(), expected);
    }
}
