//! Exact top-N dot-product scan over a contiguous row-major `f32` matrix.
//!
//! The inner product uses 16 independent accumulators over fixed-size chunks so
//! that LLVM vectorises it without `-ffast-math` (SSE2 baseline gives four
//! 4-lane registers; AVX builds get two 8-lane ones). The scan is memory-bound
//! (1M x 384 x 4 B = 1.5 GB streamed per query), so for large matrices the rows
//! are split across a few scoped threads, each keeping its own bounded min-heap,
//! merged at the end.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

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
        } else if let Some(worst) = self.heap.peek()
            && score > worst.score
        {
            self.heap.pop();
            self.heap.push(Scored { score, row });
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

/// Scans rows `[start, end)` of `data` (row length `dim`), keeping the best `n`
/// rows for which `keep(row)` holds.
fn scan_range(
    data: &[f32],
    dim: usize,
    query: &[f32],
    (start, end): (usize, usize),
    n: usize,
    keep: &(dyn Fn(usize) -> bool + Sync),
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
pub fn top_n(
    data: &[f32],
    dim: usize,
    query: &[f32],
    n: usize,
    threads: usize,
    keep: &(dyn Fn(usize) -> bool + Sync),
) -> Vec<Scored> {
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

/// Best `n` of an explicit row subset (e.g. one document's rows), best first.
pub fn top_n_rows(data: &[f32], dim: usize, query: &[f32], rows: impl Iterator<Item = usize>, n: usize) -> Vec<Scored> {
    let mut top = TopN::new(n);
    for row in rows {
        top.push(dot(&data[row * dim..(row + 1) * dim], query), row);
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
        let data: Vec<f32> = (0..rows * dim).map(|i| ((i * 7919) % 1000) as f32 / 1000.0).collect();
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
    fn normalize_makes_unit_vectors() {
        let mut v = vec![3.0, 4.0];
        normalize(&mut v);
        assert!((v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6);
        let mut zero = vec![0.0; 3];
        normalize(&mut zero);
        assert_eq!(zero, vec![0.0; 3]);
    }
}
