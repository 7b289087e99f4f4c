//! IEEE 754 half precision (f16) storage for the two largest tables in memory: the index's
//! dense matrix and the embedder's word-embedding table; and the dot product of an f16 row
//! with an f32 query.
//!
//! Why f16: the matrix is the largest block of the server's memory and every query streams
//! all of it. Unit vectors of 384 dimensions have components of magnitude ~0.05, which f16
//! holds to a relative 2^-11; accumulated in f32 a cosine moves by ~1e-5, far below the
//! score gaps that order search results, so rankings are unchanged (the retrieval evaluation
//! of the development book gives the same hit rates) while memory and scan bandwidth halve.
//! int8 would halve them again but moves cosines by ~1e-3, which would need an exact rescoring
//! pass over a second copy of the vectors.
//!
//! Hand-written rather than the `half` crate because the hot loop is what matters: on x86-64
//! the dot product converts eight values per instruction with F16C (`vcvtph2ps`) and
//! multiplies with FMA, and batches of queries use 16-lane AVX-512 registers where the CPU has
//! them, selected at run time; the portable bit-twiddling conversions here are
//! the fallback and the reference the tests hold the fast path to.

/// f32 → f16 bits, rounding to nearest even (overflow → infinity, NaN kept).
pub fn to_f16(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32;
    let man = bits & 0x007f_ffff;
    if exp == 0xff {
        return sign | 0x7c00 | if man != 0 { 0x200 } else { 0 };
    }
    let e = exp - 127 + 15;
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    if e <= 0 {
        if e < -10 {
            return sign;
        }
        let m = man | 0x0080_0000;
        let shift = (14 - e) as u32;
        return sign | round_shift(m, shift) as u16;
    }
    // A carry out of the mantissa correctly bumps the exponent (up to infinity).
    sign | round_shift((e as u32) << 23 | man, 13) as u16
}

/// `m >> shift`, rounded to nearest even.
fn round_shift(m: u32, shift: u32) -> u32 {
    let kept = m >> shift;
    let rest = m & ((1 << shift) - 1);
    let half = 1 << (shift - 1);
    kept + u32::from(rest > half || (rest == half && kept & 1 == 1))
}

/// f16 bits → f32 (exact).
pub fn from_f16(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = u32::from((h >> 10) & 0x1f);
    let man = u32::from(h & 0x3ff);
    match exp {
        0 => sign * man as f32 * (1.0 / 16_777_216.0), // subnormal: man · 2^-24
        0x1f if man == 0 => sign * f32::INFINITY,
        0x1f => f32::NAN,
        _ => f32::from_bits(u32::from(h & 0x8000) << 16 | (exp + 112) << 23 | man << 13),
    }
}

/// Appends `values` converted to f16.
pub fn extend_f16(out: &mut Vec<u16>, values: &[f32]) {
    out.extend(values.iter().map(|&x| to_f16(x)));
}

/// Appends the f16 `values` converted to f32 (exactly; eight an instruction with F16C).
pub fn extend_f32(out: &mut Vec<f32>, values: &[u16]) {
    #[cfg(target_arch = "x86_64")]
    if has_f16c() {
        // SAFETY: the CPU has F16C (checked by `has_f16c`).
        return unsafe { x86::extend_f32(out, values) };
    }
    out.extend(values.iter().map(|&h| from_f16(h)));
}

/// Dot product of an f16 row with an f32 query of the same length.
#[inline]
pub fn dot(row: &[u16], query: &[f32]) -> f32 {
    debug_assert_eq!(row.len(), query.len());
    #[cfg(target_arch = "x86_64")]
    if has_f16c() {
        // SAFETY: the CPU has AVX2, FMA and F16C (checked by `has_f16c`).
        return unsafe { x86::dot(row, query) };
    }
    portable_dot(row, query)
}

/// The reference dot product (and the fallback without F16C).
pub fn portable_dot(row: &[u16], query: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (rows, rest) = row.as_chunks::<8>();
    let (queries, query_rest) = query.as_chunks::<8>();
    for (r, q) in rows.iter().zip(queries) {
        for i in 0..8 {
            acc[i] += from_f16(r[i]) * q[i];
        }
    }
    let tail: f32 = rest.iter().zip(query_rest).map(|(&r, q)| from_f16(r) * q).sum();
    acc.iter().sum::<f32>() + tail
}

/// Whether the fast x86-64 kernel can run (std caches the CPUID answer).
#[cfg(target_arch = "x86_64")]
#[inline]
pub fn has_f16c() -> bool {
    std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
        && std::is_x86_feature_detected!("f16c")
}

/// Whether the AVX-512 batch kernel can run (std caches the CPUID answer).
#[cfg(target_arch = "x86_64")]
#[inline]
pub fn has_avx512() -> bool {
    std::is_x86_feature_detected!("avx512f")
}

#[cfg(target_arch = "x86_64")]
pub mod x86 {
    //! The AVX2 + FMA + F16C dot products, and an AVX-512 one for batches.
    use std::arch::x86_64::*;

    /// `super::extend_f32` with `vcvtph2ps`, eight values at a time.
    ///
    /// # Safety
    /// The CPU must support AVX2, FMA and F16C.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn extend_f32(out: &mut Vec<f32>, values: &[u16]) {
        out.reserve(values.len());
        let room = &mut out.spare_capacity_mut()[..values.len()];
        let (halves, rest) = values.as_chunks::<8>();
        for (d, h) in room.chunks_exact_mut(8).zip(halves) {
            // SAFETY: `h` holds 8 values (16 bytes) and `d` room for 8 floats.
            unsafe { _mm256_storeu_ps(d.as_mut_ptr().cast(), _mm256_cvtph_ps(_mm_loadu_si128(h.as_ptr().cast()))) };
        }
        for (d, &h) in room[halves.len() * 8..].iter_mut().zip(rest) {
            d.write(super::from_f16(h));
        }
        // SAFETY: the loops above wrote all `values.len()` reserved elements.
        unsafe { out.set_len(out.len() + values.len()) };
    }

    /// Dot product of an f16 row with an f32 query, 32 lanes per step in four accumulators.
    ///
    /// # Safety
    /// The CPU must support AVX2, FMA and F16C; `row` and `query` must be equally long.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    pub unsafe fn dot(row: &[u16], query: &[f32]) -> f32 {
        let n = row.len().min(query.len());
        let (r, q) = (row.as_ptr(), query.as_ptr());
        // SAFETY: every load below reads inside the first `n` elements of both slices.
        unsafe {
            let load = |i: usize| _mm256_cvtph_ps(_mm_loadu_si128(r.add(i).cast()));
            let mut acc = [_mm256_setzero_ps(); 4];
            let mut i = 0;
            while i + 32 <= n {
                for (lane, a) in acc.iter_mut().enumerate() {
                    let at = i + lane * 8;
                    *a = _mm256_fmadd_ps(load(at), _mm256_loadu_ps(q.add(at)), *a);
                }
                i += 32;
            }
            while i + 8 <= n {
                acc[0] = _mm256_fmadd_ps(load(i), _mm256_loadu_ps(q.add(i)), acc[0]);
                i += 8;
            }
            let sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
            let half = _mm_add_ps(_mm256_castps256_ps128(sum), _mm256_extractf128_ps(sum, 1));
            let quarter = _mm_add_ps(half, _mm_movehl_ps(half, half));
            let mut total = _mm_cvtss_f32(_mm_add_ss(quarter, _mm_shuffle_ps(quarter, quarter, 1)));
            while i < n {
                total += super::from_f16(*r.add(i)) * *q.add(i);
                i += 1;
            }
            total
        }
    }

    /// Dot products of one f16 row with `N` f32 queries: each eight-value step of the row is
    /// converted once and multiplied into `N` accumulators (N ≤ 8 keeps them in registers).
    ///
    /// # Safety
    /// The CPU must support AVX2, FMA and F16C; every query must be as long as `row`.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    pub unsafe fn dot_many<const N: usize>(row: &[u16], queries: &[&[f32]; N]) -> [f32; N] {
        let n = row.len();
        debug_assert!(queries.iter().all(|q| q.len() == n));
        let r = row.as_ptr();
        let q = queries.map(<[f32]>::as_ptr);
        // SAFETY: every load reads inside the first `n` elements of `row` and of each query.
        unsafe {
            let mut acc = [_mm256_setzero_ps(); N];
            let mut i = 0;
            while i + 8 <= n {
                let x = _mm256_cvtph_ps(_mm_loadu_si128(r.add(i).cast()));
                for k in 0..N {
                    acc[k] = _mm256_fmadd_ps(x, _mm256_loadu_ps(q[k].add(i)), acc[k]);
                }
                i += 8;
            }
            let mut out = [0.0f32; N];
            for k in 0..N {
                let half = _mm_add_ps(_mm256_castps256_ps128(acc[k]), _mm256_extractf128_ps(acc[k], 1));
                let quarter = _mm_add_ps(half, _mm_movehl_ps(half, half));
                out[k] = _mm_cvtss_f32(_mm_add_ss(quarter, _mm_shuffle_ps(quarter, quarter, 1)));
                for j in i..n {
                    out[k] += super::from_f16(*r.add(j)) * *q[k].add(j);
                }
            }
            out
        }
    }

    /// [`dot_many`] with 16-lane registers: each sixteen-value step of the row is converted
    /// once (`vcvtph2ps` zmm) and multiplied into `N` accumulators, twice the multiply-adds per
    /// instruction of the AVX2 kernel. `U` interleaved steps give small batches `N × U`
    /// independent accumulator chains, so the FMA latency (4 cycles) stays hidden.
    ///
    /// # Safety
    /// The CPU must support AVX-512F; every query must be as long as `row`.
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub unsafe fn dot_many_avx512<const N: usize, const U: usize>(row: &[u16], queries: &[&[f32]; N]) -> [f32; N] {
        let n = row.len();
        debug_assert!(queries.iter().all(|q| q.len() == n));
        let r = row.as_ptr();
        let q = queries.map(<[f32]>::as_ptr);
        // SAFETY: every load reads inside the first `n` elements of `row` and of each query.
        unsafe {
            let mut acc = [[_mm512_setzero_ps(); N]; U];
            let mut i = 0;
            while i + 16 * U <= n {
                for (u, acc) in acc.iter_mut().enumerate() {
                    let at = i + 16 * u;
                    let x = _mm512_cvtph_ps(_mm256_loadu_si256(r.add(at).cast()));
                    for k in 0..N {
                        acc[k] = _mm512_fmadd_ps(x, _mm512_loadu_ps(q[k].add(at)), acc[k]);
                    }
                }
                i += 16 * U;
            }
            while i + 16 <= n {
                let x = _mm512_cvtph_ps(_mm256_loadu_si256(r.add(i).cast()));
                for k in 0..N {
                    acc[0][k] = _mm512_fmadd_ps(x, _mm512_loadu_ps(q[k].add(i)), acc[0][k]);
                }
                i += 16;
            }
            let mut out = [0.0f32; N];
            for k in 0..N {
                let mut sum = acc[0][k];
                for acc in &acc[1..] {
                    sum = _mm512_add_ps(sum, acc[k]);
                }
                out[k] = _mm512_reduce_add_ps(sum);
                for j in i..n {
                    out[k] += super::from_f16(*r.add(j)) * *q[k].add(j);
                }
            }
            out
        }
    }
}

/// Dot products of one f16 row with `N` f32 queries at once (the row is converted once).
#[inline]
pub fn dot_many<const N: usize>(row: &[u16], queries: &[&[f32]; N]) -> [f32; N] {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        // SAFETY: the CPU has AVX-512F (checked by `has_avx512`). Fewer queries, more
        // interleaved steps: at least eight independent accumulator chains either way.
        return unsafe {
            match N {
                0..=3 => x86::dot_many_avx512::<N, 4>(row, queries),
                4..=7 => x86::dot_many_avx512::<N, 2>(row, queries),
                _ => x86::dot_many_avx512::<N, 1>(row, queries),
            }
        };
    }
    #[cfg(target_arch = "x86_64")]
    if has_f16c() {
        // SAFETY: the CPU has AVX2, FMA and F16C (checked by `has_f16c`).
        return unsafe { x86::dot_many(row, queries) };
    }
    queries.map(|q| portable_dot(row, q))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_trip_and_round_to_nearest_even() {
        for x in [0.0f32, -0.0, 1.0, -2.5, 0.1, 65504.0, 6.1e-5, 5.96e-8, 1e-3, -0.33333] {
            let back = from_f16(to_f16(x));
            assert!((back - x).abs() <= x.abs() * 1e-3 + 6e-8, "{x} -> {back}");
        }
        assert_eq!(to_f16(1.0), 0x3c00);
        assert_eq!(to_f16(65520.0), 0x7c00, "overflow rounds to infinity");
        assert_eq!(to_f16(1.0 + 1.0 / 2048.0), 0x3c00, "a tie rounds to even");
        assert_eq!(to_f16(1.0 + 3.0 / 2048.0), 0x3c02);
        assert!(from_f16(to_f16(f32::NAN)).is_nan());
        for h in 0..0x7c00u16 {
            assert_eq!(to_f16(from_f16(h)), h, "every finite f16 survives a round trip");
        }
    }

    #[test]
    fn widening_matches_the_scalar_conversion() {
        // Every finite f16 and both infinities, after a prefix (appending, not overwriting).
        let values: Vec<u16> = (0..=u16::MAX).filter(|h| h & 0x7c00 != 0x7c00 || h & 0x3ff == 0).collect();
        let mut out = vec![7.0];
        extend_f32(&mut out, &values);
        assert_eq!(out.len(), values.len() + 1);
        assert_eq!(out[0], 7.0);
        for (&h, &got) in values.iter().zip(&out[1..]) {
            assert_eq!(got.to_bits(), from_f16(h).to_bits(), "f16 {h:#06x}");
        }
    }

    #[test]
    fn the_fast_dot_matches_the_portable_one() {
        for len in [0, 5, 8, 31, 32, 40, 383, 384] {
            let row: Vec<u16> = (0..len).map(|i| to_f16(((i as f32) * 0.37).sin() * 0.2)).collect();
            let query: Vec<f32> = (0..len).map(|i| ((i as f32) * 0.11).cos() * 0.05).collect();
            let (fast, slow) = (dot(&row, &query), portable_dot(&row, &query));
            assert!((fast - slow).abs() < 1e-5, "len {len}: {fast} vs {slow}");
        }
    }

    #[test]
    fn many_queries_at_once_match_one_at_a_time() {
        let row: Vec<u16> = (0..389).map(|i| to_f16(((i as f32) * 0.37).sin() * 0.2)).collect();
        let queries: Vec<Vec<f32>> =
            (0..8).map(|k| (0..389).map(|i| ((i * (k + 1)) as f32 * 0.11).cos() * 0.05).collect()).collect();
        let refs: [&[f32]; 8] = std::array::from_fn(|k| queries[k].as_slice());
        for (k, got) in dot_many(&row, &refs).into_iter().enumerate() {
            assert!((got - portable_dot(&row, &queries[k])).abs() < 1e-5, "query {k}");
        }
        // Small batches take the interleaved-step kernel (four steps at once for one query).
        let (one, two) = (dot_many(&row, &[refs[0]]), dot_many(&row, &[refs[1], refs[2]]));
        for (got, k) in [(one[0], 0), (two[0], 1), (two[1], 2)] {
            assert!((got - portable_dot(&row, &queries[k])).abs() < 1e-5, "small batch, query {k}");
        }
        #[cfg(target_arch = "x86_64")]
        if has_f16c() {
            // SAFETY: the CPU has AVX2, FMA and F16C; the queries are as long as the row.
            for (k, got) in unsafe { x86::dot_many(&row, &refs) }.into_iter().enumerate() {
                assert!((got - portable_dot(&row, &queries[k])).abs() < 1e-5, "AVX2, query {k}");
            }
        }
    }

    #[test]
    fn f16_rows_keep_cosines_within_1e_4() {
        let mut a: Vec<f32> = (0..384).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect();
        let mut b: Vec<f32> = (0..384).map(|i| ((i * 104_729) % 997) as f32 / 997.0 - 0.5).collect();
        crate::index::embedded::normalize(&mut a);
        crate::index::embedded::normalize(&mut b);
        let exact: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        let mut row = Vec::new();
        extend_f16(&mut row, &a);
        assert!((dot(&row, &b) - exact).abs() < 1e-4, "{} vs {exact}", dot(&row, &b));
    }
}
