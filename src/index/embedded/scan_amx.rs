//! The batch dense scan (`scan::top_n_many`) on Intel AMX tiles, where the CPU has them.
//!
//! A pass over the matrix is bound by the bytes it streams from memory, not by arithmetic:
//! scoring 32k rows against one query or sixteen costs about the same once the rows are in
//! registers. So the tiles read the int8 copy of the matrix ([`codes::Codes`], half the bytes
//! of the f16 rows) and multiply blocks of 32 rows by up to 16 queries at a time with
//! `tdpbssd` (a 16 × 64 tile by a 64 × 16 one per instruction, int32 sums), each query
//! quantised the same way. A row's 16 scores (int32 × row scale × query scale) meet the 16
//! queries' current thresholds in one AVX-512 compare, so almost no row reaches a heap.
//!
//! int8 scores are approximate (typically within ~1e-3 of the exact cosine). Each query
//! therefore keeps [`MARGIN`] more candidates than it asked for, and those are rescored
//! exactly (`half::dot`, the f16 × f32 product of the lone scan) before the best are kept:
//! the returned scores are exact, and the rows are those of the exact scan unless a row's
//! error exceeds the gap to the `n + MARGIN`-th candidate (the tests check equality).
//!
//! Tile availability and configuration come from `crate::amx` (shared with the embedder);
//! the one kernel is stable inline assembly for the reason given there.

use std::arch::asm;
use std::arch::x86_64::*;

use super::scan::{BatchQuery, Scored, TopN};
use crate::{amx, half};

pub mod codes;

pub use codes::Codes;

/// Rows of a tile, and queries of a group (the columns of a score tile).
const TILE: usize = 16;
/// Dimensions one tile step consumes (int8).
const STEP: usize = 64;
/// Rows per kernel call: two row tiles against one query group.
const BLOCK: usize = 2 * TILE;
/// Candidates each query keeps beyond its `n`, for the exact rescoring.
const MARGIN: usize = 32;

/// Whether the AMX scan can run on rows of `dim` values.
pub(super) fn usable(dim: usize) -> bool {
    dim > 0
        && dim.is_multiple_of(STEP)
        && amx::available()
        && amx::cpu_has_amx_int8()
        && std::is_x86_feature_detected!("avx512f")
}

/// Up to 16 queries in the layout AMX reads as its second operand, with their scales,
/// filters and current selection thresholds.
struct Group {
    /// `dim / 64` tiles of 16 groups of 4 dimensions × 16 queries × 4 (groups interleaved),
    /// in whole cache lines (see [`amx::Line`]).
    packed: Vec<amx::Line>,
    /// Each lane's quantisation scale.
    scales: [f32; TILE],
    /// Index of the group's first query in the batch.
    first: usize,
    /// Lanes holding a query.
    active: u16,
    /// Lanes whose query takes every chapter.
    any_chapter: u16,
    /// The chapter each other lane keeps.
    chapters: [u32; TILE],
    /// The score a row must beat to enter each lane's candidates.
    thresholds: [f32; TILE],
}

impl Group {
    fn new(queries: &[BatchQuery<'_>], first: usize, dim: usize) -> Self {
        let members = &queries[first..(first + TILE).min(queries.len())];
        let mut group = Self {
            packed: vec![amx::ZERO_LINE; dim * TILE / amx::LINE],
            scales: [0.0; TILE],
            first,
            active: ((1u32 << members.len()) - 1) as u16,
            any_chapter: 0,
            chapters: [0; TILE],
            thresholds: [f32::NEG_INFINITY; TILE],
        };
        let mut quantized = vec![0; dim];
        let packed = amx::bytes_mut(&mut group.packed);
        for (lane, query) in members.iter().enumerate() {
            group.scales[lane] = codes::quantize(query.vector, &mut quantized);
            for (k, &v) in quantized.iter().enumerate() {
                packed[(k / 4) * 4 * TILE + 4 * lane + k % 4] = v;
            }
            match query.chapter {
                Some(chapter) => group.chapters[lane] = chapter,
                None => group.any_chapter |= 1 << lane,
            }
        }
        group
    }
}

/// The candidates of every query among rows `[start, end)` of `codes`: its best
/// `n + MARGIN` by int8 score, within its chapter. [`usable`] must have returned true for
/// `dim`.
pub(super) fn scan_range(
    codes: &Codes,
    dim: usize,
    chapter_of: &[u32],
    queries: &[BatchQuery<'_>],
    (start, end): (usize, usize),
) -> Vec<TopN> {
    assert!(usable(dim), "the AMX scan needs AMX-INT8, AVX-512 and a dimension that is a multiple of 64");
    let (values, scales) = (codes.values(), codes.scales());
    assert!(end * dim <= values.len() && end <= scales.len(), "rows {start}..{end} outside the matrix");
    let mut groups: Vec<Group> =
        (0..queries.len()).step_by(TILE).map(|first| Group::new(queries, first, dim)).collect();
    let mut tops: Vec<TopN> = queries.iter().map(|q| TopN::new(q.n + MARGIN)).collect();
    // Only the last block of a range can be partial: its zero-padded copy (whole cache lines,
    // as the codes) is made there.
    let mut tail: Vec<amx::Line> = Vec::new();
    let mut sums = [0i32; BLOCK * TILE];
    // SAFETY: `usable` checked the CPU features and the tile permission; every pointer the
    // kernels use lies inside `values`, `tail`, `sums` or the group's packed queries.
    unsafe {
        amx::configure();
        for first in (start..end).step_by(BLOCK) {
            let count = BLOCK.min(end - first);
            let rows = &values[first * dim..(first + count) * dim];
            // A whole block is read in place; the last, partial one from a zero-padded copy.
            let rows = if count == BLOCK {
                rows
            } else {
                tail.resize(BLOCK * dim / amx::LINE, amx::ZERO_LINE);
                let padded = amx::bytes_mut(&mut tail);
                padded[..rows.len()].copy_from_slice(rows);
                amx::bytes(&tail)
            };
            for group in &mut groups {
                multiply(rows, dim, amx::bytes(&group.packed), &mut sums);
                let block = Block { sums: &sums, first, row_scales: &scales[first..first + count] };
                select(&block, chapter_of, group, &mut tops);
            }
        }
        amx::release();
    }
    tops
}

/// The best `n` of each query's candidates by exact score (f16 row × f32 query), best first.
pub(super) fn rescore(data: &[u16], dim: usize, queries: &[BatchQuery<'_>], candidates: Vec<TopN>) -> Vec<Vec<Scored>> {
    queries
        .iter()
        .zip(candidates)
        .map(|(query, candidates)| {
            let mut best = TopN::new(query.n);
            for s in candidates.into_sorted() {
                best.push(half::dot(&data[s.row * dim..(s.row + 1) * dim], query.vector), s.row);
            }
            best.into_sorted()
        })
        .collect()
}

/// `sums` (32 rows × 16 queries, int32, row-major) = `rows` (32 × `dim` int8) · the group's
/// packed queries.
///
/// # Safety
/// Tile configuration loaded on this thread; `rows` holds 32 rows of `dim` values and
/// `packed` `dim × 16`, with `dim` a multiple of 64.
unsafe fn multiply(rows: &[i8], dim: usize, packed: &[i8], sums: &mut [i32; BLOCK * TILE]) {
    debug_assert!(rows.len() >= BLOCK * dim && packed.len() >= dim * TILE);
    // SAFETY: per the contract above; the loop runs dim / 64 ≥ 1 times.
    unsafe {
        asm!(
            "tilezero tmm0",
            "tilezero tmm1",
            "2:",
            "tileloadd tmm6, [{b} + {bs}*1]",
            "tileloadd tmm4, [{a} + {ast}*1]",
            "tileloadd tmm5, [{a2} + {ast}*1]",
            "tdpbssd tmm0, tmm4, tmm6",
            "tdpbssd tmm1, tmm5, tmm6",
            "add {a}, 64",
            "add {a2}, 64",
            "add {b}, 1024",
            "dec {n}",
            "jnz 2b",
            "tilestored [{c} + {cs}*1], tmm0",
            "tilestored [{c} + {cs}*1 + 1024], tmm1",
            a = inout(reg) rows.as_ptr() => _,
            a2 = inout(reg) rows.as_ptr().add(TILE * dim) => _,
            ast = in(reg) dim,
            b = inout(reg) packed.as_ptr() => _,
            bs = in(reg) 64usize,
            n = inout(reg) dim / STEP => _,
            c = in(reg) sums.as_mut_ptr(),
            cs = in(reg) 64usize,
            options(nostack),
        );
    }
}

/// One block's int32 sums with what turns them into scores.
struct Block<'a> {
    sums: &'a [i32; BLOCK * TILE],
    /// Index of the block's first row.
    first: usize,
    /// The scales of the block's rows (as many as it has rows).
    row_scales: &'a [f32],
}

/// Offers the block's rows to the group's queries: a row's 16 scores meet the 16 thresholds
/// in one compare, and only rows beating one reach a heap.
///
/// # Safety
/// The CPU must have AVX-512F; `chapter_of` covers the rows.
#[target_feature(enable = "avx512f")]
unsafe fn select(block: &Block<'_>, chapter_of: &[u32], group: &mut Group, tops: &mut [TopN]) {
    // SAFETY: the lane arrays are 16 wide; `r < row_scales.len() ≤ 32` stays inside `sums`.
    unsafe {
        let chapters = _mm512_loadu_si512(group.chapters.as_ptr().cast());
        let query_scales = _mm512_loadu_ps(group.scales.as_ptr());
        let mut thresholds = _mm512_loadu_ps(group.thresholds.as_ptr());
        let mut scores = [0f32; TILE];
        for (r, &row_scale) in block.row_scales.iter().enumerate() {
            let row = block.first + r;
            let sums = _mm512_loadu_si512(block.sums.as_ptr().add(r * TILE).cast());
            let row_scores =
                _mm512_mul_ps(_mm512_cvtepi32_ps(sums), _mm512_mul_ps(query_scales, _mm512_set1_ps(row_scale)));
            let same_chapter = if group.any_chapter == group.active {
                0
            } else {
                _mm512_cmpeq_epi32_mask(chapters, _mm512_set1_epi32(chapter_of[row] as i32))
            };
            let mut hits = group.active
                & (group.any_chapter | same_chapter)
                & _mm512_cmp_ps_mask::<_CMP_GT_OQ>(row_scores, thresholds);
            if hits == 0 {
                continue;
            }
            _mm512_storeu_ps(scores.as_mut_ptr(), row_scores);
            while hits != 0 {
                let lane = hits.trailing_zeros() as usize;
                hits &= hits - 1;
                let top = &mut tops[group.first + lane];
                top.push(scores[lane], row);
                group.thresholds[lane] = top.threshold();
            }
            thresholds = _mm512_loadu_ps(group.thresholds.as_ptr());
        }
    }
}

#[cfg(test)]
mod tests;
