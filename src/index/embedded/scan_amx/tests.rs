//! The AMX batch scan (rows read from the int8 copy) against the exact lone scan.

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
    assert_eq!(usable, amx::available() && amx::cpu_has_amx_int8());
    if !usable {
        eprintln!("this CPU has no AMX-INT8: the f32 batch scan serves instead (tested in `scan`)");
    }
    usable
}

#[test]
fn a_batch_on_amx_tiles_finds_exactly_what_each_query_finds_alone() {
    if !amx_or_explain() {
        return;
    }
    // 2,011 rows: the last block is partial. 1, 16, 17 and 40 queries: one lane, a full
    // group, a group and a bit, several groups. Half the queries keep one chapter.
    let (dim, rows) = (64, 2011);
    let values = unit_rows(rows, dim, 1);
    let (mut data, mut codes) = (Vec::new(), Codes::new(dim));
    half::extend_f16(&mut data, &values);
    values.chunks_exact(dim).for_each(|row| codes.push(row));
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
            let found = super::super::scan::top_n_many(&data, Some(&codes), dim, &chapter_of, &batch, threads);
            for (query, found) in batch.iter().zip(found) {
                let keep = |row: usize| query.chapter.is_none_or(|c| chapter_of[row] == c);
                let alone = top_n(&data, dim, query.vector, query.n, 1, &keep);
                assert_eq!(found, alone, "{count} queries, {threads} thread(s)");
            }
        }
    }
}

#[test]
fn a_lone_search_of_a_dense_state_with_its_int8_copy_equals_the_exact_scan() {
    if !amx_or_explain() {
        return;
    }
    // Just past the size from which a lone search runs on the tiles.
    let (dim, rows) = (64, super::super::dense::TILES_MIN_ROWS + 17);
    let values = unit_rows(rows, dim, 3);
    let mut state = crate::index::embedded::DenseState::new(dim);
    let mut data = Vec::new();
    for (row, vector) in values.chunks_exact(dim).enumerate() {
        state.push(row as i64 + 1, &format!("doc{}", row % 5), Some(&format!("ch{}", row % 3)), vector);
    }
    half::extend_f16(&mut data, &values);
    let queries = unit_rows(12, dim, 4);
    for (k, query) in queries.chunks_exact(dim).enumerate() {
        let chapter = (k % 2 == 1).then(|| format!("ch{}", k % 3));
        let filter = state.filter(None, chapter.as_deref());
        let found = state.search(query, 10, filter, 1);
        let keep = |row: usize| chapter.is_none() || row % 3 == k % 3;
        let exact: Vec<(i64, f32)> =
            top_n(&data, dim, query, 10, 1, &keep).into_iter().map(|s| (s.row as i64 + 1, s.score)).collect();
        assert_eq!(found, exact, "query {k}, chapter {chapter:?}");
    }
}
