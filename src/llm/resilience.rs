//! [`Resilient`]: wraps one provider with deadlines (first token, total), retries with
//! jittered exponential backoff honouring `Retry-After` (only before the first token
//! reached the caller), a [`CircuitBreaker`] and the `docent_llm_*` metrics.
//! [`build_chain`] assembles the configured providers into a [`FallbackChain`].

use super::breaker::{BreakerState, CircuitBreaker};
use super::fallback::FallbackChain;
use super::{
    BreakerSettings, ChatModel, ChatRequest, ChatResponse, ChatStream, LlmError, LlmSettings, ProviderHealth,
    ProviderKind, RetrySettings, StreamEvent, TimeoutPhase, Timeouts, Usage,
};
use super::{anthropic::AnthropicChat, cohere::CohereChat, http, openai::OpenAiChat};
use futures::{Stream, StreamExt};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// One provider hardened with timeouts, retries, a breaker and metrics.
#[derive(Debug)]
pub struct Resilient {
    inner: Arc<dyn ChatModel>,
    breaker: Arc<CircuitBreaker>,
    timeouts: Timeouts,
    retry: RetrySettings,
}

impl Resilient {
    /// Wraps `inner` with its own breaker.
    pub fn new(inner: Arc<dyn ChatModel>, timeouts: Timeouts, retry: RetrySettings, breaker: BreakerSettings) -> Self {
        let breaker = CircuitBreaker::new(inner.name(), breaker);
        Self { inner, breaker, timeouts, retry }
    }

    /// This provider's breaker.
    pub fn breaker(&self) -> &Arc<CircuitBreaker> {
        &self.breaker
    }

    fn labels(&self) -> Labels {
        Labels { provider: self.inner.name().to_owned(), model: self.inner.model().to_owned() }
    }

    fn timeout(&self, phase: TimeoutPhase) -> LlmError {
        LlmError::Timeout { provider: self.inner.name().to_owned(), phase }
    }

    /// Runs `op` until it succeeds, fails for good, or retries are exhausted.
    async fn with_retries<T, F, Fut>(&self, mut op: F) -> Result<T, LlmError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, LlmError>>,
    {
        let mut attempt = 1;
        loop {
            let err = match op().await {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            if attempt >= self.retry.max_attempts || !err.is_retryable() {
                return Err(err);
            }
            let Some(delay) = backoff(&self.retry, attempt, err.retry_after()) else {
                return Err(err);
            };
            tracing::debug!(provider = self.inner.name(), attempt, ?delay, error = %err, "retrying");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// Opens a stream and waits (up to the first-token deadline) for its first content event.
    async fn open_stream(&self, req: &ChatRequest) -> Result<(ChatStream, Vec<StreamEvent>), LlmError> {
        let opened = async {
            let mut stream = self.inner.chat_stream(req.clone()).await?;
            let mut head = Vec::new();
            loop {
                match stream.next().await {
                    Some(Ok(ev)) => {
                        let content = !matches!(ev, StreamEvent::Usage(_));
                        head.push(ev);
                        if content {
                            return Ok((stream, head));
                        }
                    }
                    Some(Err(e)) => return Err(e),
                    None => return Err(LlmError::malformed(self.inner.name(), "empty stream")),
                }
            }
        };
        tokio::time::timeout(self.timeouts.first_token, opened)
            .await
            .unwrap_or_else(|_| Err(self.timeout(TimeoutPhase::FirstToken)))
    }
}

/// Delay before retry number `attempt` (1-based), or `None` when the server asks for more
/// than `max_delay`.
pub fn backoff(retry: &RetrySettings, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
    let exp = retry.base_delay.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
    let exp = exp.min(retry.max_delay);
    let jittered = exp / 2 + exp.mul_f64(rand::random::<f64>() / 2.0);
    match retry_after {
        Some(after) if after > retry.max_delay => None,
        Some(after) => Some(after.max(jittered / 4)),
        None => Some(jittered),
    }
}

#[async_trait::async_trait]
impl ChatModel for Resilient {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn model(&self) -> &str {
        self.inner.model()
    }
    fn probe(&self) -> ProviderHealth {
        match (self.inner.probe(), self.breaker.state()) {
            (ProviderHealth::Active, BreakerState::Open) => ProviderHealth::Inactive,
            (health, _) => health,
        }
    }

    async fn chat(&self, req: ChatRequest) -> Result<ChatResponse, LlmError> {
        let labels = self.labels();
        let permit = self.breaker.try_acquire().inspect_err(|e| labels.outcome(e.kind()))?;
        let started = Instant::now();
        let call = self.with_retries(|| self.inner.chat(req.clone()));
        let result = tokio::time::timeout(self.timeouts.total, call)
            .await
            .unwrap_or_else(|_| Err(self.timeout(TimeoutPhase::Total)));
        labels.duration(started);
        match &result {
            Ok(resp) => {
                permit.success();
                labels.outcome("success");
                resp.usage.inspect(|u| labels.tokens(u));
            }
            Err(e) => {
                labels.outcome(e.kind());
                if e.counts_as_failure() {
                    permit.failure();
                }
            }
        }
        result
    }

    async fn chat_stream(&self, req: ChatRequest) -> Result<ChatStream, LlmError> {
        let labels = self.labels();
        let permit = self.breaker.try_acquire().inspect_err(|e| labels.outcome(e.kind()))?;
        let started = Instant::now();
        let deadline = started + self.timeouts.total;
        let opened = tokio::time::timeout_at(deadline, self.with_retries(|| self.open_stream(&req)))
            .await
            .unwrap_or_else(|_| Err(self.timeout(TimeoutPhase::Total)));
        match opened {
            Ok((inner, head)) => {
                permit.success();
                metrics::histogram!("docent_llm_time_to_first_token_seconds",
                    "provider" => labels.provider.clone(), "model" => labels.model.clone())
                .record(started.elapsed().as_secs_f64());
                let guarded = Guarded {
                    inner,
                    head: head.into(),
                    deadline: Box::pin(tokio::time::sleep_until(deadline)),
                    breaker: Arc::clone(&self.breaker),
                    labels,
                    started,
                    finished: false,
                };
                Ok(Box::pin(guarded))
            }
            Err(e) => {
                labels.duration(started);
                labels.outcome(e.kind());
                if e.counts_as_failure() {
                    permit.failure();
                }
                Err(e)
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Labels {
    provider: String,
    model: String,
}

impl Labels {
    fn outcome(&self, outcome: &str) {
        metrics::counter!("docent_llm_requests_total", "provider" => self.provider.clone(),
            "model" => self.model.clone(), "outcome" => outcome.to_owned())
        .increment(1);
    }
    fn duration(&self, started: Instant) {
        metrics::histogram!("docent_llm_request_duration_seconds",
            "provider" => self.provider.clone(), "model" => self.model.clone())
        .record(started.elapsed().as_secs_f64());
    }
    fn tokens(&self, usage: &Usage) {
        for (kind, n) in [("prompt", usage.prompt_tokens), ("completion", usage.completion_tokens)] {
            metrics::counter!("docent_llm_tokens_total", "provider" => self.provider.clone(),
                "model" => self.model.clone(), "kind" => kind)
            .increment(n);
        }
    }
}

/// The stream handed to the caller: replays the peeked head, enforces the total deadline,
/// records metrics, reports mid-stream failures to the breaker.
struct Guarded {
    inner: ChatStream,
    head: std::collections::VecDeque<StreamEvent>,
    deadline: Pin<Box<Sleep>>,
    breaker: Arc<CircuitBreaker>,
    labels: Labels,
    started: Instant,
    finished: bool,
}

impl Guarded {
    fn finish(&mut self, outcome: &str) {
        self.finished = true;
        self.labels.outcome(outcome);
        self.labels.duration(self.started);
    }

    fn observe(&mut self, item: Option<Result<StreamEvent, LlmError>>) -> Option<Result<StreamEvent, LlmError>> {
        match &item {
            Some(Ok(StreamEvent::Usage(u))) => self.labels.tokens(u),
            Some(Ok(StreamEvent::Done { .. })) => self.finish("success"),
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                if e.counts_as_failure() {
                    self.breaker.record_failure();
                }
                self.finish(e.kind());
            }
            None => self.finish("success"),
        }
        item
    }
}

impl Stream for Guarded {
    type Item = Result<StreamEvent, LlmError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.finished {
            return Poll::Ready(None);
        }
        if let Some(ev) = self.head.pop_front() {
            return Poll::Ready(self.observe(Some(Ok(ev))));
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            let provider = self.labels.provider.clone();
            let err = LlmError::Timeout { provider, phase: TimeoutPhase::Total };
            return Poll::Ready(self.observe(Some(Err(err))));
        }
        match self.inner.poll_next_unpin(cx) {
            Poll::Ready(item) => Poll::Ready(self.observe(item)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        if !self.finished {
            self.finish("cancelled");
        }
    }
}

/// Builds the configured chain: the primary provider, then the fallbacks (each wrapped in
/// [`Resilient`]; `extractive` entries are skipped), then `tail` (the answer layer's own
/// generators, e.g. extractive) as given.
pub fn build_chain(settings: &LlmSettings, tail: Vec<Arc<dyn ChatModel>>) -> Result<FallbackChain, LlmError> {
    let client = http::client(settings.timeouts.connect)?;
    let mut kinds = vec![settings.provider];
    kinds.extend(settings.fallback.iter().copied());
    let mut links: Vec<Arc<dyn ChatModel>> = Vec::new();
    let mut seen = Vec::new();
    for kind in kinds {
        let Some(endpoint) = settings.endpoint(kind) else { continue };
        if seen.contains(&kind) {
            continue;
        }
        seen.push(kind);
        let mut endpoint = endpoint.clone();
        if let (true, Some(model)) = (kind == settings.provider, &settings.model) {
            endpoint.model.clone_from(model);
        }
        let provider: Arc<dyn ChatModel> = match kind {
            ProviderKind::Cohere => Arc::new(CohereChat::new(client.clone(), endpoint)),
            ProviderKind::OpenAi => Arc::new(OpenAiChat::new(client.clone(), endpoint)),
            ProviderKind::Anthropic => Arc::new(AnthropicChat::new(client.clone(), endpoint)),
            ProviderKind::Extractive => continue,
        };
        let wrapped = Resilient::new(provider, settings.timeouts, settings.retry, settings.breaker);
        links.push(Arc::new(wrapped));
    }
    links.extend(tail);
    Ok(FallbackChain::new(links))
}
