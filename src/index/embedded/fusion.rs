//! Fusion of the BM25 and dense candidate lists, two ways:
//!
//! - **convex** (default): `score(d) = α·dense'(d) + (1−α)·bm25'(d)` where each side's raw scores
//!   are min-max normalised over its candidate list and a missing side contributes 0. Keeping the
//!   score magnitudes generally beats rank-only fusion (Bruch, Gai & Ingber, "An Analysis of
//!   Fusion Functions for Hybrid Retrieval", TOIS 2023); on the development book it lifts hit@1
//!   from 0.844 (best RRF) to 0.858 at the untuned α = 0.5, and every α in 0.3–0.6 beats RRF.
//! - **rrf**: `score(d) = w_bm25 / (k + rank_bm25(d)) + w_dense / (k + rank_dense(d))`.
//!
//! Ranks are 1-based. Ties are broken by the best individual rank, then by rowid, so results
//! are deterministic.

use std::collections::HashMap;

use crate::index::{FusionMethod, FusionParams};

/// A fused candidate, identified by the chunk rowid.
#[derive(Debug, Clone, PartialEq)]
pub struct Fused {
    /// Chunk rowid.
    pub pk: i64,
    /// Fused RRF score.
    pub score: f32,
    /// Raw BM25 relevance and 1-based rank.
    pub bm25: Option<(f32, usize)>,
    /// Cosine and 1-based rank.
    pub dense: Option<(f32, usize)>,
}

impl Fused {
    fn best_rank(&self) -> usize {
        let b = self.bm25.map_or(usize::MAX, |(_, r)| r);
        let d = self.dense.map_or(usize::MAX, |(_, r)| r);
        b.min(d)
    }
}

/// Fuses two best-first lists of `(pk, raw score)`; returns the top `k`.
pub fn fuse(bm25: &[(i64, f32)], dense: &[(i64, f32)], params: &FusionParams, k: usize) -> Vec<Fused> {
    let mut by_pk: HashMap<i64, Fused> = HashMap::with_capacity(bm25.len() + dense.len());
    for (i, &(pk, raw)) in bm25.iter().enumerate() {
        let rank = i + 1;
        let entry = by_pk.entry(pk).or_insert(Fused { pk, score: 0.0, bm25: None, dense: None });
        entry.bm25 = Some((raw, rank));
        entry.score += params.bm25_weight / (params.k + rank as f32);
    }
    for (i, &(pk, raw)) in dense.iter().enumerate() {
        let rank = i + 1;
        let entry = by_pk.entry(pk).or_insert(Fused { pk, score: 0.0, bm25: None, dense: None });
        entry.dense = Some((raw, rank));
        entry.score += params.dense_weight / (params.k + rank as f32);
    }
    if params.method == FusionMethod::Convex {
        let (b, d) = (Range::of(bm25), Range::of(dense));
        let alpha = params.alpha.clamp(0.0, 1.0);
        for f in by_pk.values_mut() {
            f.score = alpha * d.scale(f.dense) + (1.0 - alpha) * b.scale(f.bm25);
        }
    }
    let mut fused: Vec<Fused> = by_pk.into_values().collect();
    fused.sort_by(|a, b| {
        b.score.total_cmp(&a.score).then_with(|| a.best_rank().cmp(&b.best_rank())).then_with(|| a.pk.cmp(&b.pk))
    });
    fused.truncate(k);
    fused
}

/// The span of one side's raw scores, for min-max scaling.
struct Range {
    min: f32,
    span: f32,
}

impl Range {
    fn of(list: &[(i64, f32)]) -> Self {
        let max = list.iter().map(|x| x.1).fold(f32::NEG_INFINITY, f32::max);
        let min = list.iter().map(|x| x.1).fold(f32::INFINITY, f32::min);
        Self { min, span: max - min }
    }

    /// A candidate's score on this side scaled to 0–1 over the list (all equal, or a single
    /// candidate → 1); 0 when the side did not find it.
    fn scale(&self, side: Option<(f32, usize)>) -> f32 {
        match side {
            Some((raw, _)) if self.span > f32::EPSILON => (raw - self.min) / self.span,
            Some(_) => 1.0,
            None => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn convex_fusion_keeps_score_margins_that_rank_fusion_loses() {
        // BM25 barely prefers 1 over 2; dense strongly prefers 2.
        let bm25 = [(1, 10.0), (2, 9.9), (3, 1.0)];
        let dense = [(2, 0.9), (3, 0.5), (1, 0.45)];
        let params = FusionParams { method: FusionMethod::Convex, alpha: 0.5, ..FusionParams::default() };
        let fused = fuse(&bm25, &dense, &params, 3);
        assert_eq!(fused[0].pk, 2);
        assert!(fused.iter().all(|f| (0.0..=1.0).contains(&f.score)));
    }

    #[test]
    fn a_single_candidate_side_normalises_to_one() {
        let params = FusionParams { method: FusionMethod::Convex, alpha: 0.5, ..FusionParams::default() };
        let fused = fuse(&[(7, 3.0)], &[], &params, 1);
        assert_eq!(fused[0].score, 0.5);
    }

    #[test]
    fn rrf_rewards_agreement_and_keeps_raw_scores() {
        let params = FusionParams { method: FusionMethod::Rrf, ..FusionParams::default() };
        let bm25 = [(1, 9.0), (2, 5.0), (3, 1.0)];
        let dense = [(2, 0.9), (3, 0.8)];
        let out = fuse(&bm25, &dense, &params, 10);
        assert_eq!(out.iter().map(|f| f.pk).collect::<Vec<_>>(), vec![2, 3, 1]);
        assert_eq!(out[0].bm25, Some((5.0, 2)));
        assert_eq!(out[0].dense, Some((0.9, 1)));
        assert!((out[0].score - (1.0 / 62.0 + 1.0 / 61.0)).abs() < 1e-6);
        assert_eq!(out[2].dense, None);
    }

    #[test]
    fn weights_and_truncation() {
        let params = FusionParams { method: FusionMethod::Rrf, bm25_weight: 0.0, ..FusionParams::default() };
        let out = fuse(&[(1, 3.0)], &[(2, 0.5)], &params, 1);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].pk, 2);
    }
}
