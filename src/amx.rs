//! Intel AMX (Advanced Matrix Extensions) availability and the pieces both of its users share:
//! the embedder's bf16 dense layers (`embed::amx`) and the index's batch dense scan
//! (`index::embedded::scan_amx`).
//!
//! Linux hands out the 8 KiB tile state only on request (`arch_prctl(ARCH_REQ_XCOMP_PERM)`,
//! once per process), so [`available`] asks for it before reporting the feature usable. Each
//! thread that computes on tiles loads the one tile configuration ([`configure`]: palette 1,
//! all eight tiles 16 rows × 64 bytes) and releases it when done ([`release`]).
//! Operands live in whole cache lines ([`Line`]) so no tile row straddles two of them.

use std::arch::asm;
use std::sync::OnceLock;

pub mod probe;

/// Whether this CPU and kernel let the process use AMX-BF16 tiles (checked once).
pub(crate) fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(detect)
}

/// Whether the CPU reports AMX-TILE and AMX-BF16 (CPUID leaf 7, EDX bits 24 and 22).
pub(crate) fn cpu_has_amx() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        let leaf7 = std::arch::x86_64::__cpuid_count(7, 0);
        leaf7.edx & (1 << 22) != 0 && leaf7.edx & (1 << 24) != 0
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Whether the CPU also reports AMX-INT8 (CPUID leaf 7, EDX bit 25), which the index's scan
/// uses; [`available`] covers the tile state. Read once: the scan asks on every pass, and
/// under a hypervisor each `cpuid` is a trap to it.
pub(crate) fn cpu_has_amx_int8() -> bool {
    static INT8: OnceLock<bool> = OnceLock::new();
    *INT8.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            cpu_has_amx() && std::arch::x86_64::__cpuid_count(7, 0).edx & (1 << 25) != 0
        }
        #[cfg(not(target_arch = "x86_64"))]
        false
    })
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn detect() -> bool {
    const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
    const XFEATURE_XTILEDATA: libc::c_long = 18;
    if !cpu_has_amx() {
        return false;
    }
    // SAFETY: a plain system call with integer arguments; it only changes this process's
    // permission to use the tile state.
    let granted = unsafe { libc::syscall(libc::SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) } == 0;
    if !granted {
        tracing::warn!("the CPU has AMX but the kernel refused the tile state; using f32 arithmetic");
    }
    granted
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
fn detect() -> bool {
    false
}

/// f32 → bf16 bits, rounding to nearest even.
#[inline(always)]
pub(crate) fn to_bf16(x: f32) -> u16 {
    let b = x.to_bits();
    (b.wrapping_add(0x7fff + ((b >> 16) & 1)) >> 16) as u16
}

/// bf16 bits → f32 (exact).
#[cfg(test)]
pub(crate) fn from_bf16(b: u16) -> f32 {
    f32::from_bits(u32::from(b) << 16)
}

/// Tile configuration: palette 1, all eight tiles 16 rows × 64 bytes.
#[repr(C, align(64))]
struct Config {
    palette: u8,
    start_row: u8,
    reserved: [u8; 14],
    colsb: [u16; 16],
    rows: [u8; 16],
}

const CONFIG: Config = Config {
    palette: 1,
    start_row: 0,
    reserved: [0; 14],
    colsb: [64, 64, 64, 64, 64, 64, 64, 64, 0, 0, 0, 0, 0, 0, 0, 0],
    rows: [16, 16, 16, 16, 16, 16, 16, 16, 0, 0, 0, 0, 0, 0, 0, 0],
};

/// Loads the tile configuration on this thread: every tile 16 rows × 64 bytes.
///
/// # Safety
/// [`available`] must have returned true.
#[inline]
pub(crate) unsafe fn configure() {
    // SAFETY: the caller checked that AMX is usable; CONFIG is a valid palette-1 config.
    unsafe { asm!("ldtilecfg [{0}]", in(reg) &CONFIG, options(nostack, readonly)) };
}

/// Releases the tile state this thread configured.
///
/// # Safety
/// [`configure`] must have run on this thread.
#[inline]
pub(crate) unsafe fn release() {
    // SAFETY: per the contract above.
    unsafe { asm!("tilerelease", options(nostack, nomem)) };
}

/// Bytes of a [`Line`].
pub(crate) const LINE: usize = 64;

/// 64 bytes on a cache line of their own. Memory built of whole lines puts every tile row
/// loaded from it on a line boundary: a tile row that straddles two lines loads 5–6 times
/// slower ([`probe`]), and a `Vec<i8>` is promised only byte alignment.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
pub(crate) struct Line(pub [i8; LINE]);

/// A zeroed line.
pub(crate) const ZERO_LINE: Line = Line([0; LINE]);

/// The values of `lines`, in order.
pub(crate) fn bytes(lines: &[Line]) -> &[i8] {
    // SAFETY: `Line` is `repr(C)` over `[i8; 64]` with size 64 (no padding), so the lines are
    // `64 × len` initialised, contiguous `i8`s borrowed for the same lifetime.
    unsafe { std::slice::from_raw_parts(lines.as_ptr().cast::<i8>(), lines.len() * LINE) }
}

/// The values of `lines`, in order, writable.
pub(crate) fn bytes_mut(lines: &mut [Line]) -> &mut [i8] {
    // SAFETY: as in `bytes`, with the unique borrow passed on.
    unsafe { std::slice::from_raw_parts_mut(lines.as_mut_ptr().cast::<i8>(), lines.len() * LINE) }
}

/// `u16`s (bf16 values) of a [`Line`].
pub(crate) const LINE_HALVES: usize = LINE / 2;

/// The bf16 values of `lines`, in order.
pub(crate) fn halves(lines: &[Line]) -> &[u16] {
    // SAFETY: 64 initialised bytes a line, contiguous, are 32 `u16`s (alignment 64 ≥ 2).
    unsafe { std::slice::from_raw_parts(lines.as_ptr().cast::<u16>(), lines.len() * LINE_HALVES) }
}

/// The bf16 values of `lines`, in order, writable.
pub(crate) fn halves_mut(lines: &mut [Line]) -> &mut [u16] {
    // SAFETY: as in `halves`, with the unique borrow passed on.
    unsafe { std::slice::from_raw_parts_mut(lines.as_mut_ptr().cast::<u16>(), lines.len() * LINE_HALVES) }
}

/// Uninitialised lines as room for bf16 values (as [`halves_mut`], before they are written).
pub(crate) fn halves_uninit(lines: &mut [std::mem::MaybeUninit<Line>]) -> &mut [std::mem::MaybeUninit<u16>] {
    // SAFETY: `MaybeUninit<Line>` has `Line`'s size and alignment, so the same bytes are
    // `32 × len` possibly uninitialised `u16`s; the unique borrow is passed on.
    unsafe { std::slice::from_raw_parts_mut(lines.as_mut_ptr().cast(), lines.len() * LINE_HALVES) }
}
