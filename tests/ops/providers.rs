//! The provider items of `docent check` against a local stand-in for an OpenAI-compatible
//! server: key accepted, key rejected, nothing listening.

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use docent::llm::{LlmSettings, ProviderKind};
use docent::ops::check::{ProviderTarget, Status, check_providers, targets_from_llm};
use secrecy::SecretString;

/// Answers `GET /v1/models` with 200 for `Bearer good-key`, 401 otherwise.
async fn stand_in() -> String {
    async fn models(headers: HeaderMap) -> StatusCode {
        let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
        if auth == Some("Bearer good-key") { StatusCode::OK } else { StatusCode::UNAUTHORIZED }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, Router::new().route("/v1/models", get(models))).await });
    format!("http://{addr}")
}

fn openai_at(base_url: &str, key: Option<&str>) -> Vec<ProviderTarget> {
    let mut llm = LlmSettings { provider: ProviderKind::OpenAi, ..Default::default() };
    llm.openai.base_url = base_url.to_owned();
    llm.openai.api_key = key.map(|k| SecretString::from(k.to_owned()));
    targets_from_llm(&llm)
}

#[tokio::test]
async fn a_provider_that_accepts_the_key_passes() {
    let base = stand_in().await;
    let items = check_providers(&openai_at(&base, Some("good-key")), Duration::from_secs(5)).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].name, "provider:openai");
    assert_eq!(items[0].status, Status::Pass, "{:?}", items[0]);
}

#[tokio::test]
async fn a_rejected_or_missing_key_fails_without_showing_the_key() {
    let base = stand_in().await;
    let rejected = check_providers(&openai_at(&base, Some("wrong-key")), Duration::from_secs(5)).await;
    assert_eq!(rejected[0].status, Status::Fail);
    assert!(rejected[0].detail.contains("rejected the API key") && !rejected[0].detail.contains("wrong-key"));
    let missing = check_providers(&openai_at(&base, None), Duration::from_secs(5)).await;
    assert!(missing[0].detail.contains("none is configured"), "{:?}", missing[0]);
}

#[tokio::test]
async fn an_unreachable_provider_fails() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let items =
        check_providers(&openai_at(&format!("http://127.0.0.1:{closed}"), Some("k")), Duration::from_secs(5)).await;
    assert_eq!(items[0].status, Status::Fail);
    assert!(items[0].detail.contains("unreachable"), "{:?}", items[0]);
}
