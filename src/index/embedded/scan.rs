//! Exact top-N dot-product scan over a contiguous row-major matrix of f16 rows (see `half`)
//! against an f32 query.
//!
//! The row kernel is `half::dot` (F16C + FMA on x86-64, chosen once per scan, not per row).
//! The f32 [`dot`] (16 independent accumulators, so LLVM vectorises it without
//! `-ffast-math`) serves normalisation. The scan is memory-bound (1M x 384 x 2 B = 768 MB
//! streamed per query), so for large matrices the rows are split across a few scoped
//! threads, each keeping its own bounded min-heap, merged at the end.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::scan_amx;
use crate::half;

/// Rows below which the scan stays on one thread.
pub const PARALLEL_MIN_ROWS: usize = 32_768;

/// Lane count of the accumulator array.
const LANES: usize = 16;

/// Dot product of two equally long slices.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let (a_chunks, a_rest) = a.as_chunks::<LANES>();
    let (b_chunks, b_rest) = b.as_chunks::<LANES>();
    let mut acc = [0.0f32; LANES];
    for (x, y) in a_chunks.iter().zip(b_chunks) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in a_rest.iter().zip(b_rest) {
        tail += x * y;
    }
    // Pairwise reduction keeps the rounding error small and vectorises too.
    let mut width = LANES / 2;
    while width > 0 {
        for i in 0..width {
            acc[i] += acc[i + width];
        }
        width /= 2;
    }
    acc[0] + tail
}

/// Scales `v` to unit L2 norm (left unchanged if its norm is zero).
pub fn normalize(v: &mut [f32]) {
    let norm = dot(v, v).sqrt();
    if norm > 0.0 && norm.is_finite() {
        let inv = 1.0 / norm;
        v.iter_mut().for_each(|x| *x *= inv);
    }
}

/// A scored row, ordered so that `BinaryHeap<Scored>` is a *min*-heap on score
/// (ties broken by row so results are deterministic).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    /// Similarity.
    pub score: f32,
    /// Row index in the matrix.
    pub row: usize,
}

impl Eq for Scored {}

impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        other.score.total_cmp(&self.score).then_with(|| self.row.cmp(&other.row))
    }
}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Bounded collector of the `n` best rows.
#[derive(Debug)]
pub struct TopN {
    n: usize,
    heap: BinaryHeap<Scored>,
}

impl TopN {
    /// Collector keeping at most `n` rows.
    pub fn new(n: usize) -> Self {
        Self { n, heap: BinaryHeap::with_capacity(n + 1) }
    }

    /// Offers a row.
    #[inline]
    pub fn push(&mut self, score: f32, row: usize) {
        if self.heap.len() < self.n {
            self.heap.push(Scored { score, row });
        } else if let Some(mut worst) = self.heap.peek_mut()
            && (Scored { score, row }) < *worst
        {
            // Better by the full order (a tie goes to the lower row), so merged collectors keep
            // what one sequential scan keeps. Replacing the root sifts once, not twice.
            *worst = Scored { score, row };
        }
    }

    /// The score a row must beat to enter: the worst kept one once full, -∞ before.
    #[inline]
    pub fn threshold(&self) -> f32 {
        match self.heap.peek() {
            Some(worst) if self.heap.len() >= self.n => worst.score,
            _ => f32::NEG_INFINITY,
        }
    }

    /// Merges another collector into this one.
    pub fn merge(&mut self, other: TopN) {
        for s in other.heap {
            self.push(s.score, s.row);
        }
    }

    /// Best first.
    pub fn into_sorted(self) -> Vec<Scored> {
        // `into_sorted_vec` is ascending by `Ord`, i.e. descending by score.
        self.heap.into_sorted_vec()
    }
}

/// What a scan keeps: rows `keep(row)` accepts.
type Keep<'a> = &'a (dyn Fn(usize) -> bool + Sync);

/// Scans rows `[start, end)` of `data` (row length `dim`), keeping the best `n`
/// rows for which `keep(row)` holds.
fn scan_range(data: &[u16], dim: usize, query: &[f32], range: (usize, usize), n: usize, keep: Keep<'_>) -> TopN {
    #[cfg(target_arch = "x86_64")]
    if half::has_f16c() {
        // SAFETY: the CPU has AVX2, FMA and F16C (checked just above).
        return unsafe { scan_range_f16c(data, dim, query, range, n, keep) };
    }
    scan_range_with(data, dim, query, range, n, keep, half::portable_dot)
}

/// [`scan_range`] compiled with F16C so that the row kernel inlines into the loop.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
fn scan_range_f16c(data: &[u16], dim: usize, query: &[f32], range: (usize, usize), n: usize, keep: Keep<'_>) -> TopN {
    // SAFETY: this function only runs on CPUs with the features the kernel needs.
    scan_range_with(data, dim, query, range, n, keep, |row, q| unsafe { half::x86::dot(row, q) })
}

#[inline(always)]
fn scan_range_with(
    data: &[u16],
    dim: usize,
    query: &[f32],
    (start, end): (usize, usize),
    n: usize,
    keep: Keep<'_>,
    dot: impl Fn(&[u16], &[f32]) -> f32,
) -> TopN {
    let mut top = TopN::new(n);
    let rows = data[start * dim..end * dim].chunks_exact(dim);
    for (offset, row) in rows.enumerate() {
        let index = start + offset;
        if keep(index) {
            top.push(dot(row, query), index);
        }
    }
    top
}

/// Best `n` rows of the whole matrix by dot product with `query`, filtered by
/// `keep`, best first. Uses up to `threads` scoped threads for large inputs.
pub fn top_n(data: &[u16], dim: usize, query: &[f32], n: usize, threads: usize, keep: Keep<'_>) -> Vec<Scored> {
    if dim == 0 || n == 0 {
        return Vec::new();
    }
    let rows = data.len() / dim;
    let threads = threads.clamp(1, 16);
    if rows < PARALLEL_MIN_ROWS || threads == 1 {
        return scan_range(data, dim, query, (0, rows), n, keep).into_sorted();
    }
    let per = rows.div_ceil(threads);
    let mut total = TopN::new(n);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let range = (t * per, ((t + 1) * per).min(rows));
                scope.spawn(move || scan_range(data, dim, query, range, n, keep))
            })
            .collect();
        for handle in handles {
            match handle.join() {
                Ok(part) => total.merge(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    total.into_sorted()
}

/// One query of a batch scanned in a single pass ([`top_n_many`]).
#[derive(Debug, Clone, Copy)]
pub struct BatchQuery<'a> {
    /// The (unit) query vector.
    pub vector: &'a [f32],
    /// How many rows it wants.
    pub n: usize,
    /// Only rows of this chapter (an entry of `chapter_of`), if set.
    pub chapter: Option<u32>,
}

/// Rows scored against every query of a batch before moving on (48 KB of f16 at 384 dims:
/// the block stays in L1/L2 while the query groups take their turns).
const BATCH_BLOCK_ROWS: usize = 64;

/// The best rows of every query of a batch, in one pass over the matrix: each block of rows
/// is read from memory once and scored against the queries eight at a time, so concurrent
/// searches share the memory traffic that bounds a lone scan. Large passes split the rows
/// across up to `threads` scoped threads, each with its own collectors, merged at the end.
/// Given `codes`, the int8 copy of the matrix kept where the CPU has AMX, the rows are scored
/// on tiles instead (`scan_amx`), with an exact rescoring of each query's candidates. Best
/// first, per query.
pub fn top_n_many(
    data: &[u16],
    codes: Option<&scan_amx::Codes>,
    dim: usize,
    chapter_of: &[u32],
    queries: &[BatchQuery<'_>],
    threads: usize,
) -> Vec<Vec<Scored>> {
    let rows = data.len().checked_div(dim).unwrap_or(0);
    let threads = threads.clamp(1, 16);
    let codes = codes.filter(|_| scan_amx::usable(dim));
    let amx = codes.is_some();
    let scan = |(start, end): (usize, usize)| {
        if let Some(codes) = codes {
            return scan_amx::scan_range(codes, dim, chapter_of, queries, (start, end));
        }
        let mut tops: Vec<TopN> = queries.iter().map(|q| TopN::new(q.n)).collect();
        for first in (start..end).step_by(BATCH_BLOCK_ROWS) {
            let block = Block { data, dim, chapter_of, rows: (first, (first + BATCH_BLOCK_ROWS).min(end)) };
            score_groups(&block, queries, &mut tops);
        }
        tops
    };
    // On tiles streaming the int8 rows dominates a pass, so whether to split it depends on the
    // rows alone; below ~128k rows a second thread costs more than it saves (32k rows: one
    // query 0.7 ms on one thread, 0.9 on two; sixteen 1.9 and 2.0).
    let split =
        threads > 1 && if amx { rows >= 4 * PARALLEL_MIN_ROWS } else { rows * queries.len() >= PARALLEL_MIN_ROWS };
    let tops = if !split {
        scan((0, rows))
    } else {
        let per = rows.div_ceil(threads);
        std::thread::scope(|scope| {
            let scan = &scan;
            let handles: Vec<_> =
                (0..threads).map(|t| scope.spawn(move || scan((t * per, ((t + 1) * per).min(rows))))).collect();
            let mut handles = handles.into_iter().map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
            let mut total = handles.next().unwrap_or_default();
            for parts in handles {
                for (top, part) in total.iter_mut().zip(parts) {
                    top.merge(part);
                }
            }
            total
        })
    };
    if amx {
        return scan_amx::rescore(data, dim, queries, tops);
    }
    tops.into_iter().map(TopN::into_sorted).collect()
}

/// A range of rows with what scoring them needs.
struct Block<'a> {
    data: &'a [u16],
    dim: usize,
    chapter_of: &'a [u32],
    rows: (usize, usize),
}

/// Scores one block against all queries, in groups of 8, 4, 2 and 1.
fn score_groups(block: &Block<'_>, queries: &[BatchQuery<'_>], tops: &mut [TopN]) {
    let mut at = 0;
    while at < queries.len() {
        let (q, t) = (&queries[at..], &mut tops[at..]);
        at += match q.len() {
            8.. => score_block::<8>(block, q, t),
            4..=7 => score_block::<4>(block, q, t),
            2..=3 => score_block::<2>(block, q, t),
            _ => score_block::<1>(block, q, t),
        };
    }
}

/// Scores the block against the first `N` queries; returns `N`.
#[inline(always)]
fn score_block<const N: usize>(block: &Block<'_>, queries: &[BatchQuery<'_>], tops: &mut [TopN]) -> usize {
    let vectors: [&[f32]; N] = std::array::from_fn(|k| queries[k].vector);
    let dim = block.dim;
    for row in block.rows.0..block.rows.1 {
        let scores = half::dot_many(&block.data[row * dim..(row + 1) * dim], &vectors);
        for k in 0..N {
            if queries[k].chapter.is_none_or(|c| block.chapter_of[row] == c) {
                tops[k].push(scores[k], row);
            }
        }
    }
    N
}

/// Best `n` of an explicit row subset (e.g. one document's rows), best first.
pub fn top_n_rows(data: &[u16], dim: usize, query: &[f32], rows: impl Iterator<Item = usize>, n: usize) -> Vec<Scored> {
    let mut top = TopN::new(n);
    for row in rows {
        top.push(half::dot(&data[row * dim..(row + 1) * dim], query), row);
    }
    top.into_sorted()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn dot_matches_naive_for_odd_lengths() {
        for len in [0, 1, 5, 16, 17, 383, 384] {
            let a: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..len).map(|i| (i as f32 * 0.11).cos()).collect();
            assert!((dot(&a, &b) - naive(&a, &b)).abs() < 1e-3, "len {len}");
        }
    }

    #[test]
    fn top_n_parallel_equals_sequential() {
        let dim = 24;
        let rows = PARALLEL_MIN_ROWS + 1234;
        let values: Vec<f32> = (0..rows * dim).map(|i| ((i * 7919) % 1000) as f32 / 1000.0).collect();
        let mut data = Vec::new();
        half::extend_f16(&mut data, &values);
        let query: Vec<f32> = (0..dim).map(|i| i as f32 / dim as f32).collect();
        let keep = |row: usize| !row.is_multiple_of(3);
        let seq = top_n(&data, dim, &query, 10, 1, &keep);
        let par = top_n(&data, dim, &query, 10, 4, &keep);
        assert_eq!(seq, par);
        assert_eq!(seq.len(), 10);
        assert!(seq.windows(2).all(|w| w[0].score >= w[1].score));
        assert!(seq.iter().all(|s| !s.row.is_multiple_of(3)));
    }

    #[test]
    fn a_batch_finds_what_each_query_finds_alone_on_one_thread_or_split_over_three() {
        // 4,000 rows × 11 queries reaches PARALLEL_MIN_ROWS, so three threads split the pass.
        let (dim, rows) = (20, 4000);
        let values: Vec<f32> = (0..rows * dim).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect();
        let mut data = Vec::new();
        half::extend_f16(&mut data, &values);
        let chapter_of: Vec<u32> = (0..rows as u32).map(|r| r % 3).collect();
        let vectors: Vec<Vec<f32>> =
            (0..11).map(|k| (0..dim).map(|i| ((i * (k + 2)) as f32).sin()).collect()).collect();
        let batch: Vec<BatchQuery> = vectors
            .iter()
            .enumerate()
            .map(|(k, v)| BatchQuery { vector: v, n: 5 + k, chapter: (k % 2 == 0).then_some(1) })
            .collect();
        for threads in [1, 3] {
            for (query, found) in batch.iter().zip(top_n_many(&data, None, dim, &chapter_of, &batch, threads)) {
                let keep = |row: usize| query.chapter.is_none_or(|c| chapter_of[row] == c);
                let alone = top_n(&data, dim, query.vector, query.n, 1, &keep);
                assert_eq!(
                    found.iter().map(|s| s.row).collect::<Vec<_>>(),
                    alone.iter().map(|s| s.row).collect::<Vec<_>>(),
                    "{threads} thread(s)"
                );
            }
        }
    }

    #[test]
    fn normalize_makes_unit_vectors() {
        let mut v = vec![3.0, 4.0];
        normalize(&mut v);
        assert!((v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6);
        let mut zero = vec![0.0; 3];
        normalize(&mut zero);
        assert_eq!(zero, vec![0.0; 3]);
    }
}
