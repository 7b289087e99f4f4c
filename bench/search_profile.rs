//! Where a search's time goes, stage by stage, on a real documentation corpus: query
//! embedding (the real local model), BM25, dense scan and the whole hybrid search, each
//! timed over the queries of `bench/queries.txt`.
//!
//! ```text
//! cargo run --release --example search_profile -- [corpus] [index-dir]
//! ```
//! The first run loads and chunks the corpus (default: Debian's python3.11-doc HTML) and
//! writes it to `index-dir/index.db` with *random* unit vectors, which is enough to time the
//! scan and the lexical side without spending minutes on embeddings; later runs reuse it.
//! The end-to-end figures with real vectors come from `make bench`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use docent::embed::local::{LocalEmbedder, LocalEmbedderOptions};
use docent::embed::{EmbedKind, Embedder};
use docent::index::embedded::normalize;
use docent::index::{EmbeddedIndex, IndexChunk, IndexQuery, SearchMode, VectorIndex};
use docent::ingest::chunker::{ChunkOptions, chunk_document};
use docent::ingest::{LoadOptions, load_paths};

const DIM: usize = 384;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)].as_secs_f64() * 1e3
}

fn report(label: &str, mut times: Vec<Duration>) {
    times.sort();
    println!(
        "{label:<18} p50 {:>7.2} ms  p95 {:>7.2} ms  max {:>7.2} ms",
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        percentile(&times, 1.0)
    );
}

/// Deterministic pseudo-random unit vector (SplitMix64).
fn random_unit(seed: u64) -> Vec<f32> {
    let mut state = seed;
    let mut v: Vec<f32> = (0..DIM)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect();
    normalize(&mut v);
    v
}

async fn build(index: &EmbeddedIndex, corpus: PathBuf, embedder: &LocalEmbedder) {
    let started = Instant::now();
    let (docs, _) = load_paths(&[corpus], &LoadOptions::default());
    let count = |t: &str| embedder.count_tokens(t);
    index.ensure_model(embedder.model_id(), DIM).await.expect("model recorded");
    let (mut total, mut seed) = (0usize, 1u64);
    for doc in &docs {
        let chunks = chunk_document(doc, &ChunkOptions::default(), &count);
        let rows: Vec<IndexChunk> = chunks
            .into_iter()
            .map(|c| {
                seed += 1;
                IndexChunk {
                    id: c.id.clone(),
                    document_id: doc.id.clone(),
                    chapter: doc.chapter.as_ref().map(|ch| ch.label.clone()),
                    payload: serde_json::json!({"title": doc.title, "heading_path": c.heading_path.join(" > ")}),
                    text: c.text,
                    vector: random_unit(seed),
                }
            })
            .collect();
        total += rows.len();
        index.replace_document(&doc.id, "v1", rows).await.expect("document written");
    }
    println!("built {total} chunks from {} documents in {:.1} s", docs.len(), started.elapsed().as_secs_f64());
}

async fn time_mode(index: &EmbeddedIndex, queries: &[(String, Vec<f32>)], mode: SearchMode) -> Vec<Duration> {
    let mut times = Vec::new();
    for (text, vector) in queries {
        let query = IndexQuery {
            text: text.clone(),
            vector: Some(vector.clone()),
            k: 8,
            mode,
            filter: Default::default(),
            fusion: Default::default(),
        };
        let started = Instant::now();
        index.search(&query).await.expect("search");
        times.push(started.elapsed());
    }
    times
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let corpus = PathBuf::from(args.next().unwrap_or_else(|| "/usr/share/doc/python3.11/html".into()));
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "/tmp/docent-search-profile".into()));
    std::fs::create_dir_all(&dir).expect("index dir");
    let model = std::env::var("DOCENT_MODEL_DIR").unwrap_or_else(|_| "models/all-MiniLM-L6-v2".into());
    let options = LocalEmbedderOptions { threads: 2, batch_size: 16, ..LocalEmbedderOptions::default() };
    let embedder = Arc::new(LocalEmbedder::load(std::path::Path::new(&model), options).expect("model loads"));
    let fresh = !dir.join("index.db").exists();
    let index = EmbeddedIndex::open(&dir.join("index.db")).await.expect("index opens");
    if fresh {
        build(&index, corpus, &embedder).await;
    }
    let texts: Vec<String> =
        std::fs::read_to_string("bench/queries.txt").expect("queries").lines().map(str::to_owned).collect();
    let mut embed_times = Vec::new();
    let mut queries = Vec::new();
    for text in &texts {
        let started = Instant::now();
        let vector = embedder.embed(std::slice::from_ref(text), EmbedKind::Query).await.expect("embed").remove(0);
        embed_times.push(started.elapsed());
        queries.push((text.clone(), vector));
    }
    report("embed query", embed_times);
    for _ in 0..2 {
        report("bm25", time_mode(&index, &queries, SearchMode::Bm25).await);
        report("dense", time_mode(&index, &queries, SearchMode::Dense).await);
        report("hybrid", time_mode(&index, &queries, SearchMode::Hybrid).await);
    }
}
