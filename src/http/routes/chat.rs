//! `POST /api/v1/chat`: a question about the book (optionally about a selected passage) inside
//! a conversation, answered as JSON or, with `"stream": true` or `Accept: text/event-stream`, as
//! server-sent events: `meta`, `delta`…, `citation`…, `done` (or `error`). Deltas are relayed as
//! the chat model streams them; a reader who disconnects cancels the generation at once.

use std::convert::Infallible;
use std::time::Duration;

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::Sender;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::{QuotaService, Subject};
use crate::answer::chat::{ChatError, ChatReply, Turn};
use crate::answer::{Answer, AnswerError, AnswerEvent, AnswerMode, AnswerRequest, AnswerService, SelectionSource};
use crate::http::guard::ChatCaller;
use crate::http::middleware::RequestId;
use crate::http::openapi::Problem;
use crate::http::openapi::schemas::ChatEvent;
use crate::http::{ApiError, AppJson, AppState};
use crate::llm::LlmError;

const MAX_MESSAGE_CHARS: usize = 4000;
const MAX_SELECTION_CHARS: usize = 5000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(chat))
}

/// The events of a streamed answer, in order: `meta` (`{conversation_id, message_id}`), `delta`
/// (`{text}`) as the answer is written, `citation` (a [`crate::answer::Citation`]) for each
/// source, then `done` (the whole [`ChatResponse`]) or `error` (a problem object as in
/// `application/problem+json`). Comments (`:`) keep the connection alive every 15 s.
const SSE_DESCRIPTION: &str = "The answer as server-sent events: `meta` (`{conversation_id, message_id}`), `delta` \
    (`{text}`) as the answer is written, `citation` (a `Citation`) per source, then `done` (a `ChatResponse`) \
    or `error` (a `Problem`). Chosen with `\"stream\": true` or `Accept: text/event-stream`.";

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatBody {
    /// The question (1-4000 characters once trimmed).
    #[schema(min_length = 1, max_length = 4000)]
    message: String,
    /// Continue this conversation; a new one is started when absent.
    conversation_id: Option<String>,
    /// A passage the reader selected, to ask about (at most 5000 characters).
    #[schema(max_length = 5000)]
    selected_text: Option<String>,
    selection_source: Option<SelectionSource>,
    mode: Option<AnswerMode>,
    /// Chapter to restrict retrieval to (`mode: chapter`).
    chapter: Option<String>,
    /// Answer as server-sent events (`text/event-stream`) instead of one JSON body.
    #[serde(default)]
    stream: bool,
}

/// A complete answer in its conversation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
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

/// Asks a question about the book, optionally about a selected passage, inside a conversation.
#[utoipa::path(
    post, path = "/api/v1/chat", tag = "chat",
    request_body = ChatBody,
    responses(
        (status = 200, description = SSE_DESCRIPTION, content(
            (ChatResponse = "application/json"),
            (ChatEvent = "text/event-stream"),
        )),
        (status = 404, description = "No conversation `conversation_id` of this caller.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "The rate limit (`rate_limited`) or the token quota (`quota_exceeded`) is spent; retry after `Retry-After` seconds.", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
        (status = 502, description = "The language model failed (`upstream_error`).", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The language model is unavailable (`upstream_unavailable`).", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "The language model did not answer in time (`upstream_timeout`).", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = ["chat"]), ("session" = []), ()),
)]
async fn chat(
    State(app): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    ChatCaller(caller): ChatCaller,
    subject: Subject,
    headers: HeaderMap,
    AppJson(body): AppJson<ChatBody>,
) -> Result<Response, ApiError> {
    let request = body.validate()?;
    if app.answers.generates_with_llm() {
        app.quotas.ensure_available(&subject).await?;
    }
    let turn = app.answers.begin_turn(&caller.owner(), body.conversation_id.as_deref(), &request.message).await?;
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if body.stream || accept.contains("text/event-stream") {
        let (tx, rx) = tokio::sync::mpsc::channel::<Event>(64);
        let meta = serde_json::json!({ "conversation_id": turn.conversation_id, "message_id": turn.message_id });
        let _ = tx.try_send(json_event("meta", &meta));
        tokio::spawn(relay(app.answers.clone(), (app.quotas.clone(), subject), turn, request, request_id.0, tx));
        let events =
            futures::stream::unfold(rx, |mut rx| async move { Some((Ok::<_, Infallible>(rx.recv().await?), rx)) });
        let sse = Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
        let no_cache = [(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))];
        return Ok((no_cache, sse).into_response());
    }
    let reply = app.answers.finish_turn(turn, request).await?;
    app.quotas.settle(&subject, reply.answer.usage).await;
    Ok(Json(ChatResponse::from(reply)).into_response())
}

/// Streams the turn's events to the reader until `done` or `error`; stops (dropping the
/// upstream generation) as soon as the reader's side of the channel is gone. The tokens the
/// answer spent are charged to the caller's quota when it is done.
async fn relay(
    answers: AnswerService,
    (quotas, subject): (QuotaService, Subject),
    turn: Turn,
    request: AnswerRequest,
    request_id: String,
    tx: Sender<Event>,
) {
    let ids = (turn.conversation_id.clone(), turn.message_id.clone());
    let work = async {
        let mut events = match answers.stream_turn(turn, request).await {
            Ok(events) => events,
            Err(err) => return drop(tx.send(error_event(err.into(), &request_id)).await),
        };
        while let Some(item) = events.next().await {
            let event = match item {
                Ok(AnswerEvent::Done(answer)) => {
                    quotas.settle(&subject, answer.usage).await;
                    sse_event(AnswerEvent::Done(answer), &ids)
                }
                Ok(event) => sse_event(event, &ids),
                Err(err) => error_event(err.into(), &request_id),
            };
            if tx.send(event).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        () = work => {}
        () = tx.closed() => tracing::info!("reader disconnected; answer generation cancelled"),
    }
}

fn sse_event(event: AnswerEvent, (conversation_id, message_id): &(String, String)) -> Event {
    match event {
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
    }
}

fn json_event(name: &str, data: &impl Serialize) -> Event {
    Event::default().event(name).data(serde_json::to_string(data).unwrap_or_else(|_| "{}".into()))
}

/// An `error` event carrying the problem the JSON endpoint would have answered with.
fn error_event(err: ApiError, request_id: &str) -> Event {
    let status = err.status();
    let detail = match &err {
        ApiError::Internal(cause) => {
            tracing::error!(error = ?cause, "streamed answer failed");
            "The server failed to handle the request.".to_owned()
        }
        other => other.to_string(),
    };
    let problem = serde_json::json!({
        "type": format!("urn:docent:problem:{}", err.code()),
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
        "code": err.code(),
        "request_id": request_id,
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
            ChatError::Answer(AnswerError::Llm(err)) => upstream_failure(err),
            other => ApiError::internal(other),
        }
    }
}

/// A provider failure as 502/503/504; what went wrong upstream is logged, never sent.
fn upstream_failure(err: LlmError) -> ApiError {
    tracing::error!(error = %err, kind = err.kind(), "chat model failed");
    match err.http_status() {
        504 => ApiError::GatewayTimeout("The language model did not answer in time.".into()),
        503 => ApiError::Unavailable {
            code: "upstream_unavailable",
            detail: "The language model is unavailable right now; try again shortly.".into(),
        },
        _ => ApiError::BadGateway("The language model failed to answer.".into()),
    }
}
