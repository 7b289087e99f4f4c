//! Passes of questions through the local MiniLM: how long one forward pass of N questions
//! takes on T threads, the figure behind running the server's coalesced question passes on
//! one thread (`embed::local`). Run it with `time` to see the CPU each thread count costs.
//!
//! `T=1 cargo run --release --example qpass -- [QUESTIONS_PER_PASS] [SECONDS]` (T defaults to 2)

use std::time::Instant;

use docent::embed::Precision;
use docent::embed::local::{LocalEmbedder, LocalEmbedderOptions, default_model_dir};

fn main() {
    let per_pass: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(8);
    let seconds: f64 = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let threads = std::env::var("T").ok().and_then(|t| t.parse().ok()).unwrap_or(2);
    let precision = if Precision::Bf16.resolve().is_ok() { Precision::Bf16 } else { Precision::F32 };
    let options = LocalEmbedderOptions { threads, batch_size: per_pass.max(1), precision };
    let embedder = LocalEmbedder::load(&default_model_dir(), options).expect("model");
    let file = std::fs::read_to_string("bench/queries.txt").expect("bench/queries.txt");
    // Numbered as the cold search benchmark numbers them.
    let questions: Vec<String> =
        file.lines().filter(|l| !l.is_empty()).enumerate().map(|(i, l)| format!("{l} {}", 1_000_000 + i)).collect();
    let mut times = Vec::new();
    let started = Instant::now();
    while started.elapsed().as_secs_f64() < seconds {
        let first = times.len() * per_pass;
        let batch: Vec<String> = (0..per_pass).map(|k| questions[(first + k) % questions.len()].clone()).collect();
        let pass = Instant::now();
        embedder.embed_blocking(&batch).expect("embedding");
        times.push(pass.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let p50 = times[times.len() / 2];
    println!(
        "docent qpass ({}, {threads} threads): {per_pass} questions a pass: p50 {p50:.2} ms (min {:.2}), {:.3} ms a question, {} passes",
        embedder.precision().as_str(),
        times[0],
        p50 / per_pass as f64,
        times.len()
    );
}
