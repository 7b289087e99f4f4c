//! Daily LLM token quotas on the chat endpoint, with a scripted chat model reporting usage and
//! a clock the tests move across midnight.

use std::sync::{Arc, Mutex};

use axum::Router;
use chrono::{DateTime, Utc};
use docent::access::quota::Clock;
use docent::access::{QuotaService, Subject, SubjectKind};
use docent::answer::{AnswerService, ExtractiveParams};
use docent::config::QuotaSettings;
use docent::ingest::sync::{NoProgress, SyncOptions, sync_paths};
use docent::llm::{ChatModel, ChatRequest, ChatResponse, ChatStream, LlmError, ProviderHealth, StreamEvent, Usage};
use serde_json::json;

use crate::common::{TestApp, assert_problem, spawn_app_with};
use crate::support::{header_u64, serve_state};

const QUESTION: &str = "Who was the Norse leader?";

/// Answers every question from passage [1], reporting 300 prompt and 200 completion tokens.
#[derive(Debug, Default)]
struct MeteredModel {
    calls: Mutex<usize>,
}

#[async_trait::async_trait]
impl ChatModel for MeteredModel {
    fn name(&self) -> &str {
        "metered"
    }
    fn model(&self) -> &str {
        "metered-1"
    }
    fn probe(&self) -> ProviderHealth {
        ProviderHealth::Active
    }
    async fn chat(&self, _req: ChatRequest) -> Result<ChatResponse, LlmError> {
        *self.calls.lock().unwrap() += 1;
        let usage = Usage { prompt_tokens: 300, completion_tokens: 200 };
        Ok(ChatResponse { text: "Their leader was Rollo [1].".into(), usage: Some(usage), ..Default::default() })
    }
    async fn chat_stream(&self, req: ChatRequest) -> Result<ChatStream, LlmError> {
        let reply = self.chat(req).await?;
        let usage = reply.usage.unwrap_or_default();
        let events = [
            Ok(StreamEvent::Delta(reply.text)),
            Ok(StreamEvent::Usage(usage)),
            Ok(StreamEvent::Done { finish_reason: None }),
        ];
        Ok(Box::pin(futures::stream::iter(events)))
    }
}

/// A clock the test sets.
fn clock_at(start: &str) -> (Clock, Arc<Mutex<DateTime<Utc>>>) {
    let now = Arc::new(Mutex::new(DateTime::parse_from_rfc3339(start).unwrap().with_timezone(&Utc)));
    let read = now.clone();
    (Arc::new(move || *read.lock().unwrap()), now)
}

/// The app with the Normans chapter ingested.
async fn app_with_book() -> TestApp {
    let app = spawn_app_with(|_| {}, Router::new()).await;
    let squad = std::env::var("DOCENT_SQUAD_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/eval/squad-dev"));
    let book = tempfile::tempdir().unwrap();
    std::fs::copy(squad.join("book/normans.md"), book.path().join("normans.md")).unwrap();
    let state = &app.state;
    let components = docent::components::Components {
        db: state.db.clone(),
        embedder: state.retriever.embedder().clone(),
        index: state.index.clone(),
        retriever: state.retriever.clone(),
        llm: None,
        llm_links: Vec::new(),
    };
    let options = SyncOptions::from_settings(&state.settings, false);
    sync_paths(&components, &[book.path().to_path_buf()], &options, &NoProgress).await.expect("book ingested");
    app
}

/// Serves the app's state with answers from `model` (if any) and an anonymous budget of 1000
/// tokens a day on `clock`.
async fn serve_with(app: &TestApp, model: Option<Arc<MeteredModel>>, clock: Clock) -> (String, QuotaService) {
    let mut state = app.state.clone();
    let answers = AnswerService::new(state.retriever.clone(), state.db.clone(), ExtractiveParams::default());
    state.answers = match model {
        Some(model) => answers.with_chat_model(model),
        None => answers,
    };
    let budgets = QuotaSettings { anonymous_daily_tokens: 1000, ..QuotaSettings::default() };
    state.quotas = QuotaService::new(state.db.clone(), budgets).with_clock(clock);
    (serve_state(state.clone()).await, state.quotas.clone())
}

async fn ask(base: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/api/v1/chat"))
        .json(&json!({ "message": QUESTION }))
        .send()
        .await
        .unwrap()
}

fn loopback() -> Subject {
    Subject { kind: SubjectKind::Anonymous, id: "127.0.0.1".into() }
}

#[tokio::test]
async fn a_spent_daily_budget_refuses_llm_answers_until_the_utc_day_rolls_over() {
    let app = app_with_book().await;
    let model = Arc::new(MeteredModel::default());
    let (clock, now) = clock_at("2026-03-01T23:50:00Z");
    let (base, quotas) = serve_with(&app, Some(model.clone()), clock).await;
    let first = ask(&base).await;
    let second = ask(&base).await;
    let refused = ask(&base).await;
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (200, 200));
    assert_eq!(quotas.allowance(&loopback()).await.unwrap().spent, 1000);
    assert_eq!(header_u64(&refused, "retry-after"), 600, "until 00:00 UTC");
    let body = assert_problem(refused, 429, "quota_exceeded").await;
    assert!(body["detail"].as_str().unwrap().contains("1000"), "{body}");
    assert_eq!(*model.calls.lock().unwrap(), 2, "no model call once the budget is spent");
    *now.lock().unwrap() = DateTime::parse_from_rfc3339("2026-03-02T00:00:01Z").unwrap().with_timezone(&Utc);
    let next_day = ask(&base).await;
    assert_eq!(next_day.status(), 200);
    assert_eq!(quotas.allowance(&loopback()).await.unwrap().spent, 500);
}

#[tokio::test]
async fn a_streamed_llm_answer_is_charged_too() {
    let app = app_with_book().await;
    let (clock, _) = clock_at("2026-03-01T12:00:00Z");
    let (base, quotas) = serve_with(&app, Some(Arc::new(MeteredModel::default())), clock).await;
    let body = json!({ "message": QUESTION, "stream": true });
    let response = reqwest::Client::new().post(format!("{base}/api/v1/chat")).json(&body).send().await.unwrap();
    let events = response.text().await.unwrap();
    assert!(events.contains("event: done"), "{events}");
    assert_eq!(quotas.allowance(&loopback()).await.unwrap().spent, 500);
}

#[tokio::test]
async fn extractive_answers_are_never_charged_nor_refused() {
    let app = app_with_book().await;
    let (clock, _) = clock_at("2026-03-01T12:00:00Z");
    let (base, quotas) = serve_with(&app, None, clock).await;
    quotas.charge(&loopback(), Usage { prompt_tokens: 1000, completion_tokens: 0 }).await.unwrap();
    let response = ask(&base).await;
    assert_eq!(response.status(), 200);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["provider"], "extractive");
    assert_eq!(quotas.allowance(&loopback()).await.unwrap().spent, 1000);
}

#[tokio::test]
async fn one_clients_spent_budget_does_not_touch_another_kind_or_client() {
    let app = spawn_app_with(|_| {}, Router::new()).await;
    let budgets = QuotaSettings { user_daily_tokens: 100, anonymous_daily_tokens: 100, key_daily_tokens: 0 };
    let quotas = QuotaService::new(app.state.db.clone(), budgets);
    let spender = Subject { kind: SubjectKind::User, id: "u1".into() };
    quotas.charge(&spender, Usage { prompt_tokens: 60, completion_tokens: 40 }).await.unwrap();
    let other_user = Subject { kind: SubjectKind::User, id: "u2".into() };
    let same_id_as_key = Subject { kind: SubjectKind::Key, id: "u1".into() };
    assert!(quotas.ensure_available(&spender).await.is_err());
    assert!(quotas.ensure_available(&other_user).await.is_ok());
    assert!(quotas.ensure_available(&same_id_as_key).await.is_ok(), "keys are unlimited here");
}

#[tokio::test]
async fn another_replicas_charges_are_seen_once_the_remembered_figure_goes_stale() {
    // Arrange: two replicas on one database; this one trusts what it read for 200 ms.
    let app = spawn_app_with(|_| {}, Router::new()).await;
    let budgets = QuotaSettings { user_daily_tokens: 100, anonymous_daily_tokens: 100, key_daily_tokens: 0 };
    let fresh_for = std::time::Duration::from_millis(200);
    let here = QuotaService::new(app.state.db.clone(), budgets.clone()).with_freshness(fresh_for);
    let there = QuotaService::new(app.state.db.clone(), budgets);
    let reader = Subject { kind: SubjectKind::User, id: "u1".into() };
    assert!(here.ensure_available(&reader).await.is_ok(), "nothing spent yet");

    // Act: the other replica spends the whole budget.
    there.charge(&reader, Usage { prompt_tokens: 100, completion_tokens: 0 }).await.unwrap();

    // Assert: this replica lets a question through while its figure is fresh, then refuses.
    assert!(here.ensure_available(&reader).await.is_ok(), "the remembered figure is still fresh");
    tokio::time::sleep(fresh_for).await;
    assert!(here.ensure_available(&reader).await.is_err(), "the other replica's charge is seen");
    assert!(there.ensure_available(&reader).await.is_err(), "its own charge is seen at once");
}
