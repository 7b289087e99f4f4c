//! Numeric kernels for the CPU BERT forward pass.
//!
//! Matrix products go to `matrixmultiply`'s single-threaded sgemm (runtime
//! AVX2/FMA dispatch; ~74 GFLOP/s on one Zen 4 core against ~50 for the `gemm`
//! crate and ~85 for PyTorch's MKL), which `super::linear` splits over the
//! *current* rayon pool, so no second thread pool ever exists. The
//! element-wise kernels (GELU in `gelu`, softmax, layer norm) are plain loops written so
//! LLVM vectorises them; `multiversion!` compiles each one again with AVX-512 and
//! with AVX2+FMA enabled and picks the widest copy the CPU runs, because the crate
//! itself is built for baseline x86-64 (SSE2). `exp` and `erf` are branch-free polynomial
//! approximations (Cephes `expf`, Eigen's rational `erf`), accurate to a few
//! ulp, so that they vectorise instead of calling libm once per element.

use rayon::prelude::*;

mod gelu;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86;

pub(crate) use gelu::{gelu, gelu_bf16_slice};

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
    fn exp_matches_libm() {
        for i in -4000..=4000 {
            let x = i as f32 / 500.0;
            let (e, want) = (exp(x), x.exp());
            assert!(((e - want) / want).abs() < 1e-6, "exp({x}) = {e}, want {want}");
        }
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
