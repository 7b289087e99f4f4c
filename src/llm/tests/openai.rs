//! OpenAI-compatible wire format: `/v1/chat/completions` plain and streamed.

use super::stub::{Reply, Stub, frame};
use super::{client, collect, endpoint, question};
use crate::llm::openai::{OpenAiChat, api_url};
use crate::llm::{ChatModel, ProviderHealth, StreamEvent, Usage};
use serde_json::json;

pub fn chunk(delta: serde_json::Value, finish: Option<&str>) -> String {
    frame(
        None,
        &json!({"id": "x", "object": "chat.completion.chunk", "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}),
    )
}

pub fn stream_frames() -> Vec<String> {
    vec![
        chunk(json!({"role": "assistant", "content": ""}), None),
        chunk(json!({"content": "Hello"}), None),
        chunk(json!({"content": " world"}), None),
        chunk(json!({}), Some("stop")),
        frame(
            None,
            &json!({"id": "x", "object": "chat.completion.chunk", "choices": [],
            "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}}),
        ),
        "data: [DONE]\n\n".into(),
    ]
}

#[test]
fn openai_is_configured_by_a_key_or_by_a_local_base_url() {
    let health = |url: &str, key: Option<&str>| OpenAiChat::new(client(), endpoint(url, key, "m")).probe();
    assert_eq!(health("https://api.openai.com", None), ProviderHealth::Unconfigured);
    assert_eq!(health("https://api.openai.com/", Some("sk-test")), ProviderHealth::Active);
    assert_eq!(health("http://localhost:11434/v1", None), ProviderHealth::Active, "a local server needs no key");
}

#[test]
fn base_urls_with_or_without_v1_resolve_to_one_v1() {
    assert_eq!(api_url("https://api.openai.com", "/embeddings"), "https://api.openai.com/v1/embeddings");
    assert_eq!(
        api_url("http://localhost:11434/v1/", "/chat/completions"),
        "http://localhost:11434/v1/chat/completions"
    );
    assert_eq!(
        api_url("https://openrouter.ai/api/v1", "/chat/completions"),
        "https://openrouter.ai/api/v1/chat/completions"
    );
}

#[tokio::test]
async fn a_plain_chat_posts_messages_with_bearer_auth() {
    let stub = Stub::start(vec![Reply::ok(json!({"id": "x", "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}))])
    .await;
    let model = OpenAiChat::new(client(), endpoint(&stub.url, Some("sk-test"), "gpt-4o-mini"));

    let resp = model.chat(question()).await.unwrap();

    assert_eq!(resp.text, "Hi");
    assert_eq!(resp.usage, Some(Usage { prompt_tokens: 3, completion_tokens: 1 }));
    assert_eq!(resp.finish_reason.as_deref(), Some("stop"));
    let req = &stub.requests()[0];
    assert_eq!((req.method.as_str(), req.path.as_str()), ("POST", "/v1/chat/completions"));
    assert_eq!(req.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(req.body["messages"][0], json!({"role": "system", "content": "Answer from the book."}));
    assert_eq!(req.body["messages"][1], json!({"role": "user", "content": "What is Docent?"}));
    assert_eq!(req.body["stream"], false);
    assert!(req.body.get("stream_options").is_none());
}

#[tokio::test]
async fn a_streamed_chat_reads_chunks_until_done_and_reports_usage() {
    let stub = Stub::start(vec![Reply::sse(stream_frames())]).await;
    let base = format!("{}/v1", stub.url);
    let model = OpenAiChat::new(client(), endpoint(&base, None, "llama3"));

    let (text, events, err) = collect(model.chat_stream(question()).await.unwrap()).await;

    assert!(err.is_none(), "{err:?}");
    assert_eq!(text, "Hello world");
    assert_eq!(events[events.len() - 2], StreamEvent::Usage(Usage { prompt_tokens: 9, completion_tokens: 2 }));
    assert_eq!(events[events.len() - 1], StreamEvent::Done { finish_reason: Some("stop".into()) });
    let req = &stub.requests()[0];
    assert_eq!(req.path, "/v1/chat/completions");
    assert_eq!(req.header("authorization"), None);
    assert_eq!(req.body["stream"], true);
    assert_eq!(req.body["stream_options"], json!({"include_usage": true}));
}
