//! Remote embedders: Cohere `POST /v2/embed` and OpenAI-compatible `POST /v1/embeddings`
//! (OpenAI, Ollama, vLLM, llama.cpp…), implementing [`Embedder`].
//!
//! Token counts are estimated (about four bytes per token) since the remote tokenizer is
//! not available locally; the chunker only needs a budget. Every returned vector is
//! checked against the configured dimension. 429 and 5xx answers are retried a few times,
//! honouring `Retry-After` (seconds).

use super::{EmbedError, EmbedKind, Embedder};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::time::Duration;

/// Texts per request (Cohere accepts at most 96).
const BATCH: usize = 96;
/// Attempts per batch, including the first.
const ATTEMPTS: u32 = 3;
/// Longest `Retry-After` honoured.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// Connection details shared by both embedders.
#[derive(Debug, Clone)]
pub struct RemoteEmbedConfig {
    /// Base URL (`https://api.cohere.com`, `https://api.openai.com`, `http://localhost:11434/v1`).
    pub base_url: String,
    /// API key (optional for local OpenAI-compatible servers).
    pub api_key: Option<SecretString>,
    /// Model id, e.g. `embed-v4.0` or `text-embedding-3-small`.
    pub model: String,
    /// Expected vector length.
    pub dimension: usize,
    /// Max input tokens of the model.
    pub max_tokens: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    Cohere,
    OpenAi,
}

/// Shared implementation behind both public embedders.
#[derive(Debug, Clone)]
struct Remote {
    client: reqwest::Client,
    config: RemoteEmbedConfig,
    api: Api,
}

impl Remote {
    fn url(&self) -> String {
        let base = self.config.base_url.trim_end_matches('/');
        match self.api {
            Api::Cohere => format!("{base}/v2/embed"),
            Api::OpenAi if base.ends_with("/v1") => format!("{base}/embeddings"),
            Api::OpenAi => format!("{base}/v1/embeddings"),
        }
    }

    fn body(&self, texts: &[String], kind: EmbedKind) -> Value {
        match self.api {
            Api::Cohere => json!({
                "model": self.config.model,
                "texts": texts,
                "input_type": match kind {
                    EmbedKind::Query => "search_query",
                    EmbedKind::Document => "search_document",
                },
                "embedding_types": ["float"],
            }),
            Api::OpenAi => json!({"model": self.config.model, "input": texts}),
        }
    }

    async fn post(&self, body: &Value) -> Result<Value, EmbedError> {
        let mut attempt = 1;
        loop {
            let mut rb = self.client.post(self.url()).json(body);
            if let Some(key) = &self.config.api_key {
                rb = rb.bearer_auth(key.expose_secret());
            }
            let resp = rb.send().await.map_err(|e| remote(format!("request failed: {e}")))?;
            let status = resp.status();
            if status.is_success() {
                let bytes = resp.bytes().await.map_err(|e| remote(format!("read failed: {e}")))?;
                return serde_json::from_slice(&bytes).map_err(|e| remote(format!("bad JSON: {e}")));
            }
            let wait = retry_after(&resp);
            let retryable = status.as_u16() == 429 || status.is_server_error();
            let text = resp.text().await.unwrap_or_default();
            if !retryable || attempt >= ATTEMPTS || wait > MAX_WAIT {
                let text: String = text.chars().take(300).collect();
                return Err(remote(format!("HTTP {status}: {text}")));
            }
            tokio::time::sleep(wait.max(Duration::from_millis(200) * attempt)).await;
            attempt += 1;
        }
    }

    fn vectors(&self, value: &Value) -> Result<Vec<Vec<f32>>, EmbedError> {
        match self.api {
            Api::Cohere => value
                .pointer("/embeddings/float")
                .and_then(Value::as_array)
                .ok_or_else(|| remote("missing embeddings.float".into()))?
                .iter()
                .map(to_vector)
                .collect(),
            Api::OpenAi => {
                let data = value.get("data").and_then(Value::as_array);
                let mut data: Vec<&Value> = data.ok_or_else(|| remote("missing data".into()))?.iter().collect();
                data.sort_by_key(|d| d.get("index").and_then(Value::as_u64).unwrap_or(u64::MAX));
                data.into_iter().map(|d| to_vector(d.get("embedding").unwrap_or(&Value::Null))).collect()
            }
        }
    }

    async fn embed(&self, texts: &[String], kind: EmbedKind) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(BATCH) {
            let value = self.post(&self.body(batch, kind)).await?;
            let vectors = self.vectors(&value)?;
            if vectors.len() != batch.len() {
                return Err(remote(format!("expected {} vectors, got {}", batch.len(), vectors.len())));
            }
            if let Some(bad) = vectors.iter().find(|v| v.len() != self.config.dimension) {
                return Err(remote(format!(
                    "dimension mismatch: expected {}, got {} (model {})",
                    self.config.dimension,
                    bad.len(),
                    self.config.model
                )));
            }
            out.extend(vectors);
        }
        Ok(out)
    }
}

fn remote(message: String) -> EmbedError {
    EmbedError::Remote(message)
}

fn to_vector(v: &Value) -> Result<Vec<f32>, EmbedError> {
    let items = v.as_array().ok_or_else(|| remote("embedding is not an array".into()))?;
    items
        .iter()
        .map(|x| x.as_f64().map(|f| f as f32).ok_or_else(|| remote("non-numeric embedding value".into())))
        .collect()
}

fn retry_after(resp: &reqwest::Response) -> Duration {
    resp.headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(Duration::ZERO, Duration::from_secs)
}

/// Approximate token count: about four bytes per token.
fn estimate_tokens(text: &str) -> usize {
    text.len().div_ceil(4)
}

macro_rules! remote_embedder {
    ($(#[$doc:meta])* $name:ident, $api:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(Remote);

        impl $name {
            /// An embedder sending requests through `client`.
            pub fn new(client: reqwest::Client, config: RemoteEmbedConfig) -> Self {
                Self(Remote { client, config, api: $api })
            }
        }

        #[async_trait::async_trait]
        impl Embedder for $name {
            fn model_id(&self) -> &str {
                &self.0.config.model
            }
            fn dimension(&self) -> usize {
                self.0.config.dimension
            }
            fn max_tokens(&self) -> usize {
                self.0.config.max_tokens
            }
            fn count_tokens(&self, text: &str) -> usize {
                estimate_tokens(text)
            }
            async fn embed(&self, texts: &[String], kind: EmbedKind) -> Result<Vec<Vec<f32>>, EmbedError> {
                self.0.embed(texts, kind).await
            }
        }
    };
}

remote_embedder!(
    /// Cohere `POST /v2/embed` (`input_type` search_query / search_document, float vectors).
    CohereEmbedder,
    Api::Cohere
);
remote_embedder!(
    /// OpenAI-compatible `POST /v1/embeddings` (`input` array; the kind is ignored).
    OpenAiEmbedder,
    Api::OpenAi
);
