//! Dense-scan benchmark of the embedded index: N (default 1,000,000) random
//! unit vectors of dimension 384, exact top-100 by cosine, p50/p95 latency.
//!
//! ```text
//! cargo run --release --example index_1m -- [rows] [queries] [--index]
//! ```
//! Without `--index` it fills [`DenseState`] directly and times the raw scan
//! single-threaded and with the index's thread count, and one batched pass for 16 queries. With `--index` it also
//! writes the rows through `EmbeddedIndex::replace_document` (1,000-chunk
//! documents) into a temporary `index.db`, reopens it (load time) and times
//! `VectorIndex::search` in dense mode end to end (spawn_blocking + hydration).
//!
//! Measured on the 2-core shared dev VM (release build, SSE2 baseline, other
//! builds running), 1M rows: raw scan p50 74 ms / p95 79 ms single-threaded,
//! dense `search` end to end p50 113 ms / p95 172 ms, RSS 1.6 GB; details in
//! the module documentation of `index::embedded`.

use std::time::{Duration, Instant};

use docent::index::embedded::{DenseState, normalize};
use docent::index::{EmbeddedIndex, IndexChunk, IndexQuery, SearchMode, VectorIndex};

const DIM: usize = 384;

/// SplitMix64 uniform floats in [-1, 1): no `rand` dependency needed.
struct Rng(u64);

impl Rng {
    fn next_f32(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    fn unit(&mut self) -> Vec<f32> {
        let mut v: Vec<f32> = (0..DIM).map(|_| self.next_f32()).collect();
        normalize(&mut v);
        v
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn report(label: &str, mut times: Vec<Duration>) {
    times.sort();
    println!(
        "{label}: p50 {:.3} ms, p95 {:.3} ms, min {:.3} ms ({} queries)",
        percentile(&times, 0.50).as_secs_f64() * 1e3,
        percentile(&times, 0.95).as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times.len()
    );
}

fn rss_mb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap_or("VmRSS: 0 kB");
    line.split_whitespace().nth(1).and_then(|kb| kb.parse::<u64>().ok()).unwrap_or(0) / 1024
}

fn bench_scan(rows: usize, queries: usize) {
    let mut rng = Rng(42);
    let started = Instant::now();
    let mut state = DenseState::new(DIM);
    state.reserve(rows);
    for row in 0..rows {
        let doc = format!("doc{}", row / 1000);
        state.push(row as i64 + 1, &doc, Some("chapter"), &rng.unit());
    }
    println!(
        "filled {rows} x {DIM} in {:.1} s; state {} MB, process RSS {} MB",
        started.elapsed().as_secs_f64(),
        state.memory_bytes() >> 20,
        rss_mb()
    );
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
    for t in [1, threads] {
        let times = (0..queries)
            .map(|_| {
                let q = rng.unit();
                let t0 = Instant::now();
                let top = state.search(&q, 100, state.filter(None, None), t);
                assert_eq!(top.len(), 100.min(rows));
                t0.elapsed()
            })
            .collect();
        report(&format!("raw scan, {t} thread(s), top-100"), times);
    }
    let times = (0..queries)
        .map(|_| {
            let q = rng.unit();
            let t0 = Instant::now();
            state.search(&q, 100, state.filter(Some("doc7"), None), threads);
            t0.elapsed()
        })
        .collect();
    report("raw scan filtered to one 1000-chunk document", times);
    bench_batch(&state, &mut rng, queries);
}

/// One pass for 1, 3 and 16 concurrent searches (how the index serves concurrent queries).
fn bench_batch(state: &DenseState, rng: &mut Rng, passes: usize) {
    for batch in [1, 3, 16] {
        bench_batch_of(state, rng, passes, batch);
    }
}

fn bench_batch_of(state: &DenseState, rng: &mut Rng, passes: usize, batch: usize) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
    for t in [1, threads] {
        let times = (0..passes.div_ceil(4).max(3))
            .map(|_| {
                let vectors: Vec<Vec<f32>> = (0..batch).map(|_| rng.unit()).collect();
                let queries: Vec<_> = vectors.iter().map(|v| (v.as_slice(), 50, state.filter(None, None))).collect();
                let t0 = Instant::now();
                let found = state.search_many(&queries, t);
                assert_eq!(found.len(), batch);
                t0.elapsed()
            })
            .collect();
        report(&format!("one pass for a batch of {batch} queries, top-50 each, {t} thread(s)"), times);
    }
}

/// Writes `rows` random chunks as 1,000-chunk documents.
async fn write_documents(index: &EmbeddedIndex, rows: usize, rng: &mut Rng) {
    for doc in 0..rows.div_ceil(1000) {
        let document_id = format!("doc{doc}");
        let chunks = (0..1000.min(rows - doc * 1000))
            .map(|i| IndexChunk {
                id: format!("{document_id}-{i}"),
                document_id: document_id.clone(),
                chapter: Some(format!("ch{}", i / 100)),
                text: format!("synthetic chunk {i} of document {doc}"),
                payload: serde_json::json!({"title": "bench"}),
                vector: rng.unit(),
            })
            .collect();
        index.replace_document(&document_id, "1", chunks).await.expect("replace");
    }
}

async fn bench_index(rows: usize, queries: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("index.db");
    let index = EmbeddedIndex::open(&path).await.expect("open");
    index.ensure_model("bench", DIM).await.expect("model");
    let mut rng = Rng(7);
    let started = Instant::now();
    write_documents(&index, rows, &mut rng).await;
    println!("wrote {rows} chunks through replace_document in {:.1} s", started.elapsed().as_secs_f64());
    drop(index);
    let started = Instant::now();
    let index = EmbeddedIndex::open(&path).await.expect("reopen");
    println!("reopened (loaded matrix) in {:.1} s, RSS {} MB", started.elapsed().as_secs_f64(), rss_mb());
    let mut times = Vec::with_capacity(queries);
    for _ in 0..queries {
        let query = IndexQuery { vector: Some(rng.unit()), k: 10, mode: SearchMode::Dense, ..IndexQuery::default() };
        let t0 = Instant::now();
        let hits = index.search(&query).await.expect("search");
        times.push(t0.elapsed());
        assert_eq!(hits.len(), 10.min(rows));
    }
    report("EmbeddedIndex::search dense, k=10 (100 candidates)", times);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let numbers: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let rows = numbers.first().copied().unwrap_or(1_000_000);
    let queries = numbers.get(1).copied().unwrap_or(50);
    bench_scan(rows, queries);
    if args.iter().any(|a| a == "--index") {
        let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
        runtime.block_on(bench_index(rows, queries));
    }
}
