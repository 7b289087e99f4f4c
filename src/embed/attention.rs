//! Attention of one sequence and one head without sgemm: every question of a search, and on
//! CPUs with AVX-512 every ingested chunk too.
//!
//! The encoder computes attention per (sequence, head): `softmax(scale · q kᵀ) v` over that
//! sequence's own tokens. For a question of a dozen tokens the two products are a few
//! thousand multiply-adds each, and the sgemm calls `bert` uses for long sequences spend
//! more than that packing their operands and allocating aligned buffers for them (about 4%
//! of the server's CPU under sixteen concurrent cold searches, more than the products). Up to
//! [`DIRECT_MAX_TOKENS`] tokens the products run here instead: each score a dot product of
//! two head-wide rows, each output row a sum of value rows weighted by the scores, both
//! vectorised (16 lanes) by the compiler through `kernels::multiversion!`. Measured with
//! `bench/embed.rs`: one question 1.08–1.15 → 0.98–1.00 ms. On CPUs with AVX-512 the head
//! runs in `x86` instead, with the keys as the vector lanes: scoring one key at a time ends in
//! a horizontal sum per score, which made this step 12% of the server's CPU under sixteen
//! concurrent cold searches. Longer sequences on those CPUs run in `x86_long` (scores through
//! scratch rows instead of registers): the sgemm path they replace spent as much packing
//! operands as multiplying them (ingestion of 256 chunks: 107–116 → 123–127 chunks/s).

use super::kernels::{multiversion, softmax_rows};

#[cfg(target_arch = "x86_64")]
mod x86;
#[cfg(target_arch = "x86_64")]
mod x86_long;

/// Longest sequence the portable loops and the register-block path attend; longer ones run
/// in `x86_long` where the CPU has AVX-512, else on the sgemm path in `bert`.
pub(crate) const DIRECT_MAX_TOKENS: usize = 64;

/// Whether [`attend`] takes a head of `len` tokens and `dh` dimensions (else `bert` runs it
/// as two sgemm calls).
pub(crate) fn direct(len: usize, dh: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    if x86::supports(dh) {
        return len >= 1;
    }
    (1..=DIRECT_MAX_TOKENS).contains(&len)
}

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

/// Scratch values [`attend`] needs for a head of `len` tokens and `dh` dimensions.
pub(crate) fn scratch_len(len: usize, dh: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    if x86::supports(dh) {
        return if len > DIRECT_MAX_TOKENS { x86_long::scratch_len(len, dh) } else { x86::scratch_len(dh) };
    }
    DIRECT_MAX_TOKENS * DIRECT_MAX_TOKENS
}

/// `out` (`len × dh`, row-major) = softmax(`scale` · q kᵀ) v for `head`; `scratch` holds at
/// least [`scratch_len`] values.
pub(crate) fn attend(qkv: &[f32], head: Head, scale: f32, scratch: &mut [f32], out: &mut [f32]) {
    let Head { len, dh, .. } = head;
    assert!(direct(len, dh) && scratch.len() >= scratch_len(len, dh), "attention scratch");
    assert!(out.len() >= len * dh && qkv.len() >= head.base + (len - 1) * 3 * head.h + 2 * head.h + dh);
    #[cfg(target_arch = "x86_64")]
    if x86::supports(dh) {
        // SAFETY: `supports` checked the CPU and the head width; the shapes are asserted above
        // (and a long head has more than 64 ≥ `x86_long`'s row block tokens).
        return unsafe {
            if len > DIRECT_MAX_TOKENS {
                x86_long::attend(qkv, head, scale, scratch, out)
            } else {
                x86::attend(qkv, head, scale, scratch, out)
            }
        };
    }
    let scores = &mut scratch[..len * len];
    score_rows(qkv, head, scale, scores);
    softmax_rows(scores, len);
    weigh_values(qkv, head, scores, &mut out[..len * dh]);
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
        // A hidden size of 128, the second head's columns, heads of 32 and 64 (the vectorised path
        // where the CPU has AVX-512) and 16 (the portable one); one to 64 tokens: one, two,
        // three and four vectors of keys, full and partial.
        let h = 128;
        let mut state = 7u32;
        let qkv: Vec<f32> = (0..256 * 3 * h)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect();
        let lens = [1, 8, 13, 16, 17, 33, 40, 64, 65, 72, 100, 175, 256];
        for (len, dh) in lens.into_iter().flat_map(|len| [(len, 32), (len, 64), (len, 16)]) {
            if !direct(len, dh) {
                assert!(len > DIRECT_MAX_TOKENS, "every head of up to 64 tokens is attended here");
                continue;
            }
            let head = Head { base: dh, len, h, dh };
            let (mut scratch, mut out) = (vec![f32::NAN; scratch_len(len, dh)], vec![f32::NAN; len * dh]);
            attend(&qkv[..(len - 1) * 3 * h + 2 * h + 2 * dh], head, 0.25, &mut scratch, &mut out);
            for (got, want) in out.iter().zip(naive(&qkv, head, 0.25)) {
                assert!((got - want).abs() < 1e-5, "{len} tokens, heads of {dh}: {got} vs {want}");
            }
        }
    }
}
