//! Shared HTTP plumbing for the providers: client construction, sending, status → error
//! mapping (`Retry-After` as seconds or HTTP date), JSON decoding, and the two shapes of a
//! chat call ([`chat_json`], [`chat_sse`]) that every provider shares.

use super::error::TimeoutPhase;
use super::sse::{self, Decoder};
use super::{ChatResponse, ChatStream, LlmError};
use secrecy::{ExposeSecret, SecretString};
use std::future::Future;
use std::time::{Duration, SystemTime};
use tracing::Instrument;

/// Longest upstream error body quoted in an error message.
const MAX_ERROR_CHARS: usize = 300;

/// Builds the shared client (connect timeout only: the other deadlines are the resilience
/// layer's). Installs the ring rustls provider if none is installed yet.
pub fn client(connect_timeout: Duration) -> Result<reqwest::Client, LlmError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().connect_timeout(connect_timeout).build().map_err(|e| LlmError::Unconfigured {
        provider: "http".into(),
        reason: format!("could not build HTTP client: {e}"),
    })
}

/// Joins `base` and `path` (`path` starts with `/`).
pub fn join(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}

/// Adds `Authorization: Bearer` when a key is set.
pub fn bearer(rb: reqwest::RequestBuilder, key: Option<&SecretString>) -> reqwest::RequestBuilder {
    match key {
        Some(key) => rb.bearer_auth(key.expose_secret()),
        None => rb,
    }
}

/// Maps a transport error (never includes headers, so never the key).
pub fn transport_error(provider: &str, err: &reqwest::Error) -> LlmError {
    let provider = provider.to_owned();
    if err.is_timeout() {
        let phase = if err.is_connect() { TimeoutPhase::Connect } else { TimeoutPhase::Total };
        return LlmError::Timeout { provider, phase };
    }
    if err.is_body() || err.is_decode() {
        return LlmError::Upstream { provider, message: err.to_string(), retryable: false };
    }
    LlmError::Connect { provider, message: err.without_url_string() }
}

trait WithoutUrl {
    fn without_url_string(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_string(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        text
    }
}

/// Sends the request and turns any non-2xx answer into an error.
pub async fn send(provider: &str, rb: reqwest::RequestBuilder) -> Result<reqwest::Response, LlmError> {
    let resp = rb.send().await.map_err(|e| transport_error(provider, &e))?;
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let retry_after =
        resp.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
    let body = resp.text().await.unwrap_or_default();
    let provider = provider.to_owned();
    if status.as_u16() == 429 {
        return Err(LlmError::RateLimited { provider, retry_after });
    }
    Err(LlmError::Status { provider, status: status.as_u16(), message: error_message(&body), retry_after })
}

/// `Retry-After`: delay-seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// Extracts `error.message` / `message` from a JSON error body, else the raw text (truncated).
pub fn error_message(body: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let message = parsed.as_ref().and_then(|v| {
        v.pointer("/error/message")
            .or_else(|| v.get("message"))
            .or_else(|| v.get("error"))
            .and_then(|m| m.as_str())
            .map(str::to_owned)
    });
    let text = message.unwrap_or_else(|| body.trim().to_owned());
    text.chars().take(MAX_ERROR_CHARS).collect()
}

/// Reads the whole body and decodes it as `T`.
pub async fn read_json<T: serde::de::DeserializeOwned>(provider: &str, resp: reqwest::Response) -> Result<T, LlmError> {
    let bytes = resp.bytes().await.map_err(|e| transport_error(provider, &e))?;
    serde_json::from_slice(&bytes).map_err(|e| LlmError::malformed(provider, e.to_string()))
}

/// A non-streamed chat inside `span`: sends the request (`post`), reads the whole JSON body
/// and turns it into the answer with the provider's `parse`.
pub async fn chat_json(
    span: tracing::Span,
    provider: &str,
    post: impl Future<Output = Result<reqwest::Response, LlmError>>,
    parse: impl FnOnce(&serde_json::Value) -> Result<ChatResponse, LlmError>,
) -> Result<ChatResponse, LlmError> {
    async {
        let value: serde_json::Value = read_json(provider, post.await?).await?;
        parse(&value)
    }
    .instrument(span)
    .await
}

/// A streamed chat: sends the request (`post`) inside `span`, then reads its SSE events with
/// the provider's `decoder`.
pub async fn chat_sse<D: Decoder>(
    span: tracing::Span,
    provider: &str,
    post: impl Future<Output = Result<reqwest::Response, LlmError>>,
    decoder: D,
) -> Result<ChatStream, LlmError> {
    let resp = post.instrument(span).await?;
    Ok(sse::drive(provider, resp, decoder))
}
