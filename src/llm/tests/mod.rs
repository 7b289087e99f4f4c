//! Tests of the LLM layer and the remote embedders against local stub servers speaking
//! each provider's wire format.

mod anthropic;
mod cohere;
mod embed_remote;
mod openai;
mod resilience;
mod stub;

use super::{
    BreakerSettings, ChatMessage, ChatRequest, ChatStream, GroundingDocument, LlmError, ProviderEndpoint,
    RetrySettings, StreamEvent, Timeouts,
};
use futures::StreamExt;
use std::time::Duration;

fn client() -> reqwest::Client {
    super::http::client(Duration::from_secs(2)).unwrap()
}

fn endpoint(url: &str, key: Option<&str>, model: &str) -> ProviderEndpoint {
    ProviderEndpoint { api_key: key.map(|k| k.to_owned().into()), base_url: url.to_owned(), model: model.to_owned() }
}

fn question() -> ChatRequest {
    ChatRequest {
        system: "Answer from the book.".into(),
        messages: vec![ChatMessage::user("What is Docent?")],
        documents: vec![GroundingDocument {
            id: "doc-1".into(),
            title: "Intro".into(),
            text: "Docent is a RAG backend.".into(),
        }],
        max_tokens: Some(200),
        temperature: Some(0.2),
    }
}

fn timeouts(first_token_ms: u64) -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(2),
        first_token: Duration::from_millis(first_token_ms),
        total: Duration::from_secs(10),
    }
}

fn retry(max_attempts: u32) -> RetrySettings {
    RetrySettings { max_attempts, base_delay: Duration::from_millis(20), max_delay: Duration::from_secs(3) }
}

fn breaker(failure_threshold: u32, open_ms: u64) -> BreakerSettings {
    BreakerSettings { failure_threshold, open_duration: Duration::from_millis(open_ms) }
}

/// Drains a stream: the concatenated text, every event, and the error that ended it.
async fn collect(mut stream: ChatStream) -> (String, Vec<StreamEvent>, Option<LlmError>) {
    let (mut text, mut events) = (String::new(), Vec::new());
    while let Some(item) = stream.next().await {
        match item {
            Ok(ev) => {
                if let StreamEvent::Delta(d) = &ev {
                    text.push_str(d);
                }
                events.push(ev);
            }
            Err(e) => return (text, events, Some(e)),
        }
    }
    (text, events, None)
}

#[test]
fn api_keys_never_show_in_debug_output() {
    let mut settings = super::LlmSettings::default();
    settings.cohere.api_key = Some("co-secret-123".to_owned().into());
    settings.anthropic = endpoint("http://x", Some("ant-secret-456"), "m");

    let printed = format!("{settings:?}");

    assert!(!printed.contains("secret-123") && !printed.contains("secret-456"), "{printed}");
}
