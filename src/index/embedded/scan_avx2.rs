//! The batched scan's scoring on CPUs with AVX2, FMA and F16C but neither AMX nor AVX-512
//! (e.g. AMD Zen 3): a block of f16 rows against up to eight queries, compiled as one
//! function so the row kernel inlines into the loop.
//!
//! Three things the generic path (`scan::score_block` over `half::dot_many`) paid for per
//! row, and this one does not:
//! * a call per row through the run-time feature dispatch, which kept the kernel from
//!   inlining;
//! * one dependency chain per query: a batch of one or two queries waited on the FMA latency
//!   (4 cycles) every step. Here `U` interleaved steps give `N × U` ≥ 8 chains;
//! * a horizontal sum and a collector offer per query and row. Here the `N` sums are reduced
//!   together (`hadd` tree) into one register and compared with the `N` collectors' floors at
//!   once; only rows that beat a floor reach [`TopN::push`] (a few per thousand rows once the
//!   collectors have filled).

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::scan::{BatchQuery, Block, TopN, groups};

/// Whether [`score_rows`] can score rows of `dim` values on this CPU.
pub(super) fn usable(dim: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        dim > 0 && dim.is_multiple_of(32) && crate::half::has_f16c() && !crate::half::has_avx512()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = dim;
        false
    }
}

/// Scores the block's rows against every query of `queries` (in the groups of
/// [`groups`]), offering each query's collector the rows that may enter it.
///
/// # Safety
/// [`usable`]`(block.dim)` must hold; `block.data` must hold `block.rows.1` rows of `dim`
/// values, every query `dim` values, `block.chapter_of` an entry per row, and `tops` a
/// collector per query.
#[cfg(target_arch = "x86_64")]
pub(super) unsafe fn score_rows(block: &Block<'_>, queries: &[BatchQuery<'_>], tops: &mut [TopN]) {
    for (at, size) in groups(queries.len()) {
        let (q, t) = (&queries[at..], &mut tops[at..]);
        // SAFETY: forwarded contract; `usable` makes `dim` a multiple of 32 = 8 × the largest
        // `U`. `size × U` chains: 8, or 4 for a lone query (its steps are 32 values wide).
        unsafe {
            match size {
                8 => block.score::<8, 1>(q, t),
                4 => block.score::<4, 2>(q, t),
                2 => block.score::<2, 4>(q, t),
                _ => block.score::<1, 4>(q, t),
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
impl Block<'_> {
    /// Scores the rows against the first `N` queries with `U` interleaved steps.
    ///
    /// # Safety
    /// As [`score_rows`]; `dim` is a multiple of `8 × U`.
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn score<const N: usize, const U: usize>(&self, queries: &[BatchQuery<'_>], tops: &mut [TopN]) {
        let dim = self.dim;
        let vectors: [*const f32; N] = std::array::from_fn(|k| queries[k].vector.as_ptr());
        let mut floors = [f32::INFINITY; 8];
        for k in 0..N {
            floors[k] = tops[k].threshold();
        }
        for row in self.rows.0..self.rows.1 {
            // SAFETY: `row` < rows.1, so its `dim` values are inside `data` (the contract).
            let r = unsafe { self.data.as_ptr().add(row * dim) };
            let mut acc = [[_mm256_setzero_ps(); N]; U];
            let mut i = 0;
            while i < dim {
                for (u, acc) in acc.iter_mut().enumerate() {
                    // SAFETY: i + 8u + 8 ≤ dim, as `dim` is a multiple of 8U.
                    unsafe {
                        let x = _mm256_cvtph_ps(_mm_loadu_si128(r.add(i + 8 * u).cast()));
                        for k in 0..N {
                            acc[k] = _mm256_fmadd_ps(x, _mm256_loadu_ps(vectors[k].add(i + 8 * u)), acc[k]);
                        }
                    }
                }
                i += 8 * U;
            }
            let mut sums = [_mm256_setzero_ps(); 8];
            for (k, sum) in sums.iter_mut().enumerate().take(N) {
                *sum = acc.iter().fold(_mm256_setzero_ps(), |s, a| _mm256_add_ps(s, a[k]));
            }
            let scores = reduce8(&sums);
            // SAFETY: `floors` holds eight f32.
            let floor = unsafe { _mm256_loadu_ps(floors.as_ptr()) };
            let beat = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_GE_OQ>(scores, floor));
            if beat != 0 {
                self.offer(row, scores, beat as u32, queries, tops, &mut floors);
            }
        }
    }

    /// Offers `row` to the collectors whose floor its score reached (bits of `beat`).
    #[target_feature(enable = "avx2,fma,f16c")]
    fn offer(
        &self,
        row: usize,
        scores: __m256,
        mut beat: u32,
        queries: &[BatchQuery<'_>],
        tops: &mut [TopN],
        floors: &mut [f32; 8],
    ) {
        let mut lanes = [0.0f32; 8];
        // SAFETY: `lanes` holds eight f32.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), scores) };
        while beat != 0 {
            let k = beat.trailing_zeros() as usize;
            beat &= beat - 1;
            if queries[k].chapter.is_none_or(|c| self.chapter_of[row] == c) {
                tops[k].push(lanes[k], row);
                floors[k] = tops[k].threshold();
            }
        }
    }
}

/// The eight horizontal sums of `v`, in order, in one register.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn reduce8(v: &[__m256; 8]) -> __m256 {
    let t0 = _mm256_hadd_ps(v[0], v[1]);
    let t1 = _mm256_hadd_ps(v[2], v[3]);
    let t2 = _mm256_hadd_ps(v[4], v[5]);
    let t3 = _mm256_hadd_ps(v[6], v[7]);
    // Per 128-bit half: the partial sums of queries 0–3 and of 4–7.
    let (u0, u1) = (_mm256_hadd_ps(t0, t1), _mm256_hadd_ps(t2, t3));
    let low = _mm256_permute2f128_ps::<0x20>(u0, u1);
    let high = _mm256_permute2f128_ps::<0x31>(u0, u1);
    _mm256_add_ps(low, high)
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::half;

    #[test]
    fn the_eight_sums_come_out_in_query_order() {
        if !crate::half::has_f16c() {
            return;
        }
        let v: [[f32; 8]; 8] = std::array::from_fn(|k| std::array::from_fn(|i| (k * 10 + i) as f32));
        // SAFETY: AVX2 checked; each array holds eight f32.
        let sums = unsafe { reduce8(&v.map(|a| _mm256_loadu_ps(a.as_ptr()))) };
        let mut out = [0.0f32; 8];
        // SAFETY: as above.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), sums) };
        assert_eq!(out, std::array::from_fn(|k| v[k].iter().sum::<f32>()));
    }

    #[test]
    fn every_group_size_keeps_what_a_lone_scan_keeps_with_chapters_filtered() {
        if !usable(384) {
            return;
        }
        let (dim, rows) = (384, 3000);
        let values: Vec<f32> = (0..rows * dim).map(|i| (((i * 7919) % 1009) as f32 / 1009.0 - 0.5) * 0.1).collect();
        let mut data = Vec::new();
        half::extend_f16(&mut data, &values);
        let chapter_of: Vec<u32> = (0..rows as u32).map(|r| r % 3).collect();
        let vectors: Vec<Vec<f32>> =
            (0..15).map(|k| (0..dim).map(|i| ((i * (k + 2)) as f32 * 0.37).sin()).collect()).collect();
        // 15 queries: groups of 8, 4, 2 and 1.
        let batch: Vec<BatchQuery> = vectors
            .iter()
            .enumerate()
            .map(|(k, v)| BatchQuery { vector: v, n: 3 + k, chapter: (k % 3 == 0).then_some(2) })
            .collect();
        let mut tops: Vec<TopN> = batch.iter().map(|q| TopN::new(q.n)).collect();
        for first in (0..rows).step_by(64) {
            let block = Block { data: &data, dim, chapter_of: &chapter_of, rows: (first, (first + 64).min(rows)) };
            // SAFETY: `usable(384)` checked; shapes as the contract requires.
            unsafe { score_rows(&block, &batch, &mut tops) };
        }
        for (query, top) in batch.iter().zip(tops) {
            let keep = |row: usize| query.chapter.is_none_or(|c| chapter_of[row] == c);
            let alone = super::super::scan::top_n(&data, dim, query.vector, query.n, 1, &keep);
            let found = top.into_sorted();
            assert_eq!(
                found.iter().map(|s| s.row).collect::<Vec<_>>(),
                alone.iter().map(|s| s.row).collect::<Vec<_>>()
            );
            for (a, b) in found.iter().zip(&alone) {
                assert!((a.score - b.score).abs() < 1e-4, "{} vs {}", a.score, b.score);
            }
        }
    }
}
