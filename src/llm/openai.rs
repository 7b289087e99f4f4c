//! OpenAI-compatible chat: `POST /v1/chat/completions`, streamed as `data: {chunk}` lines
//! ending with `data: [DONE]` (usage via `stream_options.include_usage`). Works with
//! OpenAI, OpenRouter, Ollama, vLLM and llama.cpp through the base URL; a base URL that
//! already ends in `/v1` (`http://localhost:11434/v1`) is not doubled.

use super::http::{bearer, chat_json, chat_sse, send};
use super::sse::{self, Decoder, SseEvent};
use super::{
    ChatModel, ChatRequest, ChatResponse, ChatStream, LlmError, ProviderEndpoint, ProviderHealth, StreamEvent, Usage,
};
use serde_json::{Value, json};

const NAME: &str = "openai";
const DEFAULT_BASE: &str = "https://api.openai.com";

/// `base` + `/v1` + `path`, unless `base` already ends with `/v1`.
pub fn api_url(base: &str, path: &str) -> String {
    let base = base.trim_end_matches('/');
    if base.ends_with("/v1") { format!("{base}{path}") } else { format!("{base}/v1{path}") }
}

/// OpenAI-compatible chat client.
#[derive(Debug, Clone)]
pub struct OpenAiChat {
    client: reqwest::Client,
    endpoint: ProviderEndpoint,
}

impl OpenAiChat {
    /// A client for `endpoint`; the API key is optional (Ollama, llama.cpp need none).
    pub fn new(client: reqwest::Client, endpoint: ProviderEndpoint) -> Self {
        Self { client, endpoint }
    }

    /// The JSON body sent upstream for `req` (pinned by the prompt snapshot tests).
    pub fn body(&self, req: &ChatRequest, stream: bool) -> Value {
        let mut body = json!({"model": self.endpoint.model, "messages": req.role_messages(), "stream": stream});
        if stream {
            body["stream_options"] = json!({"include_usage": true});
        }
        if let Some(max) = req.max_tokens {
            body["max_tokens"] = json!(max);
        }
        if let Some(t) = req.temperature {
            body["temperature"] = json!((f64::from(t) * 1000.0).round() / 1000.0);
        }
        body
    }

    async fn post(&self, body: &Value) -> Result<reqwest::Response, LlmError> {
        let url = api_url(&self.endpoint.base_url, "/chat/completions");
        let rb = bearer(self.client.post(url), self.endpoint.api_key.as_ref());
        send(NAME, rb.json(body)).await
    }
}

#[async_trait::async_trait]
impl ChatModel for OpenAiChat {
    fn name(&self) -> &str {
        NAME
    }
    fn model(&self) -> &str {
        &self.endpoint.model
    }
    /// Configured with a key, or with a non-default base URL (local servers need no key).
    fn probe(&self) -> ProviderHealth {
        let local = self.endpoint.base_url.trim_end_matches('/') != DEFAULT_BASE;
        if local { ProviderHealth::Active } else { self.endpoint.keyed_health() }
    }

    async fn chat(&self, req: ChatRequest) -> Result<ChatResponse, LlmError> {
        let span = tracing::info_span!("llm.openai.chat", model = %self.endpoint.model, stream = false);
        chat_json(span, NAME, self.post(&self.body(&req, false)), parse_response).await
    }

    async fn chat_stream(&self, req: ChatRequest) -> Result<ChatStream, LlmError> {
        let span = tracing::info_span!("llm.openai.chat", model = %self.endpoint.model, stream = true);
        chat_sse(span, NAME, self.post(&self.body(&req, true)), OpenAiDecoder::default()).await
    }
}

fn parse_response(v: &Value) -> Result<ChatResponse, LlmError> {
    let choice = v.pointer("/choices/0").ok_or_else(|| LlmError::malformed(NAME, "no choices"))?;
    let message = choice.get("message").ok_or_else(|| LlmError::malformed(NAME, "no message"))?;
    Ok(ChatResponse {
        text: message.get("content").and_then(Value::as_str).unwrap_or_default().to_owned(),
        citations: Vec::new(),
        usage: v.get("usage").and_then(parse_usage),
        finish_reason: choice.get("finish_reason").and_then(Value::as_str).map(str::to_owned),
    })
}

fn parse_usage(u: &Value) -> Option<Usage> {
    Some(Usage {
        prompt_tokens: u.get("prompt_tokens")?.as_u64()?,
        completion_tokens: u.get("completion_tokens").and_then(Value::as_u64).unwrap_or(0),
    })
}

/// Decodes `chat.completion.chunk` objects until `[DONE]`; the last usage seen (some
/// servers repeat it) is reported once, just before `Done`.
#[derive(Debug, Default)]
struct OpenAiDecoder {
    finish_reason: Option<String>,
    usage: Option<Usage>,
    done: bool,
}

impl Decoder for OpenAiDecoder {
    fn decode(&mut self, event: SseEvent) -> Result<Vec<StreamEvent>, LlmError> {
        if event.data.trim() == "[DONE]" {
            self.done = true;
            let usage = self.usage.take().map(StreamEvent::Usage);
            let done = StreamEvent::Done { finish_reason: self.finish_reason.take() };
            return Ok(usage.into_iter().chain([done]).collect());
        }
        let v = sse::json(NAME, &event.data)?;
        if let Some(err) = v.get("error") {
            let message = err.get("message").and_then(Value::as_str).unwrap_or("stream error");
            return Err(LlmError::Upstream { provider: NAME.into(), message: message.into(), retryable: false });
        }
        let mut out = Vec::new();
        if let Some(choice) = v.pointer("/choices/0") {
            let text = choice.pointer("/delta/content").and_then(Value::as_str);
            if let Some(text) = text.filter(|t| !t.is_empty()) {
                out.push(StreamEvent::Delta(text.to_owned()));
            }
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                self.finish_reason = Some(reason.to_owned());
            }
        }
        if let Some(usage) = v.get("usage").and_then(parse_usage) {
            self.usage = Some(usage);
        }
        Ok(out)
    }

    fn is_done(&self) -> bool {
        self.done
    }
}
