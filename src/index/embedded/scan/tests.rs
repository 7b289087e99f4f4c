//! Tests of the f16 scan, its collector and the batch pass.

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
fn the_collector_keeps_the_best_rows_ties_to_the_lower_row_whatever_the_order_offered() {
    // Scores with many ties (a few distinct values), offered in a scrambled order.
    let offered: Vec<(f32, usize)> = (0..5000).map(|i| (((i * 7919) % 13) as f32, (i * 104_729) % 5000)).collect();
    for n in [0, 1, 7, 64, 5000, 6000] {
        let mut top = TopN::new(n);
        offered.iter().for_each(|&(score, row)| top.push(score, row));
        let mut want: Vec<Scored> = offered.iter().map(|&(score, row)| Scored { score, row }).collect();
        want.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.row.cmp(&b.row)));
        want.truncate(n);
        assert_eq!(top.into_sorted(), want, "n {n}");
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
    let vectors: Vec<Vec<f32>> = (0..11).map(|k| (0..dim).map(|i| ((i * (k + 2)) as f32).sin()).collect()).collect();
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

#[test]
fn queries_are_grouped_in_eights_then_fours_twos_and_ones() {
    let sizes = |count| groups(count).collect::<Vec<_>>();
    assert_eq!(sizes(0), []);
    assert_eq!(sizes(1), [(0, 1)]);
    assert_eq!(sizes(7), [(0, 4), (4, 2), (6, 1)]);
    assert_eq!(sizes(19), [(0, 8), (8, 8), (16, 2), (18, 1)]);
}
