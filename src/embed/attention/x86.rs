//! The AVX-512 path of `super::attend`: one head of a short sequence with the keys as the
//! vector lanes.
//!
//! The head's keys are transposed once into scratch (one row per head dimension, 16 keys per
//! vector, 16 × 16 blocks at a time in registers), so the scores of `R` query rows against up
//! to 64 keys are `dh` rounds of broadcast multiply-adds into `R × C` registers; the softmax runs on those
//! registers, the padding lanes masked out; and the output rows are the value rows weighted by
//! the scores, `R × D` more registers. Every sum of a block is independent of the others, so
//! the multiply-adds overlap instead of waiting on each other. Written with intrinsics because
//! LLVM, left to vectorise the same loops, picked the wrong axis (gathers and scatters on the
//! accumulators, slower than the scalar code).

use std::arch::x86_64::*;

use super::super::kernels::x86::exp;
use super::{DIRECT_MAX_TOKENS, Head};

/// Tokens (or head columns) per vector.
const LANES: usize = 16;

/// Whether this path takes heads of `dh` dimensions: 32 (MiniLM) or 64 (BERT-base).
pub(super) fn supports(dh: usize) -> bool {
    (dh == 2 * LANES || dh == 4 * LANES) && std::is_x86_feature_detected!("avx512f")
}

/// Scratch values [`attend`] needs for heads of `dh` dimensions.
pub(super) fn scratch_len(dh: usize) -> usize {
    dh * DIRECT_MAX_TOKENS
}

/// `out` (`len × dh`) = softmax(`scale` · q kᵀ) v for `head`.
///
/// # Safety
/// [`supports`] must have returned true for `head.dh`; `head.len` must be 1..=64, `qkv` must
/// hold the head's rows, `scratch` [`scratch_len`] values and `out` `len × dh`.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn attend(qkv: &[f32], head: Head, scale: f32, scratch: &mut [f32], out: &mut [f32]) {
    let width = head.len.div_ceil(LANES) * LANES;
    let keys = &mut scratch[..head.dh * width];
    // SAFETY: forwarded from the caller; the arms match the vector counts of the head.
    unsafe {
        transpose_keys(qkv, head, keys);
        let run = Run { qkv, head, scale, keys };
        match (width / LANES, head.dh / LANES) {
            (1, 2) => rows::<1, 8, 2>(&run, out),
            (2, 2) => rows::<2, 4, 2>(&run, out),
            (3, 2) => rows::<3, 2, 2>(&run, out),
            (_, 2) => rows::<4, 2, 2>(&run, out),
            (1, _) => rows::<1, 4, 4>(&run, out),
            (2, _) => rows::<2, 4, 4>(&run, out),
            (3, _) => rows::<3, 2, 4>(&run, out),
            (_, _) => rows::<4, 2, 4>(&run, out),
        }
    }
}

/// `keys[d][j]` = dimension `d` of key `j`, rows `width` wide, zero past the last key: 16 × 16
/// blocks transposed in registers.
///
/// # Safety
/// The CPU must have AVX-512F; `dh` is a multiple of 16 and `keys` holds `dh × width` values.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn transpose_keys(qkv: &[f32], head: Head, keys: &mut [f32]) {
    let Head { base, len, h, dh } = head;
    let width = keys.len() / dh;
    for first in (0..width).step_by(LANES) {
        for column in (0..dh).step_by(LANES) {
            let rows: [__m512; LANES] = std::array::from_fn(|i| match first + i {
                // SAFETY: key `token` has `dh` values from `base + h + token · 3h` in `qkv`.
                token if token < len => unsafe {
                    _mm512_loadu_ps(qkv[base + h + token * 3 * h + column..][..LANES].as_ptr())
                },
                _ => _mm512_setzero_ps(),
            });
            for (d, row) in transpose16(rows).into_iter().enumerate() {
                // SAFETY: row `column + d` of `keys` has 16 values from `first`.
                unsafe { _mm512_storeu_ps(keys[(column + d) * width + first..][..LANES].as_mut_ptr(), row) };
            }
        }
    }
}

/// The transpose of a 16 × 16 block (`rows[i]` lane `k` becomes `out[k]` lane `i`): 32-bit
/// and 64-bit interleaves within 128-bit lanes, then two rounds of 128-bit lane shuffles.
#[target_feature(enable = "avx512f")]
fn transpose16(rows: [__m512; LANES]) -> [__m512; LANES] {
    // t[2p], t[2p + 1]: rows 2p and 2p + 1 interleaved, the low and high pairs of each lane.
    let t: [__m512; LANES] = std::array::from_fn(|i| {
        let (a, b) = (rows[i & !1], rows[i | 1]);
        if i % 2 == 0 { _mm512_unpacklo_ps(a, b) } else { _mm512_unpackhi_ps(a, b) }
    });
    // u[4g + m]: element m of every 128-bit lane, from rows 4g..4g + 4.
    let u: [__m512; LANES] = std::array::from_fn(|i| {
        let (g, m) = (i / 4, i % 4);
        let (a, b) = (_mm512_castps_pd(t[4 * g + m / 2]), _mm512_castps_pd(t[4 * g + 2 + m / 2]));
        _mm512_castpd_ps(if m % 2 == 0 { _mm512_unpacklo_pd(a, b) } else { _mm512_unpackhi_pd(a, b) })
    });
    // v[m], v[4 + m] (rows 0..8) and w[m], w[4 + m] (rows 8..16): lanes 0 and 2, 1 and 3.
    let v: [__m512; 8] = std::array::from_fn(|i| {
        let m = i % 4;
        if i < 4 { _mm512_shuffle_f32x4::<0x88>(u[m], u[4 + m]) } else { _mm512_shuffle_f32x4::<0xdd>(u[m], u[4 + m]) }
    });
    let w: [__m512; 8] = std::array::from_fn(|i| {
        let m = i % 4;
        if i < 4 {
            _mm512_shuffle_f32x4::<0x88>(u[8 + m], u[12 + m])
        } else {
            _mm512_shuffle_f32x4::<0xdd>(u[8 + m], u[12 + m])
        }
    });
    std::array::from_fn(|k| {
        let (lane, m) = (k / 4, k % 4);
        match lane {
            0 => _mm512_shuffle_f32x4::<0x88>(v[m], w[m]),
            1 => _mm512_shuffle_f32x4::<0x88>(v[4 + m], w[4 + m]),
            2 => _mm512_shuffle_f32x4::<0xdd>(v[m], w[m]),
            _ => _mm512_shuffle_f32x4::<0xdd>(v[4 + m], w[4 + m]),
        }
    })
}

/// One head's operands: the packed activations, the score scale and the transposed keys.
struct Run<'a> {
    qkv: &'a [f32],
    head: Head,
    scale: f32,
    keys: &'a [f32],
}

/// All query rows, `R` at a time, against `C` vectors of keys and `D` vectors of value columns.
///
/// # Safety
/// As [`attend`], with `C = ⌈len / 16⌉`, `D = dh / 16` and `R ≤ 16`.
#[target_feature(enable = "avx512f")]
unsafe fn rows<const C: usize, const R: usize, const D: usize>(run: &Run<'_>, out: &mut [f32]) {
    let Head { base, len, h, dh } = run.head;
    let width = C * LANES;
    for first in (0..len).step_by(R) {
        // A block never starts past width - R: rows beyond the last token repeat it or
        // recompute a neighbour, and only rows first..len are written.
        let at = first.min(width - R);
        // SAFETY: forwarded from the caller.
        let weights = unsafe { softmax::<C, R>(scores::<C, R>(run, at), len, run.scale) };
        let mut sums = [[_mm512_setzero_ps(); D]; R];
        for j in 0..len {
            let v = &run.qkv[base + 2 * h + j * 3 * h..][..D * LANES];
            // SAFETY: `v` holds D × 16 values.
            let v: [__m512; D] = std::array::from_fn(|c| unsafe { _mm512_loadu_ps(v.as_ptr().add(c * LANES)) });
            for (acc, w) in sums.iter_mut().zip(&weights) {
                let w = _mm512_set1_ps(w[j]);
                for (s, v) in acc.iter_mut().zip(v) {
                    *s = _mm512_fmadd_ps(w, v, *s);
                }
            }
        }
        let block = &mut out[first * dh..(first + R).min(len) * dh];
        for (row, acc) in block.chunks_exact_mut(dh).zip(&sums[first - at..]) {
            for (c, s) in acc.iter().enumerate() {
                // SAFETY: `row` holds dh = D × 16 values.
                unsafe { _mm512_storeu_ps(row.as_mut_ptr().add(c * LANES), *s) };
            }
        }
    }
}

/// Unscaled scores of query rows `at..at + R` (the last row standing in for those past the
/// end) against every key, `C` vectors each.
///
/// # Safety
/// As [`rows`].
#[target_feature(enable = "avx512f")]
unsafe fn scores<const C: usize, const R: usize>(run: &Run<'_>, at: usize) -> [[__m512; C]; R] {
    let Head { base, len, h, dh } = run.head;
    let width = C * LANES;
    let queries: [&[f32]; R] = std::array::from_fn(|r| &run.qkv[base + (at + r).min(len - 1) * 3 * h..][..dh]);
    let mut acc = [[_mm512_setzero_ps(); C]; R];
    for d in 0..dh {
        let k = &run.keys[d * width..][..width];
        // SAFETY: `k` holds C × 16 values.
        let k: [__m512; C] = std::array::from_fn(|c| unsafe { _mm512_loadu_ps(k.as_ptr().add(c * LANES)) });
        for (q, row) in queries.iter().zip(&mut acc) {
            let q = _mm512_set1_ps(q[d]);
            for (s, k) in row.iter_mut().zip(k) {
                *s = _mm512_fmadd_ps(q, k, *s);
            }
        }
    }
    acc
}

/// Each row's softmax of its `scale`d scores over its first `len` lanes, as plain values (the
/// other lanes 0).
///
/// # Safety
/// The CPU must have AVX-512F.
#[target_feature(enable = "avx512f")]
unsafe fn softmax<const C: usize, const R: usize>(
    scores: [[__m512; C]; R],
    len: usize,
    scale: f32,
) -> [[f32; DIRECT_MAX_TOKENS]; R] {
    let scale = _mm512_set1_ps(scale);
    let masks: [__mmask16; C] = std::array::from_fn(|c| {
        let valid = len.saturating_sub(c * LANES).min(LANES);
        ((1u32 << valid) - 1) as __mmask16
    });
    let mut weights = [[0.0f32; DIRECT_MAX_TOKENS]; R];
    for (row, out) in scores.iter().zip(&mut weights) {
        let row = row.map(|s| _mm512_mul_ps(s, scale));
        let mut max = _mm512_set1_ps(f32::NEG_INFINITY);
        for (s, &m) in row.iter().zip(&masks) {
            max = _mm512_mask_max_ps(max, m, max, *s);
        }
        let max = _mm512_set1_ps(_mm512_reduce_max_ps(max));
        let mut e = [_mm512_setzero_ps(); C];
        let mut total = _mm512_setzero_ps();
        for ((e, s), &m) in e.iter_mut().zip(&row).zip(&masks) {
            *e = _mm512_maskz_mov_ps(m, exp(_mm512_sub_ps(*s, max)));
            total = _mm512_add_ps(total, *e);
        }
        let inv = _mm512_set1_ps(1.0 / _mm512_reduce_add_ps(total));
        for (c, e) in e.iter().enumerate() {
            // SAFETY: C × 16 ≤ 64 values fit in `out`.
            unsafe { _mm512_storeu_ps(out.as_mut_ptr().add(c * LANES), _mm512_mul_ps(*e, inv)) };
        }
    }
    weights
}
