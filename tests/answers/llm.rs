//! The LLM path of the answer service, with a scripted chat model standing in for a provider.

use std::sync::{Arc, Mutex};

use docent::answer::{AnswerRequest, AnswerService, AnswerStatus, ExtractiveParams};
use docent::llm::{ChatModel, ChatRequest, ChatResponse, ChatStream, LlmError, ProviderHealth, StreamEvent};

use crate::support::app_with_book;

/// Answers every request with `reply` (or fails when `None`) and remembers the last request.
#[derive(Debug)]
struct ScriptedModel {
    reply: Option<String>,
    seen: Mutex<Option<ChatRequest>>,
}

#[async_trait::async_trait]
impl ChatModel for ScriptedModel {
    fn name(&self) -> &str {
        "scripted"
    }
    fn model(&self) -> &str {
        "scripted-1"
    }
    fn probe(&self) -> ProviderHealth {
        ProviderHealth::Active
    }
    async fn chat(&self, req: ChatRequest) -> Result<ChatResponse, LlmError> {
        *self.seen.lock().unwrap() = Some(req);
        let reply = self
            .reply
            .clone()
            .ok_or_else(|| LlmError::Connect { provider: "scripted".into(), message: "connection refused".into() })?;
        Ok(ChatResponse { text: reply, ..Default::default() })
    }
    async fn chat_stream(&self, req: ChatRequest) -> Result<ChatStream, LlmError> {
        let reply = self.chat(req).await?;
        let events = [Ok(StreamEvent::Delta(reply.text)), Ok(StreamEvent::Done { finish_reason: None })];
        Ok(Box::pin(futures::stream::iter(events)))
    }
}

async fn service_with(reply: Option<&str>) -> (crate::common::TestApp, AnswerService, Arc<ScriptedModel>) {
    let app = app_with_book().await;
    let model = Arc::new(ScriptedModel { reply: reply.map(str::to_owned), seen: Mutex::new(None) });
    let service = AnswerService::new(app.state.retriever.clone(), app.state.db.clone(), ExtractiveParams::default())
        .with_chat_model(model.clone());
    (app, service, model)
}

fn ask(question: &str) -> AnswerRequest {
    AnswerRequest { message: question.into(), ..Default::default() }
}

#[tokio::test]
async fn the_model_answers_from_numbered_passages_and_its_markers_become_verified_citations() {
    let (_app, service, model) = service_with(Some("Their leader was Rollo [1].")).await;
    let answer = service.answer(ask("Who was the Norse leader?")).await.unwrap();
    assert_eq!(answer.provider, "scripted");
    assert_eq!(answer.answer, "Their leader was Rollo [1].");
    assert_eq!(answer.citations.len(), 1);
    assert!(answer.citations[0].quote.contains("Rollo"), "{:?}", answer.citations);
    let request = model.seen.lock().unwrap().clone().unwrap();
    assert!(request.system.contains("NOT_IN_BOOK"));
    assert!(request.messages.last().unwrap().content.contains("<passage n=\"1\""));
}

#[tokio::test]
async fn a_failing_model_falls_back_to_the_extractive_answer() {
    let (_app, service, _model) = service_with(None).await;
    let answer = service.answer(ask("Who was the Norse leader?")).await.unwrap();
    assert_eq!(answer.provider, "extractive");
    assert!(answer.answer.contains("Rollo"));
}

#[tokio::test]
async fn the_model_saying_not_in_book_is_a_refusal() {
    let (_app, service, _model) = service_with(Some("NOT_IN_BOOK")).await;
    let answer = service.answer(ask("Who was the Norse leader?")).await.unwrap();
    assert_eq!(answer.status, AnswerStatus::OutOfScope);
    assert!(answer.citations.is_empty());
}

#[tokio::test]
async fn an_off_topic_question_never_reaches_the_model() {
    let (_app, service, model) = service_with(Some("Bake it at 250 degrees [1].")).await;
    let answer = service.answer(ask("What temperature should I bake sourdough bread at?")).await.unwrap();
    assert_eq!(answer.status, AnswerStatus::OutOfScope);
    assert!(model.seen.lock().unwrap().is_none());
}
