//! Stand-ins for the chat providers: the scripted stub server of the LLM unit tests (reused,
//! not copied) plus each provider's documented streaming frames for a given answer, and an app
//! whose settings point a provider's base URL at a stub.

use docent::config::{ChatProvider, ProviderConfig, Settings};
use serde_json::json;

use crate::common::TestApp;
pub use crate::stub::{Reply, Stub, frame};
use crate::support::app_with_book_configured;

/// An answer the Normans chapter supports, as the tokens a model would stream.
pub const TOKENS: [&str; 5] = ["Their", " leader", " was", " Rollo", " [1]."];

/// The provider's documented SSE frames streaming `tokens`, then its end of message.
pub fn frames(provider: ChatProvider, tokens: &[&str]) -> Vec<String> {
    match provider {
        ChatProvider::Cohere => cohere(tokens),
        ChatProvider::Anthropic => anthropic(tokens),
        _ => openai(tokens),
    }
}

fn openai(tokens: &[&str]) -> Vec<String> {
    let chunk = |delta: serde_json::Value, finish: Option<&str>| {
        frame(
            None,
            &json!({"id": "c", "object": "chat.completion.chunk", "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}),
        )
    };
    let mut out = vec![chunk(json!({"role": "assistant", "content": ""}), None)];
    out.extend(tokens.iter().map(|t| chunk(json!({"content": t}), None)));
    out.push(chunk(json!({}), Some("stop")));
    out.push(frame(
        None,
        &json!({"id": "c", "object": "chat.completion.chunk", "choices": [],
        "usage": {"prompt_tokens": 50, "completion_tokens": 5, "total_tokens": 55}}),
    ));
    out.push("data: [DONE]\n\n".into());
    out
}

fn cohere(tokens: &[&str]) -> Vec<String> {
    let mut out = vec![frame(
        Some("message-start"),
        &json!({"id": "c", "type": "message-start",
        "delta": {"message": {"role": "assistant", "content": [], "citations": []}}}),
    )];
    out.extend(tokens.iter().map(|t| {
        frame(
            Some("content-delta"),
            &json!({"type": "content-delta", "index": 0,
            "delta": {"message": {"content": {"text": t}}}}),
        )
    }));
    out.push(frame(
        Some("message-end"),
        &json!({"type": "message-end", "delta": {"finish_reason": "COMPLETE",
        "usage": {"tokens": {"input_tokens": 50, "output_tokens": 5}}}}),
    ));
    out
}

fn anthropic(tokens: &[&str]) -> Vec<String> {
    let mut out = vec![
        frame(
            Some("message_start"),
            &json!({"type": "message_start", "message": {"id": "m", "type": "message",
            "role": "assistant", "content": [], "usage": {"input_tokens": 50, "output_tokens": 1}}}),
        ),
        frame(
            Some("content_block_start"),
            &json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}}),
        ),
    ];
    out.extend(tokens.iter().map(|t| {
        frame(
            Some("content_block_delta"),
            &json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": t}}),
        )
    }));
    out.push(frame(Some("content_block_stop"), &json!({"type": "content_block_stop", "index": 0})));
    out.push(frame(
        Some("message_delta"),
        &json!({"type": "message_delta",
        "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}}),
    ));
    out.push(frame(Some("message_stop"), &json!({"type": "message_stop"})));
    out
}

/// Makes `provider` (answering at `url` with key `test-key`) the primary, one attempt each.
pub fn use_provider(settings: &mut Settings, provider: ChatProvider, url: &str) {
    settings.llm.provider = provider;
    settings.llm.max_attempts = 1;
    add_provider(settings, provider, url);
}

/// Configures `provider` at `url` without making it the primary.
pub fn add_provider(settings: &mut Settings, provider: ChatProvider, url: &str) {
    let config =
        ProviderConfig { api_key: Some("test-key".to_owned().into()), base_url: Some(url.to_owned()), model: None };
    match provider {
        ChatProvider::Cohere => settings.cohere = config,
        ChatProvider::Openai => settings.openai = config,
        ChatProvider::Anthropic => settings.anthropic = config,
        ChatProvider::Extractive => {}
    }
}

/// The book app answering with `provider` at `stub`, after `configure`.
pub async fn app_with(provider: ChatProvider, stub: &Stub, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let url = stub.url.clone();
    app_with_book_configured(move |s| {
        use_provider(s, provider, &url);
        configure(s);
    })
    .await
}

/// A JSON error body with `status`.
pub fn failure(status: u16) -> Reply {
    Reply::Json(status, json!({"error": {"message": "upstream exploded"}, "message": "upstream exploded"}), Vec::new())
}
