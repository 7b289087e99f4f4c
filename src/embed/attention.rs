//! Attention of one short sequence and one head in plain loops, for the questions of a search.
//!
//! The encoder computes attention per (sequence, head): `softmax(scale · q kᵀ) v` over that
//! sequence's own tokens. For a question of a dozen tokens the two products are a few
//! thousand multiply-adds each, and the sgemm calls `bert` uses for long sequences spend
//! more than that packing their operands and allocating aligned buffers for them (about 4%
//! of the server's CPU under sixteen concurrent cold searches, more than the products). Up to
//! [`DIRECT_MAX_TOKENS`] tokens the products run here instead: each score a dot product of
//! two head-wide rows, each output row a sum of value rows weighted by the scores, both
//! vectorised (16 lanes) by the compiler through `kernels::multiversion!`. Measured with
//! `bench/embed.rs`: one question 1.08–1.15 → 0.98–1.00 ms; under sixteen concurrent cold
//! searches the change is inside the server benchmark's noise.

use super::kernels::{multiversion, softmax_rows};

/// Longest sequence attended here; longer ones use the sgemm path in `bert`.
pub(crate) const DIRECT_MAX_TOKENS: usize = 64;

/// Where one (sequence, head) reads its rows in the packed `qkv` activations.
#[derive(Clone, Copy)]
pub(crate) struct Head {
    /// Index in `qkv` of the sequence's first query value for this head.
    pub base: usize,
    /// Tokens of the sequence.
    pub len: usize,
    /// Hidden size: q, k and v of a token are `h` apart, tokens `3h` apart.
    pub h: usize,
    /// Head width.
    pub dh: usize,
}

/// `out` (`len × dh`, row-major) = softmax(`scale` · q kᵀ) v for `head`; `scores` is scratch
/// of at least `len × len` values.
pub(crate) fn attend(qkv: &[f32], head: Head, scale: f32, scores: &mut [f32], out: &mut [f32]) {
    let Head { len, dh, .. } = head;
    debug_assert!(len <= DIRECT_MAX_TOKENS && scores.len() >= len * len && out.len() >= len * dh);
    score_rows(qkv, head, scale, &mut scores[..len * len]);
    softmax_rows(&mut scores[..len * len], len);
    weigh_values(qkv, head, &scores[..len * len], &mut out[..len * dh]);
}

multiversion! {
    /// `scores[i][j] = scale · q_i · k_j`.
    fn score_rows(qkv: &[f32], head: Head, scale: f32, scores: &mut [f32]) {
        let Head { base, len, h, dh } = head;
        for (i, row) in scores.chunks_exact_mut(len).enumerate() {
            let q = &qkv[base + i * 3 * h..][..dh];
            for (j, score) in row.iter_mut().enumerate() {
                let k = &qkv[base + h + j * 3 * h..][..dh];
                *score = scale * dot(q, k);
            }
        }
    }
}

multiversion! {
    /// `out_i = Σ_j scores[i][j] · v_j`.
    fn weigh_values(qkv: &[f32], head: Head, scores: &[f32], out: &mut [f32]) {
        let Head { base, len, h, dh } = head;
        for (weights, row) in scores.chunks_exact(len).zip(out.chunks_exact_mut(dh)) {
            row.fill(0.0);
            for (j, &w) in weights.iter().enumerate() {
                let v = &qkv[base + 2 * h + j * 3 * h..][..dh];
                for (o, v) in row.iter_mut().zip(v) {
                    *o += w * v;
                }
            }
        }
    }
}

/// Dot product with 16 independent accumulators (vectorisable).
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..16 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook formula, one value at a time.
    fn naive(qkv: &[f32], head: Head, scale: f32) -> Vec<f32> {
        let Head { base, len, h, dh } = head;
        let at = |token: usize, part: usize, d: usize| qkv[base + part * h + token * 3 * h + d];
        let mut out = vec![0.0; len * dh];
        for i in 0..len {
            let scores: Vec<f32> =
                (0..len).map(|j| scale * (0..dh).map(|d| at(i, 0, d) * at(j, 1, d)).sum::<f32>()).collect();
            let max = scores.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let total: f32 = scores.iter().map(|s| (s - max).exp()).sum();
            for d in 0..dh {
                out[i * dh + d] = (0..len).map(|j| (scores[j] - max).exp() / total * at(j, 2, d)).sum();
            }
        }
        out
    }

    #[test]
    fn attention_in_loops_matches_the_textbook_formula() {
        // Two heads of 32 in a hidden size of 64, 13 tokens; the second head's columns.
        let (h, dh, len) = (64, 32, 13);
        let mut state = 7u32;
        let qkv: Vec<f32> = (0..len * 3 * h)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect();
        let head = Head { base: dh, len, h, dh };
        let (mut scores, mut out) = (vec![0.0; len * len], vec![0.0; len * dh]);
        attend(&qkv, head, 0.25, &mut scores, &mut out);
        for (got, want) in out.iter().zip(naive(&qkv, head, 0.25)) {
            assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        }
    }
}
