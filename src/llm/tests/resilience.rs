//! Timeouts, retries, the circuit breaker, the fallback chain and cancellation, against
//! the OpenAI-compatible stub.

use super::openai::{chunk, stream_frames};
use super::stub::{Reply, Stub};
use super::{breaker, client, collect, endpoint, question, retry, timeouts};
use crate::llm::breaker::BreakerState;
use crate::llm::fallback::FallbackChain;
use crate::llm::openai::OpenAiChat;
use crate::llm::resilience::{Resilient, backoff};
use crate::llm::{ChatModel, LlmError, ProviderHealth, TimeoutPhase};
use futures::StreamExt;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn resilient(stub: &Stub, first_token_ms: u64, attempts: u32, threshold: u32) -> Resilient {
    let inner = Arc::new(OpenAiChat::new(client(), endpoint(&stub.url, Some("k"), "m")));
    Resilient::new(inner, timeouts(first_token_ms), retry(attempts), breaker(threshold, 300))
}

fn error(status: u16) -> Reply {
    Reply::Json(status, json!({"error": {"message": "boom"}}), Vec::new())
}

#[tokio::test]
async fn a_slow_first_token_times_out_as_504() {
    let slow = Reply::Sse { chunks: stream_frames(), gap: Duration::from_secs(2), hold: false };
    let stub = Stub::start(vec![slow]).await;
    let started = Instant::now();

    let err = resilient(&stub, 300, 1, 5).chat_stream(question()).await.err().unwrap();

    assert!(matches!(err, LlmError::Timeout { phase: TimeoutPhase::FirstToken, .. }), "{err:?}");
    assert_eq!(err.http_status(), 504);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_after_the_delay() {
    let limited = Reply::Json(429, json!({"error": {"message": "slow down"}}), vec![("retry-after", "1".into())]);
    let stub = Stub::start(vec![limited, Reply::sse(stream_frames())]).await;
    let started = Instant::now();

    let stream = resilient(&stub, 2000, 3, 5).chat_stream(question()).await.unwrap();
    let (text, _, err) = collect(stream).await;

    assert!(err.is_none());
    assert_eq!(text, "Hello world");
    assert_eq!(stub.hits(), 2);
    assert!(started.elapsed() >= Duration::from_millis(950), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_5xx_is_retried_then_succeeds() {
    let ok = Reply::ok(json!({"choices": [{"message": {"content": "fine"}, "finish_reason": "stop"}]}));
    let stub = Stub::start(vec![error(503), error(500), ok]).await;

    let resp = resilient(&stub, 2000, 3, 5).chat(question()).await.unwrap();

    assert_eq!(resp.text, "fine");
    assert_eq!(stub.hits(), 3);
}

#[tokio::test]
async fn rate_limiting_that_outlasts_the_retries_is_503() {
    let stub = Stub::start(vec![Reply::Json(429, json!({}), Vec::new())]).await;

    let err = resilient(&stub, 2000, 2, 5).chat(question()).await.unwrap_err();

    assert!(matches!(err, LlmError::RateLimited { .. }));
    assert_eq!(err.http_status(), 503);
    assert_eq!(stub.hits(), 2);
}

#[tokio::test]
async fn malformed_json_and_truncated_streams_are_upstream_errors() {
    let stub = Stub::start(vec![Reply::Raw(200, "{\"choices\": [")]).await;
    let err = resilient(&stub, 2000, 3, 5).chat(question()).await.unwrap_err();
    assert!(matches!(err, LlmError::Malformed { .. }), "{err:?}");
    assert_eq!((err.http_status(), stub.hits()), (502, 1));

    let truncated = stream_frames()[..2].to_vec();
    let stub = Stub::start(vec![Reply::sse(truncated)]).await;
    let stream = resilient(&stub, 2000, 3, 5).chat_stream(question()).await.unwrap();
    let (text, _, err) = collect(stream).await;
    assert_eq!(text, "Hello");
    assert!(matches!(err, Some(LlmError::Malformed { .. })), "{err:?}");
}

#[tokio::test]
async fn nothing_is_retried_after_the_first_token() {
    let broken = vec![chunk(json!({"content": "Hel"}), None), "data: {not json\n\n".to_owned()];
    let stub = Stub::start(vec![Reply::sse(broken), Reply::sse(stream_frames())]).await;

    let stream = resilient(&stub, 2000, 3, 5).chat_stream(question()).await.unwrap();
    let (text, _, err) = collect(stream).await;

    assert_eq!(text, "Hel");
    assert_eq!(err.map(|e| e.http_status()), Some(502));
    assert_eq!(stub.hits(), 1);
}

#[tokio::test]
async fn the_breaker_opens_after_n_failures_and_half_opens_later() {
    let stub = Stub::start(vec![error(500), error(500), Reply::sse(stream_frames())]).await;
    let model = resilient(&stub, 2000, 1, 2);

    for _ in 0..2 {
        assert!(model.chat_stream(question()).await.is_err());
    }
    let refused = model.chat_stream(question()).await.err().unwrap();
    assert!(matches!(refused, LlmError::BreakerOpen { .. }));
    assert_eq!(refused.http_status(), 503);
    assert_eq!((stub.hits(), model.probe()), (2, ProviderHealth::Inactive));

    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(model.breaker().state(), BreakerState::HalfOpen);
    let (text, _, _) = collect(model.chat_stream(question()).await.unwrap()).await;
    assert_eq!(text, "Hello world");
    assert_eq!(model.breaker().state(), BreakerState::Closed);
}

#[tokio::test]
async fn a_failing_provider_falls_back_to_the_next() {
    let down = Stub::start(vec![error(502)]).await;
    let up = Stub::start(vec![Reply::sse(stream_frames())]).await;
    let chain = FallbackChain::new(vec![Arc::new(resilient(&down, 2000, 2, 5)), Arc::new(resilient(&up, 2000, 2, 5))]);

    let (text, _, err) = collect(chain.chat_stream(question()).await.unwrap()).await;

    assert!(err.is_none());
    assert_eq!(text, "Hello world");
    assert_eq!((down.hits(), up.hits()), (2, 1));
}

#[tokio::test]
async fn when_every_provider_fails_the_chain_answers_503() {
    let down = Stub::start(vec![error(500)]).await;
    let chain =
        FallbackChain::new(vec![Arc::new(resilient(&down, 2000, 1, 5)), Arc::new(resilient(&down, 2000, 1, 5))]);

    let err = chain.chat(question()).await.unwrap_err();

    assert!(matches!(err, LlmError::AllUnavailable { .. }), "{err:?}");
    assert_eq!(err.http_status(), 503);
}

#[tokio::test]
async fn dropping_the_stream_closes_the_upstream_connection() {
    let frames = stream_frames()[..2].to_vec();
    let stub = Stub::start(vec![Reply::Sse { chunks: frames, gap: Duration::ZERO, hold: true }]).await;
    let mut stream = resilient(&stub, 2000, 1, 5).chat_stream(question()).await.unwrap();
    assert!(stream.next().await.is_some());

    drop(stream);

    let started = Instant::now();
    while !stub.stream_closed() && started.elapsed() < Duration::from_secs(1) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(stub.stream_closed(), "upstream still streaming 1 s after the drop");
}

#[test]
fn backoff_honours_retry_after_but_not_beyond_the_cap() {
    let policy = retry(3);
    assert_eq!(backoff(&policy, 1, Some(Duration::from_secs(2))), Some(Duration::from_secs(2)));
    assert_eq!(backoff(&policy, 1, Some(Duration::from_secs(60))), None);
    let d = backoff(&policy, 3, None).unwrap();
    assert!(d >= Duration::from_millis(40) && d <= Duration::from_millis(80), "{d:?}");
    let date = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(5));
    let parsed = crate::llm::http::parse_retry_after(&date).unwrap();
    assert!(parsed > Duration::from_secs(3) && parsed <= Duration::from_secs(5));
}

/// Stands in for the answer layer's extractive generator at the end of the chain.
#[derive(Debug)]
struct Canned;

#[async_trait::async_trait]
impl ChatModel for Canned {
    fn name(&self) -> &str {
        "extractive"
    }
    fn model(&self) -> &str {
        "quotes"
    }
    fn probe(&self) -> ProviderHealth {
        ProviderHealth::Active
    }
    async fn chat(&self, _: crate::llm::ChatRequest) -> Result<crate::llm::ChatResponse, LlmError> {
        Ok(crate::llm::ChatResponse { text: "quoted".into(), ..Default::default() })
    }
    async fn chat_stream(&self, _: crate::llm::ChatRequest) -> Result<crate::llm::ChatStream, LlmError> {
        let events =
            [crate::llm::StreamEvent::Delta("quoted".into()), crate::llm::StreamEvent::Done { finish_reason: None }];
        Ok(futures::stream::iter(events.map(Ok)).boxed())
    }
}

#[tokio::test]
async fn build_chain_skips_unconfigured_providers_and_ends_with_the_tail() {
    let down = Stub::start(vec![error(500)]).await;
    let mut settings = crate::llm::LlmSettings {
        provider: crate::llm::ProviderKind::Cohere,
        fallback: vec![crate::llm::ProviderKind::OpenAi, crate::llm::ProviderKind::Extractive],
        ..Default::default()
    };
    settings.openai = endpoint(&down.url, Some("k"), "m");
    settings.retry = retry(1);
    let chain = crate::llm::resilience::build_chain(&settings, vec![Arc::new(Canned)]).unwrap();

    let names: Vec<&str> = chain.links().iter().map(|l| l.name()).collect();
    let health: Vec<ProviderHealth> = chain.links().iter().map(|l| l.probe()).collect();
    let (text, _, err) = collect(chain.chat_stream(question()).await.unwrap()).await;

    assert_eq!(names, ["cohere", "openai", "extractive"]);
    assert_eq!(health[0], ProviderHealth::Unconfigured);
    assert!(err.is_none());
    assert_eq!((text.as_str(), down.hits()), ("quoted", 1));
}
