//! Cohere v2: grounded chat (`POST /v2/chat`, with `documents` so the model returns
//! citations; streamed as SSE `message-start`, `content-delta`, `citation-start`,
//! `message-end`, …) and reranking (`POST /v2/rerank`).

use super::http::{bearer, chat_json, chat_sse, join, read_json, send};
use super::sse::{self, Decoder, SseEvent};
use super::{
    ChatModel, ChatRequest, ChatResponse, ChatStream, Citation, LlmError, ProviderEndpoint, ProviderHealth,
    StreamEvent, Usage,
};
use serde_json::{Value, json};

const NAME: &str = "cohere";

/// Cohere chat client.
#[derive(Debug, Clone)]
pub struct CohereChat {
    client: reqwest::Client,
    endpoint: ProviderEndpoint,
}

impl CohereChat {
    /// A client for `endpoint` (its `model` is the chat model).
    pub fn new(client: reqwest::Client, endpoint: ProviderEndpoint) -> Self {
        Self { client, endpoint }
    }

    /// The JSON body sent upstream for `req` (pinned by the prompt snapshot tests).
    pub fn body(&self, req: &ChatRequest, stream: bool) -> Value {
        let mut body = json!({"model": self.endpoint.model, "messages": req.role_messages(), "stream": stream});
        if !req.documents.is_empty() {
            let docs: Vec<Value> =
                req.documents.iter().map(|d| json!({"id": d.id, "data": {"title": d.title, "text": d.text}})).collect();
            body["documents"] = Value::Array(docs);
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
        let key = self.endpoint.api_key.as_ref().ok_or_else(|| LlmError::Unconfigured {
            provider: NAME.into(),
            reason: "COHERE_API_KEY is not set".into(),
        })?;
        let url = join(&self.endpoint.base_url, "/v2/chat");
        send(NAME, bearer(self.client.post(url), Some(key)).json(body)).await
    }
}

#[async_trait::async_trait]
impl ChatModel for CohereChat {
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
        let span = tracing::info_span!("llm.cohere.chat", model = %self.endpoint.model, stream = false);
        chat_json(span, NAME, self.post(&self.body(&req, false)), parse_response).await
    }

    async fn chat_stream(&self, req: ChatRequest) -> Result<ChatStream, LlmError> {
        let span = tracing::info_span!("llm.cohere.chat", model = %self.endpoint.model, stream = true);
        chat_sse(span, NAME, self.post(&self.body(&req, true)), CohereDecoder::default()).await
    }
}

fn parse_response(v: &Value) -> Result<ChatResponse, LlmError> {
    let content = v
        .pointer("/message/content")
        .and_then(Value::as_array)
        .ok_or_else(|| LlmError::malformed(NAME, "missing message.content"))?;
    let text = content.iter().filter_map(|c| c.get("text").and_then(Value::as_str)).collect();
    let citations = v
        .pointer("/message/citations")
        .and_then(Value::as_array)
        .map(|cs| cs.iter().filter_map(parse_citation).collect())
        .unwrap_or_default();
    Ok(ChatResponse {
        text,
        citations,
        usage: v.get("usage").and_then(parse_usage),
        finish_reason: v.get("finish_reason").and_then(Value::as_str).map(str::to_owned),
    })
}

/// `{start, end, text, sources: [{type, id, document: {id, …}}]}` → [`Citation`].
fn parse_citation(c: &Value) -> Option<Citation> {
    let ids = c.get("sources").and_then(Value::as_array).map(|sources| {
        sources
            .iter()
            .filter_map(|s| s.pointer("/document/id").or_else(|| s.get("id")))
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    });
    Some(Citation {
        start: usize::try_from(c.get("start")?.as_u64()?).ok()?,
        end: usize::try_from(c.get("end")?.as_u64()?).ok()?,
        text: c.get("text").and_then(Value::as_str).unwrap_or_default().to_owned(),
        document_ids: ids.unwrap_or_default(),
    })
}

/// `usage.tokens.{input_tokens, output_tokens}` (billed units are a different measure).
fn parse_usage(u: &Value) -> Option<Usage> {
    let tokens = u.get("tokens")?;
    Some(Usage {
        prompt_tokens: tokens.get("input_tokens").and_then(Value::as_u64).unwrap_or(0),
        completion_tokens: tokens.get("output_tokens").and_then(Value::as_u64).unwrap_or(0),
    })
}

/// Decodes Cohere v2 stream events (the `type` field of each JSON payload).
#[derive(Debug, Default)]
struct CohereDecoder {
    done: bool,
}

impl Decoder for CohereDecoder {
    fn decode(&mut self, event: SseEvent) -> Result<Vec<StreamEvent>, LlmError> {
        let v = sse::json(NAME, &event.data)?;
        let kind = v.get("type").and_then(Value::as_str).unwrap_or(event.event.as_str());
        let delta = v.get("delta").unwrap_or(&Value::Null);
        Ok(match kind {
            "content-delta" => {
                let text = delta.pointer("/message/content/text").and_then(Value::as_str);
                let text = text.ok_or_else(|| LlmError::malformed(NAME, "content-delta without text"))?;
                vec![StreamEvent::Delta(text.to_owned())]
            }
            "citation-start" => {
                let citations = delta.pointer("/message/citations").unwrap_or(&Value::Null);
                let list = citations.as_array().map_or_else(|| vec![citations], |a| a.iter().collect());
                list.into_iter().filter_map(parse_citation).map(StreamEvent::Citation).collect()
            }
            "message-end" => {
                self.done = true;
                let finish = delta.get("finish_reason").and_then(Value::as_str).map(str::to_owned);
                let usage = delta.get("usage").and_then(parse_usage).map(StreamEvent::Usage);
                usage.into_iter().chain([StreamEvent::Done { finish_reason: finish }]).collect()
            }
            _ => Vec::new(),
        })
    }

    fn is_done(&self) -> bool {
        self.done
    }
}

/// Scores passages against a query (a higher score is more relevant).
#[async_trait::async_trait]
pub trait Reranker: Send + Sync + std::fmt::Debug {
    /// One score per document, in the documents' order.
    async fn rerank(&self, query: &str, documents: &[String]) -> Result<Vec<f32>, LlmError>;
}

/// Cohere `POST /v2/rerank`.
#[derive(Debug, Clone)]
pub struct CohereReranker {
    client: reqwest::Client,
    endpoint: ProviderEndpoint,
}

impl CohereReranker {
    /// A reranker for `endpoint` (its `model` is the rerank model, e.g. `rerank-v3.5`).
    pub fn new(client: reqwest::Client, endpoint: ProviderEndpoint) -> Self {
        Self { client, endpoint }
    }
}

#[async_trait::async_trait]
impl Reranker for CohereReranker {
    async fn rerank(&self, query: &str, documents: &[String]) -> Result<Vec<f32>, LlmError> {
        if documents.is_empty() {
            return Ok(Vec::new());
        }
        let body = json!({
            "model": self.endpoint.model, "query": query,
            "documents": documents, "top_n": documents.len(),
        });
        let url = join(&self.endpoint.base_url, "/v2/rerank");
        let rb = bearer(self.client.post(url), self.endpoint.api_key.as_ref()).json(&body);
        let value: Value = read_json(NAME, send(NAME, rb).await?).await?;
        let results = value.get("results").and_then(Value::as_array);
        let results = results.ok_or_else(|| LlmError::malformed(NAME, "missing results"))?;
        let mut scores = vec![f32::NEG_INFINITY; documents.len()];
        for r in results {
            let index = r.get("index").and_then(Value::as_u64).and_then(|i| usize::try_from(i).ok());
            let score = r.get("relevance_score").and_then(Value::as_f64);
            match (index, score) {
                (Some(i), Some(s)) if i < scores.len() => scores[i] = s as f32,
                _ => return Err(LlmError::malformed(NAME, "bad rerank result")),
            }
        }
        Ok(scores)
    }
}
