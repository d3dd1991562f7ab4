//! Cold caches for a latency sample, at two depths:
//!
//! - [`Depth::Process`]: nothing of the database in the process: every connection's page cache
//!   is emptied and its memory map of the file dropped, so every page the timed read needs is
//!   fetched from the operating system again (as after the app's other work pushed it out).
//!   The OS file cache is warm: [`warm_files`] reads the files in before such samples, so
//!   that what the machine happened to keep in memory does not decide the figure.
//! - [`Depth::Disk`]: the database's pages are also dropped from the OS file cache (Linux), so
//!   every page, the B-trees' inner pages too, comes from the disk, as for the first look after
//!   the machine started.
//!
//! Without this, a sample finds whatever earlier samples and the data generation left in
//! memory, and the figure depends on what the machine spares.

use hms_core::Store;
use sqlx::pool::PoolConnection;
use sqlx::Sqlite;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    Process,
    Disk,
}

/// Empties every connection's page cache and, at [`Depth::Disk`], drops the database's files
/// from the OS cache.
pub async fn drop_caches(store: &Store, depth: Depth) -> Result<(), String> {
    let err = |e: sqlx::Error| format!("bench: dropping caches: {e}");
    // All the connections of both pools (readers and the writer) at once, so that none keeps
    // its cache: each unmaps the file and frees its page cache.
    let mut conns: Vec<PoolConnection<Sqlite>> = Vec::new();
    for pool in store.pools() {
        for _ in 0..pool.options().get_max_connections() {
            conns.push(pool.acquire().await.map_err(err)?);
        }
    }
    let mut mmap = Vec::with_capacity(conns.len());
    for c in &mut conns {
        let size: i64 = sqlx::query_scalar("PRAGMA mmap_size").fetch_one(&mut **c).await.map_err(err)?;
        sqlx::query("PRAGMA mmap_size = 0").execute(&mut **c).await.map_err(err)?;
        sqlx::query("PRAGMA shrink_memory").execute(&mut **c).await.map_err(err)?;
        mmap.push(size);
    }
    if depth == Depth::Disk {
        // While no connection maps the file: mapped pages are not dropped.
        evict_files(store.path())?;
    }
    // The map again, as the store opened it: mapping reads nothing until a page is used.
    for (c, size) in conns.iter_mut().zip(mmap) {
        sqlx::query(&format!("PRAGMA mmap_size = {size}")).execute(&mut **c).await.map_err(err)?;
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn evict_files(db: &std::path::Path) -> Result<(), String> {
    use std::os::fd::AsRawFd;
    for suffix in ["", "-wal"] {
        let path = format!("{}{suffix}", db.display());
        let Ok(file) = std::fs::File::open(&path) else { continue };
        // Written pages are dropped only once they are on disk.
        file.sync_data().map_err(|e| format!("bench: {path}: {e}"))?;
        // SAFETY: a plain system call on a file descriptor that `file` keeps open.
        let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        if rc != 0 {
            return Err(format!("bench: {path}: posix_fadvise failed ({rc})"));
        }
    }
    Ok(())
}

/// Reads the database's files (the database and its WAL) once from start to end, so that the
/// operating system holds all of their pages (as on a machine the app has been running on):
/// a [`Depth::Process`] sample then fetches its pages from memory, whatever earlier steps
/// (other areas, a previous run's disk-cold samples, other programs) left in the OS cache.
pub fn warm_files(db: &std::path::Path) -> Result<u64, String> {
    use std::io::Read;
    let mut total = 0;
    let mut buf = vec![0u8; 1 << 20];
    for suffix in ["", "-wal"] {
        let path = format!("{}{suffix}", db.display());
        let Ok(mut file) = std::fs::File::open(&path) else { continue };
        loop {
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => total += n as u64,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("bench: reading {path}: {e}")),
            }
        }
    }
    Ok(total)
}

/// Elsewhere only SQLite's caches are emptied.
#[cfg(not(target_os = "linux"))]
fn evict_files(_db: &std::path::Path) -> Result<(), String> {
    Ok(())
}
