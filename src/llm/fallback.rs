//! [`FallbackChain`]: tries providers in order; when one fails before its first token (or
//! its breaker is open, or it is unconfigured) the next one answers. Each switch counts in
//! `docent_llm_fallbacks_total{from,to}`. Once a token has been streamed the chain is
//! committed to that provider.

use super::{ChatModel, ChatRequest, ChatResponse, ChatStream, LlmError, ProviderHealth};
use futures::StreamExt;
use std::sync::Arc;

/// An ordered list of chat models that is itself a [`ChatModel`].
#[derive(Debug, Clone)]
pub struct FallbackChain {
    links: Vec<Arc<dyn ChatModel>>,
}

impl FallbackChain {
    /// A chain trying `links` in order.
    pub fn new(links: Vec<Arc<dyn ChatModel>>) -> Self {
        Self { links }
    }

    /// The links, e.g. to report each provider on `/health`.
    pub fn links(&self) -> &[Arc<dyn ChatModel>] {
        &self.links
    }

    fn switch(&self, index: usize, err: &LlmError) {
        let from = self.links[index].name().to_owned();
        let Some(next) = self.links.get(index + 1) else { return };
        tracing::warn!(from = %from, to = next.name(), error = %err, "falling back to next chat provider");
        metrics::counter!("docent_llm_fallbacks_total", "from" => from, "to" => next.name().to_owned()).increment(1);
    }

    fn exhausted(&self, mut errors: Vec<(String, LlmError)>) -> LlmError {
        if errors.len() == 1 {
            return errors.remove(0).1;
        }
        let summary: Vec<String> = errors.iter().map(|(name, e)| format!("{name}: {e}")).collect();
        let summary = if summary.is_empty() { "no provider configured".into() } else { summary.join("; ") };
        LlmError::AllUnavailable { summary }
    }
}

fn unconfigured(link: &dyn ChatModel) -> LlmError {
    LlmError::Unconfigured { provider: link.name().to_owned(), reason: "not configured".into() }
}

#[async_trait::async_trait]
impl ChatModel for FallbackChain {
    fn name(&self) -> &str {
        self.links.first().map_or("none", |l| l.name())
    }
    fn model(&self) -> &str {
        self.links.first().map_or("none", |l| l.model())
    }
    /// Active if any link is active, else inactive if any is inactive, else unconfigured.
    fn probe(&self) -> ProviderHealth {
        let states: Vec<ProviderHealth> = self.links.iter().map(|l| l.probe()).collect();
        [ProviderHealth::Active, ProviderHealth::Inactive]
            .into_iter()
            .find(|s| states.contains(s))
            .unwrap_or(ProviderHealth::Unconfigured)
    }

    async fn chat(&self, req: ChatRequest) -> Result<ChatResponse, LlmError> {
        let mut errors = Vec::new();
        for (i, link) in self.links.iter().enumerate() {
            let result = match link.probe() {
                ProviderHealth::Unconfigured => Err(unconfigured(link.as_ref())),
                _ => link.chat(req.clone()).await,
            };
            match result {
                Ok(resp) => return Ok(resp),
                Err(e) => {
                    self.switch(i, &e);
                    errors.push((link.name().to_owned(), e));
                }
            }
        }
        Err(self.exhausted(errors))
    }

    async fn chat_stream(&self, req: ChatRequest) -> Result<ChatStream, LlmError> {
        Ok(self.chat_stream_named(req).await?.1)
    }

    async fn chat_stream_named(&self, req: ChatRequest) -> Result<(String, ChatStream), LlmError> {
        let mut errors = Vec::new();
        for (i, link) in self.links.iter().enumerate() {
            let opened = match link.probe() {
                ProviderHealth::Unconfigured => Err(unconfigured(link.as_ref())),
                _ => link.chat_stream(req.clone()).await,
            };
            let first = match opened {
                Ok(mut stream) => match stream.next().await {
                    Some(Ok(ev)) => Ok((ev, stream)),
                    Some(Err(e)) => Err(e),
                    None => Err(LlmError::malformed(link.name(), "empty stream")),
                },
                Err(e) => Err(e),
            };
            match first {
                Ok((ev, rest)) => {
                    let stream = futures::stream::iter([Ok(ev)]).chain(rest).boxed();
                    return Ok((link.name().to_owned(), stream));
                }
                Err(e) => {
                    self.switch(i, &e);
                    errors.push((link.name().to_owned(), e));
                }
            }
        }
        Err(self.exhausted(errors))
    }
}
