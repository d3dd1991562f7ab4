//! SQLite allocates through mimalloc (`hms_core::allocator`) when routed before its first use,
//! as the binaries do first thing. Its own process: nothing here used SQLite before.

use hms_core::allocator::route_sqlite;
use hms_core::Store;

#[tokio::test]
async fn sqlite_allocates_through_mimalloc_when_routed_before_its_first_use() {
    assert!(route_sqlite(), "nothing used SQLite before this test");
    assert!(route_sqlite(), "asked again, the same answer");

    // SQLite's own allocations come from mimalloc's heap, with their real sizes.
    // SAFETY: sqlite3_malloc/msize/realloc/free on SQLite's own allocation, freed once.
    unsafe {
        let p = libsqlite3_sys::sqlite3_malloc(1000);
        assert!(!p.is_null());
        assert!(libmimalloc_sys::mi_is_in_heap_region(p));
        assert!(libsqlite3_sys::sqlite3_msize(p) >= 1000);
        let q = libsqlite3_sys::sqlite3_realloc(p, 100_000);
        assert!(!q.is_null() && libmimalloc_sys::mi_is_in_heap_region(q));
        assert!(libsqlite3_sys::sqlite3_msize(q) >= 100_000);
        libsqlite3_sys::sqlite3_free(q);
    }

    // And a store works on it: opened (migrated), written, read, its memory accounted for.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in_dir(dir.path()).await.unwrap();
    let n: i64 = sqlx::query_scalar(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
         SELECT count(DISTINCT printf('%08d', i)) FROM n",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(n, 20_000);
    // SAFETY: a plain read of SQLite's counters.
    let used = unsafe { libsqlite3_sys::sqlite3_memory_used() };
    assert!(used > 0);
    store.close().await;
}
