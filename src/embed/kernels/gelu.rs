//! GELU, exact (erf-based) as BERT's `hidden_act = "gelu"`: one value, the portable loops
//! (`multiversion!`), and the dispatch to the AVX-512 copies in `super::x86`. The FFN's
//! second product takes its input as `bf16(GELU(x))` in one pass ([`gelu_bf16_slice`]).

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::multiversion;
#[cfg(target_arch = "x86_64")]
use super::x86;

/// Numerator coefficients of [`erf`] in x², highest power first.
pub(super) const ERF_P: [f32; 7] =
    [-2.726_142_3e-10, 2.770_681_4e-8, -2.101_024e-6, -5.692_506_4e-5, -7.349_906_3e-4, -2.954_6e-3, -1.609_603_3e-2];

/// Denominator coefficients of [`erf`] in x², highest power first.
pub(super) const ERF_Q: [f32; 5] = [-1.456_607_2e-5, -2.133_740_6e-4, -1.682_827e-3, -7.373_329e-3, -1.426_474e-2];

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
    pub(super) fn gelu_portable(xs: &mut [f32]) {
        for x in xs.iter_mut() {
            *x = gelu_one(*x);
        }
    }
}

multiversion! {
    /// `d[i] = bf16(GELU(x[i]))` (see [`gelu_bf16_slice`]), the portable loop.
    pub(super) fn gelu_bf16_portable(d: &mut [MaybeUninit<u16>], x: &[f32]) {
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
    if x86::has_native_bf16() {
        // SAFETY: the CPU has AVX-512F and AVX512-BF16, checked just above; the lengths match.
        return unsafe { x86::gelu_bf16_native(d, x) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") {
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

/// GELU over a whole activation buffer, in parallel on the current pool.
pub(crate) fn gelu(xs: &mut [f32], threads: usize) {
    let chunk = xs.len().div_ceil(threads.max(1) * 4).max(1);
    xs.par_chunks_mut(chunk).for_each(gelu_slice);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_tabulated_values() {
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
}
