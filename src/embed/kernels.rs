//! Numeric kernels for the CPU BERT forward pass.
//!
//! Matrix products go to `matrixmultiply`'s single-threaded sgemm (runtime
//! AVX2/FMA dispatch; ~74 GFLOP/s on one Zen 4 core against ~50 for the `gemm`
//! crate and ~85 for PyTorch's MKL), which `super::linear` splits over the
//! *current* rayon pool, so no second thread pool ever exists. The
//! element-wise kernels (GELU, softmax, layer norm) are plain loops written so
//! LLVM vectorises them; `multiversion!` compiles each one again with AVX-512 and
//! with AVX2+FMA enabled and picks the widest copy the CPU runs, because the crate
//! itself is built for baseline x86-64 (SSE2). `exp` and `erf` are branch-free polynomial
//! approximations (Cephes `expf`, Eigen's rational `erf`), accurate to a few
//! ulp, so that they vectorise instead of calling libm once per element.

use std::mem::MaybeUninit;

use rayon::prelude::*;

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86;

/// Defines `$vis fn $name(args)` running `$body`, with copies compiled for AVX-512 and for
/// AVX2+FMA, the widest the CPU has chosen at run time.
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $body:block) => {
        $(#[$m])*
        $vis fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn body($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
                fn avx512($($arg: $ty),*) {
                    body($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) {
                    body($($arg),*)
                }
                if std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512vl")
                    && std::is_x86_feature_detected!("avx512dq")
                    && std::is_x86_feature_detected!("avx512bw")
                {
                    // SAFETY: the CPU supports these AVX-512 subsets (which imply AVX2 and FMA).
                    return unsafe { avx512($($arg),*) };
                }
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU supports AVX2 and FMA, checked just above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}
pub(crate) use multiversion;

/// A raw pointer that may be shared between rayon tasks writing disjoint regions.
#[derive(Clone, Copy)]
pub(crate) struct SyncPtr(*mut f32);

// SAFETY: users only write through it to regions no other task touches.
unsafe impl Send for SyncPtr {}
// SAFETY: as above.
unsafe impl Sync for SyncPtr {}

impl SyncPtr {
    /// Wraps the start of `buf`.
    pub(crate) fn new(buf: &mut [f32]) -> Self {
        Self(buf.as_mut_ptr())
    }

    /// The wrapped pointer (a method, so closures capture the whole `Sync` struct).
    pub(crate) fn get(self) -> *mut f32 {
        self.0
    }
}

/// A strided, read-only matrix view (element `(i, j)` at `ptr + i·row_stride + j·col_stride`).
#[derive(Clone, Copy)]
pub(crate) struct View {
    /// First element.
    pub ptr: *const f32,
    /// Distance between two rows, in elements.
    pub row_stride: usize,
    /// Distance between two columns, in elements (1 for plain row-major).
    pub col_stride: usize,
}

/// `dst (m × n, row stride dst_rs) = scale · lhs (m × k) · rhs (k × n)`, plus
/// the old `dst` when `accumulate`. Single-threaded.
///
/// # Safety
/// The views must cover `m × k` and `k × n` readable elements and `dst` must
/// cover `m × n` writable elements that nobody else accesses meanwhile.
pub(crate) unsafe fn matmul(
    (m, n, k): (usize, usize, usize),
    (dst, dst_rs): (*mut f32, usize),
    accumulate: bool,
    lhs: View,
    rhs: View,
    scale: f32,
) {
    let beta = if accumulate { 1.0 } else { 0.0 };
    // SAFETY: forwarded to the caller's contract; strides fit in isize for any
    // buffer that exists. With beta = 0, sgemm never reads `dst`.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            scale,
            lhs.ptr,
            lhs.row_stride as isize,
            lhs.col_stride as isize,
            rhs.ptr,
            rhs.row_stride as isize,
            rhs.col_stride as isize,
            beta,
            dst,
            dst_rs as isize,
            1,
        );
    }
}

/// Rows handed to one rayon task by the row-wise kernels.
fn rows_per_task(rows: usize, threads: usize) -> usize {
    rows.div_ceil(threads.max(1) * 4).max(1)
}

/// Sum of a slice with 16 independent accumulators (vectorisable).
#[inline(always)]
fn sum(xs: &[f32]) -> f32 {
    let mut acc = [0.0f32; 16];
    let mut chunks = xs.chunks_exact(16);
    for c in &mut chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    acc.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}

/// Adding this to an f32 below 2^22 rounds it to an integer (1.5 · 2^23).
pub(crate) const EXP_ROUND: f32 = 12_582_912.0;

/// ln 2 split in two for [`exp`]'s range reduction: `r = x − n · LN2_HI + n · LN2_LO`.
pub(crate) const LN2_HI: f32 = 0.693_359_4;

/// See [`LN2_HI`].
pub(crate) const LN2_LO: f32 = 2.121_944_4e-4;

/// Cephes `expf`'s polynomial in `r`, highest power first.
pub(crate) const EXP_P: [f32; 6] = [1.987_569_1e-4, 1.398_2e-3, 8.333_452e-3, 4.166_579_6e-2, 0.166_666_65, 0.5];

/// `e^x` (Cephes `expf`), inputs clamped to the normal range. Integer work
/// uses wrapping bit arithmetic (no saturating casts) so the loop vectorises.
#[inline(always)]
fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let t = x * std::f32::consts::LOG2_E + EXP_ROUND;
    let n = t - EXP_ROUND;
    let r = x - n * LN2_HI + n * LN2_LO;
    let p = EXP_P[1..].iter().fold(EXP_P[0], |acc, &c| acc * r + c);
    let y = p * r * r + r + 1.0;
    // The low mantissa bits of `t` hold n; move n + 127 into the exponent field.
    let bits = t.to_bits().wrapping_sub(EXP_ROUND.to_bits()).wrapping_add(127) << 23;
    y * f32::from_bits(bits)
}

/// Largest element, with 16 independent lanes (vectorisable).
#[inline(always)]
fn max(xs: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 16];
    let mut chunks = xs.chunks_exact(16);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = if v > *a { v } else { *a };
        }
    }
    let tail = chunks.remainder().iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    acc.iter().fold(tail, |m, &v| m.max(v))
}

/// Numerator coefficients of [`erf`] in x², highest power first.
const ERF_P: [f32; 7] =
    [-2.726_142_3e-10, 2.770_681_4e-8, -2.101_024e-6, -5.692_506_4e-5, -7.349_906_3e-4, -2.954_6e-3, -1.609_603_3e-2];

/// Denominator coefficients of [`erf`] in x², highest power first.
const ERF_Q: [f32; 5] = [-1.456_607_2e-5, -2.133_740_6e-4, -1.682_827e-3, -7.373_329e-3, -1.426_474e-2];

/// `0.5 · x · (1 + erf(x / √2))`, exact (erf-based) GELU of one value.
#[inline(always)]
fn gelu_one(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// `erf(x)`, Eigen's rational approximation (max error ≈ 1e-7 on [-4, 4]).
#[inline(always)]
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let p = ERF_P[1..].iter().fold(ERF_P[0], |acc, &c| acc * x2 + c);
    let q = ERF_Q[1..].iter().fold(ERF_Q[0], |acc, &c| acc * x2 + c);
    x * p / q
}

multiversion! {
    /// Exact (erf-based) GELU, in place, as BERT's `hidden_act = "gelu"`.
    fn gelu_portable(xs: &mut [f32]) {
        for x in xs.iter_mut() {
            *x = gelu_one(*x);
        }
    }
}

multiversion! {
    /// `d[i] = bf16(GELU(x[i]))` (see [`gelu_bf16_slice`]), the portable loop.
    fn gelu_bf16_portable(d: &mut [MaybeUninit<u16>], x: &[f32]) {
        for (d, &v) in d.iter_mut().zip(x) {
            d.write(crate::amx::to_bf16(gelu_one(v)));
        }
    }
}

/// `d[i] = bf16(GELU(x[i]))`: the FFN's activation fused with rounding the next product's
/// input ([`gelu_bf16_portable`], or its AVX-512 copy where the CPU has AVX-512).
pub(crate) fn gelu_bf16_slice(d: &mut [MaybeUninit<u16>], x: &[f32]) {
    assert_eq!(d.len(), x.len(), "GELU to bf16 lengths");
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") {
        if std::is_x86_feature_detected!("avx512bf16") {
            // SAFETY: the CPU has AVX-512F and AVX512-BF16, checked just above; the lengths match.
            return unsafe { x86::gelu_bf16_native(d, x) };
        }
        // SAFETY: the CPU has AVX-512F, checked just above; the lengths match.
        return unsafe { x86::gelu_bf16(d, x) };
    }
    gelu_bf16_portable(d, x);
}

/// [`gelu_portable`], or its AVX-512 copy (`x86`) where the CPU has AVX-512.
fn gelu_slice(xs: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F, checked just above.
        return unsafe { x86::gelu(xs) };
    }
    gelu_portable(xs);
}

multiversion! {
    /// Softmax of every `width`-long row of `xs`, in place.
    pub(crate) fn softmax_rows(xs: &mut [f32], width: usize) {
        for row in xs.chunks_exact_mut(width) {
            let max = max(row);
            for v in row.iter_mut() {
                *v = exp(*v - max);
            }
            let inv = 1.0 / sum(row);
            for v in row.iter_mut() {
                *v *= inv;
            }
        }
    }
}

multiversion! {
    /// `x = LayerNorm(x + res)` row by row (`res` optional), with affine parameters.
    fn add_layer_norm_rows(x: &mut [f32], res: Option<&[f32]>, gamma: &[f32], beta: &[f32], eps: f32) {
        let h = gamma.len();
        for (i, row) in x.chunks_exact_mut(h).enumerate() {
            if let Some(res) = res {
                for (a, b) in row.iter_mut().zip(&res[i * h..(i + 1) * h]) {
                    *a += b;
                }
            }
            let mean = sum(row) / h as f32;
            for v in row.iter_mut() {
                *v -= mean;
            }
            let mut sq = [0.0f32; 16];
            for c in row.chunks_exact(16) {
                for (a, v) in sq.iter_mut().zip(c) {
                    *a += v * v;
                }
            }
            let var = (sq.iter().sum::<f32>() + row.chunks_exact(16).remainder().iter().map(|v| v * v).sum::<f32>()) / h as f32;
            let inv = 1.0 / (var + eps).sqrt();
            for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
                *v = *v * inv * g + b;
            }
        }
    }
}

/// GELU over a whole activation buffer, in parallel on the current pool.
pub(crate) fn gelu(xs: &mut [f32], threads: usize) {
    let chunk = xs.len().div_ceil(threads.max(1) * 4).max(1);
    xs.par_chunks_mut(chunk).for_each(gelu_slice);
}

/// `x = LayerNorm(x + res)` over `h`-wide rows, in parallel on the current pool.
pub(crate) fn add_layer_norm(
    x: &mut [f32],
    res: Option<&[f32]>,
    (gamma, beta): (&[f32], &[f32]),
    eps: f32,
    threads: usize,
) {
    let h = gamma.len();
    let chunk = rows_per_task(x.len() / h, threads) * h;
    x.par_chunks_mut(chunk).enumerate().for_each(|(i, xs)| {
        let res = res.map(|r| &r[i * chunk..i * chunk + xs.len()]);
        add_layer_norm_rows(xs, res, gamma, beta, eps);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_and_erf_match_libm() {
        for i in -4000..=4000 {
            let x = i as f32 / 500.0;
            let (e, want) = (exp(x), x.exp());
            assert!(((e - want) / want).abs() < 1e-6, "exp({x}) = {e}, want {want}");
        }
        // erf(x) against tabulated values.
        for (x, want) in [(0.1f32, 0.112_462_92f32), (0.5, 0.520_499_9), (1.0, 0.842_700_8), (2.0, 0.995_322_3)] {
            assert!((erf(x) - want).abs() < 2e-7, "erf({x}) = {}", erf(x));
            assert!((erf(-x) + want).abs() < 2e-7);
        }
    }

    #[test]
    fn gelu_of_every_path_matches_the_erf_formula() {
        // 1,003 values from -6 to 6: whole vectors of 16 and a remainder.
        let xs: Vec<f32> = (0..1003).map(|i| i as f32 * 0.012 - 6.0).collect();
        let mut got = xs.clone();
        gelu_slice(&mut got);
        for (x, g) in xs.iter().zip(got) {
            let want = 0.5 * f64::from(*x) * (1.0 + reference_erf(f64::from(*x) / std::f64::consts::SQRT_2));
            assert!((f64::from(g) - want).abs() < 2e-6 * want.abs().max(1.0), "gelu({x}) = {g}, want {want}");
        }
    }

    #[test]
    fn gelu_rounded_to_bf16_is_the_rounded_gelu_on_every_path() {
        // Whole vectors of 16 and a remainder.
        let xs: Vec<f32> = (0..1003).map(|i| i as f32 * 0.0123 - 6.0).collect();
        let mut activated = xs.clone();
        gelu_slice(&mut activated);

        let mut fused = vec![MaybeUninit::new(0u16); xs.len()];
        gelu_bf16_slice(&mut fused, &xs);
        let mut portable = vec![MaybeUninit::new(0u16); xs.len()];
        gelu_bf16_portable(&mut portable, &xs);
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f") {
            // The integer-rounding copy, which CPUs without AVX512-BF16 run.
            let mut integer = vec![MaybeUninit::new(0u16); xs.len()];
            // SAFETY: the CPU has AVX-512F; the lengths match.
            unsafe { x86::gelu_bf16(&mut integer, &xs) };
            // SAFETY: every element was written by both.
            let same = integer.iter().zip(&fused).all(|(a, b)| unsafe { a.assume_init() == b.assume_init() });
            assert!(same, "both AVX-512 copies round alike");
        }
        for (i, x) in xs.iter().enumerate() {
            // SAFETY: every element was written above.
            let (f, p) = unsafe { (fused[i].assume_init(), portable[i].assume_init()) };
            // Within rounding (half a bf16 unit, 2⁻⁹ relative) of the f32 GELU, plus the f32
            // paths' own differences where GELU is nearly zero.
            let want = activated[i];
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("avx512f") {
                // The same AVX-512 GELU, so the vector rounding (by `vcvtne2ps2bf16` where the
                // CPU has it, else by integer steps) must match `to_bf16` exactly.
                assert_eq!(f, crate::amx::to_bf16(want), "fused gelu({x})");
            }
            for (path, got) in [("fused", f), ("portable", p)] {
                let got = f32::from_bits(u32::from(got) << 16);
                assert!((got - want).abs() <= want.abs() / 256.0 + 1e-6, "{path} gelu({x}) = {got}, want {want}");
            }
        }
    }

    /// erf by its Taylor series (to ~1e-12 for |x| ≤ 4.5), ±1 beyond (where 1 − |erf| < 1e-9).
    fn reference_erf(x: f64) -> f64 {
        if x.abs() > 4.5 {
            return x.signum();
        }
        let (mut term, mut sum, mut n) = (x, x, 0.0);
        while term.abs() > 1e-17 {
            n += 1.0;
            term *= -x * x / n;
            sum += term / (2.0 * n + 1.0);
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn softmax_rows_sum_to_one() {
        let mut xs = vec![1.0, 2.0, 3.0, -1e9, 0.0, 0.0, 0.0, 0.0];
        softmax_rows(&mut xs, 4);
        assert!((xs[..4].iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(xs[3] < 1e-30);
        assert!((xs[4] - 0.25).abs() < 1e-7);
    }
}
