//! `POST /api/v1/chat`: a question about the book (optionally about a selected passage) inside
//! a conversation, answered as JSON or, with `"stream": true` or `Accept: text/event-stream`, as
//! server-sent events: `meta`, `delta`…, `citation`…, `done` (or `error`).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::post;
use axum::{Json, Router};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::access::Subject;
use crate::answer::chat::{ChatError, ChatReply, Turn};
use crate::answer::{Answer, AnswerEvent, AnswerMode, AnswerRequest, SelectionSource, events};
use crate::http::session::AnonSession;
use crate::http::{ApiError, AppJson, AppState};

const MAX_MESSAGE_CHARS: usize = 4000;
const MAX_SELECTION_CHARS: usize = 5000;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/chat", post(chat))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatBody {
    message: String,
    conversation_id: Option<String>,
    selected_text: Option<String>,
    selection_source: Option<SelectionSource>,
    mode: Option<AnswerMode>,
    chapter: Option<String>,
    #[serde(default)]
    stream: bool,
}

#[derive(Debug, Serialize)]
pub struct ChatResponse {
    conversation_id: String,
    message_id: String,
    #[serde(flatten)]
    answer: Answer,
}

impl ChatBody {
    fn validate(&self) -> Result<AnswerRequest, ApiError> {
        let length = self.message.trim().chars().count();
        if !(1..=MAX_MESSAGE_CHARS).contains(&length) {
            return Err(ApiError::validation("message", format!("must be 1-{MAX_MESSAGE_CHARS} characters")));
        }
        if self.selected_text.as_deref().is_some_and(|s| s.chars().count() > MAX_SELECTION_CHARS) {
            return Err(ApiError::validation(
                "selected_text",
                format!("must be at most {MAX_SELECTION_CHARS} characters"),
            ));
        }
        Ok(AnswerRequest {
            message: self.message.trim().to_owned(),
            history: Vec::new(),
            selected_text: self.selected_text.clone(),
            selection_source: self.selection_source.clone(),
            mode: self.mode,
            chapter: self.chapter.clone(),
        })
    }
}

async fn chat(
    State(app): State<AppState>,
    session: AnonSession,
    subject: Subject,
    headers: HeaderMap,
    AppJson(body): AppJson<ChatBody>,
) -> Result<Response, ApiError> {
    let request = body.validate()?;
    if app.answers.generates_with_llm() {
        app.quotas.ensure_available(&subject).await?;
    }
    let turn = app.answers.begin_turn(&session.owner, body.conversation_id.as_deref(), &request.message).await?;
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if body.stream || accept.contains("text/event-stream") {
        let (tx, rx) = futures::channel::mpsc::unbounded::<Event>();
        let meta = serde_json::json!({ "conversation_id": turn.conversation_id, "message_id": turn.message_id });
        let _ = tx.unbounded_send(json_event("meta", &meta));
        tokio::spawn(async move {
            for event in stream_events(answer_turn(&app, &subject, turn, request).await) {
                if tx.unbounded_send(event).is_err() {
                    break;
                }
            }
        });
        let sse = Sse::new(rx.map(Ok::<_, Infallible>)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
        let no_cache = [(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))];
        return Ok(session.attach((no_cache, sse)));
    }
    let reply = answer_turn(&app, &subject, turn, request).await?;
    Ok(session.attach(Json(ChatResponse::from(reply))))
}

/// Answers the turn and charges the LLM tokens it spent to the caller's daily quota.
async fn answer_turn(
    app: &AppState,
    subject: &Subject,
    turn: Turn,
    request: AnswerRequest,
) -> Result<ChatReply, ChatError> {
    let reply = app.answers.finish_turn(turn, request).await?;
    app.quotas.settle(subject, reply.answer.usage).await;
    Ok(reply)
}

/// The SSE events of a finished turn, or one `error` event with the problem.
fn stream_events(outcome: Result<ChatReply, ChatError>) -> Vec<Event> {
    let reply = match outcome {
        Ok(reply) => reply,
        Err(err) => return vec![error_event(ApiError::from(err))],
    };
    let (conversation_id, message_id) = (reply.conversation_id, reply.message_id);
    events(reply.answer)
        .into_iter()
        .map(|event| match event {
            AnswerEvent::Delta(text) => json_event("delta", &serde_json::json!({ "text": text })),
            AnswerEvent::Citation(citation) => json_event("citation", &citation),
            AnswerEvent::Done(answer) => {
                let done = ChatResponse {
                    conversation_id: conversation_id.clone(),
                    message_id: message_id.clone(),
                    answer: *answer,
                };
                json_event("done", &done)
            }
        })
        .collect()
}

fn json_event(name: &str, data: &impl Serialize) -> Event {
    Event::default().event(name).data(serde_json::to_string(data).unwrap_or_else(|_| "{}".into()))
}

fn error_event(err: ApiError) -> Event {
    let status = err.status();
    let detail = if status.is_server_error() { "The server failed to answer.".to_owned() } else { err.to_string() };
    if status.is_server_error() {
        tracing::error!(error = ?err, "streamed answer failed");
    }
    let problem = serde_json::json!({
        "type": format!("urn:docent:problem:{}", err.code()),
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
        "code": err.code(),
    });
    json_event("error", &problem)
}

impl From<ChatReply> for ChatResponse {
    fn from(reply: ChatReply) -> Self {
        Self { conversation_id: reply.conversation_id, message_id: reply.message_id, answer: reply.answer }
    }
}

impl From<ChatError> for ApiError {
    fn from(err: ChatError) -> Self {
        match err {
            ChatError::ConversationNotFound(id) => super::conversations::not_found(&id),
            other => ApiError::internal(other),
        }
    }
}
