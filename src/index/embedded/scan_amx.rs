//! The batch dense scan (`scan::top_n_many`) on Intel AMX tiles, where the CPU has them.
//!
//! The AVX-512 batch scan multiplies every row by every query with f32 FMAs: a pass for 16
//! queries over 32k rows is ~200M multiply-adds, 5.2 ms on one core, bound by arithmetic
//! rather than by memory. Here each block of 32 rows is converted once from f16 to bf16 (one
//! conversion shared by all the queries) and multiplied by up to 16 queries at a time with
//! `tdpbf16ps` (a 16 × 32 tile by a 32 × 16 one per instruction, sums in f32). Choosing the
//! best rows compares a row's 16 scores with the 16 queries' current thresholds in one
//! AVX-512 compare, so almost no row reaches a heap.
//!
//! bf16 keeps 8 mantissa bits, so a score here is within ~1e-4 of the exact one. Each query
//! therefore keeps [`MARGIN`] more candidates than it asked for, and those are rescored
//! exactly (`half::dot`, the f16 × f32 product of the lone scan) before the best are kept:
//! results and scores are those of the exact scan, as the tests check against it.
//!
//! Tile availability and configuration come from `crate::amx` (shared with the embedder);
//! the one kernel is stable inline assembly for the reason given there.

use std::arch::asm;
use std::arch::x86_64::*;

use super::scan::{BatchQuery, Scored, TopN};
use crate::{amx, half};

/// Rows of a tile, and queries of a group (the columns of a score tile).
const TILE: usize = 16;
/// Dimensions one tile step consumes (bf16).
const STEP: usize = 32;
/// Rows per kernel call: two row tiles against one query group.
const BLOCK: usize = 2 * TILE;
/// Candidates each query keeps beyond its `n`, for the exact rescoring.
const MARGIN: usize = 16;

/// Whether the AMX scan can run on rows of `dim` values.
pub(super) fn usable(dim: usize) -> bool {
    dim > 0
        && dim.is_multiple_of(STEP)
        && amx::available()
        && std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512bf16")
}

/// Up to 16 queries in the layout AMX reads as its second operand, with their filters and
/// current selection thresholds.
struct Group {
    /// `dim / 32` tiles of 16 dimension pairs × 16 queries × 2 (pairs interleaved).
    packed: Vec<u16>,
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
            packed: vec![0; dim * TILE],
            first,
            active: ((1u32 << members.len()) - 1) as u16,
            any_chapter: 0,
            chapters: [0; TILE],
            thresholds: [f32::NEG_INFINITY; TILE],
        };
        for (lane, query) in members.iter().enumerate() {
            for (k, &v) in query.vector.iter().enumerate() {
                group.packed[(k / 2) * 2 * TILE + 2 * lane + k % 2] = amx::to_bf16(v);
            }
            match query.chapter {
                Some(chapter) => group.chapters[lane] = chapter,
                None => group.any_chapter |= 1 << lane,
            }
        }
        group
    }
}

/// The candidates of every query among rows `[start, end)`: its best `n + MARGIN` by bf16
/// score, within its chapter. [`usable`] must have returned true for `dim`.
pub(super) fn scan_range(
    data: &[u16],
    dim: usize,
    chapter_of: &[u32],
    queries: &[BatchQuery<'_>],
    (start, end): (usize, usize),
) -> Vec<TopN> {
    assert!(usable(dim), "the AMX scan needs AMX-BF16, AVX512-BF16 and a dimension that is a multiple of 32");
    let mut groups: Vec<Group> =
        (0..queries.len()).step_by(TILE).map(|first| Group::new(queries, first, dim)).collect();
    let mut tops: Vec<TopN> = queries.iter().map(|q| TopN::new(q.n + MARGIN)).collect();
    let mut rows = vec![0u16; BLOCK * dim];
    let mut scores = [0f32; BLOCK * TILE];
    // SAFETY: `usable` checked the CPU features and the tile permission; every pointer the
    // kernels use lies inside `rows`, `scores`, the group's packed queries or `data`.
    unsafe {
        amx::configure();
        for first in (start..end).step_by(BLOCK) {
            let count = BLOCK.min(end - first);
            to_bf16_rows(&data[first * dim..(first + count) * dim], &mut rows);
            for group in &mut groups {
                multiply(&rows, dim, &group.packed, &mut scores);
                select(&scores, (first, count), chapter_of, group, &mut tops);
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

/// Rounds the f16 rows `src` to bf16 into the start of `dst`, zeroing the rest of it.
///
/// # Safety
/// The CPU must have AVX-512F and AVX512-BF16; `src.len()` must be a multiple of 32 and at
/// most `dst.len()`.
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn to_bf16_rows(src: &[u16], dst: &mut [u16]) {
    let n = src.len();
    assert!(n.is_multiple_of(STEP) && n <= dst.len());
    let (s, d) = (src.as_ptr(), dst.as_mut_ptr());
    for i in (0..n).step_by(STEP) {
        // SAFETY: i + 32 ≤ n ≤ both lengths.
        unsafe {
            let low = _mm512_cvtph_ps(_mm256_loadu_si256(s.add(i).cast()));
            let high = _mm512_cvtph_ps(_mm256_loadu_si256(s.add(i + TILE).cast()));
            let packed: __m512i = std::mem::transmute(_mm512_cvtne2ps_pbh(high, low));
            _mm512_storeu_si512(d.add(i).cast(), packed);
        }
    }
    dst[n..].fill(0);
}

/// `scores` (32 rows × 16 queries, f32, row-major) = `rows` (32 × `dim` bf16) · the group's
/// packed queries.
///
/// # Safety
/// Tile configuration loaded on this thread; `rows` holds 32 rows of `dim` values and
/// `packed` `dim × 16`, with `dim` a multiple of 32.
unsafe fn multiply(rows: &[u16], dim: usize, packed: &[u16], scores: &mut [f32; BLOCK * TILE]) {
    debug_assert!(rows.len() >= BLOCK * dim && packed.len() >= dim * TILE);
    // SAFETY: per the contract above; the loop runs dim / 32 ≥ 1 times.
    unsafe {
        asm!(
            "tilezero tmm0",
            "tilezero tmm1",
            "2:",
            "tileloadd tmm6, [{b} + {bs}*1]",
            "tileloadd tmm4, [{a} + {ast}*1]",
            "tileloadd tmm5, [{a2} + {ast}*1]",
            "tdpbf16ps tmm0, tmm4, tmm6",
            "tdpbf16ps tmm1, tmm5, tmm6",
            "add {a}, 64",
            "add {a2}, 64",
            "add {b}, 1024",
            "dec {n}",
            "jnz 2b",
            "tilestored [{c} + {cs}*1], tmm0",
            "tilestored [{c} + {cs}*1 + 1024], tmm1",
            a = inout(reg) rows.as_ptr() => _,
            a2 = inout(reg) rows.as_ptr().add(TILE * dim) => _,
            ast = in(reg) dim * 2,
            b = inout(reg) packed.as_ptr() => _,
            bs = in(reg) 64usize,
            n = inout(reg) dim / STEP => _,
            c = in(reg) scores.as_mut_ptr(),
            cs = in(reg) 64usize,
            options(nostack),
        );
    }
}

/// Offers rows `first..first + count` (their scores in `scores`) to the group's queries: a
/// row's 16 scores meet the 16 thresholds in one compare, and only rows beating one reach a
/// heap.
///
/// # Safety
/// The CPU must have AVX-512F; `chapter_of` covers the rows.
#[target_feature(enable = "avx512f")]
unsafe fn select(
    scores: &[f32; BLOCK * TILE],
    (first, count): (usize, usize),
    chapter_of: &[u32],
    group: &mut Group,
    tops: &mut [TopN],
) {
    // SAFETY: `chapters` and `thresholds` are 16 lanes; `r < count ≤ 32` stays inside `scores`.
    unsafe {
        let chapters = _mm512_loadu_si512(group.chapters.as_ptr().cast());
        let mut thresholds = _mm512_loadu_ps(group.thresholds.as_ptr());
        for r in 0..count {
            let row = first + r;
            let row_scores = _mm512_loadu_ps(scores.as_ptr().add(r * TILE));
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
            while hits != 0 {
                let lane = hits.trailing_zeros() as usize;
                hits &= hits - 1;
                let top = &mut tops[group.first + lane];
                top.push(scores[r * TILE + lane], row);
                group.thresholds[lane] = top.threshold();
            }
            thresholds = _mm512_loadu_ps(group.thresholds.as_ptr());
        }
    }
}

#[cfg(test)]
mod tests;
