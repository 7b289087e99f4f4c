//! Embedding throughput of the local MiniLM on the texts of a JSONL file (one JSON string per
//! line), the same texts `bench/torch_embed.py` feeds PyTorch. Prints chunks/s, mean tokens and
//! the share of the machine's peak sgemm FLOP/s it reaches, in f32 and (on CPUs with AMX) bf16.
//!
//! Then times short questions (`bench/queries.txt`): one at a time, as a lone search embeds
//! its query, and sixteen at once, as concurrent searches are coalesced into one pass.
//!
//! Last, what the AMX tile instructions cost on this CPU (`docent::amx::probe`), which bounds
//! the bf16 figures.
//!
//! `cargo run --release --example embed -- TEXTS.jsonl [THREADS] [BATCH] [f32|bf16]` (both
//! precisions by default)

use std::path::PathBuf;
use std::time::Instant;

use docent::embed::local::{LocalEmbedder, LocalEmbedderOptions, default_model_dir};
use docent::embed::{Embedder, Precision};

/// Bytes of MiniLM-L6's dense-layer weights in bf16 (one multiply-accumulate per weight).
const WEIGHT_BYTES: usize = 2 * (MACS_PER_TOKEN as usize);

/// Multiply-accumulates per token of MiniLM-L6's encoder (6 layers, d=384, FFN 1536).
const MACS_PER_TOKEN: f64 = 6.0 * (4.0 * 384.0 * 384.0 + 2.0 * 384.0 * 1536.0);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = PathBuf::from(args.get(1).expect("usage: embed TEXTS.jsonl [THREADS] [BATCH] [f32|bf16]"));
    let threads = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2);
    let batch_size = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(16);
    let texts: Vec<String> = std::fs::read_to_string(&path)
        .expect("texts file")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON string per line"))
        .collect();
    let precisions = match args.get(4).map(String::as_str) {
        Some("f32") => vec![Precision::F32],
        Some("bf16") => vec![Precision::Bf16],
        _ => vec![Precision::F32, Precision::Bf16],
    };
    for precision in precisions {
        if precision.resolve().is_err() {
            println!("docent embed: bf16 skipped, this CPU has no AMX-BF16");
            continue;
        }
        let options = LocalEmbedderOptions { threads, batch_size, precision };
        let embedder = LocalEmbedder::load(&default_model_dir(), options).expect("model");
        chunks(&embedder, &texts, options);
        queries(&embedder);
    }
    tiles();
}

/// What the AMX instructions cost on this CPU, and the ceiling they set for the bf16 layers.
fn tiles() {
    let Some(t) = docent::amx::probe::measure(WEIGHT_BYTES) else { return };
    println!(
        "amx on this cpu: a tile product {:.1} ns, a tile load {:.1} ns, a tile store {:.1} ns; the kernels' 2x2 step \
         {:.1} ns a product from L1 ({:.0} GFLOP/s a core), {:.1} ns streaming the model's {} MB of bf16 weights ({:.0} GFLOP/s)",
        t.product_ns,
        t.load_ns,
        t.store_ns,
        t.step_product_ns,
        t.step_gflops(),
        t.streamed_product_ns.unwrap_or(f64::NAN),
        WEIGHT_BYTES >> 20,
        t.streamed_gflops().unwrap_or(f64::NAN),
    );
}

/// Throughput of embedding `texts` in batches, as ingestion does.
fn chunks(embedder: &LocalEmbedder, texts: &[String], options: LocalEmbedderOptions) {
    let tokens: usize = texts.iter().map(|t| embedder.count_tokens(t).min(254) + 2).sum();
    embedder.embed_blocking(&texts[..texts.len().min(32)]).expect("warm-up");
    let started = Instant::now();
    embedder.embed_blocking(texts).expect("embedding");
    let seconds = started.elapsed().as_secs_f64();
    let rate = texts.len() as f64 / seconds;
    let gflops = 2.0 * MACS_PER_TOKEN * tokens as f64 / seconds / 1e9;
    println!(
        "docent embed ({}): {} chunks, {:.0} tokens/chunk, threads {}, batch {}: {rate:.1} chunks/s, {gflops:.1} GFLOP/s",
        options.precision.as_str(),
        texts.len(),
        tokens as f64 / texts.len() as f64,
        options.threads,
        options.batch_size,
    );
}

/// Latency of embedding the benchmark's questions alone and sixteen at a time.
fn queries(embedder: &LocalEmbedder) {
    let Ok(file) = std::fs::read_to_string("bench/queries.txt") else { return };
    let questions: Vec<String> = file.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect();
    let time = |texts: &[String]| {
        let started = Instant::now();
        embedder.embed_blocking(texts).expect("embedding");
        started.elapsed().as_secs_f64() * 1e3
    };
    let mut alone: Vec<f64> = questions.iter().chain(&questions).map(|q| time(std::slice::from_ref(q))).collect();
    alone.sort_by(f64::total_cmp);
    let mut sixteen: Vec<f64> = (0..10).map(|i| time(&questions[i..i + 16])).collect();
    sixteen.sort_by(f64::total_cmp);
    println!(
        "docent embed ({}): one question at a time p50 {:.2} ms (min {:.2}); 16 questions in one pass p50 {:.2} ms (min {:.2})",
        embedder.precision().as_str(),
        alone[alone.len() / 2],
        alone[0],
        sixteen[sixteen.len() / 2],
        sixteen[0]
    );
}
