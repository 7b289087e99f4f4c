//! The AVX-512 path of `super::attend` for sequences longer than one block of registers holds
//! (over 64 tokens: the chunks of an ingested book, up to 256 tokens).
//!
//! Same layout as `x86`: the head's keys transposed once into scratch, 16 keys a vector. A
//! block of `R` query rows is then scored against every key vector in turn (`dh` broadcast
//! multiply-adds into `R` independent registers), the scores go to scratch, each row's softmax
//! runs over its scratch row, and the output rows are the value rows weighted by those
//! scores (`R × D` registers). Before, these heads ran as two sgemm calls with a separate
//! softmax, and packing the sgemm operands cost about as much as the products (~30% of an
//! ingestion batch in all).

use std::arch::x86_64::*;

use super::super::kernels::x86::exp;
use super::Head;
use super::x86::transpose_keys;

/// Tokens (or head columns) per vector.
const LANES: usize = 16;
/// Query rows scored together (independent multiply-add chains).
const ROWS: usize = 8;

/// Scratch values [`attend`] needs for `len` tokens of `dh` dimensions: the transposed keys
/// and one row of scores per query row of a block.
pub(super) fn scratch_len(len: usize, dh: usize) -> usize {
    (dh + ROWS) * len.div_ceil(LANES) * LANES
}

/// `out` (`len × dh`) = softmax(`scale` · q kᵀ) v for `head`.
///
/// # Safety
/// The CPU must have AVX-512F, `head.dh` must be 32 or 64 and `head.len` at least [`ROWS`];
/// `qkv` must hold the head's rows, `scratch` [`scratch_len`] values and `out` `len × dh`.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn attend(qkv: &[f32], head: Head, scale: f32, scratch: &mut [f32], out: &mut [f32]) {
    let width = head.len.div_ceil(LANES) * LANES;
    let (keys, weights) = scratch.split_at_mut(head.dh * width);
    // SAFETY: forwarded from the caller; the arms match the head's value vectors.
    unsafe {
        transpose_keys(qkv, head, keys);
        let run = Run { qkv, head, scale, keys, width };
        match head.dh / LANES {
            2 => rows::<ROWS, 2>(&run, &mut weights[..ROWS * width], out),
            _ => rows::<{ ROWS / 2 }, 4>(&run, &mut weights[..ROWS / 2 * width], out),
        }
    }
}

/// One head's operands: the packed activations, the score scale, the transposed keys and
/// their row width (the tokens rounded up to whole vectors).
struct Run<'a> {
    qkv: &'a [f32],
    head: Head,
    scale: f32,
    keys: &'a [f32],
    width: usize,
}

/// All query rows, `R` at a time, with `D` vectors of value columns; `weights` holds `R`
/// rows of `width` scores.
///
/// # Safety
/// As [`attend`], with `D = dh / 16` and `len ≥ R`.
#[target_feature(enable = "avx512f")]
unsafe fn rows<const R: usize, const D: usize>(run: &Run<'_>, weights: &mut [f32], out: &mut [f32]) {
    let Head { base, len, h, dh } = run.head;
    for first in (0..len).step_by(R) {
        // The last block ends at the last token: it recomputes a few rows of the one before.
        let at = first.min(len - R);
        // SAFETY: forwarded from the caller.
        unsafe {
            scores::<R>(run, at, weights);
            softmax(weights, run.width, len, run.scale);
        }
        let mut sums = [[_mm512_setzero_ps(); D]; R];
        for j in 0..len {
            let v = &run.qkv[base + 2 * h + j * 3 * h..][..D * LANES];
            // SAFETY: `v` holds D × 16 values.
            let v: [__m512; D] = std::array::from_fn(|c| unsafe { _mm512_loadu_ps(v.as_ptr().add(c * LANES)) });
            for (r, acc) in sums.iter_mut().enumerate() {
                let w = _mm512_set1_ps(weights[r * run.width + j]);
                for (s, v) in acc.iter_mut().zip(v) {
                    *s = _mm512_fmadd_ps(w, v, *s);
                }
            }
        }
        for (r, acc) in sums.iter().enumerate().skip(first - at) {
            let row = &mut out[(at + r) * dh..][..dh];
            for (c, s) in acc.iter().enumerate() {
                // SAFETY: `row` holds dh = D × 16 values.
                unsafe { _mm512_storeu_ps(row.as_mut_ptr().add(c * LANES), *s) };
            }
        }
    }
}

/// Unscaled scores of query rows `at..at + R` against every key, into `weights` (`R` rows of
/// `width`; lanes past the last key score 0, the keys there being zero).
///
/// # Safety
/// As [`rows`].
#[target_feature(enable = "avx512f")]
unsafe fn scores<const R: usize>(run: &Run<'_>, at: usize, weights: &mut [f32]) {
    let Head { base, h, dh, .. } = run.head;
    let width = run.width;
    let queries: [&[f32]; R] = std::array::from_fn(|r| &run.qkv[base + (at + r) * 3 * h..][..dh]);
    for first in (0..width).step_by(LANES) {
        let mut acc = [_mm512_setzero_ps(); R];
        for d in 0..dh {
            // SAFETY: row `d` of the keys has `width` values.
            let k = unsafe { _mm512_loadu_ps(run.keys[d * width + first..][..LANES].as_ptr()) };
            for (s, q) in acc.iter_mut().zip(&queries) {
                *s = _mm512_fmadd_ps(_mm512_set1_ps(q[d]), k, *s);
            }
        }
        for (r, s) in acc.iter().enumerate() {
            // SAFETY: row `r` of `weights` has `width` values.
            unsafe { _mm512_storeu_ps(weights[r * width + first..][..LANES].as_mut_ptr(), *s) };
        }
    }
}

/// Each row of `weights` (`width` apart) replaced by the softmax of its `scale`d scores over
/// its first `len` lanes (the other lanes 0).
///
/// # Safety
/// The CPU must have AVX-512F; `width` is a multiple of 16 and `len ≤ width`.
#[target_feature(enable = "avx512f")]
unsafe fn softmax(weights: &mut [f32], width: usize, len: usize, scale: f32) {
    let scale = _mm512_set1_ps(scale);
    let mask = |first: usize| ((1u32 << len.saturating_sub(first).min(LANES)) - 1) as __mmask16;
    for row in weights.chunks_exact_mut(width) {
        let mut max = _mm512_set1_ps(f32::NEG_INFINITY);
        for (first, block) in (0..width).step_by(LANES).zip(row.chunks_exact_mut(LANES)) {
            // SAFETY: `block` holds 16 values.
            let s = unsafe { _mm512_mul_ps(_mm512_loadu_ps(block.as_ptr()), scale) };
            max = _mm512_mask_max_ps(max, mask(first), max, s);
            // SAFETY: as above.
            unsafe { _mm512_storeu_ps(block.as_mut_ptr(), s) };
        }
        let max = _mm512_set1_ps(_mm512_reduce_max_ps(max));
        let mut total = _mm512_setzero_ps();
        for (first, block) in (0..width).step_by(LANES).zip(row.chunks_exact_mut(LANES)) {
            // SAFETY: `block` holds 16 values.
            let e =
                unsafe { _mm512_maskz_mov_ps(mask(first), exp(_mm512_sub_ps(_mm512_loadu_ps(block.as_ptr()), max))) };
            total = _mm512_add_ps(total, e);
            // SAFETY: as above.
            unsafe { _mm512_storeu_ps(block.as_mut_ptr(), e) };
        }
        let inv = _mm512_set1_ps(1.0 / _mm512_reduce_add_ps(total));
        for block in row.chunks_exact_mut(LANES) {
            // SAFETY: `block` holds 16 values.
            unsafe { _mm512_storeu_ps(block.as_mut_ptr(), _mm512_mul_ps(_mm512_loadu_ps(block.as_ptr()), inv)) };
        }
    }
}
