//! Anthropic Messages API: `POST /v1/messages` with `x-api-key` and
//! `anthropic-version: 2023-06-01`; streamed as named SSE events (`message_start`,
//! `content_block_delta`, `message_delta`, `message_stop`, `ping`, `error`).

use super::http::{chat_json, chat_sse, join, send};
use super::sse::{self, Decoder, SseEvent};
use super::{
    ChatModel, ChatRequest, ChatResponse, ChatStream, LlmError, ProviderEndpoint, ProviderHealth, StreamEvent, Usage,
};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

const NAME: &str = "anthropic";
/// The API version header value.
pub const API_VERSION: &str = "2023-06-01";
/// `max_tokens` is mandatory for Anthropic; used when the request has none.
const DEFAULT_MAX_TOKENS: u32 = 1024;

/// Anthropic chat client.
#[derive(Debug, Clone)]
pub struct AnthropicChat {
    client: reqwest::Client,
    endpoint: ProviderEndpoint,
}

impl AnthropicChat {
    /// A client for `endpoint`.
    pub fn new(client: reqwest::Client, endpoint: ProviderEndpoint) -> Self {
        Self { client, endpoint }
    }

    /// The JSON body sent upstream for `req` (pinned by the prompt snapshot tests).
    pub fn body(&self, req: &ChatRequest, stream: bool) -> Value {
        let messages: Vec<Value> = req.messages.iter().map(|m| json!({"role": m.role, "content": m.content})).collect();
        let max_tokens = req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS);
        let mut body = json!({
            "model": self.endpoint.model, "max_tokens": max_tokens,
            "messages": messages, "stream": stream,
        });
        if !req.system.is_empty() {
            body["system"] = json!(req.system);
        }
        if let Some(t) = req.temperature {
            body["temperature"] = json!((f64::from(t) * 1000.0).round() / 1000.0);
        }
        body
    }

    async fn post(&self, body: &Value) -> Result<reqwest::Response, LlmError> {
        let key = self.endpoint.api_key.as_ref().ok_or_else(|| LlmError::Unconfigured {
            provider: NAME.into(),
            reason: "ANTHROPIC_API_KEY is not set".into(),
        })?;
        let mut key_header = reqwest::header::HeaderValue::from_str(key.expose_secret())
            .map_err(|_| LlmError::Unconfigured { provider: NAME.into(), reason: "invalid API key".into() })?;
        key_header.set_sensitive(true);
        let rb = self
            .client
            .post(join(&self.endpoint.base_url, "/v1/messages"))
            .header("x-api-key", key_header)
            .header("anthropic-version", API_VERSION);
        send(NAME, rb.json(body)).await
    }
}

#[async_trait::async_trait]
impl ChatModel for AnthropicChat {
    fn name(&self) -> &str {
        NAME
    }
    fn model(&self) -> &str {
        &self.endpoint.model
    }
    fn probe(&self) -> ProviderHealth {
        self.endpoint.keyed_health()
    }

    async fn chat(&self, req: ChatRequest) -> Result<ChatResponse, LlmError> {
        let span = tracing::info_span!("llm.anthropic.chat", model = %self.endpoint.model, stream = false);
        chat_json(span, NAME, self.post(&self.body(&req, false)), parse_response).await
    }

    async fn chat_stream(&self, req: ChatRequest) -> Result<ChatStream, LlmError> {
        let span = tracing::info_span!("llm.anthropic.chat", model = %self.endpoint.model, stream = true);
        chat_sse(span, NAME, self.post(&self.body(&req, true)), AnthropicDecoder::default()).await
    }
}

fn parse_response(v: &Value) -> Result<ChatResponse, LlmError> {
    let content = v.get("content").and_then(Value::as_array);
    let content = content.ok_or_else(|| LlmError::malformed(NAME, "missing content"))?;
    let text = content
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .collect();
    let usage = v.get("usage").map(|u| Usage {
        prompt_tokens: u.get("input_tokens").and_then(Value::as_u64).unwrap_or(0),
        completion_tokens: u.get("output_tokens").and_then(Value::as_u64).unwrap_or(0),
    });
    Ok(ChatResponse {
        text,
        citations: Vec::new(),
        usage,
        finish_reason: v.get("stop_reason").and_then(Value::as_str).map(str::to_owned),
    })
}

/// Decodes the named events; usage is reported once, at `message_stop`.
#[derive(Debug, Default)]
struct AnthropicDecoder {
    usage: Usage,
    stop_reason: Option<String>,
    done: bool,
}

impl AnthropicDecoder {
    fn error(v: &Value) -> LlmError {
        let kind = v.pointer("/error/type").and_then(Value::as_str).unwrap_or("error");
        let message = v.pointer("/error/message").and_then(Value::as_str).unwrap_or_default();
        LlmError::Upstream {
            provider: NAME.into(),
            message: format!("{kind}: {message}"),
            retryable: matches!(kind, "overloaded_error" | "api_error"),
        }
    }
}

impl Decoder for AnthropicDecoder {
    fn decode(&mut self, event: SseEvent) -> Result<Vec<StreamEvent>, LlmError> {
        let v = sse::json(NAME, &event.data)?;
        let kind = v.get("type").and_then(Value::as_str).unwrap_or(event.event.as_str());
        let u64_at = |p: &str| v.pointer(p).and_then(Value::as_u64);
        match kind {
            "message_start" => {
                self.usage.prompt_tokens = u64_at("/message/usage/input_tokens").unwrap_or(0);
                self.usage.completion_tokens = u64_at("/message/usage/output_tokens").unwrap_or(0);
            }
            "content_block_delta" => {
                if let Some(text) = v.pointer("/delta/text").and_then(Value::as_str) {
                    return Ok(vec![StreamEvent::Delta(text.to_owned())]);
                }
            }
            "message_delta" => {
                if let Some(reason) = v.pointer("/delta/stop_reason").and_then(Value::as_str) {
                    self.stop_reason = Some(reason.to_owned());
                }
                if let Some(out) = u64_at("/usage/output_tokens") {
                    self.usage.completion_tokens = out;
                }
            }
            "message_stop" => {
                self.done = true;
                let done = StreamEvent::Done { finish_reason: self.stop_reason.take() };
                return Ok(vec![StreamEvent::Usage(self.usage), done]);
            }
            "error" => return Err(Self::error(&v)),
            _ => {}
        }
        Ok(Vec::new())
    }

    fn is_done(&self) -> bool {
        self.done
    }
}
