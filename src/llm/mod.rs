//! Chat model providers: one object-safe [`ChatModel`] seam for Cohere, OpenAI-compatible
//! servers and Anthropic, with streaming, timeouts, retries, a circuit breaker and a
//! fallback chain ([`resilience`]).
//!
//! The answer layer holds an `Arc<dyn ChatModel>` built by [`resilience::build_chain`]
//! and appends its own extractive generator as the last link. Prompt assembly is not
//! done here: requests are passed through as given (only Cohere uses
//! [`ChatRequest::documents`] natively, to return citations).
//!
//! Dropping a [`ChatStream`] drops the upstream response body, which closes the HTTP
//! connection: no spawned task keeps reading.

pub mod anthropic;
pub mod breaker;
pub mod cohere;
mod error;
pub mod fallback;
pub(crate) mod http;
pub mod openai;
pub mod resilience;
mod settings;
pub mod sse;
#[cfg(test)]
mod tests;

pub use error::{LlmError, TimeoutPhase};
pub use settings::{BreakerSettings, LlmSettings, ProviderEndpoint, ProviderKind, RetrySettings, Timeouts};

use futures::Stream;
use serde::{Deserialize, Serialize};
use std::pin::Pin;

/// Who wrote a chat turn (the system prompt travels separately in [`ChatRequest::system`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The person asking.
    User,
    /// The model.
    Assistant,
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Author of the turn.
    pub role: Role,
    /// Plain text content.
    pub content: String,
}

impl ChatMessage {
    /// A user turn.
    pub fn user(content: impl Into<String>) -> Self {
        Self { role: Role::User, content: content.into() }
    }
    /// An assistant turn.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self { role: Role::Assistant, content: content.into() }
    }
}

/// A retrieved passage the model may ground its answer in (Cohere cites these by `id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroundingDocument {
    /// Stable id, echoed back in [`Citation::document_ids`].
    pub id: String,
    /// Human title (book / chapter / section).
    pub title: String,
    /// Passage text.
    pub text: String,
}

/// A provider-neutral chat request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    /// System prompt; empty means none.
    pub system: String,
    /// Conversation so far, ending with the user's question.
    pub messages: Vec<ChatMessage>,
    /// Grounding passages (sent natively to Cohere, ignored by the others).
    pub documents: Vec<GroundingDocument>,
    /// Output token cap; `None` lets the provider decide (Anthropic requires one: 1024).
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    pub temperature: Option<f32>,
}

impl ChatRequest {
    /// The system prompt (when set) and the turns as `{role, content}` objects: the message
    /// list of OpenAI-style chat APIs (OpenAI and compatible servers, Cohere v2).
    pub fn role_messages(&self) -> Vec<serde_json::Value> {
        let system = (!self.system.is_empty()).then(|| serde_json::json!({"role": "system", "content": self.system}));
        let turns = self.messages.iter().map(|m| serde_json::json!({"role": m.role, "content": m.content}));
        system.into_iter().chain(turns).collect()
    }
}

/// A span of the answer grounded in one or more documents (Cohere only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Citation {
    /// Start offset (characters) in the answer text.
    pub start: usize,
    /// End offset (exclusive).
    pub end: usize,
    /// The cited answer text.
    pub text: String,
    /// Ids of the [`GroundingDocument`]s supporting the span.
    pub document_ids: Vec<String>,
}

/// Token accounting reported by the provider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Usage {
    /// Input tokens.
    pub prompt_tokens: u64,
    /// Output tokens.
    pub completion_tokens: u64,
}

impl std::ops::Add for Usage {
    type Output = Usage;
    fn add(self, other: Usage) -> Usage {
        Usage {
            prompt_tokens: self.prompt_tokens + other.prompt_tokens,
            completion_tokens: self.completion_tokens + other.completion_tokens,
        }
    }
}

/// Adds two optional usages (`None` only when both are).
pub fn total_usage(a: Option<Usage>, b: Option<Usage>) -> Option<Usage> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a + b),
        (a, b) => a.or(b),
    }
}

/// A complete (non-streamed) answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatResponse {
    /// Generated text.
    pub text: String,
    /// Grounding citations (empty unless the provider returns them).
    pub citations: Vec<Citation>,
    /// Token usage, when reported.
    pub usage: Option<Usage>,
    /// Provider's stop reason, e.g. `COMPLETE`, `stop`, `end_turn`.
    pub finish_reason: Option<String>,
}

/// One item of a streamed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// More answer text.
    Delta(String),
    /// A grounding citation (Cohere).
    Citation(Citation),
    /// Token usage (usually just before `Done`).
    Usage(Usage),
    /// The answer is complete.
    Done {
        /// Provider's stop reason.
        finish_reason: Option<String>,
    },
}

/// A streamed answer; dropping it cancels the upstream request.
pub type ChatStream = Pin<Box<dyn Stream<Item = Result<StreamEvent, LlmError>> + Send>>;

/// Provider status for `/health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderHealth {
    /// Configured and accepting requests.
    Active,
    /// Configured but its circuit breaker is open.
    Inactive,
    /// Missing credentials or endpoint.
    Unconfigured,
}

/// A chat model; cheap to share as `Arc<dyn ChatModel>`.
#[async_trait::async_trait]
pub trait ChatModel: Send + Sync + std::fmt::Debug {
    /// Provider name used in metrics and errors: `cohere`, `openai`, `anthropic`, …
    fn name(&self) -> &str;
    /// Model identifier sent upstream.
    fn model(&self) -> &str;
    /// Whether the provider can be used right now (no network call).
    fn probe(&self) -> ProviderHealth;
    /// Generates a complete answer.
    async fn chat(&self, req: ChatRequest) -> Result<ChatResponse, LlmError>;
    /// Streams an answer; the stream ends after [`StreamEvent::Done`] or an error.
    async fn chat_stream(&self, req: ChatRequest) -> Result<ChatStream, LlmError>;
    /// Like [`ChatModel::chat_stream`], naming the provider that answers (a fallback chain
    /// names the link that produced the first token).
    async fn chat_stream_named(&self, req: ChatRequest) -> Result<(String, ChatStream), LlmError> {
        let stream = self.chat_stream(req).await?;
        Ok((self.name().to_owned(), stream))
    }
}
