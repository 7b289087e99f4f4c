//! AVX-512 copies of element-wise kernels whose portable loops LLVM compiles to something
//! slow: GELU's `erf` ends in a division, and `vdivps` (about one value per cycle) bounded the
//! whole loop. Here the division is a reciprocal estimate refined by one Newton step (relative
//! error ~1e-7 against ~6e-8 for the division, far inside what the fixture test allows).

use std::arch::x86_64::*;

/// Lanes of a vector.
const LANES: usize = 16;

/// Exact (erf-based) GELU in place, as `super::gelu_slice`, 16 values at a time.
///
/// # Safety
/// The CPU must have AVX-512F.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn gelu(xs: &mut [f32]) {
    let mut chunks = xs.chunks_exact_mut(LANES);
    for chunk in &mut chunks {
        // SAFETY: the chunk holds 16 values.
        unsafe {
            let x = _mm512_loadu_ps(chunk.as_ptr());
            _mm512_storeu_ps(chunk.as_mut_ptr(), gelu16(x));
        }
    }
    super::gelu_portable(chunks.into_remainder());
}

/// `0.5 · x · (1 + erf(x / √2))` with `super::erf`'s rational approximation.
#[target_feature(enable = "avx512f")]
fn gelu16(v: __m512) -> __m512 {
    let x = _mm512_mul_ps(v, _mm512_set1_ps(std::f32::consts::FRAC_1_SQRT_2));
    let x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-4.0)), _mm512_set1_ps(4.0));
    let x2 = _mm512_mul_ps(x, x);
    let poly = |coefficients: &[f32]| {
        let mut acc = _mm512_set1_ps(coefficients[0]);
        for &c in &coefficients[1..] {
            acc = _mm512_fmadd_ps(acc, x2, _mm512_set1_ps(c));
        }
        acc
    };
    let p = poly(&super::ERF_P);
    let q = poly(&super::ERF_Q);
    // 1/q: the 14-bit estimate, then one Newton step r' = r · (2 − q·r).
    let r = _mm512_rcp14_ps(q);
    let r = _mm512_mul_ps(r, _mm512_fnmadd_ps(q, r, _mm512_set1_ps(2.0)));
    let erf = _mm512_mul_ps(_mm512_mul_ps(x, p), r);
    _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5), v), _mm512_add_ps(_mm512_set1_ps(1.0), erf))
}
