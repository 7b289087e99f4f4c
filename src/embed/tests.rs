//! Tests of the local embedder against the sentence-transformers reference
//! fixture (`tests/fixtures/embeddings/minilm_reference.json`), plus an
//! ignored throughput benchmark.
//!
//! The model folder is `$DOCENT_MODEL_DIR` or `models/all-MiniLM-L6-v2` under
//! the crate root; when it is missing the tests fail (never skip) and say to
//! run `make model`.

use super::local::{LocalEmbedder, LocalEmbedderOptions};
use super::{EmbedError, EmbedKind, Embedder, Precision};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

#[derive(serde::Deserialize)]
struct Fixture {
    dimension: usize,
    max_seq_length: usize,
    sentences: Vec<Reference>,
}

#[derive(serde::Deserialize)]
struct Reference {
    text: String,
    untruncated_tokens: usize,
    token_ids: Vec<u32>,
    embedding: Vec<f32>,
}

fn model_dir() -> PathBuf {
    std::env::var_os("DOCENT_MODEL_DIR")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("models/all-MiniLM-L6-v2"), PathBuf::from)
}

fn load(precision: Precision) -> LocalEmbedder {
    let opts = LocalEmbedderOptions { threads: 2, batch_size: 4, precision };
    match LocalEmbedder::load(&model_dir(), opts) {
        Ok(e) => e,
        Err(e) => panic!("{e} (run `make model` before `cargo test`)"),
    }
}

fn embedder() -> &'static LocalEmbedder {
    static EMBEDDER: OnceLock<LocalEmbedder> = OnceLock::new();
    EMBEDDER.get_or_init(|| load(Precision::F32))
}

fn fixture() -> Fixture {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/embeddings/minilm_reference.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("fixture parses")
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

#[tokio::test]
async fn matches_sentence_transformers_reference() {
    assert_matches_reference(embedder()).await;
}

#[tokio::test]
async fn bf16_on_amx_tiles_matches_the_reference_too_and_is_refused_without_amx() {
    match Precision::Bf16.resolve() {
        Ok(_) => assert_matches_reference(&load(Precision::Bf16)).await,
        Err(e) => {
            assert!(e.to_string().contains("DOCENT_EMBED__PRECISION"), "{e}");
            assert_eq!(Precision::Auto.resolve().expect("auto always resolves"), Precision::F32);
        }
    }
}

/// Every fixture sentence embeds within 0.999 cosine of its sentence-transformers vector.
async fn assert_matches_reference(e: &LocalEmbedder) {
    let fx = fixture();
    assert!(fx.sentences.len() >= 20);
    assert_eq!((e.dimension(), e.max_tokens()), (fx.dimension, fx.max_seq_length));
    assert!(fx.sentences.iter().any(|s| s.untruncated_tokens > e.max_tokens()), "fixture lacks a truncated text");
    let texts: Vec<String> = fx.sentences.iter().map(|s| s.text.clone()).collect();
    let got = e.embed(&texts, EmbedKind::Document).await.expect("embed");
    assert_eq!(got.len(), texts.len());
    let mut worst = (f32::INFINITY, "");
    for (v, r) in got.iter().zip(&fx.sentences) {
        assert_eq!(v.len(), fx.dimension);
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "not normalised: {norm}");
        let c = cosine(v, &r.embedding);
        assert!(c >= 0.999, "cosine {c} < 0.999 for {:?}", r.text);
        if c < worst.0 {
            worst = (c, &r.text);
        }
    }
    eprintln!("min cosine vs reference ({}): {} ({:?})", e.precision().as_str(), worst.0, worst.1);
}

#[test]
fn tokenization_matches_reference() {
    let (fx, e) = (fixture(), embedder());
    for r in &fx.sentences {
        assert_eq!(e.count_tokens(&r.text), r.untruncated_tokens - 2, "count_tokens of {:?}", r.text);
        assert_eq!(r.token_ids.len(), r.untruncated_tokens.min(e.max_tokens()));
        assert_eq!(e.token_ids(&r.text).expect("tokenize"), r.token_ids, "token ids of {:?}", r.text);
    }
    assert_eq!(e.count_tokens(""), 0);
}

#[tokio::test]
async fn batching_does_not_change_vectors() {
    let (fx, e) = (fixture(), embedder());
    let texts: Vec<String> = fx.sentences.iter().rev().map(|s| s.text.clone()).collect();
    let together = e.embed(&texts, EmbedKind::Document).await.expect("embed");
    for (i, text) in texts.iter().enumerate().step_by(5) {
        let alone = e.embed(std::slice::from_ref(text), EmbedKind::Query).await.expect("embed");
        let c = cosine(&alone[0], &together[i]);
        assert!(c > 0.99999, "batched vs alone cosine {c} for {text:?}");
    }
    let blocking = e.embed_blocking(&texts).expect("embed_blocking");
    assert_eq!(blocking.len(), together.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_get_their_own_vectors() {
    let (fx, e) = (fixture(), embedder());
    let texts: Vec<String> = fx.sentences.iter().map(|s| s.text.clone()).collect();
    let (all, head, tail) = tokio::join!(
        e.embed(&texts, EmbedKind::Document),
        e.embed(&texts[..3], EmbedKind::Query),
        e.embed(&texts[5..], EmbedKind::Document),
    );
    let (all, head, tail) = (all.expect("all"), head.expect("head"), tail.expect("tail"));
    for (i, v) in head.iter().enumerate() {
        assert!(cosine(v, &all[i]) > 0.99999, "text {i}");
    }
    for (i, v) in tail.iter().enumerate() {
        assert!(cosine(v, &all[i + 5]) > 0.99999, "text {}", i + 5);
    }
}

#[tokio::test]
async fn empty_input_gives_empty_output() {
    let out = embedder().embed(&[], EmbedKind::Query).await.expect("embed");
    assert!(out.is_empty());
    let out = embedder().embed(&[String::new()], EmbedKind::Query).await.expect("embed empty text");
    assert_eq!(out[0].len(), 384);
}

#[test]
fn missing_model_says_make_model() {
    let dir = std::env::temp_dir().join("docent-no-such-model-dir");
    let err = LocalEmbedder::load(&dir, LocalEmbedderOptions::default()).expect_err("must fail");
    assert!(matches!(err, EmbedError::ModelMissing { .. }));
    let msg = err.to_string();
    assert!(msg.contains("make model") && msg.contains("DOCENT_MODEL_DIR"), "{msg}");
}

/// Paragraph-sized chunks of about `target` tokens from the eval books.
fn bench_chunks(e: &LocalEmbedder, target: usize) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/eval/squad-dev/book");
    let mut words = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display())) {
        let text = std::fs::read_to_string(entry.expect("dir entry").path()).expect("book text");
        words.extend(text.split_whitespace().map(str::to_owned));
    }
    let mut chunks = Vec::new();
    let mut current = String::new();
    for w in words {
        current.push_str(&w);
        current.push(' ');
        if current.len() > target * 4 && e.count_tokens(&current) >= target {
            chunks.push(std::mem::take(&mut current));
        }
    }
    chunks
}

/// `DOCENT_BENCH_THREADS=2 DOCENT_BENCH_BATCH=16 cargo test --release embed::tests::throughput -- --ignored --nocapture`
#[test]
#[ignore = "benchmark; run explicitly with --ignored --nocapture"]
fn throughput() {
    let env = |k: &str, d: usize| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    let opts = LocalEmbedderOptions {
        threads: env("DOCENT_BENCH_THREADS", 2),
        batch_size: env("DOCENT_BENCH_BATCH", 16),
        ..LocalEmbedderOptions::default()
    };
    let start = Instant::now();
    let e = LocalEmbedder::load(&model_dir(), opts).expect("model (run `make model`)");
    eprintln!("model loaded in {:?}", start.elapsed());
    let chunks = bench_chunks(&e, env("DOCENT_BENCH_TOKENS", 180));
    let tokens: usize = chunks.iter().map(|c| e.count_tokens(c) + 2).sum();
    e.embed_blocking(&chunks[..opts.batch_size.min(chunks.len())]).expect("warm-up");
    for _ in 0..env("DOCENT_BENCH_ROUNDS", 2) {
        let start = Instant::now();
        e.embed_blocking(&chunks).expect("embed");
        let secs = start.elapsed().as_secs_f64();
        eprintln!(
            "{} chunks, {:.0} tokens/chunk, threads={} batch={}: {:.1} chunks/s ({:.0} tokens/s)",
            chunks.len(),
            tokens as f64 / chunks.len() as f64,
            opts.threads,
            opts.batch_size,
            chunks.len() as f64 / secs,
            tokens as f64 / secs
        );
    }
}
