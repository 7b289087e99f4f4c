//! What AMX costs on this CPU: one tile product, one tile load and one tile store, and the
//! 2 × 2 step the embedder's kernels repeat (`embed::amx`: two row tiles and two weight tiles
//! loaded, four products), once with its tiles in L1 and once with the weight tiles streamed
//! from a buffer as large as a model's weights. `make bench` prints them beside the embedder's
//! throughput, because they bound it.
//!
//! Why it exists: the dense layers run at ~1 TFLOP/s in a pass of questions, a third of what
//! the products alone reach, and the cause is not visible from Rust. Measured here (2-core
//! Sapphire Rapids VM): a product 5.3 ns, a load 2.5 ns, the step from L1 6.9 ns a product
//! (2.4 TFLOP/s, see below), but the step streaming 21 MB of weight tiles 18–31 ns a
//! product, about the rate at which one core reads that much from L3 (~23 GB/s). A pass of questions reads every
//! weight once per 32 rows, so the first block of rows of every layer pays the stream and the
//! rest find the weights in L2; software prefetching, other loop orders and huge pages did not
//! change the in-pass figure. A side finding of the same loops: a tile whose rows are not
//! 64-byte aligned loads 5–6 times slower (each row then spans two cache lines), which is why
//! the embedder places its weight tiles and input rows on cache-line boundaries.
//!
//! The operands are bf16 values with scattered mantissas, as a model's are. On zeros (the
//! probe's first version) the step from L1 ran at 5.5 ns a product (3.0 TFLOP/s); on such
//! values it takes 6.9 ns (2.4 TFLOP/s), the honest ceiling. The embedder's own loop over a
//! layer whose operands all sit in L1 reaches 1.3–1.5 TFLOP/s, and 1.0–1.2 in a pass of 16
//! questions (224 rows); issuing each step's loads between the previous step's products
//! instead of before them took the in-L1 loop ~10% closer on some shapes and a pass of
//! questions none, so the kernels keep the plain order.
//!
//! Each figure is the median of several timed loops.

use std::arch::asm;
use std::time::Instant;

use super::{LINE, Line, ZERO_LINE};

/// Nanoseconds per instruction (or per product, for the step) on this CPU.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TileCosts {
    /// One `tdpbf16ps` with its operands already in tiles (four independent accumulators).
    pub product_ns: f64,
    /// One 1 KB `tileloadd` from L1.
    pub load_ns: f64,
    /// One 1 KB `tilestored` to L1.
    pub store_ns: f64,
    /// One product of the embedder's 2 × 2 step, its four loads included, tiles in L1.
    pub step_product_ns: f64,
    /// The same with the weight tiles streamed from a buffer of the size passed to
    /// [`measure`] (none when it was 0).
    pub streamed_product_ns: Option<f64>,
}

/// FLOPs of one bf16 tile product (16 × 16 outputs × 32 products, 2 FLOP each).
pub const FLOP_PER_PRODUCT: f64 = 16.0 * 16.0 * 32.0 * 2.0;

impl TileCosts {
    /// GFLOP/s of tile products that never wait for a load.
    pub fn product_gflops(&self) -> f64 {
        FLOP_PER_PRODUCT / self.product_ns
    }

    /// GFLOP/s of the 2 × 2 step from L1: the ceiling of the embedder's dense layers here.
    pub fn step_gflops(&self) -> f64 {
        FLOP_PER_PRODUCT / self.step_product_ns
    }

    /// GFLOP/s of the 2 × 2 step while the weights stream from memory.
    pub fn streamed_gflops(&self) -> Option<f64> {
        self.streamed_product_ns.map(|ns| FLOP_PER_PRODUCT / ns)
    }
}

/// Weight bytes one step reads (two 1 KB tiles).
const WEIGHT_STEP: usize = 2048;

/// Iterations of each timed loop.
const ITERATIONS: usize = 200_000;
/// Timed runs per figure; the median is kept.
const RUNS: usize = 5;

/// Times the tile instructions on this CPU, streaming `weight_bytes` of weight tiles for the
/// last figure (0 skips it); `None` without AMX (or without the kernel's permission to use
/// it).
pub fn measure(weight_bytes: usize) -> Option<TileCosts> {
    if !super::available() {
        return None;
    }
    // Whole cache lines, as the kernels' operands are (`super::Line`), of bf16 values like a
    // model's: the products run slower on them than on zeros.
    let mut buffer = operands(4096);
    let a = buffer.as_mut_ptr().cast::<u8>();
    let mut weights = operands(weight_bytes.next_multiple_of(WEIGHT_STEP));
    let pairs = weights.len() * LINE / WEIGHT_STEP;
    let b = weights.as_mut_ptr().cast::<u8>();
    // SAFETY: AMX is available; `configure` loads the crate's tile configuration on this
    // thread and `release` drops it. The loads read inside `buffer` (four 1 KB tiles at a
    // 64-byte stride) or `weights` (`pairs` × 2 KB); the one store writes the first 1 KB of
    // `buffer`, which nothing reads meanwhile. The products only touch tiles.
    unsafe {
        super::configure();
        // The products' operands and accumulators, loaded once from the bf16 values.
        loads(a, 1);
        let product = median(|| products(ITERATIONS)) / (4 * ITERATIONS) as f64;
        let load = median(|| loads(a, ITERATIONS)) / (4 * ITERATIONS) as f64;
        let store = median(|| stores(a, ITERATIONS)) / ITERATIONS as f64;
        let step = median(|| steps(a, ITERATIONS)) / (4 * ITERATIONS) as f64;
        let streamed = (pairs > 0).then(|| median(|| streamed(a, b, pairs)) / (4 * pairs) as f64);
        super::release();
        Some(TileCosts {
            product_ns: product,
            load_ns: load,
            store_ns: store,
            step_product_ns: step,
            streamed_product_ns: streamed,
        })
    }
}

/// `bytes` of bf16 values in [-1, -0.5] ∪ [0.5, 1] with scattered mantissas (a fixed
/// linear congruential sequence), in whole lines.
fn operands(bytes: usize) -> Vec<Line> {
    let mut lines = vec![ZERO_LINE; bytes / LINE];
    let mut state = 0x2545_f491_u32;
    for value in super::halves_mut(&mut lines) {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        // Sign, exponent 126 (0.5 ≤ |x| < 1), seven random mantissa bits.
        *value = ((state >> 31) << 15) as u16 | (126 << 7) | ((state >> 16) & 0x7f) as u16;
    }
    lines
}

/// Median wall time of `run`, in nanoseconds, over [`RUNS`] runs after a warm-up.
fn median(run: impl Fn()) -> f64 {
    run();
    let mut times: Vec<f64> = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed().as_secs_f64() * 1e9
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[RUNS / 2]
}

/// Four loads into the four operand tiles from the 4 KB at `{a}` (rows `{s}` bytes apart).
macro_rules! four_loads {
    () => {
        "tileloadd tmm4, [{a} + {s}*1]\n tileloadd tmm5, [{a} + {s}*1 + 1024]\n \
         tileloadd tmm6, [{a} + {s}*1 + 2048]\n tileloadd tmm7, [{a} + {s}*1 + 3072]"
    };
}

/// The four products of a 2 × 2 step: accumulators 0–3, row tiles 4–5, weight tiles 6–7.
macro_rules! four_products {
    () => {
        "tdpbf16ps tmm0, tmm4, tmm6\n tdpbf16ps tmm1, tmm4, tmm7\n \
         tdpbf16ps tmm2, tmm5, tmm6\n tdpbf16ps tmm3, tmm5, tmm7"
    };
}

/// `n` rounds of four independent products.
unsafe fn products(n: usize) {
    // SAFETY: tile configuration loaded by the caller; only tile registers are touched.
    unsafe { asm!("2:", four_products!(), "dec {n}", "jnz 2b", n = inout(reg) n => _, options(nostack, nomem)) };
}

/// `n` rounds of four loads into four different tiles.
unsafe fn loads(a: *mut u8, n: usize) {
    // SAFETY: tile configuration loaded; `a` points at 4 KB readable bytes.
    unsafe {
        asm!("2:", four_loads!(), "dec {n}", "jnz 2b",
            a = in(reg) a, s = in(reg) 64usize, n = inout(reg) n => _, options(nostack, readonly))
    };
}

/// `n` stores of one tile.
unsafe fn stores(a: *mut u8, n: usize) {
    // SAFETY: tile configuration loaded; `a` points at 1 KB writable bytes.
    unsafe {
        asm!("2:", "tilestored [{a} + {s}*1], tmm0", "dec {n}", "jnz 2b",
            a = in(reg) a, s = in(reg) 64usize, n = inout(reg) n => _, options(nostack))
    };
}

/// `n` steps of the embedder's 2 × 2 kernel: two row tiles and two weight tiles loaded, four
/// products (the loop body of `embed::amx::kernel_2x2`).
unsafe fn steps(a: *mut u8, n: usize) {
    // SAFETY: tile configuration loaded; `a` points at 4 KB readable bytes.
    unsafe {
        asm!("2:", four_loads!(), four_products!(), "dec {n}", "jnz 2b",
            a = in(reg) a, s = in(reg) 64usize, n = inout(reg) n => _, options(nostack, readonly))
    };
}

/// `pairs` steps of the 2 × 2 kernel whose weight tiles walk through `weights` (2 KB a step)
/// while the row tiles stay in L1: the first row block of every layer in a pass.
unsafe fn streamed(a: *mut u8, weights: *mut u8, pairs: usize) {
    // SAFETY: tile configuration loaded; `a` points at 2 KB and `weights` at `pairs` × 2 KB
    // readable bytes.
    unsafe {
        asm!(
            "2:",
            "tileloadd tmm4, [{a} + {s}*1]",
            "tileloadd tmm5, [{a} + {s}*1 + 1024]",
            "tileloadd tmm6, [{b} + {s}*1]",
            "tileloadd tmm7, [{b} + {s}*1 + 1024]",
            four_products!(),
            "add {b}, 2048",
            "dec {n}",
            "jnz 2b",
            a = in(reg) a,
            b = inout(reg) weights => _,
            s = in(reg) 64usize,
            n = inout(reg) pairs => _,
            options(nostack, readonly),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_runs_every_tile_instruction_or_reports_no_amx() {
        // Runs the instructions (a bad tile configuration or operand would fault); it compares
        // no timings, which this shared host cannot promise.
        match measure(1 << 20) {
            Some(costs) => {
                let streamed = costs.streamed_product_ns.expect("a streamed figure for 1 MB");
                for ns in [costs.product_ns, costs.load_ns, costs.store_ns, costs.step_product_ns, streamed] {
                    assert!(ns.is_finite() && ns > 0.0, "{costs:?}");
                }
            }
            None => assert!(!crate::amx::available()),
        }
        if let Some(costs) = measure(0) {
            assert_eq!(costs.streamed_product_ns, None, "nothing streamed when asked for 0 bytes");
        }
    }
}
