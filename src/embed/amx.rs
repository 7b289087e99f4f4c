//! bf16 matrix products on Intel AMX tiles, for the embedder's dense layers.
//!
//! On CPUs with AMX-BF16 (Sapphire Rapids and later) one `tdpbf16ps` multiplies a 16 × 32
//! bf16 tile by a 32 × 16 one into 16 × 16 f32 accumulators: measured here at 250–450
//! GFLOP/s on one core against ~74 for the f32 sgemm of `super::kernels`. The activations
//! are rounded to bf16 (8 mantissa bits) while every sum is accumulated in f32, the same
//! arithmetic as PyTorch's bf16 autocast; the embeddings stay above 0.999 cosine of the f32
//! reference (the fixture test holds them to it), so search results do not change.
//!
//! Hand-written because nothing else fits: Rust's AMX intrinsics are unstable, the `gemm`
//! and `matrixmultiply` crates have no AMX path, and oneDNN is a C++ build. The kernels are
//! stable inline assembly (`asm!`), a few lines each. Weights are packed once at load time
//! into the tile layout AMX reads (pairs of rows interleaved, "VNNI" order); each call rounds
//! its input rows to bf16 and runs 2 × 2 tile blocks (two row tiles by two column tiles,
//! eight tile registers in all) over the shared dimension, prefetching the weights it will
//! need next while it does.
//!
//! Availability, bf16 rounding and the tile configuration live in `crate::amx`, shared with
//! the index's batch scan.

use std::arch::asm;
use std::mem::MaybeUninit;
use std::ops::Range;

use rayon::prelude::*;

use super::kernels::multiversion;

/// Rows of a tile, and columns of an f32 output tile.
const TILE: usize = 16;
/// Shared-dimension elements (bf16) one tile step consumes.
const STEP: usize = 32;
/// Up to this many rows, [`gemm`] runs column block by column block over all of them, and
/// while one block's weights are multiplied by the rows it prefetches the next block's toward
/// L2 ([`Packed::ahead`]). Streaming a pass's 21 MB of weights from L3 (~28 GB/s on one core
/// here) then overlaps the arithmetic instead of preceding it: a pass of 8 questions on one
/// thread 3.76–3.90 → 3.37–3.41 ms, of 16 7.26 → 6.33 ms, interleaved. (Without the prefetch,
/// column blocks took a pass of 8 from 4.4–4.5 to 4.0–4.1 ms.) Ingestion batches keep the
/// row-block order; column blocks over their 128-row groups were ~12% slower.
const FEW_ROWS: usize = 256;
/// bf16 elements of one packed weight tile (16 row pairs × 16 columns × 2).
const TILE_ELEMS: usize = TILE * STEP;

use crate::amx::{LINE_HALVES, Line, ZERO_LINE, halves, halves_mut, halves_uninit, to_bf16};
#[cfg(test)]
use crate::amx::{available, cpu_has_amx, from_bf16};

/// A `k × n` weight matrix in bf16, laid out as AMX reads it: for every block of 16 columns,
/// its `k / 32` tiles one after another, each 16 rows of (16 columns × 2 consecutive k).
/// Kept in whole cache lines ([`Line`]), so every tile row starts on one.
pub(crate) struct Packed {
    data: Vec<Line>,
    k: usize,
    n: usize,
}

impl Packed {
    /// Packs the row-major `k × n` matrix `w`; `None` when a dimension does not fit whole
    /// tiles (k a multiple of 32, n of 32), which MiniLM's layers all do.
    pub(crate) fn new(w: &[f32], k: usize, n: usize) -> Option<Self> {
        if !k.is_multiple_of(STEP) || !n.is_multiple_of(2 * TILE) || w.len() != k * n {
            return None;
        }
        // Block by block of 16 columns, its k rows in pairs: tile after tile along k.
        let mut data = vec![ZERO_LINE; k * n / LINE_HALVES];
        let mut values = halves_mut(&mut data).iter_mut();
        for block in (0..n).step_by(TILE) {
            for pair in (0..k).step_by(2) {
                for col in block..block + TILE {
                    for row in [pair, pair + 1] {
                        *values.next().expect("k × n values") = to_bf16(w[row * n + col]);
                    }
                }
            }
        }
        Some(Self { data, k, n })
    }

    /// The first weight tile of 16-column block `block`.
    fn block(&self, block: usize) -> *const u16 {
        halves(&self.data)[block * (self.k / STEP) * TILE_ELEMS..].as_ptr()
    }

    /// Where the `nth` kernel call over the 32 columns from `col` prefetches: its share of the
    /// weights that follow those columns ([`PREFETCH_STEP`] bytes for each of its `k / 32`
    /// steps, so the first four calls cover the next 32 columns and later calls the ones
    /// after). Past `cols_end` or the weights' end it re-reads the call's own columns, which
    /// are in cache already.
    fn ahead(&self, col: usize, cols_end: usize, nth: usize) -> *const u8 {
        // Packed column blocks are contiguous, `k` bf16 values (2k bytes) per column.
        let (column_bytes, span) = (self.k * 2, self.k / STEP * PREFETCH_STEP);
        let (own, start) = (col * column_bytes, (col + 2 * TILE) * column_bytes + nth * span);
        let limit = cols_end.min(self.n) * column_bytes;
        let offset = if start + span <= limit { start } else { own };
        halves(&self.data).as_ptr().cast::<u8>().wrapping_add(offset)
    }
}

/// Elements one rayon task converts in [`Rows::new`] and [`Rows::gelu`].
const CONVERT_CHUNK: usize = 1 << 16;

/// Input rows rounded to bf16, padded with zero rows to a whole number of tiles, in whole
/// cache lines ([`Line`]: `k` is a multiple of 32, so every row starts on one).
pub(crate) struct Rows {
    data: Vec<Line>,
    rows: usize,
    k: usize,
}

impl Rows {
    /// Rounds the `rows × k` row-major `x`, in parallel on the current pool.
    pub(crate) fn new(x: &[f32], rows: usize, k: usize) -> Self {
        Self::converted(x, rows, k, round_slice)
    }

    /// `bf16(GELU(x))` of the `rows × k` row-major `x`, in parallel on the current pool: the
    /// FFN's activation and the rounding in one pass (the activation alone, in place, then
    /// the rounding, read and wrote an intermediate buffer of up to ~17 MB once more).
    pub(crate) fn gelu(x: &[f32], rows: usize, k: usize) -> Self {
        Self::converted(x, rows, k, super::kernels::gelu_bf16_slice)
    }

    /// `convert` (which writes `d[i]` from `x[i]`) over the `rows × k` row-major `x`.
    fn converted(x: &[f32], rows: usize, k: usize, convert: fn(&mut [MaybeUninit<u16>], &[f32])) -> Self {
        assert_eq!(x.len(), rows * k, "bf16 rows shape");
        assert!(k.is_multiple_of(LINE_HALVES), "bf16 rows are whole cache lines: k {k} is not a multiple of 32");
        let mut data = super::buffers::take_bf16();
        let lines = rows.next_multiple_of(TILE) * k / LINE_HALVES;
        // Every element is written once, straight into the spare capacity: the rows rounded
        // in parallel and the padding rows zeroed. (Zeroing a fresh, ingestion-sized buffer
        // first was a serial memset of all of it, ~4% of a batch.)
        data.clear();
        data.reserve(lines);
        let room = halves_uninit(&mut data.spare_capacity_mut()[..lines]);
        let (values, padding) = room.split_at_mut(x.len());
        padding.fill(MaybeUninit::new(0));
        values.par_chunks_mut(CONVERT_CHUNK).zip(x.par_chunks(CONVERT_CHUNK)).for_each(|(d, x)| convert(d, x));
        // SAFETY: the capacity holds `lines` lines, and the two writes above initialised every
        // byte of them.
        unsafe { data.set_len(lines) };
        Self { data, rows, k }
    }
}

/// `d[i] = to_bf16(x[i])`: by `vcvtne2ps2bf16` where the CPU has AVX512-BF16 (32 values an
/// instruction), else [`round`].
fn round_slice(d: &mut [MaybeUninit<u16>], x: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if super::kernels::x86::has_native_bf16() {
        // SAFETY: the CPU has both features, checked just above; `converted` passes chunks of
        // equal length.
        return unsafe { super::kernels::x86::round_bf16_native(d, x) };
    }
    round(d, x);
}

multiversion! {
    /// `d[i] = to_bf16(x[i])`, 16 values an instruction where the CPU has AVX-512 (the crate's
    /// baseline build would round four at a time).
    fn round(d: &mut [MaybeUninit<u16>], x: &[f32]) {
        for (d, &v) in d.iter_mut().zip(x) {
            d.write(to_bf16(v));
        }
    }
}

impl Drop for Rows {
    fn drop(&mut self) {
        super::buffers::keep_bf16(std::mem::take(&mut self.data));
    }
}

/// `out[r][c] = bias[c] + Σ_k a[r][k] · w[k][c]` for rows `row_range` of `a` and columns
/// `cols` of `w` (a multiple of 32 wide, starting at a multiple of 32); `out` is row-major
/// with `out_stride` elements per row.
///
/// # Safety
/// [`available`] must have returned true; `out` must cover `a.rows × out_stride` elements,
/// and the given rows × columns of it must be written by nobody else meanwhile.
pub(crate) unsafe fn gemm(
    a: &Rows,
    w: &Packed,
    bias: &[f32],
    row_range: Range<usize>,
    cols: Range<usize>,
    (out, out_stride): (*mut f32, usize),
) {
    assert!(a.k == w.k && cols.end <= w.n && bias.len() == w.n && row_range.end <= a.rows, "AMX operand shapes");
    assert!(row_range.start.is_multiple_of(TILE) && cols.start.is_multiple_of(2 * TILE));
    assert!((cols.end - cols.start).is_multiple_of(2 * TILE), "AMX column block width");
    // SAFETY: the caller checked that AMX is usable.
    unsafe { crate::amx::configure() };
    // Few rows (a pass of questions): each weight column block is read once and multiplied
    // by all of them while it is in L1, the rows staying in L2 and the next block arriving
    // in L2. Many rows (ingestion): one 32-row block at a time against every column, its rows
    // in L1 and the weights in L2.
    let group_rows = if row_range.end - row_range.start <= FEW_ROWS { FEW_ROWS } else { 2 * TILE };
    for group in (row_range.start..row_range.end).step_by(group_rows) {
        let group_end = (group + group_rows).min(row_range.end);
        for col in (cols.start..cols.end).step_by(2 * TILE) {
            let (mut row, mut nth) = (group, 0);
            while row < group_end {
                let tiles = if group_end - row > TILE { 2 } else { 1 };
                let ahead = w.ahead(col, cols.end, nth);
                // SAFETY: forwarded from the caller; `row` is inside `a` (padded to whole tiles).
                unsafe {
                    block(a, w, bias[col..].as_ptr(), (row, tiles, col), (out, out_stride), row_range.end, ahead)
                };
                (row, nth) = (row + tiles * TILE, nth + 1);
            }
        }
    }
    // SAFETY: releases the tile state this thread configured above.
    unsafe { crate::amx::release() };
}

/// One block of `tiles` (1 or 2) row tiles × 2 column tiles, starting from the 32 biases
/// at `bias`. Rows at or past `end` are computed in a scratch tile and never written to `out`.
///
/// # Safety
/// As [`gemm`], with the tile configuration loaded on this thread.
unsafe fn block(
    a: &Rows,
    w: &Packed,
    bias: *const f32,
    (row, tiles, col): (usize, usize, usize),
    (out, stride): (*mut f32, usize),
    end: usize,
    ahead: *const u8,
) {
    let full = row + tiles * TILE <= end;
    // Left uninitialised: the kernel stores every row that is read back below, and zeroing
    // 4 KB for every block (most of which never use it) cost ~5% of the products' time.
    let mut scratch = std::mem::MaybeUninit::<[f32; 2 * TILE * 2 * TILE]>::uninit();
    let (c, c_stride) = if full {
        // SAFETY: rows row..row + 16·tiles and columns col..col + 32 lie inside `out`.
        (unsafe { out.add(row * stride + col) }, stride)
    } else {
        (scratch.as_mut_ptr().cast::<f32>(), 2 * TILE)
    };
    let a_ptr = halves(&a.data)[row * a.k..].as_ptr();
    let (b0, b1) = (w.block(col / TILE), w.block(col / TILE + 1));
    // SAFETY: the A tiles read rows row..row + 16·tiles (inside the padded buffer), the weight
    // tiles read whole packed blocks, the bias 32 floats, and C covers 16·tiles rows of 32
    // columns.
    unsafe {
        let operands = Operands { a: a_ptr, a_stride: a.k * 2, b0, b1, bias, steps: w.k / STEP, ahead };
        if tiles == 2 {
            kernel_2x2(&operands, c, c_stride * 4);
        } else {
            kernel_1x2(&operands, c, c_stride * 4);
        }
    }
    if !full {
        for r in row..end {
            // SAFETY: r - row < 16·tiles, a scratch row the kernel stored; row r < end ≤ a.rows
            // lies inside `out`, and this task owns these cells.
            unsafe {
                let src = scratch.as_ptr().cast::<f32>().add((r - row) * 2 * TILE);
                std::ptr::copy_nonoverlapping(src, out.add(r * stride + col), 2 * TILE);
            }
        }
    }
}

/// The inputs of one kernel call: A rows (`a_stride` bytes apart), two packed weight column
/// blocks, their 32 biases, the number of 32-wide steps along the shared dimension and the
/// weights to prefetch meanwhile ([`PREFETCH_STEP`] bytes a step from `ahead`).
struct Operands {
    a: *const u16,
    a_stride: usize,
    b0: *const u16,
    b1: *const u16,
    bias: *const f32,
    steps: usize,
    ahead: *const u8,
}

/// Bytes of the weights that follow a kernel call's columns it prefetches toward L2 at each
/// step (eight cache lines, the two weight tiles' 2 KB step being four times as much).
const PREFETCH_STEP: usize = 512;

/// The kernels' per-step prefetch: [`PREFETCH_STEP`] bytes from `{pf}` toward L2, then `{pf}`
/// moved past them (one template for both kernels' `asm!`).
macro_rules! prefetch_ahead {
    () => {
        "prefetcht1 [{pf}]\nprefetcht1 [{pf} + 64]\nprefetcht1 [{pf} + 128]\nprefetcht1 [{pf} + 192]\n\
         prefetcht1 [{pf} + 256]\nprefetcht1 [{pf} + 320]\nprefetcht1 [{pf} + 384]\nprefetcht1 [{pf} + 448]\n\
         add {pf}, 512"
    };
}

/// C (32 × 32 f32 at `c`, `c_stride` bytes per row) = bias + A (32 rows) · two packed weight
/// column blocks. The accumulators start as the bias row loaded with stride 0 (every tile
/// row the same 64 bytes), so no pass writes the bias into the output first. Each step also
/// prefetches eight lines from `ahead` toward L2: four lines a step fell 10% short of eight,
/// sixteen were 5–10% slower, and the level hint (`t0`, `t1`, `t2`) measured the same.
///
/// # Safety
/// Tile configuration loaded; all operands readable (C also writable) as described.
unsafe fn kernel_2x2(op: &Operands, c: *mut f32, c_stride: usize) {
    // SAFETY: per the contract above; the loop runs `steps` ≥ 1 times.
    unsafe {
        asm!(
            "tileloadd tmm0, [{bias} + {zero}*1]",
            "tileloadd tmm1, [{bias} + {zero}*1 + 64]",
            "tileloadd tmm2, [{bias} + {zero}*1]",
            "tileloadd tmm3, [{bias} + {zero}*1 + 64]",
            "2:",
            "tileloadd tmm4, [{a} + {ast}*1]",
            "tileloadd tmm5, [{a2} + {ast}*1]",
            "tileloadd tmm6, [{b0} + {bs}*1]",
            "tileloadd tmm7, [{b1} + {bs}*1]",
            "tdpbf16ps tmm0, tmm4, tmm6",
            "tdpbf16ps tmm1, tmm4, tmm7",
            "tdpbf16ps tmm2, tmm5, tmm6",
            "tdpbf16ps tmm3, tmm5, tmm7",
            "add {a}, 64",
            "add {a2}, 64",
            "add {b0}, 1024",
            "add {b1}, 1024",
            prefetch_ahead!(),
            "dec {n}",
            "jnz 2b",
            "tilestored [{c} + {cs}*1], tmm0",
            "tilestored [{c} + {cs}*1 + 64], tmm1",
            "tilestored [{c2} + {cs}*1], tmm2",
            "tilestored [{c2} + {cs}*1 + 64], tmm3",
            c = in(reg) c,
            c2 = in(reg) c.byte_add(TILE * c_stride),
            cs = in(reg) c_stride,
            bias = in(reg) op.bias,
            zero = in(reg) 0usize,
            a = inout(reg) op.a => _,
            a2 = inout(reg) op.a.byte_add(TILE * op.a_stride) => _,
            ast = in(reg) op.a_stride,
            b0 = inout(reg) op.b0 => _,
            b1 = inout(reg) op.b1 => _,
            bs = in(reg) 64usize,
            n = inout(reg) op.steps => _,
            pf = inout(reg) op.ahead => _,
            options(nostack),
        );
    }
}

/// As [`kernel_2x2`] with one row tile (16 rows), for a lone short query and odd row ends.
/// Padding those to two tiles instead was measured slower (one query 0.9 → 1.5 ms): the zero
/// tile's loads and products are not free.
///
/// # Safety
/// As [`kernel_2x2`].
unsafe fn kernel_1x2(op: &Operands, c: *mut f32, c_stride: usize) {
    // SAFETY: per the contract above; the loop runs `steps` ≥ 1 times.
    unsafe {
        asm!(
            "tileloadd tmm0, [{bias} + {zero}*1]",
            "tileloadd tmm1, [{bias} + {zero}*1 + 64]",
            "2:",
            "tileloadd tmm4, [{a} + {ast}*1]",
            "tileloadd tmm6, [{b0} + {bs}*1]",
            "tileloadd tmm7, [{b1} + {bs}*1]",
            "tdpbf16ps tmm0, tmm4, tmm6",
            "tdpbf16ps tmm1, tmm4, tmm7",
            "add {a}, 64",
            "add {b0}, 1024",
            "add {b1}, 1024",
            prefetch_ahead!(),
            "dec {n}",
            "jnz 2b",
            "tilestored [{c} + {cs}*1], tmm0",
            "tilestored [{c} + {cs}*1 + 64], tmm1",
            c = in(reg) c,
            cs = in(reg) c_stride,
            bias = in(reg) op.bias,
            zero = in(reg) 0usize,
            a = inout(reg) op.a => _,
            ast = in(reg) op.a_stride,
            b0 = inout(reg) op.b0 => _,
            b1 = inout(reg) op.b1 => _,
            bs = in(reg) 64usize,
            n = inout(reg) op.steps => _,
            pf = inout(reg) op.ahead => _,
            options(nostack),
        );
    }
}

#[cfg(test)]
mod tests;
