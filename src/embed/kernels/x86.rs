//! AVX-512 copies of element-wise kernels, for where the portable loops compile to something
//! slow: GELU's `erf` ends in a division, and `vdivps` (about one value per cycle) bounded the
//! whole loop; `exp` serves code already written with intrinsics (`attention::x86`). Here the division is a reciprocal estimate refined by one Newton step (relative
//! error ~1e-7 against ~6e-8 for the division, far inside what the fixture test allows).

use std::arch::x86_64::*;
use std::mem::MaybeUninit;

/// Lanes of a vector.
const LANES: usize = 16;

/// Exact (erf-based) GELU in place, as `super::gelu::gelu_slice`, 16 values at a time.
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
    super::gelu::gelu_portable(chunks.into_remainder());
}

/// `d[i] = bf16(GELU(x[i]))`, as `super::gelu::gelu_bf16_slice`: the FFN's activation and the
/// rounding of the next product's input in one pass over the values.
///
/// # Safety
/// The CPU must have AVX-512F; `d` is as long as `x`.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn gelu_bf16(d: &mut [MaybeUninit<u16>], x: &[f32]) {
    let mut chunks = d.chunks_exact_mut(LANES).zip(x.chunks_exact(LANES));
    for (d, x) in &mut chunks {
        // SAFETY: both chunks hold 16 values.
        unsafe {
            let bits = _mm512_castps_si512(gelu16(_mm512_loadu_ps(x.as_ptr())));
            // Round to nearest even, as `crate::amx::to_bf16`: add 0x7fff plus the lowest kept
            // bit, keep the high half.
            let odd = _mm512_and_si512(_mm512_srli_epi32::<16>(bits), _mm512_set1_epi32(1));
            let rounded = _mm512_add_epi32(bits, _mm512_add_epi32(odd, _mm512_set1_epi32(0x7fff)));
            let halves = _mm512_cvtepi32_epi16(_mm512_srli_epi32::<16>(rounded));
            _mm256_storeu_si256(d.as_mut_ptr().cast(), halves);
        }
    }
    let done = x.len() - x.len() % LANES;
    super::gelu::gelu_bf16_portable(&mut d[done..], &x[done..]);
}

/// Whether the CPU rounds to bf16 in one instruction ([`gelu_bf16_native`],
/// [`round_bf16_native`]): AVX-512F and AVX512-BF16 (std caches the answer).
pub(crate) fn has_native_bf16() -> bool {
    std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512bf16")
}

/// `d[i] = bf16(GELU(x[i]))` as [`gelu_bf16`], on CPUs with AVX512-BF16: 32 values a round,
/// rounded by one `vcvtne2ps2bf16` instead of five integer operations per 16 values. The
/// instruction rounds to nearest even as `crate::amx::to_bf16` does; it differs only on f32
/// subnormals (flushed to zero), which the tile products treat as zero either way.
///
/// # Safety
/// The CPU must have AVX-512F and AVX512-BF16; `d` is as long as `x`.
#[target_feature(enable = "avx512f,avx512bf16")]
pub(super) unsafe fn gelu_bf16_native(d: &mut [MaybeUninit<u16>], x: &[f32]) {
    let mut chunks = d.chunks_exact_mut(2 * LANES).zip(x.chunks_exact(2 * LANES));
    for (d, x) in &mut chunks {
        // SAFETY: both chunks hold 32 values.
        unsafe {
            let lo = gelu16(_mm512_loadu_ps(x.as_ptr()));
            let hi = gelu16(_mm512_loadu_ps(x.as_ptr().add(LANES)));
            store_bf16x32(d, lo, hi);
        }
    }
    let done = x.len() - x.len() % (2 * LANES);
    super::gelu::gelu_bf16_portable(&mut d[done..], &x[done..]);
}

/// `d[i] = bf16(x[i])` with `vcvtne2ps2bf16`, 32 values a round (see [`gelu_bf16_native`]).
///
/// # Safety
/// The CPU must have AVX-512F and AVX512-BF16; `d` is as long as `x`.
#[target_feature(enable = "avx512f,avx512bf16")]
pub(crate) unsafe fn round_bf16_native(d: &mut [MaybeUninit<u16>], x: &[f32]) {
    let mut chunks = d.chunks_exact_mut(2 * LANES).zip(x.chunks_exact(2 * LANES));
    for (d, x) in &mut chunks {
        // SAFETY: both chunks hold 32 values.
        unsafe { store_bf16x32(d, _mm512_loadu_ps(x.as_ptr()), _mm512_loadu_ps(x.as_ptr().add(LANES))) };
    }
    let done = x.len() - x.len() % (2 * LANES);
    for (d, &v) in d[done..].iter_mut().zip(&x[done..]) {
        d.write(crate::amx::to_bf16(v));
    }
}

/// Stores `lo` then `hi` rounded to bf16 into the 32 values of `d`.
///
/// # Safety
/// The CPU must have AVX-512F and AVX512-BF16; `d` holds 32 values.
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn store_bf16x32(d: &mut [MaybeUninit<u16>], lo: __m512, hi: __m512) {
    debug_assert!(d.len() >= 2 * LANES);
    // SAFETY: `d` holds 32 u16 values, 64 bytes.
    unsafe {
        _mm512_storeu_si512(
            d.as_mut_ptr().cast(),
            std::mem::transmute::<__m512bh, __m512i>(_mm512_cvtne2ps_pbh(hi, lo)),
        )
    };
}

/// `0.5 · x · (1 + erf(x / √2))` with `super::gelu::erf`'s rational approximation.
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
    let p = poly(&super::gelu::ERF_P);
    let q = poly(&super::gelu::ERF_Q);
    // 1/q: the 14-bit estimate, then one Newton step r' = r · (2 − q·r).
    let r = _mm512_rcp14_ps(q);
    let r = _mm512_mul_ps(r, _mm512_fnmadd_ps(q, r, _mm512_set1_ps(2.0)));
    let erf = _mm512_mul_ps(_mm512_mul_ps(x, p), r);
    _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5), v), _mm512_add_ps(_mm512_set1_ps(1.0), erf))
}

/// `e^x` lane by lane: `super::exp` (Cephes `expf`, the same constants) in AVX-512.
#[target_feature(enable = "avx512f")]
pub(crate) fn exp(x: __m512) -> __m512 {
    let round = _mm512_set1_ps(super::EXP_ROUND);
    let x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0)), _mm512_set1_ps(88.0));
    let t = _mm512_fmadd_ps(x, _mm512_set1_ps(std::f32::consts::LOG2_E), round);
    let n = _mm512_sub_ps(t, round);
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(super::LN2_HI), x);
    let r = _mm512_fmadd_ps(n, _mm512_set1_ps(super::LN2_LO), r);
    let mut p = _mm512_set1_ps(super::EXP_P[0]);
    for &c in &super::EXP_P[1..] {
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
    }
    let y = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1.0));
    // The low mantissa bits of `t` hold n; move n + 127 into the exponent field.
    let bits = _mm512_sub_epi32(_mm512_castps_si512(t), _mm512_castps_si512(round));
    let scale = _mm512_slli_epi32::<23>(_mm512_add_epi32(bits, _mm512_set1_epi32(127)));
    _mm512_mul_ps(y, _mm512_castsi512_ps(scale))
}
