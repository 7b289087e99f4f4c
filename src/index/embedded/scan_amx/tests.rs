//! The AMX batch scan against the exact lone scan, and its bf16 rounding against the scalar one.

use super::*;
use crate::index::embedded::scan::top_n;

fn unit_rows(rows: usize, dim: usize, seed: u32) -> Vec<f32> {
    let mut s = seed;
    let mut values: Vec<f32> = (0..rows * dim)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        })
        .collect();
    values.chunks_mut(dim).for_each(crate::index::embedded::scan::normalize);
    values
}

fn amx_or_explain() -> bool {
    let usable = usable(384);
    assert_eq!(usable, amx::available() && std::is_x86_feature_detected!("avx512bf16"));
    if !usable {
        eprintln!("this CPU has no AMX-BF16: the f32 batch scan serves instead (tested in `scan`)");
    }
    usable
}

#[test]
fn f16_rows_round_to_bf16_as_the_scalar_rounding_does_and_the_rest_is_zeroed() {
    if !amx_or_explain() {
        return;
    }
    let values = unit_rows(3, 64, 7);
    let mut f16 = Vec::new();
    half::extend_f16(&mut f16, &values);
    let mut out = vec![u16::MAX; 4 * 64];
    // SAFETY: the CPU features were checked above; 192 values fit in 256.
    unsafe { to_bf16_rows(&f16, &mut out) };
    let expected: Vec<u16> = f16.iter().map(|&h| amx::to_bf16(half::from_f16(h))).collect();
    assert_eq!(&out[..192], expected.as_slice());
    assert!(out[192..].iter().all(|&v| v == 0));
}

#[test]
fn a_batch_on_amx_tiles_finds_exactly_what_each_query_finds_alone() {
    if !amx_or_explain() {
        return;
    }
    // 2,011 rows: the last block is partial. 1, 16, 17 and 40 queries: one lane, a full
    // group, a group and a bit, several groups. Half the queries keep one chapter.
    let (dim, rows) = (64, 2011);
    let mut data = Vec::new();
    half::extend_f16(&mut data, &unit_rows(rows, dim, 1));
    let chapter_of: Vec<u32> = (0..rows as u32).map(|r| r % 4).collect();
    let vectors = unit_rows(40, dim, 2);
    for count in [1, 16, 17, 40] {
        let batch: Vec<BatchQuery> = (0..count)
            .map(|k| BatchQuery {
                vector: &vectors[k * dim..(k + 1) * dim],
                n: 1 + k % 12,
                chapter: (k % 2 == 1).then_some((k % 4) as u32),
            })
            .collect();
        for threads in [1, 3] {
            let found = super::super::scan::top_n_many(&data, dim, &chapter_of, &batch, threads);
            for (query, found) in batch.iter().zip(found) {
                let keep = |row: usize| query.chapter.is_none_or(|c| chapter_of[row] == c);
                let alone = top_n(&data, dim, query.vector, query.n, 1, &keep);
                assert_eq!(found, alone, "{count} queries, {threads} thread(s)");
            }
        }
    }
}
