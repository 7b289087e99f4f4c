//! Reciprocal-rank fusion of the BM25 and dense candidate lists.
//!
//! `score(d) = w_bm25 / (k + rank_bm25(d)) + w_dense / (k + rank_dense(d))`
//! with 1-based ranks and a missing side contributing 0. Ties are broken by the
//! best individual rank, then by rowid, so results are deterministic.

use std::collections::HashMap;

use crate::index::FusionParams;

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
    let mut fused: Vec<Fused> = by_pk.into_values().collect();
    fused.sort_by(|a, b| {
        b.score.total_cmp(&a.score).then_with(|| a.best_rank().cmp(&b.best_rank())).then_with(|| a.pk.cmp(&b.pk))
    });
    fused.truncate(k);
    fused
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrf_rewards_agreement_and_keeps_raw_scores() {
        let params = FusionParams::default();
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
        let params = FusionParams { bm25_weight: 0.0, ..FusionParams::default() };
        let out = fuse(&[(1, 3.0)], &[(2, 0.5)], &params, 1);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].pk, 2);
    }
}
