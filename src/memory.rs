//! Allocator tuning for the long-running server on glibc.
//!
//! glibc's malloc gives each thread that allocates its own arena (up to eight per core), and
//! memory freed in an arena stays mapped until the arena's top is free. Start-up reads every
//! chunk row of the index once (text, vectors, postings) on the runtime's and the analysis
//! pool's threads, so a server holding 30k chunks kept tens of MB of freed pages resident.
//! Two calls fix that without a different allocator (jemalloc and mimalloc are C builds):
//! [`limit_arenas`] caps the arenas at two before any thread starts, and [`release_free`]
//! hands freed pages back to the kernel once loading is done. Both are no-ops elsewhere.

/// Caps glibc's malloc arenas; call before the runtime starts its threads.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Returns freed heap pages to the operating system (after start-up's bulk loading).
pub fn release_free() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim walks the allocator's own free lists; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}
