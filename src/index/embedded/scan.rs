//! Exact top-N dot-product scan over a contiguous row-major matrix of f16 rows (see `half`)
//! against an f32 query.
//!
//! The row kernel is `half::dot` (F16C + FMA on x86-64, chosen once per scan, not per row).
//! The f32 [`dot`] (16 independent accumulators, so LLVM vectorises it without
//! `-ffast-math`) serves normalisation. The scan is memory-bound (1M x 384 x 2 B = 768 MB
//! streamed per query), so for large matrices the rows are split across a few scoped
//! threads, each keeping its own bounded collector ([`TopN`]), merged at the end.

use std::cmp::Ordering;

use super::{scan_amx, scan_avx2};
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

/// A scored row, ordered best first: higher score, then (ties broken so results are
/// deterministic) lower row.
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
///
/// Rows better than the current floor are appended to a buffer of up to `2n`; a full buffer is
/// cut back to its best `n` in linear time (`select_nth_unstable`), and the worst of those
/// becomes the floor. Each offer costs a comparison and a push, not a heap's sift: a scan
/// offers every row that beats the floor, ~n·ln(rows/n) of them per query, and the heap's
/// sifts were ~4% of the server's CPU under sixteen concurrent searches. The rows kept are
/// exactly a heap's: every row that could be among the best `n` is still offered, since the
/// floor never passes the true `n`-th best.
#[derive(Debug)]
pub struct TopN {
    n: usize,
    rows: Vec<Scored>,
    /// The worst row kept at the last cut; `None` until the first.
    floor: Option<Scored>,
}

impl TopN {
    /// Collector keeping at most `n` rows.
    pub fn new(n: usize) -> Self {
        Self { n, rows: Vec::with_capacity(2 * n), floor: None }
    }

    /// Offers a row.
    #[inline]
    pub fn push(&mut self, score: f32, row: usize) {
        let offered = Scored { score, row };
        // `Ord` ranks better rows first: a tie goes to the lower row, so merged collectors keep
        // what one sequential scan keeps.
        if self.n == 0 || self.floor.is_some_and(|floor| offered >= floor) {
            return;
        }
        self.rows.push(offered);
        if self.rows.len() >= 2 * self.n {
            self.cut();
        }
    }

    /// Keeps the best `n` of the (more than `n`) buffered rows and raises the floor to the
    /// worst of them.
    fn cut(&mut self) {
        let (_, &mut worst, _) = self.rows.select_nth_unstable(self.n - 1);
        self.rows.truncate(self.n);
        self.floor = Some(worst);
    }

    /// The score a row must beat to be offered: the floor once set, -∞ before.
    #[inline]
    pub fn threshold(&self) -> f32 {
        self.floor.map_or(f32::NEG_INFINITY, |floor| floor.score)
    }

    /// Merges another collector into this one.
    pub fn merge(&mut self, other: TopN) {
        for s in other.rows {
            self.push(s.score, s.row);
        }
    }

    /// Best first.
    pub fn into_sorted(mut self) -> Vec<Scored> {
        self.rows.sort_unstable();
        self.rows.truncate(self.n);
        self.rows
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
/// on tiles instead (`scan_amx`), with an exact rescoring of each query's candidates; on
/// CPUs with AVX2 but not AVX-512, by `scan_avx2`. Best first, per query.
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
    let avx2 = scan_avx2::usable(dim);
    let scan = |(start, end): (usize, usize)| {
        if let Some(codes) = codes {
            return scan_amx::scan_range(codes, dim, chapter_of, queries, (start, end));
        }
        let mut tops: Vec<TopN> = queries.iter().map(|q| TopN::new(q.n)).collect();
        for first in (start..end).step_by(BATCH_BLOCK_ROWS) {
            let block = Block { data, dim, chapter_of, rows: (first, (first + BATCH_BLOCK_ROWS).min(end)) };
            #[cfg(target_arch = "x86_64")]
            if avx2 {
                // SAFETY: `usable(dim)` held; the block's rows are inside the matrix, and
                // there is a collector per query and a chapter entry per row.
                unsafe { scan_avx2::score_rows(&block, queries, &mut tops) };
                continue;
            }
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
pub(super) struct Block<'a> {
    pub data: &'a [u16],
    pub dim: usize,
    pub chapter_of: &'a [u32],
    pub rows: (usize, usize),
}

/// How a batch of `count` queries is scored: `(first query, group size)`, in groups of 8, 4,
/// 2 and 1, the sizes the kernels are compiled for.
pub(super) fn groups(count: usize) -> impl Iterator<Item = (usize, usize)> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let size = match count.checked_sub(at)? {
            0 => return None,
            8.. => 8,
            4..=7 => 4,
            2..=3 => 2,
            _ => 1,
        };
        at += size;
        Some((at - size, size))
    })
}

/// Scores one block against all queries, a group at a time.
fn score_groups(block: &Block<'_>, queries: &[BatchQuery<'_>], tops: &mut [TopN]) {
    for (at, size) in groups(queries.len()) {
        let (q, t) = (&queries[at..], &mut tops[at..]);
        match size {
            8 => score_block::<8>(block, q, t),
            4 => score_block::<4>(block, q, t),
            2 => score_block::<2>(block, q, t),
            _ => score_block::<1>(block, q, t),
        }
    }
}

/// Scores the block against the first `N` queries.
#[inline(always)]
fn score_block<const N: usize>(block: &Block<'_>, queries: &[BatchQuery<'_>], tops: &mut [TopN]) {
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
mod tests;
