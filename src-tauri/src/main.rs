// Prevents an extra console window on Windows in release.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

/// mimalloc, as SQLite's allocator (`hms_core::allocator`).
#[global_allocator]
static ALLOCATOR: hms_core::allocator::Allocator = hms_core::allocator::Allocator;

fn main() {
    hms_core::allocator::route_sqlite();
    hms_app::run();
}
