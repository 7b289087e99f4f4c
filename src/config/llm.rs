//! Settings of the language-model providers, the remote embedders and the reranker: which
//! generator answers, its fallback chain, each provider's endpoint and key, deadlines, retries,
//! the circuit breaker and the answer caps. [`Settings::llm_settings`] turns them into the plain
//! [`crate::llm::LlmSettings`] the provider layer takes; [`validate`] refuses a provider chosen
//! without its key, naming the variable.

use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::load::ConfigError;
use super::{EmbedProvider, RerankerKind, Settings};
use crate::llm::{BreakerSettings, LlmSettings, ProviderEndpoint, ProviderKind, RetrySettings, Timeouts};

/// The generator that writes answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatProvider {
    #[default]
    Extractive,
    Cohere,
    Openai,
    Anthropic,
}

impl From<ChatProvider> for ProviderKind {
    fn from(p: ChatProvider) -> Self {
        match p {
            ChatProvider::Extractive => ProviderKind::Extractive,
            ChatProvider::Cohere => ProviderKind::Cohere,
            ChatProvider::Openai => ProviderKind::OpenAi,
            ChatProvider::Anthropic => ProviderKind::Anthropic,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    pub provider: ChatProvider,
    /// Model of the primary provider; `None` uses that provider's `*_CHAT_MODEL`.
    pub model: Option<String>,
    /// Providers tried, in order, when the primary fails before its first token.
    pub fallback: Vec<String>,
    pub connect_timeout_ms: u64,
    pub first_token_timeout_ms: u64,
    pub total_timeout_secs: u64,
    pub max_attempts: u32,
    pub breaker_failures: u32,
    pub breaker_cooldown_secs: u64,
    pub context_tokens: usize,
    pub max_answer_tokens: u32,
    pub history_turns: usize,
    /// Raise the refusal threshold to the book's background (`answer::background`).
    pub adaptive_refusal: bool,
}

impl Default for LlmConfig {
    fn default() -> Self {
        Self {
            provider: ChatProvider::Extractive,
            model: None,
            fallback: vec!["extractive".into()],
            connect_timeout_ms: 5_000,
            first_token_timeout_ms: 20_000,
            total_timeout_secs: 120,
            max_attempts: 3,
            breaker_failures: 5,
            breaker_cooldown_secs: 30,
            context_tokens: 3_000,
            max_answer_tokens: 512,
            history_turns: 5,
            adaptive_refusal: true,
        }
    }
}

/// One remote provider's endpoint: key, base URL, chat model.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderConfig {
    #[serde(serialize_with = "super::redacted")]
    pub api_key: Option<SecretString>,
    /// `None` means the provider's public API.
    pub base_url: Option<String>,
    /// `None` means the provider's default chat model.
    pub model: Option<String>,
}

/// Public API and default chat model of each remote provider.
const DEFAULTS: [(ProviderKind, &str, &str); 3] = [
    (ProviderKind::Cohere, "https://api.cohere.com", "command-a-03-2025"),
    (ProviderKind::OpenAi, "https://api.openai.com", "gpt-4o-mini"),
    (ProviderKind::Anthropic, "https://api.anthropic.com", "claude-sonnet-4-5"),
];

impl Settings {
    fn provider(&self, kind: ProviderKind) -> Option<&ProviderConfig> {
        match kind {
            ProviderKind::Extractive => None,
            ProviderKind::Cohere => Some(&self.cohere),
            ProviderKind::OpenAi => Some(&self.openai),
            ProviderKind::Anthropic => Some(&self.anthropic),
        }
    }

    /// The endpoint of a remote provider, defaults filled in (`model` is its chat model).
    pub fn endpoint(&self, kind: ProviderKind) -> Option<ProviderEndpoint> {
        let config = self.provider(kind)?;
        let (_, base, model) = DEFAULTS.iter().find(|(k, ..)| *k == kind)?;
        Some(ProviderEndpoint {
            api_key: config.api_key.clone(),
            base_url: config.base_url.clone().unwrap_or_else(|| (*base).to_owned()),
            model: config.model.clone().unwrap_or_else(|| (*model).to_owned()),
        })
    }

    /// The answer chain: the primary provider then the fallbacks, cut at the first `extractive`.
    pub fn llm_chain(&self) -> Vec<ProviderKind> {
        let fallback = self.llm.fallback.iter().filter_map(|f| f.parse::<ProviderKind>().ok());
        let mut chain = Vec::new();
        for kind in std::iter::once(self.llm.provider.into()).chain(fallback) {
            if kind == ProviderKind::Extractive {
                break;
            }
            if !chain.contains(&kind) {
                chain.push(kind);
            }
        }
        chain
    }

    /// Whether the extractive generator answers when every provider of the chain fails.
    pub fn llm_falls_back_to_extractive(&self) -> bool {
        self.llm.provider == ChatProvider::Extractive || self.llm.fallback.iter().any(|f| f.trim() == "extractive")
    }

    /// What the provider layer needs; the fallback list holds the chain after the primary.
    pub fn llm_settings(&self) -> LlmSettings {
        let chain = self.llm_chain();
        let defaults = LlmSettings::default();
        let endpoint = |kind| self.endpoint(kind).expect("remote providers have endpoints");
        LlmSettings {
            provider: chain.first().copied().unwrap_or(ProviderKind::Extractive),
            model: self.llm.model.clone(),
            fallback: chain.iter().skip(1).copied().collect(),
            cohere: endpoint(ProviderKind::Cohere),
            openai: endpoint(ProviderKind::OpenAi),
            anthropic: endpoint(ProviderKind::Anthropic),
            timeouts: Timeouts {
                connect: Duration::from_millis(self.llm.connect_timeout_ms),
                first_token: Duration::from_millis(self.llm.first_token_timeout_ms),
                total: Duration::from_secs(self.llm.total_timeout_secs),
            },
            retry: RetrySettings { max_attempts: self.llm.max_attempts, ..defaults.retry },
            breaker: BreakerSettings {
                failure_threshold: self.llm.breaker_failures,
                open_duration: Duration::from_secs(self.llm.breaker_cooldown_secs),
            },
        }
    }
}

fn key_var(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Cohere => "COHERE_API_KEY",
        ProviderKind::OpenAi => "OPENAI_API_KEY",
        _ => "ANTHROPIC_API_KEY",
    }
}

/// Checks the fallback list, the base URLs, the deadlines, and that every provider in use
/// has its key (an OpenAI-compatible server on a custom `OPENAI_BASE_URL` may need none).
pub(super) fn validate(s: &Settings) -> Result<(), ConfigError> {
    for entry in &s.llm.fallback {
        if entry.parse::<ProviderKind>().is_err() {
            return Err(ConfigError::Invalid {
                name: "DOCENT_LLM_FALLBACK".into(),
                expected: "a comma-separated list of extractive, cohere, openai, anthropic".into(),
                got: entry.clone(),
            });
        }
    }
    for (kind, name) in
        [(ProviderKind::Cohere, "COHERE"), (ProviderKind::OpenAi, "OPENAI"), (ProviderKind::Anthropic, "ANTHROPIC")]
    {
        let base = s.provider(kind).and_then(|p| p.base_url.as_deref());
        if let Some(base) = base.filter(|b| !url::Url::parse(b).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))) {
            let expected = "an http:// or https:// URL".into();
            return Err(ConfigError::Invalid { name: format!("{name}_BASE_URL"), expected, got: base.into() });
        }
    }
    if s.llm.first_token_timeout_ms > s.llm.total_timeout_secs * 1000 {
        return Err(ConfigError::Invalid {
            name: "DOCENT_LLM__FIRST_TOKEN_TIMEOUT_MS".into(),
            expected: format!("at most DOCENT_LLM__TOTAL_TIMEOUT_SECS ({} s)", s.llm.total_timeout_secs),
            got: s.llm.first_token_timeout_ms.to_string(),
        });
    }
    for kind in s.llm_chain() {
        let by = if kind == s.llm.provider.into() { "DOCENT_LLM_PROVIDER" } else { "DOCENT_LLM_FALLBACK" };
        require_key(s, kind, &format!("{by}={}", kind.as_str()))?;
    }
    let embedder = match s.embed.provider {
        EmbedProvider::Local => None,
        EmbedProvider::Cohere => Some(ProviderKind::Cohere),
        EmbedProvider::Openai => Some(ProviderKind::OpenAi),
    };
    if let Some(kind) = embedder {
        require_key(s, kind, &format!("DOCENT_EMBEDDER={}", kind.as_str()))?;
        if s.embed.remote_model.is_some() && s.embed.dimension.is_none() {
            return Err(ConfigError::Missing {
                name: "DOCENT_EMBED__DIMENSION".into(),
                needed_by: "DOCENT_EMBED__REMOTE_MODEL (the vector length of a custom model)".into(),
            });
        }
    }
    if s.retrieve.reranker == RerankerKind::Cohere {
        require_key(s, ProviderKind::Cohere, "DOCENT_RERANKER=cohere")?;
    }
    Ok(())
}

fn require_key(s: &Settings, kind: ProviderKind, needed_by: &str) -> Result<(), ConfigError> {
    let Some(config) = s.provider(kind) else { return Ok(()) };
    let keyless_server = kind == ProviderKind::OpenAi && config.base_url.is_some();
    if config.api_key.is_some() || keyless_server {
        return Ok(());
    }
    Err(ConfigError::Missing { name: key_var(kind).into(), needed_by: needed_by.into() })
}
