//! Real token streaming: the first delta leaves while the model is still writing, and a reader
//! who disconnects cancels the upstream generation.

use std::time::{Duration, Instant};

use docent::config::ChatProvider;
use futures::StreamExt;
use serde_json::json;

use crate::upstream::{Reply, Stub, app_with, frames};

/// Reads the SSE body until an `event: <name>` line has arrived; returns when it did.
async fn wait_for_event(
    stream: &mut (impl futures::Stream<Item = reqwest::Result<axum::body::Bytes>> + Unpin),
    name: &str,
) {
    let mut seen = String::new();
    while let Some(chunk) = stream.next().await {
        seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        if seen.contains(&format!("event: {name}\n")) {
            return;
        }
    }
    panic!("the stream ended without a {name} event: {seen}");
}

fn paced(gap_ms: u64, tokens: &[&str], hold: bool) -> Reply {
    Reply::Sse { chunks: frames(ChatProvider::Openai, tokens), gap: Duration::from_millis(gap_ms), hold }
}

#[tokio::test]
async fn the_first_delta_reaches_the_reader_while_the_model_is_still_writing() {
    let stub = Stub::start(vec![paced(300, &["Their", " leader", " was", " Rollo", " [1]."], false)]).await;
    let app = app_with(ChatProvider::Openai, &stub, |_| {}).await;
    let started = Instant::now();

    let response =
        crate::support::chat(&app, json!({"message": "Who was the Norse leader?", "stream": true}), None).await;
    let mut body = response.bytes_stream();
    wait_for_event(&mut body, "delta").await;
    let first_delta = started.elapsed();
    wait_for_event(&mut body, "done").await;
    let done = started.elapsed();

    assert!(done - first_delta >= Duration::from_millis(900), "first delta {first_delta:?}, done {done:?}");
}

#[tokio::test]
async fn a_reader_who_disconnects_cancels_the_upstream_generation_within_a_second() {
    let tokens: Vec<String> = (0..100).map(|i| format!(" Rollo{i}")).collect();
    let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
    let stub = Stub::start(vec![paced(200, &tokens, true)]).await;
    let app = app_with(ChatProvider::Openai, &stub, |_| {}).await;
    let response =
        crate::support::chat(&app, json!({"message": "Who was the Norse leader?", "stream": true}), None).await;
    let mut body = response.bytes_stream();
    wait_for_event(&mut body, "delta").await;

    drop(body);
    let dropped = Instant::now();
    while !stub.stream_closed() && dropped.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    assert!(stub.stream_closed(), "the upstream stream is still open");
    assert!(dropped.elapsed() <= Duration::from_secs(1), "closed after {:?}", dropped.elapsed());
}
