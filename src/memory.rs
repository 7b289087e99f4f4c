//! The process allocator, and returning start-up's scratch memory to the kernel.
//!
//! Rust's heap is mimalloc (as in Meilisearch), not glibc's malloc. A search or a chat turn
//! allocates and frees thousands of small buffers across the runtime's, the embedder's and the
//! scan's threads; glibc serves them from a few locked arenas (capped at two, or a server
//! holding 30k chunks kept tens of MB of freed pages resident), and on this 2-core host the
//! swap raised cold searches at concurrency 16 from 740-810 to 910-1,020 req/s and warm ones
//! from 3,700-3,870 to 4,580-5,000 req/s (interleaved runs). mimalloc is one C file built by `cc`; nothing is
//! downloaded. It is set here, in the library, so the benchmarks and tests measure the
//! allocator the server runs with.
//!
//! mimalloc 3 keeps freed pages for a second before returning them to the kernel, and only a
//! thread that allocates purges: start-up's scratch (the f32 weights repacked to bf16, every
//! chunk row read once) then stayed resident on idle threads. [`configure`] sets mimalloc 2's
//! 10 ms instead, and [`release_free`] purges once loading is done. SQLite allocates through
//! glibc's malloc, which is capped and trimmed at the same points.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its index in `mi_option_e` of mimalloc 3.3's
/// `mimalloc.h`; the Rust bindings name only the options common to versions 2 and 3).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
/// Milliseconds a freed page waits before it is returned to the kernel: mimalloc 2's default.
/// Version 3's 1,000 ms left a server holding 30k chunks at 245-255 MB when ready and after
/// cold searches at concurrency 16, against 173 and 213 MB with 10 ms, for no measurable gain
/// in throughput.
const PURGE_DELAY_MS: std::ffi::c_long = 10;

/// Tunes both allocators for the long-running server; call before the runtime starts its
/// threads. `MIMALLOC_PURGE_DELAY` in the environment still wins.
pub fn configure() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one of mimalloc's own option values; any thread may call it.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
    }
    // SQLite's page caches and statements still use glibc's malloc: two arenas are plenty.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Returns the calling thread's freed heap pages to the operating system (after bulk loading).
pub fn release_free() {
    // SAFETY: mi_collect only walks the allocator's own structures; it is thread-safe.
    unsafe { libmimalloc_sys::mi_collect(true) };
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim walks glibc's own free lists; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}
