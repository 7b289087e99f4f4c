//! Each provider through the real chat endpoint, configured by settings with its base URL at a
//! local stub: the documented request (method, path, auth headers, body, streaming), deltas
//! relayed as they stream, and the failures a provider can throw at us.

use std::time::{Duration, Instant};

use docent::config::ChatProvider;
use docent::llm::anthropic::API_VERSION;
use serde_json::json;

use crate::common::assert_problem;
use crate::support::{chat, sse_events};
use crate::upstream::{Reply, Stub, TOKENS, app_with, failure, frames};

const QUESTION: &str = "Who was the Norse leader?";
const SYSTEM_PROMPT: &str = include_str!("../../prompts/answer.md");

/// The path, headers and system-prompt placement each provider documents.
fn assert_documented_request(provider: ChatProvider, stub: &Stub) {
    let request = &stub.requests()[0];
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.body["stream"], true);
    let last_user = |messages: &serde_json::Value| messages.as_array().unwrap().last().unwrap()["content"].clone();
    match provider {
        ChatProvider::Cohere => {
            assert_eq!(request.path, "/v2/chat");
            assert_eq!(request.header("authorization"), Some("Bearer test-key"));
            assert_eq!(request.body["messages"][0], json!({"role": "system", "content": SYSTEM_PROMPT}));
            assert_eq!(request.body["documents"][0]["id"], "1");
            assert_eq!(request.body["model"], "command-a-03-2025");
        }
        ChatProvider::Openai => {
            assert_eq!(request.path, "/v1/chat/completions");
            assert_eq!(request.header("authorization"), Some("Bearer test-key"));
            assert_eq!(request.body["messages"][0], json!({"role": "system", "content": SYSTEM_PROMPT}));
            assert_eq!(request.body["stream_options"], json!({"include_usage": true}));
            assert_eq!(request.body["model"], "gpt-4o-mini");
        }
        ChatProvider::Anthropic | ChatProvider::Extractive => {
            assert_eq!(request.path, "/v1/messages");
            assert_eq!(request.header("x-api-key"), Some("test-key"));
            assert_eq!(request.header("anthropic-version"), Some(API_VERSION));
            assert_eq!(request.header("authorization"), None);
            assert_eq!(request.body["system"], SYSTEM_PROMPT);
            assert_eq!(request.body["max_tokens"], 512);
        }
    }
    let question = last_user(&request.body["messages"]);
    assert!(question.as_str().unwrap().ends_with(&format!("Question: {QUESTION}")), "{question}");
}

#[tokio::test]
async fn each_provider_gets_its_documented_request_and_its_tokens_reach_the_reader_as_deltas() {
    for provider in [ChatProvider::Cohere, ChatProvider::Openai, ChatProvider::Anthropic] {
        let stub = Stub::start(vec![Reply::sse(frames(provider, &TOKENS))]).await;
        let app = app_with(provider, &stub, |_| {}).await;

        let response = chat(&app, json!({"message": QUESTION, "stream": true}), None).await;

        let events = sse_events(&response.text().await.unwrap());
        let deltas: String =
            events.iter().filter(|(n, _)| n == "delta").map(|(_, d)| d["text"].as_str().unwrap()).collect();
        assert_eq!(deltas, TOKENS.concat(), "{provider:?}");
        let done = &events.last().unwrap().1;
        assert_eq!(done["provider"], json!(format!("{provider:?}").to_lowercase()), "{done}");
        assert_eq!(done["answer"], "Their leader was Rollo [1].");
        assert_eq!(done["usage"]["prompt_tokens"], 50, "{done}");
        assert!(done["citations"][0]["quote"].as_str().unwrap().contains("Rollo"), "{done}");
        assert_documented_request(provider, &stub);
    }
}

#[tokio::test]
async fn a_json_answer_comes_from_the_model_with_verified_citations_and_usage() {
    let stub = Stub::start(vec![Reply::sse(frames(ChatProvider::Openai, &TOKENS))]).await;
    let app = app_with(ChatProvider::Openai, &stub, |_| {}).await;

    let body: serde_json::Value = chat(&app, json!({"message": QUESTION}), None).await.json().await.unwrap();

    assert_eq!((body["status"].as_str(), body["provider"].as_str()), (Some("answered"), Some("openai")), "{body}");
    assert_eq!(body["citations"][0]["n"], 1);
    assert_eq!(body["usage"], json!({"prompt_tokens": 50, "completion_tokens": 5}));
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_after_the_delay_before_the_first_token() {
    let limited = Reply::Json(429, json!({"message": "slow down"}), vec![("retry-after", "1".into())]);
    let stub = Stub::start(vec![limited, Reply::sse(frames(ChatProvider::Cohere, &TOKENS))]).await;
    let app = app_with(ChatProvider::Cohere, &stub, |s| s.llm.max_attempts = 2).await;
    let started = Instant::now();

    let body: serde_json::Value = chat(&app, json!({"message": QUESTION}), None).await.json().await.unwrap();

    assert_eq!(body["provider"], "cohere", "{body}");
    assert_eq!(stub.hits(), 2);
    assert!(started.elapsed() >= Duration::from_millis(950), "{:?}", started.elapsed());
}

#[tokio::test]
async fn provider_failures_without_an_extractive_fallback_are_502_503_and_504_problems() {
    let slow = Reply::Sse { chunks: frames(ChatProvider::Openai, &TOKENS), gap: Duration::from_secs(3), hold: false };
    let cases = [
        (failure(500), 502, "upstream_error"),
        (Reply::Raw(200, "{\"choices\": ["), 502, "upstream_error"),
        (Reply::Json(429, json!({}), Vec::new()), 503, "upstream_unavailable"),
        (slow, 504, "upstream_timeout"),
    ];
    for (reply, status, code) in cases {
        let stub = Stub::start(vec![reply]).await;
        let app = app_with(ChatProvider::Openai, &stub, |s| {
            s.llm.fallback = Vec::new();
            s.llm.first_token_timeout_ms = 300;
        })
        .await;

        let started = Instant::now();
        let problem = assert_problem(chat(&app, json!({"message": QUESTION}), None).await, status, code).await;

        assert!(!problem["detail"].as_str().unwrap().contains("exploded"), "upstream details stay in the log");
        assert!(started.elapsed() < Duration::from_secs(2), "{code}: {:?}", started.elapsed());
    }
}

#[tokio::test]
async fn a_provider_failure_in_a_stream_is_an_error_event_with_the_problem() {
    let stub = Stub::start(vec![failure(503)]).await;
    let app = app_with(ChatProvider::Anthropic, &stub, |s| s.llm.fallback = Vec::new()).await;

    let response = chat(&app, json!({"message": QUESTION, "stream": true}), None).await;
    let request_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();

    let events = sse_events(&response.text().await.unwrap());
    let (name, problem) = events.last().unwrap();
    assert_eq!(name, "error");
    assert_eq!((problem["status"].as_u64(), problem["code"].as_str()), (Some(502), Some("upstream_error")));
    assert_eq!(problem["request_id"], request_id.as_str());
}

#[tokio::test]
async fn an_open_breaker_skips_its_provider_and_the_next_answers_while_health_shows_it_inactive() {
    let down = Stub::start(vec![failure(500)]).await;
    let up = Stub::start(vec![Reply::sse(frames(ChatProvider::Openai, &TOKENS))]).await;
    let up_url = up.url.clone();
    let app = app_with(ChatProvider::Cohere, &down, move |s| {
        crate::upstream::add_provider(s, ChatProvider::Openai, &up_url);
        s.llm.fallback = vec!["openai".into(), "extractive".into()];
        s.llm.breaker_failures = 1;
    })
    .await;

    let first: serde_json::Value = chat(&app, json!({"message": QUESTION}), None).await.json().await.unwrap();
    let second: serde_json::Value = chat(&app, json!({"message": QUESTION}), None).await.json().await.unwrap();

    assert_eq!((first["provider"].as_str(), second["provider"].as_str()), (Some("openai"), Some("openai")));
    assert_eq!((down.hits(), up.hits()), (1, 2), "the open breaker kept cohere out of the second answer");
    let health: serde_json::Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(health["services"]["llm_cohere"], "inactive", "{health}");
    assert_eq!(health["services"]["llm_openai"], "active");
    assert_eq!(health["services"]["llm_anthropic"], "unconfigured");
    assert_eq!(health["status"], "degraded");
    assert_eq!(app.get("/health/ready").await.status(), 200, "the extractive fallback can still answer");
}

#[tokio::test]
async fn when_every_provider_fails_the_extractive_fallback_answers() {
    let down = Stub::start(vec![failure(502)]).await;
    let app = app_with(ChatProvider::Anthropic, &down, |_| {}).await;

    let body: serde_json::Value = chat(&app, json!({"message": QUESTION}), None).await.json().await.unwrap();

    assert_eq!((body["status"].as_str(), body["provider"].as_str()), (Some("answered"), Some("extractive")));
    assert!(body["answer"].as_str().unwrap().contains("Rollo"), "{body}");
}

#[tokio::test]
async fn without_a_provider_health_lists_every_provider_as_unconfigured() {
    let app = crate::common::spawn_app().await;

    let health: serde_json::Value = app.get("/health").await.json().await.unwrap();

    for name in ["llm_cohere", "llm_openai", "llm_anthropic"] {
        assert_eq!(health["services"][name], "unconfigured", "{health}");
    }
    assert!(app.state.llm.is_none());
}

#[tokio::test]
async fn a_remote_embedder_over_an_index_built_by_another_model_is_refused_clearly() {
    let app = crate::support::app_with_book().await;
    let mut settings = crate::common::test_settings(&app.state.settings.data_dir);
    settings.embed.provider = docent::config::EmbedProvider::Openai;
    crate::upstream::add_provider(&mut settings, ChatProvider::Openai, "http://127.0.0.1:9");

    let refused = docent::Application::build(settings).await.err().expect("start-up is refused").to_string();

    assert!(refused.contains("all-MiniLM-L6-v2") && refused.contains("text-embedding-3-small"), "{refused}");
    assert!(refused.contains("docent index rebuild"), "{refused}");
}
