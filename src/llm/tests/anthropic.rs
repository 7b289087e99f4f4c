//! Anthropic Messages wire format: headers, body, named stream events, error events.

use super::stub::{Reply, Stub, frame};
use super::{client, collect, endpoint, question};
use crate::llm::anthropic::AnthropicChat;
use crate::llm::{ChatModel, LlmError, StreamEvent, Usage};
use serde_json::json;

fn model(stub: &Stub) -> AnthropicChat {
    AnthropicChat::new(client(), endpoint(&stub.url, Some("ant-key"), "claude-sonnet-4-5"))
}

fn head_frames() -> Vec<String> {
    vec![
        frame(
            Some("message_start"),
            &json!({"type": "message_start", "message": {"id": "m1",
            "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-5",
            "stop_reason": null, "usage": {"input_tokens": 25, "output_tokens": 1}}}),
        ),
        frame(
            Some("content_block_start"),
            &json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}}),
        ),
        frame(Some("ping"), &json!({"type": "ping"})),
        frame(
            Some("content_block_delta"),
            &json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": "Hello"}}),
        ),
    ]
}

#[tokio::test]
async fn a_plain_chat_sends_version_and_key_headers() {
    let stub = Stub::start(vec![Reply::ok(json!({"id": "m1", "type": "message", "role": "assistant",
        "content": [{"type": "text", "text": "Hi there"}], "model": "claude-sonnet-4-5",
        "stop_reason": "end_turn", "usage": {"input_tokens": 12, "output_tokens": 3}}))])
    .await;

    let resp = model(&stub).chat(question()).await.unwrap();

    assert_eq!(resp.text, "Hi there");
    assert_eq!(resp.usage, Some(Usage { prompt_tokens: 12, completion_tokens: 3 }));
    assert_eq!(resp.finish_reason.as_deref(), Some("end_turn"));
    let req = &stub.requests()[0];
    assert_eq!((req.method.as_str(), req.path.as_str()), ("POST", "/v1/messages"));
    assert_eq!(req.header("x-api-key"), Some("ant-key"));
    assert_eq!(req.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(req.header("authorization"), None);
    assert_eq!(req.body["system"], "Answer from the book.");
    assert_eq!(req.body["messages"], json!([{"role": "user", "content": "What is Docent?"}]));
    assert_eq!(req.body["max_tokens"], 200);
}

#[tokio::test]
async fn a_streamed_chat_follows_the_named_events() {
    let mut frames = head_frames();
    frames.extend([
        frame(
            Some("content_block_delta"),
            &json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": " world"}}),
        ),
        frame(Some("content_block_stop"), &json!({"type": "content_block_stop", "index": 0})),
        frame(
            Some("message_delta"),
            &json!({"type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 15}}),
        ),
        frame(Some("message_stop"), &json!({"type": "message_stop"})),
    ]);
    let stub = Stub::start(vec![Reply::sse(frames)]).await;

    let (text, events, err) = collect(model(&stub).chat_stream(question()).await.unwrap()).await;

    assert!(err.is_none(), "{err:?}");
    assert_eq!(text, "Hello world");
    assert_eq!(events[events.len() - 2], StreamEvent::Usage(Usage { prompt_tokens: 25, completion_tokens: 15 }));
    assert_eq!(events[events.len() - 1], StreamEvent::Done { finish_reason: Some("end_turn".into()) });
    assert_eq!(stub.requests()[0].body["stream"], true);
}

#[tokio::test]
async fn an_error_event_mid_stream_ends_it_with_an_upstream_error() {
    let mut frames = head_frames();
    frames.push(frame(
        Some("error"),
        &json!({"type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    ));
    let stub = Stub::start(vec![Reply::sse(frames)]).await;

    let (text, _, err) = collect(model(&stub).chat_stream(question()).await.unwrap()).await;

    assert_eq!(text, "Hello");
    let err = err.expect("an error");
    assert!(matches!(err, LlmError::Upstream { .. }), "{err:?}");
    assert_eq!(err.http_status(), 502);
}
