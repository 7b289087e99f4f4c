//! Docent's own latency before the first SSE `delta` of a streamed answer, with a local stub
//! LLM (OpenAI-compatible) that streams its whole answer instantly: everything measured is
//! Docent (session, conversation rows, query embedding, hybrid search, the extractive support
//! gate, the provider call over loopback, relaying). Ingests the user guide in `docs/`, then
//! fires rounds of 50 concurrent streamed questions and prints p50/p95/p99 (target p99 ≤ 20 ms).
//!
//! `cargo run --release --example first_delta -- [ROUNDS] [CONCURRENCY]`

use std::path::PathBuf;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::response::Response;
use docent::components::Components;
use docent::config::{ChatProvider, ProviderConfig, Settings};
use docent::ingest::sync::{NoProgress, SyncOptions, sync_paths};
use futures::StreamExt;
use serde_json::json;

const QUESTION: &str = "How do I set the allowed CORS origins?";

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (rounds, concurrency) = (args.first().copied().unwrap_or(10), args.get(1).copied().unwrap_or(50));
    docent::install_crypto_provider();
    let data = tempfile::tempdir().expect("temp dir");
    let settings = settings(data.path().to_path_buf(), &stub_llm().await);
    let components = Components::open(&settings).await.expect("components");
    let options = SyncOptions::from_settings(&settings, false);
    sync_paths(&components, &[PathBuf::from("docs")], &options, &NoProgress).await.expect("docs ingested");
    // As `docent ingest` does: the book's background is measured now and kept, so the server
    // does not measure it during the timed rounds.
    components.answers(&settings).calibrate_kept(&settings.data_dir).await.expect("background measured");
    drop(components);
    let app = docent::Application::build(settings).await.expect("app");
    let url = format!("http://127.0.0.1:{}/api/v1/chat", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    for _ in 0..5 {
        ask(&client, &url).await;
    }
    let (mut first, mut retrieve, mut whole) = (Vec::new(), Vec::new(), Vec::new());
    let cpu_before = process_cpu();
    for _ in 0..rounds {
        let round_started = Instant::now();
        let round = futures::future::join_all((0..concurrency).map(|_| ask(&client, &url))).await;
        for (to_delta, retrieval) in round {
            first.push(to_delta);
            retrieve.push(retrieval);
        }
        whole.push(round_started.elapsed());
    }
    let cpu = process_cpu() - cpu_before;
    let wall: Duration = whole.iter().sum();
    report(&format!("first delta, {concurrency} concurrent streams"), &mut first);
    report("  of which retrieval (query embedding, search)", &mut retrieve);
    report("  a whole round (every stream to its end)", &mut whole);
    let requests = (rounds * concurrency).max(1) as f64;
    println!(
        "  CPU (server, stub model and client together): {:.2} ms a stream, {:.0}% of 2 cores in the rounds",
        cpu.as_secs_f64() * 1000.0 / requests,
        cpu.as_secs_f64() * 100.0 / (2.0 * wall.as_secs_f64().max(1e-9))
    );
}

/// The process's CPU time so far (user + system), from `/proc/self/stat`.
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or_default().split_whitespace().collect();
    let ticks: u64 = fields.get(11..13).map(|f| f.iter().filter_map(|t| t.parse::<u64>().ok()).sum()).unwrap_or(0);
    Duration::from_secs_f64(ticks as f64 / 100.0)
}

fn settings(data_dir: PathBuf, llm_url: &str) -> Settings {
    let mut settings = Settings::default();
    settings.server.host = "127.0.0.1".into();
    settings.server.port = 0;
    settings.data_dir = data_dir;
    settings.log.level = "error".into();
    settings.rate_limit.enabled = false; // one client asking hundreds of questions

    settings.llm.provider = ChatProvider::Openai;
    settings.openai =
        ProviderConfig { api_key: Some("bench".to_owned().into()), base_url: Some(llm_url.to_owned()), model: None };
    settings
}

/// One streamed question: time to the first `delta`, and the retrieval time `done` reports.
async fn ask(client: &reqwest::Client, url: &str) -> (Duration, Duration) {
    let started = Instant::now();
    let response = client.post(url).json(&json!({"message": QUESTION, "stream": true})).send().await.expect("sent");
    let mut body = response.bytes_stream();
    let (mut seen, mut first) = (String::new(), None);
    while let Some(chunk) = body.next().await {
        seen.push_str(&String::from_utf8_lossy(&chunk.expect("body")));
        if first.is_none() && seen.contains("event: delta\n") {
            first = Some(started.elapsed());
        }
    }
    let done = seen.split("event: done\ndata: ").nth(1).expect("a done event");
    let done: serde_json::Value = serde_json::from_str(done.lines().next().unwrap_or_default()).expect("done JSON");
    assert_eq!(done["provider"], "openai", "the stub model answered: {done}");
    let retrieve = done["timings_ms"]["retrieve"].as_f64().unwrap_or_default();
    (first.expect("a delta"), Duration::from_secs_f64(retrieve / 1000.0))
}

fn report(what: &str, samples: &mut [Duration]) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what}: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms ({} samples)",
        ms(at(0.5)),
        ms(at(0.95)),
        ms(at(0.99)),
        samples.len()
    );
}

/// An OpenAI-compatible server that streams a cited answer at once.
async fn stub_llm() -> String {
    let chunk = |content: &str| {
        format!(
            "data: {}\n\n",
            json!({"choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]})
        )
    };
    let body: String =
        ["Set", " CORS_ORIGINS", " to the exact origins", " [1]."].iter().map(|t| chunk(t)).collect::<String>()
            + &format!(
                "data: {}\n\ndata: [DONE]\n\n",
                json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            );
    let app = axum::Router::new().fallback(move || {
        let body = body.clone();
        async move { Response::builder().header("content-type", "text/event-stream").body(Body::from(body)).unwrap() }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}
