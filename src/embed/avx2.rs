//! Dense-layer products on AVX2 + FMA + F16C with the weights packed once, at load, into
//! panels of 16 output columns, stored in f16 and widened to f32 as they are loaded; the
//! arithmetic is f32. The path of CPUs without AMX (e.g. AMD Zen 3).
//!
//! Why f16 weights: a pass of one question (a dozen tokens) reads every weight once or twice,
//! so it is bound by streaming them from memory, and in f32 the dense layers are 42 MB, more
//! than the 32 MB L3. In f16 they are half that, and `vcvtph2ps` widens a line as it loads.
//! f16 keeps 11 significant bits (bf16 keeps 8 and passed the same fixture on AMX); the
//! embedding fixture's worst cosine is 0.9999995, as with f32 weights.
//!
//! Why not `matrixmultiply` (still the portable fallback in `super::kernels`): sgemm packs
//! both operands on every call. With the weights constant that is wasted work, and for the
//! few rows of a pass of questions it was most of it: one cold search on a Zen 3 core spent
//! 40% of its CPU in `pack_avx2` and 36% in the kernel. Here only the activations are copied, a
//! block at a time (each value is then used by every panel), and the weights stream from
//! their panels.
//!
//! The blocking is Goto's (with BLIS's Zen sizes): a depth block of at most [`KC`] values, a
//! row block of at most [`MC`] rows copied into micro-panels of six rows interleaved by depth
//! (`MC × KC × 4 B` = 144 KB, kept in L2), then each panel's `KC × 16` slice (8 KB, kept in
//! L1) against the row block six rows at a time. The 6 × 16 micro-tile holds twelve
//! accumulators, two weight registers and one broadcast: 15 of the 16 ymm registers, and
//! twelve FMAs for eight loads a step. Each panel line is half a 64-byte cache line (16 f16),
//! and the panels start on a line boundary, so no load splits a line.

use std::ops::Range;

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Output columns per panel: two ymm registers.
pub(crate) const NR: usize = 16;
/// Rows per micro-tile.
const MR: usize = 6;
/// Deepest block: a panel's `KC × NR` slice is at most 8 KB, so it and a micro-panel of
/// rows (6 KB) share L1.
const KC: usize = 256;
/// Most rows in a block (`MC × KC × 4 B` = 144 KB, inside L2).
const MC: usize = 144;

/// `len` split into equal blocks of at most `max`, each a multiple of `unit`.
fn block(len: usize, max: usize, unit: usize) -> usize {
    len.div_ceil(len.div_ceil(max).max(1)).next_multiple_of(unit)
}

/// One line of a panel: the weights of 16 output columns at one input index, in f16.
#[derive(Clone, Copy)]
#[repr(C, align(32))]
struct Line([u16; NR]);

/// A layer's weights (`n_in × n_out`, transposed) as `n_out / 16` panels, each
/// `n_in × 16` row-major.
pub(crate) struct Panels {
    lines: Vec<Line>,
    n_in: usize,
    n_out: usize,
}

/// Whether this CPU runs the kernels (AVX2, FMA and F16C).
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        crate::half::has_f16c()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

impl Panels {
    /// Packs `weight_t` (`n_in × n_out`, row-major) in f16; `None` when the CPU lacks
    /// AVX2/FMA/F16C or `n_out` is not a multiple of 16.
    pub(crate) fn new(weight_t: &[f32], n_in: usize, n_out: usize) -> Option<Self> {
        if !available() || n_in == 0 || n_out == 0 || !n_out.is_multiple_of(NR) || weight_t.len() != n_in * n_out {
            return None;
        }
        let mut lines = vec![Line([0; NR]); n_in * n_out / NR];
        for p in 0..n_out / NR {
            for k in 0..n_in {
                let from = &weight_t[k * n_out + p * NR..][..NR];
                lines[p * n_in + k].0 = std::array::from_fn(|j| crate::half::to_f16(from[j]));
            }
        }
        Some(Self { lines, n_in, n_out })
    }

    /// The weight at input `k`, output column `o`, as the products use it (tests).
    #[cfg(test)]
    pub(crate) fn at(&self, k: usize, o: usize) -> f32 {
        crate::half::from_f16(self.lines[(o / NR) * self.n_in + k].0[o % NR])
    }
}

/// `out[rows, cols] = x[rows] · W[:, cols] + bias[cols]`, where `x` is row-major with
/// `packed.n_in` values a row and `out` row-major with `dst.1` values a row.
///
/// # Safety
/// The CPU must have AVX2, FMA and F16C ([`available`], which [`Panels::new`] checked). `x` must
/// hold `rows.end` rows; `cols` must be multiples of [`NR`] within `n_out`; `bias` must hold
/// `n_out` values; `dst.0` must point to `rows.end × dst.1` writable values of which this
/// rectangle is the caller's alone.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn gemm(
    x: &[f32],
    packed: &Panels,
    bias: &[f32],
    rows: Range<usize>,
    cols: Range<usize>,
    (dst, stride): (*mut f32, usize),
) {
    let n_in = packed.n_in;
    debug_assert!(x.len() >= rows.end * n_in && bias.len() >= packed.n_out);
    debug_assert!(cols.start.is_multiple_of(NR) && cols.end.is_multiple_of(NR) && cols.end <= packed.n_out);
    let (kc_len, mc_len) = (block(n_in, KC, 1), block(rows.len(), MC, MR));
    let mut a = ROW_PANELS.take();
    for kc in (0..n_in).step_by(kc_len) {
        let depth = kc_len.min(n_in - kc);
        for mc in rows.clone().step_by(mc_len) {
            let m_end = (mc + mc_len).min(rows.end);
            pack_rows(x, n_in, mc..m_end, kc..kc + depth, &mut a);
            for p in cols.start / NR..cols.end / NR {
                // SAFETY: panel `p` has `n_in` lines, of which `kc..kc + depth` are read.
                let b = unsafe { packed.lines.as_ptr().add(p * n_in + kc) }.cast::<u16>();
                let bias = (kc == 0).then(|| &bias[p * NR..(p + 1) * NR]);
                let mut r = mc;
                while r < m_end {
                    let height = MR.min(m_end - r);
                    let tile = Tile { a: &a[(r - mc) * depth..], b, depth, bias };
                    // SAFETY: rows r..r + height and columns p·16..p·16 + 16 are inside the
                    // caller's rectangle (the contract).
                    let c = unsafe { dst.add(r * stride + p * NR) };
                    // SAFETY: AVX2/FMA/F16C per the contract; `tile` reads inside `x` and the panel.
                    unsafe {
                        match height {
                            6 => tile.run::<6>(c, stride),
                            5 => tile.run::<5>(c, stride),
                            4 => tile.run::<4>(c, stride),
                            3 => tile.run::<3>(c, stride),
                            2 => tile.run::<2>(c, stride),
                            _ => tile.run::<1>(c, stride),
                        }
                    }
                    r += height;
                }
            }
        }
    }
    ROW_PANELS.set(a);
}

thread_local! {
    /// The rows' micro-panels, kept per thread between products (at most [`MC`] × [`KC`]
    /// values, 144 KiB): a question runs some forty products, each on both threads.
    #[cfg(target_arch = "x86_64")]
    static ROW_PANELS: std::cell::Cell<Vec<f32>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Rows `rows` of `x` (`n_in` values each) at `depths`, as micro-panels of [`MR`] rows
/// interleaved by depth: panel `t` holds row `h`'s value at depth `k` at
/// `t·depth·MR + k·MR + h`, so a micro-tile's broadcasts read one contiguous stream.
/// Written in order, a line of six at a time (the rows are read as six streams): storing each
/// row's values `MR` apart instead cost a tenth of the products' time.
fn pack_rows(x: &[f32], n_in: usize, rows: Range<usize>, depths: Range<usize>, out: &mut Vec<f32>) {
    let depth = depths.len();
    out.clear();
    out.resize(rows.len().div_ceil(MR) * depth * MR, 0.0);
    if depth == 0 {
        return;
    }
    for (t, panel) in out.chunks_exact_mut(depth * MR).enumerate() {
        let first = rows.start + t * MR;
        let height = MR.min(rows.end - first);
        let row = |h: usize| &x[(first + h) * n_in + depths.start..][..depth];
        if height == MR {
            let src: [&[f32]; MR] = std::array::from_fn(row);
            for (k, line) in panel.chunks_exact_mut(MR).enumerate() {
                for (value, src) in line.iter_mut().zip(&src) {
                    *value = src[k];
                }
            }
        } else {
            for h in 0..height {
                for (value, &v) in panel[h..].iter_mut().step_by(MR).zip(row(h)) {
                    *value = v;
                }
            }
        }
    }
}

/// One micro-tile's operands: a micro-panel of up to six rows against one panel slice.
struct Tile<'a> {
    /// The rows' micro-panel (see [`pack_rows`]).
    a: &'a [f32],
    /// `depth` lines of 16 weights (f16).
    b: *const u16,
    depth: usize,
    /// Set on the first depth block: the sums start from the bias, not from `c`.
    bias: Option<&'a [f32]>,
}

impl Tile<'_> {
    /// `c[H × 16] (+)= a[H × depth] · b[depth × 16]`: from the bias on the first depth block,
    /// else adding to what earlier blocks stored.
    ///
    /// # Safety
    /// AVX2, FMA and F16C; `a` must hold `depth × MR` values, `b` `depth × 16`, and `c` must be
    /// `H` rows of 16 writable values `stride` apart.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    unsafe fn run<const H: usize>(&self, c: *mut f32, stride: usize) {
        debug_assert!(H <= MR && self.a.len() >= self.depth * MR);
        let a = self.a.as_ptr();
        // SAFETY: every pointer below stays inside the operands the contract describes.
        unsafe {
            let mut acc = [[_mm256_setzero_ps(); 2]; H];
            for (h, acc) in acc.iter_mut().enumerate() {
                let from = self.bias.map_or(c.add(h * stride).cast_const(), <[f32]>::as_ptr);
                *acc = [_mm256_loadu_ps(from), _mm256_loadu_ps(from.add(8))];
            }
            for k in 0..self.depth {
                let b0 = _mm256_cvtph_ps(_mm_load_si128(self.b.add(k * NR).cast()));
                let b1 = _mm256_cvtph_ps(_mm_load_si128(self.b.add(k * NR + 8).cast()));
                for (h, acc) in acc.iter_mut().enumerate() {
                    let v = _mm256_broadcast_ss(&*a.add(k * MR + h));
                    acc[0] = _mm256_fmadd_ps(v, b0, acc[0]);
                    acc[1] = _mm256_fmadd_ps(v, b1, acc[1]);
                }
            }
            for (h, acc) in acc.iter().enumerate() {
                _mm256_storeu_ps(c.add(h * stride), acc[0]);
                _mm256_storeu_ps(c.add(h * stride + 8), acc[1]);
            }
        }
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    /// The product the kernels must match, in f64.
    fn reference(x: &[f32], w: &[f32], bias: &[f32], rows: usize, n_in: usize, n_out: usize) -> Vec<f32> {
        let mut out = vec![0.0f32; rows * n_out];
        for r in 0..rows {
            for o in 0..n_out {
                let sum: f64 = (0..n_in).map(|k| f64::from(x[r * n_in + k]) * f64::from(w[k * n_out + o])).sum();
                out[r * n_out + o] = (sum + f64::from(bias[o])) as f32;
            }
        }
        out
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 2001) as f32 / 1000.0 - 1.0)
            .collect()
    }

    #[test]
    fn packing_keeps_every_weight_at_its_input_and_column() {
        if !available() {
            return;
        }
        let (n_in, n_out) = (5, 48);
        let w = values(n_in * n_out, 7);
        let panels = Panels::new(&w, n_in, n_out).expect("packs");
        for k in 0..n_in {
            for o in 0..n_out {
                let want = crate::half::from_f16(crate::half::to_f16(w[k * n_out + o]));
                assert_eq!(panels.at(k, o), want, "weight ({k}, {o})");
            }
        }
        assert!(Panels::new(&w[..n_in * 40], n_in, 40).is_none(), "40 columns are not whole panels");
    }

    #[test]
    fn products_match_the_reference_for_every_tile_height_and_a_split_depth() {
        if !available() {
            return;
        }
        // 600 inputs: three depth blocks, the last partial; 107 rows: whole and partial row
        // blocks and every micro-tile height.
        let (n_in, n_out) = (600, 64);
        let (w, bias) = (values(n_in * n_out, 1), values(n_out, 2));
        let panels = Panels::new(&w, n_in, n_out).expect("packs");
        for rows in [1, 2, 3, 4, 5, 6, 7, 13, 107] {
            let x = values(rows * n_in, 3);
            let mut out = vec![f32::NAN; rows * n_out];
            // Two column rectangles, as two tasks would take them.
            for cols in [0..32, 32..64] {
                // SAFETY: AVX2/FMA/F16C checked; shapes as the contract requires.
                unsafe { gemm(&x, &panels, &bias, 0..rows, cols, (out.as_mut_ptr(), n_out)) };
            }
            let as_packed: Vec<f32> = (0..n_in * n_out).map(|i| panels.at(i / n_out, i % n_out)).collect();
            let want = reference(&x, &as_packed, &bias, rows, n_in, n_out);
            for (i, (got, want)) in out.iter().zip(&want).enumerate() {
                assert!((got - want).abs() <= 1e-3 * want.abs().max(1.0), "{rows} rows, cell {i}: {got} vs {want}");
            }
        }
    }
}
