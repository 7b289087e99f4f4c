//! The LLM metrics recorded by the resilience layer and the fallback chain land in the same
//! exposition, described and promtool-clean: two scripted providers, the first one down.

use std::sync::Arc;
use std::time::Duration;

use docent::llm::fallback::FallbackChain;
use docent::llm::resilience::Resilient;
use docent::llm::{
    BreakerSettings, ChatModel, ChatRequest, ChatResponse, ChatStream, LlmError, LlmSettings, ProviderHealth,
    RetrySettings, Usage,
};

use crate::common;
use crate::metrics::{check_with_promtool, families, scrape, value};

/// A provider that answers with token usage, or is down (`up == false`).
#[derive(Debug)]
struct Scripted {
    name: &'static str,
    up: bool,
}

#[async_trait::async_trait]
impl ChatModel for Scripted {
    fn name(&self) -> &str {
        self.name
    }
    fn model(&self) -> &str {
        "scripted-1"
    }
    fn probe(&self) -> ProviderHealth {
        ProviderHealth::Active
    }
    async fn chat(&self, _req: ChatRequest) -> Result<ChatResponse, LlmError> {
        if !self.up {
            return Err(LlmError::Connect { provider: self.name.into(), message: "connection refused".into() });
        }
        let usage = Usage { prompt_tokens: 120, completion_tokens: 30 };
        Ok(ChatResponse {
            text: "Spring tides happen at new and full moon.".into(),
            usage: Some(usage),
            ..Default::default()
        })
    }
    async fn chat_stream(&self, _req: ChatRequest) -> Result<ChatStream, LlmError> {
        Err(LlmError::Unconfigured { provider: self.name.into(), reason: "no streaming".into() })
    }
}

fn resilient(name: &'static str, up: bool) -> Arc<dyn ChatModel> {
    let llm = LlmSettings::default();
    let retry = RetrySettings { max_attempts: 1, ..llm.retry };
    let breaker = BreakerSettings { failure_threshold: 1, open_duration: Duration::from_secs(60) };
    Arc::new(Resilient::new(Arc::new(Scripted { name, up }), llm.timeouts, retry, breaker))
}

#[tokio::test]
async fn llm_calls_fallbacks_and_breakers_appear_described_and_promtool_clean() {
    let app = common::spawn_app().await;
    let chain = FallbackChain::new(vec![resilient("ops-down", false), resilient("ops-up", true)]);
    let answer = chain.chat(ChatRequest::default()).await.expect("the second provider answers");
    assert!(answer.text.starts_with("Spring tides"));
    let exposition = scrape(&app.url("/metrics")).await;
    let scraped = families(&exposition);
    for name in [
        "docent_llm_requests_total",
        "docent_llm_request_duration_seconds",
        "docent_llm_tokens_total",
        "docent_llm_circuit_breaker_state",
        "docent_llm_fallbacks_total",
    ] {
        assert!(scraped.get(name).is_some_and(|(help, _)| *help), "{name} missing or undescribed:\n{exposition}");
    }
    let expected = [
        (r#"docent_llm_tokens_total{provider="ops-up",model="scripted-1",kind="prompt"}"#, 120.0),
        (r#"docent_llm_requests_total{provider="ops-up",model="scripted-1",outcome="success"}"#, 1.0),
        (r#"docent_llm_fallbacks_total{from="ops-down",to="ops-up"}"#, 1.0),
        (r#"docent_llm_circuit_breaker_state{provider="ops-down"}"#, 2.0),
        (r#"docent_llm_requests_total{provider="ops-down",model="scripted-1",outcome="connect_error"}"#, 1.0),
    ];
    for (series, want) in expected {
        assert_eq!(value(&exposition, series), Some(want), "{series} in:\n{exposition}");
    }
    check_with_promtool(&exposition);
}
